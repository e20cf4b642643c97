/*
 * test_pk_ec.c - curve requests through ocf_kdispatch against OpenSSL's
 * high-level API on freshly generated keys: ECDSA and ECDH on P-256 and
 * P-384, X25519 and Ed25519; and the software producer's per-thread key and
 * context caches (soft_ec.h), which must never answer with another key's
 * result.  test_pk.c has the other public-key operations.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
// clang-format off
#include <cmocka.h>
// clang-format on

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <ocf/ocf.h>
#include <ocf/pk.h>

#include "../src/drivers/soft/soft_ec.h"
#include "pkprod.h"

struct ecdef {
  const char *group;
  size_t bytes;
  enum ocf_kop sign, verify, ecdh;
};
static const struct ecdef ecdefs[] = {
    {"P-256", 32, OCF_KOP_ECDSA_P256_SIGN, OCF_KOP_ECDSA_P256_VERIFY, OCF_KOP_ECDH_P256},
    {"P-384", 48, OCF_KOP_ECDSA_P384_SIGN, OCF_KOP_ECDSA_P384_VERIFY, OCF_KOP_ECDH_P384},
};

static void ec_pub(const EVP_PKEY *k, BIGNUM **x, BIGNUM **y) {
  *x = pkey_bn(k, OSSL_PKEY_PARAM_EC_PUB_X);
  *y = pkey_bn(k, OSSL_PKEY_PARAM_EC_PUB_Y);
}

static void test_ec_diff(void **state) {
  (void)state;
  for (size_t ci = 0; ci < 2; ci++) {
    const struct ecdef *c = &ecdefs[ci];
    for (int it = 0; it < 10; it++) {
      EVP_PKEY *a = EVP_PKEY_Q_keygen(NULL, NULL, "EC", c->group);
      EVP_PKEY *b = EVP_PKEY_Q_keygen(NULL, NULL, "EC", c->group);
      assert_non_null(a);
      assert_non_null(b);
      BIGNUM *d = pkey_bn(a, OSSL_PKEY_PARAM_PRIV_KEY), *ax, *ay, *bx, *by;
      ec_pub(a, &ax, &ay);
      ec_pub(b, &bx, &by);
      uint8_t dg[48];
      size_t dl = c->bytes;
      RAND_bytes(dg, sizeof(dg));

      /* ours signs, OpenSSL verifies */
      struct preq s;
      preq_init(&s, c->sign);
      preq_digest(&s, 0, dg, dl);
      preq_bn(&s, 1, d);
      preq_out(&s, 2, c->bytes);
      preq_out(&s, 3, c->bytes);
      assert_int_equal(pkprod_run(&s), 0);
      ECDSA_SIG *sig = ECDSA_SIG_new();
      ECDSA_SIG_set0(sig, preq_result(&s, 2), preq_result(&s, 3));
      unsigned char *der = NULL;
      int derlen = i2d_ECDSA_SIG(sig, &der);
      EVP_PKEY_CTX *vc = EVP_PKEY_CTX_new_from_pkey(NULL, a, NULL);
      assert_true(EVP_PKEY_verify_init(vc) > 0);
      assert_int_equal(EVP_PKEY_verify(vc, der, (size_t)derlen, dg, dl), 1);
      EVP_PKEY_CTX_free(vc);
      OPENSSL_free(der);
      ECDSA_SIG_free(sig);
      if (it == 0) {
        preq_out(&s, 3, c->bytes - 1);
        assert_int_equal(pkprod_run(&s), ENOSPC);
        preq_word(&s, 1, 0);
        s.k.param[1].nbits = 0;
        preq_out(&s, 3, c->bytes);
        assert_int_equal(pkprod_run(&s), EINVAL);
      }
      preq_free(&s);

      /* OpenSSL signs, ours verifies; damaged ones are "invalid" */
      unsigned char osig[160];
      size_t olen = sizeof(osig);
      EVP_PKEY_CTX *sc = EVP_PKEY_CTX_new_from_pkey(NULL, a, NULL);
      assert_true(EVP_PKEY_sign_init(sc) > 0);
      assert_true(EVP_PKEY_sign(sc, osig, &olen, dg, dl) > 0);
      EVP_PKEY_CTX_free(sc);
      const unsigned char *pp = osig;
      sig = d2i_ECDSA_SIG(NULL, &pp, (long)olen);
      struct preq v;
      preq_init(&v, c->verify);
      preq_digest(&v, 0, dg, dl);
      preq_bn(&v, 1, ax);
      preq_bn(&v, 2, ay);
      preq_bn(&v, 3, ECDSA_SIG_get0_r(sig));
      preq_bn(&v, 4, ECDSA_SIG_get0_s(sig));
      assert_int_equal(pkprod_run(&v), 0);
      assert_int_equal(v.k.status, 1);
      v.k.param[4].p[1] ^= 4;
      assert_int_equal(pkprod_run(&v), 0);
      assert_int_equal(v.k.status, 0);
      v.k.param[4].p[1] ^= 4;
      v.k.param[2].p[0] ^= 1; /* public key off the curve: invalid, not an error */
      assert_int_equal(pkprod_run(&v), 0);
      assert_int_equal(v.k.status, 0);
      preq_free(&v);
      ECDSA_SIG_free(sig);

      /* ECDH: ours == OpenSSL's derive; a peer off the curve is EINVAL */
      uint8_t want[48], got[48];
      size_t wl = c->bytes;
      EVP_PKEY_CTX *dc = EVP_PKEY_CTX_new_from_pkey(NULL, a, NULL);
      assert_true(EVP_PKEY_derive_init(dc) > 0);
      assert_true(EVP_PKEY_derive_set_peer(dc, b) > 0);
      assert_true(EVP_PKEY_derive(dc, want, &wl) > 0);
      EVP_PKEY_CTX_free(dc);
      struct preq e;
      preq_init(&e, c->ecdh);
      preq_bn(&e, 0, d);
      preq_bn(&e, 1, bx);
      preq_bn(&e, 2, by);
      preq_out(&e, 3, c->bytes);
      assert_int_equal(pkprod_run(&e), 0);
      assert_int_equal(ocf_kparam_to_be(&e.k.param[3], got, c->bytes), 0);
      assert_memory_equal(got, want, c->bytes);
      e.k.param[1].p[0] ^= 1;
      assert_int_equal(pkprod_run(&e), EINVAL);
      preq_free(&e);
      /* x + p names the same point modulo p but is no coordinate: refused,
       * as OpenSSL refuses it when importing a key */
      EC_GROUP *grp = EC_GROUP_new_by_curve_name(EC_curve_nist2nid(c->group));
      BIGNUM *bigx = BN_new();
      assert_non_null(grp);
      assert_true(BN_add(bigx, bx, EC_GROUP_get0_field(grp)));
      preq_init(&e, c->ecdh);
      preq_bn(&e, 0, d);
      preq_bn(&e, 1, bigx);
      preq_bn(&e, 2, by);
      preq_out(&e, 3, c->bytes);
      assert_int_equal(pkprod_run(&e), EINVAL);
      preq_free(&e);
      BN_free(bigx);
      EC_GROUP_free(grp);

      BN_clear_free(d), BN_free(ax), BN_free(ay), BN_free(bx), BN_free(by);
      EVP_PKEY_free(a);
      EVP_PKEY_free(b);
    }
  }
}

