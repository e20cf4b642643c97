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
#define OCF_PAPER_INTERNAL
#include "paper.h"
#ifdef OCF_HAVE_OCFDEV
#include <ocf/ocfdev.h>
#endif

#include <errno.h>
#include <math.h>
#include <ocf/devices.h>
#include <ocf/driver.h>
#include <ocf/pk.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
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

struct point *pap_add_point(struct results *r, const char *exp) {
  if (r->n == r->cap) {
    r->cap = r->cap ? 2 * r->cap : 64;
    r->v = realloc(r->v, (size_t)r->cap * sizeof(*r->v));
    if (r->v == NULL) abort();
  }
  struct point *p = &r->v[r->n++];
  memset(p, 0, sizeof(*p));
  snprintf(p->exp, sizeof(p->exp), "%s", exp);
  p->mbps = p->ops_per_s = p->p50_us = p->p99_us = p->hog_s = p->paper = NAN;
  p->peak_mbps = p->peak_ops = p->cpu_cores = p->vs_direct = NAN;
  return p;
}

void pap_note(struct run *R, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char buf[320];
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  for (int i = 0; i < R->nnotes; i++)
    if (strcmp(R->notes[i], buf) == 0) return;
  if (R->nnotes < (int)(sizeof(R->notes) / sizeof(R->notes[0])))
    snprintf(R->notes[R->nnotes++], sizeof(R->notes[0]), "%s", buf);
}

void pap_progress(struct run *R, const char *fmt, ...) {
  if (!R->progress) return;
  va_list ap;
  va_start(ap, fmt);
  fputc('\r', stderr);
  vfprintf(stderr, fmt, ap);
  fputs("\033[K", stderr);
  va_end(ap);
}

