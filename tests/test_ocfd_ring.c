/* test_ocfd_ring.c - ocfd's submission and completion rings: many
 * shared-memory requests in flight through them (checked against OpenSSL),
 * the daemon's polling and the client's spinning, the event thread moving to
 * its clients' CPU, and a client writing the rings by hand (bad positions,
 * bad entries, overruns): errors or a disconnect, never a crash. */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "../src/client/wire.h"
#include "../src/ocfd/follow.h"
#include "test_ocfd_client.h"

/* --- the rings ---------------------------------------------------------------- */

/* gcm_ref seals p[len] with key/iv (no AAD) into out[len] + tag[16]. */
static void gcm_ref(const uint8_t *key, const uint8_t *iv, const uint8_t *p, int len, uint8_t *out,
                    uint8_t *tag) {
  EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
  int ol;
  assert_int_equal(EVP_EncryptInit_ex(x, EVP_aes_128_gcm(), NULL, key, iv), 1);
  assert_int_equal(EVP_EncryptUpdate(x, out, &ol, p, len), 1);
  assert_int_equal(EVP_EncryptFinal_ex(x, out + ol, &ol), 1);
  assert_int_equal(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, 16, tag), 1);
  EVP_CIPHER_CTX_free(x);
}

/* Shared-memory requests through the rings: many in flight, half of them
 * with IVs the daemon generates and returns, each checked against OpenSSL;
 * a session freed right after its requests were put in the ring still
 * serves them; an error comes back through the ring; a caller that waits
 * with poll() on ocfdev_fd() is woken; the rings and the socket agree. */
/* cpu_ticks: utime + stime of process pid, in clock ticks (-1 on error). */
static long cpu_ticks(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL) return -1;
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')'); /* the command name may hold spaces */
  unsigned long ut = 0, st = 0;
  if (p == NULL ||
      sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
    return -1;
  return (long)(ut + st);
}

