/* test_nonce.c - nonces the framework generates for AES-GCM, AES-CCM and
 * ChaCha20-Poly1305: no repeat across many sessions and requests (on the
 * software and the cpu producer, and across a migration between them), the
 * fixed-field + counter layout, refusal for nonces shorter than 8 bytes,
 * and refusal (not a wrap) when a session's counter space is spent. */
#include <errno.h>
#include <openssl/evp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
// clang-format off
#include <cmocka.h>
// clang-format on

#include <ocf/devices.h>

#include "../src/core/sessx.h"
#include "ref.h"

static const uint8_t key[32] = "0123456789abcdef0123456789abcdef";

static int open_aead(enum ocf_alg alg, size_t ivlen, ocf_sid_t *sid) {
  struct ocf_sessparam sp = {
      .alg = alg, .key = key, .keylen = alg == OCF_ALG_AES_CCM ? 16 : 32, .ivlen = ivlen};
  if (alg == OCF_ALG_AES_GCM) sp.keylen = 16;
  return ocf_newsession(sid, &sp, 0);
}

/* [nonce | data 32 | tag 16]; encrypts with a generated nonce, checks that
 * the nonce written in the buffer is desc.iv and that OpenSSL decrypts the
 * result with it.  Returns the request's error. */
static int seal(ocf_sid_t *sid, enum ocf_alg alg, size_t ivlen, uint8_t *nonce) {
  uint8_t b[OCF_MAX_IV + 48], pt[32];
  memset(pt, 0x5a, sizeof(pt));
  memcpy(b + ivlen, pt, sizeof(pt));
  struct ocf_req r;
  memset(&r, 0, sizeof(r));
  r.sid = *sid;
  r.buf = ocf_buf_contig(b, ivlen + 48);
  r.ndesc = 1;
  r.desc[0] = (struct ocf_desc){.alg = alg,
                                .flags = OCF_D_ENCRYPT,
                                .iv_off = 0,
                                .skip = ivlen,
                                .len = 32,
                                .inject = ivlen + 32};
  int rc = ocf_run(&r);
  *sid = r.sid;
  if (rc != 0) return rc;
  assert_memory_equal(b, r.desc[0].iv, ivlen);
  memcpy(nonce, b, ivlen);
  uint8_t back[32];
  size_t kl = alg == OCF_ALG_CHACHA20_POLY1305 ? 32 : 16;
  assert_int_equal(
      ref_aead(alg, key, kl, b, ivlen, NULL, 0, 0, b + ivlen, 32, back, b + ivlen + 32, 16), 0);
  assert_memory_equal(back, pt, sizeof(pt));
  return 0;
}

static int cmp_nonce(const void *a, const void *b) { return memcmp(a, b, 12); }

/* sessions x requests on whatever producers are attached: all distinct */
static void many(int nsess, int nreq) {
  static const enum ocf_alg algs[] = {OCF_ALG_AES_GCM, OCF_ALG_AES_CCM, OCF_ALG_CHACHA20_POLY1305};
  uint8_t(*all)[12] = malloc((size_t)nsess * (size_t)nreq * 12);
  assert_non_null(all);
  for (size_t a = 0; a < 3; a++) {
    size_t n = 0;
    for (int s = 0; s < nsess; s++) {
      ocf_sid_t sid;
      assert_int_equal(open_aead(algs[a], 12, &sid), 0);
      uint8_t first[12];
      for (int k = 0; k < nreq; k++) {
        assert_int_equal(seal(&sid, algs[a], 12, all[n]), 0);
        /* 4-byte fixed field, then a big-endian counter from 0 */
        if (k == 0) memcpy(first, all[n], 12);
        assert_memory_equal(all[n], first, 4);
        uint64_t ctr = 0;
        for (int i = 4; i < 12; i++) ctr = ctr << 8 | all[n][i];
        assert_int_equal(ctr, (uint64_t)k);
        n++;
      }
      assert_int_equal(ocf_freesession(sid), 0);
    }
    qsort(all, n, 12, cmp_nonce);
    for (size_t i = 1; i < n; i++) assert_true(memcmp(all[i - 1], all[i], 12) != 0);
  }
  free(all);
}

static void t_soft(void **state) {
  (void)state;
  assert_int_equal(ocf_init(NULL), 0);
  many(40, 50);
  ocf_shutdown();
}

static void t_cpu(void **state) {
  (void)state;
  struct ocf_init_opts o = {.no_soft = 1};
  uint32_t hid;
  assert_int_equal(ocf_init(&o), 0);
  assert_int_equal(ocf_cpu_attach(2, 0, &hid), 0);
  many(20, 50);
  ocf_cpu_detach(hid);
  ocf_shutdown();
}

/* The counter is the framework session's: after the cpu producer goes
 * away the session continues on soft without reusing a nonce. */
