/* main.c - ocf-ipsecd: command line, start-up, signals, reload, shutdown,
 * and the daemon's logging function.  ocf-ipsecd(8) is the manual. */
#include <errno.h>
#include <getopt.h>
#include <ocf/devices.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ipsecd/ipsecd.h"

int gw_verbose = 2;
static bool log_journal; /* stderr goes to the journal: priorities as <N> */
static bool log_time;    /* a terminal: time stamps help */

void gw_log(int level, const char *fmt, ...) {
  if (level > gw_verbose) return;
  static const char *tag[] = {"error", "warning", "info", "debug"};
  static const int prio[] = {3, 4, 6, 7};
  int l = level < 0 ? 0 : level > 3 ? 3 : level;
  char line[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  if (log_journal) {
    fprintf(stderr, "<%d>%s: %s\n", prio[l], tag[l], line);
  } else if (log_time) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    localtime_r(&ts.tv_sec, &tm);
    fprintf(stderr, "%02d:%02d:%02d.%03ld " GW_NAME ": %s: %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
            ts.tv_nsec / 1000000, tag[l], line);
  } else {
    fprintf(stderr, GW_NAME ": %s: %s\n", tag[l], line);
  }
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: ocf-ipsecd [-c FILE] [options]          run the gateway (foreground)\n"
          "       ocf-ipsecd -c FILE --check               check the configuration and exit\n"
          "       ocf-ipsecd [-S SOCKET | -i IF] --ctl REQUEST   ask a running gateway\n"
          "\n"
          "  -c, --config FILE    configuration (default /etc/ocf-ipsecd.conf)\n"
          "  -i, --interface IF   TUN device name (overrides 'interface')\n"
          "  -S, --control PATH   control socket (default /run/ocf-ipsecd/IF.sock)\n"
          "  -n, --check          parse and validate the configuration (without starting\n"
          "                       producers), then exit: 0 = valid, 2 = refused (the\n"
          "                       message names the line and the reason)\n"
          "      --devices SPEC   attach modeled crypto cards (overrides 'devices')\n"
          "      --ocfd SOCKET    use the ocfd at SOCKET as a producer (overrides 'ocfd')\n"
          "      --queues N       TUN queues, one outbound thread each (overrides 'queues')\n"
          "      --no-offload     no TCP segmentation offload on the TUN device\n"
          "      --ctl REQUEST    send REQUEST (show, stats, reload, detach CARD,\n"
          "                       fault CARD WHAT) to the running gateway, print the answer\n"
          "  -v, --verbose        more messages (repeat for debug)\n"
          "  -q, --quiet          errors and warnings only\n"
          "  -h, --help           this text\n"
          "\n"
          "Manual keying only: there is no IKE and no rekeying.  SIGHUP reloads the\n"
          "configuration, keeping unchanged SAs; SIGTERM/SIGINT stop the gateway.\n"
          "Counters: ocf stat --ipsec [-S SOCKET].  See ocf-ipsecd(8).\n");
}

static int ctl_client(const char *path, const char *req) {
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sun.sun_path)) {
    fprintf(stderr, GW_NAME ": control socket path too long\n");
    return 1;
  }
  strcpy(sun.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
    fprintf(stderr, GW_NAME ": %s: %s (is the gateway running?)\n", path, strerror(errno));
    if (fd >= 0) close(fd);
    return 1;
  }
  char line[512];
  snprintf(line, sizeof(line), "%s\n", req);
  if (send(fd, line, strlen(line), MSG_NOSIGNAL) < 0) {
    fprintf(stderr, GW_NAME ": %s: %s\n", path, strerror(errno));
    close(fd);
    return 1;
  }
  shutdown(fd, SHUT_WR);
  int rc = 0;
  char buf[8192];
  ssize_t r;
  bool first = true;
  while ((r = read(fd, buf, sizeof(buf))) > 0) {
    if (first && r >= 6 && memcmp(buf, "error:", 6) == 0) rc = 1;
    first = false;
    fwrite(buf, 1, (size_t)r, stdout);
  }
  close(fd);
  return rc;
}

/* command-line settings, which win over the file's at start and reload */
static struct {
  const char *ifname, *control, *devices, *ocfd;
  int queues, no_offload;
} cli;

