/*
 * test_ipsec_policy.c - the SPD (order, first match, selectors, defaults,
 * the inbound check of what an SA carried), nested SAs (IPcomp then ESP,
 * both ways of nesting; ESP then AH), path MTU through a chain of SAs, the
 * batch calls, buffers without room, and the validation of the API's
 * arguments.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
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

static struct ipsec_sa *add_sa(struct ipsec_ctx *c, enum ipsec_dir dir, enum ipsec_proto proto,
                               enum ipsec_mode mode, uint32_t spi, const uint8_t *key) {
  struct ipsec_sa_params p = {.proto = proto, .dir = dir, .mode = mode, .spi = spi};
  if (proto == IPSEC_PROTO_ESP) {
    p.enc = IPSEC_ENC_AES_GCM_16;
    p.enc_key = key;
    p.enc_key_len = 20;
  } else if (proto == IPSEC_PROTO_AH) {
    p.auth = IPSEC_AUTH_HMAC_SHA2_256_128;
    p.auth_key = key;
    p.auth_key_len = 32;
  } else {
    p.comp = IPSEC_COMP_DEFLATE;
  }
  if (mode == IPSEC_MODE_TUNNEL) {
    p.src = it_addr("192.0.2.1");
    p.dst = it_addr("192.0.2.2");
  }
  struct ipsec_sa *sa = NULL;
  char err[200];
  int rc = ipsec_sa_add(c, &p, &sa, err, sizeof(err));
  if (rc != 0) fail_msg("ipsec_sa_add: %s", err);
  return sa;
}

static struct ipsec_policy *add_pol(struct ipsec_ctx *c, enum ipsec_dir dir, const char *dst,
                                    int plen, uint8_t proto, uint16_t dport, enum ipsec_action act,
                                    struct ipsec_sa **sa, int nsa, int pos) {
  struct ipsec_policy_params pp = {.dir = dir, .action = act, .nsa = nsa};
  if (dst != NULL) {
    pp.sel.dst = it_addr(dst);
    pp.sel.dst_plen = (uint8_t)plen;
  }
  pp.sel.proto = proto;
  pp.sel.dport_lo = pp.sel.dport_hi = dport;
  for (int i = 0; i < nsa; i++) pp.sa[i] = sa[i];
  struct ipsec_policy *pol = NULL;
  char err[200];
  int rc = ipsec_policy_add(c, &pp, pos, &pol, err, sizeof(err));
  if (rc != 0) fail_msg("ipsec_policy_add: %s", err);
  return pol;
}

static int out1(struct ipsec_ctx *c, const char *dst, uint8_t proto, uint16_t dport) {
  uint8_t b[256];
  struct ipsec_addr d = it_addr(dst);
  size_t n =
      it_build_ip(b, sizeof(b), d.family == AF_INET6, proto, 1000, dport, 20, &rng, NULL, &d);
  struct it_pkt *t = it_pkt_new(512, 200, b, n);
  int v = it_run(c, t, 1);
  it_pkt_free(t);
  return v;
}

static void t_spd_order(void **state) {
  (void)state;
  uint8_t key[64];
  ref_fill(&rng, key, sizeof(key));
  struct ipsec_ctx *c = it_ctx(0);
  /* empty SPD: the default, DISCARD */
  assert_int_equal(out1(c, "10.0.0.1", IPPROTO_UDP, 53), IPSEC_DROP_POLICY);
  struct ipsec_sa *sa = add_sa(c, IPSEC_DIR_OUT, IPSEC_PROTO_ESP, IPSEC_MODE_TUNNEL, 0x1234, key);
  add_pol(c, IPSEC_DIR_OUT, NULL, 0, 0, 0, IPSEC_ACT_PROTECT, &sa, 1, -1);
  struct ipsec_policy *disc =
      add_pol(c, IPSEC_DIR_OUT, "10.0.0.5", 32, 0, 0, IPSEC_ACT_DISCARD, NULL, 0, 0);
  struct ipsec_policy *dns =
      add_pol(c, IPSEC_DIR_OUT, "10.0.0.0", 24, IPPROTO_UDP, 53, IPSEC_ACT_BYPASS, NULL, 0, 0);
  assert_int_equal(out1(c, "10.0.0.5", IPPROTO_UDP, 53), IPSEC_BYPASS); /* first match */
  assert_int_equal(out1(c, "10.0.0.5", IPPROTO_UDP, 54), IPSEC_DROP_POLICY);
  assert_int_equal(out1(c, "10.0.0.5", IPPROTO_TCP, 53), IPSEC_DROP_POLICY);
  assert_int_equal(out1(c, "10.0.0.6", IPPROTO_TCP, 53), IPSEC_OK);
  assert_int_equal(out1(c, "10.0.1.6", IPPROTO_UDP, 53), IPSEC_OK);
  assert_int_equal(out1(c, "2001:db8::9", IPPROTO_UDP, 53), IPSEC_OK); /* "any" covers both */
  struct ipsec_policy_info pi;
  ipsec_policy_info(dns, &pi);
  assert_int_equal(pi.index, 0);
  assert_int_equal(pi.c.packets, 1);
  ipsec_policy_info(disc, &pi);
  assert_int_equal(pi.index, 1);
  assert_int_equal(pi.c.drops[IPSEC_DROP_POLICY], 2);
  /* the SA cannot go while a policy names it */
  assert_int_equal(ipsec_sa_del(c, sa), EBUSY);
  /* replaced in one step: DNS to 10.0.0.0/24 is now protected too */
  struct ipsec_policy_params rp = {.dir = IPSEC_DIR_OUT, .action = IPSEC_ACT_PROTECT, .nsa = 1};
  rp.sa[0] = sa;
  rp.sel.dst = it_addr("10.0.0.0");
  rp.sel.dst_plen = 24;
  rp.sel.proto = IPPROTO_UDP;
  rp.sel.dport_lo = rp.sel.dport_hi = 53;
  struct ipsec_policy *dns2;
  assert_int_equal(ipsec_policy_replace(c, dns, &rp, &dns2, NULL, 0), 0);
  assert_int_equal(out1(c, "10.0.0.5", IPPROTO_UDP, 53), IPSEC_OK);
  ipsec_policy_info(dns2, &pi);
  assert_int_equal(pi.index, 0);
  assert_int_equal(pi.c.packets, 1);
  rp.dir = IPSEC_DIR_IN; /* the other direction: refused, nothing changed */
  assert_int_equal(ipsec_policy_replace(c, dns2, &rp, NULL, NULL, 0), EINVAL);
  assert_int_equal(ipsec_policy_del(c, dns2), 0);
  assert_int_equal(out1(c, "10.0.0.5", IPPROTO_UDP, 53), IPSEC_DROP_POLICY);
  /* ICMP type in the source range */
  struct ipsec_policy_params pp = {.dir = IPSEC_DIR_OUT, .action = IPSEC_ACT_BYPASS};
  pp.sel.proto = IPPROTO_ICMP;
  pp.sel.sport_lo = pp.sel.sport_hi = 8; /* echo request */
  assert_int_equal(ipsec_policy_add(c, &pp, 0, NULL, NULL, 0), 0);
  assert_int_equal(out1(c, "10.0.0.5", IPPROTO_ICMP, 0), IPSEC_BYPASS);
  struct ipsec_ctx_stats cs;
  ipsec_ctx_stats(c, &cs);
  assert_int_equal(cs.out.drops[IPSEC_DROP_POLICY], 1); /* the first, without a policy */
  assert_int_equal(cs.policies, 3);
  ipsec_ctx_free(c);
  /* BYPASS as the default */
  struct ipsec_ctx_opts o = {.out_default = IPSEC_ACT_BYPASS};
  assert_int_equal(ipsec_ctx_new(&o, &c), 0);
  assert_int_equal(out1(c, "10.0.0.1", IPPROTO_UDP, 53), IPSEC_BYPASS);
  ipsec_ctx_free(c);
}

