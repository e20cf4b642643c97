/*
 * cipher_aead.c - AES-GCM, AES-CCM and ChaCha20-Poly1305.
 *
 * A framework AEAD request is one whole message: AAD, payload and tag at
 * once.  EVP streams, and only the caller knows when a message ends, so a
 * message goes to the framework only when its length is known before its
 * first payload byte arrives:
 *  - a TLS 1.2 record (the tlsaad parameter, then one update over the
 *    record: explicit IV, payload, tag);
 *  - an AES-CCM message (OpenSSL allows CCM one payload update);
 *  - a message whose AAD is a TLS 1.3 record header (5 bytes: type 23,
 *    version 3.3, a length) announcing exactly the payload that follows
 *    plus the tag, as libssl's TLS 1.3 records are.
 * Decryption through the framework also needs the tag before the payload,
 * which TLS and CCM provide.  Everything else streams through the default
 * provider's implementation (the inline path), AAD kept here until the
 * path is known.  A second payload update after a framework message is
 * refused: the AAD announced a shorter message.
 *
 * A framework decryption whose tag does not verify wipes the output: the
 * final call (the update, for CCM and TLS records) fails and no plaintext
 * is released.  The TLS 1.2 nonces (fixed IV plus explicit part, GCM's
 * invocation counter, ChaCha20's sequence-number XOR) are built here, so
 * that each record can take either path.
 */
#include <errno.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "provider/cipher.h"

#define TLS_AAD_LEN 13
#define TLS_EXPLICIT 8 /* GCM and CCM explicit nonce in a TLS 1.2 record */
#define TLS_FIXED 4
#define MAX_IV 128

enum { M_IDLE = 0, M_INLINE, M_FW, M_FINISHED };

struct actx {
  struct ocfprov *p;
  struct cdef *def;
  const struct dcfns *fns;
  void *dctx;
  bool div_ok; /* dctx holds our current IV (it got our last init) */
  int enc;     /* -1 before init */
  bool key_set, iv_set;
  uint8_t key[32];
  size_t keylen;
  uint8_t iv[MAX_IV];
  size_t ivlen;
  size_t taglen;
  uint8_t tag[16];
  bool tag_set;   /* decryption: the expected tag was given */
  bool tag_ready; /* encryption through the framework: tag holds the result */
  int mstate;     /* M_* for the current message */
  bool fw_bad;    /* the framework found the tag wrong */
  uint8_t *aad;   /* AAD kept until the path is known */
  size_t aadlen, aadcap;
  bool ccm_len_set;
  size_t ccm_len;
  uint8_t tlsaad[TLS_AAD_LEN];
  bool tls;            /* a TLS 1.2 record comes next */
  bool iv_gen;         /* giv was set by tlsivfixed */
  uint8_t giv[MAX_IV]; /* TLS 1.2: fixed IV (+ GCM's invocation field, the next one) */
  struct osess *sess;
  int sess_err;
  size_t sess_ivlen, sess_taglen;
};

static bool is_ccm(const struct actx *c) { return c->def->mode == EVP_CIPH_CCM_MODE; }
static bool is_gcm(const struct actx *c) { return c->def->mode == EVP_CIPH_GCM_MODE; }

static void *ae_newctx(void *provctx, struct cdef *def) {
  struct ocfprov *p = provctx;
  if (!ocfprov_usable(p)) return NULL;
  const struct dcfns *fns = cdef_fns(p, def);
  if (fns == NULL) return NULL;
  struct actx *c = zalloc(sizeof(*c));
  if (c == NULL) {
    ocfprov_err(p, OCFPROV_R_MALLOC, "cipher context");
    return NULL;
  }
  c->p = p;
  c->def = def;
  c->fns = fns;
  c->enc = -1;
  c->dctx = fns->newctx(dl_provctx(p));
  if (c->dctx == NULL) {
    free(c);
    return NULL;
  }
  /* Start from the default provider's lengths (CCM: a 7-byte nonce and a
   * 12-byte tag, not the algorithm's nominal 12-byte IV). */
  OSSL_PARAM pp[] = {OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_IVLEN, &c->ivlen),
                     OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_AEAD_TAGLEN, &c->taglen),
                     OSSL_PARAM_construct_end()};
  if (!fns->get_ctx_params(c->dctx, pp) || c->ivlen == 0 || c->ivlen > MAX_IV || c->taglen == 0 ||
      c->taglen > sizeof(c->tag)) {
    c->ivlen = def->ivlen;
    c->taglen = 16;
  }
  return c;
}

static void ae_freectx(void *vctx) {
  struct actx *c = vctx;
  if (c == NULL) return;
  c->fns->freectx(c->dctx);
  be_freesession(c->sess);
  wipe_free(c->aad, c->aadcap);
  OPENSSL_cleanse(c, sizeof(*c));
  free(c);
}

