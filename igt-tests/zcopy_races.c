// SPDX-License-Identifier: GPL-2.0
/*
 * Concurrency: several threads of one process drive the ioctls on one DRM
 * file at once. Every call must give one of the answers it may give at
 * that moment, nothing may leak or oops, and the counters come back to
 * their baseline. Loops are bounded by count, never by time.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zc_drm.h"
#include "zc_fixture.h"
#include "zc_gnt.h"
#include "zc_igt.h"
#include "zc_xen.h"

#define PAGE	4096
/* 64x64 XRGB8888: 4 pages. */
#define W	64
#define H	64
#define PAGES	(W * 4 * H / PAGE)

#define ST_GRANTED	3

static struct zc_stats base;

static struct zc_gntalloc ga;

static void ga_cleanup(void *data)
{
	zc_gntalloc_free(data);
}

static void ga_get(void)
{
	ga.fd = -1;
	zc_at_exit(ga_cleanup, &ga);
	zc_assert_ok(zc_gntalloc_alloc(&ga, 0, PAGES, true));
	memset(ga.map, 0x42, (size_t)PAGES * PAGE);
}

/* A thread failure: reported by the main thread after the join. */
static atomic_int bad_calls;
static char bad_what[256];

static void bad(const char *what, int ret)
{
	if (atomic_fetch_add(&bad_calls, 1) == 0)
		snprintf(bad_what, sizeof(bad_what), "%s returned %d (%s)",
			 what, ret, strerror(ret < 0 ? -ret : ret));
}

/* @ret must be 0 or one of the -errnos in @ok (0-terminated). */
static void expect(const char *what, int ret, const int *ok)
{
	if (!ret)
		return;
	for (; *ok; ok++)
		if (ret == -*ok)
			return;
	bad(what, ret);
}

/*
 * FROM_REFS, PRIME export, dma-buf mmap, GEM close, WAIT_FREE and TO_REFS
 * from four threads on one file, on buffers the threads share through a
 * table of (handle, wait handle) slots that any thread may close.
 */
#define SLOTS		16
#define THREADS		4
#define ITERATIONS	400

struct slot {
	_Atomic uint64_t hw;	/* handle << 32 | wait handle, 0 if empty */
};

static struct slot slots[SLOTS];
static int mixed_fd;
static atomic_int created, waited_free;

static void *mixed_thread(void *arg)
{
	static const int close_ok[] = { EINVAL, 0 };
	static const int export_ok[] = { ENOENT, 0 };
	static const int wait_ok[] = { ETIMEDOUT, ENOENT, 0 };
	static const int to_refs_ok[] = { EINVAL, ENOENT, 0 };
	unsigned int seed = (unsigned int)(uintptr_t)arg * 7919 + 1;
	int i, ret, dmabuf;

	for (i = 0; i < ITERATIONS; i++) {
		struct slot *s = &slots[rand_r(&seed) % SLOTS];
		uint64_t hw = atomic_load(&s->hw);
		uint32_t handle = hw >> 32, wait = (uint32_t)hw;
		uint32_t refs[PAGES];
		int op = rand_r(&seed) % 6;

		if (!hw || op == 0) {
			struct drm_xen_zcopy_dumb_from_refs r;

			ret = zc_from_refs(mixed_fd, ga.refs, PAGES, 0, W, H,
					   32, &r);
			if (ret) {
				bad("FROM_REFS", ret);
				continue;
			}
			atomic_fetch_add(&created, 1);
			hw = (uint64_t)r.dumb.handle << 32 | r.wait_handle;
			/* A buffer nobody can reach any more is closed. */
			hw = atomic_exchange(&s->hw, hw);
			if (hw)
				expect("GEM_CLOSE", zc_gem_close(mixed_fd, hw >> 32),
				       close_ok);
			continue;
		}

		switch (op) {
		case 1:
			ret = zc_prime_export(mixed_fd, handle, &dmabuf);
			expect("PRIME export", ret, export_ok);
			if (!ret) {
				uint8_t *p = mmap(NULL, PAGES * PAGE, PROT_READ,
						  MAP_SHARED, dmabuf, 0);

				if (p == MAP_FAILED)
					bad("dma-buf mmap", -errno);
				else if (p[PAGE + 1] != 0x42)
					bad("dma-buf content", -EIO);
				if (p != MAP_FAILED)
					munmap(p, PAGES * PAGE);
				close(dmabuf);
			}
			break;
		case 2:
			if (atomic_compare_exchange_strong(&s->hw, &hw, 0))
				expect("GEM_CLOSE", zc_gem_close(mixed_fd, handle),
				       close_ok);
			break;
		case 3:
			ret = zc_wait_free(mixed_fd, wait, rand_r(&seed) % 3);
			expect("WAIT_FREE", ret, wait_ok);
			if (!ret)
				atomic_fetch_add(&waited_free, 1);
			break;
		case 4:
			/* A FROM_REFS buffer is not an import: never granted. */
			ret = zc_to_refs(mixed_fd, handle, refs, PAGES, 0);
			if (!ret)
				bad("TO_REFS of a FROM_REFS buffer", 0);
			else
				expect("TO_REFS", ret, to_refs_ok);
			break;
		default:
			/* A close racing with another thread's use. */
			expect("GEM_CLOSE", zc_gem_close(mixed_fd, handle),
			       close_ok);
			atomic_compare_exchange_strong(&s->hw, &hw, 0);
			break;
		}
	}
	return NULL;
}

