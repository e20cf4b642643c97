/*
 * test_provider.c - ocf.so's ciphers, digests and HMAC against OpenSSL's
 * default provider, through the EVP API, in one library context where both
 * are active: random keys, IVs and messages of 0..2 KB, 16 KB and 1 MB,
 * random update splits, in place, context copies mid-stream, padding on and
 * off, AAD in pieces, tags through parameters, wrong tags, and the TLS 1.2
 * record interfaces (AEAD records, CBC records with their MAC).
 *
 * Three configurations: offload = always (every request the framework can
 * take goes to it), alternate (each request picks a path at random, so that
 * one stream changes path between updates) and auto (the measured choice).
 */
#include <openssl/prov_ssl.h>
#include <openssl/rand.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <time.h>

// clang-format off
#include <cmocka.h>
// clang-format on

#include "provider_test.h"

static OSSL_LIB_CTX *lcs[3];
static const char *const lc_names[3] = {"always", "alternate", "auto"};
static int scale;

static int setup(void **state) {
  pt_seed();
  scale = pt_scale();
  static const char *const conf[3] = {"offload = always\n", "offload = alternate\n",
                                      "offload = auto\n"};
  for (int i = 0; i < 3; i++) {
    lcs[i] = pt_libctx(conf[i], 1, 0);
    if (lcs[i] == NULL) return -1;
  }
  return 0;
}

static int teardown(void **state) {
  for (int i = 0; i < 3; i++) OSSL_LIB_CTX_free(lcs[i]);
  return 0;
}

/* sizes every cipher and digest is run at (the 1 MB one once). */
static size_t pick_size(int i) {
  static const size_t fixed[] = {0,  1,   15,  16,  17,   31,   32,   33,   63,
                                 64, 100, 255, 256, 1000, 1024, 2047, 2048, 16384};
  size_t nf = sizeof(fixed) / sizeof(fixed[0]);
  if ((size_t)i < nf) return fixed[i];
  if ((size_t)i == nf) return 1 << 20;
  return pt_below(2049);
}

static int nsizes(void) { return 19 + 12 / scale; }

/* --- block ciphers -------------------------------------------------------- */

static EVP_CIPHER *cfetch(OSSL_LIB_CTX *lc, const char *name, int ocf) {
  EVP_CIPHER *c = EVP_CIPHER_fetch(lc, name, ocf ? "provider=ocf" : "provider=default");
  if (c == NULL) fail_msg("fetch %s from %s: %s", name, ocf ? "ocf" : "default", pt_errs());
  return c;
}

/* ref_crypt runs in[n] through the default provider in one update. */
static size_t ref_crypt(OSSL_LIB_CTX *lc, const char *name, const uint8_t *key, const uint8_t *iv,
                        int enc, int pad, const uint8_t *in, size_t n, uint8_t *out, int *ok) {
  EVP_CIPHER *c = cfetch(lc, name, 0);
  EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
  int l1 = 0, l2 = 0;
  *ok = EVP_CipherInit_ex2(x, c, key, iv, enc, NULL) && EVP_CIPHER_CTX_set_padding(x, pad) &&
        EVP_CipherUpdate(x, out, &l1, in, (int)n) && EVP_CipherFinal_ex(x, out + l1, &l2);
  ERR_clear_error();
  EVP_CIPHER_CTX_free(x);
  EVP_CIPHER_free(c);
  return (size_t)(l1 + l2);
}

/* ocf_crypt runs in[n] through ocf.so in random pieces, in place when
 * inplace (the output trailing the input by what the context holds, as EVP
 * allows), switching to a copy of the context at a random point. */
