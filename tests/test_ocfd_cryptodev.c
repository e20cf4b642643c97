/* test_ocfd_cryptodev.c - programs written against the released cryptodev ABI, run
 * under LD_PRELOAD=libocfpreload.so against a spawned ocfd.  Each cmocka test
 * re-executes this binary with the shim preloaded and a scenario name; the
 * scenario checks results against OpenSSL computed independently, and the
 * errno values the Linux cryptodev module returns. */
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

CDEV_ABI_STATIC_ASSERTS();

static const char *self;
static int fails;

#define CHECK(cond, ...)                                         \
  do {                                                           \
    if (!(cond)) {                                               \
      fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                              \
      fprintf(stderr, "\n");                                     \
      fails++;                                                   \
    }                                                            \
  } while (0)
#define ERRNO_IS(call, e) CHECK((call) == -1 && errno == (e), "want errno %d, got %d", e, errno)
#define OK(call) CHECK((call) == 0, "errno %d (%s)", errno, strerror(errno))

/* --- independent references (OpenSSL) ------------------------------------ */

static void ref_cipher(const EVP_CIPHER *c, const uint8_t *key, const uint8_t *iv, int enc,
                       const uint8_t *in, int len, uint8_t *out) {
  EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
  int n1 = 0, n2 = 0;
  EVP_CipherInit_ex(x, c, NULL, key, iv, enc);
  EVP_CIPHER_CTX_set_padding(x, 0);
  EVP_CipherUpdate(x, out, &n1, in, len);
  EVP_CipherFinal_ex(x, out + n1, &n2);
  EVP_CIPHER_CTX_free(x);
}

static void ref_gcm(const uint8_t *key, const uint8_t *iv, const uint8_t *aad, int alen,
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

static void fill(uint8_t *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 8));
}

static int devopen(void) {
  int fd = open("/dev/crypto", O_RDWR);
  CHECK(fd >= 0, "open /dev/crypto: %s", strerror(errno));
  return fd;
}