static void test_mixed_ioctls(void)
{
	pthread_t t[THREADS];
	int i;

	zc_baseline_start_drained(&base);
	ga_get();
	mixed_fd = zc_xen_open();
	zc_assert(mixed_fd >= 0);

	for (i = 0; i < THREADS; i++)
		zc_assert_ok(-pthread_create(&t[i], NULL, mixed_thread,
					     (void *)(uintptr_t)i));
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	zc_info("%d buffers created, %d waits saw the buffer freed\n",
		atomic_load(&created), atomic_load(&waited_free));
	zc_assert_f(atomic_load(&bad_calls) == 0, "%d bad answers, first: %s",
		    atomic_load(&bad_calls), bad_what);

	/* The survivors go with the file. */
	close(mixed_fd);
	zc_gntalloc_free(&ga);
	zc_baseline_finish(&base, 5000);
}

/*
 * WAIT_FREE in one thread, the last references dropped in another: the
 * waiter must wake with 0 every time.
 */
struct waiter {
	int fd;
	uint32_t wait;
	uint32_t ms;
	int ret;
	pthread_barrier_t *go;
	atomic_int tid;
	atomic_int done;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;

	atomic_store(&w->tid, gettid());
	if (w->go)
		pthread_barrier_wait(w->go);
	w->ret = zc_wait_free(w->fd, w->wait, w->ms);
	atomic_store(&w->done, 1);
	return NULL;
}

static void test_wait_free_vs_close(void)
{
	struct drm_xen_zcopy_dumb_from_refs r;
	pthread_barrier_t go;
	struct waiter w;
	pthread_t t;
	int fd, dmabuf, i;

	zc_baseline_start_drained(&base);
	ga_get();
	fd = zc_xen_open();
	zc_assert(fd >= 0);
	pthread_barrier_init(&go, NULL, 2);

	for (i = 0; i < 100; i++) {
		zc_assert_ok(zc_from_refs(fd, ga.refs, PAGES, 0, W, H, 32, &r));
		zc_assert_ok(zc_prime_export(fd, r.dumb.handle, &dmabuf));
		w = (struct waiter){ fd, r.wait_handle, 20000, 1, &go };
		zc_assert_ok(-pthread_create(&t, NULL, wait_thread, &w));
		pthread_barrier_wait(&go);
		if (i & 1)
			usleep(1000);
		/* The order varies: the handle or the dma-buf goes last. */
		if (i & 2) {
			zc_assert_ok(zc_gem_close(fd, r.dumb.handle));
			close(dmabuf);
		} else {
			close(dmabuf);
			zc_assert_ok(zc_gem_close(fd, r.dumb.handle));
		}
		pthread_join(t, NULL);
		/* ENOENT: the buffer was gone before the waiter looked. */
		zc_assert_f(w.ret == 0 || w.ret == -ENOENT,
			    "round %d: WAIT_FREE returned %d", i, w.ret);
	}

	close(fd);
	zc_gntalloc_free(&ga);
	zc_baseline_finish(&base, 5000);
}

/* Returns once the waiter's thread sleeps in WAIT_FREE. */
static void waiter_in_driver(struct waiter *w)
{
	int i;

	for (i = 0; i < 2000 && !atomic_load(&w->tid); i++)
		usleep(10000);
	zc_assert(atomic_load(&w->tid));
	zc_wait_in_driver(atomic_load(&w->tid), &w->done);
}

