/*
 * prov.c - ocf.so's entry point: OSSL_provider_init reads and checks the
 * provider's configuration section, the provider parameters report what
 * went through the framework, and the query function hands OpenSSL the
 * algorithm tables of the other files.
 */
#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "provider/prov.h"

#define OCFPROV_NAME "ocf provider (OpenBSD Cryptographic Framework, libocf " OCF_VERSION ")"

static OSSL_FUNC_core_new_error_fn *c_new_error;
static OSSL_FUNC_core_set_error_debug_fn *c_set_error_debug;
static OSSL_FUNC_core_vset_error_fn *c_vset_error;
static OSSL_FUNC_core_get_params_fn *c_get_params;
static OSSL_FUNC_core_get_libctx_fn *c_get_libctx;

static const OSSL_ITEM reason_strings[] = {
    {OCFPROV_R_BAD_CONFIG, "bad ocf provider configuration"},
    {OCFPROV_R_BACKEND, "ocf framework unavailable"},
    {OCFPROV_R_BAD_KEY_LENGTH, "invalid key length"},
    {OCFPROV_R_BAD_IV_LENGTH, "invalid iv length"},
    {OCFPROV_R_BAD_TAG_LENGTH, "invalid tag length"},
    {OCFPROV_R_NO_KEY, "no key set"},
    {OCFPROV_R_NO_IV, "no iv set"},
    {OCFPROV_R_BAD_LENGTH, "invalid data length"},
    {OCFPROV_R_BAD_DECRYPT, "bad decrypt"},
    {OCFPROV_R_TAG_MISMATCH, "tag mismatch"},
    {OCFPROV_R_BAD_PARAM, "invalid parameter"},
    {OCFPROV_R_UNSUPPORTED, "unsupported"},
    {OCFPROV_R_BAD_KEY, "invalid key"},
    {OCFPROV_R_OUT_TOO_SMALL, "output buffer too small"},
    {OCFPROV_R_BAD_STATE, "operation not initialized or in the wrong state"},
    {OCFPROV_R_SIGN_FAILED, "operation failed"},
    {OCFPROV_R_MALLOC, "out of memory"},
    {OCFPROV_R_DELEGATE, "default provider implementation failed"},
    {0, NULL}};

void ocfprov_err(const struct ocfprov *p, int reason, const char *fmt, ...) {
  if (c_new_error == NULL || p == NULL) return;
  va_list ap;
  if (p->initializing && !p->broken_msg[0]) {
    struct ocfprov *w = (struct ocfprov *)p; /* only during OSSL_provider_init */
    va_start(ap, fmt);
    vsnprintf(w->broken_msg, sizeof(w->broken_msg), fmt, ap);
    va_end(ap);
    w->broken_reason = reason;
  }
  va_start(ap, fmt);
  c_new_error(p->handle);
  c_set_error_debug(p->handle, NULL, 0, NULL);
  c_vset_error(p->handle, reason, fmt, ap);
  va_end(ap);
}

bool ocfprov_usable(const struct ocfprov *p) {
  if (!p->broken) return true;
  ocfprov_err(p, p->broken_reason, "%s", p->broken_msg);
  return false;
}

int param_get_size(const OSSL_PARAM *p, size_t *v) { return OSSL_PARAM_get_size_t(p, v); }

void wipe_free(void *p, size_t n) {
  if (p == NULL) return;
  OPENSSL_cleanse(p, n);
  free(p);
}

/* --- configuration ------------------------------------------------------ */

/* The keys of the provider's section, as ocfprov(7) lists them.  OpenSSL
 * hands a provider the values of the keys it asks for, and no list of the
 * keys present, so a misspelt key cannot be reported. */
