/*
 * test_ipsec_hostile.c - bad and hostile input: each case ends with its own
 * verdict, counted exactly once (on the SA when one was found, else on the
 * context), never IPSEC_OK, and without a crash or a leak (the ASan build
 * runs this too).  Packets truncated at every length, every byte of the ICV
 * corrupted (and every other byte), replays and packets far behind the
 * window, unknown SPIs, SAs past their lifetimes, wrong next headers and bad
 * padding (built with ESP-NULL so that they authenticate), absurd IP and UDP
 * lengths, IPcomp bombs and corrupt DEFLATE data.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

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

/* The drops counted for v so far, on the SA and on the context. */
static uint64_t drops(struct ipsec_ctx *ctx, struct ipsec_sa *sa, enum ipsec_verdict v) {
  struct ipsec_sa_info si;
  struct ipsec_ctx_stats cs;
  ipsec_sa_info(sa, &si);
  ipsec_ctx_stats(ctx, &cs);
  return si.c.drops[v] + cs.in.drops[v];
}

static uint64_t all_drops(struct ipsec_ctx *ctx, struct ipsec_sa *sa) {
  uint64_t n = 0;
  for (int v = IPSEC_DROP_POLICY; v < IPSEC_VERDICT__MAX; v++)
    n += drops(ctx, sa, (enum ipsec_verdict)v);
  return n;
}

/* Feeds bytes to ipsec_input; checks it is dropped and counted once. */
static int feed(struct ipsec_ctx *ctx, struct ipsec_sa *sa, const uint8_t *b, size_t n,
                size_t room) {
  uint64_t before = all_drops(ctx, sa);
  struct it_pkt *t = it_pkt_new(n + room + 64, 64, b, n);
  int v = it_run(ctx, t, 0);
  assert_int_equal(t->done, 1);
  it_pkt_free(t);
  if (v != IPSEC_OK) assert_int_equal(all_drops(ctx, sa), before + 1);
  return v;
}

/* Everything out of ctx goes through sa. */
static void out_policy(struct ipsec_ctx *ctx, struct ipsec_sa *sa) {
  struct ipsec_policy_params pp = {.dir = IPSEC_DIR_OUT, .action = IPSEC_ACT_PROTECT, .nsa = 1};
  pp.sa[0] = sa;
  assert_int_equal(ipsec_policy_add(ctx, &pp, -1, NULL, NULL, 0), 0);
}

struct pair {
  struct ipsec_ctx *out, *in;
  struct ipsec_sa *osa, *isa;
  struct ipsec_sa_params p;
  uint8_t ek[64], ak[64];
};

static void pair_make(struct pair *pr, enum ipsec_proto proto, enum ipsec_enc enc,
                      enum ipsec_auth auth, int tunnel, unsigned flags) {
  memset(pr, 0, sizeof(*pr));
  pr->p = (struct ipsec_sa_params){.proto = proto,
                                   .mode = tunnel ? IPSEC_MODE_TUNNEL : IPSEC_MODE_TRANSPORT,
                                   .spi = 0x4000 + (uint32_t)ref_range(&rng, 0, 0xfff),
                                   .enc = enc,
                                   .auth = auth,
                                   .flags = flags};
  if (proto == IPSEC_PROTO_IPCOMP) {
    pr->p.spi = 0x300;
    pr->p.comp = IPSEC_COMP_DEFLATE;
  }
  it_keys(&pr->p, pr->ek, pr->ak, &rng);
  if (tunnel) {
    pr->p.src = it_addr("192.0.2.1");
    pr->p.dst = it_addr("192.0.2.2");
  }
  pr->out = it_ctx(0);
  pr->in = it_ctx(0);
  assert_int_equal(it_sa_pair(pr->out, pr->in, &pr->p, &pr->osa, &pr->isa, 1), 0);
  out_policy(pr->out, pr->osa);
}

static void pair_free(struct pair *pr) {
  ipsec_ctx_free(pr->out);
  ipsec_ctx_free(pr->in);
}

