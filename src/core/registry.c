/* registry.c - the producer table: ocf_get_driverid, ocf_(k)register,
 * ocf_unregister(_all), ocf_unblock. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct drv *drivers[OCF_MAX_DRIVERS]; /* [reg_lock] attached producers */
static uint32_t next_hid = 1;                /* [reg_lock] ids are never reused */
/* unregister_all waits here for a detached producer's requests to drain */
static pthread_cond_t drain_cv = PTHREAD_COND_INITIALIZER;

struct drv *drv_get(uint32_t hid) {
  struct drv *d = NULL;
  pthread_mutex_lock(&reg_lock);
  for (int i = 0; i < OCF_MAX_DRIVERS; i++)
    if (drivers[i] != NULL && drivers[i]->hid == hid) {
      d = drivers[i];
      atomic_fetch_add(&d->refs, 1);
      break;
    }
  pthread_mutex_unlock(&reg_lock);
  return d;
}

void drv_put(struct drv *d) {
  if (d != NULL && atomic_fetch_sub(&d->refs, 1) == 1) {
    meas_free(d);
    pthread_mutex_destroy(&d->hold_lock);
    free(d);
  }
}

int drv_snapshot(struct drv **out, int max) {
  int n = 0;
  pthread_mutex_lock(&reg_lock);
  for (int i = 0; i < OCF_MAX_DRIVERS && n < max; i++)
    if (drivers[i] != NULL && !atomic_load(&drivers[i]->detached)) {
      atomic_fetch_add(&drivers[i]->refs, 1);
      out[n++] = drivers[i];
    }
  pthread_mutex_unlock(&reg_lock);
  return n;
}

bool drv_serves_chain(struct drv *d, const struct sess *s) {
  if (atomic_load_explicit(&d->detached, memory_order_acquire)) return false;
  for (int i = 0; i < s->nparam; i++)
    if (!atomic_load_explicit(&d->has[s->param[i].alg], memory_order_relaxed)) return false;
  return true;
}

int ocf_get_driverid(const char *name, unsigned flags, const struct ocf_driver_ops *ops,
                     void *softc, uint32_t *hid) {
  if (name == NULL || ops == NULL || hid == NULL || strlen(name) == 0 || strlen(name) > 31)
    return ocf_seterr(EINVAL, "ocf_get_driverid: name must be 1..31 characters, ops and hid set");
  if ((flags & (OCF_DRV_HARDWARE | OCF_DRV_SOFTWARE)) == 0 ||
      (flags & (OCF_DRV_HARDWARE | OCF_DRV_SOFTWARE)) == (OCF_DRV_HARDWARE | OCF_DRV_SOFTWARE))
    return ocf_seterr(EINVAL, "ocf_get_driverid: exactly one of HARDWARE or SOFTWARE");
  if (ops->process == NULL || ops->newsession == NULL || ops->freesession == NULL)
    return ocf_seterr(EINVAL, "ocf_get_driverid: newsession, freesession, process are required");
  struct drv *d = calloc(1, sizeof(*d));
  if (d == NULL) return ENOMEM;
  strcpy(d->name, name);
  d->flags = flags;
  d->ops = *ops;
  d->softc = softc;
  atomic_init(&d->refs, 1);
  pthread_mutex_init(&d->hold_lock, NULL);
  d->held_tail = &d->held;
  pthread_mutex_lock(&reg_lock);
  int slot = -1;
  for (int i = 0; i < OCF_MAX_DRIVERS; i++)
    if (drivers[i] == NULL) {
      slot = i;
      break;
    }
  if (slot < 0) {
    pthread_mutex_unlock(&reg_lock);
    free(d);
    return ocf_seterr(ENOSPC, "ocf_get_driverid: %d producers already registered", OCF_MAX_DRIVERS);
  }
  d->hid = next_hid++;
  drivers[slot] = d;
  pthread_mutex_unlock(&reg_lock);
  atomic_fetch_add(&reg_gen, 1);
  *hid = d->hid;
  ocf_log(2, "producer %s registered as %u", name, d->hid);
  return 0;
}

