// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of libxenzcopy on a host without Xen: this program plays the
 * driver. Its ioctl() and open() take the place of libc's for the library
 * and libdrm (the binary is linked with -rdynamic), and its
 * drmGetDevices2() lists fake DRM nodes. Each test sets up what the fake
 * driver supports and answers, calls the library and checks the exact
 * ioctl numbers and argument bytes the library sent.
 *
 * The expected numbers and field offsets are spelled out here from the
 * ABI (direction, 'd', DRM_COMMAND_BASE + nr, size), not taken from
 * xen_zcopy_drm.h, so that a change of the header's layout fails here.
 */

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <drm.h>
#include <drm_fourcc.h>
#include <xf86drm.h>

#include "xenzcopy.h"

/* ---- the ABI, spelled out ------------------------------------------- */

#define RW	(_IOC_READ | _IOC_WRITE)
#define ZC(nr, size)	_IOC(RW, 'd', 0x40 + (nr), (size))

#define GET_CAPS	ZC(0x03, 32)
#define FROM_REFS2	ZC(0x04, 120)
#define TO_REFS2	ZC(0x05, 40)
#define WAIT_FREE2	ZC(0x06, 40)
#define WAIT_FD		ZC(0x07, 24)
/* The v1 structures hold a pointer: 64-bit layout (the tests' host). */
#define DUMB_FROM_REFS	ZC(0x00, 64)
#define DUMB_TO_REFS	ZC(0x01, 32)
#define DUMB_WAIT_FREE	ZC(0x02, 8)
#define PRIME_TO_FD	_IOC(RW, 'd', 0x2d, 12)
#define PRIME_TO_HANDLE	_IOC(RW, 'd', 0x2e, 12)
#define GEM_CLOSE	_IOC(_IOC_WRITE, 'd', 0x09, 8)

_Static_assert(sizeof(void *) == 8, "the v1 layouts below are LP64's");

/* ---- the fake driver ------------------------------------------------ */

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MAX_CALLS	16
#define MAX_NODES	4

struct call {
	unsigned long req;
	uint8_t arg[128];
};

struct node {
	const char *path;
	const char *driver;
	int primary;		/* listed as a primary node, else render only */
	int open_errno;		/* open() fails with it */
	int fd;			/* while open */
	int open_flags;
	int closed;		/* its fd went to another node since */
};

static struct fake {
	struct node nodes[MAX_NODES];
	int nr_nodes;
	int zc_fd;

	/* GET_CAPS: fails with caps_errno, else answers caps/max_pages. */
	int caps_errno;
	uint64_t caps;
	uint32_t max_pages;

	/* Values the driver hands out. */
	uint32_t handle, wait_handle;
	uint64_t size;
	uint32_t wait_status;

	/* Request @fail_req fails @fail_times times with @fail_errno. */
	unsigned long fail_req;
	int fail_errno, fail_times;
	/* DUMB_WAIT_FREE sleeps this long before failing with EINTR. */
	int eintr_sleep_ms;

	struct call calls[MAX_CALLS];
	int nr_calls;
	/* Every ioctl on the node, GET_CAPS and VERSION included. */
	int nr_all;
} fk;

static int (*real_ioctl)(int, unsigned long, ...);

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int fake_fd(void)
{
	return (int)syscall(SYS_openat, AT_FDCWD, "/dev/null",
			    O_RDWR | O_CLOEXEC);
}

/* A fresh driver: v2 with every capability, one other card before it. */
static void fake_reset(void)
{
	int i;

	for (i = 0; i < fk.nr_nodes; i++)
		if (fk.nodes[i].fd >= 0)
			close(fk.nodes[i].fd);
	memset(&fk, 0, sizeof(fk));
	fk.nodes[0] = (struct node){ .path = "/dev/dri/fake-card0", .driver = "vkms", .primary = 1 };
	fk.nodes[1] = (struct node){ .path = "/dev/dri/fake-renderD128", .driver = "vgem", .primary = 0 };
	fk.nodes[2] = (struct node){ .path = "/dev/dri/fake-card1", .driver = "xen_drm_zcopy", .primary = 1 };
	fk.nr_nodes = 3;
	for (i = 0; i < MAX_NODES; i++)
		fk.nodes[i].fd = -1;
	fk.zc_fd = -1;
	fk.caps = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 3);
	fk.max_pages = 16384;
	fk.handle = 5;
	fk.wait_handle = 17;
	fk.size = 3 * 4096;
	fk.wait_status = 1;
}

static struct node *node_of_fd(int fd)
{
	int i;

	for (i = 0; i < fk.nr_nodes; i++)
		if (fk.nodes[i].fd == fd && fd >= 0)
			return &fk.nodes[i];
	return NULL;
}

