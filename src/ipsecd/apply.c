/* apply.c - a parsed configuration becomes SAs and policies.
 *
 * Reload (SIGHUP) keeps every SA whose block did not change: same object,
 * so its sequence numbers, replay window, counters and session survive and
 * its traffic never stops.  New outbound policies go in front of the old
 * ones before the old ones are removed, so a packet always finds a policy
 * (inbound too: an SA may be named by several inbound policies).  The
 * one gap is an inbound SA whose parameters changed but whose SPI and
 * destination did not: the library cannot hold both, so the old one goes
 * before the new one comes, and packets in between find no SA (counted as
 * "nosa").  Changing the keys of a running SA needs new SPIs to avoid it,
 * as with any manual keying. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipsecd/ipsecd.h"

static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER; /* g->tab pointer for events */

static void policy_params(const struct conf_pol *po, struct ipsec_sa *const *sas,
                          struct ipsec_policy_params *out) {
  *out = po->p;
  out->name = po->name;
  for (int i = 0; i < po->p.nsa; i++) out->sa[i] = sas[po->sa[i]];
}

int gw_validate(const struct conf *c, bool direct, char *err, size_t errlen) {
  /* a context of its own: on the running framework the producers that will
   * serve the SAs judge them too (a hardware-only SA without a card fails
   * here); direct, only the library does */
  struct ipsec_ctx_opts o = {.flags = direct ? IPSEC_CTX_DIRECT : 0};
  struct ipsec_ctx *ctx;
  int rc = ipsec_ctx_new(&o, &ctx);
  if (rc != 0) {
    snprintf(err, errlen, "cannot create a context: %s", strerror(rc));
    return rc;
  }
  struct ipsec_sa **sas = calloc((size_t)c->nsa + 1, sizeof(*sas));
  if (sas == NULL) {
    ipsec_ctx_free(ctx);
    return ENOMEM;
  }
  char why[256];
  for (int i = 0; rc == 0 && i < c->nsa; i++) {
    const struct conf_sa *s = &c->sa[i];
    why[0] = '\0';
    rc = ipsec_sa_add(ctx, &s->p, &sas[i], why, sizeof(why));
    if (rc == EEXIST) {
      int first = 0;
      for (int j = 0; j < i; j++)
        if (c->sa[j].p.dir == s->p.dir && c->sa[j].p.spi == s->p.spi &&
            c->sa[j].p.proto == s->p.proto)
          first = c->sa[j].line;
      snprintf(err, errlen,
               "%s:%d: sa '%s': an inbound SA with spi %#x and this destination is "
               "already defined (line %d)",
               c->path, s->line, s->name, s->p.spi, first);
    } else if (rc != 0) {
      snprintf(err, errlen, "%s:%d: sa '%s': %s", c->path, s->line, s->name,
               why[0] ? why : strerror(rc));
    }
  }
  for (int i = 0; rc == 0 && i < c->npol; i++) {
    const struct conf_pol *po = &c->pol[i];
    struct ipsec_policy_params pp;
    policy_params(po, sas, &pp);
    why[0] = '\0';
    rc = ipsec_policy_add(ctx, &pp, -1, NULL, why, sizeof(why));
    if (rc != 0)
      snprintf(err, errlen, "%s:%d: policy '%s': %s", c->path, po->line, po->name,
               why[0] ? why : strerror(rc));
  }
  /* an SA no policy uses carries nothing outbound: worth a word */
  for (int i = 0; rc == 0 && i < c->nsa; i++) {
    bool used = false;
    for (int j = 0; j < c->npol && !used; j++)
      for (int k = 0; k < c->pol[j].p.nsa; k++) used |= c->pol[j].sa[k] == i;
    if (!used && c->sa[i].p.dir == IPSEC_DIR_OUT)
      gw_log(1, "%s:%d: sa '%s' is outbound but no policy uses it", c->path, c->sa[i].line,
             c->sa[i].name);
  }
  ipsec_ctx_free(ctx);
  free(sas);
  return rc;
}

/* --- applying ------------------------------------------------------------------- */

static struct gw_sa *find_kept(struct gw_tables *old, const struct conf_sa *s) {
  for (int i = 0; i < old->nsa; i++)
    if (old->sa[i] != NULL && conf_sa_equal(&old->sa[i]->c, s)) return old->sa[i];
  return NULL;
}

/* two inbound SAs the library would not hold at once */
static bool collide(const struct conf_sa *a, const struct conf_sa *b) {
  return a->p.dir == IPSEC_DIR_IN && b->p.dir == IPSEC_DIR_IN && a->p.proto == b->p.proto &&
         a->p.spi == b->p.spi &&
         (a->p.dst.family == 0 || b->p.dst.family == 0 ||
          !memcmp(&a->p.dst, &b->p.dst, sizeof(a->p.dst)));
}

