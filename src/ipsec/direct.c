/* direct.c - IPSEC_CTX_DIRECT: the requests the ESP / AH / IPcomp code
 * builds are carried out here with OpenSSL EVP and zlib in the calling
 * thread, without the framework.  This is the comparison path of `ocf bench
 * --ipsec`: the protocol code is the same, only the crypto call differs.
 * It is written the way a careful user of EVP would: contexts keyed once per
 * SA, and per packet only the IV reset (EVP_CipherInit_ex with NULL cipher
 * and key) and EVP_MAC_init with no key, as tools/bench_direct.c does. */
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <zlib.h>

#include "ipsec/internal.h"

struct direct {
  pthread_mutex_t lock; /* one packet of the SA at a time */
  EVP_CIPHER *cipher;
  EVP_CIPHER_CTX *cctx; /* cipher, AEAD or GMAC */
  EVP_MAC *mac;
  EVP_MAC_CTX *mctx;
  z_stream z;
  bool zinit, zdeflate;
  bool enc;
};

static const char *evp_name(enum ocf_alg a, size_t keylen) {
  switch (a) {
    case OCF_ALG_3DES_CBC:
      return "DES-EDE3-CBC";
    case OCF_ALG_AES_CBC:
      return keylen == 16 ? "AES-128-CBC" : keylen == 24 ? "AES-192-CBC" : "AES-256-CBC";
    case OCF_ALG_AES_CTR:
      return keylen == 16 ? "AES-128-CTR" : keylen == 24 ? "AES-192-CTR" : "AES-256-CTR";
    case OCF_ALG_AES_GCM:
    case OCF_ALG_AES_GMAC:
      return keylen == 16 ? "AES-128-GCM" : keylen == 24 ? "AES-192-GCM" : "AES-256-GCM";
    case OCF_ALG_AES_CCM:
      return keylen == 16 ? "AES-128-CCM" : keylen == 24 ? "AES-192-CCM" : "AES-256-CCM";
    case OCF_ALG_CHACHA20_POLY1305:
      return "ChaCha20-Poly1305";
    default:
      return NULL;
  }
}

static const char *md_name(enum ocf_alg a) {
  switch (a) {
    case OCF_ALG_HMAC_MD5:
      return "MD5";
    case OCF_ALG_HMAC_SHA1:
      return "SHA1";
    case OCF_ALG_HMAC_SHA2_256:
      return "SHA2-256";
    case OCF_ALG_HMAC_SHA2_384:
      return "SHA2-384";
    case OCF_ALG_HMAC_SHA2_512:
      return "SHA2-512";
    default:
      return NULL;
  }
}

void ipsi_direct_sa_free(struct ipsec_sa *sa) {
  struct direct *d = sa->direct;
  if (d == NULL) return;
  EVP_CIPHER_CTX_free(d->cctx);
  EVP_CIPHER_free(d->cipher);
  EVP_MAC_CTX_free(d->mctx);
  EVP_MAC_free(d->mac);
  if (d->zinit) d->zdeflate ? deflateEnd(&d->z) : inflateEnd(&d->z);
  pthread_mutex_destroy(&d->lock);
  free(d);
  sa->direct = NULL;
}

