/*
 * soft.c - the software pseudo-driver over OpenSSL 3 EVP and zlib.
 *
 * Design, in short:
 * - All EVP algorithm objects are fetched once at attach from a private
 *   OSSL_LIB_CTX holding the default and legacy providers.
 * - A session keeps keyed *template* cipher contexts (key schedule done once,
 *   separate encrypt and decrypt templates since AES decrypts with another
 *   schedule).  Requests take a ready context from a small per-session pool of
 *   atomic slots (no lock), clone the template when the pool is empty, reset
 *   only the IV, and put the context back.  Many threads may run requests of
 *   one session at once; templates are only ever read (copied).  CBC modes do
 *   not even reset the IV: see cbc_run.
 * - HMACs and hashes use precomputed inner/outer digest states copied onto the
 *   stack per request: measured at half the cost of re-initialising an
 *   EVP_MAC_CTX (which mallocs and frees two digest contexts each time) and
 *   needing no pool at all.
 * - A separate output buffer receives a copy of the hull of the request's
 *   regions, except the payload of a leading cipher, which reads the input
 *   buffer and writes the output directly (prepare_out).
 * - Data are processed in place on the buffer's segments when a range is
 *   contiguous; ranges split across iovec/mbuf segments are streamed through
 *   EVP segment by segment, and only the pieces that cut a cipher block go
 *   through a one-block bounce buffer.  XTS and CCM need a range in one call
 *   and use a bounce buffer when it is split.
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* low-level digests, see hash_ops */

#include "drivers/soft/soft.h"
#include "drivers/soft/soft_pk.h"

