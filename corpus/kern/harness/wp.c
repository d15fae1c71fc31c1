/* Write-protect run-time harness (make wp): decoy mappings on protected pages, what each read observed. */
/*
 * Built only into build/wp/kern (make wp: CONFIG_WP_HARNESS, -O0, frame
 * pointers, -fsanitize=kernel-address with out-of-line checks), and active
 * only when KERN_WP is set in the environment:
 *
 *   KERN_WP=protect|plain      protect: pages get a decoy mapping; plain: they keep theirs
 *   KERN_WP_PAGES=ADDR+LEN,... the struct page arrays (nm: page_pool, loose)
 *   KERN_WP_LOG=FILE           where the observations go, one per line
 *
 * The page cache and the harness give a page its mapping by storing into its
 * mapping word. The compiler calls __asan_store*() before every store: once
 * such a store has landed (at the next check, before the next access runs),
 * a page that now holds a file mapping M gets PG_write_protected and, under
 * "protect", a decoy instead of M: a distinct address_space whose host is a
 * copy of M's inode and whose a_ops is a copy of M's table. Logged:
 *
 *   L pc r1 r2 page prot class     a load of the mapping word of a page
 *                                  (pc: the load; r1, r2: the return
 *                                  addresses of its function and of that
 *                                  one's caller)
 *   W pc page prot class           a store to it, with what was stored
 *                                  (pc 0: a store the compiler did not check)
 *   H site pred page prot class    a function that asked PageWriteProtected()
 *                                  returned (site: its return address in its
 *                                  caller; pred: where it asked from), and
 *                                  class is the value it returned
 *   X pc sig, U pc                 a fault, and where the harness went on
 *
 * where class says what the value is for that page: "real" (the mapping the
 * page was added to, i.e. what its callers hold), "decoy", "null", "anon" or
 * "other". passdown's fs_page_mapping() asks PageWriteProtected(); with this
 * harness the predicate redirects the helper's return (frame pointers,
 * x86-64), so the value the helper hands back to its caller is observed, not
 * inferred. tests/test_wp_runtime.py maps addresses to file:line with
 * addr2line; expected/README.md describes the whole.
 *
 * Nothing here calls into the corpus, and nothing here names the page's
 * mapping member: its offset is struct folio's, which FOLIO_MATCH() in
 * <linux/mm_types.h> asserts is the same.
 */
#include <linux/fs.h>
#include <linux/page-flags.h>

struct wp_sigaction {
	void (*handler)(int sig, void *info, void *uc);
	unsigned long mask[16];
	int flags;
	void (*restorer)(void);
};

char *getenv(const char *name);
int sigaction(int sig, const struct wp_sigaction *act, struct wp_sigaction *old);
int open(const char *path, int flags, ...);
long write(int fd, const void *buf, unsigned long count);
int snprintf(char *buf, unsigned long size, const char *fmt, ...);
unsigned long strtoul(const char *s, char **end, int base);
void abort(void);

#define WP_O_WRONLY	01
#define WP_O_CREAT	0100
#define WP_O_TRUNC	01000
#define WP_O_APPEND	02000

#define WP_SA_SIGINFO	4
#define WP_SIGILL	4
#define WP_SIGBUS	7
#define WP_SIGFPE	8
#define WP_SIGSEGV	11
#define WP_UC_GREGS	40	/* offsetof(ucontext_t, uc_mcontext.gregs), x86-64 */
#define WP_REG_RBP	10
#define WP_REG_RAX	13
#define WP_REG_RSP	15
#define WP_REG_RIP	16
#define WP_MAX_OOPSES	256

#define WP_MAX_RANGES	4
#define WP_MAX_DECOYS	16
#define WP_MAX_PENDING	8
#define WP_MAX_RETURNS	16
#define WP_DECOY_INO	1000	/* a decoy's host inode number: the real one + this */

#define WP_SLOT		offsetof(struct folio, mapping)

struct wp_range {
	unsigned long start, end;
};

struct wp_decoy {
	struct address_space *real;
	struct inode host;	/* host.i_data is the decoy address_space */
	struct address_space_operations ops;
};

struct wp_pending {
	unsigned long slot;
	void *pc;
};

struct wp_return {
	void **ret_slot;	/* where the asking function's return address lives */
	void *site;		/* that return address */
	void *pred;		/* where in the function PageWriteProtected() was called */
	const struct page *page;
};

