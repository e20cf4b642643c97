/* diffcase.c - the machinery of test_diff.c (diffcase.h): the buffer
 * layouts, running one case through the framework under a layout and
 * comparing with the reference (ref.c), random parameters, and the
 * per-category statistics. */
#include "diffcase.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cmocka.h needs the headers above */
// clang-format off
#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>
// clang-format on

/* --- layouts --------------------------------------------------------------- */

const struct layout diff_layouts[] = {
    {"contig", OCF_BUF_CONTIG, 0, SP_NONE, OCF_BUF_NONE, 0, SP_NONE},
    {"contig-odd", OCF_BUF_CONTIG, 1, SP_NONE, OCF_BUF_NONE, 0, SP_NONE},
    {"contig>contig", OCF_BUF_CONTIG, 0, SP_NONE, OCF_BUF_CONTIG, 0, SP_NONE},
    {"contig-odd>contig-odd", OCF_BUF_CONTIG, 1, SP_NONE, OCF_BUF_CONTIG, 1, SP_NONE},
    {"iov-even", OCF_BUF_IOVEC, 0, SP_EVEN, OCF_BUF_NONE, 0, SP_NONE},
    {"iov-uneven-odd", OCF_BUF_IOVEC, 1, SP_UNEVEN, OCF_BUF_NONE, 0, SP_NONE},
    {"iov-1byte", OCF_BUF_IOVEC, 0, SP_ONE, OCF_BUF_NONE, 0, SP_NONE},
    {"iov-cut", OCF_BUF_IOVEC, 0, SP_CUT, OCF_BUF_NONE, 0, SP_NONE},
    {"iov-empty", OCF_BUF_IOVEC, 0, SP_EMPTY, OCF_BUF_NONE, 0, SP_NONE},
    {"mbuf-even", OCF_BUF_MBUF, 0, SP_EVEN, OCF_BUF_NONE, 0, SP_NONE},
    {"mbuf-uneven", OCF_BUF_MBUF, 0, SP_UNEVEN, OCF_BUF_NONE, 0, SP_NONE},
    {"mbuf-1byte-odd", OCF_BUF_MBUF, 1, SP_ONE, OCF_BUF_NONE, 0, SP_NONE},
    {"mbuf-cut-odd", OCF_BUF_MBUF, 1, SP_CUT, OCF_BUF_NONE, 0, SP_NONE},
    {"mbuf-empty", OCF_BUF_MBUF, 0, SP_EMPTY, OCF_BUF_NONE, 0, SP_NONE},
    {"iov-uneven>iov-cut", OCF_BUF_IOVEC, 0, SP_UNEVEN, OCF_BUF_IOVEC, 0, SP_CUT},
    {"iov-1byte>iov-even", OCF_BUF_IOVEC, 0, SP_ONE, OCF_BUF_IOVEC, 0, SP_EVEN},
    {"mbuf-cut>mbuf-1byte", OCF_BUF_MBUF, 0, SP_CUT, OCF_BUF_MBUF, 0, SP_ONE},
    {"mbuf-even>mbuf-uneven-odd", OCF_BUF_MBUF, 0, SP_EVEN, OCF_BUF_MBUF, 1, SP_UNEVEN},
    {"contig>iov-cut", OCF_BUF_CONTIG, 0, SP_NONE, OCF_BUF_IOVEC, 0, SP_CUT},
    {"mbuf-cut>contig-odd", OCF_BUF_MBUF, 0, SP_CUT, OCF_BUF_CONTIG, 1, SP_NONE},
    {"iov-cut>mbuf-empty", OCF_BUF_IOVEC, 0, SP_CUT, OCF_BUF_MBUF, 0, SP_EMPTY},
};
_Static_assert(sizeof(diff_layouts) / sizeof(diff_layouts[0]) == DIFF_NLAYOUT, "DIFF_NLAYOUT");
_Static_assert(DIFF_NLAYOUT <= 32, "struct cat_stats counts 32 layouts");
#define ONEBYTE_MAX 4096 /* longer buffers skip the one-byte splits */

/* --- running a case ---------------------------------------------------------- */

struct cat_stats *diff_cur;
uint64_t diff_seed;
struct ref_rng diff_rng;
int diff_scale = 1;

