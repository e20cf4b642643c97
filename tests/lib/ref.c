/* ref.c - direct OpenSSL / zlib reference computations and buffer layouts for
 * the differential tests (see ref.h). */
#include "ref.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/provider.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* --- providers ------------------------------------------------------------ */

static pthread_mutex_t prov_lock = PTHREAD_MUTEX_INITIALIZER;
static OSSL_PROVIDER *prov_default, *prov_legacy;

int ref_init(void) {
  int err = 0;
  pthread_mutex_lock(&prov_lock);
  if (prov_default == NULL) prov_default = OSSL_PROVIDER_load(NULL, "default");
  if (prov_legacy == NULL) prov_legacy = OSSL_PROVIDER_load(NULL, "legacy");
  if (prov_default == NULL || prov_legacy == NULL) err = ENOTSUP;
  pthread_mutex_unlock(&prov_lock);
  return err;
}

void ref_cleanup(void) {
  pthread_mutex_lock(&prov_lock);
  if (prov_legacy != NULL) OSSL_PROVIDER_unload(prov_legacy);
  if (prov_default != NULL) OSSL_PROVIDER_unload(prov_default);
  prov_legacy = prov_default = NULL;
  pthread_mutex_unlock(&prov_lock);
}

/* --- static facts ---------------------------------------------------------- */

/* Written from the algorithms' definitions (FIPS 197/46-3, RFC 2104/8439,
 * SP 800-38A/C/D/E), not read from libocf, so that the table in the framework
 * gets checked rather than trusted. */
struct fact {
  enum ocf_alg alg;
  enum ocf_alg_class cls;
  const char *name;
  size_t block, ivlen, maclen;
};

static const struct fact facts[] = {
    {OCF_ALG_NULL, OCF_CLASS_CIPHER, "null", 1, 0, 0},
    {OCF_ALG_DES_CBC, OCF_CLASS_CIPHER, "des-cbc", 8, 8, 0},
    {OCF_ALG_3DES_CBC, OCF_CLASS_CIPHER, "3des-cbc", 8, 8, 0},
    {OCF_ALG_AES_CBC, OCF_CLASS_CIPHER, "aes-cbc", 16, 16, 0},
    {OCF_ALG_AES_CTR, OCF_CLASS_CIPHER, "aes-ctr", 1, 16, 0},
    {OCF_ALG_AES_XTS, OCF_CLASS_CIPHER, "aes-xts", 1, 16, 0},
    {OCF_ALG_BLOWFISH_CBC, OCF_CLASS_CIPHER, "blowfish-cbc", 8, 8, 0},
    {OCF_ALG_CAST5_CBC, OCF_CLASS_CIPHER, "cast5-cbc", 8, 8, 0},
    {OCF_ALG_AES_GCM, OCF_CLASS_AEAD, "aes-gcm", 1, 12, 16},
    {OCF_ALG_AES_CCM, OCF_CLASS_AEAD, "aes-ccm", 1, 12, 16},
    {OCF_ALG_CHACHA20_POLY1305, OCF_CLASS_AEAD, "chacha20-poly1305", 1, 12, 16},
    {OCF_ALG_HMAC_MD5, OCF_CLASS_MAC, "hmac-md5", 1, 0, 16},
    {OCF_ALG_HMAC_SHA1, OCF_CLASS_MAC, "hmac-sha1", 1, 0, 20},
    {OCF_ALG_HMAC_SHA2_224, OCF_CLASS_MAC, "hmac-sha2-224", 1, 0, 28},
    {OCF_ALG_HMAC_SHA2_256, OCF_CLASS_MAC, "hmac-sha2-256", 1, 0, 32},
    {OCF_ALG_HMAC_SHA2_384, OCF_CLASS_MAC, "hmac-sha2-384", 1, 0, 48},
    {OCF_ALG_HMAC_SHA2_512, OCF_CLASS_MAC, "hmac-sha2-512", 1, 0, 64},
    {OCF_ALG_MD5, OCF_CLASS_MAC, "md5", 1, 0, 16},
    {OCF_ALG_SHA1, OCF_CLASS_MAC, "sha1", 1, 0, 20},
    {OCF_ALG_SHA2_224, OCF_CLASS_MAC, "sha2-224", 1, 0, 28},
    {OCF_ALG_SHA2_256, OCF_CLASS_MAC, "sha2-256", 1, 0, 32},
    {OCF_ALG_SHA2_384, OCF_CLASS_MAC, "sha2-384", 1, 0, 48},
    {OCF_ALG_SHA2_512, OCF_CLASS_MAC, "sha2-512", 1, 0, 64},
    {OCF_ALG_AES_GMAC, OCF_CLASS_MAC, "aes-gmac", 1, 12, 16},
    {OCF_ALG_DEFLATE, OCF_CLASS_COMP, "deflate", 1, 0, 0},
};