static int wp_mode;		/* 0: off, 1: plain, 2: protect */
static int wp_fd = -1;
static struct wp_range wp_ranges[WP_MAX_RANGES];
static int wp_nr_ranges;
static struct wp_decoy wp_decoys[WP_MAX_DECOYS];
static int wp_nr_decoys;
static struct wp_pending wp_pending[WP_MAX_PENDING];
static int wp_nr_pending;
static struct wp_return wp_returns[WP_MAX_RETURNS];
static int wp_nr_returns;
static int wp_nr_oopses;
extern char __executable_start[], etext[];

void wp_ret_trampoline(void);
void *wp_returned(void *value);

static void wp_log(const char *line, int len)
{
	if (wp_fd >= 0 && len > 0)
		write(wp_fd, line, len);
}

static void wp_fail(const char *why)
{
	char line[160];

	wp_log(line, snprintf(line, sizeof(line), "E %s\n", why));
	abort();
}

/* The page whose mapping word overlaps [addr, addr + size), or NULL. */
static struct page *wp_page_of(unsigned long addr, unsigned long size)
{
	int i;

	for (i = 0; i < wp_nr_ranges; i++) {
		unsigned long first, n, slot;

		if (addr + size <= wp_ranges[i].start || addr >= wp_ranges[i].end)
			continue;
		first = addr > wp_ranges[i].start ? (addr - wp_ranges[i].start) / sizeof(struct page) : 0;
		for (n = first; wp_ranges[i].start + n * sizeof(struct page) < addr + size; n++) {
			slot = wp_ranges[i].start + n * sizeof(struct page) + WP_SLOT;
			if (slot + sizeof(void *) > wp_ranges[i].end)
				break;
			if (addr < slot + sizeof(void *) && addr + size > slot)
				return (struct page *)(wp_ranges[i].start + n * sizeof(struct page));
		}
	}
	return NULL;
}

static struct address_space **wp_slot(const struct page *page)
{
	return (struct address_space **)((char *)page + WP_SLOT);
}

static struct wp_decoy *wp_decoy_of(const struct address_space *value)
{
	int i;

	for (i = 0; i < wp_nr_decoys; i++)
		if (value == &wp_decoys[i].host.i_data)
			return &wp_decoys[i];
	return NULL;
}

static struct wp_decoy *wp_decoy_for(struct address_space *real)
{
	struct wp_decoy *d;
	int i;

	for (i = 0; i < wp_nr_decoys; i++)
		if (wp_decoys[i].real == real)
			return &wp_decoys[i];
	if (wp_nr_decoys == WP_MAX_DECOYS)
		wp_fail("too many decoys");
	d = &wp_decoys[wp_nr_decoys++];
	d->real = real;
	if (real->host)
		d->host = *real->host;
	d->host.i_ino += WP_DECOY_INO;
	d->host.i_mapping = &d->host.i_data;
	memset(&d->host.i_data, 0, sizeof(d->host.i_data));
	d->host.i_data.host = &d->host;
	if (real->a_ops) {
		d->ops = *real->a_ops;
		d->host.i_data.a_ops = &d->ops;
	}
	return d;
}

/* The mapping the page was given (its decoy's original under "protect"). */
static struct address_space *wp_real(const struct page *page)
{
	struct address_space *now = *wp_slot(page);
	struct wp_decoy *d = wp_decoy_of(now);

	if (d)
		return d->real;
	if (!now || ((unsigned long)now & PAGE_MAPPING_ANON))
		return NULL;
	return now;
}

static const char *wp_class(const struct page *page, const void *value)
{
	struct address_space *real = wp_real(page);

	if (!value)
		return "null";
	if ((unsigned long)value & PAGE_MAPPING_ANON)
		return "anon";
	if (wp_decoy_of(value))
		return wp_decoy_of(value)->real == real ? "decoy" : "other";
	return value == real ? "real" : "other";
}

static int wp_protected(const struct page *page)
{
	return test_bit(PG_write_protected, &page->flags);
}

/* A store to a page's mapping word has landed: protect the page, or stop protecting it. */
static void wp_settle(const struct wp_pending *p)
{
	struct page *page = (struct page *)(p->slot - WP_SLOT);
	struct address_space *value = *wp_slot(page);
	struct address_space *real = wp_real(page);
	char line[160];

	wp_log(line, snprintf(line, sizeof(line), "W %p %p %d %s\n", p->pc, (void *)page,
			      wp_protected(page), wp_class(page, value)));
	if (wp_mode != 2)
		return;		/* plain: pages keep their mapping and are never protected */
	if (!real) {
		ClearPageWriteProtected(page);
		return;
	}
	SetPageWriteProtected(page);
	*wp_slot(page) = &wp_decoy_for(real)->host.i_data;
}

