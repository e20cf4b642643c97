/*
 * cpu.c - the dedicated-core producer: process() appends the request to a
 * bounded ring and returns; N worker threads of the producer's own take
 * requests off it in batches (one lock round trip per batch) and run them
 * with the shared transform engine.  A full ring answers OCF_EBUSY_DRV and
 * the workers call ocf_unblock once it has drained to half.
 *
 * It registers as a SOFTWARE producer (not SYNC): it runs on the host's
 * cores, so it must never displace an accelerator under the paper's
 * hardware-first rule, and HWONLY sessions must not land on it.
 */
#include <errno.h>
#include <math.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drivers/cpu/cpu.h"
#include "drivers/engine/engine.h"

#define RING 4096
#define BATCH 16

struct cpu {
  uint32_t hid;
  int nthreads;
  pthread_t *thr;
  pthread_mutex_t m;
  pthread_cond_t cv;
  struct ocf_req *ring[RING]; /* [m] */
  unsigned head, count;       /* [m] */
  int waiting;                /* [m] workers asleep on cv */
  bool blocked;               /* [m] answered busy: unblock when drained */
  bool stop;                  /* [m] */
  struct cpu *next;           /* [list_lock] */
};

static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cpu *list;   /* [list_lock] */
static unsigned instances; /* [list_lock] names handed out */

static int cpu_newsession(void *softc, void **dsess, const struct ocf_sessparam *chain) {
  struct ocf_eng_sess *s;
  int rc = ocf_eng_new(&s, chain);
  if (rc == 0) *dsess = s;
  return rc;
}

static void cpu_freesession(void *softc, void *dsess) { ocf_eng_free(dsess); }

static int cpu_process(void *softc, void *dsess, struct ocf_req *req) {
  struct cpu *c = softc;
  pthread_mutex_lock(&c->m);
  if (c->count == RING) {
    c->blocked = true;
    pthread_mutex_unlock(&c->m);
    return OCF_EBUSY_DRV;
  }
  c->ring[(c->head + c->count) % RING] = req;
  c->count++;
  if (c->waiting > 0) pthread_cond_signal(&c->cv);
  pthread_mutex_unlock(&c->m);
  return 0;
}

static void *cpu_worker(void *arg) {
  struct cpu *c = arg;
  struct ocf_req *batch[BATCH];
  pthread_mutex_lock(&c->m);
  for (;;) {
    while (c->count == 0 && !c->stop) {
      c->waiting++;
      pthread_cond_wait(&c->cv, &c->m);
      c->waiting--;
    }
    if (c->count == 0 && c->stop) break;
    /* Take a share, leaving work for the others (they run in parallel). */
    unsigned take = (c->count + (unsigned)c->nthreads - 1) / (unsigned)c->nthreads;
    if (take > BATCH) take = BATCH;
    for (unsigned i = 0; i < take; i++) {
      batch[i] = c->ring[c->head];
      c->head = (c->head + 1) % RING;
    }
    c->count -= take;
    if (c->count > 0 && c->waiting > 0) pthread_cond_signal(&c->cv);
    bool unblock = c->blocked && c->count <= RING / 2;
    if (unblock) c->blocked = false;
    pthread_mutex_unlock(&c->m);
    if (unblock) ocf_unblock(c->hid);
    for (unsigned i = 0; i < take; i++) {
      struct ocf_req *r = batch[i];
      r->error = ocf_eng_run(r->dsess_, r);
    }
    /* one hand-off to the framework's return thread per batch, as a card
     * coalesces its interrupts: per-request hand-offs cost more than
     * the crypto of a small request */
    ocf_done_batch(batch, (int)take);
    pthread_mutex_lock(&c->m);
  }
  pthread_mutex_unlock(&c->m);
  return NULL;
}

/* --- self-calibration ------------------------------------------------------
 * The capacity and size policies place work only on producers whose rate
 * they know: the framework measures synchronous producers, asynchronous ones
 * must declare it.  At attach the engine is timed on this host for each
 * algorithm at two request sizes (best of a few tries, so a preempted try
 * does not count), and the fit time = fixed + bytes * per_byte, scaled by
 * the workers that can run at once, is declared with ocf_set_rate. */

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

enum { CAL_SMALL = 64, CAL_LARGE = 4096, CAL_ROOM = CAL_LARGE + OCF_MAX_IV };

/* cal_time: best nanoseconds per request of len bytes over a few tries. */
static double cal_time(struct ocf_eng_sess *s, const struct ocf_alg_info *ai, uint8_t *buf,
                       size_t len, int reps) {
  double best = INFINITY;
  for (int t = 0; t < 3; t++) {
    uint64_t t0 = mono_ns();
    for (int i = 0; i < reps; i++) {
      struct ocf_req req;
      memset(&req, 0, sizeof(req));
      req.buf = ocf_buf_contig(buf, CAL_ROOM);
      req.ndesc = 1;
      struct ocf_desc *d = &req.desc[0];
      d->alg = ai->alg;
      d->len = len;
      d->inject = len;
      if (ai->cls == OCF_CLASS_CIPHER || ai->cls == OCF_CLASS_AEAD) d->flags = OCF_D_ENCRYPT;
      if (ai->ivlen > 0) d->flags |= OCF_D_IV_EXPLICIT; /* d->iv: zeros */
      if (ocf_eng_run(s, &req) != 0) return NAN;
    }
    double per = (double)(mono_ns() - t0) / reps;
    if (per < best) best = per;
  }
  return best;
}

