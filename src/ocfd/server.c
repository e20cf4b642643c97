/* server.c - ocfd's event loop: one epoll thread owns every connection; the
 * framework's threads only hand completed requests back through a locked list
 * and an eventfd.  The loop never waits for a crypto request.
 *
 * Per connection: a read buffer (at most one maximal message beyond what is
 * parsed), a write buffer, a session table, shared-memory regions and a count
 * of requests in flight.  Back-pressure: when a connection has too many
 * requests in flight or too many unread reply bytes, the loop stops reading
 * from it until that drains; memory per connection stays bounded.
 *
 * Ownership: a job (one request) holds a reference on its connection, its
 * session and its shared-memory region; a closed connection is freed only
 * when its last job has come back.  Everything here uses only <ocf/ocf.h>. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
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
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <ocf/ocf.h>

#include "client/wire.h"
#include "ocfd/follow.h"
#include "ocfd/ocfd.h"

#define MAX_FDS_QUEUED 4 /* SCM_RIGHTS descriptors waiting for their SHM_REG */
#define MAX_SHM_REGIONS 64
#define READ_CHUNK (256u << 10)

struct sess {
  uint32_t ses;  /* the client's handle */
  ocf_sid_t sid; /* the framework's id; changes on migration */
  int inflight;  /* jobs holding this session */
  bool dead;     /* freed by the client while jobs were in flight */
  struct ocfw_sessinfo info;
};

struct shm {
  uint32_t id;
  uint8_t *base;
  size_t size;
  int refs; /* jobs using it */
  bool dead;
};

struct client {
  int fd;
  uint64_t serial;
  pid_t pid;
  uid_t uid;
  uint8_t *in;
  size_t inlen, incap;
  uint8_t *out;
  size_t outoff, outlen, outcap;
  struct sess **sess;
  int nsess, capsess;
  struct shm *shm[MAX_SHM_REGIONS];
  int nshm;
  size_t shm_bytes;
  int fds[MAX_FDS_QUEUED];
  int nfds;
  int inflight;
  size_t inflight_bytes;
  bool closed;                /* socket gone; waiting for jobs */
  bool reading;               /* EPOLLIN armed */
  bool writing;               /* EPOLLOUT armed */
  bool dirty;                 /* on the dirty list: has output not yet handed to send */
  bool urgent;                /* that output holds a reply other than a crypt completion */
  bool freeing;               /* on the free list */
  int unsent;                 /* crypt completions in that output */
  uint64_t dirty_ns;          /* when it became dirty */
  struct client *next, *prev; /* all live clients */
  struct client *dnext;       /* dirty list */
  struct client *fnext;       /* free list */
  /* the rings (wire.h), when the client registered them */
  uint8_t *ring;
  size_t ring_len;
  uint32_t sq_size, cq_size;
  uint64_t sq_head;     /* the next submission we take */
  uint64_t cq_tail;     /* where our next completion goes */
  uint64_t cq_pub;      /* completions published up to here */
  uint64_t cq_seen;     /* the client's head, as last checked */
  size_t cq_reserved;   /* completion bytes promised to requests in flight */
  bool ring_wait;       /* a socket message waits until the ring is taken */
  struct client *rnext; /* clients with rings */
};

enum job_kind { JOB_SYM, JOB_KEY };

struct job {
  union { /* by kind */
    struct ocf_req req;
    struct ocf_kreq kreq;
  };
  enum job_kind kind;
  struct client *c;
  struct sess *s;
  struct shm *shm;
  uint32_t tag;
  uint16_t hflags;
  uint16_t cq_res; /* came through the ring: completion bytes reserved for it */
  int tries;
  size_t len;
  uint8_t *data; /* copy path / key parameter storage, after the job; NULL: shared memory */
  struct job *next;
};

/* Jobs without data (the shared-memory path) are recycled, most recently
 * freed first: no allocator round trip per request, and the job is still in
 * this thread's cache.  Loop thread only. */
#define JOB_POOL_MAX 4096
static struct job *job_pool;
static int job_npool;

static struct job *job_new(size_t extra) {
  if (extra == 0 && job_pool != NULL) {
    struct job *j = job_pool;
    job_pool = j->next;
    job_npool--;
    /* Everything but the descriptors, which do_crypt writes in full for
     * those it uses: clearing all of them would pull most of the job's
     * lines back from the core that completed it, for nothing (measured as
     * the loop's largest cost outside libcrypto). */
    memset(&j->req, 0, offsetof(struct ocf_req, desc));
    size_t after = offsetof(struct ocf_req, callback);
    memset((uint8_t *)&j->req + after, 0, sizeof(j->req) - after);
    memset(&j->kind, 0, sizeof(*j) - offsetof(struct job, kind));
    /* The next job out of the pool comes from the other core just as well:
     * start fetching the lines this function and do_crypt write in it. */
    if (job_pool != NULL) {
      const uint8_t *n = (const uint8_t *)job_pool;
      for (size_t off = 0; off < offsetof(struct job, req.desc[1]); off += 64)
        __builtin_prefetch(n + off, 1);
      __builtin_prefetch(&job_pool->req.callback, 1);
      __builtin_prefetch(&job_pool->kind, 1);
    }
    return j;
  }
  return calloc(1, sizeof(struct job) + extra);
}

static void job_free(struct job *j) {
  /* Parameters of a public-key job may be private keys. */
  if (j->kind == JOB_KEY && j->len > 0) explicit_bzero(j->data, j->len);
  if (j->data == NULL && job_npool < JOB_POOL_MAX) {
    j->next = job_pool;
    job_pool = j;
    job_npool++;
    return;
  }
  free(j);
}

static void job_pool_drain(void) {
  while (job_pool != NULL) {
    struct job *j = job_pool;
    job_pool = j->next;
    free(j);
  }
  job_npool = 0;
}

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
/* Callbacks that ran inside ocf_dispatch on the loop thread need no lock. */
static __thread bool on_loop;
static struct job *local_head, *local_tail; /* loop thread only */

static const struct ocfd_conf *cf;
static int epfd = -1, lfd = -1, sfd = -1;
static struct client *clients;
static int nclients;
static uint64_t next_serial;
static uint32_t next_ses = 1, next_shm = 1;
static struct client *dirty_list, *free_list, *ring_list;
static int nring; /* clients on ring_list */
static size_t max_msg;
static uint64_t last_in_ns; /* when requests last came in (ring or socket) */
/* OCFW_STATS figures (loop thread only) */
static uint64_t st_accepted, st_served, st_failed, st_inflight, st_sessions, st_shm_bytes;
static struct timespec st_start;

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
static void to_framework(long n) {
  atomic_fetch_add_explicit(&outstanding, n, memory_order_relaxed);
}

static void sym_cb(struct ocf_req *r) { push_done(r->opaque); }
static void key_cb(struct ocf_kreq *k) { push_done(k->opaque); }

/* --- connection plumbing -------------------------------------------------- */

static void arm(struct client *c) {
  if (c->closed) return;
  struct epoll_event ev = {.events = (c->reading ? EPOLLIN : 0) | (c->writing ? EPOLLOUT : 0),
                           .data.ptr = c};
  if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0)
    ocfd_log(0, "epoll_ctl: %s", strerror(errno));
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void mark_dirty(struct client *c) {
  if (c->dirty || c->closed) return;
  c->dirty = true;
  c->dirty_ns = now_ns();
  c->dnext = dirty_list;
  dirty_list = c;
}

