/* bench_tunnel.c - `ocf bench --tunnel`: ocf-ipsecd between two network
 * namespaces, against the same namespaces joined by the veth pair alone.
 *
 * It makes two namespaces joined by a veth pair (private benchmark
 * addresses, 198.18.0.0/15, and ULA inner prefixes), starts one gateway pair
 * per algorithm (each with its own TUN devices, inner subnets and UDP port),
 * and measures with iperf3 through each path: TCP throughput and 64-byte UDP
 * packets per second (delivered, at the receiver).  Paths alternate within
 * a round, reversed every other round; the figures are medians over the
 * rounds, with the spread.  pps for TCP is, through a tunnel, the ESP
 * packets the receiving gateway took in per second, and on the bare veth
 * the packets its receiving end counted (with segmentation offload a TCP
 * train of up to 64 KB counts once there); cpu_s is the CPU seconds both
 * gateways spent during the measurement.  Everything is removed at the
 * end, also on interruption. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ocf_tool.h"

#define MAXT 4  /* tunnels */
#define MAXR 16 /* rounds */

static const char usage_text[] =
    "usage: ocf bench --tunnel [--seconds S] [--rounds N] [--json FILE] [--algs LIST]\n"
    "                          [--streams N] [--daemon PATH] [--no-offload] [--keep]\n"
    "\n"
    "Measures ocf-ipsecd between two network namespaces (needs root, ip, iperf3):\n"
    "TCP throughput and 64-byte UDP packets per second through the tunnel, per\n"
    "algorithm, beside the bare veth pair that joins the namespaces.\n"
    "\n"
    "  --seconds S      length of each measurement (default 3)\n"
    "  --rounds N       alternating rounds; figures are medians (default 3)\n"
    "  --json FILE      one row per measurement: alg, path, proto, mbps, pps,\n"
    "                   cpu_s, with mbps_min / mbps_max over the rounds\n"
    "  --algs LIST      tunnels to measure (default null,aes-128-gcm,chacha20-poly1305);\n"
    "                   null is ESP with NULL encryption and AES-GMAC integrity (ESP\n"
    "                   needs integrity when it does not encrypt; GMAC is the cheapest)\n"
    "  --streams N      parallel TCP streams (default 1)\n"
    "  --daemon PATH    the ocf-ipsecd binary (default: beside this ocf, or $PATH)\n"
    "  --no-offload     run the gateways without TUN segmentation offload\n"
    "  --keep           leave the namespaces and logs in place (debugging)\n";

struct tun {
  const char *alg;   /* the row's name */
  const char *enc;   /* the daemon's transform */
  int keylen;        /* bytes, salt included */
  pid_t pid[2];      /* gateway in A, in B */
  char sock[2][108]; /* sun_path */
};

static struct {
  char na[32], nb[32], va[16], vb[16];
  char dir[64]; /* /tmp/ocf-bench-tunnel.XXXXXX */
  bool made, keep;
  struct tun t[MAXT];
  int nt;
} B;

static void cleanup(void) {
  for (int i = 0; i < B.nt; i++)
    for (int k = 0; k < 2; k++)
      if (B.t[i].pid[k] > 0) {
        kill(B.t[i].pid[k], SIGTERM);
        waitpid(B.t[i].pid[k], NULL, 0);
        B.t[i].pid[k] = 0;
      }
  if (B.made && !B.keep) {
    char cmd[256];
    for (int k = 0; k < 2; k++) {
      const char *ns = k ? B.nb : B.na;
      snprintf(cmd, sizeof(cmd),
               "for p in $(ip netns pids %s 2>/dev/null); do kill $p; done; ip netns del %s "
               "2>/dev/null",
               ns, ns);
      if (system(cmd) != 0) { /* already gone */
      }
    }
    B.made = false;
  }
  if (B.dir[0] && !B.keep) {
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", B.dir);
    if (system(cmd) != 0) {
    }
    B.dir[0] = '\0';
  }
}

