/*
 * sessx.c - per-session services the framework keeps for producers, so that
 * they survive migration from one producer to another:
 *  - the running state of a streamed digest (ocf.h OCF_D_UPDATE), with the
 *    rule that one part of a session is in flight at a time;
 *  - the invocation counter of generated AEAD nonces (ocf.h
 *    OCF_D_IV_PRESENT), so that a nonce never repeats under a session's key.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "core/sessx.h"

/* struct sess_x - what a session keeps beyond its parameters.
 * Locking: [A] atomic; [S] owned by the holder of the stream token (busy);
 * [I] immutable after sessx_init. */
struct sess_x {
  atomic_int busy;             /* [A] a streamed part is in flight */
  struct ocf_stream cur, next; /* [S] */
  bool has_stream;             /* [I] the session has a hash or HMAC */
  size_t nlen;                 /* [I] AEAD nonce length (0: no AEAD) */
  size_t clen;                 /* [I] counter bytes at the nonce's end */
  uint8_t fixed[OCF_MAX_IV];   /* [I] random fixed field, nlen - clen bytes */
  _Atomic uint64_t ctr;        /* [A] next invocation number */
  _Atomic uint64_t ctr_max;    /* [A] numbers below it may be used */
};

static bool nonce_alg(enum ocf_alg alg) {
  return alg == OCF_ALG_AES_GCM || alg == OCF_ALG_AES_CCM || alg == OCF_ALG_CHACHA20_POLY1305;
}

static bool stream_alg(enum ocf_alg alg) {
  const struct ocf_alg_info *ai = ocf_alg_lookup(alg);
  return ai != NULL && ai->cls == OCF_CLASS_MAC && alg != OCF_ALG_AES_GMAC;
}

int sessx_init(struct sess *s) {
  struct sess_x x = {0};
  for (int i = 0; i < s->nparam; i++) {
    if (stream_alg(s->param[i].alg)) x.has_stream = true;
    if (nonce_alg(s->param[i].alg) && s->ivlen[i] >= OCF_NONCE_MIN && s->ivlen[i] <= OCF_MAX_IV) {
      x.nlen = s->ivlen[i];
      x.clen = x.nlen - 4 < 8 ? x.nlen - 4 : 8;
      x.ctr_max = x.clen >= 8 ? UINT64_MAX : (uint64_t)1 << (8 * x.clen);
    }
  }
  if (!x.has_stream && x.nlen == 0) return 0;
  if (x.nlen > 0) {
    int rc = ocf_random(x.fixed, x.nlen - x.clen);
    if (rc != 0) return rc;
  }
  s->x = malloc(sizeof(*s->x));
  if (s->x == NULL) return ENOMEM;
  memcpy(s->x, &x, sizeof(x));
  ocf_wipe(&x, sizeof(x));
  return 0;
}

void sessx_free(struct sess *s) {
  if (s->x == NULL) return;
  ocf_wipe(s->x, sizeof(*s->x));
  free(s->x);
  s->x = NULL;
}

static bool is_part(const struct ocf_req *req) {
  return req->ndesc == 1 && (req->desc[0].flags & (OCF_D_UPDATE | OCF_D_FINAL)) != 0;
}

int sessx_admit(const struct sess *s, const struct ocf_req *req) {
  if (!is_part(req)) return 0;
  if (s->x == NULL || !s->x->has_stream)
    return ocf_seterr(EINVAL, "streamed digest part on a session without a hash or HMAC");
  int idle = 0;
  if (!atomic_compare_exchange_strong_explicit(&s->x->busy, &idle, 1, memory_order_acquire,
                                               memory_order_relaxed))
    return ocf_seterr(EBUSY, "a part of this session's streamed digest is still in flight");
  s->x->next.fmt = 0;
  return 0;
}

void sessx_done(struct sess *s, const struct ocf_req *req) {
  if (s->x == NULL || !is_part(req)) return;
  struct sess_x *x = s->x;
  if (req->error == 0) {
    if (req->desc[0].flags & OCF_D_FINAL)
      ocf_wipe(&x->cur, sizeof(x->cur));
    else
      memcpy(&x->cur, &x->next, sizeof(x->cur));
  }
  ocf_wipe(&x->next, sizeof(x->next));
  atomic_store_explicit(&x->busy, 0, memory_order_release);
}

