/* ctx.c - contexts, statistics and reports. */
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ipsec/internal.h"

static const char *const vnames[IPSEC_VERDICT__MAX] = {
    [IPSEC_OK] = "ok",
    [IPSEC_BYPASS] = "bypass",
    [IPSEC_IKE] = "ike",
    [IPSEC_DROP_POLICY] = "policy",
    [IPSEC_DROP_NOSA] = "no-sa",
    [IPSEC_DROP_REPLAY] = "replay",
    [IPSEC_DROP_OLD] = "old",
    [IPSEC_DROP_AUTH] = "auth",
    [IPSEC_DROP_EXPIRED] = "expired",
    [IPSEC_DROP_TRUNCATED] = "truncated",
    [IPSEC_DROP_BADLEN] = "bad-length",
    [IPSEC_DROP_BADPAD] = "bad-padding",
    [IPSEC_DROP_BADNH] = "bad-next-header",
    [IPSEC_DROP_MALFORMED] = "malformed",
    [IPSEC_DROP_DECOMP] = "decompress",
    [IPSEC_DROP_TOOBIG] = "too-big",
    [IPSEC_DROP_NOROOM] = "no-room",
    [IPSEC_DROP_DUMMY] = "dummy",
    [IPSEC_DROP_KEEPALIVE] = "keepalive",
    [IPSEC_DROP_CRYPTO] = "crypto",
};

const char *ipsec_verdict_name(enum ipsec_verdict v) {
  return (unsigned)v < IPSEC_VERDICT__MAX && vnames[v] ? vnames[v] : "?";
}

void ipsi_acount_read(const struct acounters *c, struct ipsec_counters *out) {
  out->packets = atomic_load_explicit(&c->packets, memory_order_relaxed);
  out->bytes = atomic_load_explicit(&c->bytes, memory_order_relaxed);
  for (int i = 0; i < IPSEC_VERDICT__MAX; i++)
    out->drops[i] = atomic_load_explicit(&c->drops[i], memory_order_relaxed);
}

int ipsec_ctx_new(const struct ipsec_ctx_opts *opts, struct ipsec_ctx **out) {
  if (out == NULL) return EINVAL;
  *out = NULL;
  struct ipsec_ctx_opts o = {0};
  if (opts != NULL) o = *opts;
  unsigned known = IPSEC_CTX_NO_INLINE | IPSEC_CTX_CBIMM | IPSEC_CTX_DIRECT;
  if (o.flags & ~known) return EINVAL;
  if ((o.out_default != IPSEC_ACT_DISCARD && o.out_default != IPSEC_ACT_BYPASS) ||
      (o.in_default != IPSEC_ACT_DISCARD && o.in_default != IPSEC_ACT_BYPASS))
    return EINVAL;
  if (o.ipcomp_max != 0 && (o.ipcomp_max < 68 || o.ipcomp_max > 65535)) return EINVAL;
  struct ipsec_ctx *ctx = calloc(1, sizeof(*ctx));
  if (ctx == NULL) return ENOMEM;
  ctx->opts = o;
  ctx->direct = o.flags & IPSEC_CTX_DIRECT;
  ctx->req_flags = (o.flags & IPSEC_CTX_NO_INLINE ? OCF_REQ_ASYNC : OCF_REQ_INLINE) |
                   (o.flags & IPSEC_CTX_CBIMM ? OCF_REQ_CBIMM : 0);
  ctx->encap_port = o.encap_port ? o.encap_port : ENCAP_PORT;
  ctx->ipcomp_max = o.ipcomp_max ? o.ipcomp_max : 65535;
  pthread_mutex_init(&ctx->lock, NULL);
  atomic_flag_clear(&ctx->bk_lock.f);
  *out = ctx;
  return 0;
}

static long inflight(struct ipsec_ctx *ctx) {
  long n = 0;
  for (int i = 0; i < IPSEC_SHARDS; i++) n += atomic_load(&ctx->flight[i].n);
  return n;
}

void ipsec_ctx_drain(struct ipsec_ctx *ctx) {
  if (ctx == NULL) return;
  /* each slot only counts packets that started there, so once a slot was
   * seen at zero, every packet it counted before the call has finished */
  for (int i = 0; i < IPSEC_SHARDS; i++) {
    for (unsigned spins = 0; atomic_load_explicit(&ctx->flight[i].n, memory_order_acquire) > 0;
         spins++) {
      if (spins < 100) {
        sched_yield();
      } else {
        struct timespec ts = {0, 200 * 1000};
        nanosleep(&ts, NULL);
      }
    }
  }
}

