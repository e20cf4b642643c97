/*
 * rsa_pad.c - RSA padding in the provider (RFC 8017): PKCS #1 v1.5 for
 * signatures and encryption, PSS, OAEP, MGF1.  The framework then only does
 * the modular exponentiation (rsa_modexp, sig_rsa.c).
 *
 * Decoding a decrypted block (OAEP, PKCS #1 v1.5 type 2) runs in time
 * independent of where the message starts and of which check failed: every
 * byte is looked at, the checks are folded into one mask, and the message
 * is moved to the front by a sequence of conditional shifts by powers of
 * two.  A bad block is reported only at the end, with one error.
 */
#include <openssl/rand.h>
#include <string.h>

#include "provider/pkey.h"

/* --- constant-time helpers (all-ones / all-zeros masks) --------------------- */

static inline size_t ct_msb(size_t a) { return 0 - (a >> (sizeof(a) * 8 - 1)); }
static inline size_t ct_is_zero(size_t a) { return ct_msb(~a & (a - 1)); }
static inline size_t ct_eq(size_t a, size_t b) { return ct_is_zero(a ^ b); }
static inline size_t ct_lt(size_t a, size_t b) { return ct_msb(a ^ ((a ^ b) | ((a - b) ^ b))); }
static inline size_t ct_ge(size_t a, size_t b) { return ~ct_lt(a, b); }
static inline size_t ct_sel(size_t m, size_t a, size_t b) { return (m & a) | (~m & b); }

/* --- DigestInfo ----------------------------------------------------------- */

static const uint8_t di_sha1[] = {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
                                  0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14};
#define DI_SHA2(last, len)                                                                     \
  {                                                                                            \
    0x30, (uint8_t)(0x11 + (len)), 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, \
        0x04, 0x02, last, 0x05, 0x00, 0x04, len                                                \
  }
static const uint8_t di_sha224[] = DI_SHA2(0x04, 28);
static const uint8_t di_sha256[] = DI_SHA2(0x01, 32);
static const uint8_t di_sha384[] = DI_SHA2(0x02, 48);
static const uint8_t di_sha512[] = DI_SHA2(0x03, 64);
static const uint8_t di_sha512_224[] = DI_SHA2(0x05, 28);
static const uint8_t di_sha512_256[] = DI_SHA2(0x06, 32);
static const uint8_t di_sha3_224[] = DI_SHA2(0x07, 28);
static const uint8_t di_sha3_256[] = DI_SHA2(0x08, 32);
static const uint8_t di_sha3_384[] = DI_SHA2(0x09, 48);
static const uint8_t di_sha3_512[] = DI_SHA2(0x0a, 64);
static const uint8_t di_md5[] = {0x30, 0x20, 0x30, 0x0c, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                 0x86, 0xf7, 0x0d, 0x02, 0x05, 0x05, 0x00, 0x04, 0x10};

const uint8_t *rsa_digestinfo(const EVP_MD *md, size_t *len) {
  static const struct {
    const char *name;
    const uint8_t *di;
    size_t len;
  } tab[] = {
      {"SHA1", di_sha1, sizeof(di_sha1)},
      {"SHA2-224", di_sha224, sizeof(di_sha224)},
      {"SHA2-256", di_sha256, sizeof(di_sha256)},
      {"SHA2-384", di_sha384, sizeof(di_sha384)},
      {"SHA2-512", di_sha512, sizeof(di_sha512)},
      {"SHA2-512/224", di_sha512_224, sizeof(di_sha512_224)},
      {"SHA2-512/256", di_sha512_256, sizeof(di_sha512_256)},
      {"SHA3-224", di_sha3_224, sizeof(di_sha3_224)},
      {"SHA3-256", di_sha3_256, sizeof(di_sha3_256)},
      {"SHA3-384", di_sha3_384, sizeof(di_sha3_384)},
      {"SHA3-512", di_sha3_512, sizeof(di_sha3_512)},
      {"MD5", di_md5, sizeof(di_md5)},
  };
  for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
    if (EVP_MD_is_a(md, tab[i].name)) {
      *len = tab[i].len;
      return tab[i].di;
    }
  return NULL;
}

/* --- PKCS #1 v1.5 signatures (EMSA-PKCS1-v1_5, T already built) -------------- */

int rsa_pad_pkcs1_sign(uint8_t *em, size_t k, const uint8_t *t, size_t tlen) {
  if (tlen + 11 > k) return 0;
  em[0] = 0;
  em[1] = 1;
  memset(em + 2, 0xff, k - tlen - 3);
  em[k - tlen - 1] = 0;
  memcpy(em + k - tlen, t, tlen);
  return 1;
}

long rsa_unpad_pkcs1_sign(const uint8_t *em, size_t k, uint8_t *t, size_t tmax) {
  if (k < 11 || em[0] != 0 || em[1] != 1) return -1;
  size_t i = 2;
  while (i < k && em[i] == 0xff) i++;
  if (i == k || em[i] != 0 || i < 10) return -1;
  i++;
  if (k - i > tmax) return -1;
  memcpy(t, em + i, k - i);
  return (long)(k - i);
}

