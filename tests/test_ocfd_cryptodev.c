/* test_ocfd_cryptodev.c - programs written against the released cryptodev ABI, run
 * under LD_PRELOAD=libocfpreload.so against a spawned ocfd (cdev_scenario.h):
 * the requests themselves (ciphers, hashes, AEADs, TLS and SRTP, algorithm
 * ids, sessions, the staging of data, public key, a daemon without software).
 * What happens to the descriptors (asynchronous requests, select, close,
 * dup and fork, signals, read and write, exec) is in test_ocfd_cryptodev_fd.c. */
#include "cdev_scenario.h"

CDEV_ABI_STATIC_ASSERTS();

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

static const struct cdev_scenario scenarios[] = {
    {"cbc", sc_cbc},       {"null_ctr", sc_null_ctr}, {"hash", sc_hash},         {"ids", sc_ids},
    {"stage", sc_stage},   {"aead", sc_aead},         {"tls_srtp", sc_tls_srtp}, {"key", sc_key},
    {"nosoft", sc_nosoft}, {"many", sc_many}};

static void t_cbc(void **s) { (void)s, run_scenario("cbc", NULL); }
static void t_null_ctr(void **s) { (void)s, run_scenario("null_ctr", NULL); }
static void t_hash(void **s) { (void)s, run_scenario("hash", NULL); }
static void t_ids(void **s) { (void)s, run_scenario("ids", NULL); }
static void t_many(void **s) { (void)s, run_scenario("many", NULL); }
static void t_stage(void **s) { (void)s, run_scenario("stage", NULL); }
static void t_stage_noshm(void **s) { (void)s, run_scenario("stage", "--max-shm=4K"); }
static void t_aead(void **s) { (void)s, run_scenario("aead", NULL); }
static void t_tls_srtp(void **s) { (void)s, run_scenario("tls_srtp", NULL); }
static void t_key(void **s) { (void)s, run_scenario("key", NULL); }
static void t_nosoft(void **s) { (void)s, run_scenario("nosoft", "--allow-soft=no"); }

int main(int argc, char **argv) {
  int rc = cdev_scenario_main(argc, argv, scenarios, sizeof(scenarios) / sizeof(scenarios[0]));
  if (rc >= 0) return rc;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_cbc),    cmocka_unit_test(t_null_ctr),    cmocka_unit_test(t_hash),
      cmocka_unit_test(t_aead),   cmocka_unit_test(t_tls_srtp),    cmocka_unit_test(t_key),
      cmocka_unit_test(t_nosoft), cmocka_unit_test(t_ids),         cmocka_unit_test(t_many),
      cmocka_unit_test(t_stage),  cmocka_unit_test(t_stage_noshm),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
