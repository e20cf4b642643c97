/* spd.c - the Security Policy Database: selectors, ordered policies (first
 * match wins), and the inbound check of what an SA carried. */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "ipsec/internal.h"

static int bad(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(char *errbuf, size_t errlen, const char *fmt, ...) {
  if (errbuf != NULL && errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
  }
  return EINVAL;
}

void ipsi_flow_of(const uint8_t *p, size_t len, const struct iph *h, struct flow *f) {
  f->src = h->src;
  f->dst = h->dst;
  f->proto = h->proto;
  f->ports = false;
  f->sport = f->dport = 0;
  if (h->later_frag) return;
  size_t end = h->tot < len ? h->tot : len;
  if (end < h->hlen + 4) return;
  const uint8_t *l4 = p + h->hlen;
  switch (h->proto) {
    case IPPROTO_TCP:
    case IPPROTO_UDP:
    case IPPROTO_SCTP:
    case IPPROTO_UDPLITE:
      f->sport = rd16(l4);
      f->dport = rd16(l4 + 2);
      f->ports = true;
      break;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6: /* type and code, as RFC 4301 4.4.1.1 */
      f->sport = l4[0];
      f->dport = l4[1];
      f->ports = true;
      break;
    default:
      break;
  }
}

static bool range_any(uint16_t lo, uint16_t hi) { return lo == 0 && hi == 0; }

bool ipsi_sel_match(const struct ipsec_selector *s, const struct flow *f) {
  if (!ipsi_addr_in_prefix(&f->src, &s->src, s->src_plen)) return false;
  if (!ipsi_addr_in_prefix(&f->dst, &s->dst, s->dst_plen)) return false;
  if (s->proto != 0 && s->proto != f->proto) return false;
  bool sany = range_any(s->sport_lo, s->sport_hi), dany = range_any(s->dport_lo, s->dport_hi);
  if (sany && dany) return true;
  if (!f->ports) return false;
  if (!sany && (f->sport < s->sport_lo || f->sport > s->sport_hi)) return false;
  if (!dany && (f->dport < s->dport_lo || f->dport > s->dport_hi)) return false;
  return true;
}

struct ipsec_policy *ipsi_spd_lookup(struct ipsec_ctx *ctx, enum ipsec_dir dir,
                                     const struct flow *f) {
  struct spd *t = spd_of(ctx, dir);
  if (t == NULL) return NULL;
  struct spd_index *ix = ipsi_spd_index_for(t);
  if (ix != NULL) return ipsi_spd_index_lookup(t, ix, f);
  for (int i = 0; i < t->n; i++)
    if (ipsi_sel_match(&t->p[i]->sel, f)) return t->p[i];
  return NULL;
}

void ipsi_spd_free(struct spd *t) {
  if (t == NULL) return;
  ipsi_spd_index_free(t);
  free(t);
}

/* A policy keeps its SAs alive: packets in flight under it reach them
 * through it. */
void ipsi_policy_free(struct ipsec_policy *p) {
  for (int i = 0; i < p->nsa; i++) ipsi_sa_unref(p->sa[i]);
  free(p);
}

void ipsi_pol_unref(struct ipsec_policy *p) {
  if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1) ipsi_policy_free(p);
}

static int check_sel(const struct ipsec_selector *s, char *eb, size_t el) {
  const struct ipsec_addr *a[2] = {&s->src, &s->dst};
  uint8_t pl[2] = {s->src_plen, s->dst_plen};
  for (int i = 0; i < 2; i++) {
    if (a[i]->family == 0) {
      if (pl[i] != 0) return bad(eb, el, "a prefix length on 'any' address");
    } else if (a[i]->family == AF_INET) {
      if (pl[i] > 32) return bad(eb, el, "IPv4 prefix length %u > 32", pl[i]);
    } else if (a[i]->family == AF_INET6) {
      if (pl[i] > 128) return bad(eb, el, "IPv6 prefix length %u > 128", pl[i]);
    } else {
      return bad(eb, el, "bad address family %u", a[i]->family);
    }
  }
  if (s->src.family && s->dst.family && s->src.family != s->dst.family)
    return bad(eb, el, "selector addresses of different families");
  if (s->sport_lo > s->sport_hi || s->dport_lo > s->dport_hi)
    return bad(eb, el, "port range with its low end above its high end");
  return 0;
}

