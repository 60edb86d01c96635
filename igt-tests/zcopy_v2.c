// SPDX-License-Identifier: GPL-2.0
/*
 * The v2 interface: GET_CAPS, FROM_REFS2 (a dma-buf fd in one call, a DRM
 * format with a padded pitch and a data offset, read-only grants),
 * TO_REFS2 (read-only grants), WAIT_FREE2 (an absolute deadline that
 * survives signals, freed buffers remembered, orphaned handles) and
 * WAIT_FD (a pollable fd), with flags and reserved fields checked.
 */

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "zc_drm.h"
#include "zc_fixture.h"
#include "zc_gnt.h"
#include "zc_igt.h"
#include "zc_xen.h"

#define PAGE		4096
#define NPAGES		4
/* A 1024x768 frame at a data offset with a padded pitch, for vkms. */
#define FW		1024
#define FH		768
#define FPITCH		(FW * 4 + 256)
#define FOFS		(3 * 64)
#define FPAGES		((FOFS + FPITCH * FH + PAGE - 1) / PAGE)
#define SEED		0x3e

static struct zc_stats base;

static int ioctl_err(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct zc_gntalloc ga;

static void grant_pages(uint32_t n, bool writable)
{
	zc_assert_ok(zc_gntalloc_alloc(&ga, 0, n, writable));
	zc_at_exit(zc_gntalloc_cleanup, &ga);
}

/* A FROM_REFS2 request for @n refs of a 64 x 64 XRGB8888 frame. */
static struct drm_xen_zcopy_from_refs2 req2(const uint32_t *refs, uint32_t n,
					    uint32_t flags)
{
	struct drm_xen_zcopy_from_refs2 r = {
		.grefs = (uintptr_t)refs,
		.num_grefs = n,
		.flags = flags,
		.fourcc = DRM_FORMAT_XRGB8888,
		.width = 64,
		.height = 64,
		.pitches = { 256 },
	};

	return r;
}

static void test_caps(void)
{
	struct drm_xen_zcopy_get_caps c = { 0 };
	int fd;

	fd = zc_baseline_open(&base);
	zc_assert_ok(ioctl_err(fd, DRM_IOCTL_XEN_ZCOPY_GET_CAPS, &c));
	zc_info("caps 0x%llx max_pages %u\n", (unsigned long long)c.caps,
		c.max_pages);
	zc_assert(c.caps & DRM_XEN_ZCOPY_CAP_V2);
	zc_assert(c.caps & DRM_XEN_ZCOPY_CAP_WAIT_FD);
	zc_assert(c.caps & DRM_XEN_ZCOPY_CAP_READ_ONLY);
	/* Debian's x86_64 and arm64 kernels both run 32-bit processes. */
	zc_assert(c.caps & DRM_XEN_ZCOPY_CAP_COMPAT32);
	zc_assert_eq(c.max_pages,
		     zc_read_long("/sys/module/xen_drm_zcopy/parameters/max_pages"));

	c.flags = 1;
	zc_assert_errno(ioctl_err(fd, DRM_IOCTL_XEN_ZCOPY_GET_CAPS, &c), EINVAL);
	c.flags = 0;
	c.reserved[1] = 1;
	zc_assert_errno(ioctl_err(fd, DRM_IOCTL_XEN_ZCOPY_GET_CAPS, &c), EINVAL);
	close(fd);
}

/* Unknown flags, reserved fields and frames that do not fit: -EINVAL. */
static void test_bad_input(void)
{
	struct drm_xen_zcopy_from_refs2 r;
	struct drm_xen_zcopy_to_refs2 t = { 0 };
	struct drm_xen_zcopy_wait_free2 w = { 0 };
	struct drm_xen_zcopy_wait_fd f = { 0 };
	uint32_t refs[NPAGES];
	int fd, i;

	fd = zc_baseline_open(&base);
	grant_pages(NPAGES, true);
	zc_kmsg_mark();

	for (i = 0; i < 12; i++) {
		r = req2(ga.refs, NPAGES, 0);
		switch (i) {
		case 0: r.flags = 1 << 5; break;
		case 1: r.pad = 1; break;
		case 2: r.reserved[3] = 1; break;
		/* Unknown to DRM: must not reach drm_format_info()'s WARN. */
		case 3: r.fourcc = 0x12345678; break;
		case 4: r.pitches[0] = 255; break;
		case 5: r.pitches[1] = 256; break;
		case 6: r.offsets[2] = 4; break;
		/* The frame ends one byte beyond the 4 pages. */
		case 7: r.offsets[0] = 1; break;
		case 8: r.width = 0; break;
		case 9: r.height = 16385; break;
		case 10: r.pitches[0] = 0xffffffff; break;
		case 11: r.offsets[0] = 0xfffff000; break;
		}
		zc_assert_f(ioctl_err(fd, DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, &r) ==
			    -EINVAL, "case %d", i);
	}
	/* A two-plane format fits when both planes do. */
	r = req2(ga.refs, NPAGES, 0);
	r.fourcc = DRM_FORMAT_NV12;
	r.pitches[0] = 64;
	r.pitches[1] = 64;
	r.offsets[1] = 64 * 64;
	zc_assert_ok(ioctl_err(fd, DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, &r));
	zc_assert_eq(r.dmabuf_fd, -1);
	zc_assert_ok(zc_gem_close(fd, r.handle));
	r.offsets[1] = NPAGES * PAGE - 64 * 32 + 1;
	zc_assert_errno(ioctl_err(fd, DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, &r),
			EINVAL);

	t.grefs = (uintptr_t)refs;
	t.num_grefs = NPAGES;
	t.handle = 1;
	t.flags = 2;
	zc_assert_errno(ioctl_err(fd, DRM_IOCTL_XEN_ZCOPY_TO_REFS2, &t), EINVAL);
	t.flags = 0;
	t.reserved[0] = 1;
	zc_assert_errno(ioctl_err(fd, DRM_IOCTL_XEN_ZCOPY_TO_REFS2, &t), EINVAL);
	w.wait_handle = 1;
	w.flags = 1;
	zc_assert_errno(ioctl_err(fd, DRM_IOCTL_XEN_ZCOPY_WAIT_FREE2, &w),
			EINVAL);
	w.flags = 0;
	w.pad = 1;
	zc_assert_errno(ioctl_err(fd, DRM_IOCTL_XEN_ZCOPY_WAIT_FREE2, &w),
			EINVAL);
	f.wait_handle = 1;
	f.reserved[2] = 1;
	zc_assert_errno(ioctl_err(fd, DRM_IOCTL_XEN_ZCOPY_WAIT_FD, &f), EINVAL);

	zc_assert_f(zc_kmsg_worst_level() > 4, "bad input led to a kernel warning");
	close(fd);
	zc_baseline_finish(&base, 3000);
}

static void close_dmabuf(void *fdp)
{
	zc_close_cleanup(fdp);
}

/*
 * One call gives the dma-buf fd; the frame starts at displif's data_ofs
 * and has a padded pitch, and the frontend's bytes are where the geometry
 * says; vkms shows it exactly like a native buffer that holds the same
 * frame at the same offset and pitch. (vkms in 6.1 adds a framebuffer's
 * offset twice, so the reference is a native buffer shown with the same
 * framebuffer parameters, not one at offset 0.)
 */
static void test_dmabuf_fd_and_offset(void)
{
	static struct zc_kms kms;
	static struct zc_gntalloc frame;
	static int dmabuf = -1;
	struct drm_xen_zcopy_from_refs2 r;
	uint32_t native_crc, crc, h;
	struct zc_dumb nd;
	static int fd = -1;
	uint32_t *npx;
	uint8_t *p;

	zc_baseline_start(&base);
	/*
	 * The buffer first: once vkms computes CRCs, a slow step before they
	 * are read overflows its CRC queue (a kernel error line).
	 */
	frame.fd = -1;
	zc_assert_ok(zc_gntalloc_alloc(&frame, 0, FPAGES, true));
	zc_at_exit(zc_gntalloc_cleanup, &frame);
	zc_fill_pattern(frame.map + FOFS, FW, FH, FPITCH, SEED);

	fd = zc_xen_open();
	zc_assert(fd >= 0);
	zc_at_exit(zc_close_cleanup, &fd);
	r = req2(frame.refs, FPAGES, DRM_XEN_ZCOPY_FROM_REFS2_DMABUF_FD);
	r.width = FW;
	r.height = FH;
	r.pitches[0] = FPITCH;
	r.offsets[0] = FOFS;
	zc_assert_ok(ioctl_err(fd, DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, &r));
	dmabuf = r.dmabuf_fd;
	zc_at_exit(close_dmabuf, &dmabuf);
	zc_assert(dmabuf >= 0);
	zc_assert_eq(fcntl(dmabuf, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	zc_assert_eq(r.size, (uint64_t)FPAGES * PAGE);
	zc_assert_eq(zc_stat("mapped_grants"), base.v[1] + FPAGES);

	/* The frontend's bytes through the fd the call returned. */
	p = mmap(NULL, r.size, PROT_READ, MAP_SHARED, dmabuf, 0);
	zc_assert(p != MAP_FAILED);
	zc_assert_eq(zc_check_pattern(p + FOFS, FW, FH, FPITCH, SEED), -1);
	munmap(p, r.size);

	zc_kms_get(&kms, FW, FH);
	/* Room for the frame at twice its offset, with the padded pitch. */
	npx = zc_kms_native(&kms, FPITCH / 4, FH + 1, &nd);
	zc_assert_eq(nd.pitch, FPITCH);
	zc_fill_pattern((uint8_t *)npx + FOFS, FW, FH, FPITCH, SEED);
	zc_assert_ok(zc_kms_show_at(&kms, nd.handle, FPITCH, FOFS));
	zc_assert_ok(zc_crc_current(&kms, &native_crc));

	zc_assert_ok(zc_prime_import(kms.fd, dmabuf, &h));
	zc_assert_ok(zc_kms_show_at(&kms, h, FPITCH, FOFS));
	/* The framebuffer holds the import; the handle is not needed. */
	zc_assert_ok(zc_gem_close(kms.fd, h));
	zc_assert_ok(zc_crc_current(&kms, &crc));
	zc_info("native 0x%08x, zero-copy at offset %u pitch %u 0x%08x\n",
		native_crc, FOFS, FPITCH, crc);
	zc_assert_eq(crc, native_crc);

	zc_kms_fini(&kms);
	zc_assert_ok(zc_gem_close(fd, r.handle));
	close(dmabuf);
	dmabuf = -1;
	close(fd);
	fd = -1;
	zc_baseline_finish(&base, 3000);
}

/*
 * A frontend that grants read-only: v1 cannot map it (the mapping is
 * always writable); FROM_REFS2_READ_ONLY can, and nothing maps it for
 * writing.
 */
static void test_read_only(void)
{
	struct drm_xen_zcopy_from_refs2 r;
	struct drm_mode_map_dumb m = { 0 };
	static int dmabuf = -1;
	uint8_t *p;
	int fd, rw;

	fd = zc_baseline_open(&base);
	grant_pages(NPAGES, false);
	zc_fill_pattern(ga.map, 64, 64, 256, SEED);
	zc_assert_errno(zc_from_refs(fd, ga.refs, NPAGES, 0, 64, 64, 32, NULL),
			EINVAL);

	r = req2(ga.refs, NPAGES, DRM_XEN_ZCOPY_FROM_REFS2_READ_ONLY |
				  DRM_XEN_ZCOPY_FROM_REFS2_DMABUF_FD);
	zc_assert_ok(ioctl_err(fd, DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, &r));
	dmabuf = r.dmabuf_fd;
	zc_at_exit(close_dmabuf, &dmabuf);
	zc_assert_eq(fcntl(dmabuf, F_GETFL) & O_ACCMODE, O_RDONLY);

	p = mmap(NULL, NPAGES * PAGE, PROT_READ, MAP_SHARED, dmabuf, 0);
	zc_assert(p != MAP_FAILED);
	zc_assert_eq(zc_check_pattern(p, 64, 64, 256, SEED), -1);
	zc_assert_errno(mprotect(p, NPAGES * PAGE, PROT_READ | PROT_WRITE),
			EACCES);
	munmap(p, NPAGES * PAGE);
	zc_assert(mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       dmabuf, 0) == MAP_FAILED);

	/* Through the DRM node, which is open for writing: refused too. */
	m.handle = r.handle;
	zc_assert_ok(drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &m));
	zc_assert(mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fd, m.offset) == MAP_FAILED);
	zc_assert_eq(errno, EACCES);
	/* And a writable dma-buf exported later maps read-only only. */
	zc_assert_ok(zc_prime_export(fd, r.handle, &rw));
	zc_assert(mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       rw, 0) == MAP_FAILED);
	close(rw);

	zc_assert_ok(zc_gem_close(fd, r.handle));
	close(dmabuf);
	dmabuf = -1;
	close(fd);
	zc_baseline_finish(&base, 3000);
}