/* Many policies (the library then finds the first match through an index
 * by destination prefix): the policy each packet meets must be the first, in
 * table order, whose selector the test's own matcher says it fits.
 * Addresses, prefix lengths, protocols and ports come from small sets, so
 * that prefixes nest and overlap, many policies share one, and packets fit
 * several policies or none.  Then a third of the policies go, and then
 * policies with prefixes of many more lengths come (more kinds than the
 * index takes: the table is scanned again); each time every packet is
 * checked again. */
struct tpol {
  struct ipsec_selector sel;
  struct ipsec_policy *pol;
  uint64_t want, base;
};
struct tflow {
  struct ipsec_addr src, dst;
  uint8_t proto;
  uint16_t sport, dport;
};

static bool t_in_prefix(const struct ipsec_addr *a, const struct ipsec_addr *p, int plen) {
  if (p->family == 0) return true;
  if (a->family != p->family) return false;
  for (int b = 0; b < plen; b++)
    if (((a->a[b / 8] ^ p->a[b / 8]) >> (7 - b % 8)) & 1) return false;
  return true;
}

static bool t_fits(const struct ipsec_selector *s, const struct tflow *f) {
  if (!t_in_prefix(&f->src, &s->src, s->src_plen) || !t_in_prefix(&f->dst, &s->dst, s->dst_plen))
    return false;
  if (s->proto != 0 && s->proto != f->proto) return false;
  bool sany = s->sport_lo == 0 && s->sport_hi == 0, dany = s->dport_lo == 0 && s->dport_hi == 0;
  if (sany && dany) return true;
  if (f->proto != IPPROTO_UDP && f->proto != IPPROTO_TCP) return false; /* no ports */
  return (sany || (f->sport >= s->sport_lo && f->sport <= s->sport_hi)) &&
         (dany || (f->dport >= s->dport_lo && f->dport <= s->dport_hi));
}

static struct ipsec_addr t_v4(int a, int b, int c) {
  char s[32];
  snprintf(s, sizeof(s), "10.%d.%d.%d", a, b, c);
  return it_addr(s);
}

static struct ipsec_addr t_v6(int a, int b) {
  char s[48];
  snprintf(s, sizeof(s), "2001:db8:%x::%x", a, b);
  return it_addr(s);
}

static void t_random_sel(struct ipsec_selector *s, int wide) {
  static const uint8_t v4len[] = {8, 16, 23, 24, 30, 32}, v6len[] = {32, 48, 64, 128};
  memset(s, 0, sizeof(*s));
  int kind = (int)(ref_rand(&rng) % 10);
  if (kind < 6) {
    s->dst = t_v4((int)(ref_rand(&rng) % 2), (int)(ref_rand(&rng) % 4), (int)(ref_rand(&rng) % 8));
    s->dst_plen = wide ? (uint8_t)(1 + ref_rand(&rng) % 31) : v4len[ref_rand(&rng) % 6];
    if (ref_rand(&rng) % 4 == 0) {
      s->src = it_addr(ref_rand(&rng) % 2 ? "10.9.0.1" : "10.8.0.0");
      s->src_plen = ref_rand(&rng) % 2 ? 32 : 15;
    }
  } else if (kind < 9) {
    s->dst = t_v6((int)(ref_rand(&rng) % 3), (int)(ref_rand(&rng) % 4));
    s->dst_plen = v6len[ref_rand(&rng) % 4];
  } else if (ref_rand(&rng) % 2) { /* any destination, from one source */
    s->src = it_addr("10.9.0.1");
    s->src_plen = 32;
  }
  int pr = (int)(ref_rand(&rng) % 4);
  s->proto = pr == 0 ? IPPROTO_UDP : pr == 1 ? IPPROTO_TCP : 0;
  int pt = (int)(ref_rand(&rng) % 4);
  if (pt == 0) s->dport_lo = s->dport_hi = ref_rand(&rng) % 2 ? 53 : 80;
  if (pt == 1) s->dport_lo = 1, s->dport_hi = 100;
  if (pt == 2 && ref_rand(&rng) % 2) s->sport_lo = 1000, s->sport_hi = 1500;
}

