/*
 * sig_ec.c - ECDSA (P-256, P-384) and Ed25519 through the framework.  An
 * ECDSA signature travels as r and s; its DER form is made and read here,
 * strictly: a signature whose encoding is not the canonical one is
 * refused, as the default provider refuses it.
 */
#include <openssl/ec.h>
#include <stdlib.h>
#include <string.h>

#include "provider/sig.h"

int ec_fw_sign(struct sctx *c, uint8_t *sig, size_t *siglen, size_t sigsize, const uint8_t *tbs,
               size_t tbslen, struct bstat *bs) {
  const struct kmat *m = key_mat(c->key);
  if (m == NULL || m->curve == 0 || m->ecd.p == NULL || tbslen == 0 || tbslen > 64) return ENOTSUP;
  size_t fl = (size_t)m->curve / 8;
  uint8_t dg[64], r[48], s[48];
  struct ocf_kreq k;
  memset(&k, 0, sizeof(k));
  k.op = m->curve == 256 ? OCF_KOP_ECDSA_P256_SIGN : OCF_KOP_ECDSA_P384_SIGN;
  k.iparams = 2;
  k.oparams = 2;
  ocf_kparam_digest(&k.param[0], dg, tbs, tbslen);
  kparam_in(&k.param[1], &m->ecd);
  ocf_kparam_out(&k.param[2], r, fl);
  ocf_kparam_out(&k.param[3], s, fl);
  int rc = be_kop(c->p, &k, bs);
  if (rc != 0) return rc;
  ECDSA_SIG *es = ECDSA_SIG_new();
  BIGNUM *br = BN_lebin2bn(r, (int)fl, NULL), *bsn = BN_lebin2bn(s, (int)fl, NULL);
  if (es == NULL || br == NULL || bsn == NULL || !ECDSA_SIG_set0(es, br, bsn)) {
    ECDSA_SIG_free(es);
    BN_free(br), BN_free(bsn);
    return ENOMEM;
  }
  int len = i2d_ECDSA_SIG(es, NULL);
  if (len <= 0 || (size_t)len > sigsize) {
    ECDSA_SIG_free(es);
    return ENOTSUP; /* the inline path reports the short buffer */
  }
  uint8_t *p = sig;
  i2d_ECDSA_SIG(es, &p);
  ECDSA_SIG_free(es);
  *siglen = (size_t)len;
  return 0;
}

int ec_fw_verify(struct sctx *c, const uint8_t *sig, size_t siglen, const uint8_t *tbs,
                 size_t tbslen, int *valid, struct bstat *bs) {
  const struct kmat *m = key_mat(c->key);
  if (m == NULL || m->curve == 0 || m->qx.p == NULL || tbslen == 0 || tbslen > 64) return ENOTSUP;
  *valid = 0;
  size_t fl = (size_t)m->curve / 8;
  const uint8_t *p = sig;
  ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
  if (es == NULL) {
    ERR_clear_error();
    return 0;
  }
  /* only the canonical encoding */
  uint8_t *der = NULL;
  int dl = i2d_ECDSA_SIG(es, &der);
  bool canonical = dl > 0 && (size_t)dl == siglen && memcmp(der, sig, siglen) == 0;
  OPENSSL_free(der);
  const BIGNUM *br, *bsn;
  ECDSA_SIG_get0(es, &br, &bsn);
  uint8_t dg[64], r[48], s[48];
  size_t rbits = (size_t)BN_num_bits(br), sbits = (size_t)BN_num_bits(bsn);
  bool fits = canonical && rbits <= 8 * fl && sbits <= 8 * fl &&
              BN_bn2lebinpad(br, r, (int)fl) > 0 && BN_bn2lebinpad(bsn, s, (int)fl) > 0;
  ECDSA_SIG_free(es);
  if (!fits) return 0;
  struct ocf_kreq k;
  memset(&k, 0, sizeof(k));
  k.op = m->curve == 256 ? OCF_KOP_ECDSA_P256_VERIFY : OCF_KOP_ECDSA_P384_VERIFY;
  k.iparams = 5;
  ocf_kparam_digest(&k.param[0], dg, tbs, tbslen);
  kparam_in(&k.param[1], &m->qx);
  kparam_in(&k.param[2], &m->qy);
  k.param[3] = (struct ocf_kparam){r, rbits};
  k.param[4] = (struct ocf_kparam){s, sbits};
  int rc = be_kop(c->p, &k, bs);
  if (rc == EINVAL && (rbits == 0 || sbits == 0)) return 0; /* zero r or s: invalid */
  if (rc != 0) return rc;
  *valid = k.status == 1;
  return 0;
}

int ed_fw_sign(struct sctx *c, uint8_t *sig, size_t *siglen, size_t sigsize, const uint8_t *tbs,
               size_t tbslen, struct bstat *bs) {
  const struct kmat *m = key_mat(c->key);
  if (m == NULL || !m->has_raw_priv || sigsize < 64) return ENOTSUP;
  struct ocf_kreq k;
  memset(&k, 0, sizeof(k));
  k.op = OCF_KOP_ED25519_SIGN;
  k.iparams = 2;
  k.oparams = 1;
  ocf_kparam_octets(&k.param[0], tbs, tbslen);
  ocf_kparam_octets(&k.param[1], m->raw_priv, 32);
  ocf_kparam_out(&k.param[2], sig, 64);
  int rc = be_kop(c->p, &k, bs);
  if (rc == 0) *siglen = 64;
  return rc;
}

int ed_fw_verify(struct sctx *c, const uint8_t *sig, size_t siglen, const uint8_t *tbs,
                 size_t tbslen, int *valid, struct bstat *bs) {
  const struct kmat *m = key_mat(c->key);
  if (m == NULL || !m->has_raw_pub) return ENOTSUP;
  *valid = 0;
  if (siglen != 64) return 0;
  struct ocf_kreq k;
  memset(&k, 0, sizeof(k));
  k.op = OCF_KOP_ED25519_VERIFY;
  k.iparams = 3;
  ocf_kparam_octets(&k.param[0], tbs, tbslen);
  ocf_kparam_octets(&k.param[1], m->raw_pub, 32);
  ocf_kparam_octets(&k.param[2], sig, 64);
  int rc = be_kop(c->p, &k, bs);
  if (rc != 0) return rc;
  *valid = k.status == 1;
  return 0;
}
