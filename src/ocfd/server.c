/* server.c - ocfd's event loop: one epoll thread owns every connection; the
 * framework's threads only hand completed requests back through a locked list
 * and an eventfd.  The loop never waits for a crypto request.  The loop's
 * parts are in the files server.h lists.  Everything here uses only
 * <ocf/ocf.h>. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <ocf/ocf.h>

#include "ocfd/server.h"

/* Shared with the other files (server.h); event thread only. */
const struct ocfd_conf *cf;
int epfd = -1;
struct client *clients;
int nclients;
struct client *dirty_list, *free_list, *ring_list;
int nring;
size_t max_msg;
uint64_t last_in_ns;
bool fw_gone;
uint64_t st_accepted, st_served, st_failed, st_inflight, st_sessions, st_shm_bytes;
uint64_t st_maps;
struct timespec st_start;
__thread bool on_loop;

static int lfd = -1, sfd = -1;
static uint64_t next_serial;

/* The completion list: filled by framework threads, drained by the loop.
 *
 * Waking the loop for every completion costs two context switches per
 * request (loop, then client) on top of the crypto, which on a small machine
 * is as much as a 16 KB AES-GCM.  So completions are moderated, as network
 * cards moderate interrupts: a completion wakes the loop at once only when
 * nothing else is in flight in the framework or when enough completions have
 * piled up (half of what is still in flight, at most MOD_MAX); otherwise
 * the first unreported completion arms a short timer (MOD_USEC) that bounds
 * the delay, e.g. for a fast request queued behind slow modeled cards. */
#define MOD_MAX 64
#define MOD_USEC 50
static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static struct job *done_head, *done_tail; /* guarded by done_lock */
static int done_count;                    /* guarded by done_lock: jobs on the list */
static bool done_woken, done_timed;       /* guarded by done_lock: wake or timer pending */
/* guarded by done_lock: the loop is (about to be) blocked in epoll_wait.
 * While it is awake it looks at the list on every round by itself, so
 * completions then cost no system call at all. */
static bool loop_asleep;
static atomic_bool done_any;    /* a hint that the list is not empty, read without the lock */
static atomic_long outstanding; /* jobs handed to the framework, not back yet */
static int done_efd = -1, done_tfd = -1;
static struct job *local_head, *local_tail; /* loop thread only */

/* --- completions ---------------------------------------------------------- */

static void push_done(struct job *j) {
  j->next = NULL;
  long left = atomic_fetch_sub_explicit(&outstanding, 1, memory_order_relaxed) - 1;
  if (on_loop) {
    if (local_tail)
      local_tail->next = j;
    else
      local_head = j;
    local_tail = j;
    return;
  }
  long want = left / 2;
  if (want > MOD_MAX) want = MOD_MAX;
  pthread_mutex_lock(&done_lock);
  if (done_tail)
    done_tail->next = j;
  else
    done_head = j;
  done_tail = j;
  done_count++;
  atomic_store_explicit(&done_any, true, memory_order_relaxed);
  bool wake = loop_asleep && !done_woken && (left <= 0 || done_count > want);
  bool timer = loop_asleep && !wake && !done_woken && !done_timed;
  if (wake) done_woken = true;
  if (timer) done_timed = true;
  pthread_mutex_unlock(&done_lock);
  if (wake) {
    uint64_t one = 1;
    while (write(done_efd, &one, sizeof(one)) < 0 && errno == EINTR) {
    }
  } else if (timer) {
    struct itimerspec its = {{0, 0}, {0, MOD_USEC * 1000}};
    timerfd_settime(done_tfd, 0, &its, NULL);
  }
}

/* to_framework counts n jobs about to be handed to the framework. */
void to_framework(long n) { atomic_fetch_add_explicit(&outstanding, n, memory_order_relaxed); }

void sym_cb(struct ocf_req *r) { push_done(r->opaque); }
void key_cb(struct ocf_kreq *k) { push_done(k->opaque); }

/* The listening socket.  When the daemon is out of descriptors (EMFILE,
 * or the budget of fds.c says one more client would not fit) the pending
 * connection would keep the socket readable and the loop spinning: the
 * spare descriptor is given up to accept it and close it at once (the
 * client sees the connection end), and the socket is not watched for
 * LISTEN_PAUSE_MS.  Such refusals are logged once a second at most. */