void ipsec_ctx_free(struct ipsec_ctx *ctx) {
  if (ctx == NULL) return;
  ipsec_ctx_drain(ctx);
  for (int d = 0; d < 2; d++) {
    struct spd *t = atomic_load(&ctx->spd[d]);
    while (t != NULL && t->n > 0) {
      (void)ipsec_policy_del(ctx, t->p[0]);
      t = atomic_load(&ctx->spd[d]);
    }
    ipsi_spd_free(atomic_load(&ctx->spd[d]));
  }
  while (ctx->all != NULL) {
    if (ipsec_sa_del(ctx, ctx->all) != 0) break; /* cannot happen: no policies left */
  }
  free(ctx->kidx);
  void *b = ctx->bk_free;
  while (b != NULL) {
    void *n;
    memcpy(&n, b, sizeof(n));
    free(b);
    b = n;
  }
  pthread_mutex_destroy(&ctx->lock);
  free(ctx);
}

void ipsec_ctx_stats(struct ipsec_ctx *ctx, struct ipsec_ctx_stats *out) {
  if (ctx == NULL || out == NULL) return;
  memset(out, 0, sizeof(*out));
  pthread_mutex_lock(&ctx->lock);
  out->sas = ctx->nsa;
  out->policies = ctx->npol;
  pthread_mutex_unlock(&ctx->lock);
  long n = inflight(ctx);
  out->inflight = n > 0 ? (uint64_t)n : 0;
  out->moved = atomic_load(&ctx->moved);
  ipsi_acount_read(&ctx->out_c, &out->out);
  ipsi_acount_read(&ctx->in_c, &out->in);
}

void ipsec_sa_info(const struct ipsec_sa *csa, struct ipsec_sa_info *o) {
  if (csa == NULL || o == NULL) return;
  struct ipsec_sa *sa = (struct ipsec_sa *)csa; /* counters are atomics */
  memset(o, 0, sizeof(*o));
  snprintf(o->name, sizeof(o->name), "%s", sa->name);
  o->proto = sa->proto;
  o->dir = sa->dir;
  o->mode = sa->mode;
  o->spi = sa->spi;
  o->src = sa->src;
  o->dst = sa->dst;
  o->enc = sa->enc;
  o->auth = sa->auth;
  o->comp = sa->comp;
  o->flags = sa->flags;
  o->encap_sport = sa->sport;
  o->encap_dport = sa->dport;
  o->sid = atomic_load(&sa->sid);
  if (sa->ctx->direct)
    snprintf(o->producer, sizeof(o->producer), "openssl (direct)");
  else if (ocf_session_driver(o->sid, o->producer, sizeof(o->producer)) != 0)
    snprintf(o->producer, sizeof(o->producer), "?");
  if (sa->dir == IPSEC_DIR_OUT) {
    o->seq = atomic_load(&sa->seq_out);
  } else {
    ipsi_replay_snapshot(sa, &o->seq, &o->replay_bitmap);
    o->replay_window = sa->replay_bits;
  }
  o->soft = sa->soft;
  o->hard = sa->hard;
  ipsi_acount_read(&sa->c, &o->c);
  /* without limits nothing charges life_*: the counters say the same */
  o->used.packets = sa->limited ? atomic_load(&sa->life_packets) : o->c.packets;
  o->used.bytes = sa->limited ? atomic_load(&sa->life_bytes) : o->c.bytes;
  o->used.seconds = (ipsi_now_ns() - sa->created_ns) / 1000000000u;
  o->soft_expired = atomic_load(&sa->soft_fired);
  o->hard_expired = atomic_load(&sa->hard_fired);
  o->pmtu = atomic_load(&sa->pmtu);
  o->mtu = atomic_load(&sa->mtu);
  o->resubmits = atomic_load(&sa->resubmits);
  o->reorder_held = atomic_load(&sa->reorder_held);
  o->uncompressed = atomic_load(&sa->uncompressed);
  o->refs = atomic_load(&sa->refs);
}

