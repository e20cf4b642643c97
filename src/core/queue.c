/* queue.c - the run queue and the threads around it: the worker threads that
 * run requests of synchronous (software) producers when the dispatching
 * thread does not (dispatch.c decides), the return thread that runs the
 * callbacks of asynchronous producers, and ocf_poll.
 *
 * Workers take requests in batches.  Public-key and symmetric requests share
 * them by cost, not by count: each kind has a virtual clock advanced by the
 * estimated service time of what is taken from it, and a worker takes next
 * from the kind whose clock is behind, so that a flood of 16,384-bit modular
 * exponentiations leaves symmetric work its half of the workers' time (and
 * the reverse).  A batch stops growing once its estimated cost passes a
 * bound, so that one worker does not sit on a long job and short ones
 * queued behind it. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/internal.h"

/* A batch holds at most this much estimated work (ns) beyond its first
 * request: the other workers get the rest. */
#define BATCH_COST_NS 200000.0

/* --- estimated costs ------------------------------------------------------ */

/* Public-key service times, measured per operation and operand size (one
 * bucket per power of two of bits), as an exponentially weighted mean. */
#define KBUCKETS 16
static _Atomic double kcost[OCF_KOP__MAX][KBUCKETS];

static int kbucket(const struct ocf_kreq *k) {
  size_t bits = 0;
  for (int i = 0; i < k->iparams && i < OCF_KMAX_PARAM; i++)
    if (k->param[i].nbits > bits) bits = k->param[i].nbits;
  int b = bits > 1 ? 64 - __builtin_clzll((unsigned long long)bits - 1) : 0; /* ceil log2 */
  b -= 6;                                                                    /* 64 bits and below */
  return b < 0 ? 0 : b >= KBUCKETS ? KBUCKETS - 1 : b;
}

int kcost_key(const struct ocf_kreq *k) {
  return (unsigned)k->op < OCF_KOP__MAX ? (int)k->op * KBUCKETS + kbucket(k) : -1;
}

void kcost_measure(int key, uint64_t ns) {
  if (key < 0) return;
  _Atomic double *c = &kcost[key / KBUCKETS][key % KBUCKETS];
  double old = atomic_load_explicit(c, memory_order_relaxed);
  atomic_store_explicit(c, old > 0 ? old + ((double)ns - old) / 8 : (double)ns,
                        memory_order_relaxed);
}

static double kreq_cost(const struct ocf_kreq *k) {
  if ((unsigned)k->op >= OCF_KOP__MAX) return 1e6;
  int b = kbucket(k);
  double c = atomic_load_explicit(&kcost[k->op][b], memory_order_relaxed);
  if (c > 0) return c;
  /* not measured at this size: scale the nearest measured one by the cube
   * of the size ratio (schoolbook modular exponentiation) */
  for (int d = 1; d < KBUCKETS; d++) {
    if (b - d >= 0 && (c = atomic_load_explicit(&kcost[k->op][b - d], memory_order_relaxed)) > 0)
      return c * exp2(3.0 * d);
    if (b + d < KBUCKETS &&
        (c = atomic_load_explicit(&kcost[k->op][b + d], memory_order_relaxed)) > 0)
      return c / exp2(3.0 * d);
  }
  return 1e6; /* nothing measured yet: public-key work is expensive */
}

static double req_cost(const struct ocf_req *r) {
  const struct drv *d = r->drv_;
  size_t len = r->ndesc > 0 ? r->desc[0].len : 0;
  double c = d != NULL ? est_ns(d, r->desc[0].alg, len) : 0;
  return c > 0 ? c : 100.0 + (double)len; /* unmeasured: about a byte per ns */
}

/* --- thread queues -------------------------------------------------------- */

struct tqueue {
  pthread_mutex_t lock;
  pthread_cond_t cv;
  struct fifo q;        /* [lock] */
  int waiting;          /* [lock] threads asleep on cv */
  int waking;           /* [lock] of them, signalled and not yet running */
  bool stop;            /* [lock] */
  double vt_sym, vt_pk; /* [lock] virtual clocks of the two kinds (ns) */
  int ping;             /* [lock] calibration wake-ups asked for */
  atomic_int *idle;     /* [A] waiting - waking, read without the lock: a
                           worker already signalled is not idle any more */
  atomic_long *len;     /* [A] mirror of q.count */
};

