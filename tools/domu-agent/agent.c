// SPDX-License-Identifier: GPL-2.0
/*
 * zc_domu_agent: the frontend side of the cross-domain tests, run by the
 * /init of the testbed's PV DomU. It grants buffers to Dom0 (gntalloc),
 * maps buffers Dom0 granted (gntdev), writes and checks patterns, and
 * ends grants on request. Commands and replies travel through XenStore
 * under /local/domain/<domid>/data/zc/; igt-tests/lib/zc_domu.h has the
 * protocol.
 *
 * Static, single threaded, libc only: it speaks the XenStore wire
 * protocol on /dev/xen/xenbus itself (igt-tests/lib/zc_xs.c), so the
 * DomU needs no Xen libraries (Debian's static libxenstore cannot mix
 * watches and reads on one handle without threads).
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/reboot.h>

#include <drm.h>
#include <drm_fourcc.h>
#include <drm_mode.h>

#include "zc_domu.h"
#include "zc_gnt.h"
#include "zc_picture.h"
#include "zc_xs.h"

#define MAX_SLOTS	32
#define PAGE		4096

struct slot {
	char name[32];
	bool alloc;		/* gntalloc (we grant) or gntdev (we map) */
	uint32_t pages;
	struct zc_gntalloc ga;
	struct zc_gntdev gd;
};

static struct slot slots[MAX_SLOTS];
static struct zc_xs *xs;
static char base[64];
static int domid;
static bool poweroff_requested;

