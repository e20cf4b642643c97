/*
 * ocf.h - consumer API of libocf, a userspace OpenBSD Cryptographic Framework.
 *
 * A consumer creates a session (ocf_newsession) naming the algorithms it wants
 * and their keys; the framework picks a producer for it.  It then hands
 * requests to ocf_dispatch, which returns at once; the request's callback runs
 * later, exactly once, with req->error set.  Public-key operations go through
 * ocf_kdispatch and need no session.
 *
 * Error convention, everywhere in this API: functions return 0 on success or
 * a positive errno value.  ocf_errdetail() gives a human-readable sentence
 * about the last error raised on the calling thread.
 *
 *   ENOTSUP  unknown algorithm id or operation id
 *   ENODEV   no producer can serve the session (e.g. hardware-only and no
 *            hardware producer, or nothing registered the algorithm)
 *   EINVAL   malformed argument: bad key length, MAC length too long, bad IV
 *            length, inconsistent descriptors, data length not a multiple of
 *            the block size
 *   ERANGE   an offset or length points outside the buffer
 *   ENOENT   unknown or already-freed session id
 *   EBUSY    ocf_freesession on a session that still has requests in flight
 *   EBADMSG  a MAC or AEAD tag did not verify (OCF_D_VERIFY, AEAD decrypt)
 *   EMSGSIZE request longer than the producer's maximum operation length
 *   EBUSY    (ocf_dispatch) a streamed-digest part while another part of the
 *            same session is in flight (OCF_D_UPDATE / OCF_D_FINAL)
 *   EOVERFLOW (in req->error) the session's generated-nonce counter is spent:
 *            no further encryption with a generated nonce; use a new session
 *   EXDEV    (in req->error) a streamed digest's running state was made by a
 *            producer whose state this one cannot continue: restart the
 *            stream with OCF_D_RESET
 *   ENOSPC   (in req->error) compression output does not fit in the buffer
 *            from desc.skip to its end; an in-place buffer is left unchanged
 *   EINVAL   (in req->error) also: corrupt or truncated compressed input
 *   EAGAIN   (in req->error only) the session migrated; req->sid holds the
 *            new session id; resubmit the request
 *   ENOMEM   allocation failure
 */
#ifndef OCF_OCF_H
#define OCF_OCF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* OCF_VERSION is the library version as a string. */
#define OCF_VERSION "0.1.0"

/* ocf_alg - symmetric algorithm identifiers (stable numbers, used on the wire). */
enum ocf_alg {
  OCF_ALG_NONE = 0,
  /* ciphers */
  OCF_ALG_NULL = 1, /* copies data, no transformation: measures framework cost */
  OCF_ALG_DES_CBC = 2,
  OCF_ALG_3DES_CBC = 3,
  OCF_ALG_AES_CBC = 4,       /* key 16/24/32 */
  OCF_ALG_AES_CTR = 5,       /* IV is the full 16-byte initial counter block */
  OCF_ALG_AES_XTS = 6,       /* key 32/64; IV is the 16-byte tweak */
  OCF_ALG_BLOWFISH_CBC = 7,  /* key 4..56 */
  OCF_ALG_CAST5_CBC = 8,     /* key 5..16 */
  OCF_ALG_AES_ECB = 9,       /* key 16/24/32; no IV: each block alone */
  /* AEAD (cipher and tag in one descriptor) */
  OCF_ALG_AES_GCM = 20,           /* IV 12 (default) or 1..64; tag 4..16 */
  OCF_ALG_AES_CCM = 21,           /* nonce 7..13 (default 12); tag 4,6,..16 */
  OCF_ALG_CHACHA20_POLY1305 = 22, /* RFC 8439: key 32, nonce 12, tag 16 */
  /* MACs and hashes */
  OCF_ALG_HMAC_MD5 = 40,
  OCF_ALG_HMAC_SHA1 = 41,
  OCF_ALG_HMAC_SHA2_224 = 42,
  OCF_ALG_HMAC_SHA2_256 = 43,
  OCF_ALG_HMAC_SHA2_384 = 44,
  OCF_ALG_HMAC_SHA2_512 = 45,
  OCF_ALG_MD5 = 50,
  OCF_ALG_SHA1 = 51,
  OCF_ALG_SHA2_224 = 52,
  OCF_ALG_SHA2_256 = 53,
  OCF_ALG_SHA2_384 = 54,
  OCF_ALG_SHA2_512 = 55,
  OCF_ALG_AES_GMAC = 60, /* key 16/24/32, IV 12 (default) or 1..64; tag 4..16;
                            authenticates [skip, skip+len) */
  /* compression */
  OCF_ALG_DEFLATE = 80, /* raw DEFLATE (RFC 1951), as IPcomp uses */
  OCF_ALG__MAX = 81
};

