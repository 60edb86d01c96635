// SPDX-License-Identifier: GPL-2.0
/*
 * The backend side of displif (see zc_vdispl.h).
 */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "zc_vdispl.h"

#include <xen/sys/evtchn.h>

static void vd_error(struct zc_vdispl *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void vd_error(struct zc_vdispl *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->error, sizeof(d->error), fmt, ap);
	va_end(ap);
}

static int vd_read_int(struct zc_vdispl *d, const char *dir, const char *node,
		       int def)
{
	char path[192], *v;
	int val;

	snprintf(path, sizeof(path), "%s/%s", dir, node);
	v = zc_xs_read(d->xs, path, NULL);
	if (!v)
		return def;
	val = atoi(v);
	free(v);
	return val;
}

static void vd_switch(struct zc_vdispl *d, int state)
{
	char path[192], val[8];

	snprintf(path, sizeof(path), "%s/state", d->bpath);
	snprintf(val, sizeof(val), "%d", state);
	if (!zc_xs_write(d->xs, path, val))
		d->state = state;
}

void zc_vdispl_init(struct zc_vdispl *d, struct zc_xs *xs, int domid,
		    int devid, const struct zc_vdispl_ops *ops, void *priv)
{
	int i;

	memset(d, 0, sizeof(*d));
	d->xs = xs;
	d->domid = domid;
	d->devid = devid;
	d->ops = ops;
	d->priv = priv;
	d->evtchn = -1;
	d->state = XenbusStateUnknown;
	for (i = 0; i < ZC_VDISPL_MAX_CONN; i++) {
		d->conn[i].dev = d;
		d->conn[i].index = i;
		d->conn[i].req_map.fd = d->conn[i].evt_map.fd = -1;
	}
	snprintf(d->bpath, sizeof(d->bpath), "/local/domain/0/backend/vdispl/%d/%d",
		 domid, devid);
	snprintf(d->fpath, sizeof(d->fpath), "/local/domain/%d/device/vdispl/%d",
		 domid, devid);
}

void zc_vdispl_state_paths(const struct zc_vdispl *d, char *bstate,
			   char *fstate, size_t size)
{
	snprintf(bstate, size, "%s/state", d->bpath);
	snprintf(fstate, size, "%s/state", d->fpath);
}

/* Binds the frontend's unbound port @node of connector @i. */
static int vd_bind(struct zc_vdispl *d, int i, const char *node, uint32_t *port)
{
	char name[64];
	struct ioctl_evtchn_bind_interdomain bind = {
		.remote_domain = d->domid,
	};
	int ret;

	snprintf(name, sizeof(name), "%d/%s", i, node);
	bind.remote_port = vd_read_int(d, d->fpath, name, -1);
	if ((int)bind.remote_port < 0)
		return -ENOENT;
	ret = ioctl(d->evtchn, IOCTL_EVTCHN_BIND_INTERDOMAIN, &bind);
	if (ret < 0)
		return -errno;
	*port = ret;
	return 0;
}

static int vd_map_ring(struct zc_vdispl *d, int i, const char *node,
		       struct zc_gntdev *m)
{
	char name[64];
	int ref;

	snprintf(name, sizeof(name), "%d/%s", i, node);
	ref = vd_read_int(d, d->fpath, name, -1);
	if (ref < 0)
		return -ENOENT;
	return zc_gntdev_map(m, d->domid, (uint32_t *)&ref, 1, true);
}

static void vd_notify(struct zc_vdispl *d, uint32_t port)
{
	struct ioctl_evtchn_notify n = { .port = port };

	ioctl(d->evtchn, IOCTL_EVTCHN_NOTIFY, &n);
}

/* The connectors the toolstack configured: 0/, 1/, ... with a resolution. */
static int vd_read_conns(struct zc_vdispl *d)
{
	int i;

	d->nconn = 0;
	for (i = 0; i < ZC_VDISPL_MAX_CONN; i++) {
		struct zc_vdispl_conn *c = &d->conn[i];
		char path[192], *v;

		snprintf(path, sizeof(path), "%s/%d/" XENDISPL_FIELD_RESOLUTION,
			 d->fpath, i);
		v = zc_xs_read(d->xs, path, NULL);
		if (!v)
			break;
		if (sscanf(v, "%ux%u", &c->width, &c->height) != 2) {
			free(v);
			return -EINVAL;
		}
		free(v);
		d->nconn++;
	}
	return d->nconn ? 0 : -ENOENT;
}

