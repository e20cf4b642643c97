/* hostile.h - clients that attack ocfd, and a well-behaved one that measures
 * what is left for it.  Shared by ocfd-hostile (the measurement, see
 * docs/bench/hostile.md) and tests/test_ocfd_hostile.c (the bounds).
 *
 * Each attack runs in a child process (hostile_start) until it is killed
 * (hostile_stop) or, for the attacks that end by themselves, until it is
 * done; it reports its progress in a struct hostile_report in memory shared
 * with the parent. */
#ifndef OCF_TOOLS_HOSTILE_H
#define OCF_TOOLS_HOSTILE_H

#include <stdint.h>
#include <sys/types.h>

enum hostile_attack {
  /* a ring client whose completion ring is full and whose submission ring
   * still holds a request sends a control message, then streams bytes */
  HOSTILE_RING_STALL,
  /* passes loopback TCP sockets with unsent data and a long SO_LINGER
   * (and other descriptors the protocol does not use), one per connection */
  HOSTILE_LINGER_FD,
  /* many connections, each registering as many small regions as it may */
  HOSTILE_MAPS,
  /* one connection registering regions and unregistering them while the
   * requests on them wait */
  HOSTILE_MAPS_CHURN,
  /* 16384-bit modular exponentiations queued as fast as the daemon takes
   * them */
  HOSTILE_PK,
  /* the same, thirty of them, then the client leaves */
  HOSTILE_PK_LEAVE,
  /* connections that each send most of a maximal request and stop */
  HOSTILE_HALF_SENT,
  /* connections that send requests and never read the replies */
  HOSTILE_NO_READ,
  /* connections that open sessions until refused */
  HOSTILE_SESSIONS,
  /* connections opened and held until refused */
  HOSTILE_CONNECT,
  HOSTILE__MAX
};

/* hostile_name: a short name for the attack (the command line's). */
const char *hostile_name(enum hostile_attack a);

/* HOSTILE_ENDED is set in a refusal's status when the daemon ended the
 * connection, with the errno of its OCFW_ERROR (ECONNRESET when it just
 * closed, ETIMEDOUT after 10 s of silence). */
#define HOSTILE_ENDED 0x10000

/* hostile_report - what the attacker did so far (shared memory). */
struct hostile_report {
  volatile uint64_t sent;    /* bytes the daemon took from us (streaming attacks) */
  volatile uint64_t ok;      /* attack steps the daemon accepted */
  volatile uint64_t refused; /* attack steps the daemon refused */
  volatile uint64_t errs[8]; /* the first refusals' statuses (errno | HOSTILE_ENDED) */
  volatile int ready;        /* the attack is in place (it may go on) */
  volatile int done;         /* the attack is over and it holds on */
  volatile int fail;         /* the attack could not be set up: an errno */
};

struct hostile_opts {
  int conns;      /* connections for the multi-connection attacks (0: a default) */
  uint64_t limit; /* streaming attacks stop after this many bytes (0: a default) */
  int linger_s;   /* HOSTILE_LINGER_FD: the sockets' SO_LINGER (0: 10 s) */
  size_t max_req; /* the daemon's --max-request (0: 16M) */
};

/* hostile_report_new maps a report the parent and a child both see. */
struct hostile_report *hostile_report_new(void);
void hostile_report_free(struct hostile_report *r);

/* hostile_start runs attack a against the daemon on sock in a new process. */
pid_t hostile_start(const char *sock, enum hostile_attack a, const struct hostile_opts *o,
                    struct hostile_report *rep);

/* hostile_stop kills the attacker and waits for it. */
void hostile_stop(pid_t pid);

/* hostile_wait waits up to timeout_s for rep->ready (which = 0) or
 * rep->done (which = 1); returns 0, or ETIMEDOUT (or rep->fail). */
int hostile_wait(struct hostile_report *rep, int which, double timeout_s);

/* hostile_probe: a well-behaved client in a child process connects, opens
 * an AES-128-GCM session and seals 1 KB; returns the seconds it took, or -1
 * when it failed or took longer than timeout_s (the child is then killed). */
double hostile_probe(const char *sock, double timeout_s);

/* hostile_lat - synchronous AES-128-GCM 1 KB requests on one connection. */
struct hostile_lat {
  long n;      /* requests completed */
  long errors; /* requests that failed */
  double rate; /* per second */
  double p50_us, p99_us, max_us;
  double sleeps; /* the client's voluntary context switches per request */
};

/* hostile_measure runs them for seconds on a new connection and fills *r;
 * 0 or an errno. */
int hostile_measure(const char *sock, double seconds, struct hostile_lat *r);

/* The same on a connection opened beforehand (before an attack that fills
 * the daemon's connections, say). */
struct hostile_client;
int hostile_client_open(const char *sock, struct hostile_client **out);
int hostile_client_measure(struct hostile_client *cl, double seconds, struct hostile_lat *r);
void hostile_client_close(struct hostile_client *cl);

/* Process figures from /proc: resident set (KB), mappings, CPU ticks
 * (user + system), open descriptors; -1 on error. */
long hostile_rss_kb(pid_t pid);
long hostile_maps(pid_t pid);
long hostile_memfd_maps(pid_t pid); /* the mappings of memfds (regions, rings) */
long hostile_cpu_ticks(pid_t pid);
long hostile_nfds(pid_t pid);

#endif /* OCF_TOOLS_HOSTILE_H */