/* --- the ECDSA context cache (soft_ec.h) ------------------------------------ */

/* ec_sign_ok signs a fresh digest with d through the framework and tells
 * whether OpenSSL verifies the signature with k (and, if other is given,
 * that it does NOT with other). */
static bool ec_sign_ok(EVP_PKEY *k, const BIGNUM *d, EVP_PKEY *other) {
  uint8_t dg[32];
  RAND_bytes(dg, sizeof(dg));
  struct preq s;
  preq_init(&s, OCF_KOP_ECDSA_P256_SIGN);
  preq_digest(&s, 0, dg, 32);
  preq_bn(&s, 1, d);
  preq_out(&s, 2, 32);
  preq_out(&s, 3, 32);
  bool ok = pkprod_run(&s) == 0;
  if (ok) {
    ECDSA_SIG *sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, preq_result(&s, 2), preq_result(&s, 3));
    unsigned char *der = NULL;
    int derlen = i2d_ECDSA_SIG(sig, &der);
    for (int w = 0; w < 2 && ok; w++) {
      EVP_PKEY *with = w == 0 ? k : other;
      if (with == NULL) continue;
      EVP_PKEY_CTX *vc = EVP_PKEY_CTX_new_from_pkey(NULL, with, NULL);
      ok = EVP_PKEY_verify_init(vc) > 0 &&
           (EVP_PKEY_verify(vc, der, (size_t)derlen, dg, 32) == 1) == (w == 0);
      EVP_PKEY_CTX_free(vc);
    }
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
  }
  preq_free(&s);
  return ok;
}

