/*
 * cipher_common.c - the provider's cipher table, the parameters every
 * cipher answers the same way, and the constant-time handling of TLS CBC
 * records that libssl leaves to a provider.
 */
#include <openssl/rand.h>
#include <string.h>

#include "provider/cipher.h"

const struct dcfns *cdef_fns(struct ocfprov *p, struct cdef *def) {
  if (atomic_load_explicit(&def->fns_ready, memory_order_acquire)) return &def->fns;
  const OSSL_DISPATCH *d = dl_dispatch(p, OSSL_OP_CIPHER, def->name, &def->disp);
  if (d == NULL) {
    ocfprov_err(p, OCFPROV_R_DELEGATE, "the default provider has no %s", def->name);
    return NULL;
  }
  pthread_mutex_lock(&def->fns_lock);
  if (!atomic_load(&def->fns_ready)) {
    struct dcfns *f = &def->fns;
    f->newctx = (OSSL_FUNC_cipher_newctx_fn *)dl_fn(d, OSSL_FUNC_CIPHER_NEWCTX);
    f->freectx = (OSSL_FUNC_cipher_freectx_fn *)dl_fn(d, OSSL_FUNC_CIPHER_FREECTX);
    f->dupctx = (OSSL_FUNC_cipher_dupctx_fn *)dl_fn(d, OSSL_FUNC_CIPHER_DUPCTX);
    f->einit = (OSSL_FUNC_cipher_encrypt_init_fn *)dl_fn(d, OSSL_FUNC_CIPHER_ENCRYPT_INIT);
    f->dinit = (OSSL_FUNC_cipher_decrypt_init_fn *)dl_fn(d, OSSL_FUNC_CIPHER_DECRYPT_INIT);
    f->update = (OSSL_FUNC_cipher_update_fn *)dl_fn(d, OSSL_FUNC_CIPHER_UPDATE);
    f->final = (OSSL_FUNC_cipher_final_fn *)dl_fn(d, OSSL_FUNC_CIPHER_FINAL);
    f->get_ctx_params =
        (OSSL_FUNC_cipher_get_ctx_params_fn *)dl_fn(d, OSSL_FUNC_CIPHER_GET_CTX_PARAMS);
    f->set_ctx_params =
        (OSSL_FUNC_cipher_set_ctx_params_fn *)dl_fn(d, OSSL_FUNC_CIPHER_SET_CTX_PARAMS);
    atomic_store_explicit(&def->fns_ready, 1, memory_order_release);
  }
  pthread_mutex_unlock(&def->fns_lock);
  struct dcfns *f = &def->fns;
  if (f->newctx == NULL || f->freectx == NULL || f->dupctx == NULL || f->einit == NULL ||
      f->dinit == NULL || f->update == NULL || f->final == NULL || f->set_ctx_params == NULL ||
      f->get_ctx_params == NULL) {
    ocfprov_err(p, OCFPROV_R_DELEGATE, "the default provider's %s lacks a function", def->name);
    return NULL;
  }
  return f;
}

int cdef_get_params(const struct cdef *def, OSSL_PARAM params[]) {
  OSSL_PARAM *q;
  if ((q = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_MODE)) != NULL &&
      !OSSL_PARAM_set_uint(q, def->mode))
    return 0;
  if ((q = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_KEYLEN)) != NULL &&
      !OSSL_PARAM_set_size_t(q, def->keylen))
    return 0;
  if ((q = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_IVLEN)) != NULL &&
      !OSSL_PARAM_set_size_t(q, def->ivlen))
    return 0;
  if ((q = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_BLOCK_SIZE)) != NULL &&
      !OSSL_PARAM_set_size_t(q, def->blocksize))
    return 0;
  if ((q = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_AEAD)) != NULL &&
      !OSSL_PARAM_set_int(q, (def->flags & CF_AEAD) != 0))
    return 0;
  if ((q = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_CUSTOM_IV)) != NULL &&
      !OSSL_PARAM_set_int(q, (def->flags & CF_CUSTOM_IV) != 0))
    return 0;
  if ((q = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_CTS)) != NULL && !OSSL_PARAM_set_int(q, 0))
    return 0;
  if ((q = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_TLS1_MULTIBLOCK)) != NULL &&
      !OSSL_PARAM_set_int(q, 0))
    return 0;
  if ((q = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_HAS_RAND_KEY)) != NULL &&
      !OSSL_PARAM_set_int(q, 0))
    return 0;
  return 1;
}

