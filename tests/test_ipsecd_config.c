/*
 * test_ipsecd_config.c - ocf-ipsecd refuses bad configuration files, each
 * with the file, the line and the reason (`ocf-ipsecd --check`, the same
 * code that a start or a SIGHUP runs), and accepts a good one.  The daemon
 * binary is run as a user would run it; the test only reads its exit status
 * and its message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
/* clang-format on */

static char dir[64], daemon_path[512];

static int setup(void **state) {
  (void)state;
  const char *b = getenv("OCF_BUILD_DIR");
  snprintf(daemon_path, sizeof(daemon_path), "%s/src/ipsecd/ocf-ipsecd", b ? b : ".");
  if (access(daemon_path, X_OK) != 0) {
    fprintf(stderr, "no daemon at %s\n", daemon_path);
    return -1;
  }
  snprintf(dir, sizeof(dir), "/tmp/ipsecd-conf.XXXXXX");
  return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* writes text to dir/name with mode, returns the path */
static const char *put(const char *name, const char *text, mode_t mode) {
  static char path[2][256];
  static int k;
  char *p = path[k++ & 1];
  snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  assert_int_equal(chmod(p, mode), 0);
  return p;
}

/* runs ocf-ipsecd --check -c path; returns its exit status, output in out */
static int check(const char *path, char *out, size_t outlen) {
  int pfd[2];
  assert_int_equal(pipe(pfd), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(pfd[1], 1);
    dup2(pfd[1], 2);
    close(pfd[0]);
    execl(daemon_path, daemon_path, "--check", "-c", path, (char *)NULL);
    _exit(127);
  }
  close(pfd[1]);
  size_t n = 0;
  ssize_t r;
  while (n < outlen - 1 && (r = read(pfd[0], out + n, outlen - 1 - n)) > 0) n += (size_t)r;
  out[n] = '\0';
  close(pfd[0]);
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* a pair of SAs and policies that is valid; cases break one thing each */
#define GOOD_OUT                                         \
  "sa out1 {\n"                                          \
  "  dir out\n"                                          \
  "  src 198.18.0.1\n"                                   \
  "  dst 198.18.0.2\n"                                   \
  "  spi 0x1001\n"                                       \
  "  enc aes-gcm-16\n"                                   \
  "  enc-key 000102030405060708090a0b0c0d0e0f10111213\n" \
  "}\n"
#define GOOD_IN                                          \
  "sa in1 {\n"                                           \
  "  dir in\n"                                           \
  "  src 198.18.0.2\n"                                   \
  "  dst 198.18.0.1\n"                                   \
  "  spi 0x1002\n"                                       \
  "  enc aes-gcm-16\n"                                   \
  "  enc-key 101112131415161718191a1b1c1d1e1f20212223\n" \
  "}\n"
#define GOOD_POL                                                \
  "policy o out from 10.1.0.0/16 to 10.2.0.0/16 protect out1\n" \
  "policy i in from 10.2.0.0/16 to 10.1.0.0/16 proto tcp protect in1\n"

struct bad {
  const char *what;
  const char *text;
  const char *expect; /* after "PATH:" */
};

static const struct bad bads[] = {
    {"unknown keyword", "mtu 1400\nfrobnicate yes\n" GOOD_OUT,
     ":2: unknown keyword 'frobnicate' (one of: interface"},
    {"unknown keyword in a block", "sa x {\n  dir out\n  colour blue\n}\n",
     ":3: unknown keyword 'colour' in sa 'x' (one of: dir"},
    {"no direction", "sa x {\n  spi 0x1000\n  src 1.1.1.1\n  dst 2.2.2.2\n  enc aes-cbc\n}\n",
     ":1: sa 'x' has no 'dir' (out or in)"},
    {"bad direction", "sa x {\n  dir sideways\n}\n", ":2: dir: 'sideways' is neither out nor in"},
    {"no spi", "sa x {\n  dir out\n  src 1.1.1.1\n  dst 2.2.2.2\n  enc aes-cbc\n}\n",
     ":1: sa 'x' has no 'spi'"},
    {"tunnel without dst", "sa x {\n  dir out\n  spi 300\n  src 1.1.1.1\n  enc aes-cbc\n}\n",
     ":1: sa 'x' is a tunnel and needs both 'src' and 'dst'"},
    {"ESP without enc", "sa x {\n  dir out\n  spi 300\n  src 1.1.1.1\n  dst 2.2.2.2\n}\n",
     ":1: sa 'x' is ESP and has no 'enc'"},
    {"not hex", "sa x {\n  dir out\n  enc-key 00zz\n}\n",
     ":3: enc-key: '00zz' is not a key: an even number of hexadecimal digits"},
    {"odd hex", "sa x {\n  dir out\n  auth-key 0x123\n}\n", ":3: auth-key: '0x123' is not a key"},
    {"unknown transform", "sa x {\n  enc aes-gcm-17\n}\n",
     ":2: enc: unknown transform 'aes-gcm-17'"},
    {"unknown integrity", "sa x {\n  auth hmac-sha3\n}\n",
     ":2: auth: unknown transform 'hmac-sha3'"},
    {"GCM key without its salt (the library's judgement)",
     "\n\nsa x {\n  dir out\n  src 1.1.1.1\n  dst 2.2.2.2\n  spi 300\n  enc aes-gcm-16\n"
     "  enc-key 000102030405060708090a0b0c0d0e0f\n}\n",
     ":3: sa 'x': aes-gcm-16: key of 12 bytes (plus 4 of salt) is not valid"},
    {"NULL without integrity (the library's judgement)",
     "sa x {\n  dir out\n  src 1.1.1.1\n  dst 2.2.2.2\n  spi 300\n  enc null\n}\n",
     ":1: sa 'x': ESP with NULL encryption needs an integrity transform"},
    {"reserved SPI (the library's judgement)",
     "sa x {\n  dir out\n  src 1.1.1.1\n  dst 2.2.2.2\n  spi 255\n  enc aes-cbc\n"
     "  enc-key 000102030405060708090a0b0c0d0e0f\n  auth hmac-sha1-96\n"
     "  auth-key 000102030405060708090a0b0c0d0e0f10111213\n}\n",
     ":1: sa 'x': SPI 255 is reserved (0..255)"},
    {"replay window", "sa x {\n  replay-window 10\n}\n", ":2: replay-window: '10' is not 64..4096"},
    {"lifetime unit", "sa x {\n  lifetime soft bytes 10X\n}\n",
     ":2: lifetime bytes: '10X' is not a count"},
    {"lifetime kind", "sa x {\n  lifetime medium packets 10\n}\n",
     ":2: lifetime: 'medium' is neither soft nor hard"},
    {"duplicate SA", GOOD_OUT GOOD_OUT, ":9: sa 'out1' defined twice (first at line 1)"},
    {"duplicate inbound SPI", GOOD_IN "\n" GOOD_IN,
     ":10: sa 'in1' defined twice (first at line 1)"},
    {"same inbound SPI and destination under another name",
     GOOD_IN "sa in2 {\n  dir in\n  src 198.18.0.2\n  dst 198.18.0.1\n  spi 0x1002\n"
             "  enc aes-gcm-16\n  enc-key 101112131415161718191a1b1c1d1e1f20212223\n}\n",
     ":9: sa 'in2': an inbound SA with spi 0x1002 and this destination is already defined (line "
     "1)"},
    {"unclosed block", GOOD_OUT "sa y {\n  dir in\n", ":9: sa 'y' is not closed with '}'"},
    {"policy inside a block", "sa y {\n  dir in\npolicy p in from any to any discard\n}\n",
     ":3: 'policy' inside sa 'y' (missing '}' after line 1?)"},
    {"stray brace", "}\n", ":1: '}' without an open sa block"},
    {"unknown SA in a policy", GOOD_OUT "policy p out from any to any protect nope\n",
     ":9: policy 'p' names sa 'nope', which is not defined above"},
    {"policy direction", GOOD_OUT GOOD_IN "policy p out from any to any protect in1\n",
     ":17: policy 'p' is outbound but sa 'in1' is inbound"},
    {"bad prefix", GOOD_OUT "policy p out from 10.0.0.0/33 to any protect out1\n",
     ":9: policy 'p': '10.0.0.0/33' is not a prefix (ADDRESS[/LENGTH] or any): prefix length "
     "too long"},
    {"mixed families", GOOD_OUT "policy p out from 10.0.0.0/8 to fd00::/8 protect out1\n",
     ":9: policy 'p': source 10.0.0.0/8 and destination fd00::/8 are of different families"},
    {"ports without protocol", GOOD_OUT "policy p out from any to any dport 80 protect out1\n",
     ":9: policy 'p': ports need a protocol"},
    {"bad port range", GOOD_OUT "policy p out from any to any proto tcp dport 90-80 protect out1\n",
     ":9: policy 'p': dport '90-80' is not a port or range"},
    {"no action", "policy p out from any to any\n", ":1: expected 'policy NAME out|in from PREFIX"},
    {"bad action", GOOD_OUT "policy p out from any to any encrypt out1\n",
     ":9: policy 'p': 'encrypt' is not an action"},
    {"empty file", "# nothing\n", "no sa and no policy: nothing to do"},
    {"interface name", "interface this-name-is-far-too-long\n",
     ":1: interface: 'this-name-is-far-too-long' is not a valid interface name"},
    {"second IPv4 address", "address 10.0.0.1/24\naddress 10.0.1.1/24\n",
     ":2: address: one IPv4 address per interface"},
    {"key file not named",
     "sa x {\n  dir out\n  src 1.1.1.1\n  dst 2.2.2.2\n  spi 300\n  enc aes-cbc\n"
     "  enc-key @k1\n}\n",
     ":7: key @k1: no 'keys FILE' statement names a keys file"},
};

static void t_bad_files(void **state) {
  (void)state;
  char out[4096], want[1024];
  for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
    const char *p = put("bad.conf", bads[i].text, 0600);
    int rc = check(p, out, sizeof(out));
    snprintf(want, sizeof(want), "%s%s", bads[i].expect[0] == ':' ? p : "", bads[i].expect);
    if (rc != 2 || strstr(out, want) == NULL)
      fail_msg("%s: exit %d, message:\n%s\nwanted (exit 2):\n%s", bads[i].what, rc, out, want);
  }
}

static void t_good_file(void **state) {
  (void)state;
  char out[4096];
  const char *p =
      put("good.conf",
          "interface gw0\naddress 10.1.0.1/16\nroute 10.2.0.0/16\n" GOOD_OUT GOOD_IN GOOD_POL
          "policy i6 in from fd00:2::/64 to fd00:1::/64 protect in1\n",
          0600);
  int rc = check(p, out, sizeof(out));
  if (rc != 0 || strstr(out, "ok (2 SAs, 3 policies)") == NULL)
    fail_msg("a good file: exit %d: %s", rc, out);
}

static void t_key_file(void **state) {
  (void)state;
  char out[4096], want[1024], text[1024];
  const char *kp = put("k.keys", "# keys\nk-out 000102030405060708090a0b0c0d0e0f10111213\n", 0644);
  char keys[256];
  snprintf(keys, sizeof(keys), "%s", kp);
  snprintf(text, sizeof(text),
           "keys %s\nsa x {\n  dir out\n  src 1.1.1.1\n  dst 2.2.2.2\n  spi 300\n"
           "  enc aes-gcm-16\n  enc-key @k-out\n}\n",
           keys);
  const char *p = put("kf.conf", text, 0600);
  /* others may read the keys: refused, with the fix */
  int rc = check(p, out, sizeof(out));
  snprintf(want, sizeof(want),
           "%s:1: keys file %s can be read or written by group or others "
           "(mode 0644); keys must be private: chmod 600 %s",
           p, keys, keys);
  if (rc != 2 || strstr(out, want) == NULL) fail_msg("open key file: exit %d: %s", rc, out);
  assert_int_equal(chmod(keys, 0600), 0);
  rc = check(p, out, sizeof(out));
  if (rc != 0) fail_msg("private key file: exit %d: %s", rc, out);
  /* a name the key file lacks */
  snprintf(text, sizeof(text),
           "keys %s\nsa x {\n  dir out\n  src 1.1.1.1\n  dst 2.2.2.2\n  spi 300\n"
           "  enc aes-gcm-16\n  enc-key @k-other\n}\n",
           keys);
  p = put("kf.conf", text, 0600);
  rc = check(p, out, sizeof(out));
  snprintf(want, sizeof(want), "%s:8: key @k-other is not in the keys file %s", p, keys);
  if (rc != 2 || strstr(out, want) == NULL) fail_msg("missing key: exit %d: %s", rc, out);
  /* a malformed key file names its own line */
  put("k.keys", "k-out 0001\nk-bad xyz\n", 0600);
  rc = check(p, out, sizeof(out));
  snprintf(want, sizeof(want), "%s:2: key 'k-bad' is not an even number of hexadecimal digits",
           keys);
  if (rc != 2 || strstr(out, want) == NULL) fail_msg("bad key file: exit %d: %s", rc, out);
  /* keys written in a file everyone can read: accepted, with a warning */
  p = put("inline.conf", GOOD_OUT, 0644);
  rc = check(p, out, sizeof(out));
  snprintf(want, sizeof(want), "%s:7: keys written in a file everyone can read", p);
  if (rc != 0 || strstr(out, want) == NULL) fail_msg("inline keys: exit %d: %s", rc, out);
}

static void t_missing_file(void **state) {
  (void)state;
  char out[1024], p[128];
  snprintf(p, sizeof(p), "%s/absent.conf", dir);
  int rc = check(p, out, sizeof(out));
  if (rc != 2 || strstr(out, "absent.conf: No such file or directory") == NULL)
    fail_msg("absent file: exit %d: %s", rc, out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_bad_files),
      cmocka_unit_test(t_good_file),
      cmocka_unit_test(t_key_file),
      cmocka_unit_test(t_missing_file),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
