/* internal.h - libocfipsec's private structures, shared by its files.  Only
 * <ocf/ocf.h>, <ocf/driver.h> (ocf_log) and <ocf/ipsec.h> from the
 * framework: no framework internals. */
#ifndef OCF_IPSEC_INTERNAL_H
#define OCF_IPSEC_INTERNAL_H

#include <errno.h>
#include <ocf/driver.h>
#include <ocf/ipsec.h>
#include <ocf/ocf.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#define CACHELINE 64
#define IPV4_HLEN 20
#define IPV6_HLEN 40
#define UDP_HLEN 8
#define ESP_HLEN 8
#define AH_HLEN 12
#define IPCOMP_HLEN 4
#define ENCAP_PORT 4500
#define MAX_ICV 32
#define MAX_IVLEN 16
#define MAX_RESUBMIT 16
#define IPSI_NDESC 2 /* descriptors a transform fills at most (cipher + MAC) */
_Static_assert(IPSI_NDESC <= OCF_MAX_DESC, "descriptors");
/* AH builds its ICV input from a copy of the headers (mutable fields zeroed):
 * the IP header with the extension headers before AH, then the AH header. */
#define AH_SCRATCH 320

/* --- epoch-based reclamation (rcu.c) ------------------------------------------
 * Readers mark the epoch they started in; a writer that unlinked something
 * waits until every reader that could still see it has left. */
void ipsi_rcu_read_lock(void);
void ipsi_rcu_read_unlock(void);
void ipsi_rcu_synchronize(void);

/* --- a short lock ----------------------------------------------------------------
 * The per-SA sections (the reorder list, the replay window) are a few dozen
 * instructions with no call inside: a test-and-set lock costs one atomic
 * each way, where a mutex costs several and a call.  A waiter yields after
 * a while, so a holder that lost its CPU on a loaded machine gets it back. */
typedef struct {
  atomic_flag f;
} spin_t;

#define SPIN_INIT \
  { ATOMIC_FLAG_INIT }

void ipsi_spin_wait(spin_t *l);

static inline void spin_lock(spin_t *l) {
  if (atomic_flag_test_and_set_explicit(&l->f, memory_order_acquire)) ipsi_spin_wait(l);
}

static inline void spin_unlock(spin_t *l) {
  atomic_flag_clear_explicit(&l->f, memory_order_release);
}

/* --- counters ----------------------------------------------------------------- */

struct acounters {
  _Atomic uint64_t packets, bytes;
  _Atomic uint64_t drops[IPSEC_VERDICT__MAX];
};

static inline void acount_ok(struct acounters *c, size_t bytes) {
  atomic_fetch_add_explicit(&c->packets, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&c->bytes, bytes, memory_order_relaxed);
}

static inline void acount(struct acounters *c, enum ipsec_verdict v, size_t bytes) {
  if (v == IPSEC_OK || v == IPSEC_BYPASS || v == IPSEC_IKE)
    acount_ok(c, bytes);
  else if ((unsigned)v < IPSEC_VERDICT__MAX)
    atomic_fetch_add_explicit(&c->drops[v], 1, memory_order_relaxed);
}

void ipsi_acount_read(const struct acounters *c, struct ipsec_counters *out);

/* --- transforms ------------------------------------------------------------------ */

/* How an SA's protection maps onto one OCF request. */
enum xf_kind {
  XF_AEAD,       /* GCM, CCM, ChaCha20-Poly1305: one AEAD descriptor */
  XF_GMAC,       /* ESP NULL with AES-GMAC: one GMAC descriptor over all */
  XF_CIPHER_MAC, /* CBC / CTR cipher and an HMAC: two descriptors */
  XF_CIPHER,     /* confidentiality only (RFC 4303 allows it) */
  XF_MAC,        /* ESP NULL encryption with an HMAC, and AH */
  XF_COMP        /* IPcomp DEFLATE */
};

/* --- SAs --------------------------------------------------------------------------- */