#include <errno.h>
#include <limits.h>
#include <ocf/driver.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/md5.h>
#include <openssl/provider.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define POOL_SLOTS 16
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
static int cur_load(struct cur *c, size_t off) {
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

static int cur_seek(struct cur *c, const struct ocf_buf *b, size_t off) {
  c->b = b;
  c->i = 0;
  c->m = b->type == OCF_BUF_MBUF ? b->u.mbuf : NULL;
  c->p = NULL;
  c->avail = 0;
  return cur_load(c, off);
}

/* cur_adv moves n <= c->avail bytes on.  Reaching the end of the buffer is not
 * an error here: the next access fails instead. */
static void cur_adv(struct cur *c, size_t n) {
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

/* cur_rw copies n bytes between the buffer and mem (to the buffer if write). */
static int cur_rw(struct cur *c, uint8_t *mem, size_t n, bool write) {
  while (n > 0) {
    if (c->avail == 0) return ERANGE;
    size_t k = c->avail < n ? c->avail : n;
    if (write)
      memcpy(c->p, mem, k);
    else
      memcpy(mem, c->p, k);
    cur_adv(c, k);
    mem += k;
    n -= k;
  }
  return 0;
}

static int buf_read(const struct ocf_buf *b, size_t off, void *dst, size_t n) {
  struct cur c;
  if (n == 0) return 0;
  int rc = cur_seek(&c, b, off);
  return rc ? rc : cur_rw(&c, dst, n, false);
}

static int buf_write(const struct ocf_buf *b, size_t off, const void *src, size_t n) {
  struct cur c;
  if (n == 0) return 0;
  int rc = cur_seek(&c, b, off);
  return rc ? rc : cur_rw(&c, (uint8_t *)src, n, true);
}

/* buf_move copies [off, off+n) of src to the same offsets of dst. */
static int buf_move(const struct ocf_buf *src, const struct ocf_buf *dst, size_t off, size_t n) {
  struct cur s, d;
  if (n == 0) return 0;
  if (cur_seek(&s, src, off) || cur_seek(&d, dst, off)) return ERANGE;
  while (n > 0) {
    if (s.avail == 0 || d.avail == 0) return ERANGE;
    size_t k = s.avail < d.avail ? s.avail : d.avail;
    if (k > n) k = n;
    memmove(d.p, s.p, k);
    cur_adv(&s, k);
    cur_adv(&d, k);
    n -= k;
  }
  return 0;
}

/* buf_wipe clears [off, off+n) of b (failed AEAD decryption output). */
static void buf_wipe(const struct ocf_buf *b, size_t off, size_t n) {
  struct cur c;
  if (n == 0 || cur_seek(&c, b, off)) return;
  while (n > 0 && c.avail > 0) {
    size_t k = c.avail < n ? c.avail : n;
    ocf_wipe(c.p, k);
    cur_adv(&c, k);
    n -= k;
  }
}

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

#define HASH_WRAP(name, field, INIT, UPDATE, FINAL)                  \
  static int name##_init(union hctx *c) { return INIT(&c->field); }  \
  static int name##_update(union hctx *c, const void *p, size_t n) { \
    return UPDATE(&c->field, p, n);                                  \
  }                                                                  \
  static int name##_final(uint8_t *md, union hctx *c) { return FINAL(md, &c->field); }

HASH_WRAP(h_md5, md5, MD5_Init, MD5_Update, MD5_Final)
HASH_WRAP(h_sha1, sha1, SHA1_Init, SHA1_Update, SHA1_Final)
HASH_WRAP(h_sha224, sha256, SHA224_Init, SHA224_Update, SHA224_Final)
HASH_WRAP(h_sha256, sha256, SHA256_Init, SHA256_Update, SHA256_Final)
HASH_WRAP(h_sha384, sha512, SHA384_Init, SHA384_Update, SHA384_Final)
HASH_WRAP(h_sha512, sha512, SHA512_Init, SHA512_Update, SHA512_Final)

#define HASH_OPS(name, d, b) \
  { d, b, name##_init, name##_update, name##_final }
static const struct hash_ops hash_md5 = HASH_OPS(h_md5, 16, 64);
static const struct hash_ops hash_sha1 = HASH_OPS(h_sha1, 20, 64);
static const struct hash_ops hash_sha224 = HASH_OPS(h_sha224, 28, 64);
static const struct hash_ops hash_sha256 = HASH_OPS(h_sha256, 32, 64);
static const struct hash_ops hash_sha384 = HASH_OPS(h_sha384, 48, 128);
static const struct hash_ops hash_sha512 = HASH_OPS(h_sha512, 64, 128);

static const struct hash_ops *hash_for(enum ocf_alg alg) {
  switch (alg) {
    case OCF_ALG_HMAC_MD5:
    case OCF_ALG_MD5:
      return &hash_md5;
    case OCF_ALG_HMAC_SHA1:
    case OCF_ALG_SHA1:
      return &hash_sha1;
    case OCF_ALG_HMAC_SHA2_224:
    case OCF_ALG_SHA2_224:
      return &hash_sha224;
    case OCF_ALG_HMAC_SHA2_256:
    case OCF_ALG_SHA2_256:
      return &hash_sha256;
    case OCF_ALG_HMAC_SHA2_384:
    case OCF_ALG_SHA2_384:
      return &hash_sha384;
    case OCF_ALG_HMAC_SHA2_512:
    case OCF_ALG_SHA2_512:
      return &hash_sha512;
    default:
      return NULL;
  }
}

static bool is_hmac(enum ocf_alg alg) {
  return alg >= OCF_ALG_HMAC_MD5 && alg <= OCF_ALG_HMAC_SHA2_512;
}

/* --- the producer's state ------------------------------------------------ */

/* One EVP cipher the producer fetched: alg with a fixed key length (0 = the
 * cipher takes variable keys). */
struct cdef {
  enum ocf_alg alg;
  size_t keylen;
  const char *name;
};

static const struct cdef cdefs[] = {
    {OCF_ALG_DES_CBC, 8, "DES-CBC"},
    {OCF_ALG_3DES_CBC, 24, "DES-EDE3-CBC"},
    {OCF_ALG_AES_CBC, 16, "AES-128-CBC"},
    {OCF_ALG_AES_CBC, 24, "AES-192-CBC"},
    {OCF_ALG_AES_CBC, 32, "AES-256-CBC"},
    {OCF_ALG_AES_CTR, 16, "AES-128-CTR"},
    {OCF_ALG_AES_CTR, 24, "AES-192-CTR"},
    {OCF_ALG_AES_CTR, 32, "AES-256-CTR"},
    {OCF_ALG_AES_ECB, 16, "AES-128-ECB"},
    {OCF_ALG_AES_ECB, 24, "AES-192-ECB"},
    {OCF_ALG_AES_ECB, 32, "AES-256-ECB"},
    {OCF_ALG_AES_XTS, 32, "AES-128-XTS"},
    {OCF_ALG_AES_XTS, 64, "AES-256-XTS"},
    {OCF_ALG_BLOWFISH_CBC, 0, "BF-CBC"},
    {OCF_ALG_CAST5_CBC, 0, "CAST5-CBC"},
    {OCF_ALG_AES_GCM, 16, "AES-128-GCM"},
    {OCF_ALG_AES_GCM, 24, "AES-192-GCM"},
    {OCF_ALG_AES_GCM, 32, "AES-256-GCM"},
    {OCF_ALG_AES_CCM, 16, "AES-128-CCM"},
    {OCF_ALG_AES_CCM, 24, "AES-192-CCM"},
    {OCF_ALG_AES_CCM, 32, "AES-256-CCM"},
    {OCF_ALG_CHACHA20_POLY1305, 32, "ChaCha20-Poly1305"},
};
#define NCDEFS (sizeof(cdefs) / sizeof(cdefs[0]))

struct softc {
  uint32_t hid;
  OSSL_LIB_CTX *libctx;
  OSSL_PROVIDER *prov_default, *prov_legacy;
  EVP_CIPHER *ciph[NCDEFS]; /* NULL when the provider lacks it */
  struct softc *next;       /* attached list, under soft_lock */
};

static pthread_mutex_t soft_lock = PTHREAD_MUTEX_INITIALIZER;
static struct softc *soft_list;

/* The EVP cipher for alg with keylen (GMAC runs on GCM), or NULL. */
static const EVP_CIPHER *soft_cipher(const struct softc *sc, enum ocf_alg alg, size_t keylen) {
  if (alg == OCF_ALG_AES_GMAC) alg = OCF_ALG_AES_GCM;
  for (size_t i = 0; i < NCDEFS; i++)
    if (cdefs[i].alg == alg && (cdefs[i].keylen == 0 || cdefs[i].keylen == keylen))
      return sc->ciph[i];
  return NULL;
}

/* pool - ready-to-use contexts of one kind for one session.  Slots are taken
 * with an atomic exchange and given back with a compare-and-swap, so threads
 * never wait for each other; an empty pool makes a new context, a full one
 * frees the returned context. */
enum pool_kind { POOL_CIPHER, POOL_DEFLATE, POOL_INFLATE };

struct pool {
  _Atomic(void *) slot[POOL_SLOTS];
  enum pool_kind kind;
  EVP_CIPHER_CTX *tmpl; /* POOL_CIPHER: keyed template, only ever copied */
  int level;            /* POOL_DEFLATE */
};

/* cctx - a pooled cipher context.  For CBC modes it also remembers the
 * context's chaining value (the last ciphertext block it processed): see
 * cbc_run for why. */
struct cctx {
  EVP_CIPHER_CTX *ctx;
  uint8_t chain[MAX_BLOCK];
  bool chain_ok; /* chain is known; else the next user re-inits the IV */
};

/* Session state.  Everything is immutable after newsession except the pool
 * slots (atomics). */
struct ssess {
  /* cipher or AEAD */
  enum ocf_alg calg;
  enum ocf_alg_class ccls;
  size_t civlen, ctaglen, cblock;
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

static void *pool_make(struct pool *pl) {
  switch (pl->kind) {
    case POOL_CIPHER: {
      struct cctx *c = calloc(1, sizeof(*c));
      if (c == NULL) return NULL;
      c->ctx = EVP_CIPHER_CTX_new();
      if (c->ctx == NULL || !EVP_CIPHER_CTX_copy(c->ctx, pl->tmpl)) {
        EVP_CIPHER_CTX_free(c->ctx);
        free(c);
        return NULL;
      }
      c->chain_ok = true; /* templates start from an all-zero IV */
      return c;
    }
    case POOL_DEFLATE:
    case POOL_INFLATE: {
      z_stream *z = calloc(1, sizeof(*z));
      if (z == NULL) return NULL;
      int rc = pl->kind == POOL_DEFLATE
                   ? deflateInit2(z, pl->level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY)
                   : inflateInit2(z, -15);
      if (rc != Z_OK) {
        free(z);
        return NULL;
      }
      return z;
    }
  }
  return NULL;
}

static void pool_destroy(struct pool *pl, void *obj) {
  if (obj == NULL) return;
  switch (pl->kind) {
    case POOL_CIPHER: {
      struct cctx *c = obj;
      EVP_CIPHER_CTX_free(c->ctx); /* cleanses the key schedule */
      OPENSSL_cleanse(c, sizeof(*c));
      free(c);
      break;
    }
    case POOL_DEFLATE:
      deflateEnd(obj);
      free(obj);
      break;
    case POOL_INFLATE:
      inflateEnd(obj);
      free(obj);
      break;
  }
}

static void *pool_get(struct pool *pl) {
  for (int i = 0; i < POOL_SLOTS; i++) {
    if (atomic_load_explicit(&pl->slot[i], memory_order_relaxed) == NULL) continue;
    void *obj = atomic_exchange_explicit(&pl->slot[i], NULL, memory_order_acquire);
    if (obj != NULL) return obj;
  }
  return pool_make(pl);
}

static void pool_put(struct pool *pl, void *obj) {
  for (int i = 0; i < POOL_SLOTS; i++) {
    void *expect = NULL;
    if (atomic_load_explicit(&pl->slot[i], memory_order_relaxed) != NULL) continue;
    if (atomic_compare_exchange_strong_explicit(&pl->slot[i], &expect, obj, memory_order_release,
                                                memory_order_relaxed))
      return;
  }
  pool_destroy(pl, obj);
}

static void pool_fini(struct pool *pl) {
  for (int i = 0; i < POOL_SLOTS; i++)
    pool_destroy(pl, atomic_exchange_explicit(&pl->slot[i], NULL, memory_order_acquire));
  if (pl->tmpl != NULL) EVP_CIPHER_CTX_free(pl->tmpl);
  pl->tmpl = NULL;
}

/* --- newsession / freesession ------------------------------------------- */

static bool is_cbc(enum ocf_alg alg) {
  return alg == OCF_ALG_DES_CBC || alg == OCF_ALG_3DES_CBC || alg == OCF_ALG_AES_CBC ||
         alg == OCF_ALG_BLOWFISH_CBC || alg == OCF_ALG_CAST5_CBC;
}

/* make_tmpl builds a keyed cipher context.  IV and tag lengths must be set
 * before the key for GCM/CCM, so the context is initialised in two steps. */
static EVP_CIPHER_CTX *make_tmpl(const EVP_CIPHER *ciph, enum ocf_alg alg, int enc,
                                 const uint8_t *key, size_t keylen, size_t ivlen, size_t taglen) {
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  if (c == NULL) return NULL;
  if (!EVP_CipherInit_ex(c, ciph, NULL, NULL, NULL, enc)) goto fail;
  if ((alg == OCF_ALG_BLOWFISH_CBC || alg == OCF_ALG_CAST5_CBC) &&
      !EVP_CIPHER_CTX_set_key_length(c, (int)keylen))
    goto fail;
  if ((alg == OCF_ALG_AES_GCM || alg == OCF_ALG_AES_GMAC || alg == OCF_ALG_AES_CCM) &&
      ivlen != (size_t)EVP_CIPHER_CTX_get_iv_length(c) &&
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, (int)ivlen, NULL) <= 0)
    goto fail;
  if (alg == OCF_ALG_AES_CCM &&
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, (int)taglen, NULL) <= 0)
    goto fail;
  static const uint8_t zero_iv[MAX_BLOCK];
  if (!EVP_CipherInit_ex(c, NULL, NULL, key, is_cbc(alg) ? zero_iv : NULL, enc)) goto fail;
  /* Whole blocks only: padding would hold the last block back on decrypt. */
  if (is_cbc(alg) || alg == OCF_ALG_AES_ECB) EVP_CIPHER_CTX_set_padding(c, 0);
  return c;
fail:
  EVP_CIPHER_CTX_free(c);
  return NULL;
}

static void soft_freesession(void *softc, void *dsess) {
  struct ssess *s = dsess;
  (void)softc;
  if (s == NULL) return;
  pool_fini(&s->cenc);
  pool_fini(&s->cdec);
  pool_fini(&s->gmac);
  pool_fini(&s->defl);
  pool_fini(&s->infl);
  OPENSSL_cleanse(s, sizeof(*s));
  free(s);
}

static int hmac_setkey(struct ssess *s, const uint8_t *key, size_t keylen) {
  const struct hash_ops *h = s->hops;
  uint8_t k[128], pad[128];
  union hctx c;
  int ok = 1;
  memset(k, 0, sizeof(k));
  if (keylen > h->blen) {
    ok &= h->init(&c) && h->update(&c, key, keylen) && h->final(k, &c);
  } else if (keylen > 0) {
    memcpy(k, key, keylen);
  }
  for (size_t i = 0; i < h->blen; i++) pad[i] = k[i] ^ 0x36;
  ok &= h->init(&s->ist) && h->update(&s->ist, pad, h->blen);
  for (size_t i = 0; i < h->blen; i++) pad[i] = k[i] ^ 0x5c;
  ok &= h->init(&s->ost) && h->update(&s->ost, pad, h->blen);
  OPENSSL_cleanse(k, sizeof(k));
  OPENSSL_cleanse(pad, sizeof(pad));
  OPENSSL_cleanse(&c, sizeof(c));
  return ok ? 0 : EIO;
}

static int soft_newsession(void *softc, void **dsess, const struct ocf_sessparam *chain) {
  struct softc *sc = softc;
  struct ssess *s = calloc(1, sizeof(*s));
  int rc = 0;
  if (s == NULL) return ENOMEM;
  s->cenc.kind = s->cdec.kind = s->gmac.kind = POOL_CIPHER;
  s->defl.kind = POOL_DEFLATE;
  s->infl.kind = POOL_INFLATE;
  for (const struct ocf_sessparam *p = chain; p != NULL && rc == 0; p = p->next) {
    const struct ocf_alg_info *ai = ocf_alg_lookup(p->alg);
    if (ai == NULL) {
      rc = ENOTSUP;
      break;
    }
    size_t ivlen = p->ivlen ? p->ivlen : ai->ivlen;
    size_t maclen = p->maclen ? p->maclen : ai->maclen;
    switch (ai->cls) {
      case OCF_CLASS_CIPHER:
      case OCF_CLASS_AEAD: {
        if (s->calg != OCF_ALG_NONE) {
          rc = EINVAL;
          break;
        }
        s->calg = p->alg;
        s->ccls = ai->cls;
        s->civlen = ivlen;
        s->ctaglen = ai->cls == OCF_CLASS_AEAD ? maclen : 0;
        s->cblock = ai->block ? ai->block : 1;
        if (p->alg == OCF_ALG_NULL) break;
        const EVP_CIPHER *ciph = soft_cipher(sc, p->alg, p->keylen);
        if (ciph == NULL) {
          rc = ENOTSUP;
          break;
        }
        s->cenc.tmpl = make_tmpl(ciph, p->alg, 1, p->key, p->keylen, ivlen, s->ctaglen);
        s->cdec.tmpl = make_tmpl(ciph, p->alg, 0, p->key, p->keylen, ivlen, s->ctaglen);
        if (s->cenc.tmpl == NULL || s->cdec.tmpl == NULL) {
          ERR_clear_error();
          rc = EINVAL; /* e.g. an XTS key whose halves are equal */
        }
        break;
      }
      case OCF_CLASS_MAC:
        if (s->malg != OCF_ALG_NONE) {
          rc = EINVAL;
          break;
        }
        s->malg = p->alg;
        s->maclen = maclen;
        if (p->alg == OCF_ALG_AES_GMAC) {
          const EVP_CIPHER *ciph = soft_cipher(sc, p->alg, p->keylen);
          s->mivlen = ivlen;
          if (ciph == NULL) {
            rc = ENOTSUP;
            break;
          }
          s->gmac.tmpl = make_tmpl(ciph, p->alg, 1, p->key, p->keylen, ivlen, 0);
          if (s->gmac.tmpl == NULL) {
            ERR_clear_error();
            rc = EINVAL;
          }
          break;
        }
        s->hops = hash_for(p->alg);
        if (s->hops == NULL) {
          rc = ENOTSUP;
          break;
        }
        if (s->maclen > s->hops->dlen) {
          rc = EINVAL;
          break;
        }
        if (is_hmac(p->alg)) rc = hmac_setkey(s, p->key, p->keylen);
        break;
      case OCF_CLASS_COMP:
        if (s->comp) {
          rc = EINVAL;
          break;
        }
        s->comp = true;
        s->defl.level = p->level > 0 && p->level <= 9 ? p->level : Z_DEFAULT_COMPRESSION;
        break;
      default:
        rc = ENOTSUP;
        break;
    }
  }
  if (rc != 0) {
    soft_freesession(sc, s);
    return rc;
  }
  *dsess = s;
  return 0;
}

/* --- request processing -------------------------------------------------- */

static int ossl_fail(const char *what) {
  unsigned long e = ERR_get_error();
  char msg[256];
  ERR_error_string_n(e, msg, sizeof(msg));
  ERR_clear_error();
  ocf_log(0, "soft: %s failed: %s", what, e ? msg : "no OpenSSL error queued");
  return EIO;
}

/* get_iv fills iv[ivlen] for descriptor d: explicit, read from the working
 * buffer, or (when allowed) generated and written back to both places. */
static int get_iv(struct ocf_desc *d, const struct ocf_buf *work, size_t ivlen, bool may_gen,
                  uint8_t *iv) {
  if (ivlen == 0) return 0;
  if (ivlen > OCF_MAX_IV) return EINVAL;
  if (d->flags & OCF_D_IV_EXPLICIT) {
    memcpy(iv, d->iv, ivlen);
    return 0;
  }
  if (d->flags & OCF_D_IV_PRESENT) return buf_read(work, d->iv_off, iv, ivlen) ? EINVAL : 0;
  if (!may_gen) return EINVAL;
  int rc = ocf_random(iv, ivlen);
  if (rc != 0) return rc;
  if (buf_write(work, d->iv_off, iv, ivlen) != 0) return EINVAL;
  memcpy(d->iv, iv, ivlen);
  return 0;
}

/* crypt_range runs ctx over [off, off+len) of in, writing the same offsets of
 * out (in == out: in place).  Pieces contiguous in both buffers go straight
 * through EVP in multiples of blk; a piece that cuts a block goes through a
 * one-block bounce buffer, so EVP never holds a partial block and each update
 * yields exactly its input length. */
static int crypt_range(EVP_CIPHER_CTX *ctx, const struct ocf_buf *in, const struct ocf_buf *out,
                       size_t off, size_t len, size_t blk) {
  struct cur ci, co;
  uint8_t tmp[MAX_BLOCK];
  bool bounced = false;
  int n;
  if (len == 0) return 0;
  if (cur_seek(&ci, in, off) || cur_seek(&co, out, off)) return EINVAL;
  while (len > 0) {
    size_t k = ci.avail < co.avail ? ci.avail : co.avail;
    if (k > len) k = len;
    if (k >= blk) {
      k -= k % blk;
      if (k > INT_MAX) k = (INT_MAX / blk) * blk;
      if (!EVP_CipherUpdate(ctx, co.p, &n, ci.p, (int)k) || (size_t)n != k)
        return ossl_fail("EVP_CipherUpdate");
      cur_adv(&ci, k);
      cur_adv(&co, k);
    } else {
      k = len < blk ? len : blk;
      bounced = true;
      if (cur_rw(&ci, tmp, k, false)) return EINVAL;
      if (!EVP_CipherUpdate(ctx, tmp, &n, tmp, (int)k) || (size_t)n != k)
        return ossl_fail("EVP_CipherUpdate");
      if (cur_rw(&co, tmp, k, true)) return EINVAL;
    }
    len -= k;
  }
  if (bounced) OPENSSL_cleanse(tmp, sizeof(tmp));
  return 0;
}

/* whole_range gives a pointer to [off, off+len) of b: in the buffer when
 * contiguous, else in *bounce (stack space of BOUNCE_STACK bytes or a heap
 * allocation the caller frees with bounce_free), filled when fill. */
static int whole_range(const struct ocf_buf *b, size_t off, size_t len, bool fill, uint8_t *stack,
                       uint8_t **heap, uint8_t **p) {
  struct cur c;
  static uint8_t empty[1];
  *heap = NULL;
  if (len == 0) {
    *p = empty;
    return 0;
  }
  if (cur_seek(&c, b, off)) return EINVAL;
  if (c.avail >= len) {
    *p = c.p;
    return 0;
  }
  if (len <= BOUNCE_STACK) {
    *p = stack;
  } else {
    *heap = malloc(len);
    if (*heap == NULL) return ENOMEM;
    *p = *heap;
  }
  if (fill && cur_rw(&c, *p, len, false)) return EINVAL;
  return 0;
}

static void bounce_free(uint8_t *heap, size_t len) {
  if (heap == NULL) return;
  OPENSSL_cleanse(heap, len);
  free(heap);
}

/* crypt_whole runs ctx over the range in one EVP call (XTS: one data unit;
 * CCM: one payload).  Returns -1 in *evp_ok when EVP rejected it (a CCM tag
 * mismatch shows up here). */
static int crypt_whole(EVP_CIPHER_CTX *ctx, const struct ocf_buf *in, const struct ocf_buf *out,
                       size_t off, size_t len, bool *evp_ok) {
  uint8_t st_in[BOUNCE_STACK], st_out[BOUNCE_STACK];
  uint8_t *hin = NULL, *hout = NULL, *pin = NULL, *pout = NULL;
  int n, rc;
  *evp_ok = true;
  if (len > INT_MAX) return EMSGSIZE;
  rc = whole_range(in, off, len, true, st_in, &hin, &pin);
  if (rc == 0) rc = whole_range(out, off, len, false, st_out, &hout, &pout);
  if (rc == 0) {
    bool pout_bounced = pout == st_out || pout == hout;
    if (!EVP_CipherUpdate(ctx, pout, &n, pin, (int)len)) {
      *evp_ok = false;
    } else if (pout_bounced && len > 0 && buf_write(out, off, pout, len)) {
      rc = EINVAL;
    }
  }
  if (pin == st_in) OPENSSL_cleanse(st_in, len);
  if (pout == st_out) OPENSSL_cleanse(st_out, len);
  bounce_free(hin, len);
  bounce_free(hout, len);
  return rc;
}

/* Streams [off, off+len) of b as AAD into an AEAD / GMAC context. */
static int aad_stream(EVP_CIPHER_CTX *ctx, const struct ocf_buf *b, size_t off, size_t len) {
  struct cur c;
  int n;
  if (len == 0) return 0;
  if (cur_seek(&c, b, off)) return EINVAL;
  while (len > 0) {
    if (c.avail == 0) return EINVAL;
    size_t k = c.avail < len ? c.avail : len;
    if (k > INT_MAX) k = INT_MAX;
    if (!EVP_CipherUpdate(ctx, NULL, &n, c.p, (int)k)) return ossl_fail("AAD update");
    cur_adv(&c, k);
    len -= k;
  }
  return 0;
}

/* xor_blk: dst = a ^ b for one cipher block (8 or 16 bytes). */
static inline void xor_blk(uint8_t *dst, const uint8_t *a, const uint8_t *b, size_t blk) {
  for (size_t i = 0; i < blk; i += 8) {
    uint64_t x, y;
    memcpy(&x, a + i, 8);
    memcpy(&y, b + i, 8);
    x ^= y;
    memcpy(dst + i, &x, 8);
  }
}

/* cbc_run runs a CBC cipher without re-initialising the context's IV.  In
 * OpenSSL 3.0 EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, enc) costs about
 * 1200 instructions (parameter lookups by name), more than encrypting 64
 * bytes with AES-NI.  CBC lets us avoid it: the context continues from its
 * chaining value V (the last ciphertext block it saw), so with delta = IV ^ V,
 * encrypting P1 ^ delta gives E(P1 ^ IV), and decryption yields D(C1) ^ V,
 * which ^ delta is D(C1) ^ IV.  All later blocks chain normally. */
static int cbc_run(struct ssess *s, struct cctx *cc, bool enc, const uint8_t *iv,
                   const struct ocf_buf *in, const struct ocf_buf *work, size_t off, size_t len) {
  size_t blk = s->cblock;
  uint8_t b[MAX_BLOCK], last[MAX_BLOCK], delta[MAX_BLOCK];
  struct cur ci, cw;
  int n, rc;
  if (len == 0) return 0;
  if (len < blk || (len & (blk - 1)) != 0 || len > INT_MAX) return EINVAL; /* blk: 8 or 16 */
  if (cur_seek(&ci, in, off) || cur_seek(&cw, work, off)) return EINVAL;
  if (!cc->chain_ok) {
    if (!EVP_CipherInit_ex(cc->ctx, NULL, NULL, NULL, iv, -1))
      return ossl_fail("EVP_CipherInit_ex");
    memcpy(cc->chain, iv, blk);
  }
  xor_blk(delta, iv, cc->chain, blk);
  cc->chain_ok = false; /* until this request went through completely */
  if (ci.avail >= len && cw.avail >= len) {
    /* the common case: both ranges flat in memory, one or two EVP calls */
    uint8_t *ip = ci.p, *op = cw.p;
    bool ok;
    if (enc) {
      xor_blk(b, ip, delta, blk);
      if (ip == op) {
        memcpy(op, b, blk);
        ok = EVP_CipherUpdate(cc->ctx, op, &n, op, (int)len) && (size_t)n == len;
      } else {
        ok = EVP_CipherUpdate(cc->ctx, op, &n, b, (int)blk) && (size_t)n == blk &&
             (len == blk || (EVP_CipherUpdate(cc->ctx, op + blk, &n, ip + blk, (int)(len - blk)) &&
                             (size_t)n == len - blk));
      }
      memcpy(last, op + len - blk, blk);
    } else {
      memcpy(last, ip + len - blk, blk);
      ok = EVP_CipherUpdate(cc->ctx, op, &n, ip, (int)len) && (size_t)n == len;
      xor_blk(op, op, delta, blk);
    }
    if (!ok) return ossl_fail("EVP_CipherUpdate");
    memcpy(cc->chain, last, blk);
    cc->chain_ok = true;
    return 0;
  }
  if (enc) {
    if (cur_rw(&ci, b, blk, false)) return EINVAL;
    xor_blk(b, b, delta, blk);
    if (in == work) {
      if (buf_write(work, off, b, blk)) return EINVAL;
      rc = crypt_range(cc->ctx, work, work, off, len, blk);
    } else {
      if (!EVP_CipherUpdate(cc->ctx, b, &n, b, (int)blk) || (size_t)n != blk)
        return ossl_fail("EVP_CipherUpdate");
      if (buf_write(work, off, b, blk)) return EINVAL;
      rc = crypt_range(cc->ctx, in, work, off + blk, len - blk, blk);
    }
    if (rc == 0 && buf_read(work, off + len - blk, last, blk)) rc = EINVAL;
  } else {
    /* read before an in-place run overwrites it */
    if (buf_read(in, off + len - blk, last, blk)) return EINVAL;
    rc = crypt_range(cc->ctx, in, work, off, len, blk);
    if (rc == 0 && buf_read(work, off, b, blk)) rc = EINVAL;
    if (rc == 0) {
      xor_blk(b, b, delta, blk);
      if (buf_write(work, off, b, blk)) rc = EINVAL;
    }
  }
  OPENSSL_cleanse(b, sizeof(b));
  if (rc != 0) return rc;
  memcpy(cc->chain, last, blk);
  cc->chain_ok = true;
  return 0;
}

/* cipher descriptor: in is where the data come from (the input buffer when
 * the cipher reads it directly into a separate output), work is the buffer
 * operated on. */
static int do_cipher(struct ssess *s, struct ocf_desc *d, const struct ocf_buf *in,
                     const struct ocf_buf *work) {
  bool enc = d->flags & OCF_D_ENCRYPT;
  uint8_t iv[OCF_MAX_IV];
  int rc;
  if (s->calg == OCF_ALG_NULL) return in == work ? 0 : buf_move(in, work, d->skip, d->len);
  rc = get_iv(d, work, s->civlen, enc, iv);
  if (rc != 0) return rc;
  struct pool *pl = enc ? &s->cenc : &s->cdec;
  struct cctx *cc = pool_get(pl);
  if (cc == NULL) return ENOMEM;
  if (is_cbc(s->calg)) {
    rc = cbc_run(s, cc, enc, iv, in, work, d->skip, d->len);
  } else if (!EVP_CipherInit_ex(cc->ctx, NULL, NULL, NULL, iv, -1)) {
    rc = ossl_fail("EVP_CipherInit_ex");
  } else if (s->calg == OCF_ALG_AES_XTS) {
    bool ok;
    rc = crypt_whole(cc->ctx, in, work, d->skip, d->len, &ok);
    if (rc == 0 && !ok) rc = ossl_fail("AES-XTS");
  } else {
    rc = crypt_range(cc->ctx, in, work, d->skip, d->len, s->cblock);
  }
  pool_put(pl, cc);
  return rc;
}

static int do_aead(struct ssess *s, struct ocf_desc *d, const struct ocf_buf *in,
                   const struct ocf_buf *work) {
  bool enc = d->flags & OCF_D_ENCRYPT;
  bool ccm = s->calg == OCF_ALG_AES_CCM;
  size_t taglen = s->ctaglen;
  uint8_t iv[OCF_MAX_IV], tag[MAX_TAG], fin[MAX_BLOCK];
  int n, rc;
  if (taglen == 0 || taglen > 16 || d->len > INT_MAX || d->aad_len > INT_MAX) return EINVAL;
  rc = get_iv(d, work, s->civlen, enc, iv);
  if (rc != 0) return rc;
  /* Read the tag before any output is written: it could share the buffer. */
  if (!enc && buf_read(work, d->inject, tag, taglen)) return EINVAL;
  struct pool *pl = enc ? &s->cenc : &s->cdec;
  struct cctx *cc = pool_get(pl);
  if (cc == NULL) return ENOMEM;
  EVP_CIPHER_CTX *ctx = cc->ctx;
  bool auth_ok = true;
  if (!EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, -1)) {
    rc = ossl_fail("EVP_CipherInit_ex");
    goto out;
  }
  if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)taglen, tag) <= 0) {
    rc = ossl_fail("set tag");
    goto out;
  }
  if (ccm) {
    /* CCM needs the payload length first and AAD in one piece. */
    uint8_t st[BOUNCE_STACK], *heap = NULL, *aad;
    if (!EVP_CipherUpdate(ctx, NULL, &n, NULL, (int)d->len)) {
      rc = ossl_fail("CCM length");
      goto out;
    }
    if (d->aad_len > 0) {
      rc = whole_range(work, d->aad_skip, d->aad_len, true, st, &heap, &aad);
      if (rc == 0 && !EVP_CipherUpdate(ctx, NULL, &n, aad, (int)d->aad_len))
        rc = ossl_fail("CCM AAD");
      bounce_free(heap, d->aad_len);
      if (rc != 0) goto out;
    }
    rc = crypt_whole(ctx, in, work, d->skip, d->len, &auth_ok);
    if (rc != 0) goto out;
    if (!auth_ok && enc) {
      rc = ossl_fail("CCM encrypt");
      goto out;
    }
    if (enc && !EVP_CipherFinal_ex(ctx, fin, &n)) {
      rc = ossl_fail("CCM final");
      goto out;
    }
  } else {
    rc = aad_stream(ctx, work, d->aad_skip, d->aad_len);
    if (rc == 0) rc = crypt_range(ctx, in, work, d->skip, d->len, 1);
    if (rc != 0) goto out;
    if (!EVP_CipherFinal_ex(ctx, fin, &n)) {
      if (enc) {
        rc = ossl_fail("AEAD final");
        goto out;
      }
      auth_ok = false;
    }
  }
  if (!enc) {
    if (!auth_ok) {
      ERR_clear_error();
      buf_wipe(work, d->skip, d->len);
      rc = EBADMSG;
    }
    goto out;
  }
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, (int)taglen, tag) <= 0) {
    rc = ossl_fail("get tag");
    goto out;
  }
  if (buf_write(work, d->inject, tag, taglen)) rc = EINVAL;
