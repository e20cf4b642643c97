/* req.c - requests: sessions, and the jobs that carry a client's symmetric
 * and public-key requests to the framework and their results back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocfd/server.h"

/* Jobs without data (the shared-memory path) are recycled, most recently
 * freed first: no allocator round trip per request, and the job is still in
 * this thread's cache.  Loop thread only. */
#define JOB_POOL_MAX 4096
static struct job *job_pool;
static int job_npool;

static struct job *job_alloc(size_t extra);

/* job_new makes a job with extra bytes of data after it, charging its
 * client for the job, the data and resv bytes for its reply to come; NULL
 * when the memory budget or malloc refuses. */
struct job *job_new(struct client *c, size_t extra, size_t resv) {
  size_t charge = sizeof(struct job) + extra + resv;
  if (!budget_take(c, charge, "a request")) return NULL;
  struct job *j = job_alloc(extra);
  if (j == NULL) {
    budget_give(c, charge);
    return NULL;
  }
  j->charge = charge;
  j->resv = resv;
  j->c = c;
  return j;
}

static struct job *job_alloc(size_t extra) {
  if (extra == 0 && job_pool != NULL) {
    struct job *j = job_pool;
    job_pool = j->next;
    job_npool--;
    /* Everything but the descriptors, which do_crypt writes in full for
     * those it uses: clearing all of them would pull most of the job's
     * lines back from the core that completed it, for nothing (measured as
     * the loop's largest cost outside libcrypto). */
    memset(&j->req, 0, offsetof(struct ocf_req, desc));
    size_t after = offsetof(struct ocf_req, callback);
    memset((uint8_t *)&j->req + after, 0, sizeof(j->req) - after);
    memset(&j->kind, 0, sizeof(*j) - offsetof(struct job, kind));
    /* The next job out of the pool comes from the other core just as well:
     * start fetching the lines this function and do_crypt write in it. */
    if (job_pool != NULL) {
      const uint8_t *n = (const uint8_t *)job_pool;
      for (size_t off = 0; off < offsetof(struct job, req.desc[1]); off += 64)
        __builtin_prefetch(n + off, 1);
      __builtin_prefetch(&job_pool->req.callback, 1);
      __builtin_prefetch(&job_pool->kind, 1);
    }
    return j;
  }
  return calloc(1, sizeof(struct job) + extra);
}

void job_free(struct job *j) {
  budget_give(j->c, j->charge);
  /* Parameters of a public-key job may be private keys. */
  if (j->kind == JOB_KEY && j->len > 0) explicit_bzero(j->data, j->len);
  if (j->data == NULL && job_npool < JOB_POOL_MAX) {
    j->next = job_pool;
    job_pool = j;
    job_npool++;
    return;
  }
  free(j);
}

void job_pool_drain(void) {
  while (job_pool != NULL) {
    struct job *j = job_pool;
    job_pool = j->next;
    free(j);
  }
  job_npool = 0;
}

void sess_release(struct sess *s) {
  budget_give(s->owner, SESS_CHARGE);
  st_sessions--;
  if (!fw_gone && ocf_freesession(s->sid) != 0)
    ocfd_log(0, "freeing session %u: %s", s->ses, ocf_errdetail());
  free(s);
}

/* --- sessions ------------------------------------------------------------- */

/* Every request names its session, and a connection may hold thousands
 * (--max-sessions): a scan of the list made each request of a connection
 * with 4,000 sessions three times slower (78 K to 26 K synchronous NULL
 * requests a second).  So sessions are also found by id (idtab.h). */
static uint32_t sess_id(const void *s) { return ((const struct sess *)s)->ses; }

static struct sess *sess_find(struct client *c, uint32_t ses) {
  return idtab_find(&c->stab, ses, sess_id);
}

void sess_forget_all(struct client *c) { idtab_free(&c->stab); }

/* new_ses_id: an unused id for a new session of c.  Ids are random (never 0),
 * not counted: a counter shared by all connections told each client how many
 * sessions the others opened, and one per connection would make the same
 * small numbers valid on every connection. */
