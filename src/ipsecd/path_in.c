/* path_in.c - the inbound path: socket -> ipsec_input -> TUN, and the ICMP
 * errors the gateway sends back into the TUN.
 *
 * Datagrams come in with recvmmsg, a batch per wake-up, straight into the
 * packet buffers (at PB_HEAD, so the library can rebuild the outer IP and UDP
 * headers in front: ESP-in-UDP is checked against the SA's addresses and
 * ports like any packet).  Decrypted packets go to the TUN in completion
 * order; with offloads on, consecutive TCP segments of one flow are
 * coalesced into one write (gso.c). */
#include <errno.h>
#include <linux/virtio_net.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipsecd/path.h"

/* --- reading ------------------------------------------------------------------ */

struct insock {
  int fd;
  int family;
  bool udp;
};

static int in_socks(struct gw *g, struct insock *s) {
  int n = 0;
  for (int f = 0; f < 2; f++) {
    if (g->udp[f] >= 0) s[n++] = (struct insock){g->udp[f], f ? AF_INET6 : AF_INET, true};
    for (int p = 0; p < 3; p++)
      if (g->raw[f][p] >= 0) s[n++] = (struct insock){g->raw[f][p], f ? AF_INET6 : AF_INET, false};
  }
  return n;
}

static void addr_from_sockaddr(const struct sockaddr_storage *ss, struct ipsec_addr *a,
                               uint16_t *port) {
  memset(a, 0, sizeof(*a));
  if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
    a->family = AF_INET6;
    memcpy(a->a, &s6->sin6_addr, 16);
    *port = ntohs(s6->sin6_port);
  } else {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
    a->family = AF_INET;
    memcpy(a->a, &s4->sin_addr, 4);
    *port = ntohs(s4->sin_port);
  }
}

/* the destination address the datagram was sent to (IP_PKTINFO) */
static void dst_from_cmsg(struct msghdr *mh, int family, struct ipsec_addr *a) {
  memset(a, 0, sizeof(*a));
  for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      struct in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof(pi));
      a->family = AF_INET;
      memcpy(a->a, &pi.ipi_addr, 4);
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      struct in6_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof(pi));
      a->family = AF_INET6;
      memcpy(a->a, &pi.ipi6_addr, 16);
    }
  }
  (void)family;
}

static void wr16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

/* raw IPv6 sockets return the payload only: put the header back */
static bool rebuild_ip6(struct pbuf *pb, const struct ipsec_addr *src, const struct ipsec_addr *dst,
                        uint8_t proto) {
  struct ipsec_pkt *p = &pb->ip;
  if (p->off < 40 || dst->family != AF_INET6 || p->len > 65535) return false;
  p->off -= 40;
  p->len += 40;
  uint8_t *h = p->buf + p->off;
  memset(h, 0, 8);
  h[0] = 0x60;
  wr16(h + 4, (uint16_t)(p->len - 40));
  h[6] = proto;
  h[7] = 64;
  memcpy(h + 8, src->a, 16);
  memcpy(h + 24, dst->a, 16);
  return true;
}

#define MAXIN 1024 /* packets handed to the library per wake-up */
#define RMSGS 16   /* coalesced datagrams per recvmmsg */
#define RSEGS 64   /* the kernel coalesces at most 64 datagrams into one */

union ctlbuf {
  char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo)) +
           CMSG_SPACE(sizeof(int))];
  struct cmsghdr align;
};

/* the segment size of a coalesced datagram (UDP_GRO), 0 for a plain one */
static int gro_size(struct msghdr *mh) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c))
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
      int v;
      memcpy(&v, CMSG_DATA(c), sizeof(v));
      return v;
    }
  return 0;
}

/* what arrived on so: IP_PKTINFO's destination, the sender; false when the
 * packet cannot be one of ours (it is counted, the buffer goes back) */
