/* gso.c - large TCP packets on the TUN device, both ways.
 *
 * With segmentation offload on (IFF_VNET_HDR + TUNSETOFFLOAD), the kernel
 * hands the daemon TCP packets of up to 64 KB with a virtio-net header that
 * says how to cut them (gso_size) and where the checksum goes; one read()
 * then carries what would be dozens of packets, and the sender's TCP stack
 * does one pass instead of dozens.  gso_split cuts such a packet into
 * MTU-sized IP packets with complete checksums, as a NIC would, before ESP
 * protects each one.
 *
 * The other way, gro_* coalesces the in-order segments of one TCP flow that
 * arrive in one batch into a single large packet marked for the kernel as
 * "checksum partial, segment size N", the way a NIC's receive offload does,
 * so that the receiving stack also makes one pass.  Only plain segments
 * coalesce (no IP options or extension headers, same ACK, same TCP options,
 * only ACK/PSH flags), as Linux's own GRO requires. */
#include <arpa/inet.h>
#include <linux/virtio_net.h>
#include <string.h>

#include "ipsecd/ipsecd.h"

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void wr16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static inline void wr32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* The one's-complement sum does not care about byte order (RFC 1071, 2.B):
 * the words are added as the machine loads them, 32 bits at a time into 64,
 * and the folded result is swapped once at the end. */
uint64_t gw_csum_add(uint64_t sum, const uint8_t *p, size_t n) {
  uint64_t acc = 0;
  while (n >= 32) {
    uint64_t w[4];
    memcpy(w, p, 32);
    acc += (w[0] & 0xffffffffu) + (w[0] >> 32) + (w[1] & 0xffffffffu) + (w[1] >> 32) +
           (w[2] & 0xffffffffu) + (w[2] >> 32) + (w[3] & 0xffffffffu) + (w[3] >> 32);
    p += 32;
    n -= 32;
  }
  while (n >= 4) {
    uint32_t w;
    memcpy(&w, p, 4);
    acc += w;
    p += 4;
    n -= 4;
  }
  while (n >= 2) {
    uint16_t w;
    memcpy(&w, p, 2);
    acc += w;
    p += 2;
    n -= 2;
  }
  uint16_t folded;
  if (n) { /* an odd last byte is the high half of a big-endian word */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    acc += p[0];
#else
    acc += (uint64_t)p[0] << 8;
#endif
  }
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  folded = (uint16_t)acc;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  folded = (uint16_t)(folded << 8 | folded >> 8);
#endif
  return sum + folded;
}

uint16_t gw_csum_fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)sum;
}

/* the pseudo-header of a TCP/UDP segment of len bytes */
static uint64_t pseudo(const uint8_t *ip, int ver, uint8_t proto, size_t len) {
  uint64_t s = 0;
  if (ver == 4)
    s = gw_csum_add(s, ip + 12, 8);
  else
    s = gw_csum_add(s, ip + 8, 32);
  return s + proto + (uint64_t)len;
}

static void ip4_csum(uint8_t *ip, size_t ihl) {
  ip[10] = ip[11] = 0;
  wr16(ip + 10, (uint16_t)~gw_csum_fold(gw_csum_add(0, ip, ihl)));
}