/* ec_verify_status verifies OpenSSL's signature of a fresh digest under k
 * with the framework, damaged when bad; returns the request's status. */
static int ec_verify_status(EVP_PKEY *k, bool bad) {
  uint8_t dg[32], osig[80];
  size_t olen = sizeof(osig);
  RAND_bytes(dg, sizeof(dg));
  EVP_PKEY_CTX *sc = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
  assert_true(EVP_PKEY_sign_init(sc) > 0 && EVP_PKEY_sign(sc, osig, &olen, dg, 32) > 0);
  EVP_PKEY_CTX_free(sc);
  const unsigned char *pp = osig;
  ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &pp, (long)olen);
  BIGNUM *x, *y;
  ec_pub(k, &x, &y);
  struct preq v;
  preq_init(&v, OCF_KOP_ECDSA_P256_VERIFY);
  preq_digest(&v, 0, dg, 32);
  preq_bn(&v, 1, x);
  preq_bn(&v, 2, y);
  preq_bn(&v, 3, ECDSA_SIG_get0_r(sig));
  preq_bn(&v, 4, ECDSA_SIG_get0_s(sig));
  if (bad) v.k.param[3].p[0] ^= 1;
  assert_int_equal(pkprod_run(&v), 0);
  int st = v.k.status;
  preq_free(&v);
  ECDSA_SIG_free(sig);
  BN_free(x), BN_free(y);
  return st;
}

enum { EC_KEYS = SOFT_EC_SLOTS + 2 };
static EVP_PKEY *eck[EC_KEYS];
static BIGNUM *ecd[EC_KEYS];

/* ecdh_same: the framework's P-256 agreement of d with b's point equals
 * OpenSSL's derive of a (whose scalar d is) with b. */
static bool ecdh_same(EVP_PKEY *a, const BIGNUM *d, EVP_PKEY *b) {
  uint8_t want[32], got[32];
  size_t wl = sizeof(want);
  EVP_PKEY_CTX *dc = EVP_PKEY_CTX_new_from_pkey(NULL, a, NULL);
  bool ok = dc != NULL && EVP_PKEY_derive_init(dc) > 0 && EVP_PKEY_derive_set_peer(dc, b) > 0 &&
            EVP_PKEY_derive(dc, want, &wl) > 0 && wl == 32;
  EVP_PKEY_CTX_free(dc);
  BIGNUM *bx = pkey_bn(b, OSSL_PKEY_PARAM_EC_PUB_X), *by = pkey_bn(b, OSSL_PKEY_PARAM_EC_PUB_Y);
  struct preq e;
  preq_init(&e, OCF_KOP_ECDH_P256);
  preq_bn(&e, 0, d);
  preq_bn(&e, 1, bx);
  preq_bn(&e, 2, by);
  preq_out(&e, 3, 32);
  ok = ok && pkprod_run(&e) == 0 && ocf_kparam_to_be(&e.k.param[3], got, 32) == 0 &&
       memcmp(got, want, 32) == 0;
  preq_free(&e);
  BN_free(bx);
  BN_free(by);
  return ok;
}

/* Two of these run at once: cached ECDSA contexts are per thread, and the
 * curves ECDH multiplies on are shared by all threads. */
static void *ec_cache_thread(void *arg) {
  int first = *(int *)arg, bad = 0;
  for (int i = 0; i < 60; i++) {
    int a = (first + i) % 3, b = (a + 1) % 3; /* three keys: all stay cached */
    if (!ec_sign_ok(eck[a], ecd[a], eck[b])) bad++;
    if (i % 4 == 0 && !ecdh_same(eck[a], ecd[a], eck[b])) bad++;
  }
  return (void *)(intptr_t)bad;
}