static void t_random_flow(struct tflow *f) {
  static const uint8_t protos[] = {IPPROTO_UDP, IPPROTO_TCP, 47};
  static const uint16_t dports[] = {53, 80, 443};
  memset(f, 0, sizeof(*f));
  if (ref_rand(&rng) % 4 != 0) {
    f->src = it_addr(ref_rand(&rng) % 2 ? "10.9.0.1" : "10.8.0.1");
    f->dst = t_v4((int)(ref_rand(&rng) % 2), (int)(ref_rand(&rng) % 4), (int)(ref_rand(&rng) % 8));
  } else {
    f->src = it_addr("2001:db8:ff::1");
    f->dst = t_v6((int)(ref_rand(&rng) % 3), (int)(ref_rand(&rng) % 4));
  }
  f->proto = protos[ref_rand(&rng) % 3];
  f->sport = ref_rand(&rng) % 2 ? 1000 : 2000;
  f->dport = dports[ref_rand(&rng) % 3];
}

/* Two threads send the packets, half each (the index is built by whichever
 * lookup comes to it first, while the other thread looks up too). */
struct tsend {
  struct ipsec_ctx *c;
  const struct tflow *fl;
  const int *first;
  int from, to;
  struct ref_rng rng;
  int bad; /* packets with another verdict than the first match's */
};

static void *t_spd_sender(void *arg) {
  struct tsend *s = arg;
  uint8_t b[256] = {0};
  struct it_pkt *t = it_pkt_new(512, 200, b, 20);
  for (int k = s->from; k < s->to; k++) {
    const struct tflow *f = &s->fl[k];
    size_t len = it_build_ip(b, sizeof(b), f->dst.family == AF_INET6, f->proto, f->sport, f->dport,
                             20, &s->rng, &f->src, &f->dst);
    it_pkt_reset(t, 200, b, len);
    int v = it_run(s->c, t, 1);
    if (v != (s->first[k] >= 0 ? IPSEC_BYPASS : IPSEC_DROP_POLICY)) s->bad++;
  }
  it_pkt_free(t);
  return NULL;
}

static void t_spd_check(struct ipsec_ctx *c, struct tpol *tp, int n, const struct tflow *fl,
                        int nf) {
  struct ipsec_policy_info pi;
  for (int i = 0; i < n; i++) {
    ipsec_policy_info(tp[i].pol, &pi);
    assert_int_equal(pi.index, i);
    tp[i].base = pi.c.packets;
    tp[i].want = 0;
  }
  int *first = malloc((size_t)nf * sizeof(*first));
  assert_non_null(first);
  for (int k = 0; k < nf; k++) {
    first[k] = -1;
    for (int i = 0; i < n && first[k] < 0; i++)
      if (t_fits(&tp[i].sel, &fl[k])) first[k] = i;
    if (first[k] >= 0) tp[first[k]].want++;
  }
  struct tsend s[2];
  pthread_t th[2];
  for (int j = 0; j < 2; j++) {
    s[j] = (struct tsend){
        .c = c, .fl = fl, .first = first, .from = j * nf / 2, .to = (j + 1) * nf / 2};
    ref_rng_seed(&s[j].rng, ref_rand(&rng));
    assert_int_equal(pthread_create(&th[j], NULL, t_spd_sender, &s[j]), 0);
  }
  for (int j = 0; j < 2; j++) pthread_join(th[j], NULL);
  free(first);
  if (s[0].bad + s[1].bad != 0)
    fail_msg("%d of %d packets got another verdict than their first match's", s[0].bad + s[1].bad,
             nf);
  for (int i = 0; i < n; i++) {
    ipsec_policy_info(tp[i].pol, &pi);
    if (pi.c.packets - tp[i].base != tp[i].want)
      fail_msg("policy %d of %d met %llu packets, the first match of %llu", i, n,
               (unsigned long long)(pi.c.packets - tp[i].base), (unsigned long long)tp[i].want);
  }
}

static void t_spd_many(void **state) {
  (void)state;
  enum { NPOL = 300, NMORE = 60, NFLOW = 3000 };
  static struct tpol tp[NPOL + NMORE];
  static struct tflow fl[NFLOW];
  struct ipsec_ctx *c = it_ctx(0);
  char err[200];
  for (int i = 0; i < NPOL; i++) {
    struct ipsec_policy_params pp = {.dir = IPSEC_DIR_OUT, .action = IPSEC_ACT_BYPASS};
    t_random_sel(&tp[i].sel, 0);
    pp.sel = tp[i].sel;
    if (ipsec_policy_add(c, &pp, -1, &tp[i].pol, err, sizeof(err)) != 0)
      fail_msg("policy %d: %s", i, err);
  }
  for (int k = 0; k < NFLOW; k++) t_random_flow(&fl[k]);
  t_spd_check(c, tp, NPOL, fl, NFLOW);
  int n = 0;
  for (int i = 0; i < NPOL; i++) {
    if (ref_rand(&rng) % 3 == 0)
      assert_int_equal(ipsec_policy_del(c, tp[i].pol), 0);
    else
      tp[n++] = tp[i];
  }
  t_spd_check(c, tp, n, fl, NFLOW);
  for (int i = 0; i < NMORE; i++, n++) {
    struct ipsec_policy_params pp = {.dir = IPSEC_DIR_OUT, .action = IPSEC_ACT_BYPASS};
    t_random_sel(&tp[n].sel, 1);
    pp.sel = tp[n].sel;
    if (ipsec_policy_add(c, &pp, -1, &tp[n].pol, err, sizeof(err)) != 0)
      fail_msg("policy %d: %s", n, err);
  }
  t_spd_check(c, tp, n, fl, NFLOW);
  ipsec_ctx_free(c);
}

