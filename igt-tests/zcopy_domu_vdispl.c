// SPDX-License-Identifier: GPL-2.0
/*
 * The whole para-virtual display path with upstream's frontend: a vdispl
 * device is attached to the testbed's DomU (xl vdispl-attach), whose
 * drm_xen_front connects to a minimal displif backend in this process.
 * The backend turns the frontend's DBUF_CREATE into DUMB_FROM_REFS and
 * its SET_CONFIG / PG_FLIP into a vkms scanout of that buffer, and
 * answers DBUF_DESTROY only after DUMB_WAIT_FREE. The DomU's agent draws
 * with plain KMS ioctls on /dev/dri/card0; vkms' CRC must be that of a
 * native buffer with the same pattern, and follow the DomU's next write.
 *
 * Skips without a DomU (TESTBED_DOMU=0).
 */

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "zc_domu.h"
#include "zc_fixture.h"
#include "zc_drm.h"
#include "zc_gnt.h"
#include "zc_igt.h"
#include "zc_vdispl.h"
#include "zc_xen.h"

#define W	1024
#define H	768
#define PAGE	4096
#define PAGES	(W * 4 * H / PAGE)

#define SEED_A	21
#define SEED_B	22

#define MAX_BUFS	8

static struct zc_domu domu;
static struct zc_stats base;
static struct zc_kms kms;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* The backend: one vdispl device of the DomU, one connector. */
struct backend {
	pthread_t thread;
	volatile int stop;
	volatile int connected;	/* its rings are mapped */
	struct zc_vdispl v;
	int zfd;
	struct dbuf {
		uint64_t cookie;
		struct drm_xen_zcopy_dumb_from_refs req;
		uint32_t vkms_handle;
		int used;
	} dbufs[MAX_BUFS];
	struct fb {
		uint64_t cookie, dbuf_cookie;
		int used;
	} fbs[MAX_BUFS];
	/* What the frontend asked, for the test to check. */
	volatile int n_dbuf_create, n_set_config, n_pg_flip, n_dbuf_destroy;
	volatile int errors;
	char last_error[160];
};

static struct backend be;

static void be_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(be.last_error, sizeof(be.last_error), fmt, ap);
	va_end(ap);
	be.errors++;
	zc_info("backend: %s\n", be.last_error);
}

static struct dbuf *be_dbuf(uint64_t cookie)
{
	int i;

	for (i = 0; i < MAX_BUFS; i++)
		if (be.dbufs[i].used && be.dbufs[i].cookie == cookie)
			return &be.dbufs[i];
	return NULL;
}

static struct fb *be_fb(uint64_t cookie)
{
	int i;

	for (i = 0; i < MAX_BUFS; i++)
		if (be.fbs[i].used && be.fbs[i].cookie == cookie)
			return &be.fbs[i];
	return NULL;
}

/* The frontend's buffer: refs from its page directory, then FROM_REFS. */
static int be_dbuf_create(const struct xendispl_dbuf_create_req *r)
{
	uint32_t n = (r->buffer_sz + PAGE - 1) / PAGE;
	uint32_t *refs = calloc(n, sizeof(*refs));
	struct dbuf *d = NULL;
	int i, ret;

	for (i = 0; i < MAX_BUFS; i++)
		if (!be.dbufs[i].used) {
			d = &be.dbufs[i];
			break;
		}
	if (!refs || !d || (r->flags & XENDISPL_DBUF_FLG_REQ_ALLOC)) {
		free(refs);
		return -EINVAL;
	}
	ret = zc_vdispl_dir_read(domu.domid, r->gref_directory, n, refs);
	if (!ret)
		ret = zc_from_refs(be.zfd, refs, n, domu.domid, r->width, r->height,
				   r->bpp, &d->req);
	free(refs);
	if (ret)
		return ret;
	d->used = 1;
	d->cookie = r->dbuf_cookie;
	d->vkms_handle = 0;
	be.n_dbuf_create++;
	return 0;
}

