/*
 * engine_buf.c - moving data through a request's buffers: copies, wipes and
 * cipher runs over ranges that may be split across iovec or mbuf segments.
 * Ranges contiguous in memory go straight through EVP; only pieces that cut
 * a cipher block go through a one-block bounce buffer.
 */
#include "drivers/engine/engine_int.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

/* cur_rw copies n bytes between the buffer and mem (to the buffer if write). */
int eng_cur_rw(struct cur *c, uint8_t *mem, size_t n, bool write) {
  while (n > 0) {
    if (c->avail == 0) return ERANGE;
    size_t k = c->avail < n ? c->avail : n;
    if (write)
      memcpy(c->p, mem, k);
    else
      memcpy(mem, c->p, k);
    cur_adv(c, k);
    mem += k;
    n -= k;
  }
  return 0;
}

int eng_buf_read(const struct ocf_buf *b, size_t off, void *dst, size_t n) {
  struct cur c;
  if (n == 0) return 0;
  int rc = cur_seek(&c, b, off);
  return rc ? rc : eng_cur_rw(&c, dst, n, false);
}

int eng_buf_write(const struct ocf_buf *b, size_t off, const void *src, size_t n) {
  struct cur c;
  if (n == 0) return 0;
  int rc = cur_seek(&c, b, off);
  return rc ? rc : eng_cur_rw(&c, (uint8_t *)src, n, true);
}

/* buf_move copies [off, off+n) of src to the same offsets of dst. */
int eng_buf_move(const struct ocf_buf *src, const struct ocf_buf *dst, size_t off, size_t n) {
  struct cur s, d;
  if (n == 0) return 0;
  if (cur_seek(&s, src, off) || cur_seek(&d, dst, off)) return ERANGE;
  while (n > 0) {
    if (s.avail == 0 || d.avail == 0) return ERANGE;
    size_t k = s.avail < d.avail ? s.avail : d.avail;
    if (k > n) k = n;
    memmove(d.p, s.p, k);
    cur_adv(&s, k);
    cur_adv(&d, k);
    n -= k;
  }
  return 0;
}

/* buf_wipe clears [off, off+n) of b (failed AEAD decryption output). */
void eng_buf_wipe(const struct ocf_buf *b, size_t off, size_t n) {
  struct cur c;
  if (n == 0 || cur_seek(&c, b, off)) return;
  while (n > 0 && c.avail > 0) {
    size_t k = c.avail < n ? c.avail : n;
    ocf_wipe(c.p, k);
    cur_adv(&c, k);
    n -= k;
  }
}

int eng_ossl_fail(const char *what) {
  unsigned long e = ERR_get_error();
  char msg[256];
  ERR_error_string_n(e, msg, sizeof(msg));
  ERR_clear_error();
  ocf_log(0, "engine: %s failed: %s", what, e ? msg : "no OpenSSL error queued");
  return EIO;
}

/* crypt_range runs ctx over [off, off+len) of in, writing the same offsets of
 * out (in == out: in place).  Pieces contiguous in both buffers go straight
 * through EVP in multiples of blk; a piece that cuts a block goes through a
 * one-block bounce buffer, so EVP never holds a partial block and each update
 * yields exactly its input length. */
int eng_crypt_range(EVP_CIPHER_CTX *ctx, const struct ocf_buf *in, const struct ocf_buf *out,
                    size_t off, size_t len, size_t blk) {
  struct cur ci, co;
  uint8_t tmp[MAX_BLOCK];
  bool bounced = false;
  int n;
  if (len == 0) return 0;
  if (cur_seek(&ci, in, off) || cur_seek(&co, out, off)) return EINVAL;
  while (len > 0) {
    size_t k = ci.avail < co.avail ? ci.avail : co.avail;
    if (k > len) k = len;
    if (k >= blk) {
      k -= k % blk;
      if (k > INT_MAX) k = (INT_MAX / blk) * blk;
      if (!EVP_CipherUpdate(ctx, co.p, &n, ci.p, (int)k) || (size_t)n != k)
        return eng_ossl_fail("EVP_CipherUpdate");
      cur_adv(&ci, k);
      cur_adv(&co, k);
    } else {
      k = len < blk ? len : blk;
      bounced = true;
      if (eng_cur_rw(&ci, tmp, k, false)) return EINVAL;
      if (!EVP_CipherUpdate(ctx, tmp, &n, tmp, (int)k) || (size_t)n != k)
        return eng_ossl_fail("EVP_CipherUpdate");
      if (eng_cur_rw(&co, tmp, k, true)) return EINVAL;
    }
    len -= k;
  }
  if (bounced) OPENSSL_cleanse(tmp, sizeof(tmp));
  return 0;
}

