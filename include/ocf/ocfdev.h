/*
 * ocfdev.h - libocfdev, the native client of the ocfd daemon (the /dev/crypto
 * of this system).  A connection holds sessions that no other connection can
 * see; closing it frees them and abandons its requests.
 *
 * Requests use the consumer API's vocabulary (<ocf/ocf.h>): a session is a
 * chain of struct ocf_sessparam, a request a list of struct ocf_desc.  Data
 * travels either through the socket (copied both ways; the result replaces
 * the buffer's contents in place) or in a shared-memory region registered
 * once (ocfdev_shm_create) and then processed in place by the daemon with no
 * copy at all.
 *
 * Threads: a struct ocfdev is not thread-safe; use one per thread or a lock.
 * Errors: 0 or a positive errno, as in ocf.h.  ECONNRESET / EPIPE mean the
 * daemon went away; the connection is then dead and every request in flight
 * completes with that error.
 */
#ifndef OCF_OCFDEV_H
#define OCF_OCFDEV_H

#include <stddef.h>
#include <stdint.h>

#include <ocf/ocf.h>

#ifdef __cplusplus
extern "C" {
#endif

/* OCFDEV_DEFAULT_SOCKET is used when neither a path nor $OCF_SOCKET is set. */
#define OCFDEV_DEFAULT_SOCKET "/run/ocfd/ocfd.sock"

struct ocfdev;
struct ocfdev_shm;

/* ocfdev_open connects to the daemon at path (NULL = $OCF_SOCKET, else the
 * default) and stores the connection in *out. */
int ocfdev_open(const char *path, struct ocfdev **out);

/* ocfdev_adopt takes over fd, a connection to the daemon made by another
 * program image (inherited across exec), and stores it in *out.  It owns fd
 * from then on, even on failure.  Sessions made on it before are still the
 * connection's (ocfdev_sessions lists them); requests in flight then are
 * not ours, and their completions are dropped.  ENOTSOCK if fd is no
 * stream socket. */
int ocfdev_adopt(int fd, struct ocfdev **out);

/* ocfdev_close ends the connection: the daemon frees its sessions and
 * shared-memory regions and drops its requests.  Requests still in flight
 * here are abandoned (their memory is the caller's again); the connection's
 * regions are unmapped and their handles become invalid. */
void ocfdev_close(struct ocfdev *d);

/* ocfdev_fd is the connection's socket, readable when completions arrive:
 * for poll() / epoll together with ocfdev_reap(timeout 0). */
int ocfdev_fd(const struct ocfdev *d);

/* ocfdev_max_request is the daemon's longest request buffer, in bytes. */
size_t ocfdev_max_request(const struct ocfdev *d);

/* ocfdev_allow_soft tells whether the daemon lets clients use software
 * producers (kern.cryptodevallowsoft). */
int ocfdev_allow_soft(const struct ocfdev *d);

/* ocfdev_alginfo / ocfdev_sessinfo - what a session is made of. */
struct ocfdev_alginfo {
  enum ocf_alg alg;
  enum ocf_alg_class cls;
  unsigned block;  /* data length multiple */
  unsigned ivlen;  /* IV / nonce bytes */
  unsigned maclen; /* MAC / tag bytes the session produces */
};

struct ocfdev_sessinfo {
  uint32_t ses;
  uint32_t hid;       /* producer id */
  unsigned drv_flags; /* OCF_DRV_* of driver.h (OCF_DRV_HARDWARE = 0x1) */
  char driver[32];    /* producer name */
  int nalg;
  struct ocfdev_alginfo alg[OCF_MAX_DESC];
};

/* ocfdev_newsession creates a session for chain (flags OCF_SESS_*) and
 * stores its handle in *ses, and its description in *info if non-NULL.
 * EINVAL when the daemon does not allow software and only software could
 * serve it (the caller should fall back to its own software). */
int ocfdev_newsession(struct ocfdev *d, const struct ocf_sessparam *chain, unsigned flags,
                      uint32_t *ses, struct ocfdev_sessinfo *info);

/* ocfdev_cphash copies session src's streamed-digest state (OCF_D_UPDATE
 * parts) to session dst, both of this connection: ocf_stream_copy in the
 * daemon, for cryptodev's CIOCCPHASH.  ENOENT, EINVAL, EBUSY as there. */
int ocfdev_cphash(struct ocfdev *d, uint32_t dst, uint32_t src);

/* ocfdev_freesession frees a session; ENOENT if unknown on this connection.
 * Requests in flight on it still complete. */
int ocfdev_freesession(struct ocfdev *d, uint32_t ses);

/* ocfdev_sessions stores up to max of this connection's session handles in
 * ses and their number in *n (which may exceed max: call again with more). */
int ocfdev_sessions(struct ocfdev *d, uint32_t *ses, int max, int *n);

/* ocfdev_sessinfo describes a session of this connection. */
int ocfdev_sessinfo(struct ocfdev *d, uint32_t ses, struct ocfdev_sessinfo *info);

/* ocfdev_op - one request.  The caller owns it; from ocfdev_submit until it
 * comes back from ocfdev_reap it must stay valid and untouched, and so must
 * its data buffer. */
struct ocfdev_op {
  uint32_t ses;
  int ndesc; /* 1..OCF_MAX_DESC */
  struct ocf_desc desc[OCF_MAX_DESC];
  /* data: either a buffer of the caller (copied to the daemon and back, the
   * result overwriting it) ... */
  void *buf;
  size_t len;
  /* ... or, when shm is non-NULL, len bytes at shm_off in a region. */
  struct ocfdev_shm *shm;
  size_t shm_off;
  unsigned flags; /* OCFDEV_OP_* */
  void *opaque;   /* untouched */
  int error;      /* [out] 0 or an errno, as req->error in ocf.h */
  size_t olen;    /* [out] compression output length */
  /* private */
  struct ocfdev_op *next_;
  uint32_t tag_;
  int state_;
};

/* ocfdev_op flags */
#define OCFDEV_OP_NODATA 0x1 /* copy path: do not send the result back (verify-only) */

/* ocfdev_crypt runs op and waits for it; returns op->error (or a connection
 * error).  Completions of asynchronous requests that arrive meanwhile are
 * kept for ocfdev_reap.  The wait polls for up to $OCFDEV_SPIN_US
 * microseconds (read when the connection opens; default 50, 0 = never)
 * before it sleeps, and sleeps at once for a while after a reply that took
 * longer: a short request's reply then costs no wake-up.  Control calls
 * (sessions, statistics) wait the same way. */
int ocfdev_crypt(struct ocfdev *d, struct ocfdev_op *op);

/* ocfdev_submit sends op and returns at once; ocfdev_reap hands it back.
 * On an error op may still be the connection's: one that died while op was
 * being sent completes it with the connection's error, and ocfdev_reap
 * hands it back like any other.  ocfdev_op_busy tells which. */
int ocfdev_submit(struct ocfdev *d, struct ocfdev_op *op);

/* ocfdev_op_busy: nonzero while op is the connection's, from its
 * submission until ocfdev_reap (or ocfdev_crypt) hands it back. */
int ocfdev_op_busy(const struct ocfdev_op *op);

/* ocfdev_submit_batch sends n requests in one system call where it can.
 * Returns 0 (all sent) or an errno.  ops[0..*sent) are the connection's
 * and come back from ocfdev_reap (with the connection's error if it died
 * while sending them); ops[*sent..n) were not taken. */
int ocfdev_submit_batch(struct ocfdev *d, struct ocfdev_op **ops, int n, int *sent);

/* ocfdev_reap waits up to timeout_ms (-1 = until one arrives, 0 = not at all)
 * for completed requests and stores up to max of them in done[], their count
 * in *n.  Returns 0, or an errno (e.g. ENOENT: nothing in flight). */
int ocfdev_reap(struct ocfdev *d, struct ocfdev_op **done, int max, int timeout_ms, int *n);

/* ocfdev_inflight is the number of submitted, not yet reaped requests. */
int ocfdev_inflight(const struct ocfdev *d);

/* ocfdev_shm_create makes a shared-memory region of size bytes (a sealed
 * memfd passed to the daemon) and stores it in *out. */
int ocfdev_shm_create(struct ocfdev *d, size_t size, struct ocfdev_shm **out);
void *ocfdev_shm_base(const struct ocfdev_shm *m);
size_t ocfdev_shm_size(const struct ocfdev_shm *m);

/* ocfdev_ring chooses how requests on shared memory travel.  With on = 1
 * (set up now if needed) they go through a pair of rings in memory shared
 * with the daemon, a submission ring and a completion ring: while the daemon
 * is busy a request costs no system call on either side, and the socket only
 * carries a wake-up for a side that went to sleep (ocfdev_fd() still becomes
 * readable when completions arrive).  With on = 0 they go through the socket
 * like every other request.  Default: on, set up with the first
 * ocfdev_shm_create, unless $OCFDEV_RING is "0" or the daemon cannot. */
int ocfdev_ring(struct ocfdev *d, int on);

/* ocfdev_shm_destroy unregisters and unmaps a region of this connection
 * (EINVAL for any other).  No request may be in flight on it. */
int ocfdev_shm_destroy(struct ocfdev *d, struct ocfdev_shm *m);

/* ocfdev_kop runs a public-key request (k->op, iparams, oparams, param[];
 * output parameters give their room in nbits) and waits; fills k->error,
 * k->status and the outputs, and returns k->error. */
int ocfdev_kop(struct ocfdev *d, struct ocf_kreq *k);

/* ocfdev_asymfeat stores the CRF_* bits of the public-key operations some
 * producer serves. */
int ocfdev_asymfeat(struct ocfdev *d, uint32_t *feat);

/* ocfdev_driver - one producer as the daemon sees it. */
struct ocfdev_driver {
  uint32_t hid;
  unsigned flags;
  char name[32];
};

/* ocfdev_drivers fills up to max producers and stores their count in *n. */
int ocfdev_drivers(struct ocfdev *d, struct ocfdev_driver *out, int max, int *n);

/* ocfdev_producer - one producer of the daemon's framework instance: the
 * counters of ocf_driver_stats, and the lists of ocf_driver_algs,
 * ocf_driver_failed_algs and ocf_driver_kops. */
struct ocfdev_producer {
  struct ocf_driver_stat st;
  int nalg;
  enum ocf_alg alg[OCF_ALG__MAX];
  size_t alg_maxlen[OCF_ALG__MAX]; /* longest operation in bytes, 0 = no limit */
  int nfailed;                     /* refused at registration: failed the self-test */
  enum ocf_alg failed[OCF_ALG__MAX];
  int nkop;
  enum ocf_kop kop[OCF_KOP__MAX];
  size_t kop_maxbits[OCF_KOP__MAX]; /* modulus limit in bits, 0 = none */
};

/* ocfdev_stats - a snapshot of the daemon. */
struct ocfdev_stats {
  char policy[32];    /* balancing policy in force */
  unsigned clients;   /* connected now (this one included) */
  uint64_t accepted;  /* connections accepted since start */
  uint64_t sessions;  /* sessions held by clients now */
  uint64_t inflight;  /* requests in the daemon now */
  uint64_t served;    /* requests answered since start */
  uint64_t failed;    /* of which with an error */
  uint64_t shm_bytes; /* shared memory registered now (regions and rings) */
  double uptime;      /* seconds */
  int nprod;
  struct ocfdev_producer *prod; /* nprod entries */
};

/* ocfdev_stats fetches a snapshot into a new *out (free it with
 * ocfdev_stats_free). */
int ocfdev_stats(struct ocfdev *d, struct ocfdev_stats **out);
void ocfdev_stats_free(struct ocfdev_stats *s);

/* --- benchmark ------------------------------------------------------------ */

/* ocfdev_bench_mode - how requests travel. */
enum ocfdev_bench_mode {
  OCFDEV_BENCH_SYNC = 0,  /* one request at a time, data copied (cryptodev-style) */
  OCFDEV_BENCH_ASYNC = 1, /* many in flight, data copied */
  OCFDEV_BENCH_SHM = 2,   /* many in flight, data in shared memory (zero-copy) */
  OCFDEV_BENCH_SHM_SYNC = 3
};

struct ocfdev_bench_result {
  double seconds;     /* measured time */
  double ops_per_s;   /* completed requests per second */
  double bytes_per_s; /* payload bytes per second */
  uint64_t ops;
  double p50_us, p99_us; /* request latency, submit to reap (a sample of the last 64 Ki) */
  char driver[32];       /* the producer that served the session */
};

/* ocfdev_bench measures requests of size bytes on alg (cipher: encrypt; AEAD:
 * seal; MAC: compute) with a key of a typical length, through the daemon at
 * socket (NULL = default) for about seconds, with depth requests in flight
 * (async modes; 0 = 256).  The run's first tenth, at most 20 ms, is not
 * measured: a new connection's start-up is not what a connected client sees. */
int ocfdev_bench(const char *socket, enum ocf_alg alg, size_t size, enum ocfdev_bench_mode mode,
                 int depth, double seconds, struct ocfdev_bench_result *res);

/* ocfdev_bench_chain is ocfdev_bench on a session made of chain (e.g. a
 * cipher and a MAC: one descriptor each, encrypt then MAC over the same
 * bytes, the MAC written after them), with session flags sflags. */
int ocfdev_bench_chain(const char *socket, const struct ocf_sessparam *chain, unsigned sflags,
                       size_t size, enum ocfdev_bench_mode mode, int depth, double seconds,
                       struct ocfdev_bench_result *res);

#ifdef __cplusplus
}
#endif
#endif /* OCF_OCFDEV_H */
