/* fds.c - the descriptors clients pass, and the daemon's descriptor budget.
 *
 * A client passes descriptors (SCM_RIGHTS) for one purpose: a sealed memfd
 * holding a region or its rings.  Anything else is refused the moment it
 * arrives, before any call that could block on it: F_GET_SEALS answers at
 * once for every kind of file, and only shared memory has seals.  The close
 * of a refused descriptor is the one call left that can block (a TCP socket
 * with unsent data and SO_LINGER set; a terminal draining its output), so it
 * happens on a thread of its own, the closer, never on the event thread.
 * The closer turns lingering off on sockets first and interrupts a close that
 * still waits (a timer signal every CLOSE_KICK_MS), so it keeps up with a
 * client that passes such sockets; a close nothing interrupts (a FUSE file
 * whose server does not answer its flush) holds up the closer alone.
 *
 * The budget: the descriptors the daemon holds are counted (client sockets,
 * memfds waiting for their message, refused ones waiting for the closer), so
 * that one message's worth of passed descriptors (SCM_MAX_FD) always fits
 * under RLIMIT_NOFILE: the kernel would otherwise release what did not fit
 * in the receiving thread itself.  Short of room, the event thread reads no
 * client and accepts none until the closer has caught up. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ocfd/server.h"

#define CLOSE_KICK_MS 10 /* a close still waiting after this is interrupted */

/* The closer's queue.  [cl_lock] */
static pthread_mutex_t cl_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cl_cv = PTHREAD_COND_INITIALIZER;
static int *cl_q;
static int cl_cap, cl_head, cl_n;
static bool cl_stop;
static pthread_t cl_thread;
static bool cl_up;
/* refused descriptors not closed yet (queued or being closed) */
static atomic_int cl_backlog;
static atomic_ulong cl_closed; /* closed so far, for the log */

static int fd_limit;   /* RLIMIT_NOFILE */
static int fd_base;    /* the daemon's own, counted at start */
int fds_held;          /* client sockets and passed memfds we hold (event thread) */
static int fd_waiters; /* clients not read for want of descriptors */

static void on_kick(int sig) { (void)sig; }

static void *closer_main(void *arg) {
  (void)arg;
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, SIGUSR1);
  pthread_sigmask(SIG_UNBLOCK, &one, NULL);
  struct sigevent sev = {.sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGUSR1};
  sev._sigev_un._tid = gettid();
  timer_t tm;
  bool timer = timer_create(CLOCK_MONOTONIC, &sev, &tm) == 0;
  const struct itimerspec kick = {{0, CLOSE_KICK_MS * 1000000L}, {0, CLOSE_KICK_MS * 1000000L}};
  const struct itimerspec off = {{0, 0}, {0, 0}};
  pthread_mutex_lock(&cl_lock);
  for (;;) {
    while (cl_n == 0 && !cl_stop) pthread_cond_wait(&cl_cv, &cl_lock);
    if (cl_n == 0) break;
    int fd = cl_q[cl_head];
    cl_head = (cl_head + 1) % cl_cap;
    cl_n--;
    pthread_mutex_unlock(&cl_lock);
    int type;
    socklen_t tl = sizeof(type);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0) { /* a socket: no lingering */
      struct linger lg = {0, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    if (timer) timer_settime(tm, 0, &kick, NULL);
    close(fd);
    if (timer) timer_settime(tm, 0, &off, NULL);
    atomic_fetch_sub(&cl_backlog, 1);
    atomic_fetch_add_explicit(&cl_closed, 1, memory_order_relaxed);
    pthread_mutex_lock(&cl_lock);
  }
  pthread_mutex_unlock(&cl_lock);
  if (timer) timer_delete(tm);
  return NULL;
}

int fd_check(int fd) {
  int seals = fcntl(fd, F_GET_SEALS);
  if (seals < 0) return EBADF; /* not shared memory: refuse before anything else */
  return 0;                    /* its seals and size are map_region's business */
}

