/* paper_rsa.c - figures 2 and 3 of `ocf bench` (paper.c): RSA signatures and
 * verifications per second against the modulus size, per producer, with
 * OpenSSL's own RSA beside. */
#define OCF_PAPER_INTERNAL
#include "paper.h"

#include <math.h>
#include <ocf/devices.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <unistd.h>

#include "bench.h"
#include "check.h"
#include "plot.h"

/* --- figures 2 and 3: RSA ------------------------------------------------------ */

struct pk_setup {
  const char *label;   /* legend */
  const char *devices; /* NULL: the software producer */
};

static const struct pk_setup pk_setups[] = {
    {"software (soft)", NULL},
    {"Broadcom 5805", "bcm5805:mode=timing"},
    {"Broadcom 5820", "bcm5820:mode=timing"},
    {"Hifn 6500", "hifn6500:mode=timing"},
    {"Hifn 7814", "hifn7814:mode=timing"},
};

int pap_kop_max(enum ocf_kop op, size_t *max_bits) {
  struct ocf_driver_stat st[16];
  int n = ocf_driver_stats(st, 16), found = 0;
  *max_bits = 0;
  for (int i = 0; i < n && i < 16; i++) {
    enum ocf_kop ops[OCF_KOP__MAX];
    size_t mb[OCF_KOP__MAX];
    int cnt = 0;
    if (st[i].detached || ocf_driver_kops(st[i].hid, ops, mb, OCF_KOP__MAX, &cnt) != 0) continue;
    for (int k = 0; k < cnt && k < OCF_KOP__MAX; k++)
      if (ops[k] == op) {
        if (!found || mb[k] == 0 || (*max_bits != 0 && mb[k] > *max_bits)) *max_bits = mb[k];
        found = 1;
      }
  }
  return found;
}

/* What a measurement does: a CRT signature (MOD_EXP_CRT), a signature
 * without CRT (MOD_EXP with the full private exponent d), or a verification
 * (MOD_EXP with e). */
enum rsa_kind { RK_CRT, RK_NOCRT, RK_VERIFY };

static void rsa_fill(struct rsa_req *q, const struct ck_rsa *key, const BIGNUM *x,
                     enum rsa_kind kind) {
  memset(&q->k, 0, sizeof(q->k));
  size_t nb = (size_t)BN_num_bytes(key->n);
  if (kind == RK_CRT) {
    const BIGNUM *in[6] = {key->p, key->q, x, key->dp, key->dq, key->qinv};
    for (int i = 0; i < 6; i++) ck_kp_bn(&q->k.param[i], q->buf[i], 512, in[i]);
    ocf_kparam_out(&q->k.param[6], q->buf[6], nb);
    q->k.op = OCF_KOP_MOD_EXP_CRT;
    q->k.iparams = 6;
  } else {
    const BIGNUM *in[3] = {x, kind == RK_VERIFY ? key->e : key->d, key->n};
    for (int i = 0; i < 3; i++) ck_kp_bn(&q->k.param[i], q->buf[i], 512, in[i]);
    ocf_kparam_out(&q->k.param[3], q->buf[3], nb);
    q->k.op = OCF_KOP_MOD_EXP;
    q->k.iparams = 3;
  }
  q->k.oparams = 1;
  q->tmpl = q->k;
}

/* A window of asynchronous public-key requests: every callback resubmits
 * until the deadline.  The rate is taken from the first completion to the
 * last, so the time the window needs to fill is not counted. */
struct kwin {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int inflight, err;
  uint64_t deadline, t_first, t_last, done; /* [mu] */
  uint64_t min_done;
};

static void kwin_cb(struct ocf_kreq *k) {
  struct rsa_req *q = (struct rsa_req *)k;
  struct kwin *w = q->w;
  uint64_t now = bench_now_ns();
  pthread_mutex_lock(&w->mu);
  int again = 0;
  if (k->error != 0) {
    if (w->err == 0) w->err = k->error;
  } else {
    if (w->done++ == 0) w->t_first = now;
    w->t_last = now;
    again = w->err == 0 && (now < w->deadline || w->done < w->min_done);
  }
  if (!again && --w->inflight == 0) pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  if (again) {
    q->k = q->tmpl;
    q->k.callback = kwin_cb;
    int e = ocf_kdispatch(&q->k);
    if (e != 0) {
      pthread_mutex_lock(&w->mu);
      if (w->err == 0) w->err = e;
      if (--w->inflight == 0) pthread_cond_signal(&w->cv);
      pthread_mutex_unlock(&w->mu);
    }
  }
}

