/*
 * asym_rsa.c - RSA encryption and decryption (OAEP, PKCS #1 v1.5, none):
 * padding here (rsa_pad.c), the exponentiation through the framework.  The
 * default provider's operation on the same key holds the parameters and is
 * the inline path; libssl's RSA key exchange padding (implicit rejection of
 * a bad premaster secret) always runs there.
 */
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "provider/pkey.h"

struct rctx {
  struct ocfprov *p;
  struct okey *key;
  int enc; /* 1 encrypt, 0 decrypt, -1 none */
  EVP_PKEY_CTX *d;
};

static void *rc_newctx(void *provctx) {
  if (!ocfprov_usable(provctx)) return NULL;
  struct rctx *c = zalloc(sizeof(*c));
  if (c == NULL) return NULL;
  c->p = provctx;
  c->enc = -1;
  return c;
}

static void rc_freectx(void *vctx) {
  struct rctx *c = vctx;
  if (c == NULL) return;
  EVP_PKEY_CTX_free(c->d);
  key_down(c->key);
  free(c);
}

static void *rc_dupctx(void *vctx) {
  struct rctx *src = vctx;
  struct rctx *c = malloc(sizeof(*c));
  if (c == NULL) return NULL;
  *c = *src;
  c->d = src->d ? EVP_PKEY_CTX_dup(src->d) : NULL;
  if (src->d != NULL && c->d == NULL) {
    free(c);
    return NULL;
  }
  if (c->key) key_up(c->key);
  return c;
}

static const OSSL_PARAM *no_props(const OSSL_PARAM *params, OSSL_PARAM *buf, size_t n) {
  if (params == NULL) return NULL;
  size_t j = 0;
  for (const OSSL_PARAM *q = params; q->key != NULL && j + 1 < n; q++)
    if (strcmp(q->key, OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST_PROPS) != 0 &&
        strcmp(q->key, OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST_PROPS) != 0)
      buf[j++] = *q;
  buf[j] = OSSL_PARAM_construct_end();
  return buf;
}

static int rc_init(struct rctx *c, void *keydata, const OSSL_PARAM params[], int enc) {
  struct okey *k = keydata;
  if (k == NULL || k->type != K_RSA || k->pk == NULL) {
    ocfprov_err(c->p, OCFPROV_R_BAD_KEY, "RSA encryption needs an RSA key");
    return 0;
  }
  EVP_PKEY_CTX_free(c->d);
  key_down(c->key);
  key_up(k);
  c->key = k;
  c->enc = enc;
  OSSL_PARAM buf[16];
  c->d = dl_pkey_ctx(k);
  if (c->d == NULL) return 0;
  return (enc ? EVP_PKEY_encrypt_init_ex(c->d, no_props(params, buf, 16))
              : EVP_PKEY_decrypt_init_ex(c->d, no_props(params, buf, 16))) > 0;
}

static int rc_einit(void *vctx, void *key, const OSSL_PARAM params[]) {
  return rc_init(vctx, key, params, 1);
}
static int rc_dinit(void *vctx, void *key, const OSSL_PARAM params[]) {
  return rc_init(vctx, key, params, 0);
}

static EVP_MD *get_md(struct rctx *c, const char *param) {
  char name[80] = "";
  OSSL_PARAM q[] = {OSSL_PARAM_construct_utf8_string(param, name, sizeof(name)),
                    OSSL_PARAM_construct_end()};
  if (!EVP_PKEY_CTX_get_params(c->d, q) || name[0] == '\0') {
    ERR_clear_error();
    return NULL;
  }
  return EVP_MD_fetch(dl_libctx(c->p), name, "provider=default");
}

/* settings reads the padding mode and, for OAEP, the digests and label. */
struct rset {
  int pad;
  EVP_MD *md, *mgf1;
  void *label;
  size_t llen;
};

static int settings(struct rctx *c, struct rset *s) {
  memset(s, 0, sizeof(*s));
  OSSL_PARAM q[] = {OSSL_PARAM_construct_int(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, &s->pad),
                    OSSL_PARAM_construct_end()};
  if (!EVP_PKEY_CTX_get_params(c->d, q)) {
    ERR_clear_error();
    return ENOTSUP;
  }
  if (s->pad == RSA_PKCS1_OAEP_PADDING) {
    s->md = get_md(c, OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST);
    s->mgf1 = get_md(c, OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST);
    OSSL_PARAM l[] = {
        OSSL_PARAM_construct_octet_ptr(OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL, &s->label, 0),
        OSSL_PARAM_construct_end()};
    if (EVP_PKEY_CTX_get_params(c->d, l)) s->llen = l[0].return_size;
    ERR_clear_error();
    if (s->md == NULL) return ENOTSUP;
    if (s->mgf1 == NULL) s->mgf1 = (EVP_MD_up_ref(s->md), s->md);
    return 0;
  }
  return s->pad == RSA_PKCS1_PADDING || s->pad == RSA_NO_PADDING ? 0 : ENOTSUP;
}