/*
 * Maps the rings of every connector and binds their ports. A ring a
 * backend served before us is attached where its responses stopped.
 */
static int vd_connect(struct zc_vdispl *d)
{
	int i, ret;

	d->be_alloc = vd_read_int(d, d->fpath, XENDISPL_FIELD_BE_ALLOC, 0);
	ret = vd_read_conns(d);
	if (ret)
		return ret;
	/* Nonblocking: zc_vdispl_kick() drains it without fcntl() calls. */
	d->evtchn = open("/dev/xen/evtchn", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (d->evtchn < 0)
		return -errno;
	for (i = 0; i < d->nconn; i++) {
		struct zc_vdispl_conn *c = &d->conn[i];
		xen_displif_sring_t *s;

		ret = vd_bind(d, i, XENDISPL_FIELD_REQ_CHANNEL, &c->req_port);
		if (!ret)
			ret = vd_bind(d, i, XENDISPL_FIELD_EVT_CHANNEL, &c->evt_port);
		if (!ret)
			ret = vd_map_ring(d, i, XENDISPL_FIELD_REQ_RING_REF, &c->req_map);
		if (!ret)
			ret = vd_map_ring(d, i, XENDISPL_FIELD_EVT_RING_REF, &c->evt_map);
		if (ret) {
			vd_error(d, "connector %d: rings or channels: %s", i,
				 strerror(-ret));
			return ret;
		}
		s = (xen_displif_sring_t *)c->req_map.map;
		BACK_RING_ATTACH(&c->ring, s, s->rsp_prod, ZC_VDISPL_PAGE);
		/*
		 * The frontend counts the events it consumed and drops one
		 * whose id is not that count. A device we resume had events
		 * from a backend before us: every one of them moved in_prod.
		 */
		c->evt_id = ((struct xendispl_event_page *)c->evt_map.map)->in_prod;
	}
	return 0;
}

void zc_vdispl_disconnect(struct zc_vdispl *d)
{
	int i;

	if (d->ops && d->ops->disconnect)
		d->ops->disconnect(d);
	for (i = 0; i < ZC_VDISPL_MAX_CONN; i++) {
		zc_gntdev_unmap(&d->conn[i].req_map);
		zc_gntdev_unmap(&d->conn[i].evt_map);
		d->conn[i].req_port = d->conn[i].evt_port = 0;
	}
	if (d->evtchn >= 0)
		close(d->evtchn);	/* unbinds the ports */
	d->evtchn = -1;
}

int zc_vdispl_step(struct zc_vdispl *d)
{
	int bstate = vd_read_int(d, d->bpath, "state", -1);
	int fstate = vd_read_int(d, d->fpath, "state", -1);
	int ret;

	if (bstate < 0) {
		/* The toolstack removed the device. */
		if (d->evtchn >= 0)
			zc_vdispl_disconnect(d);
		return -ENODEV;
	}
	if (d->evtchn >= 0) {
		/* Connected: until the frontend or the toolstack closes. */
		if (bstate == XenbusStateClosing || fstate < 0 ||
		    fstate == XenbusStateClosing || fstate == XenbusStateClosed ||
		    fstate == XenbusStateInitialising) {
			zc_vdispl_disconnect(d);
			/*
			 * A guest that shuts down closes its frontends and
			 * waits for each backend to answer Closing: only that
			 * state lets its xenbus mark the device Closed then;
			 * Closed would leave it waiting until a timeout. The
			 * toolstack and a frontend already gone want Closed.
			 */
			if (fstate == XenbusStateClosing && bstate != XenbusStateClosing)
				vd_switch(d, XenbusStateClosing);
			else
				vd_switch(d, XenbusStateClosed);
		}
		return d->state;
	}

	switch (bstate) {
	case XenbusStateInitialising:
		vd_switch(d, XenbusStateInitWait);
		break;
	case XenbusStateClosing:
		/* Our Closing stands until the frontend has closed too. */
		if (d->state == XenbusStateClosing && fstate == XenbusStateClosing)
			break;
		vd_switch(d, XenbusStateClosed);
		break;
	case XenbusStateClosed:
		/* A frontend that comes back starts over. */
		if (fstate == XenbusStateInitialising)
			vd_switch(d, XenbusStateInitWait);
		else
			d->state = bstate;
		break;
	case XenbusStateInitWait:
	case XenbusStateConnected:
		d->state = bstate;
		if (fstate != XenbusStateInitialised && fstate != XenbusStateConnected)
			break;
		ret = vd_connect(d);
		if (ret) {
			if (!d->error[0])
				vd_error(d, "connecting: %s", strerror(-ret));
			zc_vdispl_disconnect(d);
			vd_switch(d, XenbusStateClosing);
			break;
		}
		if (bstate != XenbusStateConnected)
			vd_switch(d, XenbusStateConnected);
		/* Requests may be waiting for a backend that went away. */
		zc_vdispl_kick(d);
		break;
	default:
		d->state = bstate;
		break;
	}
	return d->state;
}

static void vd_process_ring(struct zc_vdispl_conn *c)
{
	struct zc_vdispl *d = c->dev;
	int more, notify;

	do {
		RING_IDX rc = c->ring.req_cons, rp = c->ring.sring->req_prod;

		rmb();	/* the requests up to rp are written before rp */
		while (rc != rp) {
			struct xendispl_req req = *RING_GET_REQUEST(&c->ring, rc);
			struct xendispl_resp resp = {
				.id = req.id, .operation = req.operation,
			};

			c->ring.req_cons = ++rc;
			resp.status = d->ops->request(c, &req, &resp);
			*RING_GET_RESPONSE(&c->ring, c->ring.rsp_prod_pvt) = resp;
			c->ring.rsp_prod_pvt++;
		}
		RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&c->ring, notify);
		if (notify)
			vd_notify(d, c->req_port);
		RING_FINAL_CHECK_FOR_REQUESTS(&c->ring, more);
	} while (more);
}

