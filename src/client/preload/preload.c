/* preload.c - libocfpreload.so: runs unmodified /dev/crypto programs against
 * ocfd.  LD_PRELOAD it; opening "/dev/crypto" then connects to the daemon
 * ($OCF_SOCKET or the default path) and the cryptodev ioctls are served with
 * the semantics of the Linux cryptodev module.
 *
 * Descriptors.  An open /dev/crypto is a "cfile": one daemon connection on a
 * hidden close-on-exec socket.  The descriptor the program gets is a dup of
 * that socket (so poll() works on it), and dup/dup2/dup3/fcntl(F_DUPFD) and
 * CRIOGET give more descriptors on the same cfile, as they would on one
 * kernel file.  The cfile lives until its last descriptor is closed.
 *
 * State the kernel keeps per session lives here: the chained IV (an op
 * without IV continues from the previous one) and the keys, so a
 * forked child, whose first ioctl opens its own connection, finds the same
 * sessions there, and so AEAD tag lengths and CIOCCPHASH can be served by
 * re-created sessions.  Keys are wiped when sessions are freed.  A hash's
 * running state is not kept here: every COP_FLAG_UPDATE part streams into
 * the daemon's session (OCF_D_UPDATE), and CIOCCPHASH copies the state
 * there.  A forked child's re-created sessions start without the parent's
 * unfinished digest.
 *
 * Signals: all socket I/O retries on EINTR and resumes partial writes, so an
 * ioctl is never cut in the middle of a message. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <linux/close_range.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <ocf/cryptodev.h>
#include <ocf/ocfdev.h>

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

static const struct algmap algs[] = {
    {CRYPTO_DES_CBC, OCF_ALG_DES_CBC, "cbc(des)", M_CBC, false},
    {CRYPTO_3DES_CBC, OCF_ALG_3DES_CBC, "cbc(des3_ede)", M_CBC, false},
    {CRYPTO_BLF_CBC, OCF_ALG_BLOWFISH_CBC, "cbc(blowfish)", M_CBC, false},
    {CRYPTO_CAST_CBC, OCF_ALG_CAST5_CBC, "cbc(cast5)", M_CBC, false},
    {CRYPTO_AES_CBC, OCF_ALG_AES_CBC, "cbc(aes)", M_CBC, false},
    {CRYPTO_AES_CTR, OCF_ALG_AES_CTR, "ctr(aes)", M_CTR, false},
    {CRYPTO_AES_XTS, OCF_ALG_AES_XTS, "xts(aes)", M_XTS, false},
    {CRYPTO_AES_ECB, OCF_ALG_AES_ECB, "ecb(aes)", M_NONE, false},
    {CRYPTO_NULL, OCF_ALG_NULL, "ecb(cipher_null)", M_NONE, false},
    {CRYPTO_AES_GCM, OCF_ALG_AES_GCM, "gcm(aes)", M_AEAD, false},
    {CRYPTO_MD5_HMAC, OCF_ALG_HMAC_MD5, "hmac(md5)", M_NONE, true},
    {CRYPTO_SHA1_HMAC, OCF_ALG_HMAC_SHA1, "hmac(sha1)", M_NONE, true},
    {CRYPTO_SHA2_224_HMAC, OCF_ALG_HMAC_SHA2_224, "hmac(sha224)", M_NONE, true},
    {CRYPTO_SHA2_256_HMAC, OCF_ALG_HMAC_SHA2_256, "hmac(sha256)", M_NONE, true},
    {CRYPTO_SHA2_384_HMAC, OCF_ALG_HMAC_SHA2_384, "hmac(sha384)", M_NONE, true},
    {CRYPTO_SHA2_512_HMAC, OCF_ALG_HMAC_SHA2_512, "hmac(sha512)", M_NONE, true},
    {CRYPTO_MD5, OCF_ALG_MD5, "md5", M_NONE, true},
    {CRYPTO_SHA1, OCF_ALG_SHA1, "sha1", M_NONE, true},
    {CRYPTO_SHA2_224, OCF_ALG_SHA2_224, "sha224", M_NONE, true},
    {CRYPTO_SHA2_256, OCF_ALG_SHA2_256, "sha256", M_NONE, true},
    {CRYPTO_SHA2_384, OCF_ALG_SHA2_384, "sha384", M_NONE, true},
    {CRYPTO_SHA2_512, OCF_ALG_SHA2_512, "sha512", M_NONE, true},
};

static const struct algmap *alg_find(uint32_t id, bool mac) {
  for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
    if (algs[i].id == id && algs[i].mac == mac) return &algs[i];
  return NULL;
}

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
  struct apend *flight, *done; /* async: submitted / completed, in order */
  int nasync;                  /* both lists: the ring size of the kernel */
  /* Inherited across exec and not taken over yet (dev is NULL): the hidden
   * socket of that connection, which the first ioctl adopts. */
  bool inherited;
  int inh_fd;
  struct stage stage; /* synchronous requests' data, on dev */
};

static pthread_mutex_t tab_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cfile *_Atomic *_Atomic tab; /* by descriptor */

/* The shim's own sockets (one per cfile, close-on-exec, unknown to the
 * program).  A program that closes descriptors it does not know about (a
 * daemon closing all but its own, closefrom) or dup2()s onto one of their
 * numbers must not take the socket away: the shim would then write its
 * protocol into whatever file got the number next.  So closing one is a
 * no-op, and a dup2 onto one first moves the socket elsewhere. */
struct hidden {
  int fd;
  struct cfile *f;
};
static struct hidden *hid; /* [tab_lock] */
static int nhid, caphid;   /* [tab_lock] */
static atomic_int any_hidden;

void ocfdev_move_fd_(struct ocfdev *d, int newfd); /* libocfdev, not exported */

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_close)(int);
static int (*real_ioctl)(int, unsigned long, ...);
static int (*real_dup)(int);
static int (*real_dup2)(int, int);
static int (*real_dup3)(int, int, int);
static int (*real_fcntl)(int, int, ...);
static int (*real_poll)(struct pollfd *, nfds_t, int);
static int (*real_ppoll)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
static int (*real_select)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
static int (*real_pselect)(int, fd_set *, fd_set *, fd_set *, const struct timespec *,
                           const sigset_t *);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_readv)(int, const struct iovec *, int);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_read_chk)(int, void *, size_t, size_t);
static ssize_t (*real_pread_chk)(int, void *, size_t, off_t, size_t);
static ssize_t (*real_recv)(int, void *, size_t, int);
static ssize_t (*real_recv_chk)(int, void *, size_t, size_t, int);
static ssize_t (*real_recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
static ssize_t (*real_recvfrom_chk)(int, void *, size_t, size_t, int, struct sockaddr *,
                                    socklen_t *);
static ssize_t (*real_recvmsg)(int, struct msghdr *, int);
static int (*real_recvmmsg)(int, struct mmsghdr *, unsigned, int, struct timespec *);
static ssize_t (*real_send)(int, const void *, size_t, int);
static ssize_t (*real_sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static int (*real_sendmmsg)(int, struct mmsghdr *, unsigned, int);
static int (*real_getsockopt)(int, int, int, void *, socklen_t *);
static int (*real_setsockopt)(int, int, int, const void *, socklen_t);
static int (*real_getsockname)(int, struct sockaddr *, socklen_t *);
static int (*real_getpeername)(int, struct sockaddr *, socklen_t *);
static int (*real_shutdown)(int, int);
static int (*real_bind)(int, const struct sockaddr *, socklen_t);
static int (*real_connect)(int, const struct sockaddr *, socklen_t);
static int (*real_listen)(int, int);
static int (*real_accept)(int, struct sockaddr *, socklen_t *);
static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);
static int (*real_fstat)(int, struct stat *);
static int (*real_fstatat)(int, const char *, struct stat *, int);
static int (*real_statx)(int, const char *, int, unsigned, struct statx *);
static int (*real_faccessat)(int, const char *, int, int);
/* The shim's own code: libocfdev inside it talks to the daemon through
 * these very descriptors, with the socket calls refused to the program. */
static uintptr_t self_lo, self_hi;

/* This process's id, kept here because getpid() is a system call and every
 * ioctl asks (a forked child must not use its parent's connection).  fork()
 * runs atfork_child in the child, which updates it. */
static pid_t my_pid;

static void atfork_prepare(void) { pthread_mutex_lock(&tab_lock); }
static void atfork_parent(void) { pthread_mutex_unlock(&tab_lock); }
static void atfork_child(void) {
  my_pid = getpid();
  pthread_mutex_unlock(&tab_lock);
  /* A lock held by another thread at fork time would never be released;
   * the child starts a new connection on first use anyway. */
  if (tab == NULL) return;
  for (int i = 0; i < MAX_FD; i++) {
    struct cfile *f = atomic_load(&tab[i]);
    if (f) pthread_mutex_init(&f->lock, NULL);
  }
}

/* find_self records the executable segment of the object holding the
 * address arg (this library). */
static int find_self(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  uintptr_t me = (uintptr_t)arg;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
    if (me >= lo && me < hi) {
      self_lo = lo;
      self_hi = hi;
      return 1;
    }
  }
  return 0;
}

static void resolve(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  void init_once(void);
  pthread_once(&once, init_once);
}

