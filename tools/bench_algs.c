/* bench_algs.c - the algorithms `ocf bench` knows, and building a case. */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

const struct bench_alg bench_algs[] = {
    {"null", OCF_ALG_NULL, BK_NULL, 0, NULL},
    {"des-cbc", OCF_ALG_DES_CBC, BK_CIPHER, 8, "DES-CBC"},
    {"3des-cbc", OCF_ALG_3DES_CBC, BK_CIPHER, 24, "DES-EDE3-CBC"},
    {"aes-128-cbc", OCF_ALG_AES_CBC, BK_CIPHER, 16, "AES-128-CBC"},
    {"aes-192-cbc", OCF_ALG_AES_CBC, BK_CIPHER, 24, "AES-192-CBC"},
    {"aes-256-cbc", OCF_ALG_AES_CBC, BK_CIPHER, 32, "AES-256-CBC"},
    {"aes-128-ctr", OCF_ALG_AES_CTR, BK_CIPHER, 16, "AES-128-CTR"},
    {"aes-192-ctr", OCF_ALG_AES_CTR, BK_CIPHER, 24, "AES-192-CTR"},
    {"aes-256-ctr", OCF_ALG_AES_CTR, BK_CIPHER, 32, "AES-256-CTR"},
    {"aes-128-xts", OCF_ALG_AES_XTS, BK_CIPHER, 32, "AES-128-XTS"},
    {"aes-256-xts", OCF_ALG_AES_XTS, BK_CIPHER, 64, "AES-256-XTS"},
    {"aes-128-gcm", OCF_ALG_AES_GCM, BK_AEAD, 16, "AES-128-GCM"},
    {"aes-192-gcm", OCF_ALG_AES_GCM, BK_AEAD, 24, "AES-192-GCM"},
    {"aes-256-gcm", OCF_ALG_AES_GCM, BK_AEAD, 32, "AES-256-GCM"},
    {"aes-128-ccm", OCF_ALG_AES_CCM, BK_CCM, 16, "AES-128-CCM"},
    {"aes-256-ccm", OCF_ALG_AES_CCM, BK_CCM, 32, "AES-256-CCM"},
    {"chacha20-poly1305", OCF_ALG_CHACHA20_POLY1305, BK_AEAD, 32, "ChaCha20-Poly1305"},
    {"blowfish-cbc", OCF_ALG_BLOWFISH_CBC, BK_CIPHER, 16, "BF-CBC"},
    {"cast5-cbc", OCF_ALG_CAST5_CBC, BK_CIPHER, 16, "CAST5-CBC"},
    {"hmac-md5", OCF_ALG_HMAC_MD5, BK_HMAC, 16, "MD5"},
    {"hmac-sha1", OCF_ALG_HMAC_SHA1, BK_HMAC, 20, "SHA1"},
    {"hmac-sha2-224", OCF_ALG_HMAC_SHA2_224, BK_HMAC, 28, "SHA224"},
    {"hmac-sha2-256", OCF_ALG_HMAC_SHA2_256, BK_HMAC, 32, "SHA256"},
    {"hmac-sha2-384", OCF_ALG_HMAC_SHA2_384, BK_HMAC, 48, "SHA384"},
    {"hmac-sha2-512", OCF_ALG_HMAC_SHA2_512, BK_HMAC, 64, "SHA512"},
    {"md5", OCF_ALG_MD5, BK_HASH, 0, "MD5"},
    {"sha1", OCF_ALG_SHA1, BK_HASH, 0, "SHA1"},
    {"sha2-224", OCF_ALG_SHA2_224, BK_HASH, 0, "SHA224"},
    {"sha2-256", OCF_ALG_SHA2_256, BK_HASH, 0, "SHA256"},
    {"sha2-384", OCF_ALG_SHA2_384, BK_HASH, 0, "SHA384"},
    {"sha2-512", OCF_ALG_SHA2_512, BK_HASH, 0, "SHA512"},
    {"aes-128-gmac", OCF_ALG_AES_GMAC, BK_GMAC, 16, "AES-128-GCM"},
    {"aes-256-gmac", OCF_ALG_AES_GMAC, BK_GMAC, 32, "AES-256-GCM"},
    {"deflate", OCF_ALG_DEFLATE, BK_DEFLATE, 0, NULL},
};
const size_t bench_nalgs = sizeof(bench_algs) / sizeof(bench_algs[0]);

