/* Buffer heads: bh->b_page->mapping, get_block fn-pointer parameter, b_end_io set at run time, page_mapping(). */
#include <linux/fs.h>
#include <linux/pagemap.h>
#include <linux/writeback.h>
#include <linux/buffer_head.h>

#define NR_BUFFER_HEADS 128

static struct buffer_head bh_pool[NR_BUFFER_HEADS];

static struct buffer_head *alloc_buffer_head(void)
{
	int i;

	for (i = 0; i < NR_BUFFER_HEADS; i++)
		if (!bh_pool[i].b_page)
			return &bh_pool[i];
	return NULL;
}

void create_empty_buffers(struct page *page, unsigned long blocksize)
{
	struct buffer_head *head = NULL, *tail = NULL;
	unsigned long offset;

	for (offset = 0; offset < PAGE_SIZE; offset += blocksize) {
		struct buffer_head *bh = alloc_buffer_head();

		BUG_ON(!bh);
		bh->b_page = page;
		bh->b_size = blocksize;
		bh->b_data = (char *)page_address(page) + offset;
		if (head)
			tail->b_this_page = bh;
		else
			head = bh;
		tail = bh;
	}
	tail->b_this_page = head;
	page->private = (unsigned long)head;
	SetPagePrivate(page);
}

void end_buffer_async_write(struct buffer_head *bh, int uptodate)
{
	struct page *page = bh->b_page;
	struct buffer_head *tmp;

	if (uptodate) {
		set_buffer_uptodate(bh);
	} else {
		mapping_set_error(bh->b_page->mapping, -EIO);
		SetPageError(page);
	}
	clear_buffer_async_write(bh);
	for (tmp = bh->b_this_page; tmp != bh; tmp = tmp->b_this_page)
		if (buffer_async_write(tmp))
			return;
	end_page_writeback(page);
}

static void end_buffer_async_read(struct buffer_head *bh, int uptodate)
{
	struct page *page = bh->b_page;
	struct buffer_head *tmp;

	if (uptodate) {
		set_buffer_uptodate(bh);
	} else {
		printk("Buffer I/O error on inode %lu, block %llu\n",
			page_host(page)->i_ino, (unsigned long long)bh->b_blocknr);
		SetPageError(page);
	}
	clear_buffer_async_read(bh);
	for (tmp = bh->b_this_page; tmp != bh; tmp = tmp->b_this_page)
		if (buffer_async_read(tmp))
			return;
	if (!PageError(page))
		SetPageUptodate(page);
	unlock_page(page);
}

static void mark_buffer_async_write(struct buffer_head *bh)
{
	bh->b_end_io = end_buffer_async_write;
	set_buffer_async_write(bh);
}

static void mark_buffer_async_read(struct buffer_head *bh)
{
	bh->b_end_io = end_buffer_async_read;
	set_buffer_async_read(bh);
}

void submit_bh(struct buffer_head *bh)
{
	/* There is no device behind the buffers: the I/O completes at once. */
	bh->b_end_io(bh, 1);
}

int block_write_full_page(struct page *page,
		int (*get_block)(struct inode *, sector_t, struct buffer_head *, int),
		struct writeback_control *wbc)
{
	struct inode * const inode = page->mapping->host;
	struct buffer_head *bh, *head;
	sector_t block;
	int err;

	if (!page_has_buffers(page))
		create_empty_buffers(page, inode->i_sb->s_blocksize);
	head = page_buffers(page);
	block = (sector_t)page->index * (PAGE_SIZE / head->b_size);
	bh = head;
	do {
		if (!buffer_mapped(bh)) {
			err = get_block(inode, block, bh, 1);
			if (err) {
				redirty_page_for_writepage(wbc, page);
				unlock_page(page);
				return err;
			}
			set_buffer_mapped(bh);
		}
		clear_buffer_dirty(bh);
		mark_buffer_async_write(bh);
		block++;
	} while ((bh = bh->b_this_page) != head);

	set_page_writeback(page);
	unlock_page(page);
	do {
		struct buffer_head *next = bh->b_this_page;

		submit_bh(bh);
		bh = next;
	} while (bh != head);
	return 0;
}