static bool place(struct gw_thread *t, struct pbuf *pb, const struct insock *so,
                  const struct sockaddr_storage *from, struct msghdr *mh) {
  struct gw *g = t->g;
  struct ipsec_addr src, dst;
  uint16_t sport;
  addr_from_sockaddr(from, &src, &sport);
  dst_from_cmsg(mh, so->family, &dst);
  if (so->udp) {
    pb->ip.flags = IPSEC_PKT_UDP_PAYLOAD;
    pb->ip.outer.src = src;
    pb->ip.outer.dst = dst;
    pb->ip.outer.sport = sport;
    pb->ip.outer.dport = g->port; /* g->conf is the main thread's */
    pb->ip.outer.proto = IPPROTO_UDP;
  } else if (so->family == AF_INET6) {
    uint8_t proto = 0;
    for (int f = 0; f < 3; f++)
      if (g->raw[1][f] == so->fd) proto = f == 0 ? IPPROTO_ESP : f == 1 ? IPPROTO_AH : IPPROTO_COMP;
    if (!rebuild_ip6(pb, &src, &dst, proto)) {
      atomic_fetch_add_explicit(&t->c.oversize, 1, memory_order_relaxed);
      return false;
    }
  }
  return true;
}

/* one datagram per buffer: raw sockets, or UDP without coalescing */
static void read_each(struct gw_thread *t, const struct insock *so, struct ipsec_pkt **pp,
                      int *total) {
  struct mmsghdr mm[GW_BATCH];
  struct iovec iov[GW_BATCH];
  struct sockaddr_storage from[GW_BATCH];
  union ctlbuf ctl[GW_BATCH];
  struct pbuf *pbs[GW_BATCH];
  int k = 0;
  while (k < GW_BATCH && *total + k < MAXIN && (pbs[k] = pool_get(t)) != NULL) {
    iov[k].iov_base = pbs[k]->data + PB_HEAD;
    iov[k].iov_len = t->bufsize - PB_HEAD - PB_TAIL;
    memset(&mm[k], 0, sizeof(mm[k]));
    mm[k].msg_hdr.msg_name = &from[k];
    mm[k].msg_hdr.msg_namelen = sizeof(from[k]);
    mm[k].msg_hdr.msg_iov = &iov[k];
    mm[k].msg_hdr.msg_iovlen = 1;
    mm[k].msg_hdr.msg_control = ctl[k].buf;
    mm[k].msg_hdr.msg_controllen = sizeof(ctl[k].buf);
    k++;
  }
  if (k == 0) return;
  int r = recvmmsg(so->fd, mm, (unsigned)k, MSG_DONTWAIT, NULL);
  atomic_fetch_add_explicit(&t->c.net_calls, 1, memory_order_relaxed);
  int got = r < 0 ? 0 : r;
  for (int i = got; i < k; i++) pool_put(t, pbs[i]);
  uint64_t bytes = 0;
  for (int i = 0; i < got; i++) {
    struct pbuf *pb = pbs[i];
    size_t len = mm[i].msg_len;
    bytes += len;
    if (mm[i].msg_hdr.msg_flags & MSG_TRUNC) { /* larger than any buffer: cannot be ours */
      atomic_fetch_add_explicit(&t->c.oversize, 1, memory_order_relaxed);
      pool_put(t, pb);
      continue;
    }
    pkt_start(t, pb, PB_HEAD, len);
    if (!place(t, pb, so, &from[i], &mm[i].msg_hdr)) {
      pool_put(t, pb);
      continue;
    }
    pp[(*total)++] = &pb->ip;
  }
  atomic_fetch_add_explicit(&t->c.net_rx, (uint64_t)got, memory_order_relaxed);
  atomic_fetch_add_explicit(&t->c.net_rx_bytes, bytes, memory_order_relaxed);
}

/* UDP with coalescing: a message may hold up to 64 datagrams of one sender
 * (all of one size but the last); each becomes a packet of its own.  Only
 * as many messages are taken as the free buffers can hold whole. */
