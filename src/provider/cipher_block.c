/*
 * cipher_block.c - AES-CBC/CTR/XTS and DES-EDE3-CBC with EVP's streaming
 * semantics over requests that each take whole blocks.
 *
 * The context keeps the stream's state itself: the partial block (CBC), the
 * block held back for the padding check (CBC decryption), the chained IV or
 * the next counter block, the unused keystream of a counter block (CTR).
 * Each update then hands whole blocks to one of two paths, chosen per
 * update (decide.c): a framework request, or the default provider's
 * implementation used as a raw block engine (its padding off, never given a
 * partial block).  Because the state lives here, consecutive updates of one
 * stream may take different paths; the default provider's context is given
 * the IV again after the framework has advanced it.
 *
 * The default provider's context also checks keys and IVs at init, so that
 * a bad key fails exactly as it does without this provider.
 */
#include <errno.h>
#include <openssl/prov_ssl.h>
#include <stdlib.h>
#include <string.h>

#include "provider/cipher.h"

struct bctx {
  struct ocfprov *p;
  struct cdef *def;
  const struct dcfns *fns;
  void *dctx; /* the default provider's context */
  /* Who holds the stream's chaining state (CBC IV, CTR counter): the
   * default provider's context (true; iv is stale) or iv (false; the
   * framework advanced it).  It moves only when the path changes, so the
   * inline path tracks nothing per update. */
  bool iv_in_dl;
  int enc; /* 1, 0; -1 before init */
  bool key_set, iv_set;
  uint8_t key[64];
  size_t keylen;
  uint8_t oiv[16]; /* the IV given at init */
  uint8_t iv[16];  /* CBC: chaining block; CTR: next counter block */
  size_t bs;       /* the underlying block size */
  bool pad;
  uint8_t buf[16]; /* CBC: partial block, or the block held back */
  size_t bufl;
  uint8_t ks[16];  /* CTR: keystream of the last counter block used */
  size_t num;      /* CTR: bytes of ks already used (0: none pending) */
  unsigned tlsver; /* TLS record mode (CBC) when non-zero */
  size_t tlsmacsize;
  uint8_t tlsmac[64];
  struct osess *sess; /* framework session, made at the first request */
  int sess_err;       /* why there is none (then no more attempts) */
  size_t fwmax;       /* longest request the producer took, 0 = no limit seen */
  /* the last choice, reused for the next requests of the same size: a
   * stream of equal updates (openssl speed, TLS records) pays for one
   * choice in 16 */
  size_t dc_size;
  unsigned dc_left;
  enum opath dc_path;
};

static void *bc_newctx(void *provctx, struct cdef *def) {
  struct ocfprov *p = provctx;
  if (!ocfprov_usable(p)) return NULL;
  const struct dcfns *fns = cdef_fns(p, def);
  if (fns == NULL) return NULL;
  struct bctx *c = zalloc(sizeof(*c));
  if (c == NULL) {
    ocfprov_err(p, OCFPROV_R_MALLOC, "cipher context");
    return NULL;
  }
  c->p = p;
  c->def = def;
  c->fns = fns;
  c->enc = -1;
  c->pad = true;
  c->bs = def->cblock;
  c->dctx = fns->newctx(dl_provctx(p));
  if (c->dctx == NULL) {
    free(c);
    return NULL;
  }
  /* The default provider's context is a raw block engine: never padding. */
  unsigned zero = 0;
  OSSL_PARAM pp[] = {OSSL_PARAM_construct_uint(OSSL_CIPHER_PARAM_PADDING, &zero),
                     OSSL_PARAM_construct_end()};
  if (def->mode == EVP_CIPH_CBC_MODE) fns->set_ctx_params(c->dctx, pp);
  return c;
}

static void bc_freectx(void *vctx) {
  struct bctx *c = vctx;
  if (c == NULL) return;
  c->fns->freectx(c->dctx);
  be_freesession(c->sess);
  OPENSSL_cleanse(c, sizeof(*c));
  free(c);
}

