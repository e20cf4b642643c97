/* sad.c - the Security Association Database: adding, finding and freeing
 * SAs, their sessions, lifetimes, path MTU and overhead. */
#include <errno.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ipsec/internal.h"

uint64_t ipsi_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int bad(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(char *errbuf, size_t errlen, const char *fmt, ...) {
  if (errbuf != NULL && errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
  }
  return EINVAL;
}

/* --- the transforms ------------------------------------------------------------ */

struct enc_def {
  enum ipsec_enc id;
  const char *name;
  enum ocf_alg alg;
  enum xf_kind kind; /* with an integrity transform, CIPHER becomes CIPHER_MAC */
  uint8_t keys[3];   /* accepted key lengths without salt (0 = unused) */
  uint8_t salt, iv, icv, cblock, sess_iv;
};

static const struct enc_def encs[] = {
    {IPSEC_ENC_3DES_CBC, "3des-cbc", OCF_ALG_3DES_CBC, XF_CIPHER, {24}, 0, 8, 0, 8, 0},
    {IPSEC_ENC_NULL, "null", OCF_ALG_NONE, XF_MAC, {0}, 0, 0, 0, 1, 0},
    {IPSEC_ENC_AES_CBC, "aes-cbc", OCF_ALG_AES_CBC, XF_CIPHER, {16, 24, 32}, 0, 16, 0, 16, 0},
    {IPSEC_ENC_AES_CTR, "aes-ctr", OCF_ALG_AES_CTR, XF_CIPHER, {16, 24, 32}, 4, 8, 0, 1, 16},
    {IPSEC_ENC_AES_CCM_8, "aes-ccm-8", OCF_ALG_AES_CCM, XF_AEAD, {16, 24, 32}, 3, 8, 8, 1, 11},
    {IPSEC_ENC_AES_CCM_12, "aes-ccm-12", OCF_ALG_AES_CCM, XF_AEAD, {16, 24, 32}, 3, 8, 12, 1, 11},
    {IPSEC_ENC_AES_CCM_16, "aes-ccm-16", OCF_ALG_AES_CCM, XF_AEAD, {16, 24, 32}, 3, 8, 16, 1, 11},
    {IPSEC_ENC_AES_GCM_8, "aes-gcm-8", OCF_ALG_AES_GCM, XF_AEAD, {16, 24, 32}, 4, 8, 8, 1, 12},
    {IPSEC_ENC_AES_GCM_12, "aes-gcm-12", OCF_ALG_AES_GCM, XF_AEAD, {16, 24, 32}, 4, 8, 12, 1, 12},
    {IPSEC_ENC_AES_GCM_16, "aes-gcm-16", OCF_ALG_AES_GCM, XF_AEAD, {16, 24, 32}, 4, 8, 16, 1, 12},
    {IPSEC_ENC_NULL_AUTH_AES_GMAC,
     "null-aes-gmac",
     OCF_ALG_AES_GMAC,
     XF_GMAC,
     {16, 24, 32},
     4,
     8,
     16,
     1,
     12},
    {IPSEC_ENC_CHACHA20_POLY1305,
     "chacha20-poly1305",
     OCF_ALG_CHACHA20_POLY1305,
     XF_AEAD,
     {32},
     4,
     8,
     16,
     1,
     12},
};

struct auth_def {
  enum ipsec_auth id;
  const char *name;
  enum ocf_alg alg;
  uint8_t key, icv;
};

static const struct auth_def auths[] = {
    {IPSEC_AUTH_HMAC_MD5_96, "hmac-md5-96", OCF_ALG_HMAC_MD5, 16, 12},
    {IPSEC_AUTH_HMAC_SHA1_96, "hmac-sha1-96", OCF_ALG_HMAC_SHA1, 20, 12},
    {IPSEC_AUTH_HMAC_SHA2_256_128, "hmac-sha2-256-128", OCF_ALG_HMAC_SHA2_256, 32, 16},
    {IPSEC_AUTH_HMAC_SHA2_384_192, "hmac-sha2-384-192", OCF_ALG_HMAC_SHA2_384, 48, 24},
    {IPSEC_AUTH_HMAC_SHA2_512_256, "hmac-sha2-512-256", OCF_ALG_HMAC_SHA2_512, 64, 32},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct enc_def *enc_def(enum ipsec_enc e) {
  for (size_t i = 0; i < NELEM(encs); i++)
    if (encs[i].id == e) return &encs[i];
  return NULL;
}

static const struct auth_def *auth_def(enum ipsec_auth a) {
  for (size_t i = 0; i < NELEM(auths); i++)
    if (auths[i].id == a) return &auths[i];
  return NULL;
}

const char *ipsec_enc_name(enum ipsec_enc e) {
  const struct enc_def *d = enc_def(e);
  return d ? d->name : e == IPSEC_ENC_NONE ? "none" : NULL;
}

const char *ipsec_auth_name(enum ipsec_auth a) {
  const struct auth_def *d = auth_def(a);
  return d ? d->name : a == IPSEC_AUTH_NONE ? "none" : NULL;
}

const char *ipsec_comp_name(enum ipsec_comp c) {
  return c == IPSEC_COMP_DEFLATE ? "deflate" : c == IPSEC_COMP_NONE ? "none" : NULL;
}

int ipsec_enc_byname(const char *name) {
  if (name == NULL) return -1;
  for (size_t i = 0; i < NELEM(encs); i++)
    if (strcmp(encs[i].name, name) == 0) return (int)encs[i].id;
  return strcmp(name, "none") == 0 ? IPSEC_ENC_NONE : -1;
}

int ipsec_auth_byname(const char *name) {
  if (name == NULL) return -1;
  for (size_t i = 0; i < NELEM(auths); i++)
    if (strcmp(auths[i].name, name) == 0) return (int)auths[i].id;
  return strcmp(name, "none") == 0 ? IPSEC_AUTH_NONE : -1;
}

int ipsec_comp_byname(const char *name) {
  if (name == NULL) return -1;
  if (strcmp(name, "deflate") == 0) return IPSEC_COMP_DEFLATE;
  return strcmp(name, "none") == 0 ? IPSEC_COMP_NONE : -1;
}

/* --- producers ------------------------------------------------------------------- */

/* Whether sid's producer may lose a request half-written (OCF_ELOST): any
 * producer that does not call itself software. */
static bool sid_hw(ocf_sid_t sid) {
  struct ocf_driver_stat st[64];
  int n = ocf_driver_stats(st, 64);
  if (n > 64) n = 64;
  for (int i = 0; i < n; i++)
    if (st[i].hid == OCF_SID_DRIVER(sid)) return !(st[i].flags & OCF_DRV_SOFTWARE);
  return true;
}

void ipsi_sa_migrated(struct ipsec_sa *sa, ocf_sid_t old, ocf_sid_t nsid) {
  if (nsid == old) return;
  if (!atomic_compare_exchange_strong(&sa->sid, &old, nsid)) return; /* someone did */
  atomic_store(&sa->hw, sid_hw(nsid));
  ipsi_sa_event(sa, IPSEC_EV_MIGRATED);
}

/* --- validation ------------------------------------------------------------------- */

static bool addr_ok(const struct ipsec_addr *a) {
  return a->family == 0 || a->family == AF_INET || a->family == AF_INET6;
}

static int check_params(const struct ipsec_sa_params *p, const struct enc_def **ed,
                        const struct auth_def **ad, char *eb, size_t el) {
  *ed = NULL;
  *ad = NULL;
  if (p->dir != IPSEC_DIR_OUT && p->dir != IPSEC_DIR_IN)
    return bad(eb, el, "direction must be IPSEC_DIR_OUT or IPSEC_DIR_IN");
  if (p->mode != IPSEC_MODE_TRANSPORT && p->mode != IPSEC_MODE_TUNNEL)
    return bad(eb, el, "mode must be transport or tunnel");
  if (!addr_ok(&p->src) || !addr_ok(&p->dst)) return bad(eb, el, "bad address family");
  if (p->mode == IPSEC_MODE_TUNNEL) {
    if (p->dst.family == 0 || p->src.family != p->dst.family)
      return bad(eb, el, "tunnel mode needs source and destination of one family");
  }
  if (p->src.family != 0 && p->dst.family != 0 && p->src.family != p->dst.family)
    return bad(eb, el, "source and destination of different families");
  unsigned known = IPSEC_SA_ESN | IPSEC_SA_UDP_ENCAP | IPSEC_SA_NO_REPLAY | IPSEC_SA_DF_SET |
                   IPSEC_SA_DF_CLEAR | IPSEC_SA_NO_PADCHECK;
  if (p->flags & ~known) return bad(eb, el, "unknown flags %#x", p->flags & ~known);
  if ((p->flags & IPSEC_SA_DF_SET) && (p->flags & IPSEC_SA_DF_CLEAR))
    return bad(eb, el, "DF both set and cleared");
  if (p->replay_window != 0 &&
      (p->replay_window < IPSEC_REPLAY_MIN || p->replay_window > IPSEC_REPLAY_MAX))
    return bad(eb, el, "replay window %u outside %d..%d", p->replay_window, IPSEC_REPLAY_MIN,
               IPSEC_REPLAY_MAX);
  if (p->enc_key_len > IPSEC_MAX_KEY || p->auth_key_len > IPSEC_MAX_KEY)
    return bad(eb, el, "key longer than %d bytes", IPSEC_MAX_KEY);
  if ((p->enc_key_len && p->enc_key == NULL) || (p->auth_key_len && p->auth_key == NULL))
    return bad(eb, el, "key length without a key");
  if (p->pmtu != 0 && (p->pmtu < 68 || p->pmtu > 65535))
    return bad(eb, el, "path MTU %u outside 68..65535", p->pmtu);
  if (p->ocf_flags & ~(unsigned)(OCF_SESS_HWONLY | OCF_SESS_SWONLY))
    return bad(eb, el, "unknown session flags");
  if (p->proto == IPSEC_PROTO_IPCOMP) {
    if (p->spi == 0 || p->spi > 0xffff) return bad(eb, el, "IPcomp CPI must be 1..65535");
    if (p->comp != IPSEC_COMP_DEFLATE) return bad(eb, el, "IPcomp needs comp = deflate");
    if (p->enc != IPSEC_ENC_NONE || p->auth != IPSEC_AUTH_NONE)
      return bad(eb, el, "IPcomp takes no encryption or integrity transform");
    if (p->comp_level < 0 || p->comp_level > 9) return bad(eb, el, "compression level 0..9");
    if (p->flags & (IPSEC_SA_ESN | IPSEC_SA_UDP_ENCAP))
      return bad(eb, el, "IPcomp has no sequence numbers or UDP encapsulation");
    return 0;
  }
  if (p->comp != IPSEC_COMP_NONE) return bad(eb, el, "compression is for IPcomp SAs");
  if (p->spi < 256) return bad(eb, el, "SPI %u is reserved (0..255)", p->spi);
  if (p->auth != IPSEC_AUTH_NONE) {
    *ad = auth_def(p->auth);
    if (*ad == NULL) return bad(eb, el, "unknown integrity transform %d", (int)p->auth);
    if (p->auth_key_len != (*ad)->key)
      return bad(eb, el, "%s needs a %u-byte key, got %zu", (*ad)->name, (*ad)->key,
                 p->auth_key_len);
  } else if (p->auth_key_len) {
    return bad(eb, el, "integrity key without an integrity transform");
  }
  if (p->proto == IPSEC_PROTO_AH) {
    if (p->enc != IPSEC_ENC_NONE) return bad(eb, el, "AH does not encrypt");
    if (*ad == NULL) return bad(eb, el, "AH needs an integrity transform");
    if (p->flags & IPSEC_SA_UDP_ENCAP) return bad(eb, el, "UDP encapsulation is for ESP");
    return 0;
  }
  if (p->proto != IPSEC_PROTO_ESP) return bad(eb, el, "protocol must be ESP, AH or IPcomp");
  *ed = enc_def(p->enc);
  if (*ed == NULL) return bad(eb, el, "unknown encryption transform %d", (int)p->enc);
  const struct enc_def *e = *ed;
  if (e->kind == XF_AEAD || e->kind == XF_GMAC) {
    if (*ad != NULL) return bad(eb, el, "%s authenticates itself: no integrity transform", e->name);
  } else if (e->id == IPSEC_ENC_NULL && *ad == NULL) {
    return bad(eb, el, "ESP with NULL encryption needs an integrity transform");
  }
  if (e->id == IPSEC_ENC_NULL) {
    if (p->enc_key_len) return bad(eb, el, "NULL encryption takes no key");
    return 0;
  }
  size_t k = p->enc_key_len;
  if (k < e->salt) return bad(eb, el, "%s key too short", e->name);
  k -= e->salt;
  if (k == 0 || (k != e->keys[0] && k != e->keys[1] && k != e->keys[2]))
    return bad(eb, el, "%s: key of %zu bytes (plus %u of salt) is not valid", e->name, k, e->salt);
  return 0;
}

/* --- life cycle ---------------------------------------------------------------------- */

static unsigned bucket(uint8_t proto, uint32_t spi) {
  uint32_t h = spi * 2654435761u ^ proto;
  return (h >> 16 ^ h) % SAD_BUCKETS;
}

/* The writers' index: every SA (both directions) by direction, protocol and
 * SPI, chained through knext, newest first in each chain.  Adding an SA
 * checks it against the others, and ipsec_sa_find looks one up; scanning
 * ctx->all for those made adding 40,000 SAs take 54 s and each find 1 ms.
 * Only writers use it, under ctx->lock, so it grows by rehashing in place. */
static size_t kbucket(const struct ipsec_ctx *ctx, enum ipsec_dir dir, uint8_t proto,
                      uint32_t spi) {
  uint32_t h = spi * 2654435761u ^ ((uint32_t)proto << 1 | (uint32_t)(dir == IPSEC_DIR_IN));
  return (size_t)(h ^ h >> 15) & (ctx->nkidx - 1);
}

static void kidx_put(struct ipsec_ctx *ctx, struct ipsec_sa *sa) {
  size_t b = kbucket(ctx, sa->dir, (uint8_t)sa->proto, sa->spi);
  sa->knext = ctx->kidx[b];
  ctx->kidx[b] = sa;
}

/* kidx_room: room for one more SA (at most one a bucket on average); false
 * only when there is no index at all and no memory for one. */
static bool kidx_room(struct ipsec_ctx *ctx) {
  if (ctx->nsa < ctx->nkidx) return true;
  size_t n = ctx->nkidx ? ctx->nkidx * 2 : 64;
  struct ipsec_sa **k = calloc(n, sizeof(*k));
  if (k == NULL) return ctx->nkidx > 0; /* longer chains, still correct */
  free(ctx->kidx);
  ctx->kidx = k;
  ctx->nkidx = n;
  for (struct ipsec_sa *sa = ctx->all; sa != NULL; sa = sa->lnext) sa->knext = NULL;
  /* oldest first, so that each chain stays newest first */
  struct ipsec_sa *last = ctx->all;
  while (last != NULL && last->lnext != NULL) last = last->lnext;
  for (struct ipsec_sa *sa = last; sa != NULL; sa = sa->lprev) kidx_put(ctx, sa);
  return true;
}

static void kidx_del(struct ipsec_ctx *ctx, struct ipsec_sa *sa) {
  struct ipsec_sa **pp = &ctx->kidx[kbucket(ctx, sa->dir, (uint8_t)sa->proto, sa->spi)];
  while (*pp != NULL && *pp != sa) pp = &(*pp)->knext;
  if (*pp == sa) *pp = sa->knext;
  sa->knext = NULL;
}

void ipsi_sa_ref(struct ipsec_sa *sa) {
  atomic_fetch_add_explicit(&sa->refs, 1, memory_order_relaxed);
}

static void sa_free(struct ipsec_sa *sa) {
  ocf_sid_t sid = atomic_load(&sa->sid);
  if (!sa->ctx->direct && sid != 0) {
    int rc = ocf_freesession(sid);
    if (rc != 0) ocf_log(1, "ipsec: freeing SA %#x's session: %s", sa->spi, ocf_strerror(rc));
  }
  if (sa->direct) ipsi_direct_sa_free(sa);
  ipsi_replay_free(sa);
  free(atomic_load(&sa->in_pols)); /* a context freed with its policies */
  OPENSSL_cleanse(sa, sizeof(*sa));
  free(sa);
}

void ipsi_sa_unref(struct ipsec_sa *sa) {
  if (atomic_fetch_sub_explicit(&sa->refs, 1, memory_order_acq_rel) == 1) sa_free(sa);
}

static void build_chain(struct ipsec_sa *sa, const struct ipsec_sa_params *p,
                        const struct enc_def *e, const struct auth_def *a) {
  sa->nsp = 0;
  if (sa->kind == XF_COMP) {
    sa->sp[0] = (struct ocf_sessparam){.alg = OCF_ALG_DEFLATE, .level = sa->comp_level};
    sa->nsp = 1;
    return;
  }
  if (e != NULL && e->alg != OCF_ALG_NONE) {
    struct ocf_sessparam *s = &sa->sp[sa->nsp++];
    memcpy(sa->ckey, p->enc_key, p->enc_key_len - e->salt);
    sa->ckeylen = p->enc_key_len - e->salt;
    *s = (struct ocf_sessparam){
        .alg = e->alg, .key = sa->ckey, .keylen = sa->ckeylen, .ivlen = e->sess_iv};
    if (e->kind == XF_AEAD || e->kind == XF_GMAC) s->maclen = e->icv;
    memcpy(sa->salt, p->enc_key + sa->ckeylen, e->salt);
  }
  if (a != NULL) {
    memcpy(sa->mkey, p->auth_key, p->auth_key_len);
    sa->mkeylen = p->auth_key_len;
    sa->sp[sa->nsp++] = (struct ocf_sessparam){
        .alg = a->alg, .key = sa->mkey, .keylen = sa->mkeylen, .maclen = a->icv};
  }
  for (int i = 0; i + 1 < sa->nsp; i++) sa->sp[i].next = &sa->sp[i + 1];
}

int ipsec_sa_add(struct ipsec_ctx *ctx, const struct ipsec_sa_params *p, struct ipsec_sa **out,
                 char *eb, size_t el) {
  if (eb != NULL && el > 0) eb[0] = 0;
  if (ctx == NULL || p == NULL) return bad(eb, el, "NULL context or parameters");
  const struct enc_def *e;
  const struct auth_def *a;
  int rc = check_params(p, &e, &a, eb, el);
  if (rc != 0) return rc;
  struct ipsec_sa *sa = calloc(1, sizeof(*sa));
  if (sa == NULL) return ENOMEM;
  sa->ctx = ctx;
  sa->proto = p->proto;
  sa->dir = p->dir;
  sa->mode = p->mode;
  sa->spi = p->spi;
  sa->src = p->src;
  sa->dst = p->dst;
  sa->enc = p->enc;
  sa->auth = p->auth;
  sa->comp = p->comp;
  sa->flags = p->flags;
  sa->sport = p->encap_sport ? p->encap_sport : ENCAP_PORT;
  sa->dport = p->encap_dport ? p->encap_dport : ENCAP_PORT;
  sa->ttl = p->ttl;
  sa->comp_level = p->comp_level ? p->comp_level : 1;
  sa->comp_threshold = p->comp_threshold ? p->comp_threshold : 90;
  sa->iv_fn = p->iv_fn;
  sa->iv_arg = p->iv_arg;
  sa->soft = p->soft;
  sa->hard = p->hard;
  sa->limited = p->hard.packets || p->hard.bytes || p->hard.seconds || p->soft.packets ||
                p->soft.bytes || p->soft.seconds;
  sa->created_ns = ipsi_now_ns();
  if (p->name != NULL) snprintf(sa->name, sizeof(sa->name), "%s", p->name);
  if (p->proto == IPSEC_PROTO_IPCOMP) {
    sa->kind = XF_COMP;
    sa->calg = OCF_ALG_DEFLATE;
    sa->block = 1;
  } else if (p->proto == IPSEC_PROTO_AH) {
    sa->kind = XF_MAC;
    sa->malg = a->alg;
    sa->icvlen = a->icv;
    sa->block = 4;
  } else {
    sa->kind = e->kind == XF_CIPHER && a != NULL ? XF_CIPHER_MAC : e->kind;
    if (e->kind == XF_GMAC)
      sa->malg = e->alg;
    else
      sa->calg = e->alg;
    if (a != NULL) sa->malg = a->alg;
    sa->ivlen = e->iv;
    sa->icvlen = a != NULL ? a->icv : e->icv;
    sa->cblock = e->cblock;
    sa->block = e->cblock > 4 ? e->cblock : 4;
    sa->saltlen = e->salt;
    sa->iv_random = e->id == IPSEC_ENC_AES_CBC || e->id == IPSEC_ENC_3DES_CBC;
    if (sa->kind == XF_CIPHER)
      ocf_log(1, "ipsec: SA %#x has confidentiality without integrity (RFC 4303 3.2)", p->spi);
  }
  build_chain(sa, p, e, a);
  atomic_init(&sa->refs, 1);
  atomic_init(&sa->seq_out, p->dir == IPSEC_DIR_OUT && p->seq ? p->seq - 1 : 0);
  sa->ro_next = p->dir == IPSEC_DIR_OUT && p->seq ? p->seq : 1;
  atomic_flag_clear(&sa->ro_lock.f);
  atomic_flag_clear(&sa->rp_lock.f);
  atomic_init(&sa->pmtu, p->pmtu ? p->pmtu : 1500);
  uint32_t id0 = 0;
  if (RAND_bytes((unsigned char *)&id0, sizeof(id0)) != 1) id0 = (uint32_t)ipsi_now_ns();
  atomic_init(&sa->ip_id, id0);
  if (p->dir == IPSEC_DIR_IN && p->proto != IPSEC_PROTO_IPCOMP &&
      !(p->flags & IPSEC_SA_NO_REPLAY)) {
    rc = ipsi_replay_init(sa, p->replay_window ? p->replay_window : IPSEC_REPLAY_DEFAULT, p->seq);
  } else {
    rc = ipsi_replay_init(sa, 0, p->seq); /* still tracks the top, for ESN inference */
  }
  if (rc != 0) {
    sa_free(sa);
    return rc;
  }
  if (ctx->direct) {
    rc = ipsi_direct_sa_init(sa);
    if (rc != 0) {
      sa_free(sa);
      bad(eb, el, "OpenSSL cannot set up the transform (%s)", strerror(rc));
      return rc;
    }
  } else {
    ocf_sid_t sid = 0;
    rc = ocf_newsession(&sid, &sa->sp[0], p->ocf_flags);
    if (rc != 0) {
      if (eb != NULL && el > 0) snprintf(eb, el, "no OCF session: %s", ocf_errdetail());
      sa_free(sa);
      return rc;
    }
    atomic_init(&sa->sid, sid);
    atomic_init(&sa->hw, sid_hw(sid));
    /* keys live in the session now */
    OPENSSL_cleanse(sa->ckey, sizeof(sa->ckey));
    OPENSSL_cleanse(sa->mkey, sizeof(sa->mkey));
  }
  ipsi_sa_mtu_refresh(sa);
  pthread_mutex_lock(&ctx->lock);
  if (!kidx_room(ctx)) {
    pthread_mutex_unlock(&ctx->lock);
    sa_free(sa);
    bad(eb, el, "out of memory for the SA index");
    return ENOMEM;
  }
  if (sa->dir == IPSEC_DIR_IN) {
    for (struct ipsec_sa *o = ctx->kidx[kbucket(ctx, sa->dir, (uint8_t)sa->proto, sa->spi)];
         o != NULL; o = o->knext) {
      if (o->dir == IPSEC_DIR_IN && o->proto == sa->proto && o->spi == sa->spi &&
          (o->dst.family == 0 || sa->dst.family == 0 || ipsi_addr_eq(&o->dst, &sa->dst))) {
        pthread_mutex_unlock(&ctx->lock);
        sa_free(sa);
        bad(eb, el, "an inbound SA with SPI %#x and that destination exists", p->spi);
        return EEXIST;
      }
    }
    unsigned b = bucket((uint8_t)sa->proto, sa->spi);
    atomic_store_explicit(&sa->hnext, atomic_load(&ctx->sad[b]), memory_order_relaxed);
    atomic_store_explicit(&ctx->sad[b], sa, memory_order_release);
  }
  sa->lnext = ctx->all;
  sa->lprev = NULL;
  if (ctx->all != NULL) ctx->all->lprev = sa;
  ctx->all = sa;
  kidx_put(ctx, sa);
  sa->in_table = true;
  ctx->nsa++;
  pthread_mutex_unlock(&ctx->lock);
  if (out != NULL) *out = sa;
  return 0;
}

int ipsec_sa_del(struct ipsec_ctx *ctx, struct ipsec_sa *sa) {
  if (ctx == NULL || sa == NULL || sa->ctx != ctx) return EINVAL;
  pthread_mutex_lock(&ctx->lock);
  if (!sa->in_table) {
    pthread_mutex_unlock(&ctx->lock);
    return ENOENT;
  }
  if (sa->npolicies > 0) {
    pthread_mutex_unlock(&ctx->lock);
    return EBUSY;
  }
  if (sa->dir == IPSEC_DIR_IN) {
    unsigned b = bucket((uint8_t)sa->proto, sa->spi);
    _Atomic(struct ipsec_sa *) *pp = &ctx->sad[b];
    for (struct ipsec_sa *x; (x = atomic_load(pp)) != NULL; pp = &x->hnext) {
      if (x == sa) {
        atomic_store_explicit(pp, atomic_load(&sa->hnext), memory_order_release);
        break;
      }
    }
  }
  if (sa->lprev != NULL)
    sa->lprev->lnext = sa->lnext;
  else
    ctx->all = sa->lnext;
  if (sa->lnext != NULL) sa->lnext->lprev = sa->lprev;
  kidx_del(ctx, sa);
  sa->in_table = false;
  ctx->nsa--;
  pthread_mutex_unlock(&ctx->lock);
  ipsi_rcu_synchronize(); /* no lookup still walks past it */
  ipsi_sa_unref(sa);
  return 0;
}

struct ipsec_sa *ipsi_sa_lookup_in(struct ipsec_ctx *ctx, uint8_t proto, uint32_t spi,
                                   const struct ipsec_addr *src, const struct ipsec_addr *dst) {
  unsigned b = bucket(proto, spi);
  for (struct ipsec_sa *sa = atomic_load_explicit(&ctx->sad[b], memory_order_acquire); sa != NULL;
       sa = atomic_load_explicit(&sa->hnext, memory_order_acquire)) {
    if (sa->spi != spi || (uint8_t)sa->proto != proto) continue;
    if (sa->dst.family != 0 && dst != NULL && !ipsi_addr_eq(&sa->dst, dst)) continue;
    if (sa->mode == IPSEC_MODE_TUNNEL && src != NULL && sa->src.family != 0 &&
        !ipsi_addr_eq(&sa->src, src))
      continue;
    ipsi_sa_ref(sa);
    return sa;
  }
  return NULL;
}

struct ipsec_sa *ipsi_sa_find_ipcomp_tunnel(struct ipsec_ctx *ctx, const struct ipsec_addr *src,
                                            const struct ipsec_addr *dst) {
  struct ipsec_sa *found = NULL;
  pthread_mutex_lock(&ctx->lock);
  for (struct ipsec_sa *sa = ctx->all; sa != NULL; sa = sa->lnext) {
    if (sa->dir == IPSEC_DIR_IN && sa->proto == IPSEC_PROTO_IPCOMP &&
        sa->mode == IPSEC_MODE_TUNNEL && ipsi_addr_eq(&sa->dst, dst) &&
        (sa->src.family == 0 || ipsi_addr_eq(&sa->src, src))) {
      found = sa;
      ipsi_sa_ref(sa);
      break;
    }
  }
  pthread_mutex_unlock(&ctx->lock);
  return found;
}

struct ipsec_sa *ipsec_sa_find(struct ipsec_ctx *ctx, enum ipsec_dir dir, enum ipsec_proto proto,
                               uint32_t spi, const struct ipsec_addr *dst) {
  if (ctx == NULL) return NULL;
  struct ipsec_sa *found = NULL;
  pthread_mutex_lock(&ctx->lock);
  for (struct ipsec_sa *sa = ctx->nkidx ? ctx->kidx[kbucket(ctx, dir, (uint8_t)proto, spi)] : NULL;
       sa != NULL && found == NULL; sa = sa->knext)
    if (sa->dir == dir && sa->proto == proto && sa->spi == spi &&
        (dst == NULL || dst->family == 0 || ipsi_addr_eq(&sa->dst, dst)))
      found = sa;
  pthread_mutex_unlock(&ctx->lock);
  return found;
}

/* --- lifetimes ---------------------------------------------------------------------- */

void ipsi_sa_event(struct ipsec_sa *sa, enum ipsec_event ev) {
  const char *what = ev == IPSEC_EV_SOFT_EXPIRED   ? "reached its soft lifetime"
                     : ev == IPSEC_EV_HARD_EXPIRED ? "expired (hard lifetime)"
                                                   : "moved to another producer";
  ocf_log(ev == IPSEC_EV_MIGRATED ? 3 : 2, "ipsec: SA %s%s%#x %s", sa->name, sa->name[0] ? " " : "",
          sa->spi, what);
  if (sa->ctx->opts.event != NULL) sa->ctx->opts.event(sa->ctx->opts.event_arg, sa, ev);
}

static bool over(uint64_t limit, uint64_t used) { return limit != 0 && used > limit; }

static void soft_check(struct ipsec_sa *sa, uint64_t pk, uint64_t by) {
  bool hit = over(sa->soft.packets, pk - 1) || over(sa->soft.bytes, by) ||
             (sa->soft.seconds && ipsi_now_ns() - sa->created_ns >= sa->soft.seconds * 1000000000u);
  if (hit && !atomic_load_explicit(&sa->soft_fired, memory_order_relaxed) &&
      !atomic_exchange(&sa->soft_fired, true))
    ipsi_sa_event(sa, IPSEC_EV_SOFT_EXPIRED);
}

static enum ipsec_verdict hard_hit(struct ipsec_sa *sa) {
  if (!atomic_exchange(&sa->hard_fired, true)) ipsi_sa_event(sa, IPSEC_EV_HARD_EXPIRED);
  return IPSEC_DROP_EXPIRED;
}

static bool timed_out(const struct ipsec_sa *sa) {
  return sa->hard.seconds && ipsi_now_ns() - sa->created_ns >= sa->hard.seconds * 1000000000u;
}

enum ipsec_verdict ipsi_sa_life_out(struct ipsec_sa *sa, size_t len) {
  if (!sa->limited) return IPSEC_OK; /* use is read from the counters */
  if (atomic_load_explicit(&sa->hard_fired, memory_order_relaxed)) return IPSEC_DROP_EXPIRED;
  bool limited = true;
  uint64_t pk = atomic_fetch_add_explicit(&sa->life_packets, 1, memory_order_relaxed) + 1;
  uint64_t by = atomic_fetch_add_explicit(&sa->life_bytes, len, memory_order_relaxed) + len;
  if (!limited) return IPSEC_OK;
  if (over(sa->hard.packets, pk) || over(sa->hard.bytes, by) || timed_out(sa)) {
    /* not sent: give the charge back so that "used" stays what was used */
    atomic_fetch_sub_explicit(&sa->life_packets, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&sa->life_bytes, len, memory_order_relaxed);
    return hard_hit(sa);
  }
  soft_check(sa, pk, by);
  return IPSEC_OK;
}

enum ipsec_verdict ipsi_sa_life_in(struct ipsec_sa *sa, size_t len, bool charge) {
  if (!sa->limited) return IPSEC_OK; /* use is read from the counters */
  if (atomic_load_explicit(&sa->hard_fired, memory_order_relaxed)) return IPSEC_DROP_EXPIRED;
  bool limited = true;
  if (!charge) {
    if (!limited) return IPSEC_OK;
    uint64_t pk = atomic_load_explicit(&sa->life_packets, memory_order_relaxed);
    uint64_t by = atomic_load_explicit(&sa->life_bytes, memory_order_relaxed);
    if ((sa->hard.packets && pk >= sa->hard.packets) || (sa->hard.bytes && by >= sa->hard.bytes) ||
        timed_out(sa))
      return hard_hit(sa);
    return IPSEC_OK;
  }
  uint64_t pk = atomic_fetch_add_explicit(&sa->life_packets, 1, memory_order_relaxed) + 1;
  uint64_t by = atomic_fetch_add_explicit(&sa->life_bytes, len, memory_order_relaxed) + len;
  if (!limited) return IPSEC_OK;
  if (over(sa->hard.packets, pk) || over(sa->hard.bytes, by)) {
    atomic_fetch_sub_explicit(&sa->life_packets, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&sa->life_bytes, len, memory_order_relaxed);
    return hard_hit(sa);
  }
  soft_check(sa, pk, by);
  return IPSEC_OK;
}

/* --- MTU and overhead ----------------------------------------------------------------- */

size_t ipsec_sa_overhead(const struct ipsec_sa *sa, size_t inner_len) {
  if (sa == NULL) return 0;
  switch (sa->proto) {
    case IPSEC_PROTO_ESP:
      return ipsi_esp_overhead(sa, inner_len);
    case IPSEC_PROTO_AH: {
      uint8_t ver = sa->mode == IPSEC_MODE_TUNNEL && sa->dst.family == AF_INET6 ? 6 : 4;
      if (sa->mode == IPSEC_MODE_TRANSPORT && sa->dst.family == AF_INET6) ver = 6;
      return outer_len(sa) + ipsi_ah_len(sa, ver);
    }
    default:
      return 0; /* IPcomp never grows a packet (RFC 3173 2.2) */
  }
}

/* The largest inner packet that sa turns into at most mtu bytes. */
static uint32_t sa_fit(const struct ipsec_sa *sa, uint32_t mtu) {
  if (sa->proto == IPSEC_PROTO_IPCOMP) return mtu;
  uint32_t lo = 0, hi = mtu;
  while (lo < hi) { /* overhead grows with the length (padding): bisect */
    uint32_t mid = lo + (hi - lo + 1) / 2;
    if (mid + ipsec_sa_overhead(sa, mid) <= mtu)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

void ipsi_sa_mtu_refresh(struct ipsec_sa *sa) {
  atomic_store(&sa->mtu, sa_fit(sa, atomic_load(&sa->pmtu)));
}

void ipsec_sa_set_pmtu(struct ipsec_sa *sa, uint32_t pmtu) {
  if (sa == NULL || pmtu < 68) return;
  atomic_store(&sa->pmtu, pmtu);
  ipsi_sa_mtu_refresh(sa);
}

uint32_t ipsec_chain_mtu(struct ipsec_sa *const *chain, int n, uint32_t link_mtu) {
  if (chain == NULL || n <= 0 || n > IPSEC_MAX_CHAIN) return link_mtu;
  uint32_t m = link_mtu ? link_mtu : atomic_load(&chain[n - 1]->pmtu);
  for (int i = n - 1; i >= 0; i--) m = sa_fit(chain[i], m);
  return m;
}

void ipsec_pmtu_update(struct ipsec_sa *const *chain, int n, uint32_t mtu) {
  if (chain == NULL || n <= 0 || n > IPSEC_MAX_CHAIN || mtu < 68) return;
  uint32_t m = mtu;
  for (int i = n - 1; i >= 0; i--) {
    atomic_store(&chain[i]->pmtu, m);
    ipsi_sa_mtu_refresh(chain[i]);
    m = atomic_load(&chain[i]->mtu);
  }
}
