/* bench_direct.c - the reference path of `ocf bench`: the same work done with
 * direct OpenSSL EVP (and zlib) calls, the way a careful user would write it:
 * contexts prepared once with the key, and per request only the IV reset
 * (EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, enc)) then Update / Final. */
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bench.h"

struct part {
  const struct bench_alg *a;
  const uint8_t *iv;
  EVP_CIPHER *cipher;
  EVP_CIPHER_CTX *cctx;
  EVP_MAC *mac;
  EVP_MAC_CTX *mctx;
  EVP_MD *md;
  EVP_MD_CTX *mdctx;
  z_stream z;
  int zinit;
};

struct bench_direct {
  const struct bench_case *c;
  size_t size;
  struct part p[2];
  int nparts;
};

static OSSL_PROVIDER *legacy_prov;

int bench_direct_load_providers(char *msg, size_t msglen) {
  /* DES, Blowfish and CAST5 live in the legacy provider; retain_fallbacks
   * keeps the default provider available next to it. */
  if (legacy_prov == NULL) legacy_prov = OSSL_PROVIDER_try_load(NULL, "legacy", 1);
  if (legacy_prov == NULL) {
    snprintf(msg, msglen, "cannot load OpenSSL's legacy provider (DES, Blowfish, CAST5)");
    ERR_clear_error();
    return ENOENT;
  }
  return 0;
}

void bench_direct_unload_providers(void) {
  if (legacy_prov != NULL) OSSL_PROVIDER_unload(legacy_prov);
  legacy_prov = NULL;
}

static int ssl_fail(char *msg, size_t msglen, const char *what, const char *name) {
  unsigned long e = ERR_get_error();
  char buf[160] = "";
  if (e != 0) ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  snprintf(msg, msglen, "direct: %s %s failed%s%s", what, name, buf[0] ? ": " : "", buf);
  return EIO;
}

static int part_init(struct part *pt, const struct bench_alg *a, const uint8_t *key,
                     const uint8_t *iv, char *msg, size_t msglen) {
  memset(pt, 0, sizeof(*pt));
  pt->a = a;
  pt->iv = iv;
  switch (a->kind) {
    case BK_NULL:
      return 0;
    case BK_CIPHER:
    case BK_AEAD:
    case BK_CCM:
    case BK_GMAC:
      pt->cipher = EVP_CIPHER_fetch(NULL, a->evp, NULL);
      pt->cctx = EVP_CIPHER_CTX_new();
      if (pt->cipher == NULL || pt->cctx == NULL) return ssl_fail(msg, msglen, "fetch", a->evp);
      if (EVP_CipherInit_ex(pt->cctx, pt->cipher, NULL, NULL, NULL, 1) != 1)
        return ssl_fail(msg, msglen, "init", a->evp);
      if (a->kind == BK_CCM &&
          (EVP_CIPHER_CTX_ctrl(pt->cctx, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) != 1 ||
           EVP_CIPHER_CTX_ctrl(pt->cctx, EVP_CTRL_AEAD_SET_TAG, 16, NULL) != 1))
        return ssl_fail(msg, msglen, "ctrl", a->evp);
      if (EVP_CipherInit_ex(pt->cctx, NULL, NULL, key, iv, 1) != 1)
        return ssl_fail(msg, msglen, "key setup", a->evp);
      if (a->kind == BK_CIPHER) EVP_CIPHER_CTX_set_padding(pt->cctx, 0);
      return 0;
    case BK_HMAC: {
      OSSL_PARAM params[2] = {
          OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)a->evp, 0),
          OSSL_PARAM_construct_end()};
      pt->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
      pt->mctx = pt->mac ? EVP_MAC_CTX_new(pt->mac) : NULL;
      if (pt->mctx == NULL) return ssl_fail(msg, msglen, "fetch", "HMAC");
      if (EVP_MAC_init(pt->mctx, key, a->keylen, params) != 1)
        return ssl_fail(msg, msglen, "init HMAC", a->evp);
      return 0;
    }
    case BK_HASH:
      pt->md = EVP_MD_fetch(NULL, a->evp, NULL);
      pt->mdctx = EVP_MD_CTX_new();
      if (pt->md == NULL || pt->mdctx == NULL) return ssl_fail(msg, msglen, "fetch", a->evp);
      if (EVP_DigestInit_ex2(pt->mdctx, pt->md, NULL) != 1)
        return ssl_fail(msg, msglen, "init", a->evp);
      return 0;
    case BK_DEFLATE:
      if (deflateInit2(&pt->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) !=
          Z_OK) {
        snprintf(msg, msglen, "direct: deflateInit2 failed");
        return ENOMEM;
      }
      pt->zinit = 1;
      return 0;
  }
  return EINVAL;
}