static void *bc_dupctx(void *vctx) {
  struct bctx *src = vctx;
  struct bctx *c = malloc(sizeof(*c));
  if (c == NULL) return NULL;
  *c = *src;
  c->sess = NULL;
  c->sess_err = 0;
  c->dctx = src->fns->dupctx(src->dctx);
  if (c->dctx == NULL) {
    OPENSSL_cleanse(c, sizeof(*c));
    free(c);
    return NULL;
  }
  return c;
}

static int bc_set_ctx_params(void *vctx, const OSSL_PARAM params[]);

static int bc_init(void *vctx, const unsigned char *key, size_t keylen, const unsigned char *iv,
                   size_t ivlen, const OSSL_PARAM params[], int enc) {
  struct bctx *c = vctx;
  int ok = enc ? c->fns->einit(c->dctx, key, keylen, iv, ivlen, NULL)
               : c->fns->dinit(c->dctx, key, keylen, iv, ivlen, NULL);
  if (!ok) return 0; /* the default provider said why */
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
    memcpy(c->oiv, iv, c->def->ivlen);
    memcpy(c->iv, iv, c->def->ivlen);
    c->iv_set = true;
  } else if (c->iv_set && c->def->mode == EVP_CIPH_CBC_MODE) {
    memcpy(c->iv, c->oiv, c->def->ivlen); /* as the default provider does */
  }
  c->enc = enc;
  c->bufl = 0;
  c->num = 0;
  /* The default provider's context got the IV too, except that CTR without
   * one keeps its own counter, which the framework may have overtaken. */
  if (iv != NULL || c->def->mode != EVP_CIPH_CTR_MODE) c->iv_in_dl = true;
  return bc_set_ctx_params(c, params);
}

static int bc_einit(void *vctx, const unsigned char *key, size_t keylen, const unsigned char *iv,
                    size_t ivlen, const OSSL_PARAM params[]) {
  return bc_init(vctx, key, keylen, iv, ivlen, params, 1);
}

static int bc_dinit(void *vctx, const unsigned char *key, size_t keylen, const unsigned char *iv,
                    size_t ivlen, const OSSL_PARAM params[]) {
  return bc_init(vctx, key, keylen, iv, ivlen, params, 0);
}

/* --- the two paths ------------------------------------------------------- */

/* ctr_add adds n to the 128-bit big-endian counter block ctr. */
static void ctr_add(uint8_t ctr[16], uint64_t n) {
  for (int i = 15; i >= 0 && n != 0; i--) {
    uint64_t s = ctr[i] + (n & 0xff);
    ctr[i] = (uint8_t)s;
    n = (n >> 8) + (s >> 8);
  }
}

/* advance updates the chaining state after n bytes went through, given the
 * last ciphertext block of the input (decryption) saved before the call. */
static void advance(struct bctx *c, const uint8_t *out, size_t n, const uint8_t *last_in) {
  switch (c->def->mode) {
    case EVP_CIPH_CBC_MODE:
      memcpy(c->iv, c->enc ? out + n - c->bs : last_in, c->bs);
      break;
    case EVP_CIPH_CTR_MODE:
      ctr_add(c->iv, n / 16);
      break;
  }
}

/* iv_to_dl gives the default provider's context the chaining state the
 * framework left in iv. */
static int iv_to_dl(struct bctx *c) {
  if (c->iv_in_dl || c->def->mode == EVP_CIPH_XTS_MODE) return 1;
  int ok = c->enc ? c->fns->einit(c->dctx, NULL, 0, c->iv, c->def->ivlen, NULL)
                  : c->fns->dinit(c->dctx, NULL, 0, c->iv, c->def->ivlen, NULL);
  c->iv_in_dl = ok;
  return ok;
}

/* iv_from_dl takes the chaining state back from the default provider's
 * context (CBC's next IV, CTR's next counter block: it never holds a
 * partial block). */
static int iv_from_dl(struct bctx *c) {
  if (!c->iv_in_dl || c->def->mode == EVP_CIPH_XTS_MODE) return 1;
  OSSL_PARAM q[] = {
      OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_UPDATED_IV, c->iv, c->def->ivlen),
      OSSL_PARAM_construct_end()};
  if (!c->fns->get_ctx_params(c->dctx, q)) return 0;
  c->iv_in_dl = false;
  return 1;
}

