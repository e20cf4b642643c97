/* server.h - the daemon's insides, shared by its files:
 *   server.c  the event loop: completions coming back, replies going out,
 *             accepting clients, start-up and shut-down
 *   conn.c    one connection: reading and parsing messages, writing
 *             replies, closing
 *   req.c     requests: sessions, symmetric and public-key jobs
 *   shm.c     shared-memory regions and rings
 *   stats.c   introspection replies (statistics, producers)
 * Everything here runs on the event thread unless a comment says otherwise;
 * the framework's threads only call push_done. */
#ifndef OCF_OCFD_SERVER_H
#define OCF_OCFD_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <ocf/ocf.h>

#include "client/idtab.h"
#include "client/wire.h"
#include "ocfd/ocfd.h"

#define MAX_FDS_QUEUED 2 /* SCM_RIGHTS descriptors waiting for their SHM_REG */
#define SCM_MAX_FD 253   /* the most descriptors one message can carry (Linux) */
#define FD_SPARE 64      /* descriptors kept free beyond the budgeted ones */
#define MAX_SHM_REGIONS 64
#define READ_CHUNK (256u << 10)
#define RING_BURST 256 /* requests taken from one client per round */

#define SESS_CHARGE 4096 /* a session's memory, framework and producer included (about) */

struct sess {
  struct client *owner; /* charged for it until it is released */
  uint32_t ses;         /* the client's handle */
  ocf_sid_t sid;        /* the framework's id; changes on migration */
  int idx;              /* in owner->sess, while listed there */
  int inflight;         /* jobs holding this session */
  bool dead;            /* freed by the client while jobs were in flight */
  struct ocfw_sessinfo info;
};

struct shm {
  uint32_t id;
  uint8_t *base;
  size_t size;
  int refs;             /* jobs using it */
  bool dead;            /* unregistered (or its client gone) while jobs used it */
  struct client *owner; /* charged for it until it is unmapped */
  size_t warm;          /* the first warm bytes are populated (shm_warm) */
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
  bool out_secret;    /* out holds public-key results: wiped once sent */
  struct sess **sess; /* the live sessions, in no order */
  int nsess, capsess;
  struct idtab stab;                /* the same by id (req.c) */
  struct shm *shm[MAX_SHM_REGIONS]; /* registered regions */
  int nshm;
  /* Mapped for this client until really unmapped: registered regions,
   * unregistered ones that requests still use, and the rings. */
  int nmapped;      /* regions, rings not included */
  size_t shm_bytes; /* bytes, rings included */
  int fds[MAX_FDS_QUEUED];
  int nfds;
  int inflight;
  size_t inflight_bytes;
  size_t mem;                 /* charged to the memory budget (budget.c) */
  bool mem_wait;              /* throttled by it */
  bool closed;                /* socket gone; waiting for jobs */
  bool fd_wait;               /* not read until the daemon has descriptors to spare */
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
  uint64_t sq_head;             /* the next submission we take */
  uint64_t cq_tail;             /* where our next completion goes */
  uint64_t cq_pub;              /* completions published up to here */
  uint64_t cq_seen;             /* the client's head, as last checked */
  size_t cq_reserved;           /* completion bytes promised to requests in flight */
  bool ring_wait;               /* a socket message waits until the ring is taken */
  bool ring_parked;             /* quiet: off ring_list, its client kicks us (shm.c) */
  uint64_t ring_busy_ns;        /* when its ring last had requests for us */
  struct client *rnext, *rprev; /* ring_list */
  /* the scheduler (sched.c) */
  struct job *qhead, *qtail; /* requests not handed to the framework yet */
  uint64_t cost;             /* estimated cost of its requests queued and running */
  int64_t deficit;           /* deficit round robin */
  bool active;               /* on the scheduler's list: qhead != NULL */
  uint64_t big_since;        /* its next request, a long one, waits since */
  struct client *anext;
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
  uint8_t *data;    /* copy path / key parameter storage, after the job; NULL: shared memory */
  struct job *next; /* the client's queue (sched.c), then the completion lists */
  uint64_t cost;    /* estimated worker time, ns (sched.c) */
  uint32_t wcost;   /* its charge on the window */
  uint8_t big;      /* occupies a worker for long */
  uint8_t handed;   /* given to the framework */
  size_t charge;    /* on the memory budget, for its client */
  size_t resv;      /* of which the room its reply will take, until written */
};