static void read_gro(struct gw_thread *t, const struct insock *so, struct ipsec_pkt **pp,
                     int *total) {
  int k = atomic_load_explicit(&t->nfree, memory_order_relaxed) / RSEGS;
  if (k > RMSGS) k = RMSGS;
  if (k > (MAXIN - *total) / RSEGS) k = (MAXIN - *total) / RSEGS;
  if (k <= 0) return;
  struct mmsghdr mm[RMSGS];
  struct iovec iov[RMSGS];
  struct sockaddr_storage from[RMSGS];
  union ctlbuf ctl[RMSGS];
  for (int i = 0; i < k; i++) {
    iov[i].iov_base = t->rbuf + (size_t)i * GW_GSO_MAX;
    iov[i].iov_len = GW_GSO_MAX;
    memset(&mm[i], 0, sizeof(mm[i]));
    mm[i].msg_hdr.msg_name = &from[i];
    mm[i].msg_hdr.msg_namelen = sizeof(from[i]);
    mm[i].msg_hdr.msg_iov = &iov[i];
    mm[i].msg_hdr.msg_iovlen = 1;
    mm[i].msg_hdr.msg_control = ctl[i].buf;
    mm[i].msg_hdr.msg_controllen = sizeof(ctl[i].buf);
  }
  int r = recvmmsg(so->fd, mm, (unsigned)k, MSG_DONTWAIT, NULL);
  atomic_fetch_add_explicit(&t->c.net_calls, 1, memory_order_relaxed);
  uint64_t bytes = 0, n = 0;
  size_t room = t->bufsize - PB_HEAD - PB_TAIL;
  for (int i = 0; i < r; i++) {
    size_t len = mm[i].msg_len;
    size_t seg = (size_t)gro_size(&mm[i].msg_hdr);
    if (seg == 0 || seg > len) seg = len;
    bytes += len;
    for (size_t off = 0; off < len; off += seg) {
      size_t dl = len - off < seg ? len - off : seg;
      n++;
      if (dl > room || (mm[i].msg_hdr.msg_flags & MSG_TRUNC)) {
        atomic_fetch_add_explicit(&t->c.oversize, 1, memory_order_relaxed);
        continue;
      }
      struct pbuf *pb = pool_get(t); /* there is one: k * RSEGS were free */
      memcpy(pb->data + PB_HEAD, (uint8_t *)iov[i].iov_base + off, dl);
      pkt_start(t, pb, PB_HEAD, dl);
      if (!place(t, pb, so, &from[i], &mm[i].msg_hdr)) {
        pool_put(t, pb);
        continue;
      }
      pp[(*total)++] = &pb->ip;
    }
  }
  atomic_fetch_add_explicit(&t->c.net_rx, n, memory_order_relaxed);
  atomic_fetch_add_explicit(&t->c.net_rx_bytes, bytes, memory_order_relaxed);
}

static int in_read(struct gw_thread *t, const struct insock *socks, int ns, int *rr) {
  struct ipsec_pkt *pp[MAXIN];
  int total = 0;
  for (int s = 0; s < ns && total < MAXIN; s++) {
    const struct insock *so = &socks[(*rr + s) % ns];
    if (so->udp && t->rbuf != NULL)
      read_gro(t, so, pp, &total);
    else
      read_each(t, so, pp, &total);
  }
  *rr = (*rr + 1) % (ns ? ns : 1);
  if (total == 0) return 0;
  int acc = ipsec_input_batch(t->g->ctx, pp, total);
  for (int i = acc < 0 ? 0 : acc; i < total; i++) { /* refused: our bug, but never a leak */
    atomic_fetch_add_explicit(&t->c.verdict[IPSEC_DROP_MALFORMED], 1, memory_order_relaxed);
    pool_put(t, (struct pbuf *)pp[i]);
  }
  return total;
}

/* --- writing -------------------------------------------------------------------- */

static void pop(struct gw_thread *t) {
  struct pbuf *pb = t->rdy_head;
  t->rdy_head = pb->next;
  if (t->rdy_head == NULL) t->rdy_tail = NULL;
  t->nrdy--;
  pool_put(t, pb);
}