static int run_inline(struct bctx *c, uint8_t *out, const uint8_t *in, size_t n) {
  if (!c->iv_in_dl && !iv_to_dl(c)) return 0;
  size_t outl = 0;
  if (!c->fns->update(c->dctx, out, &outl, n, in, n) || outl != n) {
    if (outl == n) return 0;
    ocfprov_err(c->p, OCFPROV_R_DELEGATE, "%s update returned %zu of %zu bytes", c->def->name, outl,
                n);
    return 0;
  }
  cipher_inline_stats(c->p, n);
  return 1;
}

/* run_fw sends n bytes (plus, for CTR with extra, the 16 bytes of extra: a
 * keystream block) through the framework, in place in out.  Returns 0, or
 * the errno that sends the bytes to the inline path instead (out then holds
 * the input). */
static int run_fw(struct bctx *c, uint8_t *out, const uint8_t *in, size_t n, uint8_t *extra,
                  struct bstat *bs) {
  /* The input moves first, so that whatever happens below, out holds it
   * for the inline path. */
  if (out != in) memmove(out, in, n);
  if (c->sess == NULL) {
    if (c->sess_err != 0) return c->sess_err;
    struct ocf_sessparam sp = {.alg = c->def->alg, .key = c->key, .keylen = c->keylen};
    int rc = be_newsession(c->p, &sp, &c->sess);
    if (rc != 0) {
      c->sess_err = rc;
      return rc;
    }
  }
  if (!iv_from_dl(c)) return EIO;
  uint8_t last[16];
  size_t done = 0, total = n + (extra != NULL ? 16 : 0);
  while (done < total) {
    size_t chunk = total - done;
    if (c->fwmax != 0 && chunk > c->fwmax) chunk = c->fwmax;
    struct iovec seg[2];
    int nseg = 0;
    size_t body = chunk;
    if (done + chunk > n) body = n - done; /* the extra block rides along */
    if (body > 0) seg[nseg++] = (struct iovec){out + done, body};
    if (body < chunk) seg[nseg++] = (struct iovec){extra, 16};
    struct ocf_desc d = {.alg = c->def->alg,
                         .flags = (c->enc ? OCF_D_ENCRYPT : 0) | OCF_D_IV_EXPLICIT,
                         .len = chunk};
    memcpy(d.iv, c->def->mode == EVP_CIPH_XTS_MODE ? c->oiv : c->iv, c->def->ivlen);
    if (c->def->mode == EVP_CIPH_CBC_MODE && !c->enc)
      memcpy(last, out + done + body - c->bs, c->bs);
    int rc = be_crypt(c->sess, &d, 1, seg, nseg, bs);
    if (rc == EMSGSIZE && c->fwmax == 0 && c->def->mode != EVP_CIPH_XTS_MODE && chunk > 32768) {
      c->fwmax = 32768; /* a card's limit: go on in pieces */
      continue;
    }
    if (rc != 0) {
      if (done > 0) {
        /* Part went through: the rest goes inline from the state reached. */
        if (!run_inline(c, out + done, out + done, n - done)) return -1;
        if (extra != NULL && !run_inline(c, extra, extra, 16)) return -1;
        return 0;
      }
      return rc;
    }
    if (c->def->mode != EVP_CIPH_XTS_MODE) {
      if (body > 0) advance(c, out + done, body, last);
      if (body < chunk) ctr_add(c->iv, 1);
    }
    done += chunk;
  }
  return 0;
}

/* process runs n whole bytes in -> out on the path decided for them (for
 * CTR with extra, one more keystream block in extra). */