/* out_room makes room for n more bytes of output and returns where. */
static uint8_t *out_room(struct client *c, size_t n) {
  if (c->outoff > 0 && c->outoff == c->outlen) c->outoff = c->outlen = 0;
  if (c->outlen + n > c->outcap) {
    if (c->outoff > 0) {
      memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
      c->outlen -= c->outoff;
      c->outoff = 0;
    }
    if (c->outlen + n > c->outcap) {
      size_t cap = c->outcap ? c->outcap : 64 * 1024;
      while (cap < c->outlen + n) cap *= 2;
      uint8_t *p = realloc(c->out, cap);
      if (p == NULL) return NULL;
      c->out = p;
      c->outcap = cap;
    }
  }
  uint8_t *p = c->out + c->outlen;
  c->outlen += n;
  return p;
}

/* out_reserve is out_room for output that is to be sent in due course. */
static uint8_t *out_reserve(struct client *c, size_t n) {
  uint8_t *p = out_room(c, n);
  if (p != NULL) mark_dirty(c);
  return p;
}

static void reply(struct client *c, uint16_t cmd, uint16_t flags, uint32_t tag, int status,
                  const void *body, size_t blen) {
  if (c->closed) return;
  uint8_t *p = out_reserve(c, OCFW_HDR_LEN + blen);
  if (p == NULL) return;
  c->urgent = true;
  ocfw_put_hdr(p, (uint32_t)(OCFW_HDR_LEN + blen), cmd, flags, tag, status);
  if (blen) memcpy(p + OCFW_HDR_LEN, body, blen);
}

static size_t out_pending(const struct client *c) { return c->outlen - c->outoff; }

static bool throttled(const struct client *c) {
  return c->inflight >= cf->max_inflight || c->inflight_bytes >= cf->max_inflight_bytes ||
         out_pending(c) >= cf->max_outq;
}

static bool fw_gone; /* after ocf_shutdown: it freed every session itself */

static void sess_release(struct sess *s) {
  st_sessions--;
  if (!fw_gone && ocf_freesession(s->sid) != 0)
    ocfd_log(0, "freeing session %u: %s", s->ses, ocf_errdetail());
  free(s);
}

static void shm_release(struct shm *m) {
  st_shm_bytes -= m->size;
  munmap(m->base, m->size);
  free(m);
}

/* client_close drops the socket at once; the memory waits for the jobs. */
static void client_close(struct client *c, const char *why) {
  if (c->closed) return;
  ocfd_log(why ? 1 : 2, "client %llu (pid %d uid %d) closed%s%s", (unsigned long long)c->serial,
           (int)c->pid, (int)c->uid, why ? ": " : "", why ? why : "");
  c->closed = true;
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->fd = -1;
  for (int i = 0; i < c->nfds; i++) close(c->fds[i]);
  c->nfds = 0;
  for (int i = 0; i < c->nsess; i++) {
    struct sess *s = c->sess[i];
    if (s->inflight > 0)
      s->dead = true;
    else
      sess_release(s);
  }
  c->nsess = 0;
  for (int i = 0; i < c->nshm; i++) {
    if (c->shm[i]->refs > 0)
      c->shm[i]->dead = true;
    else
      shm_release(c->shm[i]);
  }
  c->nshm = 0;
  if (c->ring) {
    for (struct client **pp = &ring_list; *pp; pp = &(*pp)->rnext)
      if (*pp == c) {
        *pp = c->rnext;
        nring--;
        break;
      }
    st_shm_bytes -= c->ring_len;
    munmap(c->ring, c->ring_len);
    c->ring = NULL;
  }
  free(c->in);
  c->in = NULL;
  free(c->out);
  c->out = NULL;
  c->inlen = c->incap = c->outlen = c->outoff = c->outcap = 0;
  if (c->prev)
    c->prev->next = c->next;
  else
    clients = c->next;
  if (c->next) c->next->prev = c->prev;
  nclients--;
  if (c->inflight == 0 && !c->freeing) {
    c->freeing = true;
    c->fnext = free_list;
    free_list = c;
  }
}

static void fatal(struct client *c, int err, const char *why);

static struct ocfd_follow follow = {.cpu = -1}; /* loop thread only */

/* cq_publish makes the completions written to c's ring visible, with a kick
 * on the socket if the client said it would sleep. */
static void cq_publish(struct client *c) {
  if (c->ring == NULL || c->cq_tail == c->cq_pub) return;
  ocfw_ring_st(c->ring, OCFW_RING_CQ_TAIL, c->cq_tail);
  c->cq_pub = c->cq_tail;
  if (ocfw_ring_disarm(c->ring, OCFW_RING_CQ_ARMED)) {
    if (cf->follow &&
        ocfd_follow_kick(&follow, ocfw_ring_ld32(c->ring, OCFW_RING_CQ_CPU), now_ns()))
      ocfd_log(2, "event thread moved to CPU %d, next to client %d", sched_getcpu(), c->fd);
    uint8_t *p = out_room(c, OCFW_HDR_LEN);
    if (p != NULL)
      ocfw_put_hdr(p, OCFW_HDR_LEN, OCFW_KICK, 0, 0, 0);
    else /* no kick, the client would sleep forever */
      fatal(c, ENOMEM, "out of memory for a kick");
  }
}

static void client_flush(struct client *c) {
  if (!c->closed) cq_publish(c);
  c->unsent = 0;
  c->urgent = false;
  while (!c->closed && out_pending(c) > 0) {
    ssize_t n = send(c->fd, c->out + c->outoff, out_pending(c), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c->outoff += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!c->writing) {
        c->writing = true;
        arm(c);
      }
      return;
    }
    client_close(c, n < 0 ? strerror(errno) : "short write");
    return;
  }
  if (c->closed) return;
  c->outoff = c->outlen = 0;
  if (c->outcap > (1u << 20)) { /* give back a burst's memory */
    free(c->out);
    c->out = NULL;
    c->outcap = 0;
  }
  if (c->writing) {
    c->writing = false;
    arm(c);
  }
}

/* fatal: one OCFW_ERROR message, then the end of the connection. */
static void fatal(struct client *c, int err, const char *why) {
  reply(c, OCFW_ERROR, 0, 0, err, why, strlen(why) + 1);
  if (!c->closed) client_flush(c);
  client_close(c, why);
}

/* --- sessions ------------------------------------------------------------- */

static struct sess *sess_find(struct client *c, uint32_t ses, int *idx) {
  for (int i = 0; i < c->nsess; i++)
    if (c->sess[i]->ses == ses) {
      if (idx) *idx = i;
      return c->sess[i];
    }
  return NULL;
}

static void fill_info(struct sess *s, const struct ocfw_newsess_view *v) {
  struct ocfw_sessinfo *in = &s->info;
  memset(in, 0, sizeof(*in));
  in->ses = s->ses;
  in->hid = OCF_SID_DRIVER(s->sid);
  in->nparam = v->s.nparam;
  ocf_session_driver(s->sid, in->driver, sizeof(in->driver));
  struct ocf_driver_stat st[64];
  int n = ocf_driver_stats(st, 64);
  for (int i = 0; i < n && i < 64; i++)
    if (st[i].hid == in->hid) in->drvflags = st[i].flags;
  for (uint32_t i = 0; i < v->s.nparam; i++) {
    const struct ocf_alg_info *ai = ocf_alg_lookup((enum ocf_alg)v->p[i].alg);
    struct ocfw_alginfo *a = &in->alg[i];
    a->alg = v->p[i].alg;
    if (ai == NULL) continue;
    a->cls = ai->cls;
    a->block = (uint32_t)ai->block;
    a->ivlen = (uint32_t)(v->p[i].ivlen ? v->p[i].ivlen : ai->ivlen);
    a->maclen = (uint32_t)(v->p[i].maclen ? v->p[i].maclen : ai->maclen);
  }
}

