/* ah.c - AH (RFC 4302) in transport and tunnel mode, with ESN.
 *
 * The ICV covers the IP header with its mutable fields as zero, the AH
 * header with a zero ICV, the payload, and (ESN) the high half of the
 * sequence number.  The packet itself is not touched for that: a copy of the
 * headers with the mutable fields cleared goes into the packet state, and
 * the request reads an iovec of {that copy, the payload, the high half}.
 * The MAC lands in the copy; the callback moves it into the packet (output)
 * or compares it with the one received (input). */
#include <netinet/in.h>
#include <openssl/crypto.h>

#include "ipsec/internal.h"

size_t ipsi_ah_len(const struct ipsec_sa *sa, uint8_t ver) {
  size_t raw = AH_HLEN + sa->icvlen, align = ver == 6 ? 8 : 4;
  return (raw + align - 1) / align * align;
}

/* IPv4 options that do not change on the way (RFC 4302 appendix A.1). */
static bool v4_opt_immutable(uint8_t t) {
  return t == 0 || t == 1 || t == 130 || t == 133 || t == 134 || t == 148 || t == 149;
}

/* Clears the mutable fields of the headers in s[0..hl), an IPv4 header or an
 * IPv6 header with its extension headers.  False for what AH cannot handle. */
static bool zero_mutable(uint8_t *s, size_t hl, bool out) {
  if ((s[0] >> 4) == 4) {
    s[1] = 0;          /* DSCP, ECN */
    s[6] = s[7] = 0;   /* flags, fragment offset */
    s[8] = 0;          /* TTL */
    s[10] = s[11] = 0; /* checksum */
    size_t ihl = (size_t)(s[0] & 15) * 4;
    for (size_t i = IPV4_HLEN; i < ihl;) {
      uint8_t t = s[i];
      if (t == 0) break; /* end of options */
      if (t == 1) {      /* no-op */
        i++;
        continue;
      }
      if (i + 1 >= ihl || s[i + 1] < 2 || s[i + 1] > ihl - i) return false;
      size_t l = s[i + 1];
      if (!v4_opt_immutable(t)) memset(s + i, 0, l);
      i += l;
    }
    return true;
  }
  s[0] &= 0xf0; /* traffic class and flow label */
  s[1] = s[2] = s[3] = 0;
  s[7] = 0; /* hop limit */
  uint8_t nh = s[6];
  for (size_t off = IPV6_HLEN; off < hl;) {
    size_t el = ((size_t)s[off + 1] + 1) * 8;
    if (off + el > hl) return false;
    if (nh == 0 || nh == 60) {
      for (size_t i = off + 2; i < off + el;) {
        uint8_t t = s[i];
        if (t == 0) { /* Pad1 */
          i++;
          continue;
        }
        if (i + 1 >= off + el || i + 2 + s[i + 1] > off + el) return false;
        if (t & 0x20) memset(s + i + 2, 0, s[i + 1]); /* may change en route */
        i += 2 + (size_t)s[i + 1];
      }
    } else if (nh == 43 && out) {
      return false; /* a sender would have to predict it: not supported */
    } else if (nh == 44) {
      return false; /* a fragment: AH covers whole datagrams */
    }
    nh = s[off];
    off += el;
  }
  return true;
}

/* Points the request at {scratch[0..slen), payload, high half}. */
static void ah_request(struct ipsec_pkt *pkt, struct ipsec_sa *sa, size_t slen, size_t pay,
                       size_t paylen) {
  struct pstate *ps = ps_of(pkt);
  struct ocf_req *r = &ps->req;
  ipsi_req_setup(pkt, pkt->off, pkt->off + pkt->len);
  int n = 0;
  ps->u.ah.iov[n++] = (struct iovec){ps->u.ah.scratch, slen};
  if (paylen) ps->u.ah.iov[n++] = (struct iovec){pkt->buf + pay, paylen};
  size_t len = slen + paylen;
  if (sa->flags & IPSEC_SA_ESN) {
    wr32(ps->u.ah.seqhi, (uint32_t)(ps->seq >> 32));
    ps->u.ah.iov[n++] = (struct iovec){ps->u.ah.seqhi, 4};
    len += 4;
  }
  r->buf = ocf_buf_iovec(ps->u.ah.iov, n);
  r->ndesc = 1;
  r->desc[0].alg = sa->malg;
  r->desc[0].skip = 0;
  r->desc[0].len = len;
  r->desc[0].inject = ps->u.ah.icv_at;
}