void init_once(void) {
  real_open = dlsym(RTLD_NEXT, "open");
  real_openat = dlsym(RTLD_NEXT, "openat");
  real_close = dlsym(RTLD_NEXT, "close");
  real_ioctl = dlsym(RTLD_NEXT, "ioctl");
  real_dup = dlsym(RTLD_NEXT, "dup");
  real_dup2 = dlsym(RTLD_NEXT, "dup2");
  real_dup3 = dlsym(RTLD_NEXT, "dup3");
  real_fcntl = dlsym(RTLD_NEXT, "fcntl");
  real_poll = dlsym(RTLD_NEXT, "poll");
  real_ppoll = dlsym(RTLD_NEXT, "ppoll");
  real_select = dlsym(RTLD_NEXT, "select");
  real_pselect = dlsym(RTLD_NEXT, "pselect");
  real_read = dlsym(RTLD_NEXT, "read");
  real_write = dlsym(RTLD_NEXT, "write");
  real_readv = dlsym(RTLD_NEXT, "readv");
  real_writev = dlsym(RTLD_NEXT, "writev");
  real_pread = dlsym(RTLD_NEXT, "pread");
  real_pwrite = dlsym(RTLD_NEXT, "pwrite");
  real_read_chk = dlsym(RTLD_NEXT, "__read_chk");
  real_pread_chk = dlsym(RTLD_NEXT, "__pread_chk");
  real_recv = dlsym(RTLD_NEXT, "recv");
  real_recv_chk = dlsym(RTLD_NEXT, "__recv_chk");
  real_recvfrom = dlsym(RTLD_NEXT, "recvfrom");
  real_recvfrom_chk = dlsym(RTLD_NEXT, "__recvfrom_chk");
  real_recvmsg = dlsym(RTLD_NEXT, "recvmsg");
  real_recvmmsg = dlsym(RTLD_NEXT, "recvmmsg");
  real_send = dlsym(RTLD_NEXT, "send");
  real_sendto = dlsym(RTLD_NEXT, "sendto");
  real_sendmsg = dlsym(RTLD_NEXT, "sendmsg");
  real_sendmmsg = dlsym(RTLD_NEXT, "sendmmsg");
  real_getsockopt = dlsym(RTLD_NEXT, "getsockopt");
  real_setsockopt = dlsym(RTLD_NEXT, "setsockopt");
  real_getsockname = dlsym(RTLD_NEXT, "getsockname");
  real_getpeername = dlsym(RTLD_NEXT, "getpeername");
  real_shutdown = dlsym(RTLD_NEXT, "shutdown");
  real_bind = dlsym(RTLD_NEXT, "bind");
  real_connect = dlsym(RTLD_NEXT, "connect");
  real_listen = dlsym(RTLD_NEXT, "listen");
  real_accept = dlsym(RTLD_NEXT, "accept");
  real_accept4 = dlsym(RTLD_NEXT, "accept4");
  real_fstat = dlsym(RTLD_NEXT, "fstat");
  real_fstatat = dlsym(RTLD_NEXT, "fstatat");
  real_statx = dlsym(RTLD_NEXT, "statx");
  real_faccessat = dlsym(RTLD_NEXT, "faccessat");
  dl_iterate_phdr(find_self, (void *)(uintptr_t)find_self);
  my_pid = getpid();
  pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

static struct cfile *lookup(int fd) {
  if (fd < 0 || fd >= MAX_FD) return NULL;
  struct cfile *_Atomic *t = atomic_load(&tab);
  return t ? atomic_load(&t[fd]) : NULL;
}

static bool is_devcrypto(const char *path) { return path && strcmp(path, "/dev/crypto") == 0; }

/* --- cfile lifetime -------------------------------------------------------- */

static void sess_wipe_free(struct csess *s) {
  explicit_bzero(s->key, sizeof(s->key));
  explicit_bzero(s->mkey, sizeof(s->mkey));
  for (struct variant *v = s->var, *n; v; v = n) {
    n = v->next;
    free(v);
  }
  free(s);
}

static void apend_free(struct apend *a) {
  free(a->op.buf);
  free(a);
}

static void hide(int fd, struct cfile *f) {
  pthread_mutex_lock(&tab_lock);
  if (nhid == caphid) {
    int cap = caphid ? caphid * 2 : 8;
    struct hidden *h = realloc(hid, (size_t)cap * sizeof(*h));
    if (h == NULL) { /* unprotected, but working */
      pthread_mutex_unlock(&tab_lock);
      return;
    }
    hid = h;
    caphid = cap;
  }
  hid[nhid++] = (struct hidden){fd, f};
  atomic_store(&any_hidden, nhid);
  pthread_mutex_unlock(&tab_lock);
}

static void unhide(int fd) {
  pthread_mutex_lock(&tab_lock);
  for (int i = 0; i < nhid; i++)
    if (hid[i].fd == fd) {
      hid[i] = hid[--nhid];
      break;
    }
  atomic_store(&any_hidden, nhid);
  pthread_mutex_unlock(&tab_lock);
}

/* hidden_owner: the cfile whose socket has number fd, or NULL. */
static struct cfile *hidden_owner(int fd) {
  if (atomic_load(&any_hidden) == 0) return NULL;
  struct cfile *f = NULL;
  pthread_mutex_lock(&tab_lock);
  for (int i = 0; i < nhid && f == NULL; i++)
    if (hid[i].fd == fd) f = hid[i].f;
  pthread_mutex_unlock(&tab_lock);
  return f;
}

/* dev_close closes a connection of ours, which close() would refuse. */
static void dev_close(struct ocfdev *d) {
  if (d == NULL) return;
  unhide(ocfdev_fd(d));
  ocfdev_close(d);
}

static void cfile_free(struct cfile *f) {
  /* A forked child that never used the descriptor still maps its parent's
   * region: that one is the parent's to wipe. */
  if (f->pid == my_pid) stage_wipe(&f->stage);
  for (struct csess *s = f->sess, *n; s; s = n) {
    n = s->next;
    sess_wipe_free(s);
  }
  /* ocfdev_close drops requests in flight: their buffers are ours to free. */
  dev_close(f->dev);
  if (f->inherited) {
    unhide(f->inh_fd);
    real_close(f->inh_fd);
  }
  for (struct apend *a = f->flight, *n; a; a = n) {
    n = a->next;
    apend_free(a);
  }
  for (struct apend *a = f->done, *n; a; a = n) {
    n = a->next;
    apend_free(a);
  }
  pthread_mutex_destroy(&f->lock);
  free(f);
}

/* bind_fd makes fd a descriptor of f (tab_lock held). */
static int bind_fd(int fd, struct cfile *f) {
  if (fd < 0 || fd >= MAX_FD) return EMFILE;
  if (tab == NULL) {
    struct cfile *_Atomic *t = calloc(MAX_FD, sizeof(*t));
    if (t == NULL) return ENOMEM;
    atomic_store(&tab, t);
  }
  atomic_store(&tab[fd], f);
  f->refs++;
  return 0;
}

/* unbind_fd forgets fd; returns the cfile to free when it was the last. */
static struct cfile *unbind_fd(int fd) {
  struct cfile *f = lookup(fd);
  if (f == NULL) return NULL;
  atomic_store(&tab[fd], NULL);
  return --f->refs == 0 ? f : NULL;
}

static int cd_open(int flags) {
  struct ocfdev *d;
  int rc = ocfdev_open(NULL, &d);
  if (rc != 0) {
    errno = rc == ECONNREFUSED ? ENXIO : rc;
    return -1;
  }
  struct cfile *f = calloc(1, sizeof(*f));
  int fd = f ? real_fcntl(ocfdev_fd(d), (flags & O_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, 0) : -1;
  if (fd < 0) {
    int e = f ? errno : ENOMEM;
    free(f);
    ocfdev_close(d);
    errno = e;
    return -1;
  }
  pthread_mutex_init(&f->lock, NULL);
  f->dev = d;
  f->pid = my_pid;
  hide(ocfdev_fd(d), f);
  pthread_mutex_lock(&tab_lock);
  rc = bind_fd(fd, f);
  pthread_mutex_unlock(&tab_lock);
  if (rc) {
    real_close(fd);
    cfile_free(f);
    errno = rc;
    return -1;
  }
  return fd;
}

/* --- descriptors inherited across exec -------------------------------------
 *
 * A /dev/crypto descriptor not opened close-on-exec survives exec, as on the
 * kernel, and so does its daemon connection with the sessions on it; the
 * shim's table of them does not.  The new image's shim finds them at load
 * time by what they are, stream sockets whose peer is the daemon's socket
 * path, and records them without a word to the daemon: the old image may
 * still be using the connection (a program that forks and execs a helper),
 * and a helper that never touches the descriptor must not disturb it.  The
 * first ioctl takes the connection over and lists its sessions.  Their keys
 * stayed in the old image: what needs them (another tag length, CIOCCPHASH,
 * using them from a child forked later) fails with EINVAL. */

static const struct algmap *alg_of(enum ocf_alg alg) {
  for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
    if (algs[i].alg == alg) return &algs[i];
  return NULL;
}

/* adopt_sessions describes every session of f's connection from the daemon. */
static void adopt_sessions(struct cfile *f) {
  uint32_t few[64], *ids = few;
  int n = 0, cap = 64;
  if (ocfdev_sessions(f->dev, ids, cap, &n) != 0) return;
  if (n > cap) {
    cap = n;
    if ((ids = malloc(sizeof(*ids) * (size_t)cap)) == NULL ||
        ocfdev_sessions(f->dev, ids, cap, &n) != 0) {
      free(ids);
      return;
    }
  }
  for (int i = 0; i < n && i < cap; i++) {
    struct ocfdev_sessinfo info;
    struct csess *s = calloc(1, sizeof(*s));
    if (s == NULL || ocfdev_sessinfo(f->dev, ids[i], &info) != 0) {
      free(s);
      continue;
    }
    s->ses = s->dses = ids[i];
    s->keyless = true;
    s->block = 1;
    for (int k = 0; k < info.nalg; k++) {
      const struct algmap *a = alg_of(info.alg[k].alg);
      if (a == NULL) continue;
      if (a->mac) {
        s->m = a;
        s->maclen = info.alg[k].maclen;
      } else {
        s->c = a;
        s->block = info.alg[k].block ? info.alg[k].block : 1;
        s->ivlen = info.alg[k].ivlen;
        if (a->mode == M_AEAD) s->maclen = info.alg[k].maclen;
      }
    }
    if (s->ivlen > sizeof(s->iv)) s->ivlen = sizeof(s->iv);
    snprintf(s->driver, sizeof(s->driver), "%s", info.driver);
    s->drv_flags = info.drv_flags;
    s->next = f->sess;
    f->sess = s;
  }
  if (ids != few) free(ids);
}

/* take_over adopts the inherited connection of f (f->lock held): 0, or EIO
 * when the daemon does not answer on it (f then starts afresh). */
static int take_over(struct cfile *f) {
  f->inherited = false;
  struct ocfdev *d;
  if (ocfdev_adopt(f->inh_fd, &d) != 0) { /* it closed inh_fd */
    unhide(f->inh_fd);
    return EIO;
  }
  f->dev = d;
  stage_forget(&f->stage);
  adopt_sessions(f);
  return 0;
}

/* daemon_peer tells whether fd is a connection to the daemon at path, and
 * gives its socket's inode (descriptors of one connection share it). */
static bool daemon_peer(int fd, const char *path, ino_t *ino) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return false;
  struct sockaddr_un sa;
  socklen_t sl = sizeof(sa);
  memset(&sa, 0, sizeof(sa));
  if (getpeername(fd, (struct sockaddr *)&sa, &sl) != 0 || sa.sun_family != AF_UNIX ||
      sl <= offsetof(struct sockaddr_un, sun_path))
    return false;
  size_t plen = sl - offsetof(struct sockaddr_un, sun_path);
  if (plen > sizeof(sa.sun_path)) plen = sizeof(sa.sun_path);
  if (strnlen(sa.sun_path, plen) != strlen(path) || strncmp(sa.sun_path, path, plen) != 0)
    return false;
  *ino = st.st_ino;
  return true;
}

/* record_inherited makes fd a descriptor of an inherited connection, the one
 * an earlier descriptor of the same socket (fds[0..n)) got, or a new one. */
static void record_inherited(int fd, ino_t ino, const int *fds, const ino_t *inos, int n) {
  struct cfile *f = NULL;
  for (int i = 0; i < n && f == NULL; i++)
    if (inos[i] == ino) f = lookup(fds[i]);
  if (f == NULL) {
    int hidden = real_fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (hidden < 0 || (f = calloc(1, sizeof(*f))) == NULL) {
      if (hidden >= 0) real_close(hidden);
      return;
    }
    pthread_mutex_init(&f->lock, NULL);
    f->pid = my_pid;
    f->inherited = true;
    f->inh_fd = hidden;
    hide(hidden, f);
  }
  pthread_mutex_lock(&tab_lock);
  int rc = bind_fd(fd, f);
  pthread_mutex_unlock(&tab_lock);
  if (rc != 0 && f->refs == 0) cfile_free(f);
}

__attribute__((constructor)) static void find_inherited(void) {
  resolve();
  const char *path = getenv("OCF_SOCKET");
  if (path == NULL || *path == '\0') path = OCFDEV_DEFAULT_SOCKET;
  DIR *dir = opendir("/proc/self/fd");
  if (dir == NULL) return;
  enum { MAXI = 64 };
  int fds[MAXI], nfd = 0;
  ino_t inos[MAXI];
  struct dirent *e;
  while ((e = readdir(dir)) != NULL && nfd < MAXI) {
    char *end;
    long fd = strtol(e->d_name, &end, 10);
    ino_t ino;
    if (*end != '\0' || e->d_name[0] == '.' || fd == dirfd(dir) || fd >= MAX_FD) continue;
    if (daemon_peer((int)fd, path, &ino)) {
      fds[nfd] = (int)fd;
      inos[nfd++] = ino;
    }
  }
  closedir(dir);
  for (int i = 0; i < nfd; i++) record_inherited(fds[i], inos[i], fds, inos, i);
}

/* --- sessions on the daemon ------------------------------------------------ */

static int daemon_session(struct ocfdev *d, struct csess *s, unsigned taglen, uint32_t *dses,
                          struct ocfdev_sessinfo *info) {
  if (s->keyless) return EINVAL;
  struct ocf_sessparam p[2];
  memset(p, 0, sizeof(p));
  int n = 0;
  if (s->c) {
    p[n].alg = s->c->alg;
    p[n].key = s->keylen ? s->key : NULL;
    p[n].keylen = s->keylen;
    if (s->c->mode == M_AEAD) p[n].maclen = taglen;
    n++;
  }
  if (s->m) {
    p[n].alg = s->m->alg;
    p[n].key = s->mkeylen ? s->mkey : NULL;
    p[n].keylen = s->mkeylen;
    p[n].maclen = taglen;
    n++;
  }
  if (n == 2) p[0].next = &p[1];
  return ocfdev_newsession(d, p, 0, dses, info);
}

/* kerr maps a daemon answer to what the kernel module would return. */
static int kerr(int rc) {
  switch (rc) {
    case ECONNRESET:
    case EPIPE:
    case EPROTO:
      return EIO;
    case ENOENT:
      return EINVAL; /* an unknown session is EINVAL in cryptodev */
    default:
      return rc;
  }
}

/* revive gives a forked child its own connection with the same sessions. */
static int revive(struct cfile *f) {
  if (f->inherited) {
    if (f->pid == my_pid) return take_over(f);
    /* a child forked before the connection was taken over: it is the
     * parent's, and the child starts afresh */
    f->inherited = false;
    unhide(f->inh_fd);
    real_close(f->inh_fd);
  }
  if (f->pid == my_pid && f->dev) return 0;
  struct ocfdev *old = f->dev, *d;
  int rc = ocfdev_open(NULL, &d);
  if (rc) return EIO;
  /* The parent's requests are the parent's. */
  for (struct apend *a = f->flight, *n; a; a = n) {
    n = a->next;
    apend_free(a);
  }
  for (struct apend *a = f->done, *n; a; a = n) {
    n = a->next;
    apend_free(a);
  }
  f->flight = f->done = NULL;
  f->nasync = 0;
  for (struct csess *s = f->sess; s; s = s->next) {
    for (struct variant *v = s->var, *n; v; v = n) {
      n = v->next;
      free(v);
    }
    s->var = NULL;
    s->stream_lost = s->midstream; /* the parent's daemon session holds it */
    if (daemon_session(d, s, s->maclen, &s->dses, NULL) != 0) s->dses = 0;
  }
  /* Point every descriptor of this cfile at the new socket. */
  pthread_mutex_lock(&tab_lock);
  for (int i = 0; tab && i < MAX_FD; i++)
    if (atomic_load(&tab[i]) == f) {
      int fl = real_fcntl(i, F_GETFD);
      real_dup3(ocfdev_fd(d), i, (fl > 0 && (fl & FD_CLOEXEC)) ? O_CLOEXEC : 0);
    }
  pthread_mutex_unlock(&tab_lock);
  dev_close(old); /* closes only the child's copy of the socket */
  hide(ocfdev_fd(d), f);
  f->dev = d;
  /* The parent's region stays the parent's (the child's mapping of it went
   * with the old connection). */
  stage_forget(&f->stage);
  f->pid = my_pid;
  return 0;
}

static struct csess *sess_find(struct cfile *f, uint32_t ses) {
  for (struct csess *s = f->sess; s; s = s->next)
    if (s->ses == ses) return s;
  return NULL;
}

/* dses_for returns the daemon session producing tags of taglen bytes. */
static int dses_for(struct cfile *f, struct csess *s, unsigned taglen, uint32_t *out) {
  if (taglen == s->maclen) {
    *out = s->dses;
    return s->dses ? 0 : s->keyless ? EINVAL : EIO;
  }
  for (struct variant *v = s->var; v; v = v->next)
    if (v->taglen == taglen) {
      *out = v->dses;
      return 0;
    }
  struct variant *v = calloc(1, sizeof(*v));
  if (v == NULL) return ENOMEM;
  int rc = daemon_session(f->dev, s, taglen, &v->dses, NULL);
  if (rc) {
    free(v);
    return rc == ENOTSUP ? EINVAL : rc;
  }
  v->taglen = taglen;
  v->next = s->var;
  s->var = v;
  *out = v->dses;
  return 0;
}

static int do_gsession(struct cfile *f, struct session_op *sop) {
  if (sop->cipher == 0 && sop->mac == 0) return EINVAL;
  struct csess *s = calloc(1, sizeof(*s));
  if (s == NULL) return ENOMEM;
  int rc = 0;
  if (sop->cipher && (s->c = alg_find(sop->cipher, false)) == NULL) rc = EINVAL;
  if (rc == 0 && sop->mac && (s->m = alg_find(sop->mac, true)) == NULL) rc = EINVAL;
  if (rc == 0 && s->c && s->c->mode == M_AEAD) s->m = NULL; /* the AEAD authenticates */
  if (rc == 0 && s->c && s->c->alg != OCF_ALG_NULL) {
    if (sop->keylen > CRYPTO_CIPHER_MAX_KEY_LEN || (sop->keylen && sop->key == NULL))
      rc = EINVAL;
    else {
      s->keylen = sop->keylen;
      if (s->keylen) memcpy(s->key, sop->key, s->keylen);
    }
  }
  if (rc == 0 && s->m) {
    if (sop->mackeylen > CRYPTO_HMAC_MAX_KEY_LEN || (sop->mackeylen && sop->mackey == NULL))
      rc = EINVAL;
    else {
      s->mkeylen = sop->mackeylen;
      if (s->mkeylen) memcpy(s->mkey, sop->mackey, s->mkeylen);
    }
  }
  struct ocfdev_sessinfo info;
  if (rc == 0) {
    rc = daemon_session(f->dev, s, 0, &s->dses, &info);
    if (rc == ENOTSUP || rc == ENODEV) rc = EINVAL;
    rc = kerr(rc);
  }
  if (rc) {
    sess_wipe_free(s);
    return rc;
  }
  for (int i = 0; i < info.nalg; i++) {
    if (s->c && info.alg[i].alg == s->c->alg) {
      s->block = info.alg[i].block ? info.alg[i].block : 1;
      s->ivlen = info.alg[i].ivlen;
      if (s->c->mode == M_AEAD) s->maclen = info.alg[i].maclen;
    }
    if (s->m && info.alg[i].alg == s->m->alg) s->maclen = info.alg[i].maclen;
  }
  if (s->ivlen > sizeof(s->iv)) s->ivlen = sizeof(s->iv);
  snprintf(s->driver, sizeof(s->driver), "%s", info.driver);
  s->drv_flags = info.drv_flags;
  /* The program's id stays the same in a forked child, whose daemon
   * handles differ: keep our own. */
  s->ses = s->dses;
  while (sess_find(f, s->ses) != NULL) s->ses++;
  s->next = f->sess;
  f->sess = s;
  sop->ses = s->ses;
  return 0;
}

static int do_fsession(struct cfile *f, uint32_t ses) {
  for (struct csess **pp = &f->sess; *pp; pp = &(*pp)->next) {
    struct csess *s = *pp;
    if (s->ses != ses) continue;
    *pp = s->next;
    if (s->dses) ocfdev_freesession(f->dev, s->dses);
    for (struct variant *v = s->var; v; v = v->next) ocfdev_freesession(f->dev, v->dses);
    sess_wipe_free(s);
    return 0;
  }
  return ENOENT;
}

static int do_sessinfo(struct cfile *f, struct session_info_op *si) {
  struct csess *s = sess_find(f, si->ses);
  if (s == NULL) return EINVAL;
  /* The released struct is 268 bytes: exactly what the kernel copies back,
   * and all that the program gave room for. */
  _Static_assert(sizeof(*si) == 268, "struct session_info_op is not the released ABI");
  uint32_t ses = si->ses;
  memset(si, 0, sizeof(*si));
  si->ses = ses;
  struct ocfdev_sessinfo info;
  if (s->dses && ocfdev_sessinfo(f->dev, s->dses, &info) == 0) {
    snprintf(s->driver, sizeof(s->driver), "%s", info.driver);
    s->drv_flags = info.drv_flags;
  }
  if (s->c) {
    snprintf(si->cipher_info.cra_name, CRYPTODEV_MAX_ALG_NAME, "%s", s->c->name);
    snprintf(si->cipher_info.cra_driver_name, CRYPTODEV_MAX_ALG_NAME, "%s-ocf-%s", s->c->name,
             s->driver);
  }
  if (s->m) {
    snprintf(si->hash_info.cra_name, CRYPTODEV_MAX_ALG_NAME, "%s", s->m->name);
    snprintf(si->hash_info.cra_driver_name, CRYPTODEV_MAX_ALG_NAME, "%s-ocf-%s", s->m->name,
             s->driver);
  }
  if (s->drv_flags & 0x1 /* OCF_DRV_HARDWARE */) si->flags |= SIOP_FLAG_KERNEL_DRIVER_ONLY;
  si->alignmask = 0;
  return 0;
}

/* --- CIOCCRYPT --------------------------------------------------------------- */

/* next_iv advances the chained IV past len bytes, as the kernel's modes
 * leave it in the request's IV buffer. */
static void next_iv(const struct csess *s, bool enc, const uint8_t *in, const uint8_t *out,
                    size_t len, uint8_t *iv) {
  if (s->c == NULL) return;
  if (s->c->mode == M_CBC && len >= s->block && s->ivlen == s->block) {
    memcpy(iv, (enc ? out : in) + len - s->block, s->block);
  } else if (s->c->mode == M_CTR && s->ivlen == 16) {
    uint64_t add = (len + 15) / 16;
    for (int i = 15; i >= 0 && add; i--) {
      uint64_t v = iv[i] + (add & 0xff);
      iv[i] = (uint8_t)v;
      add = (add >> 8) + (v >> 8);
    }
  }
}

/* fill_crypt fills op's session and descriptors for a crypt_op on s over
 * len bytes of data (a MAC goes after them); the data are the caller's. */
static void fill_crypt(const struct csess *s, const struct crypt_op *cop, size_t len,
                       const uint8_t *iv, struct ocfdev_op *op) {
  bool enc = cop->op == COP_ENCRYPT;
  memset(op, 0, sizeof(*op));
  op->ses = s->dses;
  op->len = len + (s->m ? s->maclen : 0);
  struct ocf_desc cd = {0}, md = {0};
  if (s->c) {
    cd.alg = s->c->alg;
    cd.flags = (enc ? OCF_D_ENCRYPT : 0) | (s->ivlen ? OCF_D_IV_EXPLICIT : 0);
    cd.len = len;
    if (s->ivlen) memcpy(cd.iv, iv, s->ivlen);
  }
  if (s->m) {
    md.alg = s->m->alg;
    md.len = len;
    md.inject = len;
  }
  /* The kernel hashes the plaintext: before encrypting, after decrypting. */
  if (s->c && s->m) {
    op->desc[0] = enc ? md : cd;
    op->desc[1] = enc ? cd : md;
    op->ndesc = 2;
  } else {
    op->desc[0] = s->c ? cd : md;
    op->ndesc = 1;
  }
}

/* build_crypt fills op for a crypt_op on s; buf gets the data (+ MAC room). */
static int build_crypt(struct csess *s, const struct crypt_op *cop, const uint8_t *data, size_t len,
                       const uint8_t *iv, struct ocfdev_op *op) {
  size_t mlen = s->m ? s->maclen : 0;
  uint8_t *buf = malloc(len + mlen + 1);
  if (buf == NULL) return ENOMEM;
  if (len) memcpy(buf, data, len);
  fill_crypt(s, cop, len, iv, op);
  op->buf = buf;
  return 0;
}

/* part_flags: cryptodev's hash flags as the framework's streamed-digest
 * flags.  The kernel module resets on no flag or RESET, and finishes on
 * FINAL, on no UPDATE, or on an empty part. */
static unsigned part_flags(const struct crypt_op *cop, bool *final) {
  bool reset = cop->flags == 0 || (cop->flags & COP_FLAG_RESET);
  *final = (cop->flags & COP_FLAG_FINAL) || !(cop->flags & COP_FLAG_UPDATE) || cop->len == 0;
  return (*final ? OCF_D_FINAL : OCF_D_UPDATE) | (reset ? OCF_D_RESET : 0);
}

/* stream_step keeps track of an unfinished digest: a forked child cannot
 * continue one its parent began (the state is in the parent's daemon
 * session), so it gets EIO instead of a wrong digest until it resets. */
static int stream_step(struct csess *s, unsigned flags, bool final) {
  if (flags & OCF_D_RESET) s->stream_lost = false;
  if (s->stream_lost) return EIO;
  s->midstream = !final;
  return 0;
}

/* hash_parts streams data[len] into the daemon's session, in requests the
 * daemon takes (each one a part of the digest, none kept here); on final
 * the digest goes to mac. */
static int hash_parts(struct cfile *f, struct csess *s, const struct crypt_op *cop,
                      const uint8_t *data, size_t len, unsigned flags, uint8_t *mac) {
  /* Pieces of at most 1 MiB: measured faster through the daemon than one
   * request of many megabytes (8 MiB SHA-256: 0.033 s against 0.15 s). */
  size_t max = ocfdev_max_request(f->dev);
  if (max <= s->maclen + 1) return EMSGSIZE;
  max -= s->maclen;
  if (max > (1u << 20)) max = 1u << 20;
  size_t off = 0;
  do {
    size_t k = len - off < max ? len - off : max;
    bool last = off + k == len;
    unsigned fl = last ? flags : OCF_D_UPDATE | (flags & OCF_D_RESET);
    if (off > 0) fl &= ~(unsigned)OCF_D_RESET; /* only the first piece resets */
    struct ocfdev_op op;
    int rc = build_crypt(s, cop, data + off, k, NULL, &op);
    if (rc) return rc;
    op.desc[0].flags = fl;
    if (!(fl & OCF_D_FINAL)) op.desc[0].inject = 0;
    rc = ocfdev_crypt(f->dev, &op);
    if (rc == 0 && (fl & OCF_D_FINAL)) memcpy(mac, (uint8_t *)op.buf + k, s->maclen);
    explicit_bzero(op.buf, op.len);
    free(op.buf);
    if (rc) return rc;
    off += k;
  } while (off < len);
  return 0;
}

static int do_crypt(struct cfile *f, struct crypt_op *cop) {
  if (cop->op != COP_ENCRYPT && cop->op != COP_DECRYPT) return EINVAL;
  struct csess *s = sess_find(f, cop->ses);
  if (s == NULL) return EINVAL;
  if (s->c && s->c->mode == M_AEAD) return EINVAL;
  if (cop->len && cop->src == NULL) return EFAULT;
  if (s->c && cop->len % s->block) return EINVAL;
  bool enc = cop->op == COP_ENCRYPT;
  if (s->c == NULL) { /* a hash or MAC: each part streams into the daemon's session */
    bool final;
    unsigned flags = part_flags(cop, &final);
    if (final && cop->mac == NULL) return EFAULT;
    int rc = stream_step(s, flags, final);
    if (rc == 0) rc = hash_parts(f, s, cop, cop->src, cop->len, flags, cop->mac);
    return kerr(rc);
  }
  uint8_t iv[32];
  memcpy(iv, s->iv, sizeof(iv));
  if (cop->iv && s->ivlen) memcpy(iv, cop->iv, s->ivlen);
  if (cop->len == 0 && !s->m) {
    memcpy(s->iv, iv, sizeof(iv));
    if ((cop->flags & COP_FLAG_WRITE_IV) && cop->iv) memcpy(cop->iv, iv, s->ivlen);
    return 0;
  }
  if (cop->len && cop->dst == NULL) return EFAULT;
  if (s->m && cop->mac == NULL) return EFAULT;
  if (cop->len > ocfdev_max_request(f->dev)) return EMSGSIZE;
  struct ocfdev_op op;
  size_t n = cop->len + (s->m ? s->maclen : 0);
  /* In the staging region the request goes through the rings, processed in
   * place: one copy each way and, while the daemon is busy, no system call.
   * Without one, through the socket. */
  uint8_t *out = stage_buf(&f->stage, f->dev, n);
  int rc;
  if (out != NULL) {
    if (cop->len) memcpy(out, cop->src, cop->len);
    fill_crypt(s, cop, cop->len, iv, &op);
    rc = stage_crypt(&f->stage, f->dev, &op, n);
  } else {
    if ((rc = build_crypt(s, cop, cop->src, cop->len, iv, &op)) != 0) return rc;
    rc = ocfdev_crypt(f->dev, &op);
    out = op.buf;
  }
  if (rc == 0) {
    next_iv(s, enc, cop->src, out, cop->len, iv);
    memcpy(s->iv, iv, sizeof(iv));
    if (cop->len) memcpy(cop->dst, out, cop->len);
    if (s->m) memcpy(cop->mac, out + cop->len, s->maclen);
    if ((cop->flags & COP_FLAG_WRITE_IV) && cop->iv) memcpy(cop->iv, iv, s->ivlen);
  }
  /* The staging region is wiped when the connection ends (cfile_free); it
   * holds only this program's data and the next request overwrites them. */
  if (op.shm == NULL) {
    explicit_bzero(op.buf, op.len);
    free(op.buf);
  }
  return kerr(rc);
}

/* --- CIOCAUTHCRYPT ------------------------------------------------------------ */

/* run_buf runs the descriptors d[nd] over buf[len] in place, through the
 * staging region when there is one (a copy each way, and the rings instead
 * of the socket). */
static int run_buf(struct cfile *f, uint32_t dses, struct ocf_desc *d, int nd, uint8_t *buf,
                   size_t len) {
  struct ocfdev_op op;
  memset(&op, 0, sizeof(op));
  op.ses = dses;
  op.ndesc = nd;
  memcpy(op.desc, d, (size_t)nd * sizeof(*d));
  op.buf = buf;
  op.len = len;
  if (len > ocfdev_max_request(f->dev)) return EMSGSIZE;
  uint8_t *st = stage_buf(&f->stage, f->dev, len);
  if (st == NULL) return ocfdev_crypt(f->dev, &op);
  if (len) memcpy(st, buf, len);
  int rc = stage_crypt(&f->stage, f->dev, &op, len);
  if (rc == 0 && len) memcpy(buf, st, len);
  return rc;
}

static int auth_aead(struct cfile *f, struct csess *s, struct crypt_auth_op *a, const uint8_t *iv) {
  bool enc = a->op == COP_ENCRYPT;
  unsigned tl = a->tag_len;
  if (tl > s->maclen) return EINVAL;
  size_t A = a->auth_len, L;
  if (enc)
    L = a->len;
  else if (a->len < tl)
    return EINVAL;
  else
    L = a->len - tl;
  if ((A && a->auth_src == NULL) || (a->len && a->src == NULL) || a->dst == NULL) return EFAULT;
  uint32_t dses;
  int rc = dses_for(f, s, tl, &dses);
  if (rc) return kerr(rc);
  size_t n = A + L + tl;
  uint8_t *buf = malloc(n + 1);
  if (buf == NULL) return ENOMEM;
  if (A) memcpy(buf, a->auth_src, A);
  memcpy(buf + A, a->src, enc ? L : L + tl);
  struct ocf_desc d = {.alg = s->c->alg,
                       .flags = (enc ? OCF_D_ENCRYPT : 0) | OCF_D_IV_EXPLICIT,
                       .skip = A,
                       .len = L,
                       .inject = A + L,
                       .aad_skip = 0,
                       .aad_len = A};
  memcpy(d.iv, iv, s->ivlen);
  rc = run_buf(f, dses, &d, 1, buf, n);
  if (rc == 0) {
    memcpy(a->dst, buf + A, enc ? L + tl : L);
    a->len = (uint32_t)(enc ? L + tl : L);
  }
  explicit_bzero(buf, n);
  free(buf);
  return rc;
}

/* Masks for the TLS padding check: all ones when true, 0 when false,
 * computed without branches. */
static size_t ct_mask_nonzero(size_t x) {
  return (size_t)0 - ((x | ((size_t)0 - x)) >> (sizeof(size_t) * 8 - 1));
}
static size_t ct_mask_le(size_t a, size_t b) { /* a <= b, both < 2^63 */
  return ~((size_t)0 - ((b - a) >> (sizeof(size_t) * 8 - 1)));
}

/* TLS: MAC(auth || plain), then pad, then CBC over plain || MAC || pad. */
static int auth_tls(struct cfile *f, struct csess *s, struct crypt_auth_op *a, uint8_t *iv) {
  if (s->c == NULL || s->m == NULL || s->c->mode != M_CBC) return EINVAL;
  bool enc = a->op == COP_ENCRYPT;
  unsigned tl = a->tag_len, bs = s->block;
  if (tl > s->maclen) return EINVAL;
  size_t A = a->auth_len;
  if ((A && a->auth_src == NULL) || a->dst == NULL) return EFAULT;
  uint32_t dses;
  int rc = dses_for(f, s, tl, &dses);
  if (rc) return kerr(rc);
  if (enc) {
    size_t L = a->len, P = bs - (L + tl) % bs, C = L + tl + P, n = A + C;
    uint8_t *buf = malloc(n);
    if (buf == NULL) return ENOMEM;
    if (A) memcpy(buf, a->auth_src, A);
    if (L) memcpy(buf + A, a->src, L);
    memset(buf + A + L + tl, (int)(P - 1), P);
    struct ocf_desc d[2] = {
        {.alg = s->m->alg, .len = A + L, .inject = A + L},
        {.alg = s->c->alg, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .skip = A, .len = C}};
    memcpy(d[1].iv, iv, s->ivlen);
    rc = run_buf(f, dses, d, 2, buf, n);
    if (rc == 0) {
      memcpy(a->dst, buf + A, C);
      next_iv(s, true, NULL, buf + A, C, iv);
      a->len = (uint32_t)C;
    }
    explicit_bzero(buf, n);
    free(buf);
    return rc;
  }
  size_t C = a->len;
  if (C == 0 || C % bs) return EINVAL;
  size_t n = A + C;
  uint8_t *buf = malloc(n);
  if (buf == NULL) return ENOMEM;
  if (A) memcpy(buf, a->auth_src, A);
  memcpy(buf + A, a->src, C);
  uint8_t niv[32];
  memcpy(niv, iv, sizeof(niv));
  next_iv(s, false, buf + A, NULL, C, niv);
  struct ocf_desc d = {.alg = s->c->alg, .flags = OCF_D_IV_EXPLICIT, .skip = A, .len = C};
  memcpy(d.iv, iv, s->ivlen);
  rc = run_buf(f, dses, &d, 1, buf, n);
  if (rc == 0) {
    memcpy(iv, niv, sizeof(niv));
    /* The plaintext stays in buf until pad and MAC are verified: a record
     * that fails leaves dst (which is src) holding the ciphertext it had.
     * Check pad and MAC together, one answer for both.  The padding check
     * reads the same bytes whatever their values (no early exit, no branch
     * on the pad), as TLS stacks do against padding oracles; the MAC then
     * covers a length that depends on the pad, as in the kernel module. */
    size_t pad = buf[n - 1];
    size_t good = ct_mask_le(pad + 1 + tl, C);
    size_t span = C < 256 ? C : 256;
    for (size_t i = 1; i <= span; i++) {
      size_t in_pad = ct_mask_le(i, pad + 1);
      good &= ~(in_pad & ct_mask_nonzero((size_t)(buf[n - i] ^ pad)));
    }
    size_t Lbad = C >= tl ? C - tl : 0, Lgood = (size_t)(C - pad - 1 - tl);
    size_t L = (good & Lgood) | (~good & Lbad);
    bool bad = good == 0;
    struct ocf_desc m = {.alg = s->m->alg, .flags = OCF_D_VERIFY, .len = A + L, .inject = A + L};
    int vr = C >= tl ? run_buf(f, dses, &m, 1, buf, A + L + tl) : EBADMSG;
    if (bad || vr == EBADMSG)
      rc = EBADMSG;
    else
      rc = vr;
    if (rc == 0) {
      memcpy(a->dst, buf + A, C); /* plaintext, MAC and padding, as the kernel leaves them */
      a->len = (uint32_t)L;
    }
  }
  explicit_bzero(buf, n);
  free(buf);
  return rc;
}

/* SRTP: encrypt src in place, then MAC the whole auth area; the tag goes
 * to a->tag.  Decrypt verifies first. */
static int auth_srtp(struct cfile *f, struct csess *s, struct crypt_auth_op *a, uint8_t *iv) {
  bool enc = a->op == COP_ENCRYPT;
  unsigned tl = a->tag_len;
  if (a->dst == NULL && a->auth_src == NULL) return EINVAL;
  if (a->auth_len == 0 || a->auth_src == NULL || a->src == NULL) return EINVAL;
  ptrdiff_t diff = a->src - a->auth_src;
  if (diff < 0 || diff > 256 || (size_t)diff + a->len > a->auth_len) return EINVAL;
  if (s->m && (tl > s->maclen || a->tag == NULL)) return s->m && a->tag == NULL ? EFAULT : EINVAL;
  uint32_t dses;
  int rc = dses_for(f, s, s->m ? tl : s->maclen, &dses);
  if (rc) return kerr(rc);
  size_t A = a->auth_len, n = A + (s->m ? tl : 0);
  uint8_t *buf = malloc(n + 1);
  if (buf == NULL) return ENOMEM;
  memcpy(buf, a->auth_src, A);
  if (s->m && !enc) memcpy(buf + A, a->tag, tl);
  struct ocf_desc cd = {0}, md = {0}, d[2];
  int nd = 0;
  if (s->c) {
    cd.alg = s->c->alg;
    cd.flags = (enc ? OCF_D_ENCRYPT : 0) | (s->ivlen ? OCF_D_IV_EXPLICIT : 0);
    cd.skip = (size_t)diff;
    cd.len = a->len;
    memcpy(cd.iv, iv, s->ivlen);
  }
  if (s->m) {
    md.alg = s->m->alg;
    md.flags = enc ? 0 : OCF_D_VERIFY;
    md.len = A;
    md.inject = A;
  }
  if (enc) {
    if (s->c) d[nd++] = cd;
    if (s->m) d[nd++] = md;
  } else {
    if (s->m) d[nd++] = md;
    if (s->c) d[nd++] = cd;
  }
  rc = run_buf(f, dses, d, nd, buf, n);
  if (rc == 0) {
    next_iv(s, enc, a->auth_src + diff, buf + diff, a->len, iv);
    memcpy(a->src, buf + diff, a->len);
    if (s->m && enc) memcpy(a->tag, buf + A, tl);
  }
  explicit_bzero(buf, n);
  free(buf);
  return rc;
}

static int do_authcrypt(struct cfile *f, struct crypt_auth_op *a) {
  if (a->op != COP_ENCRYPT && a->op != COP_DECRYPT) return EINVAL;
  struct csess *s = sess_find(f, a->ses);
  if (s == NULL) return EINVAL;
  bool tls = a->flags & COP_FLAG_AEAD_TLS_TYPE, srtp = a->flags & COP_FLAG_AEAD_SRTP_TYPE;
  if ((tls || srtp) && a->src != a->dst) return EINVAL;
  if (a->tag_len == 0) a->tag_len = s->maclen;
  uint8_t iv[32];
  memcpy(iv, s->iv, sizeof(iv));
  if (a->iv && s->ivlen) memcpy(iv, a->iv, s->ivlen);
  int rc;
  if (srtp)
    rc = auth_srtp(f, s, a, iv);
  else if (tls)
    rc = auth_tls(f, s, a, iv);
  else if (s->c && s->c->mode == M_AEAD)
    rc = auth_aead(f, s, a, iv);
  else
    rc = EINVAL;
  if (rc == 0 || rc == EBADMSG) memcpy(s->iv, iv, sizeof(iv));
  if (rc == 0 && (a->flags & COP_FLAG_WRITE_IV) && a->iv) memcpy(a->iv, iv, s->ivlen);
  return kerr(rc);
}

/* --- CIOCCPHASH ------------------------------------------------------------- */

static int do_cphash(struct cfile *f, const struct cphash_op *cp) {
  if (cp->dst_ses == cp->src_ses) return EDEADLK;
  struct csess *src = sess_find(f, cp->src_ses), *dst = sess_find(f, cp->dst_ses);
  if (src == NULL || dst == NULL) return ENOENT;
  if (src->c || dst->c || src->m == NULL || dst->m == NULL || src->m->alg != dst->m->alg)
    return EINVAL;
  /* The state of an HMAC includes its key: the copy computes with src's. */
  if (src->mkeylen != dst->mkeylen || memcmp(src->mkey, dst->mkey, src->mkeylen) != 0) {
    struct csess tmp = *dst;
    memcpy(tmp.mkey, src->mkey, src->mkeylen);
    tmp.mkeylen = src->mkeylen;
    uint32_t nd;
    int rc = daemon_session(f->dev, &tmp, dst->maclen, &nd, NULL);
    explicit_bzero(tmp.mkey, sizeof(tmp.mkey));
    if (rc) return kerr(rc);
    ocfdev_freesession(f->dev, dst->dses);
    for (struct variant *v = dst->var, *n; v; v = n) {
      n = v->next;
      ocfdev_freesession(f->dev, v->dses);
      free(v);
    }
    dst->var = NULL;
    dst->dses = nd;
    memcpy(dst->mkey, src->mkey, src->mkeylen);
    dst->mkeylen = src->mkeylen;
  }
  return kerr(ocfdev_cphash(f->dev, dst->dses, src->dses));
}

/* --- asynchronous ------------------------------------------------------------- */

/* to_done moves a from flight to the tail of done. */
static void to_done(struct cfile *f, struct apend *a) {
  for (struct apend **pp = &f->flight; *pp; pp = &(*pp)->next)
    if (*pp == a) {
      *pp = a->next;
      break;
    }
  a->next = NULL;
  struct apend **tp = &f->done;
  while (*tp) tp = &(*tp)->next;
  *tp = a;
}

/* part_ahead: is a part of session ses submitted and not done, before a? */
static bool part_ahead(const struct cfile *f, uint32_t ses, const struct apend *a) {
  for (const struct apend *x = f->flight; x != NULL && x != a; x = x->next)
    if (x->part && x->ses == ses) return true;
  return false;
}

/* submit_deferred sends the hash parts whose predecessor has completed: the
 * daemon takes one part of a session at a time, in the order the program
 * gave them (as the kernel module runs them). */
static void submit_deferred(struct cfile *f) {
  for (struct apend *a = f->flight, *next; a != NULL; a = next) {
    next = a->next;
    if (!a->deferred || part_ahead(f, a->ses, a)) continue;
    a->deferred = false;
    int rc = ocfdev_submit(f->dev, &a->op);
    if (rc && a->op.state_ == 0) { /* not sent: completes with the error */
      a->err = kerr(rc);
      to_done(f, a);
    }
  }
}

static void collect(struct cfile *f) {
  struct ocfdev_op *ops[64];
  int n;
  bool any = false;
  while (f->flight && ocfdev_reap(f->dev, ops, 64, 0, &n) == 0 && n > 0) {
    for (int i = 0; i < n; i++) {
      struct apend *a = ops[i]->opaque;
      any = any || a->part;
      to_done(f, a);
    }
  }
  if (any) submit_deferred(f);
}

static int do_asynccrypt(struct cfile *f, const struct crypt_op *cop) {
  if (cop->op != COP_ENCRYPT && cop->op != COP_DECRYPT) return EINVAL;
  if (cop->flags & COP_FLAG_NO_ZC) return EINVAL;
  struct csess *s = sess_find(f, cop->ses);
  if (s == NULL) return EINVAL;
  collect(f);
  if (f->nasync >= MAX_ASYNC) return EBUSY;
  struct apend *a = calloc(1, sizeof(*a));
  if (a == NULL) return ENOMEM;
  a->cop = *cop;
  a->ses = cop->ses;
  a->enc = cop->op == COP_ENCRYPT;
  int rc = 0;
  if (s->c && s->c->mode == M_AEAD)
    rc = EINVAL;
  else if (cop->len && (cop->src == NULL || (s->c && cop->dst == NULL)))
    rc = EFAULT;
  else if (s->c && cop->len % s->block)
    rc = EINVAL;
  unsigned pflags = 0;
  if (s->c == NULL && s->m != NULL) { /* a hash part, streamed like CIOCCRYPT's */
    a->part = true;
    pflags = part_flags(cop, &a->final);
  }
  if (rc == 0 && s->m && cop->mac == NULL && (!a->part || a->final)) rc = EFAULT;
  if (rc == 0 && cop->len + (s->m ? s->maclen : 0) > ocfdev_max_request(f->dev)) rc = EMSGSIZE;
  if (rc == 0 && a->part) rc = stream_step(s, pflags, a->final);
  uint8_t iv[32];
  memcpy(iv, s->iv, sizeof(iv));
  if (cop->iv && s->ivlen) memcpy(iv, cop->iv, s->ivlen);
  if (rc == 0) rc = build_crypt(s, cop, cop->src, cop->len, iv, &a->op);
  if (rc == 0 && a->part) {
    a->op.desc[0].flags = pflags;
    a->op.opaque = a;
    /* behind another part of its session: sent when that one completes */
    a->deferred = part_ahead(f, cop->ses, NULL);
    if (!a->deferred) {
      rc = ocfdev_submit(f->dev, &a->op);
      if (rc && a->op.state_ == 0) {
        free(a->op.buf);
        free(a);
        return kerr(rc);
      }
    }
    struct apend **tp = &f->flight;
    while (*tp) tp = &(*tp)->next;
    *tp = a;
    f->nasync++;
    return 0;
  }
  if (rc == 0) {
    a->op.opaque = a;
    /* Chain what is known now, so IV-less requests in a row line up. */
    if (!(a->enc && s->c && s->c->mode == M_CBC)) {
      next_iv(s, a->enc, cop->src, NULL, cop->len, iv);
      memcpy(s->iv, iv, sizeof(iv));
    }
    rc = ocfdev_submit(f->dev, &a->op);
    if (rc && a->op.state_ == 0) { /* not sent */
      free(a->op.buf);
      free(a);
      return kerr(rc);
    }
    a->next = f->flight;
    /* append to keep submission order */
    a->next = NULL;
    struct apend **tp = &f->flight;
    while (*tp) tp = &(*tp)->next;
    *tp = a;
    f->nasync++;
    return 0;
  }
  if (a->op.buf) free(a->op.buf);
  free(a);
  return rc;
}

static int do_asyncfetch(struct cfile *f, struct crypt_op *out) {
  collect(f);
  struct apend *a = f->done;
  if (a == NULL) return EBUSY;
  f->done = a->next;
  f->nasync--;
  struct crypt_op *cop = &a->cop;
  struct csess *s = sess_find(f, a->ses);
  int rc = a->err ? a->err : a->op.error;
  if (rc == 0 && s) {
    uint8_t *buf = a->op.buf;
    if (s->c && cop->len) memcpy(cop->dst, buf, cop->len);
    if (s->m && (!a->part || a->final)) memcpy(cop->mac, buf + cop->len, s->maclen);
    if (s->c) {
      uint8_t iv[32];
      memcpy(iv, s->c ? a->op.desc[s->m && a->enc ? 1 : 0].iv : s->iv, sizeof(iv));
      next_iv(s, a->enc, cop->src, buf, cop->len, iv);
      if (a->enc && s->c->mode == M_CBC) memcpy(s->iv, iv, sizeof(iv));
      if ((cop->flags & COP_FLAG_WRITE_IV) && cop->iv) memcpy(cop->iv, iv, s->ivlen);
    }
  }
  *out = *cop;
  if (a->op.buf) explicit_bzero(a->op.buf, a->op.len);
  apend_free(a);
  return kerr(rc);
}

/* --- CIOCKEY and the rest ----------------------------------------------------- */

static int do_key(struct cfile *f, struct crypt_kop *kop) {
  if ((unsigned)kop->crk_iparams + kop->crk_oparams > CRK_MAXPARAM) return EINVAL;
  if (kop->crk_op >= CRK_ALGORITHM_ALL) return EINVAL;
  struct ocf_kreq k;
  memset(&k, 0, sizeof(k));
  k.op = (enum ocf_kop)kop->crk_op;
  k.iparams = kop->crk_iparams;
  k.oparams = kop->crk_oparams;
  for (int i = 0; i < k.iparams + k.oparams; i++) {
    k.param[i].p = kop->crk_param[i].crp_p;
    k.param[i].nbits = kop->crk_param[i].crp_nbits;
    if (k.param[i].nbits && k.param[i].p == NULL) return EFAULT;
  }
  int rc = ocfdev_kop(f->dev, &k);
  if (rc == 0) {
    kop->crk_status = (uint32_t)k.status;
    for (int i = k.iparams; i < k.iparams + k.oparams; i++)
      kop->crk_param[i].crp_nbits = (uint32_t)k.param[i].nbits;
  }
  return kerr(rc);
}

static int do_finddev(struct cfile *f, struct crypt_find_op *fo) {
  struct ocfdev_driver drv[64];
  int n;
  int rc = ocfdev_drivers(f->dev, drv, 64, &n);
  if (rc) return kerr(rc);
  for (int i = 0; i < n && i < 64; i++) {
    if (fo->crid == -1 ? strncmp(fo->name, drv[i].name, sizeof(fo->name)) == 0
                       : (uint32_t)fo->crid == drv[i].hid) {
      fo->crid = (int)drv[i].hid;
      snprintf(fo->name, sizeof(fo->name), "%s", drv[i].name);
      return 0;
    }
  }
  return ENOENT;
}

static int cd_ioctl(int fd, struct cfile *f, unsigned long req, void *arg) {
  /* The kernel copies the argument in and answers EFAULT for an address it
   * cannot read.  The shim reads it in place: it catches the null page,
   * which is what a program's bug most often hands over, and would fault on
   * a wild pointer (probing every address would cost system calls). */
  if ((uintptr_t)arg < 4096 && _IOC_SIZE(req) > 0) {
    errno = EFAULT;
    return -1;
  }
  pthread_mutex_lock(&f->lock);
  int rc = revive(f);
  if (rc == 0) {
    switch (req) {
      case CRIOGET: {
        /* Linux: a new descriptor on the same file, which outlives fd. */
        int nfd = real_fcntl(fd, F_DUPFD, 0);
        if (nfd < 0) {
          rc = errno;
          break;
        }
        pthread_mutex_lock(&tab_lock);
        rc = bind_fd(nfd, f);
        pthread_mutex_unlock(&tab_lock);
        if (rc)
          real_close(nfd);
        else
          *(__u32 *)arg = (__u32)nfd;
        break;
      }
      case CIOCGSESSION:
        rc = do_gsession(f, arg);
        break;
      case CIOCFSESSION:
        rc = do_fsession(f, *(__u32 *)arg);
        break;
      case CIOCGSESSINFO:
        rc = do_sessinfo(f, arg);
        break;
      case CIOCCRYPT:
        rc = do_crypt(f, arg);
        break;
      case CIOCAUTHCRYPT:
        rc = do_authcrypt(f, arg);
        break;
      case CIOCCPHASH:
        rc = do_cphash(f, arg);
        break;
      case CIOCASYNCCRYPT:
        rc = do_asynccrypt(f, arg);
        break;
      case CIOCASYNCFETCH:
        rc = do_asyncfetch(f, arg);
        break;
      case CIOCKEY:
        rc = do_key(f, arg);
        break;
      case CIOCFINDDEV:
        rc = do_finddev(f, arg);
        break;
      case CIOCASYMFEAT: {
        uint32_t feat = 0;
        rc = kerr(ocfdev_asymfeat(f->dev, &feat));
        /* The native protocol also reports libocf's operations beyond the
         * paper's five; the cryptodev ABI has bits for those five only. */
        if (rc == 0) *(__u32 *)arg = feat & ((1u << CRK_ALGORITHM_ALL) - 1);
        break;
      }
      default:
        rc = EINVAL;
        break;
    }
  }
  pthread_mutex_unlock(&f->lock);
  if (rc) {
    errno = rc;
    return -1;
  }
  return 0;
}

/* --- the intercepted calls ---------------------------------------------------- */

static bool has_mode(int flags) { return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE; }

int open(const char *path, int flags, ...) {
  resolve();
  mode_t mode = 0;
  if (has_mode(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  if (is_devcrypto(path)) return cd_open(flags);
  return real_open(path, flags, mode);
}

int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int openat(int dirfd, const char *path, int flags, ...) {
  resolve();
  mode_t mode = 0;
  if (has_mode(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  if (is_devcrypto(path)) return cd_open(flags);
  return real_openat(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

/* _FORTIFY_SOURCE builds call these. */
int __open_2(const char *path, int flags) { return open(path, flags); }
int __open64_2(const char *path, int flags) { return open(path, flags); }
int __openat_2(int dirfd, const char *path, int flags) { return openat(dirfd, path, flags); }
int __openat64_2(int dirfd, const char *path, int flags) { return openat(dirfd, path, flags); }

/* read / write and their kin: the kernel's /dev/crypto has no read or write
 * operations, so they fail with EINVAL there.  Here the descriptor is the
 * daemon connection, where they would tear the protocol's framing apart. */
#define NOT_ON_DEVCRYPTO(fd)  \
  do {                        \
    if (lookup(fd) != NULL) { \
      errno = EINVAL;         \
      return -1;              \
    }                         \
    resolve();                \
  } while (0)

ssize_t read(int fd, void *buf, size_t n) {
  NOT_ON_DEVCRYPTO(fd);
  return real_read(fd, buf, n);
}

ssize_t write(int fd, const void *buf, size_t n) {
  NOT_ON_DEVCRYPTO(fd);
  return real_write(fd, buf, n);
}

ssize_t readv(int fd, const struct iovec *iov, int cnt) {
  NOT_ON_DEVCRYPTO(fd);
  return real_readv(fd, iov, cnt);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt) {
  NOT_ON_DEVCRYPTO(fd);
  return real_writev(fd, iov, cnt);
}

ssize_t pread(int fd, void *buf, size_t n, off_t off) {
  NOT_ON_DEVCRYPTO(fd);
  return real_pread(fd, buf, n, off);
}
ssize_t pread64(int fd, void *buf, size_t n, off_t off) __attribute__((alias("pread")));

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) {
  NOT_ON_DEVCRYPTO(fd);
  return real_pwrite(fd, buf, n, off);
}
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) __attribute__((alias("pwrite")));

/* _FORTIFY_SOURCE builds read through these. */
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen) {
  NOT_ON_DEVCRYPTO(fd);
  return real_read_chk(fd, buf, n, buflen);
}
ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen) {
  NOT_ON_DEVCRYPTO(fd);
  return real_pread_chk(fd, buf, n, off, buflen);
}
ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
    __attribute__((alias("__pread_chk")));

/* stat and kin.  /dev/crypto is a character device; here an open one is a
 * socket, and without the kernel module there is no node to stat at all.
 * Programs that check what they opened, or look for the node before opening
 * it, see a character device: mode 0666, the misc major 10 with minor 70
 * (the kernel module's minor is dynamic).  Calls from the shim's own code
 * see the socket. */
#define DEVCRYPTO_MAJOR 10
#define DEVCRYPTO_MINOR 70

/* as_chardev makes st describe the device: over what the socket's stat said,
 * or (fresh) from nothing, for the node the system does not have. */
static void as_chardev(struct stat *st, bool fresh) {
  if (fresh) {
    memset(st, 0, sizeof(*st));
    st->st_nlink = 1;
    st->st_blksize = 4096;
  }
  st->st_mode = S_IFCHR | 0666;
  st->st_rdev = makedev(DEVCRYPTO_MAJOR, DEVCRYPTO_MINOR);
  st->st_size = 0;
  st->st_blocks = 0;
}

static void as_chardev_x(struct statx *sx, bool fresh) {
  if (fresh) {
    memset(sx, 0, sizeof(*sx));
    sx->stx_mask = STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_SIZE;
    sx->stx_nlink = 1;
    sx->stx_blksize = 4096;
  }
  sx->stx_mode = S_IFCHR | 0666;
  sx->stx_rdev_major = DEVCRYPTO_MAJOR;
  sx->stx_rdev_minor = DEVCRYPTO_MINOR;
  sx->stx_size = 0;
  sx->stx_blocks = 0;
}

/* ours: fd is an open /dev/crypto of the program, and the call is the
 * program's (from: its return address), not the shim's own. */
static bool ours(int fd, uintptr_t from) {
  return (from < self_lo || from >= self_hi) && lookup(fd);
}

/* no_node: the call failed for want of a /dev/crypto node (the path is the
 * one open() takes over: absolute, exact). */
static bool no_node(const char *path, int rc) {
  return rc != 0 && errno == ENOENT && is_devcrypto(path);
}

/* empty_path: the call names dirfd itself (AT_EMPTY_PATH with "", or with
 * NULL, which newer kernels take too).  Not inlined into the callers, whose
 * path glibc declares nonnull. */
__attribute__((noinline)) static bool empty_path(const char *path, int flags) {
  return (flags & AT_EMPTY_PATH) && (path == NULL || path[0] == '\0');
}

/* do_fstatat: fstat (is_fstat) or fstatat for a caller at from. */
static int do_fstatat(int dirfd, const char *path, struct stat *st, int flags, bool is_fstat,
                      uintptr_t from) {
  resolve();
  int saved = errno; /* a call that succeeds leaves errno alone */
  int rc = is_fstat ? real_fstat(dirfd, st) : real_fstatat(dirfd, path, st, flags);
  if (rc == 0 && (is_fstat || empty_path(path, flags)) && ours(dirfd, from)) {
    as_chardev(st, false);
  } else if (!is_fstat && no_node(path, rc)) {
    as_chardev(st, true);
    errno = saved;
    rc = 0;
  }
  return rc;
}

#define FROM ((uintptr_t)__builtin_return_address(0))
int fstat(int fd, struct stat *st) { return do_fstatat(fd, NULL, st, 0, true, FROM); }
int fstat64(int fd, struct stat64 *st) {
  return do_fstatat(fd, NULL, (struct stat *)st, 0, true, FROM);
}
int fstatat(int dirfd, const char *path, struct stat *st, int flags) {
  return do_fstatat(dirfd, path, st, flags, false, FROM);
}
int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags) {
  return do_fstatat(dirfd, path, (struct stat *)st, flags, false, FROM);
}
int stat(const char *path, struct stat *st) {
  return do_fstatat(AT_FDCWD, path, st, 0, false, FROM);
}
int stat64(const char *path, struct stat64 *st) {
  return do_fstatat(AT_FDCWD, path, (struct stat *)st, 0, false, FROM);
}
int lstat(const char *path, struct stat *st) {
  return do_fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW, false, FROM);
}
int lstat64(const char *path, struct stat64 *st) {
  return do_fstatat(AT_FDCWD, path, (struct stat *)st, AT_SYMLINK_NOFOLLOW, false, FROM);
}

_Static_assert(sizeof(struct stat) == sizeof(struct stat64), "stat64 is stat on this ABI");

int statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *sx) {
  resolve();
  uintptr_t from = FROM;
  int saved = errno;
  int rc = real_statx(dirfd, path, flags, mask, sx);
  if (rc == 0 && empty_path(path, flags) && ours(dirfd, from)) {
    as_chardev_x(sx, false);
  } else if (no_node(path, rc)) {
    as_chardev_x(sx, true);
    errno = saved;
    rc = 0;
  }
  return rc;
}

