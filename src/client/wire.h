/*
 * wire.h - the ocfd protocol, shared by the daemon (src/ocfd), the client
 * library (src/client) and the fuzz target.  Header-only (static inline) so
 * that every user compiles its own copy: the daemon links no client objects.
 *
 * A connection is a SOCK_STREAM Unix socket.  Every message, in both
 * directions, is a 16-byte header followed by a body:
 *
 *   hdr.len    total length of the message, header included
 *   hdr.cmd    OCFW_* command; a reply carries the command it answers
 *   hdr.flags  OCFW_F_* (command specific)
 *   hdr.tag    chosen by the client, echoed in the reply
 *   hdr.status 0 or a positive errno in replies; 0 in requests
 *
 * Both ends are on one host, so integers are in host byte order.  Replies to
 * OCFW_CRYPT and OCFW_KEY arrive in completion order, not request order; all
 * other commands are answered before the daemon reads the next message.  A
 * message whose framing is impossible (length below the header, above the
 * daemon's limit) earns one OCFW_ERROR message and the end of the connection;
 * a well-framed message with a bad body earns a reply with an errno and the
 * connection goes on.
 */
#ifndef OCF_CLIENT_WIRE_H
#define OCF_CLIENT_WIRE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <ocf/ocf.h>

#define OCFW_MAGIC 0x3146434fu /* "OCF1" */
#define OCFW_VERSION 1

enum ocfw_cmd {
  OCFW_HELLO = 1,       /* {magic, version} -> ocfw_hello_rep */
  OCFW_NEWSESSION = 2,  /* ocfw_newsess + params + keys -> ocfw_sessinfo */
  OCFW_FREESESSION = 3, /* {u32 ses} -> empty */
  OCFW_SESSINFO = 4,    /* {u32 ses} -> ocfw_sessinfo */
  OCFW_CRYPT = 5,       /* ocfw_crypt + descs + data -> ocfw_crypt_rep + ivs + data */
  OCFW_KEY = 6,         /* ocfw_key + params + input bytes -> ocfw_key_rep + outputs */
  OCFW_ASYMFEAT = 7,    /* empty -> {u32 CRF_* bits} */
  OCFW_SHM_REG = 8,     /* {u64 size} + one fd by SCM_RIGHTS -> {u32 shm} */
  OCFW_SHM_UNREG = 9,   /* {u32 shm} -> empty */
  OCFW_DRIVERS = 10,    /* empty -> {u32 n} + n * ocfw_driver */
  OCFW_ERROR = 11,      /* daemon -> client only: fatal, the connection ends */
  OCFW_STATS = 12,      /* empty -> ocfw_stats + ndrv * (ocfw_dstat + limits) */
  OCFW_RING_REG = 13,   /* ocfw_ring_reg + one fd by SCM_RIGHTS -> empty */
  OCFW_KICK = 14,       /* either way, empty, never answered: "look at the rings" */
  OCFW_PAD = 15,        /* inside a ring only: the rest up to the ring's end is unused */
  OCFW_SESSLIST = 16,   /* empty -> {u32 n} + n * {u32 ses}: this connection's sessions */
  OCFW_CPHASH = 17,     /* {u32 dst, u32 src} -> empty: copy a streamed digest's state */
  OCFW__MAX = 18
};

/* OCFW_CRYPT flags (hdr.flags) */
#define OCFW_F_WANTIV 0x1 /* reply carries the descriptors' IVs (generated IVs) */
#define OCFW_F_SHM 0x2    /* data lives in a registered shared-memory region */
#define OCFW_F_NODATA 0x4 /* copy path: reply without data (e.g. a MAC verify) */
#define OCFW_CRYPT_FLAGS (OCFW_F_WANTIV | OCFW_F_SHM | OCFW_F_NODATA)

/* Limits the decoder enforces whatever the daemon's configuration. */
#define OCFW_HDR_LEN 16u
#define OCFW_MAX_KEY 1024u    /* bytes per key */
#define OCFW_MAX_KBYTES 2048u /* bytes per public-key parameter (16384 bits) */
#define OCFW_NAME_LEN 32u

struct ocfw_hdr {
  uint32_t len;
  uint16_t cmd;
  uint16_t flags;
  uint32_t tag;
  int32_t status;
};

struct ocfw_hello {
  uint32_t magic;
  uint32_t version;
};

