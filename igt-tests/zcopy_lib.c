// SPDX-License-Identifier: GPL-2.0
/*
 * libxenzcopy against the real driver: every call of the library, on the
 * path the driver offers (v2 when GET_CAPS announces it, else v1) and on
 * the v1 path forced with XZC_OPEN_FORCE_V1, gives the results the
 * library promises. Subtests of v2-only features skip, saying so, on a
 * driver without them.
 *
 * The "frontend" is gntalloc granting pages to domid 0 (self-grants) and
 * gntdev mapping refs granted to domid 0; vgem plays the real display
 * driver that allocates buffers for backend-allocated mode.
 */

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "xenzcopy.h"

#if defined(__x86_64__)
#define ZC_MULTIARCH	"x86_64-linux-gnu"
#elif defined(__aarch64__)
#define ZC_MULTIARCH	"aarch64-linux-gnu"
#endif
#include "zc_drm.h"
#include "zc_fixture.h"
#include "zc_gnt.h"
#include "zc_igt.h"
#include "zc_xen.h"

#define PAGE		4096
/* 64 x 16 XRGB8888 pixels make one page. */
#define W		64
#define ROWS_PER_PAGE	16
#define PAGES		8
#define H		(PAGES * ROWS_PER_PAGE)
#define PITCH		(W * 4)

static struct zc_stats base;

static void xzc_close_cleanup(void *devp)
{
	struct xzc_dev **dev = devp;

	xzc_close(*dev);
	*dev = NULL;
}

/* The device, closed when the subtest ends; skips if there is none. */
static struct xzc_dev *dev_open(unsigned int flags)
{
	static struct xzc_dev *devs[4];
	static int n;
	int ret;

	zc_assert(n < 4);
	ret = xzc_open(&devs[n], flags);
	if (ret == -ENODEV)
		zc_skip("no xen_drm_zcopy device: %s", xzc_strerror(ret));
	zc_assert_f(ret == 0, "xzc_open: %s", xzc_strerror(ret));
	zc_at_exit(xzc_close_cleanup, &devs[n]);
	return devs[n++];
}

static uint64_t dev_caps(struct xzc_dev *dev)
{
	struct xzc_caps caps;

	zc_assert_ok(xzc_get_caps(dev, &caps));
	return caps.caps;
}

/* Skips unless the driver offers @cap, naming what it offers instead. */
static void require_cap(struct xzc_dev *dev, uint64_t cap, const char *what)
{
	uint64_t caps = dev_caps(dev);

	if ((caps & cap) != cap)
		zc_skip("the driver lacks %s (GET_CAPS caps 0x%llx%s)", what,
			(unsigned long long)caps,
			caps ? "" : ": a v1-only driver");
}

