/* Per-inode writeback: 3-deep chain with no mapping source below the inode, inode->i_mapping->a_ops call. */
#include <linux/fs.h>
#include <linux/pagemap.h>
#include <linux/writeback.h>

static struct inode *page_written_inode(struct page *page)
{
	return page->mapping->host;
}

static void account_page_written(struct page *page)
{
	struct inode *inode = page_written_inode(page);

	inode->i_wb_pages++;
}

static void writeback_done(struct page *page, int err)
{
	if (err)
		return;
	account_page_written(page);
}

int write_inode_page(struct inode *inode, pgoff_t index)
{
	struct writeback_control wbc = {
		.sync_mode = WB_SYNC_ALL,
		.nr_to_write = 1,
	};
	struct page *page = find_lock_page(inode->i_mapping, index);
	int err = 0;

	if (!page)
		return -ENOENT;
	if (clear_page_dirty_for_io(page)) {
		err = inode->i_mapping->a_ops->writepage(page, &wbc);
		writeback_done(page, err);
	} else {
		unlock_page(page);
	}
	put_page(page);
	return err;
}
