/*
 * sim.h - modeled crypto cards (the `sim` producer): Hifn 7751 / 7811 / 6500
 * / 7814 and Broadcom 5805 / 5820 as the paper measured them, built over the
 * producer API only.  Each card is one hardware producer with a per-algorithm
 * engine rate, a per-request setup cost, a descriptor ring, DMA over a PCI bus
 * shared with the other cards on it, completion interrupts (coalesced where
 * the chip can), a session cache, and where the chip has them an RNG and a
 * public-key unit.  docs/sim-profiles.md lists every figure and assumption.
 *
 * Modes: "exact" computes every result with OpenSSL (outputs verify) and
 * delivers it at the modeled time; "timing" moves the data (copies the hull in
 * at submission and out at completion) but does not compute, so that cards
 * faster than the host can be modeled.  Either way the output is written only
 * at the modeled completion ("DMA out"): a request the card loses never
 * touched the consumer's buffer.
 *
 * One timer thread serves all cards: it sleeps to the next modeled interrupt
 * (absolute CLOCK_MONOTONIC deadlines, 1 us timer slack) and completes every
 * request that interrupt carries.  It also runs the watchdog: a card whose
 * completions are overdue by more than the watchdog period is detached
 * (ocf_driver_detach), the requests it holds complete with OCF_ELOST (the
 * framework migrates them) and ocf_unregister_all finishes the removal.
 *
 * Device strings:  card[*N][@bus] {"," card[*N][@bus]} [":" option {"," option}]
 *   card   hifn7751 | hifn7811 | bcm5805 | bcm5820 | hifn6500 | hifn7814
 *   N      1..32 identical cards
 *   bus    pci32 (32-bit/33 MHz, 1.056 Gbit/s) | pci64 (64-bit/66 MHz,
 *          4.22 Gbit/s), optionally ".K" to name another bus of that kind;
 *          cards naming the same bus share its bandwidth.  Default: the
 *          card's own kind.
 *   option mode=exact|timing (default exact), watchdog=MS (default 250)
 *   e.g. "hifn7751*4@pci64,bcm5820@pci64,bcm5820@pci32:mode=timing"
 * Cards are named <card>-<n>, n counting from 0 per kind ("hifn7751-0").
 */
#ifndef OCF_DRIVERS_SIM_H
#define OCF_DRIVERS_SIM_H

#include <ocf/driver.h>
#include <stddef.h>
#include <stdint.h>

#include <ocf/devices.h> /* the public part: attach, detach, fault, queries */

#endif /* OCF_DRIVERS_SIM_H */
