/* ocfdev_info.c - libocfdev's public-key requests and the daemon's
 * introspection (drivers, statistics): control exchanges, one at a time. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/ocfdev_int.h"

int ocfdev_kop(struct ocfdev *d, struct ocf_kreq *k) {
  if (d == NULL || k == NULL || k->iparams < 0 || k->oparams < 0 ||
      k->iparams + k->oparams > OCF_KMAX_PARAM)
    return EINVAL;
  int np = k->iparams + k->oparams;
  uint8_t head[sizeof(struct ocfw_key) + OCF_KMAX_PARAM * sizeof(struct ocfw_kparam)];
  struct ocfw_key wk = {(uint32_t)k->op, (uint16_t)k->iparams, (uint16_t)k->oparams};
  memcpy(head, &wk, sizeof(wk));
  size_t inbytes = 0;
  for (int i = 0; i < np; i++) {
    size_t nb = (k->param[i].nbits + 7) / 8;
    if (nb > OCFW_MAX_KBYTES || (nb && k->param[i].p == NULL)) return EINVAL;
    struct ocfw_kparam kp = {(uint32_t)k->param[i].nbits, (uint32_t)nb};
    memcpy(head + sizeof(wk) + i * sizeof(kp), &kp, sizeof(kp));
    if (i < k->iparams) inbytes += nb;
  }
  uint8_t *in = malloc(inbytes ? inbytes : 1);
  if (in == NULL) return ENOMEM;
  size_t off = 0;
  for (int i = 0; i < k->iparams; i++) {
    size_t nb = (k->param[i].nbits + 7) / 8;
    if (nb) memcpy(in + off, k->param[i].p, nb);
    off += nb;
  }
  int rc =
      ocfdev_ctl(d, OCFW_KEY, head, sizeof(wk) + np * sizeof(struct ocfw_kparam), in, inbytes, -1);
  explicit_bzero(in, inbytes);
  free(in);
  if (rc == ECONNRESET || rc == EPIPE || d->dead) return rc;
  k->error = rc;
  if (rc == 0) {
    struct ocfw_key_rep r;
    if (d->ctl_len < sizeof(r)) return k->error = EPROTO;
    memcpy(&r, d->ctl_body, sizeof(r));
    k->status = (int)r.kstatus;
    size_t p = sizeof(r);
    for (int i = k->iparams; i < np; i++) {
      struct ocfw_kparam kp;
      if (d->ctl_len - p < sizeof(kp)) return k->error = EPROTO;
      memcpy(&kp, d->ctl_body + p, sizeof(kp));
      p += sizeof(kp);
      size_t room = (k->param[i].nbits + 7) / 8;
      if (d->ctl_len - p < kp.nbytes || kp.nbytes > room) return k->error = EPROTO;
      memcpy(k->param[i].p, d->ctl_body + p, kp.nbytes);
      if (kp.nbytes < room) memset(k->param[i].p + kp.nbytes, 0, room - kp.nbytes);
      k->param[i].nbits = kp.nbits;
      p += kp.nbytes;
    }
  }
  ocfdev_ctl_done(d); /* the results are the caller's now */
  return k->error;
}

int ocfdev_asymfeat(struct ocfdev *d, uint32_t *feat) {
  int rc = ocfdev_ctl(d, OCFW_ASYMFEAT, NULL, 0, NULL, 0, -1);
  if (rc == 0 && d->ctl_len != sizeof(*feat)) rc = EPROTO;
  if (rc == 0) memcpy(feat, d->ctl_body, sizeof(*feat));
  return rc;
}