int faccessat(int dirfd, const char *path, int mode, int flags) {
  resolve();
  int saved = errno;
  int rc = real_faccessat(dirfd, path, mode, flags);
  if (no_node(path, rc) && !(mode & X_OK)) { /* the node would be rw for all */
    errno = saved;
    rc = 0;
  }
  return rc;
}
int access(const char *path, int mode) { return faccessat(AT_FDCWD, path, mode, 0); }

/* Socket calls: /dev/crypto is a character device, so the kernel answers
 * them with ENOTSOCK.  Here the descriptor is a socket, which the shim's own
 * libocfdev uses (calls from the shim's code pass through); anyone else's
 * send or recv on it would break the protocol's framing. */
#define NOT_A_SOCKET(fd)                                    \
  do {                                                      \
    resolve();                                              \
    if (ours(fd, (uintptr_t)__builtin_return_address(0))) { \
      errno = ENOTSOCK;                                     \
      return -1;                                            \
    }                                                       \
  } while (0)

ssize_t recv(int fd, void *buf, size_t n, int flags) {
  NOT_A_SOCKET(fd);
  return real_recv(fd, buf, n, flags);
}
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags) {
  NOT_A_SOCKET(fd);
  return real_recv_chk(fd, buf, n, buflen, flags);
}
ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *sa, socklen_t *len) {
  NOT_A_SOCKET(fd);
  return real_recvfrom(fd, buf, n, flags, sa, len);
}
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *sa,
                       socklen_t *len) {
  NOT_A_SOCKET(fd);
  return real_recvfrom_chk(fd, buf, n, buflen, flags, sa, len);
}
ssize_t recvmsg(int fd, struct msghdr *m, int flags) {
  NOT_A_SOCKET(fd);
  return real_recvmsg(fd, m, flags);
}
int recvmmsg(int fd, struct mmsghdr *v, unsigned n, int flags, struct timespec *t) {
  NOT_A_SOCKET(fd);
  return real_recvmmsg(fd, v, n, flags, t);
}
ssize_t send(int fd, const void *buf, size_t n, int flags) {
  NOT_A_SOCKET(fd);
  return real_send(fd, buf, n, flags);
}
ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *sa,
               socklen_t len) {
  NOT_A_SOCKET(fd);
  return real_sendto(fd, buf, n, flags, sa, len);
}
ssize_t sendmsg(int fd, const struct msghdr *m, int flags) {
  NOT_A_SOCKET(fd);
  return real_sendmsg(fd, m, flags);
}
int sendmmsg(int fd, struct mmsghdr *v, unsigned n, int flags) {
  NOT_A_SOCKET(fd);
  return real_sendmmsg(fd, v, n, flags);
}
int getsockopt(int fd, int level, int name, void *val, socklen_t *len) {
  NOT_A_SOCKET(fd);
  return real_getsockopt(fd, level, name, val, len);
}
int setsockopt(int fd, int level, int name, const void *val, socklen_t len) {
  NOT_A_SOCKET(fd);
  return real_setsockopt(fd, level, name, val, len);
}
int getsockname(int fd, struct sockaddr *sa, socklen_t *len) {
  NOT_A_SOCKET(fd);
  return real_getsockname(fd, sa, len);
}
int getpeername(int fd, struct sockaddr *sa, socklen_t *len) {
  NOT_A_SOCKET(fd);
  return real_getpeername(fd, sa, len);
}
int shutdown(int fd, int how) {
  NOT_A_SOCKET(fd);
  return real_shutdown(fd, how);
}
int bind(int fd, const struct sockaddr *sa, socklen_t len) {
  NOT_A_SOCKET(fd);
  return real_bind(fd, sa, len);
}
int connect(int fd, const struct sockaddr *sa, socklen_t len) {
  NOT_A_SOCKET(fd);
  return real_connect(fd, sa, len);
}
int listen(int fd, int backlog) {
  NOT_A_SOCKET(fd);
  return real_listen(fd, backlog);
}
int accept(int fd, struct sockaddr *sa, socklen_t *len) {
  NOT_A_SOCKET(fd);
  return real_accept(fd, sa, len);
}
int accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags) {
  NOT_A_SOCKET(fd);
  return real_accept4(fd, sa, len, flags);
}

