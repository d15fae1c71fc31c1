/* VFS objects: address_space_operations (function-pointer members), address_space, inode, file. */
#ifndef _LINUX_FS_H
#define _LINUX_FS_H

#include <linux/mm.h>

struct writeback_control;

#define PAGECACHE_SLOTS 16  /* a toy page cache: one slot per page index */

struct address_space_operations {
	int (*writepage)(struct page *page, struct writeback_control *wbc);
	int (*readpage)(struct file *file, struct page *page);
	int (*writepages)(struct address_space *mapping, struct writeback_control *wbc);
	int (*set_page_dirty)(struct page *page);
	int (*write_begin)(struct file *file, struct address_space *mapping, loff_t pos,
			unsigned int len, struct page **pagep, void **fsdata);
	int (*write_end)(struct file *file, struct address_space *mapping, loff_t pos,
			unsigned int len, unsigned int copied, struct page *page, void *fsdata);
	void (*invalidatepage)(struct page *page, unsigned int offset, unsigned int length);
	int (*releasepage)(struct page *page, gfp_t gfp);
	void (*freepage)(struct page *page);
	int (*launder_page)(struct page *page);
	int (*is_partially_uptodate)(struct page *page, unsigned long from, unsigned long count);
};

struct address_space {
	struct inode *host;
	struct page *i_pages[PAGECACHE_SLOTS];
	unsigned long nrpages;
	unsigned long nrdirty;
	const struct address_space_operations *a_ops;
	int wb_err;
	void *private_data;
};

struct super_block {
	unsigned long s_blocksize;
	unsigned long s_flags;
	const char *s_id;
	void *s_fs_info;
};

#define SB_RDONLY   0x1UL
#define SB_SYNCHRONOUS  0x10UL
#define SB_DIRSYNC  0x80UL

struct inode {
	unsigned long i_ino;
	loff_t i_size;
	unsigned int i_flags;
	unsigned long i_state;
	unsigned long i_wb_pages;   /* pages written back so far */
	struct super_block *i_sb;
	struct address_space *i_mapping;
	struct address_space i_data;
	void *i_private;
};

#define S_SYNC      0x1
#define S_DIRSYNC   0x40
#define S_DAX       0x2000

#define I_DIRTY_PAGES   0x20UL
#define I_NEED_REVAL    0x1000UL    /* NFS: revalidate before the next read */

#define IS_SYNC(inode)      (((inode)->i_sb->s_flags & SB_SYNCHRONOUS) || ((inode)->i_flags & S_SYNC))
#define IS_DIRSYNC(inode)   (((inode)->i_sb->s_flags & (SB_SYNCHRONOUS | SB_DIRSYNC)) || \
				((inode)->i_flags & (S_SYNC | S_DIRSYNC)))

struct file {
	struct inode *f_inode;
	struct address_space *f_mapping;
	loff_t f_pos;
	unsigned int f_flags;
	void *private_data;
};

static inline struct inode *file_inode(const struct file *f)
{
	return f->f_inode;
}

static inline void mapping_set_error(struct address_space *mapping, int error)
{
	if (likely(!error))
		return;
	if (mapping)
		mapping->wb_err = error;
}

static inline void inode_init_mapping(struct inode *inode, const struct address_space_operations *a_ops)
{
	inode->i_data.host = inode;
	inode->i_data.a_ops = a_ops;
	inode->i_mapping = &inode->i_data;
}

/* mm/filemap.c */
ssize_t generic_perform_write(struct file *file, const char *buf, size_t len, loff_t pos);
ssize_t filemap_read(struct file *file, char *buf, size_t len, loff_t pos);
int filemap_write_and_wait(struct address_space *mapping);
int filemap_reread_page(struct page *page);
int filemap_page_mkwrite(struct vm_area_struct *vma, struct page *page);
int try_to_release_page(struct page *page, gfp_t gfp);
/* mm/truncate.c */
void truncate_inode_pages(struct inode *inode, loff_t lstart);
void truncate_inode_page(struct inode *inode, struct page *page);
int invalidate_inode_page(struct page *page);
int invalidate_inode_pages2(struct address_space *mapping);
/* mm/migrate.c */
int migrate_page(struct address_space *mapping, struct page *newpage, struct page *page);
/* fs/fs-writeback.c */
int write_inode_page(struct inode *inode, pgoff_t index);

#endif /* _LINUX_FS_H */
