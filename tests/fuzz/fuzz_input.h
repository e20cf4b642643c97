/* fuzz_input.h - a fuzz input read byte by byte (zeros once it runs out),
 * for the stateful targets that take their program from it. */
#ifndef OCF_FUZZ_INPUT_H
#define OCF_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct in {
  const uint8_t *p;
  size_t n;
};

static inline uint8_t u8(struct in *in) {
  if (in->n == 0) return 0;
  in->n--;
  return *in->p++;
}

static inline uint32_t u32(struct in *in) { /* little-endian */
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v |= (uint32_t)u8(in) << (8 * i);
  return v;
}

#endif
