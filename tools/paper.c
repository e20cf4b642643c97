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
 * one producer.
 *
 * Here: the shared set-up and measurements, figure 1, the tables and the
 * entry point; figures 2 and 3 are in paper_rsa.c, figure 4 in
 * paper_hog.c, the printing, files, plots and report in paper_out.c, the
 * experiments beyond the paper in paper_extra.c. */
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
#include <sys/stat.h>
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
const char *const fig1_algs[5] = {"null", "des-cbc", "3des-cbc", "aes-128-cbc", "aes-128-gcm"};

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

/* --- tables 1 and 2 ------------------------------------------------------------- */

const int tab_threads[5] = {1, 2, 3, 4, 32};
const size_t tab_sizes[6] = {16, 64, 256, 1024, 8192, 16384};
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
    pap_figure23(&R, po->paper || po->figure == 2, po->paper || po->figure == 3);
  if (po->paper || po->figure == 4) pap_figure4(&R);
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
    pap_print_all(tf, &R, 0);
    for (int i = 0; i < R.nnotes; i++) fprintf(tf, "%snote: %s\n", i ? "" : "\n", R.notes[i]);
  }
  if (R.res.n == 0) {
    fprintf(stderr, "ocf bench: nothing could be measured%s\n",
            R.nnotes ? " (see the notes above)" : "");
    rc = 1;
  }
  if (po->json && pap_write_json(po->json, &R.res)) rc = 1;
  if (po->csv && pap_write_csv(po->csv, &R.res)) rc = 1;
  if (po->paper) {
    /* the report's directory, as the plots would make it (a failure shows
     * in the writes below) */
    if (mkdir(dirbuf, 0777) != 0 && errno != EEXIST)
      fprintf(stderr, "ocf bench: cannot create %s: %s\n", dirbuf, strerror(errno));
    char p[1100];
    snprintf(p, sizeof(p), "%s/results.json", dirbuf);
    if (pap_write_json(p, &R.res)) rc = 1;
    snprintf(p, sizeof(p), "%s/results.csv", dirbuf);
    if (pap_write_csv(p, &R.res)) rc = 1;
  }
  if (R.plotdir && pap_plots(&R)) rc = 1;
  if (po->paper) {
    /* images are linked relative to the report */
    char rel[1100] = "";
    if (po->plot && strcmp(po->plot, dirbuf) != 0) snprintf(rel, sizeof(rel), "%s/", po->plot);
    if (pap_report(&R, out, rel))
      rc = 1;
    else if (!po->quiet)
      fprintf(stderr, "ocf bench: wrote %s\n", out);
  }
  if (R.failed) rc = 1;
  free(R.res.v);
  return rc;
}