/*
 * The DRM file closed while another thread waits in WAIT_FREE on one of
 * its buffers. The waiter's ioctl holds the file, so the file (and with
 * it the buffer) goes only after the wait returns: the waiter must come
 * back by its timeout (or earlier), and then everything is released.
 */
static void test_close_fd_in_wait_free(void)
{
	struct drm_xen_zcopy_dumb_from_refs r;
	struct waiter w;
	pthread_t t;
	int fd, round;

	zc_baseline_start_drained(&base);
	ga_get();

	for (round = 0; round < 3; round++) {
		int dmabuf = -1;

		fd = zc_xen_open();
		zc_assert(fd >= 0);
		zc_assert_ok(zc_from_refs(fd, ga.refs, PAGES, 0, W, H, 32, &r));
		/* Round 1: a dma-buf keeps the buffer beyond the file. */
		if (round == 1)
			zc_assert_ok(zc_prime_export(fd, r.dumb.handle, &dmabuf));

		w = (struct waiter){ fd, r.wait_handle, 1500, 1, NULL };
		zc_assert_ok(-pthread_create(&t, NULL, wait_thread, &w));
		waiter_in_driver(&w);
		close(fd);
		pthread_join(t, NULL);
		zc_info("round %d: WAIT_FREE returned %d\n", round, w.ret);
		zc_assert_f(w.ret == 0 || w.ret == -ETIMEDOUT,
			    "WAIT_FREE returned %d", w.ret);

		if (dmabuf >= 0) {
			/* The wait handle went with the file, the buffer did not. */
			zc_assert_eq(zc_stat("from_refs_objects"), base.v[0] + 1);
			zc_assert_eq(zc_stat("wait_handles"), base.v[5]);
			close(dmabuf);
		}
		zc_assert_f(zc_stats_wait_baseline(&base, 3000) == 0,
			    "round %d left something behind", round);
	}

	/* Round 3: the waiter is on a second file of its own buffer. */
	fd = zc_xen_open();
	zc_assert(fd >= 0);
	zc_assert_ok(zc_from_refs(fd, ga.refs, PAGES, 0, W, H, 32, &r));
	{
		int fd2 = dup(fd);

		zc_assert(fd2 >= 0);
		w = (struct waiter){ fd2, r.wait_handle, 1500, 1, NULL };
		zc_assert_ok(-pthread_create(&t, NULL, wait_thread, &w));
		waiter_in_driver(&w);
		close(fd);
		zc_assert_ok(zc_gem_close(fd2, r.dumb.handle));
		pthread_join(t, NULL);
		zc_assert_eq(w.ret, 0);
		close(fd2);
	}

	zc_gntalloc_free(&ga);
	zc_baseline_finish(&base, 5000);
}

/*
 * TO_REFS on one imported handle from two threads at once: both get the
 * same refs, and the pages are granted once.
 */
struct to_refs_arg {
	int fd;
	uint32_t handle;
	uint32_t n;
	uint32_t *refs;
	int ret;
	pthread_barrier_t *go;
};

static void *to_refs_thread(void *arg)
{
	struct to_refs_arg *a = arg;

	pthread_barrier_wait(a->go);
	a->ret = zc_to_refs(a->fd, a->handle, a->refs, a->n, 0);
	return NULL;
}

