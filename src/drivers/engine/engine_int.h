/*
 * engine_int.h - what the engine's files share (src/drivers/engine only):
 * the buffer cursor, the session layout, the library of fetched algorithms.
 */
#ifndef OCF_DRIVERS_ENGINE_INT_H
#define OCF_DRIVERS_ENGINE_INT_H

#define OPENSSL_SUPPRESS_DEPRECATED /* low-level digests, see hash_ops */

#include <errno.h>
#include <ocf/driver.h>
#include <openssl/core_dispatch.h>
#include <openssl/evp.h>
#include <openssl/md5.h>
#include <openssl/sha.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "drivers/engine/engine.h"

/* A pool's slots lie four to a cache line, on four lines, and each thread
 * starts at a slot of its own line: threads on different cores taking and
 * returning contexts of one session would otherwise write the same line on
 * every request (measured: 39% of a 16-byte AES-CBC request's cycles on two
 * cores). */
#define POOL_LINES 4
#define POOL_PER_LINE 4
#define POOL_SLOTS (POOL_LINES * POOL_PER_LINE)
#define BOUNCE_STACK 512
#define MAX_BLOCK 16
#define MAX_TAG 64

/* --- buffer cursor ------------------------------------------------------- */

/* cur walks the segments of an ocf_buf without rescanning from the head: p
 * points at the current byte, avail bytes are contiguous from there. */
struct cur {
  const struct ocf_buf *b;
  int i;                    /* iovec index */
  const struct ocf_mbuf *m; /* mbuf link */
  uint8_t *p;
  size_t avail;
};

/* cur_load points c at the first non-empty segment from the current one on,
 * skipping off bytes; returns ERANGE past the end. */
static inline int cur_load(struct cur *c, size_t off) {
  switch (c->b->type) {
    case OCF_BUF_CONTIG:
      if (c->i > 0 || off >= c->b->u.contig.len) return ERANGE;
      c->p = c->b->u.contig.base + off;
      c->avail = c->b->u.contig.len - off;
      return 0;
    case OCF_BUF_IOVEC:
      for (; c->i < c->b->u.iovec.cnt; c->i++) {
        const struct iovec *v = &c->b->u.iovec.iov[c->i];
        if (off < v->iov_len) {
          c->p = (uint8_t *)v->iov_base + off;
          c->avail = v->iov_len - off;
          return 0;
        }
        off -= v->iov_len;
      }
      return ERANGE;
    case OCF_BUF_MBUF:
      for (; c->m != NULL; c->m = c->m->next) {
        if (off < c->m->len) {
          c->p = c->m->data + off;
          c->avail = c->m->len - off;
          return 0;
        }
        off -= c->m->len;
      }
      return ERANGE;
    default:
      return ERANGE;
  }
}

static inline int cur_seek(struct cur *c, const struct ocf_buf *b, size_t off) {
  c->b = b;
  c->i = 0;
  c->m = b->type == OCF_BUF_MBUF ? b->u.mbuf : NULL;
  c->p = NULL;
  c->avail = 0;
  return cur_load(c, off);
}

/* cur_adv moves n <= c->avail bytes on.  Reaching the end of the buffer is not
 * an error here: the next access fails instead. */
static inline void cur_adv(struct cur *c, size_t n) {
  c->p += n;
  c->avail -= n;
  if (c->avail > 0) return;
  if (c->b->type == OCF_BUF_CONTIG) {
    c->i = 1;
    return;
  }
  if (c->b->type == OCF_BUF_IOVEC)
    c->i++;
  else if (c->m != NULL)
    c->m = c->m->next;
  (void)cur_load(c, 0);
}

/* buffer helpers (engine_buf.c); all return 0, ERANGE/EINVAL or EIO */
int eng_cur_rw(struct cur *c, uint8_t *mem, size_t n, bool write);
int eng_buf_read(const struct ocf_buf *b, size_t off, void *dst, size_t n);
int eng_buf_write(const struct ocf_buf *b, size_t off, const void *src, size_t n);
int eng_buf_move(const struct ocf_buf *src, const struct ocf_buf *dst, size_t off, size_t n);
void eng_buf_wipe(const struct ocf_buf *b, size_t off, size_t n);
int eng_crypt_range(EVP_CIPHER_CTX *ctx, const struct ocf_buf *in, const struct ocf_buf *out,
                    size_t off, size_t len, size_t blk);
int eng_whole_range(const struct ocf_buf *b, size_t off, size_t len, bool fill, uint8_t *stack,
                    uint8_t **heap, uint8_t **p);
