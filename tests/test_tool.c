/* test_tool.c - the `ocf` command as a user runs it: `ocf check` passes on
 * the in-process instance with non-zero counts, `ocf bench --json` writes
 * valid JSON with the contract fields, the paper modes produce data, and bad
 * options exit 2 with a message.  Finds the binary through $OCF_BUILD_DIR. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_ocfd_util.h"

static char ocf_bin[1024];
static char tmpdir[] = "/tmp/ocf_tool_XXXXXX";

/* run executes the shell command, capturing stdout and stderr (up to cap
 * bytes each, NUL-terminated); returns the exit status, or -1. */
static int run(char *out, size_t outcap, char *err, size_t errcap, const char *fmt, ...) {
  char cmd[4096], o[1100], e[1100];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof(cmd), fmt, ap);
  va_end(ap);
  snprintf(o, sizeof(o), "%s/out", tmpdir);
  snprintf(e, sizeof(e), "%s/err", tmpdir);
  char full[6400];
  snprintf(full, sizeof(full), "%s >'%s' 2>'%s'", cmd, o, e);
  int st = system(full);
  const char *paths[2] = {o, e};
  char *bufs[2] = {out, err};
  size_t caps[2] = {outcap, errcap};
  for (int i = 0; i < 2; i++) {
    if (bufs[i] == NULL) continue;
    FILE *f = fopen(paths[i], "r");
    size_t n = f ? fread(bufs[i], 1, caps[i] - 1, f) : 0;
    bufs[i][n] = 0;
    if (f) fclose(f);
  }
  if (st == -1 || !WIFEXITED(st)) return -1;
  return WEXITSTATUS(st);
}

static int have_python(void) { return system("command -v python3 >/dev/null 2>&1") == 0; }

static int setup(void **state) {
  (void)state;
  const char *b = getenv("OCF_BUILD_DIR");
  snprintf(ocf_bin, sizeof(ocf_bin), "%s/ocf", b && *b ? b : ".");
  if (access(ocf_bin, X_OK) != 0) {
    fprintf(stderr, "test_tool: %s is not there (set OCF_BUILD_DIR)\n", ocf_bin);
    return -1;
  }
  if (mkdtemp(tmpdir) == NULL) return -1;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[200];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

static void test_check_passes(void **state) {
  (void)state;
  static char out[1 << 16], err[1 << 16];
  int rc = run(out, sizeof(out), err, sizeof(err),
               "'%s' check --trials 12 --kat-cap 40 --seed 12345 --json '%s/check.json'", ocf_bin,
               tmpdir);
  if (rc != 0) fprintf(stderr, "%s\n%s\n", out, err);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(out, "all passed"));
  /* the software producer's lines are there with non-zero counts */
  assert_non_null(strstr(out, "soft           aes-cbc            12/12"));
  assert_non_null(strstr(out, "soft           aes-gcm            12/12"));
  assert_non_null(strstr(out, "soft           sha2-256           12/12"));
  unsigned trials = 0, vectors = 0;
  const char *sum = strstr(out, "random trials");
  assert_non_null(sum);
  while (sum > out && sum[-1] != '\n') sum--;
  assert_int_equal(
      sscanf(sum,
             "%*u producer%*[s,] %*u (producer, algorithm) pairs, %u random trials, %u vectors",
             &trials, &vectors),
      2);
  assert_true(trials >= 12 * 20);
  if (access("/usr/lib/python3/dist-packages/cryptography_vectors", R_OK) == 0 ||
      getenv("OCF_VECTORS_DIR"))
    assert_true(vectors > 100);
  if (have_python()) {
    rc = run(out, sizeof(out), err, sizeof(err),
             "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
             "assert len(d) >= 20, len(d); "
             "assert all(x[\"result\"] in (\"ok\", \"skipped\") for x in d); "
             "assert sum(x[\"random_passed\"] for x in d) > 0; "
             "assert all(x[\"random_failed\"] == 0 and x[\"kat_failed\"] == 0 for x in d)' "
             "'%s/check.json'",
             tmpdir);
    if (rc != 0) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
  }
}

static void test_check_one_producer(void **state) {
  (void)state;
  static char out[1 << 14], err[1 << 14];
  int rc = run(out, sizeof(out), err, sizeof(err),
               "'%s' check --producer soft --alg aes-ctr,hmac-sha1 --trials 20 --no-kat "
               "--no-kops",
               ocf_bin);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(out, "aes-ctr            20/20"));
  assert_non_null(strstr(out, "hmac-sha1          20/20"));
  assert_null(strstr(out, "aes-gcm"));
  rc = run(out, sizeof(out), err, sizeof(err), "'%s' check --producer nosuch", ocf_bin);
  assert_int_equal(rc, 2);
  assert_non_null(strstr(err, "no producer named 'nosuch'"));
}

