/* check_pk.c - `ocf check` for public-key operations: random operands on
 * every operation a producer registered, the answer recomputed with OpenSSL's
 * BIGNUM arithmetic (signatures checked by the verification equation, since
 * the producer draws its own nonce).  Also the key material `ocf bench`'s
 * public-key figures use. */
#include <errno.h>
#include <ocf/driver.h>
#include <ocf/pk.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/dsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* --- cached keys ----------------------------------------------------------- */

static struct ck_rsa rsa_cache[8];
static struct ck_dsa dsa_cache[4];

static BIGNUM *pkey_bn(EVP_PKEY *pk, const char *name) {
  BIGNUM *bn = NULL;
  if (EVP_PKEY_get_bn_param(pk, name, &bn) != 1) return NULL;
  return bn;
}

const struct ck_rsa *ck_rsa_get(int bits) {
  for (int i = 0; i < 8; i++)
    if (rsa_cache[i].bits == bits) return &rsa_cache[i];
  int slot = -1;
  for (int i = 0; i < 8 && slot < 0; i++)
    if (rsa_cache[i].bits == 0) slot = i;
  if (slot < 0) return NULL;
  EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
  if (pk == NULL) {
    ERR_clear_error();
    return NULL;
  }
  struct ck_rsa *k = &rsa_cache[slot];
  k->n = pkey_bn(pk, OSSL_PKEY_PARAM_RSA_N);
  k->e = pkey_bn(pk, OSSL_PKEY_PARAM_RSA_E);
  k->d = pkey_bn(pk, OSSL_PKEY_PARAM_RSA_D);
  k->p = pkey_bn(pk, OSSL_PKEY_PARAM_RSA_FACTOR1);
  k->q = pkey_bn(pk, OSSL_PKEY_PARAM_RSA_FACTOR2);
  k->dp = pkey_bn(pk, OSSL_PKEY_PARAM_RSA_EXPONENT1);
  k->dq = pkey_bn(pk, OSSL_PKEY_PARAM_RSA_EXPONENT2);
  k->qinv = pkey_bn(pk, OSSL_PKEY_PARAM_RSA_COEFFICIENT1);
  EVP_PKEY_free(pk);
  if (!k->n || !k->e || !k->d || !k->p || !k->q || !k->dp || !k->dq || !k->qinv) return NULL;
  k->bits = bits;
  return k;
}

const struct ck_dsa *ck_dsa_get(int bits) {
  for (int i = 0; i < 4; i++)
    if (dsa_cache[i].bits == bits) return &dsa_cache[i];
  int slot = -1;
  for (int i = 0; i < 4 && slot < 0; i++)
    if (dsa_cache[i].bits == 0) slot = i;
  if (slot < 0) return NULL;
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "DSA", NULL);
  EVP_PKEY *pk = NULL;
  if (ctx == NULL || EVP_PKEY_paramgen_init(ctx) != 1 ||
      EVP_PKEY_CTX_set_dsa_paramgen_bits(ctx, bits) != 1 ||
      EVP_PKEY_CTX_set_dsa_paramgen_q_bits(ctx, bits <= 1024 ? 160 : 256) != 1 ||
      EVP_PKEY_paramgen(ctx, &pk) != 1) {
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return NULL;
  }
  EVP_PKEY_CTX_free(ctx);
  struct ck_dsa *d = &dsa_cache[slot];
  d->p = pkey_bn(pk, OSSL_PKEY_PARAM_FFC_P);
  d->q = pkey_bn(pk, OSSL_PKEY_PARAM_FFC_Q);
  d->g = pkey_bn(pk, OSSL_PKEY_PARAM_FFC_G);
  EVP_PKEY_free(pk);
  if (!d->p || !d->q || !d->g) return NULL;
  d->bits = bits;
  return d;
}

static void free_caches(void) __attribute__((destructor));
static void free_caches(void) {
  for (int i = 0; i < 8; i++) {
    struct ck_rsa *k = &rsa_cache[i];
    BN_free(k->n);
    BN_free(k->e);
    BN_clear_free(k->d);
    BN_clear_free(k->p);
    BN_clear_free(k->q);
    BN_clear_free(k->dp);
    BN_clear_free(k->dq);
    BN_clear_free(k->qinv);
  }
  for (int i = 0; i < 4; i++) {
    BN_free(dsa_cache[i].p);
    BN_free(dsa_cache[i].q);
    BN_free(dsa_cache[i].g);
  }
}

