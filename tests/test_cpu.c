/* test_cpu.c - the dedicated-core producer: results against the reference
 * interpreter for every buffer layout, AEAD tag failures, a deep window of
 * requests that overflows its ring (busy / unblock), pinning, detach. */
#include <errno.h>
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

#include "../src/drivers/cpu/cpu.h"
#include "ref.h"

static uint32_t cpu_hid;

static int setup(void **state) {
  (void)state;
  if (ref_init() != 0) return -1;
  struct ocf_init_opts o = {.no_soft = 1};
  if (ocf_init(&o) != 0) return -1;
  return ocf_cpu_attach(2, 0, &cpu_hid);
}

static int teardown(void **state) {
  (void)state;
  ocf_cpu_detach(cpu_hid);
  ocf_shutdown();
  return 0;
}

static const uint8_t key[64] = {
    0x60, 0x3d, 0xeb, 0x10, 0x15, 0xca, 0x71, 0xbe, 0x2b, 0x73, 0xae, 0xf0, 0x85, 0x7d, 0x77, 0x81,
    0x1f, 0x35, 0x2c, 0x07, 0x3b, 0x61, 0x08, 0xd7, 0x2d, 0x98, 0x10, 0xa3, 0x09, 0x14, 0xdf, 0xf4,
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
    0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20};

struct kase {
  struct ocf_sessparam p[2];
  int np;
  struct ocf_desc d[2];
  int nd;
  size_t len;
};

static void run_case(struct kase *k, enum ocf_buf_type type, int sep, struct ref_rng *rng) {
  for (int i = 0; i + 1 < k->np; i++) k->p[i].next = &k->p[i + 1];
  k->p[k->np - 1].next = NULL;
  ocf_sid_t sid;
  assert_int_equal(ocf_newsession(&sid, k->p, 0), 0);
  char drv[32];
  assert_int_equal(ocf_session_driver(sid, drv, sizeof(drv)), 0);
  assert_string_equal(drv, "cpu");
  uint8_t *flat = malloc(k->len), *want = malloc(k->len), *got = malloc(k->len),
          *oflat = malloc(k->len);
  ref_fill(rng, flat, k->len);
  ref_fill(rng, oflat, k->len);
  size_t cuts[8];
  size_t nc = ref_cuts_uneven(rng, k->len, cuts, 8);
  struct ref_buf in, out;
  assert_int_equal(ref_buf_build(&in, type, flat, k->len, cuts, nc, 1), 0);
  if (sep) assert_int_equal(ref_buf_build(&out, type, oflat, k->len, cuts, nc, 1), 0);
  struct ocf_req r = {.sid = sid, .buf = in.b, .ndesc = k->nd};
  if (sep) r.out = out.b;
  memcpy(r.desc, k->d, sizeof(k->d[0]) * (size_t)k->nd);
  assert_int_equal(ocf_run(&r), 0);
  uint8_t gen[OCF_MAX_DESC][OCF_MAX_IV];
  for (int i = 0; i < k->nd; i++) memcpy(gen[i], r.desc[i].iv, OCF_MAX_IV);
  memcpy(want, flat, k->len);
  size_t olen;
  assert_int_equal(
      ref_apply(k->p, want, k->len, k->d, k->nd, (const uint8_t(*)[OCF_MAX_IV])gen, &olen), 0);
  if (sep) {
    size_t lo, hi;
    ref_hull(k->p, k->d, k->nd, &lo, &hi);
    memcpy(oflat + lo, want + lo, hi - lo);
    ref_buf_flatten(&out, got);
    if (memcmp(got, oflat, k->len) != 0) ref_hexdiff("separate output", got, oflat, k->len);
    assert_memory_equal(got, oflat, k->len);
    assert_true(ref_buf_guards_ok(&out));
    ref_buf_free(&out);
  } else {
    ref_buf_flatten(&in, got);
    if (memcmp(got, want, k->len) != 0) ref_hexdiff("in place", got, want, k->len);
    assert_memory_equal(got, want, k->len);
  }
  assert_true(ref_buf_guards_ok(&in));
  ref_buf_free(&in);
  assert_int_equal(ocf_freesession(sid), 0);
  free(flat);
  free(want);
  free(got);
  free(oflat);
}