static void test_bench_json(void **state) {
  (void)state;
  static char out[1 << 16], err[1 << 16];
  int rc = run(out, sizeof(out), err, sizeof(err),
               "'%s' bench --quiet --json - --alg aes-128-cbc,null --sizes 64,1024 "
               "--seconds 0.04 --rounds 1 --window 8",
               ocf_bin);
  if (rc != 0) fprintf(stderr, "%s\n", err);
  assert_int_equal(rc, 0);
  assert_int_equal(err[0], 0); /* --quiet: nothing on stderr */
  const char *fields[] = {"\"alg\"",     "\"size\"",  "\"path\"",      "\"producer\"",
                          "\"threads\"", "\"mbps\"",  "\"ops_per_s\"", "\"p50_us\"",
                          "\"p99_us\"",  "\"cpu_s\"", "\"eff_ratio\"", "\"cpus\""};
  for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
    assert_non_null(strstr(out, fields[i]));
  if (have_python()) {
    FILE *f;
    char path[1100];
    snprintf(path, sizeof(path), "%s/bench.json", tmpdir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(out, f);
    fclose(f);
    rc =
        run(NULL, 0, err, sizeof(err),
            "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
            "paths = {x[\"path\"] for x in d}; "
            "assert {\"ocf\", \"direct\"} <= paths <= {\"ocf\", \"direct\", \"ocf-1core\"}, paths; "
            "assert len(d) == 4 * len(paths), len(d); "
            "keys = {\"alg\",\"size\",\"path\",\"producer\",\"threads\",\"mbps\",\"ops_per_s\","
            "\"p50_us\",\"p99_us\",\"cpu_s\",\"eff_ratio\",\"cpus\"}; "
            "assert all(keys <= set(x) for x in d); "
            "assert all(x[\"cpu_s\"] > 0 and x[\"eff_ratio\"] > 0 for x in d); "
            "assert all(x[\"eff_ratio\"] == 1 for x in d if x[\"path\"] == \"direct\"); "
            "assert all(x[\"cpus\"] == 1 and x[\"ratio\"] > 0 "
            "for x in d if x[\"path\"] == \"ocf-1core\"); "
            "assert all(x[\"mbps\"] > 0 and x[\"ops_per_s\"] > 0 and x[\"p99_us\"] >= "
            "x[\"p50_us\"] > 0 "
            "for x in d); "
            "assert all(x[\"producer\"] == \"soft\" for x in d if x[\"path\"] == \"ocf\")' '%s'",
            path);
    if (rc != 0) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
  }
  /* the table: the per-core columns and the multi-core ones, labelled */
  rc = run(out, sizeof(out), err, sizeof(err),
           "'%s' bench --alg null --sizes 64 --seconds 0.02 --rounds 1 --window 4 --csv '%s/b.csv'",
           ocf_bin, tmpdir);
  if (rc != 0) fprintf(stderr, "%s\n", err);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(out, "cpu_s"));
  assert_non_null(strstr(out, "framework, same core"));
  assert_non_null(strstr(out, "ocf/dir"));
  if (sysconf(_SC_NPROCESSORS_ONLN) > 1 && strstr(out, "may use 1 CPU") == NULL) {
    assert_non_null(strstr(out, "x direct"));
    assert_non_null(strstr(out, "a multi-core speed-up"));
  }
  char path[1100];
  snprintf(path, sizeof(path), "%s/b.csv", tmpdir);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char head[512] = "";
  assert_non_null(fgets(head, sizeof(head), f));
  fclose(f);
  assert_non_null(strstr(head, ",ops,cpu_s,eff_ratio,cpus"));
}

static void test_bench_paper_mode(void **state) {
  (void)state;
  static char out[1 << 16], err[1 << 16];
  /* figure 3 with the software producer: RSA verifications per second */
  int rc = run(out, sizeof(out), err, sizeof(err),
               "'%s' bench --figure 3 --seconds 0.02 --quiet --csv - --plot '%s/plots'", ocf_bin,
               tmpdir);
  if (rc != 0) fprintf(stderr, "%s\n%s\n", out, err);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(out, "experiment,series,alg,size,path,producer,threads,mbps,ops_per_s"));
  assert_non_null(strstr(out, "fig3,\"software (soft)\",rsa-verify,1024,ocf,\"soft\",1,"));
  assert_non_null(strstr(out, "fig3,\"OpenSSL direct\",rsa-verify,1024,direct"));
  char path[1100];
  snprintf(path, sizeof(path), "%s/plots/fig3.gp", tmpdir);
  assert_int_equal(access(path, R_OK), 0);
  if (system("command -v gnuplot >/dev/null 2>&1") == 0) {
    snprintf(path, sizeof(path), "%s/plots/fig3.png", tmpdir);
    assert_int_equal(access(path, R_OK), 0);
    snprintf(path, sizeof(path), "%s/plots/fig3.svg", tmpdir);
    assert_int_equal(access(path, R_OK), 0);
  }
}

