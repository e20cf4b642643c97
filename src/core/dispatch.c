/* dispatch.c - the request path: ocf_dispatch, where a request runs,
 * completion (ocf_done) and callbacks.
 *
 * Fast path.  A thread remembers the sessions it used (tctx.c): a request on
 * one of them is admitted without the session table's lock and counted on
 * the thread's pin rather than on the shared counters, so it costs no atomic
 * read-modify-write and writes no cache line another thread uses.
 *
 * Where a request of a synchronous (software) producer runs:
 * - on the dispatching thread, before ocf_dispatch returns, together with
 *   its callback (FreeBSD runs synchronous drivers in crypto_dispatch the same
 *   way) - unless spreading it pays;
 * - on a worker thread when an idle worker exists, the calling thread may
 *   run on another CPU, and the work handed over is worth at least
 *   SPREAD_FACTOR times what handing over measurably costs: the requests'
 *   service times are measured per producer, algorithm and size (balance.c),
 *   the handoff as the CPU time of waking a sleeping worker, on both
 *   threads (queue.c).  A thread that keeps running requests its callbacks resubmit
 *   for that long, with a worker idle, hands them over too; with none idle
 *   and a worker on every CPU, it queues them behind the workers' work.
 * A request dispatched from a callback this thread is running waits until
 * that callback returns (the thread's deferred list), so the stack never
 * grows with resubmissions.  OCF_REQ_ASYNC always goes to a worker.
 * Asynchronous producers get process() straight from the dispatching
 * thread; their completions (ocf_done from any thread) reach the return
 * thread, which runs the callbacks in batches. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/internal.h"

void dispatch_kqueue(struct ocf_kreq *k);
void dispatch_kinline(struct ocf_kreq *k);
void dispatch_kdeliver(struct ocf_kreq *k);
void dispatch_kheld(struct drv *d, struct ocf_kreq *k, unsigned gen);

/* The few functions every request goes through are inlined into their
 * callers: their prologues and epilogues cost as much as their bodies. */
#define HOT static inline __attribute__((always_inline))

/* Handing work to a worker pays when it is worth this many handoffs. */
#define SPREAD_FACTOR 2.0
/* OCF_REQ_INLINE requests run nested in a callback at most this deep. */
#define MAX_NEST 8

const struct ocf_sessparam *ocf_req_params(const struct ocf_req *req) {
  const struct sess *s = req != NULL ? req->sess_ : NULL;
  return s != NULL ? &s->param[0] : NULL;
}

/* --- completion ------------------------------------------------------------ */

HOT void run_callbacks(struct tctx *t, struct fifo *f) {
  /* Each callback may resubmit its request, which rewrites next_: read the
   * link before calling. */
  for (struct ocf_kreq *k = f->khead, *next; k != NULL; k = next) {
    next = k->next_;
    k->callback(k);
  }
  for (struct ocf_req *r = f->head, *next; r != NULL; r = next) {
    next = r->next_;
    r->callback(r);
  }
  fifo_init(f);
  if (t != NULL && t->pend.count > 0) runq_push(&t->pend);
}

HOT void deliver(struct tctx *t, struct ocf_req *r) {
  if (r->flags & OCF_REQ_CBIMM) {
    r->callback(r);
  } else if (t != NULL && t->done != NULL) {
    fifo_put(t->done, r);
  } else {
    struct fifo f;
    fifo_init(&f);
    fifo_put(&f, r);
    retq_push(&f);
  }
}

static void kdeliver(struct tctx *t, struct ocf_kreq *k) {
  if (k->flags & OCF_REQ_CBIMM) {
    k->callback(k);
  } else if (t != NULL && t->done != NULL) {
    fifo_kput(t->done, k);
  } else {
    struct fifo f;
    fifo_init(&f);
    fifo_kput(&f, k);
    retq_push(&f);
  }
}

static void drv_release(struct drv *d, atomic_long *counter) {
  bool det = atomic_load(&d->detached);
  if (atomic_fetch_sub(counter, 1) == 1 && det) registry_drained();
}

