/*
 * driver.h - producer API of libocf: how a crypto producer (accelerator
 * driver, the software pseudo-driver, a modeled card) plugs into the
 * framework.  A producer sees only this header and ocf.h.
 *
 * Life of a producer:
 *   ocf_get_driverid()   once, with an ops table and the producer's softc
 *   ocf_register()       once per algorithm it serves (any time)
 *   ocf_kregister()      once per public-key operation it serves
 *   ... process() calls; the producer completes each request with ocf_done()
 *   ocf_unregister()     an algorithm goes away: its sessions migrate
 *   ocf_unregister_all() the producer goes away (card ejected): no new work,
 *                        queued work migrates, sessions migrate on next use
 *
 * All functions return 0 or a positive errno value.
 */
#ifndef OCF_DRIVER_H
#define OCF_DRIVER_H

#include <ocf/ocf.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Producer flags, given to ocf_get_driverid. */
#define OCF_DRV_HARDWARE 0x1 /* preferred over software producers */
#define OCF_DRV_SOFTWARE 0x2 /* last resort; never used for OCF_SESS_HWONLY */
#define OCF_DRV_SYNC 0x4 /* see below */
/* OCF_DRV_SYNC: process() does the work in the calling thread and has
 * called ocf_done(), in that thread, when it returns: the framework calls it
 * from the consumer's thread or its worker threads.  Without it, process()
 * must only queue the work (it may be called from the consumer's thread). */

/* ocf_register flags */
#define OCF_ALGF_NONE 0
#define OCF_ALGF_NOSELFTEST                             \
  0x1 /* skip the known-answer self-test: for producers \
         that model timing without computing results */

/* ERESTART-style answer: process() / kprocess() may return OCF_EBUSY_DRV to
 * say "full, hold this request"; the framework keeps it (and later ones) until
 * the producer calls ocf_unblock(). */
#define OCF_EBUSY_DRV 85 /* ERESTART on Linux */

/* ocf_driver_ops - a producer's entry points (designated initializers, please).
 * softc is the pointer given to ocf_get_driverid.  Calls may come from many
 * threads at once, also for the same session.
 *
 * newsession: create producer state for the chain; store it in *dsess.  The
 *   chain has been validated (algorithms registered by this producer, key,
 *   MAC and IV lengths legal).  Return 0 or an errno.
 * freesession: release dsess; wipe keys.  Never called while a request on it
 *   is inside the producer.
 * process: run or queue req.  The data layout is validated.  Return 0 when the
 *   request was taken (ocf_done() will follow exactly once, maybe already
 *   called), OCF_EBUSY_DRV to have it held, or another errno to fail it (the
 *   framework then completes it with that error; do not call ocf_done).
 * kprocess: the same for public-key requests (ocf_kdone()).  May be NULL if
 *   the producer registers no public-key operation. */
struct ocf_driver_ops {
  int (*newsession)(void *softc, void **dsess, const struct ocf_sessparam *chain);
  void (*freesession)(void *softc, void *dsess);
  int (*process)(void *softc, void *dsess, struct ocf_req *req);
  int (*kprocess)(void *softc, struct ocf_kreq *kreq);
};

/* ocf_get_driverid registers a producer named name (at most 31 characters)
 * and writes its id (never 0, never reused) into *hid.  ops and softc must
 * stay valid until ocf_unregister_all(*hid) has returned. */
int ocf_get_driverid(const char *name, unsigned flags, const struct ocf_driver_ops *ops,
                     void *softc, uint32_t *hid);

/* ocf_register announces that producer hid serves alg, for operations of at
 * most maxlen bytes (0 = no limit).  First it runs a known-answer self-test
 * (a NIST or RFC vector) through the producer's process(), so the producer
 * must be ready to process when it calls this; an asynchronous producer has
 * two seconds to answer.  An algorithm that fails is not announced, gets no
 * traffic, and is reported by ocf_driver_failed_algs; the call returns EIO. */
int ocf_register(uint32_t hid, enum ocf_alg alg, size_t maxlen, unsigned flags);

/* ocf_kregister announces that producer hid serves public-key operation op;
 * max_bits limits the modulus size it accepts (0 = no limit). */
int ocf_kregister(uint32_t hid, enum ocf_kop op, size_t max_bits, unsigned flags);

/* ocf_unregister withdraws one algorithm.  Sessions using it move elsewhere
 * on their next request (which completes with EAGAIN and the new id). */
int ocf_unregister(uint32_t hid, enum ocf_alg alg);

/* ocf_unregister_all removes the producer.  Requests queued for it but not
 * yet given to process() complete with EAGAIN (their session migrated) or
 * ENODEV (nothing else can serve it).  It then waits until every request
 * the producer holds has been completed with ocf_done / ocf_kdone, calls
 * freesession for all its sessions, and returns; after that the framework
 * never calls the producer again.  Must not be called from process(). */
int ocf_unregister_all(uint32_t hid);

/* ocf_set_rate declares what producer hid sustains for alg: payload bytes
 * per second at full load and a fixed cost per request in nanoseconds (setup,
 * DMA descriptors, interrupt).  The capacity and size balancing policies use
 * it; a producer that declares nothing is measured by the framework. */