static void t_ring(void **state) {
  (void)state;
  struct ocfdev *d = conn();
  uint8_t key[16];
  fill(key, 16, 9);
  uint32_t ses = session(d, OCF_ALG_AES_GCM, key, 16);
  struct ocfdev_stats *st0, *st1;
  assert_int_equal(ocfdev_stats(d, &st0), 0);
  enum { N = 600, LEN = 1024, STRIDE = 12 + LEN + 16 + 4 };
  struct ocfdev_shm *m;
  assert_int_equal(ocfdev_shm_create(d, (size_t)N * STRIDE, &m), 0);
  assert_int_equal(ocfdev_stats(d, &st1), 0);
  /* the rings were registered with the region: more than it was mapped */
  assert_true(st1->shm_bytes - st0->shm_bytes > (uint64_t)N * STRIDE);
  ocfdev_stats_free(st0);
  ocfdev_stats_free(st1);
  uint8_t *base = ocfdev_shm_base(m);
  static uint8_t plain[N][LEN];
  static struct ocfdev_op ops[N];
  struct ocfdev_op *p[N];
  for (int i = 0; i < N; i++) {
    uint8_t *b = base + (size_t)i * STRIDE;
    fill(plain[i], LEN, (unsigned)i);
    memcpy(b + 12, plain[i], LEN);
    ops[i] = (struct ocfdev_op){
        .ses = ses, .ndesc = 1, .shm = m, .shm_off = (size_t)i * STRIDE, .len = 12 + LEN + 16};
    ops[i].desc[0] = (struct ocf_desc){.alg = OCF_ALG_AES_GCM,
                                       .flags = OCF_D_ENCRYPT,
                                       .iv_off = 0,
                                       .skip = 12,
                                       .len = LEN,
                                       .inject = 12 + LEN};
    if (i % 2) { /* explicit IV; the others are generated */
      ops[i].desc[0].flags |= OCF_D_IV_EXPLICIT;
      fill(ops[i].desc[0].iv, 12, 1000u + (unsigned)i);
    }
    p[i] = &ops[i];
  }
  int sent, n, got = 0;
  assert_int_equal(ocfdev_submit_batch(d, p, N, &sent), 0);
  assert_int_equal(sent, N);
  while (got < N) { /* the way an event loop waits: poll, then reap without waiting */
    struct pollfd pf = {ocfdev_fd(d), POLLIN, 0};
    struct ocfdev_op *done[N];
    assert_int_equal(ocfdev_reap(d, done, N, 0, &n), 0);
    if (n == 0) {
      assert_int_equal(poll(&pf, 1, 10000), 1);
      continue;
    }
    for (int k = 0; k < n; k++) {
      struct ocfdev_op *op = done[k];
      assert_int_equal(op->error, 0);
      int i = (int)(op - ops);
      uint8_t *b = base + (size_t)i * STRIDE, ct[LEN], tag[16];
      if (i % 2 == 0) assert_memory_equal(op->desc[0].iv, b, 12); /* generated, returned */
      gcm_ref(key, op->desc[0].iv, plain[i], LEN, ct, tag);
      assert_memory_equal(b + 12, ct, LEN);
      assert_memory_equal(b + 12 + LEN, tag, 16);
    }
    got += n;
  }
  /* freed on the socket right behind its requests in the ring */
  uint32_t ses2 = session(d, OCF_ALG_AES_GCM, key, 16);
  for (int i = 0; i < 100; i++) {
    ops[i].ses = ses2;
    ops[i].desc[0].flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT;
  }
  assert_int_equal(ocfdev_submit_batch(d, p, 100, &sent), 0);
  assert_int_equal(ocfdev_freesession(d, ses2), 0);
  for (got = 0; got < 100; got += n) {
    struct ocfdev_op *done[100];
    assert_int_equal(ocfdev_reap(d, done, 100, 10000, &n), 0);
    for (int k = 0; k < n; k++) assert_int_equal(done[k]->error, 0);
  }
  /* errors travel back the same way */
  ops[0].ses = ses2; /* freed */
  assert_int_equal(ocfdev_crypt(d, &ops[0]), ENOENT);
  ops[0].ses = ses;
  ops[0].desc[0].flags = 0x4000; /* no such flag */
  assert_int_equal(ocfdev_crypt(d, &ops[0]), EINVAL);
  /* the same request through the rings and through the socket */
  ops[0].desc[0].flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT;
  uint8_t *b0 = base, first[12 + LEN + 16];
  memcpy(b0 + 12, plain[0], LEN);
  assert_int_equal(ocfdev_crypt(d, &ops[0]), 0);
  memcpy(first, b0, sizeof(first));
  memcpy(b0 + 12, plain[0], LEN);
  assert_int_equal(ocfdev_ring(d, 0), 0);
  assert_int_equal(ocfdev_crypt(d, &ops[0]), 0);
  assert_memory_equal(b0, first, sizeof(first));
  assert_int_equal(ocfdev_ring(d, 1), 0);
  /* Idle with a ring client connected, the daemon sleeps: it polls the
   * rings only while requests run and briefly after replies go out. */
  usleep(50000);
  long c0 = cpu_ticks(daemon_.pid);
  usleep(500000);
  long c1 = cpu_ticks(daemon_.pid);
  assert_true(c0 >= 0 && c1 - c0 < 15); /* under 30% of 0.5 s, at 100 ticks a second */
  /* Nor does one long request keep it polling: while a worker runs 8 MB of
   * 3DES, the daemon uses about one CPU, not two. */
  uint8_t k3[24];
  fill(k3, 24, 10);
  uint32_t s3 = session(d, OCF_ALG_3DES_CBC, k3, 24);
  struct ocfdev_shm *big;
  enum { BIG = 8 << 20 };
  assert_int_equal(ocfdev_shm_create(d, 8 + BIG, &big), 0);
  struct ocfdev_op lop = {.ses = s3, .ndesc = 1, .shm = big, .len = 8 + BIG};
  lop.desc[0] = (struct ocf_desc){
      .alg = OCF_ALG_3DES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .skip = 8, .len = BIG};
  struct timespec w0, w1;
  clock_gettime(CLOCK_MONOTONIC, &w0);
  c0 = cpu_ticks(daemon_.pid);
  assert_int_equal(ocfdev_crypt(d, &lop), 0);
  c1 = cpu_ticks(daemon_.pid);
  clock_gettime(CLOCK_MONOTONIC, &w1);
  double wall = (double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) / 1e9;
  assert_true(wall > 0.05); /* long enough to tell */
  assert_true((double)(c1 - c0) / 100.0 < 1.5 * wall + 0.03);
  assert_int_equal(ocfdev_shm_destroy(d, big), 0);
  struct ocfdev *other = conn(); /* not its region */
  assert_int_equal(ocfdev_shm_destroy(other, m), EINVAL);
  ocfdev_close(other);
  assert_int_equal(ocfdev_shm_destroy(d, m), 0);
  ocfdev_close(d);
}