static uint32_t new_ses_id(struct client *c) {
  for (;;) {
    uint32_t id = arc4random();
    if (id != 0 && sess_find(c, id) == NULL) return id;
  }
}

static void fill_info(struct sess *s, const struct ocfw_newsess_view *v) {
  struct ocfw_sessinfo *in = &s->info;
  memset(in, 0, sizeof(*in));
  in->ses = s->ses;
  in->hid = OCF_SID_DRIVER(s->sid);
  in->nparam = v->s.nparam;
  ocf_session_driver(s->sid, in->driver, sizeof(in->driver));
  struct ocf_driver_stat st[64];
  int n = ocf_driver_stats(st, 64);
  for (int i = 0; i < n && i < 64; i++)
    if (st[i].hid == in->hid) in->drvflags = st[i].flags;
  for (uint32_t i = 0; i < v->s.nparam; i++) {
    const struct ocf_alg_info *ai = ocf_alg_lookup((enum ocf_alg)v->p[i].alg);
    struct ocfw_alginfo *a = &in->alg[i];
    a->alg = v->p[i].alg;
    if (ai == NULL) continue;
    a->cls = ai->cls;
    a->block = (uint32_t)ai->block;
    a->ivlen = (uint32_t)(v->p[i].ivlen ? v->p[i].ivlen : ai->ivlen);
    a->maclen = (uint32_t)(v->p[i].maclen ? v->p[i].maclen : ai->maclen);
  }
}

void do_newsession(struct client *c, const struct ocfw_hdr *h, const uint8_t *b, size_t n) {
  struct ocfw_newsess_view v;
  int rc = ocfw_dec_newsess(b, n, &v);
  if (rc == 0 && c->nsess >= cf->max_sessions) rc = ENOSPC;
  if (rc == 0 && !budget_take(c, SESS_CHARGE, "a session")) rc = ENOMEM;
  struct ocf_sessparam chain[OCF_MAX_DESC];
  if (rc == 0) {
    memset(chain, 0, sizeof(chain));
    for (uint32_t i = 0; i < v.s.nparam; i++) {
      chain[i].alg = (enum ocf_alg)v.p[i].alg;
      chain[i].key = v.key[i];
      chain[i].keylen = v.p[i].keylen;
      chain[i].maclen = v.p[i].maclen;
      chain[i].ivlen = v.p[i].ivlen;
      chain[i].level = (int)v.p[i].level;
      chain[i].next = i + 1 < v.s.nparam ? &chain[i + 1] : NULL;
    }
    unsigned flags = v.s.flags;
    if (!cf->allow_soft) flags = (flags & ~(unsigned)OCF_SESS_SWONLY) | OCF_SESS_HWONLY;
    ocf_sid_t sid;
    rc = ocf_newsession(&sid, chain, flags);
    /* cryptodevallowsoft=0: the caller should fall back to its own software. */
    if (rc == ENODEV && !cf->allow_soft) rc = EINVAL;
    if (rc == 0) {
      struct sess *s = calloc(1, sizeof(*s));
      if (s != NULL && c->nsess == c->capsess) {
        int cap = c->capsess ? 2 * c->capsess : 8;
        struct sess **p = realloc(c->sess, (size_t)cap * sizeof(*p));
        if (p != NULL) {
          c->sess = p;
          c->capsess = cap;
        }
      }
      if (s != NULL && c->nsess < c->capsess) {
        s->ses = new_ses_id(c);
        if (idtab_add(&c->stab, s, sess_id) != 0) {
          free(s);
          s = NULL;
        }
      }
      if (s == NULL || c->nsess == c->capsess) {
        free(s);
        ocf_freesession(sid);
        rc = ENOMEM;
      } else {
        s->owner = c;
        s->sid = sid;
        fill_info(s, &v);
        s->idx = c->nsess;
        c->sess[c->nsess++] = s;
        st_sessions++;
        reply(c, h->cmd, 0, h->tag, 0, &s->info, sizeof(s->info));
      }
    }
    if (rc != 0) budget_give(c, SESS_CHARGE);
  }
  if (rc != 0) reply(c, h->cmd, 0, h->tag, rc, NULL, 0);
  /* The keys sit in our read buffer: wipe the whole body, whatever became
   * of it (refused, or undecodable after the first key). */
  explicit_bzero((void *)(uintptr_t)b, n);
}

