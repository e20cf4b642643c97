/*
 * mac.c - HMAC through EVP_MAC.
 *
 * As for digests (digest.c), the path is chosen at the first update: the
 * framework path keeps the message and sends it with the key's session at
 * the final call; the inline path is the default provider's HMAC, which
 * also receives every parameter (so it checks them and answers for
 * tls-data-size, libssl's constant-time MAC of CBC records, which the
 * framework does not do: such a context always runs inline).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "provider/delegate.h"
#include "provider/prov.h"

enum { H_NONE = 0, H_INLINE, H_KEEP };

struct hmctx {
  struct ocfprov *p;
  void *dctx;       /* the default provider's HMAC */
  enum ocf_alg alg; /* OCF_ALG_HMAC_*, or NONE for a digest the framework lacks */
  size_t size;      /* MAC bytes */
  uint8_t *key;
  size_t keylen;
  bool key_set;
  bool tls; /* tls-data-size given: inline only */
  int mode;
  uint8_t *buf;
  size_t len, cap;
  struct dticket t;
  uint64_t spent;
  struct osess *sess;
  int sess_err;
};

static _Atomic(const OSSL_DISPATCH *) hmac_disp;
static OSSL_FUNC_mac_newctx_fn *d_newctx;
static OSSL_FUNC_mac_dupctx_fn *d_dupctx;
static OSSL_FUNC_mac_freectx_fn *d_freectx;
static OSSL_FUNC_mac_init_fn *d_init;
static OSSL_FUNC_mac_update_fn *d_update;
static OSSL_FUNC_mac_final_fn *d_final;
static OSSL_FUNC_mac_get_ctx_params_fn *d_get_ctx_params;
static OSSL_FUNC_mac_set_ctx_params_fn *d_set_ctx_params;
static pthread_once_t fns_once = PTHREAD_ONCE_INIT;

static void fns_load(void) {
  const OSSL_DISPATCH *d = atomic_load(&hmac_disp);
  d_newctx = (OSSL_FUNC_mac_newctx_fn *)dl_fn(d, OSSL_FUNC_MAC_NEWCTX);
  d_dupctx = (OSSL_FUNC_mac_dupctx_fn *)dl_fn(d, OSSL_FUNC_MAC_DUPCTX);
  d_freectx = (OSSL_FUNC_mac_freectx_fn *)dl_fn(d, OSSL_FUNC_MAC_FREECTX);
  d_init = (OSSL_FUNC_mac_init_fn *)dl_fn(d, OSSL_FUNC_MAC_INIT);
  d_update = (OSSL_FUNC_mac_update_fn *)dl_fn(d, OSSL_FUNC_MAC_UPDATE);
  d_final = (OSSL_FUNC_mac_final_fn *)dl_fn(d, OSSL_FUNC_MAC_FINAL);
  d_get_ctx_params = (OSSL_FUNC_mac_get_ctx_params_fn *)dl_fn(d, OSSL_FUNC_MAC_GET_CTX_PARAMS);
  d_set_ctx_params = (OSSL_FUNC_mac_set_ctx_params_fn *)dl_fn(d, OSSL_FUNC_MAC_SET_CTX_PARAMS);
}

static void *hm_newctx(void *provctx) {
  struct ocfprov *p = provctx;
  if (!ocfprov_usable(p)) return NULL;
  if (dl_dispatch(p, OSSL_OP_MAC, "HMAC", &hmac_disp) == NULL) {
    ocfprov_err(p, OCFPROV_R_DELEGATE, "the default provider has no HMAC");
    return NULL;
  }
  pthread_once(&fns_once, fns_load);
  if (d_newctx == NULL || d_init == NULL || d_update == NULL || d_final == NULL ||
      d_set_ctx_params == NULL || d_get_ctx_params == NULL || d_dupctx == NULL) {
    ocfprov_err(p, OCFPROV_R_DELEGATE, "the default provider's HMAC lacks a function");
    return NULL;
  }
  struct hmctx *c = zalloc(sizeof(*c));
  if (c == NULL) return NULL;
  c->p = p;
  c->dctx = d_newctx(dl_provctx(p));
  if (c->dctx == NULL) {
    free(c);
    return NULL;
  }
  return c;
}

