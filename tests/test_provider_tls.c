/*
 * test_provider_tls.c - TLS end to end over ocf.so: a libssl server and
 * client in one process, on a loopback TCP connection, their library
 * context configured with ocf.so preferred (default_properties =
 * ?provider=ocf) beside the default provider, as the shipped openssl.cnf
 * fragment does.  TLS 1.3 with AES-128-GCM and ChaCha20-Poly1305, TLS 1.2
 * with ECDHE-RSA-AES128-GCM-SHA256, ECDHE-RSA-AES128-SHA (encrypt-then-MAC)
 * and ECDHE-RSA-AES256-SHA384 (MAC-then-encrypt, the provider's CBC record
 * mode): a handshake, 20 MB from the client and 2 MB back, checksums
 * compared.  The framework's own counters (ocf_driver_stats, which `ocf
 * stat` prints; ocfdev_stats, which `ocf stat --ocfd` prints) must show
 * the records and the handshake's public-key operations.  Once in-process,
 * once through a spawned ocfd; in-process also with the server in async
 * mode (SSL_MODE_ASYNC: its requests pause its jobs).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/async.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>
#include <time.h>
#include <zlib.h>

// clang-format off
#include <cmocka.h>
// clang-format on

#include "provider_test.h"
#include "test_ocfd_util.h"

static size_t up_bytes = 20 << 20, down_bytes = 2 << 20;

struct suite {
  const char *name;
  int tls13;
  const char *ciphers;
  int no_etm;
};

static const struct suite suites[] = {
    {"TLS 1.3 AES-128-GCM", 1, "TLS_AES_128_GCM_SHA256", 0},
    {"TLS 1.3 ChaCha20-Poly1305", 1, "TLS_CHACHA20_POLY1305_SHA256", 0},
    {"TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256", 0, "ECDHE-RSA-AES128-GCM-SHA256", 0},
    {"TLS 1.2 ECDHE-RSA-AES128-SHA", 0, "ECDHE-RSA-AES128-SHA", 0},
    {"TLS 1.2 ECDHE-RSA-AES256-SHA384 (MAC then encrypt)", 0, "ECDHE-RSA-AES256-SHA384", 1},
};

static EVP_PKEY *key;
static X509 *cert;

static void make_cert(OSSL_LIB_CTX *lc) {
  EVP_PKEY_free(key);
  X509_free(cert);
  key = EVP_PKEY_Q_keygen(lc, "provider=default", "RSA", (size_t)2048);
  cert = X509_new_ex(lc, NULL);
  assert_non_null(key);
  assert_non_null(cert);
  X509_set_version(cert, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_NAME *n = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
  X509_set_issuer_name(cert, n);
  X509_set_pubkey(cert, key);
  EVP_MD_CTX *m = EVP_MD_CTX_new();
  assert_true(EVP_DigestSignInit_ex(m, NULL, "SHA256", lc, "provider=default", key, NULL) == 1);
  assert_true(X509_sign_ctx(cert, m) > 0);
  EVP_MD_CTX_free(m);
}

/* --- blocking I/O, async-aware ----------------------------------------------- */

/* ssl_call retries an SSL call while it wants an async job resumed,
 * waiting on the job's descriptors as an event loop would. */
static int ssl_call(SSL *s, int (*fn)(SSL *, void *, int), void *buf, int len) {
  for (;;) {
    int r = fn(s, buf, len);
    if (r > 0) return r;
    int e = SSL_get_error(s, r);
    if (e != SSL_ERROR_WANT_ASYNC) return r;
    size_t n = 0;
    SSL_get_all_async_fds(s, NULL, &n);
    OSSL_ASYNC_FD fds[8];
    if (n > 8) n = 8;
    SSL_get_all_async_fds(s, fds, &n);
    struct pollfd pf[8];
    for (size_t i = 0; i < n; i++) pf[i] = (struct pollfd){fds[i], POLLIN, 0};
    poll(pf, n, 1000);
  }
}

static int do_accept(SSL *s, void *b, int l) { return SSL_accept(s); }
static int do_read(SSL *s, void *b, int l) { return SSL_read(s, b, l); }
static int do_write(SSL *s, void *b, int l) { return SSL_write(s, b, l); }
static int do_shutdown(SSL *s, void *b, int l) { return SSL_shutdown(s) >= 0 ? 1 : -1; }

/* stream fills buf with the deterministic byte stream at offset off. */
static void stream(uint8_t *buf, size_t n, uint64_t off) {
  for (size_t i = 0; i < n; i++) {
    uint64_t x = (off + i) * 0x9E3779B97F4A7C15ULL;
    buf[i] = (uint8_t)(x >> 56);
  }
}

struct server {
  SSL_CTX *ctx;
  int lfd;
  int async;
  uLong crc; /* of what it received */
  size_t got;
  int ok;
  char err[512];
};

