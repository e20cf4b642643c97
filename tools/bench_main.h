/* bench_main.h - the case loop of `ocf bench` (bench.c) and its output
 * (bench_out.c): options, the paths a case runs through, and a row of
 * results.  A new way to measure a case is one more entry in enum path_id
 * and bench_paths[] (bench.c), and one more branch in run_path. */
#ifndef OCF_TOOLS_BENCH_MAIN_H
#define OCF_TOOLS_BENCH_MAIN_H

#include <sched.h>
#include <stdio.h>
#include <sys/types.h>

#include "bench.h"
#include "paper.h"

/* The paths a case can run through, in table / JSON / CSV order. */
enum path_id {
  P_OCF,      /* the framework, all the CPUs this process may use */
  P_DIRECT,   /* OpenSSL EVP in the consumer threads (on the same-core CPU) */
  P_OCF1,     /* the framework with every thread on the same-core CPU */
  P_DEV_SYNC, /* through ocfd: one request at a time, data copied */
  P_DEV_ASYNC,
  P_DEV_SHM,
  P_DEV_CDEV, /* a /dev/crypto program under the preload shim, CIOCCRYPT */
  NPATH
};
#define ONLY_DEV 100 /* opts.only: ONLY_DEV + a daemon path (P_DEV_SYNC...) */

struct path_info {
  const char *name;  /* "path" in JSON and CSV */
  const char *title; /* in the tables */
  int base;          /* the path its ratio is relative to, or -1 */
};
extern const struct path_info bench_paths[NPATH];

struct opts {
  struct bench_params p;
  const char *algs, *sizes, *json, *csv, *plot, *devices, *policy;
  int workers, quiet, list, verify, rounds;
  struct paper_opts paper; /* --figure / --table / --paper */
  int seconds_set;
  int only; /* 0 all paths, 1 framework only, 2 direct only, ONLY_DEV + k: path k of ocfd only */
  int via_ocfd;     /* measure through the daemon too */
  const char *ocfd; /* its socket (NULL with via_ocfd: a private daemon) */
  pid_t priv_pid;   /* the private daemon */
  char priv_dir[64], priv_sock[128];
  /* CPUs: all those this process may use, and the one the same-core
   * measurements pin every thread to (-1: no same-core measurement) */
  cpu_set_t all;
  int ncpus, same_cpu, no_same_core;
  int workers_eff;   /* framework worker threads actually configured */
  int active[NPATH]; /* the paths this run measures */
};

struct row {
  const struct bench_case *c;
  size_t size;
  int verified; /* 1 ok, 0 not checked, -1 mismatch */
  int skipped, failed;
  char note[320];
  struct bench_result res[NPATH];
  /* per path: median over the rounds of the round's rate ratio to its base
   * path (NAN when not measured) */
  double ratio[NPATH];
  double daemon_cpu[NPATH]; /* the private ocfd's CPU seconds, dev paths (-1 unknown) */
};

/* the same-core path of a row: P_OCF1 when measured, P_OCF when this process
 * may only use one CPU anyway, else -1 */
int bench_same_core_path(const struct opts *o);
/* rate ratio of path k to its base (NAN when either is missing) */
double bench_ratio(const struct row *r, int k);
/* (ops per CPU second of path k) / (ops per CPU second of direct) */
double bench_eff(const struct row *r, const struct opts *o, int k);
/* path k's CPU seconds, a private daemon's included (daemon_cpu < 0: the
 * daemon's CPU time is not known, only this process's counts) */
double bench_cpu_of(const struct row *r, int k);

/* bench_out.c */
void bench_print_table(FILE *f, const struct opts *o, const struct row *rows, int nrows);
void bench_print_dev_table(FILE *f, const struct opts *o, const struct row *rows, int nrows);
int bench_write_json(const char *path, const struct row *rows, int nrows, const struct opts *o);
int bench_write_csv(const char *path, const struct row *rows, int nrows, const struct opts *o);
int bench_plot_rows(const char *dir, const struct row *rows, int nrows, const struct opts *o);

#endif /* OCF_TOOLS_BENCH_MAIN_H */