int ipsi_direct_sa_init(struct ipsec_sa *sa) {
  struct direct *d = calloc(1, sizeof(*d));
  if (d == NULL) return ENOMEM;
  pthread_mutex_init(&d->lock, NULL);
  sa->direct = d;
  d->enc = sa->dir == IPSEC_DIR_OUT;
  if (sa->kind == XF_COMP) {
    int rc = d->enc ? deflateInit2(&d->z, sa->comp_level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY)
                    : inflateInit2(&d->z, -15);
    if (rc != Z_OK) return ENOMEM;
    d->zinit = true;
    d->zdeflate = d->enc;
    return 0;
  }
  enum ocf_alg calg = sa->kind == XF_GMAC ? sa->malg : sa->calg;
  if (calg != OCF_ALG_NONE && sa->kind != XF_MAC) {
    const char *n = evp_name(calg, sa->ckeylen);
    d->cipher = n ? EVP_CIPHER_fetch(NULL, n, NULL) : NULL;
    d->cctx = EVP_CIPHER_CTX_new();
    int enc = sa->kind == XF_GMAC ? 1 : d->enc;
    if (d->cipher == NULL || d->cctx == NULL ||
        EVP_CipherInit_ex(d->cctx, d->cipher, NULL, NULL, NULL, enc) != 1)
      goto fail;
    if (calg == OCF_ALG_AES_CCM &&
        (EVP_CIPHER_CTX_ctrl(d->cctx, EVP_CTRL_AEAD_SET_IVLEN, 11, NULL) != 1 ||
         EVP_CIPHER_CTX_ctrl(d->cctx, EVP_CTRL_AEAD_SET_TAG, sa->icvlen, NULL) != 1))
      goto fail;
    if (EVP_CipherInit_ex(d->cctx, NULL, NULL, sa->ckey, NULL, enc) != 1) goto fail;
    EVP_CIPHER_CTX_set_padding(d->cctx, 0);
  }
  const char *md = md_name(sa->malg);
  if (md != NULL) {
    OSSL_PARAM params[2] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)md, 0),
                            OSSL_PARAM_construct_end()};
    d->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    d->mctx = d->mac ? EVP_MAC_CTX_new(d->mac) : NULL;
    if (d->mctx == NULL || EVP_MAC_init(d->mctx, sa->mkey, sa->mkeylen, params) != 1) goto fail;
  }
  return 0;
fail:
  ERR_clear_error();
  return EIO;
}

/* The request's regions are in a contiguous buffer (ESP, IPcomp) or an
 * iovec (AH, MAC only); rd / wr go through the public buffer helpers. */
static uint8_t *flat(struct ocf_req *r, size_t off, size_t len) {
  if (r->buf.type != OCF_BUF_CONTIG || off > r->buf.u.contig.len || len > r->buf.u.contig.len - off)
    return NULL;
  return r->buf.u.contig.base + off;
}

static int do_mac(struct direct *d, struct ocf_req *r, const struct ocf_desc *ds, size_t maclen) {
  uint8_t md[64];
  size_t ml = 0;
  if (EVP_MAC_init(d->mctx, NULL, 0, NULL) != 1) return EIO;
  if (r->buf.type == OCF_BUF_IOVEC) {
    size_t skip = ds->skip, left = ds->len;
    for (int i = 0; i < r->buf.u.iovec.cnt && left > 0; i++) {
      struct iovec *v = &r->buf.u.iovec.iov[i];
      if (skip >= v->iov_len) {
        skip -= v->iov_len;
        continue;
      }
      size_t k = v->iov_len - skip < left ? v->iov_len - skip : left;
      if (EVP_MAC_update(d->mctx, (uint8_t *)v->iov_base + skip, k) != 1) return EIO;
      left -= k;
      skip = 0;
    }
    if (left) return EINVAL;
  } else {
    uint8_t *p = flat(r, ds->skip, ds->len);
    if (p == NULL || EVP_MAC_update(d->mctx, p, ds->len) != 1) return EINVAL;
  }
  if (EVP_MAC_final(d->mctx, md, &ml, sizeof(md)) != 1 || ml < maclen) return EIO;
  return ocf_buf_copyin(&r->buf, ds->inject, md, maclen) ? EINVAL : 0;
}

