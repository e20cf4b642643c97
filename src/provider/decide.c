/*
 * decide.c - framework or inline, per request, from measured costs.
 *
 * A cell holds, for one operation family, one size class (a power of two of
 * the request's bytes, or of the key's bits) and one calling mode
 * (synchronous, or inside an async job), a moving average of what each path
 * cost its caller: the wall time of the call, less the time an async job
 * spent paused while the framework worked.  A request takes the cheaper
 * path.  While a path has fewer than MIN_SAMPLES measurements, every eighth
 * request tries it; afterwards every 256th request (1024th when it costs
 * twice as much) takes the other path so that its figure follows the
 * machine (a card attached, a loaded host).  One request in 16 of the
 * chosen path is timed (in 64 once the cell has 256 figures); the rest pay
 * no clock.
 * The framework is chosen only when it is cheaper by an eighth.
 *
 * Updates are relaxed atomics without a lock: two threads averaging into a
 * cell at once may lose one sample, which a moving average absorbs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "provider/prov.h"

#define NBUCKET 24
#define MIN_SAMPLES 4 /* the first is dropped (dec_done) */

struct cell {
  _Atomic uint32_t cost[2]; /* ns, moving average over about 8 samples */
  _Atomic uint32_t n[2];    /* samples taken, saturating */
};

static struct cell cells[FAM__COUNT][NBUCKET][2];
/* initial-exec: a module's thread-local variables otherwise cost a call to
 * __tls_get_addr per request; four bytes fit glibc's reserve for modules. */
static _Thread_local uint32_t tick __attribute__((tls_model("initial-exec")));
static _Thread_local uint8_t job_seen __attribute__((tls_model("initial-exec")));

static const char *const fam_names[FAM__COUNT] = {
    "aes-cbc",           "aes-ctr", "aes-xts", "3des-cbc",     "aes-gcm",       "aes-ccm",
    "chacha20-poly1305", "digest",  "hmac",    "rsa-private",  "rsa-public",    "ecdsa-sign",
    "ecdsa-verify",      "ecdh",    "x25519",  "ed25519-sign", "ed25519-verify"};

uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static unsigned bucket_of(size_t size) {
  unsigned b = 0;
  while (size >= 16 && b < NBUCKET - 1) {
    size >>= 1;
    b++;
  }
  return b;
}

enum opath dec_choose(struct ocfprov *p, enum ofam fam, size_t size, bool fw_ok,
                      struct dticket *t) {
  t->fam = fam;
  t->timed = false;
  t->async = false;
  if (!fw_ok || p->conf.offload == OFFLOAD_NEVER) return t->path = PATH_INLINE;
  if (p->conf.offload == OFFLOAD_ALWAYS) return t->path = PATH_FW;
  if (p->conf.offload == OFFLOAD_ALTERNATE) {
    static _Thread_local uint32_t x = 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return t->path = (x >> 7) & 1 ? PATH_FW : PATH_INLINE;
  }
  uint32_t k = ++tick;
  /* Asking OpenSSL whether this is an async job costs more than the rest of
   * the choice: a thread asks once in 64 requests until it is seen in one,
   * then every time. */
  if (p->conf.async && (job_seen || (k & 63) == 0)) {
    t->async = be_in_async_job(p);
    if (t->async) job_seen = 1;
  }
  t->bucket = bucket_of(size);
  struct cell *c = &cells[fam][t->bucket][t->async];
  uint32_t ni = atomic_load_explicit(&c->n[PATH_INLINE], memory_order_relaxed);
  uint32_t nf = atomic_load_explicit(&c->n[PATH_FW], memory_order_relaxed);
  enum opath path;
  if (nf < MIN_SAMPLES && (k & 7) == 1) {
    path = PATH_FW;
    t->timed = true;
  } else if (ni < MIN_SAMPLES && (k & 7) == 5) {
    path = PATH_INLINE;
    t->timed = true;
  } else {
    enum opath best = PATH_INLINE;
    /* The framework must be cheaper by an eighth: close figures on a noisy
     * host would otherwise flip the choice back and forth. */
    if (nf >= MIN_SAMPLES && ni >= MIN_SAMPLES) {
      uint32_t cf = atomic_load_explicit(&c->cost[PATH_FW], memory_order_relaxed);
      uint32_t ci = atomic_load_explicit(&c->cost[PATH_INLINE], memory_order_relaxed);
      best = (uint64_t)cf + cf / 8 < ci ? PATH_FW : PATH_INLINE;
    } else if (nf >= MIN_SAMPLES)
      best = PATH_FW;
    /* The other path is tried every 256th request, every 1024th when it
     * costs more than twice as much; the chosen one is timed once in 16
     * requests, once in 64 when the cell has its figures. */
    uint32_t explore = 255, sample = 15;
    if (nf >= MIN_SAMPLES && ni >= MIN_SAMPLES) {
      uint32_t cf = atomic_load_explicit(&c->cost[PATH_FW], memory_order_relaxed);
      uint32_t ci = atomic_load_explicit(&c->cost[PATH_INLINE], memory_order_relaxed);
      if ((best == PATH_FW ? ci / 2 : cf / 2) > (best == PATH_FW ? cf : ci)) explore = 1023;
      if (ni + nf > 256) sample = 63;
    }
    if ((k & explore) == 128 && nf >= MIN_SAMPLES && ni >= MIN_SAMPLES) {
      path = best == PATH_FW ? PATH_INLINE : PATH_FW;
      t->timed = true;
    } else {
      path = best;
      t->timed = (k & sample) == 0;
    }
  }
  t->path = path;
  if (t->timed) t->t0 = now_ns();
  return path;
}

