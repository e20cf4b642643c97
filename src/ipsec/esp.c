/* esp.c - ESP (RFC 4303): tunnel and transport mode, ESP in UDP (RFC 3948),
 * extended sequence numbers (RFC 4304), and the transforms of sad.c.
 *
 * Output, request half: make room, write the outer header (tunnel) or move
 * the IP header forward (transport), the ESP header, the IV and the trailer,
 * and describe one request: AEAD, or cipher then MAC (encrypt-then-MAC in
 * one chained request), or GMAC, or a MAC alone for NULL encryption.
 * Input, request half: check lengths, find the 64-bit sequence number and
 * check the replay window, keep the received ICV, and describe the request:
 * MAC then decipher.  Callback halves: compare the ICV the producer computed
 * with the one received (AEAD tags are checked by the producer), advance the
 * window, check the trailer, and take the headers off.
 *
 * ESN: the ICV covers the high 32 bits of the sequence number, which are not
 * sent.  For a MAC they follow the payload: they are written where the ICV
 * goes, inside the range the MAC reads, and the MAC then overwrites them.  For
 * AEAD and GMAC they belong in the AAD between SPI and the low half: the SPI
 * is copied 4 bytes in front of the ESP header and the high half written over
 * the SPI, so that the AAD is one contiguous range; the engine puts the bytes
 * back when the request is over. */
#include <errno.h>
#include <netinet/in.h>
#include <openssl/crypto.h>

#include "ipsec/internal.h"

static size_t esp_pad(const struct ipsec_sa *sa, size_t plen) {
  return (sa->block - (plen + 2) % sa->block) % sa->block;
}

static size_t udp_len(const struct ipsec_sa *sa) {
  return sa->flags & IPSEC_SA_UDP_ENCAP ? UDP_HLEN : 0;
}

size_t ipsi_esp_overhead(const struct ipsec_sa *sa, size_t inner) {
  size_t fixed = outer_len(sa) + udp_len(sa) + ESP_HLEN + sa->ivlen;
  size_t plen = inner;
  if (sa->mode == IPSEC_MODE_TRANSPORT) {
    size_t hl = sa->dst.family == AF_INET6 ? IPV6_HLEN : IPV4_HLEN;
    plen = inner > hl ? inner - hl : 0;
  }
  return fixed + esp_pad(sa, plen) + 2 + sa->icvlen;
}

void ipsi_esp_room(const struct ipsec_sa *sa, size_t *head, size_t *tail) {
  *head = outer_len(sa) + udp_len(sa) + ESP_HLEN + sa->ivlen;
  *tail = (size_t)sa->block - 1 + 2 + sa->icvlen;
}

/* The cipher's IV / nonce as the OCF descriptor wants it. */
static void nonce(const struct ipsec_sa *sa, const uint8_t *iv, struct ocf_desc *d) {
  d->flags |= OCF_D_IV_EXPLICIT;
  memcpy(d->iv, sa->salt, sa->saltlen);
  memcpy(d->iv + sa->saltlen, iv, sa->ivlen);
  if (sa->calg == OCF_ALG_AES_CTR && sa->kind != XF_AEAD) wr32(d->iv + 12, 1); /* RFC 3686 */
}

/* Describes the request over [base, ...) of the packet: hdr is the ESP
 * header, data the encrypted part (dlen bytes), icv where the ICV goes. */
static void describe(struct ipsec_pkt *pkt, struct ipsec_sa *sa, size_t hdr, size_t data,
                     size_t dlen, size_t icv, bool out) {
  struct pstate *ps = ps_of(pkt);
  struct ocf_req *r = &ps->req;
  size_t base = ps->base;
  bool esn = sa->flags & IPSEC_SA_ESN;
  const uint8_t *iv = pkt->buf + hdr + ESP_HLEN;
  size_t aad = hdr, aad_len = ESP_HLEN;
  if (esn && (sa->kind == XF_AEAD || sa->kind == XF_GMAC)) {
    trick_save(pkt, hdr - 4);
    memcpy(pkt->buf + hdr - 4, pkt->buf + hdr, 4);
    wr32(pkt->buf + hdr, (uint32_t)(ps->seq >> 32));
    aad = hdr - 4;
    aad_len = ESP_HLEN + 4;
  }
  /* with ESN a MAC reads the high half where the ICV will go */
  size_t mac_len = ESP_HLEN + sa->ivlen + dlen;
  if (esn && (sa->kind == XF_MAC || sa->kind == XF_CIPHER_MAC)) {
    wr32(pkt->buf + icv, (uint32_t)(ps->seq >> 32));
    mac_len += 4;
  }
  struct ocf_desc *c = NULL, *m = NULL;
  switch (sa->kind) {
    case XF_AEAD:
      c = &r->desc[0];
      r->ndesc = 1;
      c->aad_skip = aad - base;
      c->aad_len = aad_len;
      c->inject = icv - base;
      break;
    case XF_GMAC:
      m = &r->desc[0];
      r->ndesc = 1;
      m->alg = sa->malg;
      m->skip = aad - base;
      m->len = aad_len + sa->ivlen + dlen;
      m->inject = icv - base;
      nonce(sa, iv, m);
      return;
    case XF_CIPHER_MAC: /* encrypt then MAC; on input MAC then decrypt */
      c = &r->desc[out ? 0 : 1];
      m = &r->desc[out ? 1 : 0];
      r->ndesc = 2;
      break;
    case XF_CIPHER:
      c = &r->desc[0];
      r->ndesc = 1;
      break;
    default: /* XF_MAC: NULL encryption */
      m = &r->desc[0];
      r->ndesc = 1;
      break;
  }
  if (c != NULL) {
    c->alg = sa->calg;
    c->flags = out ? OCF_D_ENCRYPT : 0;
    c->skip = data - base;
    c->len = dlen;
    nonce(sa, iv, c);
  }
  if (m != NULL) {
    m->alg = sa->malg;
    m->skip = hdr - base;
    m->len = mac_len;
    m->inject = icv - base;
  }
}