int ocf_register(uint32_t hid, enum ocf_alg alg, size_t maxlen, unsigned flags) {
  if (ocf_alg_lookup(alg) == NULL)
    return ocf_seterr(ENOTSUP, "ocf_register: unknown algorithm %d", alg);
  if (flags & ~OCF_ALGF_NOSELFTEST)
    return ocf_seterr(EINVAL, "ocf_register: unknown flags %#x", flags);
  struct drv *d = drv_get(hid);
  if (d == NULL) return ocf_seterr(ENOENT, "ocf_register: no producer %u", hid);
  if (!(flags & OCF_ALGF_NOSELFTEST)) {
    int rc = selftest_run(d, alg);
    if (rc != 0) {
      atomic_store(&d->failed[alg], 1);
      ocf_log(0, "%s", ocf_errdetail());
      drv_put(d);
      return rc;
    }
  }
  atomic_store(&d->failed[alg], 0);
  pthread_mutex_lock(&reg_lock);
  d->maxlen[alg] = maxlen;
  pthread_mutex_unlock(&reg_lock);
  atomic_store(&d->has[alg], 1);
  atomic_fetch_add(&reg_gen, 1);
  drv_put(d);
  return 0;
}

int ocf_kregister(uint32_t hid, enum ocf_kop op, size_t max_bits, unsigned flags) {
  if ((unsigned)op >= OCF_KOP__MAX)
    return ocf_seterr(ENOTSUP, "ocf_kregister: unknown operation %d", op);
  struct drv *d = drv_get(hid);
  if (d == NULL) return ocf_seterr(ENOENT, "ocf_kregister: no producer %u", hid);
  if (d->ops.kprocess == NULL) {
    drv_put(d);
    return ocf_seterr(EINVAL, "ocf_kregister: producer %s has no kprocess", d->name);
  }
  pthread_mutex_lock(&reg_lock);
  d->kmax_bits[op] = max_bits;
  pthread_mutex_unlock(&reg_lock);
  atomic_store(&d->khas[op], 1);
  drv_put(d);
  return 0;
}

int ocf_set_rate(uint32_t hid, enum ocf_alg alg, double bytes_per_s, double ns_per_req) {
  if (ocf_alg_lookup(alg) == NULL)
    return ocf_seterr(ENOTSUP, "ocf_set_rate: unknown algorithm %d", alg);
  if (!(bytes_per_s >= 0) || !(ns_per_req >= 0))
    return ocf_seterr(EINVAL, "ocf_set_rate: rates must be >= 0");
  struct drv *d = drv_get(hid);
  if (d == NULL) return ocf_seterr(ENOENT, "ocf_set_rate: no producer %u", hid);
  atomic_store(&d->rate_bps[alg], bytes_per_s);
  atomic_store(&d->rate_ns[alg], ns_per_req);
  drv_put(d);
  return 0;
}

int ocf_kset_rate(uint32_t hid, enum ocf_kop op, size_t bits, double ops_per_s) {
  if ((unsigned)op >= OCF_KOP__MAX)
    return ocf_seterr(ENOTSUP, "ocf_kset_rate: unknown operation %d", op);
  if (!(ops_per_s >= 0) || bits == 0) return ocf_seterr(EINVAL, "ocf_kset_rate: bad rate");
  struct drv *d = drv_get(hid);
  if (d == NULL) return ocf_seterr(ENOENT, "ocf_kset_rate: no producer %u", hid);
  int rc = 0;
  pthread_mutex_lock(&reg_lock);
  int i;
  for (i = 0; i < 8 && d->krate[op][i].bits != 0 && d->krate[op][i].bits != bits; i++) {
  }
  if (i == 8) {
    rc = ocf_seterr(ENOSPC, "ocf_kset_rate: at most 8 sizes per operation");
  } else {
    d->krate[op][i].bits = bits;
    d->krate[op][i].ops = ops_per_s;
  }
  pthread_mutex_unlock(&reg_lock);
  drv_put(d);
  return rc;
}

