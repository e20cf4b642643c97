/* timer.c - the sim producer's interrupts: the heap of those pending, and
 * the one timer thread that services them at their modeled time, completes
 * the requests they carry and runs the watchdog that detaches a hung card.
 * Separate because this is where the model meets real time and the
 * framework's completion calls. */
#include "drivers/sim/sim_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "drivers/engine/engine.h"

/* --- the heap of pending interrupts ---------------------------------------- */

void sim_heap_set(int i, struct irq *g) {
  sim_heap[i] = g;
  g->idx = i;
}

void sim_heap_up(int i) {
  struct irq *g = sim_heap[i];
  while (i > 0) {
    int parent = (i - 1) / 2;
    if (sim_heap[parent]->t <= g->t) break;
    sim_heap_set(i, sim_heap[parent]);
    i = parent;
  }
  sim_heap_set(i, g);
}

void sim_heap_down(int i) {
  struct irq *g = sim_heap[i];
  for (;;) {
    int c = 2 * i + 1;
    if (c >= sim_nheap) break;
    if (c + 1 < sim_nheap && sim_heap[c + 1]->t < sim_heap[c]->t) c++;
    if (sim_heap[c]->t >= g->t) break;
    sim_heap_set(i, sim_heap[c]);
    i = c;
  }
  sim_heap_set(i, g);
}

bool sim_heap_push(struct irq *g) {
  if (sim_nheap == sim_capheap) {
    int cap = sim_capheap ? 2 * sim_capheap : 256;
    struct irq **h = realloc(sim_heap, (size_t)cap * sizeof(*h));
    if (h == NULL) return false;
    sim_heap = h;
    sim_capheap = cap;
  }
  sim_heap_set(sim_nheap++, g);
  sim_heap_up(sim_nheap - 1);
  return true;
}

static struct irq *heap_pop(void) {
  struct irq *top = sim_heap[0];
  if (--sim_nheap > 0) {
    sim_heap_set(0, sim_heap[sim_nheap]);
    sim_heap_down(0);
  }
  return top;
}

/* --- completion ------------------------------------------------------------ */

void sim_job_free(struct job *j) {
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
    sim_job_free(j);
    ocf_kdone(k);
    return;
  }
  struct ocf_req *r = j->req;
  int err = j->act == ACT_LOST ? OCF_ELOST : j->act == ACT_EIO ? EIO : j->err;
  if (err == 0) ocf_eng_dma_out(r, j->flat, j->lo, j->hi);
  r->error = err;
  sim_job_free(j);
  ocf_done(r);
}

/* Releases j's ring slot (sim_lock held); true if the card should be unblocked. */
bool sim_slot_free(struct card *c, struct job *j) {
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

void sim_jl_init(struct jlist *l) {
  l->head = NULL;
  l->tail = &l->head;
}

void sim_jl_add(struct jlist *l, struct job *j) {
  j->next = NULL;
  *l->tail = j;
  l->tail = &j->next;
}

void sim_jl_finish(struct jlist *l) {
  for (struct job *j = l->head, *next; j != NULL; j = next) {
    next = j->next;
    job_finish(j);
  }
  sim_jl_init(l);
}

void sim_note_unblock(struct after *a, uint32_t hid) {
  for (int i = 0; i < a->nunblock; i++)
    if (a->unblock[i] == hid) return;
  if (a->nunblock < MAX_NOTE) a->unblock[a->nunblock++] = hid;
}

/* An interrupt is serviced (sim_lock held): decide what happens to each job. */
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
    if (sim_slot_free(c, j)) sim_note_unblock(a, c->hid);
    sim_jl_add(&a->done, j);
  }
  free(g);
}

/* Moves everything a card holds to l as lost (sim_lock held). */
void sim_take_lost(struct card *c, struct jlist *l) {
  for (struct job *j = c->lost, *next; j != NULL; j = next) {
    next = j->next;
    j->act = ACT_LOST;
    c->n_lost++;
    sim_slot_free(c, j);
    sim_jl_add(l, j);
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

void *sim_timer_main(void *arg) {
  (void)arg;
  prctl(PR_SET_TIMERSLACK, 1000UL); /* ask for wake-ups within ~1 us */
  struct after a;
  uint64_t lat = 0; /* wake-up latency estimate (EWMA of timed-out waits) */
  pthread_mutex_lock(&sim_lock);
  while (!sim_stop) {
    uint64_t now = mono_ns();
    memset(&a, 0, sizeof(a));
    sim_jl_init(&a.done);
    while (sim_nheap > 0 && sim_heap[0]->t <= now + early(sim_heap[0], lat))
      service(heap_pop(), now, &a);
    uint64_t next = UINT64_MAX;
    for (struct card *c = sim_cards; c != NULL; c = c->next) {
      if (c->lost == NULL || c->state != CS_HANG) continue;
      uint64_t due = c->lost_since + c->wd_ns;
      if (due <= now && a.ndead < MAX_CARDS) {
        /* watchdog: the card is hung; give its requests back */
        c->state = CS_DEAD;
        ocf_log(1, "sim: %s: no completion for %llu ms, detaching it", c->name,
                (unsigned long long)((now - c->lost_since) / 1000000));
        sim_take_lost(c, &a.done);
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
      sim_target = 0;
      pthread_mutex_unlock(&sim_lock);
      /* detach first, so that the lost requests migrate elsewhere; no card
       * is touched outside the lock (card_remove may free it) */
      for (int i = 0; i < a.ndead; i++) ocf_driver_detach(a.dead[i]);
      sim_jl_finish(&a.done);
      for (int i = 0; i < a.nunblock; i++) ocf_unblock(a.unblock[i]);
      pthread_mutex_lock(&sim_lock);
      continue;
    }
    if (sim_nheap > 0 && sim_heap[0]->t - early(sim_heap[0], lat) < next)
      next = sim_heap[0]->t - early(sim_heap[0], lat);
    sim_target = next;
    if (next == UINT64_MAX) {
      pthread_cond_wait(&sim_cv, &sim_lock);
    } else {
      struct timespec ts = {.tv_sec = (time_t)(next / 1000000000u),
                            .tv_nsec = (long)(next % 1000000000u)};
      if (pthread_cond_timedwait(&sim_cv, &sim_lock, &ts) == ETIMEDOUT) {
        uint64_t late = mono_ns() - next;
        if (late > 1000000) late = 1000000;
        lat = (lat * 7 + late) / 8;
      }
    }
    sim_target = 0;
  }
  pthread_mutex_unlock(&sim_lock);
  return NULL;
}
