/* ocfdev.c - libocfdev: the native client of ocfd.
 *
 * The socket is non-blocking; every wait is a poll() that also drains
 * replies, so a client sending many requests never deadlocks against a
 * daemon that is itself waiting for the client to read.  Every system call
 * is retried on EINTR and partial writes are resumed, so signals never break
 * the message framing.
 *
 * Shared-memory requests normally travel through rings in memory shared with
 * the daemon (wire.h): a submission is a few stores, and the socket carries
 * only a wake-up for a side that went to sleep.  Everything else, and every
 * request when the rings are off, goes through the socket. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <ocf/ocfdev.h>

#include "client/wire.h"

#include "client/ocfdev_int.h"

/* --- receiving ------------------------------------------------------------ */

static void kill_conn(struct ocfdev *d, int err) {
  if (d->dead) return;
  d->dead = err ? err : ECONNRESET;
  d->ring_inflight = 0;
  /* Everything in flight completes with the connection's error. */
  for (uint32_t i = 0; i < d->nslot; i++) {
    struct ocfdev_op *op = d->slot[i];
    if (op == NULL) continue;
    d->slot[i] = NULL;
    op->error = d->dead;
    op->state_ = ST_DONE;
    op->next_ = NULL;
    if (d->done_tail)
      d->done_tail->next_ = op;
    else
      d->done_head = op;
    d->done_tail = op;
  }
}

static bool got_crypt(struct ocfdev *d, const struct ocfw_hdr *h, const uint8_t *b, size_t n) {
  if (h->tag >= d->nslot || d->slot[h->tag] == NULL) return false; /* not ours: ignore */
  struct ocfdev_op *op = d->slot[h->tag];
  d->slot[h->tag] = NULL;
  d->freeslot[d->nfree++] = h->tag;
  d->inflight--;
  op->error = h->status;
  struct ocfw_crypt_rep r = {0, 0};
  if (n >= sizeof(r))
    memcpy(&r, b, sizeof(r));
  else if (op->error == 0)
    op->error = EPROTO;
  if (op->error == 0) {
    size_t off = sizeof(r);
    op->olen = r.olen;
    if (h->flags & OCFW_F_WANTIV) {
      if (n - off < (size_t)op->ndesc * OCF_MAX_IV) op->error = EPROTO;
      for (int i = 0; op->error == 0 && i < op->ndesc; i++, off += OCF_MAX_IV)
        memcpy(op->desc[i].iv, b + off, OCF_MAX_IV);
    }
    if (op->error == 0 && r.datalen) {
      if (op->shm != NULL || r.datalen != op->len || n - off != r.datalen)
        op->error = EPROTO;
      else
        memcpy(op->buf, b + off, r.datalen);
    }
  }
  op->state_ = ST_DONE;
  op->next_ = NULL;
  if (d->done_tail)
    d->done_tail->next_ = op;
  else
    d->done_head = op;
  d->done_tail = op;
  d->progress++;
  return true;
}

/* ctl_body_free drops the last control reply, wiped: it may have carried a
 * public-key result (a shared secret, a signature's nonce-dependent part). */
void ocfdev_ctl_done(struct ocfdev *d) {
  if (d->ctl_body != NULL) explicit_bzero(d->ctl_body, d->ctl_len);
  free(d->ctl_body);
  d->ctl_body = NULL;
  d->ctl_len = 0;
}

static void got_msg(struct ocfdev *d, const struct ocfw_hdr *h, const uint8_t *b, size_t n) {
  if (h->cmd == OCFW_ERROR) {
    kill_conn(d, h->status ? h->status : EPROTO);
    return;
  }
  if (h->cmd == OCFW_CRYPT && !(h->tag & CTL_TAG)) {
    got_crypt(d, h, b, n);
    return;
  }
  if (h->tag == d->ctl_wait && !d->ctl_done) {
    d->ctl_hdr = *h;
    ocfdev_ctl_done(d);
    d->ctl_body = n ? malloc(n) : NULL;
    if (n && d->ctl_body == NULL) {
      d->ctl_hdr.status = ENOMEM;
      n = 0;
    }
    if (n) memcpy(d->ctl_body, b, n);
    d->ctl_len = n;
    d->ctl_done = true;
    d->progress++;
  }
}

static int send_iov(struct ocfdev *d, struct iovec *iov, int cnt, int fd);

/* kick_daemon sends OCFW_KICK if the daemon said it was going to sleep. */
static int kick_daemon(struct ocfdev *d) {
  if (!ocfw_ring_disarm(d->ring, OCFW_RING_SQ_ARMED)) return 0;
  uint8_t kick[OCFW_HDR_LEN];
  ocfw_put_hdr(kick, OCFW_HDR_LEN, OCFW_KICK, 0, 0, 0);
  struct iovec iov = {kick, sizeof(kick)};
  return send_iov(d, &iov, 1, -1);
}