static void *ae_dupctx(void *vctx) {
  struct actx *src = vctx;
  struct actx *c = malloc(sizeof(*c));
  if (c == NULL) return NULL;
  *c = *src;
  c->sess = NULL;
  c->sess_err = 0;
  c->aad = NULL;
  if (src->aadcap > 0) {
    c->aad = malloc(src->aadcap);
    if (c->aad == NULL) {
      free(c);
      return NULL;
    }
    memcpy(c->aad, src->aad, src->aadlen);
  }
  c->dctx = src->fns->dupctx(src->dctx);
  if (c->dctx == NULL) {
    wipe_free(c->aad, c->aadcap);
    free(c);
    return NULL;
  }
  return c;
}

static int ae_set_ctx_params(void *vctx, const OSSL_PARAM params[]);

static void new_message(struct actx *c) {
  c->mstate = M_IDLE;
  c->aadlen = 0;
  c->fw_bad = false;
  c->tag_ready = false;
  c->ccm_len_set = false;
}

static int ae_init(void *vctx, const unsigned char *key, size_t keylen, const unsigned char *iv,
                   size_t ivlen, const OSSL_PARAM params[], int enc) {
  struct actx *c = vctx;
  /* Parameters first (an IV length must precede the IV), ours and the
   * default provider's: its context checks and keeps the same settings. */
  if (!ae_set_ctx_params(c, params)) return 0;
  int ok = enc ? c->fns->einit(c->dctx, key, keylen, iv, ivlen, NULL)
               : c->fns->dinit(c->dctx, key, keylen, iv, ivlen, NULL);
  if (!ok) return 0;
  if (key != NULL) {
    if (keylen > sizeof(c->key)) {
      ocfprov_err(c->p, OCFPROV_R_BAD_KEY_LENGTH, "%zu bytes", keylen);
      return 0;
    }
    if (c->key_set && (keylen != c->keylen || memcmp(key, c->key, keylen) != 0)) {
      be_freesession(c->sess);
      c->sess = NULL;
      c->sess_err = 0;
    }
    memcpy(c->key, key, keylen);
    c->keylen = keylen;
    c->key_set = true;
  }
  if (iv != NULL) {
    if (ivlen != c->ivlen || ivlen > MAX_IV) {
      ocfprov_err(c->p, OCFPROV_R_BAD_IV_LENGTH, "%zu bytes, expected %zu", ivlen, c->ivlen);
      return 0;
    }
    memcpy(c->iv, iv, ivlen);
    c->iv_set = true;
    c->iv_gen = false;
  }
  c->enc = enc;
  c->div_ok = true;
  new_message(c);
  return 1;
}

static int ae_einit(void *vctx, const unsigned char *key, size_t keylen, const unsigned char *iv,
                    size_t ivlen, const OSSL_PARAM params[]) {
  return ae_init(vctx, key, keylen, iv, ivlen, params, 1);
}

static int ae_dinit(void *vctx, const unsigned char *key, size_t keylen, const unsigned char *iv,
                    size_t ivlen, const OSSL_PARAM params[]) {
  return ae_init(vctx, key, keylen, iv, ivlen, params, 0);
}

/* --- the inline path --------------------------------------------------------- */

static int dl_set_tag(struct actx *c) {
  OSSL_PARAM pp[] = {
      OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, c->tag, c->taglen),
      OSSL_PARAM_construct_end()};
  return c->fns->set_ctx_params(c->dctx, pp);
}

/* inline_start begins the current message on the default provider's
 * context: the IV if it changed since init, the tag, the AAD kept. */
static int inline_start(struct actx *c, const uint8_t *nonce) {
  if (nonce != NULL || !c->div_ok) {
    int ok = c->enc ? c->fns->einit(c->dctx, NULL, 0, nonce ? nonce : c->iv, c->ivlen, NULL)
                    : c->fns->dinit(c->dctx, NULL, 0, nonce ? nonce : c->iv, c->ivlen, NULL);
    if (!ok) return 0;
    c->div_ok = nonce == NULL;
  }
  if (!c->enc && c->tag_set && !dl_set_tag(c)) return 0;
  size_t outl;
  /* (the default provider checks outsize even when there is no output) */
  if (is_ccm(c) && c->ccm_len_set &&
      !c->fns->update(c->dctx, NULL, &outl, c->ccm_len, NULL, c->ccm_len))
    return 0;
  if (c->aadlen > 0 && !c->fns->update(c->dctx, NULL, &outl, c->aadlen, c->aad, c->aadlen))
    return 0;
  c->mstate = M_INLINE;
  return 1;
}

