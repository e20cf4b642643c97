/* path.c - packet buffers, completion hand-off, and the outbound path
 * (TUN -> ipsec_output -> socket).  The inbound path is path_in.c.
 *
 * Memory is bounded: each thread owns a fixed pool of buffers allocated at
 * start.  A thread reads from its input only while it has free buffers and
 * its output is not blocked; when the socket (or the TUN) refuses more, the
 * packets wait in the thread's ready list and the input is left alone, so
 * the kernel queues in front of the daemon fill up and push back on the
 * senders (TCP sees a slower path, not losses inside the daemon).
 *
 * A packet's done() callback runs on the thread that completed its crypto:
 * the owner itself when a software producer ran the request inline, else a
 * framework or card thread, which appends the packet to the owner's
 * completion queue and wakes it through an eventfd (once per batch). */
#include <errno.h>
#include <linux/virtio_net.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ipsecd/path.h"

static _Thread_local struct gw_thread *tl_self;

void path_bind_thread(struct gw_thread *t) { tl_self = t; }

uint64_t gw_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* --- pool ------------------------------------------------------------------------- */

static size_t pb_stride(const struct gw_thread *t) {
  return (sizeof(struct pbuf) + t->bufsize + 63) & ~(size_t)63;
}

static int pool_init(struct gw_thread *t, int n) {
  size_t stride = pb_stride(t);
  if (posix_memalign(&t->mem, 64, stride * (size_t)n) != 0) return ENOMEM;
  t->free = NULL;
  for (int i = n - 1; i >= 0; i--) {
    struct pbuf *pb = (struct pbuf *)((uint8_t *)t->mem + stride * (size_t)i);
    pb->owner = t;
    pb->next = t->free;
    t->free = pb;
  }
  atomic_store(&t->nfree, n);
  t->ntotal = n;
  return 0;
}

struct pbuf *pool_get(struct gw_thread *t) {
  struct pbuf *pb = t->free;
  if (pb != NULL) {
    t->free = pb->next;
    atomic_store_explicit(&t->nfree, atomic_load_explicit(&t->nfree, memory_order_relaxed) - 1,
                          memory_order_relaxed);
  }
  return pb;
}

void pool_put(struct gw_thread *t, struct pbuf *pb) {
  pb->next = t->free;
  t->free = pb;
  atomic_store_explicit(&t->nfree, atomic_load_explicit(&t->nfree, memory_order_relaxed) + 1,
                        memory_order_relaxed);
}

/* --- completions -------------------------------------------------------------------- */

static void rdy_append(struct gw_thread *t, struct pbuf *head, struct pbuf *tail, int n) {
  tail->next = NULL;
  if (t->rdy_tail != NULL)
    t->rdy_tail->next = head;
  else
    t->rdy_head = head;
  t->rdy_tail = tail;
  t->nrdy += n;
}

void take_completions(struct gw_thread *t) {
  if (atomic_load_explicit(&t->cq_n, memory_order_acquire) == 0) return;
  pthread_mutex_lock(&t->cq_lock);
  struct pbuf *h = t->cq_head, *tl = t->cq_tail;
  int n = atomic_exchange_explicit(&t->cq_n, 0, memory_order_relaxed);
  t->cq_head = t->cq_tail = NULL;
  t->cq_signaled = false;
  pthread_mutex_unlock(&t->cq_lock);
  if (h != NULL) rdy_append(t, h, tl, n);
}

void pb_done(struct ipsec_pkt *p) {
  struct pbuf *pb = (struct pbuf *)p;
  struct gw_thread *t = pb->owner;
  if (t == tl_self) {
    take_completions(t); /* what others finished before this one goes first */
    rdy_append(t, pb, pb, 1);
    return;
  }
  pb->next = NULL;
  pthread_mutex_lock(&t->cq_lock);
  if (t->cq_tail != NULL)
    t->cq_tail->next = pb;
  else
    t->cq_head = pb;
  t->cq_tail = pb;
  atomic_fetch_add_explicit(&t->cq_n, 1, memory_order_release);
  bool wake = !t->cq_signaled;
  t->cq_signaled = true;
  pthread_mutex_unlock(&t->cq_lock);
  if (wake) {
    uint64_t one = 1;
    if (write(t->efd, &one, sizeof(one)) < 0) { /* counter full: it is awake anyway */
    }
  }
}