static void test_stat_and_drivers(void **state) {
  (void)state;
  static char out[1 << 15], err[1 << 15];
  int rc = run(out, sizeof(out), err, sizeof(err), "'%s' drivers", ocf_bin);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(out, "soft"));
  assert_non_null(strstr(out, "aes-cbc"));
  rc = run(out, sizeof(out), err, sizeof(err), "'%s' stat -w 0.1 -c 2 --load aes-cbc", ocf_bin);
  if (rc != 0) fprintf(stderr, "%s\n", err);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(out, "req/s"));
  /* the load shows as requests on the software producer */
  const char *line = strstr(out, "\nsoft ");
  assert_non_null(line);
  unsigned long sessions = 0;
  double reqs = 0;
  assert_int_equal(sscanf(line + 1, "soft %lu %lf", &sessions, &reqs), 2);
  assert_true(reqs > 0);
}

/* `ocf stat`, `ocf drivers` and `ocf bench` against a running ocfd, and
 * `ocf bench --via ocfd` with a private one. */
static void test_ocfd_modes(void **state) {
  (void)state;
  static char out[1 << 16], err[1 << 16];
  struct ocfd_proc d;
  assert_int_equal(ocfd_start(&d, NULL), 0);
  int rc = run(out, sizeof(out), err, sizeof(err), "'%s' drivers --ocfd '%s'", ocf_bin, d.sock);
  if (rc != 0) fprintf(stderr, "%s\n%s\n", out, err);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(out, "ocfd at "));
  assert_non_null(strstr(out, "\nsoft "));
  assert_non_null(strstr(out, "aes-gcm"));
  assert_non_null(strstr(out, "mod-exp"));
  /* $OCF_SOCKET names the daemon when --ocfd is '-' */
  rc = run(out, sizeof(out), err, sizeof(err), "OCF_SOCKET='%s' '%s' stat --ocfd -", d.sock,
           ocf_bin);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(out, "ocfd: "));
  assert_non_null(strstr(out, " soft "));
  /* the live view with a load through the daemon: requests move */
  rc = run(out, sizeof(out), err, sizeof(err),
           "'%s' stat --ocfd '%s' -w 0.2 -c 2 --load aes-cbc --load-threads 1", ocf_bin, d.sock);
  if (rc != 0) fprintf(stderr, "%s\n%s\n", out, err);
  assert_int_equal(rc, 0);
  const char *line = strstr(out, "\nsoft ");
  assert_non_null(line);
  unsigned long sessions = 0;
  double reqs = 0;
  assert_int_equal(sscanf(line + 1, "soft %lu %lf", &sessions, &reqs), 2);
  assert_true(sessions >= 1);
  assert_true(reqs > 0);
  line = strstr(out, "\nocfd ");
  assert_non_null(line);
  assert_int_equal(sscanf(line + 1, "ocfd %lu %lf", &sessions, &reqs), 2);
  assert_true(reqs > 0);
  /* afterwards the daemon's counters show the load's requests */
  rc = run(out, sizeof(out), err, sizeof(err), "'%s' stat --ocfd '%s'", ocf_bin, d.sock);
  assert_int_equal(rc, 0);
  unsigned long long answered = 0;
  line = strstr(out, "in flight, ");
  assert_non_null(line);
  assert_int_equal(sscanf(line, "in flight, %llu answered", &answered), 1);
  assert_true(answered > 10);
  /* bench through the daemon: four more paths in the JSON, the last a
   * cryptodev program under the preload shim */
  rc = run(out, sizeof(out), err, sizeof(err),
           "'%s' bench --ocfd '%s' --quiet --json - --alg null,aes-128-gcm --sizes 64 "
           "--seconds 0.1 --rounds 1 --window 8",
           ocf_bin, d.sock);
  if (rc != 0) fprintf(stderr, "%s\n%s\n", out, err);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(out, "\"path\": \"ocfd\""));
  assert_non_null(strstr(out, "\"path\": \"ocfd-async\""));
  assert_non_null(strstr(out, "\"path\": \"ocfd-shm\""));
  assert_non_null(strstr(out, "\"path\": \"cdev\""));
  assert_non_null(strstr(out, "\"ratio_inproc\""));
  assert_non_null(strstr(out, "\"cpu_s\""));
  assert_non_null(strstr(out, "\"ratio_direct\""));
  assert_int_equal(ocfd_stop(&d), 0);
  if (have_python()) {
    char path[1100];
    snprintf(path, sizeof(path), "%s/dev.json", tmpdir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(out, f);
    fclose(f);
    rc = run(NULL, 0, err, sizeof(err),
             "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
             "assert len(d) == (14 if any(x[\"path\"] == \"ocf-1core\" for x in d) else 12), len(d); "
             "p = {(x[\"alg\"], x[\"path\"]): x for x in d}; "
             "assert all(p[(a, q)][\"ops_per_s\"] > 0 and p[(a, q)][\"producer\"] == \"soft\" "
             "for a in (\"null\", \"aes-128-gcm\") for q in (\"ocf\", \"ocfd\", "
             "\"ocfd-async\", \"ocfd-shm\", \"cdev\")); "
             "assert all(x[\"cpu_s\"] > 0 for x in d); "
             "assert p[(\"null\", \"ocfd-async\")][\"ratio_inproc\"] > 0; "
             "assert p[(\"aes-128-gcm\", \"cdev\")][\"ratio_direct\"] > 0' '%s'",
             path);
    if (rc != 0) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
  }
  /* --via ocfd: a private daemon from the build directory, for the run */
  rc = run(out, sizeof(out), err, sizeof(err),
           "'%s' bench --via ocfd --alg null --sizes 256 --seconds 0.1 --rounds 1 --window 4",
           ocf_bin);
  if (rc != 0) fprintf(stderr, "%s\n%s\n", out, err);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(out, "through ocfd at /tmp/ocf-bench."));
  assert_non_null(strstr(out, "(a private daemon for this run)"));
  /* --only one daemon path: that path's row and no other */
  rc = run(out, sizeof(out), err, sizeof(err),
           "'%s' bench --via ocfd --only ocfd-shm --alg aes-128-gcm --sizes 1024 --seconds 0.1 "
           "--rounds 1 --window 4 -q --json - | python3 -c 'import json,sys; "
           "d=json.load(sys.stdin); assert [x[\"path\"] for x in d] == [\"ocfd-shm\"], d; "
           "assert d[0][\"ops_per_s\"] > 0 and d[0][\"producer\"] == \"soft\", d'",
           ocf_bin);
  if (rc != 0) fprintf(stderr, "%s\n%s\n", out, err);
  assert_int_equal(rc, 0);
  /* a daemon that is not there */
  rc = run(out, sizeof(out), err, sizeof(err), "'%s' stat --ocfd '%s/none'", ocf_bin, tmpdir);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(err, "cannot reach ocfd"));
}

