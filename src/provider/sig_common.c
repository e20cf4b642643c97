/*
 * sig_common.c - the signature operations' plumbing, shared by RSA, ECDSA
 * and Ed25519: contexts, parameters (all handed to the default provider's
 * operation, see sig.h), hashing for digest-sign/verify, and the choice of
 * path per signature.
 */
#include <stdlib.h>
#include <string.h>

#include "provider/sig.h"

static const enum ofam fam_sign[K__COUNT] = {FAM_RSA_PRIV, FAM_EC_SIGN, FAM_ECDH, FAM_ED25519_SIGN};
static const enum ofam fam_verify[K__COUNT] = {FAM_RSA_PUB, FAM_EC_VERIFY, FAM_ECDH,
                                               FAM_ED25519_VERIFY};

static void *sig_newctx(void *provctx, enum ktype kt) {
  if (!ocfprov_usable(provctx)) return NULL;
  struct sctx *c = zalloc(sizeof(*c));
  if (c == NULL) return NULL;
  c->p = provctx;
  c->kt = kt;
  return c;
}

void sig_settings_drop(struct sctx *c) {
  EVP_MD_free(c->rs_md);
  EVP_MD_free(c->rs_mgf1);
  c->rs_md = c->rs_mgf1 = NULL;
  c->rs_ok = false;
}

static void sig_reset(struct sctx *c) {
  sig_settings_drop(c);
  EVP_PKEY_CTX_free(c->d);
  EVP_MD_CTX_free(c->dmd);
  EVP_MD_CTX_free(c->mdctx);
  key_down(c->key);
  c->d = NULL;
  c->dmd = c->mdctx = NULL;
  c->key = NULL;
  c->digesting = false;
  c->op = SOP_NONE;
}

static void sig_freectx(void *vctx) {
  struct sctx *c = vctx;
  if (c == NULL) return;
  sig_reset(c);
  free(c);
}

static void *sig_dupctx(void *vctx) {
  struct sctx *src = vctx;
  struct sctx *c = zalloc(sizeof(*c));
  if (c == NULL) return NULL;
  *c = *src;
  c->d = NULL;
  c->dmd = c->mdctx = NULL;
  if (c->key != NULL) key_up(c->key);
  if (c->rs_md != NULL) EVP_MD_up_ref(c->rs_md);
  if (c->rs_mgf1 != NULL) EVP_MD_up_ref(c->rs_mgf1);
  bool ok = true;
  if (src->d != NULL) ok = (c->d = EVP_PKEY_CTX_dup(src->d)) != NULL;
  if (ok && src->dmd != NULL)
    ok = (c->dmd = EVP_MD_CTX_new()) != NULL && EVP_MD_CTX_copy_ex(c->dmd, src->dmd);
  if (ok && src->mdctx != NULL)
    ok = (c->mdctx = EVP_MD_CTX_new()) != NULL && EVP_MD_CTX_copy_ex(c->mdctx, src->mdctx);
  if (!ok) {
    sig_freectx(c);
    return NULL;
  }
  return c;
}

/* strip_props copies params without the property queries, which name the
 * application's providers (provider=ocf) and would find nothing in the
 * private library context. */
static const OSSL_PARAM *strip_props(const OSSL_PARAM *params, OSSL_PARAM *buf, size_t n) {
  if (params == NULL) return NULL;
  size_t j = 0;
  for (const OSSL_PARAM *q = params; q->key != NULL && j + 1 < n; q++)
    if (strcmp(q->key, OSSL_SIGNATURE_PARAM_PROPERTIES) != 0 &&
        strcmp(q->key, OSSL_SIGNATURE_PARAM_MGF1_PROPERTIES) != 0)
      buf[j++] = *q;
  buf[j] = OSSL_PARAM_construct_end();
  return buf;
}

static int sig_init(struct sctx *c, void *keydata, const OSSL_PARAM params[], int op) {
  struct okey *k = keydata;
  if (k == NULL && c->key == NULL) {
    ocfprov_err(c->p, OCFPROV_R_NO_KEY, "signature");
    return 0;
  }
  if (k == NULL) k = c->key; /* re-initialisation with the same key */
  if (k->type != c->kt || k->pk == NULL) {
    ocfprov_err(c->p, OCFPROV_R_BAD_KEY, "a %s key for a %s signature", key_type_name(k->type),
                key_type_name(c->kt));
    return 0;
  }
  key_up(k);
  sig_reset(c);
  c->key = k;
  c->op = op;
  if (c->kt == K_ED25519) return 1; /* one-shot: digest_sign_init sets it up */
  OSSL_PARAM buf[32];
  const OSSL_PARAM *pp = strip_props(params, buf, 32);
  c->d = dl_pkey_ctx(k);
  int ok = c->d != NULL;
  if (ok && op == SOP_SIGN) ok = EVP_PKEY_sign_init_ex(c->d, pp) > 0;
  if (ok && op == SOP_VERIFY) ok = EVP_PKEY_verify_init_ex(c->d, pp) > 0;
  if (ok && op == SOP_VERIFY_RECOVER) ok = EVP_PKEY_verify_recover_init_ex(c->d, pp) > 0;
  return ok;
}

