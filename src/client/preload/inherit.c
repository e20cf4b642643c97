/* inherit.c - connections the process did not open itself: those inherited
 * across exec, found at load time and taken over by the first ioctl, and
 * those a forked child shares with its parent, which the child replaces by
 * its own with the same sessions (pl_revive, before every ioctl).  Separate
 * from preload.c because it is the one part that rebuilds a cfile from
 * outside: from /proc, from the daemon's list of sessions, or from what the
 * parent left. */
#include "preload_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/un.h>
#include <unistd.h>

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
      const struct algmap *a = pl_alg_of(info.alg[k].alg);
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
    if (idtab_add(&f->stab, s, pl_sess_id) != 0) { /* its requests will fail with EINVAL */
      free(s);
      continue;
    }
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
    pl_unhide(f->inh_fd);
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
    f->pid = pl_my_pid;
    f->inherited = true;
    f->inh_fd = hidden;
    pl_hide(hidden, f);
  }
  pthread_mutex_lock(&pl_tab_lock);
  int rc = pl_bind_fd(fd, f);
  pthread_mutex_unlock(&pl_tab_lock);
  if (rc != 0 && f->refs == 0) pl_cfile_free(f);
}

__attribute__((constructor)) static void find_inherited(void) {
  pl_resolve();
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

/* --- connections shared with a parent across fork ------------------------ */

/* pl_revive gives a forked child its own connection with the same sessions. */
int pl_revive(struct cfile *f) {
  if (f->inherited) {
    if (f->pid == pl_my_pid) return take_over(f);
    /* a child forked before the connection was taken over: it is the
     * parent's, and the child starts afresh */
    f->inherited = false;
    pl_unhide(f->inh_fd);
    real_close(f->inh_fd);
  }
  if (f->pid == pl_my_pid && f->dev) return 0;
  struct ocfdev *old = f->dev, *d;
  int rc = ocfdev_open(NULL, &d);
  if (rc) return EIO;
  /* The parent's requests are the parent's. */
  pl_apend_free_all(f->flight);
  pl_apend_free_all(f->done);
  f->flight = f->done = NULL;
  f->nasync = 0;
  for (struct csess *s = f->sess; s; s = s->next) {
    for (struct variant *v = s->var, *n; v; v = n) {
      n = v->next;
      free(v);
    }
    s->var = NULL;
    s->stream_lost = s->midstream; /* the parent's daemon session holds it */
    if (pl_daemon_session(d, s, s->maclen, &s->dses, NULL) != 0) s->dses = 0;
  }
  /* Point every descriptor of this cfile at the new socket. */
  pthread_mutex_lock(&pl_tab_lock);
  for (int i = 0; pl_tab && i < MAX_FD; i++)
    if (atomic_load(&pl_tab[i]) == f) {
      int fl = real_fcntl(i, F_GETFD);
      real_dup3(ocfdev_fd(d), i, (fl > 0 && (fl & FD_CLOEXEC)) ? O_CLOEXEC : 0);
    }
  pthread_mutex_unlock(&pl_tab_lock);
  pl_dev_close(old); /* closes only the child's copy of the socket */
  pl_hide(ocfdev_fd(d), f);
  f->dev = d;
  /* The parent's region stays the parent's (the child's mapping of it went
   * with the old connection). */
  stage_forget(&f->stage);
  f->pid = pl_my_pid;
  return 0;
}
