drivers/block/loop.c:38:11-18: struct page.mapping compared in loop_drop_page() [file; LOOPBACK DEVICE]: converted, mapping (exact: local mapping initialised at line 35)
fs/buffer.c:52:32-39: struct page.mapping read in end_buffer_async_write() [block-io; FILESYSTEMS (VFS and infrastructure)]: converted, mapping (exact: new parameter mapping)
fs/buffer.c:71:3-12: struct page.mapping read in end_buffer_async_read() through macro page_host [block-io; FILESYSTEMS (VFS and infrastructure)]: converted, mapping (exact: new parameter mapping)
fs/buffer.c:105:36-43: struct page.mapping read in block_write_full_page() [file; FILESYSTEMS (VFS and infrastructure)]: converted, mapping (exact: new parameter mapping)
fs/buffer.c:144:23-32: struct page.mapping read in block_read_full_page() through macro page_host [file; FILESYSTEMS (VFS and infrastructure)]: converted, mapping (exact: new parameter mapping)
fs/buffer.c:254:46-53: struct page.mapping read in try_to_free_buffers() [file; FILESYSTEMS (VFS and infrastructure)]: converted, ctx_mapping (exact: new parameter ctx_mapping)
fs/ext2/dir.c:14:39-46: struct page.mapping read in write_one_page() [file; EXT2 FILE SYSTEM]: converted, ctx_mapping (exact: new parameter ctx_mapping)
fs/ext2/dir.c:36:21-30: struct page.mapping read in ext2_check_page() through macro page_host [file; EXT2 FILE SYSTEM]: converted, mapping (exact: new parameter mapping)
fs/ext2/dir.c:86:27-34: struct page.mapping read in ext2_commit_chunk() [file; EXT2 FILE SYSTEM]: converted, ctx_mapping (exact: new parameter ctx_mapping)
fs/ext2/inode.c:18:11-18: struct page.mapping not analysed: in code the preprocessor skips under this config (#ifdef CONFIG_FS_DAX); ext2_check_page_cache@fs/ext2/inode.c is planned in the other branch: this definition needs the parameter too
fs/ext2/inode.c:25:11-18: struct page.mapping compared in ext2_check_page_cache() [file; EXT2 FILE SYSTEM]: converted, mapping (exact: new parameter mapping)
fs/ext2/inode.c:38:5-12: struct page.mapping read in ext2_writepage() through macro page_sb [file; EXT2 FILE SYSTEM]: converted, mapping (exact: new parameter mapping)
fs/fs-writeback.c:8:14-21: struct page.mapping read in page_written_inode() [file; FILESYSTEMS (VFS and infrastructure)]: converted, mapping (exact: new parameter mapping)
fs/mpage.c:21:35-42: struct page.mapping read in mpage_end_io_write() [block-io; FILESYSTEMS (VFS and infrastructure)]: converted, mapping (exact: new parameter mapping)
fs/mpage.c:51:39-46: struct page.mapping read in __mpage_writepage() [file; FILESYSTEMS (VFS and infrastructure)]: converted, ctx_mapping (exact: new parameter ctx_mapping)
fs/nfs/file.c:36:20-29: struct page.mapping read in nfs_invalidate_page() through macro page_host [file; NFS, SUNRPC, AND LOCKD CLIENTS]: converted, mapping (exact: new parameter mapping)
fs/nfs/read.c:9:29-36: struct page.mapping read in nfs_read_one() [file; NFS, SUNRPC, AND LOCKD CLIENTS]: converted, mapping (exact: new parameter mapping)
fs/nfs/read.c:42:49-58: struct page.mapping read in nfs_readpage() through macro page_host [file; NFS, SUNRPC, AND LOCKD CLIENTS]: converted, mapping (exact: new parameter mapping); folio in reach: page_folio() at line 45
fs/nfs/symlink.c:11:13-20: struct page.mapping compared in nfs_symlink_filler() [file; NFS, SUNRPC, AND LOCKD CLIENTS]: converted, mapping (exact: new parameter mapping)
fs/nfs/write.c:14:61-70: struct page.mapping read in nfs_trace_print() through macro page_host [debug; NFS, SUNRPC, AND LOCKD CLIENTS]: remaining, address escapes: nfs_trace_print@fs/nfs/write.c is stored in var:nfs_trace_page, where calls cannot be traced
fs/nfs/write.c:107:11-18: struct page.mapping compared in nfs_flush_incompatible() [file; NFS, SUNRPC, AND LOCKD CLIENTS]: converted, file->f_mapping (derived: derived from parameter file (struct file *))
harness/main.c:196:22-29: struct page.mapping read in test_mm() [file; KERNEL CORPUS HARNESS]: remaining, no source: main has no caller in the indexed tree and no mapping of its own (through caller main); folio in reach: page_folio() at line 206
harness/main.c:202:10-17: struct page.mapping written in test_mm() [file; KERNEL CORPUS HARNESS]: remaining, write: the field is assigned, not read; folio in reach: page_folio() at line 206
include/linux/mm.h:79:30-37: struct page.mapping read in PageAnon() [core-mm; MEMORY MANAGEMENT]: remaining, no source: main has no caller in the indexed tree and no mapping of its own (through caller test_mm@harness/main.c)
include/linux/mm_types.h:62:12-19: struct page.mapping address taken at file scope [core-mm; MEMORY MANAGEMENT]: remaining, address-of: the field's address is taken
include/linux/pagemap.h:28:14-21: struct page.mapping read in page_file_mapping() [file; PAGE CACHE]: remaining, accessor: page_file_mapping@include/linux/pagemap.h is a read under another name; its calls are the uses
include/linux/pagemap.h:34:15-22: struct page.mapping compared in page_truncated() [file; PAGE CACHE]: converted, mapping (exact: parameter mapping)
include/linux/pagemap.h:34:32-39: struct page.mapping compared in page_truncated() [file; PAGE CACHE]: converted, mapping (exact: parameter mapping)
mm/debug.c:7:45-52: struct page.mapping read in dump_mapping_word() [debug; MEMORY MANAGEMENT]: remaining, no source: main has no caller in the indexed tree and no mapping of its own (through caller dump_page)
mm/debug.c:15:46-53: struct page.mapping read in dump_page() [debug; MEMORY MANAGEMENT]: remaining, no source: main has no caller in the indexed tree and no mapping of its own (through caller test_mm@harness/main.c)
mm/filemap.c:41:7-14: struct page.mapping written in add_to_page_cache() [file; PAGE CACHE]: remaining, write: the field is assigned, not read
mm/filemap.c:52:7-14: struct page.mapping written in page_cache_delete() [file; PAGE CACHE]: remaining, write: the field is assigned, not read
mm/filemap.c:87:21-28: struct page.mapping compared in find_lock_page() [file; PAGE CACHE]: converted, mapping (exact: parameter mapping)
mm/filemap.c:153:14-21: struct page.mapping read in filemap_reread_page() [file; PAGE CACHE]: converted, mapping (exact: new parameter mapping)
mm/filemap.c:249:11-18: struct page.mapping compared in filemap_page_mkwrite() [file; PAGE CACHE]: converted, inode->i_mapping (review: derived from local inode initialised at line 246 (struct inode *); vma-derived (file_inode(vma->vm_file)))
mm/filemap.c:259:46-53: struct page.mapping read in try_to_release_page() [file; PAGE CACHE]: converted, ctx_mapping (exact: new parameter ctx_mapping)
mm/migrate.c:8:11-18: struct page.mapping not analysed: in code the preprocessor skips under this config (#ifdef CONFIG_DEBUG_VM); migrate_check_page@mm/migrate.c already has a mapping parameter
mm/migrate.c:8:40-47: struct page.mapping not analysed: in code the preprocessor skips under this config (#ifdef CONFIG_DEBUG_VM); migrate_check_page@mm/migrate.c already has a mapping parameter
mm/migrate.c:22:10-17: struct page.mapping written in migrate_page_move_mapping() [core-mm; MEMORY MANAGEMENT]: remaining, write: the field is assigned, not read
mm/migrate.c:22:26-33: struct page.mapping read in migrate_page_move_mapping() [core-mm; MEMORY MANAGEMENT]: converted, mapping (exact: parameter mapping)
mm/page-writeback.c:19:21-28: struct page.mapping compared in write_cache_pages() [file; PAGE CACHE]: converted, mapping (exact: parameter mapping)
mm/page-writeback.c:76:17-24: struct page.mapping read in __set_page_dirty_nobuffers() [file; PAGE CACHE]: converted, ctx_mapping (exact: new parameter ctx_mapping)
mm/rmap.c:8:18-25: struct page.mapping written in page_set_anon_rmap() [core-mm; MEMORY MANAGEMENT - RMAP (REVERSE MAPPING)]: remaining, write: the field is assigned, not read
mm/rmap.c:13:61-68: struct page.mapping read in page_anon_vma() [core-mm; MEMORY MANAGEMENT - RMAP (REVERSE MAPPING)]: remaining, no source: main has no caller in the indexed tree and no mapping of its own (through caller test_mm@harness/main.c)
mm/rmap.c:28:62-69: struct page.mapping compared in page_address_in_vma() [core-mm; MEMORY MANAGEMENT - RMAP (REVERSE MAPPING)]: converted, vma->vm_file ? vma->vm_file->f_mapping : NULL (review: derived from parameter vma (struct vm_area_struct *))
mm/rmap.c:39:41-48: struct page.mapping read in page_mapped_in_vma() [core-mm; MEMORY MANAGEMENT - RMAP (REVERSE MAPPING)]: converted, vma->vm_file ? vma->vm_file->f_mapping : NULL (review: derived from parameter vma (struct vm_area_struct *))
mm/truncate.c:10:24-31: struct page.mapping read in do_invalidatepage() [file; PAGE CACHE]: converted, mapping (exact: new parameter mapping)
mm/truncate.c:18:11-18: struct page.mapping compared in truncate_inode_page() [file; PAGE CACHE]: converted, inode->i_mapping (derived: derived from parameter inode (struct inode *))
mm/truncate.c:44:11-18: struct page.mapping compared in invalidate_complete_page() [file; PAGE CACHE]: converted, mapping (exact: parameter mapping)
mm/truncate.c:70:11-18: struct page.mapping compared in do_launder_page() [file; PAGE CACHE]: converted, mapping (exact: parameter mapping)
mm/util.c:41:14-21: struct page.mapping read in page_mapping() [core-mm; MEMORY MANAGEMENT]: remaining, accessor: page_mapping is a read under another name; its calls are the uses
mm/util.c:53:15-22: struct page.mapping address taken in page_mapping_slot() [core-mm; MEMORY MANAGEMENT]: remaining, address-of: the field's address is taken
mm/util.c:58:40-47: struct page.mapping address taken in mapping_slot_to_page() [core-mm; MEMORY MANAGEMENT]: remaining, address-of: the field's address is taken
mm/util.c:63:14-21: struct page.mapping compared in page_is_file_backed() [core-mm; MEMORY MANAGEMENT]: remaining, no source: main has no caller in the indexed tree and no mapping of its own (through caller test_mm@harness/main.c)
# caveat: Analysed under config as given by compile_commands.json for arch host (compile commands: compile_commands.json); code other configs compile was not seen.
# caveat: Static inline functions in headers are analysed once, under the flags of the first file that includes them; a header whose body differs with per-file flags (-DMODULE) is seen one way.
# caveat: Not visible to static analysis: accesses built by token pasting, inline assembly, generated sources that only exist in a build, and uses through casts from unrelated types.
