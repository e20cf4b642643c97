/* ipcomp.c - IPcomp (RFC 3173) with DEFLATE (RFC 2394), through the same
 * request path as ESP.
 *
 * Output compresses the payload (transport) or the whole packet (tunnel) in
 * place.  RFC 3173 2.2: when the compressed data and the IPcomp header are
 * not smaller than the original, the original is sent as it was; payloads
 * under the threshold (RFC 2394: 90 bytes) are not even tried.  The
 * framework leaves the buffer untouched when the result does not fit, but a
 * result that fits and saves less than the 4-byte header has overwritten the
 * payload: the request half therefore keeps a copy to put back.
 * Input decompresses in place into the rest of the buffer, never past the
 * context's limit (a "bomb" ends as IPSEC_DROP_TOOBIG). */
#include <netinet/in.h>

#include "ipsec/internal.h"

/* Tunnel mode sends what does not compress as plain IP in IP. */
static enum ipsec_verdict send_plain(struct ipsec_pkt *pkt, struct ipsec_sa *sa) {
  atomic_fetch_add_explicit(&sa->uncompressed, 1, memory_order_relaxed);
  if (sa->mode != IPSEC_MODE_TUNNEL) return IPSEC_OK;
  size_t olen = outer_len(sa);
  if (!ipsi_pkt_make_room(ps_of(pkt)->ctx, pkt, olen, 0)) return IPSEC_DROP_NOROOM;
  if (pkt->len + olen > 65535) return IPSEC_DROP_TOOBIG;
  uint8_t *inner = pkt->buf + pkt->off;
  uint8_t proto = (inner[0] >> 4) == 4 ? IPPROTO_IPIP : IPPROTO_IPV6;
  ipsi_ip_build_outer(inner - olen, sa, pkt->len, proto, inner);
  pkt->off -= olen;
  pkt->len += olen;
  return IPSEC_OK;
}

int ipsi_comp_out_prep(struct ipsec_pkt *pkt, struct ipsec_sa *sa) {
  struct pstate *ps = ps_of(pkt);
  struct iph h;
  bool tun = sa->mode == IPSEC_MODE_TUNNEL;
  enum ipsec_verdict v =
      ipsi_ip_parse(pkt->buf + pkt->off, pkt->len, tun ? WALK_ALL : WALK_INSERT, &h);
  if (v != IPSEC_OK) return v;
  if (!tun && h.frag) return IPSEC_DROP_MALFORMED;
  size_t hl = tun ? 0 : h.hlen, plen = pkt->len - hl;
  ps->ip = h;
  ps->nh = tun ? (h.ver == 4 ? IPPROTO_IPIP : IPPROTO_IPV6) : h.proto;
  if (plen < sa->comp_threshold || plen <= IPCOMP_HLEN) {
    v = send_plain(pkt, sa);
    return v == IPSEC_OK ? STEP_SKIP : (int)v;
  }
  /* room for what the callback adds in front of the compressed data */
  if (!ipsi_pkt_make_room(ps->ctx, pkt, outer_len(sa) + IPCOMP_HLEN, 0)) return IPSEC_DROP_NOROOM;
  ps->l3 = pkt->off;
  ps->data = pkt->off + hl;
  ps->dlen = plen;
  memcpy(ps->saved, pkt->buf + pkt->off, sizeof(ps->saved));
  ipsi_backup_force(pkt, ps->data, plen);
  if (ps->backup == NULL) { /* no memory for the copy: send it as it is */
    v = send_plain(pkt, sa);
    return v == IPSEC_OK ? STEP_SKIP : (int)v;
  }
  /* the buffer ends where the payload ends: output must fit in its place */
  ipsi_req_setup(pkt, ps->data, ps->data + plen);
  struct ocf_req *r = &ps->req;
  r->ndesc = 1;
  r->desc[0].alg = OCF_ALG_DEFLATE;
  r->desc[0].flags = OCF_D_ENCRYPT;
  r->desc[0].skip = 0;
  r->desc[0].len = plen;
  return STEP_DISPATCH;
}

