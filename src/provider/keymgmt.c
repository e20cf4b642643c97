/*
 * keymgmt.c - key management for RSA, EC, X25519 and Ed25519.
 *
 * Keys live as EVP_PKEYs of the private library context: import, export,
 * generation, checks and parameters are the default provider's, so that a
 * key read by the default provider's decoders moves here (EVP exports it
 * to us when one of our operations is used with it) and back (to its
 * encoders) without a difference.  What the framework's requests need is
 * taken out of the key once (key_mat) and kept, wiped with the key.
 */
#include <openssl/core_object.h>
#include <stdlib.h>
#include <string.h>

#include "provider/pkey.h"

static const char *const type_names[K__COUNT] = {"RSA", "EC", "X25519", "ED25519"};

const char *key_type_name(enum ktype t) { return type_names[t]; }

static struct okey *key_new(struct ocfprov *p, enum ktype t) {
  if (!ocfprov_usable(p)) return NULL;
  struct okey *k = calloc(1, sizeof(*k));
  if (k == NULL) {
    ocfprov_err(p, OCFPROV_R_MALLOC, "key");
    return NULL;
  }
  k->p = p;
  k->type = t;
  atomic_init(&k->refs, 1);
  pthread_mutex_init(&k->lock, NULL);
  return k;
}

static void kint_free(struct kint *ki) {
  if (ki->p != NULL) OPENSSL_clear_free(ki->p, ki->len);
  ki->p = NULL;
}

static void mat_free(struct kmat *m) {
  if (m == NULL) return;
  struct kint *all[] = {&m->n,  &m->e,    &m->d,   &m->p,  &m->q, &m->dp,
                        &m->dq, &m->qinv, &m->ecd, &m->qx, &m->qy};
  for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) kint_free(all[i]);
  OPENSSL_clear_free(m, sizeof(*m));
}

void key_up(struct okey *k) { atomic_fetch_add(&k->refs, 1); }

void key_down(struct okey *k) {
  if (k == NULL || atomic_fetch_sub(&k->refs, 1) != 1) return;
  EVP_PKEY_free(k->pk);
  mat_free(atomic_load(&k->mat));
  pthread_mutex_destroy(&k->lock);
  free(k);
}

/* key_set installs pk (owned from now on) and notes what it holds. */
static void key_set(struct okey *k, EVP_PKEY *pk) {
  EVP_PKEY_free(k->pk);
  mat_free(atomic_exchange(&k->mat, NULL));
  k->pk = pk;
  k->has_priv = k->has_pub = k->has_params = false;
  if (pk == NULL) return;
  BIGNUM *bn = NULL;
  uint8_t buf[64];
  size_t len;
  switch (k->type) {
    case K_RSA:
      k->has_params = true;
      k->has_pub = EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &bn);
      BN_free(bn);
      bn = NULL;
      k->has_priv = EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_D, &bn);
      BN_clear_free(bn);
      break;
    case K_EC:
      k->has_params = EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, (char *)buf,
                                                     sizeof(buf), &len) ||
                      EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_P, &bn);
      BN_free(bn);
      bn = NULL;
      k->has_pub = EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, NULL, 0, &len);
      k->has_priv = EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &bn);
      BN_clear_free(bn);
      break;
    default:
      k->has_params = true;
      k->has_pub = EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, NULL, 0, &len);
      k->has_priv = EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, NULL, 0, &len);
      break;
  }
  ERR_clear_error(); /* the probes for absent parts leave errors behind */
}

EVP_PKEY_CTX *dl_pkey_ctx(struct okey *k) {
  return EVP_PKEY_CTX_new_from_pkey(dl_libctx(k->p), k->pk, "provider=default");
}

/* --- the framework's material ------------------------------------------- */