enum {
  K_BACKEND,
  K_SOCKET,
  K_DEVICES,
  K_POLICY,
  K_WORKERS,
  K_SOFT,
  K_SOFT_PK,
  K_OFFLOAD,
  K_ASYNC,
  K_SHM_MIN,
  K_SHM_SIZE,
  K_DIGEST_MAX,
  K__COUNT
};
static const char *const conf_keys[K__COUNT] = {"backend", "socket",  "devices",  "policy",
                                                "workers", "soft",    "soft_pk",  "offload",
                                                "async",   "shm_min", "shm_size", "digest_max"};

static int conf_bool(const struct ocfprov *p, const char *key, const char *v, bool *out) {
  if (!strcasecmp(v, "yes") || !strcasecmp(v, "1") || !strcasecmp(v, "on") ||
      !strcasecmp(v, "true")) {
    *out = true;
    return 1;
  }
  if (!strcasecmp(v, "no") || !strcasecmp(v, "0") || !strcasecmp(v, "off") ||
      !strcasecmp(v, "false")) {
    *out = false;
    return 1;
  }
  ocfprov_err(p, OCFPROV_R_BAD_CONFIG, "%s = '%s': expected yes or no", key, v);
  return 0;
}

/* conf_size parses a byte count with an optional k/m suffix within
 * [lo, hi]. */
static int conf_size(const struct ocfprov *p, const char *key, const char *v, size_t lo, size_t hi,
                     size_t *out) {
  char *end;
  errno = 0;
  unsigned long long n = strtoull(v, &end, 10);
  unsigned long long mul = 1;
  if (end != v && (*end == 'k' || *end == 'K'))
    mul = 1024, end++;
  else if (end != v && (*end == 'm' || *end == 'M'))
    mul = 1024 * 1024, end++;
  if (end == v || *end != '\0' || errno != 0 || v[0] == '-' || n > hi / mul || n * mul < lo) {
    ocfprov_err(p, OCFPROV_R_BAD_CONFIG, "%s = '%s': expected a byte count from %zu to %zu", key, v,
                lo, hi);
    return 0;
  }
  *out = (size_t)(n * mul);
  return 1;
}

static int conf_copy(const struct ocfprov *p, const char *key, const char *v, char *dst,
                     size_t len) {
  if (strlen(v) >= len) {
    ocfprov_err(p, OCFPROV_R_BAD_CONFIG, "%s: value longer than %zu characters", key, len - 1);
    return 0;
  }
  strcpy(dst, v);
  return 1;
}

