/*
 * test_provider_pk.c - ocf.so's public-key operations against OpenSSL's
 * default provider, through EVP: RSA signatures (PKCS #1 v1.5 with and
 * without a digest, PSS with several salt lengths and MGF1 digests) and
 * encryption (OAEP with labels, PKCS #1 v1.5), ECDSA on P-256 and P-384 (and
 * a curve the framework lacks, which must still work), Ed25519, ECDH and
 * X25519.  What one provider signs or encrypts the other verifies or
 * decrypts; shared secrets agree; corrupted signatures and ciphertexts are
 * refused.  Keys come from the default provider (generated, or read from
 * PEM by its decoders) and from ocf.so's key management (and leave it
 * through the default provider's encoders).
 */
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <time.h>

// clang-format off
#include <cmocka.h>
// clang-format on

#include "provider_test.h"

static OSSL_LIB_CTX *lcs[2];
static const char *const lc_names[2] = {"always", "auto"};
static int rounds;

static int setup(void **state) {
  pt_seed();
  rounds = 6 / pt_scale() + 1;
  lcs[0] = pt_libctx("offload = always\n", 1, 0);
  lcs[1] = pt_libctx("offload = auto\n", 1, 0);
  return lcs[0] && lcs[1] ? 0 : -1;
}

static int teardown(void **state) {
  OSSL_LIB_CTX_free(lcs[0]);
  OSSL_LIB_CTX_free(lcs[1]);
  return 0;
}

static const char *prov(int ocf) { return ocf ? "provider=ocf" : "provider=default"; }

/* keygen makes a key with the named provider's key management. */
static EVP_PKEY *keygen(OSSL_LIB_CTX *lc, int ocf, const char *type, const char *arg) {
  EVP_PKEY *k = NULL;
  if (!strcmp(type, "RSA"))
    k = EVP_PKEY_Q_keygen(lc, prov(ocf), "RSA", (size_t)atoi(arg));
  else if (!strcmp(type, "EC"))
    k = EVP_PKEY_Q_keygen(lc, prov(ocf), "EC", arg);
  else
    k = EVP_PKEY_Q_keygen(lc, prov(ocf), type);
  if (k == NULL) fail_msg("keygen %s %s with %s: %s", type, arg ? arg : "", prov(ocf), pt_errs());
  return k;
}

/* pem_roundtrip writes k as PEM (the default provider's encoders) and reads
 * it back with the default provider's decoders. */
static EVP_PKEY *pem_roundtrip(OSSL_LIB_CTX *lc, EVP_PKEY *k) {
  BIO *b = BIO_new(BIO_s_mem());
  EVP_PKEY *r = NULL;
  if (b && PEM_write_bio_PrivateKey_ex(b, k, NULL, NULL, 0, NULL, NULL, lc, "provider=default"))
    r = PEM_read_bio_PrivateKey_ex(b, NULL, NULL, NULL, lc, "provider=default");
  BIO_free(b);
  if (r == NULL) fail_msg("PEM round trip: %s", pt_errs());
  if (EVP_PKEY_eq(r, k) != 1) fail_msg("PEM round trip changed the key");
  return r;
}

/* dsign signs msg with digest md (NULL: Ed25519) on the named provider. */
static size_t dsign(OSSL_LIB_CTX *lc, int ocf, EVP_PKEY *k, const char *md, const OSSL_PARAM *pp,
                    const uint8_t *msg, size_t n, uint8_t *sig, size_t cap) {
  EVP_MD_CTX *x = EVP_MD_CTX_new();
  size_t l = cap;
  int ok = EVP_DigestSignInit_ex(x, NULL, md, lc, prov(ocf), k, pp);
  if (ok && md != NULL) {
    size_t half = n / 2;
    ok = EVP_DigestSignUpdate(x, msg, half) && EVP_DigestSignUpdate(x, msg + half, n - half) &&
         EVP_DigestSignFinal(x, sig, &l);
  } else if (ok) {
    ok = EVP_DigestSign(x, sig, &l, msg, n);
  }
  EVP_MD_CTX_free(x);
  if (!ok) fail_msg("sign (%s, %s): %s", md ? md : "-", prov(ocf), pt_errs());
  return l;
}

static int dverify(OSSL_LIB_CTX *lc, int ocf, EVP_PKEY *k, const char *md, const OSSL_PARAM *pp,
                   const uint8_t *msg, size_t n, const uint8_t *sig, size_t sl) {
  EVP_MD_CTX *x = EVP_MD_CTX_new();
  int ok = EVP_DigestVerifyInit_ex(x, NULL, md, lc, prov(ocf), k, pp) == 1;
  if (ok && md != NULL)
    ok = EVP_DigestVerifyUpdate(x, msg, n) && EVP_DigestVerifyFinal(x, sig, sl) == 1;
  else if (ok)
    ok = EVP_DigestVerify(x, sig, sl, msg, n) == 1;
  EVP_MD_CTX_free(x);
  ERR_clear_error();
  return ok;
}