/* Protects one packet of plen payload bytes; returns its length in out. */
static size_t protect(struct pair *pr, int v6, size_t plen, uint8_t *out, size_t cap) {
  uint8_t clear[4096];
  size_t len = it_build_ip(clear, sizeof(clear), v6, IPPROTO_UDP, 1, 2, plen, &rng, NULL, NULL);
  if (pr->p.proto == IPSEC_PROTO_IPCOMP) ref_fill_text(&rng, clear + 28, len - 28);
  struct it_pkt *t = it_pkt_new(len + 512, 256, clear, len);
  int v = it_run(pr->out, t, 1);
  assert_int_equal(v, IPSEC_OK);
  assert_true(t->p.len <= cap);
  size_t n = t->p.len;
  memcpy(out, it_data(t), n);
  it_pkt_free(t);
  return n;
}

static bool is_length_verdict(int v) {
  return v == IPSEC_DROP_TRUNCATED || v == IPSEC_DROP_BADLEN || v == IPSEC_DROP_MALFORMED;
}

/* Cut at every length, with the IP header as it was (its length then lies)
 * and with the length fixed (the ESP part is then short). */
static void t_truncated(void **state) {
  (void)state;
  const struct {
    enum ipsec_proto proto;
    enum ipsec_enc enc;
    enum ipsec_auth auth;
    int tunnel;
    unsigned flags;
  } kinds[] = {
      {IPSEC_PROTO_ESP, IPSEC_ENC_AES_CBC, IPSEC_AUTH_HMAC_SHA2_256_128, 1, 0},
      {IPSEC_PROTO_ESP, IPSEC_ENC_AES_GCM_16, IPSEC_AUTH_NONE, 0, IPSEC_SA_UDP_ENCAP},
      {IPSEC_PROTO_AH, IPSEC_ENC_NONE, IPSEC_AUTH_HMAC_SHA1_96, 0, IPSEC_SA_ESN},
      {IPSEC_PROTO_IPCOMP, IPSEC_ENC_NONE, IPSEC_AUTH_NONE, 0, 0},
  };
  for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
    for (int v6 = 0; v6 < 2; v6++) {
      struct pair pr;
      pair_make(&pr, kinds[k].proto, kinds[k].enc, kinds[k].auth, kinds[k].tunnel, kinds[k].flags);
      uint8_t pk[2048];
      size_t n = protect(&pr, v6 && !kinds[k].tunnel, 300, pk, sizeof(pk));
      for (size_t l = 0; l < n; l++) {
        int v = feed(pr.in, pr.isa, pk, l, 4096);
        if (!is_length_verdict(v))
          fail_msg("kind %zu v6 %d cut at %zu of %zu: verdict %s", k, v6, l, n,
                   ipsec_verdict_name(v));
        /* the same with the IP length made to agree */
        if (l >= (pk[0] >> 4 == 6 ? 40u : 20u)) {
          uint8_t c[2048];
          memcpy(c, pk, l);
          if (pk[0] >> 4 == 4) {
            c[2] = (uint8_t)(l >> 8);
            c[3] = (uint8_t)l;
          } else {
            c[4] = (uint8_t)((l - 40) >> 8);
            c[5] = (uint8_t)(l - 40);
          }
          v = feed(pr.in, pr.isa, c, l, 4096);
          assert_int_not_equal(v, IPSEC_OK);
        }
      }
      /* the whole packet still goes through: nothing above moved the window */
      assert_int_equal(feed(pr.in, pr.isa, pk, n, 4096), IPSEC_OK);
      pair_free(&pr);
    }
  }
}