/* ocf_alg_class - what kind of descriptor an algorithm takes. */
enum ocf_alg_class {
  OCF_CLASS_NONE = 0,
  OCF_CLASS_CIPHER,
  OCF_CLASS_AEAD,
  OCF_CLASS_MAC, /* keyed or not: HMACs, hashes, GMAC */
  OCF_CLASS_COMP
};

/* ocf_alg_info - static facts about one algorithm. */
struct ocf_alg_info {
  enum ocf_alg alg;
  enum ocf_alg_class cls;
  const char *name;   /* lower-case, e.g. "aes-cbc", "hmac-sha1" */
  size_t block;       /* data length must be a multiple of this (1 = any) */
  size_t ivlen;       /* default IV / nonce length (0 = none) */
  size_t min_iv;      /* accepted IV lengths for sessparam.ivlen */
  size_t max_iv;
  size_t min_key;     /* bytes; 0,0 = no key */
  size_t max_key;
  size_t key_step;    /* valid key lengths: min, min+step, ... max (0 = see keys) */
  size_t maclen;      /* full MAC / tag length (0 = not a MAC) */
  size_t min_mac;     /* shortest accepted truncated MAC / tag */
  size_t mac_step;    /* accepted tag lengths: min_mac, min_mac+step, ... maclen */
};

/* ocf_alg_lookup returns the facts for alg, or NULL if alg is unknown. */
const struct ocf_alg_info *ocf_alg_lookup(enum ocf_alg alg);

/* ocf_alg_byname maps a name as given by ocf_alg_lookup()->name to an id,
 * or OCF_ALG_NONE if unknown. */
enum ocf_alg ocf_alg_byname(const char *name);

/* ocf_alg_keylen_ok tells whether keylen bytes is a valid key for alg. */
int ocf_alg_keylen_ok(enum ocf_alg alg, size_t keylen);

/* --- initialization ------------------------------------------------------ */

/* ocf_init_opts - options for ocf_init; zero-initialize and set what you need. */
struct ocf_init_opts {
  int workers;           /* crypto worker threads; 0 = number of online CPUs */
  int no_soft;           /* do not attach the software producer */
  int soft_pk_disabled;  /* software producer refuses public-key operations */
  const char *devices;   /* modeled devices, e.g. "hifn7751*4@pci64"; NULL = $OCF_DEVICES */
  const char *policy;    /* balancing: "sessions" (the paper's, default), "capacity",
                            "size"; NULL = $OCF_POLICY */
};

/* ocf_init brings the framework up: worker threads and, unless opts->no_soft,
 * the software producer.  opts may be NULL.  Calling it when already running
 * returns 0 and changes nothing.  Thread-safe. */
int ocf_init(const struct ocf_init_opts *opts);

/* ocf_shutdown stops the framework: detaches all producers, joins the worker
 * threads and frees all sessions.  Requests still in flight complete with
 * ECANCELED before it returns.  The framework can be initialized again. */
void ocf_shutdown(void);

/* ocf_errdetail returns a sentence about the last error set on this thread by
 * libocf (never NULL; "" if none).  Valid until the next libocf call on the
 * same thread. */
const char *ocf_errdetail(void);

/* ocf_strerror is strerror() plus libocf's meaning of the code. */
const char *ocf_strerror(int err);

/* --- sessions ------------------------------------------------------------ */

typedef uint64_t ocf_sid_t;

