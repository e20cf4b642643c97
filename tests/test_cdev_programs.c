/* test_cdev_programs.c - the example programs of tests/cdev_programs, built
 * against <crypto/cryptodev.h> as cryptodev-linux users build theirs (the
 * released declarations, nothing of libocf), run unmodified under
 * LD_PRELOAD=libocfpreload.so against a spawned ocfd.  Each program checks
 * its own answers against published vectors; here its exit status and what
 * it printed (the driver names CIOCGSESSINFO gave) are checked. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
/* clang-format on */

#include "test_ocfd_util.h"

/* run_program runs tests/cdev_prog_<name> under the shim against a fresh
 * daemon; returns its exit status and leaves what it printed in out. */
static int run_program(const char *name, char *out, size_t cap) {
  struct ocfd_proc p;
  assert_int_equal(ocfd_start(&p, NULL), 0);
  int pfd[2];
  assert_int_equal(pipe(pfd), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    char prog[600];
    snprintf(prog, sizeof(prog), "%s/tests/cdev_prog_%s", ocfd_build_dir(), name);
    ocfd_preload_env(p.sock);
    dup2(pfd[1], 1);
    close(pfd[0]);
    close(pfd[1]);
    execl(prog, prog, (char *)NULL);
    _exit(127);
  }
  close(pfd[1]);
  size_t n = 0;
  ssize_t r;
  while (n + 1 < cap && (r = read(pfd[0], out + n, cap - 1 - n)) != 0) {
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break;
    n += (size_t)r;
  }
  out[n] = '\0';
  close(pfd[0]);
  int st;
  waitpid(pid, &st, 0);
  assert_int_equal(ocfd_stop(&p), 0);
  print_message("%s", out);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void t_cipher(void **s) {
  (void)s;
  char out[4096];
  assert_int_equal(run_program("cipher", out, sizeof(out)), 0);
  assert_non_null(strstr(out, "AES-128-ECB: ecb(aes) via ecb(aes)-ocf-soft"));
  assert_non_null(strstr(out, "AES-128-CBC: cbc(aes) via cbc(aes)-ocf-soft"));
  assert_non_null(strstr(out, "AES-128-CTR: ctr(aes) via ctr(aes)-ocf-soft"));
  assert_non_null(strstr(out, "cipher: all answers right"));
}

static void t_hash(void **s) {
  (void)s;
  char out[4096];
  assert_int_equal(run_program("hash", out, sizeof(out)), 0);
  assert_non_null(strstr(out, "sha256 via sha256-ocf-soft"));
  assert_non_null(strstr(out, "hmac(sha1) via hmac(sha1)-ocf-soft"));
  assert_non_null(strstr(out, "hash: all answers right"));
}

static void t_gcm(void **s) {
  (void)s;
  char out[4096];
  assert_int_equal(run_program("gcm", out, sizeof(out)), 0);
  assert_non_null(strstr(out, "gcm: all answers right"));
}

static void t_async(void **s) {
  (void)s;
  char out[4096];
  assert_int_equal(run_program("async", out, sizeof(out)), 0);
  assert_non_null(strstr(out, "async: all answers right"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_cipher),
      cmocka_unit_test(t_hash),
      cmocka_unit_test(t_gcm),
      cmocka_unit_test(t_async),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
