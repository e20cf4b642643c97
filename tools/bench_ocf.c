/* bench_ocf.c - the framework path of `ocf bench`: each consumer thread opens
 * its own session and keeps a window of requests in flight through the
 * asynchronous consumer API.  Without --batch every callback resubmits its
 * own request with ocf_dispatch; with --batch N the callbacks hand finished
 * requests back to the consumer thread, which resubmits them with
 * ocf_dispatch_batch, at most N per call.
 *
 * Callbacks may run on the consumer thread itself (the framework ran the
 * request in the caller's thread) or on a framework thread.  On its own
 * thread a callback pays no atomic operation, as the direct path pays none:
 * the bookkeeping of callbacks from other threads is kept apart. */
#include <errno.h>
#include <linux/futex.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "bench.h"

struct othread;

/* oreq - one request slot of a window; req first so the callback can cast. */
struct oreq {
  struct ocf_req req;
  struct othread *th;
  uint64_t t0;  /* when it was (re)dispatched, if this completion is timed */
  unsigned n;   /* its completions so far */
  uint64_t ops; /* of them, successful: a slot's callbacks never overlap, so
                   counting here needs no atomic operation on a shared line */
  struct oreq *link;
  uint8_t *buf, *out;
};

struct orun {
  _Atomic int stop;
  _Atomic int err; /* first request error */
  pthread_barrier_t bar;
};

struct othread {
  pthread_t tid;
  struct orun *run;
  const struct bench_case *c;
  size_t size;
  double seconds;
  int window, batch;
  ocf_sid_t sid;
  struct oreq *reqs;
  uint64_t t_start, deadline;
  _Atomic uint64_t t_end;
  _Atomic int inflight;
  _Atomic uint64_t eagain;
  _Atomic int in_cb;    /* --batch callbacks on other threads still running */
  struct sampler *samp; /* latency samples */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done; /* guarded by mu */
  /* --batch: finished requests come back through this stack, or through
   * own_list when their callback ran on this thread */
  _Atomic(struct oreq *) stack;
  struct oreq *own_list;
  _Atomic uint32_t sleeping;
  int err;
  char msg[160];
};

/* The consumer thread a callback runs on, if it is one. */
static __thread struct othread *tl_self;

