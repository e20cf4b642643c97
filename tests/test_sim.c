/* test_sim.c - the modeled cards: exact-mode results against OpenSSL (via the
 * reference interpreter), timing mode moving data, public-key operations,
 * device strings, faults, migration when a card is ejected under load, and
 * the hung-card watchdog.  No assertion depends on wall-clock speed. */
#include <errno.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
// clang-format off
#include <cmocka.h>
// clang-format on

#include "../src/drivers/sim/sim.h"
#include "ref.h"

static const uint8_t key24[24] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
                                  0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01,
                                  0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23};
static const uint8_t mkey[20] = {0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b};

static int setup(void **state) {
  (void)state;
  if (ref_init() != 0) return -1;
  struct ocf_init_opts o = {.no_soft = 1};
  return ocf_init(&o);
}

static int teardown(void **state) {
  (void)state;
  ocf_sim_detach("all");
  ocf_shutdown();
  return 0;
}

static void attach(const char *spec) {
  char err[256];
  int rc = ocf_sim_attach(spec, err, sizeof(err));
  if (rc != 0) print_message("attach %s: %s\n", spec, err);
  assert_int_equal(rc, 0);
}

/* name of the idx-th attached card of a profile (names count per process) */
static void card_name(const char *profile, int idx, char *out) {
  struct ocf_sim_card_info info[32];
  int n = ocf_sim_cards(info, 32);
  /* the list is newest first: walk it backwards */
  for (int i = n - 1; i >= 0; i--)
    if (strcmp(info[i].profile, profile) == 0 && idx-- == 0) {
      strcpy(out, info[i].name);
      return;
    }
  fail_msg("no card %s #%d", profile, idx);
}

static const struct ocf_sim_card_info *card_info(const char *name, struct ocf_sim_card_info *buf) {
  struct ocf_sim_card_info all[32];
  int n = ocf_sim_cards(all, 32);
  for (int i = 0; i < n && i < 32; i++)
    if (strcmp(all[i].name, name) == 0) {
      *buf = all[i];
      return buf;
    }
  return NULL;
}

/* --- device strings ------------------------------------------------------ */

static void test_bad_strings(void **state) {
  static const struct {
    const char *spec, *names;
  } bad[] = {
      {"hifn9999", "hifn9999"},
      {"hifn7751*0", "*0"},
      {"hifn7751*x@pci64", "*x"},
      {"hifn7751*99", "*99"},
      {"hifn7751@isa", "isa"},
      {"hifn7751@pci64.", "pci64."},
      {"hifn7751,,bcm5820", "position 2"},
      {"hifn7751,", "position 2"},
      {"", "position 1"},
      {"bcm5820:mode=fast", "fast"},
      {"bcm5820:speed=3", "speed"},
      {"bcm5820:watchdog=0", "watchdog"},
      {"bcm5820:mode", "mode"},
      {"bcm5820@pci64*2", "card*N@bus"},
      {"hifn7751*20,bcm5820*20", "32"},
  };
  char err[256];
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    err[0] = '\0';
    assert_int_equal(ocf_sim_attach(bad[i].spec, err, sizeof(err)), EINVAL);
    if (strstr(err, bad[i].names) == NULL)
      fail_msg("\"%s\": message \"%s\" does not name \"%s\"", bad[i].spec, err, bad[i].names);
  }
  assert_int_equal(ocf_sim_attach(NULL, err, sizeof(err)), EINVAL);
  assert_int_equal(ocf_sim_cards(NULL, 0), 0); /* a bad string attaches nothing */
  assert_null(ocf_sim_mode());
  /* good ones, with blanks and case */
  attach(" HIFN7751 * 2 @ pci64.1 , bcm5820@pci32 : mode = timing , watchdog=40");
  assert_int_equal(ocf_sim_cards(NULL, 0), 3);
  assert_string_equal(ocf_sim_mode(), "timing");
  assert_int_equal(ocf_sim_detach("nosuchcard"), ENOENT);
  assert_int_equal(ocf_sim_detach("all"), 0);
  assert_int_equal(ocf_sim_cards(NULL, 0), 0);
  char table[2048];
  assert_true(ocf_sim_profiles(table, sizeof(table)) < sizeof(table));
  assert_non_null(strstr(table, "bcm5820"));
}