int ocf_set_rate(uint32_t hid, enum ocf_alg alg, double bytes_per_s, double ns_per_req);

/* ocf_kset_rate declares public-key operations per second for op at the
 * given modulus size in bits. */
int ocf_kset_rate(uint32_t hid, enum ocf_kop op, size_t bits, double ops_per_s);

/* ocf_driver_detach is the first half of ocf_unregister_all, for a producer
 * that finds its device dead or hung: it takes no new work from now on and
 * its sessions migrate, but the call returns at once.  The producer then
 * completes what it holds (ocf_done with OCF_ELOST for requests the device
 * lost) and calls ocf_unregister_all to finish. */
int ocf_driver_detach(uint32_t hid);

/* OCF_ELOST: a producer completes a request with req->error = OCF_ELOST when
 * its device lost the request (hung, reset, ejected).  The framework then
 * treats it as never processed: the session migrates and the consumer gets
 * EAGAIN with the new session id, as for any migration.  Output buffers may
 * have been partly written; the consumer's resubmission must start from its
 * own copy of the input if it processed in place. */
#define OCF_ELOST 0x10000

/* ocf_unblock releases requests held after an OCF_EBUSY_DRV answer. */
int ocf_unblock(uint32_t hid);

/* ocf_done completes a symmetric request; req->error must be set (0 or an
 * errno).  Callable from any thread, exactly once per process() that
 * returned 0. */
void ocf_done(struct ocf_req *req);

/* ocf_done_batch completes n requests at once, as a coalesced interrupt
 * would: their callbacks reach the return thread in one hand-off. */
void ocf_done_batch(struct ocf_req **reqs, int n);

/* ocf_kexplain records a sentence about why kreq failed, before the producer
 * completes it with an error: ocf_krun hands it to ocf_errdetail() of the
 * waiting thread.  Without a waiter it only goes to the debug log. */
void ocf_kexplain(struct ocf_kreq *kreq, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ocf_kdone completes a public-key request (kreq->error, kreq->status set). */
void ocf_kdone(struct ocf_kreq *kreq);

/* ocf_req_params returns the session parameters the request carries (the
 * chain given to ocf_newsession, keys included), for producers that keep no
 * session state on the device.  Valid until ocf_done(req). */
const struct ocf_sessparam *ocf_req_params(const struct ocf_req *req);

/* OCF_STREAM_MAX is the room for one running digest state. */
#define OCF_STREAM_MAX 256

/* ocf_stream - the running state of a streamed digest (ocf.h, OCF_D_UPDATE).
 * It belongs to the framework's session, not to a producer, so a stream
 * survives migration: any producer that understands fmt continues it.  A
 * producer names its state format in fmt (0 = empty: the stream starts) and
 * answers EXDEV to a format it cannot read. */
struct ocf_stream {
  uint32_t fmt; /* producer-defined format id, 0 = empty */
  uint32_t len; /* bytes of state used */
  uint64_t fed; /* message bytes absorbed */
  uint8_t state[OCF_STREAM_MAX];
};

/* ocf_req_stream gives the producer of a streamed-digest part (a request
 * whose descriptor has OCF_D_UPDATE or OCF_D_FINAL) the state before the part
 * (*cur; empty when the stream starts or OCF_D_RESET is set) and where to
 * write the state after it (*next; for OCF_D_UPDATE).  The framework adopts
 * *next when the request completes with error 0 (FINAL: clears the state),
 * and keeps the old state otherwise.  Only one part of a session is in
 * flight, so the producer has both to itself until ocf_done.  Returns 0, or
 * EINVAL when req is not a streamed part. */
int ocf_req_stream(const struct ocf_req *req, const struct ocf_stream **cur,
                   struct ocf_stream **next);

/* ocf_req_nonce writes the next generated nonce of req's session into
 * nonce[len] (len must be the session's AEAD nonce length): a random fixed
 * field drawn when the session was created, followed by a big-endian
 * invocation counter of min(8, len - 4) bytes that the framework's session
 * keeps across migration.  Returns 0, EINVAL (no AEAD session, or len under
 * 8) or EOVERFLOW (the counter space is spent). */
int ocf_req_nonce(const struct ocf_req *req, uint8_t *nonce, size_t len);

/* ocf_buf_segment finds the byte at offset off of b: writes a pointer to it
 * into *p and the number of contiguous bytes from there into *avail.
 * ERANGE if off is at or past the end. */
int ocf_buf_segment(const struct ocf_buf *b, size_t off, uint8_t **p, size_t *avail);

/* ocf_random fills p[len] from a cryptographically secure source. */
int ocf_random(void *p, size_t len);

/* ocf_log emits one message for people (stderr by default).  level: 0 error,
 * 1 warning, 2 info, 3 debug; messages above $OCF_LOG_LEVEL (default 1) are
 * dropped. */
void ocf_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ocf_wipe clears len bytes at p in a way the compiler keeps. */
void ocf_wipe(void *p, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* OCF_DRIVER_H */