static const struct fact *fact_of(enum ocf_alg alg) {
  for (size_t i = 0; i < sizeof(facts) / sizeof(facts[0]); i++)
    if (facts[i].alg == alg) return &facts[i];
  return NULL;
}

enum ocf_alg_class ref_alg_class(enum ocf_alg alg) {
  const struct fact *f = fact_of(alg);
  return f ? f->cls : OCF_CLASS_NONE;
}
size_t ref_alg_block(enum ocf_alg alg) {
  const struct fact *f = fact_of(alg);
  return f ? f->block : 0;
}
size_t ref_alg_ivlen(enum ocf_alg alg) {
  const struct fact *f = fact_of(alg);
  return f ? f->ivlen : 0;
}
size_t ref_alg_maclen(enum ocf_alg alg) {
  const struct fact *f = fact_of(alg);
  return f ? f->maclen : 0;
}
const char *ref_alg_name(enum ocf_alg alg) {
  const struct fact *f = fact_of(alg);
  return f ? f->name : "?";
}

/* --- OpenSSL primitives ---------------------------------------------------- */

static const EVP_CIPHER *evp_cipher(enum ocf_alg alg, size_t keylen) {
  switch (alg) {
    case OCF_ALG_NULL:
      return EVP_enc_null();
    case OCF_ALG_DES_CBC:
      return EVP_des_cbc();
    case OCF_ALG_3DES_CBC:
      return EVP_des_ede3_cbc();
    case OCF_ALG_BLOWFISH_CBC:
      return EVP_bf_cbc();
    case OCF_ALG_CAST5_CBC:
      return EVP_cast5_cbc();
    case OCF_ALG_AES_CBC:
      return keylen == 16   ? EVP_aes_128_cbc()
             : keylen == 24 ? EVP_aes_192_cbc()
             : keylen == 32 ? EVP_aes_256_cbc()
                            : NULL;
    case OCF_ALG_AES_CTR:
      return keylen == 16   ? EVP_aes_128_ctr()
             : keylen == 24 ? EVP_aes_192_ctr()
             : keylen == 32 ? EVP_aes_256_ctr()
                            : NULL;
    case OCF_ALG_AES_XTS:
      return keylen == 32 ? EVP_aes_128_xts() : keylen == 64 ? EVP_aes_256_xts() : NULL;
    case OCF_ALG_AES_GCM:
    case OCF_ALG_AES_GMAC:
      return keylen == 16   ? EVP_aes_128_gcm()
             : keylen == 24 ? EVP_aes_192_gcm()
             : keylen == 32 ? EVP_aes_256_gcm()
                            : NULL;
    case OCF_ALG_AES_CCM:
      return keylen == 16   ? EVP_aes_128_ccm()
             : keylen == 24 ? EVP_aes_192_ccm()
             : keylen == 32 ? EVP_aes_256_ccm()
                            : NULL;
    case OCF_ALG_CHACHA20_POLY1305:
      return keylen == 32 ? EVP_chacha20_poly1305() : NULL;
    default:
      return NULL;
  }
}