static int kint_from_bn(struct kint *ki, const BIGNUM *bn, size_t len) {
  ki->len = len ? len : 1;
  ki->p = OPENSSL_zalloc(ki->len);
  if (ki->p == NULL || BN_bn2lebinpad(bn, ki->p, (int)ki->len) < 0) return ENOMEM;
  ki->nbits = (size_t)BN_num_bits(bn);
  return 0;
}

static int get_kint(EVP_PKEY *pk, const char *name, struct kint *ki, size_t len, bool needed) {
  BIGNUM *bn = NULL;
  if (!EVP_PKEY_get_bn_param(pk, name, &bn)) {
    ERR_clear_error();
    return needed ? EINVAL : 0;
  }
  if (len == 0) len = (size_t)BN_num_bytes(bn);
  int rc = kint_from_bn(ki, bn, len);
  BN_clear_free(bn);
  return rc;
}

static int mat_rsa(struct okey *k, struct kmat *m) {
  EVP_PKEY *pk = k->pk;
  int rc = get_kint(pk, OSSL_PKEY_PARAM_RSA_N, &m->n, 0, true);
  if (rc != 0) return rc;
  m->bits = m->n.nbits;
  if ((rc = get_kint(pk, OSSL_PKEY_PARAM_RSA_E, &m->e, 0, true)) != 0) return rc;
  if (!k->has_priv) return 0;
  if ((rc = get_kint(pk, OSSL_PKEY_PARAM_RSA_D, &m->d, m->n.len, true)) != 0) return rc;
  BIGNUM *third = NULL;
  bool multi = EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_FACTOR3, &third);
  BN_clear_free(third);
  ERR_clear_error();
  if (multi) return 0; /* more than two primes: the framework's CRT takes two */
  rc = get_kint(pk, OSSL_PKEY_PARAM_RSA_FACTOR1, &m->p, 0, false);
  if (rc == 0) rc = get_kint(pk, OSSL_PKEY_PARAM_RSA_FACTOR2, &m->q, 0, false);
  if (rc == 0) rc = get_kint(pk, OSSL_PKEY_PARAM_RSA_EXPONENT1, &m->dp, 0, false);
  if (rc == 0) rc = get_kint(pk, OSSL_PKEY_PARAM_RSA_EXPONENT2, &m->dq, 0, false);
  if (rc == 0) rc = get_kint(pk, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, &m->qinv, 0, false);
  if (rc != 0) return rc;
  m->crt = m->p.p && m->q.p && m->dp.p && m->dq.p && m->qinv.p;
  return 0;
}

static int mat_ec(struct okey *k, struct kmat *m) {
  char group[64];
  size_t len;
  if (!EVP_PKEY_get_utf8_string_param(k->pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                      &len)) {
    ERR_clear_error();
    return ENOTSUP; /* explicit parameters */
  }
  if (!strcmp(group, "prime256v1") || !strcmp(group, "P-256") || !strcmp(group, "secp256r1"))
    m->curve = 256;
  else if (!strcmp(group, "secp384r1") || !strcmp(group, "P-384"))
    m->curve = 384;
  else
    return ENOTSUP;
  size_t fl = (size_t)m->curve / 8;
  m->bits = (size_t)m->curve;
  int rc = 0;
  if (k->has_pub) {
    rc = get_kint(k->pk, OSSL_PKEY_PARAM_EC_PUB_X, &m->qx, fl, true);
    if (rc == 0) rc = get_kint(k->pk, OSSL_PKEY_PARAM_EC_PUB_Y, &m->qy, fl, true);
  }
  if (rc == 0 && k->has_priv) rc = get_kint(k->pk, OSSL_PKEY_PARAM_PRIV_KEY, &m->ecd, fl, true);
  return rc;
}

static int mat_raw(struct okey *k, struct kmat *m) {
  size_t len = 32;
  if (k->has_pub) {
    if (!EVP_PKEY_get_raw_public_key(k->pk, m->raw_pub, &len) || len != 32) return EINVAL;
    m->has_raw_pub = true;
  }
  len = 32;
  if (k->has_priv) {
    if (!EVP_PKEY_get_raw_private_key(k->pk, m->raw_priv, &len) || len != 32) return EINVAL;
    m->has_raw_priv = true;
  }
  return 0;
}