/* to_counted moves a pinned request of this thread onto the shared
 * counters, before it leaves the thread (a worker, the held list, a
 * migration).  The counters go up before the pin comes down. */
static void to_counted(struct tctx *t, struct ocf_req *r) {
  if (__atomic_load_n(&r->state_, __ATOMIC_RELAXED) != RS_PINNED) return;
  struct sess *s = r->sess_;
  struct drv *d = r->drv_;
  atomic_fetch_add_explicit(&s->inflight, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&d->inflight, 1, memory_order_relaxed);
  __atomic_store_n(&r->state_, RS_QUEUED, __ATOMIC_RELAXED);
  pin_drop(t, s, d);
}

/* The one completion path for symmetric requests, from a producer or from
 * the framework itself. */
HOT void finish(struct ocf_req *r) {
  struct tctx *t = tctx_peek();
  struct drv *d = r->drv_;
  struct sess *s = r->sess_;
  if (__atomic_load_n(&r->state_, __ATOMIC_RELAXED) == RS_PINNED) {
    /* run by the thread that admitted it: its own counters, its own pin
     * (pin_drop aborts when another thread completes it) */
    if (t == NULL) {
      ocf_log(0, "request %p completed on a thread that did not admit it", (void *)r);
      abort();
    }
    __atomic_store_n(&r->state_, RS_DONE, __ATOMIC_RELAXED);
    tstat_add(t, d, r->desc[0].len, r->error != 0);
    if (r->t0_ != 0)
      atomic_fetch_add_explicit(&d->lat[lat_bucket(now_ns() - r->t0_)], 1, memory_order_relaxed);
    if (__builtin_expect((r->desc[0].flags & (OCF_D_UPDATE | OCF_D_FINAL)) != 0, 0))
      sessx_done(s, r);
    pin_drop(t, s, d); /* last touch of the session */
    deliver(t, r);
    return;
  }
  uint32_t st = __atomic_exchange_n(&r->state_, RS_DONE, __ATOMIC_ACQ_REL);
  if (st != RS_QUEUED) {
    ocf_log(0, "request %p completed twice or never dispatched (state %#x)", (void *)r, st);
    abort();
  }
  if (d != NULL) {
    atomic_fetch_add_explicit(&d->n_req, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&d->n_bytes, r->desc[0].len, memory_order_relaxed);
    if (r->t0_ != 0)
      atomic_fetch_add_explicit(&d->lat[lat_bucket(now_ns() - r->t0_)], 1, memory_order_relaxed);
    if (r->error) atomic_fetch_add_explicit(&d->n_err, 1, memory_order_relaxed);
    if (ocf_policy != POLICY_SESSIONS)
      atomic_fetch_sub_explicit(&d->pend_bytes, (long)r->desc[0].len, memory_order_relaxed);
    drv_release(d, &d->inflight);
  }
  /* a streamed part: the next may go once this returns */
  if (__builtin_expect((r->desc[0].flags & (OCF_D_UPDATE | OCF_D_FINAL)) != 0, 0)) sessx_done(s, r);
  /* Last touch of the session: after this ocf_freesession may free it. */
  atomic_fetch_sub_explicit(&s->inflight, 1, memory_order_release);
  deliver(t, r);
}

static void stale(struct ocf_req *r);

