/*
 * xform.c - the transform engine shared by the cpu producer and the modeled
 * cards' exact mode.  It applies a request's descriptors to a flat view of the
 * data: in place when the buffer is contiguous, else on a bounce copy of the
 * hull (which is also what a DMA engine sees, so the sim reuses it as is).
 *
 * Cipher contexts are keyed once per session and direction (a template) and
 * pooled, so a request only sets its IV: re-keying per request would cost
 * more than the cipher itself for small requests.
 */
#include <errno.h>
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/cpu/cpu.h"

#define POOL_MAX 8
#define MAX_MD 64
#define MAX_CHAIN 3

/* --- library context ----------------------------------------------------- */

static pthread_mutex_t lib_lock = PTHREAD_MUTEX_INITIALIZER;
static OSSL_LIB_CTX *lib;                  /* [lib_lock] */
static OSSL_PROVIDER *prov_def, *prov_leg; /* [lib_lock] */
static long lib_users;                     /* [lib_lock] */

int ocf_xf_hold(void) {
  int rc = 0;
  pthread_mutex_lock(&lib_lock);
  if (lib == NULL) {
    lib = OSSL_LIB_CTX_new();
    if (lib != NULL) {
      prov_def = OSSL_PROVIDER_load(lib, "default");
      /* legacy only adds DES, Blowfish, CAST5: run without it if absent */
      prov_leg = OSSL_PROVIDER_load(lib, "legacy");
      if (prov_def == NULL) {
        if (prov_leg != NULL) OSSL_PROVIDER_unload(prov_leg);
        OSSL_LIB_CTX_free(lib);
        lib = NULL;
      }
    }
    if (lib == NULL) {
      ERR_clear_error();
      ocf_log(0, "xform: cannot set up an OpenSSL library context");
      rc = EIO;
    }
  }
  if (rc == 0) lib_users++;
  pthread_mutex_unlock(&lib_lock);
  return rc;
}

void ocf_xf_release(void) {
  pthread_mutex_lock(&lib_lock);
  if (lib_users > 0 && --lib_users == 0) {
    if (prov_leg != NULL) OSSL_PROVIDER_unload(prov_leg);
    if (prov_def != NULL) OSSL_PROVIDER_unload(prov_def);
    OSSL_LIB_CTX_free(lib);
    lib = NULL;
    prov_leg = prov_def = NULL;
  }
  pthread_mutex_unlock(&lib_lock);
}

/* --- algorithms ---------------------------------------------------------- */

bool ocf_xf_supports(enum ocf_alg alg) {
  switch (alg) {
    case OCF_ALG_NULL:
    case OCF_ALG_DES_CBC:
    case OCF_ALG_3DES_CBC:
    case OCF_ALG_AES_CBC:
    case OCF_ALG_AES_CTR:
    case OCF_ALG_AES_XTS:
    case OCF_ALG_BLOWFISH_CBC:
    case OCF_ALG_CAST5_CBC:
    case OCF_ALG_AES_GCM:
    case OCF_ALG_CHACHA20_POLY1305:
    case OCF_ALG_HMAC_MD5:
    case OCF_ALG_HMAC_SHA1:
    case OCF_ALG_HMAC_SHA2_224:
    case OCF_ALG_HMAC_SHA2_256:
    case OCF_ALG_HMAC_SHA2_384:
    case OCF_ALG_HMAC_SHA2_512:
    case OCF_ALG_MD5:
    case OCF_ALG_SHA1:
    case OCF_ALG_SHA2_224:
    case OCF_ALG_SHA2_256:
    case OCF_ALG_SHA2_384:
    case OCF_ALG_SHA2_512:
      return true;
    default:
      return false;
  }
}