/* thread_cpu_s: CPU time of the calling thread, in seconds. */
static double thread_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* wait_cpu_ms runs op synchronously on d and returns the CPU time the
 * calling thread spent, in milliseconds. */
static double wait_cpu_ms(struct ocfdev *d, struct ocfdev_op *op) {
  double c0 = thread_cpu_s();
  assert_int_equal(ocfdev_crypt(d, op), 0);
  return (thread_cpu_s() - c0) * 1e3;
}

/* A synchronous wait polls before it sleeps ($OCFDEV_SPIN_US), so short
 * requests mostly complete without the client going to sleep; a reply that
 * takes longer than the limit makes the next waits sleep at once, so long
 * requests do not burn the client's CPU.  And the daemon, which polls its
 * sockets too after traffic, sleeps again once the traffic stops.
 *
 * Only what holds on a loaded machine is asserted: that the spin engages
 * (a wait for a request much longer than a 40 ms spin burns CPU, 2 ms at
 * least, a twentieth of the spin's time, which no sleeping wait does) and
 * disengages (the waits right after it burn less).  How many short waits the spin saves
 * depends on the machine's load: ocfd-hostile prints it (sleeps per request,
 * docs/bench/hostile.md). */
static void t_sync_spin(void **state) {
  (void)state;
  uint8_t k3[24];
  fill(k3, 24, 3);
  enum { BIG = 12 << 20 }; /* 3DES: about 0.1 s, or more */
  struct ocfdev *d[2];
  struct ocfdev_op lop[2];
  for (int k = 0; k < 2; k++) {
    setenv("OCFDEV_SPIN_US", k ? "40000" : "0", 1);
    d[k] = conn();
    uint32_t s3 = session(d[k], OCF_ALG_3DES_CBC, k3, 24);
    struct ocfdev_shm *m;
    assert_int_equal(ocfdev_shm_create(d[k], 8 + BIG, &m), 0); /* no copy to cost CPU */
    lop[k] = (struct ocfdev_op){.ses = s3, .ndesc = 1, .shm = m, .len = 8 + BIG};
    lop[k].desc[0] = (struct ocf_desc){
        .alg = OCF_ALG_3DES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .skip = 8, .len = BIG};
  }
  unsetenv("OCFDEV_SPIN_US");
  double off = wait_cpu_ms(d[0], &lop[0]); /* never spins */
  double first = wait_cpu_ms(d[1], &lop[1]);
  double next = 0;
  for (int i = 0; i < 3; i++) next += wait_cpu_ms(d[1], &lop[1]) / 3;
  print_message(
      "CPU of a wait for 12 MB of 3DES: %.2f ms without the spin, %.2f ms with a "
      "40 ms spin, %.2f ms in the waits after it\n",
      off, first, next);
  assert_true(off < 2.0);
  assert_true(first >= 2.0); /* engaged */
  assert_true(next < 2.0);   /* and off again after a long reply */
  ocfdev_close(d[0]);
  /* The daemon goes back to sleep (under 30% of 0.5 s, at 100 ticks a
   * second; a second look if a busy machine delayed its going idle). */
  long used = 100;
  for (int attempt = 0; attempt < 2 && used >= 15; attempt++) {
    usleep(50000);
    long t0 = cpu_ticks(daemon_.pid);
    usleep(500000);
    long t1 = cpu_ticks(daemon_.pid);
    assert_true(t0 >= 0 && t1 >= t0);
    used = t1 - t0;
  }
  assert_true(used < 15);
  ocfdev_close(d[1]);
}