/* OCF_SID_DRIVER extracts the producer id from a session id (upper 32 bits). */
#define OCF_SID_DRIVER(sid) ((uint32_t)((sid) >> 32))

/* ocf_sessparam - one element of a session's chain of init descriptors
 * (OpenBSD's struct cryptoini).  The chain is read during ocf_newsession only:
 * keys are copied, the caller may wipe its copy afterwards. */
struct ocf_sessparam {
  enum ocf_alg alg;
  const uint8_t *key; /* may be NULL when keylen is 0 */
  size_t keylen;      /* bytes */
  size_t maclen;      /* MAC / tag bytes; 0 = the algorithm's full length;
                         e.g. 12 for HMAC-SHA1-96 */
  size_t ivlen;       /* IV / nonce bytes; 0 = the algorithm's default */
  int rounds;         /* reserved for variable-round ciphers; 0 */
  int level;          /* compression level 1..9, 0 = default */
  const struct ocf_sessparam *next;
};

/* ocf_newsession flags */
#define OCF_SESS_HWONLY 0x1 /* only a hardware producer may serve it; else ENODEV */
#define OCF_SESS_SWONLY 0x2 /* only a software producer may serve it */

/* ocf_newsession creates a session for the chain and stores its id in *sid.
 * At most one cipher or AEAD, one MAC, one compression element.  Hardware
 * producers are preferred; among equal ones the balancing policy decides. */
int ocf_newsession(ocf_sid_t *sid, const struct ocf_sessparam *chain, unsigned flags);

/* ocf_freesession frees a session (any of its ids after migration).  It fails
 * with EBUSY, changing nothing, while requests on it are in flight. */
int ocf_freesession(ocf_sid_t sid);

/* ocf_stream_copy gives session dst the running state of session src's
 * streamed digest (OCF_D_UPDATE), as cryptodev's CIOCCPHASH does: both then
 * go on independently.  Both must digest with the same hash or HMAC and
 * key.  ENOENT unknown session, EINVAL different algorithm or key (or
 * dst == src), EBUSY a part of either is in flight. */
int ocf_stream_copy(ocf_sid_t dst, ocf_sid_t src);

/* ocf_session_driver writes the name of the producer serving sid into
 * name[len]. */
int ocf_session_driver(ocf_sid_t sid, char *name, size_t len);

/* --- buffers ------------------------------------------------------------- */

/* ocf_mbuf - one link of an mbuf-style chain.  data[0..len) is valid. */
struct ocf_mbuf {
  struct ocf_mbuf *next;
  uint8_t *data;
  size_t len;
};

enum ocf_buf_type {
  OCF_BUF_NONE = 0,
  OCF_BUF_CONTIG, /* one contiguous area */
  OCF_BUF_IOVEC,  /* struct iovec list (uio) */
  OCF_BUF_MBUF    /* struct ocf_mbuf chain */
};

/* ocf_buf - a data buffer as a request sees it.  Memory belongs to the
 * consumer and must stay valid until the callback has run. */
struct ocf_buf {
  enum ocf_buf_type type;
  union {
    struct {
      uint8_t *base;
      size_t len;
    } contig;
    struct {
      struct iovec *iov;
      int cnt;
    } iovec;
    struct ocf_mbuf *mbuf;
  } u;
};

/* ocf_buf_contig / ocf_buf_iovec / ocf_buf_mbuf build an ocf_buf. */
struct ocf_buf ocf_buf_contig(void *base, size_t len);
struct ocf_buf ocf_buf_iovec(struct iovec *iov, int cnt);
struct ocf_buf ocf_buf_mbuf(struct ocf_mbuf *m);

/* ocf_buf_len returns the total byte length of a buffer. */
size_t ocf_buf_len(const struct ocf_buf *b);

/* ocf_buf_copyin copies len bytes from src into b at offset off;
 * ocf_buf_copyout copies len bytes of b at off into dst.  Both return ERANGE
 * if [off, off+len) is not inside b. */