static const EVP_MD *evp_md(enum ocf_alg alg) {
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

/* OpenSSL wants non-NULL pointers even for zero-length input. */
static const uint8_t empty[1];
#define NZ(p) ((p) != NULL ? (p) : empty)

int ref_cipher(enum ocf_alg alg, const uint8_t *key, size_t keylen, const uint8_t *iv, size_t ivlen,
               int enc, const uint8_t *in, size_t len, uint8_t *out) {
  const EVP_CIPHER *c = evp_cipher(alg, keylen);
  if (c == NULL || ref_alg_class(alg) != OCF_CLASS_CIPHER) return EINVAL;
  if (ivlen != (size_t)EVP_CIPHER_get_iv_length(c)) return EINVAL;
  if (alg == OCF_ALG_AES_XTS && len < 16) return EINVAL;
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int outl = 0, fl = 0, ok = ctx != NULL;
  ok = ok && EVP_CipherInit_ex(ctx, c, NULL, NULL, NULL, enc);
  if (ok && (size_t)EVP_CIPHER_CTX_get_key_length(ctx) != keylen)
    ok = EVP_CIPHER_CTX_set_key_length(ctx, (int)keylen);
  ok = ok && EVP_CipherInit_ex(ctx, NULL, NULL, NZ(key), ivlen ? iv : NULL, enc);
  ok = ok && EVP_CIPHER_CTX_set_padding(ctx, 0);
  ok = ok && EVP_CipherUpdate(ctx, out != NULL ? out : (uint8_t *)empty, &outl, NZ(in), (int)len);
  ok = ok && EVP_CipherFinal_ex(ctx, out != NULL ? out + outl : (uint8_t *)empty, &fl);
  ok = ok && (size_t)(outl + fl) == len;
  EVP_CIPHER_CTX_free(ctx);
  return ok ? 0 : EINVAL;
}

int ref_aead(enum ocf_alg alg, const uint8_t *key, size_t keylen, const uint8_t *iv, size_t ivlen,
             const uint8_t *aad, size_t aadlen, int enc, const uint8_t *in, size_t len,
             uint8_t *out, uint8_t *tag, size_t taglen) {
  const EVP_CIPHER *c = evp_cipher(alg, keylen);
  int ccm = alg == OCF_ALG_AES_CCM;
  if (c == NULL) return EINVAL;
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  uint8_t scratch[1];
  int outl = 0, ok = ctx != NULL, err = EINVAL;
  ok = ok && EVP_CipherInit_ex(ctx, c, NULL, NULL, NULL, enc);
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, (int)ivlen, NULL) > 0;
  /* CCM fixes the tag length (and, decrypting, the expected tag) before the key. */
  if (ccm)
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)taglen, enc ? NULL : tag) > 0;
  ok = ok && EVP_CipherInit_ex(ctx, NULL, NULL, key, iv, enc);
  if (ccm) ok = ok && EVP_CipherUpdate(ctx, NULL, &outl, NULL, (int)len);
  if (aadlen > 0) ok = ok && EVP_CipherUpdate(ctx, NULL, &outl, aad, (int)aadlen);
  if (!ok) goto done;
  if (ccm) {
    /* CCM verifies inside the (single) update call. */
    if (!EVP_CipherUpdate(ctx, len ? out : scratch, &outl, NZ(in), (int)len)) {
      err = enc ? EINVAL : EBADMSG;
      goto done;
    }
  } else {
    int fl = 0;
    if (len > 0) ok = EVP_CipherUpdate(ctx, out, &outl, in, (int)len);
    if (ok && !enc) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)taglen, tag) > 0;
    if (!ok) goto done;
    if (!EVP_CipherFinal_ex(ctx, scratch, &fl)) {
      err = enc ? EINVAL : EBADMSG;
      goto done;
    }
  }
  if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, (int)taglen, tag) <= 0) goto done;
  err = 0;
done:
  EVP_CIPHER_CTX_free(ctx);
  return err;
}

