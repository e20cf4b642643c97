/*
 * backend.c - the framework path: sessions and requests on libocf
 * in-process or on a running ocfd, and the waits for them.
 *
 * Waiting.  A caller outside an OpenSSL async job blocks on a futex (an
 * in-process software producer usually completes the request inside
 * ocf_dispatch, OCF_REQ_INLINE, and the wait costs nothing).  A caller inside
 * an async job gets an eventfd registered in the job's ASYNC_WAIT_CTX (one
 * per wait context, kept for its life), submits without OCF_REQ_INLINE so
 * that a worker, a card or the daemon does the work, and pauses the job; the
 * completion writes the eventfd, which the application polls (openssl speed
 * -async_jobs, s_server -async) before resuming the job.
 *
 * In-process.  libocf is started at the first framework request, not at
 * activation: ocf_init takes about 5 ms and starts threads, which every
 * program reading the system configuration would otherwise pay.  The
 * exception is a configuration naming modeled cards, whose device string is
 * checked at activation by starting the framework then.  A child forked
 * after the start has no framework threads; it runs everything inline.  The
 * framework is shut down at teardown only when this provider started it.
 *
 * ocfd.  One connection per thread (libocfdev connections are not
 * thread-safe), made at the thread's first session; a session stays on the
 * connection it was made on, whose lock serialises the rare use from another
 * thread.  Buffers of at least shm_min bytes travel through a shared-memory
 * region of the connection (copied in and out, since OpenSSL's buffers are
 * the caller's), smaller ones through the socket.  Asynchronous requests are
 * reaped by one thread per connection, started at its first one.  A child
 * after fork opens its own connections and makes new sessions.
 */
#include <errno.h>
#include <linux/futex.h>
#include <openssl/async.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ocf/ocfdev.h>

#include "provider/prov.h"

#define PAGE 4096
#define MAX_RESUBMIT 16

/* --- completion and waiting ---------------------------------------------- */

enum { W_PENDING = 0, W_DONE = 1, W_SLEEPING = 2 };

/* jefd - the eventfd registered in an async wait context.  Counted: the
 * wait context holds one reference (dropped by its cleanup when the
 * application frees it), every request in flight another, so that a
 * completion arriving after the application gave up on its job never
 * writes to a closed, perhaps reused, descriptor. */
struct jefd {
  int fd;
  _Atomic int refs;
};

static void jefd_put(struct jefd *j) {
  if (j != NULL && atomic_fetch_sub(&j->refs, 1) == 1) {
    close(j->fd);
    free(j);
  }
}

/* waiter - one request's completion.  state is the futex word; efd, when
 * non-NULL, is the async job's eventfd (a reference), written before state
 * becomes W_DONE, so that a job seeing W_DONE can always clear it. */
struct waiter {
  _Atomic int state;
  struct jefd *efd;
  int resubmits; /* EAGAIN resubmissions so far (the completing thread's) */
};