void ocf_done(struct ocf_req *req) {
  if (req == NULL) return;
  struct tctx *t = tctx_peek();
  /* the common case: a software producer inside this thread's run loop */
  if (__builtin_expect(t != NULL && t->depth > 0 && req->error != OCF_ELOST, 1)) {
    finish(req);
    return;
  }
  if (t == NULL) t = tctx_get();
  if (req->error == OCF_ELOST) {
    if (t != NULL) to_counted(t, req);
    if (((struct sess *)req->sess_)->selftest) {
      req->error = EIO; /* a self-test request has no session to migrate */
      finish(req);
      return;
    }
    /* The device lost it: as if it never got there.  Migration needs the
     * producer to be detached, or the session would come straight back. */
    struct drv *d = req->drv_;
    if (d != NULL && !atomic_load(&d->detached)) {
      ocf_log(1, "producer %s lost a request without detaching; detaching it", d->name);
      ocf_driver_detach(d->hid);
    }
    if (t != NULL && t->done == NULL && !(req->flags & OCF_REQ_CBIMM)) {
      /* stale() may complete inline; keep the callback off the producer's thread */
      struct fifo tmp;
      fifo_init(&tmp);
      t->done = &tmp;
      stale(req);
      t->done = NULL;
      retq_push(&tmp);
    } else {
      stale(req);
    }
    return;
  }
  /* Outside a run loop this is a producer's own thread: a callback run here
   * (OCF_REQ_CBIMM) must not make it run requests. */
  bool outside = t != NULL && t->depth == 0;
  if (outside) t->foreign++;
  finish(req);
  if (outside) t->foreign--;
}

void ocf_done_batch(struct ocf_req **reqs, int n) {
  if (reqs == NULL || n <= 0) return;
  /* One hand-off to the return thread for the whole batch (a coalesced
   * interrupt), unless this thread already collects completions. */
  struct tctx *t = tctx_get();
  if (t == NULL || t->done != NULL) {
    for (int i = 0; i < n; i++) ocf_done(reqs[i]);
    return;
  }
  struct fifo local;
  fifo_init(&local);
  t->done = &local;
  for (int i = 0; i < n; i++) ocf_done(reqs[i]);
  t->done = NULL;
  retq_push(&local);
}

void complete_req(struct ocf_req *req, int error) {
  req->error = error;
  finish(req);
}

/* The request's binding is stale (producer or algorithm gone): it never
 * reached a producer.  Migrate and complete with EAGAIN, or ENODEV.  The
 * request is counted (to_counted). */
static void stale(struct ocf_req *r) {
  struct sess *s = r->sess_;
  if (r->drv_ != NULL) {
    struct drv *d = r->drv_;
    if (ocf_policy != POLICY_SESSIONS)
      atomic_fetch_sub_explicit(&d->pend_bytes, (long)r->desc[0].len, memory_order_relaxed);
    drv_release(d, &d->inflight);
    r->drv_ = NULL;
  }
  if (!ocf_running()) {
    complete_req(r, ECANCELED);
    return;
  }
  ocf_sid_t nsid = r->sid;
  int rc = sess_migrate(s, &nsid);
  if (rc == 0 && nsid == r->sid) rc = EAGAIN; /* fixed meanwhile: just resubmit */
  if (rc == 0 || rc == EAGAIN) {
    r->sid = nsid;
    rc = EAGAIN;
  }
  complete_req(r, rc);
}

/* gen: the producer's unblock count read before process() said busy.  If it
 * unblocked since, holding would wait for an unblock that already happened:
 * send the request round again instead.  The request is counted. */
static void hold(struct drv *d, struct ocf_req *r, unsigned gen) {
  pthread_mutex_lock(&d->hold_lock);
  if (atomic_load(&d->unblock_gen) != gen) {
    pthread_mutex_unlock(&d->hold_lock);
    struct fifo f;
    fifo_init(&f);
    fifo_put(&f, r);
    runq_push(&f);
    return;
  }
  d->blocked = true;
  r->next_ = NULL;
  *d->held_tail = r;
  d->held_tail = &r->next_;
  pthread_mutex_unlock(&d->hold_lock);
  if (atomic_load(&d->detached)) dispatch_requeue_held(d);
}

