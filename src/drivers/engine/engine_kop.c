/*
 * engine_kop.c - the modeled cards' public-key unit in exact mode.  It
 * computes with the software producer's code (soft_pk.c), so a card's RSA
 * gets the same protections: CRT blinding, the result checked against the
 * public exponent before release, constant-time exponentiation and CRT
 * recombination, and constant-time MOD_EXP for any exponent that may be
 * secret.
 */
#include <errno.h>
#include <stdint.h>

#include "drivers/engine/engine.h"
#include "drivers/soft/soft_pk.h"

int ocf_eng_kop(const struct ocf_kreq *k, uint8_t *out, size_t outlen) {
  if (k->op != OCF_KOP_MOD_EXP && k->op != OCF_KOP_MOD_EXP_CRT) return ENOTSUP;
  if (k->iparams < 1 || k->oparams < 1 || k->iparams + k->oparams > OCF_KMAX_PARAM) return EINVAL;
  /* The card writes its result into its own buffer (DMA out comes later). */
  struct ocf_kreq c = *k;
  c.param[c.iparams] = (struct ocf_kparam){out, 8 * outlen};
  return ocf_soft_pk_compute(&c);
}
