/* test_ocfd_stream.c - streamed (multi-part) digests through ocfd: a 64 MiB
 * SHA-256 through libocfdev (OCF_D_UPDATE / OCF_D_FINAL) and through the
 * preload shim (COP_FLAG_UPDATE / COP_FLAG_FINAL, parts of random sizes and
 * one part larger than the daemon's maximum request), asynchronous
 * multi-part hashing (CIOCASYNCCRYPT parts of two sessions queued together),
 * and a session on a modeled card hashing more than its 65,535-byte command
 * limit.  Every digest is compared with OpenSSL's one-shot answer.  The shim
 * scenarios re-execute this binary under LD_PRELOAD=libocfpreload.so, built
 * against the released cryptodev header. */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cryptodev_facts.h"
#include "released/crypto/cryptodev.h"
#include "scenario_check.h"
#include "test_ocfd_util.h"

CDEV_ABI_STATIC_ASSERTS();

#define BIG (64u << 20)

/* a reproducible pseudo-random message */
static void fill(uint8_t *p, size_t n, uint64_t seed) {
  uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    p[i] = (uint8_t)x;
  }
}

static uint32_t mksess(int fd, uint32_t mac, const void *mkey, uint32_t mklen) {
  struct session_op s = {.mac = mac, .mackeylen = mklen, .mackey = (__u8 *)mkey};
  CHECK(ioctl(fd, CIOCGSESSION, &s) == 0, "CIOCGSESSION mac %u: %s", mac, strerror(errno));
  return s.ses;
}

static int part(int fd, uint32_t ses, uint16_t flags, const void *src, uint32_t len, void *mac) {
  struct crypt_op c = {
      .ses = ses, .op = COP_ENCRYPT, .flags = flags, .len = len, .src = (__u8 *)src, .mac = mac};
  return ioctl(fd, CIOCCRYPT, &c);
}

/* --- scenarios (under the shim) ------------------------------------------ */

/* 64 MiB in parts of 1 B .. 1 MiB, then one 20 MiB part (more than the
 * daemon's 16 MiB request), as `openssl dgst -engine devcrypto` streams. */
static void sc_big(void) {
  int fd = open("/dev/crypto", O_RDWR);
  CHECK(fd >= 0, "open /dev/crypto: %s", strerror(errno));
  uint8_t *msg = malloc(BIG), md[32], ref[32];
  unsigned rl;
  fill(msg, BIG, 1);
  uint32_t ses = mksess(fd, CRYPTO_SHA2_256, NULL, 0);
  uint64_t x = 7;
  size_t off = 0;
  while (off < BIG) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    size_t k = 1 + (size_t)(x >> 33) % (1u << 20);
    if (k > BIG - off) k = BIG - off;
    OK(part(fd, ses, COP_FLAG_UPDATE, msg + off, (uint32_t)k, NULL));
    off += k;
  }
  OK(part(fd, ses, COP_FLAG_FINAL, NULL, 0, md));
  EVP_Digest(msg, BIG, ref, &rl, EVP_sha256(), NULL);
  CHECK(memcmp(md, ref, 32) == 0, "64 MiB streamed SHA-256 differs from OpenSSL");
  /* one part longer than any request the daemon takes */
  size_t n = 20u << 20;
  OK(part(fd, ses, COP_FLAG_UPDATE | COP_FLAG_RESET, msg, (uint32_t)n, NULL));
  OK(part(fd, ses, COP_FLAG_FINAL, msg + n, 1000, md));
  EVP_Digest(msg, n + 1000, ref, &rl, EVP_sha256(), NULL);
  CHECK(memcmp(md, ref, 32) == 0, "20 MiB part + FINAL differs from OpenSSL");
  /* no flag: a one-shot digest that restarts the stream */
  OK(part(fd, ses, COP_FLAG_UPDATE, msg, 100, NULL));
  OK(part(fd, ses, 0, msg + 100, 1000, md));
  EVP_Digest(msg + 100, 1000, ref, &rl, EVP_sha256(), NULL);
  CHECK(memcmp(md, ref, 32) == 0, "a part without flags is not a fresh digest");
  free(msg);
  close(fd);
}