/* Publishes a copy of the SPD with pol inserted at pos, or put in the place
 * of old when old is set, or with old removed when pol is NULL.  Called with
 * ctx->lock; the previous table goes to *prev, to be freed after a grace
 * period. */
static int spd_publish(struct ipsec_ctx *ctx, enum ipsec_dir dir, struct ipsec_policy *pol,
                       struct ipsec_policy *old, int pos, struct spd **prev) {
  struct spd *t = spd_of(ctx, dir);
  int n = t ? t->n : 0;
  int nn = pol == NULL ? n - 1 : old != NULL ? n : n + 1;
  struct spd *x = malloc(sizeof(*x) + (size_t)(nn > 0 ? nn : 1) * sizeof(x->p[0]));
  if (x == NULL) return ENOMEM;
  int j = 0;
  if (old != NULL) {
    for (int i = 0; i < n; i++)
      if (t->p[i] != old)
        x->p[j++] = t->p[i];
      else if (pol != NULL)
        x->p[j++] = pol;
  } else {
    if (pos < 0 || pos > n) pos = n;
    for (int i = 0; i < pos; i++) x->p[j++] = t->p[i];
    x->p[j++] = pol;
    for (int i = pos; i < n; i++) x->p[j++] = t->p[i];
  }
  x->n = j;
  atomic_init(&x->ix, NULL);
  atomic_init(&x->scans, 0);
  atomic_store_explicit(&ctx->spd[dir == IPSEC_DIR_IN], x, memory_order_release);
  *prev = t;
  return 0;
}

static bool in_spd(struct ipsec_ctx *ctx, const struct ipsec_policy *pol) {
  struct spd *t = spd_of(ctx, pol->dir);
  for (int i = 0; t != NULL && i < t->n; i++)
    if (t->p[i] == pol) return true;
  return false;
}

/* The SAs of pol leave it (ctx->lock held). */
static void unlink_sas(struct ipsec_policy *pol) {
  for (int i = 0; i < pol->nsa; i++) pol->sa[i]->npolicies--;
}

/* A change to the inbound policy sets of some SAs, prepared in full before
 * anything is published so that it cannot fail halfway. */
struct set_edit {
  struct ipsec_sa *sa;
  struct pol_set *next, *prev;
};
#define MAX_EDITS (2 * IPSEC_MAX_CHAIN)

static bool names_sa(const struct ipsec_policy *pol, const struct ipsec_sa *sa) {
  for (int i = 0; pol != NULL && i < pol->nsa; i++)
    if (pol->sa[i] == sa) return true;
  return false;
}

static void sets_abort(struct set_edit *e, int ne) {
  for (int j = 0; j < ne; j++) free(e[j].next);
}

/* Prepares the sets of the SAs of old and pol (inbound ones; either may be
 * NULL): old leaves them, pol joins them in old's place, or at the end.
 * ctx->lock held. */
static int sets_prepare(struct ipsec_policy *old, struct ipsec_policy *pol, struct set_edit *e,
                        int *ne) {
  *ne = 0;
  struct ipsec_policy *both[2] = {old, pol};
  for (int k = 0; k < 2; k++) {
    if (both[k] == NULL || both[k]->dir != IPSEC_DIR_IN) continue;
    for (int i = 0; i < both[k]->nsa; i++) {
      struct ipsec_sa *sa = both[k]->sa[i];
      bool seen = false;
      for (int j = 0; j < *ne; j++) seen |= e[j].sa == sa;
      if (seen) continue;
      bool join = names_sa(pol, sa) && pol->dir == IPSEC_DIR_IN;
      struct pol_set *cur = atomic_load_explicit(&sa->in_pols, memory_order_relaxed);
      int n = cur != NULL ? cur->n : 0, c = 0;
      struct pol_set *x = malloc(sizeof(*x) + (size_t)(n + 1) * sizeof(x->p[0]));
      if (x == NULL) {
        sets_abort(e, *ne);
        return ENOMEM;
      }
      for (int j = 0; j < n; j++) {
        if (old == NULL || cur->p[j] != old)
          x->p[c++] = cur->p[j];
        else if (join)
          x->p[c++] = pol, join = false;
      }
      if (join) x->p[c++] = pol;
      x->n = c;
      if (c == 0) {
        free(x);
        x = NULL;
      }
      e[(*ne)++] = (struct set_edit){sa, x, cur};
    }
  }
  return 0;
}

