/* ocfd-hostile - what a well-behaved client of ocfd keeps while one hostile
 * client attacks the daemon (the attacks of hostile.c, one at a time).
 *
 * The well-behaved client does synchronous AES-128-GCM requests of 1 KB on
 * one connection (the CIOCCRYPT pattern).  For each attack, rounds of an
 * unloaded period and an attacked one alternate (the attacked one first in
 * every other round, so that drifting machine load hits both alike); the
 * table gives medians over the rounds, with their spread: the attacked rate
 * against the unloaded one, the attacked p99 latency, and the daemon's
 * resident memory at its peak during the attack (sampled every 20 ms).
 * Usage and figures: docs/bench/hostile.md. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostile.h"

struct opts {
  double seconds; /* each measuring period */
  int rounds;
  const char *sock; /* a running daemon; NULL: a private one */
  const char *bin;  /* the private daemon's executable */
  const char *daemon_args[24];
  int ndargs;
  bool attacks[HOSTILE__MAX];
};

static void usage(FILE *f) {
  fprintf(f,
          "usage: ocfd-hostile [options] [-- ocfd options]\n"
          "  --attacks A,B,...  attacks to run (default all):");
  for (int a = 0; a < HOSTILE__MAX; a++) fprintf(f, " %s", hostile_name(a));
  fprintf(f,
          "\n"
          "  --seconds S        each measuring period (default 2)\n"
          "  --rounds N         unloaded/attacked pairs per attack (default 3)\n"
          "  --ocfd SOCKET      measure a running daemon (its pid from /proc via the socket\n"
          "                     is not known: no RSS column)\n"
          "  --ocfd-bin PATH    the daemon to start privately (default: ocfd next to this\n"
          "                     program, else ../../ocfd); after --, its options (default\n"
          "                     --max-memory 256M)\n");
}