const struct kmat *key_mat(struct okey *k) {
  struct kmat *m = atomic_load_explicit(&k->mat, memory_order_acquire);
  if (m != NULL) return m->err ? NULL : m;
  pthread_mutex_lock(&k->lock);
  m = atomic_load(&k->mat);
  if (m == NULL && (m = OPENSSL_zalloc(sizeof(*m))) != NULL) {
    if (k->pk == NULL)
      m->err = EINVAL;
    else if (k->type == K_RSA)
      m->err = mat_rsa(k, m);
    else if (k->type == K_EC)
      m->err = mat_ec(k, m);
    else
      m->err = mat_raw(k, m);
    ERR_clear_error();
    atomic_store_explicit(&k->mat, m, memory_order_release);
  }
  pthread_mutex_unlock(&k->lock);
  return m != NULL && m->err == 0 ? m : NULL;
}

/* --- key management functions ------------------------------------------- */

/* evp_selection maps an OSSL_KEYMGMT_SELECT_* set to EVP_PKEY_fromdata's. */
static int evp_selection(int selection) {
  if (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) return EVP_PKEY_KEYPAIR;
  if (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) return EVP_PKEY_PUBLIC_KEY;
  return EVP_PKEY_KEY_PARAMETERS;
}

static EVP_PKEY *from_params(struct ocfprov *p, enum ktype t, int selection, OSSL_PARAM params[]) {
  EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(dl_libctx(p), type_names[t], "provider=default");
  EVP_PKEY *pk = NULL;
  if (c == NULL || EVP_PKEY_fromdata_init(c) <= 0 ||
      EVP_PKEY_fromdata(c, &pk, evp_selection(selection), params) <= 0)
    pk = NULL;
  EVP_PKEY_CTX_free(c);
  return pk;
}

static void km_free(void *kd) { key_down(kd); }

static int km_has(const void *kd, int selection) {
  const struct okey *k = kd;
  if (k == NULL) return 0;
  int ok = 1;
  if (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) ok = ok && k->has_priv;
  if (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) ok = ok && k->has_pub;
  if (selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS) ok = ok && k->has_params;
  return ok;
}

static int km_import(void *kd, int selection, const OSSL_PARAM params[]) {
  struct okey *k = kd;
  EVP_PKEY *pk = from_params(k->p, k->type, selection, (OSSL_PARAM *)params);
  if (pk == NULL) {
    ocfprov_err(k->p, OCFPROV_R_BAD_KEY, "importing a %s key", type_names[k->type]);
    return 0;
  }
  key_set(k, pk);
  return 1;
}

static int km_export(void *kd, int selection, OSSL_CALLBACK *cb, void *cbarg) {
  struct okey *k = kd;
  if (k->pk == NULL) return 0;
  return EVP_PKEY_export(k->pk, selection, cb, cbarg);
}

static int km_get_params(void *kd, OSSL_PARAM params[]) {
  struct okey *k = kd;
  if (k->pk == NULL) return 1;
  return EVP_PKEY_get_params(k->pk, params);
}