#define LISTEN_PAUSE_MS 100
static int spare_fd = -1, pause_tfd = -1;
static bool listen_paused;
static struct ocfd_ratelimit refuse_log;

static void listen_watch(bool on) {
  struct epoll_event ev = {.events = on ? EPOLLIN : 0, .data.ptr = &lfd};
  epoll_ctl(epfd, EPOLL_CTL_MOD, lfd, &ev);
  listen_paused = !on;
  if (!on) {
    struct itimerspec its = {{0, 0}, {0, LISTEN_PAUSE_MS * 1000000L}};
    timerfd_settime(pause_tfd, 0, &its, NULL);
  }
}

/* shed: out of descriptors with a connection waiting; refuse it. */
static void shed(const char *why) {
  if (spare_fd >= 0) {
    close(spare_fd);
    spare_fd = -1;
  }
  int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
  if (fd >= 0) close(fd);
  spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ocfd_log_every(&refuse_log, 0, "refusing connections for %d ms: %s", LISTEN_PAUSE_MS, why);
  listen_watch(false);
}

/* refuse_full: a connection the daemon will not serve gets one OCFW_ERROR
 * saying why, then the end (a fresh socket's buffer always takes it). */
static void refuse_full(int fd, int err, const char *why) {
  uint8_t m[OCFW_HDR_LEN + 64];
  size_t n = strlen(why) + 1;
  if (n > 64) n = 64;
  ocfw_put_hdr(m, (uint32_t)(OCFW_HDR_LEN + n), OCFW_ERROR, 0, 0, err);
  memcpy(m + OCFW_HDR_LEN, why, n);
  m[OCFW_HDR_LEN + n - 1] = '\0';
  (void)!send(fd, m, OCFW_HDR_LEN + n, MSG_NOSIGNAL | MSG_DONTWAIT);
  close(fd);
}

static void accept_clients(void) {
  for (int k = 0; k < 64; k++) { /* then the others get their turn */
    if (!fds_room(1)) {
      shed("descriptor budget spent (max-clients, passed descriptors)");
      return;
    }
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
        shed(strerror(errno));
      else
        ocfd_log_every(&refuse_log, 0, "accept: %s", strerror(errno));
      return;
    }
    struct ucred cr;
    socklen_t cl = sizeof(cr);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) != 0) {
      close(fd);
      continue;
    }
    bool ok = cf->nuids == 0 || cr.uid == 0 || cr.uid == geteuid();
    for (int i = 0; !ok && i < cf->nuids; i++) ok = cf->uids[i] == cr.uid;
    if (!ok) {
      ocfd_log_every(&refuse_log, 1, "refusing pid %d uid %d: uid not allowed", (int)cr.pid,
                     (int)cr.uid);
      close(fd);
      continue;
    }
    if (nclients >= cf->max_clients) {
      ocfd_log_every(&refuse_log, 1, "refusing pid %d uid %d: max-clients (%d) reached",
                     (int)cr.pid, (int)cr.uid, cf->max_clients);
      refuse_full(fd, EMFILE, "too many clients");
      continue;
    }
    struct client *c = calloc(1, sizeof(*c));
    if (c == NULL) {
      refuse_full(fd, ENOMEM, "out of memory");
      continue;
    }
    budget_force(c, sizeof(*c)); /* within the client's own floor (budget.c) */
    c->fd = fd;
    c->pid = cr.pid;
    c->uid = cr.uid;
    c->serial = ++next_serial;
    st_accepted++;
    c->reading = true;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
      close(fd);
      free(c);
      continue;
    }
    fds_held++;
    c->next = clients;
    if (clients) clients->prev = c;
    clients = c;
    nclients++;
    ocfd_log(2, "client %llu: pid %d uid %d", (unsigned long long)c->serial, (int)cr.pid,
             (int)cr.uid);
  }
}

static void complete_one(struct job *j) {
  struct client *c = j->c;
  if (j->kind == JOB_SYM)
    sym_complete(j);
  else
    key_complete(j);
  resume(c);
}