static const OSSL_PARAM cdef_params[] = {OSSL_PARAM_uint(OSSL_CIPHER_PARAM_MODE, NULL),
                                         OSSL_PARAM_size_t(OSSL_CIPHER_PARAM_KEYLEN, NULL),
                                         OSSL_PARAM_size_t(OSSL_CIPHER_PARAM_IVLEN, NULL),
                                         OSSL_PARAM_size_t(OSSL_CIPHER_PARAM_BLOCK_SIZE, NULL),
                                         OSSL_PARAM_int(OSSL_CIPHER_PARAM_AEAD, NULL),
                                         OSSL_PARAM_int(OSSL_CIPHER_PARAM_CUSTOM_IV, NULL),
                                         OSSL_PARAM_int(OSSL_CIPHER_PARAM_CTS, NULL),
                                         OSSL_PARAM_int(OSSL_CIPHER_PARAM_TLS1_MULTIBLOCK, NULL),
                                         OSSL_PARAM_int(OSSL_CIPHER_PARAM_HAS_RAND_KEY, NULL),
                                         OSSL_PARAM_END};

const OSSL_PARAM *cdef_gettable_params(void *provctx) { return cdef_params; }

/* --- TLS CBC records ------------------------------------------------------- */

/* Constant-time helpers: masks of all ones (true) or zeros. */
static inline size_t ct_msb(size_t a) { return 0 - (a >> (sizeof(a) * 8 - 1)); }
static inline size_t ct_lt(size_t a, size_t b) { return ct_msb(a ^ ((a ^ b) | ((a - b) ^ b))); }
static inline size_t ct_ge(size_t a, size_t b) { return ~ct_lt(a, b); }
static inline size_t ct_is_zero(size_t a) { return ct_msb(~a & (a - 1)); }
static inline size_t ct_eq(size_t a, size_t b) { return ct_is_zero(a ^ b); }

int tls_cbc_unpad(struct ocfprov *p, const uint8_t *rec, size_t len, size_t bs, size_t macsize,
                  uint8_t *mac, size_t *outlen) {
  size_t overhead = 1 + macsize;
  if (macsize > 64 || len < overhead) return 0; /* publicly invalid */
  size_t padlen = rec[len - 1];
  size_t good = ct_ge(len, overhead + padlen);
  /* Every byte of the longest possible padding is looked at, whatever
   * padlen says, so that the time does not depend on it. */
  size_t to_check = len < 256 ? len : 256;
  for (size_t i = 0; i < to_check; i++) {
    size_t mask = ct_ge(padlen, i);
    size_t b = rec[len - 1 - i];
    good &= ~(mask & (padlen ^ b));
  }
  good = ct_eq(0xff, good & 0xff);
  size_t reclen = len - (good & (padlen + 1));
  (void)bs;
  if (macsize == 0) {
    /* Encrypt-then-MAC: the MAC was checked before decryption, so a bad
     * padding is no secret any more. */
    if (!good) return 0;
    *outlen = reclen;
    return 1;
  }
  uint8_t randmac[64];
  if (RAND_bytes_ex(dl_libctx(p), randmac, macsize, 0) <= 0) return 0;
  reclen -= macsize;
  size_t mac_start = reclen, mac_end = reclen + macsize;
  /* Copy the MAC out of the last macsize+256 bytes without an address that
   * depends on where it starts: every byte is read, the MAC's bytes land in
   * a rotated buffer, and the rotation is undone by full scans. */
  uint8_t rotated[64] __attribute__((aligned(64)));
  memset(rotated, 0, sizeof(rotated));
  size_t scan_start = len > macsize + 256 ? len - (macsize + 256) : 0;
  size_t in_mac = 0, rot = 0, j = 0;
  for (size_t i = scan_start; i < len; i++) {
    size_t started = ct_eq(i, mac_start);
    size_t ended = ct_lt(i, mac_end);
    in_mac |= started;
    in_mac &= ended;
    rot |= j & started;
    rotated[j++] |= rec[i] & (uint8_t)in_mac;
    j &= ct_lt(j, macsize);
  }
  for (size_t i = 0; i < macsize; i++) {
    size_t idx = rot + i;
    idx -= macsize & ct_ge(idx, macsize);
    uint8_t b = 0;
    for (size_t k = 0; k < macsize; k++) b |= rotated[k] & (uint8_t)ct_eq(k, idx);
    mac[i] = (uint8_t)((b & (uint8_t)good) | (randmac[i] & (uint8_t)~good));
  }
  *outlen = reclen;
  return 1;
}