int ipsi_ah_out_prep(struct ipsec_pkt *pkt, struct ipsec_sa *sa) {
  struct pstate *ps = ps_of(pkt);
  struct iph h;
  bool tun = sa->mode == IPSEC_MODE_TUNNEL;
  enum ipsec_verdict v =
      ipsi_ip_parse(pkt->buf + pkt->off, pkt->len, tun ? WALK_ALL : WALK_INSERT, &h);
  if (v != IPSEC_OK) return v;
  if (!tun && h.frag) return IPSEC_DROP_MALFORMED;
  uint8_t ver = tun ? (sa->dst.family == AF_INET6 ? 6 : 4) : h.ver;
  size_t alen = ipsi_ah_len(sa, ver), olen = outer_len(sa), hl = tun ? olen : h.hlen;
  if (hl + alen > AH_SCRATCH) return IPSEC_DROP_MALFORMED;
  if (!ipsi_pkt_make_room(ps->ctx, pkt, olen + alen, 0)) return IPSEC_DROP_NOROOM;
  uint8_t *b = pkt->buf;
  size_t l3 = pkt->off, total = pkt->len + olen + alen;
  if (total > 65535) return IPSEC_DROP_TOOBIG;
  size_t nl3 = l3 - olen - alen, ah = nl3 + hl;
  uint8_t nh;
  if (tun) {
    nh = h.ver == 4 ? IPPROTO_IPIP : IPPROTO_IPV6;
    ipsi_ip_build_outer(b + nl3, sa, total - olen, IPPROTO_AH, b + l3);
  } else {
    nh = h.proto;
    memmove(b + nl3, b + l3, hl);
    ipsi_ip_set_len(b + nl3, h.ver, total, h.nh_off, IPPROTO_AH);
  }
  uint8_t *a = b + ah;
  a[0] = nh;
  a[1] = (uint8_t)(alen / 4 - 2);
  a[2] = a[3] = 0;
  wr32(a + 4, sa->spi);
  wr32(a + 8, (uint32_t)ps->seq);
  memset(a + AH_HLEN, 0, alen - AH_HLEN); /* ICV and padding */
  pkt->off = nl3;
  pkt->len = total;
  memcpy(ps->u.ah.scratch, b + nl3, hl + alen);
  if (!zero_mutable(ps->u.ah.scratch, hl, true)) return IPSEC_DROP_MALFORMED;
  ps->hdr = ah;
  ps->u.ah.scratch_len = hl + alen;
  ps->u.ah.icv_at = hl + AH_HLEN;
  ah_request(pkt, sa, hl + alen, ah + alen, total - (hl + alen));
  return STEP_DISPATCH;
}

enum ipsec_verdict ipsi_ah_out_done(struct ipsec_pkt *pkt, struct ipsec_sa *sa) {
  struct pstate *ps = ps_of(pkt);
  memcpy(pkt->buf + ps->hdr + AH_HLEN, ps->u.ah.scratch + ps->u.ah.icv_at, sa->icvlen);
  return IPSEC_OK;
}

int ipsi_ah_in_prep(struct ipsec_pkt *pkt, struct ipsec_sa *sa) {
  struct pstate *ps = ps_of(pkt);
  uint8_t *b = pkt->buf;
  size_t ah = ps->hdr, end = pkt->off + pkt->len, hl = ah - pkt->off;
  if (end - ah < AH_HLEN) return IPSEC_DROP_TRUNCATED;
  size_t alen = ((size_t)b[ah + 1] + 2) * 4;
  if (alen < AH_HLEN + (size_t)sa->icvlen || (ps->ip.ver == 6 && alen % 8 != 0))
    return IPSEC_DROP_MALFORMED;
  if (alen > end - ah) return IPSEC_DROP_TRUNCATED;
  if (hl + alen > AH_SCRATCH) return IPSEC_DROP_MALFORMED;
  enum ipsec_verdict v = ipsi_replay_pre(sa, rd32(b + ah + 8), &ps->seq);
  if (v != IPSEC_OK) return v;
  memcpy(ps->u.ah.scratch, b + pkt->off, hl + alen);
  if (!zero_mutable(ps->u.ah.scratch, hl, false)) return IPSEC_DROP_MALFORMED;
  memcpy(ps->u.ah.icv_rx, b + ah + AH_HLEN, sa->icvlen);
  memset(ps->u.ah.scratch + hl + AH_HLEN, 0, sa->icvlen);
  ps->u.ah.scratch_len = hl + alen;
  ps->u.ah.icv_at = hl + AH_HLEN;
  ps->dlen = alen; /* AH header length, for the callback */
  ah_request(pkt, sa, hl + alen, ah + alen, end - ah - alen);
  return STEP_DISPATCH;
}

enum ipsec_verdict ipsi_ah_in_done(struct ipsec_pkt *pkt, struct ipsec_sa *sa) {
  struct pstate *ps = ps_of(pkt);
  uint8_t *b = pkt->buf;
  if (CRYPTO_memcmp(ps->u.ah.scratch + ps->u.ah.icv_at, ps->u.ah.icv_rx, sa->icvlen) != 0)
    return IPSEC_DROP_AUTH;
  enum ipsec_verdict v = ipsi_replay_update(sa, ps->seq);
  if (v != IPSEC_OK) return v;
  size_t ah = ps->hdr, alen = ps->dlen, l3 = pkt->off, hl = ah - l3;
  size_t end = l3 + pkt->len, pay = ah + alen, plen = end - pay;
  uint8_t nh = b[ah];
  if (nh == IPPROTO_NONE) {
    (void)ipsi_sa_life_in(sa, plen, true);
    return IPSEC_DROP_DUMMY;
  }
  if (sa->mode == IPSEC_MODE_TUNNEL) {
    if (nh != IPPROTO_IPIP && nh != IPPROTO_IPV6) return IPSEC_DROP_BADNH;
    if (plen < 1 || (b[pay] >> 4) != (nh == IPPROTO_IPIP ? 4 : 6)) return IPSEC_DROP_BADNH;
    struct iph in;
    v = ipsi_ip_parse(b + pay, plen, WALK_ALL, &in);
    if (v != IPSEC_OK) return v == IPSEC_DROP_TRUNCATED ? IPSEC_DROP_BADLEN : v;
    if (in.tot != plen) return IPSEC_DROP_BADLEN;
    v = ipsi_sa_life_in(sa, in.tot, true);
    if (v != IPSEC_OK) return v;
    pkt->off = pay;
    pkt->len = in.tot;
    return IPSEC_OK;
  }
  if (nh == 0 || nh == 43 || nh == 44) return IPSEC_DROP_BADNH;
  size_t total = hl + plen;
  v = ipsi_sa_life_in(sa, total, true);
  if (v != IPSEC_OK) return v;
  memmove(b + pay - hl, b + l3, hl);
  ipsi_ip_set_len(b + pay - hl, ps->ip.ver, total, ps->ip.nh_off, nh);
  pkt->off = pay - hl;
  pkt->len = total;
  return IPSEC_OK;
}