/* ring_drain handles every completion the daemon has published; true when
 * there was one.  A daemon that writes nonsense there is treated like one
 * that sends nonsense on the socket. */
static bool ring_drain(struct ocfdev *d) {
  if (d->ring == NULL || d->dead) return false;
  uint8_t *cq = d->ring + OCFW_RING_HDR + d->sq_size;
  uint64_t tail = ocfw_ring_ld(d->ring, OCFW_RING_CQ_TAIL), start = d->cq_head;
  for (;;) {
    struct ocfw_hdr h;
    long at = ocfw_ring_next(cq, d->cq_size, &d->cq_head, tail, OCFW_RING_CQE_MAX, &h);
    if (at == -1) break;
    if (at < 0 || h.cmd != OCFW_CRYPT) {
      kill_conn(d, EPROTO);
      return true;
    }
    if (got_crypt(d, &h, cq + at + OCFW_HDR_LEN, h.len - OCFW_HDR_LEN)) d->ring_inflight--;
    d->cq_head += h.len;
  }
  if (d->cq_head == start) return false;
  ocfw_ring_st(d->ring, OCFW_RING_CQ_HEAD, d->cq_head);
  /* A daemon asleep because our completion ring was full waits for this. */
  kick_daemon(d);
  return true;
}

/* ring_arm asks the daemon for a kick on the socket when it next publishes
 * completions, then looks once more (they may have come just before);
 * true when it found some. */
static bool ring_arm(struct ocfdev *d) {
  if (d->ring == NULL || d->dead) return false;
  int cpu = sched_getcpu(); /* vDSO: no system call */
  ocfw_ring_st32(d->ring, OCFW_RING_CQ_CPU, cpu >= 0 ? (uint32_t)cpu + 1 : 0);
  ocfw_ring_arm(d->ring, OCFW_RING_CQ_ARMED);
  return ring_drain(d);
}

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* spin_limit_ns: how long a synchronous wait polls before it sleeps
 * ($OCFDEV_SPIN_US when the connection opens, default SPIN_US_DEFAULT;
 * 0 = never).  A reply that comes back within it costs no wake-up on this
 * side, and on a virtual machine a wake-up on an idle CPU is the largest
 * part of a small request's round trip. */
#define SPIN_US_DEFAULT 50
static uint64_t spin_limit_ns(void) {
  const char *e = getenv("OCFDEV_SPIN_US");
  long v = SPIN_US_DEFAULT;
  if (e != NULL && *e != '\0') {
    char *end;
    long x = strtol(e, &end, 10);
    if (*end == '\0' && x >= 0 && x <= 1000000) v = x;
  }
  return (uint64_t)v * 1000u;
}

/* spin polls the completion ring and the socket until something arrives or
 * d's spin time is used up; true when something arrived.  While all that is
 * awaited comes through the ring (no control reply, no request on the
 * socket), the socket can only bring a wake-up nobody needs: it is looked at
 * every SPIN_SOCK_NS then, not on every turn (a system call each, 9 per
 * 16 KB request waited for). */
#define SPIN_SOCK_NS 16000u
static bool spin(struct ocfdev *d, uint64_t start) {
  uint64_t t0 = mono_ns(), next_sock = t0 + SPIN_SOCK_NS;
  struct pollfd pf = {d->fd, POLLIN, 0};
  bool got = false;
  for (;;) {
    ring_drain(d);
    if (d->progress != start) {
      got = true;
      break;
    }
    uint64_t now = mono_ns();
    bool sock = d->inflight > d->ring_inflight || (d->ctl_wait != 0 && !d->ctl_done);
    if (sock || now >= next_sock) {
      next_sock = now + SPIN_SOCK_NS;
      if (poll(&pf, 1, 0) > 0) {
        d->sock_empty = false;
        got = true;
        break;
      }
    }
    uint64_t el = mono_ns() - t0;
    if (el >= d->spin_left_ns) {
      d->spin_left_ns = 0;
      break;
    }
  }
  if (got) {
    uint64_t el = mono_ns() - t0;
    d->spin_left_ns = el < d->spin_left_ns ? d->spin_left_ns - el : 0;
  }
  return got;
}

/* pump reads what the socket holds (waiting up to timeout_ms for something)
 * and handles every complete message.  Returns 0 or the connection error. */
