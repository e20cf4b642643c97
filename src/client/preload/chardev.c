/* chardev.c - the interposed calls that would show the program a socket
 * where it expects the character device /dev/crypto: read / write and their
 * kin are refused as on the kernel device, stat and kin describe a device
 * (and one at /dev/crypto when the system has none), and socket calls are
 * refused to the program while the shim's own libocfdev passes.  Separate
 * because none of them changes the shim's state: they only keep its
 * disguise. */
#include "preload_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* read / write and their kin: the kernel's /dev/crypto has no read or write
 * operations, so they fail with EINVAL there.  Here the descriptor is the
 * daemon connection, where they would tear the protocol's framing apart. */
#define NOT_ON_DEVCRYPTO(fd)  \
  do {                        \
    if (lookup(fd) != NULL) { \
      errno = EINVAL;         \
      return -1;              \
    }                         \
    pl_resolve();             \
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
  return (from < pl_self_lo || from >= pl_self_hi) && lookup(fd);
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
  pl_resolve();
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
  pl_resolve();
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
  pl_resolve();
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
    pl_resolve();                                           \
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
