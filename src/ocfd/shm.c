/* shm.c - shared memory: regions a client maps for its request buffers, and
 * its pair of rings (wire.h), which carry requests and completions without
 * system calls.  A region is a sealed memfd; the daemon trusts nothing the
 * client writes in it. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ocfd/follow.h"
#include "ocfd/server.h"

/* Mappings are counted where they are made and where they are undone, so
 * that a region unregistered while requests still use it counts against
 * its client's limits and the daemon's until it is really unmapped. */
static void mapped(struct client *c, size_t size, int sign) {
  if (sign > 0) {
    c->shm_bytes += size;
    st_shm_bytes += size;
    st_maps++;
  } else {
    c->shm_bytes -= size;
    st_shm_bytes -= size;
    st_maps--;
  }
}

void shm_release(struct shm *m) {
  mapped(m->owner, m->size, -1);
  m->owner->nmapped--;
  munmap(m->base, m->size);
  free(m);
}

/* Regions are populated by the event thread, in one call, before a worker
 * touches them.  A worker that takes the page faults of a fresh region one
 * page at a time spends more on them than on the crypto, and on a virtual
 * machine it slows the daemon's other threads too: on the development
 * machine (2 vCPUs) faulting in 1 MB of a new memfd took 2.5 ms,
 * MADV_POPULATE_WRITE 0.2 ms, and a client registering, using once and
 * unregistering 1 MB regions cut another client's synchronous requests to
 * less than a third of their rate (with this, the attack runs three times
 * faster, and the other client keeps 0.4 of its rate while it runs and
 * four fifths over ocfd-hostile's 2 s periods).  A region's populated part
 * is a prefix (m->warm, whole pages): a request that extends it populates
 * the pages it covers beyond it, at most WARM_MAX, which keeps the event
 * thread's share (about 0.2 ms) within what it runs inline for one
 * request; the prefix check makes a region used in place again and again
 * cost no system call, and a client's region costs no memory it does not
 * use.  A request past the prefix leaves the faults to the worker. */
#define WARM_MAX (1u << 20)
static bool warm_off; /* the kernel has no MADV_POPULATE_WRITE (before 5.14) */

void shm_warm(struct shm *m, uint64_t off, size_t len) {
  if (warm_off || len == 0 || off + len <= m->warm || (off & ~(uint64_t)4095) > m->warm) return;
  size_t to = (size_t)off + len, lim = (m->size + 4095) & ~(size_t)4095;
  if (to - m->warm > WARM_MAX) to = m->warm + WARM_MAX;
  to = (to + 4095) & ~(size_t)4095; /* whole pages: the next request starts past them */
  if (to > lim) to = lim;
  if (madvise(m->base + m->warm, to - m->warm, MADV_POPULATE_WRITE) != 0) {
    if (errno == EINVAL) warm_off = true;
    return; /* out of memory, say: the worker's faults will tell */
  }
  m->warm = to;
}

/* ring_list is doubly linked: rings leave it and come back all the time
 * (ring_park), which must not cost a walk over the others. */
static void ring_unlink(struct client *c) {
  if (c->rprev)
    c->rprev->rnext = c->rnext;
  else
    ring_list = c->rnext;
  if (c->rnext) c->rnext->rprev = c->rprev;
  c->rnext = c->rprev = NULL;
  nring--;
}

static void ring_link(struct client *c) {
  c->rprev = NULL;
  c->rnext = ring_list;
  if (ring_list) ring_list->rprev = c;
  ring_list = c;
  nring++;
}

/* A ring on the rounds costs every round a look at memory the client
 * writes: with 1,000 idle ring clients one client's synchronous 64 B
 * requests went from 427 K to 39 K a second.  So a ring quiet for a while
 * leaves the rounds, armed as for the loop's sleep, and comes back with its
 * client's kick.  Only an empty ring is parked: the client kicks when it
 * submits to an armed ring, not for what it submitted before (the arm comes
 * first, then the look at the tail, both sequentially consistent, as the
 * client's publish and its look at the flag). */