int ref_mac(enum ocf_alg alg, const uint8_t *key, size_t keylen, const uint8_t *iv, size_t ivlen,
            const uint8_t *data, size_t len, uint8_t *mac) {
  const EVP_MD *md = evp_md(alg);
  if (alg == OCF_ALG_AES_GMAC)
    return ref_aead(OCF_ALG_AES_GCM, key, keylen, iv, ivlen, data, len, 1, NULL, 0, NULL, mac, 16);
  if (md == NULL) return EINVAL;
  if (alg >= OCF_ALG_HMAC_MD5 && alg <= OCF_ALG_HMAC_SHA2_512) {
    unsigned int ml = 0;
    if (HMAC(md, NZ(key), (int)keylen, NZ(data), len, mac, &ml) == NULL) return EINVAL;
    return ml == ref_alg_maclen(alg) ? 0 : EINVAL;
  }
  unsigned int ml = 0;
  if (!EVP_Digest(NZ(data), len, mac, &ml, md, NULL)) return EINVAL;
  return ml == ref_alg_maclen(alg) ? 0 : EINVAL;
}

int ref_deflate(const uint8_t *in, size_t len, int level, uint8_t **out, size_t *outlen) {
  z_stream z;
  memset(&z, 0, sizeof(z));
  if (deflateInit2(&z, level == 0 ? Z_DEFAULT_COMPRESSION : level, Z_DEFLATED, -15, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK)
    return ENOMEM;
  size_t cap = deflateBound(&z, len) + 16;
  uint8_t *o = malloc(cap);
  if (o == NULL) {
    deflateEnd(&z);
    return ENOMEM;
  }
  z.next_in = (Bytef *)NZ(in);
  z.avail_in = (uInt)len;
  z.next_out = o;
  z.avail_out = (uInt)cap;
  int rc = deflate(&z, Z_FINISH);
  *outlen = z.total_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) {
    free(o);
    return EINVAL;
  }
  *out = o;
  return 0;
}

int ref_inflate(const uint8_t *in, size_t len, size_t max, uint8_t **out, size_t *outlen) {
  z_stream z;
  memset(&z, 0, sizeof(z));
  if (inflateInit2(&z, -15) != Z_OK) return ENOMEM;
  uint8_t *o = malloc(max + 1);
  if (o == NULL) {
    inflateEnd(&z);
    return ENOMEM;
  }
  z.next_in = (Bytef *)NZ(in);
  z.avail_in = (uInt)len;
  z.next_out = o;
  z.avail_out = (uInt)(max + 1); /* one spare byte tells "too big" from "exact fit" */
  int rc = inflate(&z, Z_FINISH);
  *outlen = z.total_out;
  inflateEnd(&z);
  if (rc != Z_STREAM_END || *outlen > max) {
    free(o);
    return *outlen > max ? EMSGSIZE : EINVAL;
  }
  *out = o;
  return 0;
}

/* --- descriptor interpreter ----------------------------------------------- */

const struct ocf_sessparam *ref_param(const struct ocf_sessparam *chain, enum ocf_alg alg) {
  for (; chain != NULL; chain = chain->next)
    if (chain->alg == alg) return chain;
  return NULL;
}

size_t ref_ivlen(const struct ocf_sessparam *p) {
  return p->ivlen ? p->ivlen : ref_alg_ivlen(p->alg);
}

size_t ref_maclen(const struct ocf_sessparam *p) {
  return p->maclen ? p->maclen : ref_alg_maclen(p->alg);
}

static int in_range(size_t off, size_t len, size_t n) { return off <= n && len <= n - off; }

/* iv_in_buffer tells whether descriptor d keeps its IV in the buffer. */
static int iv_in_buffer(const struct ocf_sessparam *p, const struct ocf_desc *d) {
  enum ocf_alg_class cls = ref_alg_class(d->alg);
  if (ref_ivlen(p) == 0 || (d->flags & OCF_D_IV_EXPLICIT)) return 0;
  return cls == OCF_CLASS_CIPHER || cls == OCF_CLASS_AEAD || cls == OCF_CLASS_MAC;
}

