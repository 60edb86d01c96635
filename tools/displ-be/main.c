// SPDX-License-Identifier: GPL-2.0
/*
 * displ-be: a para-virtual display backend (Xen displif) for Dom0 that
 * shows the frontends' frames on a real KMS device without copying them.
 *
 * Each vdispl device of any domain whose backend is this domain is served
 * (the XenStore protocol, rings and page directories are in
 * igt-tests/lib/zc_vdispl.c). Buffers:
 *
 *   DBUF_CREATE, frontend-allocated: the page directory's refs go to
 *     xen_drm_zcopy's DUMB_FROM_REFS; the dumb buffer is PRIME-exported and
 *     imported into the KMS device.
 *   DBUF_CREATE, be-alloc: a KMS dumb buffer is PRIME-imported into
 *     xen_drm_zcopy and DUMB_TO_REFS grants its pages to the frontend; the
 *     refs go into the frontend's page directory.
 *   DBUF_DESTROY: answered once DUMB_WAIT_FREE says the grants are
 *     unmapped (the frontend frees its pages when it gets the answer).
 *   FB_ATTACH/DETACH: KMS framebuffers; SET_CONFIG: a modeset of the
 *     connector's KMS output; PG_FLIP: a KMS page flip whose completion
 *     is sent as the frame-done event; GET_EDID: an EDID of the mode.
 *
 * A vdispl connector may instead be shown on an overlay plane of the CRTC
 * of another one (--connector NAME,NAME:overlay+X+Y): SET_CONFIG and
 * PG_FLIP are a legacy SetPlane there, which returns once the frame is
 * on screen, so the frame-done event goes at once. Both connectors' frames
 * are then scanned out by one CRTC: on a device with a single CRTC, such
 * as vkms, this is how two are shown (and one CRC covers both).
 *
 * --copy is the path without xen_drm_zcopy: gntdev maps the frontend's
 * pages (gntalloc grants be-alloc buffers) and every SET_CONFIG and
 * PG_FLIP copies the frame into a KMS dumb buffer. The bytes copied are
 * counted (0 in zero-copy mode) and printed on SIGUSR1 and at exit.
 *
 * --stats: SIGUSR1 and the exit also print where the backend's CPU went
 * since the last such line: the flips completed, the poll() wakeups, the
 * process's getrusage() CPU, and per phase of the main loop and per
 * request "name COUNTxAVERAGE" in microseconds of CLOCK_THREAD_CPUTIME_ID.
 * That clock is a system call, not the vDSO: two per phase, which on a PV
 * Dom0 under TCG add to what is measured; a diagnosis, not a benchmark.
 *
 * --capture PATH: on SIGUSR2 the frame the first output shows is read back
 * through the KMS device's writeback connector (an atomic commit with
 * WRITEBACK_FB_ID, waited for on WRITEBACK_OUT_FENCE_PTR) and written to
 * PATH as a binary PPM: what the display scanned out, not what the
 * backend thinks it gave it.
 *
 * SIGTERM/SIGINT: every buffer is released (DUMB_WAIT_FREE included) and
 * the rings unmapped; the XenStore state stays Connected, so a backend
 * started later resumes the devices (see zc_vdispl.h for why).
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "zc_drm.h"
#include "zc_gnt.h"
#include "zc_vdispl.h"
#include "zc_xen.h"
#include "zc_xs.h"

#define MAX_DEVS	8
#define MAX_BUFS	16
#define MAX_OUTPUTS	8
#define PAGE		ZC_VDISPL_PAGE

enum { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

static int log_level = LOG_INFO;
static int copy_mode;
static unsigned long long bytes_copied;
static const char *capture_path;
static volatile sig_atomic_t got_term, got_usr1, got_usr2;

/*
 * --stats phases. The main loop's are disjoint; a request's is inside
 * "ring", the page flip ioctl and the copy inside a request or "kms".
 */
enum {
	ST_POLL, ST_RING, ST_KMS, ST_XS, ST_CAPTURE,
	ST_OP, ST_OP_LAST = ST_OP + XENDISPL_OP_GET_EDID - XENDISPL_OP_DBUF_CREATE,
	ST_FLIP_IOCTL, ST_COPY, ST_NUM
};

static const char *const st_names[ST_NUM] = {
	"poll", "ring", "kms-events", "xenstore", "capture",
	"dbuf-create", "dbuf-destroy", "fb-attach", "fb-detach", "set-config",
	"pg-flip", "get-edid", "page-flip-ioctl", "copy",
};

static struct {
	int on;
	unsigned long long n[ST_NUM], ns[ST_NUM];
	unsigned long long flips, wakeups;
	struct timespec wall0;
	struct rusage ru0;
} st;

static unsigned long long st_now(void)
{
	struct timespec ts;

	if (!st.on)
		return 0;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void st_add(int phase, unsigned long long t0)
{
	if (!st.on)
		return;
	st.n[phase]++;
	st.ns[phase] += st_now() - t0;
}

static void msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void msg(int level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char line[512];
	va_list ap;
	int len;

	if (level > log_level)
		return;
	len = snprintf(line, sizeof(line), "displ-be: %s: ", names[level]);
	/* At debug level, when: what a stall looks like is in the gaps. */
	if (log_level >= LOG_DEBUG) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		len += snprintf(line + len, sizeof(line) - len, "[%lld.%03ld] ",
				(long long)ts.tv_sec, ts.tv_nsec / 1000000);
	}
	va_start(ap, fmt);
	vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	va_end(ap);
	/* One write per line (stderr is unbuffered): lines stay whole. */
	fprintf(stderr, "%s\n", line);
}

/*
 * A KMS output a vdispl connector is shown on: a CRTC and its connector,
 * or an overlay plane of the CRTC of an output before it (plane_id).
 */
struct output {
	char name[48];
	uint32_t conn_id, crtc_id;
	drmModeConnector *conn;		/* NULL for an overlay */
	uint32_t plane_id;
	int32_t x, y;			/* where the overlay shows the frame */
	uint32_t src_x, src_y, w, h;	/* the overlay's part of the frame */
	struct zc_vdispl_conn *user;
	uint32_t fb_id;			/* on screen or flipping to */
	uint64_t flip_cookie;		/* a flip in flight: its fb cookie */
	int flipping;
	uint64_t next_cookie;		/* a flip asked while one was in flight */
	uint32_t next_fb;
	int has_next;
};

