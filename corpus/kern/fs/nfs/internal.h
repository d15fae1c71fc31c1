/* NFS private declarations; struct nfs_page and struct nfs_pageio have their own mapping (decoys). */
#ifndef _NFS_INTERNAL_H
#define _NFS_INTERNAL_H

#include <linux/fs.h>
#include <linux/pagemap.h>
#include <linux/writeback.h>

extern const struct address_space_operations nfs_file_aops;

/* A read or write request covering (part of) one page. */
struct nfs_page {
	struct page *wb_page;
	struct address_space *mapping;
	unsigned int wb_bytes;
	int wb_error;
};

/* Collects the pages of one writeback pass. */
struct nfs_pageio {
	struct address_space *mapping;
	unsigned int pg_count;
	int pg_error;
};

/* file.c */
void nfs_setup_inode(struct inode *inode, struct super_block *sb, unsigned long ino);
void nfs_open(struct file *file, struct inode *inode);
/* read.c */
int nfs_readpage(struct file *file, struct page *page);
/* write.c */
int nfs_writepage(struct page *page, struct writeback_control *wbc);
int nfs_writepages(struct address_space *mapping, struct writeback_control *wbc);
int nfs_flush_incompatible(struct file *file, struct page *page);
int nfs_updatepage(struct file *file, struct page *page, unsigned int offset, unsigned int count);
int nfs_wb_page(struct inode *inode, struct page *page, int sync);
void nfs_wb_page_cancel(struct inode *inode, struct page *page);
void nfs_debug_enable(void);
unsigned long nfs_pages_traced(void);
/* symlink.c */
const char *nfs_get_link(struct inode *inode);

#endif /* _NFS_INTERNAL_H */
