/*
 * cpu.h - the dedicated-core producer ("cpu"): an asynchronous producer whose
 * engine is a pool of worker threads of its own (optionally pinned to cores),
 * so that a single-threaded consumer gets parallel crypto while its own core
 * stays free (the paper's section 6.4 "AMP" idea).  Real crypto, real speed,
 * with OpenSSL 3 libcrypto.
 *
 * The second half of this header is the small transform engine it shares with
 * the modeled cards of src/drivers/sim (their exact mode): one implementation
 * of the request semantics of ocf.h over a flat (contiguous) view of the data.
 */
#ifndef OCF_DRIVERS_CPU_H
#define OCF_DRIVERS_CPU_H

#include <ocf/driver.h>
#include <stdbool.h>
#include <stdint.h>

#include <ocf/devices.h> /* ocf_cpu_attach, ocf_cpu_detach */

/* --- the shared transform engine (sim exact mode and cpu) --------------- */

/* ocf_xf_sess - keyed state for one session chain: cipher contexts keyed once
 * (pooled per direction), an HMAC template, digest objects.  Opaque. */
struct ocf_xf_sess;

/* ocf_xf_supports tells whether the engine implements alg. */
bool ocf_xf_supports(enum ocf_alg alg);

/* ocf_xf_hold / ocf_xf_release keep the engine's OpenSSL library context
 * (default + legacy providers, for DES, Blowfish, CAST5) alive: a producer
 * holds it from attach to detach so that sessions coming and going do not
 * reload the providers.  ocf_xf_hold returns 0 or EIO. */
int ocf_xf_hold(void);
void ocf_xf_release(void);

/* ocf_xf_new builds the state for chain (already validated by the
 * framework); ocf_xf_free wipes and frees it (NULL is fine).  Each session
 * holds the library context too. */
int ocf_xf_new(struct ocf_xf_sess **out, const struct ocf_sessparam *chain);
void ocf_xf_free(struct ocf_xf_sess *s);

/* ocf_xf_new_layout records only the chain's layout (IV and MAC lengths):
 * enough for ocf_xf_hull, no keys, no OpenSSL objects.  ocf_xf_apply and
 * ocf_xf_run fail with EINVAL on such a session. */
int ocf_xf_new_layout(struct ocf_xf_sess **out, const struct ocf_sessparam *chain);

/* ocf_xf_hull computes [*lo, *hi): the bytes of the buffer that req's
 * descriptors touch (data, AAD, MAC / tag, IV in the buffer).  A separate
 * output buffer receives exactly this range. */
void ocf_xf_hull(const struct ocf_xf_sess *s, const struct ocf_req *req, size_t *lo, size_t *hi);

/* ocf_xf_apply runs req's descriptors in order, in place, on flat[], which
 * holds bytes [base, base + n) of the request's buffer.  Generated IVs are
 * written into flat and into desc->iv.  Returns 0, EBADMSG (MAC or tag
 * mismatch; an AEAD plaintext is wiped), EINVAL or EIO (OpenSSL failure). */
int ocf_xf_apply(struct ocf_xf_sess *s, struct ocf_req *req, uint8_t *flat, size_t base, size_t n);

/* ocf_xf_run processes req completely: prepares a separate output buffer,
 * then applies the descriptors in place when the working buffer is one
 * contiguous area, or through a bounce copy of the hull otherwise. */
int ocf_xf_run(struct ocf_xf_sess *s, struct ocf_req *req);

/* ocf_xf_dma_in copies the hull [lo, hi) of req->buf into flat (bytes past
 * the input's end read as zero); ocf_xf_dma_out copies flat back into the
 * request's output (req->out when separate, else req->buf), clipped to its
 * length. */
void ocf_xf_dma_in(const struct ocf_req *req, uint8_t *flat, size_t lo, size_t hi);
void ocf_xf_dma_out(const struct ocf_req *req, const uint8_t *flat, size_t lo, size_t hi);

/* ocf_xf_kop computes a public-key request with OpenSSL BIGNUMs:
 * MOD_EXP (in: base, exponent, modulus; out: result) and MOD_EXP_CRT in the
 * cryptodev order of OpenBSD's eng_cryptodev (in: p, q, message, dp, dq,
 * qinv; out: result).  The result goes to out[outlen] (little-endian, zero
 * padded).  Returns 0, EINVAL (bad parameters), ERANGE (result does not fit),
 * ENOTSUP (other operations) or ENOMEM. */
int ocf_xf_kop(const struct ocf_kreq *k, uint8_t *out, size_t outlen);

#endif /* OCF_DRIVERS_CPU_H */