static int km_set_params(void *kd, const OSSL_PARAM params[]) {
  struct okey *k = kd;
  if (params == NULL || params[0].key == NULL) return 1;
  if (k->pk == NULL && (k->type == K_X25519 || k->type == K_ED25519)) {
    /* A key with only "parameters" (X25519 has none) learns its public
     * value, as libssl does with a peer's key share. */
    const OSSL_PARAM *q = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY);
    if (q == NULL) q = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PUB_KEY);
    if (q == NULL) return 1;
    if (q->data_type != OSSL_PARAM_OCTET_STRING) return 0;
    EVP_PKEY *pk = EVP_PKEY_new_raw_public_key_ex(dl_libctx(k->p), type_names[k->type],
                                                  "provider=default", q->data, q->data_size);
    if (pk == NULL) {
      ocfprov_err(k->p, OCFPROV_R_BAD_KEY, "%s public key of %zu bytes", type_names[k->type],
                  q->data_size);
      return 0;
    }
    key_set(k, pk);
    return 1;
  }
  if (k->pk == NULL) return 0;
  if (!EVP_PKEY_set_params(k->pk, (OSSL_PARAM *)params)) return 0;
  EVP_PKEY *pk = k->pk;
  k->pk = NULL;
  key_set(k, pk); /* recount what it holds; forget the material */
  return 1;
}

static int km_match(const void *kd1, const void *kd2, int selection) {
  const struct okey *a = kd1, *b = kd2;
  if (a->pk == NULL || b->pk == NULL) return a->pk == b->pk;
  if (selection & OSSL_KEYMGMT_SELECT_KEYPAIR) return EVP_PKEY_eq(a->pk, b->pk) == 1;
  if (selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS)
    return EVP_PKEY_parameters_eq(a->pk, b->pk) == 1;
  return 1;
}

static int km_validate(const void *kd, int selection, int checktype) {
  const struct okey *k = kd;
  if (k->pk == NULL) return 0;
  EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(dl_libctx(k->p), k->pk, "provider=default");
  int ok = c != NULL;
  if (ok && (selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS) && k->type == K_EC)
    ok = EVP_PKEY_param_check(c) == 1;
  if (ok && (selection & OSSL_KEYMGMT_SELECT_KEYPAIR) == OSSL_KEYMGMT_SELECT_KEYPAIR)
    ok = EVP_PKEY_pairwise_check(c) == 1;
  else if (ok && (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY))
    ok = EVP_PKEY_private_check(c) == 1;
  else if (ok && (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY))
    ok = EVP_PKEY_public_check(c) == 1;
  EVP_PKEY_CTX_free(c);
  return ok;
}

static void *km_dup(const void *kd, int selection) {
  const struct okey *src = kd;
  struct okey *k = key_new(src->p, src->type);
  if (k == NULL || src->pk == NULL) return k;
  OSSL_PARAM *params = NULL;
  int evsel = (selection & OSSL_KEYMGMT_SELECT_KEYPAIR) == OSSL_KEYMGMT_SELECT_KEYPAIR
                  ? EVP_PKEY_KEYPAIR
                  : evp_selection(selection);
  if (evsel == EVP_PKEY_KEY_PARAMETERS && (src->type == K_X25519 || src->type == K_ED25519))
    return k; /* no parameters: an empty key of the type */
  EVP_PKEY *pk = NULL;
  if (EVP_PKEY_todata(src->pk, evsel, &params))
    pk = from_params(src->p, src->type, evsel == EVP_PKEY_KEYPAIR ? OSSL_KEYMGMT_SELECT_ALL : evsel,
                     params);
  for (OSSL_PARAM *q = params; q != NULL && q->key != NULL; q++)
    if (q->data != NULL) OPENSSL_cleanse(q->data, q->data_size);
  OSSL_PARAM_free(params);
  if (pk == NULL) {
    key_down(k);
    return NULL;
  }
  key_set(k, pk);
  return k;
}

/* --- generation ---------------------------------------------------------- */

struct kgen {
  struct ocfprov *p;
  enum ktype type;
  int selection;
  EVP_PKEY_CTX *c;
};

