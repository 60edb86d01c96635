// SPDX-License-Identifier: GPL-2.0
/*
 * A seeded, reproducible, structure-aware fuzzer of the driver and
 * everything around it, and the stress cycles that follow it.
 *
 * random-calls runs FUZZ_CALLS (default ZC_FUZZ_DEFAULT_CALLS) steps from
 * the seed ZC_FUZZ_SEED (default ZC_FUZZ_DEFAULT_SEED, so that make check
 * and CI run a sequence that is known to pass; 0: a seed from the time),
 * and prints the seed: the same seed gives the same sequence of steps
 * again. A step is one of the v1
 * and v2 ioctls with a request that starts valid (refs that gntalloc
 * granted to Dom0 itself) and is then mutated (sizes, refs, domids,
 * handles, flags, reserved fields, pointers into PROT_NONE or read-only
 * pages or straddling into them), an ioctl with a wrong number or size,
 * a PRIME export or import with vgem or vkms, an mmap, munmap, mremap or
 * mprotect of a buffer, a close of any fd in any order, a fork whose
 * child carries on with its own files and the shared dma-bufs, or a call
 * of libxenzcopy. Every answer must be one the UAPI documents for that
 * call; a request that was left valid must succeed and one whose only
 * fault is its pointer must fail with -EFAULT. Buffers made from a
 * writable grant show the frontend's bytes through their mappings. At
 * the end every counter, the harness' oracles and the kernel log must be
 * as they were before.
 */

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "xenzcopy.h"
#include "zc_drm.h"
#include "zc_fixture.h"
#include "zc_gnt.h"
#include "zc_igt.h"
#include "zc_oracle.h"
#include "zc_xen.h"

#define PAGE			4096
/*
 * Steps random-calls takes without FUZZ_CALLS: the default seed's sequence
 * is seen passing this far on both architectures (2 to 4 minutes under
 * QEMU TCG, depending on the host's load; the subtest prints its rate).
 */
#define ZC_FUZZ_DEFAULT_CALLS	100000
#define ZC_FUZZ_DEFAULT_SEED	20261201ULL

/* ---- the random stream: xorshift64*, one per process ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static uint32_t rn(uint32_t n)
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

static bool one_in(uint32_t n)
{
	return rn(n) == 0;
}

static void rng_seed(uint64_t seed)
{
	rng_state = seed ? seed : 0x9e3779b97f4a7c15ULL;
	rnd();
}

/* ---- what a failure prints: seed, step, and the last steps ---- */

static uint64_t fuzz_seed;
static unsigned long step_no;
static bool in_child;
static char last[16][160];

static __attribute__((format(printf, 1, 2))) void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last[step_no % 16], sizeof(last[0]), fmt, ap);
	va_end(ap);
}

static __attribute__((noreturn, format(printf, 1, 2))) void fuzz_fail(const char *fmt, ...)
{
	char msg[256];
	unsigned long i;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "zcopy_fuzz: %s: seed %llu step %lu: %s\n",
		in_child ? "child" : "parent", (unsigned long long)fuzz_seed,
		step_no, msg);
	for (i = step_no > 15 ? step_no - 15 : 0; i <= step_no; i++)
		fprintf(stderr, "  step %lu: %s\n", i, last[i % 16]);
	fprintf(stderr, "  replay: ZC_FUZZ_SEED=%llu (testbed: ZC_FUZZ_SEED=%llu make check)\n",
		(unsigned long long)fuzz_seed, (unsigned long long)fuzz_seed);
	fflush(stderr);
	/* A child must not run the parent's fixtures on shared fds. */
	if (in_child)
		_exit(ZC_EXIT_FAILURE);
	errno = 0;
	__zc_fail(__FILE__, __LINE__, __func__, "fuzz answer", "%s", msg);
}

/* ---- answers: which errnos each call may give ---- */

/* Every errno of Linux is below 128. */
typedef unsigned __int128 errset;
#define E(x)	((errset)1 << (x))
#define ERR_FROM	(E(EINVAL) | E(E2BIG) | E(EFAULT) | E(ESRCH) | \
			 E(ENOMEM) | E(EAGAIN) | E(EDQUOT) | E(ENOSPC))
#define ERR_FROM2	(ERR_FROM | E(EMFILE))
#define ERR_TO		(E(EINVAL) | E(ENOENT) | E(EBUSY) | E(EFAULT) | \
			 E(EIO) | E(E2BIG) | E(ENOSPC) | E(ENOMEM) | E(EDQUOT))
#define ERR_WAIT	(E(ETIMEDOUT) | E(ENOENT) | E(EINTR))
#define ERR_WAIT2	(ERR_WAIT | E(EINVAL) | E(EFAULT))
#define ERR_WAITFD	(E(ENOENT) | E(EINVAL) | E(EMFILE) | E(ENOMEM) | E(EFAULT))
#define ERR_CAPS	(E(EINVAL) | E(EFAULT))
/* Numbers or sizes that are not the driver's: the core's answers. */
#define ERR_BADIOC	(E(EINVAL) | E(ENOTTY) | E(EFAULT) | E(EOPNOTSUPP) | \
			 E(ENOENT) | E(EPERM) | E(EACCES) | E(EBADF) | E(ENOMEM))
#define ERR_EXPORT	(E(ENOENT) | E(EINVAL) | E(EMFILE))
#define ERR_IMPORT	(E(EINVAL) | E(EBADF) | E(ENOMEM) | E(EMFILE) | E(ENOENT))
#define ERR_MMAP	(E(EINVAL) | E(EACCES) | E(ENOMEM) | E(EOVERFLOW))
/* Within what the pages can hold for now. */
#define ERR_RESOURCE	(E(ENOMEM) | E(EAGAIN) | E(EDQUOT) | E(ENOSPC) | E(EMFILE))

enum {
	OP_OPEN, OP_CLOSE_FILE, OP_FROM, OP_FROM2, OP_TO, OP_TO2, OP_WAIT,
	OP_WAIT2, OP_WAITFD, OP_CAPS, OP_BADIOC, OP_EXPORT, OP_IMPORT,
	OP_FOREIGN, OP_GEM_CLOSE, OP_CLOSE_FD, OP_MMAP, OP_MAPOP, OP_FORK,
	OP_GNT, OP_LIB, OP_STRUCT_RO, NR_OPS
};

static const char *const op_names[NR_OPS] = {
	"open", "close-file", "from_refs", "from_refs2", "to_refs",
	"to_refs2", "wait_free", "wait_free2", "wait_fd", "get_caps",
	"bad-ioctl", "prime-export", "prime-import", "foreign-buffer",
	"gem-close", "close-fd", "mmap", "munmap/mremap/mprotect", "fork",
	"gntalloc", "libxenzcopy", "struct-read-only",
};

/* How often each step is drawn, out of the sum. */
static const unsigned int op_weight[NR_OPS] = {
	[OP_OPEN] = 2, [OP_CLOSE_FILE] = 1, [OP_FROM] = 14, [OP_FROM2] = 16,
	[OP_TO] = 6, [OP_TO2] = 7, [OP_WAIT] = 4, [OP_WAIT2] = 5,
	[OP_WAITFD] = 3, [OP_CAPS] = 2, [OP_BADIOC] = 8, [OP_EXPORT] = 5,
	[OP_IMPORT] = 5, [OP_FOREIGN] = 3, [OP_GEM_CLOSE] = 8,
	[OP_CLOSE_FD] = 6, [OP_MMAP] = 3, [OP_MAPOP] = 2, [OP_FORK] = 1,
	[OP_GNT] = 1, [OP_LIB] = 2, [OP_STRUCT_RO] = 2,
};

/* Answers seen: [op][errno], errno 0 for success. */
#define HIST_ERRNOS	140
static unsigned long hist[NR_OPS][HIST_ERRNOS];
static unsigned long ioctls;

static void answer(int op, int err, errset allowed)
{
	hist[op][err < HIST_ERRNOS ? err : HIST_ERRNOS - 1]++;
	if (err && (err >= 128 || !(allowed & E(err))))
		fuzz_fail("%s: unexpected errno %d (%s)", op_names[op], err,
			  strerror(err));
}

/* A documented answer, and success or a shortage for a valid request. */
static void answer_valid(int op, int err, errset allowed, bool valid,
			 bool fault_only)
{
	answer(op, err, allowed);
	/*
	 * A forked child shares its parent's DRM files, whose handles the
	 * parent goes on closing and reusing: the child's model of them is
	 * not authoritative, only its answers' errnos are checked.
	 */
	if (in_child)
		valid = fault_only = false;
	if (valid && err && (err >= 128 || !(E(err) & ERR_RESOURCE)))
		fuzz_fail("%s: a valid request failed with %d (%s)",
			  op_names[op], err, strerror(err));
	if (fault_only && err != EFAULT)
		fuzz_fail("%s: a request whose only fault is its pointer gave %d (%s), not EFAULT",
			  op_names[op], err, strerror(err));
}

static int xioctl(int fd, unsigned long cmd, void *arg)
{
	int ret;

	ioctls++;
	ret = ioctl(fd, cmd, arg);
	return ret ? errno : 0;
}

/* ---- memory for arguments: an arena and traps ---- */

#define ARENA_PAGES	16
/* [arena ... ][guard: none] */
static uint8_t *arena;
/* [0: rw][1: ro][2: none] */
static uint8_t *trap;

