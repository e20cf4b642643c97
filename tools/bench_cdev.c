/* bench_cdev.c - the "cdev" path of `ocf bench --via ocfd` / `--ocfd`: a
 * program driving /dev/crypto the way cryptodev-linux programs and
 * OpenSSL's devcrypto engine do (CIOCGSESSION, then one CIOCCRYPT at a time,
 * each waiting for its answer; AEADs through CIOCAUTHCRYPT), run under
 * LD_PRELOAD=libocfpreload.so against the daemon.
 *
 * The program is this executable again, started with the shim preloaded and
 * the hidden option --cdev-child of `ocf bench`: it runs the loop for the
 * round's time and writes what it measured into a pipe.  Its own timing
 * leaves out the start of the process and of the session. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <ocf/cryptodev.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "bench_cdev.h"

/* What the child reports. */
struct cdev_report {
  int err;
  char msg[160];
  char driver[64];
  uint64_t ops;
  double seconds, p50_us, p99_us;
};

/* cdev_id maps a bench algorithm to its cryptodev id (0 = none); *mac tells
 * which field of session_op takes it. */
static uint32_t cdev_id(const struct bench_alg *a, int *mac) {
  static const struct {
    enum ocf_alg alg;
    uint32_t id;
    int mac;
  } map[] = {
      {OCF_ALG_NULL, CRYPTO_NULL, 0},
      {OCF_ALG_DES_CBC, CRYPTO_DES_CBC, 0},
      {OCF_ALG_3DES_CBC, CRYPTO_3DES_CBC, 0},
      {OCF_ALG_AES_CBC, CRYPTO_AES_CBC, 0},
      {OCF_ALG_AES_CTR, CRYPTO_AES_CTR, 0},
      {OCF_ALG_AES_XTS, CRYPTO_AES_XTS, 0},
      {OCF_ALG_AES_ECB, CRYPTO_AES_ECB, 0},
      {OCF_ALG_AES_GCM, CRYPTO_AES_GCM, 0},
      {OCF_ALG_BLOWFISH_CBC, CRYPTO_BLF_CBC, 0},
      {OCF_ALG_CAST5_CBC, CRYPTO_CAST_CBC, 0},
      {OCF_ALG_HMAC_MD5, CRYPTO_MD5_HMAC, 1},
      {OCF_ALG_HMAC_SHA1, CRYPTO_SHA1_HMAC, 1},
      {OCF_ALG_HMAC_SHA2_224, CRYPTO_SHA2_224_HMAC, 1},
      {OCF_ALG_HMAC_SHA2_256, CRYPTO_SHA2_256_HMAC, 1},
      {OCF_ALG_HMAC_SHA2_384, CRYPTO_SHA2_384_HMAC, 1},
      {OCF_ALG_HMAC_SHA2_512, CRYPTO_SHA2_512_HMAC, 1},
      {OCF_ALG_MD5, CRYPTO_MD5, 1},
      {OCF_ALG_SHA1, CRYPTO_SHA1, 1},
      {OCF_ALG_SHA2_224, CRYPTO_SHA2_224, 1},
      {OCF_ALG_SHA2_256, CRYPTO_SHA2_256, 1},
      {OCF_ALG_SHA2_384, CRYPTO_SHA2_384, 1},
      {OCF_ALG_SHA2_512, CRYPTO_SHA2_512, 1},
  };
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
    if (map[i].alg == a->alg) {
      *mac = map[i].mac;
      return map[i].id;
    }
  return 0;
}

static void hex_out(char *out, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", p[i]);
  out[2 * n] = '\0';
}

static size_t hex_in(const char *s, uint8_t *out, size_t cap) {
  size_t n = strlen(s) / 2;
  if (n > cap) n = cap;
  for (size_t i = 0; i < n; i++) {
    unsigned v = 0;
    sscanf(s + 2 * i, "%2x", &v);
    out[i] = (uint8_t)v;
  }
  return n;
}

/* find_preload: $OCF_PRELOAD, else libocfpreload.so next to this executable
 * (the build directory) or in ../lib (an installed tree). */
static int find_preload(char *out, size_t cap) {
  const char *e = getenv("OCF_PRELOAD");
  if (e != NULL && *e) {
    snprintf(out, cap, "%s", e);
    return access(out, R_OK) == 0 ? 0 : ENOENT;
  }
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return errno ? errno : ENOENT;
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  if (slash) *slash = '\0';
  static const char *const rel[] = {"", "/../lib", "/../lib/x86_64-linux-gnu", "/../lib64"};
  for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
    int n2 = snprintf(out, cap, "%s%s/libocfpreload.so", exe, rel[i]);
    if (n2 > 0 && (size_t)n2 < cap && access(out, R_OK) == 0) return 0;
  }
  return ENOENT;
}