/* Every byte of the ICV, then every byte of the packet, flipped. */
static void t_corrupt(void **state) {
  (void)state;
  const enum ipsec_enc encs[] = {IPSEC_ENC_AES_CBC, IPSEC_ENC_AES_GCM_16,
                                 IPSEC_ENC_CHACHA20_POLY1305, IPSEC_ENC_NULL_AUTH_AES_GMAC,
                                 IPSEC_ENC_NULL};
  for (size_t e = 0; e < sizeof(encs) / sizeof(encs[0]); e++) {
    struct pair pr;
    enum ipsec_auth a = encs[e] == IPSEC_ENC_AES_CBC || encs[e] == IPSEC_ENC_NULL
                            ? IPSEC_AUTH_HMAC_SHA2_256_128
                            : IPSEC_AUTH_NONE;
    pair_make(&pr, IPSEC_PROTO_ESP, encs[e], a, 1, IPSEC_SA_ESN);
    uint8_t pk[2048], c[2048];
    size_t n = protect(&pr, 0, 100, pk, sizeof(pk));
    size_t icv = encs[e] == IPSEC_ENC_NULL || encs[e] == IPSEC_ENC_AES_CBC ? 16 : 16;
    for (size_t i = n - icv; i < n; i++) {
      for (int bit = 0; bit < 8; bit += 7) {
        memcpy(c, pk, n);
        c[i] ^= (uint8_t)(1u << bit);
        uint64_t before = drops(pr.in, pr.isa, IPSEC_DROP_AUTH);
        assert_int_equal(feed(pr.in, pr.isa, c, n, 64), IPSEC_DROP_AUTH);
        assert_int_equal(drops(pr.in, pr.isa, IPSEC_DROP_AUTH), before + 1);
      }
    }
    /* any other byte: never accepted, but for the outer header's fields
     * that ESP does not cover (they then use up the sequence number) */
    int mutable_ok = 0;
    for (size_t i = 0; i < n - icv; i++) {
      memcpy(c, pk, n);
      c[i] ^= 0x40;
      int v = feed(pr.in, pr.isa, c, n, 64);
      /* flipping a bit of the IPv4 header checksum or TTL changes nothing
       * ESP protects: the outer header is the network's */
      bool outer_mutable = i == 1 || i == 8 || i == 10 || i == 11 || i == 4 || i == 5;
      if (v == IPSEC_OK && !outer_mutable)
        fail_msg("%s: byte %zu flipped and still accepted", ipsec_enc_name(encs[e]), i);
      mutable_ok += v == IPSEC_OK;
    }
    assert_true(mutable_ok >= 1);
    assert_int_equal(feed(pr.in, pr.isa, pk, n, 64), IPSEC_DROP_REPLAY);
    pair_free(&pr);
  }
}

static void t_replay(void **state) {
  (void)state;
  struct pair pr;
  pair_make(&pr, IPSEC_PROTO_ESP, IPSEC_ENC_AES_GCM_16, IPSEC_AUTH_NONE, 1, 0);
  enum { N = 200 };
  static uint8_t pk[N][256];
  size_t n[N];
  for (int i = 0; i < N; i++) n[i] = protect(&pr, 0, 20, pk[i], sizeof(pk[i]));
  /* out of order inside the window: all accepted once */
  for (int i = 9; i >= 0; i--) assert_int_equal(feed(pr.in, pr.isa, pk[i], n[i], 64), IPSEC_OK);
  for (int i = 0; i < 10; i++)
    assert_int_equal(feed(pr.in, pr.isa, pk[i], n[i], 64), IPSEC_DROP_REPLAY);
  /* move the window far ahead: the early ones are then behind it */
  assert_int_equal(feed(pr.in, pr.isa, pk[150], n[150], 64), IPSEC_OK);
  assert_int_equal(feed(pr.in, pr.isa, pk[20], n[20], 64), IPSEC_DROP_OLD);
  assert_int_equal(feed(pr.in, pr.isa, pk[140], n[140], 64), IPSEC_OK);
  assert_int_equal(feed(pr.in, pr.isa, pk[140], n[140], 64), IPSEC_DROP_REPLAY);
  struct ipsec_sa_info si;
  ipsec_sa_info(pr.isa, &si);
  assert_int_equal(si.seq, 151);
  assert_int_equal(si.replay_window, 64);
  assert_true(si.replay_bitmap & 1);            /* 151 */
  assert_true(si.replay_bitmap & (1ull << 10)); /* 141 */
  assert_false(si.replay_bitmap & (1ull << 9)); /* 142 not seen */
  assert_int_equal(si.c.drops[IPSEC_DROP_REPLAY], 11);
  assert_int_equal(si.c.drops[IPSEC_DROP_OLD], 1);
  /* a forged packet with a far-ahead number must not move the window */
  uint8_t c[256];
  memcpy(c, pk[199], n[199]);
  c[n[199] - 1] ^= 1;
  assert_int_equal(feed(pr.in, pr.isa, c, n[199], 64), IPSEC_DROP_AUTH);
  assert_int_equal(feed(pr.in, pr.isa, pk[141], n[141], 64), IPSEC_OK);
  pair_free(&pr);
}

/* A big window (4096): behind by 4095 is in, by 4096 out.  With ESN a
 * number below the window is taken for one of the next 2^32 (RFC 4303
 * appendix A2.2) and fails the integrity check instead. */