/* The event thread's move decision: only after a run of kicks to one other
 * CPU, never for unknown CPUs, and at most once per FOLLOW_GAP_NS. */
static void t_follow_decide(void **state) {
  (void)state;
  struct ocfd_follow f = {.cpu = -1};
  uint64_t t = 1000000000ull;
  for (int i = 0; i < 100; i++) assert_int_equal(ocfd_follow_decide(&f, 1, 1, t), -1);
  for (int i = 0; i < 100; i++) assert_int_equal(ocfd_follow_decide(&f, -1, 0, t), -1);
  for (int i = 0; i < 100; i++) assert_int_equal(ocfd_follow_decide(&f, 1, -1, t), -1);
  for (int i = 1; i < FOLLOW_RUN; i++) assert_int_equal(ocfd_follow_decide(&f, 1, 0, t), -1);
  assert_int_equal(ocfd_follow_decide(&f, 1, 0, t), 1);
  assert_int_equal(f.moves, 1);
  /* a kick on our own CPU ends the run; so does one to a third CPU */
  t += FOLLOW_GAP_NS;
  for (int i = 1; i < FOLLOW_RUN; i++) assert_int_equal(ocfd_follow_decide(&f, 0, 1, t), -1);
  assert_int_equal(ocfd_follow_decide(&f, 1, 1, t), -1);
  for (int i = 1; i < FOLLOW_RUN; i++) assert_int_equal(ocfd_follow_decide(&f, 0, 1, t), -1);
  assert_int_equal(ocfd_follow_decide(&f, 2, 1, t), -1);
  for (int i = 1; i < FOLLOW_RUN; i++) assert_int_equal(ocfd_follow_decide(&f, 0, 1, t), -1);
  assert_int_equal(ocfd_follow_decide(&f, 0, 1, t), 0);
  /* too soon after that move: the run is spent without one */
  t += FOLLOW_GAP_NS / 2;
  for (int i = 0; i < 3 * FOLLOW_RUN; i++) assert_int_equal(ocfd_follow_decide(&f, 1, 0, t), -1);
  t += FOLLOW_GAP_NS;
  for (int i = 1; i < FOLLOW_RUN; i++) assert_int_equal(ocfd_follow_decide(&f, 1, 0, t), -1);
  assert_int_equal(ocfd_follow_decide(&f, 1, 0, t), 1);
  assert_int_equal(f.moves, 3);
}

/* last_cpu: the CPU task tid of process pid last ran on (-1 on error). */
static int last_cpu(pid_t pid, pid_t tid) {
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
  FILE *f = fopen(path, "r");
  if (f == NULL) return -1;
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  if (p == NULL) return -1;
  int field = 2; /* p + 2 is field 3, the state */
  for (p += 2; *p && field < 38; p++)
    if (*p == ' ') field++;
  return *p ? atoi(p) : -1;
}

/* A ring client the daemon keeps waking on another CPU brings the event
 * thread (the daemon's main thread) over to its own CPU.  The daemon's log
 * (-vv, to a file) says when it moves; on a loaded machine the scheduler
 * may have put the thread there first, which the samples of where the
 * thread runs then show instead. */
