/*
 * ipsec.h - libocfipsec: ESP (RFC 4303), AH (RFC 4302) and IPcomp (RFC 3173)
 * as an asynchronous consumer of the OCF (the paper's section 4.1).
 *
 * The library keeps a Security Association Database (SAD) and a Security
 * Policy Database (SPD) in a context.  ipsec_output() takes a cleartext IPv4
 * or IPv6 packet, looks it up in the outbound SPD and applies the SAs of the
 * matching policy (IPcomp, ESP, AH, in the policy's order); ipsec_input()
 * takes a packet as it came from the network, finds its SA by SPI and
 * destination, checks and removes the protection, and checks the result
 * against the SA's policy.  Both return at once: the cryptography runs as OCF
 * requests (one chained request per SA: cipher and MAC together), and the
 * packet's done() callback runs later, exactly once, with a verdict.
 * Nothing is dropped without a verdict, and every verdict is counted: on the
 * SA that decided it, on the policy that matched, or (when neither exists,
 * e.g. an unknown SPI) on the context.
 *
 * Order: the packets of one outbound SA reach done() in sequence-number
 * order, whatever order the producers complete them in (see ocf_ipsec(3)).
 *
 * Threads: every function may be called from any thread, concurrently, also
 * for the same SA, except where a comment says otherwise.  The packet paths
 * take no lock shared by all SAs: lookups run under an epoch scheme (readers
 * never wait), and per-SA state is guarded per SA.  done() runs on the thread
 * that completed the request: the caller's own thread (software producers
 * run requests inline by default, and verdicts decided before any request,
 * such as a policy drop, are delivered before ipsec_output returns), or a
 * framework thread.  done() may call ipsec_output / ipsec_input again.
 *
 * Memory: a packet's buffer and its struct ipsec_pkt belong to the caller
 * and must stay valid until done() has returned; the library writes into the
 * buffer (headers go into the headroom before pkt->off, the trailer into the
 * tailroom after pkt->off + pkt->len) and keeps its per-packet state inside
 * struct ipsec_pkt, so the packet path allocates nothing.
 *
 * Errors: functions return 0 or a positive errno value, as libocf does.
 */
#ifndef OCF_IPSEC_H
#define OCF_IPSEC_H

#include <ocf/ocf.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* IPSEC_MAX_CHAIN is the most SAs one policy applies to a packet (nested
 * SAs, e.g. IPcomp then ESP), and the most an input packet may carry. */
#define IPSEC_MAX_CHAIN 4

/* IPSEC_MAX_KEY is the longest key accepted, salt included, in bytes. */
#define IPSEC_MAX_KEY 64

/* IPSEC_REPLAY_MIN / IPSEC_REPLAY_MAX / IPSEC_REPLAY_DEFAULT bound the
 * anti-replay window, in packets (RFC 4303 section 3.4.3). */
#define IPSEC_REPLAY_MIN 64
#define IPSEC_REPLAY_MAX 4096
#define IPSEC_REPLAY_DEFAULT 64

/* IPSEC_HEADROOM / IPSEC_TAILROOM are the bytes of room before and after a
 * packet that let one SA of any kind (IPv6 tunnel, UDP encapsulation, the
 * longest IV, padding and ICV) protect it in place; ipsec_policy_room()
 * gives the exact figures for a policy's chain.  With less room the library
 * moves the packet inside its buffer when the buffer is large enough (and
 * counts it in ipsec_ctx_stats.moved), else the verdict is IPSEC_DROP_NOROOM. */
#define IPSEC_HEADROOM 128
#define IPSEC_TAILROOM 64

/* ipsec_proto - the protocol of an SA (IP protocol numbers). */
enum ipsec_proto { IPSEC_PROTO_ESP = 50, IPSEC_PROTO_AH = 51, IPSEC_PROTO_IPCOMP = 108 };

/* ipsec_mode - transport mode protects the payload of the packet (the IP
 * header stays in front); tunnel mode protects the whole packet inside a new
 * outer IP header addressed from the SA's src to its dst. */
enum ipsec_mode { IPSEC_MODE_TRANSPORT = 1, IPSEC_MODE_TUNNEL = 2 };

/* ipsec_dir - which way an SA or policy works. */
enum ipsec_dir { IPSEC_DIR_OUT = 1, IPSEC_DIR_IN = 2 };

/* ipsec_enc - ESP encryption transforms.  The values are IKEv2's transform
 * ids (IANA "Transform Type 1").  Keys are given as IKEv2 derives them: for
 * the counter-based modes (CTR, GCM, CCM, GMAC, ChaCha20-Poly1305) the salt
 * follows the key (4 bytes; 3 for CCM). */