static void settings_free(struct rset *s) {
  EVP_MD_free(s->md);
  EVP_MD_free(s->mgf1);
}

static int fw_encrypt(struct rctx *c, uint8_t *out, size_t *outlen, size_t outsize,
                      const uint8_t *in, size_t inlen, struct bstat *bs) {
  const struct kmat *m = key_mat(c->key);
  struct rset s;
  if (m == NULL) return ENOTSUP;
  size_t k = m->n.len;
  int rc = settings(c, &s);
  if (rc == 0 && outsize < k) rc = ENOTSUP;
  uint8_t *em = rc == 0 ? malloc(k) : NULL;
  if (rc == 0 && em == NULL) rc = ENOMEM;
  if (rc == 0) {
    OSSL_LIB_CTX *lc = dl_libctx(c->p);
    bool ok = s.pad == RSA_PKCS1_OAEP_PADDING
                  ? rsa_pad_oaep(lc, em, k, in, inlen, s.label, s.llen, s.md, s.mgf1)
              : s.pad == RSA_PKCS1_PADDING ? rsa_pad_pkcs1_enc(lc, em, k, in, inlen)
                                           : (inlen == k ? (memcpy(em, in, k), 1) : 0);
    rc = ok ? rsa_modexp(c->key, 0, em, out, bs) : ENOTSUP; /* inline reports the size */
  }
  if (rc == 0) *outlen = k;
  if (em) OPENSSL_clear_free(em, k);
  settings_free(&s);
  return rc;
}

/* fw_decrypt returns 0 (with *outlen set), EBADMSG (a bad block: the
 * answer), or an errno that sends the operation inline. */
static int fw_decrypt(struct rctx *c, uint8_t *out, size_t *outlen, size_t outsize,
                      const uint8_t *in, size_t inlen, struct bstat *bs) {
  const struct kmat *m = key_mat(c->key);
  struct rset s;
  if (m == NULL || m->d.p == NULL) return ENOTSUP;
  size_t k = m->n.len;
  int rc = settings(c, &s);
  if (rc == 0 && inlen != k) rc = ENOTSUP;
  uint8_t *em = rc == 0 ? malloc(k) : NULL;
  if (rc == 0 && em == NULL) rc = ENOMEM;
  if (rc == 0) rc = rsa_modexp(c->key, 1, in, em, bs);
  if (rc == 0) {
    long n = s.pad == RSA_PKCS1_OAEP_PADDING
                 ? rsa_unpad_oaep(em, k, out, outsize, s.label, s.llen, s.md, s.mgf1)
             : s.pad == RSA_PKCS1_PADDING ? rsa_unpad_pkcs1_enc(em, k, out, outsize)
             : outsize >= k               ? (memcpy(out, em, k), (long)k)
                                          : -1;
    if (n < 0)
      rc = EBADMSG;
    else
      *outlen = (size_t)n;
  }
  if (em) OPENSSL_clear_free(em, k);
  settings_free(&s);
  return rc;
}