struct ipsec_sa {
  /* Set at ipsec_sa_add, constant after. */
  struct ipsec_ctx *ctx;
  enum ipsec_proto proto;
  enum ipsec_dir dir;
  enum ipsec_mode mode;
  uint32_t spi;
  struct ipsec_addr src, dst;
  enum ipsec_enc enc;
  enum ipsec_auth auth;
  enum ipsec_comp comp;
  unsigned flags;
  uint16_t sport, dport;
  uint8_t ttl;
  int comp_level;
  size_t comp_threshold;
  enum xf_kind kind;
  enum ocf_alg calg, malg; /* cipher / AEAD / DEFLATE, and MAC / GMAC */
  uint8_t ivlen;           /* IV bytes carried in the packet */
  uint8_t icvlen;          /* ICV bytes in the packet */
  uint8_t block;           /* ESP: the payload and trailer align to this */
  uint8_t cblock;          /* the cipher's block size (1 for stream modes) */
  uint8_t saltlen;
  uint8_t salt[4];
  bool iv_random; /* CBC: random IVs; else the sequence number */
  ipsec_iv_fn iv_fn;
  void *iv_arg;
  uint32_t replay_bits; /* inbound window size; 0 = no check */
  struct ipsec_lifetime soft, hard;
  bool limited; /* some lifetime is set: use is counted in life_* */
  uint64_t created_ns;
  char name[32];
  /* the session's chain; keys kept only for IPSEC_CTX_DIRECT (wiped at free) */
  struct ocf_sessparam sp[2];
  int nsp;
  uint8_t ckey[IPSEC_MAX_KEY], mkey[IPSEC_MAX_KEY];
  size_t ckeylen, mkeylen;
  void *direct; /* direct.c's per-SA state */

  /* Table links: [ctx->lock] for writers, RCU for readers of hnext. */
  _Atomic(struct ipsec_sa *) hnext; /* inbound SAD hash chain */
  struct ipsec_sa *lnext, *lprev;   /* the context's list of all SAs */
  struct ipsec_sa *knext;           /* [ctx->lock] the writers' index by SPI (sad.c) */
  int npolicies;                    /* [ctx->lock] policies naming it */
  /* the inbound policies naming it (a packet through it must fit one):
   * [ctx->lock] writes, replaced as a whole; RCU reads */
  _Atomic(struct pol_set *) in_pols;
  bool in_table; /* [ctx->lock] */

  /* Lifetime of the object: one reference for the tables, one per packet
   * in flight that found it through a lookup. */
  _Atomic int refs;

  /* The session: replaced on migration (EAGAIN carries the new id). */
  _Atomic ocf_sid_t sid;
  _Atomic bool hw; /* served by a producer that is not software: in-place
                      requests keep a copy of their input for a resubmission */

  /* Outbound sequence numbers and the reorder stage. */
  _Alignas(CACHELINE) _Atomic uint64_t seq_out; /* the last number handed out */
  spin_t ro_lock;
  uint64_t ro_next;          /* [ro_lock] the next number to leave */
  struct ipsec_pkt *ro_held; /* [ro_lock] completed early, sorted by seq */
  struct ipsec_pkt *ro_tail; /* [ro_lock] its last packet (valid when ro_held is set) */
  bool ro_draining;          /* [ro_lock] a thread is delivering */

  /* Inbound anti-replay window. */
  _Alignas(CACHELINE) spin_t rp_lock;
  uint64_t rp_top;    /* [rp_lock] highest authenticated number */
  uint32_t rp_nwords; /* constant: words in rp_bits */
  uint64_t *rp_bits;  /* [rp_lock] ring of window bits */

  /* Counters. */
  _Alignas(CACHELINE) struct acounters c;
  _Atomic uint64_t life_packets, life_bytes;
  _Atomic bool soft_fired, hard_fired;
  _Atomic uint32_t pmtu, mtu;
  _Atomic uint64_t resubmits, reorder_held, uncompressed;
  _Atomic uint32_t ip_id; /* IDs of outer IPv4 headers that may fragment */
};

/* --- policies --------------------------------------------------------------------- */

struct ipsec_policy {
  struct ipsec_ctx *ctx;
  enum ipsec_dir dir;
  struct ipsec_selector sel;
  enum ipsec_action action;
  struct ipsec_sa *sa[IPSEC_MAX_CHAIN]; /* each holds a policy count on the SA */
  int nsa;
  char name[32];
  _Atomic int refs; /* one for the SPD, one per outbound packet in flight */
  struct acounters c;
};

/* The inbound policies of one SA, in the order added: immutable, replaced
 * as a whole by writers (RCU). */
struct pol_set {
  int n;
  struct ipsec_policy *p[];
};

/* An SPD: an immutable array, replaced as a whole by writers (RCU), and
 * the index its readers build once it has served a few lookups
 * (spd_index.c). */
