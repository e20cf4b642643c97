/* init.c - bringing the framework up and down. */
#include <errno.h>
#include <stdlib.h>

#include <ocf/devices.h>
#include <stdio.h>
#include <string.h>
#include "core/internal.h"
#include "drivers/soft/soft.h"

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int running;
static uint32_t soft_hid;

int ocf_running(void) { return atomic_load_explicit(&running, memory_order_acquire); }

int ocf_init(const struct ocf_init_opts *opts) {
  struct ocf_init_opts o = {0};
  if (opts != NULL) o = *opts;
  pthread_mutex_lock(&init_lock);
  if (atomic_load(&running)) {
    pthread_mutex_unlock(&init_lock);
    return 0;
  }
  if (o.workers < 0 || o.workers > 256) {
    pthread_mutex_unlock(&init_lock);
    return ocf_seterr(EINVAL, "ocf_init: workers must be 0..256");
  }
  enum policy pol;
  const char *pname = o.policy ? o.policy : getenv("OCF_POLICY");
  if (pname != NULL && *pname == '\0') pname = NULL;
  int prc = policy_parse(pname, &pol);
  if (prc != 0) {
    pthread_mutex_unlock(&init_lock);
    return prc;
  }
  ocf_policy = pol;
  tctx_init();
  int rc = dispatch_init(o.workers);
  if (rc != 0) {
    pthread_mutex_unlock(&init_lock);
    return rc;
  }
  atomic_store(&running, 1);
  if (!o.no_soft) {
    rc = ocf_soft_attach(!o.soft_pk_disabled, &soft_hid);
    if (rc != 0) {
      atomic_store(&running, 0);
      dispatch_fini();
      pthread_mutex_unlock(&init_lock);
      return ocf_seterr(rc, "ocf_init: software producer failed to start: %s", ocf_strerror(rc));
    }
  }
  const char *dev = o.devices ? o.devices : getenv("OCF_DEVICES");
  if (dev != NULL && *dev != '\0') {
    char err[256] = "";
    rc = ocf_sim_attach(dev, err, sizeof(err));
    if (rc != 0) {
      char msg[256];
      snprintf(msg, sizeof(msg), "%s", err);
      pthread_mutex_unlock(&init_lock);
      ocf_shutdown();
      return ocf_seterr(rc, "ocf_init: %s", msg[0] ? msg : ocf_strerror(rc));
    }
  }
  pthread_mutex_unlock(&init_lock);
  return 0;
}

void ocf_shutdown(void) {
  pthread_mutex_lock(&init_lock);
  if (!atomic_load(&running)) {
    pthread_mutex_unlock(&init_lock);
    return;
  }
  /* No new requests; producers finish what they hold (ocf_unregister_all
   * waits for that), queued work drains through the workers. */
  atomic_store(&running, 0);
  ocf_sim_detach("all"); /* modeled cards: stops their timer thread too */
  if (soft_hid != 0) {
    ocf_soft_detach(soft_hid);
    soft_hid = 0;
  }
  drv_shutdown_all();
  dispatch_fini(); /* runs the last callbacks */
  sess_free_all();
  pthread_mutex_unlock(&init_lock);
}
