/* balance.c - which producer serves a session, a request, or a public-key
 * request.
 *
 * "sessions" (the paper's policy, the default): a session is created on one
 * producer, hardware before software, and among those the one with the
 * fewest active sessions; every request of the session goes there.
 *
 * "capacity": each request goes to the producer expected to finish it
 * first, from its rate (declared with ocf_set_rate, or measured here for
 * synchronous producers) and the work already pending on it.  A session is
 * replicated on the producers that get its requests (producers with a full
 * session cache refuse, and are skipped).
 *
 * "size": each request goes to the producer with the lowest unloaded
 * latency for its size, so small requests stay in software and large ones
 * go to hardware when it is faster for them (the paper's section 6.3); the
 * crossover follows from measured and declared rates, not from a constant.
 *
 * Public-key requests (not balanced by the paper) go to the capable producer
 * with the smallest expected completion time, from declared operation rates
 * when known, else from the number in flight. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/internal.h"

enum policy ocf_policy = POLICY_SESSIONS;
atomic_uint reg_gen;

uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int policy_parse(const char *name, enum policy *out) {
  if (name == NULL || strcmp(name, "sessions") == 0)
    *out = POLICY_SESSIONS;
  else if (strcmp(name, "capacity") == 0)
    *out = POLICY_CAPACITY;
  else if (strcmp(name, "size") == 0)
    *out = POLICY_SIZE;
  else
    return ocf_seterr(EINVAL, "unknown balancing policy '%s' (sessions, capacity, size)", name);
  return 0;
}

const char *policy_name(enum policy p) {
  return p == POLICY_CAPACITY ? "capacity" : p == POLICY_SIZE ? "size" : "sessions";
}

static bool kind_ok(const struct drv *d, unsigned sflags) {
  if ((sflags & OCF_SESS_HWONLY) && !(d->flags & OCF_DRV_HARDWARE)) return false;
  if ((sflags & OCF_SESS_SWONLY) && !(d->flags & OCF_DRV_SOFTWARE)) return false;
  return true;
}

/* better(a, b): should a be preferred to b for a new session? */
static bool better(const struct drv *a, const struct drv *b) {
  bool ahw = a->flags & OCF_DRV_HARDWARE, bhw = b->flags & OCF_DRV_HARDWARE;
  if (ahw != bhw) return ahw;
  return atomic_load(&a->sessions) < atomic_load(&b->sessions);
}

struct drv *balance_pick(const struct sess *s, struct drv *exclude) {
  struct drv *all[OCF_MAX_DRIVERS], *best = NULL;
  int n = drv_snapshot(all, OCF_MAX_DRIVERS);
  for (int i = 0; i < n; i++) {
    struct drv *d = all[i];
    if (d != exclude && kind_ok(d, s->flags) && drv_serves_chain(d, s) &&
        (best == NULL || better(d, best)))
      best = d;
  }
  for (int i = 0; i < n; i++)
    if (all[i] != best) drv_put(all[i]);
  return best; /* referenced */
}

/* --- measured service times ---------------------------------------------
 * For synchronous producers the framework times process() and fits
 * time = fixed + len * per_byte with exponentially weighted least squares
 * (weight 1/32), per algorithm.  Sampled, so the clock reads stay cheap. */
struct meas {
  pthread_mutex_t lock;
  struct fit {
    double n, t, nn, nt; /* weighted means */
    long samples;
  } fit[OCF_ALG__MAX];
};

static struct meas *meas_get(struct drv *d) {
  struct meas *m = __atomic_load_n(&d->meas, __ATOMIC_ACQUIRE);
  if (m != NULL) return m;
  m = calloc(1, sizeof(*m));
  if (m == NULL) return NULL;
  pthread_mutex_init(&m->lock, NULL);
  struct meas *expect = NULL;
  if (!__atomic_compare_exchange_n(&d->meas, &expect, m, false, __ATOMIC_ACQ_REL,
                                   __ATOMIC_ACQUIRE)) {
    pthread_mutex_destroy(&m->lock);
    free(m);
    return expect;
  }
  return m;
}

