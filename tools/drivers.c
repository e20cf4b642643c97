/* drivers.c - `ocf drivers` and `ocf stat`: what the in-process framework
 * instance has registered, and its per-producer counters. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <ocf/driver.h>
#include <ocf/ocf.h>
#include <ocf/pk.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ocf_tool.h"

/* dopts - options shared by `ocf drivers` and `ocf stat`. */
struct dopts {
  const char *devices, *policy, *load, *ocfd;
  int no_soft, workers, count, load_threads, load_size;
  double interval; /* stat -w; 0 = one snapshot */
};

/* parse_dargs: returns -1 to go on, else an exit code (help printed: 0). */
static int parse_dargs(int argc, char **argv, const char *usage, int is_stat, struct dopts *o) {
  enum { O_DEVICES = 256, O_NOSOFT, O_POLICY, O_WORKERS, O_LOAD, O_LTHREADS, O_LSIZE, O_OCFD };
  static const struct option lo[] = {
      {"devices", required_argument, NULL, O_DEVICES},
      {"no-soft", no_argument, NULL, O_NOSOFT},
      {"policy", required_argument, NULL, O_POLICY},
      {"workers", required_argument, NULL, O_WORKERS},
      {"load", required_argument, NULL, O_LOAD},
      {"load-threads", required_argument, NULL, O_LTHREADS},
      {"load-size", required_argument, NULL, O_LSIZE},
      {"ocfd", required_argument, NULL, O_OCFD},
      {"wait", required_argument, NULL, 'w'},
      {"count", required_argument, NULL, 'c'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  memset(o, 0, sizeof(*o));
  o->load_threads = 2;
  o->load_size = 1024;
  opterr = 0;
  optind = 1;
  int ch;
  while ((ch = getopt_long(argc, argv, is_stat ? ":hw:c:" : ":h", lo, NULL)) != -1) {
    char *end;
    long v;
    errno = 0;
    switch (ch) {
      case O_DEVICES:
        o->devices = optarg;
        break;
      case O_NOSOFT:
        o->no_soft = 1;
        break;
      case O_POLICY:
        o->policy = optarg;
        break;
      case O_OCFD:
        o->ocfd = optarg;
        break;
      case O_WORKERS:
      case O_LTHREADS:
      case O_LSIZE:
      case 'c':
        v = strtol(optarg, &end, 10);
        if (errno || end == optarg || *end || v < 1 || v > (ch == O_LSIZE ? 1 << 24 : 1 << 20)) {
          fprintf(stderr, "ocf %s: %s: expected a positive integer, got '%s'\n", argv[0],
                  argv[optind - 1], optarg);
          return 2;
        }
        if (ch == O_WORKERS) o->workers = (int)v;
        if (ch == O_LTHREADS) o->load_threads = (int)v;
        if (ch == O_LSIZE) o->load_size = (int)v;
        if (ch == 'c') o->count = (int)v;
        break;
      case O_LOAD:
        if (!is_stat) goto unknown;
        o->load = optarg;
        break;
      case 'w':
        o->interval = strtod(optarg, &end);
        if (errno || end == optarg || *end || !(o->interval >= 0.01) || o->interval > 86400) {
          fprintf(stderr, "ocf stat: -w: expected seconds (0.01 .. 86400), got '%s'\n", optarg);
          return 2;
        }
        break;
      case 'h':
        fputs(usage, stdout);
        return 0;
      case ':':
        fprintf(stderr, "ocf %s: option '%s' needs a value\n\n%s", argv[0], argv[optind - 1],
                usage);
        return 2;
      default:
      unknown:
        fprintf(stderr, "ocf %s: unknown option '%s'\n\n%s", argv[0], argv[optind - 1], usage);
        return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "ocf %s: unexpected argument '%s'\n\n%s", argv[0], argv[optind], usage);
    return 2;
  }
  if (o->load && ocf_alg_byname(o->load) == OCF_ALG_NONE) {
    fprintf(stderr, "ocf stat: --load: unknown algorithm '%s' (`ocf drivers` lists them)\n",
            o->load);
    return 2;
  }
  if (o->ocfd) {
    /* hook: ocfd has no statistics message yet */
    fprintf(stderr,
            "ocf %s: --ocfd: the daemon's protocol has no statistics message yet; only the "
            "in-process instance can be shown\n",
            argv[0]);
    return 1;
  }
  return -1;
}

static int start(const char *cmd, const struct dopts *o) {
  struct ocf_init_opts io = {
      .workers = o->workers, .devices = o->devices, .no_soft = o->no_soft, .policy = o->policy};
  int e = ocf_init(&io);
  if (e != 0) {
    fprintf(stderr, "ocf %s: ocf_init: %s (%s)\n", cmd, ocf_strerror(e), ocf_errdetail());
    return e;
  }
  if (o->devices && *o->devices) {
    struct ocf_driver_stat st[64];
    int n = ocf_driver_stats(st, 64), hw = 0;
    for (int i = 0; i < n && i < 64; i++) hw |= (st[i].flags & OCF_DRV_HARDWARE) != 0;
    if (!hw)
      fprintf(stderr, "ocf %s: warning: --devices '%s': no modeled card attached\n", cmd,
              o->devices);
  }
  return 0;
}

/* snapshot returns a malloc'ed array of all producers' counters. */
static struct ocf_driver_stat *snapshot(int *n) {
  struct ocf_driver_stat *st = NULL;
  int cap = 16;
  for (;;) {
    st = realloc(st, (size_t)cap * sizeof(*st));
    if (st == NULL) abort();
    *n = ocf_driver_stats(st, cap);
    if (*n <= cap) return st;
    cap = *n;
  }
}

static void flag_names(unsigned flags, int detached, char *buf, size_t len) {
  snprintf(buf, len, "%s%s%s%s", flags & OCF_DRV_HARDWARE ? "hardware," : "",
           flags & OCF_DRV_SOFTWARE ? "software," : "", flags & OCF_DRV_SYNC ? "sync," : "",
           detached ? "detached," : "");
  size_t l = strlen(buf);
  if (l)
    buf[l - 1] = 0;
  else
    snprintf(buf, len, "-");
}

int cmd_drivers(int argc, char **argv) {
  static const char usage[] =
      "usage: ocf drivers [--devices SPEC] [--no-soft] [--policy NAME]\n"
      "\n"
      "Lists the producers of an in-process framework instance: id, flags, active\n"
      "sessions, each registered algorithm with its maximum operation length, and\n"
      "each public-key operation with its modulus limit.\n"
      "\n"
      "  --devices SPEC   attach modeled cards (e.g. hifn7751*4@pci64); default $OCF_DEVICES\n"
      "  --no-soft        without the software producer\n"
      "  --policy NAME    balancing policy: sessions, capacity, size\n"
      "  -h, --help       this text\n";
  struct dopts o;
  int rc = parse_dargs(argc, argv, usage, 0, &o);
  if (rc >= 0) return rc;
  rc = 0;
  if (start("drivers", &o) != 0) return 1;
  printf("balancing policy: %s\n", ocf_policy_name());
  int n;
  struct ocf_driver_stat *st = snapshot(&n);
  printf("%-20s %5s  %-24s %8s\n", "producer", "hid", "flags", "sessions");
  for (int i = 0; i < n; i++) {
    char flags[64];
    flag_names(st[i].flags, st[i].detached, flags, sizeof(flags));
    printf("%-20s %5u  %-24s %8llu\n", st[i].name, st[i].hid, flags,
           (unsigned long long)st[i].sessions);
    enum ocf_alg algs[OCF_ALG__MAX];
    size_t maxlen[OCF_ALG__MAX];
    int count = 0, e = ocf_driver_algs(st[i].hid, algs, maxlen, OCF_ALG__MAX, &count);
    if (e != 0) {
      printf("  (algorithms unavailable: %s)\n", ocf_strerror(e));
      rc = 1;
      continue;
    }
    if (count > OCF_ALG__MAX) count = OCF_ALG__MAX;
    printf("  %d algorithm%s:\n", count, count == 1 ? "" : "s");
    int col = 0;
    for (int k = 0; k < count; k++) {
      const struct ocf_alg_info *ai = ocf_alg_lookup(algs[k]);
      char item[96];
      if (maxlen[k])
        snprintf(item, sizeof(item), "%s (max %zu B)", ai ? ai->name : "?", maxlen[k]);
      else
        snprintf(item, sizeof(item), "%s", ai ? ai->name : "?");
      int w = (int)strlen(item) + 2;
      if (col > 0 && col + w > 96) {
        putchar('\n');
        col = 0;
      }
      printf("%s%s%s", col == 0 ? "    " : "", item, k + 1 < count ? ", " : "\n");
      col += w + (col == 0 ? 4 : 0);
    }
    enum ocf_alg failed[OCF_ALG__MAX];
    int nfailed = 0;
    if (ocf_driver_failed_algs(st[i].hid, failed, OCF_ALG__MAX, &nfailed) == 0 && nfailed > 0) {
      if (nfailed > OCF_ALG__MAX) nfailed = OCF_ALG__MAX;
      printf("  %d algorithm%s refused at registration (failed the self-test, no traffic):\n    ",
             nfailed, nfailed == 1 ? "" : "s");
      for (int k = 0; k < nfailed; k++) {
        const struct ocf_alg_info *ai = ocf_alg_lookup(failed[k]);
        printf("%s%s", ai ? ai->name : "?", k + 1 < nfailed ? ", " : "\n");
      }
    }
    enum ocf_kop kops[OCF_KOP__MAX];
    size_t kbits[OCF_KOP__MAX];
    int kcount = 0;
    if (ocf_driver_kops(st[i].hid, kops, kbits, OCF_KOP__MAX, &kcount) == 0 && kcount > 0) {
      if (kcount > OCF_KOP__MAX) kcount = OCF_KOP__MAX;
      printf("  %d public-key operation%s:\n", kcount, kcount == 1 ? "" : "s");
      int kc = 0;
      for (int k = 0; k < kcount; k++) {
        const char *kn = ocf_kop_name(kops[k]);
        char item[96];
        if (kbits[k])
          snprintf(item, sizeof(item), "%s (max %zu bits)", kn ? kn : "?", kbits[k]);
        else
          snprintf(item, sizeof(item), "%s", kn ? kn : "?");
        int w = (int)strlen(item) + 2;
        if (kc > 0 && kc + w > 96) {
          putchar('\n');
          kc = 0;
        }
        printf("%s%s%s", kc == 0 ? "    " : "", item, k + 1 < kcount ? ", " : "\n");
        kc += w + (kc == 0 ? 4 : 0);
      }
    }
    if (count > 0 && maxlen[0] == 0) {
      int all_unlimited = 1;
      for (int k = 0; k < count; k++) all_unlimited &= maxlen[k] == 0;
      if (all_unlimited) printf("    (no operation length limit)\n");
    }
  }
  if (n == 0) printf("(no producers)\n");
  free(st);
  ocf_shutdown();
  return rc;
}

/* --- ocf stat ------------------------------------------------------------ */

/* An optional load (--load ALG) keeps the in-process producers busy so that
 * the live view has something to show: threads each blocking on requests of
 * --load-size bytes; they also measure the consumer-side latency. */
struct load {
  pthread_t tid;
  enum ocf_alg alg;
  size_t size;
  _Atomic int *stop;
  pthread_mutex_t *mu;
  uint64_t *lat; /* this interval's latencies in ns, guarded by mu */
  size_t *nlat, cap;
  int err;
};

static void *load_thread(void *arg) {
  struct load *l = arg;
  const struct ocf_alg_info *ai = ocf_alg_lookup(l->alg);
  uint8_t key[64] = {1, 2, 3}, *buf = calloc(1, l->size + 64);
  if (buf == NULL) abort();
  struct ocf_sessparam sp = {.alg = l->alg, .key = key, .keylen = ai->min_key ? ai->min_key : 0};
  if (ai->alg >= OCF_ALG_HMAC_MD5 && ai->alg <= OCF_ALG_HMAC_SHA2_512) sp.keylen = 20;
  ocf_sid_t sid;
  if ((l->err = ocf_newsession(&sid, &sp, 0)) != 0) {
    free(buf);
    return NULL;
  }
  size_t len = l->size - l->size % (ai->block ? ai->block : 1);
  while (!atomic_load(l->stop)) {
    struct ocf_req req;
    memset(&req, 0, sizeof(req));
    req.sid = sid;
    req.buf = ocf_buf_contig(buf, len + 64);
    req.ndesc = 1;
    req.desc[0].alg = l->alg;
    req.desc[0].len = len;
    req.desc[0].inject = len;
    req.desc[0].flags = ai->cls == OCF_CLASS_MAC ? 0 : OCF_D_ENCRYPT;
    if (ai->ivlen && ai->cls != OCF_CLASS_COMP) req.desc[0].flags |= OCF_D_IV_EXPLICIT;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int e = ocf_run(&req);
    clock_gettime(CLOCK_MONOTONIC, &b);
    sid = req.sid;
    if (e != 0 && e != ENOSPC) {
      l->err = e;
      break;
    }
    uint64_t ns = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000u + (uint64_t)(b.tv_nsec - a.tv_nsec);
    pthread_mutex_lock(l->mu);
    if (*l->nlat < l->cap) l->lat[(*l->nlat)++] = ns;
    pthread_mutex_unlock(l->mu);
  }
  for (int i = 0; i < 1000 && ocf_freesession(sid) == EBUSY; i++) {
  }
  free(buf);
  return NULL;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

static void print_snapshot(const struct ocf_driver_stat *st, int n) {
  printf("%5s %-16s %-18s %9s %12s %10s %14s %8s %10s %8s %9s %9s\n", "hid", "producer", "flags",
         "sessions", "requests", "krequests", "bytes", "errors", "migrations", "queued", "p50 us",
         "p99 us");
  for (int i = 0; i < n; i++) {
    char flags[64];
    flag_names(st[i].flags, st[i].detached, flags, sizeof(flags));
    printf("%5u %-16s %-18s %9llu %12llu %10llu %14llu %8llu %10llu %8llu %9.1f %9.1f\n", st[i].hid,
           st[i].name, flags, (unsigned long long)st[i].sessions,
           (unsigned long long)st[i].requests, (unsigned long long)st[i].krequests,
           (unsigned long long)st[i].bytes, (unsigned long long)st[i].errors,
           (unsigned long long)st[i].migrations, (unsigned long long)st[i].queued, st[i].p50_us,
           st[i].p99_us);
  }
  if (n == 0) printf("(no producers)\n");
}

int cmd_stat(int argc, char **argv) {
  static const char usage[] =
      "usage: ocf stat [-w SECONDS [-c COUNT]] [--load ALG] [options]\n"
      "\n"
      "Prints each producer's counters in an in-process framework instance: active\n"
      "sessions, completed requests (symmetric and public-key), payload bytes, errors,\n"
      "sessions migrated away, requests queued or in process.  With -w, prints a line\n"
      "per producer every SECONDS with the rates of that interval, like vmstat.\n"
      "Latency percentiles (p50, p99) are the producer's, dispatch to completion,\n"
      "over its life.\n"
      "\n"
      "  -w, --wait SECONDS   live view: one report every SECONDS\n"
      "  -c, --count N        stop after N reports (default: until interrupted)\n"
      "  --load ALG           keep producers busy meanwhile: threads doing blocking\n"
      "                       requests of ALG (framework names: aes-cbc, 3des-cbc, ...);\n"
      "                       adds the consumer-side latency percentiles\n"
      "  --load-threads N     load threads (default 2)\n"
      "  --load-size BYTES    request size of the load (default 1024)\n"
      "  --devices SPEC       attach modeled cards; default $OCF_DEVICES\n"
      "  --no-soft            without the software producer\n"
      "  --policy NAME        balancing policy: sessions, capacity, size\n"
      "  --ocfd SOCKET        a running ocfd's counters (not yet in the protocol)\n"
      "  -h, --help           this text\n";
  struct dopts o;
  int rc = parse_dargs(argc, argv, usage, 1, &o);
  if (rc >= 0) return rc;
  if (start("stat", &o) != 0) return 1;
  rc = 0;
  _Atomic int stop = 0;
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  size_t cap = 1u << 20, nlat = 0;
  uint64_t *lat = NULL;
  struct load *ld = NULL;
  if (o.load) {
    lat = malloc(cap * sizeof(*lat));
    ld = calloc((size_t)o.load_threads, sizeof(*ld));
    if (lat == NULL || ld == NULL) abort();
    for (int i = 0; i < o.load_threads; i++) {
      ld[i] = (struct load){.alg = ocf_alg_byname(o.load),
                            .size = (size_t)o.load_size,
                            .stop = &stop,
                            .mu = &mu,
                            .lat = lat,
                            .nlat = &nlat,
                            .cap = cap};
      if (pthread_create(&ld[i].tid, NULL, load_thread, &ld[i]) != 0) abort();
    }
  }
  int n;
  struct ocf_driver_stat *prev = snapshot(&n);
  if (o.interval == 0) {
    if (o.load) {
      struct timespec ts = {0, 500000000};
      nanosleep(&ts, NULL);
      free(prev);
      prev = snapshot(&n);
    }
    print_snapshot(prev, n);
  } else {
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int round = 0; o.count == 0 || round < o.count; round++) {
      struct timespec ts = {(time_t)o.interval,
                            (long)((o.interval - (double)(time_t)o.interval) * 1e9)};
      nanosleep(&ts, NULL);
      struct timespec t1;
      clock_gettime(CLOCK_MONOTONIC, &t1);
      double dt = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
      t0 = t1;
      int m;
      struct ocf_driver_stat *cur = snapshot(&m);
      double p50 = NAN, p99 = NAN;
      if (o.load) {
        pthread_mutex_lock(&mu);
        if (nlat) {
          qsort(lat, nlat, sizeof(*lat), cmp_u64);
          p50 = (double)lat[nlat / 2] / 1000.0;
          p99 = (double)lat[(size_t)((double)(nlat - 1) * 0.99)] / 1000.0;
        }
        nlat = 0;
        pthread_mutex_unlock(&mu);
      }
      if (round % 20 == 0)
        printf("%-16s %8s %10s %10s %9s %7s %6s %6s %8s %8s%s\n", "producer", "sessions", "req/s",
               "Mbit/s", "kreq/s", "errors", "migr", "queue", "p50 us", "p99 us",
               o.load ? "   load p50/p99 us" : "");
      for (int i = 0; i < m; i++) {
        const struct ocf_driver_stat *p = NULL;
        for (int k = 0; k < n && !p; k++)
          if (prev[k].hid == cur[i].hid) p = &prev[k];
        struct ocf_driver_stat z;
        memset(&z, 0, sizeof(z));
        if (p == NULL) p = &z;
        printf("%-16s %8llu %10.0f %10.1f %9.0f %7llu %6llu %6llu", cur[i].name,
               (unsigned long long)cur[i].sessions, (double)(cur[i].requests - p->requests) / dt,
               (double)(cur[i].bytes - p->bytes) * 8 / 1e6 / dt,
               (double)(cur[i].krequests - p->krequests) / dt,
               (unsigned long long)(cur[i].errors - p->errors),
               (unsigned long long)(cur[i].migrations - p->migrations),
               (unsigned long long)cur[i].queued);
        printf(" %8.1f %8.1f", cur[i].p50_us, cur[i].p99_us);
        if (o.load && i == 0) printf("   %6.1f / %.1f", p50, p99);
        putchar('\n');
      }
      if (m > 1) putchar('\n');
      fflush(stdout);
      free(prev);
      prev = cur;
      n = m;
    }
  }
  free(prev);
  if (ld) {
    atomic_store(&stop, 1);
    for (int i = 0; i < o.load_threads; i++) {
      pthread_join(ld[i].tid, NULL);
      if (ld[i].err && !rc) {
        fprintf(stderr, "ocf stat: --load %s: %s\n", o.load, ocf_strerror(ld[i].err));
        rc = 1;
      }
    }
    free(ld);
    free(lat);
  }
  ocf_shutdown();
  return rc;
}
