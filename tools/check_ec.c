/* check_ec.c - `ocf check` for the elliptic-curve operations of <ocf/pk.h>:
 * ECDSA (P-256, P-384), ECDH, X25519 and Ed25519 with random keys and
 * messages drawn by OpenSSL, the producer's answers checked against OpenSSL
 * (signatures verified by OpenSSL, OpenSSL's signatures verified by the
 * producer, shared secrets and Ed25519 signatures compared byte for byte),
 * plus malformed inputs that must be refused: short and long octet strings,
 * out-of-range scalars, points off the curve, outputs too small. */
#include <errno.h>
#include <ocf/pk.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

struct ec {
  struct ocf_kreq k;
  uint8_t buf[OCF_KMAX_PARAM][160];
  struct ck_tally *t;
  const char *what;
};

static void in_bn(struct ec *c, int i, const BIGNUM *bn) {
  ck_kp_bn(&c->k.param[i], c->buf[i], sizeof(c->buf[i]), bn);
}

static void in_oct(struct ec *c, int i, const uint8_t *p, size_t len) {
  memcpy(c->buf[i], p, len);
  ocf_kparam_octets(&c->k.param[i], c->buf[i], len);
}

static void out_room(struct ec *c, int i, size_t len) {
  memset(c->buf[i], 0, sizeof(c->buf[i]));
  ocf_kparam_out(&c->k.param[i], c->buf[i], len);
}

static int run(struct ec *c, enum ocf_kop op) {
  int in = 0, out = 0;
  ocf_kop_params(op, &in, &out);
  c->k.op = op;
  c->k.iparams = in;
  c->k.oparams = out;
  c->k.callback = NULL;
  c->k.status = -1;
  return ocf_krun(&c->k);
}

/* expect: the producer answered rc, status as wanted (status < 0: any) */
static void expect(struct ec *c, int rc, int want_rc, int want_status, const char *what) {
  if (rc != want_rc)
    ck_fail(c->t, 0, "%s %s: %s, want %s", c->what, what, ocf_strerror(rc), ocf_strerror(want_rc));
  else if (want_status >= 0 && c->k.status != want_status)
    ck_fail(c->t, 0, "%s %s: status %d, want %d", c->what, what, c->k.status, want_status);
  else
    c->t->passed++;
}

static BIGNUM *key_bn(EVP_PKEY *pk, const char *name) {
  BIGNUM *b = NULL;
  return EVP_PKEY_get_bn_param(pk, name, &b) == 1 ? b : NULL;
}

/* --- ECDSA and ECDH ---------------------------------------------------------- */

