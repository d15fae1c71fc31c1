/* Minimal bio layer, I/O completes at submission: bio->bi_end_io called through a member; no page->mapping. */
#include <linux/bio.h>

static struct bio bio_pool[4];

struct bio *bio_alloc(gfp_t gfp, unsigned short nr_vecs)
{
	unsigned int i;

	if (nr_vecs > BIO_MAX_VECS)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(bio_pool); i++) {
		if (!bio_pool[i].bi_busy) {
			memset(&bio_pool[i], 0, sizeof(bio_pool[i]));
			bio_pool[i].bi_busy = true;
			return &bio_pool[i];
		}
	}
	return NULL;
}

void bio_put(struct bio *bio)
{
	WARN_ON(!bio->bi_busy);
	bio->bi_busy = false;
}

int bio_add_page(struct bio *bio, struct page *page, unsigned int len, unsigned int offset)
{
	struct bio_vec *bv;

	if (bio->bi_vcnt >= BIO_MAX_VECS)
		return 0;
	bv = &bio->bi_io_vec[bio->bi_vcnt++];
	bv->bv_page = page;
	bv->bv_len = len;
	bv->bv_offset = offset;
	return len;
}

void bio_endio(struct bio *bio)
{
	if (bio->bi_end_io)
		bio->bi_end_io(bio);
}

void submit_bio(struct bio *bio)
{
	/* No device: every segment "transfers" at once and succeeds. */
	bio->bi_status = 0;
	bio_endio(bio);
}