static struct tqueue runq, retq;
static pthread_t *workers;
static int nworkers;
static pthread_t ret_thread;
static bool threads_up;
/* Set once some thread has lent itself through ocf_poll: the workers then
 * leave it a share of the queue. */
static atomic_bool helped;
/* What handing work to a sleeping worker costs in CPU time (ns,
 * exponentially weighted): the thread that wakes it spends sig_ns in the
 * system call, the worker spends wait_ns between going to sleep and running
 * again (the futex and the scheduler, in its own CPU time).  Their sum is the
 * price of spreading work (dispatch.c).  Measured with the threads' CPU
 * clocks, on wake-ups only. */
static _Atomic double sig_ns, wait_ns;

int dispatch_nworkers(void) { return nworkers; }
/* the run queue's idle and len, read without its lock (internal.h) */
atomic_int runq_idle_;
atomic_long runq_len_;
double handoff_ns(void) {
  return atomic_load_explicit(&sig_ns, memory_order_relaxed) +
         atomic_load_explicit(&wait_ns, memory_order_relaxed);
}

static uint64_t thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void ewma(_Atomic double *m, uint64_t ns) {
  double old = atomic_load_explicit(m, memory_order_relaxed);
  atomic_store_explicit(m, old > 0 ? old + ((double)ns - old) / 8 : (double)ns,
                        memory_order_relaxed);
}

static void tq_init(struct tqueue *t, atomic_int *idle, atomic_long *len) {
  t->idle = idle;
  t->len = len;
  pthread_mutex_init(&t->lock, NULL);
  pthread_cond_init(&t->cv, NULL);
  fifo_init(&t->q);
  t->waiting = t->waking = 0;
  t->stop = false;
  t->vt_sym = t->vt_pk = 0;
  t->ping = 0;
  atomic_store(t->idle, 0);
  atomic_store(t->len, 0);
}

/* Appends a whole fifo; one lock round trip however many requests. */
static void tq_push(struct tqueue *t, struct fifo *f) {
  if (f->count == 0) return;
  pthread_mutex_lock(&t->lock);
  fifo_append(&t->q, f);
  atomic_store_explicit(t->len, t->q.count, memory_order_relaxed);
  if (t->waiting > t->waking) {
    uint64_t c0 = t == &runq ? thread_cpu_ns() : 0;
    if (t->q.count > 1) {
      pthread_cond_broadcast(&t->cv);
      t->waking = t->waiting;
    } else {
      pthread_cond_signal(&t->cv);
      t->waking++;
    }
    if (c0 != 0) ewma(&sig_ns, thread_cpu_ns() - c0);
    atomic_store_explicit(t->idle, t->waiting - t->waking, memory_order_relaxed);
  }
  pthread_mutex_unlock(&t->lock);
}

void runq_push(struct fifo *f) { tq_push(&runq, f); }
void retq_push(struct fifo *f) { tq_push(&retq, f); }

/* Moves up to max entries to out; for the run queue the two kinds shared by
 * cost (see the top of this file), stopping when the batch's estimated cost
 * passes the bound.  (The return queue holds completed requests, whose
 * producer may be gone: plain order there.) */
static void tq_take(struct tqueue *t, struct fifo *out, long max) {
  if (t != &runq) {
    for (; max > 0 && t->q.khead != NULL; max--) {
      struct ocf_kreq *k = t->q.khead;
      t->q.khead = k->next_;
      if (t->q.khead == NULL) t->q.ktail = &t->q.khead;
      t->q.count--;
      fifo_kput(out, k);
    }
    for (; max > 0 && t->q.head != NULL; max--) {
      struct ocf_req *r = t->q.head;
      t->q.head = r->next_;
      if (t->q.head == NULL) t->q.tail = &t->q.head;
      t->q.count--;
      fifo_put(out, r);
    }
    atomic_store_explicit(t->len, t->q.count, memory_order_relaxed);
    return;
  }
  double batch = 0;
  while (max > 0 && (t->q.head != NULL || t->q.khead != NULL)) {
    /* an idle kind gets no credit for the time it had nothing queued */
    if (t->q.khead == NULL && t->vt_pk < t->vt_sym) t->vt_pk = t->vt_sym;
    if (t->q.head == NULL && t->vt_sym < t->vt_pk) t->vt_sym = t->vt_pk;
    bool pk = t->q.khead != NULL && (t->q.head == NULL || t->vt_pk <= t->vt_sym);
    double c;
    if (pk) {
      struct ocf_kreq *k = t->q.khead;
      c = kreq_cost(k);
      if (out->count > 0 && batch + c > BATCH_COST_NS) break;
      t->q.khead = k->next_;
      if (t->q.khead == NULL) t->q.ktail = &t->q.khead;
      fifo_kput(out, k);
      t->vt_pk += c;
    } else {
      struct ocf_req *r = t->q.head;
      c = req_cost(r);
      if (out->count > 0 && batch + c > BATCH_COST_NS) break;
      t->q.head = r->next_;
      if (t->q.head == NULL) t->q.tail = &t->q.head;
      fifo_put(out, r);
      t->vt_sym += c;
    }
    batch += c;
    t->q.count--;
    max--;
  }
  atomic_store_explicit(t->len, t->q.count, memory_order_relaxed);
}