/* async completion for the ocf_dispatch path; static so that a duplicate
 * late callback lands in live memory and is counted */
static struct waiter {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
  long calls;
  long dispatched;
  void *opaque_seen;
} w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, NULL};

static void wait_cb(struct ocf_req *r) {
  pthread_mutex_lock(&w.mu);
  w.calls++;
  w.done = 1;
  w.opaque_seen = r->opaque;
  pthread_cond_signal(&w.cv);
  pthread_mutex_unlock(&w.mu);
}

static int dispatch_wait(struct ocf_req *r, int batch) {
  static int token;
  pthread_mutex_lock(&w.mu);
  w.done = 0;
  pthread_mutex_unlock(&w.mu);
  r->callback = wait_cb;
  r->opaque = &token;
  int rc = 0;
  if (batch) {
    if (ocf_dispatch_batch(&r, 1, &rc) != 1 && rc == 0) rc = EINVAL;
  } else {
    rc = ocf_dispatch(r);
  }
  if (rc != 0) return rc;
  pthread_mutex_lock(&w.mu);
  w.dispatched++;
  while (!w.done) pthread_cond_wait(&w.cv, &w.mu);
  void *seen = w.opaque_seen;
  pthread_mutex_unlock(&w.mu);
  if (seen != &token) {
    fprintf(stderr, "  opaque not passed back untouched\n");
    return -1;
  }
  return r->error;
}

void diff_callback_counts(long *calls, long *dispatched) {
  pthread_mutex_lock(&w.mu);
  *calls = w.calls;
  *dispatched = w.dispatched;
  pthread_mutex_unlock(&w.mu);
}

static void describe(const struct dcase *c, const struct layout *L) {
  fprintf(stderr, "MISMATCH [%s #%d %s] layout=%s diff_seed=0x%llx n=%zu\n", c->cat, c->caseno,
          c->what, L->name, (unsigned long long)diff_seed, c->n);
  for (int i = 0; i < c->nsp; i++)
    fprintf(stderr, "  sess[%d] %s keylen=%zu maclen=%zu ivlen=%zu level=%d\n", i,
            ref_alg_name(c->sp[i].alg), c->sp[i].keylen, c->sp[i].maclen, c->sp[i].ivlen,
            c->sp[i].level);
  for (int i = 0; i < c->nd; i++) {
    const struct ocf_desc *d = &c->d[i];
    fprintf(stderr,
            "  desc[%d] %s flags=%s%s%s%s skip=%zu len=%zu inject=%zu iv_off=%zu aad=%zu+%zu\n", i,
            ref_alg_name(d->alg), d->flags & OCF_D_ENCRYPT ? "E" : "D",
            d->flags & OCF_D_IV_EXPLICIT ? "|IVX" : "", d->flags & OCF_D_IV_PRESENT ? "|IVP" : "",
            d->flags & OCF_D_VERIFY ? "|VERIFY" : "", d->skip, d->len, d->inject, d->iv_off,
            d->aad_skip, d->aad_len);
  }
}

int diff_report(const struct dcase *c, const struct layout *L, const char *fmt, ...) {
  diff_cur->fails++;
  diff_cur->lay_fails[L - diff_layouts]++;
  if (strstr(diff_cur->whats, c->what) == NULL &&
      strlen(diff_cur->whats) + strlen(c->what) + 2 < sizeof(diff_cur->whats)) {
    strcat(diff_cur->whats, " ");
    strcat(diff_cur->whats, c->what);
  }
  if (diff_cur->fails <= 8 || getenv("OCF_DIFF_VERBOSE") != NULL) {
    describe(c, L);
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "  ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
  }
  return 0;
}

static size_t make_cuts(enum split sp, const struct dcase *c, size_t *cuts, size_t max) {
  switch (sp) {
    case SP_EVEN:
      return ref_cuts_even(c->n, ref_range(&diff_rng, 2, 6), cuts, max);
    case SP_UNEVEN:
      return ref_cuts_uneven(&diff_rng, c->n, cuts, max);
    case SP_ONE:
      return ref_cuts_onebyte(c->n, cuts, max);
    case SP_CUT:
      return ref_cuts_through(&diff_rng, c->sp, c->d, c->nd, c->n, cuts, max);
    case SP_EMPTY:
      return ref_cuts_empty(&diff_rng, c->n, cuts, max);
    default:
      return 0;
  }
}