/* cross signs with each provider and verifies with the other, then checks
 * that a corrupted signature is refused by ocf.so. */
static void cross(OSSL_LIB_CTX *lc, EVP_PKEY *k, const char *md, const OSSL_PARAM *pp,
                  const char *what) {
  uint8_t msg[300], sig[1024];
  size_t n = pt_below(sizeof(msg));
  pt_fill(msg, n);
  for (int ocf = 0; ocf < 2; ocf++) {
    size_t sl = dsign(lc, ocf, k, md, pp, msg, n, sig, sizeof(sig));
    if (!dverify(lc, !ocf, k, md, pp, msg, n, sig, sl))
      fail_msg("%s: signed by %s, refused by the other", what, prov(ocf));
    if (!dverify(lc, ocf, k, md, pp, msg, n, sig, sl))
      fail_msg("%s: signed by %s, refused by itself", what, prov(ocf));
    sig[pt_below(sl)] ^= (uint8_t)(1 + pt_below(255));
    if (dverify(lc, 1, k, md, pp, msg, n, sig, sl))
      fail_msg("%s: ocf accepted a corrupted signature", what);
  }
}

static void t_rsa_sign(void **s) {
  static const char *const mds[] = {"SHA1", "SHA256", "SHA384", "SHA512", "SHA224"};
  for (int li = 0; li < 2; li++)
    for (int bits = 1024; bits <= 2048; bits += 1024) {
      EVP_PKEY *kd = keygen(lcs[li], 0, "RSA", bits == 1024 ? "1024" : "2048");
      EVP_PKEY *ko = keygen(lcs[li], 1, "RSA", bits == 1024 ? "1024" : "2048");
      EVP_PKEY *kp = pem_roundtrip(lcs[li], ko);
      EVP_PKEY *keys[] = {kd, ko, kp};
      for (int ki = 0; ki < 3; ki++)
        for (int r = 0; r < rounds; r++) {
          const char *md = mds[pt_below(5)];
          char what[96];
          snprintf(what, sizeof(what), "RSA-%d PKCS#1 %s [%s] key %d", bits, md, lc_names[li], ki);
          cross(lcs[li], keys[ki], md, NULL, what);
          int salt = (int)pt_below(4) - 3; /* -3 max, -2 auto, -1 digest, 0 */
          if (salt == 0) salt = (int)pt_below(21);
          const char *mgf = mds[pt_below(5)];
          OSSL_PARAM pp[] = {
              OSSL_PARAM_construct_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, "pss", 0),
              OSSL_PARAM_construct_int(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, &salt),
              OSSL_PARAM_construct_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, (char *)mgf, 0),
              OSSL_PARAM_construct_end()};
          if (bits == 1024 && !strcmp(md, "SHA512")) continue; /* no room for the salt */
          snprintf(what, sizeof(what), "RSA-%d PSS %s salt %d mgf1 %s [%s]", bits, md, salt, mgf,
                   lc_names[li]);
          if (salt == -2) continue; /* auto is a verification setting in 3.0 */
          cross(lcs[li], keys[ki], md, pp, what);
        }
      EVP_PKEY_free(kd);
      EVP_PKEY_free(ko);
      EVP_PKEY_free(kp);
    }
}

/* Raw PKCS #1 v1.5 signatures of a digest-less input, as openssl speed
 * makes them (36 bytes), through EVP_PKEY_sign. */
static void t_rsa_raw(void **s) {
  for (int li = 0; li < 2; li++) {
    EVP_PKEY *k = keygen(lcs[li], 0, "RSA", "2048");
    uint8_t in[36], sig[256], out[256];
    pt_fill(in, sizeof(in));
    EVP_PKEY_CTX *so = EVP_PKEY_CTX_new_from_pkey(lcs[li], k, "provider=ocf");
    EVP_PKEY_CTX *vd = EVP_PKEY_CTX_new_from_pkey(lcs[li], k, "provider=default");
    size_t sl = sizeof(sig), ol = sizeof(out);
    assert_true(EVP_PKEY_sign_init(so) == 1 && EVP_PKEY_sign(so, sig, &sl, in, sizeof(in)) == 1);
    assert_int_equal(EVP_PKEY_verify_init(vd), 1);
    assert_int_equal(EVP_PKEY_verify(vd, sig, sl, in, sizeof(in)), 1);
    assert_true(EVP_PKEY_verify_recover_init(vd) == 1 &&
                EVP_PKEY_verify_recover(vd, out, &ol, sig, sl) == 1);
    assert_true(ol == sizeof(in) && memcmp(out, in, ol) == 0);
    EVP_PKEY_CTX_free(so);
    EVP_PKEY_CTX_free(vd);
    EVP_PKEY_free(k);
  }
}

