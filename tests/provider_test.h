/*
 * provider_test.h - what the provider tests (test_provider*.c) share: a
 * library context with ocf.so activated by a configuration file written for
 * the test (as a user's openssl.cnf would), the provider's counters, and a
 * seeded random generator.
 *
 * The module is $OCF_BUILD_DIR/ocf.so.  These executables export their
 * symbols and carry the whole of libocf, so that the module's libocf calls
 * land in the test's own copy: the test can then look at the framework the
 * provider uses (ocf_driver_stats) and detach its producers.
 */
#ifndef OCF_PROVIDER_TEST_H
#define OCF_PROVIDER_TEST_H

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The module links libocf.so, whose globals the test's exported copy
 * replaces (see above): AddressSanitizer would call the pair an ODR
 * violation.  Only these executables carry both on purpose. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "detect_odr_violation=0"; }

/* pt_rng - xorshift64*, seeded from $OCF_TEST_SEED or the clock. */
static uint64_t pt_state;

static inline uint64_t pt_rand(void) {
  pt_state ^= pt_state >> 12;
  pt_state ^= pt_state << 25;
  pt_state ^= pt_state >> 27;
  return pt_state * 0x2545F4914F6CDD1DULL;
}

static inline size_t pt_below(size_t n) { return n ? (size_t)(pt_rand() % n) : 0; }

static inline void pt_fill(void *p, size_t n) {
  uint8_t *b = p;
  for (size_t i = 0; i < n; i++) b[i] = (uint8_t)pt_rand();
}

static inline uint64_t pt_seed(void) {
  const char *e = getenv("OCF_TEST_SEED");
  uint64_t s = e ? strtoull(e, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
  if (s == 0) s = 1;
  pt_state = s;
  printf("seed %llu (OCF_TEST_SEED reproduces the run)\n", (unsigned long long)s);
  return s;
}

static inline int pt_scale(void) {
  const char *e = getenv("OCF_TEST_SCALE");
  int s = e ? atoi(e) : 1;
  return s < 1 ? 1 : s;
}

/* pt_module is the path of the provider module under test. */
static inline const char *pt_module(void) {
  static char path[4096];
  const char *b = getenv("OCF_BUILD_DIR");
  snprintf(path, sizeof(path), "%s/ocf.so", b ? b : ".");
  return path;
}

/* pt_conf writes an openssl.cnf that activates ocf (with the extra lines of
 * its section, "key = value\n" each) and, when with_default, the default
 * provider, preferred or not; returns the file's path (static storage). */
static inline const char *pt_conf(const char *extra, int with_default, int prefer_ocf) {
  static char path[256];
  snprintf(path, sizeof(path), "/tmp/ocfprov-test-%d.cnf", (int)getpid());
  FILE *f = fopen(path, "w");
  if (f == NULL) return NULL;
  fprintf(
      f,
      "openssl_conf = openssl_init\nconfig_diagnostics = 1\n[openssl_init]\nproviders = provs\n%s"
      "[provs]\nocf = ocf_sect\n%s[ocf_sect]\nmodule = %s\nactivate = 1\n%s\n",
      prefer_ocf ? "alg_section = algs\n" : "", with_default ? "default = dflt_sect\n" : "",
      pt_module(), extra ? extra : "");
  if (with_default) fprintf(f, "[dflt_sect]\nactivate = 1\n");
  if (prefer_ocf) fprintf(f, "[algs]\ndefault_properties = ?provider=ocf\n");
  fclose(f);
  return path;
}

/* pt_stat reads one of the provider's counters ("ocf-requests", ...). */
static inline uint64_t pt_stat(OSSL_LIB_CTX *lc, const char *name) {
  OSSL_PROVIDER *p = OSSL_PROVIDER_load(lc, "ocf");
  uint64_t v = 0;
  OSSL_PARAM q[] = {OSSL_PARAM_construct_uint64(name, &v), OSSL_PARAM_construct_end()};
  if (p == NULL || !OSSL_PROVIDER_get_params(p, q)) v = UINT64_MAX;
  OSSL_PROVIDER_unload(p);
  return v;
}

/* pt_running reads "ocf-running": 1 the framework path is up, 0 it starts
 * (or was not needed yet), -1 unavailable. */
static inline int pt_running(OSSL_LIB_CTX *lc) {
  OSSL_PROVIDER *p = OSSL_PROVIDER_load(lc, "ocf");
  int v = -2;
  OSSL_PARAM q[] = {OSSL_PARAM_construct_int("ocf-running", &v), OSSL_PARAM_construct_end()};
  if (p == NULL || !OSSL_PROVIDER_get_params(p, q)) v = -2;
  OSSL_PROVIDER_unload(p);
  return v;
}

/* pt_wait_running asks ocf.so for a digest (which starts the framework in
 * the background) and waits up to 20 s for the framework path; returns the
 * last "ocf-running". */
static inline int pt_wait_running(OSSL_LIB_CTX *lc) {
  int v = 0;
  for (int i = 0; i < 2000 && v == 0; i++) {
    EVP_MD *md = EVP_MD_fetch(lc, "SHA256", "provider=ocf");
    uint8_t out[32];
    unsigned ol;
    if (md != NULL) EVP_Digest("x", 1, out, &ol, md, NULL);
    EVP_MD_free(md);
    v = pt_running(lc);
    if (v == 0) usleep(10000);
  }
  return v;
}

/* pt_libctx makes a library context configured as pt_conf says; NULL (the
 * error queue printed) when the configuration does not load. */
static inline OSSL_LIB_CTX *pt_libctx(const char *extra, int with_default, int prefer_ocf) {
  OSSL_LIB_CTX *lc = OSSL_LIB_CTX_new();
  const char *path = pt_conf(extra, with_default, prefer_ocf);
  if (lc == NULL || path == NULL) return NULL;
  int ok = OSSL_LIB_CTX_load_config(lc, path);
  unlink(path);
  if (!ok || !OSSL_PROVIDER_available(lc, "ocf")) {
    ERR_print_errors_fp(stderr);
    OSSL_LIB_CTX_free(lc);
    return NULL;
  }
  /* the framework starts in the background at the first request that
   * wants it: the tests want it up from their first request */
  if (extra == NULL || strstr(extra, "offload = never") == NULL) {
    int r = pt_wait_running(lc);
    if (r != 1) fprintf(stderr, "pt_libctx: the framework path is not up (%d)\n", r);
  }
  return lc;
}

/* pt_errs returns the error queue as one string (and clears it). */
static inline const char *pt_errs(void) {
  static char buf[4096];
  size_t off = 0;
  buf[0] = '\0';
  const char *data;
  int flags;
  unsigned long e;
  while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0 && off < sizeof(buf) - 1) {
    char one[256];
    ERR_error_string_n(e, one, sizeof(one));
    int n = snprintf(buf + off, sizeof(buf) - off, "%s%s%s%s", off ? " | " : "", one,
                     (flags & ERR_TXT_STRING) && data ? ": " : "",
                     (flags & ERR_TXT_STRING) && data ? data : "");
    if (n < 0) break;
    off += (size_t)n < sizeof(buf) - off ? (size_t)n : sizeof(buf) - off - 1;
  }
  return buf;
}

#endif /* OCF_PROVIDER_TEST_H */