static int overrides(struct conf *c, char *err, size_t errlen) {
  if (cli.ifname != NULL) {
    if (strlen(cli.ifname) >= sizeof(c->ifname)) {
      snprintf(err, errlen, "interface name '%s' too long (at most %zu characters)", cli.ifname,
               sizeof(c->ifname) - 1);
      return EINVAL;
    }
    strcpy(c->ifname, cli.ifname);
  }
  if (cli.devices != NULL) snprintf(c->devices, sizeof(c->devices), "%s", cli.devices);
  if (cli.ocfd != NULL) snprintf(c->ocfd, sizeof(c->ocfd), "%s", cli.ocfd);
  if (cli.queues) c->queues = cli.queues;
  if (cli.no_offload) c->offload = 0;
  if (cli.control != NULL) snprintf(c->control, sizeof(c->control), "%s", cli.control);
  if (c->control[0] == '\0')
    snprintf(c->control, sizeof(c->control), GW_DEFAULT_CONTROL, c->ifname);
  return 0;
}

/* what a reload cannot change in a running gateway */
static void keep_fixed(const struct conf *old, struct conf *c) {
#define KEEP(field, what)                                                                    \
  if (memcmp(&old->field, &c->field, sizeof(c->field)) != 0) {                               \
    gw_log(1, "reload: '%s' changed; that takes a restart (the running value stays)", what); \
    memcpy(&c->field, &old->field, sizeof(c->field));                                        \
  }
  KEEP(ifname, "interface");
  KEEP(port, "port");
  KEEP(listen, "listen");
  KEEP(nlisten, "listen");
  KEEP(devices, "devices");
  KEEP(ocfd, "ocfd");
  KEEP(control, "control");
  KEEP(cpu_threads, "cpu-producer");
  KEEP(workers, "workers");
  KEEP(queues, "queues");
  KEEP(pool, "pool");
  KEEP(offload, "offload");
  KEEP(link_mtu, "link-mtu");
  KEEP(addr, "address");
  KEEP(naddr, "address");
  KEEP(route, "route");
  KEEP(nroute, "route");
#undef KEEP
}

static void reload(struct gw *g, const char *path) {
  char err[512];
  struct conf *c;
  gw_log(2, "reloading %s", path);
  int rc = conf_load(path, &c, err, sizeof(err));
  if (rc == 0) rc = overrides(c, err, sizeof(err));
  if (rc == 0) rc = gw_validate(c, false, err, sizeof(err));
  if (rc != 0) {
    gw_log(0, "reload refused: %s; the configuration in force is unchanged", err);
    conf_free(c);
    return;
  }
  keep_fixed(g->conf, c);
  if (net_missing(g, c)) {
    gw_log(0,
           "reload refused: the new SAs need an outer socket (address family or raw "
           "protocol) the gateway did not open at start; restart it");
    conf_free(c);
    return;
  }
  rc = gw_apply(g, c, err, sizeof(err));
  if (rc != 0) {
    gw_log(0, "reload failed: %s; the configuration in force is unchanged", err);
    conf_free(c);
    return;
  }
  uint32_t mtu = gw_tun_mtu(g);
  size_t bufmax = g->conf->link_mtu > 1500 ? g->conf->link_mtu : 1500;
  if (g->out[0] != NULL && mtu > bufmax) mtu = (uint32_t)bufmax;
  if (mtu != g->mtu) {
    rc = tun_set_mtu(g->conf->ifname, mtu);
    if (rc == 0) {
      gw_log(2, "%s: MTU %u -> %u", g->conf->ifname, g->mtu, mtu);
      g->mtu = mtu;
    } else {
      gw_log(0, "%s: MTU %u: %s", g->conf->ifname, mtu, strerror(rc));
    }
  }
}