/* --- MGF1 and PSS ----------------------------------------------------------- */

static int mgf1_xor(uint8_t *out, size_t len, const uint8_t *seed, size_t slen, const EVP_MD *md) {
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  size_t hl = (size_t)EVP_MD_get_size(md);
  uint8_t h[EVP_MAX_MD_SIZE];
  int ok = c != NULL;
  for (uint32_t ctr = 0, done = 0; ok && done < len; ctr++) {
    uint8_t cb[4] = {(uint8_t)(ctr >> 24), (uint8_t)(ctr >> 16), (uint8_t)(ctr >> 8), (uint8_t)ctr};
    ok = EVP_DigestInit_ex(c, md, NULL) && EVP_DigestUpdate(c, seed, slen) &&
         EVP_DigestUpdate(c, cb, 4) && EVP_DigestFinal_ex(c, h, NULL);
    for (size_t i = 0; ok && i < hl && done < len; i++) out[done++] ^= h[i];
  }
  EVP_MD_CTX_free(c);
  OPENSSL_cleanse(h, sizeof(h));
  return ok;
}

/* pss_hash computes H = Hash(0^8 || mhash || salt). */
static int pss_hash(uint8_t *h, const uint8_t *mhash, size_t hl, const uint8_t *salt, size_t sl,
                    const EVP_MD *md) {
  static const uint8_t zeros[8] = {0};
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  int ok = c != NULL && EVP_DigestInit_ex(c, md, NULL) && EVP_DigestUpdate(c, zeros, 8) &&
           EVP_DigestUpdate(c, mhash, hl) && (sl == 0 || EVP_DigestUpdate(c, salt, sl)) &&
           EVP_DigestFinal_ex(c, h, NULL);
  EVP_MD_CTX_free(c);
  return ok;
}

int rsa_pad_pss(OSSL_LIB_CTX *lc, uint8_t *em, size_t modbits, const uint8_t *mhash,
                const EVP_MD *md, const EVP_MD *mgf1, int saltlen) {
  size_t k = (modbits + 7) / 8, embits = modbits - 1, emlen = (embits + 7) / 8;
  size_t hl = (size_t)EVP_MD_get_size(md);
  if (emlen < hl + 2) return 0;
  size_t sl = saltlen < 0 ? emlen - hl - 2 : (size_t)saltlen; /* negative: the maximum */
  if (emlen < hl + sl + 2) return 0;
  uint8_t *out = em;
  if (emlen < k) *out++ = 0; /* modbits - 1 is a multiple of 8 */
  size_t dblen = emlen - hl - 1;
  uint8_t *db = out, *h = out + dblen;
  memset(db, 0, dblen);
  db[dblen - sl - 1] = 1;
  if (sl > 0 && RAND_bytes_ex(lc, db + dblen - sl, sl, 0) <= 0) return 0;
  if (!pss_hash(h, mhash, hl, db + dblen - sl, sl, md) || !mgf1_xor(db, dblen, h, hl, mgf1))
    return 0;
  db[0] &= (uint8_t)(0xff >> (8 * emlen - embits));
  out[emlen - 1] = 0xbc;
  return 1;
}

int rsa_verify_pss(const uint8_t *em, size_t modbits, const uint8_t *mhash, const EVP_MD *md,
                   const EVP_MD *mgf1, int saltlen) {
  size_t k = (modbits + 7) / 8, embits = modbits - 1, emlen = (embits + 7) / 8;
  size_t hl = (size_t)EVP_MD_get_size(md);
  if (emlen < k) {
    if (em[0] != 0) return 0;
    em++;
  }
  if (emlen < hl + 2 || em[emlen - 1] != 0xbc) return 0;
  size_t dblen = emlen - hl - 1;
  uint8_t mask = (uint8_t)(0xff >> (8 * emlen - embits));
  if (em[0] & ~mask) return 0;
  uint8_t db[1024], h2[EVP_MAX_MD_SIZE];
  if (dblen > sizeof(db)) return 0;
  memcpy(db, em, dblen);
  const uint8_t *h = em + dblen;
  if (!mgf1_xor(db, dblen, h, hl, mgf1)) return 0;
  db[0] &= mask;
  size_t i = 0;
  while (i < dblen - 1 && db[i] == 0) i++;
  if (db[i] != 1) return 0;
  size_t sl = dblen - i - 1;
  if (saltlen >= 0 && sl != (size_t)saltlen) return 0;
  if (saltlen == -3 && sl != emlen - hl - 2) return 0; /* RSA_PSS_SALTLEN_MAX */
  if (!pss_hash(h2, mhash, hl, db + i + 1, sl, md)) return 0;
  return CRYPTO_memcmp(h, h2, hl) == 0;
}

/* --- OAEP ------------------------------------------------------------------- */