/* Scans out the buffer behind @fb_cookie on vkms; 0 turns it off. */
static int be_show(uint64_t fb_cookie)
{
	struct fb *f;
	struct dbuf *d;
	int dmabuf, ret;

	if (!fb_cookie) {
		drmModeSetCrtc(kms.fd, kms.crtc_id, 0, 0, 0, NULL, 0, NULL);
		if (kms.fb_id)
			drmModeRmFB(kms.fd, kms.fb_id);
		kms.fb_id = 0;
		return 0;
	}
	f = be_fb(fb_cookie);
	d = f ? be_dbuf(f->dbuf_cookie) : NULL;
	if (!d)
		return -EINVAL;
	if (!d->vkms_handle) {
		ret = zc_prime_export(be.zfd, d->req.dumb.handle, &dmabuf);
		if (ret)
			return ret;
		ret = zc_prime_import(kms.fd, dmabuf, &d->vkms_handle);
		close(dmabuf);
		if (ret)
			return ret;
	}
	return zc_kms_show(&kms, d->vkms_handle, d->req.dumb.pitch);
}

/*
 * The frontend frees its pages once we answer: release everything and
 * wait until the driver unmapped the grants (DUMB_WAIT_FREE).
 */
static int be_dbuf_destroy(uint64_t cookie)
{
	struct dbuf *d = be_dbuf(cookie);
	int ret;

	if (!d)
		return -EINVAL;
	if (d->vkms_handle)
		zc_gem_close(kms.fd, d->vkms_handle);
	zc_gem_close(be.zfd, d->req.dumb.handle);
	ret = zc_wait_free(be.zfd, d->req.wait_handle, 3000);
	if (ret == -ENOENT)	/* freed before we asked */
		ret = 0;
	d->used = 0;
	be.n_dbuf_destroy++;
	if (ret)
		be_error("WAIT_FREE of dbuf %llu: %d", (unsigned long long)cookie, ret);
	return ret;
}

static int be_request(struct zc_vdispl_conn *c, const struct xendispl_req *req,
		      struct xendispl_resp *resp)
{
	struct fb *f;
	int i, ret;

	(void)resp;
	switch (req->operation) {
	case XENDISPL_OP_DBUF_CREATE:
		ret = be_dbuf_create(&req->op.dbuf_create);
		break;
	case XENDISPL_OP_DBUF_DESTROY:
		ret = be_dbuf_destroy(req->op.dbuf_destroy.dbuf_cookie);
		break;
	case XENDISPL_OP_FB_ATTACH:
		ret = -ENOMEM;
		if (!be_dbuf(req->op.fb_attach.dbuf_cookie))
			ret = -EINVAL;
		for (i = 0; i < MAX_BUFS && ret == -ENOMEM; i++)
			if (!be.fbs[i].used) {
				be.fbs[i].used = 1;
				be.fbs[i].cookie = req->op.fb_attach.fb_cookie;
				be.fbs[i].dbuf_cookie = req->op.fb_attach.dbuf_cookie;
				ret = 0;
			}
		break;
	case XENDISPL_OP_FB_DETACH:
		f = be_fb(req->op.fb_detach.fb_cookie);
		if (f)
			f->used = 0;
		ret = f ? 0 : -EINVAL;
		break;
	case XENDISPL_OP_SET_CONFIG:
		be.n_set_config++;
		if (req->op.set_config.fb_cookie &&
		    (req->op.set_config.width != W || req->op.set_config.height != H))
			ret = -EINVAL;
		else
			ret = be_show(req->op.set_config.fb_cookie);
		break;
	case XENDISPL_OP_PG_FLIP:
		be.n_pg_flip++;
		ret = be_show(req->op.pg_flip.fb_cookie);
		zc_vdispl_send_flip(c, req->op.pg_flip.fb_cookie);
		break;
	default:
		ret = -EOPNOTSUPP;
		break;
	}
	if (ret)
		be_error("op 0x%x -> %d", req->operation, ret);
	return ret;
}

