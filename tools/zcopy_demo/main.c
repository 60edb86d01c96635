// SPDX-License-Identifier: GPL-2.0
/*
 * zcopy_demo: shows what xen_drm_zcopy is for, step by step, on a live
 * system (the testbed's Dom0, where self-grants stand in for a frontend).
 *
 *  1. A reference: the frame drawn into a native vkms dumb buffer gives
 *     the CRCs the zero-copy path must reproduce.
 *  2. Frontend-allocated buffer: a "frontend" (gntalloc) grants pages to
 *     domain 0 and draws the frame into them; the backend turns the refs
 *     into a buffer and its dma-buf (xzc_from_refs(): FROM_REFS2, or
 *     DUMB_FROM_REFS + PRIME export on a v1 driver), vkms imports it,
 *     ADDFB2 + modeset, and vkms' CRC must equal the native one.
 *  3. A live write through the frontend's own mapping changes the next CRC
 *     (to the native CRC of the changed frame): no copy anywhere.
 *  4. Teardown as a backend does it on DBUF_DESTROY: drop its handles,
 *     xzc_wait_free() blocks until the display let go and the grants are
 *     unmapped, then returns 0; the driver's counters are back at baseline.
 *  5. Backend-allocated buffer, briefly: a vkms dumb buffer is imported
 *     and granted (xzc_to_refs()), the frontend maps the refs (gntdev) and
 *     draws; the CRC follows its writes.
 *
 * The backend's side goes through libxenzcopy, as a real backend would.
 * Every call is timed (microseconds, CLOCK_MONOTONIC around the call).
 * Exits 0 only if every step worked and every CRC matched.
 */

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "xenzcopy.h"
#include "zc_drm.h"
#include "zc_gnt.h"
#include "zc_xen.h"

#define W	1024
#define H	768
#define BPP	32
#define PAGE	4096u
/* In the testbed the frontend is Dom0 itself (self-grants). */
#define FRONTEND_DOMID	0

/* The box the frontend draws live. */
#define BOX_X	384
#define BOX_Y	320
#define BOX_W	256
#define BOX_H	128

static int checks, failures;
/* The driver's interface the library uses, for the report lines. */
static bool drv_v2;

/* ---- output ---------------------------------------------------------- */

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Times one call; the result goes to @ret, the duration to @us. */
#define TIMED(us, ret, call) do {		\
	double __t0 = now_us();			\
	(ret) = (call);				\
	(us) = now_us() - __t0;			\
} while (0)

