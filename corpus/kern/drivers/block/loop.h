/* Loop device declarations. */
#ifndef _LINUX_LOOP_H
#define _LINUX_LOOP_H

#include <linux/fs.h>

struct loop_device {
	int lo_number;
	struct file *lo_backing_file;
	loff_t lo_offset;
};

void loop_set_fd(struct loop_device *lo, struct file *file, loff_t offset);
int loop_write_block(struct loop_device *lo, const char *buf, unsigned int len, loff_t pos);
unsigned long loop_drop_caches(struct loop_device *lo);

#endif /* _LINUX_LOOP_H */