/* --- the framework path ------------------------------------------------------ */

static int ensure_session(struct actx *c) {
  if (c->sess != NULL && c->sess_ivlen == c->ivlen && c->sess_taglen == c->taglen) return 0;
  if (c->sess_err != 0) return c->sess_err;
  be_freesession(c->sess);
  c->sess = NULL;
  struct ocf_sessparam sp = {.alg = c->def->alg,
                             .key = c->key,
                             .keylen = c->keylen,
                             .maclen = c->taglen,
                             .ivlen = c->ivlen};
  int rc = be_newsession(c->p, &sp, &c->sess);
  if (rc != 0) {
    c->sess_err = rc;
    return rc;
  }
  c->sess_ivlen = c->ivlen;
  c->sess_taglen = c->taglen;
  return 0;
}

/* fw_seal runs one whole message through the framework in place in data[n]
 * with aad[aadlen]; tag is written (encryption) or checked.  Returns 0,
 * EBADMSG, or an errno that sends the message inline (data unchanged). */
static int fw_seal(struct actx *c, const uint8_t *nonce, const uint8_t *aad, size_t aadlen,
                   uint8_t *data, size_t n, uint8_t *tag, struct bstat *bs) {
  int rc = ensure_session(c);
  if (rc != 0) return rc;
  struct iovec seg[3];
  int nseg = 0;
  if (aadlen > 0) seg[nseg++] = (struct iovec){(void *)aad, aadlen};
  if (n > 0) seg[nseg++] = (struct iovec){data, n};
  seg[nseg++] = (struct iovec){tag, c->taglen};
  struct ocf_desc d = {.alg = c->def->alg,
                       .flags = (c->enc ? OCF_D_ENCRYPT : 0) | OCF_D_IV_EXPLICIT,
                       .aad_skip = 0,
                       .aad_len = aadlen,
                       .skip = aadlen,
                       .len = n,
                       .inject = aadlen + n};
  memcpy(d.iv, nonce, c->ivlen);
  return be_crypt(c->sess, &d, 1, seg, nseg, bs);
}

/* fw_possible tells whether the framework can take messages of this
 * context (nonce length, a session); fw_ok adds that decryption needs the
 * tag before the payload. */
static bool fw_possible(struct actx *c) {
  if (c->sess_err != 0 || c->ivlen > OCF_MAX_IV || !be_available(c->p)) return false;
  if (c->def->alg == OCF_ALG_CHACHA20_POLY1305 && c->ivlen != 12) return false;
  if (is_ccm(c) && (c->ivlen < 7 || c->ivlen > 13)) return false;
  return true;
}

static bool fw_ok(struct actx *c) { return fw_possible(c) && (c->enc || c->tag_set); }

/* announced tells whether the AAD is a TLS 1.3 record header announcing n
 * payload bytes and the tag. */
static bool announced(const struct actx *c, size_t n) {
  if (c->aadlen != 5 || c->aad[0] != 23 || c->aad[1] != 3 || c->aad[2] != 3) return false;
  return ((size_t)c->aad[3] << 8 | c->aad[4]) == n + c->taglen;
}

/* --- updates ----------------------------------------------------------------- */

static int keep_aad(struct actx *c, const uint8_t *in, size_t inl) {
  if (c->aadlen + inl > c->aadcap) {
    size_t cap = c->aadcap ? c->aadcap : 64;
    while (cap < c->aadlen + inl) cap *= 2;
    uint8_t *a = malloc(cap);
    if (a == NULL) {
      ocfprov_err(c->p, OCFPROV_R_MALLOC, "AAD");
      return 0;
    }
    if (c->aadlen) memcpy(a, c->aad, c->aadlen);
    wipe_free(c->aad, c->aadcap);
    c->aad = a;
    c->aadcap = cap;
  }
  memcpy(c->aad + c->aadlen, in, inl);
  c->aadlen += inl;
  return 1;
}

static int tls_record(struct actx *c, uint8_t *out, size_t *outl, size_t outsize, const uint8_t *in,
                      size_t len);

/* payload handles the first payload update of a message: one framework
 * request when the message's length is known, else the inline stream. */