void ck_kp_bn(struct ocf_kparam *kp, uint8_t *buf, size_t room, const BIGNUM *bn) {
  memset(buf, 0, room);
  BN_bn2lebinpad(bn, buf, (int)room);
  kp->p = buf;
  kp->nbits = (size_t)BN_num_bits(bn);
}

BIGNUM *ck_kp_get(const struct ocf_kparam *kp) {
  return BN_lebin2bn(kp->p, (int)((kp->nbits + 7) / 8), NULL);
}

/* --- trials ---------------------------------------------------------------- */

enum { KBUF = 1024 }; /* bytes per parameter: up to 8192-bit operands */

struct kctx {
  struct ocf_kreq k;
  uint8_t buf[OCF_KMAX_PARAM][KBUF];
  BN_CTX *bn;
  uint64_t *rng;
  struct ck_tally *tally;
  char what[96];
};

static BIGNUM *rand_below(struct kctx *c, const BIGNUM *top) {
  BIGNUM *x = BN_new();
  uint8_t raw[KBUF];
  int n = BN_num_bytes(top);
  ck_fill(c->rng, raw, (size_t)n);
  BN_bin2bn(raw, n, x);
  BN_mod(x, x, top, c->bn);
  if (BN_is_zero(x)) BN_one(x);
  return x;
}

static void kin(struct kctx *c, int i, const BIGNUM *bn) {
  ck_kp_bn(&c->k.param[i], c->buf[i], KBUF, bn);
}

static void kout(struct kctx *c, int i, size_t bytes) {
  memset(c->buf[i], 0, KBUF);
  ocf_kparam_out(&c->k.param[i], c->buf[i], bytes);
}

static int krun(struct kctx *c, enum ocf_kop op, int in, int out) {
  c->k.op = op;
  c->k.iparams = in;
  c->k.oparams = out;
  c->k.callback = NULL;
  int e = ocf_krun(&c->k);
  if (e != 0) ck_fail(c->tally, 0, "%s: %s", c->what, ocf_strerror(e));
  return e;
}

static int kcheck(struct kctx *c, int i, const BIGNUM *want) {
  BIGNUM *got = ck_kp_get(&c->k.param[i]);
  int ok = got != NULL && BN_cmp(got, want) == 0;
  if (!ok) ck_fail(c->tally, 0, "%s: wrong result", c->what);
  BN_free(got);
  return ok;
}

static int pick_bits(struct kctx *c, size_t max_bits, const int *sizes, int n) {
  int ok[8], m = 0;
  for (int i = 0; i < n; i++)
    if (max_bits == 0 || (size_t)sizes[i] <= max_bits) ok[m++] = sizes[i];
  return m ? ok[ck_range(c->rng, 0, (size_t)m - 1)] : 0;
}

static void t_modexp(struct kctx *c, size_t max_bits, int crt) {
  static const int sizes[] = {512, 768, 1024, 2048};
  int bits = pick_bits(c, max_bits, sizes, 4);
  const struct ck_rsa *key = bits ? ck_rsa_get(bits) : NULL;
  if (key == NULL) {
    c->tally->skipped++;
    return;
  }
  BIGNUM *x = rand_below(c, key->n), *want = BN_new();
  snprintf(c->what, sizeof(c->what), "%s %d-bit", crt ? "mod-exp-crt" : "mod-exp", bits);
  memset(&c->k, 0, sizeof(c->k));
  if (crt) {
    BN_mod_exp(want, x, key->d, key->n, c->bn);
    kin(c, 0, key->p);
    kin(c, 1, key->q);
    kin(c, 2, x);
    kin(c, 3, key->dp);
    kin(c, 4, key->dq);
    kin(c, 5, key->qinv);
    kout(c, 6, (size_t)BN_num_bytes(key->n));
    if (krun(c, OCF_KOP_MOD_EXP_CRT, 6, 1) == 0 && kcheck(c, 6, want)) c->tally->passed++;
  } else {
    /* public exponent, private exponent or a random one */
    int which = (int)ck_range(c->rng, 0, 2);
    BIGNUM *ex = which == 0 ? BN_dup(key->e) : which == 1 ? BN_dup(key->d) : rand_below(c, key->n);
    BN_mod_exp(want, x, ex, key->n, c->bn);
    kin(c, 0, x);
    kin(c, 1, ex);
    kin(c, 2, key->n);
    kout(c, 3, (size_t)BN_num_bytes(key->n));
    if (krun(c, OCF_KOP_MOD_EXP, 3, 1) == 0 && kcheck(c, 3, want)) c->tally->passed++;
    BN_clear_free(ex);
  }
  BN_free(x);
  BN_free(want);
}

