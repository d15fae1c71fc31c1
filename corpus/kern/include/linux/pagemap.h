/* filler_t, inlines reading page->mapping or calling functions, page_host()/page_sb() macros. */
#ifndef _LINUX_PAGEMAP_H
#define _LINUX_PAGEMAP_H

#include <linux/fs.h>

typedef int filler_t(void *, struct page *);

#define page_host(p)    ((p)->mapping->host)
#define page_sb(p)      (page_host(p)->i_sb)

/* mm/filemap.c */
void lock_page(struct page *page);
void unlock_page(struct page *page);
void wait_on_page_bit(struct page *page, int bit_nr);
void set_page_writeback(struct page *page);
void end_page_writeback(struct page *page);
int add_to_page_cache(struct page *page, struct address_space *mapping, pgoff_t index);
void delete_from_page_cache(struct page *page);
struct page *find_get_page(struct address_space *mapping, pgoff_t index);
struct page *find_lock_page(struct address_space *mapping, pgoff_t index);
struct page *grab_cache_page(struct address_space *mapping, pgoff_t index);
struct page *read_cache_page(struct address_space *mapping, pgoff_t index,
		filler_t *filler, void *data);

static inline struct address_space *page_file_mapping(struct page *page)
{
	return page->mapping;
}

/* Was the page truncated, or moved to another file, while it was unlocked? */
static inline bool page_truncated(struct page *page, struct address_space *mapping)
{
	return !page->mapping || page->mapping != mapping;
}

static inline void wait_on_page_writeback(struct page *page)
{
	if (PageWriteback(page))
		wait_on_page_bit(page, PG_writeback);
}

static inline struct page *read_mapping_page(struct address_space *mapping, pgoff_t index, void *data)
{
	filler_t *filler = (filler_t *)mapping->a_ops->readpage;

	return read_cache_page(mapping, index, filler, data);
}

static inline pgoff_t dir_pages(struct inode *inode)
{
	return (inode->i_size + PAGE_SIZE - 1) >> PAGE_SHIFT;
}

#endif /* _LINUX_PAGEMAP_H */
