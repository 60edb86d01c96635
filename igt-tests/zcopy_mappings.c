// SPDX-License-Identifier: GPL-2.0
/*
 * CPU mappings of DUMB_FROM_REFS buffers and what the core mm does to them:
 * partial munmap, mremap, mprotect, fork, offsets, bounds, private and
 * read-only mappings, process exit, many mappings at once, and kernel
 * mappings (vmap) shared by several importers.
 *
 * On x86 PV every user page is a grant mapping of its own that an mmu
 * interval notifier unmaps before the core changes the entries
 * (xen_zcopy_pv_map.c); the counter pv_user_grants shows them, and every
 * subtest checks it, with all other counters, back at its baseline.
 */

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "zc_drm.h"
#include "zc_fixture.h"
#include "zc_gnt.h"
#include "zc_igt.h"
#include "zc_xen.h"

#define PAGE	4096
/* A small buffer: 256x192 XRGB8888, 48 pages. */
#define W	256
#define H	192
#define PITCH	(W * 4)
#define PAGES	((PITCH * H + PAGE - 1) / PAGE)
#define SIZE	((size_t)PAGES * PAGE)

#define SEED_A	21
#define SEED_B	22

/* Counters as indices of zc_stat_names. */
#define ST_OBJECTS	0
#define ST_VMAP		6
#define ST_USER		7

static struct zc_stats base;

/* Grant maps a user mapping of @pages pages adds on x86 PV. */
static long user_grants(long pages)
{
	return base.v[ST_USER] + (zc_is_pv() ? pages : 0);
}

/* zc_gbuf_get() and the buffer's MODE_MAP_DUMB offset. */
static void buf_get_wh(struct zc_gbuf *b, uint32_t w, uint32_t h, uint32_t seed)
{
	struct drm_mode_map_dumb m = { 0 };

	zc_gbuf_get(b, w, h, seed);
	m.handle = b->req.dumb.handle;
	zc_assert_ok(drmIoctl(b->fd, DRM_IOCTL_MODE_MAP_DUMB, &m));
	b->offset = m.offset;
}

static void buf_get(struct zc_gbuf *b, uint32_t seed)
{
	buf_get_wh(b, W, H, seed);
}

/* A mapping through the DRM node (MODE_MAP_DUMB offset). */
static void *map_drm(struct zc_gbuf *b, size_t len, int prot, int flags)
{
	void *p = mmap(NULL, len, prot, flags, b->fd, b->offset);

	return p == MAP_FAILED ? NULL : p;
}

/* A mapping of the dma-buf at page @pgoff. */
static void *map_dmabuf(struct zc_gbuf *b, size_t len, off_t pgoff, int prot,
			int flags)
{
	void *p = mmap(NULL, len, prot, flags, b->dmabuf, pgoff * PAGE);

	return p == MAP_FAILED ? NULL : p;
}

/* @p maps the whole buffer: bytes cross both ways with the frontend. */
static void check_map(struct zc_gbuf *b, uint8_t *p)
{
	long off;

	zc_fill_pattern(b->ga.map, W, H, PITCH, SEED_A);
	off = zc_check_pattern(p, W, H, PITCH, SEED_A);
	zc_assert_f(off == -1, "mapping differs at byte %ld", off);
	zc_fill_pattern(p, W, H, PITCH, SEED_B);
	off = zc_check_pattern(b->ga.map, W, H, PITCH, SEED_B);
	zc_assert_f(off == -1, "frontend sees a difference at byte %ld", off);
	zc_fill_pattern(b->ga.map, W, H, PITCH, SEED_A);
}

/* @p maps pages [@first, @first + @n) of the buffer: compare with the frontend. */
static void check_pages(struct zc_gbuf *b, const uint8_t *p, uint32_t first,
			uint32_t n)
{
	size_t i;

	for (i = 0; i < (size_t)n * PAGE; i += 64)
		zc_assert_f(p[i] == b->ga.map[(size_t)first * PAGE + i],
			    "page %u byte %zu differs", first, i);
}

static sigjmp_buf probe_env;

static void probe_handler(int sig)
{
	siglongjmp(probe_env, sig);
}

/*
 * Reads (or writes, if @write) the byte at @p. Returns the signal the
 * access raised (SIGBUS, SIGSEGV) or 0 if it went through. The mappings
 * are not inherited by a child (VM_DONTCOPY), so the fault is caught
 * here, in the subtest's own process.
 */
static int probe(void *p, int write)
{
	struct sigaction sa = { .sa_handler = probe_handler }, old_bus, old_segv;
	volatile uint8_t *addr = p;
	int sig;

	sigemptyset(&sa.sa_mask);
	zc_assert_ok(sigaction(SIGBUS, &sa, &old_bus));
	zc_assert_ok(sigaction(SIGSEGV, &sa, &old_segv));
	sig = sigsetjmp(probe_env, 1);
	if (!sig) {
		if (write)
			*addr = 0x77;
		else
			(void)*addr;
	}
	sigaction(SIGBUS, &old_bus, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	return sig;
}

/*
 * Runs @fn in a child that makes its own mappings; returns the signal that
 * killed the child, or 0x100 + its exit code.
 */
static int run_in_child(void (*fn)(void))
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	zc_assert(pid >= 0);
	if (pid == 0) {
		signal(SIGBUS, SIG_DFL);
		signal(SIGSEGV, SIG_DFL);
		fn();
		_exit(0);
	}
	zc_assert_ok(waitpid(pid, &status, 0));
	if (WIFSIGNALED(status))
		return WTERMSIG(status);
	return 0x100 + WEXITSTATUS(status);
}