/* --- exact-mode results -------------------------------------------------- */

struct kase {
  struct ocf_sessparam p[2];
  int np;
  struct ocf_desc d[2];
  int nd;
  size_t len; /* buffer length */
};

/* Runs one request with layout type (and a separate output when sep) and
 * compares with the reference interpreter. */
static void run_case(struct kase *k, enum ocf_buf_type type, int sep, struct ref_rng *rng,
                     const char *expect_card) {
  for (int i = 0; i + 1 < k->np; i++) k->p[i].next = &k->p[i + 1];
  k->p[k->np - 1].next = NULL;
  ocf_sid_t sid;
  assert_int_equal(ocf_newsession(&sid, k->p, OCF_SESS_HWONLY), 0);
  char drv[32];
  assert_int_equal(ocf_session_driver(sid, drv, sizeof(drv)), 0);
  if (expect_card) assert_string_equal(drv, expect_card);
  uint8_t *flat = malloc(k->len), *want = malloc(k->len), *got = malloc(k->len);
  uint8_t *oflat = malloc(k->len);
  ref_fill(rng, flat, k->len);
  ref_fill(rng, oflat, k->len);
  size_t cuts[8];
  size_t nc = ref_cuts_uneven(rng, k->len, cuts, 8);
  struct ref_buf in, out;
  assert_int_equal(ref_buf_build(&in, type, flat, k->len, cuts, nc, 1), 0);
  if (sep) assert_int_equal(ref_buf_build(&out, type, oflat, k->len, cuts, nc, 1), 0);
  struct ocf_req r = {.sid = sid, .buf = in.b, .ndesc = k->nd};
  if (sep) r.out = out.b;
  memcpy(r.desc, k->d, sizeof(k->d[0]) * (size_t)k->nd);
  assert_int_equal(ocf_run(&r), 0);
  /* reference: the same descriptors, with the IVs the card generated */
  uint8_t gen[OCF_MAX_DESC][OCF_MAX_IV];
  for (int i = 0; i < k->nd; i++) memcpy(gen[i], r.desc[i].iv, OCF_MAX_IV);
  memcpy(want, flat, k->len);
  size_t olen = 0;
  assert_int_equal(
      ref_apply(k->p, want, k->len, k->d, k->nd, (const uint8_t(*)[OCF_MAX_IV])gen, &olen), 0);
  if (sep) {
    size_t lo, hi;
    ref_hull(k->p, k->d, k->nd, &lo, &hi);
    memcpy(oflat + lo, want + lo, hi - lo);
    ref_buf_flatten(&out, got);
    if (memcmp(got, oflat, k->len) != 0) ref_hexdiff("separate output", got, oflat, k->len);
    assert_memory_equal(got, oflat, k->len);
    ref_buf_flatten(&in, got);
    assert_memory_equal(got, flat, k->len); /* input untouched */
    assert_true(ref_buf_guards_ok(&out));
    ref_buf_free(&out);
  } else {
    ref_buf_flatten(&in, got);
    if (memcmp(got, want, k->len) != 0) ref_hexdiff("in place", got, want, k->len);
    assert_memory_equal(got, want, k->len);
  }
  assert_true(ref_buf_guards_ok(&in));
  ref_buf_free(&in);
  /* decrypt / verify what was produced, in place */
  if (!sep && k->nd >= 1) {
    struct ocf_req v = {.sid = sid, .ndesc = k->nd};
    assert_int_equal(ref_buf_build(&in, OCF_BUF_CONTIG, want, k->len, NULL, 0, 0), 0);
    v.buf = in.b;
    /* reverse order, decrypting, IVs taken from where encryption put them */
    for (int i = 0; i < k->nd; i++) {
      struct ocf_desc d = k->d[k->nd - 1 - i];
      if (d.flags & OCF_D_ENCRYPT) {
        d.flags &= ~OCF_D_ENCRYPT;
        if (!(d.flags & (OCF_D_IV_EXPLICIT | OCF_D_IV_PRESENT))) d.flags |= OCF_D_IV_PRESENT;
      } else if (ref_alg_class(d.alg) == OCF_CLASS_MAC) {
        d.flags |= OCF_D_VERIFY;
      }
      v.desc[i] = d;
    }
    assert_int_equal(ocf_run(&v), 0);
    ref_buf_flatten(&in, got);
    for (int i = 0; i < k->nd; i++)
      if (ref_alg_class(k->d[i].alg) == OCF_CLASS_CIPHER)
        assert_memory_equal(got + k->d[i].skip, flat + k->d[i].skip, k->d[i].len);
    ref_buf_free(&in);
  }
  assert_int_equal(ocf_freesession(sid), 0);
  free(flat);
  free(want);
  free(got);
  free(oflat);
}