struct dbuf {
	int used;
	uint64_t cookie;
	uint32_t width, height, bpp, size, pages;
	/* zero copy */
	struct drm_xen_zcopy_dumb_from_refs from;	/* frontend-allocated */
	uint32_t zc_handle;				/* be-alloc: imported */
	/* the buffer KMS scans out */
	uint32_t kms_handle, kms_pitch;
	uint64_t kms_size;
	void *kms_map;
	/* copy mode: the frontend's pages, mapped or granted by us */
	struct zc_gntdev src;
	struct zc_gntalloc ga;
};

struct fb {
	int used;
	uint64_t cookie;
	struct dbuf *dbuf;
	uint32_t fb_id;
};

struct dev {
	int used;
	struct zc_vdispl v;
	struct dbuf dbufs[MAX_BUFS];
	struct fb fbs[MAX_BUFS];
};

static struct {
	int kms, zc;
	struct zc_xs *xs;
	struct dev devs[MAX_DEVS];
	struct output outs[MAX_OUTPUTS];
	int nouts;
} be = { .kms = -1, .zc = -1 };

/* ---- KMS outputs ---- */

static int open_card(const char *card)
{
	char path[64];
	int i, fd;

	if (card)
		return open(card, O_RDWR | O_CLOEXEC);
	/* The first card that is a display: not our helper device. */
	for (i = 0; i < 16; i++) {
		drmVersionPtr v;
		drmModeRes *res;

		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		v = drmGetVersion(fd);
		res = drmModeGetResources(fd);
		if (v && res && res->count_crtcs &&
		    strcmp(v->name, XENDRM_ZCOPY_DRIVER_NAME)) {
			drmFreeVersion(v);
			drmModeFreeResources(res);
			return fd;
		}
		if (v)
			drmFreeVersion(v);
		if (res)
			drmModeFreeResources(res);
		close(fd);
	}
	errno = ENODEV;
	return -1;
}

/* @con's name as --connector takes it, e.g. Virtual-1. */
static void connector_name(const drmModeConnector *con, char *name, size_t size)
{
	const char *type = drmModeGetConnectorTypeName(con->connector_type);

	snprintf(name, size, "%s-%u", type ? type : "Unknown", con->connector_type_id);
}

/* Adds connector @con (ours then) as an output with a CRTC no other took. */
static int add_crtc_output(drmModeRes *res, drmModeConnector *con,
			   uint32_t *used_crtcs)
{
	struct output *o = &be.outs[be.nouts];
	drmModeEncoder *enc;
	int c, k;

	connector_name(con, o->name, sizeof(o->name));
	/* A CRTC no other output took, reachable from an encoder. */
	o->crtc_id = 0;
	for (c = 0; c < con->count_encoders && !o->crtc_id; c++) {
		enc = drmModeGetEncoder(be.kms, con->encoders[c]);
		if (!enc)
			continue;
		for (k = 0; k < res->count_crtcs; k++)
			if ((enc->possible_crtcs & (1u << k)) &&
			    !(*used_crtcs & (1u << k))) {
				o->crtc_id = res->crtcs[k];
				*used_crtcs |= 1u << k;
				break;
			}
		drmModeFreeEncoder(enc);
	}
	if (!o->crtc_id) {
		msg(LOG_WARN, "no CRTC for connector %s", o->name);
		drmModeFreeConnector(con);
		return -ENOENT;
	}
	o->conn = con;
	o->conn_id = con->connector_id;
	msg(LOG_INFO, "KMS output %d: connector %s, CRTC %u", be.nouts,
	    o->name, o->crtc_id);
	be.nouts++;
	return 0;
}

/*
 * Adds an overlay plane of the CRTC of output @name as an output, showing
 * frames at @x,@y: a plane of that CRTC that takes XRGB8888 (what
 * drm_xen_front's frames are) and no other output took. The listing has
 * overlay planes only: we never ask for DRM_CLIENT_CAP_UNIVERSAL_PLANES
 * before this.
 */
static int add_overlay_output(drmModeRes *res, const char *name, int x, int y)
{
	struct output *o = &be.outs[be.nouts], *on = NULL;
	drmModePlaneRes *planes;
	uint32_t i, f;
	int k, bit = -1;

	for (k = 0; k < be.nouts; k++)
		if (!be.outs[k].plane_id && !strcmp(be.outs[k].name, name))
			on = &be.outs[k];
	if (!on) {
		msg(LOG_WARN, "%s:overlay: no output %s before it", name, name);
		return -ENOENT;
	}
	for (k = 0; k < res->count_crtcs; k++)
		if (res->crtcs[k] == on->crtc_id)
			bit = k;
	planes = drmModeGetPlaneResources(be.kms);
	for (i = 0; planes && i < planes->count_planes && !o->plane_id; i++) {
		drmModePlane *p = drmModeGetPlane(be.kms, planes->planes[i]);
		int taken = 0;

		for (k = 0; k < be.nouts; k++)
			taken |= p && be.outs[k].plane_id == p->plane_id;
		for (f = 0; p && !taken && f < p->count_formats; f++)
			if (p->formats[f] == DRM_FORMAT_XRGB8888 &&
			    (p->possible_crtcs & (1u << bit))) {
				o->plane_id = p->plane_id;
				break;
			}
		drmModeFreePlane(p);
	}
	drmModeFreePlaneResources(planes);
	if (!o->plane_id) {
		msg(LOG_WARN, "%s:overlay: no free XRGB8888 overlay plane on its CRTC %u",
		    name, on->crtc_id);
		return -ENOENT;
	}
	snprintf(o->name, sizeof(o->name), "%s:overlay", name);
	o->crtc_id = on->crtc_id;
	o->x = x;
	o->y = y;
	msg(LOG_INFO, "KMS output %d: plane %u of CRTC %u at %d,%d", be.nouts,
	    o->plane_id, o->crtc_id, x, y);
	be.nouts++;
	return 0;
}

static drmModeConnector *connector_by_name(drmModeRes *res, const char *name)
{
	char n[32];
	int i;

	for (i = 0; i < res->count_connectors; i++) {
		drmModeConnector *con = drmModeGetConnector(be.kms, res->connectors[i]);

		if (!con)
			continue;
		connector_name(con, n, sizeof(n));
		if (!strcmp(n, name))
			return con;
		drmModeFreeConnector(con);
	}
	return NULL;
}

/*
 * The KMS outputs: those @names lists (comma separated, in order: NAME
 * or NAME:overlay[+X+Y]), else every connected connector.
 */