/* Whether [@p, @p + @len) is mapped in this process. */
static int mapped(void *p, size_t len)
{
	unsigned char vec[64];

	if (!mincore(p, len, vec))
		return 1;
	zc_assert_eq(errno, ENOMEM);
	return 0;
}

/*
 * munmap of a part: the PV mapping cannot be split and refuses with
 * EINVAL; anything else must leave a working rest. Either way no oops,
 * and the whole mapping unmaps cleanly afterwards.
 */
static void test_munmap_part(void)
{
	static const long parts[][2] = {
		{ 1, 1 },		/* a page in the middle */
		{ 0, 1 },		/* the head */
		{ PAGES - 1, 1 },	/* the tail */
		{ 0, PAGES - 1 },	/* all but the last */
	};
	static struct zc_gbuf b;
	unsigned int i;
	uint8_t *p;
	int ret;

	zc_baseline_start(&base);
	buf_get(&b, SEED_A);

	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		p = map_drm(&b, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED);
		zc_assert(p);
		zc_assert_eq(zc_stat("pv_user_grants"), user_grants(PAGES));

		ret = munmap(p + parts[i][0] * PAGE, parts[i][1] * PAGE);
		zc_info("munmap of pages %ld+%ld: %d (%s)\n", parts[i][0],
			parts[i][1], ret, ret ? strerror(errno) : "ok");
		if (ret) {
			zc_assert_eq(errno, EINVAL);
			/* Refused: the whole mapping still works. */
			zc_assert(mapped(p, SIZE));
			zc_assert_eq(zc_stat("pv_user_grants"),
				     user_grants(PAGES));
			check_map(&b, p);
			zc_assert_ok(munmap(p, SIZE));
		} else {
			/* Done: the rest is mapped and shows the buffer. */
			zc_assert(!mapped(p + parts[i][0] * PAGE, PAGE));
			if (parts[i][0])
				check_pages(&b, p, 0, 1);
			else
				check_pages(&b, p + PAGES * PAGE - PAGE,
					    PAGES - 1, 1);
			zc_assert_ok(munmap(p, SIZE));
		}
		zc_assert_eq(zc_stat("pv_user_grants"), base.v[ST_USER]);
	}

	/* Another mapping put over a part of it (MAP_FIXED) unmaps that part. */
	p = map_drm(&b, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED);
	zc_assert(p);
	{
		void *q = mmap(p + 2 * PAGE, PAGE, PROT_READ,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

		zc_info("MAP_FIXED over page 2: %s\n",
			q == MAP_FAILED ? strerror(errno) : "done");
		if (q == MAP_FAILED) {
			zc_assert_eq(zc_stat("pv_user_grants"),
				     user_grants(PAGES));
			check_map(&b, p);
		} else {
			zc_assert_eq(((uint8_t *)q)[9], 0);
			check_pages(&b, p, 0, 2);
		}
	}
	zc_assert_ok(munmap(p, SIZE));
	zc_assert_eq(zc_stat("pv_user_grants"), base.v[ST_USER]);

	/* The same through the dma-buf. */
	p = map_dmabuf(&b, SIZE, 0, PROT_READ | PROT_WRITE, MAP_SHARED);
	zc_assert(p);
	ret = munmap(p + PAGE, PAGE);
	if (ret)
		zc_assert_eq(errno, EINVAL);
	else
		check_pages(&b, p, 0, 1);
	zc_assert_ok(munmap(p, SIZE));

	zc_gbuf_put(&b);
	zc_baseline_finish(&base, 3000);
}

static struct zc_gbuf *child_buf;
static uint8_t *child_addr;

static void child_touch(void)
{
	(void)*(volatile uint8_t *)child_addr;
}

/* An address range of @len nobody uses, to mremap to. */
static void *free_range(size_t len)
{
	void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	zc_assert(p != MAP_FAILED);
	zc_assert_ok(munmap(p, len));
	return p;
}

/* In a child: map the buffer, move the mapping, read it: SIGBUS. */
static void child_mremap_read(void)
{
	uint8_t *p = map_drm(child_buf, SIZE, PROT_READ | PROT_WRITE,
			     MAP_SHARED), *q;

	if (!p || p[5] != child_buf->ga.map[5])
		_exit(1);
	q = mremap(p, SIZE, SIZE, MREMAP_MAYMOVE | MREMAP_FIXED,
		   free_range(SIZE));
	if (q == MAP_FAILED)
		_exit(2);
	(void)*(volatile uint8_t *)(q + PAGE);
	_exit(3);
}

/* In a child: map the buffer, make it read-only, read it: SIGBUS. */
static void child_mprotect_read(void)
{
	uint8_t *p = map_dmabuf(child_buf, SIZE, 0, PROT_READ | PROT_WRITE,
				MAP_SHARED);

	if (!p || p[5] != child_buf->ga.map[5])
		_exit(1);
	if (mprotect(p, SIZE, PROT_READ))
		_exit(2);
	(void)*(volatile uint8_t *)(p + SIZE - 1);
	_exit(3);
}

/*
 * mremap: growing and moving a part are refused; moving the whole mapping
 * works, the grants are unmapped on the way, and the new place has no
 * pages: access faults with SIGBUS. Nothing leaks.
 */
