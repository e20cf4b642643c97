/*
 * prov.h - internals of ocf.so, the OpenSSL 3 provider over libocf.
 *
 * The provider sees libocf only through its public headers (<ocf/ocf.h>,
 * <ocf/pk.h>, <ocf/ocfdev.h>), as any third-party consumer would.  Every
 * operation it offers has two paths:
 *  - the framework path: the data go to libocf (in-process) or to ocfd as a
 *    request, and the producer the framework chose does the work;
 *  - the inline path: the provider calls the implementation of OpenSSL's
 *    default provider, loaded into a private library context, directly
 *    through its dispatch table (no EVP layer in between).
 * decide.c chooses between them per request from measured costs (ocfprov(7)).
 *
 * Files: prov.c (entry point, configuration, algorithm tables, errors),
 * backend.c (libocf / ocfd requests, async-job pauses), decide.c,
 * delegate.c (the default provider's implementations), cipher_*.c,
 * digest.c, mac.c, keymgmt.c, rsa_pad.c, sig_rsa.c, sig_ec.c,
 * asym_rsa.c, keyexch.c.
 */
#ifndef OCFPROV_PROV_H
#define OCFPROV_PROV_H

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <ocf/ocf.h>

/* --- errors ------------------------------------------------------------- */

/* Reason codes of the provider's errors (texts in prov.c). */
enum {
  OCFPROV_R_BAD_CONFIG = 1,
  OCFPROV_R_BACKEND,
  OCFPROV_R_BAD_KEY_LENGTH,
  OCFPROV_R_BAD_IV_LENGTH,
  OCFPROV_R_BAD_TAG_LENGTH,
  OCFPROV_R_NO_KEY,
  OCFPROV_R_NO_IV,
  OCFPROV_R_BAD_LENGTH,
  OCFPROV_R_BAD_DECRYPT,
  OCFPROV_R_TAG_MISMATCH,
  OCFPROV_R_BAD_PARAM,
  OCFPROV_R_UNSUPPORTED,
  OCFPROV_R_BAD_KEY,
  OCFPROV_R_OUT_TOO_SMALL,
  OCFPROV_R_BAD_STATE,
  OCFPROV_R_SIGN_FAILED,
  OCFPROV_R_MALLOC,
  OCFPROV_R_DELEGATE,
  OCFPROV_R__COUNT
};

struct ocfprov;

/* ocfprov_err puts an error with reason and a formatted detail into the
 * calling thread's OpenSSL error queue. */