static void t_migrate(void **state) {
  (void)state;
  uint32_t hid;
  assert_int_equal(ocf_init(NULL), 0);
  assert_int_equal(ocf_cpu_attach(1, 0, &hid), 0);
  ocf_sid_t sid;
  char drv[32];
  for (;;) { /* the sessions policy spreads sessions: take one on cpu */
    assert_int_equal(open_aead(OCF_ALG_AES_GCM, 12, &sid), 0);
    assert_int_equal(ocf_session_driver(sid, drv, sizeof(drv)), 0);
    if (strcmp(drv, "soft") != 0) break;
  }
  uint8_t n[20][12];
  for (int k = 0; k < 10; k++) assert_int_equal(seal(&sid, OCF_ALG_AES_GCM, 12, n[k]), 0);
  ocf_cpu_detach(hid);
  for (int k = 10; k < 20; k++) assert_int_equal(seal(&sid, OCF_ALG_AES_GCM, 12, n[k]), 0);
  assert_int_equal(ocf_session_driver(sid, drv, sizeof(drv)), 0);
  assert_string_equal(drv, "soft");
  for (int k = 0; k < 20; k++) {
    assert_memory_equal(n[k], n[0], 4);
    assert_int_equal(n[k][11], k);
  }
  assert_int_equal(ocf_freesession(sid), 0);
  ocf_shutdown();
}

static void t_limits(void **state) {
  (void)state;
  assert_int_equal(ocf_init(NULL), 0);
  uint8_t nonce[OCF_MAX_IV];
  ocf_sid_t sid;
  /* too short to carry a fixed field and a 32-bit counter: refused up front */
  static const struct {
    enum ocf_alg alg;
    size_t ivlen;
  } shortn[] = {{OCF_ALG_AES_GCM, 1}, {OCF_ALG_AES_GCM, 7}, {OCF_ALG_AES_CCM, 7}};
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(open_aead(shortn[i].alg, shortn[i].ivlen, &sid), 0);
    assert_int_equal(seal(&sid, shortn[i].alg, shortn[i].ivlen, nonce), EINVAL);
    assert_int_equal(ocf_freesession(sid), 0);
  }
  /* 8 bytes: 4 fixed + 4 counter; 13-byte CCM: 5 fixed + 8 counter;
   * 16-byte GCM: 8 fixed + 8 counter */
  static const struct {
    enum ocf_alg alg;
    size_t ivlen;
  } okn[] = {{OCF_ALG_AES_GCM, 8}, {OCF_ALG_AES_CCM, 13}, {OCF_ALG_AES_GCM, 16}};
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(open_aead(okn[i].alg, okn[i].ivlen, &sid), 0);
    uint8_t first[OCF_MAX_IV];
    assert_int_equal(seal(&sid, okn[i].alg, okn[i].ivlen, first), 0);
    assert_int_equal(seal(&sid, okn[i].alg, okn[i].ivlen, nonce), 0);
    size_t clen = okn[i].ivlen - 4 < 8 ? okn[i].ivlen - 4 : 8;
    assert_memory_equal(first, nonce, okn[i].ivlen - clen);
    assert_int_equal(nonce[okn[i].ivlen - 1], 1);
    /* exhaustion: a few more, then EOVERFLOW for ever, not a wrap */
    assert_int_equal(ocf_test_nonce_limit(sid, 3), 0);
    for (int k = 0; k < 3; k++) assert_int_equal(seal(&sid, okn[i].alg, okn[i].ivlen, nonce), 0);
    assert_int_equal(nonce[okn[i].ivlen - 1], 4);
    for (int k = 0; k < 3; k++)
      assert_int_equal(seal(&sid, okn[i].alg, okn[i].ivlen, nonce), EOVERFLOW);
    assert_int_equal(ocf_freesession(sid), 0);
  }
  /* a consumer's own nonce is not limited by the counter */
  assert_int_equal(open_aead(OCF_ALG_AES_GCM, 12, &sid), 0);
  assert_int_equal(ocf_test_nonce_limit(sid, 0), 0);
  assert_int_equal(seal(&sid, OCF_ALG_AES_GCM, 12, nonce), EOVERFLOW);
  uint8_t b[64];
  struct ocf_req r;
  memset(&r, 0, sizeof(r));
  r.sid = sid;
  r.buf = ocf_buf_contig(b, sizeof(b));
  r.ndesc = 1;
  r.desc[0] = (struct ocf_desc){
      .alg = OCF_ALG_AES_GCM, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = 32, .inject = 32};
  assert_int_equal(ocf_run(&r), 0);
  assert_int_equal(ocf_freesession(sid), 0);
  ocf_shutdown();
}

int main(void) {
  if (ref_init() != 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_soft),
      cmocka_unit_test(t_cpu),
      cmocka_unit_test(t_migrate),
      cmocka_unit_test(t_limits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
