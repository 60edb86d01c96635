// SPDX-License-Identifier: GPL-2.0
/*
 * Shared subtest fixtures (see zc_fixture.h).
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zc_domu.h"
#include "zc_fixture.h"

void zc_baseline_start(struct zc_stats *base)
{
	zc_require(zc_stats_read(base) == 0);
}

void zc_baseline_start_drained(struct zc_stats *base)
{
	zc_stat_wait("deferred_refs", 0, 3000);
	zc_baseline_start(base);
}

int zc_baseline_open(struct zc_stats *base)
{
	int fd;

	zc_assert_ok(zc_stats_read(base));
	fd = zc_xen_open();
	zc_require(fd >= 0);
	return fd;
}

bool zc_is_pv(void)
{
	char type[16] = "";
	FILE *f = fopen("/sys/hypervisor/guest_type", "r");

	if (f) {
		if (!fgets(type, sizeof(type), f))
			type[0] = '\0';
		fclose(f);
	}
	return !strncmp(type, "PV", 2) && type[2] != 'H';
}

void zc_close_cleanup(void *fdp)
{
	int *fd = fdp;

	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void zc_gntalloc_cleanup(void *ga)
{
	zc_gntalloc_free(ga);
}

void zc_kms_cleanup(void *kms)
{
	zc_kms_fini(kms);
}

void zc_kms_get(struct zc_kms *k, uint32_t w, uint32_t h)
{
	int ret = zc_kms_init(k, w, h);

	zc_require(ret != -ENODEV);
	zc_assert_ok(ret);
	zc_at_exit(zc_kms_cleanup, k);
}

uint32_t *zc_kms_native(struct zc_kms *k, uint32_t w, uint32_t h,
			struct zc_dumb *d)
{
	uint32_t *px;

	zc_assert_ok(zc_dumb_create(k->fd, w, h, 32, d));
	px = zc_dumb_map(k->fd, d->handle, d->size);
	zc_assert(px);
	return px;
}

uint32_t zc_kms_native_crc(struct zc_kms *k, struct zc_dumb *d, uint32_t *px,
			   uint32_t seed)
{
	uint32_t crc;

	zc_fill_pattern(px, k->mode.hdisplay, k->mode.vdisplay, d->pitch, seed);
	zc_assert_ok(zc_kms_show(k, d->handle, d->pitch));
	zc_assert_ok(zc_crc_current(k, &crc));
	return crc;
}

/* The parameters saved in this subtest (each runs in a child of its own). */
static struct zc_param {
	char path[128];
	long value;
} zc_params[16];
static unsigned int zc_nr_params;

static void zc_param_restore(void *data)
{
	struct zc_param *p = data;

	zc_write_long(p->path, p->value);
}

long zc_param_save(const char *path)
{
	long v = zc_read_long(path);
	struct zc_param *p;

	if (v < 0)
		return v;
	zc_assert(zc_nr_params < sizeof(zc_params) / sizeof(zc_params[0]));
	p = &zc_params[zc_nr_params++];
	snprintf(p->path, sizeof(p->path), "%s", path);
	p->value = v;
	zc_at_exit(zc_param_restore, p);
	return v;
}

void zc_params_restore(void)
{
	unsigned int i;

	/* Newest first: a parameter saved twice ends at its first value. */
	for (i = zc_nr_params; i-- > 0;)
		zc_param_restore(&zc_params[i]);
}

int zc_drop_sys_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
	data[CAP_SYS_ADMIN / 32].permitted &= ~(1u << (CAP_SYS_ADMIN % 32));
	data[CAP_SYS_ADMIN / 32].inheritable &= ~(1u << (CAP_SYS_ADMIN % 32));
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

#define ZC_DRM_DEBUG		"/sys/module/drm/parameters/debug"
#define ZC_DRM_UT_DRIVER	0x02

void zc_drm_debug_on(void)
{
	long v = zc_param_save(ZC_DRM_DEBUG);

	zc_require(v >= 0);
	zc_assert_ok(zc_write_long(ZC_DRM_DEBUG, v | ZC_DRM_UT_DRIVER));
}

static int zc_kmsg_fd = -1;

void zc_kmsg_mark(void)
{
	if (zc_kmsg_fd < 0)
		zc_kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	zc_assert(zc_kmsg_fd >= 0);
	lseek(zc_kmsg_fd, 0, SEEK_END);
}