static void on_signal(int sig) {
  (void)sig;
  exit(1); /* atexit runs cleanup */
}

/* runs a shell command, its output to the log; returns its exit status */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
  char cmd[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof(cmd), fmt, ap);
  va_end(ap);
  char full[2600];
  snprintf(full, sizeof(full), "(%s) >>'%s/bench.log' 2>&1", cmd, B.dir);
  int rc = system(full);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 1;
}

/* a command's standard output, malloc'ed */
static char *capture(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *capture(const char *fmt, ...) {
  char cmd[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof(cmd), fmt, ap);
  va_end(ap);
  FILE *p = popen(cmd, "r");
  if (p == NULL) return NULL;
  size_t len = 0, cap = 1 << 16;
  char *buf = malloc(cap);
  size_t r;
  while (buf != NULL && (r = fread(buf + len, 1, cap - len - 1, p)) > 0) {
    len += r;
    if (cap - len < 1024) {
      char *nb = realloc(buf, cap * 2);
      if (nb == NULL) break;
      buf = nb;
      cap *= 2;
    }
  }
  pclose(p);
  if (buf != NULL) buf[len] = '\0';
  return buf;
}

/* the number after "key": inside the object named obj of a JSON text */
static double json_num(const char *js, const char *obj, const char *key) {
  char k[64];
  snprintf(k, sizeof(k), "\"%s\"", obj);
  const char *o = strstr(js, k);
  if (o == NULL) return -1;
  const char *end = strchr(o, '}');
  snprintf(k, sizeof(k), "\"%s\"", key);
  const char *v = strstr(o, k);
  if (v == NULL || (end != NULL && v > end)) return -1;
  v = strchr(v, ':');
  return v ? strtod(v + 1, NULL) : -1;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_of(pid_t pid) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL) return 0;
  char buf[1024];
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  const char *p = strrchr(buf, ')');
  if (p == NULL) return 0;
  unsigned long ut = 0, st = 0;
  /* fields after the name: state is 3rd; utime 14th, stime 15th */
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return 0;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* a counter of the gateway at sock: the value of key on its "daemon" line */
static unsigned long long gw_counter(const char *sock, const char *key) {
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
      write(fd, "stats\n", 6) != 6) {
    if (fd >= 0) close(fd);
    return 0;
  }
  char buf[8192];
  size_t n = 0;
  ssize_t r;
  while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0) n += (size_t)r;
  close(fd);
  buf[n] = '\0';
  char k[64];
  snprintf(k, sizeof(k), " %s=", key);
  const char *v = strstr(buf, k);
  return v ? strtoull(v + strlen(k), NULL, 10) : 0;
}

static unsigned long long veth_rx(void) {
  char *s = capture("ip netns exec %s cat /sys/class/net/%s/statistics/rx_packets", B.nb, B.vb);
  unsigned long long v = s ? strtoull(s, NULL, 10) : 0;
  free(s);
  return v;
}

static void hex_key(char *out, int len, int seed) {
  for (int i = 0; i < len; i++)
    sprintf(out + 2 * i, "%02x", (unsigned)((seed * 37 + i * 11) & 0xff));
}