void dec_done(struct ocfprov *p, struct dticket *t, const struct bstat *bs) {
  (void)p;
  if (!t->timed) return;
  uint64_t dt = now_ns() - t->t0;
  if (bs != NULL && bs->paused_ns < dt) dt -= bs->paused_ns;
  if (dt > UINT32_MAX) dt = UINT32_MAX;
  if (dt == 0) dt = 1;
  struct cell *c = &cells[t->fam][t->bucket][t->async];
  uint32_t n = atomic_load_explicit(&c->n[t->path], memory_order_relaxed);
  uint32_t old = atomic_load_explicit(&c->cost[t->path], memory_order_relaxed);
  /* The first sample of a path pays its start (libocf's start-up, a new
   * session, cold caches) and is not a figure of the path: dropped.  Later
   * ones are capped at twice the average, so that a preemption on a loaded
   * host does not flip the choice. */
  uint64_t cap = (uint64_t)old * 2;
  if (n >= MIN_SAMPLES && dt > cap) dt = cap;
  uint32_t v = n == 0   ? 0
               : n == 1 ? (uint32_t)dt
                        : (uint32_t)(old + ((int64_t)dt - (int64_t)old) / 8);
  atomic_store_explicit(&c->cost[t->path], v, memory_order_relaxed);
  if (n < UINT32_MAX) atomic_store_explicit(&c->n[t->path], n + 1, memory_order_relaxed);
}

size_t dec_dump(char *buf, size_t len) {
  size_t off = 0;
  buf[0] = '\0';
  for (int f = 0; f < FAM__COUNT; f++)
    for (int b = 0; b < NBUCKET; b++)
      for (int a = 0; a < 2; a++) {
        struct cell *c = &cells[f][b][a];
        uint32_t ni = atomic_load(&c->n[0]), nf = atomic_load(&c->n[1]);
        if (ni == 0 && nf == 0) continue;
        int w = snprintf(buf + off, len - off,
                         "%s size>=%zu %s: inline %u ns (%u), framework %u ns (%u)\n", fam_names[f],
                         b == 0 ? (size_t)0 : (size_t)8 << b, a ? "async" : "sync",
                         atomic_load(&c->cost[0]), ni, atomic_load(&c->cost[1]), nf);
        if (w < 0 || (size_t)w >= len - off) return off;
        off += (size_t)w;
      }
  return off;
}