static size_t ocf_crypt(OSSL_LIB_CTX *lc, const char *name, const uint8_t *key, const uint8_t *iv,
                        int enc, int pad, const uint8_t *in, size_t n, uint8_t *out, int inplace,
                        int *ok) {
  EVP_CIPHER *c = cfetch(lc, name, 1);
  EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
  *ok = EVP_CipherInit_ex2(x, c, key, iv, enc, NULL) && EVP_CIPHER_CTX_set_padding(x, pad);
  if (inplace) memcpy(out, in, n);
  const uint8_t *src = inplace ? out : in;
  size_t used = 0, made = 0, copy_at = pt_below(n + 1);
  int copied = 0;
  while (*ok && used < n) {
    size_t piece = pt_below(4) == 0 ? pt_below(40) : pt_below(n / 3 + 2);
    if (piece > n - used) piece = n - used;
    if (!copied && used >= copy_at) {
      EVP_CIPHER_CTX *y = EVP_CIPHER_CTX_new();
      *ok = EVP_CIPHER_CTX_copy(y, x);
      EVP_CIPHER_CTX_free(x);
      x = y;
      copied = 1;
    }
    int l = 0;
    *ok = *ok && EVP_CipherUpdate(x, out + made, &l, src + used, (int)piece);
    used += piece;
    made += (size_t)l;
  }
  int l = 0;
  *ok = *ok && EVP_CipherFinal_ex(x, out + made, &l);
  made += (size_t)l;
  ERR_clear_error();
  EVP_CIPHER_CTX_free(x);
  EVP_CIPHER_free(c);
  return made;
}

static void block_cipher(const char *name, size_t keylen, size_t ivlen, size_t bs) {
  for (int li = 0; li < 3; li++) {
    OSSL_LIB_CTX *lc = lcs[li];
    for (int i = 0; i < nsizes(); i++) {
      size_t n = pick_size(i);
      if (li > 0 && n > 65536) continue; /* the large size once is enough */
      uint8_t key[64], iv[16];
      pt_fill(key, keylen);
      pt_fill(iv, ivlen);
      int pad = bs > 1 ? (int)pt_below(2) : 0;
      if (!pad && bs > 1) n -= n % bs;
      uint8_t *in = malloc(n + 32), *r = malloc(n + 32), *o = malloc(n + 32), *d = malloc(n + 32);
      pt_fill(in, n);
      int ok1, ok2;
      size_t rn = ref_crypt(lc, name, key, iv, 1, pad, in, n, r, &ok1);
      size_t on = ocf_crypt(lc, name, key, iv, 1, pad, in, n, o, (int)pt_below(2), &ok2);
      if (!ok1 || !ok2 || rn != on || memcmp(r, o, rn) != 0)
        fail_msg("%s [%s] encrypt %zu bytes (pad %d): ref ok %d len %zu, ocf ok %d len %zu", name,
                 lc_names[li], n, pad, ok1, rn, ok2, on);
      size_t dn = ocf_crypt(lc, name, key, iv, 0, pad, r, rn, d, (int)pt_below(2), &ok2);
      if (!ok2 || dn != n || memcmp(d, in, n) != 0)
        fail_msg("%s [%s] decrypt %zu bytes (pad %d): ok %d len %zu", name, lc_names[li], n, pad,
                 ok2, dn);
      free(in), free(r), free(o), free(d);
    }
  }
}

static void t_aes_cbc(void **s) {
  block_cipher("AES-128-CBC", 16, 16, 16);
  block_cipher("AES-192-CBC", 24, 16, 16);
  block_cipher("AES-256-CBC", 32, 16, 16);
}

static void t_aes_ctr(void **s) {
  block_cipher("AES-128-CTR", 16, 16, 1);
  block_cipher("AES-192-CTR", 24, 16, 1);
  block_cipher("AES-256-CTR", 32, 16, 1);
}

static void t_3des(void **s) { block_cipher("DES-EDE3-CBC", 24, 8, 8); }

