/* ocf-ipc-ceiling - how fast could any daemon serve one client's AES-GCM
 * requests on this machine?  An upper bound for ocfd's shared-memory path,
 * measured rather than argued (docs/performance.md).
 *
 * "pipe" is the leanest two-process pipeline we know how to write: a client
 * process and a server process with --threads threads share one mapping
 * (buffers, submission queues, a completion queue).  The client keeps
 * --depth requests in flight, as `ocf bench --via ocfd` does; a server
 * thread takes a buffer index, seals the buffer in place with AES-128-GCM
 * (a context keyed once per thread, the IV reset per request, as the
 * framework's software producer does) and posts the index back.  Nothing
 * else: no framework, no sessions, no validation, no socket, no
 * descriptors, no statistics.  Waiting is by futex on the shared words, and
 * the client is woken only once depth / --batch-div completions are ready
 * or a queue ran dry, as ocfd moderates its replies (default 2: half the
 * window measured better than a third, docs/performance.md).  Whatever ocfd adds to this can only
 * cost more, so the pipe's rate over the in-process framework's (scripts/ocfd_ceiling.sh) bounds
 * what ocfd can reach here.
 *
 * "inproc" is the reference without a process boundary: --threads threads
 * of the same sealing, each on its own share of the buffers.
 *
 * "pingpong" measures the machine's price of one wake-up: two processes
 * take turns through one futex word, and the line gives the CPU time each
 * turn costs, which any two-process design pays whenever one side must
 * wait for the other.
 *
 * Options: --queues shared|per-thread (one submission queue that every
 * server thread takes from, or one per thread with the client spreading the
 * buffers over them: each buffer always stays with the same thread's
 * caches); --wait futex|yield|socket (the client sleeps on a futex until
 * woken; or never sleeps and calls sched_yield, which no real client should
 * do, to show what the wake-ups cost; or sleeps in poll() on a socket the
 * server threads write a byte to, as ocfd's clients are woken). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/futex.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RING 4096 /* slots per queue; more than any --depth allowed */
#define MAX_DEPTH 1024
#define MAX_THREADS 8
#define TAG_LEN 16

struct opts {
  double seconds;
  int depth, size, threads, batch_div, spin;
  bool inproc, pingpong, per_thread;
  enum { WAIT_FUTEX, WAIT_YIELD, WAIT_SOCKET } wait;
};
static struct opts o = {1.0, 64, 16384, 2, 2, 0, false, false, true, WAIT_FUTEX};
static int wake_fd[2] = {-1, -1}; /* --wait socket: [0] the client's end, [1] the server's */

/* A submission queue.  The client alone writes slots and tail; server
 * threads claim positions by compare-and-swap on head, reading the slot
 * before claiming it (at most --depth requests are ever queued or running,
 * far fewer than RING, so a slot is not rewritten while a claimant that
 * read it can still win). */
struct sq {
  _Alignas(64) _Atomic uint64_t tail;
  _Alignas(64) _Atomic uint64_t head;
  _Alignas(64) _Atomic uint32_t sleepers, seq; /* server threads asleep on seq */
  _Atomic uint32_t slot[RING];                 /* buffer index */
};

struct shared {
  struct sq q[MAX_THREADS];
  /* The completion queue: server threads reserve a position, then store
   * index + 1 there; the client reads slots in order and zeroes them. */
  _Alignas(64) _Atomic uint64_t cq_res;
  _Alignas(64) _Atomic uint32_t cq[RING];
  _Alignas(64) _Atomic uint32_t ready;       /* completions the client has not taken */
  _Alignas(64) _Atomic uint32_t cwait, cseq; /* the client asleep on cseq */
  _Atomic uint32_t stop;
  _Atomic uint64_t cwakes;
  _Alignas(64) uint8_t bufs[];
};

static struct shared *S;

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void futex_wait(_Atomic uint32_t *w, uint32_t v) {
  syscall(SYS_futex, w, FUTEX_WAIT, v, NULL, NULL, 0);
}
static void futex_wake(_Atomic uint32_t *w, int n) {
  syscall(SYS_futex, w, FUTEX_WAKE, n, NULL, NULL, 0);
}

static size_t stride(void) { return ((size_t)o.size + TAG_LEN + 63) & ~(size_t)63; }
static uint8_t *buf(uint32_t i) { return S->bufs + (size_t)i * stride(); }

static const unsigned char key[16] = {0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
                                      0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c};