static void t_follow(void **state) {
  (void)state;
  char logp[] = "/tmp/ocfdlog.XXXXXX"; /* mkstemp template */
  int lf = mkstemp(logp), saved = dup(2);
  assert_true(lf >= 0 && saved >= 0);
  dup2(lf, 2); /* the daemon inherits it as its stderr */
  struct ocfd_proc dp;
  int rc = ocfd_start(&dp, "-vv", NULL);
  dup2(saved, 2);
  close(saved);
  close(lf);
  assert_int_equal(rc, 0);
  cpu_set_t mine;
  assert_int_equal(sched_getaffinity(0, sizeof(mine), &mine), 0);
  int loop0 = last_cpu(dp.pid, dp.pid), to = -1;
  for (int c = 0; c < CPU_SETSIZE && to < 0; c++)
    if (c != loop0 && CPU_ISSET(c, &mine)) to = c;
  if (loop0 < 0 || to < 0) {
    assert_int_equal(ocfd_stop(&dp), 0);
    unlink(logp);
    skip(); /* one CPU: nowhere to move */
    return;
  }
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(to, &one);
  assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
  struct ocfdev *d = NULL;
  assert_int_equal(ocfdev_open(dp.sock, &d), 0);
  uint8_t key[16];
  fill(key, 16, 5);
  uint32_t ses = session(d, OCF_ALG_AES_GCM, key, 16);
  enum { LEN = 64 << 10 }; /* long enough to be waited for, and not run inline */
  struct ocfdev_shm *m;
  assert_int_equal(ocfdev_shm_create(d, 12 + LEN + 16, &m), 0);
  struct ocfdev_op op = {.ses = ses, .ndesc = 1, .shm = m, .len = 12 + LEN + 16};
  op.desc[0] = (struct ocf_desc){
      .alg = OCF_ALG_AES_GCM, .flags = OCF_D_ENCRYPT, .skip = 12, .len = LEN, .inject = 12 + LEN};
  /* One request at a time: the client sleeps for each completion.  Then
   * samples of where the event thread runs, between requests. */
  int on = 0, samples = 0;
  for (int attempt = 0; attempt < 3 && (samples == 0 || on < samples * 9 / 10); attempt++) {
    struct timespec t0, t;
    on = samples = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; samples < 200; i++) {
      assert_int_equal(ocfdev_crypt(d, &op), 0);
      clock_gettime(CLOCK_MONOTONIC, &t);
      double el = (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
      if (el > 10) break;
      if (el > 0.2 && i % 8 == 0) {
        samples++;
        on += last_cpu(dp.pid, dp.pid) == to;
      }
    }
    print_message("event thread on the client's CPU in %d of %d samples\n", on, samples);
  }
  ocfdev_close(d);
  assert_int_equal(sched_setaffinity(0, sizeof(mine), &mine), 0);
  assert_int_equal(ocfd_stop(&dp), 0);
  char want[64], line[512];
  snprintf(want, sizeof(want), "event thread moved to CPU %d,", to);
  bool moved = false;
  FILE *f = fopen(logp, "r");
  assert_non_null(f);
  while (!moved && fgets(line, sizeof(line), f) != NULL) moved = strstr(line, want) != NULL;
  fclose(f);
  unlink(logp);
  assert_int_equal(samples, 200);
  assert_true(moved || on >= samples * 9 / 10);
}

/* A client that drives the rings by hand: region and session set up on the
 * raw socket, then requests only through the ring. */
struct rawring {
  int fd;
  uint8_t *reg;
  size_t len;
  uint32_t sq, cq;
  uint64_t sq_tail, cq_head;
  uint32_t ses, shm;
};

static void rawring_open(struct rawring *r, uint32_t sq, uint32_t cq) {
  memset(r, 0, sizeof(*r));
  r->fd = raw();
  struct ocfw_hello hi = {OCFW_MAGIC, OCFW_VERSION};
  assert_int_equal(send_fd(r->fd, OCFW_HELLO, &hi, sizeof(hi), -1), 0);
  uint8_t ns[sizeof(struct ocfw_newsess) + sizeof(struct ocfw_param)] = {0};
  struct ocfw_newsess n = {0, 1};
  struct ocfw_param pa = {.alg = OCF_ALG_NULL};
  memcpy(ns, &n, sizeof(n));
  memcpy(ns + sizeof(n), &pa, sizeof(pa));
  wr(r->fd, OCFW_HDR_LEN + sizeof(ns), OCFW_NEWSESSION, 0, 5, ns, sizeof(ns));
  struct ocfw_hdr h;
  struct ocfw_sessinfo si;
  assert_int_equal(rd(r->fd, &h, (uint8_t *)&si, sizeof(si)), 0);
  assert_int_equal(h.status, 0);
  r->ses = si.ses;
  int mfd = sealed(4096, 1);
  uint64_t sz = 4096;
  assert_int_equal(send_fd(r->fd, OCFW_SHM_REG, &sz, sizeof(sz), mfd), 0);
  close(mfd);
  r->shm = last_u32;
  r->sq = sq;
  r->cq = cq;
  r->len = OCFW_RING_HDR + sq + cq;
  int rfd = sealed(r->len, 1);
  r->reg = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_SHARED, rfd, 0);
  assert_true(r->reg != MAP_FAILED);
  struct ocfw_ring_reg rr = {sq, cq};
  assert_int_equal(send_fd(r->fd, OCFW_RING_REG, &rr, sizeof(rr), rfd), 0);
  /* only one pair per connection */
  assert_int_equal(send_fd(r->fd, OCFW_RING_REG, &rr, sizeof(rr), rfd), EEXIST);
  close(rfd);
}