enum ipsec_enc {
  IPSEC_ENC_NONE = 0,                /* AH and IPcomp SAs */
  IPSEC_ENC_3DES_CBC = 3,            /* RFC 2451: key 24, IV 8 */
  IPSEC_ENC_NULL = 11,               /* RFC 2410: needs an integrity transform */
  IPSEC_ENC_AES_CBC = 12,            /* RFC 3602: key 16/24/32, IV 16 */
  IPSEC_ENC_AES_CTR = 13,            /* RFC 3686: key 16/24/32 + 4, IV 8 */
  IPSEC_ENC_AES_CCM_8 = 14,          /* RFC 4309: key 16/24/32 + 3, IV 8, ICV 8 */
  IPSEC_ENC_AES_CCM_12 = 15,         /* ICV 12 */
  IPSEC_ENC_AES_CCM_16 = 16,         /* ICV 16 */
  IPSEC_ENC_AES_GCM_8 = 18,          /* RFC 4106: key 16/24/32 + 4, IV 8, ICV 8 */
  IPSEC_ENC_AES_GCM_12 = 19,         /* ICV 12 */
  IPSEC_ENC_AES_GCM_16 = 20,         /* ICV 16 */
  IPSEC_ENC_NULL_AUTH_AES_GMAC = 21, /* RFC 4543: key 16/24/32 + 4, IV 8, ICV 16 */
  IPSEC_ENC_CHACHA20_POLY1305 = 28   /* RFC 7634: key 32 + 4, IV 8, ICV 16 */
};

/* ipsec_auth - integrity transforms for ESP (with a non-AEAD cipher) and AH.
 * The values are IKEv2's (IANA "Transform Type 3"). */
enum ipsec_auth {
  IPSEC_AUTH_NONE = 0,
  IPSEC_AUTH_HMAC_MD5_96 = 1,        /* RFC 2403: key 16 (any length accepted) */
  IPSEC_AUTH_HMAC_SHA1_96 = 2,       /* RFC 2404: key 20 */
  IPSEC_AUTH_HMAC_SHA2_256_128 = 12, /* RFC 4868: key 32 */
  IPSEC_AUTH_HMAC_SHA2_384_192 = 13, /* RFC 4868: key 48 */
  IPSEC_AUTH_HMAC_SHA2_512_256 = 14  /* RFC 4868: key 64 */
};

/* ipsec_comp - IPcomp transforms (IANA IPCOMP transform ids). */
enum ipsec_comp {
  IPSEC_COMP_NONE = 0,
  IPSEC_COMP_DEFLATE = 2 /* RFC 2394, raw DEFLATE (RFC 1951) per packet */
};

/* ipsec_addr - an IPv4 or IPv6 address; family 0 means "any" where a
 * comment allows it.  IPv4 addresses are in a[0..3], network order. */
struct ipsec_addr {
  uint8_t family; /* 0, AF_INET or AF_INET6 */
  uint8_t a[16];
};

/* ipsec_lifetime - a limit on an SA's use; 0 in a field means no limit on
 * that count.  bytes counts the bytes of the packets the SA protected
 * (before protection) or accepted (after removing it). */
struct ipsec_lifetime {
  uint64_t packets;
  uint64_t bytes;
  uint64_t seconds; /* since ipsec_sa_add */
};

/* IPSEC_IV_FN - an IV source that replaces the library's (ipsec_sa_params.
 * iv_fn).  It must write len bytes of IV for the packet with sequence number
 * seq into iv and return 0.  For known-answer tests only: the library's own
 * IVs are unpredictable for CBC (random) and unique for counter modes (the
 * 64-bit sequence number). */
typedef int (*ipsec_iv_fn)(void *arg, uint64_t seq, uint8_t *iv, size_t len);

/* SA flags (ipsec_sa_params.flags) */
#define IPSEC_SA_ESN 0x01       /* 64-bit extended sequence numbers (RFC 4304) */
#define IPSEC_SA_UDP_ENCAP 0x02 /* ESP in UDP (RFC 3948); ESP only */
#define IPSEC_SA_NO_REPLAY 0x04 /* inbound: no anti-replay check */
#define IPSEC_SA_DF_SET 0x08    /* tunnel: outer IPv4 DF set (default: copied) */
#define IPSEC_SA_DF_CLEAR 0x10  /* tunnel: outer IPv4 DF clear */
#define IPSEC_SA_NO_PADCHECK                    \
  0x20 /* inbound ESP: accept any padding bytes \
         (default: RFC 4303's 1, 2, 3, ...) */

