/*
 * test_kat_ciphers.c - known answers for the block and stream ciphers, read at
 * run time from python3-cryptography-vectors and run through the framework's
 * consumer API (session, contiguous request, ocf_run).
 *
 * Every vector runs in both directions (encrypt PT -> CT, decrypt CT -> PT),
 * with the data between guard bytes that must come back untouched.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cmocka.h needs these before it */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
/* clang-format on */

#include "vectors.h"

#define GUARD 7
#define GUARD_BYTE 0xa5

/* One cipher operation, in place, data at offset GUARD of a guarded buffer.
 * Returns 0, or an errno / -1 (wrong output) with why filled in. */
static int cipher_dir(ocf_sid_t sid, enum ocf_alg alg, int enc, const uint8_t *iv, size_t ivlen,
                      const uint8_t *in, const uint8_t *want, size_t len, char *why,
                      size_t whylen) {
  uint8_t *buf = malloc(len + 2 * GUARD);
  if (buf == NULL) return ENOMEM;
  memset(buf, GUARD_BYTE, len + 2 * GUARD);
  memcpy(buf + GUARD, in, len);
  struct ocf_desc d;
  memset(&d, 0, sizeof(d));
  d.alg = alg;
  d.flags = OCF_D_IV_EXPLICIT | (enc ? OCF_D_ENCRYPT : 0);
  d.skip = GUARD;
  d.len = len;
  memcpy(d.iv, iv, ivlen);
  int err = ocf_kat_run(sid, &d, buf, len + 2 * GUARD);
  if (err != 0) {
    snprintf(why, whylen, "%s: ocf_run: %s (%s)", enc ? "encrypt" : "decrypt", ocf_strerror(err),
             ocf_errdetail());
  } else if (memcmp(buf + GUARD, want, len) != 0) {
    snprintf(why, whylen, "%s: wrong output, %s", enc ? "encrypt" : "decrypt",
             ocf_kat_hexdiff(buf + GUARD, want, len));
    err = -1;
  } else {
    for (size_t i = 0; i < GUARD; i++)
      if (buf[i] != GUARD_BYTE || buf[GUARD + len + i] != GUARD_BYTE) {
        snprintf(why, whylen, "%s: wrote outside [skip, skip+len)", enc ? "encrypt" : "decrypt");
        err = -1;
        break;
      }
  }
  free(buf);
  return err;
}

enum outcome { PASS, SKIP, FAIL };

static void count(struct ocf_kat *k, enum outcome o) {
  if (o == PASS) k->passed++;
  if (o == SKIP) k->skipped++;
  /* FAIL was counted by ocf_kat_fail */
}

/* check_cipher runs one known answer both ways on a fresh session. */
static enum outcome check_cipher(struct ocf_kat *k, const struct ocf_vec *v, enum ocf_alg alg,
                                 const uint8_t *key, size_t keylen, const uint8_t *iv, size_t ivlen,
                                 const uint8_t *pt, const uint8_t *ct, size_t len) {
  const struct ocf_alg_info *ai = ocf_alg_lookup(alg);
  assert_non_null(ai);
  if (!ocf_kat_key_ok(alg, keylen) || ivlen != ai->ivlen || len % ai->block != 0) return SKIP;
  ocf_sid_t sid;
  int err = ocf_kat_session(&sid, alg, key, keylen, 0, 0);
  if (err != 0) {
    ocf_kat_fail(k, v, "ocf_newsession(keylen %zu): %s (%s)", keylen, ocf_strerror(err),
                 ocf_errdetail());
    return FAIL;
  }
  char why[400];
  err = cipher_dir(sid, alg, 1, iv, ivlen, pt, ct, len, why, sizeof(why));
  if (err == 0) err = cipher_dir(sid, alg, 0, iv, ivlen, ct, pt, len, why, sizeof(why));
  if (err != 0) ocf_kat_fail(k, v, "keylen %zu len %zu: %s", keylen, len, why);
  int ferr = ocf_freesession(sid);
  if (ferr != 0) {
    ocf_kat_fail(k, v, "ocf_freesession: %s", ocf_strerror(ferr));
    return FAIL;
  }
  return err != 0 ? FAIL : PASS;
}

enum keying {
  KEY_PLAIN, /* KEY */
  KEY_3DES,  /* KEY1 KEY2 KEY3, or KEYs used three times */
  KEY_DES    /* as KEY_3DES, but only vectors whose three keys are equal */
};

