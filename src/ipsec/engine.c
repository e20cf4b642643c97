/* engine.c - the packet path: ipsec_output / ipsec_input split into request
 * halves and callback halves, as the paper's section 4.1 splits esp_output
 * into esp_output and esp_output_cb.
 *
 * A packet's state (struct pstate, inside the caller's struct ipsec_pkt)
 * travels as the request's opaque data.  Output applies the policy's SAs one
 * request each; after an SA that numbers its packets, the packet passes that
 * SA's reorder stage (reorder.c), so the next SA, and the caller, see the
 * packets in sequence-number order.  Input removes one SA per request and
 * goes on while the result is IPsec again (nested SAs), then checks the
 * result against the policy of the SAs it came through.
 *
 * A request that comes back with EAGAIN moved to another producer: the SA
 * records the new session id and the request is sent again (after putting
 * back its input if the producer was hardware, which may have written half
 * of it before it lost the request). */
#include <errno.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdlib.h>

#include "ipsec/internal.h"

#define BACKUP_SIZE 2048
/* Copies kept for reuse: as many as requests a busy set of cards holds, so
 * that a steady stream allocates nothing. */
#define BACKUP_KEEP 4096

/* --- packets in flight ------------------------------------------------------------- */

static _Thread_local unsigned tl_shard = ~0u;
static _Atomic unsigned shard_next;

static unsigned my_shard(void) {
  if (tl_shard == ~0u) tl_shard = atomic_fetch_add(&shard_next, 1) % IPSEC_SHARDS;
  return tl_shard;
}

static void flight_begin(struct ipsec_ctx *ctx, struct pstate *ps) {
  ps->shard = (uint8_t)my_shard();
  atomic_fetch_add_explicit(&ctx->flight[ps->shard].n, 1, memory_order_relaxed);
}

static void flight_end(struct ipsec_ctx *ctx, unsigned shard) {
  atomic_fetch_sub_explicit(&ctx->flight[shard].n, 1, memory_order_release);
}

/* --- buffers ------------------------------------------------------------------------ */

bool ipsi_pkt_make_room(struct ipsec_ctx *ctx, struct ipsec_pkt *pkt, size_t head, size_t tail) {
  if (pkt->off >= head && pkt->size - pkt->off - pkt->len >= tail) return true;
  if (pkt->size < head || pkt->size - head < pkt->len || pkt->size - head - pkt->len < tail)
    return false;
  memmove(pkt->buf + head, pkt->buf + pkt->off, pkt->len);
  pkt->off = head;
  atomic_fetch_add_explicit(&ctx->moved, 1, memory_order_relaxed);
  return true;
}

void ipsi_req_setup(struct ipsec_pkt *pkt, size_t base, size_t end) {
  struct ocf_req *r = &ps_of(pkt)->req;
  /* every field a transform does not set is zero: the packet's last journey
   * through this buffer (another SA, the other direction) leaves nothing
   * behind.  Transforms use at most IPSI_NDESC descriptors. */
  memset(r, 0, offsetof(struct ocf_req, desc) + IPSI_NDESC * sizeof(struct ocf_desc));
  memset(&r->callback, 0, sizeof(*r) - offsetof(struct ocf_req, callback));
  r->buf = ocf_buf_contig(pkt->buf + base, end - base);
  ps_of(pkt)->base = base;
}

static void *backup_get(struct ipsec_ctx *ctx, size_t len) {
  if (len > BACKUP_SIZE) return malloc(len);
  spin_lock(&ctx->bk_lock);
  void *b = ctx->bk_free;
  if (b != NULL) {
    memcpy(&ctx->bk_free, b, sizeof(void *));
    ctx->bk_count--;
  }
  spin_unlock(&ctx->bk_lock);
  return b != NULL ? b : malloc(BACKUP_SIZE);
}

static void backup_put(struct ipsec_ctx *ctx, void *b, size_t len) {
  if (b == NULL) return;
  if (len <= BACKUP_SIZE) {
    spin_lock(&ctx->bk_lock);
    if (ctx->bk_count < BACKUP_KEEP) {
      memcpy(b, &ctx->bk_free, sizeof(void *));
      ctx->bk_free = b;
      ctx->bk_count++;
      b = NULL;
    }
    spin_unlock(&ctx->bk_lock);
  }
  free(b);
}

