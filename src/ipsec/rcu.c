/* rcu.c - epoch-based reclamation for the SAD and SPD.
 *
 * Every packet looks SAs and policies up; tables change rarely (a
 * configuration reload).  Readers therefore never take a lock: each thread
 * has a slot where it publishes the global epoch it started reading in (0
 * when outside).  A writer unlinks an object, advances the epoch, and waits
 * until no slot holds an older epoch; then nobody can still hold a pointer
 * it read before the unlink.  The store of the slot and the reader's later
 * loads are separated by a full fence, as are the writer's unlink and its
 * scan of the slots: one of the two sides always sees the other. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include "ipsec/internal.h"

struct reader {
  _Atomic uint64_t epoch; /* 0: not reading */
  _Atomic bool used;      /* the slot belongs to a live thread */
  struct reader *next;    /* [reg_lock] for insertion; read lock-free */
};

static _Atomic uint64_t g_epoch = 1;
static _Atomic(struct reader *) g_readers;
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t key;
static _Thread_local struct reader *me;
static _Thread_local unsigned depth;

static void slot_release(void *p) {
  struct reader *r = p;
  atomic_store(&r->epoch, 0);
  atomic_store(&r->used, false);
}

static void key_init(void) { (void)pthread_key_create(&key, slot_release); }

/* A thread's first read: reuse a free slot or add one.  Slots are never
 * freed (a handful of threads), so the list can be walked without a lock. */
static struct reader *slot_get(void) {
  pthread_once(&key_once, key_init);
  pthread_mutex_lock(&reg_lock);
  struct reader *r;
  for (r = atomic_load(&g_readers); r != NULL; r = r->next) {
    bool f = false;
    if (atomic_compare_exchange_strong(&r->used, &f, true)) break;
  }
  if (r == NULL) {
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
      pthread_mutex_unlock(&reg_lock);
      abort(); /* a few bytes once per thread: nothing sensible to do */
    }
    atomic_store(&r->used, true);
    r->next = atomic_load(&g_readers);
    atomic_store(&g_readers, r);
  }
  pthread_mutex_unlock(&reg_lock);
  (void)pthread_setspecific(key, r);
  return r;
}

void ipsi_rcu_read_lock(void) {
  if (depth++ > 0) return;
  struct reader *r = me;
  if (r == NULL) r = me = slot_get();
  atomic_store_explicit(&r->epoch, atomic_load_explicit(&g_epoch, memory_order_relaxed),
                        memory_order_relaxed);
  atomic_thread_fence(memory_order_seq_cst);
}

void ipsi_rcu_read_unlock(void) {
  if (--depth > 0) return;
  atomic_store_explicit(&me->epoch, 0, memory_order_release);
}

void ipsi_rcu_synchronize(void) {
  atomic_thread_fence(memory_order_seq_cst);
  uint64_t target = atomic_fetch_add(&g_epoch, 1) + 1;
  for (struct reader *r = atomic_load(&g_readers); r != NULL; r = r->next) {
    if (r == me && depth > 0) continue; /* our own section: the caller's business */
    for (unsigned spins = 0;; spins++) {
      uint64_t e = atomic_load(&r->epoch);
      if (e == 0 || e >= target) break;
      if (spins < 64) {
        sched_yield();
      } else {
        struct timespec ts = {0, 50 * 1000};
        nanosleep(&ts, NULL);
      }
    }
  }
}

void ipsi_spin_wait(spin_t *l) {
  for (unsigned n = 1; atomic_flag_test_and_set_explicit(&l->f, memory_order_acquire); n++) {
    if (n % 64 == 0) sched_yield();
  }
}