static int conf_read(struct ocfprov *p) {
  struct ocfprov_conf *c = &p->conf;
  memset(c, 0, sizeof(*c));
  c->offload = OFFLOAD_AUTO;
  c->async = true;
  c->shm_min = 4096;
  c->shm_size = 8 << 20;
  c->digest_max = 64 * 1024;
  const char *val[K__COUNT] = {0};
  OSSL_PARAM q[K__COUNT + 1];
  for (int i = 0; i < K__COUNT; i++)
    q[i] = OSSL_PARAM_construct_utf8_ptr(conf_keys[i], (char **)&val[i], 0);
  q[K__COUNT] = OSSL_PARAM_construct_end();
  if (c_get_params == NULL || !c_get_params(p->handle, q)) {
    ocfprov_err(p, OCFPROV_R_BAD_CONFIG, "cannot read the provider's configuration");
    return 0;
  }
  const char *b = val[K_BACKEND];
  if (b != NULL) {
    if (!strcasecmp(b, "ocfd"))
      c->ocfd = true;
    else if (strcasecmp(b, "inprocess") && strcasecmp(b, "in-process") && strcasecmp(b, "libocf")) {
      ocfprov_err(p, OCFPROV_R_BAD_CONFIG, "backend = '%s': expected inprocess or ocfd", b);
      return 0;
    }
  }
  if (val[K_SOCKET] != NULL) {
    if (b != NULL && !c->ocfd) {
      ocfprov_err(p, OCFPROV_R_BAD_CONFIG, "socket is set but backend = '%s' (use backend = ocfd)",
                  b);
      return 0;
    }
    if (val[K_SOCKET][0] == '\0') {
      ocfprov_err(p, OCFPROV_R_BAD_CONFIG, "socket: empty path");
      return 0;
    }
    c->ocfd = true;
    if (!conf_copy(p, "socket", val[K_SOCKET], c->socket, sizeof(c->socket))) return 0;
  }
  if (c->ocfd) {
    for (int k = K_DEVICES; k <= K_SOFT_PK; k++)
      if (val[k] != NULL) {
        ocfprov_err(p, OCFPROV_R_BAD_CONFIG,
                    "%s applies to the in-process framework, not to backend = ocfd (configure "
                    "the daemon instead)",
                    conf_keys[k]);
        return 0;
      }
  }
  if (val[K_DEVICES] != NULL &&
      !conf_copy(p, "devices", val[K_DEVICES], c->devices, sizeof(c->devices)))
    return 0;
  if (val[K_POLICY] != NULL) {
    const char *v = val[K_POLICY];
    if (strcmp(v, "sessions") && strcmp(v, "capacity") && strcmp(v, "size")) {
      ocfprov_err(p, OCFPROV_R_BAD_CONFIG, "policy = '%s': expected sessions, capacity or size", v);
      return 0;
    }
    if (!conf_copy(p, "policy", v, c->policy, sizeof(c->policy))) return 0;
  }
  if (val[K_WORKERS] != NULL) {
    size_t w;
    if (!conf_size(p, "workers", val[K_WORKERS], 0, 256, &w)) return 0;
    c->workers = (int)w;
  }
  bool yes;
  if (val[K_SOFT] != NULL) {
    if (!conf_bool(p, "soft", val[K_SOFT], &yes)) return 0;
    c->no_soft = !yes;
  }
  if (val[K_SOFT_PK] != NULL) {
    if (!conf_bool(p, "soft_pk", val[K_SOFT_PK], &yes)) return 0;
    c->no_soft_pk = !yes;
  }
  if (val[K_OFFLOAD] != NULL) {
    const char *v = val[K_OFFLOAD];
    if (!strcasecmp(v, "auto"))
      c->offload = OFFLOAD_AUTO;
    else if (!strcasecmp(v, "always"))
      c->offload = OFFLOAD_ALWAYS;
    else if (!strcasecmp(v, "never"))
      c->offload = OFFLOAD_NEVER;
    else if (!strcasecmp(v, "alternate"))
      c->offload = OFFLOAD_ALTERNATE;
    else {
      ocfprov_err(p, OCFPROV_R_BAD_CONFIG,
                  "offload = '%s': expected auto, always, never or alternate", v);
      return 0;
    }
  }
  if (val[K_ASYNC] != NULL && !conf_bool(p, "async", val[K_ASYNC], &c->async)) return 0;
  if (val[K_SHM_MIN] != NULL && !conf_size(p, "shm_min", val[K_SHM_MIN], 0, SIZE_MAX, &c->shm_min))
    return 0;
  if (val[K_SHM_SIZE] != NULL &&
      !conf_size(p, "shm_size", val[K_SHM_SIZE], 0, (size_t)1 << 30, &c->shm_size))
    return 0;
  if (val[K_DIGEST_MAX] != NULL &&
      !conf_size(p, "digest_max", val[K_DIGEST_MAX], 0, (size_t)1 << 30, &c->digest_max))
    return 0;
  return 1;
}

/* --- provider functions --------------------------------------------------- */

