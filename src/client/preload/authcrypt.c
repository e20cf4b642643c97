/* authcrypt.c - CIOCAUTHCRYPT: AEAD (GCM), TLS records (MAC-then-pad-then
 * CBC, with a constant-time padding check) and SRTP.  Separate because each
 * of the three lays out its buffer in its own way, none of which CIOCCRYPT
 * shares. */
#include "preload_int.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

/* --- CIOCAUTHCRYPT ------------------------------------------------------------ */

/* run_buf runs the descriptors d[nd] over buf[len] in place, through the
 * staging region when there is one (a copy each way, and the rings instead
 * of the socket). */
static int run_buf(struct cfile *f, uint32_t dses, struct ocf_desc *d, int nd, uint8_t *buf,
                   size_t len) {
  struct ocfdev_op op;
  memset(&op, 0, sizeof(op));
  op.ses = dses;
  op.ndesc = nd;
  memcpy(op.desc, d, (size_t)nd * sizeof(*d));
  op.buf = buf;
  op.len = len;
  if (len > ocfdev_max_request(f->dev)) return EMSGSIZE;
  uint8_t *st = stage_buf(&f->stage, f->dev, len);
  if (st == NULL) return ocfdev_crypt(f->dev, &op);
  if (len) memcpy(st, buf, len);
  int rc = stage_crypt(&f->stage, f->dev, &op, len);
  if (rc == 0 && len) memcpy(buf, st, len);
  return rc;
}

static int auth_aead(struct cfile *f, struct csess *s, struct crypt_auth_op *a, const uint8_t *iv) {
  bool enc = a->op == COP_ENCRYPT;
  unsigned tl = a->tag_len;
  if (tl > s->maclen) return EINVAL;
  size_t A = a->auth_len, L;
  if (enc)
    L = a->len;
  else if (a->len < tl)
    return EINVAL;
  else
    L = a->len - tl;
  if ((A && a->auth_src == NULL) || (a->len && a->src == NULL) || a->dst == NULL) return EFAULT;
  uint32_t dses;
  int rc = pl_dses_for(f, s, tl, &dses);
  if (rc) return pl_kerr(rc);
  size_t n = A + L + tl;
  uint8_t *buf = malloc(n + 1);
  if (buf == NULL) return ENOMEM;
  if (A) memcpy(buf, a->auth_src, A);
  memcpy(buf + A, a->src, enc ? L : L + tl);
  struct ocf_desc d = {.alg = s->c->alg,
                       .flags = (enc ? OCF_D_ENCRYPT : 0) | OCF_D_IV_EXPLICIT,
                       .skip = A,
                       .len = L,
                       .inject = A + L,
                       .aad_skip = 0,
                       .aad_len = A};
  memcpy(d.iv, iv, s->ivlen);
  rc = run_buf(f, dses, &d, 1, buf, n);
  if (rc == 0) {
    memcpy(a->dst, buf + A, enc ? L + tl : L);
    a->len = (uint32_t)(enc ? L + tl : L);
  }
  explicit_bzero(buf, n);
  free(buf);
  return rc;
}

/* Masks for the TLS padding check: all ones when true, 0 when false,
 * computed without branches. */
static size_t ct_mask_nonzero(size_t x) {
  return (size_t)0 - ((x | ((size_t)0 - x)) >> (sizeof(size_t) * 8 - 1));
}
static size_t ct_mask_le(size_t a, size_t b) { /* a <= b, both < 2^63 */
  return ~((size_t)0 - ((b - a) >> (sizeof(size_t) * 8 - 1)));
}

/* TLS: MAC(auth || plain), then pad, then CBC over plain || MAC || pad. */
static int auth_tls(struct cfile *f, struct csess *s, struct crypt_auth_op *a, uint8_t *iv) {
  if (s->c == NULL || s->m == NULL || s->c->mode != M_CBC) return EINVAL;
  bool enc = a->op == COP_ENCRYPT;
  unsigned tl = a->tag_len, bs = s->block;
  if (tl > s->maclen) return EINVAL;
  size_t A = a->auth_len;
  if ((A && a->auth_src == NULL) || a->dst == NULL) return EFAULT;
  uint32_t dses;
  int rc = pl_dses_for(f, s, tl, &dses);
  if (rc) return pl_kerr(rc);
  if (enc) {
    size_t L = a->len, P = bs - (L + tl) % bs, C = L + tl + P, n = A + C;
    uint8_t *buf = malloc(n);
    if (buf == NULL) return ENOMEM;
    if (A) memcpy(buf, a->auth_src, A);
    if (L) memcpy(buf + A, a->src, L);
    memset(buf + A + L + tl, (int)(P - 1), P);
    struct ocf_desc d[2] = {
        {.alg = s->m->alg, .len = A + L, .inject = A + L},
        {.alg = s->c->alg, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .skip = A, .len = C}};
    memcpy(d[1].iv, iv, s->ivlen);
    rc = run_buf(f, dses, d, 2, buf, n);
    if (rc == 0) {
      memcpy(a->dst, buf + A, C);
      pl_next_iv(s, true, NULL, buf + A, C, iv);
      a->len = (uint32_t)C;
    }
    explicit_bzero(buf, n);
    free(buf);
    return rc;
  }
  size_t C = a->len;
  if (C == 0 || C % bs) return EINVAL;
  size_t n = A + C;
  uint8_t *buf = malloc(n);
  if (buf == NULL) return ENOMEM;
  if (A) memcpy(buf, a->auth_src, A);
  memcpy(buf + A, a->src, C);
  uint8_t niv[32];
  memcpy(niv, iv, sizeof(niv));
  pl_next_iv(s, false, buf + A, NULL, C, niv);
  struct ocf_desc d = {.alg = s->c->alg, .flags = OCF_D_IV_EXPLICIT, .skip = A, .len = C};
  memcpy(d.iv, iv, s->ivlen);
  rc = run_buf(f, dses, &d, 1, buf, n);
  if (rc == 0) {
    memcpy(iv, niv, sizeof(niv));
    /* The plaintext stays in buf until pad and MAC are verified: a record
     * that fails leaves dst (which is src) holding the ciphertext it had.
     * Check pad and MAC together, one answer for both.  The padding check
     * reads the same bytes whatever their values (no early exit, no branch
     * on the pad), as TLS stacks do against padding oracles; the MAC then
     * covers a length that depends on the pad, as in the kernel module. */
    size_t pad = buf[n - 1];
    size_t good = ct_mask_le(pad + 1 + tl, C);
    size_t span = C < 256 ? C : 256;
    for (size_t i = 1; i <= span; i++) {
      size_t in_pad = ct_mask_le(i, pad + 1);
      good &= ~(in_pad & ct_mask_nonzero((size_t)(buf[n - i] ^ pad)));
    }
    size_t Lbad = C >= tl ? C - tl : 0, Lgood = (size_t)(C - pad - 1 - tl);
    size_t L = (good & Lgood) | (~good & Lbad);
    bool bad = good == 0;
    struct ocf_desc m = {.alg = s->m->alg, .flags = OCF_D_VERIFY, .len = A + L, .inject = A + L};
    int vr = C >= tl ? run_buf(f, dses, &m, 1, buf, A + L + tl) : EBADMSG;
    if (bad || vr == EBADMSG)
      rc = EBADMSG;
    else
      rc = vr;
    if (rc == 0) {
      memcpy(a->dst, buf + A, C); /* plaintext, MAC and padding, as the kernel leaves them */
      a->len = (uint32_t)L;
    }
  }
  explicit_bzero(buf, n);
  free(buf);
  return rc;
}

