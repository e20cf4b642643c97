/* gcm.c - AES-GCM through CIOCAUTHCRYPT, written against
 * <crypto/cryptodev.h> as a cryptodev-linux user would, with test case 4 of
 * the GCM specification (McGrew and Viega): 60 bytes, 20 bytes of
 * authenticated data.  Encrypt, decrypt, and a forged tag that must fail
 * with EBADMSG.  Exit status 0 when every answer is right. */
#include <crypto/cryptodev.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common.h"

#define K "feffe9928665731c6d6a8f9467308308"
#define P                                                            \
  "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" \
  "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
#define A "feedfacedeadbeeffeedfacedeadbeefabaddad2"
#define IV "cafebabefacedbaddecaf888"
#define C_AND_T                                                      \
  "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e" \
  "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"         \
  "5bc94fbc3221a5db94fae95ae7121a47"

int main(void) {
  int fd = open("/dev/crypto", O_RDWR);
  if (fd < 0) {
    perror("open(/dev/crypto)");
    return 1;
  }
  uint8_t key[16], pt[60], aad[20], iv[12], ct[76], out[76];
  unhex(K, key);
  unhex(P, pt);
  unhex(A, aad);
  unhex(IV, iv);
  unhex(C_AND_T, ct);

  struct session_op sess;
  memset(&sess, 0, sizeof(sess));
  sess.cipher = CRYPTO_AES_GCM;
  sess.keylen = sizeof(key);
  sess.key = key;
  if (ioctl(fd, CIOCGSESSION, &sess)) {
    perror("ioctl(CIOCGSESSION)");
    return 1;
  }

  int ok = 1;
  struct crypt_auth_op cao;
  memset(&cao, 0, sizeof(cao));
  cao.ses = sess.ses;
  cao.op = COP_ENCRYPT;
  cao.auth_src = aad;
  cao.auth_len = sizeof(aad);
  cao.src = pt;
  cao.len = sizeof(pt);
  cao.dst = out;
  cao.iv = iv;
  cao.iv_len = sizeof(iv);
  if (ioctl(fd, CIOCAUTHCRYPT, &cao)) {
    perror("ioctl(CIOCAUTHCRYPT, encrypt)");
    ok = 0;
  } else {
    ok &= cao.len == sizeof(out) && same("AES-GCM seal", out, C_AND_T);
  }

  memset(&cao, 0, sizeof(cao));
  cao.ses = sess.ses;
  cao.op = COP_DECRYPT;
  cao.auth_src = aad;
  cao.auth_len = sizeof(aad);
  cao.src = ct;
  cao.len = sizeof(ct);
  cao.dst = out;
  cao.iv = iv;
  cao.iv_len = sizeof(iv);
  memset(out, 0, sizeof(out));
  if (ioctl(fd, CIOCAUTHCRYPT, &cao)) {
    perror("ioctl(CIOCAUTHCRYPT, decrypt)");
    ok = 0;
  } else {
    ok &= cao.len == sizeof(pt) && same("AES-GCM open", out, P);
  }

  ct[sizeof(ct) - 1] ^= 0x80;
  cao.len = sizeof(ct);
  memset(out, 0, sizeof(out));
  if (ioctl(fd, CIOCAUTHCRYPT, &cao) == 0 || errno != EBADMSG) {
    fprintf(stderr, "forged tag: expected EBADMSG, got %s\n", strerror(errno));
    ok = 0;
  }
  for (size_t i = 0; i < sizeof(pt); i++)
    if (out[i] != 0) {
      fprintf(stderr, "forged tag: plaintext released\n");
      ok = 0;
      break;
    }

  ioctl(fd, CIOCFSESSION, &sess.ses);
  close(fd);
  printf("%s\n", ok ? "gcm: all answers right" : "gcm: FAILED");
  return ok ? 0 : 1;
}
