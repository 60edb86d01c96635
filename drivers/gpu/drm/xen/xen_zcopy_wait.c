// SPDX-License-Identifier: GPL-2.0
/*
 * Xen zero-copy helper DRM driver: waiting for a buffer's end
 * (DUMB_WAIT_FREE, WAIT_FREE2, WAIT_FD).
 *
 * A backend must not answer the frontend's DBUF_DESTROY before the grants of
 * the buffer are unmapped, or the frontend frees pages the display may still
 * scan out. Every DUMB_FROM_REFS buffer gets a wait handle that completes
 * once the GEM object is freed and its grants are unmapped.
 *
 * Handles are allocated cyclically, so a stale handle finds nothing (-ENOENT)
 * instead of a newer buffer. The v1 call sees a handle only from the file
 * that created the buffer, and only while the buffer lives. The v2 calls
 * also learn of a buffer that is already gone: a freed handle stays
 * published, among the most recent XEN_ZCOPY_FREED_REMEMBERED ones, until
 * a v2 call reports it. When the creating file is closed its handles stay
 * too, as orphans any privileged backend may wait on: a backend restarted
 * after a crash can still answer its frontends' DBUF_DESTROY safely.
 */

#include <linux/anon_inodes.h>
#include <linux/capability.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <drm/drm_file.h>

#include "xen_zcopy_drm.h"
#include "xen_zcopy_drv.h"

/* Freed buffers whose end the v2 calls can still report. */
#define XEN_ZCOPY_FREED_REMEMBERED	1024

void xen_zcopy_wait_init(struct xen_zcopy_device *zdev)
{
	mutex_init(&zdev->wait_lock);
	idr_init_base(&zdev->wait_idr, 1);
	INIT_LIST_HEAD(&zdev->freed_waits);
}

static void xen_zcopy_wait_release(struct kref *kref)
{
	kfree(container_of(kref, struct xen_zcopy_wait, refcount));
}

static void xen_zcopy_wait_put(struct xen_zcopy_wait *wait)
{
	kref_put(&wait->refcount, xen_zcopy_wait_release);
}

/* v1 sees a handle while its buffer lives and its file is open. */
static void xen_zcopy_wait_hide_v1(struct xen_zcopy_wait *wait)
{
	if (!wait->v1_visible)
		return;
	wait->v1_visible = false;
	atomic_dec(&xen_zcopy_stats.wait_handles);
}

/* Takes @wait out of the idr, dropping the idr's reference. Under wait_lock. */
static void xen_zcopy_wait_unpublish(struct xen_zcopy_device *zdev,
				     struct xen_zcopy_wait *wait)
{
	lockdep_assert_held(&zdev->wait_lock);
	if (!wait->published)
		return;
	idr_remove(&zdev->wait_idr, wait->id);
	wait->published = false;
	xen_zcopy_wait_hide_v1(wait);
	if (!list_empty(&wait->freed_node)) {
		list_del_init(&wait->freed_node);
		zdev->nr_freed_waits--;
	}
	xen_zcopy_wait_put(wait);
}

void xen_zcopy_wait_fini(struct xen_zcopy_device *zdev)
{
	struct xen_zcopy_wait *wait, *tmp;

	/* Every buffer is gone before the device: only freed handles remain. */
	mutex_lock(&zdev->wait_lock);
	list_for_each_entry_safe(wait, tmp, &zdev->freed_waits, freed_node)
		xen_zcopy_wait_unpublish(zdev, wait);
	mutex_unlock(&zdev->wait_lock);
	WARN_ON(!idr_is_empty(&zdev->wait_idr));
	idr_destroy(&zdev->wait_idr);
	mutex_destroy(&zdev->wait_lock);
}

struct xen_zcopy_wait *xen_zcopy_wait_create(struct xen_zcopy_device *zdev,
					     struct drm_file *file)
{
	struct xen_zcopy_wait *wait;
	int id;

	wait = kzalloc(sizeof(*wait), GFP_KERNEL);
	if (!wait)
		return ERR_PTR(-ENOMEM);

	/* One reference for the buffer, one for the idr. */
	kref_init(&wait->refcount);
	kref_get(&wait->refcount);
	init_completion(&wait->freed);
	init_waitqueue_head(&wait->wq);
	INIT_LIST_HEAD(&wait->freed_node);
	wait->owner = file;

	mutex_lock(&zdev->wait_lock);
	id = idr_alloc_cyclic(&zdev->wait_idr, wait, 1, INT_MAX, GFP_KERNEL);
	if (id >= 0) {
		wait->id = id;
		wait->published = true;
		wait->v1_visible = true;
		atomic_inc(&xen_zcopy_stats.wait_handles);
	}
	mutex_unlock(&zdev->wait_lock);
	if (id < 0) {
		kfree(wait);
		return ERR_PTR(id);
	}
	return wait;
}