static const uint8_t *last_gen_iv(size_t len, const uint8_t *iv) {
  static uint8_t prev[OCF_MAX_IV];
  static size_t prevlen;
  int same = prevlen == len && memcmp(prev, iv, len) == 0;
  memcpy(prev, iv, len);
  prevlen = len;
  return same ? iv : NULL;
}

/* run_check runs case c under layout li and compares with the reference.
 * *keep (if non-NULL) receives the reference result (malloc'd, c->n bytes),
 * *kolen the compression output length. Returns 1 on agreement. */
int diff_run_check(const struct dcase *c, int li, uint8_t **keep, size_t *kolen) {
  const struct layout *L = &diff_layouts[li];
  int sep = L->ot != OCF_BUF_NONE, ok = 1;
  if (keep) *keep = NULL;
  if (c->n > ONEBYTE_MAX && (L->sp == SP_ONE || L->osp == SP_ONE)) {
    diff_cur->skipped++;
    return 1;
  }
  diff_cur->runs++;
  diff_cur->lay_runs[li]++;
  size_t maxc = c->n + 64;
  size_t *cuts = malloc(maxc * sizeof(*cuts));
  assert_non_null(cuts);
  struct ref_buf rb, ro;
  memset(&ro, 0, sizeof(ro));
  size_t nc = make_cuts(L->sp, c, cuts, maxc);
  assert_int_equal(ref_buf_build(&rb, L->t, c->in, c->n, cuts, nc, L->odd), 0);
  if (sep) {
    nc = make_cuts(L->osp, c, cuts, maxc);
    assert_int_equal(ref_buf_build(&ro, L->ot, c->oinit, c->n, cuts, nc, L->oodd), 0);
  }
  free(cuts);

  struct ocf_req req;
  memset(&req, 0, sizeof(req));
  req.sid = c->sid;
  req.buf = rb.b;
  if (sep) req.out = ro.b;
  req.ndesc = c->nd;
  memcpy(req.desc, c->d, sizeof(req.desc));
  int opaque_mark;
  req.opaque = &opaque_mark;
  int err;
  unsigned mode = (unsigned)(ref_rand(&diff_rng) % 8);
  if (mode < 2) {
    err = dispatch_wait(&req, mode == 1);
  } else {
    err = ocf_run(&req);
    if (req.opaque != &opaque_mark) ok = diff_report(c, L, "ocf_run did not restore req->opaque");
  }
  if (req.sid != c->sid) ok = diff_report(c, L, "sid changed without migration");

  /* the reference: separate output receives the hull, then runs in place */
  uint8_t *exp = malloc(c->n + 1), *got = malloc(c->n + 1), *gin = malloc(c->n + 1);
  assert_true(exp && got && gin);
  if (sep) {
    size_t lo, hi;
    memcpy(exp, c->oinit, c->n);
    ref_hull(c->sp, c->d, c->nd, &lo, &hi);
    memcpy(exp + lo, c->in + lo, hi - lo);
  } else {
    memcpy(exp, c->in, c->n);
  }
  uint8_t gen[OCF_MAX_DESC][OCF_MAX_IV];
  memset(gen, 0, sizeof(gen));
  for (int i = 0; i < c->nd; i++) {
    const struct ocf_sessparam *p = ref_param(c->sp, c->d[i].alg);
    enum ocf_alg_class cls = ref_alg_class(c->d[i].alg);
    size_t ivlen = p ? ref_ivlen(p) : 0;
    memcpy(gen[i], req.desc[i].iv, OCF_MAX_IV);
    bool generated = ivlen > 0 && (cls == OCF_CLASS_CIPHER || cls == OCF_CLASS_AEAD) &&
                     (c->d[i].flags & OCF_D_ENCRYPT) &&
                     !(c->d[i].flags & (OCF_D_IV_EXPLICIT | OCF_D_IV_PRESENT));
    if (generated && err == 0) {
      static const uint8_t zero[OCF_MAX_IV];
      if (ivlen >= 8 && memcmp(gen[i], zero, ivlen) == 0)
        ok = diff_report(c, L, "generated IV is all zero");
      if (ivlen >= 8 && last_gen_iv(ivlen, gen[i]) != NULL)
        ok = diff_report(c, L, "generated IV repeats the previous one");
    }
  }
  size_t eolen = 0;
  int rerr = ref_apply(c->sp, exp, c->n, c->d, c->nd, (const uint8_t(*)[OCF_MAX_IV])gen, &eolen);
  if (c->err_any && rerr != 0 && err != 0) {
    diff_cur->ebadmsg++;
    rerr = err;
  }
  if (err != rerr) {
    ok = diff_report(c, L, "error %d (%s), reference %d; detail: %s", err,
                     err > 0 ? strerror(err) : "-", rerr, ocf_errdetail());
    goto out;
  }
  if (rerr == EBADMSG) diff_cur->ebadmsg++;
  ref_buf_flatten(&rb, gin);
  if (sep)
    ref_buf_flatten(&ro, got);
  else
    memcpy(got, gin, c->n);
  if (!ref_buf_guards_ok(&rb) || (sep && !ref_buf_guards_ok(&ro)))
    ok = diff_report(c, L, "a guard byte around a segment was overwritten");
  if (sep && memcmp(gin, c->in, c->n) != 0) {
    ok = diff_report(c, L, "input buffer modified although the output is separate");
    ref_hexdiff("input", gin, c->in, c->n);
  }
  if (rerr != 0) goto out; /* content after a failed verification is unspecified */
  if (c->comp) {
    size_t skip = c->d[0].skip;
    /* bytes before the output are never touched */
    if (memcmp(got, exp, skip) != 0) {
      ok = diff_report(c, L, "bytes before the compression output changed");
      ref_hexdiff("prefix", got, exp, skip);
    }
    if (req.olen > c->n - skip) {
      ok = diff_report(c, L, "olen %zu beyond the buffer", req.olen);
      goto out;
    }
    if (c->d[0].flags & OCF_D_ENCRYPT) {
      uint8_t *dec = NULL;
      size_t dl = 0;
      int zr = ref_inflate(got + skip, req.olen, c->plain_len, &dec, &dl);
      if (zr != 0 || dl != c->plain_len || memcmp(dec, c->plain, dl) != 0)
        ok = diff_report(c, L, "zlib inflate of our %zu-byte output: err %d, %zu bytes (want %zu)",
                         req.olen, zr, dl, c->plain_len);
      free(dec);
    } else if (req.olen != eolen || memcmp(got + skip, exp + skip, eolen) != 0) {
      ok = diff_report(c, L, "decompressed %zu bytes, zlib %zu", req.olen, eolen);
      if (req.olen == eolen) ref_hexdiff("output", got + skip, exp + skip, eolen);
    }
    if (keep && ok) {
      /* hand back our own compressed form for the round trip */
      memcpy(exp, got, c->n);
      *kolen = req.olen;
    }
  } else if (memcmp(got, exp, c->n) != 0) {
    ok = diff_report(c, L, "output differs from the OpenSSL reference");
    ref_hexdiff(sep ? "out" : "buf", got, exp, c->n);
  }
out:
  if (keep && ok && err == 0) {
    *keep = exp;
    exp = NULL;
  }
  free(exp);
  free(got);
  free(gin);
  ref_buf_free(&rb);
  if (sep) ref_buf_free(&ro);
  return ok;
}

