/* PG_write_protected and PageWriteProtected(): the predicate of passdown's fs_page_mapping() helper. */
#ifndef _LINUX_PAGE_FLAGS_H
#define _LINUX_PAGE_FLAGS_H

#include <linux/mm.h>

/*
 * A write-protected page is a file page whose mapping word the owner of the
 * protection may overload: code that needs the page's address_space must take
 * it from its context (fs_page_mapping(page, mapping)), not from the page.
 *
 * The bit comes after enum pageflags in <linux/mm.h>.
 */
enum {
	PG_write_protected = PG_reclaim + 1,
};

#ifdef CONFIG_WP_HARNESS
/*
 * Run-time harness build only (harness/wp.c, `make wp`): the harness answers
 * for the bit and records which caller asked and what that caller went on to
 * return. @frame is the frame of the PageWriteProtected() that asks.
 */
bool wp_harness_page_write_protected(const struct page *page, void *frame);
#endif

static inline bool PageWriteProtected(const struct page *page)
{
#ifdef CONFIG_WP_HARNESS
	return wp_harness_page_write_protected(page, __builtin_frame_address(0));
#else
	return test_bit(PG_write_protected, &page->flags);
#endif
}

static inline void SetPageWriteProtected(struct page *page)
{
	set_bit(PG_write_protected, &page->flags);
}

static inline void ClearPageWriteProtected(struct page *page)
{
	clear_bit(PG_write_protected, &page->flags);
}

#endif /* _LINUX_PAGE_FLAGS_H */