struct ocfw_hello_rep {
  uint32_t magic;
  uint32_t version;
  uint32_t max_req;      /* longest data buffer of one request */
  uint32_t max_inflight; /* requests in flight per connection before back-pressure */
  uint32_t allow_soft;
  uint32_t pad;
};

struct ocfw_newsess {
  uint32_t flags; /* OCF_SESS_* (the daemon may add OCF_SESS_HWONLY) */
  uint32_t nparam;
};

struct ocfw_param {
  uint32_t alg;
  uint32_t keylen; /* key bytes follow all params, in order */
  uint32_t maclen;
  uint32_t ivlen;
  uint32_t level;
};

struct ocfw_alginfo {
  uint32_t alg;
  uint32_t cls;
  uint32_t block;
  uint32_t ivlen;
  uint32_t maclen; /* effective MAC / tag length of the session */
};

struct ocfw_sessinfo {
  uint32_t ses;
  uint32_t hid;
  uint32_t drvflags; /* OCF_DRV_* */
  uint32_t nparam;
  char driver[OCFW_NAME_LEN];
  struct ocfw_alginfo alg[OCF_MAX_DESC];
};

struct ocfw_crypt {
  uint32_t ses;
  uint16_t ndesc;
  uint16_t reqflags; /* OCF_REQ_* hints: reserved, 0 */
  uint32_t datalen;  /* buffer length (copy path: bytes that follow) */
  uint32_t shm;      /* OCFW_F_SHM: region id */
  uint64_t shm_off;  /* OCFW_F_SHM: buffer offset in the region */
};

struct ocfw_desc {
  uint32_t alg;
  uint32_t flags; /* OCF_D_* */
  uint32_t skip;
  uint32_t len;
  uint32_t inject;
  uint32_t iv_off;
  uint32_t aad_skip;
  uint32_t aad_len;
  uint8_t iv[OCF_MAX_IV];
};

struct ocfw_crypt_rep {
  uint32_t olen;
  uint32_t datalen; /* bytes of data that follow the IVs (0 with SHM / NODATA) */
};

struct ocfw_key {
  uint32_t op;
  uint16_t iparams;
  uint16_t oparams;
};

struct ocfw_kparam {
  uint32_t nbits;
  uint32_t nbytes; /* input: bytes that follow; output: room wanted */
};

struct ocfw_key_rep {
  uint32_t kstatus;
  uint16_t oparams;
  uint16_t pad;
};

struct ocfw_driver {
  uint32_t hid;
  uint32_t flags;
  char name[OCFW_NAME_LEN];
};

/* OCFW_STATS reply: the daemon's own figures, then one variable-length record
 * per producer (struct ocfw_dstat followed by nalg + nfailed + nkop
 * struct ocfw_lim: registered algorithms with their maximum operation length,
 * algorithms refused by the registration self-test (max 0), public-key
 * operations with their modulus limit in bits).  Doubles are fine on the
 * wire: both ends are on one host. */
struct ocfw_stats {
  uint32_t ndrv;    /* producer records that follow */
  uint32_t clients; /* connected clients */
  uint64_t accepted;
  uint64_t sessions; /* sessions held by clients */
  uint64_t inflight; /* requests in the daemon now */
  uint64_t served;   /* requests answered since start (symmetric + public key) */
  uint64_t failed;   /* of which answered with an error */
  uint64_t shm_bytes;
  uint64_t uptime_ms;
  char policy[OCFW_NAME_LEN];
};

struct ocfw_dstat {
  uint32_t hid;
  uint32_t flags; /* OCF_DRV_* */
  char name[OCFW_NAME_LEN];
  uint64_t sessions, requests, krequests, bytes, errors, migrations, queued;
  double p50_us, p99_us;
  uint32_t detached;
  uint16_t nalg, nfailed;
  uint16_t nkop, pad16;
  uint32_t pad32;
};

struct ocfw_lim {
  uint32_t id; /* enum ocf_alg or enum ocf_kop */
  uint32_t pad;
  uint64_t max; /* bytes (algorithms) or bits (public key); 0 = no limit */
};

_Static_assert(sizeof(struct ocfw_stats) == 96, "ocfw_stats has no padding");
_Static_assert(sizeof(struct ocfw_dstat) == 128, "ocfw_dstat has no padding");
_Static_assert(sizeof(struct ocfw_lim) == 16, "ocfw_lim has no padding");