/* read_key builds the key of the current record; 0 if the record does not
 * apply (DES keying with unequal keys), -1 on a parse error, 1 otherwise. */
static int read_key(const struct ocf_vec *v, enum keying kt, uint8_t *key, size_t *keylen) {
  uint8_t *b = NULL;
  size_t n = 0;
  if (kt == KEY_PLAIN) {
    if (ocf_vec_bytes(v, "KEY", &b, &n) != 0 || n > 64) {
      free(b);
      return -1;
    }
    memcpy(key, b, n);
    *keylen = n;
    free(b);
    return 1;
  }
  if (ocf_vec_has(v, "KEYs")) {
    if (ocf_vec_bytes(v, "KEYs", &b, &n) != 0 || n != 8) {
      free(b);
      return -1;
    }
    for (int i = 0; i < 3; i++) memcpy(key + 8 * i, b, 8);
    free(b);
  } else {
    static const char *const names[3] = {"KEY1", "KEY2", "KEY3"};
    for (int i = 0; i < 3; i++) {
      if (ocf_vec_bytes(v, names[i], &b, &n) != 0 || n != 8) {
        free(b);
        return -1;
      }
      memcpy(key + 8 * i, b, 8);
      free(b);
    }
  }
  if (kt == KEY_DES) {
    if (memcmp(key, key + 8, 8) != 0 || memcmp(key, key + 16, 8) != 0) return 0;
    *keylen = 8;
  } else {
    *keylen = 24;
  }
  return 1;
}

/* run_cbc_file runs a CBC (or, with ecb set, an ECB) vector file.  For a CBC
 * algorithm, ECB vectors become one CBC operation per block with an all-zero
 * IV, which is the same computation; AES-ECB itself takes the whole text. */
static void run_cbc_file(struct ocf_kat *k, enum ocf_alg alg, const char *rel, enum keying kt,
                         int ecb) {
  struct ocf_vec *v = ocf_vec_open(rel, "COUNT");
  if (v == NULL) {
    ocf_kat_fail(k, NULL, "cannot open %s", rel);
    return;
  }
  k->files++;
  const struct ocf_alg_info *ai = ocf_alg_lookup(alg);
  while (ocf_vec_next(v)) {
    uint8_t key[64], *iv = NULL, *pt = NULL, *ct = NULL;
    size_t keylen = 0, ivlen = 0, ptlen = 0, ctlen = 0;
    int r = read_key(v, kt, key, &keylen);
    if (r == 0) continue;
    if (r < 0 || ocf_vec_bytes(v, "PLAINTEXT", &pt, &ptlen) != 0 ||
        ocf_vec_bytes(v, "CIPHERTEXT", &ct, &ctlen) != 0 || ptlen != ctlen ||
        (!ecb && ocf_vec_bytes(v, "IV", &iv, &ivlen) != 0)) {
      ocf_kat_fail(k, v, "unparsable record");
    } else if (ecb && ai->ivlen == 0) { /* a real ECB algorithm: all blocks in one request */
      uint8_t none[1] = {0};
      count(k, check_cipher(k, v, alg, key, keylen, none, 0, pt, ct, ptlen));
    } else if (ecb) {
      uint8_t zero[OCF_MAX_IV] = {0};
      size_t b = ai->block;
      enum outcome o = ptlen % b == 0 && ptlen > 0 ? PASS : SKIP;
      for (size_t off = 0; o == PASS && off < ptlen; off += b)
        o = check_cipher(k, v, alg, key, keylen, zero, ai->ivlen, pt + off, ct + off, b);
      count(k, o);
    } else {
      count(k, check_cipher(k, v, alg, key, keylen, iv, ivlen, pt, ct, ptlen));
    }
    free(iv);
    free(pt);
    free(ct);
  }
  ocf_vec_close(v);
}

static void test_null(void **state) {
  (void)state;
  print_message("null: 0 vectors passed (0 skipped); no known answers exist for NULL\n");
}

static const char *const aes_cbc_kinds[] = {"GFSbox", "KeySbox", "MMT", "VarKey", "VarTxt"};

static void test_aes_cbc(void **state) {
  (void)state;
  ocf_vec_require_dir();
  static const int bits[] = {128, 192, 256};
  for (int b = 0; b < 3; b++) {
    char name[32], rel[128];
    snprintf(name, sizeof(name), "aes-%d-cbc", bits[b]);
    struct ocf_kat k = {.alg = name};
    for (size_t i = 0; i < sizeof(aes_cbc_kinds) / sizeof(aes_cbc_kinds[0]); i++) {
      snprintf(rel, sizeof(rel), "ciphers/AES/CBC/CBC%s%d.rsp", aes_cbc_kinds[i], bits[b]);
      run_cbc_file(&k, OCF_ALG_AES_CBC, rel, KEY_PLAIN, 0);
    }
    ocf_kat_report(&k, 250);
  }
}

