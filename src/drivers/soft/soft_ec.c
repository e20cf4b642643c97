/* soft_ec.c - EC keys and the per-thread cache of ECDSA contexts and
 * Ed25519 keys (soft_ec.h).
 *
 * The cache is per thread so that a context is never shared (an
 * EVP_PKEY_CTX is not safe to use from two threads) and a lookup takes no
 * lock.  Keys are compared in constant time.  A private scalar stays in
 * memory after its request for as long as its slot lives: until SOFT_EC_SLOTS
 * other keys have been used on this thread, or the thread ends (the
 * framework's workers end at ocf_shutdown); it is wiped then. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include "drivers/soft/soft_ec.h"

EVP_PKEY *soft_ec_key(OSSL_LIB_CTX *lc, const char *group, const BIGNUM *d, const uint8_t *pub,
                      size_t publen) {
  OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM *params = NULL;
  EVP_PKEY_CTX *pc = NULL;
  EVP_PKEY *pkey = NULL;
  if (bld == NULL || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
      (d != NULL && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d)) ||
      (pub != NULL && !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, publen)))
    goto out;
  params = OSSL_PARAM_BLD_to_param(bld);
  pc = EVP_PKEY_CTX_new_from_name(lc, "EC", NULL);
  if (params == NULL || pc == NULL || EVP_PKEY_fromdata_init(pc) <= 0 ||
      EVP_PKEY_fromdata(pc, &pkey, d != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) <= 0)
    pkey = NULL;
out:
  EVP_PKEY_CTX_free(pc);
  OSSL_PARAM_free(params); /* the secure part (a BN_FLG_SECURE scalar) is cleared */
  OSSL_PARAM_BLD_free(bld);
  ERR_clear_error();
  return pkey;
}

#define KEY_MAX (1 + 2 * 66) /* the longest uncompressed point (P-521) */

enum use { USE_SIGN, USE_VERIFY, USE_KEY };

struct slot {
  const char *group; /* NULL: empty */
  enum use use;      /* what ctx was initialised for (USE_KEY: nothing) */
  size_t keylen;
  uint8_t key[KEY_MAX];
  OSSL_LIB_CTX *lc;
  EVP_PKEY_CTX *ctx;
  uint64_t used;
};

struct cache {
  struct slot s[SOFT_EC_SLOTS];
  uint64_t tick;
  EVP_PKEY_CTX *ecx[2]; /* import X25519 and Ed25519 keys (soft_ecx_key) */
};

static pthread_key_t tls;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static bool tls_ok;
static atomic_ulong hits;

static void slot_clear(struct slot *s) {
  EVP_PKEY_CTX_free(s->ctx); /* and its key, whose scalar OpenSSL clears */
  OPENSSL_cleanse(s->key, sizeof(s->key));
  memset(s, 0, sizeof(*s));
}

static void cache_free(void *arg) {
  struct cache *c = arg;
  for (int i = 0; i < SOFT_EC_SLOTS; i++) slot_clear(&c->s[i]);
  EVP_PKEY_CTX_free(c->ecx[0]);
  EVP_PKEY_CTX_free(c->ecx[1]);
  free(c);
}

static void tls_init(void) { tls_ok = pthread_key_create(&tls, cache_free) == 0; }

static struct cache *cache_get(void) {
  pthread_once(&tls_once, tls_init);
  if (!tls_ok) return NULL;
  struct cache *c = pthread_getspecific(tls);
  if (c == NULL && (c = calloc(1, sizeof(*c))) != NULL && pthread_setspecific(tls, c) != 0) {
    free(c);
    c = NULL;
  }
  return c;
}

/* lookup: the slot holding (group, use, key) in c, or the one to reuse
 * (empty, else least recently used) with *hit false. */
static struct slot *lookup(struct cache *c, OSSL_LIB_CTX *lc, const char *group, enum use use,
                           const uint8_t *key, size_t keylen, bool *hit) {
  struct slot *victim = &c->s[0];
  for (int i = 0; i < SOFT_EC_SLOTS; i++) {
    struct slot *s = &c->s[i];
    if (s->group == group && s->use == use && s->lc == lc && s->keylen == keylen &&
        CRYPTO_memcmp(s->key, key, keylen) == 0) {
      *hit = true;
      return s;
    }
    if (victim->group != NULL && (s->group == NULL || s->used < victim->used)) victim = s;
  }
  *hit = false;
  return victim;
}

/* get: the cached context for the key, or a new one from mk (which builds
 * the EVP_PKEY) put in a slot; uncached when the thread has no cache. */