void pap_progress_done(struct run *R) {
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
int pap_setup(struct run *R, const char *devices, int no_soft, const char *policy) {
  char exact[256];
  ocf_shutdown();
  /* an $OCF_POLICY of the caller must not change what a figure measures */
  struct ocf_init_opts io = {.workers = R->po->workers,
                             .devices = devices,
                             .no_soft = no_soft,
                             .policy = policy ? policy : "sessions"};
  /* an $OCF_DEVICES of the caller must not leak into a set-up that has none */
  if (devices == NULL) io.devices = "";
  int e = init_with(&io);
  if (e != 0) {
    pap_note(R, "ocf_init(devices \"%s\"%s): %s", devices ? devices : "",
             no_soft ? ", no soft" : "", ocf_strerror(e));
    return e;
  }
  if (devices == NULL || *devices == 0) return 0;
  if (strstr(devices, "mode=timing") && !any_hardware()) {
    /* cards that only keep time fail a registration self-test unless they
     * register with OCF_ALGF_NOSELFTEST: fall back to computing cards */
    snprintf(exact, sizeof(exact), "%s", devices);
    char *m = strstr(exact, "mode=timing");
    memcpy(m, "mode=exact ", 11);
    pap_note(R,
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
  pap_note(R,
           "modeled cards \"%s\" did not attach (this libocf's ocf_init does not handle devices)",
           devices);
  return ENODEV;
}

/* --- symmetric measurements ---------------------------------------------------- */

int pap_resolve(const char *producer, struct bench_params *p) {
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

int pap_measure(const struct bench_case *c, size_t size, const struct bench_params *p, int direct,
                struct bench_result *r) {
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
int pap_measure_sync(const struct bench_case *c, size_t size, const struct bench_params *p,
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

void pap_fill_point(struct point *pt, const char *series, const struct bench_case *c, size_t size,
                    int threads, const char *path, const struct bench_result *r) {
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

/* Figure 1 through the daemon: blocking with copies (the paper's /dev/crypto
 * process) and 64 in flight in shared memory. */
static void fig1_ocfd(struct run *R, const struct bench_case *c, size_t size) {
#ifdef OCF_HAVE_OCFDEV
  struct ocf_sessparam sp[2] = {{0}};
  sp[0] = (struct ocf_sessparam){
      .alg = c->first->alg, .key = c->first->keylen ? c->key1 : NULL, .keylen = c->first->keylen};
  if (c->second != NULL) {
    sp[1] =
        (struct ocf_sessparam){.alg = c->second->alg, .key = c->key2, .keylen = c->second->keylen};
    sp[0].next = &sp[1];
  }
  static const struct {
    enum ocfdev_bench_mode mode;
    int depth;
    const char *series;
  } modes[] = {{OCFDEV_BENCH_SYNC, 1, "ocfd, blocking (copied)"},
               {OCFDEV_BENCH_SHM, 64, "ocfd, 64 in flight (shared memory)"}};
  for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
    pap_progress(R, "figure 1: %s %zu B through ocfd, %s", c->name, size, modes[m].series);
    struct ocfdev_bench_result o;
    int e =
        ocfdev_bench_chain(R->po->ocfd, sp, 0, size, modes[m].mode, modes[m].depth, R->secs, &o);
    if (e != 0) {
      pap_note(R, "figure 1: %s %zu B through ocfd (%s) failed: %s", c->name, size, modes[m].series,
               strerror(e));
      R->failed = 1;
      continue;
    }
    struct bench_result r = {.ok = 1};
    snprintf(r.producer, sizeof(r.producer), "%s", o.driver);
    r.ops_per_s = o.ops_per_s;
    r.mbps = o.bytes_per_s * 8 / 1e6;
    r.p50_us = o.p50_us;
    r.p99_us = o.p99_us;
    pap_fill_point(pap_add_point(&R->res, "fig1"), modes[m].series, c, size, 1, "ocfd", &r);
  }
#else
  pap_note(R, "figure 1: the path through ocfd needs libocfdev linked into `ocf`");
#endif
}

static void figure1(struct run *R) {
  const size_t *sizes = R->po->full ? fig1_sizes_full : fig1_sizes_quick;
  int nsizes = R->po->full ? 11 : 6;
  /* the paper's figure has the cards beside the software: --paper brings
   * the four symmetric card models unless --devices says otherwise */
  const char *dev = R->po->devices;
  if (dev == NULL && R->po->paper) dev = "hifn7751,hifn7811,bcm5805,bcm5820:mode=timing";
  if (pap_setup(R, dev, 0, NULL) != 0 && dev) pap_setup(R, NULL, 0, NULL);
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
          pap_progress(R, "figure 1: [%d/%d] %s %zu B on %s, %d in flight", ++done, total, c.name,
                       size, st[pi].name, windows[w]);
          struct bench_params p = {
              .seconds = R->secs, .threads = 1, .window = windows[w], .direct_bufs = 1};
          if (pap_resolve(st[pi].name, &p) != 0) continue;
          struct bench_result r;
          int e = windows[w] == 1 ? pap_measure_sync(&c, size, &p, &r)
                                  : pap_measure(&c, size, &p, 0, &r);
          if (e == ENODEV || e == EMSGSIZE || e == ENOTSUP) continue; /* not served there */
          char series[64];
          snprintf(series, sizeof(series), "%s, %s", st[pi].name,
                   windows[w] == 1 ? "blocking" : "64 in flight");
          struct point *pt = pap_add_point(&R->res, "fig1");
          pap_fill_point(pt, series, &c, size, 1, "ocf", &r);
          if (e != 0) {
            pap_note(R, "figure 1: %s %zu B on %s failed: %s", c.name, size, st[pi].name, r.msg);
            R->failed = 1;
          }
        }
      }
      pap_progress(R, "figure 1: [%d/%d] %s %zu B, direct OpenSSL", ++done, total, c.name, size);
      struct bench_params p = {.seconds = R->secs, .threads = 1, .window = 1, .direct_bufs = 1};
      struct bench_result r;
      if (pap_measure(&c, size, &p, 1, &r) == 0)
        pap_fill_point(pap_add_point(&R->res, "fig1"), "OpenSSL direct", &c, size, 1, "direct", &r);
      if (R->po->ocfd) fig1_ocfd(R, &c, size);
    }
    bench_case_wipe(&c);
  }
  pap_progress_done(R);
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

/* requests in flight for the "many in flight" series: a card's whole
 * public-key ring (16) and then some, held by the framework */
enum { PK_WINDOW = 24 };
/* rounds of the paired software / OpenSSL measurement */
#define ROUNDS_PK 6

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

/* What a measurement does: a CRT signature (MOD_EXP_CRT), a signature
 * without CRT (MOD_EXP with the full private exponent d), or a verification
 * (MOD_EXP with e). */
enum rsa_kind { RK_CRT, RK_NOCRT, RK_VERIFY };

struct rsa_req {
  struct ocf_kreq k, tmpl; /* tmpl: the filled request, to resubmit from */
  uint8_t buf[7][512];
  struct kwin *w;
};

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

static void figure23(struct run *R, int want2, int want3) {
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
        if (!kop_max(op, &maxb)) {
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
        use_kop = kop_max(OCF_KOP_DSA_SIGN, &mb) ? 2 : kop_max(OCF_KOP_MOD_EXP, &mb) ? 1 : 0;
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
  if (pap_setup(R, dev, 1, NULL) != 0) return;
  struct bench_case c;
  char msg[200];
  if (bench_case_init(&c, "3des-cbc", msg, sizeof(msg)) != 0) return;
  int done = 0;
  for (int ti = 0; ti < 5; ti++)
    for (int si = 0; si < 6; si++) {
      pap_progress(R, "table %d: [%d/30] %d thread%s, %zu B", which, ++done, tab_threads[ti],
                   tab_threads[ti] == 1 ? "" : "s", tab_sizes[si]);
      /* each thread blocks on its request, as the paper's did */
      struct bench_params p = {
          .seconds = R->secs, .threads = tab_threads[ti], .window = 1, .direct_bufs = 1};
      struct bench_result r;
      int e = pap_measure_sync(&c, tab_sizes[si], &p, &r);
      struct point *pt = pap_add_point(&R->res, exp);
      pap_fill_point(pt, "ocf", &c, tab_sizes[si], tab_threads[ti], "ocf", &r);
      pt->paper = which == 1 ? paper_t1[ti][si] : paper_t2[ti][si];
      pt->window = 1;
      pt->peak_mbps = ocf_sim_peak_mbps(OCF_ALG_3DES_CBC, tab_sizes[si]);
      const char *mode = ocf_sim_mode();
      snprintf(pt->mode, sizeof(pt->mode), "%s", mode ? mode : "");
      if (e != 0) {
        pap_note(R, "table %d: %d threads %zu B: %s", which, tab_threads[ti], tab_sizes[si], r.msg);
        pt->mbps = NAN;
      }
    }
  bench_case_wipe(&c);
  pap_progress_done(R);
}

/* --- output ------------------------------------------------------------------- */

void pap_fmt(char *b, size_t n, double v, int prec) {
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
        pap_fmt(b, sizeof(b), p ? p->mbps : NAN, 1);
        fprintf(f, md ? " %s |" : " %22s", b);
      }
      fputc('\n', f);
    }
  }
}

/* print_fig23: one row per series, modulus sizes across, then the targets. */
static void print_fig23(FILE *f, const struct results *res, const char *exp, int md) {
  const char *ser[48];
  int ns = series_list(res, exp, ser, 48);
  if (ns == 0) return;
  int fig2 = strcmp(exp, "fig2") == 0;
  static const int bits[] = {512, 768, 1024, 1536, 2048, 3072, 4096};
  int have[7], nh = 0;
  for (int b = 0; b < 7; b++)
    if (find(res, exp, NULL, NULL, (size_t)bits[b], -1)) have[nh++] = bits[b];
  if (md)
    fprintf(f, "\n| %s, operations/s |", fig2 ? "RSA sign" : "RSA verify (e = 65537)");
  else
    fprintf(f, "\n%s, operations/s\n%-34s", fig2 ? "RSA sign" : "RSA verify (e = 65537)",
            "series / modulus bits");
  for (int b = 0; b < nh; b++) fprintf(f, md ? " %d |" : " %9d", have[b]);
  fputc('\n', f);
  if (md) {
    fprintf(f, "|---|");
    for (int b = 0; b < nh; b++) fprintf(f, "---:|");
    fputc('\n', f);
  }
  for (int s = 0; s < ns; s++) {
    fprintf(f, md ? "| %s |" : "%-34.34s", ser[s]);
    for (int b = 0; b < nh; b++) {
      const struct point *p = find(res, exp, ser[s], NULL, (size_t)have[b], -1);
      char v[32];
      pap_fmt(v, sizeof(v), p ? p->ops_per_s : NAN, 0);
      fprintf(f, md ? " %s |" : " %9s", v);
    }
    fputc('\n', f);
  }
  if (!fig2) return;
  const char *br = md ? "\n" : "";
  const struct point *so = find(res, exp, "software (soft) CRT", NULL, 2048, 1);
  const struct point *os = find(res, exp, "OpenSSL direct", NULL, 2048, 1);
  if (so && os && isfinite(so->vs_direct)) {
    double pct = 100.0 * so->vs_direct;
    fprintf(f,
            "%sTarget: software RSA-2048 CRT signatures through the framework, one thread: "
            "%.0f/s against OpenSSL's own %.0f/s, median of %d alternating rounds in the same "
            "run: %.1f%%; >= 95%%: %s\n",
            br, so->ops_per_s, os->ops_per_s, ROUNDS_PK, pct, pct >= 95 ? "met" : "NOT met");
  }
  const struct point *bc = NULL;
  char want[64];
  snprintf(want, sizeof(want), "Broadcom 5820 CRT, %d in flight", PK_WINDOW);
  bc = find(res, exp, want, NULL, 1024, 1);
  if (bc && isfinite(bc->ops_per_s)) {
    double pct = 100.0 * bc->ops_per_s / 800;
    fprintf(f,
            "%sTarget: modeled Broadcom 5820, RSA-1024 CRT signatures, %d in flight: %.1f/s = "
            "%.1f%% of its rated 800/s (model peak %.1f/s, %s mode); within 5%%: %s\n",
            br, PK_WINDOW, bc->ops_per_s, pct, bc->peak_ops, bc->mode,
            fabs(pct - 100) <= 5 ? "met" : "NOT met");
  }
  const struct point *b1 = find(res, exp, "Broadcom 5820 CRT", NULL, 1024, 1);
  const struct point *bn = find(res, exp, "Broadcom 5820 no CRT", NULL, 1024, 1);
  if (b1 && bn)
    fprintf(f,
            "%sOne request at a time the same card gives %.0f/s with CRT and %.0f/s without "
            "(the paper: \"slightly over 100\", one blocked thread, no CRT).\n",
            br, b1->ops_per_s, bn->ops_per_s);
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
      pap_fmt(v, sizeof(v), p ? p->hog_s : NAN, 3);
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
      pap_fmt(a, sizeof(a), p ? p->mbps : NAN, 1);
      pap_fmt(b, sizeof(b), p ? p->paper : NAN, 1);
      snprintf(cell, sizeof(cell), "%s / %s", a, b);
      fprintf(f, md ? " %s |" : " %15s", cell);
    }
    fputc('\n', f);
  }
  /* the same cells as a share of the modeled aggregate peak */
  fprintf(f,
          md ? "\n*%% of the modeled aggregate peak* (last row: the peak, Mbit/s)\n\n| threads |"
             : "%% of the modeled aggregate peak\n%7s",
          "threads");
  if (md) {
    for (int s = 0; s < 6; s++) fprintf(f, " %zu B |", tab_sizes[s]);
    fprintf(f, "\n|---:|");
    for (int s = 0; s < 6; s++) fprintf(f, "---:|");
  } else {
    for (int s = 0; s < 6; s++) fprintf(f, " %15zu", tab_sizes[s]);
  }
  fputc('\n', f);
  for (int t = 0; t <= 5; t++) {
    if (t < 5)
      fprintf(f, md ? "| %d |" : "%7d", tab_threads[t]);
    else
      fprintf(f, md ? "| peak |" : "%7s", "peak");
    for (int s = 0; s < 6; s++) {
      const struct point *p = find(res, exp, NULL, NULL, tab_sizes[s], t < 5 ? tab_threads[t] : 1);
      char a[32];
      double v = p == NULL ? NAN : t < 5 ? 100.0 * p->mbps / p->peak_mbps : p->peak_mbps;
      pap_fmt(a, sizeof(a), v, 1);
      fprintf(f, md ? " %s |" : " %15s", a);
    }
    fputc('\n', f);
  }
  const struct point *u = find(res, exp, NULL, NULL, 16384, 32);
  if (u && isfinite(u->mbps) && u->peak_mbps > 0) {
    double pct = 100.0 * u->mbps / u->peak_mbps;
    fprintf(f,
            "%sUtilization at 16 KB, 32 threads: %.1f of %.1f Mbit/s = %.1f%% of the modeled "
            "peak (%s mode); target >= 95%% (paper: 96%%), aim 98%%: %s\n",
            md ? "\n" : "", u->mbps, u->peak_mbps, pct, u->mode[0] ? u->mode : "?",
            pct >= 98   ? "met, aim reached"
            : pct >= 95 ? "met"
                        : "NOT met");
  }
}

