/* selftest.c - known-answer self-test of a producer's algorithm at
 * registration (as Linux's crypto manager tests an algorithm before anyone
 * may use it).  The request goes through the producer's own process() with
 * one NIST/RFC vector; an algorithm that gives a wrong answer is not
 * announced, so it never gets traffic. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "core/internal.h"

struct kat {
  enum ocf_alg alg;
  const uint8_t *key, *iv, *aad, *in, *out, *tag;
  size_t keylen, ivlen, aadlen, inlen, outlen, taglen;
};
#include "core/selftest_vectors.h"

/* One self-test request; heap-allocated because an asynchronous producer
 * that never answers keeps it (it is then freed by the late callback). */
struct job {
  struct ocf_req req;
  struct sess sess;
  pthread_mutex_t m;
  pthread_cond_t cv;
  int done, abandoned;
  uint8_t *buf;
  size_t buflen;
};

static void job_free(struct job *j) {
  pthread_mutex_destroy(&j->m);
  pthread_cond_destroy(&j->cv);
  free(j->buf);
  free(j);
}

static void job_cb(struct ocf_req *r) {
  struct job *j = (struct job *)((char *)r - offsetof(struct job, req));
  pthread_mutex_lock(&j->m);
  if (j->abandoned) {
    pthread_mutex_unlock(&j->m);
    job_free(j);
    return;
  }
  j->done = 1;
  pthread_cond_signal(&j->cv);
  pthread_mutex_unlock(&j->m);
}

static const struct kat *kat_for(enum ocf_alg alg) {
  for (size_t i = 0; i < sizeof(kats) / sizeof(kats[0]); i++)
    if (kats[i].alg == alg) return &kats[i];
  return NULL;
}

/* What a correct producer leaves in the buffer, given the input it got. */
static int expected(const struct kat *k, enum ocf_alg alg, const uint8_t *in, size_t n,
                    uint8_t *want) {
  if (alg == OCF_ALG_NULL) {
    if (n) memcpy(want, in, n);
    return 0;
  }
  const struct ocf_alg_info *ai = ocf_alg_lookup(alg);
  if (k->aadlen) memcpy(want, k->aad, k->aadlen);
  if (ai->cls == OCF_CLASS_MAC) {
    if (k->inlen) memcpy(want, k->in, k->inlen);
    if (k->taglen) memcpy(want + k->inlen, k->tag, k->taglen);
  } else {
    if (k->outlen) memcpy(want + k->aadlen, k->out, k->outlen);
    if (k->taglen) memcpy(want + k->aadlen + k->outlen, k->tag, k->taglen);
  }
  return 0;
}

/* Runs r on d and waits up to two seconds in all.  A producer that answers
 * busy (its ring is full of the traffic of algorithms it registered before)
 * is asked again until then: busy is not a wrong answer.  0, the producer's
 * error, EBUSY (busy for the whole time; d does not hold j) or ETIMEDOUT
 * (taken but not answered: j abandoned). */
static int run_on(struct drv *d, struct job *j) {
  struct timespec ts, now;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += 2;
  int rc;
  for (;;) {
    j->req.state_ = RS_QUEUED;
    atomic_store(&j->sess.inflight, 1);
    rc = d->ops.process(d->softc, j->req.dsess_, &j->req);
    if (rc != OCF_EBUSY_DRV) break;
    clock_gettime(CLOCK_REALTIME, &now);
    if (now.tv_sec > ts.tv_sec || (now.tv_sec == ts.tv_sec && now.tv_nsec >= ts.tv_nsec))
      return EBUSY;
    struct timespec pause = {0, 1000000}; /* 1 ms: the ring drains meanwhile */
    nanosleep(&pause, NULL);
  }
  if (rc != 0) return rc;
  rc = 0;
  pthread_mutex_lock(&j->m);
  while (!j->done && rc == 0) rc = pthread_cond_timedwait(&j->cv, &j->m, &ts);
  if (!j->done) {
    j->abandoned = 1; /* the callback frees it, if it ever comes */
    pthread_mutex_unlock(&j->m);
    return ETIMEDOUT;
  }
  pthread_mutex_unlock(&j->m);
  return j->req.error;
}

