/* sched.c - which client's request goes to the framework next.
 *
 * The framework runs what it is given, and a worker busy with one request
 * cannot be taken off it: a client that hands over a thousand 16384-bit
 * exponentiations (0.9 s each) holds the workers for a quarter of an hour,
 * whoever else is waiting, and even after it has gone.  So the
 * daemon keeps each client's requests in a queue of its own and hands the
 * framework only a window of work at a time: WIN_NS of estimated worker
 * time per thread that runs requests, a request longer than BIG_NS counting
 * as BIG_NS (it occupies one worker, not the window), and such long
 * requests on at most all workers but one, each only once the shorter
 * requests handed over before it have been taken.  Within the window, clients take
 * turns by deficit round robin weighted by each request's estimated cost
 * (Shreedhar and Varghese): a client gets as much worker time as another,
 * whether it spends it on many small requests or on few long ones.  A
 * client that leaves has its queue dropped, and only its requests already
 * in the window still run.
 *
 * Short requests skip all this (up to --inline-max, and a lone request of a
 * client up to --assist-max, if estimated under INLINE_NS): they run on the
 * event thread as they are parsed, which takes clients in turn by itself.
 *
 * Costs are estimates in nanoseconds of one core (cost_sym, cost_key); only
 * their ratios matter.  Each client's queued and running cost is bounded
 * (--max-work), beyond which it is not read (throttled). */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "ocfd/server.h"

#define WIN_NS 2000000ull    /* window per worker (and the event thread) */
#define BIG_NS 2000000ull    /* a longer request occupies a worker */
#define QUANTUM_NS 256000ll  /* a client's turn */
#define REQ_NS 2000ull       /* a request's fixed cost */
#define INLINE_NS 300000ull  /* the most the event thread runs for one request */
#define DEFER_NS 20000000ull /* a long request waits for shorter ones this long at most */

static uint64_t win_used, win_max; /* window cost handed over, not back */
static int big_used, big_max;      /* long requests handed over, not back */
static int short_out;              /* shorter ones handed over (inline ones aside), not back */
static struct client *act_head, *act_tail; /* clients with queued requests */
static int nactive;

void sched_init(int workers) {
  if (workers < 1) workers = 1;
  win_max = (uint64_t)(workers + 1) * WIN_NS;
  big_max = workers > 1 ? workers - 1 : 1;
}

/* alg_factor: nanoseconds a byte, roughly, on one core: a block cipher
 * without hardware support or a compressor is an order of magnitude slower
 * than AES-NI, GCM or SHA-2. */
static uint64_t alg_factor(enum ocf_alg a) {
  switch (a) {
    case OCF_ALG_DES_CBC:
    case OCF_ALG_3DES_CBC:
    case OCF_ALG_BLOWFISH_CBC:
    case OCF_ALG_CAST5_CBC:
    case OCF_ALG_DEFLATE:
      return 16;
    default:
      return 1;
  }
}

static uint64_t cost_sym(const struct ocf_req *r) {
  uint64_t c = REQ_NS;
  for (int i = 0; i < r->ndesc; i++) c += (uint64_t)r->desc[i].len * alg_factor(r->desc[i].alg);
  return c;
}

/* cost_key: modular exponentiation grows with the cube of the length (the
 * exponent's length times the square of the modulus'); 16384 bits is about
 * 0.9 s on one core, 2048 bits about 2 ms.  The longest input stands for
 * both. */
static uint64_t cost_key(const struct ocf_kreq *k) {
  uint64_t bits = 256;
  for (int i = 0; i < k->iparams; i++)
    if (k->param[i].nbits > bits) bits = k->param[i].nbits;
  return 20000 + bits * bits * bits / 5000;
}

/* hand gives j to the framework (its window charge taken). */
static void hand(struct job *j) {
  j->handed = 1;
  win_used += j->wcost;
  if (j->big)
    big_used++;
  else
    short_out++;
  if (j->kind == JOB_SYM)
    hand_sym(j);
  else
    hand_key(j);
}

/* big_waits: c's next request is long and must wait: all the workers it
 * may have are taken, or shorter requests handed over are still out.  A
 * worker that finds a long request queued next to short ones may take the
 * long one first (the framework's queue served public-key work first) and
 * keep the short ones waiting for all of it; so a long request goes in only
 * once the short ones are back, or after DEFER_NS whatever, so that a
 * steady stream of short requests does not hold it back for ever. */
static bool big_waits(struct client *c, const struct job *j) {
  if (!j->big) return false;
  if (big_used >= big_max) return true;
  if (short_out == 0) return false;
  uint64_t now = now_ns();
  if (c->big_since == 0) c->big_since = now;
  return now - c->big_since < DEFER_NS;
}

static bool fits(struct client *c, const struct job *j) {
  return win_used < win_max && !big_waits(c, j);
}

