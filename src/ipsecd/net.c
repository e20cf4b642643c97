/* net.c - the outer sockets.
 *
 * ESP in UDP (RFC 3948) goes through one UDP socket per address family,
 * bound to the encapsulation port; the kernel builds the outer IP and UDP
 * headers, so what is sent is the ESP packet itself (ipsec_pkt.payload_off
 * onward).  The kernel is not told that the socket carries ESP (no
 * UDP_ENCAP): the datagrams come to us.  Raw ESP / AH / IPcomp ("encap
 * none") use raw sockets of that protocol, which need CAP_NET_RAW; over
 * IPv4 they send whole packets (IP_HDRINCL), over IPv6 the payload (the
 * kernel's header has the same immutable fields). */
#include <errno.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipsecd/ipsecd.h"

#ifndef UDP_GRO
#define UDP_GRO 104
#endif

static const uint8_t raw_protos[3] = {IPPROTO_ESP, IPPROTO_AH, IPPROTO_COMP};

int gw_raw_index(uint8_t proto) {
  for (int i = 0; i < 3; i++)
    if (raw_protos[i] == proto) return i;
  return -1;
}

static void bufsizes(int fd) {
  int sz = 8 << 20;
  /* FORCE passes the sysctl limits when we may (root); else ask politely */
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) != 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) != 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
}

static const struct ipsec_addr *listen_addr(const struct conf *c, int family) {
  for (int i = 0; i < c->nlisten; i++)
    if (c->listen[i].family == family) return &c->listen[i];
  return NULL;
}

void gw_sockaddr(const struct ipsec_addr *a, uint16_t port, struct sockaddr_storage *ss,
                 socklen_t *len) {
  memset(ss, 0, sizeof(*ss));
  if (a->family == AF_INET6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    memcpy(&s6->sin6_addr, a->a, 16);
    *len = sizeof(*s6);
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    memcpy(&s4->sin_addr, a->a, 4);
    *len = sizeof(*s4);
  }
}

static int open_one(const struct conf *c, int family, int type, int proto, uint16_t port, char *err,
                    size_t errlen) {
  int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
  if (fd < 0) {
    int e = errno;
    snprintf(err, errlen, "%s %s socket: %s%s", family == AF_INET ? "IPv4" : "IPv6",
             type == SOCK_RAW ? "raw" : "UDP", strerror(e),
             e == EPERM ? " (raw ESP needs CAP_NET_RAW; 'encap udp' does not)" : "");
    return -1;
  }
  int one = 1;
  /* raw IPv4: the packet goes out with the library's own outer header, which
   * AH's ICV covers (the ID field, for one, which the kernel would choose) */
  if (type == SOCK_RAW && family == AF_INET &&
      setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) != 0) {
    snprintf(err, errlen, "raw IPv4 socket: IP_HDRINCL: %s", strerror(errno));
    close(fd);
    return -1;
  }
  if (family == AF_INET6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
  } else {
    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
  }
  bufsizes(fd);
  if (type == SOCK_DGRAM && c->offload) {
    /* datagrams that arrive as one segmented train come up whole */
    if (setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) != 0)
      gw_log(1, "UDP receive coalescing not available (%s)", strerror(errno));
  }
  const struct ipsec_addr *la = listen_addr(c, family);
  struct ipsec_addr any = {.family = (uint8_t)family};
  struct sockaddr_storage ss;
  socklen_t sl;
  gw_sockaddr(la ? la : &any, type == SOCK_RAW ? 0 : port, &ss, &sl);
  if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
    int e = errno;
    char a[64];
    snprintf(err, errlen, "cannot bind %s port %u: %s",
             ipsec_addr_format(la ? la : &any, a, sizeof(a)), (unsigned)port, strerror(e));
    close(fd);
    return -1;
  }
  return fd;
}

/* the outer families and raw protocols the SAs use */
static void needs(const struct conf *c, bool udp[2], bool raw[2][3]) {
  memset(udp, 0, 2 * sizeof(bool));
  memset(raw, 0, 6 * sizeof(bool));
  for (int i = 0; i < c->nsa; i++) {
    const struct conf_sa *s = &c->sa[i];
    int fam = s->p.mode == IPSEC_MODE_TUNNEL ? s->p.dst.family
              : s->p.dst.family              ? s->p.dst.family
                                             : s->p.src.family;
    int f = fam == AF_INET6 ? 1 : 0;
    if (fam == 0) { /* transport, any destination: both */
      if (s->encap == GW_ENCAP_UDP) udp[0] = udp[1] = true;
      continue;
    }
    if (s->encap == GW_ENCAP_UDP)
      udp[f] = true;
    else
      raw[f][gw_raw_index((uint8_t)s->p.proto)] = true;
  }
}

int net_open(struct gw *g, const struct conf *c, char *err, size_t errlen) {
  bool udp[2], raw[2][3];
  needs(c, udp, raw);
  for (int f = 0; f < 2; f++) {
    int fam = f ? AF_INET6 : AF_INET;
    if (udp[f] && g->udp[f] < 0) {
      g->udp[f] = open_one(c, fam, SOCK_DGRAM, IPPROTO_UDP, c->port, err, errlen);
      if (g->udp[f] < 0) return EIO;
    }
    for (int p = 0; p < 3; p++) {
      if (!raw[f][p] || g->raw[f][p] >= 0) continue;
      g->raw[f][p] = open_one(c, fam, SOCK_RAW, raw_protos[p], 0, err, errlen);
      if (g->raw[f][p] < 0) return EIO;
    }
  }
  return 0;
}

bool net_missing(struct gw *g, const struct conf *c) {
  bool udp[2], raw[2][3];
  needs(c, udp, raw);
  for (int f = 0; f < 2; f++) {
    if (udp[f] && g->udp[f] < 0) return true;
    for (int p = 0; p < 3; p++)
      if (raw[f][p] && g->raw[f][p] < 0) return true;
  }
  return false;
}

void net_close(struct gw *g) {
  for (int f = 0; f < 2; f++) {
    if (g->udp[f] >= 0) close(g->udp[f]);
    g->udp[f] = -1;
    for (int p = 0; p < 3; p++) {
      if (g->raw[f][p] >= 0) close(g->raw[f][p]);
      g->raw[f][p] = -1;
    }
  }
}