enum ipsec_verdict ipsi_comp_out_done(struct ipsec_pkt *pkt, struct ipsec_sa *sa) {
  struct pstate *ps = ps_of(pkt);
  struct ocf_req *r = &ps->req;
  size_t olen = r->olen, plen = ps->dlen;
  if (r->error == ENOSPC || olen + IPCOMP_HLEN >= plen) {
    if (r->error == 0) ipsi_backup_restore(pkt); /* it fit, but saved too little */
    return send_plain(pkt, sa);
  }
  uint8_t *b = pkt->buf;
  size_t data = ps->data, l3 = ps->l3, hl = data - l3;
  size_t total = hl + IPCOMP_HLEN + olen;
  uint8_t *c = b + data - IPCOMP_HLEN;
  if (sa->mode == IPSEC_MODE_TRANSPORT) {
    /* the header moves first: the IPcomp header goes where its end was */
    memmove(c - hl, b + l3, hl);
    ipsi_ip_set_len(c - hl, ps->ip.ver, total, ps->ip.nh_off, IPPROTO_COMP);
  }
  c[0] = ps->nh;
  c[1] = 0;
  wr16(c + 2, (uint16_t)sa->spi);
  if (sa->mode == IPSEC_MODE_TUNNEL) {
    /* DSCP, ECN and DF come from the inner header, compressed by now: the
     * request half kept its first bytes */
    size_t ohl = outer_len(sa);
    ipsi_ip_build_outer(c - ohl, sa, total, IPPROTO_COMP, ps->saved);
    pkt->off = data - IPCOMP_HLEN - ohl;
    pkt->len = ohl + total;
    return IPSEC_OK;
  }
  pkt->off = data - IPCOMP_HLEN - hl;
  pkt->len = total;
  return IPSEC_OK;
}

int ipsi_comp_in_prep(struct ipsec_pkt *pkt, struct ipsec_sa *sa) {
  struct pstate *ps = ps_of(pkt);
  size_t hdr = ps->hdr, end = pkt->off + pkt->len;
  if (end - hdr < IPCOMP_HLEN + 1) return IPSEC_DROP_TRUNCATED;
  size_t data = hdr + IPCOMP_HLEN, dlen = end - data, hl = hdr - pkt->off;
  size_t max = ps->ctx->ipcomp_max;
  if (sa->mode == IPSEC_MODE_TRANSPORT) max = max > hl ? max - hl : 0;
  size_t room = pkt->size - data;
  size_t cap = room < max ? room : max;
  /* the limit that stops a result decides its verdict */
  ps->verdict = room < max ? IPSEC_DROP_NOROOM : IPSEC_DROP_TOOBIG;
  if (cap < dlen) cap = dlen; /* the input itself always fits */
  ps->data = data;
  ps->dlen = dlen;
  ps->nh = pkt->buf[hdr];
  ipsi_req_setup(pkt, data, data + cap);
  struct ocf_req *r = &ps->req;
  r->ndesc = 1;
  r->desc[0].alg = OCF_ALG_DEFLATE;
  r->desc[0].skip = 0;
  r->desc[0].len = dlen;
  ipsi_backup_take(pkt, sa, data, dlen);
  return STEP_DISPATCH;
}

enum ipsec_verdict ipsi_comp_in_done(struct ipsec_pkt *pkt, struct ipsec_sa *sa) {
  struct pstate *ps = ps_of(pkt);
  uint8_t *b = pkt->buf;
  size_t olen = ps->req.olen, data = ps->data, l3 = pkt->off, hl = ps->hdr - l3;
  uint8_t nh = ps->nh;
  if (sa->mode == IPSEC_MODE_TUNNEL) {
    if (nh != IPPROTO_IPIP && nh != IPPROTO_IPV6) return IPSEC_DROP_BADNH;
    if (olen < 1 || (b[data] >> 4) != (nh == IPPROTO_IPIP ? 4 : 6)) return IPSEC_DROP_BADNH;
    struct iph in;
    enum ipsec_verdict v = ipsi_ip_parse(b + data, olen, WALK_ALL, &in);
    if (v != IPSEC_OK) return v == IPSEC_DROP_TRUNCATED ? IPSEC_DROP_BADLEN : v;
    if (in.tot != olen) return IPSEC_DROP_BADLEN;
    v = ipsi_sa_life_in(sa, olen, true);
    if (v != IPSEC_OK) return v;
    pkt->off = data;
    pkt->len = olen;
    return IPSEC_OK;
  }
  if (nh == IPPROTO_COMP || nh == 0 || nh == 43 || nh == 44) return IPSEC_DROP_BADNH;
  size_t total = hl + olen;
  if (total > 65535) return IPSEC_DROP_TOOBIG;
  enum ipsec_verdict v = ipsi_sa_life_in(sa, total, true);
  if (v != IPSEC_OK) return v;
  memmove(b + data - hl, b + l3, hl);
  ipsi_ip_set_len(b + data - hl, ps->ip.ver, total, ps->ip.nh_off, nh);
  pkt->off = data - hl;
  pkt->len = total;
  return IPSEC_OK;
}