static double now_ms(void)
{
	return xzc_deadline_ms(0) / 1e6;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* A frontend's buffer: PAGES pages granted to domid 0, holding @seed. */
static struct zc_gntalloc *frontend_pages(uint32_t pages, uint32_t seed)
{
	static struct zc_gntalloc gas[4];
	static int n;
	struct zc_gntalloc *ga;

	zc_assert(n < 4);
	ga = &gas[n++];
	zc_assert_ok(zc_gntalloc_alloc(ga, 0, pages, true));
	zc_at_exit(zc_gntalloc_cleanup, ga);
	zc_fill_pattern(ga->map, W, pages * ROWS_PER_PAGE, PITCH, seed);
	return ga;
}

static const struct xzc_geometry geom = {
	.fourcc = DRM_FORMAT_XRGB8888, .width = W, .height = H,
	.pitches = { PITCH },
};

/* Closes a dma-buf fd after a delay, from another thread. */
struct release {
	pthread_t thread;
	int fd;
	int ms;
	double at;
};

static void *release_fn(void *data)
{
	struct release *r = data;

	sleep_ms(r->ms);
	r->at = now_ms();
	close(r->fd);
	return NULL;
}

static void release_later(struct release *r, int fd, int ms)
{
	r->fd = fd;
	r->ms = ms;
	r->at = 0;
	zc_assert(pthread_create(&r->thread, NULL, release_fn, r) == 0);
}

/*
 * The backend's teardown: drop the handle, wait while the display (a
 * thread here) lets go of the dma-buf; the wait ends once it has, with 0.
 */
static void teardown_and_wait(struct xzc_dev *dev, struct xzc_buffer *buf)
{
	struct release r;
	int ret;

	zc_assert_ok(xzc_close_handle(dev, buf->handle));
	release_later(&r, buf->dmabuf_fd, 200);
	ret = xzc_wait_free(dev, buf->wait_handle, xzc_deadline_ms(10000));
	pthread_join(r.thread, NULL);
	zc_assert_f(ret == 0, "xzc_wait_free: %s", xzc_strerror(ret));
	zc_assert(r.at > 0 && now_ms() >= r.at);
	zc_assert_eq(zc_stat("mapped_grants"), base.v[1]);
}

static void test_open(void)
{
	struct xzc_dev *dev = dev_open(0);
	struct stat a, b;
	drmVersionPtr v;
	int fd;

	v = drmGetVersion(xzc_fd(dev));
	zc_assert(v && !strcmp(v->name, XENDRM_ZCOPY_DRIVER_NAME));
	drmFreeVersion(v);
	/* The node the tests find by opening /dev/dri/cardN in turn. */
	fd = zc_xen_open();
	zc_assert(fd >= 0);
	zc_assert_ok(fstat(fd, &a));
	zc_assert_ok(fstat(xzc_fd(dev), &b));
	zc_assert_eq(a.st_rdev, b.st_rdev);
	close(fd);
	zc_assert_eq(fcntl(xzc_fd(dev), F_GETFD), FD_CLOEXEC);
	zc_assert_eq(fcntl(xzc_fd(dev), F_GETFL) & O_ACCMODE, O_RDWR);
	zc_assert_errno(xzc_open(&dev, 1U << 31), EINVAL);
}

static void test_caps(void)
{
	struct xzc_dev *dev = dev_open(0);
	struct drm_xen_zcopy_get_caps gc = { 0 };
	struct xzc_caps caps;
	int ret;

	zc_assert_ok(xzc_get_caps(dev, &caps));
	ret = ioctl(xzc_fd(dev), DRM_IOCTL_XEN_ZCOPY_GET_CAPS, &gc) ? -errno : 0;
	zc_info("GET_CAPS: %s, caps 0x%llx, max_pages %u\n", ret ? strerror(-ret) : "ok",
		(unsigned long long)caps.caps, caps.max_pages);
	if (ret) {
		zc_assert(ret == -EINVAL || ret == -ENOTTY);
		zc_assert_eq(caps.caps, 0);
		zc_assert_eq(caps.max_pages, 0);
	} else {
		zc_assert_eq(caps.caps, gc.caps);
		zc_assert_eq(caps.max_pages, gc.max_pages);
		zc_assert(caps.caps & XZC_CAP_V2);
		zc_assert(caps.max_pages > 0);
	}

	dev = dev_open(XZC_OPEN_FORCE_V1);
	zc_assert_ok(xzc_get_caps(dev, &caps));
	zc_assert_eq(caps.caps, 0);
}

/* Frontend-allocated: the frontend's pages, seen through the dma-buf. */
static void from_refs(unsigned int open_flags)
{
	struct xzc_dev *dev;
	struct zc_gntalloc *ga;
	struct xzc_buffer buf;
	uint32_t *px;
	int ret;

	zc_baseline_start(&base);
	dev = dev_open(open_flags);
	ga = frontend_pages(PAGES, 7);
	ret = xzc_from_refs(dev, ga->refs, PAGES, 0, &geom, 0, &buf);
	zc_assert_f(ret == 0, "xzc_from_refs: %s", xzc_strerror(ret));
	zc_assert_eq(buf.size, PAGES * PAGE);
	zc_assert_eq(zc_stat("mapped_grants"), base.v[1] + PAGES);
	zc_assert_eq(fcntl(buf.dmabuf_fd, F_GETFD), FD_CLOEXEC);
	zc_assert_eq(xzc_dmabuf_pages(buf.dmabuf_fd), PAGES);

	px = zc_dmabuf_map(buf.dmabuf_fd, buf.size);
	zc_assert(px);
	zc_assert_ok(zc_dmabuf_sync(buf.dmabuf_fd, 1));
	zc_assert_eq(zc_check_pattern(px, W, H, PITCH, 7), -1);
	/* The backend's writes reach the frontend's pages: no copy. */
	px[W * 3 + 5] = 0x00abcdef;
	zc_assert_ok(zc_dmabuf_sync(buf.dmabuf_fd, 0));
	zc_assert_eq(((uint32_t *)ga->map)[W * 3 + 5], 0x00abcdef);
	munmap(px, buf.size);

	teardown_and_wait(dev, &buf);
	zc_baseline_finish(&base, 5000);
}

static void test_from_refs(void)
{
	from_refs(0);
}

static void test_from_refs_v1(void)
{
	from_refs(XZC_OPEN_FORCE_V1);
}

/* displif's data_ofs: the frame starts one page into the buffer. */
static void test_from_refs_offset(void)
{
	struct xzc_geometry g = geom;
	struct xzc_dev *dev, *v1;
	struct zc_gntalloc *ga;
	struct xzc_buffer buf;
	uint8_t *p;
	int ret;

	zc_baseline_start(&base);
	dev = dev_open(0);
	v1 = dev_open(XZC_OPEN_FORCE_V1);
	ga = frontend_pages(PAGES + 1, 0);
	zc_fill_pattern(ga->map + PAGE, W, H, PITCH, 9);
	g.offsets[0] = PAGE;
	zc_assert_errno(xzc_from_refs(v1, ga->refs, PAGES + 1, 0, &g, 0, &buf),
			EOPNOTSUPP);
	require_cap(dev, XZC_CAP_V2, "FROM_REFS2 (data offsets)");

	ret = xzc_from_refs(dev, ga->refs, PAGES + 1, 0, &g, 0, &buf);
	zc_assert_f(ret == 0, "xzc_from_refs: %s", xzc_strerror(ret));
	p = zc_dmabuf_map(buf.dmabuf_fd, buf.size);
	zc_assert(p);
	zc_assert_eq(zc_check_pattern(p + PAGE, W, H, PITCH, 9), -1);
	munmap(p, buf.size);
	teardown_and_wait(dev, &buf);
	zc_baseline_finish(&base, 5000);
}

static void test_from_refs_read_only(void)
{
	struct xzc_dev *dev, *v1;
	struct zc_gntalloc *ga;
	struct xzc_buffer buf;
	void *p;
	int ret;

	zc_baseline_start(&base);
	dev = dev_open(0);
	v1 = dev_open(XZC_OPEN_FORCE_V1);
	ga = frontend_pages(PAGES, 3);
	zc_assert_errno(xzc_from_refs(v1, ga->refs, PAGES, 0, &geom,
				      XZC_FROM_REFS_READ_ONLY, &buf), EOPNOTSUPP);
	require_cap(dev, XZC_CAP_V2 | XZC_CAP_READ_ONLY, "read-only buffers");

	ret = xzc_from_refs(dev, ga->refs, PAGES, 0, &geom,
			    XZC_FROM_REFS_READ_ONLY, &buf);
	zc_assert_f(ret == 0, "xzc_from_refs: %s", xzc_strerror(ret));
	p = mmap(NULL, buf.size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 buf.dmabuf_fd, 0);
	zc_assert(p == MAP_FAILED);
	p = mmap(NULL, buf.size, PROT_READ, MAP_SHARED, buf.dmabuf_fd, 0);
	zc_assert(p != MAP_FAILED);
	zc_assert_eq(zc_check_pattern(p, W, H, PITCH, 3), -1);
	munmap(p, buf.size);
	teardown_and_wait(dev, &buf);
	zc_baseline_finish(&base, 5000);
}

static void test_from_refs_errors(void)
{
	struct xzc_dev *dev = dev_open(0);
	struct zc_gntalloc *ga = frontend_pages(PAGES, 1);
	struct xzc_geometry g = geom;
	struct xzc_buffer buf;

	zc_assert_errno(xzc_from_refs(dev, ga->refs, PAGES, 0, &geom, 1U << 30,
				      &buf), EINVAL);
	g.pitches[0] = PITCH - 4;
	zc_assert_errno(xzc_from_refs(dev, ga->refs, PAGES, 0, &g, 0, &buf),
			EINVAL);
	/* Too few refs for the frame: the driver's -EINVAL comes through. */
	zc_assert_errno(xzc_from_refs(dev, ga->refs, PAGES - 1, 0, &geom, 0,
				      &buf), EINVAL);
}

/* Backend-allocated: vgem's buffer granted to the frontend, who draws. */
static void to_refs(unsigned int open_flags)
{
	static struct zc_gntdev gd = { .fd = -1 };
	static int vgem = -1, dmabuf = -1;
	uint32_t refs[PAGES], handle;
	struct xzc_dev *dev;
	struct zc_dumb d;
	int64_t pages;
	void *px;
	int ret;

	zc_baseline_start(&base);
	dev = dev_open(open_flags);
	vgem = zc_drm_open_driver("vgem", NULL);
	zc_require(vgem >= 0);
	zc_at_exit(zc_close_cleanup, &vgem);
	zc_assert_ok(zc_dumb_create(vgem, W, H, 32, &d));
	zc_assert_ok(zc_prime_export(vgem, d.handle, &dmabuf));
	zc_at_exit(zc_close_cleanup, &dmabuf);
	pages = xzc_dmabuf_pages(dmabuf);
	zc_assert_eq(pages, PAGES);

	ret = xzc_to_refs(dev, dmabuf, 0, 0, refs, PAGES, &handle);
	zc_assert_f(ret == 0, "xzc_to_refs: %s", xzc_strerror(ret));
	zc_assert_eq(zc_stat("granted_refs"), base.v[3] + PAGES);
	zc_assert_ok(zc_gntdev_map(&gd, 0, refs, PAGES, true));
	zc_fill_pattern(gd.map, W, H, PITCH, 5);
	px = zc_dumb_map(vgem, d.handle, d.size);
	zc_assert(px);
	zc_assert_eq(zc_check_pattern(px, W, H, PITCH, 5), -1);
	munmap(px, d.size);

	zc_gntdev_unmap(&gd);
	zc_assert_ok(xzc_close_handle(dev, handle));
	zc_assert_errno(xzc_close_handle(dev, handle), EINVAL);
	close(dmabuf);
	dmabuf = -1;
	zc_assert_ok(zc_gem_close(vgem, d.handle));
	zc_baseline_finish(&base, 5000);
}

static void test_to_refs(void)
{
	to_refs(0);
}

static void test_to_refs_v1(void)
{
	to_refs(XZC_OPEN_FORCE_V1);
}

static void test_to_refs_errors(void)
{
	struct xzc_dev *dev = dev_open(XZC_OPEN_FORCE_V1);
	uint32_t refs[PAGES], handle = 0;
	int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	zc_assert(null_fd >= 0);
	zc_assert_errno(xzc_to_refs(dev, null_fd, 0, 1U << 30, refs, PAGES,
				    &handle), EINVAL);
	zc_assert_errno(xzc_to_refs(dev, null_fd, 0, XZC_TO_REFS_READ_ONLY,
				    refs, PAGES, &handle), EOPNOTSUPP);
	/* Not a dma-buf: the import fails, nothing is granted. */
	zc_assert(xzc_to_refs(dev, null_fd, 0, 0, refs, PAGES, &handle) < 0);
	zc_assert_eq(handle, 0);
	close(null_fd);
}

/* A buffer that stays held until the subtest lets go of @dmabuf. */
static struct xzc_buffer held_buffer(struct xzc_dev *dev)
{
	struct zc_gntalloc *ga = frontend_pages(PAGES, 2);
	struct xzc_buffer buf;
	int ret;

	ret = xzc_from_refs(dev, ga->refs, PAGES, 0, &geom, 0, &buf);
	zc_assert_f(ret == 0, "xzc_from_refs: %s", xzc_strerror(ret));
	zc_assert_ok(xzc_close_handle(dev, buf.handle));
	return buf;
}

static void on_alarm(int sig)
{
	(void)sig;
}

/*
 * A held buffer: the wait ends at the deadline, not before (with
 * @signals, not even when SIGALRM without SA_RESTART interrupts it every
 * 30 ms), and soon after; once the holder lets go it ends with 0.
 */
static void wait_free_deadline(unsigned int open_flags, bool signals)
{
	struct itimerval every = { { 0, 30000 }, { 0, 30000 } }, off = { 0 };
	struct sigaction sa = { .sa_handler = on_alarm };
	struct xzc_dev *dev;
	struct xzc_buffer buf;
	struct release r;
	int64_t deadline;

	zc_baseline_start(&base);
	dev = dev_open(open_flags);
	buf = held_buffer(dev);
	if (signals) {
		zc_assert_ok(sigaction(SIGALRM, &sa, NULL));
		zc_assert_ok(setitimer(ITIMER_REAL, &every, NULL));
	}
	deadline = xzc_deadline_ms(400);
	zc_assert_errno(xzc_wait_free(dev, buf.wait_handle, deadline), ETIMEDOUT);
	zc_assert(xzc_deadline_ms(0) >= deadline);
	zc_assert(xzc_deadline_ms(0) < deadline + 2000000000LL);
	/* A deadline in the past polls. */
	zc_assert_errno(xzc_wait_free(dev, buf.wait_handle, 0), ETIMEDOUT);
	release_later(&r, buf.dmabuf_fd, 200);
	zc_assert_ok(xzc_wait_free(dev, buf.wait_handle, xzc_deadline_ms(10000)));
	pthread_join(r.thread, NULL);
	zc_assert(r.at > 0);
	if (signals)
		zc_assert_ok(setitimer(ITIMER_REAL, &off, NULL));
	zc_assert_errno(xzc_wait_free(dev, 0xfffffff0, xzc_deadline_ms(100)),
			ENOENT);
	zc_baseline_finish(&base, 5000);
}

static void test_wait_free_timeout(void)
{
	wait_free_deadline(0, false);
}

static void test_wait_free_timeout_v1(void)
{
	wait_free_deadline(XZC_OPEN_FORCE_V1, false);
}

static void test_wait_free_signals(void)
{
	wait_free_deadline(0, true);
}

static void test_wait_free_signals_v1(void)
{
	wait_free_deadline(XZC_OPEN_FORCE_V1, true);
}

static void test_wait_fd(void)
{
	struct xzc_dev *dev, *v1;
	struct xzc_buffer buf;
	struct pollfd pfd;
	uint64_t value = 0;
	int fd;

	zc_baseline_start(&base);
	dev = dev_open(0);
	v1 = dev_open(XZC_OPEN_FORCE_V1);
	/* Without v2 the library answers before asking the driver. */
	zc_assert_errno(xzc_wait_fd(v1, 1), EOPNOTSUPP);
	require_cap(dev, XZC_CAP_WAIT_FD, "WAIT_FD");
	buf = held_buffer(dev);

	fd = xzc_wait_fd(dev, buf.wait_handle);
	zc_assert_f(fd >= 0, "xzc_wait_fd: %s", xzc_strerror(fd));
	zc_assert_eq(fcntl(fd, F_GETFD), FD_CLOEXEC);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	zc_assert_eq(poll(&pfd, 1, 100), 0);
	close(buf.dmabuf_fd);
	zc_assert_eq(poll(&pfd, 1, 10000), 1);
	zc_assert(pfd.revents & POLLIN);
	zc_assert_eq(read(fd, &value, sizeof(value)), sizeof(value));
	zc_assert_eq(value, 1);
	close(fd);
	zc_assert_eq(zc_stat("mapped_grants"), base.v[1]);
	zc_baseline_finish(&base, 5000);
}

/*
 * A run with make deb's packages unpacked (the testbed's check-all):
 * this binary loaded libxenzcopy0's library, the driver was loaded
 * because the package's modules-load.d file names it, and the device
 * is one the package's udev rule matches (DRIVERS=="xen_drm_zcopy" on
 * the card's parent). The other subtests of the run then test the
 * packaged library.
 */
static void test_packaged(void)
{
	char line[512], lib[512] = "", link[PATH_MAX], path[PATH_MAX];
	struct xzc_dev *dev;
	struct stat st, pkg;
	bool named = false;
	FILE *f;
	ssize_t n;

	if (access("/etc/zcopy-debs", F_OK))
		zc_skip("not a run with make deb's packages installed");

	f = fopen("/proc/self/maps", "r");
	zc_assert(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "/libxenzcopy.so"))
			sscanf(line, "%*s %*s %*s %*s %*s %511s", lib);
	fclose(f);
	zc_info("libxenzcopy loaded from %s\n", lib);
	zc_assert_f(lib[0], "no libxenzcopy in /proc/self/maps");
	zc_assert_ok(stat(lib, &st));
	zc_assert_ok(stat("/usr/lib/" ZC_MULTIARCH "/libxenzcopy.so.0", &pkg));
	zc_assert(st.st_ino == pkg.st_ino && st.st_dev == pkg.st_dev);
	/* Unpacked with the library, by the same dpkg -x. */
	zc_assert_ok(access("/usr/share/doc/libxenzcopy0/copyright", R_OK));

	f = fopen("/etc/modules-load.d/xen-zcopy.conf", "r");
	zc_assert(f);
	while (fgets(line, sizeof(line), f))
		named |= !strcmp(line, "xen_drm_zcopy\n");
	fclose(f);
	zc_assert_f(named, "the modules-load.d file does not name the module");
	zc_assert_ok(access("/sys/module/xen_drm_zcopy", F_OK));

	f = fopen("/lib/udev/rules.d/72-xen-zcopy.rules", "r");
	zc_assert(f);
	named = false;
	while (fgets(line, sizeof(line), f))
		named |= !!strstr(line, "DRIVERS==\"xen_drm_zcopy\"");
	fclose(f);
	zc_assert_f(named, "the udev rule does not match on the driver");
	dev = dev_open(0);
	zc_assert_ok(fstat(xzc_fd(dev), &st));
	snprintf(path, sizeof(path), "/sys/dev/char/%u:%u/device/driver",
		 major(st.st_rdev), minor(st.st_rdev));
	n = readlink(path, link, sizeof(link) - 1);
	zc_assert(n > 0);
	link[n] = 0;
	zc_info("%s -> %s\n", path, link);
	zc_assert(!strcmp(strrchr(link, '/') + 1, XENDRM_ZCOPY_DRIVER_NAME));
	zc_assert(dev_caps(dev) & XZC_CAP_V2);
}

static const struct zc_subtest subtests[] = {
	{ "open", test_open },
	{ "caps", test_caps },
	{ "from-refs", test_from_refs },
	{ "from-refs-v1", test_from_refs_v1 },
	{ "from-refs-offset", test_from_refs_offset },
	{ "from-refs-read-only", test_from_refs_read_only },
	{ "from-refs-errors", test_from_refs_errors },
	{ "to-refs", test_to_refs },
	{ "to-refs-v1", test_to_refs_v1 },
	{ "to-refs-errors", test_to_refs_errors },
	{ "wait-free-timeout", test_wait_free_timeout },
	{ "wait-free-timeout-v1", test_wait_free_timeout_v1 },
	{ "wait-free-signals", test_wait_free_signals },
	{ "wait-free-signals-v1", test_wait_free_signals_v1 },
	{ "wait-fd", test_wait_fd },
	{ "packaged", test_packaged },
	{ }
};

ZC_MAIN(subtests)
