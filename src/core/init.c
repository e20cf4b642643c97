/* init.c - bringing the framework up and down.  The producers built into
 * the library attach through the table in src/drivers/builtin.c: the core
 * names none of them. */
#include <errno.h>
#include <stdlib.h>

#include "core/internal.h"
#include "drivers/builtin.h"

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int running;
#define MAX_BUILTIN 16
static void *bstate[MAX_BUILTIN]; /* [init_lock] what each attach left for its detach */
static int nbuilt;                /* [init_lock] entries attached, in table order */

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
  for (int i = 0; ocf_builtins[i].name != NULL && i < MAX_BUILTIN; i++) {
    char msg[256] = "";
    void *st = NULL;
    rc = ocf_builtins[i].attach(&o, &st, msg, sizeof(msg));
    if (rc != 0) {
      pthread_mutex_unlock(&init_lock);
      ocf_shutdown(); /* detaches the ones before it */
      return ocf_seterr(rc, "ocf_init: %s", msg[0] ? msg : ocf_strerror(rc));
    }
    bstate[nbuilt++] = st;
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
  while (nbuilt > 0) {
    nbuilt--;
    ocf_builtins[nbuilt].detach(bstate[nbuilt]);
  }
  drv_shutdown_all();
  dispatch_fini(); /* runs the last callbacks */
  sess_free_all();
  pthread_mutex_unlock(&init_lock);
}
