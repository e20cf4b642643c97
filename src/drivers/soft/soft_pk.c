/*
 * soft_pk.c - public-key operations of the software producer.
 *
 * The paper's five operations are written on OpenSSL's BIGNUM, because their
 * parameters arrive as bare integers (cryptodev's layout) and building an
 * EVP_PKEY per request would cost more than the arithmetic for small keys and
 * could not take a CRT key without its public exponent.  Every secret
 * exponent goes through BN_mod_exp_mont_consttime with BN_FLG_CONSTTIME set,
 * and CRT requests are blinded and checked when the key's public exponent is
 * a usual one (soft_blind.h).
 * The elliptic-curve operations go through EVP_PKEY (OSSL_PARAM /
 * EVP_PKEY_fromdata), so OpenSSL's hardened scalar multiplication does the
 * work; ECDSA keeps its contexts per thread (soft_ec.h).
 *
 * All OpenSSL objects come from a private library context with the default
 * provider, so that the host program's default context and its
 * configuration are left alone.  It is created on first registration and
 * kept until the process exits: OpenSSL keeps per-thread state for it (the
 * DRBGs that draw DSA and ECDSA nonces) in every worker thread that used it,
 * and that state is torn down when the thread exits, which may be after the
 * last producer is gone; freeing the context earlier makes that teardown
 * touch freed memory.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/provider.h>

#include <ocf/driver.h>
#include <ocf/pk.h>

#include "drivers/soft/soft_blind.h"
#include "drivers/soft/soft_ec.h"
#include "drivers/soft/soft_pk.h"

/* --- module state -------------------------------------------------------- */

struct curve {
  const char *group; /* OpenSSL group name */
  int nid;
  size_t bytes; /* field and order size */
};

static const struct curve curve_p256 = {"P-256", NID_X9_62_prime256v1, 32};
static const struct curve curve_p384 = {"P-384", NID_secp384r1, 48};

/* Written once under pk_lock, before the first ocf_kregister; read without
 * it by kprocess, which the framework only calls after that. */
static pthread_mutex_t pk_lock = PTHREAD_MUTEX_INITIALIZER;
static OSSL_LIB_CTX *pk_libctx;
static OSSL_PROVIDER *pk_prov;
/* The curves, built once: ECDH multiplies on them directly (see op_ecdh).
 * An EC_GROUP is only read after it is built, which OpenSSL allows from
 * several threads at once. */
static EC_GROUP *pk_group_p256, *pk_group_p384;

/* fail logs why a request is refused (debug level: the errno is the
 * consumer's answer) and returns err. */
/* The sentence of the last fail() of the request this thread runs: handed
 * to the framework (ocf_kexplain) when the request fails. */
static _Thread_local char why[200];

static int fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  return err;
}

/* An OpenSSL call failed for a reason the request cannot explain. */
static int ossl_fail(const char *what) {
  unsigned long e = ERR_peek_last_error();
  char buf[160] = "";
  if (e != 0) ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  ocf_log(2, "soft-pk: %s failed: %s", what, buf);
  snprintf(why, sizeof(why), "%s failed: %s", what, buf[0] ? buf : "no OpenSSL error queued");
  return ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE ? ENOMEM : EIO;
}

static void ctx_free_locked(void) {
  EC_GROUP_free(pk_group_p256);
  EC_GROUP_free(pk_group_p384);
  pk_group_p256 = pk_group_p384 = NULL;
  if (pk_prov != NULL) OSSL_PROVIDER_unload(pk_prov);
  pk_prov = NULL;
  OSSL_LIB_CTX_free(pk_libctx);
  pk_libctx = NULL;
}

static int ctx_new_locked(void) {
  pk_libctx = OSSL_LIB_CTX_new();
  if (pk_libctx == NULL) return ENOMEM;
  pk_prov = OSSL_PROVIDER_load(pk_libctx, "default");
  if (pk_prov != NULL) {
    pk_group_p256 = EC_GROUP_new_by_curve_name_ex(pk_libctx, NULL, curve_p256.nid);
    pk_group_p384 = EC_GROUP_new_by_curve_name_ex(pk_libctx, NULL, curve_p384.nid);
  }
  if (pk_prov == NULL || pk_group_p256 == NULL || pk_group_p384 == NULL) {
    int rc = ossl_fail("setting up the public-key library context");
    ctx_free_locked();
    return rc;
  }
  return 0;
}

int ocf_soft_pk_register(uint32_t hid) {
  pthread_mutex_lock(&pk_lock);
  if (pk_libctx == NULL) {
    int rc = ctx_new_locked();
    if (rc != 0) {
      pthread_mutex_unlock(&pk_lock);
      return rc;
    }
  }
  pthread_mutex_unlock(&pk_lock);

  /* The BIGNUM operations are bounded by the modulus size; the curve ones
   * take fixed-size keys but messages of any length (Ed25519), so the
   * framework must not route them by their largest input. */
  for (int op = 0; op < OCF_KOP_COUNT; op++) {
    size_t max = op <= OCF_KOP_DH_COMPUTE_KEY ? OCF_SOFT_PK_MAX_BITS : 0;
    int rc = ocf_kregister(hid, (enum ocf_kop)op, max, 0);
    if (rc != 0) return rc;
  }
  return 0;
}

/* --- parameters ---------------------------------------------------------- */

#define P_NONEMPTY 0x1               /* nbits 0 is EINVAL (digests, octet strings) */
#define P_SECRET 0x2                 /* BN_FLG_CONSTTIME */
#define P_NONZERO (0x4 | P_NONEMPTY) /* the value zero is EINVAL, whatever nbits says */