/* --- decoding helpers: every function checks lengths before it reads ----- */

/* ocfw_get_hdr reads a header from p[n]; returns 0, or EMSGSIZE when n is too
 * short to hold one. */
static inline int ocfw_get_hdr(const void *p, size_t n, struct ocfw_hdr *h) {
  if (n < OCFW_HDR_LEN) return EMSGSIZE;
  memcpy(h, p, sizeof(*h));
  return 0;
}

/* ocfw_frame_ok tells whether a header's length is possible given max_msg. */
static inline int ocfw_frame_ok(const struct ocfw_hdr *h, size_t max_msg) {
  return h->len >= OCFW_HDR_LEN && h->len <= max_msg;
}

/* ocfw_crypt_view - a decoded OCFW_CRYPT body; pointers into the message. */
struct ocfw_crypt_view {
  struct ocfw_crypt c;
  struct ocfw_desc d[OCF_MAX_DESC];
  const uint8_t *data; /* copy path only */
};

/* ocfw_dec_crypt validates and decodes an OCFW_CRYPT body b[n] sent with
 * header flags hflags.  Offsets are checked against the buffer length here;
 * algorithm facts are the framework's business. */
static inline int ocfw_dec_crypt(const uint8_t *b, size_t n, unsigned hflags,
                                 struct ocfw_crypt_view *v) {
  if (hflags & ~OCFW_CRYPT_FLAGS) return EINVAL;
  if (n < sizeof(struct ocfw_crypt)) return EBADMSG;
  memcpy(&v->c, b, sizeof(v->c));
  if (v->c.ndesc < 1 || v->c.ndesc > OCF_MAX_DESC || v->c.reqflags != 0) return EINVAL;
  size_t dlen = (size_t)v->c.ndesc * sizeof(struct ocfw_desc);
  size_t need = sizeof(struct ocfw_crypt) + dlen;
  if (n < need) return EBADMSG;
  int shm = (hflags & OCFW_F_SHM) != 0;
  if (shm) {
    if (n != need) return EBADMSG;
    v->data = NULL;
  } else {
    if (v->c.shm != 0 || v->c.shm_off != 0) return EINVAL;
    if (n - need != v->c.datalen) return EBADMSG;
    v->data = b + need;
  }
  memcpy(v->d, b + sizeof(struct ocfw_crypt), dlen);
  uint64_t total = v->c.datalen;
  for (int i = 0; i < v->c.ndesc; i++) {
    const struct ocfw_desc *d = &v->d[i];
    if ((uint64_t)d->skip + d->len > total) return ERANGE;
    if ((uint64_t)d->aad_skip + d->aad_len > total) return ERANGE;
    if (d->inject > total || d->iv_off > total) return ERANGE;
    if (d->flags & ~(unsigned)(OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT | OCF_D_IV_PRESENT | OCF_D_VERIFY |
                               OCF_D_UPDATE | OCF_D_FINAL | OCF_D_RESET))
      return EINVAL;
  }
  return 0;
}

/* ocfw_newsess_view - a decoded OCFW_NEWSESSION body. */
struct ocfw_newsess_view {
  struct ocfw_newsess s;
  struct ocfw_param p[OCF_MAX_DESC];
  const uint8_t *key[OCF_MAX_DESC];
};

static inline int ocfw_dec_newsess(const uint8_t *b, size_t n, struct ocfw_newsess_view *v) {
  if (n < sizeof(struct ocfw_newsess)) return EBADMSG;
  memcpy(&v->s, b, sizeof(v->s));
  if (v->s.nparam < 1 || v->s.nparam > OCF_MAX_DESC) return EINVAL;
  if (v->s.flags & ~(unsigned)(OCF_SESS_HWONLY | OCF_SESS_SWONLY)) return EINVAL;
  size_t off = sizeof(struct ocfw_newsess) + v->s.nparam * sizeof(struct ocfw_param);
  if (n < off) return EBADMSG;
  memcpy(v->p, b + sizeof(struct ocfw_newsess), v->s.nparam * sizeof(struct ocfw_param));
  for (uint32_t i = 0; i < v->s.nparam; i++) {
    if (v->p[i].keylen > OCFW_MAX_KEY) return EINVAL;
    if (v->p[i].maclen > 1024 || v->p[i].ivlen > OCF_MAX_IV || v->p[i].level > 9) return EINVAL;
    if (n - off < v->p[i].keylen) return EBADMSG;
    v->key[i] = b + off;
    off += v->p[i].keylen;
  }
  return off == n ? 0 : EBADMSG;
}

