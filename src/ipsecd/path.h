/* path.h - what the two halves of the data path (path.c: buffers, queues,
 * outbound; path_in.c: inbound) share.  Private to src/ipsecd. */
#ifndef OCF_IPSECD_PATH_H
#define OCF_IPSECD_PATH_H

#include <poll.h>

#include "ipsecd/ipsecd.h"

/* pbuf - one packet buffer: the library's packet, then the bytes.  Owned by
 * one thread (owner); other threads only hand it back through the owner's
 * completion queue. */
struct pbuf {
  struct ipsec_pkt ip;
  struct pbuf *next;
  struct gw_thread *owner;
  uint8_t data[] __attribute__((aligned(64)));
};

#define PB_HEAD 128 /* room before a packet: IPSEC_HEADROOM */
#define PB_TAIL 64  /* room after it: IPSEC_TAILROOM */
#define MAX_FDS 8

enum blk { BLK_NONE = 0, BLK_AGAIN, BLK_NOBUFS };

/* gw_thread - one direction of one TUN queue. */
struct gw_thread {
  struct gw *g;
  int q;
  bool out;
  pthread_t tid;
  bool started;
  int tun; /* this queue's fd */
  int efd; /* eventfd: completions arrived, or stop */
  size_t bufsize;
  /* the pool; owner only */
  void *mem;
  struct pbuf *free;
  _Atomic int nfree; /* written by the owner only; atomic for the report */
  int ntotal;
  /* completions from other threads (guarded by cq_lock; cq_n atomic so the
   * owner can look without the lock) */
  pthread_mutex_t cq_lock;
  struct pbuf *cq_head, *cq_tail;
  _Atomic int cq_n;
  bool cq_signaled;
  /* completed packets waiting for the socket / TUN; owner only */
  struct pbuf *rdy_head, *rdy_tail;
  int nrdy;
  enum blk blocked;
  int blocked_fd;
  /* outbound: the large packet being cut (vnet) and the batch being built */
  uint8_t *big;
  size_t big_len, big_next;
  bool big_active;
  struct pbuf *pk[4 * GW_BATCH];
  int npk;
  /* inbound: coalescing, and the buffers coalesced datagrams arrive in */
  struct gro gro;
  uint8_t *rbuf; /* 16 x GW_GSO_MAX when the UDP sockets coalesce */
  struct gw_counters c;
};

struct pbuf *pool_get(struct gw_thread *t);
void pool_put(struct gw_thread *t, struct pbuf *pb);

/* take_completions moves what other threads completed to the ready list */
void take_completions(struct gw_thread *t);

/* pb_done is every packet's ipsec done() callback */
void pb_done(struct ipsec_pkt *p);

/* wait_events sleeps until an fd in want[] (with its events), the eventfd,
 * or the timeout */
void wait_events(struct gw_thread *t, struct pollfd *pfd, int n, int timeout_ms);

/* pkt_start makes pb a fresh packet of len bytes at data + off */
void pkt_start(struct gw_thread *t, struct pbuf *pb, size_t off, size_t len);

/* gw_log_crypto_error says (at most once a second) that a packet ended with
 * IPSEC_DROP_CRYPTO, and why */
void gw_log_crypto_error(const struct ipsec_pkt *p, bool out);

/* path_bind_thread marks the calling thread as t's owner thread */
void path_bind_thread(struct gw_thread *t);

void *in_main(void *arg);

/* icmp_too_big writes an ICMP "fragmentation needed" / ICMPv6 "packet too
 * big" for the cleartext packet p[n] back into the TUN (so the sender lowers
 * its MTU); returns true when it did. */
bool icmp_too_big(struct gw_thread *t, const uint8_t *p, size_t n, uint32_t mtu);

#endif /* OCF_IPSECD_PATH_H */