/* dsa_verify_eq: is (r, s) a valid signature of h under y? */
static int dsa_verify_eq(struct kctx *c, const struct ck_dsa *d, const BIGNUM *h, const BIGNUM *y,
                         const BIGNUM *r, const BIGNUM *s) {
  BN_CTX *bn = c->bn;
  BN_CTX_start(bn);
  BIGNUM *w = BN_CTX_get(bn), *u1 = BN_CTX_get(bn), *u2 = BN_CTX_get(bn);
  BIGNUM *v1 = BN_CTX_get(bn), *v2 = BN_CTX_get(bn), *v = BN_CTX_get(bn);
  int ok = v != NULL && !BN_is_zero(r) && !BN_is_zero(s) && BN_cmp(r, d->q) < 0 &&
           BN_cmp(s, d->q) < 0 && BN_mod_inverse(w, s, d->q, bn) != NULL &&
           BN_mod_mul(u1, h, w, d->q, bn) && BN_mod_mul(u2, r, w, d->q, bn) &&
           BN_mod_exp(v1, d->g, u1, d->p, bn) && BN_mod_exp(v2, y, u2, d->p, bn) &&
           BN_mod_mul(v, v1, v2, d->p, bn) && BN_mod(v, v, d->q, bn) && BN_cmp(v, r) == 0;
  BN_CTX_end(bn);
  return ok;
}

static void t_dsa(struct kctx *c, size_t max_bits, int sign) {
  const struct ck_dsa *d = max_bits == 0 || max_bits >= 1024 ? ck_dsa_get(1024) : NULL;
  if (d == NULL) {
    c->tally->skipped++;
    return;
  }
  uint8_t dg[20], dgl[20];
  ck_fill(c->rng, dg, sizeof(dg));
  BIGNUM *h = BN_bin2bn(dg, 20, NULL), *x = rand_below(c, d->q), *y = BN_new();
  BIGNUM *r = BN_new(), *s = BN_new();
  BN_mod_exp(y, d->g, x, d->p, c->bn);
  memset(&c->k, 0, sizeof(c->k));
  ocf_kparam_digest(&c->k.param[0], dgl, dg, sizeof(dg));
  kin(c, 1, d->p);
  kin(c, 2, d->q);
  kin(c, 3, d->g);
  size_t qb = (size_t)BN_num_bytes(d->q);
  if (sign) {
    snprintf(c->what, sizeof(c->what), "dsa-sign 1024-bit");
    kin(c, 4, x);
    kout(c, 5, qb);
    kout(c, 6, qb);
    if (krun(c, OCF_KOP_DSA_SIGN, 5, 2) == 0) {
      BIGNUM *gr = ck_kp_get(&c->k.param[5]), *gs = ck_kp_get(&c->k.param[6]);
      if (dsa_verify_eq(c, d, h, y, gr, gs))
        c->tally->passed++;
      else
        ck_fail(c->tally, 0, "%s: the signature does not verify", c->what);
      BN_free(gr);
      BN_free(gs);
    }
  } else {
    /* sign here, with a nonce of our own; forge half of them */
    BIGNUM *k = rand_below(c, d->q), *kinv = BN_new(), *t = BN_new();
    BN_mod_exp(r, d->g, k, d->p, c->bn);
    BN_mod(r, r, d->q, c->bn);
    BN_mod_inverse(kinv, k, d->q, c->bn);
    BN_mod_mul(t, x, r, d->q, c->bn);
    BN_mod_add(t, t, h, d->q, c->bn);
    BN_mod_mul(s, kinv, t, d->q, c->bn);
    int forge = (int)ck_range(c->rng, 0, 1);
    if (forge) BN_add_word(s, 1), BN_mod(s, s, d->q, c->bn);
    int want = forge ? dsa_verify_eq(c, d, h, y, r, s) : 1;
    snprintf(c->what, sizeof(c->what), "dsa-verify 1024-bit (%s)", forge ? "forged" : "genuine");
    kin(c, 4, y);
    kin(c, 5, r);
    kin(c, 6, s);
    if (krun(c, OCF_KOP_DSA_VERIFY, 7, 0) == 0) {
      if (c->k.status == want)
        c->tally->passed++;
      else
        ck_fail(c->tally, 0, "%s: status %d, want %d", c->what, c->k.status, want);
    }
    BN_clear_free(k);
    BN_clear_free(kinv);
    BN_clear_free(t);
  }
  BN_free(h);
  BN_clear_free(x);
  BN_free(y);
  BN_free(r);
  BN_free(s);
}

