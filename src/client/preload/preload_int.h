/* preload_int.h - what the files of libocfpreload.so share: the cfile and
 * session records, the descriptor table, the libc functions the shim stands
 * in front of, and the functions one part of the shim calls in another.
 *
 * Everything declared here is hidden (the pragma below): the shim's exported
 * symbols are the libc calls it interposes, nothing else of its own.  Names
 * that were private to one file before the shim was split carry the pl_
 * prefix; the real_ pointers keep theirs. */
#ifndef OCF_PRELOAD_INT_H
#define OCF_PRELOAD_INT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include <ocf/cryptodev.h>
#include <ocf/ocfdev.h>

#include "client/idtab.h"
#include "stage.h"

#define MAX_FD 65536
#define MAX_ASYNC 64 /* cryptodev-linux's MAX_COP_RINGSIZE */

enum mode { M_NONE, M_CBC, M_CTR, M_XTS, M_AEAD };

struct algmap {
  uint32_t id;
  enum ocf_alg alg;
  const char *name; /* the kernel's cra_name */
  enum mode mode;
  bool mac;
};

struct variant { /* the same keys with another tag length */
  unsigned taglen;
  uint32_t dses;
  struct variant *next;
};

struct csess {
  uint32_t ses;  /* the id the program sees */
  uint32_t dses; /* the daemon's handle on the current connection */
  const struct algmap *c, *m;
  unsigned block, ivlen, maclen; /* cipher block / IV, MAC or tag length */
  uint8_t iv[32];                /* the chained IV */
  uint8_t key[CRYPTO_CIPHER_MAX_KEY_LEN];
  size_t keylen;
  uint8_t mkey[CRYPTO_HMAC_MAX_KEY_LEN];
  size_t mkeylen;
  char driver[32];
  unsigned drv_flags;
  bool midstream;   /* a hash stream has parts in the daemon, no FINAL yet */
  bool stream_lost; /* ... and they stayed with the parent's connection */
  bool keyless;     /* inherited across exec: the keys stayed in the old image */
  struct variant *var;
  struct csess *next;
};

struct apend { /* one CIOCASYNCCRYPT */
  struct ocfdev_op op;
  struct crypt_op cop;
  uint32_t ses;
  bool enc;
  bool part;     /* a hash session's streamed part: parts of a session go one at a time */
  bool final;    /* the part that returns the digest */
  bool deferred; /* a part waiting in flight for the previous one of its session */
  int err;       /* refused before reaching the daemon */
  struct apend *next;
};

struct cfile {
  pthread_mutex_t lock;
  int refs; /* descriptors of the program on it; guarded by tab_lock */
  struct ocfdev *dev;
  pid_t pid; /* process owning dev */
  struct csess *sess;
  struct idtab stab;           /* the same by ses: every request looks its session up */
  struct apend *flight, *done; /* async: submitted / completed, in order */
  int nasync;                  /* both lists: the ring size of the kernel */
  /* Inherited across exec and not taken over yet (dev is NULL): the hidden
   * socket of that connection, which the first ioctl adopts. */
  bool inherited;
  int inh_fd;
  struct stage stage; /* synchronous requests' data, on dev */
};

#pragma GCC visibility push(hidden)

/* preload.c: the descriptor table, the libc functions behind the shim, and
 * the life of a cfile. */
extern pthread_mutex_t pl_tab_lock;
extern struct cfile *_Atomic *_Atomic pl_tab; /* by descriptor */
extern atomic_int pl_any_hidden;              /* how many hidden sockets (0: none to look for) */
extern int (*real_open)(const char *, int, ...);
extern int (*real_openat)(int, const char *, int, ...);
extern int (*real_close)(int);
extern int (*real_ioctl)(int, unsigned long, ...);
extern int (*real_dup)(int);
extern int (*real_dup2)(int, int);
extern int (*real_dup3)(int, int, int);
extern int (*real_fcntl)(int, int, ...);
extern int (*real_poll)(struct pollfd *, nfds_t, int);
extern int (*real_ppoll)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
extern int (*real_select)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
extern int (*real_pselect)(int, fd_set *, fd_set *, fd_set *, const struct timespec *,
                           const sigset_t *);