static void test_ec_cache(void **state) {
  (void)state;
  for (int i = 0; i < EC_KEYS; i++) {
    eck[i] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(eck[i]);
    ecd[i] = pkey_bn(eck[i], OSSL_PKEY_PARAM_PRIV_KEY);
  }
  /* the same key again: served from the cache, still signing with it */
  uint64_t h0 = soft_ec_hits();
  assert_true(ec_sign_ok(eck[0], ecd[0], eck[1]));
  assert_true(ec_sign_ok(eck[0], ecd[0], eck[1]));
  assert_true(ec_sign_ok(eck[1], ecd[1], eck[0]));
  assert_true(ec_sign_ok(eck[0], ecd[0], eck[1]));
  uint64_t h1 = soft_ec_hits();
  printf("ECDSA context cache: %llu hits in 4 signatures with 2 keys\n",
         (unsigned long long)(h1 - h0));
  assert_true(h1 - h0 >= 2);
  /* more keys than slots, then the first ones again: evicted and rebuilt,
   * never confused with another key */
  for (int round = 0; round < 2; round++)
    for (int i = 0; i < EC_KEYS; i++)
      assert_true(ec_sign_ok(eck[i], ecd[i], eck[(i + 1) % EC_KEYS]));
  /* verification: a bad signature under a cached key does not spoil it */
  assert_int_equal(ec_verify_status(eck[2], false), 1);
  assert_int_equal(ec_verify_status(eck[2], true), 0);
  assert_int_equal(ec_verify_status(eck[2], false), 1);
  /* two threads on the same keys at once: each has its own contexts */
  pthread_t t[2];
  int first[2] = {0, 1};
  for (int i = 0; i < 2; i++)
    assert_int_equal(pthread_create(&t[i], NULL, ec_cache_thread, &first[i]), 0);
  for (int i = 0; i < 2; i++) {
    void *bad;
    pthread_join(t[i], &bad);
    assert_int_equal((intptr_t)bad, 0);
  }
  for (int i = 0; i < EC_KEYS; i++) {
    BN_clear_free(ecd[i]);
    EVP_PKEY_free(eck[i]);
  }
}

static void raw_keys(EVP_PKEY *k, uint8_t priv[32], uint8_t pub[32]) {
  size_t l = 32;
  assert_true(EVP_PKEY_get_raw_private_key(k, priv, &l) > 0 && l == 32);
  l = 32;
  assert_true(EVP_PKEY_get_raw_public_key(k, pub, &l) > 0 && l == 32);
}

/* ed_sign_same: k's seed signs msg through the framework exactly as OpenSSL
 * signs it with k (Ed25519 is deterministic). */
static bool ed_sign_same(EVP_PKEY *k, const uint8_t *msg, size_t ml) {
  uint8_t priv[32], pub[32], want[64];
  size_t wl = sizeof(want);
  raw_keys(k, priv, pub);
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  assert_true(EVP_DigestSignInit(md, NULL, NULL, NULL, k) > 0 &&
              EVP_DigestSign(md, want, &wl, msg, ml) > 0 && wl == 64);
  EVP_MD_CTX_free(md);
  struct preq r;
  preq_init(&r, OCF_KOP_ED25519_SIGN);
  preq_octets(&r, 0, msg, ml);
  preq_octets(&r, 1, priv, 32);
  preq_out(&r, 2, 64);
  bool same = pkprod_run(&r) == 0 && memcmp(r.k.param[2].p, want, 64) == 0;
  preq_free(&r);
  OPENSSL_cleanse(priv, sizeof(priv));
  return same;
}

/* Ed25519 keys share the context cache's slots: repeated seeds hit, more
 * seeds than slots evict, and no signature is ever made with another
 * seed's key, also with ECDSA keys taking slots in between. */
