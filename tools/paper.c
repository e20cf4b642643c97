/* paper.c - the paper's evaluation (section 5), one command per figure:
 *
 *   --figure 1  throughput vs request size, NULL / DES / 3DES / AES-128-CBC /
 *               AES-128-GCM, per producer, one request in flight (as the
 *               paper's blocking /dev/crypto process) and 64 in flight, with
 *               direct OpenSSL beside
 *   --figure 2  RSA signatures per second vs modulus size, per producer
 *   --figure 3  RSA verifications per second vs modulus size, per producer
 *   --figure 4  elapsed time of a CPU-bound "hog" process while 1..24
 *               threads do DES, 3DES or DSA-1024, in software vs offloaded
 *               to a modeled card
 *   --table 1/2 3DES throughput, threads x sizes, four modeled Hifn 7751 /
 *               Broadcom 5820 cards on a 64-bit PCI bus, beside the paper's
 *   --paper     all of them and a Markdown report
 *
 * The figures that need several producer set-ups bring the framework down
 * and up again between them (ocf_shutdown / ocf_init with other devices):
 * public-key requests carry no session, so that is how a figure aims them at
 * one producer. */
#include "paper.h"

#include <errno.h>
#include <math.h>
#include <ocf/driver.h>
#include <ocf/pk.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "check.h"
#include "plot.h"

/* --- results ---------------------------------------------------------------- */

struct point {
  char exp[12];    /* "fig1" .. "fig4", "table1", "table2" */
  char series[64]; /* legend entry */
  char alg[32];
  size_t size; /* bytes, or modulus bits for public key */
  int threads;
  char path[16]; /* "ocf", "direct", "ocfd", "hog" */
  char producer[64];
  double mbps, ops_per_s, p50_us, p99_us;
  double hog_s; /* figure 4: the hog's elapsed time */
  double paper; /* the paper's figure for this cell, NAN if none */
};

struct results {
  struct point *v;
  int n, cap;
};

static struct point *add_point(struct results *r, const char *exp) {
  if (r->n == r->cap) {
    r->cap = r->cap ? 2 * r->cap : 64;
    r->v = realloc(r->v, (size_t)r->cap * sizeof(*r->v));
    if (r->v == NULL) abort();
  }
  struct point *p = &r->v[r->n++];
  memset(p, 0, sizeof(*p));
  snprintf(p->exp, sizeof(p->exp), "%s", exp);
  p->mbps = p->ops_per_s = p->p50_us = p->p99_us = p->hog_s = p->paper = NAN;
  return p;
}

struct run {
  const struct paper_opts *po;
  struct results res;
  int progress; /* a terminal is watching */
  double secs;  /* per measurement */
  const char *plotdir;
  char notes[16][240];
  int nnotes;
  int failed;
};

static void note(struct run *R, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct run *R, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char buf[240];
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  for (int i = 0; i < R->nnotes; i++)
    if (strcmp(R->notes[i], buf) == 0) return;
  if (R->nnotes < 16) snprintf(R->notes[R->nnotes++], sizeof(R->notes[0]), "%s", buf);
}