int zc_vdispl_kick(struct zc_vdispl *d)
{
	uint32_t ports[2 * ZC_VDISPL_MAX_CONN];
	ssize_t n;
	int i;

	if (d->evtchn < 0)
		return -ENOTCONN;
	/*
	 * Every pending port in one read (nonblocking: a resumed ring is
	 * processed without an event), unmasked in one write before the
	 * rings are processed: a request after that notifies again. Each
	 * system call is a round trip through Xen on a PV Dom0, and this
	 * runs on every flip.
	 */
	while ((n = read(d->evtchn, ports, sizeof(ports))) > 0) {
		n -= n % sizeof(ports[0]);
		if (write(d->evtchn, ports, n) != n)
			vd_error(d, "cannot unmask port %u", ports[0]);
		if (n < (ssize_t)sizeof(ports))
			break;
	}
	for (i = 0; i < d->nconn; i++)
		vd_process_ring(&d->conn[i]);
	return 0;
}

void zc_vdispl_send_flip(struct zc_vdispl_conn *c, uint64_t fb_cookie)
{
	struct xendispl_event_page *page = (void *)c->evt_map.map;
	struct xendispl_evt *evt;

	if (!page)
		return;
	evt = &XENDISPL_IN_RING_REF(page, page->in_prod);
	memset(evt, 0, sizeof(*evt));
	evt->id = c->evt_id++;
	evt->type = XENDISPL_EVT_PG_FLIP;
	evt->op.pg_flip.fb_cookie = fb_cookie;
	wmb();	/* the event is complete before the frontend sees in_prod */
	page->in_prod++;
	vd_notify(c->dev, c->evt_port);
}

