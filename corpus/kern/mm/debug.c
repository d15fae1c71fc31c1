/* Debug dumps: locals/params named mapping of another type, READ_ONCE, page->mapping in a string (decoy). */
#include <linux/fs.h>

/* The caller sampled page->mapping into @mapping; report if it has changed since. */
static void dump_mapping_word(struct page *page, unsigned long mapping)
{
	struct address_space *now = READ_ONCE(page->mapping);

	if ((unsigned long)now != mapping)
		printk("  page->mapping changed: %#lx -> %#lx\n", mapping, (unsigned long)now);
}

void dump_page(struct page *page, const char *reason)
{
	unsigned long mapping = (unsigned long)page->mapping;

	printk("page:%p refcount:%d index:%lu flags:%#lx\n", (void *)page,
		page_count(page), page->index, page->flags);
	if (mapping & PAGE_MAPPING_ANON)
		printk("  anon_vma:%#lx\n", mapping - PAGE_MAPPING_ANON);
	else if (mapping)
		printk("  aops:%p\n", (void *)((struct address_space *)mapping)->a_ops);
	dump_mapping_word(page, mapping);
	if (reason)
		printk("  page dumped because: %s\n", reason);
}