int bench_cdev_run(const char *sock, const struct bench_case *c, size_t size, double seconds,
                   struct bench_result *r, double *lat_w) {
  int mac1 = 0, mac2 = 0;
  uint32_t id1 = cdev_id(c->first, &mac1), id2 = c->second ? cdev_id(c->second, &mac2) : 0;
  if (id1 == 0 || (c->second && (id2 == 0 || !mac2 || mac1))) {
    snprintf(r->msg, sizeof(r->msg), "no cryptodev id for %s", c->name);
    r->skipped = 1;
    return ENOTSUP;
  }
  char pre[PATH_MAX];
  if (find_preload(pre, sizeof(pre)) != 0) {
    snprintf(r->msg, sizeof(r->msg), "no libocfpreload.so next to ocf (set $OCF_PRELOAD)");
    return ENOENT;
  }
  /* the cipher's key, and the MAC's: a lone MAC (or hash) has only the latter */
  char ckey[2 * sizeof(c->key1) + 1], mkey[2 * sizeof(c->key2) + 1], iv[2 * sizeof(c->iv1) + 1];
  hex_out(ckey, c->key1, mac1 ? 0 : c->first->keylen);
  if (mac1)
    hex_out(mkey, c->key1, c->first->keylen);
  else
    hex_out(mkey, c->key2, c->second ? c->second->keylen : 0);
  hex_out(iv, c->iv1, sizeof(c->iv1));
  int pfd[2];
  if (pipe(pfd) != 0) {
    snprintf(r->msg, sizeof(r->msg), "pipe: %s", strerror(errno));
    return errno;
  }
  char a_fd[16], a_c[16], a_m[16], a_size[32], a_secs[32];
  snprintf(a_fd, sizeof(a_fd), "%d", pfd[1]);
  snprintf(a_c, sizeof(a_c), "%u", mac1 ? 0 : id1);
  snprintf(a_m, sizeof(a_m), "%u", mac1 ? id1 : id2);
  snprintf(a_size, sizeof(a_size), "%zu", size);
  snprintf(a_secs, sizeof(a_secs), "%.6f", seconds);
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(pfd[0]);
    close(pfd[1]);
    snprintf(r->msg, sizeof(r->msg), "fork: %s", strerror(e));
    return e;
  }
  if (pid == 0) {
    close(pfd[0]);
    char asan[600];
    const char *ao = getenv("ASAN_OPTIONS");
    snprintf(asan, sizeof(asan), "%s%sverify_asan_link_order=0", ao ? ao : "", ao ? ":" : "");
    setenv("ASAN_OPTIONS", asan, 1);
    setenv("LD_PRELOAD", pre, 1);
    setenv("OCF_SOCKET", sock, 1);
    execl("/proc/self/exe", "ocf", "bench", "--cdev-child", a_fd, a_c, a_m, ckey, mkey, iv, a_size,
          a_secs, (char *)NULL);
    _exit(127);
  }
  close(pfd[1]);
  struct cdev_report rep;
  memset(&rep, 0, sizeof(rep));
  size_t got = 0;
  while (got < sizeof(rep)) {
    ssize_t n = read(pfd[0], (char *)&rep + got, sizeof(rep) - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(pfd[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (got != sizeof(rep)) {
    snprintf(r->msg, sizeof(r->msg), "the cryptodev program ended without a result (status %d)",
             WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    return EIO;
  }
  if (rep.err != 0) {
    snprintf(r->msg, sizeof(r->msg), "%.150s", rep.msg);
    return rep.err;
  }
  /* "cbc(aes)-ocf-soft": the producer is what follows "-ocf-" */
  const char *p = strstr(rep.driver, "-ocf-");
  snprintf(r->producer, sizeof(r->producer), "%s", p ? p + 5 : rep.driver);
  r->ops += rep.ops;
  r->elapsed += rep.seconds;
  lat_w[0] += rep.p50_us * (double)rep.ops;
  lat_w[1] += rep.p99_us * (double)rep.ops;
  return 0;
}

/* --- the child: a cryptodev program ---------------------------------------- */

static int child_fail(int fd, struct cdev_report *rep, int err, const char *what) {
  rep->err = err ? err : EIO;
  snprintf(rep->msg, sizeof(rep->msg), "%s: %s", what, strerror(rep->err));
  if (write(fd, rep, sizeof(*rep)) != (ssize_t)sizeof(*rep)) return 2;
  return 1;
}

int bench_cdev_child(int argc, char **argv) {
  if (argc != 9) return 2;
  int out = atoi(argv[1]);
  uint32_t cipher = (uint32_t)strtoul(argv[2], NULL, 10),
           mac = (uint32_t)strtoul(argv[3], NULL, 10);
  uint8_t key[64], mkey[64], iv0[16], iv[16], tag[64];
  size_t klen = hex_in(argv[4], key, sizeof(key)), mklen = hex_in(argv[5], mkey, sizeof(mkey));
  hex_in(argv[6], iv0, sizeof(iv0));
  size_t size = strtoul(argv[7], NULL, 10);
  double seconds = atof(argv[8]);
  struct cdev_report rep;
  memset(&rep, 0, sizeof(rep));
  int fd = open("/dev/crypto", O_RDWR | O_CLOEXEC);
  if (fd < 0) return child_fail(out, &rep, errno, "open /dev/crypto");
  struct session_op sop = {.cipher = cipher,
                           .mac = mac,
                           .keylen = (uint32_t)klen,
                           .key = klen ? key : NULL,
                           .mackeylen = (uint32_t)mklen,
                           .mackey = mklen ? mkey : NULL};
  if (ioctl(fd, CIOCGSESSION, &sop) != 0) return child_fail(out, &rep, errno, "CIOCGSESSION");
  struct session_info_op si = {.ses = sop.ses};
  if (ioctl(fd, CIOCGSESSINFO, &si) == 0)
    snprintf(rep.driver, sizeof(rep.driver), "%s",
             cipher ? si.cipher_info.cra_driver_name : si.hash_info.cra_driver_name);
  bool aead = cipher == CRYPTO_AES_GCM;
  uint8_t *src = bench_alloc(size + 64), *dst = bench_alloc(size + 64);
  for (size_t i = 0; i < size; i++) src[i] = (uint8_t)(i * 13 + 5);
  struct crypt_op cop = {.ses = sop.ses,
                         .op = COP_ENCRYPT,
                         .flags = COP_FLAG_WRITE_IV,
                         .len = (uint32_t)size,
                         .src = src,
                         .dst = cipher ? dst : NULL,
                         .mac = mac ? tag : NULL,
                         .iv = iv};
  struct crypt_auth_op aop = {.ses = sop.ses,
                              .op = COP_ENCRYPT,
                              .len = (uint32_t)size,
                              .src = src,
                              .dst = dst,
                              .iv = iv,
                              .iv_len = 12};
  struct sampler samp;
  if (sampler_init(&samp, BENCH_SAMPLE_CAP) != 0) return child_fail(out, &rep, ENOMEM, "sampler");
  /* A short unmeasured run first: the region, the rings, the pages. */
  uint64_t t = bench_now_ns(), warm_end = t + 20000000u, t0 = 0, end = 0;
  uint64_t n = 0;
  int rc = 0;
  for (;;) {
    memcpy(iv, iv0, sizeof(iv));
    if (aead) aop.len = (uint32_t)size;
    uint64_t a = t;
    if (ioctl(fd, aead ? CIOCAUTHCRYPT : CIOCCRYPT, aead ? (void *)&aop : (void *)&cop) != 0) {
      rc = errno;
      break;
    }
    t = bench_now_ns();
    if (t0 == 0) {
      if (t < warm_end) continue;
      t0 = t;
      end = t0 + (uint64_t)(seconds * 1e9);
      continue;
    }
    sampler_add(&samp, t - a);
    n++;
    if (t >= end) break;
  }
  close(fd);
  free(src);
  free(dst);
  if (rc != 0) {
    sampler_free(&samp);
    return child_fail(out, &rep, rc, aead ? "CIOCAUTHCRYPT" : "CIOCCRYPT");
  }
  struct sampler *sp = &samp;
  sampler_percentiles(&sp, 1, &rep.p50_us, &rep.p99_us);
  sampler_free(&samp);
  rep.ops = n;
  rep.seconds = (double)(t - t0) / 1e9;
  return write(out, &rep, sizeof(rep)) == (ssize_t)sizeof(rep) ? 0 : 1;
}