static void test_outputs(void **state) {
  struct ref_rng rng;
  ref_rng_seed(&rng, ref_seed());
  static const enum ocf_buf_type types[] = {OCF_BUF_CONTIG, OCF_BUF_IOVEC, OCF_BUF_MBUF};
  for (int t = 0; t < 3; t++) {
    for (int sep = 0; sep < 2; sep++) {
      /* AES-128-GCM: AAD, generated IV, tag */
      struct kase k = {.np = 1, .nd = 1, .len = 1100};
      k.p[0] = (struct ocf_sessparam){.alg = OCF_ALG_AES_GCM, .key = key, .keylen = 16};
      k.d[0] = (struct ocf_desc){.alg = OCF_ALG_AES_GCM,
                                 .flags = OCF_D_ENCRYPT,
                                 .skip = 40,
                                 .len = 1037,
                                 .iv_off = 20,
                                 .aad_skip = 0,
                                 .aad_len = 20,
                                 .inject = 1080};
      run_case(&k, types[t], sep, &rng);
      /* ChaCha20-Poly1305, explicit nonce */
      k.p[0] = (struct ocf_sessparam){.alg = OCF_ALG_CHACHA20_POLY1305, .key = key, .keylen = 32};
      k.d[0] = (struct ocf_desc){.alg = OCF_ALG_CHACHA20_POLY1305,
                                 .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT,
                                 .skip = 8,
                                 .len = 999,
                                 .aad_len = 8,
                                 .inject = 1010};
      memset(k.d[0].iv, 7, 12);
      run_case(&k, types[t], sep, &rng);
      /* AES-256-CTR */
      k.p[0] = (struct ocf_sessparam){.alg = OCF_ALG_AES_CTR, .key = key, .keylen = 32};
      k.d[0] = (struct ocf_desc){.alg = OCF_ALG_AES_CTR,
                                 .flags = OCF_D_ENCRYPT | OCF_D_IV_PRESENT,
                                 .skip = 16,
                                 .len = 1001};
      run_case(&k, types[t], sep, &rng);
      /* SHA2-384 hash */
      k.p[0] = (struct ocf_sessparam){.alg = OCF_ALG_SHA2_384};
      k.d[0] = (struct ocf_desc){.alg = OCF_ALG_SHA2_384, .len = 1000, .inject = 1050};
      run_case(&k, types[t], sep, &rng);
      /* AES-192-CBC then HMAC-SHA2-256-128 */
      k.np = k.nd = 2;
      k.p[0] = (struct ocf_sessparam){.alg = OCF_ALG_AES_CBC, .key = key, .keylen = 24};
      k.p[1] = (struct ocf_sessparam){
          .alg = OCF_ALG_HMAC_SHA2_256, .key = key + 32, .keylen = 32, .maclen = 16};
      k.d[0] = (struct ocf_desc){
          .alg = OCF_ALG_AES_CBC, .flags = OCF_D_ENCRYPT, .skip = 16, .len = 1024, .iv_off = 0};
      k.d[1] = (struct ocf_desc){.alg = OCF_ALG_HMAC_SHA2_256, .len = 1040, .inject = 1040};
      k.len = 1056;
      run_case(&k, types[t], sep, &rng);
      /* 3DES-CBC (legacy-free) and AES-XTS */
      k.np = k.nd = 1;
      k.p[0] = (struct ocf_sessparam){.alg = OCF_ALG_3DES_CBC, .key = key, .keylen = 24};
      k.d[0] = (struct ocf_desc){
          .alg = OCF_ALG_3DES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = 1048};
      run_case(&k, types[t], sep, &rng);
      k.p[0] = (struct ocf_sessparam){.alg = OCF_ALG_AES_XTS, .key = key, .keylen = 64};
      k.d[0] = (struct ocf_desc){
          .alg = OCF_ALG_AES_XTS, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = 1037};
      memset(k.d[0].iv, 3, 16);
      run_case(&k, types[t], sep, &rng);
    }
  }
}

static void test_bad_tag(void **state) {
  struct ocf_sessparam p = {.alg = OCF_ALG_AES_GCM, .key = key, .keylen = 16};
  ocf_sid_t sid;
  assert_int_equal(ocf_newsession(&sid, &p, 0), 0);
  uint8_t buf[96], plain[64];
  for (int i = 0; i < 96; i++) buf[i] = (uint8_t)i;
  memcpy(plain, buf + 16, 64);
  struct ocf_req r = {.sid = sid, .buf = ocf_buf_contig(buf, sizeof(buf)), .ndesc = 1};
  r.desc[0] = (struct ocf_desc){.alg = OCF_ALG_AES_GCM,
                                .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT,
                                .skip = 16,
                                .len = 64,
                                .aad_len = 16,
                                .inject = 80};
  assert_int_equal(ocf_run(&r), 0);
  r.desc[0].flags &= ~OCF_D_ENCRYPT;
  buf[3] ^= 1; /* AAD */
  assert_int_equal(ocf_run(&r), EBADMSG);
  for (int i = 16; i < 80; i++) assert_int_equal(buf[i], 0); /* no plaintext released */
  assert_int_equal(ocf_freesession(sid), 0);
}

/* A window deeper than the producer's ring: it answers busy, then unblocks. */
struct win {
  atomic_int done, bad, next;
  int total;
  pthread_mutex_t m;
  pthread_cond_t cv;
  uint8_t want[64];
};