static const unsigned char iv[12] = {0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce, 0xdb, 0xad};

static EVP_CIPHER_CTX *gcm_new(void) {
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  if (c == NULL || EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, key, iv) != 1) {
    fprintf(stderr, "ocf-ipc-ceiling: cannot set up AES-128-GCM\n");
    exit(1);
  }
  return c;
}

static void seal(EVP_CIPHER_CTX *c, uint8_t *b) {
  int n, m;
  if (EVP_EncryptInit_ex(c, NULL, NULL, NULL, iv) != 1 ||
      EVP_EncryptUpdate(c, b, &n, b, o.size) != 1 || EVP_EncryptFinal_ex(c, b + n, &m) != 1 ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, b + o.size) != 1) {
    fprintf(stderr, "ocf-ipc-ceiling: AES-128-GCM failed\n");
    exit(1);
  }
}

/* --- the server process --------------------------------------------------- */

static bool sq_empty(struct sq *q) { return atomic_load(&q->head) == atomic_load(&q->tail); }

/* sq_take: true with *idx set when a request was claimed. */
static bool sq_take(struct sq *q, uint32_t *idx) {
  for (;;) {
    uint64_t h = atomic_load(&q->head);
    if (h == atomic_load_explicit(&q->tail, memory_order_acquire)) return false;
    uint32_t v = atomic_load_explicit(&q->slot[h % RING], memory_order_relaxed);
    if (atomic_compare_exchange_weak(&q->head, &h, h + 1)) {
      *idx = v;
      return true;
    }
  }
}

static void complete(struct sq *q, uint32_t idx) {
  uint64_t at = atomic_fetch_add(&S->cq_res, 1);
  atomic_store(&S->cq[at % RING], idx + 1); /* seq_cst: ordered before the cwait load */
  uint32_t ready = atomic_fetch_add(&S->ready, 1) + 1;
  /* Wake the client once a batch is ready, or when this queue ran dry (its
   * thread has nothing left to do until the client refills it). */
  if (atomic_load(&S->cwait) && (ready >= (uint32_t)(o.depth / o.batch_div) || sq_empty(q)) &&
      atomic_exchange(&S->cwait, 0)) {
    if (o.wait == WAIT_SOCKET) {
      while (write(wake_fd[1], "w", 1) < 0 && errno == EINTR) {
      }
    } else {
      atomic_fetch_add(&S->cseq, 1);
      futex_wake(&S->cseq, 1);
    }
  }
}

static void *server_thread(void *arg) {
  struct sq *q = &S->q[o.per_thread ? (int)(intptr_t)arg : 0];
  EVP_CIPHER_CTX *c = gcm_new();
  for (;;) {
    uint32_t idx;
    bool got = sq_take(q, &idx);
    for (int i = 0; !got && i < o.spin; i++) {
      __builtin_ia32_pause();
      got = sq_take(q, &idx);
    }
    if (got) {
      seal(c, buf(idx));
      complete(q, idx);
      continue;
    }
    if (atomic_load(&S->stop)) break;
    uint32_t seq = atomic_load(&q->seq);
    atomic_fetch_add(&q->sleepers, 1);
    if (sq_empty(q) && !atomic_load(&S->stop)) futex_wait(&q->seq, seq);
    atomic_fetch_sub(&q->sleepers, 1);
  }
  EVP_CIPHER_CTX_free(c);
  return NULL;
}

static void server(void) {
  prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the client */
  if (getppid() == 1) _exit(1);
  pthread_t t[MAX_THREADS];
  for (int i = 0; i < o.threads; i++)
    if (pthread_create(&t[i], NULL, server_thread, (void *)(intptr_t)i) != 0) _exit(1);
  for (int i = 0; i < o.threads; i++) pthread_join(t[i], NULL);
  _exit(0);
}

/* --- the client ------------------------------------------------------------ */

static uint64_t tails[MAX_THREADS]; /* the client's unpublished tails */
static uint64_t seals[MAX_DEPTH];   /* times each buffer was sealed (or sent to be) */

static void submit(uint32_t idx) {
  seals[idx]++;
  struct sq *q = &S->q[o.per_thread ? idx % (uint32_t)o.threads : 0];
  uint64_t *t = &tails[q - S->q];
  atomic_store_explicit(&q->slot[*t % RING], idx, memory_order_relaxed);
  (*t)++;
}