/* ocfw_key_view - a decoded OCFW_KEY body. */
struct ocfw_key_view {
  struct ocfw_key k;
  struct ocfw_kparam p[OCF_KMAX_PARAM];
  const uint8_t *in[OCF_KMAX_PARAM];
};

static inline int ocfw_dec_key(const uint8_t *b, size_t n, struct ocfw_key_view *v) {
  if (n < sizeof(struct ocfw_key)) return EBADMSG;
  memcpy(&v->k, b, sizeof(v->k));
  unsigned np = (unsigned)v->k.iparams + v->k.oparams;
  if (np > OCF_KMAX_PARAM || v->k.op >= OCF_KOP__MAX) return EINVAL;
  size_t off = sizeof(struct ocfw_key) + np * sizeof(struct ocfw_kparam);
  if (n < off) return EBADMSG;
  memcpy(v->p, b + sizeof(struct ocfw_key), np * sizeof(struct ocfw_kparam));
  for (unsigned i = 0; i < np; i++) {
    if (v->p[i].nbytes > OCFW_MAX_KBYTES || (uint64_t)v->p[i].nbits > 8ull * v->p[i].nbytes)
      return EINVAL;
    if (i < v->k.iparams) {
      if (n - off < v->p[i].nbytes) return EBADMSG;
      v->in[i] = b + off;
      off += v->p[i].nbytes;
    } else {
      v->in[i] = NULL;
    }
  }
  return off == n ? 0 : EBADMSG;
}

/* ocfw_dec_u32x2 decodes a body that is exactly two uint32_t (OCFW_CPHASH). */
static inline int ocfw_dec_u32x2(const uint8_t *b, size_t n, uint32_t *x, uint32_t *y) {
  if (n != 8) return EBADMSG;
  memcpy(x, b, 4);
  memcpy(y, b + 4, 4);
  return 0;
}

/* ocfw_dec_u32 decodes a body that is exactly one uint32_t. */
static inline int ocfw_dec_u32(const uint8_t *b, size_t n, uint32_t *x) {
  if (n != sizeof(uint32_t)) return EBADMSG;
  memcpy(x, b, sizeof(*x));
  return 0;
}

/* ocfw_dec_stats checks an OCFW_STATS reply body b[n] as a whole (every
 * record's counts within their limits, the records filling the body exactly)
 * and copies its head into *st.  Records are then read with
 * ocfw_dec_dstat from offset sizeof(struct ocfw_stats). */
static inline int ocfw_dec_dstat(const uint8_t *b, size_t n, size_t *off, struct ocfw_dstat *ds,
                                 const uint8_t **lims);

static inline int ocfw_dec_stats(const uint8_t *b, size_t n, struct ocfw_stats *st) {
  if (n < sizeof(struct ocfw_stats)) return EBADMSG;
  memcpy(st, b, sizeof(*st));
  if (st->ndrv > 4096) return EINVAL;
  size_t off = sizeof(*st);
  for (uint32_t i = 0; i < st->ndrv; i++) {
    struct ocfw_dstat ds;
    const uint8_t *lims;
    int rc = ocfw_dec_dstat(b, n, &off, &ds, &lims);
    if (rc) return rc;
  }
  return off == n ? 0 : EBADMSG;
}

/* ocfw_dec_dstat decodes the producer record at *off, points *lims at its
 * nalg + nfailed + nkop struct ocfw_lim (unaligned: memcpy them out) and
 * advances *off past it. */
static inline int ocfw_dec_dstat(const uint8_t *b, size_t n, size_t *off, struct ocfw_dstat *ds,
                                 const uint8_t **lims) {
  if (*off > n || n - *off < sizeof(*ds)) return EBADMSG;
  memcpy(ds, b + *off, sizeof(*ds));
  if (ds->nalg > OCF_ALG__MAX || ds->nfailed > OCF_ALG__MAX || ds->nkop > OCF_KOP__MAX)
    return EINVAL;
  size_t nl = (size_t)ds->nalg + ds->nfailed + ds->nkop;
  if (n - *off - sizeof(*ds) < nl * sizeof(struct ocfw_lim)) return EBADMSG;
  *lims = b + *off + sizeof(*ds);
  *off += sizeof(*ds) + nl * sizeof(struct ocfw_lim);
  return 0;
}