static int payload(struct actx *c, uint8_t *out, size_t *outl, const uint8_t *in, size_t inl) {
  bool whole = is_ccm(c) || announced(c, inl);
  struct dticket t;
  if (dec_choose(c->p, c->def->fam, inl, whole && fw_ok(c), &t) == PATH_FW) {
    if (out != in) memmove(out, in, inl);
    struct bstat bs;
    int rc = fw_seal(c, c->iv, c->aad, c->aadlen, out, inl, c->tag, &bs);
    if (rc == 0 || rc == EBADMSG) {
      dec_done(c->p, &t, &bs);
      c->mstate = M_FW;
      c->tag_ready = c->enc;
      *outl = inl;
      if (rc == EBADMSG) {
        OPENSSL_cleanse(out, inl);
        c->fw_bad = true;
        if (is_ccm(c)) {
          ocfprov_err(c->p, OCFPROV_R_TAG_MISMATCH, "%s", c->def->name);
          return 0;
        }
      }
      return 1;
    }
    STAT_ADD(c->p, fallbacks, 1);
    in = out;
    t.timed = false;
  }
  if (!inline_start(c, NULL)) return 0;
  if (!c->fns->update(c->dctx, out, outl, inl, in, inl)) return 0;
  cipher_inline_stats(c->p, inl);
  dec_done(c->p, &t, NULL);
  return 1;
}

static int ae_update(void *vctx, unsigned char *out, size_t *outl, size_t outsize,
                     const unsigned char *in, size_t inl) {
  struct actx *c = vctx;
  if (c->mstate == M_INLINE && out != NULL) {
    /* The streaming fast path: straight to the default provider. */
    if (!c->fns->update(c->dctx, out, outl, outsize, in, inl)) return 0;
    cipher_inline_stats(c->p, inl);
    return 1;
  }
  if (c->enc < 0 || !c->key_set) {
    ocfprov_err(c->p, OCFPROV_R_NO_KEY, "%s", c->def->name);
    return 0;
  }
  if (c->tls) return tls_record(c, out, outl, outsize, in, inl);
  if (!c->iv_set) {
    ocfprov_err(c->p, OCFPROV_R_NO_IV, "%s", c->def->name);
    return 0;
  }
  if (c->mstate == M_FW || c->mstate == M_FINISHED) {
    ocfprov_err(c->p, OCFPROV_R_BAD_STATE,
                "%s: the message was complete; set a new IV before the next one", c->def->name);
    return 0;
  }
  if (c->mstate == M_INLINE) /* AAD (out == NULL) during a stream */
    return c->fns->update(c->dctx, out, outl, outsize, in, inl);
  if (out == NULL) {
    if (in == NULL && is_ccm(c)) { /* CCM: the payload length */
      c->ccm_len = inl;
      c->ccm_len_set = true;
      *outl = inl;
      return 1;
    }
    if (!keep_aad(c, in, inl)) return 0;
    *outl = inl;
    return 1;
  }
  if (outsize < inl) {
    ocfprov_err(c->p, OCFPROV_R_OUT_TOO_SMALL, "%zu bytes for %zu", outsize, inl);
    return 0;
  }
  if (is_ccm(c) && c->ccm_len_set && c->ccm_len != inl) {
    ocfprov_err(c->p, OCFPROV_R_BAD_LENGTH, "CCM payload of %zu bytes, announced %zu", inl,
                c->ccm_len);
    return 0;
  }
  return payload(c, out, outl, in, inl);
}

static int ae_final(void *vctx, unsigned char *out, size_t *outl, size_t outsize) {
  struct actx *c = vctx;
  *outl = 0;
  if (c->enc < 0 || !c->key_set) {
    ocfprov_err(c->p, OCFPROV_R_NO_KEY, "%s", c->def->name);
    return 0;
  }
  if (c->tls) return 1;
  if (c->mstate == M_FW) {
    c->mstate = M_FINISHED;
    if (c->fw_bad) {
      ocfprov_err(c->p, OCFPROV_R_TAG_MISMATCH, "%s", c->def->name);
      return 0;
    }
    return 1;
  }
  if (c->mstate == M_IDLE) {
    if (!c->iv_set) {
      ocfprov_err(c->p, OCFPROV_R_NO_IV, "%s", c->def->name);
      return 0;
    }
    if (!inline_start(c, NULL)) return 0;
  } else if (c->mstate == M_FINISHED) {
    ocfprov_err(c->p, OCFPROV_R_BAD_STATE, "%s: final called twice", c->def->name);
    return 0;
  }
  /* A tag given after the payload is checked now. */
  if (!c->enc && c->tag_set && !is_ccm(c) && !dl_set_tag(c)) return 0;
  c->mstate = M_FINISHED;
  return c->fns->final(c->dctx, out, outl, outsize);
}

/* --- TLS 1.2 records ----------------------------------------------------------- */

static void ctr64_inc(uint8_t *b) {
  for (int i = 7; i >= 0; i--)
    if (++b[i] != 0) break;
}

/* tls_record seals or opens one record in place: [explicit nonce] payload
 * tag, the AAD from tlsaad. */