static void futex_wait(_Atomic int *w, int val) {
  syscall(SYS_futex, (int *)w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic int *w) {
  syscall(SYS_futex, (int *)w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void wake(struct waiter *w) {
  struct jefd *j = w->efd;
  if (j != NULL) {
    uint64_t one = 1;
    ssize_t n = write(j->fd, &one, sizeof(one));
    (void)n; /* the counter cannot overflow: each request adds one */
  }
  /* The waiter may return and reuse w as soon as it sees W_DONE: nothing
   * after the exchange reads w except the futex word's address. */
  if (atomic_exchange(&w->state, W_DONE) == W_SLEEPING) futex_wake(&w->state);
  jefd_put(j);
}

static void wait_block(struct waiter *w) {
  for (;;) {
    int s = atomic_load(&w->state);
    if (s == W_DONE) return;
    if (s == W_PENDING && !atomic_compare_exchange_strong(&w->state, &s, W_SLEEPING)) continue;
    futex_wait(&w->state, W_SLEEPING);
  }
}

static int efd_key; /* the address is the key of our fd in wait contexts */

static void efd_cleanup(ASYNC_WAIT_CTX *ctx, const void *key, OSSL_ASYNC_FD fd, void *custom) {
  jefd_put(custom);
}

/* job_efd returns the eventfd of the current async job's wait context,
 * registering one first if needed, with a reference for the caller; NULL
 * when not in a job (or it failed). */
static struct jefd *job_efd(void) {
  ASYNC_JOB *job = ASYNC_get_current_job();
  if (job == NULL) return NULL;
  ASYNC_WAIT_CTX *wc = ASYNC_get_wait_ctx(job);
  if (wc == NULL) return NULL;
  OSSL_ASYNC_FD fd;
  void *custom;
  struct jefd *j;
  if (ASYNC_WAIT_CTX_get_fd(wc, &efd_key, &fd, &custom)) {
    j = custom;
  } else {
    j = malloc(sizeof(*j));
    if (j == NULL) return NULL;
    j->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    atomic_init(&j->refs, 1);
    if (j->fd < 0) {
      free(j);
      return NULL;
    }
    if (!ASYNC_WAIT_CTX_set_wait_fd(wc, &efd_key, j->fd, j, efd_cleanup)) {
      close(j->fd);
      free(j);
      return NULL;
    }
  }
  atomic_fetch_add(&j->refs, 1);
  return j;
}

bool be_in_async_job(const struct ocfprov *p) {
  return p->conf.async && ASYNC_get_current_job() != NULL;
}

/* wait_job pauses the current job until w completes.  If the job cannot
 * pause (ASYNC_block_pause) or is resumed early, it blocks instead. */
static void wait_job(struct ocfprov *p, struct waiter *w, struct bstat *bs) {
  if (atomic_load(&w->state) != W_DONE) {
    uint64_t t = now_ns();
    STAT_ADD(p, pauses, 1);
    ASYNC_pause_job();
    bs->paused_ns += now_ns() - t;
    wait_block(w);
  }
  /* The completion wrote the eventfd before W_DONE; the job still holds
   * the wait context, so its descriptor is open. */
  uint64_t v;
  ASYNC_JOB *job = ASYNC_get_current_job();
  ASYNC_WAIT_CTX *wc = job ? ASYNC_get_wait_ctx(job) : NULL;
  OSSL_ASYNC_FD fd;
  void *custom;
  if (wc != NULL && ASYNC_WAIT_CTX_get_fd(wc, &efd_key, &fd, &custom)) {
    ssize_t n = read(fd, &v, sizeof(v));
    (void)n;
  }
}

/* --- fork ------------------------------------------------------------------ */

/* The process's fork generation: bumped in every child.  Objects note the
 * generation that made them; a child sees a different one.  (getpid() is a
 * system call each time, too slow for every request.) */
static _Atomic unsigned fork_gen;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void fork_child(void) { atomic_fetch_add(&fork_gen, 1); }
static void fork_register(void) { pthread_atfork(NULL, NULL, fork_child); }

static inline unsigned forkgen(void) {
  return atomic_load_explicit(&fork_gen, memory_order_relaxed);
}

/* --- the backend --------------------------------------------------------- */

struct oconn;

struct backend {
  struct ocfprov *p;
  pthread_mutex_t lock;
  _Atomic int state;   /* in-process: 0 not started, 2 starting, 1 running, -1 failed */
  pthread_t starter;   /* [lock] the thread running ocf_init */
  bool starter_on;     /* [lock] */
  char errmsg[256];    /* why the framework is unavailable (written before state -1) */
  unsigned pid;        /* fork generation that started the framework (before state 1) */
  struct oconn *conns; /* [lock] ocfd connections */
  pthread_key_t tlkey; /* this thread's ocfd connection */
  bool tlkey_ok;
};

/* oconn - one ocfd connection. */
struct oconn {
  struct backend *be;
  pthread_mutex_t lock;
  struct ocfdev *dev;     /* [lock] */
  _Atomic int dead;       /* the connection failed (an errno): make a new one */
  unsigned pid;           /* fork generation that opened it */
  struct ocfdev_shm *shm; /* [lock] NULL until the first large request */
  bool shm_failed;        /* [lock] no region: large requests use the socket */
  uint8_t *used;          /* [lock] one byte per page of the region */
  size_t npages;
  int async;            /* [lock] submitted, not yet reaped */
  bool reaper_on, stop; /* [lock] */
  pthread_cond_t cv;    /* signalled when async rises from 0, and at stop */
  pthread_t reaper;
  int refs;           /* [be->lock] the owning thread + sessions */
  struct oconn *next; /* [be->lock] */
};

struct osess {
  struct backend *be;
  /* the request in flight, whose waiter lives on its (maybe paused) async
   * job's stack: freeing the session waits for it, so that an application
   * freeing a context under a paused job loses no memory to a late write */
  _Atomic(struct waiter *) inflight;
  ocf_sid_t sid;      /* in-process; replaced on migration */
  struct oconn *conn; /* ocfd */
  uint32_t ses;
  unsigned pid; /* fork generation that made it */
};

/* Activations of this module using the in-process framework, and whether
 * one of them started it (rather than the application): the last one out
 * shuts it down only then. */
static _Atomic int inproc_users;
static _Atomic bool inproc_started;

/* be_unavailable records why the framework cannot be used and says so
 * once on stderr (unless $OCF_LOG_LEVEL is 0, as for libocf's messages):
 * the operations themselves carry on inline, so the error queue of the
 * thread that noticed is all OpenSSL would otherwise show. */
static void be_unavailable(struct backend *be, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void be_unavailable(struct backend *be, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(be->errmsg, sizeof(be->errmsg), fmt, ap);
  va_end(ap);
  const char *lvl = getenv("OCF_LOG_LEVEL");
  if (lvl == NULL || atoi(lvl) > 0)
    fprintf(stderr, "ocf provider: framework unavailable, running inline: %s\n", be->errmsg);
  ocfprov_err(be->p, OCFPROV_R_BACKEND, "%s", be->errmsg);
}

/* inproc_start_locked starts libocf.  It runs on a thread of its own
 * (inproc_ready): ocf_init's self-tests draw random numbers, and the
 * application's random generator may be what asked for the framework (a
 * CTR-DRBG's AES-256-CTR is this provider's when it is preferred), so
 * starting inside a caller's request could re-enter its generator. */
static int inproc_start_locked(struct backend *be) {
  struct ocfprov *p = be->p;
  struct ocf_init_opts o = {
      .workers = p->conf.workers,
      .no_soft = p->conf.no_soft,
      .soft_pk_disabled = p->conf.no_soft_pk,
      .devices = p->conf.devices[0] ? p->conf.devices : NULL,
      .policy = p->conf.policy[0] ? p->conf.policy : NULL,
  };
  bool running = ocf_driver_stats(NULL, 0) > 0;
  int rc = ocf_init(&o);
  if (rc != 0) {
    be_unavailable(be, "starting libocf: %s", ocf_errdetail());
    atomic_store(&be->state, -1);
    return rc;
  }
  if (!running) atomic_store(&inproc_started, true);
  be->pid = forkgen();
  atomic_fetch_add(&inproc_users, 1);
  atomic_store(&be->state, 1);
  return 0;
}

static void *starter_main(void *arg) {
  struct backend *be = arg;
  pthread_mutex_lock(&be->lock);
  inproc_start_locked(be);
  pthread_mutex_unlock(&be->lock);
  return NULL;
}

/* inproc_ready tells whether the in-process framework runs (in this
 * process, not a parent we were forked from); the first call starts it in
 * the background, and requests go inline until it is up. */
static bool inproc_ready(struct backend *be) {
  int st = atomic_load(&be->state);
  if (st == 1) return be->pid == forkgen();
  if (st != 0) return false;
  pthread_mutex_lock(&be->lock);
  if (atomic_load(&be->state) == 0) {
    atomic_store(&be->state, 2);
    if (pthread_create(&be->starter, NULL, starter_main, be) == 0)
      be->starter_on = true;
    else
      atomic_store(&be->state, -1);
  }
  pthread_mutex_unlock(&be->lock);
  return false;
}

bool be_available(struct ocfprov *p) {
  struct backend *be = p->be;
  if (be == NULL) return false;
  if (p->conf.ocfd) return be->errmsg[0] == '\0';
  return inproc_ready(be);
}

int be_state(const struct ocfprov *p, const char **why) {
  struct backend *be = p->be;
  *why = be != NULL ? be->errmsg : "";
  if (be == NULL) return -1;
  if (p->conf.ocfd) return be->errmsg[0] ? -1 : 1;
  int st = atomic_load(&be->state);
  return st == 2 ? 0 : st;
}

static void conn_put(struct oconn *c);

static void tl_release(void *arg) { conn_put(arg); }

int be_new(struct ocfprov *p) {
  pthread_once(&fork_once, fork_register);
  struct backend *be = calloc(1, sizeof(*be));
  if (be == NULL) return 0;
  be->p = p;
  pthread_mutex_init(&be->lock, NULL);
  p->be = be;
  return 1;
}

int be_start_eager(struct ocfprov *p) {
  struct backend *be = p->be;
  if (p->conf.ocfd) {
    if (pthread_key_create(&be->tlkey, tl_release) != 0) {
      ocfprov_err(p, OCFPROV_R_MALLOC, "thread key");
      return 0;
    }
    be->tlkey_ok = true;
    /* A daemon that does not answer at activation is a configuration
     * error: said once, and everything runs inline.  (One that goes away
     * later only makes requests fall back until it is back.) */
    struct ocfdev *d;
    int rc = ocfdev_open(p->conf.socket[0] ? p->conf.socket : NULL, &d);
    if (rc != 0) {
      const char *path = p->conf.socket[0] ? p->conf.socket : getenv("OCF_SOCKET");
      be_unavailable(be, "cannot reach ocfd at %s: %s", path ? path : OCFDEV_DEFAULT_SOCKET,
                     strerror(rc));
      return 0;
    }
    ocfdev_close(d);
    return 1;
  }
  /* Modeled cards are wanted at once; their device string is checked by
   * starting the framework now (in the background). */
  if (p->conf.devices[0] != '\0') inproc_ready(be);
  return 1;
}

static void conn_close(struct oconn *c);

void be_stop(struct ocfprov *p) {
  struct backend *be = p->be;
  if (be == NULL) return;
  if (be->starter_on) pthread_join(be->starter, NULL);
  if (atomic_load(&be->state) == 1 && be->pid == forkgen()) {
    if (atomic_fetch_sub(&inproc_users, 1) == 1 && atomic_exchange(&inproc_started, false))
      ocf_shutdown();
  }
  if (be->tlkey_ok) pthread_key_delete(be->tlkey);
  while (be->conns != NULL) {
    struct oconn *c = be->conns;
    be->conns = c->next;
    conn_close(c);
  }
  pthread_mutex_destroy(&be->lock);
  free(be);
  p->be = NULL;
}

/* --- ocfd connections ------------------------------------------------------ */

static void conn_close(struct oconn *c) {
  pthread_mutex_lock(&c->lock);
  c->stop = true;
  pthread_cond_signal(&c->cv);
  bool reaper = c->reaper_on;
  pthread_mutex_unlock(&c->lock);
  if (reaper) pthread_join(c->reaper, NULL);
  /* A connection inherited over fork belongs to the parent: closing the
   * descriptor is all a child may do. */
  if (c->dev != NULL) ocfdev_close(c->dev);
  free(c->used);
  pthread_cond_destroy(&c->cv);
  pthread_mutex_destroy(&c->lock);
  free(c);
}

static void conn_put(struct oconn *c) {
  struct backend *be = c->be;
  pthread_mutex_lock(&be->lock);
  bool last = --c->refs == 0;
  if (last)
    for (struct oconn **pp = &be->conns; *pp != NULL; pp = &(*pp)->next)
      if (*pp == c) {
        *pp = c->next;
        break;
      }
  pthread_mutex_unlock(&be->lock);
  if (last) conn_close(c);
}

/* conn_get returns this thread's connection with a reference for the
 * caller, opening one if needed. */
static int conn_get(struct backend *be, struct oconn **out) {
  struct oconn *c = pthread_getspecific(be->tlkey);
  if (c != NULL && (c->pid != forkgen() || c->dead)) {
    pthread_setspecific(be->tlkey, NULL);
    if (c->pid == forkgen()) conn_put(c);
    c = NULL;
  }
  if (c == NULL) {
    c = zalloc(sizeof(*c));
    if (c == NULL) return ENOMEM;
    const char *path = be->p->conf.socket[0] ? be->p->conf.socket : NULL;
    int rc = ocfdev_open(path, &c->dev);
    if (rc != 0) {
      free(c);
      return rc;
    }
    c->be = be;
    c->pid = forkgen();
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->refs = 1;
    pthread_mutex_lock(&be->lock);
    c->next = be->conns;
    be->conns = c;
    pthread_mutex_unlock(&be->lock);
    pthread_setspecific(be->tlkey, c);
  }
  pthread_mutex_lock(&be->lock);
  c->refs++;
  pthread_mutex_unlock(&be->lock);
  *out = c;
  return 0;
}

/* shm_alloc finds npg free pages of c's region (creating it at first use);
 * -1 when there is no room.  Caller holds c->lock. */
static long shm_alloc(struct oconn *c, size_t len) {
  struct ocfprov *p = c->be->p;
  if (c->shm == NULL) {
    if (c->shm_failed || p->conf.shm_size < PAGE) return -1;
    size_t np = p->conf.shm_size / PAGE;
    c->used = calloc(np, 1);
    if (c->used == NULL || ocfdev_shm_create(c->dev, np * PAGE, &c->shm) != 0) {
      free(c->used);
      c->used = NULL;
      c->shm = NULL;
      c->shm_failed = true;
      return -1;
    }
    c->npages = np;
  }
  size_t need = (len + PAGE - 1) / PAGE, run = 0;
  if (need == 0) need = 1;
  for (size_t i = 0; i < c->npages; i++) {
    run = c->used[i] ? 0 : run + 1;
    if (run == need) {
      size_t first = i + 1 - need;
      memset(c->used + first, 1, need);
      return (long)first;
    }
  }
  return -1;
}

static void shm_free(struct oconn *c, long first, size_t len) {
  size_t need = (len + PAGE - 1) / PAGE;
  if (need == 0) need = 1;
  memset(c->used + first, 0, need);
}

/* oop - one ocfd request with its completion. */
struct oop {
  struct ocfdev_op op;
  struct waiter w;
};

/* reap_locked takes completed asynchronous requests off c and completes
 * them.  Caller holds c->lock. */
static int reap_locked(struct oconn *c, int timeout_ms) {
  struct ocfdev_op *done[64];
  int n = 0;
  int rc = ocfdev_reap(c->dev, done, 64, timeout_ms, &n);
  if (rc != 0 && rc != ENOENT) {
    c->dead = rc;
    /* Every request in flight was completed with the connection's error;
     * none is left to reap. */
  }
  c->async -= n;
  for (int i = 0; i < n; i++) wake(&((struct oop *)done[i]->opaque)->w);
  return n;
}

/* after_call: a call on c returned rc.  A connection error marks c dead;
 * either way the call's wait may have read completions of asynchronous
 * requests off the socket (a dying connection completes all of them with
 * its error), which are handed over now: the reaper would not see them, and
 * it does not look at a dead connection at all.  Caller holds c->lock. */
static void after_call(struct oconn *c, int rc) {
  if (rc == ECONNRESET || rc == EPIPE) c->dead = rc;
  while (c->async > 0 && reap_locked(c, 0) > 0) {
  }
}

/* reaper_main completes a connection's asynchronous requests.  It sleeps
 * on c->cv while none is in flight, and otherwise polls the socket, which
 * ocfdev_reap arms for a wake-up when it leaves with nothing on hand. */
static void *reaper_main(void *arg) {
  struct oconn *c = arg;
  pthread_mutex_lock(&c->lock);
  while (!c->stop) {
    if (c->async == 0 || c->dead) {
      pthread_cond_wait(&c->cv, &c->lock);
      continue;
    }
    if (reap_locked(c, 0) > 0) continue;
    struct pollfd pf = {ocfdev_fd(c->dev), POLLIN, 0};
    pthread_mutex_unlock(&c->lock);
    poll(&pf, 1, 20);
    pthread_mutex_lock(&c->lock);
  }
  pthread_mutex_unlock(&c->lock);
  return NULL;
}

/* --- sessions -------------------------------------------------------------- */

int be_newsession(struct ocfprov *p, const struct ocf_sessparam *chain, struct osess **out) {
  struct backend *be = p->be;
  struct osess *s = zalloc(sizeof(*s));
  if (s == NULL) return ENOMEM;
  s->be = be;
  s->pid = forkgen();
  int rc;
  if (!p->conf.ocfd) {
    rc = inproc_ready(be) ? ocf_newsession(&s->sid, chain, 0) : ENODEV;
  } else {
    rc = conn_get(be, &s->conn);
    if (rc == 0) {
      pthread_mutex_lock(&s->conn->lock);
      rc = s->conn->dead ? s->conn->dead : ocfdev_newsession(s->conn->dev, chain, 0, &s->ses, NULL);
      after_call(s->conn, rc);
      pthread_mutex_unlock(&s->conn->lock);
      if (rc != 0) conn_put(s->conn);
    }
  }
  if (rc != 0) {
    free(s);
    return rc;
  }
  STAT_ADD(p, sessions, 1);
  *out = s;
  return 0;
}

void be_freesession(struct osess *s) {
  if (s == NULL) return;
  struct waiter *w = atomic_load(&s->inflight);
  if (w != NULL) wait_block(w);
  if (s->pid == forkgen()) {
    if (s->conn != NULL) {
      pthread_mutex_lock(&s->conn->lock);
      if (!s->conn->dead) after_call(s->conn, ocfdev_freesession(s->conn->dev, s->ses));
      pthread_mutex_unlock(&s->conn->lock);
    } else {
      ocf_freesession(s->sid);
    }
  }
  if (s->conn != NULL) {
    if (s->pid == forkgen()) conn_put(s->conn);
  }
  free(s);
}

/* --- requests -------------------------------------------------------------- */

static size_t seg_total(const struct iovec *seg, int nseg) {
  size_t t = 0;
  for (int i = 0; i < nseg; i++) t += seg[i].iov_len;
  return t;
}

static void gather(uint8_t *dst, const struct iovec *seg, int nseg) {
  for (int i = 0; i < nseg; i++) {
    if (seg[i].iov_len) memcpy(dst, seg[i].iov_base, seg[i].iov_len);
    dst += seg[i].iov_len;
  }
}

static void scatter(const struct iovec *seg, int nseg, const uint8_t *src) {
  for (int i = 0; i < nseg; i++) {
    if (seg[i].iov_len) memcpy(seg[i].iov_base, src, seg[i].iov_len);
    src += seg[i].iov_len;
  }
}

/* oreq - one in-process request with its completion. */
struct oreq {
  struct ocf_req r;
  struct waiter w;
  struct iovec iov[4];
};

static void req_done(struct ocf_req *r) {
  struct oreq *q = r->opaque;
  if (r->error == EAGAIN && q->w.resubmits++ < MAX_RESUBMIT) {
    int rc = ocf_dispatch(r); /* the session moved: r->sid is the new one */
    if (rc == 0) return;
    r->error = rc;
  }
  wake(&q->w);
}

static int inproc_crypt(struct osess *s, struct ocf_desc *desc, int ndesc, const struct iovec *seg,
                        int nseg, struct bstat *bs) {
  struct ocfprov *p = s->be->p;
  if (s->pid != forkgen() || !inproc_ready(s->be)) return ENODEV;
  if (nseg < 1 || nseg > 4 || ndesc < 1 || ndesc > OCF_MAX_DESC) return EINVAL;
  struct oreq q;
  memset(&q.r, 0, sizeof(q.r));
  q.r.sid = s->sid;
  if (nseg == 1) {
    q.r.buf = ocf_buf_contig(seg[0].iov_base, seg[0].iov_len);
  } else {
    memcpy(q.iov, seg, sizeof(*seg) * (size_t)nseg);
    q.r.buf = ocf_buf_iovec(q.iov, nseg);
  }
  q.r.ndesc = ndesc;
  memcpy(q.r.desc, desc, sizeof(*desc) * (size_t)ndesc);
  q.r.callback = req_done;
  q.r.opaque = &q;
  atomic_init(&q.w.state, W_PENDING);
  q.w.resubmits = 0;
  q.w.efd = be_in_async_job(p) ? job_efd() : NULL;
  bs->async = q.w.efd != NULL;
  /* Outside a job the caller waits anyway: a software producer may run the
   * request right here. */
  q.r.flags = bs->async ? OCF_REQ_ASYNC : OCF_REQ_INLINE;
  atomic_store(&s->inflight, &q.w);
  int rc = ocf_dispatch(&q.r);
  if (rc != 0) {
    atomic_store(&s->inflight, NULL);
    jefd_put(q.w.efd);
    return rc;
  }
  if (bs->async)
    wait_job(p, &q.w, bs);
  else
    wait_block(&q.w);
  atomic_store(&s->inflight, NULL);
  s->sid = q.r.sid;
  if (q.r.error == 0 || q.r.error == EBADMSG) {
    STAT_ADD(p, fw_req, 1);
    STAT_ADD(p, fw_bytes, seg_total(seg, nseg));
  }
  memcpy(desc, q.r.desc, sizeof(*desc) * (size_t)ndesc); /* generated IVs */
  return q.r.error;
}

static int ocfd_crypt(struct osess *s, struct ocf_desc *desc, int ndesc, const struct iovec *seg,
                      int nseg, struct bstat *bs) {
  struct ocfprov *p = s->be->p;
  struct oconn *c = s->conn;
  if (s->pid != forkgen()) return ENODEV;
  if (ndesc < 1 || ndesc > OCF_MAX_DESC) return EINVAL;
  size_t total = seg_total(seg, nseg);
  struct oop q;
  memset(&q.op, 0, sizeof(q.op));
  q.op.ses = s->ses;
  q.op.ndesc = ndesc;
  memcpy(q.op.desc, desc, sizeof(*desc) * (size_t)ndesc);
  q.op.opaque = &q;
  atomic_init(&q.w.state, W_PENDING);
  q.w.efd = be_in_async_job(p) ? job_efd() : NULL;
  bs->async = q.w.efd != NULL;
  uint8_t *bounce = NULL;
  long page = -1;
  pthread_mutex_lock(&c->lock);
  if (c->dead) {
    pthread_mutex_unlock(&c->lock);
    jefd_put(q.w.efd);
    return c->dead;
  }
  if (total >= p->conf.shm_min) page = shm_alloc(c, total);
  if (page >= 0) {
    q.op.shm = c->shm;
    q.op.shm_off = (size_t)page * PAGE;
    q.op.len = total;
    gather((uint8_t *)ocfdev_shm_base(c->shm) + q.op.shm_off, seg, nseg);
  } else if (nseg == 1) {
    q.op.buf = seg[0].iov_base; /* the reply overwrites it in place */
    q.op.len = total;
  } else {
    bounce = malloc(total ? total : 1);
    if (bounce == NULL) {
      pthread_mutex_unlock(&c->lock);
      jefd_put(q.w.efd);
      return ENOMEM;
    }
    gather(bounce, seg, nseg);
    q.op.buf = bounce;
    q.op.len = total;
  }
  int rc;
  if (bs->async) {
    atomic_store(&s->inflight, &q.w);
    rc = ocfdev_submit(c->dev, &q.op);
    if (rc != 0 && ocfdev_op_busy(&q.op)) {
      /* The connection died while sending it and holds it as completed
       * with its error: take it back (waking the others it completed) before
       * q goes out of scope.  Reaping it releases its job fd. */
      c->async++;
      while (ocfdev_op_busy(&q.op) && reap_locked(c, 0) > 0) {
      }
    } else if (rc != 0) {
      jefd_put(q.w.efd);
    }
    if (rc == 0) {
      if (c->async++ == 0) pthread_cond_signal(&c->cv);
      if (!c->reaper_on && pthread_create(&c->reaper, NULL, reaper_main, c) == 0)
        c->reaper_on = true;
      if (!c->reaper_on) {
        /* No reaper thread: wait right here. */
        while (atomic_load(&q.w.state) != W_DONE && !c->dead) reap_locked(c, 10);
      }
    }
    pthread_mutex_unlock(&c->lock);
    if (rc == 0) {
      wait_job(p, &q.w, bs);
      rc = q.op.error;
    }
    atomic_store(&s->inflight, NULL);
    pthread_mutex_lock(&c->lock);
  } else {
    rc = ocfdev_crypt(c->dev, &q.op);
  }
  after_call(c, rc);
  if (rc == 0 && (q.op.shm != NULL || bounce != NULL))
    scatter(seg, nseg, q.op.shm ? (uint8_t *)ocfdev_shm_base(c->shm) + q.op.shm_off : bounce);
  if (page >= 0) shm_free(c, page, total);
  pthread_mutex_unlock(&c->lock);
  if (bounce != NULL) wipe_free(bounce, total);
  if (rc == 0 || rc == EBADMSG) {
    STAT_ADD(p, fw_req, 1);
    STAT_ADD(p, fw_bytes, total);
  }
  memcpy(desc, q.op.desc, sizeof(*desc) * (size_t)ndesc);
  return rc;
}

int be_crypt(struct osess *s, struct ocf_desc *desc, int ndesc, const struct iovec *seg, int nseg,
             struct bstat *bs) {
  bs->paused_ns = 0;
  bs->async = false;
  return s->conn != NULL ? ocfd_crypt(s, desc, ndesc, seg, nseg, bs)
                         : inproc_crypt(s, desc, ndesc, seg, nseg, bs);
}

/* okreq - one in-process public-key request's completion. */
struct okreq {
  struct waiter w;
};

static void kreq_done(struct ocf_kreq *k) { wake(&((struct okreq *)k->opaque)->w); }

int be_kop(struct ocfprov *p, struct ocf_kreq *k, struct bstat *bs) {
  struct backend *be = p->be;
  bs->paused_ns = 0;
  bs->async = false;
  int rc;
  if (p->conf.ocfd) {
    /* libocfdev runs public-key requests synchronously only. */
    struct oconn *c;
    rc = conn_get(be, &c);
    if (rc != 0) return rc;
    pthread_mutex_lock(&c->lock);
    rc = c->dead ? c->dead : ocfdev_kop(c->dev, k);
    after_call(c, rc);
    pthread_mutex_unlock(&c->lock);
    conn_put(c);
  } else {
    if (!inproc_ready(be)) return ENODEV;
    struct okreq q;
    atomic_init(&q.w.state, W_PENDING);
    q.w.efd = be_in_async_job(p) ? job_efd() : NULL;
    bs->async = q.w.efd != NULL;
    k->flags = bs->async ? 0 : OCF_REQ_INLINE;
    k->callback = kreq_done;
    k->opaque = &q;
    rc = ocf_kdispatch(k);
    if (rc != 0) {
      jefd_put(q.w.efd);
      return rc;
    }
    if (bs->async)
      wait_job(p, &q.w, bs);
    else
      wait_block(&q.w);
    rc = k->error;
  }
  if (rc == 0) STAT_ADD(p, fw_kreq, 1);
  return rc;
}
