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
#define LAT_SAMPLE 8 /* one request in this many is timed for the latency histogram */
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
  uint32_t hid;                      /* [I] */
  char name[32];                     /* [I] */
  unsigned flags;                    /* [I] OCF_DRV_* */
  struct ocf_driver_ops ops;         /* [I] */
  void *softc;                       /* [I] */
  atomic_uchar has[OCF_ALG__MAX];    /* [A] algorithm registered */
  atomic_uchar failed[OCF_ALG__MAX]; /* [A] registration self-test failed */
  size_t maxlen[OCF_ALG__MAX];       /* [R] max op length, 0 = none */
  atomic_uchar khas[OCF_KOP__MAX];   /* [A] */
  size_t kmax_bits[OCF_KOP__MAX];    /* [R] */
  _Atomic double rate_bps[OCF_ALG__MAX]; /* [A] declared payload bytes/s, 0 = unknown */
  _Atomic double rate_ns[OCF_ALG__MAX];  /* [A] declared fixed cost per request */
  atomic_long pend_bytes;            /* [A] payload bytes handed over, not done */
  struct meas *meas;                 /* measured service times (balance.c), or NULL */
  struct krate {
    size_t bits;
    double ops;
  } krate[OCF_KOP__MAX][8];          /* [R] declared public-key rates */
  atomic_int detached;               /* [A] set once: no new work */
  atomic_int unregistering;          /* [A] ocf_unregister_all is running */
  atomic_int refs;                   /* [A] registry + session bindings */
  atomic_long sessions;              /* [A] live producer sessions */
  atomic_long inflight;              /* [A] requests handed over, not done */
  atomic_long kinflight;             /* [A] */
  atomic_ulong n_req, n_kreq, n_bytes, n_err, n_migr; /* [A] statistics */
  atomic_ulong lat[LAT_BUCKETS];     /* [A] latency histogram, see lat_bucket() */
  pthread_mutex_t hold_lock;
  struct ocf_req *held, **held_tail; /* [H] requests refused with EBUSY_DRV */
  struct ocf_kreq *kheld;            /* [H] */
  atomic_bool blocked;               /* [H] to change; peeked without it */
  atomic_uint unblock_gen;           /* [H] to change: counts ocf_unblock calls */
};

/* struct sess - a consumer session.  Its parameters are owned copies (keys
 * included) so that it can be re-created on another producer (migration).
 * Locking: [T] session table lock (write side to change), [A] atomic,
 * [I] immutable after creation. */
struct sess {
  ocf_sid_t sid;                               /* [T] current id */
  struct drv *drv;                             /* [T] current producer */
  void *dsess;                                 /* [T] producer state, NULL if lost */
  struct ocf_sessparam param[OCF_MAX_CHAIN];   /* [I] chain copy, keys owned */
  int nparam;                                  /* [I] */
  const struct ocf_alg_info *ai[OCF_MAX_CHAIN]; /* [I] */
  size_t ivlen[OCF_MAX_CHAIN], maclen[OCF_MAX_CHAIN]; /* [I] effective */
  unsigned flags;                              /* [I] OCF_SESS_* */
  atomic_long inflight;                        /* [A] */
  /* old bindings whose producer state is freed once idle [T] */
  struct retired {
    struct drv *drv;
    void *dsess;
    struct retired *next;
  } *retired;
  ocf_sid_t alias[8]; /* [T] earlier ids of this session, still accepted */
  int nalias;         /* [T] */
  /* Replicas on other producers, for the capacity and size policies, which
   * choose a producer per request [T]. */
  struct bind {
    struct drv *drv;
    void *dsess;
  } rep[OCF_MAX_DRIVERS_PER_SESS];
  int nrep;                                    /* [T] */
  struct drv *cand[OCF_MAX_DRIVERS_PER_SESS];  /* [T] producers that could serve it */
  int ncand;                                   /* [T] */
  unsigned cand_gen;                           /* [T] registry generation of cand[] */
  bool selftest;                               /* [I] a registration self-test's */
  struct sess_x *x; /* [I] stream state and nonce counter (sessx.c), or NULL */
};

/* registry.c */
struct drv *drv_get(uint32_t hid); /* takes a reference; NULL if unknown */
void drv_put(struct drv *d);
int drv_snapshot(struct drv **out, int max); /* referenced attached drivers */
bool drv_serves_chain(struct drv *d, const struct sess *s);
void drv_shutdown_all(void);
void registry_drained(void); /* wake ocf_unregister_all waiters */

/* balance.c: choose a producer for a session or a public-key request. */
struct drv *balance_pick(const struct sess *s, struct drv *exclude);
struct drv *balance_kpick(const struct ocf_kreq *k, bool *too_big); /* *too_big: only size stopped it */
int policy_parse(const char *name, enum policy *out);
const char *policy_name(enum policy p);
/* Per-request choice (capacity, size).  Table read-locked.  Returns the
 * binding to use, or sets *want to a producer that needs a replica first
 * (or *refresh when cand[] is out of date). */
struct bind policy_choose(struct sess *s, size_t len, struct drv **want, bool *refresh);
void policy_measure(struct drv *d, enum ocf_alg alg, size_t len, uint64_t ns);
void meas_free(struct drv *d);
uint64_t now_ns(void);

/* session.c */
int sess_bind(struct sess *s, struct drv *exclude);           /* table write-locked */
struct sess *sess_lookup_locked(ocf_sid_t sid);               /* table read-locked */
void sess_table_rdlock(void);
void sess_table_wrlock(void);
void sess_table_unlock(void);
int sess_migrate(struct sess *s, ocf_sid_t *newsid);          /* takes the table lock */
void sess_drop_driver(struct drv *d);                          /* unregister_all */
void sess_free_all(void);
int sess_replicate(struct sess *s, struct drv *d); /* takes the table lock */
void sess_refresh_cand(struct sess *s);            /* takes the table lock */
ocf_sid_t sess_new_sid(struct drv *d);

/* dispatch.c */
int dispatch_init(int workers);
void dispatch_fini(void);
void dispatch_requeue_held(struct drv *d);
void dispatch_drain_driver(struct drv *d);
void complete_req(struct ocf_req *req, int error); /* framework-side completion */
bool dispatch_on_worker(void);

/* selftest.c: 0, or EIO when the producer gave a wrong answer */
int selftest_run(struct drv *d, enum ocf_alg alg);

/* validate.c */
int validate_req(const struct sess *s, const struct ocf_req *req, const struct drv *d);

/* sessx.c: per-session services the framework gives producers (streamed
 * digests, generated nonces) */
int sessx_init(struct sess *s);                             /* at creation */
void sessx_free(struct sess *s);                            /* wipes */
int sessx_admit(const struct sess *s, const struct ocf_req *req); /* last check */
void sessx_done(struct sess *s, const struct ocf_req *req); /* before the callback */

/* kdispatch.c */
void kcomplete(struct ocf_kreq *k, int error);

/* kvalidate.c: the <ocf/pk.h> input contract, 0 or an errno with a detail */
int kvalidate(const struct ocf_kreq *k);

/* alg.c */
int ocf_alg_maclen_ok(const struct ocf_alg_info *ai, size_t maclen);

/* util.c */
int ocf_seterr(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ocf_running(void);

/* request states, for the exactly-once assertion */
enum { RS_IDLE = 0, RS_QUEUED = 0x51ced, RS_DONE = 0xd0e };

#endif