static int find_outputs(const char *names)
{
	drmModeRes *res = drmModeGetResources(be.kms);
	char *list = names ? strdup(names) : NULL, *item, *save = NULL;
	uint32_t used_crtcs = 0;
	int i;

	if (!res || (names && !list)) {
		drmModeFreeResources(res);
		free(list);
		return -ENOMEM;
	}
	for (i = 0; !names && i < res->count_connectors && be.nouts < MAX_OUTPUTS; i++) {
		drmModeConnector *con = drmModeGetConnector(be.kms, res->connectors[i]);

		if (con && con->connection == DRM_MODE_CONNECTED)
			add_crtc_output(res, con, &used_crtcs);
		else
			drmModeFreeConnector(con);
	}
	for (item = list ? strtok_r(list, ",", &save) : NULL;
	     item && be.nouts < MAX_OUTPUTS; item = strtok_r(NULL, ",", &save)) {
		char *kind = strchr(item, ':');
		drmModeConnector *con;
		int x = 0, y = 0;

		if (kind) {
			*kind++ = '\0';
			if (strncmp(kind, "overlay", 7) ||
			    (kind[7] && sscanf(kind + 7, "+%d+%d", &x, &y) != 2)) {
				msg(LOG_WARN, "--connector %s:%s: not NAME:overlay[+X+Y]",
				    item, kind);
				continue;
			}
			add_overlay_output(res, item, x, y);
			continue;
		}
		con = connector_by_name(res, item);
		if (con)
			add_crtc_output(res, con, &used_crtcs);
		else
			msg(LOG_WARN, "no KMS connector %s", item);
	}
	free(list);
	drmModeFreeResources(res);
	return be.nouts ? 0 : -ENOENT;
}

/*
 * The output of vdispl connector @c: the one at its index if free, so
 * that a device's connectors take the outputs in order whichever of them
 * configures first; else the first free one.
 */
static struct output *conn_output(struct zc_vdispl_conn *c)
{
	struct output *o = NULL;
	int i;

	if (c->priv)
		return c->priv;
	if (c->index < be.nouts && !be.outs[c->index].user)
		o = &be.outs[c->index];
	for (i = 0; i < be.nouts && !o; i++)
		if (!be.outs[i].user)
			o = &be.outs[i];
	if (!o)
		return NULL;
	o->user = c;
	c->priv = o;
	msg(LOG_INFO, "domain %d vdispl %d connector %d -> %s",
	    c->dev->domid, c->dev->devid, c->index, o->name);
	return o;
}

/*
 * Shows @fb_id (0: nothing) on overlay output @o. A legacy SetPlane is a
 * blocking commit: when it returns the frame is the one scanned out.
 */
static int plane_show(struct output *o, uint32_t fb_id)
{
	if (drmModeSetPlane(be.kms, o->plane_id, fb_id ? o->crtc_id : 0, fb_id, 0,
			    o->x, o->y, fb_id ? o->w : 0, fb_id ? o->h : 0,
			    o->src_x << 16, o->src_y << 16, o->w << 16, o->h << 16))
		return -errno;
	o->fb_id = fb_id;
	return 0;
}

static void output_off(struct output *o)
{
	if (o->plane_id)
		plane_show(o, 0);
	else
		drmModeSetCrtc(be.kms, o->crtc_id, 0, 0, 0, NULL, 0, NULL);
	o->fb_id = 0;
}

static void output_release(struct output *o)
{
	output_off(o);
	if (o->user)
		o->user->priv = NULL;
	o->user = NULL;
	o->w = o->h = 0;
	o->flipping = o->has_next = 0;
}

/* ---- buffers ---- */

static struct dev *dev_of(struct zc_vdispl *v)
{
	return v->priv;
}

static struct dbuf *dbuf_find(struct dev *d, uint64_t cookie)
{
	int i;

	for (i = 0; i < MAX_BUFS; i++)
		if (d->dbufs[i].used && d->dbufs[i].cookie == cookie)
			return &d->dbufs[i];
	return NULL;
}

static struct fb *fb_find(struct dev *d, uint64_t cookie)
{
	int i;

	for (i = 0; i < MAX_BUFS; i++)
		if (d->fbs[i].used && d->fbs[i].cookie == cookie)
			return &d->fbs[i];
	return NULL;
}

/* A KMS dumb buffer for @b, mapped when we are to write into it. */
static int kms_dumb(struct dbuf *b, int map)
{
	struct zc_dumb dumb;
	int ret = zc_dumb_create(be.kms, b->width, b->height, b->bpp, &dumb);

	if (ret)
		return ret;
	b->kms_handle = dumb.handle;
	b->kms_pitch = dumb.pitch;
	b->kms_size = dumb.size;
	if (map) {
		b->kms_map = zc_dumb_map(be.kms, dumb.handle, dumb.size);
		if (!b->kms_map)
			return -errno ? -errno : -ENOMEM;
	}
	return 0;
}

static int dbuf_zero_copy(struct zc_vdispl *v, struct dbuf *b, uint32_t dir,
			  const uint32_t *refs)
{
	int dmabuf, ret;

	if (v->be_alloc) {
		uint32_t *out = calloc(b->pages, sizeof(*out));

		if (!out)
			return -ENOMEM;
		ret = kms_dumb(b, 0);
		if (!ret && b->kms_size != (uint64_t)b->pages * PAGE)
			ret = -EINVAL;
		if (!ret)
			ret = zc_prime_export(be.kms, b->kms_handle, &dmabuf);
		if (!ret) {
			ret = zc_prime_import(be.zc, dmabuf, &b->zc_handle);
			close(dmabuf);
		}
		if (!ret)
			ret = zc_to_refs(be.zc, b->zc_handle, out, b->pages, v->domid);
		if (!ret)
			ret = zc_vdispl_dir_write(v->domid, dir, b->pages, out);
		free(out);
		return ret;
	}
	ret = zc_from_refs(be.zc, refs, b->pages, v->domid, b->width, b->height,
			   b->bpp, &b->from);
	if (ret)
		return ret;
	ret = zc_prime_export(be.zc, b->from.dumb.handle, &dmabuf);
	if (ret)
		return ret;
	ret = zc_prime_import(be.kms, dmabuf, &b->kms_handle);
	close(dmabuf);
	b->kms_pitch = b->from.dumb.pitch;
	return ret;
}

static int dbuf_copy(struct zc_vdispl *v, struct dbuf *b, uint32_t dir,
		     const uint32_t *refs)
{
	int ret = kms_dumb(b, 1);

	if (ret)
		return ret;
	if (v->be_alloc) {
		ret = zc_gntalloc_alloc(&b->ga, v->domid, b->pages, true);
		if (!ret)
			ret = zc_vdispl_dir_write(v->domid, dir, b->pages, b->ga.refs);
		return ret;
	}
	return zc_gntdev_map(&b->src, v->domid, refs, b->pages, false);
}