int drmGetDevices2(uint32_t flags, drmDevicePtr devices[], int max)
{
	int i;

	(void)flags;
	if (!devices)
		return fk.nr_nodes;
	for (i = 0; i < fk.nr_nodes && i < max; i++) {
		drmDevicePtr d = calloc(1, sizeof(*d));
		int type = fk.nodes[i].primary ? DRM_NODE_PRIMARY : DRM_NODE_RENDER;

		d->nodes = calloc(DRM_NODE_MAX, sizeof(char *));
		d->nodes[type] = strdup(fk.nodes[i].path);
		d->available_nodes = 1 << type;
		d->bustype = DRM_BUS_PLATFORM;
		devices[i] = d;
	}
	return i;
}

void drmFreeDevices(drmDevicePtr devices[], int count)
{
	int i, j;

	for (i = 0; i < count; i++) {
		for (j = 0; j < DRM_NODE_MAX; j++)
			free(devices[i]->nodes[j]);
		free(devices[i]->nodes);
		free(devices[i]);
		devices[i] = NULL;
	}
}

static int fake_open(const char *path, int flags)
{
	int i, j;

	for (i = 0; i < fk.nr_nodes; i++) {
		struct node *n = &fk.nodes[i];

		if (strcmp(path, n->path))
			continue;
		if (n->open_errno) {
			errno = n->open_errno;
			return -1;
		}
		n->fd = fake_fd();
		n->open_flags = flags;
		/* A number handed out again was closed before. */
		for (j = 0; j < fk.nr_nodes; j++)
			if (j != i && fk.nodes[j].fd == n->fd) {
				fk.nodes[j].fd = -1;
				fk.nodes[j].closed = 1;
			}
		if (!strcmp(n->driver, "xen_drm_zcopy"))
			fk.zc_fd = n->fd;
		return n->fd;
	}
	return -2;
}

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;
	int fd = fake_open(path, flags);

	if (fd != -2)
		return fd;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

int open64(const char *path, int flags, ...) __attribute__((alias("open")));

static int fail(int e)
{
	errno = e;
	return -1;
}

#define U32(a, off)	(*(uint32_t *)((uint8_t *)(a) + (off)))
#define S32(a, off)	(*(int32_t *)((uint8_t *)(a) + (off)))
#define U64(a, off)	(*(uint64_t *)((uint8_t *)(a) + (off)))

static void fake_string(const char *s, char *buf, __kernel_size_t *len)
{
	size_t n = strlen(s);

	if (buf && *len)
		memcpy(buf, s, n < *len ? n : *len);
	*len = n;
}

/* DRM_IOCTL_VERSION as the DRM core answers it (libdrm asks twice). */
static int fake_version(struct node *n, struct drm_version *v)
{
	fake_string(n->driver, v->name, &v->name_len);
	fake_string("20261124", v->date, &v->date_len);
	fake_string("fake", v->desc, &v->desc_len);
	return 0;
}

/* The driver's answer to a request on its node. */
static int fake_zcopy(unsigned long req, void *arg)
{
	uint32_t i;

	switch (req) {
	case GET_CAPS:
		if (fk.caps_errno)
			return fail(fk.caps_errno);
		U64(arg, 0) = fk.caps;
		U32(arg, 8) = fk.max_pages;
		return 0;
	case FROM_REFS2:
		U64(arg, 64) = fk.size;
		U32(arg, 72) = fk.handle;
		S32(arg, 76) = fake_fd();
		U32(arg, 80) = fk.wait_handle;
		return 0;
	case DUMB_FROM_REFS:
		U32(arg, 40) = fk.handle;
		U32(arg, 44) = U32(arg, 28) * U32(arg, 32) / 8;
		U64(arg, 48) = fk.size;
		U32(arg, 56) = fk.wait_handle;
		return 0;
	case PRIME_TO_FD:
		S32(arg, 8) = fake_fd();
		return 0;
	case PRIME_TO_HANDLE:
		U32(arg, 0) = fk.handle;
		return 0;
	case TO_REFS2: {
		uint32_t *refs = (uint32_t *)(uintptr_t)U64(arg, 0);

		for (i = 0; i < U32(arg, 8); i++)
			refs[i] = 100 + i;
		return 0;
	}
	case DUMB_TO_REFS: {
		uint32_t *refs = (uint32_t *)(uintptr_t)U64(arg, 8);

		for (i = 0; i < U32(arg, 0); i++)
			refs[i] = 200 + i;
		return 0;
	}
	case WAIT_FREE2:
		U32(arg, 16) = fk.wait_status;
		return 0;
	case WAIT_FD:
		S32(arg, 8) = fake_fd();
		return 0;
	case DUMB_WAIT_FREE:
	case GEM_CLOSE:
		return 0;
	}
	return fail(ENOTTY);
}

