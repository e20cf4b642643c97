/* test_ocfd_hostile.c - ocfd against clients that try to starve, freeze or
 * exhaust it (the attacks are tools/hostile/hostile.c, shared with the
 * ocfd-hostile measurement).  Each test runs one attack against a daemon of
 * its own and asserts, while the attack is in place, that a well-behaved
 * client (a new connection sealing 1 KB with AES-128-GCM) is served within a
 * stated time, and that the daemon's memory and mappings stay under its
 * configured bounds.  The bounds are generous: these tests must hold on a
 * loaded two-core machine; the figures worth reading are ocfd-hostile's. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "../src/client/wire.h"
#include "../tools/hostile/hostile.c"
#include "test_ocfd_util.h"

/* PROBE_S: how long a well-behaved client may take, attack or not. */
#define PROBE_S 5.0

/* RSS_SCALE: ThreadSanitizer keeps shadow memory of four to eight times
 * what the daemon allocates, which its RSS shows. */
#if defined(__SANITIZE_THREAD__)
#define RSS_SCALE 8
#else
#define RSS_SCALE 1
#endif

static struct ocfd_proc dp;
static struct hostile_report *rep;
static pid_t attacker; /* killed by the teardown if a test fails first */

static int setup(void **state) {
  (void)state;
  rep = hostile_report_new();
  return rep == NULL;
}

static int teardown(void **state) {
  (void)state;
  hostile_stop(attacker);
  attacker = 0;
  hostile_report_free(rep);
  int rc = dp.pid > 0 ? ocfd_stop(&dp) : 0;
  if (rc != 0) fprintf(stderr, "ocfd exited with status %d\n", rc);
  return rc;
}

/* served: a new well-behaved client gets its answer within PROBE_S. */
static void served(const char *when) {
  double s = hostile_probe(dp.sock, PROBE_S);
  print_message("%s: a well-behaved client served in %.3f s\n", when, s);
  assert_true(s >= 0);
}

/* 1. A ring client whose control message waits behind its own ring, and
 * which then streams bytes: the daemon reads no more than one message's
 * worth of what it cannot parse yet. */
static void t_read_bounded(void **state) {
  (void)state;
  assert_int_equal(ocfd_start(&dp, NULL), 0);
  long rss0 = hostile_rss_kb(dp.pid);
  struct hostile_opts o = {.limit = 256u << 20};
  attacker = hostile_start(dp.sock, HOSTILE_RING_STALL, &o, rep);
  assert_int_equal(hostile_wait(rep, 0, 10), 0);
  served("while the attacker streams");
  assert_int_equal(hostile_wait(rep, 1, 60), 0);
  long rss1 = hostile_rss_kb(dp.pid);
  print_message("ring-stall: the daemon took %llu KB; RSS %ld -> %ld KB\n",
                (unsigned long long)(rep->sent >> 10), rss0, rss1);
  served("after the stream");
  hostile_stop(attacker);
  attacker = 0;
  /* Socket buffers hold a few megabytes; the daemon itself holds at most
   * its 256 KB read buffer of them. */
  assert_true(rep->sent < (16u << 20));
  assert_true(rss1 - rss0 < 16 * 1024 * RSS_SCALE);
  served("after the attacker left");
}

/* 2. Descriptors the protocol has no use for, above all a TCP socket whose
 * close would linger for 20 s: refused at once (EBADF, the connection ends),
 * closed off the event thread, which keeps serving everyone. */
static void t_fd_no_freeze(void **state) {
  (void)state;
  assert_int_equal(ocfd_start(&dp, NULL), 0);
  long fds0 = hostile_nfds(dp.pid);
  struct hostile_opts o = {.conns = 20, .linger_s = 20};
  attacker = hostile_start(dp.sock, HOSTILE_LINGER_FD, &o, rep);
  assert_int_equal(hostile_wait(rep, 0, 10), 0);
  served("while lingering sockets are passed");
  assert_int_equal(hostile_wait(rep, 1, 30), 0);
  served("after 20 of them");
  print_message("linger-fd: %llu refused (first: %#llx), %llu accepted\n",
                (unsigned long long)rep->refused, (unsigned long long)rep->errs[0],
                (unsigned long long)rep->ok);
  assert_int_equal(rep->ok, 0);
  assert_int_equal(rep->refused, 20);
  for (int i = 0; i < 8; i++) assert_int_equal(rep->errs[i], HOSTILE_ENDED | EBADF);
  /* The refused descriptors are closed, without their lingers. */
  long fds1 = -1;
  for (int i = 0; i < 100 && (fds1 = hostile_nfds(dp.pid)) > fds0; i++) usleep(20000);
  print_message("daemon descriptors: %ld before, %ld after\n", fds0, fds1);
  assert_true(fds1 <= fds0);
  hostile_stop(attacker); /* its peers go: nothing lingers any more anyway */
  attacker = 0;
}

