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
 * ioctl is never cut in the middle of a message.
 *
 * The shim's files: this one keeps the descriptor table, finds the libc
 * functions it stands in front of and owns the life of a cfile; inherit.c
 * takes over connections from before an exec or a fork; session.c,
 * crypt.c (CIOCCRYPT, asynchronous requests), hash.c (hash streams,
 * CIOCCPHASH), authcrypt.c (CIOCAUTHCRYPT) and ioctl.c (the dispatcher,
 * CIOCKEY) serve the ioctls; fdcalls.c, chardev.c and poll.c are the libc
 * calls interposed; stage.c is the staging region.  preload_int.h is what
 * they share. */
#include "preload_int.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <unistd.h>

pthread_mutex_t pl_tab_lock = PTHREAD_MUTEX_INITIALIZER;
struct cfile *_Atomic *_Atomic pl_tab; /* by descriptor */

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
static struct hidden *hid; /* [pl_tab_lock] */
static int nhid, caphid;   /* [pl_tab_lock] */
atomic_int pl_any_hidden;

int (*real_open)(const char *, int, ...);
int (*real_openat)(int, const char *, int, ...);
int (*real_close)(int);
int (*real_ioctl)(int, unsigned long, ...);
int (*real_dup)(int);
int (*real_dup2)(int, int);
int (*real_dup3)(int, int, int);
int (*real_fcntl)(int, int, ...);
int (*real_poll)(struct pollfd *, nfds_t, int);
int (*real_ppoll)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
int (*real_select)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
int (*real_pselect)(int, fd_set *, fd_set *, fd_set *, const struct timespec *, const sigset_t *);
ssize_t (*real_read)(int, void *, size_t);
ssize_t (*real_write)(int, const void *, size_t);
ssize_t (*real_readv)(int, const struct iovec *, int);
ssize_t (*real_writev)(int, const struct iovec *, int);
ssize_t (*real_pread)(int, void *, size_t, off_t);
ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
ssize_t (*real_read_chk)(int, void *, size_t, size_t);
ssize_t (*real_pread_chk)(int, void *, size_t, off_t, size_t);
ssize_t (*real_recv)(int, void *, size_t, int);
ssize_t (*real_recv_chk)(int, void *, size_t, size_t, int);
ssize_t (*real_recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
ssize_t (*real_recvfrom_chk)(int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *);
ssize_t (*real_recvmsg)(int, struct msghdr *, int);
int (*real_recvmmsg)(int, struct mmsghdr *, unsigned, int, struct timespec *);
ssize_t (*real_send)(int, const void *, size_t, int);
ssize_t (*real_sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
int (*real_sendmmsg)(int, struct mmsghdr *, unsigned, int);
int (*real_getsockopt)(int, int, int, void *, socklen_t *);
int (*real_setsockopt)(int, int, int, const void *, socklen_t);
int (*real_getsockname)(int, struct sockaddr *, socklen_t *);
int (*real_getpeername)(int, struct sockaddr *, socklen_t *);
int (*real_shutdown)(int, int);
int (*real_bind)(int, const struct sockaddr *, socklen_t);
int (*real_connect)(int, const struct sockaddr *, socklen_t);
int (*real_listen)(int, int);
int (*real_accept)(int, struct sockaddr *, socklen_t *);
int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);
int (*real_fstat)(int, struct stat *);
int (*real_fstatat)(int, const char *, struct stat *, int);
int (*real_statx)(int, const char *, int, unsigned, struct statx *);
int (*real_faccessat)(int, const char *, int, int);
/* The shim's own code: libocfdev inside it talks to the daemon through
 * these very descriptors, with the socket calls refused to the program. */
uintptr_t pl_self_lo, pl_self_hi;

/* This process's id, kept here because getpid() is a system call and every
 * ioctl asks (a forked child must not use its parent's connection).  fork()
 * runs atfork_child in the child, which updates it. */
pid_t pl_my_pid;

static void atfork_prepare(void) { pthread_mutex_lock(&pl_tab_lock); }
static void atfork_parent(void) { pthread_mutex_unlock(&pl_tab_lock); }
static void atfork_child(void) {
  pl_my_pid = getpid();
  pthread_mutex_unlock(&pl_tab_lock);
  /* A lock held by another thread at fork time would never be released;
   * the child starts a new connection on first use anyway. */
  if (pl_tab == NULL) return;
  for (int i = 0; i < MAX_FD; i++) {
    struct cfile *f = atomic_load(&pl_tab[i]);
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
      pl_self_lo = lo;
      pl_self_hi = hi;
      return 1;
    }
  }
  return 0;
}

static void init_once(void);