void do_freesession(struct client *c, const struct ocfw_hdr *h, const uint8_t *b, size_t n) {
  uint32_t ses;
  int rc = ocfw_dec_u32(b, n, &ses);
  struct sess *s = rc ? NULL : sess_find(c, ses);
  if (rc == 0 && s == NULL) rc = ENOENT;
  if (s != NULL) {
    idtab_del(&c->stab, s, sess_id);
    struct sess *last = c->sess[--c->nsess];
    c->sess[s->idx] = last;
    last->idx = s->idx;
    if (s->inflight > 0)
      s->dead = true;
    else
      sess_release(s);
  }
  reply(c, h->cmd, 0, h->tag, rc, NULL, 0);
}

/* do_cphash: cryptodev's CIOCCPHASH, a streamed digest's running state
 * copied between two of the connection's sessions (in the framework). */
void do_cphash(struct client *c, const struct ocfw_hdr *h, const uint8_t *b, size_t n) {
  uint32_t dst, src;
  int rc = ocfw_dec_u32x2(b, n, &dst, &src);
  struct sess *d = rc ? NULL : sess_find(c, dst), *s = rc ? NULL : sess_find(c, src);
  if (rc == 0 && (d == NULL || s == NULL)) rc = ENOENT;
  if (rc == 0) rc = ocf_stream_copy(d->sid, s->sid);
  reply(c, h->cmd, 0, h->tag, rc, NULL, 0);
}

void do_sessinfo(struct client *c, const struct ocfw_hdr *h, const uint8_t *b, size_t n) {
  uint32_t ses;
  int rc = ocfw_dec_u32(b, n, &ses);
  struct sess *s = rc ? NULL : sess_find(c, ses);
  if (rc == 0 && s == NULL) rc = ENOENT;
  if (s) {
    ocf_session_driver(s->sid, s->info.driver, sizeof(s->info.driver));
    s->info.hid = OCF_SID_DRIVER(s->sid);
    reply(c, h->cmd, 0, h->tag, 0, &s->info, sizeof(s->info));
  } else {
    reply(c, h->cmd, 0, h->tag, rc, NULL, 0);
  }
}

/* do_sesslist: the connection's live sessions, for a client that took the
 * connection over (a program exec'd with an inherited /dev/crypto). */
void do_sesslist(struct client *c, const struct ocfw_hdr *h, size_t n) {
  if (n) {
    reply(c, h->cmd, 0, h->tag, EBADMSG, NULL, 0);
    return;
  }
  uint32_t *ids = malloc(sizeof(uint32_t) * (1 + (size_t)c->nsess));
  if (ids == NULL) {
    reply(c, h->cmd, 0, h->tag, ENOMEM, NULL, 0);
    return;
  }
  ids[0] = (uint32_t)c->nsess; /* a freed session has left the list already */
  for (int i = 0; i < c->nsess; i++) ids[1 + i] = c->sess[i]->ses;
  reply(c, h->cmd, 0, h->tag, 0, ids, sizeof(uint32_t) * (1 + (size_t)c->nsess));
  free(ids);
}

/* --- symmetric requests --------------------------------------------------- */

static struct job *pending[256]; /* built this round, dispatched as a batch */
int npending;

static void finish_job_accounting(struct job *j) {
  struct client *c = j->c;
  sched_done(j);
  st_inflight--;
  st_served++;
  c->inflight--;
  c->inflight_bytes -= j->len;
  if (j->s) {
    j->s->inflight--;
    if (j->s->dead && j->s->inflight == 0) sess_release(j->s);
  }
  if (j->shm) {
    j->shm->refs--;
    if (j->shm->dead && j->shm->refs == 0) shm_release(j->shm);
  }
  if (c->closed && c->inflight == 0 && !c->freeing) {
    c->freeing = true;
    c->fnext = free_list;
    free_list = c;
  }
}

