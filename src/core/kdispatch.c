/* kdispatch.c - the public-key request path: no session; each request goes
 * to the capable producer with the least work in flight. */
#include <errno.h>
#include <ocf/pk.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

void dispatch_kqueue(struct ocf_kreq *k);
void dispatch_kdeliver(struct ocf_kreq *k);
void dispatch_kheld(struct drv *d, struct ocf_kreq *k, unsigned gen);
void dispatch_kinline(struct ocf_kreq *k);

static void kfinish(struct ocf_kreq *k) {
  uint32_t st = __atomic_exchange_n(&k->state_, RS_DONE, __ATOMIC_ACQ_REL);
  if (st != RS_QUEUED) {
    ocf_log(0, "public-key request %p completed twice or never dispatched", (void *)k);
    abort();
  }
  struct drv *d = k->drv_;
  if (d != NULL) {
    k->hid = d->hid;
    atomic_fetch_add_explicit(&d->n_kreq, 1, memory_order_relaxed);
    if (k->error) atomic_fetch_add_explicit(&d->n_err, 1, memory_order_relaxed);
    bool det = atomic_load(&d->detached);
    if (atomic_fetch_sub(&d->kinflight, 1) == 1 && det) registry_drained();
    drv_put(d);
    k->drv_ = NULL;
  }
  dispatch_kdeliver(k);
}

void ocf_kdone(struct ocf_kreq *k) {
  if (k == NULL) return;
  if (k->error == OCF_ELOST && k->drv_ != NULL) {
    /* The device lost it: run it again elsewhere (no session to migrate). */
    struct drv *d = k->drv_;
    if (!atomic_load(&d->detached)) ocf_driver_detach(d->hid);
    k->error = 0;
    dispatch_kqueue(k); /* kdispatch_run sees the detached producer and re-picks */
    return;
  }
  kfinish(k);
}

void kcomplete(struct ocf_kreq *k, int error) {
  k->error = error;
  kfinish(k);
}

/* Picks a producer and counts the request in; NULL if none can serve. */
static struct drv *kbind(struct ocf_kreq *k, bool *too_big) {
  for (int tries = 0; tries < 8; tries++) {
    struct drv *d = balance_kpick(k, too_big);
    if (d == NULL) return NULL;
    atomic_fetch_add(&d->kinflight, 1);
    if (!atomic_load(&d->detached) && atomic_load(&d->khas[k->op])) return d;
    bool det = atomic_load(&d->detached);
    if (atomic_fetch_sub(&d->kinflight, 1) == 1 && det) registry_drained();
    drv_put(d);
  }
  return NULL;
}

/* Hands k to its producer; called from a worker or the dispatching thread. */
void kdispatch_run(struct ocf_kreq *k) {
  struct drv *d = k->drv_;
  if (atomic_load(&d->detached)) {
    /* Its producer went away before it got there: choose again. */
    bool det = true;
    if (atomic_fetch_sub(&d->kinflight, 1) == 1 && det) registry_drained();
    drv_put(d);
    k->drv_ = d = kbind(k, NULL);
    if (d == NULL) {
      kcomplete(k, ocf_seterr(ENODEV, "no producer left for public-key operation %d", k->op));
      return;
    }
    if (d->flags & OCF_DRV_SYNC) {
      dispatch_kqueue(k);
      return;
    }
  }
  unsigned gen = atomic_load(&d->unblock_gen);
  int rc = d->ops.kprocess(d->softc, k);
  if (rc == OCF_EBUSY_DRV)
    dispatch_kheld(d, k, gen);
  else if (rc != 0)
    kcomplete(k, rc);
}