/* Gives r to its producer (or to the held list). */
HOT void run_process(struct tctx *t, struct ocf_req *r) {
  struct drv *d = r->drv_;
  unsigned gen = atomic_load_explicit(&d->unblock_gen, memory_order_acquire);
  if (__builtin_expect(atomic_load_explicit(&d->detached, memory_order_acquire) |
                           atomic_load_explicit(&d->blocked, memory_order_acquire),
                       0)) {
    to_counted(t, r);
    if (atomic_load_explicit(&d->detached, memory_order_acquire))
      stale(r);
    else /* a blocked producer gets nothing new until it unblocks: later
            requests queue behind the held ones */
      hold(d, r, gen);
    return;
  }
  int rc;
  /* Synchronous producers are timed (balance.c) so that the decisions here
   * and the capacity and size policies know their service times: every
   * request until there are enough samples, then now and then (the
   * policies want them sooner). */
  unsigned mask = ocf_policy != POLICY_SESSIONS ? 3 : 63;
  enum ocf_alg alg = r->desc[0].alg;
  if ((d->flags & OCF_DRV_SYNC) &&
      ((t->tick++ & mask) == 0 ||
       !atomic_load_explicit(&d->svc_known[alg], memory_order_relaxed))) {
    size_t len = r->desc[0].len;
    uint64_t t0 = now_ns();
    rc = d->ops.process(d->softc, r->dsess_, r);
    if (rc == 0) policy_measure(d, alg, len, now_ns() - t0);
  } else {
    rc = d->ops.process(d->softc, r->dsess_, r);
  }
  if (rc == 0) return;
  if (rc == OCF_EBUSY_DRV) {
    to_counted(t, r);
    hold(d, r, gen);
  } else {
    complete_req(r, rc);
  }
}

void dispatch_requeue_held(struct drv *d) {
  pthread_mutex_lock(&d->hold_lock);
  struct ocf_req *list = d->held;
  d->held = NULL;
  d->held_tail = &d->held;
  struct ocf_kreq *klist = d->kheld;
  d->kheld = NULL;
  d->blocked = false;
  atomic_fetch_add(&d->unblock_gen, 1);
  pthread_mutex_unlock(&d->hold_lock);
  struct fifo f;
  fifo_init(&f);
  for (struct ocf_req *r = list, *next; r != NULL; r = next) {
    next = r->next_;
    fifo_put(&f, r);
  }
  for (struct ocf_kreq *k = klist, *next; k != NULL; k = next) {
    next = k->next_;
    fifo_kput(&f, k);
  }
  runq_push(&f); /* workers hand them to process() again, or migrate them */
}

/* --- where requests run ----------------------------------------------------- */

void dispatch_flush_deferred(struct tctx *t) {
  if (t == NULL) return;
  for (struct ocf_req *r = t->defer.head; r != NULL; r = r->next_) to_counted(t, r);
  runq_push(&t->defer);
  runq_push(&t->pend);
}

static double req_est(const struct ocf_req *r) {
  return est_ns(r->drv_, r->desc[0].alg, r->desc[0].len);
}

/* maybe_spread hands part of work to the workers when that pays (see the
 * top of this file).  *since: when this run loop started being timed. */
static void maybe_spread(struct tctx *t, struct fifo *work, uint64_t *since, int iter) {
  int idle = runq_idle(), ncpu = tctx_ncpu(t);
  if (work->head == NULL || ncpu < 2) return;
  /* Busy workers on every CPU: a consumer thread that keeps running its
   * callbacks' resubmissions would be one thread too many, taking turns on
   * the CPUs with them.  Once timed busy, it queues its work behind theirs
   * (waking nobody: busy workers take their share of the queue) and gets
   * its thread back. */
  bool full = idle == 0 && t->role == ROLE_CONSUMER && dispatch_nworkers() >= ncpu;
  if (idle == 0 && !full) return;
  if (full && !(iter > 0 && (iter & 7) == 0)) return;
  double bar = SPREAD_FACTOR * handoff_ns(), est = 0;
  long n = 0;
  for (struct ocf_req *r = work->head; r != NULL; r = r->next_, n++) est += req_est(r);
  bool go = !full && est >= bar;
  /* a thread whose callbacks keep it busy: time it, every 8 rounds */
  if (!go && t->role == ROLE_CONSUMER && iter > 0 && (iter & 7) == 0) {
    uint64_t now = now_ns();
    if (*since == 0)
      *since = now;
    else if ((double)(now - *since) >= bar)
      go = true;
  }
  if (!go) return;
  /* a worker keeps a share; the consumer's thread gives the workers theirs,
   * all of it when it is one request: the consumer gets its thread back */
  long hand = full ? n : t->role == ROLE_WORKER ? n / 2 : (n * idle + idle) / (idle + 1);
  if (hand <= 0) return;
  /* the last ones go; public-key requests in work stay where they are */
  struct ocf_req *list = work->head;
  work->head = NULL;
  work->tail = &work->head;
  work->count -= n;
  struct fifo give;
  fifo_init(&give);
  long i = 0;
  for (struct ocf_req *r = list, *next; r != NULL; r = next, i++) {
    next = r->next_;
    if (i >= n - hand && !(r->flags & OCF_REQ_INLINE)) {
      to_counted(t, r);
      fifo_put(&give, r);
    } else {
      fifo_put(work, r);
    }
  }
  runq_push(&give);
  *since = 0;
}

