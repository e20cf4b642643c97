/* paper.h - `ocf bench --figure N | --table N | --experiment NAME | --paper`:
 * the evaluation of the paper (section 5) and the experiments beyond it, one
 * command each. */
#ifndef OCF_TOOLS_PAPER_H
#define OCF_TOOLS_PAPER_H

struct paper_opts {
  int figure; /* 1..4, 0 = none */
  int table;  /* 1..2, 0 = none */
  /* "hetero" (capacity vs sessions over a mixed set of producers) or
   * "dedicated" (the cpu producer vs inline software, one consumer thread);
   * NULL = none */
  const char *experiment;
  int paper; /* everything, and the Markdown report */
  int full;  /* the long version */
  int quiet;
  double seconds; /* per measurement; 0 = the mode's default */
  int workers;
  const char *devices; /* extra modeled cards for figure 1 (and check) */
  const char *json, *csv, *plot, *out;
  const char *ocfd; /* socket of a running ocfd for figure 1's daemon path */
};

/* bench_paper runs what po selects; returns the exit code (0, 1, 2). */
int bench_paper(const struct paper_opts *po);

/* paper_experiment_ok tells whether name is a known --experiment. */
int paper_experiment_ok(const char *name);

#ifdef OCF_PAPER_INTERNAL
/* --- shared between paper.c and paper_extra.c ------------------------------ */
#include <stdio.h>

#include <ocf/pk.h>

#include "bench.h"
#include "plot.h"

struct point {
  char exp[12];    /* "fig1" .. "fig4", "table1", "table2", "hetero", "dedic" */
  char series[64]; /* legend entry */
  char alg[32];
  size_t size; /* bytes, or modulus bits for public key */
  int threads;
  int window;    /* requests in flight per consumer thread (0: not recorded) */
  char path[16]; /* "ocf", "direct", "ocfd", "hog" */
  char producer[64];
  char mode[8]; /* modeled cards: "exact" / "timing" / "mixed"; "" = real */
  double mbps, ops_per_s, p50_us, p99_us;
  double hog_s;     /* figure 4: the hog's elapsed time */
  double paper;     /* the paper's figure for this cell, NAN if none */
  double peak_mbps; /* modeled aggregate peak (or the measured capacity the
                       experiment compares with), NAN if none */
  double peak_ops;  /* the same for public-key operations per second */
  double cpu_cores; /* process CPU time / elapsed time, NAN if not taken */
  double vs_direct; /* figures 2-3: median ratio to OpenSSL over paired rounds */
};

struct results {
  struct point *v;
  int n, cap;
};

struct run {
  const struct paper_opts *po;
  struct results res;
  int progress; /* a terminal is watching */
  double secs;  /* per measurement */
  const char *plotdir;
  char notes[24][320];
  int nnotes;
  int failed;
};

struct point *pap_add_point(struct results *r, const char *exp);
void pap_note(struct run *R, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pap_progress(struct run *R, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pap_progress_done(struct run *R);
/* pap_setup restarts the framework with devices (NULL: none), without the
 * software producer if no_soft, under policy (NULL: sessions). */
int pap_setup(struct run *R, const char *devices, int no_soft, const char *policy);
int pap_resolve(const char *producer, struct bench_params *p);
/* pap_measure: asynchronous windows (bench_run_ocf) or direct OpenSSL;
 * pap_measure_sync: each thread blocks in ocf_run. */
int pap_measure(const struct bench_case *c, size_t size, const struct bench_params *p, int direct,
                struct bench_result *r);
int pap_measure_sync(const struct bench_case *c, size_t size, const struct bench_params *p,
                     struct bench_result *r);
void pap_fill_point(struct point *pt, const char *series, const struct bench_case *c, size_t size,
                    int threads, const char *path, const struct bench_result *r);
void pap_fmt(char *b, size_t n, double v, int prec);
int pap_draw(struct run *R, struct plot *pl);
/* The paper's algorithms for figure 1, and the rows (threads) and columns
 * (bytes) of tables 1 and 2 (paper.c). */
extern const char *const fig1_algs[5];
extern const int tab_threads[5];
extern const size_t tab_sizes[6];

/* requests in flight for the "many in flight" series of figures 2 and 3: a
 * card's whole public-key ring (16) and then some, held by the framework */
enum { PK_WINDOW = 24 };
/* rounds of the paired software / OpenSSL measurement */
#define ROUNDS_PK 6

/* pap_kop_max: does some producer serve op, and up to how many bits (0 =
 * any)? (paper_rsa.c) */
int pap_kop_max(enum ocf_kop op, size_t *max_bits);

/* rsa_req - a public-key request with room for its parameters (figures 2
 * to 4); w: the window it belongs to (paper_rsa.c), if any. */
struct kwin;
struct rsa_req {
  struct ocf_kreq k, tmpl; /* tmpl: the filled request, to resubmit from */
  uint8_t buf[7][512];
  struct kwin *w;
};

/* the figures in their own files (paper_rsa.c, paper_hog.c) */
void pap_figure23(struct run *R, int want2, int want3);
void pap_figure4(struct run *R);
/* output (paper_out.c) */
void pap_print_all(FILE *f, const struct run *R, int md);
int pap_write_json(const char *path, const struct results *res);
int pap_write_csv(const char *path, const struct results *res);
int pap_plots(struct run *R);
int pap_report(struct run *R, const char *path, const char *imgrel);
double pap_cpu_seconds(void); /* process user + system CPU seconds */

/* paper_extra.c */
void pap_hetero(struct run *R);
void pap_dedicated(struct run *R);
void pap_print_hetero(FILE *f, const struct results *res, int md);
void pap_print_dedicated(FILE *f, const struct results *res, int md);
int pap_plot_extra(struct run *R);
#endif /* OCF_PAPER_INTERNAL */

#endif /* OCF_TOOLS_PAPER_H */