out:
  pool_put(pl, cc);
  return rc;
}

/* MAC descriptors: HMAC, plain hash, GMAC; write or verify the tag. */
static int do_mac(struct ssess *s, struct ocf_desc *d, const struct ocf_buf *work) {
  uint8_t md[MAX_TAG], want[MAX_TAG];
  size_t maclen = s->maclen;
  int rc = 0;
  if (maclen == 0 || maclen > MAX_TAG) return EINVAL;
  if (s->malg == OCF_ALG_AES_GMAC) {
    uint8_t iv[OCF_MAX_IV], fin[MAX_BLOCK];
    int n;
    rc = get_iv(d, work, s->mivlen, !(d->flags & OCF_D_VERIFY), iv);
    if (rc != 0) return rc;
    struct cctx *cc = pool_get(&s->gmac);
    if (cc == NULL) return ENOMEM;
    EVP_CIPHER_CTX *ctx = cc->ctx;
    if (!EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, -1)) rc = ossl_fail("EVP_CipherInit_ex");
    if (rc == 0) rc = aad_stream(ctx, work, d->skip, d->len);
    if (rc == 0 && !EVP_CipherFinal_ex(ctx, fin, &n)) rc = ossl_fail("GMAC final");
    if (rc == 0 && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, (int)maclen, md) <= 0)
      rc = ossl_fail("GMAC tag");
    pool_put(&s->gmac, cc);
    if (rc != 0) return rc;
  } else {
    const struct hash_ops *h = s->hops;
    union hctx c;
    struct cur cu;
    size_t len = d->len;
    bool ok = true;
    if (is_hmac(s->malg))
      c = s->ist;
    else
      ok = h->init(&c);
    if (len > 0 && cur_seek(&cu, work, d->skip)) return EINVAL;
    while (ok && len > 0) {
      if (cu.avail == 0) {
        rc = EINVAL;
        break;
      }
      size_t k = cu.avail < len ? cu.avail : len;
      ok = h->update(&c, cu.p, k);
      cur_adv(&cu, k);
      len -= k;
    }
    ok = ok && rc == 0 && h->final(md, &c);
    if (ok && is_hmac(s->malg)) {
      c = s->ost;
      ok = h->update(&c, md, h->dlen) && h->final(md, &c);
    }
    OPENSSL_cleanse(&c, sizeof(c));
    if (rc != 0) return rc;
    if (!ok) return ossl_fail("digest");
  }
  if (d->flags & OCF_D_VERIFY) {
    if (buf_read(work, d->inject, want, maclen))
      rc = EINVAL;
    else if (CRYPTO_memcmp(want, md, maclen) != 0)
      rc = EBADMSG;
  } else if (buf_write(work, d->inject, md, maclen)) {
    rc = EINVAL;
  }
  OPENSSL_cleanse(md, sizeof(md));
  return rc;
}

