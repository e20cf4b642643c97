/* test_policy.c - each balancing policy picks what it should on constructed
 * cases: capacity spreads pending work in proportion to declared rates,
 * size sends small requests to (measured) software and large ones to a
 * fast card, public-key requests follow declared operation rates. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testdrv.h"

static const uint8_t key16[16] = "policy-test-key";

static uint64_t stat_of(uint32_t hid, int what) {
  struct ocf_driver_stat st[16];
  int n = ocf_driver_stats(st, 16);
  for (int i = 0; i < n && i < 16; i++)
    if (st[i].hid == hid) return what == 0 ? st[i].queued : what == 1 ? st[i].requests : st[i].krequests;
  return 0;
}

static void cb(struct ocf_req *r) { __atomic_add_fetch((int *)r->opaque, 1, __ATOMIC_SEQ_CST); }

static void wait_done(int *done, int n) {
  for (int i = 0; i < 20000 && __atomic_load_n(done, __ATOMIC_SEQ_CST) < n; i++) usleep(500);
  assert_int_equal(__atomic_load_n(done, __ATOMIC_SEQ_CST), n);
}

static void test_bad_policy(void **state) {
  struct ocf_init_opts o = {.policy = "fastest"};
  assert_int_equal(ocf_init(&o), EINVAL);
  assert_non_null(strstr(ocf_errdetail(), "fastest"));
}

/* Two hung cards, 100 and 300 MB/s: 400 equal requests pile up 1:3. */
static void test_capacity_proportional(void **state) {
  struct ocf_init_opts o = {.policy = "capacity"};
  assert_int_equal(ocf_init(&o), 0);
  struct testdrv *a = testdrv_attach(&(struct testdrv_opts){.name = "slow", .hardware = 1, .async = 1});
  struct testdrv *b = testdrv_attach(&(struct testdrv_opts){.name = "fast", .hardware = 1, .async = 1});
  assert_int_equal(ocf_set_rate(testdrv_hid(a), OCF_ALG_AES_CBC, 100e6, 0), 0);
  assert_int_equal(ocf_set_rate(testdrv_hid(b), OCF_ALG_AES_CBC, 300e6, 0), 0);
  assert_int_equal(ocf_set_rate(testdrv_hid(b), OCF_ALG_AES_CBC, -1, 0), EINVAL);
  testdrv_hang(a, 1);
  testdrv_hang(b, 1);
  struct ocf_sessparam p = {.alg = OCF_ALG_AES_CBC, .key = key16, .keylen = 16};
  ocf_sid_t sid;
  assert_int_equal(ocf_newsession(&sid, &p, OCF_SESS_HWONLY), 0);
  enum { N = 400 };
  static uint8_t buf[N][1024];
  static struct ocf_req r[N];
  int done = 0;
  for (int i = 0; i < N; i++) {
    r[i] = (struct ocf_req){.sid = sid, .buf = ocf_buf_contig(buf[i], 1024), .ndesc = 1,
                            .callback = cb, .opaque = &done};
    r[i].desc[0] = (struct ocf_desc){.alg = OCF_ALG_AES_CBC,
                                     .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = 1024};
    assert_int_equal(ocf_dispatch(&r[i]), 0);
  }
  uint64_t qa = stat_of(testdrv_hid(a), 0), qb = stat_of(testdrv_hid(b), 0);
  print_message("capacity: slow card holds %llu, fast card %llu\n", (unsigned long long)qa,
                (unsigned long long)qb);
  assert_int_equal(qa + qb, N);
  assert_in_range(qa, 95, 105);
  testdrv_hang(a, 0);
  testdrv_hang(b, 0);
  wait_done(&done, N);
  for (int i = 0; i < N; i++) assert_int_equal(r[i].error, 0);
  assert_int_equal(ocf_freesession(sid), 0);
  assert_int_equal(testdrv_sessions(a) + testdrv_sessions(b), 0); /* replicas freed too */
  testdrv_detach(a);
  testdrv_detach(b);
  ocf_shutdown();
}

static void run_sized(ocf_sid_t sid, size_t len, int n) {
  uint8_t *buf = calloc(1, len);
  int done = 0;
  struct ocf_req r = {.sid = sid, .buf = ocf_buf_contig(buf, len), .ndesc = 1};
  r.desc[0] = (struct ocf_desc){.alg = OCF_ALG_AES_CBC,
                                .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = len};
  for (int i = 0; i < n; i++) {
    r.callback = cb;
    r.opaque = &done;
    assert_int_equal(ocf_dispatch(&r), 0);
    wait_done(&done, i + 1);
    assert_int_equal(r.error, 0);
  }
  free(buf);
}