static void memory_init(void)
{
	arena = mmap(NULL, (ARENA_PAGES + 1) * PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	zc_assert(arena != MAP_FAILED);
	zc_assert_ok(mprotect(arena + ARENA_PAGES * PAGE, PAGE, PROT_NONE));
	trap = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	zc_assert(trap != MAP_FAILED);
	memset(trap, 0, 3 * PAGE);
	zc_assert_ok(mprotect(trap + PAGE, PAGE, PROT_READ));
	zc_assert_ok(mprotect(trap + 2 * PAGE, PAGE, PROT_NONE));
}

/*
 * A pointer for @len bytes of input @src. *@bad tells whether the kernel
 * cannot read all of it.
 */
static uint64_t ptr_in(const void *src, size_t len, bool mutate, bool *bad)
{
	size_t room = ARENA_PAGES * PAGE;
	uint8_t *p;
	size_t k;

	*bad = false;
	if (!mutate || len > room) {
		if (len > room) {
			*bad = true;
			/* Runs off the arena into its guard page. */
			return (uintptr_t)arena;
		}
		p = arena + ((room - len) ? rn(room - len + 1) & ~3UL : 0);
		memcpy(p, src, len);
		return (uintptr_t)p;
	}
	*bad = true;
	switch (rn(8)) {
	case 0:
		return 0;
	case 1:	/* straddles into the guard page */
		k = len > 4 ? 4 * (1 + rn(len / 4 - 1)) : 0;
		p = arena + room - k;
		memcpy(p, src, k);
		return (uintptr_t)p;
	case 2:	/* read-only, then no access */
		k = len > 4 ? 4 * (1 + rn(len / 4 - 1)) : 0;
		if (len > PAGE)
			return (uintptr_t)(trap + 2 * PAGE);
		return (uintptr_t)(trap + 3 * PAGE - PAGE - k);
	case 3:
		return (uintptr_t)(trap + 2 * PAGE + rn(PAGE));
	case 4:	/* kernel half on x86_64 and arm64 */
		return 0xffff800000000000ULL + (rnd() & 0xfffff000);
	case 5:
		return rnd();
	default:
		/* A readable, unaligned copy: not a fault at all. */
		if (len + 1 > room)
			return (uintptr_t)arena;
		*bad = false;
		p = arena + 1 + rn(room - len - 1);
		memcpy(p, src, len);
		return (uintptr_t)p;
	}
}

/* A pointer for @len bytes of output; *@bad: the kernel cannot write it all. */
static uint64_t ptr_out(size_t len, bool mutate, bool *bad)
{
	size_t room = ARENA_PAGES * PAGE;
	size_t k;

	*bad = len > room;
	if (!mutate || len > room)
		return (uintptr_t)(arena + (room > len ? rn(room - len + 1) & ~3UL : 0));
	*bad = true;
	switch (rn(6)) {
	case 0:
		return 0;
	case 1:	/* writable, then read-only */
		k = len > 4 ? 4 * (1 + rn(len / 4 - 1)) : 0;
		if (len > PAGE)
			return (uintptr_t)trap;
		return (uintptr_t)(trap + PAGE - k);
	case 2:
		return (uintptr_t)(trap + PAGE + rn(PAGE / 4) * 4);
	case 3:
		return (uintptr_t)(arena + room - (len > 4 ? 4 * (1 + rn(len / 4 - 1)) : 0));
	case 4:
		return 0xffff800000000000ULL + (rnd() & 0xfffff000);
	default:
		return rnd();
	}
}

/* ---- the objects the fuzzer holds ---- */

#define NFILES	3
#define NSLOTS	4
#define NOBJS	64
#define NFDS	32
#define NMAPS	16
#define NWAITS	64
#define NKIDS	2

struct slot {
	struct zc_gntalloc ga;
	bool writable;
	bool in_use;
};

enum { K_BUF, K_IMPORT, K_ALIAS, K_VGEM, K_VKMS };

struct obj {
	bool used;
	int kind;
	int file;		/* K_BUF, K_IMPORT, K_ALIAS: index in xfd[] */
	uint32_t handle;
	uint32_t wait;
	int dmabuf;		/* owned by the entry, -1 if none */
	uint32_t pages;
	bool ro;
	/* K_BUF: first ref, to find the frontend's page and compare. */
	uint32_t ref0;
	/* K_IMPORT: the foreign buffer behind it and the grants made. */
	int foreign;
	int granted;		/* -1 none, else TO_REFS2 flags */
	uint64_t granted_dom;
	uint32_t refs0;
};

static int xfd[NFILES];
static int vgem_fd = -1, vkms_fd = -1;
static struct slot slots[NSLOTS];
static struct obj objs[NOBJS];
static int fds[NFDS];
static struct { void *p; size_t len; bool ro; } maps[NMAPS];
static uint32_t waits[NWAITS];
static pid_t kids[NKIDS];
static struct xzc_dev *lib_dev;
static uint32_t max_pages;

static int slot_pick(void)
{
	int i, s = rn(NSLOTS);

	for (i = 0; i < NSLOTS; i++, s = (s + 1) % NSLOTS)
		if (slots[s].in_use)
			return s;
	return -1;
}

static void slot_fill(int s)
{
	static const uint32_t sizes[] = { 1, 2, 3, 4, 8, 16, 33, 64 };
	struct slot *sl = &slots[s];
	uint32_t i;

	sl->writable = !one_in(4);
	if (zc_gntalloc_alloc(&sl->ga, 0, sizes[rn(8)], sl->writable))
		return;
	sl->in_use = true;
	if (sl->ga.map)
		for (i = 0; i < sl->ga.count; i++)
			memset(sl->ga.map + (size_t)i * PAGE, (int)(sl->ga.refs[i] & 0xff), PAGE);
}

static void slot_free(int s)
{
	if (!slots[s].in_use)
		return;
	zc_gntalloc_free(&slots[s].ga);
	slots[s].in_use = false;
}

/* The byte every page granted as @ref holds, -1 if it is not ours now. */
static int ref_byte(uint32_t ref, uint8_t **page)
{
	int s;
	uint32_t i;

	for (s = 0; s < NSLOTS; s++) {
		if (!slots[s].in_use || !slots[s].ga.map)
			continue;
		for (i = 0; i < slots[s].ga.count; i++)
			if (slots[s].ga.refs[i] == ref) {
				*page = slots[s].ga.map + (size_t)i * PAGE;
				return ref & 0xff;
			}
	}
	return -1;
}

static int obj_new(void)
{
	int i;

	for (i = 0; i < NOBJS; i++)
		if (!objs[i].used) {
			memset(&objs[i], 0, sizeof(objs[i]));
			objs[i].used = true;
			objs[i].dmabuf = -1;
			objs[i].foreign = -1;
			objs[i].granted = -1;
			return i;
		}
	return -1;
}

/* A used entry of one of the kinds in @kinds (bit mask), or -1. */
static int obj_pick(unsigned int kinds)
{
	int i, o = rn(NOBJS);

	for (i = 0; i < NOBJS; i++, o = (o + 1) % NOBJS)
		if (objs[o].used && (kinds & (1u << objs[o].kind)))
			return o;
	return -1;
}

static void fd_keep(int fd)
{
	int i;

	for (i = 0; i < NFDS; i++)
		if (fds[i] < 0) {
			fds[i] = fd;
			return;
		}
	close(fd);
}

static void wait_keep(uint32_t w)
{
	waits[rn(NWAITS)] = w;
}

/* Drops entry @o; its GEM handle is closed with @close_handle. */
static void obj_drop(int o, bool close_handle)
{
	struct obj *ob = &objs[o];
	int fd = -1;

	if (ob->kind == K_VGEM)
		fd = vgem_fd;
	else if (ob->kind == K_VKMS)
		fd = vkms_fd;
	else if (ob->file >= 0)
		fd = xfd[ob->file];
	if (close_handle && fd >= 0)
		zc_gem_close(fd, ob->handle);
	if (ob->dmabuf >= 0)
		close(ob->dmabuf);
	if (ob->wait)
		wait_keep(ob->wait);
	ob->used = false;
}

static int file_pick(void)
{
	int i, f = rn(NFILES);

	for (i = 0; i < NFILES; i++, f = (f + 1) % NFILES)
		if (xfd[f] >= 0)
			return f;
	return -1;
}

static void file_close(int f)
{
	int o;

	for (o = 0; o < NOBJS; o++)
		if (objs[o].used && objs[o].file == f &&
		    (objs[o].kind == K_BUF || objs[o].kind == K_IMPORT ||
		     objs[o].kind == K_ALIAS))
			obj_drop(o, false);
	close(xfd[f]);
	xfd[f] = -1;
}

/* ---- steps ---- */

static void step_open(void)
{
	int f = rn(NFILES);

	if (xfd[f] >= 0)
		return;
	xfd[f] = zc_xen_open();
	note("open file %d: %d", f, xfd[f]);
	if (xfd[f] < 0)
		fuzz_fail("cannot open the driver again");
}

static void step_close_file(void)
{
	int f = file_pick();

	note("close file %d", f);
	/* One file stays, so that most steps have one. */
	if (f >= 0 && (xfd[(f + 1) % NFILES] >= 0 || xfd[(f + 2) % NFILES] >= 0))
		file_close(f);
}

static const uint32_t odd_domids[] = { 1, 5, 0x7fef, 0x7ff0, 0x7ff2, 0x7ff4, 0xffff };

static uint64_t odd_domid64(void)
{
	switch (rn(4)) {
	case 0:
		return 1ULL << 32;
	case 1:
		return ~0ULL;
	default:
		return odd_domids[rn(7)];
	}
}

static uint32_t odd_u32(void)
{
	static const uint32_t v[] = { 0, 1, 2, 3, 7, 63, 64, 65, 4095, 4096,
				      16383, 16384, 16385, 65535, 65536,
				      65537, 0x7fffffff, 0x80000000,
				      0xfffffffe, 0xffffffff };

	return one_in(4) ? (uint32_t)rnd() : v[rn(20)];
}

/*
 * Refs for a request: @n refs of a slot from a random start. Returns the
 * slot, -1 if there is none.
 */
static int refs_valid(uint32_t *refs, uint32_t *n)
{
	int s = slot_pick();
	uint32_t start;

	if (s < 0)
		return -1;
	*n = 1 + rn(slots[s].ga.count);
	start = rn(slots[s].ga.count - *n + 1);
	memcpy(refs, slots[s].ga.refs + start, *n * sizeof(uint32_t));
	return s;
}

/* Spoils the refs: returns true if the change may make them invalid. */
static bool refs_mutate(uint32_t *refs, uint32_t n)
{
	uint32_t i = rn(n);
	int s;

	switch (rn(5)) {
	case 0:
		refs[i] = 0;
		return true;
	case 1:
		refs[i] = (uint32_t)rnd() % 70000;
		return true;
	case 2:	/* the same page twice: still valid */
		refs[i] = refs[rn(n)];
		return false;
	case 3:	/* a page of another slot, maybe read-only */
		s = slot_pick();
		if (s >= 0)
			refs[i] = slots[s].ga.refs[rn(slots[s].ga.count)];
		return s >= 0 && !slots[s].writable;
	default:
		refs[i] = ~0u;
		return true;
	}
}

/* The frontend's bytes, seen through a new mapping of @dmabuf. */
static void check_bytes(int dmabuf, uint32_t ref0)
{
	uint8_t *page, *p;
	int want = ref_byte(ref0, &page);

	if (want < 0 || in_child)
		return;
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, dmabuf, 0);
	if (p == MAP_FAILED)
		fuzz_fail("mmap of a new dma-buf: %s", strerror(errno));
	/* The frontend may have written since the fill: compare with it now. */
	if (p[0] != page[0] || p[PAGE - 1] != page[PAGE - 1])
		fuzz_fail("dma-buf shows %#x/%#x, the granted page holds %#x/%#x",
			  p[0], p[PAGE - 1], page[0], page[PAGE - 1]);
	munmap(p, PAGE);
}

static void add_buf(int f, uint32_t handle, uint32_t wait, uint32_t pages,
		    int dmabuf, bool ro, uint32_t ref0)
{
	int o = obj_new();

	if (o < 0) {
		/* Full: the buffer goes again at once. */
		zc_gem_close(xfd[f], handle);
		if (dmabuf >= 0)
			close(dmabuf);
		wait_keep(wait);
		return;
	}
	objs[o].kind = K_BUF;
	objs[o].file = f;
	objs[o].handle = handle;
	objs[o].wait = wait;
	objs[o].pages = pages;
	objs[o].dmabuf = dmabuf;
	objs[o].ro = ro;
	objs[o].ref0 = ref0;
}

/*
 * Refs of a request: ptr_in() copies as many as the request claims, up
 * to the arena's size, so what follows the valid ones is old refs.
 */
static uint32_t req_refs[ARENA_PAGES * PAGE / 4];

static void step_from_refs(void)
{
	static const uint32_t bpps[] = { 8, 16, 24, 32, 0, 1, 15, 33, 64 };
	struct drm_xen_zcopy_dumb_from_refs r = { 0 };
	uint32_t *refs = req_refs, n;
	bool bad_ptr = false, mutated = false, ptr_mut;
	int f = file_pick(), s, err, m;

	s = refs_valid(refs, &n);
	if (f < 0 || s < 0)
		return;
	r.num_grefs = n;
	r.dumb.width = PAGE / 4;
	r.dumb.height = n;
	r.dumb.bpp = 32;
	if (one_in(2)) {
		r.dumb.width = 64;
		r.dumb.height = n * 16;
	}
	for (m = rn(3) ? 0 : 1 + rn(3); m > 0; m--) {
		bool mut = true;

		switch (rn(8)) {
		case 0:
			r.dumb.width = odd_u32();
			break;
		case 1:
			r.dumb.height = odd_u32();
			break;
		case 2:
			r.dumb.bpp = bpps[rn(9)];
			break;
		case 3:
			r.dumb.flags = 1u << rn(32);
			break;
		case 4:
			r.otherend_id = odd_domid64();
			break;
		case 5:
			r.num_grefs = one_in(2) ? odd_u32() : n + 1 + rn(4);
			break;
		case 6:
			mut = refs_mutate(refs, n);
			break;
		default:
			r.num_grefs = max_pages + 1;
			break;
		}
		mutated |= mut;
	}
	ptr_mut = one_in(8);
	r.grefs = (uint32_t *)(uintptr_t)ptr_in(refs, (size_t)r.num_grefs * 4 > 0x100000 ?
						0x100000 : (size_t)r.num_grefs * 4,
						ptr_mut, &bad_ptr);
	if (r.num_grefs > n && !bad_ptr)
		mutated = true;	/* reads arena garbage beyond the refs */
	err = xioctl(xfd[f], DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS, &r);
	note("from_refs f%d n%u/%u %ux%ux%u fl%#x dom%#llx ptr%s mut%d: %d", f,
	     r.num_grefs, n, r.dumb.width, r.dumb.height, r.dumb.bpp,
	     r.dumb.flags, (unsigned long long)r.otherend_id,
	     bad_ptr ? "bad" : "ok", mutated, err);
	answer_valid(OP_FROM, err, ERR_FROM,
		     !mutated && !bad_ptr && slots[s].writable,
		     !mutated && bad_ptr && slots[s].writable && r.num_grefs);
	if (err)
		return;
	if (r.dumb.size != (uint64_t)r.num_grefs * PAGE || !r.dumb.handle ||
	    !r.wait_handle)
		fuzz_fail("from_refs: size %llu handle %u wait %u for %u refs",
			  (unsigned long long)r.dumb.size, r.dumb.handle,
			  r.wait_handle, r.num_grefs);
	add_buf(f, r.dumb.handle, r.wait_handle, r.num_grefs, -1, false,
		((uint32_t *)(uintptr_t)r.grefs)[0]);
}

