/* ext2 ops table: designated initializers naming functions defined in other files; no page->mapping. */
#include "ext2.h"

const struct address_space_operations ext2_aops = {
	.readpage               = ext2_readpage,
	.writepage              = ext2_writepage,
	.writepages             = ext2_writepages,
	.set_page_dirty         = __set_page_dirty_buffers,
	.write_begin            = ext2_write_begin,
	.write_end              = generic_write_end,
	.is_partially_uptodate  = block_is_partially_uptodate,
};

void ext2_open(struct file *file, struct inode *inode)
{
	file->f_inode = inode;
	file->f_mapping = inode->i_mapping;
	file->f_pos = 0;
}