static int write_conf(int ti, int side, bool offload) {
  struct tun *t = &B.t[ti];
  char path[128];
  snprintf(path, sizeof(path), "%s/t%d%c.conf", B.dir, ti, side ? 'b' : 'a');
  FILE *f = fopen(path, "w");
  if (f == NULL) return errno;
  chmod(path, 0600);
  char k1[160], k2[160];
  hex_key(k1, t->keylen, 1 + ti);
  hex_key(k2, t->keylen, 101 + ti);
  const char *me = side ? "198.18.0.2" : "198.18.0.1", *peer = side ? "198.18.0.1" : "198.18.0.2";
  int net = 210 + ti, mine = side ? 2 : 1, theirs = side ? 1 : 2;
  fprintf(f,
          "interface obt%d%c\naddress 10.%d.%d.1/24\naddress fd00:%d:%d::1/64\n"
          "route 10.%d.%d.0/24\nroute fd00:%d:%d::/64\nport %d\noffload %s\n",
          ti, side ? 'b' : 'a', net, mine, net, mine, net, theirs, net, theirs, 4500 + ti,
          offload ? "on" : "off");
  fprintf(
      f, "sa out {\n dir out\n src %s\n dst %s\n spi %#x\n enc %s\n enc-key %s\n encap udp %d\n}\n",
      me, peer, 0x1000 + ti * 16 + mine, t->enc, side ? k2 : k1, 4500 + ti);
  fprintf(f,
          "sa in {\n dir in\n src %s\n dst %s\n spi %#x\n enc %s\n enc-key %s\n encap udp %d\n"
          " replay-window 4096\n}\n",
          peer, me, 0x1000 + ti * 16 + theirs, t->enc, side ? k1 : k2, 4500 + ti);
  fprintf(f, "policy o4 out from 10.%d.%d.0/24 to 10.%d.%d.0/24 protect out\n", net, mine, net,
          theirs);
  fprintf(f, "policy o6 out from fd00:%d:%d::/64 to fd00:%d:%d::/64 protect out\n", net, mine, net,
          theirs);
  fprintf(f, "policy i4 in from 10.%d.%d.0/24 to 10.%d.%d.0/24 protect in\n", net, theirs, net,
          mine);
  fprintf(f, "policy i6 in from fd00:%d:%d::/64 to fd00:%d:%d::/64 protect in\n", net, theirs, net,
          mine);
  fclose(f);
  return 0;
}

static bool sock_up(const char *path) {
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
  if (fd >= 0) close(fd);
  return ok;
}

static int start_gateways(int ti, const char *daemon) {
  struct tun *t = &B.t[ti];
  for (int side = 0; side < 2; side++) {
    snprintf(t->sock[side], sizeof(t->sock[side]), "%s/t%d%c.sock", B.dir, ti, side ? 'b' : 'a');
    char conf[128], log[128];
    snprintf(conf, sizeof(conf), "%s/t%d%c.conf", B.dir, ti, side ? 'b' : 'a');
    snprintf(log, sizeof(log), "%s/t%d%c.log", B.dir, ti, side ? 'b' : 'a');
    pid_t pid = fork();
    if (pid < 0) return errno;
    if (pid == 0) {
      FILE *l = freopen(log, "w", stderr);
      (void)l;
      execlp("ip", "ip", "netns", "exec", side ? B.nb : B.na, daemon, "-c", conf, "-S",
             t->sock[side], "-q", (char *)NULL);
      _exit(127);
    }
    t->pid[side] = pid;
  }
  for (int i = 0; i < 100; i++) {
    if (sock_up(t->sock[0]) && sock_up(t->sock[1])) return 0;
    struct timespec ts = {0, 50000000};
    nanosleep(&ts, NULL);
  }
  fprintf(stderr, "ocf bench: the %s gateways did not come up (logs in %s)\n", t->alg, B.dir);
  return EIO;
}

struct meas {
  double mbps, pps, cpu_s;
};

