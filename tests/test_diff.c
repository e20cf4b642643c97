/*
 * test_diff.c - differential tests: random requests run through the framework
 * (consumer API only) and, on a flat copy, through direct OpenSSL / zlib calls
 * (tests/lib/ref.c); the outputs must agree byte for byte under every buffer
 * layout: contiguous (in place, separate output, odd addresses), iovec lists
 * and mbuf chains split evenly, unevenly, into single bytes, with empty
 * segments and through cipher blocks, IVs, AAD and MACs, with separate
 * outputs of the same or of another buffer type.
 *
 * $OCF_TEST_SEED reproduces a run (the seed is printed); $OCF_TEST_SCALE
 * divides the iteration counts.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

/* cmocka.h needs the headers above */
// clang-format off
#include <cmocka.h>
// clang-format on

#include "ref.h"

static uint64_t seed;
static struct ref_rng rng;
static int scale = 1;

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

static const struct layout layouts[] = {
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
#define NLAYOUT ((int)(sizeof(layouts) / sizeof(layouts[0])))
_Static_assert(sizeof(layouts) / sizeof(layouts[0]) <= 32, "cat_stats holds 32 layouts");
#define ONEBYTE_MAX 4096 /* longer buffers skip the one-byte splits */

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

static struct cat_stats *cur;

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

static void describe(const struct dcase *c, const struct layout *L) {
  fprintf(stderr, "MISMATCH [%s #%d %s] layout=%s seed=0x%llx n=%zu\n", c->cat, c->caseno, c->what,
          L->name, (unsigned long long)seed, c->n);
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

static int report(const struct dcase *c, const struct layout *L, const char *fmt, ...) {
  cur->fails++;
  cur->lay_fails[L - layouts]++;
  if (strstr(cur->whats, c->what) == NULL &&
      strlen(cur->whats) + strlen(c->what) + 2 < sizeof(cur->whats)) {
    strcat(cur->whats, " ");
    strcat(cur->whats, c->what);
  }
  if (cur->fails <= 8 || getenv("OCF_DIFF_VERBOSE") != NULL) {
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
      return ref_cuts_even(c->n, ref_range(&rng, 2, 6), cuts, max);
    case SP_UNEVEN:
      return ref_cuts_uneven(&rng, c->n, cuts, max);
    case SP_ONE:
      return ref_cuts_onebyte(c->n, cuts, max);
    case SP_CUT:
      return ref_cuts_through(&rng, c->sp, c->d, c->nd, c->n, cuts, max);
    case SP_EMPTY:
      return ref_cuts_empty(&rng, c->n, cuts, max);
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
static int run_check(const struct dcase *c, int li, uint8_t **keep, size_t *kolen) {
  const struct layout *L = &layouts[li];
  int sep = L->ot != OCF_BUF_NONE, ok = 1;
  if (keep) *keep = NULL;
  if (c->n > ONEBYTE_MAX && (L->sp == SP_ONE || L->osp == SP_ONE)) {
    cur->skipped++;
    return 1;
  }
  cur->runs++;
  cur->lay_runs[li]++;
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
  unsigned mode = (unsigned)(ref_rand(&rng) % 8);
  if (mode < 2) {
    err = dispatch_wait(&req, mode == 1);
  } else {
    err = ocf_run(&req);
    if (req.opaque != &opaque_mark) ok = report(c, L, "ocf_run did not restore req->opaque");
  }
  if (req.sid != c->sid) ok = report(c, L, "sid changed without migration");

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
        ok = report(c, L, "generated IV is all zero");
      if (ivlen >= 8 && last_gen_iv(ivlen, gen[i]) != NULL)
        ok = report(c, L, "generated IV repeats the previous one");
    }
  }
  size_t eolen = 0;
  int rerr = ref_apply(c->sp, exp, c->n, c->d, c->nd, (const uint8_t(*)[OCF_MAX_IV])gen, &eolen);
  if (c->err_any && rerr != 0 && err != 0) {
    cur->ebadmsg++;
    rerr = err;
  }
  if (err != rerr) {
    ok = report(c, L, "error %d (%s), reference %d; detail: %s", err, err > 0 ? strerror(err) : "-",
                rerr, ocf_errdetail());
    goto out;
  }
  if (rerr == EBADMSG) cur->ebadmsg++;
  ref_buf_flatten(&rb, gin);
  if (sep)
    ref_buf_flatten(&ro, got);
  else
    memcpy(got, gin, c->n);
  if (!ref_buf_guards_ok(&rb) || (sep && !ref_buf_guards_ok(&ro)))
    ok = report(c, L, "a guard byte around a segment was overwritten");
  if (sep && memcmp(gin, c->in, c->n) != 0) {
    ok = report(c, L, "input buffer modified although the output is separate");
    ref_hexdiff("input", gin, c->in, c->n);
  }
  if (rerr != 0) goto out; /* content after a failed verification is unspecified */
  if (c->comp) {
    size_t skip = c->d[0].skip;
    /* bytes before the output are never touched */
    if (memcmp(got, exp, skip) != 0) {
      ok = report(c, L, "bytes before the compression output changed");
      ref_hexdiff("prefix", got, exp, skip);
    }
    if (req.olen > c->n - skip) {
      ok = report(c, L, "olen %zu beyond the buffer", req.olen);
      goto out;
    }
    if (c->d[0].flags & OCF_D_ENCRYPT) {
      uint8_t *dec = NULL;
      size_t dl = 0;
      int zr = ref_inflate(got + skip, req.olen, c->plain_len, &dec, &dl);
      if (zr != 0 || dl != c->plain_len || memcmp(dec, c->plain, dl) != 0)
        ok = report(c, L, "zlib inflate of our %zu-byte output: err %d, %zu bytes (want %zu)",
                    req.olen, zr, dl, c->plain_len);
      free(dec);
    } else if (req.olen != eolen || memcmp(got + skip, exp + skip, eolen) != 0) {
      ok = report(c, L, "decompressed %zu bytes, zlib %zu", req.olen, eolen);
      if (req.olen == eolen) ref_hexdiff("output", got + skip, exp + skip, eolen);
    }
    if (keep && ok) {
      /* hand back our own compressed form for the round trip */
      memcpy(exp, got, c->n);
      *kolen = req.olen;
    }
  } else if (memcmp(got, exp, c->n) != 0) {
    ok = report(c, L, "output differs from the OpenSSL reference");
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
static int run_all(const struct dcase *c, uint8_t **keep, size_t *kolen) {
  int ok = run_check(c, 0, keep, kolen);
  for (int li = 1; li < NLAYOUT; li++) ok &= run_check(c, li, NULL, NULL);
  return ok;
}

/* run_some runs c under k random layouts (for the tampered variants). */
static void run_some(const struct dcase *c, int k) {
  for (int i = 0; i < k; i++) run_check(c, (int)ref_range(&rng, 0, NLAYOUT - 1), NULL, NULL);
}

/* --- random parameters ----------------------------------------------------- */

static size_t pick_len(size_t blk, size_t min) {
  size_t len;
  switch (ref_rand(&rng) % 16) {
    case 0:
      len = 0;
      break;
    case 1:
    case 2:
      len = ref_range(&rng, 1, 40);
      break;
    case 3:
    case 4:
    case 5:
    case 6:
    case 7:
    case 8:
    case 9:
      len = ref_range(&rng, 1, 300);
      break;
    case 10:
    case 11:
    case 12:
      len = ref_range(&rng, 301, 1500);
      break;
    case 13:
    case 14:
      len = ref_range(&rng, 1501, 5000);
      break;
    default:
      len = ref_range(&rng, 5001, 20000);
  }
  if (blk > 1) len -= len % blk;
  if (len < min) len = min + (blk > 1 ? 0 : ref_range(&rng, 0, 3));
  return len;
}

static size_t pick_keylen(enum ocf_alg alg) {
  const struct ocf_alg_info *ai = ocf_alg_lookup(alg);
  assert_non_null(ai);
  if (ai->max_key == 0) return 0;
  if (ai->min_key == 0 && ref_rand(&rng) % 20 == 0) return 0;
  size_t hi = ai->max_key < 150 ? ai->max_key : 150, lo = ai->min_key ? ai->min_key : 1;
  for (;;) {
    size_t k = ref_range(&rng, lo, hi);
    if (ocf_alg_keylen_ok(alg, k)) return k;
  }
}

static size_t pick_maclen(enum ocf_alg alg) {
  const struct ocf_alg_info *ai = ocf_alg_lookup(alg);
  assert_non_null(ai);
  if (ai->maclen == 0 || ref_rand(&rng) % 2) return 0;
  size_t step = ai->mac_step ? ai->mac_step : 1;
  size_t nsteps = (ai->maclen - ai->min_mac) / step;
  return ai->min_mac + step * ref_range(&rng, 0, nsteps);
}

static size_t pick_ivlen(enum ocf_alg alg) {
  const struct ocf_alg_info *ai = ocf_alg_lookup(alg);
  assert_non_null(ai);
  if (ai->min_iv == ai->max_iv || ref_rand(&rng) % 3 != 0) return 0;
  return ref_range(&rng, ai->min_iv, ai->max_iv);
}

static void set_param(struct dcase *c, int i, enum ocf_alg alg) {
  struct ocf_sessparam *p = &c->sp[i];
  memset(p, 0, sizeof(*p));
  p->alg = alg;
  p->keylen = pick_keylen(alg);
  ref_fill(&rng, c->key[i], sizeof(c->key[i]));
  p->key = p->keylen ? c->key[i] : NULL;
  enum ocf_alg_class cls = ref_alg_class(alg);
  if (cls == OCF_CLASS_AEAD || cls == OCF_CLASS_MAC) p->maclen = pick_maclen(alg);
  if (cls == OCF_CLASS_AEAD || alg == OCF_ALG_AES_GMAC) p->ivlen = pick_ivlen(alg);
  if (cls == OCF_CLASS_COMP) p->level = (int)ref_range(&rng, 0, 9);
  if (c->nsp < i + 1) c->nsp = i + 1;
}

/* open_session links the chain (in random order) and creates the session. */
static int open_session(struct dcase *c) {
  c->sp[0].next = NULL;
  c->sp[1].next = NULL;
  if (c->nsp == 2 && ref_rand(&rng) % 2) {
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
    cur->fails++;
    fprintf(stderr, "ocf_newsession failed: %d (%s) for %s%s%s keylen=%zu seed=0x%llx\n", rc,
            ocf_errdetail(), ref_alg_name(c->sp[0].alg), c->nsp == 2 ? "+" : "",
            c->nsp == 2 ? ref_alg_name(c->sp[1].alg) : "", c->sp[0].keylen,
            (unsigned long long)seed);
  }
  return rc;
}

static void close_case(struct dcase *c) {
  if (c->sid) assert_int_equal(ocf_freesession(c->sid), 0);
  c->sid = 0;
  free(c->in);
  free(c->oinit);
  c->in = c->oinit = NULL;
}

/* alloc_bufs allocates in/oinit of c->n random bytes. */
static void alloc_bufs(struct dcase *c) {
  c->in = malloc(c->n + 1);
  c->oinit = malloc(c->n + 1);
  assert_true(c->in && c->oinit);
  ref_fill(&rng, c->in, c->n);
  ref_fill(&rng, c->oinit, c->n);
}

/* derive makes a follow-up case on the same session whose input is res. */
static void derive(struct dcase *dst, const struct dcase *src, const uint8_t *res,
                   const char *what) {
  *dst = *src;
  dst->what = what;
  dst->in = malloc(src->n + 1);
  dst->oinit = malloc(src->n + 1);
  assert_true(dst->in && dst->oinit);
  memcpy(dst->in, res, src->n);
  ref_fill(&rng, dst->oinit, src->n);
  dst->sid = src->sid;
  for (int i = 0; i < dst->nsp; i++) dst->sp[i].key = dst->sp[i].keylen ? dst->key[i] : NULL;
  if (dst->nsp == 2) dst->sp[0].next = &dst->sp[1];
}

static void free_derived(struct dcase *c) {
  free(c->in);
  free(c->oinit);
}

/* iv_for_decrypt sets the decrypting descriptor's IV source from the
 * encrypting one: in the buffer stays in the buffer, explicit stays explicit. */
static void iv_for_decrypt(struct ocf_desc *dec, const struct ocf_desc *enc) {
  dec->flags &= ~(OCF_D_IV_EXPLICIT | OCF_D_IV_PRESENT);
  if (enc->flags & OCF_D_IV_EXPLICIT)
    dec->flags |= OCF_D_IV_EXPLICIT;
  else
    dec->flags |= OCF_D_IV_PRESENT;
}

/* flip one bit of res at [off, off+len) */
static void flip(uint8_t *res, size_t off, size_t len) {
  if (len == 0) return;
  size_t at = off + ref_range(&rng, 0, len - 1);
  res[at] ^= (uint8_t)(1u << ref_range(&rng, 0, 7));
}

/* ivmode: 0 explicit, 1 present, 2 generated */
static unsigned iv_flags(int ivmode) {
  return ivmode == 0 ? OCF_D_IV_EXPLICIT : ivmode == 1 ? OCF_D_IV_PRESENT : 0;
}

/* --- categories ------------------------------------------------------------ */

static const enum ocf_alg ciphers[] = {OCF_ALG_NULL,         OCF_ALG_DES_CBC,  OCF_ALG_3DES_CBC,
                                       OCF_ALG_AES_CBC,      OCF_ALG_AES_CTR,  OCF_ALG_AES_XTS,
                                       OCF_ALG_BLOWFISH_CBC, OCF_ALG_CAST5_CBC};
static const enum ocf_alg aeads[] = {OCF_ALG_AES_GCM, OCF_ALG_AES_CCM, OCF_ALG_CHACHA20_POLY1305};
static const enum ocf_alg macs[] = {
    OCF_ALG_HMAC_MD5,      OCF_ALG_HMAC_SHA1,     OCF_ALG_HMAC_SHA2_224, OCF_ALG_HMAC_SHA2_256,
    OCF_ALG_HMAC_SHA2_384, OCF_ALG_HMAC_SHA2_512, OCF_ALG_MD5,           OCF_ALG_SHA1,
    OCF_ALG_SHA2_224,      OCF_ALG_SHA2_256,      OCF_ALG_SHA2_384,      OCF_ALG_SHA2_512,
    OCF_ALG_AES_GMAC};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int iters(int base) {
  int n = base / scale;
  return n > 0 ? n : 1;
}

static void begin(struct cat_stats *st, const char *name) {
  /* each category draws from its own stream: reproducible on its own */
  uint64_t h = seed;
  for (const char *p = name; *p; p++) h = h * 1099511628211ULL + (uint8_t)*p;
  ref_rng_seed(&rng, h);
  memset(st, 0, sizeof(*st));
  st->name = name;
  cur = st;
}

static void end(struct cat_stats *st) {
  printf(
      "diff: %-10s %5ld cases %7ld runs (%ld skipped: 1-byte splits of long buffers) %ld "
      "expected rejections (tamper, verify, bad input), %ld failures\n",
      st->name, st->cases, st->runs, st->skipped, st->ebadmsg, st->fails);
  if (st->fails) {
    printf("diff: %s failures by layout (in:%s):\n", st->name, st->whats);
    for (int i = 0; i < NLAYOUT; i++)
      if (st->lay_fails[i])
        printf("  %-28s %5ld of %5ld runs failed\n", layouts[i].name, st->lay_fails[i],
               st->lay_runs[i]);
  }
  fflush(stdout);
  assert_int_equal(st->fails, 0);
}

/* a cipher descriptor over [skip, skip+len) with the IV per ivmode */
static void cipher_regions(struct dcase *c, enum ocf_alg alg, size_t len, int ivmode, size_t hdr,
                           struct ocf_desc *d) {
  size_t ivlen = ref_alg_ivlen(alg);
  int ivbuf = ivlen > 0 && ivmode != 0;
  size_t gap = len ? ref_range(&rng, 0, 3) : 0;
  int iv_after = ivbuf && ref_rand(&rng) % 4 == 0;
  size_t off = hdr;
  memset(d, 0, sizeof(*d));
  d->alg = alg;
  d->flags = OCF_D_ENCRYPT | (ivlen ? iv_flags(ivmode) : 0);
  if (ivbuf && !iv_after) {
    d->iv_off = off;
    off += ivlen + gap;
  }
  d->skip = off;
  d->len = len;
  off += len;
  if (ivbuf && iv_after) {
    d->iv_off = off + gap;
    off = d->iv_off + ivlen;
  }
  if (ivlen && ivmode == 0) ref_fill(&rng, d->iv, ivlen);
  c->n = off;
}

static void test_cipher(void **state) {
  (void)state;
  struct cat_stats st;
  begin(&st, "cipher");
  for (size_t a = 0; a < NELEM(ciphers); a++) {
    enum ocf_alg alg = ciphers[a];
    for (int k = 0; k < iters(150); k++) {
      struct dcase c;
      memset(&c, 0, sizeof(c));
      c.cat = "cipher";
      c.caseno = k;
      c.what = "enc";
      set_param(&c, 0, alg);
      if (open_session(&c) != 0) continue;
      st.cases++;
      size_t len = pick_len(ref_alg_block(alg), alg == OCF_ALG_AES_XTS ? 16 : 0);
      int ivmode = (int)ref_range(&rng, 0, 2);
      c.nd = 1;
      cipher_regions(&c, alg, len, ivmode, ref_range(&rng, 0, 9), &c.d[0]);
      c.n += ref_range(&rng, 1, 8);
      alloc_bufs(&c);
      uint8_t *res = NULL;
      run_all(&c, &res, NULL);
      if (res != NULL) {
        struct dcase dc;
        derive(&dc, &c, res, "dec");
        dc.d[0].flags &= ~OCF_D_ENCRYPT;
        iv_for_decrypt(&dc.d[0], &c.d[0]);
        uint8_t *back = NULL;
        run_all(&dc, &back, NULL);
        /* the round trip restores the plaintext (checks the reference too) */
        if (back && memcmp(back + c.d[0].skip, c.in + c.d[0].skip, len) != 0)
          report(&dc, &layouts[0], "decrypt(encrypt(x)) != x");
        free(back);
        free_derived(&dc);
      }
      free(res);
      close_case(&c);
    }
  }
  end(&st);
}

static void test_aead(void **state) {
  (void)state;
  struct cat_stats st;
  begin(&st, "aead");
  for (size_t a = 0; a < NELEM(aeads); a++) {
    enum ocf_alg alg = aeads[a];
    for (int k = 0; k < iters(250); k++) {
      struct dcase c;
      memset(&c, 0, sizeof(c));
      c.cat = "aead";
      c.caseno = k;
      c.what = "enc";
      set_param(&c, 0, alg);
      if (open_session(&c) != 0) continue;
      st.cases++;
      size_t ivlen = ref_ivlen(&c.sp[0]), maclen = ref_maclen(&c.sp[0]);
      size_t len = pick_len(1, 0);
      size_t aadlen = ref_rand(&rng) % 4 == 0   ? 0
                      : ref_rand(&rng) % 8 == 0 ? ref_range(&rng, 65, 700)
                                                : ref_range(&rng, 1, 64);
      int ivmode = (int)ref_range(&rng, 0, 2);
      /* the framework generates AEAD nonces of 8 bytes or more only
       * (test_nonce checks the refusal) */
      if (ivmode == 2 && ivlen < 8) ivmode = 1;
      struct ocf_desc *d = &c.d[0];
      c.nd = 1;
      d->alg = alg;
      d->flags = OCF_D_ENCRYPT | iv_flags(ivmode);
      if (ivmode == 0) ref_fill(&rng, d->iv, ivlen);
      /* regions in a random order: 0 IV, 1 AAD, 2 data, 3 tag */
      int order[4] = {0, 1, 2, 3};
      switch (ref_rand(&rng) % 4) {
        case 1: /* AAD first (ESP: SPI+seq) */
          order[0] = 1;
          order[1] = 0;
          break;
        case 2: /* tag before the data */
          order[2] = 3;
          order[3] = 2;
          break;
        case 3: /* data, tag, then AAD and IV trailing */
          order[0] = 2;
          order[1] = 3;
          order[2] = 1;
          order[3] = 0;
          break;
      }
      size_t off = ref_range(&rng, 0, 9);
      for (int i = 0; i < 4; i++) {
        switch (order[i]) {
          case 0:
            if (ivmode == 0) continue;
            d->iv_off = off;
            off += ivlen;
            break;
          case 1:
            d->aad_skip = off;
            d->aad_len = aadlen;
            off += aadlen;
            break;
          case 2:
            d->skip = off;
            d->len = len;
            off += len;
            break;
          case 3:
            d->inject = off;
            off += maclen;
            break;
        }
        off += ref_range(&rng, 0, 3);
      }
      /* empty regions sit on the tag, so the output hull does not depend on
       * whether a framework counts them */
      if (len == 0) d->skip = d->inject;
      if (aadlen == 0) d->aad_skip = d->inject;
      c.n = off + ref_range(&rng, 1, 8);
      alloc_bufs(&c);
      uint8_t *res = NULL;
      run_all(&c, &res, NULL);
      if (res != NULL) {
        struct dcase dc;
        derive(&dc, &c, res, "dec");
        dc.d[0].flags &= ~OCF_D_ENCRYPT;
        iv_for_decrypt(&dc.d[0], d);
        uint8_t *back = NULL;
        run_all(&dc, &back, NULL);
        if (back && memcmp(back + d->skip, c.in + d->skip, len) != 0)
          report(&dc, &layouts[0], "decrypt(encrypt(x)) != x");
        free(back);
        /* tampered tag, ciphertext or AAD: EBADMSG */
        struct dcase tc;
        derive(&tc, &dc, dc.in, "tamper");
        int where = (int)ref_range(&rng, 0, 2);
        if (where == 1 && len)
          flip(tc.in, d->skip, len);
        else if (where == 2 && aadlen)
          flip(tc.in, d->aad_skip, aadlen);
        else
          flip(tc.in, d->inject, maclen);
        run_some(&tc, 3);
        free_derived(&tc);
        free_derived(&dc);
      }
      free(res);
      close_case(&c);
    }
  }
  end(&st);
}

static void test_mac(void **state) {
  (void)state;
  struct cat_stats st;
  begin(&st, "mac");
  for (size_t a = 0; a < NELEM(macs); a++) {
    enum ocf_alg alg = macs[a];
    for (int k = 0; k < iters(100); k++) {
      struct dcase c;
      memset(&c, 0, sizeof(c));
      c.cat = "mac";
      c.caseno = k;
      c.what = "gen";
      set_param(&c, 0, alg);
      if (open_session(&c) != 0) continue;
      st.cases++;
      size_t ivlen = ref_ivlen(&c.sp[0]), maclen = ref_maclen(&c.sp[0]);
      size_t len = pick_len(1, 0);
      struct ocf_desc *d = &c.d[0];
      c.nd = 1;
      d->alg = alg;
      size_t off = ref_range(&rng, 0, 9);
      if (ivlen) {
        if (ref_rand(&rng) % 2) {
          d->flags |= OCF_D_IV_EXPLICIT;
          ref_fill(&rng, d->iv, ivlen);
        } else {
          d->flags |= OCF_D_IV_PRESENT;
          d->iv_off = off;
          off += ivlen + ref_range(&rng, 0, 2);
        }
      }
      if (ref_rand(&rng) % 4 == 0) { /* MAC before the data */
        d->inject = off;
        off += maclen + ref_range(&rng, 0, 3);
        d->skip = off;
        off += len;
      } else {
        d->skip = off;
        off += len + ref_range(&rng, 0, 3);
        d->inject = off;
        off += maclen;
      }
      if (len == 0) d->skip = d->inject;
      d->len = len;
      c.n = off + ref_range(&rng, 1, 8);
      alloc_bufs(&c);
      uint8_t *res = NULL;
      run_all(&c, &res, NULL);
      if (res != NULL) {
        struct dcase vc;
        derive(&vc, &c, res, "verify");
        vc.d[0].flags |= OCF_D_VERIFY;
        run_all(&vc, NULL, NULL);
        struct dcase tc;
        derive(&tc, &vc, vc.in, "tamper");
        if (len && ref_rand(&rng) % 2)
          flip(tc.in, d->skip, len);
        else
          flip(tc.in, d->inject, maclen);
        run_some(&tc, 3);
        free_derived(&tc);
        free_derived(&vc);
      }
      free(res);
      close_case(&c);
    }
  }
  end(&st);
}

/* chain: encrypt-then-MAC (mte = 0) or MAC-then-encrypt (mte = 1) */
static void chain_case(int mte, int k) {
  struct dcase c;
  memset(&c, 0, sizeof(c));
  c.cat = mte ? "mte" : "etm";
  c.caseno = k;
  c.what = "enc";
  enum ocf_alg calg = ciphers[ref_rand(&rng) % NELEM(ciphers)];
  enum ocf_alg malg = macs[ref_rand(&rng) % (NELEM(macs) - 1)]; /* GMAC excluded */
  set_param(&c, 0, calg);
  set_param(&c, 1, malg);
  size_t maclen = ref_maclen(&c.sp[1]);
  if (open_session(&c) != 0) return;
  cur->cases++;
  size_t blk = ref_alg_block(calg), ivlen = ref_alg_ivlen(calg);
  int ivmode = (int)ref_range(&rng, 0, 2);
  struct ocf_desc cd, md;
  memset(&md, 0, sizeof(md));
  md.alg = malg;
  size_t hdr = ref_range(&rng, 0, 12);
  if (!mte) {
    size_t len = pick_len(blk, calg == OCF_ALG_AES_XTS ? 16 : 0);
    cipher_regions(&c, calg, len, ivmode, hdr, &cd);
    /* MAC from the start of the header, the IV or the data to the data's end */
    size_t from[3] = {0, hdr, cd.skip};
    md.skip = from[ref_rand(&rng) % 3];
    if (md.skip > cd.skip) md.skip = cd.skip;
    md.len = c.n - md.skip; /* also covers an IV placed after the data */
    md.inject = c.n + (md.len ? ref_range(&rng, 0, 3) : 0);
    if (md.len == 0 && cd.len == 0) md.skip = cd.skip = md.inject;
    c.n = md.inject + maclen;
    c.d[0] = cd;
    c.d[1] = md;
  } else {
    /* [IV][hdr][data | MAC | pad]: the IV stays outside the MAC, which runs
     * before the cipher has generated it */
    size_t len = pick_len(1, 0);
    size_t clen = len + maclen;
    if (blk > 1) clen = (clen + blk - 1) / blk * blk;
    if (calg == OCF_ALG_AES_XTS && clen < 16) clen = 16;
    memset(&cd, 0, sizeof(cd));
    cd.alg = calg;
    cd.flags = OCF_D_ENCRYPT | (ivlen ? iv_flags(ivmode) : 0);
    size_t off = ref_range(&rng, 0, 5);
    if (ivlen && ivmode != 0) {
      cd.iv_off = off;
      off += ivlen;
    }
    if (ivlen && ivmode == 0) ref_fill(&rng, cd.iv, ivlen);
    size_t hstart = off;
    off += hdr;
    cd.skip = off;
    cd.len = clen;
    md.skip = ref_rand(&rng) % 2 ? hstart : cd.skip;
    md.len = cd.skip + len - md.skip;
    md.inject = cd.skip + len;
    if (md.len == 0) md.skip = md.inject;
    c.n = cd.skip + clen;
    c.d[0] = md;
    c.d[1] = cd;
  }
  c.nd = 2;
  c.n += ref_range(&rng, 1, 8);
  alloc_bufs(&c);
  uint8_t *res = NULL;
  run_all(&c, &res, NULL);
  if (res != NULL) {
    struct dcase dc;
    derive(&dc, &c, res, "dec");
    struct ocf_desc dcd = cd, dmd = md;
    dcd.flags &= ~OCF_D_ENCRYPT;
    iv_for_decrypt(&dcd, &cd);
    dmd.flags |= OCF_D_VERIFY;
    if (!mte) {
      dc.d[0] = dmd;
      dc.d[1] = dcd;
    } else {
      dc.d[0] = dcd;
      dc.d[1] = dmd;
    }
    uint8_t *back = NULL;
    run_all(&dc, &back, NULL);
    size_t plen = mte ? md.inject - cd.skip : cd.len;
    if (back && memcmp(back + cd.skip, c.in + cd.skip, plen) != 0)
      report(&dc, &layouts[0], "decrypt(encrypt(x)) != x");
    free(back);
    struct dcase tc;
    derive(&tc, &dc, dc.in, "tamper");
    if (!mte) {
      if (md.len && ref_rand(&rng) % 2)
        flip(tc.in, md.skip, md.len);
      else
        flip(tc.in, md.inject, maclen);
    } else {
      flip(tc.in, cd.skip, plen + maclen);
    }
    run_some(&tc, 3);
    free_derived(&tc);
    free_derived(&dc);
  }
  free(res);
  close_case(&c);
}

static void test_etm(void **state) {
  (void)state;
  struct cat_stats st;
  begin(&st, "etm");
  for (int k = 0; k < iters(800); k++) chain_case(0, k);
  end(&st);
}

static void test_mte(void **state) {
  (void)state;
  struct cat_stats st;
  begin(&st, "mte");
  for (int k = 0; k < iters(800); k++) chain_case(1, k);
  end(&st);
}

/* decompress_case runs a decompression of comp[clen] (placed at skip) whose
 * expected output is plain[plen]. */
static void decompress_case(const struct dcase *base, const uint8_t *comp, size_t clen,
                            const uint8_t *plain, size_t plen, size_t skip, const char *what,
                            int all) {
  struct dcase dc = *base;
  dc.what = what;
  dc.sp[0].key = NULL;
  dc.sp[0].next = NULL;
  dc.n = skip + (plen > clen ? plen : clen) + (ref_rand(&rng) % 3 ? ref_range(&rng, 1, 8) : 0);
  alloc_bufs(&dc);
  memcpy(dc.in + skip, comp, clen);
  memset(&dc.d[0], 0, sizeof(dc.d[0]));
  dc.d[0].alg = OCF_ALG_DEFLATE;
  dc.d[0].skip = skip;
  dc.d[0].len = clen;
  dc.comp = 1;
  dc.plain = plain;
  dc.plain_len = plen;
  uint8_t *res = NULL;
  size_t olen = 0;
  if (all)
    run_all(&dc, &res, &olen);
  else
    run_check(&dc, (int)ref_range(&rng, 0, NLAYOUT - 1), NULL, NULL);
  if (res != NULL && (olen != plen || memcmp(res + skip, plain, plen) != 0))
    report(&dc, &layouts[0], "inflate(deflate(x)) != x");
  free(res);
  free(dc.in);
  free(dc.oinit);
}

/* bad_inflate_cases: decompressions that must fail (output does not fit;
 * corrupt input) on the session, each followed by a valid one on the same
 * session, which must not be affected by the failure. */
static void bad_inflate_cases(const struct dcase *base, const uint8_t *plain, size_t plen) {
  uint8_t *z = NULL;
  size_t zl = 0;
  assert_int_equal(ref_deflate(plain, plen, 6, &z, &zl), 0);
  for (int kind = 0; kind < 2; kind++) {
    struct dcase bc = *base;
    bc.what = kind == 0 ? "inflate-no-room" : "inflate-corrupt";
    bc.sp[0].next = NULL;
    size_t skip = ref_range(&rng, 0, 9);
    /* no room: the output would need plen bytes, the buffer holds less;
     * corrupt: room for the input (which for incompressible data is longer
     * than plen) and for the output */
    size_t most = zl > plen ? zl : plen;
    bc.n = skip + (kind == 0 ? (zl > plen / 2 ? zl : plen / 2) + 1 : most + 8);
    if (kind == 0 && bc.n - skip >= plen) continue; /* incompressible: nothing to test */
    alloc_bufs(&bc);
    memcpy(bc.in + skip, z, zl);
    if (kind == 1) ref_fill(&rng, bc.in + skip + zl / 3, zl - zl / 3); /* garbage tail */
    memset(&bc.d[0], 0, sizeof(bc.d[0]));
    bc.d[0].alg = OCF_ALG_DEFLATE;
    bc.d[0].skip = skip;
    bc.d[0].len = zl;
    bc.comp = 1;
    bc.plain = plain;
    bc.plain_len = plen;
    bc.err_any = 1;
    /* each failing request directly followed by a good one on the session */
    for (int i = 0; i < 3; i++) {
      run_check(&bc, (int)ref_range(&rng, 0, NLAYOUT - 1), NULL, NULL);
      decompress_case(base, z, zl, plain, plen, skip,
                      kind == 0 ? "inflate-after-no-room" : "inflate-after-corrupt", 0);
    }
    free(bc.in);
    free(bc.oinit);
  }
  free(z);
}

static void test_deflate(void **state) {
  (void)state;
  struct cat_stats st;
  begin(&st, "deflate");
  for (int k = 0; k < iters(120); k++) {
    struct dcase c;
    memset(&c, 0, sizeof(c));
    c.cat = "deflate";
    c.caseno = k;
    c.what = "compress";
    set_param(&c, 0, OCF_ALG_DEFLATE);
    if (open_session(&c) != 0) continue;
    st.cases++;
    size_t len = pick_len(1, 0), skip = ref_range(&rng, 0, 9);
    uint8_t *plain = malloc(len + 1);
    assert_non_null(plain);
    if (ref_rand(&rng) % 4 == 0)
      ref_fill(&rng, plain, len);
    else
      ref_fill_text(&rng, plain, len);
    size_t bound = compressBound(len) + 16;
    c.n = skip + (bound > len ? bound : len) + ref_range(&rng, 0, 8);
    alloc_bufs(&c);
    memcpy(c.in + skip, plain, len);
    c.nd = 1;
    c.d[0].alg = OCF_ALG_DEFLATE;
    c.d[0].flags = OCF_D_ENCRYPT;
    c.d[0].skip = skip;
    c.d[0].len = len;
    c.comp = 1;
    c.plain = plain;
    c.plain_len = len;
    uint8_t *res = NULL;
    size_t olen = 0;
    run_all(&c, &res, &olen);
    if (res != NULL) decompress_case(&c, res + skip, olen, plain, len, skip, "inflate-ours", 1);
    if (len > 64) bad_inflate_cases(&c, plain, len);
    uint8_t *z = NULL;
    size_t zl = 0;
    assert_int_equal(ref_deflate(plain, len, (int)ref_range(&rng, 1, 9), &z, &zl), 0);
    decompress_case(&c, z, zl, plain, len, ref_range(&rng, 0, 9), "inflate-zlib", 1);
    free(z);
    free(res);
    free(plain);
    close_case(&c);
  }
  end(&st);
}

/* The framework's algorithm table against facts written from the standards. */
static void test_table(void **state) {
  (void)state;
  static const enum ocf_alg all[] = {
      OCF_ALG_NULL,          OCF_ALG_DES_CBC,           OCF_ALG_3DES_CBC,
      OCF_ALG_AES_CBC,       OCF_ALG_AES_CTR,           OCF_ALG_AES_XTS,
      OCF_ALG_BLOWFISH_CBC,  OCF_ALG_CAST5_CBC,         OCF_ALG_AES_GCM,
      OCF_ALG_AES_CCM,       OCF_ALG_CHACHA20_POLY1305, OCF_ALG_HMAC_MD5,
      OCF_ALG_HMAC_SHA1,     OCF_ALG_HMAC_SHA2_224,     OCF_ALG_HMAC_SHA2_256,
      OCF_ALG_HMAC_SHA2_384, OCF_ALG_HMAC_SHA2_512,     OCF_ALG_MD5,
      OCF_ALG_SHA1,          OCF_ALG_SHA2_224,          OCF_ALG_SHA2_256,
      OCF_ALG_SHA2_384,      OCF_ALG_SHA2_512,          OCF_ALG_AES_GMAC,
      OCF_ALG_DEFLATE};
  for (size_t i = 0; i < NELEM(all); i++) {
    const struct ocf_alg_info *ai = ocf_alg_lookup(all[i]);
    assert_non_null(ai);
    assert_int_equal(ai->cls, ref_alg_class(all[i]));
    assert_int_equal(ai->block, ref_alg_block(all[i]));
    assert_int_equal(ai->ivlen, ref_alg_ivlen(all[i]));
    assert_int_equal(ai->maclen, ref_alg_maclen(all[i]));
    assert_string_equal(ai->name, ref_alg_name(all[i]));
  }
}

/* Every ocf_dispatch above got exactly one callback, also counting late ones. */
static void test_callbacks(void **state) {
  (void)state;
  struct timespec ts = {0, 50 * 1000 * 1000};
  nanosleep(&ts, NULL);
  pthread_mutex_lock(&w.mu);
  long calls = w.calls, disp = w.dispatched;
  pthread_mutex_unlock(&w.mu);
  printf("diff: %ld asynchronous dispatches, %ld callbacks\n", disp, calls);
  assert_int_equal(calls, disp);
}

int main(void) {
  seed = ref_seed();
  scale = ref_scale();
  printf("test_diff: seed=0x%llx (set OCF_TEST_SEED to reproduce), scale=%d\n",
         (unsigned long long)seed, scale);
  fflush(stdout);
  if (ref_init() != 0) {
    fprintf(stderr, "cannot load the OpenSSL default and legacy providers\n");
    return 1;
  }
  int rc = ocf_init(NULL);
  if (rc != 0) {
    fprintf(stderr, "ocf_init: %d (%s)\n", rc, ocf_errdetail());
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table),   cmocka_unit_test(test_cipher),    cmocka_unit_test(test_aead),
      cmocka_unit_test(test_mac),     cmocka_unit_test(test_etm),       cmocka_unit_test(test_mte),
      cmocka_unit_test(test_deflate), cmocka_unit_test(test_callbacks),
  };
  /* OCF_DIFF_ONLY=test_aead (a cmocka filter pattern) runs one category */
  if (getenv("OCF_DIFF_ONLY") != NULL) cmocka_set_test_filter(getenv("OCF_DIFF_ONLY"));
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  ocf_shutdown();
  ref_cleanup();
  return rc;
}
