/*
 * ipsecd.h - ocf-ipsecd, the IPsec gateway: the pieces and how they meet.
 *
 *   conf.c      the configuration file and the key file -> struct conf
 *   conf_sa.c   its SA blocks
 *   apply.c     struct conf -> SAs and policies in a libocfipsec context;
 *               the reload that keeps unchanged SAs
 *   tun.c       the TUN device (queues, MTU, addresses, routes, offloads)
 *   net.c       the outer sockets: UDP (RFC 3948) and raw ESP / AH / IPcomp
 *   gso.c       TCP segmentation of the TUN's large packets, and the
 *               coalescing of received segments before they go back up
 *   path.c      packet buffers, the completion queues, the outbound path
 *   path_in.c   the inbound path, ICMP errors
 *   remote.c    producer "ocfd": requests to a running ocfd
 *   ctl.c       the control socket (counters for `ocf stat --ipsec`,
 *               reload, card detach)
 *   main.c      command line, start-up, signals, logging
 *
 * Threads: per TUN queue one outbound thread (TUN -> ipsec_output -> socket)
 * and one inbound thread (socket -> ipsec_input -> TUN); the main thread
 * serves the control socket and signals.  Completions (done callbacks) run on
 * whichever thread finished the crypto; they hand the packet back to the
 * thread that owns it through its completion queue.
 */
#ifndef OCF_IPSECD_H
#define OCF_IPSECD_H

#include <net/if.h>
#include <netinet/in.h>
#include <ocf/ipsec.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define GW_NAME "ocf-ipsecd"
#define GW_MAX_QUEUES 8
#define GW_MAX_ADDRS 8
#define GW_NAME_LEN 32
#define GW_DEFAULT_CONTROL "/run/ocf-ipsecd/%s.sock" /* %s = interface */
#define GW_DEFAULT_PORT 4500
#define GW_BATCH 64 /* packets per read / send batch */

/* --- logging -------------------------------------------------------------- */

/* gw_log is the daemon's one way to speak to people: level 0 error,
 * 1 warning, 2 info, 3 debug; printed when level <= gw_verbose. */
void gw_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
extern int gw_verbose;

/* --- configuration (conf.c) ------------------------------------------------ */

enum gw_encap { GW_ENCAP_UDP = 0, GW_ENCAP_RAW = 1 };

struct gw_prefix {
  struct ipsec_addr a;
  uint8_t plen;
};

/* conf_sa - one "sa NAME { ... }" block, keys included (wiped by conf_free). */
struct conf_sa {
  char name[GW_NAME_LEN];
  int line;                 /* where the block starts */
  struct ipsec_sa_params p; /* p.enc_key / p.auth_key point into the arrays
                               below; p.name into name */
  uint8_t enc_key[IPSEC_MAX_KEY];
  uint8_t auth_key[IPSEC_MAX_KEY];
  enum gw_encap encap;
  bool have_dir, have_spi;
};

/* conf_pol - one "policy" line; sa[] index conf.sa. */
struct conf_pol {
  char name[GW_NAME_LEN];
  int line;
  struct ipsec_policy_params p; /* p.sa unset: filled from sa[] when applied */
  int sa[IPSEC_MAX_CHAIN];
};

/* conf - the whole file. */
struct conf {
  char path[256];
  char ifname[IFNAMSIZ];
  uint32_t mtu;      /* TUN MTU; 0 = from the SAs */
  uint32_t link_mtu; /* outer path MTU; default 1500 */
  struct gw_prefix addr[GW_MAX_ADDRS];
  int naddr;
  struct gw_prefix route[GW_MAX_ADDRS];
  int nroute;
  struct ipsec_addr listen[2]; /* local outer addresses to bind (v4, v6) */
  int nlisten;
  uint16_t port; /* UDP encapsulation port we listen on */
  char keys[256];
  char devices[256];
  char ocfd[108]; /* an ocfd's socket to use as a producer; "" = none */
  char control[256];
  int cpu_threads; /* cpu producer: 0 = none */
  int workers;     /* framework worker threads */
  int queues;      /* TUN queues = outbound/inbound thread pairs */
  int pool;        /* packet buffers per thread */
  int offload;     /* TUN TSO + coalescing: 1 on (default), 0 off */
  enum ipsec_action out_default, in_default;
  struct conf_sa *sa;
  int nsa;
  struct conf_pol *pol;
  int npol;
};