static void print_all(FILE *f, const struct run *R, int md) {
  print_fig1(f, &R->res, md);
  print_fig23(f, &R->res, "fig2", md);
  print_fig23(f, &R->res, "fig3", md);
  print_fig4(f, &R->res, md);
  print_table(f, &R->res, 1, md);
  print_table(f, &R->res, 2, md);
  pap_print_hetero(f, &R->res, md);
  pap_print_dedicated(f, &R->res, md);
}

/* pct_of_peak: the measured rate as a share of the point's peak (NAN if none). */
static double pct_of_peak(const struct point *p) {
  if (p->peak_mbps > 0 && isfinite(p->mbps)) return 100.0 * p->mbps / p->peak_mbps;
  if (p->peak_ops > 0 && isfinite(p->ops_per_s)) return 100.0 * p->ops_per_s / p->peak_ops;
  return NAN;
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
    fprintf(f, ", \"window\": %d, \"mode\": ", p->window);
    if (p->mode[0])
      json_str(f, p->mode);
    else
      fputs("null", f);
    fprintf(f, ", \"peak_mbps\": ");
    json_num(f, p->peak_mbps);
    fprintf(f, ", \"peak_ops_per_s\": ");
    json_num(f, p->peak_ops);
    fprintf(f, ", \"pct_of_peak\": ");
    json_num(f, pct_of_peak(p));
    fprintf(f, ", \"cpu_cores\": ");
    json_num(f, p->cpu_cores);
    fprintf(f, ", \"vs_direct\": ");
    json_num(f, p->vs_direct);
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
          "hog_s,paper,window,mode,peak_mbps,peak_ops_per_s,pct_of_peak,cpu_cores,vs_direct\n");
  for (int i = 0; i < res->n; i++) {
    const struct point *p = &res->v[i];
    fprintf(f, "%s,\"%s\",%s,%zu,%s,\"%s\",%d,", p->exp, p->series, p->alg, p->size, p->path,
            p->producer, p->threads);
    double v[6] = {p->mbps, p->ops_per_s, p->p50_us, p->p99_us, p->hog_s, p->paper};
    for (int k = 0; k < 6; k++) {
      csv_val(f, v[k]);
      fputc(',', f);
    }
    fprintf(f, "%d,%s,", p->window, p->mode);
    double w[5] = {p->peak_mbps, p->peak_ops, pct_of_peak(p), p->cpu_cores, p->vs_direct};
    for (int k = 0; k < 5; k++) {
      csv_val(f, w[k]);
      fputc(k < 4 ? ',' : '\n', f);
    }
  }
  int bad = ferror(f);
  if (f != stdout) bad |= fclose(f) != 0;
  return bad;
}

