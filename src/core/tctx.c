/* tctx.c - per-thread state of the request path: the pins that count this
 * thread's requests without shared atomics, its cache of sessions, and its
 * share of the producers' statistics.  The protocol is described with
 * struct tctx in internal.h. */
#include <errno.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/internal.h"

__thread struct tctx *ocf_tl_ctx_;

static _Atomic(struct tctx *) all_ctx; /* [A] list head; entries are never freed */
static pthread_key_t ctx_key;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;
bool pin_asym;

static void ctx_release(void *p) {
  struct tctx *t = p;
  /* A thread leaves the framework between calls: nothing is pinned, nothing
   * deferred.  Its statistics stay in st[] for the readers. */
  for (int i = 0; i < TC_CACHE; i++) t->cache[i].sid = 0;
  t->role = ROLE_CONSUMER;
  t->depth = t->nest = t->foreign = 0;
  t->done = NULL;
  t->ncpu = 0;
  atomic_store_explicit(&t->used, false, memory_order_release);
  ocf_tl_ctx_ = NULL;
}

static void ctx_key_init(void) { pthread_key_create(&ctx_key, ctx_release); }

struct tctx *tctx_create(void) {
  struct tctx *t;
  pthread_once(&ctx_once, ctx_key_init);
  /* reuse the context of a thread that exited */
  for (t = atomic_load_explicit(&all_ctx, memory_order_acquire); t != NULL; t = t->next) {
    bool f = false;
    if (!atomic_load_explicit(&t->used, memory_order_relaxed) &&
        atomic_compare_exchange_strong(&t->used, &f, true))
      break;
  }
  if (t == NULL) {
    t = calloc(1, sizeof(*t));
    if (t == NULL) return NULL;
    atomic_init(&t->used, true);
    fifo_init(&t->defer);
    struct tctx *head = atomic_load_explicit(&all_ctx, memory_order_relaxed);
    do {
      t->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&all_ctx, &head, t, memory_order_release,
                                                    memory_order_relaxed));
  }
  fifo_init(&t->defer);
  fifo_init(&t->pend);
  ocf_tl_ctx_ = t;
  pthread_setspecific(ctx_key, t);
  return t;
}

void tctx_init(void) {
  static atomic_bool tried;
  if (atomic_exchange(&tried, true)) return;
  /* Without membarrier(2) (old kernel, seccomp) the owner fences instead. */
  long q = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
  if (q > 0 && (q & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
      syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0)
    pin_asym = true;
}

static long membarrier(int cmd) { return syscall(__NR_membarrier, cmd, 0, 0); }

void pin_barrier(void) {
  atomic_thread_fence(memory_order_seq_cst);
  /* A child of fork(2) may find the registration gone: register again */
  if (pin_asym && membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0 &&
      (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) != 0 ||
       membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0)) {
    /* Cannot happen once registered; if it did, pins taken without a fence
     * could be missed.  Stop trusting the asymmetric scheme: owners fence
     * from now on, and this scan waits for any owner between the two. */
    ocf_log(0, "membarrier failed: %s; falling back to fences", ocf_strerror(errno));
    __atomic_store_n(&pin_asym, false, __ATOMIC_SEQ_CST);
    usleep(1000);
  }
}

struct pin *pin_take_slow(struct tctx *t, struct sess *s, struct drv *d) {
  struct pin *free_p = NULL;
  for (int i = 0; i < TC_PINS; i++) {
    struct pin *p = &t->pin[i];
    long n = atomic_load_explicit(&p->n, memory_order_relaxed);
    if (atomic_load_explicit(&p->s, memory_order_relaxed) == s &&
        atomic_load_explicit(&p->d, memory_order_relaxed) == d) {
      atomic_store_explicit(&p->n, n + 1, memory_order_relaxed);
      return p;
    }
    if (n == 0 && free_p == NULL) free_p = p;
  }
  if (free_p == NULL) return NULL;
  /* n is 0: no scanner cares what s and d say until n is set */
  atomic_store_explicit(&free_p->s, s, memory_order_relaxed);
  atomic_store_explicit(&free_p->d, d, memory_order_relaxed);
  atomic_store_explicit(&free_p->n, 1, memory_order_release);
  return free_p;
}