/* conf_load parses path (and the key file it names) into *out (freed with
 * conf_free).  On error returns EINVAL (or an errno from opening files) with
 * "FILE:LINE: what is wrong" in err. */
int conf_load(const char *path, struct conf **out, char *err, size_t errlen);

/* conf_free wipes the keys and frees c; NULL is ignored. */
void conf_free(struct conf *c);

/* conf_sa_equal tells whether two SA blocks describe the same SA (every
 * parameter and key), so that a reload can keep it. */
bool conf_sa_equal(const struct conf_sa *a, const struct conf_sa *b);

/* conf_parse_prefix parses "any", "ADDR" or "ADDR/LEN". */
int conf_parse_prefix(const char *s, struct gw_prefix *out);

/* --- the running gateway ----------------------------------------------------- */

/* gw_sa - an SA we added, with the block it came from. */
struct gw_sa {
  struct conf_sa c;
  struct ipsec_sa *sa;
  _Atomic int soft_logged, hard_logged;
};

/* gw_tables - the SAs and policies in force; replaced as a whole by a
 * reload (guarded by gw.lock for readers outside the packet path). */
struct gw_tables {
  struct gw_sa **sa;
  int nsa;
  struct ipsec_policy **pol;
  int npol;
};

struct gw_thread;

/* gw_counters - the daemon's own counters, per thread (atomic: the control
 * thread reads them). */
struct gw_counters {
  _Atomic uint64_t tun_rx, tun_rx_bytes; /* IP packets read from the TUN (after
                                            segmentation) */
  _Atomic uint64_t tun_reads;            /* read() calls that returned data */
  _Atomic uint64_t tun_tx, tun_tx_bytes; /* packets written to the TUN */
  _Atomic uint64_t tun_writes;           /* write() calls */
  _Atomic uint64_t net_rx, net_rx_bytes; /* datagrams / ESP packets received */
  _Atomic uint64_t net_tx, net_tx_bytes; /* sent */
  _Atomic uint64_t net_calls;            /* recvmmsg + sendmmsg calls */
  _Atomic uint64_t wakeups;              /* poll() returns */
  _Atomic uint64_t backpressure;         /* times a full TUN or socket stopped input */
  _Atomic uint64_t send_err;             /* packets a socket refused for good */
  _Atomic uint64_t tun_err;              /* packets the TUN refused for good */
  _Atomic uint64_t oversize;             /* inbound datagrams larger than a buffer */
  _Atomic uint64_t ike;                  /* IKE messages (no IKE here: ignored) */
  _Atomic uint64_t icmp_sent;            /* too-big errors sent back to the TUN */
  _Atomic uint64_t gso_err;              /* TUN packets with an offload header we cannot honour */
  _Atomic uint64_t verdict[IPSEC_VERDICT__MAX];
};

/* gw - the daemon. */
struct gw {
  struct conf *conf; /* in force; replaced on reload under lock */
  struct ipsec_ctx *ctx;
  pthread_mutex_t lock; /* tables, conf (for the control thread and reload) */
  struct gw_tables tab;
  int tun_fd[GW_MAX_QUEUES];
  int nqueues;
  int vnet;             /* the TUN carries virtio-net headers (offloads on) */
  _Atomic int udp_gso;  /* send ESP in UDP with UDP_SEGMENT (offloads on);
                           cleared when the kernel refuses it */
  int udp_gro;          /* the UDP sockets coalesce (UDP_GRO; offloads on) */
  int udp[2];           /* v4, v6 UDP sockets (-1 = none); shared by the threads */
  int raw[2][3];        /* raw sockets: [v4, v6][ESP, AH, IPcomp] */
  _Atomic uint32_t mtu; /* TUN MTU in force (a reload may change it) */
  uint16_t port;        /* the UDP encapsulation port (fixed at start) */
  struct gw_thread *out[GW_MAX_QUEUES], *in[GW_MAX_QUEUES];
  _Atomic int stop;
  uint64_t t_start;
};

