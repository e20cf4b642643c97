/* fdcalls.c - the interposed libc calls that make, copy and end descriptors:
 * open and its kin (opening "/dev/crypto" connects to the daemon), close,
 * dup / dup2 / dup3 / fcntl(F_DUPFD), close_range / closefrom, and ioctl,
 * which hands /dev/crypto requests to ioctl.c.  Together they keep the
 * descriptor table true to what the program holds. */
#include "preload_int.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <unistd.h>

void ocfdev_move_fd_(struct ocfdev *d, int newfd); /* libocfdev, not exported */

/* --- the intercepted calls ---------------------------------------------------- */

static bool has_mode(int flags) { return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE; }

int open(const char *path, int flags, ...) {
  pl_resolve();
  mode_t mode = 0;
  if (has_mode(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  if (is_devcrypto(path)) return pl_cd_open(flags);
  return real_open(path, flags, mode);
}

int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int openat(int dirfd, const char *path, int flags, ...) {
  pl_resolve();
  mode_t mode = 0;
  if (has_mode(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  if (is_devcrypto(path)) return pl_cd_open(flags);
  return real_openat(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

/* _FORTIFY_SOURCE builds call these. */
int __open_2(const char *path, int flags) { return open(path, flags); }
int __open64_2(const char *path, int flags) { return open(path, flags); }
int __openat_2(int dirfd, const char *path, int flags) { return openat(dirfd, path, flags); }
int __openat64_2(int dirfd, const char *path, int flags) { return openat(dirfd, path, flags); }

int close(int fd) {
  pl_resolve();
  if (lookup(fd) == NULL) return pl_hidden_owner(fd) ? 0 : real_close(fd);
  pthread_mutex_lock(&pl_tab_lock);
  struct cfile *dead = pl_unbind_fd(fd);
  int rc = real_close(fd);
  pthread_mutex_unlock(&pl_tab_lock);
  if (dead) pl_cfile_free(dead);
  return rc;
}

int ioctl(int fd, unsigned long req, ...) {
  pl_resolve();
  va_list ap;
  va_start(ap, req);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  struct cfile *f = lookup(fd);
  /* Descriptor-level requests are the VFS's, not the driver's. */
  if (f == NULL || req == FIOCLEX || req == FIONCLEX || req == FIONBIO || req == FIOASYNC)
    return real_ioctl(fd, req, arg);
  return pl_cd_ioctl(fd, f, req, arg);
}

/* after_dup records newfd as a descriptor of f, dropping what newfd was. */
static int after_dup(int newfd, struct cfile *f, struct cfile *old) {
  if (newfd < 0) return newfd;
  pthread_mutex_lock(&pl_tab_lock);
  struct cfile *dead = old ? pl_unbind_fd(newfd) : NULL;
  if (f && pl_bind_fd(newfd, f) != 0) {
    pthread_mutex_unlock(&pl_tab_lock);
    real_close(newfd);
    errno = EMFILE;
    return -1;
  }
  pthread_mutex_unlock(&pl_tab_lock);
  if (dead) pl_cfile_free(dead);
  return newfd;
}

int dup(int fd) {
  pl_resolve();
  struct cfile *f = lookup(fd);
  int nfd = real_dup(fd);
  return f ? after_dup(nfd, f, NULL) : nfd;
}

/* relocate moves the socket of the cfile owning hidden number nfd to
 * another number, so that nfd can be taken.  Returns 0 or -1 (errno). */
static int relocate(int nfd) {
  struct cfile *f = pl_hidden_owner(nfd);
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
      pl_unhide(nfd);
      pl_hide(moved, f);
    }
  }
  pthread_mutex_unlock(&f->lock);
  return rc;
}

int dup2(int fd, int nfd) {
  pl_resolve();
  if (fd != nfd && relocate(nfd) != 0) return -1;
  struct cfile *f = lookup(fd), *old = lookup(nfd);
  if (fd == nfd || (f == NULL && old == NULL)) return real_dup2(fd, nfd);
  return after_dup(real_dup2(fd, nfd), f, old);
}

int dup3(int fd, int nfd, int flags) {
  pl_resolve();
  if (fd != nfd && relocate(nfd) != 0) return -1;
  struct cfile *f = lookup(fd), *old = lookup(nfd);
  if (fd == nfd || (f == NULL && old == NULL)) return real_dup3(fd, nfd, flags);
  return after_dup(real_dup3(fd, nfd, flags), f, old);
}

int fcntl(int fd, int cmd, ...) {
  pl_resolve();
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

/* close_range / closefrom: descriptors of /dev/crypto in the range are
 * closed as close() would (their files may end); the shim's own sockets are
 * skipped. */
int close_range(unsigned first, unsigned last, int flags) {
  pl_resolve();
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
  if ((flags & CLOSE_RANGE_CLOEXEC) ||
      (atomic_load(&pl_any_hidden) == 0 && atomic_load(&pl_tab) == NULL))
    return real_close_range(first, last, flags);
  unsigned from = first;
  unsigned top = last < MAX_FD ? last : MAX_FD - 1;
  for (unsigned fd = first; fd <= top; fd++) {
    bool ours = lookup((int)fd) != NULL, hide_it = !ours && pl_hidden_owner((int)fd) != NULL;
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