static void do_newsession(struct client *c, const struct ocfw_hdr *h, const uint8_t *b, size_t n) {
  struct ocfw_newsess_view v;
  int rc = ocfw_dec_newsess(b, n, &v);
  if (rc == 0 && c->nsess >= cf->max_sessions) rc = ENOSPC;
  struct ocf_sessparam chain[OCF_MAX_DESC];
  if (rc == 0) {
    memset(chain, 0, sizeof(chain));
    for (uint32_t i = 0; i < v.s.nparam; i++) {
      chain[i].alg = (enum ocf_alg)v.p[i].alg;
      chain[i].key = v.key[i];
      chain[i].keylen = v.p[i].keylen;
      chain[i].maclen = v.p[i].maclen;
      chain[i].ivlen = v.p[i].ivlen;
      chain[i].level = (int)v.p[i].level;
      chain[i].next = i + 1 < v.s.nparam ? &chain[i + 1] : NULL;
    }
    unsigned flags = v.s.flags;
    if (!cf->allow_soft) flags = (flags & ~(unsigned)OCF_SESS_SWONLY) | OCF_SESS_HWONLY;
    ocf_sid_t sid;
    rc = ocf_newsession(&sid, chain, flags);
    /* cryptodevallowsoft=0: the caller should fall back to its own software. */
    if (rc == ENODEV && !cf->allow_soft) rc = EINVAL;
    if (rc == 0) {
      struct sess *s = calloc(1, sizeof(*s));
      if (s != NULL && c->nsess == c->capsess) {
        int cap = c->capsess ? 2 * c->capsess : 8;
        struct sess **p = realloc(c->sess, (size_t)cap * sizeof(*p));
        if (p != NULL) {
          c->sess = p;
          c->capsess = cap;
        }
      }
      if (s == NULL || c->nsess == c->capsess) {
        free(s);
        ocf_freesession(sid);
        rc = ENOMEM;
      } else {
        s->sid = sid;
        do s->ses = next_ses++;
        while (s->ses == 0);
        fill_info(s, &v);
        c->sess[c->nsess++] = s;
        st_sessions++;
        reply(c, h->cmd, 0, h->tag, 0, &s->info, sizeof(s->info));
      }
    }
    /* The keys sit in our read buffer: wipe them now. */
    for (uint32_t i = 0; i < v.s.nparam; i++)
      explicit_bzero((void *)(uintptr_t)v.key[i], v.p[i].keylen);
  }
  if (rc != 0) reply(c, h->cmd, 0, h->tag, rc, NULL, 0);
}

static void do_freesession(struct client *c, const struct ocfw_hdr *h, const uint8_t *b, size_t n) {
  uint32_t ses;
  int idx, rc = ocfw_dec_u32(b, n, &ses);
  struct sess *s = rc ? NULL : sess_find(c, ses, &idx);
  if (rc == 0 && s == NULL) rc = ENOENT;
  if (s != NULL) {
    c->sess[idx] = c->sess[--c->nsess];
    if (s->inflight > 0)
      s->dead = true;
    else
      sess_release(s);
  }
  reply(c, h->cmd, 0, h->tag, rc, NULL, 0);
}

/* do_cphash: cryptodev's CIOCCPHASH, a streamed digest's running state
 * copied between two of the connection's sessions (in the framework). */
static void do_cphash(struct client *c, const struct ocfw_hdr *h, const uint8_t *b, size_t n) {
  uint32_t dst, src;
  int rc = ocfw_dec_u32x2(b, n, &dst, &src);
  struct sess *d = rc ? NULL : sess_find(c, dst, NULL), *s = rc ? NULL : sess_find(c, src, NULL);
  if (rc == 0 && (d == NULL || s == NULL)) rc = ENOENT;
  if (rc == 0) rc = ocf_stream_copy(d->sid, s->sid);
  reply(c, h->cmd, 0, h->tag, rc, NULL, 0);
}

static void do_sessinfo(struct client *c, const struct ocfw_hdr *h, const uint8_t *b, size_t n) {
  uint32_t ses;
  int rc = ocfw_dec_u32(b, n, &ses);
  struct sess *s = rc ? NULL : sess_find(c, ses, NULL);
  if (rc == 0 && s == NULL) rc = ENOENT;
  if (s) {
    ocf_session_driver(s->sid, s->info.driver, sizeof(s->info.driver));
    s->info.hid = OCF_SID_DRIVER(s->sid);
    reply(c, h->cmd, 0, h->tag, 0, &s->info, sizeof(s->info));
  } else {
    reply(c, h->cmd, 0, h->tag, rc, NULL, 0);
  }
}

/* do_sesslist: the connection's live sessions, for a client that took the
 * connection over (a program exec'd with an inherited /dev/crypto). */
static void do_sesslist(struct client *c, const struct ocfw_hdr *h, size_t n) {
  if (n) {
    reply(c, h->cmd, 0, h->tag, EBADMSG, NULL, 0);
    return;
  }
  uint32_t *ids = malloc(sizeof(uint32_t) * (1 + (size_t)c->nsess));
  if (ids == NULL) {
    reply(c, h->cmd, 0, h->tag, ENOMEM, NULL, 0);
    return;
  }
  ids[0] = (uint32_t)c->nsess; /* a freed session has left the list already */
  for (int i = 0; i < c->nsess; i++) ids[1 + i] = c->sess[i]->ses;
  reply(c, h->cmd, 0, h->tag, 0, ids, sizeof(uint32_t) * (1 + (size_t)c->nsess));
  free(ids);
}

/* --- symmetric requests --------------------------------------------------- */

static struct job *pending[256]; /* built this round, dispatched as a batch */
static int npending;

static void finish_job_accounting(struct job *j) {
  struct client *c = j->c;
  st_inflight--;
  st_served++;
  c->inflight--;
  c->inflight_bytes -= j->len;
  if (j->s) {
    j->s->inflight--;
    if (j->s->dead && j->s->inflight == 0) sess_release(j->s);
  }
  if (j->shm) {
    j->shm->refs--;
    if (j->shm->dead && j->shm->refs == 0) shm_release(j->shm);
  }
  if (c->closed && c->inflight == 0 && !c->freeing) {
    c->freeing = true;
    c->fnext = free_list;
    free_list = c;
  }
}

/* cq_reserve returns where a completion of len bytes goes in c's ring
 * (room was promised when its request was taken), NULL if the ring broke. */
static uint8_t *cq_reserve(struct client *c, uint32_t len) {
  uint8_t *cq = c->ring + OCFW_RING_HDR + c->sq_size;
  long at = ocfw_ring_room(cq, c->cq_size, &c->cq_tail, c->cq_seen, len);
  if (at < 0) return NULL;
  c->cq_tail += len;
  mark_dirty(c);
  return cq + at;
}