/* --- apply.c --------------------------------------------------------------- */

/* gw_validate adds every SA and policy of c to a scratch context, on the
 * running framework or (direct) without it, so that a file the library or
 * the producers would refuse is refused before anything changes; err gets
 * "FILE:LINE: sa 'x': reason". */
int gw_validate(const struct conf *c, bool direct, char *err, size_t errlen);

/* gw_apply makes c the configuration in force (first time: from nothing).
 * SAs whose block did not change are kept with their sequence numbers,
 * replay windows and counters; policies are replaced in one sweep.  Takes
 * ownership of c on success. */
int gw_apply(struct gw *g, struct conf *c, char *err, size_t errlen);

/* gw_tables_free deletes every policy and SA of the tables in force. */
void gw_tables_free(struct gw *g);

/* gw_tun_mtu computes the TUN MTU for the tables in force: the smallest
 * chain MTU of the outbound PROTECT policies within link_mtu. */
uint32_t gw_tun_mtu(struct gw *g);

/* gw_event is the library's SA event callback (lifetimes). */
void gw_event(void *arg, struct ipsec_sa *sa, enum ipsec_event ev);

/* gw_check_lifetimes logs the time-based soft/hard lifetimes that the packet
 * path has not reported (an idle SA); called once a second. */
void gw_check_lifetimes(struct gw *g);

/* --- tun.c ------------------------------------------------------------------ */

/* tun_open creates (or attaches to) the TUN device name with nq queues and,
 * when *vnet is set, asks for TCP segmentation offload (clearing *vnet when
 * the kernel refuses).  Writes the fds into fds[]. */
int tun_open(const char *name, int nq, int *vnet, int *fds, char *err, size_t errlen);

/* tun_configure sets the MTU, brings the link up, adds the addresses and
 * routes of c. */
int tun_configure(const struct conf *c, uint32_t mtu, char *err, size_t errlen);

/* tun_set_mtu changes the MTU only. */
int tun_set_mtu(const char *name, uint32_t mtu);

/* --- net.c ------------------------------------------------------------------ */

/* net_open opens the sockets the SAs of c need: UDP on c->port for every
 * outer family in use (bound to the listen address of that family, else to
 * any), raw ESP for SAs with "encap none".  Returns 0 or an errno. */
int net_open(struct gw *g, const struct conf *c, char *err, size_t errlen);

/* net_missing tells whether c needs a socket that is not open (a reload
 * cannot add sockets to running threads: that needs a restart). */
bool net_missing(struct gw *g, const struct conf *c);

/* net_close closes them. */
void net_close(struct gw *g);

/* gw_raw_index maps ESP / AH / IPcomp to 0 / 1 / 2 (-1 for others). */
int gw_raw_index(uint8_t proto);

/* gw_sockaddr fills a socket address for a and port. */
void gw_sockaddr(const struct ipsec_addr *a, uint16_t port, struct sockaddr_storage *ss,
                 socklen_t *len);

/* --- gso.c ------------------------------------------------------------------ */

struct virtio_net_hdr;

/* GW_GSO_MAX is the largest packet the TUN hands us with offloads on. */
#define GW_GSO_MAX 65536

