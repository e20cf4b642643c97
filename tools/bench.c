/* bench.c - `ocf bench`: options, the case loop, and the table / JSON / CSV
 * output.  Each (algorithm, size) case runs through the framework and then
 * as direct OpenSSL calls on the same data, in the same process; with
 * --ocfd / --via ocfd also through the daemon (libocfdev), three ways: one
 * request at a time with data copied through the socket (cryptodev-style),
 * many in flight copied, and many in flight in shared memory; and a cryptodev
 * program's CIOCCRYPT loop under the preload shim (bench_cdev.c). */
#include "bench_main.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <ocf/driver.h>
#include <ocf/ocfdev.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_cdev.h"
#include "ocf_tool.h"

static const char *const default_algs =
    "null,3des-cbc,aes-128-cbc,aes-128-gcm,chacha20-poly1305,hmac-sha1";
static const char *const default_sizes = "16,64,256,1024,8192,16384";

#ifdef OCF_HAVE_OCFDEV
static const enum ocfdev_bench_mode dev_mode[] = {OCFDEV_BENCH_SYNC, OCFDEV_BENCH_ASYNC,
                                                  OCFDEV_BENCH_SHM};
#endif

const struct path_info bench_paths[NPATH] = {
    [P_OCF] = {"ocf", "framework", P_DIRECT},
    [P_DIRECT] = {"direct", "OpenSSL direct", -1},
    [P_OCF1] = {"ocf-1core", "framework, same core", P_DIRECT},
    [P_DEV_SYNC] = {"ocfd", "ocfd", P_OCF},
    [P_DEV_ASYNC] = {"ocfd-async", "ocfd-async", P_OCF},
    [P_DEV_SHM] = {"ocfd-shm", "ocfd-shm", P_OCF},
    /* a cryptodev program: relative to one thread of OpenSSL in the process */
    [P_DEV_CDEV] = {"cdev", "cdev (CIOCCRYPT)", P_DIRECT},
};

void bench_usage(FILE *f) {
  fprintf(f,
          "usage: ocf bench [options]\n"
          "\n"
          "Runs each (algorithm, size) case in one process through the framework\n"
          "(asynchronous ocf_dispatch, a window of requests in flight per thread) and as\n"
          "direct OpenSSL EVP calls on the same data and key, and prints them side by side:\n"
          "requests per second and the CPU seconds each path used.  The framework runs\n"
          "twice: with every thread of the process pinned to one CPU, as the direct path\n"
          "is (same core: the per-core ratio), and on all CPUs (a multi-core speed-up\n"
          "over one direct thread, and its efficiency per CPU second).\n"
          "\n"
          "  --alg A,B,...      algorithms, or cipher+mac chains like aes-128-cbc+hmac-sha1\n"
          "                     (see --list); default:\n"
          "                     %s\n"
          "  --sizes N,N,...    request sizes in bytes (default %s)\n"
          "  --producer NAME    only sessions on that producer (see `ocf drivers`)\n"
          "  --threads N        consumer threads, for both paths (default 1)\n"
          "  --seconds S        measuring time per case and path (default 1.0)\n"
          "  --window N         requests in flight per thread (default 64)\n"
          "  --batch N          resubmit with ocf_dispatch_batch, up to N per call\n"
          "                     (default: each callback resubmits with ocf_dispatch)\n"
          "  --workers N        framework worker threads (default: online CPUs)\n"
          "  --direct-bufs N    buffers the direct path cycles through per thread\n"
          "                     (default: the window, so both paths touch as much memory)\n"
          "  --rounds N         alternate the paths N times per case, each round\n"
          "                     seconds/N long and in reverse order every other round, so\n"
          "                     drifting machine load hits all alike; ratios are the\n"
          "                     medians of the rounds' ratios (default 4)\n"
          "  --no-verify        skip the one-request output check against OpenSSL\n"
          "  --only PATH        run one path only (for profiling; no ratio): ocf, direct,\n"
          "                     or with --via ocfd / --ocfd ocfd, ocfd-async, ocfd-shm, cdev\n"
          "  --no-same-core     skip the framework's same-core run (the direct path then\n"
          "                     runs unpinned)\n"
          "  --list             print all algorithm names and exit\n"
          "  --ipsec            ESP through libocfipsec instead (see ocf bench --ipsec --help)\n"
          "  --json FILE        write results as one JSON array ('-' = stdout)\n"
          "  --csv FILE         write results as CSV ('-' = stdout)\n"
          "  -q, --quiet        no table and no progress (use with --json / --csv)\n"
          "  --plot DIR         draw throughput vs size (gnuplot) as DIR/bench.svg and .png\n"
          "  --devices SPEC     attach modeled cards (ocf_init's devices, e.g.\n"
          "                     hifn7751*4@pci64); default $OCF_DEVICES\n"
          "  --policy NAME      balancing policy: sessions, capacity, size\n"
          "  --ocfd SOCKET      also measure each case through the ocfd on SOCKET ('-' =\n"
          "                     $OCF_SOCKET, else %s): one request at a time,\n"
          "                     data copied (path ocfd, as CIOCCRYPT); --window in flight,\n"
          "                     copied (ocfd-async); --window in flight in shared memory\n"
          "                     (ocfd-shm)\n"
          "  --via ocfd         the same; without --ocfd, through a private ocfd started\n"
          "                     from the directory of this `ocf` for the run\n"
          "  -h, --help         this text\n"
          "\n"
          "The paper's evaluation (section 5), one command each:\n"
          "  --figure 1         throughput vs size: null, des, 3des, aes-128-cbc, aes-128-gcm,\n"
          "                     per producer (1 and 64 in flight), direct OpenSSL beside\n"
          "  --figure 2 | 3     RSA sign | verify per second vs modulus size, per producer\n"
          "  --figure 4         a CPU-bound process's elapsed time while 1..24 threads do\n"
          "                     DES, 3DES, DSA-1024 in software vs offloaded to a card model\n"
          "  --table 1 | 2      3DES, threads x sizes, four Hifn 7751 | Broadcom 5820 models,\n"
          "                     beside the paper's Mbit/s\n"
          "  --experiment hetero | dedicated\n"
          "                     capacity vs sessions on a mixed set of producers | the cpu\n"
          "                     producer vs inline software, one consumer thread\n"
          "  --paper            all of the above and a Markdown report (--out, default\n"
          "                     docs/bench/report.md; plots next to it unless --plot)\n"
          "  --full             the long version (more sizes, threads, seconds)\n"
          "  --out FILE         where --paper writes its report\n"
          "  --ocfd SOCKET      figure 1 also through a running ocfd (--via ocfd: a private one)\n"
          "  (--seconds, --workers, --devices, --json, --csv, --plot, --quiet apply too)\n",
          default_algs, default_sizes, OCFDEV_DEFAULT_SOCKET);
}

