/* tun.c - the TUN device: creation (one fd per queue), offloads, MTU,
 * link state, addresses and routes, through the classic ioctls so that the
 * daemon needs no netlink code of its own. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/route.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipsecd/ipsecd.h"

/* linux/ipv6.h's in6_ifreq, which clashes with netinet/in.h */
struct gw_in6_ifreq {
  struct in6_addr addr;
  uint32_t prefixlen;
  int ifindex;
};

/* linux/ipv6_route.h's in6_rtmsg */
struct gw_in6_rtmsg {
  struct in6_addr dst, src, gateway;
  uint32_t type;
  uint16_t dst_len, src_len;
  uint32_t metric;
  unsigned long info;
  uint32_t flags;
  int ifindex;
};

int tun_open(const char *name, int nq, int *vnet, int *fds, char *err, size_t errlen) {
  for (int q = 0; q < nq; q++) fds[q] = -1;
  for (int q = 0; q < nq; q++) {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      int e = errno;
      snprintf(err, errlen, "/dev/net/tun: %s%s", strerror(e),
               e == ENOENT ? " (is the tun module loaded? modprobe tun)" : "");
      goto fail;
    }
    fds[q] = fd;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    if (nq > 1) ifr.ifr_flags |= IFF_MULTI_QUEUE;
    if (*vnet) ifr.ifr_flags |= IFF_VNET_HDR;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
      int e = errno;
      snprintf(err, errlen, "cannot create TUN device %s: %s%s", name, strerror(e),
               e == EPERM   ? " (needs CAP_NET_ADMIN)"
               : e == EBUSY ? " (in use by another program, or it exists with other flags)"
                            : "");
      goto fail;
    }
    if (*vnet) {
      unsigned off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
      if (ioctl(fd, TUNSETOFFLOAD, off) != 0) {
        /* older kernels: run without; nothing else depends on it */
        gw_log(1, "%s: no TCP segmentation offload on the TUN device (%s); continuing without",
               name, strerror(errno));
        for (int k = 0; k <= q; k++) close(fds[k]), fds[k] = -1;
        *vnet = 0;
        q = -1;
        continue;
      }
    }
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
      snprintf(err, errlen, "%s: O_NONBLOCK: %s", name, strerror(errno));
      goto fail;
    }
  }
  return 0;
fail:
  for (int q = 0; q < nq; q++)
    if (fds[q] >= 0) close(fds[q]), fds[q] = -1;
  return EIO;
}

