/*
 * engine.c - running a request's descriptors: the request semantics of ocf.h
 * in one place for every built-in producer.
 *
 * - A separate output buffer receives a copy of the hull of the request's
 *   regions, except the payload of a leading cipher, which reads the input
 *   buffer and writes the output directly (prepare_out).
 * - Data are processed in place on the buffer's segments when a range is
 *   contiguous; ranges split across iovec/mbuf segments are streamed through
 *   EVP segment by segment (engine_buf.c).  XTS and CCM need a range in one
 *   call and use a bounce buffer when it is split.
 * - A card's flat DMA view (ocf_eng_apply) is the same code over a one-piece
 *   buffer: descriptor offsets are rebased onto the flat copy.
 */
#include "drivers/engine/engine_int.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* get_iv fills iv[ivlen] for descriptor d: explicit, read from the working
 * buffer, or (when allowed) generated and written back to both places. */
static int get_iv(struct ocf_desc *d, const struct ocf_buf *work, size_t ivlen, bool may_gen,
                  uint8_t *iv) {
  if (ivlen == 0) return 0;
  if (ivlen > OCF_MAX_IV) return EINVAL;
  if (d->flags & OCF_D_IV_EXPLICIT) {
    memcpy(iv, d->iv, ivlen);
    return 0;
  }
  if (d->flags & OCF_D_IV_PRESENT) return eng_buf_read(work, d->iv_off, iv, ivlen) ? EINVAL : 0;
  if (!may_gen) return EINVAL;
  int rc = ocf_random(iv, ivlen);
  if (rc != 0) return rc;
  if (eng_buf_write(work, d->iv_off, iv, ivlen) != 0) return EINVAL;
  memcpy(d->iv, iv, ivlen);
  return 0;
}

/* xor_blk: dst = a ^ b for one cipher block (8 or 16 bytes). */
static inline void xor_blk(uint8_t *dst, const uint8_t *a, const uint8_t *b, size_t blk) {
  for (size_t i = 0; i < blk; i += 8) {
    uint64_t x, y;
    memcpy(&x, a + i, 8);
    memcpy(&y, b + i, 8);
    x ^= y;
    memcpy(dst + i, &x, 8);
  }
}

/* cbc_run runs a CBC cipher without re-initialising the context's IV.  In
 * OpenSSL 3.0 EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, enc) costs about
 * 1200 instructions (parameter lookups by name), more than encrypting 64
 * bytes with AES-NI.  CBC lets us avoid it: the context continues from its
 * chaining value V (the last ciphertext block it saw), so with delta = IV ^ V,
 * encrypting P1 ^ delta gives E(P1 ^ IV), and decryption yields D(C1) ^ V,
 * which ^ delta is D(C1) ^ IV.  All later blocks chain normally. */