static int apply_one(const struct ocf_sessparam *p, uint8_t *b, size_t n, const struct ocf_desc *d,
                     const uint8_t *gen_iv, size_t *olen) {
  enum ocf_alg_class cls = ref_alg_class(d->alg);
  size_t ivlen = ref_ivlen(p), maclen = ref_maclen(p);
  int enc = (d->flags & OCF_D_ENCRYPT) != 0;
  uint8_t iv[OCF_MAX_IV], tag[64];
  int err = 0;

  if (!in_range(d->skip, d->len, n)) return ERANGE;
  if (ivlen > 0 &&
      (cls == OCF_CLASS_CIPHER || cls == OCF_CLASS_AEAD || d->alg == OCF_ALG_AES_GMAC)) {
    if (d->flags & OCF_D_IV_EXPLICIT) {
      memcpy(iv, d->iv, ivlen);
    } else if (!in_range(d->iv_off, ivlen, n)) {
      return ERANGE;
    } else if ((d->flags & OCF_D_IV_PRESENT) || !enc || cls == OCF_CLASS_MAC) {
      memcpy(iv, b + d->iv_off, ivlen);
    } else {
      memcpy(iv, gen_iv, ivlen);
      memcpy(b + d->iv_off, iv, ivlen);
    }
  }

  uint8_t *tmp = malloc(d->len + 1);
  if (tmp == NULL) return ENOMEM;
  switch (cls) {
    case OCF_CLASS_CIPHER:
      err = ref_cipher(d->alg, p->key, p->keylen, iv, ivlen, enc, b + d->skip, d->len, tmp);
      if (!err) memcpy(b + d->skip, tmp, d->len);
      break;
    case OCF_CLASS_AEAD: {
      if (!in_range(d->aad_skip, d->aad_len, n) || !in_range(d->inject, maclen, n)) {
        err = ERANGE;
        break;
      }
      uint8_t *aad = malloc(d->aad_len + 1);
      if (aad == NULL) {
        err = ENOMEM;
        break;
      }
      memcpy(aad, b + d->aad_skip, d->aad_len);
      memcpy(tag, b + d->inject, maclen);
      err = ref_aead(d->alg, p->key, p->keylen, iv, ivlen, aad, d->aad_len, enc, b + d->skip,
                     d->len, tmp, tag, maclen);
      free(aad);
      if (!err) {
        memcpy(b + d->skip, tmp, d->len);
        if (enc) memcpy(b + d->inject, tag, maclen);
      }
      break;
    }
    case OCF_CLASS_MAC:
      if (!in_range(d->inject, maclen, n)) {
        err = ERANGE;
        break;
      }
      err = ref_mac(d->alg, p->key, p->keylen, iv, ivlen, b + d->skip, d->len, tag);
      if (err) break;
      if (d->flags & OCF_D_VERIFY) {
        if (CRYPTO_memcmp(tag, b + d->inject, maclen) != 0) err = EBADMSG;
      } else {
        memcpy(b + d->inject, tag, maclen);
      }
      break;
    case OCF_CLASS_COMP: {
      uint8_t *o = NULL;
      size_t ol = 0;
      if (enc)
        err = ref_deflate(b + d->skip, d->len, p->level, &o, &ol);
      else
        err = ref_inflate(b + d->skip, d->len, n - d->skip, &o, &ol);
      if (!err && ol > n - d->skip) err = EMSGSIZE;
      if (!err) {
        memcpy(b + d->skip, o, ol);
        if (olen) *olen = ol;
      }
      free(o);
      break;
    }
    default:
      err = EINVAL;
  }
  free(tmp);
  OPENSSL_cleanse(iv, sizeof(iv));
  return err;
}

int ref_apply(const struct ocf_sessparam *chain, uint8_t *b, size_t n, const struct ocf_desc *d,
              int nd, const uint8_t (*gen_iv)[OCF_MAX_IV], size_t *olen) {
  static const uint8_t zero_iv[OCF_MAX_IV];
  for (int i = 0; i < nd; i++) {
    const struct ocf_sessparam *p = ref_param(chain, d[i].alg);
    if (p == NULL) return EINVAL;
    int err = apply_one(p, b, n, &d[i], gen_iv ? gen_iv[i] : zero_iv, olen);
    if (err) return err;
  }
  return 0;
}