int ocf_buf_copyin(const struct ocf_buf *b, size_t off, const void *src, size_t len);
int ocf_buf_copyout(const struct ocf_buf *b, size_t off, void *dst, size_t len);

/* --- requests ------------------------------------------------------------ */

#define OCF_MAX_DESC 4
#define OCF_MAX_IV 64

/* ocf_desc flags */
#define OCF_D_ENCRYPT 0x01     /* cipher / AEAD: encrypt (else decrypt);
                                  comp: compress (else decompress) */
#define OCF_D_IV_EXPLICIT 0x02 /* IV is in desc->iv */
#define OCF_D_IV_PRESENT 0x04  /* IV is in the buffer at iv_off (already there);
                                  without either flag an encrypting descriptor
                                  generates an IV and writes it at iv_off (and
                                  into desc->iv): random for ciphers; for the
                                  AEADs (GCM, CCM, ChaCha20-Poly1305) a nonce
                                  that cannot repeat under the session's key,
                                  a per-session random fixed field and an
                                  invocation counter (RFC 5116 section 3.2,
                                  SP 800-38D 8.2.1).  Generation needs a nonce
                                  of at least 8 bytes (EINVAL); when the
                                  counter space is spent, encryptions with a
                                  generated nonce fail with EOVERFLOW */
#define OCF_D_VERIFY 0x08      /* MAC: compare with the MAC at inject instead of
                                  writing it; mismatch -> EBADMSG */
/* Streamed (multi-part) digests, for hash and HMAC sessions (not GMAC): the
 * session keeps a running state, so a message of any length the algorithm
 * allows can be fed in parts.  A part is a request with one descriptor, the
 * session's hash or HMAC, carrying one of these flags:
 *   OCF_D_UPDATE  [skip, skip+len) is absorbed; nothing is written at inject.
 *   OCF_D_FINAL   absorbed, then the digest is written at inject (or checked,
 *                 with OCF_D_VERIFY) and the running state is cleared.
 *   OCF_D_RESET   with either: start from an empty state (drop the running
 *                 one).  The first part of a session starts empty anyway.
 * A request with neither UPDATE nor FINAL is a one-shot digest that neither
 * reads nor changes the running state.  Order: at most one part of a session
 * is in flight at a time; ocf_dispatch refuses a part while another is in
 * flight (EBUSY), so a consumer dispatches the next part from the callback of
 * the previous one (or after ocf_run returned).  A part that completes with
 * an error leaves the running state as it was before that part; on EAGAIN
 * (migration) the state moved with the session: resubmit the same part.  A
 * part is not limited by a producer's maximum operation length.  See ocf(3). */
#define OCF_D_UPDATE 0x10
#define OCF_D_FINAL 0x20
#define OCF_D_RESET 0x40

/* ocf_desc - one operation on the request's data (OpenBSD's cryptodesc).
 * Descriptors run in array order: {cipher, mac} is encrypt-then-MAC,
 * {mac, cipher} is MAC-then-encrypt.  Offsets are from the start of the
 * buffer; with a separate output buffer the same offsets apply to it. */
struct ocf_desc {
  enum ocf_alg alg; /* must be one of the session's algorithms */
  unsigned flags;   /* OCF_D_* */
  size_t skip;      /* first byte to process */
  size_t len;       /* bytes to process (compress: input bytes) */
  size_t inject;    /* MAC / tag: where it is written (or read, to verify) */
  size_t iv_off;    /* IV position in the buffer (IV_PRESENT / generated) */
  size_t aad_skip;  /* AEAD: additional authenticated data in the buffer */
  size_t aad_len;
  uint8_t iv[OCF_MAX_IV]; /* IV_EXPLICIT: the IV; generated IVs are copied here */
};

struct ocf_req;
/* ocf_cb - completion callback.  Runs exactly once per accepted request: on
 * the thread that called ocf_dispatch, before it returns, when the framework
 * ran the request there (see ocf_dispatch); else on a framework thread (or
 * inside ocf_done with OCF_REQ_CBIMM).  It may dispatch new requests,
 * including resubmitting req itself; those run after it returns, never
 * nested inside it. */
typedef void (*ocf_cb)(struct ocf_req *req);

