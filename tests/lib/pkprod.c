/* pkprod.c - see pkprod.h. */
#include "pkprod.h"

// clang-format off
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
// clang-format on
#include <ocf/driver.h>
#include <ocf/ocf.h>

#include "../../src/drivers/soft/soft_pk.h"

static int no_newsession(void *softc, void **dsess, const struct ocf_sessparam *chain) {
  return ENOTSUP;
}
static void no_freesession(void *softc, void *dsess) {}
static int no_process(void *softc, void *dsess, struct ocf_req *req) { return ENOTSUP; }

static const struct ocf_driver_ops pk_ops = {
    .newsession = no_newsession,
    .freesession = no_freesession,
    .process = no_process,
    .kprocess = ocf_soft_pk_kprocess,
};

static uint32_t pk_hid;

int pkprod_start(void) {
  struct ocf_init_opts o;
  memset(&o, 0, sizeof(o));
  o.soft_pk_disabled = 1;
  if (ocf_init(&o) != 0) return -1;
  if (ocf_get_driverid("softpk", OCF_DRV_SOFTWARE | OCF_DRV_SYNC, &pk_ops, NULL, &pk_hid) != 0)
    return -1;
  return ocf_soft_pk_register(pk_hid) == 0 ? 0 : -1;
}

void pkprod_stop(void) {
  ocf_unregister_all(pk_hid);
  ocf_shutdown();
}

uint32_t pkprod_hid(void) { return pk_hid; }

int pkprod_setup(void **state) {
  (void)state;
  return pkprod_start();
}

int pkprod_teardown(void **state) {
  (void)state;
  pkprod_stop();
  return 0;
}

int pkprod_run(struct preq *r) {
  r->k.error = -1;
  int rc = ocf_krun(&r->k);
  if (r->k.error != -1) assert_int_equal(rc, r->k.error);
  return rc;
}

BIGNUM *pkey_bn(const EVP_PKEY *k, const char *name) {
  BIGNUM *bn = NULL;
  assert_true(EVP_PKEY_get_bn_param(k, name, &bn) > 0);
  return bn;
}