static uint32_t mksess(int fd, uint32_t cipher, const void *key, uint32_t klen, uint32_t mac,
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

static int cryptop(int fd, uint32_t ses, int op, uint16_t flags, const void *src, void *dst,
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

/* --- scenarios ------------------------------------------------------------ */

static void sc_cbc(void) {
  int fd = devopen();
  uint8_t key[16], iv[16], pt[256], ct[256], ref[256], back[256];
  fill(key, 16, 1);
  fill(iv, 16, 2);
  fill(pt, 256, 3);
  uint32_t ses = mksess(fd, CRYPTO_AES_CBC, key, 16, 0, NULL, 0);
  uint8_t ivc[16];
  memcpy(ivc, iv, 16);
  OK(cryptop(fd, ses, COP_ENCRYPT, 0, pt, ct, 256, NULL, ivc));
  ref_cipher(EVP_aes_128_cbc(), key, iv, 1, pt, 256, ref);
  CHECK(memcmp(ct, ref, 256) == 0, "AES-CBC ciphertext differs from OpenSSL");
  CHECK(memcmp(ivc, iv, 16) == 0, "IV changed without COP_FLAG_WRITE_IV");
  OK(cryptop(fd, ses, COP_DECRYPT, 0, ct, back, 256, NULL, ivc));
  CHECK(memcmp(back, pt, 256) == 0, "AES-CBC decryption does not round-trip");
  /* WRITE_IV: the next IV is the last ciphertext block. */
  OK(cryptop(fd, ses, COP_ENCRYPT, COP_FLAG_WRITE_IV, pt, ct, 128, NULL, ivc));
  CHECK(memcmp(ivc, ref + 112, 16) == 0, "COP_FLAG_WRITE_IV did not return the next IV");
  /* IV absent: continue the chain from the previous request. */
  OK(cryptop(fd, ses, COP_ENCRYPT, 0, pt + 128, ct + 128, 128, NULL, NULL));
  CHECK(memcmp(ct, ref, 256) == 0, "IV-less request did not continue the CBC chain");
  /* errors */
  ERRNO_IS(cryptop(fd, ses, COP_ENCRYPT, 0, pt, ct, 17, NULL, iv), EINVAL);
  ERRNO_IS(cryptop(fd, ses, 2, 0, pt, ct, 16, NULL, iv), EINVAL);
  ERRNO_IS(cryptop(fd, ses + 1000, COP_ENCRYPT, 0, pt, ct, 16, NULL, iv), EINVAL);
  struct session_op bad = {0};
  ERRNO_IS(ioctl(fd, CIOCGSESSION, &bad), EINVAL);
  bad.cipher = 999;
  ERRNO_IS(ioctl(fd, CIOCGSESSION, &bad), EINVAL);
  bad.cipher = CRYPTO_AES_CBC;
  bad.keylen = 15;
  bad.key = key;
  ERRNO_IS(ioctl(fd, CIOCGSESSION, &bad), EINVAL);
  ERRNO_IS(ioctl(fd, 0xdead, &bad), EINVAL);
  /* session info: written into exactly the program's 268 bytes */
  union {
    struct session_info_op si;
    uint8_t raw[sizeof(struct session_info_op) + 160];
  } u;
  memset(u.raw, 0x5c, sizeof(u.raw));
  u.si.ses = ses;
  OK(ioctl(fd, CIOCGSESSINFO, &u.si));
  struct session_info_op si = u.si;
  CHECK(strcmp(si.cipher_info.cra_name, "cbc(aes)") == 0, "cra_name %s", si.cipher_info.cra_name);
  CHECK(strstr(si.cipher_info.cra_driver_name, "soft") != NULL, "driver %s",
        si.cipher_info.cra_driver_name);
  CHECK(si.hash_info.cra_name[0] == 0, "hash name %s on a cipher session", si.hash_info.cra_name);
  CHECK(!(si.flags & SIOP_FLAG_KERNEL_DRIVER_ONLY), "software flagged as hardware");
  for (size_t i = sizeof(struct session_info_op); i < sizeof(u.raw); i++)
    if (u.raw[i] != 0x5c) {
      CHECK(0, "CIOCGSESSINFO wrote byte %zu, past the 268-byte struct", i);
      break;
    }
  uint32_t s32 = ses;
  OK(ioctl(fd, CIOCFSESSION, &s32));
  ERRNO_IS(ioctl(fd, CIOCFSESSION, &s32), ENOENT);
  ERRNO_IS(cryptop(fd, ses, COP_ENCRYPT, 0, pt, ct, 16, NULL, iv), EINVAL);
  OK(close(fd));
}

static void sc_null_ctr(void) {
  int fd = devopen();
  uint8_t pt[100], out[100];
  fill(pt, 100, 4);
  uint32_t ses = mksess(fd, CRYPTO_NULL, NULL, 0, 0, NULL, 0);
  OK(cryptop(fd, ses, COP_ENCRYPT, 0, pt, out, 100, NULL, NULL));
  CHECK(memcmp(pt, out, 100) == 0, "NULL cipher changed the data");
  uint8_t key[16], iv[16], ct[100], ref[100];
  fill(key, 16, 5);
  fill(iv, 16, 6);
  iv[15] = 0xff; /* make the counter carry */
  ses = mksess(fd, CRYPTO_AES_CTR, key, 16, 0, NULL, 0);
  ref_cipher(EVP_aes_128_ctr(), key, iv, 1, pt, 100, ref);
  uint8_t ivc[16];
  memcpy(ivc, iv, 16);
  OK(cryptop(fd, ses, COP_ENCRYPT, COP_FLAG_WRITE_IV, pt, ct, 32, NULL, ivc));
  OK(cryptop(fd, ses, COP_ENCRYPT, 0, pt + 32, ct + 32, 68, NULL, NULL));
  CHECK(memcmp(ct, ref, 100) == 0, "AES-CTR in two parts differs from OpenSSL");
  OK(close(fd));
}

/* Every id of the released header: those libocf serves work, checked
 * against OpenSSL; the others fail as the kernel module fails for an
 * algorithm it has no transform for, with EINVAL from CIOCGSESSION. */
static void sc_ids(void) {
  int fd = devopen();
  uint8_t key[32], pt[160], ct[160], ref[160], back[160];
  fill(key, 32, 40);
  fill(pt, sizeof(pt), 41);
  static const struct {
    uint32_t id;
    uint32_t klen;
    const EVP_CIPHER *(*evp)(void);
  } ecb[] = {{CRYPTO_AES_ECB, 16, EVP_aes_128_ecb},
             {CRYPTO_AES_ECB, 24, EVP_aes_192_ecb},
             {CRYPTO_AES_ECB, 32, EVP_aes_256_ecb}};
  for (size_t i = 0; i < sizeof(ecb) / sizeof(ecb[0]); i++) {
    uint32_t ses = mksess(fd, ecb[i].id, key, ecb[i].klen, 0, NULL, 0);
    uint8_t junk_iv[16] = {1}; /* ECB ignores an IV, as the kernel does */
    OK(cryptop(fd, ses, COP_ENCRYPT, 0, pt, ct, sizeof(pt), NULL, junk_iv));
    ref_cipher(ecb[i].evp(), key, NULL, 1, pt, sizeof(pt), ref);
    CHECK(memcmp(ct, ref, sizeof(pt)) == 0, "AES-%u-ECB differs from OpenSSL", ecb[i].klen * 8);
    OK(cryptop(fd, ses, COP_DECRYPT, 0, ct, back, sizeof(pt), NULL, NULL));
    CHECK(memcmp(back, pt, sizeof(pt)) == 0, "AES-ECB decryption does not round-trip");
    ERRNO_IS(cryptop(fd, ses, COP_ENCRYPT, 0, pt, ct, 24, NULL, NULL), EINVAL);
    struct session_info_op si = {.ses = ses};
    OK(ioctl(fd, CIOCGSESSINFO, &si));
    CHECK(strcmp(si.cipher_info.cra_name, "ecb(aes)") == 0, "cra_name %s", si.cipher_info.cra_name);
  }
  struct session_op bad = {.keylen = 15, .key = key};
  bad.cipher = CRYPTO_AES_ECB;
  ERRNO_IS(ioctl(fd, CIOCGSESSION, &bad), EINVAL);
  static const uint32_t no_cipher[] = {CRYPTO_SKIPJACK_CBC,
                                       CRYPTO_ARC4,
                                       CRYPTO_DEFLATE_COMP,
                                       CRYPTO_LZS_COMP,
                                       CRYPTO_CAMELLIA_CBC,
                                       CRYPTO_TLS11_AES_CBC_HMAC_SHA1,
                                       CRYPTO_TLS12_AES_CBC_HMAC_SHA256,
                                       CRYPTO_ALGORITHM_ALL,
                                       CRYPTO_MD5 /* a hash is no cipher */};
  for (size_t i = 0; i < sizeof(no_cipher) / sizeof(no_cipher[0]); i++) {
    struct session_op s = {.cipher = no_cipher[i], .keylen = 16, .key = key};
    errno = 0;
    CHECK(ioctl(fd, CIOCGSESSION, &s) == -1 && errno == EINVAL, "cipher id %u: errno %d",
          no_cipher[i], errno);
  }
  static const uint32_t no_mac[] = {CRYPTO_RIPEMD160_HMAC, CRYPTO_RIPEMD160, CRYPTO_MD5_KPDK,
                                    CRYPTO_SHA1_KPDK, CRYPTO_AES_CBC /* a cipher is no MAC */};
  for (size_t i = 0; i < sizeof(no_mac) / sizeof(no_mac[0]); i++) {
    struct session_op s = {.mac = no_mac[i], .mackeylen = 20, .mackey = key};
    errno = 0;
    CHECK(ioctl(fd, CIOCGSESSION, &s) == -1 && errno == EINVAL, "mac id %u: errno %d", no_mac[i],
          errno);
  }
  OK(close(fd));
}

/* Many sessions on one descriptor, two in three closed in a scattered order
 * and a hundred more opened (the shim and the daemon find sessions through
 * tables by id, which a close must not break for the others): each session
 * encrypts with its own key (checked against OpenSSL), a closed one is
 * EINVAL, as the kernel module answers for an unknown session. */
#define MANY 2000
static void sc_many(void) {
  int fd = devopen();
  static uint32_t ses[MANY + 100];
  static bool gone[MANY + 100];
  uint8_t key[16], iv[16] = {0}, pt[32], ct[32], ref[32];
  fill(pt, sizeof(pt), 7);
  for (int i = 0; i < MANY + 100; i++) {
    if (i == MANY) /* the closes, between the first MANY and the last 100 */
      for (int k = 0; k < MANY; k++) {
        int j = (int)(((unsigned)k * 7919u) % MANY); /* 7919 is prime: a permutation */
        if (j % 3 == 0) continue;
        OK(ioctl(fd, CIOCFSESSION, &ses[j]));
        gone[j] = true;
      }
    fill(key, 16, (unsigned)i);
    ses[i] = mksess(fd, CRYPTO_AES_CBC, key, 16, 0, NULL, 0);
  }
  for (int i = 0; i < MANY + 100; i++) {
    if (gone[i]) {
      ERRNO_IS(cryptop(fd, ses[i], COP_ENCRYPT, 0, pt, ct, sizeof(pt), NULL, iv), EINVAL);
      struct session_info_op si = {.ses = ses[i]};
      ERRNO_IS(ioctl(fd, CIOCGSESSINFO, &si), EINVAL);
      continue;
    }
    fill(key, 16, (unsigned)i);
    OK(cryptop(fd, ses[i], COP_ENCRYPT, 0, pt, ct, sizeof(pt), NULL, iv));
    ref_cipher(EVP_aes_128_cbc(), key, iv, 1, pt, sizeof(pt), ref);
    CHECK(memcmp(ct, ref, sizeof(pt)) == 0, "session %d of %d encrypts with another key", i,
          MANY + 100);
  }
  OK(close(fd));
}

/* Synchronous requests go through a shared-memory region of the
 * connection: sizes that make it grow, a forked child and its parent
 * hammering the same descriptor at once (each must get its own region, not
 * share the parent's pages), and, with a daemon that grants no shared memory
 * (stage_noshm), the same requests through the socket. */
static void sc_stage(void) {
  int fd = devopen();
  uint8_t key[16], iv[16];
  fill(key, 16, 50);
  fill(iv, 16, 51);
  uint32_t ses = mksess(fd, CRYPTO_AES_CBC, key, 16, 0, NULL, 0);
  static const size_t sizes[] = {16, 65536, 200 * 1024, 1 << 20, 64, 1 << 20};
  size_t max = 1 << 20;
  uint8_t *pt = malloc(max), *ct = malloc(max), *ref = malloc(max);
  for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
    fill(pt, sizes[k], 52 + (unsigned)k);
    ref_cipher(EVP_aes_128_cbc(), key, iv, 1, pt, (int)sizes[k], ref);
    memset(ct, 0, sizes[k]);
    OK(cryptop(fd, ses, COP_ENCRYPT, 0, pt, ct, (uint32_t)sizes[k], NULL, iv));
    CHECK(memcmp(ct, ref, sizes[k]) == 0, "AES-CBC of %zu bytes differs from OpenSSL", sizes[k]);
  }
  /* in place, as most programs do it */
  fill(pt, 4096, 60);
  ref_cipher(EVP_aes_128_cbc(), key, iv, 1, pt, 4096, ref);
  OK(cryptop(fd, ses, COP_ENCRYPT, 0, pt, pt, 4096, NULL, iv));
  CHECK(memcmp(pt, ref, 4096) == 0, "in-place AES-CBC differs from OpenSSL");
  /* parent and child at once, different data */
  uint8_t a[4096], b[4096], ra[4096], rb[4096], out[4096];
  fill(a, sizeof(a), 61);
  fill(b, sizeof(b), 62);
  ref_cipher(EVP_aes_128_cbc(), key, iv, 1, a, sizeof(a), ra);
  ref_cipher(EVP_aes_128_cbc(), key, iv, 1, b, sizeof(b), rb);
  pid_t pid = fork();
  if (pid == 0) {
    int bad = 0;
    for (int i = 0; i < 300 && !bad; i++)
      bad = cryptop(fd, ses, COP_ENCRYPT, 0, b, out, sizeof(b), NULL, iv) != 0 ||
            memcmp(out, rb, sizeof(b)) != 0;
    _exit(bad);
  }
  for (int i = 0; i < 300; i++) {
    memset(out, 0, sizeof(out));
    if (cryptop(fd, ses, COP_ENCRYPT, 0, a, out, sizeof(a), NULL, iv) != 0 ||
        memcmp(out, ra, sizeof(a)) != 0) {
      CHECK(0, "parent request %d wrong while a child used the descriptor", i);
      break;
    }
  }
  int st;
  waitpid(pid, &st, 0);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child requests wrong beside the parent's");
  /* a cipher+MAC session on the same path */
  uint8_t mkey[20], md[32], hm[32];
  fill(mkey, 20, 63);
  uint32_t cm = mksess(fd, CRYPTO_AES_CBC, key, 16, CRYPTO_SHA2_256_HMAC, mkey, 20);
  OK(cryptop(fd, cm, COP_ENCRYPT, 0, a, out, sizeof(a), md, iv));
  unsigned hl;
  HMAC(EVP_sha256(), mkey, 20, a, sizeof(a), hm, &hl);
  CHECK(memcmp(out, ra, sizeof(a)) == 0 && memcmp(md, hm, 32) == 0, "AES-CBC + HMAC wrong");
  free(pt);
  free(ct);
  free(ref);
  OK(close(fd));
}

static void sc_hash(void) {
  int fd = devopen();
  uint8_t msg[1000], md[64], ref[64];
  fill(msg, sizeof(msg), 7);
  uint32_t h = mksess(fd, 0, NULL, 0, CRYPTO_SHA2_256, NULL, 0);
  OK(cryptop(fd, h, COP_ENCRYPT, 0, msg, NULL, 1000, md, NULL));
  unsigned rl;
  EVP_Digest(msg, 1000, ref, &rl, EVP_sha256(), NULL);
  CHECK(memcmp(md, ref, 32) == 0, "SHA-256 differs from OpenSSL");
  /* multi-part: UPDATE, UPDATE, FINAL */
  memset(md, 0, sizeof(md));
  OK(cryptop(fd, h, COP_ENCRYPT, COP_FLAG_UPDATE | COP_FLAG_RESET, msg, NULL, 300, md, NULL));
  OK(cryptop(fd, h, COP_ENCRYPT, COP_FLAG_UPDATE, msg + 300, NULL, 300, md, NULL));
  OK(cryptop(fd, h, COP_ENCRYPT, COP_FLAG_FINAL, msg + 600, NULL, 400, md, NULL));
  CHECK(memcmp(md, ref, 32) == 0, "multi-part SHA-256 differs from one-shot");
  /* RESET drops what was gathered */
  OK(cryptop(fd, h, COP_ENCRYPT, COP_FLAG_UPDATE, msg, NULL, 10, md, NULL));
  OK(cryptop(fd, h, COP_ENCRYPT, COP_FLAG_UPDATE | COP_FLAG_RESET, msg, NULL, 600, md, NULL));
  OK(cryptop(fd, h, COP_ENCRYPT, COP_FLAG_UPDATE, msg + 600, NULL, 400, md, NULL));
  OK(cryptop(fd, h, COP_ENCRYPT, COP_FLAG_UPDATE, NULL, NULL, 0, md, NULL)); /* len 0: final */
  CHECK(memcmp(md, ref, 32) == 0, "RESET / zero-length final wrong");
  /* HMAC-SHA1 */
  uint8_t k[20];
  fill(k, 20, 8);
  uint32_t m = mksess(fd, 0, NULL, 0, CRYPTO_SHA1_HMAC, k, 20);
  OK(cryptop(fd, m, COP_ENCRYPT, 0, msg, NULL, 1000, md, NULL));
  HMAC(EVP_sha1(), k, 20, msg, 1000, ref, &rl);
  CHECK(memcmp(md, ref, 20) == 0, "HMAC-SHA1 differs from OpenSSL");
  /* CIOCCPHASH: copy a partial state, continue both */
  uint32_t a = mksess(fd, 0, NULL, 0, CRYPTO_SHA2_256, NULL, 0);
  uint32_t b = mksess(fd, 0, NULL, 0, CRYPTO_SHA2_256, NULL, 0);
  OK(cryptop(fd, a, COP_ENCRYPT, COP_FLAG_UPDATE | COP_FLAG_RESET, "abc", NULL, 3, md, NULL));
  struct cphash_op cp = {.dst_ses = b, .src_ses = a};
  OK(ioctl(fd, CIOCCPHASH, &cp));
  OK(cryptop(fd, b, COP_ENCRYPT, COP_FLAG_FINAL, "def", NULL, 3, md, NULL));
  EVP_Digest("abcdef", 6, ref, &rl, EVP_sha256(), NULL);
  CHECK(memcmp(md, ref, 32) == 0, "CIOCCPHASH copy did not carry the state");
  OK(cryptop(fd, a, COP_ENCRYPT, COP_FLAG_FINAL, NULL, NULL, 0, md, NULL));
  EVP_Digest("abc", 3, ref, &rl, EVP_sha256(), NULL);
  CHECK(memcmp(md, ref, 32) == 0, "CIOCCPHASH disturbed the source");
  cp.src_ses = b;
  ERRNO_IS(ioctl(fd, CIOCCPHASH, &cp), EDEADLK);
  /* cipher + MAC: the MAC covers the plaintext */
  uint8_t key[16], iv[16], ct[64], ctr[64];
  fill(key, 16, 9);
  fill(iv, 16, 10);
  uint32_t cm = mksess(fd, CRYPTO_AES_CBC, key, 16, CRYPTO_SHA2_256_HMAC, k, 20);
  OK(cryptop(fd, cm, COP_ENCRYPT, 0, msg, ct, 64, md, iv));
  ref_cipher(EVP_aes_128_cbc(), key, iv, 1, msg, 64, ctr);
  HMAC(EVP_sha256(), k, 20, msg, 64, ref, &rl);
  CHECK(memcmp(ct, ctr, 64) == 0 && memcmp(md, ref, 32) == 0, "cipher+MAC session wrong");
  OK(cryptop(fd, cm, COP_DECRYPT, 0, ct, ctr, 64, md, iv));
  CHECK(memcmp(ctr, msg, 64) == 0 && memcmp(md, ref, 32) == 0, "cipher+MAC decrypt wrong");
  OK(close(fd));
}

static void sc_aead(void) {
  int fd = devopen();
  uint8_t key[16], iv[12], aad[20], pt[100], out[116], ref[100], tag[16], back[116];
  fill(key, 16, 11);
  fill(iv, 12, 12);
  fill(aad, 20, 13);
  fill(pt, 100, 14);
  uint32_t ses = mksess(fd, CRYPTO_AES_GCM, key, 16, 0, NULL, 0);
  struct crypt_auth_op a = {.ses = ses,
                            .op = COP_ENCRYPT,
                            .len = 100,
                            .auth_len = 20,
                            .auth_src = aad,
                            .src = pt,
                            .dst = out,
                            .iv = iv,
                            .iv_len = 12};
  OK(ioctl(fd, CIOCAUTHCRYPT, &a));
  ref_gcm(key, iv, aad, 20, pt, 100, ref, tag);
  CHECK(a.len == 116, "output length %u", a.len);
  CHECK(memcmp(out, ref, 100) == 0 && memcmp(out + 100, tag, 16) == 0, "GCM differs from OpenSSL");
  struct crypt_auth_op d = {.ses = ses,
                            .op = COP_DECRYPT,
                            .len = 116,
                            .auth_len = 20,
                            .auth_src = aad,
                            .src = out,
                            .dst = back,
                            .iv = iv,
                            .iv_len = 12};
  OK(ioctl(fd, CIOCAUTHCRYPT, &d));
  CHECK(d.len == 100 && memcmp(back, pt, 100) == 0, "GCM decrypt wrong");
  out[110] ^= 1;
  d.len = 116;
  ERRNO_IS(ioctl(fd, CIOCAUTHCRYPT, &d), EBADMSG);
  out[110] ^= 1;
  /* a truncated tag */
  a.len = 100;
  a.tag_len = 12;
  OK(ioctl(fd, CIOCAUTHCRYPT, &a));
  CHECK(a.len == 112 && memcmp(out + 100, tag, 12) == 0, "12-byte GCM tag wrong");
  d.len = 112;
  d.tag_len = 12;
  OK(ioctl(fd, CIOCAUTHCRYPT, &d));
  CHECK(d.len == 100 && memcmp(back, pt, 100) == 0, "GCM decrypt with 12-byte tag wrong");
  /* plain AEAD mode needs an AEAD session */
  uint32_t cbc = mksess(fd, CRYPTO_AES_CBC, key, 16, 0, NULL, 0);
  a.ses = cbc;
  a.iv = NULL; /* a CBC IV would be 16 bytes */
  ERRNO_IS(ioctl(fd, CIOCAUTHCRYPT, &a), EINVAL);
  /* GCM is not for CIOCCRYPT */
  ERRNO_IS(cryptop(fd, ses, COP_ENCRYPT, 0, pt, out, 16, NULL, iv), EINVAL);
  OK(close(fd));
}

static void sc_tls_srtp(void) {
  int fd = devopen();
  uint8_t key[16], mkey[20], iv[16], aad[13], rec[200], ref[200], mac[64];
  fill(key, 16, 15);
  fill(mkey, 20, 16);
  fill(iv, 16, 17);
  fill(aad, 13, 18);
  uint32_t ses = mksess(fd, CRYPTO_AES_CBC, key, 16, CRYPTO_SHA1_HMAC, mkey, 20);
  /* TLS: 50 bytes of data, 20 of MAC, 10 of padding (value 9) */
  fill(rec, 50, 19);
  uint8_t plain[80];
  memcpy(plain, rec, 50);
  unsigned ml;
  uint8_t hin[63];
  memcpy(hin, aad, 13);
  memcpy(hin + 13, rec, 50);
  HMAC(EVP_sha1(), mkey, 20, hin, 63, mac, &ml);
  memcpy(plain + 50, mac, 20);
  memset(plain + 70, 9, 10);
  ref_cipher(EVP_aes_128_cbc(), key, iv, 1, plain, 80, ref);
  struct crypt_auth_op a = {.ses = ses,
                            .op = COP_ENCRYPT,
                            .flags = COP_FLAG_AEAD_TLS_TYPE,
                            .len = 50,
                            .auth_len = 13,
                            .auth_src = aad,
                            .src = rec,
                            .dst = rec,
                            .iv = iv,
                            .iv_len = 16};
  OK(ioctl(fd, CIOCAUTHCRYPT, &a));
  CHECK(a.len == 80 && memcmp(rec, ref, 80) == 0, "TLS record differs (len %u)", a.len);
  a.op = COP_DECRYPT;
  OK(ioctl(fd, CIOCAUTHCRYPT, &a));
  CHECK(a.len == 50 && memcmp(rec, plain, 50) == 0, "TLS decrypt wrong (len %u)", a.len);
  memcpy(rec, ref, 80);
  rec[40] ^= 1;
  a.len = 80;
  uint8_t sent[80];
  memcpy(sent, rec, 80);
  ERRNO_IS(ioctl(fd, CIOCAUTHCRYPT, &a), EBADMSG);
  /* A record that fails verification releases no plaintext: the buffer
   * holds what was sent. */
  CHECK(memcmp(rec, sent, 80) == 0, "TLS decrypt with a bad MAC left plaintext in dst");
  CHECK(a.len == 80, "a failed TLS decrypt changed len to %u", a.len);
  /* Records with a valid MAC whose padding is wrong: one pad byte off, and
   * a pad length longer than the record; then a valid one with no padding
   * bytes beyond the length byte (59 + 20 + 1 = 80). */
  for (int k = 0; k < 3; k++) {
    size_t dl = k == 2 ? 59 : 50;
    uint8_t p2[80];
    uint8_t hin2[13 + 80];
    fill(p2, dl, 30 + k);
    memcpy(hin2, aad, 13);
    memcpy(hin2 + 13, p2, dl);
    HMAC(EVP_sha1(), mkey, 20, hin2, 13 + dl, mac, &ml);
    memcpy(p2 + dl, mac, 20);
    memset(p2 + dl + 20, (int)(80 - dl - 20 - 1), 80 - dl - 20);
    if (k == 0) p2[73] = 8;   /* 9 everywhere else */
    if (k == 1) p2[79] = 200; /* claims 200 bytes of padding */
    uint8_t ivk[16];
    fill(ivk, 16, 40 + k);
    ref_cipher(EVP_aes_128_cbc(), key, ivk, 1, p2, 80, rec);
    a.dst = rec;
    a.len = 80;
    a.iv = ivk;
    if (k < 2) {
      memcpy(sent, rec, 80);
      ERRNO_IS(ioctl(fd, CIOCAUTHCRYPT, &a), EBADMSG);
      CHECK(memcmp(rec, sent, 80) == 0, "TLS decrypt with bad padding left plaintext in dst");
    } else {
      OK(ioctl(fd, CIOCAUTHCRYPT, &a));
      CHECK(a.len == 59 && memcmp(rec, p2, 59) == 0, "TLS no-pad record wrong (len %u)", a.len);
    }
  }
  a.iv = iv;
  uint8_t other[80];
  a.dst = other;
  a.len = 80;
  ERRNO_IS(ioctl(fd, CIOCAUTHCRYPT, &a), EINVAL); /* TLS mode is in place only */
  /* SRTP: AES-CTR + HMAC-SHA1-80 over header || encrypted payload */
  uint32_t sr = mksess(fd, CRYPTO_AES_CTR, key, 16, CRYPTO_SHA1_HMAC, mkey, 20);
  uint8_t pkt[172], want[172], tag[10], t2[10];
  fill(pkt, 172, 20);
  memcpy(want, pkt, 12);
  ref_cipher(EVP_aes_128_ctr(), key, iv, 1, pkt + 12, 160, want + 12);
  HMAC(EVP_sha1(), mkey, 20, want, 172, mac, &ml);
  struct crypt_auth_op s = {.ses = sr,
                            .op = COP_ENCRYPT,
                            .flags = COP_FLAG_AEAD_SRTP_TYPE,
                            .len = 160,
                            .auth_len = 172,
                            .auth_src = pkt,
                            .src = pkt + 12,
                            .dst = pkt + 12,
                            .tag = tag,
                            .tag_len = 10,
                            .iv = iv,
                            .iv_len = 16};
  OK(ioctl(fd, CIOCAUTHCRYPT, &s));
  CHECK(memcmp(pkt, want, 172) == 0 && memcmp(tag, mac, 10) == 0, "SRTP encrypt wrong");
  s.op = COP_DECRYPT;
  memcpy(t2, tag, 10);
  s.tag = t2;
  OK(ioctl(fd, CIOCAUTHCRYPT, &s));
  uint8_t orig[172];
  fill(orig, 172, 20);
  CHECK(memcmp(pkt, orig, 172) == 0, "SRTP decrypt wrong");
  memcpy(pkt, want, 172);
  t2[0] ^= 1;
  ERRNO_IS(ioctl(fd, CIOCAUTHCRYPT, &s), EBADMSG);
  CHECK(memcmp(pkt, want, 172) == 0, "SRTP decrypt with a bad tag changed the packet");
  OK(close(fd));
}

/* An asynchronous batch: n AES-128-CBC encryptions of 64-byte blocks on one
 * session, submitted with CIOCASYNCCRYPT; fetched requests are checked
 * against OpenSSL. */
enum { ABATCH_MAX = 64 };
struct abatch {
  int n;
  uint8_t key[16], iv[16];
  uint8_t pt[ABATCH_MAX][64], ct[ABATCH_MAX][64], ivs[ABATCH_MAX][16];
  struct crypt_op ops[ABATCH_MAX];
};

static void abatch_submit(struct abatch *b, int fd, int n, unsigned seed) {
  b->n = n;
  fill(b->key, 16, seed);
  fill(b->iv, 16, seed + 1);
  uint32_t ses = mksess(fd, CRYPTO_AES_CBC, b->key, 16, 0, NULL, 0);
  for (int i = 0; i < n; i++) {
    fill(b->pt[i], 64, seed * 5 + (unsigned)i);
    memcpy(b->ivs[i], b->iv, 16);
    b->ops[i] = (struct crypt_op){.ses = ses,
                                  .op = COP_ENCRYPT,
                                  .len = 64,
                                  .src = b->pt[i],
                                  .dst = b->ct[i],
                                  .iv = b->ivs[i]};
    OK(ioctl(fd, CIOCASYNCCRYPT, &b->ops[i]));
  }
}

/* abatch_check: r (just fetched) is one of b's requests, done right. */
static bool abatch_check(struct abatch *b, const struct crypt_op *r) {
  int i = (int)(((uint8_t(*)[64])r->src) - b->pt);
  CHECK(i >= 0 && i < b->n, "fetched an unknown request");
  if (i < 0 || i >= b->n) return false;
  uint8_t ref[64];
  ref_cipher(EVP_aes_128_cbc(), b->key, b->iv, 1, b->pt[i], 64, ref);
  CHECK(memcmp(b->ct[i], ref, 64) == 0, "async result %d wrong", i);
  return true;
}

static void sc_async(void) {
  int fd = devopen();
  enum { N = 64 };
  static struct abatch b;
  abatch_submit(&b, fd, N, 21);
  struct crypt_op *ops = b.ops;
  struct crypt_op extra = ops[0];
  ERRNO_IS(ioctl(fd, CIOCASYNCCRYPT, &extra), EBUSY); /* the ring is full */
  int got = 0, spins = 0;
  while (got < N && spins++ < 1000) {
    struct pollfd p = {fd, POLLIN, 0};
    int pr = poll(&p, 1, 5000);
    CHECK(pr == 1 && (p.revents & POLLIN), "poll gave %d revents %x", pr, p.revents);
    if (pr != 1) break;
    struct crypt_op r;
    while (ioctl(fd, CIOCASYNCFETCH, &r) == 0) {
      if (!abatch_check(&b, &r)) break;
      got++;
    }
    CHECK(errno == EBUSY, "fetch on empty ring: errno %d", errno);
  }
  CHECK(got == N, "fetched %d of %d", got, N);
  struct crypt_op r;
  ERRNO_IS(ioctl(fd, CIOCASYNCFETCH, &r), EBUSY);
  OK(close(fd));
}

/* select() and pselect() follow poll(): once a fetch has pulled every reply
 * off the socket, the completions still waiting for CIOCASYNCFETCH must make
 * the descriptor readable (the socket alone is not), and an empty ring with
 * nothing in flight must not be. */
static void sc_select(void) {
  int fd = devopen();
  enum { N = 16 };
  static struct abatch b;
  abatch_submit(&b, fd, N, 41);
  int got = 0;
  for (int rounds = 0; got < N && rounds < 1000; rounds++) {
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(fd, &rd);
    struct timeval tv = {5, 0};
    int sr = rounds % 2 ? select(fd + 1, &rd, NULL, NULL, &tv)
                        : pselect(fd + 1, &rd, NULL, NULL, &(struct timespec){5, 0}, NULL);
    CHECK(sr == 1 && FD_ISSET(fd, &rd), "select gave %d (set %d) with %d of %d fetched", sr,
          FD_ISSET(fd, &rd), got, N);
    if (sr != 1) break;
    /* one at a time: what else arrived stays in the shim, not in the socket */
    struct crypt_op r;
    if (ioctl(fd, CIOCASYNCFETCH, &r) != 0) {
      CHECK(errno == EBUSY, "fetch: errno %d", errno);
      continue;
    }
    if (!abatch_check(&b, &r)) break;
    got++;
  }
  CHECK(got == N, "fetched %d of %d", got, N);
  /* Nothing in flight: not readable, and the timeout is honoured. */
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(fd, &rd);
  struct timeval tv = {0, 20000};
  int sr = select(fd + 1, &rd, NULL, NULL, &tv);
  CHECK(sr == 0 && !FD_ISSET(fd, &rd), "idle descriptor: select gave %d", sr);
  /* Writable while the ring has room. */
  fd_set wr;
  FD_ZERO(&wr);
  FD_SET(fd, &wr);
  tv = (struct timeval){1, 0};
  sr = select(fd + 1, NULL, &wr, NULL, &tv);
  CHECK(sr == 1 && FD_ISSET(fd, &wr), "select for writing gave %d", sr);
  OK(close(fd));
}

/* A program that closes every descriptor it does not know about (as daemons
 * do), dup2()s onto the shim's hidden socket number, or calls closefrom():
 * its /dev/crypto descriptor keeps working, and the numbers it took are
 * really its own. */
static int crypt_ok(int fd, uint32_t ses, const uint8_t *key, const uint8_t *iv) {
  uint8_t pt[32], ct[32], ref[32], ivc[16];
  fill(pt, 32, 51);
  memcpy(ivc, iv, 16);
  ref_cipher(EVP_aes_128_cbc(), key, iv, 1, pt, 32, ref);
  struct crypt_op op = {.ses = ses, .op = COP_ENCRYPT, .len = 32, .src = pt, .dst = ct, .iv = ivc};
  return ioctl(fd, CIOCCRYPT, &op) == 0 && memcmp(ct, ref, 32) == 0;
}

static void sc_closeall(void) {
  uint8_t key[16], iv[16];
  fill(key, 16, 52);
  fill(iv, 16, 53);
  int fd = devopen();
  uint32_t ses = mksess(fd, CRYPTO_AES_CBC, key, 16, 0, NULL, 0);
  CHECK(crypt_ok(fd, ses, key, iv), "crypt before");
  for (int i = 3; i < 1024; i++)
    if (i != fd) close(i);
  CHECK(crypt_ok(fd, ses, key, iv), "crypt after closing every other descriptor");
  /* The socket that survived is the shim's: take its number. */
  int h = -1;
  for (int i = 3; i < 1024 && h < 0; i++) {
    struct stat st;
    if (i != fd && fstat(i, &st) == 0 && S_ISSOCK(st.st_mode)) h = i;
  }
  CHECK(h >= 0, "no hidden socket found");
  if (h >= 0) {
    int nul = open("/dev/null", O_WRONLY);
    CHECK(nul >= 0 && dup2(nul, h) == h, "dup2 onto the hidden number failed");
    struct stat st;
    CHECK(fstat(h, &st) == 0 && S_ISCHR(st.st_mode), "the number is not ours after dup2");
    CHECK(write(h, "x", 1) == 1, "writing to the dup2'd number");
    CHECK(crypt_ok(fd, ses, key, iv), "crypt after dup2 onto the shim's socket");
    close(nul);
    close(h);
  }
  /* closefrom above the descriptor: still works; closefrom(3) ends it. */
  closefrom(fd + 1);
  CHECK(crypt_ok(fd, ses, key, iv), "crypt after closefrom(fd + 1)");
  closefrom(3);
  struct crypt_op op = {.ses = ses, .op = COP_ENCRYPT, .len = 16};
  ERRNO_IS(ioctl(fd, CIOCCRYPT, &op), EBADF);
  int fd2 = devopen();
  uint32_t s2 = mksess(fd2, CRYPTO_AES_CBC, key, 16, 0, NULL, 0);
  CHECK(crypt_ok(fd2, s2, key, iv), "crypt on a new open after closefrom(3)");
  OK(close(fd2));
}

static void sc_fds(void) {
  uint8_t key[16], iv[16], pt[32], ct[32], ref[32];
  fill(key, 16, 23);
  fill(iv, 16, 24);
  fill(pt, 32, 25);
  ref_cipher(EVP_aes_128_cbc(), key, iv, 1, pt, 32, ref);
  int fd = devopen();
  uint32_t ses = mksess(fd, CRYPTO_AES_CBC, key, 16, 0, NULL, 0);
  /* CRIOGET: a clone on the same file, outliving the original */
  __u32 clone = 0;
  OK(ioctl(fd, CRIOGET, &clone));
  int d1 = dup(fd), d2 = fcntl(fd, F_DUPFD_CLOEXEC, 100), d3 = dup2(fd, 200);
  CHECK(d1 >= 0 && d2 >= 100 && d3 == 200, "dup family failed");
  OK(close(fd));
  memset(ct, 0, 32);
  OK(cryptop((int)clone, ses, COP_ENCRYPT, 0, pt, ct, 32, NULL, iv));
  CHECK(memcmp(ct, ref, 32) == 0, "CRIOGET clone does not see the session");
  OK(close((int)clone));
  OK(cryptop(d1, ses, COP_ENCRYPT, 0, pt, ct, 32, NULL, iv));
  OK(close(d1));
  OK(close(d2));
  /* dup2 over a /dev/crypto descriptor closes that one */
  int other = devopen();
  uint32_t s2 = mksess(other, CRYPTO_AES_CBC, key, 16, 0, NULL, 0);
  CHECK(dup2(d3, other) == other, "dup2");
  ERRNO_IS(cryptop(other, s2, COP_ENCRYPT, 0, pt, ct, 32, NULL, iv), EINVAL);
  OK(cryptop(other, ses, COP_ENCRYPT, 0, pt, ct, 32, NULL, iv));
  OK(close(other));
  /* sessions are invisible to another open */
  int fresh = devopen();
  ERRNO_IS(cryptop(fresh, ses, COP_ENCRYPT, 0, pt, ct, 32, NULL, iv), EINVAL);
  OK(close(fresh));
  /* fork: the child keeps using the inherited session */
  pid_t pid = fork();
  if (pid == 0) {
    uint8_t c2[32];
    int ok =
        cryptop(d3, ses, COP_ENCRYPT, 0, pt, c2, 32, NULL, iv) == 0 && memcmp(c2, ref, 32) == 0;
    uint32_t cs = mksess(d3, CRYPTO_NULL, NULL, 0, 0, NULL, 0);
    ok = ok && cryptop(d3, cs, COP_ENCRYPT, 0, pt, c2, 32, NULL, NULL) == 0;
    close(d3);
    _exit(ok ? 0 : 1);
  }
  int st;
  waitpid(pid, &st, 0);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child could not use the inherited session");
  memset(ct, 0, 32);
  OK(cryptop(d3, ses, COP_ENCRYPT, 0, pt, ct, 32, NULL, iv));
  CHECK(memcmp(ct, ref, 32) == 0, "parent disturbed by the child");
  OK(close(d3));
  ERRNO_IS(close(d3), EBADF);
}

static volatile sig_atomic_t ticks;
static void on_alarm(int sig) {
  (void)sig;
  ticks++;
}

static void sc_signals(void) {
  int fd = devopen();
  uint8_t key[16], iv[16], pt[512], ct[512], ref[512];
  fill(key, 16, 26);
  fill(iv, 16, 27);
  fill(pt, 512, 28);
  ref_cipher(EVP_aes_128_cbc(), key, iv, 1, pt, 512, ref);
  uint32_t ses = mksess(fd, CRYPTO_AES_CBC, key, 16, 0, NULL, 0);
  struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART */
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 50}, {0, 50}};
  setitimer(ITIMER_REAL, &it, NULL);
  int bad = 0;
  for (int i = 0; i < 20000; i++) {
    memset(ct, 0, sizeof(ct));
    if (cryptop(fd, ses, COP_ENCRYPT, 0, pt, ct, 512, NULL, iv) != 0 || memcmp(ct, ref, 512) != 0)
      bad++;
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  CHECK(bad == 0, "%d of 20000 requests failed under signals", bad);
  CHECK(ticks > 10, "only %d signals were delivered", (int)ticks);
  OK(close(fd));
}