/* tq_share: how much of t's queue one of nthreads takes at a time, so that
 * the others get theirs. */
static long tq_share(struct tqueue *t, int nthreads) {
  long n = t->q.count;
  if (t == &runq && atomic_load_explicit(&helped, memory_order_relaxed)) nthreads++;
  long take = nthreads > 1 ? (n + nthreads - 1) / nthreads : n;
  return take > 64 ? 64 : take;
}

/* Waits for work; takes a share of it (leaving some for the other threads).
 * Returns false when stopped and empty. */
static bool tq_pop(struct tqueue *t, struct fifo *out, int nthreads) {
  pthread_mutex_lock(&t->lock);
  while (t->q.count == 0 && !t->stop) {
    t->waiting++;
    atomic_store_explicit(t->idle, t->waiting - t->waking, memory_order_relaxed);
    uint64_t c0 = t == &runq ? thread_cpu_ns() : 0;
    pthread_cond_wait(&t->cv, &t->lock);
    if (c0 != 0) ewma(&wait_ns, thread_cpu_ns() - c0);
    t->waiting--;
    if (t->waking > 0) t->waking--; /* (or a spurious wake-up: close enough) */
    atomic_store_explicit(t->idle, t->waiting - t->waking, memory_order_relaxed);
    if (t->ping > 0) {
      t->ping--;
      pthread_cond_broadcast(&t->cv); /* the calibrating thread waits for it */
    }
  }
  tq_take(t, out, tq_share(t, nthreads));
  bool more = t->q.count > 0;
  bool ok = out->count > 0;
  if (more && t->waiting > t->waking) {
    pthread_cond_signal(&t->cv);
    t->waking++;
    atomic_store_explicit(t->idle, t->waiting - t->waking, memory_order_relaxed);
  }
  pthread_mutex_unlock(&t->lock);
  return ok;
}

void runq_take(struct fifo *out) {
  pthread_mutex_lock(&runq.lock);
  tq_take(&runq, out, tq_share(&runq, nworkers));
  pthread_mutex_unlock(&runq.lock);
}

static void *worker_main(void *arg) {
  struct tctx *t = tctx_get();
  if (t == NULL) {
    ocf_log(0, "worker thread: out of memory");
    return NULL;
  }
  t->role = ROLE_WORKER;
  struct fifo batch;
  fifo_init(&batch);
  while (tq_pop(&runq, &batch, nworkers)) dispatch_run(t, &batch);
  return NULL;
}

static void *return_main(void *arg) {
  struct tctx *t = tctx_get();
  if (t == NULL) {
    ocf_log(0, "return thread: out of memory");
    return NULL;
  }
  t->role = ROLE_RETURN;
  struct fifo batch;
  fifo_init(&batch);
  while (tq_pop(&retq, &batch, 1)) dispatch_return(t, &batch);
  return NULL;
}

