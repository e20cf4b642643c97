/* fuzz_wire.c - libFuzzer target for the ocfd message decoder
 * (src/client/wire.h): the input is a byte stream as a client would send it;
 * every well-framed message is decoded with the decoder its command uses in
 * the daemon, and what a decoder accepts is checked for consistency (every
 * offset it lets through must lie inside the buffer it describes). */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/wire.h"

#define MAX_MSG (1u << 20)

static void check_crypt(const uint8_t *b, size_t n, unsigned flags) {
  struct ocfw_crypt_view v;
  if (ocfw_dec_crypt(b, n, flags, &v) != 0) return;
  assert(v.c.ndesc >= 1 && v.c.ndesc <= OCF_MAX_DESC);
  uint64_t total = v.c.datalen;
  for (int i = 0; i < v.c.ndesc; i++) {
    assert((uint64_t)v.d[i].skip + v.d[i].len <= total);
    assert((uint64_t)v.d[i].aad_skip + v.d[i].aad_len <= total);
  }
  if (!(flags & OCFW_F_SHM)) {
    /* the data must be readable in full: touch its last byte */
    assert(v.data + v.c.datalen == b + n);
    if (v.c.datalen) {
      volatile uint8_t last = v.data[v.c.datalen - 1];
      (void)last;
    }
  }
}

static void check_newsess(const uint8_t *b, size_t n) {
  struct ocfw_newsess_view v;
  if (ocfw_dec_newsess(b, n, &v) != 0) return;
  for (uint32_t i = 0; i < v.s.nparam; i++) {
    assert(v.key[i] >= b && v.key[i] + v.p[i].keylen <= b + n);
    if (v.p[i].keylen) {
      volatile uint8_t k = v.key[i][v.p[i].keylen - 1];
      (void)k;
    }
  }
}

static void check_key(const uint8_t *b, size_t n) {
  struct ocfw_key_view v;
  if (ocfw_dec_key(b, n, &v) != 0) return;
  for (unsigned i = 0; i < v.k.iparams; i++) {
    assert(v.in[i] >= b && v.in[i] + v.p[i].nbytes <= b + n);
    assert(v.p[i].nbits <= 8ull * v.p[i].nbytes);
  }
}

/* check_ring reads the input as a ring's contents, the way both ends read
 * each other's ring: first byte picks the ring size (a power of two up to
 * what the input holds), the next eight the writer's position; whatever a
 * message found says, it must lie within the ring and the published part. */
static void check_ring(const uint8_t *data, size_t size) {
  if (size < 9) return;
  uint32_t rsize = OCFW_HDR_LEN;
  while (rsize * 2 <= size - 9 && rsize < (1u << (data[0] & 15))) rsize *= 2;
  if (rsize > size - 9) return;
  uint8_t *r = malloc(rsize); /* exact bounds for the sanitizer */
  memcpy(r, data + 9, rsize);
  uint64_t tail, head = 0;
  memcpy(&tail, data + 1, 8);
  tail %= 2ull * rsize;
  for (int guard = 0; guard < 4096; guard++) {
    struct ocfw_hdr h;
    uint64_t before = head;
    long at = ocfw_ring_next(r, rsize, &head, tail, OCFW_RING_SQE_MAX, &h);
    if (at < 0) break;
    assert(head >= before && tail - head >= h.len && h.len >= OCFW_HDR_LEN);
    assert((size_t)at + h.len <= rsize);
    uint8_t m[OCFW_RING_SQE_MAX];
    memcpy(m, r + at, h.len);
    if (h.cmd == OCFW_CRYPT) check_crypt(m + OCFW_HDR_LEN, h.len - OCFW_HDR_LEN, h.flags);
    head += h.len;
  }
  free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_ring(data, size);
  size_t pos = 0;
  while (size - pos >= OCFW_HDR_LEN) {
    struct ocfw_hdr h;
    if (ocfw_get_hdr(data + pos, size - pos, &h) != 0) break;
    if (!ocfw_frame_ok(&h, MAX_MSG) || h.len > size - pos) break;
    /* a private copy, so the sanitizer sees the exact message bounds */
    size_t blen = h.len - OCFW_HDR_LEN;
    uint8_t *b = malloc(blen ? blen : 1);
    memcpy(b, data + pos + OCFW_HDR_LEN, blen);
    uint32_t x;
    switch (h.cmd) {
      case OCFW_CRYPT:
        check_crypt(b, blen, h.flags);
        break;
      case OCFW_NEWSESSION:
        check_newsess(b, blen);
        break;
      case OCFW_KEY:
        check_key(b, blen);
        break;
      case OCFW_FREESESSION:
      case OCFW_SESSINFO:
      case OCFW_SHM_UNREG:
        (void)ocfw_dec_u32(b, blen, &x);
        break;
      case OCFW_SESSLIST: /* the client decodes the reply */
        (void)ocfw_dec_sesslist(b, blen, &x);
        break;
      case OCFW_STATS: {
        /* the client decodes this one: a hostile daemon must not crash it */
        struct ocfw_stats st;
        (void)ocfw_dec_stats(b, blen, &st);
        break;
      }
      default:
        break;
    }
    free(b);
    pos += h.len;
  }
  return 0;
}