/* 3. Mappings: thirty connections registering 80 regions each meet the
 * daemon-wide --max-maps (and the per-connection 64); one connection that
 * unregisters regions while requests still use them meets its --max-shm,
 * because those count until they are really unmapped. */
static void t_maps(void **state) {
  (void)state;
  assert_int_equal(ocfd_start(&dp, "--max-maps", "1000", "--max-shm", "8M", NULL), 0);
  long maps0 = hostile_memfd_maps(dp.pid); /* the regions' mappings, no allocator's */
  struct hostile_opts o = {.conns = 30};
  attacker = hostile_start(dp.sock, HOSTILE_MAPS, &o, rep);
  assert_int_equal(hostile_wait(rep, 1, 60), 0);
  long maps1 = hostile_memfd_maps(dp.pid);
  print_message(
      "maps: %llu regions registered, %llu refused (first %#llx); daemon mappings "
      "%ld -> %ld\n",
      (unsigned long long)rep->ok, (unsigned long long)rep->refused,
      (unsigned long long)rep->errs[0], maps0, maps1);
  served("with the daemon's mappings spent");
  assert_true(rep->ok <= 1000 && rep->ok >= 900);
  assert_int_equal(rep->errs[0], ENOSPC);
  assert_true(maps1 - maps0 <= 1000);
  hostile_stop(attacker);
  attacker = 0;
  long rest = -1; /* the daemon unmaps what the attacker left */
  for (int i = 0; i < 500 && (rest = hostile_memfd_maps(dp.pid)) > maps0; i++) usleep(10000);
  assert_int_equal(rest, maps0);
  /* churn: 1 MB regions unregistered under their requests */
  o.conns = 300;
  attacker = hostile_start(dp.sock, HOSTILE_MAPS_CHURN, &o, rep);
  long peak = 0;
  double t0 = now_s();
  while (!rep->done && !rep->fail && now_s() - t0 < 60) {
    long m = hostile_memfd_maps(dp.pid);
    if (m > peak) peak = m;
    usleep(2000);
  }
  print_message("churn: %llu regions, %llu refused; daemon mappings at most %ld (%ld at rest)\n",
                (unsigned long long)rep->ok, (unsigned long long)rep->refused, peak, rest);
  assert_int_equal(rep->fail, 0);
  assert_int_equal(rep->done, 1);
  assert_true(rep->refused > 0);     /* the 8 MB were spent by regions still in use */
  assert_true(peak - rest <= 8 + 1); /* 8 MB of 1 MB regions, and its rings */
  served("after the churn");
}

/* aes_1m: one 1 MB AES-128-CTR request on a new connection; its seconds. */
static double aes_1m(void) {
  struct ocfdev *d = NULL;
  double t0 = now_s();
  assert_int_equal(ocfdev_open(dp.sock, &d), 0);
  uint8_t key[16] = {3};
  struct ocf_sessparam p = {.alg = OCF_ALG_AES_CTR, .key = key, .keylen = 16};
  uint32_t ses;
  assert_int_equal(ocfdev_newsession(d, &p, 0, &ses, NULL), 0);
  static uint8_t buf[1 << 20];
  struct ocfdev_op op = {.ses = ses, .ndesc = 1, .buf = buf, .len = sizeof(buf)};
  op.desc[0] = (struct ocf_desc){
      .alg = OCF_ALG_AES_CTR, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = sizeof(buf)};
  assert_int_equal(ocfdev_crypt(d, &op), 0);
  ocfdev_close(d);
  return now_s() - t0;
}

