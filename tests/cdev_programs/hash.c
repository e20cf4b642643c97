/* hash.c - digests and HMACs through /dev/crypto, written against
 * <crypto/cryptodev.h> as a cryptodev-linux user would: SHA-256 of "abc"
 * (FIPS 180-2), HMAC-SHA1 and HMAC-SHA256 of RFC 2202 / RFC 4231 test
 * case 2, and the same SHA-256 fed in three parts with COP_FLAG_UPDATE and
 * COP_FLAG_FINAL.  Exit status 0 when every answer is right. */
#include <crypto/cryptodev.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common.h"

static int open_session(int fd, uint32_t mac, const char *key, uint32_t *ses) {
  struct session_op sess;
  memset(&sess, 0, sizeof(sess));
  sess.mac = mac;
  sess.mackeylen = key ? (uint32_t)strlen(key) : 0;
  sess.mackey = (uint8_t *)key;
  if (ioctl(fd, CIOCGSESSION, &sess)) {
    perror("ioctl(CIOCGSESSION)");
    return -1;
  }
  struct session_info_op siop;
  memset(&siop, 0, sizeof(siop));
  siop.ses = sess.ses;
  if (ioctl(fd, CIOCGSESSINFO, &siop) == 0)
    printf("mac %u: %s via %s\n", mac, siop.hash_info.cra_name, siop.hash_info.cra_driver_name);
  *ses = sess.ses;
  return 0;
}

static int digest(int fd, uint32_t ses, uint16_t flags, const char *msg, uint8_t *md) {
  struct crypt_op cryp;
  memset(&cryp, 0, sizeof(cryp));
  cryp.ses = ses;
  cryp.op = COP_ENCRYPT;
  cryp.flags = flags;
  cryp.len = (uint32_t)strlen(msg);
  cryp.src = (uint8_t *)msg;
  cryp.mac = md;
  if (ioctl(fd, CIOCCRYPT, &cryp) == 0) return 0;
  perror("ioctl(CIOCCRYPT)");
  return -1;
}

int main(void) {
  int fd = open("/dev/crypto", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    perror("open(/dev/crypto)");
    return 1;
  }
  static const char *const sha256_abc =
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  static const char *const jefe_msg = "what do ya want for nothing?";
  uint8_t md[HASH_MAX_LEN];
  uint32_t ses;
  int ok = 1;

  ok &= open_session(fd, CRYPTO_SHA2_256, NULL, &ses) == 0 && digest(fd, ses, 0, "abc", md) == 0 &&
        same("SHA-256", md, sha256_abc);
  memset(md, 0, sizeof(md));
  ok &= digest(fd, ses, COP_FLAG_UPDATE, "a", md) == 0 &&
        digest(fd, ses, COP_FLAG_UPDATE, "b", md) == 0 &&
        digest(fd, ses, COP_FLAG_FINAL, "c", md) == 0 && same("SHA-256 in parts", md, sha256_abc);
  ioctl(fd, CIOCFSESSION, &ses);

  ok &= open_session(fd, CRYPTO_SHA1_HMAC, "Jefe", &ses) == 0 &&
        digest(fd, ses, 0, jefe_msg, md) == 0 &&
        same("HMAC-SHA1", md, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  ioctl(fd, CIOCFSESSION, &ses);
  ok &= open_session(fd, CRYPTO_SHA2_256_HMAC, "Jefe", &ses) == 0 &&
        digest(fd, ses, 0, jefe_msg, md) == 0 &&
        same("HMAC-SHA256", md, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  ioctl(fd, CIOCFSESSION, &ses);

  close(fd);
  printf("%s\n", ok ? "hash: all answers right" : "hash: FAILED");
  return ok ? 0 : 1;
}