static int pump(struct ocfdev *d, int timeout_ms) {
  if (d->dead) return d->dead;
  /* Waiting ends with the first completion or control reply, not with the
   * first bytes: a long reply arrives in pieces, and so may kicks that find
   * nothing new. */
  uint64_t start = d->progress;
  struct timespec t0;
  if (timeout_ms > 0) clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    ring_drain(d);
    /* A caller about to wait skips the read when the last one emptied the
     * socket: poll() says when there is more (with the rings, a batch then
     * costs one poll and one read instead of four calls). */
    if (timeout_ms == 0 || !d->sock_empty) {
      size_t need = 64 * 1024;
      if (d->inlen >= OCFW_HDR_LEN) {
        struct ocfw_hdr h;
        ocfw_get_hdr(d->in, d->inlen, &h);
        if (h.len < OCFW_HDR_LEN || h.len > (1u << 31)) {
          kill_conn(d, EPROTO);
          return d->dead;
        }
        if (h.len > need) need = h.len;
      }
      if (d->incap < need || d->incap - d->inlen < 4096) {
        size_t cap = d->incap < need ? need : d->incap;
        if (cap - d->inlen < 4096) cap = d->inlen + 64 * 1024;
        /* not realloc: what is there may be part of a public-key reply,
         * and the old block must not keep a copy */
        uint8_t *p = malloc(cap);
        if (p == NULL) return ENOMEM;
        if (d->inlen) memcpy(p, d->in, d->inlen);
        if (d->in != NULL) explicit_bzero(d->in, d->inlen);
        free(d->in);
        d->in = p;
        d->incap = cap;
      }
      size_t room = d->incap - d->inlen;
      ssize_t n = recv(d->fd, d->in + d->inlen, room, MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        kill_conn(d, n == 0 ? ECONNRESET : errno);
        return d->dead;
      }
      d->sock_empty = n < 0 || (size_t)n < room;
      if (n > 0) {
        d->inlen += (size_t)n;
        size_t pos = 0;
        while (d->inlen - pos >= OCFW_HDR_LEN) {
          struct ocfw_hdr h;
          ocfw_get_hdr(d->in + pos, d->inlen - pos, &h);
          if (h.len < OCFW_HDR_LEN) {
            kill_conn(d, EPROTO);
            return d->dead;
          }
          if (d->inlen - pos < h.len) break;
          got_msg(d, &h, d->in + pos + OCFW_HDR_LEN, h.len - OCFW_HDR_LEN);
          if (h.cmd == OCFW_KEY) explicit_bzero(d->in + pos, h.len); /* copied out */
          pos += h.len;
          if (d->dead) return d->dead;
        }
        size_t keep = d->inlen - pos;
        memmove(d->in, d->in + pos, keep);
        /* A partial key reply moved down leaves a copy of its start behind. */
        struct ocfw_hdr kh = {0};
        if (keep > 0 && pos > 0 && (ocfw_get_hdr(d->in, keep, &kh) != 0 || kh.cmd == OCFW_KEY)) {
          size_t from = pos > keep ? pos : keep;
          explicit_bzero(d->in + from, d->inlen - from);
        }
        d->inlen = keep;
        if (!d->sock_empty) continue;
      }
    }
    ring_drain(d);
    if (timeout_ms == 0 || d->progress != start || d->dead) return d->dead;
    if (d->spin_left_ns > 0 && spin(d, start)) continue;
    if (ring_arm(d)) return d->dead;
    int wait = timeout_ms;
    if (timeout_ms > 0) {
      struct timespec t1;
      clock_gettime(CLOCK_MONOTONIC, &t1);
      long ms = (long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
      if (ms >= timeout_ms) return 0;
      wait = timeout_ms - (int)ms;
    }
    struct pollfd pf = {d->fd, POLLIN, 0};
    int rc = poll(&pf, 1, wait);
    if (rc < 0 && errno != EINTR) return errno;
    if (rc > 0) d->sock_empty = false;
  }
}

/* --- sending -------------------------------------------------------------- */

/* send_iov writes the whole iovec list, passing fd (if >= 0) with the first
 * byte, and drains replies whenever the socket is full. */
