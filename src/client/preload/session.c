/* session.c - the algorithms the shim knows and the sessions it keeps:
 * CIOCGSESSION, CIOCFSESSION, CIOCGSESSINFO, the daemon sessions behind a
 * program's session (one per tag length), and how daemon answers become the
 * kernel module's errors.  Separate because every request path uses it and
 * none of it handles data. */
#include "preload_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static const struct algmap algs[] = {
    {CRYPTO_DES_CBC, OCF_ALG_DES_CBC, "cbc(des)", M_CBC, false},
    {CRYPTO_3DES_CBC, OCF_ALG_3DES_CBC, "cbc(des3_ede)", M_CBC, false},
    {CRYPTO_BLF_CBC, OCF_ALG_BLOWFISH_CBC, "cbc(blowfish)", M_CBC, false},
    {CRYPTO_CAST_CBC, OCF_ALG_CAST5_CBC, "cbc(cast5)", M_CBC, false},
    {CRYPTO_AES_CBC, OCF_ALG_AES_CBC, "cbc(aes)", M_CBC, false},
    {CRYPTO_AES_CTR, OCF_ALG_AES_CTR, "ctr(aes)", M_CTR, false},
    {CRYPTO_AES_XTS, OCF_ALG_AES_XTS, "xts(aes)", M_XTS, false},
    {CRYPTO_AES_ECB, OCF_ALG_AES_ECB, "ecb(aes)", M_NONE, false},
    {CRYPTO_NULL, OCF_ALG_NULL, "ecb(cipher_null)", M_NONE, false},
    {CRYPTO_AES_GCM, OCF_ALG_AES_GCM, "gcm(aes)", M_AEAD, false},
    {CRYPTO_MD5_HMAC, OCF_ALG_HMAC_MD5, "hmac(md5)", M_NONE, true},
    {CRYPTO_SHA1_HMAC, OCF_ALG_HMAC_SHA1, "hmac(sha1)", M_NONE, true},
    {CRYPTO_SHA2_224_HMAC, OCF_ALG_HMAC_SHA2_224, "hmac(sha224)", M_NONE, true},
    {CRYPTO_SHA2_256_HMAC, OCF_ALG_HMAC_SHA2_256, "hmac(sha256)", M_NONE, true},
    {CRYPTO_SHA2_384_HMAC, OCF_ALG_HMAC_SHA2_384, "hmac(sha384)", M_NONE, true},
    {CRYPTO_SHA2_512_HMAC, OCF_ALG_HMAC_SHA2_512, "hmac(sha512)", M_NONE, true},
    {CRYPTO_MD5, OCF_ALG_MD5, "md5", M_NONE, true},
    {CRYPTO_SHA1, OCF_ALG_SHA1, "sha1", M_NONE, true},
    {CRYPTO_SHA2_224, OCF_ALG_SHA2_224, "sha224", M_NONE, true},
    {CRYPTO_SHA2_256, OCF_ALG_SHA2_256, "sha256", M_NONE, true},
    {CRYPTO_SHA2_384, OCF_ALG_SHA2_384, "sha384", M_NONE, true},
    {CRYPTO_SHA2_512, OCF_ALG_SHA2_512, "sha512", M_NONE, true},
};

static const struct algmap *alg_find(uint32_t id, bool mac) {
  for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
    if (algs[i].id == id && algs[i].mac == mac) return &algs[i];
  return NULL;
}

const struct algmap *pl_alg_of(enum ocf_alg alg) {
  for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
    if (algs[i].alg == alg) return &algs[i];
  return NULL;
}

/* --- sessions on the daemon ------------------------------------------------ */

int pl_daemon_session(struct ocfdev *d, struct csess *s, unsigned taglen, uint32_t *dses,
                      struct ocfdev_sessinfo *info) {
  if (s->keyless) return EINVAL;
  struct ocf_sessparam p[2];
  memset(p, 0, sizeof(p));
  int n = 0;
  if (s->c) {
    p[n].alg = s->c->alg;
    p[n].key = s->keylen ? s->key : NULL;
    p[n].keylen = s->keylen;
    if (s->c->mode == M_AEAD) p[n].maclen = taglen;
    n++;
  }
  if (s->m) {
    p[n].alg = s->m->alg;
    p[n].key = s->mkeylen ? s->mkey : NULL;
    p[n].keylen = s->mkeylen;
    p[n].maclen = taglen;
    n++;
  }
  if (n == 2) p[0].next = &p[1];
  return ocfdev_newsession(d, p, 0, dses, info);
}

/* pl_kerr maps a daemon answer to what the kernel module would return. */
int pl_kerr(int rc) {
  switch (rc) {
    case ECONNRESET:
    case EPIPE:
    case EPROTO:
      return EIO;
    case ENOENT:
      return EINVAL; /* an unknown session is EINVAL in cryptodev */
    default:
      return rc;
  }
}

uint32_t pl_sess_id(const void *s) { return ((const struct csess *)s)->ses; }

/* A program may hold thousands of sessions on one descriptor (OpenSSL's
 * devcrypto engine opens one per context): a scan of the list cost 59% of
 * the CIOCCRYPT rate on the oldest of 4,000. */
struct csess *pl_sess_find(struct cfile *f, uint32_t ses) {
  return idtab_find(&f->stab, ses, pl_sess_id);
}

