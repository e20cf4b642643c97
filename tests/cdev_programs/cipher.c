/* cipher.c - a /dev/crypto program as cryptodev-linux users write them,
 * built against <crypto/cryptodev.h> (the released declarations) and
 * nothing of libocf.  It gets a descriptor with CRIOGET, opens AES sessions
 * with a key, asks CIOCGSESSINFO which driver serves them, and checks
 * CIOCCRYPT against the NIST SP 800-38A examples (F.1.1 ECB, F.2.1 CBC,
 * F.5.1 CTR), whole and in two halves that continue the chain.
 * Exit status 0 when every answer is right. */
#include <crypto/cryptodev.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common.h"

#define KEY "2b7e151628aed2a6abf7158809cf4f3c"
#define PLAIN                                                        \
  "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51" \
  "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"

struct example {
  const char *name;
  uint32_t cipher;
  const char *iv; /* "" = none */
  const char *ct;
};

static const struct example examples[] = {
    {"AES-128-ECB", CRYPTO_AES_ECB, "",
     "3ad77bb40d7a3660a89ecaf32466ef97f5d3d58503b9699de785895a96fdbaaf"
     "43b1cd7f598ece23881b00e3ed0306887b0c785e27e8ad3f8223207104725dd4"},
    {"AES-128-CBC", CRYPTO_AES_CBC, "000102030405060708090a0b0c0d0e0f",
     "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
     "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7"},
    {"AES-128-CTR", CRYPTO_AES_CTR, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
     "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
     "5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee"},
};

static int do_crypt(int cfd, uint32_t ses, uint16_t op, uint16_t flags, const uint8_t *src,
                    uint8_t *dst, uint32_t len, uint8_t *iv) {
  struct crypt_op cryp;
  memset(&cryp, 0, sizeof(cryp));
  cryp.ses = ses;
  cryp.op = op;
  cryp.flags = flags;
  cryp.len = len;
  cryp.src = (uint8_t *)src;
  cryp.dst = dst;
  cryp.iv = iv;
  if (ioctl(cfd, CIOCCRYPT, &cryp) == 0) return 0;
  perror("ioctl(CIOCCRYPT)");
  return -1;
}

static int run(int cfd, const struct example *e) {
  uint8_t key[16], iv[16], iv2[16], pt[64], ct[64], out[64];
  unhex(KEY, key);
  unhex(PLAIN, pt);
  size_t ivlen = unhex(e->iv, iv);
  unhex(e->ct, ct);

  struct session_op sess;
  memset(&sess, 0, sizeof(sess));
  sess.cipher = e->cipher;
  sess.keylen = sizeof(key);
  sess.key = key;
  if (ioctl(cfd, CIOCGSESSION, &sess)) {
    perror("ioctl(CIOCGSESSION)");
    return 0;
  }
  struct session_info_op siop;
  memset(&siop, 0, sizeof(siop));
  siop.ses = sess.ses;
  if (ioctl(cfd, CIOCGSESSINFO, &siop)) {
    perror("ioctl(CIOCGSESSINFO)");
    return 0;
  }
  printf("%s: %s via %s%s\n", e->name, siop.cipher_info.cra_name, siop.cipher_info.cra_driver_name,
         (siop.flags & SIOP_FLAG_KERNEL_DRIVER_ONLY) ? " (hardware)" : "");

  int ok = 1;
  memcpy(iv2, iv, ivlen);
  ok &= do_crypt(cfd, sess.ses, COP_ENCRYPT, 0, pt, out, 64, ivlen ? iv2 : NULL) == 0 &&
        same(e->name, out, e->ct);
  ok &= do_crypt(cfd, sess.ses, COP_DECRYPT, 0, ct, out, 64, ivlen ? iv2 : NULL) == 0 &&
        same(e->name, out, PLAIN);
  /* Two halves: the first writes the next IV back, the second uses it. */
  memcpy(iv2, iv, ivlen);
  memset(out, 0, sizeof(out));
  ok &=
      do_crypt(cfd, sess.ses, COP_ENCRYPT, COP_FLAG_WRITE_IV, pt, out, 32, ivlen ? iv2 : NULL) == 0;
  ok &= do_crypt(cfd, sess.ses, COP_ENCRYPT, 0, pt + 32, out + 32, 32, ivlen ? iv2 : NULL) == 0 &&
        same(e->name, out, e->ct);
  /* In place, as most programs do it. */
  memcpy(out, pt, 64);
  memcpy(iv2, iv, ivlen);
  ok &= do_crypt(cfd, sess.ses, COP_ENCRYPT, 0, out, out, 64, ivlen ? iv2 : NULL) == 0 &&
        same(e->name, out, e->ct);

  if (ioctl(cfd, CIOCFSESSION, &sess.ses)) {
    perror("ioctl(CIOCFSESSION)");
    ok = 0;
  }
  return ok;
}

int main(void) {
  int fd = open("/dev/crypto", O_RDWR, 0);
  if (fd < 0) {
    perror("open(/dev/crypto)");
    return 1;
  }
  int cfd = -1;
  if (ioctl(fd, CRIOGET, &cfd)) {
    perror("ioctl(CRIOGET)");
    return 1;
  }
  if (fcntl(cfd, F_SETFD, 1) == -1) {
    perror("fcntl(F_SETFD)");
    return 1;
  }
  int ok = 1;
  for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) ok &= run(cfd, &examples[i]);
  /* An algorithm libocf does not have (a kernel with cbc(camellia) would
   * serve it): EINVAL, as the module answers on a kernel without it. */
  struct session_op sess;
  memset(&sess, 0, sizeof(sess));
  sess.cipher = CRYPTO_CAMELLIA_CBC;
  sess.keylen = 16;
  sess.key = (uint8_t *)"0123456789abcdef";
  if (ioctl(cfd, CIOCGSESSION, &sess) == 0 || errno != EINVAL) {
    fprintf(stderr, "Camellia: expected EINVAL, got %s\n", strerror(errno));
    ok = 0;
  }
  if (close(cfd) || close(fd)) {
    perror("close");
    ok = 0;
  }
  printf("%s\n", ok ? "cipher: all answers right" : "cipher: FAILED");
  return ok ? 0 : 1;
}