/* Compression: the result goes to a growing temporary first, so a result that
 * does not fit leaves the buffer untouched (ENOSPC).  The temporary may grow
 * one byte past the room in the buffer: a stream whose output exactly fills
 * the buffer still needs a call that consumes its end-of-block code, and that
 * byte tells "fits exactly" from "too long". */
static int do_comp(struct ssess *s, struct ocf_req *req, struct ocf_desc *d,
                   const struct ocf_buf *in, const struct ocf_buf *work) {
  bool compress = d->flags & OCF_D_ENCRYPT;
  size_t wlen = ocf_buf_len(work);
  size_t cap = d->skip <= wlen ? wlen - d->skip : 0, limit = cap + 1;
  struct pool *pl = compress ? &s->defl : &s->infl;
  struct cur c;
  int zr, rc = 0;
  size_t len = d->len, tcap = len * 2 + 256;
  if (tcap > limit) tcap = limit;
  if (tcap > UINT_MAX) tcap = UINT_MAX;
  uint8_t *tmp = malloc(tcap);
  if (tmp == NULL) return ENOMEM;
  z_stream *z = pool_get(pl);
  if (z == NULL) {
    free(tmp);
    return ENOMEM;
  }
  zr = compress ? deflateReset(z) : inflateReset(z);
  /* The resets keep next_in/avail_in: a pooled stream whose last request
   * failed midway would otherwise read that request's input again. */
  z->next_in = NULL;
  z->avail_in = 0;
  if (zr != Z_OK) {
    rc = EIO;
    goto out;
  }
  if (len > 0 && cur_seek(&c, in, d->skip)) {
    rc = EINVAL;
    goto out;
  }
  z->next_out = tmp;
  z->avail_out = (uInt)tcap;
  for (;;) {
    if (z->avail_in == 0 && len > 0) {
      size_t k = c.avail < len ? c.avail : len;
      if (k > UINT_MAX) k = UINT_MAX;
      if (k == 0) {
        rc = EINVAL;
        break;
      }
      z->next_in = c.p;
      z->avail_in = (uInt)k;
      cur_adv(&c, k);
      len -= k;
    }
    if (z->avail_out == 0) {
      if (tcap >= limit) {
        rc = ENOSPC;
        break;
      }
      size_t ncap = tcap * 2 < limit ? tcap * 2 : limit;
      if (ncap - tcap > UINT_MAX) ncap = tcap + UINT_MAX;
      uint8_t *nt = realloc(tmp, ncap);
      if (nt == NULL) {
        rc = ENOMEM;
        break;
      }
      tmp = nt;
      z->next_out = tmp + tcap;
      z->avail_out = (uInt)(ncap - tcap);
      tcap = ncap;
    }
    int flush = len == 0 ? Z_FINISH : Z_NO_FLUSH;
    zr = compress ? deflate(z, flush) : inflate(z, flush);
    if (zr == Z_STREAM_END) break;
    if (zr == Z_OK || (zr == Z_BUF_ERROR && z->avail_out == 0)) continue;
    /* Z_BUF_ERROR with room left: no progress possible, the compressed input
     * is truncated; Z_DATA_ERROR: it is corrupt */
    if (compress) {
      ocf_log(0, "soft: zlib deflate failed (%d)", zr);
      rc = EIO;
    } else {
      rc = EINVAL;
    }
    break;
  }
  if (rc == 0) {
    size_t produced = (size_t)(z->next_out - tmp);
    if (produced > cap)
      rc = ENOSPC;
    else if (buf_write(work, d->skip, tmp, produced))
      rc = EINVAL;
    else
      req->olen = produced;
  }
out:
  pool_put(pl, z);
  OPENSSL_cleanse(tmp, tcap);
  free(tmp);
  return rc;
}

