/* NFS writeback: static write_one_page without page->mapping, void *data callback, global fn pointer, local copy. */
#include "internal.h"

static unsigned long nfs_nr_traced;

static void nfs_trace_count(struct page *page)
{
	nfs_nr_traced++;
}

static void nfs_trace_print(struct page *page)
{
	nfs_nr_traced++;
	printk("nfs: writing page %lu of inode %lu\n", page->index, page_host(page)->i_ino);
}

/* Per-page trace hook; nfs_debug_enable() makes it print. */
static void (*nfs_trace_page)(struct page *page) = nfs_trace_count;

void nfs_debug_enable(void)
{
	nfs_trace_page = nfs_trace_print;
}

unsigned long nfs_pages_traced(void)
{
	return nfs_nr_traced;
}

static int write_one_page(struct page *page, struct nfs_pageio *pgio)
{
	nfs_trace_page(page);
	set_page_writeback(page);
	unlock_page(page);
	pgio->pg_count++;
	/* The server acknowledges at once. */
	end_page_writeback(page);
	return 0;
}

static int nfs_writepages_callback(struct page *page, struct writeback_control *wbc, void *data)
{
	struct nfs_pageio *pgio = data;

	if (page_truncated(page, pgio->mapping)) {
		unlock_page(page);
		return 0;
	}
	return write_one_page(page, pgio);
}

int nfs_writepages(struct address_space *mapping, struct writeback_control *wbc)
{
	struct nfs_pageio pgio = { .mapping = mapping };
	int err = write_cache_pages(mapping, wbc, nfs_writepages_callback, &pgio);

	return err ? err : pgio.pg_error;
}

int nfs_writepage(struct page *page, struct writeback_control *wbc)
{
	struct nfs_pageio pgio = { .mapping = page_mapping(page) };
	int err = write_one_page(page, &pgio);

	return err ? err : pgio.pg_error;
}

/* Write @page back and wait for the reply; the caller's page lock is kept. */
static int nfs_wb_page_sync(struct page *page)
{
	struct address_space *mapping = page_file_mapping(page);

	if (!clear_page_dirty_for_io(page))
		return 0;
	set_page_writeback(page);
	nfs_trace_page(page);
	end_page_writeback(page);
	if (!mapping->nrdirty)
		mapping->host->i_state &= ~I_DIRTY_PAGES;
	return 0;
}

/* Leave @page to the next writeback pass. */
static int nfs_wb_page_async(struct page *page)
{
	return PageDirty(page) ? -EAGAIN : 0;
}

int nfs_wb_page(struct inode *inode, struct page *page, int sync)
{
	int (*flush)(struct page *page) = nfs_wb_page_async;

	if (sync || IS_SYNC(inode))
		flush = nfs_wb_page_sync;
	return flush(page);
}

void nfs_wb_page_cancel(struct inode *inode, struct page *page)
{
	if (TestClearPageDirty(page))
		inode->i_mapping->nrdirty--;
}

/* Data dirtied through another open file must reach the server first. */
int nfs_flush_incompatible(struct file *file, struct page *page)
{
	if (page->mapping != file->f_mapping)
		return -EINVAL;
	if (PageDirty(page) && page->private != (unsigned long)file)
		return nfs_wb_page(file_inode(file), page, 1);
	return 0;
}

int nfs_updatepage(struct file *file, struct page *page, unsigned int offset, unsigned int count)
{
	struct inode *inode = file_inode(file);
	loff_t end = ((loff_t)page->index << PAGE_SHIFT) + offset + count;

	page->private = (unsigned long)file;    /* the open file that dirtied it */
	SetPageUptodate(page);
	set_page_dirty(page);
	if (end > inode->i_size)
		inode->i_size = end;
	return 0;
}
