/* session.c - the session table, ocf_newsession / ocf_freesession, and
 * session migration (re-creating a session on another producer from the
 * parameters it carries). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

/* Hash table from session id (current or alias) to session.  One rwlock:
 * dispatch takes it shared; creation, freeing and migration exclusive. */
struct entry {
  ocf_sid_t sid;
  struct sess *s;
  struct entry *next;
};
static pthread_rwlock_t tbl_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct entry **tbl; /* [tbl_lock] */
static size_t tbl_size;    /* [tbl_lock] buckets, power of two */
static size_t tbl_count;   /* [tbl_lock] entries */
static atomic_uint lid_next = 1;

void sess_table_rdlock(void) { pthread_rwlock_rdlock(&tbl_lock); }
void sess_table_wrlock(void) { pthread_rwlock_wrlock(&tbl_lock); }
void sess_table_unlock(void) { pthread_rwlock_unlock(&tbl_lock); }

static size_t hash_sid(ocf_sid_t sid) {
  sid ^= sid >> 33;
  sid *= 0xff51afd7ed558ccdULL;
  sid ^= sid >> 33;
  return (size_t)sid;
}

struct sess *sess_lookup_locked(ocf_sid_t sid) {
  if (tbl == NULL) return NULL;
  for (struct entry *e = tbl[hash_sid(sid) & (tbl_size - 1)]; e != NULL; e = e->next)
    if (e->sid == sid) return e->s;
  return NULL;
}

static int tbl_grow(void) {
  size_t nsize = tbl_size ? tbl_size * 2 : 256;
  struct entry **n = calloc(nsize, sizeof(*n));
  if (n == NULL) return ENOMEM;
  for (size_t i = 0; i < tbl_size; i++)
    for (struct entry *e = tbl[i], *next; e != NULL; e = next) {
      next = e->next;
      size_t h = hash_sid(e->sid) & (nsize - 1);
      e->next = n[h];
      n[h] = e;
    }
  free(tbl);
  tbl = n;
  tbl_size = nsize;
  return 0;
}

/* Write-locked. */
static int tbl_insert(ocf_sid_t sid, struct sess *s) {
  if (tbl_count >= tbl_size * 2 && tbl_grow() != 0 && tbl == NULL) return ENOMEM;
  struct entry *e = malloc(sizeof(*e));
  if (e == NULL) return ENOMEM;
  size_t h = hash_sid(sid) & (tbl_size - 1);
  e->sid = sid;
  e->s = s;
  e->next = tbl[h];
  tbl[h] = e;
  tbl_count++;
  return 0;
}

/* Write-locked. */
static void tbl_remove(ocf_sid_t sid) {
  if (tbl == NULL) return;
  for (struct entry **pp = &tbl[hash_sid(sid) & (tbl_size - 1)]; *pp != NULL; pp = &(*pp)->next)
    if ((*pp)->sid == sid) {
      struct entry *e = *pp;
      *pp = e->next;
      free(e);
      tbl_count--;
      return;
    }
}

/* A fresh id for a session on producer d: its id in the upper half. */
ocf_sid_t sess_new_sid(struct drv *d) {
  for (;;) {
    uint32_t lid = atomic_fetch_add(&lid_next, 1);
    if (lid == 0) continue;
    ocf_sid_t sid = ((ocf_sid_t)d->hid << 32) | lid;
    if (sess_lookup_locked(sid) == NULL) return sid;
  }
}

