/* Basic types; the corpus is built with -nostdinc, so nothing comes from libc or the compiler. */
#ifndef _LINUX_TYPES_H
#define _LINUX_TYPES_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

typedef unsigned long size_t;
typedef long ssize_t;
typedef long long loff_t;
typedef unsigned long pgoff_t;
typedef u64 sector_t;
typedef unsigned int gfp_t;
typedef _Bool bool;

#define true    1
#define false   0
#define NULL    ((void *)0)

#define LONG_MAX    ((long)(~0UL >> 1))
#define LLONG_MAX   ((long long)(~0ULL >> 1))

typedef struct {
	int counter;
} atomic_t;

struct list_head {
	struct list_head *next, *prev;
};

#endif /* _LINUX_TYPES_H */
