/* Accessors: page_mapping(), &page->mapping, container_of(.., struct page, mapping), folio_mapping (decoy). */
#include <linux/fs.h>
#include <linux/pagemap.h>

#define NR_POOL_PAGES 64

static struct page page_pool[NR_POOL_PAGES];
static char page_data[NR_POOL_PAGES][PAGE_SIZE] __attribute__((aligned(4096)));
static unsigned int pool_next;

struct page *alloc_page(gfp_t gfp)
{
	unsigned int i;

	for (i = 0; i < NR_POOL_PAGES; i++) {
		unsigned int n = (pool_next + i) % NR_POOL_PAGES;
		struct page *page = &page_pool[n];

		if (page_count(page) == 0) {
			pool_next = n + 1;
			memset(page, 0, sizeof(*page));
			memset(page_data[n], 0, PAGE_SIZE);
			page->virtual = page_data[n];
			page->_refcount.counter = 1;
			return page;
		}
	}
	return NULL;
}

void put_page(struct page *page)
{
	WARN_ON(page_count(page) <= 0);
	page->_refcount.counter--;
}

struct address_space *page_mapping(struct page *page)
{
	if (PageAnon(page))
		return NULL;
	return page->mapping;
}

struct address_space *folio_mapping(struct folio *folio)
{
	if (folio_test_anon(folio))
		return NULL;
	return folio->mapping;
}

struct address_space **page_mapping_slot(struct page *page)
{
	return &page->mapping;
}

struct page *mapping_slot_to_page(struct address_space **slot)
{
	return container_of(slot, struct page, mapping);
}

bool page_is_file_backed(struct page *page)
{
	return page->mapping != NULL && !PageAnon(page);
}