static int rc_crypt(void *vctx, unsigned char *out, size_t *outlen, size_t outsize,
                    const unsigned char *in, size_t inlen) {
  struct rctx *c = vctx;
  if (c->d == NULL) {
    ocfprov_err(c->p, OCFPROV_R_BAD_STATE, "RSA %s without init", c->enc ? "encrypt" : "decrypt");
    return 0;
  }
  if (out == NULL)
    return (c->enc ? EVP_PKEY_encrypt(c->d, NULL, outlen, in, inlen)
                   : EVP_PKEY_decrypt(c->d, NULL, outlen, in, inlen)) > 0;
  const struct kmat *m = key_mat(c->key);
  struct dticket t;
  bool ok = m != NULL && be_available(c->p) && (c->enc || m->d.p != NULL);
  if (dec_choose(c->p, c->enc ? FAM_RSA_PUB : FAM_RSA_PRIV, m ? m->bits : 2048, ok, &t) ==
      PATH_FW) {
    struct bstat bs;
    int rc = c->enc ? fw_encrypt(c, out, outlen, outsize, in, inlen, &bs)
                    : fw_decrypt(c, out, outlen, outsize, in, inlen, &bs);
    if (rc == 0 || rc == EBADMSG) dec_done(c->p, &t, &bs);
    if (rc == 0) return 1;
    if (rc == EBADMSG) {
      ocfprov_err(c->p, OCFPROV_R_BAD_DECRYPT, "RSA decryption");
      return 0;
    }
    if (rc != ENOTSUP) STAT_ADD(c->p, fallbacks, 1);
    t.timed = false;
  }
  size_t l = outsize;
  int r = c->enc ? EVP_PKEY_encrypt(c->d, out, &l, in, inlen)
                 : EVP_PKEY_decrypt(c->d, out, &l, in, inlen);
  STAT_ADD(c->p, in_kreq, 1);
  dec_done(c->p, &t, NULL);
  if (r > 0) *outlen = l;
  return r > 0;
}

static int rc_set_ctx_params(void *vctx, const OSSL_PARAM params[]) {
  struct rctx *c = vctx;
  if (params == NULL || params[0].key == NULL) return 1;
  OSSL_PARAM buf[16];
  return c->d != NULL && EVP_PKEY_CTX_set_params(c->d, no_props(params, buf, 16));
}

static int rc_get_ctx_params(void *vctx, OSSL_PARAM params[]) {
  struct rctx *c = vctx;
  return c->d != NULL && EVP_PKEY_CTX_get_params(c->d, params);
}

static const OSSL_PARAM *dl_asym_list(int settable) {
  static _Atomic(const OSSL_PARAM *) lists[2];
  const OSSL_PARAM *l = atomic_load(&lists[settable]);
  if (l != NULL) return l;
  OSSL_LIB_CTX *lc = OSSL_LIB_CTX_new();
  EVP_ASYM_CIPHER *a = lc ? EVP_ASYM_CIPHER_fetch(lc, "RSA", "provider=default") : NULL;
  if (a != NULL)
    l = settable ? EVP_ASYM_CIPHER_settable_ctx_params(a) : EVP_ASYM_CIPHER_gettable_ctx_params(a);
  EVP_ASYM_CIPHER_free(a);
  OSSL_LIB_CTX_free(lc);
  if (l != NULL) atomic_store(&lists[settable], l);
  return l;
}

static const OSSL_PARAM *rc_gettable(void *ctx, void *provctx) { return dl_asym_list(0); }
static const OSSL_PARAM *rc_settable(void *ctx, void *provctx) { return dl_asym_list(1); }

static const OSSL_DISPATCH rsa_asym_functions[] = {
    {OSSL_FUNC_ASYM_CIPHER_NEWCTX, (void (*)(void))rc_newctx},
    {OSSL_FUNC_ASYM_CIPHER_ENCRYPT_INIT, (void (*)(void))rc_einit},
    {OSSL_FUNC_ASYM_CIPHER_ENCRYPT, (void (*)(void))rc_crypt},
    {OSSL_FUNC_ASYM_CIPHER_DECRYPT_INIT, (void (*)(void))rc_dinit},
    {OSSL_FUNC_ASYM_CIPHER_DECRYPT, (void (*)(void))rc_crypt},
    {OSSL_FUNC_ASYM_CIPHER_FREECTX, (void (*)(void))rc_freectx},
    {OSSL_FUNC_ASYM_CIPHER_DUPCTX, (void (*)(void))rc_dupctx},
    {OSSL_FUNC_ASYM_CIPHER_GET_CTX_PARAMS, (void (*)(void))rc_get_ctx_params},
    {OSSL_FUNC_ASYM_CIPHER_GETTABLE_CTX_PARAMS, (void (*)(void))rc_gettable},
    {OSSL_FUNC_ASYM_CIPHER_SET_CTX_PARAMS, (void (*)(void))rc_set_ctx_params},
    {OSSL_FUNC_ASYM_CIPHER_SETTABLE_CTX_PARAMS, (void (*)(void))rc_settable},
    {0, NULL}};

const OSSL_ALGORITHM ocfprov_asym_ciphers[] = {
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", "provider=ocf", rsa_asym_functions, NULL},
    {NULL, NULL, NULL, NULL}};