static int tls_record(struct actx *c, uint8_t *out, size_t *outl, size_t outsize, const uint8_t *in,
                      size_t len) {
  c->tls = false;
  size_t explicit = c->def->alg == OCF_ALG_CHACHA20_POLY1305 ? 0 : TLS_EXPLICIT;
  if (out != in || len < explicit + c->taglen || outsize < len) {
    ocfprov_err(c->p, OCFPROV_R_BAD_LENGTH, "TLS record of %zu bytes", len);
    return 0;
  }
  if (!c->iv_gen) {
    ocfprov_err(c->p, OCFPROV_R_NO_IV, "TLS record without a fixed IV");
    return 0;
  }
  uint8_t nonce[MAX_IV];
  memcpy(nonce, c->giv, c->ivlen);
  if (is_gcm(c)) {
    if (c->enc) {
      memcpy(out, c->giv + c->ivlen - TLS_EXPLICIT, TLS_EXPLICIT);
      ctr64_inc(c->giv + c->ivlen - TLS_EXPLICIT);
    } else {
      memcpy(nonce + c->ivlen - TLS_EXPLICIT, out, TLS_EXPLICIT);
    }
  } else if (is_ccm(c)) {
    if (c->enc) memcpy(out, c->tlsaad, TLS_EXPLICIT); /* the sequence number */
    memcpy(nonce + TLS_FIXED, out, TLS_EXPLICIT);
  } else {
    for (int i = 0; i < 8; i++) nonce[4 + i] ^= c->tlsaad[i];
  }
  uint8_t *data = out + explicit;
  size_t n = len - explicit - c->taglen;
  uint8_t *tag = data + n;
  struct dticket t;
  int rc = -1;
  c->aadlen = 0;
  if (dec_choose(c->p, c->def->fam, n, fw_possible(c), &t) == PATH_FW) {
    struct bstat bs;
    rc = fw_seal(c, nonce, c->tlsaad, TLS_AAD_LEN, data, n, tag, &bs);
    if (rc == 0 || rc == EBADMSG)
      dec_done(c->p, &t, &bs);
    else {
      STAT_ADD(c->p, fallbacks, 1);
      t.timed = false;
    }
  }
  if (rc != 0 && rc != EBADMSG) {
    /* Inline: the default provider's context as a plain AEAD. */
    size_t ol;
    if (!c->enc) memcpy(c->tag, tag, c->taglen);
    bool tag_was = c->tag_set;
    c->tag_set = !c->enc;
    int ok = inline_start(c, nonce);
    c->tag_set = tag_was;
    if (ok && is_ccm(c)) ok = c->fns->update(c->dctx, NULL, &ol, n, NULL, n);
    if (ok) ok = c->fns->update(c->dctx, NULL, &ol, TLS_AAD_LEN, c->tlsaad, TLS_AAD_LEN);
    if (ok) ok = c->fns->update(c->dctx, data, &ol, n, data, n);
    if (ok && !is_ccm(c)) ok = c->fns->final(c->dctx, data + n, &ol, 0);
    if (ok && c->enc) {
      OSSL_PARAM pp[] = {
          OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, c->taglen),
          OSSL_PARAM_construct_end()};
      ok = c->fns->get_ctx_params(c->dctx, pp);
    }
    c->mstate = M_IDLE;
    rc = ok ? 0 : EBADMSG;
    cipher_inline_stats(c->p, n);
    dec_done(c->p, &t, NULL);
  }
  if (rc != 0) {
    OPENSSL_cleanse(data, n);
    ocfprov_err(c->p, OCFPROV_R_TAG_MISMATCH, "TLS record");
    return 0;
  }
  *outl = c->enc ? len : n;
  return 1;
}

/* tls_aad takes the record's AAD: its length field is corrected to the
 * payload's (the record holds the explicit nonce and the tag too), and the
 * bytes the record grows by are returned (tlsaadpad). */
static int tls_aad(struct actx *c, const OSSL_PARAM *q, size_t *pad) {
  if (q->data_type != OSSL_PARAM_OCTET_STRING || q->data_size != TLS_AAD_LEN || c->enc < 0) {
    ocfprov_err(c->p, OCFPROV_R_BAD_PARAM, "tlsaad");
    return 0;
  }
  memcpy(c->tlsaad, q->data, TLS_AAD_LEN);
  size_t len = (size_t)c->tlsaad[11] << 8 | c->tlsaad[12];
  size_t explicit = c->def->alg == OCF_ALG_CHACHA20_POLY1305 ? 0 : TLS_EXPLICIT;
  if (len < explicit + (c->enc ? 0 : c->taglen)) {
    ocfprov_err(c->p, OCFPROV_R_BAD_LENGTH, "TLS record length %zu", len);
    return 0;
  }
  len -= explicit + (c->enc ? 0 : c->taglen);
  c->tlsaad[11] = (uint8_t)(len >> 8);
  c->tlsaad[12] = (uint8_t)len;
  c->tls = true;
  *pad = c->taglen;
  return 1;
}