static void test_mremap(void)
{
	static struct zc_gbuf b;
	uint8_t *p, *q, *to;
	int sig;

	zc_baseline_start(&base);
	buf_get(&b, SEED_A);

	p = map_drm(&b, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED);
	zc_assert(p);

	/* Growing in place or by moving: the mapping cannot expand. */
	zc_assert(mremap(p, SIZE, SIZE + PAGE, 0) == MAP_FAILED);
	zc_assert(mremap(p, SIZE, SIZE + PAGE, MREMAP_MAYMOVE) == MAP_FAILED);
	/* Shrinking unmaps a part: refused like a partial munmap, or done. */
	q = mremap(p, SIZE, SIZE - PAGE, 0);
	zc_info("mremap shrink: %s\n", q == MAP_FAILED ? strerror(errno) : "done");
	if (q == MAP_FAILED) {
		zc_assert_eq(errno, EINVAL);
		zc_assert_eq(zc_stat("pv_user_grants"), user_grants(PAGES));
		check_map(&b, p);
	} else {
		zc_assert_ok(munmap(p, SIZE - PAGE));
		p = map_drm(&b, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED);
		zc_assert(p);
	}

	/*
	 * Moving a part of it would split it: the PV mapping refuses; the
	 * auto-translated PFN map moves it, and the moved page is still the
	 * buffer's page 1. Then map the whole buffer again.
	 */
	to = free_range(SIZE);
	q = mremap(p + PAGE, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	if (zc_is_pv()) {
		zc_assert(q == MAP_FAILED);
	} else {
		zc_assert(q == to);
		zc_assert(!mapped(p + PAGE, PAGE));
		check_pages(&b, q, 1, 1);
		check_pages(&b, p, 0, 1);
		zc_assert_ok(munmap(q, PAGE));
		zc_assert_ok(munmap(p, SIZE));
		p = map_drm(&b, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED);
		zc_assert(p);
	}
	zc_assert_eq(zc_stat("pv_user_grants"), user_grants(PAGES));
	check_map(&b, p);

	/* Moving it whole. */
	q = mremap(p, SIZE, SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	zc_assert(q != MAP_FAILED);
	zc_assert(q == to);
	zc_assert(!mapped(p, PAGE));
	zc_assert(mapped(q, SIZE));
	/* The grants went with the old entries. */
	zc_assert_eq(zc_stat("pv_user_grants"), base.v[ST_USER]);
	sig = probe(q, 0);
	zc_info("read after mremap: signal %d\n", sig);
	if (zc_is_pv()) {
		zc_assert_eq(sig, SIGBUS);
		zc_assert_eq(probe(q + SIZE - 1, 1), SIGBUS);
	} else {
		zc_assert_eq(sig, 0);
	}
	/* The same in a child, which the fault kills. */
	child_buf = &b;
	zc_assert_eq(run_in_child(child_mremap_read), zc_is_pv() ? SIGBUS : 0x103);
	zc_assert_eq(zc_stat("pv_user_grants"), base.v[ST_USER]);

	/* The moved mapping still holds the buffer. */
	close(b.dmabuf);
	b.dmabuf = -1;
	close(b.fd);
	b.fd = -1;
	zc_assert_eq(zc_stat("from_refs_objects"), base.v[ST_OBJECTS] + 1);
	zc_assert_ok(munmap(q, SIZE));
	zc_assert_eq(zc_stat("from_refs_objects"), base.v[ST_OBJECTS]);

	zc_gbuf_put(&b);
	zc_baseline_finish(&base, 3000);
}

/*
 * mprotect: a part is refused (the mapping cannot split); changing the
 * whole mapping unmaps the grants, and access then faults with SIGBUS.
 */
static void test_mprotect(void)
{
	static struct zc_gbuf b;
	uint8_t *p;
	int ret;

	zc_baseline_start(&base);
	buf_get(&b, SEED_A);

	p = map_drm(&b, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED);
	zc_assert(p);
	ret = mprotect(p + PAGE, PAGE, PROT_READ);
	zc_info("mprotect of a page: %s\n", ret ? strerror(errno) : "done");
	if (ret) {
		zc_assert_eq(errno, EINVAL);
		zc_assert_eq(zc_stat("pv_user_grants"), user_grants(PAGES));
		check_map(&b, p);
	}
	/* Asking for what it already has changes nothing. */
	zc_assert_ok(mprotect(p, SIZE, PROT_READ | PROT_WRITE));
	zc_assert_eq(zc_stat("pv_user_grants"), user_grants(PAGES));
	check_map(&b, p);

	zc_assert_ok(mprotect(p, SIZE, PROT_READ));
	if (zc_is_pv()) {
		zc_assert_eq(zc_stat("pv_user_grants"), base.v[ST_USER]);
		zc_assert_eq(probe(p, 0), SIGBUS);
		zc_assert_eq(probe(p + SIZE - 1, 0), SIGBUS);
	}
	/* And back to writable: still nothing mapped, no grant made. */
	zc_assert_ok(mprotect(p, SIZE, PROT_READ | PROT_WRITE));
	if (zc_is_pv()) {
		zc_assert_eq(zc_stat("pv_user_grants"), base.v[ST_USER]);
		zc_assert_eq(probe(p + PAGE, 1), SIGBUS);
	}
	zc_assert_ok(munmap(p, SIZE));

	/* A read-only mapping made writable. */
	p = map_dmabuf(&b, SIZE, 0, PROT_READ, MAP_SHARED);
	zc_assert(p);
	zc_assert_eq(zc_stat("pv_user_grants"), user_grants(PAGES));
	check_pages(&b, p, 0, PAGES);
	zc_assert_ok(mprotect(p, SIZE, PROT_READ | PROT_WRITE));
	if (zc_is_pv()) {
		zc_assert_eq(zc_stat("pv_user_grants"), base.v[ST_USER]);
		zc_assert_eq(probe(p, 1), SIGBUS);
	}
	zc_assert_ok(munmap(p, SIZE));

	/* The same in a child, which the fault kills. */
	child_buf = &b;
	zc_assert_eq(run_in_child(child_mprotect_read), zc_is_pv() ? SIGBUS : 0x103);
	zc_assert_eq(zc_stat("pv_user_grants"), base.v[ST_USER]);

	/* The buffer itself is unharmed: a new mapping works. */
	p = map_drm(&b, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED);
	zc_assert(p);
	check_map(&b, p);
	zc_assert_ok(munmap(p, SIZE));

	zc_gbuf_put(&b);
	zc_baseline_finish(&base, 3000);
}

/*
 * fork with live mappings: on x86 PV the child has none of them
 * (VM_DONTCOPY); auto-translated PFN maps are copied and the child
 * inherits them, seeing the same buffer. Either way the parent's keep
 * working and keep their grants, before and after the child exits.
 */
static void test_fork(void)
{
	static struct zc_gbuf b;
	uint8_t *p, *q, expect, expect_b;
	int status;
	bool pv;
	pid_t pid;

	zc_baseline_start(&base);
	pv = zc_is_pv();
	buf_get(&b, SEED_A);
	p = map_drm(&b, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED);
	zc_assert(p);
	q = map_dmabuf(&b, SIZE, 0, PROT_READ, MAP_SHARED);
	zc_assert(q);
	zc_assert_eq(zc_stat("pv_user_grants"), user_grants(2 * PAGES));

	/*
	 * The parent writes pattern B and then A again while the child
	 * reads: a byte the child reads holds either value.
	 */
	expect = b.ga.map[PAGE + 5];
	{
		uint8_t *tmp = malloc(SIZE);

		zc_assert(tmp);
		zc_fill_pattern(tmp, W, H, PITCH, SEED_B);
		expect_b = tmp[PAGE + 5];
		free(tmp);
	}
	fflush(NULL);
	pid = fork();
	zc_assert(pid >= 0);
	if (pid == 0) {
		unsigned char vec[PAGES];
		int ok;

		if (pv)
			ok = mincore(p, SIZE, vec) && errno == ENOMEM &&
			     mincore(q, SIZE, vec) && errno == ENOMEM;
		else
			ok = !mincore(p, SIZE, vec) && !mincore(q, SIZE, vec) &&
			     (q[PAGE + 5] == expect || q[PAGE + 5] == expect_b);

		/* The child's own view of the buffer still works. */
		if (ok) {
			void *r = map_dmabuf(&b, SIZE, 0, PROT_READ, MAP_SHARED);

			ok = r && (((uint8_t *)r)[PAGE + 5] == expect ||
				   ((uint8_t *)r)[PAGE + 5] == expect_b);
			if (r)
				munmap(r, SIZE);
		}
		_exit(ok ? 0 : 1);
	}
	/* The parent writes while the child runs. */
	check_map(&b, p);
	zc_assert_ok(waitpid(pid, &status, 0));
	zc_assert(WIFEXITED(status));
	zc_assert_f(WEXITSTATUS(status) == 0,
		    pv ? "the child inherited a mapping or could not map its own" :
			 "the child did not inherit the mappings or could not map its own");

	zc_assert_eq(zc_stat("pv_user_grants"), user_grants(2 * PAGES));
	check_map(&b, p);
	check_pages(&b, q, 0, PAGES);

	/* A child that touches the parent's address faults (on PV). */
	child_addr = p;
	zc_assert_eq(run_in_child(child_touch), pv ? SIGSEGV : 0x100);
	check_map(&b, p);

	zc_assert_ok(munmap(p, SIZE));
	zc_assert_ok(munmap(q, SIZE));
	zc_gbuf_put(&b);
	zc_baseline_finish(&base, 3000);
}

/* mmap of the dma-buf at an offset into the buffer, of any length. */
static void test_mmap_offset(void)
{
	static const uint32_t cases[][2] = {
		{ 1, 1 }, { 5, 7 }, { PAGES - 1, 1 }, { 1, PAGES - 1 },
		{ 0, PAGES },
	};
	static struct zc_gbuf b;
	unsigned int i;
	uint8_t *p;

	zc_baseline_start(&base);
	buf_get(&b, SEED_A);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t first = cases[i][0], n = cases[i][1];

		p = map_dmabuf(&b, (size_t)n * PAGE, first,
			       PROT_READ | PROT_WRITE, MAP_SHARED);
		zc_assert_f(p, "pages %u+%u", first, n);
		zc_assert_eq(zc_stat("pv_user_grants"), user_grants(n));
		check_pages(&b, p, first, n);
		/* A write lands in the frontend's page at that offset. */
		p[(size_t)n * PAGE - 3] ^= 0xff;
		zc_assert_eq(p[(size_t)n * PAGE - 3],
			     b.ga.map[(size_t)(first + n) * PAGE - 3]);
		zc_assert_ok(munmap(p, (size_t)n * PAGE));
		zc_assert_eq(zc_stat("pv_user_grants"), base.v[ST_USER]);
	}

	/* The DRM node only maps whole objects at their offset. */
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, b.fd, b.offset + PAGE);
	zc_assert(p == MAP_FAILED);

	zc_gbuf_put(&b);
	zc_baseline_finish(&base, 3000);
}

