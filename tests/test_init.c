/* test_init.c - bringing the framework up and down: options, modeled devices
 * from the options or $OCF_DEVICES, errors naming the bad part, re-init. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ocf/ocf.h>

static int count_named(const char *prefix) {
  struct ocf_driver_stat st[16];
  int n = ocf_driver_stats(st, 16), c = 0;
  for (int i = 0; i < n && i < 16; i++)
    if (strncmp(st[i].name, prefix, strlen(prefix)) == 0 && !st[i].detached) c++;
  return c;
}

static void test_devices_option(void **state) {
  struct ocf_init_opts o = {.devices = "hifn7751*2@pci64,bcm5820"};
  assert_int_equal(ocf_init(&o), 0);
  assert_int_equal(count_named("hifn7751-"), 2);
  assert_int_equal(count_named("bcm5820-"), 1);
  assert_int_equal(count_named("soft"), 1);
  /* hardware first: a 3DES session lands on a card */
  static const uint8_t key[24] = "0123456789abcdefghijklm";
  struct ocf_sessparam p = {.alg = OCF_ALG_3DES_CBC, .key = key, .keylen = 24};
  ocf_sid_t sid;
  assert_int_equal(ocf_newsession(&sid, &p, 0), 0);
  char name[32];
  assert_int_equal(ocf_session_driver(sid, name, sizeof(name)), 0);
  assert_true(strncmp(name, "hifn7751-", 9) == 0 || strncmp(name, "bcm5820-", 8) == 0);
  uint8_t buf[64] = {1, 2, 3};
  struct ocf_req r = {.sid = sid, .buf = ocf_buf_contig(buf, 64), .ndesc = 1};
  r.desc[0] = (struct ocf_desc){.alg = OCF_ALG_3DES_CBC,
                                .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = 64};
  assert_int_equal(ocf_run(&r), 0);
  assert_int_equal(ocf_freesession(r.sid), 0);
  ocf_shutdown();
  assert_int_equal(count_named(""), 0);
}

static void test_devices_env_and_errors(void **state) {
  setenv("OCF_DEVICES", "bcm5805*2", 1);
  assert_int_equal(ocf_init(NULL), 0);
  assert_int_equal(count_named("bcm5805-"), 2);
  ocf_shutdown();
  unsetenv("OCF_DEVICES");
  struct ocf_init_opts o = {.devices = "hifn7751*4@pci64,nosuchcard"};
  assert_int_equal(ocf_init(&o), EINVAL);
  assert_non_null(strstr(ocf_errdetail(), "nosuchcard"));
  assert_int_equal(count_named(""), 0); /* nothing half-attached */
  o.devices = "hifn7751*99";
  assert_int_not_equal(ocf_init(&o), 0);
  o.devices = "hifn7751@pci128";
  assert_int_equal(ocf_init(&o), EINVAL);
  assert_non_null(strstr(ocf_errdetail(), "pci128"));
  o = (struct ocf_init_opts){.workers = -1};
  assert_int_equal(ocf_init(&o), EINVAL);
  /* and it still comes up afterwards */
  assert_int_equal(ocf_init(NULL), 0);
  assert_int_equal(count_named("soft"), 1);
  assert_int_equal(ocf_init(NULL), 0); /* twice is fine */
  ocf_shutdown();
  ocf_shutdown(); /* so is shutting down twice */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_devices_option),
      cmocka_unit_test(test_devices_env_and_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