static void sc_key(void) {
  int fd = devopen();
  __u32 feat = 0xffffffff;
  OK(ioctl(fd, CIOCASYMFEAT, &feat));
  CHECK(feat < (1u << CRK_ALGORITHM_ALL), "feature bits %#x", feat);
  /* 4^13 mod 497 = 445 (little-endian big integers) */
  uint8_t b = 4, e = 13, m[2] = {0xf1, 0x01}, r[2] = {0, 0};
  struct crypt_kop k = {.crk_op = CRK_MOD_EXP, .crk_iparams = 3, .crk_oparams = 1};
  k.crk_param[0] = (struct crparam){&b, 3};
  k.crk_param[1] = (struct crparam){&e, 4};
  k.crk_param[2] = (struct crparam){m, 9};
  k.crk_param[3] = (struct crparam){r, 16};
  int rc = ioctl(fd, CIOCKEY, &k);
  if (feat & CRF_MOD_EXP) {
    CHECK(rc == 0, "CIOCKEY mod_exp: %s", strerror(errno));
    CHECK(r[0] == (445 & 0xff) && r[1] == (445 >> 8), "4^13 mod 497 gave %u", r[0] | r[1] << 8);
  } else {
    CHECK(rc == -1 && errno == ENODEV, "CIOCKEY without a producer: rc %d errno %d", rc, errno);
  }
  k.crk_iparams = 7;
  k.crk_oparams = 2;
  ERRNO_IS(ioctl(fd, CIOCKEY, &k), EINVAL);
  struct crypt_find_op fo = {.crid = -1, .name = "soft"};
  OK(ioctl(fd, CIOCFINDDEV, &fo));
  CHECK(fo.crid >= 0, "CIOCFINDDEV crid %d", fo.crid);
  OK(close(fd));
}

