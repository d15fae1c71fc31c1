/* Loop device: has the mapping (lo_backing_file->f_mapping), compares page->mapping, calls mm/ with a page. */
#include <linux/fs.h>
#include <linux/pagemap.h>
#include "loop.h"

void loop_set_fd(struct loop_device *lo, struct file *file, loff_t offset)
{
	lo->lo_backing_file = file;
	lo->lo_offset = offset;
}

/* Write @len bytes, all within one page of the backing file. */
int loop_write_block(struct loop_device *lo, const char *buf, unsigned int len, loff_t pos)
{
	struct file *file = lo->lo_backing_file;
	struct address_space *mapping = file->f_mapping;
	loff_t fpos = lo->lo_offset + pos;
	unsigned int offset = fpos & (PAGE_SIZE - 1);
	struct page *page;
	void *fsdata = NULL;
	int ret;

	if (offset + len > PAGE_SIZE)
		return -EINVAL;
	ret = mapping->a_ops->write_begin(file, mapping, fpos, len, &page, &fsdata);
	if (ret)
		return ret;
	memcpy((char *)page_address(page) + offset, buf, len);
	ret = mapping->a_ops->write_end(file, mapping, fpos, len, len, page, fsdata);
	return ret < 0 ? ret : 0;
}

static void loop_drop_page(struct loop_device *lo, struct page *page)
{
	struct address_space *mapping = lo->lo_backing_file->f_mapping;

	lock_page(page);
	if (page->mapping == mapping)
		invalidate_inode_page(page);
	unlock_page(page);
}

/* Drop the clean page cache of the backing file; returns the number of pages left. */
unsigned long loop_drop_caches(struct loop_device *lo)
{
	struct address_space *mapping = lo->lo_backing_file->f_mapping;
	pgoff_t index;

	for (index = 0; index < PAGECACHE_SLOTS; index++) {
		struct page *page = find_get_page(mapping, index);

		if (!page)
			continue;
		loop_drop_page(lo, page);
		put_page(page);
	}
	return mapping->nrpages;
}