static int bad(const char *fmt, const char *a, const char *b) {
  fprintf(stderr, "ocf bench: ");
  fprintf(stderr, fmt, a, b);
  fprintf(stderr, "\n(try `ocf bench --help`)\n");
  return 2;
}

static int parse_int(const char *opt, const char *s, long lo, long hi, int *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi) {
    char range[64];
    snprintf(range, sizeof(range), "%ld..%ld", lo, hi);
    fprintf(stderr, "ocf bench: %s: expected an integer in %s, got '%s'\n", opt, range, s);
    return 2;
  }
  *out = (int)v;
  return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o) {
  enum {
    O_ALG = 256,
    O_SIZES,
    O_PRODUCER,
    O_THREADS,
    O_SECONDS,
    O_WINDOW,
    O_BATCH,
    O_WORKERS,
    O_LIST,
    O_JSON,
    O_CSV,
    O_QUIET,
    O_NOVERIFY,
    O_ROUNDS,
    O_DBUFS,
    O_ONLY,
    O_PLOT,
    O_DEVICES,
    O_POLICY,
    O_FIGURE,
    O_TABLE,
    O_PAPER,
    O_FULL,
    O_OUT,
    O_EXPERIMENT,
    O_OCFD,
    O_VIA,
    O_NOSAME
  };
  static const struct option lo[] = {
      {"alg", required_argument, NULL, O_ALG},
      {"algs", required_argument, NULL, O_ALG},
      {"sizes", required_argument, NULL, O_SIZES},
      {"producer", required_argument, NULL, O_PRODUCER},
      {"threads", required_argument, NULL, O_THREADS},
      {"seconds", required_argument, NULL, O_SECONDS},
      {"window", required_argument, NULL, O_WINDOW},
      {"batch", required_argument, NULL, O_BATCH},
      {"workers", required_argument, NULL, O_WORKERS},
      {"list", no_argument, NULL, O_LIST},
      {"json", required_argument, NULL, O_JSON},
      {"csv", required_argument, NULL, O_CSV},
      {"quiet", no_argument, NULL, O_QUIET},
      {"no-verify", no_argument, NULL, O_NOVERIFY},
      {"rounds", required_argument, NULL, O_ROUNDS},
      {"direct-bufs", required_argument, NULL, O_DBUFS},
      {"only", required_argument, NULL, O_ONLY},
      {"plot", required_argument, NULL, O_PLOT},
      {"devices", required_argument, NULL, O_DEVICES},
      {"policy", required_argument, NULL, O_POLICY},
      {"figure", required_argument, NULL, O_FIGURE},
      {"table", required_argument, NULL, O_TABLE},
      {"paper", no_argument, NULL, O_PAPER},
      {"full", no_argument, NULL, O_FULL},
      {"out", required_argument, NULL, O_OUT},
      {"ocfd", required_argument, NULL, O_OCFD},
      {"experiment", required_argument, NULL, O_EXPERIMENT},
      {"via", required_argument, NULL, O_VIA},
      {"no-same-core", no_argument, NULL, O_NOSAME},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  memset(o, 0, sizeof(*o));
  o->p.seconds = 1.0;
  o->p.threads = 1;
  o->p.window = 64;
  o->algs = default_algs;
  o->sizes = default_sizes;
  o->verify = 1;
  o->rounds = 4;
  opterr = 0;
  optind = 1;
  int ch;
  while ((ch = getopt_long(argc, argv, ":hq", lo, NULL)) != -1) {
    int rc = 0;
    switch (ch) {
      case O_ALG:
        o->algs = optarg;
        break;
      case O_SIZES:
        o->sizes = optarg;
        break;
      case O_PRODUCER:
        o->p.producer = optarg;
        break;
      case O_THREADS:
        rc = parse_int("--threads", optarg, 1, 1024, &o->p.threads);
        break;
      case O_WINDOW:
        rc = parse_int("--window", optarg, 1, 1 << 20, &o->p.window);
        break;
      case O_BATCH:
        rc = parse_int("--batch", optarg, 1, 1 << 20, &o->p.batch);
        break;
      case O_WORKERS:
        rc = parse_int("--workers", optarg, 1, 256, &o->workers);
        break;
      case O_ONLY:
        o->only = 0;
        if (strcmp(optarg, "ocf") == 0)
          o->only = 1;
        else if (strcmp(optarg, "direct") == 0)
          o->only = 2;
        for (int k = P_DEV_SYNC; k < NPATH && o->only == 0; k++)
          if (strcmp(optarg, bench_paths[k].name) == 0) o->only = ONLY_DEV + k;
        if (o->only == 0)
          return bad("--only: expected ocf, direct, ocfd, ocfd-async, ocfd-shm or cdev, got '%s'%s",
                     optarg, "");
        break;
      case O_DBUFS:
        rc = parse_int("--direct-bufs", optarg, 1, 1 << 20, &o->p.direct_bufs);
        break;
      case O_PLOT:
        o->plot = optarg;
        break;
      case O_DEVICES:
        o->devices = optarg;
        break;
      case O_POLICY:
        o->policy = optarg;
        break;
      case O_FIGURE:
        rc = parse_int("--figure", optarg, 1, 4, &o->paper.figure);
        break;
      case O_TABLE:
        rc = parse_int("--table", optarg, 1, 2, &o->paper.table);
        break;
      case O_PAPER:
        o->paper.paper = 1;
        break;
      case O_FULL:
        o->paper.full = 1;
        break;
      case O_OUT:
        o->paper.out = optarg;
        break;
      case O_EXPERIMENT:
        if (!paper_experiment_ok(optarg))
          return bad("--experiment: expected hetero or dedicated, got '%s'%s", optarg, "");
        o->paper.experiment = optarg;
        break;
      case O_OCFD:
        o->via_ocfd = 1;
        o->ocfd = optarg;
        /* "-" or "": $OCF_SOCKET, else the default path */
        if (strcmp(optarg, "-") == 0 || *optarg == '\0') o->ocfd = getenv("OCF_SOCKET");
        if (o->ocfd == NULL || *o->ocfd == '\0') o->ocfd = OCFDEV_DEFAULT_SOCKET;
        break;
      case O_VIA:
        if (strcmp(optarg, "ocfd") == 0)
          o->via_ocfd = 1;
        else if (strcmp(optarg, "inproc") != 0)
          return bad("--via: expected 'ocfd' (or 'inproc'), got '%s'%s", optarg, "");
        break;
      case O_ROUNDS:
        rc = parse_int("--rounds", optarg, 1, 1000, &o->rounds);
        break;
      case O_SECONDS: {
        char *end;
        errno = 0;
        o->p.seconds = strtod(optarg, &end);
        if (errno || end == optarg || *end || !(o->p.seconds > 0) || o->p.seconds > 3600)
          return bad("--seconds: expected a number of seconds in (0, 3600], got '%s'%s", optarg,
                     "");
        o->seconds_set = 1;
        break;
      }
      case O_LIST:
        o->list = 1;
        break;
      case O_JSON:
        o->json = optarg;
        break;
      case O_CSV:
        o->csv = optarg;
        break;
      case 'q':
      case O_QUIET:
        o->quiet = 1;
        break;
      case O_NOSAME:
        o->no_same_core = 1;
        break;
      case O_NOVERIFY:
        o->verify = 0;
        break;
      case 'h':
        bench_usage(stdout);
        exit(0);
      case ':':
        return bad("option '%s' needs a value%s", argv[optind - 1], "");
      default:
        return bad("unknown option '%s'%s", argv[optind - 1], "");
    }
    if (rc) return rc;
  }
  if (o->p.direct_bufs == 0) o->p.direct_bufs = o->p.window;
  int modes = (o->paper.figure != 0) + (o->paper.table != 0) + o->paper.paper +
              (o->paper.experiment != NULL);
  if (modes > 1) return bad("--figure, --table and --paper exclude each other%s%s", "", "");
  if (modes == 0 && (o->paper.full || o->paper.out))
    return bad("--full and --out go with --figure, --table or --paper%s%s", "", "");
#ifndef OCF_HAVE_OCFDEV
  if (o->via_ocfd) return bad("--ocfd / --via ocfd: built without libocfdev%s%s", "", "");
#endif
  if (o->only >= ONLY_DEV && !o->via_ocfd)
    return bad("--only %s: a path through ocfd, with --via ocfd or --ocfd%s",
               bench_paths[o->only - ONLY_DEV].name, "");
  if (o->paper.out && !o->paper.paper) return bad("--out goes with --paper%s%s", "", "");
  if (optind < argc) return bad("unexpected argument '%s'%s", argv[optind], "");
  if (o->json && o->csv && strcmp(o->json, "-") == 0 && strcmp(o->csv, "-") == 0)
    return bad("--json and --csv cannot both go to stdout%s%s", "", "");
  return 0;
}

/* split_list returns the comma-separated items of s (a copy the caller frees). */
static char **split_list(const char *s, int *n) {
  char *copy = strdup(s);
  int cap = 1;
  for (const char *p = s; *p; p++) cap += *p == ',';
  char **items = calloc((size_t)cap + 1, sizeof(*items));
  if (copy == NULL || items == NULL) abort();
  *n = 0;
  for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
    items[(*n)++] = t;
  if (*n == 0) free(copy);
  return items;
}

static void free_list(char **items, int n) {
  if (n > 0) free(items[0]);
  free(items);
}

static int parse_sizes(const char *s, size_t **out, int *n) {
  int k;
  char **items = split_list(s, &k);
  size_t *v = calloc((size_t)k + 1, sizeof(*v));
  if (v == NULL) abort();
  for (int i = 0; i < k; i++) {
    char *end;
    errno = 0;
    unsigned long long x = strtoull(items[i], &end, 10);
    if (errno || end == items[i] || *end || x == 0 || x > (1u << 26) || items[i][0] == '-') {
      fprintf(stderr, "ocf bench: --sizes: '%s' is not a size in bytes (1..%u)\n", items[i],
              1u << 26);
      free_list(items, k);
      free(v);
      return 2;
    }
    v[i] = (size_t)x;
  }
  free_list(items, k);
  if (k == 0) {
    fprintf(stderr, "ocf bench: --sizes: empty list\n");
    free(v);
    return 2;
  }
  *out = v;
  *n = k;
  return 0;
}

static void list_algs(void) {
  for (size_t i = 0; i < bench_nalgs; i++) printf("%s\n", bench_algs[i].name);
  for (int i = 0; bench_chain_examples[i]; i++) printf("%s\n", bench_chain_examples[i]);
}

/* resolve_producer maps --producer to session flags, or explains the miss. */
static int resolve_producer(struct bench_params *p) {
  struct ocf_driver_stat st[64];
  int n = ocf_driver_stats(st, 64);
  if (n > 64) n = 64;
  for (int i = 0; i < n; i++) {
    if (strcmp(st[i].name, p->producer) != 0 || st[i].detached) continue;
    if (st[i].flags & OCF_DRV_HARDWARE)
      p->sess_flags = OCF_SESS_HWONLY;
    else if (st[i].flags & OCF_DRV_SOFTWARE)
      p->sess_flags = OCF_SESS_SWONLY;
    return 0;
  }
  fprintf(stderr, "ocf bench: --producer: no producer named '%s'; present:", p->producer);
  for (int i = 0; i < n; i++) fprintf(stderr, " %s", st[i].name);
  fprintf(stderr, "%s\n", n ? "" : " none");
  return 2;
}

#ifdef OCF_HAVE_OCFDEV
/* start_private_ocfd runs the ocfd next to this executable on a socket in a
 * fresh temporary directory, with the framework options of this run, and
 * waits until it answers. */
static int start_private_ocfd(struct opts *o) {
  char exe[PATH_MAX], bin[PATH_MAX + 8];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) {
    fprintf(stderr, "ocf bench: --via ocfd: cannot find my own executable: %s\n", strerror(errno));
    return 1;
  }
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  if (slash) *slash = '\0';
  snprintf(bin, sizeof(bin), "%s/ocfd", exe);
  if (access(bin, X_OK) != 0) {
    fprintf(stderr, "ocf bench: --via ocfd: no ocfd next to ocf (%s); give --ocfd SOCKET\n", bin);
    return 1;
  }
  snprintf(o->priv_dir, sizeof(o->priv_dir), "/tmp/ocf-bench.XXXXXX");
  if (mkdtemp(o->priv_dir) == NULL) {
    fprintf(stderr, "ocf bench: mkdtemp: %s\n", strerror(errno));
    o->priv_dir[0] = '\0';
    return 1;
  }
  snprintf(o->priv_sock, sizeof(o->priv_sock), "%s/ocfd.sock", o->priv_dir);
  char workers[16];
  const char *argv[16];
  int k = 0;
  argv[k++] = bin;
  argv[k++] = "-s";
  argv[k++] = o->priv_sock;
  if (o->workers) {
    snprintf(workers, sizeof(workers), "%d", o->workers);
    argv[k++] = "--workers";
    argv[k++] = workers;
  }
  if (o->devices) {
    argv[k++] = "--devices";
    argv[k++] = o->devices;
  }
  if (o->policy) {
    argv[k++] = "--policy";
    argv[k++] = o->policy;
  }
  argv[k] = NULL;
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "ocf bench: fork: %s\n", strerror(errno));
    return 1;
  }
  if (pid == 0) {
    /* the daemon must not hold our stdout open (e.g. a pipe being read) */
    int nul = open("/dev/null", O_WRONLY);
    if (nul >= 0) dup2(nul, STDOUT_FILENO);
    execv(bin, (char *const *)argv);
    _exit(127);
  }
  o->priv_pid = pid;
  o->ocfd = o->priv_sock;
  for (int i = 0; i < 500; i++) {
    struct ocfdev *d;
    if (ocfdev_open(o->priv_sock, &d) == 0) {
      ocfdev_close(d);
      return 0;
    }
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      o->priv_pid = 0;
      fprintf(stderr, "ocf bench: the private ocfd exited at start (status %d)\n",
              WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
      return 1;
    }
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  fprintf(stderr, "ocf bench: the private ocfd does not answer on %s\n", o->priv_sock);
  return 1;
}
#endif