/* ipsec_sa_params - everything an SA is made of.  Zero-initialize, then set
 * what you need.  Keys are copied; the caller may wipe its copies after
 * ipsec_sa_add returns. */
struct ipsec_sa_params {
  enum ipsec_proto proto;
  enum ipsec_dir dir;
  enum ipsec_mode mode;
  uint32_t spi; /* ESP / AH: 256..2^32-1 (RFC 4303: 1..255 reserved);
                   IPcomp: the CPI, 1..65535 */
  /* Tunnel mode: the outer header's addresses (outbound: written; inbound:
   * dst is the lookup key, src is checked when set).  Transport mode: dst is
   * the lookup key on input and may be "any" (family 0). */
  struct ipsec_addr src, dst;
  enum ipsec_enc enc;     /* ESP only */
  const uint8_t *enc_key; /* key, then salt where the transform has one */
  size_t enc_key_len;
  enum ipsec_auth auth; /* ESP with a non-AEAD cipher, and AH */
  const uint8_t *auth_key;
  size_t auth_key_len;
  enum ipsec_comp comp;  /* IPcomp only */
  int comp_level;        /* DEFLATE level 1..9, 0 = the library's (1) */
  size_t comp_threshold; /* outbound IPcomp: payloads shorter than this are
                            sent as they are; 0 = 90 (RFC 2394) */
  unsigned flags;        /* IPSEC_SA_* */
  uint16_t encap_sport;  /* UDP encapsulation ports, host order; 0 = 4500 */
  uint16_t encap_dport;
  uint32_t replay_window;           /* inbound: packets, IPSEC_REPLAY_MIN..MAX (rounded
                                       up to a multiple of 64); 0 = IPSEC_REPLAY_DEFAULT */
  uint64_t seq;                     /* outbound: the first sequence number to send
                                       (0 = 1); inbound: the highest one already seen
                                       (0 = none); for SA handover and tests */
  struct ipsec_lifetime soft, hard; /* soft: an event; hard: the SA expires */
  uint8_t ttl;                      /* tunnel: outer TTL / hop limit; 0 = 64 */
  uint32_t pmtu;                    /* outbound: path MTU toward dst; 0 = 1500 */
  unsigned ocf_flags;               /* OCF_SESS_HWONLY / OCF_SESS_SWONLY for the
                                       SA's session */
  ipsec_iv_fn iv_fn;                /* known-answer tests only; NULL in real use */
  void *iv_arg;
  const char *name; /* label in statistics (copied); NULL = none */
};

/* ipsec_action - what a policy does with the packets it matches. */
enum ipsec_action { IPSEC_ACT_DISCARD = 0, IPSEC_ACT_BYPASS = 1, IPSEC_ACT_PROTECT = 2 };

/* ipsec_selector - which packets a policy matches (RFC 4301 section 4.4.1).
 * Addresses are prefixes; an address of family 0 matches any address of
 * either family.  proto 0 matches any protocol.  Port ranges apply to TCP,
 * UDP and SCTP (and to ICMP / ICMPv6 as type in the source range and code in
 * the destination range, as RFC 4301 does); a range of 0..0 is "any", and a
 * packet whose ports are not visible (a non-first fragment) only matches
 * "any".  The selector is matched against the cleartext packet: the one
 * given to ipsec_output, or the one ipsec_input recovered. */
struct ipsec_selector {
  struct ipsec_addr src, dst;
  uint8_t src_plen, dst_plen; /* prefix lengths in bits */
  uint8_t proto;
  uint16_t sport_lo, sport_hi; /* host order, inclusive */
  uint16_t dport_lo, dport_hi;
};

/* ipsec_policy_params - one SPD entry.  Policies are searched in order and
 * the first match wins (ipsec_policy_add places them).
 * Outbound PROTECT: the SAs (outbound, at least one) are applied to the
 * packet in array order, sa[0] first (so {IPcomp, ESP} compresses, then
 * encrypts the compressed packet).
 * Inbound PROTECT: the SAs (inbound) a packet matching the selector must have
 * arrived under, outermost last (the same order as the sender's outbound
 * list); a packet that arrives under one of these SAs and does not match the
 * selector, or matches it but was not protected by them, is dropped with
 * IPSEC_DROP_POLICY.  Several inbound policies may name the same SA (one SA
 * carrying several selectors, as IKEv2's traffic selector lists): a packet
 * that came through it is admitted when it fits any of them, and
 * pkt->policy is the first that fits in the order they were added (a drop
 * is counted on the first of them).  An inbound SA that no policy names
 * admits any packet.  Inbound BYPASS / DISCARD apply to packets that arrive
 * without IPsec. */
