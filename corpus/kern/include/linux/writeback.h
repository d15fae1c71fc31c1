/* Writeback control. Shapes: writepage_t, a pointer-to-function typedef used as a callback parameter. */
#ifndef _LINUX_WRITEBACK_H
#define _LINUX_WRITEBACK_H

#include <linux/fs.h>

enum writeback_sync_modes {
	WB_SYNC_NONE,   /* Don't wait on anything */
	WB_SYNC_ALL,    /* Wait on every mapping */
};

struct writeback_control {
	long nr_to_write;
	long pages_skipped;
	loff_t range_start;
	loff_t range_end;
	enum writeback_sync_modes sync_mode;
	unsigned for_reclaim:1;
};

typedef int (*writepage_t)(struct page *page, struct writeback_control *wbc, void *data);

/* mm/page-writeback.c */
int write_cache_pages(struct address_space *mapping, struct writeback_control *wbc,
		writepage_t writepage, void *data);
int generic_writepages(struct address_space *mapping, struct writeback_control *wbc);
int do_writepages(struct address_space *mapping, struct writeback_control *wbc);
int redirty_page_for_writepage(struct writeback_control *wbc, struct page *page);
/* fs/mpage.c */
int mpage_writepages(struct address_space *mapping, struct writeback_control *wbc);
/* mm/vmscan.c */
int pageout(struct page *page, struct address_space *mapping);

#endif /* _LINUX_WRITEBACK_H */