static void stop_private_ocfd(struct opts *o) {
  if (o->priv_pid > 0) {
    kill(o->priv_pid, SIGTERM);
    int st = 0;
    for (int i = 0; i < 1000 && waitpid(o->priv_pid, &st, WNOHANG) == 0; i++) {
      struct timespec ts = {0, 10 * 1000 * 1000};
      nanosleep(&ts, NULL);
      if (i == 999) {
        kill(o->priv_pid, SIGKILL);
        waitpid(o->priv_pid, &st, 0);
      }
    }
    o->priv_pid = 0;
  }
  if (o->priv_sock[0]) unlink(o->priv_sock);
  if (o->priv_dir[0]) rmdir(o->priv_dir);
  o->priv_sock[0] = o->priv_dir[0] = '\0';
}

/* run_cdev: a cryptodev program under the preload shim, in a child
 * process: its CPU time counts with this process's. */
static int run_cdev(const struct bench_case *c, size_t size, const struct opts *o, double seconds,
                    struct bench_result *res, double *daemon_cpu, double *lat_w) {
  double d0 = o->priv_pid > 0 ? bench_pid_cpu_seconds(o->priv_pid) : -1;
  double c0 = bench_cpu_seconds() + bench_children_cpu_seconds();
  int e = bench_cdev_run(o->ocfd, c, size, seconds, res, lat_w);
  double c1 = bench_cpu_seconds() + bench_children_cpu_seconds();
  double d1 = d0 >= 0 ? bench_pid_cpu_seconds(o->priv_pid) : -1;
  if (e != 0) return e;
  res->cpu_s += c1 - c0;
  if (d0 >= 0 && d1 >= d0 && *daemon_cpu >= 0)
    *daemon_cpu += d1 - d0;
  else
    *daemon_cpu = -1;
  return 0;
}