static int cbc_run(struct ocf_eng_sess *s, struct cctx *cc, bool enc, const uint8_t *iv,
                   const struct ocf_buf *in, const struct ocf_buf *work, size_t off, size_t len) {
  size_t blk = s->cblock;
  uint8_t b[MAX_BLOCK], last[MAX_BLOCK], delta[MAX_BLOCK];
  struct cur ci, cw;
  int n, rc;
  if (len == 0) return 0;
  if (len < blk || (len & (blk - 1)) != 0 || len > INT_MAX) return EINVAL; /* blk: 8 or 16 */
  if (cur_seek(&ci, in, off) || cur_seek(&cw, work, off)) return EINVAL;
  if (!cc->chain_ok) {
    if (!EVP_CipherInit_ex(cc->ctx, NULL, NULL, NULL, iv, -1))
      return eng_ossl_fail("EVP_CipherInit_ex");
    memcpy(cc->chain, iv, blk);
  }
  xor_blk(delta, iv, cc->chain, blk);
  cc->chain_ok = false; /* until this request went through completely */
  if (ci.avail >= len && cw.avail >= len) {
    /* the common case: both ranges flat in memory, one or two EVP calls */
    uint8_t *ip = ci.p, *op = cw.p;
    bool ok;
    if (enc) {
      xor_blk(b, ip, delta, blk);
      if (ip == op) {
        memcpy(op, b, blk);
        ok = EVP_CipherUpdate(cc->ctx, op, &n, op, (int)len) && (size_t)n == len;
      } else {
        ok = EVP_CipherUpdate(cc->ctx, op, &n, b, (int)blk) && (size_t)n == blk &&
             (len == blk || (EVP_CipherUpdate(cc->ctx, op + blk, &n, ip + blk, (int)(len - blk)) &&
                             (size_t)n == len - blk));
      }
      memcpy(last, op + len - blk, blk);
    } else {
      memcpy(last, ip + len - blk, blk);
      ok = EVP_CipherUpdate(cc->ctx, op, &n, ip, (int)len) && (size_t)n == len;
      xor_blk(op, op, delta, blk);
    }
    if (!ok) return eng_ossl_fail("EVP_CipherUpdate");
    memcpy(cc->chain, last, blk);
    cc->chain_ok = true;
    return 0;
  }
  if (enc) {
    if (eng_cur_rw(&ci, b, blk, false)) return EINVAL;
    xor_blk(b, b, delta, blk);
    if (in == work) {
      if (eng_buf_write(work, off, b, blk)) return EINVAL;
      rc = eng_crypt_range(cc->ctx, work, work, off, len, blk);
    } else {
      if (!EVP_CipherUpdate(cc->ctx, b, &n, b, (int)blk) || (size_t)n != blk)
        return eng_ossl_fail("EVP_CipherUpdate");
      if (eng_buf_write(work, off, b, blk)) return EINVAL;
      rc = eng_crypt_range(cc->ctx, in, work, off + blk, len - blk, blk);
    }
    if (rc == 0 && eng_buf_read(work, off + len - blk, last, blk)) rc = EINVAL;
  } else {
    /* read before an in-place run overwrites it */
    if (eng_buf_read(in, off + len - blk, last, blk)) return EINVAL;
    rc = eng_crypt_range(cc->ctx, in, work, off, len, blk);
    if (rc == 0 && eng_buf_read(work, off, b, blk)) rc = EINVAL;
    if (rc == 0) {
      xor_blk(b, b, delta, blk);
      if (eng_buf_write(work, off, b, blk)) rc = EINVAL;
    }
  }
  OPENSSL_cleanse(b, sizeof(b));
  if (rc != 0) return rc;
  memcpy(cc->chain, last, blk);
  cc->chain_ok = true;
  return 0;
}

/* cipher descriptor: in is where the data come from (the input buffer when
 * the cipher reads it directly into a separate output), work is the buffer
 * operated on. */
static int do_cipher(struct ocf_eng_sess *s, struct ocf_desc *d, const struct ocf_buf *in,
                     const struct ocf_buf *work) {
  bool enc = d->flags & OCF_D_ENCRYPT;
  uint8_t iv[OCF_MAX_IV];
  int rc;
  if (s->calg == OCF_ALG_NULL) return in == work ? 0 : eng_buf_move(in, work, d->skip, d->len);
  rc = get_iv(d, work, s->civlen, enc, iv);
  if (rc != 0) return rc;
  struct pool *pl = enc ? &s->cenc : &s->cdec;
  struct cctx *cc = eng_pool_get(pl);
  if (cc == NULL) return ENOMEM;
  if (s->cbc) {
    rc = cbc_run(s, cc, enc, iv, in, work, d->skip, d->len);
  } else if (s->civlen > 0 && !EVP_CipherInit_ex(cc->ctx, NULL, NULL, NULL, iv, -1)) {
    rc = eng_ossl_fail("EVP_CipherInit_ex");
  } else if (s->calg == OCF_ALG_AES_XTS) {
    bool ok;
    rc = eng_crypt_whole(cc->ctx, in, work, d->skip, d->len, &ok);
    if (rc == 0 && !ok) rc = eng_ossl_fail("AES-XTS");
  } else {
    rc = eng_crypt_range(cc->ctx, in, work, d->skip, d->len, s->cblock);
  }
  eng_pool_put(pl, cc);
  return rc;
}