/* What comes in: unprotected packets meet the inbound SPD; protected ones
 * must fit the policy of their SA. */
static void t_inbound_check(void **state) {
  (void)state;
  uint8_t key[64];
  ref_fill(&rng, key, sizeof(key));
  struct ipsec_ctx *out = it_ctx(0), *in = it_ctx(0);
  struct ipsec_sa *o = add_sa(out, IPSEC_DIR_OUT, IPSEC_PROTO_ESP, IPSEC_MODE_TUNNEL, 0x999, key);
  struct ipsec_sa *i = add_sa(in, IPSEC_DIR_IN, IPSEC_PROTO_ESP, IPSEC_MODE_TUNNEL, 0x999, key);
  add_pol(out, IPSEC_DIR_OUT, NULL, 0, 0, 0, IPSEC_ACT_PROTECT, &o, 1, -1);
  /* inbound: only 10.0.1.0/24 may come through SA 0x999 */
  struct ipsec_policy *ip =
      add_pol(in, IPSEC_DIR_IN, "10.0.1.0", 24, 0, 0, IPSEC_ACT_PROTECT, &i, 1, -1);
  add_pol(in, IPSEC_DIR_IN, "10.0.9.0", 24, 0, 0, IPSEC_ACT_BYPASS, NULL, 0, -1);
  uint8_t b[256];
  const char *dsts[] = {"10.0.1.7", "10.0.2.7"};
  for (int k = 0; k < 2; k++) {
    struct ipsec_addr d = it_addr(dsts[k]);
    size_t n = it_build_ip(b, sizeof(b), 0, IPPROTO_UDP, 1, 2, 30, &rng, NULL, &d);
    struct it_pkt *t = it_pkt_new(512, 200, b, n);
    assert_int_equal(it_run(out, t, 1), IPSEC_OK);
    size_t pl = t->p.len;
    uint8_t prot[512];
    memcpy(prot, it_data(t), pl);
    it_pkt_reset(t, 100, prot, pl);
    assert_int_equal(it_run(in, t, 0), k == 0 ? IPSEC_OK : IPSEC_DROP_POLICY);
    assert_true(t->p.policy == ip);
    it_pkt_free(t);
    /* and the same packet without IPsec */
    t = it_pkt_new(512, 100, b, n);
    assert_int_equal(it_run(in, t, 0), IPSEC_DROP_POLICY);
    it_pkt_free(t);
  }
  struct ipsec_addr d = it_addr("10.0.9.1");
  size_t n = it_build_ip(b, sizeof(b), 0, IPPROTO_UDP, 1, 2, 30, &rng, NULL, &d);
  struct it_pkt *t = it_pkt_new(512, 100, b, n);
  assert_int_equal(it_run(in, t, 0), IPSEC_BYPASS);
  it_pkt_free(t);
  struct ipsec_policy_info pi;
  ipsec_policy_info(ip, &pi);
  assert_int_equal(pi.c.packets, 1);
  assert_int_equal(pi.c.drops[IPSEC_DROP_POLICY], 2); /* the outsider, and cleartext */
  ipsec_ctx_free(out);
  ipsec_ctx_free(in);
}

/* Sends one packet to dst (proto, dport) out through out and in through in;
 * returns the inbound verdict and the policy that admitted it. */
static int through(struct ipsec_ctx *out, struct ipsec_ctx *in, const char *dst, uint8_t proto,
                   uint16_t dport, struct ipsec_policy **pol) {
  uint8_t b[256], prot[512];
  struct ipsec_addr d = it_addr(dst);
  size_t n = it_build_ip(b, sizeof(b), d.family == AF_INET6, proto, 1, dport, 30, &rng, NULL, &d);
  struct it_pkt *t = it_pkt_new(512, 200, b, n);
  assert_int_equal(it_run(out, t, 1), IPSEC_OK);
  size_t pl = t->p.len;
  memcpy(prot, it_data(t), pl);
  it_pkt_reset(t, 100, prot, pl);
  int v = it_run(in, t, 0);
  if (v == IPSEC_OK && (t->p.len != n || memcmp(it_data(t), b, n) != 0)) v = -1;
  *pol = t->p.policy;
  it_pkt_free(t);
  return v;
}

/* One inbound SA named by several policies (traffic selector lists): a
 * packet fits any of them; deleting and replacing one under the others. */
