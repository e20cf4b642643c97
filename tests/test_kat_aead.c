/*
 * test_kat_aead.c - known answers for AES-GCM, AES-GMAC, AES-CCM and
 * ChaCha20-Poly1305 from python3-cryptography-vectors, through the
 * framework's consumer API.
 *
 * Buffer layout of every AEAD request (ocf.h: one descriptor; AAD region,
 * payload region and tag at inject, all in one buffer):
 *   [guard][AAD][payload][tag][guard]
 * Vectors that must not verify have to complete with EBADMSG.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* cmocka.h needs these before it */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
/* clang-format on */

#include "vectors.h"

#define GUARD 5
#define GUARD_BYTE 0x5a

enum outcome { PASS, SKIP, FAIL };

static void count(struct ocf_kat *k, enum outcome o) {
  if (o == PASS) k->passed++;
  if (o == SKIP) k->skipped++;
}

struct aead_vec {
  enum ocf_alg alg;
  const uint8_t *key;
  size_t keylen;
  const uint8_t *iv;
  size_t ivlen;
  const uint8_t *aad;
  size_t aadlen;
  const uint8_t *pt; /* NULL when the vector must fail */
  const uint8_t *ct;
  size_t len;
  const uint8_t *tag;
  size_t taglen;
  int fail;    /* the tag must not verify */
  int encrypt; /* also check the encryption (pt known, tag right) */
};

static int guards_ok(const uint8_t *buf, size_t total) {
  for (size_t i = 0; i < GUARD; i++)
    if (buf[i] != GUARD_BYTE || buf[total - 1 - i] != GUARD_BYTE) return 0;
  return 1;
}

/* aead_dir runs one direction; returns 0, an errno, or -1 with why set. */
static int aead_dir(ocf_sid_t sid, const struct aead_vec *a, int enc, char *why, size_t wl) {
  size_t total = GUARD + a->aadlen + a->len + a->taglen + GUARD;
  uint8_t *buf = malloc(total);
  if (buf == NULL) return ENOMEM;
  memset(buf, GUARD_BYTE, total);
  uint8_t *aad = buf + GUARD, *data = aad + a->aadlen, *tag = data + a->len;
  memcpy(aad, a->aad, a->aadlen);
  if (enc) {
    memcpy(data, a->pt, a->len);
    memset(tag, 0xee, a->taglen);
  } else {
    memcpy(data, a->ct, a->len);
    memcpy(tag, a->tag, a->taglen);
  }
  struct ocf_desc d;
  memset(&d, 0, sizeof(d));
  d.alg = a->alg;
  d.flags = OCF_D_IV_EXPLICIT | (enc ? OCF_D_ENCRYPT : 0);
  d.skip = GUARD + a->aadlen;
  d.len = a->len;
  d.aad_skip = GUARD;
  d.aad_len = a->aadlen;
  d.inject = GUARD + a->aadlen + a->len;
  memcpy(d.iv, a->iv, a->ivlen);
  int err = ocf_kat_run(sid, &d, buf, total);
  const char *dir = enc ? "encrypt" : "decrypt";
  if (!enc && a->fail) {
    if (err != EBADMSG) {
      snprintf(why, wl, "decrypt of a forged vector: got %s, want EBADMSG",
               err ? ocf_strerror(err) : "success");
      err = -1;
    } else {
      err = 0;
    }
  } else if (err != 0) {
    snprintf(why, wl, "%s: ocf_run: %s (%s)", dir, ocf_strerror(err), ocf_errdetail());
  } else if (memcmp(data, enc ? a->ct : a->pt, a->len) != 0) {
    snprintf(why, wl, "%s: wrong %s, %s", dir, enc ? "ciphertext" : "plaintext",
             ocf_kat_hexdiff(data, enc ? a->ct : a->pt, a->len));
    err = -1;
  } else if (enc && memcmp(tag, a->tag, a->taglen) != 0) {
    snprintf(why, wl, "encrypt: wrong tag, %s", ocf_kat_hexdiff(tag, a->tag, a->taglen));
    err = -1;
  } else if (memcmp(aad, a->aad, a->aadlen) != 0 || !guards_ok(buf, total)) {
    snprintf(why, wl, "%s: bytes outside the payload and tag changed", dir);
    err = -1;
  }
  free(buf);
  return err;
}

