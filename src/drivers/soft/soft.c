/*
 * soft.c - the software pseudo-driver: a synchronous producer that runs every
 * request in the calling thread through the built-in producers' transform
 * engine (src/drivers/engine: OpenSSL 3 EVP, low-level digests, zlib), and
 * the public-key operations of soft_pk.c.
 */
#include "drivers/soft/soft.h"

#include <errno.h>
#include <ocf/driver.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "drivers/engine/engine.h"
#include "drivers/soft/soft_blind.h"
#include "drivers/soft/soft_pk.h"

struct softc {
  uint32_t hid;
  struct softc *next; /* attached list, under soft_lock */
};

static pthread_mutex_t soft_lock = PTHREAD_MUTEX_INITIALIZER;
static struct softc *soft_list;

static int soft_newsession(void *softc, void **dsess, const struct ocf_sessparam *chain) {
  (void)softc;
  return ocf_eng_new((struct ocf_eng_sess **)dsess, chain);
}

static void soft_freesession(void *softc, void *dsess) {
  (void)softc;
  ocf_eng_free(dsess);
}

static int soft_process(void *softc, void *dsess, struct ocf_req *req) {
  (void)softc;
  req->error = dsess == NULL ? EINVAL : ocf_eng_run(dsess, req);
  ocf_done(req);
  return 0;
}

static const struct ocf_driver_ops soft_ops = {
    .newsession = soft_newsession,
    .freesession = soft_freesession,
    .process = soft_process,
    .kprocess = ocf_soft_pk_kprocess,
};

int ocf_soft_attach(int pk_enabled, uint32_t *hid) {
  struct softc *sc = calloc(1, sizeof(*sc));
  int rc;
  if (sc == NULL) return ENOMEM;
  rc = ocf_eng_hold();
  if (rc != 0) {
    free(sc);
    return rc;
  }
  rc = ocf_get_driverid("soft", OCF_DRV_SOFTWARE | OCF_DRV_SYNC, &soft_ops, sc, &sc->hid);
  if (rc != 0) {
    ocf_eng_release();
    free(sc);
    return rc;
  }
  for (int a = 1; a < OCF_ALG__MAX; a++) {
    if (ocf_alg_lookup((enum ocf_alg)a) == NULL || !ocf_eng_supports((enum ocf_alg)a)) continue;
    rc = ocf_register(sc->hid, (enum ocf_alg)a, 0, OCF_ALGF_NONE);
    if (rc != 0) {
      ocf_unregister_all(sc->hid);
      ocf_eng_release();
      free(sc);
      return rc;
    }
  }
  /* A deployment may refuse software public key, as the paper's kernel did. */
  if (pk_enabled && (rc = ocf_soft_pk_register(sc->hid)) != 0)
    ocf_log(1, "soft: public-key operations unavailable: %s", ocf_strerror(rc));
  pthread_mutex_lock(&soft_lock);
  sc->next = soft_list;
  soft_list = sc;
  pthread_mutex_unlock(&soft_lock);
  *hid = sc->hid;
  return 0;
}

void ocf_soft_detach(uint32_t hid) {
  struct softc *sc = NULL;
  pthread_mutex_lock(&soft_lock);
  for (struct softc **pp = &soft_list; *pp != NULL; pp = &(*pp)->next) {
    if ((*pp)->hid == hid) {
      sc = *pp;
      *pp = sc->next;
      break;
    }
  }
  bool last = soft_list == NULL;
  pthread_mutex_unlock(&soft_lock);
  if (sc == NULL) return;
  ocf_unregister_all(hid);      /* frees every session */
  if (last) soft_blind_flush(); /* no key material outlives the producer */
  ocf_eng_release();
  free(sc);
}
