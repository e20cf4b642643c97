/* util.c - error details, logging, randomness, wiping. */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

static _Thread_local char errdetail[256];

/* ocf_seterr records a sentence for ocf_errdetail() and returns err, so that
 * validators can write `return ocf_seterr(EINVAL, "...")`. */
int ocf_seterr(int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(errdetail, sizeof(errdetail), fmt, ap);
  va_end(ap);
  return err;
}

const char *ocf_errdetail(void) { return errdetail; }

const char *ocf_strerror(int err) {
  switch (err) {
    case 0: return "success";
    case ENOTSUP: return "unknown algorithm or operation";
    case ENODEV: return "no producer can serve this";
    case EINVAL: return "invalid argument";
    case ERANGE: return "offset or length outside the buffer";
    case ENOENT: return "unknown session";
    case EBUSY: return "session has requests in flight";
    case EBADMSG: return "authentication failed";
    case EMSGSIZE: return "request longer than the producer accepts";
    case EOVERFLOW: return "generated-nonce counter exhausted: use a new session";
    case EXDEV: return "streamed digest state from another producer: restart with OCF_D_RESET";
    case EAGAIN: return "session migrated: resubmit with the new session id";
    case ECANCELED: return "framework shut down";
    case ENOSPC: return "output does not fit in the buffer";
    default: return strerror(err);
  }
}

static int log_level(void) {
  static int level = -1;
  if (level < 0) {
    const char *e = getenv("OCF_LOG_LEVEL");
    level = e ? atoi(e) : 1;
  }
  return level;
}

void ocf_log(int level, const char *fmt, ...) {
  if (level > log_level()) return;
  static const char *tag[] = {"error", "warning", "info", "debug"};
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  fprintf(stderr, "ocf: %s: %s\n", tag[level < 0 ? 0 : level > 3 ? 3 : level], line);
}

int ocf_random(void *p, size_t len) {
  if (len == 0) return 0;
  if (p == NULL || len > (size_t)0x7fffffff) return EINVAL;
  return RAND_bytes(p, (int)len) == 1 ? 0 : EIO;
}

void ocf_wipe(void *p, size_t len) {
  if (p != NULL && len > 0) OPENSSL_cleanse(p, len);
}