static int op_fb_detach(struct zc_vdispl *v, uint64_t cookie);

/* Releases @b; its FROM_REFS grants are unmapped when this returns 0. */
static int dbuf_free(struct dev *d, struct dbuf *b)
{
	int i, ret = 0;

	for (i = 0; i < MAX_BUFS; i++)
		if (d->fbs[i].used && d->fbs[i].dbuf == b)
			op_fb_detach(&d->v, d->fbs[i].cookie);
	if (b->kms_map)
		munmap(b->kms_map, b->kms_size);
	if (b->kms_handle)
		zc_gem_close(be.kms, b->kms_handle);
	if (b->zc_handle)
		zc_gem_close(be.zc, b->zc_handle);
	if (b->src.map)
		zc_gntdev_unmap(&b->src);
	if (b->ga.map)
		zc_gntalloc_free(&b->ga);
	if (b->from.dumb.handle) {
		zc_gem_close(be.zc, b->from.dumb.handle);
		ret = zc_wait_free(be.zc, b->from.wait_handle, 3000);
		if (ret == -ENOENT)	/* gone before we asked */
			ret = 0;
		if (ret)
			msg(LOG_ERR, "DUMB_WAIT_FREE of dbuf %llu: %s",
			    (unsigned long long)b->cookie, strerror(-ret));
	}
	memset(b, 0, sizeof(*b));
	b->src.fd = b->ga.fd = -1;
	return ret;
}

static int op_dbuf_create(struct zc_vdispl *v, const struct xendispl_dbuf_create_req *r)
{
	struct dev *d = dev_of(v);
	uint32_t *refs = NULL;
	struct dbuf *b = NULL;
	int i, ret;

	if (dbuf_find(d, r->dbuf_cookie))
		return -EEXIST;
	if (!r->width || !r->height || r->bpp != 32 || r->data_ofs ||
	    r->buffer_sz < r->width * 4 * r->height)
		return -EINVAL;
	if (!!(r->flags & XENDISPL_DBUF_FLG_REQ_ALLOC) != !!v->be_alloc)
		return -EINVAL;
	for (i = 0; i < MAX_BUFS && !b; i++)
		if (!d->dbufs[i].used)
			b = &d->dbufs[i];
	if (!b)
		return -ENOMEM;
	memset(b, 0, sizeof(*b));
	b->src.fd = b->ga.fd = -1;
	b->used = 1;
	b->cookie = r->dbuf_cookie;
	b->width = r->width;
	b->height = r->height;
	b->bpp = r->bpp;
	b->size = r->buffer_sz;
	b->pages = (r->buffer_sz + PAGE - 1) / PAGE;
	if (!v->be_alloc) {
		refs = calloc(b->pages, sizeof(*refs));
		if (!refs) {
			ret = -ENOMEM;
			goto out;
		}
		ret = zc_vdispl_dir_read(v->domid, r->gref_directory, b->pages, refs);
		if (ret)
			goto out;
	}
	ret = copy_mode ? dbuf_copy(v, b, r->gref_directory, refs) :
			  dbuf_zero_copy(v, b, r->gref_directory, refs);
out:
	free(refs);
	if (ret)
		dbuf_free(d, b);
	msg(ret ? LOG_ERR : LOG_DEBUG, "DBUF_CREATE %llu %ux%u, %u pages%s: %d",
	    (unsigned long long)r->dbuf_cookie, r->width, r->height,
	    (r->buffer_sz + PAGE - 1) / PAGE, v->be_alloc ? ", be-alloc" : "", ret);
	return ret;
}

static int op_fb_attach(struct zc_vdispl *v, const struct xendispl_fb_attach_req *r)
{
	uint32_t handles[4] = { 0 }, pitches[4] = { 0 }, offsets[4] = { 0 };
	struct dev *d = dev_of(v);
	struct dbuf *b = dbuf_find(d, r->dbuf_cookie);
	struct fb *f = NULL;
	int i;

	if (!b || fb_find(d, r->fb_cookie))
		return b ? -EEXIST : -ENOENT;
	if (r->width > b->width || r->height > b->height)
		return -EINVAL;
	for (i = 0; i < MAX_BUFS && !f; i++)
		if (!d->fbs[i].used)
			f = &d->fbs[i];
	if (!f)
		return -ENOMEM;
	handles[0] = b->kms_handle;
	pitches[0] = b->kms_pitch;
	if (drmModeAddFB2(be.kms, r->width, r->height, r->pixel_format, handles,
			  pitches, offsets, &f->fb_id, 0))
		return -errno;
	f->used = 1;
	f->cookie = r->fb_cookie;
	f->dbuf = b;
	return 0;
}

static int op_fb_detach(struct zc_vdispl *v, uint64_t cookie)
{
	struct fb *f = fb_find(dev_of(v), cookie);
	int i;

	/* One a backend before us made: nothing of it is ours. */
	if (!f)
		return 0;
	for (i = 0; i < be.nouts; i++)
		if (be.outs[i].fb_id == f->fb_id)
			be.outs[i].fb_id = 0;
	drmModeRmFB(be.kms, f->fb_id);
	f->used = 0;
	return 0;
}

/* --copy: the frame goes into the buffer KMS scans out, row by row. */
static void copy_frame(struct dbuf *b)
{
	const uint8_t *src = b->src.map ? b->src.map : b->ga.map;
	uint32_t row = b->width * b->bpp / 8, y;
	unsigned long long t0 = st_now();

	if (!src || !b->kms_map)
		return;
	for (y = 0; y < b->height; y++)
		memcpy((uint8_t *)b->kms_map + (size_t)y * b->kms_pitch,
		       src + (size_t)y * row, row);
	bytes_copied += (unsigned long long)row * b->height;
	st_add(ST_COPY, t0);
}

static drmModeModeInfo *find_mode(struct output *o, uint32_t w, uint32_t h)
{
	int i;

	for (i = 0; i < o->conn->count_modes; i++)
		if (o->conn->modes[i].hdisplay == w && o->conn->modes[i].vdisplay == h)
			return &o->conn->modes[i];
	return NULL;
}