static void progress(struct run *R, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(struct run *R, const char *fmt, ...) {
  if (!R->progress) return;
  va_list ap;
  va_start(ap, fmt);
  fputc('\r', stderr);
  vfprintf(stderr, fmt, ap);
  fputs("\033[K", stderr);
  va_end(ap);
}

static void progress_done(struct run *R) {
  if (R->progress) fputs("\r\033[K", stderr);
}

/* --- framework set-ups -------------------------------------------------------- */

/* init_with: ocf_init attaches the modeled cards named in io->devices. */
static int init_with(const struct ocf_init_opts *io) { return ocf_init(io); }

static int any_hardware(void) {
  struct ocf_driver_stat st[64];
  int n = ocf_driver_stats(st, 64);
  for (int i = 0; i < n && i < 64; i++)
    if ((st[i].flags & OCF_DRV_HARDWARE) && !st[i].detached) return 1;
  return 0;
}

/* setup brings the framework up with devices (NULL: none) and optionally
 * without the software producer.  Returns 0, or ENODEV when devices were
 * asked for and no hardware producer appeared (modeled cards not built in). */
static int setup(struct run *R, const char *devices, int no_soft) {
  char exact[256];
  ocf_shutdown();
  struct ocf_init_opts io = {.workers = R->po->workers, .devices = devices, .no_soft = no_soft};
  /* an $OCF_DEVICES of the caller must not leak into a set-up that has none */
  if (devices == NULL) io.devices = "";
  int e = init_with(&io);
  if (e != 0) {
    note(R, "ocf_init(devices \"%s\"%s): %s", devices ? devices : "", no_soft ? ", no soft" : "",
         ocf_strerror(e));
    return e;
  }
  if (devices == NULL || *devices == 0) return 0;
  if (strstr(devices, "mode=timing") && !any_hardware()) {
    /* cards that only keep time fail a registration self-test unless they
     * register with OCF_ALGF_NOSELFTEST: fall back to computing cards */
    snprintf(exact, sizeof(exact), "%s", devices);
    char *m = strstr(exact, "mode=timing");
    memcpy(m, "mode=exact ", 11);
    note(R,
         "modeled cards in timing mode did not attach (failed their registration self-test?); "
         "using mode=exact, which computes on the host");
    ocf_shutdown();
    io.devices = exact;
    if ((e = init_with(&io)) != 0) return e;
    devices = exact;
  }
  struct ocf_driver_stat st[64];
  int n = ocf_driver_stats(st, 64);
  for (int i = 0; i < n && i < 64; i++)
    if ((st[i].flags & OCF_DRV_HARDWARE) && !st[i].detached) return 0;
  note(R, "modeled cards \"%s\" did not attach (this libocf's ocf_init does not handle devices)",
       devices);
  return ENODEV;
}

/* --- symmetric measurements ---------------------------------------------------- */

static int resolve(const char *producer, struct bench_params *p) {
  struct ocf_driver_stat st[64];
  int n = ocf_driver_stats(st, 64);
  for (int i = 0; i < n && i < 64; i++)
    if (strcmp(st[i].name, producer) == 0 && !st[i].detached) {
      p->producer = producer;
      p->sess_flags = st[i].flags & OCF_DRV_HARDWARE ? OCF_SESS_HWONLY : OCF_SESS_SWONLY;
      return 0;
    }
  return ENODEV;
}

static int measure(const struct bench_case *c, size_t size, const struct bench_params *p,
                   int direct, struct bench_result *r) {
  int n = p->threads, err;
  uint8_t *data = bench_alloc(size);
  bench_case_fill(c, data, size);
  struct sampler *s = calloc((size_t)n, sizeof(*s));
  if (s == NULL) abort();
  for (int i = 0; i < n; i++)
    if (sampler_init(&s[i], BENCH_SAMPLE_CAP / 4) != 0) abort();
  memset(r, 0, sizeof(*r));
  r->mbps = r->ops_per_s = r->p50_us = r->p99_us = NAN;
  struct bench_params warm = *p;
  warm.seconds = p->seconds * 0.1 < 0.03 ? p->seconds * 0.1 : 0.03;
  struct bench_result scratch;
  memset(&scratch, 0, sizeof(scratch));
  if (direct) {
    bench_run_direct(c, size, data, &warm, s, &scratch);
    for (int i = 0; i < n; i++) sampler_free(&s[i]), sampler_init(&s[i], BENCH_SAMPLE_CAP / 4);
    err = bench_run_direct(c, size, data, p, s, r);
  } else {
    bench_run_ocf(c, size, data, &warm, s, &scratch);
    for (int i = 0; i < n; i++) sampler_free(&s[i]), sampler_init(&s[i], BENCH_SAMPLE_CAP / 4);
    err = bench_run_ocf(c, size, data, p, s, r);
  }
  if (err == 0) bench_finish_result(r, size, s, n);
  for (int i = 0; i < n; i++) sampler_free(&s[i]);
  free(s);
  free(data);
  return err;
}

/* --- blocking consumers: ocf_run in a loop, as the paper's processes ----- */

struct sthread {
  pthread_t tid;
  const struct bench_case *c;
  size_t size;
  const uint8_t *data;
  const struct bench_params *p;
  pthread_barrier_t *bar;
  struct sampler *samp;
  uint64_t ops, t0, t1;
  int err;
  char drv[64], msg[160];
};

static void *sync_thread(void *arg) {
  struct sthread *t = arg;
  const struct bench_case *c = t->c;
  struct ocf_sessparam sp[2];
  memset(sp, 0, sizeof(sp));
  sp[0].alg = c->first->alg;
  sp[0].key = c->first->keylen ? c->key1 : NULL;
  sp[0].keylen = c->first->keylen;
  if (c->second) {
    sp[1].alg = c->second->alg;
    sp[1].key = c->key2;
    sp[1].keylen = c->second->keylen;
    sp[0].next = &sp[1];
  }
  struct ck_target tg = {.sess_flags = t->p->sess_flags};
  ocf_sid_t sid = 0;
  if (t->p->producer) {
    struct ocf_driver_stat st[64];
    int n = ocf_driver_stats(st, 64);
    for (int i = 0; i < n && i < 64; i++)
      if (strcmp(st[i].name, t->p->producer) == 0) tg.hid = st[i].hid;
    snprintf(tg.name, sizeof(tg.name), "%s", t->p->producer);
    t->err = ck_open(&tg, sp, &sid, t->msg, sizeof(t->msg));
  } else {
    t->err = ocf_newsession(&sid, sp, t->p->sess_flags);
    if (t->err) snprintf(t->msg, sizeof(t->msg), "ocf_newsession: %s", ocf_strerror(t->err));
  }
  if (t->err == 0) ocf_session_driver(sid, t->drv, sizeof(t->drv));
  uint8_t *buf = bench_alloc(t->size + c->taglen), *out = bench_alloc(bench_out_len(t->size));
  memcpy(buf, t->data, t->size);
  pthread_barrier_wait(t->bar);
  if (t->err == 0) {
    uint64_t now = bench_now_ns(), deadline = now + (uint64_t)(t->p->seconds * 1e9);
    t->t0 = now;
    struct ocf_req req;
    while (now < deadline) {
      memset(&req, 0, sizeof(req));
      req.sid = sid;
      req.buf = ocf_buf_contig(buf, t->size + c->taglen);
      if (c->first->kind == BK_NULL || c->first->kind == BK_DEFLATE)
        req.out = ocf_buf_contig(out, c->first->kind == BK_NULL ? t->size : bench_out_len(t->size));
      req.ndesc = 1;
      struct ocf_desc *d = &req.desc[0];
      d->alg = c->first->alg;
      d->len = t->size;
      d->inject = t->size;
      d->flags = c->first->kind == BK_HMAC || c->first->kind == BK_HASH ? 0 : OCF_D_ENCRYPT;
      if (c->first->kind == BK_CIPHER || c->first->kind == BK_AEAD || c->first->kind == BK_CCM) {
        d->flags |= OCF_D_IV_EXPLICIT;
        memcpy(d->iv, c->iv1, 16);
      }
      if ((t->err = ocf_run(&req)) != 0) {
        snprintf(t->msg, sizeof(t->msg), "request failed: %s", ocf_strerror(t->err));
        break;
      }
      sid = req.sid;
      uint64_t t1 = bench_now_ns();
      sampler_add(t->samp, t1 - now);
      t->ops++;
      now = t1;
    }
    t->t1 = now;
  }
  if (sid) {
    for (int i = 0; i < 1000 && ocf_freesession(sid) == EBUSY; i++) {
    }
  }
  free(buf);
  free(out);
  return NULL;
}

/* measure_sync: p->threads threads each block on one request at a time. */
static int measure_sync(const struct bench_case *c, size_t size, const struct bench_params *p,
                        struct bench_result *r) {
  int n = p->threads, err = 0;
  uint8_t *data = bench_alloc(size);
  bench_case_fill(c, data, size);
  struct sthread *t = calloc((size_t)n, sizeof(*t));
  struct sampler *s = calloc((size_t)n, sizeof(*s));
  if (t == NULL || s == NULL) abort();
  memset(r, 0, sizeof(*r));
  r->mbps = r->ops_per_s = r->p50_us = r->p99_us = NAN;
  pthread_barrier_t bar;
  pthread_barrier_init(&bar, NULL, (unsigned)n);
  for (int i = 0; i < n; i++) {
    if (sampler_init(&s[i], BENCH_SAMPLE_CAP / 4) != 0) abort();
    t[i] = (struct sthread){.c = c, .size = size, .data = data, .p = p, .bar = &bar, .samp = &s[i]};
    if (pthread_create(&t[i].tid, NULL, sync_thread, &t[i]) != 0) abort();
  }
  uint64_t t0 = UINT64_MAX, t1 = 0;
  for (int i = 0; i < n; i++) {
    pthread_join(t[i].tid, NULL);
    if (t[i].err && !err) {
      err = t[i].err;
      snprintf(r->msg, sizeof(r->msg), "%s", t[i].msg);
    }
    r->ops += t[i].ops;
    if (t[i].t0 && t[i].t0 < t0) t0 = t[i].t0;
    if (t[i].t1 > t1) t1 = t[i].t1;
    if (t[i].drv[0] && strstr(r->producer, t[i].drv) == NULL) {
      size_t l = strlen(r->producer);
      snprintf(r->producer + l, sizeof(r->producer) - l, "%s%s", l ? "," : "", t[i].drv);
    }
  }
  if (err == 0 && t1 > t0) {
    r->elapsed = (double)(t1 - t0) / 1e9;
    bench_finish_result(r, size, s, n);
  }
  for (int i = 0; i < n; i++) sampler_free(&s[i]);
  pthread_barrier_destroy(&bar);
  free(s);
  free(t);
  free(data);
  return err;
}

static void fill_point(struct point *pt, const char *series, const struct bench_case *c,
                       size_t size, int threads, const char *path, const struct bench_result *r) {
  snprintf(pt->series, sizeof(pt->series), "%s", series);
  snprintf(pt->alg, sizeof(pt->alg), "%.31s", c->name);
  pt->size = size;
  pt->threads = threads;
  snprintf(pt->path, sizeof(pt->path), "%s", path);
  snprintf(pt->producer, sizeof(pt->producer), "%s", r->producer);
  pt->mbps = r->mbps;
  pt->ops_per_s = r->ops_per_s;
  pt->p50_us = r->p50_us;
  pt->p99_us = r->p99_us;
}

/* --- figure 1 ------------------------------------------------------------------- */

static const size_t fig1_sizes_quick[] = {16, 64, 256, 1024, 8192, 16384};
static const size_t fig1_sizes_full[] = {16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384};
static const char *const fig1_algs[] = {"null", "des-cbc", "3des-cbc", "aes-128-cbc",
                                        "aes-128-gcm"};

static void figure1(struct run *R) {
  const size_t *sizes = R->po->full ? fig1_sizes_full : fig1_sizes_quick;
  int nsizes = R->po->full ? 11 : 6;
  /* the paper's figure has the cards beside the software: --paper brings
   * the four symmetric card models unless --devices says otherwise */
  const char *dev = R->po->devices;
  if (dev == NULL && R->po->paper) dev = "hifn7751,hifn7811,bcm5805,bcm5820:mode=timing";
  if (setup(R, dev, 0) != 0 && dev) setup(R, NULL, 0);
  struct ocf_driver_stat st[16];
  int nprod = ocf_driver_stats(st, 16);
  if (nprod > 16) nprod = 16;
  int windows[2] = {1, 64};
  int total = 5 * nsizes * (1 + 2 * nprod), done = 0;
  for (int a = 0; a < 5; a++) {
    struct bench_case c;
    char msg[200];
    if (bench_case_init(&c, fig1_algs[a], msg, sizeof(msg)) != 0) continue;
    for (int si = 0; si < nsizes; si++) {
      size_t size = sizes[si];
      for (int pi = 0; pi < nprod; pi++) {
        if (st[pi].detached) continue;
        for (int w = 0; w < 2; w++) {
          progress(R, "figure 1: [%d/%d] %s %zu B on %s, %d in flight", ++done, total, c.name, size,
                   st[pi].name, windows[w]);
          struct bench_params p = {
              .seconds = R->secs, .threads = 1, .window = windows[w], .direct_bufs = 1};
          if (resolve(st[pi].name, &p) != 0) continue;
          struct bench_result r;
          int e = windows[w] == 1 ? measure_sync(&c, size, &p, &r) : measure(&c, size, &p, 0, &r);
          if (e == ENODEV || e == EMSGSIZE || e == ENOTSUP) continue; /* not served there */
          char series[64];
          snprintf(series, sizeof(series), "%s, %s", st[pi].name,
                   windows[w] == 1 ? "blocking" : "64 in flight");
          struct point *pt = add_point(&R->res, "fig1");
          fill_point(pt, series, &c, size, 1, "ocf", &r);
          if (e != 0) {
            note(R, "figure 1: %s %zu B on %s failed: %s", c.name, size, st[pi].name, r.msg);
            R->failed = 1;
          }
        }
      }
      progress(R, "figure 1: [%d/%d] %s %zu B, direct OpenSSL", ++done, total, c.name, size);
      struct bench_params p = {.seconds = R->secs, .threads = 1, .window = 1, .direct_bufs = 1};
      struct bench_result r;
      if (measure(&c, size, &p, 1, &r) == 0)
        fill_point(add_point(&R->res, "fig1"), "OpenSSL direct", &c, size, 1, "direct", &r);
    }
    bench_case_wipe(&c);
  }
  if (R->po->ocfd)
    note(R,
         "figure 1: the path through ocfd (--ocfd %s) needs libocfdev linked into `ocf`; "
         "not measured in this build",
         R->po->ocfd);
  progress_done(R);
}

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

/* kop_max: does some producer serve op, and up to how many bits (0 = any)? */
static int kop_max(enum ocf_kop op, size_t *max_bits) {
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

struct rsa_req {
  struct ocf_kreq k;
  uint8_t buf[7][512];
};

static void rsa_fill(struct rsa_req *q, const struct ck_rsa *key, const BIGNUM *x, int sign) {
  memset(&q->k, 0, sizeof(q->k));
  size_t nb = (size_t)BN_num_bytes(key->n);
  if (sign) {
    const BIGNUM *in[6] = {key->p, key->q, x, key->dp, key->dq, key->qinv};
    for (int i = 0; i < 6; i++) ck_kp_bn(&q->k.param[i], q->buf[i], 512, in[i]);
    ocf_kparam_out(&q->k.param[6], q->buf[6], nb);
    q->k.op = OCF_KOP_MOD_EXP_CRT;
    q->k.iparams = 6;
  } else {
    const BIGNUM *in[3] = {x, key->e, key->n};
    for (int i = 0; i < 3; i++) ck_kp_bn(&q->k.param[i], q->buf[i], 512, in[i]);
    ocf_kparam_out(&q->k.param[3], q->buf[3], nb);
    q->k.op = OCF_KOP_MOD_EXP;
    q->k.iparams = 3;
  }
  q->k.oparams = 1;
}

/* rsa_rate: one thread, one request at a time (as the paper's test),
 * through the framework or (direct) with OpenSSL's BIGNUM code. */
static double rsa_rate(const struct ck_rsa *key, int sign, int direct, double secs, char *prod,
                       size_t plen, int *err) {
  BN_CTX *bn = BN_CTX_new();
  BIGNUM *x = BN_new(), *y = BN_new(), *m1 = BN_new(), *m2 = BN_new();
  BN_rand_range(x, key->n);
  struct rsa_req *q = calloc(1, sizeof(*q));
  if (q == NULL || bn == NULL) abort();
  /* Montgomery contexts prepared once, as OpenSSL's RSA code caches them */
  BN_MONT_CTX *mp = BN_MONT_CTX_new(), *mq = BN_MONT_CTX_new(), *mn = BN_MONT_CTX_new();
  if (!mp || !mq || !mn || !BN_MONT_CTX_set(mp, key->p, bn) || !BN_MONT_CTX_set(mq, key->q, bn) ||
      !BN_MONT_CTX_set(mn, key->n, bn))
    abort();
  uint64_t t0 = bench_now_ns(), deadline = t0 + (uint64_t)(secs * 1e9), now = t0, ops = 0;
  *err = 0;
  while (now < deadline) {
    if (direct) {
      if (sign) {
        /* the CRT recombination OpenSSL's RSA code does, without blinding */
        BN_mod(m1, x, key->p, bn);
        BN_mod_exp_mont_consttime(m1, m1, key->dp, key->p, bn, mp);
        BN_mod(m2, x, key->q, bn);
        BN_mod_exp_mont_consttime(m2, m2, key->dq, key->q, bn, mq);
        BN_mod_sub(m1, m1, m2, key->p, bn);
        BN_mod_mul(m1, m1, key->qinv, key->p, bn);
        BN_mul(m1, m1, key->q, bn);
        BN_add(y, m1, m2);
      } else {
        BN_mod_exp_mont(y, x, key->e, key->n, bn, mn);
      }
    } else {
      rsa_fill(q, key, x, sign);
      int e = ocf_krun(&q->k);
      if (e != 0) {
        *err = e;
        break;
      }
      if (ops == 0 && prod) {
        struct ocf_driver_stat st[16];
        int n = ocf_driver_stats(st, 16);
        for (int i = 0; i < n && i < 16; i++)
          if (st[i].hid == q->k.hid) snprintf(prod, plen, "%s", st[i].name);
      }
    }
    ops++;
    now = bench_now_ns();
  }
  BN_free(x);
  BN_free(y);
  BN_free(m1);
  BN_free(m2);
  BN_MONT_CTX_free(mp);
  BN_MONT_CTX_free(mq);
  BN_MONT_CTX_free(mn);
  BN_CTX_free(bn);
  OPENSSL_cleanse(q, sizeof(*q));
  free(q);
  return *err ? NAN : (double)ops / ((double)(now - t0) / 1e9);
}

static void figure23(struct run *R, int want2, int want3) {
  static const int bits_quick[] = {512, 1024, 2048},
                   bits_full[] = {512, 768, 1024, 1536, 2048, 3072, 4096};
  const int *bits = R->po->full ? bits_full : bits_quick;
  int nbits = R->po->full ? 7 : 3;
  for (int b = 0; b < nbits; b++) {
    progress(R, "figures 2-3: generating an RSA-%d key", bits[b]);
    ck_rsa_get(bits[b]);
  }
  int nsetups = (int)(sizeof(pk_setups) / sizeof(pk_setups[0]));
  for (int s = 0; s <= nsetups; s++) {
    int direct = s == nsetups;
    const struct pk_setup *ps = direct ? NULL : &pk_setups[s];
    if (!direct && setup(R, ps->devices, ps->devices != NULL) != 0) continue;
    for (int sign = 1; sign >= 0; sign--) {
      if ((sign && !want2) || (!sign && !want3)) continue;
      size_t maxb = 0;
      if (!direct && !kop_max(sign ? OCF_KOP_MOD_EXP_CRT : OCF_KOP_MOD_EXP, &maxb)) {
        note(R, "figures 2-3: %s serves no %s", ps->label, sign ? "mod-exp-crt" : "mod-exp");
        continue;
      }
      for (int b = 0; b < nbits; b++) {
        if (maxb && (size_t)bits[b] > maxb) continue;
        const struct ck_rsa *key = ck_rsa_get(bits[b]);
        if (key == NULL) continue;
        progress(R, "figure %d: RSA-%d %s, %s", sign ? 2 : 3, bits[b], sign ? "sign" : "verify",
                 direct ? "OpenSSL direct" : ps->label);
        char prod[64] = "";
        int err;
        double r = rsa_rate(key, sign, direct, R->secs, prod, sizeof(prod), &err);
        if (err != 0) {
          note(R, "figure %d: %s RSA-%d: %s", sign ? 2 : 3, direct ? "direct" : ps->label, bits[b],
               ocf_strerror(err));
          continue;
        }
        struct point *pt = add_point(&R->res, sign ? "fig2" : "fig3");
        snprintf(pt->series, sizeof(pt->series), "%s", direct ? "OpenSSL direct" : ps->label);
        snprintf(pt->alg, sizeof(pt->alg), "%s", sign ? "rsa-sign-crt" : "rsa-verify");
        pt->size = (size_t)bits[b];
        pt->threads = 1;
        snprintf(pt->path, sizeof(pt->path), "%s", direct ? "direct" : "ocf");
        snprintf(pt->producer, sizeof(pt->producer), "%s", direct ? "openssl" : prod);
        pt->ops_per_s = r;
        pt->p50_us = 1e6 / r; /* one at a time: the mean latency */
        if (sign && bits[b] == 1024 && ps && ps->devices && strstr(ps->devices, "bcm5820"))
          pt->paper = 100; /* "slightly over 100" (section 5.2) */
      }
    }
  }
  progress_done(R);
}

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

static void figure4(struct run *R) {
  static const int thr_quick[] = {0, 1, 4, 8, 16, 24};
  static const int thr_full[] = {0, 1, 2, 4, 6, 8, 12, 16, 20, 24};
  const int *thr = R->po->full ? thr_full : thr_quick;
  int nthr = R->po->full ? 10 : 6;
  double hog_target = R->po->full ? 1.0 : 0.15;
  progress(R, "figure 4: calibrating the hog");
  double rate = hog_calibrate();
  uint64_t calls = (uint64_t)(rate * hog_target);
  const struct ck_dsa *dsa = ck_dsa_get(1024);
  static const char *const kinds[] = {"DES", "3DES", "DSA-1024"};
  for (int mode = 0; mode < 2; mode++) {
    const char *label = mode ? "bcm5820 model" : "software";
    if (setup(R, mode ? "bcm5820:mode=timing" : NULL, mode) != 0) continue;
    for (int kd = 0; kd < 3; kd++) {
      int use_kop = 0;
      if (kd == CK_DSA) {
        size_t mb;
        use_kop = kop_max(OCF_KOP_DSA_SIGN, &mb) ? 2 : kop_max(OCF_KOP_MOD_EXP, &mb) ? 1 : 0;
        if (dsa == NULL) continue;
        if (mode && use_kop == 0) {
          note(R, "figure 4: the card model serves no public-key operation: DSA not offloaded");
          continue;
        }
        if (use_kop == 1)
          note(R,
               "figure 4: DSA-1024 %s: g^k mod p on the producer (MOD_EXP), the rest on the "
               "host",
               label);
        if (use_kop == 0)
          note(R,
               "figure 4: DSA-1024 software: no producer serves public-key operations, "
               "OpenSSL BIGNUM on the host");
      }
      for (int ti = 0; ti < nthr; ti++) {
        int n = thr[ti];
        if (mode && n == 0) continue; /* the idle baseline is the same machine */
        progress(R, "figure 4: %s, %s, %d thread%s", kinds[kd], label, n, n == 1 ? "" : "s");
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
          note(R, "figure 4: %s %s: %s", kinds[kd], label, ocf_strerror(err));
          break;
        }
        struct point *pt = add_point(&R->res, "fig4");
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
  progress_done(R);
}

/* --- tables 1 and 2 ------------------------------------------------------------- */

static const int tab_threads[] = {1, 2, 3, 4, 32};
static const size_t tab_sizes[] = {16, 64, 256, 1024, 8192, 16384};
/* the paper's Mbit/s (Table 1: rows 1-4 and 32; Table 2: the rows the text
 * gives, 1 and 32) */
static const double paper_t1[5][6] = {{3.06, 11.45, 33.15, 59.49, 79.19, 80.75},
                                      {5.53, 18.40, 56.07, 111.60, 154.18, 160.02},
                                      {6.44, 23.25, 71.31, 152.28, 229.60, 238.24},
                                      {6.83, 25.77, 80.91, 182.65, 292.15, 299.33},
                                      {7.37, 27.51, 94.05, 249.17, 313.79, 320.19}};
static const double paper_t2[5][6] = {{5.42, 18.88, 61.94, 151.95, 300.88, 254.79},
                                      {NAN, NAN, NAN, NAN, NAN, NAN},
                                      {NAN, NAN, NAN, NAN, NAN, NAN},
                                      {NAN, NAN, NAN, NAN, NAN, NAN},
                                      {9.91, 37.01, 120.71, 410.27, 758.85, 801.81}};

static void table(struct run *R, int which) {
  const char *dev = which == 1 ? "hifn7751*4@pci64:mode=timing" : "bcm5820*4@pci64:mode=timing";
  const char *exp = which == 1 ? "table1" : "table2";
  if (setup(R, dev, 1) != 0) return;
  struct bench_case c;
  char msg[200];
  if (bench_case_init(&c, "3des-cbc", msg, sizeof(msg)) != 0) return;
  int done = 0;
  for (int ti = 0; ti < 5; ti++)
    for (int si = 0; si < 6; si++) {
      progress(R, "table %d: [%d/30] %d thread%s, %zu B", which, ++done, tab_threads[ti],
               tab_threads[ti] == 1 ? "" : "s", tab_sizes[si]);
      /* each thread blocks on its request, as the paper's did */
      struct bench_params p = {
          .seconds = R->secs, .threads = tab_threads[ti], .window = 1, .direct_bufs = 1};
      struct bench_result r;
      int e = measure_sync(&c, tab_sizes[si], &p, &r);
      struct point *pt = add_point(&R->res, exp);
      fill_point(pt, "ocf", &c, tab_sizes[si], tab_threads[ti], "ocf", &r);
      pt->paper = which == 1 ? paper_t1[ti][si] : paper_t2[ti][si];
      if (e != 0) {
        note(R, "table %d: %d threads %zu B: %s", which, tab_threads[ti], tab_sizes[si], r.msg);
        pt->mbps = NAN;
      }
    }
  bench_case_wipe(&c);
  progress_done(R);
}

/* --- output ------------------------------------------------------------------- */

static void fmt(char *b, size_t n, double v, int prec) {
  if (isfinite(v))
    snprintf(b, n, "%.*f", prec, v);
  else
    snprintf(b, n, "-");
}

/* series_list collects the distinct series of exp in first-seen order. */
static int series_list(const struct results *res, const char *exp, const char **out, int max) {
  int n = 0;
  for (int i = 0; i < res->n; i++) {
    if (strcmp(res->v[i].exp, exp) != 0) continue;
    int seen = 0;
    for (int k = 0; k < n && !seen; k++) seen = strcmp(out[k], res->v[i].series) == 0;
    if (!seen && n < max) out[n++] = res->v[i].series;
  }
  return n;
}

static const struct point *find(const struct results *res, const char *exp, const char *series,
                                const char *alg, size_t size, int threads) {
  for (int i = 0; i < res->n; i++) {
    const struct point *p = &res->v[i];
    if (strcmp(p->exp, exp) == 0 && (!series || strcmp(p->series, series) == 0) &&
        (!alg || strcmp(p->alg, alg) == 0) && p->size == size &&
        (threads < 0 || p->threads == threads))
      return p;
  }
  return NULL;
}

/* print_fig1 writes one table per algorithm: sizes down, series across.
 * md: Markdown pipes. */
static void print_fig1(FILE *f, const struct results *res, int md) {
  const char *all[24];
  int nall = series_list(res, "fig1", all, 24);
  if (nall == 0) return;
  for (int a = 0; a < 5; a++) {
    /* only the series that served this algorithm */
    const char *ser[24];
    int ns = 0;
    for (int k = 0; k < nall; k++) {
      int has = 0;
      for (int i = 0; i < res->n && !has; i++)
        has = strcmp(res->v[i].exp, "fig1") == 0 && strcmp(res->v[i].series, all[k]) == 0 &&
              strcmp(res->v[i].alg, fig1_algs[a]) == 0;
      if (has) ser[ns++] = all[k];
    }
    if (ns == 0) continue;
    fprintf(f, md ? "\n**%s** (Mbit/s)\n\n| bytes |" : "\n%s, Mbit/s\n%7s", fig1_algs[a], "bytes");
    for (int s = 0; s < ns; s++) fprintf(f, md ? " %s |" : " %22.22s", ser[s]);
    fputc('\n', f);
    if (md) {
      fprintf(f, "|---:|");
      for (int s = 0; s < ns; s++) fprintf(f, "---:|");
      fputc('\n', f);
    }
    size_t sizes[] = {16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384};
    for (int si = 0; si < 11; si++) {
      if (!find(res, "fig1", NULL, fig1_algs[a], sizes[si], -1)) continue;
      fprintf(f, md ? "| %zu |" : "%7zu", sizes[si]);
      for (int s = 0; s < ns; s++) {
        const struct point *p = find(res, "fig1", ser[s], fig1_algs[a], sizes[si], -1);
        char b[32];
        fmt(b, sizeof(b), p ? p->mbps : NAN, 1);
        fprintf(f, md ? " %s |" : " %22s", b);
      }
      fputc('\n', f);
    }
  }
}

static void print_fig23(FILE *f, const struct results *res, const char *exp, int md) {
  const char *ser[16];
  int ns = series_list(res, exp, ser, 16);
  if (ns == 0) return;
  fprintf(f, md ? "\n| modulus bits |" : "\n%s, operations/s\n%8s",
          strcmp(exp, "fig2") == 0 ? "RSA sign (CRT)" : "RSA verify (e = 65537)", "bits");
  for (int s = 0; s < ns; s++) fprintf(f, md ? " %s |" : " %18.18s", ser[s]);
  fputc('\n', f);
  if (md) {
    fprintf(f, "|---:|");
    for (int s = 0; s < ns; s++) fprintf(f, "---:|");
    fputc('\n', f);
  }
  int bits[] = {512, 768, 1024, 1536, 2048, 3072, 4096};
  for (int b = 0; b < 7; b++) {
    if (!find(res, exp, NULL, NULL, (size_t)bits[b], -1)) continue;
    fprintf(f, md ? "| %d |" : "%8d", bits[b]);
    for (int s = 0; s < ns; s++) {
      const struct point *p = find(res, exp, ser[s], NULL, (size_t)bits[b], -1);
      char v[32];
      fmt(v, sizeof(v), p ? p->ops_per_s : NAN, 0);
      fprintf(f, md ? " %s |" : " %18s", v);
    }
    fputc('\n', f);
  }
}

static void print_fig4(FILE *f, const struct results *res, int md) {
  const char *ser[8];
  int ns = series_list(res, "fig4", ser, 8);
  if (ns == 0) return;
  fprintf(f, md ? "\n| crypto threads |" : "\nhog elapsed time, seconds\n%8s", "threads");
  for (int s = 0; s < ns; s++) fprintf(f, md ? " %s |" : " %24.24s", ser[s]);
  fputc('\n', f);
  if (md) {
    fprintf(f, "|---:|");
    for (int s = 0; s < ns; s++) fprintf(f, "---:|");
    fputc('\n', f);
  }
  for (int t = 0; t <= 24; t++) {
    int any = 0;
    for (int i = 0; i < res->n; i++)
      any |= strcmp(res->v[i].exp, "fig4") == 0 && res->v[i].threads == t;
    if (!any) continue;
    fprintf(f, md ? "| %d |" : "%8d", t);
    for (int s = 0; s < ns; s++) {
      const struct point *p = NULL;
      for (int i = 0; i < res->n && !p; i++)
        if (strcmp(res->v[i].exp, "fig4") == 0 && strcmp(res->v[i].series, ser[s]) == 0 &&
            res->v[i].threads == t)
          p = &res->v[i];
      /* the idle baseline (0 threads) belongs to every series */
      if (p == NULL && t == 0)
        for (int i = 0; i < res->n && !p; i++)
          if (strcmp(res->v[i].exp, "fig4") == 0 && res->v[i].threads == 0) p = &res->v[i];
      char v[32];
      fmt(v, sizeof(v), p ? p->hog_s : NAN, 3);
      fprintf(f, md ? " %s |" : " %24s", v);
    }
    fputc('\n', f);
  }
}

static void print_table(FILE *f, const struct results *res, int which, int md) {
  const char *exp = which == 1 ? "table1" : "table2";
  if (!find(res, exp, NULL, NULL, 16, 1)) return;
  fprintf(
      f, md ? "\n| threads |" : "\nTable %d: 3DES Mbit/s, ours / paper's (%s)\n%7s", which,
      which == 1 ? "four Hifn 7751, PCI 64-bit/66 MHz" : "four Broadcom 5820, PCI 64-bit/66 MHz",
      "threads");
  if (md) {
    for (int s = 0; s < 6; s++) fprintf(f, " %zu B |", tab_sizes[s]);
    fprintf(f, "\n|---:|");
    for (int s = 0; s < 6; s++) fprintf(f, "---:|");
  } else {
    for (int s = 0; s < 6; s++) fprintf(f, " %15zu", tab_sizes[s]);
  }
  fputc('\n', f);
  for (int t = 0; t < 5; t++) {
    fprintf(f, md ? "| %d |" : "%7d", tab_threads[t]);
    for (int s = 0; s < 6; s++) {
      const struct point *p = find(res, exp, NULL, NULL, tab_sizes[s], tab_threads[t]);
      char a[32], b[32], cell[80];
      fmt(a, sizeof(a), p ? p->mbps : NAN, 1);
      fmt(b, sizeof(b), p ? p->paper : NAN, 1);
      snprintf(cell, sizeof(cell), "%s / %s", a, b);
      fprintf(f, md ? " %s |" : " %15s", cell);
    }
    fputc('\n', f);
  }
}

static void print_all(FILE *f, const struct run *R, int md) {
  print_fig1(f, &R->res, md);
  print_fig23(f, &R->res, "fig2", md);
  print_fig23(f, &R->res, "fig3", md);
  print_fig4(f, &R->res, md);
  print_table(f, &R->res, 1, md);
  print_table(f, &R->res, 2, md);
}

static int write_json(const char *path, const struct results *res) {
  FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
  if (f == NULL) {
    fprintf(stderr, "ocf bench: cannot write %s: %s\n", path, strerror(errno));
    return 1;
  }
  fputc('[', f);
  for (int i = 0; i < res->n; i++) {
    const struct point *p = &res->v[i];
    fprintf(f, "%s\n  {\"experiment\": \"%s\", \"series\": ", i ? "," : "", p->exp);
    json_str(f, p->series);
    fprintf(f, ", \"alg\": ");
    json_str(f, p->alg);
    fprintf(f, ", \"size\": %zu, \"path\": \"%s\", \"producer\": ", p->size, p->path);
    json_str(f, p->producer);
    fprintf(f, ", \"threads\": %d, \"mbps\": ", p->threads);
    json_num(f, p->mbps);
    fprintf(f, ", \"ops_per_s\": ");
    json_num(f, p->ops_per_s);
    fprintf(f, ", \"p50_us\": ");
    json_num(f, p->p50_us);
    fprintf(f, ", \"p99_us\": ");
    json_num(f, p->p99_us);
    fprintf(f, ", \"hog_s\": ");
    json_num(f, p->hog_s);
    fprintf(f, ", \"paper\": ");
    json_num(f, p->paper);
    fputc('}', f);
  }
  fputs(res->n ? "\n]\n" : "]\n", f);
  int bad = ferror(f);
  if (f != stdout) bad |= fclose(f) != 0;
  return bad;
}

static void csv_val(FILE *f, double v) {
  if (isfinite(v)) fprintf(f, "%.6g", v);
}

static int write_csv(const char *path, const struct results *res) {
  FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
  if (f == NULL) {
    fprintf(stderr, "ocf bench: cannot write %s: %s\n", path, strerror(errno));
    return 1;
  }
  fprintf(f,
          "experiment,series,alg,size,path,producer,threads,mbps,ops_per_s,p50_us,p99_us,"
          "hog_s,paper\n");
  for (int i = 0; i < res->n; i++) {
    const struct point *p = &res->v[i];
    fprintf(f, "%s,\"%s\",%s,%zu,%s,\"%s\",%d,", p->exp, p->series, p->alg, p->size, p->path,
            p->producer, p->threads);
    double v[6] = {p->mbps, p->ops_per_s, p->p50_us, p->p99_us, p->hog_s, p->paper};
    for (int k = 0; k < 6; k++) {
      csv_val(f, v[k]);
      fputc(k < 5 ? ',' : '\n', f);
    }
  }
  int bad = ferror(f);
  if (f != stdout) bad |= fclose(f) != 0;
  return bad;
}

/* --- plots -------------------------------------------------------------------- */

static int draw(struct run *R, struct plot *pl) {
  char msg[300];
  int any = 0;
  for (int i = 0; i < pl->npanels; i++)
    for (int k = 0; k < pl->p[i].nseries; k++)
      any |= pl->p[i].s[k].npts > 0 && !pl->p[i].s[k].dashed; /* dashed: the paper's */
  if (!any) return 0;
  if (plot_draw(pl, R->plotdir, msg, sizeof(msg)) != 0) {
    fprintf(stderr, "ocf bench: --plot: %s\n", msg);
    return 1;
  }
  if (!R->po->quiet) fprintf(stderr, "ocf bench: drew %s/%s.svg and .png\n", R->plotdir, pl->name);
  return 0;
}

static int plots(struct run *R) {
  int bad = 0;
  struct plot *pl = calloc(1, sizeof(*pl));
  if (pl == NULL) abort();
  const struct results *res = &R->res;
  /* figure 1: one panel per algorithm */
  snprintf(pl->name, sizeof(pl->name), "fig1");
  snprintf(pl->title, sizeof(pl->title),
           "Figure 1: throughput vs request size (one consumer thread)");
  snprintf(pl->xlabel, sizeof(pl->xlabel), "request size (bytes)");
  snprintf(pl->ylabel, sizeof(pl->ylabel), "Mbit/s");
  pl->logx = pl->logy = 1;
  snprintf(pl->key, sizeof(pl->key), "bottom right");
  for (int a = 0; a < 5; a++) plot_panel_get(pl, fig1_algs[a]);
  /* one colour per producer: blocking solid, 64 in flight dashed */
  char prods[8][64];
  int nprods = 0;
  for (int i = 0; i < res->n; i++) {
    const struct point *p = &res->v[i];
    if (strcmp(p->exp, "fig1") != 0) continue;
    struct plot_panel *pp = plot_panel_get(pl, p->alg);
    struct plot_series *s = pp ? plot_series_get(pp, p->series) : NULL;
    if (s == NULL) continue;
    char prod[64];
    snprintf(prod, sizeof(prod), "%.*s", (int)strcspn(p->series, ","), p->series);
    int k = 0;
    while (k < nprods && strcmp(prods[k], prod) != 0) k++;
    if (k == nprods && nprods < 8) snprintf(prods[nprods++], sizeof(prods[0]), "%s", prod);
    s->ls = strcmp(p->path, "direct") == 0 ? 8 : k % 7 + 1;
    s->dashed = strstr(p->series, "in flight") != NULL;
    plot_add(s, (double)p->size, p->mbps);
  }
  bad |= draw(R, pl);
  /* figures 2 and 3 */
  for (int k = 2; k <= 3; k++) {
    memset(pl, 0, sizeof(*pl));
    snprintf(pl->name, sizeof(pl->name), "fig%d", k);
    snprintf(pl->title, sizeof(pl->title),
             "Figure %d: RSA %s per second (one thread, one at a time)", k,
             k == 2 ? "signatures (CRT)" : "verifications (e = 65537)");
    snprintf(pl->xlabel, sizeof(pl->xlabel), "modulus (bits)");
    snprintf(pl->ylabel, sizeof(pl->ylabel), "operations/s");
    pl->logx = pl->logy = 1;
    snprintf(pl->key, sizeof(pl->key), "bottom left");
    struct plot_panel *pp = plot_panel_get(pl, "");
    char exp[8];
    snprintf(exp, sizeof(exp), "fig%d", k);
    for (int i = 0; i < res->n; i++)
      if (strcmp(res->v[i].exp, exp) == 0)
        plot_add(plot_series_get(pp, res->v[i].series), (double)res->v[i].size,
                 res->v[i].ops_per_s);
    if (k == 2) {
      struct plot_series *s = plot_series_get(pp, "paper: Broadcom 5820 (\"slightly over 100\")");
      if (s) s->dashed = 1;
      plot_add(s, 1024, 100);
    }
    bad |= draw(R, pl);
  }
  /* figure 4 */
  memset(pl, 0, sizeof(*pl));
  snprintf(pl->name, sizeof(pl->name), "fig4");
  snprintf(pl->title, sizeof(pl->title),
           "Figure 4: CPU-bound process elapsed time while threads do crypto");
  snprintf(pl->xlabel, sizeof(pl->xlabel), "crypto threads");
  snprintf(pl->ylabel, sizeof(pl->ylabel), "hog elapsed time (s)");
  struct plot_panel *pp = plot_panel_get(pl, "");
  double base = NAN;
  for (int i = 0; i < res->n; i++)
    if (strcmp(res->v[i].exp, "fig4") == 0 && res->v[i].threads == 0) base = res->v[i].hog_s;
  for (int i = 0; i < res->n; i++) {
    const struct point *p = &res->v[i];
    if (strcmp(p->exp, "fig4") != 0 || p->threads == 0) continue;
    struct plot_series *s = plot_series_get(pp, p->series);
    if (s && s->npts == 0 && isfinite(base)) plot_add(s, 0, base);
    plot_add(s, p->threads, p->hog_s);
  }
  bad |= draw(R, pl);
  /* tables 1 and 2: one line per thread count, ours solid, the paper's dashed */
  for (int k = 1; k <= 2; k++) {
    memset(pl, 0, sizeof(*pl));
    snprintf(pl->name, sizeof(pl->name), "table%d", k);
    snprintf(pl->title, sizeof(pl->title), "Table %d: 3DES over four %s cards (dashed: the paper)",
             k, k == 1 ? "Hifn 7751" : "Broadcom 5820");
    snprintf(pl->xlabel, sizeof(pl->xlabel), "request size (bytes)");
    snprintf(pl->ylabel, sizeof(pl->ylabel), "Mbit/s");
    pl->logx = 1;
    pp = plot_panel_get(pl, "");
    char exp[8];
    snprintf(exp, sizeof(exp), "table%d", k);
    for (int t = 0; t < 5; t++) {
      char title[64];
      snprintf(title, sizeof(title), "%d thread%s", tab_threads[t], tab_threads[t] == 1 ? "" : "s");
      struct plot_series *s = plot_series_get(pp, title);
      snprintf(title, sizeof(title), "paper, %d thread%s", tab_threads[t],
               tab_threads[t] == 1 ? "" : "s");
      struct plot_series *ps = plot_series_get(pp, title);
      if (ps) ps->dashed = 1;
      if (s) s->ls = t + 1;
      if (ps) ps->ls = t + 1;
      for (int si = 0; si < 6; si++) {
        const struct point *p = find(res, exp, NULL, NULL, tab_sizes[si], tab_threads[t]);
        if (p) plot_add(s, (double)tab_sizes[si], p->mbps);
        if (p) plot_add(ps, (double)tab_sizes[si], p->paper);
      }
    }
    bad |= draw(R, pl);
  }
  free(pl);
  return bad;
}

/* --- the report ---------------------------------------------------------------- */

static void machine(FILE *f) {
  char model[256] = "unknown", line[512];
  FILE *c = fopen("/proc/cpuinfo", "r");
  while (c && fgets(line, sizeof(line), c))
    if (strncmp(line, "model name", 10) == 0) {
      char *p = strchr(line, ':');
      if (p) {
        p += 2;
        p[strcspn(p, "\n")] = 0;
        snprintf(model, sizeof(model), "%s", p);
      }
      break;
    }
  if (c) fclose(c);
  long mem_kb = 0;
  FILE *m = fopen("/proc/meminfo", "r");
  while (m && fgets(line, sizeof(line), m))
    if (sscanf(line, "MemTotal: %ld kB", &mem_kb) == 1) break;
  if (m) fclose(m);
  struct utsname u;
  uname(&u);
  fprintf(f,
          "| | |\n|---|---|\n| CPU | %s |\n| cores online | %ld |\n| memory | %.1f GiB |\n"
          "| kernel | %s %s %s |\n| OpenSSL | %s |\n| libocf | %s |\n",
          model, sysconf(_SC_NPROCESSORS_ONLN), (double)mem_kb / 1048576.0, u.sysname, u.release,
          u.machine, OpenSSL_version(OPENSSL_VERSION), OCF_VERSION);
}

static int report(struct run *R, const char *path, const char *imgrel) {
  FILE *f = fopen(path, "w");
  if (f == NULL) {
    fprintf(stderr, "ocf bench: cannot write %s: %s\n", path, strerror(errno));
    return 1;
  }
  time_t now = time(NULL);
  char when[64];
  strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", gmtime(&now));
  fprintf(
      f,
      "# The paper's evaluation, reproduced\n\n"
      "Written by `ocf bench --paper%s` on %s. The paper is *The Design of the OpenBSD "
      "Cryptographic Framework* (Keromytis, Wright, de Raadt; USENIX 2003), section 5; "
      "its testbed was a 1.4 GHz Pentium III running the framework in the kernel. Here the "
      "framework runs in one process, and the crypto cards are models (`src/drivers/sim`, "
      "in *timing* mode: they move the data and keep the time of the card, PCI bus and "
      "interrupts, but do not compute), so the card figures are only as right as the models.\n\n"
      "## Machine\n\n",
      R->po->full ? " --full" : "", when);
  machine(f);
  fprintf(f, "\nEach measurement ran %.2f s.\n", R->secs);

  fprintf(f,
          "\n## Figure 1: throughput vs request size\n\n"
          "One consumer thread; *blocking* waits for each request (`ocf_run`) as the paper's "
          "/dev/crypto process did, *64 in flight* keeps a window of asynchronous requests. The "
          "paper reports "
          "for its NULL algorithm about 420 Mbit/s at 1024 bytes and about 600 Mbit/s at "
          "8192 bytes, software DES close to NULL for small requests and 3DES at half of it, "
          "and hardware cards slower than software for small requests but ahead for large "
          "ones.\n\n![Figure 1](%sfig1.png)\n",
          imgrel);
  print_fig1(f, &R->res, 1);
  fprintf(f,
          "\n## Figures 2 and 3: RSA signatures and verifications per second\n\n"
          "One thread, one request at a time. Signatures use the CRT parameters (MOD_EXP_CRT; the "
          "paper's engine did not, which it gives as one reason for seeing slightly over 100 "
          "RSA-1024 signatures/s on the Broadcom 5820 where the vendor claims 800); "
          "verifications use e = 65537 (MOD_EXP). The paper found software signing faster than "
          "the cards, and the Hifn 6500 and 7814 much slower than software.\n\n"
          "![Figure 2](%sfig2.png)\n",
          imgrel);
  print_fig23(f, &R->res, "fig2", 1);
  fprintf(f, "\n![Figure 3](%sfig3.png)\n", imgrel);
  print_fig23(f, &R->res, "fig3", 1);
  fprintf(f,
          "\n## Figure 4: system-wide effect\n\n"
          "A separate CPU-bound process (a fixed number of function calls, each an integer "
          "multiply) runs while N threads of this process do crypto: DES and 3DES on 1 KB "
          "requests, DSA-1024 signatures. The paper saw the hog's time grow with the threads in "
          "software and stay constant with the crypto offloaded.\n\n![Figure 4](%sfig4.png)\n",
          imgrel);
  print_fig4(f, &R->res, 1);
  fprintf(f,
          "\n## Tables 1 and 2: load balancing over four cards\n\n"
          "3DES encryption, each thread blocking on its request; cells are *ours / the "
          "paper's* Mbit/s. The paper's text gives Table 2's rows for 1 and 32 threads only.\n\n"
          "**Table 1**: four Hifn 7751 on a 64-bit/66 MHz PCI bus\n\n![Table 1](%stable1.png)\n",
          imgrel);
  print_table(f, &R->res, 1, 1);
  fprintf(
      f,
      "\n**Table 2**: four Broadcom 5820 on a 64-bit/66 MHz PCI bus\n\n![Table 2](%stable2.png)\n",
      imgrel);
  print_table(f, &R->res, 2, 1);
  if (R->nnotes) {
    fprintf(f, "\n## Notes\n\n");
    for (int i = 0; i < R->nnotes; i++) fprintf(f, "- %s\n", R->notes[i]);
  }
  fprintf(f, "\nRaw data: `results.json` and `results.csv` next to this file.\n");
  int bad = ferror(f);
  bad |= fclose(f) != 0;
  return bad;
}

/* --- entry ---------------------------------------------------------------------- */

int bench_paper(const struct paper_opts *po) {
  struct run R;
  memset(&R, 0, sizeof(R));
  R.po = po;
  R.progress = !po->quiet && isatty(STDERR_FILENO);
  R.secs = po->seconds > 0 ? po->seconds : po->full ? 1.0 : 0.12;
  char dirbuf[1024];
  const char *out = po->out ? po->out : "docs/bench/report.md";
  if (po->paper) {
    snprintf(dirbuf, sizeof(dirbuf), "%s", out);
    char *slash = strrchr(dirbuf, '/');
    if (slash)
      *slash = 0;
    else
      snprintf(dirbuf, sizeof(dirbuf), ".");
    R.plotdir = po->plot ? po->plot : dirbuf;
  } else {
    R.plotdir = po->plot;
  }
  char msg[200];
  if (bench_direct_load_providers(msg, sizeof(msg)) != 0)
    fprintf(stderr, "ocf bench: warning: %s\n", msg);
  uint64_t t0 = bench_now_ns();
  if (po->paper || po->figure == 1) figure1(&R);
  if (po->paper || po->figure == 2 || po->figure == 3)
    figure23(&R, po->paper || po->figure == 2, po->paper || po->figure == 3);
  if (po->paper || po->figure == 4) figure4(&R);
  if (po->paper || po->table == 1) table(&R, 1);
  if (po->paper || po->table == 2) table(&R, 2);
  ocf_shutdown();
  bench_direct_unload_providers();
  double took = (double)(bench_now_ns() - t0) / 1e9;

  int rc = 0;
  int to_stdout =
      (po->json && strcmp(po->json, "-") == 0) || (po->csv && strcmp(po->csv, "-") == 0);
  FILE *tf = to_stdout ? stderr : stdout;
  if (!po->quiet) {
    fprintf(tf,
            "ocf bench: the paper's evaluation, libocf %s, %.2f s per measurement, %.0f s in all\n",
            OCF_VERSION, R.secs, took);
    print_all(tf, &R, 0);
    for (int i = 0; i < R.nnotes; i++) fprintf(tf, "%snote: %s\n", i ? "" : "\n", R.notes[i]);
  }
  if (R.res.n == 0) {
    fprintf(stderr, "ocf bench: nothing could be measured%s\n",
            R.nnotes ? " (see the notes above)" : "");
    rc = 1;
  }
  if (po->json && write_json(po->json, &R.res)) rc = 1;
  if (po->csv && write_csv(po->csv, &R.res)) rc = 1;
  if (po->paper) {
    char p[1100];
    snprintf(p, sizeof(p), "%s/results.json", dirbuf);
    if (write_json(p, &R.res)) rc = 1;
    snprintf(p, sizeof(p), "%s/results.csv", dirbuf);
    if (write_csv(p, &R.res)) rc = 1;
  }
  if (R.plotdir && plots(&R)) rc = 1;
  if (po->paper) {
    /* images are linked relative to the report */
    char rel[1100] = "";
    if (po->plot && strcmp(po->plot, dirbuf) != 0) snprintf(rel, sizeof(rel), "%s/", po->plot);
    if (report(&R, out, rel))
      rc = 1;
    else if (!po->quiet)
      fprintf(stderr, "ocf bench: wrote %s\n", out);
  }
  if (R.failed) rc = 1;
  free(R.res.v);
  return rc;
}
