/* test_selftest.c - the registration self-test under load: a producer whose
 * ring is full of earlier traffic answers "busy", which must not make a
 * healthy algorithm fail (it is retried within the self-test's time); a
 * producer that stays busy for the whole time fails it, and a producer
 * that computes wrong answers still fails at once. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
// clang-format off
#include <cmocka.h>
// clang-format on

#include "testdrv.h"

static atomic_int done;
static void cb(struct ocf_req *r) {
  (void)r;
  atomic_fetch_add(&done, 1);
}

static void *release_later(void *arg) {
  usleep(300 * 1000);
  testdrv_hang(arg, 0);
  return NULL;
}

static bool failed_alg(uint32_t hid, enum ocf_alg alg) {
  enum ocf_alg algs[OCF_ALG__MAX];
  int n = 0;
  assert_int_equal(ocf_driver_failed_algs(hid, algs, OCF_ALG__MAX, &n), 0);
  for (int i = 0; i < n; i++)
    if (algs[i] == alg) return true;
  return false;
}

/* Fills t's two-request ring with AES-CBC requests it holds. */
static void fill_ring(struct ocf_req *r, uint8_t (*buf)[64]) {
  static const uint8_t key[16];
  struct ocf_sessparam sp = {.alg = OCF_ALG_AES_CBC, .key = key, .keylen = 16};
  ocf_sid_t sid;
  assert_int_equal(ocf_newsession(&sid, &sp, OCF_SESS_HWONLY), 0);
  for (int i = 0; i < 2; i++) {
    memset(&r[i], 0, sizeof(r[i]));
    r[i].sid = sid;
    r[i].buf = ocf_buf_contig(buf[i], 64);
    r[i].ndesc = 1;
    r[i].callback = cb;
    r[i].desc[0] = (struct ocf_desc){
        .alg = OCF_ALG_AES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = 64};
    assert_int_equal(ocf_dispatch(&r[i]), 0);
  }
}

static void t_busy_then_free(void **state) {
  (void)state;
  assert_int_equal(ocf_init(NULL), 0);
  struct testdrv_opts o = {.name = "busycard", .hardware = 1, .async = 1, .ring = 2};
  struct testdrv *t = testdrv_attach(&o);
  assert_non_null(t);
  uint32_t hid = testdrv_hid(t);
  assert_int_equal(ocf_unregister(hid, OCF_ALG_NULL), 0);
  testdrv_hang(t, 1);
  struct ocf_req r[2];
  uint8_t buf[2][64];
  atomic_store(&done, 0);
  fill_ring(r, buf);
  /* the ring is full until the other thread lets the card go on */
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, release_later, t), 0);
  assert_int_equal(ocf_register(hid, OCF_ALG_NULL, 0, 0), 0);
  pthread_join(th, NULL);
  assert_false(failed_alg(hid, OCF_ALG_NULL));
  for (int i = 0; i < 4000 && atomic_load(&done) < 2; i++) usleep(500);
  assert_int_equal(atomic_load(&done), 2);
  testdrv_detach(t);
  ocf_shutdown();
}

static void t_busy_forever(void **state) {
  (void)state;
  assert_int_equal(ocf_init(NULL), 0);
  struct testdrv_opts o = {.name = "stuckcard", .hardware = 1, .async = 1, .ring = 2};
  struct testdrv *t = testdrv_attach(&o);
  assert_non_null(t);
  uint32_t hid = testdrv_hid(t);
  assert_int_equal(ocf_unregister(hid, OCF_ALG_NULL), 0);
  testdrv_hang(t, 1);
  struct ocf_req r[2];
  uint8_t buf[2][64];
  atomic_store(&done, 0);
  fill_ring(r, buf);
  assert_int_equal(ocf_register(hid, OCF_ALG_NULL, 0, 0), EIO);
  assert_true(failed_alg(hid, OCF_ALG_NULL));
  assert_non_null(strstr(ocf_errdetail(), "busy"));
  testdrv_hang(t, 0);
  for (int i = 0; i < 4000 && atomic_load(&done) < 2; i++) usleep(500);
  assert_int_equal(atomic_load(&done), 2);
  testdrv_detach(t);
  ocf_shutdown();
}

static void t_wrong_answer(void **state) {
  (void)state;
  assert_int_equal(ocf_init(NULL), 0);
  struct testdrv_opts o = {.name = "badcard", .hardware = 1, .async = 1, .broken = 1};
  struct testdrv *t = testdrv_attach(&o);
  assert_non_null(t);
  assert_true(failed_alg(testdrv_hid(t), OCF_ALG_AES_CBC));
  testdrv_detach(t);
  ocf_shutdown();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_busy_then_free),
      cmocka_unit_test(t_busy_forever),
      cmocka_unit_test(t_wrong_answer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