static int send_iov(struct ocfdev *d, struct iovec *iov, int cnt, int fd) {
  while (cnt > 0 && iov[0].iov_len == 0) iov++, cnt--;
  while (cnt > 0) {
    if (d->dead) return d->dead;
    union {
      struct cmsghdr h;
      char buf[CMSG_SPACE(sizeof(int))];
    } cm;
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)(cnt > 1024 ? 1024 : cnt)};
    if (fd >= 0) {
      mh.msg_control = cm.buf;
      mh.msg_controllen = sizeof(cm.buf);
      struct cmsghdr *ch = CMSG_FIRSTHDR(&mh);
      ch->cmsg_level = SOL_SOCKET;
      ch->cmsg_type = SCM_RIGHTS;
      ch->cmsg_len = CMSG_LEN(sizeof(int));
      memcpy(CMSG_DATA(ch), &fd, sizeof(int));
    }
    ssize_t n = sendmsg(d->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        struct pollfd pf = {d->fd, POLLIN | POLLOUT, 0};
        if (poll(&pf, 1, -1) < 0 && errno != EINTR) return errno;
        if (pf.revents & (POLLIN | POLLHUP | POLLERR)) {
          int rc = pump(d, 0);
          if (rc) return rc;
        }
        continue;
      }
      kill_conn(d, errno == EPIPE ? EPIPE : errno);
      return d->dead;
    }
    fd = -1; /* sent with the first byte */
    size_t left = (size_t)n;
    while (cnt > 0 && left >= iov[0].iov_len) {
      left -= iov[0].iov_len;
      iov++;
      cnt--;
    }
    if (cnt > 0) {
      iov[0].iov_base = (uint8_t *)iov[0].iov_base + left;
      iov[0].iov_len -= left;
    }
  }
  return 0;
}

/* sync_wait is pump for a caller that waits for one reply (a control
 * exchange, ocfdev_crypt).  It spins first, up to the spin limit.  A reply
 * that took longer than that turns spinning off for the next SPIN_BACKOFF
 * waits (long requests would only burn the time); then one wait tries again,
 * so shorter requests get it back. */
#define SPIN_BACKOFF 16
static int sync_wait(struct ocfdev *d, uint64_t *t0) {
  uint64_t lim = d->spin_lim_ns;
  bool first = *t0 == 0, spun = false;
  if (first) {
    *t0 = mono_ns();
    if (lim > 0 && d->spin_skip == 0) {
      d->spin_left_ns = lim;
      spun = true;
    } else if (d->spin_skip > 0) {
      d->spin_skip--;
    }
  }
  uint64_t p0 = d->progress;
  int rc = pump(d, -1);
  if (spun && d->progress != p0 && mono_ns() - *t0 > lim) d->spin_skip = SPIN_BACKOFF;
  d->spin_left_ns = 0;
  return rc;
}

/* ctl runs one control exchange: sends cmd with body (+ fd) and waits for
 * its reply; the reply body is in d->ctl_body / d->ctl_len. */
int ocfdev_ctl(struct ocfdev *d, uint16_t cmd, const void *body, size_t blen, const void *body2,
               size_t blen2, int fd) {
  if (d->dead) return d->dead;
  uint8_t hdr[OCFW_HDR_LEN];
  d->ctl_wait = CTL_TAG | (++d->ctl_seq & 0x7fffffffu);
  d->ctl_done = false;
  ocfw_put_hdr(hdr, (uint32_t)(OCFW_HDR_LEN + blen + blen2), cmd, 0, d->ctl_wait, 0);
  struct iovec iov[3] = {{hdr, sizeof(hdr)}, {(void *)body, blen}, {(void *)body2, blen2}};
  int rc = send_iov(d, iov, 3, fd);
  uint64_t t0 = 0;
  while (rc == 0 && !d->ctl_done) rc = sync_wait(d, &t0);
  if (rc) return rc;
  return d->ctl_hdr.status;
}

/* --- connection ----------------------------------------------------------- */

static int greet(struct ocfdev *d, struct ocfdev **out);

int ocfdev_open(const char *path, struct ocfdev **out) {
  if (out == NULL) return EINVAL;
  *out = NULL;
  if (path == NULL) path = getenv("OCF_SOCKET");
  if (path == NULL || *path == '\0') path = OCFDEV_DEFAULT_SOCKET;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sa.sun_path)) return ENAMETOOLONG;
  strcpy(sa.sun_path, path);
  struct ocfdev *d = calloc(1, sizeof(*d));
  if (d == NULL) return ENOMEM;
  d->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (d->fd < 0) {
    int e = errno;
    free(d);
    return e;
  }
  int rc;
  while ((rc = connect(d->fd, (struct sockaddr *)&sa, sizeof(sa))) != 0 && errno == EINTR) {
    /* An interrupted connect goes on in the background: wait for it. */
    struct pollfd pf = {d->fd, POLLOUT, 0};
    while (poll(&pf, 1, -1) < 0 && errno == EINTR) {
    }
    int err = 0;
    socklen_t el = sizeof(err);
    getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err == 0 || err == EISCONN) {
      rc = 0;
      break;
    }
    errno = err;
    rc = -1;
    break;
  }
  if (rc != 0) {
    int e = errno;
    close(d->fd);
    free(d);
    return e;
  }
  return greet(d, out);
}