/* A software producer (1 GB/s, 300 ns per request) and a card (100 GB/s
 * engine, 20 us setup): the size policy sends 64-byte requests to software
 * and 256 KB ones to the card.  Rates are declared so that the choice does
 * not depend on this machine's speed; the measured path is checked below. */
static void test_size_crossover(void **state) {
  struct ocf_init_opts o = {.policy = "size", .no_soft = 1};
  assert_int_equal(ocf_init(&o), 0);
  struct testdrv *sw = testdrv_attach(&(struct testdrv_opts){.name = "swdrv"});
  struct testdrv *c = testdrv_attach(&(struct testdrv_opts){.name = "bigcard", .hardware = 1, .async = 1});
  assert_int_equal(ocf_set_rate(testdrv_hid(sw), OCF_ALG_AES_CBC, 1e9, 300), 0);
  assert_int_equal(ocf_set_rate(testdrv_hid(c), OCF_ALG_AES_CBC, 100e9, 20000), 0);
  struct ocf_sessparam p = {.alg = OCF_ALG_AES_CBC, .key = key16, .keylen = 16};
  ocf_sid_t sid;
  assert_int_equal(ocf_newsession(&sid, &p, 0), 0);
  uint64_t c0 = stat_of(testdrv_hid(c), 1);
  run_sized(sid, 64, 200);
  uint64_t c1 = stat_of(testdrv_hid(c), 1);
  run_sized(sid, 256 * 1024, 20);
  uint64_t c2 = stat_of(testdrv_hid(c), 1);
  print_message("size: card took %llu of 200 small, %llu of 20 large\n",
                (unsigned long long)(c1 - c0), (unsigned long long)(c2 - c1));
  assert_int_equal(c1 - c0, 0);
  assert_int_equal(c2 - c1, 20);
  assert_int_equal(ocf_freesession(sid), 0);
  testdrv_detach(c);
  testdrv_detach(sw);
  ocf_shutdown();
}

static void kcb(struct ocf_kreq *k) { __atomic_add_fetch((int *)k->opaque, 1, __ATOMIC_SEQ_CST); }

/* Public-key requests split 8:1 between cards rated 800/s and 100/s. */
static void test_pk_balance(void **state) {
  assert_int_equal(ocf_init(NULL), 0);
  struct testdrv *f = testdrv_attach(&(struct testdrv_opts){.name = "pk800", .hardware = 1, .async = 1, .with_kops = 1});
  struct testdrv *s = testdrv_attach(&(struct testdrv_opts){.name = "pk100", .hardware = 1, .async = 1, .with_kops = 1});
  assert_int_equal(ocf_kset_rate(testdrv_hid(f), OCF_KOP_MOD_EXP, 1024, 800), 0);
  assert_int_equal(ocf_kset_rate(testdrv_hid(s), OCF_KOP_MOD_EXP, 1024, 100), 0);
  testdrv_hang(f, 1);
  testdrv_hang(s, 1);
  enum { N = 54 }; /* within the test producer's 64-deep public-key queue */
  static struct ocf_kreq k[N];
  static uint8_t in[N][3], out[N];
  int done = 0;
  for (int i = 0; i < N; i++) {
    in[i][0] = 3, in[i][1] = 5, in[i][2] = 7;
    k[i] = (struct ocf_kreq){.op = OCF_KOP_MOD_EXP, .iparams = 3, .oparams = 1, .callback = kcb,
                             .opaque = &done};
    for (int j = 0; j < 3; j++) k[i].param[j] = (struct ocf_kparam){&in[i][j], 8};
    k[i].param[3] = (struct ocf_kparam){&out[i], 8};
    assert_int_equal(ocf_kdispatch(&k[i]), 0);
  }
  struct ocf_driver_stat st[16];
  int n = ocf_driver_stats(st, 16);
  uint64_t qf = 0, qs = 0;
  for (int i = 0; i < n; i++) {
    if (st[i].hid == testdrv_hid(f)) qf = st[i].queued;
    if (st[i].hid == testdrv_hid(s)) qs = st[i].queued;
  }
  print_message("public key: 800/s card holds %llu, 100/s card %llu\n", (unsigned long long)qf,
                (unsigned long long)qs);
  assert_int_equal(qf + qs, N);
  assert_in_range(qs, 5, 7);
  testdrv_hang(f, 0);
  testdrv_hang(s, 0);
  wait_done(&done, N);
  for (int i = 0; i < N; i++) assert_int_equal(out[i], 5);
  testdrv_detach(f);
  testdrv_detach(s);
  ocf_shutdown();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_policy),
      cmocka_unit_test(test_capacity_proportional),
      cmocka_unit_test(test_size_crossover),
      cmocka_unit_test(test_pk_balance),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