/*
 * The buffer is freed: wake every waiter, remember the end for the v2
 * calls (forgetting the oldest remembered one beyond the limit), and drop
 * the buffer's reference.
 */
void xen_zcopy_wait_signal(struct xen_zcopy_device *zdev,
			   struct xen_zcopy_wait *wait)
{
	struct xen_zcopy_wait *oldest;

	mutex_lock(&zdev->wait_lock);
	complete_all(&wait->freed);
	xen_zcopy_wait_hide_v1(wait);
	if (wait->published) {
		list_add_tail(&wait->freed_node, &zdev->freed_waits);
		if (++zdev->nr_freed_waits > XEN_ZCOPY_FREED_REMEMBERED) {
			oldest = list_first_entry(&zdev->freed_waits,
						  struct xen_zcopy_wait,
						  freed_node);
			xen_zcopy_wait_unpublish(zdev, oldest);
		}
	}
	mutex_unlock(&zdev->wait_lock);

	wake_up_all(&wait->wq);
	xen_zcopy_wait_put(wait);
}

/*
 * The file's buffers may outlive it (exported, or scanned out): their
 * handles become orphans that any privileged backend may wait on.
 */
void xen_zcopy_wait_file_close(struct xen_zcopy_device *zdev,
			       struct drm_file *file)
{
	struct xen_zcopy_wait *wait;
	int id;

	mutex_lock(&zdev->wait_lock);
	idr_for_each_entry(&zdev->wait_idr, wait, id) {
		if (wait->owner != file)
			continue;
		wait->owner = NULL;
		xen_zcopy_wait_hide_v1(wait);
	}
	mutex_unlock(&zdev->wait_lock);
}

/*
 * v1 callers see their file's live buffers; v2 callers also freed ones,
 * and orphans if they are privileged.
 */
static bool xen_zcopy_wait_usable(const struct xen_zcopy_wait *wait,
				  const struct drm_file *file, bool v2)
{
	if (!v2)
		return wait->owner == file && wait->v1_visible;
	return wait->owner == file ||
	       (!wait->owner && capable(CAP_SYS_ADMIN));
}

/*
 * The handle @id as a v1 (@v2 false) or v2 caller on @file may use it,
 * with a reference; NULL if there is none.
 */
static struct xen_zcopy_wait *xen_zcopy_wait_get(struct xen_zcopy_device *zdev,
						 struct drm_file *file, u32 id,
						 bool v2)
{
	struct xen_zcopy_wait *wait;

	mutex_lock(&zdev->wait_lock);
	wait = idr_find(&zdev->wait_idr, id);
	if (wait && !xen_zcopy_wait_usable(wait, file, v2))
		wait = NULL;
	if (wait)
		kref_get(&wait->refcount);
	mutex_unlock(&zdev->wait_lock);

	if (!wait)
		drm_dbg(&zdev->drm, "%s[%d]: no buffer with wait handle %u\n",
			current->comm, task_pid_nr(current), id);
	return wait;
}

/* A v2 caller learnt that the buffer is gone: forget the handle. */
static void xen_zcopy_wait_reported(struct xen_zcopy_device *zdev,
				    struct xen_zcopy_wait *wait)
{
	mutex_lock(&zdev->wait_lock);
	xen_zcopy_wait_unpublish(zdev, wait);
	mutex_unlock(&zdev->wait_lock);
}

/* Waits up to @timeout jiffies: 0 when freed, else -ETIMEDOUT or -ERESTARTSYS. */
static int xen_zcopy_wait_for(struct xen_zcopy_wait *wait, long timeout)
{
	long left;

	if (completion_done(&wait->freed))
		return 0;
	if (timeout <= 0)
		return -ETIMEDOUT;

	atomic_inc(&wait->waiters);
	left = wait_for_completion_interruptible_timeout(&wait->freed, timeout);
	atomic_dec(&wait->waiters);
	if (left > 0)
		return 0;
	return left ? -ERESTARTSYS : -ETIMEDOUT;
}

int xen_zcopy_wait_free_ioctl(struct drm_device *drm, void *data,
			      struct drm_file *file)
{
	struct drm_xen_zcopy_dumb_wait_free *req = data;
	struct xen_zcopy_wait *wait;
	int ret;

	wait = xen_zcopy_wait_get(to_xen_zcopy(drm), file, req->wait_handle,
				  false);
	if (!wait)
		return -ENOENT;

	/* A zero timeout polls, as it always did. */
	ret = req->wait_to_ms ?
	      xen_zcopy_wait_for(wait, msecs_to_jiffies(req->wait_to_ms)) :
	      (completion_done(&wait->freed) ? 0 : -ETIMEDOUT);
	xen_zcopy_wait_put(wait);

