/* test_pk_strict.c - the <ocf/pk.h> input contract is the same for every
 * producer: malformed inputs derived from public vectors (NIST's SigVer15
 * RSA keys and signatures; RFC 7748 X25519 and RFC 8032 Ed25519 vectors) get
 * the same answer from the software producer and from the modeled cards'
 * public-key units (bcm5820, hifn6500), and valid ones the same result as
 * OpenSSL.  Fixed-length octet strings must be exactly their length: a
 * 63-byte Ed25519 signature, a 31-byte key are not padded into valid ones.
 * Also: after a failed ocf_krun, ocf_errdetail() describes that failure. */
#include <errno.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
// clang-format off
#include <cmocka.h>
// clang-format on

#include <ocf/pk.h>

#include "../src/drivers/soft/soft_blind.h"
#include "../src/drivers/soft/soft_pk.h"
#include "vectors.h"

#define MAXB 512
#define NCASES 14
#define NREC 4

/* one key and signature of SigVer15EMTest.txt, 1024-bit */
struct rec {
  BIGNUM *n, *e, *d, *p, *q, *s;
};

/* the answers of one producer: rc and output per case and record */
struct answers {
  int rc[NREC][NCASES];
  uint8_t out[NREC][NCASES][128];
};

static struct rec recs[NREC];
static int nrec;

static BIGNUM *hexbn(const struct ocf_vec *v, const char *name) {
  BIGNUM *b = NULL;
  const char *s = ocf_vec_str(v, name);
  assert_non_null(s);
  assert_true(BN_hex2bn(&b, s) > 0);
  return b;
}

static void load(void) {
  ocf_vec_require_dir();
  struct ocf_vec *v = ocf_vec_open("asymmetric/RSA/SigVer15EMTest.txt", "SHAAlg");
  assert_non_null(v);
  while (nrec < NREC && ocf_vec_next(v)) {
    if (ocf_vec_long(v, "mod", 0) != 1024) continue;
    struct rec *r = &recs[nrec++];
    r->n = hexbn(v, "n");
    r->e = hexbn(v, "e");
    r->d = hexbn(v, "d");
    r->p = hexbn(v, "p");
    r->q = hexbn(v, "q");
    r->s = hexbn(v, "S");
  }
  ocf_vec_close(v);
  assert_int_equal(nrec, NREC);
}

/* parameter storage for one request */
struct kbuf {
  uint8_t st[OCF_KMAX_PARAM][MAXB];
};

static void setbn(struct ocf_kreq *k, struct kbuf *b, int i, const BIGNUM *v) {
  memset(b->st[i], 0, MAXB);
  assert_true(BN_bn2lebinpad(v, b->st[i], MAXB) > 0);
  k->param[i] = (struct ocf_kparam){b->st[i], (size_t)BN_num_bits(v)};
}

static void setout(struct ocf_kreq *k, struct kbuf *b, int i, size_t bytes) {
  memset(b->st[i], 0, MAXB);
  k->param[i] = (struct ocf_kparam){b->st[i], 8 * bytes};
}