/* unreserve: the reply is being written; its room is charged as the write
 * buffer's (or it goes to the ring) from now on. */
static void unreserve(struct job *j) {
  budget_give(j->c, j->resv);
  j->charge -= j->resv;
  j->resv = 0;
}

static void sym_reply(struct job *j, int err) {
  struct client *c = j->c;
  if (err) st_failed++;
  unreserve(j);
  if (c->closed) return;
  bool wantiv = (j->hflags & OCFW_F_WANTIV) && err == 0;
  bool data = !(j->hflags & (OCFW_F_SHM | OCFW_F_NODATA)) && err == 0;
  size_t ivb = wantiv ? (size_t)j->req.ndesc * OCF_MAX_IV : 0;
  size_t body = sizeof(struct ocfw_crypt_rep) + ivb + (data ? j->len : 0);
  uint8_t *p;
  if (j->cq_res) {
    c->cq_reserved -= j->cq_res;
    p = OCFW_HDR_LEN + body <= j->cq_res ? cq_reserve(c, (uint32_t)(OCFW_HDR_LEN + body)) : NULL;
    if (p == NULL) {
      fatal(c, EPROTO, "completion ring overrun");
      return;
    }
  } else if ((p = out_reserve(c, OCFW_HDR_LEN + body)) == NULL) {
    fatal(c, ENOMEM, "out of memory for a reply");
    return;
  }
  c->unsent++;
  ocfw_put_hdr(p, (uint32_t)(OCFW_HDR_LEN + body), OCFW_CRYPT, j->hflags, j->tag, err);
  struct ocfw_crypt_rep r = {(uint32_t)j->req.olen, data ? (uint32_t)j->len : 0};
  memcpy(p + OCFW_HDR_LEN, &r, sizeof(r));
  p += OCFW_HDR_LEN + sizeof(r);
  for (int i = 0; wantiv && i < j->req.ndesc; i++, p += OCF_MAX_IV)
    memcpy(p, j->req.desc[i].iv, OCF_MAX_IV);
  if (data) memcpy(p, j->data, j->len);
}

void dispatch_pending(void) {
  int i = 0;
  on_loop = true;
  to_framework(npending);
  while (i < npending) {
    int err = 0;
    int k = ocf_dispatch_batch((struct ocf_req **)&pending[i], npending - i, &err);
    i += k;
    if (i < npending) { /* refused up front: answer it, go on with the rest */
      to_framework(-1);
      struct job *j = pending[i++];
      finish_job_accounting(j);
      sym_reply(j, err ? err : EINVAL);
      job_free(j);
    }
  }
  on_loop = false;
  npending = 0;
}

/* do_crypt takes one request; cq_res > 0 when it came through the ring,
 * with that much completion room set aside for its reply. */