static size_t kp_len(const struct ocf_kparam *kp) { return (kp->nbits + 7) / 8; }

/* Bits set above nbits mean the caller gave a wrong nbits (a truncated
 * integer): refuse rather than compute with a value the caller did not mean. */
static int kp_check(const struct ocf_kreq *k, int i, unsigned flags) {
  const struct ocf_kparam *kp = &k->param[i];
  if (kp->nbits == 0) return (flags & P_NONEMPTY) ? fail(EINVAL, "input %d is empty", i) : 0;
  if (kp->p == NULL) return EINVAL;
  if (kp->nbits % 8 != 0 && (kp->p[kp->nbits / 8] >> (kp->nbits % 8)) != 0)
    return fail(EINVAL, "input %d has bits set above its nbits", i);
  return 0;
}

static int get_bn(const struct ocf_kreq *k, int i, BIGNUM *bn, unsigned flags) {
  int rc = kp_check(k, i, flags);
  if (rc != 0) return rc;
  const struct ocf_kparam *kp = &k->param[i];
  if (kp->nbits > INT_MAX - 7) return EMSGSIZE;
  if (kp->nbits == 0)
    BN_zero(bn);
  else if (BN_lebin2bn(kp->p, (int)kp_len(kp), bn) == NULL)
    return ENOMEM;
  /* nbits may be longer than the value (only bits above it are refused):
   * zero bytes with a length are zero too */
  if ((flags & P_NONZERO) == P_NONZERO && BN_is_zero(bn))
    return fail(EINVAL, "input %d is zero", i);
  if (flags & P_SECRET) BN_set_flags(bn, BN_FLG_CONSTTIME);
  return 0;
}

/* Output i must hold need bytes; checked before computing anything. */
static int out_cap(const struct ocf_kreq *k, int i, size_t need) {
  const struct ocf_kparam *kp = &k->param[i];
  if (kp->p == NULL || kp_len(kp) < need)
    return fail(ENOSPC, "output %d holds %zu bytes, needs %zu", i, kp_len(kp), need);
  return 0;
}

static void put_bn(struct ocf_kreq *k, int i, const BIGNUM *bn, size_t need) {
  struct ocf_kparam *kp = &k->param[i];
  BN_bn2lebinpad(bn, kp->p, (int)need);
  memset(kp->p + need, 0, kp_len(kp) - need);
}

/* Octet-string input (X25519, Ed25519 keys) of exactly len bytes (RFC 7748,
 * RFC 8032: a shorter key is not a key), copied into out[len]. */
static int get_octets(const struct ocf_kreq *k, int i, uint8_t *out, size_t len) {
  int rc = kp_check(k, i, P_NONEMPTY);
  if (rc != 0) return rc;
  const struct ocf_kparam *kp = &k->param[i];
  if (kp->nbits != 8 * len)
    return fail(EINVAL, "input %d is %zu bits, must be %zu octets", i, kp->nbits, len);
  memcpy(out, kp->p, kp_len(kp));
  return 0;
}

/* The digest as the integer DSA uses: its leftmost bits(q) bits (FIPS 186-4
 * 4.6), the digest being (nbits+7)/8 bytes long. */
static int get_digest_bn(const struct ocf_kreq *k, int i, const BIGNUM *q, BIGNUM *z) {
  int rc = get_bn(k, i, z, P_NONEMPTY); /* an all-zero digest is a digest */
  if (rc != 0) return rc;
  size_t dbits = 8 * kp_len(&k->param[i]);
  size_t qbits = (size_t)BN_num_bits(q);
  if (dbits > qbits && !BN_rshift(z, z, (int)(dbits - qbits))) return ENOMEM;
  return 0;
}

/* The digest as the big-endian octets EVP's ECDSA takes; *out is freed by
 * the caller. */
static int get_digest_octets(const struct ocf_kreq *k, int i, uint8_t **out, size_t *len) {
  int rc = kp_check(k, i, P_NONEMPTY);
  if (rc != 0) return rc;
  const struct ocf_kparam *kp = &k->param[i];
  size_t n = kp_len(kp);
  uint8_t *d = malloc(n);
  if (d == NULL) return ENOMEM;
  for (size_t j = 0; j < n; j++) d[j] = kp->p[n - 1 - j];
  *out = d;
  *len = n;
  return 0;
}

/* --- the paper's five, on BIGNUM ----------------------------------------- */

static BN_MONT_CTX *mont_new(const BIGNUM *m, BN_CTX *ctx) {
  BN_MONT_CTX *mont = BN_MONT_CTX_new();
  if (mont != NULL && !BN_MONT_CTX_set(mont, m, ctx)) {
    BN_MONT_CTX_free(mont);
    mont = NULL;
  }
  return mont;
}

atomic_ulong ocf_soft_pk_vartime;

/* is_public_exponent: the exponents RSA keys publish (FIPS 186-4's 65537,
 * and the small ones older keys use).  A MOD_EXP request does not say whether
 * its exponent is secret (an RSA private key without CRT, a DH private
 * value): only one of these values, known to everyone, may take the
 * variable-time path; any other exponent, however short, is treated as
 * secret. */
static bool is_public_exponent(const BIGNUM *e) {
  static const unsigned long pub[] = {3, 5, 7, 11, 17, 35, 257, 65537};
  if (BN_num_bits(e) > 17) return false;
  BN_ULONG w = BN_get_word(e);
  for (size_t i = 0; i < sizeof(pub) / sizeof(pub[0]); i++)
    if (w == pub[i]) return true;
  return false;
}