void ipsi_backup_take(struct ipsec_pkt *pkt, struct ipsec_sa *sa, size_t off, size_t len) {
  struct pstate *ps = ps_of(pkt);
  if (ps->backup != NULL || len == 0) return; /* IPcomp took one already */
  if (ps->ctx->direct || !atomic_load_explicit(&sa->hw, memory_order_relaxed)) return;
  ps->backup = backup_get(ps->ctx, len);
  if (ps->backup == NULL) return; /* a resubmission then starts from what is there */
  memcpy(ps->backup, pkt->buf + off, len);
  ps->bk_off = off;
  ps->bk_len = len;
}

void ipsi_backup_force(struct ipsec_pkt *pkt, size_t off, size_t len) {
  struct pstate *ps = ps_of(pkt);
  ps->backup = backup_get(ps->ctx, len);
  if (ps->backup == NULL) return;
  memcpy(ps->backup, pkt->buf + off, len);
  ps->bk_off = off;
  ps->bk_len = len;
}

void ipsi_backup_restore(struct ipsec_pkt *pkt) {
  struct pstate *ps = ps_of(pkt);
  if (ps->backup != NULL) memcpy(pkt->buf + ps->bk_off, ps->backup, ps->bk_len);
}

static void backup_drop(struct ipsec_pkt *pkt) {
  struct pstate *ps = ps_of(pkt);
  backup_put(ps->ctx, ps->backup, ps->bk_len);
  ps->backup = NULL;
}

/* --- IVs ------------------------------------------------------------------------------ */

/* Random IVs come from a per-thread pool refilled from OpenSSL's DRBG: one
 * RAND_bytes call per 256 CBC packets instead of one each. */
static _Thread_local uint8_t tl_pool[4096];
static _Thread_local size_t tl_pool_pos = sizeof(tl_pool);

bool ipsi_fill_iv(struct ipsec_sa *sa, uint64_t seq, uint8_t *iv) {
  if (sa->iv_fn != NULL) return sa->iv_fn(sa->iv_arg, seq, iv, sa->ivlen) == 0;
  if (!sa->iv_random) {
    wr64(iv, seq); /* unique per key, which is all counter modes ask */
    return true;
  }
  if (tl_pool_pos + sa->ivlen > sizeof(tl_pool)) {
    if (RAND_bytes(tl_pool, sizeof(tl_pool)) != 1) return false;
    tl_pool_pos = 0;
  }
  memcpy(iv, tl_pool + tl_pool_pos, sa->ivlen);
  memset(tl_pool + tl_pool_pos, 0, sa->ivlen); /* never hand the same bytes out twice */
  tl_pool_pos += sa->ivlen;
  return true;
}

/* --- protocol dispatch ----------------------------------------------------------------- */

static int prep(struct ipsec_pkt *pkt, struct ipsec_sa *sa, bool out) {
  switch (sa->proto) {
    case IPSEC_PROTO_ESP:
      return out ? ipsi_esp_out_prep(pkt, sa) : ipsi_esp_in_prep(pkt, sa);
    case IPSEC_PROTO_AH:
      return out ? ipsi_ah_out_prep(pkt, sa) : ipsi_ah_in_prep(pkt, sa);
    default:
      return out ? ipsi_comp_out_prep(pkt, sa) : ipsi_comp_in_prep(pkt, sa);
  }
}

static enum ipsec_verdict finish_step(struct ipsec_pkt *pkt, struct ipsec_sa *sa, bool out) {
  switch (sa->proto) {
    case IPSEC_PROTO_ESP:
      return out ? ipsi_esp_out_done(pkt, sa) : ipsi_esp_in_done(pkt, sa);
    case IPSEC_PROTO_AH:
      return out ? ipsi_ah_out_done(pkt, sa) : ipsi_ah_in_done(pkt, sa);
    default:
      return out ? ipsi_comp_out_done(pkt, sa) : ipsi_comp_in_done(pkt, sa);
  }
}

/* The request's error as a verdict, for what the protocol code does not
 * handle itself. */
static enum ipsec_verdict err_verdict(struct ipsec_pkt *pkt, int err) {
  if (err == EBADMSG) return IPSEC_DROP_AUTH;
  pkt->error = err;
  return IPSEC_DROP_CRYPTO;
}

/* A batch being collected by ipsec_*_batch: first requests go out together. */
struct batch {
  struct ocf_req *r[64];
  int n;
};

static _Thread_local struct batch *tl_batch;

static void out_cb(struct ocf_req *req);
static void in_cb(struct ocf_req *req);
static void out_step_done(struct ipsec_pkt *pkt, enum ipsec_verdict v);
static void in_step_done(struct ipsec_pkt *pkt, enum ipsec_verdict v);

static void batch_flush(struct batch *b);