static int validate_chain(struct sess *s, const struct ocf_sessparam *chain, unsigned flags) {
  int ncipher = 0, nmac = 0, ncomp = 0;
  if (chain == NULL) return ocf_seterr(EINVAL, "ocf_newsession: empty chain");
  if ((flags & ~(OCF_SESS_HWONLY | OCF_SESS_SWONLY)) != 0 ||
      (flags & (OCF_SESS_HWONLY | OCF_SESS_SWONLY)) == (OCF_SESS_HWONLY | OCF_SESS_SWONLY))
    return ocf_seterr(EINVAL, "ocf_newsession: bad flags 0x%x", flags);
  for (const struct ocf_sessparam *p = chain; p != NULL; p = p->next) {
    if (s->nparam == OCF_MAX_CHAIN)
      return ocf_seterr(EINVAL, "ocf_newsession: chain longer than %d", OCF_MAX_CHAIN);
    const struct ocf_alg_info *ai = ocf_alg_lookup(p->alg);
    if (ai == NULL) return ocf_seterr(ENOTSUP, "ocf_newsession: unknown algorithm %d", (int)p->alg);
    if (!ocf_alg_keylen_ok(p->alg, p->keylen)) {
      if (ai->max_key == 0)
        return ocf_seterr(EINVAL, "%s takes no key (got %zu bytes)", ai->name, p->keylen);
      return ocf_seterr(EINVAL, "key length %zu invalid for %s (%zu..%zu bytes)", p->keylen,
                        ai->name, ai->min_key, ai->max_key);
    }
    if (p->keylen > 0 && p->key == NULL)
      return ocf_seterr(EINVAL, "%s: key pointer is NULL", ai->name);
    size_t maclen = p->maclen ? p->maclen : ai->maclen;
    if (ai->maclen == 0 && p->maclen != 0)
      return ocf_seterr(EINVAL, "%s is not a MAC: maclen must be 0", ai->name);
    if (ai->maclen != 0 && !ocf_alg_maclen_ok(ai, maclen))
      return ocf_seterr(EINVAL, "MAC length %zu invalid for %s (%zu..%zu)", maclen, ai->name,
                        ai->min_mac, ai->maclen);
    size_t ivlen = p->ivlen ? p->ivlen : ai->ivlen;
    if (p->ivlen != 0 && (p->ivlen < ai->min_iv || p->ivlen > ai->max_iv))
      return ocf_seterr(EINVAL, "IV length %zu invalid for %s (%zu..%zu)", p->ivlen, ai->name,
                        ai->min_iv, ai->max_iv);
    if (p->rounds != 0) return ocf_seterr(EINVAL, "%s: rounds must be 0", ai->name);
    if (p->level < 0 || p->level > 9 || (p->level != 0 && ai->cls != OCF_CLASS_COMP))
      return ocf_seterr(EINVAL, "%s: compression level %d invalid", ai->name, p->level);
    switch (ai->cls) {
      case OCF_CLASS_CIPHER:
      case OCF_CLASS_AEAD:
        ncipher++;
        break;
      case OCF_CLASS_MAC:
        nmac++;
        break;
      case OCF_CLASS_COMP:
        ncomp++;
        break;
      default:
        break;
    }
    if (ai->cls == OCF_CLASS_AEAD && nmac > 0)
      return ocf_seterr(EINVAL, "an AEAD session takes no separate MAC");
    for (int i = 0; i < s->nparam; i++)
      if (s->param[i].alg == p->alg)
        return ocf_seterr(EINVAL, "%s appears twice in the chain", ai->name);
    int i = s->nparam++;
    s->param[i] = *p;
    s->param[i].next = NULL;
    s->param[i].key = NULL;
    s->ai[i] = ai;
    s->ivlen[i] = ivlen;
    s->maclen[i] = maclen;
    if (p->keylen > 0) {
      uint8_t *k = malloc(p->keylen);
      if (k == NULL) return ENOMEM;
      memcpy(k, p->key, p->keylen);
      s->param[i].key = k;
    }
  }
  if (ncipher > 1 || nmac > 1 || ncomp > 1)
    return ocf_seterr(EINVAL, "at most one cipher/AEAD, one MAC and one compression per session");
  for (int i = 0; i < s->nparam; i++)
    if (s->ai[i]->cls == OCF_CLASS_AEAD && nmac > 0)
      return ocf_seterr(EINVAL, "an AEAD session takes no separate MAC");
  if (ncomp && s->nparam > 1) return ocf_seterr(EINVAL, "compression must be alone in its session");
  for (int i = 0; i + 1 < s->nparam; i++) s->param[i].next = &s->param[i + 1];
  s->flags = flags;
  return 0;
}

