/* dispatch.c - the request path: ocf_dispatch, the worker threads that run
 * synchronous (software) producers, completion (ocf_done) and callbacks.
 *
 * Requests for OCF_DRV_SYNC producers go through one run queue served by the
 * worker threads, which take them in batches; the callbacks of the requests
 * a worker completed run on that worker after its batch, so a callback that
 * resubmits keeps the worker busy without any wake-up.  Asynchronous
 * producers get process() straight from the dispatching thread; their
 * completions (ocf_done from any thread) reach a return thread that runs the
 * callbacks in batches. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/internal.h"

/* A FIFO of symmetric and public-key requests (linked through next_). */
struct fifo {
  struct ocf_req *head, **tail;
  struct ocf_kreq *khead, **ktail;
  long count;
};

static void fifo_init(struct fifo *f) {
  f->head = NULL;
  f->tail = &f->head;
  f->khead = NULL;
  f->ktail = &f->khead;
  f->count = 0;
}

static void fifo_put(struct fifo *f, struct ocf_req *r) {
  r->next_ = NULL;
  *f->tail = r;
  f->tail = &r->next_;
  f->count++;
}

static void fifo_kput(struct fifo *f, struct ocf_kreq *k) {
  k->next_ = NULL;
  *f->ktail = k;
  f->ktail = &k->next_;
  f->count++;
}

/* Moves up to max entries of src to the end of dst. */
static void fifo_take(struct fifo *src, struct fifo *dst, long max) {
  while (max > 0 && src->khead != NULL) {
    struct ocf_kreq *k = src->khead;
    src->khead = k->next_;
    if (src->khead == NULL) src->ktail = &src->khead;
    src->count--;
    fifo_kput(dst, k);
    max--;
  }
  while (max > 0 && src->head != NULL) {
    struct ocf_req *r = src->head;
    src->head = r->next_;
    if (src->head == NULL) src->tail = &src->head;
    src->count--;
    fifo_put(dst, r);
    max--;
  }
}

/* A queue served by threads. */
struct tqueue {
  pthread_mutex_t lock;
  pthread_cond_t cv;
  struct fifo q; /* [lock] */
  int waiting;   /* [lock] threads asleep on cv */
  bool stop;     /* [lock] */
};

static struct tqueue runq, retq;
static pthread_t *workers;
static int nworkers;
static pthread_t ret_thread;
static bool threads_up;
/* Set once some thread has lent itself through ocf_poll: the workers then
 * leave it a share of the queue. */
static atomic_bool helped;

/* Completions produced on this thread while it runs a batch (or an inline
 * request): their callbacks run when the batch is over. */
static _Thread_local struct fifo *tl_done;
static _Thread_local bool tl_worker;
/* Requests dispatched by callbacks running on a worker: pushed to the run
 * queue in one go when the worker's callbacks are over. */
static _Thread_local struct fifo *tl_pending;

bool dispatch_on_worker(void) { return tl_worker; }

const struct ocf_sessparam *ocf_req_params(const struct ocf_req *req) {
  const struct sess *s = req != NULL ? req->sess_ : NULL;
  return s != NULL ? &s->param[0] : NULL;
}
int dispatch_nworkers(void) { return nworkers; }

static void tq_init(struct tqueue *t) {
  pthread_mutex_init(&t->lock, NULL);
  pthread_cond_init(&t->cv, NULL);
  fifo_init(&t->q);
  t->waiting = 0;
  t->stop = false;
}

/* Appends a whole fifo; one lock round trip however many requests. */
static void tq_push(struct tqueue *t, struct fifo *f) {
  if (f->count == 0) return;
  pthread_mutex_lock(&t->lock);
  if (f->head) {
    *t->q.tail = f->head;
    t->q.tail = f->tail;
  }
  if (f->khead) {
    *t->q.ktail = f->khead;
    t->q.ktail = f->ktail;
  }
  t->q.count += f->count;
  if (t->waiting > 0) {
    if (f->count > 1)
      pthread_cond_broadcast(&t->cv);
    else
      pthread_cond_signal(&t->cv);
  }
  pthread_mutex_unlock(&t->lock);
  fifo_init(f);
}

static void tq_push1(struct tqueue *t, struct ocf_req *r) {
  struct fifo f;
  fifo_init(&f);
  fifo_put(&f, r);
  tq_push(t, &f);
}

static void tq_kpush1(struct tqueue *t, struct ocf_kreq *k) {
  struct fifo f;
  fifo_init(&f);
  fifo_kput(&f, k);
  tq_push(t, &f);
}