/* Sends ps->req for sa (the request half's last act). */
static void submit(struct ipsec_pkt *pkt, struct ipsec_sa *sa) {
  struct pstate *ps = ps_of(pkt);
  struct ocf_req *r = &ps->req;
  r->callback = ps->out ? out_cb : in_cb;
  r->opaque = pkt;
  r->flags = ps->ctx->req_flags;
  if (ps->ctx->direct) {
    ipsi_direct_run(sa, r);
    r->callback(r);
    return;
  }
  r->sid = atomic_load_explicit(&sa->sid, memory_order_relaxed);
  struct batch *b = tl_batch;
  if (b != NULL) {
    if (b->n == 64) {
      /* callbacks that run during the flush dispatch on their own */
      tl_batch = NULL;
      batch_flush(b);
      tl_batch = b;
    }
    b->r[b->n++] = r;
    return;
  }
  int rc = ocf_dispatch(r);
  if (rc != 0) {
    r->error = rc; /* refused before it started: complete it here */
    r->callback(r);
  }
}

static void batch_flush(struct batch *b) {
  int i = 0;
  while (i < b->n) {
    int err = 0;
    int done = ocf_dispatch_batch(&b->r[i], b->n - i, &err);
    i += done;
    if (i < b->n) { /* refused: complete it with the error, go on after it */
      struct ocf_req *r = b->r[i++];
      r->error = err ? err : EINVAL;
      r->callback(r);
    }
  }
  b->n = 0;
}

static void restore_trick(struct ipsec_pkt *pkt) {
  struct pstate *ps = ps_of(pkt);
  if (ps->restore_n == 0) return;
  memcpy(pkt->buf + ps->restore_off, ps->saved, ps->restore_n);
  ps->restore_n = 0;
}

/* Handles EAGAIN: true when the request went out again. */
static bool resubmit(struct ipsec_pkt *pkt, struct ipsec_sa *sa) {
  struct pstate *ps = ps_of(pkt);
  struct ocf_req *r = &ps->req;
  if (r->error != EAGAIN || ps->resubmits >= MAX_RESUBMIT) return false;
  ps->resubmits++;
  atomic_fetch_add_explicit(&sa->resubmits, 1, memory_order_relaxed);
  ipsi_sa_migrated(sa, atomic_load(&sa->sid), r->sid);
  ipsi_backup_restore(pkt);
  if (sa->proto == IPSEC_PROTO_AH) memset(ps->u.ah.scratch + ps->u.ah.icv_at, 0, sa->icvlen);
  r->error = 0;
  r->olen = 0;
  int rc = ocf_dispatch(r); /* r->sid holds the new id */
  if (rc != 0) {
    r->error = rc;
    return false;
  }
  return true;
}

/* --- output ------------------------------------------------------------------------------ */

static void out_finish(struct ipsec_pkt *pkt, enum ipsec_verdict v) {
  struct pstate *ps = ps_of(pkt);
  struct ipsec_ctx *ctx = ps->ctx;
  struct ipsec_policy *pol = ps->pol;
  unsigned shard = ps->shard;
  backup_drop(pkt);
  pkt->verdict = v;
  if (pol != NULL)
    acount(&pol->c, v, ps->bytes_orig);
  else
    acount(&ctx->out_c, v, ps->bytes_orig);
  if (v == IPSEC_OK && pkt->nsa > 0) {
    /* where it goes: the outermost header, as the last step left it */
    const uint8_t *ip = pkt->buf + pkt->off;
    struct iph h;
    if (ps->ohl == 0 && ipsi_ip_parse(ip, pkt->len, WALK_ALL, &h) == IPSEC_OK) {
      ps->ohl = (uint16_t)h.hlen;
      ps->oproto = h.proto;
    }
    if (ps->ohl != 0) {
      bool v6 = ip[0] >> 4 == 6;
      memset(&pkt->outer, 0, sizeof(pkt->outer));
      pkt->outer.src.family = pkt->outer.dst.family = v6 ? AF_INET6 : AF_INET;
      memcpy(pkt->outer.src.a, ip + (v6 ? 8 : 12), v6 ? 16 : 4);
      memcpy(pkt->outer.dst.a, ip + (v6 ? 24 : 16), v6 ? 16 : 4);
      pkt->outer.proto = ps->oproto;
      pkt->payload_off = ps->ohl;
      if (ps->oproto == IPPROTO_UDP && (size_t)ps->ohl + UDP_HLEN <= pkt->len) {
        pkt->outer.sport = rd16(ip + ps->ohl);
        pkt->outer.dport = rd16(ip + ps->ohl + 2);
        pkt->payload_off += UDP_HLEN;
      }
    }
  }
  pkt->done(pkt);
  if (pol != NULL) ipsi_pol_unref(pol);
  flight_end(ctx, shard);
}