/* 4. 16384-bit exponentiations (about 0.9 s each on one core).  A client
 * that queues thirty and leaves: its queued ones are dropped, and another
 * client's 1 MB AES waits for at most the few already running.  A client
 * that keeps sixteen queued: the daemon reads no more of them than
 * --max-work (2 s of estimated worker time) allows, and others are served
 * beside it. */
static void t_pk(void **state) {
  (void)state;
  assert_int_equal(ocfd_start(&dp, NULL), 0);
  attacker = hostile_start(dp.sock, HOSTILE_PK_LEAVE, &(struct hostile_opts){0}, rep);
  assert_int_equal(hostile_wait(rep, 1, 30), 0);
  double s = aes_1m();
  print_message("pk-leave: %llu sent, then gone; 1 MB AES-CTR took %.2f s\n",
                (unsigned long long)rep->sent, s);
  assert_true(s < 10);
  hostile_stop(attacker);
  attacker = 0;
  attacker = hostile_start(dp.sock, HOSTILE_PK, &(struct hostile_opts){0}, rep);
  assert_int_equal(hostile_wait(rep, 0, 30), 0);
  usleep(1000000);
  struct ocfdev *g = NULL;
  assert_int_equal(ocfdev_open(dp.sock, &g), 0);
  struct ocfdev_stats *st = NULL;
  assert_int_equal(ocfdev_stats(g, &st), 0);
  uint64_t inflight = st->inflight;
  ocfdev_stats_free(st);
  ocfdev_close(g);
  s = aes_1m();
  print_message("pk: %llu sent, %llu answered; the daemon holds %llu; 1 MB AES-CTR took %.2f s\n",
                (unsigned long long)rep->sent, (unsigned long long)rep->ok,
                (unsigned long long)inflight, s);
  served("while the exponentiations run");
  assert_true(inflight <= 4);
  assert_true(s < 10);
}

/* 5. Memory, all clients together: twelve connections that each send
 * 15 MB of a 16 MB request and stop, sixteen that never read their replies,
 * eight that open sessions until refused.  Each against a daemon with
 * --max-memory 64M (32M for the sessions, which are slow to make): its RSS
 * grows by the budget at most (and some slack for the allocator), and a
 * well-behaved client is served meanwhile. */
static void memory_attack(enum hostile_attack a, int conns, const char *budget, long *grew,
                          uint64_t *refused) {
  assert_int_equal(ocfd_start(&dp, "--max-memory", budget, NULL), 0);
  long rss0 = hostile_rss_kb(dp.pid);
  struct hostile_opts o = {.conns = conns};
  double t0 = now_s();
  attacker = hostile_start(dp.sock, a, &o, rep);
  assert_int_equal(hostile_wait(rep, 1, 120), 0);
  print_message("%s: in place after %.1f s\n", hostile_name(a), now_s() - t0);
  usleep(300000);
  long rss1 = hostile_rss_kb(dp.pid);
  print_message(
      "%s: %llu done, %llu refused (first %#llx), %llu MB sent; daemon RSS %ld -> %ld KB\n",
      hostile_name(a), (unsigned long long)rep->ok, (unsigned long long)rep->refused,
      (unsigned long long)rep->errs[0], (unsigned long long)(rep->sent >> 20), rss0, rss1);
  served(hostile_name(a));
  *grew = rss1 - rss0;
  *refused = rep->refused;
  hostile_stop(attacker);
  attacker = 0;
  assert_int_equal(ocfd_stop(&dp), 0);
}