/* ocf_req flags */
#define OCF_REQ_CBIMM 0x1  /* run the callback in the completing thread, no hop */
#define OCF_REQ_INLINE 0x2 /* a software producer runs the request, and its
                              callback, in the dispatching thread before
                              ocf_dispatch returns, even inside a callback
                              (nested, at most 8 deep), never on a worker */
#define OCF_REQ_ASYNC 0x4  /* never in the dispatching thread: a worker runs
                              it, and the callback runs on a framework thread
                              (for a caller that holds, across ocf_dispatch,
                              a lock its callback takes) */

/* ocf_req - a symmetric request (OpenBSD's cryptop).  Allocated and owned by
 * the consumer; the framework keeps a pointer to it from ocf_dispatch until
 * the callback starts.  Fields marked [fw] are written by the framework. */
struct ocf_req {
  ocf_sid_t sid;        /* in; [fw] replaced by the new id on EAGAIN */
  unsigned flags;       /* OCF_REQ_* */
  struct ocf_buf buf;   /* input (and output, when out.type is NONE) */
  struct ocf_buf out;   /* optional separate output, same layout as buf */
  int ndesc;            /* 1..OCF_MAX_DESC */
  struct ocf_desc desc[OCF_MAX_DESC];
  ocf_cb callback;
  void *opaque;         /* passed back untouched */
  int error;            /* [fw] 0 or an errno value, valid in the callback */
  size_t olen;          /* [fw] compression: bytes of output at desc.skip */
  /* [fw] private to the framework; do not touch while in flight */
  struct ocf_req *next_;
  void *sess_;
  void *drv_;
  void *dsess_;
  uint64_t t0_;
  uint32_t state_;
};

/* ocf_dispatch hands req to the framework.  Returns 0 when accepted (the
 * callback will run exactly once), or an errno when refused up front (the
 * callback does not run): ENOENT unknown session, EINVAL/ERANGE malformed
 * request.
 * A request for a software producer usually runs in the calling thread, its
 * callback included, before ocf_dispatch returns; requests the callbacks
 * dispatch run next, so the call returns once no more are submitted or
 * they were handed to the workers.  Work goes to the worker threads instead
 * when an idle one exists, this thread may run on another CPU, and the work
 * is worth more than the measured cost of handing it over (large requests,
 * batches, or a thread its callbacks keep busy): ocf(3) gives the rule.
 * So do not hold, across ocf_dispatch, a lock the callback takes, unless
 * the request carries OCF_REQ_ASYNC. */
int ocf_dispatch(struct ocf_req *req);

/* ocf_dispatch_batch hands n requests over at once: the ones for software
 * producers run here or are shared with the workers as for ocf_dispatch,
 * with one queue operation for those handed over.  Returns the number
 * accepted; requests are accepted in order, and the first refused one stops
 * the batch with its errno in *err (if err is non-NULL).  The accepted ones
 * go ahead. */
int ocf_dispatch_batch(struct ocf_req **reqs, int n, int *err);

/* ocf_run dispatches req and waits for it, resubmitting on EAGAIN.  Returns
 * the final req->error (or the dispatch error).  req->callback and
 * req->opaque are used internally and are restored before it returns. */
int ocf_run(struct ocf_req *req);

/* ocf_poll lends the calling thread to the framework: it runs up to max of
 * the symmetric requests waiting for a worker thread (oldest first, none
 * whose buffer is longer than max_len; 0 = any length), and their callbacks
 * run on this thread before it returns.  Returns how many it ran; 0 when
 * nothing was waiting, when a worker was taking from the queue at that
 * instant (the caller does not wait for it), or when called from a callback
 * or a framework thread.
 * An event loop that would otherwise sleep calls it between its events, so
 * that it does crypto instead of waking a worker (ocfd does).  Once a thread
 * has polled, the workers leave it a share of the queue. */
int ocf_poll(int max, size_t max_len);

/* --- public key ---------------------------------------------------------- */

