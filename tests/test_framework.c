/* test_framework.c - the framework core: registry, producer choice, bad
 * input, held requests, public-key path, and session migration under load. */
#include <errno.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
// clang-format off
#include <cmocka.h>
// clang-format on

#include "testdrv.h"

static int scale(void) {
  const char *e = getenv("OCF_TEST_SCALE");
  int s = e ? atoi(e) : 1;
  return s > 0 ? s : 1;
}

static const uint8_t key16[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static ocf_sid_t new_cbc(unsigned flags, int *err) {
  struct ocf_sessparam p = {.alg = OCF_ALG_AES_CBC, .key = key16, .keylen = 16};
  ocf_sid_t sid = 0;
  *err = ocf_newsession(&sid, &p, flags);
  return sid;
}

static void driver_of(ocf_sid_t sid, char *name) {
  assert_int_equal(ocf_session_driver(sid, name, 32), 0);
}

static int setup(void **state) { return ocf_init(NULL); }
static int teardown(void **state) {
  ocf_shutdown();
  return 0;
}

static void ref_cbc(const uint8_t *iv, const uint8_t *in, uint8_t *out, size_t len, int enc) {
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int l1 = 0, l2 = 0;
  assert_true(EVP_CipherInit_ex(c, EVP_aes_128_cbc(), NULL, key16, iv, enc));
  EVP_CIPHER_CTX_set_padding(c, 0);
  assert_true(EVP_CipherUpdate(c, out, &l1, in, (int)len));
  assert_true(EVP_CipherFinal_ex(c, out + l1, &l2));
  EVP_CIPHER_CTX_free(c);
}

static void test_registry_errors(void **state) {
  static const struct ocf_driver_ops none = {0};
  uint32_t hid;
  assert_int_equal(ocf_get_driverid("x", OCF_DRV_HARDWARE, &none, NULL, &hid), EINVAL);
  assert_int_equal(ocf_get_driverid("", OCF_DRV_HARDWARE, &none, NULL, &hid), EINVAL);
  assert_int_equal(ocf_register(999999, OCF_ALG_AES_CBC, 0, 0), ENOENT);
  assert_int_equal(ocf_unregister_all(999999), ENOENT);
  struct testdrv *t = testdrv_attach(&(struct testdrv_opts){.name = "regtest", .hardware = 1});
  assert_int_equal(ocf_register(testdrv_hid(t), (enum ocf_alg)77, 0, 0), ENOTSUP);
  enum ocf_alg algs[8];
  int n = 0;
  assert_int_equal(ocf_driver_algs(testdrv_hid(t), algs, NULL, 8, &n), 0);
  assert_int_equal(n, 2); /* NULL and AES-CBC */
  hid = testdrv_hid(t);
  testdrv_detach(t);
  assert_int_equal(ocf_driver_algs(hid, algs, NULL, 8, &n), ENOENT);
}

static void test_hardware_preferred(void **state) {
  char name[32];
  int err;
  ocf_sid_t s0 = new_cbc(0, &err);
  assert_int_equal(err, 0);
  driver_of(s0, name);
  assert_string_equal(name, "soft");
  assert_int_equal(new_cbc(OCF_SESS_HWONLY, &err), 0);
  assert_int_equal(err, ENODEV);
  assert_non_null(strstr(ocf_errdetail(), "hardware"));

  struct testdrv *hw = testdrv_attach(&(struct testdrv_opts){.name = "card0", .hardware = 1});
  ocf_sid_t s1 = new_cbc(0, &err);
  assert_int_equal(err, 0);
  driver_of(s1, name);
  assert_string_equal(name, "card0");
  ocf_sid_t s2 = new_cbc(OCF_SESS_SWONLY, &err);
  assert_int_equal(err, 0);
  driver_of(s2, name);
  assert_string_equal(name, "soft");
  ocf_sid_t s3 = new_cbc(OCF_SESS_HWONLY, &err);
  assert_int_equal(err, 0);
  assert_int_equal(OCF_SID_DRIVER(s3), testdrv_hid(hw));
  /* an algorithm the card lacks falls back to software */
  struct ocf_sessparam sha = {.alg = OCF_ALG_SHA2_256};
  ocf_sid_t s4;
  assert_int_equal(ocf_newsession(&s4, &sha, 0), 0);
  driver_of(s4, name);
  assert_string_equal(name, "soft");
  assert_int_equal(ocf_newsession(&s4, &sha, OCF_SESS_HWONLY), ENODEV);
  ocf_sid_t all[] = {s0, s1, s2, s3};
  for (int i = 0; i < 4; i++) assert_int_equal(ocf_freesession(all[i]), 0);
  assert_int_equal(ocf_freesession(s4), 0);
  testdrv_detach(hw);
}

static void test_fewest_sessions(void **state) {
  struct testdrv *a = testdrv_attach(&(struct testdrv_opts){.name = "cardA", .hardware = 1});
  struct testdrv *b = testdrv_attach(&(struct testdrv_opts){.name = "cardB", .hardware = 1});
  ocf_sid_t sids[10];
  int err;
  for (int i = 0; i < 10; i++) {
    sids[i] = new_cbc(0, &err);
    assert_int_equal(err, 0);
  }
  assert_int_equal(testdrv_sessions(a), 5);
  assert_int_equal(testdrv_sessions(b), 5);
  for (int i = 0; i < 10; i += 2) ocf_freesession(sids[i]);
  for (int i = 0; i < 10; i += 2) ocf_freesession(sids[i + 1]);
  assert_int_equal(testdrv_sessions(a) + testdrv_sessions(b), 0);
  testdrv_detach(a);
  testdrv_detach(b);
}

static void noop_cb(struct ocf_req *r) { (void)r; }

/* Sessions created at the same moment from many threads still spread evenly
 * (the choice and the count are made together). */
static pthread_barrier_t place_barrier;
static void *place_main(void *arg) {
  ocf_sid_t *sids = arg;
  int err;
  pthread_barrier_wait(&place_barrier);
  for (int i = 0; i < 4; i++) sids[i] = new_cbc(0, &err);
  return NULL;
}

static void test_concurrent_placement(void **state) {
  struct testdrv *c[4];
  for (int i = 0; i < 4; i++) {
    char name[16];
    snprintf(name, sizeof(name), "place%d", i);
    c[i] = testdrv_attach(&(struct testdrv_opts){.name = name, .hardware = 1});
  }
  pthread_t th[8];
  static ocf_sid_t sids[8][4];
  pthread_barrier_init(&place_barrier, NULL, 8);
  for (int i = 0; i < 8; i++) pthread_create(&th[i], NULL, place_main, sids[i]);
  for (int i = 0; i < 8; i++) pthread_join(th[i], NULL);
  pthread_barrier_destroy(&place_barrier);
  for (int i = 0; i < 4; i++) assert_int_equal(testdrv_sessions(c[i]), 8);
  for (int i = 0; i < 8; i++)
    for (int k = 0; k < 4; k++) assert_int_equal(ocf_freesession(sids[i][k]), 0);
  for (int i = 0; i < 4; i++) testdrv_detach(c[i]);
}

static void test_bad_input(void **state) {
  ocf_sid_t sid;
  uint8_t buf[64] = {0};
  /* unknown algorithm */
  struct ocf_sessparam p = {.alg = (enum ocf_alg)200};
  assert_int_equal(ocf_newsession(&sid, &p, 0), ENOTSUP);
  /* bad key length */
  p = (struct ocf_sessparam){.alg = OCF_ALG_AES_CBC, .key = key16, .keylen = 15};
  assert_int_equal(ocf_newsession(&sid, &p, 0), EINVAL);
  assert_non_null(strstr(ocf_errdetail(), "key length 15"));
  /* MAC length too long */
  p = (struct ocf_sessparam){.alg = OCF_ALG_HMAC_SHA1, .key = key16, .keylen = 16, .maclen = 21};
  assert_int_equal(ocf_newsession(&sid, &p, 0), EINVAL);
  assert_non_null(strstr(ocf_errdetail(), "MAC length 21"));
  /* truncated MAC (HMAC-SHA1-96) is fine */
  p.maclen = 12;
  assert_int_equal(ocf_newsession(&sid, &p, 0), 0);
  assert_int_equal(ocf_freesession(sid), 0);
  /* two ciphers in one chain */
  struct ocf_sessparam c2 = {.alg = OCF_ALG_AES_CTR, .key = key16, .keylen = 16};
  struct ocf_sessparam c1 = {.alg = OCF_ALG_AES_CBC, .key = key16, .keylen = 16, .next = &c2};
  assert_int_equal(ocf_newsession(&sid, &c1, 0), EINVAL);
  /* bad IV length */
  p = (struct ocf_sessparam){.alg = OCF_ALG_AES_CCM, .key = key16, .keylen = 16, .ivlen = 14};
  assert_int_equal(ocf_newsession(&sid, &p, 0), EINVAL);
  assert_int_equal(ocf_newsession(NULL, &p, 0), EINVAL);
  assert_int_equal(ocf_newsession(&sid, NULL, 0), EINVAL);

  int err;
  sid = new_cbc(0, &err);
  assert_int_equal(err, 0);
  struct ocf_req r = {.sid = sid, .buf = ocf_buf_contig(buf, sizeof(buf)), .ndesc = 1,
                      .callback = noop_cb};
  r.desc[0] = (struct ocf_desc){.alg = OCF_ALG_AES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT,
                                .skip = 0, .len = 20};
  /* length not a multiple of the block size */
  assert_int_equal(ocf_dispatch(&r), EINVAL);
  assert_non_null(strstr(ocf_errdetail(), "multiple"));
  /* offsets outside the buffer */
  r.desc[0].len = 64;
  r.desc[0].skip = 16;
  assert_int_equal(ocf_dispatch(&r), ERANGE);
  r.desc[0].skip = SIZE_MAX - 8; /* overflow attempt */
  assert_int_equal(ocf_dispatch(&r), ERANGE);
  r.desc[0].skip = 0;
  r.desc[0].flags = OCF_D_ENCRYPT | OCF_D_IV_PRESENT;
  r.desc[0].iv_off = 60;
  assert_int_equal(ocf_dispatch(&r), ERANGE);
  /* decrypt without an IV source */
  r.desc[0].flags = 0;
  assert_int_equal(ocf_dispatch(&r), EINVAL);
  /* algorithm not in the session */
  r.desc[0] = (struct ocf_desc){.alg = OCF_ALG_SHA1, .len = 16, .inject = 32};
  assert_int_equal(ocf_dispatch(&r), EINVAL);
  /* descriptor count */
  r.ndesc = 0;
  assert_int_equal(ocf_dispatch(&r), EINVAL);
  r.ndesc = OCF_MAX_DESC + 1;
  assert_int_equal(ocf_dispatch(&r), EINVAL);
  r.ndesc = 1;
  r.desc[0] = (struct ocf_desc){.alg = OCF_ALG_AES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT,
                                .len = 64};
  /* no callback; NULL request; bad buffer */
  r.callback = NULL;
  assert_int_equal(ocf_dispatch(&r), EINVAL);
  r.callback = noop_cb;
  assert_int_equal(ocf_dispatch(NULL), EINVAL);
  r.buf = ocf_buf_contig(NULL, 64);
  assert_int_equal(ocf_dispatch(&r), EINVAL);
  r.buf = ocf_buf_contig(buf, sizeof(buf));
  /* it works once fixed */
  assert_int_equal(ocf_run(&r), 0);
  /* unknown and already-freed session ids */
  assert_int_equal(ocf_freesession(sid), 0);
  assert_int_equal(ocf_freesession(sid), ENOENT);
  assert_int_equal(ocf_dispatch(&r), ENOENT);
  r.sid = 0x123456789ULL;
  assert_int_equal(ocf_run(&r), ENOENT);
  assert_int_equal(ocf_freesession(0), ENOENT);
  /* a request still carries its error text */
  assert_true(strlen(ocf_strerror(EAGAIN)) > 0);
}

struct flight {
  atomic_int done;
  atomic_int errors;
};
static void flight_cb(struct ocf_req *r) {
  struct flight *f = r->opaque;
  if (r->error) atomic_fetch_add(&f->errors, 1);
  atomic_fetch_add(&f->done, 1);
}

static void wait_for(atomic_int *v, int n) {
  for (int i = 0; i < 20000 && atomic_load(v) < n; i++) usleep(500);
  assert_int_equal(atomic_load(v), n);
}

static void test_free_with_requests_in_flight(void **state) {
  struct testdrv *t =
      testdrv_attach(&(struct testdrv_opts){.name = "hangcard", .hardware = 1, .async = 1});
  int err;
  ocf_sid_t sid = new_cbc(0, &err);
  assert_int_equal(err, 0);
  assert_int_equal(OCF_SID_DRIVER(sid), testdrv_hid(t));
  testdrv_hang(t, 1);
  uint8_t buf[4][32];
  struct ocf_req r[4];
  struct flight f = {0};
  for (int i = 0; i < 4; i++) {
    r[i] = (struct ocf_req){.sid = sid, .buf = ocf_buf_contig(buf[i], 32), .ndesc = 1,
                            .callback = flight_cb, .opaque = &f};
    r[i].desc[0] = (struct ocf_desc){.alg = OCF_ALG_AES_CBC,
                                     .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = 32};
    assert_int_equal(ocf_dispatch(&r[i]), 0);
  }
  /* resubmitting an in-flight request is refused */
  assert_int_equal(ocf_dispatch(&r[0]), EINVAL);
  assert_int_equal(ocf_freesession(sid), EBUSY);
  assert_non_null(strstr(ocf_errdetail(), "in flight"));
  testdrv_hang(t, 0);
  wait_for(&f.done, 4);
  assert_int_equal(f.errors, 0);
  assert_int_equal(ocf_freesession(sid), 0);
  testdrv_detach(t);
}

/* A full ring answers busy: the framework holds requests and releases them
 * when the producer unblocks; all complete, in order of acceptance. */
static void test_busy_producer(void **state) {
  struct testdrv *t = testdrv_attach(
      &(struct testdrv_opts){.name = "tinyring", .hardware = 1, .async = 1, .ring = 4});
  int err;
  ocf_sid_t sid = new_cbc(0, &err);
  assert_int_equal(OCF_SID_DRIVER(sid), testdrv_hid(t));
  enum { N = 200 };
  static uint8_t buf[N][64], want[N][64];
  static struct ocf_req r[N];
  struct flight f = {0};
  for (int i = 0; i < N; i++) {
    RAND_bytes(buf[i], 64);
    uint8_t iv[16] = {(uint8_t)i};
    ref_cbc(iv, buf[i], want[i], 64, 1);
    r[i] = (struct ocf_req){.sid = sid, .buf = ocf_buf_contig(buf[i], 64), .ndesc = 1,
                            .callback = flight_cb, .opaque = &f};
    r[i].desc[0] = (struct ocf_desc){.alg = OCF_ALG_AES_CBC,
                                     .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = 64};
    memcpy(r[i].desc[0].iv, iv, 16);
  }
  struct ocf_req *p[N];
  for (int i = 0; i < N; i++) p[i] = &r[i];
  assert_int_equal(ocf_dispatch_batch(p, N, &err), N);
  assert_int_equal(err, 0);
  wait_for(&f.done, N);
  assert_int_equal(f.errors, 0);
  for (int i = 0; i < N; i++) assert_memory_equal(buf[i], want[i], 64);
  struct ocf_driver_stat st[8];
  int n = ocf_driver_stats(st, 8), found = 0;
  for (int i = 0; i < n && i < 8; i++)
    if (st[i].hid == testdrv_hid(t)) {
      found = 1;
      assert_int_equal(st[i].requests, N);
      assert_int_equal(st[i].bytes, N * 64);
      assert_int_equal(st[i].queued, 0);
      assert_true(st[i].p50_us > 0 && st[i].p99_us >= st[i].p50_us);
    }
  assert_true(found);
  assert_int_equal(ocf_freesession(sid), 0);
  testdrv_detach(t);
}

/* Withdrawing one algorithm moves its sessions on their next request. */
static void test_unregister_alg_migrates(void **state) {
  struct testdrv *t = testdrv_attach(&(struct testdrv_opts){.name = "cardX", .hardware = 1});
  int err;
  ocf_sid_t sid = new_cbc(0, &err);
  assert_int_equal(OCF_SID_DRIVER(sid), testdrv_hid(t));
  uint8_t buf[32] = {0}, want[32], iv[16] = {9};
  ref_cbc(iv, buf, want, 32, 1);
  assert_int_equal(ocf_unregister(testdrv_hid(t), OCF_ALG_AES_CBC), 0);
  struct flight f = {0};
  struct ocf_req r = {.sid = sid, .buf = ocf_buf_contig(buf, 32), .ndesc = 1,
                      .callback = flight_cb, .opaque = &f};
  r.desc[0] = (struct ocf_desc){.alg = OCF_ALG_AES_CBC,
                                .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = 32};
  memcpy(r.desc[0].iv, iv, 16);
  assert_int_equal(ocf_dispatch(&r), 0);
  wait_for(&f.done, 1);
  assert_int_equal(r.error, EAGAIN);
  assert_int_not_equal(r.sid, sid);
  char name[32];
  driver_of(r.sid, name);
  assert_string_equal(name, "soft");
  /* the old id still answers, pointing at the new one */
  ocf_sid_t newsid = r.sid;
  r.sid = sid;
  assert_int_equal(ocf_dispatch(&r), 0);
  wait_for(&f.done, 2);
  assert_int_equal(r.error, EAGAIN);
  assert_int_equal(r.sid, newsid);
  assert_int_equal(ocf_run(&r), 0);
  assert_memory_equal(buf, want, 32);
  struct ocf_driver_stat st[8];
  int n = ocf_driver_stats(st, 8);
  int found = 0;
  for (int i = 0; i < n; i++)
    if (st[i].hid == testdrv_hid(t)) found = (int)st[i].migrations;
  assert_int_equal(found, 1);
  assert_int_equal(ocf_freesession(sid), 0); /* any of its ids frees it */
  assert_int_equal(ocf_freesession(newsid), ENOENT);
  testdrv_detach(t);
}

/* --- migration under load ------------------------------------------------ */

#define WIN 32
struct mig_thread {
  pthread_t thr;
  ocf_sid_t sid;
  int total;
  atomic_int submitted, completed, eagain, bad;
  unsigned char *seen; /* completions per request index */
  struct mig_slot {
    struct ocf_req req;
    uint8_t buf[96];
    uint8_t want[96];
    int idx;
    struct mig_thread *mt;
  } slot[WIN];
  pthread_mutex_t m;
  pthread_cond_t cv;
};

static void mig_fill(struct mig_slot *s, int idx) {
  uint8_t iv[16];
  s->idx = idx;
  RAND_bytes(s->buf, sizeof(s->buf));
  RAND_bytes(iv, 16);
  ref_cbc(iv, s->buf, s->want, sizeof(s->buf), 1);
  s->req.buf = ocf_buf_contig(s->buf, sizeof(s->buf));
  s->req.ndesc = 1;
  s->req.desc[0] = (struct ocf_desc){.alg = OCF_ALG_AES_CBC,
                                     .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT,
                                     .len = sizeof(s->buf)};
  memcpy(s->req.desc[0].iv, iv, 16);
}

static void mig_cb(struct ocf_req *r) {
  struct mig_slot *s = r->opaque;
  struct mig_thread *mt = s->mt;
  if (r->error == EAGAIN) {
    atomic_fetch_add(&mt->eagain, 1);
    if (ocf_dispatch(r) != 0) atomic_fetch_add(&mt->bad, 1); /* r->sid is the new id */
    return;
  }
  if (r->error != 0 || memcmp(s->buf, s->want, sizeof(s->buf)) != 0) atomic_fetch_add(&mt->bad, 1);
  mt->seen[s->idx]++;
  atomic_fetch_add(&mt->completed, 1);
  int next = atomic_fetch_add(&mt->submitted, 1);
  if (next < mt->total) {
    ocf_sid_t sid = r->sid;
    mig_fill(s, next);
    r->sid = sid;
    if (ocf_dispatch(r) != 0) atomic_fetch_add(&mt->bad, 1);
  } else {
    pthread_mutex_lock(&mt->m);
    pthread_cond_signal(&mt->cv);
    pthread_mutex_unlock(&mt->m);
  }
}

static void *mig_main(void *arg) {
  struct mig_thread *mt = arg;
  for (int i = 0; i < WIN; i++) {
    struct mig_slot *s = &mt->slot[i];
    s->mt = mt;
    int idx = atomic_fetch_add(&mt->submitted, 1);
    mig_fill(s, idx);
    s->req.sid = mt->sid;
    s->req.callback = mig_cb;
    s->req.opaque = s;
    if (ocf_dispatch(&s->req) != 0) atomic_fetch_add(&mt->bad, 1);
  }
  pthread_mutex_lock(&mt->m);
  while (atomic_load(&mt->completed) < mt->total) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 1;
    pthread_cond_timedwait(&mt->cv, &mt->m, &ts);
  }
  pthread_mutex_unlock(&mt->m);
  return NULL;
}