static void rawring_close(struct rawring *r) {
  munmap(r->reg, r->len);
  close(r->fd);
}

/* rawring_put writes one NULL request over 16 bytes of the region, asking
 * for its IV back (the reply is then 88 bytes). */
static void rawring_put(struct rawring *r, uint32_t tag, uint16_t flags) {
  uint8_t m[OCFW_HDR_LEN + sizeof(struct ocfw_crypt) + sizeof(struct ocfw_desc)] = {0};
  ocfw_put_hdr(m, sizeof(m), OCFW_CRYPT, flags, tag, 0);
  struct ocfw_crypt c = {.ses = r->ses, .ndesc = 1, .datalen = 16, .shm = r->shm};
  struct ocfw_desc dd = {.alg = OCF_ALG_NULL, .flags = OCF_D_ENCRYPT, .len = 16};
  memcpy(m + OCFW_HDR_LEN, &c, sizeof(c));
  memcpy(m + OCFW_HDR_LEN + sizeof(c), &dd, sizeof(dd));
  uint64_t head = ocfw_ring_ld(r->reg, OCFW_RING_SQ_HEAD);
  long at = ocfw_ring_room(r->reg + OCFW_RING_HDR, r->sq, &r->sq_tail, head, sizeof(m));
  assert_true(at >= 0);
  memcpy(r->reg + OCFW_RING_HDR + at, m, sizeof(m));
  r->sq_tail += sizeof(m);
}

/* kick: OCFW_KICK, which may find the connection already ended by the
 * daemon (after a broken ring): no SIGPIPE, no check. */
static void kick(int fd) {
  uint8_t hb[OCFW_HDR_LEN];
  ocfw_put_hdr(hb, OCFW_HDR_LEN, OCFW_KICK, 0, 0, 0);
  (void)!send(fd, hb, sizeof(hb), MSG_NOSIGNAL);
}

static void rawring_publish(struct rawring *r) {
  ocfw_ring_st(r->reg, OCFW_RING_SQ_TAIL, r->sq_tail);
  if (ocfw_ring_disarm(r->reg, OCFW_RING_SQ_ARMED)) kick(r->fd);
}

/* rawring_reap reads what the completion ring holds (checking each reply)
 * and returns how many. */
static int rawring_reap(struct rawring *r, int *errors) {
  uint8_t *cq = r->reg + OCFW_RING_HDR + r->sq;
  uint64_t tail = ocfw_ring_ld(r->reg, OCFW_RING_CQ_TAIL);
  int n = 0;
  struct ocfw_hdr h;
  long at;
  while ((at = ocfw_ring_next(cq, r->cq, &r->cq_head, tail, OCFW_RING_CQE_MAX, &h)) >= 0) {
    assert_int_equal(h.cmd, OCFW_CRYPT);
    if (h.status)
      (*errors)++;
    else
      assert_int_equal(h.len, OCFW_HDR_LEN + sizeof(struct ocfw_crypt_rep) + OCF_MAX_IV);
    r->cq_head += h.len;
    n++;
  }
  assert_int_equal(at, -1);
  ocfw_ring_st(r->reg, OCFW_RING_CQ_HEAD, r->cq_head);
  if (ocfw_ring_disarm(r->reg, OCFW_RING_SQ_ARMED)) kick(r->fd);
  return n;
}

