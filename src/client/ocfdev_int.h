/* ocfdev_int.h - what the files of libocfdev share: the connection's
 * state and the control exchange.
 *   ocfdev.c       receiving, sending, the connection, sessions, requests
 *   ocfdev_shm.c   shared-memory regions and the rings
 *   ocfdev_info.c  public-key requests, drivers and statistics
 * Nothing here is part of the library's interface. */
#ifndef OCF_CLIENT_OCFDEV_INT_H
#define OCF_CLIENT_OCFDEV_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ocf/ocfdev.h>

#include "client/wire.h"

#define OCFDEV_HIDDEN __attribute__((visibility("hidden")))

#define CTL_TAG 0x80000000u
#define META_MAX \
  (OCFW_HDR_LEN + sizeof(struct ocfw_crypt) + OCF_MAX_DESC * sizeof(struct ocfw_desc))

enum { ST_IDLE = 0, ST_FLIGHT, ST_DONE };

struct ocfdev_shm {
  uint32_t id;
  void *base;
  size_t size;
  struct ocfdev_shm *next; /* the connection's regions */
};

struct ocfdev {
  int fd;
  int dead; /* 0, or the errno that ended the connection */
  struct ocfw_hello_rep hello;
  uint8_t *in;
  size_t inlen, incap;
  struct ocfdev_op **slot; /* in flight, by tag */
  uint32_t nslot;
  uint32_t *freeslot;
  uint32_t nfree;
  int inflight;
  int ring_inflight;                       /* of those, submitted through the rings */
  struct ocfdev_op *done_head, *done_tail; /* completed, not reaped */
  /* the one control exchange in progress */
  uint32_t ctl_seq;
  uint32_t ctl_wait;
  bool ctl_done;
  struct ocfw_hdr ctl_hdr;
  uint8_t *ctl_body;
  size_t ctl_len;
  uint8_t *meta; /* scratch for batch headers */
  size_t metacap;
  /* the rings: ring_mode -1 never, 0 not set up yet, 1 in use */
  int ring_mode;
  uint8_t *ring; /* the mapped region; NULL until set up */
  size_t ring_len;
  uint32_t sq_size, cq_size;
  uint64_t sq_tail;        /* where our next submission goes (published or not) */
  uint64_t cq_head;        /* the next completion we read */
  uint64_t progress;       /* completions and control replies handled so far */
  struct ocfdev_shm *shms; /* regions, unmapped at close */
  bool sock_empty;         /* the last read found the socket empty (or nearly) */
  /* synchronous waits (sync_wait): how long this one may still spin, and
   * how many more waits sleep at once */
  uint64_t spin_lim_ns, spin_left_ns;
  int spin_skip;
};

#define RING_SQ (256u << 10)
#define RING_CQ (128u << 10)

/* ocfdev_ctl runs one control exchange: sends cmd with body and body2 (and
 * the descriptor fd, unless -1) and waits for its reply; the reply body is
 * in d->ctl_body / d->ctl_len.  Returns 0, the reply's status or an errno. */
OCFDEV_HIDDEN int ocfdev_ctl(struct ocfdev *d, uint16_t cmd, const void *body, size_t blen,
                             const void *body2, size_t blen2, int fd);

/* ocfdev_ctl_done drops the last control reply, wiped (it may have carried
 * key material). */
OCFDEV_HIDDEN void ocfdev_ctl_done(struct ocfdev *d);

#endif /* OCF_CLIENT_OCFDEV_INT_H */
