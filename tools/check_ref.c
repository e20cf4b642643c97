/* check_ref.c - the reference side of `ocf check`: every algorithm computed
 * with OpenSSL EVP (and zlib) directly, one call sequence per operation, as
 * simple as possible so that it can be trusted by reading it. */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "check.h"

static const char *cipher_name(enum ocf_alg alg, size_t keylen) {
  switch (alg) {
    case OCF_ALG_DES_CBC:
      return "DES-CBC";
    case OCF_ALG_3DES_CBC:
      return "DES-EDE3-CBC";
    case OCF_ALG_AES_CBC:
      return keylen == 16 ? "AES-128-CBC" : keylen == 24 ? "AES-192-CBC" : "AES-256-CBC";
    case OCF_ALG_AES_CTR:
      return keylen == 16 ? "AES-128-CTR" : keylen == 24 ? "AES-192-CTR" : "AES-256-CTR";
    case OCF_ALG_AES_XTS:
      return keylen == 32 ? "AES-128-XTS" : "AES-256-XTS";
    case OCF_ALG_AES_ECB:
      return keylen == 16 ? "AES-128-ECB" : keylen == 24 ? "AES-192-ECB" : "AES-256-ECB";
    case OCF_ALG_BLOWFISH_CBC:
      return "BF-CBC";
    case OCF_ALG_CAST5_CBC:
      return "CAST5-CBC";
    case OCF_ALG_AES_GCM:
    case OCF_ALG_AES_GMAC:
      return keylen == 16 ? "AES-128-GCM" : keylen == 24 ? "AES-192-GCM" : "AES-256-GCM";
    case OCF_ALG_AES_CCM:
      return keylen == 16 ? "AES-128-CCM" : keylen == 24 ? "AES-192-CCM" : "AES-256-CCM";
    case OCF_ALG_CHACHA20_POLY1305:
      return "ChaCha20-Poly1305";
    default:
      return NULL;
  }
}

/* new_ctx fetches the cipher and sets the key length (Blowfish, CAST5 take
 * several), leaving key and IV for the caller. */
static EVP_CIPHER_CTX *new_ctx(enum ocf_alg alg, size_t keylen, int enc, EVP_CIPHER **c) {
  const char *name = cipher_name(alg, keylen);
  *c = name ? EVP_CIPHER_fetch(NULL, name, NULL) : NULL;
  EVP_CIPHER_CTX *ctx = *c ? EVP_CIPHER_CTX_new() : NULL;
  if (ctx == NULL || EVP_CipherInit_ex2(ctx, *c, NULL, NULL, enc, NULL) != 1 ||
      (EVP_CIPHER_CTX_get_key_length(ctx) != (int)keylen &&
       EVP_CIPHER_CTX_set_key_length(ctx, (int)keylen) != 1)) {
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(*c);
    *c = NULL;
    return NULL;
  }
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  return ctx;
}

static void free_ctx(EVP_CIPHER_CTX *ctx, EVP_CIPHER *c) {
  EVP_CIPHER_CTX_free(ctx);
  EVP_CIPHER_free(c);
}

int ck_ref_cipher(enum ocf_alg alg, int enc, const uint8_t *key, size_t keylen, const uint8_t *iv,
                  const uint8_t *in, size_t len, uint8_t *out) {
  if (alg == OCF_ALG_NULL) {
    memmove(out, in, len);
    return 0;
  }
  EVP_CIPHER *c;
  EVP_CIPHER_CTX *ctx = new_ctx(alg, keylen, enc, &c);
  int ol = 0, fl = 0, ok = ctx != NULL;
  ok = ok && EVP_CipherInit_ex2(ctx, NULL, key, iv, enc, NULL) == 1;
  ok = ok && (len == 0 || EVP_CipherUpdate(ctx, out, &ol, in, (int)len) == 1);
  ok = ok && EVP_CipherFinal_ex(ctx, out + ol, &fl) == 1;
  free_ctx(ctx, c);
  return ok && (size_t)(ol + fl) == len ? 0 : EIO;
}

/* aead_begin: key, IV (with its length), tag length (CCM) and AAD. */
static EVP_CIPHER_CTX *aead_begin(enum ocf_alg alg, int enc, const uint8_t *key, size_t keylen,
                                  const uint8_t *iv, size_t ivlen, const uint8_t *aad,
                                  size_t aadlen, size_t len, const uint8_t *tag, size_t taglen,
                                  EVP_CIPHER **c) {
  EVP_CIPHER_CTX *ctx = new_ctx(alg, keylen, enc, c);
  int ol, ok = ctx != NULL;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, (int)ivlen, NULL) == 1;
  if (alg == OCF_ALG_AES_CCM)
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)taglen,
                                   enc ? NULL : (void *)(uintptr_t)tag) == 1;
  ok = ok && EVP_CipherInit_ex2(ctx, NULL, key, iv, enc, NULL) == 1;
  if (alg == OCF_ALG_AES_CCM) ok = ok && EVP_CipherUpdate(ctx, NULL, &ol, NULL, (int)len) == 1;
  if (aadlen > 0) ok = ok && EVP_CipherUpdate(ctx, NULL, &ol, aad, (int)aadlen) == 1;
  if (!ok) {
    free_ctx(ctx, *c);
    return NULL;
  }
  return ctx;
}

