/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fixtures the test binaries share: the driver's counter baseline every
 * subtest must return to, zc_at_exit() cleanups, vkms with a native
 * reference buffer, a frontend's granted buffer, module parameters that
 * are restored, and kernel log records since a mark. They assert and skip
 * through zc_igt, so only test binaries link them (not tools/).
 */
#ifndef ZC_FIXTURE_H
#define ZC_FIXTURE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include "zc_drm.h"
#include "zc_gnt.h"
#include "zc_igt.h"
#include "zc_xen.h"

/* Reads the counters into @base; skips the subtest if they are unreadable. */
void zc_baseline_start(struct zc_stats *base);
/*
 * zc_baseline_start() after waiting up to 3 s for deferred_refs to drain:
 * a grant an earlier failed subtest left mapped may still be ending.
 */
void zc_baseline_start_drained(struct zc_stats *base);
/*
 * Reads the counters into @base (failing the subtest if it cannot) and
 * opens the driver (skipping if it is absent); returns the fd.
 */
int zc_baseline_open(struct zc_stats *base);

/*
 * Fails the subtest, at the caller's line, with @why unless every counter
 * is back at @base within @ms.
 */
#define zc_baseline_check(base, ms, why) \
	zc_assert_f(zc_stats_wait_baseline(base, ms) == 0, why)
/* The usual end of a subtest: everything it made is closed by now. */
#define zc_baseline_finish(base, ms) zc_baseline_check(base, ms, \
	"driver counters not back to baseline after closing all")

/*
 * x86 PV (not PVH): CPU maps of a buffer are grant maps the driver counts
 * (pv_vmap_grants, pv_user_grants).
 */
bool zc_is_pv(void);

/*
 * Waits up to 20 s until task @tid (a thread of this process or a child)
 * sleeps inside this driver, as the kernel's wchan names it, or *@done
 * (if given) is set, and fails the subtest otherwise: a test releases a
 * buffer only once its waiter really waits, however slowly the waiter's
 * thread gets there.
 */
void zc_wait_in_driver(pid_t tid, atomic_int *done);

/* zc_at_exit() callbacks. */
/* Closes the fd *@fdp (an int *) if it is open and marks it closed. */
void zc_close_cleanup(void *fdp);
/* zc_gntalloc_free() of @ga (a struct zc_gntalloc *). */
void zc_gntalloc_cleanup(void *ga);
/* zc_kms_fini() of @kms (a struct zc_kms *). */
void zc_kms_cleanup(void *kms);
/* zc_domu_recreate() for the tests after one that destroyed the DomU. */
void zc_domu_recreate_cleanup(void *unused);

/*
 * vkms driving a @w x @h mode for the rest of the subtest (finished by
 * zc_at_exit, so @k must outlive the subtest: static or heap); skips the
 * subtest if there is no vkms.
 */
void zc_kms_get(struct zc_kms *k, uint32_t w, uint32_t h);
/*
 * A native vkms dumb buffer of @w x @h XRGB8888 in @d, mapped: the
 * reference to compare CRCs with. Returns the mapping.
 */
uint32_t *zc_kms_native(struct zc_kms *k, uint32_t w, uint32_t h,
			struct zc_dumb *d);
/*
 * The CRC of native buffer @d (mapped at @px, the size of the mode) filled
 * with pattern @seed and shown.
 */
uint32_t zc_kms_native_crc(struct zc_kms *k, struct zc_dumb *d, uint32_t *px,
			   uint32_t seed);

/*
 * Module parameters a subtest changes: zc_param_save() reads the value of
 * @path and returns it (-1 if unreadable, and then nothing is restored);
 * the value is written back when the subtest ends, and by
 * zc_params_restore() at any time before.
 */
long zc_param_save(const char *path);
void zc_params_restore(void);

/*
 * Drops CAP_SYS_ADMIN from every capability set of the calling process
 * (for good, for a forked child). 0 or -errno.
 */
int zc_drop_sys_admin(void);

/*
 * The driver's debug lines (drm.debug's DRIVER bit, KERN_DEBUG), which say
 * why a call failed, on for the rest of the subtest.
 */
void zc_drm_debug_on(void);

/* Kernel log records from a mark on (/dev/kmsg). */
void zc_kmsg_mark(void);
/*
 * Reads on from the mark to the first record containing @text and
 * returns its level, -1 if none.
 */
int zc_kmsg_find(const char *text);
/*
 * Reads all records since the mark (or the last read) and returns the
 * worst (lowest) level of the kernel's own ones, 7 if none; the timer
 * noise of QEMU TCG ("vblank timer overrun", "hrtimer: interrupt took")
 * does not count. Each record that makes it worse is logged.
 */
int zc_kmsg_worst_level(void);

/*
 * A frontend's buffer: pages granted with gntalloc to domid 0, the
 * driver's DUMB_FROM_REFS buffer on them and its PRIME export.
 */
struct zc_gbuf {
	struct zc_gntalloc ga;
	int fd;			/* a xen_drm_zcopy file of its own */
	struct drm_xen_zcopy_dumb_from_refs req;
	int dmabuf;
	uint64_t offset;	/* MODE_MAP_DUMB offset, for tests that set it */
};

/*
 * A @w x @h XRGB8888 buffer on granted pages that hold pattern @seed;
 * zc_gbuf_put() when the subtest ends (a fixture on @b, so @b must
 * outlive the subtest: static or heap, one per zc_gbuf_get()), or before.
 */
void zc_gbuf_get(struct zc_gbuf *b, uint32_t w, uint32_t h, uint32_t seed);
void zc_gbuf_put(struct zc_gbuf *b);

/*
 * Whether the driver's debugfs file @file has a line containing @text;
 * fails the subtest if the file cannot be read.
 */
bool zc_debugfs_has(const char *file, const char *text);

#endif /* ZC_FIXTURE_H */