/* Mappings that reach beyond the buffer are refused with EINVAL. */
static void test_mmap_beyond(void)
{
	static struct zc_gbuf b;
	void *p;

	zc_baseline_start(&base);
	buf_get(&b, SEED_A);

	errno = 0;
	p = mmap(NULL, SIZE + PAGE, PROT_READ, MAP_SHARED, b.fd, b.offset);
	zc_assert(p == MAP_FAILED);
	zc_assert_eq(errno, EINVAL);

	errno = 0;
	zc_assert(!map_dmabuf(&b, SIZE + PAGE, 0, PROT_READ, MAP_SHARED));
	zc_assert_eq(errno, EINVAL);
	errno = 0;
	zc_assert(!map_dmabuf(&b, 2 * PAGE, PAGES - 1, PROT_READ, MAP_SHARED));
	zc_assert_eq(errno, EINVAL);
	errno = 0;
	zc_assert(!map_dmabuf(&b, PAGE, PAGES, PROT_READ, MAP_SHARED));
	zc_assert_eq(errno, EINVAL);
	errno = 0;
	zc_assert(!map_dmabuf(&b, PAGE, 1UL << 40, PROT_READ, MAP_SHARED));
	zc_assert_eq(errno, EINVAL);

	zc_assert_eq(zc_stat("pv_user_grants"), base.v[ST_USER]);
	zc_gbuf_put(&b);
	zc_baseline_finish(&base, 3000);
}

