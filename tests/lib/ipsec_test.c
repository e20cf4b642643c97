/* ipsec_test.c - see ipsec_test.h. */
#include "ipsec_test.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void it_done(struct ipsec_pkt *p) {
  struct it_pkt *t = p->user;
  pthread_mutex_lock(&t->lock);
  t->done++;
  pthread_cond_broadcast(&t->cv);
  pthread_mutex_unlock(&t->lock);
}

struct it_pkt *it_pkt_new(size_t size, size_t off, const uint8_t *data, size_t len) {
  struct it_pkt *t = calloc(1, sizeof(*t));
  if (t == NULL) abort();
  t->mem = malloc(size ? size : 1);
  if (t->mem == NULL) abort();
  t->size = size;
  pthread_mutex_init(&t->lock, NULL);
  pthread_cond_init(&t->cv, NULL);
  it_pkt_reset(t, off, data, len);
  return t;
}

void it_pkt_reset(struct it_pkt *t, size_t off, const uint8_t *data, size_t len) {
  /* The library must not depend on its private area's contents when a
   * packet enters: every other reset fills it with garbage, the others keep
   * whatever the last journey (another SA, the other direction) left. */
  static _Atomic unsigned resets;
  unsigned k = atomic_fetch_add(&resets, 1);
  if (k % 2 == 0) memset(t->p.priv_, (int)(0x5a ^ (k >> 1) * 0x3b), sizeof(t->p.priv_));
  memset(t->mem, 0xee, t->size);
  if (len) memcpy(t->mem + off, data, len);
  ipsec_pkt_init(&t->p, t->mem, t->size, off, len, it_done, t);
  t->done = 0;
}

void it_pkt_free(struct it_pkt *t) {
  if (t == NULL) return;
  pthread_mutex_destroy(&t->lock);
  pthread_cond_destroy(&t->cv);
  free(t->mem);
  free(t);
}

int it_run(struct ipsec_ctx *ctx, struct it_pkt *t, int out) {
  pthread_mutex_lock(&t->lock);
  t->done = 0;
  pthread_mutex_unlock(&t->lock);
  int rc = out ? ipsec_output(ctx, &t->p) : ipsec_input(ctx, &t->p);
  if (rc != 0) return -1;
  pthread_mutex_lock(&t->lock);
  while (t->done == 0) pthread_cond_wait(&t->cv, &t->lock);
  pthread_mutex_unlock(&t->lock);
  return (int)t->p.verdict;
}

struct ipsec_addr it_addr(const char *s) {
  struct ipsec_addr a;
  if (ipsec_addr_parse(s, &a) != 0) abort();
  return a;
}

static uint16_t csum_fold(uint32_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}

static uint32_t sum16(const uint8_t *p, size_t n) {
  uint32_t s = 0;
  for (size_t i = 0; i + 1 < n; i += 2) s += (uint32_t)(p[i] << 8 | p[i + 1]);
  if (n & 1) s += (uint32_t)p[n - 1] << 8;
  return s;
}

size_t it_build_ip(uint8_t *buf, size_t cap, int v6, uint8_t proto, uint16_t sport, uint16_t dport,
                   size_t plen, struct ref_rng *rng, const struct ipsec_addr *src,
                   const struct ipsec_addr *dst) {
  size_t hl = v6 ? 40 : 20, l4 = 0;
  if (proto == IPPROTO_UDP) l4 = 8;
  if (proto == IPPROTO_TCP) l4 = 20;
  if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) l4 = 8;
  size_t tot = hl + l4 + plen;
  if (tot > cap || tot > 65535) abort();
  memset(buf, 0, hl + l4);
  struct ipsec_addr s = src ? *src : it_addr(v6 ? "2001:db8::1" : "10.0.0.1");
  struct ipsec_addr d = dst ? *dst : it_addr(v6 ? "2001:db8:1::1" : "10.0.1.1");
  uint8_t *pay = buf + hl + l4;
  if (rng)
    ref_fill(rng, pay, plen);
  else
    for (size_t i = 0; i < plen; i++) pay[i] = (uint8_t)i;
  if (v6) {
    buf[0] = 0x60;
    buf[4] = (uint8_t)((tot - 40) >> 8);
    buf[5] = (uint8_t)(tot - 40);
    buf[6] = proto;
    buf[7] = 64;
    memcpy(buf + 8, s.a, 16);
    memcpy(buf + 24, d.a, 16);
  } else {
    buf[0] = 0x45;
    buf[2] = (uint8_t)(tot >> 8);
    buf[3] = (uint8_t)tot;
    buf[4] = 0x12;
    buf[5] = 0x34;
    buf[6] = 0x40; /* DF */
    buf[8] = 64;
    buf[9] = proto;
    memcpy(buf + 12, s.a, 4);
    memcpy(buf + 16, d.a, 4);
    uint16_t c = csum_fold(sum16(buf, 20));
    buf[10] = (uint8_t)(c >> 8);
    buf[11] = (uint8_t)c;
  }
  uint8_t *t = buf + hl;
  size_t ulen = l4 + plen;
  if (proto == IPPROTO_UDP || proto == IPPROTO_TCP) {
    t[0] = (uint8_t)(sport >> 8);
    t[1] = (uint8_t)sport;
    t[2] = (uint8_t)(dport >> 8);
    t[3] = (uint8_t)dport;
    if (proto == IPPROTO_UDP) {
      t[4] = (uint8_t)(ulen >> 8);
      t[5] = (uint8_t)ulen;
    } else {
      t[12] = 0x50;
      t[13] = 0x18;
      t[14] = 0x20;
    }
  } else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
    t[0] = proto == IPPROTO_ICMP ? 8 : 128; /* echo request */
    t[4] = 0x12;
    t[5] = 0x34;
  }
  if (l4 > 0) {
    /* the checksum: pseudo header for UDP / TCP / ICMPv6 */
    uint32_t s2 = 0;
    if (proto != IPPROTO_ICMP) {
      s2 += sum16(buf + (v6 ? 8 : 12), v6 ? 32 : 8);
      s2 += (uint32_t)(ulen >> 16) + (uint32_t)(ulen & 0xffff) + proto;
    }
    size_t co = proto == IPPROTO_UDP ? 6 : proto == IPPROTO_TCP ? 16 : 2;
    s2 += sum16(t, ulen);
    uint16_t c = csum_fold(s2);
    if (c == 0 && proto == IPPROTO_UDP) c = 0xffff;
    t[co] = (uint8_t)(c >> 8);
    t[co + 1] = (uint8_t)c;
  }
  return tot;
}