static void sym_reply(struct job *j, int err) {
  struct client *c = j->c;
  if (err) st_failed++;
  if (c->closed) return;
  bool wantiv = (j->hflags & OCFW_F_WANTIV) && err == 0;
  bool data = !(j->hflags & (OCFW_F_SHM | OCFW_F_NODATA)) && err == 0;
  size_t ivb = wantiv ? (size_t)j->req.ndesc * OCF_MAX_IV : 0;
  size_t body = sizeof(struct ocfw_crypt_rep) + ivb + (data ? j->len : 0);
  uint8_t *p;
  if (j->cq_res) {
    c->cq_reserved -= j->cq_res;
    p = OCFW_HDR_LEN + body <= j->cq_res ? cq_reserve(c, (uint32_t)(OCFW_HDR_LEN + body)) : NULL;
    if (p == NULL) {
      fatal(c, EPROTO, "completion ring overrun");
      return;
    }
  } else if ((p = out_reserve(c, OCFW_HDR_LEN + body)) == NULL) {
    fatal(c, ENOMEM, "out of memory for a reply");
    return;
  }
  c->unsent++;
  ocfw_put_hdr(p, (uint32_t)(OCFW_HDR_LEN + body), OCFW_CRYPT, j->hflags, j->tag, err);
  struct ocfw_crypt_rep r = {(uint32_t)j->req.olen, data ? (uint32_t)j->len : 0};
  memcpy(p + OCFW_HDR_LEN, &r, sizeof(r));
  p += OCFW_HDR_LEN + sizeof(r);
  for (int i = 0; wantiv && i < j->req.ndesc; i++, p += OCF_MAX_IV)
    memcpy(p, j->req.desc[i].iv, OCF_MAX_IV);
  if (data) memcpy(p, j->data, j->len);
}

static void dispatch_pending(void) {
  int i = 0;
  on_loop = true;
  to_framework(npending);
  while (i < npending) {
    int err = 0;
    int k = ocf_dispatch_batch((struct ocf_req **)&pending[i], npending - i, &err);
    i += k;
    if (i < npending) { /* refused up front: answer it, go on with the rest */
      to_framework(-1);
      struct job *j = pending[i++];
      finish_job_accounting(j);
      sym_reply(j, err ? err : EINVAL);
      job_free(j);
    }
  }
  on_loop = false;
  npending = 0;
}

/* do_crypt takes one request; cq_res > 0 when it came through the ring,
 * with that much completion room set aside for its reply. */
static void do_crypt(struct client *c, const struct ocfw_hdr *h, const uint8_t *b, size_t n,
                     uint16_t cq_res) {
  struct ocfw_crypt_view v;
  int rc = ocfw_dec_crypt(b, n, h->flags, &v);
  /* the ring carries shared-memory requests only */
  if (rc == 0 && cq_res && (h->status != 0 || !(h->flags & OCFW_F_SHM))) rc = EINVAL;
  struct sess *s = NULL;
  struct shm *m = NULL;
  if (rc == 0 && v.c.datalen > cf->max_req) rc = EMSGSIZE;
  if (rc == 0 && (s = sess_find(c, v.c.ses, NULL)) == NULL) rc = ENOENT;
  if (rc == 0 && (h->flags & OCFW_F_SHM)) {
    for (int i = 0; i < c->nshm; i++)
      if (c->shm[i]->id == v.c.shm) m = c->shm[i];
    if (m == NULL)
      rc = EBADF;
    else if (v.c.shm_off > m->size || v.c.datalen > m->size - v.c.shm_off)
      rc = ERANGE;
  }
  struct job *j = NULL;
  if (rc == 0) {
    j = job_new(m ? 0 : v.c.datalen);
    if (j == NULL) rc = ENOMEM;
  }
  if (rc != 0) {
    struct job tmp = {.c = c, .tag = h->tag, .hflags = h->flags, .cq_res = cq_res};
    st_served++;
    sym_reply(&tmp, rc);
    return;
  }
  j->kind = JOB_SYM;
  j->c = c;
  j->s = s;
  j->shm = m;
  j->tag = h->tag;
  j->hflags = h->flags;
  j->cq_res = cq_res;
  j->len = v.c.datalen;
  if (m) {
    j->req.buf = ocf_buf_contig(m->base + v.c.shm_off, j->len);
    m->refs++;
  } else {
    j->data = (uint8_t *)(j + 1);
    memcpy(j->data, v.data, j->len);
    j->req.buf = ocf_buf_contig(j->data, j->len);
  }
  j->req.sid = s->sid;
  /* A request that finds its client with nothing in flight is most likely a
   * synchronous caller's (CIOCCRYPT through the shim), waiting for it: up to
   * assist_max it runs here, as the loop would run it between events anyway,
   * instead of waking a worker and handing the result back from it (on two
   * CPUs, 16 KB AES-CBC went from 740 to 980 MB/s). */
  bool lone = c->inflight == 0 && cf->assist_max > 0 && j->len <= cf->assist_max;
  j->req.flags = j->len <= cf->inline_max || lone ? OCF_REQ_INLINE : 0;
  j->req.ndesc = v.c.ndesc;
  for (int i = 0; i < v.c.ndesc; i++) {
    struct ocf_desc *d = &j->req.desc[i];
    d->alg = (enum ocf_alg)v.d[i].alg;
    d->flags = v.d[i].flags;
    d->skip = v.d[i].skip;
    d->len = v.d[i].len;
    d->inject = v.d[i].inject;
    d->iv_off = v.d[i].iv_off;
    d->aad_skip = v.d[i].aad_skip;
    d->aad_len = v.d[i].aad_len;
    memcpy(d->iv, v.d[i].iv, OCF_MAX_IV);
  }
  j->req.callback = sym_cb;
  j->req.opaque = j;
  s->inflight++;
  c->inflight++;
  st_inflight++;
  c->inflight_bytes += j->len;
  pending[npending++] = j;
  if (npending == (int)(sizeof(pending) / sizeof(pending[0]))) dispatch_pending();
}

static void sym_complete(struct job *j) {
  struct client *c = j->c;
  int err = j->req.error;
  /* The session migrated: the request carries its new id, which is now the
   * one to free even if the request is not retried. */
  if (err == EAGAIN) j->s->sid = j->req.sid;
  if (err == EAGAIN && !c->closed && j->tries++ < 16) {
    on_loop = true;
    to_framework(1);
    int rc = ocf_dispatch(&j->req);
    on_loop = false;
    if (rc == 0) return;
    to_framework(-1);
    err = rc;
  }
  finish_job_accounting(j);
  sym_reply(j, err);
  job_free(j);
}

/* --- public key ----------------------------------------------------------- */

static void do_key(struct client *c, const struct ocfw_hdr *h, const uint8_t *b, size_t n) {
  struct ocfw_key_view v;
  int rc = ocfw_dec_key(b, n, &v);
  struct job *j = NULL;
  if (rc == 0) {
    size_t total = 0;
    for (unsigned i = 0; i < (unsigned)v.k.iparams + v.k.oparams; i++) total += v.p[i].nbytes;
    /* +1: a key job always has a data area, even with no parameter bytes,
     * so it neither comes from the pool nor goes back to it. */
    j = job_new(total + 1);
    if (j == NULL)
      rc = ENOMEM;
    else {
      j->len = total;
      j->data = (uint8_t *)(j + 1);
    }
  }
  if (rc == 0) {
    j->kind = JOB_KEY;
    j->c = c;
    j->tag = h->tag;
    struct ocf_kreq *k = &j->kreq;
    k->op = (enum ocf_kop)v.k.op;
    k->iparams = v.k.iparams;
    k->oparams = v.k.oparams;
    uint8_t *p = j->data;
    for (int i = 0; i < k->iparams + k->oparams; i++) {
      if (i < k->iparams) memcpy(p, v.in[i], v.p[i].nbytes);
      k->param[i].p = v.p[i].nbytes ? p : NULL;
      k->param[i].nbits = i < k->iparams ? v.p[i].nbits : 8u * v.p[i].nbytes;
      p += v.p[i].nbytes;
    }
    k->callback = key_cb;
    k->opaque = j;
    c->inflight++;
    st_inflight++;
    c->inflight_bytes += j->len;
    on_loop = true;
    to_framework(1);
    rc = ocf_kdispatch(k);
    on_loop = false;
    if (rc != 0) {
      to_framework(-1);
      st_inflight--;
      c->inflight--;
      c->inflight_bytes -= j->len;
      job_free(j);
    }
  }
  if (rc != 0) {
    st_served++;
    st_failed++;
    reply(c, h->cmd, 0, h->tag, rc, NULL, 0);
  }
}