/* greet exchanges OCFW_HELLO on d's connected socket and hands d to *out, or
 * closes it. */
static int greet(struct ocfdev *d, struct ocfdev **out) {
  fcntl(d->fd, F_SETFL, fcntl(d->fd, F_GETFL) | O_NONBLOCK);
  d->spin_lim_ns = spin_limit_ns();
  struct ocfw_hello hi = {OCFW_MAGIC, OCFW_VERSION};
  int rc = ocfdev_ctl(d, OCFW_HELLO, &hi, sizeof(hi), NULL, 0, -1);
  if (rc == 0 && d->ctl_len != sizeof(d->hello)) rc = EPROTO;
  if (rc != 0) {
    ocfdev_close(d);
    return rc;
  }
  memcpy(&d->hello, d->ctl_body, sizeof(d->hello));
  const char *rv = getenv("OCFDEV_RING");
  if (rv && strcmp(rv, "0") == 0) d->ring_mode = -1;
  *out = d;
  return 0;
}

int ocfdev_adopt(int fd, struct ocfdev **out) {
  if (out == NULL) {
    if (fd >= 0) close(fd);
    return EINVAL;
  }
  *out = NULL;
  int type = 0;
  socklen_t tl = sizeof(type);
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_STREAM) {
    int e = errno == EBADF ? EBADF : ENOTSOCK;
    if (e != EBADF) close(fd);
    return e;
  }
  struct ocfdev *d = calloc(1, sizeof(*d));
  if (d == NULL) {
    close(fd);
    return ENOMEM;
  }
  d->fd = fd;
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  return greet(d, out);
}

void ocfdev_close(struct ocfdev *d) {
  if (d == NULL) return;
  if (d->fd >= 0) close(d->fd);
  if (d->in != NULL) explicit_bzero(d->in, d->inlen);
  free(d->in);
  free(d->slot);
  free(d->freeslot);
  ocfdev_ctl_done(d);
  free(d->meta);
  if (d->ring) munmap(d->ring, d->ring_len);
  while (d->shms) {
    struct ocfdev_shm *m = d->shms;
    d->shms = m->next;
    munmap(m->base, m->size);
    free(m);
  }
  free(d);
}

int ocfdev_fd(const struct ocfdev *d) { return d->fd; }

/* For the preload shim only (not exported): the connection continues on
 * newfd, a duplicate of the current descriptor, which is left open. */
__attribute__((visibility("hidden"))) void ocfdev_move_fd_(struct ocfdev *d, int newfd) {
  d->fd = newfd;
}
size_t ocfdev_max_request(const struct ocfdev *d) { return d->hello.max_req; }
int ocfdev_allow_soft(const struct ocfdev *d) { return (int)d->hello.allow_soft; }
int ocfdev_inflight(const struct ocfdev *d) { return d->inflight; }

/* --- sessions ------------------------------------------------------------- */

static void copy_info(struct ocfdev_sessinfo *out, const struct ocfw_sessinfo *in) {
  memset(out, 0, sizeof(*out));
  out->ses = in->ses;
  out->hid = in->hid;
  out->drv_flags = in->drvflags;
  memcpy(out->driver, in->driver, sizeof(out->driver));
  out->driver[sizeof(out->driver) - 1] = '\0';
  out->nalg = in->nparam > OCF_MAX_DESC ? OCF_MAX_DESC : (int)in->nparam;
  for (int i = 0; i < out->nalg; i++) {
    out->alg[i].alg = (enum ocf_alg)in->alg[i].alg;
    out->alg[i].cls = (enum ocf_alg_class)in->alg[i].cls;
    out->alg[i].block = in->alg[i].block;
    out->alg[i].ivlen = in->alg[i].ivlen;
    out->alg[i].maclen = in->alg[i].maclen;
  }
}