struct ipsec_policy_params {
  enum ipsec_dir dir;
  struct ipsec_selector sel;
  enum ipsec_action action;
  struct ipsec_sa *sa[IPSEC_MAX_CHAIN]; /* PROTECT: borrowed; each SA must
                                           outlive the policy */
  int nsa;
  const char *name; /* label in statistics (copied); NULL = none */
};

/* ipsec_verdict - the outcome of one packet, delivered in pkt->verdict.
 * Every value but IPSEC_OK, IPSEC_BYPASS and IPSEC_IKE is a drop, and every
 * drop is counted (ipsec_counters.drops[verdict]). */
enum ipsec_verdict {
  IPSEC_OK = 0,         /* output: protected, ready to send;
                           input: protection removed, ready to deliver */
  IPSEC_BYPASS,         /* a BYPASS policy let it through unchanged */
  IPSEC_IKE,            /* input: UDP on the encapsulation port with the
                           non-ESP marker (RFC 3948): for the key-management
                           daemon; the packet is unchanged */
  IPSEC_DROP_POLICY,    /* a DISCARD policy, no policy and a DISCARD
                           default, or an inbound policy check failed */
  IPSEC_DROP_NOSA,      /* input: unknown SPI / CPI for this destination;
                           output: a PROTECT policy's SA was removed */
  IPSEC_DROP_REPLAY,    /* input: sequence number seen before */
  IPSEC_DROP_OLD,       /* input: sequence number behind the window */
  IPSEC_DROP_AUTH,      /* input: ICV / tag mismatch */
  IPSEC_DROP_EXPIRED,   /* the SA reached a hard lifetime, or its sequence
                           numbers ran out (2^32 without ESN) */
  IPSEC_DROP_TRUNCATED, /* shorter than its own headers, IV and ICV say */
  IPSEC_DROP_BADLEN,    /* IP header lengths inconsistent with the data
                           (larger than the buffer, smaller than the
                           header, jumbograms, ...) */
  IPSEC_DROP_BADPAD,    /* ESP padding length or padding bytes wrong, or
                           ciphertext not a multiple of the block size */
  IPSEC_DROP_BADNH,     /* next header not allowed where it is (tunnel SA
                           carrying no IP packet, inner version mismatch) */
  IPSEC_DROP_MALFORMED, /* any other format error: not IPv4/IPv6, an IP
                           fragment, bad IPcomp header, bad AH length ... */
  IPSEC_DROP_DECOMP,    /* IPcomp: corrupt or truncated DEFLATE data */
  IPSEC_DROP_TOOBIG,    /* output: larger than the path MTU with DF set or
                           IPv6 (pkt->mtu says how large it may be);
                           input: IPcomp output above the limit (a bomb) */
  IPSEC_DROP_NOROOM,    /* the buffer cannot hold the result */
  IPSEC_DROP_DUMMY,     /* input: a dummy packet (next header 59, RFC 4303
                           TFC): consumed */
  IPSEC_DROP_KEEPALIVE, /* input: a NAT-keepalive (RFC 3948): consumed */
  IPSEC_DROP_CRYPTO,    /* the framework could not do it (no producer,
                           device error, ...): pkt->error has the errno */
  IPSEC_VERDICT__MAX
};

/* ipsec_verdict_name returns a short lower-case name for v ("ok", "replay",
 * ...), or "?" when v is out of range. */
const char *ipsec_verdict_name(enum ipsec_verdict v);

/* --- packets --------------------------------------------------------------- */

struct ipsec_pkt;

/* ipsec_done_fn - a packet's completion; runs exactly once per packet that
 * ipsec_output / ipsec_input accepted, with pkt->verdict set.  The packet
 * then belongs to the caller again. */
typedef void (*ipsec_done_fn)(struct ipsec_pkt *pkt);

/* ipsec_outer - where a protected packet travels: the outer addresses and,
 * for ESP in UDP, the ports (host order).  proto is the IP protocol after the
 * outer header (IPPROTO_UDP when encapsulated). */
struct ipsec_outer {
  struct ipsec_addr src, dst;
  uint16_t sport, dport;
  uint8_t proto;
};

