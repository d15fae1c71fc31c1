/* Truncation: local copies of ->launder_page/->invalidatepage, inode parameter, called from drivers/. */
#include <linux/fs.h>
#include <linux/pagemap.h>
#include <linux/buffer_head.h>

static void do_invalidatepage(struct page *page, unsigned int offset, unsigned int length)
{
	void (*invalidatepage)(struct page *, unsigned int, unsigned int);

	invalidatepage = page->mapping->a_ops->invalidatepage;
	if (!invalidatepage)
		invalidatepage = block_invalidatepage;
	(*invalidatepage)(page, offset, length);
}

void truncate_inode_page(struct inode *inode, struct page *page)
{
	if (page->mapping != inode->i_mapping)
		return;
	if (PagePrivate(page))
		do_invalidatepage(page, 0, PAGE_SIZE);
	if (TestClearPageDirty(page))
		inode->i_mapping->nrdirty--;
	delete_from_page_cache(page);
}

void truncate_inode_pages(struct inode *inode, loff_t lstart)
{
	pgoff_t index;

	for (index = (lstart + PAGE_SIZE - 1) >> PAGE_SHIFT; index < PAGECACHE_SLOTS; index++) {
		struct page *page = find_lock_page(inode->i_mapping, index);

		if (!page)
			continue;
		truncate_inode_page(inode, page);
		unlock_page(page);
		put_page(page);
	}
}

static int invalidate_complete_page(struct address_space *mapping, struct page *page)
{
	if (page->mapping != mapping)
		return 0;
	if (PagePrivate(page) && !try_to_release_page(page, 0))
		return 0;
	delete_from_page_cache(page);
	return 1;
}

/* Drop a clean, locked page from the page cache if nobody needs it. */
int invalidate_inode_page(struct page *page)
{
	struct address_space *mapping = page_mapping(page);

	if (!mapping)
		return 0;
	if (PageDirty(page) || PageWriteback(page))
		return 0;
	return invalidate_complete_page(mapping, page);
}

static int do_launder_page(struct address_space *mapping, struct page *page)
{
	int (*launder)(struct page *) = mapping->a_ops->launder_page;

	if (!PageDirty(page))
		return 0;
	if (page->mapping != mapping || !launder)
		return 0;
	return launder(page);
}

int invalidate_inode_pages2(struct address_space *mapping)
{
	pgoff_t index;
	int ret = 0;

	for (index = 0; index < PAGECACHE_SLOTS && !ret; index++) {
		struct page *page = find_lock_page(mapping, index);

		if (!page)
			continue;
		ret = do_launder_page(mapping, page);
		if (!ret && !invalidate_complete_page(mapping, page))
			ret = -EBUSY;
		unlock_page(page);
		put_page(page);
	}
	return ret;
}