int close(int fd) {
  resolve();
  if (lookup(fd) == NULL) return hidden_owner(fd) ? 0 : real_close(fd);
  pthread_mutex_lock(&tab_lock);
  struct cfile *dead = unbind_fd(fd);
  int rc = real_close(fd);
  pthread_mutex_unlock(&tab_lock);
  if (dead) cfile_free(dead);
  return rc;
}

int ioctl(int fd, unsigned long req, ...) {
  resolve();
  va_list ap;
  va_start(ap, req);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  struct cfile *f = lookup(fd);
  /* Descriptor-level requests are the VFS's, not the driver's. */
  if (f == NULL || req == FIOCLEX || req == FIONCLEX || req == FIONBIO || req == FIOASYNC)
    return real_ioctl(fd, req, arg);
  return cd_ioctl(fd, f, req, arg);
}

/* after_dup records newfd as a descriptor of f, dropping what newfd was. */
static int after_dup(int newfd, struct cfile *f, struct cfile *old) {
  if (newfd < 0) return newfd;
  pthread_mutex_lock(&tab_lock);
  struct cfile *dead = old ? unbind_fd(newfd) : NULL;
  if (f && bind_fd(newfd, f) != 0) {
    pthread_mutex_unlock(&tab_lock);
    real_close(newfd);
    errno = EMFILE;
    return -1;
  }
  pthread_mutex_unlock(&tab_lock);
  if (dead) cfile_free(dead);
  return newfd;
}

