/* budget.c - the daemon's memory for clients, bounded as a whole.
 *
 * Each client's memory is bounded by its own limits (one message being read,
 * --max-outq of replies, --max-inflight-bytes of requests, --max-sessions),
 * but with thousands of clients those add up to far more than the host has.
 * So what the daemon allocates for clients is also charged to one budget
 * (--max-memory): read buffers holding a message in pieces, write buffers,
 * requests with their data and the room their replies will take, sessions,
 * the client structures.  Past the budget a request or a session is refused
 * with ENOMEM, and a message longer than one read that cannot be buffered
 * ends its connection (OCFW_ERROR, ENOMEM); replies to requests already
 * taken are always written (their room was charged with them).
 *
 * The first FLOOR bytes of every client are its own and not charged (so at
 * most max-clients times FLOOR more): a client doing small synchronous
 * requests, which holds less, is never refused for memory, however many
 * clients share the rest.  So that clients holding much cannot leave
 * nothing to those holding little, the last eighth of the budget goes only
 * to clients holding less than LIGHT bytes, and clients holding more are not
 * read at all while the rest is spent: a client that half-sends maximal
 * messages, opens thousands of sessions or never reads its replies is held
 * back first.  A client refused something is not read either until a
 * sixteenth of the budget is free again, so that it cannot keep the daemon
 * busy refusing. */
#include <malloc.h>
#include <stdio.h>

#include "ocfd/server.h"

#define FLOOR (64u << 10)
#define LIGHT (1u << 20)

size_t mem_used;
static int waiters; /* clients not read until memory is given back */
void budget_wait(struct client *c);

static size_t heavy_limit(void) { return cf->max_memory - cf->max_memory / 8; }

/* over: what of a client's m bytes the budget is charged for. */
static size_t over(size_t m) { return m > FLOOR ? m - FLOOR : 0; }

/* allowed: whether n more bytes for a client holding held fit. */
static bool allowed(size_t held, size_t n, const char *what) {
  size_t more = over(held + n) - over(held);
  if (more == 0) return true;
  size_t max = cf->max_memory;
  size_t lim = held + n <= LIGHT ? max : heavy_limit();
  if (more <= lim && mem_used <= lim - more) return true;
  static struct ocfd_ratelimit rl;
  ocfd_log_every(&rl, 0,
                 "memory budget spent (%zu of %zu bytes in use): refusing %s of %zu bytes "
                 "to a client holding %zu",
                 mem_used, max, what, n, held);
  return false;
}

bool budget_take(struct client *c, size_t n, const char *what) {
  if (!allowed(c->mem, n, what)) {
    /* refused, and not read until there is memory again: no spinning
     * through requests only to refuse them */
    budget_wait(c);
    return false;
  }
  budget_force(c, n);
  return true;
}

void budget_force(struct client *c, size_t n) {
  size_t was = over(c->mem);
  c->mem += n;
  mem_used += over(c->mem) - was;
}

void budget_give(struct client *c, size_t n) {
  size_t was = over(c->mem);
  c->mem -= n;
  mem_used -= was - over(c->mem);
}

bool budget_heavy(const struct client *c) { return c->mem > LIGHT && mem_used >= heavy_limit(); }

void budget_wait(struct client *c) {
  if (c->mem_wait) return;
  c->mem_wait = true;
  waiters++;
  static struct ocfd_ratelimit rl;
  ocfd_log_every(&rl, 1,
                 "memory budget spent (%zu of %zu bytes in use): not reading client %llu, "
                 "which holds %zu",
                 mem_used, cf->max_memory, (unsigned long long)c->serial, c->mem);
}

/* Memory given back to the allocator stays in the daemon's RSS until the
 * allocator returns it; after a large drop (an attacker gone) it is asked
 * to, so that the RSS follows the budget down again. */
#define TRIM_DROP (64u << 20)
static size_t mem_high; /* the most in use since the last trim */

void budget_trim(void) {
  if (mem_used > mem_high) mem_high = mem_used;
  if (mem_high - mem_used < TRIM_DROP) return;
  malloc_trim(0);
  mem_high = mem_used;
}

void budget_resume(void) {
  /* some hysteresis: a sixteenth of the budget free again */
  if (waiters == 0 || mem_used + cf->max_memory / 16 > heavy_limit()) return;
  waiters = 0;
  for (struct client *c = clients; c != NULL; c = c->next) {
    if (!c->mem_wait) continue;
    c->mem_wait = false;
    resume(c);
  }
}
