/* test_poll.c - ocf_poll: a consumer thread lending itself to the framework.
 *
 * One worker thread is parked inside a callback (its batch is over, so it
 * takes nothing new), which leaves requests dispatched afterwards waiting in
 * the run queue, where only ocf_poll can run them.  The requests carry
 * OCF_REQ_ASYNC: without it the framework would run them in the dispatching
 * thread rather than queue them.  Checked: it runs them on
 * the calling thread, oldest first, at most max of them, skips nothing
 * longer than max_len (it stops there), runs their callbacks before it
 * returns, picks up what those callbacks resubmit on a later call, and
 * refuses (returns 0) inside a callback.  AES-CBC results are compared with
 * a second encryption by ocf_run, so "ran" means "ran correctly". */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
// clang-format off
#include <cmocka.h>
// clang-format on

#include <ocf/ocf.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int parked, release_park;
static int poll_in_callback = -1;

struct slot {
  struct ocf_req req;
  uint8_t buf[4096];
  pthread_t ran_on;
  int order; /* position among completions */
  int calls;
  int resubmit; /* dispatch itself again once from its callback */
};

static atomic_int completions;

static void cb(struct ocf_req *r) {
  struct slot *s = r->opaque;
  s->ran_on = pthread_self();
  s->calls++;
  s->order = atomic_fetch_add(&completions, 1);
  if (s->resubmit) {
    s->resubmit = 0;
    assert_int_equal(ocf_dispatch(r), 0);
  }
}

/* Parks the worker that runs it until released. */
static void park_cb(struct ocf_req *r) {
  poll_in_callback = ocf_poll(8, 0);
  pthread_mutex_lock(&mu);
  parked = 1;
  pthread_cond_broadcast(&cv);
  while (!release_park) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
}

static ocf_sid_t sid;
static uint8_t key[16] = "poll-test-key-16";

static void setup_req(struct slot *s, size_t len, ocf_cb fn) {
  memset(s, 0, sizeof(*s));
  for (size_t i = 0; i < len; i++) s->buf[i] = (uint8_t)(i * 7 + len);
  s->req.sid = sid;
  s->req.buf = ocf_buf_contig(s->buf, len);
  s->req.ndesc = 1;
  s->req.desc[0] = (struct ocf_desc){
      .alg = OCF_ALG_AES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = len};
  memset(s->req.desc[0].iv, 0x42, 16);
  s->req.flags = OCF_REQ_ASYNC;
  s->req.callback = fn;
  s->req.opaque = s;
}

/* expect_encrypted: s->buf holds AES-CBC of its original bytes. */
static void expect_encrypted(const struct slot *s, size_t len) {
  struct slot ref;
  setup_req(&ref, len, cb);
  assert_int_equal(ocf_run(&ref.req), 0);
  assert_memory_equal(ref.buf, s->buf, len);
}

static void test_poll_runs_queued(void **state) {
  (void)state;
  struct ocf_sessparam p = {.alg = OCF_ALG_AES_CBC, .key = key, .keylen = 16};
  assert_int_equal(ocf_newsession(&sid, &p, 0), 0);
  /* Nothing queued yet. */
  assert_int_equal(ocf_poll(4, 0), 0);

  static struct slot park, a, b, big, c;
  setup_req(&park, 64, park_cb);
  assert_int_equal(ocf_dispatch(&park.req), 0);
  pthread_mutex_lock(&mu);
  while (!parked) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  assert_int_equal(poll_in_callback, 0); /* refused inside a callback */

  setup_req(&a, 256, cb);
  setup_req(&b, 512, cb);
  b.resubmit = 1;
  setup_req(&big, 4096, cb);
  setup_req(&c, 128, cb);
  struct ocf_req *batch[] = {&a.req, &b.req, &big.req, &c.req};
  int err = 0;
  assert_int_equal(ocf_dispatch_batch(batch, 4, &err), 4);
  assert_int_equal(err, 0);

  /* Oldest first, at most max. */
  assert_int_equal(ocf_poll(1, 0), 1);
  assert_int_equal(a.calls, 1);
  assert_true(pthread_equal(a.ran_on, pthread_self()));
  assert_int_equal(b.calls, 0);
  expect_encrypted(&a, 256);

  /* b runs; its callback resubmits it, which goes behind big and c. */
  assert_int_equal(ocf_poll(1, 0), 1);
  assert_int_equal(b.calls, 1);
  assert_true(pthread_equal(b.ran_on, pthread_self()));

  /* big is at the head and longer than max_len: nothing runs. */
  assert_int_equal(ocf_poll(8, 1024), 0);
  assert_int_equal(big.calls, 0);

  /* Without the limit: big, c, then b's second pass. */
  assert_int_equal(ocf_poll(8, 0), 3);
  assert_int_equal(big.calls, 1);
  assert_int_equal(c.calls, 1);
  assert_int_equal(b.calls, 2);
  assert_true(big.order < c.order && c.order < b.order);
  expect_encrypted(&big, 4096);
  expect_encrypted(&c, 128);
  assert_int_equal(ocf_poll(8, 0), 0);

  pthread_mutex_lock(&mu);
  release_park = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  assert_int_equal(ocf_freesession(sid), 0);
}

static void test_poll_bad_args(void **state) {
  (void)state;
  assert_int_equal(ocf_poll(0, 0), 0);
  assert_int_equal(ocf_poll(-3, 0), 0);
}

int main(void) {
  /* One worker: parking it leaves the queue to ocf_poll alone. */
  struct ocf_init_opts o = {.workers = 1};
  if (ocf_init(&o) != 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_poll_runs_queued),
      cmocka_unit_test(test_poll_bad_args),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  ocf_shutdown();
  /* Not running: nothing to poll. */
  if (rc == 0 && ocf_poll(4, 0) != 0) rc = 1;
  return rc;
}
