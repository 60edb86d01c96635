// SPDX-License-Identifier: GPL-2.0
/*
 * DUMB_WAIT_FREE: a backend may answer the frontend's DBUF_DESTROY only
 * after the buffer is gone and its grants are unmapped. The wait must not
 * end while anything still holds the buffer (a GEM handle, an exported
 * dma-buf fd, an importer), must end with 0 right after the last holder
 * lets go, with the grants already unmapped, and must fail with a clear
 * errno otherwise (-ETIMEDOUT, -ENOENT, -EINTR).
 *
 * The "frontend" is gntalloc granting pages to domid 0 (self-grants).
 */

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "zc_drm.h"
#include "zc_fixture.h"
#include "zc_gnt.h"
#include "zc_igt.h"
#include "zc_xen.h"

#define PAGE		4096
/* 64 x 16 XRGB8888 pixels make one page. */
#define W		64
#define ROWS_PER_PAGE	16
/* Long enough never to expire in a test; the test frees before it does. */
#define LONG_WAIT_MS	60000
/* Pages of the big buffer: gntalloc grants at most 1024 by default. */
#define BIG		1000

static struct zc_stats base;

struct buf {
	int fd;
	struct zc_gntalloc ga;
	struct drm_xen_zcopy_dumb_from_refs req;
};

/* Every subtest ends with the counters back at the baseline it read. */
#define check_baseline() zc_baseline_check(&base, 5000, \
	"driver counters did not return to the baseline")

/* A frontend grants @pages pages to us and the backend maps them. */
static void buf_create(struct buf *b, int fd, uint32_t pages)
{
	memset(b, 0, sizeof(*b));
	b->fd = fd;
	zc_assert_ok(zc_gntalloc_alloc(&b->ga, 0, pages, true));
	zc_at_exit(zc_gntalloc_cleanup, &b->ga);
	zc_assert_ok(zc_from_refs(fd, b->ga.refs, pages, 0, W,
				  pages * ROWS_PER_PAGE, 32, &b->req));
	zc_assert(b->req.wait_handle != 0);
	zc_assert_eq(zc_stat("mapped_grants"), base.v[1] + pages);
}

/* The baseline, a buffer of @pages pages and its dma-buf: returns the fd. */
static int buf_exported(struct buf *b, uint32_t pages, int *dmabuf)
{
	int fd = zc_baseline_open(&base);

	buf_create(b, fd, pages);
	zc_assert_ok(zc_prime_export(fd, b->req.dumb.handle, dmabuf));
	return fd;
}

/* Something still holds @b: a short wait times out, its grants stay. */
static void still_held(struct buf *b, uint32_t pages)
{
	zc_assert_errno(zc_wait_free(b->fd, b->req.wait_handle, 50), ETIMEDOUT);
	zc_assert_eq(zc_stat("mapped_grants"), base.v[1] + pages);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * A thread blocked in WAIT_FREE. When the call returns it records whether
 * the main thread had already made the last release, and the counters the
 * frontend cares about at that very moment.
 */
struct waiter {
	pthread_t thread;
	int fd;
	uint32_t wait_handle;
	uint32_t ms;
	atomic_int *released;
	atomic_int done;
	atomic_int tid;
	int ret;
	int released_at_return;
	long mapped_at_return;
	long handles_at_return;
	long pv_user_at_return;
	long pv_vmap_at_return;
};

/* mapped_grants from an open stats file: quicker than zc_stat(). */
static long read_mapped(int stats_fd)
{
	char buf[512], *p;
	ssize_t n;

	n = pread(stats_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, "mapped_grants ");
	return p ? strtol(p + 14, NULL, 10) : -1;
}

static void *waiter_fn(void *data)
{
	struct waiter *w = data;
	char path[128];
	int stats_fd;

	atomic_store(&w->tid, gettid());
	zc_assert_ok(zc_debugfs_path("xen_zcopy_stats", path, sizeof(path)));
	stats_fd = open(path, O_RDONLY);

	w->ret = zc_wait_free(w->fd, w->wait_handle, w->ms);
	/* First thing: a late unmap would still show here. */
	w->mapped_at_return = read_mapped(stats_fd);
	w->released_at_return = atomic_load(w->released);
	close(stats_fd);
	w->handles_at_return = zc_stat("wait_handles");
	w->pv_user_at_return = zc_stat("pv_user_grants");
	w->pv_vmap_at_return = zc_stat("pv_vmap_grants");
	atomic_store(&w->done, 1);
	return NULL;
}

static void waiter_start_ms(struct waiter *w, int fd, uint32_t wait_handle,
			    atomic_int *released, uint32_t ms)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->wait_handle = wait_handle;
	w->ms = ms;
	w->released = released;
	zc_assert_ok(-pthread_create(&w->thread, NULL, waiter_fn, w));
}