static struct zc_gntdev mapper;

static void mapper_cleanup(void *m)
{
	zc_gntdev_unmap(m);
}

/* TO_REFS2_READ_ONLY: the grantee can map the pages for reading only. */
static void test_to_refs2_read_only(void)
{
	struct drm_xen_zcopy_to_refs2 t = { 0 };
	uint32_t refs[NPAGES], again[NPAGES], h;
	int fd, vgem, dmabuf;
	struct zc_dumb d;
	uint8_t *px;

	fd = zc_baseline_open(&base);
	vgem = zc_drm_open_driver("vgem", NULL);
	zc_require(vgem >= 0);
	zc_assert_ok(zc_dumb_create(vgem, 64, 64, 32, &d));
	px = zc_dumb_map(vgem, d.handle, d.size);
	zc_assert(px);
	zc_fill_pattern(px, 64, 64, d.pitch, SEED);
	zc_assert_ok(zc_prime_export(vgem, d.handle, &dmabuf));
	zc_assert_ok(zc_prime_import(fd, dmabuf, &h));

	t.grefs = (uintptr_t)refs;
	t.num_grefs = NPAGES;
	t.handle = h;
	t.flags = DRM_XEN_ZCOPY_TO_REFS2_READ_ONLY;
	zc_assert_ok(ioctl_err(fd, DRM_IOCTL_XEN_ZCOPY_TO_REFS2, &t));
	t.grefs = (uintptr_t)again;
	zc_assert_ok(ioctl_err(fd, DRM_IOCTL_XEN_ZCOPY_TO_REFS2, &t));
	zc_assert(!memcmp(refs, again, sizeof(refs)));
	t.flags = 0;
	zc_assert_errno(ioctl_err(fd, DRM_IOCTL_XEN_ZCOPY_TO_REFS2, &t), EBUSY);

	mapper.fd = -1;
	zc_at_exit(mapper_cleanup, &mapper);
	zc_assert(zc_gntdev_map(&mapper, 0, refs, NPAGES, true) < 0);
	zc_assert_ok(zc_gntdev_map(&mapper, 0, refs, NPAGES, false));
	zc_assert_eq(zc_check_pattern(mapper.map, 64, 64, d.pitch, SEED), -1);
	zc_gntdev_unmap(&mapper);

	zc_assert_ok(zc_gem_close(fd, h));
	munmap(px, d.size);
	close(dmabuf);
	close(vgem);
	close(fd);
	zc_baseline_finish(&base, 3000);
}