int selftest_run(struct drv *d, enum ocf_alg alg) {
  const struct ocf_alg_info *ai = ocf_alg_lookup(alg);
  const struct kat *k = kat_for(alg);
  static const uint8_t null_in[32] = "self-test data for the NULL alg";
  static const struct kat null_kat = {.alg = OCF_ALG_NULL, .in = null_in, .inlen = 32};
  if (alg == OCF_ALG_NULL) k = &null_kat;
  if (k == NULL) return 0; /* DEFLATE: its output is not unique; the tests cover it */

  struct job *j = calloc(1, sizeof(*j));
  if (j == NULL) return ENOMEM;
  pthread_mutex_init(&j->m, NULL);
  pthread_cond_init(&j->cv, NULL);
  j->buflen = k->aadlen + k->inlen + k->taglen;
  j->buf = malloc(j->buflen ? j->buflen : 1);
  uint8_t *want = malloc(j->buflen ? j->buflen : 1);
  if (j->buf == NULL || want == NULL) {
    free(want);
    job_free(j);
    return ENOMEM;
  }
  /* Vectors leave unused fields NULL: copy only what has bytes. */
  if (k->aadlen) memcpy(j->buf, k->aad, k->aadlen);
  if (k->inlen) memcpy(j->buf + k->aadlen, k->in, k->inlen);
  if (k->taglen) memset(j->buf + k->aadlen + k->inlen, 0, k->taglen);
  expected(k, alg, j->buf, j->buflen, want);

  struct sess *s = &j->sess; /* a private session nobody can look up */
  s->nparam = 1;
  s->param[0] = (struct ocf_sessparam){
      .alg = alg, .key = k->key, .keylen = k->keylen, .maclen = k->taglen, .ivlen = k->ivlen};
  s->ai[0] = ai;
  s->ivlen[0] = k->ivlen ? k->ivlen : ai->ivlen;
  s->maclen[0] = k->taglen;
  s->selftest = true;

  void *dsess = NULL;
  int rc = d->ops.newsession(d->softc, &dsess, &s->param[0]);
  if (rc != 0) {
    free(want);
    job_free(j);
    return ocf_seterr(EIO, "%s: self-test could not open a %s session: %s", d->name, ai->name,
                      ocf_strerror(rc));
  }
  struct ocf_req *r = &j->req;
  r->buf = ocf_buf_contig(j->buf, j->buflen);
  r->ndesc = 1;
  r->flags = OCF_REQ_CBIMM;
  r->callback = job_cb;
  r->sess_ = s;
  r->dsess_ = dsess;
  struct ocf_desc *dc = &r->desc[0];
  dc->alg = alg;
  if (k->ivlen) {
    dc->flags |= OCF_D_IV_EXPLICIT;
    memcpy(dc->iv, k->iv, k->ivlen);
  }
  if (ai->cls == OCF_CLASS_MAC) {
    dc->len = k->inlen;
    dc->inject = k->inlen;
  } else {
    dc->flags |= OCF_D_ENCRYPT;
    dc->skip = k->aadlen;
    dc->len = k->inlen;
    dc->aad_skip = 0;
    dc->aad_len = k->aadlen;
    dc->inject = k->aadlen + k->inlen;
  }
  rc = run_on(d, j);
  if (rc == ETIMEDOUT) {
    /* The producer still holds the request and its session: leave both. */
    free(want);
    return ocf_seterr(EIO, "%s: %s self-test got no answer within 2 s", d->name, ai->name);
  }
  if (rc == 0 && memcmp(j->buf, want, j->buflen) != 0) rc = EBADMSG;
  d->ops.freesession(d->softc, dsess);
  free(want);
  job_free(j);
  if (rc != 0)
    return ocf_seterr(EIO, "%s: %s failed its known-answer self-test (%s)", d->name, ai->name,
                      rc == EBADMSG ? "wrong result"
                      : rc == EBUSY ? "producer busy for 2 s"
                                    : ocf_strerror(rc));
  return 0;
}
