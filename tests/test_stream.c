/* test_stream.c - streamed (multi-part) digests, OCF_D_UPDATE / OCF_D_FINAL:
 * every producer that registers hashes (soft, cpu, a modeled card in exact
 * mode) against OpenSSL's one-shot digests and HMACs with random part
 * splits (empty parts, parts longer than a card's 65,535-byte command);
 * the ordering rule (one part in flight: EBUSY), malformed flags, a failed
 * part that keeps the state, RESET, and a stream that migrates from a card
 * to the software producer halfway through. */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
// clang-format off
#include <cmocka.h>
// clang-format on

#include <ocf/devices.h>
#include <ocf/driver.h>

#include "ref.h"

static struct ref_rng rng;
static const uint8_t hkey[37] = "a 37-byte HMAC key for streamed parts";

static const EVP_MD *md_of(enum ocf_alg alg) {
  switch (alg) {
    case OCF_ALG_MD5:
    case OCF_ALG_HMAC_MD5:
      return EVP_md5();
    case OCF_ALG_SHA1:
    case OCF_ALG_HMAC_SHA1:
      return EVP_sha1();
    case OCF_ALG_SHA2_224:
    case OCF_ALG_HMAC_SHA2_224:
      return EVP_sha224();
    case OCF_ALG_SHA2_256:
    case OCF_ALG_HMAC_SHA2_256:
      return EVP_sha256();
    case OCF_ALG_SHA2_384:
    case OCF_ALG_HMAC_SHA2_384:
      return EVP_sha384();
    case OCF_ALG_SHA2_512:
    case OCF_ALG_HMAC_SHA2_512:
      return EVP_sha512();
    default:
      return NULL;
  }
}

static bool is_hmac(enum ocf_alg alg) {
  return alg >= OCF_ALG_HMAC_MD5 && alg <= OCF_ALG_HMAC_SHA2_512;
}

/* OpenSSL's one-shot answer; returns the digest length */
static size_t reference(enum ocf_alg alg, const uint8_t *msg, size_t n, uint8_t *out) {
  unsigned int len = 0;
  if (is_hmac(alg))
    assert_non_null(HMAC(md_of(alg), hkey, sizeof(hkey), msg, n, out, &len));
  else
    assert_int_equal(EVP_Digest(msg, n, out, &len, md_of(alg), NULL), 1);
  return len;
}

static int open_sess(enum ocf_alg alg, ocf_sid_t *sid) {
  struct ocf_sessparam sp = {.alg = alg};
  if (is_hmac(alg)) {
    sp.key = hkey;
    sp.keylen = sizeof(hkey);
  }
  return ocf_newsession(sid, &sp, 0);
}

/* one part: data[0, len) then room for the digest; contiguous or split into
 * two iovec segments.  Returns ocf_run's answer. */
static int part(ocf_sid_t *sid, enum ocf_alg alg, unsigned flags, const uint8_t *data, size_t len,
                uint8_t *md, size_t mdlen) {
  uint8_t *b = malloc(len + mdlen + 1);
  assert_non_null(b);
  memcpy(b, data, len);
  if (flags & OCF_D_VERIFY) memcpy(b + len, md, mdlen);
  struct ocf_req r;
  memset(&r, 0, sizeof(r));
  struct iovec iov[2];
  size_t cut = len / 2;
  if (ref_rand(&rng) % 2) {
    iov[0] = (struct iovec){b, cut};
    iov[1] = (struct iovec){b + cut, len + mdlen - cut};
    r.buf = ocf_buf_iovec(iov, 2);
  } else {
    r.buf = ocf_buf_contig(b, len + mdlen);
  }
  r.sid = *sid;
  r.ndesc = 1;
  r.desc[0] = (struct ocf_desc){.alg = alg, .flags = flags, .len = len, .inject = len};
  int rc = ocf_run(&r);
  *sid = r.sid;
  if (rc == 0 && (flags & OCF_D_FINAL) && !(flags & OCF_D_VERIFY)) memcpy(md, b + len, mdlen);
  free(b);
  return rc;
}