/* run_all runs c under every layout; *keep receives the in-place contiguous
 * result (layout 0). */
int diff_run_all(const struct dcase *c, uint8_t **keep, size_t *kolen) {
  int ok = diff_run_check(c, 0, keep, kolen);
  for (int li = 1; li < DIFF_NLAYOUT; li++) ok &= diff_run_check(c, li, NULL, NULL);
  return ok;
}

/* run_some runs c under k random layouts (for the tampered variants). */
void diff_run_some(const struct dcase *c, int k) {
  for (int i = 0; i < k; i++)
    diff_run_check(c, (int)ref_range(&diff_rng, 0, DIFF_NLAYOUT - 1), NULL, NULL);
}

/* --- random parameters ----------------------------------------------------- */

size_t diff_pick_len(size_t blk, size_t min) {
  size_t len;
  switch (ref_rand(&diff_rng) % 16) {
    case 0:
      len = 0;
      break;
    case 1:
    case 2:
      len = ref_range(&diff_rng, 1, 40);
      break;
    case 3:
    case 4:
    case 5:
    case 6:
    case 7:
    case 8:
    case 9:
      len = ref_range(&diff_rng, 1, 300);
      break;
    case 10:
    case 11:
    case 12:
      len = ref_range(&diff_rng, 301, 1500);
      break;
    case 13:
    case 14:
      len = ref_range(&diff_rng, 1501, 5000);
      break;
    default:
      len = ref_range(&diff_rng, 5001, 20000);
  }
  if (blk > 1) len -= len % blk;
  if (len < min) len = min + (blk > 1 ? 0 : ref_range(&diff_rng, 0, 3));
  return len;
}