int ioctl(int fd, unsigned long req, ...)
{
	struct node *n = node_of_fd(fd);
	struct call *c;
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!n)
		return real_ioctl(fd, req, arg);
	if (req == DRM_IOCTL_VERSION)
		return fake_version(n, arg);
	fk.nr_all++;
	if (n->fd != fk.zc_fd)
		return fail(ENOTTY);
	if (fk.nr_calls < MAX_CALLS) {
		c = &fk.calls[fk.nr_calls++];
		c->req = req;
		memcpy(c->arg, arg, _IOC_SIZE(req) < sizeof(c->arg) ?
		       _IOC_SIZE(req) : sizeof(c->arg));
	}
	if (req == fk.fail_req && fk.fail_times) {
		fk.fail_times--;
		if (fk.fail_errno == EINTR && fk.eintr_sleep_ms)
			sleep_ms(fk.eintr_sleep_ms);
		if (fk.fail_errno == ETIMEDOUT && req == DUMB_WAIT_FREE)
			sleep_ms(U32(arg, 4));
		return fail(fk.fail_errno);
	}
	return fake_zcopy(req, arg);
}

/* ---- harness -------------------------------------------------------- */

static int passed, failed, cur_failed;
static const char *cur_name;

#define CHECK(expr) do {						\
	if (!(expr)) {							\
		fprintf(stderr, "  %s:%d: %s: check failed: %s\n",	\
			__FILE__, __LINE__, cur_name, #expr);		\
		cur_failed = 1;						\
	}								\
} while (0)
#define CHECK_EQ(a, b) do {						\
	long long __a = (long long)(a), __b = (long long)(b);		\
	if (__a != __b) {						\
		fprintf(stderr, "  %s:%d: %s: %s == %s: %lld != %lld\n", \
			__FILE__, __LINE__, cur_name, #a, #b, __a, __b); \
		cur_failed = 1;						\
	}								\
} while (0)

/* The device, opened on the fake driver; the log then starts empty. */
static struct xzc_dev *open_dev(unsigned int flags)
{
	struct xzc_dev *dev = NULL;
	int ret = xzc_open(&dev, flags);

	CHECK_EQ(ret, 0);
	fk.nr_calls = 0;
	return ret ? NULL : dev;
}

/* The device on a driver without GET_CAPS: the v1 paths. */
static struct xzc_dev *open_v1(void)
{
	fk.caps_errno = EINVAL;
	return open_dev(0);
}

/* The next @times requests @req fail with @err. */
static void fake_fail(unsigned long req, int err, int times)
{
	fk.fail_req = req;
	fk.fail_errno = err;
	fk.fail_times = times;
}

static int fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

static const uint32_t refs3[3] = { 11, 12, 13 };

static const struct xzc_geometry xrgb_64x48 = {
	.fourcc = DRM_FORMAT_XRGB8888, .width = 64, .height = 48,
	.pitches = { 256 },
};

/* ---- tests ---------------------------------------------------------- */

static void test_open_by_name(void)
{
	struct xzc_dev *dev = NULL;

	CHECK_EQ(xzc_open(&dev, 0), 0);
	CHECK(dev != NULL);
	if (!dev)
		return;
	CHECK_EQ(xzc_fd(dev), fk.zc_fd);
	CHECK_EQ(fk.nodes[2].open_flags & (O_ACCMODE | O_CLOEXEC),
		 O_RDWR | O_CLOEXEC);
	/* The other driver's node was opened, asked and closed again. */
	CHECK(fk.nodes[0].closed ||
	      (fk.nodes[0].fd >= 0 && !fd_is_open(fk.nodes[0].fd)));
	fk.nodes[0].fd = -1;
	/* A render-only node is never opened. */
	CHECK_EQ(fk.nodes[1].fd, -1);
	CHECK(!fk.nodes[1].closed);
	CHECK_EQ(fk.nr_calls, 1);
	CHECK_EQ(fk.calls[0].req, GET_CAPS);
	/* flags (12) and reserved (16..31) are 0. */
	CHECK_EQ(U32(fk.calls[0].arg, 12), 0);
	CHECK_EQ(U64(fk.calls[0].arg, 16) | U64(fk.calls[0].arg, 24), 0);
	xzc_close(dev);
	CHECK(!fd_is_open(fk.zc_fd));
	fk.nodes[2].fd = -1;
}

static void test_open_no_device(void)
{
	struct xzc_dev *dev = (struct xzc_dev *)&fk;

	fk.nr_nodes = 2;
	CHECK_EQ(xzc_open(&dev, 0), -ENODEV);
	CHECK(dev == (struct xzc_dev *)&fk);
	CHECK(!fd_is_open(fk.nodes[0].fd));
	fk.nodes[0].fd = -1;
	fk.nr_nodes = 0;
	CHECK_EQ(xzc_open(&dev, 0), -ENODEV);
}

