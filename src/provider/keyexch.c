/*
 * keyexch.c - ECDH (P-256, P-384) and X25519.  A derivation without a KDF
 * on one of those curves may go to the framework; the default provider's
 * operation on the same keys holds the parameters, checks the peer's key
 * when it is set, and is the inline path.
 */
#include <stdlib.h>
#include <string.h>

#include "provider/pkey.h"

struct xctx {
  struct ocfprov *p;
  enum ktype kt;
  struct okey *key, *peer;
  EVP_PKEY_CTX *d;
};

static void *xc_newctx(void *provctx, enum ktype kt) {
  if (!ocfprov_usable(provctx)) return NULL;
  struct xctx *c = zalloc(sizeof(*c));
  if (c == NULL) return NULL;
  c->p = provctx;
  c->kt = kt;
  return c;
}

static void xc_freectx(void *vctx) {
  struct xctx *c = vctx;
  if (c == NULL) return;
  EVP_PKEY_CTX_free(c->d);
  key_down(c->key);
  key_down(c->peer);
  free(c);
}

static void *xc_dupctx(void *vctx) {
  struct xctx *src = vctx;
  struct xctx *c = malloc(sizeof(*c));
  if (c == NULL) return NULL;
  *c = *src;
  c->d = src->d ? EVP_PKEY_CTX_dup(src->d) : NULL;
  if (src->d != NULL && c->d == NULL) {
    free(c);
    return NULL;
  }
  if (c->key) key_up(c->key);
  if (c->peer) key_up(c->peer);
  return c;
}

static const OSSL_PARAM *no_props(const OSSL_PARAM *params, OSSL_PARAM *buf, size_t n) {
  if (params == NULL) return NULL;
  size_t j = 0;
  for (const OSSL_PARAM *q = params; q->key != NULL && j + 1 < n; q++)
    if (strcmp(q->key, OSSL_EXCHANGE_PARAM_KDF_DIGEST_PROPS) != 0) buf[j++] = *q;
  buf[j] = OSSL_PARAM_construct_end();
  return buf;
}

static int xc_init(void *vctx, void *keydata, const OSSL_PARAM params[]) {
  struct xctx *c = vctx;
  struct okey *k = keydata;
  if (k == NULL || k->type != c->kt || k->pk == NULL) {
    ocfprov_err(c->p, OCFPROV_R_BAD_KEY, "key exchange needs a %s key", key_type_name(c->kt));
    return 0;
  }
  EVP_PKEY_CTX_free(c->d);
  key_down(c->key);
  key_down(c->peer);
  c->peer = NULL;
  key_up(k);
  c->key = k;
  OSSL_PARAM buf[16];
  c->d = dl_pkey_ctx(k);
  return c->d != NULL && EVP_PKEY_derive_init_ex(c->d, no_props(params, buf, 16)) > 0;
}

static int xc_set_peer(void *vctx, void *peerdata) {
  struct xctx *c = vctx;
  struct okey *peer = peerdata;
  if (c->d == NULL || peer == NULL || peer->type != c->kt || peer->pk == NULL) {
    ocfprov_err(c->p, OCFPROV_R_BAD_KEY, "peer key");
    return 0;
  }
  if (EVP_PKEY_derive_set_peer_ex(c->d, peer->pk, 1) <= 0) return 0;
  key_up(peer);
  key_down(c->peer);
  c->peer = peer;
  return 1;
}

/* fw_derive computes the shared secret through the framework into
 * secret[len] (the field's length, big-endian for ECDH). */
static int fw_derive(struct xctx *c, uint8_t *secret, size_t len, struct bstat *bs) {
  const struct kmat *m = key_mat(c->key), *pm = key_mat(c->peer);
  if (m == NULL || pm == NULL) return ENOTSUP;
  struct ocf_kreq k;
  memset(&k, 0, sizeof(k));
  k.iparams = c->kt == K_EC ? 3 : 2;
  k.oparams = 1;
  uint8_t out[48];
  if (c->kt == K_EC) {
    if (m->curve == 0 || m->curve != pm->curve || m->ecd.p == NULL || pm->qx.p == NULL)
      return ENOTSUP;
    k.op = m->curve == 256 ? OCF_KOP_ECDH_P256 : OCF_KOP_ECDH_P384;
    kparam_in(&k.param[0], &m->ecd);
    kparam_in(&k.param[1], &pm->qx);
    kparam_in(&k.param[2], &pm->qy);
    ocf_kparam_out(&k.param[3], out, len);
  } else {
    if (!m->has_raw_priv || !pm->has_raw_pub) return ENOTSUP;
    k.op = OCF_KOP_X25519;
    ocf_kparam_octets(&k.param[0], m->raw_priv, 32);
    ocf_kparam_octets(&k.param[1], pm->raw_pub, 32);
    ocf_kparam_out(&k.param[2], out, 32);
  }
  int rc = be_kop(c->p, &k, bs);
  if (rc == 0) {
    if (c->kt == K_EC)
      rc = ocf_kparam_to_be(&k.param[3], secret, len) != 0 ? EIO : 0;
    else
      memcpy(secret, out, 32);
  }
  OPENSSL_cleanse(out, sizeof(out));
  return rc;
}