static void be_disconnect(struct zc_vdispl *v)
{
	int i;

	(void)v;
	be.connected = 0;
	for (i = 0; i < MAX_BUFS; i++)
		if (be.dbufs[i].used)
			be_dbuf_destroy(be.dbufs[i].cookie);
}

static const struct zc_vdispl_ops be_ops = {
	.request = be_request,
	.disconnect = be_disconnect,
};

/* Serves the device: its rings, and its XenStore states every 50 ms. */
static void *be_main(void *data)
{
	long long last_step = 0;
	bool seen = false;	/* the toolstack created the device */
	int state;

	(void)data;
	while (!be.stop) {
		if (be.v.evtchn >= 0) {
			struct pollfd pfd = { .fd = be.v.evtchn, .events = POLLIN };

			if (poll(&pfd, 1, 20) > 0)
				zc_vdispl_kick(&be.v);
		} else {
			usleep(20000);
		}
		if (now_ms() - last_step < 50)
			continue;
		last_step = now_ms();
		state = zc_vdispl_step(&be.v);
		if (state == -ENODEV && seen)
			break;
		seen |= state != -ENODEV;
		if (be.v.error[0]) {
			be_error("%s", be.v.error);
			be.v.error[0] = '\0';
		}
		be.connected = be.v.evtchn >= 0;
	}
	return NULL;
}

/* Test plumbing. */

static void check_baseline(void *data)
{
	(void)data;
	if (zc_stats_wait_baseline(&base, 5000))
		zc_info("driver counters not back to baseline\n");
}

static void kms_cleanup(void *data)
{
	zc_kms_fini(data);
}

/*
 * Stops the backend. The device stays attached (later runs reuse it):
 * detaching it (backend Closed) makes the 6.1 drm_xen_front release its
 * DRM device with drm_atomic_helper_shutdown() from the drm_driver.release
 * callback, that is on a device whose refcount already dropped to zero,
 * which warns (refcount_t: addition on 0; use-after-free) in the DomU.
 */
static void backend_cleanup(void *data)
{
	(void)data;
	if (!be.v.xs)
		return;
	be.stop = 1;
	pthread_join(be.thread, NULL);
	if (be.v.evtchn >= 0)
		zc_vdispl_disconnect(&be.v);
	close(be.zfd);
	zc_xs_close(be.v.xs);
	be.v.xs = NULL;
}

static uint32_t native_crc(uint32_t seed)
{
	struct zc_dumb d;
	uint32_t crc, *px;

	zc_assert_ok(zc_dumb_create(kms.fd, W, H, 32, &d));
	px = zc_dumb_map(kms.fd, d.handle, d.size);
	zc_assert(px);
	zc_fill_pattern(px, W, H, d.pitch, seed);
	zc_assert_ok(zc_kms_show(&kms, d.handle, d.pitch));
	zc_assert_ok(zc_crc_current(&kms, &crc));
	munmap(px, d.size);
	zc_assert_ok(zc_gem_close(kms.fd, d.handle));
	/*
	 * Capture off until the next show: vkms queues a CRC per vblank and
	 * logs an error once 128 are unread, as they would be while the DomU
	 * works under a loaded emulator.
	 */
	close(kms.crc_fd);
	kms.crc_fd = -1;
	return crc;
}