static void publish(void) {
  for (int i = 0; i < (o.per_thread ? o.threads : 1); i++) {
    struct sq *q = &S->q[i];
    if (atomic_load_explicit(&q->tail, memory_order_relaxed) == tails[i]) continue;
    atomic_store(&q->tail, tails[i]); /* seq_cst: ordered before the sleepers load */
    if (atomic_load(&q->sleepers)) {
      atomic_fetch_add(&q->seq, 1);
      futex_wake(&q->seq, o.threads);
    }
  }
}

/* client: returns requests completed in the measured interval, *secs its length. */
static uint64_t client(double *secs) {
  uint64_t head = 0, n = 0;
  for (int i = 0; i < o.depth; i++) submit((uint32_t)i);
  publish();
  uint64_t t0 = now_ns(), end = t0 + (uint64_t)(o.seconds * 1e9);
  for (;;) {
    uint32_t got = 0, v;
    bool last = now_ns() >= end; /* then what completes now is not sent again */
    while ((v = atomic_load_explicit(&S->cq[head % RING], memory_order_acquire)) != 0) {
      atomic_store_explicit(&S->cq[head % RING], 0, memory_order_relaxed);
      head++;
      got++;
      if (!last) submit(v - 1);
    }
    if (got) {
      n += got;
      atomic_fetch_sub(&S->ready, got);
      if (last) break;
      publish();
      continue;
    }
    if (o.wait == WAIT_YIELD) {
      sched_yield();
      continue;
    }
    uint32_t seq = atomic_load(&S->cseq);
    atomic_store(&S->cwait, 1);
    if (atomic_load(&S->cq[head % RING]) != 0) {
      atomic_store(&S->cwait, 0);
      continue;
    }
    if (o.wait == WAIT_SOCKET) {
      /* as a client of ocfd waits: poll on the socket, then drain it (a
       * wake-up raced by our own look at the ring leaves a byte: one
       * spurious return, no lost one) */
      struct pollfd pfd = {.fd = wake_fd[0], .events = POLLIN};
      char drain[64];
      if (poll(&pfd, 1, -1) > 0) (void)!read(wake_fd[0], drain, sizeof(drain));
    } else {
      futex_wait(&S->cseq, seq);
    }
    atomic_fetch_add(&S->cwakes, 1);
  }
  *secs = (double)(now_ns() - t0) / 1e9;
  return n;
}

/* --- the price of a wake-up ------------------------------------------------ */

/* pingpong: the processes take turns through S->cseq, even for the
 * server's turn and odd for the client's; each passes the turn by
 * incrementing it and waking the other. */
static void pingpong_server(void) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) _exit(1);
  for (;;) {
    uint32_t v = atomic_load(&S->cseq);
    if (atomic_load(&S->stop)) _exit(0);
    if (v % 2 == 1) { /* the client's turn: wait for it to pass the turn back */
      futex_wait(&S->cseq, v);
      continue;
    }
    atomic_store(&S->cseq, v + 1);
    futex_wake(&S->cseq, 1);
  }
}

static uint64_t pingpong_client(double *secs) {
  uint64_t n = 0, t0 = now_ns(), end = t0 + (uint64_t)(o.seconds * 1e9);
  while (now_ns() < end) {
    for (int k = 0; k < 64; k++) {
      uint32_t v = atomic_load(&S->cseq);
      while (v % 2 == 0) { /* the server's turn */
        futex_wait(&S->cseq, v);
        v = atomic_load(&S->cseq);
      }
      atomic_store(&S->cseq, v + 1);
      futex_wake(&S->cseq, 1);
      n++;
    }
  }
  *secs = (double)(now_ns() - t0) / 1e9;
  return n;
}

/* --- in one process ---------------------------------------------------------- */

static _Atomic bool inproc_stop;
static _Atomic uint64_t inproc_done;

static void *inproc_thread(void *arg) {
  int me = (int)(intptr_t)arg, share = o.depth / o.threads;
  EVP_CIPHER_CTX *c = gcm_new();
  uint64_t k = 0;
  while (!atomic_load_explicit(&inproc_stop, memory_order_relaxed)) {
    uint32_t i = (uint32_t)(me * share + (int)(k++ % (uint64_t)share));
    seal(c, buf(i));
    seals[i]++; /* this thread's share alone */
  }
  atomic_fetch_add(&inproc_done, k);
  EVP_CIPHER_CTX_free(c);
  return NULL;
}

/* verify: every buffer must hold what sealing it seals[i] times gives.
 * AES-GCM with the IV reused is its own inverse on the payload (CTR), so the
 * payload alternates between the pattern and one ciphertext, and the tag is
 * that of the last sealing: two states to compute, whatever the counts. */