void eng_bounce_free(uint8_t *heap, size_t len);
int eng_crypt_whole(EVP_CIPHER_CTX *ctx, const struct ocf_buf *in, const struct ocf_buf *out,
                    size_t off, size_t len, bool *evp_ok);
int eng_aad_stream(EVP_CIPHER_CTX *ctx, const struct ocf_buf *b, size_t off, size_t len);
int eng_ossl_fail(const char *what); /* logs OpenSSL's error, returns EIO */

/* --- low-level digests for HMAC and plain hashes ------------------------- */

union hctx {
  MD5_CTX md5;
  SHA_CTX sha1;
  SHA256_CTX sha256;
  SHA512_CTX sha512;
};

struct hash_ops {
  size_t dlen; /* digest bytes */
  size_t blen; /* block bytes (HMAC pad length) */
  int (*init)(union hctx *);
  int (*update)(union hctx *, const void *, size_t);
  int (*final)(uint8_t *, union hctx *);
};

const struct hash_ops *eng_hash_for(enum ocf_alg alg);

static inline bool eng_is_hmac(enum ocf_alg alg) {
  return alg >= OCF_ALG_HMAC_MD5 && alg <= OCF_ALG_HMAC_SHA2_512;
}

/* --- sessions (engine_sess.c) -------------------------------------------- */

/* pool - ready-to-use contexts of one kind for one session.  Slots are taken
 * with an atomic exchange and given back with a compare-and-swap, so threads
 * never wait for each other; an empty pool makes a new context, a full one
 * frees the returned context. */
enum pool_kind { POOL_CIPHER, POOL_PROV, POOL_DEFLATE, POOL_INFLATE };

/* pcipher - one of the default provider's AEADs, called through its dispatch
 * table rather than EVP.  In OpenSSL 3.0 EVP's per-request work around a
 * provider cipher (IV length queries, the tag's ctrl translated into
 * parameters) costs about 65 ns, a third of a 64-byte AES-GCM request; the
 * provider's own functions do the same job without it.  The functions and
 * provctx stay valid while the engine holds its library. */
struct pcipher {
  void *provctx;
  OSSL_FUNC_cipher_newctx_fn *newctx;
  OSSL_FUNC_cipher_freectx_fn *freectx;
  OSSL_FUNC_cipher_dupctx_fn *dupctx;
  OSSL_FUNC_cipher_encrypt_init_fn *einit;
  OSSL_FUNC_cipher_decrypt_init_fn *dinit;
  OSSL_FUNC_cipher_update_fn *update;
  OSSL_FUNC_cipher_final_fn *final;
  OSSL_FUNC_cipher_get_ctx_params_fn *get_ctx_params;
  OSSL_FUNC_cipher_set_ctx_params_fn *set_ctx_params;
};

struct pool_slot {
  _Alignas(64 / POOL_PER_LINE) _Atomic(void *) p;
};

struct pool {
  _Alignas(64) struct pool_slot slot[POOL_SLOTS];
  enum pool_kind kind;
  EVP_CIPHER_CTX *tmpl;    /* POOL_CIPHER: keyed template, only ever copied */
  void *ptmpl;             /* POOL_PROV: keyed provider context, ditto */
  const struct pcipher *pc; /* POOL_PROV */
  int level;               /* POOL_DEFLATE */
  /* the fields above are read-only once set: a line of their own, away from
   * the slots */
};

/* cctx - a pooled cipher context.  For CBC modes it also remembers the
 * context's chaining value (the last ciphertext block it processed): see
 * cbc_run for why. */
struct cctx {
  EVP_CIPHER_CTX *ctx;
  uint8_t chain[MAX_BLOCK];
  bool chain_ok; /* chain is known; else the next user re-inits the IV */
};

/* Session state.  Everything is immutable after ocf_eng_new except the pool
 * slots (atomics). */
struct ocf_eng_sess {
  bool keyed; /* holds the engine; false: layout only */
  /* cipher or AEAD */
  enum ocf_alg calg;
  enum ocf_alg_class ccls;
  size_t civlen, ctaglen, cblock;
  bool cbc;
  bool prov; /* cenc/cdec are POOL_PROV (GCM, ChaCha20-Poly1305) */
  struct pool cenc, cdec;
  /* MAC */
  enum ocf_alg malg;
  size_t maclen, mivlen;
  const struct hash_ops *hops;
  union hctx ist, ost; /* HMAC: states after the inner and outer pads */
  struct pool gmac;
  /* compression */
  bool comp;
  struct pool defl, infl;
};

void *eng_pool_get(struct pool *pl);
void eng_pool_put(struct pool *pl, void *obj);

#endif /* OCF_DRIVERS_ENGINE_INT_H */