/* Asynchronous parts of two sessions queued together, fetched at the end:
 * each session's parts are absorbed in order, each FINAL gives its digest. */
static void sc_async(void) {
  int fd = open("/dev/crypto", O_RDWR);
  CHECK(fd >= 0, "open /dev/crypto: %s", strerror(errno));
  static const uint8_t key[20] = "an HMAC key, 20 byte";
  uint8_t msg[2][40000], md[2][32], ref[2][32];
  unsigned rl;
  fill(msg[0], sizeof(msg[0]), 2);
  fill(msg[1], sizeof(msg[1]), 3);
  uint32_t ses[2] = {mksess(fd, CRYPTO_SHA1, NULL, 0), mksess(fd, CRYPTO_SHA2_256_HMAC, key, 20)};
  EVP_Digest(msg[0], sizeof(msg[0]), ref[0], &rl, EVP_sha1(), NULL);
  HMAC(EVP_sha256(), key, 20, msg[1], sizeof(msg[1]), ref[1], &rl);
  struct crypt_op ops[2][5];
  static const uint32_t cut[6] = {0, 1, 7000, 7001, 30000, 40000};
  int sent = 0;
  for (int p = 0; p < 5; p++)
    for (int s = 0; s < 2; s++) {
      bool last = p == 4;
      ops[s][p] = (struct crypt_op){.ses = ses[s],
                                    .op = COP_ENCRYPT,
                                    .flags = last ? COP_FLAG_FINAL : COP_FLAG_UPDATE,
                                    .len = cut[p + 1] - cut[p],
                                    .src = msg[s] + cut[p],
                                    .mac = last ? md[s] : NULL};
      if (p == 0) ops[s][p].flags |= COP_FLAG_RESET;
      OK(ioctl(fd, CIOCASYNCCRYPT, &ops[s][p]));
      sent++;
    }
  int got = 0;
  for (int tries = 0; got < sent && tries < 200; tries++) {
    struct pollfd pf = {fd, POLLIN, 0};
    poll(&pf, 1, 100);
    struct crypt_op r;
    while (ioctl(fd, CIOCASYNCFETCH, &r) == 0) got++;
  }
  CHECK(got == sent, "fetched %d of %d", got, sent);
  CHECK(memcmp(md[0], ref[0], 20) == 0, "async SHA-1 in parts differs from OpenSSL");
  CHECK(memcmp(md[1], ref[1], 32) == 0, "async HMAC-SHA256 in parts differs from OpenSSL");
  close(fd);
}

/* The daemon serves only the modeled card: one part > 65,535 bytes, and a
 * message of 300,000 bytes in parts. */
static void sc_card(void) {
  int fd = open("/dev/crypto", O_RDWR);
  CHECK(fd >= 0, "open /dev/crypto: %s", strerror(errno));
  uint32_t ses = mksess(fd, CRYPTO_SHA1, NULL, 0);
  struct session_info_op si = {.ses = ses};
  OK(ioctl(fd, CIOCGSESSINFO, &si));
  CHECK(strstr(si.hash_info.cra_driver_name, "hifn7751") != NULL, "served by %s",
        si.hash_info.cra_driver_name);
  static uint8_t msg[300000];
  uint8_t md[20], ref[20];
  unsigned rl;
  fill(msg, sizeof(msg), 4);
  OK(part(fd, ses, 0, msg, 100000, md)); /* one part, a one-shot digest */
  EVP_Digest(msg, 100000, ref, &rl, EVP_sha1(), NULL);
  CHECK(memcmp(md, ref, 20) == 0, "100,000-byte digest on the card differs from OpenSSL");
  OK(part(fd, ses, COP_FLAG_UPDATE, msg, 70000, NULL));
  OK(part(fd, ses, COP_FLAG_UPDATE, msg + 70000, 150000, NULL));
  OK(part(fd, ses, COP_FLAG_FINAL, msg + 220000, 80000, md));
  EVP_Digest(msg, sizeof(msg), ref, &rl, EVP_sha1(), NULL);
  CHECK(memcmp(md, ref, 20) == 0, "300,000-byte streamed digest on the card differs");
  close(fd);
}

