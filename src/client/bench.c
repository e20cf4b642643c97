/* bench.c - ocfdev_bench: requests through ocfd, for `ocf bench --via ocfd`.
 *
 * SYNC sends one request and waits (the cryptodev way, data copied both
 * ways); ASYNC keeps depth requests in flight on the copying path; SHM keeps
 * depth in flight on buffers in shared memory (no copy); SHM_SYNC is one at a
 * time on shared memory.  In the async modes requests are sent in batches of
 * what has completed, one system call per batch. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ocf/ocfdev.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* bench_keylen: a valid key length for alg (libocfdev does not link libocf,
 * so it carries these few facts itself). */
static size_t bench_keylen(enum ocf_alg alg) {
  switch (alg) {
    case OCF_ALG_NULL:
    case OCF_ALG_MD5:
    case OCF_ALG_SHA1:
    case OCF_ALG_SHA2_224:
    case OCF_ALG_SHA2_256:
    case OCF_ALG_SHA2_384:
    case OCF_ALG_SHA2_512:
    case OCF_ALG_DEFLATE:
      return 0;
    case OCF_ALG_DES_CBC:
      return 8;
    case OCF_ALG_3DES_CBC:
      return 24;
    case OCF_ALG_AES_XTS:
    case OCF_ALG_CHACHA20_POLY1305:
      return 32;
    case OCF_ALG_HMAC_MD5:
    case OCF_ALG_HMAC_SHA1:
    case OCF_ALG_HMAC_SHA2_224:
    case OCF_ALG_HMAC_SHA2_256:
    case OCF_ALG_HMAC_SHA2_384:
    case OCF_ALG_HMAC_SHA2_512:
      return 32;
    default:
      return 16;
  }
}

/* layout describes one request on alg over size payload bytes; returns the
 * buffer length it needs. */
static size_t layout(enum ocf_alg alg, size_t size, struct ocfdev_op *op, uint32_t ses,
                     const struct ocfdev_sessinfo *si) {
  memset(op, 0, sizeof(*op));
  op->ses = ses;
  op->ndesc = 1;
  struct ocf_desc *d = &op->desc[0];
  d->alg = alg;
  d->len = size;
  size_t total = size;
  switch (si->alg[0].cls) {
    case OCF_CLASS_CIPHER:
      d->flags = OCF_D_ENCRYPT | (si->alg[0].ivlen ? OCF_D_IV_EXPLICIT : 0);
      break;
    case OCF_CLASS_AEAD:
      d->flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT;
      d->inject = size;
      total += si->alg[0].maclen;
      break;
    case OCF_CLASS_MAC:
      d->flags = si->alg[0].ivlen ? OCF_D_IV_EXPLICIT : 0;
      d->inject = size;
      total += si->alg[0].maclen;
      break;
    default:
      d->flags = OCF_D_ENCRYPT;
      break;
  }
  return total;
}

int ocfdev_bench(const char *socket, enum ocf_alg alg, size_t size, enum ocfdev_bench_mode mode,
                 int depth, double seconds, struct ocfdev_bench_result *res) {
  if (res == NULL || seconds <= 0) return EINVAL;
  memset(res, 0, sizeof(*res));
  bool async = mode == OCFDEV_BENCH_ASYNC || mode == OCFDEV_BENCH_SHM;
  bool shm = mode == OCFDEV_BENCH_SHM || mode == OCFDEV_BENCH_SHM_SYNC;
  if (depth <= 0) depth = 256;
  if (!async) depth = 1;
  struct ocfdev *d;
  int rc = ocfdev_open(socket, &d);
  if (rc) return rc;
  uint8_t key[64];
  for (size_t i = 0; i < sizeof(key); i++) key[i] = (uint8_t)(i * 37 + 11);
  struct ocf_sessparam p = {.alg = alg, .key = key, .keylen = bench_keylen(alg)};
  uint32_t ses;
  struct ocfdev_sessinfo si;
  rc = ocfdev_newsession(d, &p, 0, &ses, &si);
  struct ocfdev_op *ops = NULL;
  struct ocfdev_op **ptr = NULL;
  uint8_t *mem = NULL;
  struct ocfdev_shm *region = NULL;
  size_t stride = 0;
  if (rc == 0) {
    ops = calloc((size_t)depth, sizeof(*ops));
    ptr = calloc((size_t)depth, sizeof(*ptr));
    if (ops == NULL || ptr == NULL) rc = ENOMEM;
  }
  if (rc == 0) {
    struct ocfdev_op tmp;
    stride = (layout(alg, size, &tmp, ses, &si) + 63) & ~(size_t)63;
    if (shm) {
      rc = ocfdev_shm_create(d, stride * (size_t)depth, &region);
      if (rc == 0) mem = ocfdev_shm_base(region);
    } else if ((mem = calloc((size_t)depth, stride)) == NULL) {
      rc = ENOMEM;
    }
  }
  if (rc == 0) {
    for (int i = 0; i < depth; i++) {
      size_t len = layout(alg, size, &ops[i], ses, &si);
      if (shm) {
        ops[i].shm = region;
        ops[i].shm_off = (size_t)i * stride;
      } else {
        ops[i].buf = mem + (size_t)i * stride;
      }
      ops[i].len = len;
      memset(mem + (size_t)i * stride, 0x5a, len);
      ptr[i] = &ops[i];
    }
    double t0 = now(), end = t0 + seconds, t = t0;
    uint64_t n = 0;
    if (!async) {
      while (rc == 0 && (t = now()) < end) {
        for (int k = 0; k < 16 && rc == 0; k++, n++) rc = ocfdev_crypt(d, &ops[0]);
      }
      t = now();
    } else {
      int sent;
      rc = ocfdev_submit_batch(d, ptr, depth, &sent);
      int inflight = depth;
      struct ocfdev_op **done = calloc((size_t)depth, sizeof(*done));
      if (done == NULL) rc = ENOMEM;
      bool stopping = false;
      while (rc == 0 && inflight > 0) {
        int got;
        rc = ocfdev_reap(d, done, depth, -1, &got);
        if (rc) break;
        inflight -= got;
        for (int k = 0; k < got; k++)
          if (done[k]->error) rc = done[k]->error;
        n += (uint64_t)got;
        if (!stopping && (n & 63) < (uint64_t)got && now() >= end) stopping = true;
        if (!stopping && rc == 0) {
          rc = ocfdev_submit_batch(d, done, got, &sent);
          inflight += sent;
        }
      }
      t = now();
      free(done);
    }
    res->seconds = t - t0;
    res->ops = n;
    res->ops_per_s = res->seconds > 0 ? (double)n / res->seconds : 0;
    res->bytes_per_s = res->ops_per_s * (double)size;
  }
  if (region)
    ocfdev_shm_destroy(d, region);
  else
    free(mem);
  free(ops);
  free(ptr);
  ocfdev_close(d);
  return rc;
}