int gso_split(const struct virtio_net_hdr *vh, const uint8_t *pkt, size_t len, uint32_t mtu,
              size_t *next,
              int (*emit)(void *arg, const uint8_t *h, size_t hl, const uint8_t *d, size_t dl),
              void *arg) {
  if (*next == GSO_DONE) return 0;
  if (vh->gso_type == VIRTIO_NET_HDR_GSO_NONE) {
    if (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
      size_t cs = vh->csum_start, co = vh->csum_offset;
      if (cs >= len || co + 2 > len - cs) return -1;
      /* the field holds the pseudo-header sum; cover it and the rest */
      uint8_t h[128];
      size_t hl = cs + co + 2;
      if (hl > sizeof(h)) { /* unusual: the checksum field lies deep; sum in two parts */
        return -1;
      }
      memcpy(h, pkt, hl);
      uint64_t s = gw_csum_add(0, pkt + cs, len - cs);
      uint16_t c = (uint16_t)~gw_csum_fold(s);
      if (c == 0 && co == 6) c = 0xffff; /* UDP sends a zero sum as all ones */
      wr16(h + cs + co, c);
      if (emit(arg, h, hl, pkt + hl, len - hl) != 0) return 0;
    } else if (emit(arg, pkt, len, NULL, 0) != 0) {
      return 0;
    }
    *next = GSO_DONE;
    return 1;
  }
  uint8_t type = vh->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
  int ver = len > 0 ? pkt[0] >> 4 : 0;
  size_t iphl;
  if (type == VIRTIO_NET_HDR_GSO_TCPV4 && ver == 4 && len >= 20) {
    iphl = (size_t)(pkt[0] & 15) * 4;
    if (iphl < 20 || pkt[9] != IPPROTO_TCP) return -1;
  } else if (type == VIRTIO_NET_HDR_GSO_TCPV6 && ver == 6 && len >= 40) {
    iphl = 40;
    if (pkt[6] != IPPROTO_TCP) return -1; /* extension headers: not from our stack */
  } else {
    return -1;
  }
  if (len < iphl + 20) return -1;
  size_t thl = (size_t)(pkt[iphl + 12] >> 4) * 4;
  size_t hl = iphl + thl;
  if (thl < 20 || hl > len || hl > 120) return -1;
  size_t seg = vh->gso_size;
  if (mtu > hl && seg > mtu - hl) seg = mtu - hl; /* never exceed the tunnel */
  if (seg == 0) return -1;
  size_t plen = len - hl;
  const uint8_t *payload = pkt + hl;
  uint32_t seq0 = rd32(pkt + iphl + 4);
  uint16_t id0 = ver == 4 ? rd16(pkt + 4) : 0;
  uint8_t flags = pkt[iphl + 13];
  int n = 0;
  while (*next < plen) {
    size_t off = *next, dl = plen - off < seg ? plen - off : seg;
    uint8_t h[128];
    memcpy(h, pkt, hl);
    uint8_t *th = h + iphl;
    bool first = off == 0, last = off + dl == plen;
    if (ver == 4) {
      wr16(h + 2, (uint16_t)(hl + dl));
      wr16(h + 4, (uint16_t)(id0 + off / seg));
      ip4_csum(h, iphl);
    } else {
      wr16(h + 4, (uint16_t)(thl + dl));
    }
    wr32(th + 4, seq0 + (uint32_t)off);
    uint8_t f = flags;
    if (!last) f &= (uint8_t)~0x09;  /* FIN, PSH on the last segment only */
    if (!first) f &= (uint8_t)~0x80; /* CWR on the first only */
    th[13] = f;
    th[16] = th[17] = 0;
    uint64_t s = pseudo(h, ver, IPPROTO_TCP, thl + dl);
    s = gw_csum_add(s, th, thl);
    s = gw_csum_add(s, payload + off, dl);
    wr16(th + 16, (uint16_t)~gw_csum_fold(s));
    if (emit(arg, h, hl, payload + off, dl) != 0) break;
    *next = off + dl;
    n++;
  }
  if (*next == plen) *next = GSO_DONE;
  return n;
}

/* --- receive coalescing ---------------------------------------------------------- */

struct tcpv {
  int ver;
  size_t iphl, thl, dl;
};

/* a segment that may join a coalesced packet: returns false otherwise */
static bool tcp_plain(const uint8_t *p, size_t n, struct tcpv *v) {
  if (n < 40) return false;
  v->ver = p[0] >> 4;
  if (v->ver == 4) {
    if ((p[0] & 15) != 5 || p[9] != IPPROTO_TCP) return false;
    if (rd16(p + 6) & 0x3fff) return false; /* a fragment */
    if (rd16(p + 2) != n) return false;
    v->iphl = 20;
  } else if (v->ver == 6) {
    if (n < 60 || p[6] != IPPROTO_TCP || rd16(p + 4) + 40u != n) return false;
    v->iphl = 40;
  } else {
    return false;
  }
  v->thl = (size_t)(p[v->iphl + 12] >> 4) * 4;
  if (v->thl < 20 || v->iphl + v->thl > n) return false;
  uint8_t f = p[v->iphl + 13];
  if ((f & ~0x18) != 0) return false; /* ACK and PSH only */
  if (!(f & 0x10)) return false;
  v->dl = n - v->iphl - v->thl;
  return v->dl > 0;
}