/* --- shared state (event thread) ------------------------------------------ */
extern const struct ocfd_conf *cf;
extern int epfd;
extern struct client *clients;
extern int nclients;
extern struct client *dirty_list, *free_list, *ring_list;
extern int nring; /* clients on ring_list: rings looked at every round */
extern size_t max_msg;
extern uint64_t last_in_ns; /* when requests last came in (ring or socket) */
extern bool fw_gone;        /* after ocf_shutdown: it freed every session itself */
/* OCFW_STATS figures */
extern uint64_t st_accepted, st_served, st_failed, st_inflight, st_sessions, st_shm_bytes;
extern uint64_t st_maps; /* regions and rings mapped (max-maps) */
extern struct timespec st_start;
/* on_loop: this thread is the event thread inside a framework call, so a
 * completion callback running here needs no lock (server.c). */
extern __thread bool on_loop;

static inline uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline size_t out_pending(const struct client *c) { return c->outlen - c->outoff; }

bool budget_heavy(const struct client *c);

static inline bool throttled(const struct client *c) {
  return c->inflight >= cf->max_inflight || c->inflight_bytes >= cf->max_inflight_bytes ||
         out_pending(c) >= cf->max_outq || c->cost >= (uint64_t)cf->max_work_ms * 1000000u ||
         c->mem_wait || budget_heavy(c);
}

/* --- server.c --------------------------------------------------------------- */
void to_framework(long n); /* counts n jobs about to be handed to the framework */
void sym_cb(struct ocf_req *r);
void key_cb(struct ocf_kreq *k);

/* --- conn.c ----------------------------------------------------------------- */
void arm(struct client *c);
void mark_dirty(struct client *c);
uint8_t *out_room(struct client *c, size_t n);
uint8_t *out_reserve(struct client *c, size_t n);
void reply(struct client *c, uint16_t cmd, uint16_t flags, uint32_t tag, int status,
           const void *body, size_t blen);
void client_close(struct client *c, const char *why);
void client_flush(struct client *c);
void fatal(struct client *c, int err, const char *why);
bool parse(struct client *c);
/* client_read reads what c sent, up to about budget bytes, and handles the
 * whole messages; returns the bytes read. */
size_t client_read(struct client *c, size_t budget);
/* client_midmsg: c is in the middle of a message longer than one read. */
bool client_midmsg(const struct client *c);
void resume(struct client *c);

/* --- req.c ------------------------------------------------------------------ */
struct job *job_new(struct client *c, size_t extra, size_t resv);
void job_free(struct job *j);
void job_pool_drain(void);
void sess_release(struct sess *s);
void sess_forget_all(struct client *c); /* the table by id, once the sessions are gone */
void do_newsession(struct client *c, const struct ocfw_hdr *h, const uint8_t *b, size_t n);
void do_freesession(struct client *c, const struct ocfw_hdr *h, const uint8_t *b, size_t n);
void do_sessinfo(struct client *c, const struct ocfw_hdr *h, const uint8_t *b, size_t n);
void do_cphash(struct client *c, const struct ocfw_hdr *h, const uint8_t *b, size_t n);
void do_sesslist(struct client *c, const struct ocfw_hdr *h, size_t n);
void do_crypt(struct client *c, const struct ocfw_hdr *h, const uint8_t *b, size_t n,
              uint16_t cq_res);