static void test_xen_front_to_vkms(void)
{
	uint32_t crc_a, crc_b, crc = 0;
	char text[128];
	struct zc_xs *xs;
	int ret, i, devid, attach;
	long long t0;

	ret = zc_domu_open(&domu);
	if (ret == -ENODEV)
		zc_skip("no DomU: the testbed runs without one (TESTBED_DOMU=0) or it did not start");
	zc_assert_f(ret == 0, "the DomU agent does not answer: %d", ret);
	zc_require(zc_stats_read(&base) == 0);
	zc_at_exit(check_baseline, NULL);
	zc_at_exit(zc_domu_release, &domu);
	zc_domu_ok(&domu, "reset");

	ret = zc_kms_init(&kms, W, H);
	zc_require(ret != -ENODEV);
	zc_assert_ok(ret);
	zc_at_exit(kms_cleanup, &kms);
	crc_a = native_crc(SEED_A);
	crc_b = native_crc(SEED_B);
	zc_assert_neq(crc_a, crc_b);

	/*
	 * The backend, then the device (libxl waits for our InitWait): the
	 * one an earlier run left, or the next devid, the one libxl takes.
	 */
	memset(&be, 0, sizeof(be));
	xs = zc_xs_open();
	zc_assert(xs);
	devid = zc_vdispl_find(xs, domu.domid, 0, W, H);
	attach = devid < 0;
	if (attach)
		devid = zc_vdispl_next_devid(xs, domu.domid);
	zc_vdispl_init(&be.v, xs, domu.domid, devid, &be_ops, NULL);
	be.zfd = zc_xen_open();
	zc_assert(be.zfd >= 0);
	zc_assert_ok(-pthread_create(&be.thread, NULL, be_main, NULL));
	zc_at_exit(backend_cleanup, NULL);

	if (attach)
		zc_assert_eq(zc_vdispl_attach(domu.domid, 0, W, H), devid);
	t0 = now_ms();
	while (!be.connected && now_ms() - t0 < 20000)
		usleep(50000);
	zc_assert_f(be.connected, "the DomU's drm_xen_front did not connect (%s)",
		    be.last_error);
	zc_info("vdispl %d: drm_xen_front connected after %lld ms\n", devid,
		now_ms() - t0);

	/* The DomU draws on its own display; we scan it out on vkms. */
	zc_assert_f(zc_domu_cmd(&domu, text, sizeof(text), "xendrm-show %u %u %u %d", W, H,
			  SEED_A, devid) == 0, "DomU: xendrm-show: %s", text);
	zc_assert_f(!be.errors, "backend: %s", be.last_error);
	zc_assert(be.n_dbuf_create >= 1);
	zc_assert(be.n_set_config + be.n_pg_flip >= 1);
	zc_assert_eq(zc_stat("from_refs_objects"), base.v[0] + 1);
	zc_assert_ok(zc_crc_current(&kms, &crc));
	zc_info("native A 0x%08x, B 0x%08x, drm_xen_front's buffer 0x%08x\n",
		crc_a, crc_b, crc);
	zc_assert_eq(crc, crc_a);

	/* Zero-copy: the DomU's next write reaches the scanout. */
	zc_domu_ok(&domu, "xendrm-fill %u", SEED_B);
	for (i = 0; i < 10 && crc != crc_b; i++)
		zc_assert_ok(zc_crc_current(&kms, &crc));
	zc_assert_eq(crc, crc_b);

	/* The frontend tears down: DBUF_DESTROY is answered after WAIT_FREE. */
	zc_domu_ok(&domu, "xendrm-close");
	t0 = now_ms();
	while (be.n_dbuf_destroy < be.n_dbuf_create && now_ms() - t0 < 10000)
		usleep(50000);
	zc_assert_eq(be.n_dbuf_destroy, be.n_dbuf_create);
	zc_info("frontend requests: %d DBUF_CREATE, %d SET_CONFIG, %d PG_FLIP, %d DBUF_DESTROY\n",
		be.n_dbuf_create, be.n_set_config, be.n_pg_flip, be.n_dbuf_destroy);
	zc_assert_f(!be.errors, "backend: %s", be.last_error);
	zc_assert_ok(zc_stats_wait_baseline(&base, 5000));
}

static const struct zc_subtest subtests[] = {
	{ "xen-front-to-vkms", test_xen_front_to_vkms },
	{ }
};

ZC_MAIN(subtests)
