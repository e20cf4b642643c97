/* reorder.c - outbound sequence numbers, and putting packets back in their
 * order after producers completed them in another one.
 *
 * A packet takes its number when its request is built; requests of one SA
 * may then run on several producers (cards, worker threads) and complete in
 * any order.  Each completed packet is handed to ipsi_reorder_done: if it is the
 * next one due it goes on at once, otherwise it is held in the SA's list,
 * sorted by number, until the ones before it have come.  One thread at a
 * time delivers (the "drainer"); a thread that completes a packet while
 * another one drains only leaves it in the list, and the drainer takes it
 * before it stops.  Delivery runs without the lock, so that the next stage
 * (another SA, or the caller's done()) may do anything, including sending
 * on the same SA.  The list holds only packets that overtook a slower one:
 * with one producer completing in order, it stays empty. */
#include "ipsec/internal.h"

bool ipsi_seq_take(struct ipsec_sa *sa, uint64_t *seq) {
  uint64_t s = atomic_fetch_add_explicit(&sa->seq_out, 1, memory_order_relaxed) + 1;
  *seq = s;
  if (sa->flags & IPSEC_SA_ESN) return s != 0; /* 2^64: never in practice */
  return s <= 0xffffffffu;
}

/* Inserts pkt into the held list, sorted.  It is usually the newest (a
 * packet that completed while another thread was delivering, or one that
 * overtook a slow one and is followed by its successors): then it goes at
 * the tail at once; only a packet that was itself overtaken walks. */
static void hold(struct ipsec_sa *sa, struct ipsec_pkt *pkt) {
  struct pstate *ps = ps_of(pkt);
  if (sa->ro_held == NULL || ps_of(sa->ro_tail)->seq < ps->seq) {
    ps->ro_link = NULL;
    if (sa->ro_held == NULL)
      sa->ro_held = pkt;
    else
      ps_of(sa->ro_tail)->ro_link = pkt;
    sa->ro_tail = pkt;
    return;
  }
  struct ipsec_pkt **pp = &sa->ro_held;
  while (ps_of(*pp)->seq < ps->seq) pp = &ps_of(*pp)->ro_link; /* stops at the tail */
  ps->ro_link = *pp;
  *pp = pkt;
}

void ipsi_reorder_done(struct ipsec_sa *sa, struct ipsec_pkt *pkt,
                       void (*next)(struct ipsec_pkt *)) {
  struct pstate *ps = ps_of(pkt);
  spin_lock(&sa->ro_lock);
  if (sa->ro_draining || ps->seq != sa->ro_next) {
    if (ps->seq != sa->ro_next)
      atomic_fetch_add_explicit(&sa->reorder_held, 1, memory_order_relaxed);
    hold(sa, pkt);
    spin_unlock(&sa->ro_lock);
    return;
  }
  sa->ro_draining = true;
  /* delivering a packet may drop the last reference to the SA (its policy
   * goes with the packet): hold one until the list is left behind */
  ipsi_sa_ref(sa);
  for (;;) {
    sa->ro_next++;
    spin_unlock(&sa->ro_lock);
    next(pkt); /* pkt may be reused from here on */
    spin_lock(&sa->ro_lock);
    pkt = sa->ro_held;
    if (pkt == NULL || ps_of(pkt)->seq != sa->ro_next) break;
    sa->ro_held = ps_of(pkt)->ro_link;
  }
  sa->ro_draining = false;
  spin_unlock(&sa->ro_lock);
  ipsi_sa_unref(sa);
}