static void hm_freectx(void *vctx) {
  struct hmctx *c = vctx;
  if (c == NULL) return;
  d_freectx(c->dctx);
  wipe_free(c->key, c->keylen);
  wipe_free(c->buf, c->cap);
  be_freesession(c->sess);
  OPENSSL_cleanse(c, sizeof(*c));
  free(c);
}

static void *hm_dupctx(void *vctx) {
  struct hmctx *src = vctx;
  struct hmctx *c = malloc(sizeof(*c));
  if (c == NULL) return NULL;
  *c = *src;
  c->sess = NULL;
  c->sess_err = 0;
  c->key = NULL;
  c->buf = NULL;
  c->dctx = d_dupctx(src->dctx);
  if (src->keylen) c->key = malloc(src->keylen);
  if (src->cap) c->buf = malloc(src->cap);
  if (c->dctx == NULL || (src->keylen && c->key == NULL) || (src->cap && c->buf == NULL)) {
    if (c->dctx) d_freectx(c->dctx);
    free(c->key);
    free(c->buf);
    free(c);
    return NULL;
  }
  if (src->keylen) memcpy(c->key, src->key, src->keylen);
  if (src->len) memcpy(c->buf, src->buf, src->len);
  return c;
}

/* alg_for maps a digest name to the framework's HMAC. */
static enum ocf_alg alg_for(const char *md, size_t *size) {
  static const struct {
    const char *names;
    enum ocf_alg alg;
    size_t size;
  } tab[] = {
      {"SHA1:SHA-1:SSL3-SHA1:1.3.14.3.2.26", OCF_ALG_HMAC_SHA1, 20},
      {"SHA2-224:SHA-224:SHA224:2.16.840.1.101.3.4.2.4", OCF_ALG_HMAC_SHA2_224, 28},
      {"SHA2-256:SHA-256:SHA256:2.16.840.1.101.3.4.2.1", OCF_ALG_HMAC_SHA2_256, 32},
      {"SHA2-384:SHA-384:SHA384:2.16.840.1.101.3.4.2.2", OCF_ALG_HMAC_SHA2_384, 48},
      {"SHA2-512:SHA-512:SHA512:2.16.840.1.101.3.4.2.3", OCF_ALG_HMAC_SHA2_512, 64},
  };
  for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
    const char *s = tab[i].names;
    size_t n = strlen(md);
    while (*s) {
      const char *e = strchr(s, ':');
      size_t l = e ? (size_t)(e - s) : strlen(s);
      if (l == n && strncasecmp(s, md, n) == 0) {
        *size = tab[i].size;
        return tab[i].alg;
      }
      s = e ? e + 1 : s + l;
    }
  }
  return OCF_ALG_NONE;
}

static int set_key(struct hmctx *c, const uint8_t *key, size_t keylen) {
  uint8_t *k = malloc(keylen ? keylen : 1);
  if (k == NULL) return 0;
  if (keylen) memcpy(k, key, keylen);
  wipe_free(c->key, c->keylen);
  c->key = k;
  c->keylen = keylen;
  c->key_set = true;
  be_freesession(c->sess);
  c->sess = NULL;
  c->sess_err = 0;
  return 1;
}

static int hm_set_ctx_params(void *vctx, const OSSL_PARAM params[]) {
  struct hmctx *c = vctx;
  if (params == NULL) return 1;
  /* The default provider's HMAC gets everything but "properties": a
   * property query of the application (provider=ocf) would find nothing in
   * the private library context, which holds the default provider only. */
  OSSL_PARAM fw[16];
  int n = 0;
  for (const OSSL_PARAM *q = params; q->key != NULL && n < 15; q++)
    if (strcmp(q->key, OSSL_MAC_PARAM_PROPERTIES) != 0) fw[n++] = *q;
  fw[n] = OSSL_PARAM_construct_end();
  if (!d_set_ctx_params(c->dctx, fw)) return 0;
  const OSSL_PARAM *q;
  if ((q = OSSL_PARAM_locate_const(params, OSSL_MAC_PARAM_DIGEST)) != NULL) {
    const char *md;
    if (!OSSL_PARAM_get_utf8_string_ptr(q, &md)) return 0;
    c->alg = alg_for(md, &c->size);
    be_freesession(c->sess);
    c->sess = NULL;
    c->sess_err = 0;
  }
  if ((q = OSSL_PARAM_locate_const(params, OSSL_MAC_PARAM_KEY)) != NULL &&
      (q->data_type != OSSL_PARAM_OCTET_STRING || !set_key(c, q->data, q->data_size)))
    return 0;
  if (OSSL_PARAM_locate_const(params, OSSL_MAC_PARAM_TLS_DATA_SIZE) != NULL) c->tls = true;
  return 1;
}