static void big_window(unsigned flags) {
  struct pair pr;
  memset(&pr, 0, sizeof(pr));
  pair_make(&pr, IPSEC_PROTO_ESP, IPSEC_ENC_AES_GCM_16, IPSEC_AUTH_NONE, 1, flags);
  /* rebuild the inbound SA with the big window */
  ipsec_ctx_free(pr.in);
  pr.in = it_ctx(0);
  struct ipsec_sa_params q = pr.p;
  q.dir = IPSEC_DIR_IN;
  q.replay_window = 4096;
  assert_int_equal(ipsec_sa_add(pr.in, &q, &pr.isa, NULL, 0), 0);
  enum { N = 4200 };
  uint8_t(*pk)[160] = malloc(N * 160);
  size_t *n = malloc(N * sizeof(size_t));
  for (int i = 0; i < N; i++) n[i] = protect(&pr, 0, 10, pk[i], 160);
  assert_int_equal(feed(pr.in, pr.isa, pk[N - 1], n[N - 1], 64), IPSEC_OK); /* seq N */
  assert_int_equal(feed(pr.in, pr.isa, pk[N - 4096], n[N - 4096], 64), IPSEC_OK);
  assert_int_equal(feed(pr.in, pr.isa, pk[N - 4097], n[N - 4097], 64),
                   flags & IPSEC_SA_ESN ? IPSEC_DROP_AUTH : IPSEC_DROP_OLD);
  free(pk);
  free(n);
  pair_free(&pr);
}

static void t_big_window(void **state) {
  (void)state;
  big_window(0);
  big_window(IPSEC_SA_ESN);
}

static void t_unknown_spi(void **state) {
  (void)state;
  struct pair pr;
  pair_make(&pr, IPSEC_PROTO_ESP, IPSEC_ENC_AES_GCM_16, IPSEC_AUTH_NONE, 1, 0);
  uint8_t pk[512];
  size_t n = protect(&pr, 0, 40, pk, sizeof(pk));
  pk[20] ^= 0x80; /* the SPI */
  struct ipsec_ctx_stats cs;
  assert_int_equal(feed(pr.in, pr.isa, pk, n, 64), IPSEC_DROP_NOSA);
  ipsec_ctx_stats(pr.in, &cs);
  assert_int_equal(cs.in.drops[IPSEC_DROP_NOSA], 1);
  /* the right SPI to another destination is not this SA either */
  pk[20] ^= 0x80;
  pk[19] ^= 1; /* outer destination */
  assert_int_equal(feed(pr.in, pr.isa, pk, n, 64), IPSEC_DROP_NOSA);
  pair_free(&pr);
}

static int events[4];
static void on_event(void *arg, struct ipsec_sa *sa, enum ipsec_event ev) {
  (void)arg;
  (void)sa;
  if (ev < 4) events[ev]++;
}