extern ssize_t (*real_read)(int, void *, size_t);
extern ssize_t (*real_write)(int, const void *, size_t);
extern ssize_t (*real_readv)(int, const struct iovec *, int);
extern ssize_t (*real_writev)(int, const struct iovec *, int);
extern ssize_t (*real_pread)(int, void *, size_t, off_t);
extern ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
extern ssize_t (*real_read_chk)(int, void *, size_t, size_t);
extern ssize_t (*real_pread_chk)(int, void *, size_t, off_t, size_t);
extern ssize_t (*real_recv)(int, void *, size_t, int);
extern ssize_t (*real_recv_chk)(int, void *, size_t, size_t, int);
extern ssize_t (*real_recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
extern ssize_t (*real_recvfrom_chk)(int, void *, size_t, size_t, int, struct sockaddr *,
                                    socklen_t *);
extern ssize_t (*real_recvmsg)(int, struct msghdr *, int);
extern int (*real_recvmmsg)(int, struct mmsghdr *, unsigned, int, struct timespec *);
extern ssize_t (*real_send)(int, const void *, size_t, int);
extern ssize_t (*real_sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
extern ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
extern int (*real_sendmmsg)(int, struct mmsghdr *, unsigned, int);
extern int (*real_getsockopt)(int, int, int, void *, socklen_t *);
extern int (*real_setsockopt)(int, int, int, const void *, socklen_t);
extern int (*real_getsockname)(int, struct sockaddr *, socklen_t *);
extern int (*real_getpeername)(int, struct sockaddr *, socklen_t *);
extern int (*real_shutdown)(int, int);
extern int (*real_bind)(int, const struct sockaddr *, socklen_t);
extern int (*real_connect)(int, const struct sockaddr *, socklen_t);
extern int (*real_listen)(int, int);
extern int (*real_accept)(int, struct sockaddr *, socklen_t *);
extern int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);
extern int (*real_fstat)(int, struct stat *);
extern int (*real_fstatat)(int, const char *, struct stat *, int);
extern int (*real_statx)(int, const char *, int, unsigned, struct statx *);
extern int (*real_faccessat)(int, const char *, int, int);
extern uintptr_t pl_self_lo, pl_self_hi; /* the shim's code: its calls are its own */
extern pid_t pl_my_pid;                  /* getpid(), kept current across fork */
void pl_resolve(void);
void pl_sess_wipe_free(struct csess *s);
void pl_apend_free(struct apend *a);
void pl_apend_free_all(struct apend *a);
void pl_hide(int fd, struct cfile *f);
void pl_unhide(int fd);
struct cfile *pl_hidden_owner(int fd);
void pl_dev_close(struct ocfdev *d);
void pl_cfile_free(struct cfile *f);
int pl_bind_fd(int fd, struct cfile *f);
struct cfile *pl_unbind_fd(int fd);
int pl_cd_open(int flags);

/* inherit.c: connections this process did not open (exec, fork). */
int pl_revive(struct cfile *f);

/* session.c: algorithms and sessions. */
const struct algmap *pl_alg_of(enum ocf_alg alg);
int pl_daemon_session(struct ocfdev *d, struct csess *s, unsigned taglen, uint32_t *dses,
                      struct ocfdev_sessinfo *info);
int pl_kerr(int rc);
uint32_t pl_sess_id(const void *s); /* the key of f->stab */
struct csess *pl_sess_find(struct cfile *f, uint32_t ses);
int pl_dses_for(struct cfile *f, struct csess *s, unsigned taglen, uint32_t *out);
int pl_do_gsession(struct cfile *f, struct session_op *sop);
int pl_do_fsession(struct cfile *f, uint32_t ses);
int pl_do_sessinfo(struct cfile *f, struct session_info_op *si);

/* crypt.c: CIOCCRYPT and the asynchronous requests. */
void pl_next_iv(const struct csess *s, bool enc, const uint8_t *in, const uint8_t *out, size_t len,
                uint8_t *iv);
int pl_build_crypt(struct csess *s, const struct crypt_op *cop, const uint8_t *data, size_t len,
                   const uint8_t *iv, struct ocfdev_op *op);
int pl_do_crypt(struct cfile *f, struct crypt_op *cop);
void pl_collect(struct cfile *f);
int pl_do_asynccrypt(struct cfile *f, const struct crypt_op *cop);
int pl_do_asyncfetch(struct cfile *f, struct crypt_op *out);

/* hash.c: hash streams and CIOCCPHASH. */
unsigned pl_part_flags(const struct crypt_op *cop, bool *final);
int pl_stream_step(struct csess *s, unsigned flags, bool final);
int pl_hash_parts(struct cfile *f, struct csess *s, const struct crypt_op *cop, const uint8_t *data,
                  size_t len, unsigned flags, uint8_t *mac);
int pl_do_cphash(struct cfile *f, const struct cphash_op *cp);

/* authcrypt.c: CIOCAUTHCRYPT. */
int pl_do_authcrypt(struct cfile *f, struct crypt_auth_op *a);

/* ioctl.c: the cryptodev ioctls of a cfile. */
int pl_cd_ioctl(int fd, struct cfile *f, unsigned long req, void *arg);

#pragma GCC visibility pop

/* lookup: the cfile of the program's descriptor fd, or NULL.  No lock: the
 * table, once made, lives as long as the process and its slots are atomic. */
static inline struct cfile *lookup(int fd) {
  if (fd < 0 || fd >= MAX_FD) return NULL;
  struct cfile *_Atomic *t = atomic_load(&pl_tab);
  return t ? atomic_load(&t[fd]) : NULL;
}

static inline bool is_devcrypto(const char *path) {
  return path && strcmp(path, "/dev/crypto") == 0;
}

#endif /* OCF_PRELOAD_INT_H */