static void exact_cases(const char *card, struct ref_rng *rng) {
  static const enum ocf_buf_type types[] = {OCF_BUF_CONTIG, OCF_BUF_IOVEC, OCF_BUF_MBUF};
  for (int t = 0; t < 3; t++) {
    for (int sep = 0; sep < 2; sep++) {
      /* 3DES-CBC, explicit IV */
      struct kase k = {.np = 1, .nd = 1, .len = 1024};
      k.p[0] = (struct ocf_sessparam){.alg = OCF_ALG_3DES_CBC, .key = key24, .keylen = 24};
      k.d[0] = (struct ocf_desc){.alg = OCF_ALG_3DES_CBC,
                                 .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT,
                                 .skip = 16,
                                 .len = 1000};
      memset(k.d[0].iv, 0x5a, 8);
      run_case(&k, types[t], sep, rng, card);
      /* DES-CBC, IV present in the buffer */
      k.p[0] = (struct ocf_sessparam){.alg = OCF_ALG_DES_CBC, .key = key24, .keylen = 8};
      k.d[0] = (struct ocf_desc){
          .alg = OCF_ALG_DES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_PRESENT, .skip = 8, .len = 512};
      run_case(&k, types[t], sep, rng, card);
      /* HMAC-MD5-96 */
      k.p[0] =
          (struct ocf_sessparam){.alg = OCF_ALG_HMAC_MD5, .key = mkey, .keylen = 16, .maclen = 12};
      k.d[0] = (struct ocf_desc){.alg = OCF_ALG_HMAC_MD5, .skip = 0, .len = 700, .inject = 1000};
      run_case(&k, types[t], sep, rng, card);
      /* ESP-like: 3DES-CBC with a generated IV, then HMAC-SHA1-96 over it */
      k.np = 2;
      k.nd = 2;
      k.p[0] = (struct ocf_sessparam){.alg = OCF_ALG_3DES_CBC, .key = key24, .keylen = 24};
      k.p[1] =
          (struct ocf_sessparam){.alg = OCF_ALG_HMAC_SHA1, .key = mkey, .keylen = 20, .maclen = 12};
      k.d[0] = (struct ocf_desc){
          .alg = OCF_ALG_3DES_CBC, .flags = OCF_D_ENCRYPT, .skip = 16, .len = 960, .iv_off = 8};
      k.d[1] = (struct ocf_desc){.alg = OCF_ALG_HMAC_SHA1, .skip = 0, .len = 976, .inject = 976};
      k.len = 988;
      run_case(&k, types[t], sep, rng, card);
    }
  }
}