static void test_bad_options(void **state) {
  (void)state;
  static const struct {
    const char *args, *msg;
  } cases[] = {
      {"bench --threads 0", "--threads"},
      {"bench --bogus", "unknown option"},
      {"bench --alg nosuch", "unknown algorithm"},
      {"bench --sizes 12x", "--sizes"},
      {"bench --figure 5", "--figure"},
      {"bench --figure 1 --table 2", "exclude"},
      {"bench --full", "--full"},
      {"check --trials many", "--trials"},
      {"check --alg nosuch", "unknown algorithm"},
      {"check extra", "unexpected argument"},
      {"stat -w 0", "-w"},
      {"stat --load nosuch", "unknown algorithm"},
      {"drivers --bogus", "unknown option"},
      {"drivers --ocfd /x --devices y", "--ocfd"},
      {"bench --via nowhere", "--via"},
      {"bench --only ocfd-shm", "with --via ocfd or --ocfd"},
      {"bench --only ocfd-nothing", "--only: expected"},
      {"nosuch", "unknown command"},
  };
  static char err[1 << 14];
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int rc = run(NULL, 0, err, sizeof(err), "'%s' %s", ocf_bin, cases[i].args);
    if (rc != 2 || strstr(err, cases[i].msg) == NULL)
      fprintf(stderr, "`ocf %s`: exit %d, stderr: %s\n", cases[i].args, rc, err);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(err, cases[i].msg));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_check_passes),     cmocka_unit_test(test_check_one_producer),
      cmocka_unit_test(test_bench_json),       cmocka_unit_test(test_bench_paper_mode),
      cmocka_unit_test(test_stat_and_drivers), cmocka_unit_test(test_bad_options),
      cmocka_unit_test(test_ocfd_modes),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