static int process(struct bctx *c, uint8_t *out, const uint8_t *in, size_t n, uint8_t *extra) {
  struct dticket t;
  size_t total = n + (extra != NULL ? 16 : 0);
  if (total == 0) return 1;
  enum opath path;
  if (c->dc_left > 0 && c->dc_size == total) {
    c->dc_left--;
    path = t.path = c->dc_path;
    t.timed = false;
  } else {
    bool fw_ok = c->sess_err == 0 && be_available(c->p);
    path = dec_choose(c->p, c->def->fam, total, fw_ok, &t);
    c->dc_size = total;
    c->dc_path = path;
    c->dc_left = t.timed ? 0 : 15;
  }
  if (path == PATH_FW) {
    struct bstat bs;
    int rc = run_fw(c, out, in, n, extra, &bs);
    if (rc == 0) {
      dec_done(c->p, &t, &bs);
      return 1;
    }
    if (rc < 0) return 0;
    /* The framework could not take it: inline, and tell no one but the
     * counters (out holds the input now). */
    STAT_ADD(c->p, fallbacks, 1);
    in = out;
    t.timed = false;
    c->dc_left = 0;
  }
  if (n > 0 && !run_inline(c, out, in, n)) return 0;
  if (extra != NULL && !run_inline(c, extra, extra, 16)) return 0;
  dec_done(c->p, &t, NULL);
  return 1;
}

/* --- modes --------------------------------------------------------------- */

static int cbc_update(struct bctx *c, uint8_t *out, size_t *outl, size_t outsize, const uint8_t *in,
                      size_t inl) {
  size_t bs = c->bs, total = c->bufl + inl;
  size_t keep = total % bs;
  if (!c->enc && c->pad && keep == 0 && total > 0) keep = bs; /* may be the padding */
  size_t nproc = total - keep, produced = 0;
  if (outsize < nproc) {
    ocfprov_err(c->p, OCFPROV_R_OUT_TOO_SMALL, "%zu bytes for %zu", outsize, nproc);
    return 0;
  }
  if (nproc > 0 && c->bufl > 0) {
    size_t take = bs - c->bufl;
    memcpy(c->buf + c->bufl, in, take);
    in += take;
    inl -= take;
    if (!process(c, out, c->buf, bs, NULL)) return 0;
    c->bufl = 0;
    out += bs;
    nproc -= bs;
    produced += bs;
  }
  if (nproc > 0) {
    if (!process(c, out, in, nproc, NULL)) return 0;
    in += nproc;
    inl -= nproc;
    produced += nproc;
  }
  if (inl > 0) memcpy(c->buf + c->bufl, in, inl);
  c->bufl += inl;
  *outl = produced;
  return 1;
}

static int cbc_final(struct bctx *c, uint8_t *out, size_t *outl, size_t outsize) {
  size_t bs = c->bs;
  *outl = 0;
  if (!c->pad) {
    if (c->bufl != 0) {
      ocfprov_err(c->p, OCFPROV_R_BAD_LENGTH, "data not a multiple of the block length");
      return 0;
    }
    return 1;
  }
  if (c->enc) {
    if (outsize < bs) {
      ocfprov_err(c->p, OCFPROV_R_OUT_TOO_SMALL, "final block");
      return 0;
    }
    size_t padn = bs - c->bufl;
    memset(c->buf + c->bufl, (int)padn, padn);
    if (!process(c, out, c->buf, bs, NULL)) return 0;
    c->bufl = 0;
    *outl = bs;
    return 1;
  }
  if (c->bufl != bs) {
    ocfprov_err(c->p, OCFPROV_R_BAD_LENGTH, "wrong final block length");
    return 0;
  }
  uint8_t blk[16];
  if (!process(c, blk, c->buf, bs, NULL)) return 0;
  c->bufl = 0;
  size_t padn = blk[bs - 1];
  bool bad = padn == 0 || padn > bs;
  for (size_t i = 0; !bad && i < padn; i++) bad = blk[bs - 1 - i] != padn;
  if (bad) {
    OPENSSL_cleanse(blk, sizeof(blk));
    ocfprov_err(c->p, OCFPROV_R_BAD_DECRYPT, "bad padding");
    return 0;
  }
  if (outsize < bs - padn) {
    ocfprov_err(c->p, OCFPROV_R_OUT_TOO_SMALL, "final block");
    return 0;
  }
  memcpy(out, blk, bs - padn);
  OPENSSL_cleanse(blk, sizeof(blk));
  *outl = bs - padn;
  return 1;
}

