/* sim_int.h - what the files of the sim producer share: the card, bus,
 * interrupt and job records, the state under sim_lock, and the functions one
 * part calls in another.  The model itself is described in sim.h and at the
 * top of model.c.
 *
 * Everything declared here is hidden (the pragma below), so libocf exports
 * the same symbols as before the producer was split: the ocf_sim_ functions
 * of <ocf/devices.h>.  Names that were private to sim.c before carry the
 * sim_ prefix (its globals have lost their g_). */
#ifndef OCF_DRIVERS_SIM_INT_H
#define OCF_DRIVERS_SIM_INT_H

#include "drivers/sim/sim.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define MAX_CARDS 32
#define MAX_RATES 8
#define MAX_CACHE 256
#define PK_RING 16
#define DEFAULT_WD_MS 250
#define PCI32_GBPS 1.056
#define PCI64_GBPS 4.224

#define NPROFILES 6 /* entries of sim_profiles (profiles.c checks) */

/* A card kind (profiles.c holds them, with their sources). */
struct rate {
  enum ocf_alg alg;
  double mbps; /* engine payload rate, Mbit/s */
};

struct profile {
  const char *name;
  const char *bus;    /* native bus kind */
  double if_gbps;     /* the card's own PCI interface */
  bool dma;           /* bus master; false = programmed I/O (Hifn 6500) */
  int ring;           /* descriptor ring: symmetric requests on the card */
  double setup_us;    /* engine time per request (descriptor, context) */
  double fetch_us;    /* latency until the card sees a new descriptor */
  double irq_us;      /* interrupt delivery and service latency */
  int coalesce;       /* completions per interrupt at most (1 = none) */
  double coalesce_us; /* gathering window */
  int sess_cache;     /* sessions held on the card; 0 = keys travel with
                         every request (cost in setup and descriptor bytes) */
  double reload_us;   /* loading a session that is not cached */
  bool chain;         /* cipher + MAC in one pass */
  double rng_mbps;    /* 0 = no RNG */
  size_t maxlen;      /* longest operation */
  size_t desc_bytes;  /* descriptor / context bytes moved per request */
  struct rate rates[MAX_RATES];
  double rsa1024_crt;  /* public-key unit: RSA-1024 CRT operations/s (0 = none) */
  double modexp_ratio; /* full-exponent MOD_EXP rate relative to CRT at one size */
  size_t kmax_bits;
};

/* --- state ---------------------------------------------------------------- */

enum cstate { CS_OK, CS_FAIL, CS_HANG, CS_DEAD, CS_GONE };
enum act { ACT_DONE, ACT_EIO, ACT_LOST };

struct interval {
  uint64_t s, e;
};

struct bus {
  char name[16];
  double gbps;
  struct interval *iv; /* [sim_lock] reserved transfers, sorted, disjoint */
  int n, cap;
  int ncards;
  struct bus *next;
};

struct card;

struct job {
  struct job *next;
  struct ocf_req *req;
  struct ocf_kreq *kreq;
  uint8_t *flat; /* the card's copy of the hull [lo, hi) (or the PK result) */
  size_t lo, hi;
  int err; /* exact mode: the computed result */
  int act; /* decided when its interrupt is serviced */
};

/* One modeled interrupt and the completions it carries. */
struct irq {
  uint64_t first; /* completion time of its first request */
  uint64_t raise; /* when the card raises it */
  uint64_t t;     /* when the host has serviced it: heap key */
  int idx;        /* position in the heap */
  bool open;      /* may still gather completions */
  int n;
  struct card *card;
  struct job *head, **tail;
};

struct sess_slot {
  uint64_t id, used;
};

/* struct card - one modeled card.  Everything but the immutable fields is
 * guarded by sim_lock. */
