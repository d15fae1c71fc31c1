/* Page cache: writes, compares in unlikely(), filler_t via a local copy, ->readpage(NULL, page), vma param. */
#include <linux/fs.h>
#include <linux/pagemap.h>
#include <linux/writeback.h>
#include <linux/buffer_head.h>

void lock_page(struct page *page)
{
	/* Nothing runs concurrently here: finding the page locked is a bug, not a reason to wait. */
	WARN_ON(PageLocked(page));
	SetPageLocked(page);
}

void unlock_page(struct page *page)
{
	WARN_ON(!PageLocked(page));
	ClearPageLocked(page);
}

void wait_on_page_bit(struct page *page, int bit_nr)
{
	/* I/O completes as soon as it is submitted, so the bit is already clear. */
	WARN_ON(test_bit(bit_nr, &page->flags));
}

void set_page_writeback(struct page *page)
{
	WARN_ON(TestSetPageWriteback(page));
}

void end_page_writeback(struct page *page)
{
	WARN_ON(!TestClearPageWriteback(page));
}

int add_to_page_cache(struct page *page, struct address_space *mapping, pgoff_t index)
{
	if (index >= PAGECACHE_SLOTS || mapping->i_pages[index])
		return -EEXIST;
	get_page(page);
	page->mapping = mapping;
	page->index = index;
	mapping->i_pages[index] = page;
	mapping->nrpages++;
	return 0;
}

static void page_cache_delete(struct address_space *mapping, struct page *page)
{
	mapping->i_pages[page->index] = NULL;
	mapping->nrpages--;
	page->mapping = NULL;
}

void delete_from_page_cache(struct page *page)
{
	struct address_space *mapping = page_mapping(page);
	void (*freepage)(struct page *);

	BUG_ON(!PageLocked(page));
	freepage = mapping->a_ops->freepage;
	page_cache_delete(mapping, page);
	if (freepage)
		freepage(page);
	put_page(page);
}

struct page *find_get_page(struct address_space *mapping, pgoff_t index)
{
	struct page *page;

	if (index >= PAGECACHE_SLOTS)
		return NULL;
	page = mapping->i_pages[index];
	if (page)
		get_page(page);
	return page;
}

struct page *find_lock_page(struct address_space *mapping, pgoff_t index)
{
	struct page *page = find_get_page(mapping, index);

	if (page) {
		lock_page(page);
		/* Has the page been truncated while we waited for the lock? */
		if (unlikely(page->mapping != mapping)) {
			unlock_page(page);
			put_page(page);
			return NULL;
		}
	}
	return page;
}

struct page *grab_cache_page(struct address_space *mapping, pgoff_t index)
{
	struct page *page = find_lock_page(mapping, index);

	if (page)
		return page;
	page = alloc_page(GFP_KERNEL);
	if (!page)
		return NULL;
	if (add_to_page_cache(page, mapping, index)) {
		put_page(page);
		return NULL;
	}
	lock_page(page);
	return page;
}

static struct page *do_read_cache_page(struct address_space *mapping, pgoff_t index,
		filler_t *filler, void *data)
{
	filler_t *fill = filler;
	struct page *page;
	int err;

	page = grab_cache_page(mapping, index);
	if (!page)
		return ERR_PTR(-ENOMEM);
	if (PageUptodate(page)) {
		unlock_page(page);
		return page;
	}
	err = fill(data, page);     /* unlocks the page */
	if (err < 0) {
		put_page(page);
		return ERR_PTR(err);
	}
	return page;
}

struct page *read_cache_page(struct address_space *mapping, pgoff_t index,
		filler_t *filler, void *data)
{
	struct page *page = do_read_cache_page(mapping, index, filler, data);

	if (!IS_ERR(page) && !PageUptodate(page)) {
		put_page(page);
		return ERR_PTR(-EIO);
	}
	return page;
}

/* Read a page again after an I/O error; there is no struct file at hand here. */
int filemap_reread_page(struct page *page)
{
	lock_page(page);
	ClearPageError(page);
	ClearPageUptodate(page);
	return page->mapping->a_ops->readpage(NULL, page);
}

static int filemap_read_page(struct file *file, struct address_space *mapping, struct page *page)
{
	int err = mapping->a_ops->readpage(file, page);

	if (err)
		return err;
	return PageUptodate(page) ? 0 : -EIO;
}

static bool filemap_range_uptodate(struct inode *inode, struct page *page, loff_t pos, size_t count)
{
	if (PageUptodate(page))
		return true;
	if (!inode->i_mapping->a_ops->is_partially_uptodate)
		return false;
	return inode->i_mapping->a_ops->is_partially_uptodate(page, pos & (PAGE_SIZE - 1), count);
}

ssize_t filemap_read(struct file *file, char *buf, size_t len, loff_t pos)
{
	struct address_space *mapping = file->f_mapping;
	struct inode *inode = file_inode(file);
	size_t done = 0;

	while (done < len) {
		size_t offset = (pos + done) & (PAGE_SIZE - 1);
		size_t n = min(len - done, PAGE_SIZE - offset);
		struct page *page = grab_cache_page(mapping, (pos + done) >> PAGE_SHIFT);

		if (!page)
			return -ENOMEM;
		if (filemap_range_uptodate(inode, page, pos + done, n)) {
			unlock_page(page);
		} else {
			int err = filemap_read_page(file, mapping, page);

			if (err) {
				put_page(page);
				return err;
			}
		}
		memcpy(buf + done, (char *)page_address(page) + offset, n);
		put_page(page);
		done += n;
	}
	return done;
}

ssize_t generic_perform_write(struct file *file, const char *buf, size_t len, loff_t pos)
{
	struct address_space *mapping = file->f_mapping;
	const struct address_space_operations *a_ops = mapping->a_ops;
	size_t done = 0;

	while (done < len) {
		size_t offset = (pos + done) & (PAGE_SIZE - 1);
		size_t n = min(len - done, PAGE_SIZE - offset);
		void *fsdata = NULL;
		struct page *page;
		int err;

		err = a_ops->write_begin(file, mapping, pos + done, n, &page, &fsdata);
		if (err)
			return err;
		memcpy((char *)page_address(page) + offset, buf + done, n);
		err = a_ops->write_end(file, mapping, pos + done, n, n, page, fsdata);
		if (err < 0)
			return err;
		done += n;
	}
	return done;
}

int filemap_write_and_wait(struct address_space *mapping)
{
	struct writeback_control wbc = {
		.sync_mode = WB_SYNC_ALL,
		.nr_to_write = LONG_MAX,
		.range_end = LLONG_MAX,
	};
	int err = do_writepages(mapping, &wbc);

	if (!err)
		err = mapping->wb_err;
	return err;
}

/* A write fault on a shared file mapping: the page must still belong to the mapped file. */
int filemap_page_mkwrite(struct vm_area_struct *vma, struct page *page)
{
	struct inode *inode = file_inode(vma->vm_file);

	lock_page(page);
	if (page->mapping != inode->i_mapping) {
		unlock_page(page);
		return VM_FAULT_NOPAGE;
	}
	set_page_dirty(page);
	return VM_FAULT_LOCKED;
}

int try_to_release_page(struct page *page, gfp_t gfp)
{
	struct address_space * const mapping = page->mapping;

	BUG_ON(!PageLocked(page));
	if (PageWriteback(page))
		return 0;
	if (mapping && mapping->a_ops->releasepage)
		return mapping->a_ops->releasepage(page, gfp);
	return try_to_free_buffers(page);
}