/* runs case c of record r; the output (if any) goes to out[128] */
static int run_case(const struct rec *r, int c, uint8_t *out) {
  struct ocf_kreq k;
  struct kbuf b;
  memset(&k, 0, sizeof(k));
  BN_CTX *ctx = BN_CTX_new();
  BIGNUM *t = BN_new(), *em = BN_new(), *dp = BN_new(), *dq = BN_new(), *qi = BN_new();
  BIGNUM *one = BN_new();
  assert_true(ctx && t && em && dp && dq && qi && one && BN_one(one));
  assert_true(BN_mod_exp(em, r->s, r->e, r->n, ctx));
  assert_true(BN_sub(t, r->p, one) && BN_mod(dp, r->d, t, ctx));
  assert_true(BN_sub(t, r->q, one) && BN_mod(dq, r->d, t, ctx));
  assert_non_null(BN_mod_inverse(qi, r->q, r->p, ctx));
  if (c < 7) {
    /* MOD_EXP: base, exponent, modulus -> result */
    k.op = OCF_KOP_MOD_EXP;
    k.iparams = 3;
    k.oparams = 1;
    setbn(&k, &b, 0, r->s);
    setbn(&k, &b, 1, r->e);
    setbn(&k, &b, 2, r->n);
    setout(&k, &b, 3, 128);
    switch (c) {
      case 1: /* unreduced input s + n */
        assert_true(BN_add(t, r->s, r->n));
        setbn(&k, &b, 0, t);
        break;
      case 2: /* even modulus */
        assert_true(BN_add(t, r->n, one));
        setbn(&k, &b, 2, t);
        break;
      case 3: /* empty modulus */
        k.param[2].nbits = 0;
        break;
      case 4: /* a set bit above nbits in the top byte: a truncated value */
        k.param[0].nbits = 8 * 10 + 4;
        b.st[0][10] |= 0x40;
        break;
      case 5: /* output one byte short */
        k.param[3].nbits = 8 * 127;
        break;
      case 6: /* a parameter missing */
        k.iparams = 2;
        k.param[2] = k.param[3];
        break;
    }
  } else {
    /* MOD_EXP_CRT: p, q, x, dp, dq, qinv -> x^d mod n */
    k.op = OCF_KOP_MOD_EXP_CRT;
    k.iparams = 6;
    k.oparams = 1;
    setbn(&k, &b, 0, r->p);
    setbn(&k, &b, 1, r->q);
    setbn(&k, &b, 2, em);
    setbn(&k, &b, 3, dp);
    setbn(&k, &b, 4, dq);
    setbn(&k, &b, 5, qi);
    setout(&k, &b, 6, 128);
    switch (c) {
      case 8: /* unreduced x + n */
        assert_true(BN_add(t, em, r->n));
        setbn(&k, &b, 2, t);
        break;
      case 9: /* even p */
        assert_true(BN_add(t, r->p, one));
        setbn(&k, &b, 0, t);
        break;
      case 10: /* zero qinv */
        k.param[5].nbits = 0;
        break;
      case 11: /* output short */
        k.param[6].nbits = 8 * 100;
        break;
      case 12: /* x = n exactly */
        setbn(&k, &b, 2, r->n);
        break;
      case 13: /* a qinv that does not belong to p and q (a fault): the
                * result must not leave, it would factor n */
        assert_true(BN_add(t, qi, one));
        setbn(&k, &b, 5, t);
        break;
    }
  }
  int rc = ocf_krun(&k);
  memset(out, 0, 128);
  if (rc == 0) memcpy(out, k.param[k.iparams].p, 128);
  BN_free(t), BN_free(em), BN_free(dp), BN_free(dq), BN_free(qi), BN_free(one);
  BN_CTX_free(ctx);
  return rc;
}

static void collect(struct answers *a) {
  for (int r = 0; r < NREC; r++)
    for (int c = 0; c < NCASES; c++) a->rc[r][c] = run_case(&recs[r], c, a->out[r][c]);
}

static void t_same_answer(void **state) {
  (void)state;
  load();
  static const char *const where[] = {NULL, "bcm5820", "hifn6500"};
  static struct answers ans[3];
  for (int p = 0; p < 3; p++) {
    struct ocf_init_opts o = {.no_soft = where[p] != NULL, .devices = where[p]};
    assert_int_equal(ocf_init(&o), 0);
    collect(&ans[p]);
    ocf_shutdown();
  }
  static const int want[NCASES] = {0, EINVAL, EINVAL, EINVAL, EINVAL, ENOSPC, EINVAL,
                                   0, EINVAL, EINVAL, EINVAL, ENOSPC, EINVAL, EIO};
  BN_CTX *ctx = BN_CTX_new();
  BIGNUM *x = BN_new();
  for (int r = 0; r < NREC; r++) {
    /* the valid cases against OpenSSL: s^e mod n, and back to s */
    uint8_t ref[128];
    assert_true(BN_mod_exp(x, recs[r].s, recs[r].e, recs[r].n, ctx));
    assert_true(BN_bn2lebinpad(x, ref, 128) == 128);
    assert_memory_equal(ans[0].out[r][0], ref, 128);
    assert_true(BN_bn2lebinpad(recs[r].s, ref, 128) == 128);
    assert_memory_equal(ans[0].out[r][7], ref, 128);
    for (int c = 0; c < NCASES; c++) {
      for (int p = 0; p < 3; p++) {
        if (ans[p].rc[r][c] != want[c])
          print_message("record %d case %d on %s: %d, want %d\n", r, c,
                        where[p] ? where[p] : "soft", ans[p].rc[r][c], want[c]);
        assert_int_equal(ans[p].rc[r][c], want[c]);
        assert_memory_equal(ans[p].out[r][c], ans[0].out[r][c], 128);
      }
    }
  }
  BN_free(x);
  BN_CTX_free(ctx);
}

/* --- X25519 and Ed25519: fixed lengths ----------------------------------- */

static int x25519(const uint8_t *priv, size_t plen, const uint8_t *peer, size_t ulen,
                  uint8_t *out) {
  struct ocf_kreq k;
  memset(&k, 0, sizeof(k));
  k.op = OCF_KOP_X25519;
  k.iparams = 2;
  k.oparams = 1;
  ocf_kparam_octets(&k.param[0], priv, plen);
  ocf_kparam_octets(&k.param[1], peer, ulen);
  ocf_kparam_out(&k.param[2], out, 32);
  return ocf_krun(&k);
}