static void drain_completions(void) {
  for (;;) {
    struct job *list = local_head;
    local_head = local_tail = NULL;
    if (list == NULL) {
      /* A push after this look is seen on the next round, or by
       * loop_sleep_begin before the loop blocks. */
      if (!atomic_load_explicit(&done_any, memory_order_relaxed)) return;
      pthread_mutex_lock(&done_lock);
      atomic_store_explicit(&done_any, false, memory_order_relaxed);
      list = done_head;
      done_head = done_tail = NULL;
      done_count = 0;
      bool timed = done_timed;
      done_woken = done_timed = false;
      pthread_mutex_unlock(&done_lock);
      if (timed && list != NULL) { /* its work is done: spare us the wake-up */
        struct itimerspec off = {{0, 0}, {0, 0}};
        timerfd_settime(done_tfd, 0, &off, NULL);
      }
      if (list == NULL) return;
    }
    for (struct job *j = list, *next; j != NULL; j = next) {
      next = j->next;
      complete_one(j);
    }
  }
}

/* --- the loop's own rhythm ------------------------------------------------- */

/* rings_take: every client's ring, once per round of the loop, so that a
 * busy daemon finds new requests without any system call. */
#define PARK_NS 2000000u /* a ring this long without requests leaves the rounds (shm.c) */
static void rings_take(void) {
  uint64_t now = nring > 0 ? now_ns() : 0;
  for (struct client *c = ring_list, *next; c != NULL; c = next) {
    next = c->rnext; /* c may close (and leave the list) */
    if (!ring_take(c)) continue;
    if (c->ring_wait && ocfw_ring_ld(c->ring, OCFW_RING_SQ_TAIL) == c->sq_head) parse(c);
    if (!c->closed && now > PARK_NS) ring_park(c, now - PARK_NS);
  }
}

/* rings_arm, before the loop blocks: every client is asked to kick us when
 * it adds requests or reads completions.  True when some ring already has
 * work for us (then the loop must not block). */
static bool rings_arm(void) {
  bool work = false;
  for (struct client *c = ring_list, *next; c != NULL; c = next) {
    next = c->rnext;
    ocfw_ring_arm(c->ring, OCFW_RING_SQ_ARMED);
    if (ring_takeable(c)) work = true;
    /* a socket message held back for the ring, which is now empty */
    if (!c->closed && c->ring_wait && ocfw_ring_ld(c->ring, OCFW_RING_SQ_TAIL) == c->sq_head)
      work = true;
  }
  return work;
}

/* Replies are moderated as completions are.  A client's output goes to the
 * socket when it holds anything but crypt completions, when nothing of the
 * client is left in the framework, when at least half as many completions
 * wait as requests are still running (a third of a full window: the client
 * refills it in batches and wakes once per batch, not per request, while
 * two thirds of its window keep the framework busy; flushing at half a
 * window measured 8 points lower at 256 in flight, the framework running
 * dry while the client was being scheduled), when
 * FLUSH_BYTES have piled up, when the oldest has waited FLUSH_USEC, and in
 * any case before the loop blocks.  FLUSH_USEC matters only while the loop
 * is busy running requests, when queueing delays dwarf it anyway. */
#define FLUSH_BYTES (256u << 10)
#define FLUSH_USEC 500u

static bool flush_due(const struct client *c, uint64_t now) {
  return c->urgent || c->inflight == 0 || 2 * c->unsent >= c->inflight ||
         out_pending(c) >= FLUSH_BYTES || now - c->dirty_ns >= FLUSH_USEC * 1000u;
}

static uint64_t last_flush_ns; /* when replies last went out while busy */

static void flush_clients(bool all) {
  uint64_t now = all ? 0 : now_ns();
  struct client *list = dirty_list, *keep = NULL;
  dirty_list = NULL;
  while (list) {
    struct client *c = list;
    list = c->dnext;
    if (!c->closed && !all && !flush_due(c, now)) {
      c->dnext = keep;
      keep = c;
      continue;
    }
    c->dirty = false;
    if (!c->closed) {
      if (!all) last_flush_ns = now;
      client_flush(c);
    }
    resume(c);
  }
  while (keep) {
    struct client *c = keep;
    keep = c->dnext;
    c->dnext = dirty_list;
    dirty_list = c;
  }
}

