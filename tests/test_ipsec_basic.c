/*
 * test_ipsec_basic.c - libocfipsec round trips: every transform, mode,
 * family, UDP encapsulation and ESN, through the framework and through the
 * direct-EVP path, each direction against the other (a packet protected by
 * one is opened by the other, and with deterministic IVs both produce the
 * same bytes); AH; IPcomp alone and nested under ESP; policies (bypass,
 * discard, order); path MTU; counters and the report.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
/* clang-format on */

#include <ocf/ocf.h>

#include "ipsec_test.h"

static struct ref_rng rng;

static int setup(void **state) {
  (void)state;
  struct ocf_init_opts o = {.workers = 2};
  if (ocf_init(&o) != 0) return -1;
  ref_rng_seed(&rng, ref_seed());
  return ref_init();
}

static int teardown(void **state) {
  (void)state;
  ocf_shutdown();
  return 0;
}

/* A deterministic IV: both paths must then produce the same bytes. */
static int fixed_iv(void *arg, uint64_t seq, uint8_t *iv, size_t len) {
  (void)arg;
  for (size_t i = 0; i < len; i++) iv[i] = (uint8_t)(seq * 31 + i * 7);
  return 0;
}

struct combo {
  enum ipsec_proto proto;
  enum ipsec_enc enc;
  enum ipsec_auth auth;
};

static const struct combo combos[] = {
    {IPSEC_PROTO_ESP, IPSEC_ENC_AES_GCM_16, IPSEC_AUTH_NONE},
    {IPSEC_PROTO_ESP, IPSEC_ENC_AES_GCM_8, IPSEC_AUTH_NONE},
    {IPSEC_PROTO_ESP, IPSEC_ENC_AES_GCM_12, IPSEC_AUTH_NONE},
    {IPSEC_PROTO_ESP, IPSEC_ENC_CHACHA20_POLY1305, IPSEC_AUTH_NONE},
    {IPSEC_PROTO_ESP, IPSEC_ENC_AES_CCM_16, IPSEC_AUTH_NONE},
    {IPSEC_PROTO_ESP, IPSEC_ENC_AES_CCM_8, IPSEC_AUTH_NONE},
    {IPSEC_PROTO_ESP, IPSEC_ENC_NULL_AUTH_AES_GMAC, IPSEC_AUTH_NONE},
    {IPSEC_PROTO_ESP, IPSEC_ENC_AES_CBC, IPSEC_AUTH_HMAC_SHA1_96},
    {IPSEC_PROTO_ESP, IPSEC_ENC_AES_CBC, IPSEC_AUTH_HMAC_SHA2_256_128},
    {IPSEC_PROTO_ESP, IPSEC_ENC_AES_CBC, IPSEC_AUTH_HMAC_SHA2_512_256},
    {IPSEC_PROTO_ESP, IPSEC_ENC_AES_CTR, IPSEC_AUTH_HMAC_SHA2_256_128},
    {IPSEC_PROTO_ESP, IPSEC_ENC_3DES_CBC, IPSEC_AUTH_HMAC_SHA1_96},
    {IPSEC_PROTO_ESP, IPSEC_ENC_NULL, IPSEC_AUTH_HMAC_SHA2_256_128},
    {IPSEC_PROTO_ESP, IPSEC_ENC_NULL, IPSEC_AUTH_HMAC_MD5_96},
    {IPSEC_PROTO_AH, IPSEC_ENC_NONE, IPSEC_AUTH_HMAC_SHA1_96},
    {IPSEC_PROTO_AH, IPSEC_ENC_NONE, IPSEC_AUTH_HMAC_SHA2_256_128},
    {IPSEC_PROTO_AH, IPSEC_ENC_NONE, IPSEC_AUTH_HMAC_SHA2_384_192},
};

struct pair {
  struct ipsec_ctx *out, *in;
  struct ipsec_sa *osa, *isa;
};

/* one SA pair per context kind: [0] framework, [1] direct EVP */
static void make_pairs(struct pair pr[2], const struct ipsec_sa_params *p) {
  for (int k = 0; k < 2; k++) {
    pr[k].out = it_ctx(k ? IPSEC_CTX_DIRECT : 0);
    pr[k].in = it_ctx(k ? IPSEC_CTX_DIRECT : 0);
    assert_int_equal(it_sa_pair(pr[k].out, pr[k].in, p, &pr[k].osa, &pr[k].isa, 0), 0);
  }
}

static void free_pairs(struct pair pr[2]) {
  for (int k = 0; k < 2; k++) {
    ipsec_ctx_free(pr[k].out);
    ipsec_ctx_free(pr[k].in);
  }
}

/* Sends one packet out through pair a and in through pair b; returns the
 * protected bytes in prot. */