static int do_cipher(struct ipsec_sa *sa, struct direct *d, const struct ocf_desc *ds,
                     struct ocf_req *r) {
  uint8_t *p = flat(r, ds->skip, ds->len);
  int l = 0;
  if (p == NULL) return EINVAL;
  if (EVP_CipherInit_ex(d->cctx, NULL, NULL, NULL, ds->iv, -1) != 1) return EIO;
  if (sa->kind != XF_AEAD) {
    if (EVP_CipherUpdate(d->cctx, p, &l, p, (int)ds->len) != 1) return EIO;
    return 0;
  }
  uint8_t *aad = flat(r, ds->aad_skip, ds->aad_len), *tag = flat(r, ds->inject, sa->icvlen);
  uint8_t fin[16];
  if (aad == NULL || tag == NULL) return EINVAL;
  bool ccm = sa->calg == OCF_ALG_AES_CCM;
  if (!d->enc && EVP_CIPHER_CTX_ctrl(d->cctx, EVP_CTRL_AEAD_SET_TAG, sa->icvlen, tag) != 1)
    return EIO;
  if (ccm && EVP_CipherUpdate(d->cctx, NULL, &l, NULL, (int)ds->len) != 1) return EIO;
  if (EVP_CipherUpdate(d->cctx, NULL, &l, aad, (int)ds->aad_len) != 1) return EIO;
  if (EVP_CipherUpdate(d->cctx, p, &l, p, (int)ds->len) != 1) return d->enc ? EIO : EBADMSG;
  if (!ccm && EVP_CipherFinal_ex(d->cctx, fin, &l) != 1) return d->enc ? EIO : EBADMSG;
  if (d->enc && EVP_CIPHER_CTX_ctrl(d->cctx, EVP_CTRL_AEAD_GET_TAG, sa->icvlen, tag) != 1)
    return EIO;
  return 0;
}

static int do_gmac(struct ipsec_sa *sa, struct direct *d, const struct ocf_desc *ds,
                   struct ocf_req *r) {
  uint8_t *p = flat(r, ds->skip, ds->len), *tag = flat(r, ds->inject, sa->icvlen), fin[16];
  int l = 0;
  if (p == NULL || tag == NULL) return EINVAL;
  if (EVP_CipherInit_ex(d->cctx, NULL, NULL, NULL, ds->iv, 1) != 1 ||
      EVP_CipherUpdate(d->cctx, NULL, &l, p, (int)ds->len) != 1 ||
      EVP_CipherFinal_ex(d->cctx, fin, &l) != 1 ||
      EVP_CIPHER_CTX_ctrl(d->cctx, EVP_CTRL_AEAD_GET_TAG, sa->icvlen, tag) != 1)
    return EIO;
  return 0;
}

static int do_comp(struct direct *d, const struct ocf_desc *ds, struct ocf_req *r) {
  size_t cap = r->buf.u.contig.len - ds->skip;
  uint8_t *p = flat(r, ds->skip, ds->len);
  if (p == NULL) return EINVAL;
  uint8_t *tmp = malloc(cap + 1);
  if (tmp == NULL) return ENOMEM;
  int zr = d->zdeflate ? deflateReset(&d->z) : inflateReset(&d->z);
  d->z.next_in = p;
  d->z.avail_in = (uInt)ds->len;
  d->z.next_out = tmp;
  d->z.avail_out = (uInt)(cap + 1);
  if (zr == Z_OK) zr = d->zdeflate ? deflate(&d->z, Z_FINISH) : inflate(&d->z, Z_FINISH);
  int rc = 0;
  size_t produced = cap + 1 - d->z.avail_out;
  if (zr != Z_STREAM_END)
    rc = d->z.avail_out == 0 ? ENOSPC : d->zdeflate ? EIO : EINVAL;
  else if (produced > cap)
    rc = ENOSPC;
  if (rc == 0) {
    memcpy(p, tmp, produced);
    r->olen = produced;
  }
  free(tmp);
  return rc;
}

void ipsi_direct_run(struct ipsec_sa *sa, struct ocf_req *r) {
  struct direct *d = sa->direct;
  int rc = 0;
  pthread_mutex_lock(&d->lock);
  for (int i = 0; i < r->ndesc && rc == 0; i++) {
    const struct ocf_desc *ds = &r->desc[i];
    if (ds->alg == OCF_ALG_DEFLATE)
      rc = do_comp(d, ds, r);
    else if (ds->alg == OCF_ALG_AES_GMAC)
      rc = do_gmac(sa, d, ds, r);
    else if (md_name(ds->alg) != NULL)
      rc = do_mac(d, r, ds, sa->icvlen);
    else
      rc = do_cipher(sa, d, ds, r);
  }
  pthread_mutex_unlock(&d->lock);
  if (rc == EIO) ERR_clear_error();
  r->error = rc;
}