static void t_inbound_multi(void **state) {
  (void)state;
  uint8_t key[64];
  ref_fill(&rng, key, sizeof(key));
  struct ipsec_ctx *out = it_ctx(0), *in = it_ctx(0);
  struct ipsec_sa *o = add_sa(out, IPSEC_DIR_OUT, IPSEC_PROTO_ESP, IPSEC_MODE_TUNNEL, 0x777, key);
  struct ipsec_sa *i = add_sa(in, IPSEC_DIR_IN, IPSEC_PROTO_ESP, IPSEC_MODE_TUNNEL, 0x777, key);
  add_pol(out, IPSEC_DIR_OUT, NULL, 0, 0, 0, IPSEC_ACT_PROTECT, &o, 1, -1);
  struct ipsec_policy *p1 =
      add_pol(in, IPSEC_DIR_IN, "10.0.1.0", 24, 0, 0, IPSEC_ACT_PROTECT, &i, 1, -1);
  struct ipsec_policy *p2 =
      add_pol(in, IPSEC_DIR_IN, "2001:db8:1::", 48, IPPROTO_UDP, 0, IPSEC_ACT_PROTECT, &i, 1, -1);
  struct ipsec_policy *p3 =
      add_pol(in, IPSEC_DIR_IN, "10.0.3.0", 24, IPPROTO_TCP, 80, IPSEC_ACT_PROTECT, &i, 1, 0);
  struct ipsec_policy *got;
  assert_int_equal(through(out, in, "10.0.1.7", IPPROTO_UDP, 53, &got), IPSEC_OK);
  assert_true(got == p1);
  assert_int_equal(through(out, in, "2001:db8:1::5", IPPROTO_UDP, 53, &got), IPSEC_OK);
  assert_true(got == p2);
  assert_int_equal(through(out, in, "2001:db8:1::5", IPPROTO_TCP, 53, &got), IPSEC_DROP_POLICY);
  assert_true(got == p1); /* the drop is counted on the SA's first policy */
  assert_int_equal(through(out, in, "10.0.3.1", IPPROTO_TCP, 80, &got), IPSEC_OK);
  assert_true(got == p3);
  assert_int_equal(through(out, in, "10.0.3.1", IPPROTO_TCP, 81, &got), IPSEC_DROP_POLICY);
  assert_int_equal(through(out, in, "10.0.2.7", IPPROTO_UDP, 53, &got), IPSEC_DROP_POLICY);
  struct ipsec_policy_info pi;
  ipsec_policy_info(p1, &pi);
  assert_int_equal(pi.c.packets, 1);
  assert_int_equal(pi.c.drops[IPSEC_DROP_POLICY], 3);
  /* the first goes: its traffic no longer fits, the others' still does */
  assert_int_equal(ipsec_policy_del(in, p1), 0);
  assert_int_equal(through(out, in, "10.0.1.7", IPPROTO_UDP, 53, &got), IPSEC_DROP_POLICY);
  assert_true(got == p2);
  assert_int_equal(through(out, in, "10.0.3.1", IPPROTO_TCP, 80, &got), IPSEC_OK);
  /* the third is replaced by another selector, in its place */
  struct ipsec_policy_params pp = {.dir = IPSEC_DIR_IN, .action = IPSEC_ACT_PROTECT, .nsa = 1};
  pp.sa[0] = i;
  pp.sel.dst = it_addr("10.0.4.0");
  pp.sel.dst_plen = 24;
  struct ipsec_policy *p4;
  char err[200];
  assert_int_equal(ipsec_policy_replace(in, p3, &pp, &p4, err, sizeof(err)), 0);
  assert_int_equal(through(out, in, "10.0.3.1", IPPROTO_TCP, 80, &got), IPSEC_DROP_POLICY);
  assert_int_equal(through(out, in, "10.0.4.1", IPPROTO_TCP, 80, &got), IPSEC_OK);
  assert_true(got == p4);
  assert_int_equal(through(out, in, "2001:db8:1::5", IPPROTO_UDP, 53, &got), IPSEC_OK);
  assert_true(got == p2);
  /* the SA stays while a policy names it; with none it admits anything */
  assert_int_equal(ipsec_sa_del(in, i), EBUSY);
  assert_int_equal(ipsec_policy_del(in, p2), 0);
  assert_int_equal(ipsec_policy_del(in, p4), 0);
  assert_int_equal(through(out, in, "10.0.2.7", IPPROTO_UDP, 53, &got), IPSEC_OK);
  assert_null(got);
  assert_int_equal(ipsec_sa_del(in, i), 0);
  ipsec_ctx_free(out);
  ipsec_ctx_free(in);
}

/* Nested SAs, both ways of putting IPcomp under ESP, and ESP then AH. */
static void nested(enum ipsec_proto p0, enum ipsec_mode m0, enum ipsec_proto p1, enum ipsec_mode m1,
                   int v6) {
  uint8_t k0[64], k1[64];
  ref_fill(&rng, k0, sizeof(k0));
  ref_fill(&rng, k1, sizeof(k1));
  struct ipsec_ctx *out = it_ctx(0), *in = it_ctx(0);
  struct ipsec_sa *o[2] = {add_sa(out, IPSEC_DIR_OUT, p0, m0, 0x501, k0),
                           add_sa(out, IPSEC_DIR_OUT, p1, m1, 0x502, k1)};
  struct ipsec_sa *i[2] = {add_sa(in, IPSEC_DIR_IN, p0, m0, 0x501, k0),
                           add_sa(in, IPSEC_DIR_IN, p1, m1, 0x502, k1)};
  add_pol(out, IPSEC_DIR_OUT, NULL, 0, 0, 0, IPSEC_ACT_PROTECT, o, 2, -1);
  add_pol(in, IPSEC_DIR_IN, NULL, 0, 0, 0, IPSEC_ACT_PROTECT, i, 2, -1);
  for (int k = 0; k < 2; k++) {
    uint8_t b[2048], prot[2200];
    size_t n = it_build_ip(b, sizeof(b), v6, IPPROTO_TCP, 1, 2, 1200, &rng, NULL, NULL);
    if (k == 0) ref_fill_text(&rng, b + (v6 ? 60 : 40), n - (v6 ? 60 : 40)); /* compresses */
    struct it_pkt *t = it_pkt_new(4096, 300, b, n);
    assert_int_equal(it_run(out, t, 1), IPSEC_OK);
    assert_int_equal(t->p.nsa, 2);
    assert_true(t->p.sa[0] == o[0] && t->p.sa[1] == o[1]);
    size_t pl = t->p.len;
    memcpy(prot, it_data(t), pl);
    if (p0 == IPSEC_PROTO_IPCOMP && k == 0) assert_true(pl < n); /* it did compress */
    it_pkt_reset(t, 100, prot, pl);
    int v = it_run(in, t, 0);
    if (v != IPSEC_OK)
      fail_msg("nested %d/%d over %d/%d v6 %d: %s", p0, m0, p1, m1, v6, ipsec_verdict_name(v));
    if (t->p.len != n || memcmp(it_data(t), b, n) != 0)
      fail_msg("nested %d/%d over %d/%d v6 %d packet %d: differs", p0, m0, p1, m1, v6, k);
    it_pkt_free(t);
  }
  struct ipsec_sa_info si;
  ipsec_sa_info(i[0], &si);
  /* a transport IPcomp SA sees only what was compressed; in tunnel mode the
   * uncompressed packet is IP in IP, which it takes too */
  assert_int_equal(si.c.packets, p0 == IPSEC_PROTO_IPCOMP && m0 == IPSEC_MODE_TRANSPORT ? 1 : 2);
  if (p0 == IPSEC_PROTO_IPCOMP) {
    ipsec_sa_info(o[0], &si);
    assert_int_equal(si.uncompressed, 1); /* the random one */
  }
  ipsec_ctx_free(out);
  ipsec_ctx_free(in);
}