static enum outcome check_aead(struct ocf_kat *k, const struct ocf_vec *v,
                               const struct aead_vec *a) {
  if (!ocf_kat_key_ok(a->alg, a->keylen) || !ocf_kat_iv_ok(a->alg, a->ivlen) ||
      !ocf_kat_mac_ok(a->alg, a->taglen) || a->taglen == 0)
    return SKIP;
  ocf_sid_t sid;
  int err = ocf_kat_session(&sid, a->alg, a->key, a->keylen, a->taglen, a->ivlen);
  if (err != 0) {
    ocf_kat_fail(k, v, "ocf_newsession(key %zu, iv %zu, tag %zu): %s (%s)", a->keylen, a->ivlen,
                 a->taglen, ocf_strerror(err), ocf_errdetail());
    return FAIL;
  }
  char why[400];
  err = 0;
  if (a->encrypt && !a->fail) err = aead_dir(sid, a, 1, why, sizeof(why));
  if (err == 0) err = aead_dir(sid, a, 0, why, sizeof(why));
  if (err != 0)
    ocf_kat_fail(k, v, "key %zu iv %zu aad %zu len %zu tag %zu: %s", a->keylen, a->ivlen, a->aadlen,
                 a->len, a->taglen, why);
  int ferr = ocf_freesession(sid);
  if (ferr != 0) {
    ocf_kat_fail(k, v, "ocf_freesession: %s", ocf_strerror(ferr));
    return FAIL;
  }
  return err != 0 ? FAIL : PASS;
}

/* check_gmac: AES-GMAC over [skip, skip+len) = the AAD of a GCM vector with
 * an empty plaintext; the tag is written at inject, or verified there. */
static enum outcome check_gmac(struct ocf_kat *k, const struct ocf_vec *v,
                               const struct aead_vec *a) {
  if (!ocf_kat_key_ok(OCF_ALG_AES_GMAC, a->keylen) || !ocf_kat_iv_ok(OCF_ALG_AES_GMAC, a->ivlen) ||
      !ocf_kat_mac_ok(OCF_ALG_AES_GMAC, a->taglen) || a->taglen == 0)
    return SKIP;
  ocf_sid_t sid;
  int err = ocf_kat_session(&sid, OCF_ALG_AES_GMAC, a->key, a->keylen, a->taglen, a->ivlen);
  if (err != 0) {
    ocf_kat_fail(k, v, "ocf_newsession(key %zu, iv %zu, tag %zu): %s (%s)", a->keylen, a->ivlen,
                 a->taglen, ocf_strerror(err), ocf_errdetail());
    return FAIL;
  }
  size_t total = GUARD + a->aadlen + a->taglen + GUARD;
  uint8_t *buf = malloc(total);
  assert_non_null(buf);
  enum outcome o = PASS;
  /* pass 0 computes the tag (vectors that verify), pass 1 verifies it */
  for (int verify = a->fail ? 1 : 0; verify < 2 && o == PASS; verify++) {
    memset(buf, GUARD_BYTE, total);
    memcpy(buf + GUARD, a->aad, a->aadlen);
    if (verify)
      memcpy(buf + GUARD + a->aadlen, a->tag, a->taglen);
    else
      memset(buf + GUARD + a->aadlen, 0xee, a->taglen);
    struct ocf_desc d;
    memset(&d, 0, sizeof(d));
    d.alg = OCF_ALG_AES_GMAC;
    d.flags = OCF_D_IV_EXPLICIT | (verify ? OCF_D_VERIFY : 0);
    d.skip = GUARD;
    d.len = a->aadlen;
    d.inject = GUARD + a->aadlen;
    memcpy(d.iv, a->iv, a->ivlen);
    err = ocf_kat_run(sid, &d, buf, total);
    int want = verify && a->fail ? EBADMSG : 0;
    if (err != want) {
      ocf_kat_fail(k, v, "key %zu iv %zu aad %zu tag %zu, %s: got %s, want %s", a->keylen, a->ivlen,
                   a->aadlen, a->taglen, verify ? "verify" : "compute",
                   err ? ocf_strerror(err) : "success", want ? "EBADMSG" : "success");
      o = FAIL;
    } else if (!verify && memcmp(buf + GUARD + a->aadlen, a->tag, a->taglen) != 0) {
      ocf_kat_fail(k, v, "wrong tag, %s",
                   ocf_kat_hexdiff(buf + GUARD + a->aadlen, a->tag, a->taglen));
      o = FAIL;
    } else if (memcmp(buf + GUARD, a->aad, a->aadlen) != 0 || !guards_ok(buf, total)) {
      ocf_kat_fail(k, v, "bytes outside the tag changed");
      o = FAIL;
    }
  }
  free(buf);
  int ferr = ocf_freesession(sid);
  if (ferr != 0) {
    ocf_kat_fail(k, v, "ocf_freesession: %s", ocf_strerror(ferr));
    return FAIL;
  }
  return o;
}

