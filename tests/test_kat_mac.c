/*
 * test_kat_mac.c - known answers for HMAC-MD5/SHA1/SHA2 (RFC 2202, RFC 4231)
 * and the plain MD5/SHA1/SHA2 hashes (RFC 1321, NIST CAVP ShortMsg and
 * LongMsg; the Monte Carlo files are not used), through the framework's
 * consumer API.
 *
 * Each vector runs with the full output length, written at inject; then
 * verified in place (OCF_D_VERIFY) with the right value and with one bit
 * flipped (must give EBADMSG); then with truncated outputs as session maclen
 * (12 bytes, as IPsec's HMAC-*-96, and half the length), which must be the
 * prefix of the full value.
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

#define GUARD 3
#define GUARD_BYTE 0xc3

enum outcome { PASS, SKIP, FAIL };

static void count(struct ocf_kat *k, enum outcome o) {
  if (o == PASS) k->passed++;
  if (o == SKIP) k->skipped++;
}

/* mac_once computes (or verifies) a maclen-byte MAC of msg on a new session
 * (which asks for maclen 0, "the algorithm's full length", when dflt is set);
 * returns 0, an errno, or -1 with why set. */
static int mac_once(enum ocf_alg alg, const uint8_t *key, size_t keylen, size_t maclen, int dflt,
                    const uint8_t *msg, size_t msglen, const uint8_t *md, int verify, int corrupt,
                    char *why, size_t wl) {
  ocf_sid_t sid;
  int err = ocf_kat_session(&sid, alg, key, keylen, dflt ? 0 : maclen, 0);
  if (err != 0) {
    snprintf(why, wl, "ocf_newsession(key %zu, maclen %zu): %s (%s)", keylen, maclen,
             ocf_strerror(err), ocf_errdetail());
    return err;
  }
  size_t total = GUARD + msglen + maclen + GUARD;
  uint8_t *buf = malloc(total);
  if (buf == NULL) abort();
  memset(buf, GUARD_BYTE, total);
  uint8_t *out = buf + GUARD + msglen;
  memcpy(buf + GUARD, msg, msglen);
  if (verify) {
    memcpy(out, md, maclen);
    if (corrupt) out[maclen / 2] ^= 0x10;
  } else {
    memset(out, 0xee, maclen);
  }
  struct ocf_desc d;
  memset(&d, 0, sizeof(d));
  d.alg = alg;
  d.flags = verify ? OCF_D_VERIFY : 0;
  d.skip = GUARD;
  d.len = msglen;
  d.inject = GUARD + msglen;
  err = ocf_kat_run(sid, &d, buf, total);
  const char *what = verify ? (corrupt ? "verify of a wrong MAC" : "verify") : "compute";
  int want = verify && corrupt ? EBADMSG : 0;
  if (err != want) {
    snprintf(why, wl, "maclen %zu, %s: got %s, want %s", maclen, what,
             err ? ocf_strerror(err) : "success", want ? "EBADMSG" : "success");
    err = -1;
  } else if (!verify && memcmp(out, md, maclen) != 0) {
    snprintf(why, wl, "maclen %zu: wrong MAC, %s", maclen, ocf_kat_hexdiff(out, md, maclen));
    err = -1;
  } else if (memcmp(buf + GUARD, msg, msglen) != 0 || buf[0] != GUARD_BYTE ||
             buf[total - 1] != GUARD_BYTE) {
    snprintf(why, wl, "maclen %zu, %s: bytes outside the MAC changed", maclen, what);
    err = -1;
  } else {
    err = 0;
  }
  free(buf);
  int ferr = ocf_freesession(sid);
  if (ferr != 0 && err == 0) {
    snprintf(why, wl, "ocf_freesession: %s", ocf_strerror(ferr));
    err = ferr;
  }
  return err;
}

static enum outcome check_mac(struct ocf_kat *k, const struct ocf_vec *v, enum ocf_alg alg,
                              const uint8_t *key, size_t keylen, const uint8_t *msg, size_t msglen,
                              const uint8_t *md, size_t mdlen) {
  const struct ocf_alg_info *ai = ocf_alg_lookup(alg);
  assert_non_null(ai);
  if ((keylen > 0 && !ocf_kat_key_ok(alg, keylen)) || !ocf_kat_mac_ok(alg, mdlen)) return SKIP;
  char why[400];
  /* The first run asks for the full length as 0 ("the algorithm's") when the
   * vector gives all of it; the verifications name it explicitly. */
  int dflt = mdlen == ai->maclen;
  int err = mac_once(alg, key, keylen, mdlen, dflt, msg, msglen, md, 0, 0, why, sizeof(why));
  if (err == 0) err = mac_once(alg, key, keylen, mdlen, 0, msg, msglen, md, 1, 0, why, sizeof(why));
  if (err == 0) err = mac_once(alg, key, keylen, mdlen, 0, msg, msglen, md, 1, 1, why, sizeof(why));
  size_t trunc[2] = {12, mdlen / 2};
  for (int i = 0; i < 2 && err == 0; i++) {
    if (trunc[i] >= mdlen || !ocf_kat_mac_ok(alg, trunc[i])) continue;
    err = mac_once(alg, key, keylen, trunc[i], 0, msg, msglen, md, 0, 0, why, sizeof(why));
    if (err == 0)
      err = mac_once(alg, key, keylen, trunc[i], 0, msg, msglen, md, 1, 0, why, sizeof(why));
    if (err == 0)
      err = mac_once(alg, key, keylen, trunc[i], 0, msg, msglen, md, 1, 1, why, sizeof(why));
  }
  if (err != 0) {
    ocf_kat_fail(k, v, "key %zu msg %zu: %s", keylen, msglen, why);
    return FAIL;
  }
  return PASS;
}