/*
 * A private writable mapping would write to a copy nobody shares: EINVAL.
 * A private read-only one is fine and shows the buffer.
 */
static void test_private(void)
{
	static struct zc_gbuf b;

	zc_baseline_start(&base);
	buf_get(&b, SEED_A);

	errno = 0;
	zc_assert(!map_drm(&b, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE));
	zc_assert_eq(errno, EINVAL);
	errno = 0;
	zc_assert(!map_dmabuf(&b, SIZE, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE));
	zc_assert_eq(errno, EINVAL);
	zc_assert_eq(zc_stat("pv_user_grants"), base.v[ST_USER]);

	/*
	 * Read-only too: a private mapping of a file opened for writing
	 * may become writable (mprotect), and its pages would then be
	 * copies nobody shares.
	 */
	errno = 0;
	zc_assert(!map_drm(&b, SIZE, PROT_READ, MAP_PRIVATE));
	zc_assert_eq(errno, EINVAL);
	errno = 0;
	zc_assert(!map_dmabuf(&b, SIZE, 0, PROT_READ, MAP_PRIVATE));
	zc_assert_eq(errno, EINVAL);
	zc_assert_eq(zc_stat("pv_user_grants"), base.v[ST_USER]);

	zc_gbuf_put(&b);
	zc_baseline_finish(&base, 3000);
}

/* A read-only mapping: reads work, a write faults with SIGSEGV. */
static void test_readonly_write(void)
{
	static struct zc_gbuf b;
	uint8_t *p, *q;

	zc_baseline_start(&base);
	buf_get(&b, SEED_A);

	p = map_drm(&b, SIZE, PROT_READ, MAP_SHARED);
	zc_assert(p);
	q = map_dmabuf(&b, SIZE, 0, PROT_READ, MAP_SHARED);
	zc_assert(q);
	check_pages(&b, p, 0, PAGES);
	check_pages(&b, q, 0, PAGES);

	zc_assert_eq(probe(p, 1), SIGSEGV);
	zc_assert_eq(probe(q + SIZE - 1, 1), SIGSEGV);
	/* The failed writes changed nothing; reads still work. */
	zc_assert_eq(zc_check_pattern(b.ga.map, W, H, PITCH, SEED_A), -1);
	zc_assert_eq(zc_check_pattern(p, W, H, PITCH, SEED_A), -1);
	zc_assert_eq(zc_stat("pv_user_grants"), user_grants(2 * PAGES));

	zc_assert_ok(munmap(p, SIZE));
	zc_assert_ok(munmap(q, SIZE));
	zc_gbuf_put(&b);
	zc_baseline_finish(&base, 3000);
}

