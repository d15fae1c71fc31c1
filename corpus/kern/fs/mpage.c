/* mpage: writepage_t callback with page->mapping in a declaration, bi_end_io set at run time, bv_page->mapping. */
#include <linux/fs.h>
#include <linux/pagemap.h>
#include <linux/writeback.h>
#include <linux/buffer_head.h>
#include <linux/bio.h>

struct mpage_data {
	struct bio *bio;
	unsigned long nr_written;
};

static void mpage_end_io_write(struct bio *bio)
{
	struct bio_vec *bvec;
	int i;

	bio_for_each_segment_all(bvec, bio, i) {
		struct page *page = bvec->bv_page;

		mapping_set_error(bvec->bv_page->mapping, blk_status_to_errno(bio->bi_status));
		if (bio->bi_status)
			SetPageError(page);
		end_page_writeback(page);
	}
	bio_put(bio);
}

static struct bio *mpage_bio_submit(struct bio *bio)
{
	bio->bi_end_io = mpage_end_io_write;
	submit_bio(bio);
	return NULL;
}

/* Can the whole page go into one bio?  Only if ->write_begin or a read mapped every block. */
static bool page_buffers_mapped(struct page *page)
{
	struct buffer_head *head = page_buffers(page), *bh = head;

	do {
		if (!buffer_mapped(bh))
			return false;
	} while ((bh = bh->b_this_page) != head);
	return true;
}

static int __mpage_writepage(struct page *page, struct writeback_control *wbc, void *data)
{
	struct mpage_data *mpd = data;
	struct address_space *mapping = page->mapping;
	struct buffer_head *head, *bh;

	if (!page_has_buffers(page) || !page_buffers_mapped(page)) {
		/* Blocks not mapped yet: let the filesystem's ->writepage do it. */
		if (mpd->bio)
			mpd->bio = mpage_bio_submit(mpd->bio);
		return mapping->a_ops->writepage(page, wbc);
	}
	head = page_buffers(page);
	bh = head;
	do {
		clear_buffer_dirty(bh);
	} while ((bh = bh->b_this_page) != head);

	if (mpd->bio && !bio_add_page(mpd->bio, page, PAGE_SIZE, 0))
		mpd->bio = mpage_bio_submit(mpd->bio);
	if (!mpd->bio) {
		mpd->bio = bio_alloc(GFP_NOFS, BIO_MAX_VECS);
		if (!mpd->bio || !bio_add_page(mpd->bio, page, PAGE_SIZE, 0)) {
			redirty_page_for_writepage(wbc, page);
			unlock_page(page);
			return -ENOMEM;
		}
	}
	set_page_writeback(page);
	unlock_page(page);
	mpd->nr_written++;
	return 0;
}

int mpage_writepages(struct address_space *mapping, struct writeback_control *wbc)
{
	struct mpage_data mpd = { .bio = NULL };
	int ret = write_cache_pages(mapping, wbc, __mpage_writepage, &mpd);

	if (mpd.bio)
		mpage_bio_submit(mpd.bio);
	return ret;
}
