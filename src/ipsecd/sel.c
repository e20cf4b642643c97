/* sel.c - inbound selectors the library cannot check for us.
 *
 * libocfipsec ties an inbound SA to one inbound policy (the check after
 * decryption, RFC 4301 section 5.2).  A gateway often carries several
 * selectors over one SA: IPv4 and IPv6 inner traffic, or several subnets.
 * For such an SA the daemon installs one library policy whose selector
 * matches everything, and checks the decrypted packet against the policies
 * of the file itself here, with the library's rules: prefixes, protocol
 * (0 = any), port ranges (ICMP type / code in the source / destination
 * range; a non-first fragment matches only "any" ports).  A packet that
 * matches none is dropped and counted as a policy drop. */
#include <string.h>

#include "ipsecd/ipsecd.h"

struct flow {
  struct ipsec_addr src, dst;
  uint8_t proto;
  bool ports;
  uint16_t sport, dport;
};

static bool flow_of(const uint8_t *p, size_t n, struct flow *f) {
  memset(f, 0, sizeof(*f));
  if (n < 1) return false;
  size_t off;
  bool first = true;
  if (p[0] >> 4 == 4) {
    if (n < 20) return false;
    size_t ihl = (size_t)(p[0] & 15) * 4;
    if (ihl < 20 || ihl > n) return false;
    f->src.family = f->dst.family = AF_INET;
    memcpy(f->src.a, p + 12, 4);
    memcpy(f->dst.a, p + 16, 4);
    f->proto = p[9];
    first = ((p[6] & 0x1f) | p[7]) == 0;
    off = ihl;
  } else if (p[0] >> 4 == 6) {
    if (n < 40) return false;
    f->src.family = f->dst.family = AF_INET6;
    memcpy(f->src.a, p + 8, 16);
    memcpy(f->dst.a, p + 24, 16);
    uint8_t nh = p[6];
    off = 40;
    for (int hops = 0; hops < 8; hops++) { /* walk the extension headers */
      if (nh == 0 || nh == 43 || nh == 60) {
        if (off + 8 > n) return false;
        nh = p[off];
        off += ((size_t)p[off + 1] + 1) * 8;
      } else if (nh == 44) {
        if (off + 8 > n) return false;
        first = ((p[off + 2] << 8 | p[off + 3]) & 0xfff8) == 0;
        nh = p[off];
        off += 8;
      } else {
        break;
      }
    }
    f->proto = nh;
  } else {
    return false;
  }
  if (first && off + 4 <= n) {
    switch (f->proto) {
      case 6:
      case 17:
      case 132:
      case 136:
        f->sport = (uint16_t)(p[off] << 8 | p[off + 1]);
        f->dport = (uint16_t)(p[off + 2] << 8 | p[off + 3]);
        f->ports = true;
        break;
      case 1:
      case 58:
        f->sport = p[off];
        f->dport = p[off + 1];
        f->ports = true;
        break;
    }
  }
  return true;
}

static bool in_prefix(const struct ipsec_addr *a, const struct ipsec_addr *pfx, unsigned plen) {
  if (pfx->family == 0) return true;
  if (a->family != pfx->family) return false;
  unsigned full = plen / 8, rest = plen % 8;
  if (memcmp(a->a, pfx->a, full) != 0) return false;
  if (rest == 0) return true;
  uint8_t m = (uint8_t)(0xff << (8 - rest));
  return (a->a[full] & m) == (pfx->a[full] & m);
}

static bool range_any(uint16_t lo, uint16_t hi) { return lo == 0 && (hi == 0 || hi == 65535); }

static bool match(const struct ipsec_selector *s, const struct flow *f) {
  if (!in_prefix(&f->src, &s->src, s->src_plen) || !in_prefix(&f->dst, &s->dst, s->dst_plen))
    return false;
  if (s->proto != 0 && s->proto != f->proto) return false;
  bool sany = range_any(s->sport_lo, s->sport_hi), dany = range_any(s->dport_lo, s->dport_hi);
  if (sany && dany) return true;
  if (!f->ports) return false;
  if (!sany && (f->sport < s->sport_lo || f->sport > s->sport_hi)) return false;
  if (!dany && (f->dport < s->dport_lo || f->dport > s->dport_hi)) return false;
  return true;
}

bool sel_match_any(const struct ipsec_selector *sel, int n, const uint8_t *p, size_t len) {
  struct flow f;
  if (!flow_of(p, len, &f)) return false;
  for (int i = 0; i < n; i++)
    if (match(&sel[i], &f)) return true;
  return false;
}