static void part_free(struct part *pt) {
  EVP_CIPHER_CTX_free(pt->cctx);
  EVP_CIPHER_free(pt->cipher);
  EVP_MAC_CTX_free(pt->mctx);
  EVP_MAC_free(pt->mac);
  EVP_MD_CTX_free(pt->mdctx);
  EVP_MD_free(pt->md);
  if (pt->zinit) deflateEnd(&pt->z);
  memset(pt, 0, sizeof(*pt));
}

size_t bench_out_len(size_t size) { return size + size / 8 + 64; }

/* part_op: one request's worth of work; buf[0, size) in place, tag at tag. */
static int part_op(struct part *pt, uint8_t *buf, size_t size, uint8_t *tag, const uint8_t *data,
                   uint8_t *out) {
  int l = 0, l2 = 0;
  size_t ml = 0;
  unsigned int ul = 0;
  uint8_t scratch[16];
  EVP_CIPHER_CTX *x = pt->cctx;
  switch (pt->a->kind) {
    case BK_NULL:
      memcpy(out, data, size);
      return 0;
    case BK_CIPHER:
      if (EVP_CipherInit_ex(x, NULL, NULL, NULL, pt->iv, 1) != 1 ||
          EVP_CipherUpdate(x, buf, &l, buf, (int)size) != 1 ||
          EVP_CipherFinal_ex(x, buf + l, &l2) != 1)
        return EIO;
      return 0;
    case BK_AEAD:
      if (EVP_CipherInit_ex(x, NULL, NULL, NULL, pt->iv, 1) != 1 ||
          EVP_CipherUpdate(x, buf, &l, buf, (int)size) != 1 ||
          EVP_CipherFinal_ex(x, buf + l, &l2) != 1 ||
          EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, 16, tag) != 1)
        return EIO;
      return 0;
    case BK_CCM:
      if (EVP_CipherInit_ex(x, NULL, NULL, NULL, pt->iv, 1) != 1 ||
          EVP_CipherUpdate(x, NULL, &l, NULL, (int)size) != 1 ||
          EVP_CipherUpdate(x, buf, &l, buf, (int)size) != 1 ||
          EVP_CipherFinal_ex(x, buf + l, &l2) != 1 ||
          EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, 16, tag) != 1)
        return EIO;
      return 0;
    case BK_GMAC:
      if (EVP_CipherInit_ex(x, NULL, NULL, NULL, pt->iv, 1) != 1 ||
          EVP_CipherUpdate(x, NULL, &l, buf, (int)size) != 1 ||
          EVP_CipherFinal_ex(x, scratch, &l2) != 1 ||
          EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, 16, tag) != 1)
        return EIO;
      return 0;
    case BK_HMAC:
      if (EVP_MAC_init(pt->mctx, NULL, 0, NULL) != 1 || EVP_MAC_update(pt->mctx, buf, size) != 1 ||
          EVP_MAC_final(pt->mctx, tag, &ml, 64) != 1)
        return EIO;
      return 0;
    case BK_HASH:
      if (EVP_DigestInit_ex2(pt->mdctx, pt->md, NULL) != 1 ||
          EVP_DigestUpdate(pt->mdctx, buf, size) != 1 ||
          EVP_DigestFinal_ex(pt->mdctx, tag, &ul) != 1)
        return EIO;
      return 0;
    case BK_DEFLATE:
      if (deflateReset(&pt->z) != Z_OK) return EIO;
      pt->z.next_in = (Bytef *)data;
      pt->z.avail_in = (uInt)size;
      pt->z.next_out = out;
      pt->z.avail_out = (uInt)bench_out_len(size);
      if (deflate(&pt->z, Z_FINISH) != Z_STREAM_END) return EIO;
      return 0;
  }
  return EINVAL;
}

int bench_direct_new(struct bench_direct **dp, const struct bench_case *c, size_t size, char *msg,
                     size_t msglen) {
  struct bench_direct *d = calloc(1, sizeof(*d));
  if (d == NULL) return ENOMEM;
  d->c = c;
  d->size = size;
  int err = part_init(&d->p[0], c->first, c->key1, c->iv1, msg, msglen);
  d->nparts = 1;
  if (err == 0 && c->second) {
    err = part_init(&d->p[1], c->second, c->key2, c->iv2, msg, msglen);
    d->nparts = 2;
  }
  if (err != 0) {
    bench_direct_free(d);
    return err;
  }
  *dp = d;
  return 0;
}

int bench_direct_op(struct bench_direct *d, uint8_t *buf, const uint8_t *data, uint8_t *out) {
  int err = 0;
  /* in a null+mac chain the framework's NULL runs in place: nothing to copy */
  if (d->nparts == 1 || d->p[0].a->kind != BK_NULL)
    err = part_op(&d->p[0], buf, d->size, buf + d->size, data, out);
  if (err == 0 && d->nparts == 2) err = part_op(&d->p[1], buf, d->size, buf + d->size, data, out);
  return err;
}