/* run_mac_file reads Len (message bits; CAVP writes an empty message as
 * "Msg = 00" with Len = 0), Key (HMAC only), Msg, MD. */
static void run_mac_file(struct ocf_kat *k, enum ocf_alg alg, const char *rel, int keyed,
                         unsigned max_records) {
  struct ocf_vec *v = ocf_vec_open(rel, "MD");
  if (v == NULL) {
    ocf_kat_fail(k, NULL, "cannot open %s", rel);
    return;
  }
  k->files++;
  unsigned n = 0;
  while (ocf_vec_next(v)) {
    if (max_records && n++ >= max_records) {
      k->skipped++;
      continue;
    }
    uint8_t *key = NULL, *msg = NULL, *md = NULL;
    size_t keylen = 0, msglen, mdlen;
    long bits = ocf_vec_long(v, "Len", -1);
    if ((keyed && ocf_vec_bytes(v, "Key", &key, &keylen) != 0) ||
        ocf_vec_bytes(v, "Msg", &msg, &msglen) != 0 || ocf_vec_bytes(v, "MD", &md, &mdlen) != 0 ||
        mdlen == 0 || (bits >= 0 && (bits % 8 != 0 || (size_t)bits / 8 > msglen))) {
      ocf_kat_fail(k, v, "unparsable record");
    } else {
      if (bits >= 0) msglen = (size_t)bits / 8;
      count(k, check_mac(k, v, alg, key, keylen, msg, msglen, md, mdlen));
    }
    free(key);
    free(msg);
    free(md);
  }
  ocf_vec_close(v);
}

static void test_hmac(void **state) {
  (void)state;
  ocf_vec_require_dir();
  static const struct {
    enum ocf_alg alg;
    const char *name, *file;
  } h[] = {
      {OCF_ALG_HMAC_MD5, "hmac-md5", "HMAC/rfc-2202-md5.txt"},
      {OCF_ALG_HMAC_SHA1, "hmac-sha1", "HMAC/rfc-2202-sha1.txt"},
      {OCF_ALG_HMAC_SHA2_224, "hmac-sha2-224", "HMAC/rfc-4231-sha224.txt"},
      {OCF_ALG_HMAC_SHA2_256, "hmac-sha2-256", "HMAC/rfc-4231-sha256.txt"},
      {OCF_ALG_HMAC_SHA2_384, "hmac-sha2-384", "HMAC/rfc-4231-sha384.txt"},
      {OCF_ALG_HMAC_SHA2_512, "hmac-sha2-512", "HMAC/rfc-4231-sha512.txt"},
  };
  for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
    struct ocf_kat k = {.alg = h[i].name,
                        .note = "each also verified, and truncated to 12 and maclen/2 bytes"};
    run_mac_file(&k, h[i].alg, h[i].file, 1, 0);
    ocf_kat_report(&k, 6);
  }
}

static void test_hash(void **state) {
  (void)state;
  ocf_vec_require_dir();
  static const struct {
    enum ocf_alg alg;
    const char *name, *dir, *stem;
  } h[] = {
      {OCF_ALG_SHA1, "sha1", "hashes/SHA1", "SHA1"},
      {OCF_ALG_SHA2_224, "sha2-224", "hashes/SHA2", "SHA224"},
      {OCF_ALG_SHA2_256, "sha2-256", "hashes/SHA2", "SHA256"},
      {OCF_ALG_SHA2_384, "sha2-384", "hashes/SHA2", "SHA384"},
      {OCF_ALG_SHA2_512, "sha2-512", "hashes/SHA2", "SHA512"},
  };
  struct ocf_kat md5 = {.alg = "md5", .note = "RFC 1321"};
  run_mac_file(&md5, OCF_ALG_MD5, "hashes/MD5/rfc-1321.txt", 0, 0);
  ocf_kat_report(&md5, 7);
  for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
    char rel[128];
    struct ocf_kat k = {.alg = h[i].name, .note = "ShortMsg + LongMsg; Monte Carlo not run"};
    snprintf(rel, sizeof(rel), "%s/%sShortMsg.rsp", h[i].dir, h[i].stem);
    run_mac_file(&k, h[i].alg, rel, 0, 0);
    snprintf(rel, sizeof(rel), "%s/%sLongMsg.rsp", h[i].dir, h[i].stem);
    run_mac_file(&k, h[i].alg, rel, 0, 0);
    ocf_kat_report(&k, 120);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hmac),
      cmocka_unit_test(test_hash),
  };
  return cmocka_run_group_tests(tests, ocf_kat_setup, ocf_kat_teardown);
}
