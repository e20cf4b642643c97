/*
 * test_threads.c - one session used by many threads at once.  Eight threads
 * each keep dozens of asynchronous requests in flight on a shared session
 * (AES-128-CBC + HMAC-SHA256 encrypt-then-MAC, and AES-128-GCM), mixed with
 * synchronous ocf_run calls, each request with its own data and IV; every
 * result is checked against direct OpenSSL (tests/lib/ref.c) and every
 * callback must arrive exactly once.  A last case interleaves sessions that
 * differ only in their keys, which catches producer state shared across
 * sessions.
 *
 * $OCF_TEST_SEED reproduces the data (not the thread interleaving);
 * $OCF_TEST_SCALE divides the request counts.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* cmocka.h needs the headers above */
// clang-format off
#include <cmocka.h>
// clang-format on

#include "ref.h"

#define NTHREADS 8
#define WINDOW 48    /* asynchronous requests in flight per thread */
#define MAXDATA 2048 /* payload bytes per request */
#define HDR 24       /* room before the payload: IV or AAD */
#define BUFSZ (HDR + MAXDATA + 64)
#define MAXSESS 4

static uint64_t seed;
static int scale = 1;

/* a session under test: its chain (keys owned here) and request shape */
struct tsess {
  const char *name;
  int gcm; /* 0: AES-128-CBC + HMAC-SHA256 ETM, 1: AES-128-GCM */
  struct ocf_sessparam sp[2];
  uint8_t key[2][32];
  ocf_sid_t sid;
};

struct worker;

struct slot {
  struct ocf_req req;
  struct worker *w;
  int idx;
  long seq;      /* request number within the thread */
  atomic_int cb; /* callbacks for the current dispatch */
  int tampered;  /* expect EBADMSG */
  struct tsess *s;
  size_t n;
  struct iovec iov[3];
  uint8_t in[BUFSZ];  /* contents before the request */
  uint8_t buf[BUFSZ]; /* the request's buffer */
};

struct worker {
  int id;
  pthread_t th;
  struct ref_rng rng;
  struct tsess **sess;
  int nsess;
  long nreq;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int ring[WINDOW + 1]; /* completed slot indexes, guarded by mu */
  int head, tail;
  struct slot *slots;
  uint8_t *seen; /* per request: verified once */
  /* results */
  long ok, bad, runs, async, ebadmsg;
  char first_err[256];
};

static atomic_long g_dispatched, g_callbacks, g_dups;