/* XTS: one update is one data unit. */
static void t_aes_xts(void **s) {
  static const char *const names[] = {"AES-128-XTS", "AES-256-XTS"};
  for (int k = 0; k < 2; k++)
    for (int li = 0; li < 3; li++)
      for (int i = 0; i < nsizes(); i++) {
        size_t n = pick_size(i);
        if (n < 16) n = 16 + n;
        uint8_t key[64], iv[16];
        pt_fill(key, 64);
        pt_fill(iv, 16);
        uint8_t *in = malloc(n), *r = malloc(n + 16), *o = malloc(n + 16);
        pt_fill(in, n);
        for (int enc = 1; enc >= 0; enc--) {
          int ok1, ok2;
          size_t rn = ref_crypt(lcs[li], names[k], key, iv, enc, 0, in, n, r, &ok1);
          EVP_CIPHER *c = cfetch(lcs[li], names[k], 1);
          EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new(), *y = EVP_CIPHER_CTX_new();
          int l = 0, l2 = 0;
          ok2 = EVP_CipherInit_ex2(x, c, key, iv, enc, NULL) && EVP_CIPHER_CTX_copy(y, x) &&
                EVP_CipherUpdate(y, o, &l, in, (int)n) && EVP_CipherFinal_ex(y, o + l, &l2);
          if (!ok1 || !ok2 || rn != (size_t)(l + l2) || memcmp(r, o, rn) != 0)
            fail_msg("%s [%s] %s %zu bytes", names[k], lc_names[li], enc ? "encrypt" : "decrypt",
                     n);
          EVP_CIPHER_CTX_free(x);
          EVP_CIPHER_CTX_free(y);
          EVP_CIPHER_free(c);
        }
        free(in), free(r), free(o);
      }
}

/* Padding off with a partial block fails at the final call, with a reason. */
static void t_nopad_partial(void **s) {
  EVP_CIPHER *c = cfetch(lcs[0], "AES-128-CBC", 1);
  EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
  uint8_t key[16] = {1}, iv[16] = {2}, buf[64];
  int l;
  assert_true(EVP_EncryptInit_ex2(x, c, key, iv, NULL));
  EVP_CIPHER_CTX_set_padding(x, 0);
  assert_true(EVP_EncryptUpdate(x, buf, &l, buf, 20));
  assert_int_equal(l, 16);
  assert_false(EVP_EncryptFinal_ex(x, buf + l, &l));
  const char *e = pt_errs();
  if (strstr(e, "invalid data length") == NULL) fail_msg("error queue: %s", e);
  EVP_CIPHER_CTX_free(x);
  EVP_CIPHER_free(c);
}

/* --- AEAD -------------------------------------------------------------------- */

struct aead_msg {
  uint8_t key[32], iv[16], aad[80], tag[16];
  size_t ivlen, aadlen, taglen;
};

/* aead_run seals or opens in[n] on cipher c with m; the AAD in random
 * pieces (one for CCM), the payload in random pieces (one for CCM, or
 * oneshot), the tag set before the payload (tag_early) or before final.
 * Returns the final call's result; out holds what the updates released. */