static int op_mod_exp(struct ocf_kreq *k, BN_CTX *ctx) {
  BIGNUM *b = BN_CTX_get(ctx), *e = BN_CTX_get(ctx), *m = BN_CTX_get(ctx), *r = BN_CTX_get(ctx);
  int rc;
  if (r == NULL) return ENOMEM;
  if ((rc = get_bn(k, 0, b, 0)) != 0 || (rc = get_bn(k, 1, e, 0)) != 0 ||
      (rc = get_bn(k, 2, m, P_NONZERO)) != 0)
    return rc;
  if (!BN_is_odd(m)) return fail(EINVAL, "mod-exp: modulus is zero or even");
  if (BN_cmp(b, m) >= 0) return fail(EINVAL, "mod-exp: base >= modulus");
  size_t need = (size_t)BN_num_bytes(m);
  if ((rc = out_cap(k, 3, need)) != 0) return rc;
  int ok;
  if (!is_public_exponent(e)) {
    BN_set_flags(e, BN_FLG_CONSTTIME);
    ok = BN_mod_exp_mont_consttime(r, b, e, m, ctx, NULL);
  } else {
    atomic_fetch_add_explicit(&ocf_soft_pk_vartime, 1, memory_order_relaxed);
    ok = BN_mod_exp_mont(r, b, e, m, ctx, NULL);
  }
  if (!ok) return ossl_fail("mod-exp");
  put_bn(k, 3, r, need);
  return 0;
}

static int op_mod_exp_crt(struct ocf_kreq *k, BN_CTX *ctx) {
  BIGNUM *p = BN_CTX_get(ctx), *q = BN_CTX_get(ctx), *x = BN_CTX_get(ctx);
  BIGNUM *dp = BN_CTX_get(ctx), *dq = BN_CTX_get(ctx), *qi = BN_CTX_get(ctx);
  BIGNUM *n = BN_CTX_get(ctx), *xp = BN_CTX_get(ctx), *xq = BN_CTX_get(ctx);
  BIGNUM *m1 = BN_CTX_get(ctx), *m2 = BN_CTX_get(ctx), *h = BN_CTX_get(ctx);
  BIGNUM *xb = BN_CTX_get(ctx), *e = BN_CTX_get(ctx), *ub = BN_CTX_get(ctx);
  BIGNUM *chk = BN_CTX_get(ctx), *hp = BN_CTX_get(ctx), *np = BN_CTX_get(ctx);
  BIGNUM *qim = BN_CTX_get(ctx);
  BN_MONT_CTX *mp = NULL, *mq = NULL;
  int rc;
  if (qim == NULL) return ENOMEM;
  if ((rc = get_bn(k, 0, p, P_NONZERO | P_SECRET)) != 0 ||
      (rc = get_bn(k, 1, q, P_NONZERO | P_SECRET)) != 0 || (rc = get_bn(k, 2, x, 0)) != 0 ||
      (rc = get_bn(k, 3, dp, P_NONZERO | P_SECRET)) != 0 ||
      (rc = get_bn(k, 4, dq, P_NONZERO | P_SECRET)) != 0 ||
      (rc = get_bn(k, 5, qi, P_NONZERO | P_SECRET)) != 0)
    return rc;
  if (!BN_is_odd(p) || !BN_is_odd(q) || BN_is_one(p) || BN_is_one(q))
    return fail(EINVAL, "mod-exp-crt: p or q is not an odd number > 1");
  BN_set_flags(n, BN_FLG_CONSTTIME);
  if (!BN_mul(n, p, q, ctx)) return ENOMEM;
  if (BN_cmp(x, n) >= 0) return fail(EINVAL, "mod-exp-crt: x >= p*q");
  size_t need = (size_t)BN_num_bytes(n);
  if ((rc = out_cap(k, 6, need)) != 0) return rc;
  BN_set_flags(xp, BN_FLG_CONSTTIME);
  BN_set_flags(xq, BN_FLG_CONSTTIME);
  BN_set_flags(m1, BN_FLG_CONSTTIME);
  BN_set_flags(m2, BN_FLG_CONSTTIME);
  BN_set_flags(h, BN_FLG_CONSTTIME);
  BN_set_flags(xb, BN_FLG_CONSTTIME);
  BN_set_flags(qim, BN_FLG_CONSTTIME);
  if (!BN_copy(xb, x)) return ENOMEM;
  /* Blinded when the key's public exponent is a usual one (soft_blind.h). */
  BN_MONT_CTX *mn = BN_MONT_CTX_new();
  mp = BN_MONT_CTX_new();
  mq = BN_MONT_CTX_new();
  int blind = mn && mp && mq ? soft_blind_in(pk_libctx, p, q, dp, dq, n, xb, e, ub, mn, mp, mq, ctx)
                             : ENOMEM;
  if (blind != 0 && blind != ENOENT) {
    BN_MONT_CTX_free(mn);
    BN_MONT_CTX_free(mp);
    BN_MONT_CTX_free(mq);
    return blind == ENOMEM ? ENOMEM : ossl_fail("mod-exp-crt blinding");
  }
  rc = EIO;
  /* The _x2 form runs both half-size exponentiations together where the
   * CPU allows (AVX-512 IFMA), as OpenSSL's own RSA does; elsewhere it is
   * two consttime calls. */
  if (mp == NULL || mq == NULL || !BN_nnmod(xp, xb, p, ctx) || !BN_nnmod(xq, xb, q, ctx) ||
      !BN_mod_exp_mont_consttime_x2(m1, xp, dp, p, mp, m2, xq, dq, q, mq, ctx) ||
      !BN_mod_sub(h, m1, m2, p, ctx) ||
      /* h * qinv mod p in Montgomery form, as OpenSSL's RSA does: no
       * division depends on the secret values */
      !BN_nnmod(qim, qi, p, ctx) || !BN_to_montgomery(qim, qim, mp, ctx) ||
      !BN_mod_mul_montgomery(h, h, qim, mp, ctx) || !BN_mul(h, h, q, ctx) || !BN_add(h, h, m2) ||
      (blind == 0 && !BN_mod_mul_montgomery(h, h, ub, mn, ctx))) {
    rc = ossl_fail("mod-exp-crt");
  } else if (blind == 0 &&
             /* the check works on public values: copies without the
              * constant-time flag take the 17-multiplication path */
             (!BN_copy(hp, h) || !BN_copy(np, n) || !BN_mod_exp_mont(chk, hp, e, np, ctx, mn) ||
              BN_cmp(chk, x) != 0)) {
    /* A wrong CRT result (a fault, or a qinv that does not belong to p
     * and q) must not leave: it would give away a factor of n. */
    rc = fail(EIO, "mod-exp-crt: the result does not verify with e");
  } else {
    put_bn(k, 6, h, need);
    rc = 0;
  }
  BN_MONT_CTX_free(mp);
  BN_MONT_CTX_free(mq);
  BN_MONT_CTX_free(mn);
  return rc;
}