/* EVP cipher name for alg with a keylen-byte key; false if none. */
static bool cipher_name(enum ocf_alg alg, size_t keylen, char *name, size_t len) {
  int bits = (int)keylen * 8;
  switch (alg) {
    case OCF_ALG_DES_CBC:
      snprintf(name, len, "DES-CBC");
      return true;
    case OCF_ALG_3DES_CBC:
      snprintf(name, len, "DES-EDE3-CBC");
      return true;
    case OCF_ALG_AES_CBC:
      snprintf(name, len, "AES-%d-CBC", bits);
      return true;
    case OCF_ALG_AES_CTR:
      snprintf(name, len, "AES-%d-CTR", bits);
      return true;
    case OCF_ALG_AES_XTS:
      snprintf(name, len, "AES-%d-XTS", bits / 2);
      return true;
    case OCF_ALG_BLOWFISH_CBC:
      snprintf(name, len, "BF-CBC");
      return true;
    case OCF_ALG_CAST5_CBC:
      snprintf(name, len, "CAST5-CBC");
      return true;
    case OCF_ALG_AES_GCM:
      snprintf(name, len, "AES-%d-GCM", bits);
      return true;
    case OCF_ALG_CHACHA20_POLY1305:
      snprintf(name, len, "ChaCha20-Poly1305");
      return true;
    default:
      return false;
  }
}

static const char *digest_name(enum ocf_alg alg) {
  switch (alg) {
    case OCF_ALG_HMAC_MD5:
    case OCF_ALG_MD5:
      return "MD5";
    case OCF_ALG_HMAC_SHA1:
    case OCF_ALG_SHA1:
      return "SHA1";
    case OCF_ALG_HMAC_SHA2_224:
    case OCF_ALG_SHA2_224:
      return "SHA2-224";
    case OCF_ALG_HMAC_SHA2_256:
    case OCF_ALG_SHA2_256:
      return "SHA2-256";
    case OCF_ALG_HMAC_SHA2_384:
    case OCF_ALG_SHA2_384:
      return "SHA2-384";
    case OCF_ALG_HMAC_SHA2_512:
    case OCF_ALG_SHA2_512:
      return "SHA2-512";
    default:
      return NULL;
  }
}

static bool is_hmac(enum ocf_alg alg) {
  return alg >= OCF_ALG_HMAC_MD5 && alg <= OCF_ALG_HMAC_SHA2_512;
}

/* --- sessions ------------------------------------------------------------ */

/* A pool of keyed cipher contexts for one direction. */
struct pool {
  pthread_mutex_t m;
  EVP_CIPHER_CTX *tmpl;           /* keyed, never used directly */
  EVP_CIPHER_CTX *free[POOL_MAX]; /* [m] ready copies of tmpl */
  int n;                          /* [m] */
};

struct xelem {
  enum ocf_alg alg;
  enum ocf_alg_class cls;
  size_t ivlen, maclen;
  EVP_CIPHER *ciph;
  struct pool enc, dec;
  EVP_MAC *mac;
  EVP_MAC_CTX *mtmpl; /* keyed HMAC, duplicated per request */
  EVP_MD *md;
};

struct ocf_xf_sess {
  struct xelem e[MAX_CHAIN];
  int n;
  bool keyed; /* holds the library context; false: layout only */
};

static EVP_CIPHER_CTX *pool_get(struct pool *p) {
  EVP_CIPHER_CTX *c = NULL;
  pthread_mutex_lock(&p->m);
  if (p->n > 0) c = p->free[--p->n];
  pthread_mutex_unlock(&p->m);
  if (c != NULL) return c;
  c = EVP_CIPHER_CTX_new();
  if (c != NULL && !EVP_CIPHER_CTX_copy(c, p->tmpl)) {
    EVP_CIPHER_CTX_free(c);
    c = NULL;
  }
  return c;
}

static void pool_put(struct pool *p, EVP_CIPHER_CTX *c) {
  pthread_mutex_lock(&p->m);
  if (p->n < POOL_MAX) {
    p->free[p->n++] = c;
    c = NULL;
  }
  pthread_mutex_unlock(&p->m);
  EVP_CIPHER_CTX_free(c); /* wipes the key schedule */
}

static void pool_fini(struct pool *p) {
  for (int i = 0; i < p->n; i++) EVP_CIPHER_CTX_free(p->free[i]);
  p->n = 0;
  EVP_CIPHER_CTX_free(p->tmpl);
  p->tmpl = NULL;
  pthread_mutex_destroy(&p->m);
}