static void step_from_refs2(void)
{
	static const uint32_t fourccs[] = {
		DRM_FORMAT_XRGB8888, DRM_FORMAT_ARGB8888, DRM_FORMAT_RGB565,
		DRM_FORMAT_NV12, DRM_FORMAT_YUV420, DRM_FORMAT_C8,
		DRM_FORMAT_RGB888, 0, 0x20202020,
	};
	struct drm_xen_zcopy_from_refs2 r = { 0 };
	uint32_t *refs = req_refs, n, i;
	bool bad_ptr = false, mutated = false, ro;
	int f = file_pick(), s, err, m;

	s = refs_valid(refs, &n);
	if (f < 0 || s < 0)
		return;
	ro = !slots[s].writable || one_in(4);
	r.num_grefs = n;
	r.fourcc = DRM_FORMAT_XRGB8888;
	r.width = 64;
	r.height = n * 16 - 1;
	r.pitches[0] = 256;
	r.offsets[0] = rn(2) * 128;
	r.flags = (ro ? DRM_XEN_ZCOPY_FROM_REFS2_READ_ONLY : 0) |
		  (rn(3) ? DRM_XEN_ZCOPY_FROM_REFS2_DMABUF_FD : 0);
	for (m = rn(3) ? 0 : 1 + rn(3); m > 0; m--) {
		bool mut = true;

		switch (rn(12)) {
		case 0:
			r.width = odd_u32();
			break;
		case 1:
			r.height = odd_u32();
			break;
		case 2:
			r.fourcc = fourccs[rn(9)];
			break;
		case 3:
			r.flags |= 1u << rn(32);
			break;
		case 4:
			r.domid = one_in(2) ? odd_u32() : odd_domids[rn(7)];
			break;
		case 5:
			r.num_grefs = one_in(2) ? odd_u32() : n + 1 + rn(4);
			break;
		case 6:
			mut = refs_mutate(refs, n);
			break;
		case 7:
			i = rn(4);
			r.pitches[i] = odd_u32();
			break;
		case 8:
			i = rn(4);
			r.offsets[i] = odd_u32();
			break;
		case 9:
			if (one_in(2))
				r.pad = 1;
			else
				r.reserved[rn(4)] = rnd() | 1;
			break;
		case 10:
			r.flags &= ~DRM_XEN_ZCOPY_FROM_REFS2_READ_ONLY;
			mut = !slots[s].writable;
			break;
		default:
			/* Fields the driver writes: anything in may not matter. */
			r.size = rnd();
			r.handle = rnd();
			r.dmabuf_fd = rnd();
			r.wait_handle = rnd();
			mut = false;
			break;
		}
		mutated |= mut;
	}
	r.grefs = ptr_in(refs, (size_t)r.num_grefs * 4 > 0x100000 ? 0x100000 :
			 (size_t)r.num_grefs * 4, one_in(8), &bad_ptr);
	if (r.num_grefs > n && !bad_ptr)
		mutated = true;
	err = xioctl(xfd[f], DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, &r);
	note("from_refs2 f%d n%u/%u %.4s %ux%u p%u o%u fl%#x dom%u ptr%s mut%d: %d",
	     f, r.num_grefs, n, (char *)&r.fourcc, r.width, r.height,
	     r.pitches[0], r.offsets[0], r.flags, r.domid,
	     bad_ptr ? "bad" : "ok", mutated, err);
	/* Contiguous buffers exist on auto-translated Dom0 only. */
	answer_valid(OP_FROM2, err, ERR_FROM2 |
		     (r.flags & DRM_XEN_ZCOPY_FROM_REFS2_CONTIGUOUS ? E(EOPNOTSUPP) : 0),
		     !mutated && !bad_ptr, !mutated && bad_ptr && r.num_grefs);
	if (err)
		return;
	if (r.size != (uint64_t)r.num_grefs * PAGE || !r.handle || !r.wait_handle ||
	    ((r.flags & DRM_XEN_ZCOPY_FROM_REFS2_DMABUF_FD) ? r.dmabuf_fd < 0 :
	     r.dmabuf_fd != -1))
		fuzz_fail("from_refs2: size %llu handle %u wait %u fd %d for %u refs flags %#x",
			  (unsigned long long)r.size, r.handle, r.wait_handle,
			  r.dmabuf_fd, r.num_grefs, r.flags);
	if (r.dmabuf_fd >= 0 && one_in(4))
		check_bytes(r.dmabuf_fd, ((uint32_t *)(uintptr_t)r.grefs)[0]);
	add_buf(f, r.handle, r.wait_handle, r.num_grefs, r.dmabuf_fd,
		r.flags & DRM_XEN_ZCOPY_FROM_REFS2_READ_ONLY,
		((uint32_t *)(uintptr_t)r.grefs)[0]);
}

/* A buffer of vgem or vkms, exported and imported into a file of ours. */
static void step_foreign(void)
{
	int f = file_pick(), dev = (vkms_fd >= 0 && one_in(4)) ? vkms_fd : vgem_fd;
	struct zc_dumb d;
	int o, fo, dmabuf, err;
	uint32_t h;

	if (f < 0 || dev < 0)
		return;
	err = -zc_dumb_create(dev, 16 + rn(1024), 1 + rn(64), 32, &d);
	note("foreign on %s: %d", dev == vgem_fd ? "vgem" : "vkms", err);
	if (err)
		fuzz_fail("dumb buffer of %s: %s", dev == vgem_fd ? "vgem" : "vkms",
			  strerror(err));
	err = -zc_prime_export(dev, d.handle, &dmabuf);
	answer(OP_EXPORT, err, 0);
	fo = obj_new();
	if (fo < 0) {
		close(dmabuf);
		zc_gem_close(dev, d.handle);
		return;
	}
	objs[fo].kind = dev == vgem_fd ? K_VGEM : K_VKMS;
	objs[fo].handle = d.handle;
	objs[fo].file = -1;
	objs[fo].dmabuf = dmabuf;
	objs[fo].pages = d.size / PAGE;

	err = -zc_prime_import(xfd[f], dmabuf, &h);
	ioctls += 3;
	answer(OP_IMPORT, err, E(ENOMEM));
	if (err)
		return;
	o = obj_new();
	if (o < 0) {
		zc_gem_close(xfd[f], h);
		return;
	}
	objs[o].kind = K_IMPORT;
	objs[o].file = f;
	objs[o].handle = h;
	objs[o].pages = objs[fo].pages;
	objs[o].foreign = fo;
}

/* The entry of GEM handle @handle on file @f, -1 if we do not know it. */
static int obj_find(int f, uint32_t handle)
{
	int o;

	for (o = 0; o < NOBJS; o++)
		if (objs[o].used && objs[o].file == f && objs[o].handle == handle &&
		    objs[o].kind != K_VGEM && objs[o].kind != K_VKMS)
			return o;
	return -1;
}

static void step_to_refs(bool v2)
{
	struct obj *ob = NULL;
	uint32_t handle, n = 0, flags = 0;
	bool bad_ptr = false, mutated = false, valid, same;
	int o = obj_pick(1u << K_IMPORT), f = file_pick(), err, m;
	uint64_t domid = 0, ptr;
	uint32_t *out;

	if (f < 0)
		return;
	if (o >= 0 && !one_in(8)) {
		ob = &objs[o];
		f = ob->file;
		handle = ob->handle;
		n = ob->pages;
	} else {
		/* Our own buffer, or no buffer at all. */
		o = obj_pick(1u << K_BUF | 1u << K_ALIAS);
		handle = o >= 0 && objs[o].file == f && !one_in(3) ? objs[o].handle :
			 odd_u32();
		n = o >= 0 ? objs[o].pages : 1;
		mutated = true;
	}
	if (v2 && one_in(4))
		flags = DRM_XEN_ZCOPY_TO_REFS2_READ_ONLY;
	for (m = rn(3) ? 0 : 1 + rn(2); m > 0; m--) {
		mutated = true;
		switch (rn(v2 ? 5 : 3)) {
		case 0:
			n = one_in(2) ? odd_u32() : n + 1 - 2 * rn(2);
			break;
		case 1:
			domid = v2 ? odd_domids[rn(7)] : odd_domid64();
			break;
		case 2:
			handle ^= 1u << rn(4);
			break;
		case 3:
			flags |= 1u << rn(32);
			break;
		default:
			flags = ~0u;
			break;
		}
	}
	ptr = ptr_out((size_t)n * 4 > 0x100000 ? 0x100000 : (size_t)n * 4,
		      one_in(8), &bad_ptr);
	out = (uint32_t *)(uintptr_t)ptr;
	/* Whatever the request became, it may be one for a buffer we hold. */
	o = obj_find(f, handle);
	ob = o >= 0 && objs[o].kind == K_IMPORT ? &objs[o] : NULL;
	/* A second grant to another domain or with other flags is -EBUSY. */
	same = ob && (ob->granted < 0 ||
		      (ob->granted == (int)flags && ob->granted_dom == domid));
	/* So is one through another import of the same dma-buf. */
	for (m = 0; same && m < NOBJS; m++)
		if (objs[m].used && objs[m].kind == K_IMPORT && &objs[m] != ob &&
		    objs[m].foreign == ob->foreign && objs[m].granted >= 0)
			same = false;
	valid = !mutated && !bad_ptr && same;
	if (v2) {
		struct drm_xen_zcopy_to_refs2 r = {
			.grefs = ptr, .num_grefs = n, .domid = domid,
			.handle = handle, .flags = flags,
		};

		if (one_in(16)) {
			r.reserved[rn(2)] = 1;
			valid = false;
			mutated = true;
		}
		err = xioctl(xfd[f], DRM_IOCTL_XEN_ZCOPY_TO_REFS2, &r);
	} else {
		struct drm_xen_zcopy_dumb_to_refs r = {
			.grefs = out, .num_grefs = n, .otherend_id = domid,
			.handle = handle,
		};

		err = xioctl(xfd[f], DRM_IOCTL_XEN_ZCOPY_DUMB_TO_REFS, &r);
	}
	note("to_refs%s f%d h%u n%u dom%#llx fl%#x ptr%s mut%d: %d", v2 ? "2" : "",
	     f, handle, n, (unsigned long long)domid, flags,
	     bad_ptr ? "bad" : "ok", mutated, err);
	/*
	 * -EBUSY: the dma-buf is granted through another import, a forked
	 * child's, or one whose revocation the driver has not finished
	 * (the deferred path): the model does not follow all of those.
	 */
	if (err == EBUSY)
		valid = false;
	answer_valid(v2 ? OP_TO2 : OP_TO, err, ERR_TO, valid,
		     !mutated && bad_ptr && n && same && err != EBUSY);
	if (err || !ob)
		return;
	if (!ob->pages || n != ob->pages)
		fuzz_fail("to_refs of %u refs succeeded for a %u-page buffer", n,
			  ob->pages);
	/* Again for the same domain and flags: the same refs. */
	if (ob->granted >= 0 && out[0] != ob->refs0)
		fuzz_fail("to_refs again gave ref %u, first time %u", out[0],
			  ob->refs0);
	if (ob->granted >= 0 && (ob->granted != (int)flags || ob->granted_dom != domid))
		fuzz_fail("to_refs for dom %llu flags %#x succeeded on a buffer granted to %llu with %#x",
			  (unsigned long long)domid, flags,
			  (unsigned long long)ob->granted_dom, ob->granted);
	ob->granted = flags;
	ob->granted_dom = domid;
	ob->refs0 = out[0];
}

static uint32_t any_wait(int *f)
{
	int o = obj_pick(1u << K_BUF);

	*f = file_pick();
	if (o >= 0 && rn(3)) {
		if (objs[o].file >= 0 && !one_in(8))
			*f = objs[o].file;
		return objs[o].wait;
	}
	return one_in(2) ? waits[rn(NWAITS)] : odd_u32();
}