bool gro_can(const uint8_t *p, size_t n) {
  struct tcpv v;
  return tcp_plain(p, n, &v);
}

bool gro_add(struct gro *g, const uint8_t *p, size_t n) {
  struct tcpv v;
  if (!tcp_plain(p, n, &v)) return false;
  uint8_t *b = g->buf + sizeof(struct virtio_net_hdr);
  if (g->ver == 0) { /* a new packet starts with this segment */
    memcpy(b, p, n);
    g->len = n;
    g->ver = (uint8_t)v.ver;
    g->hlen = v.iphl + v.thl;
    g->gso_size = (uint16_t)v.dl;
    g->segs = 1;
    g->next_seq = rd32(p + v.iphl + 4) + (uint32_t)v.dl;
    g->psh = (p[v.iphl + 13] & 0x08) != 0;
    return true;
  }
  /* must continue the packet exactly */
  if (v.ver != g->ver || v.iphl + v.thl != g->hlen || g->psh) return false;
  if (v.dl > g->gso_size) return false;
  if (g->last_short) return false; /* a short segment ended the train */
  if (g->len + v.dl > 65535 || g->segs >= 64) return false;
  size_t iphl = v.iphl;
  if (v.ver == 4) {
    if (memcmp(p + 12, b + 12, 8) != 0 || p[1] != b[1] || p[8] != b[8] ||
        (p[6] & 0x40) != (b[6] & 0x40))
      return false;
  } else {
    if (memcmp(p + 8, b + 8, 32) != 0 || memcmp(p, b, 4) != 0 || p[7] != b[7]) return false;
  }
  const uint8_t *t = p + iphl, *u = b + iphl;
  if (memcmp(t, u, 4) != 0) return false;                             /* ports */
  if (rd32(t + 4) != g->next_seq) return false;                       /* in order */
  if (memcmp(t + 8, u + 8, 4) != 0) return false;                     /* ACK */
  if (memcmp(t + 20, u + 20, g->hlen - iphl - 20) != 0) return false; /* options */
  memcpy(b + g->len, p + g->hlen, v.dl);
  g->len += v.dl;
  g->segs++;
  g->next_seq += (uint32_t)v.dl;
  wr16(b + iphl + 14, rd16(t + 14)); /* the newest window */
  if (t[13] & 0x08) {
    b[iphl + 13] |= 0x08;
    g->psh = true;
  }
  if (v.dl < g->gso_size) g->last_short = true;
  return true;
}

size_t gro_finish(struct gro *g) {
  struct virtio_net_hdr vh;
  memset(&vh, 0, sizeof(vh));
  uint8_t *b = g->buf + sizeof(vh);
  if (g->segs > 1) {
    size_t iphl = g->ver == 4 ? 20 : 40;
    if (g->ver == 4) {
      wr16(b + 2, (uint16_t)g->len);
      ip4_csum(b, iphl);
    } else {
      wr16(b + 4, (uint16_t)(g->len - 40));
    }
    /* checksum partial: the field holds the pseudo-header sum, the kernel
     * (or nobody: the data was authenticated) completes it */
    wr16(b + iphl + 16, gw_csum_fold(pseudo(b, g->ver, IPPROTO_TCP, g->len - iphl)));
    vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    vh.gso_type = g->ver == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
    vh.gso_size = g->gso_size;
    vh.hdr_len = (uint16_t)g->hlen;
    vh.csum_start = (uint16_t)iphl;
    vh.csum_offset = 16;
  }
  memcpy(g->buf, &vh, sizeof(vh));
  size_t total = sizeof(vh) + g->len;
  g->ver = 0;
  g->segs = 0;
  g->psh = false;
  g->last_short = false;
  return total;
}
