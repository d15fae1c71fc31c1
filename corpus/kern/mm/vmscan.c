/* Reclaim: count_file_pages() reached only from the harness; pageout() has the mapping already. */
#include <linux/fs.h>
#include <linux/pagemap.h>
#include <linux/writeback.h>

unsigned long count_file_pages(struct page **pages, int nr)
{
	unsigned long file = 0;
	int i;

	for (i = 0; i < nr; i++)
		if (page_is_file_backed(pages[i]))
			file++;
	return file;
}

/* Write a dirty, locked page out for reclaim. */
int pageout(struct page *page, struct address_space *mapping)
{
	struct writeback_control wbc = {
		.sync_mode = WB_SYNC_NONE,
		.nr_to_write = 1,
		.for_reclaim = 1,
	};

	if (!mapping || !mapping->a_ops->writepage) {
		unlock_page(page);
		return -EINVAL;
	}
	if (!clear_page_dirty_for_io(page)) {
		unlock_page(page);
		return 0;
	}
	SetPageReclaim(page);
	return mapping->a_ops->writepage(page, &wbc);
}

/* Write back the dirty file pages of @pages; returns how many were written. */
unsigned long shrink_page_list(struct page **pages, int nr)
{
	unsigned long written = 0;
	int i;

	for (i = 0; i < nr; i++) {
		struct page *page = pages[i];
		struct address_space *mapping = page_mapping(page);

		if (!mapping || !PageDirty(page))
			continue;
		lock_page(page);
		if (pageout(page, mapping) == 0)
			written++;
	}
	return written;
}