struct spd_index;
struct spd {
  int n;
  _Atomic(struct spd_index *) ix; /* NULL: not built (yet) */
  _Atomic uint32_t scans;         /* lookups that scanned, while ix is NULL */
  struct ipsec_policy *p[];
};

/* --- the context ---------------------------------------------------------------------- */

#define SAD_BUCKETS 16384 /* 128 KB of a context: chains of 2 or 3 at 40,000 SAs */
#define IPSEC_SHARDS 32

struct ipsec_ctx {
  struct ipsec_ctx_opts opts;
  unsigned req_flags; /* OCF_REQ_* for every request */
  bool direct;
  uint16_t encap_port;
  size_t ipcomp_max;
  pthread_mutex_t lock;                        /* writers of the tables below */
  _Atomic(struct ipsec_sa *) sad[SAD_BUCKETS]; /* inbound SAs by (proto, spi) */
  struct ipsec_sa *all;                        /* [lock] every SA, newest first */
  struct ipsec_sa **kidx;                      /* [lock] every SA by (dir, proto, spi) */
  size_t nkidx;                                /* [lock] its buckets: a power of two */
  _Atomic(struct spd *) spd[2];                /* [lock] writes; RCU reads: out, in */
  uint64_t nsa, npol;                          /* [lock] */
  /* context counters */
  struct acounters out_c, in_c;
  _Atomic uint64_t moved;
  /* packets in flight, spread over slots so that threads do not share one
   * counter's cache line; a packet counts in the slot of the thread that
   * started it and is taken out of the same slot */
  struct {
    _Alignas(CACHELINE) _Atomic long n;
  } flight[IPSEC_SHARDS];
  /* backup copies for requests on hardware producers */
  spin_t bk_lock;
  void *bk_free; /* [bk_lock] a stack of BACKUP_SIZE buffers */
  int bk_count;  /* [bk_lock] */
};

static inline struct spd *spd_of(struct ipsec_ctx *ctx, enum ipsec_dir d) {
  return atomic_load_explicit(&ctx->spd[d == IPSEC_DIR_IN], memory_order_acquire);
}

/* --- per-packet state (inside ipsec_pkt.priv_) ------------------------------------------ */

/* A parsed IP header (pkt.c). */
struct iph {
  uint8_t ver;     /* 4 or 6 */
  uint8_t proto;   /* the protocol after hlen */
  bool frag;       /* an IPv4 fragment, or an IPv6 fragment header seen */
  bool later_frag; /* not the first fragment: no upper-layer header */
  size_t hlen;     /* bytes up to the protocol named by proto */
  size_t nh_off;   /* offset of the byte that holds proto */
  size_t tot;      /* the packet's length by its header */
  struct ipsec_addr src, dst;
};

struct pstate {
  struct ocf_req req; /* the one request in flight for this packet */
  struct ipsec_ctx *ctx;
  struct ipsec_pkt *ro_link; /* reorder: next held packet */
  struct ipsec_policy *pol;  /* output: the policy (a reference) */
  uint64_t seq;              /* the current SA's 64-bit sequence number */
  uint8_t out;               /* 1 output, 0 input */
  uint8_t step;              /* output: index of the SA being applied */
  uint8_t nchain;            /* output: SAs to apply */
  uint8_t has_seq;           /* a sequence number was taken at this step */
  uint8_t resubmits;
  uint8_t restore_n;          /* bytes of saved[] to put back at restore_off */
  uint8_t hw_copy;            /* backup holds the input of an in-place request */
  uint8_t udp_in;             /* input arrived as a UDP payload */
  uint8_t encap;              /* input: the current header came in UDP */
  uint8_t df;                 /* output: the packet must not be fragmented */
  uint8_t shard;              /* ctx->flight slot that counts it */
  uint8_t sa_counted;         /* input: the drop was counted on an SA */
  uint8_t ip_valid;           /* output: ip describes the packet as it is */
  uint8_t oproto;             /* output: the protocol after the outer header */
  uint16_t ohl;               /* output: outer header bytes (0: unknown) */
  enum ipsec_verdict verdict; /* the current step's outcome */
  size_t bytes_orig;          /* the packet's length when it entered */
  size_t l3;                  /* absolute offset of the current IP header */
  size_t hdr;                 /* absolute offset of the ESP / AH / IPcomp header */
  size_t data;                /* absolute offset of the protected data */
  size_t dlen;                /* its length */
  size_t restore_off;
  size_t bytes0; /* the packet's length when it entered the step */
  size_t base;   /* the request buffer's start (absolute) */
  struct iph ip; /* input: the header in front of hdr; output: see ip_valid */
  uint8_t saved[8];
  uint8_t nh; /* next header carried by this SA */
  void *backup;
  size_t bk_off, bk_len;
  union {
    uint8_t icv[MAX_ICV]; /* the ICV received (input) */
    struct {
      uint8_t scratch[AH_SCRATCH];
      size_t scratch_len, icv_at;
      uint8_t seqhi[4];
      struct iovec iov[3];
      uint8_t icv_rx[MAX_ICV];
    } ah;
  } u;
};