static int ifreq_sock(const char *name, struct ifreq *ifr) {
  memset(ifr, 0, sizeof(*ifr));
  snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
  return socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

int tun_set_mtu(const char *name, uint32_t mtu) {
  struct ifreq ifr;
  int s = ifreq_sock(name, &ifr);
  if (s < 0) return errno;
  ifr.ifr_mtu = (int)mtu;
  int rc = ioctl(s, SIOCSIFMTU, &ifr) == 0 ? 0 : errno;
  close(s);
  return rc;
}

static void mask_of(int plen, int bytes, uint8_t *out) {
  memset(out, 0, (size_t)bytes);
  for (int i = 0; i < plen; i++) out[i / 8] |= (uint8_t)(0x80 >> (i % 8));
}

static int add_addr4(const char *name, const struct gw_prefix *p, char *err, size_t errlen) {
  struct ifreq ifr;
  int s = ifreq_sock(name, &ifr);
  if (s < 0) return errno;
  struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
  sin->sin_family = AF_INET;
  memcpy(&sin->sin_addr, p->a.a, 4);
  int rc = 0;
  if (ioctl(s, SIOCSIFADDR, &ifr) != 0) rc = errno;
  if (rc == 0) {
    sin = (struct sockaddr_in *)&ifr.ifr_netmask;
    sin->sin_family = AF_INET;
    mask_of(p->plen, 4, (uint8_t *)&sin->sin_addr);
    if (ioctl(s, SIOCSIFNETMASK, &ifr) != 0) rc = errno;
  }
  close(s);
  if (rc != 0) {
    char a[64];
    snprintf(err, errlen, "%s: address %s/%u: %s", name, ipsec_addr_format(&p->a, a, sizeof(a)),
             p->plen, strerror(rc));
  }
  return rc;
}

static int add_addr6(const char *name, const struct gw_prefix *p, char *err, size_t errlen) {
  int s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return errno;
  struct gw_in6_ifreq r;
  memset(&r, 0, sizeof(r));
  memcpy(&r.addr, p->a.a, 16);
  r.prefixlen = p->plen;
  r.ifindex = (int)if_nametoindex(name);
  int rc = ioctl(s, SIOCSIFADDR, &r) == 0 || errno == EEXIST ? 0 : errno;
  close(s);
  if (rc != 0) {
    char a[64];
    snprintf(err, errlen, "%s: address %s/%u: %s%s", name, ipsec_addr_format(&p->a, a, sizeof(a)),
             p->plen, strerror(rc), rc == EACCES ? " (IPv6 disabled on the device?)" : "");
  }
  return rc;
}

static int add_route(const char *name, const struct gw_prefix *p, char *err, size_t errlen) {
  int rc;
  if (p->a.family == AF_INET) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return errno;
    struct rtentry rt;
    memset(&rt, 0, sizeof(rt));
    struct sockaddr_in *d = (struct sockaddr_in *)&rt.rt_dst;
    d->sin_family = AF_INET;
    memcpy(&d->sin_addr, p->a.a, 4);
    struct sockaddr_in *m = (struct sockaddr_in *)&rt.rt_genmask;
    m->sin_family = AF_INET;
    mask_of(p->plen, 4, (uint8_t *)&m->sin_addr);
    rt.rt_flags = RTF_UP | (p->plen == 32 ? RTF_HOST : 0);
    char dev[IFNAMSIZ];
    snprintf(dev, sizeof(dev), "%s", name);
    rt.rt_dev = dev;
    rc = ioctl(s, SIOCADDRT, &rt) == 0 || errno == EEXIST ? 0 : errno;
    close(s);
  } else {
    int s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return errno;
    struct gw_in6_rtmsg rt;
    memset(&rt, 0, sizeof(rt));
    memcpy(&rt.dst, p->a.a, 16);
    rt.dst_len = p->plen;
    rt.metric = 1;
    rt.flags = RTF_UP;
    rt.ifindex = (int)if_nametoindex(name);
    rc = ioctl(s, SIOCADDRT, &rt) == 0 || errno == EEXIST ? 0 : errno;
    close(s);
  }
  if (rc != 0) {
    char a[64];
    snprintf(err, errlen, "%s: route %s/%u: %s", name, ipsec_addr_format(&p->a, a, sizeof(a)),
             p->plen, strerror(rc));
  }
  return rc;
}

int tun_configure(const struct conf *c, uint32_t mtu, char *err, size_t errlen) {
  int rc = tun_set_mtu(c->ifname, mtu);
  if (rc != 0) {
    snprintf(err, errlen, "%s: MTU %u: %s", c->ifname, mtu, strerror(rc));
    return rc;
  }
  struct ifreq ifr;
  int s = ifreq_sock(c->ifname, &ifr);
  if (s < 0) return errno;
  rc = ioctl(s, SIOCGIFFLAGS, &ifr) == 0 ? 0 : errno;
  if (rc == 0) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    rc = ioctl(s, SIOCSIFFLAGS, &ifr) == 0 ? 0 : errno;
  }
  close(s);
  if (rc != 0) {
    snprintf(err, errlen, "%s: cannot bring the link up: %s", c->ifname, strerror(rc));
    return rc;
  }
  for (int i = 0; i < c->naddr; i++) {
    rc = c->addr[i].a.family == AF_INET ? add_addr4(c->ifname, &c->addr[i], err, errlen)
                                        : add_addr6(c->ifname, &c->addr[i], err, errlen);
    if (rc != 0) return rc;
  }
  for (int i = 0; i < c->nroute; i++) {
    rc = add_route(c->ifname, &c->route[i], err, errlen);
    if (rc != 0) return rc;
  }
  return 0;
}