void ipsec_policy_info(const struct ipsec_policy *cpol, struct ipsec_policy_info *o) {
  if (cpol == NULL || o == NULL) return;
  struct ipsec_policy *pol = (struct ipsec_policy *)cpol;
  memset(o, 0, sizeof(*o));
  snprintf(o->name, sizeof(o->name), "%s", pol->name);
  o->dir = pol->dir;
  o->action = pol->action;
  o->sel = pol->sel;
  o->nsa = pol->nsa;
  for (int i = 0; i < pol->nsa; i++) o->spi[i] = pol->sa[i]->spi;
  o->index = -1;
  ipsi_rcu_read_lock();
  struct spd *t = spd_of(pol->ctx, pol->dir);
  for (int i = 0; t != NULL && i < t->n; i++)
    if (t->p[i] == pol) o->index = i;
  ipsi_rcu_read_unlock();
  ipsi_acount_read(&pol->c, &o->c);
}

int ipsec_sa_foreach(struct ipsec_ctx *ctx, void (*fn)(void *, struct ipsec_sa *), void *arg) {
  if (ctx == NULL || fn == NULL) return 0;
  int n = 0;
  pthread_mutex_lock(&ctx->lock);
  for (int dir = IPSEC_DIR_OUT; dir <= IPSEC_DIR_IN; dir++) {
    /* the list is newest first: collect, then visit oldest first */
    size_t cnt = 0;
    for (struct ipsec_sa *sa = ctx->all; sa != NULL; sa = sa->lnext) cnt += (int)sa->dir == dir;
    struct ipsec_sa **v = cnt ? malloc(cnt * sizeof(*v)) : NULL;
    size_t k = 0;
    for (struct ipsec_sa *sa = ctx->all; sa != NULL && v != NULL; sa = sa->lnext)
      if (sa->dir == (enum ipsec_dir)dir) v[k++] = sa;
    for (size_t i = k; i > 0; i--, n++) fn(arg, v[i - 1]);
    free(v);
  }
  pthread_mutex_unlock(&ctx->lock);
  return n;
}

int ipsec_policy_foreach(struct ipsec_ctx *ctx, void (*fn)(void *, struct ipsec_policy *),
                         void *arg) {
  if (ctx == NULL || fn == NULL) return 0;
  int n = 0;
  pthread_mutex_lock(&ctx->lock);
  for (int d = 0; d < 2; d++) {
    struct spd *t = atomic_load(&ctx->spd[d]);
    for (int i = 0; t != NULL && i < t->n; i++, n++) fn(arg, t->p[i]);
  }
  pthread_mutex_unlock(&ctx->lock);
  return n;
}

/* --- the text report ------------------------------------------------------------ */

struct out {
  char *buf;
  size_t len, need;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t room = o->need < o->len ? o->len - o->need : 0;
  int n = vsnprintf(room ? o->buf + o->need : NULL, room, fmt, ap);
  va_end(ap);
  if (n > 0) o->need += (size_t)n;
}

static void put_counters(struct out *o, const struct ipsec_counters *c) {
  put(o, "    packets %llu bytes %llu", (unsigned long long)c->packets,
      (unsigned long long)c->bytes);
  bool any = false;
  for (int v = 0; v < IPSEC_VERDICT__MAX; v++) {
    if (c->drops[v] == 0) continue;
    put(o, "%s %s %llu", any ? "" : "\n    drops:", ipsec_verdict_name((enum ipsec_verdict)v),
        (unsigned long long)c->drops[v]);
    any = true;
  }
  put(o, "\n");
}

static void put_life(struct out *o, const char *what, const struct ipsec_lifetime *l) {
  if (!l->packets && !l->bytes && !l->seconds) return;
  put(o, "    %s:", what);
  if (l->packets) put(o, " packets %llu", (unsigned long long)l->packets);
  if (l->bytes) put(o, " bytes %llu", (unsigned long long)l->bytes);
  if (l->seconds) put(o, " seconds %llu", (unsigned long long)l->seconds);
  put(o, "\n");
}