/* The two ways to map, each with its own fake offset and file. */
static void test_dmabuf_and_map_dumb(void)
{
	static struct zc_gbuf b, c;
	uint8_t *p, *q, *r;

	zc_baseline_start(&base);
	buf_get(&b, SEED_A);
	buf_get(&c, SEED_B);
	/* Distinct objects, distinct offsets. */
	zc_assert_neq(b.offset, c.offset);

	p = map_drm(&b, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED);
	zc_assert(p);
	q = map_dmabuf(&b, SIZE, 0, PROT_READ | PROT_WRITE, MAP_SHARED);
	zc_assert(q);
	r = map_drm(&c, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED);
	zc_assert(r);
	zc_assert_eq(zc_stat("pv_user_grants"), user_grants(3 * PAGES));

	check_map(&b, p);
	check_map(&b, q);
	zc_assert_eq(zc_check_pattern(r, W, H, PITCH, SEED_B), -1);
	/* A write through one mapping shows through the other. */
	p[123] = 0xee;
	zc_assert_eq(q[123], 0xee);
	q[SIZE - 1] = 0x11;
	zc_assert_eq(p[SIZE - 1], 0x11);

	/* Another file cannot use our offset. */
	{
		int fd2 = zc_xen_open();
		void *x;

		zc_assert(fd2 >= 0);
		x = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd2, b.offset);
		zc_assert(x == MAP_FAILED);
		zc_assert_eq(errno, EACCES);
		close(fd2);
	}

	zc_assert_ok(munmap(p, SIZE));
	zc_assert_ok(munmap(q, SIZE));
	zc_assert_ok(munmap(r, SIZE));
	zc_gbuf_put(&c);
	zc_gbuf_put(&b);
	zc_baseline_finish(&base, 3000);
}

/*
 * A process that exits with live mappings (of both kinds, and of a buffer
 * whose handles it closed) leaves nothing behind.
 */
static void test_exit_with_mappings(void)
{
	struct zc_gntalloc ga;
	int status, i;
	uint8_t expect;
	pid_t pid;

	zc_baseline_start(&base);
	ga.fd = -1;
	zc_assert_ok(zc_gntalloc_alloc(&ga, 0, PAGES, true));
	zc_fill_pattern(ga.map, W, H, PITCH, SEED_A);
	expect = ga.map[7];

	for (i = 0; i < 3; i++) {
		fflush(NULL);
		pid = fork();
		zc_assert(pid >= 0);
		if (pid == 0) {
			struct drm_xen_zcopy_dumb_from_refs r;
			struct drm_mode_map_dumb m = { 0 };
			int fd = zc_xen_open(), dmabuf, k;
			uint8_t *p;

			if (fd < 0 || zc_from_refs(fd, ga.refs, PAGES, 0, W, H,
						   32, &r) ||
			    zc_prime_export(fd, r.dumb.handle, &dmabuf))
				_exit(2);
			m.handle = r.dumb.handle;
			if (drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &m))
				_exit(3);
			for (k = 0; k < 4; k++) {
				p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE,
					 MAP_SHARED, k & 1 ? dmabuf : fd,
					 k & 1 ? 0 : m.offset);
				if (p == MAP_FAILED || p[7] != expect)
					_exit(4);
			}
			/* i == 1: only the mappings hold the buffer. */
			if (i == 1) {
				close(dmabuf);
				close(fd);
			}
			/* i == 2: killed rather than exiting. */
			if (i == 2)
				raise(SIGKILL);
			_exit(0);
		}
		zc_assert_ok(waitpid(pid, &status, 0));
		if (i == 2) {
			zc_assert(WIFSIGNALED(status));
		} else {
			zc_assert(WIFEXITED(status));
			zc_assert_eq(WEXITSTATUS(status), 0);
		}
		zc_assert_f(zc_stats_wait_baseline(&base, 3000) == 0,
			    "child %d left something behind", i);
	}

	zc_gntalloc_free(&ga);
	zc_baseline_finish(&base, 3000);
}

/*
 * What else the core mm may be asked to do with a mapping: madvise,
 * mlock, msync, the kernel copying to and from it, /proc/self/mem, and
 * clearing the soft-dirty bits of the whole process (which never touches
 * VM_PFNMAP entries): none of it may break the mapping or leak a grant.
 */
static void test_mm_ops(void)
{
	int pfd[2], fd, ret;
	static struct zc_gbuf b;
	uint8_t *p, buf[64];

	zc_baseline_start(&base);
	buf_get(&b, SEED_A);
	p = map_drm(&b, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED);
	zc_assert(p);

	/*
	 * PFN maps, on x86 PV and auto-translated alike: there are no pages
	 * of the process to drop or to fork.
	 */
	zc_assert_errno(madvise(p, SIZE, MADV_DONTNEED), EINVAL);
	zc_assert_errno(madvise(p, SIZE, MADV_DOFORK), EINVAL);
	check_map(&b, p);
	ret = madvise(p, SIZE, MADV_WILLNEED);
	zc_info("MADV_WILLNEED: %s\n", ret ? strerror(errno) : "ok");
	ret = madvise(p, SIZE, MADV_COLD);
	zc_info("MADV_COLD: %s\n", ret ? strerror(errno) : "ok");
	ret = mlock(p, SIZE);
	zc_info("mlock: %s\n", ret ? strerror(errno) : "ok");
	if (!ret)
		zc_assert_ok(munlock(p, SIZE));
	/* MS_SYNC would fsync the DRM file, which has no fsync: EINVAL. */
	zc_assert_ok(msync(p, SIZE, MS_ASYNC));
	zc_assert_ok(msync(p, SIZE, MS_INVALIDATE));
	zc_assert_eq(zc_stat("pv_user_grants"), user_grants(PAGES));
	check_map(&b, p);

	/* The kernel copies from and to the mapping like any user memory. */
	zc_assert_ok(pipe(pfd));
	zc_assert_eq(write(pfd[1], p + PAGE, sizeof(buf)), sizeof(buf));
	zc_assert_eq(read(pfd[0], buf, sizeof(buf)), sizeof(buf));
	zc_assert(!memcmp(buf, b.ga.map + PAGE, sizeof(buf)));
	memset(buf, 0x6b, sizeof(buf));
	zc_assert_eq(write(pfd[1], buf, sizeof(buf)), sizeof(buf));
	zc_assert_eq(read(pfd[0], p + 2 * PAGE, sizeof(buf)), sizeof(buf));
	zc_assert(!memcmp(b.ga.map + 2 * PAGE, buf, sizeof(buf)));
	close(pfd[0]);
	close(pfd[1]);

	/* No struct pages to pin: /proc/self/mem cannot reach it, cleanly. */
	fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	zc_assert(fd >= 0);
	ret = pread(fd, buf, sizeof(buf), (off_t)(uintptr_t)p);
	zc_info("/proc/self/mem read: %d (%s)\n", ret, ret < 0 ? strerror(errno) : "ok");
	if (ret > 0)
		zc_assert(!memcmp(buf, p, ret));
	close(fd);

	/* Clearing soft-dirty bits of the whole process. */
	fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		zc_assert_eq(write(fd, "4", 1), 1);
		close(fd);
		ret = probe(p, 0);
		zc_info("after clear_refs: signal %d, %ld user grants\n", ret,
			zc_stat("pv_user_grants"));
		zc_assert_eq(ret, 0);
		zc_assert_eq(zc_stat("pv_user_grants"), user_grants(PAGES));
		check_map(&b, p);
	}

	zc_assert_eq(zc_stat("pv_user_grants"), user_grants(PAGES));
	zc_assert_ok(munmap(p, SIZE));
	zc_gbuf_put(&b);
	zc_baseline_finish(&base, 3000);
}