/* run_dev runs one timed round through the daemon and adds it to res; the
 * CPU time is this process's and, for a private daemon, the daemon's. */
static int run_dev(const struct bench_case *c, size_t size, int k, const struct opts *o,
                   double seconds, struct bench_result *res, double *daemon_cpu, double *lat_w) {
#ifdef OCF_HAVE_OCFDEV
  if (k == P_DEV_CDEV) return run_cdev(c, size, o, seconds, res, daemon_cpu, lat_w);
  int mode = k - P_DEV_SYNC;
  struct ocf_sessparam sp[2];
  memset(sp, 0, sizeof(sp));
  sp[0].alg = c->first->alg;
  sp[0].key = c->key1;
  sp[0].keylen = c->first->keylen;
  if (c->second) {
    sp[0].next = &sp[1];
    sp[1].alg = c->second->alg;
    sp[1].key = c->key2;
    sp[1].keylen = c->second->keylen;
  }
  struct ocfdev_bench_result br;
  double d0 = o->priv_pid > 0 ? bench_pid_cpu_seconds(o->priv_pid) : -1;
  double c0 = bench_cpu_seconds();
  int e = ocfdev_bench_chain(o->ocfd, sp, o->p.sess_flags, size, dev_mode[mode], o->p.window,
                             seconds, &br);
  double c1 = bench_cpu_seconds();
  double d1 = d0 >= 0 ? bench_pid_cpu_seconds(o->priv_pid) : -1;
  if (e != 0) {
    snprintf(res->msg, sizeof(res->msg), "%s", strerror(e));
    if (e == EMSGSIZE || e == ENODEV || e == ENOTSUP) res->skipped = 1;
    return e;
  }
  snprintf(res->producer, sizeof(res->producer), "%s", br.driver);
  res->ops += br.ops;
  res->elapsed += br.seconds;
  res->cpu_s += c1 - c0;
  if (d0 >= 0 && d1 >= d0 && *daemon_cpu >= 0)
    *daemon_cpu += d1 - d0;
  else
    *daemon_cpu = -1;
  /* percentiles of the rounds, weighted by their requests */
  lat_w[0] += br.p50_us * (double)br.ops;
  lat_w[1] += br.p99_us * (double)br.ops;
  return 0;
#else
  (void)c, (void)size, (void)k, (void)o, (void)seconds, (void)lat_w, (void)daemon_cpu;
  snprintf(res->msg, sizeof(res->msg), "built without libocfdev");
  return ENOTSUP;
#endif
}