static void test_aes_ecb(void **state) {
  (void)state;
  ocf_vec_require_dir();
  static const int bits[] = {128, 192, 256};
  for (int b = 0; b < 3; b++) {
    char name[32], rel[128];
    snprintf(name, sizeof(name), "aes-%d-ecb", bits[b]);
    struct ocf_kat k = {.alg = name};
    for (size_t i = 0; i < sizeof(aes_cbc_kinds) / sizeof(aes_cbc_kinds[0]); i++) {
      snprintf(rel, sizeof(rel), "ciphers/AES/ECB/ECB%s%d.rsp", aes_cbc_kinds[i], bits[b]);
      run_cbc_file(&k, OCF_ALG_AES_ECB, rel, KEY_PLAIN, 1);
    }
    ocf_kat_report(&k, 250);
  }
}

static void test_aes_ctr(void **state) {
  (void)state;
  ocf_vec_require_dir();
  static const int bits[] = {128, 192, 256};
  for (int b = 0; b < 3; b++) {
    char name[32], rel[128];
    snprintf(name, sizeof(name), "aes-%d-ctr", bits[b]);
    snprintf(rel, sizeof(rel), "ciphers/AES/CTR/aes-%d-ctr.txt", bits[b]);
    struct ocf_kat k = {.alg = name};
    /* The same reader as CBC: KEY, IV (the whole counter block), texts. */
    run_cbc_file(&k, OCF_ALG_AES_CTR, rel, KEY_PLAIN, 0);
    ocf_kat_report(&k, 3);
  }
}

/* XTS: the tweak is either given ("i") or is the data unit sequence number,
 * as a 128-bit little-endian integer (IEEE 1619). */
static void run_xts_file(struct ocf_kat *k, const char *rel, unsigned *bitlen_skipped) {
  struct ocf_vec *v = ocf_vec_open(rel, "COUNT");
  if (v == NULL) {
    ocf_kat_fail(k, NULL, "cannot open %s", rel);
    return;
  }
  k->files++;
  while (ocf_vec_next(v)) {
    uint8_t *key = NULL, *tw = NULL, *pt = NULL, *ct = NULL, seq_tweak[16];
    size_t keylen = 0, twlen = 0, ptlen = 0, ctlen = 0;
    long bits = ocf_vec_long(v, "DataUnitLen", -1);
    if (ocf_vec_bytes(v, "Key", &key, &keylen) != 0 || ocf_vec_bytes(v, "PT", &pt, &ptlen) != 0 ||
        ocf_vec_bytes(v, "CT", &ct, &ctlen) != 0 || ptlen != ctlen || bits < 0) {
      ocf_kat_fail(k, v, "unparsable record");
    } else if (bits % 8 != 0) {
      /* Data units that end inside a byte: the API counts bytes. */
      k->skipped++;
      (*bitlen_skipped)++;
    } else if ((size_t)bits / 8 != ptlen) {
      ocf_kat_fail(k, v, "DataUnitLen %ld does not match PT length %zu", bits, ptlen);
    } else {
      const uint8_t *tweak = NULL;
      if (ocf_vec_has(v, "i")) {
        if (ocf_vec_bytes(v, "i", &tw, &twlen) == 0 && twlen == 16) tweak = tw;
      } else if (ocf_vec_has(v, "DataUnitSeqNumber")) {
        unsigned long long seq = strtoull(ocf_vec_str(v, "DataUnitSeqNumber"), NULL, 10);
        memset(seq_tweak, 0, sizeof(seq_tweak));
        for (int i = 0; i < 8; i++) seq_tweak[i] = (uint8_t)(seq >> (8 * i));
        tweak = seq_tweak;
      }
      if (tweak == NULL)
        ocf_kat_fail(k, v, "no usable tweak");
      else
        count(k, check_cipher(k, v, OCF_ALG_AES_XTS, key, keylen, tweak, 16, pt, ct, ptlen));
    }
    free(key);
    free(tw);
    free(pt);
    free(ct);
  }
  ocf_vec_close(v);
}