static EVP_CIPHER_CTX *make_tmpl(struct xelem *e, const struct ocf_sessparam *sp, int enc) {
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  if (c == NULL) return NULL;
  bool ok = EVP_CipherInit_ex2(c, e->ciph, NULL, NULL, enc, NULL);
  if (ok && (e->alg == OCF_ALG_BLOWFISH_CBC || e->alg == OCF_ALG_CAST5_CBC))
    ok = EVP_CIPHER_CTX_set_key_length(c, (int)sp->keylen) > 0;
  if (ok && e->cls == OCF_CLASS_AEAD && (int)e->ivlen != EVP_CIPHER_get_iv_length(e->ciph))
    ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, (int)e->ivlen, NULL) > 0;
  if (ok) ok = EVP_CipherInit_ex2(c, NULL, sp->key, NULL, enc, NULL);
  if (ok && e->cls == OCF_CLASS_CIPHER) ok = EVP_CIPHER_CTX_set_padding(c, 0);
  if (!ok) {
    ERR_clear_error();
    EVP_CIPHER_CTX_free(c);
    return NULL;
  }
  return c;
}

static void elem_fini(struct xelem *e) {
  if (e->ciph != NULL) {
    pool_fini(&e->enc);
    pool_fini(&e->dec);
    EVP_CIPHER_free(e->ciph);
  }
  EVP_MAC_CTX_free(e->mtmpl);
  EVP_MAC_free(e->mac);
  EVP_MD_free(e->md);
  memset(e, 0, sizeof(*e));
}

static int elem_init(struct xelem *e, const struct ocf_sessparam *sp, bool keyed) {
  const struct ocf_alg_info *ai = ocf_alg_lookup(sp->alg);
  if (ai == NULL) return ENOTSUP;
  e->alg = sp->alg;
  e->cls = ai->cls;
  e->ivlen = sp->ivlen ? sp->ivlen : ai->ivlen;
  e->maclen = sp->maclen ? sp->maclen : ai->maclen;
  if (!keyed || e->alg == OCF_ALG_NULL) return 0;
  if (!ocf_xf_supports(sp->alg)) return ENOTSUP;
  if (e->cls == OCF_CLASS_CIPHER || e->cls == OCF_CLASS_AEAD) {
    char name[32];
    if (!cipher_name(e->alg, sp->keylen, name, sizeof(name))) return ENOTSUP;
    e->ciph = EVP_CIPHER_fetch(lib, name, NULL);
    if (e->ciph == NULL) {
      ERR_clear_error();
      ocf_log(1, "xform: OpenSSL has no %s", name);
      return ENOTSUP;
    }
    pthread_mutex_init(&e->enc.m, NULL);
    pthread_mutex_init(&e->dec.m, NULL);
    e->enc.tmpl = make_tmpl(e, sp, 1);
    e->dec.tmpl = make_tmpl(e, sp, 0);
    return e->enc.tmpl && e->dec.tmpl ? 0 : EINVAL;
  }
  const char *dn = digest_name(e->alg);
  if (dn == NULL) return ENOTSUP;
  if (is_hmac(e->alg)) {
    OSSL_PARAM params[2] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)dn, 0),
                            OSSL_PARAM_construct_end()};
    static const uint8_t nokey[1];
    e->mac = EVP_MAC_fetch(lib, "HMAC", NULL);
    e->mtmpl = e->mac ? EVP_MAC_CTX_new(e->mac) : NULL;
    if (e->mtmpl == NULL ||
        !EVP_MAC_init(e->mtmpl, sp->key ? sp->key : nokey, sp->keylen, params)) {
      ERR_clear_error();
      return EINVAL;
    }
    return 0;
  }
  e->md = EVP_MD_fetch(lib, dn, NULL);
  if (e->md == NULL) {
    ERR_clear_error();
    return ENOTSUP;
  }
  return 0;
}