int ocf_req_stream(const struct ocf_req *req, const struct ocf_stream **cur,
                   struct ocf_stream **next) {
  static const struct ocf_stream empty;
  const struct sess *s = req != NULL ? req->sess_ : NULL;
  if (s == NULL || s->x == NULL || !is_part(req) || cur == NULL || next == NULL) return EINVAL;
  *cur = (req->desc[0].flags & OCF_D_RESET) ? &empty : &s->x->cur;
  *next = &s->x->next;
  return 0;
}

int ocf_req_nonce(const struct ocf_req *req, uint8_t *nonce, size_t len) {
  const struct sess *s = req != NULL ? req->sess_ : NULL;
  if (s == NULL || s->x == NULL || s->x->nlen == 0 || len != s->x->nlen) return EINVAL;
  struct sess_x *x = s->x;
  uint64_t n = atomic_load_explicit(&x->ctr, memory_order_relaxed);
  do {
    if (n >= atomic_load_explicit(&x->ctr_max, memory_order_relaxed)) return EOVERFLOW;
  } while (!atomic_compare_exchange_weak_explicit(&x->ctr, &n, n + 1, memory_order_relaxed,
                                                  memory_order_relaxed));
  size_t flen = len - x->clen;
  memcpy(nonce, x->fixed, flen);
  for (size_t i = 0; i < x->clen; i++) nonce[len - 1 - i] = (uint8_t)(n >> (8 * i));
  return 0;
}

/* same_stream: both sessions digest with the same algorithm and key, so
 * that one's running state means the same in the other. */
static bool same_stream(const struct sess *a, const struct sess *b) {
  const struct ocf_sessparam *pa = NULL, *pb = NULL;
  for (int i = 0; i < a->nparam; i++)
    if (stream_alg(a->param[i].alg)) pa = &a->param[i];
  for (int i = 0; i < b->nparam; i++)
    if (stream_alg(b->param[i].alg)) pb = &b->param[i];
  return pa != NULL && pb != NULL && pa->alg == pb->alg && pa->keylen == pb->keylen &&
         (pa->keylen == 0 || CRYPTO_memcmp(pa->key, pb->key, pa->keylen) == 0);
}

static bool take(struct sess_x *x) {
  int idle = 0;
  return atomic_compare_exchange_strong_explicit(&x->busy, &idle, 1, memory_order_acquire,
                                                 memory_order_relaxed);
}

int ocf_stream_copy(ocf_sid_t dst, ocf_sid_t src) {
  sess_table_rdlock();
  struct sess *d = sess_lookup_locked(dst), *s = sess_lookup_locked(src);
  int rc = 0;
  if (d == NULL || s == NULL)
    rc = ocf_seterr(ENOENT, "ocf_stream_copy: no session %#llx",
                    (unsigned long long)(d == NULL ? dst : src));
  else if (d == s)
    rc = ocf_seterr(EINVAL, "ocf_stream_copy: a session onto itself");
  else if (d->x == NULL || s->x == NULL || !same_stream(d, s))
    rc = ocf_seterr(EINVAL, "ocf_stream_copy: not the same hash or HMAC (and key)");
  else if (!take(s->x))
    rc = ocf_seterr(EBUSY, "ocf_stream_copy: a part of the source is in flight");
  else if (!take(d->x)) {
    atomic_store_explicit(&s->x->busy, 0, memory_order_release);
    rc = ocf_seterr(EBUSY, "ocf_stream_copy: a part of the destination is in flight");
  } else {
    memcpy(&d->x->cur, &s->x->cur, sizeof(d->x->cur));
    atomic_store_explicit(&d->x->busy, 0, memory_order_release);
    atomic_store_explicit(&s->x->busy, 0, memory_order_release);
  }
  sess_table_unlock();
  return rc;
}

int ocf_test_nonce_limit(ocf_sid_t sid, uint64_t left) {
  sess_table_rdlock();
  struct sess *s = sess_lookup_locked(sid);
  int rc = 0;
  if (s == NULL || s->x == NULL || s->x->nlen == 0) {
    rc = ENOENT;
  } else {
    uint64_t n = atomic_load(&s->x->ctr), max = atomic_load(&s->x->ctr_max);
    if (left < max - n) atomic_store(&s->x->ctr_max, n + left);
  }
  sess_table_unlock();
  return rc;
}
