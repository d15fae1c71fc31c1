/* Migration: newpage->mapping = page->mapping, CONFIG_DEBUG_VM (off) branch with uses and its #else. */
#include <linux/fs.h>
#include <linux/pagemap.h>

#ifdef CONFIG_DEBUG_VM
static void migrate_check_page(struct page *page, struct address_space *mapping)
{
	if (page->mapping != mapping || !page->mapping)
		dump_page(page, "migrate: page moved under us");
}
#else
static inline void migrate_check_page(struct page *page, struct address_space *mapping)
{
}
#endif

static int migrate_page_move_mapping(struct address_space *mapping, struct page *newpage,
		struct page *page)
{
	migrate_check_page(page, mapping);
	newpage->index = page->index;
	newpage->mapping = page->mapping;
	if (!mapping)
		return 0;   /* anonymous page: no page cache slot to move */
	get_page(newpage);
	mapping->i_pages[page->index] = newpage;
	put_page(page); /* the page cache's reference */
	return 0;
}

int migrate_page(struct address_space *mapping, struct page *newpage, struct page *page)
{
	int rc = migrate_page_move_mapping(mapping, newpage, page);

	if (rc)
		return rc;
	memcpy(page_address(newpage), page_address(page), PAGE_SIZE);
	if (PageUptodate(page))
		SetPageUptodate(newpage);
	if (TestClearPageDirty(page))
		SetPageDirty(newpage);
	return 0;
}
