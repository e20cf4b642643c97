/* internal.h - framework internals shared by the files of src/core only.
 * Producers never include this (they see driver.h). */
#ifndef OCF_CORE_INTERNAL_H
#define OCF_CORE_INTERNAL_H

#include <ocf/driver.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#define OCF_MAX_DRIVERS 64
#define OCF_MAX_CHAIN 3 /* cipher/AEAD + MAC + compression */
#define OCF_MAX_DRIVERS_PER_SESS 8

/* Latency histogram: 4 buckets per power of two of nanoseconds. */
#define LAT_BUCKETS 256
#define LAT_SAMPLE 32 /* one request in this many is timed for the latency histogram */
static inline int lat_bucket(uint64_t ns) {
  if (ns < 4) return (int)ns;
  int lg = 63 - __builtin_clzll(ns);
  int b = lg * 4 + (int)((ns >> (lg - 2)) & 3);
  return b < LAT_BUCKETS ? b : LAT_BUCKETS - 1;
}
static inline double lat_bucket_ns(int b) { /* the bucket's midpoint */
  if (b < 4) return b;
  int lg = b / 4, sub = b % 4;
  double lo = (double)(1ULL << lg) * (1.0 + sub / 4.0);
  return lo * (1.0 + 1.0 / 8.0);
}

/* balancing policies */
enum policy { POLICY_SESSIONS = 0, POLICY_CAPACITY, POLICY_SIZE };
extern enum policy ocf_policy; /* set by ocf_init */
extern atomic_uint reg_gen;    /* bumped on any registry change */

/* struct drv - one registered producer (FreeBSD's struct cryptocap).
 * Locking: [R] registry lock (reg_lock in registry.c), [A] atomic,
 * [I] immutable after ocf_get_driverid, [H] hold_lock. */
struct drv {
  uint32_t hid;                          /* [I] */
  char name[32];                         /* [I] */
  unsigned flags;                        /* [I] OCF_DRV_* */
  struct ocf_driver_ops ops;             /* [I] */
  void *softc;                           /* [I] */
  atomic_uchar has[OCF_ALG__MAX];        /* [A] algorithm registered */
  atomic_uchar failed[OCF_ALG__MAX];     /* [A] registration self-test failed */
  size_t maxlen[OCF_ALG__MAX];           /* [R] max op length, 0 = none */
  atomic_uchar khas[OCF_KOP__MAX];       /* [A] */
  size_t kmax_bits[OCF_KOP__MAX];        /* [R] */
  _Atomic double rate_bps[OCF_ALG__MAX]; /* [A] declared payload bytes/s, 0 = unknown */
  _Atomic double rate_ns[OCF_ALG__MAX];  /* [A] declared fixed cost per request */
  /* [A] one request's measured service time on one thread, fixed ns (may be
   * negative) + ns per byte (balance.c, from the timed process() calls);
   * 0,0 = not measured; see est_ns() */
  _Atomic double svc_fixed[OCF_ALG__MAX], svc_slope[OCF_ALG__MAX];
  atomic_uchar svc_known[OCF_ALG__MAX]; /* [A] 32 samples: time one in 64 from now on */
  atomic_long pend_bytes;               /* [A] payload bytes handed over, not done */
  struct meas *meas;                    /* measured service times (balance.c), or NULL */
  struct krate {
    size_t bits;
    double ops;
  } krate[OCF_KOP__MAX][8];                           /* [R] declared public-key rates */
  atomic_int detached;                                /* [A] set once: no new work */
  atomic_int unregistering;                           /* [A] ocf_unregister_all is running */
  atomic_int refs;                                    /* [A] registry + session bindings */
  atomic_long sessions;                               /* [A] live producer sessions */
  atomic_long inflight;                               /* [A] requests handed over, not done */
  atomic_long kinflight;                              /* [A] */
  atomic_ulong n_req, n_kreq, n_bytes, n_err, n_migr; /* [A] statistics */
  atomic_ulong lat[LAT_BUCKETS];                      /* [A] latency histogram, see lat_bucket() */
  pthread_mutex_t hold_lock;
  struct ocf_req *held, **held_tail; /* [H] requests refused with EBUSY_DRV */
  struct ocf_kreq *kheld;            /* [H] */
  atomic_bool blocked;               /* [H] to change; peeked without it */
  atomic_uint unblock_gen;           /* [H] to change: counts ocf_unblock calls */
};

