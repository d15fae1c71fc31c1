/* ext2 aops: ext2_get_block passed as fn pointer, nested page_sb(), CONFIG_FS_DAX (off) with its #else. */
#include <linux/pagemap.h>
#include "ext2.h"

int ext2_get_block(struct inode *inode, sector_t iblock, struct buffer_head *bh_result, int create)
{
	/* A toy block map: file blocks follow one another from the inode's first block. */
	if (!create && (loff_t)(iblock * inode->i_sb->s_blocksize) >= inode->i_size)
		return -ENOENT;
	bh_result->b_blocknr = inode->i_ino * 1024 + iblock;
	return 0;
}

#ifdef CONFIG_FS_DAX
/* DAX inodes keep no page cache: a page here is a stale leftover. */
static int ext2_check_page_cache(struct page *page)
{
	if (page->mapping->host->i_flags & S_DAX)
		return -EINVAL;
	return 0;
}
#else
static int ext2_check_page_cache(struct page *page)
{
	if (page->mapping)
		return 0;
	return -EIO;    /* truncated under us */
}
#endif

int ext2_readpage(struct file *file, struct page *page)
{
	return block_read_full_page(page, ext2_get_block);
}

int ext2_writepage(struct page *page, struct writeback_control *wbc)
{
	if (page_sb(page)->s_flags & SB_RDONLY) {
		redirty_page_for_writepage(wbc, page);
		unlock_page(page);
		return -EROFS;
	}
	return block_write_full_page(page, ext2_get_block, wbc);
}

int ext2_writepages(struct address_space *mapping, struct writeback_control *wbc)
{
	return mpage_writepages(mapping, wbc);
}

int ext2_write_begin(struct file *file, struct address_space *mapping, loff_t pos,
		unsigned int len, struct page **pagep, void **fsdata)
{
	int ret = block_write_begin(mapping, pos, len, pagep);

	if (ret == 0) {
		ret = ext2_check_page_cache(*pagep);
		if (ret) {
			unlock_page(*pagep);
			put_page(*pagep);
		}
	}
	return ret;
}

void ext2_setup_inode(struct inode *inode, struct super_block *sb, unsigned long ino)
{
	inode->i_ino = ino;
	inode->i_sb = sb;
	inode_init_mapping(inode, &ext2_aops);
}

void ext2_truncate(struct inode *inode, loff_t size)
{
	truncate_inode_pages(inode, size);
	inode->i_size = size;
}