static int xf_new(struct ocf_xf_sess **out, const struct ocf_sessparam *chain, bool keyed) {
  if (out == NULL || chain == NULL) return EINVAL;
  int rc = keyed ? ocf_xf_hold() : 0;
  if (rc != 0) return rc;
  struct ocf_xf_sess *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    if (keyed) ocf_xf_release();
    return ENOMEM;
  }
  s->keyed = keyed;
  for (const struct ocf_sessparam *p = chain; p != NULL && rc == 0; p = p->next) {
    if (s->n == MAX_CHAIN) {
      rc = EINVAL;
      break;
    }
    rc = elem_init(&s->e[s->n++], p, keyed);
  }
  if (rc != 0) {
    ocf_xf_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

int ocf_xf_new(struct ocf_xf_sess **out, const struct ocf_sessparam *chain) {
  return xf_new(out, chain, true);
}

int ocf_xf_new_layout(struct ocf_xf_sess **out, const struct ocf_sessparam *chain) {
  return xf_new(out, chain, false);
}

void ocf_xf_free(struct ocf_xf_sess *s) {
  if (s == NULL) return;
  bool keyed = s->keyed;
  for (int i = 0; i < s->n; i++) elem_fini(&s->e[i]);
  free(s);
  if (keyed) ocf_xf_release();
}

static struct xelem *elem_for(const struct ocf_xf_sess *s, enum ocf_alg alg) {
  for (int i = 0; i < s->n; i++)
    if (s->e[i].alg == alg) return (struct xelem *)&s->e[i];
  return NULL;
}

/* --- hull and data movement ---------------------------------------------- */

struct span {
  size_t lo, hi;
  bool any;
};

static void span_add(struct span *sp, size_t off, size_t len) {
  if (len == 0) return;
  if (!sp->any || off < sp->lo) sp->lo = off;
  if (!sp->any || off + len > sp->hi) sp->hi = off + len;
  sp->any = true;
}

void ocf_xf_hull(const struct ocf_xf_sess *s, const struct ocf_req *req, size_t *lo, size_t *hi) {
  struct span sp = {0, 0, false};
  for (int i = 0; i < req->ndesc && i < OCF_MAX_DESC; i++) {
    const struct ocf_desc *d = &req->desc[i];
    const struct xelem *e = s ? elem_for(s, d->alg) : NULL;
    const struct ocf_alg_info *ai = ocf_alg_lookup(d->alg);
    if (ai == NULL) continue;
    size_t ivlen = e ? e->ivlen : ai->ivlen, maclen = e ? e->maclen : ai->maclen;
    span_add(&sp, d->skip, d->len);
    if (!(d->flags & OCF_D_IV_EXPLICIT)) span_add(&sp, d->iv_off, ivlen);
    if (ai->cls == OCF_CLASS_AEAD) span_add(&sp, d->aad_skip, d->aad_len);
    if (ai->cls == OCF_CLASS_AEAD || ai->cls == OCF_CLASS_MAC) span_add(&sp, d->inject, maclen);
  }
  *lo = sp.any ? sp.lo : 0;
  *hi = sp.any ? sp.hi : 0;
}

void ocf_xf_dma_in(const struct ocf_req *req, uint8_t *flat, size_t lo, size_t hi) {
  size_t inlen = ocf_buf_len(&req->buf);
  size_t end = hi < inlen ? hi : inlen;
  if (end > lo) ocf_buf_copyout(&req->buf, lo, flat, end - lo);
  if (hi > lo && end < hi) memset(flat + (end > lo ? end - lo : 0), 0, hi - (end > lo ? end : lo));
}

void ocf_xf_dma_out(const struct ocf_req *req, const uint8_t *flat, size_t lo, size_t hi) {
  const struct ocf_buf *dst = req->out.type != OCF_BUF_NONE ? &req->out : &req->buf;
  size_t dlen = ocf_buf_len(dst);
  size_t end = hi < dlen ? hi : dlen;
  if (end > lo) ocf_buf_copyin(dst, lo, flat, end - lo);
}

/* at: pointer to [off, off+len) inside flat (bytes [base, base+n)); NULL if
 * outside.  Empty ranges get a valid pointer. */
static uint8_t *at(uint8_t *flat, size_t base, size_t n, size_t off, size_t len) {
  static uint8_t empty[1];
  if (len == 0) return empty;
  if (off < base || off - base > n || len > n - (off - base)) return NULL;
  return flat + (off - base);
}

/* --- operations ---------------------------------------------------------- */

struct flat {
  uint8_t *p;
  size_t base, n;
};

static int get_iv(const struct xelem *e, struct ocf_desc *d, const struct flat *f, uint8_t *iv) {
  if (e->ivlen == 0) return 0;
  if (e->ivlen > OCF_MAX_IV) return EINVAL;
  if (d->flags & OCF_D_IV_EXPLICIT) {
    memcpy(iv, d->iv, e->ivlen);
    return 0;
  }
  uint8_t *p = at(f->p, f->base, f->n, d->iv_off, e->ivlen);
  if (p == NULL) return EINVAL;
  if (d->flags & OCF_D_IV_PRESENT) {
    memcpy(iv, p, e->ivlen);
    return 0;
  }
  if (!(d->flags & OCF_D_ENCRYPT)) return EINVAL;
  int rc = ocf_random(iv, e->ivlen);
  if (rc != 0) return rc;
  memcpy(p, iv, e->ivlen);
  memcpy(d->iv, iv, e->ivlen);
  return 0;
}

static int ossl_fail(const char *what) {
  unsigned long err = ERR_get_error();
  char msg[200];
  ERR_error_string_n(err, msg, sizeof(msg));
  ERR_clear_error();
  ocf_log(0, "xform: %s failed: %s", what, err ? msg : "no OpenSSL error queued");
  return EIO;
}

static int do_cipher(struct xelem *e, struct ocf_desc *d, const struct flat *f) {
  if (e->alg == OCF_ALG_NULL) return 0;
  bool enc = d->flags & OCF_D_ENCRYPT;
  uint8_t iv[OCF_MAX_IV];
  uint8_t *p = at(f->p, f->base, f->n, d->skip, d->len);
  if (p == NULL || d->len > INT_MAX) return EINVAL;
  int rc = get_iv(e, d, f, iv);
  if (rc != 0) return rc;
  struct pool *pl = enc ? &e->enc : &e->dec;
  EVP_CIPHER_CTX *c = pool_get(pl);
  if (c == NULL) return ENOMEM;
  int outl = 0;
  if (!EVP_CipherInit_ex2(c, NULL, NULL, iv, -1, NULL))
    rc = ossl_fail("cipher IV");
  else if (d->len > 0 && (!EVP_CipherUpdate(c, p, &outl, p, (int)d->len) || (size_t)outl != d->len))
    rc = ossl_fail("cipher");
  pool_put(pl, c);
  return rc;
}

static int do_aead(struct xelem *e, struct ocf_desc *d, const struct flat *f) {
  bool enc = d->flags & OCF_D_ENCRYPT;
  uint8_t iv[OCF_MAX_IV], tag[16], fin[16];
  uint8_t *p = at(f->p, f->base, f->n, d->skip, d->len);
  uint8_t *aad = at(f->p, f->base, f->n, d->aad_skip, d->aad_len);
  uint8_t *tp = at(f->p, f->base, f->n, d->inject, e->maclen);
  if (!p || !aad || !tp || e->maclen == 0 || e->maclen > sizeof(tag) || d->len > INT_MAX ||
      d->aad_len > INT_MAX)
    return EINVAL;
  int rc = get_iv(e, d, f, iv);
  if (rc != 0) return rc;
  if (!enc) memcpy(tag, tp, e->maclen); /* before the payload may overwrite it */
  struct pool *pl = enc ? &e->enc : &e->dec;
  EVP_CIPHER_CTX *c = pool_get(pl);
  if (c == NULL) return ENOMEM;
  int outl;
  bool ok = EVP_CipherInit_ex2(c, NULL, NULL, iv, -1, NULL);
  if (ok && d->aad_len > 0) ok = EVP_CipherUpdate(c, NULL, &outl, aad, (int)d->aad_len);
  if (ok && d->len > 0) ok = EVP_CipherUpdate(c, p, &outl, p, (int)d->len);
  if (ok && !enc) ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, (int)e->maclen, tag) > 0;
  if (!ok) {
    rc = ossl_fail("AEAD");
  } else if (!EVP_CipherFinal_ex(c, fin, &outl)) {
    if (enc) {
      rc = ossl_fail("AEAD final");
    } else {
      ERR_clear_error();
      OPENSSL_cleanse(p, d->len); /* never hand out unauthenticated plaintext */
      rc = EBADMSG;
    }
  } else if (enc) {
    if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, (int)e->maclen, tag) <= 0)
      rc = ossl_fail("AEAD tag");
    else
      memcpy(tp, tag, e->maclen);
  }
  pool_put(pl, c);
  return rc;
}

