/* preq.c - see preq.h. */
#include "preq.h"

// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
// clang-format on
#include <ocf/pk.h>

void preq_init(struct preq *r, enum ocf_kop op) {
  int in = 0, out = 0;
  memset(r, 0, sizeof(*r));
  assert_int_equal(ocf_kop_params(op, &in, &out), 0);
  r->k.op = op;
  r->k.iparams = in;
  r->k.oparams = out;
}

uint8_t *preq_mem(struct preq *r, int i, size_t len) {
  free(r->mem[i]);
  r->mem[i] = calloc(1, len != 0 ? len : 1);
  assert_non_null(r->mem[i]);
  return r->mem[i];
}

void preq_bn(struct preq *r, int i, const BIGNUM *bn) {
  size_t len = (size_t)BN_num_bytes(bn);
  uint8_t *m = preq_mem(r, i, len);
  BN_bn2lebinpad(bn, m, (int)len);
  r->k.param[i].p = m;
  r->k.param[i].nbits = (size_t)BN_num_bits(bn);
}

void preq_word(struct preq *r, int i, unsigned long w) {
  BIGNUM *bn = BN_new();
  BN_set_word(bn, w);
  preq_bn(r, i, bn);
  BN_free(bn);
}

void preq_hex(struct preq *r, int i, const char *hex) {
  BIGNUM *bn = NULL;
  assert_true(BN_hex2bn(&bn, hex) > 0);
  preq_bn(r, i, bn);
  BN_free(bn);
}

void preq_digest(struct preq *r, int i, const uint8_t *d, size_t len) {
  ocf_kparam_digest(&r->k.param[i], preq_mem(r, i, len), d, len);
}

void preq_octets(struct preq *r, int i, const uint8_t *p, size_t len) {
  uint8_t *m = preq_mem(r, i, len);
  if (len != 0) memcpy(m, p, len);
  ocf_kparam_octets(&r->k.param[i], m, len);
}

void preq_out(struct preq *r, int i, size_t len) {
  ocf_kparam_out(&r->k.param[i], preq_mem(r, i, len), len);
}

BIGNUM *preq_result(const struct preq *r, int i) {
  BIGNUM *bn = BN_lebin2bn(r->k.param[i].p, (int)((r->k.param[i].nbits + 7) / 8), NULL);
  assert_non_null(bn);
  return bn;
}

void preq_free(struct preq *r) {
  for (int i = 0; i < OCF_KMAX_PARAM; i++) free(r->mem[i]);
  memset(r, 0, sizeof(*r));
}