void wait_events(struct gw_thread *t, struct pollfd *pfd, int n, int timeout_ms) {
  pfd[n].fd = t->efd;
  pfd[n].events = POLLIN;
  pfd[n].revents = 0;
  if (atomic_load_explicit(&t->cq_n, memory_order_acquire) != 0) return;
  int r = poll(pfd, (nfds_t)n + 1, timeout_ms);
  atomic_fetch_add_explicit(&t->c.wakeups, 1, memory_order_relaxed);
  if (r > 0 && (pfd[n].revents & POLLIN)) {
    uint64_t v;
    if (read(t->efd, &v, sizeof(v)) < 0) { /* EAGAIN: someone else read it */
    }
  }
}

static void count_verdict(struct gw_thread *t, enum ipsec_verdict v) {
  if ((unsigned)v < IPSEC_VERDICT__MAX)
    atomic_fetch_add_explicit(&t->c.verdict[v], 1, memory_order_relaxed);
}

/* --- outbound -------------------------------------------------------------------------- */

static int sock_for(struct gw *g, const struct ipsec_pkt *p) {
  int f = p->outer.dst.family == AF_INET6 ? 1 : 0;
  if (p->outer.proto == IPPROTO_UDP) return g->udp[f];
  int k = gw_raw_index(p->outer.proto);
  return k < 0 ? -1 : g->raw[f][k];
}

/* at most one message a second for each kind of trouble */
static bool log_now(_Atomic uint64_t *last) {
  uint64_t now = gw_now_ns(), prev = atomic_load(last);
  return now - prev >= 1000000000u && atomic_compare_exchange_strong(last, &prev, now);
}

static void log_send_error(int err, const struct ipsec_pkt *p) {
  static _Atomic uint64_t last;
  if (!log_now(&last)) return;
  char a[64];
  gw_log(1, "send to %s failed: %s (packet dropped; further errors this second not logged)",
         ipsec_addr_format(&p->outer.dst, a, sizeof(a)), strerror(err));
}

void gw_log_crypto_error(const struct ipsec_pkt *p, bool out) {
  static _Atomic uint64_t last;
  if (!log_now(&last)) return;
  struct ipsec_sa_info i = {.name = "-"};
  if (p->nsa > 0) ipsec_sa_info(p->sa[p->nsa - 1], &i);
  gw_log(1,
         "%s packet of sa '%s' dropped: the framework could not process it: %s (further "
         "failures this second not logged)",
         out ? "outbound" : "inbound", i.name, ocf_strerror(p->error));
}

#define MSGS 16 /* messages per sendmmsg */
#define SEGS 64 /* packets per message with UDP segmentation offload */

/* what goes to the socket: the payload after the outer IP (and UDP) header,
 * or for raw IPv4 (IP_HDRINCL) the whole packet */
static bool whole(const struct pbuf *q) {
  return q->ip.outer.proto != IPPROTO_UDP && q->ip.outer.dst.family == AF_INET;
}
static size_t wire_off(const struct pbuf *q) { return whole(q) ? 0 : q->ip.payload_off; }
static size_t wire_len(const struct pbuf *q) { return q->ip.len - wire_off(q); }

static bool same_peer(const struct pbuf *a, const struct pbuf *b) {
  return a->ip.outer.dport == b->ip.outer.dport &&
         a->ip.outer.dst.family == b->ip.outer.dst.family &&
         memcmp(a->ip.outer.dst.a, b->ip.outer.dst.a, 16) == 0;
}

static void pop_head(struct gw_thread *t) {
  struct pbuf *pb = t->rdy_head;
  t->rdy_head = pb->next;
  if (t->rdy_head == NULL) t->rdy_tail = NULL;
  t->nrdy--;
  pool_put(t, pb);
}