static int hm_init(void *vctx, const unsigned char *key, size_t keylen, const OSSL_PARAM params[]) {
  struct hmctx *c = vctx;
  if (!hm_set_ctx_params(c, params)) return 0;
  if (!d_init(c->dctx, key, keylen, NULL)) return 0;
  if (key != NULL && !set_key(c, key, keylen)) return 0;
  c->mode = H_NONE;
  c->len = 0;
  c->spent = 0;
  return 1;
}

static int go_inline(struct hmctx *c) {
  if (c->mode == H_KEEP && c->len > 0 && !d_update(c->dctx, c->buf, c->len)) return 0;
  c->mode = H_INLINE;
  return 1;
}

static int keep(struct hmctx *c, const uint8_t *in, size_t n) {
  if (c->len + n > c->cap) {
    size_t cap = c->cap ? c->cap : 1024;
    while (cap < c->len + n) cap *= 2;
    uint8_t *b = malloc(cap);
    if (b == NULL) return 0;
    if (c->len) memcpy(b, c->buf, c->len);
    wipe_free(c->buf, c->cap);
    c->buf = b;
    c->cap = cap;
  }
  memcpy(c->buf + c->len, in, n);
  c->len += n;
  return 1;
}

static int hm_update(void *vctx, const unsigned char *in, size_t inl) {
  struct hmctx *c = vctx;
  if (c->mode == H_INLINE) {
    STAT_ADD_LOOSE(c->p, in_bytes, inl);
    return d_update(c->dctx, in, inl);
  }
  if (inl == 0) return 1;
  uint64_t t0 = 0;
  if (c->mode == H_NONE) {
    bool ok = c->alg != OCF_ALG_NONE && c->key_set && c->keylen <= 1024 && !c->tls &&
              c->sess_err == 0 && inl <= c->p->conf.digest_max && be_available(c->p);
    enum opath path = dec_choose(c->p, FAM_HMAC, inl, ok, &c->t);
    t0 = c->t.t0; /* (set when the ticket is timed) */
    if (path == PATH_INLINE) {
      c->mode = H_INLINE;
      int r = d_update(c->dctx, in, inl);
      STAT_ADD_LOOSE(c->p, in_bytes, inl);
      if (c->t.timed) c->spent += now_ns() - t0;
      return r;
    }
    c->mode = H_KEEP;
  } else if (c->t.timed) {
    t0 = now_ns();
  }
  if (c->len + inl > c->p->conf.digest_max || !keep(c, in, inl)) {
    c->t.timed = false;
    return go_inline(c) && d_update(c->dctx, in, inl);
  }
  if (c->t.timed) c->spent += now_ns() - t0;
  return 1;
}

static int fw_mac(struct hmctx *c, uint8_t *out, struct bstat *bs) {
  if (c->sess == NULL) {
    if (c->sess_err != 0) return c->sess_err;
    struct ocf_sessparam sp = {.alg = c->alg, .key = c->key, .keylen = c->keylen};
    int rc = be_newsession(c->p, &sp, &c->sess);
    if (rc != 0) return c->sess_err = rc;
  }
  struct iovec seg[2] = {{c->buf, c->len}, {out, c->size}};
  struct ocf_desc d = {.alg = c->alg, .len = c->len, .inject = c->len};
  return be_crypt(c->sess, &d, 1, seg, 2, bs);
}