static int do_aead(struct ocf_eng_sess *s, struct ocf_desc *d, const struct ocf_buf *in,
                   const struct ocf_buf *work) {
  bool enc = d->flags & OCF_D_ENCRYPT;
  bool ccm = s->calg == OCF_ALG_AES_CCM;
  size_t taglen = s->ctaglen;
  uint8_t iv[OCF_MAX_IV], tag[MAX_TAG], fin[MAX_BLOCK];
  int n, rc;
  if (taglen == 0 || taglen > 16 || d->len > INT_MAX || d->aad_len > INT_MAX) return EINVAL;
  rc = get_iv(d, work, s->civlen, enc, iv);
  if (rc != 0) return rc;
  /* Read the tag before any output is written: it could share the buffer. */
  if (!enc && eng_buf_read(work, d->inject, tag, taglen)) return EINVAL;
  struct pool *pl = enc ? &s->cenc : &s->cdec;
  struct cctx *cc = eng_pool_get(pl);
  if (cc == NULL) return ENOMEM;
  EVP_CIPHER_CTX *ctx = cc->ctx;
  bool auth_ok = true;
  if (!EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, -1)) {
    rc = eng_ossl_fail("EVP_CipherInit_ex");
    goto out;
  }
  if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)taglen, tag) <= 0) {
    rc = eng_ossl_fail("set tag");
    goto out;
  }
  if (ccm) {
    /* CCM needs the payload length first and AAD in one piece. */
    uint8_t st[BOUNCE_STACK], *heap = NULL, *aad;
    if (!EVP_CipherUpdate(ctx, NULL, &n, NULL, (int)d->len)) {
      rc = eng_ossl_fail("CCM length");
      goto out;
    }
    if (d->aad_len > 0) {
      rc = eng_whole_range(work, d->aad_skip, d->aad_len, true, st, &heap, &aad);
      if (rc == 0 && !EVP_CipherUpdate(ctx, NULL, &n, aad, (int)d->aad_len))
        rc = eng_ossl_fail("CCM AAD");
      eng_bounce_free(heap, d->aad_len);
      if (rc != 0) goto out;
    }
    rc = eng_crypt_whole(ctx, in, work, d->skip, d->len, &auth_ok);
    if (rc != 0) goto out;
    if (!auth_ok && enc) {
      rc = eng_ossl_fail("CCM encrypt");
      goto out;
    }
    if (enc && !EVP_CipherFinal_ex(ctx, fin, &n)) {
      rc = eng_ossl_fail("CCM final");
      goto out;
    }
  } else {
    rc = eng_aad_stream(ctx, work, d->aad_skip, d->aad_len);
    if (rc == 0) rc = eng_crypt_range(ctx, in, work, d->skip, d->len, 1);
    if (rc != 0) goto out;
    if (!EVP_CipherFinal_ex(ctx, fin, &n)) {
      if (enc) {
        rc = eng_ossl_fail("AEAD final");
        goto out;
      }
      auth_ok = false;
    }
  }
  if (!enc) {
    if (!auth_ok) {
      ERR_clear_error();
      eng_buf_wipe(work, d->skip, d->len);
      rc = EBADMSG;
    }
    goto out;
  }
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, (int)taglen, tag) <= 0) {
    rc = eng_ossl_fail("get tag");
    goto out;
  }
  if (eng_buf_write(work, d->inject, tag, taglen)) rc = EINVAL;
out:
  eng_pool_put(pl, cc);
  return rc;
}