int ocf_unregister(uint32_t hid, enum ocf_alg alg) {
  if (ocf_alg_lookup(alg) == NULL)
    return ocf_seterr(ENOTSUP, "ocf_unregister: unknown algorithm %d", alg);
  struct drv *d = drv_get(hid);
  if (d == NULL) return ocf_seterr(ENOENT, "ocf_unregister: no producer %u", hid);
  /* Sessions using alg notice on their next request (drv_serves_chain) and migrate. */
  atomic_store(&d->has[alg], 0);
  atomic_fetch_add(&reg_gen, 1);
  drv_put(d);
  return 0;
}

/* Marks d as going away; false if it already was. */
static bool detach(struct drv *d) {
  if (atomic_exchange(&d->detached, 1)) return false;
  for (int a = 0; a < OCF_ALG__MAX; a++) atomic_store(&d->has[a], 0);
  for (int k = 0; k < OCF_KOP__MAX; k++) atomic_store(&d->khas[k], 0);
  /* Held requests were never given to the producer: send them back through
   * the dispatcher, which migrates them. */
  atomic_fetch_add(&reg_gen, 1);
  dispatch_requeue_held(d);
  return true;
}

int ocf_driver_detach(uint32_t hid) {
  struct drv *d = drv_get(hid);
  if (d == NULL) return ocf_seterr(ENOENT, "ocf_driver_detach: no producer %u", hid);
  bool first = detach(d);
  drv_put(d);
  return first ? 0 : ocf_seterr(EALREADY, "producer %u is already detached", hid);
}

int ocf_unregister_all(uint32_t hid) {
  struct drv *d = drv_get(hid);
  if (d == NULL) return ocf_seterr(ENOENT, "ocf_unregister_all: no producer %u", hid);
  /* A producer detached with ocf_driver_detach comes here to finish. */
  detach(d);
  if (atomic_fetch_add(&d->unregistering, 1) != 0) {
    drv_put(d);
    return ocf_seterr(ENOENT, "ocf_unregister_all: producer %u already going away", hid);
  }
  /* Called from a callback, this thread may hold requests it has not run
   * yet: the workers take them (and migrate them), or the wait below would
   * never end.  Then the pin protocol (tctx.c): detached is set; a thread
   * pinning d from now on sees it. */
  dispatch_flush_deferred(tctx_peek());
  pin_barrier();
  pthread_mutex_lock(&reg_lock);
  while (pins_hold_drv(d) || atomic_load(&d->inflight) > 0 || atomic_load(&d->kinflight) > 0) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 10 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&drain_cv, &reg_lock, &ts);
  }
  for (int i = 0; i < OCF_MAX_DRIVERS; i++)
    if (drivers[i] == d) drivers[i] = NULL;
  pthread_mutex_unlock(&reg_lock);
  sess_drop_driver(d); /* frees every producer session it still holds */
  ocf_log(2, "producer %s (%u) removed", d->name, d->hid);
  drv_put(d); /* drv_get above */
  drv_put(d); /* the registry's reference */
  return 0;
}

/* Called when a detached producer's in-flight count may have reached zero. */
void registry_drained(void) {
  pthread_mutex_lock(&reg_lock);
  pthread_cond_broadcast(&drain_cv);
  pthread_mutex_unlock(&reg_lock);
}

int ocf_unblock(uint32_t hid) {
  struct drv *d = drv_get(hid);
  if (d == NULL) return ocf_seterr(ENOENT, "ocf_unblock: no producer %u", hid);
  dispatch_requeue_held(d);
  drv_put(d);
  return 0;
}

void drv_shutdown_all(void) {
  for (;;) {
    uint32_t hid = 0;
    pthread_mutex_lock(&reg_lock);
    for (int i = 0; i < OCF_MAX_DRIVERS; i++)
      if (drivers[i] != NULL && !atomic_load(&drivers[i]->detached)) {
        hid = drivers[i]->hid;
        break;
      }
    pthread_mutex_unlock(&reg_lock);
    if (hid == 0) break;
    ocf_unregister_all(hid);
  }
}