	/*
	 * Interrupted: -EINTR even if the handler has SA_RESTART. A restarted
	 * call would wait the whole @wait_to_ms again, so a backend that gets
	 * signals regularly could wait forever (WAIT_FREE2's deadline does
	 * not have that problem).
	 */
	return ret == -ERESTARTSYS ? -EINTR : ret;
}

int xen_zcopy_wait_free2_ioctl(struct drm_device *drm, void *data,
			       struct drm_file *file)
{
	struct drm_xen_zcopy_wait_free2 *req = data;
	struct xen_zcopy_device *zdev = to_xen_zcopy(drm);
	struct xen_zcopy_wait *wait;
	s64 now_ns;
	int ret;

	if (req->flags || req->pad || req->reserved[0] || req->reserved[1])
		return -EINVAL;

	wait = xen_zcopy_wait_get(zdev, file, req->wait_handle, true);
	if (!wait)
		return -ENOENT;

	/*
	 * Compared before subtracting: deadline - now overflows for a
	 * deadline far in the past (S64_MIN) and would wait for ever. A
	 * jiffies timeout can end up to a tick before the deadline (the
	 * wait starts anywhere inside the current tick): -ETIMEDOUT only
	 * once CLOCK_MONOTONIC has reached it, as user space will see it.
	 */
	do {
		long timeout = 0;

		now_ns = ktime_get_ns();
		if (req->deadline_ns > now_ns)
			timeout = min_t(u64, nsecs_to_jiffies64(req->deadline_ns - now_ns) + 1,
					MAX_SCHEDULE_TIMEOUT - 1);
		ret = xen_zcopy_wait_for(wait, timeout);
	} while (ret == -ETIMEDOUT && req->deadline_ns > now_ns);
	if (!ret) {
		req->status = DRM_XEN_ZCOPY_WAIT_FREED;
		xen_zcopy_wait_reported(zdev, wait);
	}
	xen_zcopy_wait_put(wait);
	return ret;
}

static int xen_zcopy_wait_fd_release(struct inode *inode, struct file *filp)
{
	xen_zcopy_wait_put(filp->private_data);
	return 0;
}

static __poll_t xen_zcopy_wait_fd_poll(struct file *filp, poll_table *pt)
{
	struct xen_zcopy_wait *wait = filp->private_data;

	poll_wait(filp, &wait->wq, pt);
	return completion_done(&wait->freed) ? EPOLLIN | EPOLLRDNORM : 0;
}

static ssize_t xen_zcopy_wait_fd_read(struct file *filp, char __user *buf,
				      size_t count, loff_t *pos)
{
	struct xen_zcopy_wait *wait = filp->private_data;
	u64 freed = 1;
	int ret;

	if (count < sizeof(freed))
		return -EINVAL;
	if (!completion_done(&wait->freed)) {
		if (filp->f_flags & O_NONBLOCK)
			return -EAGAIN;
		ret = wait_event_interruptible(wait->wq,
					       completion_done(&wait->freed));
		if (ret)
			return ret;
	}
	if (copy_to_user(buf, &freed, sizeof(freed)))
		return -EFAULT;
	return sizeof(freed);
}

static const struct file_operations xen_zcopy_wait_fops = {
	.owner = THIS_MODULE,
	.release = xen_zcopy_wait_fd_release,
	.poll = xen_zcopy_wait_fd_poll,
	.read = xen_zcopy_wait_fd_read,
	.llseek = noop_llseek,
};

int xen_zcopy_wait_fd_ioctl(struct drm_device *drm, void *data,
			    struct drm_file *file)
{
	struct drm_xen_zcopy_wait_fd *req = data;
	struct xen_zcopy_device *zdev = to_xen_zcopy(drm);
	struct xen_zcopy_wait *wait;
	int fd;

	if (req->flags || req->reserved[0] || req->reserved[1] ||
	    req->reserved[2])
		return -EINVAL;

	wait = xen_zcopy_wait_get(zdev, file, req->wait_handle, true);
	if (!wait)
		return -ENOENT;

	/* The fd keeps the reference taken above. */
	fd = anon_inode_getfd("[xen_zcopy_wait]", &xen_zcopy_wait_fops, wait,
			      O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		xen_zcopy_wait_put(wait);
		return fd;
	}
	if (completion_done(&wait->freed))
		xen_zcopy_wait_reported(zdev, wait);
	req->fd = fd;
	return 0;
}

void xen_zcopy_wait_fd_undo(struct drm_file *file, void *data)
{
	struct drm_xen_zcopy_wait_fd *req = data;

	close_fd(req->fd);
}