static void t_nested(void **state) {
  (void)state;
  for (int v6 = 0; v6 < 2; v6++) {
    nested(IPSEC_PROTO_IPCOMP, IPSEC_MODE_TRANSPORT, IPSEC_PROTO_ESP, IPSEC_MODE_TUNNEL, v6);
    nested(IPSEC_PROTO_IPCOMP, IPSEC_MODE_TUNNEL, IPSEC_PROTO_ESP, IPSEC_MODE_TRANSPORT, v6);
    nested(IPSEC_PROTO_ESP, IPSEC_MODE_TRANSPORT, IPSEC_PROTO_AH, IPSEC_MODE_TRANSPORT, v6);
    nested(IPSEC_PROTO_ESP, IPSEC_MODE_TUNNEL, IPSEC_PROTO_ESP, IPSEC_MODE_TUNNEL, v6);
  }
}

/* Path MTU: the chain's figure is exact, reports propagate backwards. */
static void t_pmtu(void **state) {
  (void)state;
  uint8_t k0[64], k1[64];
  ref_fill(&rng, k0, sizeof(k0));
  ref_fill(&rng, k1, sizeof(k1));
  struct ipsec_ctx *out = it_ctx(0);
  struct ipsec_sa *o[2] = {add_sa(out, IPSEC_DIR_OUT, IPSEC_PROTO_ESP, IPSEC_MODE_TUNNEL, 1001, k0),
                           add_sa(out, IPSEC_DIR_OUT, IPSEC_PROTO_AH, IPSEC_MODE_TUNNEL, 1002, k1)};
  add_pol(out, IPSEC_DIR_OUT, NULL, 0, 0, 0, IPSEC_ACT_PROTECT, o, 2, -1);
  uint32_t link = 1400;
  uint32_t m = ipsec_chain_mtu(o, 2, link);
  assert_true(m < link && m > 1200);
  /* a packet of m bytes leaves at most link bytes; one of m + 1 more */
  uint8_t b[2000];
  for (uint32_t len = m - 3; len <= m + 1; len++) {
    size_t n = it_build_ip(b, sizeof(b), 0, IPPROTO_UDP, 1, 2, len - 28, &rng, NULL, NULL);
    b[6] = 0; /* no DF: nothing is refused */
    b[10] = b[11] = 0;
    struct it_pkt *t = it_pkt_new(4096, 300, b, n);
    assert_int_equal(it_run(out, t, 1), IPSEC_OK);
    if (len <= m)
      assert_true(t->p.len <= link);
    else
      assert_true(t->p.len > link);
    it_pkt_free(t);
  }
  /* an ICMP report of 1400 on the path: later packets above m with DF are
   * refused, and told the MTU */
  ipsec_pmtu_update(o, 2, link);
  struct ipsec_sa_info si;
  ipsec_sa_info(o[1], &si);
  assert_int_equal(si.pmtu, link);
  ipsec_sa_info(o[0], &si);
  assert_true(si.pmtu < link);
  assert_int_equal(si.mtu, m);
  size_t n = it_build_ip(b, sizeof(b), 0, IPPROTO_UDP, 1, 2, m + 1 - 28, &rng, NULL, NULL);
  struct it_pkt *t = it_pkt_new(4096, 300, b, n);
  assert_int_equal(it_run(out, t, 1), IPSEC_DROP_TOOBIG);
  assert_int_equal(t->p.mtu, m);
  n = it_build_ip(b, sizeof(b), 0, IPPROTO_UDP, 1, 2, m - 28, &rng, NULL, NULL);
  it_pkt_reset(t, 300, b, n);
  assert_int_equal(it_run(out, t, 1), IPSEC_OK);
  assert_true(t->p.len <= link);
  it_pkt_free(t);
  /* overheads: ESP-GCM tunnel over IPv4 adds 20 + 8 + 8 + pad + 2 + 16 */
  assert_int_equal(ipsec_sa_overhead(o[0], 100), 20 + 8 + 8 + 2 + 2 + 16);
  ipsec_ctx_free(out);
}

static int batch_done;
static uint64_t batch_last;
static int batch_order_bad;
static void bdone(struct ipsec_pkt *p) {
  batch_done++;
  if (p->seq != batch_last + 1) batch_order_bad++;
  batch_last = p->seq;
}

