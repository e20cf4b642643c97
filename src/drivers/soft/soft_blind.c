/* soft_blind.c - per-key blinding factors for RSA CRT requests (soft_blind.h). */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "drivers/soft/soft_blind.h"

#define BLIND_SLOTS 16

struct slot {
  unsigned char id[32]; /* SHA-256 of p, q, dp, dq */
  int state;            /* 0 empty, 1 blinding in b, 2 no usual exponent fits */
  BN_BLINDING *b;       /* its factors in Montgomery form for mn */
  BN_MONT_CTX *mn;      /* for n: the blinding, the unblinding and the check */
  BN_MONT_CTX *mp, *mq; /* for p and q, as an RSA key object keeps them */
  BIGNUM *e;
  uint64_t used;    /* for eviction: least recently used goes */
  uint64_t last_ns; /* monotonic time of its last use */
};

static pthread_mutex_t blind_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot slots[BLIND_SLOTS];      /* [blind_lock] */
static uint64_t clock_;                     /* [blind_lock] */
static EVP_MD *sha256;                      /* [blind_lock] fetched once, kept */
static uint64_t ttl_ns = SOFT_BLIND_TTL_NS; /* [blind_lock] */

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* key_id hashes the four secret parameters, each with its length, so that
 * no two keys share an id by how their bytes split. */
static int key_id(const EVP_MD *md, const BIGNUM *const v[4], unsigned char id[32]) {
  EVP_MD_CTX *mc = EVP_MD_CTX_new();
  int ok = mc != NULL && EVP_DigestInit_ex(mc, md, NULL);
  unsigned char buf[2048 + 4];
  for (int i = 0; ok && i < 4; i++) {
    int n = BN_num_bytes(v[i]);
    if (n > 2048) {
      ok = 0;
      break;
    }
    buf[0] = (unsigned char)(n >> 24), buf[1] = (unsigned char)(n >> 16);
    buf[2] = (unsigned char)(n >> 8), buf[3] = (unsigned char)n;
    BN_bn2bin(v[i], buf + 4);
    ok = EVP_DigestUpdate(mc, buf, (size_t)n + 4);
  }
  OPENSSL_cleanse(buf, sizeof(buf));
  unsigned int len = 0;
  ok = ok && EVP_DigestFinal_ex(mc, id, &len) && len == 32;
  EVP_MD_CTX_free(mc);
  return ok ? 0 : EIO;
}

/* find_e: the usual exponent e with e * dp = 1 mod p-1 and e * dq = 1 mod
 * q-1, if any (0 when found). */
static int find_e(const BIGNUM *p, const BIGNUM *q, const BIGNUM *dp, const BIGNUM *dq, BIGNUM *e,
                  BN_CTX *ctx) {
  static const unsigned long usual[] = {65537, 3, 5, 17, 257, 7, 11, 35};
  BN_CTX_start(ctx);
  BIGNUM *pm = BN_CTX_get(ctx), *qm = BN_CTX_get(ctx), *t = BN_CTX_get(ctx);
  int rc = ENOENT;
  if (t == NULL || !BN_sub(pm, p, BN_value_one()) || !BN_sub(qm, q, BN_value_one())) {
    rc = ENOMEM;
  } else {
    BN_set_flags(t, BN_FLG_CONSTTIME);
    for (size_t i = 0; i < sizeof(usual) / sizeof(usual[0]) && rc == ENOENT; i++) {
      if (!BN_set_word(e, usual[i])) {
        rc = ENOMEM;
        break;
      }
      if (BN_mod_mul(t, dp, e, pm, ctx) && BN_is_one(t) && BN_mod_mul(t, dq, e, qm, ctx) &&
          BN_is_one(t))
        rc = 0;
    }
  }
  BN_CTX_end(ctx);
  return rc;
}

/* slot_clear wipes a slot: the Montgomery contexts of p and q hold the
 * secret primes (BN_MONT_CTX_free clears its numbers), the id is a hash of
 * the key. */
static void slot_clear(struct slot *s) {
  BN_BLINDING_free(s->b); /* before mn, which it uses */
  BN_MONT_CTX_free(s->mn);
  BN_MONT_CTX_free(s->mp);
  BN_MONT_CTX_free(s->mq);
  BN_clear_free(s->e);
  OPENSSL_cleanse(s, sizeof(*s));
}

/* Keys not used for ttl_ns leave the cache: their clients are gone. */
static void sweep_locked(uint64_t now) {
  for (int i = 0; i < BLIND_SLOTS; i++)
    if (slots[i].state != 0 && now - slots[i].last_ns >= ttl_ns) slot_clear(&slots[i]);
}