static void cb(struct ocf_req *req) {
  struct slot *s = req->opaque;
  atomic_fetch_add(&g_callbacks, 1);
  if (atomic_fetch_add(&s->cb, 1) != 0) {
    atomic_fetch_add(&g_dups, 1);
    return;
  }
  struct worker *w = s->w;
  pthread_mutex_lock(&w->mu);
  w->ring[w->tail] = s->idx;
  w->tail = (w->tail + 1) % (WINDOW + 1);
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

static void tfail(struct worker *w, struct slot *s, const char *fmt, ...) {
  w->bad++;
  if (w->first_err[0]) return;
  char msg[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  snprintf(w->first_err, sizeof(w->first_err), "thread %d request %ld (%s, %s, n=%zu): %s", w->id,
           s->seq, s->s->name, (s->req.desc[0].flags & OCF_D_ENCRYPT) ? "enc" : "dec", s->n, msg);
}

/* prepare fills slot s with a fresh request on a random session. */
static void prepare(struct worker *w, struct slot *s, long seq) {
  struct ref_rng *r = &w->rng;
  struct tsess *ts = w->sess[ref_rand(r) % (uint64_t)w->nsess];
  size_t len = ref_range(r, 1, MAXDATA / 16) * 16;
  int enc = ref_rand(r) % 2;
  struct ocf_req *q = &s->req;
  memset(q, 0, sizeof(*q));
  s->s = ts;
  s->seq = seq;
  s->tampered = 0;
  atomic_store(&s->cb, 0);
  ref_fill(r, s->in, BUFSZ);
  /* make every request's data distinct even if the PRNG streams met */
  memcpy(s->in + HDR, &w->id, sizeof(w->id));
  memcpy(s->in + HDR + sizeof(w->id), &seq, sizeof(seq));
  struct ocf_desc *d = q->desc;
  size_t maclen = ref_maclen(&ts->sp[ts->gcm ? 0 : 1]);
  if (ts->gcm) {
    /* [AAD 8][nonce 12][pad 4][data][tag] */
    d[0].alg = OCF_ALG_AES_GCM;
    d[0].aad_skip = 0;
    d[0].aad_len = 8;
    d[0].skip = HDR;
    d[0].len = len;
    d[0].inject = HDR + len;
    d[0].iv_off = 8;
    int ivmode = (int)(ref_rand(r) % 3);
    d[0].flags = ivmode == 0 ? OCF_D_IV_EXPLICIT : ivmode == 1 ? OCF_D_IV_PRESENT : 0;
    if (ivmode == 0) ref_fill(r, d[0].iv, 12);
    q->ndesc = 1;
  } else {
    /* [IV 16][pad 8][data][HMAC]: ETM, the MAC covers IV and ciphertext */
    d[0].alg = OCF_ALG_AES_CBC;
    d[0].skip = HDR;
    d[0].len = len;
    d[0].iv_off = 0;
    int ivmode = (int)(ref_rand(r) % 3);
    d[0].flags = ivmode == 0 ? OCF_D_IV_EXPLICIT : ivmode == 1 ? OCF_D_IV_PRESENT : 0;
    if (ivmode == 0) ref_fill(r, d[0].iv, 16);
    d[1].alg = OCF_ALG_HMAC_SHA2_256;
    d[1].skip = 0;
    d[1].len = HDR + len;
    d[1].inject = HDR + len;
    q->ndesc = 2;
  }
  s->n = HDR + len + maclen + ref_range(r, 0, 7);
  if (enc) {
    d[0].flags |= OCF_D_ENCRYPT;
  } else {
    /* decrypt a ciphertext made by the reference (its IV now in place) */
    if (!(d[0].flags & OCF_D_IV_EXPLICIT)) d[0].flags = OCF_D_IV_PRESENT;
    d[0].flags |= OCF_D_ENCRYPT;
    uint8_t gen[OCF_MAX_DESC][OCF_MAX_IV];
    memset(gen, 0, sizeof(gen));
    ref_fill(r, gen[0], 16);
    /* no cmocka asserts off the main thread: failures are collected */
    if (ref_apply(ts->sp, s->in, s->n, d, q->ndesc, (const uint8_t(*)[OCF_MAX_IV])gen, NULL) != 0)
      tfail(w, s, "reference encryption failed");
    d[0].flags &= ~OCF_D_ENCRYPT;
    if (!ts->gcm) {
      struct ocf_desc t = d[0];
      d[0] = d[1];
      d[1] = t;
      d[0].flags |= OCF_D_VERIFY;
    }
    if (ref_rand(r) % 16 == 0) {
      s->in[HDR + ref_range(r, 0, len - 1)] ^= 0x10;
      s->tampered = 1;
    }
  }
  memcpy(s->buf, s->in, s->n);
  q->sid = ts->sid;
  if (ref_rand(r) % 3 == 0) {
    /* the same bytes as an iovec list cut inside a block and the MAC */
    size_t c1 = ref_range(r, 1, HDR + len - 1), c2 = ref_range(r, HDR + len + 1, s->n - 1);
    s->iov[0].iov_base = s->buf;
    s->iov[0].iov_len = c1;
    s->iov[1].iov_base = s->buf + c1;
    s->iov[1].iov_len = c2 - c1;
    s->iov[2].iov_base = s->buf + c2;
    s->iov[2].iov_len = s->n - c2;
    q->buf = ocf_buf_iovec(s->iov, 3);
  } else {
    q->buf = ocf_buf_contig(s->buf, s->n);
  }
  q->callback = cb;
  q->opaque = s;
}

/* check compares a completed request with the reference. */
static void check(struct worker *w, struct slot *s, int err) {
  struct ocf_req *q = &s->req;
  if (s->seq < 0 || s->seq >= w->nreq || w->seen[s->seq]) {
    tfail(w, s, "completed twice");
    return;
  }
  w->seen[s->seq] = 1;
  if (atomic_load(&s->cb) > 1) tfail(w, s, "%d callbacks", atomic_load(&s->cb));
  uint8_t exp[BUFSZ], gen[OCF_MAX_DESC][OCF_MAX_IV];
  memcpy(exp, s->in, s->n);
  for (int i = 0; i < q->ndesc; i++) memcpy(gen[i], q->desc[i].iv, OCF_MAX_IV);
  int rerr =
      ref_apply(s->s->sp, exp, s->n, q->desc, q->ndesc, (const uint8_t(*)[OCF_MAX_IV])gen, NULL);
  if (s->tampered && rerr != EBADMSG) {
    tfail(w, s, "reference accepted a tampered message");
    return;
  }
  if (err != rerr) {
    tfail(w, s, "error %d, reference %d", err, rerr);
    return;
  }
  if (err == EBADMSG) {
    w->ebadmsg++;
    w->ok++;
    return;
  }
  if (memcmp(s->buf, exp, s->n) != 0) {
    size_t at = 0;
    while (s->buf[at] == exp[at]) at++;
    tfail(w, s, "output differs from OpenSSL at byte %zu", at);
    return;
  }
  w->ok++;
}

static int take_done(struct worker *w) {
  pthread_mutex_lock(&w->mu);
  while (w->head == w->tail) pthread_cond_wait(&w->cv, &w->mu);
  int i = w->ring[w->head];
  w->head = (w->head + 1) % (WINDOW + 1);
  pthread_mutex_unlock(&w->mu);
  return i;
}

static void *worker_main(void *arg) {
  struct worker *w = arg;
  int freelist[WINDOW], nfree = WINDOW, inflight = 0;
  for (int i = 0; i < WINDOW; i++) freelist[i] = i;
  for (long seq = 0; seq < w->nreq; seq++) {
    if (nfree == 0) {
      int i = take_done(w);
      inflight--;
      check(w, &w->slots[i], w->slots[i].req.error);
      freelist[nfree++] = i;
    }
    struct slot *s = &w->slots[freelist[--nfree]];
    prepare(w, s, seq);
    if (seq % 16 == 0) {
      /* synchronous, between the asynchronous ones */
      w->runs++;
      int err = ocf_run(&s->req);
      if (s->req.opaque != s) tfail(w, s, "ocf_run did not restore opaque");
      check(w, s, err);
      freelist[nfree++] = s->idx;
      continue;
    }
    atomic_fetch_add(&g_dispatched, 1);
    int rc = ocf_dispatch(&s->req);
    if (rc != 0) {
      atomic_fetch_sub(&g_dispatched, 1);
      tfail(w, s, "ocf_dispatch refused: %d (%s)", rc, ocf_errdetail());
      w->seen[seq] = 1;
      freelist[nfree++] = s->idx;
      continue;
    }
    w->async++;
    inflight++;
  }
  while (inflight > 0) {
    int i = take_done(w);
    inflight--;
    check(w, &w->slots[i], w->slots[i].req.error);
  }
  return NULL;
}

static void make_session(struct tsess *t, const char *name, int gcm, struct ref_rng *r,
                         size_t maclen) {
  memset(t, 0, sizeof(*t));
  t->name = name;
  t->gcm = gcm;
  ref_fill(r, t->key, sizeof(t->key));
  if (gcm) {
    t->sp[0] = (struct ocf_sessparam){
        .alg = OCF_ALG_AES_GCM, .key = t->key[0], .keylen = 16, .maclen = maclen};
  } else {
    t->sp[0] = (struct ocf_sessparam){.alg = OCF_ALG_AES_CBC, .key = t->key[0], .keylen = 16};
    t->sp[1] = (struct ocf_sessparam){
        .alg = OCF_ALG_HMAC_SHA2_256, .key = t->key[1], .keylen = 32, .maclen = maclen};
    t->sp[0].next = &t->sp[1];
  }
  int rc = ocf_newsession(&t->sid, &t->sp[0], 0);
  if (rc != 0) fprintf(stderr, "ocf_newsession(%s): %d %s\n", name, rc, ocf_errdetail());
  assert_int_equal(rc, 0);
}

static void run_threads(const char *title, struct tsess **sess, int nsess, long per_thread) {
  struct worker *ws = calloc(NTHREADS, sizeof(*ws));
  assert_non_null(ws);
  long disp0 = atomic_load(&g_dispatched), cb0 = atomic_load(&g_callbacks);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < NTHREADS; i++) {
    struct worker *w = &ws[i];
    w->id = i;
    ref_rng_seed(&w->rng, seed ^ ((uint64_t)(i + 1) << 48) ^ (uint64_t)(uintptr_t)title[0]);
    w->sess = sess;
    w->nsess = nsess;
    w->nreq = per_thread;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->slots = calloc(WINDOW, sizeof(*w->slots));
    w->seen = calloc((size_t)per_thread, 1);
    assert_true(w->slots && w->seen);
    for (int k = 0; k < WINDOW; k++) {
      w->slots[k].w = w;
      w->slots[k].idx = k;
    }
  }
  for (int i = 0; i < NTHREADS; i++)
    assert_int_equal(pthread_create(&ws[i].th, NULL, worker_main, &ws[i]), 0);
  for (int i = 0; i < NTHREADS; i++) pthread_join(ws[i].th, NULL);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  /* late duplicates would show up here */
  struct timespec nap = {0, 50 * 1000 * 1000};
  nanosleep(&nap, NULL);
  long ok = 0, bad = 0, runs = 0, async = 0, ebad = 0, missing = 0;
  for (int i = 0; i < NTHREADS; i++) {
    struct worker *w = &ws[i];
    ok += w->ok;
    bad += w->bad;
    runs += w->runs;
    async += w->async;
    ebad += w->ebadmsg;
    for (long k = 0; k < per_thread; k++) missing += !w->seen[k];
    if (w->first_err[0])
      fprintf(stderr, "FAIL [%s] seed=0x%llx %s\n", title, (unsigned long long)seed, w->first_err);
  }
  long disp = atomic_load(&g_dispatched) - disp0, cbs = atomic_load(&g_callbacks) - cb0;
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf(
      "threads: %-28s %d threads x %ld requests: %ld async + %ld ocf_run, %ld verified "
      "(%ld tampered -> EBADMSG), %ld bad, %ld missing, %ld callbacks for %ld dispatches, "
      "%ld duplicates; %.2f s\n",
      title, NTHREADS, per_thread, async, runs, ok, ebad, bad, missing, cbs, disp,
      (long)atomic_load(&g_dups), secs);
  fflush(stdout);
  for (int i = 0; i < NTHREADS; i++) {
    pthread_mutex_destroy(&ws[i].mu);
    pthread_cond_destroy(&ws[i].cv);
    free(ws[i].slots);
    free(ws[i].seen);
  }
  free(ws);
  assert_int_equal(bad, 0);
  assert_int_equal(missing, 0);
  assert_int_equal(cbs, disp);
  assert_int_equal(atomic_load(&g_dups), 0);
  assert_int_equal(ok, (long)NTHREADS * per_thread);
}

static long per_thread(void) {
  long n = 12000 / scale;
  return n > 64 ? n : 64;
}

static void test_shared_etm(void **state) {
  (void)state;
  struct ref_rng r;
  ref_rng_seed(&r, seed + 1);
  struct tsess s;
  make_session(&s, "aes-128-cbc+hmac-sha2-256", 0, &r, 0);
  struct tsess *v[] = {&s};
  run_threads("shared cbc+hmac session", v, 1, per_thread());
  assert_int_equal(ocf_freesession(s.sid), 0);
}

static void test_shared_gcm(void **state) {
  (void)state;
  struct ref_rng r;
  ref_rng_seed(&r, seed + 2);
  struct tsess s;
  make_session(&s, "aes-128-gcm", 1, &r, 0);
  struct tsess *v[] = {&s};
  run_threads("shared gcm session", v, 1, per_thread());
  assert_int_equal(ocf_freesession(s.sid), 0);
}

/* Sessions that differ only in their keys (and tag length), used at random
 * by the same threads: any context shared across sessions shows up as a
 * wrong result. */
static void test_interleaved(void **state) {
  (void)state;
  struct ref_rng r;
  ref_rng_seed(&r, seed + 3);
  struct tsess s[MAXSESS];
  make_session(&s[0], "cbc+hmac key A", 0, &r, 0);
  make_session(&s[1], "cbc+hmac key B (96-bit MAC)", 0, &r, 12);
  make_session(&s[2], "gcm key A", 1, &r, 0);
  make_session(&s[3], "gcm key B", 1, &r, 0);
  struct tsess *v[] = {&s[0], &s[1], &s[2], &s[3]};
  run_threads("interleaved 4 sessions", v, MAXSESS, per_thread());
  for (int i = 0; i < MAXSESS; i++) assert_int_equal(ocf_freesession(s[i].sid), 0);
}

int main(void) {
  seed = ref_seed();
  scale = ref_scale();
  printf("test_threads: seed=0x%llx (set OCF_TEST_SEED to reproduce the data), scale=%d\n",
         (unsigned long long)seed, scale);
  fflush(stdout);
  if (ref_init() != 0) return 1;
  int rc = ocf_init(NULL);
  if (rc != 0) {
    fprintf(stderr, "ocf_init: %d (%s)\n", rc, ocf_errdetail());
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shared_etm),
      cmocka_unit_test(test_shared_gcm),
      cmocka_unit_test(test_interleaved),
  };
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  ocf_shutdown();
  ref_cleanup();
  return rc;
}