void meas_free(struct drv *d) {
  if (d->meas != NULL) {
    pthread_mutex_destroy(&d->meas->lock);
    free(d->meas);
    d->meas = NULL;
  }
}

void policy_measure(struct drv *d, enum ocf_alg alg, size_t len, uint64_t ns) {
  struct meas *m = meas_get(d);
  if (m == NULL) return;
  double n = (double)len, t = (double)ns;
  pthread_mutex_lock(&m->lock);
  struct fit *f = &m->fit[alg];
  /* the plain mean of the first 32 samples, then weight 1/32: a cold first
   * call does not linger */
  double w = f->samples < 32 ? 1.0 / (double)(f->samples + 1) : 1.0 / 32;
  if (f->samples >= 8) {
    /* A preempted call can take a thousand times the usual: clip samples to
     * four times what the fit predicts, so one such call cannot swing it. */
    double var = f->nn - f->n * f->n, pred = f->t;
    if (var > 0.01 * f->n * f->n + 1.0)
      pred = f->t + (f->nt - f->n * f->t) / var * (n - f->n);
    else if (f->n > 0)
      pred = f->t / f->n * n;
    if (pred > 0 && t > 4 * pred) t = 4 * pred;
  }
  f->n += w * (n - f->n);
  f->t += w * (t - f->t);
  f->nn += w * (n * n - f->nn);
  f->nt += w * (n * t - f->nt);
  f->samples++;
  /* one request on one thread: what dispatch.c weighs against a handoff */
  if (f->samples >= 4) {
    double var = f->nn - f->n * f->n, slope, icpt;
    if (var > 0.01 * f->n * f->n + 1.0) {
      slope = (f->nt - f->n * f->t) / var;
      icpt = f->t - slope * f->n;
    } else { /* one size only: charge it all per byte */
      slope = f->n > 0 ? f->t / f->n : 0;
      icpt = f->n > 0 ? 0 : f->t;
    }
    /* the intercept may be negative (a step, not a line): est_ns clips the
     * prediction, not the coefficients, so both measured sizes stay right */
    atomic_store_explicit(&d->svc_fixed[alg], icpt, memory_order_relaxed);
    atomic_store_explicit(&d->svc_slope[alg], slope > 0 ? slope : 0, memory_order_relaxed);
    if (f->samples >= 32) atomic_store_explicit(&d->svc_known[alg], 1, memory_order_relaxed);
  }
  pthread_mutex_unlock(&m->lock);
}

/* Rate of d for alg: bytes/s and fixed seconds per request, for the whole
 * producer (all its engines).  false if unknown. */
static bool rate_of(struct drv *d, enum ocf_alg alg, double *bps, double *fixed) {
  double b = atomic_load(&d->rate_bps[alg]);
  if (b > 0) {
    *bps = b;
    *fixed = atomic_load(&d->rate_ns[alg]) * 1e-9;
    return true;
  }
  struct meas *m = __atomic_load_n(&d->meas, __ATOMIC_ACQUIRE);
  if (m == NULL || !(d->flags & OCF_DRV_SYNC)) return false;
  pthread_mutex_lock(&m->lock);
  struct fit f = m->fit[alg];
  pthread_mutex_unlock(&m->lock);
  if (f.samples < 8 || f.t <= 0) return false;
  double var = f.nn - f.n * f.n, slope, icpt;
  if (var > 0.01 * f.n * f.n + 1.0) {
    slope = (f.nt - f.n * f.t) / var;
    icpt = f.t - slope * f.n;
  } else { /* one size only: charge it all per byte */
    slope = f.n > 0 ? f.t / f.n : 0;
    icpt = f.n > 0 ? 0 : f.t;
  }
  if (slope < 0) slope = 0;
  if (icpt < 0) icpt = 0;
  double par = dispatch_nworkers() > 0 ? dispatch_nworkers() : 1;
  *bps = slope > 0 ? par * 1e9 / slope : INFINITY;
  *fixed = icpt * 1e-9 / par;
  return true;
}