static void test_ed_cache(void **state) {
  (void)state;
  enum { N = SOFT_EC_SLOTS + 2 };
  EVP_PKEY *e[N];
  for (int i = 0; i < N; i++) assert_non_null(e[i] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
  EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  BIGNUM *ecd = pkey_bn(ec, OSSL_PKEY_PARAM_PRIV_KEY);
  uint8_t msg[77];
  RAND_bytes(msg, sizeof(msg));
  uint64_t h0 = soft_ec_hits();
  assert_true(ed_sign_same(e[0], msg, sizeof(msg)));
  assert_true(ed_sign_same(e[0], msg, 5));
  assert_true(ed_sign_same(e[1], msg, sizeof(msg)));
  assert_true(ed_sign_same(e[0], msg, 0));
  uint64_t h1 = soft_ec_hits();
  assert_true(h1 - h0 >= 2);
  for (int round = 0; round < 2; round++)
    for (int i = 0; i < N; i++) {
      assert_true(ed_sign_same(e[i], msg, (size_t)(i * 11)));
      if (i % 2) assert_true(ec_sign_ok(ec, ecd, NULL));
    }
  BN_clear_free(ecd);
  EVP_PKEY_free(ec);
  for (int i = 0; i < N; i++) EVP_PKEY_free(e[i]);
}

static void test_25519_diff(void **state) {
  (void)state;
  for (int it = 0; it < 20; it++) {
    EVP_PKEY *a = EVP_PKEY_Q_keygen(NULL, NULL, "X25519"),
             *b = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    uint8_t apriv[32], apub[32], bpriv[32], bpub[32], want[32];
    raw_keys(a, apriv, apub);
    raw_keys(b, bpriv, bpub);
    size_t wl = 32;
    EVP_PKEY_CTX *dc = EVP_PKEY_CTX_new_from_pkey(NULL, a, NULL);
    assert_true(EVP_PKEY_derive_init(dc) > 0 && EVP_PKEY_derive_set_peer(dc, b) > 0 &&
                EVP_PKEY_derive(dc, want, &wl) > 0);
    EVP_PKEY_CTX_free(dc);
    struct preq r;
    preq_init(&r, OCF_KOP_X25519);
    preq_octets(&r, 0, apriv, 32);
    preq_octets(&r, 1, bpub, 32);
    preq_out(&r, 2, 32);
    assert_int_equal(pkprod_run(&r), 0);
    assert_memory_equal(r.k.param[2].p, want, 32);
    if (it == 0) {
      memset(bpub, 0, 32); /* small-order point: all-zero secret, refused */
      preq_octets(&r, 1, bpub, 32);
      assert_int_equal(pkprod_run(&r), EINVAL);
      preq_out(&r, 2, 31);
      assert_int_equal(pkprod_run(&r), ENOSPC);
    }
    preq_free(&r);
    EVP_PKEY_free(a);
    EVP_PKEY_free(b);

    EVP_PKEY *e = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    uint8_t epriv[32], epub[32], msg[100], osig[64];
    size_t ml = (size_t)it * 5, sl = 64;
    raw_keys(e, epriv, epub);
    RAND_bytes(msg, sizeof(msg));
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_true(EVP_DigestSignInit(md, NULL, NULL, NULL, e) > 0 &&
                EVP_DigestSign(md, osig, &sl, msg, ml) > 0);
    EVP_MD_CTX_free(md);
    preq_init(&r, OCF_KOP_ED25519_SIGN);
    preq_octets(&r, 0, msg, ml);
    preq_octets(&r, 1, epriv, 32);
    preq_out(&r, 2, 64);
    assert_int_equal(pkprod_run(&r), 0);
    assert_memory_equal(r.k.param[2].p, osig, 64);
    preq_free(&r);
    preq_init(&r, OCF_KOP_ED25519_VERIFY);
    preq_octets(&r, 0, msg, ml);
    preq_octets(&r, 1, epub, 32);
    preq_octets(&r, 2, osig, 64);
    assert_int_equal(pkprod_run(&r), 0);
    assert_int_equal(r.k.status, 1);
    uint8_t longsig[65];
    memcpy(longsig, osig, 64);
    longsig[64] = 1;
    preq_octets(&r, 2, longsig, 65); /* not a 64-octet signature: invalid */
    assert_int_equal(pkprod_run(&r), 0);
    assert_int_equal(r.k.status, 0);
    if (it == 1) {
      r.k.param[0].nbits = 3; /* not whole octets */
      assert_int_equal(pkprod_run(&r), EINVAL);
    }
    preq_free(&r);
    EVP_PKEY_free(e);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ec_diff),
      cmocka_unit_test(test_ec_cache),
      cmocka_unit_test(test_ed_cache),
      cmocka_unit_test(test_25519_diff),
  };
  return cmocka_run_group_tests(tests, pkprod_setup, pkprod_teardown);
}
