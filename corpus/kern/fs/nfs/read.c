/* NFS read: ->readpage with a struct file * (may be NULL), mutual recursion, folio and nfs_page decoys. */
#include "internal.h"

static int nfs_read_retry(struct page *page, int retries);

/* Ask the "server" for the page; it says the attributes are stale once after a change. */
static int nfs_read_one(struct page *page, int retries)
{
	struct inode *inode = page->mapping->host;

	if (inode->i_state & I_NEED_REVAL) {
		inode->i_state &= ~I_NEED_REVAL;
		return nfs_read_retry(page, retries);
	}
	memset(page_address(page), 0, PAGE_SIZE);
	SetPageUptodate(page);
	return 0;
}

static int nfs_read_retry(struct page *page, int retries)
{
	if (retries == 0)
		return -ESTALE;
	return nfs_read_one(page, retries - 1);
}

static void nfs_read_completion(struct nfs_page *reqs, int nr, int error)
{
	int i;

	for (i = 0; i < nr; i++) {
		struct nfs_page *page = &reqs[i];

		if (error)
			mapping_set_error(page->mapping, error);
		page->wb_error = error;
	}
}

int nfs_readpage(struct file *file, struct page *page)
{
	struct inode *inode = file ? file_inode(file) : page_host(page);
	struct nfs_page req = {
		.wb_page = page,
		.mapping = page_folio(page)->mapping,
		.wb_bytes = PAGE_SIZE,
	};
	int err = 0;

	if (((loff_t)page->index << PAGE_SHIFT) >= inode->i_size) {
		/* Beyond EOF: no need to ask the server. */
		memset(page_address(page), 0, PAGE_SIZE);
		SetPageUptodate(page);
	} else {
		err = nfs_read_one(page, 2);
	}
	nfs_read_completion(&req, 1, err);
	unlock_page(page);
	return err;
}