/* --- the table ------------------------------------------------------------ */

extern const OSSL_DISPATCH ocfprov_aes128cbc_functions[], ocfprov_aes192cbc_functions[],
    ocfprov_aes256cbc_functions[], ocfprov_aes128ctr_functions[], ocfprov_aes192ctr_functions[],
    ocfprov_aes256ctr_functions[], ocfprov_aes128xts_functions[], ocfprov_aes256xts_functions[],
    ocfprov_des3cbc_functions[], ocfprov_aes128gcm_functions[], ocfprov_aes192gcm_functions[],
    ocfprov_aes256gcm_functions[], ocfprov_aes128ccm_functions[], ocfprov_aes192ccm_functions[],
    ocfprov_aes256ccm_functions[], ocfprov_chachapoly_functions[];

#define PROPS "provider=ocf"
const OSSL_ALGORITHM ocfprov_ciphers[] = {
    {"AES-128-CBC:AES128:2.16.840.1.101.3.4.1.2", PROPS, ocfprov_aes128cbc_functions,
     "AES-128-CBC through the OCF framework"},
    {"AES-192-CBC:AES192:2.16.840.1.101.3.4.1.22", PROPS, ocfprov_aes192cbc_functions, NULL},
    {"AES-256-CBC:AES256:2.16.840.1.101.3.4.1.42", PROPS, ocfprov_aes256cbc_functions, NULL},
    {"AES-128-CTR", PROPS, ocfprov_aes128ctr_functions, NULL},
    {"AES-192-CTR", PROPS, ocfprov_aes192ctr_functions, NULL},
    {"AES-256-CTR", PROPS, ocfprov_aes256ctr_functions, NULL},
    {"AES-128-XTS:1.3.111.2.1619.0.1.1", PROPS, ocfprov_aes128xts_functions, NULL},
    {"AES-256-XTS:1.3.111.2.1619.0.1.2", PROPS, ocfprov_aes256xts_functions, NULL},
    {"AES-128-GCM:id-aes128-GCM:2.16.840.1.101.3.4.1.6", PROPS, ocfprov_aes128gcm_functions, NULL},
    {"AES-192-GCM:id-aes192-GCM:2.16.840.1.101.3.4.1.26", PROPS, ocfprov_aes192gcm_functions, NULL},
    {"AES-256-GCM:id-aes256-GCM:2.16.840.1.101.3.4.1.46", PROPS, ocfprov_aes256gcm_functions, NULL},
    {"AES-128-CCM:id-aes128-CCM:2.16.840.1.101.3.4.1.7", PROPS, ocfprov_aes128ccm_functions, NULL},
    {"AES-192-CCM:id-aes192-CCM:2.16.840.1.101.3.4.1.27", PROPS, ocfprov_aes192ccm_functions, NULL},
    {"AES-256-CCM:id-aes256-CCM:2.16.840.1.101.3.4.1.47", PROPS, ocfprov_aes256ccm_functions, NULL},
    {"ChaCha20-Poly1305", PROPS, ocfprov_chachapoly_functions, NULL},
    {"DES-EDE3-CBC:DES3:1.2.840.113549.3.7", PROPS, ocfprov_des3cbc_functions, NULL},
    {NULL, NULL, NULL, NULL}};