/* one iperf3 run from A to B at dst */
static int measure(const char *dst, int port, bool udp, int secs, int streams, int ti,
                   struct meas *m) {
  if (sh("ip netns exec %s iperf3 -s -1 -D -B %s -p %d", B.nb, dst, port) != 0) return EIO;
  struct timespec ts = {0, 200000000};
  nanosleep(&ts, NULL);
  double c0 = 0;
  if (ti >= 0) c0 = cpu_of(B.t[ti].pid[0]) + cpu_of(B.t[ti].pid[1]);
  /* packets: the ESP packets the receiving gateway took in, or what the
   * receiving veth counted (a segmentation-offloaded train counts once) */
  unsigned long long rx0 = ti >= 0 ? gw_counter(B.t[ti].sock[1], "net_rx") : veth_rx();
  double t0 = now_s();
  char *js = capture("ip netns exec %s iperf3 -c %s -p %d -t %d -J %s -P %d 2>&1", B.na, dst, port,
                     secs, udp ? "-u -l 64 -b 0" : "", udp ? 1 : streams);
  double t1 = now_s();
  unsigned long long rx1 = ti >= 0 ? gw_counter(B.t[ti].sock[1], "net_rx") : veth_rx();
  if (ti >= 0) m->cpu_s = cpu_of(B.t[ti].pid[0]) + cpu_of(B.t[ti].pid[1]) - c0;
  if (js == NULL) return EIO;
  double bps = json_num(js, "sum_received", "bits_per_second");
  double bytes = json_num(js, "sum_received", "bytes");
  double secs_r = json_num(js, "sum_received", "seconds");
  if (bps < 0 || secs_r <= 0) {
    fprintf(stderr, "ocf bench: iperf3 gave no result for %s: %.300s\n", dst, js);
    free(js);
    return EIO;
  }
  free(js);
  m->mbps = bps / 1e6;
  m->pps = udp ? bytes / 64 / secs_r : (double)(rx1 - rx0) / (t1 - t0);
  return 0;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  double s[MAXR];
  memcpy(s, v, (size_t)n * sizeof(double));
  qsort(s, (size_t)n, sizeof(double), cmp_d);
  return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static const char *find_daemon(const char *given, char *buf, size_t len) {
  if (given != NULL) return given;
  const char *env = getenv("OCF_IPSECD");
  if (env != NULL) return env;
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash != NULL) *slash = '\0';
    const char *cand[] = {"%s/src/ipsecd/ocf-ipsecd", "%s/../sbin/ocf-ipsecd", "%s/ocf-ipsecd"};
    for (size_t i = 0; i < sizeof(cand) / sizeof(cand[0]); i++) {
      snprintf(buf, len, cand[i], self);
      if (access(buf, X_OK) == 0) return buf;
    }
  }
  return "ocf-ipsecd";
}

