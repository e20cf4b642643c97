/* builtin.c - the table of producers built into libocf (see builtin.h), in
 * attach order: the software producer first, so that modeled cards find it
 * there to fall back on. */
#include "drivers/builtin.h"

#include <errno.h>
#include <ocf/devices.h>
#include <ocf/driver.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "drivers/soft/soft.h"

static int soft_attach(const struct ocf_init_opts *o, void **state, char *msg, size_t msglen) {
  if (o->no_soft) return 0;
  uint32_t hid = 0;
  int rc = ocf_soft_attach(!o->soft_pk_disabled, &hid);
  if (rc != 0) {
    snprintf(msg, msglen, "software producer failed to start: %s", ocf_strerror(rc));
    return rc;
  }
  *state = (void *)(uintptr_t)hid;
  return 0;
}

static void soft_detach(void *state) {
  if (state != NULL) ocf_soft_detach((uint32_t)(uintptr_t)state);
}

/* Modeled cards named by opts->devices, else $OCF_DEVICES. */
static int sim_attach(const struct ocf_init_opts *o, void **state, char *msg, size_t msglen) {
  const char *dev = o->devices ? o->devices : getenv("OCF_DEVICES");
  if (dev == NULL || *dev == '\0') return 0;
  return ocf_sim_attach(dev, msg, msglen);
}

/* also the cards attached later through ocf_sim_attach; stops their timer */
static void sim_detach(void *state) { ocf_sim_detach("all"); }

const struct ocf_builtin ocf_builtins[] = {
    {"soft", soft_attach, soft_detach},
    {"sim", sim_attach, sim_detach},
    {NULL, NULL, NULL},
};