static const OSSL_PARAM prov_param_types[] = {
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_NAME, OSSL_PARAM_UTF8_PTR, NULL, 0),
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_VERSION, OSSL_PARAM_UTF8_PTR, NULL, 0),
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_BUILDINFO, OSSL_PARAM_UTF8_PTR, NULL, 0),
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_STATUS, OSSL_PARAM_INTEGER, NULL, 0),
    OSSL_PARAM_DEFN("ocf-backend", OSSL_PARAM_UTF8_PTR, NULL, 0),
    OSSL_PARAM_DEFN("ocf-running", OSSL_PARAM_INTEGER, NULL, 0),
    OSSL_PARAM_DEFN("ocf-offload", OSSL_PARAM_UTF8_PTR, NULL, 0),
    OSSL_PARAM_DEFN("ocf-requests", OSSL_PARAM_UNSIGNED_INTEGER, NULL, 0),
    OSSL_PARAM_DEFN("ocf-bytes", OSSL_PARAM_UNSIGNED_INTEGER, NULL, 0),
    OSSL_PARAM_DEFN("ocf-krequests", OSSL_PARAM_UNSIGNED_INTEGER, NULL, 0),
    OSSL_PARAM_DEFN("inline-requests", OSSL_PARAM_UNSIGNED_INTEGER, NULL, 0),
    OSSL_PARAM_DEFN("inline-bytes", OSSL_PARAM_UNSIGNED_INTEGER, NULL, 0),
    OSSL_PARAM_DEFN("inline-krequests", OSSL_PARAM_UNSIGNED_INTEGER, NULL, 0),
    OSSL_PARAM_DEFN("async-pauses", OSSL_PARAM_UNSIGNED_INTEGER, NULL, 0),
    OSSL_PARAM_DEFN("fallbacks", OSSL_PARAM_UNSIGNED_INTEGER, NULL, 0),
    OSSL_PARAM_DEFN("ocf-sessions", OSSL_PARAM_UNSIGNED_INTEGER, NULL, 0),
    OSSL_PARAM_DEFN("ocf-costs", OSSL_PARAM_UTF8_STRING, NULL, 0),
    OSSL_PARAM_END};

static const OSSL_PARAM *prov_gettable_params(void *provctx) { return prov_param_types; }

static int set_u64(OSSL_PARAM *params, const char *name, _Atomic uint64_t *v) {
  OSSL_PARAM *q = OSSL_PARAM_locate(params, name);
  return q == NULL || OSSL_PARAM_set_uint64(q, atomic_load_explicit(v, memory_order_relaxed));
}

static int prov_get_params(void *provctx, OSSL_PARAM params[]) {
  struct ocfprov *p = provctx;
  OSSL_PARAM *q;
  if ((q = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME)) != NULL) {
    static _Thread_local char name[400];
    const char *why;
    bool down = be_state(p, &why) < 0;
    snprintf(name, sizeof(name), "%s%s%s", OCFPROV_NAME,
             p->broken ? " - NOT USED, configuration error: "
             : down    ? " - framework unavailable, all inline: "
                       : "",
             p->broken ? p->broken_msg
             : down    ? why
                       : "");
    if (!OSSL_PARAM_set_utf8_ptr(q, name)) return 0;
  }
  if ((q = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION)) != NULL &&
      !OSSL_PARAM_set_utf8_ptr(q, OCF_VERSION))
    return 0;
  if ((q = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO)) != NULL &&
      !OSSL_PARAM_set_utf8_ptr(q, "libocf " OCF_VERSION ", built against " OPENSSL_VERSION_TEXT))
    return 0;
  if ((q = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS)) != NULL && !OSSL_PARAM_set_int(q, 1))
    return 0;
  if ((q = OSSL_PARAM_locate(params, "ocf-backend")) != NULL &&
      !OSSL_PARAM_set_utf8_ptr(q, p->conf.ocfd ? "ocfd" : "inprocess"))
    return 0;
  if ((q = OSSL_PARAM_locate(params, "ocf-running")) != NULL) {
    const char *why;
    if (!OSSL_PARAM_set_int(q, p->broken ? -1 : be_state(p, &why))) return 0;
  }
  static const char *const off[] = {"auto", "always", "never", "alternate"};
  if ((q = OSSL_PARAM_locate(params, "ocf-offload")) != NULL &&
      !OSSL_PARAM_set_utf8_ptr(q, off[p->conf.offload]))
    return 0;
  if (!set_u64(params, "ocf-requests", &p->st.fw_req) ||
      !set_u64(params, "ocf-bytes", &p->st.fw_bytes) ||
      !set_u64(params, "ocf-krequests", &p->st.fw_kreq) ||
      !set_u64(params, "inline-requests", &p->st.in_req) ||
      !set_u64(params, "inline-bytes", &p->st.in_bytes) ||
      !set_u64(params, "inline-krequests", &p->st.in_kreq) ||
      !set_u64(params, "async-pauses", &p->st.pauses) ||
      !set_u64(params, "fallbacks", &p->st.fallbacks) ||
      !set_u64(params, "ocf-sessions", &p->st.sessions))
    return 0;
  if ((q = OSSL_PARAM_locate(params, "ocf-costs")) != NULL) {
    char buf[8192];
    dec_dump(buf, sizeof(buf));
    if (!OSSL_PARAM_set_utf8_string(q, buf)) return 0;
  }
  return 1;
}