int cmd_bench_tunnel(int argc, char **argv) {
  static const struct option lo[] = {{"tunnel", no_argument, NULL, 1},
                                     {"seconds", required_argument, NULL, 2},
                                     {"rounds", required_argument, NULL, 3},
                                     {"json", required_argument, NULL, 4},
                                     {"algs", required_argument, NULL, 5},
                                     {"streams", required_argument, NULL, 6},
                                     {"daemon", required_argument, NULL, 7},
                                     {"keep", no_argument, NULL, 8},
                                     {"no-offload", no_argument, NULL, 9},
                                     {"help", no_argument, NULL, 'h'},
                                     {NULL, 0, NULL, 0}};
  int secs = 3, rounds = 3, streams = 1, opt;
  bool offload = true;
  const char *json = NULL, *algs = "null,aes-128-gcm,chacha20-poly1305", *dgiven = NULL;
  optind = 1;
  while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    switch (opt) {
      case 1:
        break;
      case 2:
        secs = atoi(optarg);
        break;
      case 3:
        rounds = atoi(optarg);
        break;
      case 4:
        json = optarg;
        break;
      case 5:
        algs = optarg;
        break;
      case 6:
        streams = atoi(optarg);
        break;
      case 7:
        dgiven = optarg;
        break;
      case 8:
        B.keep = true;
        break;
      case 9:
        offload = false;
        break;
      case 'h':
        fputs(usage_text, stdout);
        return 0;
      default:
        fputs(usage_text, stderr);
        return 2;
    }
  }
  if (secs < 1 || secs > 600 || rounds < 1 || rounds > MAXR || streams < 1 || streams > 64) {
    fprintf(stderr, "ocf bench: --seconds 1..600, --rounds 1..%d, --streams 1..64\n", MAXR);
    return 2;
  }
  if (geteuid() != 0) {
    fprintf(stderr, "ocf bench --tunnel: needs root (network namespaces, TUN devices)\n");
    return 1;
  }
  if (system("command -v iperf3 >/dev/null && command -v ip >/dev/null") != 0) {
    fprintf(stderr, "ocf bench --tunnel: needs iperf3 and ip (make deps)\n");
    return 1;
  }
  char dbuf[PATH_MAX];
  const char *daemon = find_daemon(dgiven, dbuf, sizeof(dbuf));
  static const struct {
    const char *alg, *enc;
    int keylen;
  } known[] = {{"null", "null-aes-gmac", 20},
               {"aes-128-gcm", "aes-gcm-16", 20},
               {"aes-256-gcm", "aes-gcm-16", 36},
               {"chacha20-poly1305", "chacha20-poly1305", 36}};
  char list[256];
  snprintf(list, sizeof(list), "%s", algs);
  for (char *save = NULL, *a = strtok_r(list, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
    size_t i = 0;
    while (i < sizeof(known) / sizeof(known[0]) && strcmp(known[i].alg, a) != 0) i++;
    if (i == sizeof(known) / sizeof(known[0]) || B.nt == MAXT) {
      fprintf(stderr,
              "ocf bench: unknown or too many algorithms: %s (null, aes-128-gcm, "
              "aes-256-gcm, chacha20-poly1305)\n",
              a);
      return 2;
    }
    B.t[B.nt++] = (struct tun){.alg = known[i].alg, .enc = known[i].enc, .keylen = known[i].keylen};
  }
  snprintf(B.dir, sizeof(B.dir), "/tmp/ocf-bench-tunnel.XXXXXX");
  if (mkdtemp(B.dir) == NULL) {
    B.dir[0] = '\0';
    return 1;
  }
  int id = (int)(getpid() % 100000);
  snprintf(B.na, sizeof(B.na), "ocfbt%da", id);
  snprintf(B.nb, sizeof(B.nb), "ocfbt%db", id);
  snprintf(B.va, sizeof(B.va), "obt%dva", id);
  snprintf(B.vb, sizeof(B.vb), "obt%dvb", id);
  atexit(cleanup);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGHUP, on_signal);
  B.made = true;
  int rc =
      sh("ip netns add %s && ip netns add %s && "
         "ip link add %s netns %s type veth peer name %s netns %s && "
         "ip -n %s link set lo up && ip -n %s link set lo up && "
         "ip -n %s addr add 198.18.0.1/24 dev %s && ip -n %s addr add 198.18.0.2/24 dev %s && "
         "ip -n %s link set %s up && ip -n %s link set %s up",
         B.na, B.nb, B.va, B.na, B.vb, B.nb, B.na, B.nb, B.na, B.va, B.nb, B.vb, B.na, B.va, B.nb,
         B.vb);
  if (rc != 0) {
    fprintf(stderr, "ocf bench: cannot make the namespaces (log: %s/bench.log)\n", B.dir);
    B.keep = false;
    return 1;
  }
  for (int i = 0; i < B.nt && rc == 0; i++) {
    rc = write_conf(i, 0, offload);
    if (rc == 0) rc = write_conf(i, 1, offload);
    if (rc == 0) rc = start_gateways(i, daemon);
  }
  if (rc != 0) return 1;
  /* paths: -1 = the veth, i = tunnel i; protocols: 0 tcp, 1 udp64 */
  int np = B.nt + 1;
  static double mb[MAXT + 1][2][MAXR], pp[MAXT + 1][2][MAXR], cs[MAXT + 1][2][MAXR];
  printf("ocf bench --tunnel: %d s per measurement, %d round%s, %d TCP stream%s, offloads %s\n",
         secs, rounds, rounds > 1 ? "s" : "", streams, streams > 1 ? "s" : "",
         offload ? "on" : "off");
  for (int r = 0; r < rounds; r++) {
    for (int k = 0; k < np; k++) {
      int p = (r % 2) ? np - 1 - k : k;
      int ti = p - 1;
      char dst[64];
      if (ti < 0)
        snprintf(dst, sizeof(dst), "198.18.0.2");
      else
        snprintf(dst, sizeof(dst), "10.%d.2.1", 210 + ti);
      for (int proto = 0; proto < 2; proto++) {
        struct meas m = {0};
        if (measure(dst, 5201 + p, proto == 1, secs, streams, ti, &m) != 0) return 1;
        mb[p][proto][r] = m.mbps;
        pp[p][proto][r] = m.pps;
        cs[p][proto][r] = m.cpu_s;
        printf("  round %d  %-18s %-6s %-5s %9.1f Mbit/s %11.0f pkt/s  %5.2f gateway CPU s\n",
               r + 1, ti < 0 ? "none" : B.t[ti].alg, ti < 0 ? "veth" : "tunnel",
               proto ? "udp64" : "tcp", m.mbps, m.pps, m.cpu_s);
        fflush(stdout);
      }
    }
  }
  FILE *jf = NULL;
  if (json != NULL && (jf = fopen(json, "w")) == NULL) {
    fprintf(stderr, "ocf bench: %s: %s\n", json, strerror(errno));
    return 1;
  }
  printf("\n%-18s %-6s %-5s %12s %12s %12s %10s  (medians of %d rounds; shared machine: noisy)\n",
         "alg", "path", "proto", "Mbit/s", "min..max", "pkt/s", "gw CPU s", rounds);
  if (jf) fprintf(jf, "[\n");
  double tcp_null = 0, tcp_gcm = 0;
  for (int p = 0; p < np; p++)
    for (int proto = 0; proto < 2; proto++) {
      int ti = p - 1;
      double lo = mb[p][proto][0], hi = lo;
      for (int r = 1; r < rounds; r++) {
        lo = mb[p][proto][r] < lo ? mb[p][proto][r] : lo;
        hi = mb[p][proto][r] > hi ? mb[p][proto][r] : hi;
      }
      double m = median(mb[p][proto], rounds), q = median(pp[p][proto], rounds),
             c = median(cs[p][proto], rounds);
      const char *alg = ti < 0 ? "none" : B.t[ti].alg;
      if (proto == 0 && strcmp(alg, "null") == 0) tcp_null = m;
      if (proto == 0 && strcmp(alg, "aes-128-gcm") == 0) tcp_gcm = m;
      char range[32];
      snprintf(range, sizeof(range), "%.0f..%.0f", lo, hi);
      printf("%-18s %-6s %-5s %12.1f %12s %12.0f %10.2f\n", alg, ti < 0 ? "veth" : "tunnel",
             proto ? "udp64" : "tcp", m, range, q, c);
      if (jf)
        fprintf(jf,
                "  {\"alg\": \"%s\", \"path\": \"%s\", \"proto\": \"%s\", \"mbps\": %.1f, "
                "\"pps\": %.0f, \"cpu_s\": %.3f, \"mbps_min\": %.1f, \"mbps_max\": %.1f, "
                "\"seconds\": %d, \"rounds\": %d, \"streams\": %d, \"offload\": %s}%s\n",
                alg, ti < 0 ? "veth" : "tunnel", proto ? "udp64" : "tcp", m, q, c, lo, hi, secs,
                rounds, proto ? 1 : streams, offload ? "true" : "false",
                p == np - 1 && proto == 1 ? "" : ",");
    }
  if (jf) {
    fprintf(jf, "]\n");
    fclose(jf);
  }
  if (tcp_null > 0 && tcp_gcm > 0)
    printf(
        "\naes-128-gcm / null tunnel, TCP: %.0f%% (target >= 80%%); null tunnel %.0f Mbit/s "
        "(target >= 1000)\n",
        100 * tcp_gcm / tcp_null, tcp_null);
  if (B.keep) printf("kept: namespaces %s %s, files in %s\n", B.na, B.nb, B.dir);
  return 0;
}