static void step_wait(void)
{
	int f, err;
	uint32_t w = any_wait(&f);
	struct drm_xen_zcopy_dumb_wait_free r = { .wait_handle = w,
						  .wait_to_ms = rn(3) };

	if (f < 0)
		return;
	err = xioctl(xfd[f], DRM_IOCTL_XEN_ZCOPY_DUMB_WAIT_FREE, &r);
	note("wait_free f%d w%u: %d", f, w, err);
	answer(OP_WAIT, err, ERR_WAIT);
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void step_wait2(void)
{
	int f, err;
	uint32_t w = any_wait(&f);
	struct drm_xen_zcopy_wait_free2 r = { .wait_handle = w };
	bool bad = false;

	if (f < 0)
		return;
	switch (rn(4)) {
	case 0:
		r.deadline_ns = mono_ns() + 1000000;
		break;
	case 1:
		r.deadline_ns = INT64_MIN;
		break;
	default:
		r.deadline_ns = rn(2) ? 0 : (int64_t)rnd();
		if (r.deadline_ns > mono_ns() + 2000000)
			r.deadline_ns = mono_ns();
		break;
	}
	if (one_in(8)) {
		bad = true;
		switch (rn(3)) {
		case 0:
			r.flags = 1u << rn(32);
			break;
		case 1:
			r.pad = 1;
			break;
		default:
			r.reserved[rn(2)] = 1;
			break;
		}
	}
	r.status = rnd();
	err = xioctl(xfd[f], DRM_IOCTL_XEN_ZCOPY_WAIT_FREE2, &r);
	note("wait_free2 f%d w%u bad%d: %d", f, w, bad, err);
	answer(OP_WAIT2, err, ERR_WAIT2);
	if (bad && err != EINVAL)
		fuzz_fail("wait_free2 with a non-zero flags/pad/reserved: %d", err);
	if (!err && r.status != DRM_XEN_ZCOPY_WAIT_FREED)
		fuzz_fail("wait_free2 returned 0 with status %u", r.status);
}

static void step_wait_fd(void)
{
	int f, err;
	uint32_t w = any_wait(&f);
	struct drm_xen_zcopy_wait_fd r = { .wait_handle = w };
	struct pollfd p;

	if (f < 0)
		return;
	if (one_in(8))
		r.reserved[rn(3)] = 1;
	err = xioctl(xfd[f], DRM_IOCTL_XEN_ZCOPY_WAIT_FD, &r);
	note("wait_fd f%d w%u: %d fd %d", f, w, err, r.fd);
	answer(OP_WAITFD, err, ERR_WAITFD);
	if (err)
		return;
	p = (struct pollfd){ .fd = r.fd, .events = POLLIN };
	if (poll(&p, 1, 0) < 0)
		fuzz_fail("poll of a wait fd: %s", strerror(errno));
	if (p.revents & POLLIN) {
		uint64_t v = 0;

		if (read(r.fd, &v, sizeof(v)) != sizeof(v) || v != 1)
			fuzz_fail("a readable wait fd read %llu", (unsigned long long)v);
	}
	fd_keep(r.fd);
}

static void step_caps(void)
{
	struct drm_xen_zcopy_get_caps c = { 0 };
	bool bad = one_in(3);
	int f = file_pick(), err;

	if (f < 0)
		return;
	if (bad) {
		if (one_in(2))
			c.flags = 1u << rn(32);
		else
			c.reserved[rn(2)] = 1;
	}
	err = xioctl(xfd[f], DRM_IOCTL_XEN_ZCOPY_GET_CAPS, &c);
	note("get_caps bad%d: %d", bad, err);
	answer(OP_CAPS, err, ERR_CAPS);
	if (bad != (err == EINVAL) || (!err && (!(c.caps & DRM_XEN_ZCOPY_CAP_V2) ||
						c.max_pages != max_pages)))
		fuzz_fail("get_caps: %d caps %#llx max_pages %u", err,
			  (unsigned long long)c.caps, c.max_pages);
}

/*
 * An ioctl of the driver's range with a wrong size or direction, a
 * number past its last one, or one of the core's GEM and PRIME calls
 * with garbage; the argument is garbage in the arena or a bad pointer.
 */
static void step_bad_ioctl(void)
{
	static const unsigned int dirs[] = { _IOC_NONE, _IOC_READ, _IOC_WRITE,
					     _IOC_READ | _IOC_WRITE };
	static const unsigned long core[] = {
		DRM_IOCTL_GEM_CLOSE, DRM_IOCTL_PRIME_HANDLE_TO_FD,
		DRM_IOCTL_PRIME_FD_TO_HANDLE, DRM_IOCTL_MODE_MAP_DUMB,
		DRM_IOCTL_MODE_CREATE_DUMB, DRM_IOCTL_MODE_DESTROY_DUMB,
		DRM_IOCTL_GEM_FLINK, DRM_IOCTL_GEM_OPEN, DRM_IOCTL_VERSION,
		DRM_IOCTL_GET_CAP,
	};
	static const unsigned int real_sizes[] = {
		sizeof(struct drm_xen_zcopy_dumb_from_refs),
		sizeof(struct drm_xen_zcopy_dumb_to_refs),
		sizeof(struct drm_xen_zcopy_dumb_wait_free),
		sizeof(struct drm_xen_zcopy_get_caps),
		sizeof(struct drm_xen_zcopy_from_refs2),
		sizeof(struct drm_xen_zcopy_to_refs2),
		sizeof(struct drm_xen_zcopy_wait_free2),
		sizeof(struct drm_xen_zcopy_wait_fd),
	};
	unsigned long cmd;
	unsigned int nr, size, i;
	int f = file_pick(), err;
	uint8_t *arg = arena + (rn(ARENA_PAGES * PAGE - 512) & ~7UL);
	bool bad;

	if (f < 0)
		return;
	for (i = 0; i < 512; i += 8)
		*(uint64_t *)(arg + i) = one_in(2) ? rnd() : rnd() & 0xff;
	switch (rn(4)) {
	case 0:
		cmd = core[rn(10)];
		/* Not GEM_OPEN of a random name: a handle we would not know. */
		if (cmd == DRM_IOCTL_GEM_OPEN || cmd == DRM_IOCTL_MODE_CREATE_DUMB)
			cmd = DRM_IOCTL_GEM_FLINK;
		break;
	case 1:
		nr = DRM_COMMAND_BASE + 8 + rn(0x60 - 8);
		cmd = _IOC(dirs[rn(4)], DRM_IOCTL_BASE, nr, rn(256));
		break;
	default:
		/* One of ours with another size or direction. */
		nr = rn(8);
		do {
			size = one_in(2) ? real_sizes[nr] + 4 - 8 * rn(2) :
				rn(200);
		} while (size == real_sizes[nr]);
		cmd = _IOC(one_in(3) ? dirs[rn(4)] : _IOC_READ | _IOC_WRITE,
			   DRM_IOCTL_BASE, DRM_COMMAND_BASE + nr,
			   one_in(8) ? real_sizes[nr] : size);
		if (cmd == (unsigned long)_IOC(_IOC_READ | _IOC_WRITE,
					       DRM_IOCTL_BASE,
					       DRM_COMMAND_BASE + nr,
					       real_sizes[nr]))
			cmd = _IOC(_IOC_WRITE, DRM_IOCTL_BASE,
				   DRM_COMMAND_BASE + nr, real_sizes[nr]);
		break;
	}
	/* Nor close one we hold. */
	if (cmd == DRM_IOCTL_GEM_CLOSE || cmd == DRM_IOCTL_MODE_DESTROY_DUMB)
		*(uint32_t *)arg = 0x40000000 | (uint32_t)rnd();
	bad = one_in(4);
	if (bad)
		arg = (uint8_t *)(uintptr_t)(one_in(2) ? (uintptr_t)(trap + 2 * PAGE) :
					     (uintptr_t)(arena + ARENA_PAGES * PAGE - rn(64)));
	/* drm_ioctl() rejects a command with a type of its own: keep the driver's. */
	err = xioctl(xfd[f], cmd, arg);
	note("bad ioctl f%d cmd %#lx bad%d: %d", f, cmd, bad, err);
	answer(OP_BADIOC, err, ERR_BADIOC);
	/* The core's mode ioctls lie above the drivers' range. */
	if (!err && _IOC_NR(cmd) >= DRM_COMMAND_BASE && _IOC_NR(cmd) < DRM_COMMAND_END)
		fuzz_fail("ioctl %#lx of a wrong size or number succeeded", cmd);
	if (!err && cmd == DRM_IOCTL_PRIME_HANDLE_TO_FD) {
		int fd = ((struct drm_prime_handle *)arg)->fd;

		if (fd >= 0)
			fd_keep(fd);
	}
	if (!err && cmd == DRM_IOCTL_PRIME_FD_TO_HANDLE)
		/* An import we do not track: it goes with its file. */
		ioctls++;
}

static void step_export(void)
{
	int o = obj_pick(1u << K_BUF | 1u << K_ALIAS | 1u << K_IMPORT), err;
	struct drm_prime_handle p = { 0 };
	int f = file_pick();

	if (f < 0)
		return;
	/*
	 * A forked child's inherited buffers have no file (the handles were
	 * the parent's): a handle at random, whose dma-buf is not theirs.
	 */
	if (o >= 0 && objs[o].file < 0)
		o = -1;
	p.handle = o >= 0 ? objs[o].handle : odd_u32();
	if (o >= 0)
		f = objs[o].file;
	p.flags = DRM_CLOEXEC | (rn(3) ? DRM_RDWR : 0);
	if (one_in(10))
		p.flags |= 1u << rn(32);
	err = xioctl(xfd[f], DRM_IOCTL_PRIME_HANDLE_TO_FD, &p);
	note("export f%d h%u fl%#x: %d", f, p.handle, p.flags, err);
	answer(OP_EXPORT, err, ERR_EXPORT);
	if (err)
		return;
	if (o >= 0 && objs[o].kind == K_BUF && one_in(4))
		check_bytes(p.fd, objs[o].ref0);
	if (o >= 0 && objs[o].dmabuf < 0)
		objs[o].dmabuf = p.fd;
	else
		fd_keep(p.fd);
}

/* A dma-buf of ours into another file, vgem or vkms. */
static void step_import(void)
{
	int o = obj_pick(1u << K_BUF | 1u << K_VGEM | 1u << K_VKMS), f, err, n;
	int dev, kind, from;
	uint32_t h;

	if (o < 0 || objs[o].dmabuf < 0)
		return;
	f = file_pick();
	switch (rn(3)) {
	case 0:
		dev = vgem_fd;
		kind = K_VGEM;
		break;
	case 1:
		dev = vkms_fd;
		kind = K_VKMS;
		break;
	default:
		dev = f >= 0 ? xfd[f] : -1;
		kind = objs[o].kind == K_BUF ? K_ALIAS : K_IMPORT;
		break;
	}
	if (dev < 0)
		return;
	from = objs[o].dmabuf;
	if (one_in(10)) {
		int g = file_pick();

		from = one_in(2) && g >= 0 ? xfd[g] : 1000 + (int)rn(10);
	}
	err = -zc_prime_import(dev, from, &h);
	ioctls++;
	note("import of obj %d into %d: %d", o, kind, err);
	answer(OP_IMPORT, err, ERR_IMPORT);
	if (!err && from != objs[o].dmabuf)
		fuzz_fail("import of fd %d that is no dma-buf succeeded", from);
	if (err)
		return;
	/* The same dma-buf again on the same file is the same handle. */
	for (n = 0; n < NOBJS; n++)
		if (objs[n].used && objs[n].handle == h &&
		    objs[n].kind == kind && (kind == K_VGEM || kind == K_VKMS ||
					     objs[n].file == f))
			return;
	if (kind == K_IMPORT || kind == K_ALIAS) {
		for (n = 0; n < NOBJS; n++)
			if (objs[n].used && objs[n].handle == h && objs[n].file == f &&
			    objs[n].kind != K_VGEM && objs[n].kind != K_VKMS)
				return;
	}
	n = obj_new();
	if (n < 0) {
		zc_gem_close(dev, h);
		return;
	}
	objs[n].kind = kind;
	objs[n].file = (kind == K_VGEM || kind == K_VKMS) ? -1 : f;
	objs[n].handle = h;
	objs[n].pages = objs[o].pages;
	objs[n].ro = objs[o].ro;
	if (kind == K_IMPORT)
		objs[n].foreign = o;
}

static void step_gem_close(void)
{
	int o = obj_pick(0x1f), f = file_pick(), err;

	if (o < 0 || one_in(8)) {
		struct drm_gem_close c = { .handle = odd_u32() };

		/* Not one we hold: later requests on it must stay valid. */
		if (f < 0 || obj_find(f, c.handle) >= 0)
			return;
		err = xioctl(xfd[f], DRM_IOCTL_GEM_CLOSE, &c);
		note("gem close f%d h%u: %d", f, c.handle, err);
		/* Maybe a handle a bad ioctl made. */
		answer(OP_GEM_CLOSE, err, E(EINVAL));
		return;
	}
	note("gem close obj %d kind %d h%u", o, objs[o].kind, objs[o].handle);
	obj_drop(o, true);
	hist[OP_GEM_CLOSE][0]++;
	ioctls++;
}

static void step_close_fd(void)
{
	int i = rn(NFDS), o;

	if (fds[i] >= 0 && one_in(2)) {
		note("close fd %d", fds[i]);
		close(fds[i]);
		fds[i] = -1;
		return;
	}
	o = obj_pick(0x1f);
	if (o >= 0 && objs[o].dmabuf >= 0) {
		note("close dma-buf of obj %d", o);
		close(objs[o].dmabuf);
		objs[o].dmabuf = -1;
	}
}

static void map_keep(void *p, size_t len, bool ro)
{
	int i = rn(NMAPS);

	if (maps[i].p)
		munmap(maps[i].p, maps[i].len);
	maps[i].p = p;
	maps[i].len = len;
	maps[i].ro = ro;
}

static void step_mmap(void)
{
	int o = obj_pick(1u << K_BUF | 1u << K_VGEM | 1u << K_ALIAS), fd, err = 0;
	int prot = rn(2) ? PROT_READ : PROT_READ | PROT_WRITE;
	size_t len, size;
	off_t off = 0, base_off = 0;
	bool ours;
	uint8_t *p;

	if (o < 0)
		return;
	ours = objs[o].kind == K_BUF || objs[o].kind == K_ALIAS;
	size = (size_t)objs[o].pages * PAGE;
	len = (size_t)(1 + rn(objs[o].pages + 1)) * PAGE;
	if (one_in(4))
		off = (off_t)rn(objs[o].pages + 1) * PAGE;
	if (objs[o].dmabuf >= 0 && rn(2)) {
		fd = objs[o].dmabuf;
	} else if (ours && objs[o].file >= 0) {
		struct drm_mode_map_dumb m = { .handle = objs[o].handle };

		fd = xfd[objs[o].file];
		err = xioctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &m);
		note("map_dumb obj %d: %d", o, err);
		answer(OP_MMAP, err, 0);
		base_off = m.offset;
	} else {
		return;
	}
	p = mmap(NULL, len, prot, one_in(16) ? MAP_PRIVATE : MAP_SHARED, fd,
		 base_off + off);
	err = p == MAP_FAILED ? errno : 0;
	note("mmap obj %d len %zu off %#llx prot %d: %d", o, len,
	     (unsigned long long)off, prot, err);
	answer(OP_MMAP, err, ERR_MMAP);
	/*
	 * Past the first page of a MODE_MAP_DUMB offset lies the next
	 * object's offset range, which may be another buffer of this file.
	 */
	if (off && fd != objs[o].dmabuf) {
		/* Whose pages they are is unknown: not checked as read-only. */
		if (!err)
			map_keep(p, len, false);
		return;
	}
	if (ours && objs[o].ro && (prot & PROT_WRITE) && !err)
		fuzz_fail("a writable mapping of a read-only buffer");
	if (err)
		return;
	/* The model's size against the kernel's (lseek of the dma-buf). */
	if (fd == objs[o].dmabuf) {
		off_t real = lseek(fd, 0, SEEK_END);

		if (real >= 0 && (size_t)real != size)
			fuzz_fail("a %u-page buffer's dma-buf has %lld bytes",
				  objs[o].pages, (long long)real);
	}
	if ((size_t)off + len > size)
		fuzz_fail("mmap of %zu bytes at %lld of a %zu-byte buffer succeeded",
			  len, (long long)off, size);
	/* The bytes the frontend granted. */
	if (ours && !in_child && off == 0) {
		uint8_t *page;
		int want = ref_byte(objs[o].ref0, &page);

		if (want >= 0 && (p[0] != page[0] || p[PAGE - 1] != page[PAGE - 1]))
			fuzz_fail("mapping shows %#x/%#x, granted page %#x/%#x",
				  p[0], p[PAGE - 1], page[0], page[PAGE - 1]);
	}
	(void)*(volatile uint8_t *)(p + len - 1);
	if (prot & PROT_WRITE)
		p[len - 1] = p[len - 1];
	map_keep(p, len, ours && objs[o].ro);
}

