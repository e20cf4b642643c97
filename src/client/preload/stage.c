/* stage.c - the preload shim's staging region (stage.h). */
#include "stage.h"

#include <errno.h>
#include <string.h>

/* The first region: enough for the requests most programs make.  A longer
 * request replaces it with one of the next power of two. */
#define STAGE_MIN (64u << 10)

uint8_t *stage_buf(struct stage *st, struct ocfdev *dev, size_t len) {
  if (st->broken) return NULL;
  size_t max = ocfdev_max_request(dev);
  if (len > max) return NULL; /* the socket path answers EMSGSIZE */
  if (st->m != NULL && len <= st->size) return ocfdev_shm_base(st->m);
  size_t size = STAGE_MIN;
  while (size < len) size *= 2;
  if (size > max) size = max;
  struct ocfdev_shm *m;
  int rc = ocfdev_shm_create(dev, size, &m);
  if (rc != 0) {
    /* A daemon that refuses regions (or rings) to this client: the socket
     * still works, and asking again per request would cost a round trip
     * each.  A region too big for it now: this request takes the socket. */
    if (st->m == NULL && size <= STAGE_MIN && rc != ENOMEM) st->broken = 1;
    return NULL;
  }
  if (st->m != NULL) stage_free(st, dev);
  st->m = m;
  st->size = size;
  st->dirty = 0;
  return ocfdev_shm_base(m);
}

int stage_crypt(struct stage *st, struct ocfdev *dev, struct ocfdev_op *op, size_t len) {
  op->buf = NULL;
  op->shm = st->m;
  op->shm_off = 0;
  op->len = len;
  if (len > st->dirty) st->dirty = len;
  return ocfdev_crypt(dev, op);
}

void stage_wipe(struct stage *st) {
  if (st->m == NULL || st->dirty == 0) return;
  explicit_bzero(ocfdev_shm_base(st->m), st->dirty);
  st->dirty = 0;
}

void stage_forget(struct stage *st) {
  st->m = NULL;
  st->size = st->dirty = 0;
  st->broken = 0;
}

void stage_free(struct stage *st, struct ocfdev *dev) {
  if (st->m == NULL) return;
  stage_wipe(st);
  ocfdev_shm_destroy(dev, st->m);
  st->m = NULL;
  st->size = 0;
}