/* --- parameters ---------------------------------------------------------------- */

static int ae_get_ctx_params(void *vctx, OSSL_PARAM params[]) {
  struct actx *c = vctx;
  OSSL_PARAM *q;
  if ((q = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_IVLEN)) != NULL &&
      !OSSL_PARAM_set_size_t(q, c->ivlen))
    return 0;
  if ((q = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_KEYLEN)) != NULL &&
      !OSSL_PARAM_set_size_t(q, c->def->keylen))
    return 0;
  if ((q = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_AEAD_TAGLEN)) != NULL &&
      !OSSL_PARAM_set_size_t(q, c->taglen))
    return 0;
  if ((q = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_AEAD_TLS1_AAD_PAD)) != NULL &&
      !OSSL_PARAM_set_size_t(q, c->taglen))
    return 0;
  if ((q = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_IV)) != NULL &&
      !OSSL_PARAM_set_octet_string(q, c->iv, c->ivlen) &&
      !OSSL_PARAM_set_octet_ptr(q, c->iv, c->ivlen))
    return 0;
  if ((q = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_UPDATED_IV)) != NULL &&
      !OSSL_PARAM_set_octet_string(q, c->iv, c->ivlen) &&
      !OSSL_PARAM_set_octet_ptr(q, c->iv, c->ivlen))
    return 0;
  if ((q = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_AEAD_TAG)) != NULL) {
    if (c->enc != 1 || q->data_size == 0 || q->data_size > c->taglen || q->data == NULL ||
        q->data_type != OSSL_PARAM_OCTET_STRING) {
      ocfprov_err(c->p, OCFPROV_R_BAD_TAG_LENGTH, "getting a tag of %zu bytes", q->data_size);
      return 0;
    }
    if (c->tag_ready) {
      memcpy(q->data, c->tag, q->data_size);
      q->return_size = q->data_size;
    } else {
      OSSL_PARAM one[2] = {*q, OSSL_PARAM_construct_end()};
      if (!c->fns->get_ctx_params(c->dctx, one)) return 0;
      q->return_size = one[0].return_size;
    }
  }
  if ((q = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_AEAD_TLS1_GET_IV_GEN)) != NULL) {
    /* GCM's IV generator: this message takes the current IV, whose last
     * bytes are returned; the invocation field then counts on. */
    if (!is_gcm(c) || !c->iv_gen || !c->key_set || q->data == NULL ||
        q->data_type != OSSL_PARAM_OCTET_STRING) {
      ocfprov_err(c->p, OCFPROV_R_BAD_PARAM, "tlsivgen");
      return 0;
    }
    size_t n = q->data_size == 0 || q->data_size > c->ivlen ? c->ivlen : q->data_size;
    memcpy(c->iv, c->giv, c->ivlen);
    memcpy(q->data, c->giv + c->ivlen - n, n);
    q->return_size = n;
    ctr64_inc(c->giv + c->ivlen - 8);
    c->iv_set = true;
    c->div_ok = false;
    new_message(c);
  }
  return 1;
}

