/* test_cdev_abi.c - include/ocf/cryptodev.h against the released
 * cryptodev-linux ABI: every struct's size, every field's offset, every
 * ioctl number and every id and flag, compared with the numbers written down
 * in cryptodev_facts.h (never computed from the header under test).
 *
 * Built normally it runs on this machine's layout (x86-64) and lists every
 * difference.  CTest also compiles it with -m32 -fsyntax-only and
 * CDEV_ABI_STATIC_ONLY (test cdev_abi_i386): the i386 facts are then checked
 * by _Static_assert, since this kernel may not run i386 binaries; with
 * CDEV_ABI_RELEASED_COPY that compile checks the test suite's own copy of
 * the released declarations (released/crypto/cryptodev.h) instead. */
#include <stddef.h>
#include <stdio.h>

#ifdef CDEV_ABI_RELEASED_COPY
#include "released/crypto/cryptodev.h"
#else
#include <ocf/cryptodev.h>
#endif
#include "cryptodev_facts.h"

#ifdef CDEV_ABI_STATIC_ONLY

CDEV_ABI_STATIC_ASSERTS();

#else

/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#if defined(__x86_64__) && defined(__LP64__)
#define COL(lp64, ilp32) (lp64)
#define ARCH "x86-64"
#elif defined(__i386__)
#define COL(lp64, ilp32) (ilp32)
#define ARCH "i386"
#endif

static int bad;

static void differ(const char *what, unsigned long long got, unsigned long long want) {
  if (got == want) return;
  print_error("%s: header says %llu (0x%llx), released ABI %llu (0x%llx)\n", what, got, got, want,
              want);
  bad++;
}

static void test_layouts(void **state) {
  (void)state;
#ifdef COL
  bad = 0;
#define SIZE_(s, a, b) differ("sizeof(struct " #s ")", sizeof(struct s), COL(a, b));
#define FIELD_(s, f, a, b) \
  differ("offsetof(struct " #s ", " #f ")", offsetof(struct s, f), COL(a, b));
  CDEV_SIZES(SIZE_)
  CDEV_FIELDS(FIELD_)
  print_message("%s layouts: %d differences\n", ARCH, bad);
  assert_int_equal(bad, 0);
#else
  skip(); /* no layout facts for this architecture */
#endif
}

static void test_ioctls(void **state) {
  (void)state;
#ifdef COL
  bad = 0;
#define IOCTL_(n, a, b) differ(#n, (unsigned)(n), COL(a, b));
  CDEV_IOCTLS(IOCTL_)
  print_message("%s ioctl numbers: %d differences\n", ARCH, bad);
  assert_int_equal(bad, 0);
#else
  skip();
#endif
}

static void test_ids_and_flags(void **state) {
  (void)state;
  bad = 0;
#define CONST_(n, v) differ(#n, (unsigned long long)(n), (v));
  CDEV_CONSTS(CONST_)
  assert_int_equal(bad, 0);
}

/* The kernel module copies exactly sizeof(struct session_info_op) bytes
 * back: a struct with room for more (the unreleased compression branch's
 * compr_info) made the ioctl number itself differ. */
static void test_sessinfo_number(void **state) {
  (void)state;
  assert_int_equal(_IOC_SIZE(CIOCGSESSINFO), 268);
  assert_int_equal(_IOC_NR(CIOCGSESSINFO), 107);
  assert_int_equal(_IOC_TYPE(CIOCGSESSINFO), 'c');
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_layouts),
      cmocka_unit_test(test_ioctls),
      cmocka_unit_test(test_ids_and_flags),
      cmocka_unit_test(test_sessinfo_number),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif /* CDEV_ABI_STATIC_ONLY */