static int aead_run(EVP_CIPHER *c, int ccm, int enc, struct aead_msg *m, const uint8_t *in,
                    size_t n, uint8_t *out, int oneshot, int tag_early, int copy) {
  EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
  int ok = EVP_CipherInit_ex2(x, c, NULL, NULL, enc, NULL) &&
           EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, (int)m->ivlen, NULL) > 0;
  if (ok && ccm)
    ok = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, (int)m->taglen, enc ? NULL : m->tag) > 0;
  else if (ok && !enc && tag_early)
    ok = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, (int)m->taglen, m->tag) > 0;
  ok = ok && EVP_CipherInit_ex2(x, NULL, m->key, m->iv, enc, NULL);
  int l;
  if (ok && ccm) ok = EVP_CipherUpdate(x, NULL, &l, NULL, (int)n);
  for (size_t a = 0; ok && a < m->aadlen;) {
    size_t piece = ccm ? m->aadlen : 1 + pt_below(m->aadlen - a);
    ok = EVP_CipherUpdate(x, NULL, &l, m->aad + a, (int)piece);
    a += piece;
  }
  if (ok && copy) {
    EVP_CIPHER_CTX *y = EVP_CIPHER_CTX_new();
    ok = EVP_CIPHER_CTX_copy(y, x);
    EVP_CIPHER_CTX_free(x);
    x = y;
  }
  size_t made = 0;
  for (size_t u = 0; ok && (u < n || (ccm && n == 0 && u == 0));) {
    size_t piece = ccm || oneshot ? n : pt_below(n - u + 1);
    ok = EVP_CipherUpdate(x, out + made, &l, in + u, (int)piece);
    made += (size_t)l;
    u += piece;
    if (n == 0) break;
  }
  if (ok && !enc && !tag_early && !ccm)
    ok = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, (int)m->taglen, m->tag) > 0;
  ok = ok && EVP_CipherFinal_ex(x, out + made, &l);
  if (ok && enc) ok = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, (int)m->taglen, m->tag) > 0;
  if (!ok && getenv("PT_DEBUG")) fprintf(stderr, "aead_run: %s\n", pt_errs());
  ERR_clear_error();
  EVP_CIPHER_CTX_free(x);
  return ok;
}

static void aead_cipher(const char *name, size_t keylen, int ccm, int chacha) {
  for (int li = 0; li < 3; li++) {
    EVP_CIPHER *co = cfetch(lcs[li], name, 1), *cd = cfetch(lcs[li], name, 0);
    for (int i = 0; i < nsizes(); i++) {
      size_t n = pick_size(i);
      if (li > 0 && n > 65536) continue;
      struct aead_msg m, mo;
      pt_fill(m.key, keylen);
      /* CCM: a 13-byte nonce leaves a 2-byte length, too short for 1 MB */
      m.ivlen = ccm      ? 7 + pt_below(n > 65535 ? 6 : 7)
                : chacha ? 12
                         : (pt_below(3) ? 12 : 1 + pt_below(16));
      m.taglen = ccm ? 4 + 2 * pt_below(7) : chacha ? 16 : 12 + pt_below(5);
      pt_fill(m.iv, m.ivlen);
      int tls13 = pt_below(3) == 0 && n < 16384;
      m.aadlen = pt_below(81);
      pt_fill(m.aad, m.aadlen);
      if (tls13) { /* a TLS 1.3 record header announcing the payload */
        m.aadlen = 5;
        m.aad[0] = 23, m.aad[1] = 3, m.aad[2] = 3;
        m.aad[3] = (uint8_t)((n + m.taglen) >> 8), m.aad[4] = (uint8_t)(n + m.taglen);
      }
      mo = m;
      uint8_t *in = malloc(n + 1), *r = malloc(n + 1), *o = malloc(n + 1), *d = malloc(n + 1);
      pt_fill(in, n);
      int ok1 = aead_run(cd, ccm, 1, &m, in, n, r, 1, 0, 0);
      int ok2 = aead_run(co, ccm, 1, &mo, in, n, o, tls13, 0, (int)pt_below(2));
      if (!ok1 || !ok2 || memcmp(r, o, n) != 0 || memcmp(m.tag, mo.tag, m.taglen) != 0)
        fail_msg("%s [%s] seal %zu bytes (iv %zu, tag %zu, aad %zu%s): ok %d/%d", name,
                 lc_names[li], n, m.ivlen, m.taglen, m.aadlen, tls13 ? ", TLS 1.3" : "", ok1, ok2);
      int early = ccm || tls13 || (int)pt_below(2);
      if (!aead_run(co, ccm, 0, &m, r, n, d, tls13, early, (int)pt_below(2)) ||
          memcmp(d, in, n) != 0)
        fail_msg("%s [%s] open %zu bytes", name, lc_names[li], n);
      /* a wrong tag is refused; a whole message through the framework
       * releases nothing */
      m.tag[pt_below(m.taglen)] ^= (uint8_t)(1 + pt_below(255));
      memset(d, 0xa5, n);
      if (aead_run(co, ccm, 0, &m, r, n, d, tls13, early, 0))
        fail_msg("%s [%s] opened %zu bytes with a wrong tag", name, lc_names[li], n);
      if (li == 0 && (tls13 || ccm))
        for (size_t k = 0; k < n; k++)
          if (d[k] != 0 && d[k] != 0xa5) fail_msg("%s: plaintext released after a wrong tag", name);
      free(in), free(r), free(o), free(d);
    }
    EVP_CIPHER_free(co);
    EVP_CIPHER_free(cd);
  }
}