static int ae_set_ctx_params(void *vctx, const OSSL_PARAM params[]) {
  struct actx *c = vctx;
  const OSSL_PARAM *q;
  if (params == NULL) return 1;
  if ((q = OSSL_PARAM_locate_const(params, OSSL_CIPHER_PARAM_KEYLEN)) != NULL) {
    size_t v;
    if (!OSSL_PARAM_get_size_t(q, &v) || v != c->def->keylen) {
      ocfprov_err(c->p, OCFPROV_R_BAD_KEY_LENGTH, "%s takes a %zu-byte key", c->def->name,
                  c->def->keylen);
      return 0;
    }
  }
  /* IV and tag lengths and tags: the default provider's context checks
   * them and keeps the same settings. */
  const OSSL_PARAM *ivl = OSSL_PARAM_locate_const(params, OSSL_CIPHER_PARAM_IVLEN);
  const OSSL_PARAM *tag = OSSL_PARAM_locate_const(params, OSSL_CIPHER_PARAM_AEAD_TAG);
  if (ivl != NULL || tag != NULL) {
    OSSL_PARAM fw[3];
    int n = 0;
    if (ivl != NULL) fw[n++] = *ivl;
    if (tag != NULL) fw[n++] = *tag;
    fw[n] = OSSL_PARAM_construct_end();
    if (!c->fns->set_ctx_params(c->dctx, fw)) return 0;
  }
  if (ivl != NULL) {
    size_t v;
    if (!OSSL_PARAM_get_size_t(ivl, &v) || v == 0 || v > MAX_IV) {
      ocfprov_err(c->p, OCFPROV_R_BAD_IV_LENGTH, "%zu", v);
      return 0;
    }
    if (v != c->ivlen) c->iv_set = false;
    c->ivlen = v;
  }
  if (tag != NULL) {
    if (tag->data_type != OSSL_PARAM_OCTET_STRING || tag->data_size == 0 ||
        tag->data_size > sizeof(c->tag) || (tag->data != NULL && c->enc == 1)) {
      ocfprov_err(c->p, OCFPROV_R_BAD_TAG_LENGTH, "%zu", tag->data_size);
      return 0;
    }
    c->taglen = tag->data_size;
    if (tag->data != NULL) {
      memcpy(c->tag, tag->data, tag->data_size);
      c->tag_set = true;
    }
  }
  if ((q = OSSL_PARAM_locate_const(params, OSSL_CIPHER_PARAM_AEAD_TLS1_AAD)) != NULL) {
    size_t pad;
    if (!tls_aad(c, q, &pad)) return 0;
  }
  if ((q = OSSL_PARAM_locate_const(params, OSSL_CIPHER_PARAM_AEAD_TLS1_IV_FIXED)) != NULL) {
    size_t n = q->data_size;
    bool ok = q->data_type == OSSL_PARAM_OCTET_STRING && q->data != NULL;
    if (is_gcm(c))
      ok = ok && n >= TLS_FIXED && c->ivlen >= n + TLS_EXPLICIT;
    else if (is_ccm(c))
      ok = ok && n == TLS_FIXED && c->ivlen == TLS_FIXED + TLS_EXPLICIT;
    else
      ok = ok && n == c->ivlen;
    if (!ok) {
      ocfprov_err(c->p, OCFPROV_R_BAD_IV_LENGTH, "tlsivfixed of %zu bytes", n);
      return 0;
    }
    memcpy(c->giv, q->data, n);
    if (is_gcm(c) && c->enc == 1 &&
        RAND_bytes_ex(dl_libctx(c->p), c->giv + n, c->ivlen - n, 0) <= 0)
      return 0;
    c->iv_gen = true;
  }
  if ((q = OSSL_PARAM_locate_const(params, OSSL_CIPHER_PARAM_AEAD_TLS1_SET_IV_INV)) != NULL) {
    if (!is_gcm(c) || !c->iv_gen || c->enc != 0 || q->data_type != OSSL_PARAM_OCTET_STRING ||
        q->data_size == 0 || q->data_size > c->ivlen) {
      ocfprov_err(c->p, OCFPROV_R_BAD_PARAM, "tlsivinv");
      return 0;
    }
    memcpy(c->iv, c->giv, c->ivlen);
    memcpy(c->iv + c->ivlen - q->data_size, q->data, q->data_size);
    c->iv_set = true;
    c->div_ok = false;
    new_message(c);
  }
  return 1;
}

static const OSSL_PARAM ae_gettable[] = {
    OSSL_PARAM_size_t(OSSL_CIPHER_PARAM_KEYLEN, NULL),
    OSSL_PARAM_size_t(OSSL_CIPHER_PARAM_IVLEN, NULL),
    OSSL_PARAM_size_t(OSSL_CIPHER_PARAM_AEAD_TAGLEN, NULL),
    OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_IV, NULL, 0),
    OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_UPDATED_IV, NULL, 0),
    OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, NULL, 0),
    OSSL_PARAM_size_t(OSSL_CIPHER_PARAM_AEAD_TLS1_AAD_PAD, NULL),
    OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TLS1_GET_IV_GEN, NULL, 0),
    OSSL_PARAM_END};

static const OSSL_PARAM ae_settable[] = {
    OSSL_PARAM_size_t(OSSL_CIPHER_PARAM_KEYLEN, NULL),
    OSSL_PARAM_size_t(OSSL_CIPHER_PARAM_IVLEN, NULL),
    OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, NULL, 0),
    OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TLS1_AAD, NULL, 0),
    OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TLS1_IV_FIXED, NULL, 0),
    OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TLS1_SET_IV_INV, NULL, 0),
    OSSL_PARAM_END};

static const OSSL_PARAM *ae_gettable_ctx(void *cctx, void *provctx) { return ae_gettable; }
static const OSSL_PARAM *ae_settable_ctx(void *cctx, void *provctx) { return ae_settable; }

/* ae_cipher is EVP_Cipher: a TLS record, or an update (final with no
 * input, as OpenSSL's AEADs take it). */
static int ae_cipher(void *vctx, unsigned char *out, size_t *outl, size_t outsize,
                     const unsigned char *in, size_t inl) {
  if (in == NULL) return ae_final(vctx, out, outl, outsize);
  return ae_update(vctx, out, outl, outsize, in, inl);
}