static void t_batch(void **state) {
  (void)state;
  uint8_t key[64];
  ref_fill(&rng, key, sizeof(key));
  struct ipsec_ctx *c = it_ctx(0), *in = it_ctx(0);
  struct ipsec_sa *sa = add_sa(c, IPSEC_DIR_OUT, IPSEC_PROTO_ESP, IPSEC_MODE_TUNNEL, 0x777, key);
  struct ipsec_sa *isa = add_sa(in, IPSEC_DIR_IN, IPSEC_PROTO_ESP, IPSEC_MODE_TUNNEL, 0x777, key);
  (void)isa;
  add_pol(c, IPSEC_DIR_OUT, NULL, 0, 0, 0, IPSEC_ACT_PROTECT, &sa, 1, -1);
  enum { N = 100 };
  static struct ipsec_pkt pk[N];
  static uint8_t buf[N][512];
  struct ipsec_pkt *v[N];
  for (int i = 0; i < N; i++) {
    uint8_t b[256];
    size_t n = it_build_ip(b, sizeof(b), 0, IPPROTO_UDP, 1, 2, (size_t)i, &rng, NULL, NULL);
    memcpy(buf[i] + 128, b, n);
    ipsec_pkt_init(&pk[i], buf[i], sizeof(buf[i]), 128, n, bdone, NULL);
    v[i] = &pk[i];
  }
  v[60] = NULL;
  batch_done = 0;
  assert_int_equal(ipsec_output_batch(c, v, N), 60); /* stops at the NULL one */
  ipsec_ctx_drain(c);
  assert_int_equal(batch_done, 60);
  assert_int_equal(batch_order_bad, 0);
  /* and opened in a batch */
  batch_done = 0;
  for (int i = 0; i < 60; i++) pk[i].done = bdone;
  batch_last = 0;
  assert_int_equal(ipsec_input_batch(in, v, 60), 60);
  ipsec_ctx_drain(in);
  assert_int_equal(batch_done, 60);
  for (int i = 0; i < 60; i++) assert_int_equal(pk[i].verdict, IPSEC_OK);
  ipsec_ctx_free(c);
  ipsec_ctx_free(in);
}

static void t_room(void **state) {
  (void)state;
  uint8_t key[64];
  ref_fill(&rng, key, sizeof(key));
  struct ipsec_ctx *c = it_ctx(0);
  struct ipsec_sa *sa = add_sa(c, IPSEC_DIR_OUT, IPSEC_PROTO_ESP, IPSEC_MODE_TUNNEL, 0x666, key);
  struct ipsec_policy *pol =
      add_pol(c, IPSEC_DIR_OUT, NULL, 0, 0, 0, IPSEC_ACT_PROTECT, &sa, 1, -1);
  size_t head, tail;
  ipsec_policy_room(pol, &head, &tail);
  assert_int_equal(head, 20 + 8 + 8);
  assert_int_equal(tail, 3 + 2 + 16);
  uint8_t b[256];
  size_t n = it_build_ip(b, sizeof(b), 0, IPPROTO_UDP, 1, 2, 50, &rng, NULL, NULL);
  /* no headroom, room at the end: moved, and counted */
  struct it_pkt *t = it_pkt_new(n + head + tail, 0, b, n);
  assert_int_equal(it_run(c, t, 1), IPSEC_OK);
  struct ipsec_ctx_stats cs;
  ipsec_ctx_stats(c, &cs);
  assert_int_equal(cs.moved, 1);
  it_pkt_free(t);
  /* exactly the room needed: in place */
  t = it_pkt_new(n + head + tail, head, b, n);
  assert_int_equal(it_run(c, t, 1), IPSEC_OK);
  assert_int_equal(t->p.off, 0);
  it_pkt_free(t);
  /* one byte short: no room (this packet needs no padding: 78 + 2 is a
   * multiple of 4) */
  assert_int_equal((n + 2) % 4, 0);
  t = it_pkt_new(n + head + 2 + 16 - 1, head, b, n);
  assert_int_equal(it_run(c, t, 1), IPSEC_DROP_NOROOM);
  it_pkt_free(t);
  ipsec_ctx_free(c);
}

/* Arguments: every bad one refused with EINVAL (and a sentence), nothing
 * half-done. */