int ocf_driver_stats(struct ocf_driver_stat *out, int max) {
  int n = 0;
  pthread_mutex_lock(&reg_lock);
  for (int i = 0; i < OCF_MAX_DRIVERS; i++) {
    struct drv *d = drivers[i];
    if (d == NULL) continue;
    if (out != NULL && n < max) {
      struct ocf_driver_stat *s = &out[n];
      memset(s, 0, sizeof(*s));
      s->hid = d->hid;
      strcpy(s->name, d->name);
      s->flags = d->flags;
      s->sessions = (uint64_t)atomic_load(&d->sessions);
      s->requests = atomic_load(&d->n_req);
      s->krequests = atomic_load(&d->n_kreq);
      s->bytes = atomic_load(&d->n_bytes);
      s->errors = atomic_load(&d->n_err);
      tstat_sum(d, &s->requests, &s->bytes, &s->errors); /* requests run where dispatched */
      s->migrations = atomic_load(&d->n_migr);
      s->queued = (uint64_t)(atomic_load(&d->inflight) + atomic_load(&d->kinflight));
      s->detached = atomic_load(&d->detached);
      uint64_t total = 0, seen = 0;
      for (int b = 0; b < LAT_BUCKETS; b++) total += atomic_load(&d->lat[b]);
      for (int b = 0; b < LAT_BUCKETS && total > 0; b++) {
        uint64_t c = atomic_load(&d->lat[b]);
        if (s->p50_us == 0 && (seen + c) * 2 >= total && c) s->p50_us = lat_bucket_ns(b) / 1000;
        if (s->p99_us == 0 && (seen + c) * 100 >= total * 99 && c)
          s->p99_us = lat_bucket_ns(b) / 1000;
        seen += c;
      }
    }
    n++;
  }
  pthread_mutex_unlock(&reg_lock);
  return n;
}

int ocf_driver_algs(uint32_t hid, enum ocf_alg *algs, size_t *maxlen, int max, int *count) {
  struct drv *d = drv_get(hid);
  if (d == NULL) return ocf_seterr(ENOENT, "no producer %u", hid);
  int n = 0;
  pthread_mutex_lock(&reg_lock);
  for (int a = 0; a < OCF_ALG__MAX; a++)
    if (atomic_load(&d->has[a])) {
      if (algs != NULL && n < max) {
        algs[n] = (enum ocf_alg)a;
        if (maxlen != NULL) maxlen[n] = d->maxlen[a];
      }
      n++;
    }
  pthread_mutex_unlock(&reg_lock);
  drv_put(d);
  if (count != NULL) *count = n;
  return 0;
}

int ocf_driver_kops(uint32_t hid, enum ocf_kop *ops, size_t *max_bits, int max, int *count) {
  struct drv *d = drv_get(hid);
  if (d == NULL) return ocf_seterr(ENOENT, "no producer %u", hid);
  int n = 0;
  pthread_mutex_lock(&reg_lock);
  for (int k = 0; k < OCF_KOP__MAX; k++)
    if (atomic_load(&d->khas[k])) {
      if (ops != NULL && n < max) {
        ops[n] = (enum ocf_kop)k;
        if (max_bits != NULL) max_bits[n] = d->kmax_bits[k];
      }
      n++;
    }
  pthread_mutex_unlock(&reg_lock);
  drv_put(d);
  if (count != NULL) *count = n;
  return 0;
}

const char *ocf_policy_name(void) { return policy_name(ocf_policy); }

int ocf_driver_failed_algs(uint32_t hid, enum ocf_alg *algs, int max, int *count) {
  struct drv *d = drv_get(hid);
  if (d == NULL) return ocf_seterr(ENOENT, "no producer %u", hid);
  int n = 0;
  for (int a = 0; a < OCF_ALG__MAX; a++)
    if (atomic_load(&d->failed[a])) {
      if (algs != NULL && n < max) algs[n] = (enum ocf_alg)a;
      n++;
    }
  drv_put(d);
  if (count != NULL) *count = n;
  return 0;
}