static void test_open_unreadable(void)
{
	struct xzc_dev *dev = NULL;

	fk.nodes[2].open_errno = EACCES;
	CHECK_EQ(xzc_open(&dev, 0), -EACCES);
	/* Another driver's node closed to us does not hide ours. */
	fk.nodes[2].open_errno = 0;
	fk.nodes[0].open_errno = EACCES;
	CHECK_EQ(xzc_open(&dev, 0), 0);
	xzc_close(dev);
}

static void test_open_bad_flags(void)
{
	struct xzc_dev *dev = NULL;

	CHECK_EQ(xzc_open(&dev, 1U << 31), -EINVAL);
	CHECK_EQ(fk.nr_all, 0);
}

static void check_v1_caps(int err)
{
	struct xzc_caps caps = { ~0ULL, ~0U };
	struct xzc_dev *dev;

	fk.caps_errno = err;
	dev = open_dev(0);
	if (!dev)
		return;
	CHECK_EQ(xzc_get_caps(dev, &caps), 0);
	CHECK_EQ(caps.caps, 0);
	CHECK_EQ(caps.max_pages, 0);
	CHECK_EQ(fk.calls[0].req, GET_CAPS);
	xzc_close(dev);
}

static void test_caps_v1_einval(void)
{
	check_v1_caps(EINVAL);
}

static void test_caps_v1_enotty(void)
{
	check_v1_caps(ENOTTY);
}

static void test_caps_error(void)
{
	struct xzc_dev *dev = NULL;

	fk.caps_errno = EACCES;
	CHECK_EQ(xzc_open(&dev, 0), -EACCES);
	CHECK(!fd_is_open(fk.zc_fd));
}

static void test_caps_v2(void)
{
	struct xzc_dev *dev = open_dev(0);
	struct xzc_caps caps;

	if (!dev)
		return;
	fk.max_pages = 77;
	CHECK_EQ(xzc_get_caps(dev, &caps), 0);
	CHECK_EQ(caps.caps, fk.caps);
	CHECK_EQ(caps.max_pages, 77);
	CHECK_EQ(fk.nr_calls, 1);
	xzc_close(dev);
}

static void test_force_v1(void)
{
	struct xzc_dev *dev = open_dev(XZC_OPEN_FORCE_V1);
	struct xzc_buffer buf;
	struct xzc_caps caps;

	if (!dev)
		return;
	CHECK_EQ(fk.nr_all, 0);
	CHECK_EQ(xzc_get_caps(dev, &caps), 0);
	CHECK_EQ(caps.caps, 0);
	CHECK_EQ(fk.nr_all, 0);
	CHECK_EQ(xzc_from_refs(dev, refs3, 3, 1, &xrgb_64x48, 0, &buf), 0);
	CHECK_EQ(fk.calls[0].req, DUMB_FROM_REFS);
	close(buf.dmabuf_fd);
	xzc_close(dev);
}

static void test_from_refs_v2(void)
{
	struct xzc_geometry g = {
		.fourcc = DRM_FORMAT_NV12, .width = 64, .height = 48,
		.pitches = { 128, 128 }, .offsets = { 4096, 20480 },
	};
	struct xzc_dev *dev = open_dev(0);
	struct xzc_buffer buf;
	uint8_t *a;

	if (!dev)
		return;
	CHECK_EQ(xzc_from_refs(dev, refs3, 3, 7, &g, 0, &buf), 0);
	CHECK_EQ(fk.nr_calls, 1);
	CHECK_EQ(fk.calls[0].req, FROM_REFS2);
	a = fk.calls[0].arg;
	CHECK_EQ(U64(a, 0), (uintptr_t)refs3);
	CHECK_EQ(U32(a, 8), 3);
	CHECK_EQ(U32(a, 12), 7);
	CHECK_EQ(U32(a, 16), 1U << 1);	/* DMABUF_FD */
	CHECK_EQ(U32(a, 20), DRM_FORMAT_NV12);
	CHECK_EQ(U32(a, 24), 64);
	CHECK_EQ(U32(a, 28), 48);
	CHECK_EQ(U32(a, 32), 128);
	CHECK_EQ(U32(a, 36), 128);
	CHECK_EQ(U32(a, 40) | U32(a, 44), 0);
	CHECK_EQ(U32(a, 48), 4096);
	CHECK_EQ(U32(a, 52), 20480);
	CHECK_EQ(U32(a, 56) | U32(a, 60), 0);
	CHECK_EQ(U32(a, 84), 0);	/* pad */
	CHECK_EQ(U64(a, 88) | U64(a, 96) | U64(a, 104) | U64(a, 112), 0);
	CHECK_EQ(buf.handle, fk.handle);
	CHECK_EQ(buf.wait_handle, fk.wait_handle);
	CHECK_EQ(buf.size, fk.size);
	CHECK(fd_is_open(buf.dmabuf_fd));
	close(buf.dmabuf_fd);
	xzc_close(dev);
}