/* Expected seconds until a len-byte request on d completes.  NAN when the
 * producer's rate is unknown. */
static double cost(struct drv *d, enum ocf_alg alg, size_t len, bool loaded) {
  double bps, fixed;
  if (!rate_of(d, alg, &bps, &fixed)) return NAN;
  double t = (double)len / bps + fixed;
  if (loaded)
    t += (double)atomic_load(&d->pend_bytes) / bps + (double)atomic_load(&d->inflight) * fixed;
  return t;
}

static bool usable(struct drv *d, const struct sess *s) {
  return d != NULL && drv_serves_chain(d, s);
}

struct bind policy_choose(struct sess *s, size_t len, struct drv **want, bool *refresh) {
  struct bind best = {s->drv, s->dsess};
  *want = NULL;
  *refresh = false;
  if (s->cand_gen != atomic_load(&reg_gen)) {
    *refresh = true;
    return best;
  }
  enum ocf_alg alg = s->param[0].alg;
  bool loaded = ocf_policy == POLICY_CAPACITY;
  double bc = INFINITY;
  struct drv *bestd = NULL;
  for (int i = 0; i < s->ncand; i++) {
    struct drv *d = s->cand[i];
    if (!usable(d, s)) continue;
    double c = cost(d, alg, len, loaded);
    if (isnan(c)) {
      /* Unknown rate: a synchronous producer is measured by using it. */
      if (!(d->flags & OCF_DRV_SYNC)) continue;
      c = 0;
    }
    bool hw = d->flags & OCF_DRV_HARDWARE;
    if (bestd == NULL || c < bc || (c == bc && hw && !(bestd->flags & OCF_DRV_HARDWARE))) {
      bc = c;
      bestd = d;
    }
  }
  if (bestd == NULL || bestd == s->drv) return best;
  for (int i = 0; i < s->nrep; i++)
    if (s->rep[i].drv == bestd) return s->rep[i];
  *want = bestd;
  return best;
}

struct drv *balance_kpick(const struct ocf_kreq *k, bool *too_big) {
  struct drv *all[OCF_MAX_DRIVERS], *best = NULL;
  if (too_big != NULL) *too_big = false;
  double bestc = INFINITY;
  int n = drv_snapshot(all, OCF_MAX_DRIVERS);
  size_t bits = 0;
  for (int i = 0; i < k->iparams && i < OCF_KMAX_PARAM; i++)
    if (k->param[i].nbits > bits) bits = k->param[i].nbits;
  for (int i = 0; i < n; i++) {
    struct drv *d = all[i];
    if (!atomic_load(&d->khas[k->op])) continue;
    if (d->kmax_bits[k->op] != 0 && bits > d->kmax_bits[k->op]) {
      if (too_big != NULL) *too_big = true;
      continue;
    }
    /* Expected completion: (in flight + 1) / rate at the nearest declared
     * size at or above bits; without rates, in-flight count decides and
     * hardware wins ties (the paper's preference). */
    double ops = 0;
    size_t near = SIZE_MAX;
    for (int j = 0; j < 8 && d->krate[k->op][j].bits; j++)
      if (d->krate[k->op][j].bits >= bits && d->krate[k->op][j].bits < near) {
        near = d->krate[k->op][j].bits;
        ops = d->krate[k->op][j].ops;
      }
    double c = (double)(atomic_load(&d->kinflight) + 1) / (ops > 0 ? ops : 1.0);
    bool hw = d->flags & OCF_DRV_HARDWARE;
    if (best == NULL || c < bestc || (c == bestc && hw && !(best->flags & OCF_DRV_HARDWARE))) {
      best = d;
      bestc = c;
    }
  }
  for (int i = 0; i < n; i++)
    if (all[i] != best) drv_put(all[i]);
  return best;
}