static void test_exact_outputs(void **state) {
  struct ref_rng rng;
  ref_rng_seed(&rng, ref_seed());
  static const char *const cards[] = {"hifn7751", "hifn7811", "bcm5805", "bcm5820"};
  for (int i = 0; i < 4; i++) {
    char spec[64], name[32];
    snprintf(spec, sizeof(spec), "%s:mode=exact", cards[i]);
    attach(spec);
    assert_string_equal(ocf_sim_mode(), "exact");
    card_name(cards[i], 0, name);
    exact_cases(name, &rng);
    struct ocf_sim_card_info ci;
    assert_non_null(card_info(name, &ci));
    assert_true(ci.requests > 0);
    assert_true(ci.interrupts > 0 && ci.interrupts <= ci.requests);
    assert_int_equal(ci.ring_used, 0);
    assert_int_equal(ocf_sim_detach(name), 0);
  }
  /* a MAC that does not verify */
  attach("bcm5820");
  struct ocf_sessparam p = {.alg = OCF_ALG_HMAC_SHA1, .key = mkey, .keylen = 20};
  ocf_sid_t sid;
  assert_int_equal(ocf_newsession(&sid, &p, OCF_SESS_HWONLY), 0);
  uint8_t buf[84] = {0};
  struct ocf_req r = {.sid = sid, .buf = ocf_buf_contig(buf, sizeof(buf)), .ndesc = 1};
  r.desc[0] =
      (struct ocf_desc){.alg = OCF_ALG_HMAC_SHA1, .flags = OCF_D_VERIFY, .len = 64, .inject = 64};
  assert_int_equal(ocf_run(&r), EBADMSG);
  assert_int_equal(ocf_freesession(sid), 0);
  assert_int_equal(ocf_sim_detach("all"), 0);
}

/* --- timing mode ---------------------------------------------------------- */

static void test_timing_mode(void **state) {
  attach("hifn7751*4@pci64:mode=timing");
  assert_string_equal(ocf_sim_mode(), "timing");
  /* the model's peak: per card 16384 B / (setup 15 us + 16384*8 bits / 83 Mbit/s) */
  double per = 16384.0 * 8 / (15e-6 + 16384.0 * 8 / 83e6) / 1e6;
  double peak = ocf_sim_peak_mbps(OCF_ALG_3DES_CBC, 16384);
  assert_true(peak > 4 * per * 0.999 && peak < 4 * per * 1.001);
  assert_true(ocf_sim_peak_mbps(OCF_ALG_AES_GCM, 16384) == 0);
  /* data moves but is not transformed */
  struct ocf_sessparam p = {.alg = OCF_ALG_3DES_CBC, .key = key24, .keylen = 24};
  ocf_sid_t sid;
  assert_int_equal(ocf_newsession(&sid, &p, OCF_SESS_HWONLY), 0);
  uint8_t in[256], out[256], orig[256];
  for (int i = 0; i < 256; i++) in[i] = orig[i] = (uint8_t)i;
  memset(out, 0xee, sizeof(out));
  struct ocf_req r = {.sid = sid, .buf = ocf_buf_contig(in, sizeof(in)), .ndesc = 1};
  r.out = ocf_buf_contig(out, sizeof(out));
  r.desc[0] = (struct ocf_desc){
      .alg = OCF_ALG_3DES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .skip = 8, .len = 240};
  assert_int_equal(ocf_run(&r), 0);
  assert_memory_equal(in, orig, sizeof(in));
  assert_memory_equal(out + 8, orig + 8, 240);
  assert_int_equal(out[0], 0xee);
  assert_int_equal(ocf_freesession(sid), 0);
  /* a 32-bit bus shared by four fast cards limits them */
  assert_int_equal(ocf_sim_detach("all"), 0);
  attach("bcm5820*4@pci32:mode=timing");
  double bus = ocf_sim_peak_mbps(OCF_ALG_3DES_CBC, 16384);
  assert_true(bus < 1056.0 / 2 && bus > 1056.0 / 2 * 0.95);
  assert_int_equal(ocf_sim_detach("all"), 0);
}