static int ctr_update(struct bctx *c, uint8_t *out, size_t *outl, size_t outsize, const uint8_t *in,
                      size_t inl) {
  if (outsize < inl) {
    ocfprov_err(c->p, OCFPROV_R_OUT_TOO_SMALL, "%zu bytes for %zu", outsize, inl);
    return 0;
  }
  size_t produced = 0;
  while (c->num > 0 && c->num < 16 && inl > 0) {
    *out++ = *in++ ^ c->ks[c->num++];
    inl--;
    produced++;
  }
  if (c->num == 16) c->num = 0;
  size_t whole = inl & ~(size_t)15, tail = inl & 15;
  if (whole + tail > 0) {
    if (tail > 0) memset(c->ks, 0, 16);
    if (!process(c, out, in, whole, tail > 0 ? c->ks : NULL)) return 0;
    for (size_t i = 0; i < tail; i++) out[whole + i] = in[whole + i] ^ c->ks[i];
    c->num = tail;
  }
  *outl = produced + inl;
  return 1;
}

static int xts_update(struct bctx *c, uint8_t *out, size_t *outl, size_t outsize, const uint8_t *in,
                      size_t inl) {
  /* One update is one data unit, with the tweak given at init (as in the
   * default provider). */
  if (inl < 16 || inl > ((size_t)1 << 24)) {
    ocfprov_err(c->p, OCFPROV_R_BAD_LENGTH, "an XTS data unit is 16 bytes to 16 MiB, not %zu", inl);
    return 0;
  }
  if (outsize < inl) {
    ocfprov_err(c->p, OCFPROV_R_OUT_TOO_SMALL, "%zu bytes for %zu", outsize, inl);
    return 0;
  }
  if (!process(c, out, in, inl, NULL)) return 0;
  *outl = inl;
  return 1;
}

/* tls_update handles one TLS record (libssl sets tls-version): in place,
 * padding added on encryption; on decryption the explicit IV, padding and
 * MAC are taken off, the MAC kept for the tls-mac parameter. */
static int tls_update(struct bctx *c, uint8_t *out, size_t *outl, size_t outsize, const uint8_t *in,
                      size_t inl) {
  size_t bs = c->bs;
  if (in != out || !c->pad || c->tlsver == SSL3_VERSION) {
    ocfprov_err(c->p, OCFPROV_R_BAD_STATE, "TLS records are processed in place, with padding");
    return 0;
  }
  if (c->enc) {
    size_t padn = bs - inl % bs;
    if (outsize < inl + padn) {
      ocfprov_err(c->p, OCFPROV_R_OUT_TOO_SMALL, "TLS record");
      return 0;
    }
    memset(out + inl, (int)(padn - 1), padn);
    inl += padn;
  }
  if (inl % bs != 0 || inl == 0) {
    ocfprov_err(c->p, OCFPROV_R_BAD_LENGTH, "TLS record of %zu bytes", inl);
    return 0;
  }
  if (!process(c, out, out, inl, NULL)) return 0;
  if (c->enc) {
    *outl = inl;
    return 1;
  }
  uint8_t *rec = out;
  if (c->tlsver != TLS1_VERSION) { /* TLS 1.1+, DTLS: drop the explicit IV */
    if (inl < bs) return 0;
    rec += bs;
    inl -= bs;
  }
  size_t plen;
  if (!tls_cbc_unpad(c->p, rec, inl, bs, c->tlsmacsize, c->tlsmac, &plen)) {
    ocfprov_err(c->p, OCFPROV_R_BAD_DECRYPT, "TLS record");
    return 0;
  }
  *outl = plen;
  return 1;
}

static int bc_update(void *vctx, unsigned char *out, size_t *outl, size_t outsize,
                     const unsigned char *in, size_t inl) {
  struct bctx *c = vctx;
  if (c->enc < 0 || !c->key_set) {
    ocfprov_err(c->p, OCFPROV_R_NO_KEY, "%s", c->def->name);
    return 0;
  }
  if (!c->iv_set) {
    ocfprov_err(c->p, OCFPROV_R_NO_IV, "%s", c->def->name);
    return 0;
  }
  if (inl == 0) {
    *outl = 0;
    return 1;
  }
  switch (c->def->mode) {
    case EVP_CIPH_CBC_MODE:
      if (c->tlsver != 0) return tls_update(c, out, outl, outsize, in, inl);
      return cbc_update(c, out, outl, outsize, in, inl);
    case EVP_CIPH_CTR_MODE:
      return ctr_update(c, out, outl, outsize, in, inl);
    default:
      return xts_update(c, out, outl, outsize, in, inl);
  }
}

