// SPDX-License-Identifier: GPL-2.0
/*
 * A minimal single-threaded XenStore client (see zc_xs.h).
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <xen/io/xs_wire.h>

#include "zc_xs.h"

struct zc_xs_event {
	struct zc_xs_event *next;
	char path[];
};

struct zc_xs {
	int fd;
	uint32_t req_id;
	struct zc_xs_event *head, **tail;
};

static const char *const zc_xs_sockets[] = {
	"/run/xenstored/socket",
	"/var/run/xenstored/socket",
};

struct zc_xs *zc_xs_open(void)
{
	struct zc_xs *xs = calloc(1, sizeof(*xs));
	unsigned int i;

	if (!xs)
		return NULL;
	xs->tail = &xs->head;
	xs->fd = -1;

	for (i = 0; i < sizeof(zc_xs_sockets) / sizeof(zc_xs_sockets[0]); i++) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			break;
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", zc_xs_sockets[i]);
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			xs->fd = fd;
			return xs;
		}
		close(fd);
	}

	/* A guest, or a Dom0 whose xenstored has no socket: the kernel's. */
	xs->fd = open("/dev/xen/xenbus", O_RDWR | O_CLOEXEC);
	if (xs->fd < 0) {
		int err = errno;

		free(xs);
		errno = err;
		return NULL;
	}
	return xs;
}

void zc_xs_close(struct zc_xs *xs)
{
	struct zc_xs_event *e;

	if (!xs)
		return;
	while ((e = xs->head)) {
		xs->head = e->next;
		free(e);
	}
	close(xs->fd);
	free(xs);
}

static long long zc_xs_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Reads exactly @len bytes, waiting until @deadline (ms, -1: forever). */
static int zc_xs_read_all(struct zc_xs *xs, void *buf, size_t len,
			  long long deadline)
{
	uint8_t *p = buf;

	while (len) {
		struct pollfd pfd = { .fd = xs->fd, .events = POLLIN };
		int tmo = -1;
		ssize_t n;

		if (deadline >= 0) {
			tmo = (int)(deadline - zc_xs_now_ms());
			if (tmo <= 0)
				return -ETIMEDOUT;
		}
		n = poll(&pfd, 1, tmo);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		n = read(xs->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= n;
	}
	return 0;
}

/*
 * Receives one message; its payload (NUL-terminated) is malloc'ed. Once
 * a header is in, the rest is read without a deadline: a message never
 * comes in halves for long.
 */
static int zc_xs_recv(struct zc_xs *xs, struct xsd_sockmsg *hdr, char **body,
		      long long deadline)
{
	int ret = zc_xs_read_all(xs, hdr, sizeof(*hdr), deadline);

	if (ret)
		return ret;
	if (hdr->len > XENSTORE_PAYLOAD_MAX)
		return -EPROTO;
	*body = malloc(hdr->len + 1);
	if (!*body)
		return -ENOMEM;
	ret = zc_xs_read_all(xs, *body, hdr->len, -1);
	if (ret) {
		free(*body);
		return ret;
	}
	(*body)[hdr->len] = '\0';
	return 0;
}

static void zc_xs_queue_event(struct zc_xs *xs, const char *body)
{
	size_t n = strlen(body);
	struct zc_xs_event *e = malloc(sizeof(*e) + n + 1);

	if (!e)
		return;
	memcpy(e->path, body, n + 1);
	e->next = NULL;
	*xs->tail = e;
	xs->tail = &e->next;
}

static int zc_xs_errno(const char *name)
{
	static const struct { const char *name; int err; } map[] = {
		{ "EINVAL", EINVAL }, { "EACCES", EACCES }, { "EEXIST", EEXIST },
		{ "EISDIR", EISDIR }, { "ENOENT", ENOENT }, { "ENOMEM", ENOMEM },
		{ "ENOSPC", ENOSPC }, { "EIO", EIO }, { "ENOTEMPTY", ENOTEMPTY },
		{ "ENOSYS", ENOSYS }, { "EROFS", EROFS }, { "EBUSY", EBUSY },
		{ "EAGAIN", EAGAIN }, { "EISCONN", EISCONN }, { "E2BIG", E2BIG },
		{ "EPERM", EPERM },
	};
	unsigned int i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(name, map[i].name))
			return map[i].err;
	return EIO;
}

