/*
 * ref.h - reference computations for the differential tests: every algorithm
 * of enum ocf_alg computed with direct OpenSSL (EVP / HMAC) and zlib calls on
 * flat memory, an interpreter that applies a request's descriptor chain to a
 * flat copy of its buffer, buffer-layout builders (contiguous, iovec lists,
 * mbuf chains split anywhere) and a seeded PRNG.
 *
 * The reference never calls into libocf: it is the oracle the framework's
 * output is compared against.  All functions return 0 or a positive errno.
 */
#ifndef OCF_TEST_REF_H
#define OCF_TEST_REF_H

#include <ocf/ocf.h>
#include <stddef.h>
#include <stdint.h>

/* ref_init loads the OpenSSL providers the reference needs (default and
 * legacy, for DES, Blowfish and CAST5) into the default library context.
 * Idempotent; ref_cleanup unloads them. */
int ref_init(void);
void ref_cleanup(void);

/* Static facts, independent of libocf's algorithm table. */
enum ocf_alg_class ref_alg_class(enum ocf_alg alg);
size_t ref_alg_block(enum ocf_alg alg);  /* data length multiple (1 = any) */
size_t ref_alg_ivlen(enum ocf_alg alg);  /* default IV / nonce length */
size_t ref_alg_maclen(enum ocf_alg alg); /* full MAC / tag length */
const char *ref_alg_name(enum ocf_alg alg);

/* ref_cipher runs a non-AEAD cipher (NULL, CBC modes, CTR, XTS) over
 * in[len] into out[len] (may alias).  EINVAL if OpenSSL refuses. */
int ref_cipher(enum ocf_alg alg, const uint8_t *key, size_t keylen, const uint8_t *iv, size_t ivlen,
               int enc, const uint8_t *in, size_t len, uint8_t *out);

/* ref_aead runs GCM / CCM / ChaCha20-Poly1305.  Encrypt writes tag[taglen];
 * decrypt checks tag[taglen] and returns EBADMSG on mismatch. */
int ref_aead(enum ocf_alg alg, const uint8_t *key, size_t keylen, const uint8_t *iv, size_t ivlen,
             const uint8_t *aad, size_t aadlen, int enc, const uint8_t *in, size_t len,
             uint8_t *out, uint8_t *tag, size_t taglen);

/* ref_mac computes the full-length MAC or hash of data[len] into
 * mac[ref_alg_maclen(alg)].  GMAC uses iv[ivlen]; HMACs key[keylen]. */
int ref_mac(enum ocf_alg alg, const uint8_t *key, size_t keylen, const uint8_t *iv, size_t ivlen,
            const uint8_t *data, size_t len, uint8_t *mac);

/* ref_deflate / ref_inflate: raw DEFLATE (windowBits -15) with zlib.  The
 * result is malloc'd into *out (caller frees).  ref_inflate fails with
 * EMSGSIZE if the output would exceed max bytes, EINVAL on corrupt input. */
int ref_deflate(const uint8_t *in, size_t len, int level, uint8_t **out, size_t *outlen);
int ref_inflate(const uint8_t *in, size_t len, size_t max, uint8_t **out, size_t *outlen);

/* ref_apply runs the descriptors d[0..nd) in order, in place on the flat
 * buffer b[n], with the session parameters chain, exactly as the framework
 * is specified to.  gen_iv[i] is the IV to use for descriptor i when it
 * generates one (no IV flag, encrypting): it is written at iv_off first.
 * Decrypting descriptors without an IV flag read the IV at iv_off.  *olen
 * receives the output length of a compression descriptor.  Returns 0,
 * EBADMSG (MAC / tag mismatch; b is then partially processed), ERANGE,
 * EMSGSIZE (compression output does not fit) or EINVAL. */
int ref_apply(const struct ocf_sessparam *chain, uint8_t *b, size_t n, const struct ocf_desc *d,
              int nd, const uint8_t (*gen_iv)[OCF_MAX_IV], size_t *olen);

/* ref_hull computes [*lo, *hi), the smallest range covering every region the
 * descriptors name (skip/len, AAD, inject..+maclen, iv_off..+ivlen when the
 * IV lives in the buffer); empty regions are ignored.  *lo == *hi == 0 if
 * nothing is named.  This is the range a separate output buffer receives. */