static int op_set_config(struct zc_vdispl_conn *c, const struct xendispl_set_config_req *r)
{
	struct output *o = conn_output(c);
	drmModeModeInfo *mode;
	struct fb *f;

	if (!r->fb_cookie) {
		if (o) {
			output_off(o);
			o->has_next = 0;
		}
		return 0;
	}
	f = fb_find(dev_of(c->dev), r->fb_cookie);
	if (!f)
		return -ENOENT;
	if (!o)
		return 0;	/* headless: more connectors than outputs */
	/* An overlay has no mode: the plane takes the frame's size. */
	if (o->plane_id) {
		if (copy_mode)
			copy_frame(f->dbuf);
		o->src_x = r->x;
		o->src_y = r->y;
		o->w = r->width;
		o->h = r->height;
		return plane_show(o, f->fb_id);
	}
	mode = find_mode(o, r->width, r->height);
	if (!mode) {
		msg(LOG_ERR, "%s has no %ux%u mode", o->name, r->width, r->height);
		return -EINVAL;
	}
	if (copy_mode)
		copy_frame(f->dbuf);
	if (drmModeSetCrtc(be.kms, o->crtc_id, f->fb_id, r->x, r->y, &o->conn_id,
			   1, mode))
		return -errno;
	o->fb_id = f->fb_id;
	return 0;
}

static int submit_flip(struct output *o, uint32_t fb_id, uint64_t cookie)
{
	unsigned long long t0 = st_now();
	int ret = drmModePageFlip(be.kms, o->crtc_id, fb_id,
				  DRM_MODE_PAGE_FLIP_EVENT, o);

	st_add(ST_FLIP_IOCTL, t0);
	if (ret)
		return -errno;
	o->flipping = 1;
	o->flip_cookie = cookie;
	o->fb_id = fb_id;
	return 0;
}

static int op_pg_flip(struct zc_vdispl_conn *c, uint64_t cookie)
{
	struct output *o = conn_output(c);
	struct fb *f = fb_find(dev_of(c->dev), cookie);
	int ret;

	if (!f)
		return -ENOENT;
	if (copy_mode)
		copy_frame(f->dbuf);
	if (!o) {
		zc_vdispl_send_flip(c, cookie);	/* headless */
		return 0;
	}
	/*
	 * An overlay: the frame is on screen when plane_show() returns. The
	 * size is the connector's if a backend before us got the SET_CONFIG.
	 */
	if (o->plane_id) {
		if (!o->w) {
			o->w = c->width;
			o->h = c->height;
		}
		ret = plane_show(o, f->fb_id);
		zc_vdispl_send_flip(c, cookie);
		return ret;
	}
	/*
	 * The CRTC is off though the frontend flips: we resumed a device a
	 * backend before us had configured. A modeset at the connector's
	 * resolution shows the frame.
	 */
	if (!o->fb_id) {
		drmModeModeInfo *mode = find_mode(o, c->width, c->height);

		ret = mode ? 0 : -EINVAL;
		if (!ret && drmModeSetCrtc(be.kms, o->crtc_id, f->fb_id, 0, 0,
					   &o->conn_id, 1, mode))
			ret = -errno;
		if (!ret)
			o->fb_id = f->fb_id;
		zc_vdispl_send_flip(c, cookie);
		return ret;
	}
	if (o->flipping) {
		o->has_next = 1;
		o->next_fb = f->fb_id;
		o->next_cookie = cookie;
		return 0;
	}
	ret = submit_flip(o, f->fb_id, cookie);
	if (ret) {
		msg(LOG_WARN, "page flip on %s: %s", o->name, strerror(-ret));
		zc_vdispl_send_flip(c, cookie);
	}
	return ret;
}

static void flip_done(int fd, unsigned int seq, unsigned int sec,
		      unsigned int usec, void *data)
{
	struct output *o = data;

	(void)fd, (void)seq, (void)sec, (void)usec;
	st.flips++;
	msg(LOG_DEBUG, "%s: flip to fb %u done%s", o->name, o->fb_id,
	    o->has_next ? ", one queued" : "");
	o->flipping = 0;
	if (o->user)
		zc_vdispl_send_flip(o->user, o->flip_cookie);
	if (o->has_next && o->user) {
		o->has_next = 0;
		if (submit_flip(o, o->next_fb, o->next_cookie))
			zc_vdispl_send_flip(o->user, o->next_cookie);
	}
}

static int op_get_edid(struct zc_vdispl_conn *c, const struct xendispl_get_edid_req *r,
		       struct xendispl_resp *resp)
{
	uint8_t edid[XENDISPL_EDID_BLOCK_SIZE];
	int ret;

	zc_vdispl_edid(edid, c->width, c->height);
	ret = zc_vdispl_buf_write(c->dev->domid, r->gref_directory, r->buffer_sz,
				  edid, sizeof(edid));
	if (!ret)
		resp->op.get_edid.edid_sz = sizeof(edid);
	return ret;
}

static int on_request(struct zc_vdispl_conn *c, const struct xendispl_req *req,
		      struct xendispl_resp *resp)
{
	unsigned long long t0 = st_now();
	struct zc_vdispl *v = c->dev;
	struct dbuf *b;
	int ret;

	switch (req->operation) {
	case XENDISPL_OP_DBUF_CREATE:
		ret = op_dbuf_create(v, &req->op.dbuf_create);
		break;
	case XENDISPL_OP_DBUF_DESTROY:
		b = dbuf_find(dev_of(v), req->op.dbuf_destroy.dbuf_cookie);
		/* One a backend before us made: nothing of it is ours. */
		ret = b ? dbuf_free(dev_of(v), b) : 0;
		break;
	case XENDISPL_OP_FB_ATTACH:
		ret = op_fb_attach(v, &req->op.fb_attach);
		break;
	case XENDISPL_OP_FB_DETACH:
		ret = op_fb_detach(v, req->op.fb_detach.fb_cookie);
		break;
	case XENDISPL_OP_SET_CONFIG:
		ret = op_set_config(c, &req->op.set_config);
		break;
	case XENDISPL_OP_PG_FLIP:
		ret = op_pg_flip(c, req->op.pg_flip.fb_cookie);
		break;
	case XENDISPL_OP_GET_EDID:
		ret = op_get_edid(c, &req->op.get_edid, resp);
		break;
	default:
		ret = -EOPNOTSUPP;
		break;
	}
	msg(ret ? LOG_WARN : LOG_DEBUG, "domain %d vdispl %d/%d: op 0x%x -> %d",
	    v->domid, v->devid, c->index, req->operation, ret);
	if (req->operation >= XENDISPL_OP_DBUF_CREATE &&
	    req->operation <= XENDISPL_OP_GET_EDID)
		st_add(ST_OP + req->operation - XENDISPL_OP_DBUF_CREATE, t0);
	return ret;
}