void dispatch_run(struct tctx *t, struct fifo *work) {
  struct fifo done;
  uint64_t since = 0;
  t->depth++;
  for (int iter = 0;; iter++) {
    if (t->role == ROLE_CONSUMER || (t->role == ROLE_WORKER && runq_idle() > 0))
      maybe_spread(t, work, &since, iter);
    fifo_init(&done);
    struct fifo *saved = t->done;
    t->done = &done;
    for (struct ocf_kreq *k = work->khead, *next; k != NULL; k = next) {
      next = k->next_;
      /* public-key service times, for sharing the workers by cost */
      struct drv *d = k->drv_;
      bool timed = d != NULL && (d->flags & OCF_DRV_SYNC);
      int key = timed ? kcost_key(k) : -1;
      uint64_t t0 = timed ? now_ns() : 0;
      kdispatch_run(k);
      if (timed) kcost_measure(key, now_ns() - t0);
    }
    for (struct ocf_req *r = work->head, *next; r != NULL; r = next) {
      next = r->next_;
      run_process(t, r);
    }
    fifo_init(work);
    t->done = saved;
    run_callbacks(t, &done);
    if (t->defer.count == 0) break;
    if (t->role == ROLE_POLL) {
      dispatch_flush_deferred(t);
      break;
    }
    /* The workers share the queue fairly: with others waiting and no idle
     * worker, this worker takes its share of them before what its own
     * callbacks submitted.  Those stay here rather than joining the queue:
     * pushed there, they would go to whichever worker pops next, and two
     * workers would trade each other's requests (and their buffers' cache
     * lines) from then on. */
    if (t->role == ROLE_WORKER && runq_len() > 0 && runq_idle() == 0) runq_take(work);
    fifo_append(work, &t->defer);
  }
  t->depth--;
}

void dispatch_return(struct tctx *t, struct fifo *done) {
  t->depth++;
  run_callbacks(t, done);
  t->depth--;
  dispatch_flush_deferred(t);
}

/* run_nested runs an OCF_REQ_INLINE request at once, inside a callback. */
static void run_nested(struct tctx *t, struct ocf_req *r) {
  struct fifo done, *saved = t->done;
  fifo_init(&done);
  t->nest++;
  t->done = &done;
  run_process(t, r);
  t->done = saved;
  run_callbacks(t, &done);
  t->nest--;
}

/* --- admission -------------------------------------------------------------- */

static inline size_t cache_slot(ocf_sid_t sid) {
  return (size_t)((sid ^ (sid >> 32)) * 0x9e3779b97f4a7c15ull >> 58) & (TC_CACHE - 1);
}

HOT void sample_t0(struct tctx *t, struct ocf_req *r) {
  /* The latency histogram (p50 / p99 of ocf_driver_stats) times one request
   * in LAT_SAMPLE: reading the clock twice cost about 15% of a 64-byte
   * request's time in the framework. */
  unsigned tick = t != NULL ? t->tick++ : 1;
  r->t0_ = tick % LAT_SAMPLE == 0 ? now_ns() : 0;
}

/* admit_fast: a session this thread used before, counted on its pin.
 * Returns 0 (admitted, RS_PINNED), an errno (refused), or -1 (take the
 * table path). */
