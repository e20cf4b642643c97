/* poll.c - poll, ppoll, select and pselect over /dev/crypto descriptors:
 * completions of asynchronous requests the shim has already read off the
 * socket make a descriptor readable, a full ring makes it not writable.
 * Separate because it is the one interposed call that looks into the
 * asynchronous state (crypt.c). */
#include "preload_int.h"

#include <errno.h>

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
    if (f->pid == pl_my_pid) pl_collect(f);
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
  pl_resolve();
  return poll_common(fds, n, timeout_ms, NULL, NULL, false);
}

int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask) {
  pl_resolve();
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
  pl_resolve();
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
  pl_resolve();
  if (!any_ours(nfds, rd, wr, ex)) return real_pselect(nfds, rd, wr, ex, ts, mask);
  return select_common(nfds, rd, wr, ex, ts, mask);
}