/* Domain checks shared by DSA sign and verify: p, q odd, q < p, 1 < g < p. */
static int dsa_domain(const BIGNUM *p, const BIGNUM *q, const BIGNUM *g) {
  if (!BN_is_odd(p) || !BN_is_odd(q) || BN_is_one(q) || BN_cmp(q, p) >= 0)
    return fail(EINVAL, "dsa: p, q not odd with q < p");
  if (BN_is_one(g) || BN_cmp(g, p) >= 0) return fail(EINVAL, "dsa: g not in (1, p)");
  return 0;
}

static int rand_nonzero_below(BIGNUM *r, const BIGNUM *range, BN_CTX *ctx) {
  for (int i = 0; i < 64; i++) {
    if (!BN_priv_rand_range_ex(r, range, 0, ctx)) return ossl_fail("random");
    if (!BN_is_zero(r)) return 0;
  }
  return EIO;
}

static int op_dsa_sign(struct ocf_kreq *k, BN_CTX *ctx) {
  BIGNUM *p = BN_CTX_get(ctx), *q = BN_CTX_get(ctx), *g = BN_CTX_get(ctx), *x = BN_CTX_get(ctx);
  BIGNUM *z = BN_CTX_get(ctx), *kk = BN_CTX_get(ctx), *kq = BN_CTX_get(ctx), *r = BN_CTX_get(ctx);
  BIGNUM *s = BN_CTX_get(ctx), *kinv = BN_CTX_get(ctx), *qm2 = BN_CTX_get(ctx);
  BIGNUM *b = BN_CTX_get(ctx), *binv = BN_CTX_get(ctx), *t = BN_CTX_get(ctx), *u = BN_CTX_get(ctx);
  BN_MONT_CTX *mp = NULL, *mq = NULL;
  int rc;
  if (u == NULL) return ENOMEM;
  if ((rc = get_bn(k, 1, p, P_NONZERO)) != 0 || (rc = get_bn(k, 2, q, P_NONZERO)) != 0 ||
      (rc = get_bn(k, 3, g, P_NONZERO)) != 0 || (rc = get_bn(k, 4, x, P_NONZERO | P_SECRET)) != 0)
    return rc;
  if ((rc = dsa_domain(p, q, g)) != 0) return rc;
  if (BN_cmp(x, q) >= 0) return fail(EINVAL, "dsa: private key not below q");
  if ((rc = get_digest_bn(k, 0, q, z)) != 0) return rc;
  size_t need = (size_t)BN_num_bytes(q);
  if ((rc = out_cap(k, 5, need)) != 0 || (rc = out_cap(k, 6, need)) != 0) return rc;
  BN_set_flags(kk, BN_FLG_CONSTTIME);
  BN_set_flags(kq, BN_FLG_CONSTTIME);
  BN_set_flags(kinv, BN_FLG_CONSTTIME);
  mp = mont_new(p, ctx);
  mq = mont_new(q, ctx);
  if (mp == NULL || mq == NULL || !BN_copy(qm2, q) || !BN_sub_word(qm2, 2)) {
    rc = ossl_fail("dsa-sign setup");
    goto out;
  }
  rc = EIO;
  for (int tries = 0; tries < 32; tries++) {
    if ((rc = rand_nonzero_below(kk, q, ctx)) != 0 || (rc = rand_nonzero_below(b, q, ctx)) != 0)
      goto out;
    /* k + q or k + 2q has exactly bits(q)+1 bits, so the exponentiation's
     * length says nothing about k. */
    if (!BN_add(kq, kk, q) || (BN_num_bits(kq) <= BN_num_bits(q) && !BN_add(kq, kq, q)) ||
        !BN_mod_exp_mont_consttime(r, g, kq, p, ctx, mp) || !BN_nnmod(r, r, q, ctx)) {
      rc = ossl_fail("dsa-sign r");
      goto out;
    }
    if (BN_is_zero(r)) continue;
    /* s = k^-1 (z + x r) mod q, computed on values blinded by b so the
     * multiplications never see x or z alone; k^-1 by Fermat, constant time. */
    if (!BN_mod_exp_mont_consttime(kinv, kk, qm2, q, ctx, mq) || !BN_mod_mul(t, x, b, q, ctx) ||
        !BN_mod_mul(t, t, r, q, ctx) || !BN_mod_mul(u, z, b, q, ctx) ||
        !BN_mod_add(s, t, u, q, ctx) || !BN_mod_mul(s, s, kinv, q, ctx) ||
        BN_mod_inverse(binv, b, q, ctx) == NULL || !BN_mod_mul(s, s, binv, q, ctx)) {
      ERR_clear_error();
      rc = fail(EINVAL, "dsa-sign: no inverse mod q (is q prime?)");
      goto out;
    }
    if (BN_is_zero(s)) continue;
    put_bn(k, 5, r, need);
    put_bn(k, 6, s, need);
    rc = 0;
    goto out;
  }
  /* In a DSA group r and s are 0 with probability about 1/q each: 32 in a
   * row say the parameters are no such group. */
  rc = fail(EINVAL, "dsa-sign: r or s was 0 in 32 tries: p, q, g are no DSA group");
out:
  BN_MONT_CTX_free(mp);
  BN_MONT_CTX_free(mq);
  return rc;
}

