// SPDX-License-Identifier: GPL-2.0
/*
 * Xen zero-copy helper DRM driver: DUMB_WAIT_FREE.
 *
 * A backend must not answer the frontend's DBUF_DESTROY before the grants of
 * the buffer are unmapped, or the frontend frees pages the display may still
 * scan out. Every DUMB_FROM_REFS buffer gets a wait handle that completes
 * once the GEM object is freed and its grants are unmapped.
 *
 * Handles are allocated cyclically, so a stale handle finds nothing (-ENOENT)
 * instead of a newer buffer. A handle is only visible to the DRM file that
 * created the buffer; it disappears when the buffer is freed or that file is
 * closed.
 */

#include <linux/jiffies.h>
#include <linux/slab.h>

#include <drm/drm_file.h>

#include "xen_zcopy_drm.h"
#include "xen_zcopy_drv.h"

void xen_zcopy_wait_init(struct xen_zcopy_device *zdev)
{
	mutex_init(&zdev->wait_lock);
	idr_init_base(&zdev->wait_idr, 1);
}

void xen_zcopy_wait_fini(struct xen_zcopy_device *zdev)
{
	/* Every buffer, and so every handle, is gone before the device. */
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

	kref_init(&wait->refcount);
	init_completion(&wait->freed);
	wait->owner = file;

	mutex_lock(&zdev->wait_lock);
	id = idr_alloc_cyclic(&zdev->wait_idr, wait, 1, INT_MAX, GFP_KERNEL);
	mutex_unlock(&zdev->wait_lock);
	if (id < 0) {
		kfree(wait);
		return ERR_PTR(id);
	}

	wait->id = id;
	atomic_inc(&xen_zcopy_stats.wait_handles);
	return wait;
}

static void xen_zcopy_wait_release(struct kref *kref)
{
	kfree(container_of(kref, struct xen_zcopy_wait, refcount));
}

/* Called with wait_lock held. */
static void xen_zcopy_wait_unpublish(struct xen_zcopy_device *zdev,
				     struct xen_zcopy_wait *wait)
{
	if (idr_find(&zdev->wait_idr, wait->id) != wait)
		return;
	idr_remove(&zdev->wait_idr, wait->id);
	atomic_dec(&xen_zcopy_stats.wait_handles);
}

/* The buffer is freed: wake every waiter and drop the buffer's reference. */
void xen_zcopy_wait_signal(struct xen_zcopy_device *zdev,
			   struct xen_zcopy_wait *wait)
{
	mutex_lock(&zdev->wait_lock);
	xen_zcopy_wait_unpublish(zdev, wait);
	mutex_unlock(&zdev->wait_lock);

	complete_all(&wait->freed);
	kref_put(&wait->refcount, xen_zcopy_wait_release);
}

/*
 * The file's buffers may outlive it (exported, or scanned out): their
 * handles go now, their wait objects when the buffers are freed.
 */
void xen_zcopy_wait_file_close(struct xen_zcopy_device *zdev,
			       struct drm_file *file)
{
	struct xen_zcopy_wait *wait;
	int id;

	mutex_lock(&zdev->wait_lock);
	idr_for_each_entry(&zdev->wait_idr, wait, id)
		if (wait->owner == file)
			xen_zcopy_wait_unpublish(zdev, wait);
	mutex_unlock(&zdev->wait_lock);
}

int xen_zcopy_wait_free_ioctl(struct drm_device *drm, void *data,
			      struct drm_file *file)
{
	struct drm_xen_zcopy_dumb_wait_free *req = data;
	struct xen_zcopy_device *zdev = to_xen_zcopy(drm);
	struct xen_zcopy_wait *wait;
	long left;

	mutex_lock(&zdev->wait_lock);
	wait = idr_find(&zdev->wait_idr, req->wait_handle);
	if (wait && wait->owner == file)
		kref_get(&wait->refcount);
	else
		wait = NULL;
	mutex_unlock(&zdev->wait_lock);

	if (!wait) {
		/* Not a bad input as such: the buffer may just be gone. */
		drm_dbg(drm, "WAIT_FREE: no live buffer with wait handle %u\n",
			req->wait_handle);
		return -ENOENT;
	}

	atomic_inc(&wait->waiters);
	left = wait_for_completion_interruptible_timeout(&wait->freed,
							 msecs_to_jiffies(req->wait_to_ms));
	atomic_dec(&wait->waiters);
	kref_put(&wait->refcount, xen_zcopy_wait_release);

	if (left > 0)
		return 0;
	if (!left)
		return -ETIMEDOUT;
	/*
	 * Interrupted: -EINTR even if the handler has SA_RESTART. A restarted
	 * call would wait the whole @wait_to_ms again, so a backend that gets
	 * signals regularly could wait forever.
	 */
	return -EINTR;
}
