/* paper_hog.c - figure 4 of `ocf bench` (paper.c): the elapsed time of a
 * CPU-bound process while 1..24 threads do DES, 3DES or DSA-1024, in
 * software and offloaded to a modeled card. */
#define OCF_PAPER_INTERNAL
#include "paper.h"

#include <math.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "check.h"
#include "plot.h"

/* --- figure 4: the hog ------------------------------------------------------------ */

static __attribute__((noinline)) uint64_t hog_mul(uint64_t a, uint64_t b) {
  __asm__ volatile("" : "+r"(a));
  return a * b;
}

static void hog_loop(uint64_t n) {
  uint64_t x = 3;
  for (uint64_t i = 0; i < n; i++) x = hog_mul(x, i | 1) + 1;
  __asm__ volatile("" : : "r"(x));
}

/* hog_calibrate: calls per second on an idle machine. */
static double hog_calibrate(void) {
  uint64_t n = 1u << 20, t0 = bench_now_ns();
  hog_loop(n);
  double dt = (double)(bench_now_ns() - t0) / 1e9;
  n = (uint64_t)((double)n * 0.05 / dt) + 1;
  t0 = bench_now_ns();
  hog_loop(n);
  dt = (double)(bench_now_ns() - t0) / 1e9;
  return (double)n / dt;
}