static void t_lifetime(void **state) {
  (void)state;
  struct ipsec_ctx_opts o = {.event = on_event};
  struct ipsec_ctx *out, *in;
  assert_int_equal(ipsec_ctx_new(&o, &out), 0);
  assert_int_equal(ipsec_ctx_new(&o, &in), 0);
  uint8_t ek[64], ak[64];
  struct ipsec_sa_params p = {.proto = IPSEC_PROTO_ESP,
                              .mode = IPSEC_MODE_TRANSPORT,
                              .spi = 0x5000,
                              .enc = IPSEC_ENC_AES_GCM_16,
                              .soft = {.packets = 2},
                              .hard = {.packets = 4, .bytes = 100000}};
  it_keys(&p, ek, ak, &rng);
  struct ipsec_sa *osa, *isa;
  assert_int_equal(it_sa_pair(out, in, &p, &osa, &isa, 0), 0);
  uint8_t clear[256];
  size_t len = it_build_ip(clear, sizeof(clear), 0, IPPROTO_UDP, 1, 2, 30, &rng, NULL, NULL);
  uint8_t pk[6][256];
  size_t n[6];
  struct it_pkt *t = it_pkt_new(1024, 256, clear, len);
  for (int i = 0; i < 6; i++) {
    it_pkt_reset(t, 256, clear, len);
    int v = it_run(out, t, 1);
    assert_int_equal(v, i < 4 ? IPSEC_OK : IPSEC_DROP_EXPIRED);
    n[i] = t->p.len;
    memcpy(pk[i], it_data(t), n[i]);
  }
  assert_int_equal(events[IPSEC_EV_SOFT_EXPIRED], 1);
  assert_int_equal(events[IPSEC_EV_HARD_EXPIRED], 1);
  struct ipsec_sa_info si;
  ipsec_sa_info(osa, &si);
  assert_int_equal(si.used.packets, 4);
  assert_int_equal(si.c.drops[IPSEC_DROP_EXPIRED], 2);
  assert_true(si.hard_expired && si.soft_expired);
  /* inbound: 4 accepted, then the SA is spent */
  for (int i = 0; i < 4; i++) {
    it_pkt_reset(t, 64, pk[i], n[i]);
    assert_int_equal(it_run(in, t, 0), IPSEC_OK);
  }
  ipsec_sa_info(isa, &si);
  assert_int_equal(si.used.packets, 4);
  it_pkt_reset(t, 64, pk[3], n[3]);
  assert_int_equal(it_run(in, t, 0), IPSEC_DROP_EXPIRED);
  it_pkt_free(t);
  ipsec_ctx_free(out);
  ipsec_ctx_free(in);

  /* without ESN the numbers run out at 2^32 - 1 */
  struct pair pr;
  pair_make(&pr, IPSEC_PROTO_ESP, IPSEC_ENC_AES_GCM_16, IPSEC_AUTH_NONE, 1, 0);
  ipsec_ctx_free(pr.out);
  pr.out = it_ctx(0);
  struct ipsec_sa_params r = pr.p;
  r.dir = IPSEC_DIR_OUT;
  r.seq = 0xffffffffull;
  assert_int_equal(ipsec_sa_add(pr.out, &r, &pr.osa, NULL, 0), 0);
  out_policy(pr.out, pr.osa);
  uint8_t b[256];
  protect(&pr, 0, 10, b, sizeof(b)); /* number 2^32 - 1: fine */
  t = it_pkt_new(1024, 256, clear, len);
  assert_int_equal(it_run(pr.out, t, 1), IPSEC_DROP_EXPIRED);
  it_pkt_free(t);
  pair_free(&pr);
}

/* Builds an ESP-NULL / HMAC-SHA2-256 tunnel packet by hand around body
 * (which includes the trailer), with a valid ICV. */
static size_t esp_null_by_hand(const struct pair *pr, uint32_t seq, const uint8_t *body,
                               size_t blen, uint8_t *out) {
  size_t tot = 20 + 8 + blen + 16;
  memset(out, 0, 20);
  out[0] = 0x45;
  out[2] = (uint8_t)(tot >> 8);
  out[3] = (uint8_t)tot;
  out[8] = 64;
  out[9] = IPPROTO_ESP;
  memcpy(out + 12, pr->p.src.a, 4);
  memcpy(out + 16, pr->p.dst.a, 4);
  uint8_t *e = out + 20;
  e[0] = (uint8_t)(pr->p.spi >> 24);
  e[1] = (uint8_t)(pr->p.spi >> 16);
  e[2] = (uint8_t)(pr->p.spi >> 8);
  e[3] = (uint8_t)pr->p.spi;
  e[4] = (uint8_t)(seq >> 24);
  e[5] = (uint8_t)(seq >> 16);
  e[6] = (uint8_t)(seq >> 8);
  e[7] = (uint8_t)seq;
  memcpy(e + 8, body, blen);
  uint8_t mac[64];
  assert_int_equal(
      ref_mac(OCF_ALG_HMAC_SHA2_256, pr->p.auth_key, pr->p.auth_key_len, NULL, 0, e, 8 + blen, mac),
      0);
  memcpy(e + 8 + blen, mac, 16);
  return tot;
}

