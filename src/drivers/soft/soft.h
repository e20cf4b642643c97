/*
 * soft.h - the software pseudo-driver: a synchronous producer that runs every
 * symmetric algorithm of ocf.h on the CPU with OpenSSL 3 libcrypto (EVP) and
 * zlib.  The framework's ocf_init attaches it unless told not to.
 */
#ifndef OCF_DRIVERS_SOFT_H
#define OCF_DRIVERS_SOFT_H

#include <stdint.h>

/* ocf_soft_attach registers the software producer ("soft", software and
 * synchronous) with all the algorithms it can serve and writes its producer
 * id into *hid.  It owns a private OpenSSL library context (default and legacy
 * providers) so that the host program's default context is left alone.
 * Returns 0 or an errno (ENOMEM, EIO if OpenSSL cannot be set up).  With
 * pk_enabled it also serves the public-key operations (soft_pk.c). */
int ocf_soft_attach(int pk_enabled, uint32_t *hid);

/* ocf_soft_detach unregisters producer hid (ocf_unregister_all, which frees
 * its sessions) and then frees the producer's state.  hid must come from
 * ocf_soft_attach; must not be called from inside a request. */
void ocf_soft_detach(uint32_t hid);

#endif /* OCF_DRIVERS_SOFT_H */