/* Sessions are type-stable (see struct sess): freed ones wait here to be
 * reused, and are never given back to malloc. */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sess *pool; /* [pool_lock] */

struct sess *sess_alloc(void) {
  pthread_mutex_lock(&pool_lock);
  struct sess *s = pool;
  if (s != NULL) pool = s->pool_next;
  pthread_mutex_unlock(&pool_lock);
  if (s == NULL) {
    s = calloc(1, sizeof(*s));
    if (s == NULL) return NULL;
    atomic_init(&s->dying, 1); /* until published */
    atomic_init(&s->fast, NULL);
    atomic_init(&s->inflight, 0);
  }
  s->pool_next = NULL;
  return s;
}

void sess_destroy(struct sess *s) {
  sessx_free(s);
  for (int i = 0; i < s->nparam; i++)
    if (s->param[i].key != NULL) {
      ocf_wipe((void *)s->param[i].key, s->param[i].keylen);
      free((void *)s->param[i].key);
    }
  for (struct cbind *b = s->cbinds, *next; b != NULL; b = next) {
    next = b->next;
    free(b);
  }
  /* A thread with a stale pointer may still read the atomic fields above
   * sid (they say: not this one); everything else starts afresh. */
  atomic_store_explicit(&s->dying, 1, memory_order_relaxed);
  atomic_store_explicit(&s->fast, NULL, memory_order_relaxed);
  memset(&s->sid, 0, sizeof(*s) - offsetof(struct sess, sid));
  pthread_mutex_lock(&pool_lock);
  s->pool_next = pool;
  pool = s;
  pthread_mutex_unlock(&pool_lock);
}

/* Publishes the session's current binding for the fast path (dispatch.c);
 * table write-locked, or not yet in the table.  Snapshots are immutable and
 * freed with the session, so a thread may still be reading an older one. */
void sess_publish(struct sess *s) {
  struct cbind *b = NULL;
  if (s->drv != NULL && s->dsess != NULL && (b = malloc(sizeof(*b))) != NULL) {
    b->sid = s->sid;
    b->drv = s->drv;
    b->dsess = s->dsess;
    b->next = s->cbinds;
    s->cbinds = b;
  }
  atomic_store_explicit(&s->fast, b, memory_order_release); /* NULL: the table path */
}

/* Creates producer state for s on the best producer other than exclude.
 * Not locked for a new session (nobody sees it yet); write-locked for a
 * migration. */
/* Choosing a producer and counting the session on it happen together, so
 * that sessions created at the same moment spread instead of all seeing the
 * same least-loaded producer. */
static pthread_mutex_t pick_lock = PTHREAD_MUTEX_INITIALIZER;

int sess_bind(struct sess *s, struct drv *exclude) {
  pthread_mutex_lock(&pick_lock);
  struct drv *d = balance_pick(s, exclude);
  if (d != NULL) atomic_fetch_add(&d->sessions, 1);
  pthread_mutex_unlock(&pick_lock);
  if (d == NULL)
    return ocf_seterr(ENODEV, "no %sproducer serves %s%s%s",
                      (s->flags & OCF_SESS_HWONLY) ? "hardware " : "", s->ai[0]->name,
                      s->nparam > 1 ? "+" : "", s->nparam > 1 ? s->ai[1]->name : "");
  void *dsess = NULL;
  int rc = d->ops.newsession(d->softc, &dsess, &s->param[0]);
  if (rc != 0) {
    atomic_fetch_sub(&d->sessions, 1);
    drv_put(d);
    return ocf_seterr(rc, "producer %s refused the session: %s", d->name, ocf_strerror(rc));
  }
  s->drv = d; /* the reference from balance_pick is the binding's */
  s->dsess = dsess;
  return 0;
}