static void sa_text(void *arg, struct ipsec_sa *sa) {
  struct out *o = arg;
  struct ipsec_sa_info i;
  char s[64], d[64];
  ipsec_sa_info(sa, &i);
  put(o, "sa %s %s spi 0x%08x %s %s -> %s%s%s\n", i.dir == IPSEC_DIR_OUT ? "out" : "in",
      i.proto == IPSEC_PROTO_ESP  ? "esp"
      : i.proto == IPSEC_PROTO_AH ? "ah"
                                  : "ipcomp",
      i.spi, i.mode == IPSEC_MODE_TUNNEL ? "tunnel" : "transport",
      ipsec_addr_format(&i.src, s, sizeof(s)), ipsec_addr_format(&i.dst, d, sizeof(d)),
      i.name[0] ? " name " : "", i.name);
  put(o, "    %s%s%s%s%s producer %s\n",
      i.proto == IPSEC_PROTO_IPCOMP ? ipsec_comp_name(i.comp) : ipsec_enc_name(i.enc),
      i.auth ? " " : "", i.auth ? ipsec_auth_name(i.auth) : "",
      i.flags & IPSEC_SA_ESN ? " esn" : "", i.flags & IPSEC_SA_UDP_ENCAP ? " udp-encap" : "",
      i.producer);
  if (i.resubmits)
    put(o, "    resubmitted after migration %llu\n", (unsigned long long)i.resubmits);
  if (i.dir == IPSEC_DIR_OUT)
    put(o, "    seq %llu pmtu %u mtu %u reordered %llu\n", (unsigned long long)i.seq, i.pmtu, i.mtu,
        (unsigned long long)i.reorder_held);
  else if (i.proto != IPSEC_PROTO_IPCOMP)
    put(o, "    replay window %u top %llu bitmap %016llx\n", i.replay_window,
        (unsigned long long)i.seq, (unsigned long long)i.replay_bitmap);
  if (i.proto == IPSEC_PROTO_IPCOMP)
    put(o, "    sent or received uncompressed %llu\n", (unsigned long long)i.uncompressed);
  put(o, "    lifetime used: packets %llu bytes %llu seconds %llu%s%s\n",
      (unsigned long long)i.used.packets, (unsigned long long)i.used.bytes,
      (unsigned long long)i.used.seconds, i.soft_expired ? " (soft expired)" : "",
      i.hard_expired ? " (HARD EXPIRED)" : "");
  put_life(o, "soft limit", &i.soft);
  put_life(o, "hard limit", &i.hard);
  put_counters(o, &i.c);
}

static void sel_text(struct out *o, const struct ipsec_selector *s) {
  char a[64], b[64];
  put(o, "%s/%u -> %s/%u", ipsec_addr_format(&s->src, a, sizeof(a)), s->src_plen,
      ipsec_addr_format(&s->dst, b, sizeof(b)), s->dst_plen);
  if (s->proto) put(o, " proto %u", s->proto);
  if (s->sport_lo || s->sport_hi) put(o, " sport %u-%u", s->sport_lo, s->sport_hi);
  if (s->dport_lo || s->dport_hi) put(o, " dport %u-%u", s->dport_lo, s->dport_hi);
}

static void pol_text(void *arg, struct ipsec_policy *pol) {
  struct out *o = arg;
  struct ipsec_policy_info i;
  ipsec_policy_info(pol, &i);
  put(o, "policy %s #%d ", i.dir == IPSEC_DIR_OUT ? "out" : "in", i.index);
  sel_text(o, &i.sel);
  put(o, " %s",
      i.action == IPSEC_ACT_PROTECT  ? "protect"
      : i.action == IPSEC_ACT_BYPASS ? "bypass"
                                     : "discard");
  for (int k = 0; k < i.nsa; k++) put(o, " 0x%08x", i.spi[k]);
  if (i.name[0]) put(o, " name %s", i.name);
  put(o, "\n");
  put_counters(o, &i.c);
}

size_t ipsec_stats_text(struct ipsec_ctx *ctx, char *buf, size_t len) {
  struct out o = {buf, len, 0};
  if (buf != NULL && len > 0) buf[0] = 0;
  if (ctx == NULL) return 0;
  ipsec_sa_foreach(ctx, sa_text, &o);
  ipsec_policy_foreach(ctx, pol_text, &o);
  struct ipsec_ctx_stats st;
  ipsec_ctx_stats(ctx, &st);
  put(&o, "context: %llu SAs, %llu policies, %llu packets in flight, %llu moved in their buffer\n",
      (unsigned long long)st.sas, (unsigned long long)st.policies, (unsigned long long)st.inflight,
      (unsigned long long)st.moved);
  put(&o, "  outbound without a policy:\n");
  put_counters(&o, &st.out);
  put(&o, "  inbound without an SA or policy:\n");
  put_counters(&o, &st.in);
  if (buf != NULL && len > 0 && o.need >= len) buf[len - 1] = 0;
  return o.need;
}