static int wait_free2(int fd, uint32_t wh, int64_t deadline, uint32_t *status)
{
	struct drm_xen_zcopy_wait_free2 w = {
		.deadline_ns = deadline,
		.wait_handle = wh,
	};
	int ret = ioctl_err(fd, DRM_IOCTL_XEN_ZCOPY_WAIT_FREE2, &w);

	if (status)
		*status = w.status;
	return ret;
}

struct waiter {
	int fd;
	uint32_t wh;
	int ret;
	uint32_t status;
};

static void *waiter_fn(void *data)
{
	struct waiter *w = data;

	w->ret = wait_free2(w->fd, w->wh, now_ns() + 10000000000LL, &w->status);
	return NULL;
}

/*
 * WAIT_FREE2: a past deadline polls; a waiter wakes when the buffer goes;
 * a buffer that went unobserved is still reported once; unknown and
 * foreign handles are -ENOENT; a closed file's handles are orphans a
 * privileged backend (a restarted one) may wait on.
 */
static void test_wait_free2(void)
{
	struct drm_xen_zcopy_from_refs2 r;
	struct waiter w;
	pthread_t thr;
	uint32_t status;
	int fd, other, dmabuf;

	fd = zc_baseline_open(&base);
	grant_pages(NPAGES, true);
	other = zc_xen_open();
	zc_assert(other >= 0);

	r = req2(ga.refs, NPAGES, 0);
	zc_assert_ok(ioctl_err(fd, DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, &r));
	zc_assert_errno(wait_free2(fd, r.wait_handle, 0, NULL), ETIMEDOUT);
	zc_assert_errno(wait_free2(fd, r.wait_handle, now_ns() + 50000000,
				   NULL), ETIMEDOUT);
	zc_assert_errno(wait_free2(other, r.wait_handle, 0, NULL), ENOENT);
	zc_assert_errno(wait_free2(fd, r.wait_handle + 1000, 0, NULL), ENOENT);

	w.fd = fd;
	w.wh = r.wait_handle;
	zc_assert_ok(pthread_create(&thr, NULL, waiter_fn, &w));
	usleep(200000);
	zc_assert_ok(zc_gem_close(fd, r.handle));
	pthread_join(thr, NULL);
	zc_assert_eq(w.ret, 0);
	zc_assert_eq(w.status, DRM_XEN_ZCOPY_WAIT_FREED);
	zc_assert_eq(zc_stat("mapped_grants"), base.v[1]);
	/* Reported: forgotten now. */
	zc_assert_errno(wait_free2(fd, r.wait_handle, 0, NULL), ENOENT);

	/* Freed with nobody waiting: reported to the next call, once. */
	zc_assert_ok(ioctl_err(fd, DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, &r));
	zc_assert_ok(zc_gem_close(fd, r.handle));
	zc_assert_errno(zc_wait_free(fd, r.wait_handle, 0), ENOENT);
	zc_assert_ok(wait_free2(fd, r.wait_handle, 0, &status));
	zc_assert_eq(status, DRM_XEN_ZCOPY_WAIT_FREED);
	zc_assert_errno(wait_free2(fd, r.wait_handle, 0, NULL), ENOENT);

	/* The backend dies while its buffer is still exported. */
	zc_assert_ok(ioctl_err(fd, DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, &r));
	zc_assert_ok(zc_prime_export(fd, r.handle, &dmabuf));
	close(fd);
	zc_assert_errno(zc_wait_free(other, r.wait_handle, 0), ENOENT);
	zc_assert_errno(wait_free2(other, r.wait_handle, 0, NULL), ETIMEDOUT);
	w.fd = other;
	w.wh = r.wait_handle;
	zc_assert_ok(pthread_create(&thr, NULL, waiter_fn, &w));
	usleep(200000);
	close(dmabuf);
	pthread_join(thr, NULL);
	zc_assert_eq(w.ret, 0);
	zc_assert_eq(w.status, DRM_XEN_ZCOPY_WAIT_FREED);
	close(other);
	zc_baseline_finish(&base, 3000);
}