static int op_dsa_verify(struct ocf_kreq *k, BN_CTX *ctx) {
  BIGNUM *p = BN_CTX_get(ctx), *q = BN_CTX_get(ctx), *g = BN_CTX_get(ctx), *y = BN_CTX_get(ctx);
  BIGNUM *r = BN_CTX_get(ctx), *s = BN_CTX_get(ctx), *z = BN_CTX_get(ctx), *w = BN_CTX_get(ctx);
  BIGNUM *u1 = BN_CTX_get(ctx), *u2 = BN_CTX_get(ctx), *v = BN_CTX_get(ctx);
  int rc;
  if (v == NULL) return ENOMEM;
  if ((rc = get_bn(k, 1, p, P_NONZERO)) != 0 || (rc = get_bn(k, 2, q, P_NONZERO)) != 0 ||
      (rc = get_bn(k, 3, g, P_NONZERO)) != 0 || (rc = get_bn(k, 4, y, P_NONZERO)) != 0 ||
      (rc = get_bn(k, 5, r, 0)) != 0 || (rc = get_bn(k, 6, s, 0)) != 0)
    return rc;
  if ((rc = dsa_domain(p, q, g)) != 0) return rc;
  if (BN_is_one(y) || BN_cmp(y, p) >= 0) return fail(EINVAL, "dsa: y not in (1, p)");
  if ((rc = get_digest_bn(k, 0, q, z)) != 0) return rc;
  k->status = 0;
  if (BN_is_zero(r) || BN_is_zero(s) || BN_cmp(r, q) >= 0 || BN_cmp(s, q) >= 0) return 0;
  if (BN_mod_inverse(w, s, q, ctx) == NULL) {
    ERR_clear_error();
    return 0;
  }
  if (!BN_mod_mul(u1, z, w, q, ctx) || !BN_mod_mul(u2, r, w, q, ctx) ||
      !BN_mod_exp2_mont(v, g, u1, y, u2, p, ctx, NULL) || !BN_nnmod(v, v, q, ctx))
    return ossl_fail("dsa-verify");
  k->status = BN_cmp(v, r) == 0;
  return 0;
}

static int op_dh(struct ocf_kreq *k, BN_CTX *ctx) {
  BIGNUM *x = BN_CTX_get(ctx), *y = BN_CTX_get(ctx), *p = BN_CTX_get(ctx);
  BIGNUM *pm1 = BN_CTX_get(ctx), *z = BN_CTX_get(ctx);
  int rc;
  if (z == NULL) return ENOMEM;
  if ((rc = get_bn(k, 0, x, P_NONZERO | P_SECRET)) != 0 || (rc = get_bn(k, 1, y, P_NONZERO)) != 0 ||
      (rc = get_bn(k, 2, p, P_NONZERO)) != 0)
    return rc;
  if (!BN_is_odd(p) || BN_is_one(p)) return fail(EINVAL, "dh: p is not an odd number > 1");
  if (!BN_copy(pm1, p) || !BN_sub_word(pm1, 1)) return ENOMEM;
  /* 1 and p-1 would give away the shared value (subgroup of order 2). */
  if (BN_is_one(y) || BN_cmp(y, pm1) >= 0)
    return fail(EINVAL, "dh: peer public value not in (1, p-1)");
  size_t need = (size_t)BN_num_bytes(p);
  if ((rc = out_cap(k, 3, need)) != 0) return rc;
  BN_set_flags(z, BN_FLG_CONSTTIME);
  if (!BN_mod_exp_mont_consttime(z, y, x, p, ctx, NULL)) return ossl_fail("dh");
  put_bn(k, 3, z, need);
  return 0;
}

/* --- elliptic curves, through EVP_PKEY ----------------------------------- */

/* The uncompressed encoding 04 || X || Y; false if a coordinate is too long
 * to be one. */
static bool ec_point(const struct curve *c, const BIGNUM *qx, const BIGNUM *qy, uint8_t *out) {
  out[0] = 0x04;
  return BN_bn2binpad(qx, out + 1, (int)c->bytes) >= 0 &&
         BN_bn2binpad(qy, out + 1 + c->bytes, (int)c->bytes) >= 0;
}

static const EC_GROUP *ec_group(const struct curve *c) {
  return c == &curve_p256 ? pk_group_p256 : pk_group_p384;
}

static const BIGNUM *ec_order(const struct curve *c) { return EC_GROUP_get0_order(ec_group(c)); }

