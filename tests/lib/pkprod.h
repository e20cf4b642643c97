/* pkprod.h - the public-key tests' producer: the framework started without
 * its software producer's public-key side, and a producer of the tests' own
 * that hands every public-key request to ocf_soft_pk_kprocess (and refuses
 * symmetric work), so that the tests reach that code through ocf_kdispatch
 * and nothing else serves them. */
#ifndef OCF_TEST_PKPROD_H
#define OCF_TEST_PKPROD_H

#include <openssl/evp.h>
#include <stdint.h>

#include "preq.h"

/* pkprod_start: ocf_init, then the producer.  0 or -1. */
int pkprod_start(void);

/* pkprod_stop: the producer removed, the framework shut down. */
void pkprod_stop(void);

/* pkprod_hid: the producer's id, while started. */
uint32_t pkprod_hid(void);

/* The same as a cmocka group's setup and teardown. */
int pkprod_setup(void **state);
int pkprod_teardown(void **state);

/* pkprod_run: ocf_krun's answer for r; when the request ran, that is also
 * r->k.error (checked). */
int pkprod_run(struct preq *r);

/* pkey_bn: the named parameter of k (an OSSL_PKEY_PARAM_* name), which it
 * must have; the caller frees it. */
BIGNUM *pkey_bn(const EVP_PKEY *k, const char *name);

#endif