static void t_ecdsa(struct ec *c, const char *curve, size_t fl, bool sign, uint64_t *rng) {
  EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
  BIGNUM *d = pk ? key_bn(pk, OSSL_PKEY_PARAM_PRIV_KEY) : NULL;
  BIGNUM *qx = pk ? key_bn(pk, OSSL_PKEY_PARAM_EC_PUB_X) : NULL;
  BIGNUM *qy = pk ? key_bn(pk, OSSL_PKEY_PARAM_EC_PUB_Y) : NULL;
  EVP_PKEY_CTX *pc = pk ? EVP_PKEY_CTX_new(pk, NULL) : NULL;
  if (d == NULL || qx == NULL || qy == NULL || pc == NULL) {
    ERR_clear_error();
    c->t->skipped++;
    goto out;
  }
  /* a digest of any usual length: longer ones are truncated to the order */
  static const size_t dlens[] = {20, 28, 32, 48, 64};
  size_t dl = dlens[ck_range(rng, 0, 4)];
  uint8_t dg[64], dgl[64], der[160];
  ck_fill(rng, dg, dl);
  memset(&c->k, 0, sizeof(c->k));
  ocf_kparam_digest(&c->k.param[0], dgl, dg, dl);
  c->k.param[0].p = c->buf[0];
  memcpy(c->buf[0], dgl, dl);
  if (sign) {
    in_bn(c, 1, d);
    out_room(c, 2, fl);
    out_room(c, 3, fl);
    int rc =
        run(c, strcmp(curve, "P-256") == 0 ? OCF_KOP_ECDSA_P256_SIGN : OCF_KOP_ECDSA_P384_SIGN);
    if (rc != 0) {
      expect(c, rc, 0, -1, "sign");
    } else {
      /* OpenSSL verifies the producer's (r, s) */
      ECDSA_SIG *sig = ECDSA_SIG_new();
      BIGNUM *r = ck_kp_get(&c->k.param[2]), *s = ck_kp_get(&c->k.param[3]);
      unsigned char *p = der;
      int ok = sig && r && s && ECDSA_SIG_set0(sig, r, s);
      int n = ok ? i2d_ECDSA_SIG(sig, &p) : -1;
      ok = n > 0 && EVP_PKEY_verify_init(pc) == 1 &&
           EVP_PKEY_verify(pc, der, (size_t)n, dg, dl) == 1;
      ECDSA_SIG_free(sig);
      ERR_clear_error();
      if (ok)
        c->t->passed++;
      else
        ck_fail(c->t, 0, "%s sign: OpenSSL does not verify the signature", c->what);
    }
    /* malformed: the scalar n (out of range), a short output */
    BIGNUM *order = BN_new();
    const EC_GROUP *g = EC_GROUP_new_by_curve_name(
        strcmp(curve, "P-256") == 0 ? NID_X9_62_prime256v1 : NID_secp384r1);
    if (order && g && BN_copy(order, EC_GROUP_get0_order(g))) {
      in_bn(c, 1, order);
      expect(c, run(c, c->k.op), EINVAL, -1, "scalar = n");
    }
    EC_GROUP_free((EC_GROUP *)g);
    BN_free(order);
    in_bn(c, 1, d);
    out_room(c, 3, fl - 1);
    expect(c, run(c, c->k.op), ENOSPC, -1, "short output");
  } else {
    /* OpenSSL signs; the producer verifies, then a forgery and a point off
     * the curve */
    size_t n = sizeof(der);
    if (EVP_PKEY_sign_init(pc) != 1 || EVP_PKEY_sign(pc, der, &n, dg, dl) != 1) {
      ERR_clear_error();
      c->t->skipped++;
      goto out;
    }
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)n);
    const BIGNUM *r = sig ? ECDSA_SIG_get0_r(sig) : NULL, *s = sig ? ECDSA_SIG_get0_s(sig) : NULL;
    if (r == NULL) {
      ECDSA_SIG_free(sig);
      c->t->skipped++;
      goto out;
    }
    enum ocf_kop op =
        strcmp(curve, "P-256") == 0 ? OCF_KOP_ECDSA_P256_VERIFY : OCF_KOP_ECDSA_P384_VERIFY;
    in_bn(c, 1, qx);
    in_bn(c, 2, qy);
    in_bn(c, 3, r);
    in_bn(c, 4, s);
    expect(c, run(c, op), 0, 1, "genuine");
    BIGNUM *t = BN_dup(s);
    BN_add_word(t, 1);
    in_bn(c, 4, t);
    expect(c, run(c, op), 0, 0, "forged s");
    in_bn(c, 4, s);
    BN_copy(t, qy);
    BN_add_word(t, 1);
    in_bn(c, 2, t);
    expect(c, run(c, op), 0, 0, "point off the curve");
    BN_free(t);
    ECDSA_SIG_free(sig);
  }
out:
  EVP_PKEY_CTX_free(pc);
  EVP_PKEY_free(pk);
  BN_clear_free(d);
  BN_free(qx);
  BN_free(qy);
}