static size_t pick_keylen(enum ocf_alg alg) {
  const struct ocf_alg_info *ai = ocf_alg_lookup(alg);
  assert_non_null(ai);
  if (ai->max_key == 0) return 0;
  if (ai->min_key == 0 && ref_rand(&diff_rng) % 20 == 0) return 0;
  size_t hi = ai->max_key < 150 ? ai->max_key : 150, lo = ai->min_key ? ai->min_key : 1;
  for (;;) {
    size_t k = ref_range(&diff_rng, lo, hi);
    if (ocf_alg_keylen_ok(alg, k)) return k;
  }
}

static size_t pick_maclen(enum ocf_alg alg) {
  const struct ocf_alg_info *ai = ocf_alg_lookup(alg);
  assert_non_null(ai);
  if (ai->maclen == 0 || ref_rand(&diff_rng) % 2) return 0;
  size_t step = ai->mac_step ? ai->mac_step : 1;
  size_t nsteps = (ai->maclen - ai->min_mac) / step;
  return ai->min_mac + step * ref_range(&diff_rng, 0, nsteps);
}

static size_t pick_ivlen(enum ocf_alg alg) {
  const struct ocf_alg_info *ai = ocf_alg_lookup(alg);
  assert_non_null(ai);
  if (ai->min_iv == ai->max_iv || ref_rand(&diff_rng) % 3 != 0) return 0;
  return ref_range(&diff_rng, ai->min_iv, ai->max_iv);
}

void diff_set_param(struct dcase *c, int i, enum ocf_alg alg) {
  struct ocf_sessparam *p = &c->sp[i];
  memset(p, 0, sizeof(*p));
  p->alg = alg;
  p->keylen = pick_keylen(alg);
  ref_fill(&diff_rng, c->key[i], sizeof(c->key[i]));
  p->key = p->keylen ? c->key[i] : NULL;
  enum ocf_alg_class cls = ref_alg_class(alg);
  if (cls == OCF_CLASS_AEAD || cls == OCF_CLASS_MAC) p->maclen = pick_maclen(alg);
  if (cls == OCF_CLASS_AEAD || alg == OCF_ALG_AES_GMAC) p->ivlen = pick_ivlen(alg);
  if (cls == OCF_CLASS_COMP) p->level = (int)ref_range(&diff_rng, 0, 9);
  if (c->nsp < i + 1) c->nsp = i + 1;
}

/* open_session links the chain (in random order) and creates the session. */
int diff_open_session(struct dcase *c) {
  c->sp[0].next = NULL;
  c->sp[1].next = NULL;
  if (c->nsp == 2 && ref_rand(&diff_rng) % 2) {
    struct ocf_sessparam t = c->sp[0];
    c->sp[0] = c->sp[1];
    c->sp[1] = t;
    uint8_t tk[160];
    memcpy(tk, c->key[0], 160);
    memcpy(c->key[0], c->key[1], 160);
    memcpy(c->key[1], tk, 160);
    for (int i = 0; i < 2; i++) c->sp[i].key = c->sp[i].keylen ? c->key[i] : NULL;
  }
  if (c->nsp == 2) c->sp[0].next = &c->sp[1];
  int rc = ocf_newsession(&c->sid, &c->sp[0], 0);
  if (rc != 0) {
    diff_cur->fails++;
    fprintf(stderr, "ocf_newsession failed: %d (%s) for %s%s%s keylen=%zu diff_seed=0x%llx\n", rc,
            ocf_errdetail(), ref_alg_name(c->sp[0].alg), c->nsp == 2 ? "+" : "",
            c->nsp == 2 ? ref_alg_name(c->sp[1].alg) : "", c->sp[0].keylen,
            (unsigned long long)diff_seed);
  }
  return rc;
}