static int bc_final(void *vctx, unsigned char *out, size_t *outl, size_t outsize) {
  struct bctx *c = vctx;
  if (c->enc < 0 || !c->key_set) {
    ocfprov_err(c->p, OCFPROV_R_NO_KEY, "%s", c->def->name);
    return 0;
  }
  *outl = 0;
  if (c->tlsver != 0 || c->def->mode != EVP_CIPH_CBC_MODE) return 1;
  return cbc_final(c, out, outl, outsize);
}

/* bc_cipher is EVP_Cipher: the whole input at once, no padding. */
static int bc_cipher(void *vctx, unsigned char *out, size_t *outl, size_t outsize,
                     const unsigned char *in, size_t inl) {
  struct bctx *c = vctx;
  if (c->enc < 0 || !c->key_set || !c->iv_set) {
    ocfprov_err(c->p, OCFPROV_R_NO_KEY, "%s", c->def->name);
    return 0;
  }
  if (c->def->mode != EVP_CIPH_CBC_MODE || c->tlsver != 0)
    return bc_update(vctx, out, outl, outsize, in, inl);
  if (inl % c->bs != 0 || outsize < inl) {
    ocfprov_err(c->p, OCFPROV_R_BAD_LENGTH, "%zu bytes", inl);
    return 0;
  }
  if (!process(c, out, in, inl, NULL)) return 0;
  *outl = inl;
  return 1;
}

/* --- parameters ------------------------------------------------------------ */

static int bc_get_ctx_params(void *vctx, OSSL_PARAM params[]) {
  struct bctx *c = vctx;
  OSSL_PARAM *q;
  if ((q = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_IVLEN)) != NULL &&
      !OSSL_PARAM_set_size_t(q, c->def->ivlen))
    return 0;
  if ((q = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_KEYLEN)) != NULL &&
      !OSSL_PARAM_set_size_t(q, c->key_set ? c->keylen : c->def->keylen))
    return 0;
  if ((q = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_PADDING)) != NULL &&
      !OSSL_PARAM_set_uint(q, c->pad))
    return 0;
  if ((q = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_NUM)) != NULL &&
      !OSSL_PARAM_set_uint(q, (unsigned)c->num))
    return 0;
  if ((q = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_IV)) != NULL &&
      !OSSL_PARAM_set_octet_ptr(q, c->oiv, c->def->ivlen) &&
      !OSSL_PARAM_set_octet_string(q, c->oiv, c->def->ivlen))
    return 0;
  if ((q = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_UPDATED_IV)) != NULL && !iv_from_dl(c))
    return 0;
  if (q != NULL && !OSSL_PARAM_set_octet_ptr(q, c->iv, c->def->ivlen) &&
      !OSSL_PARAM_set_octet_string(q, c->iv, c->def->ivlen))
    return 0;
  if ((q = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_TLS_MAC)) != NULL &&
      !OSSL_PARAM_set_octet_ptr(q, c->tlsmac, c->tlsmacsize))
    return 0;
  return 1;
}