/* The span [lo, hi) of every buffer region the descriptors name. */
struct span {
  size_t lo, hi;
};

static void span_add(struct span *sp, size_t off, size_t len) {
  if (len == 0) return;
  if (sp->hi == 0 || off < sp->lo) sp->lo = off;
  if (off + len > sp->hi) sp->hi = off + len;
}

static bool overlaps(size_t a, size_t alen, size_t b, size_t blen) {
  return alen > 0 && blen > 0 && a < b + blen && b < a + alen;
}

static size_t desc_ivlen(const struct ssess *s, const struct ocf_desc *d, enum ocf_alg_class cls) {
  if (d->flags & OCF_D_IV_EXPLICIT) return 0;
  if (cls == OCF_CLASS_CIPHER || cls == OCF_CLASS_AEAD) return s->civlen;
  if (d->alg == OCF_ALG_AES_GMAC) return s->mivlen;
  return 0;
}

static enum ocf_alg_class desc_class(const struct ssess *s, const struct ocf_desc *d) {
  if (d->alg == OCF_ALG_NONE) return OCF_CLASS_NONE;
  if (d->alg == s->calg) return s->ccls;
  if (d->alg == s->malg) return OCF_CLASS_MAC;
  if (d->alg == OCF_ALG_DEFLATE && s->comp) return OCF_CLASS_COMP;
  return OCF_CLASS_NONE;
}

