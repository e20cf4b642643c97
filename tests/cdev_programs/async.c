/* async.c - asynchronous requests as cryptodev-linux's async tests make
 * them: CIOCASYNCCRYPT a batch of AES-128-CBC encryptions, poll() the
 * descriptor, CIOCASYNCFETCH the results, and compare each with the same
 * request made synchronously (one synchronous request comes first, so both
 * kinds share the connection).  Written against <crypto/cryptodev.h> only.
 * Exit status 0 when every answer is right. */
#include <crypto/cryptodev.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define N 8
#define LEN 4096

int main(void) {
  int fd = open("/dev/crypto", O_RDWR);
  if (fd < 0) {
    perror("open(/dev/crypto)");
    return 1;
  }
  static uint8_t src[N][LEN], adst[N][LEN], sdst[LEN];
  uint8_t key[16], iv[N][16];
  for (int i = 0; i < 16; i++) key[i] = (uint8_t)(i * 17 + 3);
  for (int n = 0; n < N; n++) {
    for (int i = 0; i < 16; i++) iv[n][i] = (uint8_t)(n + i);
    for (int i = 0; i < LEN; i++) src[n][i] = (uint8_t)(i * 31 + n);
  }
  struct session_op sess;
  memset(&sess, 0, sizeof(sess));
  sess.cipher = CRYPTO_AES_CBC;
  sess.keylen = sizeof(key);
  sess.key = key;
  if (ioctl(fd, CIOCGSESSION, &sess)) {
    perror("ioctl(CIOCGSESSION)");
    return 1;
  }
  /* One synchronous request first, as a program that mixes both would. */
  struct crypt_op first;
  memset(&first, 0, sizeof(first));
  first.ses = sess.ses;
  first.op = COP_ENCRYPT;
  first.len = LEN;
  first.src = src[0];
  first.dst = sdst;
  first.iv = iv[0];
  if (ioctl(fd, CIOCCRYPT, &first)) {
    perror("ioctl(CIOCCRYPT)");
    return 1;
  }
  for (int n = 0; n < N; n++) {
    struct crypt_op cop;
    memset(&cop, 0, sizeof(cop));
    cop.ses = sess.ses;
    cop.op = COP_ENCRYPT;
    cop.len = LEN;
    cop.src = src[n];
    cop.dst = adst[n];
    cop.iv = iv[n];
    if (ioctl(fd, CIOCASYNCCRYPT, &cop)) {
      perror("ioctl(CIOCASYNCCRYPT)");
      return 1;
    }
  }
  int ok = 1, got = 0;
  while (got < N) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int pr = poll(&pfd, 1, 10000);
    if (pr <= 0) {
      fprintf(stderr, "poll: %s\n", pr == 0 ? "timed out" : strerror(errno));
      return 1;
    }
    struct crypt_op cop;
    memset(&cop, 0, sizeof(cop));
    while (got < N && ioctl(fd, CIOCASYNCFETCH, &cop) == 0) {
      int n = (int)((uint8_t(*)[LEN])cop.dst - adst);
      if (n < 0 || n >= N || cop.src != src[n]) {
        fprintf(stderr, "fetched a request that was not submitted\n");
        return 1;
      }
      got++;
    }
    if (got < N && errno != EBUSY) {
      perror("ioctl(CIOCASYNCFETCH)");
      return 1;
    }
  }
  for (int n = 0; n < N; n++) {
    struct crypt_op cop;
    memset(&cop, 0, sizeof(cop));
    cop.ses = sess.ses;
    cop.op = COP_ENCRYPT;
    cop.len = LEN;
    cop.src = src[n];
    cop.dst = sdst;
    cop.iv = iv[n];
    if (ioctl(fd, CIOCCRYPT, &cop) || memcmp(sdst, adst[n], LEN) != 0) {
      fprintf(stderr, "request %d: asynchronous result differs from synchronous\n", n);
      ok = 0;
    }
  }
  ioctl(fd, CIOCFSESSION, &sess.ses);
  close(fd);
  printf("%s\n", ok ? "async: all answers right" : "async: FAILED");
  return ok ? 0 : 1;
}