void diff_close_case(struct dcase *c) {
  if (c->sid) assert_int_equal(ocf_freesession(c->sid), 0);
  c->sid = 0;
  free(c->in);
  free(c->oinit);
  c->in = c->oinit = NULL;
}

/* alloc_bufs allocates in/oinit of c->n random bytes. */
void diff_alloc_bufs(struct dcase *c) {
  c->in = malloc(c->n + 1);
  c->oinit = malloc(c->n + 1);
  assert_true(c->in && c->oinit);
  ref_fill(&diff_rng, c->in, c->n);
  ref_fill(&diff_rng, c->oinit, c->n);
}

/* derive makes a follow-up case on the same session whose input is res. */
void diff_derive(struct dcase *dst, const struct dcase *src, const uint8_t *res, const char *what) {
  *dst = *src;
  dst->what = what;
  dst->in = malloc(src->n + 1);
  dst->oinit = malloc(src->n + 1);
  assert_true(dst->in && dst->oinit);
  memcpy(dst->in, res, src->n);
  ref_fill(&diff_rng, dst->oinit, src->n);
  dst->sid = src->sid;
  for (int i = 0; i < dst->nsp; i++) dst->sp[i].key = dst->sp[i].keylen ? dst->key[i] : NULL;
  if (dst->nsp == 2) dst->sp[0].next = &dst->sp[1];
}

void diff_free_derived(struct dcase *c) {
  free(c->in);
  free(c->oinit);
}

/* iv_for_decrypt sets the decrypting descriptor's IV source from the
 * encrypting one: in the buffer stays in the buffer, explicit stays explicit. */
void diff_iv_for_decrypt(struct ocf_desc *dec, const struct ocf_desc *enc) {
  dec->flags &= ~(OCF_D_IV_EXPLICIT | OCF_D_IV_PRESENT);
  if (enc->flags & OCF_D_IV_EXPLICIT)
    dec->flags |= OCF_D_IV_EXPLICIT;
  else
    dec->flags |= OCF_D_IV_PRESENT;
}

/* flip one bit of res at [off, off+len) */
void diff_flip(uint8_t *res, size_t off, size_t len) {
  if (len == 0) return;
  size_t at = off + ref_range(&diff_rng, 0, len - 1);
  res[at] ^= (uint8_t)(1u << ref_range(&diff_rng, 0, 7));
}

/* ivmode: 0 explicit, 1 present, 2 generated */
unsigned diff_iv_flags(int ivmode) {
  return ivmode == 0 ? OCF_D_IV_EXPLICIT : ivmode == 1 ? OCF_D_IV_PRESENT : 0;
}

int diff_iters(int base) {
  int n = base / diff_scale;
  return n > 0 ? n : 1;
}

void diff_begin(struct cat_stats *st, const char *name) {
  /* each category draws from its own stream: reproducible on its own */
  uint64_t h = diff_seed;
  for (const char *p = name; *p; p++) h = h * 1099511628211ULL + (uint8_t)*p;
  ref_rng_seed(&diff_rng, h);
  memset(st, 0, sizeof(*st));
  st->name = name;
  diff_cur = st;
}

void diff_end(struct cat_stats *st) {
  printf(
      "diff: %-10s %5ld cases %7ld runs (%ld skipped: 1-byte splits of long buffers) %ld "
      "expected rejections (tamper, verify, bad input), %ld failures\n",
      st->name, st->cases, st->runs, st->skipped, st->ebadmsg, st->fails);
  if (st->fails) {
    printf("diff: %s failures by layout (in:%s):\n", st->name, st->whats);
    for (int i = 0; i < DIFF_NLAYOUT; i++)
      if (st->lay_fails[i])
        printf("  %-28s %5ld of %5ld runs failed\n", diff_layouts[i].name, st->lay_fails[i],
               st->lay_runs[i]);
  }
  fflush(stdout);
  assert_int_equal(st->fails, 0);
}