static void test_migration_under_load(void **state) {
  enum { NT = 4 };
  int per = 6000 / scale();
  struct testdrv *t = testdrv_attach(
      &(struct testdrv_opts){.name = "ejectable", .hardware = 1, .async = 1, .ring = 64});
  static struct mig_thread mt[NT];
  for (int i = 0; i < NT; i++) {
    memset(&mt[i], 0, sizeof(mt[i]));
    int err;
    mt[i].sid = new_cbc(0, &err);
    assert_int_equal(err, 0);
    assert_int_equal(OCF_SID_DRIVER(mt[i].sid), testdrv_hid(t));
    mt[i].total = per;
    mt[i].seen = calloc((size_t)per + WIN, 1);
    pthread_mutex_init(&mt[i].m, NULL);
    pthread_cond_init(&mt[i].cv, NULL);
    pthread_create(&mt[i].thr, NULL, mig_main, &mt[i]);
  }
  /* Eject the card once a good part of the work has gone through it. */
  while (testdrv_processed(t) < (unsigned long)(NT * per / 4)) usleep(200);
  ocf_unregister_all(testdrv_hid(t));
  unsigned long on_card = testdrv_processed(t);
  int eagain = 0;
  for (int i = 0; i < NT; i++) {
    pthread_join(mt[i].thr, NULL);
    assert_int_equal(atomic_load(&mt[i].bad), 0);
    assert_int_equal(atomic_load(&mt[i].completed), per);
    for (int k = 0; k < per; k++) assert_int_equal(mt[i].seen[k], 1); /* exactly once */
    eagain += atomic_load(&mt[i].eagain);
    free(mt[i].seen);
    pthread_mutex_destroy(&mt[i].m);
    pthread_cond_destroy(&mt[i].cv);
  }
  print_message("migration: %d requests, %lu on the card before ejection, %d EAGAIN resubmits\n",
                NT * per, on_card, eagain);
  assert_true(on_card < (unsigned long)(NT * per)); /* the rest went to software */
  assert_true(eagain >= NT);                        /* every session moved */
  /* sessions live on in software; free them with the ids the requests hold */
  for (int i = 0; i < NT; i++) {
    char name[32];
    driver_of(mt[i].slot[0].req.sid, name);
    assert_string_equal(name, "soft");
    assert_int_equal(ocf_freesession(mt[i].sid), 0);
  }
  testdrv_detach(t);
}

