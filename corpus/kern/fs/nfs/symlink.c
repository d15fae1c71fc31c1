/* NFS symlinks: a filler_t passed to read_cache_page() with the inode in void *data; (*page).mapping. */
#include "internal.h"

static int nfs_symlink_filler(void *data, struct page *page)
{
	struct inode *inode = data;
	const char *target = inode->i_private;
	char *kaddr = page_address(page);
	int i;

	if ((*page).mapping != inode->i_mapping) {
		unlock_page(page);
		return -ESTALE;
	}
	for (i = 0; target[i] && i < PAGE_SIZE - 1; i++)
		kaddr[i] = target[i];
	kaddr[i] = '\0';
	SetPageUptodate(page);
	unlock_page(page);
	return 0;
}

const char *nfs_get_link(struct inode *inode)
{
	struct page *page = read_cache_page(&inode->i_data, 0, nfs_symlink_filler, inode);

	if (IS_ERR(page))
		return NULL;
	put_page(page);     /* the page cache keeps its own reference */
	return page_address(page);
}
