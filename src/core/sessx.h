/* sessx.h - constants of the framework's per-session services (sessx.c) and
 * the one test hook the suite needs: nothing here is part of the API. */
#ifndef OCF_CORE_SESSX_H
#define OCF_CORE_SESSX_H

#include <ocf/ocf.h>

/* OCF_NONCE_MIN is the shortest AEAD nonce the framework generates: a 4-byte
 * fixed field and a counter of at least 4 bytes. */
#define OCF_NONCE_MIN 8

/* ocf_test_nonce_limit lets session sid generate at most left more nonces
 * (never more than its counter space), so that tests reach exhaustion without
 * 2^32 requests.  Returns 0 or ENOENT (no such session, or no AEAD nonce). */
int ocf_test_nonce_limit(ocf_sid_t sid, uint64_t left);

#endif /* OCF_CORE_SESSX_H */