int dup(int fd) {
  resolve();
  struct cfile *f = lookup(fd);
  int nfd = real_dup(fd);
  return f ? after_dup(nfd, f, NULL) : nfd;
}

/* relocate moves the socket of the cfile owning hidden number nfd to
 * another number, so that nfd can be taken.  Returns 0 or -1 (errno). */
static int relocate(int nfd) {
  struct cfile *f = hidden_owner(nfd);
  if (f == NULL) return 0;
  pthread_mutex_lock(&f->lock);
  int rc = 0;
  if ((f->dev && ocfdev_fd(f->dev) == nfd) || (f->inherited && f->inh_fd == nfd)) {
    int moved = real_fcntl(nfd, F_DUPFD_CLOEXEC, 3);
    if (moved < 0) {
      rc = -1;
    } else {
      if (f->dev)
        ocfdev_move_fd_(f->dev, moved);
      else
        f->inh_fd = moved;
      unhide(nfd);
      hide(moved, f);
    }
  }
  pthread_mutex_unlock(&f->lock);
  return rc;
}

int dup2(int fd, int nfd) {
  resolve();
  if (fd != nfd && relocate(nfd) != 0) return -1;
  struct cfile *f = lookup(fd), *old = lookup(nfd);
  if (fd == nfd || (f == NULL && old == NULL)) return real_dup2(fd, nfd);
  return after_dup(real_dup2(fd, nfd), f, old);
}