/* SRTP: encrypt src in place, then MAC the whole auth area; the tag goes
 * to a->tag.  Decrypt verifies first. */
static int auth_srtp(struct cfile *f, struct csess *s, struct crypt_auth_op *a, uint8_t *iv) {
  bool enc = a->op == COP_ENCRYPT;
  unsigned tl = a->tag_len;
  if (a->dst == NULL && a->auth_src == NULL) return EINVAL;
  if (a->auth_len == 0 || a->auth_src == NULL || a->src == NULL) return EINVAL;
  ptrdiff_t diff = a->src - a->auth_src;
  if (diff < 0 || diff > 256 || (size_t)diff + a->len > a->auth_len) return EINVAL;
  if (s->m && (tl > s->maclen || a->tag == NULL)) return s->m && a->tag == NULL ? EFAULT : EINVAL;
  uint32_t dses;
  int rc = pl_dses_for(f, s, s->m ? tl : s->maclen, &dses);
  if (rc) return pl_kerr(rc);
  size_t A = a->auth_len, n = A + (s->m ? tl : 0);
  uint8_t *buf = malloc(n + 1);
  if (buf == NULL) return ENOMEM;
  memcpy(buf, a->auth_src, A);
  if (s->m && !enc) memcpy(buf + A, a->tag, tl);
  struct ocf_desc cd = {0}, md = {0}, d[2];
  int nd = 0;
  if (s->c) {
    cd.alg = s->c->alg;
    cd.flags = (enc ? OCF_D_ENCRYPT : 0) | (s->ivlen ? OCF_D_IV_EXPLICIT : 0);
    cd.skip = (size_t)diff;
    cd.len = a->len;
    memcpy(cd.iv, iv, s->ivlen);
  }
  if (s->m) {
    md.alg = s->m->alg;
    md.flags = enc ? 0 : OCF_D_VERIFY;
    md.len = A;
    md.inject = A;
  }
  if (enc) {
    if (s->c) d[nd++] = cd;
    if (s->m) d[nd++] = md;
  } else {
    if (s->m) d[nd++] = md;
    if (s->c) d[nd++] = cd;
  }
  rc = run_buf(f, dses, d, nd, buf, n);
  if (rc == 0) {
    pl_next_iv(s, enc, a->auth_src + diff, buf + diff, a->len, iv);
    memcpy(a->src, buf + diff, a->len);
    if (s->m && enc) memcpy(a->tag, buf + A, tl);
  }
  explicit_bzero(buf, n);
  free(buf);
  return rc;
}

int pl_do_authcrypt(struct cfile *f, struct crypt_auth_op *a) {
  if (a->op != COP_ENCRYPT && a->op != COP_DECRYPT) return EINVAL;
  struct csess *s = pl_sess_find(f, a->ses);
  if (s == NULL) return EINVAL;
  bool tls = a->flags & COP_FLAG_AEAD_TLS_TYPE, srtp = a->flags & COP_FLAG_AEAD_SRTP_TYPE;
  if ((tls || srtp) && a->src != a->dst) return EINVAL;
  if (a->tag_len == 0) a->tag_len = s->maclen;
  uint8_t iv[32];
  memcpy(iv, s->iv, sizeof(iv));
  if (a->iv && s->ivlen) memcpy(iv, a->iv, s->ivlen);
  int rc;
  if (srtp)
    rc = auth_srtp(f, s, a, iv);
  else if (tls)
    rc = auth_tls(f, s, a, iv);
  else if (s->c && s->c->mode == M_AEAD)
    rc = auth_aead(f, s, a, iv);
  else
    rc = EINVAL;
  if (rc == 0 || rc == EBADMSG) memcpy(s->iv, iv, sizeof(iv));
  if (rc == 0 && (a->flags & COP_FLAG_WRITE_IV) && a->iv) memcpy(a->iv, iv, s->ivlen);
  return pl_kerr(rc);
}