static void test_from_refs_v2_read_only(void)
{
	struct xzc_dev *dev = open_dev(0);
	struct xzc_buffer buf;

	if (!dev)
		return;
	CHECK_EQ(xzc_from_refs(dev, refs3, 3, 7, &xrgb_64x48,
			       XZC_FROM_REFS_READ_ONLY, &buf), 0);
	CHECK_EQ(U32(fk.calls[0].arg, 16), (1U << 1) | (1U << 0));
	close(buf.dmabuf_fd);
	xzc_close(dev);

	/* A v2 driver without the read-only capability. */
	fk.caps = 1 << 0;
	dev = open_dev(0);
	if (!dev)
		return;
	CHECK_EQ(xzc_from_refs(dev, refs3, 3, 7, &xrgb_64x48,
			       XZC_FROM_REFS_READ_ONLY, &buf), -EOPNOTSUPP);
	CHECK_EQ(fk.nr_calls, 0);
	xzc_close(dev);
}

static void test_from_refs_v1(void)
{
	struct xzc_dev *dev;
	struct xzc_buffer buf;
	uint8_t *a;

	fk.caps_errno = ENOTTY;
	dev = open_dev(0);
	if (!dev)
		return;
	CHECK_EQ(xzc_from_refs(dev, refs3, 3, 9, &xrgb_64x48, 0, &buf), 0);
	CHECK_EQ(fk.nr_calls, 2);
	CHECK_EQ(fk.calls[0].req, DUMB_FROM_REFS);
	a = fk.calls[0].arg;
	CHECK_EQ(U32(a, 0), 3);
	CHECK_EQ(U64(a, 8), (uintptr_t)refs3);
	CHECK_EQ(U64(a, 16), 9);
	CHECK_EQ(U32(a, 24), 48);	/* dumb.height */
	CHECK_EQ(U32(a, 28), 64);	/* dumb.width */
	CHECK_EQ(U32(a, 32), 32);	/* dumb.bpp */
	CHECK_EQ(U32(a, 36), 0);	/* dumb.flags */
	CHECK_EQ(fk.calls[1].req, PRIME_TO_FD);
	a = fk.calls[1].arg;
	CHECK_EQ(U32(a, 0), fk.handle);
	CHECK_EQ(U32(a, 4), O_CLOEXEC | O_RDWR);
	CHECK_EQ(buf.handle, fk.handle);
	CHECK_EQ(buf.wait_handle, fk.wait_handle);
	CHECK_EQ(buf.size, fk.size);
	CHECK(fd_is_open(buf.dmabuf_fd));
	close(buf.dmabuf_fd);
	xzc_close(dev);
}

static void test_from_refs_v1_bpp(void)
{
	static const struct { uint32_t fourcc, bpp; } f[] = {
		{ DRM_FORMAT_C8, 8 }, { DRM_FORMAT_RGB565, 16 },
		{ DRM_FORMAT_YUYV, 16 }, { DRM_FORMAT_BGR888, 24 },
		{ DRM_FORMAT_ARGB2101010, 32 },
	};
	struct xzc_geometry g = { .width = 30, .height = 2 };
	struct xzc_buffer buf;
	struct xzc_dev *dev;
	size_t i;

	dev = open_v1();
	if (!dev)
		return;
	for (i = 0; i < ARRAY_SIZE(f); i++) {
		fk.nr_calls = 0;
		g.fourcc = f[i].fourcc;
		g.pitches[0] = g.width * f[i].bpp / 8;
		CHECK_EQ(xzc_from_refs(dev, refs3, 1, 1, &g, 0, &buf), 0);
		CHECK_EQ(U32(fk.calls[0].arg, 32), f[i].bpp);
		close(buf.dmabuf_fd);
	}
	xzc_close(dev);
}

static void test_from_refs_v1_cannot(void)
{
	struct xzc_geometry g;
	struct xzc_buffer buf;
	struct xzc_dev *dev;

	dev = open_v1();
	if (!dev)
		return;
	g = xrgb_64x48;
	g.offsets[0] = 4096;		/* data_ofs */
	CHECK_EQ(xzc_from_refs(dev, refs3, 3, 1, &g, 0, &buf), -EOPNOTSUPP);
	g = xrgb_64x48;
	g.pitches[0] += 64;		/* padded lines */
	CHECK_EQ(xzc_from_refs(dev, refs3, 3, 1, &g, 0, &buf), -EOPNOTSUPP);
	g = xrgb_64x48;
	g.fourcc = DRM_FORMAT_NV12;	/* two planes */
	g.pitches[1] = 64;
	CHECK_EQ(xzc_from_refs(dev, refs3, 3, 1, &g, 0, &buf), -EOPNOTSUPP);
	CHECK_EQ(xzc_from_refs(dev, refs3, 3, 1, &xrgb_64x48,
			       XZC_FROM_REFS_READ_ONLY, &buf), -EOPNOTSUPP);
	g = xrgb_64x48;
	g.pitches[0] -= 4;		/* too small in any version */
	CHECK_EQ(xzc_from_refs(dev, refs3, 3, 1, &g, 0, &buf), -EINVAL);
	CHECK_EQ(xzc_from_refs(dev, refs3, 3, 1, &xrgb_64x48, 1U << 9, &buf),
		 -EINVAL);
	CHECK_EQ(xzc_from_refs(dev, refs3, 3, 1, NULL, 0, &buf), -EINVAL);
	CHECK_EQ(fk.nr_calls, 0);
	xzc_close(dev);
}

