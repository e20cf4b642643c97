/*
 * digest.c - SHA-1 and SHA-2 digests.
 *
 * A framework hash request takes the whole message, and EVP streams it, so
 * the path is chosen at the first update: the framework path keeps the
 * message (up to digest_max bytes) and sends it at the final call; a
 * longer message, or one the framework refuses, continues inline from what
 * was kept.  The inline path is libcrypto's SHA code on a state kept in this
 * context (the same code the default provider runs), so that a digest made
 * and freed per message, as EVP_Digest does, costs one allocation, as it
 * does in the default provider.
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* the low-level SHA functions, see above */

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "provider/prov.h"

struct ddef {
  const char *name;
  enum ocf_alg alg;
  size_t size, block;
};

enum { D_NONE = 0, D_INLINE, D_KEEP };

struct dgctx {
  struct ocfprov *p;
  const struct ddef *def;
  int mode;
  union {
    SHA_CTX sha1;
    SHA256_CTX sha256;
    SHA512_CTX sha512;
  } st;
  uint8_t *buf; /* D_KEEP: the message so far */
  size_t len, cap;
  struct dticket t;
  uint64_t spent; /* time inside our calls for this message (timed tickets) */
  struct osess *sess;
  int sess_err;
};

static void *dg_newctx(void *provctx, const struct ddef *def) {
  if (!ocfprov_usable(provctx)) return NULL;
  /* Made per message by EVP_Digest: no zeroing of the hash state, which
   * st_init sets. */
  struct dgctx *c = malloc(sizeof(*c));
  if (c == NULL) return NULL;
  c->p = provctx;
  c->def = def;
  c->mode = D_NONE;
  c->buf = NULL;
  c->len = c->cap = 0;
  c->t.timed = false;
  c->spent = 0;
  c->sess = NULL;
  c->sess_err = 0;
  return c;
}

static void dg_freectx(void *vctx) {
  struct dgctx *c = vctx;
  if (c == NULL) return;
  be_freesession(c->sess);
  wipe_free(c->buf, c->cap);
  OPENSSL_cleanse(&c->st, sizeof(c->st)); /* the rest holds no secret */
  free(c);
}

static void *dg_dupctx(void *vctx) {
  struct dgctx *src = vctx;
  struct dgctx *c = malloc(sizeof(*c));
  if (c == NULL) return NULL;
  *c = *src;
  c->sess = NULL;
  c->sess_err = 0;
  c->buf = NULL;
  if (src->cap > 0) {
    c->buf = malloc(src->cap);
    if (c->buf == NULL) {
      free(c);
      return NULL;
    }
    memcpy(c->buf, src->buf, src->len);
  }
  return c;
}

static int dg_init(void *vctx, const OSSL_PARAM params[]) {
  struct dgctx *c = vctx;
  c->mode = D_NONE;
  c->len = 0;
  c->spent = 0;
  return 1;
}

static void st_init(struct dgctx *c) {
  switch (c->def->alg) {
    case OCF_ALG_SHA1:
      SHA1_Init(&c->st.sha1);
      break;
    case OCF_ALG_SHA2_224:
      SHA224_Init(&c->st.sha256);
      break;
    case OCF_ALG_SHA2_256:
      SHA256_Init(&c->st.sha256);
      break;
    case OCF_ALG_SHA2_384:
      SHA384_Init(&c->st.sha512);
      break;
    default:
      SHA512_Init(&c->st.sha512);
      break;
  }
}

static void st_update(struct dgctx *c, const void *in, size_t n) {
  switch (c->def->alg) {
    case OCF_ALG_SHA1:
      SHA1_Update(&c->st.sha1, in, n);
      break;
    case OCF_ALG_SHA2_224:
    case OCF_ALG_SHA2_256:
      SHA256_Update(&c->st.sha256, in, n);
      break;
    default:
      SHA512_Update(&c->st.sha512, in, n);
      break;
  }
}

static void st_final(struct dgctx *c, uint8_t *out) {
  switch (c->def->alg) {
    case OCF_ALG_SHA1:
      SHA1_Final(out, &c->st.sha1);
      break;
    case OCF_ALG_SHA2_224:
      SHA224_Final(out, &c->st.sha256);
      break;
    case OCF_ALG_SHA2_256:
      SHA256_Final(out, &c->st.sha256);
      break;
    case OCF_ALG_SHA2_384:
      SHA384_Final(out, &c->st.sha512);
      break;
    default:
      SHA512_Final(out, &c->st.sha512);
      break;
  }
}

