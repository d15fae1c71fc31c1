/* ext2 private declarations. */
#ifndef _EXT2_H
#define _EXT2_H

#include <linux/fs.h>
#include <linux/writeback.h>
#include <linux/buffer_head.h>

extern const struct address_space_operations ext2_aops;

/* inode.c */
int ext2_get_block(struct inode *inode, sector_t iblock, struct buffer_head *bh_result, int create);
int ext2_readpage(struct file *file, struct page *page);
int ext2_writepage(struct page *page, struct writeback_control *wbc);
int ext2_writepages(struct address_space *mapping, struct writeback_control *wbc);
int ext2_write_begin(struct file *file, struct address_space *mapping, loff_t pos,
		unsigned int len, struct page **pagep, void **fsdata);
void ext2_setup_inode(struct inode *inode, struct super_block *sb, unsigned long ino);
void ext2_truncate(struct inode *inode, loff_t size);
/* file.c */
void ext2_open(struct file *file, struct inode *inode);
/* dir.c */
struct page *ext2_get_page(struct inode *dir, unsigned long n);
int ext2_add_link(struct inode *dir, struct inode *inode, unsigned int slot);
int ext2_check_dir(struct inode *dir);

#endif /* _EXT2_H */