/* loop_sleep_begin: true when the loop may block (nothing is waiting on the
 * completion list; from now on completions wake it). */
static bool loop_sleep_begin(void) {
  if (local_head != NULL) return false; /* completions of our own to hand out */
  pthread_mutex_lock(&done_lock);
  bool ok = done_head == NULL;
  if (ok) loop_asleep = true;
  pthread_mutex_unlock(&done_lock);
  return ok;
}

static void loop_sleep_end(void) {
  pthread_mutex_lock(&done_lock);
  loop_asleep = false;
  pthread_mutex_unlock(&done_lock);
}

/* assist: with nothing else to do, the loop runs queued requests itself, one
 * at a time, for a quantum before it looks at its sockets again (ocf_poll).
 * On a machine where the workers fill every core this keeps the loop from
 * being one more thread to wake and switch to for every batch.  Right after
 * replies went out (ASSIST_WATCH_NS), a client's next batch is due: the
 * quantum is short (ASSIST_NS) so that the batch is taken in before the rest
 * of its window has run out (at 64 in flight a 50 us quantum measurably
 * starved the framework).  Otherwise nothing is expected and the quantum is
 * five times longer, which saves most of the epoll_wait calls (measured:
 * 7 of 8 alternating pairs better at 256 in flight, median 86% against 79%
 * of in-process, and no worse at 64). */
#define ASSIST_NS 10000u
#define ASSIST_WATCH_NS 200000u

/* While busy and every client has rings, the sockets are looked at every
 * EPOLL_BUSY_NS instead of on every round (measured: 45,000 epoll_wait calls
 * a second at 256 requests in flight, each costing more than a ring check). */
#define EPOLL_BUSY_NS 200000u
static uint64_t last_epoll_ns;

static bool assist(void) {
  if (cf->assist_max == 0) return false;
  uint64_t t0 = now_ns();
  uint64_t quantum = t0 - last_flush_ns < ASSIST_WATCH_NS ? ASSIST_NS : 5 * ASSIST_NS;
  bool ran = false;
  on_loop = true;
  while (ocf_poll(1, cf->assist_max) > 0) {
    ran = true;
    if (now_ns() - t0 >= quantum) break;
  }
  on_loop = false;
  return ran;
}

/* --- setup ---------------------------------------------------------------- */