bool ring_park(struct client *c, uint64_t quiet_ns) {
  if (c->ring == NULL || c->ring_parked || c->ring_wait || c->closed) return false;
  if (c->ring_busy_ns > quiet_ns) return false;
  ocfw_ring_arm(c->ring, OCFW_RING_SQ_ARMED);
  if (ocfw_ring_ld(c->ring, OCFW_RING_SQ_TAIL) != c->sq_head) return false;
  ring_unlink(c);
  c->ring_parked = true;
  return true;
}

void ring_unpark(struct client *c) {
  if (c->ring == NULL || !c->ring_parked) return;
  c->ring_parked = false;
  c->ring_busy_ns = now_ns();
  ring_link(c);
}

void ring_release(struct client *c) {
  if (c->ring == NULL) return;
  if (!c->ring_parked) ring_unlink(c);
  c->ring_parked = false;
  mapped(c, c->ring_len, -1);
  munmap(c->ring, c->ring_len);
  c->ring = NULL;
}

static struct ocfd_follow follow = {.cpu = -1}; /* loop thread only */

/* cq_publish makes the completions written to c's ring visible, with a kick
 * on the socket if the client said it would sleep. */
void cq_publish(struct client *c) {
  if (c->ring == NULL || c->cq_tail == c->cq_pub) return;
  ocfw_ring_st(c->ring, OCFW_RING_CQ_TAIL, c->cq_tail);
  c->cq_pub = c->cq_tail;
  if (ocfw_ring_disarm(c->ring, OCFW_RING_CQ_ARMED)) {
    if (cf->follow &&
        ocfd_follow_kick(&follow, ocfw_ring_ld32(c->ring, OCFW_RING_CQ_CPU), now_ns()))
      ocfd_log(2, "event thread moved to CPU %d, next to client %d", sched_getcpu(), c->fd);
    uint8_t *p = out_room(c, OCFW_HDR_LEN);
    if (p != NULL)
      ocfw_put_hdr(p, OCFW_HDR_LEN, OCFW_KICK, 0, 0, 0);
    else /* no kick, the client would sleep forever */
      fatal(c, ENOMEM, "out of memory for a kick");
  }
}

/* cq_reserve returns where a completion of len bytes goes in c's ring
 * (room was promised when its request was taken), NULL if the ring broke. */
uint8_t *cq_reserve(struct client *c, uint32_t len) {
  uint8_t *cq = c->ring + OCFW_RING_HDR + c->sq_size;
  long at = ocfw_ring_room(cq, c->cq_size, &c->cq_tail, c->cq_seen, len);
  if (at < 0) return NULL;
  c->cq_tail += len;
  mark_dirty(c);
  return cq + at;
}

/* --- shared memory --------------------------------------------------------- */

/* take_fd: the descriptor that came with the current message (the oldest
 * one queued), now ours; -1 if none came. */
static int take_fd(struct client *c) {
  if (c->nfds == 0) return -1;
  int fd = c->fds[0];
  memmove(c->fds, c->fds + 1, (size_t)(--c->nfds) * sizeof(int));
  fds_held--;
  return fd;
}

/* drop_fd closes the descriptor of a message refused for its body. */
static void drop_fd(struct client *c) {
  int fd = take_fd(c);
  if (fd >= 0) close(fd);
}

/* map_region maps size bytes of the message's descriptor, provided it is a
 * memfd sealed against shrinking and fits the client's budget. */
static int map_region(struct client *c, uint64_t size, uint8_t **base) {
  int fd = take_fd(c), rc = 0;
  if (fd < 0) return EBADF;
  struct stat st;
  if (size == 0 || size > cf->max_shm || c->shm_bytes + size > cf->max_shm) rc = ENOSPC;
  if (rc == 0 && (st_maps >= (uint64_t)cf->max_maps || size > cf->max_shm_total ||
                  st_shm_bytes + size > cf->max_shm_total)) {
    static struct ocfd_ratelimit rl;
    ocfd_log_every(&rl, 0, "daemon-wide shared memory limit reached (%llu regions, %llu bytes)",
                   (unsigned long long)st_maps, (unsigned long long)st_shm_bytes);
    rc = ENOSPC;
  }
  if (rc == 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < size))
    rc = EINVAL;
  /* Without a shrink seal the client could truncate the file under us and
   * turn our next access into SIGBUS. */
  if (rc == 0) {
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0 || !(seals & F_SEAL_SHRINK)) rc = EPERM;
  }
  if (rc == 0) {
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
      rc = errno == ENOMEM ? ENOMEM : EINVAL;
    else
      *base = p;
  }
  close(fd);
  return rc;
}

