/* scenario_check.h - checks for the scenarios the /dev/crypto tests run in
 * a re-executed copy of themselves under the preload shim: a failed check
 * is reported and counted (the scenario's exit status says whether any
 * failed) rather than ending the program, so one run reports every
 * difference.  Included by one test program each. */
#ifndef OCF_TESTS_SCENARIO_CHECK_H
#define OCF_TESTS_SCENARIO_CHECK_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *self; /* this program, re-executed for each scenario */
static int fails;        /* checks failed in this scenario */

#define CHECK(cond, ...)                                         \
  do {                                                           \
    if (!(cond)) {                                               \
      fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                              \
      fprintf(stderr, "\n");                                     \
      fails++;                                                   \
    }                                                            \
  } while (0)
#define ERRNO_IS(call, e) CHECK((call) == -1 && errno == (e), "want errno %d, got %d", e, errno)
#define OK(call) CHECK((call) == 0, "errno %d (%s)", errno, strerror(errno))

#endif /* OCF_TESTS_SCENARIO_CHECK_H */