static void waiter_start(struct waiter *w, int fd, uint32_t wait_handle,
			 atomic_int *released)
{
	waiter_start_ms(w, fd, wait_handle, released, LONG_WAIT_MS);
}

/* Returns once the waiter's thread sleeps in WAIT_FREE. */
static void waiter_in_driver(struct waiter *w)
{
	int i;

	for (i = 0; i < 2000 && !atomic_load(&w->tid); i++)
		sleep_ms(10);
	zc_assert(atomic_load(&w->tid));
	zc_wait_in_driver(atomic_load(&w->tid), &w->done);
}

/* The waiter is still blocked after a while: nothing let it go early. */
static void waiter_still_blocked(struct waiter *w)
{
	waiter_in_driver(w);
	sleep_ms(300);
	zc_assert_f(!atomic_load(&w->done),
		    "WAIT_FREE returned %d while the buffer was still held",
		    w->ret);
}

/* A waiter on @b that is still blocked after a while. */
static void waiter_blocked(struct waiter *w, struct buf *b, atomic_int *released)
{
	waiter_start(w, b->fd, b->req.wait_handle, released);
	waiter_still_blocked(w);
}

/* The waiter returned 0 after the last release, grants already unmapped. */
static void waiter_check_freed(struct waiter *w)
{
	zc_assert_ok(-pthread_join(w->thread, NULL));
	zc_assert_eq(w->ret, 0);
	zc_assert_f(w->released_at_return,
		    "WAIT_FREE returned before the last holder let go");
	zc_assert_eq(w->mapped_at_return, base.v[1]);
	zc_assert_eq(w->handles_at_return, base.v[5]);
	zc_assert_eq(w->pv_user_at_return, base.v[7]);
	zc_assert_eq(w->pv_vmap_at_return, base.v[6]);
}

/* (a) GEM handle closed first, then the exported dma-buf fd. */
static void test_handle_then_fd(void)
{
	atomic_int released = 0;
	struct waiter w;
	static struct buf b;
	int fd, dmabuf;

	fd = buf_exported(&b, 4, &dmabuf);
	zc_assert_ok(zc_gem_close(fd, b.req.dumb.handle));

	/* The dma-buf still holds the buffer. */
	still_held(&b, 4);

	waiter_blocked(&w, &b, &released);
	atomic_store(&released, 1);
	close(dmabuf);
	waiter_check_freed(&w);

	zc_assert_errno(zc_wait_free(fd, b.req.wait_handle, 0), ENOENT);
	close(fd);
	check_baseline();
}

/* (b) The dma-buf fd closed first, then the GEM handle. */
static void test_fd_then_handle(void)
{
	atomic_int released = 0;
	struct waiter w;
	static struct buf b;
	int fd, dmabuf;
	uint8_t *px;

	fd = buf_exported(&b, 4, &dmabuf);
	/* A CPU mapping of the dma-buf holds the buffer too. */
	px = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, dmabuf, 0);
	zc_assert(px != MAP_FAILED);
	b.ga.map[5] = 0x5a;
	zc_assert_eq(px[5], 0x5a);
	close(dmabuf);

	zc_assert_errno(zc_wait_free(fd, b.req.wait_handle, 50), ETIMEDOUT);
	zc_assert_ok(zc_gem_close(fd, b.req.dumb.handle));
	/* Only the CPU mapping is left. */
	still_held(&b, 4);

	waiter_blocked(&w, &b, &released);
	atomic_store(&released, 1);
	zc_assert_ok(munmap(px, 4 * PAGE));
	waiter_check_freed(&w);

	close(fd);
	check_baseline();
}

/* No mapping: the GEM handle itself is the last holder. */
static void test_handle_last(void)
{
	atomic_int released = 0;
	struct waiter w;
	static struct buf b;
	int fd, dmabuf;

	fd = buf_exported(&b, 2, &dmabuf);
	close(dmabuf);
	zc_assert_errno(zc_wait_free(fd, b.req.wait_handle, 50), ETIMEDOUT);

	waiter_blocked(&w, &b, &released);
	atomic_store(&released, 1);
	zc_assert_ok(zc_gem_close(fd, b.req.dumb.handle));
	waiter_check_freed(&w);

	close(fd);
	check_baseline();
}