/* expect_error: the daemon ends the connection with one OCFW_ERROR. */
static void expect_error(int fd) {
  struct ocfw_hdr h;
  uint8_t body[256];
  int rc;
  while ((rc = rd(fd, &h, body, sizeof(body))) == 0 && h.cmd == OCFW_KICK) {
  }
  assert_int_equal(rc, 0);
  assert_int_equal(h.cmd, OCFW_ERROR);
  assert_int_equal(h.status, EPROTO);
  assert_int_equal(rd(fd, &h, body, sizeof(body)), -1);
}

/* rawring_wait reaps until want completions came, sleeping on kicks. */
static int rawring_wait(struct rawring *r, int want, int *errors) {
  int got = 0;
  for (int spins = 0; got < want && spins < 4000; spins++) {
    int k = rawring_reap(r, errors);
    got += k;
    if (k == 0) { /* ask for a kick, look once more, then wait for it */
      ocfw_ring_arm(r->reg, OCFW_RING_CQ_ARMED);
      if (ocfw_ring_ld(r->reg, OCFW_RING_CQ_TAIL) != r->cq_head) continue;
      struct pollfd pf = {r->fd, POLLIN, 0};
      assert_int_equal(poll(&pf, 1, 10000), 1);
      struct ocfw_hdr h;
      uint8_t body[16];
      assert_int_equal(rd(r->fd, &h, body, sizeof(body)), 0);
      assert_int_equal(h.cmd, OCFW_KICK);
    }
  }
  return got;
}

/* A small completion ring holds back a client that does not read it: the
 * daemon takes requests only while their replies fit, and everything
 * completes once the client reads.  Registering rings wrongly is refused;
 * breaking them ends the connection and nothing else. */
static void t_ring_raw(void **state) {
  (void)state;
  struct rawring r;
  rawring_open(&r, 65536, OCFW_RING_MIN);
  enum { N = 400 };
  for (int i = 0; i < N; i++) rawring_put(&r, (uint32_t)i, OCFW_F_SHM | OCFW_F_WANTIV);
  rawring_put(&r, N, 0); /* not a shared-memory request: refused through the ring */
  rawring_publish(&r);
  /* without reading, at most a completion ring's worth is answered */
  usleep(200000);
  uint64_t taken = ocfw_ring_ld(r.reg, OCFW_RING_SQ_HEAD);
  assert_true(taken > 0 && taken < r.sq_tail);
  assert_true(ocfw_ring_ld(r.reg, OCFW_RING_CQ_TAIL) <= OCFW_RING_MIN);
  int errors = 0, got = rawring_wait(&r, N + 1, &errors);
  assert_int_equal(got, N + 1);
  assert_int_equal(errors, 1);
  /* another round wraps the submission ring (padding at its end) */
  uint64_t before = r.sq_tail;
  for (int i = 0; i < 200; i++) rawring_put(&r, (uint32_t)(1000 + i), OCFW_F_SHM | OCFW_F_WANTIV);
  assert_true(r.sq_tail / r.sq > before / r.sq);
  rawring_publish(&r);
  errors = 0;
  assert_int_equal(rawring_wait(&r, 200, &errors), 200);
  assert_int_equal(errors, 0);
  /* a tail beyond the ring */
  ocfw_ring_st(r.reg, OCFW_RING_SQ_TAIL, r.sq_tail + 2 * r.sq);
  kick(r.fd);
  expect_error(r.fd);
  rawring_close(&r);

  /* a message whose length is impossible */
  rawring_open(&r, OCFW_RING_MIN, OCFW_RING_MIN);
  ocfw_put_hdr(r.reg + OCFW_RING_HDR, 12, OCFW_CRYPT, OCFW_F_SHM, 1, 0);
  r.sq_tail = 16;
  rawring_publish(&r);
  kick(r.fd);
  expect_error(r.fd);
  rawring_close(&r);
  /* something other than a request */
  rawring_open(&r, OCFW_RING_MIN, OCFW_RING_MIN);
  ocfw_put_hdr(r.reg + OCFW_RING_HDR, 16, OCFW_HELLO, 0, 1, 0);
  r.sq_tail = 16;
  rawring_publish(&r);
  kick(r.fd);
  expect_error(r.fd);
  rawring_close(&r);
  /* completions read that were never published */
  rawring_open(&r, OCFW_RING_MIN, OCFW_RING_MIN);
  ocfw_ring_st(r.reg, OCFW_RING_CQ_HEAD, 4096);
  rawring_put(&r, 1, OCFW_F_SHM);
  rawring_publish(&r);
  kick(r.fd);
  expect_error(r.fd);
  rawring_close(&r);

  /* registrations that are refused, the connection going on */
  int fd = raw();
  struct ocfw_ring_reg bad[] = {{3000, 4096}, {4096, 1u << 30}, {0, 0}};
  int mfd = sealed(OCFW_RING_HDR + 8192, 1);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(send_fd(fd, OCFW_RING_REG, &bad[i], sizeof(bad[i]), mfd), EINVAL);
  struct ocfw_ring_reg ok = {4096, 4096};
  assert_int_equal(send_fd(fd, OCFW_RING_REG, &ok, sizeof(ok), -1), EBADF);
  int ufd = sealed(OCFW_RING_HDR + 8192, 0);
  assert_int_equal(send_fd(fd, OCFW_RING_REG, &ok, sizeof(ok), ufd), EPERM);
  struct ocfw_ring_reg big = {8192, 8192}; /* more than the file holds */
  assert_int_equal(send_fd(fd, OCFW_RING_REG, &big, sizeof(big), mfd), EINVAL);
  assert_int_equal(send_fd(fd, OCFW_RING_REG, &ok, sizeof(ok), mfd), 0);
  close(mfd), close(ufd), close(fd);
  healthy();
}

