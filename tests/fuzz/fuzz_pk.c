/* fuzz_pk.c - libFuzzer target for public-key requests as a consumer (or a
 * /dev/crypto program, through ocfd) can shape them: any operation id, any
 * parameter counts, any bit lengths and bytes, output buffers of any size or
 * none.  Each input is one request run with ocf_krun through the framework's
 * checks (kvalidate.c) to the software producer (soft_pk.c, soft_ec.c,
 * soft_blind.c), which run_pk.sh compiles with ASan and UBSan.
 *
 * Input: op byte, counts byte (iparams in the low 3 bits, oparams in the
 * next 2), then per parameter a flags byte (bit 0: no buffer), two bytes of
 * bit length (little-endian, below MAXBITS) and the parameter's bytes, which
 * run out into zeros.  A request must end with an error the framework may
 * give (the one in kreq->error when it ran, kreq->error untouched when it
 * was refused at dispatch) and 0 or 1 as the status of a verification;
 * anything else aborts.  Crashes, leaks and undefined behaviour are the sanitizers'. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ocf/ocf.h>
#include <ocf/pk.h>

#include "fuzz_input.h"

/* 4200 bits: past RSA-4096 moduli, so that both sides of the size limits
 * are reached, while one request stays within milliseconds. */
#define MAXBITS 4200u

static int started;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!started) {
    setenv("OCF_LOG_LEVEL", "0", 0);
    struct ocf_init_opts o = {.workers = 1};
    if (ocf_init(&o) != 0) {
      fprintf(stderr, "fuzz_pk: ocf_init: %s\n", ocf_errdetail());
      abort();
    }
    started = 1;
  }
  struct in in = {data, size};
  struct ocf_kreq k;
  memset(&k, 0, sizeof(k));
  k.op = (enum ocf_kop)(u8(&in) % (OCF_KOP_COUNT + 2));
  uint8_t counts = u8(&in);
  k.iparams = counts & 7;
  k.oparams = (counts >> 3) & 3;
  int n = k.iparams + k.oparams;
  if (n > OCF_KMAX_PARAM) n = OCF_KMAX_PARAM;
  for (int i = 0; i < n; i++) {
    uint8_t flags = u8(&in);
    size_t bits = (size_t)(u8(&in) | (u8(&in) << 8)) % MAXBITS;
    size_t len = (bits + 7) / 8;
    k.param[i].nbits = bits;
    if (flags & 1) continue; /* no buffer: p stays NULL */
    /* exactly the bytes the length names: ASan sees any read or write past */
    k.param[i].p = malloc(len ? len : 1);
    if (k.param[i].p == NULL) abort();
    for (size_t j = 0; j < len; j++) k.param[i].p[j] = u8(&in);
  }
  k.error = -1; /* left alone when the request is refused at dispatch */
  int rc = ocf_krun(&k);
  int verify = k.op == OCF_KOP_DSA_VERIFY || k.op == OCF_KOP_ECDSA_P256_VERIFY ||
               k.op == OCF_KOP_ECDSA_P384_VERIFY || k.op == OCF_KOP_ED25519_VERIFY;
  if ((k.error != -1 && rc != k.error) ||
      (rc != 0 && rc != EINVAL && rc != ENOSPC && rc != ENOTSUP && rc != ENODEV && rc != EMSGSIZE &&
       rc != ENOMEM && rc != EIO)) {
    fprintf(stderr, "fuzz_pk: op %d gave %d (%s), error %d\n", (int)k.op, rc, strerror(rc),
            k.error);
    abort();
  }
  if (rc == 0 && verify && k.status != 0 && k.status != 1) {
    fprintf(stderr, "fuzz_pk: op %d: status %d\n", (int)k.op, k.status);
    abort();
  }
  for (int i = 0; i < n; i++) free(k.param[i].p);
  return 0;
}