static int ed_verify(const uint8_t *msg, size_t mlen, const uint8_t *pub, size_t publen,
                     const uint8_t *sig, size_t siglen, int *status) {
  struct ocf_kreq k;
  memset(&k, 0, sizeof(k));
  k.op = OCF_KOP_ED25519_VERIFY;
  k.iparams = 3;
  ocf_kparam_octets(&k.param[0], msg, mlen);
  ocf_kparam_octets(&k.param[1], pub, publen);
  ocf_kparam_octets(&k.param[2], sig, siglen);
  int rc = ocf_krun(&k);
  *status = k.status;
  return rc;
}

static int hexdec(const char *h, uint8_t *out, size_t max) {
  size_t n = strlen(h) / 2;
  if (n > max) return -1;
  for (size_t i = 0; i < n; i++) sscanf(h + 2 * i, "%2hhx", &out[i]);
  return (int)n;
}

static void t_octets(void **state) {
  (void)state;
  ocf_vec_require_dir();
  assert_int_equal(ocf_init(NULL), 0);
  /* RFC 7748 5.2, first vector */
  struct ocf_vec *v = ocf_vec_open("asymmetric/X25519/rfc7748.txt", "COUNT");
  assert_non_null(v);
  assert_true(ocf_vec_next(v));
  uint8_t *sc, *u, *want, out[32];
  size_t sl, ul, wl;
  assert_int_equal(ocf_vec_bytes(v, "INPUT_SCALAR", &sc, &sl), 0);
  assert_int_equal(ocf_vec_bytes(v, "INPUT_U", &u, &ul), 0);
  assert_int_equal(ocf_vec_bytes(v, "OUTPUT_U", &want, &wl), 0);
  ocf_vec_close(v);
  assert_int_equal(x25519(sc, 32, u, 32, out), 0);
  assert_memory_equal(out, want, 32);
  /* shorter or longer keys: OpenSSL takes no such key, nor do we */
  assert_null(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, sc, 31));
  assert_null(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, u, 31));
  uint8_t u33[33] = {0};
  memcpy(u33, u, 32);
  assert_int_equal(x25519(sc, 32, u, 31, out), EINVAL);
  assert_int_equal(x25519(sc, 32, u33, 33, out), EINVAL);
  assert_int_equal(x25519(sc, 31, u, 32, out), EINVAL);
  assert_int_equal(x25519(sc, 1, u, 32, out), EINVAL);
  free(sc), free(u), free(want);

  /* RFC 8032 test 1 (sign.input line 1): sk||pk : pk : msg : sig||msg */
  char path[512], line[4096];
  snprintf(path, sizeof(path), "%s/asymmetric/Ed25519/sign.input", ocf_vec_dir());
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  int checked = 0;
  while (checked < 8 && fgets(line, sizeof(line), f) != NULL) {
    char *fld[4];
    char *s = line;
    for (int i = 0; i < 4; i++) fld[i] = strsep(&s, ":");
    if (fld[3] == NULL) continue;
    uint8_t pub[32], msg[1024], sig[64 + 1024];
    int ml = hexdec(fld[2], msg, sizeof(msg));
    if (hexdec(fld[1], pub, 32) != 32 || ml < 0 || hexdec(fld[3], sig, sizeof(sig)) < 64) continue;
    int st;
    assert_int_equal(ed_verify(msg, (size_t)ml, pub, 32, sig, 64, &st), 0);
    assert_int_equal(st, 1);
    /* a 63-byte signature is not a signature, whatever its last byte */
    EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_true(EVP_DigestVerifyInit(md, NULL, NULL, NULL, pk) == 1);
    assert_true(EVP_DigestVerify(md, sig, 63, msg, (size_t)ml) != 1);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pk);
    uint8_t zeroed[64];
    memcpy(zeroed, sig, 64);
    zeroed[63] = 0; /* what zero-padding a 63-byte signature would make */
    assert_int_equal(ed_verify(msg, (size_t)ml, pub, 32, zeroed, 63, &st), 0);
    assert_int_equal(st, 0);
    assert_int_equal(ed_verify(msg, (size_t)ml, pub, 32, sig, 65, &st), 0);
    assert_int_equal(st, 0);
    /* a 31-byte public key is refused */
    assert_int_equal(ed_verify(msg, (size_t)ml, pub, 31, sig, 64, &st), EINVAL);
    checked++;
  }
  fclose(f);
  assert_int_equal(checked, 8);
  ocf_shutdown();
}

/* ocf_errdetail after a failed ocf_krun tells about that failure, also when
 * only the producer could see it (a P-256 private scalar >= n). */
