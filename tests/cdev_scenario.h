/* cdev_scenario.h - what the /dev/crypto programs of test_ocfd_cryptodev.c
 * and test_ocfd_cryptodev_fd.c share: each cmocka test re-executes its
 * program with the preload shim and a scenario name against a spawned ocfd;
 * the scenario checks results against OpenSSL computed independently and
 * the errno values the Linux cryptodev module returns, counting failures
 * instead of stopping at the first.  Included by one test program each. */
#ifndef OCF_TESTS_CDEV_SCENARIO_H
#define OCF_TESTS_CDEV_SCENARIO_H

#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* The released ABI as a program built against cryptodev-linux's header sees
 * it, not include/ocf/cryptodev.h: a change there that breaks the ABI fails
 * here. */
#include "cryptodev_facts.h"
#include "released/crypto/cryptodev.h"
#include "test_ocfd_util.h"

#include "scenario_check.h"

/* --- independent references (OpenSSL) ------------------------------------ */

static inline void ref_cipher(const EVP_CIPHER *c, const uint8_t *key, const uint8_t *iv, int enc,
                              const uint8_t *in, int len, uint8_t *out) {
  EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
  int n1 = 0, n2 = 0;
  EVP_CipherInit_ex(x, c, NULL, key, iv, enc);
  EVP_CIPHER_CTX_set_padding(x, 0);
  EVP_CipherUpdate(x, out, &n1, in, len);
  EVP_CipherFinal_ex(x, out + n1, &n2);
  EVP_CIPHER_CTX_free(x);
}

static inline void ref_gcm(const uint8_t *key, const uint8_t *iv, const uint8_t *aad, int alen,
                           const uint8_t *in, int len, uint8_t *out, uint8_t *tag) {
  EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
  int n;
  EVP_EncryptInit_ex(x, EVP_aes_128_gcm(), NULL, key, iv);
  if (alen) EVP_EncryptUpdate(x, NULL, &n, aad, alen);
  EVP_EncryptUpdate(x, out, &n, in, len);
  EVP_EncryptFinal_ex(x, out + n, &n);
  EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, 16, tag);
  EVP_CIPHER_CTX_free(x);
}

static inline void fill(uint8_t *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 8));
}

static inline int devopen(void) {
  int fd = open("/dev/crypto", O_RDWR);
  CHECK(fd >= 0, "open /dev/crypto: %s", strerror(errno));
  return fd;
}

static inline uint32_t mksess(int fd, uint32_t cipher, const void *key, uint32_t klen, uint32_t mac,
                              const void *mkey, uint32_t mklen) {
  struct session_op s = {.cipher = cipher,
                         .mac = mac,
                         .keylen = klen,
                         .key = (__u8 *)key,
                         .mackeylen = mklen,
                         .mackey = (__u8 *)mkey};
  CHECK(ioctl(fd, CIOCGSESSION, &s) == 0, "CIOCGSESSION cipher %u mac %u: %s", cipher, mac,
        strerror(errno));
  return s.ses;
}

static inline int cryptop(int fd, uint32_t ses, int op, uint16_t flags, const void *src, void *dst,
                          uint32_t len, void *mac, void *iv) {
  struct crypt_op c = {.ses = ses,
                       .op = (uint16_t)op,
                       .flags = flags,
                       .len = len,
                       .src = (__u8 *)src,
                       .dst = dst,
                       .mac = mac,
                       .iv = iv};
  return ioctl(fd, CIOCCRYPT, &c);
}

/* --- the cmocka side -------------------------------------------------------- */

static inline void run_scenario(const char *name, const char *extra) {
  struct ocfd_proc p;
  int rc = extra ? ocfd_start(&p, extra, NULL) : ocfd_start(&p, NULL);
  assert_int_equal(rc, 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    ocfd_preload_env(p.sock);
    execl(self, self, "--scenario", name, (char *)NULL);
    _exit(127);
  }
  int st;
  waitpid(pid, &st, 0);
  int drc = ocfd_stop(&p);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  assert_int_equal(drc, 0);
}

struct cdev_scenario {
  const char *name;
  void (*fn)(void);
};

/* cdev_scenario_main: when this process was started for a scenario
 * (--scenario NAME), run it and return the exit status; else -1. */
static inline int cdev_scenario_main(int argc, char **argv, const struct cdev_scenario *sc,
                                     size_t n) {
  self = argv[0];
  if (argc < 3 || strcmp(argv[1], "--scenario") != 0) return -1;
  for (size_t i = 0; i < n; i++)
    if (strcmp(sc[i].name, argv[2]) == 0) {
      sc[i].fn();
      return fails ? 1 : 0;
    }
  return 2;
}

#endif /* OCF_TESTS_CDEV_SCENARIO_H */