int ocf_kdispatch(struct ocf_kreq *k) {
  if (k == NULL || k->callback == NULL)
    return ocf_seterr(EINVAL, "ocf_kdispatch: NULL request or callback");
  if (!ocf_running()) return ocf_seterr(ECANCELED, "ocf_kdispatch: framework not running");
  if ((unsigned)k->op >= OCF_KOP__MAX)
    return ocf_seterr(ENOTSUP, "unknown public-key operation %d", (int)k->op);
  if (k->iparams < 0 || k->oparams < 0 || k->iparams + k->oparams > OCF_KMAX_PARAM)
    return ocf_seterr(EINVAL, "public-key request with %d inputs and %d outputs (max %d)",
                      k->iparams, k->oparams, OCF_KMAX_PARAM);
  for (int i = 0; i < k->iparams + k->oparams; i++)
    if (k->param[i].p == NULL && k->param[i].nbits != 0)
      return ocf_seterr(EINVAL, "public-key parameter %d has no storage", i);
  if (__atomic_load_n(&k->state_, __ATOMIC_ACQUIRE) == RS_QUEUED)
    return ocf_seterr(EINVAL, "public-key request already in flight");
  int rc = kvalidate(k);
  if (rc != 0) return rc;
  bool too_big;
  struct drv *d = kbind(k, &too_big);
  if (d == NULL && too_big)
    return ocf_seterr(
        EMSGSIZE, "public-key operation %d: operands larger than any producer accepts", (int)k->op);
  if (d == NULL)
    return ocf_seterr(ENODEV, "no producer serves public-key operation %d", (int)k->op);
  k->drv_ = d;
  k->error = 0;
  k->status = 0;
  k->hid = 0;
  __atomic_store_n(&k->state_, RS_QUEUED, __ATOMIC_RELEASE);
  if (!(d->flags & OCF_DRV_SYNC))
    kdispatch_run(k);
  else if (k->flags & OCF_REQ_INLINE)
    dispatch_kinline(k);
  else
    dispatch_kqueue(k);
  return 0;
}

struct kwaiter {
  pthread_mutex_t m;
  pthread_cond_t c;
  int done;
  char why[200]; /* the producer's explanation of a failure (ocf_kexplain) */
};

static void krun_cb(struct ocf_kreq *k) {
  struct kwaiter *w = k->opaque;
  pthread_mutex_lock(&w->m);
  w->done = 1;
  pthread_cond_signal(&w->c);
  pthread_mutex_unlock(&w->m);
}

void ocf_kexplain(struct ocf_kreq *k, const char *fmt, ...) {
  char buf[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  ocf_log(3, "public-key request %p: %s", (void *)k, buf);
  /* The waiter lives until the callback has run, which is after this. */
  if (k != NULL && k->callback == krun_cb) {
    struct kwaiter *w = k->opaque;
    memcpy(w->why, buf, sizeof(w->why));
  }
}

int ocf_krun(struct ocf_kreq *k) {
  if (k == NULL) return ocf_seterr(EINVAL, "ocf_krun: NULL request");
  struct kwaiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, ""};
  ocf_kcb cb = k->callback;
  void *op = k->opaque;
  unsigned flags = k->flags;
  k->callback = krun_cb;
  k->opaque = &w;
  /* A software producer runs it right here: the caller waits anyway. */
  k->flags = (flags & ~OCF_REQ_CBIMM) | OCF_REQ_INLINE;
  int rc = ocf_kdispatch(k);
  if (rc == 0) {
    pthread_mutex_lock(&w.m);
    while (!w.done) pthread_cond_wait(&w.c, &w.m);
    pthread_mutex_unlock(&w.m);
    rc = k->error;
    /* the failure the caller asks ocf_errdetail() about is this one */
    if (rc != 0) {
      const char *name = ocf_kop_name(k->op);
      if (w.why[0] != '\0')
        ocf_seterr(rc, "%s: %s", name ? name : "public-key operation", w.why);
      else
        ocf_seterr(rc, "%s failed on producer %u: %s", name ? name : "public-key operation", k->hid,
                   ocf_strerror(rc));
    }
  }
  k->callback = cb;
  k->opaque = op;
  k->flags = flags;
  pthread_mutex_destroy(&w.m);
  pthread_cond_destroy(&w.c);
  return rc;
}