struct card {
  char name[32];           /* [I] */
  const struct profile *p; /* [I] */
  struct bus *bus;         /* [I] */
  uint32_t hid;            /* [I] after attach */
  bool timing;             /* [I] */
  uint64_t wd_ns;          /* [I] */
  uint64_t born;           /* [I] */
  double link_gbps;        /* [I] */
  enum cstate state;
  int ring_used, kring_used;
  bool want_unblock;
  uint64_t eng_free, pk_free; /* modeled time the engines become free */
  struct irq *open_irq;
  struct sess_slot cache[MAX_CACHE];
  uint64_t tick;
  struct job *lost, **lost_tail; /* held by a hung card */
  uint64_t lost_since;
  uint64_t n_req, n_kreq, n_bytes, n_irq, n_lost, busy_ns;
  uint64_t late_ns; /* how late the timer serviced interrupts, summed */
  bool reaper_up;
  pthread_t reaper;
  struct card *next;
};

/* Producer session state. */
struct ssess {
  uint64_t id;
  struct ocf_eng_sess *xf; /* exact mode only */
  enum ocf_alg alg[3];
  int n;
};

/* A parsed device string (spec.c). */
struct group {
  int prof;
  int count;
  char bus[16];
};

struct spec {
  struct group g[MAX_CARDS];
  int ng, total;
  bool timing;
  uint64_t wd_ms;
};

/* A list of jobs to complete once sim_lock is dropped. */
struct jlist {
  struct job *head, **tail;
};

#define MAX_NOTE 64

/* Work the timer thread does once it has dropped the lock. */
struct after {
  struct jlist done;
  uint32_t unblock[MAX_NOTE];
  int nunblock;
  uint32_t dead[MAX_CARDS]; /* cards the watchdog just declared dead */
  int ndead;
};

#pragma GCC visibility push(hidden)

/* sim.c: the state. */
extern pthread_mutex_t sim_lock;
extern pthread_cond_t sim_cv;      /* timer wake-ups (CLOCK_MONOTONIC) */
extern struct card *sim_cards;     /* [sim_lock] */
extern struct bus *sim_buses;      /* [sim_lock] */
extern struct irq **sim_heap;      /* [sim_lock] min-heap on t */
extern int sim_nheap, sim_capheap; /* [sim_lock] */
extern uint64_t sim_target;        /* [sim_lock] timer's wake time; 0 = awake */
extern bool sim_stop;              /* [sim_lock] */

/* profiles.c */
extern const struct profile sim_profiles[];
double sim_prof_rate(const struct profile *p, enum ocf_alg alg);
double sim_prof_crt_rate(const struct profile *p, size_t bits);

/* spec.c */
int sim_perr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int sim_parse_spec(const char *spec, struct spec *sp, char *err, size_t errlen);

/* model.c (sim_lock held) */
struct bus *sim_bus_get(const char *name);
void sim_bus_put(struct bus *b);
void sim_schedule_sym(struct card *c, struct job *j, const struct ssess *ss, uint64_t now);
void sim_schedule_pk(struct card *c, struct job *j, uint64_t now);

/* timer.c */
void sim_heap_set(int i, struct irq *g);
void sim_heap_up(int i);
void sim_heap_down(int i);
bool sim_heap_push(struct irq *g);
void sim_job_free(struct job *j);
bool sim_slot_free(struct card *c, struct job *j);
void sim_jl_init(struct jlist *l);
void sim_jl_add(struct jlist *l, struct job *j);
void sim_jl_finish(struct jlist *l);
void sim_note_unblock(struct after *a, uint32_t hid);
void sim_take_lost(struct card *c, struct jlist *l);
void *sim_timer_main(void *arg);

/* ops.c */
extern const struct ocf_driver_ops sim_ops;

#pragma GCC visibility pop

static inline uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t max64(uint64_t a, uint64_t b) { return a > b ? a : b; }

static inline uint64_t us(double v) { return (uint64_t)llround(v * 1000.0); }

#endif /* OCF_DRIVERS_SIM_INT_H */