int ocf_newsession(ocf_sid_t *sid, const struct ocf_sessparam *chain, unsigned flags) {
  if (sid == NULL) return ocf_seterr(EINVAL, "ocf_newsession: sid is NULL");
  if (!ocf_running()) return ocf_seterr(ENODEV, "ocf_newsession: call ocf_init first");
  struct sess *s = sess_alloc();
  if (s == NULL) return ENOMEM;
  int rc = validate_chain(s, chain, flags);
  if (rc == 0) rc = sessx_init(s);
  if (rc == 0) rc = sess_bind(s, NULL);
  if (rc != 0) {
    sess_destroy(s);
    return rc;
  }
  sess_table_wrlock();
  s->sid = sess_new_sid(s->drv);
  rc = tbl_insert(s->sid, s);
  if (rc == 0) {
    sess_publish(s);
    atomic_store_explicit(&s->dying, 0, memory_order_release);
  }
  sess_table_unlock();
  if (rc != 0) {
    s->drv->ops.freesession(s->drv->softc, s->dsess);
    atomic_fetch_sub(&s->drv->sessions, 1);
    drv_put(s->drv);
    sess_destroy(s);
    return rc;
  }
  *sid = s->sid;
  return 0;
}

/* Frees producer state of one binding (outside the table lock). */
static void unbind(struct drv *d, void *dsess) {
  if (d == NULL) return;
  if (dsess != NULL) {
    d->ops.freesession(d->softc, dsess);
    atomic_fetch_sub(&d->sessions, 1);
  }
  drv_put(d);
}

/* Every binding of a session nobody can reach any more. */
static void sess_release_bindings(struct sess *s) {
  unbind(s->drv, s->dsess);
  s->drv = NULL;
  for (struct retired *r = s->retired, *next; r != NULL; r = next) {
    next = r->next;
    unbind(r->drv, r->dsess);
    free(r);
  }
  s->retired = NULL;
  for (int i = 0; i < s->nrep; i++) unbind(s->rep[i].drv, s->rep[i].dsess);
  s->nrep = 0;
  for (int i = 0; i < s->ncand; i++) drv_put(s->cand[i]);
  s->ncand = 0;
}

int ocf_freesession(ocf_sid_t sid) {
  sess_table_wrlock();
  struct sess *s = sess_lookup_locked(sid);
  if (s == NULL) {
    sess_table_unlock();
    return ocf_seterr(ENOENT, "no session %#llx (never created, or already freed)",
                      (unsigned long long)sid);
  }
  /* Raise the flag, then look for requests: either a thread admitting one
   * on its pin sees the flag and takes the table path (blocked on our lock),
   * or we see its pin (tctx.c).  Pins first: a request moving from a pin to
   * the counter counts there before its pin goes down. */
  atomic_store(&s->dying, 1);
  pin_barrier();
  bool pinned = pins_hold_sess(s);
  long n = atomic_load(&s->inflight);
  if (pinned || n > 0) {
    atomic_store(&s->dying, 0);
    sess_table_unlock();
    if (!pinned)
      return ocf_seterr(EBUSY, "session %#llx has %ld requests in flight", (unsigned long long)sid,
                        n);
    return ocf_seterr(EBUSY, "session %#llx has requests in flight", (unsigned long long)sid);
  }
  atomic_store_explicit(&s->fast, NULL, memory_order_relaxed);
  tbl_remove(s->sid);
  for (int i = 0; i < s->nalias; i++) tbl_remove(s->alias[i]);
  sess_table_unlock();
  sess_release_bindings(s);
  sess_destroy(s);
  return 0;
}

int ocf_session_driver(ocf_sid_t sid, char *name, size_t len) {
  if (name == NULL || len == 0) return ocf_seterr(EINVAL, "ocf_session_driver: no room");
  sess_table_rdlock();
  struct sess *s = sess_lookup_locked(sid);
  if (s != NULL) snprintf(name, len, "%s", s->drv ? s->drv->name : "");
  sess_table_unlock();
  return s ? 0 : ocf_seterr(ENOENT, "no session %#llx", (unsigned long long)sid);
}

/* The request's session is bound to a producer that lost an algorithm or
 * went away.  Re-create it elsewhere.  Returns EAGAIN with *newsid set when
 * the consumer must resubmit, 0 if the binding turned out fine, or ENODEV. */
