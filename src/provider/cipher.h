/*
 * cipher.h - what the cipher files share: the static description of each
 * cipher the provider offers, the default provider's functions for it (the
 * inline path), and the algorithm-level parameters.
 */
#ifndef OCFPROV_CIPHER_H
#define OCFPROV_CIPHER_H

#include <errno.h>
#include <pthread.h>

#include "provider/delegate.h"
#include "provider/prov.h"

/* dcfns - the default provider's functions for one cipher. */
struct dcfns {
  OSSL_FUNC_cipher_newctx_fn *newctx;
  OSSL_FUNC_cipher_freectx_fn *freectx;
  OSSL_FUNC_cipher_dupctx_fn *dupctx;
  OSSL_FUNC_cipher_encrypt_init_fn *einit;
  OSSL_FUNC_cipher_decrypt_init_fn *dinit;
  OSSL_FUNC_cipher_update_fn *update;
  OSSL_FUNC_cipher_final_fn *final;
  OSSL_FUNC_cipher_get_ctx_params_fn *get_ctx_params;
  OSSL_FUNC_cipher_set_ctx_params_fn *set_ctx_params;
};

/* cdef - one cipher of the provider, described statically. */
struct cdef {
  const char *name; /* OpenSSL's name, as the default provider knows it */
  enum ofam fam;
  enum ocf_alg alg;
  unsigned mode;    /* EVP_CIPH_*_MODE */
  size_t keylen;    /* bytes */
  size_t ivlen;     /* bytes (default nonce length for AEADs) */
  size_t blocksize; /* as EVP reports it: 1 for stream modes */
  size_t cblock;    /* the underlying block: 16 AES, 8 DES; 1 ChaCha */
  unsigned flags;   /* CF_* */
  /* the default provider's implementation, looked up once */
  _Atomic(const OSSL_DISPATCH *) disp;
  _Atomic int fns_ready;
  pthread_mutex_t fns_lock;
  struct dcfns fns;
};

#define CF_AEAD 0x1
#define CF_CUSTOM_IV 0x2
#define CF_VARIABLE_KEY 0x4

/* cdef_fns returns def's default-provider functions, or NULL (with an
 * error raised) when the default provider lacks the cipher. */
const struct dcfns *cdef_fns(struct ocfprov *p, struct cdef *def);

/* cdef_get_params answers the algorithm-level parameters of def. */
int cdef_get_params(const struct cdef *def, OSSL_PARAM params[]);

/* cdef_gettable_params lists them. */
const OSSL_PARAM *cdef_gettable_params(void *provctx);

/* cipher_inline_stats counts an inline operation of n bytes. */
static inline void cipher_inline_stats(struct ocfprov *p, size_t n) {
  STAT_ADD_LOOSE(p, in_req, 1);
  STAT_ADD_LOOSE(p, in_bytes, n);
}

/* fw_fallback_err tells whether a framework error should send the request
 * to the inline path instead of failing it (anything but a verdict). */
static inline bool fw_fallback_err(int err) { return err != 0 && err != EBADMSG; }

/* TLS CBC records (cipher_tls.c) */

/* tls_cbc_unpad checks, in constant time, the padding of a decrypted TLS
 * CBC record rec[len] (the explicit IV already removed) and copies its MAC
 * of macsize bytes into mac (random bytes when the padding is bad, so that
 * the caller's MAC check fails in constant time); *outlen is the payload
 * length.  Returns 0 only when the record is publicly too short, or (when
 * macsize is 0, i.e. encrypt-then-MAC) when the padding is bad. */
int tls_cbc_unpad(struct ocfprov *p, const uint8_t *rec, size_t len, size_t bs, size_t macsize,
                  uint8_t *mac, size_t *outlen);

extern struct cdef cdef_aes128cbc, cdef_aes192cbc, cdef_aes256cbc, cdef_aes128ctr, cdef_aes192ctr,
    cdef_aes256ctr, cdef_aes128xts, cdef_aes256xts, cdef_des3cbc;
extern struct cdef cdef_aes128gcm, cdef_aes192gcm, cdef_aes256gcm, cdef_aes128ccm, cdef_aes192ccm,
    cdef_aes256ccm, cdef_chachapoly;

extern const OSSL_DISPATCH ocfprov_block_functions_aes128cbc[];

#endif /* OCFPROV_CIPHER_H */