/* --- public key ------------------------------------------------------------ */

static BIGNUM *getbn(EVP_PKEY *pk, const char *name) {
  BIGNUM *b = NULL;
  assert_true(EVP_PKEY_get_bn_param(pk, name, &b));
  return b;
}

static void setkp(struct ocf_kparam *kp, const BIGNUM *b, uint8_t *store, size_t cap) {
  size_t n = (size_t)BN_num_bytes(b);
  assert_true(n <= cap);
  assert_true(BN_bn2lebinpad(b, store, (int)n) >= 0);
  kp->p = store;
  kp->nbits = (size_t)BN_num_bits(b);
}

static void test_public_key(void **state) {
  attach("bcm5820:mode=exact");
  EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
  assert_non_null(pk);
  BIGNUM *n = getbn(pk, OSSL_PKEY_PARAM_RSA_N), *e = getbn(pk, OSSL_PKEY_PARAM_RSA_E),
         *d = getbn(pk, OSSL_PKEY_PARAM_RSA_D), *p = getbn(pk, OSSL_PKEY_PARAM_RSA_FACTOR1),
         *q = getbn(pk, OSSL_PKEY_PARAM_RSA_FACTOR2),
         *dp = getbn(pk, OSSL_PKEY_PARAM_RSA_EXPONENT1),
         *dq = getbn(pk, OSSL_PKEY_PARAM_RSA_EXPONENT2),
         *qi = getbn(pk, OSSL_PKEY_PARAM_RSA_COEFFICIENT1);
  BN_CTX *ctx = BN_CTX_new();
  BIGNUM *m = BN_new(), *want = BN_new(), *got = BN_new();
  assert_true(BN_rand_range(m, n));
  static uint8_t st[8][128], out[128];
  /* MOD_EXP: base, exponent, modulus */
  assert_true(BN_mod_exp(want, m, d, n, ctx));
  struct ocf_kreq k = {.op = OCF_KOP_MOD_EXP, .iparams = 3, .oparams = 1};
  setkp(&k.param[0], m, st[0], 128);
  setkp(&k.param[1], d, st[1], 128);
  setkp(&k.param[2], n, st[2], 128);
  k.param[3] = (struct ocf_kparam){out, 1024};
  assert_int_equal(ocf_krun(&k), 0);
  assert_non_null(BN_lebin2bn(out, 128, got));
  assert_int_equal(BN_cmp(got, want), 0);
  char name[32];
  card_name("bcm5820", 0, name);
  /* MOD_EXP_CRT in the cryptodev order: p, q, message, dp, dq, qinv */
  struct ocf_kreq c = {.op = OCF_KOP_MOD_EXP_CRT, .iparams = 6, .oparams = 1};
  setkp(&c.param[0], p, st[3], 128);
  setkp(&c.param[1], q, st[4], 128);
  setkp(&c.param[2], m, st[0], 128);
  setkp(&c.param[3], dp, st[5], 128);
  setkp(&c.param[4], dq, st[6], 128);
  setkp(&c.param[5], qi, st[7], 128);
  memset(out, 0, sizeof(out));
  c.param[6] = (struct ocf_kparam){out, 1024};
  assert_int_equal(ocf_krun(&c), 0);
  assert_non_null(BN_lebin2bn(out, 128, got));
  assert_int_equal(BN_cmp(got, want), 0);
  /* and back with the public exponent */
  setkp(&k.param[0], got, st[0], 128);
  setkp(&k.param[1], e, st[1], 128);
  assert_int_equal(ocf_krun(&k), 0);
  assert_non_null(BN_lebin2bn(out, 128, got));
  assert_int_equal(BN_cmp(got, m), 0);
  struct ocf_sim_card_info ci;
  assert_non_null(card_info(name, &ci));
  assert_int_equal(ci.krequests, 3);
  /* 800 RSA-1024 signatures/s (CRT), less the 10 us setup */
  double kp = ocf_sim_kpeak_ops(OCF_KOP_MOD_EXP_CRT, 1024);
  assert_true(kp > 790 && kp < 800);
  assert_true(ocf_sim_kpeak_ops(OCF_KOP_MOD_EXP_CRT, 4096) == 0);
  /* too large for the card: 4096-bit modulus */
  static uint8_t big[512], bigout[512];
  memset(big, 0xff, sizeof(big));
  k.param[2] = (struct ocf_kparam){big, 4096};
  k.param[3] = (struct ocf_kparam){bigout, 4096}; /* room, or it is ENOSPC */
  int big_rc = ocf_krun(&k);
  assert_true(big_rc == ENODEV || big_rc == EMSGSIZE);
  BN_free(n), BN_free(e), BN_free(d), BN_free(p), BN_free(q), BN_free(dp), BN_free(dq);
  BN_free(qi), BN_free(m), BN_free(want), BN_free(got);
  BN_CTX_free(ctx);
  EVP_PKEY_free(pk);
  assert_int_equal(ocf_sim_detach("all"), 0);
}