int ocfdev_newsession(struct ocfdev *d, const struct ocf_sessparam *chain, unsigned flags,
                      uint32_t *ses, struct ocfdev_sessinfo *info) {
  if (d == NULL || chain == NULL || ses == NULL) return EINVAL;
  uint8_t body[sizeof(struct ocfw_newsess) + OCF_MAX_DESC * sizeof(struct ocfw_param)];
  uint8_t keys[OCF_MAX_DESC * OCFW_MAX_KEY];
  struct ocfw_newsess ns = {flags, 0};
  size_t klen = 0;
  for (const struct ocf_sessparam *p = chain; p != NULL; p = p->next) {
    if (ns.nparam == OCF_MAX_DESC || p->keylen > OCFW_MAX_KEY || (p->keylen && p->key == NULL) ||
        p->level < 0)
      return EINVAL;
    struct ocfw_param wp = {(uint32_t)p->alg, (uint32_t)p->keylen, (uint32_t)p->maclen,
                            (uint32_t)p->ivlen, (uint32_t)p->level};
    memcpy(body + sizeof(ns) + ns.nparam * sizeof(wp), &wp, sizeof(wp));
    if (p->keylen) memcpy(keys + klen, p->key, p->keylen);
    klen += p->keylen;
    ns.nparam++;
  }
  memcpy(body, &ns, sizeof(ns));
  int rc = ocfdev_ctl(d, OCFW_NEWSESSION, body, sizeof(ns) + ns.nparam * sizeof(struct ocfw_param),
                      keys, klen, -1);
  explicit_bzero(keys, klen);
  if (rc == 0 && d->ctl_len != sizeof(struct ocfw_sessinfo)) rc = EPROTO;
  if (rc != 0) return rc;
  struct ocfw_sessinfo si;
  memcpy(&si, d->ctl_body, sizeof(si));
  *ses = si.ses;
  if (info) copy_info(info, &si);
  return 0;
}

int ocfdev_freesession(struct ocfdev *d, uint32_t ses) {
  return ocfdev_ctl(d, OCFW_FREESESSION, &ses, sizeof(ses), NULL, 0, -1);
}

int ocfdev_cphash(struct ocfdev *d, uint32_t dst, uint32_t src) {
  uint32_t body[2] = {dst, src};
  return ocfdev_ctl(d, OCFW_CPHASH, body, sizeof(body), NULL, 0, -1);
}

int ocfdev_sessions(struct ocfdev *d, uint32_t *ses, int max, int *n) {
  if (d == NULL || n == NULL || max < 0 || (max > 0 && ses == NULL)) return EINVAL;
  *n = 0;
  int rc = ocfdev_ctl(d, OCFW_SESSLIST, NULL, 0, NULL, 0, -1);
  uint32_t count = 0;
  if (rc == 0 && ocfw_dec_sesslist(d->ctl_body, d->ctl_len, &count) != 0) rc = EPROTO;
  if (rc == 0) {
    for (uint32_t i = 0; i < count && i < (uint32_t)max; i++)
      memcpy(&ses[i], d->ctl_body + 4 + 4 * (size_t)i, 4);
    *n = (int)count;
  }
  return rc;
}

int ocfdev_sessinfo(struct ocfdev *d, uint32_t ses, struct ocfdev_sessinfo *info) {
  int rc = ocfdev_ctl(d, OCFW_SESSINFO, &ses, sizeof(ses), NULL, 0, -1);
  if (rc == 0 && d->ctl_len != sizeof(struct ocfw_sessinfo)) rc = EPROTO;
  if (rc == 0) {
    struct ocfw_sessinfo si;
    memcpy(&si, d->ctl_body, sizeof(si));
    copy_info(info, &si);
  }
  return rc;
}

/* --- requests ------------------------------------------------------------- */

static int take_slot(struct ocfdev *d, struct ocfdev_op *op) {
  if (d->nfree == 0) {
    uint32_t n = d->nslot ? 2 * d->nslot : 64;
    if (n >= CTL_TAG) return EAGAIN;
    struct ocfdev_op **s = realloc(d->slot, n * sizeof(*s));
    if (s == NULL) return ENOMEM;
    d->slot = s;
    uint32_t *f = realloc(d->freeslot, n * sizeof(*f));
    if (f == NULL) return ENOMEM;
    d->freeslot = f;
    for (uint32_t i = n; i > d->nslot; i--) {
      d->slot[i - 1] = NULL;
      d->freeslot[d->nfree++] = i - 1;
    }
    d->nslot = n;
  }
  op->tag_ = d->freeslot[--d->nfree];
  d->slot[op->tag_] = op;
  op->state_ = ST_FLIGHT;
  d->inflight++;
  return 0;
}

static void drop_slot(struct ocfdev *d, struct ocfdev_op *op) {
  d->slot[op->tag_] = NULL;
  d->freeslot[d->nfree++] = op->tag_;
  d->inflight--;
  op->state_ = ST_IDLE;
}

/* build_meta writes the header, request and descriptors of op at p and
 * returns their length. */