static int sig_sign_init(void *vctx, void *key, const OSSL_PARAM params[]) {
  return sig_init(vctx, key, params, SOP_SIGN);
}
static int sig_verify_init(void *vctx, void *key, const OSSL_PARAM params[]) {
  return sig_init(vctx, key, params, SOP_VERIFY);
}
static int sig_vrec_init(void *vctx, void *key, const OSSL_PARAM params[]) {
  return sig_init(vctx, key, params, SOP_VERIFY_RECOVER);
}

EVP_MD *sig_md(struct sctx *c, const char *param) {
  char name[80] = "";
  OSSL_PARAM q[] = {OSSL_PARAM_construct_utf8_string(param, name, sizeof(name)),
                    OSSL_PARAM_construct_end()};
  if (c->d == NULL || !EVP_PKEY_CTX_get_params(c->d, q) || name[0] == '\0') {
    ERR_clear_error();
    return NULL;
  }
  return EVP_MD_fetch(dl_libctx(c->p), name, "provider=default");
}

/* fw_ready tells whether the key can go to the framework at all. */
static bool fw_ready(struct sctx *c, bool priv) {
  if (!be_available(c->p)) return false;
  const struct kmat *m = key_mat(c->key);
  if (m == NULL) return false;
  if (c->kt == K_RSA) return priv ? m->d.p != NULL : true;
  if (c->kt == K_EC) return m->curve != 0 && (priv ? m->ecd.p != NULL : m->qx.p != NULL);
  return priv ? m->has_raw_priv : m->has_raw_pub;
}

static size_t key_bits(struct sctx *c) {
  const struct kmat *m = atomic_load(&c->key->mat);
  return m != NULL && m->err == 0 ? m->bits : 256;
}

static int do_sign(struct sctx *c, unsigned char *sig, size_t *siglen, size_t sigsize,
                   const unsigned char *tbs, size_t tbslen) {
  struct dticket t;
  bool ok = fw_ready(c, true);
  if (dec_choose(c->p, fam_sign[c->kt], key_bits(c), ok, &t) == PATH_FW) {
    struct bstat bs;
    int rc = c->kt == K_RSA  ? rsa_fw_sign(c, sig, siglen, sigsize, tbs, tbslen, &bs)
             : c->kt == K_EC ? ec_fw_sign(c, sig, siglen, sigsize, tbs, tbslen, &bs)
                             : ed_fw_sign(c, sig, siglen, sigsize, tbs, tbslen, &bs);
    if (rc == 0) {
      dec_done(c->p, &t, &bs);
      return 1;
    }
    if (rc != ENOTSUP) STAT_ADD(c->p, fallbacks, 1);
    t.timed = false;
  }
  size_t l = sigsize;
  int r = c->kt == K_ED25519 ? EVP_DigestSign(c->dmd, sig, &l, tbs, tbslen)
                             : EVP_PKEY_sign(c->d, sig, &l, tbs, tbslen);
  STAT_ADD(c->p, in_kreq, 1);
  dec_done(c->p, &t, NULL);
  if (r > 0) *siglen = l;
  return r > 0;
}

static int do_verify(struct sctx *c, const unsigned char *sig, size_t siglen,
                     const unsigned char *tbs, size_t tbslen) {
  struct dticket t;
  bool ok = fw_ready(c, false);
  if (dec_choose(c->p, fam_verify[c->kt], key_bits(c), ok, &t) == PATH_FW) {
    struct bstat bs;
    int valid = 0;
    int rc = c->kt == K_RSA  ? rsa_fw_verify(c, sig, siglen, tbs, tbslen, &valid, &bs)
             : c->kt == K_EC ? ec_fw_verify(c, sig, siglen, tbs, tbslen, &valid, &bs)
                             : ed_fw_verify(c, sig, siglen, tbs, tbslen, &valid, &bs);
    if (rc == 0) {
      dec_done(c->p, &t, &bs);
      return valid;
    }
    if (rc != ENOTSUP) STAT_ADD(c->p, fallbacks, 1);
    t.timed = false;
  }
  int r = c->kt == K_ED25519 ? EVP_DigestVerify(c->dmd, sig, siglen, tbs, tbslen)
                             : EVP_PKEY_verify(c->d, sig, siglen, tbs, tbslen);
  STAT_ADD(c->p, in_kreq, 1);
  dec_done(c->p, &t, NULL);
  return r == 1;
}