int ocf_poll(int max, size_t max_len) {
  /* Not from a framework thread or a callback: that thread's batch is
   * still open, and the caller would run requests queued behind its own. */
  struct tctx *t = tctx_get();
  if (max <= 0 || !ocf_running() || !threads_up || t == NULL || t->role != ROLE_CONSUMER ||
      t->depth > 0 || t->done != NULL)
    return 0;
  if (!atomic_load_explicit(&helped, memory_order_relaxed)) atomic_store(&helped, true);
  struct fifo batch;
  fifo_init(&batch);
  /* A worker taking its batch holds the lock for a while (a cache miss per
   * request it looks at).  Sleeping on it cost the caller, an event loop, a
   * context switch and the worker a wake-up: in ocfd they were 83% of the
   * daemon's futex calls.  So the caller goes back to its other work
   * (measured: ocfd's 16 KB AES-GCM in shared memory 1.03-1.12 times as
   * fast).  Making the lock adaptive instead did as well for ocfd but cost
   * in-process 64-byte requests a tenth of their efficiency on two CPUs. */
  if (pthread_mutex_trylock(&runq.lock) != 0) return 0;
  /* Symmetric requests only, oldest first, and none longer than max_len:
   * the caller has other work and asked for short jobs. */
  while (batch.count < max && runq.q.head != NULL) {
    struct ocf_req *r = runq.q.head;
    if (max_len > 0 && ocf_buf_len(&r->buf) > max_len) break;
    runq.q.head = r->next_;
    if (runq.q.head == NULL) runq.q.tail = &runq.q.head;
    runq.q.count--;
    fifo_put(&batch, r);
  }
  atomic_store_explicit(runq.len, runq.q.count, memory_order_relaxed);
  pthread_mutex_unlock(&runq.lock);
  int n = (int)batch.count;
  if (n > 0) {
    t->role = ROLE_POLL;
    dispatch_run(t, &batch);
    t->role = ROLE_CONSUMER;
  }
  return n;
}

/* Measures what waking a sleeping worker costs before anything depends on
 * it: three wake-ups seed the estimates. */
static void calibrate(void) {
  for (int i = 0; i < 3; i++) {
    pthread_mutex_lock(&runq.lock);
    for (int w = 0; w < 2000 && runq.waiting == 0; w++) {
      pthread_mutex_unlock(&runq.lock);
      usleep(500); /* the workers are still starting */
      pthread_mutex_lock(&runq.lock);
    }
    if (runq.waiting == 0) {
      pthread_mutex_unlock(&runq.lock);
      return;
    }
    runq.ping = 1;
    runq.waking++;
    uint64_t c0 = thread_cpu_ns();
    pthread_cond_signal(&runq.cv);
    ewma(&sig_ns, thread_cpu_ns() - c0);
    while (runq.ping > 0) pthread_cond_wait(&runq.cv, &runq.lock);
    pthread_mutex_unlock(&runq.lock);
  }
}

int dispatch_init(int n) {
  static atomic_int ret_idle;
  static atomic_long ret_len;
  tq_init(&runq, &runq_idle_, &runq_len_);
  tq_init(&retq, &ret_idle, &ret_len);
  if (n <= 0) n = (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (n <= 0) n = 1;
  if (n > 256) n = 256;
  workers = calloc((size_t)n, sizeof(*workers));
  if (workers == NULL) return ENOMEM;
  /* Workers read nworkers to size their share of the queue: set it first. */
  nworkers = n;
  int started = 0;
  for (int i = 0; i < n; i++) {
    if (pthread_create(&workers[i], NULL, worker_main, NULL) != 0) break;
    started++;
  }
  if (started < n) {
    nworkers = started;
    ocf_log(1, "started %d of %d worker threads", started, n);
  }
  if (started == 0 || pthread_create(&ret_thread, NULL, return_main, NULL) != 0) {
    dispatch_fini();
    return ocf_seterr(EAGAIN, "cannot start framework threads");
  }
  threads_up = true;
  if (handoff_ns() == 0) calibrate();
  return 0;
}

static void tq_stop(struct tqueue *t) {
  pthread_mutex_lock(&t->lock);
  t->stop = true;
  pthread_cond_broadcast(&t->cv);
  pthread_mutex_unlock(&t->lock);
}

void dispatch_fini(void) {
  tq_stop(&runq);
  for (int i = 0; i < nworkers; i++) pthread_join(workers[i], NULL);
  if (threads_up) {
    tq_stop(&retq);
    pthread_join(ret_thread, NULL);
  }
  free(workers);
  workers = NULL;
  nworkers = 0;
  threads_up = false;
  atomic_store(&helped, false);
  pthread_mutex_destroy(&runq.lock);
  pthread_cond_destroy(&runq.cv);
  pthread_mutex_destroy(&retq.lock);
  pthread_cond_destroy(&retq.cv);
}