static void t_rsa_crypt(void **s) {
  for (int li = 0; li < 2; li++) {
    EVP_PKEY *k = keygen(lcs[li], 0, "RSA", "2048");
    for (int r = 0; r < 4 * rounds; r++) {
      int oaep = (int)pt_below(2);
      const char *md = pt_below(2) ? "SHA1" : "SHA256";
      uint8_t label[20], msg[100], ct[256], pt[256];
      size_t ll = pt_below(2) ? 0 : pt_below(21), n = 1 + pt_below(oaep ? 60 : 100);
      pt_fill(label, ll);
      pt_fill(msg, n);
      for (int ocf = 0; ocf < 2; ocf++) {
        EVP_PKEY_CTX *e = EVP_PKEY_CTX_new_from_pkey(lcs[li], k, prov(ocf));
        EVP_PKEY_CTX *d = EVP_PKEY_CTX_new_from_pkey(lcs[li], k, prov(!ocf));
        size_t cl = sizeof(ct), pl = sizeof(pt);
        assert_true(EVP_PKEY_encrypt_init(e) == 1 && EVP_PKEY_decrypt_init(d) == 1);
        for (int j = 0; j < 2; j++) {
          EVP_PKEY_CTX *x = j ? d : e;
          if (oaep) {
            assert_true(EVP_PKEY_CTX_set_rsa_padding(x, RSA_PKCS1_OAEP_PADDING) > 0);
            assert_true(EVP_PKEY_CTX_set_rsa_oaep_md_name(x, md, NULL) > 0);
            if (ll) {
              void *lab = OPENSSL_memdup(label, ll);
              assert_true(EVP_PKEY_CTX_set0_rsa_oaep_label(x, lab, (int)ll) > 0);
            }
          }
        }
        if (EVP_PKEY_encrypt(e, ct, &cl, msg, n) != 1) fail_msg("encrypt: %s", pt_errs());
        if (EVP_PKEY_decrypt(d, pt, &pl, ct, cl) != 1 || pl != n || memcmp(pt, msg, n) != 0)
          fail_msg("RSA %s [%s]: encrypted by %s, not decrypted by the other: %s",
                   oaep ? "OAEP" : "PKCS#1", lc_names[li], prov(ocf), pt_errs());
        /* ocf.so refuses a corrupted ciphertext (the default provider too) */
        EVP_PKEY_CTX *od = ocf ? d : NULL;
        if (!ocf) {
          ct[pt_below(cl)] ^= 0x10;
          pl = sizeof(pt);
          if (EVP_PKEY_decrypt(d, pt, &pl, ct, cl) == 1 && pl == n && memcmp(pt, msg, n) == 0)
            fail_msg("ocf decrypted a corrupted ciphertext to the message");
          ERR_clear_error();
        }
        (void)od;
        EVP_PKEY_CTX_free(e);
        EVP_PKEY_CTX_free(d);
      }
    }
    EVP_PKEY_free(k);
  }
}

static void t_ecdsa(void **s) {
  static const char *const curves[] = {"P-256", "P-384", "secp256k1"};
  static const char *const mds[] = {"SHA256", "SHA384", "SHA512", "SHA1"};
  for (int li = 0; li < 2; li++)
    for (int c = 0; c < 3; c++) {
      EVP_PKEY *kd = keygen(lcs[li], 0, "EC", curves[c]);
      EVP_PKEY *ko = keygen(lcs[li], 1, "EC", curves[c]);
      EVP_PKEY *kp = pem_roundtrip(lcs[li], ko);
      EVP_PKEY *keys[] = {kd, ko, kp};
      for (int ki = 0; ki < 3; ki++)
        for (int r = 0; r < rounds; r++) {
          char what[64];
          const char *md = mds[pt_below(4)];
          snprintf(what, sizeof(what), "ECDSA %s %s [%s] key %d", curves[c], md, lc_names[li], ki);
          cross(lcs[li], keys[ki], md, NULL, what);
        }
      EVP_PKEY_free(kd);
      EVP_PKEY_free(ko);
      EVP_PKEY_free(kp);
    }
}

static void t_ed25519(void **s) {
  for (int li = 0; li < 2; li++) {
    EVP_PKEY *kd = keygen(lcs[li], 0, "ED25519", NULL), *ko = keygen(lcs[li], 1, "ED25519", NULL);
    EVP_PKEY *kp = pem_roundtrip(lcs[li], ko);
    EVP_PKEY *keys[] = {kd, ko, kp};
    for (int ki = 0; ki < 3; ki++)
      for (int r = 0; r < rounds; r++) cross(lcs[li], keys[ki], NULL, NULL, "Ed25519");
    EVP_PKEY_free(kd);
    EVP_PKEY_free(ko);
    EVP_PKEY_free(kp);
  }
}