static const struct {
  const char *name;
  void (*fn)(void);
} scenarios[] = {{"big", sc_big}, {"async", sc_async}, {"card", sc_card}};

/* --- the cmocka side -------------------------------------------------------- */

/* Returns the scenario's exit status (0 = passed); the caller stops the
 * daemon before asserting, so that a failure does not leave it running. */
static int run_scenario(const char *name, struct ocfd_proc *p) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    ocfd_preload_env(p->sock);
    execl(self, self, "--scenario", name, (char *)NULL);
    _exit(127);
  }
  int st;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void t_shim(void **s) {
  (void)s;
  struct ocfd_proc p;
  assert_int_equal(ocfd_start(&p, NULL), 0);
  int a = run_scenario("big", &p), b = run_scenario("async", &p);
  assert_int_equal(ocfd_stop(&p), 0);
  assert_int_equal(a, 0);
  assert_int_equal(b, 0);
}

static void t_card(void **s) {
  (void)s;
  struct ocfd_proc p;
  assert_int_equal(ocfd_start(&p, "--devices", "hifn7751", "--allow-soft", "no", NULL), 0);
  int a = run_scenario("card", &p);
  assert_int_equal(ocfd_stop(&p), 0);
  assert_int_equal(a, 0);
}

/* libocfdev: 64 MiB in 1 MiB parts, then CIOCCPHASH's counterpart. */
static void t_ocfdev(void **s) {
  (void)s;
  struct ocfd_proc p;
  assert_int_equal(ocfd_start(&p, NULL), 0);
  struct ocfdev *d;
  assert_int_equal(ocfdev_open(p.sock, &d), 0);
  struct ocf_sessparam sp = {.alg = OCF_ALG_SHA2_256};
  uint32_t ses, ses2;
  assert_int_equal(ocfdev_newsession(d, &sp, 0, &ses, NULL), 0);
  assert_int_equal(ocfdev_newsession(d, &sp, 0, &ses2, NULL), 0);
  uint8_t *msg = malloc(BIG), *buf = malloc((1u << 20) + 32), ref[32];
  unsigned rl;
  fill(msg, BIG, 5);
  const size_t step = 1u << 20;
  for (size_t off = 0; off < BIG; off += step) {
    bool last = off + step == BIG;
    memcpy(buf, msg + off, step);
    struct ocfdev_op op;
    memset(&op, 0, sizeof(op));
    op.ses = ses;
    op.ndesc = 1;
    op.desc[0] = (struct ocf_desc){.alg = OCF_ALG_SHA2_256,
                                   .flags = last ? OCF_D_FINAL : OCF_D_UPDATE,
                                   .len = step,
                                   .inject = last ? step : 0};
    op.buf = buf;
    op.len = step + (last ? 32 : 0);
    assert_int_equal(ocfdev_crypt(d, &op), 0);
    if (off == step) assert_int_equal(ocfdev_cphash(d, ses2, ses), 0); /* after 2 MiB */
  }
  EVP_Digest(msg, BIG, ref, &rl, EVP_sha256(), NULL);
  assert_memory_equal(buf + step, ref, 32);
  /* the copy continues from 2 MiB on its own */
  struct ocfdev_op op;
  memset(&op, 0, sizeof(op));
  op.ses = ses2;
  op.ndesc = 1;
  op.desc[0] = (struct ocf_desc){.alg = OCF_ALG_SHA2_256, .flags = OCF_D_FINAL, .inject = 0};
  op.buf = buf;
  op.len = 32;
  assert_int_equal(ocfdev_crypt(d, &op), 0);
  EVP_Digest(msg, 2 * step, ref, &rl, EVP_sha256(), NULL);
  assert_memory_equal(buf, ref, 32);
  free(msg);
  free(buf);
  ocfdev_close(d);
  assert_int_equal(ocfd_stop(&p), 0);
}

int main(int argc, char **argv) {
  self = argv[0];
  if (argc >= 3 && strcmp(argv[1], "--scenario") == 0) {
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
      if (strcmp(scenarios[i].name, argv[2]) == 0) {
        scenarios[i].fn();
        return fails ? 1 : 0;
      }
    return 2;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_ocfdev),
      cmocka_unit_test(t_shim),
      cmocka_unit_test(t_card),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