/* MAC descriptors: HMAC, plain hash, GMAC; write or verify the tag. */
static int do_mac(struct ocf_eng_sess *s, struct ocf_desc *d, const struct ocf_buf *work) {
  uint8_t md[MAX_TAG], want[MAX_TAG];
  size_t maclen = s->maclen;
  int rc = 0;
  if (maclen == 0 || maclen > MAX_TAG) return EINVAL;
  if (s->malg == OCF_ALG_AES_GMAC) {
    uint8_t iv[OCF_MAX_IV], fin[MAX_BLOCK];
    int n;
    rc = get_iv(d, work, s->mivlen, !(d->flags & OCF_D_VERIFY), iv);
    if (rc != 0) return rc;
    struct cctx *cc = eng_pool_get(&s->gmac);
    if (cc == NULL) return ENOMEM;
    EVP_CIPHER_CTX *ctx = cc->ctx;
    if (!EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, -1)) rc = eng_ossl_fail("EVP_CipherInit_ex");
    if (rc == 0) rc = eng_aad_stream(ctx, work, d->skip, d->len);
    if (rc == 0 && !EVP_CipherFinal_ex(ctx, fin, &n)) rc = eng_ossl_fail("GMAC final");
    if (rc == 0 && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, (int)maclen, md) <= 0)
      rc = eng_ossl_fail("GMAC tag");
    eng_pool_put(&s->gmac, cc);
    if (rc != 0) return rc;
  } else {
    const struct hash_ops *h = s->hops;
    union hctx c;
    struct cur cu;
    size_t len = d->len;
    bool ok = true;
    if (eng_is_hmac(s->malg))
      c = s->ist;
    else
      ok = h->init(&c);
    if (len > 0 && cur_seek(&cu, work, d->skip)) return EINVAL;
    while (ok && len > 0) {
      if (cu.avail == 0) {
        rc = EINVAL;
        break;
      }
      size_t k = cu.avail < len ? cu.avail : len;
      ok = h->update(&c, cu.p, k);
      cur_adv(&cu, k);
      len -= k;
    }
    ok = ok && rc == 0 && h->final(md, &c);
    if (ok && eng_is_hmac(s->malg)) {
      c = s->ost;
      ok = h->update(&c, md, h->dlen) && h->final(md, &c);
    }
    OPENSSL_cleanse(&c, sizeof(c));
    if (rc != 0) return rc;
    if (!ok) return eng_ossl_fail("digest");
  }
  if (d->flags & OCF_D_VERIFY) {
    if (eng_buf_read(work, d->inject, want, maclen))
      rc = EINVAL;
    else if (CRYPTO_memcmp(want, md, maclen) != 0)
      rc = EBADMSG;
  } else if (eng_buf_write(work, d->inject, md, maclen)) {
    rc = EINVAL;
  }
  OPENSSL_cleanse(md, sizeof(md));
  return rc;
}

/* Compression: the result goes to a growing temporary first, so a result that
 * does not fit leaves the buffer untouched (ENOSPC).  The temporary may grow
 * one byte past the room in the buffer: a stream whose output exactly fills
 * the buffer still needs a call that consumes its end-of-block code, and that
 * byte tells "fits exactly" from "too long". */