void fd_reject(int fd) {
  pthread_mutex_lock(&cl_lock);
  if (cl_n == cl_cap) { /* a backlog the descriptor budget allows, past the queue: grow it */
    int cap = 2 * cl_cap;
    int *q = malloc(sizeof(int) * (size_t)cap);
    if (q == NULL) {
      pthread_mutex_unlock(&cl_lock);
      ocfd_log(0, "cannot queue a refused descriptor: it stays open");
      return;
    }
    for (int i = 0; i < cl_n; i++) q[i] = cl_q[(cl_head + i) % cl_cap];
    free(cl_q);
    cl_q = q;
    cl_head = 0;
    cl_cap = cap;
  }
  cl_q[(cl_head + cl_n) % cl_cap] = fd;
  cl_n++;
  atomic_fetch_add(&cl_backlog, 1);
  pthread_cond_signal(&cl_cv);
  pthread_mutex_unlock(&cl_lock);
}

/* count_open counts this process's open descriptors. */
static int count_open(void) {
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  if (d == NULL) { /* no /proc: look at each */
    for (int fd = 0; fd < fd_limit && fd < 65536; fd++)
      if (fcntl(fd, F_GETFD) >= 0) n++;
    return n;
  }
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n; /* the directory's own descriptor included: one to spare */
}

int fds_init(int *max_clients) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return errno;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  fd_limit = rl.rlim_cur > (1u << 30) ? 1 << 30 : (int)rl.rlim_cur;
  fd_base = count_open() + 8; /* + what the framework and the closer may open later */
  long per = 1 + MAX_FDS_QUEUED;
  long spare = fd_base + SCM_MAX_FD + FD_SPARE;
  if (spare + per * (long)*max_clients > fd_limit) {
    long fit = (fd_limit - spare) / per;
    if (fit < 1) {
      ocfd_log(0, "RLIMIT_NOFILE %d leaves no descriptors for clients (need %ld + %ld a client)",
               fd_limit, spare, per);
      return EMFILE;
    }
    ocfd_log(0,
             "max-clients %d needs %ld descriptors, RLIMIT_NOFILE is %d: "
             "serving at most %ld clients",
             *max_clients, spare + per * (long)*max_clients, fd_limit, fit);
    *max_clients = (int)fit;
  }
  cl_cap = SCM_MAX_FD * 4;
  cl_q = malloc(sizeof(int) * (size_t)cl_cap);
  if (cl_q == NULL) return ENOMEM;
  struct sigaction sa = {.sa_handler = on_kick}; /* no SA_RESTART: interrupt the close */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);
  if (pthread_create(&cl_thread, NULL, closer_main, NULL) != 0) {
    free(cl_q);
    cl_q = NULL;
    return EAGAIN;
  }
  cl_up = true;
  return 0;
}

void fds_fini(void) {
  if (!cl_up) return;
  pthread_mutex_lock(&cl_lock);
  cl_stop = true;
  pthread_cond_signal(&cl_cv);
  pthread_mutex_unlock(&cl_lock);
  /* A close nothing interrupts must not keep the daemon from exiting. */
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 5;
  if (pthread_timedjoin_np(cl_thread, NULL, &until) != 0) {
    ocfd_log(0, "a refused descriptor is still closing; leaving it");
    pthread_detach(cl_thread);
  } else {
    free(cl_q);
    cl_q = NULL;
  }
  cl_up = false;
  unsigned long n = atomic_load(&cl_closed);
  if (n) ocfd_log(1, "closed %lu refused descriptors", n);
}

bool fds_room(int n) {
  return fd_base + fds_held + atomic_load(&cl_backlog) + n + SCM_MAX_FD <= fd_limit - FD_SPARE / 2;
}

void fds_wait(struct client *c) {
  if (c->fd_wait) return;
  c->fd_wait = true;
  c->reading = false;
  arm(c);
  fd_waiters++;
  ocfd_log(1, "out of descriptors (%d refused ones closing): not reading client %llu",
           atomic_load(&cl_backlog), (unsigned long long)c->serial);
}

void fds_resume(void) {
  if (fd_waiters == 0 || !fds_room(0)) return;
  for (struct client *c = clients; c != NULL; c = c->next) {
    if (!c->fd_wait) continue;
    c->fd_wait = false;
    fd_waiters--;
    resume(c);
  }
  fd_waiters = 0;
}
