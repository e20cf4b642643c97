/*
 * model.c - the timing model of the sim producer's cards (see sim.h for
 * the model, docs/sim-profiles.md for the figures): buses, the session
 * cache, and the schedule of every request.  Separate because it is the
 * arithmetic of the model, free of threads and of the framework.
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
#include "drivers/sim/sim_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

struct bus *sim_bus_get(const char *name) {
  for (struct bus *b = sim_buses; b != NULL; b = b->next)
    if (strcmp(b->name, name) == 0) return b;
  struct bus *b = calloc(1, sizeof(*b));
  if (b == NULL) return NULL;
  snprintf(b->name, sizeof(b->name), "%s", name);
  b->gbps = bus_kind_gbps(name);
  b->next = sim_buses;
  sim_buses = b;
  return b;
}

void sim_bus_put(struct bus *b) {
  if (--b->ncards > 0) return;
  for (struct bus **pp = &sim_buses; *pp != NULL; pp = &(*pp)->next)
    if (*pp == b) {
      *pp = b->next;
      break;
    }
  free(b->iv);
  free(b);
}

/* --- scheduling (sim_lock held) --------------------------------------------- */

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
        sim_heap_up(g->idx);
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
  if (!sim_heap_push(g)) abort();
  c->open_irq = g->open ? g : NULL;
  if (sim_target != 0 && g->raise < sim_target) {
    sim_target = g->t;
    pthread_cond_signal(&sim_cv);
  }
}

/* Engine time of a symmetric request: cipher and MAC overlap on chips that
 * chain, else each is a pass of its own. */
static uint64_t engine_ns(const struct card *c, const struct ocf_req *r) {
  const struct profile *p = c->p;
  double total = 0, longest = 0;
  for (int i = 0; i < r->ndesc; i++) {
    double mbps = sim_prof_rate(p, r->desc[i].alg);
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

void sim_schedule_sym(struct card *c, struct job *j, const struct ssess *ss, uint64_t now) {
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

void sim_schedule_pk(struct card *c, struct job *j, uint64_t now) {
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
    ops = sim_prof_crt_rate(p, modbits);
  } else {
    /* cost grows with the exponent's length: public exponents are cheap */
    modbits = kbits(&k->param[2]);
    expbits = kbits(&k->param[1]);
    ops = sim_prof_crt_rate(p, modbits) * p->modexp_ratio;
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