static int add_sa(struct gw *g, struct gw_sa *gs, char *err, size_t errlen, const char *path) {
  char why[256] = "";
  gs->c.p.name = gs->c.name;
  gs->c.p.enc_key = gs->c.enc_key;
  gs->c.p.auth_key = gs->c.auth_key;
  int rc = ipsec_sa_add(g->ctx, &gs->c.p, &gs->sa, why, sizeof(why));
  if (rc != 0)
    snprintf(err, errlen, "%s:%d: sa '%s': %s", path, gs->c.line, gs->c.name,
             why[0] ? why : strerror(rc));
  return rc;
}

static void free_gsa(struct gw_sa *gs) {
  if (gs == NULL) return;
  explicit_bzero(gs, sizeof(*gs));
  free(gs);
}

/* the old policy list is the same as the new one, SA for SA */
static bool same_policies(const struct conf *oc, const struct gw_tables *ot, const struct conf *nc,
                          struct gw_sa *const *nsa) {
  if (oc == NULL || oc->npol != nc->npol || ot->npol != nc->npol) return false;
  for (int i = 0; i < nc->npol; i++) {
    const struct conf_pol *a = &oc->pol[i], *b = &nc->pol[i];
    if (strcmp(a->name, b->name) != 0 || a->p.dir != b->p.dir || a->p.action != b->p.action ||
        a->p.nsa != b->p.nsa || memcmp(&a->p.sel, &b->p.sel, sizeof(a->p.sel)) != 0)
      return false;
    for (int k = 0; k < b->p.nsa; k++)
      if (ot->sa[a->sa[k]] != nsa[b->sa[k]]) return false;
  }
  return true;
}

/* --- policies as the library holds them ----------------------------------------- */

/* Installs the policies of direction dir in file order: the ones not
 * deferred (first pass), or only the deferred ones at their places (second
 * pass, when every other one of the file is in). */
static void install_dir(struct gw *g, const struct conf *c, enum ipsec_dir dir,
                        struct ipsec_sa *const *raw, const bool *deferred, bool second,
                        struct ipsec_policy **out) {
  int pos = 0;
  for (int i = 0; i < c->npol; i++) {
    const struct conf_pol *po = &c->pol[i];
    if (po->p.dir != dir) continue;
    struct ipsec_policy_params pp;
    if (deferred[i] == second) {
      policy_params(po, raw, &pp);
      bool ok = true;
      for (int k = 0; k < pp.nsa; k++) ok &= pp.sa[k] != NULL;
      char why[256] = "";
      int r = ok ? ipsec_policy_add(g->ctx, &pp, pos, &out[i], why, sizeof(why)) : ENOENT;
      if (r != 0) {
        out[i] = NULL;
        gw_log(0, "%s:%d: policy '%s' not installed: %s", c->path, po->line, po->name,
               why[0] ? why
               : ok   ? strerror(r)
                      : "an SA it names is missing");
      }
    }
    if (out[i] != NULL) pos++;
  }
}

static void remove_dir(struct gw *g, struct gw_tables *old, enum ipsec_dir dir) {
  for (int j = 0; j < old->npol; j++) {
    if (old->pol[j] == NULL || g->conf->pol[j].p.dir != dir) continue;
    ipsec_policy_del(g->ctx, old->pol[j]);
    old->pol[j] = NULL;
  }
}