void do_crypt(struct client *c, const struct ocfw_hdr *h, const uint8_t *b, size_t n,
              uint16_t cq_res) {
  struct ocfw_crypt_view v;
  int rc = ocfw_dec_crypt(b, n, h->flags, &v);
  /* the ring carries shared-memory requests only */
  if (rc == 0 && cq_res && (h->status != 0 || !(h->flags & OCFW_F_SHM))) rc = EINVAL;
  struct sess *s = NULL;
  struct shm *m = NULL;
  if (rc == 0 && v.c.datalen > cf->max_req) rc = EMSGSIZE;
  if (rc == 0 && (s = sess_find(c, v.c.ses)) == NULL) rc = ENOENT;
  if (rc == 0 && (h->flags & OCFW_F_SHM)) {
    for (int i = 0; i < c->nshm && m == NULL; i++) /* ids are unique (new_shm_id) */
      if (c->shm[i]->id == v.c.shm) m = c->shm[i];
    if (m == NULL)
      rc = EBADF;
    else if (v.c.shm_off > m->size || v.c.datalen > m->size - v.c.shm_off)
      rc = ERANGE;
  }
  struct job *j = NULL;
  if (rc == 0) {
    size_t data = m ? 0 : v.c.datalen; /* and as much again for the reply (copy path) */
    size_t back = m || (h->flags & OCFW_F_NODATA) ? 0 : v.c.datalen;
    j = job_new(c, data, back + OCFW_RING_CQE_MAX);
    if (j == NULL) rc = ENOMEM;
  }
  if (rc != 0) {
    struct job tmp = {.c = c, .tag = h->tag, .hflags = h->flags, .cq_res = cq_res};
    st_served++;
    sym_reply(&tmp, rc);
    return;
  }
  j->kind = JOB_SYM;
  j->c = c;
  j->s = s;
  j->shm = m;
  j->tag = h->tag;
  j->hflags = h->flags;
  j->cq_res = cq_res;
  j->len = v.c.datalen;
  if (m) {
    j->req.buf = ocf_buf_contig(m->base + v.c.shm_off, j->len);
    m->refs++;
  } else {
    j->data = (uint8_t *)(j + 1);
    memcpy(j->data, v.data, j->len);
    j->req.buf = ocf_buf_contig(j->data, j->len);
  }
  j->req.sid = s->sid;
  /* A request that finds its client with nothing in flight is most likely a
   * synchronous caller's (CIOCCRYPT through the shim), waiting for it: up to
   * assist_max it runs here, as the loop would run it between events anyway,
   * instead of waking a worker and handing the result back from it (on two
   * CPUs, 16 KB AES-CBC went from 740 to 980 MB/s). */
  bool lone = c->inflight == 0 && cf->assist_max > 0 && j->len <= cf->assist_max;
  j->req.flags = j->len <= cf->inline_max || lone ? OCF_REQ_INLINE : OCF_REQ_ASYNC;
  j->req.ndesc = v.c.ndesc;
  for (int i = 0; i < v.c.ndesc; i++) {
    struct ocf_desc *d = &j->req.desc[i];
    d->alg = (enum ocf_alg)v.d[i].alg;
    d->flags = v.d[i].flags;
    d->skip = v.d[i].skip;
    d->len = v.d[i].len;
    d->inject = v.d[i].inject;
    d->iv_off = v.d[i].iv_off;
    d->aad_skip = v.d[i].aad_skip;
    d->aad_len = v.d[i].aad_len;
    memcpy(d->iv, v.d[i].iv, OCF_MAX_IV);
  }
  j->req.callback = sym_cb;
  j->req.opaque = j;
  s->inflight++;
  c->inflight++;
  st_inflight++;
  c->inflight_bytes += j->len;
  sched_submit(c, j);
}

void hand_sym(struct job *j) {
  /* populated now, as it is about to run, not while it waits its turn */
  if (j->shm) shm_warm(j->shm, (uint64_t)(j->req.buf.u.contig.base - j->shm->base), j->len);
  pending[npending++] = j;
  if (npending == (int)(sizeof(pending) / sizeof(pending[0]))) dispatch_pending();
}

void cancel_job(struct job *j) {
  finish_job_accounting(j);
  st_failed++;
  job_free(j);
}

void sym_complete(struct job *j) {
  struct client *c = j->c;
  int err = j->req.error;
  /* The session migrated: the request carries its new id, which is now the
   * one to free even if the request is not retried. */
  if (err == EAGAIN) j->s->sid = j->req.sid;
  if (err == EAGAIN && !c->closed && j->tries++ < 16) {
    on_loop = true;
    to_framework(1);
    int rc = ocf_dispatch(&j->req);
    on_loop = false;
    if (rc == 0) return;
    to_framework(-1);
    err = rc;
  }
  finish_job_accounting(j);
  sym_reply(j, err);
  job_free(j);
}

/* --- public key ----------------------------------------------------------- */

