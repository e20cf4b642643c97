/*
 * soft_ec.h - EC keys for the software producer's curve operations, and the
 * per-thread cache of ECDSA contexts built from them (and of Ed25519 keys).
 *
 * A kreq carries its key as bare integers, so each ECDSA request would
 * rebuild an EVP_PKEY (EVP_PKEY_fromdata, which for a private scalar also
 * derives the public point) and a context: on one CPU, 53 us for a P-256
 * signature against 20 us with the context kept, where callers sign with
 * the same few keys again and again (a server's certificate key).  So each
 * thread keeps its last SOFT_EC_SLOTS contexts, found by curve and key.
 * An Ed25519 signature has the same cost in building its key (the public
 * key is derived from the seed), so those keys share the slots.
 */
#ifndef OCF_DRIVERS_SOFT_EC_H
#define OCF_DRIVERS_SOFT_EC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/bn.h>
#include <openssl/evp.h>

#define SOFT_EC_SLOTS 4

/* soft_ec_key builds an EC key on group (an OpenSSL group name) from a
 * private scalar d and/or an uncompressed public point; NULL when OpenSSL
 * refuses it (e.g. a point off the curve). */
EVP_PKEY *soft_ec_key(OSSL_LIB_CTX *lc, const char *group, const BIGNUM *d, const uint8_t *pub,
                      size_t publen);

/* soft_ec_sign_ctx returns a context ready for EVP_PKEY_sign with the
 * scalar d (bytes long when padded) on group; soft_ec_verify_ctx one ready
 * for EVP_PKEY_verify with the uncompressed point pub.  The context belongs
 * to this thread's cache: use it before the next call, do not free it.
 * NULL when the key is refused (*refused set) or memory runs out. */
EVP_PKEY_CTX *soft_ec_sign_ctx(OSSL_LIB_CTX *lc, const char *group, size_t bytes, const BIGNUM *d,
                               bool *refused);
EVP_PKEY_CTX *soft_ec_verify_ctx(OSSL_LIB_CTX *lc, const char *group, const uint8_t *pub,
                                 size_t publen, bool *refused);

/* soft_ed25519_key returns the Ed25519 key of seed, from the same cache
 * (building one derives the public key, as costly as a signature); it
 * belongs to the cache, like the contexts above.  NULL when refused
 * (*refused set) or out of memory. */
EVP_PKEY *soft_ed25519_key(OSSL_LIB_CTX *lc, const uint8_t seed[32], bool *refused);

/* soft_ecx_key imports an X25519 or Ed25519 key: the public value pub
 * alone, or with the scalar priv (then pub may be a placeholder, see
 * op_x25519).  The importing contexts are kept per thread (fetching one
 * costs about a tenth of an X25519 agreement, and the raw-key functions
 * also look the type up in the legacy tables).  NULL when refused or out
 * of memory; the caller frees the key. */
enum soft_ecx { SOFT_X25519, SOFT_ED25519 };
EVP_PKEY *soft_ecx_key(OSSL_LIB_CTX *lc, enum soft_ecx kind, const uint8_t *priv,
                       const uint8_t pub[32]);

/* soft_ec_forget drops ctx from the cache (after it failed). */
void soft_ec_forget(EVP_PKEY_CTX *ctx);

/* soft_ec_hits counts requests served from a cached context (tests). */
uint64_t soft_ec_hits(void);

#endif