static int do_mac(struct xelem *e, struct ocf_desc *d, const struct flat *f) {
  uint8_t md[MAX_MD];
  size_t outl = 0;
  uint8_t *p = at(f->p, f->base, f->n, d->skip, d->len);
  uint8_t *tp = at(f->p, f->base, f->n, d->inject, e->maclen);
  if (!p || !tp || e->maclen == 0 || e->maclen > MAX_MD) return EINVAL;
  bool ok;
  if (e->mtmpl != NULL) {
    EVP_MAC_CTX *c = EVP_MAC_CTX_dup(e->mtmpl);
    ok = c != NULL && EVP_MAC_update(c, p, d->len) && EVP_MAC_final(c, md, &outl, sizeof(md));
    EVP_MAC_CTX_free(c);
  } else {
    unsigned int ul = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    ok = c != NULL && EVP_DigestInit_ex2(c, e->md, NULL) && EVP_DigestUpdate(c, p, d->len) &&
         EVP_DigestFinal_ex(c, md, &ul);
    EVP_MD_CTX_free(c);
    outl = ul;
  }
  if (!ok || outl < e->maclen) {
    OPENSSL_cleanse(md, sizeof(md));
    return ossl_fail("MAC");
  }
  int rc = 0;
  if (d->flags & OCF_D_VERIFY) {
    if (CRYPTO_memcmp(tp, md, e->maclen) != 0) rc = EBADMSG;
  } else {
    memcpy(tp, md, e->maclen);
  }
  OPENSSL_cleanse(md, sizeof(md));
  return rc;
}