static int do_comp(struct ocf_eng_sess *s, struct ocf_req *req, struct ocf_desc *d,
                   const struct ocf_buf *in, const struct ocf_buf *work) {
  bool compress = d->flags & OCF_D_ENCRYPT;
  size_t wlen = ocf_buf_len(work);
  size_t cap = d->skip <= wlen ? wlen - d->skip : 0, limit = cap + 1;
  struct pool *pl = compress ? &s->defl : &s->infl;
  struct cur c = {0};
  int zr, rc = 0;
  size_t len = d->len, tcap = len * 2 + 256;
  if (tcap > limit) tcap = limit;
  if (tcap > UINT_MAX) tcap = UINT_MAX;
  uint8_t *tmp = malloc(tcap);
  if (tmp == NULL) return ENOMEM;
  z_stream *z = eng_pool_get(pl);
  if (z == NULL) {
    free(tmp);
    return ENOMEM;
  }
  zr = compress ? deflateReset(z) : inflateReset(z);
  /* The resets keep next_in/avail_in: a pooled stream whose last request
   * failed midway would otherwise read that request's input again. */
  z->next_in = NULL;
  z->avail_in = 0;
  if (zr != Z_OK) {
    rc = EIO;
    goto out;
  }
  if (len > 0 && cur_seek(&c, in, d->skip)) {
    rc = EINVAL;
    goto out;
  }
  z->next_out = tmp;
  z->avail_out = (uInt)tcap;
  for (;;) {
    if (z->avail_in == 0 && len > 0) {
      size_t k = c.avail < len ? c.avail : len;
      if (k > UINT_MAX) k = UINT_MAX;
      if (k == 0) {
        rc = EINVAL;
        break;
      }
      z->next_in = c.p;
      z->avail_in = (uInt)k;
      cur_adv(&c, k);
      len -= k;
    }
    if (z->avail_out == 0) {
      if (tcap >= limit) {
        rc = ENOSPC;
        break;
      }
      size_t ncap = tcap * 2 < limit ? tcap * 2 : limit;
      if (ncap - tcap > UINT_MAX) ncap = tcap + UINT_MAX;
      uint8_t *nt = realloc(tmp, ncap);
      if (nt == NULL) {
        rc = ENOMEM;
        break;
      }
      tmp = nt;
      z->next_out = tmp + tcap;
      z->avail_out = (uInt)(ncap - tcap);
      tcap = ncap;
    }
    int flush = len == 0 ? Z_FINISH : Z_NO_FLUSH;
    zr = compress ? deflate(z, flush) : inflate(z, flush);
    if (zr == Z_STREAM_END) break;
    if (zr == Z_OK || (zr == Z_BUF_ERROR && z->avail_out == 0)) continue;
    /* Z_BUF_ERROR with room left: no progress possible, the compressed input
     * is truncated; Z_DATA_ERROR: it is corrupt */
    if (compress) {
      ocf_log(0, "soft: zlib deflate failed (%d)", zr);
      rc = EIO;
    } else {
      rc = EINVAL;
    }
    break;
  }
  if (rc == 0) {
    size_t produced = (size_t)(z->next_out - tmp);
    if (produced > cap)
      rc = ENOSPC;
    else if (eng_buf_write(work, d->skip, tmp, produced))
      rc = EINVAL;
    else
      req->olen = produced;
  }
out:
  eng_pool_put(pl, z);
  OPENSSL_cleanse(tmp, tcap);
  free(tmp);
  return rc;
}

/* The span [lo, hi) of every buffer region the descriptors name. */
struct span {
  size_t lo, hi;
};

static void span_add(struct span *sp, size_t off, size_t len) {
  if (len == 0) return;
  if (sp->hi == 0 || off < sp->lo) sp->lo = off;
  if (off + len > sp->hi) sp->hi = off + len;
}

static bool overlaps(size_t a, size_t alen, size_t b, size_t blen) {
  return alen > 0 && blen > 0 && a < b + blen && b < a + alen;
}

static size_t desc_ivlen(const struct ocf_eng_sess *s, const struct ocf_desc *d,
                         enum ocf_alg_class cls) {
  if (d->flags & OCF_D_IV_EXPLICIT) return 0;
  if (cls == OCF_CLASS_CIPHER || cls == OCF_CLASS_AEAD) return s->civlen;
  if (d->alg == OCF_ALG_AES_GMAC) return s->mivlen;
  return 0;
}

