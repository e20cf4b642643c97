/*
 * soft_pk.h - the software producer's public-key half: every operation of
 * <ocf/pk.h> computed with OpenSSL 3 (BIGNUM for the paper's five, EVP_PKEY
 * for the elliptic curves).  soft.c plugs it in; a test may plug it into a
 * producer of its own.
 */
#ifndef OCF_DRIVERS_SOFT_PK_H
#define OCF_DRIVERS_SOFT_PK_H

#include <ocf/driver.h>
#include <stdatomic.h>
#include <stdint.h>

/* OCF_SOFT_PK_MAX_BITS is the largest modulus (and input) the BIGNUM
 * operations accept; it is what they are registered with. */
#define OCF_SOFT_PK_MAX_BITS 16384

/* ocf_soft_pk_register announces every public-key operation on producer hid,
 * whose ops table must use ocf_soft_pk_kprocess as kprocess.  The first call
 * creates the module's private OpenSSL library context, which then lives
 * until the process exits (see soft_pk.c).  Returns 0 or an errno (ENOMEM,
 * EIO when OpenSSL cannot be set up, or what ocf_kregister says).  Nothing
 * needs undoing when the producer goes away: ocf_unregister_all withdraws
 * the operations. */
int ocf_soft_pk_register(uint32_t hid);

/* ocf_soft_pk_kprocess runs kreq in the calling thread, sets kreq->error and
 * kreq->status, calls ocf_kdone and returns 0.  softc is not used. */
int ocf_soft_pk_kprocess(void *softc, struct ocf_kreq *kreq);

/* ocf_soft_pk_compute runs kreq's operation in the calling thread with this
 * module's checks and side-channel protections (blinding and a result check
 * for CRT, constant-time exponentiation for anything that may be secret),
 * sets kreq->status and returns its error, without completing it: for
 * producers that compute the same way (the modeled cards' exact mode).  The
 * first call creates the module's library context, as registering does. */
int ocf_soft_pk_compute(struct ocf_kreq *kreq);

/* ocf_soft_pk_vartime counts MOD_EXP requests that took the variable-time
 * path (a well-known public exponent); tests read it. */
extern atomic_ulong ocf_soft_pk_vartime;

#endif /* OCF_DRIVERS_SOFT_PK_H */