static void t_trailer(void **state) {
  (void)state;
  struct pair pr;
  pair_make(&pr, IPSEC_PROTO_ESP, IPSEC_ENC_NULL, IPSEC_AUTH_HMAC_SHA2_256_128, 1, 0);
  uint8_t inner[128], body[256], pk[512];
  size_t il = it_build_ip(inner, sizeof(inner), 0, IPPROTO_UDP, 1, 2, 10, &rng, NULL, NULL);
  uint32_t seq = 1;
  /* the right thing first: accepted */
  memcpy(body, inner, il);
  body[il] = 1;
  body[il + 1] = 2;
  body[il + 2] = 2;
  body[il + 3] = 4;
  size_t n = esp_null_by_hand(&pr, seq++, body, il + 4, pk);
  assert_int_equal(feed(pr.in, pr.isa, pk, n, 64), IPSEC_OK);
  /* padding bytes that are not 1, 2, ... */
  body[il] = 7;
  n = esp_null_by_hand(&pr, seq++, body, il + 4, pk);
  assert_int_equal(feed(pr.in, pr.isa, pk, n, 64), IPSEC_DROP_BADPAD);
  /* a pad length longer than the payload */
  body[il] = 1;
  body[il + 2] = 250;
  n = esp_null_by_hand(&pr, seq++, body, il + 4, pk);
  assert_int_equal(feed(pr.in, pr.isa, pk, n, 64), IPSEC_DROP_BADPAD);
  /* next header TCP in a tunnel SA */
  body[il + 2] = 2;
  body[il + 3] = IPPROTO_TCP;
  n = esp_null_by_hand(&pr, seq++, body, il + 4, pk);
  assert_int_equal(feed(pr.in, pr.isa, pk, n, 64), IPSEC_DROP_BADNH);
  /* next header "IPv6" with an IPv4 packet inside */
  body[il + 3] = IPPROTO_IPV6;
  n = esp_null_by_hand(&pr, seq++, body, il + 4, pk);
  assert_int_equal(feed(pr.in, pr.isa, pk, n, 64), IPSEC_DROP_BADNH);
  /* a dummy packet (next header 59): consumed, counted */
  body[il + 3] = IPPROTO_NONE;
  n = esp_null_by_hand(&pr, seq++, body, il + 4, pk);
  assert_int_equal(feed(pr.in, pr.isa, pk, n, 64), IPSEC_DROP_DUMMY);
  /* an inner IPv4 header that claims more than is there */
  body[il + 3] = IPPROTO_IPIP;
  uint8_t save = body[2];
  body[2] = 0x7f;
  n = esp_null_by_hand(&pr, seq++, body, il + 4, pk);
  assert_int_equal(feed(pr.in, pr.isa, pk, n, 64), IPSEC_DROP_BADLEN);
  body[2] = save;
  /* TFC padding after the inner packet: accepted, cut off */
  uint8_t tfc[256];
  memcpy(tfc, inner, il);
  memset(tfc + il, 0xab, 30);
  size_t tl = il + 30;
  tfc[tl] = 1;
  tfc[tl + 1] = 2;
  tfc[tl + 2] = 2;
  tfc[tl + 3] = IPPROTO_IPIP;
  n = esp_null_by_hand(&pr, seq++, tfc, tl + 4, pk);
  struct it_pkt *t = it_pkt_new(n + 64, 32, pk, n);
  assert_int_equal(it_run(pr.in, t, 0), IPSEC_OK);
  assert_int_equal(t->p.len, il);
  assert_memory_equal(it_data(t), inner, il);
  it_pkt_free(t);
  struct ipsec_sa_info si;
  ipsec_sa_info(pr.isa, &si);
  assert_int_equal(si.c.drops[IPSEC_DROP_BADPAD], 2);
  assert_int_equal(si.c.drops[IPSEC_DROP_BADNH], 2);
  assert_int_equal(si.c.drops[IPSEC_DROP_DUMMY], 1);
  assert_int_equal(si.c.packets, 2);
  pair_free(&pr);
}