static void t_gcm(void **s) {
  aead_cipher("AES-128-GCM", 16, 0, 0);
  aead_cipher("AES-192-GCM", 24, 0, 0);
  aead_cipher("AES-256-GCM", 32, 0, 0);
}

static void t_ccm(void **s) {
  aead_cipher("AES-128-CCM", 16, 1, 0);
  aead_cipher("AES-256-CCM", 32, 1, 0);
}

static void t_chacha(void **s) { aead_cipher("ChaCha20-Poly1305", 32, 0, 1); }

/* --- TLS 1.2 records ---------------------------------------------------------- */

/* tls_ctx sets up a record context as libssl does. */
static EVP_CIPHER_CTX *tls_ctx(EVP_CIPHER *c, int enc, const uint8_t *key, const uint8_t *fixed,
                               size_t fixedlen, int ccm) {
  EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
  int ok = EVP_CipherInit_ex(x, c, NULL, NULL, NULL, enc);
  if (ok && ccm)
    ok = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) > 0 &&
         EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, 16, NULL) > 0;
  ok = ok && EVP_CipherInit_ex(x, NULL, NULL, key, NULL, enc) &&
       EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IV_FIXED, (int)fixedlen, (void *)fixed) > 0;
  if (!ok) fail_msg("TLS context: %s", pt_errs());
  return x;
}

/* tls_rec seals (enc) or opens buf[len] as record seq; returns the
 * payload length, or -1. */
static long tls_rec(EVP_CIPHER_CTX *x, int enc, uint64_t seq, uint8_t *buf, size_t len,
                    size_t explicit) {
  uint8_t aad[13];
  for (int i = 0; i < 8; i++) aad[i] = (uint8_t)(seq >> (56 - 8 * i));
  aad[8] = 23, aad[9] = 3, aad[10] = 3;
  size_t alen = enc ? len - 16 : len; /* sealing: the tag is not there yet */
  aad[11] = (uint8_t)(alen >> 8), aad[12] = (uint8_t)alen;
  int pad = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_TLS1_AAD, 13, aad);
  if (pad != 16) return -1;
  int outl = 0;
  if (!EVP_CipherUpdate(x, buf, &outl, buf, (int)len)) return -1;
  return enc ? outl : outl;
  (void)explicit;
}

