/*
 * engine_kop.c - the modeled cards' public-key unit: modular exponentiation
 * with OpenSSL BIGNUMs, for cards whose exact mode computes real results.
 */
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <stdbool.h>

#include "drivers/engine/engine.h"

static BIGNUM *kparam(const struct ocf_kreq *k, int i) {
  size_t len = (k->param[i].nbits + 7) / 8;
  if (len > INT_MAX || (len > 0 && k->param[i].p == NULL)) return NULL;
  BIGNUM *b = BN_secure_new();
  if (b != NULL && len > 0 && BN_lebin2bn(k->param[i].p, (int)len, b) == NULL) {
    BN_free(b);
    return NULL;
  }
  return b;
}

int ocf_eng_kop(const struct ocf_kreq *k, uint8_t *out, size_t outlen) {
  int need;
  if (k->op == OCF_KOP_MOD_EXP)
    need = 3;
  else if (k->op == OCF_KOP_MOD_EXP_CRT)
    need = 6;
  else
    return ENOTSUP;
  if (k->iparams < need || k->oparams < 1 || outlen > INT_MAX) return EINVAL;
  BIGNUM *v[6] = {0}, *r = BN_secure_new(), *t1 = BN_secure_new(), *t2 = BN_secure_new();
  BN_CTX *ctx = BN_CTX_secure_new();
  int rc = 0;
  for (int i = 0; i < need; i++)
    if ((v[i] = kparam(k, i)) == NULL) rc = EINVAL;
  if (!r || !t1 || !t2 || !ctx) rc = ENOMEM;
  if (rc == 0 && k->op == OCF_KOP_MOD_EXP) {
    /* base, exponent, modulus */
    BN_set_flags(v[1], BN_FLG_CONSTTIME);
    if (BN_is_zero(v[2]) || !BN_mod_exp(r, v[0], v[1], v[2], ctx)) rc = EINVAL;
  } else if (rc == 0) {
    /* p, q, message, dp, dq, qinv: m1 = c^dp mod p, m2 = c^dq mod q,
     * h = qinv (m1 - m2) mod p, result = m2 + h q */
    BIGNUM *p = v[0], *q = v[1], *c = v[2], *dp = v[3], *dq = v[4], *qi = v[5];
    BN_set_flags(dp, BN_FLG_CONSTTIME);
    BN_set_flags(dq, BN_FLG_CONSTTIME);
    bool ok = !BN_is_zero(p) && !BN_is_zero(q) && BN_nnmod(t1, c, p, ctx) &&
              BN_mod_exp(t1, t1, dp, p, ctx) && BN_nnmod(t2, c, q, ctx) &&
              BN_mod_exp(t2, t2, dq, q, ctx) && BN_mod_sub(r, t1, t2, p, ctx) &&
              BN_mod_mul(r, r, qi, p, ctx) && BN_mul(r, r, q, ctx) && BN_add(r, r, t2);
    if (!ok) rc = EINVAL;
  }
  if (rc == 0 && BN_bn2lebinpad(r, out, (int)outlen) < 0) rc = ERANGE;
  ERR_clear_error();
  for (int i = 0; i < 6; i++) BN_clear_free(v[i]);
  BN_clear_free(r);
  BN_clear_free(t1);
  BN_clear_free(t2);
  BN_CTX_free(ctx);
  return rc;
}