int ocf_xf_apply(struct ocf_xf_sess *s, struct ocf_req *req, uint8_t *flat, size_t base, size_t n) {
  struct flat f = {flat, base, n};
  if (s == NULL || !s->keyed || req->ndesc < 1 || req->ndesc > OCF_MAX_DESC) return EINVAL;
  for (int i = 0; i < req->ndesc; i++) {
    struct ocf_desc *d = &req->desc[i];
    struct xelem *e = elem_for(s, d->alg);
    if (e == NULL) return EINVAL;
    int rc;
    switch (e->cls) {
      case OCF_CLASS_CIPHER:
        rc = do_cipher(e, d, &f);
        break;
      case OCF_CLASS_AEAD:
        rc = do_aead(e, d, &f);
        break;
      case OCF_CLASS_MAC:
        rc = do_mac(e, d, &f);
        break;
      default:
        rc = ENOTSUP;
        break;
    }
    if (rc != 0) return rc;
  }
  return 0;
}

/* contig: a pointer to [lo, hi) of b when that range is one segment. */
static uint8_t *contig(const struct ocf_buf *b, size_t lo, size_t hi) {
  uint8_t *p;
  size_t avail;
  if (hi <= lo || ocf_buf_segment(b, lo, &p, &avail) != 0 || avail < hi - lo) return NULL;
  return p;
}

