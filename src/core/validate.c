/* validate.c - checks a request against its session before any producer sees
 * it, so that every producer can trust offsets, lengths and IV sources. */
#include <errno.h>

#include "core/internal.h"
#include "core/sessx.h"

/* fits: [off, off+len) inside a buffer of size total, without overflow. */
static bool fits(size_t off, size_t len, size_t total) {
  return off <= total && len <= total - off;
}

#define DESC_FLAGS                                                                      \
  (OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT | OCF_D_IV_PRESENT | OCF_D_VERIFY | OCF_D_UPDATE | \
   OCF_D_FINAL | OCF_D_RESET)
#define STREAM_FLAGS (OCF_D_UPDATE | OCF_D_FINAL | OCF_D_RESET)

/* Streamed-digest flags: one hash or HMAC descriptor alone, UPDATE or FINAL
 * (RESET only with one of them), no VERIFY on a part that writes nothing. */
static int check_stream(const struct ocf_req *req, const struct ocf_desc *dc,
                        const struct ocf_alg_info *ai) {
  unsigned f = dc->flags & STREAM_FLAGS;
  if (f == 0) return 0;
  if (ai->cls != OCF_CLASS_MAC || ai->alg == OCF_ALG_AES_GMAC)
    return ocf_seterr(EINVAL, "%s: streamed parts are for hashes and HMACs", ai->name);
  if (req->ndesc != 1)
    return ocf_seterr(EINVAL, "%s: a streamed part must be alone in its request", ai->name);
  bool upd = f & OCF_D_UPDATE, fin = f & OCF_D_FINAL;
  if (upd == fin)
    return ocf_seterr(EINVAL, "%s: a part is either OCF_D_UPDATE or OCF_D_FINAL", ai->name);
  if (upd && (dc->flags & OCF_D_VERIFY))
    return ocf_seterr(EINVAL, "%s: OCF_D_VERIFY needs the final part", ai->name);
  return 0;
}

static bool nonce_alg(enum ocf_alg alg) {
  return alg == OCF_ALG_AES_GCM || alg == OCF_ALG_AES_CCM || alg == OCF_ALG_CHACHA20_POLY1305;
}

static int check_buf(const struct ocf_buf *b, const char *what) {
  switch (b->type) {
    case OCF_BUF_CONTIG:
      if (b->u.contig.base == NULL && b->u.contig.len != 0)
        return ocf_seterr(EINVAL, "%s buffer: NULL base", what);
      return 0;
    case OCF_BUF_IOVEC:
      if (b->u.iovec.cnt < 0 || (b->u.iovec.cnt > 0 && b->u.iovec.iov == NULL))
        return ocf_seterr(EINVAL, "%s buffer: bad iovec list", what);
      for (int i = 0; i < b->u.iovec.cnt; i++)
        if (b->u.iovec.iov[i].iov_base == NULL && b->u.iovec.iov[i].iov_len != 0)
          return ocf_seterr(EINVAL, "%s buffer: iovec %d has a NULL base", what, i);
      return 0;
    case OCF_BUF_MBUF: {
      int n = 0;
      for (const struct ocf_mbuf *m = b->u.mbuf; m != NULL; m = m->next) {
        if (m->data == NULL && m->len != 0)
          return ocf_seterr(EINVAL, "%s buffer: mbuf %d has NULL data", what, n);
        if (++n > 1 << 20)
          return ocf_seterr(EINVAL, "%s buffer: mbuf chain too long (loop?)", what);
      }
      return 0;
    }
    default:
      return ocf_seterr(EINVAL, "%s buffer: unknown type %d", what, (int)b->type);
  }
}

