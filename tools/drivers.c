/* drivers.c - `ocf drivers` and `ocf stat`: what a framework instance has
 * registered, and its per-producer counters.  The instance is either
 * in-process (started here) or a running ocfd's (--ocfd, through the
 * daemon's OCFW_STATS message); both are read into a struct ocfdev_stats so
 * that the printing is one code path. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <ocf/driver.h>
#include <ocf/ocf.h>
#include <ocf/ocfdev.h>
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
  int remote; /* --ocfd given (ocfd NULL then means $OCF_SOCKET / the default) */
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
#ifndef OCF_HAVE_OCFDEV
    fprintf(stderr, "ocf %s: --ocfd: this `ocf` was built without libocfdev\n", argv[0]);
    return 1;
#endif
    if (o->devices || o->no_soft || o->policy || o->workers) {
      fprintf(stderr,
              "ocf %s: --devices, --no-soft, --policy and --workers set up an in-process "
              "instance; with --ocfd the daemon's own configuration applies\n",
              argv[0]);
      return 2;
    }
    o->remote = 1;
    /* "-" or "": $OCF_SOCKET, else the default path */
    if (strcmp(o->ocfd, "-") == 0 || *o->ocfd == '\0') o->ocfd = NULL;
  }
  return -1;
}

/* src - where the figures come from. */
struct src {
  int remote;
  struct ocfdev *conn; /* remote */
};

static const char *socket_name(const char *path) {
  if (path == NULL) path = getenv("OCF_SOCKET");
  return path && *path ? path : OCFDEV_DEFAULT_SOCKET;
}