static volatile int signals;

static void on_signal(int sig)
{
	(void)sig;
	signals++;
}

struct signaler {
	pthread_t target;
	volatile int stop;
};

/* Sends SIGUSR1 to the waiting thread every 100 ms until stopped. */
static void *signaler_fn(void *data)
{
	struct signaler *s = data;

	while (!s->stop) {
		usleep(100000);
		pthread_kill(s->target, SIGUSR1);
	}
	return NULL;
}

/* WAIT_FREE2 of @wh until @deadline, signalled all along; its result. */
static int wait_signalled(int fd, uint32_t wh, int64_t deadline, int flags)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = flags };
	struct signaler sig = { .target = pthread_self() };
	pthread_t thr;
	int ret;

	zc_assert_ok(sigaction(SIGUSR1, &sa, NULL));
	zc_assert_ok(pthread_create(&thr, NULL, signaler_fn, &sig));
	ret = wait_free2(fd, wh, deadline, NULL);
	sig.stop = 1;
	pthread_join(thr, NULL);
	return ret;
}

/*
 * Signals do not cost the whole timeout: with SA_RESTART the call restarts
 * towards the same deadline; without, it returns -EINTR.
 */
static void test_wait_free2_signals(void)
{
	struct drm_xen_zcopy_from_refs2 r;
	int64_t t0, took;
	int fd, ret;

	fd = zc_baseline_open(&base);
	grant_pages(NPAGES, true);
	r = req2(ga.refs, NPAGES, 0);
	zc_assert_ok(ioctl_err(fd, DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, &r));

	t0 = now_ns();
	ret = wait_signalled(fd, r.wait_handle, t0 + 1000000000LL, SA_RESTART);
	took = now_ns() - t0;
	zc_info("%d signals, -> %d after %lld ms\n", signals, ret,
		(long long)(took / 1000000));
	zc_assert_eq(ret, -ETIMEDOUT);
	zc_assert(signals >= 3);
	/* Not a second more for every signal: the deadline holds. */
	zc_assert(took < 3000000000LL);

	ret = wait_signalled(fd, r.wait_handle, now_ns() + 5000000000LL, 0);
	zc_assert_eq(ret, -EINTR);

	zc_assert_ok(zc_gem_close(fd, r.handle));
	close(fd);
	zc_baseline_finish(&base, 3000);
}