/* --- plots -------------------------------------------------------------------- */

int pap_draw(struct run *R, struct plot *pl) {
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

/* short_label: a figure 2-3 series for a legend, without its window and with
 * short producer names, so the key leaves room for the plot. */
static void short_label(char *out, size_t n, const char *series) {
  static const char *const from[] = {"software (soft)", "Broadcom ", "Hifn ", "OpenSSL direct"};
  static const char *const to[] = {"soft", "bcm", "hifn", "OpenSSL"};
  char tmp[64];
  snprintf(tmp, sizeof(tmp), "%.*s", (int)strcspn(series, ","), series);
  out[0] = 0;
  for (const char *p = tmp; *p;) {
    size_t k = 0;
    while (k < 4 && strncmp(p, from[k], strlen(from[k])) != 0) k++;
    size_t l = strlen(out);
    if (k < 4) {
      snprintf(out + l, n - l, "%s", to[k]);
      p += strlen(from[k]);
    } else if (l + 1 < n) {
      out[l] = *p++;
      out[l + 1] = 0;
    } else {
      break;
    }
  }
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
  bad |= pap_draw(R, pl);
  /* figures 2 and 3: one panel for one request at a time, one for many */
  for (int k = 2; k <= 3; k++) {
    memset(pl, 0, sizeof(*pl));
    snprintf(pl->name, sizeof(pl->name), "fig%d", k);
    snprintf(pl->title, sizeof(pl->title), "Figure %d: RSA %s per second", k,
             k == 2 ? "signatures" : "verifications (e = 65537)");
    snprintf(pl->xlabel, sizeof(pl->xlabel), "modulus (bits)");
    snprintf(pl->ylabel, sizeof(pl->ylabel), "operations/s");
    pl->logx = pl->logy = 1;
    snprintf(pl->key, sizeof(pl->key), "outside right top");
    char one[64], many[64];
    snprintf(one, sizeof(one), "one request at a time (1 thread)");
    snprintf(many, sizeof(many), "%d in flight (OpenSSL: one thread per core)", PK_WINDOW);
    struct plot_panel *p1 = plot_panel_get(pl, one), *pm = plot_panel_get(pl, many);
    char exp[8];
    snprintf(exp, sizeof(exp), "fig%d", k);
    /* one colour per producer, CRT solid, no CRT dashed */
    char prods[12][32];
    int nprods = 0;
    for (int i = 0; i < res->n; i++) {
      const struct point *p = &res->v[i];
      if (strcmp(p->exp, exp) != 0) continue;
      int manyp = p->window > 1 || p->threads > 1;
      /* legend: the series without its window; colour: the producer */
      char title[64], prod[32];
      short_label(title, sizeof(title), p->series);
      snprintf(prod, sizeof(prod), "%.31s", title);
      char *cut = strstr(prod, " no CRT");
      if (cut == NULL) cut = strstr(prod, " CRT");
      if (cut) *cut = 0;
      int c = 0;
      while (c < nprods && strcmp(prods[c], prod) != 0) c++;
      if (c == nprods && nprods < 12) snprintf(prods[nprods++], sizeof(prods[0]), "%s", prod);
      struct plot_series *ps = plot_series_get(manyp ? pm : p1, title);
      if (ps == NULL) continue;
      ps->ls = strncmp(prod, "OpenSSL", 7) == 0 ? 8 : c % 7 + 1;
      ps->dashed = strstr(p->series, "no CRT") != NULL;
      plot_add(ps, (double)p->size, p->ops_per_s);
    }
    if (k == 2) {
      struct plot_series *s = plot_series_get(p1, "paper: bcm5820 no CRT");
      if (s) s->dashed = 1;
      plot_add(s, 1024, 100);
      s = plot_series_get(pm, "rated: bcm5820");
      if (s) s->dashed = 1;
      plot_add(s, 1024, 800);
    }
    bad |= pap_draw(R, pl);
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
  bad |= pap_draw(R, pl);
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
    bad |= pap_draw(R, pl);
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
          "`ocf bench --figure 1`. One consumer thread; *blocking* waits for each request "
          "(`ocf_run`) as the paper's "
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
          "`ocf bench --figure 2` and `--figure 3`. Each producer alone (the framework is "
          "restarted with one card model, or with the software producer only), with one request "
          "at a time (one thread blocking in `ocf_krun`, as the paper's test) and with %d "
          "asynchronous requests in flight (`ocf_kdispatch`; the rate counts from the first "
          "completion to the last). Signatures with CRT use MOD_EXP_CRT; *no CRT* is MOD_EXP "
          "with the full private exponent, as the paper's engine did (one reason it gives for "
          "seeing slightly over 100 RSA-1024 signatures/s on the Broadcom 5820 where the vendor "
          "claims 800). Verifications are MOD_EXP with e = 65537. *OpenSSL RSA* is OpenSSL's own "
          "raw RSA (`EVP_PKEY_sign` / `EVP_PKEY_verify_recover` without padding: CRT, blinding "
          "and its fault check included), measured in the same run, one thread in rounds "
          "alternating with the software producer's, and one thread per core. The paper found "
          "software signing faster than the cards, and the Hifn 6500 and 7814 much slower than "
          "software.\n\n"
          "![Figure 2](%sfig2.png)\n",
          PK_WINDOW, imgrel);
  print_fig23(f, &R->res, "fig2", 1);
  fprintf(f, "\n![Figure 3](%sfig3.png)\n", imgrel);
  print_fig23(f, &R->res, "fig3", 1);
  fprintf(f,
          "\n## Figure 4: system-wide effect\n\n"
          "`ocf bench --figure 4`. A separate CPU-bound process (a fixed number of function calls, "
          "each an integer "
          "multiply) runs while N threads of this process do crypto: DES and 3DES on 1 KB "
          "requests, DSA-1024 signatures. The paper saw the hog's time grow with the threads in "
          "software and stay constant with the crypto offloaded.\n\n![Figure 4](%sfig4.png)\n",
          imgrel);
  print_fig4(f, &R->res, 1);
  fprintf(f,
          "\n## Tables 1 and 2: load balancing over four cards\n\n"
          "`ocf bench --table 1` and `--table 2`. 3DES encryption, each thread blocking on its "
          "request; cells are *ours / the paper's* Mbit/s, and below, ours as a share of the "
          "modeled aggregate peak (`ocf_sim_peak_mbps`: each card's engine, setup plus "
          "size / rate, limited by the shared bus). The paper's text gives Table 2's rows for 1 "
          "and 32 threads only.\n\n"
          "**Table 1**: four Hifn 7751 on a 64-bit/66 MHz PCI bus\n\n![Table 1](%stable1.png)\n",
          imgrel);
  print_table(f, &R->res, 1, 1);
  fprintf(
      f,
      "\n**Table 2**: four Broadcom 5820 on a 64-bit/66 MHz PCI bus\n\n![Table 2](%stable2.png)\n",
      imgrel);
  print_table(f, &R->res, 2, 1);
  fprintf(
      f,
      "\n## Beyond the paper: a heterogeneous set and two balancing policies\n\n"
      "`ocf bench --experiment hetero`. One Broadcom 5820 (PCI 64-bit) and two Hifn 7751 "
      "(sharing a 32-bit PCI bus) modeled in timing mode, the software producer and the "
      "dedicated-core producer (`cpu`, one worker per core), 3DES on 16 KB requests, "
      "eight consumer threads with 16 requests in flight each. Every producer is measured "
      "alone first, in a framework instance of its own, then soft and cpu together, then the whole "
      "set under the paper's `sessions` policy and under `capacity` (each request to the "
      "producer expected to finish it first; sessions replicated). Indented rows show "
      "where the bytes went. Soft and cpu run on the same cores of this host, so the "
      "summed capacity counts them together, not each alone.\n");
  pap_print_hetero(f, &R->res, 1);
  fprintf(f,
          "\n## Beyond the paper: dedicated cores\n\n"
          "`ocf bench --experiment dedicated`. The paper's section 6.4 idea: one consumer "
          "thread hands AES-128-GCM 16 KB requests to the `cpu` producer, whose worker "
          "threads (one per core) do the crypto, against the software producer run inline "
          "in the consumer's thread (`OCF_REQ_INLINE`) or through the framework's workers "
          "with `ocf_run`, and direct OpenSSL. *CPU cores busy* is the process's CPU time "
          "over the wall time.\n");
  pap_print_dedicated(f, &R->res, 1);
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

int paper_experiment_ok(const char *name) {
  return name != NULL && (strcmp(name, "hetero") == 0 || strcmp(name, "dedicated") == 0);
}

int bench_paper(const struct paper_opts *po) {
  if (po->experiment && !paper_experiment_ok(po->experiment)) {
    fprintf(stderr, "ocf bench: --experiment: unknown '%s' (hetero, dedicated)\n", po->experiment);
    return 2;
  }
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
  if (po->paper || (po->experiment && strcmp(po->experiment, "hetero") == 0)) pap_hetero(&R);
  if (po->paper || (po->experiment && strcmp(po->experiment, "dedicated") == 0)) pap_dedicated(&R);
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