/* 0 written, EAGAIN blocked, another errno: the TUN refused it for good */
static int tun_write(struct gw_thread *t, const void *p, size_t n, int segs, size_t bytes) {
  for (;;) {
    ssize_t r = write(t->tun, p, n);
    atomic_fetch_add_explicit(&t->c.tun_writes, 1, memory_order_relaxed);
    if (r >= 0) {
      atomic_fetch_add_explicit(&t->c.tun_tx, (uint64_t)segs, memory_order_relaxed);
      atomic_fetch_add_explicit(&t->c.tun_tx_bytes, bytes, memory_order_relaxed);
      return 0;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return EAGAIN;
    atomic_fetch_add_explicit(&t->c.tun_err, (uint64_t)segs, memory_order_relaxed);
    return errno;
  }
}

struct inflush {
  size_t pending; /* a coalesced packet built and not yet written (bytes) */
  int pending_segs;
  size_t pending_bytes;
};

static int gro_write(struct gw_thread *t, struct inflush *f) {
  if (f->pending == 0) {
    if (t->gro.ver == 0) return 0;
    f->pending_segs = t->gro.segs;
    f->pending_bytes = t->gro.len;
    f->pending = gro_finish(&t->gro);
  }
  int rc = tun_write(t, t->gro.buf, f->pending, f->pending_segs, f->pending_bytes);
  if (rc == EAGAIN) return EAGAIN;
  f->pending = 0;
  return 0;
}

static void in_flush(struct gw_thread *t, struct inflush *f) {
  struct gw *g = t->g;
  const size_t vh = sizeof(struct virtio_net_hdr);
  t->blocked = BLK_NONE;
  if (f->pending && gro_write(t, f) == EAGAIN) {
    t->blocked = BLK_AGAIN;
    return;
  }
  while (t->rdy_head != NULL) {
    struct pbuf *pb = t->rdy_head;
    enum ipsec_verdict v = pb->ip.verdict;
    if (v != IPSEC_OK) {
      if (v == IPSEC_IKE) atomic_fetch_add_explicit(&t->c.ike, 1, memory_order_relaxed);
      if (v == IPSEC_DROP_CRYPTO) gw_log_crypto_error(&pb->ip, false);
      atomic_fetch_add_explicit(&t->c.verdict[v], 1, memory_order_relaxed);
      pop(t);
      continue;
    }
    uint8_t *p = pb->ip.buf + pb->ip.off;
    size_t n = pb->ip.len;
    if (g->vnet) {
      if (gro_add(&t->gro, p, n)) {
        atomic_fetch_add_explicit(&t->c.verdict[IPSEC_OK], 1, memory_order_relaxed);
        pop(t);
        continue;
      }
      if (t->gro.ver != 0 || f->pending) { /* ends the coalesced packet */
        if (gro_write(t, f) == EAGAIN) {
          t->blocked = BLK_AGAIN;
          return;
        }
        continue; /* this packet may start the next one */
      }
      /* not coalescable: alone, behind a plain virtio-net header */
      memset(p - vh, 0, vh);
      p -= vh;
      n += vh;
    }
    int rc = tun_write(t, p, n, 1, pb->ip.len);
    if (rc == EAGAIN) {
      t->blocked = BLK_AGAIN;
      atomic_fetch_add_explicit(&t->c.backpressure, 1, memory_order_relaxed);
      return;
    }
    atomic_fetch_add_explicit(&t->c.verdict[IPSEC_OK], 1, memory_order_relaxed);
    pop(t);
  }
  if (gro_write(t, f) == EAGAIN) t->blocked = BLK_AGAIN;
}

void *in_main(void *arg) {
  struct gw_thread *t = arg;
  struct gw *g = t->g;
  path_bind_thread(t);
  struct insock socks[MAX_FDS];
  int ns = in_socks(g, socks), rr = 0;
  struct inflush f = {0};
  while (!atomic_load_explicit(&g->stop, memory_order_relaxed)) {
    take_completions(t);
    in_flush(t, &f);
    if (t->blocked == BLK_NONE && atomic_load_explicit(&t->nfree, memory_order_relaxed) > 0 &&
        in_read(t, socks, ns, &rr) > 0)
      continue;
    struct pollfd pfd[MAX_FDS + 1];
    int n = 0;
    if (t->blocked != BLK_NONE) {
      pfd[n].fd = t->tun;
      pfd[n++].events = POLLOUT;
    } else if (atomic_load_explicit(&t->nfree, memory_order_relaxed) > 0) {
      for (int i = 0; i < ns; i++) {
        pfd[n].fd = socks[i].fd;
        pfd[n++].events = POLLIN;
      }
    }
    wait_events(t, pfd, n, 500);
  }
  return NULL;
}

/* --- ICMP errors ------------------------------------------------------------------- */

/* The error says it comes from the packet's destination: the TUN device's
 * own address would be local to a sender on this host, and the kernel drops
 * packets from outside that claim a local source. */
bool icmp_too_big(struct gw_thread *t, const uint8_t *p, size_t n, uint32_t mtu) {
  struct gw *g = t->g;
  const size_t vh = g->vnet ? sizeof(struct virtio_net_hdr) : 0;
  uint8_t out[16 + 1280];
  uint8_t *h = out + vh;
  memset(out, 0, vh);
  if (n >= 20 && p[0] >> 4 == 4) {
    size_t ihl = (size_t)(p[0] & 15) * 4;
    if (ihl < 20 || n < ihl) return false;
    if (p[9] == IPPROTO_ICMP && n > ihl && p[ihl] != 8 && p[ihl] != 0 && p[ihl] != 13 &&
        p[ihl] != 14)
      return false; /* never an error about an error */
    size_t quote = n < 548 ? n : 548;
    size_t len = 20 + 8 + quote;
    memset(h, 0, 28);
    h[0] = 0x45;
    wr16(h + 2, (uint16_t)len);
    h[8] = 64;
    h[9] = IPPROTO_ICMP;
    memcpy(h + 12, p + 16, 4);
    memcpy(h + 16, p + 12, 4);
    wr16(h + 10, (uint16_t)~gw_csum_fold(gw_csum_add(0, h, 20)));
    uint8_t *ic = h + 20;
    ic[0] = 3; /* destination unreachable */
    ic[1] = 4; /* fragmentation needed and DF set */
    wr16(ic + 6, (uint16_t)(mtu > 65535 ? 65535 : mtu));
    memcpy(ic + 8, p, quote);
    wr16(ic + 2, (uint16_t)~gw_csum_fold(gw_csum_add(0, ic, 8 + quote)));
    return tun_write(t, out, vh + len, 1, len) == 0;
  }
  if (n >= 40 && p[0] >> 4 == 6) {
    if (p[6] == 58 && n > 40 && p[40] < 128) return false;
    size_t quote = n < 1280 - 48 ? n : 1280 - 48;
    size_t len = 40 + 8 + quote;
    memset(h, 0, 48);
    h[0] = 0x60;
    wr16(h + 4, (uint16_t)(8 + quote));
    h[6] = 58;
    h[7] = 64;
    memcpy(h + 8, p + 24, 16);
    memcpy(h + 24, p + 8, 16);
    uint8_t *ic = h + 40;
    ic[0] = 2; /* packet too big */
    ic[4] = (uint8_t)(mtu >> 24);
    ic[5] = (uint8_t)(mtu >> 16);
    ic[6] = (uint8_t)(mtu >> 8);
    ic[7] = (uint8_t)mtu;
    memcpy(ic + 8, p, quote);
    uint64_t s = gw_csum_add(0, h + 8, 32) + 58 + 8 + quote;
    s = gw_csum_add(s, ic, 8 + quote);
    wr16(ic + 2, (uint16_t)~gw_csum_fold(s));
    return tun_write(t, out, vh + len, 1, len) == 0;
  }
  return false;
}