int ipsi_esp_out_prep(struct ipsec_pkt *pkt, struct ipsec_sa *sa) {
  struct pstate *ps = ps_of(pkt);
  struct iph h;
  bool tun = sa->mode == IPSEC_MODE_TUNNEL;
  if (ps->ip_valid && (tun || ps->ip.ver == 4)) { /* parsed already, the way we need */
    h = ps->ip;
  } else {
    enum ipsec_verdict v =
        ipsi_ip_parse(pkt->buf + pkt->off, pkt->len, tun ? WALK_ALL : WALK_INSERT, &h);
    if (v != IPSEC_OK) return v;
  }
  if (!tun && h.frag) return IPSEC_DROP_MALFORMED; /* transport mode: whole datagrams only */
  size_t hl = tun ? 0 : h.hlen;
  uint8_t nh = tun ? (h.ver == 4 ? IPPROTO_IPIP : IPPROTO_IPV6) : h.proto;
  size_t plen = pkt->len - hl, pad = esp_pad(sa, plen), dlen = plen + pad + 2;
  size_t udp = udp_len(sa), olen = outer_len(sa);
  size_t grow = udp + ESP_HLEN + sa->ivlen; /* between the IP header and the payload */
  if (!ipsi_pkt_make_room(ps->ctx, pkt, olen + grow, pad + 2 + sa->icvlen))
    return IPSEC_DROP_NOROOM;
  uint8_t *b = pkt->buf;
  size_t l3 = pkt->off, data = l3 + hl, nl3 = l3 - olen - grow;
  size_t total = olen + hl + grow + dlen + sa->icvlen;
  if (total > 65535) return IPSEC_DROP_TOOBIG;
  if (!tun) memmove(b + nl3, b + l3, hl);
  size_t esp = nl3 + olen + hl + udp, icv = data + dlen;
  /* trailer: 1, 2, 3, ... (RFC 4303 2.4), pad length, next header */
  uint8_t *t = b + data + plen;
  for (size_t i = 0; i < pad; i++) t[i] = (uint8_t)(i + 1);
  t[pad] = (uint8_t)pad;
  t[pad + 1] = nh;
  wr32(b + esp, sa->spi);
  wr32(b + esp + 4, (uint32_t)ps->seq);
  if (sa->ivlen && !ipsi_fill_iv(sa, ps->seq, b + esp + ESP_HLEN)) {
    pkt->error = EIO;
    return IPSEC_DROP_CRYPTO;
  }
  uint8_t proto = udp ? IPPROTO_UDP : IPPROTO_ESP;
  uint8_t ver = h.ver;
  if (tun) {
    ipsi_ip_build_outer(b + nl3, sa, total - olen, proto, b + data);
    ver = sa->dst.family == AF_INET6 ? 6 : 4;
  } else {
    ipsi_ip_set_len(b + nl3, h.ver, total, h.nh_off, proto);
  }
  if (udp) ipsi_udp_build(b + nl3, 4, olen + hl, sa->sport, sa->dport, total - olen - hl);
  ps->hdr = esp;
  ps->data = data;
  ps->dlen = dlen;
  ps->nh = ver; /* the outer family, for the UDP checksum afterwards */
  ps->ohl = (uint16_t)(olen + hl);
  ps->oproto = proto;
  ps->l3 = nl3;
  pkt->off = nl3;
  pkt->len = total;
  ipsi_req_setup(pkt, nl3, nl3 + total);
  describe(pkt, sa, esp, data, dlen, icv, true);
  ipsi_backup_take(pkt, sa, data, dlen + sa->icvlen);
  return STEP_DISPATCH;
}