/* rsa_rate: operations per second through the framework with window
 * requests in flight (1: one thread blocking in ocf_krun, as the paper's
 * test).  Runs at least secs and at least 8 operations.  *prod gets the
 * producer that served the first request. */
static double rsa_rate(const struct ck_rsa *key, enum rsa_kind kind, int window, double secs,
                       char *prod, size_t plen, int *err) {
  BIGNUM *x = BN_new();
  BN_rand_range(x, key->n);
  struct rsa_req *q = calloc((size_t)window, sizeof(*q));
  if (q == NULL || x == NULL) abort();
  for (int i = 0; i < window; i++) rsa_fill(&q[i], key, x, kind);
  BN_free(x);
  double rate = NAN;
  *err = 0;
  uint64_t t0 = bench_now_ns(), deadline = t0 + (uint64_t)(secs * 1e9);
  if (window == 1) {
    uint64_t now = t0, ops = 0;
    while (now < deadline || ops < 8) {
      q->k = q->tmpl;
      int e = ocf_krun(&q->k);
      if (e != 0) {
        *err = e;
        break;
      }
      ops++;
      now = bench_now_ns();
    }
    if (*err == 0) rate = (double)ops / ((double)(now - t0) / 1e9);
  } else {
    struct kwin w = {.deadline = deadline, .min_done = 8};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    pthread_mutex_lock(&w.mu);
    for (int i = 0; i < window; i++) {
      q[i].w = &w;
      q[i].k.callback = kwin_cb;
      w.inflight++;
      pthread_mutex_unlock(&w.mu);
      int e = ocf_kdispatch(&q[i].k);
      pthread_mutex_lock(&w.mu);
      if (e != 0) {
        w.inflight--;
        if (w.err == 0) w.err = e;
        break;
      }
    }
    while (w.inflight > 0) pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    *err = w.err;
    if (w.err == 0 && w.done > 1 && w.t_last > w.t_first)
      rate = (double)(w.done - 1) / ((double)(w.t_last - w.t_first) / 1e9);
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
  }
  if (prod && *err == 0) {
    struct ocf_driver_stat st[16];
    int n = ocf_driver_stats(st, 16);
    for (int i = 0; i < n && i < 16; i++)
      if (st[i].hid == q->k.hid) snprintf(prod, plen, "%s", st[i].name);
  }
  OPENSSL_cleanse(q, (size_t)window * sizeof(*q));
  free(q);
  return rate;
}

/* --- OpenSSL's own RSA, for comparison: raw (unpadded) private-key
 * operations, as `openssl speed rsa` times them (CRT, blinding and the
 * fault check included), and raw public-key operations. */

static EVP_PKEY *rsa_pkey(const struct ck_rsa *key) {
  OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
  OSSL_PARAM *params = NULL;
  EVP_PKEY *pk = NULL;
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
  if (b && ctx && OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, key->n) &&
      OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, key->e) &&
      OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_D, key->d) &&
      OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_FACTOR1, key->p) &&
      OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_FACTOR2, key->q) &&
      OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_EXPONENT1, key->dp) &&
      OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_EXPONENT2, key->dq) &&
      OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, key->qinv) &&
      (params = OSSL_PARAM_BLD_to_param(b)) != NULL && EVP_PKEY_fromdata_init(ctx) > 0 &&
      EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEYPAIR, params) > 0) {
  }
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(b);
  EVP_PKEY_CTX_free(ctx);
  return pk;
}

struct ossl_thread {
  pthread_t tid;
  EVP_PKEY *pk;
  int sign;
  double secs;
  pthread_barrier_t *bar;
  uint64_t ops, t0, t1;
  int err;
};