void pl_resolve(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, init_once);
}

static void init_once(void) {
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
  pl_my_pid = getpid();
  pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/* --- cfile lifetime -------------------------------------------------------- */

void pl_sess_wipe_free(struct csess *s) {
  explicit_bzero(s->key, sizeof(s->key));
  explicit_bzero(s->mkey, sizeof(s->mkey));
  for (struct variant *v = s->var, *n; v; v = n) {
    n = v->next;
    free(v);
  }
  free(s);
}

void pl_apend_free(struct apend *a) {
  free(a->op.buf);
  free(a);
}

/* pl_apend_free_all frees a list of requests (flight or done). */
void pl_apend_free_all(struct apend *a) {
  for (struct apend *n; a; a = n) {
    n = a->next;
    pl_apend_free(a);
  }
}

void pl_hide(int fd, struct cfile *f) {
  pthread_mutex_lock(&pl_tab_lock);
  if (nhid == caphid) {
    int cap = caphid ? caphid * 2 : 8;
    struct hidden *h = realloc(hid, (size_t)cap * sizeof(*h));
    if (h == NULL) { /* unprotected, but working */
      pthread_mutex_unlock(&pl_tab_lock);
      return;
    }
    hid = h;
    caphid = cap;
  }
  hid[nhid++] = (struct hidden){fd, f};
  atomic_store(&pl_any_hidden, nhid);
  pthread_mutex_unlock(&pl_tab_lock);
}

void pl_unhide(int fd) {
  pthread_mutex_lock(&pl_tab_lock);
  for (int i = 0; i < nhid; i++)
    if (hid[i].fd == fd) {
      hid[i] = hid[--nhid];
      break;
    }
  atomic_store(&pl_any_hidden, nhid);
  pthread_mutex_unlock(&pl_tab_lock);
}

/* pl_hidden_owner: the cfile whose socket has number fd, or NULL. */
struct cfile *pl_hidden_owner(int fd) {
  if (atomic_load(&pl_any_hidden) == 0) return NULL;
  struct cfile *f = NULL;
  pthread_mutex_lock(&pl_tab_lock);
  for (int i = 0; i < nhid && f == NULL; i++)
    if (hid[i].fd == fd) f = hid[i].f;
  pthread_mutex_unlock(&pl_tab_lock);
  return f;
}

/* pl_dev_close closes a connection of ours, which close() would refuse. */
void pl_dev_close(struct ocfdev *d) {
  if (d == NULL) return;
  pl_unhide(ocfdev_fd(d));
  ocfdev_close(d);
}

void pl_cfile_free(struct cfile *f) {
  /* A forked child that never used the descriptor still maps its parent's
   * region: that one is the parent's to wipe. */
  if (f->pid == pl_my_pid) stage_wipe(&f->stage);
  for (struct csess *s = f->sess, *n; s; s = n) {
    n = s->next;
    pl_sess_wipe_free(s);
  }
  idtab_free(&f->stab);
  /* ocfdev_close drops requests in flight: their buffers are ours to free. */
  pl_dev_close(f->dev);
  if (f->inherited) {
    pl_unhide(f->inh_fd);
    real_close(f->inh_fd);
  }
  pl_apend_free_all(f->flight);
  pl_apend_free_all(f->done);
  pthread_mutex_destroy(&f->lock);
  free(f);
}

/* pl_bind_fd makes fd a descriptor of f (pl_tab_lock held). */
int pl_bind_fd(int fd, struct cfile *f) {
  if (fd < 0 || fd >= MAX_FD) return EMFILE;
  if (pl_tab == NULL) {
    struct cfile *_Atomic *t = calloc(MAX_FD, sizeof(*t));
    if (t == NULL) return ENOMEM;
    atomic_store(&pl_tab, t);
  }
  atomic_store(&pl_tab[fd], f);
  f->refs++;
  return 0;
}

/* pl_unbind_fd forgets fd; returns the cfile to free when it was the last. */
struct cfile *pl_unbind_fd(int fd) {
  struct cfile *f = lookup(fd);
  if (f == NULL) return NULL;
  atomic_store(&pl_tab[fd], NULL);
  return --f->refs == 0 ? f : NULL;
}

int pl_cd_open(int flags) {
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
  f->pid = pl_my_pid;
  pl_hide(ocfdev_fd(d), f);
  pthread_mutex_lock(&pl_tab_lock);
  rc = pl_bind_fd(fd, f);
  pthread_mutex_unlock(&pl_tab_lock);
  if (rc) {
    real_close(fd);
    pl_cfile_free(f);
    errno = rc;
    return -1;
  }
  return fd;
}