int gw_apply(struct gw *g, struct conf *c, char *err, size_t errlen) {
  struct gw_tables old = g->tab, nt = {0};
  nt.sa = calloc((size_t)c->nsa + 1, sizeof(*nt.sa));
  nt.nsa = c->nsa;
  nt.pol = calloc((size_t)c->npol + 1, sizeof(*nt.pol));
  bool *kept_old = calloc((size_t)old.nsa + 1, sizeof(bool));
  bool *later = calloc((size_t)c->nsa + 1, sizeof(bool)); /* N2: after the old one goes */
  bool *added = calloc((size_t)c->nsa + 1, sizeof(bool));
  bool *deferred = calloc((size_t)c->npol + 1, sizeof(bool));
  int rc = 0;
  if (!nt.sa || !nt.pol || !kept_old || !later || !added || !deferred) {
    rc = ENOMEM;
    snprintf(err, errlen, "out of memory");
    goto out;
  }
  /* which SAs stay */
  int kept = 0;
  for (int i = 0; i < c->nsa; i++) {
    struct gw_sa *k = find_kept(&old, &c->sa[i]);
    if (k != NULL) {
      nt.sa[i] = k;
      for (int j = 0; j < old.nsa; j++)
        if (old.sa[j] == k) kept_old[j] = true;
      kept++;
    }
  }
  /* the new ones, except those that must wait for an old one to go */
  for (int i = 0; i < c->nsa && rc == 0; i++) {
    if (nt.sa[i] != NULL) continue;
    for (int j = 0; j < old.nsa; j++)
      if (!kept_old[j] && collide(&old.sa[j]->c, &c->sa[i])) later[i] = true;
    nt.sa[i] = calloc(1, sizeof(*nt.sa[i]));
    if (nt.sa[i] == NULL) {
      rc = ENOMEM;
      break;
    }
    nt.sa[i]->c = c->sa[i];
    if (!later[i]) {
      rc = add_sa(g, nt.sa[i], err, errlen, c->path);
      added[i] = rc == 0;
    }
  }
  if (rc != 0) { /* nothing in force has changed yet: undo the additions */
    for (int i = 0; i < c->nsa; i++) {
      if (added[i]) ipsec_sa_del(g->ctx, nt.sa[i]->sa);
      if (nt.sa[i] != NULL && !(nt.sa[i] == find_kept(&old, &c->sa[i]))) free_gsa(nt.sa[i]);
    }
    goto out;
  }
  struct ipsec_sa **raw = calloc((size_t)c->nsa + 1, sizeof(*raw));
  if (raw == NULL) {
    rc = ENOMEM;
    goto out;
  }
  for (int i = 0; i < c->nsa; i++) raw[i] = nt.sa[i]->sa;
  bool samep = same_policies(g->conf, &old, c, nt.sa);
  if (samep) {
    memcpy(nt.pol, old.pol, (size_t)old.npol * sizeof(*nt.pol));
    nt.npol = old.npol;
    old.npol = 0;
  } else {
    nt.npol = c->npol;
    for (int i = 0; i < c->npol; i++)
      for (int k = 0; k < c->pol[i].p.nsa; k++) deferred[i] |= later[c->pol[i].sa[k]];
    /* the new policies go in front, then the old ones go: a packet always
     * finds one, and an inbound SA is checked all along (it may be named by
     * several policies at once) */
    install_dir(g, c, IPSEC_DIR_OUT, raw, deferred, false, nt.pol);
    install_dir(g, c, IPSEC_DIR_IN, raw, deferred, false, nt.pol);
    remove_dir(g, &old, IPSEC_DIR_OUT);
    remove_dir(g, &old, IPSEC_DIR_IN);
  }
  /* the SAs that went or changed */
  for (int j = 0; j < old.nsa; j++) {
    if (kept_old[j]) continue;
    int r = ipsec_sa_del(g->ctx, old.sa[j]->sa);
    if (r != 0) gw_log(0, "sa '%s' could not be removed: %s", old.sa[j]->c.name, strerror(r));
  }
  /* then those that had to wait, and their policies */
  for (int i = 0; i < c->nsa; i++) {
    if (!later[i]) continue;
    int r = add_sa(g, nt.sa[i], err, errlen, c->path);
    if (r != 0) gw_log(0, "%s", err);
    raw[i] = nt.sa[i]->sa;
  }
  if (!samep) {
    install_dir(g, c, IPSEC_DIR_OUT, raw, deferred, true, nt.pol);
    install_dir(g, c, IPSEC_DIR_IN, raw, deferred, true, nt.pol);
  }
  free(raw);
  pthread_mutex_lock(&ev_lock);
  g->tab = nt;
  pthread_mutex_unlock(&ev_lock);
  for (int j = 0; j < old.nsa; j++)
    if (!kept_old[j]) free_gsa(old.sa[j]);
  free(old.sa);
  free(old.pol);
  nt.sa = NULL;
  nt.pol = NULL;
  struct conf *prev = g->conf;
  g->conf = c;
  conf_free(prev);
  gw_log(2, "%s: %d SAs (%d kept as they were), %d policies", c->path, c->nsa, kept, c->npol);
  rc = 0;
out:
  free(nt.sa);
  free(nt.pol);
  free(kept_old);
  free(later);
  free(added);
  free(deferred);
  return rc;
}

void gw_tables_free(struct gw *g) {
  pthread_mutex_lock(&ev_lock);
  struct gw_tables t = g->tab;
  memset(&g->tab, 0, sizeof(g->tab));
  pthread_mutex_unlock(&ev_lock);
  for (int i = 0; i < t.npol; i++)
    if (t.pol[i] != NULL) ipsec_policy_del(g->ctx, t.pol[i]);
  for (int i = 0; i < t.nsa; i++) {
    if (t.sa[i] != NULL && t.sa[i]->sa != NULL) ipsec_sa_del(g->ctx, t.sa[i]->sa);
    free_gsa(t.sa[i]);
  }
  free(t.sa);
  free(t.pol);
}