static void t_lengths(void **state) {
  (void)state;
  struct pair pr;
  pair_make(&pr, IPSEC_PROTO_ESP, IPSEC_ENC_AES_GCM_16, IPSEC_AUTH_NONE, 1, IPSEC_SA_UDP_ENCAP);
  uint8_t pk[512], c[512];
  size_t n = protect(&pr, 0, 40, pk, sizeof(pk));
  const struct {
    size_t off;
    uint8_t v;
    int want;
  } pokes[] = {
      {2, 0xff, IPSEC_DROP_BADLEN},    /* IPv4 total length 0xff.. */
      {3, 0x00, -1},                   /* shorter than it is: truncated ESP */
      {0, 0x44, IPSEC_DROP_MALFORMED}, /* IHL 4 */
      {0, 0x4f, -1},                   /* IHL 15: options swallow the UDP header */
      {0, 0x55, IPSEC_DROP_MALFORMED}, /* version 5 */
      {24, 0xff, IPSEC_DROP_BADLEN},   /* UDP length 0xff.. */
      {25, 0x03, IPSEC_DROP_BADLEN},   /* UDP length 3 */
  };
  for (size_t i = 0; i < sizeof(pokes) / sizeof(pokes[0]); i++) {
    memcpy(c, pk, n);
    c[pokes[i].off] = pokes[i].v;
    if (pokes[i].off == 24) c[25] = 0xff;
    if (pokes[i].off == 25) c[24] = 0;
    int v = feed(pr.in, pr.isa, c, n, 64);
    if (pokes[i].want >= 0 && v != pokes[i].want)
      fail_msg("poke %zu: verdict %s, want %s", i, ipsec_verdict_name(v),
               ipsec_verdict_name(pokes[i].want));
    assert_int_not_equal(v, IPSEC_OK);
  }
  /* IPv6: payload length 0 (a jumbogram) and larger than the packet */
  struct pair p6;
  pair_make(&p6, IPSEC_PROTO_ESP, IPSEC_ENC_AES_GCM_16, IPSEC_AUTH_NONE, 0, 0);
  n = protect(&p6, 1, 40, pk, sizeof(pk));
  memcpy(c, pk, n);
  c[4] = c[5] = 0;
  assert_int_equal(feed(p6.in, p6.isa, c, n, 64), IPSEC_DROP_BADLEN);
  c[4] = c[5] = 0xff;
  assert_int_equal(feed(p6.in, p6.isa, c, n, 64), IPSEC_DROP_BADLEN);
  /* an extension header that runs off the end */
  memcpy(c, pk, n);
  c[6] = 60;   /* destination options... */
  c[41] = 200; /* ... of 1608 bytes */
  assert_int_equal(feed(p6.in, p6.isa, c, n, 64), IPSEC_DROP_TRUNCATED);
  pair_free(&p6);
  /* a fragment: reassembly is the IP layer's job */
  n = protect(&pr, 0, 40, pk, sizeof(pk));
  memcpy(c, pk, n);
  c[6] |= 0x20; /* MF */
  c[10] = c[11] = 0;
  assert_int_equal(feed(pr.in, pr.isa, c, n, 64), IPSEC_DROP_MALFORMED);
  /* keepalive and IKE on the encapsulation port */
  memcpy(c, pk, 28);
  c[28] = 0xff;
  c[2] = 0;
  c[3] = 29;
  c[24] = 0;
  c[25] = 9;
  assert_int_equal(feed(pr.in, pr.isa, c, 29, 64), IPSEC_DROP_KEEPALIVE);
  memcpy(c, pk, n);
  c[28] = c[29] = c[30] = c[31] = 0;
  struct it_pkt *t = it_pkt_new(n + 64, 32, c, n);
  assert_int_equal(it_run(pr.in, t, 0), IPSEC_IKE);
  it_pkt_free(t);
  /* the NAT-T payload entry point: IKE, keepalive, ESP */
  struct ipsec_outer o = {
      .src = it_addr("192.0.2.1"), .dst = it_addr("192.0.2.2"), .sport = 4500, .dport = 4500};
  n = protect(&pr, 0, 40, pk, sizeof(pk));
  t = it_pkt_new(n + 128, 100, pk + 28, n - 28);
  t->p.flags = IPSEC_PKT_UDP_PAYLOAD;
  t->p.outer = o;
  assert_int_equal(it_run(pr.in, t, 0), IPSEC_OK);
  it_pkt_reset(t, 10, pk + 28, n - 28); /* too little room for the headers */
  t->p.flags = IPSEC_PKT_UDP_PAYLOAD;
  t->p.outer = o;
  t->p.size = 10 + n - 28;
  assert_int_equal(it_run(pr.in, t, 0), IPSEC_DROP_NOROOM);
  it_pkt_free(t);
  pair_free(&pr);
}

static size_t raw_deflate(const uint8_t *in, size_t len, uint8_t *out, size_t cap) {
  z_stream z;
  memset(&z, 0, sizeof(z));
  assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
  z.next_in = (Bytef *)in;
  z.avail_in = (uInt)len;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
  size_t n = cap - z.avail_out;
  deflateEnd(&z);
  return n;
}

