/*
 * sim.c - modeled crypto cards (see sim.h for the model and the device
 * string; docs/sim-profiles.md for the figures): the producer's state,
 * attaching and removing cards, fault injection, and the queries of
 * <ocf/devices.h>.
 *
 * The other files: profiles.c (the card kinds), spec.c (the device string),
 * model.c (buses, session cache, the schedule of a request), timer.c
 * (interrupts, completion, watchdog), ops.c (the producer entry points);
 * sim_int.h is what they share.
 */
#include "drivers/sim/sim_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/engine/engine.h"

pthread_mutex_t sim_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t sim_cv; /* timer wake-ups (CLOCK_MONOTONIC) */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
struct card *sim_cards;              /* [sim_lock] */
struct bus *sim_buses;               /* [sim_lock] */
struct irq **sim_heap;               /* [sim_lock] min-heap on t */
int sim_nheap, sim_capheap;          /* [sim_lock] */
uint64_t sim_target;                 /* [sim_lock] timer's wake time; 0 = awake */
bool sim_stop;                       /* [sim_lock] */
static bool g_thread_up;             /* [sim_lock] */
static pthread_t g_thread;           /* [sim_lock] */
static unsigned g_serial[NPROFILES]; /* [sim_lock] names handed out per kind */
static pthread_mutex_t g_attach = PTHREAD_MUTEX_INITIALIZER; /* attach / detach */

static const char *const state_names[] = {"ok", "fail", "hang", "dead", "gone"};

static void once_init(void) {
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  pthread_cond_init(&sim_cv, &a);
  pthread_condattr_destroy(&a);
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
      double crt = sim_prof_crt_rate(p, sizes[i]);
      rc = ocf_kset_rate(c->hid, OCF_KOP_MOD_EXP_CRT, sizes[i], crt);
      if (rc == 0) rc = ocf_kset_rate(c->hid, OCF_KOP_MOD_EXP, sizes[i], crt * p->modexp_ratio);
    }
  }
  return rc;
}

/* Removes c completely (g_attach held, sim_lock not). */
static void card_remove(struct card *c) {
  struct jlist l;
  sim_jl_init(&l);
  pthread_mutex_lock(&sim_lock);
  c->state = CS_GONE;
  /* pull its interrupts out of the heap: the card is gone, so are they */
  int n = 0;
  for (int i = 0; i < sim_nheap; i++) {
    struct irq *g = sim_heap[i];
    if (g->card != c) {
      sim_heap_set(n++, g);
      continue;
    }
    for (struct job *j = g->head, *next; j != NULL; j = next) {
      next = j->next;
      j->act = ACT_LOST;
      c->n_lost++;
      sim_slot_free(c, j);
      sim_jl_add(&l, j);
    }
    free(g);
  }
  sim_nheap = n;
  for (int i = n / 2 - 1; i >= 0; i--) sim_heap_down(i);
  c->open_irq = NULL;
  sim_take_lost(c, &l);
  bool reaper = c->reaper_up;
  pthread_mutex_unlock(&sim_lock);
  if (c->hid != 0) ocf_driver_detach(c->hid);
  sim_jl_finish(&l);
  if (reaper)
    pthread_join(c->reaper, NULL);
  else if (c->hid != 0)
    ocf_unregister_all(c->hid);
  pthread_mutex_lock(&sim_lock);
  for (struct card **pp = &sim_cards; *pp != NULL; pp = &(*pp)->next)
    if (*pp == c) {
      *pp = c->next;
      break;
    }
  sim_bus_put(c->bus);
  bool stop = sim_cards == NULL && g_thread_up;
  if (stop) {
    sim_stop = true;
    pthread_cond_signal(&sim_cv);
  }
  pthread_mutex_unlock(&sim_lock);
  if (stop) {
    pthread_join(g_thread, NULL);
    pthread_mutex_lock(&sim_lock);
    g_thread_up = false;
    sim_stop = false;
    free(sim_heap);
    sim_heap = NULL;
    sim_capheap = 0;
    pthread_mutex_unlock(&sim_lock);
  }
  if (!c->timing) ocf_eng_release();
  free(c);
}

