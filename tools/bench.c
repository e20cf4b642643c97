/* bench.c - `ocf bench`: options, the case loop, and the table / JSON / CSV
 * output.  Each (algorithm, size) case runs through the framework and then
 * as direct OpenSSL calls on the same data, in the same process; with
 * --ocfd / --via ocfd also through the daemon (libocfdev), three ways: one
 * request at a time with data copied through the socket (cryptodev-style),
 * many in flight copied, and many in flight in shared memory; and a cryptodev
 * program's CIOCCRYPT loop under the preload shim (bench_cdev.c). */
#include "bench.h"

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
#include "paper.h"
#include "plot.h"

static const char *const default_algs =
    "null,3des-cbc,aes-128-cbc,aes-128-gcm,chacha20-poly1305,hmac-sha1";
static const char *const default_sizes = "16,64,256,1024,8192,16384";

struct row {
  const struct bench_case *c;
  size_t size;
  int verified; /* 1 ok, 0 not checked, -1 mismatch */
  int skipped, failed;
  char note[320];
  struct bench_result ocf, direct;
  struct bench_result dev[4]; /* through ocfd: DEV_SYNC, DEV_ASYNC, DEV_SHM, DEV_CDEV */
  /* medians over the rounds of each round's rate ratio: framework/direct,
   * and each daemon path/framework (NAN when not measured) */
  double ratio, dev_ratio[4];
};

/* The daemon paths, in table / JSON order.  DEV_CDEV is a cryptodev program
 * under the preload shim; its ratio is to the direct path (one thread of
 * OpenSSL in the process, as `openssl speed` without an engine), the others'
 * to the in-process framework. */
enum { DEV_SYNC, DEV_ASYNC, DEV_SHM, DEV_CDEV, NDEV };
static const char *const dev_path[NDEV] = {"ocfd", "ocfd-async", "ocfd-shm", "cdev"};
#ifdef OCF_HAVE_OCFDEV
static const enum ocfdev_bench_mode dev_mode[NDEV] = {OCFDEV_BENCH_SYNC, OCFDEV_BENCH_ASYNC,
                                                      OCFDEV_BENCH_SHM, OCFDEV_BENCH_SYNC};
#endif

struct opts {
  struct bench_params p;
  const char *algs, *sizes, *json, *csv, *plot, *devices, *policy;
  int workers, quiet, list, verify, rounds;
  struct paper_opts paper; /* --figure / --table / --paper */
  int seconds_set;
  int only;         /* 0 both paths, 1 framework only, 2 direct only (for profiling) */
  int via_ocfd;     /* measure through the daemon too */
  const char *ocfd; /* its socket (NULL with via_ocfd: a private daemon) */
  pid_t priv_pid;   /* the private daemon */
  char priv_dir[64], priv_sock[128];
};

