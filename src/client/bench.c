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

#define LAT_CAP 65536u /* latency samples kept: the last LAT_CAP */
#define WARM_NS 20000000u /* not measured at the start of a run (below) */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
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

/* layout describes one request over size payload bytes on the session si
 * (one descriptor per algorithm: ciphers encrypt the payload, AEADs seal it,
 * MACs cover it; tags and MACs go after it, in order); returns the buffer
 * length it needs. */
static size_t layout(size_t size, struct ocfdev_op *op, uint32_t ses,
                     const struct ocfdev_sessinfo *si) {
  memset(op, 0, sizeof(*op));
  op->ses = ses;
  op->ndesc = si->nalg;
  size_t total = size;
  for (int i = 0; i < si->nalg; i++) {
    struct ocf_desc *d = &op->desc[i];
    const struct ocfdev_alginfo *a = &si->alg[i];
    d->alg = a->alg;
    d->len = size;
    switch (a->cls) {
      case OCF_CLASS_CIPHER:
        d->flags = OCF_D_ENCRYPT | (a->ivlen ? OCF_D_IV_EXPLICIT : 0);
        break;
      case OCF_CLASS_AEAD:
        d->flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT;
        d->inject = total;
        total += a->maclen;
        break;
      case OCF_CLASS_MAC:
        d->flags = a->ivlen ? OCF_D_IV_EXPLICIT : 0;
        d->inject = total;
        total += a->maclen;
        break;
      default:
        d->flags = OCF_D_ENCRYPT;
        break;
    }
  }
  return total;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

/* percentiles sorts the kept samples (ns / 16, to fit in 32 bits up to a
 * minute) and stores p50 and p99 in microseconds. */
static void percentiles(uint32_t *lat, uint64_t n, struct ocfdev_bench_result *res) {
  size_t k = n < LAT_CAP ? (size_t)n : LAT_CAP;
  if (k == 0) return;
  qsort(lat, k, sizeof(*lat), cmp_u32);
  res->p50_us = (double)lat[k / 2] * 16 / 1000.0;
  res->p99_us = (double)lat[(size_t)((double)(k - 1) * 0.99)] * 16 / 1000.0;
}

static uint32_t lat_of(uint64_t t0, uint64_t t1) {
  uint64_t v = (t1 - t0) / 16;
  return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

int ocfdev_bench_chain(const char *socket, const struct ocf_sessparam *chain, unsigned sflags,
                       size_t size, enum ocfdev_bench_mode mode, int depth, double seconds,
                       struct ocfdev_bench_result *res) {
  if (res == NULL || chain == NULL || !(seconds > 0)) return EINVAL;
  memset(res, 0, sizeof(*res));
  bool async = mode == OCFDEV_BENCH_ASYNC || mode == OCFDEV_BENCH_SHM;
  bool shm = mode == OCFDEV_BENCH_SHM || mode == OCFDEV_BENCH_SHM_SYNC;
  if (depth <= 0) depth = 256;
  if (!async) depth = 1;
  struct ocfdev *d;
  int rc = ocfdev_open(socket, &d);
  if (rc) return rc;
  uint32_t ses;
  struct ocfdev_sessinfo si;
  rc = ocfdev_newsession(d, chain, sflags, &ses, &si);
  struct ocfdev_op *ops = NULL;
  struct ocfdev_op **ptr = NULL, **done = NULL;
  uint64_t *sent_at = NULL;
  uint32_t *lat = NULL;
  uint8_t *mem = NULL;
  struct ocfdev_shm *region = NULL;
  size_t stride = 0;
  if (rc == 0) {
    memcpy(res->driver, si.driver, sizeof(res->driver));
    ops = calloc((size_t)depth, sizeof(*ops));
    ptr = calloc((size_t)depth, sizeof(*ptr));
    done = calloc((size_t)depth, sizeof(*done));
    sent_at = calloc((size_t)depth, sizeof(*sent_at));
    lat = malloc(LAT_CAP * sizeof(*lat));
    if (ops == NULL || ptr == NULL || done == NULL || sent_at == NULL || lat == NULL) rc = ENOMEM;
  }
  if (rc == 0) {
    struct ocfdev_op tmp;
    stride = (layout(size, &tmp, ses, &si) + 63) & ~(size_t)63;
    if (shm) {
      rc = ocfdev_shm_create(d, stride * (size_t)depth, &region);
      if (rc == 0) mem = ocfdev_shm_base(region);
    } else if ((mem = calloc((size_t)depth, stride)) == NULL) {
      rc = ENOMEM;
    }
  }
  if (rc == 0) {
    for (int i = 0; i < depth; i++) {
      size_t len = layout(size, &ops[i], ses, &si);
      if (shm) {
        ops[i].shm = region;
        ops[i].shm_off = (size_t)i * stride;
      } else {
        ops[i].buf = mem + (size_t)i * stride;
      }
      ops[i].len = len;
      ops[i].opaque = &sent_at[i];
      memset(mem + (size_t)i * stride, 0x5a, len);
      ptr[i] = &ops[i];
    }
    /* The first WARM_NS (at most a tenth of the run) are not counted: a new
     * connection's first requests also pay for its ring, the daemon's first
     * touch of the region and the daemon's event thread moving next to us
     * (about 3% of a 0.25 s run at 16 KB, 64 in flight), which a client that
     * stays connected pays once.  The cdev path of `ocf bench` does the same. */
    uint64_t start = now_ns(), warm = (uint64_t)(seconds * 1e8);
    if (warm > WARM_NS) warm = WARM_NS;
    uint64_t t0 = start + warm, end = t0 + (uint64_t)(seconds * 1e9), t = start;
    uint64_t n = 0;
    if (!async) {
      while (rc == 0 && t < end) {
        uint64_t a = t;
        rc = ocfdev_crypt(d, &ops[0]);
        t = now_ns();
        if (a >= t0) lat[n++ % LAT_CAP] = lat_of(a, t);
      }
    } else {
      int sent;
      for (int i = 0; i < depth; i++) sent_at[i] = start;
      rc = ocfdev_submit_batch(d, ptr, depth, &sent);
      int inflight = sent;
      bool stopping = false;
      while (inflight > 0) {
        int got;
        int e = ocfdev_reap(d, done, depth, -1, &got);
        if (e) {
          if (!rc) rc = e;
          break;
        }
        inflight -= got;
        t = now_ns();
        for (int k = 0; k < got; k++) {
          if (done[k]->error && !rc) rc = done[k]->error;
          if (t >= t0) lat[n++ % LAT_CAP] = lat_of(*(uint64_t *)done[k]->opaque, t);
          *(uint64_t *)done[k]->opaque = t;
        }
        if (t >= end || rc) stopping = true;
        if (!stopping) {
          e = ocfdev_submit_batch(d, done, got, &sent);
          inflight += sent;
          if (e) rc = e;
        }
      }
      t = now_ns();
    }
    res->seconds = t > t0 ? (double)(t - t0) / 1e9 : 0;
    res->ops = n;
    res->ops_per_s = res->seconds > 0 ? (double)n / res->seconds : 0;
    res->bytes_per_s = res->ops_per_s * (double)size;
    percentiles(lat, n, res);
  }
  if (region)
    ocfdev_shm_destroy(d, region);
  else
    free(mem);
  free(ops);
  free(ptr);
  free(done);
  free(sent_at);
  free(lat);
  ocfdev_close(d);
  return rc;
}

int ocfdev_bench(const char *socket, enum ocf_alg alg, size_t size, enum ocfdev_bench_mode mode,
                 int depth, double seconds, struct ocfdev_bench_result *res) {
  uint8_t key[64];
  for (size_t i = 0; i < sizeof(key); i++) key[i] = (uint8_t)(i * 37 + 11);
  struct ocf_sessparam p = {.alg = alg, .key = key, .keylen = bench_keylen(alg)};
  return ocfdev_bench_chain(socket, &p, 0, size, mode, depth, seconds, res);
}
