/* diffcase.h - the machinery of the differential test (test_diff.c): a
 * case is a session and a request over random data; diff_run_check runs it
 * through the framework under one buffer layout and compares the result
 * with the reference computation of ref.c byte for byte.  Each category of
 * test_diff.c draws its random numbers from diff_rng, seeded per category
 * by diff_begin, and counts into the statistics diff_end checks. */
#ifndef OCF_TEST_DIFFCASE_H
#define OCF_TEST_DIFFCASE_H

#include <stddef.h>
#include <stdint.h>

#include <ocf/ocf.h>

#include "ref.h"

/* --- layouts --------------------------------------------------------------- */

enum split { SP_NONE, SP_EVEN, SP_UNEVEN, SP_ONE, SP_CUT, SP_EMPTY };

struct layout {
  const char *name;
  enum ocf_buf_type t;
  int odd;
  enum split sp;
  enum ocf_buf_type ot; /* OCF_BUF_NONE: in place */
  int oodd;
  enum split osp;
};

#define DIFF_NLAYOUT 21 /* entries of diff_layouts; at most 32 (struct cat_stats) */
extern const struct layout diff_layouts[DIFF_NLAYOUT];

/* --- cases ----------------------------------------------------------------- */

struct dcase {
  const char *cat;
  int caseno;
  const char *what; /* enc, dec, verify, tamper, ... */
  struct ocf_sessparam sp[2];
  int nsp;
  uint8_t key[2][160];
  ocf_sid_t sid;
  size_t n;
  uint8_t *in;    /* buffer contents before the request */
  uint8_t *oinit; /* separate output contents before the request */
  int nd;
  struct ocf_desc d[OCF_MAX_DESC];
  /* compression: check by inflating rather than byte compare */
  int comp;
  const uint8_t *plain; /* compression: original data */
  size_t plain_len;
  /* the errno for this failure is not part of the API (output does not fit,
   * corrupt input): any error is accepted where the reference fails */
  int err_any;
};

struct cat_stats {
  const char *name;
  long cases, runs, skipped, fails, ebadmsg;
  long lay_runs[32], lay_fails[32];
  char whats[256]; /* "what" names that failed, for the summary */
};

extern uint64_t diff_seed;         /* the run's seed ($OCF_TEST_SEED), printed */
extern struct ref_rng diff_rng;    /* the current category's stream */
extern int diff_scale;             /* iteration counts are divided by it */
extern struct cat_stats *diff_cur; /* the current category's statistics */

/* diff_run_check runs case c under layout li and compares with the
 * reference.  *keep (if non-NULL) receives the reference result (malloc'd,
 * c->n bytes), *kolen the compression output length.  Returns 1 on
 * agreement. */
int diff_run_check(const struct dcase *c, int li, uint8_t **keep, size_t *kolen);
/* diff_run_all: every layout; *keep receives the in-place contiguous result. */
int diff_run_all(const struct dcase *c, uint8_t **keep, size_t *kolen);
/* diff_run_some: k random layouts (for the tampered variants). */
void diff_run_some(const struct dcase *c, int k);
/* diff_report counts a failure of c under L and prints it (the first 8, or
 * all with $OCF_DIFF_VERBOSE); returns 0. */
int diff_report(const struct dcase *c, const struct layout *L, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* diff_callback_counts: asynchronous dispatches made and callbacks seen. */
void diff_callback_counts(long *calls, long *dispatched);

/* Random parameters and case set-up. */
size_t diff_pick_len(size_t blk, size_t min);
void diff_set_param(struct dcase *c, int i, enum ocf_alg alg);
int diff_open_session(struct dcase *c);
void diff_close_case(struct dcase *c);
void diff_alloc_bufs(struct dcase *c);
void diff_derive(struct dcase *dst, const struct dcase *src, const uint8_t *res, const char *what);
void diff_free_derived(struct dcase *c);
void diff_iv_for_decrypt(struct ocf_desc *dec, const struct ocf_desc *enc);
void diff_flip(uint8_t *res, size_t off, size_t len);
unsigned diff_iv_flags(int ivmode);

/* Categories. */
int diff_iters(int base);
void diff_begin(struct cat_stats *st, const char *name);
void diff_end(struct cat_stats *st);

#endif