/*
 * An imported buffer through our DRM node: the exporter maps its own
 * pages, through its own dma-buf. MODE_MAP_DUMB refuses imports, and they
 * have no fake offset to guess either (a DRM node mmap of an exporter
 * that lacks VM_DONTEXPAND would WARN in the core): no offset around
 * ours maps anything but our own buffer.
 */
static void test_import_map(void)
{
	struct drm_mode_map_dumb m = { 0 };
	struct zc_dumb d;
	static struct zc_gbuf b;
	int vgem, dmabuf;
	uint64_t off;
	uint32_t zh;
	void *p;

	zc_baseline_start(&base);
	vgem = zc_drm_open_driver("vgem", NULL);
	zc_require(vgem >= 0);
	zc_assert_ok(zc_dumb_create(vgem, W, H, 32, &d));
	zc_assert_ok(zc_prime_export(vgem, d.handle, &dmabuf));

	buf_get(&b, SEED_A);
	zc_assert_ok(zc_prime_import(b.fd, dmabuf, &zh));
	m.handle = zh;
	zc_assert_errno(drmIoctl(b.fd, DRM_IOCTL_MODE_MAP_DUMB, &m), EINVAL);

	/* Offsets are handed out in order: an import's would follow ours. */
	for (off = b.offset + SIZE; off <= b.offset + 8 * SIZE; off += PAGE) {
		p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, b.fd, off);
		zc_assert_f(p == MAP_FAILED,
			    "offset +%llu of our node maps an import",
			    (unsigned long long)(off - b.offset));
		zc_assert_eq(errno, EINVAL);
	}
	/* Our own buffer still maps at its offset. */
	p = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, b.fd, b.offset);
	zc_assert(p != MAP_FAILED);
	check_pages(&b, p, 0, PAGES);
	zc_assert_ok(munmap(p, SIZE));

	zc_assert_ok(zc_gem_close(b.fd, zh));
	close(dmabuf);
	close(vgem);
	zc_gbuf_put(&b);
	zc_baseline_finish(&base, 3000);
}

/* Many mappings of one buffer at once, all live and coherent. */
#define NMAPS	40

static void test_many_mappings(void)
{
	uint8_t *p[NMAPS];
	static struct zc_gbuf b;
	int i, j;

	zc_baseline_start(&base);
	buf_get(&b, SEED_A);

	for (i = 0; i < NMAPS; i++) {
		if (i % 3 == 2)
			p[i] = map_dmabuf(&b, SIZE, 0, PROT_READ | PROT_WRITE,
					  MAP_SHARED);
		else
			p[i] = map_drm(&b, SIZE, PROT_READ | PROT_WRITE,
				       MAP_SHARED);
		zc_assert_f(p[i], "mapping %d", i);
	}
	zc_assert_eq(zc_stat("pv_user_grants"), user_grants(NMAPS * PAGES));

	/* Each mapping writes its mark; all of them and the frontend see it. */
	for (i = 0; i < NMAPS; i++) {
		size_t off = ((size_t)i * 977 * 4) % SIZE;

		p[i][off] = (uint8_t)(i + 1);
		for (j = 0; j < NMAPS; j++)
			zc_assert_eq(p[j][off], (uint8_t)(i + 1));
		zc_assert_eq(b.ga.map[off], (uint8_t)(i + 1));
	}

	/* Unmap every other one; the rest still works. */
	for (i = 0; i < NMAPS; i += 2)
		zc_assert_ok(munmap(p[i], SIZE));
	zc_assert_eq(zc_stat("pv_user_grants"),
		     user_grants(NMAPS / 2 * PAGES));
	zc_fill_pattern(b.ga.map, W, H, PITCH, SEED_B);
	for (i = 1; i < NMAPS; i += 2)
		zc_assert_eq(zc_check_pattern(p[i], W, H, PITCH, SEED_B), -1);

	/* Closing every handle: the mappings keep the buffer. */
	zc_gbuf_put(&b);
	zc_assert_eq(zc_stat("from_refs_objects"), base.v[ST_OBJECTS] + 1);
	for (i = 1; i < NMAPS; i += 2)
		zc_assert_ok(munmap(p[i], SIZE));
	zc_baseline_finish(&base, 3000);
}