static void t_ipcomp_bomb(void **state) {
  (void)state;
  struct ipsec_ctx_opts o = {.ipcomp_max = 4000};
  struct ipsec_ctx *in;
  assert_int_equal(ipsec_ctx_new(&o, &in), 0);
  struct ipsec_sa_params p = {.proto = IPSEC_PROTO_IPCOMP,
                              .dir = IPSEC_DIR_IN,
                              .mode = IPSEC_MODE_TRANSPORT,
                              .spi = 0x333,
                              .comp = IPSEC_COMP_DEFLATE};
  struct ipsec_sa *sa;
  assert_int_equal(ipsec_sa_add(in, &p, &sa, NULL, 0), 0);
  /* 1 MB of zeros compresses to about 1 kB */
  size_t big = 1 << 20;
  uint8_t *zeros = calloc(1, big), *pk = malloc(70000);
  size_t cl = raw_deflate(zeros, big, pk + 24, 60000);
  memset(pk, 0, 24);
  pk[0] = 0x45;
  pk[2] = (uint8_t)((24 + cl) >> 8);
  pk[3] = (uint8_t)(24 + cl);
  pk[8] = 64;
  pk[9] = IPPROTO_COMP;
  pk[12] = 10;
  pk[15] = 1;
  pk[16] = 10;
  pk[19] = 2;
  pk[20] = IPPROTO_UDP;
  pk[22] = 0x03;
  pk[23] = 0x33;
  /* room for 60 kB: the context's limit (4000) stops it */
  assert_int_equal(feed(in, sa, pk, 24 + cl, 60000), IPSEC_DROP_TOOBIG);
  /* a small bomb within the limit but beyond the buffer: no room */
  size_t sl = raw_deflate(zeros, 3000, pk + 24, 60000);
  pk[2] = (uint8_t)((24 + sl) >> 8);
  pk[3] = (uint8_t)(24 + sl);
  assert_int_equal(feed(in, sa, pk, 24 + sl, 100), IPSEC_DROP_NOROOM);
  /* and with room: accepted */
  uint8_t inner[3000];
  memset(inner, 0, sizeof(inner));
  inner[0] = 0;
  sl = raw_deflate(inner, 2000, pk + 24, 60000);
  pk[2] = (uint8_t)((24 + sl) >> 8);
  pk[3] = (uint8_t)(24 + sl);
  assert_int_equal(feed(in, sa, pk, 24 + sl, 4000), IPSEC_OK);
  /* corrupt DEFLATE data */
  pk[24] ^= 0xff;
  pk[25] ^= 0x55;
  int v = feed(in, sa, pk, 24 + sl, 4000);
  assert_true(v == IPSEC_DROP_DECOMP || v == IPSEC_DROP_TOOBIG);
  memset(pk + 24, 0xff, sl);
  assert_int_equal(feed(in, sa, pk, 24 + sl, 4000), IPSEC_DROP_DECOMP);
  free(zeros);
  free(pk);
  ipsec_ctx_free(in);
}

/* Random bytes after a valid IP header: whatever happens, it is a drop,
 * counted.  (The IP header itself is left alone: ESP does not cover it, and
 * a new TTL or ID makes no difference to a whole packet.) */
static void t_random(void **state) {
  (void)state;
  struct pair pr;
  pair_make(&pr, IPSEC_PROTO_ESP, IPSEC_ENC_AES_CBC, IPSEC_AUTH_HMAC_SHA1_96, 0, 0);
  uint8_t pk[600], c[600];
  size_t n = protect(&pr, 0, 200, pk, sizeof(pk));
  int rounds = 3000 / ref_scale();
  for (int r = 0; r < rounds; r++) {
    memcpy(c, pk, n);
    size_t from = ref_range(&rng, 20, n - 1);
    ref_fill(&rng, c + from, ref_range(&rng, 1, n - from));
    size_t len = ref_range(&rng, 0, n);
    int v = feed(pr.in, pr.isa, c, len, ref_range(&rng, 0, 200));
    assert_int_not_equal(v, IPSEC_OK);
  }
  pair_free(&pr);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_truncated),   cmocka_unit_test(t_corrupt),
      cmocka_unit_test(t_replay),      cmocka_unit_test(t_big_window),
      cmocka_unit_test(t_unknown_spi), cmocka_unit_test(t_lifetime),
      cmocka_unit_test(t_trailer),     cmocka_unit_test(t_lengths),
      cmocka_unit_test(t_ipcomp_bomb), cmocka_unit_test(t_random),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
