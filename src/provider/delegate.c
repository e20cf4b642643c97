/*
 * delegate.c - the inline path: OpenSSL's default provider, loaded into a
 * private library context, called through its dispatch tables.
 *
 * The private context never reads a configuration file, so it never loads
 * this provider again: no request can come back to us.  Calling the default
 * implementations' functions directly (instead of through EVP on the
 * private context) saves the EVP layer's checks and indirections, which on
 * 1 KB of ChaCha20-Poly1305 would alone cost more than the 5% the inline
 * path may add.
 */
#include <openssl/provider.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "provider/delegate.h"

struct delegate {
  OSSL_LIB_CTX *ctx;
  OSSL_PROVIDER *prov;
  void *provctx;
};

int dl_start(struct ocfprov *p) {
  struct delegate *d = calloc(1, sizeof(*d));
  if (d == NULL) {
    ocfprov_err(p, OCFPROV_R_MALLOC, "delegate context");
    return 0;
  }
  d->ctx = OSSL_LIB_CTX_new();
  if (d->ctx != NULL) d->prov = OSSL_PROVIDER_load(d->ctx, "default");
  if (d->prov == NULL) {
    OSSL_LIB_CTX_free(d->ctx);
    free(d);
    ocfprov_err(p, OCFPROV_R_DELEGATE, "cannot load OpenSSL's default provider privately");
    return 0;
  }
  d->provctx = OSSL_PROVIDER_get0_provider_ctx(d->prov);
  p->dl = d;
  return 1;
}

void dl_stop(struct ocfprov *p) {
  struct delegate *d = p->dl;
  if (d == NULL) return;
  OSSL_PROVIDER_unload(d->prov);
  OSSL_LIB_CTX_free(d->ctx);
  free(d);
  p->dl = NULL;
}

OSSL_LIB_CTX *dl_libctx(const struct ocfprov *p) { return p->dl->ctx; }

void *dl_provctx(const struct ocfprov *p) { return p->dl->provctx; }

/* names_has tells whether the colon-separated list names holds name. */
static bool names_has(const char *names, const char *name) {
  size_t n = strlen(name);
  for (const char *s = names; *s != '\0';) {
    const char *e = strchr(s, ':');
    size_t len = e != NULL ? (size_t)(e - s) : strlen(s);
    if (len == n && strncasecmp(s, name, n) == 0) return true;
    if (e == NULL) break;
    s = e + 1;
  }
  return false;
}

const OSSL_DISPATCH *dl_dispatch(struct ocfprov *p, int op, const char *name,
                                 _Atomic(const OSSL_DISPATCH *) *cache) {
  const OSSL_DISPATCH *d = atomic_load_explicit(cache, memory_order_acquire);
  if (d != NULL) return d;
  int no_cache = 0;
  const OSSL_ALGORITHM *all = OSSL_PROVIDER_query_operation(p->dl->prov, op, &no_cache);
  for (const OSSL_ALGORITHM *a = all; a != NULL && a->algorithm_names != NULL; a++) {
    if (names_has(a->algorithm_names, name)) {
      d = a->implementation;
      break;
    }
  }
  if (all != NULL) OSSL_PROVIDER_unquery_operation(p->dl->prov, op, all);
  /* The tables are static in libcrypto and the same for every private
   * context, so one pointer serves every activation of this provider. */
  if (d != NULL) atomic_store_explicit(cache, d, memory_order_release);
  return d;
}

void (*dl_fn(const OSSL_DISPATCH *d, int id))(void) {
  for (; d != NULL && d->function_id != 0; d++)
    if (d->function_id == id) return d->function;
  return NULL;
}