/* --- the ciphers -------------------------------------------------------------- */

#define CDEF(sym, nm, f, a, m, kl, ivl, cb, fl) \
  struct cdef cdef_##sym = {.name = nm,         \
                            .fam = f,           \
                            .alg = a,           \
                            .mode = m,          \
                            .keylen = kl,       \
                            .ivlen = ivl,       \
                            .blocksize = 1,     \
                            .cblock = cb,       \
                            .flags = fl,        \
                            .fns_lock = PTHREAD_MUTEX_INITIALIZER};

#define AEAD_FUNCTIONS(sym)                                                            \
  static void *sym##_newctx(void *provctx) { return ae_newctx(provctx, &cdef_##sym); } \
  static int sym##_get_params(OSSL_PARAM params[]) {                                   \
    return cdef_get_params(&cdef_##sym, params);                                       \
  }                                                                                    \
  const OSSL_DISPATCH ocfprov_##sym##_functions[] = {                                  \
      {OSSL_FUNC_CIPHER_NEWCTX, (void (*)(void))sym##_newctx},                         \
      {OSSL_FUNC_CIPHER_FREECTX, (void (*)(void))ae_freectx},                          \
      {OSSL_FUNC_CIPHER_DUPCTX, (void (*)(void))ae_dupctx},                            \
      {OSSL_FUNC_CIPHER_ENCRYPT_INIT, (void (*)(void))ae_einit},                       \
      {OSSL_FUNC_CIPHER_DECRYPT_INIT, (void (*)(void))ae_dinit},                       \
      {OSSL_FUNC_CIPHER_UPDATE, (void (*)(void))ae_update},                            \
      {OSSL_FUNC_CIPHER_FINAL, (void (*)(void))ae_final},                              \
      {OSSL_FUNC_CIPHER_CIPHER, (void (*)(void))ae_cipher},                            \
      {OSSL_FUNC_CIPHER_GET_PARAMS, (void (*)(void))sym##_get_params},                 \
      {OSSL_FUNC_CIPHER_GETTABLE_PARAMS, (void (*)(void))cdef_gettable_params},        \
      {OSSL_FUNC_CIPHER_GET_CTX_PARAMS, (void (*)(void))ae_get_ctx_params},            \
      {OSSL_FUNC_CIPHER_SET_CTX_PARAMS, (void (*)(void))ae_set_ctx_params},            \
      {OSSL_FUNC_CIPHER_GETTABLE_CTX_PARAMS, (void (*)(void))ae_gettable_ctx},         \
      {OSSL_FUNC_CIPHER_SETTABLE_CTX_PARAMS, (void (*)(void))ae_settable_ctx},         \
      {0, NULL}};

#define GCMF (CF_AEAD | CF_CUSTOM_IV)
CDEF(aes128gcm, "AES-128-GCM", FAM_AES_GCM, OCF_ALG_AES_GCM, EVP_CIPH_GCM_MODE, 16, 12, 16, GCMF)
CDEF(aes192gcm, "AES-192-GCM", FAM_AES_GCM, OCF_ALG_AES_GCM, EVP_CIPH_GCM_MODE, 24, 12, 16, GCMF)
CDEF(aes256gcm, "AES-256-GCM", FAM_AES_GCM, OCF_ALG_AES_GCM, EVP_CIPH_GCM_MODE, 32, 12, 16, GCMF)
CDEF(aes128ccm, "AES-128-CCM", FAM_AES_CCM, OCF_ALG_AES_CCM, EVP_CIPH_CCM_MODE, 16, 12, 16, GCMF)
CDEF(aes192ccm, "AES-192-CCM", FAM_AES_CCM, OCF_ALG_AES_CCM, EVP_CIPH_CCM_MODE, 24, 12, 16, GCMF)
CDEF(aes256ccm, "AES-256-CCM", FAM_AES_CCM, OCF_ALG_AES_CCM, EVP_CIPH_CCM_MODE, 32, 12, 16, GCMF)
CDEF(chachapoly, "ChaCha20-Poly1305", FAM_CHACHA_POLY, OCF_ALG_CHACHA20_POLY1305,
     EVP_CIPH_STREAM_CIPHER, 32, 12, 1, GCMF)

AEAD_FUNCTIONS(aes128gcm)
AEAD_FUNCTIONS(aes192gcm)
AEAD_FUNCTIONS(aes256gcm)
AEAD_FUNCTIONS(aes128ccm)
AEAD_FUNCTIONS(aes192ccm)
AEAD_FUNCTIONS(aes256ccm)
AEAD_FUNCTIONS(chachapoly)