/* struct cbind - a snapshot of a session's binding that the fast path reads
 * without the table lock.  Never changed once published: migration publishes
 * a new one; all are freed with the session. */
struct cbind {
  ocf_sid_t sid;
  struct drv *drv;
  void *dsess;
  struct cbind *next; /* [T] the session's list of them */
};

/* struct sess - a consumer session.  Its parameters are owned copies (keys
 * included) so that it can be re-created on another producer (migration).
 * Locking: [T] session table lock (write side to change), [A] atomic,
 * [I] immutable after creation.
 *
 * Sessions are type-stable (session.c): freed ones go to a pool and are
 * reused as sessions, never returned to malloc, so that a thread holding a
 * stale pointer (its sid cache, tctx.c) may still read the atomic fields
 * below, which say whether the pointer is still good. */
struct sess {
  atomic_int dying;             /* [A] 1 while freed or being freed: the fast path keeps off */
  _Atomic(struct cbind *) fast; /* [A] current binding for the fast path; NULL: take the table */
  atomic_long inflight;         /* [A] counted requests (see tctx.c for the others) */
  struct sess *pool_next;       /* pool link (session.c) */
  /* everything from here on is cleared when the session is reused */
  ocf_sid_t sid;                                      /* [T] current id */
  struct drv *drv;                                    /* [T] current producer */
  void *dsess;                                        /* [T] producer state, NULL if lost */
  struct ocf_sessparam param[OCF_MAX_CHAIN];          /* [I] chain copy, keys owned */
  int nparam;                                         /* [I] */
  const struct ocf_alg_info *ai[OCF_MAX_CHAIN];       /* [I] */
  size_t ivlen[OCF_MAX_CHAIN], maclen[OCF_MAX_CHAIN]; /* [I] effective */
  unsigned flags;                                     /* [I] OCF_SESS_* */
  struct cbind *cbinds;                               /* [T] every snapshot published */
  /* old bindings whose producer state is freed once idle [T] */
  struct retired {
    struct drv *drv;
    void *dsess;
    struct retired *next;
  } * retired;
  ocf_sid_t alias[8]; /* [T] earlier ids of this session, still accepted */
  int nalias;         /* [T] */
  /* Replicas on other producers, for the capacity and size policies, which
   * choose a producer per request [T]. */
  struct bind {
    struct drv *drv;
    void *dsess;
  } rep[OCF_MAX_DRIVERS_PER_SESS];
  int nrep;                                   /* [T] */
  struct drv *cand[OCF_MAX_DRIVERS_PER_SESS]; /* [T] producers that could serve it */
  int ncand;                                  /* [T] */
  unsigned cand_gen;                          /* [T] registry generation of cand[] */
  bool selftest;                              /* [I] a registration self-test's */
  struct sess_x *x; /* [I] stream state and nonce counter (sessx.c), or NULL */
};

/* A FIFO of symmetric and public-key requests (linked through next_). */
struct fifo {
  struct ocf_req *head, **tail;
  struct ocf_kreq *khead, **ktail;
  long count;
};

static inline void fifo_init(struct fifo *f) {
  f->head = NULL;
  f->tail = &f->head;
  f->khead = NULL;
  f->ktail = &f->khead;
  f->count = 0;
}

static inline void fifo_put(struct fifo *f, struct ocf_req *r) {
  r->next_ = NULL;
  *f->tail = r;
  f->tail = &r->next_;
  f->count++;
}

static inline void fifo_kput(struct fifo *f, struct ocf_kreq *k) {
  k->next_ = NULL;
  *f->ktail = k;
  f->ktail = &k->next_;
  f->count++;
}