/* --- GCM and GMAC ---------------------------------------------------------- */

struct gcm_counts {
  struct ocf_kat gcm;
  struct ocf_kat gmac;
  unsigned gcm_long_iv; /* skipped: IV longer than OCF_MAX_IV */
  unsigned gmac_long_iv;
};

static void run_gcm_file(struct gcm_counts *c, const char *rel) {
  struct ocf_vec *v = ocf_vec_open(rel, "Count");
  if (v == NULL) {
    ocf_kat_fail(&c->gcm, NULL, "cannot open %s", rel);
    return;
  }
  c->gcm.files++;
  c->gmac.files++;
  while (ocf_vec_next(v)) {
    uint8_t *key = NULL, *iv = NULL, *pt = NULL, *ct = NULL, *aad = NULL, *tag = NULL;
    size_t keylen, ivlen, ptlen = 0, ctlen, aadlen, taglen;
    int fail = ocf_vec_has(v, "FAIL");
    if (ocf_vec_bytes(v, "Key", &key, &keylen) != 0 || ocf_vec_bytes(v, "IV", &iv, &ivlen) != 0 ||
        ocf_vec_bytes(v, "CT", &ct, &ctlen) != 0 || ocf_vec_bytes(v, "AAD", &aad, &aadlen) != 0 ||
        ocf_vec_bytes(v, "Tag", &tag, &taglen) != 0 ||
        (!fail && (ocf_vec_bytes(v, "PT", &pt, &ptlen) != 0 || ptlen != ctlen))) {
      ocf_kat_fail(&c->gcm, v, "unparsable record");
    } else if ((long)ivlen * 8 != ocf_vec_long(v, "IVlen", -1) ||
               (long)taglen * 8 != ocf_vec_long(v, "Taglen", -1)) {
      ocf_kat_fail(&c->gcm, v, "IV or tag length disagrees with the [IVlen]/[Taglen] header");
    } else {
      struct aead_vec a = {.alg = OCF_ALG_AES_GCM,
                           .key = key,
                           .keylen = keylen,
                           .iv = iv,
                           .ivlen = ivlen,
                           .aad = aad,
                           .aadlen = aadlen,
                           .pt = pt,
                           .ct = ct,
                           .len = ctlen,
                           .tag = tag,
                           .taglen = taglen,
                           .fail = fail,
                           .encrypt = !fail};
      enum outcome o = check_aead(&c->gcm, v, &a);
      count(&c->gcm, o);
      if (o == SKIP && ivlen > OCF_MAX_IV) c->gcm_long_iv++;
      if (ctlen == 0) {
        o = check_gmac(&c->gmac, v, &a);
        count(&c->gmac, o);
        if (o == SKIP && ivlen > OCF_MAX_IV) c->gmac_long_iv++;
      }
    }
    free(key);
    free(iv);
    free(pt);
    free(ct);
    free(aad);
    free(tag);
  }
  ocf_vec_close(v);
}

static struct gcm_counts gcm_counts[3];
static int gcm_done;

/* The six GCM files feed both the GCM and the GMAC test; read them once. */
static void run_gcm_all(void) {
  if (gcm_done) return;
  gcm_done = 1;
  static const int bits[] = {128, 192, 256};
  static char names[3][2][32];
  for (int b = 0; b < 3; b++) {
    char rel[128];
    snprintf(names[b][0], sizeof(names[b][0]), "aes-%d-gcm", bits[b]);
    snprintf(names[b][1], sizeof(names[b][1]), "aes-%d-gmac", bits[b]);
    gcm_counts[b].gcm.alg = names[b][0];
    gcm_counts[b].gmac.alg = names[b][1];
    snprintf(rel, sizeof(rel), "ciphers/AES/GCM/gcmEncryptExtIV%d.rsp", bits[b]);
    run_gcm_file(&gcm_counts[b], rel);
    snprintf(rel, sizeof(rel), "ciphers/AES/GCM/gcmDecrypt%d.rsp", bits[b]);
    run_gcm_file(&gcm_counts[b], rel);
  }
}