/* --- public key path ---------------------------------------------------- */

static void kcb_noop(struct ocf_kreq *k) { (void)k; }

static void test_kdispatch_path(void **state) {
  uint8_t b[1] = {3}, e[1] = {5}, m[1] = {7}, out[1] = {0};
  struct ocf_kreq k = {.op = OCF_KOP_MOD_EXP, .iparams = 3, .oparams = 1};
  k.param[0] = (struct ocf_kparam){b, 8};
  k.param[1] = (struct ocf_kparam){e, 8};
  k.param[2] = (struct ocf_kparam){m, 8};
  k.param[3] = (struct ocf_kparam){out, 8};
  /* nothing registered the operation yet (software public key is another issue) */
  int before = ocf_krun(&k);
  assert_true(before == ENODEV || before == 0);
  struct testdrv *t =
      testdrv_attach(&(struct testdrv_opts){.name = "pkcard", .hardware = 1, .async = 1, .with_kops = 1});
  assert_int_equal(ocf_krun(&k), 0);
  assert_int_equal(out[0], 5); /* 3^5 mod 7 = 243 mod 7 = 5 */
  assert_int_equal(k.hid, testdrv_hid(t));
  assert_int_equal(ocf_kdispatch(&k), EINVAL); /* no callback */
  k.callback = kcb_noop;
  k.op = (enum ocf_kop)99;
  assert_int_equal(ocf_kdispatch(&k), ENOTSUP);
  k.op = OCF_KOP_MOD_EXP;
  k.iparams = 8;
  assert_int_equal(ocf_kdispatch(&k), EINVAL);
  k.iparams = 3;
  k.param[1].p = NULL;
  assert_int_equal(ocf_kdispatch(&k), EINVAL);
  testdrv_detach(t);
}