static void test_aes_xts(void **state) {
  (void)state;
  ocf_vec_require_dir();
  static const int bits[] = {128, 256};
  for (int b = 0; b < 2; b++) {
    char name[32], rel[128], note[96];
    unsigned bitlen_skipped = 0;
    snprintf(name, sizeof(name), "aes-%d-xts", bits[b]);
    struct ocf_kat k = {.alg = name};
    snprintf(rel, sizeof(rel), "ciphers/AES/XTS/tweak-128hexstr/XTSGenAES%d.rsp", bits[b]);
    run_xts_file(&k, rel, &bitlen_skipped);
    snprintf(rel, sizeof(rel), "ciphers/AES/XTS/tweak-dataunitseqno/XTSGenAES%d.rsp", bits[b]);
    run_xts_file(&k, rel, &bitlen_skipped);
    snprintf(note, sizeof(note), "%u skipped: data unit not a whole number of bytes",
             bitlen_skipped);
    k.note = note;
    ocf_kat_report(&k, 1000);
  }
}

/* The TCBC files minus the TCBCI* ones (interleaved CBC, another mode). */
static const char *const tcbc_files[] = {
    "ciphers/3DES/CBC/TCBCinvperm.rsp", "ciphers/3DES/CBC/TCBCpermop.rsp",
    "ciphers/3DES/CBC/TCBCsubtab.rsp",  "ciphers/3DES/CBC/TCBCvarkey.rsp",
    "ciphers/3DES/CBC/TCBCvartext.rsp", "ciphers/3DES/CBC/TCBCMMT1.rsp",
    "ciphers/3DES/CBC/TCBCMMT2.rsp",    "ciphers/3DES/CBC/TCBCMMT3.rsp",
};

static void test_des_cbc(void **state) {
  (void)state;
  ocf_vec_require_dir();
  struct ocf_kat k = {.alg = "des-cbc",
                      .note = "TDES keying option 3 (K1 = K2 = K3) vectors, which are single DES"};
  for (size_t i = 0; i < sizeof(tcbc_files) / sizeof(tcbc_files[0]); i++)
    run_cbc_file(&k, OCF_ALG_DES_CBC, tcbc_files[i], KEY_DES, 0);
  ocf_kat_report(&k, 300);
}

static void test_3des_cbc(void **state) {
  (void)state;
  ocf_vec_require_dir();
  struct ocf_kat k = {.alg = "3des-cbc"};
  for (size_t i = 0; i < sizeof(tcbc_files) / sizeof(tcbc_files[0]); i++)
    run_cbc_file(&k, OCF_ALG_3DES_CBC, tcbc_files[i], KEY_3DES, 0);
  ocf_kat_report(&k, 400);
}

static void test_blowfish_cbc(void **state) {
  (void)state;
  ocf_vec_require_dir();
  struct ocf_kat k = {.alg = "blowfish-cbc",
                      .note = "bf-cbc.txt, and bf-ecb.txt as one-block CBC with a zero IV"};
  run_cbc_file(&k, OCF_ALG_BLOWFISH_CBC, "ciphers/Blowfish/bf-cbc.txt", KEY_PLAIN, 0);
  run_cbc_file(&k, OCF_ALG_BLOWFISH_CBC, "ciphers/Blowfish/bf-ecb.txt", KEY_PLAIN, 1);
  ocf_kat_report(&k, 40);
}

static void test_cast5_cbc(void **state) {
  (void)state;
  ocf_vec_require_dir();
  struct ocf_kat k = {.alg = "cast5-cbc",
                      .note = "cast5-cbc.txt, and cast5-ecb.txt as one-block CBC with a zero IV"};
  run_cbc_file(&k, OCF_ALG_CAST5_CBC, "ciphers/CAST5/cast5-cbc.txt", KEY_PLAIN, 0);
  run_cbc_file(&k, OCF_ALG_CAST5_CBC, "ciphers/CAST5/cast5-ecb.txt", KEY_PLAIN, 1);
  ocf_kat_report(&k, 20);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_null),      cmocka_unit_test(test_des_cbc),
      cmocka_unit_test(test_3des_cbc),  cmocka_unit_test(test_aes_cbc),
      cmocka_unit_test(test_aes_ecb),   cmocka_unit_test(test_aes_ctr),
      cmocka_unit_test(test_aes_xts),   cmocka_unit_test(test_blowfish_cbc),
      cmocka_unit_test(test_cast5_cbc),
  };
  return cmocka_run_group_tests(tests, ocf_kat_setup, ocf_kat_teardown);
}