/* Public-key operation ids (values of OpenBSD / cryptodev CRK_*). */
enum ocf_kop {
  OCF_KOP_MOD_EXP = 0,
  OCF_KOP_MOD_EXP_CRT = 1,
  OCF_KOP_DSA_SIGN = 2,
  OCF_KOP_DSA_VERIFY = 3,
  OCF_KOP_DH_COMPUTE_KEY = 4,
  OCF_KOP__MAX = 32
};

#define OCF_KMAX_PARAM 8

/* ocf_kparam - one big integer, little-endian as in cryptodev's crparam:
 * nbits significant bits in p[0 .. (nbits+7)/8). */
struct ocf_kparam {
  uint8_t *p;
  size_t nbits;
};

struct ocf_kreq;
typedef void (*ocf_kcb)(struct ocf_kreq *kreq);

/* ocf_kreq - a public-key request (OpenBSD's cryptkop).  Parameters
 * [0, iparams) are inputs, [iparams, iparams+oparams) outputs. */
struct ocf_kreq {
  enum ocf_kop op;
  int iparams;
  int oparams;
  struct ocf_kparam param[OCF_KMAX_PARAM];
  unsigned flags; /* OCF_REQ_CBIMM */
  ocf_kcb callback;
  void *opaque;
  int error;      /* [fw] */
  int status;     /* [fw] operation result, e.g. verify: 1 valid, 0 invalid */
  uint32_t hid;   /* [fw] producer that served it */
  /* [fw] private */
  struct ocf_kreq *next_;
  void *drv_;
  uint32_t state_;
};

/* ocf_kdispatch queues a public-key request; same contract as ocf_dispatch.
 * ENODEV when no producer registered op. */
int ocf_kdispatch(struct ocf_kreq *kreq);

/* ocf_krun dispatches kreq and waits for it; returns kreq->error. */
int ocf_krun(struct ocf_kreq *kreq);

/* --- introspection ------------------------------------------------------- */

/* ocf_driver_stat - a snapshot of one producer's counters. */
struct ocf_driver_stat {
  uint32_t hid;
  char name[32];
  unsigned flags;      /* OCF_DRV_* of driver.h */
  uint64_t sessions;   /* active sessions */
  uint64_t requests;   /* symmetric requests completed */
  uint64_t krequests;  /* public-key requests completed */
  uint64_t bytes;      /* payload bytes processed */
  uint64_t errors;     /* requests completed with an error */
  uint64_t migrations; /* sessions moved away from this producer */
  uint64_t queued;     /* requests currently queued or in process */
  int detached;        /* unregistered, waiting for its last requests */
  double p50_us;       /* request latency, ocf_dispatch to completion, over */
  double p99_us;       /* the producer's life, from one request in 8 of each
                        * dispatching thread (0 when none was timed yet) */
};

/* ocf_driver_stats fills up to max entries and returns how many producers
 * exist (which may exceed max). */
int ocf_driver_stats(struct ocf_driver_stat *out, int max);

/* ocf_driver_algs writes into algs[max] the algorithms producer hid has
 * registered (with their max operation length in maxlen[max], if non-NULL)
 * and their total count into *count.  ENOENT if hid is unknown. */
int ocf_driver_algs(uint32_t hid, enum ocf_alg *algs, size_t *maxlen, int max, int *count);

/* ocf_driver_failed_algs writes into algs[max] the algorithms producer hid
 * tried to register but which failed their registration self-test, and their
 * count into *count.  ENOENT if hid is unknown. */
int ocf_driver_failed_algs(uint32_t hid, enum ocf_alg *algs, int max, int *count);

/* ocf_driver_kops writes into ops[max] the public-key operations producer
 * hid has registered (with their modulus limit in bits in max_bits[max], if
 * non-NULL; 0 = none) and their total count into *count.  ENOENT if hid is
 * unknown. */
int ocf_driver_kops(uint32_t hid, enum ocf_kop *ops, size_t *max_bits, int max, int *count);

/* ocf_policy_name returns the balancing policy in force ("sessions",
 * "capacity" or "size"). */
const char *ocf_policy_name(void);

#ifdef __cplusplus
}
#endif
#endif /* OCF_OCF_H */