/* Packet flags (ipsec_pkt.flags), set by the caller */
#define IPSEC_PKT_UDP_PAYLOAD                       \
  0x1 /* input: the data is the payload of a UDP    \
         datagram that arrived on the encapsulation \
         port (what a UDP socket returns: an ESP    \
         packet, a non-ESP-marker IKE message or a  \
         keepalive); pkt->outer says from where     \
         (src, dst, sport, dport).  The library     \
         rebuilds the IP and UDP headers in the     \
         headroom (28 or 48 bytes needed). */

/* IPSEC_PKT_PRIV_SIZE is the size of the library's per-packet state kept in
 * struct ipsec_pkt (the OCF request and what its callback needs). */
#define IPSEC_PKT_PRIV_SIZE 1536

/* ipsec_pkt - one packet and its journey through the library.  Allocated and
 * owned by the caller (it may be embedded in the caller's own packet
 * structure); fields marked [lib] are written by the library and valid in
 * done(); do not touch the packet between the call and done(). */
struct ipsec_pkt {
  uint8_t *buf;   /* the buffer */
  size_t size;    /* its size in bytes */
  size_t off;     /* [lib] the packet starts at buf + off; the bytes before
                     it are headroom */
  size_t len;     /* [lib] packet length in bytes */
  unsigned flags; /* IPSEC_PKT_* */
  ipsec_done_fn done;
  void *user; /* the caller's, untouched */
  /* outer: set by the caller with IPSEC_PKT_UDP_PAYLOAD (input); [lib] set
   * on IPSEC_OK output: where the packet goes */
  struct ipsec_outer outer;
  /* [lib] the outcome; error: the errno behind IPSEC_DROP_CRYPTO */
  enum ipsec_verdict verdict;
  int error;
  /* [lib] output IPSEC_OK: offset from off of the first byte after the outer
   * IP header and UDP header (the ESP / AH / IPcomp header), what a UDP
   * socket or a raw IPPROTO_ESP socket sends to outer.dst */
  size_t payload_off;
  /* [lib] IPSEC_DROP_TOOBIG on output: the largest packet the policy's SAs
   * can carry (for an ICMP "fragmentation needed" / "packet too big") */
  uint32_t mtu;
  /* [lib] the 64-bit sequence number the last numbering SA gave it (output)
   * or it arrived with (input); 0 when none did */
  uint64_t seq;
  /* [lib] the SAs applied (output, innermost first) or removed (input,
   * outermost first), including the one that dropped it; borrowed, valid
   * until done() returns */
  int nsa;
  struct ipsec_sa *sa[IPSEC_MAX_CHAIN];
  /* [lib] the policy that decided, or NULL; borrowed, valid until done()
   * returns */
  struct ipsec_policy *policy;
  /* private to the library */
  unsigned char priv_[IPSEC_PKT_PRIV_SIZE] __attribute__((aligned(16)));
};

/* ipsec_pkt_init sets up pkt for a packet of len bytes at buf + off in a
 * buffer of size bytes, with completion done and caller data user; every
 * other public field is cleared.  priv_ needs no clearing: the library sets
 * up all of it that it reads when the packet enters, so one ipsec_pkt (once
 * its done() has run) can carry the next packet, through any SA, either way. */
void ipsec_pkt_init(struct ipsec_pkt *pkt, void *buf, size_t size, size_t off, size_t len,
                    ipsec_done_fn done, void *user);

/* --- context --------------------------------------------------------------- */

/* Context flags (ipsec_ctx_opts.flags) */
#define IPSEC_CTX_NO_INLINE                        \
  0x1 /* do not ask software producers to run the  \
         requests in the calling thread (they then \
         go to the framework's worker threads) */
#define IPSEC_CTX_CBIMM                            \
  0x2 /* completions of asynchronous producers run \
         done() on the completing thread           \
         (OCF_REQ_CBIMM) instead of a return thread */
#define IPSEC_CTX_DIRECT                            \
  0x4 /* no framework: the same ESP / AH code calls \
         OpenSSL EVP (and zlib) directly in the     \
         calling thread.  The comparison path of    \
         `ocf bench --ipsec`; not for production */

/* ipsec_event - what an event callback is told about. */
enum ipsec_event {
  IPSEC_EV_SOFT_EXPIRED = 1, /* an SA passed a soft lifetime limit (once) */
  IPSEC_EV_HARD_EXPIRED,     /* an SA passed a hard limit (once); it now
                                drops with IPSEC_DROP_EXPIRED */
  IPSEC_EV_MIGRATED          /* an SA's session moved to another producer */
};

