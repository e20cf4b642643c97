/*
 * soft_blind.h - blinding for the software producer's RSA CRT requests.
 *
 * A CRT request carries p, q, dp, dq and qinv but no public exponent (the
 * cryptodev layout), and blinding needs one.  Real keys use one of a few
 * exponents, so the producer tries them against dp and dq; with e found it
 * blinds the input as OpenSSL's RSA does (x * r^e mod n in, times r^-1 out,
 * the factors squared between uses and renewed every 32) and checks the
 * result against e before releasing it, which also keeps a computation
 * fault from leaking the key.  The factors are kept per key in a small
 * cache, known by a SHA-256 of the key's parameters: making them costs a
 * modular inversion, as much as the signature itself at 1024 bits (the
 * Montgomery contexts for p and q are kept with them, as OpenSSL's RSA key
 * object keeps its own).  A key
 * whose e is none of the usual ones is computed unblinded, as before.
 */
#ifndef OCF_DRIVERS_SOFT_BLIND_H
#define OCF_DRIVERS_SOFT_BLIND_H

#include <openssl/bn.h>
#include <openssl/types.h>

/* soft_blind_in blinds xb (a copy of the input, < n) for the key (p, q, dp,
 * dq) of modulus n: on 0, xb holds x * r^e mod n, e the public exponent, mn
 * (the caller's) a Montgomery context for n, and unblind r^-1 mod n in its
 * Montgomery form: the result s' becomes s with
 * BN_mod_mul_montgomery(s, s', unblind, mn).  ENOENT: no usual exponent fits
 * (xb untouched).  On both, mp and mq (the caller's) get the key's cached
 * Montgomery contexts for p and q.  Other errno values are failures.
 * libctx is the producer's library context. */
int soft_blind_in(OSSL_LIB_CTX *libctx, const BIGNUM *p, const BIGNUM *q, const BIGNUM *dp,
                  const BIGNUM *dq, const BIGNUM *n, BIGNUM *xb, BIGNUM *e, BIGNUM *unblind,
                  BN_MONT_CTX *mn, BN_MONT_CTX *mp, BN_MONT_CTX *mq, BN_CTX *ctx);

#endif /* OCF_DRIVERS_SOFT_BLIND_H */