int dup3(int fd, int nfd, int flags) {
  resolve();
  if (fd != nfd && relocate(nfd) != 0) return -1;
  struct cfile *f = lookup(fd), *old = lookup(nfd);
  if (fd == nfd || (f == NULL && old == NULL)) return real_dup3(fd, nfd, flags);
  return after_dup(real_dup3(fd, nfd, flags), f, old);
}

int fcntl(int fd, int cmd, ...) {
  resolve();
  va_list ap;
  va_start(ap, cmd);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  int rc = real_fcntl(fd, cmd, arg);
  if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
    struct cfile *f = lookup(fd);
    if (f) return after_dup(rc, f, NULL);
  }
  return rc;
}

int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  return fcntl(fd, cmd, arg);
}

/* poll: a descriptor with fetched-but-unclaimed completions is readable even
 * if its socket is empty; one with a full ring is not writable. */
static int poll_common(struct pollfd *fds, nfds_t n, int timeout_ms, const struct timespec *ts,
                       const sigset_t *mask, bool pp) {
  int ready = 0;
  bool ours = false;
  for (nfds_t i = 0; i < n; i++) {
    struct cfile *f = lookup(fds[i].fd);
    if (f == NULL) continue;
    ours = true;
    pthread_mutex_lock(&f->lock);
    if (f->pid == my_pid) collect(f);
    if (f->done && (fds[i].events & (POLLIN | POLLRDNORM))) ready++;
    pthread_mutex_unlock(&f->lock);
  }
  int rc;
  if (ready > 0) {
    struct timespec zero = {0, 0};
    rc = pp ? real_ppoll(fds, n, &zero, mask) : real_poll(fds, n, 0);
  } else {
    rc = pp ? real_ppoll(fds, n, ts, mask) : real_poll(fds, n, timeout_ms);
  }
  if (rc < 0 || !ours) return rc;
  rc = 0;
  for (nfds_t i = 0; i < n; i++) {
    struct cfile *f = lookup(fds[i].fd);
    if (f) {
      pthread_mutex_lock(&f->lock);
      if (f->done)
        fds[i].revents |= fds[i].events & (POLLIN | POLLRDNORM);
      else if (!f->flight)
        fds[i].revents &= (short)~(POLLIN | POLLRDNORM);
      if (f->nasync >= MAX_ASYNC) fds[i].revents &= (short)~(POLLOUT | POLLWRNORM);
      pthread_mutex_unlock(&f->lock);
    }
    if (fds[i].revents) rc++;
  }
  return rc;
}