int block_read_full_page(struct page *page,
		int (*get_block)(struct inode *, sector_t, struct buffer_head *, int))
{
	struct inode *inode = page_host(page);
	struct buffer_head *bh, *head;
	sector_t block;

	if (!page_has_buffers(page))
		create_empty_buffers(page, inode->i_sb->s_blocksize);
	head = page_buffers(page);
	block = (sector_t)page->index * (PAGE_SIZE / head->b_size);
	bh = head;
	do {
		if (!buffer_mapped(bh) && get_block(inode, block, bh, 0) == 0)
			set_buffer_mapped(bh);
		mark_buffer_async_read(bh);
		block++;
	} while ((bh = bh->b_this_page) != head);

	do {
		struct buffer_head *next = bh->b_this_page;

		submit_bh(bh);
		bh = next;
	} while (bh != head);
	return 0;
}

int block_write_begin(struct address_space *mapping, loff_t pos, unsigned int len,
		struct page **pagep)
{
	struct page *page = grab_cache_page(mapping, pos >> PAGE_SHIFT);

	if (!page)
		return -ENOMEM;
	if (!page_has_buffers(page))
		create_empty_buffers(page, mapping->host->i_sb->s_blocksize);
	*pagep = page;
	return 0;
}

int block_write_end(struct file *file, struct address_space *mapping, loff_t pos,
		unsigned int len, unsigned int copied, struct page *page, void *fsdata)
{
	struct buffer_head *head = page_buffers(page), *bh = head;
	unsigned long from = pos & (PAGE_SIZE - 1), start = 0;
	bool partial = false;

	do {
		if (start + bh->b_size <= from || start >= from + copied) {
			if (!buffer_uptodate(bh))
				partial = true;
		} else {
			set_buffer_uptodate(bh);
		}
		start += bh->b_size;
	} while ((bh = bh->b_this_page) != head);
	/* Blocks outside the write that were never read keep the page !Uptodate. */
	if (!partial)
		SetPageUptodate(page);
	set_page_dirty(page);
	return copied;
}

int generic_write_end(struct file *file, struct address_space *mapping, loff_t pos,
		unsigned int len, unsigned int copied, struct page *page, void *fsdata)
{
	struct inode *inode = mapping->host;

	copied = block_write_end(file, mapping, pos, len, copied, page, fsdata);
	unlock_page(page);
	put_page(page);
	if (pos + copied > inode->i_size)
		inode->i_size = pos + copied;
	return copied;
}

void block_invalidatepage(struct page *page, unsigned int offset, unsigned int length)
{
	struct buffer_head *head, *bh;

	if (!page_has_buffers(page))
		return;
	head = page_buffers(page);
	bh = head;
	do {
		clear_buffer_dirty(bh);
		clear_buffer_mapped(bh);
		clear_buffer_uptodate(bh);
	} while ((bh = bh->b_this_page) != head);
	if (offset == 0 && length == PAGE_SIZE)
		try_to_release_page(page, 0);
}

int block_is_partially_uptodate(struct page *page, unsigned long from, unsigned long count)
{
	struct buffer_head *head, *bh;
	unsigned long start = 0;

	if (!page_has_buffers(page))
		return 0;
	head = page_buffers(page);
	bh = head;
	do {
		if (start + bh->b_size > from && start < from + count && !buffer_uptodate(bh))
			return 0;
		start += bh->b_size;
	} while ((bh = bh->b_this_page) != head);
	return 1;
}

int try_to_free_buffers(struct page *page)
{
	struct address_space * const mapping = page->mapping;
	struct buffer_head *head, *bh, *next;

	if (!page_has_buffers(page))
		return 1;
	head = page_buffers(page);
	bh = head;
	do {
		/* Dirty buffers of a page still in the page cache must be written first. */
		if (mapping != NULL && buffer_dirty(bh))
			return 0;
	} while ((bh = bh->b_this_page) != head);
	do {
		next = bh->b_this_page;
		memset(bh, 0, sizeof(*bh));
		bh = next;
	} while (bh != head);
	page->private = 0;
	ClearPagePrivate(page);
	return 1;
}

int __set_page_dirty_buffers(struct page *page)
{
	struct address_space *mapping = page_mapping(page);
	int newly_dirty;

	if (unlikely(!mapping))
		return !TestSetPageDirty(page);
	if (page_has_buffers(page)) {
		struct buffer_head *head = page_buffers(page), *bh = head;

		do {
			set_buffer_dirty(bh);
		} while ((bh = bh->b_this_page) != head);
	}
	newly_dirty = !TestSetPageDirty(page);
	if (newly_dirty) {
		mapping->nrdirty++;
		mapping->host->i_state |= I_DIRTY_PAGES;
	}
	return newly_dirty;
}