/* Applies the SA at ps->step (the request half). */
static void out_step(struct ipsec_pkt *pkt) {
  struct pstate *ps = ps_of(pkt);
  struct ipsec_sa *sa = ps->pol->sa[ps->step];
  ps->has_seq = 0;
  ps->resubmits = 0;
  ps->restore_n = 0;
  ps->ohl = 0;
  ps->bytes0 = pkt->len;
  if (ps->df && pkt->len > atomic_load_explicit(&sa->mtu, memory_order_relaxed)) {
    pkt->mtu = ipsec_chain_mtu(ps->pol->sa, ps->pol->nsa, 0);
    if (pkt->len > pkt->mtu) {
      out_step_done(pkt, IPSEC_DROP_TOOBIG);
      return;
    }
  }
  enum ipsec_verdict v = ipsi_sa_life_out(sa, pkt->len);
  if (v != IPSEC_OK) {
    out_step_done(pkt, v);
    return;
  }
  if (sa->proto != IPSEC_PROTO_IPCOMP) {
    ps->has_seq = 1;
    if (!ipsi_seq_take(sa, &ps->seq)) {
      if (!atomic_exchange(&sa->hard_fired, true)) ipsi_sa_event(sa, IPSEC_EV_HARD_EXPIRED);
      out_step_done(pkt, IPSEC_DROP_EXPIRED);
      return;
    }
  }
  int rc = prep(pkt, sa, true);
  if (rc == STEP_DISPATCH)
    submit(pkt, sa);
  else
    out_step_done(pkt, rc == STEP_SKIP ? IPSEC_OK : (enum ipsec_verdict)rc);
}

/* After the reorder stage: count, then the next SA or the end. */
static void out_ordered(struct ipsec_pkt *pkt) {
  struct pstate *ps = ps_of(pkt);
  struct ipsec_sa *sa = ps->pol->sa[ps->step];
  enum ipsec_verdict v = ps->verdict;
  acount(&sa->c, v, ps->bytes0);
  if (pkt->nsa < IPSEC_MAX_CHAIN) pkt->sa[pkt->nsa++] = sa;
  if (ps->has_seq) pkt->seq = ps->seq;
  if (v != IPSEC_OK) {
    out_finish(pkt, v);
    return;
  }
  if (++ps->step < ps->pol->nsa) {
    ps->ip_valid = 0; /* the packet changed */
    out_step(pkt);
    return;
  }
  out_finish(pkt, IPSEC_OK);
}

static void out_step_done(struct ipsec_pkt *pkt, enum ipsec_verdict v) {
  struct pstate *ps = ps_of(pkt);
  backup_drop(pkt);
  ps->verdict = v;
  if (ps->has_seq)
    ipsi_reorder_done(ps->pol->sa[ps->step], pkt, out_ordered);
  else
    out_ordered(pkt);
}

/* The callback half of every output request. */
static void out_cb(struct ocf_req *req) {
  struct ipsec_pkt *pkt = req->opaque;
  struct pstate *ps = ps_of(pkt);
  struct ipsec_sa *sa = ps->pol->sa[ps->step];
  if (req->error == EAGAIN && resubmit(pkt, sa)) return;
  restore_trick(pkt);
  enum ipsec_verdict v;
  if (req->error != 0 && !(sa->proto == IPSEC_PROTO_IPCOMP && req->error == ENOSPC))
    v = err_verdict(pkt, req->error);
  else
    v = finish_step(pkt, sa, true);
  out_step_done(pkt, v);
}

static bool args_ok(struct ipsec_ctx *ctx, struct ipsec_pkt *pkt) {
  return ctx != NULL && pkt != NULL && pkt->done != NULL && pkt->buf != NULL &&
         pkt->off <= pkt->size && pkt->len <= pkt->size - pkt->off;
}

static void ps_start(struct ipsec_ctx *ctx, struct ipsec_pkt *pkt, bool out) {
  struct pstate *ps = ps_of(pkt);
  ps->ctx = ctx;
  ps->out = out;
  ps->pol = NULL;
  ps->step = 0;
  ps->has_seq = 0;
  ps->resubmits = 0;
  ps->restore_n = 0;
  ps->backup = NULL;
  ps->udp_in = 0;
  ps->encap = 0;
  ps->sa_counted = 0;
  ps->ip_valid = 0;
  ps->ohl = 0;
  ps->df = 0;
  ps->bytes_orig = pkt->len;
  pkt->verdict = IPSEC_OK;
  pkt->error = 0;
  pkt->nsa = 0;
  pkt->policy = NULL;
  pkt->mtu = 0;
  pkt->seq = 0;
  ps->seq = 0;
  pkt->payload_off = 0;
  if (out) memset(&pkt->outer, 0, sizeof(pkt->outer));
  flight_begin(ctx, ps);
}