static EVP_PKEY_CTX *get(OSSL_LIB_CTX *lc, const char *group, enum use use, const uint8_t *key,
                         size_t keylen, EVP_PKEY *(*mk)(const void *), const void *arg,
                         bool *refused) {
  *refused = false;
  struct cache *c = keylen <= KEY_MAX ? cache_get() : NULL;
  if (c == NULL) return NULL;
  bool hit;
  struct slot *s = lookup(c, lc, group, use, key, keylen, &hit);
  s->used = ++c->tick;
  if (hit) {
    atomic_fetch_add_explicit(&hits, 1, memory_order_relaxed);
    return s->ctx;
  }
  slot_clear(s);
  EVP_PKEY *pkey = mk(arg);
  if (pkey == NULL) {
    *refused = true;
    return NULL;
  }
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(lc, pkey, NULL);
  EVP_PKEY_free(pkey); /* the context holds its own reference */
  if (ctx == NULL || (use == USE_SIGN && EVP_PKEY_sign_init(ctx) <= 0) ||
      (use == USE_VERIFY && EVP_PKEY_verify_init(ctx) <= 0)) {
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return NULL;
  }
  s->group = group;
  s->use = use;
  s->lc = lc;
  s->keylen = keylen;
  memcpy(s->key, key, keylen);
  s->ctx = ctx;
  s->used = c->tick;
  return ctx;
}

struct mkarg {
  OSSL_LIB_CTX *lc;
  const char *group;
  const BIGNUM *d;
  const uint8_t *pub;
  size_t publen;
};

static EVP_PKEY *mk(const void *arg) {
  const struct mkarg *a = arg;
  return soft_ec_key(a->lc, a->group, a->d, a->pub, a->publen);
}

EVP_PKEY_CTX *soft_ec_sign_ctx(OSSL_LIB_CTX *lc, const char *group, size_t bytes, const BIGNUM *d,
                               bool *refused) {
  uint8_t key[KEY_MAX];
  *refused = false;
  if (bytes > KEY_MAX || BN_bn2binpad(d, key, (int)bytes) < 0) return NULL;
  struct mkarg a = {lc, group, d, NULL, 0};
  EVP_PKEY_CTX *ctx = get(lc, group, USE_SIGN, key, bytes, mk, &a, refused);
  OPENSSL_cleanse(key, sizeof(key));
  return ctx;
}

EVP_PKEY_CTX *soft_ec_verify_ctx(OSSL_LIB_CTX *lc, const char *group, const uint8_t *pub,
                                 size_t publen, bool *refused) {
  struct mkarg a = {lc, group, NULL, pub, publen};
  return get(lc, group, USE_VERIFY, pub, publen, mk, &a, refused);
}

static const char ed25519[] = "ED25519";

struct edarg {
  OSSL_LIB_CTX *lc;
  const uint8_t *seed;
};

static EVP_PKEY *mk_ed(const void *arg) {
  const struct edarg *a = arg;
  EVP_PKEY *k = EVP_PKEY_new_raw_private_key_ex(a->lc, ed25519, NULL, a->seed, 32);
  ERR_clear_error();
  return k;
}

EVP_PKEY *soft_ed25519_key(OSSL_LIB_CTX *lc, const uint8_t seed[32], bool *refused) {
  struct edarg a = {lc, seed};
  EVP_PKEY_CTX *ctx = get(lc, ed25519, USE_KEY, seed, 32, mk_ed, &a, refused);
  return ctx != NULL ? EVP_PKEY_CTX_get0_pkey(ctx) : NULL;
}

EVP_PKEY *soft_ecx_key(OSSL_LIB_CTX *lc, enum soft_ecx kind, const uint8_t *priv,
                       const uint8_t pub[32]) {
  static const char *const names[2] = {"X25519", "ED25519"};
  struct cache *c = cache_get();
  EVP_PKEY_CTX **slot = c != NULL ? &c->ecx[kind == SOFT_ED25519] : NULL;
  EVP_PKEY_CTX *pc = slot != NULL ? *slot : NULL;
  if (pc != NULL && EVP_PKEY_CTX_get0_libctx(pc) != lc) {
    EVP_PKEY_CTX_free(pc);
    pc = *slot = NULL;
  }
  if (pc == NULL &&
      (pc = EVP_PKEY_CTX_new_from_name(lc, names[kind == SOFT_ED25519], NULL)) != NULL &&
      slot != NULL)
    *slot = pc;
  OSSL_PARAM ps[3], *p = ps;
  if (priv != NULL)
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, (void *)priv, 32);
  *p++ = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pub, 32);
  *p = OSSL_PARAM_construct_end();
  EVP_PKEY *k = NULL;
  if (pc == NULL || EVP_PKEY_fromdata_init(pc) <= 0 ||
      EVP_PKEY_fromdata(pc, &k, priv != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, ps) <= 0)
    k = NULL;
  if (slot == NULL || pc != *slot) EVP_PKEY_CTX_free(pc);
  ERR_clear_error();
  return k;
}

void soft_ec_forget(EVP_PKEY_CTX *ctx) {
  struct cache *c = tls_ok ? pthread_getspecific(tls) : NULL;
  for (int i = 0; c != NULL && i < SOFT_EC_SLOTS; i++)
    if (c->s[i].ctx == ctx) slot_clear(&c->s[i]);
}

uint64_t soft_ec_hits(void) { return atomic_load_explicit(&hits, memory_order_relaxed); }