/* the framework with the producers c asks for */
static int framework_start(const struct conf *c) {
  struct ocf_init_opts oo = {.workers = c->workers, .devices = c->devices[0] ? c->devices : NULL};
  int rc = ocf_init(&oo);
  if (rc != 0) {
    gw_log(0, "the framework did not start: %s (%s)", ocf_strerror(rc), ocf_errdetail());
    return rc;
  }
  if (c->cpu_threads > 0) {
    uint32_t hid;
    rc = ocf_cpu_attach(c->cpu_threads, 0, &hid);
    if (rc != 0) gw_log(1, "cpu producer: %s", ocf_strerror(rc));
  }
  if (c->ocfd[0]) {
    char err[256];
    rc = remote_attach(c->ocfd, err, sizeof(err));
    if (rc != 0) {
      gw_log(0, "%s", err);
      ocf_shutdown();
      return rc;
    }
  }
  return 0;
}

static void framework_stop(void) {
  ocf_shutdown();
  remote_close(); /* after: the framework waits for what it holds */
}

static int run(struct gw *g, const char *path) {
  char err[512];
  struct conf *c = g->conf;
  g->conf = NULL;
  int rc;
  struct ipsec_ctx_opts io = {.out_default = c->out_default,
                              .in_default = c->in_default,
                              .encap_port = c->port,
                              .event = gw_event,
                              .event_arg = g};
  rc = ipsec_ctx_new(&io, &g->ctx);
  if (rc == 0) rc = gw_apply(g, c, err, sizeof(err));
  if (rc != 0) {
    gw_log(0, "%s", err);
    conf_free(c);
    goto out;
  }
  c = g->conf;
  g->nqueues = c->queues;
  g->port = c->port;
  g->vnet = c->offload;
  atomic_store(&g->udp_gso, c->offload);
  g->udp_gro = c->offload;
  rc = tun_open(c->ifname, c->queues, &g->vnet, g->tun_fd, err, sizeof(err));
  if (rc == 0) {
    g->mtu = gw_tun_mtu(g);
    rc = tun_configure(c, g->mtu, err, sizeof(err));
  }
  if (rc == 0) rc = net_open(g, c, err, sizeof(err));
  int lfd = -1;
  if (rc == 0) {
    lfd = ctl_open(c->control, err, sizeof(err));
    if (lfd < 0) rc = EIO;
  }
  if (rc != 0) {
    gw_log(0, "%s", err);
    goto out;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  g->t_start = gw_now_ns();
  rc = gw_threads_start(g);
  if (rc != 0 || sfd < 0) {
    gw_log(0, "cannot start: %s", strerror(rc ? rc : errno));
    rc = rc ? rc : errno;
  } else {
    char pr[256] = "";
    struct ocf_driver_stat ds[16];
    int n = ocf_driver_stats(ds, 16);
    for (int i = 0; i < n && i < 16; i++)
      snprintf(pr + strlen(pr), sizeof(pr) - strlen(pr), "%s%s", i ? ", " : "", ds[i].name);
    gw_log(2,
           "%s up: mtu %u, %d SAs, %d policies, UDP port %u, offloads %s, producers: %s; "
           "control %s",
           c->ifname, g->mtu, c->nsa, c->npol, c->port, g->vnet ? "on" : "off", pr, c->control);
  }
  uint64_t next_life = gw_now_ns();
  while (rc == 0 && !atomic_load(&g->stop)) {
    struct pollfd p[2] = {{.fd = lfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
    poll(p, 2, 1000);
    int want_reload = 0;
    if (p[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGHUP)
          want_reload = 1;
        else {
          gw_log(2, "signal %u: stopping", si.ssi_signo);
          atomic_store(&g->stop, 1);
        }
      }
    }
    if (p[0].revents & POLLIN) ctl_serve(g, lfd, &want_reload);
    if (want_reload && !atomic_load(&g->stop)) reload(g, path);
    if (gw_now_ns() >= next_life) {
      gw_check_lifetimes(g);
      next_life = gw_now_ns() + 1000000000u;
    }
  }
  if (sfd >= 0) close(sfd);
  if (lfd >= 0) {
    close(lfd);
    unlink(g->conf->control);
  }
out:
  gw_threads_stop(g);
  gw_tables_free(g);
  ipsec_ctx_free(g->ctx);
  g->ctx = NULL;
  net_close(g);
  for (int q = 0; q < GW_MAX_QUEUES; q++)
    if (g->tun_fd[q] >= 0) close(g->tun_fd[q]);
  framework_stop();
  conf_free(g->conf);
  g->conf = NULL;
  if (rc == 0) gw_log(2, "stopped");
  return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  static const struct option lo[] = {
      {"config", required_argument, NULL, 'c'},  {"interface", required_argument, NULL, 'i'},
      {"control", required_argument, NULL, 'S'}, {"check", no_argument, NULL, 'n'},
      {"devices", required_argument, NULL, 1},   {"queues", required_argument, NULL, 2},
      {"no-offload", no_argument, NULL, 3},      {"ctl", required_argument, NULL, 4},
      {"verbose", no_argument, NULL, 'v'},       {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
  const char *path = "/etc/ocf-ipsecd.conf", *ctl = NULL;
  int check = 0, opt;
  while ((opt = getopt_long(argc, argv, "c:i:S:nvqh", lo, NULL)) != -1) {
    switch (opt) {
      case 'c':
        path = optarg;
        break;
      case 'i':
        cli.ifname = optarg;
        break;
      case 'S':
        cli.control = optarg;
        break;
      case 'n':
        check = 1;
        break;
      case 1:
        cli.devices = optarg;
        break;
      case 2:
        cli.queues = atoi(optarg);
        if (cli.queues < 1 || cli.queues > GW_MAX_QUEUES) {
          fprintf(stderr, GW_NAME ": --queues: 1..%d\n", GW_MAX_QUEUES);
          return 2;
        }
        break;
      case 3:
        cli.no_offload = 1;
        break;
      case 4:
        ctl = optarg;
        break;
      case 5:
        cli.ocfd = optarg;
        break;
      case 'v':
        gw_verbose++;
        break;
      case 'q':
        gw_verbose = 1;
        break;
      case 'h':
        usage(stdout);
        return 0;
      default:
        usage(stderr);
        return 2;
    }
  }
  if (optind != argc) {
    fprintf(stderr, GW_NAME ": unexpected argument '%s'\n", argv[optind]);
    usage(stderr);
    return 2;
  }
  log_journal = getenv("JOURNAL_STREAM") != NULL;
  log_time = !log_journal && isatty(2);
  if (getenv("OCF_LOG_LEVEL") == NULL) /* the library's own messages: warnings, or all with -vv */
    setenv("OCF_LOG_LEVEL", gw_verbose >= 3 ? "3" : "1", 1);
  char sock[256];
  if (ctl != NULL) {
    const char *control = cli.control;
    if (control == NULL) {
      snprintf(sock, sizeof(sock), GW_DEFAULT_CONTROL, cli.ifname ? cli.ifname : "ipsec0");
      control = sock;
    }
    return ctl_client(control, ctl);
  }
  char err[1024];
  struct conf *c;
  int rc = conf_load(path, &c, err, sizeof(err));
  if (rc == 0) rc = overrides(c, err, sizeof(err));
  if (rc != 0) {
    gw_log(0, "%s", err);
    conf_free(c);
    return 2;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL); /* before any thread: they inherit it */
  signal(SIGPIPE, SIG_IGN);
  if (check) { /* the library judges the SAs; no producer is started */
    rc = gw_validate(c, true, err, sizeof(err));
    if (rc != 0)
      gw_log(0, "%s", err);
    else
      printf("%s: ok (%d SAs, %d policies)\n", path, c->nsa, c->npol);
    conf_free(c);
    return rc != 0 ? 2 : 0;
  }
  /* at start, the SAs are judged by the producers that will serve them */
  if (framework_start(c) != 0) {
    conf_free(c);
    return 1;
  }
  rc = gw_validate(c, false, err, sizeof(err));
  if (rc != 0) {
    gw_log(0, "%s", err);
    conf_free(c);
    framework_stop();
    return 2;
  }
  static struct gw g;
  pthread_mutex_init(&g.lock, NULL);
  for (int q = 0; q < GW_MAX_QUEUES; q++) g.tun_fd[q] = -1;
  for (int f = 0; f < 2; f++) {
    g.udp[f] = -1;
    for (int p = 0; p < 3; p++) g.raw[f][p] = -1;
  }
  g.conf = c;
  return run(&g, path);
}
