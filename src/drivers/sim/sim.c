/*
 * sim.c - modeled crypto cards (see sim.h for the model and the device
 * string; docs/sim-profiles.md for the figures).
 *
 * Time line of one symmetric request on a card, computed when process()
 * hands it over (the model is deterministic, so the whole schedule is known
 * at submission):
 *   fetch     the card sees the descriptor fetch_us later (Hifn chips poll
 *             their rings in host memory; Broadcom gets an MCR write)
 *   DMA in    a slot on the bus: (hull + descriptor bytes) / link, where the
 *             link is the slower of the bus and the card's interface; the
 *             bus keeps a list of reserved intervals, so cards on one bus
 *             share it and a transfer takes the first gap that fits
 *   engine    streams behind the input: starts when the engine is free and
 *             input flows, busy for setup (+ session reload on a cache miss)
 *             + bits / rate (cipher and MAC pipelined when the chip chains,
 *             else one pass each); cannot end before the input is in
 *   DMA out   a bus slot ending, if possible, when the engine ends
 *   interrupt raised when the output is out; chips that coalesce gather
 *             completions for up to coalesce_us or coalesce requests; the
 *             host sees it irq_us later
 * The timer thread completes requests when their interrupt's time comes.
 */
#include "drivers/sim/sim.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <time.h>

#include "drivers/engine/engine.h"

#define MAX_CARDS 32
#define MAX_RATES 8
#define MAX_CACHE 256
#define PK_RING 16
#define DEFAULT_WD_MS 250
#define PCI32_GBPS 1.056
#define PCI64_GBPS 4.224

/* --- profiles -------------------------------------------------------------
 * Figures marked (paper) come from the paper's section 5; everything else is
 * an assumption, explained in docs/sim-profiles.md. */

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

static const struct profile profiles[] = {
    {.name = "hifn7751",
     .bus = "pci32",
     .if_gbps = PCI32_GBPS, /* (paper) a 32-bit/33 MHz device */
     .dma = true,
     .ring = 24,
     .setup_us = 15,
     .fetch_us = 10,
     .irq_us = 10,
     .coalesce = 1, /* (paper) one interrupt per operation */
     .sess_cache = 128,
     .reload_us = 2,
     .chain = true,
     .maxlen = 65535,
     .desc_bytes = 64,
     .rates = {{OCF_ALG_3DES_CBC, 83}, /* (paper) 3DES engine alone */
               {OCF_ALG_DES_CBC, 160},
               {OCF_ALG_HMAC_SHA1, 200},
               {OCF_ALG_SHA1, 200},
               {OCF_ALG_HMAC_MD5, 240},
               {OCF_ALG_MD5, 240}}},
    {.name = "hifn7811",
     .bus = "pci32",
     .if_gbps = PCI32_GBPS, /* (paper) the XL-Crypt board is 32-bit */
     .dma = true,
     .ring = 24,
     .setup_us = 12,
     .fetch_us = 10,
     .irq_us = 10,
     .coalesce = 1,
     .sess_cache = 128,
     .reload_us = 2,
     .chain = true,
     .rng_mbps = 8, /* (paper) has an RNG */
     .maxlen = 65535,
     .desc_bytes = 64,
     .rates = {{OCF_ALG_3DES_CBC, 130},
               {OCF_ALG_DES_CBC, 150},
               {OCF_ALG_HMAC_SHA1, 260},
               {OCF_ALG_SHA1, 260},
               {OCF_ALG_HMAC_MD5, 300},
               {OCF_ALG_MD5, 300}}},
    {.name = "bcm5805",
     .bus = "pci32",
     .if_gbps = PCI32_GBPS, /* (paper) 32-bit board */
     .dma = true,
     .ring = 60,
     .setup_us = 12,
     .fetch_us = 2,
     .irq_us = 8,
     .coalesce = 5, /* (paper) coalescing by chaining commands */
     .coalesce_us = 10,
     .sess_cache = 0,
     .chain = true,
     .rng_mbps = 8,
     .maxlen = 65535,
     .desc_bytes = 128,
     .rates = {{OCF_ALG_3DES_CBC, 155},
               {OCF_ALG_DES_CBC, 155}, /* (paper) DES runs on the 3DES engine */
               {OCF_ALG_HMAC_SHA1, 300},
               {OCF_ALG_HMAC_MD5, 300}},
     .rsa1024_crt = 400,
     .modexp_ratio = 1.0 / 3,
     .kmax_bits = 1024},
    {.name = "bcm5820",
     .bus = "pci64",
     .if_gbps = PCI64_GBPS, /* (paper) 64-bit board */
     .dma = true,
     .ring = 60,
     .setup_us = 10,
     .fetch_us = 2,
     .irq_us = 8,
     .coalesce = 5,
     .coalesce_us = 10,
     .sess_cache = 0,
     .chain = true,
     .rng_mbps = 8,
     .maxlen = 65535,
     .desc_bytes = 128,
     .rates = {{OCF_ALG_3DES_CBC, 310}, /* (paper) 310 Mbit/s 3DES-SHA1 */
               {OCF_ALG_DES_CBC, 310},  /* (paper) DES = 3DES on Broadcom */
               {OCF_ALG_HMAC_SHA1, 600},
               {OCF_ALG_HMAC_MD5, 600}},
     .rsa1024_crt = 800, /* (paper) 800 RSA-1024 signatures/s */
     .modexp_ratio = 1.0 / 3,
     .kmax_bits = 2048},
    {.name = "hifn6500",
     .bus = "pci32",
     .if_gbps = 0.128, /* (paper) not a bus master: programmed I/O */
     .dma = false,
     .ring = 0,
     .setup_us = 5,
     .fetch_us = 1,
     .irq_us = 10,
     .coalesce = 1,
     .rng_mbps = 4, /* (paper) PK unit + RNG */
     .desc_bytes = 32,
     .rsa1024_crt = 40,
     .modexp_ratio = 1.0 / 3,
     .kmax_bits = 1024}, /* (paper) 1024-bit registers */
    {.name = "hifn7814",
     .bus = "pci64",
     .if_gbps = PCI64_GBPS, /* (paper) 64-bit board */
     .dma = true,
     .ring = 0,
     .setup_us = 5,
     .fetch_us = 10,
     .irq_us = 10,
     .coalesce = 1,
     .desc_bytes = 64,
     .rsa1024_crt = 40, /* (paper) PK unit "almost exactly" the 6500's */
     .modexp_ratio = 1.0 / 3,
     .kmax_bits = 1024},
};
#define NPROFILES (int)(sizeof(profiles) / sizeof(profiles[0]))