static void step_mapop(void)
{
	int i = rn(NMAPS), err;
	size_t len;
	void *p;

	if (!maps[i].p)
		return;
	switch (rn(3)) {
	case 0:
		note("munmap %p", maps[i].p);
		munmap(maps[i].p, maps[i].len);
		maps[i].p = NULL;
		break;
	case 1:
		/* Grows, moves or shrinks: a buffer's mapping may refuse. */
		len = PAGE * (1 + rn(4));
		p = mremap(maps[i].p, maps[i].len, len, MREMAP_MAYMOVE);
		err = p == MAP_FAILED ? errno : 0;
		note("mremap %p %zu -> %zu: %d", maps[i].p, maps[i].len, len, err);
		answer(OP_MAPOP, err, E(EFAULT) | E(ENOMEM) | E(EINVAL));
		if (!err) {
			maps[i].p = p;
			maps[i].len = len;
		}
		break;
	default:
		err = mprotect(maps[i].p, maps[i].len, PROT_READ | PROT_WRITE) ? errno : 0;
		note("mprotect %p rw: %d", maps[i].p, err);
		answer(OP_MAPOP, err, E(EACCES));
		if (!err && maps[i].ro)
			fuzz_fail("a mapping of a read-only buffer became writable");
		break;
	}
}

static void step_gnt(void)
{
	int s = rn(NSLOTS);

	if (in_child)
		return;
	note("gntalloc slot %d again", s);
	/* The driver may still map the refs: gntalloc ends them after. */
	slot_free(s);
	slot_fill(s);
}

static void step_lib(void)
{
	struct xzc_geometry g = { DRM_FORMAT_XRGB8888, 64, 16, { 256 }, { 0 } };
	struct xzc_buffer b;
	uint32_t refs[64], n;
	int s, err;

	if (!lib_dev) {
		err = -xzc_open(&lib_dev, 0);
		note("xzc_open: %d", err);
		if (err)
			fuzz_fail("xzc_open: %s", strerror(err));
		return;
	}
	switch (rn(4)) {
	case 0:
		s = refs_valid(refs, &n);
		if (s < 0)
			return;
		g.height = n * 16;
		if (one_in(3))
			g.width = odd_u32();
		err = -xzc_from_refs(lib_dev, refs, n, 0, &g,
				     slots[s].writable ? 0 : XZC_FROM_REFS_READ_ONLY,
				     &b);
		ioctls++;
		note("xzc_from_refs n%u w%u: %d", n, g.width, err);
		answer(OP_LIB, err, ERR_FROM2 | E(EOPNOTSUPP));
		if (!err) {
			wait_keep(b.wait_handle);
			if (one_in(2))
				xzc_close_handle(lib_dev, b.handle);
			fd_keep(b.dmabuf_fd);
		}
		break;
	case 1:
		err = -xzc_wait_free(lib_dev, waits[rn(NWAITS)],
				     one_in(2) ? 0 : xzc_deadline_ms(1));
		ioctls++;
		note("xzc_wait_free: %d", err);
		answer(OP_LIB, err, ERR_WAIT2);
		break;
	case 2:
		err = xzc_wait_fd(lib_dev, waits[rn(NWAITS)]);
		ioctls++;
		note("xzc_wait_fd: %d", err);
		if (err >= 0)
			fd_keep(err);
		answer(OP_LIB, err < 0 ? -err : 0, ERR_WAITFD);
		break;
	default:
		note("xzc_close");
		xzc_close(lib_dev);
		lib_dev = NULL;
		break;
	}
}

/*
 * The request itself in a read-only page: the driver reads it, does the
 * work, cannot write the answer and must take the work back.
 */
static void step_struct_ro(void)
{
	struct drm_xen_zcopy_from_refs2 r = { 0 };
	uint32_t refs[64], n;
	int f = file_pick(), s, err;
	void *ro = trap + PAGE;

	s = refs_valid(refs, &n);
	if (f < 0 || s < 0)
		return;
	memcpy(arena, refs, n * 4);
	r.grefs = (uintptr_t)arena;
	r.num_grefs = n;
	r.fourcc = DRM_FORMAT_XRGB8888;
	r.width = 64;
	r.height = 16 * n;
	r.pitches[0] = 256;
	r.flags = (slots[s].writable ? 0 : DRM_XEN_ZCOPY_FROM_REFS2_READ_ONLY) |
		  (rn(2) ? DRM_XEN_ZCOPY_FROM_REFS2_DMABUF_FD : 0);
	zc_assert_ok(mprotect(trap + PAGE, PAGE, PROT_READ | PROT_WRITE));
	memcpy(ro, &r, sizeof(r));
	zc_assert_ok(mprotect(trap + PAGE, PAGE, PROT_READ));
	switch (rn(3)) {
	case 0:
		err = xioctl(xfd[f], DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, ro);
		break;
	case 1: {
		struct drm_xen_zcopy_dumb_from_refs v1 = {
			.num_grefs = n, .grefs = (uint32_t *)arena,
			.dumb = { .width = 1024, .height = n, .bpp = 32 },
		};

		zc_assert_ok(mprotect(trap + PAGE, PAGE, PROT_READ | PROT_WRITE));
		memcpy(ro, &v1, sizeof(v1));
		zc_assert_ok(mprotect(trap + PAGE, PAGE, PROT_READ));
		err = xioctl(xfd[f], DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS, ro);
		if (err != EFAULT && !slots[s].writable)
			err = err == EINVAL ? EFAULT : err;
		break;
	}
	default: {
		struct drm_xen_zcopy_wait_fd w = {
			.wait_handle = waits[rn(NWAITS)],
		};
		int o = obj_pick(1u << K_BUF);

		if (o >= 0 && objs[o].file == f)
			w.wait_handle = objs[o].wait;
		zc_assert_ok(mprotect(trap + PAGE, PAGE, PROT_READ | PROT_WRITE));
		memcpy(ro, &w, sizeof(w));
		zc_assert_ok(mprotect(trap + PAGE, PAGE, PROT_READ));
		err = xioctl(xfd[f], DRM_IOCTL_XEN_ZCOPY_WAIT_FD, ro);
		if (err == ENOENT)
			err = EFAULT;
		break;
	}
	}
	note("request in a read-only page f%d n%u: %d", f, n, err);
	answer(OP_STRUCT_RO, err, E(EFAULT) | ERR_RESOURCE);
}

static void run_steps(unsigned long n);

static void reap_kids(bool block)
{
	int i, status;

	for (i = 0; i < NKIDS; i++) {
		if (kids[i] <= 0)
			continue;
		if (waitpid(kids[i], &status, block ? 0 : WNOHANG) != kids[i])
			continue;
		kids[i] = 0;
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			fuzz_fail("a forked child ended with status %#x", status);
	}
}

static void kill_kids(void *unused)
{
	int i;

	(void)unused;
	for (i = 0; i < NKIDS; i++)
		if (kids[i] > 0) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], NULL, 0);
			kids[i] = 0;
		}
}

/*
 * A child that goes on with steps of its own: files of its own, the
 * dma-bufs it inherited, and an exit that closes whatever it holds.
 */
static void step_fork(void)
{
	uint64_t child_seed = rnd();
	int i, k = -1, o;
	pid_t pid;

	if (in_child)
		return;
	reap_kids(false);
	for (i = 0; i < NKIDS; i++)
		if (kids[i] <= 0)
			k = i;
	if (k < 0)
		return;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		fuzz_fail("fork: %s", strerror(errno));
	if (pid) {
		note("fork: child %d", pid);
		kids[k] = pid;
		return;
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	in_child = true;
	for (i = 0; i < NKIDS; i++)
		kids[i] = 0;
	/*
	 * Handles are the parent's (the files are shared): forget them, and
	 * keep the dma-bufs, which the child imports and maps as its own.
	 */
	for (o = 0; o < NOBJS; o++) {
		if (!objs[o].used)
			continue;
		if (objs[o].dmabuf < 0) {
			objs[o].used = false;
			continue;
		}
		objs[o].file = -1;
		objs[o].handle = 0;
		objs[o].wait = 0;
		objs[o].granted = -1;
		if (objs[o].kind == K_IMPORT || objs[o].kind == K_ALIAS)
			objs[o].kind = K_VGEM;
	}
	for (i = 0; i < NFILES; i++) {
		if (xfd[i] >= 0)
			close(xfd[i]);
		xfd[i] = zc_xen_open();
	}
	if (vgem_fd >= 0) {
		close(vgem_fd);
		vgem_fd = zc_drm_open_driver("vgem", NULL);
	}
	if (vkms_fd >= 0) {
		close(vkms_fd);
		vkms_fd = zc_drm_open_driver("vkms", NULL);
	}
	for (i = 0; i < NMAPS; i++)
		maps[i].p = NULL;	/* copies of the parent's: left as they are */
	lib_dev = NULL;
	rng_seed(child_seed);
	run_steps(20 + rn(200));
	_exit(0);
}

static void run_steps(unsigned long n)
{
	unsigned int total = 0, i, w;
	unsigned long k;

	for (i = 0; i < NR_OPS; i++)
		total += op_weight[i];
	for (k = 0; k < n; k++, step_no++) {
		w = rn(total);
		for (i = 0; w >= op_weight[i]; i++)
			w -= op_weight[i];
		/* Until the step says what it did: which one it is. */
		note("%s (in progress)", op_names[i]);
		switch (i) {
		case OP_OPEN:
			step_open();
			break;
		case OP_CLOSE_FILE:
			step_close_file();
			break;
		case OP_FROM:
			step_from_refs();
			break;
		case OP_FROM2:
			step_from_refs2();
			break;
		case OP_TO:
			step_to_refs(false);
			break;
		case OP_TO2:
			step_to_refs(true);
			break;
		case OP_WAIT:
			step_wait();
			break;
		case OP_WAIT2:
			step_wait2();
			break;
		case OP_WAITFD:
			step_wait_fd();
			break;
		case OP_CAPS:
			step_caps();
			break;
		case OP_BADIOC:
			step_bad_ioctl();
			break;
		case OP_EXPORT:
			step_export();
			break;
		case OP_IMPORT:
			step_import();
			break;
		case OP_FOREIGN:
			step_foreign();
			break;
		case OP_GEM_CLOSE:
			step_gem_close();
			break;
		case OP_CLOSE_FD:
			step_close_fd();
			break;
		case OP_MMAP:
			step_mmap();
			break;
		case OP_MAPOP:
			step_mapop();
			break;
		case OP_FORK:
			step_fork();
			break;
		case OP_GNT:
			step_gnt();
			break;
		case OP_LIB:
			step_lib();
			break;
		default:
			step_struct_ro();
			break;
		}
		if (!in_child && (k & 255) == 0)
			reap_kids(false);
	}
}

/* ---- random-calls ---- */

static struct zc_stats base;

static unsigned long env_ulong(const char *name, unsigned long dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 0) : dflt;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;
}

static void print_histogram(void)
{
	char line[1024];
	int op, e, len;

	for (op = 0; op < NR_OPS; op++) {
		len = snprintf(line, sizeof(line), "%-24s", op_names[op]);
		for (e = 0; e < HIST_ERRNOS; e++)
			if (hist[op][e] && len < (int)sizeof(line) - 32)
				len += snprintf(line + len, sizeof(line) - len,
						" %s:%lu", e ? strerrorname_np(e) ?: "?" : "ok",
						hist[op][e]);
		zc_info("%s\n", line);
	}
}