static int bc_set_ctx_params(void *vctx, const OSSL_PARAM params[]) {
  struct bctx *c = vctx;
  const OSSL_PARAM *q;
  if (params == NULL) return 1;
  if ((q = OSSL_PARAM_locate_const(params, OSSL_CIPHER_PARAM_PADDING)) != NULL) {
    unsigned v;
    if (!OSSL_PARAM_get_uint(q, &v)) {
      ocfprov_err(c->p, OCFPROV_R_BAD_PARAM, "padding");
      return 0;
    }
    c->pad = v != 0;
  }
  if ((q = OSSL_PARAM_locate_const(params, OSSL_CIPHER_PARAM_NUM)) != NULL) {
    unsigned v;
    if (!OSSL_PARAM_get_uint(q, &v) || (v != 0 && c->def->mode == EVP_CIPH_CTR_MODE)) {
      ocfprov_err(c->p, OCFPROV_R_BAD_PARAM, "num (only 0 can be set)");
      return 0;
    }
    c->num = 0;
  }
  if ((q = OSSL_PARAM_locate_const(params, OSSL_CIPHER_PARAM_KEYLEN)) != NULL) {
    size_t v;
    if (!OSSL_PARAM_get_size_t(q, &v) || v != c->def->keylen) {
      ocfprov_err(c->p, OCFPROV_R_BAD_KEY_LENGTH, "%s takes a %zu-byte key", c->def->name,
                  c->def->keylen);
      return 0;
    }
  }
  if ((q = OSSL_PARAM_locate_const(params, OSSL_CIPHER_PARAM_TLS_VERSION)) != NULL) {
    unsigned v;
    if (!OSSL_PARAM_get_uint(q, &v)) {
      ocfprov_err(c->p, OCFPROV_R_BAD_PARAM, "tls-version");
      return 0;
    }
    c->tlsver = v;
  }
  if ((q = OSSL_PARAM_locate_const(params, OSSL_CIPHER_PARAM_TLS_MAC_SIZE)) != NULL) {
    size_t v;
    if (!OSSL_PARAM_get_size_t(q, &v) || v > sizeof(c->tlsmac)) {
      ocfprov_err(c->p, OCFPROV_R_BAD_PARAM, "tls-mac-size");
      return 0;
    }
    c->tlsmacsize = v;
  }
  return 1;
}

static const OSSL_PARAM bc_gettable[] = {
    OSSL_PARAM_size_t(OSSL_CIPHER_PARAM_KEYLEN, NULL),
    OSSL_PARAM_size_t(OSSL_CIPHER_PARAM_IVLEN, NULL),
    OSSL_PARAM_uint(OSSL_CIPHER_PARAM_PADDING, NULL),
    OSSL_PARAM_uint(OSSL_CIPHER_PARAM_NUM, NULL),
    OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_IV, NULL, 0),
    OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_UPDATED_IV, NULL, 0),
    OSSL_PARAM_octet_ptr(OSSL_CIPHER_PARAM_TLS_MAC, NULL, 0),
    OSSL_PARAM_END};

static const OSSL_PARAM bc_settable[] = {OSSL_PARAM_uint(OSSL_CIPHER_PARAM_PADDING, NULL),
                                         OSSL_PARAM_uint(OSSL_CIPHER_PARAM_NUM, NULL),
                                         OSSL_PARAM_size_t(OSSL_CIPHER_PARAM_KEYLEN, NULL),
                                         OSSL_PARAM_uint(OSSL_CIPHER_PARAM_TLS_VERSION, NULL),
                                         OSSL_PARAM_size_t(OSSL_CIPHER_PARAM_TLS_MAC_SIZE, NULL),
                                         OSSL_PARAM_END};

static const OSSL_PARAM *bc_gettable_ctx(void *cctx, void *provctx) { return bc_gettable; }
static const OSSL_PARAM *bc_settable_ctx(void *cctx, void *provctx) { return bc_settable; }

/* --- the ciphers ---------------------------------------------------------- */

#define CDEF(sym, nm, f, a, m, kl, ivl, bsz, cb) \
  struct cdef cdef_##sym = {.name = nm,          \
                            .fam = f,            \
                            .alg = a,            \
                            .mode = m,           \
                            .keylen = kl,        \
                            .ivlen = ivl,        \
                            .blocksize = bsz,    \
                            .cblock = cb,        \
                            .fns_lock = PTHREAD_MUTEX_INITIALIZER};