/* (c) vgem imported the dma-buf and is the last to let go. */
static void test_importer_vgem_last(void)
{
	atomic_int released = 0;
	uint32_t vh;
	struct waiter w;
	static struct buf b;
	static int vgem;
	int fd, dmabuf;

	fd = zc_baseline_open(&base);
	vgem = zc_drm_open_driver("vgem", NULL);
	zc_require(vgem >= 0);
	zc_at_exit(zc_close_cleanup, &vgem);
	buf_create(&b, fd, 4);

	zc_assert_ok(zc_prime_export(fd, b.req.dumb.handle, &dmabuf));
	zc_assert_ok(zc_prime_import(vgem, dmabuf, &vh));
	close(dmabuf);
	zc_assert_ok(zc_gem_close(fd, b.req.dumb.handle));

	still_held(&b, 4);

	waiter_blocked(&w, &b, &released);
	atomic_store(&released, 1);
	zc_assert_ok(zc_gem_close(vgem, vh));
	waiter_check_freed(&w);

	close(fd);
	check_baseline();
}

/* (c) vkms imported it and holds it in a framebuffer, the last holder. */
static void test_importer_vkms_last(void)
{
	uint32_t handles[4] = { 0 }, pitches[4] = { 0 }, offsets[4] = { 0 };
	atomic_int released = 0;
	static struct zc_kms kms;
	struct waiter w;
	static struct buf b;
	uint32_t fb;
	int fd, dmabuf;

	fd = zc_baseline_open(&base);
	zc_kms_get(&kms, 640, 480);

	/* 640x480 XRGB8888 = 300 pages. */
	memset(&b, 0, sizeof(b));
	b.fd = fd;
	zc_assert_ok(zc_gntalloc_alloc(&b.ga, 0, 300, true));
	zc_at_exit(zc_gntalloc_cleanup, &b.ga);
	zc_assert_ok(zc_from_refs(fd, b.ga.refs, 300, 0, 640, 480, 32, &b.req));

	zc_assert_ok(zc_prime_export(fd, b.req.dumb.handle, &dmabuf));
	zc_assert_ok(zc_prime_import(kms.fd, dmabuf, &handles[0]));
	pitches[0] = b.req.dumb.pitch;
	zc_assert_ok(drmModeAddFB2(kms.fd, 640, 480, DRM_FORMAT_XRGB8888,
				   handles, pitches, offsets, &fb, 0));
	/* Only the framebuffer holds vkms' import now. */
	zc_assert_ok(zc_gem_close(kms.fd, handles[0]));
	close(dmabuf);
	zc_assert_ok(zc_gem_close(fd, b.req.dumb.handle));

	still_held(&b, 300);

	waiter_blocked(&w, &b, &released);
	atomic_store(&released, 1);
	zc_assert_ok(drmModeRmFB(kms.fd, fb));
	waiter_check_freed(&w);

	close(fd);
	check_baseline();
}

/* -ETIMEDOUT after (not before) wait_to_ms while the buffer is alive. */
static void test_timeout(void)
{
	static const uint32_t ms[] = { 0, 1, 100, 400 };
	static struct buf b;
	double t0, dt;
	unsigned int i;
	int fd;

	fd = zc_baseline_open(&base);
	buf_create(&b, fd, 1);
	for (i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
		t0 = now_ms();
		zc_assert_errno(zc_wait_free(fd, b.req.wait_handle, ms[i]),
				ETIMEDOUT);
		dt = now_ms() - t0;
		/*
		 * Jiffies round up, but under Xen PV on an emulator they
		 * catch up on lost ticks in jumps, so wall time may be
		 * shorter: only a wait that ignored the timeout is wrong.
		 */
		zc_assert_f(dt >= ms[i] * 0.5,
			    "timed out after %.1f ms, asked for %u", dt, ms[i]);
		zc_assert_eq(zc_stat("mapped_grants"), base.v[1] + 1);
	}
	/* Still alive and waitable after the timeouts. */
	zc_assert_ok(zc_gem_close(fd, b.req.dumb.handle));
	zc_assert_errno(zc_wait_free(fd, b.req.wait_handle, 0), ENOENT);
	close(fd);
	check_baseline();
}

