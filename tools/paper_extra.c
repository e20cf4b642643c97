/* paper_extra.c - experiments beyond the paper's section 5, reached with
 * `ocf bench --experiment NAME` and included in `--paper`:
 *
 *   hetero     one Broadcom 5820 and two Hifn 7751 models, the software
 *              producer and the dedicated-core producer together, 3DES at
 *              16 KB: each producer alone first, then the `sessions` and the
 *              `capacity` balancing policy on the whole set, against the sum
 *              of what the producers deliver alone
 *   dedicated  one consumer thread, AES-128-GCM at 16 KB: the dedicated-core
 *              producer (`cpu`) against inline software (ocf_run and
 *              OCF_REQ_INLINE on the software producer) and direct OpenSSL
 *
 * Summing capacities honestly: on this host the software producer and the
 * cpu producer run on the same cores, so their capacities do not add up.
 * The experiment measures each alone and the two together (sessions split
 * between them), and the target compares with the cards alone plus the
 * two host producers together. */
#include <errno.h>
#include <math.h>
#include <ocf/devices.h>
#include <ocf/driver.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define OCF_PAPER_INTERNAL
#include "check.h"
#include "paper.h"

double pap_cpu_seconds(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return NAN;
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static const struct point *xfind(const struct results *res, const char *exp, const char *series) {
  for (int i = 0; i < res->n; i++)
    if (strcmp(res->v[i].exp, exp) == 0 && strcmp(res->v[i].series, series) == 0) return &res->v[i];
  return NULL;
}

/* --- hetero ---------------------------------------------------------------- */

#define HET_DEVICES "bcm5820,hifn7751*2:mode=timing"
#define HET_SIZE 16384
enum { HET_THREADS = 8, HET_WINDOW = 16, HET_MAXP = 16 };

struct bytes_snap {
  int n;
  struct ocf_driver_stat st[HET_MAXP];
};

static void snap(struct bytes_snap *s) {
  s->n = ocf_driver_stats(s->st, HET_MAXP);
  if (s->n > HET_MAXP) s->n = HET_MAXP;
}

/* het_one measures the whole load (HET_THREADS threads, HET_WINDOW each) on
 * producer (NULL: where the policy puts it) with session flags, and records
 * it as series; with split, also each producer's share of the bytes. */
static const struct point *het_one(struct run *R, const struct bench_case *c, const char *series,
                                   const char *producer, unsigned flags, double secs, int split) {
  struct bench_params p = {.seconds = secs,
                           .threads = HET_THREADS,
                           .window = HET_WINDOW,
                           .direct_bufs = 1,
                           .sess_flags = flags};
  if (producer && pap_resolve(producer, &p) != 0) {
    pap_note(R, "hetero: no producer %s", producer);
    return NULL;
  }
  pap_progress(R, "hetero: %s", series);
  struct bytes_snap a, b;
  snap(&a);
  double cpu0 = pap_cpu_seconds();
  uint64_t t0 = bench_now_ns();
  struct bench_result r;
  int e = pap_measure(c, HET_SIZE, &p, 0, &r);
  double wall = (double)(bench_now_ns() - t0) / 1e9;
  double cpu = pap_cpu_seconds() - cpu0;
  snap(&b);
  struct point *pt = pap_add_point(&R->res, "hetero");
  pap_fill_point(pt, series, c, HET_SIZE, HET_THREADS, "ocf", &r);
  pt->window = HET_WINDOW;
  const char *mode = ocf_sim_mode();
  snprintf(pt->mode, sizeof(pt->mode), "%s", mode ? mode : "");
  pt->cpu_cores = wall > 0 ? cpu / wall : NAN;
  if (e != 0) {
    pap_note(R, "hetero: %s: %s", series, r.msg);
    pt->mbps = NAN;
    return pt;
  }
  if (split) {
    /* where the bytes went (warm-up included: a share, not a rate) */
    uint64_t total = 0, d[HET_MAXP];
    for (int i = 0; i < b.n; i++) {
      d[i] = b.st[i].bytes;
      for (int k = 0; k < a.n; k++)
        if (a.st[k].hid == b.st[i].hid) d[i] -= a.st[k].bytes;
      total += d[i];
    }
    for (int i = 0; i < b.n && total > 0; i++) {
      struct point *q = pap_add_point(&R->res, "hetero");
      char s[64];
      snprintf(s, sizeof(s), "%.30s -> %.28s", series, b.st[i].name);
      pap_fill_point(q, s, c, HET_SIZE, HET_THREADS, "ocf", &r);
      snprintf(q->producer, sizeof(q->producer), "%s", b.st[i].name);
      q->window = HET_WINDOW;
      q->mbps = r.mbps * (double)d[i] / (double)total;
      q->ops_per_s = r.ops_per_s * (double)d[i] / (double)total;
      q->p50_us = q->p99_us = NAN;
    }
  }
  return pt;
}

/* het_attach_cpu adds the dedicated-core producer (one worker per core). */
static int het_attach_cpu(struct run *R, uint32_t *hid) {
  int e = ocf_cpu_attach(0, 0, hid);
  if (e != 0) pap_note(R, "hetero: ocf_cpu_attach: %s", ocf_strerror(e));
  return e;
}

void pap_hetero(struct run *R) {
  struct bench_case c;
  char msg[200];
  if (bench_case_init(&c, "3des-cbc", msg, sizeof(msg)) != 0) {
    pap_note(R, "hetero: %s", msg);
    return;
  }
  double secs = R->secs * 4 > 0.5 ? R->secs * 4 : 0.5;
  uint32_t cpu = 0;
  /* 1. each producer alone, in a framework of its own (sessions pinned to
   * one producer of a larger set would crowd the others out of the paper's
   * fewest-sessions choice), then soft and cpu together */
  static const struct {
    const char *series, *devices;
    int soft, cpu;
  } alone[] = {
      {"alone: bcm5820", "bcm5820:mode=timing", 0, 0},
      {"alone: hifn7751 (x2: each)", "hifn7751:mode=timing", 0, 0},
      {"alone: soft", NULL, 1, 0},
      {"alone: cpu", NULL, 0, 1},
      {"together: soft + cpu", NULL, 1, 1},
  };
  for (size_t i = 0; i < sizeof(alone) / sizeof(alone[0]); i++) {
    if (pap_setup(R, alone[i].devices, !alone[i].soft, "sessions") != 0) continue;
    if (alone[i].cpu && het_attach_cpu(R, &cpu) != 0) continue;
    het_one(R, &c, alone[i].series, NULL, 0, secs, alone[i].soft && alone[i].cpu);
    if (alone[i].cpu) ocf_cpu_detach(cpu);
  }
  /* 2. the whole set under the paper's policy */
  if (pap_setup(R, HET_DEVICES, 0, "sessions") == 0 && het_attach_cpu(R, &cpu) == 0) {
    het_one(R, &c, "policy sessions", NULL, 0, secs, 1);
    ocf_cpu_detach(cpu);
  }
  /* 2. the capacity policy on the same set */
  if (pap_setup(R, HET_DEVICES, 0, "capacity") == 0 && het_attach_cpu(R, &cpu) == 0) {
    het_one(R, &c, "policy capacity", NULL, 0, secs, 1);
    ocf_cpu_detach(cpu);
  }
  ocf_shutdown();
  bench_case_wipe(&c);
  /* the capacities each policy run compares with */
  double cards = 0, host_alone = 0;
  int ok = 1;
  for (int i = 0; i < R->res.n; i++) {
    const struct point *p = &R->res.v[i];
    if (strcmp(p->exp, "hetero") != 0 || strncmp(p->series, "alone: ", 7) != 0) continue;
    if (!isfinite(p->mbps)) ok = 0;
    if (strncmp(p->series + 7, "bcm", 3) == 0)
      cards += p->mbps;
    else if (strncmp(p->series + 7, "hifn7751", 8) == 0)
      cards += 2 * p->mbps; /* two of them, on a bus they do not fill */
    else
      host_alone += p->mbps;
  }
  const struct point *host = xfind(&R->res, "hetero", "together: soft + cpu");
  for (int i = 0; i < R->res.n && ok && host && isfinite(host->mbps); i++) {
    struct point *p = &R->res.v[i];
    if (strcmp(p->exp, "hetero") == 0 && strncmp(p->series, "policy ", 7) == 0 &&
        strstr(p->series, " -> ") == NULL)
      p->peak_mbps = cards + host->mbps;
  }
  if (ok && host)
    pap_note(R,
             "hetero: summed capacity %.1f Mbit/s = cards alone %.1f + soft and cpu together "
             "%.1f (they share this host's cores; each alone sums to %.1f)",
             cards + host->mbps, cards, host->mbps, host_alone);
  pap_progress_done(R);
}

void pap_print_hetero(FILE *f, const struct results *res, int md) {
  const struct point *cap = xfind(res, "hetero", "policy capacity");
  const struct point *ses = xfind(res, "hetero", "policy sessions");
  const struct point *host = xfind(res, "hetero", "together: soft + cpu");
  int any = 0;
  for (int i = 0; i < res->n && !any; i++) any = strcmp(res->v[i].exp, "hetero") == 0;
  if (!any) return;
  double sum = cap && isfinite(cap->peak_mbps) ? cap->peak_mbps : ses ? ses->peak_mbps : NAN;
  if (md)
    fprintf(f,
            "\n| run | Mbit/s | %% of summed capacity | CPU cores busy |\n|---|---:|---:|---:|\n");
  else
    fprintf(f,
            "\nHeterogeneous set (%s, soft, cpu), 3DES %d B, %d threads x %d in flight\n%-42s %9s "
            "%9s %9s\n",
            HET_DEVICES, HET_SIZE, HET_THREADS, HET_WINDOW, "run", "Mbit/s", "% of sum", "cores");
  double alone_sum = 0;
  for (int i = 0; i < res->n; i++) {
    const struct point *p = &res->v[i];
    if (strcmp(p->exp, "hetero") != 0) continue;
    if (strncmp(p->series, "alone: ", 7) == 0 && isfinite(p->mbps))
      alone_sum += strstr(p->series, "x2") ? 2 * p->mbps : p->mbps;
    char a[32], b[32], c[32], name[80];
    const char *arrow = strstr(p->series, " -> ");
    int part = arrow != NULL;
    snprintf(name, sizeof(name), "%s%s", part ? "  -> " : "", part ? arrow + 4 : p->series);
    pap_fmt(a, sizeof(a), p->mbps, 1);
    pap_fmt(b, sizeof(b), part || !isfinite(sum) ? NAN : 100.0 * p->mbps / sum, 1);
    pap_fmt(c, sizeof(c), p->cpu_cores, 2);
    if (md)
      fprintf(f, "| %s%s | %s | %s | %s |\n", part ? "&nbsp;&nbsp;&rarr; " : "",
              part ? arrow + 4 : p->series, a, part ? "" : b, part ? "" : c);
    else
      fprintf(f, "%-42.42s %9s %9s %9s\n", name, a, part ? "" : b, part ? "" : c);
  }
  const char *br = md ? "\n" : "";
  if (host && isfinite(sum))
    fprintf(f,
            "%sSummed capacity: %.1f Mbit/s = the three cards, each alone, plus soft and cpu "
            "together (%.1f); the five producers each alone add up to %.1f, but soft and cpu "
            "share this host's cores, so that figure is not reachable.\n",
            br, sum, host->mbps, alone_sum);
  if (cap && ses && isfinite(sum) && isfinite(cap->mbps)) {
    double pc = 100.0 * cap->mbps / sum;
    fprintf(f,
            "%sTarget: `capacity` %.1f Mbit/s = %.1f%% of the summed capacity (>= 90%%: %s); "
            "`sessions` %.1f Mbit/s = %.1f%% (it never uses software while a card can serve).\n",
            br, cap->mbps, pc, pc >= 90 ? "met" : "NOT met", ses->mbps, 100.0 * ses->mbps / sum);
  }
}

/* --- dedicated ----------------------------------------------------------------- */

#define DED_SIZE 16384
enum { DED_WINDOW = 64 };

struct inl {
  _Atomic int done;
  int err;
};

static void inl_cb(struct ocf_req *req) {
  struct inl *s = req->opaque;
  s->err = req->error;
  atomic_store_explicit(&s->done, 1, memory_order_release);
}

/* inline_rate: one thread dispatches with OCF_REQ_INLINE on the software
 * producer, which runs the request (and its callback) before ocf_dispatch
 * returns; *inl_share gets the share of requests that did run inline. */
static int inline_rate(const struct bench_case *c, double secs, uint32_t soft_hid,
                       struct bench_result *r, double *inl_share) {
  memset(r, 0, sizeof(*r));
  r->mbps = r->ops_per_s = r->p50_us = r->p99_us = NAN;
  struct ocf_sessparam sp;
  memset(&sp, 0, sizeof(sp));
  sp.alg = c->first->alg;
  sp.key = c->key1;
  sp.keylen = c->first->keylen;
  struct ck_target tg = {.hid = soft_hid, .sess_flags = OCF_SESS_SWONLY};
  snprintf(tg.name, sizeof(tg.name), "soft");
  ocf_sid_t sid = 0;
  int e = ck_open(&tg, &sp, &sid, r->msg, sizeof(r->msg));
  if (e != 0) return e;
  ocf_session_driver(sid, r->producer, sizeof(r->producer));
  size_t len = DED_SIZE + c->taglen;
  uint8_t *buf = bench_alloc(len);
  bench_case_fill(c, buf, DED_SIZE);
  struct inl st;
  uint64_t ops = 0, inl = 0, now = bench_now_ns(), t0 = now;
  uint64_t warm = t0 + (uint64_t)(secs * 0.1e9), deadline = 0;
  while (deadline == 0 || now < deadline) {
    struct ocf_req req;
    memset(&req, 0, sizeof(req));
    req.sid = sid;
    req.flags = OCF_REQ_INLINE;
    req.buf = ocf_buf_contig(buf, len);
    req.ndesc = 1;
    req.desc[0].alg = c->first->alg;
    req.desc[0].len = DED_SIZE;
    req.desc[0].inject = DED_SIZE;
    req.desc[0].flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT;
    memcpy(req.desc[0].iv, c->iv1, 16);
    req.callback = inl_cb;
    req.opaque = &st;
    atomic_store(&st.done, 0);
    st.err = 0;
    if ((e = ocf_dispatch(&req)) != 0) break;
    int ran_inline = atomic_load_explicit(&st.done, memory_order_acquire);
    while (!atomic_load_explicit(&st.done, memory_order_acquire)) sched_yield();
    if ((e = st.err) != 0 && e != EAGAIN) break;
    e = 0;
    sid = req.sid;
    now = bench_now_ns();
    if (deadline == 0) {
      if (now >= warm) {
        deadline = now + (uint64_t)(secs * 1e9);
        t0 = now;
      }
      continue;
    }
    ops++;
    inl += ran_inline;
  }
  for (int i = 0; i < 1000 && ocf_freesession(sid) == EBUSY; i++) {
  }
  free(buf);
  if (e != 0) {
    snprintf(r->msg, sizeof(r->msg), "inline request failed: %s", ocf_strerror(e));
    return e;
  }
  r->ops = ops;
  r->elapsed = (double)(now - t0) / 1e9;
  r->ops_per_s = (double)ops / r->elapsed;
  r->mbps = r->ops_per_s * DED_SIZE * 8 / 1e6;
  *inl_share = ops ? (double)inl / (double)ops : NAN;
  return 0;
}

static uint32_t hid_of(const char *name) {
  struct ocf_driver_stat st[HET_MAXP];
  int n = ocf_driver_stats(st, HET_MAXP);
  for (int i = 0; i < n && i < HET_MAXP; i++)
    if (strcmp(st[i].name, name) == 0 && !st[i].detached) return st[i].hid;
  return 0;
}

void pap_dedicated(struct run *R) {
  struct bench_case c;
  char msg[200];
  if (bench_case_init(&c, "aes-128-gcm", msg, sizeof(msg)) != 0) {
    pap_note(R, "dedicated: %s", msg);
    return;
  }
  double secs = R->secs * 5 > 0.6 ? R->secs * 5 : 0.6;
  uint32_t cpu = 0, cpu_pin = 0;
  if (pap_setup(R, NULL, 0, "sessions") != 0) goto out;
  int e = ocf_cpu_attach(0, 0, &cpu);
  if (e == 0) e = ocf_cpu_attach(0, 1, &cpu_pin);
  if (e != 0) {
    pap_note(R, "dedicated: ocf_cpu_attach: %s", ocf_strerror(e));
    goto out;
  }
  /* instances are named "cpu", "cpu1", ... in the order of their attach
   * over the process's life: find them by id */
  char plain[64] = "", pinned[64] = "";
  struct ocf_driver_stat st[HET_MAXP];
  int n = ocf_driver_stats(st, HET_MAXP);
  for (int i = 0; i < n && i < HET_MAXP; i++) {
    if (st[i].hid == cpu) snprintf(plain, sizeof(plain), "%s", st[i].name);
    if (st[i].hid == cpu_pin) snprintf(pinned, sizeof(pinned), "%s", st[i].name);
  }
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  /* alternate the runs over three rounds, so that a drift in the machine's
   * load does not favour one of them */
  enum { RUNS = 6 };
  static const char *const names[RUNS] = {"soft, OCF_REQ_INLINE",       "soft, ocf_run (blocking)",
                                          "cpu, 1 in flight (ocf_run)", "cpu, 64 in flight",
                                          "cpu pinned, 64 in flight",   "OpenSSL direct"};
  double ops[RUNS] = {0}, el[RUNS] = {0}, cpus[RUNS] = {0}, walls[RUNS] = {0}, share = NAN;
  char prod[RUNS][64];
  int bad[RUNS] = {0};
  memset(prod, 0, sizeof(prod));
  for (int round = 0; round < 3; round++)
    for (int k = 0; k < RUNS; k++) {
      if (bad[k]) continue;
      pap_progress(R, "dedicated: %s (round %d)", names[k], round + 1);
      struct bench_params p = {.seconds = secs / 3, .threads = 1, .window = 1, .direct_bufs = 1};
      struct bench_result r;
      double cpu0 = pap_cpu_seconds();
      uint64_t t0 = bench_now_ns();
      if (k == 0) {
        e = inline_rate(&c, secs / 3, hid_of("soft"), &r, &share);
      } else if (k == 5) {
        e = pap_measure(&c, DED_SIZE, &p, 1, &r);
        snprintf(r.producer, sizeof(r.producer), "openssl");
      } else {
        e = pap_resolve(k == 1 ? "soft" : k == 4 ? pinned : plain, &p);
        p.window = k >= 3 ? DED_WINDOW : 1;
        if (e == 0)
          e = k >= 3 ? pap_measure(&c, DED_SIZE, &p, 0, &r)
                     : pap_measure_sync(&c, DED_SIZE, &p, &r);
      }
      double wall = (double)(bench_now_ns() - t0) / 1e9;
      if (e != 0) {
        pap_note(R, "dedicated: %s: %s", names[k], r.msg[0] ? r.msg : ocf_strerror(e));
        bad[k] = 1;
        continue;
      }
      ops[k] += (double)r.ops;
      el[k] += r.elapsed;
      cpus[k] += pap_cpu_seconds() - cpu0;
      walls[k] += wall;
      snprintf(prod[k], sizeof(prod[k]), "%s", r.producer);
    }
  for (int k = 0; k < RUNS; k++) {
    if (bad[k] || el[k] <= 0) continue;
    struct point *pt = pap_add_point(&R->res, "dedic");
    snprintf(pt->series, sizeof(pt->series), "%s", names[k]);
    snprintf(pt->alg, sizeof(pt->alg), "%.31s", c.name);
    pt->size = DED_SIZE;
    pt->threads = 1;
    pt->window = k >= 3 && k <= 4 ? DED_WINDOW : 1;
    snprintf(pt->path, sizeof(pt->path), "%s", k == 5 ? "direct" : "ocf");
    snprintf(pt->producer, sizeof(pt->producer), "%s", prod[k]);
    pt->ops_per_s = ops[k] / el[k];
    pt->mbps = pt->ops_per_s * DED_SIZE * 8 / 1e6;
    pt->cpu_cores = walls[k] > 0 ? cpus[k] / walls[k] : NAN;
  }
  if (isfinite(share) && share < 0.99)
    pap_note(R, "dedicated: only %.0f%% of the OCF_REQ_INLINE requests ran inline", share * 100);
  pap_note(R, "dedicated: the cpu producer runs %ld worker threads (one per online core)", ncpu);
out:
  if (cpu) ocf_cpu_detach(cpu);
  if (cpu_pin) ocf_cpu_detach(cpu_pin);
  ocf_shutdown();
  bench_case_wipe(&c);
  pap_progress_done(R);
}

void pap_print_dedicated(FILE *f, const struct results *res, int md) {
  const struct point *inl = xfind(res, "dedic", "soft, OCF_REQ_INLINE");
  int any = 0;
  for (int i = 0; i < res->n && !any; i++) any = strcmp(res->v[i].exp, "dedic") == 0;
  if (!any) return;
  if (md)
    fprintf(f,
            "\n| one consumer thread | producer | Mbit/s | x inline | CPU cores busy |\n"
            "|---|---|---:|---:|---:|\n");
  else
    fprintf(f, "\nDedicated cores: one consumer thread, AES-128-GCM %d B\n%-28s %-8s %9s %9s %9s\n",
            DED_SIZE, "run", "producer", "Mbit/s", "x inline", "cores");
  for (int i = 0; i < res->n; i++) {
    const struct point *p = &res->v[i];
    if (strcmp(p->exp, "dedic") != 0) continue;
    char a[32], b[32], c[32];
    pap_fmt(a, sizeof(a), p->mbps, 0);
    pap_fmt(b, sizeof(b), inl && inl->mbps > 0 ? p->mbps / inl->mbps : NAN, 2);
    pap_fmt(c, sizeof(c), p->cpu_cores, 2);
    fprintf(f, md ? "| %s | %s | %s | %s | %s |\n" : "%-28.28s %-8.8s %9s %9s %9s\n", p->series,
            p->producer, a, b, c);
  }
}