_Static_assert(sizeof(struct pstate) <= IPSEC_PKT_PRIV_SIZE, "per-packet state too large");

static inline struct pstate *ps_of(struct ipsec_pkt *pkt) { return (struct pstate *)pkt->priv_; }

/* --- byte order helpers ------------------------------------------------------------------ */

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void wr16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static inline void wr32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}
static inline void wr64(uint8_t *p, uint64_t v) {
  wr32(p, (uint32_t)(v >> 32));
  wr32(p + 4, (uint32_t)v);
}

/* --- pkt.c: IP headers ------------------------------------------------------------------- */

/* How far ipsi_ip_parse walks IPv6 extension headers. */
enum ip_walk {
  WALK_ALL,   /* to the upper-layer or IPsec protocol (input, selectors) */
  WALK_INSERT /* to where ESP / AH go in transport mode (RFC 4303 section
                 3.1.1, as Linux and scapy place them) */
};
/* ipsi_ip_parse reads the IP header at p[0..len).  Returns IPSEC_OK or a drop
 * verdict (MALFORMED, BADLEN, TRUNCATED). */
enum ipsec_verdict ipsi_ip_parse(const uint8_t *p, size_t len, enum ip_walk walk, struct iph *h);
uint16_t ipsi_ip_csum(const uint8_t *p, size_t len);
void ipsi_ip4_fix(uint8_t *ip, size_t tot, uint8_t proto); /* length, protocol, checksum */
/* ipsi_ip_set_len rewrites the length fields of the header at ip for a packet of
 * tot bytes and the protocol byte at nh_off. */
void ipsi_ip_set_len(uint8_t *ip, uint8_t ver, size_t tot, size_t nh_off, uint8_t proto);
/* ipsi_ip_build_outer writes an outer header for sa at p (20 or 40 bytes) for a
 * payload of plen bytes of protocol proto; inner is the inner packet's first
 * byte (for DSCP / ECN / DF), or NULL. */
size_t ipsi_ip_build_outer(uint8_t *p, const struct ipsec_sa *sa, size_t plen, uint8_t proto,
                           const uint8_t *inner);
void ipsi_udp_build(uint8_t *ip, uint8_t ver, size_t udp_off, uint16_t sport, uint16_t dport,
                    size_t ulen);
bool ipsi_addr_eq(const struct ipsec_addr *a, const struct ipsec_addr *b);
bool ipsi_addr_in_prefix(const struct ipsec_addr *a, const struct ipsec_addr *pfx, uint8_t plen);

/* --- sad.c --------------------------------------------------------------------------------- */

/* ipsi_sa_lookup_in finds an inbound SA (RCU read side held by the caller) and
 * takes a reference, or returns NULL. */
struct ipsec_sa *ipsi_sa_lookup_in(struct ipsec_ctx *ctx, uint8_t proto, uint32_t spi,
                                   const struct ipsec_addr *src, const struct ipsec_addr *dst);
/* ipsi_sa_find_ipcomp_tunnel finds an inbound IPcomp tunnel SA for src -> dst
 * (an uncompressed IPcomp tunnel packet is plain IP-in-IP), with a ref. */
struct ipsec_sa *ipsi_sa_find_ipcomp_tunnel(struct ipsec_ctx *ctx, const struct ipsec_addr *src,
                                            const struct ipsec_addr *dst);
void ipsi_sa_ref(struct ipsec_sa *sa);
void ipsi_sa_unref(struct ipsec_sa *sa);
uint64_t ipsi_now_ns(void);
/* ipsi_sa_life_out charges a packet of len bytes to an outbound SA; IPSEC_OK or
 * IPSEC_DROP_EXPIRED.  ipsi_sa_life_in checks (charge false) or charges. */