/* fifo_append moves all of src to the end of dst. */
static inline void fifo_append(struct fifo *dst, struct fifo *src) {
  if (src->count == 0) return;
  if (src->head) {
    *dst->tail = src->head;
    dst->tail = src->tail;
  }
  if (src->khead) {
    *dst->ktail = src->khead;
    dst->ktail = src->ktail;
  }
  dst->count += src->count;
  fifo_init(src);
}

/* Per-thread state of the request path (tctx.c).  Each thread that
 * dispatches or runs requests has one, found through one thread-local
 * pointer; they are registered in a list that ocf_freesession and
 * ocf_unregister_all scan, and reused after their thread exits.
 *
 * Pins: a request admitted by this thread and run by it (in the caller's
 * thread, or deferred until the callbacks it is running return) counts on
 * the pin for its (session, producer) rather than on the shared counters
 * sess.inflight and drv.inflight: no atomic read-modify-write, no shared
 * cache line written.  The owner writes pins with plain (relaxed/release)
 * stores; a thread that needs them to be zero (freeing a session, removing
 * a producer) first raises a flag the owner checks after pinning (dying,
 * detached), then pin_barrier() (membarrier(2): a full barrier on every
 * running thread of the process), then scans.  Either the owner sees the
 * flag or the scanner sees the pin. */
#define TC_PINS 8
#define TC_CACHE 64
#define TC_STATS 4
struct pin {
  _Atomic(struct sess *) s; /* owner writes while n == 0; others read */
  _Atomic(struct drv *) d;
  atomic_long n; /* requests of this thread counted here */
};
struct tstat {                        /* per-thread statistics of one producer, summed by readers */
  _Atomic uint32_t hid;               /* 0 = free */
  atomic_ulong n_req, n_bytes, n_err; /* written by the owner only */
};
enum role { ROLE_CONSUMER = 0, ROLE_WORKER, ROLE_POLL, ROLE_RETURN };
struct tctx {
  struct pin pin[TC_PINS];
  struct tstat st[TC_STATS];
  /* the rest belongs to the owning thread */
  struct {
    ocf_sid_t sid;
    struct sess *s;
    struct drv *d;
    unsigned gen;    /* reg_gen when d was last seen serving s's chain */
  } cache[TC_CACHE]; /* recently used sessions, checked through sess.fast on use */
  struct fifo defer; /* admitted requests this thread runs when its callbacks are over */
  struct fifo pend;  /* requests for the workers, pushed when the callbacks are over */
  struct fifo *done; /* completions collected while this thread runs requests */
  int depth;         /* run loops active on this thread */
  int nest;          /* OCF_REQ_INLINE requests run nested inside callbacks */
  int foreign;       /* inside ocf_done called by a producer outside a run loop */
  enum role role;
  int ncpu; /* CPUs this thread may run on (refreshed now and then) */
  unsigned ncpu_tick;
  unsigned tick;     /* sampling counter (latency, service times) */
  struct tctx *next; /* [I] the list of all */
  atomic_bool used;  /* [A] owned by a live thread */
};
/* One pointer per thread; initial-exec keeps its access a plain load from
 * the thread pointer, where the default model for a shared library calls
 * __tls_get_addr on every access. */
extern __thread struct tctx *ocf_tl_ctx_
    __attribute__((tls_model("initial-exec"), visibility("hidden")));