/* --- faults ----------------------------------------------------------------- */

static int run_3des(ocf_sid_t *sid) {
  uint8_t buf[64] = {0};
  struct ocf_req r = {.sid = *sid, .buf = ocf_buf_contig(buf, sizeof(buf)), .ndesc = 1};
  r.desc[0] = (struct ocf_desc){
      .alg = OCF_ALG_3DES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = 64};
  int rc = ocf_run(&r);
  *sid = r.sid;
  return rc;
}

static void test_fault_fail(void **state) {
  attach("hifn7751");
  char name[32];
  card_name("hifn7751", 0, name);
  struct ocf_sessparam p = {.alg = OCF_ALG_3DES_CBC, .key = key24, .keylen = 24};
  ocf_sid_t sid;
  assert_int_equal(ocf_newsession(&sid, &p, OCF_SESS_HWONLY), 0);
  assert_int_equal(run_3des(&sid), 0);
  assert_int_equal(ocf_sim_fault(name, "fail"), 0);
  assert_int_equal(run_3des(&sid), EIO);
  assert_int_equal(run_3des(&sid), EIO);
  assert_int_equal(ocf_sim_fault(name, "ok"), 0);
  assert_int_equal(run_3des(&sid), 0);
  assert_int_equal(ocf_sim_fault(name, "melt"), EINVAL);
  assert_int_equal(ocf_sim_fault("hifn7751-999", "fail"), ENOENT);
  assert_int_equal(ocf_freesession(sid), 0);
  assert_int_equal(ocf_sim_detach(name), 0);
  assert_int_equal(ocf_sim_detach(name), ENOENT);
}

/* --- load: ejection and hangs ---------------------------------------------- */

#define NPAT 32
#define PLEN 256

struct load {
  int total;
  atomic_int next, done, bad, eagain, errors;
  unsigned char *seen;
  uint8_t plain[NPAT][PLEN], want[NPAT][PLEN];
  pthread_mutex_t m;
  pthread_cond_t cv;
};

struct lslot {
  struct ocf_req req;
  struct load *ld;
  int id;
  uint8_t buf[PLEN];
};

static struct ocf_sessparam load_chain[2];

static void lslot_fill(struct lslot *s, int id) {
  s->id = id;
  memcpy(s->buf, s->ld->plain[id % NPAT], PLEN);
  s->req.buf = ocf_buf_contig(s->buf, PLEN);
  s->req.ndesc = 2;
  s->req.desc[0] = (struct ocf_desc){
      .alg = OCF_ALG_3DES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_PRESENT, .skip = 8, .len = 232};
  s->req.desc[1] =
      (struct ocf_desc){.alg = OCF_ALG_HMAC_SHA1, .skip = 0, .len = 240, .inject = 240};
}

