/* ctl.c - the control socket: a Unix stream socket (mode 0600) that
 * answers one request line per connection.
 *
 *   show            the report for people (every SA like `ip -s xfrm state`)
 *   stats           the same figures as "key=value" lines, one per object,
 *                   for `ocf stat --ipsec`
 *   reload          re-read the configuration (as SIGHUP does)
 *   detach CARD     eject a modeled card, as if pulled out under traffic
 *   fault CARD WHAT inject a fault into a modeled card (fail, hang, ok)
 *
 * The main thread serves it, the same thread that reloads, so the tables it
 * reports never change under it.  That thread also stops the gateway on a
 * signal and expires SAs, so one exchange gets CTL_READ_MS to send its line
 * and CTL_WRITE_MS to read the answer, in all: a client that sends or reads
 * a byte at a time cannot hold the main thread for longer. */
#include <errno.h>
#include <fcntl.h>
#include <ocf/devices.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ipsecd/ipsecd.h"

struct sbuf {
  char *p;
  size_t len, cap;
};

static void put(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct sbuf *b, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    size_t room = b->cap - b->len;
    int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (b->p != NULL && (size_t)n < room) {
      b->len += (size_t)n;
      return;
    }
    size_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap < b->len + (size_t)n + 1) cap *= 2;
    char *q = realloc(b->p, cap);
    if (q == NULL) return;
    b->p = q;
    b->cap = cap;
  }
}