void ocfprov_err(const struct ocfprov *p, int reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* --- configuration ------------------------------------------------------ */

/* OFFLOAD_ALTERNATE picks either path at random per request: a testing aid
 * that makes consecutive requests of one stream change path. */
enum ocfprov_offload { OFFLOAD_AUTO = 0, OFFLOAD_ALWAYS, OFFLOAD_NEVER, OFFLOAD_ALTERNATE };

/* ocfprov_conf - the provider's section of the OpenSSL configuration,
 * validated at activation (prov.c); read-only afterwards. */
struct ocfprov_conf {
  bool ocfd;                /* backend = ocfd */
  char socket[256];         /* ocfd socket ("" = $OCF_SOCKET or the default) */
  char devices[256];        /* in-process: ocf_init_opts.devices */
  char policy[32];          /* in-process: balancing policy ("" = default) */
  int workers;              /* in-process: worker threads, 0 = one per CPU */
  bool no_soft, no_soft_pk; /* in-process: producers ocf_init attaches */
  enum ocfprov_offload offload;
  bool async;        /* pause OpenSSL async jobs instead of blocking */
  size_t shm_min;    /* ocfd: buffers from this size travel in shared memory */
  size_t shm_size;   /* ocfd: shared memory per connection */
  size_t digest_max; /* digests/MACs buffered for one framework request */
};

/* --- counters ----------------------------------------------------------- */

/* ocfprov_stats - what went where, readable as provider parameters
 * ("ocf-requests", ...; ocfprov(7)).  Atomics, relaxed. */
struct ocfprov_stats {
  _Atomic uint64_t fw_req;    /* symmetric requests completed by the framework */
  _Atomic uint64_t fw_bytes;  /* their payload bytes */
  _Atomic uint64_t fw_kreq;   /* public-key requests completed by the framework */
  _Atomic uint64_t in_req;    /* symmetric operations run inline */
  _Atomic uint64_t in_bytes;  /* their payload bytes */
  _Atomic uint64_t in_kreq;   /* public-key operations run inline */
  _Atomic uint64_t pauses;    /* async jobs paused for a request */
  _Atomic uint64_t fallbacks; /* framework requests that failed and ran inline */
  _Atomic uint64_t sessions;  /* framework sessions created */
};

/* --- the provider context ----------------------------------------------- */

struct delegate; /* delegate.c */
struct backend;  /* backend.c */

/* ocfprov - one activation of the provider (OSSL_provider_init). */
struct ocfprov {
  const OSSL_CORE_HANDLE *handle;
  OSSL_LIB_CTX *corectx; /* the application's library context (for RAND) */
  struct ocfprov_conf conf;
  struct delegate *dl; /* the default provider in a private library context */
  struct backend *be;  /* libocf or ocfd, started at first use */
  struct ocfprov_stats st;
  /* A configuration that did not check out leaves the provider activated
   * but refusing every operation with the reason (OpenSSL 3.0 drops a
   * provider's activation failure from a configuration file silently, and
   * the default provider would quietly take over): set at activation, then
   * read-only. */
  bool initializing; /* conf_read runs: its first error is kept in broken_msg */
  bool broken;
  int broken_reason;
  char broken_msg[256];
};

/* ocfprov_usable returns true, or raises the configuration's error and
 * returns false: every operation's context constructor asks it (a broken
 * provider offers no algorithm; this guards against a caller that kept
 * one). */
bool ocfprov_usable(const struct ocfprov *p);

#define STAT_ADD(p, f, n) atomic_fetch_add_explicit(&(p)->st.f, (n), memory_order_relaxed)

/* STAT_ADD_LOOSE counts without a locked instruction (two of those cost
 * 5% of a 1 KB ChaCha20-Poly1305 update): concurrent threads may lose a
 * count.  For the inline counters only, which are informative; the
 * framework's are exact. */
#define STAT_ADD_LOOSE(p, f, n)                                                                   \
  atomic_store_explicit(&(p)->st.f, atomic_load_explicit(&(p)->st.f, memory_order_relaxed) + (n), \
                        memory_order_relaxed)

/* --- the inline path: the default provider (delegate.c) ----------------- */

/* dl_libctx is the private library context holding the default provider. */
OSSL_LIB_CTX *dl_libctx(const struct ocfprov *p);

int dl_start(struct ocfprov *p);
void dl_stop(struct ocfprov *p);

/* --- the framework path (backend.c) -------------------------------------- */

/* osess - a framework session (in-process sid, or a session of an ocfd
 * connection).  Owned by one algorithm context. */
struct osess;

/* bstat - what one request cost its caller, for decide.c. */
struct bstat {
  uint64_t paused_ns; /* time the async job was paused (not the caller's) */
  bool async;         /* the request paused (or could pause) an async job */
};

/* be_newsession creates a session for chain; ENODEV etc. as ocf_newsession.
 * *out is freed with be_freesession. */
int be_newsession(struct ocfprov *p, const struct ocf_sessparam *chain, struct osess **out);
void be_freesession(struct osess *s);

/* be_crypt runs one symmetric request in place over the concatenation of
 * seg[0..nseg) (descriptor offsets refer to it) and waits for it: an async
 * job is paused, any other caller blocks.  Returns 0 or an errno (EBADMSG:
 * tag or MAC mismatch). */
int be_crypt(struct osess *s, struct ocf_desc *desc, int ndesc, const struct iovec *seg, int nseg,
             struct bstat *bs);

/* be_kop runs a public-key request and waits (see be_crypt). */
int be_kop(struct ocfprov *p, struct ocf_kreq *k, struct bstat *bs);

/* be_available tells whether the framework path can be used at all now
 * (started, or can start; not a forked child of an in-process framework). */
bool be_available(struct ocfprov *p);

/* be_state is 1 when the framework path is up, 0 while it starts (or was
 * not needed yet), -1 when unavailable (*why says why). */
int be_state(const struct ocfprov *p, const char **why);

/* be_in_async_job tells whether the caller runs inside an OpenSSL async job
 * that the provider may pause. */
bool be_in_async_job(const struct ocfprov *p);

/* be_new allocates the backend (nothing started); be_start_eager starts
 * what the configuration wants checked at activation. */
int be_new(struct ocfprov *p);
int be_start_eager(struct ocfprov *p);
void be_stop(struct ocfprov *p);

/* --- the per-request choice (decide.c) ------------------------------------ */

/* Operation families: one cost table each. */
enum ofam {
  FAM_AES_CBC,
  FAM_AES_CTR,
  FAM_AES_XTS,
  FAM_3DES_CBC,
  FAM_AES_GCM,
  FAM_AES_CCM,
  FAM_CHACHA_POLY,
  FAM_DIGEST,
  FAM_HMAC,
  FAM_RSA_PRIV,
  FAM_RSA_PUB,
  FAM_EC_SIGN,
  FAM_EC_VERIFY,
  FAM_ECDH,
  FAM_X25519,
  FAM_ED25519_SIGN,
  FAM_ED25519_VERIFY,
  FAM__COUNT
};

enum opath { PATH_INLINE = 0, PATH_FW = 1 };

/* dticket - one decision, carried to dec_done to record what it cost. */
struct dticket {
  enum ofam fam;
  unsigned bucket;
  bool async;
  enum opath path;
  bool timed;
  uint64_t t0;
};

/* dec_choose picks the path for a request of family fam and size (bytes;
 * key bits for public key), and starts timing it when the ticket says so.
 * fw_ok says whether the framework can take this request at all. */
enum opath dec_choose(struct ocfprov *p, enum ofam fam, size_t size, bool fw_ok, struct dticket *t);

/* dec_done records the cost of the request t was issued for (bs: its
 * framework figures, or NULL on the inline path). */
void dec_done(struct ocfprov *p, struct dticket *t, const struct bstat *bs);

/* dec_dump writes the cost tables as text into buf[len] (provider param
 * "ocf-costs"); returns the length written. */
size_t dec_dump(char *buf, size_t len);

uint64_t now_ns(void);

/* --- helpers ------------------------------------------------------------ */

/* param_get_size reads a size_t-like parameter of any integer type. */
int param_get_size(const OSSL_PARAM *p, size_t *v);

/* secure wipe + free */
void wipe_free(void *p, size_t n);

/* zalloc is calloc through malloc: glibc's calloc bypasses the per-thread
 * cache, which costs a context made per message (EVP_Digest) 2% of 1 KB. */
static inline void *zalloc(size_t n) {
  void *p = malloc(n);
  /* (the barrier keeps the compiler from fusing the pair back into calloc) */
  __asm__ volatile("" : : "r"(p) : "memory");
  if (p != NULL) memset(p, 0, n);
  return p;
}

/* --- algorithm tables (one per file) ------------------------------------ */

extern const OSSL_ALGORITHM ocfprov_ciphers[];
extern const OSSL_ALGORITHM ocfprov_digests[];
extern const OSSL_ALGORITHM ocfprov_macs[];
extern const OSSL_ALGORITHM ocfprov_keymgmt[];
extern const OSSL_ALGORITHM ocfprov_signatures[];
extern const OSSL_ALGORITHM ocfprov_asym_ciphers[];
extern const OSSL_ALGORITHM ocfprov_keyexch[];

#endif /* OCFPROV_PROV_H */