static void tls12_aead(const char *name, size_t keylen, size_t fixedlen, size_t explicit, int ccm) {
  for (int li = 0; li < 3; li++) {
    EVP_CIPHER *co = cfetch(lcs[li], name, 1), *cd = cfetch(lcs[li], name, 0);
    uint8_t key[32], fixed[12];
    pt_fill(key, keylen);
    pt_fill(fixed, fixedlen);
    for (int dir = 0; dir < 2; dir++) {
      EVP_CIPHER_CTX *e = tls_ctx(dir ? co : cd, 1, key, fixed, fixedlen, ccm);
      EVP_CIPHER_CTX *d = tls_ctx(dir ? cd : co, 0, key, fixed, fixedlen, ccm);
      for (uint64_t seq = 0; seq < (uint64_t)(24 / scale + 2); seq++) {
        size_t n = seq == 3 ? 16384 : pt_below(1500);
        size_t len = explicit + n + 16;
        uint8_t *buf = malloc(len), *pl = malloc(n + 1);
        pt_fill(pl, n);
        memcpy(buf + explicit, pl, n);
        long el = tls_rec(e, 1, seq, buf, len, explicit);
        if (el != (long)len)
          fail_msg("%s [%s] seal record %llu: %ld: %s", name, lc_names[li], (unsigned long long)seq,
                   el, pt_errs());
        int bad = seq % 5 == 4;
        if (bad) buf[pt_below(len)] ^= 0x40;
        long dl = tls_rec(d, 0, seq, buf, len, explicit);
        if (bad) {
          if (dl >= 0) fail_msg("%s [%s] opened a corrupted record", name, lc_names[li]);
          for (size_t k = 0; dir == 1 && k < n; k++)
            if (buf[explicit + k] != 0) fail_msg("%s: plaintext of a bad record released", name);
          ERR_clear_error();
        } else if (dl != (long)n || memcmp(buf + explicit, pl, n) != 0) {
          fail_msg("%s [%s] open record %llu (%zu bytes): %ld", name, lc_names[li],
                   (unsigned long long)seq, n, dl);
        }
        free(buf), free(pl);
      }
      EVP_CIPHER_CTX_free(e);
      EVP_CIPHER_CTX_free(d);
    }
    EVP_CIPHER_free(co);
    EVP_CIPHER_free(cd);
  }
}

static void t_tls12_aead(void **s) {
  tls12_aead("AES-128-GCM", 16, 4, 8, 0);
  tls12_aead("AES-256-GCM", 32, 4, 8, 0);
  tls12_aead("ChaCha20-Poly1305", 32, 12, 0, 0);
  tls12_aead("AES-128-CCM", 16, 4, 8, 1);
}

/* CBC records: tls-version and tls-mac-size, as libssl sets them. */
static EVP_CIPHER_CTX *cbc_rec_ctx(EVP_CIPHER *c, int enc, const uint8_t *key, const uint8_t *iv,
                                   size_t macsize) {
  EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
  unsigned ver = TLS1_2_VERSION;
  OSSL_PARAM pp[] = {OSSL_PARAM_construct_uint(OSSL_CIPHER_PARAM_TLS_VERSION, &ver),
                     OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_TLS_MAC_SIZE, &macsize),
                     OSSL_PARAM_construct_end()};
  if (!EVP_CipherInit_ex2(x, c, key, iv, enc, pp)) fail_msg("CBC record context: %s", pt_errs());
  return x;
}

static void t_tls12_cbc(void **s) {
  for (int li = 0; li < 3; li++) {
    EVP_CIPHER *co = cfetch(lcs[li], "AES-128-CBC", 1), *cd = cfetch(lcs[li], "AES-128-CBC", 0);
    for (int dir = 0; dir < 2; dir++)
      for (size_t macsize = 0; macsize <= 32; macsize += 20) {
        uint8_t key[16], iv[16];
        pt_fill(key, 16);
        pt_fill(iv, 16);
        EVP_CIPHER_CTX *e = cbc_rec_ctx(dir ? co : cd, 1, key, iv, macsize);
        EVP_CIPHER_CTX *d = cbc_rec_ctx(dir ? cd : co, 0, key, iv, macsize);
        for (int r = 0; r < 16 / scale + 2; r++) {
          size_t n = r == 1 ? 16000 : pt_below(1000), in = 16 + n + macsize;
          uint8_t *buf = malloc(in + 16), *want = malloc(in);
          pt_fill(buf, in);
          memcpy(want, buf, in);
          int el = 0, dl = 0;
          if (!EVP_CipherUpdate(e, buf, &el, buf, (int)in) || el <= (int)in || el % 16)
            fail_msg("CBC record seal [%s]: %d: %s", lc_names[li], el, pt_errs());
          int bad = r % 4 == 3;
          if (bad) buf[el - 1 - pt_below(16)] ^= 1; /* garbles the padding block */
          int ok = EVP_CipherUpdate(d, buf, &dl, buf, el);
          uint8_t *mac = NULL;
          OSSL_PARAM gp[] = {
              OSSL_PARAM_construct_octet_ptr(OSSL_CIPHER_PARAM_TLS_MAC, (void **)&mac, macsize),
              OSSL_PARAM_construct_end()};
          if (ok && macsize) ok = EVP_CIPHER_CTX_get_params(d, gp) && mac != NULL;
          int good = ok && (size_t)dl == n && memcmp(buf + 16, want + 16, n) == 0 &&
                     (macsize == 0 || memcmp(mac, want + 16 + n, macsize) == 0);
          if (!bad && !good)
            fail_msg("CBC record open [%s] dir %d mac %zu: ok %d len %d of %zu", lc_names[li], dir,
                     macsize, ok, dl, n);
          if (bad && good) fail_msg("CBC record with a garbled padding accepted whole");
          ERR_clear_error();
          free(buf), free(want);
          /* after a garbled record the two chains differ: start again */
          if (bad) {
            EVP_CIPHER_CTX_free(e);
            EVP_CIPHER_CTX_free(d);
            e = cbc_rec_ctx(dir ? co : cd, 1, key, iv, macsize);
            d = cbc_rec_ctx(dir ? cd : co, 0, key, iv, macsize);
          }
        }
        EVP_CIPHER_CTX_free(e);
        EVP_CIPHER_CTX_free(d);
      }
    EVP_CIPHER_free(co);
    EVP_CIPHER_free(cd);
  }
}