/* whole_range gives a pointer to [off, off+len) of b: in the buffer when
 * contiguous, else in *bounce (stack space of BOUNCE_STACK bytes or a heap
 * allocation the caller frees with bounce_free), filled when fill. */
int eng_whole_range(const struct ocf_buf *b, size_t off, size_t len, bool fill, uint8_t *stack,
                    uint8_t **heap, uint8_t **p) {
  struct cur c;
  static uint8_t empty[1];
  *heap = NULL;
  if (len == 0) {
    *p = empty;
    return 0;
  }
  if (cur_seek(&c, b, off)) return EINVAL;
  if (c.avail >= len) {
    *p = c.p;
    return 0;
  }
  if (len <= BOUNCE_STACK) {
    *p = stack;
  } else {
    *heap = malloc(len);
    if (*heap == NULL) return ENOMEM;
    *p = *heap;
  }
  if (fill && eng_cur_rw(&c, *p, len, false)) return EINVAL;
  return 0;
}

void eng_bounce_free(uint8_t *heap, size_t len) {
  if (heap == NULL) return;
  OPENSSL_cleanse(heap, len);
  free(heap);
}

/* crypt_whole runs ctx over the range in one EVP call (XTS: one data unit;
 * CCM: one payload).  Returns -1 in *evp_ok when EVP rejected it (a CCM tag
 * mismatch shows up here). */
int eng_crypt_whole(EVP_CIPHER_CTX *ctx, const struct ocf_buf *in, const struct ocf_buf *out,
                    size_t off, size_t len, bool *evp_ok) {
  uint8_t st_in[BOUNCE_STACK], st_out[BOUNCE_STACK];
  uint8_t *hin = NULL, *hout = NULL, *pin = NULL, *pout = NULL;
  int n, rc;
  *evp_ok = true;
  if (len > INT_MAX) return EMSGSIZE;
  rc = eng_whole_range(in, off, len, true, st_in, &hin, &pin);
  if (rc == 0) rc = eng_whole_range(out, off, len, false, st_out, &hout, &pout);
  if (rc == 0) {
    bool pout_bounced = pout == st_out || pout == hout;
    if (!EVP_CipherUpdate(ctx, pout, &n, pin, (int)len)) {
      *evp_ok = false;
    } else if (pout_bounced && len > 0 && eng_buf_write(out, off, pout, len)) {
      rc = EINVAL;
    }
  }
  if (pin == st_in) OPENSSL_cleanse(st_in, len);
  if (pout == st_out) OPENSSL_cleanse(st_out, len);
  eng_bounce_free(hin, len);
  eng_bounce_free(hout, len);
  return rc;
}

/* Streams [off, off+len) of b as AAD into an AEAD / GMAC context. */
int eng_aad_stream(EVP_CIPHER_CTX *ctx, const struct ocf_buf *b, size_t off, size_t len) {
  struct cur c;
  int n;
  if (len == 0) return 0;
  if (cur_seek(&c, b, off)) return EINVAL;
  while (len > 0) {
    if (c.avail == 0) return EINVAL;
    size_t k = c.avail < len ? c.avail : len;
    if (k > INT_MAX) k = INT_MAX;
    if (!EVP_CipherUpdate(ctx, NULL, &n, c.p, (int)k)) return eng_ossl_fail("AAD update");
    cur_adv(&c, k);
    len -= k;
  }
  return 0;
}