/* Sends the ready list, in order; stops (blocked) when the socket is full.
 * Consecutive ESP-in-UDP packets to one peer of one size (the last may be
 * shorter) go as one message with UDP segmentation offload (UDP_SEGMENT):
 * one trip through the kernel's UDP and IP output for up to 64 packets,
 * cut by the device or, on a veth, delivered whole to a receiver that asked
 * for UDP_GRO. */
static void out_flush(struct gw_thread *t) {
  struct gw *g = t->g;
  struct mmsghdr mm[MSGS];
  struct iovec iov[MSGS][SEGS];
  struct sockaddr_storage sa[MSGS];
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } cm[MSGS];
  int nseg[MSGS];
  t->blocked = BLK_NONE;
  while (t->rdy_head != NULL) {
    /* drops and other verdicts at the head end here */
    struct pbuf *pb = t->rdy_head;
    if (pb->ip.verdict != IPSEC_OK || sock_for(g, &pb->ip) < 0) {
      enum ipsec_verdict v = pb->ip.verdict;
      count_verdict(t, v);
      if (v == IPSEC_DROP_CRYPTO) gw_log_crypto_error(&pb->ip, true);
      if (v == IPSEC_OK) /* no socket for this family or protocol */
        atomic_fetch_add_explicit(&t->c.send_err, 1, memory_order_relaxed);
      else if (v == IPSEC_DROP_TOOBIG && pb->ip.mtu > 0 &&
               icmp_too_big(t, pb->ip.buf + pb->ip.off, pb->ip.len, pb->ip.mtu))
        atomic_fetch_add_explicit(&t->c.icmp_sent, 1, memory_order_relaxed);
      pop_head(t);
      continue;
    }
    int fd = sock_for(g, &pb->ip), m = 0;
    bool gso = atomic_load_explicit(&g->udp_gso, memory_order_relaxed) &&
               pb->ip.outer.proto == IPPROTO_UDP;
    struct pbuf *q = pb;
    while (q != NULL && m < MSGS && q->ip.verdict == IPSEC_OK && sock_for(g, &q->ip) == fd) {
      struct pbuf *first = q;
      size_t seg = wire_len(q), total = 0;
      int k = 0;
      for (;;) {
        iov[m][k].iov_base = q->ip.buf + q->ip.off + wire_off(q);
        iov[m][k].iov_len = wire_len(q);
        total += wire_len(q);
        k++;
        bool short_seg = wire_len(q) < seg;
        q = q->next;
        if (!gso || short_seg || q == NULL || k == SEGS || q->ip.verdict != IPSEC_OK ||
            sock_for(g, &q->ip) != fd || !same_peer(q, first) || wire_len(q) > seg ||
            total + wire_len(q) > 65000)
          break;
      }
      socklen_t sl;
      gw_sockaddr(&first->ip.outer.dst,
                  first->ip.outer.proto == IPPROTO_UDP ? first->ip.outer.dport : 0, &sa[m], &sl);
      memset(&mm[m], 0, sizeof(mm[m]));
      mm[m].msg_hdr.msg_name = &sa[m];
      mm[m].msg_hdr.msg_namelen = sl;
      mm[m].msg_hdr.msg_iov = iov[m];
      mm[m].msg_hdr.msg_iovlen = (size_t)k;
      if (k > 1) {
        mm[m].msg_hdr.msg_control = cm[m].buf;
        mm[m].msg_hdr.msg_controllen = sizeof(cm[m].buf);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mm[m].msg_hdr);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t gs = (uint16_t)seg;
        memcpy(CMSG_DATA(c), &gs, sizeof(gs));
      }
      nseg[m++] = k;
    }
    int r = sendmmsg(fd, mm, (unsigned)m, MSG_DONTWAIT);
    atomic_fetch_add_explicit(&t->c.net_calls, 1, memory_order_relaxed);
    if (r < 0) {
      int e = errno;
      if (e == EINTR) continue;
      if (e == EAGAIN || e == EWOULDBLOCK) {
        t->blocked = BLK_AGAIN;
        t->blocked_fd = fd;
      } else if (e == ENOBUFS || e == ENOMEM) {
        t->blocked = BLK_NOBUFS;
      } else if (nseg[0] > 1 && (e == EIO || e == EINVAL || e == ENOPROTOOPT)) {
        /* the kernel or the route cannot segment: one datagram each from now on */
        gw_log(1, "UDP segmentation offload refused (%s): sending one datagram per packet",
               strerror(e));
        atomic_store(&g->udp_gso, 0);
        continue;
      } else { /* these packets can never go: drop them, go on */
        log_send_error(e, &pb->ip);
        atomic_fetch_add_explicit(&t->c.send_err, (uint64_t)nseg[0], memory_order_relaxed);
        for (int i = 0; i < nseg[0]; i++) pop_head(t);
        continue;
      }
      atomic_fetch_add_explicit(&t->c.backpressure, 1, memory_order_relaxed);
      return;
    }
    uint64_t bytes = 0, pkts = 0;
    for (int i = 0; i < r; i++) {
      bytes += mm[i].msg_len;
      pkts += (uint64_t)nseg[i];
      for (int j = 0; j < nseg[i]; j++) {
        count_verdict(t, IPSEC_OK);
        pop_head(t);
      }
    }
    atomic_fetch_add_explicit(&t->c.net_tx, pkts, memory_order_relaxed);
    atomic_fetch_add_explicit(&t->c.net_tx_bytes, bytes, memory_order_relaxed);
  }
}