static const OSSL_ALGORITHM *prov_query(void *provctx, int operation_id, int *no_cache) {
  struct ocfprov *p = provctx;
  *no_cache = 0;
  if (p->broken) return NULL;
  switch (operation_id) {
    case OSSL_OP_CIPHER:
      return ocfprov_ciphers;
    case OSSL_OP_DIGEST:
      return ocfprov_digests;
    case OSSL_OP_MAC:
      return ocfprov_macs;
    case OSSL_OP_KEYMGMT:
      return ocfprov_keymgmt;
    case OSSL_OP_SIGNATURE:
      return ocfprov_signatures;
    case OSSL_OP_ASYM_CIPHER:
      return ocfprov_asym_ciphers;
    case OSSL_OP_KEYEXCH:
      return ocfprov_keyexch;
  }
  return NULL;
}

static const OSSL_ITEM *prov_reasons(void *provctx) { return reason_strings; }

/* TLS groups.  libssl only uses a group when the key management its
 * algorithm resolves to comes from the provider that announced the group;
 * with this provider's EC and X25519 key management preferred, the default
 * provider's announcements no longer count, so this provider announces the
 * groups its key management serves (the ids and security levels are
 * RFC 8446's and RFC 8422's). */
struct tls_group {
  const char *name, *internal, *alg;
  unsigned id, secbits;
};

static const struct tls_group tls_groups[] = {
    {"x25519", "X25519", "X25519", 0x001d, 128}, {"secp256r1", "prime256v1", "EC", 0x0017, 128},
    {"P-256", "prime256v1", "EC", 0x0017, 128},  {"secp384r1", "secp384r1", "EC", 0x0018, 192},
    {"P-384", "secp384r1", "EC", 0x0018, 192},   {"secp521r1", "secp521r1", "EC", 0x0019, 256},
    {"P-521", "secp521r1", "EC", 0x0019, 256},
};