static bool verify(void) {
  uint8_t *one = malloc(stride()), *two = malloc(stride());
  if (one == NULL || two == NULL) return false;
  memset(one, 0x5a, stride());
  EVP_CIPHER_CTX *c = gcm_new();
  seal(c, one);
  memcpy(two, one, stride());
  seal(c, two);
  EVP_CIPHER_CTX_free(c);
  bool ok = true;
  for (int i = 0; i < o.depth && ok; i++) {
    uint8_t *b = buf((uint32_t)i);
    if (seals[i] == 0) {
      for (size_t k = 0; k < (size_t)o.size + TAG_LEN && ok; k++) ok = b[k] == 0x5a;
    } else {
      ok = memcmp(b, seals[i] % 2 ? one : two, (size_t)o.size + TAG_LEN) == 0;
    }
    if (!ok)
      fprintf(stderr, "ocf-ipc-ceiling: buffer %d, sealed %llu times, holds the wrong bytes\n", i,
              (unsigned long long)seals[i]);
  }
  free(one);
  free(two);
  return ok;
}

static double cpu_s(int who) {
  struct rusage ru;
  getrusage(who, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: ocf-ipc-ceiling [--mode pipe|inproc|pingpong] [--seconds S] [--depth N]\n"
          "                       [--size B] [--threads N] [--queues shared|per-thread]\n"
          "                       [--wait futex|yield|socket] [--batch-div D] [--spin N]\n"
          "AES-128-GCM requests of --size bytes (default 16384), --depth in flight (64),\n"
          "served by --threads threads (2) of another process (pipe) or of this one\n"
          "(inproc).  Prints one line: requests/s, CPU seconds of both processes,\n"
          "requests per CPU second, the client's own CPU seconds and wake-ups per second.\n"
          "The client is woken once depth / --batch-div (2) requests are done.\n"
          "pingpong: two processes taking turns through futexes; CPU time per turn.\n");
}

