/* kvalidate.c - the input contract of <ocf/pk.h>, checked once in the
 * framework before any producer sees a public-key request, so that every
 * producer (the software one, a card's public-key unit) gives the same
 * answer to the same malformed input.  What only a producer can know (its
 * operand size limit, whether a point lies on a curve) stays with it. */
#include <errno.h>
#include <limits.h>
#include <ocf/pk.h>
#include <openssl/bn.h>

#include "core/internal.h"

static size_t kp_len(const struct ocf_kparam *kp) { return (kp->nbits + 7) / 8; }

/* Bits set above nbits mean a wrong nbits (a truncated integer). */
static int top_bits(const struct ocf_kreq *k, int i) {
  const struct ocf_kparam *kp = &k->param[i];
  if (kp->nbits % 8 != 0 && (kp->p[kp->nbits / 8] >> (kp->nbits % 8)) != 0)
    return ocf_seterr(EINVAL, "%s: input %d has bits set above its nbits", ocf_kop_name(k->op), i);
  return 0;
}

/* A fixed-length octet string (X25519 and Ed25519 keys): exactly len octets. */
static int octets(const struct ocf_kreq *k, int i, size_t len, const char *what) {
  if (k->param[i].nbits != 8 * len)
    return ocf_seterr(EINVAL, "%s: %s must be %zu octets (nbits %zu), got nbits %zu",
                      ocf_kop_name(k->op), what, len, 8 * len, k->param[i].nbits);
  return 0;
}

static int nonzero(const struct ocf_kreq *k, int i, const char *what) {
  const struct ocf_kparam *kp = &k->param[i];
  for (size_t j = 0; j < kp_len(kp); j++)
    if (kp->p[j] != 0) return 0;
  return ocf_seterr(EINVAL, "%s: %s is zero", ocf_kop_name(k->op), what);
}

static int out_cap(const struct ocf_kreq *k, int i, size_t need) {
  if (kp_len(&k->param[i]) < need)
    return ocf_seterr(ENOSPC, "%s: output holds %zu bytes, needs %zu", ocf_kop_name(k->op),
                      kp_len(&k->param[i]), need);
  return 0;
}

static BIGNUM *bn(const struct ocf_kreq *k, int i) {
  const struct ocf_kparam *kp = &k->param[i];
  if (kp_len(kp) > INT_MAX) return NULL;
  return BN_lebin2bn(kp->p, (int)kp_len(kp), NULL);
}

/* The integer operations the cards serve too: ranges and output sizes. */
static int ranges(const struct ocf_kreq *k) {
  BIGNUM *v[6] = {0}, *t = BN_new();
  BN_CTX *ctx = BN_CTX_new();
  int n = k->op == OCF_KOP_MOD_EXP_CRT ? 6 : 3, rc = 0;
  if (t == NULL || ctx == NULL) rc = ENOMEM;
  for (int i = 0; i < n && rc == 0; i++)
    if ((v[i] = bn(k, i)) == NULL) rc = ENOMEM;
  const char *name = ocf_kop_name(k->op);
  if (rc != 0) {
    /* nothing more to check */
  } else if (k->op == OCF_KOP_MOD_EXP) {
    /* base, exponent, modulus */
    if (!BN_is_odd(v[2]))
      rc = ocf_seterr(EINVAL, "%s: modulus is zero or even", name);
    else if (BN_cmp(v[0], v[2]) >= 0)
      rc = ocf_seterr(EINVAL, "%s: base >= modulus", name);
    else
      rc = out_cap(k, 3, (size_t)BN_num_bytes(v[2]));
  } else if (k->op == OCF_KOP_MOD_EXP_CRT) {
    /* p, q, x, dp, dq, qinv */
    if (!BN_is_odd(v[0]) || !BN_is_odd(v[1]) || BN_is_one(v[0]) || BN_is_one(v[1]))
      rc = ocf_seterr(EINVAL, "%s: p or q is not an odd number > 1", name);
    else if ((rc = nonzero(k, 3, "dp")) != 0 || (rc = nonzero(k, 4, "dq")) != 0 ||
             (rc = nonzero(k, 5, "qinv")) != 0)
      ;
    else if (!BN_mul(t, v[0], v[1], ctx))
      rc = ENOMEM;
    else if (BN_cmp(v[2], t) >= 0)
      rc = ocf_seterr(EINVAL, "%s: x >= p*q", name);
    else
      rc = out_cap(k, 6, (size_t)BN_num_bytes(t));
  } else {
    /* DH: private x, peer y, p */
    if (!BN_is_odd(v[2]) || BN_is_one(v[2]))
      rc = ocf_seterr(EINVAL, "%s: p is not an odd number > 1", name);
    else if ((rc = nonzero(k, 0, "private value")) != 0)
      ;
    else if (!BN_sub(t, v[2], BN_value_one()) || BN_cmp(v[1], BN_value_one()) <= 0 ||
             BN_cmp(v[1], t) >= 0)
      rc = ocf_seterr(EINVAL, "%s: peer public value not in (1, p-1)", name);
    else
      rc = out_cap(k, 3, (size_t)BN_num_bytes(v[2]));
  }
  for (int i = 0; i < 6; i++) BN_clear_free(v[i]);
  BN_clear_free(t);
  BN_CTX_free(ctx);
  return rc;
}

int kvalidate(const struct ocf_kreq *k) {
  int in, out;
  if (ocf_kop_params(k->op, &in, &out) != 0) return 0; /* a producer's own operation */
  const char *name = ocf_kop_name(k->op);
  if (k->iparams != in || k->oparams != out)
    return ocf_seterr(EINVAL, "%s takes %d inputs and %d outputs, got %d and %d", name, in, out,
                      k->iparams, k->oparams);
  int rc;
  for (int i = 0; i < in; i++)
    if ((rc = top_bits(k, i)) != 0) return rc;
  switch ((int)k->op) {
    case OCF_KOP_MOD_EXP:
    case OCF_KOP_MOD_EXP_CRT:
    case OCF_KOP_DH_COMPUTE_KEY:
      return ranges(k);
    case OCF_KOP_X25519:
      if ((rc = octets(k, 0, 32, "private key")) != 0 || (rc = octets(k, 1, 32, "peer key")) != 0)
        return rc;
      return out_cap(k, 2, 32);
    case OCF_KOP_ED25519_SIGN:
      if (k->param[0].nbits % 8 != 0)
        return ocf_seterr(EINVAL, "%s: message is not whole octets", name);
      if ((rc = octets(k, 1, 32, "private key")) != 0) return rc;
      return out_cap(k, 2, 64);
    case OCF_KOP_ED25519_VERIFY:
      if (k->param[0].nbits % 8 != 0)
        return ocf_seterr(EINVAL, "%s: message is not whole octets", name);
      return octets(k, 1, 32, "public key"); /* a signature of another length is invalid */
    default:
      return 0;
  }
}