/* Feeds msg[n] in random parts; the last one is FINAL. */
static void stream(ocf_sid_t *sid, enum ocf_alg alg, const uint8_t *msg, size_t n, size_t maxpart,
                   uint8_t *md, size_t mdlen) {
  size_t off = 0;
  bool first = true;
  for (;;) {
    size_t k = ref_rand(&rng) % 5 == 0 ? 0 : ref_range(&rng, 1, maxpart);
    if (k > n - off) k = n - off;
    bool last = off + k == n && ref_rand(&rng) % 3 != 0;
    unsigned f = (last ? OCF_D_FINAL : OCF_D_UPDATE) | (first ? OCF_D_RESET : 0);
    assert_int_equal(part(sid, alg, f, msg + off, k, md, mdlen), 0);
    off += k;
    first = false;
    if (last) return;
  }
}

/* Every hash the producers registered, streamed against OpenSSL. */
static void check_all(size_t maxmsg, size_t maxpart, int rounds) {
  static const enum ocf_alg algs[] = {
      OCF_ALG_MD5,           OCF_ALG_SHA1,          OCF_ALG_SHA2_224,      OCF_ALG_SHA2_256,
      OCF_ALG_SHA2_384,      OCF_ALG_SHA2_512,      OCF_ALG_HMAC_MD5,      OCF_ALG_HMAC_SHA1,
      OCF_ALG_HMAC_SHA2_224, OCF_ALG_HMAC_SHA2_256, OCF_ALG_HMAC_SHA2_384, OCF_ALG_HMAC_SHA2_512};
  uint8_t *msg = malloc(maxmsg);
  assert_non_null(msg);
  int served = 0;
  for (size_t a = 0; a < sizeof(algs) / sizeof(algs[0]); a++) {
    ocf_sid_t sid;
    if (open_sess(algs[a], &sid) == ENODEV) continue; /* not this producer's */
    served++;
    for (int k = 0; k < rounds; k++) {
      size_t n = ref_range(&rng, 0, maxmsg);
      ref_fill(&rng, msg, n);
      uint8_t want[64], got[64];
      size_t mdlen = reference(algs[a], msg, n, want);
      stream(&sid, algs[a], msg, n, maxpart, got, mdlen);
      if (memcmp(got, want, mdlen) != 0) {
        print_message("%s: %zu bytes\n", ocf_alg_lookup(algs[a])->name, n);
        ref_hexdiff("digest", got, want, mdlen);
        fail();
      }
      /* the same stream, checked by the framework instead of read back */
      stream(&sid, algs[a], msg, n / 2, maxpart, got, mdlen);
      assert_int_equal(part(&sid, algs[a], OCF_D_UPDATE | OCF_D_RESET, msg, n / 2, NULL, 0), 0);
      assert_int_equal(
          part(&sid, algs[a], OCF_D_FINAL | OCF_D_VERIFY, msg + n / 2, n - n / 2, want, mdlen), 0);
    }
    assert_int_equal(ocf_freesession(sid), 0);
  }
  assert_true(served > 0);
  free(msg);
}

static void t_soft(void **state) {
  (void)state;
  assert_int_equal(ocf_init(NULL), 0);
  check_all(200000, 70000, 4);
  ocf_shutdown();
}

static void t_cpu(void **state) {
  (void)state;
  struct ocf_init_opts o = {.no_soft = 1};
  uint32_t hid;
  assert_int_equal(ocf_init(&o), 0);
  assert_int_equal(ocf_cpu_attach(2, 0, &hid), 0);
  check_all(200000, 70000, 3);
  ocf_cpu_detach(hid);
  ocf_shutdown();
}

/* A card takes at most 65,535 bytes per command: streamed parts go past it. */
static void t_card(void **state) {
  (void)state;
  struct ocf_init_opts o = {.no_soft = 1, .devices = "hifn7751,bcm5820"};
  assert_int_equal(ocf_init(&o), 0);
  check_all(300000, 150000, 3);
  /* a one-shot digest is still held to the card's limit */
  ocf_sid_t sid;
  assert_int_equal(open_sess(OCF_ALG_SHA1, &sid), 0);
  uint8_t *big = calloc(1, 70000 + 20);
  struct ocf_req r;
  memset(&r, 0, sizeof(r));
  r.sid = sid;
  r.buf = ocf_buf_contig(big, 70000 + 20);
  r.ndesc = 1;
  r.desc[0] = (struct ocf_desc){.alg = OCF_ALG_SHA1, .len = 70000, .inject = 70000};
  assert_int_equal(ocf_run(&r), EMSGSIZE);
  free(big);
  assert_int_equal(ocf_freesession(sid), 0);
  ocf_shutdown();
}

static atomic_int cb_done;
static void count_cb(struct ocf_req *r) {
  (void)r;
  atomic_fetch_add(&cb_done, 1);
}