int sess_migrate(struct sess *s, ocf_sid_t *newsid) {
  sess_table_wrlock();
  if (s->dsess != NULL && drv_serves_chain(s->drv, s)) {
    *newsid = s->sid;
    sess_table_unlock();
    return 0; /* someone migrated it already, or it came back */
  }
  struct drv *old = s->drv;
  void *olds = s->dsess;
  int rc = sess_bind(s, old);
  if (rc != 0) {
    s->drv = old;
    s->dsess = olds;
    sess_table_unlock();
    return rc;
  }
  atomic_fetch_add(&old->n_migr, 1);
  /* The old producer state may still be in use by requests inside the old
   * producer; it is freed with the session, or when that producer goes. */
  struct retired *r = malloc(sizeof(*r));
  if (r != NULL) {
    r->drv = old;
    r->dsess = olds;
    r->next = s->retired;
    s->retired = r;
  } else {
    /* Cannot track it: leak the producer state rather than free it under a
     * request; keep the reference count honest. */
    ocf_log(0, "out of memory retiring a session binding");
  }
  if (s->nalias == (int)(sizeof(s->alias) / sizeof(s->alias[0]))) {
    tbl_remove(s->alias[0]);
    memmove(&s->alias[0], &s->alias[1], sizeof(s->alias) - sizeof(s->alias[0]));
    s->nalias--;
  }
  s->alias[s->nalias++] = s->sid;
  s->sid = sess_new_sid(s->drv);
  if (tbl_insert(s->sid, s) != 0) ocf_log(0, "out of memory inserting a migrated session");
  sess_publish(s);
  *newsid = s->sid;
  /* The names are copied under the lock: once it is released, the old
   * producer may be removed (and freed) at any moment, and so may the new. */
  char from[sizeof(old->name)], to[sizeof(old->name)];
  memcpy(from, old->name, sizeof(from));
  memcpy(to, s->drv->name, sizeof(to));
  sess_table_unlock();
  ocf_log(3, "session migrated from %s to %s", from, to);
  return EAGAIN;
}

/* Recomputes the producers that could serve s (capacity and size policies). */
void sess_refresh_cand(struct sess *s) {
  struct drv *all[OCF_MAX_DRIVERS];
  unsigned gen = atomic_load(&reg_gen);
  int n = drv_snapshot(all, OCF_MAX_DRIVERS);
  sess_table_wrlock();
  for (int i = 0; i < s->ncand; i++) drv_put(s->cand[i]);
  s->ncand = 0;
  for (int i = 0; i < n; i++) {
    bool kind = !((s->flags & OCF_SESS_HWONLY) && !(all[i]->flags & OCF_DRV_HARDWARE)) &&
                !((s->flags & OCF_SESS_SWONLY) && !(all[i]->flags & OCF_DRV_SOFTWARE));
    if (kind && drv_serves_chain(all[i], s) && s->ncand < OCF_MAX_DRIVERS_PER_SESS)
      s->cand[s->ncand++] = all[i]; /* keeps the snapshot's reference */
    else
      drv_put(all[i]);
  }
  s->cand_gen = gen;
  sess_table_unlock();
}

/* Creates a replica of s on d.  Producers whose session cache is full say
 * so (any error): d is then dropped from the session's candidates. */
int sess_replicate(struct sess *s, struct drv *d) {
  sess_table_wrlock();
  for (int i = 0; i < s->nrep; i++)
    if (s->rep[i].drv == d) {
      sess_table_unlock();
      return 0;
    }
  int rc = EBUSY;
  if (s->nrep < OCF_MAX_DRIVERS_PER_SESS && d != s->drv && drv_serves_chain(d, s)) {
    void *ds = NULL;
    rc = d->ops.newsession(d->softc, &ds, &s->param[0]);
    if (rc == 0) {
      atomic_fetch_add(&d->refs, 1);
      atomic_fetch_add(&d->sessions, 1);
      s->rep[s->nrep].drv = d;
      s->rep[s->nrep++].dsess = ds;
    }
  }
  if (rc != 0) {
    for (int i = 0; i < s->ncand; i++)
      if (s->cand[i] == d) {
        drv_put(d);
        s->cand[i] = s->cand[--s->ncand];
        break;
      }
  }
  sess_table_unlock();
  return rc;
}

