/* conf_sa.c - the SA blocks of the configuration file: "sa NAME {", one
 * keyword and its values per line, "}".  What only the library can judge
 * (key lengths, combinations) apply.c asks it, with the block's line. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipsecd/conf_int.h"

static int sa_key(struct pctx *pc, char **t, bool auth) {
  struct conf_sa *s = pc->cur;
  if (t[1][0] == '@') {
    pc->refs = realloc(pc->refs, (size_t)(pc->nrefs + 1) * sizeof(*pc->refs));
    if (pc->refs == NULL) return ENOMEM;
    struct keyref *r = &pc->refs[pc->nrefs++];
    r->sa = (int)(s - pc->c->sa);
    r->auth = auth;
    r->line = pc->line;
    if (strlen(t[1] + 1) == 0 || strlen(t[1] + 1) >= sizeof(r->name))
      return cf_fail(pc, "%s: key name after '@' must have 1..%d characters", t[0],
                     GW_NAME_LEN - 1);
    strcpy(r->name, t[1] + 1);
    return 0;
  }
  uint8_t *dst = auth ? s->auth_key : s->enc_key;
  int len = cf_parse_hex(t[1], dst, IPSEC_MAX_KEY);
  if (len < 0)
    return cf_fail(
        pc,
        "%s: '%s' is not a key: an even number of hexadecimal digits (at most %d bytes), "
        "or @NAME for a key in the keys file",
        t[0], t[1], IPSEC_MAX_KEY);
  if (auth)
    s->p.auth_key_len = (size_t)len;
  else
    s->p.enc_key_len = (size_t)len;
  if (!pc->inline_keys) pc->inline_line = pc->line;
  pc->inline_keys = true;
  explicit_bzero(t[1], strlen(t[1]));
  return 0;
}

static int sa_lifetime(struct pctx *pc, char **t, int n) {
  struct conf_sa *s = pc->cur;
  if (n < 4 || n % 2 != 0)
    return cf_fail(pc, "'lifetime' takes soft|hard then pairs of packets N, bytes N, seconds N");
  struct ipsec_lifetime *l;
  if (!strcmp(t[1], "soft"))
    l = &s->p.soft;
  else if (!strcmp(t[1], "hard"))
    l = &s->p.hard;
  else
    return cf_fail(pc, "lifetime: '%s' is neither soft nor hard", t[1]);
  for (int i = 2; i < n; i += 2) {
    int rc;
    if (!strcmp(t[i], "packets"))
      rc = cf_parse_count(t[i + 1], false, &l->packets);
    else if (!strcmp(t[i], "bytes"))
      rc = cf_parse_count(t[i + 1], true, &l->bytes);
    else if (!strcmp(t[i], "seconds") || !strcmp(t[i], "time"))
      rc = cf_parse_seconds(t[i + 1], &l->seconds);
    else
      return cf_fail(pc, "lifetime: unknown limit '%s' (packets, bytes or seconds)", t[i]);
    if (rc != 0)
      return cf_fail(pc, "lifetime %s: '%s' is not a count (digits, optional k/M/G%s)", t[i],
                     t[i + 1], !strcmp(t[i], "seconds") ? ", or s/m/h/d for seconds" : "");
  }
  return 0;
}

static const char *const sa_keywords =
    "dir, proto, mode, spi, src, dst, enc, enc-key, auth, auth-key, comp, comp-level, "
    "comp-threshold, encap, esn, replay-window, replay, df, padcheck, ttl, pmtu, lifetime, "
    "producer";

int cf_sa_stmt(struct pctx *pc, char **t, int n) {
  struct conf_sa *s = pc->cur;
  struct ipsec_sa_params *p = &s->p;
  const char *k = t[0];
  uint64_t v;
  bool b;
  int rc;
  if (!strcmp(k, "dir") || !strcmp(k, "direction")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "out or in")) != 0) return rc;
    if (!strcmp(t[1], "out"))
      p->dir = IPSEC_DIR_OUT;
    else if (!strcmp(t[1], "in"))
      p->dir = IPSEC_DIR_IN;
    else
      return cf_fail(pc, "dir: '%s' is neither out nor in", t[1]);
    s->have_dir = true;
  } else if (!strcmp(k, "proto")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "esp, ah or ipcomp")) != 0) return rc;
    if (!strcmp(t[1], "esp"))
      p->proto = IPSEC_PROTO_ESP;
    else if (!strcmp(t[1], "ah"))
      p->proto = IPSEC_PROTO_AH;
    else if (!strcmp(t[1], "ipcomp"))
      p->proto = IPSEC_PROTO_IPCOMP;
    else
      return cf_fail(pc, "proto: '%s' is not esp, ah or ipcomp", t[1]);
  } else if (!strcmp(k, "mode")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "tunnel or transport")) != 0) return rc;
    if (!strcmp(t[1], "tunnel"))
      p->mode = IPSEC_MODE_TUNNEL;
    else if (!strcmp(t[1], "transport"))
      p->mode = IPSEC_MODE_TRANSPORT;
    else
      return cf_fail(pc, "mode: '%s' is neither tunnel nor transport", t[1]);
  } else if (!strcmp(k, "spi") || !strcmp(k, "cpi")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "a number (0x... for hexadecimal)")) != 0) return rc;
    if (cf_parse_u64(t[1], UINT32_MAX, &v) != 0)
      return cf_fail(pc, "%s: '%s' is not a 32-bit number", k, t[1]);
    p->spi = (uint32_t)v;
    s->have_spi = true;
  } else if (!strcmp(k, "src") || !strcmp(k, "dst")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "an IPv4 or IPv6 address")) != 0) return rc;
    if (ipsec_addr_parse(t[1], k[0] == 's' ? &p->src : &p->dst) != 0)
      return cf_fail(pc, "%s: '%s' is not an IPv4 or IPv6 address", k, t[1]);
  } else if (!strcmp(k, "enc")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "a transform name")) != 0) return rc;
    int e = ipsec_enc_byname(t[1]);
    if (e < 0)
      return cf_fail(pc,
                     "enc: unknown transform '%s' (aes-gcm-16, aes-gcm-12, aes-gcm-8, "
                     "chacha20-poly1305, aes-cbc, aes-ctr, aes-ccm-16/12/8, null-aes-gmac, "
                     "3des-cbc, null)",
                     t[1]);
    p->enc = (enum ipsec_enc)e;
  } else if (!strcmp(k, "auth")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "a transform name")) != 0) return rc;
    int a = ipsec_auth_byname(t[1]);
    if (a < 0)
      return cf_fail(pc,
                     "auth: unknown transform '%s' (hmac-sha2-256-128, hmac-sha2-384-192, "
                     "hmac-sha2-512-256, hmac-sha1-96, hmac-md5-96, none)",
                     t[1]);
    p->auth = (enum ipsec_auth)a;
  } else if (!strcmp(k, "enc-key") || !strcmp(k, "auth-key")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "a hexadecimal key or @NAME")) != 0) return rc;
    return sa_key(pc, t, k[0] == 'a');
  } else if (!strcmp(k, "comp")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "deflate")) != 0) return rc;
    int c = ipsec_comp_byname(t[1]);
    if (c < 0) return cf_fail(pc, "comp: unknown algorithm '%s' (deflate)", t[1]);
    p->comp = (enum ipsec_comp)c;
  } else if (!strcmp(k, "comp-level")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "1..9")) != 0) return rc;
    if (cf_parse_u64(t[1], 9, &v) != 0 || v == 0)
      return cf_fail(pc, "comp-level: '%s' is not 1..9", t[1]);
    p->comp_level = (int)v;
  } else if (!strcmp(k, "comp-threshold")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "bytes")) != 0) return rc;
    if (cf_parse_u64(t[1], 65535, &v) != 0)
      return cf_fail(pc, "comp-threshold: '%s' is not 0..65535", t[1]);
    p->comp_threshold = (size_t)v;
  } else if (!strcmp(k, "encap")) {
    if ((rc = cf_want_args(pc, t, n, 1, 2, "udp [PEER-PORT] or none")) != 0) return rc;
    if (!strcmp(t[1], "udp")) {
      s->encap = GW_ENCAP_UDP;
      if (n == 3) {
        if (cf_parse_u64(t[2], 65535, &v) != 0 || v == 0)
          return cf_fail(pc, "encap udp: '%s' is not a port (1..65535)", t[2]);
        p->encap_dport = (uint16_t)v;
      }
    } else if (!strcmp(t[1], "none") || !strcmp(t[1], "raw")) {
      if (n == 3) return cf_fail(pc, "encap %s takes no port", t[1]);
      s->encap = GW_ENCAP_RAW;
    } else {
      return cf_fail(pc, "encap: '%s' is neither udp nor none", t[1]);
    }
  } else if (!strcmp(k, "esn")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "on or off")) != 0) return rc;
    if (cf_parse_bool(t[1], &b) != 0) return cf_fail(pc, "esn: '%s' is neither on nor off", t[1]);
    p->flags = b ? p->flags | IPSEC_SA_ESN : p->flags & ~IPSEC_SA_ESN;
  } else if (!strcmp(k, "replay-window")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "packets")) != 0) return rc;
    if (cf_parse_u64(t[1], IPSEC_REPLAY_MAX, &v) != 0 || v < IPSEC_REPLAY_MIN)
      return cf_fail(pc, "replay-window: '%s' is not %d..%d", t[1], IPSEC_REPLAY_MIN,
                     IPSEC_REPLAY_MAX);
    p->replay_window = (uint32_t)v;
  } else if (!strcmp(k, "replay")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "on or off")) != 0) return rc;
    if (cf_parse_bool(t[1], &b) != 0)
      return cf_fail(pc, "replay: '%s' is neither on nor off", t[1]);
    p->flags = b ? p->flags & ~IPSEC_SA_NO_REPLAY : p->flags | IPSEC_SA_NO_REPLAY;
  } else if (!strcmp(k, "df")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "copy, set or clear")) != 0) return rc;
    p->flags &= ~(unsigned)(IPSEC_SA_DF_SET | IPSEC_SA_DF_CLEAR);
    if (!strcmp(t[1], "set"))
      p->flags |= IPSEC_SA_DF_SET;
    else if (!strcmp(t[1], "clear"))
      p->flags |= IPSEC_SA_DF_CLEAR;
    else if (strcmp(t[1], "copy") != 0)
      return cf_fail(pc, "df: '%s' is not copy, set or clear", t[1]);
  } else if (!strcmp(k, "padcheck")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "on or off")) != 0) return rc;
    if (cf_parse_bool(t[1], &b) != 0)
      return cf_fail(pc, "padcheck: '%s' is neither on nor off", t[1]);
    p->flags = b ? p->flags & ~IPSEC_SA_NO_PADCHECK : p->flags | IPSEC_SA_NO_PADCHECK;
  } else if (!strcmp(k, "ttl")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "1..255")) != 0) return rc;
    if (cf_parse_u64(t[1], 255, &v) != 0 || v == 0)
      return cf_fail(pc, "ttl: '%s' is not 1..255", t[1]);
    p->ttl = (uint8_t)v;
  } else if (!strcmp(k, "pmtu")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "bytes")) != 0) return rc;
    if (cf_parse_u64(t[1], 65535, &v) != 0 || v < 576)
      return cf_fail(pc, "pmtu: '%s' is not 576..65535", t[1]);
    p->pmtu = (uint32_t)v;
  } else if (!strcmp(k, "lifetime")) {
    return sa_lifetime(pc, t, n);
  } else if (!strcmp(k, "producer")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "any, hardware or software")) != 0) return rc;
    if (!strcmp(t[1], "any"))
      p->ocf_flags = 0;
    else if (!strcmp(t[1], "hardware"))
      p->ocf_flags = OCF_SESS_HWONLY;
    else if (!strcmp(t[1], "software"))
      p->ocf_flags = OCF_SESS_SWONLY;
    else
      return cf_fail(pc, "producer: '%s' is not any, hardware or software", t[1]);
  } else {
    return cf_fail(pc, "unknown keyword '%s' in sa '%s' (one of: %s)", k, s->name, sa_keywords);
  }
  return 0;
}

int cf_sa_open(struct pctx *pc, char **t, int n) {
  struct conf *c = pc->c;
  if (n != 3 || strcmp(t[2], "{") != 0) return cf_fail(pc, "expected 'sa NAME {'");
  char name[GW_NAME_LEN];
  int rc = cf_parse_name(pc, "sa", t[1], name);
  if (rc != 0) return rc;
  for (int i = 0; i < c->nsa; i++)
    if (!strcmp(c->sa[i].name, name))
      return cf_fail(pc, "sa '%s' defined twice (first at line %d)", name, c->sa[i].line);
  if (c->nsa == MAX_SA) return cf_fail(pc, "more than %d SAs", MAX_SA);
  struct conf_sa *s = &c->sa[c->nsa++];
  memset(s, 0, sizeof(*s));
  strcpy(s->name, name);
  s->line = pc->line;
  s->p.proto = IPSEC_PROTO_ESP;
  s->p.mode = IPSEC_MODE_TUNNEL;
  pc->cur = s;
  return 0;
}

/* what the library cannot know: which fields a block must have */
int cf_sa_close(struct pctx *pc) {
  struct conf_sa *s = pc->cur;
  int line = pc->line;
  pc->line = s->line;
  pc->cur = NULL;
  if (!s->have_dir) return cf_fail(pc, "sa '%s' has no 'dir' (out or in)", s->name);
  if (!s->have_spi)
    return cf_fail(pc, "sa '%s' has no '%s'", s->name,
                   s->p.proto == IPSEC_PROTO_IPCOMP ? "cpi" : "spi");
  if (s->p.mode == IPSEC_MODE_TUNNEL && (s->p.src.family == 0 || s->p.dst.family == 0))
    return cf_fail(pc, "sa '%s' is a tunnel and needs both 'src' and 'dst'", s->name);
  if (s->p.mode == IPSEC_MODE_TRANSPORT && s->p.dir == IPSEC_DIR_OUT && s->p.dst.family == 0)
    return cf_fail(pc, "sa '%s': an outbound transport SA needs 'dst' (where to send)", s->name);
  if (s->p.proto == IPSEC_PROTO_ESP && s->p.enc == IPSEC_ENC_NONE)
    return cf_fail(pc,
                   "sa '%s' is ESP and has no 'enc' (use 'enc null' with 'auth' for "
                   "integrity only)",
                   s->name);
  if (s->p.proto != IPSEC_PROTO_ESP && s->encap == GW_ENCAP_UDP) s->encap = GW_ENCAP_RAW;
  pc->line = line;
  return 0;
}

