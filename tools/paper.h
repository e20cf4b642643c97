/* paper.h - `ocf bench --figure N | --table N | --paper`: the evaluation of
 * the paper (section 5), one command per figure or table. */
#ifndef OCF_TOOLS_PAPER_H
#define OCF_TOOLS_PAPER_H

struct paper_opts {
  int figure; /* 1..4, 0 = none */
  int table;  /* 1..2, 0 = none */
  int paper;  /* everything, and the Markdown report */
  int full;   /* the long version */
  int quiet;
  double seconds; /* per measurement; 0 = the mode's default */
  int workers;
  const char *devices; /* extra modeled cards for figure 1 (and check) */
  const char *json, *csv, *plot, *out;
  const char *ocfd; /* socket of a running ocfd for figure 1's daemon path */
};

/* bench_paper runs what po selects; returns the exit code (0, 1, 2). */
int bench_paper(const struct paper_opts *po);

#endif /* OCF_TOOLS_PAPER_H */
