// SPDX-License-Identifier: GPL-2.0
/*
 * Driving the DomU agent from Dom0 tests (see zc_domu.h).
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zc_domu.h"

#define ZC_DOMU_REPLY_MS	20000

int zc_domu_open(struct zc_domu *d)
{
	char text[64], path[128];
	FILE *f;
	int ret;

	memset(d, 0, sizeof(*d));
	d->domid = -1;
	f = fopen(ZC_DOMU_FILE, "r");
	if (!f)
		return -ENODEV;
	ret = fscanf(f, "%d", &d->domid);
	fclose(f);
	if (ret != 1 || d->domid <= 0)
		return -ENODEV;

	snprintf(d->base, sizeof(d->base), "/local/domain/%d/data/zc", d->domid);
	d->xs = zc_xs_open();
	if (!d->xs)
		return -errno;
	snprintf(path, sizeof(path), "%s/reply", d->base);
	ret = zc_xs_watch(d->xs, path, "reply");
	if (ret) {
		zc_domu_close(d);
		return ret;
	}

	ret = zc_domu_cmd(d, text, sizeof(text), "ping");
	if (ret) {
		zc_domu_close(d);
		return ret;
	}
	if (atoi(text) != d->domid) {
		zc_domu_close(d);
		return -EPROTO;
	}
	return 0;
}

void zc_domu_close(struct zc_domu *d)
{
	zc_xs_close(d->xs);
	d->xs = NULL;
}

void zc_domu_release(void *domu)
{
	struct zc_domu *d = domu;

	if (d->xs) {
		zc_domu_cmd(d, NULL, 0, "reset");
		zc_domu_close(d);
	}
}

static long long zc_domu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int zc_domu_cmd(struct zc_domu *d, char *text, size_t size,
		const char *fmt, ...)
{
	char cmd[1024], seq[32], path[128], ev[256];
	long long deadline = zc_domu_now_ms() + ZC_DOMU_REPLY_MS;
	size_t n;
	va_list ap;
	int ret;

	if (text && size)
		text[0] = '\0';
	/*
	 * Unique across the test processes that share the agent, even if a
	 * pid comes back: the agent ignores a command with its last seq.
	 */
	if (!d->seq) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		d->seq = (unsigned int)(ts.tv_nsec / 1000) * 1000;
	}
	snprintf(seq, sizeof(seq), "%d.%u", getpid(), ++d->seq);
	n = snprintf(cmd, sizeof(cmd), "%s ", seq);
	va_start(ap, fmt);
	vsnprintf(cmd + n, sizeof(cmd) - n, fmt, ap);
	va_end(ap);

	snprintf(path, sizeof(path), "%s/cmd", d->base);
	ret = zc_xs_write(d->xs, path, cmd);
	if (ret)
		return ret;

	snprintf(path, sizeof(path), "%s/reply", d->base);
	for (;;) {
		char *reply = zc_xs_read(d->xs, path, NULL);

		if (reply) {
			size_t sl = strlen(seq);

			if (!strncmp(reply, seq, sl) && reply[sl] == ' ') {
				char *rest;
				long rc = strtol(reply + sl + 1, &rest, 10);

				if (*rest == ' ')
					rest++;
				if (text && size)
					snprintf(text, size, "%s", rest);
				free(reply);
				return (int)rc;
			}
			free(reply);
		}
		/* Every write of the reply node is an event; poll as a fallback. */
		ret = zc_xs_wait_event(d->xs, ev, sizeof(ev), 200);
		if (ret && ret != -ETIMEDOUT)
			return ret;
		if (zc_domu_now_ms() > deadline)
			return -ETIMEDOUT;
	}
}

int zc_domu_put_refs(struct zc_domu *d, const uint32_t *refs, uint32_t n)
{
	char path[128], buf[ZC_DOMU_REFS_PER_NODE * 11 + 1];
	uint32_t i, k;
	int ret;

	snprintf(path, sizeof(path), "%s/in", d->base);
	zc_xs_rm(d->xs, path);
	for (k = 0; k * ZC_DOMU_REFS_PER_NODE < n; k++) {
		size_t off = 0;

		buf[0] = '\0';
		for (i = k * ZC_DOMU_REFS_PER_NODE;
		     i < n && i < (k + 1) * ZC_DOMU_REFS_PER_NODE; i++)
			off += snprintf(buf + off, sizeof(buf) - off, "%s%u",
					off ? " " : "", refs[i]);
		snprintf(path, sizeof(path), "%s/in/%u", d->base, k);
		ret = zc_xs_write(d->xs, path, buf);
		if (ret)
			return ret;
	}
	return 0;
}

int zc_domu_get_refs(struct zc_domu *d, uint32_t *refs, uint32_t n)
{
	uint32_t got = 0, k;
	char path[128];

	for (k = 0; got < n; k++) {
		char *val, *p, *end;

		snprintf(path, sizeof(path), "%s/out/%u", d->base, k);
		val = zc_xs_read(d->xs, path, NULL);
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

int zc_domu_exists(int domid)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "xl list %d >/dev/null 2>&1", domid);
	return system(cmd) == 0;
}

int zc_domu_recreate(void)
{
	long long t0 = zc_domu_now_ms();
	struct zc_xs *xs;
	char path[128], *v;
	FILE *f;
	int id = -1;

	unlink(ZC_DOMU_FILE);
	/* One the toolstack has not reaped yet would hold the name. */
	if (!system("xl domid zc-domu >/dev/null 2>&1"))
		system("xl destroy zc-domu >/dev/null 2>&1");
	/*
	 * xl create leaves its domain monitor running: none of the test's
	 * standard streams (the runner's pipes) may reach it.
	 */
	if (system("xl create -q /opt/zcopy/domu/domu.cfg </dev/null >/tmp/xl-recreate.log 2>&1"))
		return -EIO;
	f = popen("xl domid zc-domu", "r");
	if (!f || fscanf(f, "%d", &id) != 1)
		id = -1;
	if (f)
		pclose(f);
	if (id <= 0)
		return -ESRCH;
	xs = zc_xs_open();
	if (!xs)
		return -errno;
	snprintf(path, sizeof(path), "/local/domain/%d/data/zc/ready", id);
	/* Its boot takes 50 s and more under TCG on a loaded host. */
	while (!(v = zc_xs_read(xs, path, NULL)) && zc_domu_now_ms() - t0 < 120000)
		usleep(100000);
	zc_xs_close(xs);
	if (!v)
		return -ETIMEDOUT;
	free(v);
	f = fopen(ZC_DOMU_FILE, "w");
	if (!f)
		return -errno;
	fprintf(f, "%d\n", id);
	fclose(f);
	return (int)(zc_domu_now_ms() - t0);
}