static void test_aes_gcm(void **state) {
  (void)state;
  ocf_vec_require_dir();
  run_gcm_all();
  for (int b = 0; b < 3; b++) {
    char note[96];
    snprintf(note, sizeof(note), "%u skipped: IV longer than OCF_MAX_IV (%d bytes)",
             gcm_counts[b].gcm_long_iv, OCF_MAX_IV);
    gcm_counts[b].gcm.note = note;
    ocf_kat_report(&gcm_counts[b].gcm, 5000);
  }
}

static void test_aes_gmac(void **state) {
  (void)state;
  ocf_vec_require_dir();
  run_gcm_all();
  for (int b = 0; b < 3; b++) {
    char note[128];
    snprintf(note, sizeof(note),
             "GCM vectors with an empty plaintext; %u skipped: IV longer than OCF_MAX_IV",
             gcm_counts[b].gmac_long_iv);
    gcm_counts[b].gmac.note = note;
    ocf_kat_report(&gcm_counts[b].gmac, 800);
  }
}

/* --- CCM ------------------------------------------------------------------- */

/* CCM files give lengths in headers (Alen, Plen, Nlen, Tlen) and write empty
 * fields as "00"; CT is the ciphertext followed by the tag. */
static void run_ccm_file(struct ocf_kat *k, const char *rel, int dvpt) {
  struct ocf_vec *v = ocf_vec_open(rel, "Count");
  if (v == NULL) {
    ocf_kat_fail(k, NULL, "cannot open %s", rel);
    return;
  }
  k->files++;
  while (ocf_vec_next(v)) {
    uint8_t *key = NULL, *nonce = NULL, *aad = NULL, *pt = NULL, *ct = NULL;
    size_t keylen, noncelen, aadlen, ptlen = 0, ctlen;
    long alen = ocf_vec_long(v, "Alen", -1), plen = ocf_vec_long(v, "Plen", -1);
    long nlen = ocf_vec_long(v, "Nlen", -1), tlen = ocf_vec_long(v, "Tlen", -1);
    const char *result = ocf_vec_str(v, "Result");
    int fail = dvpt && result != NULL && strncasecmp(result, "Fail", 4) == 0;
    if (ocf_vec_bytes(v, "Key", &key, &keylen) != 0 ||
        ocf_vec_bytes(v, "Nonce", &nonce, &noncelen) != 0 ||
        ocf_vec_bytes(v, "Adata", &aad, &aadlen) != 0 || ocf_vec_bytes(v, "CT", &ct, &ctlen) != 0 ||
        (!fail && ocf_vec_bytes(v, "Payload", &pt, &ptlen) != 0) || alen < 0 || plen < 0 ||
        tlen < 0 || (long)noncelen != nlen || (dvpt && result == NULL) ||
        (size_t)(plen + tlen) != ctlen || (size_t)alen > aadlen ||
        (!fail && (size_t)plen > ptlen)) {
      ocf_kat_fail(k, v, "unparsable record");
    } else {
      struct aead_vec a = {.alg = OCF_ALG_AES_CCM,
                           .key = key,
                           .keylen = keylen,
                           .iv = nonce,
                           .ivlen = noncelen,
                           .aad = aad,
                           .aadlen = (size_t)alen,
                           .pt = pt,
                           .ct = ct,
                           .len = (size_t)plen,
                           .tag = ct + plen,
                           .taglen = (size_t)tlen,
                           .fail = fail,
                           .encrypt = !fail};
      count(k, check_aead(k, v, &a));
    }
    free(key);
    free(nonce);
    free(aad);
    free(pt);
    free(ct);
  }
  ocf_vec_close(v);
}