static int listen_socket(const char *path, const char *group) {
  /* systemd socket activation: one stream socket on fd 3. */
  const char *lp = getenv("LISTEN_PID"), *lf = getenv("LISTEN_FDS");
  if (lp && lf && atoi(lp) == (int)getpid() && atoi(lf) == 1) {
    int fd = 3;
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    ocfd_log(1, "using the socket passed by systemd");
    return fd;
  }
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sa.sun_path)) {
    ocfd_log(0, "socket path too long: %s", path);
    return -1;
  }
  strcpy(sa.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  /* A stale socket file is removed; a live daemon on it is left alone. */
  int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe >= 0) {
    if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
      ocfd_log(0, "another daemon is listening on %s", path);
      close(probe);
      close(fd);
      return -1;
    }
    close(probe);
  }
  unlink(path);
  mode_t old = umask(0117);
  int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
  umask(old);
  if (rc != 0 || chmod(path, 0660) != 0) {
    ocfd_log(0, "bind %s: %s", path, strerror(errno));
    close(fd);
    return -1;
  }
  if (group && *group) {
    struct group *g = getgrnam(group);
    if (g == NULL || chown(path, (uid_t)-1, g->gr_gid) != 0)
      ocfd_log(0, "cannot give %s to group %s", path, group);
  }
  if (listen(fd, 1024) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Reading long messages.  A client in the middle of a message longer than
 * one read is read after the others, and all such clients together get
 * LONG_ROUND bytes a round, in turns: clients streaming megabytes do not
 * make the round long for the clients with short requests, whose next
 * request comes the round after.  (A client's share of the round is what
 * it gets when its turn comes; a message is read through in rounds of
 * LONG_ROUND at most, the socket buffer being usually smaller.) */
#define LONG_ROUND (256u << 10)
/* The other clients share SHORT_ROUND bytes a round, each at least
 * SHORT_MIN: many clients streaming requests at once make each one's share
 * small, not the round long (a message longer than the share is then read
 * as a long one). */
#define SHORT_ROUND (1u << 20)
#define SHORT_MIN (16u << 10)
static struct client *longs[256];
static int nlong;
static unsigned long_turn;

static void read_longs(void) {
  size_t left = LONG_ROUND;
  int n = nlong, start = n ? (int)(long_turn++ % (unsigned)n) : 0;
  for (int k = 0; k < n && left > 0; k++) {
    struct client *c = longs[(start + k) % n];
    if (c->closed || !c->reading) continue;
    size_t got = client_read(c, left);
    left -= got < left ? got : left;
  }
  nlong = 0;
}

/* Polling pays only when the loop has a CPU to itself: on a CPU it shares
 * (a worker on a long job, the very client it waits for), every round spent
 * polling is time taken from the thread that would give it work, and a
 * synchronous client's request waits behind it (measured on two CPUs, a
 * worker busy with 16384-bit exponentiations: 27,900 1 KB requests a second
 * polling, 40,800 blocking in epoll_wait).  So while it polls, the loop
 * reads every CONTEND_NS how long it waited on a run queue
 * (/proc/thread-self/schedstat); past CONTEND_ON of the interval it stops
 * polling for CONTEND_HOLD_NS, then tries again.  (Only while polling: a
 * loop that sleeps between requests also waits after each wake-up, which on
 * a virtual machine is no sign of a busy CPU.)  Without schedstat it always
 * may poll. */
#define CONTEND_NS 10000000ull
#define CONTEND_HOLD_NS 100000000ull
#define CONTEND_ON 8 /* one eighth of the time waiting for a CPU */
static int stat_fd = -1;
static uint64_t contend_at, contend_delay; /* the last reading (0: none yet) */
static uint64_t contend_until;             /* not polling until then */
static bool contended;

static void contend_check(uint64_t now) {
  if (stat_fd < 0) return;
  if (contended) {
    if (now < contend_until) return;
    contended = false;
    contend_at = 0; /* a fresh reading to measure from */
  }
  if (now - contend_at < CONTEND_NS) return;
  char b[96];
  ssize_t n = pread(stat_fd, b, sizeof(b) - 1, 0);
  if (n <= 0) return;
  b[n] = '\0';
  unsigned long long run, delay;
  if (sscanf(b, "%llu %llu", &run, &delay) != 2) return;
  if (contend_at != 0 && (delay - contend_delay) * CONTEND_ON > now - contend_at) {
    contended = true;
    contend_until = now + CONTEND_HOLD_NS;
  }
  contend_at = now;
  contend_delay = delay;
}

static struct ocfd_conf conf_used; /* the configuration, as start-up adjusted it */
static struct epoll_event evs[256];
static bool busy;

int ocfd_start(const struct ocfd_conf *conf) {
  conf_used = *conf;
  ocfd_conf_host(&conf_used);
  cf = &conf_used;
  clock_gettime(CLOCK_MONOTONIC, &st_start);
  max_msg = OCFW_HDR_LEN + sizeof(struct ocfw_crypt) + OCF_MAX_DESC * sizeof(struct ocfw_desc) +
            conf->max_req;
  if (max_msg < 64 * 1024) max_msg = 64 * 1024;
  signal(SIGPIPE, SIG_IGN);
  /* Blocked before the framework starts its threads, which inherit the
   * mask: the signals then reach only our signalfd, and SIGUSR1 (which
   * interrupts a refused descriptor's close, fds.c) only the closer. */
  sigset_t ss, usr;
  sigemptyset(&ss);
  sigaddset(&ss, SIGINT);
  sigaddset(&ss, SIGTERM);
  sigaddset(&ss, SIGHUP);
  sigemptyset(&usr);
  sigaddset(&usr, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &ss, NULL);
  pthread_sigmask(SIG_BLOCK, &usr, NULL);
  int workers = conf->workers;
  if (workers == 0 && conf->assist_max > 0) { /* the loop is the last CPU's worker */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    workers = ncpu > 1 ? (int)ncpu - 1 : 1;
  }
  struct ocf_init_opts io = {.workers = workers,
                             .no_soft = conf->no_soft,
                             .soft_pk_disabled = conf->soft_pk_disabled,
                             .devices = conf->devices[0] ? conf->devices : NULL,
                             .policy = conf->policy[0] ? conf->policy : NULL};
  int rc = ocf_init(&io);
  if (rc != 0) {
    ocfd_log(0, "framework: %s", ocf_errdetail());
    return 1;
  }
  sched_init(workers > 0 ? workers : (int)sysconf(_SC_NPROCESSORS_ONLN));
  sfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
  done_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  done_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  pause_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  stat_fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
  contend_at = contend_delay = contend_until = 0;
  contended = false;
  epfd = epoll_create1(EPOLL_CLOEXEC);
  lfd = listen_socket(conf->socket, conf->group);
  if (sfd < 0 || done_efd < 0 || done_tfd < 0 || pause_tfd < 0 || epfd < 0 || lfd < 0) {
    ocfd_log(0, "startup failed on %s", conf->socket);
    ocf_shutdown();
    return 1;
  }
  if ((rc = fds_init(&conf_used.max_clients)) != 0) {
    ocfd_log(0, "startup failed: %s", strerror(rc));
    ocf_shutdown();
    return 1;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &lfd};
  epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
  ev.data.ptr = &done_efd;
  epoll_ctl(epfd, EPOLL_CTL_ADD, done_efd, &ev);
  ev.data.ptr = &done_tfd;
  epoll_ctl(epfd, EPOLL_CTL_ADD, done_tfd, &ev);
  ev.data.ptr = &pause_tfd;
  epoll_ctl(epfd, EPOLL_CTL_ADD, pause_tfd, &ev);
  ev.data.ptr = &sfd;
  epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev);
  ocfd_log(1, "listening on %s (allow-soft %s, max request %zu, max clients %d)", conf->socket,
           conf->allow_soft ? "yes" : "no", conf->max_req, cf->max_clients);
  busy = false;
  return 0;
}