static size_t roundtrip(struct pair *a, struct pair *b, const uint8_t *pkt, size_t len,
                        uint8_t *prot, const char *what) {
  struct it_pkt *t = it_pkt_new(len + 256, 128, pkt, len);
  int v = it_run(a->out, t, 1);
  if (v != IPSEC_OK) fail_msg("%s: output verdict %s", what, ipsec_verdict_name(v));
  size_t plen = t->p.len;
  memcpy(prot, it_data(t), plen);
  assert_int_equal(t->done, 1);
  /* the outer addressing the caller sends with */
  assert_true(t->p.payload_off <= t->p.len);
  it_pkt_reset(t, 64, prot, plen);
  v = it_run(b->in, t, 0);
  if (v != IPSEC_OK) fail_msg("%s: input verdict %s", what, ipsec_verdict_name(v));
  if (t->p.len != len || memcmp(it_data(t), pkt, len) != 0)
    fail_msg("%s: the packet came back different (%zu vs %zu bytes)", what, t->p.len, len);
  it_pkt_free(t);
  return plen;
}

static void one_combo(const struct combo *c, int tunnel, int v6in, int v6out, int udp, int esn) {
  uint8_t ek[64], ak[64];
  struct ipsec_sa_params p = {.proto = c->proto,
                              .mode = tunnel ? IPSEC_MODE_TUNNEL : IPSEC_MODE_TRANSPORT,
                              .spi = 0x1000 + (uint32_t)ref_range(&rng, 0, 0xffff),
                              .enc = c->enc,
                              .auth = c->auth,
                              .flags = (udp ? IPSEC_SA_UDP_ENCAP : 0) | (esn ? IPSEC_SA_ESN : 0),
                              .iv_fn = fixed_iv};
  it_keys(&p, ek, ak, &rng);
  if (tunnel) {
    p.src = it_addr(v6out ? "2001:db8:ff::1" : "192.0.2.1");
    p.dst = it_addr(v6out ? "2001:db8:ff::2" : "192.0.2.2");
  }
  if (esn) p.seq = 0xfffffffaull; /* cross the 2^32 boundary */
  struct pair pr[2];
  make_pairs(pr, &p);
  char what[160];
  snprintf(what, sizeof(what), "%s %s %s %s in %s%s%s", c->proto == IPSEC_PROTO_AH ? "ah" : "esp",
           ipsec_enc_name(c->enc), ipsec_auth_name(c->auth), tunnel ? "tunnel" : "transport",
           v6in ? "v6" : "v4", udp ? " udp" : "", esn ? " esn" : "");
  static const size_t sizes[] = {0, 1, 2, 3, 17, 63, 64, 200, 1300};
  for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
    uint8_t pkt[1500], prot[2][1800];
    uint8_t proto = i % 3 == 0 ? IPPROTO_UDP : i % 3 == 1 ? IPPROTO_TCP : (v6in ? 58 : 1);
    size_t len = it_build_ip(pkt, sizeof(pkt), v6in, proto, 1000 + (uint16_t)i, 53, sizes[i], &rng,
                             NULL, NULL);
    /* framework out, direct in; direct out, framework in */
    size_t l0 = roundtrip(&pr[0], &pr[1], pkt, len, prot[0], what);
    size_t l1 = roundtrip(&pr[1], &pr[0], pkt, len, prot[1], what);
    assert_int_equal(l0, l1);
    bool own_id = prot[0][0] >> 4 == 4 && !(prot[0][6] & 0x40);
    if (own_id) {
      /* an outer header that may fragment has an ID of its SA's own (which
       * AH covers: its ICV then differs as well, and is not compared) */
      for (int k = 0; k < 2; k++) prot[k][4] = prot[k][5] = prot[k][10] = prot[k][11] = 0;
    }
    if (!(own_id && c->proto == IPSEC_PROTO_AH) && memcmp(prot[0], prot[1], l0) != 0)
      fail_msg("%s: framework and direct differ", what);
    /* the protocol is where it should be */
    const uint8_t *o = prot[0];
    int ov = o[0] >> 4;
    assert_int_equal(ov, tunnel ? (v6out ? 6 : 4) : (v6in ? 6 : 4));
  }
  struct ipsec_sa_info si;
  ipsec_sa_info(pr[0].osa, &si);
  assert_int_equal(si.c.packets, sizeof(sizes) / sizeof(sizes[0]));
  ipsec_sa_info(pr[0].isa, &si);
  assert_int_equal(si.c.packets, sizeof(sizes) / sizeof(sizes[0]));
  if (esn) assert_true(si.seq > 0xffffffffull);
  free_pairs(pr);
}

static void t_roundtrips(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(combos) / sizeof(combos[0]); i++) {
    const struct combo *c = &combos[i];
    for (int tunnel = 0; tunnel < 2; tunnel++)
      for (int v6in = 0; v6in < 2; v6in++)
        for (int v6out = 0; v6out < (tunnel ? 2 : 1); v6out++)
          for (int udp = 0; udp < (c->proto == IPSEC_PROTO_ESP ? 2 : 1); udp++)
            for (int esn = 0; esn < 2; esn++) {
              if (!tunnel && v6out) continue;
              one_combo(c, tunnel, v6in, tunnel ? v6out : v6in, udp, esn);
            }
  }
}