static void section(const char *title)
{
	printf("\n== %s ==\n", title);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;

	printf("   ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/*
 * One line per ioctl: name, result, time, details. @ret is 0 or -errno.
 * Returns @ret so callers can stop on a failure.
 */
static int report(const char *ioctl_name, const char *on, int ret, double us,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int report(const char *ioctl_name, const char *on, int ret, double us,
		  const char *fmt, ...)
{
	char name[96];
	va_list ap;

	snprintf(name, sizeof(name), "%s (%s)", ioctl_name, on);
	printf("   %-46s %-4s %9.1f us", name, ret ? "FAIL" : "ok", us);
	if (ret) {
		printf("  %s\n", strerror(-ret));
		failures++;
		return ret;
	}
	if (fmt && *fmt) {
		printf("  ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	printf("\n");
	return 0;
}

static bool check(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static bool check(bool ok, const char *fmt, ...)
{
	va_list ap;

	checks++;
	if (!ok)
		failures++;
	printf("   %s ", ok ? "[MATCH]" : "[FAILED]");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return ok;
}

static void print_stats(const char *when)
{
	struct zc_stats s;
	char line[512];
	size_t n = 0;
	int i;

	if (zc_stats_read(&s)) {
		note("counters %s: unreadable", when);
		return;
	}
	for (i = 0; i < ZC_NR_STATS; i++)
		n += snprintf(line + n, sizeof(line) - n, " %s=%ld",
			      zc_stat_names[i], s.v[i]);
	note("counters %s:%s", when, line);
}

static long stat_of(const struct zc_stats *s, const char *name)
{
	int i;

	for (i = 0; i < ZC_NR_STATS; i++)
		if (!strcmp(zc_stat_names[i], name))
			return s->v[i];
	return -1;
}

/* ---- the frame ------------------------------------------------------- */

/*
 * Eight colour bars over the top two thirds, a grey ramp below, and a
 * diagonal stripe across everything: easy to recognise, and every row
 * and column matters to the CRC.
 */
static void draw_frame(uint8_t *base, uint32_t pitch)
{
	static const uint32_t bars[8] = {
		0xffffff, 0xffff00, 0x00ffff, 0x00ff00,
		0xff00ff, 0xff0000, 0x0000ff, 0x000000,
	};
	uint32_t x, y;

	for (y = 0; y < H; y++) {
		uint32_t *row = (uint32_t *)(base + (size_t)y * pitch);

		for (x = 0; x < W; x++) {
			uint32_t c;

			if (y < H * 2 / 3)
				c = bars[x * 8 / W];
			else
				c = (x * 255 / (W - 1)) * 0x010101;
			if (((x + y) & 63) < 4)
				c ^= 0x808080;
			row[x] = c;
		}
	}
}

/* What the frontend changes live: an orange box with a white frame. */
static void draw_box(uint8_t *base, uint32_t pitch)
{
	uint32_t x, y;

	for (y = BOX_Y; y < BOX_Y + BOX_H; y++) {
		uint32_t *row = (uint32_t *)(base + (size_t)y * pitch);

		for (x = BOX_X; x < BOX_X + BOX_W; x++) {
			bool edge = x < BOX_X + 4 || x >= BOX_X + BOX_W - 4 ||
				    y < BOX_Y + 4 || y >= BOX_Y + BOX_H - 4;

			row[x] = edge ? 0xffffff : 0xff8000;
		}
	}
}

/* ---- KMS steps, each ioctl timed ------------------------------------- */

static int kms_addfb(struct zc_kms *k, uint32_t handle, uint32_t pitch,
		     uint32_t *fb, const char *what)
{
	uint32_t handles[4] = { handle }, pitches[4] = { pitch };
	uint32_t offsets[4] = { 0 };
	double us;
	int ret;

	TIMED(us, ret, drmModeAddFB2(k->fd, W, H, DRM_FORMAT_XRGB8888, handles,
				     pitches, offsets, fb, 0) ? -errno : 0);
	return report("DRM_IOCTL_MODE_ADDFB2", "vkms", ret, us,
		      "fb %u = %s, XRGB8888 pitch %u", *fb, what, pitch);
}

static int kms_modeset(struct zc_kms *k, uint32_t fb, const char *what)
{
	double us;
	int ret;

	TIMED(us, ret, drmModeSetCrtc(k->fd, k->crtc_id, fb, 0, 0, &k->conn_id,
				      1, &k->mode) ? -errno : 0);
	return report("DRM_IOCTL_MODE_SETCRTC", "vkms", ret, us,
		      "CRTC %u shows fb %u (%s)", k->crtc_id, fb, what);
}

static int kms_rmfb(struct zc_kms *k, uint32_t fb)
{
	double us;
	int ret;

	TIMED(us, ret, drmModeRmFB(k->fd, fb) ? -errno : 0);
	return report("DRM_IOCTL_MODE_RMFB", "vkms", ret, us, "fb %u", fb);
}

static int gem_close(struct xzc_dev *xdev, uint32_t handle, const char *what)
{
	double us;
	int ret;

	TIMED(us, ret, xzc_close_handle(xdev, handle));
	return report("xzc_close_handle", "xen_zcopy", ret, us, "handle %u%s%s",
		      handle, what ? ": " : "", what ? what : "");
}

static int crc(struct zc_kms *k, uint32_t *value)
{
	double t0 = now_us();
	int ret = zc_crc_current(k, value);

	if (ret) {
		note("vkms CRC: cannot read: %s", strerror(-ret));
		failures++;
		return ret;
	}
	note("vkms CRC: 0x%08x (stable over 3 compositions, %.0f ms)", *value,
	     (now_us() - t0) / 1000);
	return 0;
}

/* ---- 1. native reference --------------------------------------------- */

struct native {
	struct zc_dumb d;
	uint8_t *px;
	uint32_t fb;
	uint32_t crc_frame;
	uint32_t crc_box;
};

static int native_reference(struct zc_kms *k, struct native *n)
{
	double us;
	int ret;

	section("1. Reference: the frame in a native vkms dumb buffer");
	TIMED(us, ret, zc_dumb_create(k->fd, W, H, BPP, &n->d));
	if (report("DRM_IOCTL_MODE_CREATE_DUMB", "vkms", ret, us,
		   "handle %u, pitch %u, size %llu", n->d.handle, n->d.pitch,
		   (unsigned long long)n->d.size))
		return ret;
	n->px = zc_dumb_map(k->fd, n->d.handle, n->d.size);
	if (!n->px) {
		note("cannot map the native buffer");
		failures++;
		return -ENOMEM;
	}
	draw_frame(n->px, n->d.pitch);
	note("drew the frame: 8 colour bars, a grey ramp, diagonal stripes");

	/* The test helper adds the fb, modesets and starts CRC capture. */
	TIMED(us, ret, zc_kms_show(k, n->d.handle, n->d.pitch));
	if (report("ADDFB2 + SETCRTC + CRC capture on", "vkms", ret, us,
		   "fb %u on CRTC %u", k->fb_id, k->crtc_id))
		return ret;
	n->fb = k->fb_id;
	if (crc(k, &n->crc_frame))
		return -EIO;

	draw_box(n->px, n->d.pitch);
	note("drew the box (%ux%u at %u,%u) into the native buffer",
	     BOX_W, BOX_H, BOX_X, BOX_Y);
	if (crc(k, &n->crc_box))
		return -EIO;
	check(n->crc_box != n->crc_frame,
	      "the box changes the native CRC (0x%08x -> 0x%08x)",
	      n->crc_frame, n->crc_box);
	return 0;
}

/* ---- 2.-4. frontend-allocated buffer ---------------------------------- */

struct teardown {
	struct zc_kms *k;
	uint32_t native_fb;
	uint32_t zc_fb;
	uint32_t vkms_handle;
	unsigned int delay_ms;
	double us_modeset, us_rmfb, us_close;
	int ret_modeset, ret_rmfb, ret_close;
	double start_at;
};

/* The display side lets go of the buffer while the backend waits. */
static void *display_lets_go(void *arg)
{
	struct teardown *t = arg;

	usleep(t->delay_ms * 1000);
	t->start_at = now_us();
	TIMED(t->us_modeset, t->ret_modeset,
	      drmModeSetCrtc(t->k->fd, t->k->crtc_id, t->native_fb, 0, 0,
			     &t->k->conn_id, 1, &t->k->mode) ? -errno : 0);
	TIMED(t->us_rmfb, t->ret_rmfb,
	      drmModeRmFB(t->k->fd, t->zc_fb) ? -errno : 0);
	TIMED(t->us_close, t->ret_close, zc_gem_close(t->k->fd, t->vkms_handle));
	return NULL;
}

static int frontend_allocated(struct zc_kms *k, struct xzc_dev *xdev,
			      struct native *n, const struct zc_stats *base)
{
	static const struct xzc_geometry geom = {
		.fourcc = DRM_FORMAT_XRGB8888, .width = W, .height = H,
		.pitches = { W * (BPP / 8) },
	};
	uint32_t npages = (W * H * (BPP / 8) + PAGE - 1) / PAGE;
	struct xzc_buffer buf = { .dmabuf_fd = -1 };
	uint32_t vkms_handle = 0, zc_fb = 0, c1, c2;
	struct teardown t = { 0 };
	struct zc_gntalloc ga;
	pthread_t thread;
	double us, t0, wait_end;
	long mapped_at_return;
	int ret;

	section(drv_v2 ? "2. Frontend-allocated buffer: FROM_REFS2 -> vkms" :
		"2. Frontend-allocated buffer: DUMB_FROM_REFS -> PRIME -> vkms");
	TIMED(us, ret, zc_gntalloc_alloc(&ga, FRONTEND_DOMID, npages, true));
	if (report("GNTALLOC_ALLOC_GREF + mmap", "frontend", ret, us,
		   "%u pages granted to domain %d", npages, FRONTEND_DOMID))
		return ret;
	note("frontend's refs: %u, %u, %u, ... %u", ga.refs[0], ga.refs[1],
	     ga.refs[2], ga.refs[npages - 1]);
	t0 = now_us();
	draw_frame(ga.map, W * (BPP / 8));
	note("frontend drew the same frame into its own pages (%.0f us)",
	     now_us() - t0);

	TIMED(us, ret, xzc_from_refs(xdev, ga.refs, npages, FRONTEND_DOMID,
				     &geom, 0, &buf));
	if (report("xzc_from_refs", drv_v2 ? "FROM_REFS2" :
		   "DUMB_FROM_REFS + PRIME_HANDLE_TO_FD", ret, us,
		   "handle %u, dma-buf fd %d, size %llu, wait_handle %u",
		   buf.handle, buf.dmabuf_fd, (unsigned long long)buf.size,
		   buf.wait_handle))
		goto out_free;
	note("%u grants of domain %d mapped into Dom0, no byte copied",
	     npages, FRONTEND_DOMID);

	TIMED(us, ret, zc_prime_import(k->fd, buf.dmabuf_fd, &vkms_handle));
	if (report("DRM_IOCTL_PRIME_FD_TO_HANDLE", "vkms", ret, us,
		   "vkms handle %u", vkms_handle))
		goto out_close;

	if (kms_addfb(k, vkms_handle, geom.pitches[0], &zc_fb,
		      "the frontend's pages") ||
	    kms_modeset(k, zc_fb, "zero-copy buffer")) {
		ret = -EIO;
		goto out_close;
	}
	note("(the modeset includes vkms' dma_buf_vmap() of the buffer)");
	print_stats("while scanned out");
	note("(on x86 PV, pv_vmap_grants = the grant PTE maps behind vkms' vmap)");

	ret = crc(k, &c1);
	if (ret)
		goto out_close;
	check(c1 == n->crc_frame,
	      "zero-copy CRC 0x%08x == native CRC 0x%08x of the same frame",
	      c1, n->crc_frame);

	section("3. Live write through the frontend's mapping");
	t0 = now_us();
	draw_box(ga.map, W * (BPP / 8));
	note("frontend drew the box into its gntalloc mapping (%u KiB, %.0f us);"
	     " the backend did nothing", BOX_W * BOX_H * 4 / 1024, now_us() - t0);
	ret = crc(k, &c2);
	if (ret)
		goto out_close;
	check(c2 != c1, "the next CRC changed: 0x%08x -> 0x%08x", c1, c2);
	check(c2 == n->crc_box,
	      "zero-copy CRC 0x%08x == native CRC 0x%08x of the frame with the box",
	      c2, n->crc_box);

	section("4. Teardown (the frontend sent DBUF_DESTROY)");
	t0 = now_us();
	close(buf.dmabuf_fd);
	buf.dmabuf_fd = -1;
	note("backend closed its dma-buf fd (%.1f us)", now_us() - t0);
	ret = gem_close(xdev, buf.handle, "backend drops its handle");
	buf.handle = 0;
	if (ret)
		goto out_close;
	note("vkms still scans the buffer out: from_refs_objects=%ld, mapped_grants=%ld",
	     zc_stat("from_refs_objects"), zc_stat("mapped_grants"));

	/* vkms lets go 300 ms later, from another thread. */
	t.k = k;
	t.native_fb = n->fb;
	t.zc_fb = zc_fb;
	t.vkms_handle = vkms_handle;
	t.delay_ms = 300;
	if (pthread_create(&thread, NULL, display_lets_go, &t)) {
		note("cannot start the display thread");
		failures++;
		ret = -EAGAIN;
		goto out_close;
	}
	TIMED(us, ret, xzc_wait_free(xdev, buf.wait_handle,
				     xzc_deadline_ms(5000)));
	wait_end = now_us();
	mapped_at_return = zc_stat("mapped_grants");
	pthread_join(thread, NULL);
	zc_fb = 0;
	vkms_handle = 0;

	note("meanwhile, 300 ms later, the display let go (display thread):");
	report("DRM_IOCTL_MODE_SETCRTC", "vkms", t.ret_modeset, t.us_modeset,
	       "back to the native fb %u", n->fb);
	report("DRM_IOCTL_MODE_RMFB", "vkms", t.ret_rmfb, t.us_rmfb,
	       "fb %u", t.zc_fb);
	report("DRM_IOCTL_GEM_CLOSE", "vkms", t.ret_close, t.us_close,
	       "handle %u: the last reference to the dma-buf",
	       t.vkms_handle);
	report("xzc_wait_free", drv_v2 ? "WAIT_FREE2" : "DUMB_WAIT_FREE", ret,
	       us, "wait_handle %u -> 0 after %.0f ms (deadline in 5000 ms)",
	       buf.wait_handle, us / 1000);
	check(ret == 0 && t.start_at > 0 && wait_end > t.start_at,
	      "the wait blocked until the display let go, then returned 0");
	check(mapped_at_return == stat_of(base, "mapped_grants"),
	      "when it returned, the grants were unmapped (mapped_grants=%ld)",
	      mapped_at_return);

	zc_gntalloc_free(&ga);
	note("frontend freed its pages (safe now: nobody maps them)");
	ret = zc_stats_wait_baseline(base, 2000);
	check(ret == 0, "driver counters back at baseline");
	print_stats("after teardown");
	return ret;

out_close:
	if (zc_fb) {
		drmModeSetCrtc(k->fd, k->crtc_id, n->fb, 0, 0, &k->conn_id, 1,
			       &k->mode);
		drmModeRmFB(k->fd, zc_fb);
	}
	if (vkms_handle)
		zc_gem_close(k->fd, vkms_handle);
	if (buf.dmabuf_fd >= 0)
		close(buf.dmabuf_fd);
	if (buf.handle)
		xzc_close_handle(xdev, buf.handle);
out_free:
	zc_gntalloc_free(&ga);
	return ret ? ret : -EIO;
}

/* ---- 5. backend-allocated buffer -------------------------------------- */

static int backend_allocated(struct zc_kms *k, struct xzc_dev *xdev,
			     struct native *n, const struct zc_stats *base)
{
	uint32_t zc_handle = 0, fb = 0, npages, *refs = NULL, c0, c1, c2;
	struct zc_gntdev gd = { .fd = -1 };
	struct zc_dumb d = { 0 };
	int ret, dmabuf = -1;
	double us, t0;

	section(drv_v2 ? "5. Backend-allocated buffer: vkms dumb -> TO_REFS2 -> frontend" :
		"5. Backend-allocated buffer: vkms dumb -> DUMB_TO_REFS -> frontend");
	TIMED(us, ret, zc_dumb_create(k->fd, W, H, BPP, &d));
	if (report("DRM_IOCTL_MODE_CREATE_DUMB", "vkms", ret, us,
		   "handle %u, pitch %u, size %llu", d.handle, d.pitch,
		   (unsigned long long)d.size))
		return ret;
	npages = d.size / PAGE;
	refs = calloc(npages, sizeof(*refs));
	if (!refs) {
		ret = -ENOMEM;
		goto out;
	}

	TIMED(us, ret, zc_prime_export(k->fd, d.handle, &dmabuf));
	if (report("DRM_IOCTL_PRIME_HANDLE_TO_FD", "vkms", ret, us,
		   "dma-buf fd %d", dmabuf))
		goto out;
	TIMED(us, ret, xzc_to_refs(xdev, dmabuf, FRONTEND_DOMID, 0, refs,
				   npages, &zc_handle));
	if (report("xzc_to_refs", drv_v2 ? "FD_TO_HANDLE + TO_REFS2" :
		   "FD_TO_HANDLE + DUMB_TO_REFS", ret, us,
		   "handle %u (imported_objects=%ld); %u pages granted to "
		   "domain %d: refs %u, %u, ... %u", zc_handle,
		   zc_stat("imported_objects"), npages, FRONTEND_DOMID,
		   refs[0], refs[1], refs[npages - 1]))
		goto out;
	note("granted_refs=%ld: the refs go to the frontend (XenStore/displif)",
	     zc_stat("granted_refs"));

	TIMED(us, ret, zc_gntdev_map(&gd, FRONTEND_DOMID, refs, npages, true));
	if (report("GNTDEV_MAP_GRANT_REF + mmap", "frontend", ret, us,
		   "the frontend maps the %u refs", npages))
		goto out;

	if (kms_addfb(k, d.handle, d.pitch, &fb, "vkms' own buffer") ||
	    kms_modeset(k, fb, "backend-allocated buffer")) {
		ret = -EIO;
		goto out;
	}
	ret = crc(k, &c0);
	if (ret)
		goto out;

	t0 = now_us();
	draw_frame(gd.map, d.pitch);
	note("frontend drew the frame through its gntdev mapping (%.0f us)",
	     now_us() - t0);
	ret = crc(k, &c1);
	if (ret)
		goto out;
	check(c1 != c0, "the CRC changed: 0x%08x (empty buffer) -> 0x%08x", c0, c1);
	check(c1 == n->crc_frame,
	      "CRC 0x%08x == native CRC 0x%08x of the same frame", c1,
	      n->crc_frame);

	draw_box(gd.map, d.pitch);
	note("frontend drew the box through its gntdev mapping");
	ret = crc(k, &c2);
	if (ret)
		goto out;
	check(c2 == n->crc_box,
	      "CRC 0x%08x == native CRC 0x%08x of the frame with the box", c2,
	      n->crc_box);

	note("teardown: the frontend unmaps first, then the backend closes");
	kms_modeset(k, n->fb, "native buffer");
	kms_rmfb(k, fb);
	fb = 0;
	TIMED(us, ret, (zc_gntdev_unmap(&gd), 0));
	report("munmap + GNTDEV_UNMAP_GRANT_REF", "frontend", ret, us, NULL);
	close(dmabuf);
	dmabuf = -1;
	gem_close(xdev, zc_handle, "the grants end here");
	zc_handle = 0;
	note("granted_refs=%ld, deferred_refs=%ld", zc_stat("granted_refs"),
	     zc_stat("deferred_refs"));
	TIMED(us, ret, zc_gem_close(k->fd, d.handle));
	report("DRM_IOCTL_GEM_CLOSE", "vkms", ret, us, "handle %u", d.handle);
	d.handle = 0;
	ret = zc_stats_wait_baseline(base, 2000);
	check(ret == 0, "driver counters back at baseline");

out:
	if (fb) {
		drmModeSetCrtc(k->fd, k->crtc_id, n->fb, 0, 0, &k->conn_id, 1,
			       &k->mode);
		drmModeRmFB(k->fd, fb);
	}
	zc_gntdev_unmap(&gd);
	if (dmabuf >= 0)
		close(dmabuf);
	if (zc_handle)
		xzc_close_handle(xdev, zc_handle);
	if (d.handle)
		zc_gem_close(k->fd, d.handle);
	free(refs);
	return ret;
}

int main(void)
{
	struct native n = { 0 };
	struct xzc_dev *xdev;
	struct xzc_caps caps;
	struct zc_stats base;
	struct zc_kms k;
	drmVersionPtr v;
	char *node;
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("xen-zcopy demo: a frontend's frame on a real KMS driver, zero-copy\n");

	ret = xzc_open(&xdev, 0);
	if (!ret)
		ret = xzc_get_caps(xdev, &caps);
	if (ret) {
		printf("error: %s\n", xzc_strerror(ret));
		return 1;
	}
	drv_v2 = caps.caps & XZC_CAP_V2;
	ret = zc_kms_init(&k, W, H);
	if (ret) {
		printf("error: no vkms with a %ux%u mode: %s\n", W, H,
		       strerror(-ret));
		return 1;
	}
	v = drmGetVersion(xzc_fd(xdev));
	node = drmGetDeviceNameFromFd2(xzc_fd(xdev));
	note("backend device: %s (%s %d.%d: %s)", node ? node : "?",
	     v ? v->name : "?", v ? v->version_major : 0,
	     v ? v->version_minor : 0, v ? v->desc : "?");
	free(node);
	drmFreeVersion(v);
	note("interface:      %s (GET_CAPS caps 0x%llx), through libxenzcopy",
	     drv_v2 ? "v2" : "v1", (unsigned long long)caps.caps);
	note("display:        /dev/dri/card%d (vkms), CRTC %u, connector %u, mode %s",
	     k.minor, k.crtc_id, k.conn_id, k.mode.name);
	note("frame:          %ux%u XRGB8888, pitch %u, %u bytes = %u pages",
	     W, H, W * BPP / 8, W * H * BPP / 8, W * H * BPP / 8 / PAGE);
	note("frontend:       domain %d (self-grants: Dom0 plays the guest)",
	     FRONTEND_DOMID);
	if (zc_stats_read(&base)) {
		printf("error: cannot read the driver's xen_zcopy_stats in debugfs\n");
		return 1;
	}
	print_stats("at start (baseline)");

	ret = native_reference(&k, &n);
	if (!ret)
		frontend_allocated(&k, xdev, &n, &base);
	if (!ret)
		backend_allocated(&k, xdev, &n, &base);

	section("Result");
	zc_kms_fini(&k);
	xzc_close(xdev);
	if (ret && !failures)
		failures++;
	printf("   %d checks, %d failed: %s\n", checks, failures,
	       failures ? "DEMO FAILED" : "everything matched");
	return failures ? 1 : 0;
}