static void free_clients(void) {
  while (free_list) {
    struct client *c = free_list;
    free_list = c->fnext;
    budget_give(c, sizeof(*c));
    if (c->mem != 0) /* cannot happen: every charge is given back */
      ocfd_log(0, "client %llu: %zu bytes left charged", (unsigned long long)c->serial, c->mem);
    free(c->sess);
    free(c);
  }
}

bool ocfd_round(int max_sleep_ms) {
  bool stop = false;
  /* Block only with nothing to run and nothing to send.  Nor while
   * requests run or replies just went out: the clients' next requests are
   * due, and polling the rings and sockets for them costs less than the
   * wake-up (kick or message, then epoll) they need when the loop sleeps,
   * on a virtual CPU that sleeps too (measured on rings: 1.5x at 64 B,
   * 2.2-3x for 1 KB requests 8 at a time; no change at 16 KB, 64 at a
   * time; one synchronous request at a time on the socket: 2.3x, and 7x
   * with the client spinning too). */
  bool slept = false;
  if (!busy && nclients > 0 && cf->poll_us > 0) contend_check(now_ns());
  if (!busy && nclients > 0 && cf->poll_us > 0 && !contended) {
    /* While requests run, up to ten windows after the clients were last
     * active: a long request does not keep the loop spinning. */
    uint64_t quiet = now_ns() - (last_flush_ns > last_in_ns ? last_flush_ns : last_in_ns);
    uint64_t win = (uint64_t)cf->poll_us * 1000u;
    if (quiet < win ||
        (quiet < 10 * win && atomic_load_explicit(&outstanding, memory_order_relaxed) > 0))
      busy = true;
  }
  if (!busy) {
    flush_clients(true);
    slept = !rings_arm() && loop_sleep_begin();
  }
  /* While busy with clients that all submit through rings, the sockets
   * only carry control messages: look at them less often. */
  int n = 0;
  uint64_t t = busy ? now_ns() : 0;
  if (!busy || nring < nclients || t - last_epoll_ns >= EPOLL_BUSY_NS) {
    n = epoll_wait(epfd, evs, 256, slept ? max_sleep_ms : 0);
    last_epoll_ns = t;
  }
  if (slept) loop_sleep_end();
  if (n < 0) {
    if (errno == EINTR) return false;
    ocfd_log(0, "epoll_wait: %s", strerror(errno));
    return true;
  }
  int readers = 0;
  for (int i = 0; i < n; i++)
    if ((evs[i].events & EPOLLIN) && evs[i].data.ptr != &lfd && evs[i].data.ptr != &done_efd &&
        evs[i].data.ptr != &done_tfd && evs[i].data.ptr != &pause_tfd && evs[i].data.ptr != &sfd)
      readers++;
  size_t share = readers ? SHORT_ROUND / (size_t)readers : SHORT_ROUND;
  if (share < SHORT_MIN) share = SHORT_MIN;
  for (int i = 0; i < n; i++) {
    void *p = evs[i].data.ptr;
    if (p == &lfd) {
      accept_clients();
    } else if (p == &done_efd || p == &done_tfd || p == &pause_tfd) {
      uint64_t v;
      while (read(*(int *)p, &v, sizeof(v)) < 0 && errno == EINTR) {
      }
      if (p == &pause_tfd && listen_paused) listen_watch(true);
    } else if (p == &sfd) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof(si)) == sizeof(si))
        if (si.ssi_signo != SIGHUP) stop = true;
    } else {
      struct client *c = p;
      if (c->closed) continue;
      if (evs[i].events & EPOLLOUT) {
        client_flush(c);
        resume(c);
      }
      if (!c->closed && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
        if (c->reading && client_midmsg(c) && nlong < (int)(sizeof(longs) / sizeof(longs[0])))
          longs[nlong++] = c; /* after the others, below */
        else if (c->reading)
          client_read(c, share);
        else if (evs[i].events & (EPOLLHUP | EPOLLERR))
          client_close(c, "hang-up");
      }
    }
  }
  read_longs();
  rings_take(); /* before the drain: small requests complete as they are taken */
  drain_completions();
  sched_run();
  busy = assist();
  if (busy) {
    rings_take();
    drain_completions();
    sched_run();
  }
  flush_clients(false);
  fds_resume();
  budget_resume();
  free_clients();
  budget_trim();
  return stop;
}