static void t_ecdh(struct ec *c, const char *curve, size_t fl) {
  EVP_PKEY *a = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
  EVP_PKEY *b = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
  BIGNUM *d = a ? key_bn(a, OSSL_PKEY_PARAM_PRIV_KEY) : NULL;
  BIGNUM *qx = b ? key_bn(b, OSSL_PKEY_PARAM_EC_PUB_X) : NULL;
  BIGNUM *qy = b ? key_bn(b, OSSL_PKEY_PARAM_EC_PUB_Y) : NULL;
  EVP_PKEY_CTX *dc = a ? EVP_PKEY_CTX_new(a, NULL) : NULL;
  uint8_t want[64];
  size_t wl = sizeof(want);
  if (!d || !qx || !qy || !dc || EVP_PKEY_derive_init(dc) != 1 ||
      EVP_PKEY_derive_set_peer(dc, b) != 1 || EVP_PKEY_derive(dc, want, &wl) != 1 || wl != fl) {
    ERR_clear_error();
    c->t->skipped++;
  } else {
    enum ocf_kop op = strcmp(curve, "P-256") == 0 ? OCF_KOP_ECDH_P256 : OCF_KOP_ECDH_P384;
    memset(&c->k, 0, sizeof(c->k));
    in_bn(c, 0, d);
    in_bn(c, 1, qx);
    in_bn(c, 2, qy);
    out_room(c, 3, fl);
    int rc = run(c, op);
    uint8_t got[64];
    if (rc == 0 && ocf_kparam_to_be(&c->k.param[3], got, fl) == 0 && memcmp(got, want, fl) == 0)
      c->t->passed++;
    else
      ck_fail(c->t, 0, "%s: %s", c->what, rc ? ocf_strerror(rc) : "shared secret differs");
    BIGNUM *t = BN_dup(qy);
    BN_add_word(t, 1);
    in_bn(c, 2, t);
    expect(c, run(c, op), EINVAL, -1, "peer off the curve");
    in_bn(c, 2, qy);
    BN_zero(t);
    in_bn(c, 0, t);
    expect(c, run(c, op), EINVAL, -1, "scalar 0");
    BN_free(t);
  }
  EVP_PKEY_CTX_free(dc);
  EVP_PKEY_free(a);
  EVP_PKEY_free(b);
  BN_clear_free(d);
  BN_free(qx);
  BN_free(qy);
}

/* --- X25519 and Ed25519 ------------------------------------------------------ */

static void t_x25519(struct ec *c) {
  EVP_PKEY *a = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
  EVP_PKEY *b = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
  EVP_PKEY_CTX *dc = a ? EVP_PKEY_CTX_new(a, NULL) : NULL;
  uint8_t priv[32], pub[33], want[32], got[32];
  size_t pl = 32, ul = 32, wl = 32;
  if (!dc || EVP_PKEY_get_raw_private_key(a, priv, &pl) != 1 ||
      EVP_PKEY_get_raw_public_key(b, pub, &ul) != 1 || EVP_PKEY_derive_init(dc) != 1 ||
      EVP_PKEY_derive_set_peer(dc, b) != 1 || EVP_PKEY_derive(dc, want, &wl) != 1) {
    ERR_clear_error();
    c->t->skipped++;
  } else {
    memset(&c->k, 0, sizeof(c->k));
    in_oct(c, 0, priv, 32);
    in_oct(c, 1, pub, 32);
    out_room(c, 2, 32);
    int rc = run(c, OCF_KOP_X25519);
    memcpy(got, c->buf[2], 32);
    if (rc == 0 && memcmp(got, want, 32) == 0)
      c->t->passed++;
    else
      ck_fail(c->t, 0, "%s: %s", c->what, rc ? ocf_strerror(rc) : "shared secret differs");
    /* fixed lengths: 31 and 33 octets are not keys */
    in_oct(c, 1, pub, 31);
    expect(c, run(c, OCF_KOP_X25519), EINVAL, -1, "31-byte peer");
    pub[32] = 0;
    in_oct(c, 1, pub, 33);
    expect(c, run(c, OCF_KOP_X25519), EINVAL, -1, "33-byte peer");
    in_oct(c, 1, pub, 32);
    in_oct(c, 0, priv, 1);
    expect(c, run(c, OCF_KOP_X25519), EINVAL, -1, "1-byte private key");
  }
  OPENSSL_cleanse(priv, sizeof(priv));
  EVP_PKEY_CTX_free(dc);
  EVP_PKEY_free(a);
  EVP_PKEY_free(b);
}