/* ocfw_dec_sesslist checks an OCFW_SESSLIST reply body b[n]: a count, then
 * that many session ids.  Stores the count; the ids follow at b + 4. */
static inline int ocfw_dec_sesslist(const uint8_t *b, size_t n, uint32_t *count) {
  if (ocfw_dec_u32(b, n < 4 ? n : 4, count) != 0) return EBADMSG;
  if ((size_t)*count > (n - 4) / 4 || n != 4 + (size_t)*count * 4) return EBADMSG;
  return 0;
}

/* ocfw_put_hdr writes a header at p. */
static inline void ocfw_put_hdr(void *p, uint32_t len, uint16_t cmd, uint16_t flags, uint32_t tag,
                                int32_t status) {
  struct ocfw_hdr h = {len, cmd, flags, tag, status};
  memcpy(p, &h, sizeof(h));
}

/* --- rings ----------------------------------------------------------------
 *
 * OCFW_RING_REG hands the daemon a sealed memfd holding a submission ring
 * (client -> daemon) and a completion ring (daemon -> client).  They carry
 * the very messages the socket would: shared-memory OCFW_CRYPT requests one
 * way, their replies the other, each 8-byte aligned and never split across
 * a ring's end (a writer fills the rest with an OCFW_PAD message, or skips
 * it when it is shorter than a header).  Positions are byte counts that only
 * grow; the offset in a ring is the position modulo its size.
 *
 * Each side wakes the other only when that one said it was going to sleep:
 * the daemon sets sq_armed before it blocks and a client that publishes
 * submissions, or frees completion space, swaps it back to 0 and, if it was
 * 1, sends OCFW_KICK on the socket; the client sets cq_armed when it has
 * emptied the completion ring, and the daemon that publishes completions
 * swaps it and sends OCFW_KICK likewise.  Stores and swaps are sequentially
 * consistent, so of the two racing sides at least one sees the other.
 * Before it sets cq_armed the client also writes which CPU it is on: a hint
 * for the daemon, whose event thread moves next to a client it keeps waking
 * on another CPU (src/ocfd/follow.h).
 *
 * The daemon trusts nothing in the region: it keeps its own positions,
 * checks every position the client publishes and copies a message out of the
 * ring before it decodes it. */
struct ocfw_ring_reg {
  uint32_t sq_size; /* bytes, a power of two in [OCFW_RING_MIN, OCFW_RING_MAX] */
  uint32_t cq_size;
};

#define OCFW_RING_MIN 4096u
#define OCFW_RING_MAX (1u << 22)
#define OCFW_RING_HDR 256u     /* the shared positions, then the two rings */
#define OCFW_RING_SQ_TAIL 0u   /* u64, written by the client */
#define OCFW_RING_CQ_ARMED 8u  /* u32, set by the client, swapped by the daemon */
#define OCFW_RING_CQ_CPU 12u   /* u32, by the client: 1 + the CPU it sleeps on, 0 unknown */
#define OCFW_RING_SQ_HEAD 64u  /* u64, written by the daemon */
#define OCFW_RING_SQ_ARMED 72u /* u32, set by the daemon, swapped by the client */
#define OCFW_RING_CQ_TAIL 128u /* u64, written by the daemon */
#define OCFW_RING_CQ_HEAD 192u /* u64, written by the client */
/* longest message in each ring: a request with every descriptor; a reply
 * with every descriptor's IV */
#define OCFW_RING_SQE_MAX \
  (OCFW_HDR_LEN + sizeof(struct ocfw_crypt) + OCF_MAX_DESC * sizeof(struct ocfw_desc))
#define OCFW_RING_CQE_MAX (OCFW_HDR_LEN + sizeof(struct ocfw_crypt_rep) + OCF_MAX_DESC * OCF_MAX_IV)

_Static_assert(sizeof(struct ocfw_desc) % 8 == 0 && sizeof(struct ocfw_crypt) % 8 == 0 &&
                   sizeof(struct ocfw_crypt_rep) % 8 == 0 && OCF_MAX_IV % 8 == 0,
               "ring messages stay 8-byte aligned");