static void test_from_refs_v1_export_fails(void)
{
	struct xzc_buffer buf = { .handle = 99 };
	struct xzc_dev *dev;

	dev = open_v1();
	if (!dev)
		return;
	fake_fail(PRIME_TO_FD, EMFILE, 1);
	CHECK_EQ(xzc_from_refs(dev, refs3, 3, 1, &xrgb_64x48, 0, &buf), -EMFILE);
	CHECK_EQ(fk.nr_calls, 3);
	CHECK_EQ(fk.calls[2].req, GEM_CLOSE);
	CHECK_EQ(U32(fk.calls[2].arg, 0), fk.handle);
	CHECK_EQ(U32(fk.calls[2].arg, 4), 0);
	CHECK_EQ(buf.handle, 99);
	xzc_close(dev);
}

static void test_from_refs_driver_error(void)
{
	struct xzc_dev *dev = open_dev(0);
	struct xzc_buffer buf;

	if (!dev)
		return;
	fake_fail(FROM_REFS2, ESRCH, 1);
	CHECK_EQ(xzc_from_refs(dev, refs3, 3, 1, &xrgb_64x48, 0, &buf), -ESRCH);
	CHECK_EQ(fk.nr_calls, 1);
	xzc_close(dev);
}

static void check_to_refs(int v2)
{
	uint32_t refs[3] = { 0 }, handle = 0;
	struct xzc_dev *dev = v2 ? open_dev(0) : open_v1();
	uint8_t *a;

	if (!dev)
		return;
	CHECK_EQ(xzc_to_refs(dev, 42, 3, 0, refs, 3, &handle), 0);
	CHECK_EQ(fk.nr_calls, 2);
	CHECK_EQ(fk.calls[0].req, PRIME_TO_HANDLE);
	CHECK_EQ(S32(fk.calls[0].arg, 8), 42);
	a = fk.calls[1].arg;
	if (v2) {
		CHECK_EQ(fk.calls[1].req, TO_REFS2);
		CHECK_EQ(U64(a, 0), (uintptr_t)refs);
		CHECK_EQ(U32(a, 8), 3);
		CHECK_EQ(U32(a, 12), 3);
		CHECK_EQ(U32(a, 16), fk.handle);
		CHECK_EQ(U32(a, 20), 0);
		CHECK_EQ(U64(a, 24) | U64(a, 32), 0);
		CHECK_EQ(refs[2], 102);
	} else {
		CHECK_EQ(fk.calls[1].req, DUMB_TO_REFS);
		CHECK_EQ(U32(a, 0), 3);
		CHECK_EQ(U64(a, 8), (uintptr_t)refs);
		CHECK_EQ(U64(a, 16), 3);
		CHECK_EQ(U32(a, 24), fk.handle);
		CHECK_EQ(refs[2], 202);
	}
	CHECK_EQ(handle, fk.handle);
	xzc_close(dev);
}

static void test_to_refs_v2(void)
{
	check_to_refs(1);
}

static void test_to_refs_v1(void)
{
	check_to_refs(0);
}

static void test_to_refs_read_only(void)
{
	uint32_t refs[3], handle;
	struct xzc_dev *dev = open_dev(0);

	if (!dev)
		return;
	CHECK_EQ(xzc_to_refs(dev, 42, 3, XZC_TO_REFS_READ_ONLY, refs, 3,
			     &handle), 0);
	CHECK_EQ(U32(fk.calls[1].arg, 20), 1);
	xzc_close(dev);

	dev = open_v1();
	if (!dev)
		return;
	CHECK_EQ(xzc_to_refs(dev, 42, 3, XZC_TO_REFS_READ_ONLY, refs, 3,
			     &handle), -EOPNOTSUPP);
	CHECK_EQ(xzc_to_refs(dev, 42, 3, 1U << 7, refs, 3, &handle), -EINVAL);
	CHECK_EQ(fk.nr_calls, 0);
	xzc_close(dev);
}