int ocf_xf_run(struct ocf_xf_sess *s, struct ocf_req *req) {
  size_t lo, hi;
  ocf_xf_hull(s, req, &lo, &hi);
  if (hi <= lo) {
    uint8_t none[1];
    return ocf_xf_apply(s, req, none, 0, 0);
  }
  bool sep = req->out.type != OCF_BUF_NONE;
  const struct ocf_buf *work = sep ? &req->out : &req->buf;
  uint8_t *wp = contig(work, lo, hi);
  if (wp != NULL) {
    if (sep) {
      uint8_t *ip = contig(&req->buf, lo, hi);
      if (ip != NULL)
        memmove(wp, ip, hi - lo);
      else
        ocf_xf_dma_in(req, wp, lo, hi);
    }
    return ocf_xf_apply(s, req, wp, lo, hi - lo);
  }
  uint8_t *bounce = malloc(hi - lo);
  if (bounce == NULL) return ENOMEM;
  ocf_xf_dma_in(req, bounce, lo, hi);
  int rc = ocf_xf_apply(s, req, bounce, lo, hi - lo);
  if (rc == 0) ocf_xf_dma_out(req, bounce, lo, hi);
  OPENSSL_cleanse(bounce, hi - lo);
  free(bounce);
  return rc;
}

/* --- public key ---------------------------------------------------------- */

static BIGNUM *kparam(const struct ocf_kreq *k, int i) {
  size_t len = (k->param[i].nbits + 7) / 8;
  if (len > INT_MAX || (len > 0 && k->param[i].p == NULL)) return NULL;
  BIGNUM *b = BN_secure_new();
  if (b != NULL && len > 0 && BN_lebin2bn(k->param[i].p, (int)len, b) == NULL) {
    BN_free(b);
    return NULL;
  }
  return b;
}

int ocf_xf_kop(const struct ocf_kreq *k, uint8_t *out, size_t outlen) {
  int need;
  if (k->op == OCF_KOP_MOD_EXP)
    need = 3;
  else if (k->op == OCF_KOP_MOD_EXP_CRT)
    need = 6;
  else
    return ENOTSUP;
  if (k->iparams < need || k->oparams < 1 || outlen > INT_MAX) return EINVAL;
  BIGNUM *v[6] = {0}, *r = BN_secure_new(), *t1 = BN_secure_new(), *t2 = BN_secure_new();
  BN_CTX *ctx = BN_CTX_secure_new();
  int rc = 0;
  for (int i = 0; i < need; i++)
    if ((v[i] = kparam(k, i)) == NULL) rc = EINVAL;
  if (!r || !t1 || !t2 || !ctx) rc = ENOMEM;
  if (rc == 0 && k->op == OCF_KOP_MOD_EXP) {
    /* base, exponent, modulus */
    BN_set_flags(v[1], BN_FLG_CONSTTIME);
    if (BN_is_zero(v[2]) || !BN_mod_exp(r, v[0], v[1], v[2], ctx)) rc = EINVAL;
  } else if (rc == 0) {
    /* p, q, message, dp, dq, qinv: m1 = c^dp mod p, m2 = c^dq mod q,
     * h = qinv (m1 - m2) mod p, result = m2 + h q */
    BIGNUM *p = v[0], *q = v[1], *c = v[2], *dp = v[3], *dq = v[4], *qi = v[5];
    BN_set_flags(dp, BN_FLG_CONSTTIME);
    BN_set_flags(dq, BN_FLG_CONSTTIME);
    bool ok = !BN_is_zero(p) && !BN_is_zero(q) && BN_nnmod(t1, c, p, ctx) &&
              BN_mod_exp(t1, t1, dp, p, ctx) && BN_nnmod(t2, c, q, ctx) &&
              BN_mod_exp(t2, t2, dq, q, ctx) && BN_mod_sub(r, t1, t2, p, ctx) &&
              BN_mod_mul(r, r, qi, p, ctx) && BN_mul(r, r, q, ctx) && BN_add(r, r, t2);
    if (!ok) rc = EINVAL;
  }
  if (rc == 0 && BN_bn2lebinpad(r, out, (int)outlen) < 0) rc = ERANGE;
  ERR_clear_error();
  for (int i = 0; i < 6; i++) BN_clear_free(v[i]);
  BN_clear_free(r);
  BN_clear_free(t1);
  BN_clear_free(t2);
  BN_CTX_free(ctx);
  return rc;
}