static double median(double *v, int n) {
  for (int i = 1; i < n; i++)
    for (int k = i; k > 0 && v[k] < v[k - 1]; k--) {
      double t = v[k];
      v[k] = v[k - 1];
      v[k - 1] = t;
    }
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double minv(const double *v, int n) {
  double m = v[0];
  for (int i = 1; i < n; i++) m = v[i] < m ? v[i] : m;
  return m;
}

static double maxv(const double *v, int n) {
  double m = v[0];
  for (int i = 1; i < n; i++) m = v[i] > m ? v[i] : m;
  return m;
}

/* The daemon's RSS peak, sampled by a thread while an attack runs. */
static pid_t dpid;
static volatile int sampling;
static volatile long rss_peak;

static void *sampler(void *arg) {
  (void)arg;
  while (sampling) {
    long kb = hostile_rss_kb(dpid);
    if (kb > rss_peak) rss_peak = kb;
    usleep(20000);
  }
  return NULL;
}

/* start_daemon runs the private daemon; 0 or an errno. */
static char priv_dir[64], priv_sock[128];
static int start_daemon(struct opts *o) {
  snprintf(priv_dir, sizeof(priv_dir), "/tmp/ocfd-hostile.XXXXXX");
  if (mkdtemp(priv_dir) == NULL) return errno;
  snprintf(priv_sock, sizeof(priv_sock), "%s/s", priv_dir);
  const char *argv[32];
  int n = 0;
  argv[n++] = o->bin;
  argv[n++] = "-s";
  argv[n++] = priv_sock;
  if (o->ndargs == 0) {
    argv[n++] = "--max-memory";
    argv[n++] = "256M";
  }
  for (int i = 0; i < o->ndargs && n < 30; i++) argv[n++] = o->daemon_args[i];
  argv[n] = NULL;
  dpid = fork();
  if (dpid < 0) return errno;
  if (dpid == 0) {
    /* its refusals are logged: keep them out of the table */
    FILE *f = freopen("/dev/null", "w", stderr);
    (void)f;
    execv(o->bin, (char *const *)argv);
    _exit(127);
  }
  for (int i = 0; i < 500; i++) {
    if (hostile_probe(priv_sock, 1) >= 0) {
      o->sock = priv_sock;
      return 0;
    }
    int st;
    if (waitpid(dpid, &st, WNOHANG) == dpid) return ECHILD;
    usleep(10000);
  }
  return ETIMEDOUT;
}

static void stop_daemon(void) {
  if (dpid <= 0) return;
  kill(dpid, SIGTERM);
  waitpid(dpid, NULL, 0);
  unlink(priv_sock);
  rmdir(priv_dir);
}

/* settle waits for the daemon to have let go of an attacker (its RSS and
 * mappings back near where they were), 3 s at most. */
static void settle(long maps0) {
  for (int i = 0; i < 150; i++) {
    long m = dpid > 0 ? hostile_maps(dpid) : 0;
    if (m <= maps0 + 8) break;
    usleep(20000);
  }
  usleep(200000);
}

struct row {
  double rate0[16], rate1[16], ratio[16], p99_0[16], p99_1[16], sleeps0[16];
  long rss;
  long errors;
};

/* cut_nofile: for the connect attack, the daemon's soft RLIMIT_NOFILE cut
 * to what it holds plus a few, so that accept fails with EMFILE (as it
 * would on a host whose limit is below --max-clients); restored after. */
static struct rlimit nofile_was;
static bool nofile_cut;
static void cut_nofile(bool cut) {
  if (dpid <= 0) return;
  if (cut) {
    long held = hostile_nfds(dpid);
    if (held < 0 || prlimit(dpid, RLIMIT_NOFILE, NULL, &nofile_was) != 0) return;
    struct rlimit r = {(rlim_t)held + 8, nofile_was.rlim_max};
    nofile_cut = prlimit(dpid, RLIMIT_NOFILE, &r, NULL) == 0;
  } else if (nofile_cut) {
    prlimit(dpid, RLIMIT_NOFILE, &nofile_was, NULL);
    nofile_cut = false;
  }
}

static int run_attack(struct opts *o, enum hostile_attack a, struct row *r) {
  struct hostile_report *rep = hostile_report_new();
  if (rep == NULL) return ENOMEM;
  memset(r, 0, sizeof(*r));
  long maps0 = dpid > 0 ? hostile_maps(dpid) : 0;
  int rc = 0;
  for (int k = 0; k < o->rounds && rc == 0; k++) {
    struct hostile_lat un, at;
    for (int half = 0; half < 2 && rc == 0; half++) {
      bool attacked = (half == 0) == (k % 2 == 1);
      /* the client connects first: some attacks fill the daemon's connections */
      struct hostile_client *cl;
      if ((rc = hostile_client_open(o->sock, &cl)) != 0) break;
      if (!attacked) {
        rc = hostile_client_measure(cl, o->seconds, &un);
        hostile_client_close(cl);
        continue;
      }
      struct hostile_opts ho = {0};
      if (a == HOSTILE_LINGER_FD) ho.conns = 1 << 30; /* as long as it lasts */
      if (a == HOSTILE_CONNECT) cut_nofile(true);
      pid_t pid = hostile_start(o->sock, a, &ho, rep);
      rc = hostile_wait(rep, 0, 30);
      if (rc == 0 && a == HOSTILE_PK_LEAVE) hostile_wait(rep, 1, 10); /* once it has gone */
      rss_peak = 0;
      sampling = 1;
      pthread_t th;
      bool sampled = dpid > 0 && pthread_create(&th, NULL, sampler, NULL) == 0;
      if (rc == 0)
        rc = hostile_client_measure(cl, o->seconds, &at);
      else
        fprintf(stderr, "ocfd-hostile: %s did not start: %s\n", hostile_name(a), strerror(rc));
      sampling = 0;
      if (sampled) pthread_join(th, NULL);
      hostile_stop(pid);
      cut_nofile(false);
      hostile_client_close(cl);
      settle(maps0);
      if (rss_peak > r->rss) r->rss = rss_peak;
    }
    if (rc) break;
    r->rate0[k] = un.rate;
    r->rate1[k] = at.rate;
    r->ratio[k] = un.rate > 0 ? at.rate / un.rate : 0;
    r->p99_0[k] = un.p99_us;
    r->p99_1[k] = at.p99_us;
    r->sleeps0[k] = un.sleeps;
    r->errors += at.errors;
  }
  hostile_report_free(rep);
  return rc;
}

int main(int argc, char **argv) {
  struct opts o = {.seconds = 2, .rounds = 3};
  bool any = false;
  static const struct option lo[] = {{"attacks", required_argument, NULL, 'a'},
                                     {"seconds", required_argument, NULL, 's'},
                                     {"rounds", required_argument, NULL, 'r'},
                                     {"ocfd", required_argument, NULL, 'o'},
                                     {"ocfd-bin", required_argument, NULL, 'b'},
                                     {"help", no_argument, NULL, 'h'},
                                     {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    switch (c) {
      case 'a': {
        char buf[512];
        snprintf(buf, sizeof(buf), "%s", optarg);
        for (char *s = NULL, *t = strtok_r(buf, ",", &s); t; t = strtok_r(NULL, ",", &s)) {
          int k = 0;
          while (k < HOSTILE__MAX && strcmp(hostile_name(k), t) != 0) k++;
          if (k == HOSTILE__MAX) {
            fprintf(stderr, "ocfd-hostile: unknown attack '%s'\n", t);
            return 2;
          }
          o.attacks[k] = any = true;
        }
        break;
      }
      case 's':
        o.seconds = atof(optarg);
        break;
      case 'r':
        o.rounds = atoi(optarg);
        break;
      case 'o':
        o.sock = optarg;
        break;
      case 'b':
        o.bin = optarg;
        break;
      case 'h':
        usage(stdout);
        return 0;
      default:
        usage(stderr);
        return 2;
    }
  }
  for (int i = optind; i < argc && o.ndargs < 24; i++) o.daemon_args[o.ndargs++] = argv[i];
  if (o.seconds <= 0 || o.rounds < 1 || o.rounds > 16) {
    usage(stderr);
    return 2;
  }
  if (!any)
    for (int k = 0; k < HOSTILE__MAX; k++) o.attacks[k] = true;
  signal(SIGPIPE, SIG_IGN);
  char bin[PATH_MAX];
  if (o.sock == NULL) {
    if (o.bin == NULL) {
      char self[PATH_MAX - 16];
      ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
      if (n <= 0) return 1;
      self[n] = '\0';
      char *slash = strrchr(self, '/');
      *slash = '\0';
      struct stat st;
      snprintf(bin, sizeof(bin), "%s/ocfd", self);
      if (stat(bin, &st) != 0) snprintf(bin, sizeof(bin), "%s/../../ocfd", self);
      o.bin = bin;
    }
    int rc = start_daemon(&o);
    if (rc) {
      fprintf(stderr, "ocfd-hostile: cannot start %s: %s\n", o.bin, strerror(rc));
      return 1;
    }
  }
  printf(
      "well-behaved client: synchronous AES-128-GCM, 1 KB, one connection; %d rounds of "
      "%.1f s unloaded and %.1f s attacked\n",
      o.rounds, o.seconds, o.seconds);
  printf("daemon: %s", o.sock == priv_sock ? o.bin : o.sock);
  for (int i = 0; i < o.ndargs; i++) printf(" %s", o.daemon_args[i]);
  if (o.sock == priv_sock && o.ndargs == 0) printf(" --max-memory 256M");
  printf("\n\n%-11s %10s %10s %20s %11s %17s %9s %8s %7s\n", "attack", "unloaded/s", "attacked/s",
         "ratio med (min-max)", "p99 unl us", "p99 att us (max)", "RSS peak", "sleeps/r", "errors");
  int fails = 0;
  for (int a = 0; a < HOSTILE__MAX; a++) {
    if (!o.attacks[a]) continue;
    struct row r;
    int rc = run_attack(&o, a, &r);
    if (rc) {
      printf("%-11s failed: %s\n", hostile_name(a), strerror(rc));
      fails++;
      continue;
    }
    int n = o.rounds;
    double ratio_min = minv(r.ratio, n), ratio_max = maxv(r.ratio, n), p99max = maxv(r.p99_1, n);
    char rss[16] = "-";
    if (r.rss > 0) snprintf(rss, sizeof(rss), "%.0f MB", (double)r.rss / 1024);
    printf("%-11s %10.0f %10.0f %6.2f (%.2f-%.2f) %11.0f %8.0f (%6.0f) %9s %8.2f %7ld\n",
           hostile_name(a), median(r.rate0, n), median(r.rate1, n), median(r.ratio, n), ratio_min,
           ratio_max, median(r.p99_0, n), median(r.p99_1, n), p99max, rss, median(r.sleeps0, n),
           r.errors);
    fflush(stdout);
  }
  stop_daemon();
  return fails ? 1 : 0;
}