/* A producer that computes wrong answers fails its registration self-test
 * (a NIST vector run through its own process()) and gets no traffic. */
static void test_selftest_refuses_broken(void **state) {
  struct testdrv *t =
      testdrv_attach(&(struct testdrv_opts){.name = "broken", .hardware = 1, .async = 1, .broken = 1});
  int err;
  assert_int_equal(new_cbc(OCF_SESS_HWONLY, &err), 0);
  assert_int_equal(err, ENODEV);
  ocf_sid_t sid = new_cbc(0, &err); /* software serves it instead */
  assert_int_equal(err, 0);
  char name[32];
  driver_of(sid, name);
  assert_string_equal(name, "soft");
  assert_int_equal(ocf_freesession(sid), 0);
  enum ocf_alg failed[8];
  int n = 0;
  assert_int_equal(ocf_driver_failed_algs(testdrv_hid(t), failed, 8, &n), 0);
  assert_int_equal(n, 2); /* NULL and AES-CBC */
  assert_int_equal(ocf_driver_algs(testdrv_hid(t), NULL, NULL, 0, &n), 0);
  assert_int_equal(n, 0);
  /* the same producer, honest, passes */
  struct testdrv *ok = testdrv_attach(&(struct testdrv_opts){.name = "honest", .hardware = 1, .async = 1});
  assert_int_equal(ocf_driver_failed_algs(testdrv_hid(ok), failed, 8, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(ocf_driver_algs(testdrv_hid(ok), NULL, NULL, 0, &n), 0);
  assert_int_equal(n, 2);
  testdrv_detach(ok);
  testdrv_detach(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_registry_errors),
      cmocka_unit_test(test_hardware_preferred),
      cmocka_unit_test(test_fewest_sessions),
      cmocka_unit_test(test_concurrent_placement),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_free_with_requests_in_flight),
      cmocka_unit_test(test_busy_producer),
      cmocka_unit_test(test_unregister_alg_migrates),
      cmocka_unit_test(test_migration_under_load),
      cmocka_unit_test(test_kdispatch_path),
      cmocka_unit_test(test_selftest_refuses_broken),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