static void wait_for(int n) {
  for (int i = 0; i < 20000 && atomic_load(&cb_done) < n; i++) usleep(500);
  assert_int_equal(atomic_load(&cb_done), n);
}

/* Ordering and flags: a second part while one is in flight is refused;
 * malformed flag sets are refused; a failed part keeps the state. */
static void t_rules(void **state) {
  (void)state;
  struct ocf_init_opts o = {.devices = "hifn7751:watchdog=60000"};
  assert_int_equal(ocf_init(&o), 0);
  struct ocf_sim_card_info info[4];
  assert_int_equal(ocf_sim_cards(info, 4), 1);
  ocf_sid_t sid;
  assert_int_equal(open_sess(OCF_ALG_HMAC_SHA1, &sid), 0);
  char drv[32];
  assert_int_equal(ocf_session_driver(sid, drv, sizeof(drv)), 0);
  assert_string_equal(drv, info[0].name); /* hardware first */

  uint8_t msg[3000], want[20], md[20];
  ref_fill(&rng, msg, sizeof(msg));
  reference(OCF_ALG_HMAC_SHA1, msg, sizeof(msg), want);

  /* the card holds the first part: the second is refused, a one-shot
   * request on the same session is not */
  assert_int_equal(ocf_sim_fault(info[0].name, "hang"), 0);
  uint8_t b1[1000], b2[1000], b3[1000 + 20];
  memcpy(b1, msg, 1000);
  memcpy(b2, msg + 1000, 1000);
  memcpy(b3, msg, 1000);
  struct ocf_req r1, r2, r3;
  memset(&r1, 0, sizeof(r1));
  r1.sid = sid;
  r1.buf = ocf_buf_contig(b1, sizeof(b1));
  r1.ndesc = 1;
  r1.callback = count_cb;
  r1.desc[0] = (struct ocf_desc){.alg = OCF_ALG_HMAC_SHA1, .flags = OCF_D_UPDATE, .len = 1000};
  r2 = r1;
  r2.buf = ocf_buf_contig(b2, sizeof(b2));
  r3 = r1;
  r3.buf = ocf_buf_contig(b3, sizeof(b3));
  r3.desc[0].flags = 0;
  r3.desc[0].inject = 1000;
  atomic_store(&cb_done, 0);
  assert_int_equal(ocf_dispatch(&r1), 0);
  assert_int_equal(ocf_dispatch(&r2), EBUSY);
  assert_int_equal(ocf_dispatch(&r3), 0);
  assert_int_equal(ocf_sim_fault(info[0].name, "ok"), 0);
  wait_for(2);
  assert_int_equal(r1.error, 0);
  assert_int_equal(r3.error, 0);
  assert_int_equal(ocf_dispatch(&r2), 0); /* now it may go */
  wait_for(3);
  assert_int_equal(r2.error, 0);

  /* malformed flag sets */
  assert_int_equal(part(&sid, OCF_ALG_HMAC_SHA1, OCF_D_UPDATE | OCF_D_FINAL, msg, 10, md, 20),
                   EINVAL);
  assert_int_equal(part(&sid, OCF_ALG_HMAC_SHA1, OCF_D_RESET, msg, 10, md, 20), EINVAL);
  assert_int_equal(part(&sid, OCF_ALG_HMAC_SHA1, OCF_D_UPDATE | OCF_D_VERIFY, msg, 10, md, 20),
                   EINVAL);

  /* a final part that fails to verify leaves the state as it was */
  uint8_t bad[20];
  memcpy(bad, want, 20);
  bad[3] ^= 1;
  assert_int_equal(
      part(&sid, OCF_ALG_HMAC_SHA1, OCF_D_FINAL | OCF_D_VERIFY, msg + 2000, 1000, bad, 20),
      EBADMSG);
  assert_int_equal(part(&sid, OCF_ALG_HMAC_SHA1, OCF_D_FINAL, msg + 2000, 1000, md, 20), 0);
  assert_memory_equal(md, want, 20);
  /* the stream is over: the next part starts a new one */
  assert_int_equal(part(&sid, OCF_ALG_HMAC_SHA1, OCF_D_FINAL, msg, 3000, md, 20), 0);
  assert_memory_equal(md, want, 20);
  /* RESET drops what was fed */
  assert_int_equal(part(&sid, OCF_ALG_HMAC_SHA1, OCF_D_UPDATE, msg + 5, 17, NULL, 0), 0);
  assert_int_equal(part(&sid, OCF_ALG_HMAC_SHA1, OCF_D_UPDATE | OCF_D_RESET, msg, 1500, NULL, 0),
                   0);
  assert_int_equal(part(&sid, OCF_ALG_HMAC_SHA1, OCF_D_FINAL, msg + 1500, 1500, md, 20), 0);
  assert_memory_equal(md, want, 20);
  assert_int_equal(ocf_freesession(sid), 0);

  /* parts only for hashes and HMACs, alone in their request */
  static const uint8_t ckey[16];
  struct ocf_sessparam mac = {.alg = OCF_ALG_HMAC_SHA1, .key = hkey, .keylen = 20};
  struct ocf_sessparam cbc = {.alg = OCF_ALG_AES_CBC, .key = ckey, .keylen = 16, .next = &mac};
  assert_int_equal(ocf_newsession(&sid, &cbc, OCF_SESS_SWONLY), 0);
  uint8_t buf[64 + 20];
  struct ocf_req r;
  memset(&r, 0, sizeof(r));
  r.sid = sid;
  r.buf = ocf_buf_contig(buf, sizeof(buf));
  r.ndesc = 2;
  r.desc[0] = (struct ocf_desc){
      .alg = OCF_ALG_AES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = 64};
  r.desc[1] = (struct ocf_desc){.alg = OCF_ALG_HMAC_SHA1, .flags = OCF_D_UPDATE, .len = 64};
  assert_int_equal(ocf_run(&r), EINVAL);
  r.ndesc = 1;
  r.desc[0].flags |= OCF_D_UPDATE;
  assert_int_equal(ocf_run(&r), EINVAL);
  assert_int_equal(ocf_freesession(sid), 0);
  ocf_shutdown();
}