int ocf_sim_attach(const char *spec, char *err, size_t errlen) {
  struct spec sp;
  pthread_once(&g_once, once_init);
  if (err != NULL && errlen > 0) err[0] = '\0';
  int rc = sim_parse_spec(spec, &sp, err, errlen);
  if (rc != 0) return rc;
  pthread_mutex_lock(&g_attach);
  int have = 0;
  pthread_mutex_lock(&sim_lock);
  for (struct card *c = sim_cards; c != NULL; c = c->next) have++;
  pthread_mutex_unlock(&sim_lock);
  if (have + sp.total > MAX_CARDS) {
    pthread_mutex_unlock(&g_attach);
    sim_perr(err, errlen, "device string: %d cards already attached, at most %d", have, MAX_CARDS);
    return ENOSPC;
  }
  if (!sp.timing && (rc = ocf_eng_hold()) != 0) {
    pthread_mutex_unlock(&g_attach);
    sim_perr(err, errlen, "sim: cannot set up OpenSSL for exact mode");
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
      c->p = &sim_profiles[sp.g[gi].prof];
      c->timing = sp.timing;
      c->wd_ns = sp.wd_ms * 1000000u;
      c->born = mono_ns();
      c->lost_tail = &c->lost;
      if (!c->timing) ocf_eng_hold(); /* one reference per exact card */
      pthread_mutex_lock(&sim_lock);
      snprintf(c->name, sizeof(c->name), "%s-%u", c->p->name, g_serial[sp.g[gi].prof]++);
      c->bus = sim_bus_get(sp.g[gi].bus);
      if (c->bus != NULL) {
        c->bus->ncards++;
        double bus = c->bus->gbps, own = c->p->if_gbps;
        c->link_gbps = own < bus ? own : bus;
        c->next = sim_cards;
        sim_cards = c;
      }
      bool start = c->bus != NULL && !g_thread_up;
      if (start && pthread_create(&g_thread, NULL, sim_timer_main, NULL) == 0) g_thread_up = true;
      bool ok = c->bus != NULL && g_thread_up;
      pthread_mutex_unlock(&sim_lock);
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
      if (rc != 0) sim_perr(err, errlen, "sim: registering %s failed: %s", c->name, strerror(rc));
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
    pthread_mutex_lock(&sim_lock);
    for (struct card *x = sim_cards; x != NULL; x = x->next)
      if (all || strcmp(x->name, name) == 0) c = x;
    pthread_mutex_unlock(&sim_lock);
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
  sim_jl_init(&a.done);
  int rc = ENOENT;
  uint32_t hid = 0;
  pthread_mutex_lock(&sim_lock);
  for (struct card *c = sim_cards; c != NULL; c = c->next) {
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
        if (sim_slot_free(c, j)) sim_note_unblock(&a, c->hid);
        sim_jl_add(&a.done, j);
      }
      c->lost = NULL;
      c->lost_tail = &c->lost;
    }
    break;
  }
  pthread_mutex_unlock(&sim_lock);
  sim_jl_finish(&a.done);
  if (a.nunblock > 0) ocf_unblock(hid);
  return rc;
}

/* --- queries --------------------------------------------------------------- */

double ocf_sim_peak_mbps(enum ocf_alg alg, size_t size) {
  double total = 0;
  pthread_mutex_lock(&sim_lock);
  for (struct bus *b = sim_buses; b != NULL; b = b->next) {
    double rate = 0, use = 0; /* requests per ns; bus share */
    for (struct card *c = sim_cards; c != NULL; c = c->next) {
      if (c->bus != b || c->state >= CS_HANG) continue;
      double mbps = sim_prof_rate(c->p, alg);
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
  pthread_mutex_unlock(&sim_lock);
  return total;
}

double ocf_sim_kpeak_ops(enum ocf_kop op, size_t bits) {
  double total = 0;
  if (op != OCF_KOP_MOD_EXP && op != OCF_KOP_MOD_EXP_CRT) return 0;
  pthread_mutex_lock(&sim_lock);
  for (struct card *c = sim_cards; c != NULL; c = c->next) {
    const struct profile *p = c->p;
    if (c->state >= CS_HANG || p->rsa1024_crt <= 0 || bits > p->kmax_bits) continue;
    double setup = p->setup_us * 1e-6, r = sim_prof_crt_rate(p, bits);
    if (op == OCF_KOP_MOD_EXP) r *= p->modexp_ratio;
    total += 1.0 / (setup + 1.0 / r);
  }
  pthread_mutex_unlock(&sim_lock);
  return total;
}

const char *ocf_sim_mode(void) {
  int exact = 0, timing = 0;
  pthread_mutex_lock(&sim_lock);
  for (struct card *c = sim_cards; c != NULL; c = c->next) {
    if (c->timing)
      timing++;
    else
      exact++;
  }
  pthread_mutex_unlock(&sim_lock);
  if (exact && timing) return "mixed";
  if (exact) return "exact";
  if (timing) return "timing";
  return NULL;
}

int ocf_sim_cards(struct ocf_sim_card_info *out, int max) {
  int n = 0;
  uint64_t now = mono_ns();
  pthread_mutex_lock(&sim_lock);
  for (struct card *c = sim_cards; c != NULL; c = c->next, n++) {
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
  pthread_mutex_unlock(&sim_lock);
  return n;
}