/* Producer d is going away and has no request left: free every piece of
 * producer state it holds, current or retired. */
void sess_drop_driver(struct drv *d) {
  struct victim {
    void *dsess;
    struct retired *r;
  };
  size_t n = 0, cap = 16;
  struct victim *v = malloc(cap * sizeof(*v));
  if (v == NULL) {
    ocf_log(0, "out of memory dropping producer %s's sessions", d->name);
    abort();
  }
  sess_table_wrlock();
  for (size_t i = 0; tbl != NULL && i < tbl_size; i++)
    for (struct entry *e = tbl[i]; e != NULL; e = e->next) {
      struct sess *s = e->s;
      if (e->sid != s->sid) continue; /* visit each session once */
      /* Room for every binding this session could hold on d: missing one
       * would leave producer state to be freed after the producer is gone. */
      size_t need = 1 + (size_t)s->nrep;
      for (struct retired *r = s->retired; r != NULL; r = r->next) need++;
      while (v != NULL && n + need > cap) {
        struct victim *nv = realloc(v, cap * 2 * sizeof(*v));
        if (nv == NULL) {
          free(v);
          v = NULL;
          break;
        }
        v = nv;
        cap *= 2;
      }
      if (v == NULL) {
        ocf_log(0, "out of memory dropping producer %s's sessions", d->name);
        abort(); /* continuing would free state of a producer that is gone */
      }
      if (s->drv == d && s->dsess != NULL) {
        v[n].dsess = s->dsess;
        v[n++].r = NULL;
        s->dsess = NULL; /* next request migrates */
        sess_publish(s);
      }
      for (int k = 0; k < s->nrep;) {
        if (s->rep[k].drv == d) {
          struct retired *r = malloc(sizeof(*r));
          if (r == NULL) break;
          r->drv = d;
          r->dsess = s->rep[k].dsess;
          v[n].dsess = NULL;
          v[n++].r = r;
          s->rep[k] = s->rep[--s->nrep];
        } else {
          k++;
        }
      }
      for (int k = 0; k < s->ncand;) {
        if (s->cand[k] == d) {
          drv_put(d); /* d stays alive: the caller holds a reference */
          s->cand[k] = s->cand[--s->ncand];
        } else {
          k++;
        }
      }
      for (struct retired **pp = &s->retired; *pp != NULL;) {
        if ((*pp)->drv == d) {
          v[n].dsess = NULL;
          v[n++].r = *pp;
          *pp = (*pp)->next;
        } else {
          pp = &(*pp)->next;
        }
      }
    }
  sess_table_unlock();
  for (size_t i = 0; i < n; i++) {
    if (v[i].r != NULL) {
      unbind(v[i].r->drv, v[i].r->dsess);
      free(v[i].r);
    } else {
      d->ops.freesession(d->softc, v[i].dsess);
      atomic_fetch_sub(&d->sessions, 1);
    }
  }
  free(v);
}

/* At shutdown: every session goes, whatever its state. */
void sess_free_all(void) {
  sess_table_wrlock();
  struct sess **all = NULL;
  size_t n = 0;
  for (size_t i = 0; tbl != NULL && i < tbl_size; i++)
    for (struct entry *e = tbl[i], *next; e != NULL; e = next) {
      next = e->next;
      if (e->sid == e->s->sid) {
        struct sess **na = realloc(all, (n + 1) * sizeof(*all));
        if (na != NULL) {
          all = na;
          all[n++] = e->s;
        }
      }
      free(e);
    }
  free(tbl);
  tbl = NULL;
  tbl_size = tbl_count = 0;
  sess_table_unlock();
  for (size_t i = 0; i < n; i++) {
    sess_release_bindings(all[i]);
    sess_destroy(all[i]);
  }
  free(all);
}