void pkt_start(struct gw_thread *t, struct pbuf *pb, size_t off, size_t len) {
  ipsec_pkt_init(&pb->ip, pb->data, t->bufsize, off, len, pb_done, NULL);
}

static int emit_out(void *arg, const uint8_t *h, size_t hl, const uint8_t *d, size_t dl) {
  struct gw_thread *t = arg;
  size_t room = t->bufsize - PB_HEAD - PB_TAIL;
  if (hl + dl > room) return -1; /* cannot happen with gso_split's mtu; be safe */
  if (t->npk == (int)(sizeof(t->pk) / sizeof(t->pk[0]))) return 1;
  struct pbuf *pb = pool_get(t);
  if (pb == NULL) return 1;
  memcpy(pb->data + PB_HEAD, h, hl);
  if (dl) memcpy(pb->data + PB_HEAD + hl, d, dl);
  pkt_start(t, pb, PB_HEAD, hl + dl);
  t->pk[t->npk++] = pb;
  atomic_fetch_add_explicit(&t->c.tun_rx, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&t->c.tun_rx_bytes, hl + dl, memory_order_relaxed);
  return 0;
}

/* Reads from the TUN until a batch is full, the pool is empty or nothing is
 * left, then hands the batch to the library.  Returns packets handed. */
static int out_read(struct gw_thread *t) {
  struct gw *g = t->g;
  const size_t vh = sizeof(struct virtio_net_hdr);
  t->npk = 0;
  while (t->npk < GW_BATCH && atomic_load_explicit(&t->nfree, memory_order_relaxed) > 0) {
    if (g->vnet) {
      if (!t->big_active) {
        ssize_t r = read(t->tun, t->big, GW_GSO_MAX + vh);
        if (r < 0) {
          if (errno != EAGAIN && errno != EINTR) atomic_fetch_add(&t->c.tun_err, 1);
          break;
        }
        atomic_fetch_add_explicit(&t->c.tun_reads, 1, memory_order_relaxed);
        if ((size_t)r <= vh) continue;
        t->big_len = (size_t)r;
        t->big_next = 0;
        t->big_active = true;
      }
      struct virtio_net_hdr h;
      memcpy(&h, t->big, vh);
      int k = gso_split(&h, t->big + vh, t->big_len - vh, g->mtu, &t->big_next, emit_out, t);
      if (k < 0) { /* a header we cannot honour: counted, never seen by the library */
        atomic_fetch_add_explicit(&t->c.gso_err, 1, memory_order_relaxed);
        t->big_active = false;
        continue;
      }
      if (t->big_next == GSO_DONE)
        t->big_active = false;
      else
        break; /* out of buffers: the rest waits */
    } else {
      struct pbuf *pb = pool_get(t);
      ssize_t r = read(t->tun, pb->data + PB_HEAD, t->bufsize - PB_HEAD - PB_TAIL);
      if (r <= 0) {
        if (r < 0 && errno != EAGAIN && errno != EINTR) atomic_fetch_add(&t->c.tun_err, 1);
        pool_put(t, pb);
        break;
      }
      atomic_fetch_add_explicit(&t->c.tun_reads, 1, memory_order_relaxed);
      atomic_fetch_add_explicit(&t->c.tun_rx, 1, memory_order_relaxed);
      atomic_fetch_add_explicit(&t->c.tun_rx_bytes, (uint64_t)r, memory_order_relaxed);
      pkt_start(t, pb, PB_HEAD, (size_t)r);
      t->pk[t->npk++] = pb;
    }
  }
  int n = t->npk;
  if (n == 0) return 0;
  struct ipsec_pkt *pp[4 * GW_BATCH];
  for (int i = 0; i < n; i++) pp[i] = &t->pk[i]->ip;
  int acc = ipsec_output_batch(g->ctx, pp, n);
  for (int i = acc < 0 ? 0 : acc; i < n; i++) { /* refused: our bug, but never a leak */
    count_verdict(t, IPSEC_DROP_MALFORMED);
    pool_put(t, t->pk[i]);
  }
  return n;
}