/* gso_split cuts the packet pkt[len] (with virtio-net header vh) into
 * packets of at most mtu bytes with complete checksums, calling emit(arg,
 * header, hl, data, dl) for each (the packet is header + data).  *next is
 * the payload offset to continue from (0 at first); emit returning nonzero
 * (no buffer free) stops the cut there, to be resumed with the same *next.
 * Done when *next is GSO_DONE.  Returns the packets emitted, or -1 when the
 * header is one we cannot honour (the packet is then dropped). */
int gso_split(const struct virtio_net_hdr *vh, const uint8_t *pkt, size_t len, uint32_t mtu,
              size_t *next,
              int (*emit)(void *arg, const uint8_t *h, size_t hl, const uint8_t *d, size_t dl),
              void *arg);

#define GSO_DONE SIZE_MAX

/* gw_csum_add adds p[n] to a one's-complement sum (not folded; big-endian
 * 16-bit words); gw_csum_fold folds it to 16 bits (complement it for the
 * Internet checksum). */
uint64_t gw_csum_add(uint64_t sum, const uint8_t *p, size_t n);
uint16_t gw_csum_fold(uint64_t sum);

/* gro - coalesces in-order TCP segments of one flow into one large packet
 * with a virtio-net header, for one write to the TUN. */
struct gro {
  uint8_t *buf; /* GW_GSO_MAX + header room */
  size_t len;   /* bytes of packet in buf (after the vnet header) */
  int segs;
  uint16_t gso_size;
  uint8_t ver; /* 4 or 6; 0 = empty */
  size_t hlen; /* IP + TCP header length */
  uint32_t next_seq;
  bool psh;        /* the last segment had PSH: nothing may follow */
  bool last_short; /* a segment shorter than gso_size: nothing may follow */
};

/* gro_add appends a copy of the TCP segment p[n] to g (or starts g with
 * it when g is empty); false when p does not continue g (flush g first and
 * try again) or cannot be coalesced at all (gro_can says which). */
bool gro_add(struct gro *g, const uint8_t *p, size_t n);

/* gro_can tells whether p[n] could start a coalesced packet. */
bool gro_can(const uint8_t *p, size_t n);

/* gro_finish writes the virtio-net header and the final IP length /
 * checksum fields; returns the bytes to write from g->buf. */
size_t gro_finish(struct gro *g);

/* --- path.c ----------------------------------------------------------------- */

/* gw_threads_start starts the outbound and inbound thread of every queue. */
int gw_threads_start(struct gw *g);

/* gw_threads_stop stops them after the packets in flight have completed. */
void gw_threads_stop(struct gw *g);

/* gw_counters_sum adds every thread's counters into *out. */
void gw_counters_sum(struct gw *g, struct gw_counters *out);

/* gw_pool_stats reports buffers in use and in total over all threads. */
void gw_pool_stats(struct gw *g, uint64_t *used, uint64_t *total);

/* --- remote.c --------------------------------------------------------------- */

/* remote_attach connects to the ocfd at path and registers producer "ocfd"
 * (hardware) with the algorithms its producers serve; the framework must be
 * running.  remote_close ends the connection, after ocf_shutdown. */
int remote_attach(const char *path, char *err, size_t errlen);
void remote_close(void);

/* --- ctl.c ------------------------------------------------------------------- */

/* ctl_open creates the control socket at path (mode 0600). */
int ctl_open(const char *path, char *err, size_t errlen);

/* ctl_serve answers one connection on the listening socket lfd; a "reload"
 * request sets *reload. */
void ctl_serve(struct gw *g, int lfd, int *reload);

/* ctl_report writes the counters report into a malloc'ed string: "text"
 * (for people, like `ip -s xfrm state`) or "kv" (one line per object,
 * key=value fields, for `ocf stat --ipsec`). */
char *ctl_report(struct gw *g, const char *format);

/* --- helpers --------------------------------------------------------------- */

/* gw_now_ns is CLOCK_MONOTONIC in nanoseconds. */
uint64_t gw_now_ns(void);

#endif /* OCF_IPSECD_H */