static void t_memory(void **state) {
  (void)state;
#if defined(__SANITIZE_ADDRESS__)
  /* freed memory waits in ASan's quarantine (256 MB by default), which the
   * daemon's RSS would show */
  char env[512];
  const char *was = getenv("ASAN_OPTIONS");
  snprintf(env, sizeof(env), "%s%squarantine_size_mb=4", was ? was : "", was && *was ? ":" : "");
  setenv("ASAN_OPTIONS", env, 1);
#endif
  long grew;
  uint64_t refused;
  memory_attack(HOSTILE_HALF_SENT, 12, "64M", &grew, &refused);
  assert_true(grew < 96 * 1024 * RSS_SCALE);
  assert_true(refused > 0); /* messages past the budget end their connections */
  memory_attack(HOSTILE_NO_READ, 16, "64M", &grew, &refused);
  assert_true(grew < 96 * 1024 * RSS_SCALE);
  memory_attack(HOSTILE_SESSIONS, 8, "32M", &grew, &refused);
  assert_true(grew < 96 * 1024 * RSS_SCALE);
  bool nomem = false; /* (ENOSPC first: --max-sessions, per connection) */
  for (int i = 0; i < 8 && i < (int)refused; i++) nomem |= rep->errs[i] == ENOMEM;
  assert_true(nomem);
}

/* 6. Out of descriptors.  Started under RLIMIT_NOFILE 1024, the daemon
 * lowers max-clients to what fits and says so; connections past it are
 * refused, one by one, without a busy loop.  Then with its limit cut under
 * it (EMFILE on accept), it backs off and logs once a second. */
static void t_nofile(void **state) {
  (void)state;
  char logp[] = "/tmp/ocfdlog.XXXXXX";
  int lf = mkstemp(logp);
  assert_true(lf >= 0);
  close(lf);
  const char *args[] = {"--max-clients", "4096", NULL};
  assert_int_equal(ocfd_spawn(&dp, 1024, logp, args), 0);
  struct ocfdev *g = NULL; /* a well-behaved client, connected first */
  assert_int_equal(ocfdev_open(dp.sock, &g), 0);
  struct gcm1k gg;
  assert_int_equal(gcm1k_open(dp.sock, &gg), 0);
  struct hostile_opts o = {.conns = 1100}; /* past RLIMIT_NOFILE */
  attacker = hostile_start(dp.sock, HOSTILE_CONNECT, &o, rep);
  assert_int_equal(hostile_wait(rep, 1, 30), 0);
  usleep(300000);
  long t0 = hostile_cpu_ticks(dp.pid);
  double s0 = now_s();
  assert_int_equal(gcm1k_run(&gg, 1), 0);
  double first = now_s() - s0;
  usleep(1000000);
  long t1 = hostile_cpu_ticks(dp.pid);
  struct ocfdev_stats *st = NULL;
  assert_int_equal(ocfdev_stats(g, &st), 0);
  print_message(
      "connect flood: %llu connections; daemon: %u clients, %ld CPU ticks in 1 s; "
      "request served in %.3f s\n",
      (unsigned long long)rep->ok, st->clients, t1 - t0, first);
  assert_true(first < PROBE_S);
  assert_true(t1 - t0 < 20); /* not spinning (a spin is up to 100 a second) */
  assert_true(st->clients < 600 && st->clients > 100); /* lowered, and serving */
  ocfdev_stats_free(st);
  hostile_stop(attacker);
  attacker = 0;
  /* EMFILE: the daemon's limit cut to what it holds now, plus a few. */
  usleep(200000);
  long held = hostile_nfds(dp.pid);
  struct rlimit old, cut;
  assert_int_equal(prlimit(dp.pid, RLIMIT_NOFILE, NULL, &old), 0);
  cut = (struct rlimit){(rlim_t)held + 4, old.rlim_max}; /* the soft limit only */
  if (prlimit(dp.pid, RLIMIT_NOFILE, &cut, NULL) != 0) {
    print_message("prlimit: %s; EMFILE part skipped\n", strerror(errno));
  } else {
    o.conns = 300;
    attacker = hostile_start(dp.sock, HOSTILE_CONNECT, &o, rep);
    assert_int_equal(hostile_wait(rep, 1, 30), 0);
    t0 = hostile_cpu_ticks(dp.pid);
    s0 = now_s();
    assert_int_equal(gcm1k_run(&gg, 2), 0);
    first = now_s() - s0;
    usleep(1000000);
    t1 = hostile_cpu_ticks(dp.pid);
    print_message("at EMFILE: %ld CPU ticks in 1 s; request served in %.3f s\n", t1 - t0, first);
    assert_true(first < PROBE_S);
    assert_true(t1 - t0 < 20);
    hostile_stop(attacker);
    attacker = 0;
    assert_int_equal(prlimit(dp.pid, RLIMIT_NOFILE, &old, NULL), 0);
    usleep(300000);
    served("after the flood, limit restored");
  }
  ocfdev_close(gg.d);
  ocfdev_close(g);
  assert_int_equal(ocfd_stop(&dp), 0);
  /* The log: the lowered limit, and refusals a few times a second at most. */
  FILE *f = fopen(logp, "r");
  assert_non_null(f);
  char line[512];
  int lowered = 0, refusals = 0, lines = 0;
  while (fgets(line, sizeof(line), f)) {
    lines++;
    lowered += strstr(line, "serving at most") != NULL;
    refusals += strstr(line, "refusing") != NULL || strstr(line, "accept") != NULL;
  }
  fclose(f);
  unlink(logp);
  print_message("log: %d lines, %d refusals; max-clients lowered: %d\n", lines, refusals, lowered);
  assert_int_equal(lowered, 1);
  assert_true(lines < 40);
}