static size_t build_meta(const struct ocfdev_op *op, uint8_t *p) {
  uint16_t flags = 0;
  for (int i = 0; i < op->ndesc; i++) {
    const struct ocf_desc *dc = &op->desc[i];
    if ((dc->flags & OCF_D_ENCRYPT) && !(dc->flags & (OCF_D_IV_EXPLICIT | OCF_D_IV_PRESENT)))
      flags |= OCFW_F_WANTIV;
  }
  if (op->shm)
    flags |= OCFW_F_SHM;
  else if (op->flags & OCFDEV_OP_NODATA)
    flags |= OCFW_F_NODATA;
  size_t meta = sizeof(struct ocfw_crypt) + (size_t)op->ndesc * sizeof(struct ocfw_desc);
  size_t total = OCFW_HDR_LEN + meta + (op->shm ? 0 : op->len);
  ocfw_put_hdr(p, (uint32_t)total, OCFW_CRYPT, flags, op->tag_, 0);
  struct ocfw_crypt c = {op->ses,           (uint16_t)op->ndesc,       0,
                         (uint32_t)op->len, op->shm ? op->shm->id : 0, op->shm ? op->shm_off : 0};
  memcpy(p + OCFW_HDR_LEN, &c, sizeof(c));
  uint8_t *q = p + OCFW_HDR_LEN + sizeof(c);
  for (int i = 0; i < op->ndesc; i++, q += sizeof(struct ocfw_desc)) {
    const struct ocf_desc *dc = &op->desc[i];
    struct ocfw_desc w = {(uint32_t)dc->alg,
                          dc->flags,
                          (uint32_t)dc->skip,
                          (uint32_t)dc->len,
                          (uint32_t)dc->inject,
                          (uint32_t)dc->iv_off,
                          (uint32_t)dc->aad_skip,
                          (uint32_t)dc->aad_len,
                          {0}};
    memcpy(w.iv, dc->iv, OCF_MAX_IV);
    memcpy(q, &w, sizeof(w));
  }
  return OCFW_HDR_LEN + meta;
}

static int op_check(const struct ocfdev *d, const struct ocfdev_op *op) {
  if (op == NULL || op->ndesc < 1 || op->ndesc > OCF_MAX_DESC) return EINVAL;
  if (op->state_ == ST_FLIGHT) return EBUSY;
  if (op->len > d->hello.max_req) return EMSGSIZE;
  if (op->shm == NULL && op->len && op->buf == NULL) return EINVAL;
  if (op->shm && (op->shm_off > op->shm->size || op->len > op->shm->size - op->shm_off))
    return ERANGE;
  for (int i = 0; i < op->ndesc; i++) {
    const struct ocf_desc *dc = &op->desc[i];
    if (dc->skip > UINT32_MAX || dc->len > UINT32_MAX || dc->inject > UINT32_MAX ||
        dc->iv_off > UINT32_MAX || dc->aad_skip > UINT32_MAX || dc->aad_len > UINT32_MAX)
      return ERANGE;
  }
  return 0;
}

/* ring_publish makes the submissions written so far visible and wakes the
 * daemon if it sleeps. */
static int ring_publish(struct ocfdev *d) {
  if (d->ring == NULL || ocfw_ring_ld(d->ring, OCFW_RING_SQ_TAIL) == d->sq_tail) return 0;
  ocfw_ring_st(d->ring, OCFW_RING_SQ_TAIL, d->sq_tail);
  return kick_daemon(d);
}

/* ring_put writes op into the submission ring (tag taken); when the ring is
 * full it publishes what is there and waits for the daemon to take some. */
static int ring_put(struct ocfdev *d, struct ocfdev_op *op) {
  uint8_t *sq = d->ring + OCFW_RING_HDR;
  uint32_t len = (uint32_t)(OCFW_HDR_LEN + sizeof(struct ocfw_crypt) +
                            (size_t)op->ndesc * sizeof(struct ocfw_desc));
  for (;;) {
    if (d->dead) return d->dead;
    uint64_t head = ocfw_ring_ld(d->ring, OCFW_RING_SQ_HEAD);
    if (d->sq_tail - head > d->sq_size) { /* not a position the daemon can have reached */
      kill_conn(d, EPROTO);
      return d->dead;
    }
    long at = ocfw_ring_room(sq, d->sq_size, &d->sq_tail, head, len);
    if (at >= 0) {
      build_meta(op, sq + at);
      d->sq_tail += len;
      return 0;
    }
    /* Full: the daemon is behind or holds back for lack of completion
     * space.  Let it see what is there, and make room on our side. */
    int rc = ring_publish(d);
    if (rc == 0) rc = pump(d, 1);
    if (rc) return rc;
  }
}