static void *gen_init(void *provctx, enum ktype t, int selection, const OSSL_PARAM params[]) {
  struct ocfprov *p = provctx;
  struct kgen *g = calloc(1, sizeof(*g));
  if (g == NULL) return NULL;
  g->p = p;
  g->type = t;
  g->selection = selection;
  g->c = EVP_PKEY_CTX_new_from_name(dl_libctx(p), type_names[t], "provider=default");
  bool keys = (selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0;
  if (g->c == NULL || (keys ? EVP_PKEY_keygen_init(g->c) : EVP_PKEY_paramgen_init(g->c)) <= 0 ||
      (params != NULL && !EVP_PKEY_CTX_set_params(g->c, params))) {
    EVP_PKEY_CTX_free(g->c);
    free(g);
    return NULL;
  }
  return g;
}

static int gen_set_params(void *genctx, const OSSL_PARAM params[]) {
  struct kgen *g = genctx;
  return params == NULL || EVP_PKEY_CTX_set_params(g->c, params);
}

static int gen_set_template(void *genctx, void *templ) {
  struct kgen *g = genctx;
  struct okey *t = templ;
  if (t->pk == NULL || g->type != K_EC) return 1;
  char group[64];
  size_t len;
  if (!EVP_PKEY_get_utf8_string_param(t->pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                      &len))
    return 0;
  OSSL_PARAM pp[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
                     OSSL_PARAM_construct_end()};
  return EVP_PKEY_CTX_set_params(g->c, pp);
}

static void *gen(void *genctx, OSSL_CALLBACK *cb, void *cbarg) {
  struct kgen *g = genctx;
  struct okey *k = key_new(g->p, g->type);
  if (k == NULL) return NULL;
  bool keys = (g->selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0;
  if (!keys && (g->type == K_X25519 || g->type == K_ED25519)) return k;
  EVP_PKEY *pk = NULL;
  if ((keys ? EVP_PKEY_generate(g->c, &pk) : EVP_PKEY_paramgen(g->c, &pk)) <= 0) {
    key_down(k);
    return NULL;
  }
  key_set(k, pk);
  return k;
}

static void gen_cleanup(void *genctx) {
  struct kgen *g = genctx;
  if (g == NULL) return;
  EVP_PKEY_CTX_free(g->c);
  free(g);
}

/* --- tables --------------------------------------------------------------- */

static const OSSL_PARAM rsa_ptypes[] = {OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
                                        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
                                        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_D, NULL, 0),
                                        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_FACTOR1, NULL, 0),
                                        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_FACTOR2, NULL, 0),
                                        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_FACTOR3, NULL, 0),
                                        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_EXPONENT1, NULL, 0),
                                        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_EXPONENT2, NULL, 0),
                                        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_EXPONENT3, NULL, 0),
                                        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_COEFFICIENT1, NULL, 0),
                                        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_COEFFICIENT2, NULL, 0),
                                        OSSL_PARAM_END};

static const OSSL_PARAM ec_ptypes[] = {
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_FIELD_TYPE, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_EC_P, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_EC_A, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_EC_B, NULL, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_EC_GENERATOR, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_EC_ORDER, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_EC_COFACTOR, NULL, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_EC_SEED, NULL, 0),
    OSSL_PARAM_int(OSSL_PKEY_PARAM_USE_COFACTOR_ECDH, NULL),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_PRIV_KEY, NULL, 0),
    OSSL_PARAM_END};

static const OSSL_PARAM ecx_ptypes[] = {OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
                                        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, NULL, 0),
                                        OSSL_PARAM_END};

static const OSSL_PARAM *types_of(enum ktype t) {
  return t == K_RSA ? rsa_ptypes : t == K_EC ? ec_ptypes : ecx_ptypes;
}

/* The default provider's parameter lists, which are static: asked once of
 * a key management fetched from a private context of our own. */
static const OSSL_PARAM *dl_list(enum ktype t, int which) {
  static _Atomic(const OSSL_PARAM *) lists[K__COUNT][3];
  const OSSL_PARAM *l = atomic_load(&lists[t][which]);
  if (l != NULL) return l;
  OSSL_LIB_CTX *lc = OSSL_LIB_CTX_new();
  EVP_KEYMGMT *km = lc ? EVP_KEYMGMT_fetch(lc, type_names[t], "provider=default") : NULL;
  if (km != NULL)
    l = which == 0   ? EVP_KEYMGMT_gettable_params(km)
        : which == 1 ? EVP_KEYMGMT_settable_params(km)
                     : EVP_KEYMGMT_gen_settable_params(km);
  EVP_KEYMGMT_free(km);
  OSSL_LIB_CTX_free(lc);
  if (l != NULL) atomic_store(&lists[t][which], l);
  return l;
}