/* Walks directory @dir: the refs of an @n-page buffer, read or written. */
static int vd_dir(int domid, uint32_t dir, uint32_t n, uint32_t *refs,
		  bool write)
{
	const uint32_t per_page = (ZC_VDISPL_PAGE - sizeof(grant_ref_t)) /
				  sizeof(grant_ref_t);
	uint32_t done = 0;

	while (done < n) {
		struct xendispl_page_directory *pd;
		struct zc_gntdev m;
		uint32_t k;
		int ret;

		if (!dir)
			return -EINVAL;	/* the directory ends too early */
		ret = zc_gntdev_map(&m, domid, &dir, 1, write);
		if (ret)
			return ret;
		pd = (void *)m.map;
		for (k = 0; k < per_page && done < n; k++, done++) {
			if (write)
				pd->gref[k] = refs[done];
			else
				refs[done] = pd->gref[k];
		}
		dir = pd->gref_dir_next_page;
		zc_gntdev_unmap(&m);
	}
	return 0;
}

int zc_vdispl_dir_read(int domid, uint32_t dir, uint32_t n, uint32_t *refs)
{
	return vd_dir(domid, dir, n, refs, false);
}

int zc_vdispl_dir_write(int domid, uint32_t dir, uint32_t n,
			const uint32_t *refs)
{
	return vd_dir(domid, dir, n, (uint32_t *)refs, true);
}