/* new_shm_id: an unused id for a new region of c, random for the reasons
 * new_ses_id gives. */
static uint32_t new_shm_id(struct client *c) {
  for (;;) {
    uint32_t id = arc4random();
    bool used = id == 0;
    for (int i = 0; i < c->nshm && !used; i++) used = c->shm[i]->id == id;
    if (!used) return id;
  }
}

void do_shm_reg(struct client *c, const struct ocfw_hdr *h, const uint8_t *b, size_t n) {
  uint64_t size = 0;
  int rc = 0;
  if (n != sizeof(size))
    rc = EBADMSG;
  else
    memcpy(&size, b, sizeof(size));
  if (rc == 0 && c->nmapped >= MAX_SHM_REGIONS) rc = ENOSPC; /* unregistered ones too */
  uint8_t *base = NULL;
  if (rc != 0)
    drop_fd(c);
  else
    rc = map_region(c, size, &base);
  struct shm *m = NULL;
  if (rc == 0 && (m = calloc(1, sizeof(*m))) == NULL) {
    munmap(base, size);
    rc = ENOMEM;
  }
  if (rc == 0) {
    m->base = base;
    m->size = size;
    m->id = new_shm_id(c);
    m->owner = c;
    c->shm[c->nshm++] = m;
    c->nmapped++;
    mapped(c, size, 1);
  }
  if (rc)
    reply(c, h->cmd, 0, h->tag, rc, NULL, 0);
  else
    reply(c, h->cmd, 0, h->tag, 0, &m->id, sizeof(m->id));
}

/* do_ring_reg: a client's pair of rings (wire.h).  Our positions start at 0
 * whatever the region says. */
void do_ring_reg(struct client *c, const struct ocfw_hdr *h, const uint8_t *b, size_t n) {
  struct ocfw_ring_reg rr = {0, 0};
  int rc = 0;
  if (n != sizeof(rr))
    rc = EBADMSG;
  else
    memcpy(&rr, b, sizeof(rr));
  uint64_t len = (uint64_t)OCFW_RING_HDR + rr.sq_size + rr.cq_size;
  if (rc == 0 && c->ring != NULL) rc = EEXIST;
  if (rc == 0 && !ocfw_ring_geom_ok(rr.sq_size, rr.cq_size, len)) rc = EINVAL;
  uint8_t *base = NULL;
  if (rc != 0)
    drop_fd(c);
  else
    rc = map_region(c, len, &base);
  if (rc == 0) {
    c->ring = base;
    c->ring_len = (size_t)len;
    c->sq_size = rr.sq_size;
    c->cq_size = rr.cq_size;
    c->sq_head = c->cq_tail = c->cq_pub = c->cq_seen = 0;
    c->cq_reserved = 0;
    ocfw_ring_st(base, OCFW_RING_SQ_HEAD, 0);
    ocfw_ring_st(base, OCFW_RING_CQ_TAIL, 0);
    mapped(c, (size_t)len, 1);
    c->ring_parked = false;
    c->ring_busy_ns = now_ns();
    ring_link(c);
  }
  reply(c, h->cmd, 0, h->tag, rc, NULL, 0);
}

/* --- taking requests from a ring ------------------------------------------- */

/* cq_refresh reads how far the client has read its completions; a position
 * it cannot have reached ends the connection. */
static bool cq_refresh(struct client *c) {
  uint64_t head = ocfw_ring_ld(c->ring, OCFW_RING_CQ_HEAD);
  if (head - c->cq_seen > c->cq_pub - c->cq_seen) {
    fatal(c, EPROTO, "completion ring position out of range");
    return false;
  }
  c->cq_seen = head;
  return true;
}