static int parse(int argc, char **argv) {
  static const struct option lo[] = {
      {"mode", 1, NULL, 'm'}, {"seconds", 1, NULL, 's'},   {"depth", 1, NULL, 'd'},
      {"size", 1, NULL, 'z'}, {"threads", 1, NULL, 't'},   {"queues", 1, NULL, 'q'},
      {"wait", 1, NULL, 'w'}, {"batch-div", 1, NULL, 'b'}, {"spin", 1, NULL, 'p'},
      {"help", 0, NULL, 'h'}, {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    char *e = NULL;
    long v = 0;
    if (strchr("dztbp", c)) {
      errno = 0;
      v = strtol(optarg, &e, 10);
      if (errno || *e || v < 0 || v > 1 << 24) goto bad;
    }
    switch (c) {
      case 'm':
        if (strcmp(optarg, "pipe") && strcmp(optarg, "inproc") && strcmp(optarg, "pingpong"))
          goto bad;
        o.inproc = strcmp(optarg, "inproc") == 0;
        o.pingpong = strcmp(optarg, "pingpong") == 0;
        break;
      case 's':
        o.seconds = strtod(optarg, &e);
        if (*e || !(o.seconds > 0 && o.seconds <= 600)) goto bad;
        break;
      case 'd':
        o.depth = (int)v;
        break;
      case 'z':
        o.size = (int)v;
        break;
      case 't':
        o.threads = (int)v;
        break;
      case 'b':
        o.batch_div = (int)v;
        break;
      case 'p':
        o.spin = (int)v;
        break;
      case 'q':
        if (strcmp(optarg, "shared") && strcmp(optarg, "per-thread")) goto bad;
        o.per_thread = strcmp(optarg, "per-thread") == 0;
        break;
      case 'w':
        if (!strcmp(optarg, "futex"))
          o.wait = WAIT_FUTEX;
        else if (!strcmp(optarg, "yield"))
          o.wait = WAIT_YIELD;
        else if (!strcmp(optarg, "socket"))
          o.wait = WAIT_SOCKET;
        else
          goto bad;
        break;
      case 'h':
        usage(stdout);
        exit(0);
      default:
        usage(stderr);
        return -1;
    }
    continue;
  bad:
    fprintf(stderr, "ocf-ipc-ceiling: bad option value '%s'\n", optarg);
    usage(stderr);
    return -1;
  }
  if (optind != argc || o.depth < 1 || o.depth > MAX_DEPTH || o.size < 1 || o.threads < 1 ||
      o.threads > MAX_THREADS || o.batch_div < 1 || o.depth < o.threads) {
    fprintf(stderr,
            "ocf-ipc-ceiling: need 1 <= threads <= %d, threads <= depth <= %d, size >= 1, "
            "batch-div >= 1\n",
            MAX_THREADS, MAX_DEPTH);
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (parse(argc, argv) != 0) return 2;
  size_t len = sizeof(struct shared) + stride() * (size_t)o.depth;
  S = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (S == MAP_FAILED) {
    perror("ocf-ipc-ceiling: mmap");
    return 1;
  }
  memset(S->bufs, 0x5a, stride() * (size_t)o.depth);
  double secs = 0, cpu0 = cpu_s(RUSAGE_SELF);
  uint64_t n = 0;
  if (o.inproc) {
    pthread_t t[MAX_THREADS];
    uint64_t t0 = now_ns();
    for (int i = 0; i < o.threads; i++)
      if (pthread_create(&t[i], NULL, inproc_thread, (void *)(intptr_t)i) != 0) return 1;
    struct timespec d = {(time_t)o.seconds, (long)((o.seconds - (double)(time_t)o.seconds) * 1e9)};
    while (nanosleep(&d, &d) != 0 && errno == EINTR) {
    }
    atomic_store(&inproc_stop, true);
    for (int i = 0; i < o.threads; i++) pthread_join(t[i], NULL);
    secs = (double)(now_ns() - t0) / 1e9;
    n = atomic_load(&inproc_done);
    printf("inproc threads=%d depth=%d size=%d: %.0f req/s  cpu_s %.3f  %.0f req/cpu_s\n",
           o.threads, o.depth, o.size, (double)n / secs, cpu_s(RUSAGE_SELF) - cpu0,
           (double)n / (cpu_s(RUSAGE_SELF) - cpu0));
    return verify() ? 0 : 1;
  }
  if (o.wait == WAIT_SOCKET && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, wake_fd) != 0) {
    perror("ocf-ipc-ceiling: socketpair");
    return 1;
  }
  if (wake_fd[0] >= 0) fcntl(wake_fd[0], F_SETFL, O_NONBLOCK);
  pid_t pid = fork();
  if (pid < 0) {
    perror("ocf-ipc-ceiling: fork");
    return 1;
  }
  if (pid == 0) {
    if (wake_fd[0] >= 0) close(wake_fd[0]);
    if (o.pingpong) pingpong_server();
    server();
  }
  if (wake_fd[1] >= 0) close(wake_fd[1]);
  n = o.pingpong ? pingpong_client(&secs) : client(&secs);
  double mine = cpu_s(RUSAGE_SELF) - cpu0;
  atomic_store(&S->stop, 1);
  atomic_fetch_add(&S->cseq, 2); /* the turn unchanged, the value not: a waiter returns */
  futex_wake(&S->cseq, 1);
  for (int i = 0; i < o.threads; i++) {
    atomic_fetch_add(&S->q[i].seq, 1);
    futex_wake(&S->q[i].seq, o.threads);
  }
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  /* The server's CPU includes its wind-down after the interval: a few of
   * --depth requests, negligible against seconds of work. */
  double cpu = mine + cpu_s(RUSAGE_CHILDREN);
  if (o.pingpong) {
    /* each of the n rounds is two turns, one in each process */
    printf(
        "pingpong: %.0f turns/s  cpu_s %.3f  %.2f us of CPU per turn (wake-up, switch, "
        "return)\n",
        2.0 * (double)n / secs, cpu, cpu * 1e6 / (2.0 * (double)n));
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
  }
  printf(
      "pipe threads=%d depth=%d size=%d queues=%s wait=%s batch-div=%d: %.0f req/s  cpu_s %.3f  "
      "%.0f req/cpu_s  client cpu_s %.3f  client wake-ups %.0f/s\n",
      o.threads, o.depth, o.size, o.per_thread ? "per-thread" : "shared",
      o.wait == WAIT_YIELD    ? "yield"
      : o.wait == WAIT_SOCKET ? "socket"
                              : "futex",
      o.batch_div, (double)n / secs, cpu, (double)n / cpu, mine,
      (double)atomic_load(&S->cwakes) / secs);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "ocf-ipc-ceiling: the server process failed\n");
    return 1;
  }
  return verify() ? 0 : 1; /* the server is gone: every request sent has been sealed */
}