void ref_hull(const struct ocf_sessparam *chain, const struct ocf_desc *d, int nd, size_t *lo,
              size_t *hi);

/* ref_param finds the chain element for alg (NULL if absent); ref_ivlen /
 * ref_maclen resolve its 0 = default lengths. */
const struct ocf_sessparam *ref_param(const struct ocf_sessparam *chain, enum ocf_alg alg);
size_t ref_ivlen(const struct ocf_sessparam *p);
size_t ref_maclen(const struct ocf_sessparam *p);

/* --- PRNG (xoshiro256**, seeded by splitmix64): reproducible per seed ---- */

struct ref_rng {
  uint64_t s[4];
};

void ref_rng_seed(struct ref_rng *r, uint64_t seed);
uint64_t ref_rand(struct ref_rng *r);
/* ref_range returns a value in [lo, hi] (inclusive). */
size_t ref_range(struct ref_rng *r, size_t lo, size_t hi);
void ref_fill(struct ref_rng *r, void *p, size_t len);
/* ref_fill_text fills with compressible, text-like bytes. */
void ref_fill_text(struct ref_rng *r, void *p, size_t len);

/* ref_seed returns $OCF_TEST_SEED (decimal or 0x hex) or a fresh seed;
 * ref_scale returns $OCF_TEST_SCALE (>= 1, default 1), the divisor tests
 * apply to their iteration counts. */
uint64_t ref_seed(void);
int ref_scale(void);

/* --- buffer layouts ------------------------------------------------------ */

/* ref_buf - a test buffer laid out as a contiguous area, an iovec list or an
 * mbuf chain, every segment in its own allocation (so ASan sees overruns).
 * With odd set, each segment starts at an odd address and is framed by
 * guard bytes that ref_buf_guards_ok checks (catching writes out of bounds
 * in builds without ASan). */
struct ref_buf {
  struct ocf_buf b;
  size_t len;
  int nseg;
  int odd;
  uint8_t **alloc; /* per segment allocation */
  size_t *seglen;  /* per segment length */
  uint8_t **data;  /* per segment data pointer */
  struct iovec *iov;
  struct ocf_mbuf *mb;
};

/* ref_buf_build lays flat[n] out as type, cut at the sorted offsets
 * cuts[0..ncuts) (each in [0, n]; repeats make empty segments; ignored for
 * OCF_BUF_CONTIG). */
int ref_buf_build(struct ref_buf *rb, enum ocf_buf_type type, const uint8_t *flat, size_t n,
                  const size_t *cuts, size_t ncuts, int odd);
/* ref_buf_flatten copies the buffer's bytes into flat[rb->len]. */
void ref_buf_flatten(const struct ref_buf *rb, uint8_t *flat);
/* ref_buf_guards_ok returns 1 when no guard byte around a segment changed. */
int ref_buf_guards_ok(const struct ref_buf *rb);
void ref_buf_free(struct ref_buf *rb);

/* Split generators: write sorted cut offsets into cuts (room for max) and
 * return how many. */
size_t ref_cuts_even(size_t n, size_t pieces, size_t *cuts, size_t max);
size_t ref_cuts_uneven(struct ref_rng *r, size_t n, size_t *cuts, size_t max);
size_t ref_cuts_onebyte(size_t n, size_t *cuts, size_t max);
/* ref_cuts_empty: uneven cuts with repeated offsets (empty segments),
 * including at the very start and end. */
size_t ref_cuts_empty(struct ref_rng *r, size_t n, size_t *cuts, size_t max);
/* ref_cuts_through cuts in the middle of cipher blocks of every descriptor's
 * data, in the middle of MACs / tags, IVs and AAD, plus a few random cuts. */
size_t ref_cuts_through(struct ref_rng *r, const struct ocf_sessparam *chain,
                        const struct ocf_desc *d, int nd, size_t n, size_t *cuts, size_t max);

/* ref_hexdiff prints where got[n] and want[n] differ, with the bytes around the first
 * difference. */
void ref_hexdiff(const char *label, const uint8_t *got, const uint8_t *want, size_t n);

#endif /* OCF_TEST_REF_H */