HOT int admit_fast(struct tctx *t, struct ocf_req *r) {
  if (ocf_policy != POLICY_SESSIONS) return -1; /* those choose per request */
  size_t slot = cache_slot(r->sid);
  if (t->cache[slot].sid != r->sid || r->sid == 0) return -1;
  struct sess *s = t->cache[slot].s;
  struct drv *d = t->cache[slot].d;
  if (pin_take(t, s, d) == NULL) return -1;
  pin_fence();
  /* pinned: s cannot be freed, nor d removed, while the checks below pass.
   * Whether d still serves the chain changes only with the registry, which
   * bumps reg_gen after each change: check again when it moved. */
  const struct cbind *b;
  unsigned gen = atomic_load_explicit(&reg_gen, memory_order_relaxed);
  if (atomic_load_explicit(&s->dying, memory_order_acquire) ||
      (b = atomic_load_explicit(&s->fast, memory_order_acquire)) == NULL || b->sid != r->sid ||
      b->drv != d || (t->cache[slot].gen != gen && !drv_serves_chain(d, s))) {
    pin_drop(t, s, d);
    t->cache[slot].sid = 0;
    return -1;
  }
  t->cache[slot].gen = gen;
  int rc = validate_req(s, r, d);
  if (rc != 0) {
    pin_drop(t, s, d);
    return rc;
  }
  r->sess_ = s;
  r->drv_ = d;
  r->dsess_ = b->dsess;
  r->error = 0;
  r->olen = 0;
  sample_t0(t, r);
  __atomic_store_n(&r->state_, RS_PINNED, __ATOMIC_RELAXED);
  return 0;
}

/* admit_slow: through the session table, counted on the shared counters.
 * *stale_out says the binding must be migrated first. */
static int admit_slow(struct tctx *t, struct ocf_req *r, bool *stale_out) {
  int slow = 0; /* write-locked fixes done: a refresh, then a replica */
again:
  sess_table_rdlock();
  struct sess *s = sess_lookup_locked(r->sid);
  if (s == NULL) {
    sess_table_unlock();
    return ocf_seterr(ENOENT, "no session %#llx (never created, or already freed)",
                      (unsigned long long)r->sid);
  }
  struct drv *d = s->drv;
  void *ds = s->dsess;
  bool st = r->sid != s->sid || ds == NULL;
  if (!st && ocf_policy != POLICY_SESSIONS && r->ndesc >= 1) {
    struct drv *want;
    bool refresh;
    struct bind b = policy_choose(s, r->desc[0].len, &want, &refresh);
    if ((want != NULL || refresh) && slow < 2) {
      /* Needs the write lock: pin the session (ocf_freesession refuses
       * while inflight > 0), drop the read lock, fix, and start again. */
      atomic_fetch_add(&s->inflight, 1);
      sess_table_unlock();
      if (refresh)
        sess_refresh_cand(s);
      else
        sess_replicate(s, want);
      atomic_fetch_sub(&s->inflight, 1);
      slow++;
      goto again;
    }
    d = b.drv;
    ds = b.dsess;
  }
  if (!st && t != NULL && ocf_policy == POLICY_SESSIONS) {
    /* the next request on this session takes the fast path */
    size_t slot = cache_slot(r->sid);
    t->cache[slot].sid = r->sid;
    t->cache[slot].s = s;
    t->cache[slot].d = d;
    t->cache[slot].gen = atomic_load(&reg_gen) - 1; /* checked at first use */
  }
  atomic_fetch_add_explicit(&s->inflight, 1, memory_order_relaxed);
  if (!st) {
    /* Count ourselves in before checking that the producer stays: pairs with
     * ocf_unregister_all setting detached, then waiting for inflight == 0. */
    atomic_fetch_add(&d->inflight, 1);
    if (!drv_serves_chain(d, s)) {
      drv_release(d, &d->inflight);
      st = true;
    }
  }
  sess_table_unlock();
  int rc = validate_req(s, r, st ? NULL : d);
  if (rc != 0) {
    if (!st) drv_release(d, &d->inflight);
    atomic_fetch_sub(&s->inflight, 1);
    return rc;
  }
  if (!st && ocf_policy != POLICY_SESSIONS)
    atomic_fetch_add_explicit(&d->pend_bytes, (long)r->desc[0].len, memory_order_relaxed);
  r->sess_ = s;
  r->drv_ = st ? NULL : d;
  r->dsess_ = ds;
  r->error = 0;
  r->olen = 0;
  sample_t0(t, r);
  __atomic_store_n(&r->state_, RS_QUEUED, __ATOMIC_RELEASE);
  *stale_out = st;
  return 0;
}