static int prov_capabilities(void *provctx, const char *capability, OSSL_CALLBACK *cb, void *arg) {
  if (strcasecmp(capability, "TLS-GROUP") != 0) return 0;
  for (size_t i = 0; i < sizeof(tls_groups) / sizeof(tls_groups[0]); i++) {
    const struct tls_group *g = &tls_groups[i];
    unsigned id = g->id, bits = g->secbits;
    int mintls = 0x0301, maxtls = 0, mindtls = 0xfeff, maxdtls = 0; /* TLS 1.0, DTLS 1.0 */
    OSSL_PARAM pp[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_CAPABILITY_TLS_GROUP_NAME, (char *)g->name, 0),
        OSSL_PARAM_construct_utf8_string(OSSL_CAPABILITY_TLS_GROUP_NAME_INTERNAL,
                                         (char *)g->internal, 0),
        OSSL_PARAM_construct_utf8_string(OSSL_CAPABILITY_TLS_GROUP_ALG, (char *)g->alg, 0),
        OSSL_PARAM_construct_uint(OSSL_CAPABILITY_TLS_GROUP_ID, &id),
        OSSL_PARAM_construct_uint(OSSL_CAPABILITY_TLS_GROUP_SECURITY_BITS, &bits),
        OSSL_PARAM_construct_int(OSSL_CAPABILITY_TLS_GROUP_MIN_TLS, &mintls),
        OSSL_PARAM_construct_int(OSSL_CAPABILITY_TLS_GROUP_MAX_TLS, &maxtls),
        OSSL_PARAM_construct_int(OSSL_CAPABILITY_TLS_GROUP_MIN_DTLS, &mindtls),
        OSSL_PARAM_construct_int(OSSL_CAPABILITY_TLS_GROUP_MAX_DTLS, &maxdtls),
        OSSL_PARAM_construct_end()};
    if (!cb(pp, arg)) return 0;
  }
  return 1;
}

static void prov_teardown(void *provctx) {
  struct ocfprov *p = provctx;
  if (p == NULL) return;
  be_stop(p);
  dl_stop(p);
  free(p);
}

static const OSSL_DISPATCH prov_dispatch[] = {
    {OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))prov_teardown},
    {OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, (void (*)(void))prov_gettable_params},
    {OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))prov_get_params},
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))prov_query},
    {OSSL_FUNC_PROVIDER_GET_REASON_STRINGS, (void (*)(void))prov_reasons},
    {OSSL_FUNC_PROVIDER_GET_CAPABILITIES, (void (*)(void))prov_capabilities},
    {0, NULL}};

__attribute__((visibility("default"))) int OSSL_provider_init(const OSSL_CORE_HANDLE *handle,
                                                              const OSSL_DISPATCH *in,
                                                              const OSSL_DISPATCH **out,
                                                              void **provctx) {
  for (; in->function_id != 0; in++) {
    switch (in->function_id) {
      case OSSL_FUNC_CORE_NEW_ERROR:
        c_new_error = OSSL_FUNC_core_new_error(in);
        break;
      case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
        c_set_error_debug = OSSL_FUNC_core_set_error_debug(in);
        break;
      case OSSL_FUNC_CORE_VSET_ERROR:
        c_vset_error = OSSL_FUNC_core_vset_error(in);
        break;
      case OSSL_FUNC_CORE_GET_PARAMS:
        c_get_params = OSSL_FUNC_core_get_params(in);
        break;
      case OSSL_FUNC_CORE_GET_LIBCTX:
        c_get_libctx = OSSL_FUNC_core_get_libctx(in);
        break;
    }
  }
  struct ocfprov *p = calloc(1, sizeof(*p));
  if (p == NULL) return 0;
  p->handle = handle;
  if (c_get_libctx != NULL) p->corectx = (OSSL_LIB_CTX *)c_get_libctx(handle);
  bool dl = dl_start(p) && be_new(p);
  p->initializing = true; /* conf_read's complaint is kept for later */
  bool conf_ok = dl && conf_read(p);
  p->initializing = false;
  if (dl && !conf_ok) {
    /* Activated but offering nothing: OpenSSL's default provider does the
     * work, and the reason shows in `openssl list -providers`. */
    p->broken = true;
    const char *lvl = getenv("OCF_LOG_LEVEL");
    if (lvl == NULL || atoi(lvl) > 0)
      fprintf(stderr, "ocf provider: configuration error, not used: %s\n", p->broken_msg);
  }
  if (conf_ok) be_start_eager(p);
  if (!dl || p->be == NULL) {
    be_stop(p);
    dl_stop(p);
    free(p);
    return 0;
  }
  *out = prov_dispatch;
  *provctx = p;
  return 1;
}