static void t_dh(struct kctx *c, size_t max_bits) {
  const struct ck_dsa *d = max_bits == 0 || max_bits >= 1024 ? ck_dsa_get(1024) : NULL;
  if (d == NULL) {
    c->tally->skipped++;
    return;
  }
  BIGNUM *x = rand_below(c, d->q), *peer = rand_below(c, d->q), *y = BN_new(), *want = BN_new();
  BN_mod_exp(y, d->g, peer, d->p, c->bn);
  BN_mod_exp(want, y, x, d->p, c->bn);
  snprintf(c->what, sizeof(c->what), "dh-compute-key 1024-bit");
  memset(&c->k, 0, sizeof(c->k));
  kin(c, 0, x);
  kin(c, 1, y);
  kin(c, 2, d->p);
  kout(c, 3, (size_t)BN_num_bytes(d->p));
  if (krun(c, OCF_KOP_DH_COMPUTE_KEY, 3, 1) == 0 && kcheck(c, 3, want)) c->tally->passed++;
  BN_clear_free(x);
  BN_clear_free(peer);
  BN_free(y);
  BN_free(want);
}

struct ck_kresult ck_check_kops(const struct ck_target *t, int trials, uint64_t *rng, int verbose,
                                int quiet, const char *algs, FILE *tf, FILE *json,
                                int *json_first) {
  struct ck_kresult res = {0, 0, 0};
  enum ocf_kop ops[OCF_KOP__MAX];
  size_t max_bits[OCF_KOP__MAX];
  int count = 0;
  if (ocf_driver_kops(t->hid, ops, max_bits, OCF_KOP__MAX, &count) != 0 || count == 0) return res;
  if (count > OCF_KOP__MAX) count = OCF_KOP__MAX;
  struct kctx *c = calloc(1, sizeof(*c));
  if (c == NULL) abort();
  c->bn = BN_CTX_new();
  c->rng = rng;
  int n = trials < 32 ? trials : 32; /* each is a modular exponentiation or more */
  for (int i = 0; i < count; i++) {
    const char *name = ocf_kop_name(ops[i]);
    if (name == NULL || !ck_in_list(algs, name)) continue;
    struct ck_tally tally = {.producer = t->name, .alg = name, .verbose = verbose};
    c->tally = &tally;
    int checked = 1;
    for (int k = 0; k < n && checked; k++) {
      switch (ops[i]) {
        case OCF_KOP_MOD_EXP:
          t_modexp(c, max_bits[i], 0);
          break;
        case OCF_KOP_MOD_EXP_CRT:
          t_modexp(c, max_bits[i], 1);
          break;
        case OCF_KOP_DSA_SIGN:
          t_dsa(c, max_bits[i], 1);
          break;
        case OCF_KOP_DSA_VERIFY:
          t_dsa(c, max_bits[i], 0);
          break;
        case OCF_KOP_DH_COMPUTE_KEY:
          t_dh(c, max_bits[i]);
          break;
        default:
          checked = ck_ec_trial(ops[i], &tally, rng);
      }
    }
    char rnd[32], lim[48] = "";
    snprintf(rnd, sizeof(rnd), "%u/%u", tally.passed, tally.passed + tally.failed);
    if (max_bits[i]) snprintf(lim, sizeof(lim), " (max %zu bits)", max_bits[i]);
    int failed = tally.failed > 0;
    const char *r = !checked ? "not checked" : failed ? "FAIL" : "ok";
    if (!quiet || failed)
      fprintf(tf, "%-14s %-18s %-14s %-16s %s%s\n", t->name, name, checked ? rnd : "-", "-", r,
              checked ? "" : lim);
    if (json) ck_json_line(json, json_first, t->name, name, &tally, checked ? r : "skipped");
    res.lines++;
    res.failed_lines += failed;
    res.trials += tally.passed + tally.failed;
  }
  BN_CTX_free(c->bn);
  OPENSSL_cleanse(c, sizeof(*c));
  free(c);
  return res;
}