void bench_usage(FILE *f) {
  fprintf(f,
          "usage: ocf bench [options]\n"
          "\n"
          "Runs each (algorithm, size) case twice in one process: through the framework\n"
          "(asynchronous ocf_dispatch, a window of requests in flight per thread) and as\n"
          "direct OpenSSL EVP calls on the same data and key, and prints both side by side.\n"
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
          "  --only ocf|direct  run one path only (for profiling; no ratio)\n"
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
    O_VIA
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
        if (strcmp(optarg, "ocf") == 0)
          o->only = 1;
        else if (strcmp(optarg, "direct") == 0)
          o->only = 2;
        else
          return bad("--only: expected 'ocf' or 'direct', got '%s'%s", optarg, "");
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

static double ratio_of(const struct row *r) {
  if (!r->ocf.ok || !r->direct.ok) return NAN;
  return r->ratio;
}

static void fmt_num(char *buf, size_t len, double v, const char *fmt) {
  if (isfinite(v))
    snprintf(buf, len, fmt, v);
  else
    snprintf(buf, len, "-");
}

static void print_path(FILE *f, const struct bench_result *r) {
  char a[32], b[32], c[32], d[32];
  if (!r->ok) {
    fprintf(f, " | %9s %11s %8s %8s", "-", "-", "-", "-");
    return;
  }
  fmt_num(a, sizeof(a), r->mbps, "%.1f");
  fmt_num(b, sizeof(b), r->ops_per_s, "%.0f");
  fmt_num(c, sizeof(c), r->p50_us, r->p50_us < 100 ? "%.2f" : "%.1f");
  fmt_num(d, sizeof(d), r->p99_us, r->p99_us < 100 ? "%.2f" : "%.1f");
  fprintf(f, " | %9s %11s %8s %8s", a, b, c, d);
}

static void print_table(FILE *f, const struct opts *o, const struct row *rows, int nrows,
                        int workers) {
  int has_null = 0, has_chain = 0, has_deflate = 0, has_notes = 0;
  fprintf(f,
          "ocf bench: libocf %s, %s\n"
          "%d consumer thread%s x %d requests in flight (%s), %d framework worker%s;\n"
          "%.2f s per case and path, in %d alternating round%s (ratios: their median)\n\n",
          OCF_VERSION, OPENSSL_VERSION_TEXT, o->p.threads, o->p.threads == 1 ? "" : "s",
          o->p.window, o->p.batch ? "ocf_dispatch_batch" : "ocf_dispatch from the callback",
          workers, workers == 1 ? "" : "s", o->p.seconds, o->rounds, o->rounds == 1 ? "" : "s");
  if (o->p.batch) fprintf(f, "(batches of up to %d requests)\n\n", o->p.batch);
  fprintf(f, "%-26s %6s %3s %-9s | %-41s | %-41s |\n", "", "", "", "",
          "              framework (ocf)", "            direct (OpenSSL EVP)");
  fprintf(f, "%-26s %6s %3s %-9s | %9s %11s %8s %8s | %9s %11s %8s %8s | %9s\n", "algorithm",
          "bytes", "thr", "producer", "Mbit/s", "req/s", "p50 us", "p99 us", "Mbit/s", "req/s",
          "p50 us", "p99 us", "ocf/direct");
  for (int i = 0; i < nrows; i++) {
    const struct row *r = &rows[i];
    has_null |= r->c->first->kind == BK_NULL;
    has_chain |= r->c->second != NULL;
    has_deflate |= r->c->first->kind == BK_DEFLATE;
    fprintf(f, "%-26s %6zu %3d %-9.9s", r->c->name, r->size, o->p.threads,
            r->ocf.producer[0] ? r->ocf.producer : "-");
    print_path(f, &r->ocf);
    print_path(f, &r->direct);
    double q = ratio_of(r);
    char ratio[32];
    fmt_num(ratio, sizeof(ratio), q * 100.0, "%.1f%%");
    fprintf(f, " | %9s", ratio);
    if (r->note[0]) {
      fprintf(f, "  [%d]", i + 1);
      has_notes = 1;
    }
    fputc('\n', f);
  }
  fprintf(f,
          "\nMbit/s and req/s count payload bytes (the size column) over wall time, all threads.\n"
          "Latency: framework = ocf_dispatch to callback, including queueing behind the window "
          "of %d;\n"
          "direct = one request's EVP calls (context prepared once, IV reset per request).\n",
          o->p.window);
  if (has_null)
    fprintf(f,
            "null: the direct path is a memcpy of the buffer; the framework's NULL copies into "
            "a separate output buffer.\n");
  if (has_chain)
    fprintf(f,
            "cipher+mac: encrypt-then-MAC in one framework request; direct = two EVP "
            "calls.\n");
  if (has_deflate) fprintf(f, "deflate: direct = zlib raw deflate, default level.\n");
  if (has_notes) {
    fputc('\n', f);
    for (int i = 0; i < nrows; i++)
      if (rows[i].note[0]) fprintf(f, "[%d] %s\n", i + 1, rows[i].note);
  }
}

/* dev_ratio: a daemon path's request rate relative to the in-process one. */
static double dev_ratio(const struct row *r, int m) {
  if (!r->dev[m].ok || !(m == DEV_CDEV ? r->direct.ok : r->ocf.ok)) return NAN;
  return r->dev_ratio[m];
}

static void print_dev_path(FILE *f, const struct bench_result *r, double ratio, int with_ratio) {
  char a[32], b[32], c[32];
  fmt_num(a, sizeof(a), r->ok ? r->mbps : NAN, "%.1f");
  fmt_num(b, sizeof(b), r->ok ? r->ops_per_s : NAN, "%.0f");
  fmt_num(c, sizeof(c), ratio * 100.0, "%.1f%%");
  if (with_ratio)
    fprintf(f, " | %9s %10s %7s", a, b, c);
  else
    fprintf(f, " | %9s %10s", a, b);
}

/* ring_off: libocfdev was told to keep shared-memory requests on the socket. */
static int ring_off(void) {
  const char *v = getenv("OCFDEV_RING");
  return v != NULL && strcmp(v, "0") == 0;
}

/* print_dev_table: the same cases through the daemon, beside in-process. */
static void print_dev_table(FILE *f, const struct opts *o, const struct row *rows, int nrows) {
  fprintf(f,
          "\nthrough ocfd at %s%s: ocfd = one request at a time, data copied through the\n"
          "socket; ocfd-async = %d in flight, copied; ocfd-shm = %d in flight in\n"
          "shared memory (no copy), submitted through %s; %% = request rate relative to\n"
          "in-process.  cdev = a /dev/crypto program under LD_PRELOAD=libocfpreload.so, one\n"
          "CIOCCRYPT at a time (CIOCAUTHCRYPT for AEADs); %% = relative to direct OpenSSL.\n\n",
          o->ocfd, o->priv_pid > 0 ? " (a private daemon for this run)" : "", o->p.window,
          o->p.window, ring_off() ? "the socket ($OCFDEV_RING=0)" : "rings");
  fprintf(f, "%-26s %6s | %-20s | %-20s | %-28s | %-28s | %-28s |\n", "", "", "     in-process",
          "   ocfd (sync)", "   ocfd-async (copy)", "   ocfd-shm (zero-copy)",
          "   cdev (CIOCCRYPT)");
  fprintf(f, "%-26s %6s | %9s %10s | %9s %10s | %9s %10s %7s | %9s %10s %7s | %9s %10s %7s\n",
          "algorithm", "bytes", "Mbit/s", "req/s", "Mbit/s", "req/s", "Mbit/s", "req/s", "%",
          "Mbit/s", "req/s", "%", "Mbit/s", "req/s", "%");
  for (int i = 0; i < nrows; i++) {
    const struct row *r = &rows[i];
    fprintf(f, "%-26s %6zu", r->c->name, r->size);
    print_dev_path(f, &r->ocf, NAN, 0);
    print_dev_path(f, &r->dev[DEV_SYNC], NAN, 0);
    print_dev_path(f, &r->dev[DEV_ASYNC], dev_ratio(r, DEV_ASYNC), 1);
    print_dev_path(f, &r->dev[DEV_SHM], dev_ratio(r, DEV_SHM), 1);
    print_dev_path(f, &r->dev[DEV_CDEV], dev_ratio(r, DEV_CDEV), 1);
    if (r->note[0]) fprintf(f, "  [%d]", i + 1);
    fputc('\n', f);
  }
}

static FILE *open_out(const char *path) {
  if (strcmp(path, "-") == 0) return stdout;
  FILE *f = fopen(path, "w");
  if (f == NULL) fprintf(stderr, "ocf bench: cannot write %s: %s\n", path, strerror(errno));
  return f;
}

static int close_out(FILE *f, const char *path) {
  int bad_write = ferror(f);
  if (f == stdout)
    bad_write |= fflush(f) != 0;
  else
    bad_write |= fclose(f) != 0;
  if (bad_write) fprintf(stderr, "ocf bench: error writing %s\n", path);
  return bad_write;
}

static void json_obj(FILE *f, const struct row *r, const struct bench_result *res, const char *path,
                     const struct opts *o, int *first) {
  fprintf(f, "%s\n  {\"alg\": ", *first ? "" : ",");
  *first = 0;
  json_str(f, r->c->name);
  fprintf(f, ", \"size\": %zu, \"path\": \"%s\", \"producer\": ", r->size, path);
  json_str(f, res->producer);
  fprintf(f, ", \"threads\": %d, \"mbps\": ", o->p.threads);
  json_num(f, res->mbps);
  fprintf(f, ", \"ops_per_s\": ");
  json_num(f, res->ops_per_s);
  fprintf(f, ", \"p50_us\": ");
  json_num(f, res->p50_us);
  fprintf(f, ", \"p99_us\": ");
  json_num(f, res->p99_us);
  if (strcmp(path, "ocf") == 0) {
    fprintf(f, ", \"ratio\": ");
    json_num(f, ratio_of(r));
    fprintf(f, ", \"window\": %d, \"batch\": %d", o->p.window, o->p.batch);
  }
  for (int m = 0; m < NDEV; m++)
    if (strcmp(path, dev_path[m]) == 0) {
      /* relative to the in-process framework path of the same run; the
       * cryptodev program relative to the direct path */
      fprintf(f, m == DEV_CDEV ? ", \"ratio_direct\": " : ", \"ratio_inproc\": ");
      json_num(f, dev_ratio(r, m));
      fprintf(f,
              ", \"window\": %d, \"socket\": ", m == DEV_SYNC || m == DEV_CDEV ? 1 : o->p.window);
      json_str(f, o->ocfd);
    }
  fprintf(f, ", \"seconds\": ");
  json_num(f, res->elapsed);
  fprintf(f, ", \"ops\": %llu, \"verified\": %s}", (unsigned long long)res->ops,
          r->verified > 0 ? "true" : "false");
}

static int write_json(const char *path, const struct row *rows, int nrows, const struct opts *o) {
  FILE *f = open_out(path);
  if (f == NULL) return 1;
  int first = 1;
  fputc('[', f);
  for (int i = 0; i < nrows; i++) {
    if (rows[i].ocf.ok) json_obj(f, &rows[i], &rows[i].ocf, "ocf", o, &first);
    if (rows[i].direct.ok) json_obj(f, &rows[i], &rows[i].direct, "direct", o, &first);
    for (int m = 0; m < NDEV; m++)
      if (rows[i].dev[m].ok) json_obj(f, &rows[i], &rows[i].dev[m], dev_path[m], o, &first);
  }
  fputs(first ? "]\n" : "\n]\n", f);
  return close_out(f, path);
}

static void csv_num(FILE *f, double v) {
  if (isfinite(v)) fprintf(f, "%.6g", v);
}

static int write_csv(const char *path, const struct row *rows, int nrows, const struct opts *o) {
  FILE *f = open_out(path);
  if (f == NULL) return 1;
  fprintf(f,
          "alg,size,path,producer,threads,mbps,ops_per_s,p50_us,p99_us,ratio,seconds,window,"
          "batch,ops\n");
  for (int i = 0; i < nrows; i++) {
    const struct row *r = &rows[i];
    for (int k = 0; k < 2 + NDEV; k++) {
      const struct bench_result *res = k >= 2 ? &r->dev[k - 2] : k ? &r->direct : &r->ocf;
      if (!res->ok) continue;
      fprintf(f, "%s,%zu,%s,%s,%d,", r->c->name, r->size,
              k >= 2 ? dev_path[k - 2]
              : k    ? "direct"
                     : "ocf",
              res->producer, o->p.threads);
      csv_num(f, res->mbps);
      fputc(',', f);
      fprintf(f, "%.0f,", res->ops_per_s);
      csv_num(f, res->p50_us);
      fputc(',', f);
      csv_num(f, res->p99_us);
      fputc(',', f);
      if (!k) csv_num(f, ratio_of(r));
      if (k >= 2) csv_num(f, dev_ratio(r, k - 2));
      fputc(',', f);
      csv_num(f, res->elapsed);
      int window = k == 2 || k == 2 + DEV_CDEV ? 1 : k == 0 || k > 2 ? o->p.window : 0;
      fprintf(f, ",%d,%d,%llu\n", window, k ? 0 : o->p.batch, (unsigned long long)res->ops);
    }
  }
  return close_out(f, path);
}

/* plot_rows draws Mbit/s vs size, one line per (algorithm, path). */
static int plot_rows(const char *dir, const struct row *rows, int nrows, const struct opts *o) {
  struct plot *pl = calloc(1, sizeof(*pl));
  if (pl == NULL) abort();
  snprintf(pl->name, sizeof(pl->name), "bench");
  snprintf(pl->title, sizeof(pl->title), "ocf bench: %d thread%s, %d in flight", o->p.threads,
           o->p.threads == 1 ? "" : "s", o->p.window);
  snprintf(pl->xlabel, sizeof(pl->xlabel), "request size (bytes)");
  snprintf(pl->ylabel, sizeof(pl->ylabel), "Mbit/s");
  pl->logx = pl->logy = 1;
  struct plot_panel *pp = plot_panel_get(pl, "");
  for (int i = 0; i < nrows; i++) {
    char t[96];
    snprintf(t, sizeof(t), "%.40s, framework", rows[i].c->name);
    if (rows[i].ocf.ok) plot_add(plot_series_get(pp, t), (double)rows[i].size, rows[i].ocf.mbps);
    snprintf(t, sizeof(t), "%.40s, OpenSSL direct", rows[i].c->name);
    struct plot_series *s = rows[i].direct.ok ? plot_series_get(pp, t) : NULL;
    if (s) s->dashed = 1;
    if (s) plot_add(s, (double)rows[i].size, rows[i].direct.mbps);
    for (int m = 0; m < NDEV; m++) {
      if (!rows[i].dev[m].ok) continue;
      snprintf(t, sizeof(t), "%.40s, %s", rows[i].c->name, dev_path[m]);
      plot_add(plot_series_get(pp, t), (double)rows[i].size, rows[i].dev[m].mbps);
    }
  }
  char msg[300];
  int rc = plot_draw(pl, dir, msg, sizeof(msg));
  if (rc != 0)
    fprintf(stderr, "ocf bench: --plot: %s\n", msg);
  else if (!o->quiet)
    fprintf(stderr, "ocf bench: drew %s/bench.svg and %s/bench.png\n", dir, dir);
  free(pl);
  return rc != 0;
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

/* run_dev runs one timed round through the daemon and adds it to r. */
static int run_dev(const struct bench_case *c, size_t size, int mode, const struct opts *o,
                   double seconds, struct bench_result *r, double *lat_w) {
#ifdef OCF_HAVE_OCFDEV
  if (mode == DEV_CDEV) return bench_cdev_run(o->ocfd, c, size, seconds, r, lat_w);
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
  int e = ocfdev_bench_chain(o->ocfd, sp, o->p.sess_flags, size, dev_mode[mode], o->p.window,
                             seconds, &br);
  if (e != 0) {
    snprintf(r->msg, sizeof(r->msg), "%s", strerror(e));
    if (e == EMSGSIZE || e == ENODEV || e == ENOTSUP) r->skipped = 1;
    return e;
  }
  snprintf(r->producer, sizeof(r->producer), "%s", br.driver);
  r->ops += br.ops;
  r->elapsed += br.seconds;
  /* percentiles of the rounds, weighted by their requests */
  lat_w[0] += br.p50_us * (double)br.ops;
  lat_w[1] += br.p99_us * (double)br.ops;
  return 0;
#else
  (void)c, (void)size, (void)mode, (void)o, (void)seconds, (void)lat_w;
  snprintf(r->msg, sizeof(r->msg), "built without libocfdev");
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

static void run_row(struct row *r, const struct opts *o) {
  size_t size = r->size;
  uint8_t *data = bench_alloc(size);
  bench_case_fill(r->c, data, size);
  char msg[200] = "";
  int n = o->p.threads;
  struct bench_params warm = o->p, round = o->p;
  struct bench_result scratch;
  struct sampler *so = calloc((size_t)n, sizeof(*so)), *sd = calloc((size_t)n, sizeof(*sd));
  struct sampler *sw = calloc((size_t)n, sizeof(*sw));
  if (so == NULL || sd == NULL || sw == NULL) abort();
  for (int i = 0; i < n; i++)
    if (sampler_init(&so[i], BENCH_SAMPLE_CAP) || sampler_init(&sd[i], BENCH_SAMPLE_CAP) ||
        sampler_init(&sw[i], BENCH_SAMPLE_CAP / 16))
      abort();
  /* a short unmeasured run first warms caches, the allocator and the
   * framework's threads for both paths alike */
  warm.seconds = o->p.seconds * 0.1 < 0.05 ? o->p.seconds * 0.1 : 0.05;
  round.seconds = o->p.seconds / o->rounds;

  if (o->verify) {
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
  int do_ocf = o->only != 2, do_direct = o->only != 1;
  memset(&scratch, 0, sizeof(scratch));
  if (do_ocf) bench_run_ocf(r->c, size, data, &warm, sw, &scratch);
  memset(&scratch, 0, sizeof(scratch));
  if (do_direct) bench_run_direct(r->c, size, data, &warm, sw, &scratch);
  int ocf_bad = 0, direct_bad = 0, dev_bad[NDEV] = {0};
  double lat_w[NDEV][2] = {{0}};
  if (o->via_ocfd) { /* warm the daemon's threads and pages too */
    struct bench_result tmp;
    double tw[2];
    for (int m = 0; m < NDEV; m++) {
      memset(&tmp, 0, sizeof(tmp));
      if (run_dev(r->c, size, m, o, warm.seconds, &tmp, tw) != 0) {
        dev_bad[m] = 1;
        r->dev[m] = tmp;
      }
    }
  }
  /* Each round runs every path once, in reverse order every other round, so
   * that a machine whose speed drifts during the run favours none of them;
   * the ratios reported are the medians of each round's ratios. */
  double *q = calloc((size_t)o->rounds * (1 + NDEV), sizeof(*q));
  if (q == NULL) abort();
  int nq[1 + NDEV] = {0};
  for (int k = 0; k < o->rounds && !ocf_bad && !direct_bad; k++) {
    double rate[2 + NDEV];
    for (int p = 0; p < 2 + NDEV; p++) rate[p] = NAN;
    for (int step = 0; step < 2 + NDEV; step++) {
      int path = k % 2 ? 1 + NDEV - step : step; /* 0 ocf, 1 direct, 2.. daemon paths */
      struct bench_result *res = path == 0 ? &r->ocf : path == 1 ? &r->direct : &r->dev[path - 2];
      uint64_t ops0 = res->ops;
      double el0 = res->elapsed;
      int bad;
      if (path == 0 && do_ocf)
        bad = ocf_bad = bench_run_ocf(r->c, size, data, &round, so, &r->ocf) != 0;
      else if (path == 1 && do_direct)
        bad = direct_bad = bench_run_direct(r->c, size, data, &round, sd, &r->direct) != 0;
      else if (path >= 2 && o->via_ocfd && !dev_bad[path - 2])
        bad = dev_bad[path - 2] =
            run_dev(r->c, size, path - 2, o, round.seconds, res, lat_w[path - 2]) != 0;
      else
        continue;
      if (!bad && res->elapsed > el0) rate[path] = (double)(res->ops - ops0) / (res->elapsed - el0);
    }
    if (rate[1] > 0 && isfinite(rate[0])) q[nq[0]++] = rate[0] / rate[1];
    for (int m = 0; m < NDEV; m++) {
      double base = m == DEV_CDEV ? rate[1] : rate[0];
      if (base > 0 && isfinite(rate[2 + m]))
        q[(size_t)o->rounds * (1 + m) + nq[1 + m]++] = rate[2 + m] / base;
    }
  }
  r->ratio = median_of(q, nq[0]);
  for (int m = 0; m < NDEV; m++)
    r->dev_ratio[m] = median_of(q + (size_t)o->rounds * (1 + m), nq[1 + m]);
  free(q);
  for (int m = 0; o->via_ocfd && m < NDEV; m++) {
    if (!dev_bad[m]) {
      finish_dev(&r->dev[m], size, lat_w[m]);
      continue;
    }
    r->dev[m].ok = 0;
    if (!r->dev[m].skipped) r->failed = 1;
    if (!r->note[0])
      snprintf(r->note, sizeof(r->note), "%s %zu B through ocfd (%s) %s: %s", r->c->name, size,
               dev_path[m], r->dev[m].skipped ? "skipped" : "failed", r->dev[m].msg);
  }
  if (ocf_bad) {
    if (r->ocf.skipped)
      r->skipped = 1;
    else
      r->failed = 1;
    snprintf(r->note, sizeof(r->note), "%s %zu B framework path %s: %s", r->c->name, size,
             r->ocf.skipped ? "skipped" : "failed", r->ocf.msg);
  } else if (do_ocf) {
    bench_finish_result(&r->ocf, size, so, n);
  }
  if (direct_bad) {
    r->failed = 1;
    if (!r->note[0])
      snprintf(r->note, sizeof(r->note), "%s %zu B direct path failed: %s", r->c->name, size,
               r->direct.msg);
  } else if (do_direct) {
    bench_finish_result(&r->direct, size, sd, n);
  }
  if (r->ocf.ok && r->ocf.eagain && !r->note[0])
    snprintf(r->note, sizeof(r->note), "%s %zu B: %llu requests came back with EAGAIN (migrated)",
             r->c->name, size, (unsigned long long)r->ocf.eagain);
out:
  for (int i = 0; i < n; i++) {
    sampler_free(&so[i]);
    sampler_free(&sd[i]);
    sampler_free(&sw[i]);
  }
  free(so);
  free(sd);
  free(sw);
  OPENSSL_cleanse(data, size);
  free(data);
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

  struct ocf_init_opts io = {.workers = o.workers, .devices = o.devices, .policy = o.policy};
  int e = ocf_init(&io);
  if (e != 0) {
    fprintf(stderr, "ocf bench: ocf_init: %s (%s)\n", ocf_strerror(e), ocf_errdetail());
    rc = 1;
    goto out_free;
  }
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

  int workers = o.workers;
  if (workers == 0) workers = (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (!o.quiet) print_table(json_stdout || csv_stdout ? stderr : stdout, &o, rows, nrows, workers);
  if (!o.quiet && o.via_ocfd)
    print_dev_table(json_stdout || csv_stdout ? stderr : stdout, &o, rows, nrows);
  if (o.json && write_json(o.json, rows, nrows, &o)) rc = 1;
  if (o.csv && write_csv(o.csv, rows, nrows, &o)) rc = 1;
  if (o.plot && plot_rows(o.plot, rows, nrows, &o)) rc = 1;
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