static int hm_final(void *vctx, unsigned char *out, size_t *outl, size_t outsize) {
  struct hmctx *c = vctx;
  uint64_t t0 = c->t.timed ? now_ns() : 0;
  if (c->mode == H_KEEP) {
    if (outsize < c->size) {
      ocfprov_err(c->p, OCFPROV_R_OUT_TOO_SMALL, "%zu bytes for a %zu-byte MAC", outsize, c->size);
      return 0;
    }
    struct bstat bs;
    int rc = fw_mac(c, out, &bs);
    if (rc == 0) {
      if (c->t.timed) {
        c->t.t0 = now_ns() - (c->spent + (now_ns() - t0));
        dec_done(c->p, &c->t, &bs);
      }
      c->mode = H_NONE;
      c->len = 0;
      *outl = c->size;
      return 1;
    }
    STAT_ADD(c->p, fallbacks, 1);
    c->t.timed = false;
  }
  if (!go_inline(c)) return 0;
  int r = d_final(c->dctx, out, outl, outsize);
  STAT_ADD_LOOSE(c->p, in_req, 1);
  if (c->t.timed) {
    c->t.t0 = now_ns() - (c->spent + (now_ns() - t0));
    dec_done(c->p, &c->t, NULL);
  }
  c->mode = H_NONE;
  c->len = 0;
  return r;
}

static int hm_get_ctx_params(void *vctx, OSSL_PARAM params[]) {
  struct hmctx *c = vctx;
  return d_get_ctx_params(c->dctx, params);
}

static const OSSL_PARAM hm_gettable[] = {OSSL_PARAM_size_t(OSSL_MAC_PARAM_SIZE, NULL),
                                         OSSL_PARAM_size_t(OSSL_MAC_PARAM_BLOCK_SIZE, NULL),
                                         OSSL_PARAM_END};
static const OSSL_PARAM hm_settable[] = {OSSL_PARAM_utf8_string(OSSL_MAC_PARAM_DIGEST, NULL, 0),
                                         OSSL_PARAM_utf8_string(OSSL_MAC_PARAM_PROPERTIES, NULL, 0),
                                         OSSL_PARAM_octet_string(OSSL_MAC_PARAM_KEY, NULL, 0),
                                         OSSL_PARAM_int(OSSL_MAC_PARAM_DIGEST_NOINIT, NULL),
                                         OSSL_PARAM_int(OSSL_MAC_PARAM_DIGEST_ONESHOT, NULL),
                                         OSSL_PARAM_size_t(OSSL_MAC_PARAM_TLS_DATA_SIZE, NULL),
                                         OSSL_PARAM_END};

static const OSSL_PARAM *hm_gettable_ctx(void *cctx, void *provctx) { return hm_gettable; }
static const OSSL_PARAM *hm_settable_ctx(void *cctx, void *provctx) { return hm_settable; }

static const OSSL_DISPATCH hmac_functions[] = {
    {OSSL_FUNC_MAC_NEWCTX, (void (*)(void))hm_newctx},
    {OSSL_FUNC_MAC_DUPCTX, (void (*)(void))hm_dupctx},
    {OSSL_FUNC_MAC_FREECTX, (void (*)(void))hm_freectx},
    {OSSL_FUNC_MAC_INIT, (void (*)(void))hm_init},
    {OSSL_FUNC_MAC_UPDATE, (void (*)(void))hm_update},
    {OSSL_FUNC_MAC_FINAL, (void (*)(void))hm_final},
    {OSSL_FUNC_MAC_GETTABLE_CTX_PARAMS, (void (*)(void))hm_gettable_ctx},
    {OSSL_FUNC_MAC_GET_CTX_PARAMS, (void (*)(void))hm_get_ctx_params},
    {OSSL_FUNC_MAC_SETTABLE_CTX_PARAMS, (void (*)(void))hm_settable_ctx},
    {OSSL_FUNC_MAC_SET_CTX_PARAMS, (void (*)(void))hm_set_ctx_params},
    {0, NULL}};

const OSSL_ALGORITHM ocfprov_macs[] = {{"HMAC", "provider=ocf", hmac_functions, NULL},
                                       {NULL, NULL, NULL, NULL}};