static int op_ecdsa_sign(struct ocf_kreq *k, BN_CTX *ctx, const struct curve *c) {
  BIGNUM *d = BN_CTX_get(ctx);
  uint8_t *dg = NULL, der[256];
  size_t dlen = 0, derlen = sizeof(der);
  ECDSA_SIG *sig = NULL;
  int rc;
  if (d == NULL) return ENOMEM;
  if ((rc = get_bn(k, 1, d, P_NONZERO | P_SECRET)) != 0) return rc;
  if (BN_cmp(d, ec_order(c)) >= 0) return fail(EINVAL, "%s private scalar >= n", c->group);
  if ((rc = out_cap(k, 2, c->bytes)) != 0 || (rc = out_cap(k, 3, c->bytes)) != 0) return rc;
  if ((rc = get_digest_octets(k, 0, &dg, &dlen)) != 0) return rc;
  bool refused;
  EVP_PKEY_CTX *sc = soft_ec_sign_ctx(pk_libctx, c->group, c->bytes, d, &refused);
  if (sc == NULL) {
    rc = refused ? fail(EINVAL, "%s private key refused", c->group) : ENOMEM;
    goto out;
  }
  const unsigned char *pp = der;
  if (EVP_PKEY_sign(sc, der, &derlen, dg, dlen) <= 0 ||
      (sig = d2i_ECDSA_SIG(NULL, &pp, (long)derlen)) == NULL) {
    soft_ec_forget(sc);
    rc = ossl_fail("ecdsa-sign");
    goto out;
  }
  put_bn(k, 2, ECDSA_SIG_get0_r(sig), c->bytes);
  put_bn(k, 3, ECDSA_SIG_get0_s(sig), c->bytes);
  rc = 0;
out:
  ECDSA_SIG_free(sig);
  free(dg);
  return rc;
}

static int op_ecdsa_verify(struct ocf_kreq *k, BN_CTX *ctx, const struct curve *c) {
  BIGNUM *qx = BN_CTX_get(ctx), *qy = BN_CTX_get(ctx), *r = BN_CTX_get(ctx), *s = BN_CTX_get(ctx);
  uint8_t *dg = NULL, *der = NULL, pub[1 + 2 * 66];
  size_t dlen = 0;
  EVP_PKEY_CTX *vc = NULL;
  ECDSA_SIG *sig = NULL;
  bool refused = false;
  int rc;
  if (s == NULL) return ENOMEM;
  if ((rc = get_bn(k, 1, qx, 0)) != 0 || (rc = get_bn(k, 2, qy, 0)) != 0 ||
      (rc = get_bn(k, 3, r, 0)) != 0 || (rc = get_bn(k, 4, s, 0)) != 0)
    return rc;
  if ((rc = get_digest_octets(k, 0, &dg, &dlen)) != 0) return rc;
  k->status = 0;
  /* A key off the curve or an r, s that cannot be a signature: "invalid". */
  if (!ec_point(c, qx, qy, pub) || (size_t)BN_num_bytes(r) > c->bytes ||
      (size_t)BN_num_bytes(s) > c->bytes)
    goto out;
  vc = soft_ec_verify_ctx(pk_libctx, c->group, pub, 1 + 2 * c->bytes, &refused);
  if (vc == NULL) {
    if (!refused) rc = ENOMEM;
    goto out;
  }
  sig = ECDSA_SIG_new();
  BIGNUM *rr = BN_dup(r), *ss = BN_dup(s);
  if (sig == NULL || rr == NULL || ss == NULL || !ECDSA_SIG_set0(sig, rr, ss)) {
    BN_free(rr);
    BN_free(ss);
    rc = ENOMEM;
    goto out;
  }
  int derlen = i2d_ECDSA_SIG(sig, &der);
  if (derlen <= 0) {
    rc = ossl_fail("ecdsa-verify setup");
    goto out;
  }
  k->status = EVP_PKEY_verify(vc, der, (size_t)derlen, dg, dlen) == 1;
out:
  ERR_clear_error();
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  free(dg);
  return rc;
}

/* Shared secret of own (a private key) and peer into out[len]; EINVAL when
 * OpenSSL refuses the peer (or an all-zero X25519 result). */
static int derive(EVP_PKEY *own, EVP_PKEY *peer, uint8_t *out, size_t len) {
  EVP_PKEY_CTX *dc = EVP_PKEY_CTX_new_from_pkey(pk_libctx, own, NULL);
  size_t n = len;
  int rc = 0;
  /* The peer was checked on import (on the curve; the NIST curves have
   * cofactor 1), so the costly full public-key check is skipped. */
  if (dc == NULL || EVP_PKEY_derive_init(dc) <= 0) {
    rc = ossl_fail("derive setup");
  } else if (EVP_PKEY_derive_set_peer_ex(dc, peer, 0) <= 0 || EVP_PKEY_derive(dc, out, &n) <= 0 ||
             n != len) {
    ERR_clear_error();
    rc = fail(EINVAL, "key agreement refused the peer key");
  }
  EVP_PKEY_CTX_free(dc);
  return rc;
}

/* ECDH multiplies the peer's point by the scalar on the curve built at
 * start-up, as OpenSSL's own derive does (EC_POINT_mul: a constant-time
 * ladder for the scalar), rather than through two EVP_PKEYs: each of those
 * builds its own copy of the curve, and the private one derives a public
 * point nobody needs, which made a P-256 agreement cost twice the
 * multiplication.  The peer is decoded from its uncompressed encoding, so
 * it is checked as an imported key is: coordinates below p, on the curve. */