static int sig_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize,
                    const unsigned char *tbs, size_t tbslen) {
  struct sctx *c = vctx;
  if (c->op != SOP_SIGN || c->d == NULL) {
    ocfprov_err(c->p, OCFPROV_R_BAD_STATE, "sign");
    return 0;
  }
  if (sig == NULL) return EVP_PKEY_sign(c->d, NULL, siglen, tbs, tbslen) > 0;
  return do_sign(c, sig, siglen, sigsize, tbs, tbslen);
}

static int sig_verify(void *vctx, const unsigned char *sig, size_t siglen, const unsigned char *tbs,
                      size_t tbslen) {
  struct sctx *c = vctx;
  if (c->op != SOP_VERIFY || c->d == NULL) {
    ocfprov_err(c->p, OCFPROV_R_BAD_STATE, "verify");
    return 0;
  }
  return do_verify(c, sig, siglen, tbs, tbslen);
}

static int sig_vrec(void *vctx, unsigned char *rout, size_t *routlen, size_t routsize,
                    const unsigned char *sig, size_t siglen) {
  struct sctx *c = vctx;
  if (c->op != SOP_VERIFY_RECOVER || c->d == NULL) {
    ocfprov_err(c->p, OCFPROV_R_BAD_STATE, "verify-recover");
    return 0;
  }
  size_t l = routsize;
  int r = EVP_PKEY_verify_recover(c->d, rout, &l, sig, siglen);
  if (r > 0) *routlen = l;
  STAT_ADD(c->p, in_kreq, 1);
  return r > 0;
}

/* --- digest-sign / digest-verify -------------------------------------------- */

static int dsig_init(struct sctx *c, const char *mdname, void *key, const OSSL_PARAM params[],
                     int op) {
  if (!sig_init(c, key, params, op)) return 0;
  if (c->kt == K_ED25519) {
    if (mdname != NULL && mdname[0] != '\0') {
      ocfprov_err(c->p, OCFPROV_R_UNSUPPORTED, "Ed25519 takes no digest (%s)", mdname);
      return 0;
    }
    OSSL_PARAM buf[16];
    c->dmd = EVP_MD_CTX_new();
    int ok = c->dmd != NULL;
    if (ok && op == SOP_SIGN)
      ok = EVP_DigestSignInit_ex(c->dmd, NULL, NULL, dl_libctx(c->p), "provider=default",
                                 c->key->pk, strip_props(params, buf, 16)) > 0;
    if (ok && op == SOP_VERIFY)
      ok = EVP_DigestVerifyInit_ex(c->dmd, NULL, NULL, dl_libctx(c->p), "provider=default",
                                   c->key->pk, strip_props(params, buf, 16)) > 0;
    return ok;
  }
  if (mdname == NULL || mdname[0] == '\0') {
    ocfprov_err(c->p, OCFPROV_R_UNSUPPORTED, "a %s signature of a message needs a digest",
                key_type_name(c->kt));
    return 0;
  }
  OSSL_PARAM pp[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, (char *)mdname, 0),
      OSSL_PARAM_construct_end()};
  if (!EVP_PKEY_CTX_set_params(c->d, pp)) return 0;
  sig_settings_drop(c);
  EVP_MD *md = EVP_MD_fetch(dl_libctx(c->p), mdname, "provider=default");
  c->mdctx = EVP_MD_CTX_new();
  int ok = md != NULL && c->mdctx != NULL && EVP_DigestInit_ex(c->mdctx, md, NULL);
  EVP_MD_free(md);
  c->digesting = ok;
  return ok;
}

static int dsig_sign_init(void *vctx, const char *mdname, void *key, const OSSL_PARAM params[]) {
  return dsig_init(vctx, mdname, key, params, SOP_SIGN);
}
static int dsig_verify_init(void *vctx, const char *mdname, void *key, const OSSL_PARAM params[]) {
  return dsig_init(vctx, mdname, key, params, SOP_VERIFY);
}