/* Listed by --list; any cipher+MAC pair is accepted. */
const char *const bench_chain_examples[] = {
    "3des-cbc+hmac-sha1",        "aes-128-cbc+hmac-sha1",     "aes-128-cbc+hmac-sha2-256",
    "aes-256-cbc+hmac-sha2-256", "aes-128-ctr+hmac-sha2-256", NULL,
};

const struct bench_alg *bench_alg_find(const char *name) {
  for (size_t i = 0; i < bench_nalgs; i++)
    if (strcmp(bench_algs[i].name, name) == 0) return &bench_algs[i];
  return NULL;
}

static size_t mac_len(const struct bench_alg *a) {
  const struct ocf_alg_info *ai = ocf_alg_lookup(a->alg);
  return ai ? ai->maclen : 0;
}

int bench_case_init(struct bench_case *c, const char *name, char *msg, size_t msglen) {
  memset(c, 0, sizeof(*c));
  if (strlen(name) >= sizeof(c->name)) {
    snprintf(msg, msglen, "algorithm name too long: '%s'", name);
    return EINVAL;
  }
  strcpy(c->name, name);
  char first[64], *plus = strchr(c->name, '+');
  snprintf(first, sizeof(first), "%.*s", plus ? (int)(plus - c->name) : 63, c->name);
  c->first = bench_alg_find(first);
  if (c->first == NULL) {
    snprintf(msg, msglen, "unknown algorithm '%s' (`ocf bench --list` shows them)", first);
    return EINVAL;
  }
  if (plus != NULL) {
    c->second = bench_alg_find(plus + 1);
    if (c->second == NULL) {
      snprintf(msg, msglen, "unknown algorithm '%s' (`ocf bench --list` shows them)", plus + 1);
      return EINVAL;
    }
    if (c->first->kind != BK_CIPHER && c->first->kind != BK_NULL) {
      snprintf(msg, msglen, "'%s': a chain is a cipher followed by a MAC", name);
      return EINVAL;
    }
    if (c->second->kind != BK_HMAC && c->second->kind != BK_HASH && c->second->kind != BK_GMAC) {
      snprintf(msg, msglen, "'%s': '%s' is not a MAC or hash", name, c->second->name);
      return EINVAL;
    }
  }
  switch (c->first->kind) {
    case BK_AEAD:
    case BK_CCM:
      c->taglen = 16;
      break;
    case BK_HMAC:
    case BK_HASH:
    case BK_GMAC:
      c->taglen = mac_len(c->first);
      break;
    default:
      c->taglen = 0;
  }
  if (c->second) c->taglen = mac_len(c->second);
  if (RAND_bytes(c->key1, sizeof(c->key1)) != 1 || RAND_bytes(c->key2, sizeof(c->key2)) != 1 ||
      RAND_bytes(c->iv1, sizeof(c->iv1)) != 1 || RAND_bytes(c->iv2, sizeof(c->iv2)) != 1) {
    snprintf(msg, msglen, "RAND_bytes failed");
    return EIO;
  }
  return 0;
}

void bench_case_wipe(struct bench_case *c) { OPENSSL_cleanse(c, sizeof(*c)); }

int bench_case_size_ok(const struct bench_case *c, size_t size) {
  const struct ocf_alg_info *ai = ocf_alg_lookup(c->first->alg);
  if (size == 0) return 0;
  if (ai != NULL && ai->block > 1 && size % ai->block != 0) return 0;
  if (c->first->alg == OCF_ALG_AES_XTS && size < 16) return 0;
  return 1;
}

/* Deflate gets text-like data (random words), everything else random bytes:
 * compressing noise would only measure zlib's stored-block path. */
void bench_case_fill(const struct bench_case *c, uint8_t *data, size_t size) {
  if (c->first->kind != BK_DEFLATE) {
    RAND_bytes(data, (int)size);
    return;
  }
  static const char *const words[] = {"the ",   "framework ", "session ",  "request ",
                                      "queue ", "producer ",  "consumer ", "driver ",
                                      "of ",    "a ",         "cipher ",   "and "};
  uint64_t x = 0x243f6a8885a308d3ull;
  size_t off = 0;
  while (off < size) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const char *w = words[x % (sizeof(words) / sizeof(words[0]))];
    for (size_t i = 0; w[i] && off < size; i++) data[off++] = (uint8_t)w[i];
  }
}