/*
 * The next record into @rec, NUL-terminated, false at the end. Records
 * are "prio,seq,usec,flags;text"; EPIPE means some were overwritten.
 */
static bool zc_kmsg_next(char *rec, size_t size)
{
	ssize_t n;

	for (;;) {
		n = read(zc_kmsg_fd, rec, size - 1);
		if (n < 0 && errno == EPIPE)
			continue;
		if (n <= 0)
			return false;
		rec[n] = '\0';
		return true;
	}
}

int zc_kmsg_find(const char *text)
{
	char rec[8192];

	while (zc_kmsg_next(rec, sizeof(rec)))
		if (strstr(rec, text))
			return atoi(rec) & 7;
	return -1;
}

int zc_kmsg_worst_level(void)
{
	char rec[8192];
	int worst = 7;

	while (zc_kmsg_next(rec, sizeof(rec))) {
		/* Kernel records only (facility 0), not ours from userspace. */
		if (atoi(rec) < 8 && atoi(rec) < worst &&
		    !strstr(rec, "vblank timer overrun") &&
		    !strstr(rec, "hrtimer: interrupt took")) {
			worst = atoi(rec);
			zc_info("level %d: %s", worst, strchr(rec, ';') + 1);
		}
	}
	return worst;
}

void zc_gbuf_put(struct zc_gbuf *b)
{
	if (b->dmabuf >= 0)
		close(b->dmabuf);
	if (b->fd >= 0)
		close(b->fd);
	zc_gntalloc_free(&b->ga);
	b->dmabuf = -1;
	b->fd = -1;
}

static void zc_gbuf_cleanup(void *data)
{
	zc_gbuf_put(data);
}

void zc_gbuf_get(struct zc_gbuf *b, uint32_t w, uint32_t h, uint32_t seed)
{
	uint32_t pages = (w * 4 * h + 4095) / 4096;	/* 4 KiB pages */

	b->fd = -1;
	b->dmabuf = -1;
	b->ga.fd = -1;
	zc_at_exit(zc_gbuf_cleanup, b);

	zc_assert_ok(zc_gntalloc_alloc(&b->ga, 0, pages, true));
	zc_fill_pattern(b->ga.map, w, h, w * 4, seed);

	b->fd = zc_xen_open();
	zc_assert(b->fd >= 0);
	zc_assert_ok(zc_from_refs(b->fd, b->ga.refs, pages, 0, w, h, 32,
				  &b->req));
	zc_assert_ok(zc_prime_export(b->fd, b->req.dumb.handle, &b->dmabuf));
}

void zc_domu_recreate_cleanup(void *unused)
{
	FILE *f = fopen(ZC_DOMU_FILE, "r");
	int ret, id = -1;

	(void)unused;
	if (f) {
		if (fscanf(f, "%d", &id) != 1)
			id = -1;
		fclose(f);
	}
	/* A subtest that failed before its DomU went, or made a new one. */
	if (id > 0 && zc_domu_exists(id))
		return;
	ret = zc_domu_recreate();
	if (ret < 0)
		zc_info("the DomU is not back (%s): later cross-domain tests will skip\n",
			strerror(-ret));
	else
		zc_info("DomU up again after %d ms\n", ret);
}

void zc_wait_in_driver(pid_t tid, atomic_int *done)
{
	char path[64], wchan[128] = "";
	int i;

	snprintf(path, sizeof(path), "/proc/%d/wchan", tid);
	for (i = 0; i < 2000 && !(done && atomic_load(done)); i++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, wchan, sizeof(wchan) - 1) : -1;

		if (fd >= 0)
			close(fd);
		wchan[n > 0 ? n : 0] = '\0';
		if (!strncmp(wchan, "xen_zcopy", 9))
			return;
		usleep(10000);
	}
	zc_assert_f(done && atomic_load(done), "task %d never slept in the driver (wchan '%s')",
		    tid, wchan);
}

bool zc_debugfs_has(const char *file, const char *text)
{
	char path[128], line[256];
	bool found = false;
	FILE *f;

	zc_assert_ok(zc_debugfs_path(file, path, sizeof(path)));
	f = fopen(path, "r");
	zc_assert(f);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, text) != NULL;
	fclose(f);
	return found;
}
