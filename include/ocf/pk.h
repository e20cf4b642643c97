/*
 * pk.h - public-key requests for consumers: the parameter layout of every
 * operation id, the ids beyond OpenBSD's five, and helpers that build
 * struct ocf_kparam values from the big-endian byte strings most key formats
 * (and the NIST vector files) use.
 *
 * Big integers.  A parameter is a non-negative integer stored little-endian,
 * as in cryptodev's struct crparam: byte i of p holds bits 8i..8i+7, and
 * nbits counts the significant bits, so the value occupies
 * p[0 .. (nbits+7)/8).  Bits of the top byte above nbits must be zero (a
 * parameter whose top byte has them is EINVAL: it was truncated).  Input
 * parameters are only read, never written, although ocf_kparam.p is not const.
 *
 * Outputs.  An output parameter's nbits is its capacity: the producer writes
 * the result zero-padded over all (nbits+7)/8 bytes and leaves nbits as it
 * was.  The capacity must hold the largest possible result (the size of the
 * modulus, group order or field, as listed below), whatever the actual value:
 * otherwise the request fails with ENOSPC before any computation.
 *
 * Digests.  A digest parameter (DSA, ECDSA) is the hash output read as a
 * big-endian number and stored little-endian like every other parameter, with
 * nbits = 8 * the digest length: the length matters, because the leftmost
 * bits of the hash are used when it is longer than the group order (FIPS
 * 186-4).  ocf_kparam_digest() builds one.
 *
 * Octet strings.  X25519 and Ed25519 keys, messages and signatures are the
 * octet strings of RFC 7748 / RFC 8032, passed verbatim (p points at the
 * octets, nbits = 8 * length).  Their keys are little-endian numbers already,
 * so this agrees with the convention above.  ocf_kparam_octets() builds one.
 *
 * Results.  kreq->error is 0 or an errno; a verify operation that ran sets
 * kreq->status to 1 (valid) or 0 (invalid): a wrong signature, a signature
 * value out of range or a public key that is not a point of the curve is a
 * clean "invalid", not an error.  Errors:
 *   EINVAL   wrong iparams/oparams for the operation; an empty (nbits 0)
 *            parameter where the value may not be zero; a zero or even
 *            modulus / prime where an odd one is needed; base >= modulus;
 *            a private key or public value outside its range; an ECDH or
 *            X25519 peer key that is not a valid point
 *   ENOSPC   an output parameter too small for the result
 *   EMSGSIZE a modulus larger than the producer supports (the software
 *            producer: 16384 bits).  Note: when no registered producer's
 *            maximum covers the request, ocf_kdispatch itself refuses it
 *            with ENODEV before any producer sees it.
 *   ENOTSUP  unknown operation id
 * The framework checks this contract in ocf_kdispatch, before any producer
 * sees the request (parameter counts, bits above nbits, the lengths of
 * octet strings, the ranges of MOD_EXP, MOD_EXP_CRT and DH, output
 * capacities), so every producer answers a malformed input the same way;
 * ocf_kdispatch then returns the error itself and no callback runs.  Octet
 * strings of fixed length (X25519 and Ed25519 keys) must be exactly that
 * long: a shorter one is EINVAL, never zero-padded, and an Ed25519
 * signature that is not exactly 64 octets verifies as invalid (status 0).
 * After a failed ocf_krun, ocf_errdetail() describes the failure.
 *
 * Side channels.  The software producer (and the modeled cards, which compute
 * with its code) uses OpenSSL's constant-time modular exponentiation for
 * every secret exponent (CRT exponents, DSA and DH private keys) and for
 * every MOD_EXP exponent except the well-known public RSA exponents (3, 5,
 * 7, 11, 17, 35, 257, 65537): a MOD_EXP request does not say whether its
 * exponent is secret, and a short secret must not leak through timing.  CRT
 * requests are blinded when the key's public exponent is one of those, the
 * CRT recombination multiplies by qinv in Montgomery form, and the result is
 * checked against the public exponent before it leaves (a wrong qinv or a
 * fault gives EIO, not a result that would factor the modulus).  The
 * per-key blinding state is wiped after 30 s without use and when the
 * software producer detaches.
 */
