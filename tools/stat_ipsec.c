/* stat_ipsec.c - `ocf stat --ipsec`: the counters of a running ocf-ipsecd,
 * read from its control socket (see ocf-ipsecd(8)).
 *
 * Without -w it prints the daemon's own report, every SA with its packets,
 * bytes, drops by reason, replay window and lifetimes, like
 * `ip -s xfrm state`.  With -w it prints a line per SA every interval with
 * the rates of that interval, like vmstat. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ocf_tool.h"

#define SOCK_DIR "/run/ocf-ipsecd"

static const char usage_text[] =
    "usage: ocf stat --ipsec [-S SOCKET | -i INTERFACE] [-w SECONDS [-c COUNT]] [--raw]\n"
    "\n"
    "Shows the counters of a running ocf-ipsecd: per SA the packets and bytes it\n"
    "protected or accepted, its drops by reason (replay, old, auth, ...), its\n"
    "replay window, sequence numbers and lifetimes; per policy its packets and\n"
    "drops; the gateway's TUN and socket counters and its producers.\n"
    "\n"
    "  -S, --socket PATH     the gateway's control socket (default: $OCF_IPSECD_SOCKET,\n"
    "                        else " SOCK_DIR
    "/INTERFACE.sock, else the only socket there)\n"
    "  -i, --interface IF    the gateway of TUN device IF\n"
    "  -w, --wait SECONDS    live view: one line per SA every SECONDS, with rates\n"
    "  -c, --count N         stop after N reports (default: until interrupted)\n"
    "      --raw             the machine-readable form: key=value lines\n"
    "  -h, --help            this text\n";

/* the request's whole answer in a malloc'ed string, or NULL (message printed) */
static char *ask(const char *path, const char *req) {
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sun.sun_path)) {
    fprintf(stderr, "ocf stat: socket path too long: %s\n", path);
    return NULL;
  }
  strcpy(sun.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
    fprintf(stderr, "ocf stat: %s: %s (is ocf-ipsecd running? -S names its socket)\n", path,
            strerror(errno));
    if (fd >= 0) close(fd);
    return NULL;
  }
  char line[64];
  snprintf(line, sizeof(line), "%s\n", req);
  if (send(fd, line, strlen(line), MSG_NOSIGNAL) < 0) {
    close(fd);
    return NULL;
  }
  shutdown(fd, SHUT_WR);
  size_t len = 0, cap = 1 << 16;
  char *buf = malloc(cap);
  ssize_t r;
  while (buf != NULL && (r = read(fd, buf + len, cap - len - 1)) > 0) {
    len += (size_t)r;
    if (cap - len < 4096) {
      char *nb = realloc(buf, cap * 2);
      if (nb == NULL) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
  }
  close(fd);
  if (buf != NULL) buf[len] = '\0';
  return buf;
}

/* the value of key in a "kind k=v k=v" line, copied into out */
static const char *kv(const char *line, const char *key, char *out, size_t outlen) {
  size_t kl = strlen(key);
  for (const char *p = line; (p = strstr(p, key)) != NULL; p += kl) {
    if ((p == line || p[-1] == ' ') && p[kl] == '=') {
      const char *v = p + kl + 1;
      size_t n = strcspn(v, " \n");
      if (n >= outlen) n = outlen - 1;
      memcpy(out, v, n);
      out[n] = '\0';
      return out;
    }
  }
  snprintf(out, outlen, "-");
  return out;
}

static unsigned long long kvu(const char *line, const char *key) {
  char b[64];
  return strtoull(kv(line, key, b, sizeof(b)), NULL, 0);
}

/* the socket to use when none was named */
static int find_socket(const char *ifname, char *out, size_t outlen) {
  const char *env = getenv("OCF_IPSECD_SOCKET");
  if (env != NULL && env[0]) {
    snprintf(out, outlen, "%s", env);
    return 0;
  }
  if (ifname != NULL) {
    snprintf(out, outlen, SOCK_DIR "/%s.sock", ifname);
    return 0;
  }
  snprintf(out, outlen, SOCK_DIR "/ipsec0.sock");
  if (access(out, F_OK) == 0) return 0;
  DIR *d = opendir(SOCK_DIR);
  int n = 0;
  if (d != NULL) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      size_t l = strlen(e->d_name);
      if (l > 5 && strcmp(e->d_name + l - 5, ".sock") == 0) {
        if (n++ == 0) snprintf(out, outlen, SOCK_DIR "/%s", e->d_name);
      }
    }
    closedir(d);
  }
  if (n > 1) {
    fprintf(stderr, "ocf stat: several gateways run (" SOCK_DIR "); name one with -i or -S\n");
    return -1;
  }
  return 0;
}

/* one SA's figures between two reports */
struct prev_sa {
  char key[96];
  unsigned long long packets, bytes, drops;
};

static unsigned long long drops_of(const char *line) {
  unsigned long long d = 0;
  for (const char *p = line; (p = strstr(p, " drop.")) != NULL; p++) {
    const char *eq = strchr(p, '=');
    if (eq != NULL) d += strtoull(eq + 1, NULL, 10);
  }
  return d;
}