static void test_aes_ccm(void **state) {
  (void)state;
  ocf_vec_require_dir();
  static const int bits[] = {128, 192, 256};
  static const char *const kinds[] = {"VADT", "VNT", "VPT", "VTT"};
  for (int b = 0; b < 3; b++) {
    char name[32], rel[128];
    snprintf(name, sizeof(name), "aes-%d-ccm", bits[b]);
    struct ocf_kat k = {.alg = name};
    for (int i = 0; i < 4; i++) {
      snprintf(rel, sizeof(rel), "ciphers/AES/CCM/%s%d.rsp", kinds[i], bits[b]);
      run_ccm_file(&k, rel, 0);
    }
    snprintf(rel, sizeof(rel), "ciphers/AES/CCM/DVPT%d.rsp", bits[b]);
    run_ccm_file(&k, rel, 1);
    ocf_kat_report(&k, 800);
  }
}

/* --- ChaCha20-Poly1305 ----------------------------------------------------- */

/* first_bytes decodes the first present field of names (the two files spell
 * them differently). */
static int first_bytes(const struct ocf_vec *v, const char *const *names, uint8_t **out,
                       size_t *len) {
  for (; *names != NULL; names++)
    if (ocf_vec_has(v, *names)) return ocf_vec_bytes(v, *names, out, len);
  *out = NULL;
  return ENOENT;
}

static void run_chacha_file(struct ocf_kat *k, const char *rel) {
  static const char *const n_key[] = {"KEY", NULL}, *const n_iv[] = {"IV", "NONCE", NULL};
  static const char *const n_aad[] = {"AAD", "AD", NULL}, *const n_tag[] = {"TAG", NULL};
  static const char *const n_pt[] = {"Plaintext", "IN", NULL};
  static const char *const n_ct[] = {"Ciphertext", "CT", NULL};
  struct ocf_vec *v = ocf_vec_open(rel, "COUNT");
  if (v == NULL) {
    ocf_kat_fail(k, NULL, "cannot open %s", rel);
    return;
  }
  k->files++;
  while (ocf_vec_next(v)) {
    uint8_t *key = NULL, *iv = NULL, *aad = NULL, *tag = NULL, *pt = NULL, *ct = NULL;
    size_t keylen, ivlen, aadlen, taglen, ptlen, ctlen;
    const char *result = ocf_vec_str(v, "Result");
    if (first_bytes(v, n_key, &key, &keylen) != 0 || first_bytes(v, n_iv, &iv, &ivlen) != 0 ||
        first_bytes(v, n_aad, &aad, &aadlen) != 0 || first_bytes(v, n_tag, &tag, &taglen) != 0 ||
        first_bytes(v, n_pt, &pt, &ptlen) != 0 || first_bytes(v, n_ct, &ct, &ctlen) != 0 ||
        ptlen != ctlen) {
      ocf_kat_fail(k, v, "unparsable record");
    } else if (result != NULL && strcmp(result, "CIPHERFINAL_ERROR") != 0) {
      ocf_kat_fail(k, v, "unknown Result %s", result);
    } else {
      int fail = result != NULL;
      struct aead_vec a = {.alg = OCF_ALG_CHACHA20_POLY1305,
                           .key = key,
                           .keylen = keylen,
                           .iv = iv,
                           .ivlen = ivlen,
                           .aad = aad,
                           .aadlen = aadlen,
                           .pt = pt,
                           .ct = ct,
                           .len = ctlen,
                           .tag = tag,
                           .taglen = taglen,
                           .fail = fail,
                           .encrypt = !fail};
      count(k, check_aead(k, v, &a));
    }
    free(key);
    free(iv);
    free(aad);
    free(tag);
    free(pt);
    free(ct);
  }
  ocf_vec_close(v);
}

static void test_chacha20_poly1305(void **state) {
  (void)state;
  ocf_vec_require_dir();
  struct ocf_kat k = {.alg = "chacha20-poly1305", .note = "RFC 7539 and BoringSSL/OpenSSL vectors"};
  run_chacha_file(&k, "ciphers/ChaCha20Poly1305/boringssl.txt");
  run_chacha_file(&k, "ciphers/ChaCha20Poly1305/openssl.txt");
  ocf_kat_report(&k, 60);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_aes_gcm),
      cmocka_unit_test(test_aes_gmac),
      cmocka_unit_test(test_aes_ccm),
      cmocka_unit_test(test_chacha20_poly1305),
  };
  return cmocka_run_group_tests(tests, ocf_kat_setup, ocf_kat_teardown);
}
