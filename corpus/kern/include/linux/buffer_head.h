/* Buffer heads: b_page (bh->b_page->mapping), b_end_io typed by a function typedef; fs/buffer.c API. */
#ifndef _LINUX_BUFFER_HEAD_H
#define _LINUX_BUFFER_HEAD_H

#include <linux/fs.h>

enum bh_state_bits {
	BH_Uptodate,
	BH_Dirty,
	BH_Mapped,
	BH_Async_Read,
	BH_Async_Write,
};

struct buffer_head;
typedef void (bh_end_io_t)(struct buffer_head *bh, int uptodate);

struct buffer_head {
	unsigned long b_state;
	struct buffer_head *b_this_page;    /* circular list of page's buffers */
	struct page *b_page;                /* the page this bh is mapped to */
	sector_t b_blocknr;
	size_t b_size;
	char *b_data;
	bh_end_io_t *b_end_io;
	void *b_private;
};

#define BUFFER_FNS(bit, name)                                       \
static inline void set_buffer_##name(struct buffer_head *bh)        \
	{ set_bit(BH_##bit, &bh->b_state); }                            \
static inline void clear_buffer_##name(struct buffer_head *bh)      \
	{ clear_bit(BH_##bit, &bh->b_state); }                          \
static inline int buffer_##name(const struct buffer_head *bh)       \
	{ return test_bit(BH_##bit, &bh->b_state); }

BUFFER_FNS(Uptodate, uptodate)
BUFFER_FNS(Dirty, dirty)
BUFFER_FNS(Mapped, mapped)
BUFFER_FNS(Async_Read, async_read)
BUFFER_FNS(Async_Write, async_write)

#define page_buffers(page)      ((struct buffer_head *)(page)->private)
#define page_has_buffers(page)  PagePrivate(page)

/* fs/buffer.c */
void create_empty_buffers(struct page *page, unsigned long blocksize);
void end_buffer_async_write(struct buffer_head *bh, int uptodate);
void submit_bh(struct buffer_head *bh);
int block_write_full_page(struct page *page,
		int (*get_block)(struct inode *, sector_t, struct buffer_head *, int),
		struct writeback_control *wbc);
int block_read_full_page(struct page *page,
		int (*get_block)(struct inode *, sector_t, struct buffer_head *, int));
int block_write_begin(struct address_space *mapping, loff_t pos, unsigned int len,
		struct page **pagep);
int block_write_end(struct file *file, struct address_space *mapping, loff_t pos,
		unsigned int len, unsigned int copied, struct page *page, void *fsdata);
int generic_write_end(struct file *file, struct address_space *mapping, loff_t pos,
		unsigned int len, unsigned int copied, struct page *page, void *fsdata);
void block_invalidatepage(struct page *page, unsigned int offset, unsigned int length);
int block_is_partially_uptodate(struct page *page, unsigned long from, unsigned long count);
int try_to_free_buffers(struct page *page);
int __set_page_dirty_buffers(struct page *page);

#endif /* _LINUX_BUFFER_HEAD_H */
