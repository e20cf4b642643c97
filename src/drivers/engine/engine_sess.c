/*
 * engine_sess.c - the engine's OpenSSL library and its sessions.
 *
 * All EVP algorithm objects are fetched once, when the first producer holds
 * the engine, from a private OSSL_LIB_CTX with the default and legacy
 * providers (the host program's default context is left alone).  A session
 * keeps keyed *template* cipher contexts (key schedule done once, separate
 * encrypt and decrypt templates since AES decrypts with another schedule);
 * requests take a ready copy from a small pool of atomic slots (see
 * struct pool).  HMACs and hashes keep precomputed inner/outer digest states
 * that requests copy onto the stack: half the cost of re-initialising an
 * EVP_MAC_CTX, and no pool needed.
 */
#include "drivers/engine/engine_int.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/provider.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

/* --- low-level digests ---------------------------------------------------- */

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

const struct hash_ops *eng_hash_for(enum ocf_alg alg) {
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

/* --- the library ---------------------------------------------------------- */

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

static pthread_mutex_t lib_lock = PTHREAD_MUTEX_INITIALIZER;
static OSSL_LIB_CTX *lib;                  /* [lib_lock] to change */
static OSSL_PROVIDER *prov_def, *prov_leg; /* [lib_lock] */
static EVP_CIPHER *ciph[NCDEFS];           /* [lib_lock] to change; NULL: unavailable */
static struct pcipher pciph[NCDEFS];       /* [lib_lock] to change; newctx NULL: use EVP */
static long lib_users;                     /* [lib_lock] */

static void lib_free(void) {
  for (size_t i = 0; i < NCDEFS; i++) {
    EVP_CIPHER_free(ciph[i]);
    ciph[i] = NULL;
  }
  memset(pciph, 0, sizeof(pciph));
  if (prov_leg != NULL) OSSL_PROVIDER_unload(prov_leg);
  if (prov_def != NULL) OSSL_PROVIDER_unload(prov_def);
  OSSL_LIB_CTX_free(lib);
  lib = NULL;
  prov_leg = prov_def = NULL;
}

/* names_has tells whether the colon-separated list names holds name. */
static bool names_has(const char *names, const char *name) {
  size_t n = strlen(name);
  for (const char *p = names; *p != '\0';) {
    const char *e = strchr(p, ':');
    size_t len = e != NULL ? (size_t)(e - p) : strlen(p);
    if (len == n && strncasecmp(p, name, n) == 0) return true;
    if (e == NULL) break;
    p = e + 1;
  }
  return false;
}

static void (*disp_fn(const OSSL_DISPATCH *d, int id))(void) {
  for (; d->function_id != 0; d++)
    if (d->function_id == id) return d->function;
  return NULL;
}

/* pcipher_load fills *pc with the default provider's functions for name;
 * any missing leaves it empty, and the cipher goes through EVP. */
static void pcipher_load(struct pcipher *pc, const char *name) {
  int no_cache = 0;
  const OSSL_ALGORITHM *all = OSSL_PROVIDER_query_operation(prov_def, OSSL_OP_CIPHER, &no_cache);
  const OSSL_DISPATCH *d = NULL;
  for (const OSSL_ALGORITHM *a = all; a != NULL && a->algorithm_names != NULL; a++)
    if (names_has(a->algorithm_names, name)) {
      d = a->implementation;
      break;
    }
  if (all != NULL) OSSL_PROVIDER_unquery_operation(prov_def, OSSL_OP_CIPHER, all);
  memset(pc, 0, sizeof(*pc));
  if (d == NULL) return;
  struct pcipher f = {
      .provctx = OSSL_PROVIDER_get0_provider_ctx(prov_def),
      .freectx = (OSSL_FUNC_cipher_freectx_fn *)disp_fn(d, OSSL_FUNC_CIPHER_FREECTX),
      .dupctx = (OSSL_FUNC_cipher_dupctx_fn *)disp_fn(d, OSSL_FUNC_CIPHER_DUPCTX),
      .einit = (OSSL_FUNC_cipher_encrypt_init_fn *)disp_fn(d, OSSL_FUNC_CIPHER_ENCRYPT_INIT),
      .dinit = (OSSL_FUNC_cipher_decrypt_init_fn *)disp_fn(d, OSSL_FUNC_CIPHER_DECRYPT_INIT),
      .update = (OSSL_FUNC_cipher_update_fn *)disp_fn(d, OSSL_FUNC_CIPHER_UPDATE),
      .final = (OSSL_FUNC_cipher_final_fn *)disp_fn(d, OSSL_FUNC_CIPHER_FINAL),
      .get_ctx_params =
          (OSSL_FUNC_cipher_get_ctx_params_fn *)disp_fn(d, OSSL_FUNC_CIPHER_GET_CTX_PARAMS),
      .set_ctx_params =
          (OSSL_FUNC_cipher_set_ctx_params_fn *)disp_fn(d, OSSL_FUNC_CIPHER_SET_CTX_PARAMS),
  };
  OSSL_FUNC_cipher_newctx_fn *nc = (OSSL_FUNC_cipher_newctx_fn *)disp_fn(d, OSSL_FUNC_CIPHER_NEWCTX);
  if (f.provctx == NULL || nc == NULL || f.freectx == NULL || f.dupctx == NULL || f.einit == NULL ||
      f.dinit == NULL || f.update == NULL || f.final == NULL || f.get_ctx_params == NULL ||
      f.set_ctx_params == NULL)
    return;
  f.newctx = nc;
  *pc = f;
}

static int lib_load(void) {
  lib = OSSL_LIB_CTX_new();
  if (lib == NULL) return ENOMEM;
  prov_def = OSSL_PROVIDER_load(lib, "default");
  if (prov_def == NULL) {
    int rc = eng_ossl_fail("loading the default provider");
    lib_free();
    return rc;
  }
  prov_leg = OSSL_PROVIDER_load(lib, "legacy");
  if (prov_leg == NULL) {
    ERR_clear_error();
    ocf_log(1, "engine: OpenSSL legacy provider unavailable: no DES, Blowfish, CAST5");
  }
  for (size_t i = 0; i < NCDEFS; i++) {
    ciph[i] = EVP_CIPHER_fetch(lib, cdefs[i].name, NULL);
    if (ciph[i] == NULL) {
      ERR_clear_error();
      ocf_log(1, "engine: cipher %s unavailable", cdefs[i].name);
    } else if (cdefs[i].alg == OCF_ALG_AES_GCM || cdefs[i].alg == OCF_ALG_CHACHA20_POLY1305) {
      pcipher_load(&pciph[i], cdefs[i].name);
    }
  }
  return 0;
}

int ocf_eng_hold(void) {
  int rc = 0;
  pthread_mutex_lock(&lib_lock);
  if (lib_users == 0) rc = lib_load();
  if (rc == 0) lib_users++;
  pthread_mutex_unlock(&lib_lock);
  return rc;
}

void ocf_eng_release(void) {
  pthread_mutex_lock(&lib_lock);
  if (lib_users > 0 && --lib_users == 0) lib_free();
  pthread_mutex_unlock(&lib_lock);
}

static int cdef_index(enum ocf_alg alg, size_t keylen) {
  if (alg == OCF_ALG_AES_GMAC) alg = OCF_ALG_AES_GCM;
  for (size_t i = 0; i < NCDEFS; i++)
    if (cdefs[i].alg == alg && (cdefs[i].keylen == 0 || cdefs[i].keylen == keylen)) return (int)i;
  return -1;
}

/* The EVP cipher for alg with keylen (GMAC runs on GCM), or NULL.  The
 * caller holds the engine, so the table does not change under it. */
static const EVP_CIPHER *eng_cipher(enum ocf_alg alg, size_t keylen) {
  int i = cdef_index(alg, keylen);
  return i < 0 ? NULL : ciph[i];
}

/* Likewise the provider functions of an AEAD, or NULL (EVP then). */
static const struct pcipher *eng_pcipher(enum ocf_alg alg, size_t keylen) {
  int i = cdef_index(alg, keylen);
  return i < 0 || pciph[i].newctx == NULL ? NULL : &pciph[i];
}

bool ocf_eng_supports(enum ocf_alg alg) {
  if (alg == OCF_ALG_NULL || alg == OCF_ALG_DEFLATE || eng_hash_for(alg) != NULL) return true;
  if (alg == OCF_ALG_AES_GMAC) alg = OCF_ALG_AES_GCM;
  bool any = false, all = true;
  pthread_mutex_lock(&lib_lock);
  /* Not held (a card that only models timing): what the engine implements. */
  bool loaded = lib_users > 0;
  for (size_t i = 0; i < NCDEFS; i++) {
    if (cdefs[i].alg != alg) continue;
    any = true;
    all = all && (!loaded || ciph[i] != NULL);
  }
  pthread_mutex_unlock(&lib_lock);
  return any && all;
}

/* --- pools --------------------------------------------------------------- */

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
    case POOL_PROV:
      return pl->pc->dupctx(pl->ptmpl);
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
    case POOL_PROV:
      pl->pc->freectx(obj); /* the default provider's AEADs cleanse on free */
      break;
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

/* Each thread starts its search at a slot of its own, so that a session used
 * by several threads at once (the framework runs requests in the threads
 * that dispatch them) gives each thread back the context it used last,
 * still in its cache, instead of passing contexts from core to core. */
static unsigned home_slot(void) {
  static atomic_uint next;
  static __thread unsigned home = UINT_MAX;
  if (home == UINT_MAX) {
    unsigned n = atomic_fetch_add_explicit(&next, 1, memory_order_relaxed);
    home = (n % POOL_LINES) * POOL_PER_LINE + (n / POOL_LINES) % POOL_PER_LINE;
  }
  return home;
}

void *eng_pool_get(struct pool *pl) {
  unsigned h = home_slot();
  for (unsigned k = 0; k < POOL_SLOTS; k++) {
    unsigned i = (h + k) % POOL_SLOTS;
    if (atomic_load_explicit(&pl->slot[i].p, memory_order_relaxed) == NULL) continue;
    void *obj = atomic_exchange_explicit(&pl->slot[i].p, NULL, memory_order_acquire);
    if (obj != NULL) return obj;
  }
  return pool_make(pl);
}

void eng_pool_put(struct pool *pl, void *obj) {
  unsigned h = home_slot();
  for (unsigned k = 0; k < POOL_SLOTS; k++) {
    unsigned i = (h + k) % POOL_SLOTS;
    void *expect = NULL;
    if (atomic_load_explicit(&pl->slot[i].p, memory_order_relaxed) != NULL) continue;
    if (atomic_compare_exchange_strong_explicit(&pl->slot[i].p, &expect, obj, memory_order_release,
                                                memory_order_relaxed))
      return;
  }
  pool_destroy(pl, obj);
}

static void pool_fini(struct pool *pl) {
  for (int i = 0; i < POOL_SLOTS; i++)
    pool_destroy(pl, atomic_exchange_explicit(&pl->slot[i].p, NULL, memory_order_acquire));
  if (pl->tmpl != NULL) EVP_CIPHER_CTX_free(pl->tmpl);
  pl->tmpl = NULL;
  if (pl->ptmpl != NULL) pl->pc->freectx(pl->ptmpl);
  pl->ptmpl = NULL;
}

/* --- sessions ----------------------------------------------------------- */

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

/* prov_tmpl keys a provider AEAD context for pool pl; the IV comes with
 * each request (GCM takes its length from it). */
static int prov_tmpl(struct pool *pl, const struct pcipher *pc, int enc, const uint8_t *key,
                     size_t keylen) {
  pl->kind = POOL_PROV;
  pl->pc = pc;
  pl->ptmpl = pc->newctx(pc->provctx);
  if (pl->ptmpl == NULL) return ENOMEM;
  int ok = enc ? pc->einit(pl->ptmpl, key, keylen, NULL, 0, NULL)
               : pc->dinit(pl->ptmpl, key, keylen, NULL, 0, NULL);
  if (!ok) {
    ERR_clear_error();
    return EINVAL;
  }
  return 0;
}

static int hmac_setkey(struct ocf_eng_sess *s, const uint8_t *key, size_t keylen) {
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

void ocf_eng_free(struct ocf_eng_sess *s) {
  if (s == NULL) return;
  bool keyed = s->keyed;
  pool_fini(&s->cenc);
  pool_fini(&s->cdec);
  pool_fini(&s->gmac);
  pool_fini(&s->defl);
  pool_fini(&s->infl);
  OPENSSL_cleanse(s, sizeof(*s));
  free(s);
  if (keyed) ocf_eng_release();
}

/* add_elem records one chain element; with keyed it also builds its keyed
 * state. */
static int add_elem(struct ocf_eng_sess *s, const struct ocf_sessparam *p, bool keyed) {
  const struct ocf_alg_info *ai = ocf_alg_lookup(p->alg);
  if (ai == NULL) return ENOTSUP;
  size_t ivlen = p->ivlen ? p->ivlen : ai->ivlen;
  size_t maclen = p->maclen ? p->maclen : ai->maclen;
  switch (ai->cls) {
    case OCF_CLASS_CIPHER:
    case OCF_CLASS_AEAD: {
      if (s->calg != OCF_ALG_NONE) return EINVAL;
      s->calg = p->alg;
      s->ccls = ai->cls;
      s->civlen = ivlen;
      s->ctaglen = ai->cls == OCF_CLASS_AEAD ? maclen : 0;
      s->cblock = ai->block ? ai->block : 1;
      s->cbc = is_cbc(p->alg);
      if (p->alg == OCF_ALG_NULL || !keyed) return 0;
      const EVP_CIPHER *c = eng_cipher(p->alg, p->keylen);
      if (c == NULL) return ENOTSUP;
      const struct pcipher *pc = eng_pcipher(p->alg, p->keylen);
      if (pc != NULL && (p->alg == OCF_ALG_AES_GCM || ivlen == 12)) {
        int rc = prov_tmpl(&s->cenc, pc, 1, p->key, p->keylen);
        if (rc == 0) rc = prov_tmpl(&s->cdec, pc, 0, p->key, p->keylen);
        s->prov = rc == 0;
        return rc;
      }
      s->cenc.tmpl = make_tmpl(c, p->alg, 1, p->key, p->keylen, ivlen, s->ctaglen);
      s->cdec.tmpl = make_tmpl(c, p->alg, 0, p->key, p->keylen, ivlen, s->ctaglen);
      if (s->cenc.tmpl == NULL || s->cdec.tmpl == NULL) {
        ERR_clear_error();
        return EINVAL; /* e.g. an XTS key whose halves are equal */
      }
      return 0;
    }
    case OCF_CLASS_MAC:
      if (s->malg != OCF_ALG_NONE) return EINVAL;
      s->malg = p->alg;
      s->maclen = maclen;
      if (p->alg == OCF_ALG_AES_GMAC) {
        s->mivlen = ivlen;
        if (!keyed) return 0;
        const EVP_CIPHER *c = eng_cipher(p->alg, p->keylen);
        if (c == NULL) return ENOTSUP;
        s->gmac.tmpl = make_tmpl(c, p->alg, 1, p->key, p->keylen, ivlen, 0);
        if (s->gmac.tmpl == NULL) {
          ERR_clear_error();
          return EINVAL;
        }
        return 0;
      }
      s->hops = eng_hash_for(p->alg);
      if (s->hops == NULL) return ENOTSUP;
      if (s->maclen > s->hops->dlen) return EINVAL;
      if (keyed && eng_is_hmac(p->alg)) return hmac_setkey(s, p->key, p->keylen);
      return 0;
    case OCF_CLASS_COMP:
      if (s->comp) return EINVAL;
      s->comp = true;
      s->defl.level = p->level > 0 && p->level <= 9 ? p->level : Z_DEFAULT_COMPRESSION;
      return 0;
    default:
      return ENOTSUP;
  }
}

static int eng_new(struct ocf_eng_sess **out, const struct ocf_sessparam *chain, bool keyed) {
  if (out == NULL || chain == NULL) return EINVAL;
  int rc = keyed ? ocf_eng_hold() : 0;
  if (rc != 0) return rc;
  /* aligned: the pools' slot lines (struct pool) */
  struct ocf_eng_sess *s = aligned_alloc(_Alignof(struct ocf_eng_sess), sizeof(*s));
  if (s != NULL) memset(s, 0, sizeof(*s));
  if (s == NULL) {
    if (keyed) ocf_eng_release();
    return ENOMEM;
  }
  s->keyed = keyed;
  s->cenc.kind = s->cdec.kind = s->gmac.kind = POOL_CIPHER;
  s->defl.kind = POOL_DEFLATE;
  s->infl.kind = POOL_INFLATE;
  for (const struct ocf_sessparam *p = chain; p != NULL && rc == 0; p = p->next)
    rc = add_elem(s, p, keyed);
  if (rc != 0) {
    ocf_eng_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

int ocf_eng_new(struct ocf_eng_sess **out, const struct ocf_sessparam *chain) {
  return eng_new(out, chain, true);
}

int ocf_eng_new_layout(struct ocf_eng_sess **out, const struct ocf_sessparam *chain) {
  return eng_new(out, chain, false);
}
