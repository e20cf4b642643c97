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
#include <stdint.h>

/* SOFT_BLIND_TTL_NS: a key's cached factors and Montgomery contexts (derived
 * from p and q) are wiped once the key has not been used for this long, so
 * that a long-running daemon does not keep them after the key's clients
 * left.  Every request sweeps the cache. */
#define SOFT_BLIND_TTL_NS (30ull * 1000000000ull)

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

/* soft_blind_flush wipes the whole cache (the last user of the software
 * public-key code went away). */
void soft_blind_flush(void);

/* soft_blind_cached returns how many keys the cache holds after a sweep;
 * soft_blind_set_ttl changes the lifetime (tests). */
int soft_blind_cached(void);
void soft_blind_set_ttl(uint64_t ns);

#endif /* OCF_DRIVERS_SOFT_BLIND_H */