int poll(struct pollfd *fds, nfds_t n, int timeout_ms) {
  resolve();
  return poll_common(fds, n, timeout_ms, NULL, NULL, false);
}

int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask) {
  resolve();
  return poll_common(fds, n, 0, ts, mask, true);
}

/* select / pselect: with a /dev/crypto descriptor in a set, the sets become
 * a poll list so the same readiness rules apply (completions already pulled
 * off the socket make it readable). */
static int select_common(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, const struct timespec *ts,
                         const sigset_t *mask) {
  if (nfds < 0 || nfds > FD_SETSIZE) {
    errno = EINVAL;
    return -1;
  }
  struct pollfd pf[FD_SETSIZE];
  nfds_t n = 0;
  for (int fd = 0; fd < nfds; fd++) {
    short ev = 0;
    if (rd && FD_ISSET(fd, rd)) ev |= POLLIN;
    if (wr && FD_ISSET(fd, wr)) ev |= POLLOUT;
    if (ex && FD_ISSET(fd, ex)) ev |= POLLPRI;
    if (ev) pf[n++] = (struct pollfd){fd, ev, 0};
  }
  int rc = poll_common(pf, n, 0, ts, mask, true);
  if (rc < 0) return rc;
  for (nfds_t i = 0; i < n; i++)
    if (pf[i].revents & POLLNVAL) {
      errno = EBADF; /* as select reports a closed descriptor */
      return -1;
    }
  if (rd) FD_ZERO(rd);
  if (wr) FD_ZERO(wr);
  if (ex) FD_ZERO(ex);
  int count = 0;
  for (nfds_t i = 0; i < n; i++) {
    short r = pf[i].revents, ev = pf[i].events;
    if ((ev & POLLIN) && (r & (POLLIN | POLLHUP | POLLERR))) FD_SET(pf[i].fd, rd), count++;
    if ((ev & POLLOUT) && (r & (POLLOUT | POLLERR))) FD_SET(pf[i].fd, wr), count++;
    if ((ev & POLLPRI) && (r & POLLPRI)) FD_SET(pf[i].fd, ex), count++;
  }
  return count;
}