int rsa_pad_oaep(OSSL_LIB_CTX *lc, uint8_t *em, size_t k, const uint8_t *m, size_t mlen,
                 const uint8_t *label, size_t llen, const EVP_MD *md, const EVP_MD *mgf1) {
  size_t hl = (size_t)EVP_MD_get_size(md);
  if (k < 2 * hl + 2 || mlen > k - 2 * hl - 2) return 0;
  uint8_t *seed = em + 1, *db = em + 1 + hl;
  size_t dblen = k - hl - 1;
  em[0] = 0;
  if (!EVP_Digest(label, llen, db, NULL, md, NULL)) return 0;
  memset(db + hl, 0, dblen - hl - mlen - 1);
  db[dblen - mlen - 1] = 1;
  memcpy(db + dblen - mlen, m, mlen);
  if (RAND_bytes_ex(lc, seed, hl, 0) <= 0) return 0;
  return mgf1_xor(db, dblen, seed, hl, mgf1) && mgf1_xor(seed, hl, db, dblen, mgf1);
}

/* ct_move_out copies the message of mlen bytes that starts at from (both
 * secret) within buf[n] to out[0..mlen) without an address depending on
 * them: buf is shifted left by from in log2 steps, then copied whole with
 * a mask per byte.  Returns mlen when good, else -1. */
static long ct_move_out(uint8_t *buf, size_t n, size_t from, size_t mlen, size_t good, uint8_t *out,
                        size_t outmax) {
  /* A message that does not fit is a public error only if the block was
   * good; the check is folded in. */
  good &= ct_ge(outmax, mlen);
  for (size_t shift = 1; shift < n; shift <<= 1) {
    size_t m = ~ct_is_zero(from & shift);
    for (size_t i = 0; i + shift < n; i++) buf[i] = (uint8_t)ct_sel(m, buf[i + shift], buf[i]);
  }
  size_t lim = outmax < n ? outmax : n;
  for (size_t i = 0; i < lim; i++) {
    size_t m = good & ct_lt(i, mlen);
    out[i] = (uint8_t)ct_sel(m, buf[i], out[i]);
  }
  return good ? (long)mlen : -1;
}

long rsa_unpad_oaep(uint8_t *em, size_t k, uint8_t *out, size_t outmax, const uint8_t *label,
                    size_t llen, const EVP_MD *md, const EVP_MD *mgf1) {
  size_t hl = (size_t)EVP_MD_get_size(md);
  if (k < 2 * hl + 2) return -1; /* public: the key is too small for the digest */
  uint8_t lhash[EVP_MAX_MD_SIZE];
  uint8_t *seed = em + 1, *db = em + 1 + hl;
  size_t dblen = k - hl - 1;
  if (!EVP_Digest(label, llen, lhash, NULL, md, NULL) || !mgf1_xor(seed, hl, db, dblen, mgf1) ||
      !mgf1_xor(db, dblen, seed, hl, mgf1))
    return -1;
  size_t good = ct_is_zero(em[0]);
  size_t diff = 0;
  for (size_t i = 0; i < hl; i++) diff |= db[i] ^ lhash[i];
  good &= ct_is_zero(diff);
  /* the first 1 after the zeros that follow lHash */
  size_t found = 0, one = 0;
  for (size_t i = hl; i < dblen; i++) {
    size_t is1 = ct_eq(db[i], 1), is0 = ct_is_zero(db[i]);
    one = ct_sel(~found & is1, i, one);
    found |= is1;
    good &= found | is0; /* before the 1, only zeros */
  }
  good &= found;
  size_t from = one + 1, mlen = dblen - from;
  return ct_move_out(db, dblen, from, mlen, good, out, outmax);
}

/* --- PKCS #1 v1.5 encryption ------------------------------------------------ */

int rsa_pad_pkcs1_enc(OSSL_LIB_CTX *lc, uint8_t *em, size_t k, const uint8_t *m, size_t mlen) {
  if (mlen + 11 > k) return 0;
  size_t ps = k - mlen - 3;
  em[0] = 0;
  em[1] = 2;
  if (RAND_bytes_ex(lc, em + 2, ps, 0) <= 0) return 0;
  for (size_t i = 0; i < ps; i++)
    while (em[2 + i] == 0)
      if (RAND_bytes_ex(lc, em + 2 + i, 1, 0) <= 0) return 0;
  em[2 + ps] = 0;
  memcpy(em + 3 + ps, m, mlen);
  return 1;
}

long rsa_unpad_pkcs1_enc(uint8_t *em, size_t k, uint8_t *out, size_t outmax) {
  if (k < 11) return -1;
  size_t good = ct_is_zero(em[0]) & ct_eq(em[1], 2);
  size_t found = 0, zero = 0;
  for (size_t i = 2; i < k; i++) {
    size_t is0 = ct_is_zero(em[i]);
    zero = ct_sel(~found & is0, i, zero);
    found |= is0;
  }
  good &= found & ct_ge(zero, 2 + 8); /* at least 8 bytes of padding */
  size_t from = zero + 1, mlen = k - from;
  return ct_move_out(em, k, from, mlen, good, out, outmax);
}