static void *out_main(void *arg) {
  struct gw_thread *t = arg;
  struct gw *g = t->g;
  path_bind_thread(t);
  while (!atomic_load_explicit(&g->stop, memory_order_relaxed)) {
    take_completions(t);
    out_flush(t);
    if (t->blocked == BLK_NONE && atomic_load_explicit(&t->nfree, memory_order_relaxed) > 0 &&
        out_read(t) > 0)
      continue;
    struct pollfd pfd[2];
    int n = 0;
    if (t->blocked == BLK_AGAIN) {
      pfd[n].fd = t->blocked_fd;
      pfd[n++].events = POLLOUT;
    } else if (t->blocked == BLK_NONE &&
               atomic_load_explicit(&t->nfree, memory_order_relaxed) > 0) {
      pfd[n].fd = t->tun;
      pfd[n++].events = POLLIN;
    }
    wait_events(t, pfd, n, t->blocked == BLK_NOBUFS ? 1 : 500);
  }
  return NULL;
}

/* --- threads ---------------------------------------------------------------------------- */

static struct gw_thread *thread_new(struct gw *g, int q, bool out, size_t bufsize) {
  struct gw_thread *t = calloc(1, sizeof(*t));
  if (t == NULL) return NULL;
  t->g = g;
  t->q = q;
  t->out = out;
  t->tun = g->tun_fd[q];
  t->bufsize = bufsize;
  pthread_mutex_init(&t->cq_lock, NULL);
  t->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (g->vnet) t->gro.buf = malloc(GW_GSO_MAX + sizeof(struct virtio_net_hdr) + 256);
  if (out && g->vnet) t->big = malloc(GW_GSO_MAX + sizeof(struct virtio_net_hdr));
  if (!out && g->udp_gro) t->rbuf = malloc(16 * (size_t)GW_GSO_MAX);
  if (t->efd < 0 || (g->vnet && t->gro.buf == NULL) || (out && g->vnet && t->big == NULL) ||
      (!out && g->udp_gro && t->rbuf == NULL) || pool_init(t, g->conf->pool) != 0) {
    if (t->efd >= 0) close(t->efd);
    free(t->gro.buf);
    free(t->big);
    free(t->rbuf);
    free(t);
    return NULL;
  }
  return t;
}