/* Session and region ids tell a client nothing about other clients: they
 * are not drawn from one counter (19.5). */
static void t_ids_private(void **state) {
  (void)state;
  assert_int_equal(ocfd_start(&dp, NULL), 0);
  struct ocfdev *a = NULL, *b = NULL;
  assert_int_equal(ocfdev_open(dp.sock, &a), 0);
  assert_int_equal(ocfdev_open(dp.sock, &b), 0);
  struct ocf_sessparam p = {.alg = OCF_ALG_NULL};
  uint32_t a1, a2, bs[50];
  assert_int_equal(ocfdev_newsession(a, &p, 0, &a1, NULL), 0);
  for (int i = 0; i < 50; i++) assert_int_equal(ocfdev_newsession(b, &p, 0, &bs[i], NULL), 0);
  assert_int_equal(ocfdev_newsession(a, &p, 0, &a2, NULL), 0);
  int steps = 0; /* ids one more than the previous one */
  for (int i = 1; i < 50; i++) steps += bs[i] == bs[i - 1] + 1;
  print_message("a: %u then %u; b's 50 sessions: %d consecutive ids\n", a1, a2, steps);
  assert_true(a1 != 0 && a2 != 0 && a1 != a2);
  assert_true(a2 != a1 + 51); /* b's 50 sessions do not show */
  assert_true(steps < 5);
  struct ocfdev_shm *ra, *rb[10], *ra2;
  assert_int_equal(ocfdev_ring(a, 0), 0); /* regions only, no rings */
  assert_int_equal(ocfdev_ring(b, 0), 0);
  assert_int_equal(ocfdev_shm_create(a, 4096, &ra), 0);
  for (int i = 0; i < 10; i++) assert_int_equal(ocfdev_shm_create(b, 4096, &rb[i]), 0);
  assert_int_equal(ocfdev_shm_create(a, 4096, &ra2), 0);
  /* the region ids are the first four bytes of the handles' opaque struct:
   * look through the protocol instead, as another client would */
  ocfdev_close(a);
  ocfdev_close(b);
  int fd = h_connect(dp.sock);
  assert_true(fd >= 0);
  uint32_t r[12];
  for (int i = 0; i < 12; i++) assert_int_equal(h_region(fd, 4096, &r[i], NULL), 0);
  steps = 0;
  for (int i = 1; i < 12; i++) steps += r[i] == r[i - 1] + 1;
  assert_true(steps < 3);
  close(fd);
  served("at the end");
}

/* scan counts the places where pat[n] appears in the writable memory of
 * process pid; with mask, it looks for pat XOR mask instead (so that the
 * scanning process can look through itself without finding its copy). */
