/* test_ocfdev_death.c - libocfdev's promise when the daemon dies while
 * requests are being sent: every request ocfdev_submit or
 * ocfdev_submit_batch took (ocfdev_op_busy, or below *sent) comes back from
 * ocfdev_reap exactly once, with an error; a request it did not take never
 * does.  A consumer that frees what was not taken and waits for the rest
 * (ocf-ipsecd's ocfd producer, the provider) relies on exactly this: the
 * gateway once completed a request twice because it guessed from the count
 * in flight, which replies read during the blocked send had lowered.
 *
 * The daemon is killed while a batch of large copied requests fills the
 * socket, so the send blocks, reads replies, and then finds the peer gone. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
// clang-format off
#include <cmocka.h>
// clang-format on

#include "test_ocfd_util.h"

enum { NOP = 48, LEN = 1 << 20 };

struct killer {
  pid_t pid;
  int delay_us;
};

static void *kill_later(void *arg) {
  struct killer *k = arg;
  usleep((useconds_t)k->delay_us);
  kill(k->pid, SIGKILL);
  return NULL;
}

/* One round: a connection, a session, NOP requests of LEN bytes each, the
 * daemon killed after delay_us; single says whether they go one by one. */
static void round_with_death(int delay_us, bool single) {
  struct ocfd_proc dp;
  assert_int_equal(ocfd_start(&dp, "-w", "1", NULL), 0);
  struct ocfdev *d;
  assert_int_equal(ocfdev_open(dp.sock, &d), 0);
  uint8_t key[16] = {1};
  struct ocf_sessparam sp = {.alg = OCF_ALG_AES_CBC, .key = key, .keylen = sizeof(key)};
  uint32_t ses;
  assert_int_equal(ocfdev_newsession(d, &sp, 0, &ses, NULL), 0);
  static struct ocfdev_op ops[NOP];
  static int seen[NOP];
  struct ocfdev_op *ptr[NOP];
  uint8_t *mem = calloc(NOP, LEN);
  assert_non_null(mem);
  for (int i = 0; i < NOP; i++) {
    memset(&ops[i], 0, sizeof(ops[i]));
    ops[i].ses = ses;
    ops[i].ndesc = 1;
    ops[i].desc[0] = (struct ocf_desc){
        .alg = OCF_ALG_AES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = LEN};
    ops[i].buf = mem + (size_t)i * LEN;
    ops[i].len = LEN;
    ops[i].opaque = &seen[i];
    seen[i] = 0;
    ptr[i] = &ops[i];
  }
  struct killer k = {dp.pid, delay_us};
  pthread_t kt;
  assert_int_equal(pthread_create(&kt, NULL, kill_later, &k), 0);
  int taken = 0;
  if (single) {
    for (int i = 0; i < NOP; i++) {
      int rc = ocfdev_submit(d, &ops[i]);
      if (ocfdev_op_busy(&ops[i])) {
        taken++;
      } else {
        assert_int_not_equal(rc, 0); /* refused, so not taken */
      }
      if (rc != 0 && !ocfdev_op_busy(&ops[i])) {
        /* the rest go to a dead connection: refused at once */
        for (int j = i + 1; j < NOP; j++) {
          assert_int_not_equal(ocfdev_submit(d, &ops[j]), 0);
          assert_false(ocfdev_op_busy(&ops[j]));
        }
        break;
      }
    }
  } else {
    int sent = -1;
    int rc = ocfdev_submit_batch(d, ptr, NOP, &sent);
    assert_true(sent >= 0 && sent <= NOP);
    if (rc == 0) assert_int_equal(sent, NOP);
    for (int i = 0; i < NOP; i++) assert_int_equal(ocfdev_op_busy(&ops[i]) != 0, i < sent);
    taken = sent;
  }
  pthread_join(kt, NULL);
  /* everything taken comes back, once; the daemon is gone, so the wait ends */
  int back = 0;
  for (int tries = 0; tries < 1000 && back < taken; tries++) {
    struct ocfdev_op *done[NOP];
    int n = 0;
    int rc = ocfdev_reap(d, done, NOP, 100, &n);
    for (int i = 0; i < n; i++) {
      int *s = done[i]->opaque;
      assert_true(s >= &seen[0] && s < &seen[NOP]);
      assert_int_equal(++*s, 1);
      assert_false(ocfdev_op_busy(done[i]));
      back++;
    }
    if (rc != 0 && n == 0) break;
  }
  assert_int_equal(back, taken);
  for (int i = 0; i < NOP; i++) {
    assert_false(ocfdev_op_busy(&ops[i]));
    assert_true(seen[i] <= 1);
  }
  ocfdev_close(d);
  free(mem);
  ocfd_stop(&dp);
}

static void t_batch_death(void **state) {
  (void)state;
  /* early, middle and late in the send */
  for (int delay = 2000; delay <= 32000; delay *= 2) round_with_death(delay, false);
}

static void t_single_death(void **state) {
  (void)state;
  for (int delay = 2000; delay <= 32000; delay *= 2) round_with_death(delay, true);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_batch_death),
      cmocka_unit_test(t_single_death),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