/*
 * A page that holds a file mapping but is not protected got it through a
 * store the compiler did not check (a constant address in a static array,
 * like the harness's loose[]): protect it now, before this access.
 */
static void wp_touch(struct page *page)
{
	struct wp_pending late = { (unsigned long)wp_slot(page), NULL };

	if (wp_mode == 2 && !wp_protected(page) && wp_real(page))
		wp_settle(&late);
}

static void wp_settle_all(void)
{
	int i;

	for (i = 0; i < wp_nr_pending; i++)
		wp_settle(&wp_pending[i]);
	wp_nr_pending = 0;
}

/* @frame: the frame of the check the compiler called, whose caller does the access. */
static void wp_access(unsigned long addr, unsigned long size, int store, void **frame)
{
	void *pc = frame[1];
	struct page *page;

	if (!wp_mode)
		return;
	wp_settle_all();
	page = wp_page_of(addr, size);
	if (!page)
		return;
	wp_touch(page);
	if (store) {
		if (wp_nr_pending == WP_MAX_PENDING)
			wp_fail("too many pending stores");
		wp_pending[wp_nr_pending].slot = (unsigned long)wp_slot(page);
		wp_pending[wp_nr_pending++].pc = pc;
	} else {
		void **fp1 = frame[0];	/* the frame of the function that loads */
		void **fp2 = fp1[0];
		char line[200];

		wp_log(line, snprintf(line, sizeof(line), "L %p %p %p %p %d %s\n", pc, fp1[1], fp2[1], (void *)page,
				      wp_protected(page), wp_class(page, *wp_slot(page))));
	}
}

/* What the compiler calls before each access (kernel-address, out-of-line checks). */
#define WP_CHECKS(size)								\
void __asan_load##size##_noabort(unsigned long addr)				\
{										\
	wp_access(addr, size, 0, __builtin_frame_address(0));			\
}										\
void __asan_store##size##_noabort(unsigned long addr)				\
{										\
	wp_access(addr, size, 1, __builtin_frame_address(0));			\
}

WP_CHECKS(1)
WP_CHECKS(2)
WP_CHECKS(4)
WP_CHECKS(8)
WP_CHECKS(16)

void __asan_loadN_noabort(unsigned long addr, unsigned long size)
{
	wp_access(addr, size, 0, __builtin_frame_address(0));
}

void __asan_storeN_noabort(unsigned long addr, unsigned long size)
{
	wp_access(addr, size, 1, __builtin_frame_address(0));
}

void __asan_handle_no_return(void)
{
}

/*
 * PageWriteProtected() under CONFIG_WP_HARNESS. @frame is the predicate's
 * frame: [0] the asking function's frame pointer, [1] the return address into
 * it. The asking function's own return address is redirected through
 * wp_ret_trampoline, which hands the value it returns to wp_returned().
 */
bool wp_harness_page_write_protected(const struct page *page, void *frame)
{
	void **pred = frame;
	void **asker = pred[0];

	if (wp_mode) {
		wp_settle_all();
		if (wp_page_of((unsigned long)wp_slot(page), sizeof(void *)) == page)
			wp_touch((struct page *)page);
		if (asker[1] != (void *)wp_ret_trampoline) {
			if (wp_nr_returns == WP_MAX_RETURNS)
				wp_fail("too many pending returns");
			wp_returns[wp_nr_returns].ret_slot = &asker[1];
			wp_returns[wp_nr_returns].site = asker[1];
			wp_returns[wp_nr_returns].pred = pred[1];
			wp_returns[wp_nr_returns++].page = page;
			asker[1] = (void *)wp_ret_trampoline;
		}
	}
	return test_bit(PG_write_protected, &page->flags);
}

void *wp_returned(void *value)
{
	struct wp_return *r;
	char line[200];

	if (!wp_nr_returns)
		wp_fail("return without a caller");
	r = &wp_returns[--wp_nr_returns];
	wp_settle_all();
	wp_log(line, snprintf(line, sizeof(line), "H %p %p %p %d %s\n", r->site, r->pred, (void *)r->page,
			      wp_protected(r->page), wp_class(r->page, value)));
	return r->site;
}

#ifdef __x86_64__
/*
 * Entered by the asking function's ret, with its return value in rax (rdx);
 * rsp is 16-byte aligned as it was before the call. Calls wp_returned(rax)
 * and returns to the original site with rax and rdx intact.
 */