static void load_cb(struct ocf_req *r) {
  struct lslot *s = r->opaque;
  struct load *ld = s->ld;
  if (r->error == EAGAIN) {
    /* migrated: the lost request never touched the buffer */
    if (memcmp(s->buf, ld->plain[s->id % NPAT], PLEN) != 0) atomic_fetch_add(&ld->bad, 1);
    atomic_fetch_add(&ld->eagain, 1);
    if (ocf_dispatch(r) != 0) atomic_fetch_add(&ld->bad, 1);
    return;
  }
  if (r->error != 0) {
    atomic_fetch_add(&ld->errors, 1);
  } else if (memcmp(s->buf, ld->want[s->id % NPAT], PLEN) != 0) {
    atomic_fetch_add(&ld->bad, 1);
  }
  ld->seen[s->id]++;
  int done = atomic_fetch_add(&ld->done, 1) + 1;
  int id = atomic_fetch_add(&ld->next, 1);
  if (id < ld->total) {
    lslot_fill(s, id);
    if (ocf_dispatch(r) != 0) atomic_fetch_add(&ld->bad, 1);
  }
  if (done == ld->total) {
    pthread_mutex_lock(&ld->m);
    pthread_cond_signal(&ld->cv);
    pthread_mutex_unlock(&ld->m);
  }
}

static void load_init(struct load *ld, int total) {
  memset(ld, 0, sizeof(*ld));
  ld->total = total;
  ld->seen = calloc((size_t)total, 1);
  pthread_mutex_init(&ld->m, NULL);
  pthread_cond_init(&ld->cv, NULL);
  load_chain[0] = (struct ocf_sessparam){
      .alg = OCF_ALG_3DES_CBC, .key = key24, .keylen = 24, .next = &load_chain[1]};
  load_chain[1] =
      (struct ocf_sessparam){.alg = OCF_ALG_HMAC_SHA1, .key = mkey, .keylen = 20, .maclen = 16};
  struct ref_rng rng;
  ref_rng_seed(&rng, ref_seed());
  struct lslot tmp = {.ld = ld};
  for (int i = 0; i < NPAT; i++) {
    ref_fill(&rng, ld->plain[i], PLEN);
    memcpy(ld->want[i], ld->plain[i], PLEN);
    lslot_fill(&tmp, i);
    size_t olen;
    assert_int_equal(ref_apply(load_chain, ld->want[i], PLEN, tmp.req.desc, 2, NULL, &olen), 0);
  }
}

/* Starts nslots requests over nsess sessions; returns the sessions. */
static ocf_sid_t *load_start(struct load *ld, struct lslot *slots, int nslots, int nsess) {
  ocf_sid_t *sids = calloc((size_t)nsess, sizeof(*sids));
  for (int i = 0; i < nsess; i++)
    assert_int_equal(ocf_newsession(&sids[i], load_chain, OCF_SESS_HWONLY), 0);
  for (int i = 0; i < nslots; i++) {
    struct lslot *s = &slots[i];
    memset(s, 0, sizeof(*s));
    s->ld = ld;
    int id = atomic_fetch_add(&ld->next, 1);
    if (id >= ld->total) break;
    lslot_fill(s, id);
    s->req.sid = sids[i % nsess];
    s->req.callback = load_cb;
    s->req.opaque = s;
    assert_int_equal(ocf_dispatch(&s->req), 0);
  }
  return sids;
}