static void test_to_refs_fail_closes_import(void)
{
	uint32_t refs[3], handle = 99;
	struct xzc_dev *dev = open_dev(0);

	if (!dev)
		return;
	fake_fail(TO_REFS2, EBUSY, 1);
	CHECK_EQ(xzc_to_refs(dev, 42, 3, 0, refs, 3, &handle), -EBUSY);
	CHECK_EQ(fk.nr_calls, 3);
	CHECK_EQ(fk.calls[2].req, GEM_CLOSE);
	CHECK_EQ(U32(fk.calls[2].arg, 0), fk.handle);
	CHECK_EQ(handle, 99);
	xzc_close(dev);
}

static void test_wait_free_v2(void)
{
	struct xzc_dev *dev = open_dev(0);
	int64_t deadline = xzc_deadline_ms(5000);
	uint8_t *a;
	int i;

	if (!dev)
		return;
	fake_fail(WAIT_FREE2, EINTR, 2);
	CHECK_EQ(xzc_wait_free(dev, 17, deadline), 0);
	/* Interrupted twice: the same absolute deadline each time. */
	CHECK_EQ(fk.nr_calls, 3);
	for (i = 0; i < fk.nr_calls; i++) {
		a = fk.calls[i].arg;
		CHECK_EQ(fk.calls[i].req, WAIT_FREE2);
		CHECK_EQ((int64_t)U64(a, 0), deadline);
		CHECK_EQ(U32(a, 8), 17);
		CHECK_EQ(U32(a, 12) | U32(a, 20), 0);
		CHECK_EQ(U64(a, 24) | U64(a, 32), 0);
	}
	fk.nr_calls = 0;
	fake_fail(WAIT_FREE2, ETIMEDOUT, 1);
	CHECK_EQ(xzc_wait_free(dev, 17, deadline), -ETIMEDOUT);
	CHECK_EQ(fk.nr_calls, 1);
	fk.wait_status = 0;
	CHECK_EQ(xzc_wait_free(dev, 17, deadline), -EIO);
	xzc_close(dev);
}

static void test_wait_free_v1_interrupted(void)
{
	struct xzc_dev *dev;
	int64_t deadline;

	dev = open_v1();
	if (!dev)
		return;
	deadline = xzc_deadline_ms(1500);
	fake_fail(DUMB_WAIT_FREE, EINTR, 2);
	fk.eintr_sleep_ms = 100;
	CHECK_EQ(xzc_wait_free(dev, 23, deadline), 0);
	CHECK_EQ(fk.nr_calls, 3);
	CHECK_EQ(fk.calls[0].req, DUMB_WAIT_FREE);
	CHECK_EQ(U32(fk.calls[0].arg, 0), 23);
	/* The time left, in ms, shrinking with each restart. */
	CHECK(U32(fk.calls[0].arg, 4) <= 1500);
	CHECK(U32(fk.calls[0].arg, 4) > 1300);
	CHECK(U32(fk.calls[1].arg, 4) <= U32(fk.calls[0].arg, 4) - 100);
	CHECK(U32(fk.calls[2].arg, 4) <= U32(fk.calls[1].arg, 4) - 100);
	CHECK(U32(fk.calls[2].arg, 4) > 0);
	xzc_close(dev);
}

static void test_wait_free_v1_timeout(void)
{
	struct xzc_dev *dev;
	int64_t deadline;

	dev = open_v1();
	if (!dev)
		return;
	/* A deadline already past polls once. */
	fake_fail(DUMB_WAIT_FREE, ETIMEDOUT, 5);
	CHECK_EQ(xzc_wait_free(dev, 23, xzc_deadline_ms(0) - 1000000), -ETIMEDOUT);
	CHECK_EQ(fk.nr_calls, 1);
	CHECK_EQ(U32(fk.calls[0].arg, 4), 0);

	/* A timeout that ends on time is the end. */
	fk.nr_calls = 0;
	deadline = xzc_deadline_ms(50);
	CHECK_EQ(xzc_wait_free(dev, 23, deadline), -ETIMEDOUT);
	CHECK(xzc_deadline_ms(0) >= deadline);
	CHECK(fk.nr_calls >= 1 && fk.nr_calls <= 2);

	fake_fail(DUMB_WAIT_FREE, ENOENT, 1);
	CHECK_EQ(xzc_wait_free(dev, 23, xzc_deadline_ms(1000)), -ENOENT);
	xzc_close(dev);
}