/* Returns 0 or an errno (with a detail sentence).  maxlen_drv may be NULL. */
int validate_req(const struct sess *s, const struct ocf_req *req, const struct drv *d) {
  if (req->ndesc < 1 || req->ndesc > OCF_MAX_DESC)
    return ocf_seterr(EINVAL, "request has %d descriptors (1..%d)", req->ndesc, OCF_MAX_DESC);
  int rc = check_buf(&req->buf, "input");
  if (rc) return rc;
  size_t inlen = ocf_buf_len(&req->buf), dstlen = inlen;
  bool sep = req->out.type != OCF_BUF_NONE;
  if (sep) {
    if ((rc = check_buf(&req->out, "output")) != 0) return rc;
    dstlen = ocf_buf_len(&req->out);
  }
  size_t both = inlen < dstlen ? inlen : dstlen; /* regions read and written */
  unsigned used = 0;
  bool any_part = false;
  for (int i = 0; i < req->ndesc; i++) {
    const struct ocf_desc *dc = &req->desc[i];
    int k = -1;
    for (int j = 0; j < s->nparam; j++)
      if (s->param[j].alg == dc->alg) k = j;
    if (k < 0) {
      const struct ocf_alg_info *ai = ocf_alg_lookup(dc->alg);
      if (ai == NULL)
        return ocf_seterr(ENOTSUP, "descriptor %d: unknown algorithm %d", i, (int)dc->alg);
      return ocf_seterr(EINVAL, "descriptor %d: %s is not in the session", i, ai->name);
    }
    const struct ocf_alg_info *ai = s->ai[k];
    if (used & (1u << k)) return ocf_seterr(EINVAL, "descriptor %d: %s used twice", i, ai->name);
    used |= 1u << k;
    if (dc->flags & ~DESC_FLAGS) return ocf_seterr(EINVAL, "descriptor %d: unknown flags", i);
    if ((rc = check_stream(req, dc, ai)) != 0) return rc;
    bool part = dc->flags & (OCF_D_UPDATE | OCF_D_FINAL);
    any_part = any_part || part;
    /* a producer splits a streamed part itself (it carries the state) */
    if (!part && d != NULL && d->maxlen[dc->alg] != 0 && dc->len > d->maxlen[dc->alg])
      return ocf_seterr(EMSGSIZE, "%s: %zu bytes exceed producer %s's limit of %zu", ai->name,
                        dc->len, d->name, d->maxlen[dc->alg]);
    if (!fits(dc->skip, dc->len, both))
      return ocf_seterr(ERANGE, "%s: data [%zu, +%zu) outside the %zu-byte buffer", ai->name,
                        dc->skip, dc->len, both);
    size_t ivlen = s->ivlen[k], maclen = s->maclen[k];
    bool enc = dc->flags & OCF_D_ENCRYPT;
    switch (ai->cls) {
      case OCF_CLASS_COMP:
        if (req->ndesc != 1) return ocf_seterr(EINVAL, "compression must be alone in its request");
        break;
      case OCF_CLASS_MAC:
        if (!(dc->flags & OCF_D_UPDATE) && !fits(dc->inject, maclen, both))
          return ocf_seterr(ERANGE, "%s: MAC at [%zu, +%zu) outside the buffer", ai->name,
                            dc->inject, maclen);
        break;
      case OCF_CLASS_AEAD:
        if (!fits(dc->inject, maclen, both))
          return ocf_seterr(ERANGE, "%s: tag at [%zu, +%zu) outside the buffer", ai->name,
                            dc->inject, maclen);
        if (!fits(dc->aad_skip, dc->aad_len, both))
          return ocf_seterr(ERANGE, "%s: AAD [%zu, +%zu) outside the buffer", ai->name,
                            dc->aad_skip, dc->aad_len);
        break;
      case OCF_CLASS_CIPHER:
        if (ai->block > 1 && dc->len % ai->block != 0)
          return ocf_seterr(EINVAL, "%s: length %zu is not a multiple of the block size %zu",
                            ai->name, dc->len, ai->block);
        if (dc->alg == OCF_ALG_AES_XTS && dc->len < 16)
          return ocf_seterr(EINVAL, "aes-xts: length %zu is shorter than one block", dc->len);
        break;
      default:
        return ocf_seterr(EINVAL, "descriptor %d: bad algorithm class", i);
    }
    if (ai->cls != OCF_CLASS_MAC && (dc->flags & OCF_D_VERIFY))
      return ocf_seterr(EINVAL, "%s: VERIFY applies to MACs only", ai->name);
    if (ivlen > 0) {
      bool expl = dc->flags & OCF_D_IV_EXPLICIT, pres = dc->flags & OCF_D_IV_PRESENT;
      if (expl && pres) return ocf_seterr(EINVAL, "%s: IV both explicit and present", ai->name);
      if (pres && !fits(dc->iv_off, ivlen, inlen))
        return ocf_seterr(ERANGE, "%s: IV at [%zu, +%zu) outside the buffer", ai->name, dc->iv_off,
                          ivlen);
      if (!expl && !pres) {
        if (!enc || ai->cls == OCF_CLASS_MAC)
          return ocf_seterr(EINVAL, "%s: %s needs an IV (explicit or present in the buffer)",
                            ai->name, ai->cls == OCF_CLASS_MAC ? "MAC" : "decryption");
        if (!fits(dc->iv_off, ivlen, dstlen))
          return ocf_seterr(ERANGE, "%s: generated IV at [%zu, +%zu) outside the buffer", ai->name,
                            dc->iv_off, ivlen);
        if (nonce_alg(dc->alg) && ivlen < OCF_NONCE_MIN)
          return ocf_seterr(EINVAL,
                            "%s: a %zu-byte nonce cannot be generated without risk of repeating "
                            "(needs %d bytes or more): pass it explicitly",
                            ai->name, ivlen, OCF_NONCE_MIN);
      }
    }
  }
  return any_part ? sessx_admit(s, req) : 0; /* last: may take the stream token */
}