int zc_vdispl_buf_write(int domid, uint32_t dir, uint32_t buffer_sz,
			const void *data, uint32_t len)
{
	uint32_t n = (buffer_sz + ZC_VDISPL_PAGE - 1) / ZC_VDISPL_PAGE, *refs;
	struct zc_gntdev m;
	int ret;

	if (len > buffer_sz)
		return -ENOSPC;
	refs = calloc(n ? n : 1, sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	ret = zc_vdispl_dir_read(domid, dir, n, refs);
	if (!ret)
		ret = zc_gntdev_map(&m, domid, refs, n, true);
	if (!ret) {
		memcpy(m.map, data, len);
		zc_gntdev_unmap(&m);
	}
	free(refs);
	return ret;
}

void zc_vdispl_edid(uint8_t e[XENDISPL_EDID_BLOCK_SIZE], uint32_t w, uint32_t h)
{
	/* Reduced-blanking timings (CVT-RB like) at 60 Hz. */
	const uint32_t hfp = 48, hsync = 32, hblank = 160;
	const uint32_t vfp = 3, vsync = 5, vblank = 35;
	const uint32_t wmm = w * 254 / 960, hmm = h * 254 / 960;	/* 96 dpi */
	uint32_t clock = (w + hblank) * (h + vblank) * 60 / 10000;
	static const uint8_t head[] = { 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0 };
	uint8_t *t = e + 54, sum = 0;
	int i;

	memset(e, 0, XENDISPL_EDID_BLOCK_SIZE);
	memcpy(e, head, sizeof(head));
	e[8] = 0x60;			/* "XEN" */
	e[9] = 0xae;
	e[10] = 0x01;			/* product */
	e[16] = 1;			/* week */
	e[17] = 2018 - 1990;		/* year */
	e[18] = 1;			/* EDID 1.3 */
	e[19] = 3;
	e[20] = 0x80;			/* digital input */
	e[21] = wmm / 10;		/* cm */
	e[22] = hmm / 10;
	e[23] = 120;			/* gamma 2.2 */
	e[24] = 0x0a;			/* RGB, preferred timing first */
	for (i = 38; i < 54; i++)	/* no standard timings */
		e[i] = 0x01;

	t[0] = clock & 0xff;
	t[1] = clock >> 8;
	t[2] = w & 0xff;
	t[3] = hblank & 0xff;
	t[4] = ((w >> 8) << 4) | (hblank >> 8);
	t[5] = h & 0xff;
	t[6] = vblank & 0xff;
	t[7] = ((h >> 8) << 4) | (vblank >> 8);
	t[8] = hfp & 0xff;
	t[9] = hsync & 0xff;
	t[10] = ((vfp & 0xf) << 4) | (vsync & 0xf);
	t[11] = ((hfp >> 8) << 6) | ((hsync >> 8) << 4) | ((vfp >> 4) << 2) |
		(vsync >> 4);
	t[12] = wmm & 0xff;
	t[13] = hmm & 0xff;
	t[14] = ((wmm >> 8) << 4) | (hmm >> 8);
	t[17] = 0x1e;			/* digital separate sync, +h +v */

	t = e + 72;			/* monitor name */
	t[3] = 0xfc;
	memcpy(t + 5, "Xen vdispl\n  ", 13);
	e[90 + 3] = 0x10;		/* two unused descriptors */
	e[108 + 3] = 0x10;

	for (i = 0; i < XENDISPL_EDID_BLOCK_SIZE - 1; i++)
		sum += e[i];
	e[127] = (uint8_t)-sum;
}

int zc_vdispl_find_conns(struct zc_xs *xs, int domid, int be_alloc,
			 const struct zc_vdispl_res *res, int n)
{
	char path[128], want[32], *list, *name, *v;
	unsigned int nd, i;
	int found = -ENOENT, k;

	snprintf(path, sizeof(path), "/local/domain/0/backend/vdispl/%d", domid);
	list = zc_xs_directory(xs, path, &nd);
	if (!list)
		return -ENOENT;
	for (i = 0, name = list; i < nd && found < 0; i++, name += strlen(name) + 1) {
		int ok;

		snprintf(path, sizeof(path), "/local/domain/%d/device/vdispl/%s/"
			 XENDISPL_FIELD_BE_ALLOC, domid, name);
		v = zc_xs_read(xs, path, NULL);
		ok = v && atoi(v) == be_alloc;
		free(v);
		for (k = 0; k < n && ok; k++) {
			snprintf(path, sizeof(path), "/local/domain/%d/device/vdispl/%s/%d/"
				 XENDISPL_FIELD_RESOLUTION, domid, name, k);
			snprintf(want, sizeof(want), "%ux%u", res[k].w, res[k].h);
			v = zc_xs_read(xs, path, NULL);
			ok = v && !strcmp(v, want);
			free(v);
		}
		/* No connector more. */
		snprintf(path, sizeof(path), "/local/domain/%d/device/vdispl/%s/%d",
			 domid, name, n);
		v = zc_xs_read(xs, path, NULL);
		ok = ok && !v;
		free(v);
		if (ok)
			found = atoi(name);
	}
	free(list);
	return found;
}

int zc_vdispl_find(struct zc_xs *xs, int domid, int be_alloc, uint32_t w,
		   uint32_t h)
{
	const struct zc_vdispl_res res = { w, h };

	return zc_vdispl_find_conns(xs, domid, be_alloc, &res, 1);
}

int zc_vdispl_attach_conns(int domid, int be_alloc,
			   const struct zc_vdispl_res *res, int n)
{
	char cmd[256], conns[128] = "";
	struct zc_xs *xs;
	size_t len = 0;
	int devid, ret, k;

	/* Xen 4.17's syntax: connectors=ID:WxH;ID:WxH (quoted: the ';'). */
	for (k = 0; k < n && len < sizeof(conns); k++)
		len += snprintf(conns + len, sizeof(conns) - len, "%sconn%d:%ux%u",
				k ? ";" : "", k, res[k].w, res[k].h);
	snprintf(cmd, sizeof(cmd),
		 "xl vdispl-attach %d backend=0 be-alloc=%d 'connectors=%s' 2>&1",
		 domid, be_alloc, conns);
	ret = system(cmd);
	if (ret)
		return -EIO;
	xs = zc_xs_open();
	if (!xs)
		return -errno;
	devid = zc_vdispl_find_conns(xs, domid, be_alloc, res, n);
	zc_xs_close(xs);
	return devid;
}

int zc_vdispl_attach(int domid, int be_alloc, uint32_t w, uint32_t h)
{
	const struct zc_vdispl_res res = { w, h };

	return zc_vdispl_attach_conns(domid, be_alloc, &res, 1);
}

int zc_vdispl_next_devid(struct zc_xs *xs, int domid)
{
	char path[96], *list, *name;
	unsigned int n, i;
	int next = 0;

	/* libxl__device_nextid(): one above the highest in the frontend dir. */
	snprintf(path, sizeof(path), "/local/domain/%d/device/vdispl", domid);
	list = zc_xs_directory(xs, path, &n);
	if (!list)
		return 0;
	for (i = 0, name = list; i < n; i++, name += strlen(name) + 1)
		if (atoi(name) >= next)
			next = atoi(name) + 1;
	free(list);
	return next;
}