int ocfdev_drivers(struct ocfdev *d, struct ocfdev_driver *out, int max, int *n) {
  *n = 0;
  int rc = ocfdev_ctl(d, OCFW_DRIVERS, NULL, 0, NULL, 0, -1);
  uint32_t cnt = 0;
  if (rc == 0 && d->ctl_len < 4) rc = EPROTO;
  if (rc == 0) memcpy(&cnt, d->ctl_body, 4);
  if (rc == 0 && d->ctl_len != 4 + cnt * sizeof(struct ocfw_driver)) rc = EPROTO;
  if (rc != 0) return rc;
  for (uint32_t i = 0; i < cnt && (int)i < max; i++) {
    struct ocfw_driver w;
    memcpy(&w, d->ctl_body + 4 + i * sizeof(w), sizeof(w));
    out[i].hid = w.hid;
    out[i].flags = w.flags;
    memcpy(out[i].name, w.name, sizeof(out[i].name));
    out[i].name[sizeof(out[i].name) - 1] = '\0';
  }
  *n = (int)cnt;
  return 0;
}

int ocfdev_stats(struct ocfdev *d, struct ocfdev_stats **out) {
  if (d == NULL || out == NULL) return EINVAL;
  *out = NULL;
  int rc = ocfdev_ctl(d, OCFW_STATS, NULL, 0, NULL, 0, -1);
  if (rc) return rc;
  struct ocfw_stats hd;
  const uint8_t *b = d->ctl_body;
  size_t n = d->ctl_len;
  if (b == NULL || ocfw_dec_stats(b, n, &hd) != 0) return EPROTO;
  struct ocfdev_stats *s = calloc(1, sizeof(*s));
  if (s == NULL) return ENOMEM;
  s->prod = calloc(hd.ndrv ? hd.ndrv : 1, sizeof(*s->prod));
  if (s->prod == NULL) {
    free(s);
    return ENOMEM;
  }
  memcpy(s->policy, hd.policy, sizeof(s->policy));
  s->policy[sizeof(s->policy) - 1] = '\0';
  s->clients = hd.clients;
  s->accepted = hd.accepted;
  s->sessions = hd.sessions;
  s->inflight = hd.inflight;
  s->served = hd.served;
  s->failed = hd.failed;
  s->shm_bytes = hd.shm_bytes;
  s->uptime = (double)hd.uptime_ms / 1000.0;
  size_t off = sizeof(hd);
  for (uint32_t i = 0; i < hd.ndrv; i++) {
    struct ocfw_dstat ds;
    const uint8_t *lp;
    if (ocfw_dec_dstat(b, n, &off, &ds, &lp) != 0) { /* checked above: cannot happen */
      ocfdev_stats_free(s);
      return EPROTO;
    }
    struct ocfdev_producer *p = &s->prod[s->nprod++];
    p->st.hid = ds.hid;
    memcpy(p->st.name, ds.name, sizeof(p->st.name));
    p->st.name[sizeof(p->st.name) - 1] = '\0';
    p->st.flags = ds.flags;
    p->st.sessions = ds.sessions;
    p->st.requests = ds.requests;
    p->st.krequests = ds.krequests;
    p->st.bytes = ds.bytes;
    p->st.errors = ds.errors;
    p->st.migrations = ds.migrations;
    p->st.queued = ds.queued;
    p->st.detached = (int)ds.detached;
    p->st.p50_us = ds.p50_us;
    p->st.p99_us = ds.p99_us;
    struct ocfw_lim l;
    for (int k = 0; k < ds.nalg; k++, lp += sizeof(l)) {
      memcpy(&l, lp, sizeof(l));
      p->alg[k] = (enum ocf_alg)l.id;
      p->alg_maxlen[k] = (size_t)l.max;
    }
    p->nalg = ds.nalg;
    for (int k = 0; k < ds.nfailed; k++, lp += sizeof(l)) {
      memcpy(&l, lp, sizeof(l));
      p->failed[k] = (enum ocf_alg)l.id;
    }
    p->nfailed = ds.nfailed;
    for (int k = 0; k < ds.nkop; k++, lp += sizeof(l)) {
      memcpy(&l, lp, sizeof(l));
      p->kop[k] = (enum ocf_kop)l.id;
      p->kop_maxbits[k] = (size_t)l.max;
    }
    p->nkop = ds.nkop;
  }
  *out = s;
  return 0;
}

void ocfdev_stats_free(struct ocfdev_stats *s) {
  if (s == NULL) return;
  free(s->prod);
  free(s);
}