static void sc_nosoft(void) {
  int fd = devopen();
  uint8_t key[16] = {0};
  struct session_op s = {.cipher = CRYPTO_AES_CBC, .keylen = 16, .key = key};
  ERRNO_IS(ioctl(fd, CIOCGSESSION, &s), EINVAL);
  OK(close(fd));
}

/* read and write on /dev/crypto fail with EINVAL, as on the kernel device
 * (which has neither operation), and leave the descriptor working. */
static void sc_rw(void) {
  int fd = devopen();
  uint8_t key[16], iv[16], pt[64], ct[64], ref[64], buf[64] = {0};
  fill(key, 16, 4);
  fill(iv, 16, 5);
  fill(pt, 64, 6);
  uint32_t ses = mksess(fd, CRYPTO_AES_CBC, key, 16, 0, NULL, 0);
  struct iovec v = {buf, sizeof(buf)};
  ERRNO_IS(read(fd, buf, sizeof(buf)), EINVAL);
  ERRNO_IS(write(fd, "garbage!garbage!", 16), EINVAL);
  ERRNO_IS(readv(fd, &v, 1), EINVAL);
  ERRNO_IS(writev(fd, &v, 1), EINVAL);
  ERRNO_IS(pread(fd, buf, sizeof(buf), 0), EINVAL);
  ERRNO_IS(pwrite(fd, buf, sizeof(buf), 0), EINVAL);
  /* a character device is no socket */
  struct msghdr mh = {.msg_iov = &v, .msg_iovlen = 1};
  struct sockaddr_un sa;
  socklen_t sl = sizeof(sa);
  int one = 1;
  ERRNO_IS(recv(fd, buf, sizeof(buf), MSG_DONTWAIT), ENOTSOCK);
  ERRNO_IS(send(fd, "garbage!garbage!", 16, 0), ENOTSOCK);
  ERRNO_IS(recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, NULL, NULL), ENOTSOCK);
  ERRNO_IS(sendto(fd, buf, 16, 0, NULL, 0), ENOTSOCK);
  ERRNO_IS(recvmsg(fd, &mh, MSG_DONTWAIT), ENOTSOCK);
  ERRNO_IS(sendmsg(fd, &mh, 0), ENOTSOCK);
  ERRNO_IS(getsockopt(fd, SOL_SOCKET, SO_TYPE, &one, &(socklen_t){sizeof(one)}), ENOTSOCK);
  ERRNO_IS(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &one, sizeof(one)), ENOTSOCK);
  ERRNO_IS(getpeername(fd, (struct sockaddr *)&sa, &sl), ENOTSOCK);
  ERRNO_IS(getsockname(fd, (struct sockaddr *)&sa, &sl), ENOTSOCK);
  ERRNO_IS(shutdown(fd, SHUT_RDWR), ENOTSOCK);
  ERRNO_IS(listen(fd, 1), ENOTSOCK);
  ERRNO_IS(accept(fd, NULL, NULL), ENOTSOCK);
  /* what it is: a character device, open or not, which a program may look
   * for before it opens it; other files are left alone */
  struct stat st;
  CHECK(fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && (st.st_mode & 0666) == 0666,
        "fstat: not a character device");
  CHECK(fstatat(fd, "", &st, AT_EMPTY_PATH) == 0 && S_ISCHR(st.st_mode),
        "fstatat(AT_EMPTY_PATH): not a character device");
  struct statx sx;
  CHECK(statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_MODE, &sx) == 0 && S_ISCHR(sx.stx_mode),
        "statx(AT_EMPTY_PATH): not a character device");
  CHECK(stat("/dev/crypto", &st) == 0 && S_ISCHR(st.st_mode), "stat(/dev/crypto)");
  CHECK(access("/dev/crypto", R_OK | W_OK) == 0, "access(/dev/crypto)");
  ERRNO_IS(stat("/dev/crypto-not-there", &st), ENOENT);
  int pp[2];
  CHECK(pipe(pp) == 0 && fstat(pp[0], &st) == 0 && S_ISFIFO(st.st_mode), "fstat of a pipe");
  close(pp[0]);
  close(pp[1]);
  /* an argument in the null page, as the kernel would not copy it in */
  ERRNO_IS(ioctl(fd, CIOCCRYPT, NULL), EFAULT);
  ERRNO_IS(ioctl(fd, CIOCGSESSION, NULL), EFAULT);
  ERRNO_IS(ioctl(fd, CIOCFSESSION, NULL), EFAULT);
  ERRNO_IS(ioctl(fd, CRIOGET, (void *)8), EFAULT);
  ERRNO_IS(ioctl(fd, CIOCKEY, NULL), EFAULT);
  int fd2 = dup(fd);
  ERRNO_IS(write(fd2, buf, 1), EINVAL);
  ERRNO_IS(send(fd2, buf, 1, 0), ENOTSOCK);
  uint8_t ivc[16];
  memcpy(ivc, iv, 16);
  OK(cryptop(fd2, ses, COP_ENCRYPT, 0, pt, ct, 64, NULL, ivc));
  ref_cipher(EVP_aes_128_cbc(), key, iv, 1, pt, 64, ref);
  CHECK(memcmp(ct, ref, 64) == 0, "AES-CBC after read/write attempts differs from OpenSSL");
  OK(close(fd2));
  OK(close(fd));
  /* other descriptors are untouched */
  int p[2];
  OK(pipe(p));
  CHECK(write(p[1], "ok", 2) == 2, "write on a pipe: %s", strerror(errno));
  CHECK(read(p[0], buf, 2) == 2 && memcmp(buf, "ok", 2) == 0, "read on a pipe");
  close(p[0]), close(p[1]);
  OK(socketpair(AF_UNIX, SOCK_STREAM, 0, p));
  CHECK(send(p[0], "ok", 2, 0) == 2, "send on a socket: %s", strerror(errno));
  CHECK(recv(p[1], buf, 2, 0) == 2 && memcmp(buf, "ok", 2) == 0, "recv on a socket");
  OK(shutdown(p[0], SHUT_WR));
  CHECK(recv(p[1], buf, 2, 0) == 0, "recv after shutdown");
  close(p[0]), close(p[1]);
}