/* --- digests and HMAC --------------------------------------------------------- */

static void t_digests(void **s) {
  static const char *const names[] = {"SHA1", "SHA224", "SHA256", "SHA384", "SHA512"};
  for (int li = 0; li < 3; li++)
    for (int k = 0; k < 5; k++) {
      EVP_MD *mo = EVP_MD_fetch(lcs[li], names[k], "provider=ocf");
      EVP_MD *md = EVP_MD_fetch(lcs[li], names[k], "provider=default");
      assert_non_null(mo);
      assert_non_null(md);
      for (int i = 0; i < nsizes(); i++) {
        size_t n = pick_size(i);
        if (li > 0 && n > 65536) continue;
        uint8_t *in = malloc(n + 1), r[64], o[64];
        pt_fill(in, n);
        unsigned rl = 0, ol = 0;
        assert_true(EVP_Digest(in, n, r, &rl, md, NULL));
        EVP_MD_CTX *x = EVP_MD_CTX_new();
        int ok = EVP_DigestInit_ex(x, mo, NULL);
        size_t u = 0, copy_at = pt_below(n + 1);
        while (ok && u < n) {
          if (u >= copy_at && copy_at != (size_t)-1) {
            EVP_MD_CTX *y = EVP_MD_CTX_new();
            ok = EVP_MD_CTX_copy_ex(y, x);
            EVP_MD_CTX_free(x);
            x = y;
            copy_at = (size_t)-1;
          }
          size_t piece = pt_below(2) ? n - u : 1 + pt_below(n - u);
          ok = EVP_DigestUpdate(x, in + u, piece);
          u += piece;
        }
        ok = ok && EVP_DigestFinal_ex(x, o, &ol);
        if (!ok || rl != ol || memcmp(r, o, rl) != 0)
          fail_msg("%s [%s] %zu bytes", names[k], lc_names[li], n);
        /* one-shot, as EVP_Digest and TLS handshakes use it */
        ok = EVP_Digest(in, n, o, &ol, mo, NULL);
        if (!ok || memcmp(r, o, rl) != 0) fail_msg("%s one-shot %zu bytes", names[k], n);
        EVP_MD_CTX_free(x);
        free(in);
      }
      EVP_MD_free(mo);
      EVP_MD_free(md);
    }
}

