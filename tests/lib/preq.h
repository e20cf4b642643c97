/* preq.h - public-key test requests whose parameters own their storage
 * (shared by the public-key tests).  Failures abort the test (cmocka). */
#ifndef OCF_TEST_PREQ_H
#define OCF_TEST_PREQ_H

#include <ocf/ocf.h>
#include <openssl/bn.h>
#include <stddef.h>
#include <stdint.h>

struct preq {
  struct ocf_kreq k;
  uint8_t *mem[OCF_KMAX_PARAM];
};

void preq_init(struct preq *r, enum ocf_kop op); /* counts from ocf_kop_params */
uint8_t *preq_mem(struct preq *r, int i, size_t len);
void preq_bn(struct preq *r, int i, const BIGNUM *bn);
void preq_word(struct preq *r, int i, unsigned long w);
void preq_hex(struct preq *r, int i, const char *hex);
void preq_digest(struct preq *r, int i, const uint8_t *d, size_t len);
void preq_octets(struct preq *r, int i, const uint8_t *p, size_t len);
void preq_out(struct preq *r, int i, size_t len);
BIGNUM *preq_result(const struct preq *r, int i); /* caller frees */
void preq_free(struct preq *r);

#endif