/* exec: descriptors survive exec with their sessions, as on the kernel,
 * unless opened close-on-exec; scenario exec2 is the image after exec. */
static char **sc_argv; /* the scenario's own arguments */
static uint8_t ex_key[16], ex_iv[16], ex_mkey[20], ex_pt[64];

static void ex_fill(void) {
  fill(ex_key, 16, 41);
  fill(ex_iv, 16, 42);
  fill(ex_mkey, 20, 43);
  fill(ex_pt, 64, 44);
}

static void sc_exec(void) {
  ex_fill();
  int fd = devopen(), gone = open("/dev/crypto", O_RDWR | O_CLOEXEC);
  CHECK(gone >= 0, "open O_CLOEXEC");
  uint32_t c = mksess(fd, CRYPTO_AES_CBC, ex_key, 16, 0, NULL, 0);
  uint32_t m = mksess(fd, 0, NULL, 0, CRYPTO_SHA1_HMAC, ex_mkey, 20);
  /* A helper exec'd from a child, holding the descriptor without using it,
   * leaves the connection alone while this image goes on using it. */
  pid_t helper = fork();
  if (helper == 0) {
    execl(self, self, "--scenario", "exec_idle", (char *)NULL);
    _exit(127);
  }
  uint8_t ct[64], ref[64], iv[16];
  ref_cipher(EVP_aes_128_cbc(), ex_key, ex_iv, 1, ex_pt, 64, ref);
  int bad = 0;
  for (int i = 0; i < 300; i++) {
    memcpy(iv, ex_iv, 16);
    if (cryptop(fd, c, COP_ENCRYPT, 0, ex_pt, ct, 64, NULL, iv) != 0 || memcmp(ct, ref, 64) != 0)
      bad++;
  }
  int st;
  waitpid(helper, &st, 0);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "idle helper");
  CHECK(bad == 0, "%d of 300 requests failed while a helper inherited the descriptor", bad);
  int twin = dup(fd);
  uint32_t last = 0; /* more sessions than the shim lists in one go */
  for (int i = 0; i < 70; i++) last = mksess(fd, CRYPTO_NULL, NULL, 0, 0, NULL, 0);
  char a[6][16];
  snprintf(a[5], 16, "%u", last);
  snprintf(a[0], 16, "%d", fd);
  snprintf(a[1], 16, "%d", twin);
  snprintf(a[2], 16, "%u", c);
  snprintf(a[3], 16, "%u", m);
  snprintf(a[4], 16, "%d", gone);
  execl(self, self, "--scenario", "exec2", a[0], a[1], a[2], a[3], a[4], a[5], (char *)NULL);
  CHECK(0, "exec: %s", strerror(errno));
}