void do_key(struct client *c, const struct ocfw_hdr *h, const uint8_t *b, size_t n) {
  struct ocfw_key_view v;
  int rc = ocfw_dec_key(b, n, &v);
  struct job *j = NULL;
  if (rc == 0) {
    size_t total = 0;
    for (unsigned i = 0; i < (unsigned)v.k.iparams + v.k.oparams; i++) total += v.p[i].nbytes;
    /* +1: a key job always has a data area, even with no parameter bytes,
     * so it neither comes from the pool nor goes back to it. */
    j = job_new(c, total + 1, total + sizeof(struct ocfw_key_rep) + OCF_KMAX_PARAM * 8);
    if (j == NULL)
      rc = ENOMEM;
    else {
      j->len = total;
      j->data = (uint8_t *)(j + 1);
    }
  }
  if (rc == 0) {
    j->kind = JOB_KEY;
    j->c = c;
    j->tag = h->tag;
    struct ocf_kreq *k = &j->kreq;
    k->op = (enum ocf_kop)v.k.op;
    k->iparams = v.k.iparams;
    k->oparams = v.k.oparams;
    uint8_t *p = j->data;
    for (int i = 0; i < k->iparams + k->oparams; i++) {
      if (i < k->iparams) memcpy(p, v.in[i], v.p[i].nbytes);
      k->param[i].p = v.p[i].nbytes ? p : NULL;
      k->param[i].nbits = i < k->iparams ? v.p[i].nbits : 8u * v.p[i].nbytes;
      p += v.p[i].nbytes;
    }
    k->callback = key_cb;
    k->opaque = j;
    c->inflight++;
    st_inflight++;
    c->inflight_bytes += j->len;
    sched_submit(c, j);
  }
  if (rc != 0) {
    st_served++;
    st_failed++;
    reply(c, h->cmd, 0, h->tag, rc, NULL, 0);
  }
  /* The inputs (a private exponent, say) are in the job now, or refused:
   * none stays in our read buffer. */
  explicit_bzero((void *)(uintptr_t)b, n);
}

void hand_key(struct job *j) {
  on_loop = true;
  to_framework(1);
  int rc = ocf_kdispatch(&j->kreq);
  on_loop = false;
  if (rc == 0) return;
  to_framework(-1); /* refused up front: answered here */
  struct client *c = j->c;
  finish_job_accounting(j);
  st_failed++;
  reply(c, OCFW_KEY, 0, j->tag, rc, NULL, 0);
  job_free(j);
}

void key_complete(struct job *j) {
  struct client *c = j->c;
  finish_job_accounting(j);
  unreserve(j);
  if (j->kreq.error) st_failed++;
  if (!c->closed) {
    struct ocf_kreq *k = &j->kreq;
    int err = k->error;
    size_t body = sizeof(struct ocfw_key_rep);
    if (err == 0)
      for (int i = k->iparams; i < k->iparams + k->oparams; i++)
        body += sizeof(struct ocfw_kparam) + (k->param[i].nbits + 7) / 8;
    uint8_t *p = out_reserve(c, OCFW_HDR_LEN + body);
    if (p == NULL) {
      fatal(c, ENOMEM, "out of memory for a reply");
    } else {
      /* the results (a shared secret, say) are wiped once sent */
      if (err == 0 && k->oparams > 0) c->out_secret = true;
      ocfw_put_hdr(p, (uint32_t)(OCFW_HDR_LEN + body), OCFW_KEY, 0, j->tag, err);
      struct ocfw_key_rep r = {(uint32_t)k->status, err ? 0 : (uint16_t)k->oparams, 0};
      memcpy(p + OCFW_HDR_LEN, &r, sizeof(r));
      p += OCFW_HDR_LEN + sizeof(r);
      for (int i = k->iparams; err == 0 && i < k->iparams + k->oparams; i++) {
        struct ocfw_kparam kp = {(uint32_t)k->param[i].nbits,
                                 (uint32_t)((k->param[i].nbits + 7) / 8)};
        memcpy(p, &kp, sizeof(kp));
        if (kp.nbytes) memcpy(p + sizeof(kp), k->param[i].p, kp.nbytes);
        p += sizeof(kp) + kp.nbytes;
      }
    }
  }
  job_free(j);
}
