/* Page flags (PAGEFLAG-generated), PageAnon() reading page->mapping, folio_test_anon() (decoy). */
#ifndef _LINUX_MM_H
#define _LINUX_MM_H

#include <linux/mm_types.h>

enum pageflags {
	PG_locked,
	PG_referenced,
	PG_uptodate,
	PG_dirty,
	PG_lru,
	PG_private,
	PG_writeback,
	PG_error,
	PG_reclaim,
};

static inline int test_bit(int nr, const volatile unsigned long *addr)
{
	return (*addr >> nr) & 1;
}

static inline void set_bit(int nr, volatile unsigned long *addr)
{
	*addr |= 1UL << nr;
}

static inline void clear_bit(int nr, volatile unsigned long *addr)
{
	*addr &= ~(1UL << nr);
}

static inline int test_and_set_bit(int nr, volatile unsigned long *addr)
{
	int old = test_bit(nr, addr);

	set_bit(nr, addr);
	return old;
}

static inline int test_and_clear_bit(int nr, volatile unsigned long *addr)
{
	int old = test_bit(nr, addr);

	clear_bit(nr, addr);
	return old;
}

#define PAGEFLAG(uname, lname)                                  \
static inline int Page##uname(const struct page *page)          \
	{ return test_bit(PG_##lname, &page->flags); }              \
static inline void SetPage##uname(struct page *page)            \
	{ set_bit(PG_##lname, &page->flags); }                      \
static inline void ClearPage##uname(struct page *page)          \
	{ clear_bit(PG_##lname, &page->flags); }

#define TESTSCFLAG(uname, lname)                                \
static inline int TestSetPage##uname(struct page *page)         \
	{ return test_and_set_bit(PG_##lname, &page->flags); }      \
static inline int TestClearPage##uname(struct page *page)       \
	{ return test_and_clear_bit(PG_##lname, &page->flags); }

PAGEFLAG(Locked, locked)
PAGEFLAG(Uptodate, uptodate)
PAGEFLAG(Dirty, dirty) TESTSCFLAG(Dirty, dirty)
PAGEFLAG(Private, private)
PAGEFLAG(Writeback, writeback) TESTSCFLAG(Writeback, writeback)
PAGEFLAG(Error, error)
PAGEFLAG(Reclaim, reclaim)

/*
 * On an anonymous page, page->mapping points to an anon_vma with the low bit set.
 */
#define PAGE_MAPPING_ANON   0x1UL

static inline int PageAnon(const struct page *page)
{
	return ((unsigned long)page->mapping & PAGE_MAPPING_ANON) != 0;
}

static inline bool folio_test_anon(const struct folio *folio)
{
	return ((unsigned long)folio->mapping & PAGE_MAPPING_ANON) != 0;
}

static inline void get_page(struct page *page)
{
	page->_refcount.counter++;
}

static inline int page_count(const struct page *page)
{
	return page->_refcount.counter;
}

static inline void *page_address(const struct page *page)
{
	return page->virtual;
}

#define GFP_NOFS    0x40u
#define GFP_KERNEL  0xccu

#define VM_FAULT_NOPAGE 0x100
#define VM_FAULT_LOCKED 0x200

struct anon_vma {
	struct anon_vma *root;
	int degree;
};

/* mm/util.c */
struct page *alloc_page(gfp_t gfp);
void put_page(struct page *page);
struct address_space *page_mapping(struct page *page);
struct address_space *folio_mapping(struct folio *folio);
struct address_space **page_mapping_slot(struct page *page);
struct page *mapping_slot_to_page(struct address_space **slot);
bool page_is_file_backed(struct page *page);
/* mm/page-writeback.c */
int set_page_dirty(struct page *page);
int clear_page_dirty_for_io(struct page *page);
int __set_page_dirty_nobuffers(struct page *page);
/* mm/rmap.c */
void page_set_anon_rmap(struct page *page, struct anon_vma *anon_vma);
struct anon_vma *page_anon_vma(struct page *page);
unsigned long page_address_in_vma(struct page *page, struct vm_area_struct *vma);
int page_mapped_in_vma(struct page *page, struct vm_area_struct *vma);
/* mm/vmscan.c */
unsigned long count_file_pages(struct page **pages, int nr);
unsigned long shrink_page_list(struct page **pages, int nr);
/* mm/debug.c */
void dump_page(struct page *page, const char *reason);
/* mm/swap_state.c */
struct address_space *swap_address_space(unsigned long offset);
long swap_slot_alloc(void);
bool swap_slot_busy(unsigned long offset);

#endif /* _LINUX_MM_H */