static void test_wait_fd(void)
{
	struct xzc_dev *dev = open_dev(0);
	int fd;

	if (!dev)
		return;
	fd = xzc_wait_fd(dev, 31);
	CHECK(fd >= 0 && fd_is_open(fd));
	CHECK_EQ(fk.nr_calls, 1);
	CHECK_EQ(fk.calls[0].req, WAIT_FD);
	CHECK_EQ(U32(fk.calls[0].arg, 0), 31);
	CHECK_EQ(U32(fk.calls[0].arg, 4), 0);
	CHECK_EQ(U32(fk.calls[0].arg, 12) | U32(fk.calls[0].arg, 16) |
		 U32(fk.calls[0].arg, 20), 0);
	if (fd >= 0)
		close(fd);
	xzc_close(dev);

	/* v2 without WAIT_FD, and v1. */
	fk.caps = 1 << 0;
	dev = open_dev(0);
	if (!dev)
		return;
	CHECK_EQ(xzc_wait_fd(dev, 31), -EOPNOTSUPP);
	xzc_close(dev);
	fk.caps_errno = ENOTTY;
	dev = open_dev(0);
	if (!dev)
		return;
	CHECK_EQ(xzc_wait_fd(dev, 31), -EOPNOTSUPP);
	CHECK_EQ(fk.nr_calls, 0);
	xzc_close(dev);
}

static void test_close_handle(void)
{
	struct xzc_dev *dev = open_dev(0);

	if (!dev)
		return;
	CHECK_EQ(xzc_close_handle(dev, 12), 0);
	CHECK_EQ(fk.calls[0].req, GEM_CLOSE);
	CHECK_EQ(U32(fk.calls[0].arg, 0), 12);
	CHECK_EQ(U32(fk.calls[0].arg, 4), 0);
	fake_fail(GEM_CLOSE, EINVAL, 1);
	CHECK_EQ(xzc_close_handle(dev, 12), -EINVAL);
	xzc_close(dev);
}

static void test_dmabuf_pages(void)
{
	long page = sysconf(_SC_PAGESIZE);
	int fd = memfd_create("fake-dmabuf", MFD_CLOEXEC);

	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, 3 * page), 0);
	CHECK_EQ(xzc_dmabuf_pages(fd), 3);
	CHECK_EQ(ftruncate(fd, 3 * page + 1), 0);
	CHECK_EQ(xzc_dmabuf_pages(fd), -EINVAL);
	close(fd);
	CHECK_EQ(xzc_dmabuf_pages(fd), -EBADF);
}

static void test_strerror(void)
{
	CHECK(strstr(xzc_strerror(-EOPNOTSUPP), "v1") != NULL);
	CHECK(!strcmp(xzc_strerror(-EOPNOTSUPP), xzc_strerror(EOPNOTSUPP)));
	CHECK(!strcmp(xzc_strerror(-EPIPE), strerror(EPIPE)));
	CHECK(strstr(xzc_strerror(-ENODEV), "xen_drm_zcopy") != NULL);
}

static void test_symbol_versions(void)
{
	static const char *const names[] = {
		"xzc_open", "xzc_close", "xzc_fd", "xzc_get_caps",
		"xzc_from_refs", "xzc_to_refs", "xzc_dmabuf_pages",
		"xzc_close_handle", "xzc_deadline_ms", "xzc_wait_free",
		"xzc_wait_fd", "xzc_strerror",
	};
	void *lib = dlopen("libxenzcopy.so.0", RTLD_NOW | RTLD_NOLOAD);
	size_t i;

	CHECK(lib != NULL);
	if (!lib)
		return;
	for (i = 0; i < ARRAY_SIZE(names); i++)
		CHECK(dlvsym(lib, names[i], "XENZCOPY_0.1") != NULL);
	/* Internal functions stay internal. */
	CHECK(dlsym(lib, "xzc_ioctl") == NULL);
	CHECK(dlsym(lib, "xzc_v1_cpp") == NULL);
	dlclose(lib);
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
#define T(n) { #n, test_##n }
	T(open_by_name), T(open_no_device), T(open_unreadable),
	T(open_bad_flags), T(caps_v1_einval), T(caps_v1_enotty),
	T(caps_error), T(caps_v2), T(force_v1), T(from_refs_v2),
	T(from_refs_v2_read_only), T(from_refs_v1), T(from_refs_v1_bpp),
	T(from_refs_v1_cannot), T(from_refs_v1_export_fails),
	T(from_refs_driver_error), T(to_refs_v2), T(to_refs_v1),
	T(to_refs_read_only), T(to_refs_fail_closes_import),
	T(wait_free_v2), T(wait_free_v1_interrupted),
	T(wait_free_v1_timeout), T(wait_fd), T(close_handle),
	T(dmabuf_pages), T(strerror), T(symbol_versions),
#undef T
};

int main(void)
{
	size_t i;

	real_ioctl = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < ARRAY_SIZE(tests); i++) {
		fake_reset();
		cur_name = tests[i].name;
		cur_failed = 0;
		tests[i].fn();
		printf("[%s] lib@%s\n", cur_failed ? "FAIL" : "PASS", cur_name);
		if (cur_failed)
			failed++;
		else
			passed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