/* hog_run forks the hog and returns its elapsed wall time in seconds. */
static double hog_run(uint64_t calls) {
  uint64_t t0 = bench_now_ns();
  pid_t pid = fork();
  if (pid < 0) return NAN;
  if (pid == 0) {
    hog_loop(calls);
    _exit(0);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return (double)(bench_now_ns() - t0) / 1e9;
}

enum crypto_kind { CK_DES, CK_3DES, CK_DSA };

struct cthread {
  pthread_t tid;
  enum crypto_kind kind;
  _Atomic int *stop;
  const struct ck_dsa *dsa;
  int use_kop; /* DSA: 2 = DSA_SIGN, 1 = MOD_EXP (g^k on the producer), 0 = host BIGNUM */
  uint64_t ops;
  int err;
};

static void *crypto_thread(void *arg) {
  struct cthread *t = arg;
  enum { LEN = 1024 };
  uint8_t key[24], *buf = bench_alloc(LEN);
  ck_fill(&(uint64_t){(uint64_t)(uintptr_t)t | 1}, key, sizeof(key));
  ocf_sid_t sid = 0;
  struct ocf_req req;
  BN_CTX *bn = BN_CTX_new();
  BIGNUM *k = BN_new(), *r = BN_new(), *x = BN_new();
  struct rsa_req *q = calloc(1, sizeof(*q));
  if (bn == NULL || q == NULL) abort();
  if (t->kind != CK_DSA) {
    struct ocf_sessparam sp = {.alg = t->kind == CK_DES ? OCF_ALG_DES_CBC : OCF_ALG_3DES_CBC,
                               .key = key,
                               .keylen = t->kind == CK_DES ? 8 : 24};
    t->err = ocf_newsession(&sid, &sp, 0);
  } else {
    BN_rand_range(x, t->dsa->q);
  }
  while (t->err == 0 && !atomic_load_explicit(t->stop, memory_order_relaxed)) {
    if (t->kind != CK_DSA) {
      memset(&req, 0, sizeof(req));
      req.sid = sid;
      req.buf = ocf_buf_contig(buf, LEN);
      req.ndesc = 1;
      req.desc[0] = (struct ocf_desc){.alg = t->kind == CK_DES ? OCF_ALG_DES_CBC : OCF_ALG_3DES_CBC,
                                      .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT,
                                      .len = LEN};
      t->err = ocf_run(&req);
      sid = req.sid;
    } else {
      /* a DSA signature's cost is its exponentiation r = (g^k mod p) mod q */
      BN_rand_range(k, t->dsa->q);
      if (t->use_kop == 2) {
        uint8_t dg[20] = {1}, dgl[20];
        memset(&q->k, 0, sizeof(q->k));
        ocf_kparam_digest(&q->k.param[0], dgl, dg, 20);
        ck_kp_bn(&q->k.param[1], q->buf[1], 512, t->dsa->p);
        ck_kp_bn(&q->k.param[2], q->buf[2], 512, t->dsa->q);
        ck_kp_bn(&q->k.param[3], q->buf[3], 512, t->dsa->g);
        ck_kp_bn(&q->k.param[4], q->buf[4], 512, x);
        ocf_kparam_out(&q->k.param[5], q->buf[5], 20);
        ocf_kparam_out(&q->k.param[6], q->buf[6], 20);
        q->k.op = OCF_KOP_DSA_SIGN;
        q->k.iparams = 5;
        q->k.oparams = 2;
        t->err = ocf_krun(&q->k);
      } else if (t->use_kop == 1) {
        memset(&q->k, 0, sizeof(q->k));
        ck_kp_bn(&q->k.param[0], q->buf[0], 512, t->dsa->g);
        ck_kp_bn(&q->k.param[1], q->buf[1], 512, k);
        ck_kp_bn(&q->k.param[2], q->buf[2], 512, t->dsa->p);
        ocf_kparam_out(&q->k.param[3], q->buf[3], (size_t)BN_num_bytes(t->dsa->p));
        q->k.op = OCF_KOP_MOD_EXP;
        q->k.iparams = 3;
        q->k.oparams = 1;
        t->err = ocf_krun(&q->k);
      } else {
        BN_mod_exp_mont_consttime(r, t->dsa->g, k, t->dsa->p, bn, NULL);
      }
      BN_mod(r, r, t->dsa->q, bn);
    }
    t->ops++;
  }
  if (sid) {
    for (int i = 0; i < 1000 && ocf_freesession(sid) == EBUSY; i++) {
    }
  }
  BN_clear_free(k);
  BN_free(r);
  BN_clear_free(x);
  BN_CTX_free(bn);
  OPENSSL_cleanse(q, sizeof(*q));
  free(q);
  free(buf);
  return NULL;
}

void pap_figure4(struct run *R) {
  static const int thr_quick[] = {0, 1, 4, 8, 16, 24};
  static const int thr_full[] = {0, 1, 2, 4, 6, 8, 12, 16, 20, 24};
  const int *thr = R->po->full ? thr_full : thr_quick;
  int nthr = R->po->full ? 10 : 6;
  double hog_target = R->po->full ? 1.0 : 0.15;
  pap_progress(R, "figure 4: calibrating the hog");
  double rate = hog_calibrate();
  uint64_t calls = (uint64_t)(rate * hog_target);
  const struct ck_dsa *dsa = ck_dsa_get(1024);
  static const char *const kinds[] = {"DES", "3DES", "DSA-1024"};
  for (int mode = 0; mode < 2; mode++) {
    const char *label = mode ? "bcm5820 model" : "software";
    if (pap_setup(R, mode ? "bcm5820:mode=timing" : NULL, mode, NULL) != 0) continue;
    for (int kd = 0; kd < 3; kd++) {
      int use_kop = 0;
      if (kd == CK_DSA) {
        size_t mb;
        use_kop = pap_kop_max(OCF_KOP_DSA_SIGN, &mb) ? 2 : pap_kop_max(OCF_KOP_MOD_EXP, &mb) ? 1 : 0;
        if (dsa == NULL) continue;
        if (mode && use_kop == 0) {
          pap_note(R, "figure 4: the card model serves no public-key operation: DSA not offloaded");
          continue;
        }
        if (use_kop == 1)
          pap_note(R,
                   "figure 4: DSA-1024 %s: g^k mod p on the producer (MOD_EXP), the rest on the "
                   "host",
                   label);
        if (use_kop == 0)
          pap_note(R,
                   "figure 4: DSA-1024 software: no producer serves public-key operations, "
                   "OpenSSL BIGNUM on the host");
      }
      for (int ti = 0; ti < nthr; ti++) {
        int n = thr[ti];
        if (mode && n == 0) continue; /* the idle baseline is the same machine */
        pap_progress(R, "figure 4: %s, %s, %d thread%s", kinds[kd], label, n, n == 1 ? "" : "s");
        _Atomic int stop = 0;
        struct cthread *ct = calloc((size_t)n + 1, sizeof(*ct));
        if (ct == NULL) abort();
        int started = 0;
        for (; started < n; started++) {
          ct[started] = (struct cthread){
              .kind = (enum crypto_kind)kd, .stop = &stop, .dsa = dsa, .use_kop = use_kop};
          if (pthread_create(&ct[started].tid, NULL, crypto_thread, &ct[started]) != 0) break;
        }
        /* let the crypto threads reach their stride before the hog starts */
        struct timespec ts = {0, 20000000};
        if (n) nanosleep(&ts, NULL);
        uint64_t t0 = bench_now_ns();
        double el = hog_run(calls);
        double dt = (double)(bench_now_ns() - t0) / 1e9;
        atomic_store(&stop, 1);
        uint64_t ops = 0;
        int err = 0;
        for (int i = 0; i < started; i++) {
          pthread_join(ct[i].tid, NULL);
          ops += ct[i].ops;
          if (ct[i].err) err = ct[i].err;
        }
        free(ct);
        if (err) {
          pap_note(R, "figure 4: %s %s: %s", kinds[kd], label, ocf_strerror(err));
          break;
        }
        struct point *pt = pap_add_point(&R->res, "fig4");
        snprintf(pt->series, sizeof(pt->series), "%s, %s", kinds[kd], label);
        snprintf(pt->alg, sizeof(pt->alg), "%s",
                 kd == 0   ? "des-cbc"
                 : kd == 1 ? "3des-cbc"
                           : "dsa-1024-sign");
        pt->size = kd == CK_DSA ? 1024 : 1024;
        pt->threads = n;
        snprintf(pt->path, sizeof(pt->path), "hog");
        snprintf(pt->producer, sizeof(pt->producer), "%s", mode ? "bcm5820" : "soft");
        pt->hog_s = el;
        pt->ops_per_s = dt > 0 ? (double)ops / dt : NAN;
        if (kd != CK_DSA) pt->mbps = pt->ops_per_s * 1024 * 8 / 1e6;
      }
    }
  }
  pap_progress_done(R);
}