static bool any_ours(int nfds, fd_set *rd, fd_set *wr, fd_set *ex) {
  for (int fd = 0; fd < nfds && fd < FD_SETSIZE; fd++)
    if (((rd && FD_ISSET(fd, rd)) || (wr && FD_ISSET(fd, wr)) || (ex && FD_ISSET(fd, ex))) &&
        lookup(fd) != NULL)
      return true;
  return false;
}

int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv) {
  resolve();
  if (!any_ours(nfds, rd, wr, ex)) return real_select(nfds, rd, wr, ex, tv);
  struct timespec ts, *tp = NULL;
  if (tv) {
    if (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000) {
      errno = EINVAL;
      return -1;
    }
    ts = (struct timespec){tv->tv_sec, tv->tv_usec * 1000};
    tp = &ts;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int rc = select_common(nfds, rd, wr, ex, tp, NULL);
  if (tv) { /* Linux select leaves the time not slept in *tv */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long left =
        ((long long)tv->tv_sec * 1000000 + tv->tv_usec) -
        ((long long)(t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000);
    if (left < 0) left = 0;
    *tv = (struct timeval){(time_t)(left / 1000000), (suseconds_t)(left % 1000000)};
  }
  return rc;
}

int pselect(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, const struct timespec *ts,
            const sigset_t *mask) {
  resolve();
  if (!any_ours(nfds, rd, wr, ex)) return real_pselect(nfds, rd, wr, ex, ts, mask);
  return select_common(nfds, rd, wr, ex, ts, mask);
}

/* close_range / closefrom: descriptors of /dev/crypto in the range are
 * closed as close() would (their files may end); the shim's own sockets are
 * skipped. */
int close_range(unsigned first, unsigned last, int flags) {
  resolve();
  static int (*real_close_range)(unsigned, unsigned, int);
  if (real_close_range == NULL) real_close_range = dlsym(RTLD_NEXT, "close_range");
  if (real_close_range == NULL) {
    errno = ENOSYS;
    return -1;
  }
  if (first > last) {
    errno = EINVAL;
    return -1;
  }
  if ((flags & CLOSE_RANGE_CLOEXEC) || (atomic_load(&any_hidden) == 0 && atomic_load(&tab) == NULL))
    return real_close_range(first, last, flags);
  unsigned from = first;
  unsigned top = last < MAX_FD ? last : MAX_FD - 1;
  for (unsigned fd = first; fd <= top; fd++) {
    bool ours = lookup((int)fd) != NULL, hide_it = !ours && hidden_owner((int)fd) != NULL;
    if (!ours && !hide_it) continue;
    if (fd > from && real_close_range(from, fd - 1, flags) != 0) return -1;
    if (ours) close((int)fd);
    from = fd + 1;
  }
  if (from <= last) return real_close_range(from, last, flags);
  return 0;
}

void closefrom(int lowfd) {
  if (lowfd < 0) lowfd = 0;
  close_range((unsigned)lowfd, ~0u, 0);
}