enum ipsec_verdict ipsi_sa_life_out(struct ipsec_sa *sa, size_t len);
enum ipsec_verdict ipsi_sa_life_in(struct ipsec_sa *sa, size_t len, bool charge);
void ipsi_sa_event(struct ipsec_sa *sa, enum ipsec_event ev);
void ipsi_sa_migrated(struct ipsec_sa *sa, ocf_sid_t old, ocf_sid_t nsid);
void ipsi_sa_mtu_refresh(struct ipsec_sa *sa);

/* --- spd.c ---------------------------------------------------------------------------------- */

/* The fields of a cleartext packet that selectors look at. */
struct flow {
  struct ipsec_addr src, dst;
  uint8_t proto;
  bool ports; /* sport / dport are known */
  uint16_t sport, dport;
};
/* ipsi_flow_of reads the flow of the IP packet at p[0..len) (parsed as h). */
void ipsi_flow_of(const uint8_t *p, size_t len, const struct iph *h, struct flow *f);
bool ipsi_sel_match(const struct ipsec_selector *s, const struct flow *f);
/* ipsi_spd_lookup returns the first matching policy of the SPD (RCU held), or NULL. */
struct ipsec_policy *ipsi_spd_lookup(struct ipsec_ctx *ctx, enum ipsec_dir dir,
                                     const struct flow *f);
void ipsi_pol_unref(struct ipsec_policy *p);
void ipsi_policy_free(struct ipsec_policy *p);
void ipsi_spd_free(struct spd *t); /* the table and its index, not the policies */

/* --- spd_index.c ---------------------------------------------------------------------------- */

/* ipsi_spd_index_for: t's index for a lookup (RCU held), built by this
 * lookup if its turn has come; NULL: scan t (small, not used enough yet,
 * or not worth indexing). */
struct spd_index *ipsi_spd_index_for(struct spd *t);
/* ipsi_spd_index_lookup: ipsi_spd_lookup's answer through t's index ix. */
struct ipsec_policy *ipsi_spd_index_lookup(const struct spd *t, const struct spd_index *ix,
                                           const struct flow *f);
void ipsi_spd_index_free(struct spd *t); /* t's index, if built */

/* --- replay.c ------------------------------------------------------------------------------------
 */

int ipsi_replay_init(struct ipsec_sa *sa, uint32_t window, uint64_t top);
void ipsi_replay_free(struct ipsec_sa *sa);
/* ipsi_replay_pre turns the received low 32 bits into the 64-bit number (ESN
 * inference, RFC 4303 appendix A2.2) and checks it against the window:
 * IPSEC_OK, IPSEC_DROP_REPLAY or IPSEC_DROP_OLD (also for a number before
 * the first).  ipsi_replay_update checks again and records seq, after the
 * integrity check. */
enum ipsec_verdict ipsi_replay_pre(struct ipsec_sa *sa, uint32_t lo, uint64_t *seq);
enum ipsec_verdict ipsi_replay_update(struct ipsec_sa *sa, uint64_t seq);
/* ipsi_replay_snapshot: the window's top and its newest 64 bits. */
void ipsi_replay_snapshot(struct ipsec_sa *sa, uint64_t *top, uint64_t *bits);

/* --- reorder.c
 * ------------------------------------------------------------------------------------ */

/* reorder_take hands out the next outbound sequence number of sa; false when
 * the SA's number space is used up (2^32 - 1 without ESN). */
bool ipsi_seq_take(struct ipsec_sa *sa, uint64_t *seq);
/* ipsi_reorder_done is called once for every packet that took a sequence number
 * of sa, in whatever order they complete; it calls next(pkt) for each of
 * them in sequence-number order. */
void ipsi_reorder_done(struct ipsec_sa *sa, struct ipsec_pkt *pkt,
                       void (*next)(struct ipsec_pkt *));

/* --- engine.c
 * ------------------------------------------------------------------------------------- */

/* The result of a protocol step's first half. */
enum step_rc {
  STEP_DISPATCH = -1, /* ps->req is ready: run it */
  STEP_SKIP = -2      /* nothing to compute (IPcomp below its threshold) */
  /* >= 0: a verdict, the packet is finished */
};