struct wslot {
  struct ocf_req req;
  struct win *w;
  uint8_t buf[64];
};

static void wfill(struct wslot *s) {
  memset(s->buf, 0x42, sizeof(s->buf));
  s->req.buf = ocf_buf_contig(s->buf, sizeof(s->buf));
  s->req.ndesc = 1;
  s->req.desc[0] = (struct ocf_desc){
      .alg = OCF_ALG_AES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = 64};
}

static void wcb(struct ocf_req *r) {
  struct wslot *s = r->opaque;
  struct win *w = s->w;
  if (r->error != 0 || memcmp(s->buf, w->want, 64) != 0) atomic_fetch_add(&w->bad, 1);
  int done = atomic_fetch_add(&w->done, 1) + 1;
  if (atomic_fetch_add(&w->next, 1) < w->total) {
    wfill(s);
    if (ocf_dispatch(r) != 0) atomic_fetch_add(&w->bad, 1);
  }
  if (done == w->total) {
    pthread_mutex_lock(&w->m);
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->m);
  }
}

static void test_deep_window(void **state) {
  enum { NSLOT = 6000 };
  static struct win w;
  static struct wslot slots[NSLOT];
  memset(&w, 0, sizeof(w));
  w.total = 60000 / ref_scale();
  if (w.total < NSLOT) w.total = NSLOT;
  pthread_mutex_init(&w.m, NULL);
  pthread_cond_init(&w.cv, NULL);
  struct ocf_sessparam p = {.alg = OCF_ALG_AES_CBC, .key = key, .keylen = 16};
  uint8_t plain[64], iv[16] = {0};
  memset(plain, 0x42, 64);
  assert_int_equal(ref_cipher(OCF_ALG_AES_CBC, key, 16, iv, 16, 1, plain, 64, w.want), 0);
  ocf_sid_t sid;
  assert_int_equal(ocf_newsession(&sid, &p, 0), 0);
  for (int i = 0; i < NSLOT; i++) {
    slots[i].w = &w;
    wfill(&slots[i]);
    slots[i].req.sid = sid;
    slots[i].req.callback = wcb;
    slots[i].req.opaque = &slots[i];
    atomic_fetch_add(&w.next, 1);
  }
  struct ocf_req *all[NSLOT];
  for (int i = 0; i < NSLOT; i++) all[i] = &slots[i].req;
  assert_int_equal(ocf_dispatch_batch(all, NSLOT, NULL), NSLOT);
  pthread_mutex_lock(&w.m);
  for (int waited = 0; atomic_load(&w.done) < w.total && waited < 60; waited++) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 1;
    pthread_cond_timedwait(&w.cv, &w.m, &ts);
  }
  pthread_mutex_unlock(&w.m);
  assert_int_equal(atomic_load(&w.done), w.total);
  assert_int_equal(atomic_load(&w.bad), 0);
  assert_int_equal(ocf_freesession(sid), 0);
  pthread_mutex_destroy(&w.m);
  pthread_cond_destroy(&w.cv);
}

static void test_pinned_instance(void **state) {
  uint32_t hid;
  assert_int_equal(ocf_cpu_attach(-1, 0, &hid), EINVAL);
  assert_int_equal(ocf_cpu_attach(1, 0, NULL), EINVAL);
  assert_int_equal(ocf_cpu_attach(3, 1, &hid), 0);
  assert_int_not_equal(hid, cpu_hid);
  ocf_cpu_detach(cpu_hid); /* the first instance goes; sessions land on the new one */
  struct ocf_sessparam p = {.alg = OCF_ALG_SHA2_256};
  ocf_sid_t sid;
  assert_int_equal(ocf_newsession(&sid, &p, 0), 0);
  assert_int_equal(OCF_SID_DRIVER(sid), hid);
  uint8_t buf[3 + 32] = {'a', 'b', 'c'};
  struct ocf_req r = {.sid = sid, .buf = ocf_buf_contig(buf, sizeof(buf)), .ndesc = 1};
  r.desc[0] = (struct ocf_desc){.alg = OCF_ALG_SHA2_256, .len = 3, .inject = 3};
  assert_int_equal(ocf_run(&r), 0);
  static const uint8_t abc[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
                                  0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
                                  0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
  assert_memory_equal(buf + 3, abc, 32); /* FIPS 180-2 example "abc" */
  assert_int_equal(ocf_freesession(sid), 0);
  ocf_cpu_detach(12345); /* unknown: ignored */
  cpu_hid = hid;         /* teardown detaches it */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_outputs),
      cmocka_unit_test(test_bad_tag),
      cmocka_unit_test(test_deep_window),
      cmocka_unit_test(test_pinned_instance),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