/* ocfw_ring_geom_ok tells whether two ring sizes are acceptable for a
 * region of region_len bytes. */
static inline int ocfw_ring_geom_ok(uint32_t sq, uint32_t cq, uint64_t region_len) {
  for (int i = 0; i < 2; i++) {
    uint32_t s = i ? cq : sq;
    if (s < OCFW_RING_MIN || s > OCFW_RING_MAX || (s & (s - 1)) != 0) return 0;
  }
  return region_len >= (uint64_t)OCFW_RING_HDR + sq + cq;
}

static inline uint64_t ocfw_ring_ld(const uint8_t *region, uint32_t off) {
  return __atomic_load_n((const uint64_t *)(const void *)(region + off), __ATOMIC_SEQ_CST);
}
static inline void ocfw_ring_st(uint8_t *region, uint32_t off, uint64_t v) {
  __atomic_store_n((uint64_t *)(void *)(region + off), v, __ATOMIC_SEQ_CST);
}
static inline uint32_t ocfw_ring_ld32(const uint8_t *region, uint32_t off) {
  return __atomic_load_n((const uint32_t *)(const void *)(region + off), __ATOMIC_RELAXED);
}
static inline void ocfw_ring_st32(uint8_t *region, uint32_t off, uint32_t v) {
  __atomic_store_n((uint32_t *)(void *)(region + off), v, __ATOMIC_RELAXED);
}
static inline void ocfw_ring_arm(uint8_t *region, uint32_t off) {
  __atomic_store_n((uint32_t *)(void *)(region + off), 1u, __ATOMIC_SEQ_CST);
}
/* ocfw_ring_disarm swaps a flag to 0 and tells whether it was set. */
static inline int ocfw_ring_disarm(uint8_t *region, uint32_t off) {
  return __atomic_exchange_n((uint32_t *)(void *)(region + off), 0u, __ATOMIC_SEQ_CST) != 0;
}

/* ocfw_ring_room finds room for a len-byte message in the ring r[size] whose
 * writer is at *tail and reader at head: when the message would cross the
 * end, the rest is padded and *tail moves to the start.  Returns the offset
 * to write at (the caller advances *tail by len once written), or -1 when
 * the ring is too full (then nothing changed). */
static inline long ocfw_ring_room(uint8_t *r, uint32_t size, uint64_t *tail, uint64_t head,
                                  uint32_t len) {
  uint32_t idx = (uint32_t)(*tail & (size - 1)), to_end = size - idx;
  uint64_t need = len + (to_end < len ? to_end : 0);
  if (*tail - head > size || need > size - (*tail - head)) return -1;
  if (to_end < len) {
    if (to_end >= OCFW_HDR_LEN) ocfw_put_hdr(r + idx, to_end, OCFW_PAD, 0, 0, 0);
    *tail += to_end;
    idx = 0;
  }
  return (long)idx;
}

/* ocfw_ring_next looks at the message at *head in the ring r[size] holding
 * avail = tail - *head bytes, skipping padding (which moves *head).  Stores
 * its header in *h (a copy) and returns its offset, -1 when the ring is
 * empty, or -2 when what is there is impossible (a length that is not a
 * multiple of 8, shorter than a header, longer than max or than what the
 * ring holds, or crossing the end). */
static inline long ocfw_ring_next(const uint8_t *r, uint32_t size, uint64_t *head, uint64_t tail,
                                  uint32_t max, struct ocfw_hdr *h) {
  while (*head != tail) {
    if (tail - *head > size) return -2;
    uint32_t idx = (uint32_t)(*head & (size - 1)), to_end = size - idx;
    if (to_end < OCFW_HDR_LEN) {
      if (tail - *head < to_end) return -2;
      *head += to_end;
      continue;
    }
    if (tail - *head < OCFW_HDR_LEN) return -2;
    memcpy(h, r + idx, sizeof(*h));
    if (h->cmd == OCFW_PAD) {
      if (h->len != to_end || tail - *head < to_end) return -2;
      *head += to_end;
      continue;
    }
    if (h->len < OCFW_HDR_LEN || h->len > max || (h->len & 7) != 0 || h->len > to_end ||
        h->len > tail - *head)
      return -2;
    return (long)idx;
  }
  return -1;
}

#endif /* OCF_CLIENT_WIRE_H */