static int op_ecdh(struct ocf_kreq *k, BN_CTX *ctx, const struct curve *c) {
  BIGNUM *d = BN_CTX_get(ctx), *qx = BN_CTX_get(ctx), *qy = BN_CTX_get(ctx);
  BIGNUM *sx = BN_CTX_get(ctx);
  const EC_GROUP *g = ec_group(c);
  uint8_t pub[1 + 2 * 66], sec[66];
  EC_POINT *peer = NULL, *shared = NULL;
  int rc;
  if (sx == NULL) return ENOMEM;
  if ((rc = get_bn(k, 0, d, P_NONZERO | P_SECRET)) != 0 || (rc = get_bn(k, 1, qx, 0)) != 0 ||
      (rc = get_bn(k, 2, qy, 0)) != 0)
    return rc;
  if (BN_cmp(d, ec_order(c)) >= 0) return fail(EINVAL, "%s private scalar >= n", c->group);
  if ((rc = out_cap(k, 3, c->bytes)) != 0) return rc;
  if ((peer = EC_POINT_new(g)) == NULL || (shared = EC_POINT_new(g)) == NULL) {
    rc = ENOMEM;
    goto out;
  }
  if (!ec_point(c, qx, qy, pub) || !EC_POINT_oct2point(g, peer, pub, 1 + 2 * c->bytes, ctx)) {
    ERR_clear_error();
    rc = fail(EINVAL, "%s peer key is not a point of the curve", c->group);
    goto out;
  }
  /* the cofactor is 1: a point of the curve other than infinity has order
   * n, and d is in [1, n), so the product is never infinity */
  if (!EC_POINT_mul(g, shared, NULL, peer, d, ctx) ||
      !EC_POINT_get_affine_coordinates(g, shared, sx, NULL, ctx) ||
      BN_bn2binpad(sx, sec, (int)c->bytes) < 0) {
    ERR_clear_error();
    rc = fail(EINVAL, "key agreement refused the peer key");
    goto out;
  }
  /* sec is the big-endian x coordinate; the parameter is little-endian. */
  struct ocf_kparam *o = &k->param[3];
  for (size_t i = 0; i < c->bytes; i++) o->p[i] = sec[c->bytes - 1 - i];
  memset(o->p + c->bytes, 0, kp_len(o) - c->bytes);
out:
  OPENSSL_cleanse(sec, sizeof(sec));
  BN_clear(sx);
  EC_POINT_clear_free(shared);
  EC_POINT_free(peer);
  return rc;
}

static int op_x25519(struct ocf_kreq *k) {
  uint8_t priv[32], u[32], sec[32];
  EVP_PKEY *own = NULL, *peer = NULL;
  int rc;
  if ((rc = get_octets(k, 0, priv, 32)) != 0 || (rc = get_octets(k, 1, u, 32)) != 0 ||
      (rc = out_cap(k, 2, 32)) != 0)
    goto out;
  /* Importing a bare scalar makes OpenSSL compute its public key, which
   * costs as much as the agreement; the derive reads only the scalar and
   * the peer's key, so ours is imported with a placeholder public part.
   * The key lives for this one derive. */
  static const uint8_t placeholder[32];
  own = soft_ecx_key(pk_libctx, SOFT_X25519, priv, placeholder);
  peer = soft_ecx_key(pk_libctx, SOFT_X25519, NULL, u);
  if (own == NULL || peer == NULL) {
    rc = ossl_fail("x25519 keys");
    goto out;
  }
  if ((rc = derive(own, peer, sec, 32)) == 0) {
    struct ocf_kparam *o = &k->param[2];
    memcpy(o->p, sec, 32);
    memset(o->p + 32, 0, kp_len(o) - 32);
  }
out:
  OPENSSL_cleanse(priv, sizeof(priv));
  OPENSSL_cleanse(sec, sizeof(sec));
  EVP_PKEY_free(own);
  EVP_PKEY_free(peer);
  return rc;
}

/* An Ed25519 message: whole octets, possibly none. */
static int get_message(const struct ocf_kreq *k, int i, const uint8_t **m, size_t *len) {
  const struct ocf_kparam *kp = &k->param[i];
  if (kp->nbits % 8 != 0) return fail(EINVAL, "ed25519: message is not whole octets");
  *m = kp->nbits != 0 ? kp->p : (const uint8_t *)"";
  *len = kp->nbits / 8;
  return 0;
}

static int op_ed25519_sign(struct ocf_kreq *k) {
  uint8_t seed[32], sig[64];
  const uint8_t *msg = NULL;
  size_t mlen = 0, siglen = sizeof(sig);
  EVP_PKEY *pkey = NULL;
  EVP_MD_CTX *md = NULL;
  int rc;
  if ((rc = get_message(k, 0, &msg, &mlen)) != 0 || (rc = get_octets(k, 1, seed, 32)) != 0 ||
      (rc = out_cap(k, 2, 64)) != 0)
    goto out;
  bool refused;
  pkey = soft_ed25519_key(pk_libctx, seed, &refused); /* the cache's: not freed here */
  md = EVP_MD_CTX_new();
  if (pkey == NULL || md == NULL ||
      EVP_DigestSignInit_ex(md, NULL, NULL, pk_libctx, NULL, pkey, NULL) <= 0 ||
      EVP_DigestSign(md, sig, &siglen, msg, mlen) <= 0 || siglen != 64) {
    rc = ossl_fail("ed25519-sign");
    goto out;
  }
  struct ocf_kparam *o = &k->param[2];
  memcpy(o->p, sig, 64);
  memset(o->p + 64, 0, kp_len(o) - 64);
out:
  OPENSSL_cleanse(seed, sizeof(seed));
  EVP_MD_CTX_free(md);
  return rc;
}