static void cpu_calibrate(struct cpu *c) {
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  double par = c->nthreads < ncpu ? c->nthreads : (double)(ncpu > 0 ? ncpu : 1);
  uint8_t key[64], *buf = calloc(1, CAL_ROOM);
  if (buf == NULL) return;
  ocf_random(key, sizeof(key));
  for (int a = 1; a < OCF_ALG__MAX; a++) {
    const struct ocf_alg_info *ai = ocf_alg_lookup((enum ocf_alg)a);
    /* compression speed depends on the data: left to be learned elsewhere */
    if (ai == NULL || ai->cls == OCF_CLASS_COMP || !ocf_eng_supports((enum ocf_alg)a)) continue;
    struct ocf_sessparam sp = {.alg = (enum ocf_alg)a};
    size_t kl = ai->min_key;
    while (kl > 0 && kl <= ai->max_key && !ocf_alg_keylen_ok((enum ocf_alg)a, kl)) kl++;
    if (kl > sizeof(key)) continue;
    sp.key = kl ? key : NULL;
    sp.keylen = kl;
    struct ocf_eng_sess *s;
    if (ocf_eng_new(&s, &sp) != 0) continue;
    double small = cal_time(s, ai, buf, CAL_SMALL, 32), large = cal_time(s, ai, buf, CAL_LARGE, 8);
    ocf_eng_free(s);
    if (!(small > 0) || !(large > 0)) continue;
    double per_byte = (large - small) / (CAL_LARGE - CAL_SMALL);
    if (per_byte <= 0) per_byte = large / CAL_LARGE;
    double fixed = small - per_byte * CAL_SMALL;
    if (fixed < 0) fixed = 0;
    ocf_set_rate(c->hid, (enum ocf_alg)a, par * 1e9 / per_byte, fixed / par);
  }
  OPENSSL_cleanse(key, sizeof(key));
  free(buf);
}

static const struct ocf_driver_ops cpu_ops = {
    .newsession = cpu_newsession,
    .freesession = cpu_freesession,
    .process = cpu_process,
    .kprocess = NULL,
};

static void cpu_stop(struct cpu *c, int started) {
  pthread_mutex_lock(&c->m);
  c->stop = true;
  pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->m);
  for (int i = 0; i < started; i++) pthread_join(c->thr[i], NULL);
  pthread_mutex_destroy(&c->m);
  pthread_cond_destroy(&c->cv);
  free(c->thr);
  free(c);
  ocf_eng_release();
}

int ocf_cpu_attach(int nthreads, int pin, uint32_t *hid) {
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (ncpu < 1) ncpu = 1;
  if (nthreads == 0) nthreads = (int)ncpu;
  if (nthreads < 1 || nthreads > 256 || hid == NULL) return EINVAL;
  int rc = ocf_eng_hold();
  if (rc != 0) return rc;
  struct cpu *c = calloc(1, sizeof(*c));
  if (c == NULL || (c->thr = calloc((size_t)nthreads, sizeof(pthread_t))) == NULL) {
    free(c);
    ocf_eng_release();
    return ENOMEM;
  }
  c->nthreads = nthreads;
  pthread_mutex_init(&c->m, NULL);
  pthread_cond_init(&c->cv, NULL);
  int started = 0;
  for (; started < nthreads; started++) {
    if (pthread_create(&c->thr[started], NULL, cpu_worker, c) != 0) break;
    if (pin) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET((int)((ncpu - 1 - started % ncpu + ncpu) % ncpu), &set);
      if (pthread_setaffinity_np(c->thr[started], sizeof(set), &set) != 0)
        ocf_log(1, "cpu: cannot pin worker %d", started);
    }
  }
  if (started < nthreads) {
    cpu_stop(c, started);
    return EAGAIN;
  }
  char name[32];
  pthread_mutex_lock(&list_lock);
  unsigned idx = instances++;
  pthread_mutex_unlock(&list_lock);
  if (idx == 0)
    snprintf(name, sizeof(name), "cpu");
  else
    snprintf(name, sizeof(name), "cpu%u", idx);
  rc = ocf_get_driverid(name, OCF_DRV_SOFTWARE, &cpu_ops, c, &c->hid);
  if (rc != 0) {
    cpu_stop(c, started);
    return rc;
  }
  for (int a = 1; a < OCF_ALG__MAX; a++)
    if (ocf_alg_lookup((enum ocf_alg)a) != NULL && ocf_eng_supports((enum ocf_alg)a))
      ocf_register(c->hid, (enum ocf_alg)a, 0, 0);
  cpu_calibrate(c);
  pthread_mutex_lock(&list_lock);
  c->next = list;
  list = c;
  pthread_mutex_unlock(&list_lock);
  *hid = c->hid;
  return 0;
}

void ocf_cpu_detach(uint32_t hid) {
  pthread_mutex_lock(&list_lock);
  struct cpu **pp = &list, *c = NULL;
  for (; *pp != NULL; pp = &(*pp)->next)
    if ((*pp)->hid == hid) {
      c = *pp;
      *pp = c->next;
      break;
    }
  pthread_mutex_unlock(&list_lock);
  if (c == NULL) return;
  /* The workers keep running until the framework has taken back everything:
   * ocf_unregister_all waits for the requests they hold. */
  ocf_unregister_all(hid);
  cpu_stop(c, c->nthreads);
}
