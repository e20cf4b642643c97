/* balance.c - which producer serves a new session or a public-key request.
 *
 * The paper's policy: hardware before software; among candidates of the same
 * kind, the one with the fewest active sessions.  Public-key requests (which
 * the paper did not balance) go to the capable producer with the fewest
 * requests in flight. */
#include "core/internal.h"

static bool kind_ok(const struct drv *d, unsigned sflags) {
  if ((sflags & OCF_SESS_HWONLY) && !(d->flags & OCF_DRV_HARDWARE)) return false;
  if ((sflags & OCF_SESS_SWONLY) && !(d->flags & OCF_DRV_SOFTWARE)) return false;
  return true;
}

/* better(a, b): should a be preferred to b? */
static bool better(const struct drv *a, const struct drv *b) {
  bool ahw = a->flags & OCF_DRV_HARDWARE, bhw = b->flags & OCF_DRV_HARDWARE;
  if (ahw != bhw) return ahw;
  return atomic_load(&a->sessions) < atomic_load(&b->sessions);
}

struct drv *balance_pick(const struct sess *s, struct drv *exclude) {
  struct drv *all[OCF_MAX_DRIVERS], *best = NULL;
  int n = drv_snapshot(all, OCF_MAX_DRIVERS);
  for (int i = 0; i < n; i++) {
    struct drv *d = all[i];
    if (d != exclude && kind_ok(d, s->flags) && drv_serves_chain(d, s) &&
        (best == NULL || better(d, best)))
      best = d;
  }
  for (int i = 0; i < n; i++)
    if (all[i] != best) drv_put(all[i]);
  return best; /* referenced */
}

struct drv *balance_kpick(const struct ocf_kreq *k) {
  struct drv *all[OCF_MAX_DRIVERS], *best = NULL;
  int n = drv_snapshot(all, OCF_MAX_DRIVERS);
  size_t bits = 0;
  for (int i = 0; i < k->iparams && i < OCF_KMAX_PARAM; i++)
    if (k->param[i].nbits > bits) bits = k->param[i].nbits;
  for (int i = 0; i < n; i++) {
    struct drv *d = all[i];
    if (!atomic_load(&d->khas[k->op])) continue;
    if (d->kmax_bits[k->op] != 0 && bits > d->kmax_bits[k->op]) continue;
    if (best == NULL) {
      best = d;
      continue;
    }
    bool dhw = d->flags & OCF_DRV_HARDWARE, bhw = best->flags & OCF_DRV_HARDWARE;
    if (dhw != bhw ? dhw : atomic_load(&d->kinflight) < atomic_load(&best->kinflight)) best = d;
  }
  for (int i = 0; i < n; i++)
    if (all[i] != best) drv_put(all[i]);
  return best;
}