/* prepare_out makes the separate output buffer look as if the hull of all
 * regions had been copied from the input.  When the first descriptor is a
 * cipher whose own other regions stay clear of its payload, the payload is
 * not copied: that descriptor reads the input and writes the output itself
 * (*direct). */
static int prepare_out(struct ssess *s, struct ocf_req *req, bool *direct) {
  struct span sp = {0, 0};
  for (int i = 0; i < req->ndesc; i++) {
    const struct ocf_desc *d = &req->desc[i];
    enum ocf_alg_class cls = desc_class(s, d);
    span_add(&sp, d->skip, d->len);
    span_add(&sp, d->iv_off, desc_ivlen(s, d, cls));
    if (cls == OCF_CLASS_AEAD) {
      span_add(&sp, d->aad_skip, d->aad_len);
      span_add(&sp, d->inject, s->ctaglen);
    } else if (cls == OCF_CLASS_MAC) {
      span_add(&sp, d->inject, s->maclen);
    }
  }
  const struct ocf_desc *d0 = &req->desc[0];
  enum ocf_alg_class cls0 = desc_class(s, d0);
  *direct = false;
  if ((cls0 == OCF_CLASS_CIPHER || cls0 == OCF_CLASS_AEAD) && d0->len > 0) {
    *direct = !overlaps(d0->skip, d0->len, d0->iv_off, desc_ivlen(s, d0, cls0));
    if (cls0 == OCF_CLASS_AEAD)
      *direct = *direct && !overlaps(d0->skip, d0->len, d0->aad_skip, d0->aad_len) &&
                !overlaps(d0->skip, d0->len, d0->inject, s->ctaglen);
  }
  if (sp.hi <= sp.lo) return 0;
  if (!*direct) return buf_move(&req->buf, &req->out, sp.lo, sp.hi - sp.lo) ? EINVAL : 0;
  int rc = 0;
  if (d0->skip > sp.lo) rc = buf_move(&req->buf, &req->out, sp.lo, d0->skip - sp.lo);
  if (rc == 0 && sp.hi > d0->skip + d0->len)
    rc = buf_move(&req->buf, &req->out, d0->skip + d0->len, sp.hi - (d0->skip + d0->len));
  return rc ? EINVAL : 0;
}