#ifndef OCF_PK_H
#define OCF_PK_H

#include <errno.h>
#include <ocf/ocf.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Parameter layouts.  "in" parameters are param[0 .. iparams), outputs follow
 * at param[iparams ..].  Sizes in brackets are the output capacity needed.
 *
 * OCF_KOP_MOD_EXP (0)          3 in, 1 out: base, exponent, modulus (odd)
 *                              -> base^exponent mod modulus [modulus bytes].
 *                              base < modulus.  base and exponent may be 0.
 * OCF_KOP_MOD_EXP_CRT (1)      6 in, 1 out: p, q, x, dp, dq, qinv
 *                              -> x^d mod p*q [bytes of p*q], with
 *                              dp = d mod (p-1), dq = d mod (q-1),
 *                              qinv = q^-1 mod p (PKCS #1's coefficient);
 *                              p, q odd; x < p*q.  This is the order the
 *                              cryptodev consumers (OpenSSL's cryptodev
 *                              engine) send; note that OpenBSD's ubsec(4)
 *                              driver read p, q, dp, dq, pinv, x instead.
 * OCF_KOP_DSA_SIGN (2)         5 in, 2 out: digest, p, q, g, x (private)
 *                              -> r, s [q bytes each].  k is drawn by the
 *                              producer from a CSPRNG.
 * OCF_KOP_DSA_VERIFY (3)       7 in, 0 out: digest, p, q, g, y (public), r, s
 *                              -> status 1 valid / 0 invalid.
 * OCF_KOP_DH_COMPUTE_KEY (4)   3 in, 1 out: private x, peer's public y, p
 *                              -> y^x mod p [p bytes].  1 < y < p-1.
 *
 * Beyond the paper (ids 5..): elliptic curves.  Scalars, coordinates, r and s
 * are big integers as above; the curve is part of the id.
 * OCF_KOP_ECDSA_P256_SIGN (5)  2 in, 2 out: digest, d (private scalar,
 *                              0 < d < n) -> r, s [32 bytes each]
 * OCF_KOP_ECDSA_P256_VERIFY (6) 5 in, 0 out: digest, Qx, Qy, r, s -> status
 * OCF_KOP_ECDSA_P384_SIGN (7), OCF_KOP_ECDSA_P384_VERIFY (8): the same on
 *                              P-384 [48 bytes each]
 * OCF_KOP_ECDH_P256 (9)        3 in, 1 out: d (own private scalar), peer's
 *                              Qx, Qy -> x coordinate of d*Q [32 bytes]
 * OCF_KOP_ECDH_P384 (10)       the same on P-384 [48 bytes]
 * OCF_KOP_X25519 (11)          2 in, 1 out: private key (32 octets), peer's
 *                              u coordinate (32 octets) -> shared secret
 *                              [32 octets].  An all-zero result (a
 *                              small-order peer key) is EINVAL.
 * OCF_KOP_ED25519_SIGN (12)    2 in, 1 out: message (octets, may be empty),
 *                              private key (the 32-octet seed)
 *                              -> signature [64 octets]
 * OCF_KOP_ED25519_VERIFY (13)  3 in, 0 out: message, public key (32 octets),
 *                              signature (64 octets) -> status
 */
#define OCF_KOP_ECDSA_P256_SIGN ((enum ocf_kop)5)
#define OCF_KOP_ECDSA_P256_VERIFY ((enum ocf_kop)6)
#define OCF_KOP_ECDSA_P384_SIGN ((enum ocf_kop)7)
#define OCF_KOP_ECDSA_P384_VERIFY ((enum ocf_kop)8)
#define OCF_KOP_ECDH_P256 ((enum ocf_kop)9)
#define OCF_KOP_ECDH_P384 ((enum ocf_kop)10)
#define OCF_KOP_X25519 ((enum ocf_kop)11)
#define OCF_KOP_ED25519_SIGN ((enum ocf_kop)12)
#define OCF_KOP_ED25519_VERIFY ((enum ocf_kop)13)
/* OCF_KOP_COUNT is one past the last operation id defined here. */
#define OCF_KOP_COUNT 14

/* ocf_kop_params writes the input and output parameter counts of op into
 * *in and *out; ENOTSUP if op is not defined here. */
static inline int ocf_kop_params(enum ocf_kop op, int *in, int *out) {
  static const signed char tab[OCF_KOP_COUNT][2] = {
      {3, 1}, {6, 1}, {5, 2}, {7, 0}, {3, 1}, /* the paper's five */
      {2, 2}, {5, 0}, {2, 2}, {5, 0},         /* ECDSA P-256, P-384 */
      {3, 1}, {3, 1},                         /* ECDH P-256, P-384 */
      {2, 1}, {2, 1}, {3, 0},                 /* X25519, Ed25519 */
  };
  if ((unsigned)op >= OCF_KOP_COUNT) return ENOTSUP;
  *in = tab[op][0];
  *out = tab[op][1];
  return 0;
}

/* ocf_kop_name returns a lower-case name for op ("mod-exp", "ecdsa-p256-sign",
 * ...), or NULL if op is not defined here. */
static inline const char *ocf_kop_name(enum ocf_kop op) {
  static const char *const names[OCF_KOP_COUNT] = {
      "mod-exp",           "mod-exp-crt",     "dsa-sign",          "dsa-verify",
      "dh-compute-key",    "ecdsa-p256-sign", "ecdsa-p256-verify", "ecdsa-p384-sign",
      "ecdsa-p384-verify", "ecdh-p256",       "ecdh-p384",         "x25519",
      "ed25519-sign",      "ed25519-verify",
  };
  return (unsigned)op < OCF_KOP_COUNT ? names[op] : NULL;
}

/* ocf_kparam_from_be makes *kp the integer whose big-endian bytes are
 * be[len]: the bytes are reversed into buf[len] (the caller's storage, which
 * must live as long as the request) and nbits is the integer's significant
 * bit count (0 for zero).  buf and be must not overlap. */
static inline void ocf_kparam_from_be(struct ocf_kparam *kp, uint8_t *buf, const uint8_t *be,
                                      size_t len) {
  size_t bits = 0;
  for (size_t i = 0; i < len; i++) buf[i] = be[len - 1 - i];
  for (size_t i = len; i > 0; i--) {
    if (buf[i - 1] != 0) {
      unsigned top = buf[i - 1], b = 0;
      while (top != 0) {
        b++;
        top >>= 1;
      }
      bits = (i - 1) * 8 + b;
      break;
    }
  }
  kp->p = buf;
  kp->nbits = bits;
}

/* ocf_kparam_digest makes *kp the digest dgst[len] (a hash output) for DSA
 * and ECDSA: reversed into buf[len], nbits = 8 * len. */
static inline void ocf_kparam_digest(struct ocf_kparam *kp, uint8_t *buf, const uint8_t *dgst,
                                     size_t len) {
  for (size_t i = 0; i < len; i++) buf[i] = dgst[len - 1 - i];
  kp->p = buf;
  kp->nbits = 8 * len;
}

/* ocf_kparam_octets makes *kp the octet string p[len], verbatim (X25519,
 * Ed25519).  The producer only reads an input, so a const buffer is fine. */
static inline void ocf_kparam_octets(struct ocf_kparam *kp, const uint8_t *p, size_t len) {
  kp->p = (uint8_t *)(uintptr_t)p;
  kp->nbits = 8 * len;
}

/* ocf_kparam_out makes *kp an output parameter of capacity buf[len]. */
static inline void ocf_kparam_out(struct ocf_kparam *kp, uint8_t *buf, size_t len) {
  kp->p = buf;
  kp->nbits = 8 * len;
}

/* ocf_kparam_to_be writes the integer *kp as exactly len big-endian bytes
 * into be (left-padded with zeros).  ERANGE if it does not fit. */
static inline int ocf_kparam_to_be(const struct ocf_kparam *kp, uint8_t *be, size_t len) {
  size_t n = (kp->nbits + 7) / 8;
  for (size_t i = len; i < n; i++)
    if (kp->p[i] != 0) return ERANGE;
  memset(be, 0, len);
  for (size_t i = 0; i < n && i < len; i++) be[len - 1 - i] = kp->p[i];
  return 0;
}

#ifdef __cplusplus
}
#endif
#endif /* OCF_PK_H */