/* One request/reply; the reply's payload goes to @reply (malloc'ed). */
static int zc_xs_request(struct zc_xs *xs, uint32_t type, const void *payload,
			 size_t len, char **reply, size_t *reply_len)
{
	struct xsd_sockmsg hdr = {
		.type = type, .req_id = ++xs->req_id, .len = (uint32_t)len,
	};
	uint8_t msg[sizeof(hdr) + XENSTORE_PAYLOAD_MAX];
	size_t off = 0, total = sizeof(hdr) + len;
	char *body;
	int ret;

	if (len > XENSTORE_PAYLOAD_MAX)
		return -E2BIG;
	memcpy(msg, &hdr, sizeof(hdr));
	memcpy(msg + sizeof(hdr), payload, len);
	while (off < total) {
		ssize_t n = write(xs->fd, msg + off, total - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		off += n;
	}

	for (;;) {
		struct xsd_sockmsg r;

		/* xenstored answers in a few ms; 30 s means it is gone. */
		ret = zc_xs_recv(xs, &r, &body, zc_xs_now_ms() + 30000);
		if (ret)
			return ret;
		if (r.type == XS_WATCH_EVENT) {
			zc_xs_queue_event(xs, body);
			free(body);
			continue;
		}
		if (r.req_id != hdr.req_id) {
			free(body);
			continue;
		}
		if (r.type == XS_ERROR) {
			ret = -zc_xs_errno(body);
			free(body);
			return ret;
		}
		if (reply) {
			*reply = body;
			if (reply_len)
				*reply_len = r.len;
		} else {
			free(body);
		}
		return 0;
	}
}

char *zc_xs_read(struct zc_xs *xs, const char *path, size_t *len)
{
	char *value;
	int ret = zc_xs_request(xs, XS_READ, path, strlen(path) + 1, &value, len);

	if (ret) {
		errno = -ret;
		return NULL;
	}
	return value;
}

int zc_xs_write(struct zc_xs *xs, const char *path, const char *value)
{
	size_t pl = strlen(path) + 1, vl = strlen(value);
	char buf[XENSTORE_PAYLOAD_MAX];

	if (pl + vl > sizeof(buf))
		return -E2BIG;
	memcpy(buf, path, pl);
	memcpy(buf + pl, value, vl);
	return zc_xs_request(xs, XS_WRITE, buf, pl + vl, NULL, NULL);
}

int zc_xs_rm(struct zc_xs *xs, const char *path)
{
	return zc_xs_request(xs, XS_RM, path, strlen(path) + 1, NULL, NULL);
}

char *zc_xs_directory(struct zc_xs *xs, const char *path, unsigned int *n)
{
	size_t len = 0, i;
	char *list;
	int ret = zc_xs_request(xs, XS_DIRECTORY, path, strlen(path) + 1,
				&list, &len);

	if (ret) {
		errno = -ret;
		return NULL;
	}
	*n = 0;
	for (i = 0; i < len; i++)
		if (!list[i])
			(*n)++;
	return list;
}

int zc_xs_fd(struct zc_xs *xs)
{
	return xs->fd;
}

static int zc_xs_watch_op(struct zc_xs *xs, uint32_t type, const char *path,
			  const char *token)
{
	size_t pl = strlen(path) + 1, tl = strlen(token) + 1;
	char buf[XENSTORE_PAYLOAD_MAX];

	if (pl + tl > sizeof(buf))
		return -E2BIG;
	memcpy(buf, path, pl);
	memcpy(buf + pl, token, tl);
	return zc_xs_request(xs, type, buf, pl + tl, NULL, NULL);
}

int zc_xs_watch(struct zc_xs *xs, const char *path, const char *token)
{
	return zc_xs_watch_op(xs, XS_WATCH, path, token);
}

int zc_xs_unwatch(struct zc_xs *xs, const char *path, const char *token)
{
	return zc_xs_watch_op(xs, XS_UNWATCH, path, token);
}

int zc_xs_wait_event(struct zc_xs *xs, char *path, size_t size, int ms)
{
	struct zc_xs_event *e;
	struct xsd_sockmsg r;
	long long deadline;
	char *body;
	int ret;

	/*
	 * No wait, nothing queued: nothing to read either (a deadline of
	 * now passes before the socket is polled), and no clock to read.
	 * A backend drains the queue so on every wakeup.
	 */
	if (!ms && !xs->head)
		return -ETIMEDOUT;
	deadline = ms < 0 ? -1 : zc_xs_now_ms() + ms;
	while (!xs->head) {
		ret = zc_xs_recv(xs, &r, &body, deadline);
		if (ret)
			return ret;
		/* Replies to nobody (a timed-out request) are dropped. */
		if (r.type == XS_WATCH_EVENT)
			zc_xs_queue_event(xs, body);
		free(body);
	}
	e = xs->head;
	xs->head = e->next;
	if (!xs->head)
		xs->tail = &xs->head;
	snprintf(path, size, "%s", e->path);
	free(e);
	return 0;
}