static int output_one(struct ipsec_ctx *ctx, struct ipsec_pkt *pkt) {
  if (!args_ok(ctx, pkt)) return EINVAL;
  ps_start(ctx, pkt, true);
  struct pstate *ps = ps_of(pkt);
  struct iph h;
  enum ipsec_verdict v = ipsi_ip_parse(pkt->buf + pkt->off, pkt->len, WALK_ALL, &h);
  if (v != IPSEC_OK) {
    out_finish(pkt, v);
    return 0;
  }
  if (h.tot < pkt->len) pkt->len = h.tot; /* link-layer padding */
  ps->bytes_orig = pkt->len;
  ps->df = h.ver == 6 || (pkt->buf[pkt->off + 6] & 0x40);
  ps->ip = h; /* the first step need not parse again */
  ps->ip_valid = 1;
  struct flow f;
  ipsi_flow_of(pkt->buf + pkt->off, pkt->len, &h, &f);
  ipsi_rcu_read_lock();
  struct ipsec_policy *pol = ipsi_spd_lookup(ctx, IPSEC_DIR_OUT, &f);
  enum ipsec_action act = pol != NULL ? pol->action : ctx->opts.out_default;
  if (pol != NULL) atomic_fetch_add_explicit(&pol->refs, 1, memory_order_relaxed);
  ipsi_rcu_read_unlock();
  ps->pol = pol;
  pkt->policy = pol;
  if (act == IPSEC_ACT_PROTECT && pol != NULL) {
    out_step(pkt);
  } else {
    out_finish(pkt, act == IPSEC_ACT_BYPASS ? IPSEC_BYPASS : IPSEC_DROP_POLICY);
  }
  return 0;
}

int ipsec_output(struct ipsec_ctx *ctx, struct ipsec_pkt *pkt) { return output_one(ctx, pkt); }

/* --- input ------------------------------------------------------------------------------- */

static void in_finish(struct ipsec_pkt *pkt, enum ipsec_verdict v, struct ipsec_policy *pol) {
  struct pstate *ps = ps_of(pkt);
  struct ipsec_ctx *ctx = ps->ctx;
  unsigned shard = ps->shard;
  backup_drop(pkt);
  pkt->verdict = v;
  pkt->policy = pol;
  if (pol != NULL)
    acount(&pol->c, v, pkt->len);
  else if (!ps->sa_counted)
    acount(&ctx->in_c, v, pkt->len);
  int n = pkt->nsa;
  struct ipsec_sa *sas[IPSEC_MAX_CHAIN];
  memcpy(sas, pkt->sa, sizeof(sas));
  pkt->done(pkt);
  if (pol != NULL) ipsi_pol_unref(pol);
  for (int i = 0; i < n; i++) ipsi_sa_unref(sas[i]);
  flight_end(ctx, shard);
}

/* Whether the packet came through the policy's SAs (outermost first, the
 * reverse of the policy's order).  An IPcomp SA may be missing: a packet that
 * did not compress is sent without it (RFC 3173 2.2). */
static bool chain_fits(const struct ipsec_policy *pol, const struct ipsec_pkt *pkt) {
  int j = 0;
  for (int i = pol->nsa - 1; i >= 0; i--) {
    if (j < pkt->nsa && pkt->sa[j] == pol->sa[i])
      j++;
    else if (pol->sa[i]->proto != IPSEC_PROTO_IPCOMP)
      return false;
  }
  return j == pkt->nsa;
}

/* The end of input: the result must fit the policy of the SAs it came
 * through (RFC 4301 5.2), and a packet without IPsec must be allowed in. */
