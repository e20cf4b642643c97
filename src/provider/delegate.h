/*
 * delegate.h - the default provider's implementations, for the inline path
 * of every operation (delegate.c).
 */
#ifndef OCFPROV_DELEGATE_H
#define OCFPROV_DELEGATE_H

#include "provider/prov.h"

/* dl_provctx is the default provider's context, the first argument of its
 * newctx functions. */
void *dl_provctx(const struct ocfprov *p);

/* dl_dispatch returns the default provider's dispatch table for the
 * algorithm name of operation op (OSSL_OP_*), or NULL if it has none.  The
 * answer is kept in *cache (one per algorithm, shared by every activation). */
const OSSL_DISPATCH *dl_dispatch(struct ocfprov *p, int op, const char *name,
                                 _Atomic(const OSSL_DISPATCH *) *cache);

/* dl_fn returns function id of table d, or NULL. */
void (*dl_fn(const OSSL_DISPATCH *d, int id))(void);

#endif /* OCFPROV_DELEGATE_H */