/* pl_dses_for returns the daemon session producing tags of taglen bytes. */
int pl_dses_for(struct cfile *f, struct csess *s, unsigned taglen, uint32_t *out) {
  if (taglen == s->maclen) {
    *out = s->dses;
    return s->dses ? 0 : s->keyless ? EINVAL : EIO;
  }
  for (struct variant *v = s->var; v; v = v->next)
    if (v->taglen == taglen) {
      *out = v->dses;
      return 0;
    }
  struct variant *v = calloc(1, sizeof(*v));
  if (v == NULL) return ENOMEM;
  int rc = pl_daemon_session(f->dev, s, taglen, &v->dses, NULL);
  if (rc) {
    free(v);
    return rc == ENOTSUP ? EINVAL : rc;
  }
  v->taglen = taglen;
  v->next = s->var;
  s->var = v;
  *out = v->dses;
  return 0;
}

int pl_do_gsession(struct cfile *f, struct session_op *sop) {
  if (sop->cipher == 0 && sop->mac == 0) return EINVAL;
  struct csess *s = calloc(1, sizeof(*s));
  if (s == NULL) return ENOMEM;
  int rc = 0;
  if (sop->cipher && (s->c = alg_find(sop->cipher, false)) == NULL) rc = EINVAL;
  if (rc == 0 && sop->mac && (s->m = alg_find(sop->mac, true)) == NULL) rc = EINVAL;
  if (rc == 0 && s->c && s->c->mode == M_AEAD) s->m = NULL; /* the AEAD authenticates */
  if (rc == 0 && s->c && s->c->alg != OCF_ALG_NULL) {
    if (sop->keylen > CRYPTO_CIPHER_MAX_KEY_LEN || (sop->keylen && sop->key == NULL))
      rc = EINVAL;
    else {
      s->keylen = sop->keylen;
      if (s->keylen) memcpy(s->key, sop->key, s->keylen);
    }
  }
  if (rc == 0 && s->m) {
    if (sop->mackeylen > CRYPTO_HMAC_MAX_KEY_LEN || (sop->mackeylen && sop->mackey == NULL))
      rc = EINVAL;
    else {
      s->mkeylen = sop->mackeylen;
      if (s->mkeylen) memcpy(s->mkey, sop->mackey, s->mkeylen);
    }
  }
  struct ocfdev_sessinfo info;
  if (rc == 0) {
    rc = pl_daemon_session(f->dev, s, 0, &s->dses, &info);
    if (rc == ENOTSUP || rc == ENODEV) rc = EINVAL;
    rc = pl_kerr(rc);
  }
  if (rc) {
    pl_sess_wipe_free(s);
    return rc;
  }
  for (int i = 0; i < info.nalg; i++) {
    if (s->c && info.alg[i].alg == s->c->alg) {
      s->block = info.alg[i].block ? info.alg[i].block : 1;
      s->ivlen = info.alg[i].ivlen;
      if (s->c->mode == M_AEAD) s->maclen = info.alg[i].maclen;
    }
    if (s->m && info.alg[i].alg == s->m->alg) s->maclen = info.alg[i].maclen;
  }
  if (s->ivlen > sizeof(s->iv)) s->ivlen = sizeof(s->iv);
  snprintf(s->driver, sizeof(s->driver), "%s", info.driver);
  s->drv_flags = info.drv_flags;
  /* The program's id stays the same in a forked child, whose daemon
   * handles differ: keep our own. */
  s->ses = s->dses;
  while (pl_sess_find(f, s->ses) != NULL) s->ses++;
  if (idtab_add(&f->stab, s, pl_sess_id) != 0) {
    ocfdev_freesession(f->dev, s->dses);
    pl_sess_wipe_free(s);
    return ENOMEM;
  }
  s->next = f->sess;
  f->sess = s;
  sop->ses = s->ses;
  return 0;
}

int pl_do_fsession(struct cfile *f, uint32_t ses) {
  for (struct csess **pp = &f->sess; *pp; pp = &(*pp)->next) {
    struct csess *s = *pp;
    if (s->ses != ses) continue;
    idtab_del(&f->stab, s, pl_sess_id);
    *pp = s->next;
    if (s->dses) ocfdev_freesession(f->dev, s->dses);
    for (struct variant *v = s->var; v; v = v->next) ocfdev_freesession(f->dev, v->dses);
    pl_sess_wipe_free(s);
    return 0;
  }
  return ENOENT;
}

int pl_do_sessinfo(struct cfile *f, struct session_info_op *si) {
  struct csess *s = pl_sess_find(f, si->ses);
  if (s == NULL) return EINVAL;
  /* The released struct is 268 bytes: exactly what the kernel copies back,
   * and all that the program gave room for. */
  _Static_assert(sizeof(*si) == 268, "struct session_info_op is not the released ABI");
  uint32_t ses = si->ses;
  memset(si, 0, sizeof(*si));
  si->ses = ses;
  struct ocfdev_sessinfo info;
  if (s->dses && ocfdev_sessinfo(f->dev, s->dses, &info) == 0) {
    snprintf(s->driver, sizeof(s->driver), "%s", info.driver);
    s->drv_flags = info.drv_flags;
  }
  if (s->c) {
    snprintf(si->cipher_info.cra_name, CRYPTODEV_MAX_ALG_NAME, "%s", s->c->name);
    snprintf(si->cipher_info.cra_driver_name, CRYPTODEV_MAX_ALG_NAME, "%s-ocf-%s", s->c->name,
             s->driver);
  }
  if (s->m) {
    snprintf(si->hash_info.cra_name, CRYPTODEV_MAX_ALG_NAME, "%s", s->m->name);
    snprintf(si->hash_info.cra_driver_name, CRYPTODEV_MAX_ALG_NAME, "%s-ocf-%s", s->m->name,
             s->driver);
  }
  if (s->drv_flags & 0x1 /* OCF_DRV_HARDWARE */) si->flags |= SIOP_FLAG_KERNEL_DRIVER_ONLY;
  si->alignmask = 0;
  return 0;
}