static size_t derive(OSSL_LIB_CTX *lc, int ocf, EVP_PKEY *own, EVP_PKEY *peer, uint8_t *out) {
  EVP_PKEY_CTX *x = EVP_PKEY_CTX_new_from_pkey(lc, own, prov(ocf));
  size_t l = 64;
  if (x == NULL || EVP_PKEY_derive_init(x) != 1 || EVP_PKEY_derive_set_peer(x, peer) != 1 ||
      EVP_PKEY_derive(x, out, &l) != 1)
    fail_msg("derive with %s: %s", prov(ocf), pt_errs());
  EVP_PKEY_CTX_free(x);
  return l;
}

/* public_only keeps the public half of k (as a peer's key share). */
static EVP_PKEY *public_only(OSSL_LIB_CTX *lc, EVP_PKEY *k) {
  OSSL_PARAM *pp = NULL;
  EVP_PKEY *r = NULL;
  EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(lc, k, "provider=default");
  if (EVP_PKEY_todata(k, EVP_PKEY_PUBLIC_KEY, &pp) && EVP_PKEY_fromdata_init(c) == 1)
    EVP_PKEY_fromdata(c, &r, EVP_PKEY_PUBLIC_KEY, pp);
  OSSL_PARAM_free(pp);
  EVP_PKEY_CTX_free(c);
  return r;
}

static void t_kex(void **s) {
  struct {
    const char *type, *arg;
  } kinds[] = {{"EC", "P-256"}, {"EC", "P-384"}, {"X25519", NULL}, {"EC", "secp521r1"}};
  for (int li = 0; li < 2; li++)
    for (int k = 0; k < 4; k++)
      for (int r = 0; r < rounds; r++) {
        EVP_PKEY *a = keygen(lcs[li], (int)pt_below(2), kinds[k].type, kinds[k].arg);
        EVP_PKEY *b = keygen(lcs[li], (int)pt_below(2), kinds[k].type, kinds[k].arg);
        EVP_PKEY *bp = public_only(lcs[li], b), *ap = public_only(lcs[li], a);
        assert_non_null(bp);
        assert_non_null(ap);
        uint8_t s1[64], s2[64], s3[64];
        size_t l1 = derive(lcs[li], 1, a, bp, s1), l2 = derive(lcs[li], 0, a, bp, s2),
               l3 = derive(lcs[li], 1, b, ap, s3);
        if (l1 != l2 || l1 != l3 || memcmp(s1, s2, l1) != 0 || memcmp(s1, s3, l1) != 0)
          fail_msg("%s %s [%s]: shared secrets differ", kinds[k].type,
                   kinds[k].arg ? kinds[k].arg : "", lc_names[li]);
        EVP_PKEY_free(a), EVP_PKEY_free(b), EVP_PKEY_free(ap), EVP_PKEY_free(bp);
      }
}

/* A peer key that is not on the curve is refused when it is set. */
static void t_kex_bad_peer(void **s) {
  EVP_PKEY *a = keygen(lcs[0], 1, "X25519", NULL);
  uint8_t zero[32] = {0};
  EVP_PKEY *bad = EVP_PKEY_new_raw_public_key_ex(lcs[0], "X25519", "provider=default", zero, 32);
  EVP_PKEY_CTX *x = EVP_PKEY_CTX_new_from_pkey(lcs[0], a, "provider=ocf");
  uint8_t out[32];
  size_t l = sizeof(out);
  assert_int_equal(EVP_PKEY_derive_init(x), 1);
  int ok = EVP_PKEY_derive_set_peer(x, bad) == 1 && EVP_PKEY_derive(x, out, &l) == 1;
  assert_false(ok);
  ERR_clear_error();
  EVP_PKEY_CTX_free(x);
  EVP_PKEY_free(a);
  EVP_PKEY_free(bad);
}

static void t_counted(void **s) {
  uint64_t k = pt_stat(lcs[0], "ocf-krequests"), f = pt_stat(lcs[0], "fallbacks");
  uint64_t i = pt_stat(lcs[0], "inline-krequests");
  printf("public-key requests (always): framework %llu, inline %llu, fallbacks %llu\n",
         (unsigned long long)k, (unsigned long long)i, (unsigned long long)f);
  assert_true(k > 50 && k != UINT64_MAX);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_rsa_sign),     cmocka_unit_test(t_rsa_raw), cmocka_unit_test(t_rsa_crypt),
      cmocka_unit_test(t_ecdsa),        cmocka_unit_test(t_ed25519), cmocka_unit_test(t_kex),
      cmocka_unit_test(t_kex_bad_peer), cmocka_unit_test(t_counted),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
