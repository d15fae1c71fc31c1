/* Runtime harness driving the entry points; roots with only a page; loose[i].mapping outside fs/ and mm/. */
#include <linux/fs.h>
#include <linux/pagemap.h>
#include <linux/writeback.h>
#include "../fs/ext2/ext2.h"
#include "../fs/nfs/internal.h"
#include "../drivers/block/loop.h"

int printf(const char *, ...);
int vprintf(const char *, __builtin_va_list);

static int nr_checks, nr_failed, nr_warnings;

int printk(const char *fmt, ...)
{
	__builtin_va_list ap;
	int n;

	__builtin_va_start(ap, fmt);
	n = vprintf(fmt, ap);
	__builtin_va_end(ap);
	return n;
}

void __warn(const char *file, int line)
{
	nr_warnings++;
	printf("WARNING: at %s:%d\n", file, line);
}

void bug(const char *file, int line)
{
	printf("BUG: at %s:%d\n", file, line);
	__builtin_trap();
}

#define CHECK(cond) do {                                                \
	nr_checks++;                                                        \
	if (!(cond)) {                                                      \
		nr_failed++;                                                    \
		printf("FAILED: %s at %s:%d\n", #cond, __FILE__, __LINE__);     \
	}                                                                   \
} while (0)

static const char msg[] = "the quick brown fox jumps over the lazy dog";

static struct super_block ext2_sb = { .s_blocksize = 1024, .s_id = "loop0" };
static struct super_block nfs_sb = { .s_blocksize = 4096, .s_id = "server:/export" };
static struct inode ext2_file_inode, ext2_dir_inode, ext2_new_inode;
static struct inode nfs_file_inode, nfs_link_inode;
static struct file ext2_file, nfs_file, nfs_file2;
static struct loop_device loop0 = { .lo_number = 0 };
static struct page loose[2];
static struct anon_vma anon_vma;

static void test_ext2_file(void)
{
	struct address_space *mapping = ext2_file_inode.i_mapping;
	struct vm_area_struct vma = {
		.vm_start = 0x10000,
		.vm_end = 0x20000,
		.vm_file = &ext2_file,
	};
	struct page *pages[2], *newpage;
	struct writeback_control wbc = {
		.sync_mode = WB_SYNC_ALL,
		.nr_to_write = 16,
	};
	char buf[sizeof(msg)];

	/* Two pages, only the written blocks uptodate: ->is_partially_uptodate serves the read. */
	CHECK(generic_perform_write(&ext2_file, msg, sizeof(msg), PAGE_SIZE - 10) == sizeof(msg));
	CHECK(mapping->nrpages == 2 && mapping->nrdirty == 2);
	CHECK(!PageUptodate(mapping->i_pages[0]));
	CHECK(filemap_read(&ext2_file, buf, sizeof(msg), PAGE_SIZE - 10) == sizeof(msg));
	CHECK(__builtin_memcmp(buf, msg, sizeof(msg)) == 0);
	/* Blocks not mapped yet: mpage falls back to ->writepage. */
	CHECK(filemap_write_and_wait(mapping) == 0);
	CHECK(mapping->nrdirty == 0);
	/* Blocks mapped now: the rewrite goes out in a bio. */
	CHECK(generic_perform_write(&ext2_file, msg, 4, 0) == 4);
	CHECK(filemap_write_and_wait(mapping) == 0);

	CHECK(generic_perform_write(&ext2_file, "x", 1, PAGE_SIZE) == 1);
	ext2_sb.s_flags |= SB_RDONLY;
	CHECK(write_inode_page(&ext2_file_inode, 1) == -EROFS);
	ext2_sb.s_flags &= ~SB_RDONLY;
	CHECK(PageDirty(mapping->i_pages[1]));
	CHECK(write_inode_page(&ext2_file_inode, 1) == 0);
	CHECK(ext2_file_inode.i_wb_pages == 1);
	CHECK(generic_perform_write(&ext2_file, "y", 1, PAGE_SIZE + 1) == 1);
	CHECK(generic_writepages(mapping, &wbc) == 0 && !PageDirty(mapping->i_pages[1]));

	pages[0] = find_get_page(mapping, 0);
	pages[1] = find_get_page(mapping, 1);
	CHECK(filemap_reread_page(pages[0]) == 0 && PageUptodate(pages[0]));
	CHECK(filemap_page_mkwrite(&vma, pages[0]) == VM_FAULT_LOCKED);
	unlock_page(pages[0]);
	CHECK(page_address_in_vma(pages[0], &vma) == 0x10000);
	CHECK(page_mapped_in_vma(pages[1], &vma));
	CHECK(shrink_page_list(pages, 2) == 1);
	CHECK(!PageDirty(pages[0]));

	newpage = alloc_page(GFP_KERNEL);
	CHECK(migrate_page(mapping, newpage, pages[0]) == 0);
	CHECK(find_get_page(mapping, 0) == newpage);
	put_page(newpage);
	put_page(pages[0]);
	put_page(pages[1]);

	ext2_truncate(&ext2_file_inode, 0);
	CHECK(mapping->nrpages == 0);
}