static void t_ed25519(struct ec *c, bool sign, uint64_t *rng) {
  EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  uint8_t seed[32], pub[32], msg[128], want[64];
  size_t sl = 32, pl = 32, wl = 64, ml = ck_range(rng, 0, sizeof(msg));
  ck_fill(rng, msg, ml);
  if (!pk || !md || EVP_PKEY_get_raw_private_key(pk, seed, &sl) != 1 ||
      EVP_PKEY_get_raw_public_key(pk, pub, &pl) != 1 ||
      EVP_DigestSignInit(md, NULL, NULL, NULL, pk) != 1 ||
      EVP_DigestSign(md, want, &wl, msg, ml) != 1) {
    ERR_clear_error();
    c->t->skipped++;
  } else if (sign) {
    /* Ed25519 is deterministic: the signature must be OpenSSL's */
    memset(&c->k, 0, sizeof(c->k));
    in_oct(c, 0, msg, ml);
    in_oct(c, 1, seed, 32);
    out_room(c, 2, 64);
    int rc = run(c, OCF_KOP_ED25519_SIGN);
    if (rc == 0 && memcmp(c->buf[2], want, 64) == 0)
      c->t->passed++;
    else
      ck_fail(c->t, 0, "%s: %s", c->what, rc ? ocf_strerror(rc) : "signature differs");
    in_oct(c, 1, seed, 31);
    expect(c, run(c, OCF_KOP_ED25519_SIGN), EINVAL, -1, "31-byte key");
    in_oct(c, 1, seed, 32);
    out_room(c, 2, 63);
    expect(c, run(c, OCF_KOP_ED25519_SIGN), ENOSPC, -1, "63-byte output");
  } else {
    memset(&c->k, 0, sizeof(c->k));
    in_oct(c, 0, msg, ml);
    in_oct(c, 1, pub, 32);
    in_oct(c, 2, want, 64);
    expect(c, run(c, OCF_KOP_ED25519_VERIFY), 0, 1, "genuine");
    want[ck_range(rng, 0, 63)] ^= (uint8_t)(1u << ck_range(rng, 0, 7));
    in_oct(c, 2, want, 64);
    expect(c, run(c, OCF_KOP_ED25519_VERIFY), 0, 0, "flipped bit");
    in_oct(c, 2, want, 63);
    expect(c, run(c, OCF_KOP_ED25519_VERIFY), 0, 0, "63-byte signature");
    in_oct(c, 1, pub, 31);
    expect(c, run(c, OCF_KOP_ED25519_VERIFY), EINVAL, -1, "31-byte public key");
  }
  OPENSSL_cleanse(seed, sizeof(seed));
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(pk);
}

int ck_ec_trial(enum ocf_kop op, struct ck_tally *t, uint64_t *rng) {
  struct ec *c = OPENSSL_zalloc(sizeof(*c));
  if (c == NULL) return 0;
  c->t = t;
  c->what = ocf_kop_name(op);
  int handled = 1;
  switch ((int)op) {
    case OCF_KOP_ECDSA_P256_SIGN:
      t_ecdsa(c, "P-256", 32, true, rng);
      break;
    case OCF_KOP_ECDSA_P256_VERIFY:
      t_ecdsa(c, "P-256", 32, false, rng);
      break;
    case OCF_KOP_ECDSA_P384_SIGN:
      t_ecdsa(c, "P-384", 48, true, rng);
      break;
    case OCF_KOP_ECDSA_P384_VERIFY:
      t_ecdsa(c, "P-384", 48, false, rng);
      break;
    case OCF_KOP_ECDH_P256:
      t_ecdh(c, "P-256", 32);
      break;
    case OCF_KOP_ECDH_P384:
      t_ecdh(c, "P-384", 48);
      break;
    case OCF_KOP_X25519:
      t_x25519(c);
      break;
    case OCF_KOP_ED25519_SIGN:
      t_ed25519(c, true, rng);
      break;
    case OCF_KOP_ED25519_VERIFY:
      t_ed25519(c, false, rng);
      break;
    default:
      handled = 0;
      break;
  }
  OPENSSL_clear_free(c, sizeof(*c));
  return handled;
}