static const char *key_query_ec(int op) { return op == OSSL_OP_SIGNATURE ? "ECDSA" : "ECDH"; }

#define KEYMGMT(sym, T, opname)                                                          \
  static void *sym##_new(void *provctx) { return key_new(provctx, T); }                  \
  static void *sym##_gen_init(void *provctx, int selection, const OSSL_PARAM params[]) { \
    return gen_init(provctx, T, selection, params);                                      \
  }                                                                                      \
  static const OSSL_PARAM *sym##_types(int selection) { return types_of(T); }            \
  static const OSSL_PARAM *sym##_gettable(void *provctx) { return dl_list(T, 0); }       \
  static const OSSL_PARAM *sym##_settable(void *provctx) { return dl_list(T, 1); }       \
  static const OSSL_PARAM *sym##_gen_settable(void *genctx, void *provctx) {             \
    return dl_list(T, 2);                                                                \
  }                                                                                      \
  static const char *sym##_query(int op) {                                               \
    return op == OSSL_OP_SIGNATURE || op == OSSL_OP_KEYEXCH ? opname : NULL;             \
  }                                                                                      \
  static const OSSL_DISPATCH sym##_keymgmt[] = {                                         \
      {OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))sym##_new},                                \
      {OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))km_free},                                 \
      {OSSL_FUNC_KEYMGMT_GEN_INIT, (void (*)(void))sym##_gen_init},                      \
      {OSSL_FUNC_KEYMGMT_GEN_SET_TEMPLATE, (void (*)(void))gen_set_template},            \
      {OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, (void (*)(void))gen_set_params},                \
      {OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, (void (*)(void))sym##_gen_settable},       \
      {OSSL_FUNC_KEYMGMT_GEN, (void (*)(void))gen},                                      \
      {OSSL_FUNC_KEYMGMT_GEN_CLEANUP, (void (*)(void))gen_cleanup},                      \
      {OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))km_get_params},                     \
      {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))sym##_gettable},               \
      {OSSL_FUNC_KEYMGMT_SET_PARAMS, (void (*)(void))km_set_params},                     \
      {OSSL_FUNC_KEYMGMT_SETTABLE_PARAMS, (void (*)(void))sym##_settable},               \
      {OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))km_has},                                   \
      {OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))km_match},                               \
      {OSSL_FUNC_KEYMGMT_VALIDATE, (void (*)(void))km_validate},                         \
      {OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))km_import},                             \
      {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))sym##_types},                     \
      {OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void))km_export},                             \
      {OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))sym##_types},                     \
      {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))sym##_query},             \
      {OSSL_FUNC_KEYMGMT_DUP, (void (*)(void))km_dup},                                   \
      {0, NULL}};

KEYMGMT(rsa, K_RSA, "RSA")
KEYMGMT(ec, K_EC, key_query_ec(op))
KEYMGMT(x25519, K_X25519, "X25519")
KEYMGMT(ed25519, K_ED25519, "ED25519")

#define PROPS "provider=ocf"
const OSSL_ALGORITHM ocfprov_keymgmt[] = {
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", PROPS, rsa_keymgmt, NULL},
    {"EC:id-ecPublicKey:1.2.840.10045.2.1", PROPS, ec_keymgmt, NULL},
    {"X25519:1.3.101.110", PROPS, x25519_keymgmt, NULL},
    {"ED25519:1.3.101.112", PROPS, ed25519_keymgmt, NULL},
    {NULL, NULL, NULL, NULL}};
