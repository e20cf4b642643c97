/* test_ocfd_cryptodev_fd.c - what happens to /dev/crypto descriptors under
 * the preload shim, as on the kernel device, with programs written against
 * the released cryptodev ABI (cdev_scenario.h): asynchronous requests and
 * their completions, select and poll, closing with requests in flight, dup
 * and fork, signals during requests, read and write, and exec.  The
 * requests themselves are in test_ocfd_cryptodev.c. */
#include "cdev_scenario.h"

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

static const struct cdev_scenario scenarios[] = {
    {"async", sc_async},   {"fds", sc_fds},           {"signals", sc_signals},
    {"select", sc_select}, {"closeall", sc_closeall}, {"rw", sc_rw},
    {"exec", sc_exec},     {"exec2", sc_exec2},       {"exec_idle", sc_exec_idle}};

static void t_async(void **s) { (void)s, run_scenario("async", NULL); }
static void t_fds(void **s) { (void)s, run_scenario("fds", NULL); }
static void t_signals(void **s) { (void)s, run_scenario("signals", NULL); }
static void t_select(void **s) { (void)s, run_scenario("select", NULL); }
static void t_closeall(void **s) { (void)s, run_scenario("closeall", NULL); }
static void t_rw(void **s) { (void)s, run_scenario("rw", NULL); }
static void t_exec(void **s) { (void)s, run_scenario("exec", NULL); }

int main(int argc, char **argv) {
  sc_argv = argc >= 3 ? argv + 3 : NULL;
  int rc = cdev_scenario_main(argc, argv, scenarios, sizeof(scenarios) / sizeof(scenarios[0]));
  if (rc >= 0) return rc;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_async),  cmocka_unit_test(t_fds),      cmocka_unit_test(t_signals),
      cmocka_unit_test(t_select), cmocka_unit_test(t_closeall), cmocka_unit_test(t_rw),
      cmocka_unit_test(t_exec),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
