/* alg.c - the algorithm table: names, block sizes, key, IV and MAC lengths. */
#include <string.h>

#include "core/internal.h"

/* Columns: alg, class, name, block, ivlen, min_iv, max_iv, min_key, max_key,
 * key_step, maclen, min_mac, mac_step. */
static const struct ocf_alg_info algs[] = {
    {OCF_ALG_NULL, OCF_CLASS_CIPHER, "null", 1, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {OCF_ALG_DES_CBC, OCF_CLASS_CIPHER, "des-cbc", 8, 8, 8, 8, 8, 8, 0, 0, 0, 0},
    {OCF_ALG_3DES_CBC, OCF_CLASS_CIPHER, "3des-cbc", 8, 8, 8, 8, 24, 24, 0, 0, 0, 0},
    {OCF_ALG_AES_CBC, OCF_CLASS_CIPHER, "aes-cbc", 16, 16, 16, 16, 16, 32, 8, 0, 0, 0},
    {OCF_ALG_AES_CTR, OCF_CLASS_CIPHER, "aes-ctr", 1, 16, 16, 16, 16, 32, 8, 0, 0, 0},
    {OCF_ALG_AES_ECB, OCF_CLASS_CIPHER, "aes-ecb", 16, 0, 0, 0, 16, 32, 8, 0, 0, 0},
    /* XTS: the data unit must hold at least one block; length is otherwise free
     * (ciphertext stealing), checked in the request validator. */
    {OCF_ALG_AES_XTS, OCF_CLASS_CIPHER, "aes-xts", 1, 16, 16, 16, 32, 64, 32, 0, 0, 0},
    {OCF_ALG_BLOWFISH_CBC, OCF_CLASS_CIPHER, "blowfish-cbc", 8, 8, 8, 8, 4, 56, 1, 0, 0, 0},
    {OCF_ALG_CAST5_CBC, OCF_CLASS_CIPHER, "cast5-cbc", 8, 8, 8, 8, 5, 16, 1, 0, 0, 0},
    {OCF_ALG_AES_GCM, OCF_CLASS_AEAD, "aes-gcm", 1, 12, 1, OCF_MAX_IV, 16, 32, 8, 16, 4, 1},
    {OCF_ALG_AES_CCM, OCF_CLASS_AEAD, "aes-ccm", 1, 12, 7, 13, 16, 32, 8, 16, 4, 2},
    {OCF_ALG_CHACHA20_POLY1305, OCF_CLASS_AEAD, "chacha20-poly1305", 1, 12, 12, 12, 32, 32, 0, 16,
     1, 1},
    {OCF_ALG_HMAC_MD5, OCF_CLASS_MAC, "hmac-md5", 1, 0, 0, 0, 0, 1024, 1, 16, 1, 1},
    {OCF_ALG_HMAC_SHA1, OCF_CLASS_MAC, "hmac-sha1", 1, 0, 0, 0, 0, 1024, 1, 20, 1, 1},
    {OCF_ALG_HMAC_SHA2_224, OCF_CLASS_MAC, "hmac-sha2-224", 1, 0, 0, 0, 0, 1024, 1, 28, 1, 1},
    {OCF_ALG_HMAC_SHA2_256, OCF_CLASS_MAC, "hmac-sha2-256", 1, 0, 0, 0, 0, 1024, 1, 32, 1, 1},
    {OCF_ALG_HMAC_SHA2_384, OCF_CLASS_MAC, "hmac-sha2-384", 1, 0, 0, 0, 0, 1024, 1, 48, 1, 1},
    {OCF_ALG_HMAC_SHA2_512, OCF_CLASS_MAC, "hmac-sha2-512", 1, 0, 0, 0, 0, 1024, 1, 64, 1, 1},
    {OCF_ALG_MD5, OCF_CLASS_MAC, "md5", 1, 0, 0, 0, 0, 0, 0, 16, 1, 1},
    {OCF_ALG_SHA1, OCF_CLASS_MAC, "sha1", 1, 0, 0, 0, 0, 0, 0, 20, 1, 1},
    {OCF_ALG_SHA2_224, OCF_CLASS_MAC, "sha2-224", 1, 0, 0, 0, 0, 0, 0, 28, 1, 1},
    {OCF_ALG_SHA2_256, OCF_CLASS_MAC, "sha2-256", 1, 0, 0, 0, 0, 0, 0, 32, 1, 1},
    {OCF_ALG_SHA2_384, OCF_CLASS_MAC, "sha2-384", 1, 0, 0, 0, 0, 0, 0, 48, 1, 1},
    {OCF_ALG_SHA2_512, OCF_CLASS_MAC, "sha2-512", 1, 0, 0, 0, 0, 0, 0, 64, 1, 1},
    {OCF_ALG_AES_GMAC, OCF_CLASS_MAC, "aes-gmac", 1, 12, 1, OCF_MAX_IV, 16, 32, 8, 16, 4, 1},
    {OCF_ALG_DEFLATE, OCF_CLASS_COMP, "deflate", 1, 0, 0, 0, 0, 0, 0, 0, 0, 0},
};

static const struct ocf_alg_info *by_id[OCF_ALG__MAX];
static pthread_once_t by_id_once = PTHREAD_ONCE_INIT;

static void index_algs(void) {
  for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) by_id[algs[i].alg] = &algs[i];
}

const struct ocf_alg_info *ocf_alg_lookup(enum ocf_alg alg) {
  if ((unsigned)alg >= OCF_ALG__MAX) return NULL;
  pthread_once(&by_id_once, index_algs);
  return by_id[alg];
}

enum ocf_alg ocf_alg_byname(const char *name) {
  if (name == NULL) return OCF_ALG_NONE;
  for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
    if (strcmp(algs[i].name, name) == 0) return algs[i].alg;
  return OCF_ALG_NONE;
}

int ocf_alg_keylen_ok(enum ocf_alg alg, size_t keylen) {
  const struct ocf_alg_info *ai = ocf_alg_lookup(alg);
  if (ai == NULL || keylen < ai->min_key || keylen > ai->max_key) return 0;
  if (ai->key_step == 0) return keylen == ai->min_key;
  return (keylen - ai->min_key) % ai->key_step == 0;
}

int ocf_alg_maclen_ok(const struct ocf_alg_info *ai, size_t maclen) {
  if (maclen < ai->min_mac || maclen > ai->maclen) return 0;
  return ai->mac_step <= 1 || (maclen - ai->min_mac) % ai->mac_step == 0;
}