/* go_inline continues the message on the inline state from what was kept. */
static void go_inline(struct dgctx *c) {
  st_init(c);
  if (c->mode == D_KEEP && c->len > 0) st_update(c, c->buf, c->len);
  c->mode = D_INLINE;
}

static int keep(struct dgctx *c, const uint8_t *in, size_t n) {
  if (c->len + n > c->cap) {
    size_t cap = c->cap ? c->cap : 1024;
    while (cap < c->len + n) cap *= 2;
    uint8_t *b = malloc(cap);
    if (b == NULL) return 0;
    if (c->len) memcpy(b, c->buf, c->len);
    wipe_free(c->buf, c->cap);
    c->buf = b;
    c->cap = cap;
  }
  memcpy(c->buf + c->len, in, n);
  c->len += n;
  return 1;
}

static int dg_update(void *vctx, const unsigned char *in, size_t inl) {
  struct dgctx *c = vctx;
  if (c->mode == D_INLINE) {
    st_update(c, in, inl);
    STAT_ADD_LOOSE(c->p, in_bytes, inl);
    return 1;
  }
  if (inl == 0) return 1;
  if (c->mode == D_NONE) {
    bool ok = c->sess_err == 0 && inl <= c->p->conf.digest_max && be_available(c->p);
    if (dec_choose(c->p, FAM_DIGEST, inl, ok, &c->t) == PATH_INLINE) {
      uint64_t t0 = c->t.timed ? now_ns() : 0;
      go_inline(c);
      st_update(c, in, inl);
      STAT_ADD_LOOSE(c->p, in_bytes, inl);
      if (c->t.timed) c->spent += now_ns() - t0;
      return 1;
    }
    c->mode = D_KEEP;
  }
  uint64_t t0 = c->t.timed ? now_ns() : 0;
  if (c->len + inl > c->p->conf.digest_max || !keep(c, in, inl)) {
    go_inline(c); /* too long for one request: stream from here */
    st_update(c, in, inl);
    c->t.timed = false;
    return 1;
  }
  if (c->t.timed) c->spent += now_ns() - t0;
  return 1;
}

/* fw_digest hashes the kept message through the framework into out. */
static int fw_digest(struct dgctx *c, uint8_t *out, struct bstat *bs) {
  if (c->sess == NULL) {
    if (c->sess_err != 0) return c->sess_err;
    struct ocf_sessparam sp = {.alg = c->def->alg};
    int rc = be_newsession(c->p, &sp, &c->sess);
    if (rc != 0) return c->sess_err = rc;
  }
  struct iovec seg[2] = {{c->buf, c->len}, {out, c->def->size}};
  struct ocf_desc d = {.alg = c->def->alg, .len = c->len, .inject = c->len};
  return be_crypt(c->sess, &d, 1, seg, 2, bs);
}

static int dg_final(void *vctx, unsigned char *out, size_t *outl, size_t outsz) {
  struct dgctx *c = vctx;
  if (outsz < c->def->size) {
    ocfprov_err(c->p, OCFPROV_R_OUT_TOO_SMALL, "%zu bytes for a %zu-byte digest", outsz,
                c->def->size);
    return 0;
  }
  uint64_t t0 = c->t.timed ? now_ns() : 0;
  if (c->mode == D_KEEP) {
    struct bstat bs;
    int rc = fw_digest(c, out, &bs);
    if (rc == 0) {
      if (c->t.timed) {
        c->t.t0 = now_ns() - (c->spent + (now_ns() - t0));
        dec_done(c->p, &c->t, &bs);
      }
      c->mode = D_NONE;
      c->len = 0;
      *outl = c->def->size;
      return 1;
    }
    STAT_ADD(c->p, fallbacks, 1);
    c->t.timed = false;
  }
  if (c->mode != D_INLINE) go_inline(c);
  st_final(c, out);
  STAT_ADD_LOOSE(c->p, in_req, 1);
  if (c->t.timed) {
    c->t.t0 = now_ns() - (c->spent + (now_ns() - t0));
    dec_done(c->p, &c->t, NULL);
  }
  c->mode = D_NONE;
  c->len = 0;
  *outl = c->def->size;
  return 1;
}

