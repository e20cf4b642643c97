/* pkt.c - reading and writing IPv4 / IPv6 headers, checksums, addresses. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>

#include "ipsec/internal.h"

/* IPv6 extension headers that ipsi_ip_parse walks over. */
static bool v6_ext(uint8_t nh) {
  return nh == 0 || nh == 43 || nh == 44 || nh == 60 || nh == 135 || nh == 139 || nh == 140;
}

static enum ipsec_verdict parse4(const uint8_t *p, size_t len, struct iph *h) {
  if (len < IPV4_HLEN) return IPSEC_DROP_TRUNCATED;
  size_t ihl = (size_t)(p[0] & 15) * 4;
  size_t tot = rd16(p + 2);
  if (ihl < IPV4_HLEN) return IPSEC_DROP_MALFORMED;
  if (tot < ihl) return IPSEC_DROP_BADLEN;
  if (tot > len) return len < ihl ? IPSEC_DROP_TRUNCATED : IPSEC_DROP_BADLEN;
  uint16_t fo = rd16(p + 6);
  h->ver = 4;
  h->proto = p[9];
  h->hlen = ihl;
  h->nh_off = 9;
  h->tot = tot;
  h->frag = (fo & 0x3fff) != 0; /* MF or an offset */
  h->later_frag = (fo & 0x1fff) != 0;
  h->src.family = AF_INET;
  h->dst.family = AF_INET;
  memset(h->src.a, 0, sizeof(h->src.a));
  memset(h->dst.a, 0, sizeof(h->dst.a));
  memcpy(h->src.a, p + 12, 4);
  memcpy(h->dst.a, p + 16, 4);
  return IPSEC_OK;
}

static enum ipsec_verdict parse6(const uint8_t *p, size_t len, enum ip_walk walk, struct iph *h) {
  if (len < IPV6_HLEN) return IPSEC_DROP_TRUNCATED;
  size_t plen = rd16(p + 4);
  if (plen == 0) return IPSEC_DROP_BADLEN; /* a jumbogram (RFC 2675): not here */
  size_t tot = IPV6_HLEN + plen;
  if (tot > len) return IPSEC_DROP_BADLEN;
  h->ver = 6;
  h->tot = tot;
  h->frag = false;
  h->later_frag = false;
  h->src.family = AF_INET6;
  h->dst.family = AF_INET6;
  memcpy(h->src.a, p + 8, 16);
  memcpy(h->dst.a, p + 24, 16);
  uint8_t nh = p[6];
  size_t off = IPV6_HLEN, nh_off = 6;
  bool routing = false;
  for (int guard = 0; guard < 16 && v6_ext(nh); guard++) {
    if (walk == WALK_INSERT) {
      /* ESP / AH go after hop-by-hop, routing and fragment headers, and
       * after destination options that come before a routing header. */
      if (nh == 60 && routing) break;
      if (nh != 0 && nh != 43 && nh != 60) break;
    }
    if (tot - off < 8) return IPSEC_DROP_TRUNCATED;
    size_t el;
    if (nh == 44) {
      el = 8;
      uint16_t fo = rd16(p + off + 2);
      h->frag = true;
      h->later_frag = (fo & 0xfff8) != 0;
    } else {
      el = ((size_t)p[off + 1] + 1) * 8;
    }
    if (el > tot - off) return IPSEC_DROP_TRUNCATED;
    if (nh == 43) routing = true;
    nh_off = off;
    nh = p[off];
    off += el;
    if (h->later_frag) break; /* what follows is not a header */
  }
  h->proto = nh;
  h->hlen = off;
  h->nh_off = nh_off;
  return IPSEC_OK;
}

enum ipsec_verdict ipsi_ip_parse(const uint8_t *p, size_t len, enum ip_walk walk, struct iph *h) {
  if (len < 1) return IPSEC_DROP_TRUNCATED;
  switch (p[0] >> 4) {
    case 4:
      return parse4(p, len, h);
    case 6:
      return parse6(p, len, walk, h);
    default:
      return IPSEC_DROP_MALFORMED;
  }
}

/* The ones' complement sum does not depend on byte order (RFC 1071 2.B):
 * add the words as the CPU loads them, four bytes at a time, and turn the
 * result into network order at the end. */
uint16_t ipsi_ip_csum(const uint8_t *p, size_t len) {
  uint64_t s = 0;
  size_t i = 0;
  for (; i + 4 <= len; i += 4) {
    uint32_t w;
    memcpy(&w, p + i, 4);
    s += w;
  }
  if (i + 2 <= len) {
    uint16_t w;
    memcpy(&w, p + i, 2);
    s += w;
    i += 2;
  }
  if (i < len) {
    uint8_t last[2] = {p[i], 0};
    uint16_t w;
    memcpy(&w, last, 2);
    s += w;
  }
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  uint16_t r = (uint16_t)~s;
  uint8_t b[2];
  memcpy(b, &r, 2);
  return (uint16_t)(b[0] << 8 | b[1]); /* as rd16 would read the stored bytes */
}

void ipsi_ip4_fix(uint8_t *ip, size_t tot, uint8_t proto) {
  wr16(ip + 2, (uint16_t)tot);
  ip[9] = proto;
  wr16(ip + 10, 0);
  wr16(ip + 10, ipsi_ip_csum(ip, (size_t)(ip[0] & 15) * 4));
}

void ipsi_ip_set_len(uint8_t *ip, uint8_t ver, size_t tot, size_t nh_off, uint8_t proto) {
  if (ver == 4) {
    ipsi_ip4_fix(ip, tot, proto);
  } else {
    wr16(ip + 4, (uint16_t)(tot - IPV6_HLEN));
    ip[nh_off] = proto;
  }
}