static void t_errdetail(void **state) {
  (void)state;
  assert_int_equal(ocf_init(NULL), 0);
  assert_int_equal(ocf_freesession(12345), ENOENT); /* an unrelated, earlier error */
  uint8_t dg[32] = {1}, d[32], r[32], s[32];
  memset(d, 0xff, sizeof(d)); /* 2^256 - 1 > n */
  struct ocf_kreq k;
  memset(&k, 0, sizeof(k));
  k.op = OCF_KOP_ECDSA_P256_SIGN;
  k.iparams = 2;
  k.oparams = 2;
  ocf_kparam_digest(&k.param[0], dg, dg, 32);
  k.param[1] = (struct ocf_kparam){d, 256};
  ocf_kparam_out(&k.param[2], r, 32);
  ocf_kparam_out(&k.param[3], s, 32);
  assert_int_equal(ocf_krun(&k), EINVAL);
  print_message("errdetail: %s\n", ocf_errdetail());
  assert_non_null(strstr(ocf_errdetail(), "private scalar"));
  /* and a failure the framework sees first */
  k.param[1].nbits = 250; /* bits set above nbits */
  assert_int_equal(ocf_krun(&k), EINVAL);
  assert_non_null(strstr(ocf_errdetail(), "above its nbits"));
  ocf_shutdown();
}

/* The blinding cache keeps p- and q-derived Montgomery contexts per key:
 * they go when the key has not been used for the cache's lifetime, and all
 * of them when the software producer detaches. */
static void t_blind_cache(void **state) {
  (void)state;
  if (nrec == 0) load();
  uint8_t out[128];
  assert_int_equal(ocf_init(NULL), 0);
  soft_blind_flush();
  /* two keys: the record's, and the same primes in the other order */
  struct rec swapped = recs[0];
  swapped.p = recs[0].q;
  swapped.q = recs[0].p;
  assert_int_equal(run_case(&recs[0], 7, out), 0);
  assert_int_equal(run_case(&swapped, 7, out), 0);
  assert_int_equal(soft_blind_cached(), 2);
  soft_blind_set_ttl(1000000); /* 1 ms */
  usleep(20000);
  assert_int_equal(soft_blind_cached(), 0);
  soft_blind_set_ttl(SOFT_BLIND_TTL_NS);
  assert_int_equal(run_case(&recs[0], 7, out), 0);
  assert_int_equal(soft_blind_cached(), 1);
  ocf_shutdown();
  assert_int_equal(soft_blind_cached(), 0);
}

/* MOD_EXP takes the variable-time path only for a well-known public
 * exponent, not for any short exponent (which may be a secret). */
static void t_mod_exp_consttime(void **state) {
  (void)state;
  assert_int_equal(ocf_init(NULL), 0);
  BN_CTX *ctx = BN_CTX_new();
  BIGNUM *m = BN_new(), *b = BN_new(), *e = BN_new(), *want = BN_new();
  assert_true(BN_generate_prime_ex(m, 512, 0, NULL, NULL, NULL));
  assert_true(BN_rand_range(b, m));
  static const unsigned long exps[] = {65537, 0x9d3f61a5bbUL, 3, 0xfffffUL, 1234567};
  static const int vartime[] = {1, 0, 1, 0, 0};
  for (size_t i = 0; i < sizeof(exps) / sizeof(exps[0]); i++) {
    assert_true(BN_set_word(e, exps[i]));
    struct ocf_kreq k;
    struct kbuf kb;
    memset(&k, 0, sizeof(k));
    k.op = OCF_KOP_MOD_EXP;
    k.iparams = 3;
    k.oparams = 1;
    setbn(&k, &kb, 0, b);
    setbn(&k, &kb, 1, e);
    setbn(&k, &kb, 2, m);
    setout(&k, &kb, 3, 64);
    unsigned long before = atomic_load(&ocf_soft_pk_vartime);
    assert_int_equal(ocf_krun(&k), 0);
    assert_int_equal(atomic_load(&ocf_soft_pk_vartime) - before, (unsigned long)vartime[i]);
    assert_true(BN_mod_exp(want, b, e, m, ctx));
    uint8_t ref[64];
    assert_true(BN_bn2lebinpad(want, ref, 64) == 64);
    assert_memory_equal(k.param[3].p, ref, 64);
  }
  BN_free(m), BN_free(b), BN_free(e), BN_free(want);
  BN_CTX_free(ctx);
  ocf_shutdown();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_same_answer),       cmocka_unit_test(t_blind_cache),
      cmocka_unit_test(t_mod_exp_consttime), cmocka_unit_test(t_octets),
      cmocka_unit_test(t_errdetail),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  for (int i = 0; i < nrec; i++) {
    BN_free(recs[i].n), BN_free(recs[i].e), BN_free(recs[i].d);
    BN_free(recs[i].p), BN_free(recs[i].q), BN_free(recs[i].s);
  }
  return rc;
}
