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
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <stdint.h>

#define mb()	__sync_synchronize()
#define rmb()	__sync_synchronize()
#define wmb()	__sync_synchronize()
#include <xen/grant_table.h>
#include <xen/io/displif.h>
#include <xen/io/xenbus.h>
#include <xen/sys/evtchn.h>

#include "zc_domu.h"
#include "zc_fixture.h"
#include "zc_drm.h"
#include "zc_gnt.h"
#include "zc_igt.h"
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

/* The backend: one vdispl device (devid 0) of the DomU, one connector. */
struct backend {
	pthread_t thread;
	volatile int stop;
	volatile int connected;	/* we switched to Connected */
	volatile int closed;	/* we switched to Closed */
	char bpath[96], fpath[96];
	struct zc_xs *xs;
	int zfd;
	int evtchn;
	uint32_t req_port, evt_port;
	struct zc_gntdev req_map, evt_map;
	xen_displif_back_ring_t ring;
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

static int be_read_int(const char *dir, const char *node, int def)
{
	char path[160], *v;
	int val;

	snprintf(path, sizeof(path), "%s/%s", dir, node);
	v = zc_xs_read(be.xs, path, NULL);
	if (!v)
		return def;
	val = atoi(v);
	free(v);
	return val;
}

static void be_switch(int state)
{
	char path[160], val[8];

	snprintf(path, sizeof(path), "%s/state", be.bpath);
	snprintf(val, sizeof(val), "%d", state);
	zc_xs_write(be.xs, path, val);
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

/* Binds the frontend's unbound port @node; returns our local port. */
static int be_bind(const char *node, uint32_t *port)
{
	struct ioctl_evtchn_bind_interdomain bind = {
		.remote_domain = domu.domid,
		.remote_port = be_read_int(be.fpath, node, 0),
	};
	int ret;

	ret = ioctl(be.evtchn, IOCTL_EVTCHN_BIND_INTERDOMAIN, &bind);
	if (ret < 0)
		return -errno;
	*port = ret;
	return 0;
}

static void be_notify(uint32_t port)
{
	struct ioctl_evtchn_notify n = { .port = port };

	ioctl(be.evtchn, IOCTL_EVTCHN_NOTIFY, &n);
}

/* Maps the frontend's rings and event channels (it is Initialised). */
static int be_connect(void)
{
	uint32_t ref;
	int ret;

	be.evtchn = open("/dev/xen/evtchn", O_RDWR | O_CLOEXEC);
	if (be.evtchn < 0)
		return -errno;
	ret = be_bind("0/" XENDISPL_FIELD_REQ_CHANNEL, &be.req_port);
	if (!ret)
		ret = be_bind("0/" XENDISPL_FIELD_EVT_CHANNEL, &be.evt_port);
	if (ret)
		return ret;
	ref = be_read_int(be.fpath, "0/" XENDISPL_FIELD_REQ_RING_REF, 0);
	ret = zc_gntdev_map(&be.req_map, domu.domid, &ref, 1, true);
	if (ret)
		return ret;
	ref = be_read_int(be.fpath, "0/" XENDISPL_FIELD_EVT_RING_REF, 0);
	ret = zc_gntdev_map(&be.evt_map, domu.domid, &ref, 1, true);
	if (ret)
		return ret;
	BACK_RING_INIT(&be.ring, (xen_displif_sring_t *)be.req_map.map, PAGE);
	return 0;
}

static void be_send_flip_event(uint64_t fb_cookie)
{
	struct xendispl_event_page *page = (void *)be.evt_map.map;
	struct xendispl_evt *evt;
	static uint16_t id;

	evt = &XENDISPL_IN_RING_REF(page, page->in_prod);
	memset(evt, 0, sizeof(*evt));
	evt->id = id++;
	evt->type = XENDISPL_EVT_PG_FLIP;
	evt->op.pg_flip.fb_cookie = fb_cookie;
	wmb();
	page->in_prod++;
	be_notify(be.evt_port);
}

/* The frontend's buffer: refs from its page directory, then FROM_REFS. */
static int be_dbuf_create(const struct xendispl_dbuf_create_req *r)
{
	uint32_t n = (r->buffer_sz + PAGE - 1) / PAGE, got = 0, dir = r->gref_directory;
	const uint32_t per_page = (PAGE - sizeof(grant_ref_t)) / sizeof(grant_ref_t);
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

	while (got < n) {
		struct xendispl_page_directory *pd;
		struct zc_gntdev m;
		uint32_t k;

		ret = zc_gntdev_map(&m, domu.domid, &dir, 1, false);
		if (ret) {
			free(refs);
			return ret;
		}
		pd = (void *)m.map;
		for (k = 0; k < per_page && got < n; k++)
			refs[got++] = pd->gref[k];
		dir = pd->gref_dir_next_page;
		zc_gntdev_unmap(&m);
	}

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

static int be_handle(const struct xendispl_req *req)
{
	struct fb *f;
	int i, ret;

	switch (req->operation) {
	case XENDISPL_OP_DBUF_CREATE:
		return be_dbuf_create(&req->op.dbuf_create);
	case XENDISPL_OP_DBUF_DESTROY:
		return be_dbuf_destroy(req->op.dbuf_destroy.dbuf_cookie);
	case XENDISPL_OP_FB_ATTACH:
		if (!be_dbuf(req->op.fb_attach.dbuf_cookie))
			return -EINVAL;
		for (i = 0; i < MAX_BUFS; i++)
			if (!be.fbs[i].used) {
				be.fbs[i].used = 1;
				be.fbs[i].cookie = req->op.fb_attach.fb_cookie;
				be.fbs[i].dbuf_cookie = req->op.fb_attach.dbuf_cookie;
				return 0;
			}
		return -ENOMEM;
	case XENDISPL_OP_FB_DETACH:
		f = be_fb(req->op.fb_detach.fb_cookie);
		if (f)
			f->used = 0;
		return f ? 0 : -EINVAL;
	case XENDISPL_OP_SET_CONFIG:
		be.n_set_config++;
		if (req->op.set_config.fb_cookie &&
		    (req->op.set_config.width != W || req->op.set_config.height != H))
			return -EINVAL;
		return be_show(req->op.set_config.fb_cookie);
	case XENDISPL_OP_PG_FLIP:
		be.n_pg_flip++;
		ret = be_show(req->op.pg_flip.fb_cookie);
		be_send_flip_event(req->op.pg_flip.fb_cookie);
		return ret;
	default:
		return -EOPNOTSUPP;
	}
}

static void be_process_ring(void)
{
	int more, notify;

	do {
		RING_IDX rc = be.ring.req_cons, rp = be.ring.sring->req_prod;

		rmb();
		while (rc != rp) {
			struct xendispl_req req = *RING_GET_REQUEST(&be.ring, rc);
			struct xendispl_resp *resp;
			int status;

			be.ring.req_cons = ++rc;
			status = be_handle(&req);
			if (status)
				be_error("op 0x%x -> %d", req.operation, status);
			resp = RING_GET_RESPONSE(&be.ring, be.ring.rsp_prod_pvt);
			memset(resp, 0, sizeof(*resp));
			resp->id = req.id;
			resp->operation = req.operation;
			resp->status = status;
			be.ring.rsp_prod_pvt++;
		}
		RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&be.ring, notify);
		if (notify)
			be_notify(be.req_port);
		RING_FINAL_CHECK_FOR_REQUESTS(&be.ring, more);
	} while (more);
}

static void be_teardown(void)
{
	int i;

	for (i = 0; i < MAX_BUFS; i++)
		if (be.dbufs[i].used)
			be_dbuf_destroy(be.dbufs[i].cookie);
	zc_gntdev_unmap(&be.req_map);
	zc_gntdev_unmap(&be.evt_map);
	if (be.evtchn >= 0)
		close(be.evtchn);	/* unbinds the ports */
	be.evtchn = -1;
}

static void *be_main(void *data)
{
	long long last_poll = 0;
	int state = XenbusStateInitialising;

	(void)data;
	while (!be.stop && state != XenbusStateClosed) {
		if (be.connected) {
			struct pollfd pfd = { .fd = be.evtchn, .events = POLLIN };
			uint32_t port;

			if (poll(&pfd, 1, 20) > 0 &&
			    read(be.evtchn, &port, sizeof(port)) == sizeof(port)) {
				be_process_ring();
				/* Unmask. */
				if (write(be.evtchn, &port, sizeof(port)) != sizeof(port))
					be_error("cannot unmask port %u", port);
			}
		} else {
			usleep(20000);
		}
		if (now_ms() - last_poll < 50)
			continue;
		last_poll = now_ms();

		/* The XenBus state machine, by polling the two states. */
		int bstate = be_read_int(be.bpath, "state", -1);
		int fstate = be_read_int(be.fpath, "state", -1);

		if (state == XenbusStateInitialising && bstate == XenbusStateInitialising) {
			be_switch(XenbusStateInitWait);
			state = XenbusStateInitWait;
		} else if (state == XenbusStateInitWait &&
			   fstate == XenbusStateInitialised) {
			int ret = be_connect();

			if (ret) {
				be_error("connecting to the frontend: %d", ret);
				be_teardown();
				be_switch(XenbusStateClosing);
				state = XenbusStateClosing;
				continue;
			}
			be.connected = 1;
			be_switch(XenbusStateConnected);
			state = XenbusStateConnected;
		} else if (state != XenbusStateInitialising &&
			   (bstate == XenbusStateClosing || bstate == -1 ||
			    fstate == XenbusStateClosing || fstate == XenbusStateClosed)) {
			be.connected = 0;
			be_teardown();
			if (bstate != -1)
				be_switch(XenbusStateClosed);
			state = XenbusStateClosed;
		}
	}
	if (state == XenbusStateClosed)
		be.closed = 1;
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
 * Stops the backend. The device stays attached: detaching it (backend
 * Closed) makes the 6.1 drm_xen_front release its DRM device with
 * drm_atomic_helper_shutdown() from the drm_driver.release callback, that
 * is on a device whose refcount already dropped to zero, which warns
 * (refcount_t: addition on 0; use-after-free) in the DomU.
 */
static void backend_cleanup(void *data)
{
	(void)data;
	if (!be.xs)
		return;
	be.stop = 1;
	pthread_join(be.thread, NULL);
	if (!be.closed)
		be_teardown();
	close(be.zfd);
	zc_xs_close(be.xs);
	be.xs = NULL;
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
	char cmd[160], text[128];
	long long t0;
	int ret, i;

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

	/* The backend, then the device: libxl waits for our InitWait. */
	memset(&be, 0, sizeof(be));
	be.evtchn = -1;
	be.req_map.fd = be.evt_map.fd = -1;
	snprintf(be.bpath, sizeof(be.bpath), "/local/domain/0/backend/vdispl/%d/0",
		 domu.domid);
	snprintf(be.fpath, sizeof(be.fpath), "/local/domain/%d/device/vdispl/0",
		 domu.domid);
	be.xs = zc_xs_open();
	zc_assert(be.xs);
	be.zfd = zc_xen_open();
	zc_assert(be.zfd >= 0);
	zc_assert_ok(-pthread_create(&be.thread, NULL, be_main, NULL));
	zc_at_exit(backend_cleanup, NULL);

	snprintf(cmd, sizeof(cmd),
		 "xl vdispl-attach %d backend=0 be-alloc=0 connectors=conn0:%ux%u 2>&1",
		 domu.domid, W, H);
	zc_assert_eq(system(cmd), 0);
	t0 = now_ms();
	while (!be.connected && now_ms() - t0 < 20000)
		usleep(50000);
	zc_assert_f(be.connected, "the DomU's drm_xen_front did not connect (%s)",
		    be.last_error);
	zc_info("drm_xen_front connected after %lld ms\n", now_ms() - t0);

	/* The DomU draws on its own display; we scan it out on vkms. */
	zc_assert_f(zc_domu_cmd(&domu, text, sizeof(text), "xendrm-show %u %u %u", W, H,
			  SEED_A) == 0, "DomU: xendrm-show: %s", text);
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
