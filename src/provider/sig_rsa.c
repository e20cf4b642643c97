/*
 * sig_rsa.c - RSA through the framework: the modular exponentiation as an
 * ocf_kdispatch request (MOD_EXP_CRT for a two-prime private key, MOD_EXP
 * otherwise), the padding here (rsa_pad.c).
 *
 * A private-key result is checked against the public exponent before it
 * leaves the provider (a faulty card's CRT result would give a factor of
 * n away), except from the software producer, which checks its own.
 */
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "provider/sig.h"

/* What each producer id turned out to be: 0 not looked up, 1 the software
 * producer (which checks its own results), 2 another one.  Ids are not
 * reused while the framework runs. */
static _Atomic uint8_t hid_kind[256];

bool pk_hid_checks_itself(struct ocfprov *p, uint32_t hid) {
  if (p->conf.ocfd || hid == 0) return false;
  uint8_t kind = hid < 256 ? atomic_load(&hid_kind[hid]) : 0;
  if (kind != 0) return kind == 1;
  struct ocf_driver_stat st[32];
  int n = ocf_driver_stats(st, 32);
  kind = 2;
  for (int i = 0; i < n && i < 32; i++)
    if (st[i].hid == hid && strcmp(st[i].name, "soft") == 0) kind = 1;
  if (hid < 256) atomic_store(&hid_kind[hid], kind);
  return kind == 1;
}

/* check_result tells whether out^e mod n == x (big-endian, k bytes). */
static bool check_result(const struct kmat *m, const uint8_t *x, const uint8_t *out, size_t k) {
  BN_CTX *bc = BN_CTX_new();
  BIGNUM *n = BN_lebin2bn(m->n.p, (int)m->n.len, NULL),
         *e = BN_lebin2bn(m->e.p, (int)m->e.len, NULL);
  BIGNUM *s = BN_bin2bn(out, (int)k, NULL), *v = BN_new(), *want = BN_bin2bn(x, (int)k, NULL);
  bool ok = bc && n && e && s && v && want && BN_mod_exp(v, s, e, n, bc) && BN_cmp(v, want) == 0;
  BN_free(n), BN_free(e), BN_free(s), BN_free(v), BN_free(want);
  BN_CTX_free(bc);
  return ok;
}

int rsa_modexp(struct okey *key, int priv, const uint8_t *x, uint8_t *out, struct bstat *bs) {
  const struct kmat *m = key_mat(key);
  if (m == NULL || (priv && m->d.p == NULL)) return ENOTSUP;
  size_t k = m->n.len;
  uint8_t *xl = malloc(k), *ol = malloc(k);
  if (xl == NULL || ol == NULL) {
    free(xl), free(ol);
    return ENOMEM;
  }
  struct ocf_kreq r;
  memset(&r, 0, sizeof(r));
  int np = 0;
  struct ocf_kparam xp;
  ocf_kparam_from_be(&xp, xl, x, k);
  if (priv && m->crt) {
    r.op = OCF_KOP_MOD_EXP_CRT;
    kparam_in(&r.param[np++], &m->p);
    kparam_in(&r.param[np++], &m->q);
    r.param[np++] = xp;
    kparam_in(&r.param[np++], &m->dp);
    kparam_in(&r.param[np++], &m->dq);
    kparam_in(&r.param[np++], &m->qinv);
  } else {
    r.op = OCF_KOP_MOD_EXP;
    r.param[np++] = xp;
    kparam_in(&r.param[np++], priv ? &m->d : &m->e);
    kparam_in(&r.param[np++], &m->n);
  }
  r.iparams = np;
  r.oparams = 1;
  ocf_kparam_out(&r.param[np], ol, k);
  int rc = be_kop(key->p, &r, bs);
  if (rc == 0 && ocf_kparam_to_be(&r.param[np], out, k) != 0) rc = EIO;
  if (rc == 0 && priv && !pk_hid_checks_itself(key->p, r.hid) && !check_result(m, x, out, k))
    rc = EIO; /* a wrong result: the inline path computes it again */
  OPENSSL_clear_free(xl, k);
  OPENSSL_clear_free(ol, k);
  return rc;
}

/* settings reads what the default provider's operation was set to, once
 * until a parameter changes (a digest fetch per signature would cost more
 * than the rest of the padding). */
static int settings(struct sctx *c) {
  if (c->rs_ok) return 0;
  OSSL_PARAM q[] = {OSSL_PARAM_construct_int(OSSL_SIGNATURE_PARAM_PAD_MODE, &c->rs_pad),
                    OSSL_PARAM_construct_int(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, &c->rs_saltlen),
                    OSSL_PARAM_construct_end()};
  c->rs_pad = RSA_PKCS1_PADDING;
  c->rs_saltlen = RSA_PSS_SALTLEN_AUTO;
  if (!EVP_PKEY_CTX_get_params(c->d, q)) {
    ERR_clear_error();
    return ENOTSUP;
  }
  c->rs_md = sig_md(c, OSSL_SIGNATURE_PARAM_DIGEST);
  c->rs_mgf1 = sig_md(c, OSSL_SIGNATURE_PARAM_MGF1_DIGEST);
  c->rs_ok = true;
  return 0;
}

