/* struct page (mapping in an anonymous struct in an anonymous union), struct folio, FOLIO_MATCH(). */
#ifndef _LINUX_MM_TYPES_H
#define _LINUX_MM_TYPES_H

#include <linux/types.h>
#include <linux/kernel.h>

#define PAGE_SHIFT  12
#define PAGE_SIZE   (1UL << PAGE_SHIFT)

struct address_space;
struct file;
struct anon_vma;

struct page {
	unsigned long flags;        /* PG_* bits, see enum pageflags */
	union {
		struct {    /* Page cache and anonymous pages */
			struct list_head lru;
			/* An address_space, or an anon_vma with PAGE_MAPPING_ANON set */
			struct address_space *mapping;
			pgoff_t index;      /* Our offset within mapping. */
			unsigned long private;  /* buffer_heads when PagePrivate */
		};
		struct {    /* Tail pages of compound page */
			unsigned long compound_head;    /* Bit zero is set */
			unsigned char compound_order;
		};
		struct {    /* Pages a driver allocated for itself */
			void *driver_data;
			unsigned long driver_flags;
		};
	};
	atomic_t _refcount;
	void *virtual;      /* Kernel virtual address */
};

struct folio {
	union {
		struct {
			unsigned long flags;
			union {
				struct {
					struct list_head lru;
					struct address_space *mapping;
					pgoff_t index;
					void *private;
				};
				unsigned long __filler[4];
			};
			atomic_t _refcount;
			void *virtual;
		};
		struct page page;
	};
};

#define FOLIO_MATCH(pg, fl) \
	_Static_assert(offsetof(struct page, pg) == offsetof(struct folio, fl), "folio and page disagree")
FOLIO_MATCH(flags, flags);
FOLIO_MATCH(lru, lru);
FOLIO_MATCH(mapping, mapping);
FOLIO_MATCH(index, index);
FOLIO_MATCH(_refcount, _refcount);
#undef FOLIO_MATCH

static inline struct page *compound_head(struct page *page)
{
	unsigned long head = READ_ONCE(page->compound_head);

	if (unlikely(head & 1))
		return (struct page *)(head - 1);
	return page;
}

#define page_folio(p)           ((struct folio *)compound_head(p))
#define folio_page(folio, n)    (&(folio)->page + (n))

struct vm_area_struct {
	unsigned long vm_start;
	unsigned long vm_end;
	unsigned long vm_pgoff;     /* Offset within vm_file, in PAGE_SIZE units */
	struct file *vm_file;       /* File we map to (can be NULL) */
	struct anon_vma *anon_vma;
};

#endif /* _LINUX_MM_TYPES_H */