static void key_complete(struct job *j) {
  struct client *c = j->c;
  finish_job_accounting(j);
  if (j->kreq.error) st_failed++;
  if (!c->closed) {
    struct ocf_kreq *k = &j->kreq;
    int err = k->error;
    size_t body = sizeof(struct ocfw_key_rep);
    if (err == 0)
      for (int i = k->iparams; i < k->iparams + k->oparams; i++)
        body += sizeof(struct ocfw_kparam) + (k->param[i].nbits + 7) / 8;
    uint8_t *p = out_reserve(c, OCFW_HDR_LEN + body);
    if (p != NULL) {
      ocfw_put_hdr(p, (uint32_t)(OCFW_HDR_LEN + body), OCFW_KEY, 0, j->tag, err);
      struct ocfw_key_rep r = {(uint32_t)k->status, err ? 0 : (uint16_t)k->oparams, 0};
      memcpy(p + OCFW_HDR_LEN, &r, sizeof(r));
      p += OCFW_HDR_LEN + sizeof(r);
      for (int i = k->iparams; err == 0 && i < k->iparams + k->oparams; i++) {
        struct ocfw_kparam kp = {(uint32_t)k->param[i].nbits,
                                 (uint32_t)((k->param[i].nbits + 7) / 8)};
        memcpy(p, &kp, sizeof(kp));
        if (kp.nbytes) memcpy(p + sizeof(kp), k->param[i].p, kp.nbytes);
        p += sizeof(kp) + kp.nbytes;
      }
    }
  }
  job_free(j);
}

/* asymfeat: the CRF_* bits of the operations some live producer serves. */
static uint32_t asymfeat(void) {
  uint32_t feat = 0;
  struct ocf_driver_stat st[64];
  int n = ocf_driver_stats(st, 64);
  for (int i = 0; i < n && i < 64; i++) {
    enum ocf_kop ops[OCF_KOP__MAX];
    int cnt = 0;
    if (st[i].detached || ocf_driver_kops(st[i].hid, ops, NULL, OCF_KOP__MAX, &cnt) != 0) continue;
    for (int k = 0; k < cnt && k < OCF_KOP__MAX; k++)
      if (ops[k] < 32) feat |= 1u << ops[k];
  }
  return feat;
}

/* --- shared memory --------------------------------------------------------- */

/* take_fd: the descriptor that came with the current message (the oldest
 * one queued), now ours; -1 if none came. */
static int take_fd(struct client *c) {
  if (c->nfds == 0) return -1;
  int fd = c->fds[0];
  memmove(c->fds, c->fds + 1, (size_t)(--c->nfds) * sizeof(int));
  return fd;
}

/* drop_fd closes the descriptor of a message refused for its body. */
static void drop_fd(struct client *c) {
  int fd = take_fd(c);
  if (fd >= 0) close(fd);
}

/* map_region maps size bytes of the message's descriptor, provided it is a
 * memfd sealed against shrinking and fits the client's budget. */
static int map_region(struct client *c, uint64_t size, uint8_t **base) {
  int fd = take_fd(c), rc = 0;
  if (fd < 0) return EBADF;
  struct stat st;
  if (size == 0 || size > cf->max_shm || c->shm_bytes + size > cf->max_shm) rc = ENOSPC;
  if (rc == 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < size))
    rc = EINVAL;
  /* Without a shrink seal the client could truncate the file under us and
   * turn our next access into SIGBUS. */
  if (rc == 0) {
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0 || !(seals & F_SEAL_SHRINK)) rc = EPERM;
  }
  if (rc == 0) {
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
      rc = errno == ENOMEM ? ENOMEM : EINVAL;
    else
      *base = p;
  }
  close(fd);
  return rc;
}

static void do_shm_reg(struct client *c, const struct ocfw_hdr *h, const uint8_t *b, size_t n) {
  uint64_t size = 0;
  int rc = 0;
  if (n != sizeof(size))
    rc = EBADMSG;
  else
    memcpy(&size, b, sizeof(size));
  if (rc == 0 && c->nshm >= MAX_SHM_REGIONS) rc = ENOSPC;
  uint8_t *base = NULL;
  if (rc != 0)
    drop_fd(c);
  else
    rc = map_region(c, size, &base);
  struct shm *m = NULL;
  if (rc == 0 && (m = calloc(1, sizeof(*m))) == NULL) {
    munmap(base, size);
    rc = ENOMEM;
  }
  if (rc == 0) {
    m->base = base;
    m->size = size;
    m->id = next_shm++;
    c->shm[c->nshm++] = m;
    c->shm_bytes += size;
    st_shm_bytes += size;
  }
  if (rc)
    reply(c, h->cmd, 0, h->tag, rc, NULL, 0);
  else
    reply(c, h->cmd, 0, h->tag, 0, &m->id, sizeof(m->id));
}

/* do_ring_reg: a client's pair of rings (wire.h).  Our positions start at 0
 * whatever the region says. */
static void do_ring_reg(struct client *c, const struct ocfw_hdr *h, const uint8_t *b, size_t n) {
  struct ocfw_ring_reg rr = {0, 0};
  int rc = 0;
  if (n != sizeof(rr))
    rc = EBADMSG;
  else
    memcpy(&rr, b, sizeof(rr));
  uint64_t len = (uint64_t)OCFW_RING_HDR + rr.sq_size + rr.cq_size;
  if (rc == 0 && c->ring != NULL) rc = EEXIST;
  if (rc == 0 && !ocfw_ring_geom_ok(rr.sq_size, rr.cq_size, len)) rc = EINVAL;
  uint8_t *base = NULL;
  if (rc != 0)
    drop_fd(c);
  else
    rc = map_region(c, len, &base);
  if (rc == 0) {
    c->ring = base;
    c->ring_len = (size_t)len;
    c->sq_size = rr.sq_size;
    c->cq_size = rr.cq_size;
    c->sq_head = c->cq_tail = c->cq_pub = c->cq_seen = 0;
    c->cq_reserved = 0;
    ocfw_ring_st(base, OCFW_RING_SQ_HEAD, 0);
    ocfw_ring_st(base, OCFW_RING_CQ_TAIL, 0);
    c->shm_bytes += len;
    st_shm_bytes += len;
    c->rnext = ring_list;
    ring_list = c;
    nring++;
  }
  reply(c, h->cmd, 0, h->tag, rc, NULL, 0);
}

/* --- taking requests from a ring ------------------------------------------- */

#define RING_BURST 256 /* requests taken from one client per round */