void ocfd_finish(void) {
  ocfd_log(1, "shutting down");
  flush_clients(true);
  pthread_mutex_lock(&done_lock);
  loop_asleep = true; /* from here on, completions wake the loop again */
  pthread_mutex_unlock(&done_lock);
  close(lfd);
  if (!(getenv("LISTEN_PID"))) unlink(cf->socket);
  while (clients) client_close(clients, NULL);
  /* Let the requests in flight finish (for a while) so that their sessions
   * are freed in order; what is left completes with ECANCELED inside
   * ocf_shutdown. */
  for (int i = 0; i < 500 && st_inflight > 0; i++) {
    drain_completions();
    if (st_inflight == 0) break;
    struct epoll_event e1;
    if (epoll_wait(epfd, &e1, 1, 10) > 0 &&
        (e1.data.ptr == &done_efd || e1.data.ptr == &done_tfd)) {
      uint64_t v;
      while (read(*(int *)e1.data.ptr, &v, sizeof(v)) < 0 && errno == EINTR) {
      }
    }
  }
  ocf_shutdown();
  fw_gone = true;
  drain_completions();
  free_clients();
  job_pool_drain();
  fds_fini();
  close(epfd);
  close(done_efd);
  close(done_tfd);
  close(pause_tfd);
  close(sfd);
  if (spare_fd >= 0) close(spare_fd);
  spare_fd = -1;
  if (stat_fd >= 0) close(stat_fd);
  stat_fd = -1;
}

int ocfd_serve(const struct ocfd_conf *conf) {
  int rc = ocfd_start(conf);
  if (rc != 0) return rc;
  while (!ocfd_round(-1)) {
  }
  ocfd_finish();
  return 0;
}