static void finish_dev(struct bench_result *r, size_t size, const double *lat_w) {
  if (r->ops == 0 || !(r->elapsed > 0)) return;
  r->ok = 1;
  r->ops_per_s = (double)r->ops / r->elapsed;
  r->mbps = r->ops_per_s * (double)size * 8 / 1e6;
  r->p50_us = lat_w[0] / (double)r->ops;
  r->p99_us = lat_w[1] / (double)r->ops;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* median_of sorts v[n] and returns its median (NAN when empty). */
static double median_of(double *v, int n) {
  if (n == 0) return NAN;
  qsort(v, (size_t)n, sizeof(*v), cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int bench_same_core_path(const struct opts *o) {
  if (o->active[P_OCF1]) return P_OCF1;
  if (o->ncpus == 1 && o->active[P_OCF]) return P_OCF;
  return -1;
}

double bench_ratio(const struct row *r, int k) {
  int b = bench_paths[k].base;
  if (b < 0 || !r->res[k].ok || !r->res[b].ok) return NAN;
  return r->ratio[k];
}

double bench_cpu_of(const struct row *r, int k) {
  double c = r->res[k].cpu_s;
  if (k >= P_DEV_SYNC && r->daemon_cpu[k] > 0) c += r->daemon_cpu[k];
  return c;
}

double bench_eff(const struct row *r, const struct opts *o, int k) {
  const struct bench_result *a = &r->res[k], *d = &r->res[P_DIRECT];
  double ca = bench_cpu_of(r, k), cd = d->cpu_s;
  (void)o;
  if (!a->ok || !d->ok || !(ca > 0) || !(cd > 0) || d->ops == 0) return NAN;
  return ((double)a->ops / ca) / ((double)d->ops / cd);
}

/* The pinning in force: -1 none (all CPUs), else the same-core CPU. */
static int pinned = -1;

static void pin_for(const struct opts *o, int k) {
  int want = -1;
  if (o->same_cpu >= 0 && o->active[P_OCF1] && (k == P_OCF1 || k == P_DIRECT)) want = o->same_cpu;
  if (want == pinned) return;
  cpu_set_t one;
  CPU_ZERO(&one);
  if (want >= 0) CPU_SET(want, &one);
  int e = bench_pin_all(want >= 0 ? &one : &o->all);
  if (e != 0) fprintf(stderr, "ocf bench: warning: sched_setaffinity: %s\n", strerror(e));
  pinned = want;
}

/* run_path runs one round of path k; 0 or an errno (res->msg says why). */
static int run_path(struct row *r, int k, const uint8_t *data, const struct opts *o,
                    const struct bench_params *p, struct sampler *samp, double *lat_w) {
  pin_for(o, k);
  switch (k) {
    case P_OCF:
    case P_OCF1:
      return bench_run_ocf(r->c, r->size, data, p, samp, &r->res[k]);
    case P_DIRECT:
      return bench_run_direct(r->c, r->size, data, p, samp, &r->res[k]);
    default:
      return run_dev(r->c, r->size, k, o, p->seconds, &r->res[k], &r->daemon_cpu[k], lat_w);
  }
}

static int is_dev(int k) { return k >= P_DEV_SYNC; }

static void run_row(struct row *r, const struct opts *o) {
  size_t size = r->size;
  uint8_t *data = bench_alloc(size);
  bench_case_fill(r->c, data, size);
  char msg[200] = "";
  int n = o->p.threads;
  struct bench_params warm = o->p, round = o->p;
  struct sampler *samp[NPATH] = {NULL}, *sw = calloc((size_t)n, sizeof(*sw));
  if (sw == NULL) abort();
  for (int k = 0; k < NPATH; k++) {
    if (!o->active[k] || is_dev(k)) continue;
    samp[k] = calloc((size_t)n, sizeof(*samp[k]));
    if (samp[k] == NULL) abort();
    for (int i = 0; i < n; i++)
      if (sampler_init(&samp[k][i], BENCH_SAMPLE_CAP)) abort();
  }
  for (int i = 0; i < n; i++)
    if (sampler_init(&sw[i], BENCH_SAMPLE_CAP / 16)) abort();
  /* a short unmeasured run first warms caches, the allocator and the
   * framework's threads for every path alike */
  warm.seconds = o->p.seconds * 0.1 < 0.05 ? o->p.seconds * 0.1 : 0.05;
  round.seconds = o->p.seconds / o->rounds;
  int bad[NPATH] = {0};
  double lat_w[NPATH][2] = {{0}};
  double *q = NULL;
  int nq[NPATH] = {0};

  if (o->verify) {
    pin_for(o, P_OCF);
    int e = bench_ocf_verify(r->c, size, data, &o->p, msg, sizeof(msg));
    if (e == EMSGSIZE || e == ENODEV) {
      r->skipped = 1;
      snprintf(r->note, sizeof(r->note), "%s %zu B skipped: %s", r->c->name, size, msg);
      goto out;
    }
    if (e == EBADMSG) {
      r->verified = -1;
      snprintf(r->note, sizeof(r->note), "%s %zu B: WRONG OUTPUT: %s", r->c->name, size, msg);
    } else if (e != 0) {
      r->failed = 1;
      snprintf(r->note, sizeof(r->note), "%s %zu B failed: %s", r->c->name, size, msg);
      goto out;
    } else {
      r->verified = 1;
    }
  }
  for (int k = 0; k < NPATH; k++) {
    if (!o->active[k]) continue;
    struct bench_result tmp;
    double tw[2] = {0}, dc = 0;
    memset(&tmp, 0, sizeof(tmp));
    int e = is_dev(k) ? run_dev(r->c, size, k, o, warm.seconds, &tmp, &dc, tw)
                      : (pin_for(o, k), k == P_DIRECT
                                            ? bench_run_direct(r->c, size, data, &warm, sw, &tmp)
                                            : bench_run_ocf(r->c, size, data, &warm, sw, &tmp));
    if (e != 0 && is_dev(k)) { /* the daemon path cannot run: say so, measure the others */
      bad[k] = 1;
      r->res[k] = tmp;
    }
  }
  /* Each round runs every path once, in reverse order every other round, so
   * that a machine whose speed drifts during the run favours none of them;
   * the ratios reported are the medians of each round's ratios. */
  q = calloc((size_t)o->rounds * NPATH, sizeof(*q));
  if (q == NULL) abort();
  int order[NPATH], npaths = 0;
  for (int k = 0; k < NPATH; k++)
    if (o->active[k]) order[npaths++] = k;
  for (int rd = 0; rd < o->rounds && !bad[P_OCF] && !bad[P_DIRECT] && !bad[P_OCF1]; rd++) {
    double rate[NPATH];
    for (int k = 0; k < NPATH; k++) rate[k] = NAN;
    for (int step = 0; step < npaths; step++) {
      int k = order[rd % 2 ? npaths - 1 - step : step];
      if (bad[k]) continue;
      struct bench_result *res = &r->res[k];
      uint64_t ops0 = res->ops;
      double el0 = res->elapsed;
      bad[k] = run_path(r, k, data, o, &round, samp[k], lat_w[k]) != 0;
      if (!bad[k] && res->elapsed > el0) rate[k] = (double)(res->ops - ops0) / (res->elapsed - el0);
    }
    for (int k = 0; k < NPATH; k++) {
      int b = bench_paths[k].base;
      if (b >= 0 && rate[b] > 0 && isfinite(rate[k]))
        q[(size_t)o->rounds * (size_t)k + (size_t)nq[k]++] = rate[k] / rate[b];
    }
  }
  for (int k = 0; k < NPATH; k++) r->ratio[k] = median_of(q + (size_t)o->rounds * (size_t)k, nq[k]);
  for (int k = 0; k < NPATH; k++) {
    if (!o->active[k]) continue;
    struct bench_result *res = &r->res[k];
    if (!bad[k]) {
      if (is_dev(k))
        finish_dev(res, size, lat_w[k]);
      else
        bench_finish_result(res, size, samp[k], n);
      continue;
    }
    res->ok = 0;
    if (res->skipped && (k == P_OCF || k == P_OCF1)) r->skipped = 1;
    if (!res->skipped) r->failed = 1;
    if (!r->note[0] || k == P_OCF)
      snprintf(r->note, sizeof(r->note), "%s %zu B %s path %s: %s", r->c->name, size,
               bench_paths[k].name, res->skipped ? "skipped" : "failed", res->msg);
  }
  if (r->res[P_OCF].ok && r->res[P_OCF].eagain && !r->note[0])
    snprintf(r->note, sizeof(r->note), "%s %zu B: %llu requests came back with EAGAIN (migrated)",
             r->c->name, size, (unsigned long long)r->res[P_OCF].eagain);
out:
  pin_for(o, P_OCF);
  free(q);
  for (int k = 0; k < NPATH; k++) {
    if (samp[k] == NULL) continue;
    for (int i = 0; i < n; i++) sampler_free(&samp[k][i]);
    free(samp[k]);
  }
  for (int i = 0; i < n; i++) sampler_free(&sw[i]);
  free(sw);
  OPENSSL_cleanse(data, size);
  free(data);
}

/* choose_paths sets o->active and the CPUs the same-core paths use. */
static void choose_paths(struct opts *o) {
  if (bench_affinity(&o->all) != 0) {
    CPU_ZERO(&o->all);
    CPU_SET(0, &o->all);
  }
  o->ncpus = CPU_COUNT(&o->all);
  o->same_cpu = -1;
  int dev_only = o->only >= ONLY_DEV;
  o->active[P_OCF] = o->only != 2 && !dev_only;
  o->active[P_DIRECT] = o->only != 1 && !dev_only;
  /* the same-core run only differs from the other when there are others */
  if (o->ncpus > 1 && !o->no_same_core && o->only != 2 && !dev_only) {
    o->active[P_OCF1] = 1;
    o->same_cpu = bench_first_cpu(&o->all);
  }
  for (int k = P_DEV_SYNC; k < NPATH; k++)
    o->active[k] = o->via_ocfd && (dev_only ? o->only == ONLY_DEV + k : o->only != 2);
}

int cmd_bench(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--cdev-child") == 0) return bench_cdev_child(argc - 1, argv + 1);
  for (int i = 1; i < argc; i++) /* ESP through libocfipsec: bench_ipsec.c */
    if (strcmp(argv[i], "--ipsec") == 0) return bench_ipsec(argc, argv);
  struct opts o;
  int rc = parse_opts(argc, argv, &o);
  if (rc) return rc;
  if (o.list) {
    list_algs();
    return 0;
  }
#ifdef OCF_HAVE_OCFDEV
  if (o.via_ocfd && o.ocfd == NULL && start_private_ocfd(&o) != 0) {
    stop_private_ocfd(&o);
    return 1;
  }
#endif
  if (o.paper.figure || o.paper.table || o.paper.paper || o.paper.experiment) {
    o.paper.ocfd = o.ocfd;
    o.paper.quiet = o.quiet;
    o.paper.seconds = o.seconds_set ? o.p.seconds : 0;
    o.paper.workers = o.workers;
    o.paper.devices = o.devices;
    o.paper.json = o.json;
    o.paper.csv = o.csv;
    o.paper.plot = o.plot;
    rc = bench_paper(&o.paper);
    stop_private_ocfd(&o);
    return rc;
  }

  int nalg = 0, nsize = 0;
  size_t *sizes = NULL;
  if ((rc = parse_sizes(o.sizes, &sizes, &nsize)) != 0) {
    stop_private_ocfd(&o);
    return rc;
  }
  char **names = split_list(o.algs, &nalg);
  struct bench_case *cases = calloc((size_t)nalg + 1, sizeof(*cases));
  struct row *rows = calloc((size_t)nalg * (size_t)nsize + 1, sizeof(*rows));
  if (cases == NULL || rows == NULL) abort();
  if (nalg == 0) {
    fprintf(stderr, "ocf bench: --alg: empty list\n");
    rc = 2;
  }
  for (int i = 0; i < nalg && rc == 0; i++) {
    char msg[200];
    if (bench_case_init(&cases[i], names[i], msg, sizeof(msg)) != 0) {
      fprintf(stderr, "ocf bench: --alg: %s\n", msg);
      rc = 2;
    }
  }
  free_list(names, nalg);
  if (rc) goto out_free;

  choose_paths(&o);
  struct ocf_init_opts io = {.workers = o.workers, .devices = o.devices, .policy = o.policy};
  int e = ocf_init(&io);
  if (e != 0) {
    fprintf(stderr, "ocf bench: ocf_init: %s (%s)\n", ocf_strerror(e), ocf_errdetail());
    rc = 1;
    goto out_free;
  }
  o.workers_eff = o.workers ? o.workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
  char msg[200];
  if (bench_direct_load_providers(msg, sizeof(msg)) != 0)
    fprintf(stderr, "ocf bench: warning: %s\n", msg);
  if (o.p.producer && (rc = resolve_producer(&o.p)) != 0) goto out_shutdown;

  int nrows = 0, progress = !o.quiet && isatty(STDERR_FILENO);
  int json_stdout = o.json && strcmp(o.json, "-") == 0;
  int csv_stdout = o.csv && strcmp(o.csv, "-") == 0;
  for (int i = 0; i < nalg; i++)
    for (int j = 0; j < nsize; j++) {
      struct row *r = &rows[nrows++];
      r->c = &cases[i];
      r->size = sizes[j];
    }
  for (int i = 0; i < nrows; i++) {
    struct row *r = &rows[i];
    if (progress)
      fprintf(stderr, "\r[%d/%d] %s %zu B ...\033[K", i + 1, nrows, r->c->name, r->size);
    if (!bench_case_size_ok(r->c, r->size)) {
      r->skipped = 1;
      snprintf(r->note, sizeof(r->note), "%s %zu B skipped: not a legal data length for %s",
               r->c->name, r->size, r->c->first->name);
      continue;
    }
    run_row(r, &o);
  }
  if (progress) fprintf(stderr, "\r\033[K");

  FILE *tf = json_stdout || csv_stdout ? stderr : stdout;
  if (!o.quiet) bench_print_table(tf, &o, rows, nrows);
  if (!o.quiet && o.via_ocfd) bench_print_dev_table(tf, &o, rows, nrows);
  if (o.json && bench_write_json(o.json, rows, nrows, &o)) rc = 1;
  if (o.csv && bench_write_csv(o.csv, rows, nrows, &o)) rc = 1;
  if (o.plot && bench_plot_rows(o.plot, rows, nrows, &o)) rc = 1;
  for (int i = 0; i < nrows; i++)
    if (rows[i].failed || rows[i].verified < 0) rc = 1;

out_shutdown:
  bench_direct_unload_providers();
  ocf_shutdown();
out_free:
  for (int i = 0; i < nalg; i++) bench_case_wipe(&cases[i]);
  free(cases);
  free(rows);
  free(sizes);
  stop_private_ocfd(&o);
  return rc;
}