/* Unknown and freed handles are -ENOENT, whatever the timeout. */
static void test_enoent(void)
{
	static struct buf b;
	int fd;

	fd = zc_baseline_open(&base);
	zc_assert_errno(zc_wait_free(fd, 0, 0), ENOENT);
	zc_assert_errno(zc_wait_free(fd, 0, LONG_WAIT_MS), ENOENT);
	zc_assert_errno(zc_wait_free(fd, 0x7fffffff, 10), ENOENT);
	zc_assert_errno(zc_wait_free(fd, 0xffffffff, 10), ENOENT);

	buf_create(&b, fd, 1);
	zc_assert_errno(zc_wait_free(fd, b.req.wait_handle + 1, 10), ENOENT);
	zc_assert_ok(zc_gem_close(fd, b.req.dumb.handle));
	/* Freed: -ENOENT at once, even with a long timeout. */
	zc_assert_errno(zc_wait_free(fd, b.req.wait_handle, LONG_WAIT_MS),
			ENOENT);
	close(fd);
	check_baseline();
}

#define STALE_ROUNDS	300

/*
 * Handles are not reused soon: after many buffers came and went, an old
 * handle finds nothing (-ENOENT) rather than one of the newer buffers.
 */
static void test_stale_handle(void)
{
	static uint32_t seen[STALE_ROUNDS];
	struct drm_xen_zcopy_dumb_from_refs r, live;
	static struct zc_gntalloc ga;
	uint32_t old;
	int fd, i, j;

	fd = zc_baseline_open(&base);
	zc_assert_ok(zc_gntalloc_alloc(&ga, 0, 1, true));
	zc_at_exit(zc_gntalloc_cleanup, &ga);

	zc_assert_ok(zc_from_refs(fd, ga.refs, 1, 0, W, ROWS_PER_PAGE, 32, &r));
	old = r.wait_handle;
	zc_assert_ok(zc_gem_close(fd, r.dumb.handle));

	for (i = 0; i < STALE_ROUNDS; i++) {
		zc_assert_ok(zc_from_refs(fd, ga.refs, 1, 0, W, ROWS_PER_PAGE,
					  32, &r));
		seen[i] = r.wait_handle;
		zc_assert_neq(seen[i], old);
		for (j = 0; j < i; j++)
			zc_assert_f(seen[j] != seen[i],
				    "wait handle %u reused after %d buffers",
				    seen[i], i - j);
		/* The old handle never reaches this newer buffer. */
		zc_assert_errno(zc_wait_free(fd, old, 0), ENOENT);
		zc_assert_ok(zc_gem_close(fd, r.dumb.handle));
	}

	/* With newer buffers alive, the old handles still find nothing. */
	zc_assert_ok(zc_from_refs(fd, ga.refs, 1, 0, W, ROWS_PER_PAGE, 32,
				  &live));
	zc_assert_errno(zc_wait_free(fd, old, 200), ENOENT);
	zc_assert_errno(zc_wait_free(fd, seen[STALE_ROUNDS - 1], 200), ENOENT);
	zc_assert_errno(zc_wait_free(fd, live.wait_handle, 0), ETIMEDOUT);
	zc_assert_ok(zc_gem_close(fd, live.dumb.handle));
	zc_assert_errno(zc_wait_free(fd, live.wait_handle, 0), ENOENT);

	close(fd);
	check_baseline();
}

#define NR_WAITERS	8

/* Many threads wait on one handle; all wake with 0 when it is freed. */
static void test_several_waiters(void)
{
	static struct waiter w[NR_WAITERS];
	atomic_int released = 0;
	static struct buf b;
	int fd, i, dmabuf;

	fd = buf_exported(&b, 2, &dmabuf);
	zc_assert_ok(zc_gem_close(fd, b.req.dumb.handle));

	for (i = 0; i < NR_WAITERS; i++)
		waiter_start(&w[i], fd, b.req.wait_handle, &released);
	for (i = 0; i < NR_WAITERS; i++)
		waiter_in_driver(&w[i]);
	sleep_ms(300);
	for (i = 0; i < NR_WAITERS; i++)
		zc_assert_f(!atomic_load(&w[i].done), "waiter %d returned %d early",
			    i, w[i].ret);
	/* A waiter that times out does not disturb the others. */
	zc_assert_errno(zc_wait_free(fd, b.req.wait_handle, 20), ETIMEDOUT);

	atomic_store(&released, 1);
	close(dmabuf);
	for (i = 0; i < NR_WAITERS; i++)
		waiter_check_freed(&w[i]);

	close(fd);
	check_baseline();
}

