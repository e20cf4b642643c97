/* ops.c - the sim producer's entry points (sim_ops): sessions, and the
 * symmetric and public-key requests a card takes onto its rings, computes
 * (exact mode) and hands to the model for a completion time.  Separate
 * because it is the producer API side, called from the framework's
 * threads. */
#include "drivers/sim/sim_int.h"

#include <errno.h>
#include <stdlib.h>

#include "drivers/engine/engine.h"

static uint64_t g_sess_ids; /* [sim_lock] */

/* --- producer entry points ------------------------------------------------- */

static int sim_newsession(void *softc, void **dsess, const struct ocf_sessparam *chain) {
  struct card *c = softc;
  struct ssess *s = calloc(1, sizeof(*s));
  if (s == NULL) return ENOMEM;
  for (const struct ocf_sessparam *p = chain; p != NULL && s->n < 3; p = p->next)
    s->alg[s->n++] = p->alg;
  /* timing mode needs the layout (IV and MAC lengths) only, no keys */
  int rc = c->timing ? ocf_eng_new_layout(&s->xf, chain) : ocf_eng_new(&s->xf, chain);
  if (rc != 0) {
    free(s);
    return rc;
  }
  pthread_mutex_lock(&sim_lock);
  s->id = ++g_sess_ids;
  pthread_mutex_unlock(&sim_lock);
  *dsess = s;
  return 0;
}

static void sim_freesession(void *softc, void *dsess) {
  struct ssess *s = dsess;
  if (s == NULL) return;
  ocf_eng_free(s->xf);
  free(s);
}

static void lost_now(struct ocf_req *r, struct ocf_kreq *k) {
  if (k != NULL) {
    k->error = OCF_ELOST;
    ocf_kdone(k);
  } else {
    r->error = OCF_ELOST;
    ocf_done(r);
  }
}

static int sim_process(void *softc, void *dsess, struct ocf_req *req) {
  struct card *c = softc;
  struct ssess *ss = dsess;
  pthread_mutex_lock(&sim_lock);
  if (c->state >= CS_DEAD) {
    pthread_mutex_unlock(&sim_lock);
    lost_now(req, NULL);
    return 0;
  }
  if (c->ring_used >= c->p->ring) {
    c->want_unblock = true;
    pthread_mutex_unlock(&sim_lock);
    return OCF_EBUSY_DRV;
  }
  c->ring_used++;
  pthread_mutex_unlock(&sim_lock);

  struct job *j = calloc(1, sizeof(*j));
  if (j != NULL) {
    j->req = req;
    ocf_eng_hull(ss->xf, req, &j->lo, &j->hi);
    j->flat = malloc(j->hi > j->lo ? j->hi - j->lo : 1);
  }
  if (j == NULL || j->flat == NULL) {
    free(j);
    pthread_mutex_lock(&sim_lock);
    c->ring_used--;
    bool unblock = c->want_unblock;
    c->want_unblock = false;
    pthread_mutex_unlock(&sim_lock);
    if (unblock) ocf_unblock(c->hid);
    return ENOMEM;
  }
  /* DMA in; exact mode computes now and the result waits for DMA out */
  ocf_eng_dma_in(req, j->flat, j->lo, j->hi);
  if (!c->timing) j->err = ocf_eng_apply(ss->xf, req, j->flat, j->lo, j->hi - j->lo);

  pthread_mutex_lock(&sim_lock);
  if (c->state >= CS_DEAD) {
    c->ring_used--;
    pthread_mutex_unlock(&sim_lock);
    sim_job_free(j);
    lost_now(req, NULL);
    return 0;
  }
  sim_schedule_sym(c, j, ss, mono_ns());
  pthread_mutex_unlock(&sim_lock);
  return 0;
}

static int sim_kprocess(void *softc, struct ocf_kreq *k) {
  struct card *c = softc;
  if (k->iparams < 1 || k->iparams + k->oparams > OCF_KMAX_PARAM || k->oparams < 1) return EINVAL;
  if ((k->op == OCF_KOP_MOD_EXP && k->iparams != 3) ||
      (k->op == OCF_KOP_MOD_EXP_CRT && k->iparams != 6))
    return EINVAL;
  pthread_mutex_lock(&sim_lock);
  if (c->state >= CS_DEAD) {
    pthread_mutex_unlock(&sim_lock);
    lost_now(NULL, k);
    return 0;
  }
  if (c->kring_used >= PK_RING) {
    c->want_unblock = true;
    pthread_mutex_unlock(&sim_lock);
    return OCF_EBUSY_DRV;
  }
  c->kring_used++;
  pthread_mutex_unlock(&sim_lock);

  size_t outlen = (k->param[k->iparams].nbits + 7) / 8;
  struct job *j = calloc(1, sizeof(*j));
  if (j != NULL) {
    j->kreq = k;
    j->lo = 0;
    j->hi = outlen;
    j->flat = calloc(1, outlen ? outlen : 1);
  }
  if (j == NULL || j->flat == NULL) {
    free(j);
    pthread_mutex_lock(&sim_lock);
    c->kring_used--;
    pthread_mutex_unlock(&sim_lock);
    return ENOMEM;
  }
  if (!c->timing) j->err = ocf_eng_kop(k, j->flat, outlen);

  pthread_mutex_lock(&sim_lock);
  if (c->state >= CS_DEAD) {
    c->kring_used--;
    pthread_mutex_unlock(&sim_lock);
    sim_job_free(j);
    lost_now(NULL, k);
    return 0;
  }
  sim_schedule_pk(c, j, mono_ns());
  pthread_mutex_unlock(&sim_lock);
  return 0;
}

const struct ocf_driver_ops sim_ops = {
    .newsession = sim_newsession,
    .freesession = sim_freesession,
    .process = sim_process,
    .kprocess = sim_kprocess,
};