/* vmap: vkms scanning out our buffer through two imports at once. */
#define KW	1024
#define KH	768
#define KPAGES	(KW * 4 * KH / PAGE)

static struct zc_kms kms;

static uint32_t add_fb(uint32_t handle)
{
	uint32_t handles[4] = { handle }, pitches[4] = { KW * 4 };
	uint32_t offsets[4] = { 0 }, fb;

	zc_assert_ok(drmModeAddFB2(kms.fd, KW, KH, DRM_FORMAT_XRGB8888, handles,
				   pitches, offsets, &fb, 0));
	return fb;
}

static void test_vmap_shared(void)
{
	uint32_t crc_a, crc, h1, h2, fb1, fb2, nh;
	struct zc_dumb nd;
	static struct zc_gbuf b;
	uint32_t *npx;
	int vkms2;

	zc_baseline_start(&base);
	zc_kms_get(&kms, KW, KH);

	/* The reference CRC from a native buffer. */
	npx = zc_kms_native(&kms, KW, KH, &nd);
	crc_a = zc_kms_native_crc(&kms, &nd, npx, SEED_A);

	buf_get_wh(&b, KW, KH, SEED_A);

	/*
	 * Two vkms objects of our dma-buf: import, make an fb, drop the
	 * handle (and with it vkms' cache of the import), import again.
	 */
	zc_assert_ok(zc_prime_import(kms.fd, b.dmabuf, &h1));
	fb1 = add_fb(h1);
	zc_assert_ok(zc_gem_close(kms.fd, h1));
	zc_assert_ok(zc_prime_import(kms.fd, b.dmabuf, &h2));
	fb2 = add_fb(h2);

	/* A third import from another open file of vkms. */
	vkms2 = zc_drm_open_driver("vkms", NULL);
	zc_assert(vkms2 >= 0);
	zc_assert_ok(zc_prime_import(vkms2, b.dmabuf, &nh));

	zc_assert_ok(drmModeSetCrtc(kms.fd, kms.crtc_id, fb1, 0, 0, &kms.conn_id,
				    1, &kms.mode));
	zc_assert_ok(zc_crc_current(&kms, &crc));
	zc_assert_eq(crc, crc_a);
	/* One kernel mapping of our pages, however many importers. */
	zc_assert_eq(zc_stat("pv_vmap_grants"),
		     base.v[ST_VMAP] + (zc_is_pv() ? KPAGES : 0));

	/* Flip to the other import: both are mapped during the commit. */
	zc_assert_ok(drmModeSetCrtc(kms.fd, kms.crtc_id, fb2, 0, 0, &kms.conn_id,
				    1, &kms.mode));
	zc_assert_ok(zc_crc_current(&kms, &crc));
	zc_assert_eq(crc, crc_a);
	zc_assert_eq(zc_stat("pv_vmap_grants"),
		     base.v[ST_VMAP] + (zc_is_pv() ? KPAGES : 0));

	/* And a CPU mapping of our own on top. */
	{
		uint8_t *p = map_dmabuf(&b, (size_t)KPAGES * PAGE, 0,
					PROT_READ, MAP_SHARED);

		zc_assert(p);
		zc_assert_eq(zc_check_pattern(p, KW, KH, KW * 4, SEED_A), -1);
		zc_assert_ok(munmap(p, (size_t)KPAGES * PAGE));
	}

	/*
	 * Back to the native buffer: the kernel mapping lives as long as the
	 * buffer, not per vmap, so flips cost no grant maps.
	 */
	zc_assert_ok(drmModeSetCrtc(kms.fd, kms.crtc_id, kms.fb_id, 0, 0,
				    &kms.conn_id, 1, &kms.mode));
	zc_assert_eq(zc_stat("pv_vmap_grants"),
		     base.v[ST_VMAP] + (zc_is_pv() ? KPAGES : 0));
	zc_assert_ok(drmModeRmFB(kms.fd, fb1));
	zc_assert_ok(drmModeRmFB(kms.fd, fb2));
	zc_assert_ok(zc_gem_close(kms.fd, h2));
	close(vkms2);

	zc_kms_fini(&kms);
	zc_gbuf_put(&b);
	zc_baseline_finish(&base, 3000);
}

static const struct zc_subtest subtests[] = {
	{ "munmap-part", test_munmap_part },
	{ "mremap", test_mremap },
	{ "mprotect", test_mprotect },
	{ "fork", test_fork },
	{ "mmap-offset", test_mmap_offset },
	{ "mmap-beyond", test_mmap_beyond },
	{ "private", test_private },
	{ "readonly-write", test_readonly_write },
	{ "dmabuf-and-map-dumb", test_dmabuf_and_map_dumb },
	{ "exit-with-mappings", test_exit_with_mappings },
	{ "mm-ops", test_mm_ops },
	{ "import-map", test_import_map },
	{ "many-mappings", test_many_mappings },
	{ "vmap-shared", test_vmap_shared },
	{ }
};

ZC_MAIN(subtests)
