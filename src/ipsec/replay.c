/* replay.c - the inbound anti-replay window (RFC 4303 section 3.4.3 and
 * appendix A) with 64-bit extended sequence numbers (RFC 4304).
 *
 * The window is a ring of 64-bit words: the bit for number s is bit s % 64 of
 * word (s / 64) % nwords.  With nwords = window / 64 + 1 the window [top -
 * window + 1, top] never covers one word twice, so advancing the top only
 * clears the words it moves past.  A packet is checked before its request is
 * sent (cheap rejection of obvious replays) and checked again and recorded
 * under the lock after its integrity check passed: a forged packet can never
 * move the window. */
#include <errno.h>
#include <stdlib.h>

#include "ipsec/internal.h"

int ipsi_replay_init(struct ipsec_sa *sa, uint32_t window, uint64_t top) {
  sa->rp_top = top;
  if (window == 0) {
    sa->replay_bits = 0;
    sa->rp_nwords = 0;
    sa->rp_bits = NULL;
    return 0;
  }
  uint32_t w = (window + 63) / 64 * 64;
  sa->replay_bits = w;
  sa->rp_nwords = w / 64 + 1;
  sa->rp_bits = calloc(sa->rp_nwords, sizeof(uint64_t));
  if (sa->rp_bits == NULL) return ENOMEM;
  /* everything up to the given top counts as seen */
  if (top > 0) {
    uint64_t lo = top >= w ? top - w + 1 : 1;
    for (uint64_t s = lo; s <= top; s++) sa->rp_bits[(s >> 6) % sa->rp_nwords] |= 1ull << (s & 63);
  }
  return 0;
}

void ipsi_replay_free(struct ipsec_sa *sa) {
  free(sa->rp_bits);
  sa->rp_bits = NULL;
}

static enum ipsec_verdict check_locked(const struct ipsec_sa *sa, uint64_t seq) {
  if (seq > sa->rp_top) return IPSEC_OK;
  if (sa->rp_top - seq >= sa->replay_bits) return IPSEC_DROP_OLD;
  uint64_t word = sa->rp_bits[(seq >> 6) % sa->rp_nwords];
  return word & (1ull << (seq & 63)) ? IPSEC_DROP_REPLAY : IPSEC_OK;
}

/* The 64-bit number for the received low half (RFC 4303 A2.2).  Without a
 * window, the guess is made against one of 2^31: within half the 32-bit
 * space of the highest number seen. */
static bool infer_locked(const struct ipsec_sa *sa, uint32_t lo, uint64_t *seq) {
  if (!(sa->flags & IPSEC_SA_ESN)) {
    *seq = lo;
    return lo != 0;
  }
  uint64_t top = sa->rp_top;
  uint32_t w = sa->replay_bits ? sa->replay_bits : 1u << 31;
  uint32_t tl = (uint32_t)top, th = (uint32_t)(top >> 32);
  uint32_t bottom = tl - w + 1; /* wraps when the window spans two halves */
  uint64_t hi;
  if (tl >= w - 1) {
    hi = lo >= bottom ? th : (uint64_t)th + 1;
  } else if (lo >= bottom) {
    if (th == 0) return false; /* before the first number */
    hi = th - 1;
  } else {
    hi = th;
  }
  if (hi > 0xffffffffu) return false;
  *seq = hi << 32 | lo;
  return *seq != 0;
}

enum ipsec_verdict ipsi_replay_pre(struct ipsec_sa *sa, uint32_t lo, uint64_t *seq) {
  spin_lock(&sa->rp_lock);
  enum ipsec_verdict v = IPSEC_OK;
  if (!infer_locked(sa, lo, seq))
    v = sa->replay_bits || !(sa->flags & IPSEC_SA_ESN) ? IPSEC_DROP_OLD : IPSEC_OK;
  else if (sa->replay_bits)
    v = check_locked(sa, *seq);
  if (v == IPSEC_OK && *seq == 0) *seq = lo; /* no window and no number: as is */
  spin_unlock(&sa->rp_lock);
  return v;
}

enum ipsec_verdict ipsi_replay_update(struct ipsec_sa *sa, uint64_t seq) {
  spin_lock(&sa->rp_lock);
  if (sa->replay_bits == 0) {
    if (seq > sa->rp_top) sa->rp_top = seq; /* for ESN inference */
    spin_unlock(&sa->rp_lock);
    return IPSEC_OK;
  }
  enum ipsec_verdict v = check_locked(sa, seq);
  if (v == IPSEC_OK) {
    if (seq > sa->rp_top) {
      uint64_t from = (sa->rp_top >> 6) + 1, to = seq >> 6;
      if (to >= from && to - from + 1 >= sa->rp_nwords)
        memset(sa->rp_bits, 0, sa->rp_nwords * sizeof(uint64_t));
      else
        for (uint64_t w = from; w <= to; w++) sa->rp_bits[w % sa->rp_nwords] = 0;
      sa->rp_top = seq;
    }
    sa->rp_bits[(seq >> 6) % sa->rp_nwords] |= 1ull << (seq & 63);
  }
  spin_unlock(&sa->rp_lock);
  return v;
}

void ipsi_replay_snapshot(struct ipsec_sa *sa, uint64_t *top, uint64_t *bits) {
  spin_lock(&sa->rp_lock);
  *top = sa->rp_top;
  uint64_t b = 0;
  if (sa->replay_bits) {
    for (unsigned i = 0; i < 64 && i < sa->replay_bits && i < sa->rp_top; i++) {
      uint64_t s = sa->rp_top - i;
      if (sa->rp_bits[(s >> 6) % sa->rp_nwords] & (1ull << (s & 63))) b |= 1ull << i;
    }
  }
  spin_unlock(&sa->rp_lock);
  *bits = b;
}