/* encode builds the block to exponentiate for a PKCS #1 v1.5 or PSS
 * signature of tbs (the digest, or raw data without one). */
static int encode(struct sctx *c, uint8_t *em, size_t k, size_t bits, const uint8_t *tbs,
                  size_t tbslen, int pad, int saltlen, EVP_MD *md, EVP_MD *mgf1) {
  if (pad == RSA_NO_PADDING) {
    if (tbslen != k) return ENOTSUP;
    memcpy(em, tbs, k);
    return 0;
  }
  if (md != NULL && tbslen != (size_t)EVP_MD_get_size(md)) return ENOTSUP;
  if (pad == RSA_PKCS1_PSS_PADDING) {
    if (md == NULL) return ENOTSUP;
    int sl = saltlen == RSA_PSS_SALTLEN_DIGEST ? EVP_MD_get_size(md) : saltlen < 0 ? -1 : saltlen;
    return rsa_pad_pss(dl_libctx(c->p), em, bits, tbs, md, mgf1 ? mgf1 : md, sl) ? 0 : ENOTSUP;
  }
  if (pad != RSA_PKCS1_PADDING) return ENOTSUP;
  uint8_t t[256];
  size_t dil = 0;
  const uint8_t *di = md != NULL && !EVP_MD_is_a(md, "MD5-SHA1") ? rsa_digestinfo(md, &dil) : NULL;
  if (md != NULL && !EVP_MD_is_a(md, "MD5-SHA1") && di == NULL) return ENOTSUP;
  if (dil + tbslen > sizeof(t)) return ENOTSUP;
  if (dil > 0) memcpy(t, di, dil);
  memcpy(t + dil, tbs, tbslen);
  return rsa_pad_pkcs1_sign(em, k, t, dil + tbslen) ? 0 : ENOTSUP;
}

int rsa_fw_sign(struct sctx *c, uint8_t *sig, size_t *siglen, size_t sigsize, const uint8_t *tbs,
                size_t tbslen, struct bstat *bs) {
  const struct kmat *m = key_mat(c->key);
  if (m == NULL || settings(c) != 0) return ENOTSUP;
  size_t k = m->n.len;
  if (sigsize < k) return ENOTSUP; /* the inline path reports it */
  uint8_t *em = malloc(k);
  if (em == NULL) return ENOMEM;
  int rc = encode(c, em, k, m->bits, tbs, tbslen, c->rs_pad, c->rs_saltlen, c->rs_md, c->rs_mgf1);
  if (rc == 0) rc = rsa_modexp(c->key, 1, em, sig, bs);
  if (rc == 0) *siglen = k;
  OPENSSL_clear_free(em, k);
  return rc;
}

int rsa_fw_verify(struct sctx *c, const uint8_t *sig, size_t siglen, const uint8_t *tbs,
                  size_t tbslen, int *valid, struct bstat *bs) {
  const struct kmat *m = key_mat(c->key);
  if (m == NULL || settings(c) != 0) return ENOTSUP;
  int pad = c->rs_pad, saltlen = c->rs_saltlen;
  if (pad != RSA_PKCS1_PADDING && pad != RSA_PKCS1_PSS_PADDING && pad != RSA_NO_PADDING)
    return ENOTSUP;
  size_t k = m->n.len;
  *valid = 0;
  if (siglen != k) return 0; /* not a signature of this key */
  /* s must be below n; the comparison is public. */
  uint8_t *nbe = malloc(k), *em = malloc(k);
  if (nbe == NULL || em == NULL) {
    free(nbe), free(em);
    return ENOMEM;
  }
  struct ocf_kparam np = {m->n.p, m->n.nbits};
  int rc = ocf_kparam_to_be(&np, nbe, k) != 0 ? EIO : 0;
  if (rc == 0 && memcmp(sig, nbe, k) >= 0) goto out;
  if (rc == 0) rc = rsa_modexp(c->key, 0, sig, em, bs);
  if (rc != 0) goto out;
  EVP_MD *md = c->rs_md;
  if (pad == RSA_NO_PADDING) {
    *valid = tbslen == k && CRYPTO_memcmp(em, tbs, k) == 0;
  } else if (pad == RSA_PKCS1_PSS_PADDING) {
    EVP_MD *mgf1 = c->rs_mgf1;
    int sl = saltlen == RSA_PSS_SALTLEN_DIGEST ? (md ? EVP_MD_get_size(md) : 0) : saltlen;
    if (md == NULL || tbslen != (size_t)EVP_MD_get_size(md))
      rc = ENOTSUP;
    else
      *valid = rsa_verify_pss(em, m->bits, tbs, md, mgf1 ? mgf1 : md, sl);
  } else {
    /* PKCS #1 v1.5: encode what the signature should hold and compare */
    uint8_t *want = malloc(k);
    rc = want == NULL ? ENOMEM
                      : encode(c, want, k, m->bits, tbs, tbslen, pad, saltlen, md, c->rs_mgf1);
    if (rc == 0) *valid = CRYPTO_memcmp(want, em, k) == 0;
    free(want);
  }
out:
  free(nbe);
  OPENSSL_clear_free(em, k);
  return rc;
}
