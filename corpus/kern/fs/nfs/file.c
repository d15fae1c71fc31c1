/* NFS ops table with static members and members from other files; page_file_mapping()/page_host() users. */
#include "internal.h"

static int nfs_write_begin(struct file *file, struct address_space *mapping, loff_t pos,
		unsigned int len, struct page **pagep, void **fsdata)
{
	struct page *page = grab_cache_page(mapping, pos >> PAGE_SHIFT);
	int err;

	if (!page)
		return -ENOMEM;
	err = nfs_flush_incompatible(file, page);
	if (err) {
		unlock_page(page);
		put_page(page);
		return err;
	}
	*pagep = page;
	return 0;
}

static int nfs_write_end(struct file *file, struct address_space *mapping, loff_t pos,
		unsigned int len, unsigned int copied, struct page *page, void *fsdata)
{
	int err = nfs_updatepage(file, page, pos & (PAGE_SIZE - 1), copied);

	unlock_page(page);
	put_page(page);
	return err ? err : (int)copied;
}

static void nfs_invalidate_page(struct page *page, unsigned int offset, unsigned int length)
{
	if (offset != 0 || length < PAGE_SIZE)
		return;
	nfs_wb_page_cancel(page_host(page), page);
}

static int nfs_release_page(struct page *page, gfp_t gfp)
{
	/* Requests still attached?  Then the page is busy. */
	if (PagePrivate(page))
		return 0;
	return 1;
}

static int nfs_launder_page(struct page *page)
{
	struct inode *inode = page_file_mapping(page)->host;

	return nfs_wb_page(inode, page, 1);
}

const struct address_space_operations nfs_file_aops = {
	.readpage = nfs_readpage,
	.set_page_dirty = __set_page_dirty_nobuffers,
	.writepage = nfs_writepage,
	.writepages = nfs_writepages,
	.write_begin = nfs_write_begin,
	.write_end = nfs_write_end,
	.invalidatepage = nfs_invalidate_page,
	.releasepage = nfs_release_page,
	.launder_page = nfs_launder_page,
};

void nfs_setup_inode(struct inode *inode, struct super_block *sb, unsigned long ino)
{
	inode->i_ino = ino;
	inode->i_sb = sb;
	inode_init_mapping(inode, &nfs_file_aops);
}

void nfs_open(struct file *file, struct inode *inode)
{
	file->f_inode = inode;
	file->f_mapping = inode->i_mapping;
	file->f_pos = 0;
}
