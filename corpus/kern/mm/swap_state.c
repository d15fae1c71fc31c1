/* Swap cache decoys: structs with their own mapping, a local named page that is a struct swap_slot. */
#include <linux/fs.h>

struct swap_slot {
	struct address_space *mapping;  /* swap address space the slot belongs to */
	unsigned long offset;
	unsigned int count;
};

struct swap_info {
	struct address_space *mapping;
	struct swap_slot slots[8];
	unsigned long inuse;
};

static struct address_space swapper_space;
static struct swap_info swap_info = { .mapping = &swapper_space };

struct address_space *swap_address_space(unsigned long offset)
{
	if (offset >= ARRAY_SIZE(swap_info.slots))
		return NULL;
	return swap_info.mapping;
}

long swap_slot_alloc(void)
{
	unsigned long offset;

	for (offset = 0; offset < ARRAY_SIZE(swap_info.slots); offset++) {
		struct swap_slot *slot = &swap_info.slots[offset];

		if (slot->count == 0) {
			slot->mapping = swap_address_space(offset);
			slot->offset = offset;
			slot->count = 1;
			swap_info.inuse++;
			return offset;
		}
	}
	return -ENOMEM;
}

bool swap_slot_busy(unsigned long offset)
{
	struct swap_slot *page = &swap_info.slots[offset];

	return page->mapping == swap_address_space(offset) && page->count > 0;
}