enum ipsec_verdict ipsi_esp_out_done(struct ipsec_pkt *pkt, struct ipsec_sa *sa) {
  struct pstate *ps = ps_of(pkt);
  if ((sa->flags & IPSEC_SA_UDP_ENCAP) && ps->nh == 6) {
    /* IPv6 needs the UDP checksum, over the ciphertext */
    size_t uoff = ps->hdr - UDP_HLEN - pkt->off;
    ipsi_udp_build(pkt->buf + pkt->off, 6, uoff, sa->sport, sa->dport, pkt->len - uoff);
  }
  return IPSEC_OK;
}

int ipsi_esp_in_prep(struct ipsec_pkt *pkt, struct ipsec_sa *sa) {
  struct pstate *ps = ps_of(pkt);
  uint8_t *b = pkt->buf;
  size_t hdr = ps->hdr, end = pkt->off + pkt->len;
  size_t esp_len = end - hdr;
  if (esp_len < ESP_HLEN + (size_t)sa->ivlen + sa->icvlen + 2) return IPSEC_DROP_TRUNCATED;
  size_t data = hdr + ESP_HLEN + sa->ivlen;
  size_t dlen = esp_len - ESP_HLEN - sa->ivlen - sa->icvlen;
  if (sa->cblock > 1 && dlen % sa->cblock != 0) return IPSEC_DROP_BADPAD;
  enum ipsec_verdict v = ipsi_replay_pre(sa, rd32(b + hdr + 4), &ps->seq);
  if (v != IPSEC_OK) return v;
  size_t icv = data + dlen;
  ps->data = data;
  ps->dlen = dlen;
  if (sa->kind != XF_AEAD && sa->icvlen) memcpy(ps->u.icv, b + icv, sa->icvlen);
  ipsi_req_setup(pkt, pkt->off, end);
  describe(pkt, sa, hdr, data, dlen, icv, false);
  ipsi_backup_take(pkt, sa, data, dlen + sa->icvlen);
  return STEP_DISPATCH;
}

enum ipsec_verdict ipsi_esp_in_done(struct ipsec_pkt *pkt, struct ipsec_sa *sa) {
  struct pstate *ps = ps_of(pkt);
  uint8_t *b = pkt->buf;
  size_t data = ps->data, dlen = ps->dlen, icv = data + dlen;
  if (sa->kind != XF_AEAD && sa->kind != XF_CIPHER &&
      CRYPTO_memcmp(b + icv, ps->u.icv, sa->icvlen) != 0)
    return IPSEC_DROP_AUTH;
  enum ipsec_verdict v = ipsi_replay_update(sa, ps->seq);
  if (v != IPSEC_OK) return v;
  size_t pad = b[icv - 2];
  uint8_t nh = b[icv - 1];
  if (pad + 2 > dlen) return IPSEC_DROP_BADPAD;
  if (!(sa->flags & IPSEC_SA_NO_PADCHECK)) {
    const uint8_t *p = b + icv - 2 - pad;
    for (size_t i = 0; i < pad; i++)
      if (p[i] != (uint8_t)(i + 1)) return IPSEC_DROP_BADPAD;
  }
  size_t plen = dlen - 2 - pad;
  if (nh == IPPROTO_NONE) {
    (void)ipsi_sa_life_in(sa, plen, true);
    return IPSEC_DROP_DUMMY;
  }
  if (sa->mode == IPSEC_MODE_TUNNEL) {
    if (nh != IPPROTO_IPIP && nh != IPPROTO_IPV6) return IPSEC_DROP_BADNH;
    if (plen < 1 || (b[data] >> 4) != (nh == IPPROTO_IPIP ? 4 : 6)) return IPSEC_DROP_BADNH;
    struct iph in;
    v = ipsi_ip_parse(b + data, plen, WALK_ALL, &in);
    if (v != IPSEC_OK) return v == IPSEC_DROP_TRUNCATED ? IPSEC_DROP_BADLEN : v;
    v = ipsi_sa_life_in(sa, in.tot, true);
    if (v != IPSEC_OK) return v;
    pkt->off = data;
    pkt->len = in.tot; /* anything after it is TFC padding */
    return IPSEC_OK;
  }
  if (nh == 0 || nh == 43 || nh == 44 || nh == 60) return IPSEC_DROP_BADNH; /* not after ESP */
  /* transport: the IP header moves up against the payload */
  size_t l3 = ps->l3, hl = ps->ip.hlen;
  size_t total = hl + plen;
  if (total > 65535) return IPSEC_DROP_BADLEN;
  v = ipsi_sa_life_in(sa, total, true);
  if (v != IPSEC_OK) return v;
  memmove(b + data - hl, b + l3, hl);
  ipsi_ip_set_len(b + data - hl, ps->ip.ver, total, ps->ip.nh_off, nh);
  pkt->off = data - hl;
  pkt->len = total;
  return IPSEC_OK;
}