/* cq_refresh reads how far the client has read its completions; a position
 * it cannot have reached ends the connection. */
static bool cq_refresh(struct client *c) {
  uint64_t head = ocfw_ring_ld(c->ring, OCFW_RING_CQ_HEAD);
  if (head - c->cq_seen > c->cq_pub - c->cq_seen) {
    fatal(c, EPROTO, "completion ring position out of range");
    return false;
  }
  c->cq_seen = head;
  return true;
}

/* cq_room: completion bytes neither unread nor promised. */
static size_t cq_room(const struct client *c) {
  size_t used = (size_t)(c->cq_tail - c->cq_seen) + c->cq_reserved;
  return used < c->cq_size ? c->cq_size - used : 0;
}

/* ring_takeable: c's submission ring holds something we would take now. */
static bool ring_takeable(struct client *c) {
  return !c->closed && ocfw_ring_ld(c->ring, OCFW_RING_SQ_TAIL) != c->sq_head && !throttled(c) &&
         cq_refresh(c) && cq_room(c) >= 2 * OCFW_RING_CQE_MAX;
}

/* ring_take takes the requests waiting in c's submission ring, as many as
 * back-pressure and fairness allow.  Each one is copied out before it is
 * decoded (the client can write the ring under us), and gets its reply's
 * room in the completion ring set aside, plus the most that padding at the
 * ring's end can waste, so completions never overrun what the client has
 * not read.  Returns false when c was closed for breaking its ring. */
static bool ring_take(struct client *c) {
  if (c->closed) return false;
  if (c->ring == NULL) return true;
  uint8_t *sq = c->ring + OCFW_RING_HDR;
  uint64_t tail = ocfw_ring_ld(c->ring, OCFW_RING_SQ_TAIL), start = c->sq_head;
  if (tail - c->sq_head > c->sq_size) {
    fatal(c, EPROTO, "submission ring position out of range");
    return false;
  }
  if (!cq_refresh(c)) return false;
  for (int k = 0; k < RING_BURST && !throttled(c); k++) {
    struct ocfw_hdr h;
    uint64_t head = c->sq_head;
    long at = ocfw_ring_next(sq, c->sq_size, &head, tail, OCFW_RING_SQE_MAX, &h);
    if (at == -1) {
      c->sq_head = head; /* past trailing padding */
      break;
    }
    uint8_t msg[OCFW_RING_SQE_MAX];
    uint32_t mlen = at >= 0 ? h.len : 0;
    if (at >= 0) {
      memcpy(msg, sq + at, mlen);
      memcpy(&h, msg, sizeof(h)); /* only the copy counts from here on */
    }
    if (at < 0 || h.cmd != OCFW_CRYPT || h.len != mlen ||
        h.len < sizeof(struct ocfw_crypt) + OCFW_HDR_LEN) {
      fatal(c, EPROTO, "broken submission ring");
      return false;
    }
    struct ocfw_crypt cr;
    memcpy(&cr, msg + OCFW_HDR_LEN, sizeof(cr));
    unsigned nd = cr.ndesc <= OCF_MAX_DESC ? cr.ndesc : OCF_MAX_DESC;
    uint16_t res = (uint16_t)(OCFW_HDR_LEN + sizeof(struct ocfw_crypt_rep) +
                              ((h.flags & OCFW_F_WANTIV) ? nd * OCF_MAX_IV : 0));
    if (cq_room(c) < (size_t)res + OCFW_RING_CQE_MAX) break; /* until the client reads */
    c->sq_head = head + h.len;
    c->cq_reserved += res;
    do_crypt(c, &h, msg + OCFW_HDR_LEN, h.len - OCFW_HDR_LEN, res);
    if (c->closed) return false;
  }
  if (c->sq_head != start) {
    ocfw_ring_st(c->ring, OCFW_RING_SQ_HEAD, c->sq_head);
    last_in_ns = now_ns();
  }
  if (npending) dispatch_pending();
  return !c->closed;
}

static void do_shm_unreg(struct client *c, const struct ocfw_hdr *h, const uint8_t *b, size_t n) {
  uint32_t id;
  int rc = ocfw_dec_u32(b, n, &id);
  if (rc == 0) {
    rc = ENOENT;
    for (int i = 0; i < c->nshm; i++) {
      struct shm *m = c->shm[i];
      if (m->id != id) continue;
      c->shm[i] = c->shm[--c->nshm];
      c->shm_bytes -= m->size;
      if (m->refs > 0)
        m->dead = true;
      else
        shm_release(m);
      rc = 0;
      break;
    }
  }
  reply(c, h->cmd, 0, h->tag, rc, NULL, 0);
}

/* --- message dispatch ------------------------------------------------------ */

static void do_drivers(struct client *c, const struct ocfw_hdr *h) {
  struct ocf_driver_stat st[64];
  int n = ocf_driver_stats(st, 64);
  if (n > 64) n = 64;
  uint8_t buf[4 + 64 * sizeof(struct ocfw_driver)];
  uint32_t cnt = 0;
  for (int i = 0; i < n; i++) {
    if (st[i].detached) continue;
    struct ocfw_driver d = {st[i].hid, st[i].flags, {0}};
    snprintf(d.name, sizeof(d.name), "%s", st[i].name);
    memcpy(buf + 4 + cnt * sizeof(d), &d, sizeof(d));
    cnt++;
  }
  memcpy(buf, &cnt, 4);
  reply(c, h->cmd, 0, h->tag, 0, buf, 4 + cnt * sizeof(struct ocfw_driver));
}

/* put_lims appends n limits to the reply being built. */
static uint8_t *put_lims(uint8_t *p, const uint32_t *ids, const size_t *max, int n) {
  for (int i = 0; i < n; i++, p += sizeof(struct ocfw_lim)) {
    struct ocfw_lim l = {ids[i], 0, max ? (uint64_t)max[i] : 0};
    memcpy(p, &l, sizeof(l));
  }
  return p;
}

/* do_stats: the daemon's figures and, per producer, what ocf_driver_stats,
 * ocf_driver_algs, ocf_driver_failed_algs and ocf_driver_kops say. */
