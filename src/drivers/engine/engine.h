/*
 * engine.h - the one transform engine of the built-in producers.  The
 * software producer (soft), the dedicated-core producer (cpu) and the modeled
 * cards' exact mode (sim) all run a request's descriptors through it, so the
 * request semantics of ocf.h (IV sources, tag placement, verification,
 * separate output, streaming hashes, generated nonces) are implemented once.
 *
 * It works on a request's buffers directly (ocf_eng_run: contiguous, iovec
 * and mbuf buffers through segment cursors, the soft producer's fast paths)
 * or on a flat copy of the bytes a request touches (ocf_eng_apply: the "hull"
 * a card's DMA engine moves).  Drivers only: the framework never includes it.
 */
#ifndef OCF_DRIVERS_ENGINE_H
#define OCF_DRIVERS_ENGINE_H

#include <ocf/driver.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ocf_eng_sess - a session's keyed state: pooled cipher contexts keyed once
 * per direction, HMAC inner and outer states, compression streams.  Opaque;
 * many threads may run requests of one session at once. */
struct ocf_eng_sess;

/* ocf_eng_hold / ocf_eng_release keep the engine's OpenSSL library context
 * (default and legacy providers) and its fetched algorithms alive: a producer
 * holds it from attach to detach, and every keyed session holds it too, so
 * the order in which producers and sessions go away does not matter.
 * ocf_eng_hold returns 0, ENOMEM or EIO. */
int ocf_eng_hold(void);
void ocf_eng_release(void);

/* ocf_eng_supports tells whether the engine can serve alg: with what OpenSSL
 * provided while the engine is held, else what the engine implements. */
bool ocf_eng_supports(enum ocf_alg alg);

/* ocf_eng_new builds keyed state for chain (validated by the framework);
 * ocf_eng_new_layout records only the chain's layout (IV, MAC and tag
 * lengths), enough for ocf_eng_hull: no keys, no OpenSSL objects, and
 * ocf_eng_run / ocf_eng_apply fail on it with EINVAL.  Returns 0, EINVAL
 * (a key OpenSSL refuses), ENOTSUP or ENOMEM.  *out is owned by the caller
 * and freed with ocf_eng_free, which wipes it (NULL is fine). */
int ocf_eng_new(struct ocf_eng_sess **out, const struct ocf_sessparam *chain);
int ocf_eng_new_layout(struct ocf_eng_sess **out, const struct ocf_sessparam *chain);
void ocf_eng_free(struct ocf_eng_sess *s);

/* ocf_eng_run processes req completely on its own buffers (a separate output
 * receives the hull of the input first).  Returns 0 or the request's error:
 * EBADMSG (MAC or tag mismatch; an AEAD plaintext is wiped), EINVAL, ENOSPC
 * (compression output does not fit), ENOMEM, EIO (OpenSSL failed), or what
 * the framework's stream and nonce services answer (see ocf_req_stream and
 * ocf_req_nonce in driver.h). */
int ocf_eng_run(struct ocf_eng_sess *s, struct ocf_req *req);

/* ocf_eng_hull computes [*lo, *hi): the bytes of the buffer req's
 * descriptors touch (data, AAD, MAC or tag, IV in the buffer).  With a
 * layout-only session it works the same. */
void ocf_eng_hull(const struct ocf_eng_sess *s, const struct ocf_req *req, size_t *lo, size_t *hi);

/* ocf_eng_apply runs req's descriptors in place on flat[n], which holds
 * bytes [base, base + n) of the request's buffer (its hull: see
 * ocf_eng_hull).  Generated IVs are written into flat and desc->iv.
 * Compression is not served this way (ENOTSUP): its output can outgrow the
 * hull.  Same returns as ocf_eng_run. */
int ocf_eng_apply(struct ocf_eng_sess *s, struct ocf_req *req, uint8_t *flat, size_t base,
                  size_t n);

/* ocf_eng_dma_in copies the hull [lo, hi) of req->buf into flat (bytes past
 * the input's end read as zero); ocf_eng_dma_out copies flat back into the
 * request's output (req->out when separate, else req->buf), clipped to its
 * length. */
void ocf_eng_dma_in(const struct ocf_req *req, uint8_t *flat, size_t lo, size_t hi);
void ocf_eng_dma_out(const struct ocf_req *req, const uint8_t *flat, size_t lo, size_t hi);

/* ocf_eng_kop computes a card's public-key request: MOD_EXP (in: base,
 * exponent, modulus) and MOD_EXP_CRT in the cryptodev order (in: p, q,
 * message, dp, dq, qinv).  The result goes to out[outlen], little-endian and
 * zero padded.  The framework has checked the pk.h contract.  Returns 0,
 * EINVAL, ERANGE (the result does not fit), ENOTSUP (another operation),
 * ENOMEM or EIO. */
int ocf_eng_kop(const struct ocf_kreq *k, uint8_t *out, size_t outlen);

#endif /* OCF_DRIVERS_ENGINE_H */
