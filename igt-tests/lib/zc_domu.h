/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Driving the DomU agent (tools/domu-agent) from Dom0 tests.
 *
 * The testbed's Dom0 starts a PV DomU whose /init runs zc_domu_agent, and
 * writes the DomU's domid to /run/zc-domu once the agent answers. Agent and
 * tests talk through XenStore under /local/domain/<domid>/data/zc/:
 *
 *   ready       agent -> Dom0: the agent's pid, written once it listens
 *   in/<k>      Dom0 -> agent: refs for "map", up to 256 per node
 *   cmd         Dom0 -> agent: "<seq> <verb> <args...>"
 *   out/<k>     agent -> Dom0: refs from "alloc", up to 256 per node
 *   reply       agent -> Dom0: "<seq> <rc> <text>", rc 0 or -errno
 *
 * Chunks stay below oxenstored's quota-maxsize (2048 bytes per node a
 * guest writes). Verbs (NAME names a buffer slot of the agent):
 *
 *   ping                          text: the DomU's domid
 *   reset                         drops every slot (maps, then grants)
 *   alloc NAME PAGES DOMID [ro]   gntalloc: grants zeroed pages to DOMID,
 *                                 refs in out/; text: PAGES
 *   map NAME DOMID PAGES [ro]     gntdev: maps PAGES refs of DOMID from in/
 *   fill NAME W H PITCH SEED      writes zc_fill_pattern()'s XRGB8888 pattern
 *   check NAME W H PITCH SEED     compares with it; -EILSEQ + where if not
 *   unmap NAME                    gntdev: unmaps and closes
 *   free NAME                     gntalloc: munmap, DEALLOC_GREF, close;
 *                                 text "clean", or "deferred N" when the
 *                                 DomU kernel logged N grants it could not
 *                                 end because someone still maps them
 *   xendrm-show W H SEED [DEVID [nodraw|picture] [conn=N]]
 *                                 opens drm_xen_front's card of vdispl
 *                                 DEVID (default: the first card), shows
 *                                 a WxH dumb buffer with the pattern;
 *                                 nodraw: never CPU-maps the buffers
 *                                 (be-alloc on x86 PV); picture: both
 *                                 buffers get zc_picture.h's picture;
 *                                 conn=N: on the device's connector N
 *                                 (its own CRTC), leaving the others of
 *                                 that card as they are; the verbs below
 *                                 then act on connector N
 *   xendrm-conn N                 the verbs below act on connector N
 *                                 (one xendrm-show conn=N showed)
 *   xendrm-sum                    text: zc_picture_sum() of the buffer on
 *                                 screen, read back through the mapping
 *   xendrm-dump NAME              copies the buffer on screen into the
 *                                 alloc'ed slot NAME, rows W * 4 bytes
 *   xendrm-fill SEED              rewrites the buffer on screen
 *   xendrm-flip SEED              draws SEED into the other buffer (made
 *                                 on first use) and page-flips to it,
 *                                 waiting for the flip's event; -ETIME if
 *                                 drm_xen_front completed it on its own
 *                                 timeout (no frame-done event came)
 *   xendrm-flips N                N flips between the two buffers, each
 *                                 waited for; text: the milliseconds
 *   xendrm-close                  closes the card (the frontend destroys
 *                                 its buffers on the vdispl ring)
 *   settle N MS                   waits up to MS ms until the DomU kernel
 *                                 ended N deferred grants since the last
 *                                 free; text: how many it saw
 *   status                        text "slots N deferred D leaked L": the
 *                                 slots in use, and the grants the DomU
 *                                 kernel has not ended yet or gave up on
 *   poweroff                      after the reply, the DomU shuts down as
 *                                 a guest does (its devices are closed,
 *                                 xenbus frontends included), printing
 *                                 the kernel's info lines on its console
 */
#ifndef ZC_DOMU_H
#define ZC_DOMU_H

#include <stdint.h>

#include "zc_xs.h"

#define ZC_DOMU_FILE		"/run/zc-domu"
#define ZC_DOMU_REFS_PER_NODE	256

struct zc_domu {
	struct zc_xs *xs;
	int domid;
	char base[64];
	unsigned int seq;
};

/*
 * Connects to the running DomU's agent: -ENODEV when the testbed started
 * no DomU (tests skip), other -errno when it does not answer.
 */
int zc_domu_open(struct zc_domu *d);
void zc_domu_close(struct zc_domu *d);

/*
 * Sends a command and waits up to 20 s for its reply. Returns the agent's
 * rc (0 or -errno) or -ETIMEDOUT; the reply's text goes to @text.
 */
int zc_domu_cmd(struct zc_domu *d, char *text, size_t size,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * In a subtest: a command that must succeed (fails the subtest with the
 * command, its rc and the agent's text otherwise).
 */
#define zc_domu_ok(d, ...) do { char __t[256]; \
	int __r = zc_domu_cmd((d), __t, sizeof(__t), __VA_ARGS__); \
	zc_assert_f(__r == 0, "agent: %s -> %d (%s) %s", #__VA_ARGS__, __r, \
		    strerror(-__r), __t); } while (0)

/* A zc_at_exit() fixture: resets the agent's state and disconnects. */
void zc_domu_release(void *domu);

/* Refs for the next "map" (in/), refs of the last "alloc" (out/). */
int zc_domu_put_refs(struct zc_domu *d, const uint32_t *refs, uint32_t n);
int zc_domu_get_refs(struct zc_domu *d, uint32_t *refs, uint32_t n);

/* Whether domain @domid exists (xl list); for tests that destroy it. */
int zc_domu_exists(int domid);
/*
 * Creates the DomU again (after a test destroyed it) and waits up to 120 s
 * for its agent; records its domid for zc_domu_open(). Returns the
 * milliseconds it took or -errno.
 */
int zc_domu_recreate(void);

#endif /* ZC_DOMU_H */