/* Waits for work; takes a share of it (leaving some for the other threads).
 * Returns false when stopped and empty. */
static bool tq_pop(struct tqueue *t, struct fifo *out, int nthreads) {
  pthread_mutex_lock(&t->lock);
  while (t->q.count == 0 && !t->stop) {
    t->waiting++;
    pthread_cond_wait(&t->cv, &t->lock);
    t->waiting--;
  }
  long n = t->q.count;
  if (t == &runq && atomic_load_explicit(&helped, memory_order_relaxed)) nthreads++;
  long take = nthreads > 1 ? (n + nthreads - 1) / nthreads : n;
  if (take > 64) take = 64;
  fifo_take(&t->q, out, take);
  bool more = t->q.count > 0;
  bool ok = out->count > 0;
  if (more && t->waiting > 0) pthread_cond_signal(&t->cv);
  pthread_mutex_unlock(&t->lock);
  return ok;
}

static void run_callbacks(struct fifo *f) {
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
}

static void deliver(struct ocf_req *r) {
  if (r->flags & OCF_REQ_CBIMM)
    r->callback(r);
  else if (tl_done != NULL)
    fifo_put(tl_done, r);
  else
    tq_push1(&retq, r);
}

static void kdeliver(struct ocf_kreq *k) {
  if (k->flags & OCF_REQ_CBIMM)
    k->callback(k);
  else if (tl_done != NULL)
    fifo_kput(tl_done, k);
  else
    tq_kpush1(&retq, k);
}

static void drv_release(struct drv *d, atomic_long *counter) {
  bool det = atomic_load(&d->detached);
  if (atomic_fetch_sub(counter, 1) == 1 && det) registry_drained();
}

/* The one completion path for symmetric requests, from a producer or from
 * the framework itself. */
static void finish(struct ocf_req *r) {
  uint32_t st = __atomic_exchange_n(&r->state_, RS_DONE, __ATOMIC_ACQ_REL);
  if (st != RS_QUEUED) {
    ocf_log(0, "request %p completed twice or never dispatched (state %#x)", (void *)r, st);
    abort();
  }
  struct drv *d = r->drv_;
  struct sess *s = r->sess_;
  if (d != NULL) {
    atomic_fetch_add_explicit(&d->n_req, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&d->n_bytes, r->desc[0].len, memory_order_relaxed);
    if (r->t0_ != 0)
      atomic_fetch_add_explicit(&d->lat[lat_bucket(now_ns() - r->t0_)], 1, memory_order_relaxed);
    if (r->error) atomic_fetch_add_explicit(&d->n_err, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&d->pend_bytes, (long)r->desc[0].len, memory_order_relaxed);
    drv_release(d, &d->inflight);
  }
  /* a streamed part: the next may go once this returns */
  if (__builtin_expect((r->desc[0].flags & (OCF_D_UPDATE | OCF_D_FINAL)) != 0, 0)) sessx_done(s, r);
  /* Last touch of the session: after this ocf_freesession may free it. */
  atomic_fetch_sub_explicit(&s->inflight, 1, memory_order_release);
  deliver(r);
}

static void stale(struct ocf_req *r);

void ocf_done(struct ocf_req *req) {
  if (req == NULL) return;
  if (req->error == OCF_ELOST && ((struct sess *)req->sess_)->selftest) {
    req->error = EIO; /* a self-test request has no session to migrate */
  } else if (req->error == OCF_ELOST) {
    /* The device lost it: as if it never got there.  Migration needs the
     * producer to be detached, or the session would come straight back. */
    struct drv *d = req->drv_;
    if (d != NULL && !atomic_load(&d->detached)) {
      ocf_log(1, "producer %s lost a request without detaching; detaching it", d->name);
      ocf_driver_detach(d->hid);
    }
    struct fifo *saved = tl_done;
    if (tl_done == NULL && !(req->flags & OCF_REQ_CBIMM)) {
      /* stale() may complete inline; keep the callback off the producer's thread */
      struct fifo tmp;
      fifo_init(&tmp);
      tl_done = &tmp;
      stale(req);
      tl_done = saved;
      tq_push(&retq, &tmp);
    } else {
      stale(req);
    }
    return;
  }
  finish(req);
}

void ocf_done_batch(struct ocf_req **reqs, int n) {
  if (reqs == NULL || n <= 0) return;
  /* One hand-off to the return thread for the whole batch (a coalesced
   * interrupt), unless this thread already collects completions. */
  struct fifo *saved = tl_done, local;
  fifo_init(&local);
  if (saved == NULL) tl_done = &local;
  for (int i = 0; i < n; i++) ocf_done(reqs[i]);
  tl_done = saved;
  if (saved == NULL) tq_push(&retq, &local);
}