static void *ossl_rsa_thread(void *arg) {
  struct ossl_thread *t = arg;
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, t->pk, NULL);
  size_t nb = (size_t)EVP_PKEY_get_size(t->pk), outlen;
  uint8_t in[512], out[512];
  memset(in, 0, sizeof(in));
  in[nb - 1] = 0x5a; /* below the modulus: a raw operation accepts it */
  in[1] = 0x17;
  int ok = ctx != NULL &&
           (t->sign ? EVP_PKEY_sign_init(ctx) : EVP_PKEY_verify_recover_init(ctx)) > 0 &&
           EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) > 0;
  /* one untimed operation: OpenSSL sets up its Montgomery and blinding
   * state on the first use of the key */
  outlen = sizeof(out);
  if (ok)
    ok = (t->sign ? EVP_PKEY_sign(ctx, out, &outlen, in, nb)
                  : EVP_PKEY_verify_recover(ctx, out, &outlen, in, nb)) > 0;
  pthread_barrier_wait(t->bar);
  uint64_t now = bench_now_ns(), deadline = now + (uint64_t)(t->secs * 1e9);
  t->t0 = now;
  while (ok && (now < deadline || t->ops < 8)) {
    outlen = sizeof(out);
    ok = (t->sign ? EVP_PKEY_sign(ctx, out, &outlen, in, nb)
                  : EVP_PKEY_verify_recover(ctx, out, &outlen, in, nb)) > 0;
    t->ops += ok;
    now = bench_now_ns();
  }
  t->t1 = now;
  t->err = ok ? 0 : EIO;
  EVP_PKEY_CTX_free(ctx);
  return NULL;
}