size_t it_enc_keylen(enum ipsec_enc e) {
  switch (e) {
    case IPSEC_ENC_3DES_CBC:
      return 24;
    case IPSEC_ENC_AES_CBC:
      return 16;
    case IPSEC_ENC_AES_CTR:
    case IPSEC_ENC_AES_GCM_8:
    case IPSEC_ENC_AES_GCM_12:
    case IPSEC_ENC_AES_GCM_16:
    case IPSEC_ENC_NULL_AUTH_AES_GMAC:
      return 20;
    case IPSEC_ENC_AES_CCM_8:
    case IPSEC_ENC_AES_CCM_12:
    case IPSEC_ENC_AES_CCM_16:
      return 19;
    case IPSEC_ENC_CHACHA20_POLY1305:
      return 36;
    default:
      return 0;
  }
}

size_t it_auth_keylen(enum ipsec_auth a) {
  switch (a) {
    case IPSEC_AUTH_HMAC_MD5_96:
      return 16;
    case IPSEC_AUTH_HMAC_SHA1_96:
      return 20;
    case IPSEC_AUTH_HMAC_SHA2_256_128:
      return 32;
    case IPSEC_AUTH_HMAC_SHA2_384_192:
      return 48;
    case IPSEC_AUTH_HMAC_SHA2_512_256:
      return 64;
    default:
      return 0;
  }
}

void it_keys(struct ipsec_sa_params *p, uint8_t *ekey, uint8_t *akey, struct ref_rng *rng) {
  p->enc_key_len = it_enc_keylen(p->enc);
  p->auth_key_len = it_auth_keylen(p->auth);
  ref_fill(rng, ekey, p->enc_key_len);
  ref_fill(rng, akey, p->auth_key_len);
  p->enc_key = p->enc_key_len ? ekey : NULL;
  p->auth_key = p->auth_key_len ? akey : NULL;
}

int it_sa_pair(struct ipsec_ctx *octx, struct ipsec_ctx *ictx, const struct ipsec_sa_params *p,
               struct ipsec_sa **out, struct ipsec_sa **in, int no_policy) {
  struct ipsec_sa_params q = *p;
  char err[200];
  q.dir = IPSEC_DIR_OUT;
  int rc = ipsec_sa_add(octx, &q, out, err, sizeof(err));
  if (rc != 0) {
    fprintf(stderr, "it_sa_pair: out: %s\n", err);
    return rc;
  }
  q.dir = IPSEC_DIR_IN;
  q.seq = p->seq > 1 ? p->seq - 1 : 0; /* the receiver has seen what came before */
  rc = ipsec_sa_add(ictx, &q, in, err, sizeof(err));
  if (rc != 0) {
    fprintf(stderr, "it_sa_pair: in: %s\n", err);
    return rc;
  }
  if (no_policy) return 0;
  struct ipsec_policy_params pp = {.dir = IPSEC_DIR_OUT, .action = IPSEC_ACT_PROTECT, .nsa = 1};
  pp.sa[0] = *out;
  rc = ipsec_policy_add(octx, &pp, -1, NULL, err, sizeof(err));
  if (rc != 0) {
    fprintf(stderr, "it_sa_pair: out policy: %s\n", err);
    return rc;
  }
  pp.dir = IPSEC_DIR_IN;
  pp.sa[0] = *in;
  rc = ipsec_policy_add(ictx, &pp, -1, NULL, err, sizeof(err));
  if (rc != 0) fprintf(stderr, "it_sa_pair: in policy: %s\n", err);
  return rc;
}

size_t it_hex(const char *hex, uint8_t *out, size_t cap) {
  size_t n = 0;
  int hi = -1;
  for (const char *c = hex; *c; c++) {
    if (isspace((unsigned char)*c)) continue;
    int v = isdigit((unsigned char)*c) ? *c - '0' : tolower((unsigned char)*c) - 'a' + 10;
    if (v < 0 || v > 15) abort();
    if (hi < 0) {
      hi = v;
    } else {
      if (n >= cap) abort();
      out[n++] = (uint8_t)(hi << 4 | v);
      hi = -1;
    }
  }
  if (hi >= 0) abort();
  return n;
}

struct ipsec_ctx *it_ctx(unsigned flags) {
  struct ipsec_ctx_opts o = {.flags = flags};
  struct ipsec_ctx *c = NULL;
  if (ipsec_ctx_new(&o, &c) != 0) abort();
  return c;
}
