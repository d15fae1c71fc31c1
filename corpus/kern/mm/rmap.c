/* Reverse map: WRITE_ONCE/READ_ONCE on page->mapping, vm_area_struct parameters, (*page).mapping. */
#include <linux/fs.h>

void page_set_anon_rmap(struct page *page, struct anon_vma *anon_vma)
{
	unsigned long anon = (unsigned long)anon_vma + PAGE_MAPPING_ANON;

	WRITE_ONCE(page->mapping, (struct address_space *)anon);
}

struct anon_vma *page_anon_vma(struct page *page)
{
	unsigned long anon_mapping = (unsigned long)READ_ONCE(page->mapping);

	if ((anon_mapping & PAGE_MAPPING_ANON) == 0)
		return NULL;
	return (struct anon_vma *)(anon_mapping - PAGE_MAPPING_ANON);
}

/* Where is @page mapped in @vma?  -EFAULT if it is not. */
unsigned long page_address_in_vma(struct page *page, struct vm_area_struct *vma)
{
	unsigned long address;

	if (PageAnon(page)) {
		if (!vma->anon_vma || page_anon_vma(page) != vma->anon_vma)
			return -EFAULT;
	} else if (!vma->vm_file || vma->vm_file->f_mapping != page->mapping) {
		return -EFAULT;
	}
	address = vma->vm_start + ((page->index - vma->vm_pgoff) << PAGE_SHIFT);
	if (address < vma->vm_start || address >= vma->vm_end)
		return -EFAULT;
	return address;
}

int page_mapped_in_vma(struct page *page, struct vm_area_struct *vma)
{
	struct address_space *mapping = (*page).mapping;

	if (!vma->vm_file || mapping != vma->vm_file->f_mapping)
		return 0;
	return page_address_in_vma(page, vma) != (unsigned long)-EFAULT;
}
