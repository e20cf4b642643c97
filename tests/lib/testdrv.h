/* testdrv.h - a configurable producer for framework tests: hardware or
 * software, synchronous or with its own completion thread, a bounded ring
 * (answers "busy" when full), and a "hang" switch that holds requests until
 * released.  It computes AES-CBC and NULL for real (over OpenSSL) and a
 * public-key MOD_EXP, so that results can be verified after migration. */
#ifndef OCF_TESTDRV_H
#define OCF_TESTDRV_H

#include <ocf/driver.h>

struct testdrv;

struct testdrv_opts {
  const char *name;
  int hardware;      /* OCF_DRV_HARDWARE instead of SOFTWARE */
  int async;         /* own completion thread instead of OCF_DRV_SYNC */
  int ring;          /* async: requests it holds at most before answering busy (0 = 1024) */
  int with_kops;     /* register OCF_KOP_MOD_EXP */
  int broken;        /* computes wrong answers (fails the registration self-test) */
  int delay_us;      /* process() takes this long (sleeping) for requests of */
  size_t delay_from; /* delay_from bytes or more (0: all) */
  int kdelay_us;     /* a synchronous kprocess() sleeps this long first */
};

/* testdrv_attach registers the producer with NULL and AES-CBC. */
struct testdrv *testdrv_attach(const struct testdrv_opts *o);
uint32_t testdrv_hid(struct testdrv *t);
/* testdrv_hang: while on, accepted requests wait in the ring (async only). */
void testdrv_hang(struct testdrv *t, int on);
/* testdrv_gate: while on, a synchronous producer's process() waits (in the
 * calling thread) before computing; testdrv_gated tells how many wait. */
void testdrv_gate(struct testdrv *t, int on);
int testdrv_gated(struct testdrv *t);
/* testdrv_processed: requests it completed so far. */
unsigned long testdrv_processed(struct testdrv *t);
/* testdrv_zombies: process() calls on a session already freed (its session
 * states are kept, marked dead, until testdrv_detach to see this). */
unsigned long testdrv_zombies(struct testdrv *t);
/* testdrv_sessions: its live sessions. */
long testdrv_sessions(struct testdrv *t);
/* testdrv_detach: ocf_unregister_all, then frees everything. */
void testdrv_detach(struct testdrv *t);

#endif