static void *server_main(void *arg) {
  struct server *sv = arg;
  int fd = accept(sv->lfd, NULL, NULL);
  SSL *s = SSL_new(sv->ctx);
  uint8_t *buf = malloc(65536);
  if (fd < 0 || s == NULL || buf == NULL) goto out;
  if (sv->async) SSL_set_mode(s, SSL_MODE_ASYNC);
  SSL_set_fd(s, fd);
  if (ssl_call(s, do_accept, NULL, 0) <= 0) {
    snprintf(sv->err, sizeof(sv->err), "accept: %s", pt_errs());
    goto out;
  }
  sv->crc = crc32(0, NULL, 0);
  while (sv->got < up_bytes) {
    int r = ssl_call(s, do_read, buf, 65536);
    if (r <= 0) {
      snprintf(sv->err, sizeof(sv->err), "read after %zu bytes: %s", sv->got, pt_errs());
      goto out;
    }
    sv->crc = crc32(sv->crc, buf, (uInt)r);
    sv->got += (size_t)r;
  }
  for (size_t sent = 0; sent < down_bytes;) {
    size_t n = down_bytes - sent < 16000 ? down_bytes - sent : 16000;
    stream(buf, n, sent ^ 0x5555);
    if (ssl_call(s, do_write, buf, (int)n) != (int)n) goto out;
    sent += n;
  }
  sv->ok = 1;
  ssl_call(s, do_shutdown, NULL, 0);
out:
  free(buf);
  SSL_free(s);
  if (fd >= 0) close(fd);
  ASYNC_cleanup_thread(); /* the thread's job pool (SSL_MODE_ASYNC) */
  return NULL;
}

