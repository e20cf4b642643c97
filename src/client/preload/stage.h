/* stage.h - the preload shim's staging region: a shared-memory region of one
 * daemon connection where a synchronous request's data is placed, processed
 * in place by the daemon and read back.  Such requests travel through
 * libocfdev's rings (no system call while the daemon is busy) instead of
 * being copied through the socket both ways.
 *
 * A stage belongs to one cfile and is used under its lock, one request at a
 * time.  Its region is the connection's (libocfdev unmaps it with the
 * connection): when the cfile's connection is replaced (a forked child, an
 * inherited descriptor taken over), stage_forget must be called before the
 * stage is used again. */
#ifndef OCF_PRELOAD_STAGE_H
#define OCF_PRELOAD_STAGE_H

#include <stddef.h>
#include <stdint.h>

#include <ocf/ocfdev.h>

/* Internal to the shim: a program's own stage_* would otherwise bind to
 * these, or these to its. */
#pragma GCC visibility push(hidden)

struct stage {
  struct ocfdev_shm *m; /* NULL until the first use, or after a failure */
  size_t size;          /* the region's size */
  size_t dirty;         /* bytes at its start that held a request's data */
  int broken;           /* the daemon refused a region: stay on the socket */
};

/* stage_buf returns room for len bytes at the start of the region, growing it
 * (up to the daemon's longest request) if needed; NULL when the request
 * should take the socket instead.  The room is the caller's until the next
 * stage call. */
uint8_t *stage_buf(struct stage *st, struct ocfdev *dev, size_t len);

/* stage_crypt runs op, whose data are the len bytes stage_buf returned, and
 * waits; the result is in that room.  Returns op's error. */
int stage_crypt(struct stage *st, struct ocfdev *dev, struct ocfdev_op *op, size_t len);

/* stage_wipe clears what requests left in the region (data and results are
 * the program's secrets as much as its buffers are): before the connection
 * closes, and before a region is replaced. */
void stage_wipe(struct stage *st);

/* stage_forget drops the region without telling the daemon: the connection
 * it belonged to is gone or no longer this process's. */
void stage_forget(struct stage *st);

/* stage_free wipes and unregisters the region on dev, the live connection. */
void stage_free(struct stage *st, struct ocfdev *dev);

#pragma GCC visibility pop

#endif /* OCF_PRELOAD_STAGE_H */