static void do_stats(struct client *c, const struct ocfw_hdr *h) {
  enum { MAXD = 64 };
  static struct ocf_driver_stat st[MAXD];
  int n = ocf_driver_stats(st, MAXD);
  if (n > MAXD) n = MAXD;
  size_t rec = sizeof(struct ocfw_dstat) +
               (2 * (size_t)OCF_ALG__MAX + OCF_KOP__MAX) * sizeof(struct ocfw_lim);
  size_t cap = sizeof(struct ocfw_stats) + (size_t)n * rec;
  uint8_t *buf = malloc(cap);
  if (buf == NULL) {
    reply(c, h->cmd, 0, h->tag, ENOMEM, NULL, 0);
    return;
  }
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  struct ocfw_stats hd = {.ndrv = (uint32_t)n,
                          .clients = (uint32_t)nclients,
                          .accepted = st_accepted,
                          .sessions = st_sessions,
                          .inflight = st_inflight,
                          .served = st_served,
                          .failed = st_failed,
                          .shm_bytes = st_shm_bytes,
                          .uptime_ms = (uint64_t)(now.tv_sec - st_start.tv_sec) * 1000u +
                                       (uint64_t)((now.tv_nsec - st_start.tv_nsec) / 1000000)};
  snprintf(hd.policy, sizeof(hd.policy), "%s", ocf_policy_name());
  memcpy(buf, &hd, sizeof(hd));
  uint8_t *p = buf + sizeof(hd);
  for (int i = 0; i < n; i++) {
    enum ocf_alg algs[OCF_ALG__MAX], failed[OCF_ALG__MAX];
    size_t maxlen[OCF_ALG__MAX], kbits[OCF_KOP__MAX];
    enum ocf_kop kops[OCF_KOP__MAX];
    int na = 0, nf = 0, nk = 0;
    /* A producer that vanished between the calls simply shows no lists. */
    if (ocf_driver_algs(st[i].hid, algs, maxlen, OCF_ALG__MAX, &na) != 0) na = 0;
    if (ocf_driver_failed_algs(st[i].hid, failed, OCF_ALG__MAX, &nf) != 0) nf = 0;
    if (ocf_driver_kops(st[i].hid, kops, kbits, OCF_KOP__MAX, &nk) != 0) nk = 0;
    if (na > OCF_ALG__MAX) na = OCF_ALG__MAX;
    if (nf > OCF_ALG__MAX) nf = OCF_ALG__MAX;
    if (nk > OCF_KOP__MAX) nk = OCF_KOP__MAX;
    struct ocfw_dstat ds = {.hid = st[i].hid,
                            .flags = st[i].flags,
                            .sessions = st[i].sessions,
                            .requests = st[i].requests,
                            .krequests = st[i].krequests,
                            .bytes = st[i].bytes,
                            .errors = st[i].errors,
                            .migrations = st[i].migrations,
                            .queued = st[i].queued,
                            .p50_us = st[i].p50_us,
                            .p99_us = st[i].p99_us,
                            .detached = (uint32_t)st[i].detached,
                            .nalg = (uint16_t)na,
                            .nfailed = (uint16_t)nf,
                            .nkop = (uint16_t)nk};
    snprintf(ds.name, sizeof(ds.name), "%s", st[i].name);
    memcpy(p, &ds, sizeof(ds));
    p += sizeof(ds);
    uint32_t ids[OCF_ALG__MAX];
    for (int k = 0; k < na; k++) ids[k] = (uint32_t)algs[k];
    p = put_lims(p, ids, maxlen, na);
    for (int k = 0; k < nf; k++) ids[k] = (uint32_t)failed[k];
    p = put_lims(p, ids, NULL, nf);
    for (int k = 0; k < nk; k++) ids[k] = (uint32_t)kops[k];
    p = put_lims(p, ids, kbits, nk);
  }
  reply(c, h->cmd, 0, h->tag, 0, buf, (size_t)(p - buf));
  free(buf);
}

static void handle(struct client *c, const struct ocfw_hdr *h, const uint8_t *b, size_t n) {
  if (h->cmd != OCFW_CRYPT && npending) dispatch_pending(); /* keep order visible */
  if (h->status != 0 || (h->cmd != OCFW_CRYPT && h->flags != 0)) {
    reply(c, h->cmd, 0, h->tag, EINVAL, NULL, 0);
    return;
  }
  switch (h->cmd) {
    case OCFW_HELLO: {
      struct ocfw_hello hi;
      if (n != sizeof(hi)) {
        reply(c, h->cmd, 0, h->tag, EBADMSG, NULL, 0);
        break;
      }
      memcpy(&hi, b, sizeof(hi));
      if (hi.magic != OCFW_MAGIC || hi.version != OCFW_VERSION) {
        reply(c, h->cmd, 0, h->tag, EPROTONOSUPPORT, NULL, 0);
        break;
      }
      struct ocfw_hello_rep r = {OCFW_MAGIC,
                                 OCFW_VERSION,
                                 (uint32_t)cf->max_req,
                                 (uint32_t)cf->max_inflight,
                                 (uint32_t)cf->allow_soft,
                                 0};
      reply(c, h->cmd, 0, h->tag, 0, &r, sizeof(r));
      break;
    }
    case OCFW_NEWSESSION:
      do_newsession(c, h, b, n);
      break;
    case OCFW_FREESESSION:
      do_freesession(c, h, b, n);
      break;
    case OCFW_SESSINFO:
      do_sessinfo(c, h, b, n);
      break;
    case OCFW_CRYPT:
      do_crypt(c, h, b, n, 0);
      break;
    case OCFW_RING_REG:
      do_ring_reg(c, h, b, n);
      break;
    case OCFW_KICK: /* the loop looks at every ring on each round anyway */
      if (n) reply(c, h->cmd, 0, h->tag, EBADMSG, NULL, 0);
      break;
    case OCFW_KEY:
      do_key(c, h, b, n);
      break;
    case OCFW_ASYMFEAT: {
      uint32_t f = asymfeat();
      reply(c, h->cmd, 0, h->tag, n ? EBADMSG : 0, &f, n ? 0 : sizeof(f));
      break;
    }
    case OCFW_SHM_REG:
      do_shm_reg(c, h, b, n);
      break;
    case OCFW_SHM_UNREG:
      do_shm_unreg(c, h, b, n);
      break;
    case OCFW_DRIVERS:
      if (n)
        reply(c, h->cmd, 0, h->tag, EBADMSG, NULL, 0);
      else
        do_drivers(c, h);
      break;
    case OCFW_SESSLIST:
      do_sesslist(c, h, n);
      break;
    case OCFW_CPHASH:
      do_cphash(c, h, b, n);
      break;
    case OCFW_STATS:
      if (n)
        reply(c, h->cmd, 0, h->tag, EBADMSG, NULL, 0);
      else
        do_stats(c, h);
      break;
    default:
      reply(c, h->cmd, 0, h->tag, EBADRQC, NULL, 0);
      break;
  }
}

/* parse consumes whole messages from the read buffer while the client is not
 * throttled; returns false when the client was closed. */
static bool parse(struct client *c) {
  /* Requests the client put in its ring before it sent what is on the
   * socket come first: a session freed on the socket must not vanish under
   * them. */
  if (!ring_take(c) && c->closed) return false;
  c->ring_wait = false;
  size_t pos = 0;
  while (!c->closed && c->inlen - pos >= OCFW_HDR_LEN) {
    struct ocfw_hdr h;
    ocfw_get_hdr(c->in + pos, c->inlen - pos, &h);
    if (!ocfw_frame_ok(&h, max_msg)) {
      fatal(c, EMSGSIZE,
            h.len < OCFW_HDR_LEN ? "message shorter than its header"
                                 : "message longer than the daemon's limit");
      break;
    }
    if (c->inlen - pos < h.len) break;
    if (throttled(c)) break;
    if (c->ring && h.cmd != OCFW_CRYPT && h.cmd != OCFW_KICK &&
        ocfw_ring_ld(c->ring, OCFW_RING_SQ_TAIL) != c->sq_head) {
      c->ring_wait = true; /* rings_take parses again once the ring is empty */
      break;
    }
    handle(c, &h, c->in + pos + OCFW_HDR_LEN, h.len - OCFW_HDR_LEN);
    pos += h.len;
  }
  if (npending) dispatch_pending();
  if (c->closed) return false;
  if (pos > 0) {
    memmove(c->in, c->in + pos, c->inlen - pos);
    c->inlen -= pos;
  }
  bool want = !throttled(c);
  if (want != c->reading) {
    c->reading = want;
    arm(c);
  }
  return true;
}