/* A ring quiet for a while leaves the daemon's rounds (parked, armed) and
 * must come back with its client's kick: while a neighbour keeps the daemon
 * awake (so it never arms the rings to sleep), a client whose ring went
 * quiet sends requests one at a time, each waited for.  The first one after
 * a pause kicks the daemon; the ones after it find the ring disarmed and do
 * not: they are taken only if the kick put the ring back on the rounds. */
static void *neighbour(void *arg) {
  struct ocfdev_bench_result *res = arg;
  (void)ocfdev_bench(daemon_.sock, OCF_ALG_NULL, 64, OCFDEV_BENCH_SHM, 16, 1.0, res);
  return NULL;
}

static void t_ring_park(void **state) {
  (void)state;
  struct ocfdev *d = conn();
  uint32_t ses = session(d, OCF_ALG_NULL, NULL, 0);
  struct ocfdev_shm *m;
  assert_int_equal(ocfdev_shm_create(d, 4096, &m), 0);
  uint8_t *base = ocfdev_shm_base(m);
  struct ocfdev_op op = {.ses = ses, .ndesc = 1, .shm = m, .shm_off = 0, .len = 64};
  op.desc[0] = (struct ocf_desc){.alg = OCF_ALG_NULL, .len = 64};
  struct ocfdev_bench_result nb;
  memset(&nb, 0, sizeof(nb));
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, neighbour, &nb), 0);
  usleep(50000); /* the neighbour is under way */
  for (int round = 0; round < 5; round++) {
    usleep(25000); /* quiet: longer than the daemon waits before parking */
    for (int i = 0; i < 40; i++) {
      fill(base, 64, (unsigned)(round * 40 + i));
      int n = 0;
      struct ocfdev_op *done[1];
      assert_int_equal(ocfdev_submit(d, &op), 0);
      assert_int_equal(ocfdev_reap(d, done, 1, 5000, &n), 0);
      if (n != 1) fail_msg("round %d, request %d after the pause: no completion in 5 s", round, i);
      assert_int_equal(op.error, 0);
    }
  }
  pthread_join(th, NULL);
  assert_true(nb.ops > 0);
  ocfdev_close(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(t_ring, setup, teardown),
      cmocka_unit_test_setup_teardown(t_ring_raw, setup, teardown),
      cmocka_unit_test_setup_teardown(t_ring_park, setup, teardown),
      cmocka_unit_test_setup_teardown(t_sync_spin, setup, teardown),
      cmocka_unit_test(t_follow_decide),
      cmocka_unit_test(t_follow),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