void do_key(struct client *c, const struct ocfw_hdr *h, const uint8_t *b, size_t n);
extern int npending; /* requests built this round, not yet dispatched */
void dispatch_pending(void);
void hand_sym(struct job *j);   /* to the framework (with the next batch) */
void hand_key(struct job *j);   /* to the framework now */
void cancel_job(struct job *j); /* a queued job of a client that left */
void sym_complete(struct job *j);
void key_complete(struct job *j);

/* --- shm.c ------------------------------------------------------------------ */
void shm_release(struct shm *m); /* unmaps a region no job uses any more */
/* shm_warm populates what a request will touch of m, [off, off + len),
 * before a worker does (shm.c). */
void shm_warm(struct shm *m, uint64_t off, size_t len);
void ring_release(struct client *c);
void do_shm_reg(struct client *c, const struct ocfw_hdr *h, const uint8_t *b, size_t n);
void do_shm_unreg(struct client *c, const struct ocfw_hdr *h, const uint8_t *b, size_t n);
void do_ring_reg(struct client *c, const struct ocfw_hdr *h, const uint8_t *b, size_t n);
bool ring_take(struct client *c);
bool ring_takeable(struct client *c);
/* ring_park takes c's ring off the rounds when it has been quiet since
 * before quiet_ns (armed: its client kicks us on its next submission);
 * ring_unpark, on that kick, puts it back.  True when parked. */
bool ring_park(struct client *c, uint64_t quiet_ns);
void ring_unpark(struct client *c);
uint8_t *cq_reserve(struct client *c, uint32_t len);
void cq_publish(struct client *c);

/* --- budget.c --------------------------------------------------------------- */
extern size_t mem_used; /* charged, all clients */
/* budget_take charges n bytes for c (NULL: the daemon) when the budget
 * allows them, logging a refusal otherwise. */
bool budget_take(struct client *c, size_t n, const char *what);
bool budget_room(size_t n, const char *what); /* n would fit (for a newcomer) */
bool budget_heavy(const struct client *c);    /* c holds much, and the budget is spent */
void budget_wait(struct client *c);           /* c is not read until budget_resume */
void budget_resume(void);
void budget_trim(void); /* returns freed memory to the system after a large drop */
void budget_force(struct client *c, size_t n); /* charged whatever the budget */
void budget_give(struct client *c, size_t n);

/* --- sched.c ---------------------------------------------------------------- */
void sched_init(int workers); /* the framework's worker threads */
/* sched_submit takes a built and counted job: handed to the framework now,
 * or queued for sched_run. */
void sched_submit(struct client *c, struct job *j);
void sched_run(void);              /* hands over queued jobs while the window has room */
void sched_done(struct job *j);    /* j is back (or dropped) */
void sched_drop(struct client *c); /* c left: its queued jobs are cancelled */

/* --- fds.c ------------------------------------------------------------------ */
extern int fds_held; /* client sockets and passed memfds the daemon holds */
/* fds_init raises RLIMIT_NOFILE to its hard limit, lowers *max_clients to
 * what it allows (with a log line), and starts the closer thread. */
int fds_init(int *max_clients);
void fds_fini(void);
/* fd_check: 0 when a passed descriptor is shared memory (a memfd), which the
 * event thread may map and close; EBADF otherwise. */
int fd_check(int fd);
/* fd_reject hands a refused descriptor to the closer thread (it owns it). */
void fd_reject(int fd);
/* fds_room: n more descriptors, and then one message's worth, would fit. */
bool fds_room(int n);
/* fds_wait stops reading c until fds_resume finds room again. */
void fds_wait(struct client *c);
void fds_resume(void);

/* --- stats.c ---------------------------------------------------------------- */
void do_drivers(struct client *c, const struct ocfw_hdr *h);
void do_stats(struct client *c, const struct ocfw_hdr *h);
uint32_t asymfeat(void);

#endif /* OCF_OCFD_SERVER_H */