static void load_finish(struct load *ld, struct lslot *slots, int nslots, ocf_sid_t *sids,
                        int nsess) {
  pthread_mutex_lock(&ld->m);
  for (int waited = 0; atomic_load(&ld->done) < ld->total && waited < 120; waited++) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 1;
    pthread_cond_timedwait(&ld->cv, &ld->m, &ts);
  }
  pthread_mutex_unlock(&ld->m);
  assert_int_equal(atomic_load(&ld->done), ld->total);
  assert_int_equal(atomic_load(&ld->bad), 0);
  assert_int_equal(atomic_load(&ld->errors), 0);
  for (int i = 0; i < ld->total; i++)
    if (ld->seen[i] != 1) fail_msg("request %d completed %d times", i, ld->seen[i]);
  /* the sessions, under whatever id they now have */
  for (int i = 0; i < nsess; i++) assert_int_equal(ocf_freesession(sids[i]), 0);
  free(sids);
  free(ld->seen);
  pthread_mutex_destroy(&ld->m);
  pthread_cond_destroy(&ld->cv);
  (void)slots;
  (void)nslots;
}

static void test_eject_under_load(void **state) {
  enum { NSLOT = 128, NSESS = 16 };
  static struct load ld;
  static struct lslot slots[NSLOT];
  load_init(&ld, 100000 / ref_scale());
  attach("bcm5820*2@pci64,hifn7751@pci32:mode=exact");
  char victim[32];
  card_name("bcm5820", 0, victim);
  ocf_sid_t *sids = load_start(&ld, slots, NSLOT, NSESS);
  while (atomic_load(&ld.done) < ld.total / 3) usleep(500);
  assert_int_equal(ocf_sim_detach(victim), 0);
  int at_eject = atomic_load(&ld.done);
  load_finish(&ld, slots, NSLOT, sids, NSESS);
  print_message("eject: %d requests, %d done before ejecting %s, %d EAGAIN resubmits\n", ld.total,
                at_eject, victim, atomic_load(&ld.eagain));
  assert_true(atomic_load(&ld.eagain) > 0); /* its sessions moved */
  assert_int_equal(ocf_sim_cards(NULL, 0), 2);
  assert_int_equal(ocf_sim_detach("all"), 0);
}

static void test_hung_card_watchdog(void **state) {
  enum { NSLOT = 64, NSESS = 8 };
  static struct load ld;
  static struct lslot slots[NSLOT];
  load_init(&ld, 20000 / ref_scale());
  attach("bcm5820*2:mode=exact,watchdog=50");
  char victim[32];
  card_name("bcm5820", 0, victim);
  ocf_sid_t *sids = load_start(&ld, slots, NSLOT, NSESS);
  while (atomic_load(&ld.done) < ld.total / 4) usleep(200);
  assert_int_equal(ocf_sim_fault(victim, "hang"), 0);
  load_finish(&ld, slots, NSLOT, sids, NSESS);
  struct ocf_sim_card_info ci;
  assert_non_null(card_info(victim, &ci));
  print_message("watchdog: %d requests, %llu lost by the hung card, %d EAGAIN resubmits\n",
                ld.total, (unsigned long long)ci.lost, atomic_load(&ld.eagain));
  assert_string_equal(ci.state, "dead");
  assert_true(ci.lost > 0);
  assert_true(atomic_load(&ld.eagain) > 0);
  assert_int_equal(ocf_sim_fault(victim, "ok"), ENODEV);
  /* the framework no longer lists it as attached */
  struct ocf_driver_stat st[16];
  int n = ocf_driver_stats(st, 16);
  for (int i = 0; i < n && i < 16; i++)
    if (strcmp(st[i].name, victim) == 0) assert_true(st[i].detached);
  assert_int_equal(ocf_sim_detach("all"), 0);
}

/* A failed test must not leave cards behind for the next one. */
static int eject_all(void **state) {
  (void)state;
  return ocf_sim_detach("all");
}

#define T(f) cmocka_unit_test_teardown(f, eject_all)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_bad_strings), T(test_exact_outputs),    T(test_timing_mode),        T(test_public_key),
      T(test_fault_fail),  T(test_eject_under_load), T(test_hung_card_watchdog),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