static void in_policy_check(struct ipsec_pkt *pkt) {
  struct pstate *ps = ps_of(pkt);
  struct iph h;
  enum ipsec_verdict v = ipsi_ip_parse(pkt->buf + pkt->off, pkt->len, WALK_ALL, &h);
  if (v != IPSEC_OK) {
    in_finish(pkt, v, NULL);
    return;
  }
  /* what follows the datagram is not part of it (an IP in IP packet from an
   * IPcomp tunnel, say, carried inside a longer outer one) */
  if (h.tot < pkt->len) pkt->len = h.tot;
  struct flow f;
  ipsi_flow_of(pkt->buf + pkt->off, pkt->len, &h, &f);
  ipsi_rcu_read_lock();
  struct ipsec_policy *pol = NULL;
  if (pkt->nsa == 0) {
    pol = ipsi_spd_lookup(ps->ctx, IPSEC_DIR_IN, &f);
    enum ipsec_action act = pol != NULL ? pol->action : ps->ctx->opts.in_default;
    v = act == IPSEC_ACT_BYPASS ? IPSEC_BYPASS : IPSEC_DROP_POLICY;
  } else {
    /* Every policy that could admit the packet names all its SAs: the set
     * of the first SA that has policies holds them all.  An SA no policy
     * names admits anything. */
    const struct pol_set *set = NULL;
    for (int i = 0; i < pkt->nsa && set == NULL; i++)
      set = atomic_load_explicit(&pkt->sa[i]->in_pols, memory_order_acquire);
    v = IPSEC_OK;
    if (set != NULL) {
      v = IPSEC_DROP_POLICY;
      pol = set->p[0]; /* counts the drop when none fits */
      for (int i = 0; i < set->n; i++) {
        if (chain_fits(set->p[i], pkt) && ipsi_sel_match(&set->p[i]->sel, &f)) {
          pol = set->p[i];
          v = IPSEC_OK;
          break;
        }
      }
    }
  }
  if (pol != NULL) atomic_fetch_add_explicit(&pol->refs, 1, memory_order_relaxed);
  ipsi_rcu_read_unlock();
  in_finish(pkt, v, pol);
}

static void in_step(struct ipsec_pkt *pkt);

static void in_cb(struct ocf_req *req) {
  struct ipsec_pkt *pkt = req->opaque;
  struct pstate *ps = ps_of(pkt);
  struct ipsec_sa *sa = pkt->sa[pkt->nsa - 1];
  if (req->error == EAGAIN && resubmit(pkt, sa)) return;
  restore_trick(pkt);
  enum ipsec_verdict v;
  if (req->error != 0 && sa->proto == IPSEC_PROTO_IPCOMP && req->error == EINVAL)
    v = IPSEC_DROP_DECOMP;
  else if (req->error == ENOSPC && sa->proto == IPSEC_PROTO_IPCOMP)
    v = ps->verdict; /* ipsi_comp_in_prep said which limit applied */
  else if (req->error != 0)
    v = err_verdict(pkt, req->error);
  else
    v = finish_step(pkt, sa, false);
  in_step_done(pkt, v);
}

static void in_step_done(struct ipsec_pkt *pkt, enum ipsec_verdict v) {
  struct pstate *ps = ps_of(pkt);
  struct ipsec_sa *sa = pkt->sa[pkt->nsa - 1];
  backup_drop(pkt);
  if (sa->proto != IPSEC_PROTO_IPCOMP && ps->seq != 0) pkt->seq = ps->seq;
  acount(&sa->c, v, v == IPSEC_OK ? pkt->len : ps->bytes0);
  if (v != IPSEC_OK) {
    ps->sa_counted = 1;
    in_finish(pkt, v, NULL);
    return;
  }
  /* nested: the result is IPsec for us again */
  struct iph h;
  v = ipsi_ip_parse(pkt->buf + pkt->off, pkt->len, WALK_ALL, &h);
  if (v != IPSEC_OK) {
    in_finish(pkt, v, NULL);
    return;
  }
  bool ipsec = h.proto == IPPROTO_ESP || h.proto == IPPROTO_AH || h.proto == IPPROTO_COMP;
  if (sa->mode == IPSEC_MODE_TRANSPORT && ipsec) {
    in_step(pkt);
    return;
  }
  if (sa->mode == IPSEC_MODE_TRANSPORT && (h.proto == IPPROTO_IPIP || h.proto == IPPROTO_IPV6) &&
      pkt->nsa < IPSEC_MAX_CHAIN) {
    /* an IPcomp tunnel sends what does not compress as plain IP in IP */
    struct ipsec_sa *c = ipsi_sa_find_ipcomp_tunnel(ps->ctx, &h.src, &h.dst);
    if (c != NULL) {
      pkt->sa[pkt->nsa++] = c;
      atomic_fetch_add_explicit(&c->uncompressed, 1, memory_order_relaxed);
      size_t hl = h.hlen;
      pkt->off += hl;
      pkt->len -= hl;
      acount(&c->c, IPSEC_OK, pkt->len);
      in_policy_check(pkt);
      return;
    }
  }
  if (sa->mode == IPSEC_MODE_TUNNEL && ipsec && pkt->nsa < IPSEC_MAX_CHAIN) {
    /* another tunnel ends here only if we hold its SA; else deliver */
    uint32_t spi = 0;
    const uint8_t *l4 = pkt->buf + pkt->off + h.hlen;
    size_t rest = pkt->len - h.hlen;
    if (h.proto == IPPROTO_ESP && rest >= 4) spi = rd32(l4);
    if (h.proto == IPPROTO_AH && rest >= 8) spi = rd32(l4 + 4);
    if (h.proto == IPPROTO_COMP && rest >= 4) spi = rd16(l4 + 2);
    ipsi_rcu_read_lock();
    struct ipsec_sa *n = spi ? ipsi_sa_lookup_in(ps->ctx, h.proto, spi, &h.src, &h.dst) : NULL;
    ipsi_rcu_read_unlock();
    if (n != NULL) {
      ipsi_sa_unref(n);
      in_step(pkt);
      return;
    }
  }
  in_policy_check(pkt);
}