uint32_t gw_tun_mtu(struct gw *g) {
  if (g->conf->mtu != 0) return g->conf->mtu;
  uint32_t best = 0;
  for (int i = 0; i < g->tab.npol && i < g->conf->npol; i++) {
    const struct conf_pol *po = &g->conf->pol[i];
    if (po->p.dir != IPSEC_DIR_OUT || po->p.action != IPSEC_ACT_PROTECT) continue;
    struct ipsec_sa *chain[IPSEC_MAX_CHAIN];
    bool ok = true;
    for (int k = 0; k < po->p.nsa; k++) {
      chain[k] = g->tab.sa[po->sa[k]]->sa;
      ok &= chain[k] != NULL;
    }
    if (!ok) continue;
    uint32_t m = ipsec_chain_mtu(chain, po->p.nsa, 0);
    if (m != 0 && (best == 0 || m < best)) best = m;
  }
  if (best == 0) best = g->conf->link_mtu > 100 ? g->conf->link_mtu - 100 : 576;
  /* IPv6 needs 1280 on every link: below that the kernel drops IPv6 from the
   * device, so say so rather than lose it silently */
  if (best < 1280) gw_log(1, "tunnel MTU %u is below IPv6's minimum of 1280", best);
  return best;
}

/* --- lifetimes ----------------------------------------------------------------- */

static void log_life(const struct ipsec_sa_info *i, bool hard) {
  const struct ipsec_lifetime *l = hard ? &i->hard : &i->soft;
  char lim[160] = "", *p = lim;
  size_t left = sizeof(lim);
  int n;
  if (l->packets &&
      (n = snprintf(p, left, " packets %llu/%llu", (unsigned long long)i->used.packets,
                    (unsigned long long)l->packets)) > 0 &&
      (size_t)n < left)
    p += n, left -= (size_t)n;
  if (l->bytes &&
      (n = snprintf(p, left, " bytes %llu/%llu", (unsigned long long)i->used.bytes,
                    (unsigned long long)l->bytes)) > 0 &&
      (size_t)n < left)
    p += n, left -= (size_t)n;
  if (l->seconds)
    snprintf(p, left, " seconds %llu/%llu", (unsigned long long)i->used.seconds,
             (unsigned long long)l->seconds);
  if (hard)
    gw_log(1,
           "sa '%s' (spi %#x, %s) reached its HARD lifetime (%s ): it now drops every packet; "
           "install new SAs (no IKE: rekeying is manual)",
           i->name, i->spi, i->dir == IPSEC_DIR_OUT ? "out" : "in", lim);
  else
    gw_log(2,
           "sa '%s' (spi %#x, %s) reached its soft lifetime (%s ): replace it before the "
           "hard limit",
           i->name, i->spi, i->dir == IPSEC_DIR_OUT ? "out" : "in", lim);
}

static struct gw_sa *gsa_of(struct gw *g, struct ipsec_sa *sa) {
  for (int i = 0; i < g->tab.nsa; i++)
    if (g->tab.sa[i] != NULL && g->tab.sa[i]->sa == sa) return g->tab.sa[i];
  return NULL;
}

void gw_event(void *arg, struct ipsec_sa *sa, enum ipsec_event ev) {
  struct gw *g = arg;
  if (ev == IPSEC_EV_MIGRATED) {
    struct ipsec_sa_info i;
    ipsec_sa_info(sa, &i);
    gw_log(2, "sa '%s' (spi %#x) moved to producer %s", i.name, i.spi, i.producer);
    return;
  }
  bool hard = ev == IPSEC_EV_HARD_EXPIRED;
  pthread_mutex_lock(&ev_lock);
  struct gw_sa *gs = gsa_of(g, sa);
  bool first = gs == NULL || !atomic_exchange(hard ? &gs->hard_logged : &gs->soft_logged, 1);
  pthread_mutex_unlock(&ev_lock);
  if (first) {
    struct ipsec_sa_info i;
    ipsec_sa_info(sa, &i);
    log_life(&i, hard);
  }
}

void gw_check_lifetimes(struct gw *g) {
  pthread_mutex_lock(&ev_lock);
  for (int k = 0; k < g->tab.nsa; k++) {
    struct gw_sa *gs = g->tab.sa[k];
    if (gs == NULL || gs->sa == NULL) continue;
    const struct ipsec_sa_params *p = &gs->c.p;
    if (!p->soft.seconds && !p->hard.seconds) continue;
    struct ipsec_sa_info i;
    ipsec_sa_info(gs->sa, &i);
    if (p->soft.seconds && i.used.seconds >= p->soft.seconds &&
        !atomic_exchange(&gs->soft_logged, 1))
      log_life(&i, false);
    if (p->hard.seconds && i.used.seconds >= p->hard.seconds &&
        !atomic_exchange(&gs->hard_logged, 1))
      log_life(&i, true);
  }
  pthread_mutex_unlock(&ev_lock);
}