static int wait_fd(int fd, uint32_t wh)
{
	struct drm_xen_zcopy_wait_fd f = { .wait_handle = wh };
	int ret = ioctl_err(fd, DRM_IOCTL_XEN_ZCOPY_WAIT_FD, &f);

	return ret ? ret : f.fd;
}

/* WAIT_FD: an event loop learns of a buffer's end without a thread. */
static void test_wait_fd(void)
{
	struct drm_xen_zcopy_from_refs2 r;
	static int wfd = -1, wfd2 = -1;
	struct pollfd pfd;
	uint64_t v;
	int fd;

	fd = zc_baseline_open(&base);
	grant_pages(NPAGES, true);
	r = req2(ga.refs, NPAGES, 0);
	zc_assert_ok(ioctl_err(fd, DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, &r));

	wfd = wait_fd(fd, r.wait_handle);
	zc_assert(wfd >= 0);
	zc_at_exit(zc_close_cleanup, &wfd);
	zc_assert_eq(fcntl(wfd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	pfd.fd = wfd;
	pfd.events = POLLIN;
	zc_assert_eq(poll(&pfd, 1, 100), 0);
	zc_assert_ok(fcntl(wfd, F_SETFL, O_NONBLOCK));
	zc_assert_errno(read(wfd, &v, sizeof(v)), EAGAIN);
	zc_assert_errno(wait_fd(fd, r.wait_handle + 1000), ENOENT);

	zc_assert_ok(zc_gem_close(fd, r.handle));
	zc_assert_eq(poll(&pfd, 1, 3000), 1);
	zc_assert(pfd.revents & POLLIN);
	zc_assert_eq(read(wfd, &v, sizeof(v)), sizeof(v));
	zc_assert_eq(v, 1);
	zc_assert_eq(zc_stat("mapped_grants"), base.v[1]);

	/* A buffer already gone gives an fd that is readable at once. */
	zc_assert_ok(ioctl_err(fd, DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, &r));
	zc_assert_ok(zc_gem_close(fd, r.handle));
	wfd2 = wait_fd(fd, r.wait_handle);
	zc_assert(wfd2 >= 0);
	zc_at_exit(zc_close_cleanup, &wfd2);
	pfd.fd = wfd2;
	zc_assert_eq(poll(&pfd, 1, 0), 1);

	close(fd);
	zc_baseline_finish(&base, 3000);
}

/* Open file descriptors of this process. */
static int count_fds(void)
{
	int n = 0, fd;

	for (fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

/* A result that cannot be written back takes the buffer and its fd back. */
static void test_copy_back_undone(void)
{
	struct drm_xen_zcopy_from_refs2 *ro;
	int fd, fds;

	fd = zc_baseline_open(&base);
	grant_pages(NPAGES, true);
	ro = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	zc_assert(ro != MAP_FAILED);
	*ro = req2(ga.refs, NPAGES, DRM_XEN_ZCOPY_FROM_REFS2_DMABUF_FD);
	zc_assert_ok(mprotect(ro, PAGE, PROT_READ));
	fds = count_fds();
	zc_assert_errno(ioctl_err(fd, DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, ro),
			EFAULT);
	zc_assert_eq(count_fds(), fds);
	zc_baseline_check(&base, 3000, "a call that failed kept something");
	munmap(ro, PAGE);
	close(fd);
}

static const struct zc_subtest subtests[] = {
	{ "caps", test_caps },
	{ "bad-input", test_bad_input },
	{ "dmabuf-fd-and-offset", test_dmabuf_fd_and_offset },
	{ "read-only", test_read_only },
	{ "to-refs2-read-only", test_to_refs2_read_only },
	{ "wait-free2", test_wait_free2 },
	{ "wait-free2-signals", test_wait_free2_signals },
	{ "wait-fd", test_wait_fd },
	{ "copy-back-undone", test_copy_back_undone },
	{ }
};

ZC_MAIN(subtests)