/* The running state belongs to the framework's session: a stream begun on
 * a card continues on the software producer after the card is ejected. */
static void t_migrate(void **state) {
  (void)state;
  struct ocf_init_opts o = {.devices = "hifn7751"};
  assert_int_equal(ocf_init(&o), 0);
  struct ocf_sim_card_info info[4];
  assert_int_equal(ocf_sim_cards(info, 4), 1);
  static const enum ocf_alg algs[] = {OCF_ALG_SHA1, OCF_ALG_HMAC_MD5};
  ocf_sid_t sid[2];
  uint8_t msg[2][100000], want[2][20], md[20];
  for (int i = 0; i < 2; i++) {
    assert_int_equal(open_sess(algs[i], &sid[i]), 0);
    ref_fill(&rng, msg[i], sizeof(msg[i]));
    reference(algs[i], msg[i], sizeof(msg[i]), want[i]);
    assert_int_equal(part(&sid[i], algs[i], OCF_D_UPDATE, msg[i], 70000, NULL, 0), 0);
  }
  char drv[32];
  assert_int_equal(ocf_session_driver(sid[0], drv, sizeof(drv)), 0);
  assert_string_equal(drv, info[0].name);
  assert_int_equal(ocf_sim_detach("all"), 0);
  for (int i = 0; i < 2; i++) {
    ocf_sid_t before = sid[i];
    /* ocf_run resubmits on EAGAIN: the part lands on the software producer */
    assert_int_equal(part(&sid[i], algs[i], OCF_D_UPDATE, msg[i] + 70000, 20000, NULL, 0), 0);
    assert_true(sid[i] != before);
    assert_int_equal(ocf_session_driver(sid[i], drv, sizeof(drv)), 0);
    assert_string_equal(drv, "soft");
    size_t mdlen = algs[i] == OCF_ALG_SHA1 ? 20 : 16;
    assert_int_equal(part(&sid[i], algs[i], OCF_D_FINAL, msg[i] + 90000, 10000, md, mdlen), 0);
    assert_memory_equal(md, want[i], mdlen);
    assert_int_equal(ocf_freesession(sid[i]), 0);
  }
  ocf_shutdown();
}

int main(void) {
  uint64_t seed = ref_seed();
  fprintf(stderr, "test_stream: seed=0x%llx (set OCF_TEST_SEED to reproduce)\n",
          (unsigned long long)seed);
  ref_rng_seed(&rng, seed);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_soft),  cmocka_unit_test(t_cpu),     cmocka_unit_test(t_card),
      cmocka_unit_test(t_rules), cmocka_unit_test(t_migrate),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