static void on_disconnect(struct zc_vdispl *v)
{
	struct dev *d = dev_of(v);
	int i;

	for (i = 0; i < v->nconn; i++)
		if (v->conn[i].priv)
			output_release(v->conn[i].priv);
	for (i = 0; i < MAX_BUFS; i++)
		if (d->dbufs[i].used)
			dbuf_free(d, &d->dbufs[i]);
	msg(LOG_INFO, "domain %d vdispl %d: disconnected", v->domid, v->devid);
}

static const struct zc_vdispl_ops ops = {
	.request = on_request,
	.disconnect = on_disconnect,
};

/* ---- devices ---- */

static struct dev *dev_lookup(int domid, int devid)
{
	int i;

	for (i = 0; i < MAX_DEVS; i++)
		if (be.devs[i].used && be.devs[i].v.domid == domid &&
		    be.devs[i].v.devid == devid)
			return &be.devs[i];
	return NULL;
}

static void dev_add(int domid, int devid)
{
	char bstate[128], fstate[128];
	struct dev *d = NULL;
	int i;

	for (i = 0; i < MAX_DEVS && !d; i++)
		if (!be.devs[i].used)
			d = &be.devs[i];
	if (!d) {
		msg(LOG_WARN, "too many devices, domain %d vdispl %d ignored",
		    domid, devid);
		return;
	}
	memset(d, 0, sizeof(*d));
	d->used = 1;
	for (i = 0; i < MAX_BUFS; i++)
		d->dbufs[i].src.fd = d->dbufs[i].ga.fd = -1;
	zc_vdispl_init(&d->v, be.xs, domid, devid, &ops, d);
	zc_vdispl_state_paths(&d->v, bstate, fstate, sizeof(bstate));
	zc_xs_watch(be.xs, fstate, "fe");
	msg(LOG_INFO, "domain %d vdispl %d: new device", domid, devid);
}

/* The devices under our backend directory, new ones added. */
static void scan_devices(void)
{
	char *doms, *devs, *dom, *dv, path[96];
	unsigned int nd, nv, i, k;

	doms = zc_xs_directory(be.xs, "/local/domain/0/backend/vdispl", &nd);
	if (!doms)
		return;
	for (i = 0, dom = doms; i < nd; i++, dom += strlen(dom) + 1) {
		snprintf(path, sizeof(path), "/local/domain/0/backend/vdispl/%s", dom);
		devs = zc_xs_directory(be.xs, path, &nv);
		if (!devs)
			continue;
		for (k = 0, dv = devs; k < nv; k++, dv += strlen(dv) + 1)
			if (!dev_lookup(atoi(dom), atoi(dv)))
				dev_add(atoi(dom), atoi(dv));
		free(devs);
	}
	free(doms);
}

static void step_devices(void)
{
	int i;

	for (i = 0; i < MAX_DEVS; i++) {
		struct dev *d = &be.devs[i];
		int was, state;

		if (!d->used)
			continue;
		was = d->v.state;
		state = zc_vdispl_step(&d->v);
		if (state == -ENODEV) {
			char bstate[128], fstate[128];

			msg(LOG_INFO, "domain %d vdispl %d: removed", d->v.domid,
			    d->v.devid);
			/* Guests come and go: their watches must not pile up. */
			zc_vdispl_state_paths(&d->v, bstate, fstate, sizeof(bstate));
			zc_xs_unwatch(be.xs, fstate, "fe");
			d->used = 0;
			continue;
		}
		if (state != was)
			msg(LOG_INFO, "domain %d vdispl %d: state %d%s%s", d->v.domid,
			    d->v.devid, state, d->v.error[0] ? ": " : "", d->v.error);
		d->v.error[0] = '\0';
	}
}

/* ---- writeback capture ---- */

static int capture_pending;

/* The id of property @name of KMS object @obj (of @type); 0 if none. */
static uint32_t prop_id(uint32_t obj, uint32_t type, const char *name)
{
	drmModeObjectProperties *props = drmModeObjectGetProperties(be.kms, obj, type);
	uint32_t id = 0, i;

	for (i = 0; props && i < props->count_props && !id; i++) {
		drmModePropertyRes *p = drmModeGetProperty(be.kms, props->props[i]);

		if (p && !strcmp(p->name, name))
			id = p->prop_id;
		drmModeFreeProperty(p);
	}
	drmModeFreeObjectProperties(props);
	return id;
}

/* A writeback connector that can take the CRTC @crtc_id; 0 if none. */
static uint32_t writeback_connector(uint32_t crtc_id)
{
	drmModeRes *res = drmModeGetResources(be.kms);
	uint32_t id = 0;
	int i, k, bit = -1;

	if (!res)
		return 0;
	for (k = 0; k < res->count_crtcs; k++)
		if (res->crtcs[k] == crtc_id)
			bit = k;
	for (i = 0; i < res->count_connectors && !id && bit >= 0; i++) {
		drmModeConnector *con = drmModeGetConnector(be.kms, res->connectors[i]);

		if (!con)
			continue;
		if (con->connector_type == DRM_MODE_CONNECTOR_WRITEBACK) {
			for (k = 0; k < con->count_encoders && !id; k++) {
				drmModeEncoder *enc = drmModeGetEncoder(be.kms, con->encoders[k]);

				if (enc && (enc->possible_crtcs & (1u << bit)))
					id = con->connector_id;
				drmModeFreeEncoder(enc);
			}
		}
		drmModeFreeConnector(con);
	}
	drmModeFreeResources(res);
	return id;
}