/* ctx->lock held; the previous sets go after a grace period (sets_retire). */
static void sets_publish(const struct set_edit *e, int ne) {
  for (int j = 0; j < ne; j++)
    atomic_store_explicit(&e[j].sa->in_pols, e[j].next, memory_order_release);
}

static void sets_retire(struct set_edit *e, int ne) {
  for (int j = 0; j < ne; j++) free(e[j].prev);
}

static struct ipsec_policy *make_policy(struct ipsec_ctx *ctx, const struct ipsec_policy_params *p,
                                        int *rc, char *eb, size_t el) {
  *rc = EINVAL;
  if (ctx == NULL || p == NULL) {
    bad(eb, el, "NULL context or parameters");
    return NULL;
  }
  if (p->dir != IPSEC_DIR_OUT && p->dir != IPSEC_DIR_IN) {
    bad(eb, el, "direction must be IPSEC_DIR_OUT or IPSEC_DIR_IN");
    return NULL;
  }
  if (check_sel(&p->sel, eb, el) != 0) return NULL;
  if (p->action != IPSEC_ACT_PROTECT && p->action != IPSEC_ACT_BYPASS &&
      p->action != IPSEC_ACT_DISCARD) {
    bad(eb, el, "unknown action %d", (int)p->action);
    return NULL;
  }
  if (p->action == IPSEC_ACT_PROTECT) {
    if (p->nsa < 1 || p->nsa > IPSEC_MAX_CHAIN) {
      bad(eb, el, "a protect policy names 1..%d SAs, not %d", IPSEC_MAX_CHAIN, p->nsa);
      return NULL;
    }
    for (int i = 0; i < p->nsa; i++) {
      if (p->sa[i] == NULL || p->sa[i]->ctx != ctx) {
        bad(eb, el, "SA %d is not valid", i);
        return NULL;
      }
      if (p->sa[i]->dir != p->dir) {
        bad(eb, el, "SA %#x is for the other direction", p->sa[i]->spi);
        return NULL;
      }
      for (int j = 0; j < i; j++)
        if (p->sa[j] == p->sa[i]) {
          bad(eb, el, "SA %#x named twice", p->sa[i]->spi);
          return NULL;
        }
    }
  } else if (p->nsa != 0) {
    bad(eb, el, "only protect policies name SAs");
    return NULL;
  }
  struct ipsec_policy *pol = calloc(1, sizeof(*pol));
  if (pol == NULL) {
    *rc = ENOMEM;
    return NULL;
  }
  pol->ctx = ctx;
  pol->dir = p->dir;
  pol->sel = p->sel;
  pol->action = p->action;
  pol->nsa = p->action == IPSEC_ACT_PROTECT ? p->nsa : 0;
  for (int i = 0; i < pol->nsa; i++) pol->sa[i] = p->sa[i];
  if (p->name != NULL) snprintf(pol->name, sizeof(pol->name), "%s", p->name);
  atomic_init(&pol->refs, 1);
  *rc = 0;
  return pol;
}