static void t_validation(void **state) {
  (void)state;
  struct ipsec_ctx *c = it_ctx(0);
  uint8_t key[64] = {1};
  char err[200];
  const struct ipsec_sa_params good = {.proto = IPSEC_PROTO_ESP,
                                       .dir = IPSEC_DIR_IN,
                                       .mode = IPSEC_MODE_TRANSPORT,
                                       .spi = 0x1000,
                                       .enc = IPSEC_ENC_AES_GCM_16,
                                       .enc_key = key,
                                       .enc_key_len = 20};
  struct ipsec_sa_params p;
  struct ipsec_sa *sa;
#define BAD(field_change)                                                 \
  do {                                                                    \
    p = good;                                                             \
    field_change;                                                         \
    err[0] = 0;                                                           \
    assert_int_equal(ipsec_sa_add(c, &p, &sa, err, sizeof(err)), EINVAL); \
    assert_true(strlen(err) > 10);                                        \
  } while (0)
  BAD(p.dir = 0);
  BAD(p.mode = 3);
  BAD(p.spi = 255);
  BAD(p.enc_key_len = 19);
  BAD(p.enc_key_len = 21);
  BAD(p.enc_key = NULL);
  BAD(p.enc = 99);
  BAD(p.auth = IPSEC_AUTH_HMAC_SHA1_96);          /* AEAD and a MAC */
  BAD(p.enc = IPSEC_ENC_NULL; p.enc_key_len = 0); /* NULL without a MAC */
  BAD(p.proto = IPSEC_PROTO_AH);                  /* AH with a cipher */
  BAD(p.proto = 77);
  BAD(p.flags = 0x80000);
  BAD(p.flags = IPSEC_SA_DF_SET | IPSEC_SA_DF_CLEAR);
  BAD(p.replay_window = 32);
  BAD(p.replay_window = 8192);
  BAD(p.mode = IPSEC_MODE_TUNNEL); /* no addresses */
  BAD(p.mode = IPSEC_MODE_TUNNEL; p.src = it_addr("10.0.0.1"); p.dst = it_addr("::1"));
  BAD(p.src.family = 7);
  BAD(p.pmtu = 40);
  BAD(p.proto = IPSEC_PROTO_IPCOMP; p.enc = 0; p.enc_key_len = 0; p.spi = 70000;
      p.comp = IPSEC_COMP_DEFLATE);
  BAD(p.proto = IPSEC_PROTO_IPCOMP; p.enc = 0; p.enc_key_len = 0; p.spi = 700);
  BAD(p.enc = IPSEC_ENC_AES_CBC; p.enc_key_len = 16; p.auth = IPSEC_AUTH_HMAC_SHA2_256_128;
      p.auth_key = key; p.auth_key_len = 20); /* SHA-256 wants 32 bytes */
#undef BAD
  assert_int_equal(ipsec_sa_add(c, &good, &sa, err, sizeof(err)), 0);
  /* the same SPI and destination twice */
  assert_int_equal(ipsec_sa_add(c, &good, &sa, err, sizeof(err)), EEXIST);
  assert_true(ipsec_sa_find(c, IPSEC_DIR_IN, IPSEC_PROTO_ESP, 0x1000, NULL) == sa);
  assert_null(ipsec_sa_find(c, IPSEC_DIR_OUT, IPSEC_PROTO_ESP, 0x1000, NULL));
  /* policies */
  struct ipsec_policy_params pp = {.dir = IPSEC_DIR_IN, .action = IPSEC_ACT_PROTECT};
  assert_int_equal(ipsec_policy_add(c, &pp, -1, NULL, err, sizeof(err)), EINVAL); /* no SA */
  pp.nsa = 1;
  pp.sa[0] = sa;
  pp.sel.src = it_addr("10.0.0.0");
  pp.sel.src_plen = 33;
  assert_int_equal(ipsec_policy_add(c, &pp, -1, NULL, err, sizeof(err)), EINVAL);
  pp.sel.src_plen = 8;
  pp.sel.dport_lo = 9;
  pp.sel.dport_hi = 8;
  assert_int_equal(ipsec_policy_add(c, &pp, -1, NULL, err, sizeof(err)), EINVAL);
  pp.sel.dport_hi = 9;
  pp.dir = IPSEC_DIR_OUT; /* an inbound SA on an outbound policy */
  assert_int_equal(ipsec_policy_add(c, &pp, -1, NULL, err, sizeof(err)), EINVAL);
  pp.dir = IPSEC_DIR_IN;
  assert_int_equal(ipsec_policy_add(c, &pp, -1, NULL, err, sizeof(err)), 0);
  /* a second selector for the same SA */
  pp.sel.dport_lo = pp.sel.dport_hi = 10;
  assert_int_equal(ipsec_policy_add(c, &pp, -1, NULL, err, sizeof(err)), 0);
  pp.action = IPSEC_ACT_BYPASS; /* a BYPASS policy names no SA */
  assert_int_equal(ipsec_policy_add(c, &pp, -1, NULL, err, sizeof(err)), EINVAL);
  /* packets: refused up front, done() not called */
  struct ipsec_pkt pk;
  uint8_t b[64];
  ipsec_pkt_init(&pk, b, sizeof(b), 10, 60, NULL, NULL);
  assert_int_equal(ipsec_output(c, &pk), EINVAL); /* no done */
  ipsec_pkt_init(&pk, b, sizeof(b), 10, 60, (ipsec_done_fn)abort, NULL);
  assert_int_equal(ipsec_input(c, &pk), EINVAL); /* past the end */
  assert_int_equal(ipsec_output(NULL, &pk), EINVAL);
  assert_int_equal(ipsec_output(c, NULL), EINVAL);
  /* contexts */
  struct ipsec_ctx_opts o = {.flags = 0x100};
  struct ipsec_ctx *x;
  assert_int_equal(ipsec_ctx_new(&o, &x), EINVAL);
  o = (struct ipsec_ctx_opts){.out_default = IPSEC_ACT_PROTECT};
  assert_int_equal(ipsec_ctx_new(&o, &x), EINVAL);
  o = (struct ipsec_ctx_opts){.ipcomp_max = 70000};
  assert_int_equal(ipsec_ctx_new(&o, &x), EINVAL);
  /* names and addresses */
  assert_string_equal(ipsec_enc_name(IPSEC_ENC_AES_GCM_16), "aes-gcm-16");
  assert_int_equal(ipsec_enc_byname("chacha20-poly1305"), IPSEC_ENC_CHACHA20_POLY1305);
  assert_int_equal(ipsec_auth_byname("hmac-sha2-256-128"), IPSEC_AUTH_HMAC_SHA2_256_128);
  assert_int_equal(ipsec_enc_byname("rot13"), -1);
  assert_string_equal(ipsec_verdict_name(IPSEC_DROP_REPLAY), "replay");
  assert_string_equal(ipsec_verdict_name(IPSEC_VERDICT__MAX), "?");
  struct ipsec_addr a;
  assert_int_equal(ipsec_addr_parse("2001:db8::1", &a), 0);
  char t[64];
  assert_string_equal(ipsec_addr_format(&a, t, sizeof(t)), "2001:db8::1");
  assert_int_equal(ipsec_addr_parse("300.1.1.1", &a), EINVAL);
  /* the report names the SA and policy */
  size_t need = ipsec_stats_text(c, NULL, 0);
  char *rep = malloc(need + 1);
  assert_int_equal(ipsec_stats_text(c, rep, need + 1), need);
  assert_non_null(strstr(rep, "spi 0x00001000"));
  assert_non_null(strstr(rep, "policy in #0 10.0.0.0/8"));
  assert_non_null(strstr(rep, "replay window 64"));
  free(rep);
  char small[16];
  assert_int_equal(ipsec_stats_text(c, small, sizeof(small)), need);
  assert_int_equal(strlen(small), 15);
  ipsec_ctx_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_spd_order),     cmocka_unit_test(t_spd_many),
      cmocka_unit_test(t_inbound_check), cmocka_unit_test(t_inbound_multi),
      cmocka_unit_test(t_nested),        cmocka_unit_test(t_pmtu),
      cmocka_unit_test(t_batch),         cmocka_unit_test(t_room),
      cmocka_unit_test(t_validation),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