static void sc_exec_idle(void) { usleep(20000); }

static void sc_exec2(void) {
  ex_fill();
  CHECK(sc_argv[0] && sc_argv[1] && sc_argv[2] && sc_argv[3] && sc_argv[4] && sc_argv[5],
        "arguments");
  if (fails) return;
  int fd = atoi(sc_argv[0]), twin = atoi(sc_argv[1]), gone = atoi(sc_argv[4]);
  uint32_t c = (uint32_t)strtoul(sc_argv[2], NULL, 10), m = (uint32_t)strtoul(sc_argv[3], NULL, 10);
  ERRNO_IS(fcntl(gone, F_GETFD), EBADF);
  uint8_t ct[64], ref[64], iv[16], md[20];
  unsigned rl = 0;
  memcpy(iv, ex_iv, 16);
  OK(cryptop(fd, c, COP_ENCRYPT, 0, ex_pt, ct, 64, NULL, iv));
  ref_cipher(EVP_aes_128_cbc(), ex_key, ex_iv, 1, ex_pt, 64, ref);
  CHECK(memcmp(ct, ref, 64) == 0, "AES-CBC on a session inherited across exec differs");
  OK(cryptop(twin, m, COP_ENCRYPT, 0, ex_pt, NULL, 64, md, NULL));
  HMAC(EVP_sha1(), ex_mkey, 20, ex_pt, 64, ref, &rl);
  CHECK(memcmp(md, ref, 20) == 0, "HMAC-SHA1 on a session inherited across exec differs");
  uint32_t last = (uint32_t)strtoul(sc_argv[5], NULL, 10);
  OK(cryptop(fd, last, COP_ENCRYPT, 0, ex_pt, ct, 64, NULL, NULL));
  CHECK(memcmp(ct, ex_pt, 64) == 0, "the 72nd inherited session (NULL cipher)");
  struct session_info_op si = {.ses = c};
  OK(ioctl(fd, CIOCGSESSINFO, &si));
  CHECK(strcmp(si.cipher_info.cra_name, "cbc(aes)") == 0, "sessinfo: %s", si.cipher_info.cra_name);
  /* new sessions and freeing old ones, on either descriptor */
  uint32_t n = mksess(twin, CRYPTO_NULL, NULL, 0, 0, NULL, 0);
  OK(cryptop(fd, n, COP_ENCRYPT, 0, ex_pt, ct, 64, NULL, NULL));
  CHECK(memcmp(ct, ex_pt, 64) == 0, "NULL cipher");
  OK(ioctl(twin, CIOCFSESSION, &c));
  ERRNO_IS(cryptop(fd, c, COP_ENCRYPT, 0, ex_pt, ct, 64, NULL, iv), EINVAL);
  ERRNO_IS(send(fd, "x", 1, 0), ENOTSOCK);
  /* the keys stayed in the old image: a child forked from here cannot
   * re-create that session on its own connection, but makes its own */
  pid_t pid = fork();
  if (pid == 0) {
    uint8_t md2[20];
    int ok = cryptop(fd, m, COP_ENCRYPT, 0, ex_pt, NULL, 64, md2, NULL) == -1 && errno == EINVAL;
    uint32_t own = mksess(fd, 0, NULL, 0, CRYPTO_SHA1_HMAC, ex_mkey, 20);
    ok = ok && cryptop(fd, own, COP_ENCRYPT, 0, ex_pt, NULL, 64, md2, NULL) == 0 &&
         memcmp(md2, md, 20) == 0;
    _exit(ok ? 0 : 1);
  }
  int st;
  waitpid(pid, &st, 0);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "forked child after exec");
  OK(close(fd));
  OK(cryptop(twin, m, COP_ENCRYPT, 0, ex_pt, NULL, 64, md, NULL));
  OK(close(twin));
}