int ocfdev_submit_batch(struct ocfdev *d, struct ocfdev_op **ops, int n, int *sent) {
  if (sent) *sent = 0;
  if (d == NULL || (n > 0 && ops == NULL) || n < 0) return EINVAL;
  if (d->dead) return d->dead;
  int done = 0;
  while (done < n) {
    int k = n - done > 256 ? 256 : n - done;
    if (d->metacap < (size_t)k * META_MAX) {
      uint8_t *m = realloc(d->meta, (size_t)k * META_MAX);
      if (m == NULL) return ENOMEM;
      d->meta = m;
      d->metacap = (size_t)k * META_MAX;
    }
    struct iovec iov[512];
    int cnt = 0, rc = 0, got = 0;
    size_t moff = 0;
    bool last_meta = false; /* iov[cnt - 1] is metadata */
    for (; got < k; got++) {
      struct ocfdev_op *op = ops[done + got];
      if ((rc = op_check(d, op)) != 0 || (rc = take_slot(d, op)) != 0) break;
      op->error = 0;
      op->olen = 0;
      if (op->shm && d->ring_mode == 1) {
        if ((rc = ring_put(d, op)) != 0) {
          if (op->state_ == ST_FLIGHT) drop_slot(d, op);
          break;
        }
        d->ring_inflight++;
        continue;
      }
      uint8_t *m = d->meta + moff;
      size_t ml = build_meta(op, m);
      moff += ml;
      /* Back-to-back metadata (shared-memory requests carry nothing else)
       * travels as one segment. */
      if (last_meta && (uint8_t *)iov[cnt - 1].iov_base + iov[cnt - 1].iov_len == m) {
        iov[cnt - 1].iov_len += ml;
      } else {
        iov[cnt].iov_base = m;
        iov[cnt++].iov_len = ml;
      }
      last_meta = true;
      if (!op->shm && op->len) {
        iov[cnt].iov_base = op->buf;
        iov[cnt++].iov_len = op->len;
        last_meta = false;
      }
    }
    int src = ring_publish(d);
    if (src == 0) src = send_iov(d, iov, cnt, -1);
    if (src) {
      /* the connection died: it completed all it held, these too, and
       * ocfdev_reap hands them back */
      if (sent) *sent = done + got;
      return src;
    }
    done += got;
    if (sent) *sent = done;
    if (rc) return d->dead ? d->dead : rc;
  }
  return 0;
}

int ocfdev_submit(struct ocfdev *d, struct ocfdev_op *op) {
  return ocfdev_submit_batch(d, &op, 1, NULL);
}

int ocfdev_op_busy(const struct ocfdev_op *op) { return op != NULL && op->state_ != ST_IDLE; }

static void unlink_done(struct ocfdev *d, struct ocfdev_op *op) {
  struct ocfdev_op **pp = &d->done_head, *prev = NULL;
  while (*pp && *pp != op) {
    prev = *pp;
    pp = &(*pp)->next_;
  }
  if (*pp == NULL) return;
  *pp = op->next_;
  if (d->done_tail == op) d->done_tail = prev;
  op->next_ = NULL;
}

int ocfdev_crypt(struct ocfdev *d, struct ocfdev_op *op) {
  int rc = ocfdev_submit(d, op);
  if (rc) {
    if (op && op->state_ == ST_DONE) {
      unlink_done(d, op);
      op->state_ = ST_IDLE;
      return op->error;
    }
    return rc;
  }
  uint64_t t0 = 0;
  while (op->state_ != ST_DONE) {
    rc = sync_wait(d, &t0);
    if (rc && op->state_ != ST_DONE) {
      if (op->shm && d->ring_mode == 1 && d->ring_inflight > 0) d->ring_inflight--;
      drop_slot(d, op);
      return rc;
    }
  }
  unlink_done(d, op);
  op->state_ = ST_IDLE;
  return op->error;
}

static void take_done(struct ocfdev *d, struct ocfdev_op **done, int max, int *n) {
  while (*n < max && d->done_head) {
    struct ocfdev_op *op = d->done_head;
    d->done_head = op->next_;
    if (d->done_head == NULL) d->done_tail = NULL;
    op->next_ = NULL;
    op->state_ = ST_IDLE;
    done[(*n)++] = op;
  }
}

int ocfdev_reap(struct ocfdev *d, struct ocfdev_op **done, int max, int timeout_ms, int *n) {
  *n = 0;
  if (d->done_head == NULL) {
    if (d->inflight == 0) return d->dead ? d->dead : ENOENT;
    int rc = pump(d, timeout_ms);
    if (rc && d->done_head == NULL) return rc;
  } else if (!d->dead) {
    pump(d, 0);
  }
  take_done(d, done, max, n);
  /* Leaving with nothing on hand: ask for a kick at the next completion, so
   * that a caller polling ocfdev_fd() sees them. */
  if (d->done_head == NULL && d->inflight > 0 && ring_arm(d)) take_done(d, done, max, n);
  return 0;
}
