/*
 * devices.h - the built-in producers a program (or ocfd, or ocf bench) can
 * attach besides the software one: modeled crypto cards (the "sim" producer)
 * and the dedicated-core "cpu" producer.  ocf_init attaches the cards named by
 * ocf_init_opts.devices or $OCF_DEVICES; these calls do it at run time.
 *
 * Modeled cards: Hifn 7751 / 7811 / 6500 / 7814 and Broadcom 5805 / 5820 as
 * the paper measured them (docs/sim-profiles.md lists every figure and
 * assumption).  Device strings:
 *   card[*N][@bus] {"," card[*N][@bus]} [":" option {"," option}]
 *   card   hifn7751 | hifn7811 | bcm5805 | bcm5820 | hifn6500 | hifn7814
 *   N      1..32 identical cards
 *   bus    pci32 (1.056 Gbit/s) | pci64 (4.22 Gbit/s), optionally ".K" for
 *          another bus of that kind; cards on the same bus share it
 *   option mode=exact|timing (default exact), watchdog=MS (default 250)
 *   e.g. "hifn7751*4@pci64,bcm5820@pci64,bcm5820@pci32:mode=timing"
 * "exact" computes every result (outputs verify); "timing" moves the data but
 * models the engine instead of computing, so that cards faster than this host
 * can be modeled (benchmarks only: such cards skip the registration self-test).
 */
#ifndef OCF_DEVICES_H
#define OCF_DEVICES_H

#include <ocf/driver.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ocf_sim_attach parses spec and attaches every card it names (nothing when
 * the string is bad).  Needs no running framework, but requests need one.
 * On error err[errlen] (if non-NULL) holds a sentence naming the bad part.
 * Returns 0, EINVAL (bad string), ENOSPC (too many cards) or another errno. */
int ocf_sim_attach(const char *spec, char *err, size_t errlen);

/* ocf_sim_detach ejects one card by name, or every card with "all" (or
 * NULL), like pulling a PCMCIA card: the requests it holds complete with
 * OCF_ELOST and migrate, then the producer is unregistered and freed.  The
 * timer thread stops with the last card.  ENOENT if no such card.  Must not
 * be called from a request callback. */
int ocf_sim_detach(const char *name_or_all);

/* ocf_sim_fault injects a fault into card: "fail" (requests complete with
 * EIO), "hang" (requests are held; the watchdog will detach the card), "ok"
 * (back to normal; held requests complete).  ENOENT unknown card, EINVAL
 * unknown fault, ENODEV the card is already dead. */
int ocf_sim_fault(const char *card, const char *what);

/* ocf_sim_peak_mbps is the modeled aggregate peak, in Mbit/s of payload,
 * of all live cards serving alg for size-byte requests with full rings:
 * each card's engine (setup + size / rate) limited by its bus (DMA in and
 * out, shared by the cards on it).  0 if no card serves alg. */
double ocf_sim_peak_mbps(enum ocf_alg alg, size_t size);

/* ocf_sim_kpeak_ops is the modeled aggregate rate, in operations per
 * second, of all live cards' public-key units for op (MOD_EXP with a
 * full-length exponent, or MOD_EXP_CRT) at a bits-bit modulus.  0 if none. */
double ocf_sim_kpeak_ops(enum ocf_kop op, size_t bits);

/* ocf_sim_mode returns "exact", "timing", "mixed", or NULL when no card is
 * attached. */
const char *ocf_sim_mode(void);

/* ocf_sim_card_info - a snapshot of one card. */
struct ocf_sim_card_info {
  char name[32];
  char profile[16];
  char bus[16];
  uint32_t hid;
  int timing;        /* 1 timing mode, 0 exact */
  const char *state; /* "ok", "fail", "hang", "dead" (watchdog), "gone" */
  unsigned ring, ring_used;
  uint64_t requests;   /* symmetric requests completed by the card */
  uint64_t krequests;  /* public-key requests completed */
  uint64_t bytes;      /* payload bytes of completed requests */
  uint64_t interrupts; /* modeled interrupts raised */
  uint64_t lost;       /* requests completed with OCF_ELOST */
  uint64_t busy_ns;    /* modeled engine busy time */
  uint64_t late_ns;    /* total delay between modeled and actual interrupt
                          service (timer wake-up latency): the host's
                          share of the completion time */
  uint64_t age_ns;     /* time since attach */
};

/* ocf_sim_cards fills up to max entries and returns the number of cards. */
int ocf_sim_cards(struct ocf_sim_card_info *out, int max);

/* ocf_sim_profiles writes a human-readable table of the card profiles into
 * buf[len] (truncated if short) and returns the length it needed. */
size_t ocf_sim_profiles(char *buf, size_t len);

/* --- the dedicated-core producer --- */

/* ocf_cpu_attach starts nthreads worker threads (1..256; 0 = number of online
 * CPUs) and registers producer "cpu" (software, not synchronous: process()
 * only queues) with every algorithm ocf_xf_supports() accepts.  With pin set,
 * worker i is pinned to CPU (ncpu - 1 - i) mod ncpu, leaving the low cores to
 * the consumers.  Writes the producer id into *hid.  Several instances may
 * exist (named "cpu", "cpu1", ...).  Returns 0 or an errno. */
int ocf_cpu_attach(int nthreads, int pin, uint32_t *hid);

/* ocf_cpu_detach unregisters producer hid (ocf_unregister_all: queued work
 * migrates, work in the workers' hands completes), then stops the workers
 * and frees the instance.  Unknown ids are ignored.  Must not be called from
 * a request callback. */
void ocf_cpu_detach(uint32_t hid);

#ifdef __cplusplus
}
#endif
#endif /* OCF_DEVICES_H */