static enum ocf_alg_class desc_class(const struct ocf_eng_sess *s, const struct ocf_desc *d) {
  if (d->alg == OCF_ALG_NONE) return OCF_CLASS_NONE;
  if (d->alg == s->calg) return s->ccls;
  if (d->alg == s->malg) return OCF_CLASS_MAC;
  if (d->alg == OCF_ALG_DEFLATE && s->comp) return OCF_CLASS_COMP;
  return OCF_CLASS_NONE;
}

/* prepare_out makes the separate output buffer look as if the hull of all
 * regions had been copied from the input.  When the first descriptor is a
 * cipher whose own other regions stay clear of its payload, the payload is
 * not copied: that descriptor reads the input and writes the output itself
 * (*direct). */
static int prepare_out(struct ocf_eng_sess *s, struct ocf_req *req, bool *direct) {
  struct span sp = {0, 0};
  for (int i = 0; i < req->ndesc; i++) {
    const struct ocf_desc *d = &req->desc[i];
    enum ocf_alg_class cls = desc_class(s, d);
    span_add(&sp, d->skip, d->len);
    span_add(&sp, d->iv_off, desc_ivlen(s, d, cls));
    if (cls == OCF_CLASS_AEAD) {
      span_add(&sp, d->aad_skip, d->aad_len);
      span_add(&sp, d->inject, s->ctaglen);
    } else if (cls == OCF_CLASS_MAC) {
      span_add(&sp, d->inject, s->maclen);
    }
  }
  const struct ocf_desc *d0 = &req->desc[0];
  enum ocf_alg_class cls0 = desc_class(s, d0);
  *direct = false;
  if ((cls0 == OCF_CLASS_CIPHER || cls0 == OCF_CLASS_AEAD) && d0->len > 0) {
    *direct = !overlaps(d0->skip, d0->len, d0->iv_off, desc_ivlen(s, d0, cls0));
    if (cls0 == OCF_CLASS_AEAD)
      *direct = *direct && !overlaps(d0->skip, d0->len, d0->aad_skip, d0->aad_len) &&
                !overlaps(d0->skip, d0->len, d0->inject, s->ctaglen);
  }
  if (sp.hi <= sp.lo) return 0;
  if (!*direct) return eng_buf_move(&req->buf, &req->out, sp.lo, sp.hi - sp.lo) ? EINVAL : 0;
  int rc = 0;
  if (d0->skip > sp.lo) rc = eng_buf_move(&req->buf, &req->out, sp.lo, d0->skip - sp.lo);
  if (rc == 0 && sp.hi > d0->skip + d0->len)
    rc = eng_buf_move(&req->buf, &req->out, d0->skip + d0->len, sp.hi - (d0->skip + d0->len));
  return rc ? EINVAL : 0;
}

static int run_req(struct ocf_eng_sess *s, struct ocf_req *req) {
  const struct ocf_buf *work = &req->buf;
  bool direct = false;
  int rc;
  if (req->ndesc < 1 || req->ndesc > OCF_MAX_DESC) return EINVAL;
  if (req->out.type != OCF_BUF_NONE) {
    work = &req->out;
    rc = prepare_out(s, req, &direct);
    if (rc != 0) return rc;
  }
  for (int i = 0; i < req->ndesc; i++) {
    struct ocf_desc *d = &req->desc[i];
    const struct ocf_buf *in = i == 0 && direct ? &req->buf : work;
    switch (desc_class(s, d)) {
      case OCF_CLASS_CIPHER:
        rc = do_cipher(s, d, in, work);
        break;
      case OCF_CLASS_AEAD:
        rc = do_aead(s, d, in, work);
        break;
      case OCF_CLASS_MAC:
        rc = do_mac(s, d, work);
        break;
      case OCF_CLASS_COMP:
        rc = do_comp(s, req, d, work, work);
        break;
      default:
        rc = EINVAL;
        break;
    }
    if (rc != 0) return rc;
  }
  return 0;
}