void pin_drop_slow(struct tctx *t, struct sess *s, struct drv *d) {
  for (int i = 0; i < TC_PINS; i++) {
    struct pin *p = &t->pin[i];
    if (atomic_load_explicit(&p->s, memory_order_relaxed) == s &&
        atomic_load_explicit(&p->d, memory_order_relaxed) == d) {
      long n = atomic_load_explicit(&p->n, memory_order_relaxed);
      if (n > 0) {
        /* release: whatever this thread did with the request and its
         * session happens before a scanner that reads the new count */
        atomic_store_explicit(&p->n, n - 1, memory_order_release);
        return;
      }
    }
  }
  ocf_log(0,
          "request completed on a thread that did not admit it (a synchronous producer "
          "must complete it before process() returns)");
  abort();
}

/* A scanner reads n first (acquire), then what it pins: a pin set up after
 * the flag was raised has seen the flag and let go. */
bool pins_hold_sess(const struct sess *s) {
  for (struct tctx *t = atomic_load_explicit(&all_ctx, memory_order_acquire); t; t = t->next)
    for (int i = 0; i < TC_PINS; i++)
      if (atomic_load_explicit(&t->pin[i].n, memory_order_acquire) > 0 &&
          atomic_load_explicit(&t->pin[i].s, memory_order_relaxed) == s)
        return true;
  return false;
}

bool pins_hold_drv(const struct drv *d) {
  for (struct tctx *t = atomic_load_explicit(&all_ctx, memory_order_acquire); t; t = t->next)
    for (int i = 0; i < TC_PINS; i++)
      if (atomic_load_explicit(&t->pin[i].n, memory_order_acquire) > 0 &&
          atomic_load_explicit(&t->pin[i].d, memory_order_relaxed) == d)
        return true;
  return false;
}

/* Counts kept per thread are added up by readers (ocf_driver_stats): the
 * owner only stores, with no read-modify-write. */
static inline void bump(atomic_ulong *c, unsigned long v) {
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v, memory_order_relaxed);
}

void tstat_add_slow(struct tctx *t, struct drv *d, size_t bytes, bool err) {
  struct tstat *st = NULL;
  for (int i = 0; i < TC_STATS; i++)
    if (atomic_load_explicit(&t->st[i].hid, memory_order_relaxed) == d->hid) {
      st = &t->st[i];
      break;
    }
  if (st == NULL) {
    /* a free slot, or the first one: its counts move to its producer */
    st = &t->st[0];
    for (int i = 0; i < TC_STATS; i++)
      if (atomic_load_explicit(&t->st[i].hid, memory_order_relaxed) == 0) {
        st = &t->st[i];
        break;
      }
    uint32_t old = atomic_load_explicit(&st->hid, memory_order_relaxed);
    unsigned long r = atomic_load_explicit(&st->n_req, memory_order_relaxed);
    unsigned long b = atomic_load_explicit(&st->n_bytes, memory_order_relaxed);
    unsigned long e = atomic_load_explicit(&st->n_err, memory_order_relaxed);
    atomic_store_explicit(&st->hid, 0, memory_order_release);
    atomic_store_explicit(&st->n_req, 0, memory_order_relaxed);
    atomic_store_explicit(&st->n_bytes, 0, memory_order_relaxed);
    atomic_store_explicit(&st->n_err, 0, memory_order_relaxed);
    struct drv *od = old != 0 ? drv_get(old) : NULL; /* NULL: it went away */
    if (od != NULL) {
      atomic_fetch_add(&od->n_req, r);
      atomic_fetch_add(&od->n_bytes, b);
      atomic_fetch_add(&od->n_err, e);
      drv_put(od);
    }
    atomic_store_explicit(&st->hid, d->hid, memory_order_release);
  }
  bump(&st->n_req, 1);
  bump(&st->n_bytes, bytes);
  if (err) bump(&st->n_err, 1);
}

void tstat_sum(const struct drv *d, uint64_t *req, uint64_t *bytes, uint64_t *err) {
  for (struct tctx *t = atomic_load_explicit(&all_ctx, memory_order_acquire); t; t = t->next)
    for (int i = 0; i < TC_STATS; i++)
      if (atomic_load_explicit(&t->st[i].hid, memory_order_acquire) == d->hid) {
        *req += atomic_load_explicit(&t->st[i].n_req, memory_order_relaxed);
        *bytes += atomic_load_explicit(&t->st[i].n_bytes, memory_order_relaxed);
        *err += atomic_load_explicit(&t->st[i].n_err, memory_order_relaxed);
      }
}

int tctx_ncpu(struct tctx *t) {
  /* sched_getaffinity is a system call: look again every 4096 decisions,
   * so that a thread moved with taskset(1) is seen soon enough */
  if (t->ncpu == 0 || (++t->ncpu_tick & 4095) == 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    t->ncpu = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
    if (t->ncpu < 1) t->ncpu = 1;
  }
  return t->ncpu;
}