static void hull_add(size_t off, size_t len, size_t *lo, size_t *hi, int *any) {
  if (len == 0) return;
  if (!*any || off < *lo) *lo = off;
  if (!*any || off + len > *hi) *hi = off + len;
  *any = 1;
}

void ref_hull(const struct ocf_sessparam *chain, const struct ocf_desc *d, int nd, size_t *lo,
              size_t *hi) {
  int any = 0;
  *lo = *hi = 0;
  for (int i = 0; i < nd; i++) {
    const struct ocf_sessparam *p = ref_param(chain, d[i].alg);
    if (p == NULL) continue;
    enum ocf_alg_class cls = ref_alg_class(d[i].alg);
    hull_add(d[i].skip, d[i].len, lo, hi, &any);
    if (cls == OCF_CLASS_AEAD) hull_add(d[i].aad_skip, d[i].aad_len, lo, hi, &any);
    if (cls == OCF_CLASS_AEAD || cls == OCF_CLASS_MAC)
      hull_add(d[i].inject, ref_maclen(p), lo, hi, &any);
    if (iv_in_buffer(p, &d[i])) hull_add(d[i].iv_off, ref_ivlen(p), lo, hi, &any);
  }
}

/* --- PRNG ------------------------------------------------------------------ */

static uint64_t splitmix(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void ref_rng_seed(struct ref_rng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++) r->s[i] = splitmix(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t ref_rand(struct ref_rng *r) {
  uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return res;
}

size_t ref_range(struct ref_rng *r, size_t lo, size_t hi) {
  if (hi <= lo) return lo;
  return lo + (size_t)(ref_rand(r) % (uint64_t)(hi - lo + 1));
}

void ref_fill(struct ref_rng *r, void *p, size_t len) {
  uint8_t *b = p;
  while (len > 0) {
    uint64_t v = ref_rand(r);
    size_t k = len < 8 ? len : 8;
    memcpy(b, &v, k);
    b += k;
    len -= k;
  }
}

void ref_fill_text(struct ref_rng *r, void *p, size_t len) {
  static const char *words[] = {"crypto ",  "framework ", "session ",  "request ", "the ",
                                "openbsd ", "producer ",  "consumer ", "\n",       "0123 "};
  uint8_t *b = p;
  size_t i = 0;
  while (i < len) {
    const char *w = words[ref_rand(r) % (sizeof(words) / sizeof(words[0]))];
    for (; *w && i < len; w++) b[i++] = (uint8_t)*w;
  }
}

uint64_t ref_seed(void) {
  const char *e = getenv("OCF_TEST_SEED");
  if (e != NULL && *e) return strtoull(e, NULL, 0);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t x =
      (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
  return splitmix(&x);
}

int ref_scale(void) {
  const char *e = getenv("OCF_TEST_SCALE");
  int s = e != NULL ? atoi(e) : 1;
  return s >= 1 ? s : 1;
}

/* --- buffer layouts -------------------------------------------------------- */

#define GUARD 0xa5

int ref_buf_build(struct ref_buf *rb, enum ocf_buf_type type, const uint8_t *flat, size_t n,
                  const size_t *cuts, size_t ncuts, int odd) {
  memset(rb, 0, sizeof(*rb));
  rb->len = n;
  rb->odd = odd;
  if (type == OCF_BUF_CONTIG) ncuts = 0;
  int nseg = (int)ncuts + 1;
  rb->nseg = nseg;
  rb->alloc = calloc((size_t)nseg, sizeof(*rb->alloc));
  rb->seglen = calloc((size_t)nseg, sizeof(*rb->seglen));
  rb->data = calloc((size_t)nseg, sizeof(*rb->data));
  if (rb->alloc == NULL || rb->seglen == NULL || rb->data == NULL) goto nomem;
  size_t prev = 0;
  for (int i = 0; i < nseg; i++) {
    size_t end = i < (int)ncuts ? cuts[i] : n;
    if (end < prev || end > n) {
      ref_buf_free(rb);
      return EINVAL;
    }
    size_t l = end - prev;
    /* Exact-size allocations so ASan flags a byte past the end; odd ones
     * carry a guard byte on each side instead. */
    rb->alloc[i] = malloc(odd ? l + 2 : (l ? l : 1));
    if (rb->alloc[i] == NULL) goto nomem;
    rb->data[i] = odd ? rb->alloc[i] + 1 : rb->alloc[i];
    if (odd) {
      rb->alloc[i][0] = GUARD;
      rb->alloc[i][l + 1] = GUARD;
    }
    if (l) memcpy(rb->data[i], flat + prev, l);
    rb->seglen[i] = l;
    prev = end;
  }
  switch (type) {
    case OCF_BUF_CONTIG:
      rb->b = ocf_buf_contig(rb->data[0], n);
      break;
    case OCF_BUF_IOVEC:
      rb->iov = calloc((size_t)nseg, sizeof(*rb->iov));
      if (rb->iov == NULL) goto nomem;
      for (int i = 0; i < nseg; i++) {
        rb->iov[i].iov_base = rb->data[i];
        rb->iov[i].iov_len = rb->seglen[i];
      }
      rb->b = ocf_buf_iovec(rb->iov, nseg);
      break;
    case OCF_BUF_MBUF:
      rb->mb = calloc((size_t)nseg, sizeof(*rb->mb));
      if (rb->mb == NULL) goto nomem;
      for (int i = 0; i < nseg; i++) {
        rb->mb[i].data = rb->data[i];
        rb->mb[i].len = rb->seglen[i];
        rb->mb[i].next = i + 1 < nseg ? &rb->mb[i + 1] : NULL;
      }
      rb->b = ocf_buf_mbuf(&rb->mb[0]);
      break;
    default:
      ref_buf_free(rb);
      return EINVAL;
  }
  return 0;
nomem:
  ref_buf_free(rb);
  return ENOMEM;
}

void ref_buf_flatten(const struct ref_buf *rb, uint8_t *flat) {
  size_t off = 0;
  for (int i = 0; i < rb->nseg; i++) {
    if (rb->seglen[i]) memcpy(flat + off, rb->data[i], rb->seglen[i]);
    off += rb->seglen[i];
  }
}

int ref_buf_guards_ok(const struct ref_buf *rb) {
  if (!rb->odd) return 1;
  for (int i = 0; i < rb->nseg; i++)
    if (rb->alloc[i][0] != GUARD || rb->alloc[i][rb->seglen[i] + 1] != GUARD) return 0;
  return 1;
}

void ref_buf_free(struct ref_buf *rb) {
  if (rb->alloc != NULL)
    for (int i = 0; i < rb->nseg; i++) free(rb->alloc[i]);
  free(rb->alloc);
  free(rb->seglen);
  free(rb->data);
  free(rb->iov);
  free(rb->mb);
  memset(rb, 0, sizeof(*rb));
}

static int cmp_size(const void *a, const void *b) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  return x < y ? -1 : x > y;
}

size_t ref_cuts_even(size_t n, size_t pieces, size_t *cuts, size_t max) {
  size_t k = 0;
  if (pieces == 0) pieces = 1;
  for (size_t i = 1; i < pieces && k < max; i++) cuts[k++] = i * n / pieces;
  return k;
}

/* dedup keeps one copy of each cut and drops cuts at 0 and n, so that only
 * ref_cuts_empty produces empty segments. */
static size_t dedup(size_t *cuts, size_t k, size_t n) {
  qsort(cuts, k, sizeof(*cuts), cmp_size);
  size_t j = 0;
  for (size_t i = 0; i < k; i++) {
    if (cuts[i] == 0 || cuts[i] >= n) continue;
    if (j > 0 && cuts[j - 1] == cuts[i]) continue;
    cuts[j++] = cuts[i];
  }
  return j;
}

size_t ref_cuts_uneven(struct ref_rng *r, size_t n, size_t *cuts, size_t max) {
  if (n < 2) return 0;
  size_t want = ref_range(r, 1, n - 1 < 12 ? n - 1 : 12), k = 0;
  if (want > max) want = max;
  while (k < want) cuts[k++] = ref_range(r, 1, n - 1);
  return dedup(cuts, k, n);
}

size_t ref_cuts_onebyte(size_t n, size_t *cuts, size_t max) {
  size_t k = 0;
  for (size_t i = 1; i < n && k < max; i++) cuts[k++] = i;
  return k;
}

size_t ref_cuts_empty(struct ref_rng *r, size_t n, size_t *cuts, size_t max) {
  size_t k = 0, want = ref_range(r, 2, 10);
  if (max < 4) return 0;
  cuts[k++] = 0;
  while (k < want && k < max - 1) {
    size_t c = ref_range(r, 0, n);
    cuts[k++] = c;
    if (k < max - 1 && (ref_rand(r) & 1)) cuts[k++] = c;
  }
  cuts[k++] = n;
  qsort(cuts, k, sizeof(*cuts), cmp_size);
  return k;
}

size_t ref_cuts_through(struct ref_rng *r, const struct ocf_sessparam *chain,
                        const struct ocf_desc *d, int nd, size_t n, size_t *cuts, size_t max) {
  size_t k = 0;
#define ADD(x)                    \
  do {                            \
    if (k < max) cuts[k++] = (x); \
  } while (0)
  for (int i = 0; i < nd; i++) {
    const struct ocf_sessparam *p = ref_param(chain, d[i].alg);
    if (p == NULL) continue;
    enum ocf_alg_class cls = ref_alg_class(d[i].alg);
    size_t blk = ref_alg_block(d[i].alg);
    if (blk < 8) blk = 16; /* stream modes still process 16-byte blocks inside */
    /* mid-block cuts at the start, somewhere in the middle and at the end */
    for (size_t off = blk / 2 + (blk > 2 ? 1 : 0); off < d[i].len; off += blk) {
      if (off < 3 * blk || off + 3 * blk > d[i].len || (ref_rand(r) & 7) == 0) ADD(d[i].skip + off);
    }
    ADD(d[i].skip + 1);
    if (cls == OCF_CLASS_MAC || cls == OCF_CLASS_AEAD) {
      size_t ml = ref_maclen(p);
      ADD(d[i].inject + ml / 2);
      ADD(d[i].inject + 1);
      ADD(d[i].inject + ml - 1);
    }
    if (cls == OCF_CLASS_AEAD && d[i].aad_len > 1) ADD(d[i].aad_skip + d[i].aad_len / 2);
    if (iv_in_buffer(p, &d[i])) ADD(d[i].iv_off + ref_ivlen(p) / 2);
  }
  for (int i = 0; i < 3; i++) ADD(ref_range(r, 1, n ? n : 1));
#undef ADD
  return dedup(cuts, k, n);
}

void ref_hexdiff(const char *label, const uint8_t *got, const uint8_t *want, size_t n) {
  size_t first = n;
  for (size_t i = 0; i < n; i++)
    if (got[i] != want[i]) {
      first = i;
      break;
    }
  if (first == n) {
    fprintf(stderr, "  %s: identical (%zu bytes)\n", label, n);
    return;
  }
  size_t ndiff = 0;
  for (size_t i = 0; i < n; i++) ndiff += got[i] != want[i];
  fprintf(stderr, "  %s: %zu of %zu bytes differ, first at offset %zu\n", label, ndiff, n, first);
  size_t from = first > 8 ? first - 8 : 0, to = from + 32 < n ? from + 32 : n;
  fprintf(stderr, "    got  @%zu:", from);
  for (size_t i = from; i < to; i++) fprintf(stderr, " %02x", got[i]);
  fprintf(stderr, "\n    want @%zu:", from);
  for (size_t i = from; i < to; i++) fprintf(stderr, " %02x", want[i]);
  fprintf(stderr, "\n");
}