static int run_req(struct ssess *s, struct ocf_req *req) {
  const struct ocf_buf *work = &req->buf;
  bool direct = false;
  int rc;
  if (req->ndesc < 1 || req->ndesc > OCF_MAX_DESC) return EINVAL;
  if (req->out.type != OCF_BUF_NONE) {
    work = &req->out;
    rc = prepare_out(s, req, &direct);
    if (rc != 0) return rc;
  }
  for (int i = 0; i < req->ndesc; i++) {
    struct ocf_desc *d = &req->desc[i];
    const struct ocf_buf *in = i == 0 && direct ? &req->buf : work;
    switch (desc_class(s, d)) {
      case OCF_CLASS_CIPHER:
        rc = do_cipher(s, d, in, work);
        break;
      case OCF_CLASS_AEAD:
        rc = do_aead(s, d, in, work);
        break;
      case OCF_CLASS_MAC:
        rc = do_mac(s, d, work);
        break;
      case OCF_CLASS_COMP:
        rc = do_comp(s, req, d, work, work);
        break;
      default:
        rc = EINVAL;
        break;
    }
    if (rc != 0) return rc;
  }
  return 0;
}

static int soft_process(void *softc, void *dsess, struct ocf_req *req) {
  (void)softc;
  req->error = dsess == NULL ? EINVAL : run_req(dsess, req);
  ocf_done(req);
  return 0;
}