static long scan(pid_t pid, const uint8_t *pat, size_t n, uint8_t mask) {
  char path[64], line[512];
  snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
  int mfd = open(path, O_RDONLY);
  assert_true(mfd >= 0);
  long found = 0;
  static uint8_t buf[1 << 20];
  while (fgets(line, sizeof(line), f)) {
    unsigned long lo, hi;
    char perm[8];
    if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perm) != 3 || perm[1] != 'w') continue;
    assert_true(hi - lo < (1ul << 32)); /* a reservation this size would take forever */
    for (unsigned long at = lo; at < hi;) {
      size_t want = hi - at < sizeof(buf) ? hi - at : sizeof(buf);
      ssize_t got = pread(mfd, buf, want, (off_t)at);
      if (got <= 0) break;
      for (size_t i = 0; i + n <= (size_t)got; i++) {
        size_t k = 0;
        while (k < n && (uint8_t)(buf[i + k] ^ mask) == pat[k]) k++;
        found += k == n;
      }
      at += (unsigned long)got - (got > (ssize_t)n ? n : 0); /* overlap the seams */
      if ((size_t)got <= n) break;
    }
  }
  explicit_bzero(buf, sizeof(buf));
  close(mfd);
  fclose(f);
  return found;
}

/* A public-key request's inputs and results leave no copy in the daemon
 * once answered, nor in the client library once handed over. */
static void t_key_wiped(void **state) {
  (void)state;
  assert_int_equal(ocfd_start(&dp, NULL), 0);
  struct ocfdev *d = NULL;
  assert_int_equal(ocfdev_open(dp.sock, &d), 0);
  enum { NB = 128 };
  uint8_t base[NB], exp[NB], mod[NB], res[NB];
  uint32_t x = 0x9e3779b9u;
  for (int i = 0; i < NB; i++) {
    x = x * 1664525u + 1013904223u;
    exp[i] = (uint8_t)(x >> 24);
    base[i] = (uint8_t)(x >> 16);
    mod[i] = (uint8_t)(x >> 8);
  }
  mod[0] |= 1, mod[NB - 1] = 0xff, base[NB - 1] = 0x7f; /* odd modulus above the base */
  struct ocf_kreq k = {.op = OCF_KOP_MOD_EXP, .iparams = 3, .oparams = 1};
  k.param[0] = (struct ocf_kparam){base, NB * 8};
  k.param[1] = (struct ocf_kparam){exp, NB * 8};
  k.param[2] = (struct ocf_kparam){mod, NB * 8};
  k.param[3] = (struct ocf_kparam){res, NB * 8};
  assert_int_equal(ocfdev_kop(d, &k), 0);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  /* The sanitizers' shadow and allocators reserve terabytes of writable
   * address space: too much to read through /proc/pid/mem.  The release
   * build of this test does the scan. */
  print_message("memory scan skipped under a sanitizer\n");
  ocfdev_close(d);
  served("at the end");
  return;
#endif
  uint8_t masked[NB];
  for (int i = 0; i < NB; i++) masked[i] = res[i] ^ 0x5a;
  explicit_bzero(res, sizeof(res));
  /* the result in the client: only the caller's copy, now gone */
  long mine = scan(getpid(), masked, 32, 0x5a);
  for (int i = 0; i < NB; i++) res[i] = masked[i] ^ 0x5a;
  explicit_bzero(masked, sizeof(masked));
  long in_daemon[4] = {scan(dp.pid, exp, 32, 0), scan(dp.pid, res, 32, 0)};
  ocfdev_close(d);
  usleep(100000);
  in_daemon[2] = scan(dp.pid, exp, 32, 0);
  in_daemon[3] = scan(dp.pid, res, 32, 0);
  print_message(
      "copies: result in the client %ld; in the daemon, exponent %ld, result %ld, "
      "after the client left %ld, %ld\n",
      mine, in_daemon[0], in_daemon[1], in_daemon[2], in_daemon[3]);
  assert_int_equal(mine, 0);
  for (int i = 0; i < 4; i++) assert_int_equal(in_daemon[i], 0);
  served("at the end");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(t_read_bounded, setup, teardown),
      cmocka_unit_test_setup_teardown(t_fd_no_freeze, setup, teardown),
      cmocka_unit_test_setup_teardown(t_maps, setup, teardown),
      cmocka_unit_test_setup_teardown(t_pk, setup, teardown),
      cmocka_unit_test_setup_teardown(t_memory, setup, teardown),
      cmocka_unit_test_setup_teardown(t_nofile, setup, teardown),
      cmocka_unit_test_setup_teardown(t_ids_private, setup, teardown),
      cmocka_unit_test_setup_teardown(t_key_wiped, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