static atomic_int signals_seen;

static void on_sigusr1(int sig)
{
	(void)sig;
	atomic_fetch_add(&signals_seen, 1);
}

/*
 * A signal interrupts the wait with -EINTR, with or without SA_RESTART:
 * a restarted call would start the whole timeout again, so a backend that
 * gets signals regularly could wait forever.
 */
static void check_signal(int sa_flags)
{
	struct sigaction sa = { .sa_handler = on_sigusr1, .sa_flags = sa_flags };
	atomic_int released = 0;
	struct waiter w;
	static struct buf b;
	int fd, i;

	fd = zc_baseline_open(&base);
	sigemptyset(&sa.sa_mask);
	zc_assert_ok(sigaction(SIGUSR1, &sa, NULL));
	buf_create(&b, fd, 1);

	waiter_start(&w, fd, b.req.wait_handle, &released);
	/* Keep signalling: the first may land before the thread blocks. */
	for (i = 0; i < 100 && !atomic_load(&w.done); i++) {
		sleep_ms(100);
		pthread_kill(w.thread, SIGUSR1);
	}
	zc_assert(atomic_load(&signals_seen) > 0);
	if (!atomic_load(&w.done)) {
		/* Let it go so that the test fails instead of hanging. */
		atomic_store(&released, 1);
		zc_gem_close(fd, b.req.dumb.handle);
	}
	zc_assert_ok(-pthread_join(w.thread, NULL));
	zc_assert_f(w.ret == -EINTR, "WAIT_FREE returned %d (%s), expected -EINTR",
		    w.ret, strerror(-w.ret));

	/* Interrupting the wait did not free anything. */
	zc_assert_eq(zc_stat("mapped_grants"), base.v[1] + 1);
	zc_assert_errno(zc_wait_free(fd, b.req.wait_handle, 0), ETIMEDOUT);
	zc_assert_ok(zc_gem_close(fd, b.req.dumb.handle));
	zc_assert_errno(zc_wait_free(fd, b.req.wait_handle, 0), ENOENT);
	close(fd);
	check_baseline();
}

static void test_signal(void)
{
	check_signal(0);
}

static void test_signal_restart(void)
{
	check_signal(SA_RESTART);
}

/* A handle is visible only to the DRM file that created the buffer. */
static void test_other_file(void)
{
	uint32_t h2;
	static struct buf b;
	int fd, fd2, dmabuf;

	fd = zc_baseline_open(&base);
	fd2 = zc_xen_open();
	zc_assert(fd2 >= 0);
	buf_create(&b, fd, 2);

	zc_assert_errno(zc_wait_free(fd2, b.req.wait_handle, 0), ENOENT);
	zc_assert_errno(zc_wait_free(fd2, b.req.wait_handle, 100), ENOENT);
	zc_assert_errno(zc_wait_free(fd, b.req.wait_handle, 0), ETIMEDOUT);

	/* The other file imports the buffer: it gets no wait handle. */
	zc_assert_ok(zc_prime_export(fd, b.req.dumb.handle, &dmabuf));
	zc_assert_ok(zc_prime_import(fd2, dmabuf, &h2));
	close(dmabuf);
	zc_assert_errno(zc_wait_free(fd2, b.req.wait_handle, 0), ENOENT);
	zc_assert_eq(zc_stat("wait_handles"), base.v[5] + 1);

	/* The creator closes: its handle goes, the buffer stays. */
	close(fd);
	zc_assert_eq(zc_stat("wait_handles"), base.v[5]);
	zc_assert_eq(zc_stat("mapped_grants"), base.v[1] + 2);
	zc_assert_eq(zc_stat("from_refs_objects"), base.v[0] + 1);
	zc_assert_errno(zc_wait_free(fd2, b.req.wait_handle, 0), ENOENT);

	zc_assert_ok(zc_gem_close(fd2, h2));
	close(fd2);
	check_baseline();
}

/*
 * A forked child shares the creator's DRM file: it may wait, and it sees
 * the grants unmapped when its wait returns.
 */