static double prof_rate(const struct profile *p, enum ocf_alg alg) {
  for (int i = 0; i < MAX_RATES && p->rates[i].alg != OCF_ALG_NONE; i++)
    if (p->rates[i].alg == alg) return p->rates[i].mbps;
  return 0;
}

/* RSA-style CRT operations per second at a modulus size: cost grows with the
 * cube of the size. */
static double prof_crt_rate(const struct profile *p, size_t bits) {
  double r = 1024.0 / (double)(bits ? bits : 1024);
  return p->rsa1024_crt * r * r * r;
}

/* --- state ---------------------------------------------------------------- */

enum cstate { CS_OK, CS_FAIL, CS_HANG, CS_DEAD, CS_GONE };
static const char *const state_names[] = {"ok", "fail", "hang", "dead", "gone"};
enum act { ACT_DONE, ACT_EIO, ACT_LOST };

struct interval {
  uint64_t s, e;
};

struct bus {
  char name[16];
  double gbps;
  struct interval *iv; /* [g_lock] reserved transfers, sorted, disjoint */
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
 * guarded by g_lock. */
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

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv; /* timer wake-ups (CLOCK_MONOTONIC) */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static struct card *g_cards;         /* [g_lock] */
static struct bus *g_buses;          /* [g_lock] */
static struct irq **g_heap;          /* [g_lock] min-heap on t */
static int g_nheap, g_capheap;       /* [g_lock] */
static uint64_t g_target;            /* [g_lock] timer's wake time; 0 = awake */
static bool g_thread_up, g_stop;     /* [g_lock] */
static pthread_t g_thread;           /* [g_lock] */
static unsigned g_serial[NPROFILES]; /* [g_lock] names handed out per kind */
static uint64_t g_sess_ids;          /* [g_lock] */
static pthread_mutex_t g_attach = PTHREAD_MUTEX_INITIALIZER; /* attach / detach */

static void once_init(void) {
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  pthread_cond_init(&g_cv, &a);
  pthread_condattr_destroy(&a);
}

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t max64(uint64_t a, uint64_t b) { return a > b ? a : b; }

static uint64_t us(double v) { return (uint64_t)llround(v * 1000.0); }

/* --- the heap of pending interrupts ---------------------------------------- */

static void heap_set(int i, struct irq *g) {
  g_heap[i] = g;
  g->idx = i;
}

static void heap_up(int i) {
  struct irq *g = g_heap[i];
  while (i > 0) {
    int parent = (i - 1) / 2;
    if (g_heap[parent]->t <= g->t) break;
    heap_set(i, g_heap[parent]);
    i = parent;
  }
  heap_set(i, g);
}

static void heap_down(int i) {
  struct irq *g = g_heap[i];
  for (;;) {
    int c = 2 * i + 1;
    if (c >= g_nheap) break;
    if (c + 1 < g_nheap && g_heap[c + 1]->t < g_heap[c]->t) c++;
    if (g_heap[c]->t >= g->t) break;
    heap_set(i, g_heap[c]);
    i = c;
  }
  heap_set(i, g);
}

static bool heap_push(struct irq *g) {
  if (g_nheap == g_capheap) {
    int cap = g_capheap ? 2 * g_capheap : 256;
    struct irq **h = realloc(g_heap, (size_t)cap * sizeof(*h));
    if (h == NULL) return false;
    g_heap = h;
    g_capheap = cap;
  }
  heap_set(g_nheap++, g);
  heap_up(g_nheap - 1);
  return true;
}

static struct irq *heap_pop(void) {
  struct irq *top = g_heap[0];
  if (--g_nheap > 0) {
    heap_set(0, g_heap[g_nheap]);
    heap_down(0);
  }
  return top;
}

/* --- buses ---------------------------------------------------------------- */

/* bus_reserve books the first gap of d ns at or after t; returns its start. */
static uint64_t bus_reserve(struct bus *b, uint64_t t, uint64_t d, uint64_t now) {
  int drop = 0;
  while (drop < b->n && b->iv[drop].e <= now) drop++;
  if (drop > 0) {
    memmove(b->iv, b->iv + drop, (size_t)(b->n - drop) * sizeof(*b->iv));
    b->n -= drop;
  }
  if (d == 0) return t;
  int i = 0;
  while (i < b->n && b->iv[i].e <= t) i++;
  uint64_t s = t;
  for (; i < b->n; i++) {
    if (b->iv[i].s >= s + d) break;
    s = max64(s, b->iv[i].e);
  }
  if (b->n == b->cap) {
    int cap = b->cap ? 2 * b->cap : 64;
    struct interval *iv = realloc(b->iv, (size_t)cap * sizeof(*iv));
    if (iv == NULL) return s; /* unrecorded: the model only loses accuracy */
    b->iv = iv;
    b->cap = cap;
  }
  memmove(b->iv + i + 1, b->iv + i, (size_t)(b->n - i) * sizeof(*b->iv));
  b->iv[i].s = s;
  b->iv[i].e = s + d;
  b->n++;
  return s;
}

static double bus_kind_gbps(const char *name) {
  if (strncmp(name, "pci32", 5) == 0) return PCI32_GBPS;
  if (strncmp(name, "pci64", 5) == 0) return PCI64_GBPS;
  return 0;
}

static struct bus *bus_get(const char *name) {
  for (struct bus *b = g_buses; b != NULL; b = b->next)
    if (strcmp(b->name, name) == 0) return b;
  struct bus *b = calloc(1, sizeof(*b));
  if (b == NULL) return NULL;
  snprintf(b->name, sizeof(b->name), "%s", name);
  b->gbps = bus_kind_gbps(name);
  b->next = g_buses;
  g_buses = b;
  return b;
}

static void bus_put(struct bus *b) {
  if (--b->ncards > 0) return;
  for (struct bus **pp = &g_buses; *pp != NULL; pp = &(*pp)->next)
    if (*pp == b) {
      *pp = b->next;
      break;
    }
  free(b->iv);
  free(b);
}

/* --- scheduling (g_lock held) ----------------------------------------------- */

static uint64_t xfer_ns(const struct card *c, size_t bytes) {
  return (uint64_t)llround((double)bytes * 8.0 / c->link_gbps);
}

/* Session reload cost: LRU over the card's session memory. */
static uint64_t cache_cost(struct card *c, uint64_t id) {
  int n = c->p->sess_cache;
  if (n <= 0) return 0;
  if (n > MAX_CACHE) n = MAX_CACHE;
  int victim = 0;
  c->tick++;
  for (int i = 0; i < n; i++) {
    if (c->cache[i].id == id) {
      c->cache[i].used = c->tick;
      return 0;
    }
    if (c->cache[i].used < c->cache[victim].used) victim = i;
  }
  c->cache[victim].id = id;
  c->cache[victim].used = c->tick;
  return us(c->p->reload_us);
}

/* Files job j, completing at done, under an interrupt of card c. */
static void add_to_irq(struct card *c, struct job *j, uint64_t done) {
  const struct profile *p = c->p;
  struct irq *g = c->open_irq;
  j->next = NULL;
  if (g != NULL && g->open && done <= g->first + us(p->coalesce_us) && g->n < p->coalesce) {
    *g->tail = j;
    g->tail = &j->next;
    if (++g->n >= p->coalesce) {
      /* full: raised now rather than at the end of the window */
      g->open = false;
      c->open_irq = NULL;
      if (done < g->raise) {
        g->raise = done;
        g->t = done + us(p->irq_us);
        heap_up(g->idx);
      }
    }
    return;
  }
  g = calloc(1, sizeof(*g));
  if (g == NULL) abort(); /* a lost completion would hang its consumer */
  g->card = c;
  g->first = done;
  g->open = p->coalesce > 1;
  g->raise = g->open ? done + us(p->coalesce_us) : done;
  g->t = g->raise + us(p->irq_us);
  g->n = 1;
  g->head = j;
  g->tail = &j->next;
  if (!heap_push(g)) abort();
  c->open_irq = g->open ? g : NULL;
  if (g_target != 0 && g->raise < g_target) {
    g_target = g->t;
    pthread_cond_signal(&g_cv);
  }
}

/* Engine time of a symmetric request: cipher and MAC overlap on chips that
 * chain, else each is a pass of its own. */
static uint64_t engine_ns(const struct card *c, const struct ocf_req *r) {
  const struct profile *p = c->p;
  double total = 0, longest = 0;
  for (int i = 0; i < r->ndesc; i++) {
    double mbps = prof_rate(p, r->desc[i].alg);
    double t = mbps > 0 ? (double)r->desc[i].len * 8.0 * 1000.0 / mbps : 0;
    total += t + p->setup_us * 1000.0;
    if (t > longest) longest = t;
  }
  if (p->chain || r->ndesc == 1) total = longest + p->setup_us * 1000.0;
  /* A streamed digest part longer than the card takes in one command is
   * split by the driver into commands of at most maxlen bytes that carry the
   * running state from one to the next: a setup for each. */
  const struct ocf_desc *d0 = &r->desc[0];
  if (r->ndesc == 1 && (d0->flags & (OCF_D_UPDATE | OCF_D_FINAL)) && p->maxlen > 0 &&
      d0->len > p->maxlen)
    total += (double)((d0->len - 1) / p->maxlen) * p->setup_us * 1000.0;
  return (uint64_t)llround(total);
}

static void schedule_sym(struct card *c, struct job *j, const struct ssess *ss, uint64_t now) {
  const struct profile *p = c->p;
  size_t hull = j->hi - j->lo;
  uint64_t din = xfer_ns(c, hull + p->desc_bytes);
  uint64_t dout = xfer_ns(c, hull + p->desc_bytes / 2);
  uint64_t eng = engine_ns(c, j->req) + cache_cost(c, ss->id);
  uint64_t in_s = bus_reserve(c->bus, now + us(p->fetch_us), din, now);
  uint64_t es = max64(c->eng_free, in_s);
  uint64_t ee = max64(es + eng, in_s + din);
  uint64_t want = ee > dout ? ee - dout : 0;
  uint64_t out_s = bus_reserve(c->bus, max64(want, es), dout, now);
  uint64_t done = max64(ee, out_s + dout);
  c->eng_free = ee;
  c->busy_ns += ee - es;
  add_to_irq(c, j, done);
}

static size_t kbits(const struct ocf_kparam *kp) { return kp->nbits; }

static void schedule_pk(struct card *c, struct job *j, uint64_t now) {
  const struct profile *p = c->p;
  const struct ocf_kreq *k = j->kreq;
  size_t in_bytes = p->desc_bytes, modbits = 0, expbits = 0;
  for (int i = 0; i < k->iparams; i++) in_bytes += (kbits(&k->param[i]) + 7) / 8;
  double ops;
  if (k->op == OCF_KOP_MOD_EXP_CRT) {
    modbits = kbits(&k->param[2]);
    size_t half =
        kbits(&k->param[0]) > kbits(&k->param[1]) ? kbits(&k->param[0]) : kbits(&k->param[1]);
    if (2 * half > modbits) modbits = 2 * half;
    ops = prof_crt_rate(p, modbits);
  } else {
    /* cost grows with the exponent's length: public exponents are cheap */
    modbits = kbits(&k->param[2]);
    expbits = kbits(&k->param[1]);
    ops = prof_crt_rate(p, modbits) * p->modexp_ratio;
    double frac = modbits ? (double)expbits / (double)modbits : 1;
    if (frac < 1.0 / 64) frac = 1.0 / 64;
    if (frac > 1) frac = 1;
    ops /= frac;
  }
  uint64_t eng = us(p->setup_us) + (ops > 0 ? (uint64_t)(1e9 / ops) : 0);
  uint64_t din = xfer_ns(c, in_bytes), dout = xfer_ns(c, j->hi + p->desc_bytes / 2);
  uint64_t in_s = bus_reserve(c->bus, now + us(p->fetch_us), din, now);
  uint64_t es = max64(c->pk_free, in_s + din);
  uint64_t ee = es + eng;
  uint64_t out_s = bus_reserve(c->bus, ee, dout, now);
  c->pk_free = ee;
  c->busy_ns += eng;
  add_to_irq(c, j, out_s + dout);
}

/* --- completion ------------------------------------------------------------ */

static void job_free(struct job *j) {
  if (j->flat != NULL) {
    ocf_wipe(j->flat, j->hi - j->lo);
    free(j->flat);
  }
  free(j);
}

/* Completes j as decided (no lock held). */
static void job_finish(struct job *j) {
  if (j->kreq != NULL) {
    struct ocf_kreq *k = j->kreq;
    int err = j->act == ACT_LOST ? OCF_ELOST : j->act == ACT_EIO ? EIO : j->err;
    if (err == 0) {
      struct ocf_kparam *o = &k->param[k->iparams];
      memcpy(o->p, j->flat, j->hi);
    }
    k->error = err;
    k->status = err == 0;
    job_free(j);
    ocf_kdone(k);
    return;
  }
  struct ocf_req *r = j->req;
  int err = j->act == ACT_LOST ? OCF_ELOST : j->act == ACT_EIO ? EIO : j->err;
  if (err == 0) ocf_eng_dma_out(r, j->flat, j->lo, j->hi);
  r->error = err;
  job_free(j);
  ocf_done(r);
}

/* Releases j's ring slot (g_lock held); true if the card should be unblocked. */
static bool slot_free(struct card *c, struct job *j) {
  if (j->kreq != NULL)
    c->kring_used--;
  else
    c->ring_used--;
  if (c->want_unblock) {
    c->want_unblock = false;
    return true;
  }
  return false;
}

struct jlist {
  struct job *head, **tail;
};

static void jl_init(struct jlist *l) {
  l->head = NULL;
  l->tail = &l->head;
}

static void jl_add(struct jlist *l, struct job *j) {
  j->next = NULL;
  *l->tail = j;
  l->tail = &j->next;
}

static void jl_finish(struct jlist *l) {
  for (struct job *j = l->head, *next; j != NULL; j = next) {
    next = j->next;
    job_finish(j);
  }
  jl_init(l);
}

#define MAX_NOTE 64

/* Work the timer thread does once it has dropped the lock. */
struct after {
  struct jlist done;
  uint32_t unblock[MAX_NOTE];
  int nunblock;
  uint32_t dead[MAX_CARDS]; /* cards the watchdog just declared dead */
  int ndead;
};

static void note_unblock(struct after *a, uint32_t hid) {
  for (int i = 0; i < a->nunblock; i++)
    if (a->unblock[i] == hid) return;
  if (a->nunblock < MAX_NOTE) a->unblock[a->nunblock++] = hid;
}

/* An interrupt is serviced (g_lock held): decide what happens to each job. */
static void service(struct irq *g, uint64_t now, struct after *a) {
  struct card *c = g->card;
  if (c->open_irq == g) c->open_irq = NULL;
  c->n_irq++;
  if (now > g->t) c->late_ns += now - g->t;
  for (struct job *j = g->head, *next; j != NULL; j = next) {
    next = j->next;
    switch (c->state) {
      case CS_HANG:
        /* the card sits on it: the ring slot stays taken */
        if (c->lost == NULL) c->lost_since = now;
        j->next = NULL;
        *c->lost_tail = j;
        c->lost_tail = &j->next;
        continue;
      case CS_OK:
        j->act = ACT_DONE;
        break;
      case CS_FAIL:
        j->act = ACT_EIO;
        break;
      default:
        j->act = ACT_LOST;
        c->n_lost++;
        break;
    }
    if (j->act != ACT_LOST) {
      if (j->kreq != NULL) {
        c->n_kreq++;
      } else {
        c->n_req++;
        c->n_bytes += j->req->desc[0].len;
      }
    }
    if (slot_free(c, j)) note_unblock(a, c->hid);
    jl_add(&a->done, j);
  }
  free(g);
}

/* Moves everything a card holds to l as lost (g_lock held). */
static void take_lost(struct card *c, struct jlist *l) {
  for (struct job *j = c->lost, *next; j != NULL; j = next) {
    next = j->next;
    j->act = ACT_LOST;
    c->n_lost++;
    slot_free(c, j);
    jl_add(l, j);
  }
  c->lost = NULL;
  c->lost_tail = &c->lost;
}

static void *reaper_main(void *arg) {
  uint32_t hid = (uint32_t)(uintptr_t)arg;
  ocf_unregister_all(hid);
  return NULL;
}

/* How early the timer may service an interrupt: the host's own wake-up
 * latency (estimated) stands in for the modeled interrupt latency, up to all
 * of it, never before the card raised it. */
static uint64_t early(const struct irq *g, uint64_t lat) {
  uint64_t irq = g->t - g->raise;
  return lat < irq ? lat : irq;
}

static void *timer_main(void *arg) {
  (void)arg;
  prctl(PR_SET_TIMERSLACK, 1000UL); /* ask for wake-ups within ~1 us */
  struct after a;
  uint64_t lat = 0; /* wake-up latency estimate (EWMA of timed-out waits) */
  pthread_mutex_lock(&g_lock);
  while (!g_stop) {
    uint64_t now = mono_ns();
    memset(&a, 0, sizeof(a));
    jl_init(&a.done);
    while (g_nheap > 0 && g_heap[0]->t <= now + early(g_heap[0], lat)) service(heap_pop(), now, &a);
    uint64_t next = UINT64_MAX;
    for (struct card *c = g_cards; c != NULL; c = c->next) {
      if (c->lost == NULL || c->state != CS_HANG) continue;
      uint64_t due = c->lost_since + c->wd_ns;
      if (due <= now && a.ndead < MAX_CARDS) {
        /* watchdog: the card is hung; give its requests back */
        c->state = CS_DEAD;
        ocf_log(1, "sim: %s: no completion for %llu ms, detaching it", c->name,
                (unsigned long long)((now - c->lost_since) / 1000000));
        take_lost(c, &a.done);
        a.dead[a.ndead++] = c->hid;
        /* started here, under the lock, so that card_remove always sees it */
        if (!c->reaper_up &&
            pthread_create(&c->reaper, NULL, reaper_main, (void *)(uintptr_t)c->hid) == 0)
          c->reaper_up = true;
      } else if (due < next) {
        next = due;
      }
    }
    if (a.done.head != NULL || a.ndead > 0 || a.nunblock > 0) {
      g_target = 0;
      pthread_mutex_unlock(&g_lock);
      /* detach first, so that the lost requests migrate elsewhere; no card
       * is touched outside the lock (card_remove may free it) */
      for (int i = 0; i < a.ndead; i++) ocf_driver_detach(a.dead[i]);
      jl_finish(&a.done);
      for (int i = 0; i < a.nunblock; i++) ocf_unblock(a.unblock[i]);
      pthread_mutex_lock(&g_lock);
      continue;
    }
    if (g_nheap > 0 && g_heap[0]->t - early(g_heap[0], lat) < next)
      next = g_heap[0]->t - early(g_heap[0], lat);
    g_target = next;
    if (next == UINT64_MAX) {
      pthread_cond_wait(&g_cv, &g_lock);
    } else {
      struct timespec ts = {.tv_sec = (time_t)(next / 1000000000u),
                            .tv_nsec = (long)(next % 1000000000u)};
      if (pthread_cond_timedwait(&g_cv, &g_lock, &ts) == ETIMEDOUT) {
        uint64_t late = mono_ns() - next;
        if (late > 1000000) late = 1000000;
        lat = (lat * 7 + late) / 8;
      }
    }
    g_target = 0;
  }
  pthread_mutex_unlock(&g_lock);
  return NULL;
}

/* --- producer entry points ------------------------------------------------- */

static int sim_newsession(void *softc, void **dsess, const struct ocf_sessparam *chain) {
  struct card *c = softc;
  struct ssess *s = calloc(1, sizeof(*s));
  if (s == NULL) return ENOMEM;
  for (const struct ocf_sessparam *p = chain; p != NULL && s->n < 3; p = p->next)
    s->alg[s->n++] = p->alg;
  /* timing mode needs the layout (IV and MAC lengths) only, no keys */
  int rc = c->timing ? ocf_eng_new_layout(&s->xf, chain) : ocf_eng_new(&s->xf, chain);
  if (rc != 0) {
    free(s);
    return rc;
  }
  pthread_mutex_lock(&g_lock);
  s->id = ++g_sess_ids;
  pthread_mutex_unlock(&g_lock);
  *dsess = s;
  return 0;
}

static void sim_freesession(void *softc, void *dsess) {
  struct ssess *s = dsess;
  if (s == NULL) return;
  ocf_eng_free(s->xf);
  free(s);
}

static void lost_now(struct ocf_req *r, struct ocf_kreq *k) {
  if (k != NULL) {
    k->error = OCF_ELOST;
    ocf_kdone(k);
  } else {
    r->error = OCF_ELOST;
    ocf_done(r);
  }
}

static int sim_process(void *softc, void *dsess, struct ocf_req *req) {
  struct card *c = softc;
  struct ssess *ss = dsess;
  pthread_mutex_lock(&g_lock);
  if (c->state >= CS_DEAD) {
    pthread_mutex_unlock(&g_lock);
    lost_now(req, NULL);
    return 0;
  }
  if (c->ring_used >= c->p->ring) {
    c->want_unblock = true;
    pthread_mutex_unlock(&g_lock);
    return OCF_EBUSY_DRV;
  }
  c->ring_used++;
  pthread_mutex_unlock(&g_lock);

  struct job *j = calloc(1, sizeof(*j));
  if (j != NULL) {
    j->req = req;
    ocf_eng_hull(ss->xf, req, &j->lo, &j->hi);
    j->flat = malloc(j->hi > j->lo ? j->hi - j->lo : 1);
  }
  if (j == NULL || j->flat == NULL) {
    free(j);
    pthread_mutex_lock(&g_lock);
    c->ring_used--;
    bool unblock = c->want_unblock;
    c->want_unblock = false;
    pthread_mutex_unlock(&g_lock);
    if (unblock) ocf_unblock(c->hid);
    return ENOMEM;
  }
  /* DMA in; exact mode computes now and the result waits for DMA out */
  ocf_eng_dma_in(req, j->flat, j->lo, j->hi);
  if (!c->timing) j->err = ocf_eng_apply(ss->xf, req, j->flat, j->lo, j->hi - j->lo);

  pthread_mutex_lock(&g_lock);
  if (c->state >= CS_DEAD) {
    c->ring_used--;
    pthread_mutex_unlock(&g_lock);
    job_free(j);
    lost_now(req, NULL);
    return 0;
  }
  schedule_sym(c, j, ss, mono_ns());
  pthread_mutex_unlock(&g_lock);
  return 0;
}

static int sim_kprocess(void *softc, struct ocf_kreq *k) {
  struct card *c = softc;
  if (k->iparams < 1 || k->iparams + k->oparams > OCF_KMAX_PARAM || k->oparams < 1) return EINVAL;
  if ((k->op == OCF_KOP_MOD_EXP && k->iparams != 3) ||
      (k->op == OCF_KOP_MOD_EXP_CRT && k->iparams != 6))
    return EINVAL;
  pthread_mutex_lock(&g_lock);
  if (c->state >= CS_DEAD) {
    pthread_mutex_unlock(&g_lock);
    lost_now(NULL, k);
    return 0;
  }
  if (c->kring_used >= PK_RING) {
    c->want_unblock = true;
    pthread_mutex_unlock(&g_lock);
    return OCF_EBUSY_DRV;
  }
  c->kring_used++;
  pthread_mutex_unlock(&g_lock);

  size_t outlen = (k->param[k->iparams].nbits + 7) / 8;
  struct job *j = calloc(1, sizeof(*j));
  if (j != NULL) {
    j->kreq = k;
    j->lo = 0;
    j->hi = outlen;
    j->flat = calloc(1, outlen ? outlen : 1);
  }
  if (j == NULL || j->flat == NULL) {
    free(j);
    pthread_mutex_lock(&g_lock);
    c->kring_used--;
    pthread_mutex_unlock(&g_lock);
    return ENOMEM;
  }
  if (!c->timing) j->err = ocf_eng_kop(k, j->flat, outlen);

  pthread_mutex_lock(&g_lock);
  if (c->state >= CS_DEAD) {
    c->kring_used--;
    pthread_mutex_unlock(&g_lock);
    job_free(j);
    lost_now(NULL, k);
    return 0;
  }
  schedule_pk(c, j, mono_ns());
  pthread_mutex_unlock(&g_lock);
  return 0;
}

static const struct ocf_driver_ops sim_ops = {
    .newsession = sim_newsession,
    .freesession = sim_freesession,
    .process = sim_process,
    .kprocess = sim_kprocess,
};

/* --- device strings -------------------------------------------------------- */

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

static int perr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int perr(char *err, size_t errlen, const char *fmt, ...) {
  if (err != NULL && errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return EINVAL;
}

/* trim: the token [*s, *e) without surrounding blanks. */
static void trim(const char **s, const char **e) {
  while (*s < *e && (**s == ' ' || **s == '\t')) (*s)++;
  while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t')) (*e)--;
}

static bool parse_uint(const char *s, const char *e, unsigned long max, unsigned long *out) {
  if (s == e) return false;
  unsigned long v = 0;
  for (; s < e; s++) {
    if (*s < '0' || *s > '9') return false;
    v = v * 10 + (unsigned long)(*s - '0');
    if (v > max) return false;
  }
  *out = v;
  return true;
}

static int parse_bus(const char *s, const char *e, char *out, const char *item, char *err,
                     size_t errlen) {
  size_t n = (size_t)(e - s);
  if ((n == 5 || (n > 6 && s[5] == '.')) &&
      (strncmp(s, "pci32", 5) == 0 || strncmp(s, "pci64", 5) == 0)) {
    unsigned long k;
    if (n == 5 || parse_uint(s + 6, e, 99, &k)) {
      snprintf(out, 16, "%.*s", (int)n, s);
      return 0;
    }
  }
  return perr(err, errlen,
              "device string: unknown bus '%.*s' in '%s' (pci32 or pci64, optionally .N)", (int)n,
              s, item);
}

static int parse_group(const char *s, const char *e, struct spec *sp, int pos, char *err,
                       size_t errlen) {
  trim(&s, &e);
  char item[96];
  snprintf(item, sizeof(item), "%.*s", (int)(e - s), s);
  if (s == e) return perr(err, errlen, "device string: empty card entry at position %d", pos);
  const char *star = memchr(s, '*', (size_t)(e - s)), *at = memchr(s, '@', (size_t)(e - s));
  if (star != NULL && at != NULL && star > at)
    return perr(err, errlen, "device string: in '%s', write card*N@bus", item);
  const char *nend = star ? star : at ? at : e;
  const char *ns = s, *ne = nend;
  trim(&ns, &ne);
  struct group g = {.prof = -1, .count = 1};
  for (int i = 0; i < NPROFILES; i++)
    if ((size_t)(ne - ns) == strlen(profiles[i].name) &&
        strncasecmp(ns, profiles[i].name, (size_t)(ne - ns)) == 0)
      g.prof = i;
  if (g.prof < 0) {
    char known[128] = "";
    for (int i = 0; i < NPROFILES; i++) {
      strncat(known, i ? ", " : "", sizeof(known) - strlen(known) - 1);
      strncat(known, profiles[i].name, sizeof(known) - strlen(known) - 1);
    }
    return perr(err, errlen, "device string: unknown card '%.*s' in '%s' (known: %s)",
                (int)(ne - ns), ns, item, known);
  }
  if (star != NULL) {
    const char *cs = star + 1, *ce = at ? at : e;
    trim(&cs, &ce);
    unsigned long n;
    if (!parse_uint(cs, ce, MAX_CARDS, &n) || n == 0)
      return perr(err, errlen, "device string: bad count '*%.*s' in '%s' (1..%d)", (int)(ce - cs),
                  cs, item, MAX_CARDS);
    g.count = (int)n;
  }
  if (at != NULL) {
    const char *bs = at + 1, *be = e;
    trim(&bs, &be);
    int rc = parse_bus(bs, be, g.bus, item, err, errlen);
    if (rc != 0) return rc;
  } else {
    snprintf(g.bus, sizeof(g.bus), "%s", profiles[g.prof].bus);
  }
  if (sp->ng == MAX_CARDS || sp->total + g.count > MAX_CARDS)
    return perr(err, errlen, "device string: more than %d cards", MAX_CARDS);
  sp->g[sp->ng++] = g;
  sp->total += g.count;
  return 0;
}

static int parse_option(const char *s, const char *e, struct spec *sp, char *err, size_t errlen) {
  trim(&s, &e);
  if (s == e) return perr(err, errlen, "device string: empty option");
  const char *eq = memchr(s, '=', (size_t)(e - s));
  if (eq == NULL)
    return perr(err, errlen, "device string: option '%.*s' needs a value (mode=, watchdog=)",
                (int)(e - s), s);
  const char *ks = s, *ke = eq, *vs = eq + 1, *ve = e;
  trim(&ks, &ke);
  trim(&vs, &ve);
  size_t kn = (size_t)(ke - ks), vn = (size_t)(ve - vs);
  if (kn == 4 && strncmp(ks, "mode", 4) == 0) {
    if (vn == 5 && strncmp(vs, "exact", 5) == 0)
      sp->timing = false;
    else if (vn == 6 && strncmp(vs, "timing", 6) == 0)
      sp->timing = true;
    else
      return perr(err, errlen, "device string: bad mode '%.*s' (exact or timing)", (int)vn, vs);
    return 0;
  }
  if (kn == 8 && strncmp(ks, "watchdog", 8) == 0) {
    unsigned long ms;
    if (!parse_uint(vs, ve, 3600000, &ms) || ms == 0)
      return perr(err, errlen, "device string: bad watchdog '%.*s' (milliseconds, 1..3600000)",
                  (int)vn, vs);
    sp->wd_ms = ms;
    return 0;
  }
  return perr(err, errlen, "device string: unknown option '%.*s' (mode, watchdog)", (int)kn, ks);
}

static int parse_spec(const char *spec, struct spec *sp, char *err, size_t errlen) {
  memset(sp, 0, sizeof(*sp));
  sp->wd_ms = DEFAULT_WD_MS;
  if (spec == NULL) return perr(err, errlen, "device string: none given");
  const char *colon = strchr(spec, ':');
  const char *end = colon ? colon : spec + strlen(spec);
  const char *s = spec;
  int pos = 1;
  for (;;) {
    const char *comma = memchr(s, ',', (size_t)(end - s));
    const char *e = comma ? comma : end;
    int rc = parse_group(s, e, sp, pos++, err, errlen);
    if (rc != 0) return rc;
    if (comma == NULL) break;
    s = comma + 1;
  }
  if (colon != NULL) {
    s = colon + 1;
    for (;;) {
      const char *sep = s + strcspn(s, ",:");
      int rc = parse_option(s, sep, sp, err, errlen);
      if (rc != 0) return rc;
      if (*sep == '\0') break;
      s = sep + 1;
    }
  }
  return 0;
}

/* --- attach / detach ------------------------------------------------------- */

static int card_register(struct card *c) {
  const struct profile *p = c->p;
  int rc = ocf_get_driverid(c->name, OCF_DRV_HARDWARE, &sim_ops, c, &c->hid);
  if (rc != 0) return rc;
  for (int i = 0; i < MAX_RATES && p->rates[i].alg != OCF_ALG_NONE; i++) {
    enum ocf_alg alg = p->rates[i].alg;
    if (!ocf_eng_supports(alg)) continue;
    /* A timing-mode card moves data without computing it: it would fail the
     * framework's known-answer self-test by design. */
    rc = ocf_register(c->hid, alg, p->maxlen, c->timing ? OCF_ALGF_NOSELFTEST : 0);
    if (rc == 0) rc = ocf_set_rate(c->hid, alg, p->rates[i].mbps * 1e6 / 8, p->setup_us * 1000);
    if (rc != 0) return rc;
  }
  if (p->rsa1024_crt > 0) {
    static const size_t sizes[] = {512, 1024, 2048, 4096};
    rc = ocf_kregister(c->hid, OCF_KOP_MOD_EXP, p->kmax_bits, 0);
    if (rc == 0) rc = ocf_kregister(c->hid, OCF_KOP_MOD_EXP_CRT, p->kmax_bits, 0);
    for (size_t i = 0; rc == 0 && i < sizeof(sizes) / sizeof(sizes[0]); i++) {
      if (sizes[i] > p->kmax_bits) break;
      double crt = prof_crt_rate(p, sizes[i]);
      rc = ocf_kset_rate(c->hid, OCF_KOP_MOD_EXP_CRT, sizes[i], crt);
      if (rc == 0) rc = ocf_kset_rate(c->hid, OCF_KOP_MOD_EXP, sizes[i], crt * p->modexp_ratio);
    }
  }
  return rc;
}

/* Removes c completely (g_attach held, g_lock not). */
static void card_remove(struct card *c) {
  struct jlist l;
  jl_init(&l);
  pthread_mutex_lock(&g_lock);
  c->state = CS_GONE;
  /* pull its interrupts out of the heap: the card is gone, so are they */
  int n = 0;
  for (int i = 0; i < g_nheap; i++) {
    struct irq *g = g_heap[i];
    if (g->card != c) {
      heap_set(n++, g);
      continue;
    }
    for (struct job *j = g->head, *next; j != NULL; j = next) {
      next = j->next;
      j->act = ACT_LOST;
      c->n_lost++;
      slot_free(c, j);
      jl_add(&l, j);
    }
    free(g);
  }
  g_nheap = n;
  for (int i = n / 2 - 1; i >= 0; i--) heap_down(i);
  c->open_irq = NULL;
  take_lost(c, &l);
  bool reaper = c->reaper_up;
  pthread_mutex_unlock(&g_lock);
  if (c->hid != 0) ocf_driver_detach(c->hid);
  jl_finish(&l);
  if (reaper)
    pthread_join(c->reaper, NULL);
  else if (c->hid != 0)
    ocf_unregister_all(c->hid);
  pthread_mutex_lock(&g_lock);
  for (struct card **pp = &g_cards; *pp != NULL; pp = &(*pp)->next)
    if (*pp == c) {
      *pp = c->next;
      break;
    }
  bus_put(c->bus);
  bool stop = g_cards == NULL && g_thread_up;
  if (stop) {
    g_stop = true;
    pthread_cond_signal(&g_cv);
  }
  pthread_mutex_unlock(&g_lock);
  if (stop) {
    pthread_join(g_thread, NULL);
    pthread_mutex_lock(&g_lock);
    g_thread_up = false;
    g_stop = false;
    free(g_heap);
    g_heap = NULL;
    g_capheap = 0;
    pthread_mutex_unlock(&g_lock);
  }
  if (!c->timing) ocf_eng_release();
  free(c);
}

int ocf_sim_attach(const char *spec, char *err, size_t errlen) {
  struct spec sp;
  pthread_once(&g_once, once_init);
  if (err != NULL && errlen > 0) err[0] = '\0';
  int rc = parse_spec(spec, &sp, err, errlen);
  if (rc != 0) return rc;
  pthread_mutex_lock(&g_attach);
  int have = 0;
  pthread_mutex_lock(&g_lock);
  for (struct card *c = g_cards; c != NULL; c = c->next) have++;
  pthread_mutex_unlock(&g_lock);
  if (have + sp.total > MAX_CARDS) {
    pthread_mutex_unlock(&g_attach);
    perr(err, errlen, "device string: %d cards already attached, at most %d", have, MAX_CARDS);
    return ENOSPC;
  }
  if (!sp.timing && (rc = ocf_eng_hold()) != 0) {
    pthread_mutex_unlock(&g_attach);
    perr(err, errlen, "sim: cannot set up OpenSSL for exact mode");
    return rc;
  }
  struct card *made[MAX_CARDS];
  int nmade = 0;
  for (int gi = 0; gi < sp.ng && rc == 0; gi++) {
    for (int k = 0; k < sp.g[gi].count && rc == 0; k++) {
      struct card *c = calloc(1, sizeof(*c));
      if (c == NULL) {
        rc = ENOMEM;
        break;
      }
      c->p = &profiles[sp.g[gi].prof];
      c->timing = sp.timing;
      c->wd_ns = sp.wd_ms * 1000000u;
      c->born = mono_ns();
      c->lost_tail = &c->lost;
      if (!c->timing) ocf_eng_hold(); /* one reference per exact card */
      pthread_mutex_lock(&g_lock);
      snprintf(c->name, sizeof(c->name), "%s-%u", c->p->name, g_serial[sp.g[gi].prof]++);
      c->bus = bus_get(sp.g[gi].bus);
      if (c->bus != NULL) {
        c->bus->ncards++;
        double bus = c->bus->gbps, own = c->p->if_gbps;
        c->link_gbps = own < bus ? own : bus;
        c->next = g_cards;
        g_cards = c;
      }
      bool start = c->bus != NULL && !g_thread_up;
      if (start && pthread_create(&g_thread, NULL, timer_main, NULL) == 0) g_thread_up = true;
      bool ok = c->bus != NULL && g_thread_up;
      pthread_mutex_unlock(&g_lock);
      if (!ok) {
        if (c->bus != NULL) {
          card_remove(c);
        } else {
          if (!c->timing) ocf_eng_release();
          free(c);
        }
        rc = ENOMEM;
        break;
      }
      made[nmade++] = c;
      rc = card_register(c);
      if (rc != 0) perr(err, errlen, "sim: registering %s failed: %s", c->name, strerror(rc));
    }
  }
  if (rc != 0)
    for (int i = 0; i < nmade; i++) card_remove(made[i]);
  if (!sp.timing) ocf_eng_release();
  pthread_mutex_unlock(&g_attach);
  if (rc == 0)
    ocf_log(2, "sim: attached %d card(s) from \"%s\" (%s mode)", sp.total, spec,
            sp.timing ? "timing" : "exact");
  return rc;
}

int ocf_sim_detach(const char *name) {
  bool all = name == NULL || strcmp(name, "all") == 0;
  int found = 0;
  pthread_mutex_lock(&g_attach);
  for (;;) {
    struct card *c = NULL;
    pthread_mutex_lock(&g_lock);
    for (struct card *x = g_cards; x != NULL; x = x->next)
      if (all || strcmp(x->name, name) == 0) c = x;
    pthread_mutex_unlock(&g_lock);
    if (c == NULL) break;
    card_remove(c);
    found++;
    if (!all) break;
  }
  pthread_mutex_unlock(&g_attach);
  return found > 0 || all ? 0 : ENOENT;
}

int ocf_sim_fault(const char *name, const char *what) {
  enum cstate to;
  if (name == NULL || what == NULL) return EINVAL;
  if (strcmp(what, "fail") == 0)
    to = CS_FAIL;
  else if (strcmp(what, "hang") == 0)
    to = CS_HANG;
  else if (strcmp(what, "ok") == 0)
    to = CS_OK;
  else
    return EINVAL;
  struct after a;
  memset(&a, 0, sizeof(a));
  jl_init(&a.done);
  int rc = ENOENT;
  uint32_t hid = 0;
  pthread_mutex_lock(&g_lock);
  for (struct card *c = g_cards; c != NULL; c = c->next) {
    if (strcmp(c->name, name) != 0) continue;
    if (c->state >= CS_DEAD) {
      rc = ENODEV;
      break;
    }
    rc = 0;
    hid = c->hid;
    c->state = to;
    if (to != CS_HANG && c->lost != NULL) {
      /* the card wakes up: what it sat on completes now */
      for (struct job *j = c->lost, *next; j != NULL; j = next) {
        next = j->next;
        j->act = to == CS_OK ? ACT_DONE : ACT_EIO;
        if (j->kreq != NULL) {
          c->n_kreq++;
        } else {
          c->n_req++;
          c->n_bytes += j->req->desc[0].len;
        }
        if (slot_free(c, j)) note_unblock(&a, c->hid);
        jl_add(&a.done, j);
      }
      c->lost = NULL;
      c->lost_tail = &c->lost;
    }
    break;
  }
  pthread_mutex_unlock(&g_lock);
  jl_finish(&a.done);
  if (a.nunblock > 0) ocf_unblock(hid);
  return rc;
}

/* --- queries --------------------------------------------------------------- */

double ocf_sim_peak_mbps(enum ocf_alg alg, size_t size) {
  double total = 0;
  pthread_mutex_lock(&g_lock);
  for (struct bus *b = g_buses; b != NULL; b = b->next) {
    double rate = 0, use = 0; /* requests per ns; bus share */
    for (struct card *c = g_cards; c != NULL; c = c->next) {
      if (c->bus != b || c->state >= CS_HANG) continue;
      double mbps = prof_rate(c->p, alg);
      if (mbps <= 0 || (c->p->maxlen && size > c->p->maxlen)) continue;
      double eng = c->p->setup_us * 1000.0 + (double)size * 8.0 * 1000.0 / mbps;
      double r = 1.0 / eng;
      double busy =
          (double)(2 * size + c->p->desc_bytes + c->p->desc_bytes / 2) * 8.0 / c->link_gbps;
      rate += r;
      use += r * busy;
    }
    if (use > 1) rate /= use;
    total += rate * (double)size * 8.0 * 1000.0; /* bits/ns -> Mbit/s */
  }
  pthread_mutex_unlock(&g_lock);
  return total;
}

double ocf_sim_kpeak_ops(enum ocf_kop op, size_t bits) {
  double total = 0;
  if (op != OCF_KOP_MOD_EXP && op != OCF_KOP_MOD_EXP_CRT) return 0;
  pthread_mutex_lock(&g_lock);
  for (struct card *c = g_cards; c != NULL; c = c->next) {
    const struct profile *p = c->p;
    if (c->state >= CS_HANG || p->rsa1024_crt <= 0 || bits > p->kmax_bits) continue;
    double setup = p->setup_us * 1e-6, r = prof_crt_rate(p, bits);
    if (op == OCF_KOP_MOD_EXP) r *= p->modexp_ratio;
    total += 1.0 / (setup + 1.0 / r);
  }
  pthread_mutex_unlock(&g_lock);
  return total;
}

const char *ocf_sim_mode(void) {
  int exact = 0, timing = 0;
  pthread_mutex_lock(&g_lock);
  for (struct card *c = g_cards; c != NULL; c = c->next) {
    if (c->timing)
      timing++;
    else
      exact++;
  }
  pthread_mutex_unlock(&g_lock);
  if (exact && timing) return "mixed";
  if (exact) return "exact";
  if (timing) return "timing";
  return NULL;
}

int ocf_sim_cards(struct ocf_sim_card_info *out, int max) {
  int n = 0;
  uint64_t now = mono_ns();
  pthread_mutex_lock(&g_lock);
  for (struct card *c = g_cards; c != NULL; c = c->next, n++) {
    if (out == NULL || n >= max) continue;
    struct ocf_sim_card_info *i = &out[n];
    memset(i, 0, sizeof(*i));
    snprintf(i->name, sizeof(i->name), "%s", c->name);
    snprintf(i->profile, sizeof(i->profile), "%s", c->p->name);
    snprintf(i->bus, sizeof(i->bus), "%s", c->bus->name);
    i->hid = c->hid;
    i->timing = c->timing;
    i->state = state_names[c->state];
    i->ring = (unsigned)c->p->ring;
    i->ring_used = (unsigned)c->ring_used;
    i->requests = c->n_req;
    i->krequests = c->n_kreq;
    i->bytes = c->n_bytes;
    i->interrupts = c->n_irq;
    i->lost = c->n_lost;
    i->busy_ns = c->busy_ns;
    i->late_ns = c->late_ns;
    i->age_ns = now - c->born;
  }
  pthread_mutex_unlock(&g_lock);
  return n;
}

size_t ocf_sim_profiles(char *buf, size_t len) {
  size_t used = 0;
  char line[512];
  for (int i = 0; i < NPROFILES; i++) {
    const struct profile *p = &profiles[i];
    int k = snprintf(line, sizeof(line),
                     "%-9s %s bus, ring %d, setup %.0f us, irq %.0f us, coalesce %d, "
                     "sessions %d, %s%s",
                     p->name, p->bus, p->ring, p->setup_us, p->irq_us, p->coalesce, p->sess_cache,
                     p->rng_mbps > 0 ? "RNG, " : "", p->rsa1024_crt > 0 ? "PK" : "no PK");
    for (int r = 0; r < MAX_RATES && p->rates[r].alg != OCF_ALG_NONE && k > 0; r++) {
      const struct ocf_alg_info *ai = ocf_alg_lookup(p->rates[r].alg);
      k += snprintf(line + k, sizeof(line) - (size_t)k, ", %s %.0f Mb/s", ai ? ai->name : "?",
                    p->rates[r].mbps);
      if ((size_t)k >= sizeof(line)) k = (int)sizeof(line) - 1;
    }
    if (p->rsa1024_crt > 0 && k > 0 && (size_t)k < sizeof(line))
      k += snprintf(line + k, sizeof(line) - (size_t)k, ", RSA-1024 CRT %.0f/s (max %zu bits)",
                    p->rsa1024_crt, p->kmax_bits);
    if (k < 0) continue;
    if ((size_t)k >= sizeof(line)) k = (int)sizeof(line) - 1;
    if (buf != NULL && used + (size_t)k + 1 < len) {
      memcpy(buf + used, line, (size_t)k);
      buf[used + (size_t)k] = '\n';
      buf[used + (size_t)k + 1] = '\0';
    }
    used += (size_t)k + 1;
  }
  return used;
}