struct tctx *tctx_create(void);
/* tctx_get: the calling thread's, created on first use; NULL if out of memory */
static inline struct tctx *tctx_get(void) {
  struct tctx *t = ocf_tl_ctx_;
  return __builtin_expect(t != NULL, 1) ? t : tctx_create();
}
/* tctx_peek: the calling thread's, or NULL */
static inline struct tctx *tctx_peek(void) { return ocf_tl_ctx_; }
struct pin *pin_take_slow(struct tctx *t, struct sess *s, struct drv *d);
void pin_drop_slow(struct tctx *t, struct sess *s, struct drv *d);
/* pin_take counts a request of t on (s, d): n++; NULL if all pins are taken */
static inline struct pin *pin_take(struct tctx *t, struct sess *s, struct drv *d) {
  struct pin *p = &t->pin[0];
  if (atomic_load_explicit(&p->s, memory_order_relaxed) == s &&
      atomic_load_explicit(&p->d, memory_order_relaxed) == d) {
    atomic_store_explicit(&p->n, atomic_load_explicit(&p->n, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    return p;
  }
  return pin_take_slow(t, s, d);
}
/* pin_drop: n--; release, so that a scanner reading the new count sees all
 * this thread did with the request and its session */
static inline void pin_drop(struct tctx *t, struct sess *s, struct drv *d) {
  struct pin *p = &t->pin[0];
  long n = atomic_load_explicit(&p->n, memory_order_relaxed);
  if (n > 0 && atomic_load_explicit(&p->s, memory_order_relaxed) == s &&
      atomic_load_explicit(&p->d, memory_order_relaxed) == d) {
    atomic_store_explicit(&p->n, n - 1, memory_order_release);
    return;
  }
  pin_drop_slow(t, s, d);
}
void pin_barrier(void);                    /* the scanner's side: after raising a flag */
bool pins_hold_sess(const struct sess *s); /* any thread counts a request of s */
bool pins_hold_drv(const struct drv *d);
void tstat_add_slow(struct tctx *t, struct drv *d, size_t bytes, bool err);
/* tstat_add counts a completed request in t's statistics of d */
static inline void tstat_add(struct tctx *t, struct drv *d, size_t bytes, bool err) {
  struct tstat *st = &t->st[0];
  if (atomic_load_explicit(&st->hid, memory_order_relaxed) != d->hid) {
    tstat_add_slow(t, d, bytes, err);
    return;
  }
  /* only this thread writes them: no read-modify-write needed */
  atomic_store_explicit(&st->n_req, atomic_load_explicit(&st->n_req, memory_order_relaxed) + 1,
                        memory_order_relaxed);
  atomic_store_explicit(&st->n_bytes,
                        atomic_load_explicit(&st->n_bytes, memory_order_relaxed) + bytes,
                        memory_order_relaxed);
  if (err)
    atomic_store_explicit(&st->n_err, atomic_load_explicit(&st->n_err, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}
void tstat_sum(const struct drv *d, uint64_t *req, uint64_t *bytes, uint64_t *err);
int tctx_ncpu(struct tctx *t); /* CPUs the calling thread may use */
void tctx_init(void);          /* ocf_init: membarrier registration */

/* The owner's side of the pin protocol: orders its pin stores before the
 * loads of the flags.  With membarrier(2) the scanner provides the barrier
 * and a compiler barrier is enough here. */
extern bool pin_asym;
static inline void pin_fence(void) {
  if (pin_asym)
    atomic_signal_fence(memory_order_seq_cst);
  else
    atomic_thread_fence(memory_order_seq_cst);
}

/* registry.c */
struct drv *drv_get(uint32_t hid); /* takes a reference; NULL if unknown */
void drv_put(struct drv *d);
int drv_snapshot(struct drv **out, int max); /* referenced attached drivers */
bool drv_serves_chain(struct drv *d, const struct sess *s);
void drv_shutdown_all(void);
void registry_drained(void); /* wake ocf_unregister_all waiters */

/* balance.c: choose a producer for a session or a public-key request. */
struct drv *balance_pick(const struct sess *s, struct drv *exclude);
struct drv *balance_kpick(const struct ocf_kreq *k,
                          bool *too_big); /* *too_big: only size stopped it */
int policy_parse(const char *name, enum policy *out);
const char *policy_name(enum policy p);
/* Per-request choice (capacity, size).  Table read-locked.  Returns the
 * binding to use, or sets *want to a producer that needs a replica first
 * (or *refresh when cand[] is out of date). */
struct bind policy_choose(struct sess *s, size_t len, struct drv **want, bool *refresh);
void policy_measure(struct drv *d, enum ocf_alg alg, size_t len, uint64_t ns);
/* est_ns: a len-byte alg request's measured service time on d, in ns; 0 when
 * not measured yet. */
static inline double est_ns(const struct drv *d, enum ocf_alg alg, size_t len) {
  double t = atomic_load_explicit(&d->svc_fixed[alg], memory_order_relaxed) +
             atomic_load_explicit(&d->svc_slope[alg], memory_order_relaxed) * (double)len;
  return t > 0 ? t : 0;
}
void meas_free(struct drv *d);
uint64_t now_ns(void);

/* session.c */
int sess_bind(struct sess *s, struct drv *exclude); /* table write-locked */
void sess_publish(struct sess *s);                  /* table write-locked: new sess.fast */
struct sess *sess_alloc(void);                      /* zeroed, dying = 1 */
void sess_destroy(struct sess *s);                  /* back to the pool */
struct sess *sess_lookup_locked(ocf_sid_t sid);     /* table read-locked */
void sess_table_rdlock(void);
void sess_table_wrlock(void);
void sess_table_unlock(void);
int sess_migrate(struct sess *s, ocf_sid_t *newsid); /* takes the table lock */
void sess_drop_driver(struct drv *d);                /* unregister_all */
void sess_free_all(void);
int sess_replicate(struct sess *s, struct drv *d); /* takes the table lock */
void sess_refresh_cand(struct sess *s);            /* takes the table lock */
ocf_sid_t sess_new_sid(struct drv *d);

/* dispatch.c */
void dispatch_requeue_held(struct drv *d);
void complete_req(struct ocf_req *req, int error);    /* framework-side completion */
void dispatch_run(struct tctx *t, struct fifo *work); /* run here, then callbacks, then deferred */
void dispatch_return(struct tctx *t, struct fifo *done); /* the return thread's callbacks */
void dispatch_flush_deferred(struct tctx *t);            /* hand this thread's deferred ones over */
void kdispatch_run(struct ocf_kreq *k);                  /* kdispatch.c */

/* queue.c: the run queue, its worker threads, the return thread */
int dispatch_init(int workers);
void dispatch_fini(void);
void runq_push(struct fifo *f); /* to the workers; empties f */
void runq_take(struct fifo *f); /* a worker's share of the queue, without waiting */
void retq_push(struct fifo *f); /* to the return thread; empties f */
extern atomic_int runq_idle_;   /* see queue.c */
extern atomic_long runq_len_;
/* runq_idle: workers asleep and not yet woken, waiting for work (racy) */
static inline int runq_idle(void) {
  return atomic_load_explicit(&runq_idle_, memory_order_relaxed);
}
/* runq_len: requests waiting in the run queue (racy) */
static inline long runq_len(void) { return atomic_load_explicit(&runq_len_, memory_order_relaxed); }
double handoff_ns(void); /* measured: a queued request's wait for a sleeping worker */
int kcost_key(const struct ocf_kreq *k); /* which measurement a request's time goes to */
void kcost_measure(int key, uint64_t ns);
int dispatch_nworkers(void);

/* selftest.c: 0, or EIO when the producer gave a wrong answer */
int selftest_run(struct drv *d, enum ocf_alg alg);

/* validate.c */
int validate_req(const struct sess *s, const struct ocf_req *req, const struct drv *d);

/* sessx.c: per-session services the framework gives producers (streamed
 * digests, generated nonces) */
int sessx_init(struct sess *s);                                   /* at creation */
void sessx_free(struct sess *s);                                  /* wipes */
int sessx_admit(const struct sess *s, const struct ocf_req *req); /* last check */
void sessx_done(struct sess *s, const struct ocf_req *req);       /* before the callback */

/* kdispatch.c */
void kcomplete(struct ocf_kreq *k, int error);

/* kvalidate.c: the <ocf/pk.h> input contract, 0 or an errno with a detail */
int kvalidate(const struct ocf_kreq *k);

/* alg.c */
int ocf_alg_maclen_ok(const struct ocf_alg_info *ai, size_t maclen);

/* util.c */
int ocf_seterr(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ocf_running(void);

/* request states, for the exactly-once assertion.  RS_QUEUED: counted on
 * sess.inflight and drv.inflight; RS_PINNED: counted on a pin of the thread
 * that admitted it, which runs it (tctx.c). */
enum { RS_IDLE = 0, RS_QUEUED = 0x51ced, RS_PINNED = 0x9179, RS_DONE = 0xd0e };

#endif