static void futex_wait(_Atomic uint32_t *addr, uint32_t val, long ns) {
  struct timespec ts = {0, ns};
  syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *addr) {
  syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void fail_run(struct othread *th, int err) {
  int zero = 0;
  atomic_compare_exchange_strong(&th->run->err, &zero, err);
  atomic_store(&th->run->stop, 1);
}

/* finish retires one request slot; the last one wakes the consumer thread.
 * now: the clock if already read, else 0. */
static void finish(struct othread *th, uint64_t now) {
  if (now == 0) now = bench_now_ns();
  uint64_t prev = atomic_load_explicit(&th->t_end, memory_order_relaxed);
  while (now > prev && !atomic_compare_exchange_weak(&th->t_end, &prev, now)) {
  }
  if (atomic_fetch_sub(&th->inflight, 1) == 1) {
    if (th->batch) {
      atomic_store(&th->sleeping, 0);
      futex_wake(&th->sleeping);
    }
    /* the consumer thread may go, and free th, once this is unlocked */
    pthread_mutex_lock(&th->mu);
    th->done = 1;
    pthread_cond_signal(&th->cv);
    pthread_mutex_unlock(&th->mu);
  }
}

/* Latency is sampled, as on the direct path: one completion in LAT_EVERY of
 * each request slot is timed from its dispatch, and the deadline is checked
 * when the clock is read.  Reading the clock on every request cost about as
 * much as a small request through the framework. */
#define LAT_EVERY 16

/* account records a completion and sets *now when it read the clock (else
 * 0); returns 1 if the request should go again. */
static int account(struct othread *th, struct oreq *o, int own, uint64_t *now) {
  int e = o->req.error;
  unsigned n = ++o->n % LAT_EVERY;
  *now = 0;
  if (e == EAGAIN) {
    /* the session migrated: req.sid already holds the new id */
    atomic_fetch_add(&th->eagain, 1);
  } else if (e != 0) {
    fail_run(th, e);
    return 0;
  } else {
    o->ops++;
  }
  /* n == LAT_EVERY - 1: the next completion is timed from here */
  if (n == 0 || n == LAT_EVERY - 1) {
    *now = bench_now_ns();
    if (n == 0 && e == 0 && o->t0 != 0) {
      if (own)
        sampler_add(th->samp, *now - o->t0);
      else
        sampler_add_mt(th->samp, *now - o->t0);
    }
    if (*now >= th->deadline) {
      atomic_store_explicit(&th->run->stop, 1, memory_order_relaxed);
      return 0;
    }
  }
  return !atomic_load_explicit(&th->run->stop, memory_order_relaxed);
}

/* the dispatch time of the next round of slot o, if it is to be timed */
static uint64_t next_t0(const struct oreq *o, uint64_t now) {
  return o->n % LAT_EVERY == LAT_EVERY - 1 ? now : 0;
}

/* Once its request is resubmitted, or its slot retired, a callback touches
 * nothing of th: the last slot retired lets the consumer thread go. */
static void cb_resubmit(struct ocf_req *req) {
  struct oreq *o = (struct oreq *)req;
  struct othread *th = o->th;
  uint64_t now;
  if (account(th, o, tl_self == th, &now)) {
    o->t0 = next_t0(o, now);
    int e = ocf_dispatch(req);
    if (e == 0) return;
    fail_run(th, e);
  }
  finish(th, now);
}

static void cb_return(struct ocf_req *req) {
  struct oreq *o = (struct oreq *)req;
  struct othread *th = o->th;
  uint64_t now;
  int own = tl_self == th;
  if (own) {
    /* inside this thread's own ocf_dispatch_batch: a plain list will do */
    if (!account(th, o, 1, &now)) {
      finish(th, now);
    } else {
      o->link = th->own_list;
      th->own_list = o;
    }
    return;
  }
  atomic_fetch_add(&th->in_cb, 1);
  if (!account(th, o, 0, &now)) {
    finish(th, now);
  } else {
    struct oreq *head = atomic_load_explicit(&th->stack, memory_order_relaxed);
    do {
      o->link = head;
    } while (!atomic_compare_exchange_weak(&th->stack, &head, o));
    if (atomic_load(&th->sleeping) && atomic_exchange(&th->sleeping, 0)) futex_wake(&th->sleeping);
  }
  atomic_fetch_sub(&th->in_cb, 1);
}

static void desc_for(struct ocf_desc *d, const struct bench_alg *a, const uint8_t *iv,
                     size_t size) {
  d->alg = a->alg;
  d->skip = 0;
  d->len = size;
  d->inject = size;
  switch (a->kind) {
    case BK_NULL:
    case BK_DEFLATE:
      d->flags = OCF_D_ENCRYPT;
      break;
    case BK_CIPHER:
    case BK_AEAD:
    case BK_CCM:
      d->flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT;
      break;
    case BK_GMAC:
      d->flags = OCF_D_IV_EXPLICIT;
      break;
    case BK_HMAC:
    case BK_HASH:
      d->flags = 0;
      break;
  }
  memcpy(d->iv, iv, 16);
}

/* NULL alone and deflate write to a separate buffer: NULL then really copies,
 * like the direct path's memcpy, and deflate keeps its input intact.  In a
 * null+mac chain everything stays in place (the direct path skips the copy). */
static int uses_out(const struct bench_case *c) {
  return (c->first->kind == BK_NULL && c->second == NULL) || c->first->kind == BK_DEFLATE;
}

static void setup_req(struct ocf_req *req, const struct bench_case *c, size_t size, ocf_sid_t sid,
                      uint8_t *buf, uint8_t *out) {
  memset(req, 0, sizeof(*req));
  req->sid = sid;
  req->buf = ocf_buf_contig(buf, size + c->taglen);
  if (uses_out(c))
    req->out = ocf_buf_contig(out, c->first->kind == BK_NULL ? size : bench_out_len(size));
  desc_for(&req->desc[0], c->first, c->iv1, size);
  req->ndesc = 1;
  if (c->second) desc_for(&req->desc[req->ndesc++], c->second, c->iv2, size);
}

static void sessparam_for(struct ocf_sessparam *sp, const struct bench_alg *a, const uint8_t *key) {
  memset(sp, 0, sizeof(*sp));
  sp->alg = a->alg;
  sp->key = a->keylen ? key : NULL;
  sp->keylen = a->keylen;
}

static void err_msg(char *msg, size_t msglen, const char *what, int err) {
  const char *detail = ocf_errdetail();
  snprintf(msg, msglen, "%s: %s%s%s", what, ocf_strerror(err), detail[0] ? " - " : "", detail);
}

/* open_session creates a session for the case; with --producer it keeps
 * trying (holding the misses, so the balancing policy moves on) until one
 * lands on that producer. */
static int open_session(const struct bench_case *c, size_t size, const struct bench_params *p,
                        ocf_sid_t *sid, char *drv, size_t drvlen, char *msg, size_t msglen) {
  enum { TRIES = 16 };
  struct ocf_sessparam sp[2];
  ocf_sid_t miss[TRIES];
  int nmiss = 0, err = 0;
  char name[64] = "";
  sessparam_for(&sp[0], c->first, c->key1);
  if (c->second) {
    sessparam_for(&sp[1], c->second, c->key2);
    sp[0].next = &sp[1];
  }
  for (;;) {
    ocf_sid_t s;
    if ((err = ocf_newsession(&s, sp, p->sess_flags)) != 0) {
      err_msg(msg, msglen, "ocf_newsession", err);
      break;
    }
    if ((err = ocf_session_driver(s, name, sizeof(name))) != 0) {
      err_msg(msg, msglen, "ocf_session_driver", err);
      ocf_freesession(s);
      break;
    }
    if (p->producer == NULL || strcmp(name, p->producer) == 0) {
      *sid = s;
      snprintf(drv, drvlen, "%s", name);
      break;
    }
    miss[nmiss++] = s;
    if (nmiss == TRIES) {
      snprintf(msg, msglen, "sessions go to '%s', not to '%s'", name, p->producer);
      err = ENODEV;
      break;
    }
  }
  for (int i = 0; i < nmiss; i++) ocf_freesession(miss[i]);
  if (err != 0) return err;

  /* a producer may cap the operation length: that is "not applicable", not a failure */
  enum ocf_alg algs[OCF_ALG__MAX];
  size_t maxlen[OCF_ALG__MAX];
  int count = 0;
  if (ocf_driver_algs(OCF_SID_DRIVER(*sid), algs, maxlen, OCF_ALG__MAX, &count) == 0) {
    for (int i = 0; i < count && i < OCF_ALG__MAX; i++) {
      int used = algs[i] == c->first->alg || (c->second && algs[i] == c->second->alg);
      if (used && maxlen[i] != 0 && size > maxlen[i]) {
        snprintf(msg, msglen, "%s takes at most %zu bytes per request", drv, maxlen[i]);
        ocf_freesession(*sid);
        return EMSGSIZE;
      }
    }
  }
  return 0;
}

/* close_session waits out callbacks that are still returning. */
static void close_session(ocf_sid_t sid) {
  for (int i = 0; i < 2000; i++) {
    int e = ocf_freesession(sid);
    if (e != EBUSY) {
      if (e != 0 && e != ENOENT)
        fprintf(stderr, "ocf bench: ocf_freesession: %s\n", ocf_strerror(e));
      return;
    }
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  fprintf(stderr, "ocf bench: session %#llx still busy after 2 s\n", (unsigned long long)sid);
}

int bench_ocf_verify(const struct bench_case *c, size_t size, const uint8_t *data,
                     const struct bench_params *p, char *msg, size_t msglen) {
  size_t blen = size + c->taglen, olen = bench_out_len(size);
  uint8_t *b1 = bench_alloc(blen), *b2 = bench_alloc(blen);
  uint8_t *o1 = bench_alloc(olen), *o2 = bench_alloc(olen);
  struct ocf_req req;
  struct bench_direct *d = NULL;
  char drv[64];
  ocf_sid_t sid;
  memcpy(b1, data, size);
  memcpy(b2, data, size);
  int err = open_session(c, size, p, &sid, drv, sizeof(drv), msg, msglen);
  if (err != 0) goto out;
  setup_req(&req, c, size, sid, b1, o1);
  err = ocf_run(&req);
  close_session(req.sid);
  if (err != 0) {
    err_msg(msg, msglen, "ocf_run", err);
    goto out;
  }
  if ((err = bench_direct_new(&d, c, size, msg, msglen)) != 0) goto out;
  if ((err = bench_direct_op(d, b2, data, o2)) != 0) {
    snprintf(msg, msglen, "direct %s failed", c->name);
    goto out;
  }
  if (c->first->kind == BK_DEFLATE) {
    /* compressors may legitimately differ: check that it inflates back */
    uLongf dl = (uLongf)size;
    uint8_t *back = bench_alloc(size);
    z_stream z = {0};
    int zr = inflateInit2(&z, -15);
    if (zr == Z_OK) {
      z.next_in = o1;
      z.avail_in = (uInt)req.olen;
      z.next_out = back;
      z.avail_out = (uInt)dl;
      zr = inflate(&z, Z_FINISH);
      dl = z.total_out;
      inflateEnd(&z);
    }
    if (zr != Z_STREAM_END || dl != size || memcmp(back, data, size) != 0) {
      snprintf(msg, msglen, "framework deflate output (%zu bytes) does not inflate to the input",
               req.olen);
      err = EBADMSG;
    }
    free(back);
  } else if (uses_out(c) && c->first->kind == BK_NULL && memcmp(o1, data, size) != 0) {
    snprintf(msg, msglen, "framework NULL output differs from its input");
    err = EBADMSG;
  }
  if (err == 0 && memcmp(b1, b2, blen) != 0) {
    snprintf(msg, msglen, "framework output differs from direct OpenSSL");
    err = EBADMSG;
  }
out:
  bench_direct_free(d);
  OPENSSL_cleanse(b1, blen);
  OPENSSL_cleanse(b2, blen);
  free(b1);
  free(b2);
  free(o1);
  free(o2);
  return err;
}

static int submit_batch(struct othread *th, struct ocf_req **arr, int n, uint64_t now) {
  int off = 0;
  while (off < n) {
    int chunk = n - off < th->batch ? n - off : th->batch, e = 0;
    int ok = ocf_dispatch_batch(arr + off, chunk, &e);
    off += ok;
    if (ok < chunk) {
      fail_run(th, e ? e : EIO);
      for (; off < n; off++) finish(th, now);
      return e;
    }
  }
  return 0;
}

/* A request whose callback never comes would hang the benchmark: give the
 * framework a generous grace period after the deadline, then fail loudly. */
static void check_stuck(struct othread *th) {
  enum { GRACE_S = 10 };
  if (bench_now_ns() < th->deadline + GRACE_S * 1000000000ull) return;
  fprintf(stderr,
          "ocf bench: %s %zu B: %d of %d requests still not completed %d s after the run "
          "ended; the framework lost them\n",
          th->c->name, th->size, atomic_load(&th->inflight), th->window, GRACE_S);
  _exit(1);
}

static void *ocf_thread(void *arg) {
  struct othread *th = arg;
  int n = th->window;
  struct ocf_req **arr = calloc((size_t)n, sizeof(*arr));
  if (arr == NULL) abort();
  atomic_store(&th->inflight, n);
  tl_self = th;
  pthread_barrier_wait(&th->run->bar);
  uint64_t now = bench_now_ns();
  th->t_start = now;
  th->deadline = now + (uint64_t)(th->seconds * 1e9);
  for (int i = 0; i < n; i++) {
    th->reqs[i].t0 = 0;
    th->reqs[i].n = 0;
    arr[i] = &th->reqs[i].req;
  }
  if (th->batch == 0) {
    for (int i = 0; i < n; i++) {
      int e = ocf_dispatch(arr[i]);
      if (e != 0) {
        fail_run(th, e);
        err_msg(th->msg, sizeof(th->msg), "ocf_dispatch", e);
        for (; i < n; i++) finish(th, now);
        break;
      }
    }
  } else {
    submit_batch(th, arr, n, now);
    while (atomic_load(&th->inflight) > 0) {
      check_stuck(th);
      struct oreq *o = th->own_list;
      th->own_list = NULL;
      if (o == NULL) o = atomic_exchange(&th->stack, NULL);
      if (o == NULL) {
        for (int spin = 0; spin < 64 && atomic_load(&th->stack) == NULL; spin++)
          __builtin_ia32_pause();
        if (atomic_load(&th->stack) != NULL) continue;
        atomic_store(&th->sleeping, 1);
        if (atomic_load(&th->stack) == NULL && atomic_load(&th->inflight) > 0)
          futex_wait(&th->sleeping, 1, 5000000);
        atomic_store(&th->sleeping, 0);
        continue;
      }
      int k = 0;
      now = bench_now_ns();
      if (now >= th->deadline) atomic_store(&th->run->stop, 1);
      for (; o != NULL; o = o->link) {
        if (!atomic_load(&th->run->stop)) {
          o->t0 = next_t0(o, now);
          arr[k++] = &o->req;
        } else {
          finish(th, now);
        }
      }
      submit_batch(th, arr, k, now);
    }
  }
  pthread_mutex_lock(&th->mu);
  while (!th->done) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 1;
    pthread_cond_timedwait(&th->cv, &th->mu, &ts);
    if (!th->done) check_stuck(th);
  }
  pthread_mutex_unlock(&th->mu);
  tl_self = NULL;
  free(arr);
  return NULL;
}

int bench_run_ocf(const struct bench_case *c, size_t size, const uint8_t *data,
                  const struct bench_params *p, struct sampler *samp, struct bench_result *r) {
  int n = p->threads, err = 0, opened = 0, started = 0;
  struct orun run;
  struct othread *th = calloc((size_t)n, sizeof(*th));
  if (th == NULL) abort();
  atomic_init(&run.stop, 0);
  atomic_init(&run.err, 0);
  /* the caller joins the barrier to read the CPU clock when they start */
  pthread_barrier_init(&run.bar, NULL, (unsigned)n + 1);
  for (int i = 0; i < n; i++) {
    pthread_mutex_init(&th[i].mu, NULL);
    pthread_cond_init(&th[i].cv, NULL);
  }

  for (; opened < n; opened++) {
    struct othread *t = &th[opened];
    char drv[64];
    t->run = &run;
    t->c = c;
    t->size = size;
    t->seconds = p->seconds;
    t->window = p->window;
    t->batch = p->batch;
    t->samp = &samp[opened];
    if ((err = open_session(c, size, p, &t->sid, drv, sizeof(drv), r->msg, sizeof(r->msg))) != 0)
      break;
    /* threads whose sessions land on different producers are listed together */
    if (strstr(r->producer, drv) == NULL) {
      size_t l = strlen(r->producer);
      snprintf(r->producer + l, sizeof(r->producer) - l, "%s%s", l ? "," : "", drv);
    }
    t->reqs = calloc((size_t)p->window, sizeof(*t->reqs));
    if (t->reqs == NULL) abort();
    for (int i = 0; i < p->window; i++) {
      struct oreq *o = &t->reqs[i];
      o->th = t;
      o->buf = bench_alloc(size + c->taglen);
      o->out = uses_out(c) ? bench_alloc(bench_out_len(size)) : NULL;
      memcpy(o->buf, data, size);
      setup_req(&o->req, c, size, t->sid, o->buf, o->out);
      o->req.callback = p->batch ? cb_return : cb_resubmit;
      o->req.opaque = o;
    }
  }
  if (err == 0) {
    for (; started < n; started++)
      if ((err = pthread_create(&th[started].tid, NULL, ocf_thread, &th[started])) != 0) break;
    if (err != 0 && started > 0) {
      fprintf(stderr, "ocf bench: cannot start thread %d of %d: %s\n", started + 1, n,
              strerror(err));
      abort();
    }
  }
  double cpu0 = 0;
  if (started == n && n > 0) {
    pthread_barrier_wait(&run.bar);
    cpu0 = bench_cpu_seconds();
  }
  uint64_t t0 = UINT64_MAX, t1 = 0;
  for (int i = 0; i < started; i++) {
    pthread_join(th[i].tid, NULL);
    while (atomic_load(&th[i].in_cb) != 0) sched_yield();
    for (int j = 0; j < th[i].window; j++) r->ops += th[i].reqs[j].ops;
    r->eagain += atomic_load(&th[i].eagain);
    if (th[i].t_start < t0) t0 = th[i].t_start;
    if (atomic_load(&th[i].t_end) > t1) t1 = atomic_load(&th[i].t_end);
    if (th[i].msg[0] && r->msg[0] == 0) snprintf(r->msg, sizeof(r->msg), "%s", th[i].msg);
  }
  int rerr = atomic_load(&run.err);
  if (err == 0 && rerr != 0) {
    err = rerr;
    if (r->msg[0] == 0) snprintf(r->msg, sizeof(r->msg), "request failed: %s", ocf_strerror(rerr));
  }
  if (err == 0 && t1 > t0) {
    r->elapsed += (double)(t1 - t0) / 1e9;
    r->cpu_s += bench_cpu_seconds() - cpu0;
  } else if (err == EMSGSIZE || err == ENODEV) {
    r->skipped = 1;
  }
  for (int i = 0; i < opened; i++) {
    struct othread *t = &th[i];
    close_session(t->sid);
    for (int j = 0; j < p->window; j++) {
      OPENSSL_cleanse(t->reqs[j].buf, size + c->taglen);
      free(t->reqs[j].buf);
      free(t->reqs[j].out);
    }
    free(t->reqs);
  }
  for (int i = 0; i < n; i++) {
    pthread_mutex_destroy(&th[i].mu);
    pthread_cond_destroy(&th[i].cv);
  }
  pthread_barrier_destroy(&run.bar);
  free(th);
  return err;
}
