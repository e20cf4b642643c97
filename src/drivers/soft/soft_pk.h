/*
 * soft_pk.h - the software producer's public-key half: every operation of
 * <ocf/pk.h> computed with OpenSSL 3 (BIGNUM for the paper's five, EVP_PKEY
 * for the elliptic curves).  soft.c plugs it in; a test may plug it into a
 * producer of its own.
 */
#ifndef OCF_DRIVERS_SOFT_PK_H
#define OCF_DRIVERS_SOFT_PK_H

#include <ocf/driver.h>
#include <stdint.h>

/* OCF_SOFT_PK_MAX_BITS is the largest modulus (and input) the BIGNUM
 * operations accept; it is what they are registered with. */
#define OCF_SOFT_PK_MAX_BITS 16384

/* ocf_soft_pk_register announces every public-key operation on producer hid
 * (whose ops table must use ocf_soft_pk_kprocess as kprocess) and takes a
 * reference on the module's private OpenSSL library context, created on
 * first use.  Returns 0 or an errno (ENOMEM, EIO when OpenSSL cannot be set
 * up, or what ocf_kregister says); on failure nothing is held. */
int ocf_soft_pk_register(uint32_t hid);

/* ocf_soft_pk_release drops the reference ocf_soft_pk_register(hid) took;
 * call it after ocf_unregister_all(hid) has returned (no request of hid is in
 * flight any more).  A hid that never registered is ignored. */
void ocf_soft_pk_release(uint32_t hid);

/* ocf_soft_pk_kprocess runs kreq in the calling thread, sets kreq->error and
 * kreq->status, calls ocf_kdone and returns 0.  softc is not used. */
int ocf_soft_pk_kprocess(void *softc, struct ocf_kreq *kreq);

#endif /* OCF_DRIVERS_SOFT_PK_H */