static int dg_get_params_def(const struct ddef *def, OSSL_PARAM params[]) {
  OSSL_PARAM *q;
  if ((q = OSSL_PARAM_locate(params, OSSL_DIGEST_PARAM_BLOCK_SIZE)) != NULL &&
      !OSSL_PARAM_set_size_t(q, def->block))
    return 0;
  if ((q = OSSL_PARAM_locate(params, OSSL_DIGEST_PARAM_SIZE)) != NULL &&
      !OSSL_PARAM_set_size_t(q, def->size))
    return 0;
  if ((q = OSSL_PARAM_locate(params, OSSL_DIGEST_PARAM_XOF)) != NULL && !OSSL_PARAM_set_int(q, 0))
    return 0;
  /* As the default provider: SHA-1 and SHA-2 AlgorithmIdentifiers carry
   * no parameters. */
  if ((q = OSSL_PARAM_locate(params, OSSL_DIGEST_PARAM_ALGID_ABSENT)) != NULL &&
      !OSSL_PARAM_set_int(q, 1))
    return 0;
  return 1;
}

static const OSSL_PARAM dg_params[] = {
    OSSL_PARAM_size_t(OSSL_DIGEST_PARAM_BLOCK_SIZE, NULL),
    OSSL_PARAM_size_t(OSSL_DIGEST_PARAM_SIZE, NULL), OSSL_PARAM_int(OSSL_DIGEST_PARAM_XOF, NULL),
    OSSL_PARAM_int(OSSL_DIGEST_PARAM_ALGID_ABSENT, NULL), OSSL_PARAM_END};

static const OSSL_PARAM *dg_gettable_params(void *provctx) { return dg_params; }

#define DIGEST(sym, nm, a, sz, blk)                                                    \
  static const struct ddef ddef_##sym = {nm, a, sz, blk};                              \
  static void *sym##_newctx(void *provctx) { return dg_newctx(provctx, &ddef_##sym); } \
  static int sym##_get_params(OSSL_PARAM params[]) {                                   \
    return dg_get_params_def(&ddef_##sym, params);                                     \
  }                                                                                    \
  static const OSSL_DISPATCH sym##_functions[] = {                                     \
      {OSSL_FUNC_DIGEST_NEWCTX, (void (*)(void))sym##_newctx},                         \
      {OSSL_FUNC_DIGEST_FREECTX, (void (*)(void))dg_freectx},                          \
      {OSSL_FUNC_DIGEST_DUPCTX, (void (*)(void))dg_dupctx},                            \
      {OSSL_FUNC_DIGEST_INIT, (void (*)(void))dg_init},                                \
      {OSSL_FUNC_DIGEST_UPDATE, (void (*)(void))dg_update},                            \
      {OSSL_FUNC_DIGEST_FINAL, (void (*)(void))dg_final},                              \
      {OSSL_FUNC_DIGEST_GET_PARAMS, (void (*)(void))sym##_get_params},                 \
      {OSSL_FUNC_DIGEST_GETTABLE_PARAMS, (void (*)(void))dg_gettable_params},          \
      {0, NULL}};

DIGEST(sha1, "SHA1", OCF_ALG_SHA1, 20, 64)
DIGEST(sha224, "SHA2-224", OCF_ALG_SHA2_224, 28, 64)
DIGEST(sha256, "SHA2-256", OCF_ALG_SHA2_256, 32, 64)
DIGEST(sha384, "SHA2-384", OCF_ALG_SHA2_384, 48, 128)
DIGEST(sha512, "SHA2-512", OCF_ALG_SHA2_512, 64, 128)

#define PROPS "provider=ocf"
const OSSL_ALGORITHM ocfprov_digests[] = {
    {"SHA1:SHA-1:SSL3-SHA1:1.3.14.3.2.26", PROPS, sha1_functions, NULL},
    {"SHA2-224:SHA-224:SHA224:2.16.840.1.101.3.4.2.4", PROPS, sha224_functions, NULL},
    {"SHA2-256:SHA-256:SHA256:2.16.840.1.101.3.4.2.1", PROPS, sha256_functions, NULL},
    {"SHA2-384:SHA-384:SHA384:2.16.840.1.101.3.4.2.2", PROPS, sha384_functions, NULL},
    {"SHA2-512:SHA-512:SHA512:2.16.840.1.101.3.4.2.3", PROPS, sha512_functions, NULL},
    {NULL, NULL, NULL, NULL}};
