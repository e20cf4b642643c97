/* remote.c - the "ocfd" producer: requests handed to a running ocfd (the
 * system's /dev/crypto, ocfd(8)) through libocfdev, so that the gateway's
 * SAs can run on whatever that daemon serves (its cards, shared with other
 * programs).  The framework chooses it like any producer: it registers as
 * hardware, so sessions go to it before the in-process software producer,
 * with the algorithms the daemon's producers serve.
 *
 * One connection carries every session and request; a lock serializes its
 * use (libocfdev connections are not thread-safe).  A reaper thread waits
 * for completions and calls ocf_done.  When the daemon goes away, every
 * request in flight comes back as lost (OCF_ELOST), the producer detaches
 * (ocf_driver_detach: no new work; the framework removes it at shutdown),
 * and the framework moves the SAs' sessions to another producer: the
 * library sends the packets again there, and nothing is lost. */
#include <errno.h>
#include <ocf/driver.h>
#include <ocf/ocfdev.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipsecd/ipsecd.h"

struct remote {
  struct ocfdev *d;     /* guarded by lock */
  pthread_mutex_t lock; /* the connection */
  uint32_t hid;
  pthread_t reaper;
  bool reaper_started;
  _Atomic int stop;     /* the reaper should end */
  _Atomic int dead;     /* the connection failed: no new work */
  _Atomic int inflight; /* requests submitted and not completed */
};

struct rop {
  struct ocfdev_op op;
  struct ocf_req *req;
};

static struct remote R;

static bool conn_error(int e) { return e == ECONNRESET || e == EPIPE || e == ENOTCONN; }

static int r_newsession(void *softc, void **dsess, const struct ocf_sessparam *chain) {
  struct remote *r = softc;
  if (atomic_load(&r->dead)) return ENODEV;
  uint32_t *ses = malloc(sizeof(*ses));
  if (ses == NULL) return ENOMEM;
  pthread_mutex_lock(&r->lock);
  int rc = ocfdev_newsession(r->d, chain, 0, ses, NULL);
  pthread_mutex_unlock(&r->lock);
  if (rc != 0) {
    free(ses);
    return conn_error(rc) ? ENODEV : rc;
  }
  *dsess = ses;
  return 0;
}

static void r_freesession(void *softc, void *dsess) {
  struct remote *r = softc;
  if (!atomic_load(&r->dead)) {
    pthread_mutex_lock(&r->lock);
    ocfdev_freesession(r->d, *(uint32_t *)dsess);
    pthread_mutex_unlock(&r->lock);
  }
  free(dsess);
}

/* the daemon is gone: no new work; what it held comes back as lost */
static void went_away(struct remote *r, int err) {
  if (atomic_exchange(&r->dead, 1)) return;
  gw_log(0, "ocfd connection lost (%s): its SAs move to other producers", strerror(err));
  ocf_driver_detach(r->hid);
}

static int r_process(void *softc, void *dsess, struct ocf_req *req) {
  struct remote *r = softc;
  if (req->buf.type != OCF_BUF_CONTIG || req->out.type != OCF_BUF_NONE) return ENOTSUP;
  struct rop *o = calloc(1, sizeof(*o));
  if (o == NULL) return ENOMEM;
  o->req = req;
  o->op.ses = *(uint32_t *)dsess;
  o->op.ndesc = req->ndesc;
  memcpy(o->op.desc, req->desc, sizeof(o->op.desc));
  o->op.buf = req->buf.u.contig.base;
  o->op.len = req->buf.u.contig.len;
  o->op.opaque = o;
  int rc = ENODEV;
  bool taken = false;
  atomic_fetch_add(&r->inflight, 1);
  if (!atomic_load(&r->dead)) {
    pthread_mutex_lock(&r->lock);
    rc = ocfdev_submit(r->d, &o->op);
    /* a connection that dies in the send completes the request with the
     * error, and ocfdev_reap hands it back: it is ours no more.  (Counting
     * requests in flight before and after cannot tell: replies to others
     * read while the send waited lower the count.) */
    taken = ocfdev_op_busy(&o->op);
    pthread_mutex_unlock(&r->lock);
  }
  if (rc == 0 || taken) {
    if (rc != 0) went_away(r, rc);
    return 0;
  }
  atomic_fetch_sub(&r->inflight, 1);
  free(o);
  if (conn_error(rc) || rc == ENODEV) {
    went_away(r, rc == ENODEV ? ECONNRESET : rc);
    req->error = OCF_ELOST; /* never reached the daemon: run it elsewhere */
    ocf_done(req);
    return 0;
  }
  return rc;
}