/* --- attach / detach ----------------------------------------------------- */

static const struct ocf_driver_ops soft_ops = {
    .newsession = soft_newsession,
    .freesession = soft_freesession,
    .process = soft_process,
    .kprocess = ocf_soft_pk_kprocess,
};

static void softc_free(struct softc *sc) {
  for (size_t i = 0; i < NCDEFS; i++) EVP_CIPHER_free(sc->ciph[i]);
  if (sc->prov_legacy != NULL) OSSL_PROVIDER_unload(sc->prov_legacy);
  if (sc->prov_default != NULL) OSSL_PROVIDER_unload(sc->prov_default);
  OSSL_LIB_CTX_free(sc->libctx);
  free(sc);
}

/* Can the producer serve alg with what it fetched? */
static bool soft_has(const struct softc *sc, enum ocf_alg alg) {
  if (alg == OCF_ALG_NULL || alg == OCF_ALG_DEFLATE || hash_for(alg) != NULL) return true;
  if (alg == OCF_ALG_AES_GMAC) alg = OCF_ALG_AES_GCM;
  bool any = false, all = true;
  for (size_t i = 0; i < NCDEFS; i++) {
    if (cdefs[i].alg != alg) continue;
    any = true;
    all = all && sc->ciph[i] != NULL;
  }
  return any && all;
}

int ocf_soft_attach(int pk_enabled, uint32_t *hid) {
  struct softc *sc = calloc(1, sizeof(*sc));
  int rc;
  if (sc == NULL) return ENOMEM;
  sc->libctx = OSSL_LIB_CTX_new();
  if (sc->libctx == NULL) {
    free(sc);
    return ENOMEM;
  }
  sc->prov_default = OSSL_PROVIDER_load(sc->libctx, "default");
  if (sc->prov_default == NULL) {
    rc = ossl_fail("loading the default provider");
    softc_free(sc);
    return rc;
  }
  sc->prov_legacy = OSSL_PROVIDER_load(sc->libctx, "legacy");
  if (sc->prov_legacy == NULL) {
    ERR_clear_error();
    ocf_log(1, "soft: OpenSSL legacy provider unavailable: no DES, Blowfish, CAST5");
  }
  for (size_t i = 0; i < NCDEFS; i++) {
    sc->ciph[i] = EVP_CIPHER_fetch(sc->libctx, cdefs[i].name, NULL);
    if (sc->ciph[i] == NULL) {
      ERR_clear_error();
      ocf_log(1, "soft: cipher %s unavailable", cdefs[i].name);
    }
  }
  rc = ocf_get_driverid("soft", OCF_DRV_SOFTWARE | OCF_DRV_SYNC, &soft_ops, sc, &sc->hid);
  if (rc != 0) {
    softc_free(sc);
    return rc;
  }
  for (int a = 1; a < OCF_ALG__MAX; a++) {
    if (ocf_alg_lookup((enum ocf_alg)a) == NULL || !soft_has(sc, (enum ocf_alg)a)) continue;
    rc = ocf_register(sc->hid, (enum ocf_alg)a, 0, OCF_ALGF_NONE);
    if (rc != 0) {
      ocf_unregister_all(sc->hid);
      softc_free(sc);
      return rc;
    }
  }
  /* A deployment may refuse software public key, as the paper's kernel did. */
  if (pk_enabled && (rc = ocf_soft_pk_register(sc->hid)) != 0)
    ocf_log(1, "soft: public-key operations unavailable: %s", ocf_strerror(rc));
  pthread_mutex_lock(&soft_lock);
  sc->next = soft_list;
  soft_list = sc;
  pthread_mutex_unlock(&soft_lock);
  *hid = sc->hid;
  return 0;
}

void ocf_soft_detach(uint32_t hid) {
  struct softc *sc = NULL;
  pthread_mutex_lock(&soft_lock);
  for (struct softc **pp = &soft_list; *pp != NULL; pp = &(*pp)->next) {
    if ((*pp)->hid == hid) {
      sc = *pp;
      *pp = sc->next;
      break;
    }
  }
  pthread_mutex_unlock(&soft_lock);
  if (sc == NULL) return;
  ocf_unregister_all(hid); /* frees every session, which hold our EVP objects */
  softc_free(sc);
}