void bench_direct_free(struct bench_direct *d) {
  if (d == NULL) return;
  for (int i = 0; i < 2; i++) part_free(&d->p[i]);
  free(d);
}

/* --- the timed run -------------------------------------------------------- */

struct dthread {
  pthread_t tid;
  const struct bench_case *c;
  size_t size;
  const uint8_t *data;
  double seconds;
  pthread_barrier_t *bar;
  struct sampler *samp;
  int nbufs;
  uint64_t ops, t_start, t_end;
  int err;
  char msg[160];
};

static void *direct_thread(void *arg) {
  struct dthread *t = arg;
  struct bench_direct *d = NULL;
  int nb = t->nbufs, k = 0;
  uint8_t **buf = calloc((size_t)nb, sizeof(*buf)), **out = calloc((size_t)nb, sizeof(*out));
  if (buf == NULL || out == NULL) abort();
  for (int i = 0; i < nb; i++) {
    buf[i] = bench_alloc(t->size + t->c->taglen);
    out[i] = bench_alloc(bench_out_len(t->size));
    memcpy(buf[i], t->data, t->size);
  }
  t->err = bench_direct_new(&d, t->c, t->size, t->msg, sizeof(t->msg));
  pthread_barrier_wait(t->bar);
  if (t->err == 0) {
    uint64_t now = bench_now_ns(), deadline = now + (uint64_t)(t->seconds * 1e9);
    t->t_start = now;
    /* one request in 16 is timed, and the deadline checked then, as on the
     * framework path (bench_ocf.c): the clock is not what is measured */
    while (now < deadline) {
      uint64_t t0 = bench_now_ns();
      for (int i = 0; i < 16 && t->err == 0; i++) {
        if ((t->err = bench_direct_op(d, buf[k], t->data, out[k])) != 0) {
          snprintf(t->msg, sizeof(t->msg), "direct: %s failed during the run", t->c->name);
          break;
        }
        if (i == 0) {
          now = bench_now_ns();
          sampler_add(t->samp, now - t0);
        }
        t->ops++;
        if (++k == nb) k = 0;
      }
      if (t->err != 0) break;
    }
    t->t_end = bench_now_ns();
  }
  bench_direct_free(d);
  for (int i = 0; i < nb; i++) {
    OPENSSL_cleanse(buf[i], t->size + t->c->taglen);
    free(buf[i]);
    free(out[i]);
  }
  free(buf);
  free(out);
  return NULL;
}

int bench_run_direct(const struct bench_case *c, size_t size, const uint8_t *data,
                     const struct bench_params *p, struct sampler *samp, struct bench_result *r) {
  int n = p->threads, started = 0, err = 0;
  struct dthread *t = calloc((size_t)n, sizeof(*t));
  pthread_barrier_t bar;
  snprintf(r->producer, sizeof(r->producer), "openssl");
  /* the caller joins the barrier to read the CPU clock when they start */
  if (t == NULL || pthread_barrier_init(&bar, NULL, (unsigned)n + 1) != 0) {
    free(t);
    snprintf(r->msg, sizeof(r->msg), "out of memory");
    return ENOMEM;
  }
  for (int i = 0; i < n; i++)
    t[i] = (struct dthread){.c = c,
                            .size = size,
                            .data = data,
                            .seconds = p->seconds,
                            .bar = &bar,
                            .samp = &samp[i],
                            .nbufs = p->direct_bufs > 0 ? p->direct_bufs : 1};
  /* a thread that cannot start would leave the others at the barrier */
  for (; err == 0 && started < n; started++)
    if ((err = pthread_create(&t[started].tid, NULL, direct_thread, &t[started])) != 0) break;
  if (err != 0 && started > 0) {
    fprintf(stderr, "ocf bench: cannot start thread %d of %d: %s\n", started + 1, n, strerror(err));
    abort();
  }
  double cpu0 = 0;
  if (started == n) {
    pthread_barrier_wait(&bar);
    cpu0 = bench_cpu_seconds();
  }
  uint64_t t0 = UINT64_MAX, t1 = 0;
  for (int i = 0; i < started; i++) {
    pthread_join(t[i].tid, NULL);
    if (t[i].err != 0 && err == 0) {
      err = t[i].err;
      snprintf(r->msg, sizeof(r->msg), "%s", t[i].msg);
    }
    r->ops += t[i].ops;
    if (t[i].t_start < t0) t0 = t[i].t_start;
    if (t[i].t_end > t1) t1 = t[i].t_end;
  }
  if (err == 0 && t1 > t0) {
    r->elapsed += (double)(t1 - t0) / 1e9;
    r->cpu_s += bench_cpu_seconds() - cpu0;
  } else if (err != 0 && r->msg[0] == 0)
    snprintf(r->msg, sizeof(r->msg), "direct: %s", strerror(err));
  pthread_barrier_destroy(&bar);
  free(t);
  return err;
}