static int op_ed25519_verify(struct ocf_kreq *k) {
  uint8_t pub[32], sig[64];
  const uint8_t *msg = NULL;
  size_t mlen = 0;
  EVP_PKEY *pkey = NULL;
  EVP_MD_CTX *md = NULL;
  int rc;
  if ((rc = get_message(k, 0, &msg, &mlen)) != 0 || (rc = get_octets(k, 1, pub, 32)) != 0)
    return rc;
  k->status = 0;
  /* A signature that is not exactly 64 octets cannot be valid: not an error
   * (RFC 8032 5.1.7), and never padded into one. */
  if (k->param[2].nbits != 512 || k->param[2].p == NULL) return 0;
  memcpy(sig, k->param[2].p, 64);
  pkey = soft_ecx_key(pk_libctx, SOFT_ED25519, NULL, pub);
  md = EVP_MD_CTX_new();
  if (pkey == NULL || md == NULL ||
      EVP_DigestVerifyInit_ex(md, NULL, NULL, pk_libctx, NULL, pkey, NULL) <= 0) {
    rc = ossl_fail("ed25519-verify setup");
  } else {
    k->status = EVP_DigestVerify(md, sig, 64, msg, mlen) == 1;
    ERR_clear_error();
  }
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(pkey);
  return rc;
}

/* --- dispatch ------------------------------------------------------------ */

static int pk_run(struct ocf_kreq *k) {
  int in, out;
  if (ocf_kop_params(k->op, &in, &out) != 0) return ENOTSUP;
  if (k->iparams != in || k->oparams != out) {
    ocf_log(3, "soft-pk: %s takes %d inputs and %d outputs, got %d and %d", ocf_kop_name(k->op), in,
            out, k->iparams, k->oparams);
    return EINVAL;
  }
  if (pk_libctx == NULL) return ENXIO; /* kprocess without ocf_soft_pk_register */
  bool bignum = k->op <= OCF_KOP_DH_COMPUTE_KEY;
  for (int i = 0; i < in; i++) {
    /* The Ed25519 message (input 0) is the only unbounded input. */
    bool msg = i == 0 && (k->op == OCF_KOP_ED25519_SIGN || k->op == OCF_KOP_ED25519_VERIFY);
    if (!msg && k->param[i].nbits > OCF_SOFT_PK_MAX_BITS)
      return bignum ? EMSGSIZE : fail(EINVAL, "%s input too long", ocf_kop_name(k->op));
  }
  switch ((int)k->op) {
    case OCF_KOP_X25519:
      return op_x25519(k);
    case OCF_KOP_ED25519_SIGN:
      return op_ed25519_sign(k);
    case OCF_KOP_ED25519_VERIFY:
      return op_ed25519_verify(k);
    default:
      break;
  }
  BN_CTX *ctx = BN_CTX_secure_new_ex(pk_libctx);
  int rc;
  if (ctx == NULL) return ENOMEM;
  BN_CTX_start(ctx);
  switch ((int)k->op) {
    case OCF_KOP_MOD_EXP:
      rc = op_mod_exp(k, ctx);
      break;
    case OCF_KOP_MOD_EXP_CRT:
      rc = op_mod_exp_crt(k, ctx);
      break;
    case OCF_KOP_DSA_SIGN:
      rc = op_dsa_sign(k, ctx);
      break;
    case OCF_KOP_DSA_VERIFY:
      rc = op_dsa_verify(k, ctx);
      break;
    case OCF_KOP_DH_COMPUTE_KEY:
      rc = op_dh(k, ctx);
      break;
    case OCF_KOP_ECDSA_P256_SIGN:
      rc = op_ecdsa_sign(k, ctx, &curve_p256);
      break;
    case OCF_KOP_ECDSA_P256_VERIFY:
      rc = op_ecdsa_verify(k, ctx, &curve_p256);
      break;
    case OCF_KOP_ECDSA_P384_SIGN:
      rc = op_ecdsa_sign(k, ctx, &curve_p384);
      break;
    case OCF_KOP_ECDSA_P384_VERIFY:
      rc = op_ecdsa_verify(k, ctx, &curve_p384);
      break;
    case OCF_KOP_ECDH_P256:
      rc = op_ecdh(k, ctx, &curve_p256);
      break;
    case OCF_KOP_ECDH_P384:
      rc = op_ecdh(k, ctx, &curve_p384);
      break;
    default:
      rc = ENOTSUP;
      break;
  }
  BN_CTX_end(ctx);
  BN_CTX_free(ctx);
  return rc;
}

int ocf_soft_pk_kprocess(void *softc, struct ocf_kreq *kreq) {
  (void)softc;
  kreq->status = 0;
  why[0] = '\0';
  kreq->error = pk_run(kreq);
  if (kreq->error != 0) ocf_kexplain(kreq, "%s", why[0] ? why : ocf_strerror(kreq->error));
  ocf_kdone(kreq);
  return 0;
}

int ocf_soft_pk_compute(struct ocf_kreq *kreq) {
  pthread_mutex_lock(&pk_lock);
  int rc = pk_libctx == NULL ? ctx_new_locked() : 0;
  pthread_mutex_unlock(&pk_lock);
  if (rc != 0) return rc;
  kreq->status = 0;
  why[0] = '\0';
  return pk_run(kreq);
}