/* Binds r to its session and producer.  Returns 0 (accepted), or an errno
 * for a refusal. */
HOT int admit(struct tctx *t, struct ocf_req *r, bool *stale_out) {
  if (r->callback == NULL) return ocf_seterr(EINVAL, "request without a callback");
  uint32_t st = __atomic_load_n(&r->state_, __ATOMIC_ACQUIRE);
  if (st == RS_QUEUED || st == RS_PINNED)
    return ocf_seterr(EINVAL, "request %p is already in flight", (void *)r);
  *stale_out = false;
  if (t != NULL) {
    int rc = admit_fast(t, r);
    if (rc >= 0) return rc;
  }
  return admit_slow(t, r, stale_out);
}

/* place decides where an admitted request goes: *local (this thread runs
 * it), *queue (a worker will), or nowhere more (given to an asynchronous
 * producer, or completed with EAGAIN / ENODEV because its binding is stale). */
HOT void place(struct tctx *t, struct ocf_req *r, bool st, struct fifo *local, struct fifo *queue) {
  if (st) {
    /* Complete asynchronously, as promised: migrate now, deliver later. */
    struct fifo tmp, *saved = t != NULL ? t->done : NULL;
    fifo_init(&tmp);
    if (t != NULL) t->done = &tmp;
    if (t == NULL) {
      stale(r); /* no context: completes through the return thread */
      return;
    }
    stale(r);
    t->done = saved;
    if (saved != NULL)
      fifo_append(saved, &tmp);
    else
      retq_push(&tmp);
    return;
  }
  struct drv *d = r->drv_;
  /* the common case first: a software producer, this thread runs it */
  if (__builtin_expect((d->flags & OCF_DRV_SYNC) && t != NULL &&
                           !(r->flags & (OCF_REQ_ASYNC | OCF_REQ_INLINE)) && t->foreign == 0 &&
                           (t->role == ROLE_CONSUMER || t->role == ROLE_WORKER),
                       1)) {
    fifo_put(local, r);
  } else if (!(d->flags & OCF_DRV_SYNC)) {
    to_counted(t, r);
    run_process(t, r);
  } else if (t == NULL || (r->flags & OCF_REQ_ASYNC) || t->foreign > 0 || t->role == ROLE_RETURN ||
             (t->role == ROLE_POLL && t->depth > 0)) {
    to_counted(t, r);
    fifo_put(queue, r);
  } else if ((r->flags & OCF_REQ_INLINE) && t->depth > 0) {
    if (t->nest < MAX_NEST) {
      run_nested(t, r);
    } else {
      to_counted(t, r); /* too deep: a worker runs it (ocf_run waits for it) */
      fifo_put(queue, r);
    }
  } else {
    fifo_put(local, r);
  }
}

/* go runs or defers what place() kept here and hands the rest over. */
HOT void go(struct tctx *t, struct fifo *local, struct fifo *queue) {
  if (queue->count > 0) {
    if (t != NULL && t->depth > 0)
      fifo_append(&t->pend, queue);
    else
      runq_push(queue);
  }
  if (local->count == 0) return;
  if (t->depth > 0)
    fifo_append(&t->defer, local); /* after the callback this thread is in */
  else
    dispatch_run(t, local);
}

int ocf_dispatch(struct ocf_req *req) {
  if (req == NULL) return ocf_seterr(EINVAL, "ocf_dispatch: NULL request");
  if (!ocf_running()) return ocf_seterr(ECANCELED, "ocf_dispatch: framework not running");
  struct tctx *t = tctx_get();
  bool st;
  int rc = admit(t, req, &st);
  if (rc != 0) return rc;
  struct fifo local, queue;
  fifo_init(&local);
  fifo_init(&queue);
  place(t, req, st, &local, &queue);
  go(t, &local, &queue);
  return 0;
}