static void *reaper(void *arg) {
  struct remote *r = arg;
  struct ocfdev_op *done[64];
  while (!atomic_load(&r->stop)) {
    /* once the daemon is gone and everything came back, there is nothing
     * to wait for: the framework unregisters the producer at shutdown */
    struct pollfd p = {.fd = ocfdev_fd(r->d), .events = POLLIN};
    if (atomic_load(&r->dead) && atomic_load(&r->inflight) == 0) {
      poll(NULL, 0, 100);
      continue;
    }
    /* a hang-up is noticed even with nothing in flight: the sessions move
     * before the next packet finds the daemon gone */
    if (poll(&p, 1, 100) > 0 && (p.revents & (POLLHUP | POLLERR)) && atomic_load(&r->inflight) == 0)
      went_away(r, ECONNRESET);
    int n = 0;
    pthread_mutex_lock(&r->lock);
    int rc = ocfdev_reap(r->d, done, 64, 0, &n);
    pthread_mutex_unlock(&r->lock);
    if (rc != 0 && rc != ENOENT && rc != EAGAIN && rc != ETIMEDOUT) went_away(r, rc);
    for (int i = 0; i < n; i++) {
      struct rop *o = done[i]->opaque;
      struct ocf_req *req = o->req;
      req->error = conn_error(o->op.error) ? OCF_ELOST : o->op.error;
      if (conn_error(o->op.error)) went_away(r, o->op.error);
      req->olen = o->op.olen;
      free(o);
      atomic_fetch_sub(&r->inflight, 1);
      ocf_done(req);
    }
  }
  return NULL;
}

static const struct ocf_driver_ops remote_ops = {
    .newsession = r_newsession,
    .freesession = r_freesession,
    .process = r_process,
};

int remote_attach(const char *path, char *err, size_t errlen) {
  struct remote *r = &R;
  memset(r, 0, sizeof(*r));
  pthread_mutex_init(&r->lock, NULL);
  int rc = ocfdev_open(path, &r->d);
  if (rc != 0) {
    snprintf(err, errlen, "ocfd at %s: %s", path, strerror(rc));
    return rc;
  }
  struct ocfdev_stats *st = NULL;
  rc = ocfdev_stats(r->d, &st);
  if (rc != 0) {
    snprintf(err, errlen, "ocfd at %s: no statistics: %s", path, strerror(rc));
    ocfdev_close(r->d);
    return rc;
  }
  rc = ocf_get_driverid("ocfd", OCF_DRV_HARDWARE, &remote_ops, r, &r->hid);
  if (rc == 0) rc = pthread_create(&r->reaper, NULL, reaper, r);
  if (rc != 0) {
    snprintf(err, errlen, "ocfd producer: %s", strerror(rc));
    ocfdev_stats_free(st);
    if (r->hid) ocf_unregister_all(r->hid);
    ocfdev_close(r->d);
    return rc;
  }
  r->reaper_started = true;
  /* every algorithm some producer of the daemon serves, each through the
   * framework's known-answer self-test (which runs through the daemon) */
  bool seen[OCF_ALG__MAX] = {false};
  int n = 0, failed = 0;
  for (int p = 0; p < st->nprod; p++)
    for (int k = 0; k < st->prod[p].nalg; k++) {
      enum ocf_alg a = st->prod[p].alg[k];
      if ((unsigned)a >= OCF_ALG__MAX || seen[a]) continue;
      seen[a] = true;
      if (ocf_register(r->hid, a, st->prod[p].alg_maxlen[k], 0) == 0)
        n++;
      else
        failed++;
    }
  ocfdev_stats_free(st);
  gw_log(2, "ocfd at %s attached as producer ocfd: %d algorithms%s", path, n,
         failed ? " (some failed their self-test and are not used)" : "");
  return 0;
}

void remote_close(void) {
  struct remote *r = &R;
  if (r->d == NULL) return;
  atomic_store(&r->stop, 1);
  if (r->reaper_started) pthread_join(r->reaper, NULL);
  ocfdev_close(r->d);
  r->d = NULL;
  pthread_mutex_destroy(&r->lock);
}
