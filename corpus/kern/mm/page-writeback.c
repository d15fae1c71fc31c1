/* Writeback: write_cache_pages() calls a writepage_t parameter, ->writepage/->set_page_dirty calls. */
#include <linux/fs.h>
#include <linux/pagemap.h>
#include <linux/writeback.h>

int write_cache_pages(struct address_space *mapping, struct writeback_control *wbc,
		writepage_t writepage, void *data)
{
	pgoff_t index;
	int ret = 0;

	for (index = 0; index < PAGECACHE_SLOTS && wbc->nr_to_write > 0; index++) {
		struct page *page = mapping->i_pages[index];

		if (!page || !PageDirty(page))
			continue;
		lock_page(page);
		/* Truncated, or moved to another file, before we got the lock? */
		if (unlikely(page->mapping != mapping)) {
			unlock_page(page);
			continue;
		}
		if (!clear_page_dirty_for_io(page)) {
			unlock_page(page);
			continue;
		}
		ret = (*writepage)(page, wbc, data);
		if (ret)
			break;
		wbc->nr_to_write--;
	}
	return ret;
}

static int __writepage(struct page *page, struct writeback_control *wbc, void *data)
{
	struct address_space *mapping = data;
	int ret = mapping->a_ops->writepage(page, wbc);

	mapping_set_error(mapping, ret);
	return ret;
}

int generic_writepages(struct address_space *mapping, struct writeback_control *wbc)
{
	if (!mapping->a_ops->writepage)
		return 0;
	return write_cache_pages(mapping, wbc, __writepage, mapping);
}

int do_writepages(struct address_space *mapping, struct writeback_control *wbc)
{
	if (mapping->a_ops->writepages)
		return mapping->a_ops->writepages(mapping, wbc);
	return generic_writepages(mapping, wbc);
}

int clear_page_dirty_for_io(struct page *page)
{
	struct address_space *mapping = page_mapping(page);

	BUG_ON(!PageLocked(page));
	if (!TestClearPageDirty(page))
		return 0;
	if (mapping)
		mapping->nrdirty--;
	return 1;
}

int __set_page_dirty_nobuffers(struct page *page)
{
	struct address_space *mapping;

	if (TestSetPageDirty(page))
		return 0;
	mapping = page->mapping;
	if (!mapping)
		return 1;
	mapping->nrdirty++;
	mapping->host->i_state |= I_DIRTY_PAGES;
	return 1;
}

int set_page_dirty(struct page *page)
{
	struct address_space *mapping = page_mapping(page);

	if (likely(mapping))
		return mapping->a_ops->set_page_dirty(page);
	return !TestSetPageDirty(page);
}

int redirty_page_for_writepage(struct writeback_control *wbc, struct page *page)
{
	wbc->pages_skipped++;
	return __set_page_dirty_nobuffers(page);
}