static void thread_free(struct gw_thread *t) {
  if (t == NULL) return;
  close(t->efd);
  pthread_mutex_destroy(&t->cq_lock);
  free(t->mem);
  free(t->gro.buf);
  free(t->big);
  free(t->rbuf);
  free(t);
}

int gw_threads_start(struct gw *g) {
  size_t mtu = g->conf->link_mtu > g->mtu ? g->conf->link_mtu : g->mtu;
  if (mtu < 1500) mtu = 1500;
  size_t bufsize = (PB_HEAD + mtu + PB_TAIL + 64 + 63) & ~(size_t)63;
  for (int q = 0; q < g->nqueues; q++) {
    g->out[q] = thread_new(g, q, true, bufsize);
    if (g->out[q] == NULL) return ENOMEM;
  }
  /* one inbound thread: one socket per family, so one reader keeps order */
  g->in[0] = thread_new(g, 0, false, bufsize);
  if (g->in[0] == NULL) return ENOMEM;
  for (int q = 0; q < g->nqueues; q++) {
    struct gw_thread *ts[2] = {g->out[q], q == 0 ? g->in[0] : NULL};
    for (int k = 0; k < 2; k++) {
      if (ts[k] == NULL) continue;
      int rc = pthread_create(&ts[k]->tid, NULL, ts[k]->out ? out_main : in_main, ts[k]);
      if (rc != 0) return rc;
      ts[k]->started = true;
      char name[16];
      snprintf(name, sizeof(name), "ipsecd-%s%u", ts[k]->out ? "out" : "in", (unsigned)q % 100);
      pthread_setname_np(ts[k]->tid, name);
    }
  }
  return 0;
}

void gw_threads_stop(struct gw *g) {
  atomic_store(&g->stop, 1);
  struct gw_thread *all[2 * GW_MAX_QUEUES];
  int n = 0;
  for (int q = 0; q < GW_MAX_QUEUES; q++) {
    if (g->out[q]) all[n++] = g->out[q];
    if (g->in[q]) all[n++] = g->in[q];
  }
  for (int i = 0; i < n; i++) {
    uint64_t one = 1;
    if (write(all[i]->efd, &one, sizeof(one)) < 0) { /* already signalled */
    }
  }
  for (int i = 0; i < n; i++)
    if (all[i]->started) pthread_join(all[i]->tid, NULL);
  /* packets still with a producer come back to the (stopped) owners' queues */
  if (g->ctx != NULL) ipsec_ctx_drain(g->ctx);
  for (int q = 0; q < GW_MAX_QUEUES; q++) {
    thread_free(g->out[q]);
    thread_free(g->in[q]);
    g->out[q] = g->in[q] = NULL;
  }
}

static void add_counters(struct gw_counters *o, struct gw_counters *c) {
  _Atomic uint64_t *src = (_Atomic uint64_t *)c, *dst = (_Atomic uint64_t *)o;
  for (size_t i = 0; i < sizeof(*c) / sizeof(uint64_t); i++)
    atomic_fetch_add_explicit(&dst[i], atomic_load_explicit(&src[i], memory_order_relaxed),
                              memory_order_relaxed);
}

void gw_counters_sum(struct gw *g, struct gw_counters *out) {
  memset(out, 0, sizeof(*out));
  for (int q = 0; q < GW_MAX_QUEUES; q++) {
    if (g->out[q]) add_counters(out, &g->out[q]->c);
    if (g->in[q]) add_counters(out, &g->in[q]->c);
  }
}

void gw_pool_stats(struct gw *g, uint64_t *used, uint64_t *total) {
  *used = *total = 0;
  for (int q = 0; q < GW_MAX_QUEUES; q++) {
    struct gw_thread *ts[2] = {g->out[q], g->in[q]};
    for (int k = 0; k < 2; k++) {
      if (ts[k] == NULL) continue;
      int nf = atomic_load_explicit(&ts[k]->nfree, memory_order_relaxed);
      *used += (uint64_t)(ts[k]->ntotal - nf);
      *total += (uint64_t)ts[k]->ntotal;
    }
  }
}