static void t_hmac(void **s) {
  static const char *const names[] = {"SHA1", "SHA224", "SHA256", "SHA384", "SHA512"};
  for (int li = 0; li < 3; li++) {
    EVP_MAC *mo = EVP_MAC_fetch(lcs[li], "HMAC", "provider=ocf");
    EVP_MAC *md = EVP_MAC_fetch(lcs[li], "HMAC", "provider=default");
    assert_non_null(mo);
    assert_non_null(md);
    for (int k = 0; k < 5; k++)
      for (int i = 0; i < nsizes(); i++) {
        size_t n = pick_size(i);
        if (li > 0 && n > 65536) continue;
        uint8_t key[200], r[64], o[64];
        size_t kl = pt_below(4) ? pt_below(65) : pt_below(201), rl, ol;
        pt_fill(key, kl);
        uint8_t *in = malloc(n + 1);
        pt_fill(in, n);
        OSSL_PARAM pp[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)names[k], 0),
                           OSSL_PARAM_construct_end()};
        EVP_MAC_CTX *xd = EVP_MAC_CTX_new(md), *xo = EVP_MAC_CTX_new(mo);
        assert_true(EVP_MAC_init(xd, key, kl, pp) && EVP_MAC_update(xd, in, n) &&
                    EVP_MAC_final(xd, r, &rl, sizeof(r)));
        int ok = EVP_MAC_init(xo, key, kl, pp);
        size_t u = 0, dup_at = pt_below(n + 1);
        while (ok && u < n) {
          if (u >= dup_at && dup_at != (size_t)-1) {
            EVP_MAC_CTX *y = EVP_MAC_CTX_dup(xo);
            ok = y != NULL;
            EVP_MAC_CTX_free(xo);
            xo = y;
            dup_at = (size_t)-1;
          }
          size_t piece = pt_below(2) ? n - u : 1 + pt_below(n - u);
          ok = ok && EVP_MAC_update(xo, in + u, piece);
          u += piece;
        }
        ok = ok && EVP_MAC_final(xo, o, &ol, sizeof(o));
        if (!ok || rl != ol || memcmp(r, o, rl) != 0)
          fail_msg("HMAC-%s [%s] key %zu, %zu bytes: %s", names[k], lc_names[li], kl, n, pt_errs());
        /* the same context again, for the next message */
        ok = EVP_MAC_init(xo, NULL, 0, NULL) && EVP_MAC_update(xo, in, n) &&
             EVP_MAC_final(xo, o, &ol, sizeof(o));
        if (!ok || memcmp(r, o, rl) != 0) fail_msg("HMAC-%s reinit", names[k]);
        EVP_MAC_CTX_free(xd);
        EVP_MAC_CTX_free(xo);
        free(in);
      }
    EVP_MAC_free(mo);
    EVP_MAC_free(md);
  }
}

/* The paths were taken: always sent requests to the framework, alternate
 * to both. */
static void t_paths_taken(void **s) {
  uint64_t fa = pt_stat(lcs[0], "ocf-requests"), fb = pt_stat(lcs[1], "ocf-requests");
  uint64_t ib = pt_stat(lcs[1], "inline-bytes");
  printf("framework requests: always %llu, alternate %llu; inline bytes (alternate) %llu\n",
         (unsigned long long)fa, (unsigned long long)fb, (unsigned long long)ib);
  assert_true(fa > 1000 && fa != UINT64_MAX);
  assert_true(fb > 500 && fb != UINT64_MAX);
  assert_true(ib > 0 && ib != UINT64_MAX);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_aes_cbc),       cmocka_unit_test(t_aes_ctr),
      cmocka_unit_test(t_3des),          cmocka_unit_test(t_aes_xts),
      cmocka_unit_test(t_nopad_partial), cmocka_unit_test(t_gcm),
      cmocka_unit_test(t_ccm),           cmocka_unit_test(t_chacha),
      cmocka_unit_test(t_tls12_aead),    cmocka_unit_test(t_tls12_cbc),
      cmocka_unit_test(t_digests),       cmocka_unit_test(t_hmac),
      cmocka_unit_test(t_paths_taken),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