bool conf_sa_equal(const struct conf_sa *a, const struct conf_sa *b) {
  const struct ipsec_sa_params *x = &a->p, *y = &b->p;
  return !strcmp(a->name, b->name) && a->encap == b->encap && x->proto == y->proto &&
         x->dir == y->dir && x->mode == y->mode && x->spi == y->spi &&
         !memcmp(&x->src, &y->src, sizeof(x->src)) && !memcmp(&x->dst, &y->dst, sizeof(x->dst)) &&
         x->enc == y->enc && x->enc_key_len == y->enc_key_len &&
         !memcmp(a->enc_key, b->enc_key, x->enc_key_len) && x->auth == y->auth &&
         x->auth_key_len == y->auth_key_len && !memcmp(a->auth_key, b->auth_key, x->auth_key_len) &&
         x->comp == y->comp && x->comp_level == y->comp_level &&
         x->comp_threshold == y->comp_threshold && x->flags == y->flags &&
         x->encap_sport == y->encap_sport && x->encap_dport == y->encap_dport &&
         x->replay_window == y->replay_window && !memcmp(&x->soft, &y->soft, sizeof(x->soft)) &&
         !memcmp(&x->hard, &y->hard, sizeof(x->hard)) && x->ttl == y->ttl && x->pmtu == y->pmtu &&
         x->ocf_flags == y->ocf_flags;
}