/* ossl_rsa_rate: operations per second of OpenSSL's RSA in n threads. */
static double ossl_rsa_rate(EVP_PKEY *pk, int sign, int n, double secs, int *err) {
  struct ossl_thread t[64];
  pthread_barrier_t bar;
  if (n > 64) n = 64;
  pthread_barrier_init(&bar, NULL, (unsigned)n);
  for (int i = 0; i < n; i++) {
    t[i] = (struct ossl_thread){.pk = pk, .sign = sign, .secs = secs, .bar = &bar};
    if (pthread_create(&t[i].tid, NULL, ossl_rsa_thread, &t[i]) != 0) abort();
  }
  uint64_t ops = 0, t0 = UINT64_MAX, t1 = 0;
  *err = 0;
  for (int i = 0; i < n; i++) {
    pthread_join(t[i].tid, NULL);
    ops += t[i].ops;
    if (t[i].t0 < t0) t0 = t[i].t0;
    if (t[i].t1 > t1) t1 = t[i].t1;
    if (t[i].err) *err = t[i].err;
  }
  pthread_barrier_destroy(&bar);
  return *err || t1 <= t0 ? NAN : (double)ops / ((double)(t1 - t0) / 1e9);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static struct point *rsa_point(struct run *R, int sign, const char *series, int bits, int window,
                               int threads, const char *path, const char *prod, double rate) {
  struct point *pt = pap_add_point(&R->res, sign ? "fig2" : "fig3");
  snprintf(pt->series, sizeof(pt->series), "%s", series);
  snprintf(pt->alg, sizeof(pt->alg), "%s",
           !sign                      ? "rsa-verify"
           : strstr(series, "no CRT") ? "rsa-sign"
                                      : "rsa-sign-crt");
  pt->size = (size_t)bits;
  pt->threads = threads;
  pt->window = window;
  snprintf(pt->path, sizeof(pt->path), "%s", path);
  snprintf(pt->producer, sizeof(pt->producer), "%s", prod);
  pt->ops_per_s = rate;
  if (window == 1 && threads == 1) pt->p50_us = 1e6 / rate; /* one at a time: the mean latency */
  return pt;
}

void pap_figure23(struct run *R, int want2, int want3) {
  static const int bits_quick[] = {512, 1024, 2048, 3072, 4096},
                   bits_full[] = {512, 768, 1024, 1536, 2048, 3072, 4096};
  const int *bits = R->po->full ? bits_full : bits_quick;
  int nbits = R->po->full ? 7 : 5;
  int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (ncpu < 1) ncpu = 1;
  for (int b = 0; b < nbits; b++) {
    pap_progress(R, "figures 2-3: generating an RSA-%d key", bits[b]);
    ck_rsa_get(bits[b]);
  }
  /* OpenSSL's own RSA, beside the software producer: one thread is measured
   * in rounds alternating with the framework's, so that the load of the
   * machine hits both alike (the target compares them) */
  enum { ROUNDS = ROUNDS_PK };
  double rsecs = R->secs / 3 > 0.04 ? R->secs / 3 : 0.04;
  int nsetups = (int)(sizeof(pk_setups) / sizeof(pk_setups[0]));
  for (int s = 0; s < nsetups; s++) {
    const struct pk_setup *ps = &pk_setups[s];
    int soft = ps->devices == NULL;
    if (pap_setup(R, ps->devices, !soft, NULL) != 0) continue;
    for (int sign = 1; sign >= 0; sign--) {
      if ((sign && !want2) || (!sign && !want3)) continue;
      for (int kind = sign ? RK_CRT : RK_VERIFY; kind <= (sign ? RK_NOCRT : RK_VERIFY); kind++) {
        enum ocf_kop op = kind == RK_CRT ? OCF_KOP_MOD_EXP_CRT : OCF_KOP_MOD_EXP;
        size_t maxb = 0;
        if (!pap_kop_max(op, &maxb)) {
          pap_note(R, "figures 2-3: %s serves no %s", ps->label,
                   op == OCF_KOP_MOD_EXP_CRT ? "mod-exp-crt" : "mod-exp");
          continue;
        }
        for (int b = 0; b < nbits; b++) {
          if (maxb && (size_t)bits[b] > maxb) continue;
          const struct ck_rsa *key = ck_rsa_get(bits[b]);
          if (key == NULL) continue;
          EVP_PKEY *pk = soft && kind != RK_NOCRT ? rsa_pkey(key) : NULL;
          for (int wi = 0; wi < 2; wi++) {
            int window = wi ? PK_WINDOW : 1;
            char series[64];
            /* one request at a time is the paper's test: no suffix */
            snprintf(series, sizeof(series), "%s%s", ps->label,
                     kind == RK_CRT     ? " CRT"
                     : kind == RK_NOCRT ? " no CRT"
                                        : "");
            if (window > 1)
              snprintf(series + strlen(series), sizeof(series) - strlen(series), ", %d in flight",
                       window);
            pap_progress(R, "figure %d: RSA-%d %s", sign ? 2 : 3, bits[b], series);
            char prod[64] = "";
            int err = 0, oerr = 0;
            double r = NAN, orate = NAN, ratio = NAN;
            if (pk && window == 1) {
              /* paired rounds: framework, OpenSSL, framework, ...; the
               * comparison is the median of the rounds' ratios, so that a
               * burst of load from elsewhere hits one pair, not the result */
              double sum = 0, osum = 0, rat[ROUNDS];
              int k = 0;
              for (; k < ROUNDS && !err && !oerr; k++) {
                double a = rsa_rate(key, kind, 1, rsecs, prod, sizeof(prod), &err);
                double o = ossl_rsa_rate(pk, sign, 1, rsecs, &oerr);
                sum += 1.0 / a;
                osum += 1.0 / o;
                rat[k] = a / o;
              }
              r = k / sum; /* mean time per operation, inverted */
              orate = k / osum;
              qsort(rat, (size_t)k, sizeof(rat[0]), cmp_double);
              if (k > 0) ratio = k % 2 ? rat[k / 2] : (rat[k / 2 - 1] + rat[k / 2]) / 2;
            } else {
              r = rsa_rate(key, (enum rsa_kind)kind, window, R->secs, prod, sizeof(prod), &err);
            }
            if (err != 0) {
              pap_note(R, "figure %d: %s RSA-%d: %s", sign ? 2 : 3, series, bits[b],
                       ocf_strerror(err));
              continue;
            }
            struct point *pt = rsa_point(R, sign, series, bits[b], window, 1, "ocf", prod, r);
            pt->vs_direct = ratio;
            if (!soft) {
              const char *mode = ocf_sim_mode();
              snprintf(pt->mode, sizeof(pt->mode), "%s", mode ? mode : "");
              /* the model's peak counts a full-length exponent: not for e */
              if (kind != RK_VERIFY) pt->peak_ops = ocf_sim_kpeak_ops(op, (size_t)bits[b]);
            }
            if (sign && kind == RK_NOCRT && window == 1 && bits[b] == 1024 &&
                strcmp(ps->label, "Broadcom 5820") == 0)
              pt->paper = 100; /* "slightly over 100", one blocked thread, no CRT (5.2) */
            if (pk && window == 1 && !oerr)
              rsa_point(R, sign, "OpenSSL direct", bits[b], 1, 1, "direct", "openssl", orate);
          }
          if (pk) {
            pap_progress(R, "figure %d: RSA-%d OpenSSL, %d threads", sign ? 2 : 3, bits[b], ncpu);
            int oerr;
            double orate = ossl_rsa_rate(pk, sign, ncpu, R->secs, &oerr);
            char series[64];
            snprintf(series, sizeof(series), "OpenSSL direct, %d threads", ncpu);
            if (!oerr) rsa_point(R, sign, series, bits[b], 1, ncpu, "direct", "openssl", orate);
            EVP_PKEY_free(pk);
          }
        }
      }
    }
  }
  pap_progress_done(R);
}

