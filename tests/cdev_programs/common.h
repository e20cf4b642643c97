/* common.h - helpers shared by the /dev/crypto example programs: hex
 * parsing and comparing a result with the published answer.  Plain libc,
 * like the rest of these programs. */
#ifndef CDEV_PROGRAMS_COMMON_H
#define CDEV_PROGRAMS_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* unhex parses an even-length hex string into out; returns the byte count. */
static inline size_t unhex(const char *hex, uint8_t *out) {
  size_t n = strlen(hex) / 2;
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    sscanf(hex + 2 * i, "%2x", &v);
    out[i] = (uint8_t)v;
  }
  return n;
}

/* same reports whether got[] equals the hex answer, printing both if not. */
static inline int same(const char *what, const uint8_t *got, const char *hex) {
  uint8_t want[512];
  size_t n = unhex(hex, want);
  if (memcmp(got, want, n) == 0) return 1;
  fprintf(stderr, "%s: wrong result\n  got  ", what);
  for (size_t i = 0; i < n; i++) fprintf(stderr, "%02x", got[i]);
  fprintf(stderr, "\n  want %s\n", hex);
  return 0;
}

#endif
