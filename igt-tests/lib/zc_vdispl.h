/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The backend side of Xen's para-virtual display protocol (displif, in
 * <xen/io/displif.h>) as far as it is independent of what the backend
 * does with the buffers: the XenBus state machine of one vdispl device,
 * per connector the request ring, the event ring and their event
 * channels, and the page directories of DBUF_CREATE and GET_EDID.
 * tools/displ-be and the tests' in-process backend build on it.
 *
 * Single threaded: the owner calls zc_vdispl_step() when XenStore changed
 * (a watch on the device's two state nodes, or a timer) and
 * zc_vdispl_kick() when the device's event channel fd is readable; the
 * requests reach ops->request() from zc_vdispl_kick().
 *
 * A device whose backend state is already Connected (a backend that exited
 * or was killed left it so) is resumed: the rings are mapped again and the
 * unanswered requests answered; buffers made before are unknown to us.
 * This is how a backend restarts without the frontend tearing its device
 * down, which the 6.1 drm_xen_front does not survive cleanly.
 */
#ifndef ZC_VDISPL_H
#define ZC_VDISPL_H

#include <stdint.h>

/* xen/io/ring.h's barriers, which user space defines: full ones. */
#ifndef mb
#define mb()	__sync_synchronize()
#define rmb()	__sync_synchronize()
#define wmb()	__sync_synchronize()
#endif
#include <xen/grant_table.h>
#include <xen/io/displif.h>
#include <xen/io/xenbus.h>

#include "zc_gnt.h"
#include "zc_xs.h"

#define ZC_VDISPL_MAX_CONN	4
#define ZC_VDISPL_PAGE		4096

struct zc_vdispl;

struct zc_vdispl_conn {
	struct zc_vdispl *dev;
	int index;
	uint32_t width, height;		/* its "resolution" */
	uint32_t req_port, evt_port;	/* local ports */
	struct zc_gntdev req_map, evt_map;
	xen_displif_back_ring_t ring;
	uint16_t evt_id;
	void *priv;			/* the owner's */
};

struct zc_vdispl_ops {
	/*
	 * A request on connector @c's ring: returns the status to answer
	 * (0 or -errno); may fill the operation's part of @resp.
	 */
	int (*request)(struct zc_vdispl_conn *c, const struct xendispl_req *req,
		       struct xendispl_resp *resp);
	/*
	 * The rings go (the frontend closes, the device goes, or the owner
	 * disconnects): release every buffer and display of the device.
	 */
	void (*disconnect)(struct zc_vdispl *d);
};

struct zc_vdispl {
	struct zc_xs *xs;
	int domid, devid;
	char bpath[96], fpath[96];
	int state;			/* the state we last wrote */
	int be_alloc;
	int evtchn;			/* /dev/xen/evtchn while connected */
	int nconn;
	struct zc_vdispl_conn conn[ZC_VDISPL_MAX_CONN];
	const struct zc_vdispl_ops *ops;
	void *priv;
	char error[160];		/* why the last step or kick failed */
};

void zc_vdispl_init(struct zc_vdispl *d, struct zc_xs *xs, int domid,
		    int devid, const struct zc_vdispl_ops *ops, void *priv);
/* Paths of the device's state nodes, to watch. */
void zc_vdispl_state_paths(const struct zc_vdispl *d, char *bstate,
			   char *fstate, size_t size);
/*
 * Runs the state machine on the current XenStore states. Returns our
 * state; -ENODEV once the toolstack removed the device.
 */
int zc_vdispl_step(struct zc_vdispl *d);
/* The event channel fd is readable: answers the requests. 0 or -errno. */
int zc_vdispl_kick(struct zc_vdispl *d);
/* Queues a page-flip completion event on @c's event ring. */
void zc_vdispl_send_flip(struct zc_vdispl_conn *c, uint64_t fb_cookie);
/* Unmaps the rings, unbinds the ports, ops->disconnect(); no state change. */
void zc_vdispl_disconnect(struct zc_vdispl *d);

/* Grant refs of a buffer from its page directory @dir: 0 or -errno. */
int zc_vdispl_dir_read(int domid, uint32_t dir, uint32_t n, uint32_t *refs);
/* Writes @n refs into the frontend's directory (be-alloc). 0 or -errno. */
int zc_vdispl_dir_write(int domid, uint32_t dir, uint32_t n,
			const uint32_t *refs);
/* Copies @len bytes into the buffer behind directory @dir (GET_EDID). */
int zc_vdispl_buf_write(int domid, uint32_t dir, uint32_t buffer_sz,
			const void *data, uint32_t len);

/* A 128-byte EDID 1.3 block whose preferred mode is @w x @h at 60 Hz. */
void zc_vdispl_edid(uint8_t edid[XENDISPL_EDID_BLOCK_SIZE], uint32_t w,
		    uint32_t h);

/*
 * The vdispl device of @domid with one connector of @w x @h and be-alloc
 * @be_alloc: one that exists already (devices stay attached, see
 * zcopy_domu_vdispl.c), else a new one from xl vdispl-attach. A backend
 * must be running for the attach to succeed. Returns the devid or -errno.
 */
int zc_vdispl_find(struct zc_xs *xs, int domid, int be_alloc, uint32_t w,
		   uint32_t h);
int zc_vdispl_attach(int domid, int be_alloc, uint32_t w, uint32_t h);

/* The same for a device of @n connectors, connector k of res[k]. */
struct zc_vdispl_res {
	uint32_t w, h;
};

int zc_vdispl_find_conns(struct zc_xs *xs, int domid, int be_alloc,
			 const struct zc_vdispl_res *res, int n);
int zc_vdispl_attach_conns(int domid, int be_alloc,
			   const struct zc_vdispl_res *res, int n);
/* The devid libxl gives the next vdispl device of @domid. */
int zc_vdispl_next_devid(struct zc_xs *xs, int domid);

#endif /* ZC_VDISPL_H */
