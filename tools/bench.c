/* bench.c - `ocf bench`: options, the case loop, and the table / JSON / CSV
 * output.  Each (algorithm, size) case runs through the framework and then
 * as direct OpenSSL calls on the same data, in the same process. */
#include "bench.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <ocf/driver.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
};

struct opts {
  struct bench_params p;
  const char *algs, *sizes, *json, *csv, *plot, *devices, *policy;
  int workers, quiet, list, verify, rounds;
  struct paper_opts paper; /* --figure / --table / --paper */
  int seconds_set;
  int only; /* 0 both paths, 1 framework only, 2 direct only (for profiling) */
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
          "  --rounds N         alternate the two paths N times per case, each round\n"
          "                     seconds/N long, so drifting machine load hits both alike\n"
          "                     (default 4)\n"
          "  --no-verify        skip the one-request output check against OpenSSL\n"
          "  --only ocf|direct  run one path only (for profiling; no ratio)\n"
          "  --list             print all algorithm names and exit\n"
          "  --json FILE        write results as one JSON array ('-' = stdout)\n"
          "  --csv FILE         write results as CSV ('-' = stdout)\n"
          "  -q, --quiet        no table and no progress (use with --json / --csv)\n"
          "  --plot DIR         draw throughput vs size (gnuplot) as DIR/bench.svg and .png\n"
          "  --devices SPEC     attach modeled cards (ocf_init's devices, e.g.\n"
          "                     hifn7751*4@pci64); default $OCF_DEVICES\n"
          "  --policy NAME      balancing policy: sessions, capacity, size\n"
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
          "  --paper            all of the above and a Markdown report (--out, default\n"
          "                     docs/bench/report.md; plots next to it unless --plot)\n"
          "  --full             the long version (more sizes, threads, seconds)\n"
          "  --out FILE         where --paper writes its report\n"
          "  --ocfd SOCKET      figure 1 also through a running ocfd (needs libocfdev)\n"
          "  (--seconds, --workers, --devices, --json, --csv, --plot, --quiet apply too)\n",
          default_algs, default_sizes);
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
    O_OCFD
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
      case O_OCFD:
        o->paper.ocfd = optarg;
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
  int modes = (o->paper.figure != 0) + (o->paper.table != 0) + o->paper.paper;
  if (modes > 1) return bad("--figure, --table and --paper exclude each other%s%s", "", "");
  if (modes == 0 && (o->paper.full || o->paper.out || o->paper.ocfd))
    return bad("--full, --out and --ocfd go with --figure, --table or --paper%s%s", "", "");
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
  if (!r->ocf.ok || !r->direct.ok || !(r->direct.ops_per_s > 0)) return NAN;
  return r->ocf.ops_per_s / r->direct.ops_per_s;
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
          "%.2f s per case and path, in %d alternating round%s\n\n",
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
    for (int k = 0; k < 2; k++) {
      const struct bench_result *res = k ? &r->direct : &r->ocf;
      if (!res->ok) continue;
      fprintf(f, "%s,%zu,%s,%s,%d,", r->c->name, r->size, k ? "direct" : "ocf", res->producer,
              o->p.threads);
      csv_num(f, res->mbps);
      fputc(',', f);
      fprintf(f, "%.0f,", res->ops_per_s);
      csv_num(f, res->p50_us);
      fputc(',', f);
      csv_num(f, res->p99_us);
      fputc(',', f);
      if (!k) csv_num(f, ratio_of(r));
      fputc(',', f);
      csv_num(f, res->elapsed);
      fprintf(f, ",%d,%d,%llu\n", k ? 0 : o->p.window, k ? 0 : o->p.batch,
              (unsigned long long)res->ops);
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
  int ocf_bad = 0, direct_bad = 0;
  for (int k = 0; k < o->rounds && !ocf_bad && !direct_bad; k++) {
    if (do_ocf && bench_run_ocf(r->c, size, data, &round, so, &r->ocf) != 0) ocf_bad = 1;
    if (do_direct && bench_run_direct(r->c, size, data, &round, sd, &r->direct) != 0)
      direct_bad = 1;
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
  struct opts o;
  int rc = parse_opts(argc, argv, &o);
  if (rc) return rc;
  if (o.list) {
    list_algs();
    return 0;
  }
  if (o.paper.figure || o.paper.table || o.paper.paper) {
    o.paper.quiet = o.quiet;
    o.paper.seconds = o.seconds_set ? o.p.seconds : 0;
    o.paper.workers = o.workers;
    o.paper.devices = o.devices;
    o.paper.json = o.json;
    o.paper.csv = o.csv;
    o.paper.plot = o.plot;
    return bench_paper(&o.paper);
  }

  int nalg = 0, nsize = 0;
  size_t *sizes = NULL;
  if ((rc = parse_sizes(o.sizes, &sizes, &nsize)) != 0) return rc;
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
  return rc;
}