__asm__(
	"	.text\n"
	"	.globl wp_ret_trampoline\n"
	"	.type wp_ret_trampoline, @function\n"
	"wp_ret_trampoline:\n"
	"	subq $8, %rsp\n"
	"	pushq %rax\n"
	"	pushq %rdx\n"
	"	subq $8, %rsp\n"
	"	movq %rax, %rdi\n"
	"	call wp_returned\n"
	"	movq %rax, 24(%rsp)\n"
	"	addq $8, %rsp\n"
	"	popq %rdx\n"
	"	popq %rax\n"
	"	ret\n"
	"	.size wp_ret_trampoline, . - wp_ret_trampoline\n");
#else
void wp_ret_trampoline(void)
{
	wp_fail("the write-protect harness needs x86-64");
}
#endif

#ifdef __x86_64__
static int wp_in_text(const void *pc)
{
	return (const char *)pc >= __executable_start && (const char *)pc < etext;
}

/*
 * A fault (the decoy sent the code somewhere it cannot go, or a BUG()): like
 * an oops that kills the task, give up the call the harness test function
 * made, as if it had returned 0, and let the test function go on with its
 * next step, so every entry point still runs. The test function's frame is
 * the one whose caller's return address leaves the executable (main's, into
 * libc); a fault in the test function itself gives up the test function.
 */
static void wp_oops(int sig, void *info, void *uc)
{
	unsigned long *gregs = (unsigned long *)((char *)uc + WP_UC_GREGS);
	void **frame = (void **)gregs[WP_REG_RBP], **test = NULL, **call = NULL, **prev = NULL;
	char line[160];
	int i;

	wp_log(line, snprintf(line, sizeof(line), "X %p %d\n", (void *)gregs[WP_REG_RIP], sig));
	for (i = 0; frame && i < 256 && wp_in_text(frame[1]); i++) {
		void **up = frame[0];

		if (up && !wp_in_text(up[1])) {
			test = frame;
			call = prev;
			break;
		}
		prev = frame;
		frame = up;
	}
	if (!test || ++wp_nr_oopses > WP_MAX_OOPSES)
		wp_fail("cannot recover from a fault");
	if (!call)
		call = test;	/* the fault is in the test function: give it up */
	wp_log(line, snprintf(line, sizeof(line), "U %p\n", call[1]));
	/* the abandoned frames will not return: forget their trampolines */
	while (wp_nr_returns && (void *)wp_returns[wp_nr_returns - 1].ret_slot < (void *)&call[2])
		wp_nr_returns--;
	gregs[WP_REG_RIP] = (unsigned long)call[1];
	gregs[WP_REG_RSP] = (unsigned long)&call[2];
	gregs[WP_REG_RBP] = (unsigned long)call[0];
	gregs[WP_REG_RAX] = 0;
}

static void wp_catch_oopses(void)
{
	static const int sigs[] = { WP_SIGSEGV, WP_SIGILL, WP_SIGBUS, WP_SIGFPE };
	struct wp_sigaction sa;
	unsigned int i;

	memset(&sa, 0, sizeof(sa));
	sa.handler = wp_oops;
	sa.flags = WP_SA_SIGINFO;
	for (i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
}
#else
static void wp_catch_oopses(void)
{
}
#endif

static void wp_parse_ranges(const char *s)
{
	char *end;

	while (s && *s) {
		unsigned long start = strtoul(s, &end, 16), len;

		if (*end != '+')
			wp_fail("KERN_WP_PAGES: expected ADDR+LEN");
		len = strtoul(end + 1, &end, 16);
		if (len % sizeof(struct page))
			wp_fail("KERN_WP_PAGES: length is not a whole number of pages");
		if (wp_nr_ranges == WP_MAX_RANGES)
			wp_fail("KERN_WP_PAGES: too many ranges");
		wp_ranges[wp_nr_ranges].start = start;
		wp_ranges[wp_nr_ranges++].end = start + len;
		s = *end == ',' ? end + 1 : end;
	}
}

__attribute__((constructor)) static void wp_init(void)
{
	const char *mode = getenv("KERN_WP");
	const char *log = getenv("KERN_WP_LOG");
	char line[160];

	if (!mode)
		return;
	if (log)
		wp_fd = open(log, WP_O_WRONLY | WP_O_CREAT | WP_O_TRUNC | WP_O_APPEND, 0644);
	if (!__builtin_strcmp(mode, "protect"))
		wp_mode = 2;
	else if (!__builtin_strcmp(mode, "plain"))
		wp_mode = 1;
	else
		wp_fail("KERN_WP: protect or plain");
	wp_parse_ranges(getenv("KERN_WP_PAGES"));
	wp_catch_oopses();
	wp_log(line, snprintf(line, sizeof(line), "M %s %d %lu\n", mode, wp_nr_ranges,
			      (unsigned long)sizeof(struct page)));
}