static void test_child_process_waits(void)
{
	int fd, dmabuf, pipefd[2], status;
	static struct buf b;
	char c;
	pid_t pid;

	fd = buf_exported(&b, 3, &dmabuf);
	zc_assert_ok(zc_gem_close(fd, b.req.dumb.handle));
	zc_assert_ok(pipe(pipefd));

	pid = fork();
	zc_assert(pid >= 0);
	if (pid == 0) {
		int ret;

		close(pipefd[1]);
		close(dmabuf);	/* the parent's copy is the last holder */
		ret = zc_wait_free(fd, b.req.wait_handle, LONG_WAIT_MS);
		/* The parent writes a byte just before its last release. */
		if (ret || read(pipefd[0], &c, 1) != 1)
			_exit(1);
		_exit(zc_stat("mapped_grants") == base.v[1] ? 0 : 2);
	}
	close(pipefd[0]);
	zc_wait_in_driver(pid, NULL);
	sleep_ms(300);
	zc_assert_eq(waitpid(pid, &status, WNOHANG), 0);
	zc_assert_eq(write(pipefd[1], "x", 1), 1);
	close(dmabuf);
	zc_assert_eq(waitpid(pid, &status, 0), pid);
	zc_assert(WIFEXITED(status));
	zc_assert_eq(WEXITSTATUS(status), 0);
	close(pipefd[1]);
	close(fd);
	check_baseline();
}

/*
 * The moment WAIT_FREE returns 0, no grant of the buffer is mapped any
 * more: not the backend's mapping, not a user CPU mapping, not the kernel
 * mapping an importer made.
 */
static void test_grants_unmapped_on_return(void)
{
	atomic_int released = 0;
	struct waiter w;
	static struct buf b;
	uint8_t *px, *px2;
	int fd, dmabuf;

	fd = zc_baseline_open(&base);
	/* Many pages: unmapping them takes a while, a late unmap shows. */
	buf_create(&b, fd, BIG);
	zc_assert_ok(zc_prime_export(fd, b.req.dumb.handle, &dmabuf));
	px = mmap(NULL, BIG * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, dmabuf, 0);
	zc_assert(px != MAP_FAILED);
	px2 = zc_dumb_map(fd, b.req.dumb.handle, BIG * PAGE);
	zc_assert(px2);
	px[(BIG - 1) * PAGE + 1] = 0xa5;
	zc_assert_eq(b.ga.map[(BIG - 1) * PAGE + 1], 0xa5);
	zc_assert_eq(px2[(BIG - 1) * PAGE + 1], 0xa5);
	close(dmabuf);
	zc_assert_ok(zc_gem_close(fd, b.req.dumb.handle));

	waiter_blocked(&w, &b, &released);
	zc_assert_ok(munmap(px, BIG * PAGE));
	zc_assert_errno(zc_wait_free(fd, b.req.wait_handle, 20), ETIMEDOUT);
	zc_assert(!atomic_load(&w.done));
	atomic_store(&released, 1);
	zc_assert_ok(munmap(px2, BIG * PAGE));
	waiter_check_freed(&w);

	close(fd);
	check_baseline();
}

/*
 * close() of the DRM fd from another thread does not end a wait in
 * progress on it: the file (and with it the buffer's last GEM handle) is
 * released only when the wait returns, here by its timeout. Then the
 * buffer goes at once.
 */
static void test_close_while_waiting(void)
{
	atomic_int released = 0;
	struct waiter w;
	static struct buf b;
	int fd;

	fd = zc_baseline_open(&base);
	buf_create(&b, fd, 2);
	waiter_start_ms(&w, fd, b.req.wait_handle, &released, 1500);
	waiter_still_blocked(&w);
	atomic_store(&released, 1);
	close(fd);
	zc_assert_eq(zc_stat("mapped_grants"), base.v[1] + 2);
	zc_assert_ok(-pthread_join(w.thread, NULL));
	zc_assert_errno(w.ret, ETIMEDOUT);
	check_baseline();
}

static const struct zc_subtest subtests[] = {
	{ "handle-then-fd", test_handle_then_fd },
	{ "fd-then-handle", test_fd_then_handle },
	{ "handle-last", test_handle_last },
	{ "importer-vgem-last", test_importer_vgem_last },
	{ "importer-vkms-last", test_importer_vkms_last },
	{ "timeout", test_timeout },
	{ "enoent", test_enoent },
	{ "stale-handle", test_stale_handle },
	{ "several-waiters", test_several_waiters },
	{ "signal", test_signal },
	{ "signal-restart", test_signal_restart },
	{ "other-file", test_other_file },
	{ "child-process-waits", test_child_process_waits },
	{ "grants-unmapped-on-return", test_grants_unmapped_on_return },
	{ "close-while-waiting", test_close_while_waiting },
	{ }
};

ZC_MAIN(subtests)
