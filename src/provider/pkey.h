/*
 * pkey.h - what the public-key files share: the provider's key object and
 * the key material the framework's requests take.
 *
 * A key is kept as an EVP_PKEY of the private library context (the default
 * provider's key management checks, imports, exports, generates and encodes
 * it); the framework's parameters (little-endian big integers, pk.h) are
 * derived from it at the first framework request and kept with it.
 */
#ifndef OCFPROV_PKEY_H
#define OCFPROV_PKEY_H

#include <openssl/bn.h>
#include <pthread.h>

#include <ocf/pk.h>

#include "provider/prov.h"

enum ktype { K_RSA = 0, K_EC, K_X25519, K_ED25519, K__COUNT };

/* kint - one big integer as the framework takes it (pk.h): little-endian,
 * nbits significant bits. */
struct kint {
  uint8_t *p;
  size_t len, nbits;
};

/* kmat - a key's material for framework requests; built once, read-only
 * afterwards, wiped with the key. */
struct kmat {
  int err;     /* 0, or why the framework cannot use this key */
  size_t bits; /* RSA: modulus bits; EC: field bits */
  /* RSA */
  struct kint n, e, d, p, q, dp, dq, qinv;
  bool crt; /* p, q, dp, dq, qinv present (two primes) */
  /* EC: curve 256 or 384 (0: another one), private scalar, public point */
  int curve;
  struct kint ecd, qx, qy;
  /* X25519, Ed25519 */
  uint8_t raw_priv[32], raw_pub[32];
  bool has_raw_priv, has_raw_pub;
};

/* okey - the provider's key object (keydata). */
struct okey {
  struct ocfprov *p;
  enum ktype type;
  _Atomic int refs;
  EVP_PKEY *pk; /* NULL while empty (a new key, or X25519 domain "parameters") */
  bool has_priv, has_pub, has_params;
  pthread_mutex_t lock; /* builds mat */
  _Atomic(struct kmat *) mat;
};

/* key_up / key_down count references; the last key_down frees the key. */
void key_up(struct okey *k);
void key_down(struct okey *k);

/* key_mat returns k's material for the framework (building it at the first
 * call), or NULL when the key cannot be used there (m->err says why). */
const struct kmat *key_mat(struct okey *k);

/* key_type_name is the key type's name in the default provider ("RSA"...). */
const char *key_type_name(enum ktype t);

/* kparam_in makes *kp the input integer ki. */
static inline void kparam_in(struct ocf_kparam *kp, const struct kint *ki) {
  kp->p = ki->p;
  kp->nbits = ki->nbits;
}

/* be_to_kint fills ki (with storage buf[len]) from big-endian bytes. */
static inline void be_to_kint(struct kint *ki, uint8_t *buf, const uint8_t *be, size_t len) {
  struct ocf_kparam kp;
  ocf_kparam_from_be(&kp, buf, be, len);
  ki->p = buf;
  ki->len = len;
  ki->nbits = kp.nbits;
}

/* pk_hid_checks_itself tells whether producer hid is the software
 * producer, which checks its own RSA results (others are checked here). */
bool pk_hid_checks_itself(struct ocfprov *p, uint32_t hid);

/* dl_pkey_ctx makes an EVP_PKEY_CTX for k in the private library context. */
EVP_PKEY_CTX *dl_pkey_ctx(struct okey *k);

/* --- RSA padding (rsa_pad.c); k is the modulus length in bytes ---------- */

/* DigestInfo prefix of md (PKCS #1 v1.5 signatures); NULL if unknown. */
const uint8_t *rsa_digestinfo(const EVP_MD *md, size_t *len);

int rsa_pad_pkcs1_sign(uint8_t *em, size_t k, const uint8_t *t, size_t tlen);
/* rsa_unpad_pkcs1_sign returns the length of T in em[k] (copied to t), or -1. */
long rsa_unpad_pkcs1_sign(const uint8_t *em, size_t k, uint8_t *t, size_t tmax);
int rsa_pad_pss(OSSL_LIB_CTX *lc, uint8_t *em, size_t modbits, const uint8_t *mhash,
                const EVP_MD *md, const EVP_MD *mgf1, int saltlen);
/* rsa_verify_pss: 1 valid, 0 invalid. */
int rsa_verify_pss(const uint8_t *em, size_t modbits, const uint8_t *mhash, const EVP_MD *md,
                   const EVP_MD *mgf1, int saltlen);
int rsa_pad_oaep(OSSL_LIB_CTX *lc, uint8_t *em, size_t k, const uint8_t *m, size_t mlen,
                 const uint8_t *label, size_t llen, const EVP_MD *md, const EVP_MD *mgf1);
/* rsa_unpad_oaep / rsa_unpad_pkcs1_enc return the message length copied to
 * out[outmax], or -1; both in constant time as far as the message goes. */
long rsa_unpad_oaep(uint8_t *em, size_t k, uint8_t *out, size_t outmax, const uint8_t *label,
                    size_t llen, const EVP_MD *md, const EVP_MD *mgf1);
int rsa_pad_pkcs1_enc(OSSL_LIB_CTX *lc, uint8_t *em, size_t k, const uint8_t *m, size_t mlen);
long rsa_unpad_pkcs1_enc(uint8_t *em, size_t k, uint8_t *out, size_t outmax);

/* rsa_modexp runs x^d (priv) or x^e mod n through the framework: x and out
 * are big-endian of the modulus length.  0, or an errno. */
int rsa_modexp(struct okey *key, int priv, const uint8_t *x, uint8_t *out, struct bstat *bs);

#endif /* OCFPROV_PKEY_H */