static void client_read(struct client *c) {
  for (int round = 0; round < 8 && c->reading && !c->closed; round++) {
    /* Room for at least the message at the head of the buffer. */
    size_t need = READ_CHUNK;
    if (c->inlen >= OCFW_HDR_LEN) {
      struct ocfw_hdr h;
      ocfw_get_hdr(c->in, c->inlen, &h);
      if (ocfw_frame_ok(&h, max_msg) && h.len > need) need = h.len;
    }
    if (c->incap < need || c->incap - c->inlen < 4096) {
      size_t cap = c->incap < need ? need : c->incap;
      if (cap - c->inlen < 4096) cap = c->inlen + READ_CHUNK;
      uint8_t *p = realloc(c->in, cap);
      if (p == NULL) {
        fatal(c, ENOMEM, "out of memory");
        return;
      }
      c->in = p;
      c->incap = cap;
    }
    union {
      struct cmsghdr h;
      char buf[CMSG_SPACE(sizeof(int) * MAX_FDS_QUEUED)];
    } cm;
    struct iovec iov = {c->in + c->inlen, c->incap - c->inlen};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf)};
    ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    bool bad_fds = (mh.msg_flags & MSG_CTRUNC) != 0;
    for (struct cmsghdr *ch = CMSG_FIRSTHDR(&mh); n > 0 && ch; ch = CMSG_NXTHDR(&mh, ch)) {
      if (ch->cmsg_level != SOL_SOCKET || ch->cmsg_type != SCM_RIGHTS) continue;
      int cnt = (int)((ch->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      for (int i = 0; i < cnt; i++) {
        int fd;
        memcpy(&fd, CMSG_DATA(ch) + i * sizeof(int), sizeof(int));
        if (c->nfds < MAX_FDS_QUEUED)
          c->fds[c->nfds++] = fd;
        else {
          close(fd);
          bad_fds = true;
        }
      }
    }
    if (n <= 0) {
      client_close(c, n == 0 ? NULL : strerror(errno));
      return;
    }
    c->inlen += (size_t)n;
    last_in_ns = now_ns();
    if (bad_fds) {
      fatal(c, EPROTO, "too many descriptors passed");
      return;
    }
    if (!parse(c)) return;
    if ((size_t)n < iov.iov_len) return; /* drained the socket */
  }
}

static void accept_clients(void) {
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) ocfd_log(0, "accept: %s", strerror(errno));
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
    if (!ok || nclients >= cf->max_clients) {
      ocfd_log(1, "refusing pid %d uid %d: %s", (int)cr.pid, (int)cr.uid,
               ok ? "too many clients" : "uid not allowed");
      close(fd);
      continue;
    }
    struct client *c = calloc(1, sizeof(*c));
    if (c == NULL) {
      close(fd);
      continue;
    }
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
    c->next = clients;
    if (clients) clients->prev = c;
    clients = c;
    nclients++;
    ocfd_log(2, "client %llu: pid %d uid %d", (unsigned long long)c->serial, (int)cr.pid,
             (int)cr.uid);
  }
}

/* resume: a client throttled for its requests in flight or its unread
 * output reads again once both have drained (what it already sent is parsed
 * first; parse re-arms EPOLLIN). */
static void resume(struct client *c) {
  if (!c->closed && !c->reading && !throttled(c)) parse(c);
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
static void rings_take(void) {
  for (struct client *c = ring_list, *next; c != NULL; c = next) {
    next = c->rnext; /* c may close (and leave the list) */
    if (!ring_take(c)) continue;
    if (c->ring_wait && ocfw_ring_ld(c->ring, OCFW_RING_SQ_TAIL) == c->sq_head) parse(c);
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

static void resume(struct client *c);

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

int ocfd_serve(const struct ocfd_conf *conf) {
  cf = conf;
  clock_gettime(CLOCK_MONOTONIC, &st_start);
  max_msg = OCFW_HDR_LEN + sizeof(struct ocfw_crypt) + OCF_MAX_DESC * sizeof(struct ocfw_desc) +
            conf->max_req;
  if (max_msg < 64 * 1024) max_msg = 64 * 1024;
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  /* Blocked before the framework starts its threads, which inherit the
   * mask: the signals then reach only our signalfd. */
  sigset_t ss;
  sigemptyset(&ss);
  sigaddset(&ss, SIGINT);
  sigaddset(&ss, SIGTERM);
  sigaddset(&ss, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &ss, NULL);
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
  sfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
  done_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  done_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  lfd = listen_socket(conf->socket, conf->group);
  if (sfd < 0 || done_efd < 0 || done_tfd < 0 || epfd < 0 || lfd < 0) {
    ocfd_log(0, "startup failed on %s", conf->socket);
    ocf_shutdown();
    return 1;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &lfd};
  epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
  ev.data.ptr = &done_efd;
  epoll_ctl(epfd, EPOLL_CTL_ADD, done_efd, &ev);
  ev.data.ptr = &done_tfd;
  epoll_ctl(epfd, EPOLL_CTL_ADD, done_tfd, &ev);
  ev.data.ptr = &sfd;
  epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev);
  ocfd_log(1, "listening on %s (allow-soft %s, max request %zu)", conf->socket,
           conf->allow_soft ? "yes" : "no", conf->max_req);
  bool stop = false, busy = false;
  struct epoll_event evs[256];
  while (!stop) {
    /* Block only with nothing to run and nothing to send.  Nor while
     * requests run or replies just went out: the clients' next requests are
     * due, and polling the rings and sockets for them costs less than the
     * wake-up (kick or message, then epoll) they need when the loop sleeps,
     * on a virtual CPU that sleeps too (measured on rings: 1.5x at 64 B,
     * 2.2-3x for 1 KB requests 8 at a time; no change at 16 KB, 64 at a
     * time; one synchronous request at a time on the socket: 2.3x, and 7x
     * with the client spinning too). */
    bool slept = false;
    if (!busy && nclients > 0 && cf->poll_us > 0) {
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
      n = epoll_wait(epfd, evs, 256, slept ? -1 : 0);
      last_epoll_ns = t;
    }
    if (slept) loop_sleep_end();
    if (n < 0) {
      if (errno == EINTR) continue;
      ocfd_log(0, "epoll_wait: %s", strerror(errno));
      break;
    }
    for (int i = 0; i < n; i++) {
      void *p = evs[i].data.ptr;
      if (p == &lfd) {
        accept_clients();
      } else if (p == &done_efd || p == &done_tfd) {
        uint64_t v;
        while (read(*(int *)p, &v, sizeof(v)) < 0 && errno == EINTR) {
        }
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
          if (c->reading)
            client_read(c);
          else if (evs[i].events & (EPOLLHUP | EPOLLERR))
            client_close(c, "hang-up");
        }
      }
    }
    rings_take(); /* before the drain: small requests complete as they are taken */
    drain_completions();
    busy = assist();
    if (busy) {
      rings_take();
      drain_completions();
    }
    flush_clients(false);
    while (free_list) {
      struct client *c = free_list;
      free_list = c->fnext;
      free(c->sess);
      free(c);
    }
  }
  ocfd_log(1, "shutting down");
  flush_clients(true);
  pthread_mutex_lock(&done_lock);
  loop_asleep = true; /* from here on, completions wake the loop again */
  pthread_mutex_unlock(&done_lock);
  close(lfd);
  if (!(getenv("LISTEN_PID"))) unlink(conf->socket);
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
  while (free_list) {
    struct client *c = free_list;
    free_list = c->fnext;
    free(c->sess);
    free(c);
  }
  job_pool_drain();
  close(epfd);
  close(done_efd);
  close(done_tfd);
  close(sfd);
  return 0;
}