#define BLOCK_FUNCTIONS(sym)                                                           \
  static void *sym##_newctx(void *provctx) { return bc_newctx(provctx, &cdef_##sym); } \
  static int sym##_get_params(OSSL_PARAM params[]) {                                   \
    return cdef_get_params(&cdef_##sym, params);                                       \
  }                                                                                    \
  const OSSL_DISPATCH ocfprov_##sym##_functions[] = {                                  \
      {OSSL_FUNC_CIPHER_NEWCTX, (void (*)(void))sym##_newctx},                         \
      {OSSL_FUNC_CIPHER_FREECTX, (void (*)(void))bc_freectx},                          \
      {OSSL_FUNC_CIPHER_DUPCTX, (void (*)(void))bc_dupctx},                            \
      {OSSL_FUNC_CIPHER_ENCRYPT_INIT, (void (*)(void))bc_einit},                       \
      {OSSL_FUNC_CIPHER_DECRYPT_INIT, (void (*)(void))bc_dinit},                       \
      {OSSL_FUNC_CIPHER_UPDATE, (void (*)(void))bc_update},                            \
      {OSSL_FUNC_CIPHER_FINAL, (void (*)(void))bc_final},                              \
      {OSSL_FUNC_CIPHER_CIPHER, (void (*)(void))bc_cipher},                            \
      {OSSL_FUNC_CIPHER_GET_PARAMS, (void (*)(void))sym##_get_params},                 \
      {OSSL_FUNC_CIPHER_GETTABLE_PARAMS, (void (*)(void))cdef_gettable_params},        \
      {OSSL_FUNC_CIPHER_GET_CTX_PARAMS, (void (*)(void))bc_get_ctx_params},            \
      {OSSL_FUNC_CIPHER_SET_CTX_PARAMS, (void (*)(void))bc_set_ctx_params},            \
      {OSSL_FUNC_CIPHER_GETTABLE_CTX_PARAMS, (void (*)(void))bc_gettable_ctx},         \
      {OSSL_FUNC_CIPHER_SETTABLE_CTX_PARAMS, (void (*)(void))bc_settable_ctx},         \
      {0, NULL}};

CDEF(aes128cbc, "AES-128-CBC", FAM_AES_CBC, OCF_ALG_AES_CBC, EVP_CIPH_CBC_MODE, 16, 16, 16, 16)
CDEF(aes192cbc, "AES-192-CBC", FAM_AES_CBC, OCF_ALG_AES_CBC, EVP_CIPH_CBC_MODE, 24, 16, 16, 16)
CDEF(aes256cbc, "AES-256-CBC", FAM_AES_CBC, OCF_ALG_AES_CBC, EVP_CIPH_CBC_MODE, 32, 16, 16, 16)
CDEF(aes128ctr, "AES-128-CTR", FAM_AES_CTR, OCF_ALG_AES_CTR, EVP_CIPH_CTR_MODE, 16, 16, 1, 16)
CDEF(aes192ctr, "AES-192-CTR", FAM_AES_CTR, OCF_ALG_AES_CTR, EVP_CIPH_CTR_MODE, 24, 16, 1, 16)
CDEF(aes256ctr, "AES-256-CTR", FAM_AES_CTR, OCF_ALG_AES_CTR, EVP_CIPH_CTR_MODE, 32, 16, 1, 16)
CDEF(aes128xts, "AES-128-XTS", FAM_AES_XTS, OCF_ALG_AES_XTS, EVP_CIPH_XTS_MODE, 32, 16, 1, 16)
CDEF(aes256xts, "AES-256-XTS", FAM_AES_XTS, OCF_ALG_AES_XTS, EVP_CIPH_XTS_MODE, 64, 16, 1, 16)
CDEF(des3cbc, "DES-EDE3-CBC", FAM_3DES_CBC, OCF_ALG_3DES_CBC, EVP_CIPH_CBC_MODE, 24, 8, 8, 8)

BLOCK_FUNCTIONS(aes128cbc)
BLOCK_FUNCTIONS(aes192cbc)
BLOCK_FUNCTIONS(aes256cbc)
BLOCK_FUNCTIONS(aes128ctr)
BLOCK_FUNCTIONS(aes192ctr)
BLOCK_FUNCTIONS(aes256ctr)
BLOCK_FUNCTIONS(aes128xts)
BLOCK_FUNCTIONS(aes256xts)
BLOCK_FUNCTIONS(des3cbc)