/* cq_room: completion bytes neither unread nor promised. */
static size_t cq_room(const struct client *c) {
  size_t used = (size_t)(c->cq_tail - c->cq_seen) + c->cq_reserved;
  return used < c->cq_size ? c->cq_size - used : 0;
}

/* ring_takeable: c's submission ring holds something we would take now. */
bool ring_takeable(struct client *c) {
  return !c->closed && ocfw_ring_ld(c->ring, OCFW_RING_SQ_TAIL) != c->sq_head && !throttled(c) &&
         cq_refresh(c) && cq_room(c) >= 2 * OCFW_RING_CQE_MAX;
}

/* ring_take takes the requests waiting in c's submission ring, as many as
 * back-pressure and fairness allow.  Each one is copied out before it is
 * decoded (the client can write the ring under us), and gets its reply's
 * room in the completion ring set aside, plus the most that padding at the
 * ring's end can waste, so completions never overrun what the client has
 * not read.  Returns false when c was closed for breaking its ring. */
bool ring_take(struct client *c) {
  if (c->closed) return false;
  if (c->ring == NULL) return true;
  uint8_t *sq = c->ring + OCFW_RING_HDR;
  uint64_t tail = ocfw_ring_ld(c->ring, OCFW_RING_SQ_TAIL), start = c->sq_head;
  if (tail - c->sq_head > c->sq_size) {
    fatal(c, EPROTO, "submission ring position out of range");
    return false;
  }
  if (!cq_refresh(c)) return false;
  for (int k = 0; k < RING_BURST && !throttled(c); k++) {
    struct ocfw_hdr h;
    uint64_t head = c->sq_head;
    long at = ocfw_ring_next(sq, c->sq_size, &head, tail, OCFW_RING_SQE_MAX, &h);
    if (at == -1) {
      c->sq_head = head; /* past trailing padding */
      break;
    }
    uint8_t msg[OCFW_RING_SQE_MAX];
    uint32_t mlen = at >= 0 ? h.len : 0;
    if (at >= 0) {
      memcpy(msg, sq + at, mlen);
      memcpy(&h, msg, sizeof(h)); /* only the copy counts from here on */
    }
    if (at < 0 || h.cmd != OCFW_CRYPT || h.len != mlen ||
        h.len < sizeof(struct ocfw_crypt) + OCFW_HDR_LEN) {
      fatal(c, EPROTO, "broken submission ring");
      return false;
    }
    struct ocfw_crypt cr;
    memcpy(&cr, msg + OCFW_HDR_LEN, sizeof(cr));
    unsigned nd = cr.ndesc <= OCF_MAX_DESC ? cr.ndesc : OCF_MAX_DESC;
    uint16_t res = (uint16_t)(OCFW_HDR_LEN + sizeof(struct ocfw_crypt_rep) +
                              ((h.flags & OCFW_F_WANTIV) ? nd * OCF_MAX_IV : 0));
    if (cq_room(c) < (size_t)res + OCFW_RING_CQE_MAX) break; /* until the client reads */
    c->sq_head = head + h.len;
    c->cq_reserved += res;
    do_crypt(c, &h, msg + OCFW_HDR_LEN, h.len - OCFW_HDR_LEN, res);
    if (c->closed) return false;
  }
  if (c->sq_head != start) {
    ocfw_ring_st(c->ring, OCFW_RING_SQ_HEAD, c->sq_head);
    last_in_ns = c->ring_busy_ns = now_ns();
  }
  if (npending) dispatch_pending();
  return !c->closed;
}

void do_shm_unreg(struct client *c, const struct ocfw_hdr *h, const uint8_t *b, size_t n) {
  uint32_t id;
  int rc = ocfw_dec_u32(b, n, &id);
  if (rc == 0) {
    rc = ENOENT;
    for (int i = 0; i < c->nshm; i++) {
      struct shm *m = c->shm[i];
      if (m->id != id) continue;
      c->shm[i] = c->shm[--c->nshm];
      if (m->refs > 0) /* still counted until unmapped */
        m->dead = true;
      else
        shm_release(m);
      rc = 0;
      break;
    }
  }
  reply(c, h->cmd, 0, h->tag, rc, NULL, 0);
}