int ctl_open(const char *path, char *err, size_t errlen) {
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sun.sun_path)) {
    snprintf(err, errlen, "control socket path %s is too long", path);
    return -1;
  }
  strcpy(sun.sun_path, path);
  /* its directory, as systemd's RuntimeDirectory would make it */
  char dir[sizeof(sun.sun_path)];
  strcpy(dir, path);
  char *slash = strrchr(dir, '/');
  if (slash != NULL && slash != dir) {
    *slash = '\0';
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
      snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
      return -1;
    }
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    snprintf(err, errlen, "control socket: %s", strerror(errno));
    return -1;
  }
  /* a socket left by a daemon that died is stale; a live one answers */
  int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe >= 0 && connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
    close(probe);
    close(fd);
    snprintf(err, errlen, "%s: another ocf-ipsecd is running there", path);
    return -1;
  }
  if (probe >= 0) close(probe);
  unlink(path);
  mode_t old = umask(077);
  int rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
  umask(old);
  if (rc != 0 || listen(fd, 16) != 0) {
    snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

/* --- the reports --------------------------------------------------------------------- */

static const char *proto_name(enum ipsec_proto p) {
  return p == IPSEC_PROTO_ESP ? "esp" : p == IPSEC_PROTO_AH ? "ah" : "ipcomp";
}

static void put_counters(struct sbuf *b, const struct ipsec_counters *c) {
  put(b, " packets=%llu bytes=%llu", (unsigned long long)c->packets, (unsigned long long)c->bytes);
  for (int v = IPSEC_DROP_POLICY; v < IPSEC_VERDICT__MAX; v++)
    put(b, " drop.%s=%llu", ipsec_verdict_name((enum ipsec_verdict)v),
        (unsigned long long)c->drops[v]);
}

static void put_life(struct sbuf *b, const char *k, const struct ipsec_lifetime *l) {
  put(b, " %s.packets=%llu %s.bytes=%llu %s.seconds=%llu", k, (unsigned long long)l->packets, k,
      (unsigned long long)l->bytes, k, (unsigned long long)l->seconds);
}

static void kv_sa(struct sbuf *b, struct ipsec_sa *sa) {
  struct ipsec_sa_info i;
  ipsec_sa_info(sa, &i);
  char s[64], d[64];
  put(b, "sa name=%s dir=%s proto=%s spi=%#x mode=%s src=%s dst=%s enc=%s auth=%s",
      i.name[0] ? i.name : "-", i.dir == IPSEC_DIR_OUT ? "out" : "in", proto_name(i.proto), i.spi,
      i.mode == IPSEC_MODE_TUNNEL ? "tunnel" : "transport", ipsec_addr_format(&i.src, s, sizeof(s)),
      ipsec_addr_format(&i.dst, d, sizeof(d)), ipsec_enc_name(i.enc) ? ipsec_enc_name(i.enc) : "?",
      ipsec_auth_name(i.auth) ? ipsec_auth_name(i.auth) : "?");
  if (i.flags & IPSEC_SA_UDP_ENCAP)
    put(b, " encap=udp sport=%u dport=%u", i.encap_sport, i.encap_dport);
  else
    put(b, " encap=none");
  put(b, " esn=%d producer=%s seq=%llu replay_window=%u replay_bitmap=%#llx",
      !!(i.flags & IPSEC_SA_ESN), i.producer[0] ? i.producer : "-", (unsigned long long)i.seq,
      i.replay_window, (unsigned long long)i.replay_bitmap);
  put_counters(b, &i.c);
  put_life(b, "soft", &i.soft);
  put_life(b, "hard", &i.hard);
  put_life(b, "used", &i.used);
  put(b,
      " soft_expired=%d hard_expired=%d pmtu=%u mtu=%u resubmits=%llu reorder_held=%llu refs=%d\n",
      i.soft_expired, i.hard_expired, i.pmtu, i.mtu, (unsigned long long)i.resubmits,
      (unsigned long long)i.reorder_held, i.refs);
}

static void kv_pol(struct sbuf *b, struct ipsec_policy *pol) {
  struct ipsec_policy_info i;
  ipsec_policy_info(pol, &i);
  char s[64], d[64];
  put(b, "policy name=%s dir=%s index=%d action=%s from=%s/%u to=%s/%u proto=%u",
      i.name[0] ? i.name : "-", i.dir == IPSEC_DIR_OUT ? "out" : "in", i.index,
      i.action == IPSEC_ACT_PROTECT  ? "protect"
      : i.action == IPSEC_ACT_BYPASS ? "bypass"
                                     : "discard",
      ipsec_addr_format(&i.sel.src, s, sizeof(s)), i.sel.src_plen,
      ipsec_addr_format(&i.sel.dst, d, sizeof(d)), i.sel.dst_plen, i.sel.proto);
  put_counters(b, &i.c);
  put(b, "\n");
}

#define CF(name) \
  { #name, offsetof(struct gw_counters, name) }
static const struct {
  const char *name;
  size_t off;
} cfields[] = {CF(tun_rx),     CF(tun_rx_bytes), CF(tun_reads),    CF(tun_tx),   CF(tun_tx_bytes),
               CF(tun_writes), CF(net_rx),       CF(net_rx_bytes), CF(net_tx),   CF(net_tx_bytes),
               CF(net_calls),  CF(wakeups),      CF(backpressure), CF(send_err), CF(tun_err),
               CF(oversize),   CF(ike),          CF(icmp_sent),    CF(gso_err)};
#undef CF

static uint64_t cval(struct gw_counters *c, size_t off) {
  return atomic_load_explicit((_Atomic uint64_t *)((char *)c + off), memory_order_relaxed);
}

static void kv_daemon(struct sbuf *b, struct gw *g) {
  struct gw_counters c;
  gw_counters_sum(g, &c);
  uint64_t used, total;
  gw_pool_stats(g, &used, &total);
  struct ipsec_ctx_stats cs;
  ipsec_ctx_stats(g->ctx, &cs);
  put(b, "daemon pid=%d interface=%s mtu=%u queues=%d offload=%d uptime_s=%.1f", (int)getpid(),
      g->conf->ifname, g->mtu, g->nqueues, g->vnet, (double)(gw_now_ns() - g->t_start) / 1e9);
  for (size_t i = 0; i < sizeof(cfields) / sizeof(cfields[0]); i++)
    put(b, " %s=%llu", cfields[i].name, (unsigned long long)cval(&c, cfields[i].off));
  put(b, " pool_used=%llu pool_total=%llu inflight=%llu moved=%llu", (unsigned long long)used,
      (unsigned long long)total, (unsigned long long)cs.inflight, (unsigned long long)cs.moved);
  for (int v = 0; v < IPSEC_VERDICT__MAX; v++)
    put(b, " verdict.%s=%llu", ipsec_verdict_name((enum ipsec_verdict)v),
        (unsigned long long)c.verdict[v]);
  put(b, "\n");
  put(b, "unmatched dir=out");
  put_counters(b, &cs.out);
  put(b, "\nunmatched dir=in");
  put_counters(b, &cs.in);
  put(b, "\n");
}

static void kv_producers(struct sbuf *b) {
  struct ocf_driver_stat ds[32];
  int n = ocf_driver_stats(ds, 32);
  for (int i = 0; i < n && i < 32; i++)
    put(b,
        "producer name=%s requests=%llu bytes=%llu errors=%llu sessions=%llu migrations=%llu "
        "queued=%llu detached=%d\n",
        ds[i].name, (unsigned long long)ds[i].requests, (unsigned long long)ds[i].bytes,
        (unsigned long long)ds[i].errors, (unsigned long long)ds[i].sessions,
        (unsigned long long)ds[i].migrations, (unsigned long long)ds[i].queued, ds[i].detached);
  struct ocf_sim_card_info ci[32];
  int nc = ocf_sim_cards(ci, 32);
  for (int i = 0; i < nc && i < 32; i++)
    put(b, "card name=%s profile=%s state=%s requests=%llu lost=%llu\n", ci[i].name, ci[i].profile,
        ci[i].state, (unsigned long long)ci[i].requests, (unsigned long long)ci[i].lost);
}

struct each {
  struct sbuf *b;
};

static void each_sa(void *arg, struct ipsec_sa *sa) { kv_sa(((struct each *)arg)->b, sa); }
static void each_pol(void *arg, struct ipsec_policy *p) { kv_pol(((struct each *)arg)->b, p); }

char *ctl_report(struct gw *g, const char *format) {
  struct sbuf b = {0};
  if (strcmp(format, "kv") == 0) {
    kv_daemon(&b, g);
    struct each e = {&b};
    ipsec_sa_foreach(g->ctx, each_sa, &e);
    ipsec_policy_foreach(g->ctx, each_pol, &e);
    kv_producers(&b);
  } else {
    struct gw_counters c;
    gw_counters_sum(g, &c);
    uint64_t used, total;
    gw_pool_stats(g, &used, &total);
    put(&b, "ocf-ipsecd pid %d on %s: mtu %u, %d queue%s, offloads %s, up %.0f s\n", (int)getpid(),
        g->conf->ifname, g->mtu, g->nqueues, g->nqueues > 1 ? "s" : "", g->vnet ? "on" : "off",
        (double)(gw_now_ns() - g->t_start) / 1e9);
    put(&b,
        "  tun: rx %llu packets %llu bytes in %llu reads, tx %llu packets %llu bytes in %llu "
        "writes\n",
        (unsigned long long)c.tun_rx, (unsigned long long)c.tun_rx_bytes,
        (unsigned long long)c.tun_reads, (unsigned long long)c.tun_tx,
        (unsigned long long)c.tun_tx_bytes, (unsigned long long)c.tun_writes);
    put(&b, "  net: rx %llu packets %llu bytes, tx %llu packets %llu bytes, %llu batched calls\n",
        (unsigned long long)c.net_rx, (unsigned long long)c.net_rx_bytes,
        (unsigned long long)c.net_tx, (unsigned long long)c.net_tx_bytes,
        (unsigned long long)c.net_calls);
    put(&b,
        "  buffers in use %llu of %llu; back-pressure %llu; send errors %llu; tun errors %llu; "
        "oversize %llu; ike ignored %llu; icmp too-big sent %llu\n",
        (unsigned long long)used, (unsigned long long)total, (unsigned long long)c.backpressure,
        (unsigned long long)c.send_err, (unsigned long long)c.tun_err,
        (unsigned long long)c.oversize, (unsigned long long)c.ike, (unsigned long long)c.icmp_sent);
    struct ocf_driver_stat ds[32];
    int n = ocf_driver_stats(ds, 32);
    put(&b, "  producers:");
    for (int i = 0; i < n && i < 32; i++)
      put(&b, " %s (%llu requests%s)", ds[i].name, (unsigned long long)ds[i].requests,
          ds[i].detached ? ", detached" : "");
    put(&b, "\n\n");
    size_t need = ipsec_stats_text(g->ctx, NULL, 0);
    char *txt = malloc(need + 1);
    if (txt != NULL) {
      ipsec_stats_text(g->ctx, txt, need + 1);
      put(&b, "%s", txt);
      free(txt);
    }
  }
  if (b.p == NULL) return strdup("");
  return b.p;
}

/* --- serving ----------------------------------------------------------------------------- */

#define CTL_READ_MS 1000
#define CTL_WRITE_MS 2000

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* wait_for: poll fd for ev until the deadline; true when ready. */
static bool wait_for(int fd, short ev, int64_t deadline) {
  for (;;) {
    int64_t left = deadline - mono_ms();
    if (left <= 0) return false;
    struct pollfd p = {.fd = fd, .events = ev};
    int r = poll(&p, 1, (int)left);
    if (r > 0) return true;
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
  }
}

static void reply(int fd, const char *s) {
  size_t n = strlen(s), off = 0;
  int64_t deadline = mono_ms() + CTL_WRITE_MS;
  while (off < n) {
    if (!wait_for(fd, POLLOUT, deadline)) return; /* a client that does not read loses it */
    ssize_t w = send(fd, s + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && errno != EAGAIN && errno != EINTR) return;
    if (w > 0) off += (size_t)w;
  }
}

void ctl_serve(struct gw *g, int lfd, int *reload) {
  int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) return;
  char line[256];
  size_t n = 0;
  bool late = false;
  int64_t deadline = mono_ms() + CTL_READ_MS;
  while (n < sizeof(line) - 1) {
    if (!wait_for(fd, POLLIN, deadline)) {
      late = true;
      break;
    }
    ssize_t r = recv(fd, line + n, sizeof(line) - 1 - n, 0);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (r <= 0) break;
    n += (size_t)r;
    if (memchr(line, '\n', n) != NULL) break;
  }
  line[n] = '\0';
  if (late && memchr(line, '\n', n) == NULL) {
    reply(fd, "error: request line not complete within 1 s\n");
    close(fd);
    return;
  }
  char *nl = strpbrk(line, "\r\n");
  if (nl != NULL) *nl = '\0';
  char *save = NULL, *cmd = strtok_r(line, " \t", &save);
  char *a1 = strtok_r(NULL, " \t", &save), *a2 = strtok_r(NULL, " \t", &save);
  char msg[256];
  if (cmd == NULL) {
    reply(fd, "error: empty request (show, stats, reload, detach CARD, fault CARD WHAT)\n");
  } else if (!strcmp(cmd, "show") || !strcmp(cmd, "stats")) {
    char *r = ctl_report(g, cmd[0] == 's' && cmd[1] == 't' ? "kv" : "text");
    reply(fd, r);
    free(r);
  } else if (!strcmp(cmd, "reload")) {
    *reload = 1;
    reply(fd, "ok: reloading\n");
  } else if (!strcmp(cmd, "detach") && a1 != NULL) {
    int rc = ocf_sim_detach(a1);
    snprintf(msg, sizeof(msg), rc ? "error: detach %s: %s\n" : "ok: %s detached\n", a1,
             rc ? strerror(rc) : "");
    if (rc == 0) gw_log(1, "card %s detached on request", a1);
    reply(fd, msg);
  } else if (!strcmp(cmd, "fault") && a1 != NULL && a2 != NULL) {
    int rc = ocf_sim_fault(a1, a2);
    snprintf(msg, sizeof(msg), rc ? "error: fault %s %s: %s\n" : "ok: %s %s\n", a1, a2,
             rc ? strerror(rc) : "");
    reply(fd, msg);
  } else {
    snprintf(msg, sizeof(msg),
             "error: unknown request '%.64s' (show, stats, reload, detach CARD, fault CARD WHAT)\n",
             cmd);
    reply(fd, msg);
  }
  close(fd);
}