/* ipsec_event_fn - event callback; runs on a packet thread, must be quick
 * and must not add or delete SAs or policies. */
typedef void (*ipsec_event_fn)(void *arg, struct ipsec_sa *sa, enum ipsec_event ev);

/* ipsec_ctx_opts - context options; zero-initialize and set what you need. */
struct ipsec_ctx_opts {
  unsigned flags;                /* IPSEC_CTX_* */
  enum ipsec_action out_default; /* outbound, no policy matched (DISCARD or
                                    BYPASS; default DISCARD, as RFC 4301) */
  enum ipsec_action in_default;  /* inbound packets without IPsec, no policy
                                    matched (default DISCARD) */
  uint16_t encap_port;           /* input: UDP destination port taken as ESP in
                                    UDP, host order; 0 = 4500 */
  size_t ipcomp_max;             /* input: largest IPcomp result accepted, in
                                    bytes of IP packet; 0 = 65535 */
  ipsec_event_fn event;
  void *event_arg;
};

struct ipsec_ctx;
struct ipsec_sa;
struct ipsec_policy;

/* ipsec_ctx_new creates a context (an empty SAD and SPD) and stores it in
 * *ctx.  opts may be NULL.  The framework must be running (ocf_init) before
 * SAs are added, unless IPSEC_CTX_DIRECT is set. */
int ipsec_ctx_new(const struct ipsec_ctx_opts *opts, struct ipsec_ctx **ctx);

/* ipsec_ctx_drain waits until every packet accepted on ctx so far has
 * completed (its done() has returned).  Must not be called from done(). */
void ipsec_ctx_drain(struct ipsec_ctx *ctx);

/* ipsec_ctx_free drains ctx, then frees its policies and SAs (their sessions
 * are freed and keys wiped).  Must not be called from done().  NULL is
 * ignored. */
void ipsec_ctx_free(struct ipsec_ctx *ctx);

/* --- SAs --------------------------------------------------------------------- */

/* ipsec_sa_add validates p, creates the SA's OCF session and enters the SA
 * into the SAD; *sa receives a handle valid until ipsec_sa_del.
 *   EINVAL   a field is invalid (ocf_errdetail-style text in errbuf)
 *   EEXIST   an inbound SA with the same protocol, SPI and destination exists
 *   ENODEV / ENOTSUP  the framework cannot serve the algorithms
 * errbuf (may be NULL) receives a sentence saying what was wrong. */
int ipsec_sa_add(struct ipsec_ctx *ctx, const struct ipsec_sa_params *p, struct ipsec_sa **sa,
                 char *errbuf, size_t errlen);

/* ipsec_sa_del removes sa from the SAD: new packets no longer find it;
 * packets in flight complete normally, and the SA is freed (keys wiped) when
 * the last of them is done.  EBUSY (nothing changed) while a policy still
 * names it. */
int ipsec_sa_del(struct ipsec_ctx *ctx, struct ipsec_sa *sa);

/* ipsec_sa_find returns the SA of ctx with that direction, protocol and SPI
 * (CPI for IPcomp) whose destination matches dst (dst may be NULL: any), or
 * NULL.  The handle is valid until ipsec_sa_del. */
struct ipsec_sa *ipsec_sa_find(struct ipsec_ctx *ctx, enum ipsec_dir dir, enum ipsec_proto proto,
                               uint32_t spi, const struct ipsec_addr *dst);

/* ipsec_sa_set_pmtu records the path MTU learned for sa's outer packets
 * (e.g. from an ICMP "fragmentation needed" for them). */
void ipsec_sa_set_pmtu(struct ipsec_sa *sa, uint32_t pmtu);

/* ipsec_sa_overhead returns the bytes sa adds to a packet of inner_len bytes
 * (outer header, UDP, ESP / AH header, IV, padding, trailer, ICV); IPcomp
 * adds nothing (it never sends a packet larger than it got). */
size_t ipsec_sa_overhead(const struct ipsec_sa *sa, size_t inner_len);

/* ipsec_chain_mtu returns the largest packet that the SAs chain[0..n), applied
 * in that order, turn into a packet of at most link_mtu bytes (0 when none
 * fits).  With link_mtu 0 it starts from the last SA's path MTU. */
uint32_t ipsec_chain_mtu(struct ipsec_sa *const *chain, int n, uint32_t link_mtu);