/* Enters p at pos, or in old's place (then old goes, its counters with it). */
static int policy_link(struct ipsec_ctx *ctx, const struct ipsec_policy_params *p, int pos,
                       struct ipsec_policy *old, struct ipsec_policy **out, char *eb, size_t el) {
  if (eb != NULL && el > 0) eb[0] = 0;
  int rc;
  struct ipsec_policy *pol = make_policy(ctx, p, &rc, eb, el);
  if (pol == NULL) return rc;
  pthread_mutex_lock(&ctx->lock);
  if (old != NULL && (old->ctx != ctx || !in_spd(ctx, old))) {
    pthread_mutex_unlock(&ctx->lock);
    free(pol);
    return ENOENT;
  }
  if (old != NULL && old->dir != pol->dir) {
    pthread_mutex_unlock(&ctx->lock);
    free(pol);
    return bad(eb, el, "the new policy is for the other direction");
  }
  for (int i = 0; i < pol->nsa; i++) {
    struct ipsec_sa *sa = pol->sa[i];
    if (!sa->in_table) {
      pthread_mutex_unlock(&ctx->lock);
      free(pol);
      return bad(eb, el, "SA %#x was deleted", sa->spi);
    }
  }
  struct set_edit e[MAX_EDITS];
  int ne = 0;
  struct spd *prev = NULL;
  rc = sets_prepare(old, pol, e, &ne);
  if (rc == 0) {
    rc = spd_publish(ctx, pol->dir, pol, old, pos, &prev);
    if (rc != 0) sets_abort(e, ne);
  }
  if (rc != 0) {
    pthread_mutex_unlock(&ctx->lock);
    free(pol);
    return rc;
  }
  if (old != NULL) unlink_sas(old);
  for (int i = 0; i < pol->nsa; i++) {
    ipsi_sa_ref(pol->sa[i]);
    pol->sa[i]->npolicies++;
  }
  sets_publish(e, ne);
  if (old == NULL) ctx->npol++;
  pthread_mutex_unlock(&ctx->lock);
  ipsi_rcu_synchronize();
  ipsi_spd_free(prev);
  sets_retire(e, ne);
  if (old != NULL) ipsi_pol_unref(old);
  if (out != NULL) *out = pol;
  return 0;
}

int ipsec_policy_add(struct ipsec_ctx *ctx, const struct ipsec_policy_params *p, int pos,
                     struct ipsec_policy **out, char *eb, size_t el) {
  return policy_link(ctx, p, pos, NULL, out, eb, el);
}

int ipsec_policy_replace(struct ipsec_ctx *ctx, struct ipsec_policy *old,
                         const struct ipsec_policy_params *p, struct ipsec_policy **out, char *eb,
                         size_t el) {
  if (old == NULL) return bad(eb, el, "no policy to replace");
  return policy_link(ctx, p, -1, old, out, eb, el);
}

int ipsec_policy_del(struct ipsec_ctx *ctx, struct ipsec_policy *pol) {
  if (ctx == NULL || pol == NULL || pol->ctx != ctx) return EINVAL;
  pthread_mutex_lock(&ctx->lock);
  if (!in_spd(ctx, pol)) {
    pthread_mutex_unlock(&ctx->lock);
    return ENOENT;
  }
  struct set_edit e[MAX_EDITS];
  int ne = 0;
  struct spd *prev = NULL;
  int rc = sets_prepare(pol, NULL, e, &ne);
  if (rc == 0) {
    rc = spd_publish(ctx, pol->dir, NULL, pol, -1, &prev);
    if (rc != 0) sets_abort(e, ne);
  }
  if (rc != 0) {
    pthread_mutex_unlock(&ctx->lock);
    return rc;
  }
  unlink_sas(pol);
  sets_publish(e, ne);
  ctx->npol--;
  pthread_mutex_unlock(&ctx->lock);
  ipsi_rcu_synchronize();
  ipsi_spd_free(prev);
  sets_retire(e, ne);
  ipsi_pol_unref(pol);
  return 0;
}

void ipsec_policy_room(const struct ipsec_policy *pol, size_t *head, size_t *tail) {
  size_t h = 0, t = 0;
  if (pol != NULL) {
    for (int i = 0; i < pol->nsa; i++) {
      size_t a = 0, b = 0;
      const struct ipsec_sa *sa = pol->sa[i];
      if (sa->proto == IPSEC_PROTO_ESP) {
        ipsi_esp_room(sa, &a, &b);
      } else if (sa->proto == IPSEC_PROTO_AH) {
        a = outer_len(sa) + ipsi_ah_len(sa, 6);
      } else {
        a = outer_len(sa) + IPCOMP_HLEN;
      }
      h += a;
      t += b;
    }
  }
  if (head) *head = h;
  if (tail) *tail = t;
}