static int dsig_update(void *vctx, const unsigned char *data, size_t len) {
  struct sctx *c = vctx;
  if (!c->digesting) {
    ocfprov_err(c->p, OCFPROV_R_BAD_STATE, "digest update without digest-sign/verify init");
    return 0;
  }
  return EVP_DigestUpdate(c->mdctx, data, len);
}

static int dsig_sign_final(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize) {
  struct sctx *c = vctx;
  uint8_t dg[EVP_MAX_MD_SIZE];
  unsigned dl = 0;
  if (!c->digesting || c->op != SOP_SIGN) {
    ocfprov_err(c->p, OCFPROV_R_BAD_STATE, "digest-sign final");
    return 0;
  }
  if (sig == NULL) {
    unsigned md_size = (unsigned)EVP_MD_CTX_get_size(c->mdctx);
    memset(dg, 0, sizeof(dg));
    return EVP_PKEY_sign(c->d, NULL, siglen, dg, md_size) > 0;
  }
  /* Final on a copy: OpenSSL may call final again (EVP_DigestSignFinal
   * with a NULL buffer first, then for real, on a duplicated context). */
  EVP_MD_CTX *tmp = EVP_MD_CTX_new();
  int ok = tmp != NULL && EVP_MD_CTX_copy_ex(tmp, c->mdctx) && EVP_DigestFinal_ex(tmp, dg, &dl);
  EVP_MD_CTX_free(tmp);
  return ok && do_sign(c, sig, siglen, sigsize, dg, dl);
}

static int dsig_verify_final(void *vctx, const unsigned char *sig, size_t siglen) {
  struct sctx *c = vctx;
  uint8_t dg[EVP_MAX_MD_SIZE];
  unsigned dl = 0;
  if (!c->digesting || c->op != SOP_VERIFY) {
    ocfprov_err(c->p, OCFPROV_R_BAD_STATE, "digest-verify final");
    return 0;
  }
  EVP_MD_CTX *tmp = EVP_MD_CTX_new();
  int ok = tmp != NULL && EVP_MD_CTX_copy_ex(tmp, c->mdctx) && EVP_DigestFinal_ex(tmp, dg, &dl);
  EVP_MD_CTX_free(tmp);
  return ok && do_verify(c, sig, siglen, dg, dl);
}

/* Ed25519: one-shot only. */
static int ed_digest_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize,
                          const unsigned char *tbs, size_t tbslen) {
  struct sctx *c = vctx;
  if (c->dmd == NULL || c->op != SOP_SIGN) {
    ocfprov_err(c->p, OCFPROV_R_BAD_STATE, "Ed25519 sign");
    return 0;
  }
  if (sig == NULL) {
    *siglen = 64;
    return 1;
  }
  if (sigsize < 64) {
    ocfprov_err(c->p, OCFPROV_R_OUT_TOO_SMALL, "%zu bytes for a 64-byte signature", sigsize);
    return 0;
  }
  return do_sign(c, sig, siglen, sigsize, tbs, tbslen);
}

static int ed_digest_verify(void *vctx, const unsigned char *sig, size_t siglen,
                            const unsigned char *tbs, size_t tbslen) {
  struct sctx *c = vctx;
  if (c->dmd == NULL || c->op != SOP_VERIFY) {
    ocfprov_err(c->p, OCFPROV_R_BAD_STATE, "Ed25519 verify");
    return 0;
  }
  return do_verify(c, sig, siglen, tbs, tbslen);
}

/* --- parameters --------------------------------------------------------------- */

static EVP_PKEY_CTX *param_ctx(struct sctx *c) {
  return c->d != NULL ? c->d : c->dmd != NULL ? EVP_MD_CTX_get_pkey_ctx(c->dmd) : NULL;
}

static int sig_get_ctx_params(void *vctx, OSSL_PARAM params[]) {
  struct sctx *c = vctx;
  EVP_PKEY_CTX *d = param_ctx(c);
  return d != NULL && EVP_PKEY_CTX_get_params(d, params);
}

static int sig_set_ctx_params(void *vctx, const OSSL_PARAM params[]) {
  struct sctx *c = vctx;
  EVP_PKEY_CTX *d = param_ctx(c);
  if (params == NULL || params[0].key == NULL) return 1;
  OSSL_PARAM buf[32];
  sig_settings_drop(c);
  return d != NULL && EVP_PKEY_CTX_set_params(d, strip_props(params, buf, 32));
}

/* The default provider's parameter lists are static; asked once of a
 * signature fetched from a library context made for that. */