/* ipsec_pmtu_update handles an MTU report for packets that left through
 * chain[0..n) (pkt->sa / pkt->nsa of an output packet): the last SA records
 * mtu as its path MTU, and each earlier SA the MTU left after the SAs after it
 * (the paper's section 4.1: the first SA advertises the smallest MTU).  Later
 * packets larger than the first SA's figure, with DF or IPv6, end with
 * IPSEC_DROP_TOOBIG and pkt->mtu. */
void ipsec_pmtu_update(struct ipsec_sa *const *chain, int n, uint32_t mtu);

/* --- policies --------------------------------------------------------------- */

/* ipsec_policy_add enters p into the SPD of its direction at position pos
 * (0 = first; -1 or past the end = last) and stores a handle in *pol (may be
 * NULL).  EINVAL: bad selector, PROTECT without SAs or with SAs of the wrong
 * direction, SAs on a policy that is not PROTECT. */
int ipsec_policy_add(struct ipsec_ctx *ctx, const struct ipsec_policy_params *p, int pos,
                     struct ipsec_policy **pol, char *errbuf, size_t errlen);

/* ipsec_policy_replace puts a policy made from p in the place of old, in one
 * step: no packet sees neither (a configuration reload that changes a
 * policy drops no traffic).  old is then removed as by ipsec_policy_del;
 * the new one starts with zero counters.  ENOENT when old is not in the
 * SPD; EINVAL as ipsec_policy_add, or when p is for the other direction. */
int ipsec_policy_replace(struct ipsec_ctx *ctx, struct ipsec_policy *old,
                         const struct ipsec_policy_params *p, struct ipsec_policy **pol,
                         char *errbuf, size_t errlen);

/* ipsec_policy_del removes pol from the SPD; it is freed once no lookup can
 * still see it, and the handle must not be used again. */
int ipsec_policy_del(struct ipsec_ctx *ctx, struct ipsec_policy *pol);

/* ipsec_policy_room writes the headroom and tailroom (either may be NULL)
 * that pol's SAs need to protect a packet in place. */
void ipsec_policy_room(const struct ipsec_policy *pol, size_t *head, size_t *tail);

/* --- the packet path ---------------------------------------------------------- */

/* ipsec_output protects an outbound IPv4 or IPv6 packet as the SPD says.
 * Returns 0 when the packet was accepted (done() runs exactly once, perhaps
 * before ipsec_output returns), or EINVAL (NULL ctx, pkt or done, or off +
 * len larger than size; done() will not run).  On IPSEC_OK the packet at
 * buf + off is the protected packet with its outer IP header; pkt->outer and
 * pkt->payload_off say where and what to send. */
int ipsec_output(struct ipsec_ctx *ctx, struct ipsec_pkt *pkt);

/* ipsec_input removes the protection from an inbound packet (a full IPv4 or
 * IPv6 packet, or a UDP payload with IPSEC_PKT_UDP_PAYLOAD).  Same contract
 * as ipsec_output.  On IPSEC_OK the packet at buf + off is the cleartext
 * packet: the inner packet in tunnel mode, the original header and payload in
 * transport mode.  A packet that is not IPsec is checked against the inbound
 * SPD (IPSEC_BYPASS or IPSEC_DROP_POLICY). */
int ipsec_input(struct ipsec_ctx *ctx, struct ipsec_pkt *pkt);

/* ipsec_output_batch and ipsec_input_batch handle n packets with one
 * dispatch to the framework (ocf_dispatch_batch).  They return how many
 * packets were accepted, in order; the first one refused (EINVAL, as above)
 * stops the batch. */
int ipsec_output_batch(struct ipsec_ctx *ctx, struct ipsec_pkt *const *pkts, int n);
int ipsec_input_batch(struct ipsec_ctx *ctx, struct ipsec_pkt *const *pkts, int n);

/* --- statistics --------------------------------------------------------------- */

/* ipsec_counters - packets and bytes that passed (IPSEC_OK or IPSEC_BYPASS)
 * and the drops by verdict; drops[IPSEC_OK] etc. stay 0. */
struct ipsec_counters {
  uint64_t packets;
  uint64_t bytes;
  uint64_t drops[IPSEC_VERDICT__MAX];
};