static bool has_kdf(struct xctx *c) {
  if (c->kt != K_EC) return false;
  char kdf[32] = "";
  OSSL_PARAM q[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_EXCHANGE_PARAM_KDF_TYPE, kdf, sizeof(kdf)),
      OSSL_PARAM_construct_end()};
  if (!EVP_PKEY_CTX_get_params(c->d, q)) {
    ERR_clear_error();
    return true; /* unknown: let the default provider do it */
  }
  return kdf[0] != '\0';
}

static int xc_derive(void *vctx, unsigned char *secret, size_t *secretlen, size_t outlen) {
  struct xctx *c = vctx;
  if (c->d == NULL || c->peer == NULL) {
    ocfprov_err(c->p, OCFPROV_R_BAD_STATE, "derive without a key and a peer");
    return 0;
  }
  if (secret == NULL) return EVP_PKEY_derive(c->d, NULL, secretlen) > 0;
  const struct kmat *m = key_mat(c->key);
  size_t len = c->kt == K_EC ? (m ? (size_t)m->curve / 8 : 0) : 32;
  struct dticket t;
  bool ok = m != NULL && len > 0 && outlen >= len && be_available(c->p) && !has_kdf(c);
  if (dec_choose(c->p, c->kt == K_EC ? FAM_ECDH : FAM_X25519, len * 8, ok, &t) == PATH_FW) {
    struct bstat bs;
    int rc = fw_derive(c, secret, len, &bs);
    if (rc == 0) {
      dec_done(c->p, &t, &bs);
      *secretlen = len;
      return 1;
    }
    if (rc != ENOTSUP) STAT_ADD(c->p, fallbacks, 1);
    t.timed = false;
  }
  size_t l = outlen;
  int r = EVP_PKEY_derive(c->d, secret, &l);
  STAT_ADD(c->p, in_kreq, 1);
  dec_done(c->p, &t, NULL);
  if (r > 0) *secretlen = l;
  return r > 0;
}

static int xc_set_ctx_params(void *vctx, const OSSL_PARAM params[]) {
  struct xctx *c = vctx;
  if (params == NULL || params[0].key == NULL) return 1;
  OSSL_PARAM buf[16];
  return c->d != NULL && EVP_PKEY_CTX_set_params(c->d, no_props(params, buf, 16));
}

static int xc_get_ctx_params(void *vctx, OSSL_PARAM params[]) {
  struct xctx *c = vctx;
  return c->d != NULL && EVP_PKEY_CTX_get_params(c->d, params);
}

static const OSSL_PARAM *dl_kex_list(int ec, int settable) {
  static _Atomic(const OSSL_PARAM *) lists[2][2];
  const OSSL_PARAM *l = atomic_load(&lists[ec][settable]);
  if (l != NULL) return l;
  OSSL_LIB_CTX *lc = OSSL_LIB_CTX_new();
  EVP_KEYEXCH *x = lc ? EVP_KEYEXCH_fetch(lc, ec ? "ECDH" : "X25519", "provider=default") : NULL;
  if (x != NULL)
    l = settable ? EVP_KEYEXCH_settable_ctx_params(x) : EVP_KEYEXCH_gettable_ctx_params(x);
  EVP_KEYEXCH_free(x);
  OSSL_LIB_CTX_free(lc);
  if (l != NULL) atomic_store(&lists[ec][settable], l);
  return l;
}

#define KEYEXCH(sym, kt, ec)                                                                       \
  static void *sym##_newctx(void *provctx) { return xc_newctx(provctx, kt); }                      \
  static const OSSL_PARAM *sym##_gettable(void *ctx, void *provctx) { return dl_kex_list(ec, 0); } \
  static const OSSL_PARAM *sym##_settable(void *ctx, void *provctx) { return dl_kex_list(ec, 1); } \
  static const OSSL_DISPATCH sym##_functions[] = {                                                 \
      {OSSL_FUNC_KEYEXCH_NEWCTX, (void (*)(void))sym##_newctx},                                    \
      {OSSL_FUNC_KEYEXCH_INIT, (void (*)(void))xc_init},                                           \
      {OSSL_FUNC_KEYEXCH_SET_PEER, (void (*)(void))xc_set_peer},                                   \
      {OSSL_FUNC_KEYEXCH_DERIVE, (void (*)(void))xc_derive},                                       \
      {OSSL_FUNC_KEYEXCH_FREECTX, (void (*)(void))xc_freectx},                                     \
      {OSSL_FUNC_KEYEXCH_DUPCTX, (void (*)(void))xc_dupctx},                                       \
      {OSSL_FUNC_KEYEXCH_SET_CTX_PARAMS, (void (*)(void))xc_set_ctx_params},                       \
      {OSSL_FUNC_KEYEXCH_SETTABLE_CTX_PARAMS, (void (*)(void))sym##_settable},                     \
      {OSSL_FUNC_KEYEXCH_GET_CTX_PARAMS, (void (*)(void))xc_get_ctx_params},                       \
      {OSSL_FUNC_KEYEXCH_GETTABLE_CTX_PARAMS, (void (*)(void))sym##_gettable},                     \
      {0, NULL}};

KEYEXCH(ecdh, K_EC, 1)
KEYEXCH(x25519, K_X25519, 0)

const OSSL_ALGORITHM ocfprov_keyexch[] = {
    {"ECDH", "provider=ocf", ecdh_functions, NULL},
    {"X25519:1.3.101.110", "provider=ocf", x25519_functions, NULL},
    {NULL, NULL, NULL, NULL}};
