/* Block I/O: struct bio_vec with bv_page (so bvec->bv_page->mapping), bi_end_io called through a member. */
#ifndef _LINUX_BIO_H
#define _LINUX_BIO_H

#include <linux/fs.h>

struct bio;
typedef void (bio_end_io_t)(struct bio *bio);

struct bio_vec {
	struct page *bv_page;
	unsigned int bv_len;
	unsigned int bv_offset;
};

#define BIO_MAX_VECS    4

struct bio {
	int bi_status;
	bool bi_busy;
	unsigned short bi_vcnt;
	struct bio_vec bi_io_vec[BIO_MAX_VECS];
	bio_end_io_t *bi_end_io;
	void *bi_private;
};

#define bio_for_each_segment_all(bvl, bio, i) \
	for ((i) = 0, (bvl) = (bio)->bi_io_vec; (i) < (bio)->bi_vcnt; (i)++, (bvl)++)

static inline int blk_status_to_errno(int status)
{
	return status ? -EIO : 0;
}

/* block/bio.c */
struct bio *bio_alloc(gfp_t gfp, unsigned short nr_vecs);
void bio_put(struct bio *bio);
int bio_add_page(struct bio *bio, struct page *page, unsigned int len, unsigned int offset);
void bio_endio(struct bio *bio);
void submit_bio(struct bio *bio);

#endif /* _LINUX_BIO_H */