int ocf_dispatch_batch(struct ocf_req **reqs, int n, int *err) {
  if (err) *err = 0;
  if (reqs == NULL || n < 0) {
    if (err) *err = EINVAL;
    return 0;
  }
  if (!ocf_running()) {
    if (err) *err = ocf_seterr(ECANCELED, "ocf_dispatch_batch: framework not running");
    return 0;
  }
  struct tctx *t = tctx_get();
  struct fifo local, queue;
  fifo_init(&local);
  fifo_init(&queue);
  int i;
  for (i = 0; i < n; i++) {
    bool st;
    int rc = reqs[i] ? admit(t, reqs[i], &st) : ocf_seterr(EINVAL, "NULL request in batch");
    if (rc != 0) {
      if (err) *err = rc;
      break;
    }
    place(t, reqs[i], st, &local, &queue);
  }
  go(t, &local, &queue);
  return i;
}

/* ocf_run: dispatch inline and wait. */
struct waiter {
  pthread_mutex_t m;
  pthread_cond_t c;
  int done;
};

static void run_cb(struct ocf_req *r) {
  struct waiter *w = r->opaque;
  pthread_mutex_lock(&w->m);
  w->done = 1;
  pthread_cond_signal(&w->c);
  pthread_mutex_unlock(&w->m);
}

int ocf_run(struct ocf_req *req) {
  if (req == NULL) return ocf_seterr(EINVAL, "ocf_run: NULL request");
  struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
  ocf_cb cb = req->callback;
  void *op = req->opaque;
  unsigned flags = req->flags;
  int rc;
  req->callback = run_cb;
  req->opaque = &w;
  req->flags = (flags & ~(OCF_REQ_CBIMM | OCF_REQ_ASYNC)) | OCF_REQ_INLINE;
  for (int tries = 0;; tries++) {
    w.done = 0;
    rc = ocf_dispatch(req);
    if (rc != 0) break;
    pthread_mutex_lock(&w.m);
    while (!w.done) pthread_cond_wait(&w.c, &w.m);
    pthread_mutex_unlock(&w.m);
    rc = req->error;
    if (rc != EAGAIN || tries > 16) break;
  }
  req->callback = cb;
  req->opaque = op;
  req->flags = flags;
  pthread_mutex_destroy(&w.m);
  pthread_cond_destroy(&w.c);
  return rc;
}

/* Public-key entry points share the queues. */
void dispatch_kinline(struct ocf_kreq *k) {
  struct tctx *t = tctx_get();
  if (t == NULL) {
    dispatch_kqueue(k);
    return;
  }
  struct fifo *saved = t->done;
  struct fifo done;
  fifo_init(&done);
  t->done = &done;
  t->depth++; /* what its callback dispatches waits until it returns */
  kdispatch_run(k);
  t->done = saved;
  run_callbacks(t, &done);
  t->depth--;
  if (t->depth == 0 && t->defer.count > 0) {
    struct fifo work;
    fifo_init(&work);
    fifo_append(&work, &t->defer);
    dispatch_run(t, &work);
  }
}
void dispatch_kqueue(struct ocf_kreq *k) {
  struct fifo f;
  fifo_init(&f);
  fifo_kput(&f, k);
  runq_push(&f);
}
void dispatch_kdeliver(struct ocf_kreq *k) { kdeliver(tctx_peek(), k); }
void dispatch_kheld(struct drv *d, struct ocf_kreq *k, unsigned gen) {
  pthread_mutex_lock(&d->hold_lock);
  if (atomic_load(&d->unblock_gen) != gen) {
    pthread_mutex_unlock(&d->hold_lock);
    dispatch_kqueue(k);
    return;
  }
  d->blocked = true;
  k->next_ = d->kheld;
  d->kheld = k;
  pthread_mutex_unlock(&d->hold_lock);
}