static void say(const char *fmt, ...)
{
	va_list ap;

	printf("zc_domu_agent: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static struct slot *find_slot(const char *name)
{
	int i;

	for (i = 0; i < MAX_SLOTS; i++)
		if (slots[i].name[0] && !strcmp(slots[i].name, name))
			return &slots[i];
	return NULL;
}

static struct slot *new_slot(const char *name)
{
	int i;

	if (find_slot(name) || strlen(name) >= sizeof(slots[0].name))
		return NULL;
	for (i = 0; i < MAX_SLOTS; i++)
		if (!slots[i].name[0]) {
			memset(&slots[i], 0, sizeof(slots[i]));
			slots[i].ga.fd = slots[i].gd.fd = -1;
			snprintf(slots[i].name, sizeof(slots[i].name), "%s", name);
			return &slots[i];
		}
	return NULL;
}

static uint8_t *slot_map(struct slot *s)
{
	return s->alloc ? s->ga.map : s->gd.map;
}

/* Kernel messages logged between two calls: deferred grant ends. */
static int kmsg_fd = -1;

static void kmsg_mark(void)
{
	if (kmsg_fd < 0)
		kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg_fd >= 0)
		lseek(kmsg_fd, 0, SEEK_END);
}

/* The next record of @fd into @rec, NUL-terminated; false at the end. */
static bool kmsg_next(int fd, char *rec, size_t size)
{
	ssize_t n;

	for (;;) {
		n = read(fd, rec, size - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* some were overwritten */
		if (n <= 0)
			return false;
		rec[n] = '\0';
		return true;
	}
}

static int kmsg_count(const char *what)
{
	char rec[4096];
	int count = 0;

	if (kmsg_fd < 0)
		return -1;
	while (kmsg_next(kmsg_fd, rec, sizeof(rec)))
		if (strstr(rec, what))
			count++;
	return count;
}

static void free_slot(struct slot *s, char *text, size_t size)
{
	int deferred;

	kmsg_mark();
	if (s->alloc)
		zc_gntalloc_free(&s->ga);
	else
		zc_gntdev_unmap(&s->gd);
	/*
	 * gnttab_end_foreign_access() logs "deferring g.e." (pr_debug, which
	 * the DomU's init enables) for a grant still mapped by the other end.
	 */
	deferred = kmsg_count("deferring g.e.");
	deferred += kmsg_count("leaking g.e.");
	if (text)
		snprintf(text, size, deferred > 0 ? "deferred %d" : "clean", deferred);
	s->name[0] = '\0';
}

/*
 * What this domain still holds, for the harness' oracle: buffer slots,
 * and the grants its kernel could not end yet because Dom0 still maps
 * them (deferred) or gave up on (leaked). The kernel keeps both totals in
 * its "deferring g.e." / "freeing g.e." lines (pr_debug, which the DomU's
 * init enables) and "leaking g.e." (pr_warn): the last one logged wins.
 */
static int status(char *text, size_t size)
{
	unsigned long long deferred = 0, leaked = 0, d, l;
	int fd, i, used = 0;
	char rec[4096], *p;

	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (kmsg_next(fd, rec, sizeof(rec))) {
		p = strstr(rec, "(total deferred ");
		if (p && sscanf(p, "(total deferred %llu, total leaked %llu",
				&d, &l) == 2) {
			deferred = d;
			leaked = l;
		}
		p = strstr(rec, "freeing g.e. ");
		if (p && (p = strstr(p, "), ")) &&
		    sscanf(p, "), %llu remaining", &d) == 1)
			deferred = d;
	}
	close(fd);
	for (i = 0; i < MAX_SLOTS; i++)
		if (slots[i].name[0])
			used++;
	snprintf(text, size, "slots %d deferred %llu leaked %llu", used,
		 deferred, leaked);
	return 0;
}

/* The same pattern as zc_fill_pattern() in igt-tests/lib/zc_drm.c. */
static uint32_t pattern(uint32_t x, uint32_t y, uint32_t seed)
{
	return ((x * 2654435761u) ^ (y * 40503u) ^ (seed * 2246822519u)) &
	       0x00ffffff;
}

static int geometry_ok(struct slot *s, uint32_t w, uint32_t h, uint32_t pitch)
{
	return w && h && pitch >= w * 4 &&
	       (uint64_t)pitch * (h - 1) + w * 4 <= (uint64_t)s->pages * PAGE;
}

static int do_fill(struct slot *s, uint32_t w, uint32_t h, uint32_t pitch,
		   uint32_t seed)
{
	uint8_t *px = slot_map(s);
	uint32_t x, y;

	if (!geometry_ok(s, w, h, pitch))
		return -EINVAL;
	for (y = 0; y < h; y++) {
		uint32_t *row = (uint32_t *)(px + (size_t)y * pitch);

		for (x = 0; x < w; x++)
			row[x] = pattern(x, y, seed);
	}
	return 0;
}

static int do_check(struct slot *s, uint32_t w, uint32_t h, uint32_t pitch,
		    uint32_t seed, char *text, size_t size)
{
	uint8_t *px = slot_map(s);
	uint32_t x, y;

	if (!geometry_ok(s, w, h, pitch))
		return -EINVAL;
	for (y = 0; y < h; y++) {
		const uint32_t *row = (const uint32_t *)(px + (size_t)y * pitch);

		for (x = 0; x < w; x++)
			if (row[x] != pattern(x, y, seed)) {
				snprintf(text, size, "mismatch at %u,%u: 0x%08x, want 0x%08x",
					 x, y, row[x], pattern(x, y, seed));
				return -EILSEQ;
			}
	}
	return 0;
}

static int put_out_refs(const uint32_t *refs, uint32_t n)
{
	char path[128], buf[ZC_DOMU_REFS_PER_NODE * 11 + 1];
	uint32_t i, k;
	int ret;

	snprintf(path, sizeof(path), "%s/out", base);
	zc_xs_rm(xs, path);
	for (k = 0; k * ZC_DOMU_REFS_PER_NODE < n; k++) {
		size_t off = 0;

		buf[0] = '\0';
		for (i = k * ZC_DOMU_REFS_PER_NODE;
		     i < n && i < (k + 1) * ZC_DOMU_REFS_PER_NODE; i++)
			off += snprintf(buf + off, sizeof(buf) - off, "%s%u",
					off ? " " : "", refs[i]);
		snprintf(path, sizeof(path), "%s/out/%u", base, k);
		ret = zc_xs_write(xs, path, buf);
		if (ret)
			return ret;
	}
	return 0;
}

static int get_in_refs(uint32_t *refs, uint32_t n)
{
	uint32_t got = 0, k;
	char path[128];

	for (k = 0; got < n; k++) {
		char *val, *p, *end;

		snprintf(path, sizeof(path), "%s/in/%u", base, k);
		val = zc_xs_read(xs, path, NULL);
		if (!val)
			return -errno;
		for (p = val; got < n; p = end) {
			unsigned long r = strtoul(p, &end, 10);

			if (end == p)
				break;
			refs[got++] = (uint32_t)r;
		}
		free(val);
	}
	return 0;
}

/*
 * The DomU's own display: drm_xen_front's card of a vdispl device, driven
 * with plain ioctls; per connector of the device a pipe (its CRTC), with
 * two dumb buffers to page-flip between. Each call becomes requests on
 * the vdispl rings that the backend in Dom0 answers.
 */
#define MAX_PIPES	4	/* drm_xen_front's XEN_DRM_FRONT_MAX_CRTCS */

static struct {
	int fd, devid;
} card = { .fd = -1 };

static struct pipe {
	uint32_t crtc, conn, w, h;
	bool nodraw;		/* be-alloc on x86 PV: the buffers cannot be CPU mapped */
	bool picture;		/* zc_picture.h's picture instead of the pattern */
	int front;
	struct xbuf {
		uint32_t handle, fb, pitch;
		uint64_t size;
		uint8_t *px;
	} buf[2];
} pipes[MAX_PIPES], *xd = pipes;	/* xd: the pipe the verbs act on */

static int xioctl(unsigned long req, void *arg)
{
	int ret;

	do {
		ret = ioctl(card.fd, req, arg);
	} while (ret && (errno == EINTR || errno == EAGAIN));
	return ret ? -errno : 0;
}

/*
 * Unmaps @p's buffers; with @rm, on a card that stays open, removes them
 * too (closing the card does that for all).
 */
static void xendrm_close_pipe(struct pipe *p, bool rm)
{
	int i;

	for (i = 0; i < 2; i++) {
		struct drm_mode_destroy_dumb dd = { .handle = p->buf[i].handle };

		if (p->buf[i].px)
			munmap(p->buf[i].px, p->buf[i].size);
		if (rm && p->buf[i].fb)
			xioctl(DRM_IOCTL_MODE_RMFB, &p->buf[i].fb);
		if (rm && dd.handle)
			xioctl(DRM_IOCTL_MODE_DESTROY_DUMB, &dd);
	}
	memset(p, 0, sizeof(*p));
}

static void xendrm_close(void)
{
	int i;

	for (i = 0; i < MAX_PIPES; i++)
		xendrm_close_pipe(&pipes[i], false);
	if (card.fd >= 0)
		close(card.fd);	/* the DRM core drops fbs, dumbs and CRTCs */
	card.fd = -1;
	xd = pipes;
}

/* The card of vdispl device @devid: its parent is xenbus' "vdispl-<devid>". */
static int xendrm_open(int devid)
{
	char path[64], link[256], want[32];
	int i, tries;

	snprintf(want, sizeof(want), "/vdispl-%d", devid);
	for (tries = 0; tries < 100; tries++) {
		for (i = 0; i < 16; i++) {
			ssize_t n;

			snprintf(path, sizeof(path), "/sys/class/drm/card%d/device", i);
			n = readlink(path, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = '\0';
			if (devid >= 0 && (n < (ssize_t)strlen(want) ||
					   strcmp(link + n - strlen(want), want)))
				continue;
			snprintf(path, sizeof(path), "/dev/dri/card%d", i);
			return open(path, O_RDWR | O_CLOEXEC);
		}
		usleep(100000);
	}
	errno = ENODEV;
	return -1;
}

static void xendrm_draw(struct xbuf *b, uint32_t seed)
{
	uint32_t x, y;

	if (xd->picture) {
		zc_picture_draw(b->px, xd->w, xd->h, b->pitch);
		return;
	}
	for (y = 0; y < xd->h; y++)
		for (x = 0; x < xd->w; x++)
			((uint32_t *)(b->px + (size_t)y * b->pitch))[x] =
				pattern(x, y, seed);
}

/* A WxH dumb buffer with a framebuffer, mapped and drawn unless nodraw. */
static int xendrm_buf(struct xbuf *b, uint32_t seed)
{
	struct drm_mode_create_dumb dumb = { .width = xd->w, .height = xd->h, .bpp = 32 };
	struct drm_mode_fb_cmd2 fb = { .width = xd->w, .height = xd->h,
				       .pixel_format = DRM_FORMAT_XRGB8888 };
	struct drm_mode_map_dumb map = { 0 };
	int ret;

	ret = xioctl(DRM_IOCTL_MODE_CREATE_DUMB, &dumb);
	if (ret)
		return ret;
	b->handle = dumb.handle;
	b->pitch = dumb.pitch;
	b->size = dumb.size;
	if (!xd->nodraw) {
		map.handle = dumb.handle;
		ret = xioctl(DRM_IOCTL_MODE_MAP_DUMB, &map);
		if (ret)
			return ret;
		b->px = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			     card.fd, map.offset);
		if (b->px == MAP_FAILED) {
			b->px = NULL;
			return -errno;
		}
		xendrm_draw(b, seed);
	}
	fb.handles[0] = b->handle;
	fb.pitches[0] = b->pitch;
	ret = xioctl(DRM_IOCTL_MODE_ADDFB2, &fb);
	b->fb = fb.fb_id;
	return ret;
}

/*
 * Opens the card of vdispl @devid (-1: the first card), finds a connector
 * with a WxH mode and shows pattern @seed (or the picture) on it.
 *
 * With @pipe >= 0 that connector of the device (and its CRTC) instead of
 * the first, and the card stays open if it is @devid's: the other pipes
 * keep showing what they show. drm_xen_front makes one pipe (CRTC,
 * encoder, connector) per vdispl connector, in order, so the Nth CRTC
 * and the Nth connector are vdispl connector N's.
 */
static int xendrm_show(uint32_t w, uint32_t h, uint32_t seed, int devid,
		       int pipe, bool nodraw, bool picture, char *text, size_t size)
{
	struct drm_mode_card_res res = { 0 };
	struct drm_mode_get_connector conn = { 0 };
	struct drm_mode_modeinfo modes[32], *mode = NULL;
	struct drm_mode_crtc crtc = { 0 };
	uint32_t crtcs[MAX_PIPES], conns[MAX_PIPES], i;
	int ret;

	if (pipe >= MAX_PIPES)
		return -EINVAL;
	if (pipe < 0 || card.fd < 0 || card.devid != devid) {
		xendrm_close();
		card.fd = xendrm_open(devid);
		if (card.fd < 0) {
			snprintf(text, size, "no card of vdispl %d", devid);
			return -ENODEV;
		}
		card.devid = devid;
	}
	xd = &pipes[pipe < 0 ? 0 : pipe];
	xendrm_close_pipe(xd, true);
	xd->w = w;
	xd->h = h;
	xd->nodraw = nodraw;
	xd->picture = picture;

	res.crtc_id_ptr = (uintptr_t)crtcs;
	res.connector_id_ptr = (uintptr_t)conns;
	res.count_crtcs = MAX_PIPES;
	res.count_connectors = MAX_PIPES;
	ret = xioctl(DRM_IOCTL_MODE_GETRESOURCES, &res);
	if (ret || res.count_crtcs <= xd - pipes ||
	    res.count_connectors <= xd - pipes) {
		snprintf(text, size, "GETRESOURCES: %u CRTCs, %u connectors",
			 res.count_crtcs, res.count_connectors);
		ret = ret ? ret : -ENOENT;
		goto err;
	}
	xd->crtc = crtcs[xd - pipes];
	xd->conn = conns[xd - pipes];
	/* The first call, with no room for modes, probes them. */
	conn.connector_id = xd->conn;
	ret = xioctl(DRM_IOCTL_MODE_GETCONNECTOR, &conn);
	if (ret)
		goto err;
	memset(&conn, 0, sizeof(conn));
	conn.connector_id = xd->conn;
	conn.modes_ptr = (uintptr_t)modes;
	conn.count_modes = 32;
	ret = xioctl(DRM_IOCTL_MODE_GETCONNECTOR, &conn);
	if (ret)
		goto err;
	for (i = 0; i < conn.count_modes && i < 32; i++)
		if (modes[i].hdisplay == w && modes[i].vdisplay == h)
			mode = &modes[i];
	if (!mode) {
		snprintf(text, size, "no %ux%u mode among %u", w, h, conn.count_modes);
		ret = -ENOENT;
		goto err;
	}

	ret = xendrm_buf(&xd->buf[0], seed);
	if (ret) {
		snprintf(text, size, "dumb buffer");
		goto err;
	}
	crtc.crtc_id = xd->crtc;
	crtc.fb_id = xd->buf[0].fb;
	crtc.set_connectors_ptr = (uintptr_t)&xd->conn;
	crtc.count_connectors = 1;
	crtc.mode = *mode;
	crtc.mode_valid = 1;
	ret = xioctl(DRM_IOCTL_MODE_SETCRTC, &crtc);
	if (ret) {
		snprintf(text, size, "SETCRTC");
		goto err;
	}
	xd->front = 0;
	snprintf(text, size, "%u", xd->buf[0].pitch);
	return 0;
err:
	if (pipe < 0)
		xendrm_close();
	else
		xendrm_close_pipe(xd, true);
	return ret ? ret : -EIO;
}

/* Flips to the other buffer and waits for the flip's event. */
static int xendrm_flip_once(void)
{
	struct drm_mode_crtc_page_flip flip = {
		.crtc_id = xd->crtc, .fb_id = xd->buf[!xd->front].fb,
		.flags = DRM_MODE_PAGE_FLIP_EVENT,
	};
	struct pollfd pfd = { .fd = card.fd, .events = POLLIN };
	char ev[256];
	int ret;

	kmsg_mark();
	ret = xioctl(DRM_IOCTL_MODE_PAGE_FLIP, &flip);
	if (ret)
		return ret;
	if (poll(&pfd, 1, 5000) <= 0)
		return -ETIMEDOUT;
	if (read(card.fd, ev, sizeof(ev)) < (ssize_t)sizeof(struct drm_event) ||
	    ((struct drm_event *)ev)->type != DRM_EVENT_FLIP_COMPLETE)
		return -EIO;
	/*
	 * drm_xen_front also completes a flip whose frame-done event never
	 * came, after 3 s, and logs it: that flip was not answered.
	 */
	if (kmsg_count("Frame done timed-out") > 0)
		return -ETIME;
	xd->front = !xd->front;
	return 0;
}

static long long agent_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Draws @seed into the back buffer (made on first use) and flips to it. */
static int xendrm_flip(uint32_t seed)
{
	struct xbuf *b = &xd->buf[!xd->front];
	int ret;

	if (card.fd < 0)
		return -ENOENT;
	if (!b->fb) {
		ret = xendrm_buf(b, seed);
		if (ret)
			return ret;
	} else if (b->px) {
		xendrm_draw(b, seed);
	}
	return xendrm_flip_once();
}

/* Runs one command; returns 0 or -errno, with a text for the reply. */
static int run(char **argv, int argc, char *text, size_t size)
{
	const char *verb = argv[0];
	struct slot *s = NULL;
	int i, ret;

	if (!strcmp(verb, "ping")) {
		snprintf(text, size, "%d", domid);
		return 0;
	}
	if (!strcmp(verb, "status"))
		return status(text, size);
	if (!strcmp(verb, "poweroff")) {
		poweroff_requested = true;
		return 0;
	}
	if (!strcmp(verb, "xendrm-close")) {
		xendrm_close();
		return 0;
	}
	if (!strcmp(verb, "xendrm-show") && argc >= 4) {
		bool nodraw = false, picture = false;
		int pipe = -1;

		for (i = 5; i < argc; i++) {
			nodraw |= !strcmp(argv[i], "nodraw");
			picture |= !strcmp(argv[i], "picture");
			if (!strncmp(argv[i], "conn=", 5))
				pipe = atoi(argv[i] + 5);
		}
		return xendrm_show(strtoul(argv[1], NULL, 0),
				   strtoul(argv[2], NULL, 0),
				   strtoul(argv[3], NULL, 0),
				   argc > 4 ? atoi(argv[4]) : -1, pipe,
				   nodraw, picture, text, size);
	}
	/* The pipe the other xendrm verbs act on, one xendrm-show made. */
	if (!strcmp(verb, "xendrm-conn") && argc >= 2) {
		i = atoi(argv[1]);
		if (i < 0 || i >= MAX_PIPES || !pipes[i].buf[0].fb)
			return -ENOENT;
		xd = &pipes[i];
		return 0;
	}
	/* What the front buffer holds, read back through our mapping. */
	if (!strcmp(verb, "xendrm-sum")) {
		if (!xd->buf[xd->front].px)
			return -ENOENT;
		snprintf(text, size, "%016llx", (unsigned long long)
			 zc_picture_sum(xd->buf[xd->front].px, xd->w, xd->h,
					xd->buf[xd->front].pitch));
		return 0;
	}
	if (!strcmp(verb, "xendrm-fill") && argc >= 2) {
		if (!xd->buf[xd->front].px)
			return -ENOENT;
		xendrm_draw(&xd->buf[xd->front], strtoul(argv[1], NULL, 0));
		return 0;
	}
	/* The frame on screen into slot NAME (granted to Dom0), rows packed. */
	if (!strcmp(verb, "xendrm-dump") && argc >= 2) {
		struct xbuf *b = &xd->buf[xd->front];
		uint32_t y;

		s = find_slot(argv[1]);
		if (!s || !s->alloc || !b->px)
			return -ENOENT;
		if ((uint64_t)xd->w * 4 * xd->h > (uint64_t)s->pages * PAGE)
			return -ENOSPC;
		for (y = 0; y < xd->h; y++)
			memcpy(s->ga.map + (size_t)y * xd->w * 4,
			       b->px + (size_t)y * b->pitch, (size_t)xd->w * 4);
		snprintf(text, size, "%ux%u", xd->w, xd->h);
		return 0;
	}
	if (!strcmp(verb, "xendrm-flip") && argc >= 2)
		return xendrm_flip(strtoul(argv[1], NULL, 0));
	if (!strcmp(verb, "xendrm-flips") && argc >= 2) {
		int n = atoi(argv[1]), k;
		long long t0 = agent_ms();

		if (card.fd < 0 || !xd->buf[!xd->front].fb)
			return -ENOENT;
		for (k = 0; k < n; k++) {
			i = xendrm_flip_once();
			if (i)
				return i;
		}
		snprintf(text, size, "%lld", agent_ms() - t0);
		return 0;
	}
	if (!strcmp(verb, "reset")) {
		xendrm_close();
		/* Maps first: a grant we map from Dom0 may be our own. */
		for (i = 0; i < MAX_SLOTS; i++)
			if (slots[i].name[0] && !slots[i].alloc)
				free_slot(&slots[i], NULL, 0);
		for (i = 0; i < MAX_SLOTS; i++)
			if (slots[i].name[0])
				free_slot(&slots[i], NULL, 0);
		return 0;
	}
	if (argc < 2)
		return -EINVAL;

	if (!strcmp(verb, "settle") && argc >= 3) {
		int want = atoi(argv[1]), ms = atoi(argv[2]), got = 0, n;

		/* The kernel retries deferred ends from a timer, 10 a second. */
		for (;;) {
			n = kmsg_count("freeing g.e.");
			if (n < 0)
				return -EIO;
			got += n;
			if (got >= want || ms <= 0)
				break;
			usleep(50000);
			ms -= 50;
		}
		snprintf(text, size, "%d", got);
		return got >= want ? 0 : -ETIMEDOUT;
	}

	if (!strcmp(verb, "alloc") && argc >= 4) {
		uint32_t pages = strtoul(argv[2], NULL, 0);
		int to = atoi(argv[3]);
		bool ro = argc > 4 && !strcmp(argv[4], "ro");

		s = new_slot(argv[1]);
		if (!s || !pages)
			return -EINVAL;
		ret = zc_gntalloc_alloc(&s->ga, to, pages, !ro);
		if (ret) {
			s->name[0] = '\0';
			return ret;
		}
		s->alloc = true;
		s->pages = pages;
		ret = put_out_refs(s->ga.refs, pages);
		if (ret) {
			free_slot(s, NULL, 0);
			return ret;
		}
		snprintf(text, size, "%u", pages);
		return 0;
	}
	if (!strcmp(verb, "map") && argc >= 4) {
		int from = atoi(argv[2]);
		uint32_t pages = strtoul(argv[3], NULL, 0), *refs;
		bool ro = argc > 4 && !strcmp(argv[4], "ro");

		s = new_slot(argv[1]);
		if (!s || !pages)
			return -EINVAL;
		refs = calloc(pages, sizeof(*refs));
		if (!refs) {
			s->name[0] = '\0';
			return -ENOMEM;
		}
		ret = get_in_refs(refs, pages);
		if (!ret)
			ret = zc_gntdev_map(&s->gd, from, refs, pages, !ro);
		free(refs);
		if (ret) {
			s->name[0] = '\0';
			return ret;
		}
		s->pages = pages;
		return 0;
	}

	s = find_slot(argv[1]);
	if (!s)
		return -ENOENT;
	if ((!strcmp(verb, "fill") || !strcmp(verb, "check")) && argc >= 6) {
		uint32_t w = strtoul(argv[2], NULL, 0), h = strtoul(argv[3], NULL, 0);
		uint32_t pitch = strtoul(argv[4], NULL, 0);
		uint32_t seed = strtoul(argv[5], NULL, 0);

		if (verb[0] == 'f')
			return do_fill(s, w, h, pitch, seed);
		return do_check(s, w, h, pitch, seed, text, size);
	}
	if (!strcmp(verb, "unmap") && !s->alloc) {
		free_slot(s, text, size);
		return 0;
	}
	if (!strcmp(verb, "free") && s->alloc) {
		free_slot(s, text, size);
		return 0;
	}
	return -EINVAL;
}

/*
 * A guest's shutdown: reboot(2) runs the kernel's device shutdown, where
 * xenbus closes each frontend with its backend. Its lines about that are
 * info level, below the console's loglevel=5: raised, so Dom0 sees them.
 */
static void poweroff(void)
{
	say("powering off");
	if (klogctl(8 /* SYSLOG_ACTION_CONSOLE_LEVEL */, NULL, 7) < 0)
		say("cannot raise the console loglevel: %s", strerror(errno));
	sync();
	reboot(RB_POWER_OFF);
	say("reboot: %s", strerror(errno));
	poweroff_requested = false;
}

static int handle(const char *cmd, char *last_seq, size_t last_size)
{
	char buf[1024], *argv[16], *seq, *save = NULL, text[256] = "", path[128];
	char reply[512];
	int argc = 0, rc;

	snprintf(buf, sizeof(buf), "%s", cmd);
	seq = strtok_r(buf, " ", &save);
	if (!seq || !strcmp(seq, last_seq))
		return 0;	/* the watch's first event, or seen already */
	snprintf(last_seq, last_size, "%s", seq);
	while (argc < 16 && (argv[argc] = strtok_r(NULL, " ", &save)))
		argc++;

	rc = argc ? run(argv, argc, text, sizeof(text)) : -EINVAL;
	say("%s -> %d %s", cmd, rc, text);
	snprintf(reply, sizeof(reply), "%s %d %s", seq, rc, text);
	snprintf(path, sizeof(path), "%s/reply", base);
	rc = zc_xs_write(xs, path, reply);
	if (poweroff_requested)
		poweroff();
	return rc;
}

int main(void)
{
	char path[128], ev[256], last_seq[64] = "", pid[32], *v;
	int tries;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (tries = 0; !(xs = zc_xs_open()); tries++) {
		if (tries == 100) {
			say("cannot open XenStore: %s", strerror(errno));
			return 1;
		}
		usleep(100000);
	}

	v = zc_xs_read(xs, "domid", NULL);
	if (!v) {
		say("cannot read my domid: %s", strerror(errno));
		return 1;
	}
	domid = atoi(v);
	free(v);
	snprintf(base, sizeof(base), "/local/domain/%d/data/zc", domid);

	snprintf(path, sizeof(path), "%s/cmd", base);
	if (zc_xs_watch(xs, path, "cmd")) {
		say("cannot watch %s", path);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/ready", base);
	snprintf(pid, sizeof(pid), "%d", getpid());
	if (zc_xs_write(xs, path, pid)) {
		say("cannot write %s", path);
		return 1;
	}
	say("domain %d ready, commands at %s/cmd", domid, base);

	for (;;) {
		int ret = zc_xs_wait_event(xs, ev, sizeof(ev), -1);

		if (ret) {
			say("XenStore connection lost: %s", strerror(-ret));
			return 1;
		}
		snprintf(path, sizeof(path), "%s/cmd", base);
		v = zc_xs_read(xs, path, NULL);
		if (!v)
			continue;
		ret = handle(v, last_seq, sizeof(last_seq));
		if (ret)
			say("cannot write the reply: %s", strerror(-ret));
		free(v);
	}
}