/* Rebuilds the IP and UDP headers of a datagram a UDP socket returned. */
static enum ipsec_verdict udp_rebuild(struct ipsec_pkt *pkt) {
  struct ipsec_outer *o = &pkt->outer;
  bool v6 = o->dst.family == AF_INET6;
  size_t hl = v6 ? IPV6_HLEN : IPV4_HLEN, need = hl + UDP_HLEN;
  if ((o->dst.family != AF_INET && !v6) || o->src.family != o->dst.family)
    return IPSEC_DROP_MALFORMED;
  if (pkt->len > 65535 - need) return IPSEC_DROP_BADLEN;
  if (!ipsi_pkt_make_room(ps_of(pkt)->ctx, pkt, need, 0)) return IPSEC_DROP_NOROOM;
  uint8_t *p = pkt->buf + pkt->off - need;
  size_t tot = need + pkt->len;
  memset(p, 0, need);
  if (v6) {
    p[0] = 0x60;
    wr16(p + 4, (uint16_t)(tot - IPV6_HLEN));
    p[6] = IPPROTO_UDP;
    p[7] = 64;
    memcpy(p + 8, o->src.a, 16);
    memcpy(p + 24, o->dst.a, 16);
  } else {
    p[0] = 0x45;
    p[8] = 64;
    memcpy(p + 12, o->src.a, 4);
    memcpy(p + 16, o->dst.a, 4);
    ipsi_ip4_fix(p, tot, IPPROTO_UDP);
  }
  wr16(p + hl, o->sport);
  wr16(p + hl + 2, o->dport);
  wr16(p + hl + 4, (uint16_t)(UDP_HLEN + pkt->len));
  pkt->off -= need;
  pkt->len = tot;
  return IPSEC_OK;
}