static void activate(struct client *c) {
  c->active = true;
  c->deficit = 0;
  c->anext = NULL;
  if (act_tail)
    act_tail->anext = c;
  else
    act_head = c;
  act_tail = c;
  nactive++;
}

/* deactivate takes the head of the active list off it. */
static void deactivate_head(void) {
  struct client *c = act_head;
  act_head = c->anext;
  if (act_head == NULL) act_tail = NULL;
  c->anext = NULL;
  c->active = false;
  c->deficit = 0;
  nactive--;
}

static void rotate(void) {
  if (act_head == act_tail) return;
  struct client *c = act_head;
  act_head = c->anext;
  c->anext = NULL;
  act_tail->anext = c;
  act_tail = c;
}

void sched_submit(struct client *c, struct job *j) {
  j->cost = j->kind == JOB_SYM ? cost_sym(&j->req) : cost_key(&j->kreq);
  c->cost += j->cost;
  /* The event thread runs short requests as it parses them (--inline-max,
   * and a lone request of a client up to --assist-max); not one that would
   * keep it from every other client for long (3DES, compression). */
  if (j->kind == JOB_SYM && (j->req.flags & OCF_REQ_INLINE) && j->cost > INLINE_NS)
    j->req.flags = (j->req.flags & ~(unsigned)OCF_REQ_INLINE) | OCF_REQ_ASYNC;
  if (j->kind == JOB_SYM && (j->req.flags & OCF_REQ_INLINE)) {
    j->wcost = 0;
    j->big = 0;
    j->handed = 1;
    hand_sym(j);
    return;
  }
  j->wcost = j->cost < BIG_NS ? (uint32_t)j->cost : (uint32_t)BIG_NS;
  j->big = j->cost > BIG_NS;
  if (act_head == NULL && fits(c, j)) {
    c->big_since = 0;
    hand(j);
    return;
  }
  j->next = NULL;
  if (c->qtail)
    c->qtail->next = j;
  else
    c->qhead = j;
  c->qtail = j;
  if (!c->active) activate(c);
}

static struct job *pop(struct client *c) {
  struct job *j = c->qhead;
  c->qhead = j->next;
  if (c->qhead == NULL) c->qtail = NULL;
  j->next = NULL;
  return j;
}

void sched_run(void) {
  /* Rounds of deficit round robin over the active clients, as long as the
   * window has room.  A round in which nobody's deficit covers its next
   * request is not played out quantum by quantum: every client that could
   * take part gets at once the quanta the closest of them needs. */
  while (act_head != NULL && win_used < win_max) {
    int n = nactive, eligible = 0;
    bool progress = false;
    int64_t need = INT64_MAX;
    for (int i = 0; i < n && act_head != NULL && win_used < win_max; i++) {
      struct client *c = act_head;
      struct job *j = c->qhead;
      if (big_waits(c, j)) {
        rotate();
        continue;
      }
      eligible++;
      c->deficit += QUANTUM_NS;
      if (nactive == 1 && c->deficit < (int64_t)j->cost) c->deficit = (int64_t)j->cost;
      while ((j = c->qhead) != NULL && (int64_t)j->cost <= c->deficit && fits(c, j)) {
        c->deficit -= (int64_t)pop(c)->cost;
        c->big_since = 0;
        hand(j);
        progress = true;
      }
      if (c->qhead == NULL) {
        deactivate_head();
        continue;
      }
      if (win_used >= win_max) break; /* c goes on from here next time */
      if ((int64_t)c->qhead->cost > c->deficit && (int64_t)c->qhead->cost - c->deficit < need)
        need = (int64_t)c->qhead->cost - c->deficit;
      rotate();
    }
    if (progress) continue;
    if (eligible == 0 || need == INT64_MAX) break; /* all wait for the long-request lane */
    int64_t skip = (need + QUANTUM_NS - 1) / QUANTUM_NS * QUANTUM_NS - QUANTUM_NS;
    if (skip <= 0) continue;
    struct client *c = act_head;
    for (int i = 0; i < nactive; i++, c = c->anext)
      if (!big_waits(c, c->qhead)) c->deficit += skip;
  }
  if (npending) dispatch_pending();
}

void sched_done(struct job *j) {
  j->c->cost -= j->cost;
  if (!j->handed || (j->wcost == 0 && !j->big)) return; /* queued, or ran inline */
  win_used -= j->wcost;
  if (j->big)
    big_used--;
  else
    short_out--;
}

void sched_drop(struct client *c) {
  if (c->active) { /* off the active list */
    struct client **pp = &act_head, *prev = NULL;
    while (*pp != c) {
      prev = *pp;
      pp = &(*pp)->anext;
    }
    *pp = c->anext;
    if (act_tail == c) act_tail = prev;
    c->anext = NULL;
    c->active = false;
    nactive--;
  }
  while (c->qhead != NULL) {
    struct job *j = pop(c);
    cancel_job(j);
  }
}