int ocf_eng_run(struct ocf_eng_sess *s, struct ocf_req *req) {
  if (s == NULL || !s->keyed) return EINVAL;
  return run_req(s, req);
}

void ocf_eng_hull(const struct ocf_eng_sess *s, const struct ocf_req *req, size_t *lo, size_t *hi) {
  struct span sp = {0, 0};
  for (int i = 0; s != NULL && i < req->ndesc && i < OCF_MAX_DESC; i++) {
    const struct ocf_desc *d = &req->desc[i];
    enum ocf_alg_class cls = desc_class(s, d);
    span_add(&sp, d->skip, d->len);
    span_add(&sp, d->iv_off, desc_ivlen(s, d, cls));
    if (cls == OCF_CLASS_AEAD) {
      span_add(&sp, d->aad_skip, d->aad_len);
      span_add(&sp, d->inject, s->ctaglen);
    } else if (cls == OCF_CLASS_MAC) {
      span_add(&sp, d->inject, s->maclen);
    }
  }
  *lo = sp.hi > sp.lo ? sp.lo : 0;
  *hi = sp.hi > sp.lo ? sp.hi : 0;
}

/* rebase moves a region's offset from the buffer onto a flat copy that
 * starts at base; an empty region needs no place. */
static bool rebase(size_t *off, size_t len, size_t base) {
  if (len == 0) {
    *off = 0;
    return true;
  }
  if (*off < base) return false;
  *off -= base;
  return true;
}

int ocf_eng_apply(struct ocf_eng_sess *s, struct ocf_req *req, uint8_t *flat, size_t base,
                  size_t n) {
  if (s == NULL || !s->keyed || req->ndesc < 1 || req->ndesc > OCF_MAX_DESC) return EINVAL;
  /* A copy of the request whose buffer is the flat hull: the framework's
   * private fields travel along, so stream and nonce services still find the
   * session. */
  struct ocf_req r = *req;
  r.buf = ocf_buf_contig(flat, n);
  r.out.type = OCF_BUF_NONE;
  for (int i = 0; i < r.ndesc; i++) {
    struct ocf_desc *d = &r.desc[i];
    enum ocf_alg_class cls = desc_class(s, d);
    if (cls == OCF_CLASS_COMP) return ENOTSUP;
    size_t taglen = cls == OCF_CLASS_AEAD ? s->ctaglen : cls == OCF_CLASS_MAC ? s->maclen : 0;
    size_t aadlen = cls == OCF_CLASS_AEAD ? d->aad_len : 0;
    if (!rebase(&d->skip, d->len, base) || !rebase(&d->iv_off, desc_ivlen(s, d, cls), base) ||
        !rebase(&d->aad_skip, aadlen, base) || !rebase(&d->inject, taglen, base))
      return EINVAL;
  }
  int rc = run_req(s, &r);
  for (int i = 0; i < r.ndesc; i++) memcpy(req->desc[i].iv, r.desc[i].iv, OCF_MAX_IV);
  OPENSSL_cleanse(&r, sizeof(r));
  return rc;
}

void ocf_eng_dma_in(const struct ocf_req *req, uint8_t *flat, size_t lo, size_t hi) {
  size_t inlen = ocf_buf_len(&req->buf);
  size_t end = hi < inlen ? hi : inlen;
  if (end > lo) ocf_buf_copyout(&req->buf, lo, flat, end - lo);
  if (hi > lo && end < hi) memset(flat + (end > lo ? end - lo : 0), 0, hi - (end > lo ? end : lo));
}

void ocf_eng_dma_out(const struct ocf_req *req, const uint8_t *flat, size_t lo, size_t hi) {
  const struct ocf_buf *dst = req->out.type != OCF_BUF_NONE ? &req->out : &req->buf;
  size_t dlen = ocf_buf_len(dst);
  size_t end = hi < dlen ? hi : dlen;
  if (end > lo) ocf_buf_copyin(dst, lo, flat, end - lo);
}
