/* ocfd.h - the daemon's configuration and entry point, shared by main.c
 * (options, config file) and server.c (the event loop). */
#ifndef OCF_OCFD_OCFD_H
#define OCF_OCFD_OCFD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* OCFD_DEFAULT_SOCKET is used when neither -s nor $OCF_SOCKET is given. */
#define OCFD_DEFAULT_SOCKET "/run/ocfd/ocfd.sock"

#define OCFD_MAX_UIDS 32

struct ocfd_conf {
  char socket[108];     /* listening socket path */
  char group[64];       /* group owning the socket ("" = the daemon's) */
  int workers;          /* framework worker threads, 0 = CPUs */
  char devices[256];    /* modeled devices for ocf_init ("" = $OCF_DEVICES) */
  char policy[32];      /* balancing policy ("" = default) */
  int no_soft;          /* do not attach the software producer */
  int soft_pk_disabled; /* software producer refuses public-key work */
  int allow_soft;       /* kern.cryptodevallowsoft: clients may use software */
  size_t max_req;       /* longest data buffer of one request */
  int max_inflight;     /* requests in flight per client before back-pressure */
  size_t max_inflight_bytes;
  size_t max_outq; /* unread reply bytes per client before back-pressure */
  int max_work_ms; /* estimated worker time of a client's queued and running requests */
  int max_clients;
  int max_sessions;     /* per client */
  size_t max_shm;       /* shared-memory bytes per client */
  int max_maps;         /* regions and rings mapped, daemon-wide (0: half of vm.max_map_count) */
  size_t max_shm_total; /* shared-memory bytes mapped, daemon-wide (0: a quarter of RAM) */
  size_t max_memory;    /* the daemon's own memory for clients (0: a quarter of RAM) */
  size_t inline_max;    /* requests up to this size run on the loop thread */
  size_t assist_max;    /* the loop runs queued requests up to this size when idle; 0 = never */
  int poll_us;          /* ring clients: the loop polls instead of sleeping this long after
                         * replies went out (and while requests run); 0 = never */
  int follow;           /* the event thread moves next to ring clients it keeps waking on
                         * another CPU (follow.h) */
  int verbose;          /* 0 errors, 1 connections, 2 debug */
  int nuids;            /* if > 0, only these peer uids (and root, and ours) */
  uid_t uids[OCFD_MAX_UIDS];
};

/* ocfd_conf_defaults fills c with the documented defaults. */
void ocfd_conf_defaults(struct ocfd_conf *c);

/* ocfd_conf_host sizes the daemon-wide limits left at 0 to this host. */
void ocfd_conf_host(struct ocfd_conf *c);

/* ocfd_conf_set applies one "key = value" setting (config file syntax,
 * also used for the long options).  Returns 0 or EINVAL. */
int ocfd_conf_set(struct ocfd_conf *c, const char *key, const char *val);

/* ocfd_conf_file reads a config file of "key = value" lines ('#' comments). */
int ocfd_conf_file(struct ocfd_conf *c, const char *path);

/* ocfd_serve runs the daemon until SIGINT / SIGTERM; returns an exit code. */
int ocfd_serve(const struct ocfd_conf *c);

/* ocfd_serve in three steps, for a program that drives the loop itself (the
 * stateful fuzz target): ocfd_start sets up (0, or an exit code);
 * ocfd_round runs one round of the loop, sleeping at most max_sleep_ms
 * (-1: until something happens) when there is nothing to do, and returns
 * true on SIGINT / SIGTERM; ocfd_finish ends every connection and shuts
 * the framework down. */
int ocfd_start(const struct ocfd_conf *c);
bool ocfd_round(int max_sleep_ms);
void ocfd_finish(void);

/* ocfd_log writes one line to stderr when level <= the configured verbosity. */
void ocfd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ocfd_ratelimit / ocfd_log_every: ocfd_log at most once a second per
 * limit; the next line that goes out says how many were left out. */
struct ocfd_ratelimit {
  long long last_s;
  unsigned long dropped;
};
void ocfd_log_every(struct ocfd_ratelimit *rl, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
extern int ocfd_verbose;

#endif /* OCF_OCFD_OCFD_H */
