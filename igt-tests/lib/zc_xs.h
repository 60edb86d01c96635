/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal XenStore client that speaks the wire protocol itself
 * (xen/io/xs_wire.h) on the xenstored socket or /dev/xen/xenbus.
 *
 * Why not libxenstore: the DomU agent is a static binary, and Debian's
 * static libxenstore.a has no thread support, so xs_watch() and xs_read()
 * on one handle mix up replies and watch events. This client is single
 * threaded on purpose: while it waits for a reply it queues the watch
 * events that arrive in between, and zc_xs_wait_event() hands them out.
 * It needs nothing but libc, so the DomU initramfs needs no libraries.
 */
#ifndef ZC_XS_H
#define ZC_XS_H

#include <stddef.h>

struct zc_xs;

/* Connects to the local xenstored socket or /dev/xen/xenbus; NULL + errno. */
struct zc_xs *zc_xs_open(void);
void zc_xs_close(struct zc_xs *xs);

/*
 * Reads @path into a malloc'ed NUL-terminated string (value length in
 * @len if not NULL). NULL and errno (ENOENT, EACCES, ...) on failure.
 */
char *zc_xs_read(struct zc_xs *xs, const char *path, size_t *len);
/* 0 or -errno. */
int zc_xs_write(struct zc_xs *xs, const char *path, const char *value);
int zc_xs_rm(struct zc_xs *xs, const char *path);
int zc_xs_watch(struct zc_xs *xs, const char *path, const char *token);
/*
 * Removes a watch (same @path and @token). xenstored limits the watches
 * of a connection: a long-lived client drops those it no longer needs.
 */
int zc_xs_unwatch(struct zc_xs *xs, const char *path, const char *token);
/*
 * The children of @path: a malloc'ed buffer of @n NUL-terminated names,
 * one after the other. NULL and errno on failure.
 */
char *zc_xs_directory(struct zc_xs *xs, const char *path, unsigned int *n);
/*
 * The connection's fd, to poll() beside others: readable when a watch
 * event (or a late reply) arrives. Events already queued by a request do
 * not make it readable: drain zc_xs_wait_event(xs, .., 0) after requests.
 */
int zc_xs_fd(struct zc_xs *xs);
/*
 * Waits up to @ms (-1: forever) for a watch event; copies its path into
 * @path. 0, -ETIMEDOUT or -errno.
 */
int zc_xs_wait_event(struct zc_xs *xs, char *path, size_t size, int ms);

#endif /* ZC_XS_H */