static void live_line(const char *line, struct prev_sa *prev, int *nprev, double dt, int first) {
  char name[64], dir[8], spi[16], prod[32], win[16], top[24], bm[24];
  kv(line, "name", name, sizeof(name));
  kv(line, "dir", dir, sizeof(dir));
  kv(line, "spi", spi, sizeof(spi));
  kv(line, "producer", prod, sizeof(prod));
  kv(line, "replay_window", win, sizeof(win));
  kv(line, "seq", top, sizeof(top));
  kv(line, "replay_bitmap", bm, sizeof(bm));
  unsigned long long pk = kvu(line, "packets"), by = kvu(line, "bytes"), dr = drops_of(line);
  char key[96];
  snprintf(key, sizeof(key), "%s/%s/%s", name, dir, spi);
  struct prev_sa *p = NULL;
  for (int i = 0; i < *nprev && p == NULL; i++)
    if (strcmp(prev[i].key, key) == 0) p = &prev[i];
  if (p == NULL && *nprev < 256) {
    p = &prev[(*nprev)++];
    snprintf(p->key, sizeof(p->key), "%s", key);
    p->packets = pk;
    p->bytes = by;
    p->drops = dr;
  }
  double pps = 0, mbps = 0, dps = 0;
  if (p != NULL && !first && dt > 0) {
    pps = (double)(pk - p->packets) / dt;
    mbps = (double)(by - p->bytes) * 8 / dt / 1e6;
    dps = (double)(dr - p->drops) / dt;
  }
  if (p != NULL) {
    p->packets = pk;
    p->bytes = by;
    p->drops = dr;
  }
  printf("%-14s %-3s %-10s %-10s %10.0f %9.1f %12llu %8.0f %10llu %12s %s\n", name, dir, spi, prod,
         pps, mbps, pk, dps, dr, top, strcmp(dir, "in") == 0 ? bm : "");
}

int cmd_stat_ipsec(int argc, char **argv) {
  static const struct option lo[] = {{"ipsec", no_argument, NULL, 1},
                                     {"socket", required_argument, NULL, 'S'},
                                     {"interface", required_argument, NULL, 'i'},
                                     {"wait", required_argument, NULL, 'w'},
                                     {"count", required_argument, NULL, 'c'},
                                     {"raw", no_argument, NULL, 2},
                                     {"help", no_argument, NULL, 'h'},
                                     {NULL, 0, NULL, 0}};
  const char *sock = NULL, *ifname = NULL;
  double wait = 0;
  int count = 0, raw = 0, opt;
  optind = 1;
  while ((opt = getopt_long(argc, argv, "S:i:w:c:h", lo, NULL)) != -1) {
    switch (opt) {
      case 1:
        break;
      case 'S':
        sock = optarg;
        break;
      case 'i':
        ifname = optarg;
        break;
      case 'w':
        wait = atof(optarg);
        if (wait <= 0) {
          fprintf(stderr, "ocf stat: -w takes a positive number of seconds\n");
          return 2;
        }
        break;
      case 'c':
        count = atoi(optarg);
        break;
      case 2:
        raw = 1;
        break;
      case 'h':
        fputs(usage_text, stdout);
        return 0;
      default:
        fputs(usage_text, stderr);
        return 2;
    }
  }
  if (optind != argc) {
    fprintf(stderr, "ocf stat: unexpected argument '%s'\n", argv[optind]);
    return 2;
  }
  char path[256];
  if (sock != NULL)
    snprintf(path, sizeof(path), "%s", sock);
  else if (find_socket(ifname, path, sizeof(path)) != 0)
    return 1;
  if (wait == 0) {
    char *r = ask(path, raw ? "stats" : "show");
    if (r == NULL) return 1;
    fputs(r, stdout);
    int rc = strncmp(r, "error:", 6) == 0;
    free(r);
    return rc;
  }
  static struct prev_sa prev[256];
  int nprev = 0;
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int round = 0; count == 0 || round < count; round++) {
    if (round > 0) {
      struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
      nanosleep(&ts, NULL);
    }
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double dt = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    t0 = t1;
    char *r = ask(path, "stats");
    if (r == NULL) return 1;
    if (raw) {
      fputs(r, stdout);
    } else {
      char tm[16];
      time_t now = time(NULL);
      strftime(tm, sizeof(tm), "%H:%M:%S", localtime(&now));
      printf("%-14s %-3s %-10s %-10s %10s %9s %12s %8s %10s %12s %s\n", tm, "dir", "spi",
             "producer", "pkts/s", "Mbit/s", "packets", "drops/s", "drops", "seq/top", "window");
      for (char *line = strtok(r, "\n"); line != NULL; line = strtok(NULL, "\n"))
        if (strncmp(line, "sa ", 3) == 0) live_line(line, prev, &nprev, dt, round == 0);
    }
    fflush(stdout);
    free(r);
  }
  return 0;
}