/* ipsec_sa_info - a snapshot of one SA. */
struct ipsec_sa_info {
  char name[32];
  enum ipsec_proto proto;
  enum ipsec_dir dir;
  enum ipsec_mode mode;
  uint32_t spi;
  struct ipsec_addr src, dst;
  enum ipsec_enc enc;
  enum ipsec_auth auth;
  enum ipsec_comp comp;
  unsigned flags;
  uint16_t encap_sport, encap_dport;
  char producer[32]; /* the OCF producer serving the SA's session */
  ocf_sid_t sid;
  uint64_t seq; /* outbound: the last sequence number handed out;
                   inbound: the highest one accepted */
  uint32_t replay_window;
  uint64_t replay_bitmap; /* inbound: the newest 64 bits of the window,
                             bit 0 = seq, bit i = seq - i */
  struct ipsec_lifetime soft, hard;
  struct ipsec_lifetime used; /* packets, bytes, seconds so far */
  int soft_expired, hard_expired;
  uint32_t pmtu;         /* outbound: the path MTU in use */
  uint32_t mtu;          /* outbound: the largest packet it takes within pmtu */
  uint64_t resubmits;    /* requests resubmitted after EAGAIN (migration) */
  uint64_t reorder_held; /* outbound: packets completed out of order, held
                            for their predecessors, so far */
  uint64_t uncompressed; /* IPcomp outbound: packets sent as they were
                            (short, or compression did not shrink them) */
  int refs;              /* packets in flight and tables holding the SA */
  struct ipsec_counters c;
};

/* ipsec_sa_info fills *out for sa. */
void ipsec_sa_info(const struct ipsec_sa *sa, struct ipsec_sa_info *out);

/* ipsec_policy_info - a snapshot of one policy. */
struct ipsec_policy_info {
  char name[32];
  enum ipsec_dir dir;
  enum ipsec_action action;
  struct ipsec_selector sel;
  int nsa;
  uint32_t spi[IPSEC_MAX_CHAIN];
  int index; /* position in its SPD */
  struct ipsec_counters c;
};

/* ipsec_policy_info fills *out for pol. */
void ipsec_policy_info(const struct ipsec_policy *pol, struct ipsec_policy_info *out);

/* ipsec_ctx_stats - what no SA or policy can be charged with. */
struct ipsec_ctx_stats {
  uint64_t sas, policies;    /* currently in the tables */
  uint64_t inflight;         /* packets accepted and not yet done */
  uint64_t moved;            /* packets moved in their buffer for lack of
                                headroom or tailroom */
  struct ipsec_counters out; /* outbound verdicts without a policy */
  struct ipsec_counters in;  /* inbound verdicts without an SA or policy */
};

/* ipsec_ctx_stats fills *out. */
void ipsec_ctx_stats(struct ipsec_ctx *ctx, struct ipsec_ctx_stats *out);

/* ipsec_sa_foreach calls fn for every SA of ctx (outbound first, then
 * inbound, each in the order added) and ipsec_policy_foreach for every
 * policy (outbound SPD in order, then inbound); fn must not add or delete
 * SAs or policies.  Both return how many they visited. */
int ipsec_sa_foreach(struct ipsec_ctx *ctx, void (*fn)(void *arg, struct ipsec_sa *sa), void *arg);
int ipsec_policy_foreach(struct ipsec_ctx *ctx, void (*fn)(void *arg, struct ipsec_policy *pol),
                         void *arg);

/* ipsec_stats_text writes a human-readable report of ctx (every SA with its
 * counters, replay window and lifetimes, like `ip -s xfrm state`, then every
 * policy, then the context's counters) into buf[len], NUL-terminated and
 * truncated if short, and returns the length it needed (without the NUL). */
size_t ipsec_stats_text(struct ipsec_ctx *ctx, char *buf, size_t len);

/* ipsec_enc_name / ipsec_auth_name / ipsec_comp_name return the IKEv2-style
 * name of a transform ("aes-gcm-16", "hmac-sha2-256-128", "deflate"), or
 * NULL; ipsec_enc_byname / ipsec_auth_byname / ipsec_comp_byname map a name
 * back (returning -1 when unknown), for configuration files. */
const char *ipsec_enc_name(enum ipsec_enc e);
const char *ipsec_auth_name(enum ipsec_auth a);
const char *ipsec_comp_name(enum ipsec_comp c);
int ipsec_enc_byname(const char *name);
int ipsec_auth_byname(const char *name);
int ipsec_comp_byname(const char *name);

/* ipsec_addr_parse parses an IPv4 or IPv6 address ("192.0.2.1", "2001:db8::1")
 * into *a; ipsec_addr_format writes a's text into buf[len] ("any" for family
 * 0).  parse returns 0 or EINVAL. */
int ipsec_addr_parse(const char *s, struct ipsec_addr *a);
const char *ipsec_addr_format(const struct ipsec_addr *a, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* OCF_IPSEC_H */