static const struct {
  const char *name;
  void (*fn)(void);
} scenarios[] = {{"cbc", sc_cbc},           {"null_ctr", sc_null_ctr}, {"hash", sc_hash},
                 {"ids", sc_ids},           {"stage", sc_stage},       {"aead", sc_aead},
                 {"tls_srtp", sc_tls_srtp}, {"async", sc_async},       {"fds", sc_fds},
                 {"signals", sc_signals},   {"key", sc_key},           {"nosoft", sc_nosoft},
                 {"select", sc_select},     {"closeall", sc_closeall}, {"rw", sc_rw},
                 {"exec", sc_exec},         {"exec2", sc_exec2},       {"exec_idle", sc_exec_idle},
                 {"many", sc_many}};

/* --- the cmocka side -------------------------------------------------------- */

static void run_scenario(const char *name, const char *extra) {
  struct ocfd_proc p;
  int rc = extra ? ocfd_start(&p, extra, NULL) : ocfd_start(&p, NULL);
  assert_int_equal(rc, 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    char pre[600], asan[600];
    snprintf(pre, sizeof(pre), "%s/libocfpreload.so", ocfd_build_dir());
    setenv("LD_PRELOAD", pre, 1);
    setenv("OCF_SOCKET", p.sock, 1);
    const char *ao = getenv("ASAN_OPTIONS");
    snprintf(asan, sizeof(asan), "%s%sverify_asan_link_order=0", ao ? ao : "", ao ? ":" : "");
    setenv("ASAN_OPTIONS", asan, 1);
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

static void t_cbc(void **s) { (void)s, run_scenario("cbc", NULL); }
static void t_null_ctr(void **s) { (void)s, run_scenario("null_ctr", NULL); }
static void t_hash(void **s) { (void)s, run_scenario("hash", NULL); }
static void t_ids(void **s) { (void)s, run_scenario("ids", NULL); }
static void t_many(void **s) { (void)s, run_scenario("many", NULL); }
static void t_stage(void **s) { (void)s, run_scenario("stage", NULL); }
static void t_stage_noshm(void **s) { (void)s, run_scenario("stage", "--max-shm=4K"); }
static void t_aead(void **s) { (void)s, run_scenario("aead", NULL); }
static void t_tls_srtp(void **s) { (void)s, run_scenario("tls_srtp", NULL); }
static void t_async(void **s) { (void)s, run_scenario("async", NULL); }
static void t_fds(void **s) { (void)s, run_scenario("fds", NULL); }
static void t_signals(void **s) { (void)s, run_scenario("signals", NULL); }
static void t_key(void **s) { (void)s, run_scenario("key", NULL); }
static void t_nosoft(void **s) { (void)s, run_scenario("nosoft", "--allow-soft=no"); }
static void t_select(void **s) { (void)s, run_scenario("select", NULL); }
static void t_closeall(void **s) { (void)s, run_scenario("closeall", NULL); }
static void t_rw(void **s) { (void)s, run_scenario("rw", NULL); }
static void t_exec(void **s) { (void)s, run_scenario("exec", NULL); }

int main(int argc, char **argv) {
  self = argv[0];
  if (argc >= 3 && strcmp(argv[1], "--scenario") == 0) {
    sc_argv = argv + 3;
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
      if (strcmp(scenarios[i].name, argv[2]) == 0) {
        scenarios[i].fn();
        return fails ? 1 : 0;
      }
    return 2;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_cbc),    cmocka_unit_test(t_null_ctr), cmocka_unit_test(t_hash),
      cmocka_unit_test(t_aead),   cmocka_unit_test(t_tls_srtp), cmocka_unit_test(t_async),
      cmocka_unit_test(t_fds),    cmocka_unit_test(t_signals),  cmocka_unit_test(t_key),
      cmocka_unit_test(t_nosoft), cmocka_unit_test(t_select),   cmocka_unit_test(t_closeall),
      cmocka_unit_test(t_rw),     cmocka_unit_test(t_exec),     cmocka_unit_test(t_ids),
      cmocka_unit_test(t_many),   cmocka_unit_test(t_stage),    cmocka_unit_test(t_stage_noshm),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