/* Writes a @w x @h XRGB8888 frame as a binary PPM (R, G, B per pixel). */
static int write_ppm(const char *path, const uint8_t *px, uint32_t w, uint32_t h,
		     uint32_t pitch)
{
	char tmp[256];
	uint8_t *row = malloc((size_t)w * 3);
	uint32_t x, y;
	FILE *f;
	int ret = 0;

	if (!row)
		return -ENOMEM;
	/* Written whole, then renamed: a reader never sees half a frame. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "wb");
	if (!f) {
		free(row);
		return -errno;
	}
	fprintf(f, "P6\n%u %u\n255\n", w, h);
	for (y = 0; y < h; y++) {
		const uint8_t *src = px + (size_t)y * pitch;

		for (x = 0; x < w; x++) {
			row[x * 3] = src[x * 4 + 2];
			row[x * 3 + 1] = src[x * 4 + 1];
			row[x * 3 + 2] = src[x * 4];
		}
		if (fwrite(row, 3, w, f) != w)
			ret = -EIO;
	}
	if (fclose(f))
		ret = -EIO;
	free(row);
	if (!ret && rename(tmp, path))
		ret = -errno;
	return ret;
}

/*
 * What output @o scans out, read back through the writeback connector of
 * its CRTC into a dumb buffer of the mode's size. A driver may not let
 * the writeback encoder clone the output's (vkms in 6.1 does not: each
 * encoder's possible_clones is itself alone), so for one commit the CRTC,
 * with the planes and the frame as they are, drives the writeback
 * connector instead of the output's; a second commit routes it back, as
 * legacy page flips expect it. Both are modesets to the atomic core.
 */
static int capture(struct output *o)
{
	uint32_t wb, p_crtc, p_fb, p_fence, p_out, fb_id = 0, w, h;
	drmModeAtomicReq *req = NULL;
	struct zc_dumb dumb = { 0 };
	drmModeCrtc *crtc = NULL;
	int32_t fence = -1;
	void *map = NULL;
	int ret;

	if (!capture_path)
		return -EINVAL;
	if (!o->fb_id)
		return -ENODATA;
	if (drmSetClientCap(be.kms, DRM_CLIENT_CAP_ATOMIC, 1) ||
	    drmSetClientCap(be.kms, DRM_CLIENT_CAP_WRITEBACK_CONNECTORS, 1))
		return -errno;
	wb = writeback_connector(o->crtc_id);
	if (!wb)
		return -ENOENT;
	p_crtc = prop_id(wb, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID");
	p_fb = prop_id(wb, DRM_MODE_OBJECT_CONNECTOR, "WRITEBACK_FB_ID");
	p_fence = prop_id(wb, DRM_MODE_OBJECT_CONNECTOR, "WRITEBACK_OUT_FENCE_PTR");
	p_out = prop_id(o->conn_id, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID");
	if (!p_crtc || !p_fb || !p_fence || !p_out)
		return -ENOENT;
	crtc = drmModeGetCrtc(be.kms, o->crtc_id);
	if (!crtc || !crtc->mode_valid) {
		ret = -ENODATA;
		goto out;
	}
	w = crtc->mode.hdisplay;
	h = crtc->mode.vdisplay;
	ret = zc_dumb_create(be.kms, w, h, 32, &dumb);
	if (ret)
		goto out;
	map = zc_dumb_map(be.kms, dumb.handle, dumb.size);
	if (!map) {
		ret = -ENOMEM;
		goto out;
	}
	{
		uint32_t handles[4] = { dumb.handle }, pitches[4] = { dumb.pitch };
		uint32_t offsets[4] = { 0 };

		if (drmModeAddFB2(be.kms, w, h, DRM_FORMAT_XRGB8888, handles,
				  pitches, offsets, &fb_id, 0)) {
			ret = -errno;
			goto out;
		}
	}
	req = drmModeAtomicAlloc();
	if (!req) {
		ret = -ENOMEM;
		goto out;
	}
	drmModeAtomicAddProperty(req, o->conn_id, p_out, 0);
	drmModeAtomicAddProperty(req, wb, p_crtc, o->crtc_id);
	drmModeAtomicAddProperty(req, wb, p_fb, fb_id);
	drmModeAtomicAddProperty(req, wb, p_fence, (uint64_t)(uintptr_t)&fence);
	if (drmModeAtomicCommit(be.kms, req, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL)) {
		ret = -errno;
		goto out;
	}
	{
		struct pollfd pfd = { .fd = fence, .events = POLLIN };

		ret = fence < 0 ? -EIO : poll(&pfd, 1, 5000) == 1 ? 0 : -ETIMEDOUT;
	}
	if (!ret)
		ret = write_ppm(capture_path, map, w, h, dumb.pitch);
	/* Back, whatever happened: the writeback job is done or abandoned. */
	drmModeAtomicSetCursor(req, 0);
	drmModeAtomicAddProperty(req, wb, p_crtc, 0);
	drmModeAtomicAddProperty(req, o->conn_id, p_out, o->crtc_id);
	if (drmModeAtomicCommit(be.kms, req, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL)) {
		int err = errno;

		msg(LOG_WARN, "routing %s back to its connector: %s", o->name, strerror(err));
		if (!ret)
			ret = -err;
	}
	if (!ret)
		msg(LOG_INFO, "captured %ux%u of %s to %s", w, h, o->name, capture_path);
out:
	if (fence >= 0)
		close(fence);
	drmModeAtomicFree(req);
	if (fb_id)
		drmModeRmFB(be.kms, fb_id);
	if (map)
		munmap(map, dumb.size);
	if (dumb.handle)
		zc_gem_close(be.kms, dumb.handle);
	drmModeFreeCrtc(crtc);
	return ret;
}

static unsigned long long tv_ns(struct timeval tv)
{
	return tv.tv_sec * 1000000000ULL + tv.tv_usec * 1000ULL;
}

/*
 * --stats: one line, the CPU of each phase since the last line (count x
 * average, in us), then the counters start over.
 */
static void print_stats(void)
{
	unsigned long long cpu, wall;
	struct timespec now;
	struct rusage ru;
	char line[1024];
	int i, len;

	if (!st.on)
		return;
	getrusage(RUSAGE_SELF, &ru);
	clock_gettime(CLOCK_MONOTONIC, &now);
	cpu = tv_ns(ru.ru_utime) + tv_ns(ru.ru_stime) -
	      tv_ns(st.ru0.ru_utime) - tv_ns(st.ru0.ru_stime);
	wall = (now.tv_sec - st.wall0.tv_sec) * 1000000000ULL +
	       now.tv_nsec - st.wall0.tv_nsec;
	len = snprintf(line, sizeof(line),
		       "displ-be: stats: %llu ms, %llu flips, %llu wakeups, cpu %llu us (%llu us/flip):",
		       wall / 1000000, st.flips, st.wakeups, cpu / 1000,
		       st.flips ? cpu / 1000 / st.flips : 0);
	for (i = 0; i < ST_NUM && len < (int)sizeof(line); i++)
		if (st.n[i])
			len += snprintf(line + len, sizeof(line) - len,
					" %s %llux%llu", st_names[i], st.n[i],
					st.ns[i] / st.n[i] / 1000);
	printf("%s\n", line);
	memset(st.n, 0, sizeof(st.n));
	memset(st.ns, 0, sizeof(st.ns));
	st.flips = st.wakeups = 0;
	st.wall0 = now;
	st.ru0 = ru;
}

static void print_counter(void)
{
	printf("displ-be: copied %llu bytes\n", bytes_copied);
	print_stats();
	fflush(stdout);
}

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else if (sig == SIGUSR2)
		got_usr2 = 1;
	else
		got_term = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: displ-be [options]\n"
		"  -c, --card PATH         KMS device (default: the first card with CRTCs\n"
		"                          that is not xen_drm_zcopy)\n"
		"  -C, --connector NAMES   KMS connectors for the vdispl connectors, in\n"
		"                          order, comma separated (e.g. Virtual-1);\n"
		"                          NAME:overlay[+X+Y] is an overlay plane of\n"
		"                          the CRTC of an earlier NAME, the frame at\n"
		"                          X,Y (default 0,0); default: every connected\n"
		"                          connector\n"
		"      --copy              gntdev + memcpy on every frame instead of\n"
		"                          xen_drm_zcopy (the path to compare with)\n"
		"      --capture PATH      SIGUSR2 writes what the first output scans\n"
		"                          out (through its writeback connector) to\n"
		"                          PATH, a binary PPM\n"
		"  -l, --log-level N       0 errors, 1 warnings, 2 info (default), 3 debug\n"
		"      --stats             SIGUSR1 and the exit print the CPU time of\n"
		"                          each phase since the last time (us)\n"
		"  -h, --help\n"
		"Signals: SIGUSR1 prints the bytes copied, SIGUSR2 captures (--capture),\n"
		"SIGTERM/SIGINT exit cleanly.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "card", required_argument, NULL, 'c' },
		{ "connector", required_argument, NULL, 'C' },
		{ "copy", no_argument, NULL, 'x' },
		{ "capture", required_argument, NULL, 'w' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "stats", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	drmEventContext evctx = {
		.version = 2, .page_flip_handler = flip_done,
	};
	const char *card = NULL, *connectors = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	struct timespec last_scan = { 0 };
	char ev[256];
	int opt, i, ret;

	while ((opt = getopt_long(argc, argv, "c:C:l:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			card = optarg;
			break;
		case 'C':
			connectors = optarg;
			break;
		case 'x':
			copy_mode = 1;
			break;
		case 'w':
			capture_path = optarg;
			break;
		case 'l':
			log_level = atoi(optarg);
			break;
		case 's':
			st.on = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);

	be.kms = open_card(card);
	if (be.kms < 0) {
		msg(LOG_ERR, "no KMS device%s%s: %s", card ? " " : "", card ? card : "",
		    strerror(errno));
		return 1;
	}
	ret = find_outputs(connectors);
	if (ret) {
		msg(LOG_ERR, "no KMS output%s%s", connectors ? " named " : "",
		    connectors ? connectors : " connected");
		return 1;
	}
	if (!copy_mode) {
		be.zc = zc_xen_open();
		if (be.zc < 0) {
			msg(LOG_ERR, "no xen_drm_zcopy device (modprobe xen_drm_zcopy, or --copy)");
			return 1;
		}
	}
	be.xs = zc_xs_open();
	if (!be.xs) {
		msg(LOG_ERR, "no XenStore: %s", strerror(errno));
		return 1;
	}
	if (zc_xs_watch(be.xs, "/local/domain/0/backend/vdispl", "be")) {
		msg(LOG_ERR, "cannot watch the vdispl backend directory");
		return 1;
	}
	scan_devices();
	step_devices();
	msg(LOG_INFO, "ready (%s mode)", copy_mode ? "copy" : "zero-copy");
	getrusage(RUSAGE_SELF, &st.ru0);
	clock_gettime(CLOCK_MONOTONIC, &st.wall0);

	while (!got_term) {
		struct pollfd pfd[2 + MAX_DEVS];
		unsigned long long t0;
		struct timespec now;
		int n = 0, xs_event = 0;

		pfd[n++] = (struct pollfd){ .fd = zc_xs_fd(be.xs), .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = be.kms, .events = POLLIN };
		for (i = 0; i < MAX_DEVS; i++)
			pfd[n++] = (struct pollfd){
				.fd = be.devs[i].used ? be.devs[i].v.evtchn : -1,
				.events = POLLIN,
			};
		t0 = st_now();
		ret = poll(pfd, n, 1000);
		st_add(ST_POLL, t0);
		st.wakeups++;
		if (got_usr1) {
			got_usr1 = 0;
			print_counter();
		}
		if (got_usr2) {
			got_usr2 = 0;
			capture_pending = 1;
		}
		if (ret < 0)
			continue;
		if (pfd[1].revents & POLLIN) {
			t0 = st_now();
			drmHandleEvent(be.kms, &evctx);
			st_add(ST_KMS, t0);
		}
		/* Between flips: an atomic commit now would be refused (EBUSY). */
		if (capture_pending && !be.outs[0].flipping) {
			capture_pending = 0;
			t0 = st_now();
			ret = capture(&be.outs[0]);
			st_add(ST_CAPTURE, t0);
			if (ret)
				msg(LOG_ERR, "capture of %s: %s", be.outs[0].name,
				    strerror(-ret));
		}
		for (i = 0; i < MAX_DEVS; i++)
			if (pfd[2 + i].revents & POLLIN) {
				t0 = st_now();
				zc_vdispl_kick(&be.devs[i].v);
				st_add(ST_RING, t0);
			}
		/* Watch events: those on the socket, then those requests queued. */
		t0 = st_now();
		if ((pfd[0].revents & POLLIN) &&
		    !zc_xs_wait_event(be.xs, ev, sizeof(ev), 100))
			xs_event = 1;
		while (!zc_xs_wait_event(be.xs, ev, sizeof(ev), 0))
			xs_event = 1;
		/*
		 * The coarse clock is read in the vDSO whatever the clock
		 * source; CLOCK_MONOTONIC is a system call on a PV Dom0
		 * whose Xen clock lacks PVCLOCK_TSC_STABLE_BIT (the testbed's,
		 * under TCG), and this runs on every wakeup.
		 */
		clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
		/* A rescan each second too: watches fire once per change only. */
		if (xs_event || now.tv_sec != last_scan.tv_sec) {
			last_scan = now;
			scan_devices();
			step_devices();
		}
		st_add(ST_XS, t0);
	}

	for (i = 0; i < MAX_DEVS; i++)
		if (be.devs[i].used && be.devs[i].v.evtchn >= 0)
			zc_vdispl_disconnect(&be.devs[i].v);
	for (i = 0; i < be.nouts; i++)
		drmModeFreeConnector(be.outs[i].conn);
	zc_xs_close(be.xs);
	if (be.zc >= 0)
		close(be.zc);
	close(be.kms);
	print_counter();
	msg(LOG_INFO, "exit");
	return 0;
}