size_t ipsi_ip_build_outer(uint8_t *p, const struct ipsec_sa *sa, size_t plen, uint8_t proto,
                           const uint8_t *inner) {
  uint8_t tos = 0, df = 0;
  if (inner != NULL) {
    if ((inner[0] >> 4) == 4) {
      tos = inner[1];
      df = inner[6] & 0x40;
    } else if ((inner[0] >> 4) == 6) {
      tos = (uint8_t)((inner[0] & 15) << 4 | inner[1] >> 4);
    }
  }
  /* RFC 6040 normal mode: the outer header copies DSCP and ECN, except CE,
   * which the encapsulator must not create (it becomes ECT(0)). */
  if ((tos & 3) == 3) tos = (uint8_t)((tos & ~3u) | 2);
  uint8_t ttl = sa->ttl ? sa->ttl : 64;
  if (sa->dst.family == AF_INET6) {
    p[0] = (uint8_t)(0x60 | tos >> 4);
    p[1] = (uint8_t)(tos << 4);
    p[2] = 0;
    p[3] = 0;
    wr16(p + 4, (uint16_t)plen);
    p[6] = proto;
    p[7] = ttl;
    memcpy(p + 8, sa->src.a, 16);
    memcpy(p + 24, sa->dst.a, 16);
    return IPV6_HLEN;
  }
  if (sa->flags & IPSEC_SA_DF_SET) df = 0x40;
  if (sa->flags & IPSEC_SA_DF_CLEAR) df = 0;
  p[0] = 0x45;
  p[1] = tos;
  wr16(p + 2, (uint16_t)(IPV4_HLEN + plen));
  /* RFC 6864: the ID only matters for a datagram that may be fragmented;
   * those get one of the SA's own (an atomic increment, only for them) */
  uint16_t id = 0;
  if (!df)
    id = (uint16_t)atomic_fetch_add_explicit(&((struct ipsec_sa *)sa)->ip_id, 1,
                                             memory_order_relaxed);
  wr16(p + 4, id);
  p[6] = df;
  p[7] = 0;
  p[8] = ttl;
  p[9] = proto;
  wr16(p + 10, 0);
  memcpy(p + 12, sa->src.a, 4);
  memcpy(p + 16, sa->dst.a, 4);
  wr16(p + 10, ipsi_ip_csum(p, IPV4_HLEN));
  return IPV4_HLEN;
}

/* The UDP header at ip + udp_off for ESP in UDP.  IPv4: checksum 0, as RFC
 * 3948 says; IPv6 needs a real one (RFC 8200), over the finished datagram. */
void ipsi_udp_build(uint8_t *ip, uint8_t ver, size_t udp_off, uint16_t sport, uint16_t dport,
                    size_t ulen) {
  uint8_t *u = ip + udp_off;
  wr16(u, sport);
  wr16(u + 2, dport);
  wr16(u + 4, (uint16_t)ulen);
  wr16(u + 6, 0);
  if (ver != 6) return;
  uint32_t s = 0;
  for (int i = 8; i < 40; i += 2) s += rd16(ip + i);
  s += (uint32_t)(ulen >> 16) + (uint32_t)(ulen & 0xffff) + 17;
  for (size_t i = 0; i + 1 < ulen; i += 2) s += rd16(u + i);
  if (ulen & 1) s += (uint32_t)u[ulen - 1] << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  uint16_t c = (uint16_t)~s;
  wr16(u + 6, c == 0 ? 0xffff : c);
}

bool ipsi_addr_eq(const struct ipsec_addr *a, const struct ipsec_addr *b) {
  if (a->family != b->family) return false;
  return memcmp(a->a, b->a, a->family == AF_INET6 ? 16 : 4) == 0;
}

bool ipsi_addr_in_prefix(const struct ipsec_addr *a, const struct ipsec_addr *pfx, uint8_t plen) {
  if (pfx->family == 0) return true;
  if (a->family != pfx->family) return false;
  size_t full = plen / 8;
  if (memcmp(a->a, pfx->a, full) != 0) return false;
  unsigned rest = plen % 8;
  if (rest == 0) return true;
  uint8_t m = (uint8_t)(0xff << (8 - rest));
  return (a->a[full] & m) == (pfx->a[full] & m);
}

int ipsec_addr_parse(const char *s, struct ipsec_addr *a) {
  if (s == NULL || a == NULL) return EINVAL;
  memset(a, 0, sizeof(*a));
  if (inet_pton(AF_INET, s, a->a) == 1) {
    a->family = AF_INET;
    return 0;
  }
  if (inet_pton(AF_INET6, s, a->a) == 1) {
    a->family = AF_INET6;
    return 0;
  }
  return EINVAL;
}

const char *ipsec_addr_format(const struct ipsec_addr *a, char *buf, size_t len) {
  if (buf == NULL || len == 0) return buf;
  if (a == NULL || (a->family != AF_INET && a->family != AF_INET6)) {
    snprintf(buf, len, "any");
    return buf;
  }
  char tmp[INET6_ADDRSTRLEN];
  if (inet_ntop(a->family, a->a, tmp, sizeof(tmp)) == NULL) snprintf(tmp, sizeof(tmp), "?");
  snprintf(buf, len, "%s", tmp);
  return buf;
}

void ipsec_pkt_init(struct ipsec_pkt *pkt, void *buf, size_t size, size_t off, size_t len,
                    ipsec_done_fn done, void *user) {
  if (pkt == NULL) return;
  /* the private area is set up by the library when the packet enters */
  memset(pkt, 0, offsetof(struct ipsec_pkt, priv_));
  pkt->buf = buf;
  pkt->size = size;
  pkt->off = off;
  pkt->len = len;
  pkt->done = done;
  pkt->user = user;
}