/* Thousands of SAs in one context, both directions, ESP and AH, SPIs shared
 * across directions, protocols and destinations: each is found by exactly
 * its own direction, protocol, SPI and destination; an inbound duplicate is
 * refused; once half of them are gone the others are still found, the
 * deleted ones are not, and a deleted one's SPI can be taken again; and a
 * packet still finds its inbound SA among all the others. */
static void t_many_sas(void **state) {
  (void)state;
  enum { N = 3000 };
  static const char *dsts[] = {"192.0.2.2", "192.0.2.3", "2001:db8::2"};
  static struct ipsec_sa *sa[N];
  static struct ipsec_sa_params pp[N];
  static uint8_t ek[20], ak[32];
  ref_fill(&rng, ek, sizeof(ek));
  ref_fill(&rng, ak, sizeof(ak));
  struct ipsec_ctx *octx = it_ctx(0), *c = it_ctx(0);
  char err[200];
  for (int i = 0; i < N; i++) {
    struct ipsec_sa_params *p = &pp[i];
    memset(p, 0, sizeof(*p));
    p->proto = i % 7 == 0 ? IPSEC_PROTO_AH : IPSEC_PROTO_ESP;
    p->dir = (i / 3) % 2 ? IPSEC_DIR_IN : IPSEC_DIR_OUT;
    p->mode = IPSEC_MODE_TUNNEL;
    p->spi = 0x100 + (uint32_t)(i / 6); /* each SPI six times */
    p->src = it_addr(strchr(dsts[i % 3], ':') ? "2001:db8::1" : "192.0.2.1");
    p->dst = it_addr(dsts[i % 3]);
    if (p->proto == IPSEC_PROTO_ESP) {
      p->enc = IPSEC_ENC_AES_GCM_16;
      p->enc_key = ek;
      p->enc_key_len = 20;
    } else {
      p->auth = IPSEC_AUTH_HMAC_SHA2_256_128;
      p->auth_key = ak;
      p->auth_key_len = 32;
    }
    if (ipsec_sa_add(c, p, &sa[i], err, sizeof(err)) != 0) fail_msg("SA %d: %s", i, err);
  }
  for (int i = 0; i < N; i++)
    if (ipsec_sa_find(c, pp[i].dir, pp[i].proto, pp[i].spi, &pp[i].dst) != sa[i])
      fail_msg("SA %d (spi %#x) not found as itself", i, pp[i].spi);
  struct ipsec_sa *dup = NULL;
  for (int i = 3; i < N; i += 6) /* the inbound ones: (i / 3) odd */
    assert_int_equal(ipsec_sa_add(c, &pp[i], &dup, err, sizeof(err)), EEXIST);
  static bool gone[N];
  for (int k = 0; k < N; k++) {
    int i = (int)(((unsigned)k * 7919u) % N);
    gone[i] = ref_rand(&rng) % 2;
    if (gone[i]) assert_int_equal(ipsec_sa_del(c, sa[i]), 0);
  }
  for (int i = 0; i < N; i++) {
    struct ipsec_sa *f = ipsec_sa_find(c, pp[i].dir, pp[i].proto, pp[i].spi, &pp[i].dst);
    if (f != (gone[i] ? NULL : sa[i]))
      fail_msg("SA %d (spi %#x, %s): found %p", i, pp[i].spi, gone[i] ? "deleted" : "kept",
               (void *)f);
  }
  for (int i = 3; i < N; i += 6)
    if (gone[i]) {
      if (ipsec_sa_add(c, &pp[i], &sa[i], err, sizeof(err)) != 0)
        fail_msg("SA %d again: %s", i, err);
      assert_true(ipsec_sa_find(c, pp[i].dir, pp[i].proto, pp[i].spi, &pp[i].dst) == sa[i]);
      gone[i] = false;
    }
  /* a packet among them: its own pair, the inbound SA in the crowded context */
  struct ipsec_sa_params p = {.proto = IPSEC_PROTO_ESP,
                              .mode = IPSEC_MODE_TUNNEL,
                              .spi = 0x100 + N,
                              .enc = IPSEC_ENC_AES_GCM_16,
                              .enc_key = ek,
                              .enc_key_len = 20,
                              .seq = 1};
  p.src = it_addr("192.0.2.1");
  p.dst = it_addr("192.0.2.2");
  struct ipsec_sa *osa, *isa;
  assert_int_equal(it_sa_pair(octx, c, &p, &osa, &isa, 0), 0);
  uint8_t pkt[256];
  size_t len = it_build_ip(pkt, sizeof(pkt), 0, IPPROTO_UDP, 1000, 53, 100, &rng, NULL, NULL);
  struct it_pkt *t = it_pkt_new(len + 256, 128, pkt, len);
  assert_int_equal(it_run(octx, t, 1), IPSEC_OK);
  assert_int_equal(it_run(c, t, 0), IPSEC_OK);
  assert_int_equal(t->p.len, len);
  assert_memory_equal(it_data(t), pkt, len);
  it_pkt_free(t);
  ipsec_ctx_free(octx);
  ipsec_ctx_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_roundtrips),
      cmocka_unit_test(t_many_sas),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
