/* Compiler helpers and basic kernel API. Shapes: READ_ONCE/WRITE_ONCE, offsetof/container_of macros. */
#ifndef _LINUX_KERNEL_H
#define _LINUX_KERNEL_H

#include <linux/types.h>

#define likely(x)       __builtin_expect(!!(x), 1)
#define unlikely(x)     __builtin_expect(!!(x), 0)

#define READ_ONCE(x)    (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, val) \
	do { *(volatile __typeof__(x) *)&(x) = (val); } while (0)

#define offsetof(TYPE, MEMBER)  __builtin_offsetof(TYPE, MEMBER)
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#define ARRAY_SIZE(a)   (sizeof(a) / sizeof((a)[0]))
#define min(a, b)       ((a) < (b) ? (a) : (b))

#define memset(s, c, n) __builtin_memset(s, c, n)
#define memcpy(d, s, n) __builtin_memcpy(d, s, n)

#define ENOENT  2
#define EIO     5
#define EAGAIN  11
#define ENOMEM  12
#define EFAULT  14
#define EBUSY   16
#define EEXIST  17
#define EINVAL  22
#define EROFS   30
#define ESTALE  116
#define MAX_ERRNO   4095

static inline void *ERR_PTR(long error)
{
	return (void *)error;
}

static inline long PTR_ERR(const void *ptr)
{
	return (long)ptr;
}

static inline bool IS_ERR(const void *ptr)
{
	return unlikely((unsigned long)ptr >= (unsigned long)-MAX_ERRNO);
}

int printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void __warn(const char *file, int line);
void bug(const char *file, int line) __attribute__((noreturn));

#define WARN_ON(condition) ({                       \
	int __ret_warn_on = !!(condition);              \
	if (unlikely(__ret_warn_on))                    \
		__warn(__FILE__, __LINE__);                 \
	unlikely(__ret_warn_on);                        \
})

#define BUG_ON(condition) do {                      \
	if (unlikely(condition))                        \
		bug(__FILE__, __LINE__);                    \
} while (0)

#endif /* _LINUX_KERNEL_H */