void soft_blind_flush(void) {
  pthread_mutex_lock(&blind_lock);
  for (int i = 0; i < BLIND_SLOTS; i++) slot_clear(&slots[i]);
  pthread_mutex_unlock(&blind_lock);
}

int soft_blind_cached(void) {
  int n = 0;
  pthread_mutex_lock(&blind_lock);
  sweep_locked(mono_ns());
  for (int i = 0; i < BLIND_SLOTS; i++) n += slots[i].state != 0;
  pthread_mutex_unlock(&blind_lock);
  return n;
}

void soft_blind_set_ttl(uint64_t ns) {
  pthread_mutex_lock(&blind_lock);
  ttl_ns = ns;
  pthread_mutex_unlock(&blind_lock);
}

/* slot_get returns the slot of key id, filled, or NULL with *rc set. */
static struct slot *slot_get(const unsigned char id[32], const BIGNUM *p, const BIGNUM *q,
                             const BIGNUM *dp, const BIGNUM *dq, const BIGNUM *n, BN_CTX *ctx,
                             int *rc) {
  struct slot *old = &slots[0];
  for (int i = 0; i < BLIND_SLOTS; i++) {
    if (slots[i].state != 0 && memcmp(slots[i].id, id, 32) == 0) return &slots[i];
    if (slots[i].used < old->used) old = &slots[i]; /* empty slots have used 0 */
  }
  slot_clear(old);
  BIGNUM *e = BN_new();
  BIGNUM *m = BN_dup(n);
  if (e == NULL || m == NULL) {
    BN_free(e);
    BN_free(m);
    *rc = ENOMEM;
    return NULL;
  }
  memcpy(old->id, id, 32);
  old->mp = BN_MONT_CTX_new();
  old->mq = BN_MONT_CTX_new();
  if (old->mp == NULL || old->mq == NULL || !BN_MONT_CTX_set(old->mp, p, ctx) ||
      !BN_MONT_CTX_set(old->mq, q, ctx)) {
    BN_free(e);
    BN_free(m);
    slot_clear(old);
    *rc = ENOMEM;
    return NULL;
  }
  *rc = find_e(p, q, dp, dq, e, ctx);
  if (*rc == ENOENT) {
    old->state = 2;
    BN_free(e);
    BN_free(m);
    return old;
  }
  if (*rc == 0) {
    old->mn = BN_MONT_CTX_new();
    if (old->mn == NULL || !BN_MONT_CTX_set(old->mn, n, ctx))
      *rc = EIO;
    else if ((old->b = BN_BLINDING_create_param(NULL, e, m, ctx, BN_mod_exp_mont, old->mn)) == NULL)
      *rc = EIO;
  }
  BN_free(m); /* the blinding keeps its own copy */
  if (*rc != 0) {
    BN_free(e);
    slot_clear(old);
    return NULL;
  }
  old->e = e;
  old->state = 1;
  return old;
}

int soft_blind_in(OSSL_LIB_CTX *libctx, const BIGNUM *p, const BIGNUM *q, const BIGNUM *dp,
                  const BIGNUM *dq, const BIGNUM *n, BIGNUM *xb, BIGNUM *e, BIGNUM *unblind,
                  BN_MONT_CTX *mn, BN_MONT_CTX *mp, BN_MONT_CTX *mq, BN_CTX *ctx) {
  const BIGNUM *v[4] = {p, q, dp, dq};
  unsigned char id[32];
  pthread_mutex_lock(&blind_lock);
  if (sha256 == NULL) sha256 = EVP_MD_fetch(libctx, "SHA256", NULL);
  EVP_MD *md = sha256;
  pthread_mutex_unlock(&blind_lock);
  int rc = md != NULL ? key_id(md, v, id) : EIO;
  if (rc != 0) return rc;
  pthread_mutex_lock(&blind_lock);
  uint64_t now = mono_ns();
  sweep_locked(now);
  struct slot *s = slot_get(id, p, q, dp, dq, n, ctx, &rc);
  if (s != NULL) {
    s->used = ++clock_;
    s->last_ns = now;
    if (!BN_MONT_CTX_copy(mp, s->mp) || !BN_MONT_CTX_copy(mq, s->mq))
      rc = ENOMEM;
    else if (s->state == 2)
      rc = ENOENT;
    else if (!BN_copy(e, s->e) || !BN_MONT_CTX_copy(mn, s->mn) ||
             !BN_BLINDING_convert_ex(xb, unblind, s->b, ctx))
      rc = EIO;
    else
      rc = 0;
  }
  pthread_mutex_unlock(&blind_lock);
  OPENSSL_cleanse(id, sizeof(id));
  return rc;
}