static void test_ext2_dir(void)
{
	struct page *page;

	ext2_dir_inode.i_size = 2 * PAGE_SIZE;
	ext2_dir_inode.i_flags |= S_DIRSYNC;
	CHECK(ext2_check_dir(&ext2_dir_inode) == 0);
	CHECK(ext2_add_link(&ext2_dir_inode, &ext2_new_inode, 3) == 0);
	page = find_get_page(ext2_dir_inode.i_mapping, 0);
	CHECK(page && PageUptodate(page) && !PageDirty(page) && !PageLocked(page));
	put_page(page);
}

static void test_loop(void)
{
	loop_set_fd(&loop0, &ext2_file, 512);
	CHECK(loop_write_block(&loop0, "boot", 4, 0) == 0);
	CHECK(ext2_file_inode.i_mapping->nrdirty == 1);
	CHECK(loop_drop_caches(&loop0) == 1);   /* dirty: kept */
	CHECK(filemap_write_and_wait(ext2_file.f_mapping) == 0);
	CHECK(loop_drop_caches(&loop0) == 0);
}

static void test_nfs(void)
{
	struct address_space *mapping = nfs_file_inode.i_mapping;
	struct page *page;
	char buf[16];

	CHECK(generic_perform_write(&nfs_file, msg, sizeof(msg), 0) == sizeof(msg));
	CHECK(mapping->nrdirty == 1);
	CHECK(filemap_write_and_wait(mapping) == 0);
	CHECK(nfs_pages_traced() == 1 && mapping->nrdirty == 0);
	nfs_debug_enable();

	/* Dirtied through one file, written through another: flushed first. */
	CHECK(generic_perform_write(&nfs_file, "a", 1, 0) == 1);
	CHECK(generic_perform_write(&nfs_file2, "b", 1, 1) == 1);
	CHECK(nfs_pages_traced() == 2);

	page = find_lock_page(mapping, 0);
	CHECK(nfs_wb_page(&nfs_file_inode, page, 0) == -EAGAIN);
	CHECK(pageout(page, mapping) == 0);
	CHECK(nfs_pages_traced() == 3);
	lock_page(page);
	set_page_dirty(page);
	nfs_file_aops.invalidatepage(page, 0, PAGE_SIZE);
	CHECK(!PageDirty(page) && nfs_file_aops.releasepage(page, GFP_KERNEL));
	unlock_page(page);
	put_page(page);

	CHECK(generic_perform_write(&nfs_file, "c", 1, 2) == 1);
	CHECK(invalidate_inode_pages2(mapping) == 0);
	CHECK(mapping->nrpages == 0 && nfs_pages_traced() == 4);

	nfs_file_inode.i_state |= I_NEED_REVAL;
	CHECK(filemap_read(&nfs_file, buf, sizeof(buf), 0) == sizeof(buf));
	CHECK(buf[0] == 0 && !(nfs_file_inode.i_state & I_NEED_REVAL));
	page = find_get_page(mapping, 0);
	CHECK(filemap_reread_page(page) == 0 && PageUptodate(page));
	put_page(page);
	truncate_inode_pages(&nfs_file_inode, 0);
	CHECK(mapping->nrpages == 0);

	nfs_link_inode.i_private = (void *)"../target";
	CHECK(__builtin_strcmp(nfs_get_link(&nfs_link_inode), "../target") == 0);
}

static void test_mm(void)
{
	struct vm_area_struct vma = {
		.vm_start = 0x40000,
		.vm_end = 0x50000,
		.anon_vma = &anon_vma,
	};
	struct page *pages[] = { &loose[0], &loose[1] };
	struct address_space *anon_word;
	long slot;

	page_set_anon_rmap(&loose[0], &anon_vma);
	loose[0].index = 2;
	anon_word = loose[0].mapping;
	CHECK((unsigned long)anon_word & PAGE_MAPPING_ANON);
	CHECK(PageAnon(&loose[0]) && page_anon_vma(&loose[0]) == &anon_vma);
	CHECK(page_mapping(&loose[0]) == NULL);
	CHECK(page_address_in_vma(&loose[0], &vma) == 0x42000);

	loose[1].mapping = &nfs_file_inode.i_data;
	CHECK(page_is_file_backed(&loose[1]));
	CHECK(count_file_pages(pages, 2) == 1);
	CHECK(mapping_slot_to_page(page_mapping_slot(&loose[1])) == &loose[1]);
	CHECK(folio_mapping(page_folio(&loose[1])) == &nfs_file_inode.i_data);
	dump_page(&loose[0], "harness: anon page");
	dump_page(&loose[1], NULL);

	slot = swap_slot_alloc();
	CHECK(slot >= 0 && swap_slot_busy(slot) && swap_address_space(slot));
}

int main(void)
{
	ext2_setup_inode(&ext2_file_inode, &ext2_sb, 12);
	ext2_setup_inode(&ext2_dir_inode, &ext2_sb, 2);
	ext2_setup_inode(&ext2_new_inode, &ext2_sb, 13);
	ext2_open(&ext2_file, &ext2_file_inode);
	nfs_setup_inode(&nfs_file_inode, &nfs_sb, 100);
	nfs_setup_inode(&nfs_link_inode, &nfs_sb, 101);
	nfs_open(&nfs_file, &nfs_file_inode);
	nfs_open(&nfs_file2, &nfs_file_inode);

	test_ext2_file();
	test_ext2_dir();
	test_loop();
	test_nfs();
	test_mm();

	printf("kern: %d checks, %d failed, %d warnings\n", nr_checks, nr_failed, nr_warnings);
	return nr_failed || nr_warnings;
}