static const OSSL_PARAM *dl_sig_list(enum ktype kt, int settable) {
  static _Atomic(const OSSL_PARAM *) lists[K__COUNT][2];
  static const char *const names[K__COUNT] = {"RSA", "ECDSA", "", "ED25519"};
  const OSSL_PARAM *l = atomic_load(&lists[kt][settable]);
  if (l != NULL) return l;
  OSSL_LIB_CTX *lc = OSSL_LIB_CTX_new();
  EVP_SIGNATURE *s = lc ? EVP_SIGNATURE_fetch(lc, names[kt], "provider=default") : NULL;
  if (s != NULL)
    l = settable ? EVP_SIGNATURE_settable_ctx_params(s) : EVP_SIGNATURE_gettable_ctx_params(s);
  EVP_SIGNATURE_free(s);
  OSSL_LIB_CTX_free(lc);
  if (l != NULL) atomic_store(&lists[kt][settable], l);
  return l;
}

#define SIG_COMMON(sym, kt)                                                                        \
  static void *sym##_newctx(void *provctx, const char *propq) { return sig_newctx(provctx, kt); }  \
  static const OSSL_PARAM *sym##_gettable(void *ctx, void *provctx) { return dl_sig_list(kt, 0); } \
  static const OSSL_PARAM *sym##_settable(void *ctx, void *provctx) { return dl_sig_list(kt, 1); }

SIG_COMMON(rsa, K_RSA)
SIG_COMMON(ecdsa, K_EC)
SIG_COMMON(ed25519, K_ED25519)

#define SIG_ENTRIES(sym)                                                         \
  {OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))sym##_newctx},                    \
      {OSSL_FUNC_SIGNATURE_FREECTX, (void (*)(void))sig_freectx},                \
      {OSSL_FUNC_SIGNATURE_DUPCTX, (void (*)(void))sig_dupctx},                  \
      {OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, (void (*)(void))sig_get_ctx_params},  \
      {OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, (void (*)(void))sym##_gettable}, \
      {OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, (void (*)(void))sig_set_ctx_params},  \
      {OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, (void (*)(void))sym##_settable}, \
      {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, (void (*)(void))dsig_sign_init}, {  \
    OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT, (void (*)(void))dsig_verify_init     \
  }

static const OSSL_DISPATCH rsa_sig_functions[] = {
    SIG_ENTRIES(rsa),
    {OSSL_FUNC_SIGNATURE_SIGN_INIT, (void (*)(void))sig_sign_init},
    {OSSL_FUNC_SIGNATURE_SIGN, (void (*)(void))sig_sign},
    {OSSL_FUNC_SIGNATURE_VERIFY_INIT, (void (*)(void))sig_verify_init},
    {OSSL_FUNC_SIGNATURE_VERIFY, (void (*)(void))sig_verify},
    {OSSL_FUNC_SIGNATURE_VERIFY_RECOVER_INIT, (void (*)(void))sig_vrec_init},
    {OSSL_FUNC_SIGNATURE_VERIFY_RECOVER, (void (*)(void))sig_vrec},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, (void (*)(void))dsig_update},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, (void (*)(void))dsig_sign_final},
    {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_UPDATE, (void (*)(void))dsig_update},
    {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_FINAL, (void (*)(void))dsig_verify_final},
    {0, NULL}};

static const OSSL_DISPATCH ecdsa_sig_functions[] = {
    SIG_ENTRIES(ecdsa),
    {OSSL_FUNC_SIGNATURE_SIGN_INIT, (void (*)(void))sig_sign_init},
    {OSSL_FUNC_SIGNATURE_SIGN, (void (*)(void))sig_sign},
    {OSSL_FUNC_SIGNATURE_VERIFY_INIT, (void (*)(void))sig_verify_init},
    {OSSL_FUNC_SIGNATURE_VERIFY, (void (*)(void))sig_verify},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, (void (*)(void))dsig_update},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, (void (*)(void))dsig_sign_final},
    {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_UPDATE, (void (*)(void))dsig_update},
    {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_FINAL, (void (*)(void))dsig_verify_final},
    {0, NULL}};

static const OSSL_DISPATCH ed25519_sig_functions[] = {
    SIG_ENTRIES(ed25519),
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN, (void (*)(void))ed_digest_sign},
    {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY, (void (*)(void))ed_digest_verify},
    {0, NULL}};

#define PROPS "provider=ocf"
const OSSL_ALGORITHM ocfprov_signatures[] = {
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", PROPS, rsa_sig_functions, NULL},
    {"ECDSA", PROPS, ecdsa_sig_functions, NULL},
    {"ED25519:1.3.101.112", PROPS, ed25519_sig_functions, NULL},
    {NULL, NULL, NULL, NULL}};