static void test_to_refs_same_handle(void)
{
	struct to_refs_arg a[2];
	pthread_barrier_t go;
	struct zc_dumb d;
	int vgem, fd, dmabuf, round, i;
	uint32_t zh, n, k;
	pthread_t t[2];

	zc_baseline_start_drained(&base);
	vgem = zc_drm_open_driver("vgem", NULL);
	zc_require(vgem >= 0);
	fd = zc_xen_open();
	zc_assert(fd >= 0);
	pthread_barrier_init(&go, NULL, 2);

	for (round = 0; round < 40; round++) {
		zc_assert_ok(zc_dumb_create(vgem, 128 + round * 8, 64, 32, &d));
		n = d.size / PAGE;
		zc_assert_ok(zc_prime_export(vgem, d.handle, &dmabuf));
		zc_assert_ok(zc_prime_import(fd, dmabuf, &zh));

		for (i = 0; i < 2; i++) {
			a[i] = (struct to_refs_arg){ fd, zh, n, NULL, 1, &go };
			a[i].refs = calloc(n, sizeof(uint32_t));
			zc_assert(a[i].refs);
			zc_assert_ok(-pthread_create(&t[i], NULL, to_refs_thread,
						     &a[i]));
		}
		for (i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		zc_assert_eq(a[0].ret, 0);
		zc_assert_eq(a[1].ret, 0);
		for (k = 0; k < n; k++)
			zc_assert_eq(a[0].refs[k], a[1].refs[k]);
		zc_assert_eq(zc_stat("granted_refs"), base.v[ST_GRANTED] + n);

		free(a[0].refs);
		free(a[1].refs);
		zc_assert_ok(zc_gem_close(fd, zh));
		close(dmabuf);
		zc_assert_ok(zc_gem_close(vgem, d.handle));
		zc_assert_eq(zc_stat("granted_refs"), base.v[ST_GRANTED]);
	}

	close(fd);
	close(vgem);
	zc_baseline_finish(&base, 5000);
}

/*
 * One buffer kept alive by a dma-buf; threads export its handle, close
 * and re-import it, and map and unmap the dma-buf, all at once.
 */
static int churn_fd, churn_dmabuf;
static _Atomic uint32_t churn_handle;

static void *churn_export(void *arg)
{
	static const int ok[] = { ENOENT, 0 };
	int i, ret, dmabuf;

	(void)arg;
	for (i = 0; i < 300; i++) {
		ret = zc_prime_export(churn_fd, atomic_load(&churn_handle),
				      &dmabuf);
		expect("PRIME export", ret, ok);
		if (!ret)
			close(dmabuf);
	}
	return NULL;
}

static void *churn_reimport(void *arg)
{
	static const int ok[] = { EINVAL, 0 };
	uint32_t h;
	int i, ret;

	(void)arg;
	for (i = 0; i < 300; i++) {
		expect("GEM_CLOSE", zc_gem_close(churn_fd,
						 atomic_load(&churn_handle)),
		       ok);
		ret = zc_prime_import(churn_fd, churn_dmabuf, &h);
		if (ret)
			bad("PRIME import", ret);
		else
			atomic_store(&churn_handle, h);
	}
	return NULL;
}

static void *churn_mmap(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 300; i++) {
		uint8_t *p = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE,
				  MAP_SHARED, churn_dmabuf, 0);

		if (p == MAP_FAILED) {
			bad("dma-buf mmap", -errno);
			continue;
		}
		if (p[3 * PAGE + 5] != 0x42)
			bad("dma-buf content", -EIO);
		munmap(p, PAGES * PAGE);
	}
	return NULL;
}

static void test_export_import_churn(void)
{
	struct drm_xen_zcopy_dumb_from_refs r;
	void *(*fn[])(void *) = { churn_export, churn_reimport, churn_mmap,
				  churn_mmap };
	pthread_t t[4];
	int i;

	zc_baseline_start_drained(&base);
	ga_get();
	churn_fd = zc_xen_open();
	zc_assert(churn_fd >= 0);
	zc_assert_ok(zc_from_refs(churn_fd, ga.refs, PAGES, 0, W, H, 32, &r));
	zc_assert_ok(zc_prime_export(churn_fd, r.dumb.handle, &churn_dmabuf));
	atomic_store(&churn_handle, r.dumb.handle);

	for (i = 0; i < 4; i++)
		zc_assert_ok(-pthread_create(&t[i], NULL, fn[i], NULL));
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	zc_assert_f(atomic_load(&bad_calls) == 0, "%d bad answers, first: %s",
		    atomic_load(&bad_calls), bad_what);
	/* Still one buffer, still the frontend's pages. */
	zc_assert_eq(zc_stat("from_refs_objects"), base.v[0] + 1);
	zc_assert_eq(zc_stat("mapped_grants"), base.v[1] + PAGES);
	/* Our own dma-buf always came back as that buffer, never an import. */
	zc_assert_eq(zc_stat("imported_objects"), base.v[2]);
	{
		uint32_t refs[PAGES];

		zc_assert_errno(zc_to_refs(churn_fd, atomic_load(&churn_handle),
					   refs, PAGES, 0), EINVAL);
	}

	close(churn_dmabuf);
	close(churn_fd);
	zc_gntalloc_free(&ga);
	zc_baseline_finish(&base, 5000);
}

static const struct zc_subtest subtests[] = {
	{ "mixed-ioctls", test_mixed_ioctls },
	{ "wait-free-vs-close", test_wait_free_vs_close },
	{ "close-fd-in-wait-free", test_close_fd_in_wait_free },
	{ "to-refs-same-handle", test_to_refs_same_handle },
	{ "export-import-churn", test_export_import_churn },
	{ }
};

ZC_MAIN(subtests)