void complete_req(struct ocf_req *req, int error) {
  req->error = error;
  finish(req);
}

/* The request's binding is stale (producer or algorithm gone): it never
 * reached a producer.  Migrate and complete with EAGAIN, or ENODEV. */
static void stale(struct ocf_req *r) {
  struct sess *s = r->sess_;
  if (r->drv_ != NULL) {
    struct drv *d = r->drv_;
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
 * send the request round again instead. */
static void hold(struct drv *d, struct ocf_req *r, unsigned gen) {
  pthread_mutex_lock(&d->hold_lock);
  if (atomic_load(&d->unblock_gen) != gen) {
    pthread_mutex_unlock(&d->hold_lock);
    tq_push1(&runq, r);
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
static void run_process(struct ocf_req *r) {
  struct drv *d = r->drv_;
  if (atomic_load_explicit(&d->detached, memory_order_acquire)) {
    stale(r);
    return;
  }
  /* A blocked producer gets nothing new until it unblocks: later requests
   * queue behind the held ones. */
  unsigned gen = atomic_load(&d->unblock_gen);
  if (atomic_load_explicit(&d->blocked, memory_order_acquire)) {
    hold(d, r, gen);
    return;
  }
  int rc;
  /* Synchronous producers are timed (one request in four) so that the
   * capacity and size policies know their rates without being told. */
  static _Thread_local unsigned tick;
  if (ocf_policy != POLICY_SESSIONS && (d->flags & OCF_DRV_SYNC) && (tick++ & 3) == 0) {
    enum ocf_alg alg = r->desc[0].alg;
    size_t len = r->desc[0].len;
    uint64_t t0 = now_ns();
    rc = d->ops.process(d->softc, r->dsess_, r);
    if (rc == 0) policy_measure(d, alg, len, now_ns() - t0);
  } else {
    rc = d->ops.process(d->softc, r->dsess_, r);
  }
  if (rc == 0) return;
  if (rc == OCF_EBUSY_DRV)
    hold(d, r, gen);
  else
    complete_req(r, rc);
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
  tq_push(&runq, &f); /* workers hand them to process() again, or migrate them */
}

void kdispatch_run(struct ocf_kreq *k); /* kdispatch.c */

static void run_batch(struct fifo *batch);

static void *worker_main(void *arg) {
  struct fifo batch;
  fifo_init(&batch);
  tl_worker = true;
  while (tq_pop(&runq, &batch, nworkers)) run_batch(&batch);
  return NULL;
}

/* Runs a batch taken from the run queue on this thread, then the callbacks
 * of what completed, then pushes what those callbacks resubmitted. */
static void run_batch(struct fifo *batch) {
  struct fifo done, pending;
  fifo_init(&done);
  fifo_init(&pending);
  tl_done = &done;
  for (struct ocf_kreq *k = batch->khead, *next; k != NULL; k = next) {
    next = k->next_;
    kdispatch_run(k);
  }
  for (struct ocf_req *r = batch->head, *next; r != NULL; r = next) {
    next = r->next_;
    run_process(r);
  }
  fifo_init(batch);
  tl_done = NULL;
  tl_pending = &pending;
  run_callbacks(&done);
  tl_pending = NULL;
  tq_push(&runq, &pending);
}

int ocf_poll(int max, size_t max_len) {
  /* Not from a framework thread or a callback: that thread's batch is
   * still open, and the caller would run requests queued behind its own. */
  if (max <= 0 || !ocf_running() || !threads_up || tl_worker || tl_done != NULL ||
      tl_pending != NULL)
    return 0;
  if (!atomic_load_explicit(&helped, memory_order_relaxed)) atomic_store(&helped, true);
  struct fifo batch;
  fifo_init(&batch);
  pthread_mutex_lock(&runq.lock);
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
  pthread_mutex_unlock(&runq.lock);
  int n = (int)batch.count;
  if (n > 0) run_batch(&batch);
  return n;
}

static void *return_main(void *arg) {
  struct fifo batch;
  fifo_init(&batch);
  while (tq_pop(&retq, &batch, 1)) run_callbacks(&batch);
  return NULL;
}

int dispatch_init(int n) {
  tq_init(&runq);
  tq_init(&retq);
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

/* Binds r to its session and producer.  Returns 0 (accepted), or an errno
 * for a refusal.  *stale_out says the binding must be migrated first. */
static int admit(struct ocf_req *r, bool *stale_out) {
  if (r->callback == NULL) return ocf_seterr(EINVAL, "request without a callback");
  if (__atomic_load_n(&r->state_, __ATOMIC_ACQUIRE) == RS_QUEUED)
    return ocf_seterr(EINVAL, "request %p is already in flight", (void *)r);
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
  if (!st) atomic_fetch_add_explicit(&d->pend_bytes, (long)r->desc[0].len, memory_order_relaxed);
  r->sess_ = s;
  r->drv_ = st ? NULL : d;
  r->dsess_ = ds;
  r->error = 0;
  r->olen = 0;
  /* The latency histogram (p50 / p99 of ocf_driver_stats) times one request
   * in LAT_SAMPLE: reading the clock twice cost about 15% of a 64-byte
   * request's time in the framework. */
  static _Thread_local unsigned lat_tick;
  r->t0_ = lat_tick++ % LAT_SAMPLE == 0 ? now_ns() : 0;
  __atomic_store_n(&r->state_, RS_QUEUED, __ATOMIC_RELEASE);
  *stale_out = st;
  return 0;
}

/* Routes an admitted request; SYNC-producer requests are collected into f. */
static void route(struct ocf_req *r, bool st, struct fifo *f) {
  if (st) {
    /* Complete asynchronously, as promised: migrate now, deliver later. */
    struct fifo *saved = tl_done;
    struct fifo tmp;
    fifo_init(&tmp);
    tl_done = &tmp;
    stale(r);
    tl_done = saved;
    if (saved != NULL) {
      for (struct ocf_req *x = tmp.head, *next; x != NULL; x = next) {
        next = x->next_;
        fifo_put(saved, x);
      }
    } else {
      tq_push(&retq, &tmp);
    }
    return;
  }
  struct drv *d = r->drv_;
  if (!(d->flags & OCF_DRV_SYNC)) {
    run_process(r);
  } else if (r->flags & OCF_REQ_INLINE) {
    struct fifo *saved = tl_done;
    struct fifo done;
    fifo_init(&done);
    tl_done = &done;
    run_process(r);
    tl_done = saved;
    run_callbacks(&done);
  } else {
    fifo_put(f, r);
  }
}

int ocf_dispatch(struct ocf_req *req) {
  if (req == NULL) return ocf_seterr(EINVAL, "ocf_dispatch: NULL request");
  if (!ocf_running()) return ocf_seterr(ECANCELED, "ocf_dispatch: framework not running");
  bool st;
  int rc = admit(req, &st);
  if (rc != 0) return rc;
  struct fifo f;
  fifo_init(&f);
  route(req, st, &f);
  if (f.count == 0) return 0;
  if (tl_pending != NULL)
    fifo_put(tl_pending, f.head);
  else
    tq_push(&runq, &f);
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
  struct fifo f;
  fifo_init(&f);
  int i;
  for (i = 0; i < n; i++) {
    bool st;
    int rc = reqs[i] ? admit(reqs[i], &st) : ocf_seterr(EINVAL, "NULL request in batch");
    if (rc != 0) {
      if (err) *err = rc;
      break;
    }
    route(reqs[i], st, &f);
  }
  if (tl_pending != NULL) {
    for (struct ocf_req *r = f.head, *next; r != NULL; r = next) {
      next = r->next_;
      fifo_put(tl_pending, r);
    }
  } else {
    tq_push(&runq, &f);
  }
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
  req->flags = (flags & ~OCF_REQ_CBIMM) | OCF_REQ_INLINE;
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
void kdispatch_run(struct ocf_kreq *k);
void dispatch_kinline(struct ocf_kreq *k) {
  struct fifo *saved = tl_done;
  struct fifo done;
  fifo_init(&done);
  tl_done = &done;
  kdispatch_run(k);
  tl_done = saved;
  run_callbacks(&done);
}
void dispatch_kqueue(struct ocf_kreq *k) { tq_kpush1(&runq, k); }
void dispatch_kdeliver(struct ocf_kreq *k) { kdeliver(k); }
void dispatch_kheld(struct drv *d, struct ocf_kreq *k, unsigned gen) {
  pthread_mutex_lock(&d->hold_lock);
  if (atomic_load(&d->unblock_gen) != gen) {
    pthread_mutex_unlock(&d->hold_lock);
    tq_kpush1(&runq, k);
    return;
  }
  d->blocked = true;
  k->next_ = d->kheld;
  d->kheld = k;
  pthread_mutex_unlock(&d->hold_lock);
}