static SSL_CTX *make_ctx(OSSL_LIB_CTX *lc, const struct suite *su, int server) {
  SSL_CTX *c = SSL_CTX_new_ex(lc, NULL, server ? TLS_server_method() : TLS_client_method());
  assert_non_null(c);
  SSL_CTX_set_min_proto_version(c, su->tls13 ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(c, su->tls13 ? TLS1_3_VERSION : TLS1_2_VERSION);
  if (su->tls13)
    assert_int_equal(SSL_CTX_set_ciphersuites(c, su->ciphers), 1);
  else
    assert_int_equal(SSL_CTX_set_cipher_list(c, su->ciphers), 1);
  if (su->no_etm) SSL_CTX_set_options(c, SSL_OP_NO_ENCRYPT_THEN_MAC);
  if (server) {
    assert_int_equal(SSL_CTX_use_certificate(c, cert), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(c, key), 1);
  }
  return c;
}

/* fw_total is what the framework served so far: in-process, the sum of
 * ocf_driver_stats; through the daemon, its answered requests. */
static uint64_t fw_total(const char *sock, uint64_t *kreq) {
  uint64_t t = 0;
  *kreq = 0;
  if (sock == NULL) {
    struct ocf_driver_stat st[32];
    int n = ocf_driver_stats(st, 32);
    for (int i = 0; i < n && i < 32; i++) {
      t += st[i].requests;
      *kreq += st[i].krequests;
    }
    return t;
  }
  struct ocfdev *d;
  struct ocfdev_stats *s;
  if (ocfdev_open(sock, &d) != 0) return 0;
  if (ocfdev_stats(d, &s) == 0) {
    for (int i = 0; i < s->nprod; i++) {
      t += s->prod[i].st.requests;
      *kreq += s->prod[i].st.krequests;
    }
    ocfdev_stats_free(s);
  }
  ocfdev_close(d);
  return t;
}

static void run_suite(OSSL_LIB_CTX *lc, const struct suite *su, const char *sock, int async) {
  struct server sv = {0};
  sv.ctx = make_ctx(lc, su, 1);
  sv.async = async;
  SSL_CTX *cc = make_ctx(lc, su, 0);
  sv.lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof(a);
  assert_int_equal(bind(sv.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(listen(sv.lfd, 1), 0);
  assert_int_equal(getsockname(sv.lfd, (struct sockaddr *)&a, &al), 0);
  uint64_t k0, f0 = fw_total(sock, &k0);
  uint64_t r0 = pt_stat(lc, "ocf-requests"), kr0 = pt_stat(lc, "ocf-krequests");
  uint64_t p0 = pt_stat(lc, "async-pauses");
  pthread_t th;
  pthread_create(&th, NULL, server_main, &sv);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  SSL *s = SSL_new(cc);
  SSL_set_fd(s, fd);
  int ok = SSL_connect(s) == 1;
  char cerr[512] = "";
  if (!ok) snprintf(cerr, sizeof(cerr), "handshake: %s", pt_errs());
  uint8_t *buf = malloc(65536);
  uLong crc = crc32(0, NULL, 0), back = crc32(0, NULL, 0);
  for (size_t sent = 0; ok && sent < up_bytes;) {
    size_t n = 1 + pt_below(65536);
    if (n > up_bytes - sent) n = up_bytes - sent;
    stream(buf, n, sent);
    crc = crc32(crc, buf, (uInt)n);
    ok = SSL_write(s, buf, (int)n) == (int)n;
    sent += n;
  }
  if (!ok && cerr[0] == '\0') snprintf(cerr, sizeof(cerr), "write: %s", pt_errs());
  size_t got = 0;
  while (ok && got < down_bytes) {
    int r = SSL_read(s, buf, 65536);
    ok = r > 0;
    if (ok) {
      back = crc32(back, buf, (uInt)r);
      got += (size_t)r;
    }
  }
  /* the server thread uses sv: it ends (the socket closed if need be)
   * before anything here may fail */
  if (!ok) shutdown(fd, SHUT_RDWR);
  pthread_join(th, NULL);
  if (!ok || !sv.ok) fail_msg("%s: transfer failed: %s / server: %s", su->name, cerr, sv.err);
  /* checksums: what the client sent, and what the server sent back */
  uLong want_back = crc32(0, NULL, 0);
  for (size_t off = 0; off < down_bytes; off += 16000) {
    size_t n = down_bytes - off < 16000 ? down_bytes - off : 16000;
    stream(buf, n, off ^ 0x5555);
    want_back = crc32(want_back, buf, (uInt)n);
  }
  if (sv.got != up_bytes || sv.crc != crc || back != want_back)
    fail_msg("%s: checksums differ (%zu bytes)", su->name, sv.got);
  SSL_shutdown(s);
  SSL_free(s);
  close(fd);
  close(sv.lfd);
  free(buf);
  SSL_CTX_free(sv.ctx);
  SSL_CTX_free(cc);
  uint64_t k1, f1 = fw_total(sock, &k1);
  uint64_t r1 = pt_stat(lc, "ocf-requests"), kr1 = pt_stat(lc, "ocf-krequests");
  uint64_t p1 = pt_stat(lc, "async-pauses");
  /* every record crossed the framework twice (sealed, opened) */
  uint64_t records = 2 * ((up_bytes + down_bytes) / 16384);
  printf(
      "%-52s %s%s: framework %llu requests (%llu by the provider), %llu public-key; "
      "async pauses %llu\n",
      su->name, sock ? "ocfd" : "in-process", async ? " async" : "", (unsigned long long)(f1 - f0),
      (unsigned long long)(r1 - r0), (unsigned long long)(k1 - k0), (unsigned long long)(p1 - p0));
  if (f1 - f0 < records || r1 - r0 < records)
    fail_msg("%s: %llu framework requests for %llu records", su->name,
             (unsigned long long)(f1 - f0), (unsigned long long)records);
  /* a signature, its verification and two key agreements */
  if (k1 - k0 < 4 || kr1 - kr0 < 4)
    fail_msg("%s: %llu public-key requests", su->name, (unsigned long long)(k1 - k0));
  if (async && p1 == p0) fail_msg("%s: the async server never paused", su->name);
}

static void t_inprocess(void **s) {
  OSSL_LIB_CTX *lc = pt_libctx("offload = always\n", 1, 1);
  assert_non_null(lc);
  make_cert(lc);
  for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
    run_suite(lc, &suites[i], NULL, 0);
  OSSL_LIB_CTX_free(lc);
}

static void t_inprocess_async(void **s) {
  OSSL_LIB_CTX *lc = pt_libctx("offload = always\n", 1, 1);
  assert_non_null(lc);
  make_cert(lc);
  run_suite(lc, &suites[0], NULL, 1);
  run_suite(lc, &suites[3], NULL, 1);
  OSSL_LIB_CTX_free(lc);
}

static void t_ocfd(void **s) {
  struct ocfd_proc d;
  assert_int_equal(ocfd_start(&d, "-w", "2", NULL), 0);
  char conf[256];
  snprintf(conf, sizeof(conf), "offload = always\nsocket = %s\n", d.sock);
  OSSL_LIB_CTX *lc = pt_libctx(conf, 1, 1);
  assert_non_null(lc);
  make_cert(lc);
  for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
    run_suite(lc, &suites[i], d.sock, i == 0);
  OSSL_LIB_CTX_free(lc);
  assert_int_equal(ocfd_stop(&d), 0);
}

static int teardown(void **state) {
  EVP_PKEY_free(key);
  X509_free(cert);
  return 0;
}

int main(void) {
  pt_seed();
  int sc = pt_scale();
  up_bytes /= (size_t)sc;
  down_bytes /= (size_t)sc;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_inprocess),
      cmocka_unit_test(t_inprocess_async),
      cmocka_unit_test(t_ocfd),
  };
  return cmocka_run_group_tests(tests, NULL, teardown);
}