int ck_ref_aead_seal(enum ocf_alg alg, const uint8_t *key, size_t keylen, const uint8_t *iv,
                     size_t ivlen, const uint8_t *aad, size_t aadlen, const uint8_t *pt, size_t len,
                     uint8_t *ct, uint8_t *tag, size_t taglen) {
  EVP_CIPHER *c;
  EVP_CIPHER_CTX *ctx =
      aead_begin(alg, 1, key, keylen, iv, ivlen, aad, aadlen, len, NULL, taglen, &c);
  uint8_t full[16];
  int ol = 0, fl = 0, ok = ctx != NULL;
  /* CCM needs the (empty) update even without payload */
  ok =
      ok && (len == 0 && alg != OCF_ALG_AES_CCM ? 1 : EVP_CipherUpdate(ctx, ct, &ol, pt, (int)len));
  ok = ok && EVP_CipherFinal_ex(ctx, ct + ol, &fl) == 1;
  size_t full_len = alg == OCF_ALG_AES_CCM ? taglen : 16;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, (int)full_len, full) == 1;
  if (ok) memcpy(tag, full, taglen); /* GCM and Poly1305 truncate by prefix */
  free_ctx(ctx, c);
  return ok ? 0 : EIO;
}

int ck_ref_aead_open(enum ocf_alg alg, const uint8_t *key, size_t keylen, const uint8_t *iv,
                     size_t ivlen, const uint8_t *aad, size_t aadlen, const uint8_t *ct, size_t len,
                     const uint8_t *tag, size_t taglen, uint8_t *pt) {
  EVP_CIPHER *c;
  EVP_CIPHER_CTX *ctx =
      aead_begin(alg, 0, key, keylen, iv, ivlen, aad, aadlen, len, tag, taglen, &c);
  if (ctx == NULL) return EIO;
  int ol = 0, fl = 0, rc = 0;
  if (alg == OCF_ALG_AES_CCM) {
    /* CCM verifies inside the update */
    if (EVP_CipherUpdate(ctx, pt, &ol, ct, (int)len) != 1) rc = EBADMSG;
  } else {
    if (len > 0 && EVP_CipherUpdate(ctx, pt, &ol, ct, (int)len) != 1) rc = EIO;
    if (rc == 0 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)taglen, (void *)(uintptr_t)tag) != 1)
      rc = EIO;
    if (rc == 0 && EVP_CipherFinal_ex(ctx, pt + ol, &fl) != 1) rc = EBADMSG;
  }
  free_ctx(ctx, c);
  return rc;
}

static const EVP_MD *md_of(enum ocf_alg alg) {
  switch (alg) {
    case OCF_ALG_HMAC_MD5:
    case OCF_ALG_MD5:
      return EVP_md5();
    case OCF_ALG_HMAC_SHA1:
    case OCF_ALG_SHA1:
      return EVP_sha1();
    case OCF_ALG_HMAC_SHA2_224:
    case OCF_ALG_SHA2_224:
      return EVP_sha224();
    case OCF_ALG_HMAC_SHA2_256:
    case OCF_ALG_SHA2_256:
      return EVP_sha256();
    case OCF_ALG_HMAC_SHA2_384:
    case OCF_ALG_SHA2_384:
      return EVP_sha384();
    case OCF_ALG_HMAC_SHA2_512:
    case OCF_ALG_SHA2_512:
      return EVP_sha512();
    default:
      return NULL;
  }
}

int ck_ref_mac(enum ocf_alg alg, const uint8_t *key, size_t keylen, const uint8_t *iv, size_t ivlen,
               const uint8_t *msg, size_t len, uint8_t *mac) {
  static const uint8_t empty[1];
  if (alg == OCF_ALG_AES_GMAC) {
    uint8_t none[1] = {0};
    return ck_ref_aead_seal(OCF_ALG_AES_GCM, key, keylen, iv, ivlen, msg, len, none, 0, none, mac,
                            16);
  }
  const EVP_MD *md = md_of(alg);
  if (md == NULL) return ENOTSUP;
  unsigned ml = 0;
  if (alg >= OCF_ALG_HMAC_MD5 && alg <= OCF_ALG_HMAC_SHA2_512)
    return HMAC(md, keylen ? key : empty, (int)keylen, len ? msg : empty, len, mac, &ml) ? 0 : EIO;
  return EVP_Digest(len ? msg : empty, len, mac, &ml, md, NULL) == 1 ? 0 : EIO;
}

int ck_ref_deflate(const uint8_t *in, size_t len, uint8_t *out, size_t *olen) {
  z_stream z;
  memset(&z, 0, sizeof(z));
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return ENOMEM;
  z.next_in = (Bytef *)(uintptr_t)in;
  z.avail_in = (uInt)len;
  z.next_out = out;
  z.avail_out = (uInt)*olen;
  int zr = deflate(&z, Z_FINISH);
  *olen = z.total_out;
  deflateEnd(&z);
  return zr == Z_STREAM_END ? 0 : ENOSPC;
}

int ck_ref_inflate(const uint8_t *in, size_t len, uint8_t *out, size_t *olen) {
  z_stream z;
  memset(&z, 0, sizeof(z));
  if (inflateInit2(&z, -15) != Z_OK) return ENOMEM;
  z.next_in = (Bytef *)(uintptr_t)in;
  z.avail_in = (uInt)len;
  z.next_out = out;
  z.avail_out = (uInt)*olen;
  int zr = inflate(&z, Z_FINISH);
  *olen = z.total_out;
  inflateEnd(&z);
  return zr == Z_STREAM_END ? 0 : EINVAL;
}
