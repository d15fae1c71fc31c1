/* ext2 dirs: static write_one_page reads page->mapping, read_mapping_page, recursion, mapping set after read. */
#include <linux/pagemap.h>
#include "ext2.h"

struct ext2_dir_entry {
	u32 inode;
	u16 rec_len;
	u8 name_len;
	u8 file_type;
};

static int write_one_page(struct page *page)
{
	struct address_space *mapping = page->mapping;
	struct writeback_control wbc = {
		.sync_mode = WB_SYNC_ALL,
		.nr_to_write = 1,
	};
	int ret = 0;

	wait_on_page_writeback(page);
	if (clear_page_dirty_for_io(page)) {
		get_page(page);
		ret = mapping->a_ops->writepage(page, &wbc);
		if (ret == 0)
			wait_on_page_writeback(page);
		put_page(page);
	} else {
		unlock_page(page);
	}
	return ret;
}

static int ext2_check_page(struct page *page)
{
	struct inode *dir = page_host(page);

	if (page->index >= dir_pages(dir) || !PageUptodate(page))
		return -EIO;
	return 0;
}

/* Check a run of directory pages, halving it so that a bad page is found quickly. */
static int ext2_check_pages(struct page **pages, unsigned long nr)
{
	int err;

	if (nr == 1)
		return ext2_check_page(pages[0]);
	err = ext2_check_pages(pages, nr / 2);
	if (err)
		return err;
	return ext2_check_pages(pages + nr / 2, nr - nr / 2);
}

struct page *ext2_get_page(struct inode *dir, unsigned long n)
{
	return read_mapping_page(dir->i_mapping, n, NULL);
}

int ext2_check_dir(struct inode *dir)
{
	struct page *pages[8];
	unsigned long npages = dir_pages(dir), i;
	int err = 0;

	if (npages == 0 || npages > ARRAY_SIZE(pages))
		return -EINVAL;
	for (i = 0; i < npages; i++) {
		pages[i] = ext2_get_page(dir, i);
		if (IS_ERR(pages[i])) {
			err = PTR_ERR(pages[i]);
			break;
		}
	}
	if (!err)
		err = ext2_check_pages(pages, npages);
	while (i--)
		put_page(pages[i]);
	return err;
}

static int ext2_commit_chunk(struct page *page, loff_t pos, unsigned int len)
{
	struct address_space *mapping;
	struct inode *dir = page->mapping->host;
	int err = 0;

	mapping = dir->i_mapping;
	block_write_end(NULL, mapping, pos, len, len, page, NULL);
	if (pos + len > dir->i_size)
		dir->i_size = pos + len;
	if (IS_DIRSYNC(dir))
		err = write_one_page(page);
	else
		unlock_page(page);
	return err;
}

int ext2_add_link(struct inode *dir, struct inode *inode, unsigned int slot)
{
	loff_t pos = (loff_t)slot * sizeof(struct ext2_dir_entry);
	struct page *page = ext2_get_page(dir, pos >> PAGE_SHIFT);
	struct ext2_dir_entry *de;
	int err;

	if (IS_ERR(page))
		return PTR_ERR(page);
	lock_page(page);
	de = (struct ext2_dir_entry *)((char *)page_address(page) + (pos & (PAGE_SIZE - 1)));
	de->inode = inode->i_ino;
	de->rec_len = sizeof(*de);
	de->name_len = 0;
	de->file_type = 1;
	err = ext2_commit_chunk(page, pos, sizeof(*de));
	put_page(page);
	return err;
}