/* Moves the packet so that it has head bytes before and tail bytes after it;
 * false when the buffer is too small. */
bool ipsi_pkt_make_room(struct ipsec_ctx *ctx, struct ipsec_pkt *pkt, size_t head, size_t tail);
/* Sets ps->req up with a contiguous buffer over [base, end) of the packet. */
void ipsi_req_setup(struct ipsec_pkt *pkt, size_t base, size_t end);
/* Keeps a copy of [off, off+len) of the packet for a resubmission when the
 * SA is on a hardware producer (see OCF_ELOST in driver.h). */
void ipsi_backup_take(struct ipsec_pkt *pkt, struct ipsec_sa *sa, size_t off, size_t len);
/* ipsi_backup_force keeps a copy whatever the producer (IPcomp output needs the
 * original when compression did not pay); ipsi_backup_restore puts it back. */
void ipsi_backup_force(struct ipsec_pkt *pkt, size_t off, size_t len);
void ipsi_backup_restore(struct ipsec_pkt *pkt);
/* ipsi_fill_iv writes sa->ivlen bytes of IV for packet seq; false when the
 * random source failed. */
bool ipsi_fill_iv(struct ipsec_sa *sa, uint64_t seq, uint8_t *iv);
/* trick_save keeps the 8 bytes at off so that the request may use them
 * (the ESN AAD); the engine puts them back when the request is over. */
static inline void trick_save(struct ipsec_pkt *pkt, size_t off) {
  struct pstate *ps = (struct pstate *)pkt->priv_;
  memcpy(ps->saved, pkt->buf + off, 8);
  ps->restore_off = off;
  ps->restore_n = 8;
}

/* --- the protocols (esp.c, ah.c, ipcomp.c)
 * ---------------------------------------------------------- */

int ipsi_esp_out_prep(struct ipsec_pkt *pkt, struct ipsec_sa *sa);
enum ipsec_verdict ipsi_esp_out_done(struct ipsec_pkt *pkt, struct ipsec_sa *sa);
int ipsi_esp_in_prep(struct ipsec_pkt *pkt, struct ipsec_sa *sa);
enum ipsec_verdict ipsi_esp_in_done(struct ipsec_pkt *pkt, struct ipsec_sa *sa);
size_t ipsi_esp_overhead(const struct ipsec_sa *sa, size_t inner);
void ipsi_esp_room(const struct ipsec_sa *sa, size_t *head, size_t *tail);

int ipsi_ah_out_prep(struct ipsec_pkt *pkt, struct ipsec_sa *sa);
enum ipsec_verdict ipsi_ah_out_done(struct ipsec_pkt *pkt, struct ipsec_sa *sa);
int ipsi_ah_in_prep(struct ipsec_pkt *pkt, struct ipsec_sa *sa);
enum ipsec_verdict ipsi_ah_in_done(struct ipsec_pkt *pkt, struct ipsec_sa *sa);
size_t ipsi_ah_len(const struct ipsec_sa *sa, uint8_t ver);

int ipsi_comp_out_prep(struct ipsec_pkt *pkt, struct ipsec_sa *sa);
enum ipsec_verdict ipsi_comp_out_done(struct ipsec_pkt *pkt, struct ipsec_sa *sa);
int ipsi_comp_in_prep(struct ipsec_pkt *pkt, struct ipsec_sa *sa);
enum ipsec_verdict ipsi_comp_in_done(struct ipsec_pkt *pkt, struct ipsec_sa *sa);

/* The tunnel header's size for sa (20 or 40), 0 in transport mode. */
static inline size_t outer_len(const struct ipsec_sa *sa) {
  if (sa->mode != IPSEC_MODE_TUNNEL) return 0;
  return sa->dst.family == 10 /* AF_INET6 */ ? IPV6_HLEN : IPV4_HLEN;
}

/* --- direct.c: OpenSSL without the framework (IPSEC_CTX_DIRECT)
 * --------------------------------------- */

int ipsi_direct_sa_init(struct ipsec_sa *sa);
void ipsi_direct_sa_free(struct ipsec_sa *sa);
/* ipsi_direct_run performs req's descriptors in the calling thread and sets
 * req->error (0, EBADMSG, ENOSPC, EINVAL, ...). */
void ipsi_direct_run(struct ipsec_sa *sa, struct ocf_req *req);

#endif /* OCF_IPSEC_INTERNAL_H */