/* Finds the IPsec header of the packet and its SA, then the request half. */
static void in_step(struct ipsec_pkt *pkt) {
  struct pstate *ps = ps_of(pkt);
  struct ipsec_ctx *ctx = ps->ctx;
  ps->resubmits = 0;
  ps->restore_n = 0;
  ps->encap = 0;
  ps->seq = 0;
  ps->bytes0 = pkt->len;
  struct iph *h = &ps->ip;
  enum ipsec_verdict v = ipsi_ip_parse(pkt->buf + pkt->off, pkt->len, WALK_ALL, h);
  if (v != IPSEC_OK) {
    in_finish(pkt, v, NULL);
    return;
  }
  if (h->tot < pkt->len) pkt->len = h->tot;
  uint8_t proto = h->proto;
  size_t hdr = pkt->off + h->hlen, end = pkt->off + pkt->len;
  const uint8_t *b = pkt->buf;
  if (proto == IPPROTO_UDP && pkt->nsa == 0 && !h->later_frag) {
    if (end - hdr < UDP_HLEN) {
      in_finish(pkt, IPSEC_DROP_TRUNCATED, NULL);
      return;
    }
    size_t ulen = rd16(b + hdr + 4);
    if (rd16(b + hdr + 2) == ctx->encap_port) {
      if (ulen < UDP_HLEN || ulen > end - hdr) {
        in_finish(pkt, IPSEC_DROP_BADLEN, NULL);
        return;
      }
      size_t pl = ulen - UDP_HLEN;
      const uint8_t *u = b + hdr + UDP_HLEN;
      if (pl == 1 && u[0] == 0xff) {
        in_finish(pkt, IPSEC_DROP_KEEPALIVE, NULL);
        return;
      }
      if (pl >= 4 && rd32(u) == 0) {
        in_finish(pkt, IPSEC_IKE, NULL);
        return;
      }
      if (h->frag) {
        in_finish(pkt, IPSEC_DROP_MALFORMED, NULL);
        return;
      }
      ps->encap = 1;
      proto = IPPROTO_ESP;
      hdr += UDP_HLEN;
      end = hdr + pl;
      pkt->len = end - pkt->off;
    }
  }
  if (proto != IPPROTO_ESP && proto != IPPROTO_AH && proto != IPPROTO_COMP) {
    in_policy_check(pkt);
    return;
  }
  if (h->frag) {
    in_finish(pkt, IPSEC_DROP_MALFORMED, NULL); /* reassembly is the IP layer's */
    return;
  }
  if (pkt->nsa >= IPSEC_MAX_CHAIN) {
    in_finish(pkt, IPSEC_DROP_MALFORMED, NULL);
    return;
  }
  size_t need = proto == IPPROTO_AH ? 8 : 4;
  if (end - hdr < need) {
    in_finish(pkt, IPSEC_DROP_TRUNCATED, NULL);
    return;
  }
  uint32_t spi = proto == IPPROTO_ESP  ? rd32(b + hdr)
                 : proto == IPPROTO_AH ? rd32(b + hdr + 4)
                                       : rd16(b + hdr + 2);
  ipsi_rcu_read_lock();
  struct ipsec_sa *sa = ipsi_sa_lookup_in(ctx, proto, spi, &h->src, &h->dst);
  ipsi_rcu_read_unlock();
  if (sa == NULL) {
    in_finish(pkt, IPSEC_DROP_NOSA, NULL);
    return;
  }
  pkt->sa[pkt->nsa++] = sa;
  ps->hdr = hdr;
  ps->l3 = pkt->off;
  if (((sa->flags & IPSEC_SA_UDP_ENCAP) != 0) != (ps->encap != 0)) {
    in_step_done(pkt, IPSEC_DROP_POLICY); /* in UDP when the SA is not, or not when it is */
    return;
  }
  v = ipsi_sa_life_in(sa, 0, false);
  if (v != IPSEC_OK) {
    in_step_done(pkt, v);
    return;
  }
  int rc = prep(pkt, sa, false);
  if (rc == STEP_DISPATCH)
    submit(pkt, sa);
  else
    in_step_done(pkt, rc == STEP_SKIP ? IPSEC_OK : (enum ipsec_verdict)rc);
}

static int input_one(struct ipsec_ctx *ctx, struct ipsec_pkt *pkt) {
  if (!args_ok(ctx, pkt)) return EINVAL;
  ps_start(ctx, pkt, false);
  if (pkt->flags & IPSEC_PKT_UDP_PAYLOAD) {
    const uint8_t *u = pkt->buf + pkt->off;
    if (pkt->len == 1 && u[0] == 0xff) {
      in_finish(pkt, IPSEC_DROP_KEEPALIVE, NULL);
      return 0;
    }
    if (pkt->len >= 4 && rd32(u) == 0) {
      in_finish(pkt, IPSEC_IKE, NULL);
      return 0;
    }
    enum ipsec_verdict v = udp_rebuild(pkt);
    if (v != IPSEC_OK) {
      in_finish(pkt, v, NULL);
      return 0;
    }
    ps_of(pkt)->udp_in = 1;
  }
  in_step(pkt);
  return 0;
}

int ipsec_input(struct ipsec_ctx *ctx, struct ipsec_pkt *pkt) { return input_one(ctx, pkt); }

/* --- batches ------------------------------------------------------------------------------- */

static int run_batch(struct ipsec_ctx *ctx, struct ipsec_pkt *const *pkts, int n, bool out) {
  if (pkts == NULL || n < 0) return 0;
  struct batch b;
  b.n = 0;
  struct batch *saved = tl_batch;
  /* Only the first requests of the packets are gathered; callbacks that
   * run inline meanwhile dispatch theirs alone (they see no batch). */
  tl_batch = ctx != NULL && !ctx->direct ? &b : NULL;
  int i;
  for (i = 0; i < n; i++) {
    int rc = out ? output_one(ctx, pkts[i]) : input_one(ctx, pkts[i]);
    if (rc != 0) break;
  }
  tl_batch = saved;
  batch_flush(&b);
  return i;
}

int ipsec_output_batch(struct ipsec_ctx *ctx, struct ipsec_pkt *const *pkts, int n) {
  return run_batch(ctx, pkts, n, true);
}

int ipsec_input_batch(struct ipsec_ctx *ctx, struct ipsec_pkt *const *pkts, int n) {
  return run_batch(ctx, pkts, n, false);
}