static int start(const char *cmd, const struct dopts *o, struct src *src) {
  memset(src, 0, sizeof(*src));
  if (o->remote) {
    src->remote = 1;
#ifdef OCF_HAVE_OCFDEV
    int e = ocfdev_open(o->ocfd, &src->conn);
    if (e != 0) {
      fprintf(stderr, "ocf %s: cannot reach ocfd at %s: %s\n", cmd, socket_name(o->ocfd),
              strerror(e));
      return e;
    }
    return 0;
#else
    (void)cmd;
    return ENOTSUP;
#endif
  }
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

static void stop(struct src *src) {
  (void)src;
#ifdef OCF_HAVE_OCFDEV
  if (src->remote) {
    ocfdev_close(src->conn);
    src->conn = NULL;
    return;
  }
#endif
  ocf_shutdown();
}

/* local_snapshot reads the in-process instance the way the daemon answers
 * OCFW_STATS. */
static struct ocfdev_stats *local_snapshot(void) {
  struct ocfdev_stats *s = calloc(1, sizeof(*s));
  struct ocf_driver_stat *st = NULL;
  int n = 0, cap = 16;
  if (s == NULL) abort();
  for (;;) {
    st = realloc(st, (size_t)cap * sizeof(*st));
    if (st == NULL) abort();
    n = ocf_driver_stats(st, cap);
    if (n <= cap) break;
    cap = n;
  }
  snprintf(s->policy, sizeof(s->policy), "%s", ocf_policy_name());
  s->prod = calloc((size_t)(n ? n : 1), sizeof(*s->prod));
  if (s->prod == NULL) abort();
  for (int i = 0; i < n; i++) {
    struct ocfdev_producer *p = &s->prod[s->nprod++];
    p->st = st[i];
    if (ocf_driver_algs(st[i].hid, p->alg, p->alg_maxlen, OCF_ALG__MAX, &p->nalg) != 0)
      p->nalg = -1; /* shown as unavailable */
    if (ocf_driver_failed_algs(st[i].hid, p->failed, OCF_ALG__MAX, &p->nfailed) != 0)
      p->nfailed = 0;
    if (ocf_driver_kops(st[i].hid, p->kop, p->kop_maxbits, OCF_KOP__MAX, &p->nkop) != 0)
      p->nkop = 0;
    if (p->nalg > OCF_ALG__MAX) p->nalg = OCF_ALG__MAX;
    if (p->nfailed > OCF_ALG__MAX) p->nfailed = OCF_ALG__MAX;
    if (p->nkop > OCF_KOP__MAX) p->nkop = OCF_KOP__MAX;
  }
  free(st);
  return s;
}

/* snapshot returns the figures (free with ocfdev_stats_free), or NULL with a
 * message printed when the daemon cannot answer. */
static struct ocfdev_stats *snapshot(const char *cmd, struct src *src) {
#ifdef OCF_HAVE_OCFDEV
  if (src->remote) {
    struct ocfdev_stats *s = NULL;
    int e = ocfdev_stats(src->conn, &s);
    if (e != 0) {
      fprintf(stderr, "ocf %s: ocfd: %s%s\n", cmd, strerror(e),
              e == EBADRQC ? " (the daemon predates the statistics message)" : "");
      return NULL;
    }
    return s;
  }
#endif
  (void)cmd;
  (void)src;
  return local_snapshot();
}

#ifndef OCF_HAVE_OCFDEV
void ocfdev_stats_free(struct ocfdev_stats *s) {
  if (s == NULL) return;
  free(s->prod);
  free(s);
}
#endif

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

/* print_items prints a comma-separated list wrapped at 96 columns. */
static void print_items(char items[][96], int n) {
  int col = 0;
  for (int k = 0; k < n; k++) {
    int w = (int)strlen(items[k]) + 2;
    if (col > 0 && col + w > 96) {
      fputs(",\n", stdout);
      col = 0;
    } else if (col > 0) {
      fputs(", ", stdout);
    }
    printf("%s%s", col == 0 ? "    " : "", items[k]);
    col += w + (col == 0 ? 4 : 0);
  }
  if (n > 0) putchar('\n');
}

static int print_producer(const struct ocfdev_producer *p) {
  static char items[OCF_ALG__MAX + OCF_KOP__MAX][96];
  char flags[64];
  flag_names(p->st.flags, p->st.detached, flags, sizeof(flags));
  printf("%-20s %5u  %-24s %8llu\n", p->st.name, p->st.hid, flags,
         (unsigned long long)p->st.sessions);
  if (p->nalg < 0) {
    printf("  (algorithms unavailable)\n");
    return 1;
  }
  printf("  %d algorithm%s:\n", p->nalg, p->nalg == 1 ? "" : "s");
  int unlimited = 1;
  for (int k = 0; k < p->nalg; k++) {
    const struct ocf_alg_info *ai = ocf_alg_lookup(p->alg[k]);
    if (p->alg_maxlen[k])
      snprintf(items[k], sizeof(items[k]), "%s (max %zu B)", ai ? ai->name : "?", p->alg_maxlen[k]);
    else
      snprintf(items[k], sizeof(items[k]), "%s", ai ? ai->name : "?");
    unlimited &= p->alg_maxlen[k] == 0;
  }
  print_items(items, p->nalg);
  if (p->nfailed > 0) {
    printf("  %d algorithm%s refused at registration (failed the self-test, no traffic):\n",
           p->nfailed, p->nfailed == 1 ? "" : "s");
    for (int k = 0; k < p->nfailed; k++) {
      const struct ocf_alg_info *ai = ocf_alg_lookup(p->failed[k]);
      snprintf(items[k], sizeof(items[k]), "%s", ai ? ai->name : "?");
    }
    print_items(items, p->nfailed);
  }
  if (p->nkop > 0) {
    printf("  %d public-key operation%s:\n", p->nkop, p->nkop == 1 ? "" : "s");
    for (int k = 0; k < p->nkop; k++) {
      const char *kn = ocf_kop_name(p->kop[k]);
      if (p->kop_maxbits[k])
        snprintf(items[k], sizeof(items[k]), "%s (max %zu bits)", kn ? kn : "?", p->kop_maxbits[k]);
      else
        snprintf(items[k], sizeof(items[k]), "%s", kn ? kn : "?");
    }
    print_items(items, p->nkop);
  }
  if (p->nalg > 0 && unlimited) printf("    (no operation length limit)\n");
  return 0;
}

int cmd_drivers(int argc, char **argv) {
  static const char usage[] =
      "usage: ocf drivers [--ocfd SOCKET | --devices SPEC] [--no-soft] [--policy NAME]\n"
      "\n"
      "Lists the producers of a framework instance (in-process, or a running ocfd's):\n"
      "id, flags, active sessions, each registered algorithm with its maximum\n"
      "operation length, algorithms refused by the registration self-test, and each\n"
      "public-key operation with its modulus limit.\n"
      "\n"
      "  --ocfd SOCKET    the producers of the ocfd listening on SOCKET ('-' =\n"
      "                   $OCF_SOCKET, else " OCFDEV_DEFAULT_SOCKET
      ")\n"
      "  --devices SPEC   attach modeled cards (e.g. hifn7751*4@pci64); default $OCF_DEVICES\n"
      "  --no-soft        without the software producer\n"
      "  --policy NAME    balancing policy: sessions, capacity, size\n"
      "  -h, --help       this text\n";
  struct dopts o;
  int rc = parse_dargs(argc, argv, usage, 0, &o);
  if (rc >= 0) return rc;
  rc = 0;
  struct src src;
  if (start("drivers", &o, &src) != 0) return 1;
  struct ocfdev_stats *s = snapshot("drivers", &src);
  if (s == NULL) {
    stop(&src);
    return 1;
  }
  if (src.remote)
    printf("ocfd at %s: %u client%s, %llu session%s, up %.0f s\n", socket_name(o.ocfd), s->clients,
           s->clients == 1 ? "" : "s", (unsigned long long)s->sessions, s->sessions == 1 ? "" : "s",
           s->uptime);
  printf("balancing policy: %s\n", s->policy);
  printf("%-20s %5s  %-24s %8s\n", "producer", "hid", "flags", "sessions");
  for (int i = 0; i < s->nprod; i++) rc |= print_producer(&s->prod[i]);
  if (s->nprod == 0) printf("(no producers)\n");
  ocfdev_stats_free(s);
  stop(&src);
  return rc;
}

/* --- ocf stat ------------------------------------------------------------ */

/* An optional load (--load ALG) keeps the producers busy so that the live
 * view has something to show: threads each blocking on requests of
 * --load-size bytes (in-process, or through the daemon with --ocfd); they
 * also measure the consumer-side latency. */
struct load {
  pthread_t tid;
  enum ocf_alg alg;
  size_t size;
  const char *socket; /* remote: the daemon's socket */
  int remote;
  _Atomic int *stop;
  pthread_mutex_t *mu;
  uint64_t *lat; /* this interval's latencies in ns, guarded by mu */
  size_t *nlat, cap;
  int err;
};

static void load_desc(const struct ocf_alg_info *ai, size_t len, struct ocf_desc *d) {
  memset(d, 0, sizeof(*d));
  d->alg = ai->alg;
  d->len = len;
  d->inject = len;
  d->flags = ai->cls == OCF_CLASS_MAC ? 0 : OCF_D_ENCRYPT;
  if (ai->ivlen && ai->cls != OCF_CLASS_COMP) d->flags |= OCF_D_IV_EXPLICIT;
}

static void load_sample(struct load *l, const struct timespec *a, const struct timespec *b) {
  uint64_t ns =
      (uint64_t)(b->tv_sec - a->tv_sec) * 1000000000u + (uint64_t)(b->tv_nsec - a->tv_nsec);
  pthread_mutex_lock(l->mu);
  if (*l->nlat < l->cap) l->lat[(*l->nlat)++] = ns;
  pthread_mutex_unlock(l->mu);
}

static void *load_thread(void *arg) {
  struct load *l = arg;
  const struct ocf_alg_info *ai = ocf_alg_lookup(l->alg);
  uint8_t key[64] = {1, 2, 3}, *buf = calloc(1, l->size + 64);
  if (buf == NULL) abort();
  struct ocf_sessparam sp = {.alg = l->alg, .key = key, .keylen = ai->min_key ? ai->min_key : 0};
  if (ai->alg >= OCF_ALG_HMAC_MD5 && ai->alg <= OCF_ALG_HMAC_SHA2_512) sp.keylen = 20;
  size_t len = l->size - l->size % (ai->block ? ai->block : 1);
  if (l->remote) {
#ifdef OCF_HAVE_OCFDEV
    struct ocfdev *d = NULL;
    uint32_t ses = 0;
    if ((l->err = ocfdev_open(l->socket, &d)) == 0)
      l->err = ocfdev_newsession(d, &sp, 0, &ses, NULL);
    while (l->err == 0 && !atomic_load(l->stop)) {
      struct ocfdev_op op;
      memset(&op, 0, sizeof(op));
      op.ses = ses;
      op.ndesc = 1;
      op.buf = buf;
      op.len = len + 64;
      load_desc(ai, len, &op.desc[0]);
      struct timespec a, b;
      clock_gettime(CLOCK_MONOTONIC, &a);
      int e = ocfdev_crypt(d, &op);
      clock_gettime(CLOCK_MONOTONIC, &b);
      if (e != 0) {
        l->err = e;
        break;
      }
      load_sample(l, &a, &b);
    }
    ocfdev_close(d);
#endif
    free(buf);
    return NULL;
  }
  ocf_sid_t sid;
  if ((l->err = ocf_newsession(&sid, &sp, 0)) != 0) {
    free(buf);
    return NULL;
  }
  while (!atomic_load(l->stop)) {
    struct ocf_req req;
    memset(&req, 0, sizeof(req));
    req.sid = sid;
    req.buf = ocf_buf_contig(buf, len + 64);
    req.ndesc = 1;
    load_desc(ai, len, &req.desc[0]);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int e = ocf_run(&req);
    clock_gettime(CLOCK_MONOTONIC, &b);
    sid = req.sid;
    if (e != 0 && e != ENOSPC) {
      l->err = e;
      break;
    }
    load_sample(l, &a, &b);
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

static void print_snapshot(const struct ocfdev_stats *s, int remote) {
  if (remote)
    printf(
        "ocfd: %u client%s (%llu accepted), %llu session%s, %llu request%s in flight, "
        "%llu answered (%llu with an error), %.1f MB shared memory, up %.0f s\n\n",
        s->clients, s->clients == 1 ? "" : "s", (unsigned long long)s->accepted,
        (unsigned long long)s->sessions, s->sessions == 1 ? "" : "s",
        (unsigned long long)s->inflight, s->inflight == 1 ? "" : "s", (unsigned long long)s->served,
        (unsigned long long)s->failed, (double)s->shm_bytes / 1e6, s->uptime);
  printf("%5s %-16s %-18s %9s %12s %10s %14s %8s %10s %8s %9s %9s\n", "hid", "producer", "flags",
         "sessions", "requests", "krequests", "bytes", "errors", "migrations", "queued", "p50 us",
         "p99 us");
  for (int i = 0; i < s->nprod; i++) {
    const struct ocf_driver_stat *st = &s->prod[i].st;
    char flags[64];
    flag_names(st->flags, st->detached, flags, sizeof(flags));
    printf("%5u %-16s %-18s %9llu %12llu %10llu %14llu %8llu %10llu %8llu %9.1f %9.1f\n", st->hid,
           st->name, flags, (unsigned long long)st->sessions, (unsigned long long)st->requests,
           (unsigned long long)st->krequests, (unsigned long long)st->bytes,
           (unsigned long long)st->errors, (unsigned long long)st->migrations,
           (unsigned long long)st->queued, st->p50_us, st->p99_us);
  }
  if (s->nprod == 0) printf("(no producers)\n");
}

int cmd_stat(int argc, char **argv) {
  static const char usage[] =
      "usage: ocf stat [-w SECONDS [-c COUNT]] [--ocfd SOCKET] [--load ALG] [options]\n"
      "\n"
      "Prints each producer's counters in a framework instance (in-process, or a\n"
      "running ocfd's with --ocfd): active sessions, completed requests (symmetric\n"
      "and public-key), payload bytes, errors, sessions migrated away, requests\n"
      "queued or in process.  With -w, prints a line per producer every SECONDS\n"
      "with the rates of that interval, like vmstat.  Latency percentiles (p50,\n"
      "p99) are the producer's, dispatch to completion, over its life.  With\n"
      "--ocfd the daemon's own figures come first (clients, sessions, requests\n"
      "in flight and answered).\n"
      "\n"
      "  -w, --wait SECONDS   live view: one report every SECONDS\n"
      "  -c, --count N        stop after N reports (default: until interrupted)\n"
      "  --ocfd SOCKET        the ocfd listening on SOCKET ('-' = $OCF_SOCKET, else\n"
      "                       " OCFDEV_DEFAULT_SOCKET
      ")\n"
      "  --load ALG           keep producers busy meanwhile: threads doing blocking\n"
      "                       requests of ALG (framework names: aes-cbc, 3des-cbc, ...),\n"
      "                       through the daemon with --ocfd; adds the consumer-side\n"
      "                       latency percentiles\n"
      "  --load-threads N     load threads (default 2)\n"
      "  --load-size BYTES    request size of the load (default 1024)\n"
      "  --devices SPEC       attach modeled cards; default $OCF_DEVICES\n"
      "  --no-soft            without the software producer\n"
      "  --policy NAME        balancing policy: sessions, capacity, size\n"
      "  -h, --help           this text\n";
  struct dopts o;
  int rc = parse_dargs(argc, argv, usage, 1, &o);
  if (rc >= 0) return rc;
  struct src src;
  if (start("stat", &o, &src) != 0) return 1;
  rc = 0;
  _Atomic int stop_load = 0;
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
                            .socket = o.ocfd,
                            .remote = o.remote,
                            .stop = &stop_load,
                            .mu = &mu,
                            .lat = lat,
                            .nlat = &nlat,
                            .cap = cap};
      if (pthread_create(&ld[i].tid, NULL, load_thread, &ld[i]) != 0) abort();
    }
  }
  struct ocfdev_stats *prev = snapshot("stat", &src);
  if (prev == NULL) {
    rc = 1;
  } else if (o.interval == 0) {
    if (o.load) {
      struct timespec ts = {0, 500000000};
      nanosleep(&ts, NULL);
      ocfdev_stats_free(prev);
      prev = snapshot("stat", &src);
    }
    if (prev)
      print_snapshot(prev, src.remote);
    else
      rc = 1;
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
      struct ocfdev_stats *cur = snapshot("stat", &src);
      if (cur == NULL) { /* the daemon went away */
        rc = 1;
        break;
      }
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
      if (src.remote)
        printf("%-16s %8llu %10.0f %10s %9s %7llu %6s %6llu %8s %8s   (%u client%s)\n", "ocfd",
               (unsigned long long)cur->sessions, (double)(cur->served - prev->served) / dt, "-",
               "-", (unsigned long long)(cur->failed - prev->failed), "-",
               (unsigned long long)cur->inflight, "-", "-", cur->clients,
               cur->clients == 1 ? "" : "s");
      for (int i = 0; i < cur->nprod; i++) {
        const struct ocf_driver_stat *c = &cur->prod[i].st, *p = NULL;
        for (int k = 0; k < prev->nprod && !p; k++)
          if (prev->prod[k].st.hid == c->hid) p = &prev->prod[k].st;
        struct ocf_driver_stat z;
        memset(&z, 0, sizeof(z));
        if (p == NULL) p = &z;
        printf("%-16s %8llu %10.0f %10.1f %9.0f %7llu %6llu %6llu", c->name,
               (unsigned long long)c->sessions, (double)(c->requests - p->requests) / dt,
               (double)(c->bytes - p->bytes) * 8 / 1e6 / dt,
               (double)(c->krequests - p->krequests) / dt,
               (unsigned long long)(c->errors - p->errors),
               (unsigned long long)(c->migrations - p->migrations), (unsigned long long)c->queued);
        printf(" %8.1f %8.1f", c->p50_us, c->p99_us);
        if (o.load && i == 0) printf("   %6.1f / %.1f", p50, p99);
        putchar('\n');
      }
      if (cur->nprod > 1 || src.remote) putchar('\n');
      fflush(stdout);
      ocfdev_stats_free(prev);
      prev = cur;
    }
  }
  ocfdev_stats_free(prev);
  if (ld) {
    atomic_store(&stop_load, 1);
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
  stop(&src);
  return rc;
}