static void fuzz_release(void *unused);

static void fuzz_setup(void)
{
	struct drm_xen_zcopy_get_caps c = { 0 };
	int i;

	zc_baseline_start_drained(&base);
	memory_init();
	for (i = 0; i < NFDS; i++)
		fds[i] = -1;
	for (i = 0; i < NFILES; i++)
		xfd[i] = -1;
	xfd[0] = zc_xen_open();
	zc_require(xfd[0] >= 0);
	zc_assert_ok(-xioctl(xfd[0], DRM_IOCTL_XEN_ZCOPY_GET_CAPS, &c));
	max_pages = c.max_pages;
	vgem_fd = zc_drm_open_driver("vgem", NULL);
	zc_require(vgem_fd >= 0);
	vkms_fd = zc_drm_open_driver("vkms", NULL);
	zc_at_exit(fuzz_release, NULL);
	zc_at_exit(kill_kids, NULL);
	for (i = 0; i < NSLOTS; i++) {
		slots[i].ga.fd = -1;
		slot_fill(i);
	}
	zc_assert(slot_pick() >= 0);
}

static bool torn_down;

/* Closes everything, in an order the seed picks. */
static void fuzz_teardown(void)
{
	int i, o;

	torn_down = true;
	reap_kids(true);
	for (i = 0; i < NMAPS; i++)
		if (maps[i].p)
			munmap(maps[i].p, maps[i].len);
	for (o = 0; o < NOBJS; o++)
		if (objs[o].used)
			obj_drop(o, one_in(2));
	for (i = 0; i < NFDS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	for (i = 0; i < NFILES; i++)
		if (xfd[i] >= 0)
			close(xfd[i]);
	if (lib_dev)
		xzc_close(lib_dev);
	lib_dev = NULL;
	if (vgem_fd >= 0)
		close(vgem_fd);
	if (vkms_fd >= 0)
		close(vkms_fd);
	for (i = 0; i < NSLOTS; i++)
		slot_free(i);
}

/*
 * A failed run releases what it held too, deferred grants included, so
 * that the subtests after it start from a Dom0 with its memory back.
 */
static void fuzz_release(void *unused)
{
	(void)unused;
	if (in_child || torn_down)
		return;
	fuzz_teardown();
	zc_oracle_flush_deferred_grants();
}

/*
 * A step that does not end: after 20 s the kernel stack of the stuck
 * thread and the last steps go to stderr, once.
 */
static pid_t main_tid;

static void *watchdog(void *arg)
{
	unsigned long seen = ~0UL;
	char path[64], buf[2048];
	ssize_t n;
	int fd, quiet = 0;

	(void)arg;
	for (;;) {
		sleep(5);
		if (step_no != seen) {
			seen = step_no;
			quiet = 0;
			continue;
		}
		if ((quiet += 5) != 20)
			continue;
		fprintf(stderr, "zcopy_fuzz: step %lu of seed %llu runs for 20 s: %s\n",
			step_no, (unsigned long long)fuzz_seed, last[step_no % 16]);
		snprintf(path, sizeof(path), "/proc/self/task/%d/stack", main_tid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (n > 0) {
			buf[n] = '\0';
			fprintf(stderr, "%s", buf);
		}
		if (fd >= 0)
			close(fd);
	}
	return NULL;
}

/* The harness' time limit: say which steps ran last before it kills us. */
static void on_alarm(int sig)
{
	char line[256];
	unsigned long i;
	int len;

	len = snprintf(line, sizeof(line), "zcopy_fuzz: %s timed out at step %lu of seed %llu; last steps:\n",
		       in_child ? "child" : "parent", step_no,
		       (unsigned long long)fuzz_seed);
	if (write(2, line, len) < 0)
		_exit(ZC_EXIT_FAILURE);
	for (i = step_no > 15 ? step_no - 15 : 0; i <= step_no; i++) {
		len = snprintf(line, sizeof(line), "  step %lu: %s\n", i, last[i % 16]);
		if (write(2, line, len) < 0)
			break;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void test_random_calls(void)
{
	unsigned long calls = env_ulong("FUZZ_CALLS", ZC_FUZZ_DEFAULT_CALLS);
	unsigned long done, chunk;
	struct timespec t0, t1;
	double secs;
	int fds0;

	if (!calls)
		calls = ZC_FUZZ_DEFAULT_CALLS;
	fuzz_seed = env_ulong("ZC_FUZZ_SEED", ZC_FUZZ_DEFAULT_SEED);
	if (!fuzz_seed)
		fuzz_seed = (uint64_t)time(NULL) * 1000003ULL ^ (uint64_t)getpid();
	zc_info("seed %llu, %lu calls (replay: ZC_FUZZ_SEED=%llu FUZZ_CALLS=%lu)\n",
		(unsigned long long)fuzz_seed, calls,
		(unsigned long long)fuzz_seed, calls);
	rng_seed(fuzz_seed);
	signal(SIGALRM, on_alarm);
	main_tid = gettid();
	{
		pthread_t t;

		zc_assert_ok(-pthread_create(&t, NULL, watchdog, NULL));
		pthread_detach(t);
	}
	/*
	 * Slots freed under the driver's mappings queue their grants on the
	 * kernel's deferred list, which it frees at 10 a second: a run
	 * longer than about 200000 steps would fill Dom0's grant table with
	 * them. No limit while the run goes (restored at its end).
	 */
	if (zc_param_save(ZC_GNT_FREE_PER_ITER) > 0)
		zc_assert_ok(zc_write_long(ZC_GNT_FREE_PER_ITER, 0));
	zc_kmsg_mark();
	fds0 = count_fds();
	fuzz_setup();

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Progress now and then: the testbed stops a guest that stays silent. */
	for (done = 0; done < calls; done += chunk) {
		chunk = calls - done < 2000 ? calls - done : 2000;
		run_steps(chunk);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		zc_info("%lu steps, %lu ioctls, %.1f s\n", done + chunk, ioctls,
			(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	}
	fuzz_teardown();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	zc_info("seed %llu: %lu steps, %lu ioctls in %.1f s (%.0f steps/s)\n",
		(unsigned long long)fuzz_seed, calls, ioctls, secs,
		calls / (secs > 0 ? secs : 1));
	print_histogram();
	/* Slots freed while the driver mapped them: see the helper. */
	zc_oracle_flush_deferred_grants();

	zc_baseline_finish(&base, 10000);
	zc_assert_eq(count_fds(), fds0);
	zc_assert_f(zc_kmsg_worst_level() > 4,
		    "the kernel logged a warning during the fuzzing (seed %llu)",
		    (unsigned long long)fuzz_seed);
}

/* ---- bad-pointers: every pointer the driver reads or writes, faulted ---- */

#define NP	4		/* pages of the frontend's buffer */

static struct zc_gntalloc bp_ga;
static int bp_fds0;
/* What the driver holds between the calls: the baseline, or more. */
static struct zc_stats bp_base;

/* The call failed with -EFAULT and left nothing: no buffer, grant, fd. */
static void fault_clean(const char *what, int variant, int err)
{
	zc_assert_f(err == EFAULT, "%s, pointer variant %d: errno %d (%s), not EFAULT",
		    what, variant, err, strerror(err));
	zc_assert_f(zc_stats_wait_baseline(&bp_base, 3000) == 0,
		    "%s, pointer variant %d: the driver kept something", what,
		    variant);
	zc_assert_f(count_fds() == bp_fds0, "%s, pointer variant %d: %d fds, %d before",
		    what, variant, count_fds(), bp_fds0);
}

/* Pointers to @len bytes the driver reads: none of them can be read whole. */
static uint64_t bad_in(int v, const void *src, size_t len)
{
	switch (v) {
	case 0:
		return 0;
	case 1:	/* no access */
		return (uintptr_t)(trap + 2 * PAGE);
	case 2:	/* read-only, then no access */
		zc_assert_ok(mprotect(trap + PAGE, PAGE, PROT_READ | PROT_WRITE));
		memcpy(trap + 2 * PAGE - len / 2, src, len / 2);
		zc_assert_ok(mprotect(trap + PAGE, PAGE, PROT_READ));
		return (uintptr_t)(trap + 2 * PAGE - len / 2);
	case 3:	/* read-write, then the guard page */
		memcpy(arena + ARENA_PAGES * PAGE - len / 2, src, len / 2);
		return (uintptr_t)(arena + ARENA_PAGES * PAGE - len / 2);
	default: /* the kernel's half */
		return 0xffff800000001000ULL;
	}
}
#define NR_BAD_IN	5

/* Pointers to @len bytes the driver writes: none of them can be written whole. */
static uint64_t bad_out(int v, size_t len)
{
	switch (v) {
	case 0:
		return 0;
	case 1:	/* read-only */
		return (uintptr_t)(trap + PAGE);
	case 2:	/* read-write, then read-only */
		return (uintptr_t)(trap + PAGE - len / 2);
	case 3:	/* read-write, then the guard page */
		return (uintptr_t)(arena + ARENA_PAGES * PAGE - len / 2);
	case 4:	/* no access */
		return (uintptr_t)(trap + 2 * PAGE);
	default:
		return 0xffff800000001000ULL;
	}
}
#define NR_BAD_OUT	6

/* The request itself in the read-only page: read, but not written back. */
static void *in_ro_page(const void *req, size_t len)
{
	zc_assert_ok(mprotect(trap + PAGE, PAGE, PROT_READ | PROT_WRITE));
	memcpy(trap + PAGE, req, len);
	zc_assert_ok(mprotect(trap + PAGE, PAGE, PROT_READ));
	return trap + PAGE;
}

static void test_bad_pointers(void)
{
	static const unsigned long cmds[] = {
		DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS, DRM_IOCTL_XEN_ZCOPY_DUMB_TO_REFS,
		DRM_IOCTL_XEN_ZCOPY_DUMB_WAIT_FREE, DRM_IOCTL_XEN_ZCOPY_GET_CAPS,
		DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, DRM_IOCTL_XEN_ZCOPY_TO_REFS2,
		DRM_IOCTL_XEN_ZCOPY_WAIT_FREE2, DRM_IOCTL_XEN_ZCOPY_WAIT_FD,
	};
	struct drm_xen_zcopy_from_refs2 r2;
	struct drm_xen_zcopy_dumb_from_refs r1;
	uint32_t vh, zh, refs[NP];
	struct zc_dumb d;
	int fd, vgem, dmabuf, v, i, flags;

	zc_baseline_start_drained(&base);
	memory_init();
	zc_kmsg_mark();
	zc_assert_ok(zc_gntalloc_alloc(&bp_ga, 0, NP, true));
	zc_at_exit(zc_gntalloc_cleanup, &bp_ga);
	fd = zc_xen_open();
	zc_require(fd >= 0);
	bp_fds0 = count_fds();
	bp_base = base;

	/* FROM_REFS and FROM_REFS2: the refs cannot be read. */
	for (v = 0; v < NR_BAD_IN; v++) {
		r1 = (struct drm_xen_zcopy_dumb_from_refs){
			.num_grefs = NP,
			.dumb = { .width = 1024, .height = NP, .bpp = 32 },
		};
		r1.grefs = (uint32_t *)(uintptr_t)bad_in(v, bp_ga.refs, NP * 4);
		fault_clean("DUMB_FROM_REFS refs", v,
			    xioctl(fd, DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS, &r1));
		for (flags = 0; flags < 4; flags++) {
			r2 = (struct drm_xen_zcopy_from_refs2){
				.num_grefs = NP, .flags = flags,
				.fourcc = DRM_FORMAT_XRGB8888, .width = 1024,
				.height = NP, .pitches = { 4096 },
			};
			r2.grefs = bad_in(v, bp_ga.refs, NP * 4);
			fault_clean("FROM_REFS2 refs", v,
				    xioctl(fd, DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, &r2));
		}
	}

	/* TO_REFS and TO_REFS2: the refs cannot be written; no grant stays. */
	vgem = zc_drm_open_driver("vgem", NULL);
	zc_require(vgem >= 0);
	zc_assert_ok(zc_dumb_create(vgem, 1024, NP, 32, &d));
	zc_assert_ok(zc_prime_export(vgem, d.handle, &dmabuf));
	zc_assert_ok(zc_prime_import(fd, dmabuf, &zh));
	close(dmabuf);
	zc_assert_ok(zc_gem_close(vgem, d.handle));
	bp_fds0 = count_fds();
	zc_assert_ok(zc_stats_read(&bp_base));	/* with the import */
	for (v = 0; v < NR_BAD_OUT; v++) {
		struct drm_xen_zcopy_dumb_to_refs t1 = {
			.num_grefs = NP, .handle = zh,
			.grefs = (uint32_t *)(uintptr_t)bad_out(v, NP * 4),
		};
		struct drm_xen_zcopy_to_refs2 t2 = {
			.num_grefs = NP, .handle = zh, .grefs = bad_out(v, NP * 4),
			.flags = v & 1 ? DRM_XEN_ZCOPY_TO_REFS2_READ_ONLY : 0,
		};

		fault_clean("DUMB_TO_REFS refs", v,
			    xioctl(fd, DRM_IOCTL_XEN_ZCOPY_DUMB_TO_REFS, &t1));
		fault_clean("TO_REFS2 refs", v,
			    xioctl(fd, DRM_IOCTL_XEN_ZCOPY_TO_REFS2, &t2));
	}
	/* The same import is still grantable, and the grants go with it. */
	zc_assert_eq(zc_to_refs(fd, zh, refs, NP, 0), 0);
	zc_assert_ok(zc_gem_close(fd, zh));
	bp_base = base;
	zc_assert_f(zc_stats_wait_baseline(&base, 3000) == 0, "grants of a closed import stayed");

	/* The request itself cannot be read: every ioctl. */
	for (i = 0; i < 8; i++)
		for (v = 0; v < NR_BAD_IN; v++) {
			uint8_t junk[128] = { 0 };

			fault_clean("request", i * 10 + v,
				    xioctl(fd, cmds[i], (void *)(uintptr_t)
					   bad_in(v, junk, _IOC_SIZE(cmds[i]))));
		}

	/*
	 * The request is read but the answer cannot be written: the call is
	 * taken back, with its buffer, its dma-buf fd and its wait fd.
	 */
	r1 = (struct drm_xen_zcopy_dumb_from_refs){
		.num_grefs = NP, .grefs = bp_ga.refs,
		.dumb = { .width = 1024, .height = NP, .bpp = 32 },
	};
	fault_clean("DUMB_FROM_REFS answer", 0,
		    xioctl(fd, DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS,
			   in_ro_page(&r1, sizeof(r1))));
	for (flags = 0; flags < 4; flags++) {
		r2 = (struct drm_xen_zcopy_from_refs2){
			.grefs = (uintptr_t)bp_ga.refs, .num_grefs = NP,
			.flags = flags, .fourcc = DRM_FORMAT_XRGB8888,
			.width = 1024, .height = NP, .pitches = { 4096 },
		};
		fault_clean("FROM_REFS2 answer", flags,
			    xioctl(fd, DRM_IOCTL_XEN_ZCOPY_FROM_REFS2,
				   in_ro_page(&r2, sizeof(r2))));
	}
	{
		struct drm_xen_zcopy_get_caps c = { 0 };
		struct drm_xen_zcopy_wait_fd w = { 0 };

		fault_clean("GET_CAPS answer", 0,
			    xioctl(fd, DRM_IOCTL_XEN_ZCOPY_GET_CAPS,
				   in_ro_page(&c, sizeof(c))));
		r2 = (struct drm_xen_zcopy_from_refs2){
			.grefs = (uintptr_t)bp_ga.refs, .num_grefs = NP,
			.fourcc = DRM_FORMAT_XRGB8888,
			.width = 1024, .height = NP, .pitches = { 4096 },
		};
		zc_assert_ok(-xioctl(fd, DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, &r2));
		w.wait_handle = r2.wait_handle;
		zc_assert_ok(zc_stats_read(&bp_base));	/* with the buffer */
		fault_clean("WAIT_FD answer", 0,
			    xioctl(fd, DRM_IOCTL_XEN_ZCOPY_WAIT_FD,
				   in_ro_page(&w, sizeof(w))));
		zc_assert_ok(zc_gem_close(fd, r2.handle));
		bp_base = base;
	}

	close(fd);
	close(vgem);
	zc_gntalloc_free(&bp_ga);
	zc_baseline_finish(&base, 5000);
	zc_assert_f(zc_kmsg_worst_level() > 4, "the kernel logged a warning");
	(void)vh;
}

/* ---- cycles-10k ---- */

#define CYCLES		10000
#define CW		64
#define CH		64
#define CPAGES		(CW * 4 * CH / PAGE)

static struct zc_gntalloc cy_ga;

/* The frontend's pattern seen through a new mapping of @dmabuf. */
static void cycle_check_bytes(int dmabuf, int cycle)
{
	uint8_t *p = mmap(NULL, CPAGES * PAGE, PROT_READ, MAP_SHARED, dmabuf, 0);
	long off;

	zc_assert_f(p != MAP_FAILED, "cycle %d: mmap: %s", cycle, strerror(errno));
	off = zc_check_pattern(p, CW, CH, CW * 4, 0xc1c1e);
	zc_assert_f(off < 0, "cycle %d: byte %ld differs", cycle, off);
	munmap(p, CPAGES * PAGE);
}

static void test_cycles(void)
{
	struct zc_oracle o0, o;
	struct zc_dumb d;
	int fd, vgem, dmabuf, i;
	int64_t t0, ts, phase[5] = { 0 };
	uint32_t vh, zh, refs[CPAGES];

	zc_baseline_start_drained(&base);
	zc_assert_ok(zc_gntalloc_alloc(&cy_ga, 0, CPAGES, true));
	zc_at_exit(zc_gntalloc_cleanup, &cy_ga);
	zc_fill_pattern(cy_ga.map, CW, CH, CW * 4, 0xc1c1e);
	fd = zc_xen_open();
	zc_require(fd >= 0);
	vgem = zc_drm_open_driver("vgem", NULL);
	zc_require(vgem >= 0);
	zc_oracle_read(&o0);
	t0 = mono_ns();

	for (i = 0; i < CYCLES; i++) {
		struct drm_xen_zcopy_from_refs2 r = {
			.grefs = (uintptr_t)cy_ga.refs, .num_grefs = CPAGES,
			.flags = DRM_XEN_ZCOPY_FROM_REFS2_DMABUF_FD,
			.fourcc = DRM_FORMAT_XRGB8888, .width = CW, .height = CH,
			.pitches = { CW * 4 },
		};
		struct drm_xen_zcopy_wait_free2 w = { 0 };
		struct drm_xen_zcopy_to_refs2 t = { 0 };

		/* Grant refs -> buffer -> dma-buf -> vgem import -> all gone. */
		ts = mono_ns();
		zc_assert_ok(-xioctl(fd, DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, &r));
		phase[0] += mono_ns() - ts;
		ts = mono_ns();
		zc_assert_ok(zc_prime_import(vgem, r.dmabuf_fd, &vh));
		if (i % 500 == 0)
			cycle_check_bytes(r.dmabuf_fd, i);
		zc_assert_ok(zc_gem_close(vgem, vh));
		phase[1] += mono_ns() - ts;
		ts = mono_ns();
		close(r.dmabuf_fd);
		zc_assert_ok(zc_gem_close(fd, r.handle));
		phase[2] += mono_ns() - ts;
		ts = mono_ns();
		w.wait_handle = r.wait_handle;
		w.deadline_ns = mono_ns() + 5000000000LL;
		zc_assert_ok(-xioctl(fd, DRM_IOCTL_XEN_ZCOPY_WAIT_FREE2, &w));
		zc_assert_eq(w.status, DRM_XEN_ZCOPY_WAIT_FREED);
		phase[3] += mono_ns() - ts;
		ts = mono_ns();

		/*
		 * vgem buffer -> dma-buf -> our import -> grants -> all gone,
		 * in every tenth cycle: it costs four times as much.
		 */
		if (i % 10)
			goto check;
		zc_assert_ok(zc_dumb_create(vgem, CW, CH, 32, &d));
		zc_assert_ok(zc_prime_export(vgem, d.handle, &dmabuf));
		zc_assert_ok(zc_prime_import(fd, dmabuf, &zh));
		t.grefs = (uintptr_t)refs;
		t.num_grefs = CPAGES;
		t.handle = zh;
		t.flags = i & 2 ? DRM_XEN_ZCOPY_TO_REFS2_READ_ONLY : 0;
		zc_assert_ok(-xioctl(fd, DRM_IOCTL_XEN_ZCOPY_TO_REFS2, &t));
		zc_assert_ok(zc_gem_close(fd, zh));
		close(dmabuf);
		zc_assert_ok(zc_gem_close(vgem, d.handle));
		phase[4] += mono_ns() - ts;
check:
		if ((i + 1) % 100 == 0)
			zc_info("%d cycles, %.1f s (from_refs2 %.1f, vgem import %.1f, close %.1f, wait %.1f, to_refs2 side %.1f)\n",
				i + 1, (mono_ns() - t0) / 1e9, phase[0] / 1e9,
				phase[1] / 1e9, phase[2] / 1e9, phase[3] / 1e9,
				phase[4] / 1e9);
		if ((i + 1) % 1000)
			continue;
		/* Every 1000 cycles: counters, dma-bufs and memory back. */
		zc_assert_f(zc_stats_wait_baseline(&base, 3000) == 0,
			    "counters not back after %d cycles", i + 1);
		zc_oracle_read(&o);
		zc_info("%d cycles, %.1f s: dma-bufs %ld (%ld bytes), MemAvailable %ld kB (%+ld), Slab %ld kB (%+ld)\n",
			i + 1, (mono_ns() - t0) / 1e9, o.dmabufs, o.dmabuf_bytes, o.avail_kb,
			o.avail_kb - o0.avail_kb, o.slab_kb, o.slab_kb - o0.slab_kb);
		zc_assert_eq(o.dmabufs, o0.dmabufs);
		zc_assert_eq(o.dmabuf_bytes, o0.dmabuf_bytes);
	}

	close(fd);
	close(vgem);
	zc_gntalloc_free(&cy_ga);
	zc_baseline_finish(&base, 5000);
}

/* ---- racing-processes ---- */

#define RACERS		4
#define RACE_ITER	300
#define RPAGES		4

static pid_t racers[RACERS];
static struct zc_gntalloc rc_ga;

static void kill_racers(void *unused)
{
	int i;

	(void)unused;
	for (i = 0; i < RACERS; i++)
		if (racers[i] > 0) {
			kill(racers[i], SIGKILL);
			waitpid(racers[i], NULL, 0);
			racers[i] = 0;
		}
}

#define RACE_CHECK(cond, ...) do { if (!(cond)) { \
	fprintf(stderr, "racer %d, round %d: ", id, k); \
	fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); \
	_exit(ZC_EXIT_FAILURE); } } while (0)
#define RACE_ERR(err, ok) RACE_CHECK(!(err) || ((err) < 128 && (E(err) & (ok))), \
	"line %d: errno %d (%s)", __LINE__, (err), strerror(err))

/*
 * One racer: its own two files, the shared dma-bufs @d1 (a buffer of
 * ours on the shared grants) and @d2 (a vgem buffer), and the same refs.
 */
static void racer(int id, int d1, int d2)
{
	int f[2], k, err, which;
	uint32_t h, refs[64];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	rng_seed(0x5eed0000ULL + id);
	f[0] = zc_xen_open();
	f[1] = zc_xen_open();
	for (k = 0; k < RACE_ITER; k++) {
		which = rn(2);
		RACE_CHECK(f[which] >= 0, "cannot open the driver");
		switch (rn(6)) {
		case 0: {	/* import ours, export again, map it */
			struct drm_prime_handle p = { .flags = DRM_CLOEXEC };
			uint8_t *m;

			err = -zc_prime_import(f[which], d1, &h);
			RACE_ERR(err, 0);
			p.handle = h;
			err = xioctl(f[which], DRM_IOCTL_PRIME_HANDLE_TO_FD, &p);
			RACE_ERR(err, 0);
			m = mmap(NULL, RPAGES * PAGE, PROT_READ, MAP_SHARED, p.fd, 0);
			RACE_CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
			RACE_CHECK(zc_check_pattern(m, 64, 64, 256, 0xace) < 0,
				   "the frontend's bytes are not there");
			munmap(m, RPAGES * PAGE);
			close(p.fd);
			if (rn(2))
				zc_gem_close(f[which], h);
			break;
		}
		case 1: {	/* import vgem's, grant it */
			struct drm_xen_zcopy_to_refs2 t = {
				.grefs = (uintptr_t)refs, .num_grefs = RPAGES,
			};

			err = -zc_prime_import(f[which], d2, &h);
			RACE_ERR(err, 0);
			t.handle = h;
			err = xioctl(f[which], DRM_IOCTL_XEN_ZCOPY_TO_REFS2, &t);
			/* Another racer may close the handle: ENOENT. */
			/* One import of a dma-buf grants it: another racer's. */
			RACE_ERR(err, E(EBUSY) | E(ENOSPC) | E(EDQUOT));
			if (rn(2))
				zc_gem_close(f[which], h);
			break;
		}
		case 2: {	/* the same refs mapped by every racer at once */
			struct drm_xen_zcopy_from_refs2 r = {
				.grefs = (uintptr_t)rc_ga.refs, .num_grefs = RPAGES,
				.flags = DRM_XEN_ZCOPY_FROM_REFS2_DMABUF_FD,
				.fourcc = DRM_FORMAT_XRGB8888, .width = 64,
				.height = 64, .pitches = { 256 },
			};
			uint32_t h2;

			err = xioctl(f[which], DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, &r);
			RACE_ERR(err, E(ENOMEM) | E(EAGAIN));
			if (err)
				break;
			err = -zc_prime_import(f[!which] >= 0 ? f[!which] : f[which],
					       r.dmabuf_fd, &h2);
			RACE_ERR(err, 0);
			close(r.dmabuf_fd);
			if (rn(2))
				zc_gem_close(f[which], r.handle);
			break;
		}
		case 3: {	/* waits on buffers of this file and of others */
			struct drm_xen_zcopy_wait_free2 w = {
				.wait_handle = rn(64),
				.deadline_ns = mono_ns() + 1000000,
			};

			err = xioctl(f[which], DRM_IOCTL_XEN_ZCOPY_WAIT_FREE2, &w);
			RACE_ERR(err, E(ENOENT) | E(ETIMEDOUT));
			break;
		}
		case 4:		/* the file goes, with all it holds */
			close(f[which]);
			f[which] = zc_xen_open();
			break;
		default: {
			uint8_t *m = mmap(NULL, RPAGES * PAGE, PROT_READ | PROT_WRITE,
					  MAP_SHARED, d1, 0);

			RACE_CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
			RACE_CHECK(zc_check_pattern(m, 64, 64, 256, 0xace) < 0,
				   "the frontend's bytes are not there");
			munmap(m, RPAGES * PAGE);
			break;
		}
		}
	}
	/* Whatever is left goes with the process, in whatever order. */
	_exit(0);
}

static void test_racing_processes(void)
{
	struct drm_xen_zcopy_from_refs2 r = {
		.num_grefs = RPAGES, .flags = DRM_XEN_ZCOPY_FROM_REFS2_DMABUF_FD,
		.fourcc = DRM_FORMAT_XRGB8888, .width = 64, .height = 64,
		.pitches = { 256 },
	};
	struct zc_dumb d;
	int fd, vgem, d2, i, status;

	zc_baseline_start_drained(&base);
	zc_assert_ok(zc_gntalloc_alloc(&rc_ga, 0, RPAGES, true));
	zc_at_exit(zc_gntalloc_cleanup, &rc_ga);
	zc_fill_pattern(rc_ga.map, 64, 64, 256, 0xace);
	fd = zc_xen_open();
	zc_require(fd >= 0);
	vgem = zc_drm_open_driver("vgem", NULL);
	zc_require(vgem >= 0);
	r.grefs = (uintptr_t)rc_ga.refs;
	zc_assert_ok(-xioctl(fd, DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, &r));
	zc_assert_ok(zc_dumb_create(vgem, 64, 64, 32, &d));
	zc_assert_ok(zc_prime_export(vgem, d.handle, &d2));

	zc_at_exit(kill_racers, NULL);
	fflush(NULL);
	for (i = 0; i < RACERS; i++) {
		racers[i] = fork();
		zc_assert(racers[i] >= 0);
		if (!racers[i]) {
			close(fd);
			close(vgem);
			racer(i, r.dmabuf_fd, d2);
		}
	}
	/* The creator lets go of its handle while the racers work. */
	usleep(20000);
	zc_assert_ok(zc_gem_close(fd, r.handle));
	for (i = 0; i < RACERS; i++) {
		zc_assert_eq(waitpid(racers[i], &status, 0), racers[i]);
		racers[i] = 0;
		zc_assert_f(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			    "racer %d ended with status %#x", i, status);
	}
	/* Only the dma-bufs hold the buffers now. */
	zc_assert_f(zc_stat_wait("from_refs_objects", base.v[0] + 1, 3000) == 0,
		    "from_refs_objects %ld, want %ld", zc_stat("from_refs_objects"),
		    base.v[0] + 1);
	zc_assert_eq(zc_stat("imported_objects"), base.v[2]);
	close(r.dmabuf_fd);
	close(d2);
	zc_gem_close(vgem, d.handle);
	close(vgem);
	close(fd);
	zc_gntalloc_free(&rc_ga);
	zc_baseline_finish(&base, 5000);
}

/* ---- close-orders ---- */

enum { HOLD_FILE, HOLD_DMABUF, HOLD_IMPORT };
static const char *const hold_names[] = { "DRM file", "dma-buf", "vgem import" };
static pid_t holders[3];
static struct zc_gntalloc co_ga;

static void kill_holders(void *unused)
{
	int i;

	(void)unused;
	for (i = 0; i < 3; i++)
		if (holders[i] > 0) {
			kill(holders[i], SIGKILL);
			waitpid(holders[i], NULL, 0);
			holders[i] = 0;
		}
}

/*
 * A holder keeps one of the three and, when told to go, checks that the
 * buffer still shows the frontend's bytes through what it holds.
 */
static void holder(int what, int go, int fd, uint32_t handle, int dmabuf)
{
	char c;
	uint8_t *p = MAP_FAILED;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (read(go, &c, 1) != 1)
		_exit(2);
	if (what == HOLD_FILE) {
		struct drm_mode_map_dumb m = { .handle = handle };

		if (xioctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &m))
			_exit(3);
		p = mmap(NULL, CPAGES * PAGE, PROT_READ, MAP_SHARED, fd, m.offset);
	} else if (what == HOLD_DMABUF) {
		p = mmap(NULL, CPAGES * PAGE, PROT_READ, MAP_SHARED, dmabuf, 0);
	}
	if (what != HOLD_IMPORT &&
	    (p == MAP_FAILED || zc_check_pattern(p, CW, CH, CW * 4, 0xc105e) >= 0))
		_exit(4);
	_exit(0);
}

static void test_close_orders(void)
{
	static const int perms[6][3] = {
		{ 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 },
		{ 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 },
	};
	int pfd, perm, k, i, status;

	zc_baseline_start_drained(&base);
	zc_assert_ok(zc_gntalloc_alloc(&co_ga, 0, CPAGES, true));
	zc_at_exit(zc_gntalloc_cleanup, &co_ga);
	zc_fill_pattern(co_ga.map, CW, CH, CW * 4, 0xc105e);
	zc_at_exit(kill_holders, NULL);
	/* The backend's file that waits: a file of its own. */
	pfd = zc_xen_open();
	zc_require(pfd >= 0);

	for (perm = 0; perm < 6; perm++) {
		struct drm_xen_zcopy_from_refs2 r = {
			.grefs = (uintptr_t)co_ga.refs, .num_grefs = CPAGES,
			.flags = DRM_XEN_ZCOPY_FROM_REFS2_DMABUF_FD,
			.fourcc = DRM_FORMAT_XRGB8888, .width = CW, .height = CH,
			.pitches = { CW * 4 },
		};
		int fd = zc_xen_open(), vgem = zc_drm_open_driver("vgem", NULL);
		int go[3][2];
		uint32_t vh;

		zc_assert(fd >= 0);
		zc_require(vgem >= 0);
		zc_assert_ok(-xioctl(fd, DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, &r));
		zc_assert_ok(zc_prime_import(vgem, r.dmabuf_fd, &vh));
		fflush(NULL);
		for (i = 0; i < 3; i++) {
			zc_assert_ok(pipe(go[i]));
			holders[i] = fork();
			zc_assert(holders[i] >= 0);
			if (holders[i])
				continue;
			/* Each holder keeps exactly one of the three. */
			close(pfd);
			if (i != HOLD_FILE)
				close(fd);
			if (i != HOLD_DMABUF)
				close(r.dmabuf_fd);
			if (i != HOLD_IMPORT)
				close(vgem);
			holder(i, go[i][0], fd, r.handle, r.dmabuf_fd);
		}
		close(fd);
		close(r.dmabuf_fd);
		close(vgem);

		for (k = 0; k < 3; k++) {
			struct drm_xen_zcopy_wait_free2 w = {
				.wait_handle = r.wait_handle,
			};
			int who = perms[perm][k], err;

			zc_assert_eq(write(go[who][1], "x", 1), 1);
			zc_assert_eq(waitpid(holders[who], &status, 0), holders[who]);
			holders[who] = 0;
			zc_assert_f(WIFEXITED(status) && WEXITSTATUS(status) == 0,
				    "order %d%d%d: the %s holder ended with %#x",
				    perms[perm][0], perms[perm][1], perms[perm][2],
				    hold_names[who], status);
			close(go[who][0]);
			close(go[who][1]);
			if (k < 2) {
				/* Someone still holds it: there, and its grants mapped. */
				zc_assert_f(zc_stat("from_refs_objects") == base.v[0] + 1 &&
					    zc_stat("mapped_grants") == base.v[1] + CPAGES,
					    "order %d%d%d: the buffer went after the %s holder",
					    perms[perm][0], perms[perm][1], perms[perm][2],
					    hold_names[who]);
				/*
				 * An orphaned handle: any CAP_SYS_ADMIN file may poll
				 * it, once the exited holder's file is released
				 * (which may trail its exit a little).
				 */
				for (i = 0; i < 500; i++) {
					err = xioctl(pfd, DRM_IOCTL_XEN_ZCOPY_WAIT_FREE2, &w);
					if (err != ENOENT || holders[HOLD_FILE])
						break;
					usleep(10000);
				}
				zc_assert_f(err == (holders[HOLD_FILE] ? ENOENT : ETIMEDOUT),
					    "order %d%d%d after the %s holder: WAIT_FREE2 %d",
					    perms[perm][0], perms[perm][1], perms[perm][2],
					    hold_names[who], err);
				continue;
			}
			w.deadline_ns = mono_ns() + 5000000000LL;
			err = xioctl(pfd, DRM_IOCTL_XEN_ZCOPY_WAIT_FREE2, &w);
			zc_assert_f(err == 0 && w.status == DRM_XEN_ZCOPY_WAIT_FREED,
				    "order %d%d%d: WAIT_FREE2 after the last holder: %d",
				    perms[perm][0], perms[perm][1], perms[perm][2], err);
			zc_assert_f(zc_stats_wait_baseline(&base, 3000) == 0,
				    "order %d%d%d: something stayed", perms[perm][0],
				    perms[perm][1], perms[perm][2]);
		}
	}
	close(pfd);
	zc_gntalloc_free(&co_ga);
	zc_baseline_finish(&base, 5000);
}

/* ---- wait-free2-past-deadline: found by random-calls (seed 1) ---- */

static void on_wake(int sig)
{
	(void)sig;
}

/*
 * WAIT_FREE2 on a live buffer with deadlines long past, down to INT64_MIN:
 * each polls and answers -ETIMEDOUT at once. A driver that subtracts the
 * time from the deadline first overflows and waits without end; a signal
 * (no SA_RESTART) then ends that wait with -EINTR instead.
 */
static void test_wait2_past_deadline(void)
{
	static const int64_t past[] = { INT64_MIN, INT64_MIN + 1,
					INT64_MIN + 1000000000LL, -1, 0, 1 };
	struct drm_xen_zcopy_from_refs2 r = {
		.num_grefs = 1, .fourcc = DRM_FORMAT_XRGB8888, .width = 64,
		.height = 16, .pitches = { 256 },
	};
	struct sigaction sa = { .sa_handler = on_wake };
	static struct zc_gntalloc ga;
	unsigned int i;
	int fd, err;

	zc_baseline_start_drained(&base);
	zc_assert_ok(zc_gntalloc_alloc(&ga, 0, 1, true));
	zc_at_exit(zc_gntalloc_cleanup, &ga);
	fd = zc_xen_open();
	zc_require(fd >= 0);
	r.grefs = (uintptr_t)ga.refs;
	zc_assert_ok(-xioctl(fd, DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, &r));
	zc_assert_ok(sigaction(SIGUSR1, &sa, NULL));

	for (i = 0; i < sizeof(past) / sizeof(past[0]); i++) {
		struct drm_xen_zcopy_wait_free2 w = {
			.wait_handle = r.wait_handle, .deadline_ns = past[i],
		};
		timer_t timer;
		struct sigevent sev = {
			.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1,
		};
		struct itimerspec its = { .it_value = { 2, 0 },
					  .it_interval = { 1, 0 } };

		/* Only unblocks a stuck call: the answer is what counts. */
		zc_assert_ok(timer_create(CLOCK_MONOTONIC, &sev, &timer));
		zc_assert_ok(timer_settime(timer, 0, &its, NULL));
		err = xioctl(fd, DRM_IOCTL_XEN_ZCOPY_WAIT_FREE2, &w);
		timer_delete(timer);
		zc_assert_f(err == ETIMEDOUT,
			    "deadline %lld: errno %d (%s), not ETIMEDOUT",
			    (long long)past[i], err, strerror(err));
	}

	zc_assert_ok(zc_gem_close(fd, r.handle));
	close(fd);
	zc_gntalloc_free(&ga);
	zc_baseline_finish(&base, 5000);
}

static const struct zc_subtest subtests[] = {
	/* 1000 to 1700 steps a second under TCG on a loaded 2-core host. */
	{ "random-calls", test_random_calls, .timeout_s = 900 },
	{ "bad-pointers", test_bad_pointers },
	/* About 35 ms a cycle under TCG on a loaded 2-core host. */
	{ "cycles-10k", test_cycles, .timeout_s = 900 },
	{ "racing-processes", test_racing_processes },
	{ "close-orders", test_close_orders },
	{ "wait-free2-past-deadline", test_wait2_past_deadline },
	{ }
};

ZC_MAIN(subtests)
