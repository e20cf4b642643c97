/* vectors.c - reader for CAVP / pyca vector files, and KAT bookkeeping. */
#include "vectors.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* cmocka.h needs these before it */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
/* clang-format on */

#define DEFAULT_VECTORS_DIR "/usr/lib/python3/dist-packages/cryptography_vectors"
/* Failures printed in full per algorithm; a systematic bug would otherwise
 * print thousands of lines. */
#define MAX_PRINTED_FAILURES 10

struct field {
  char *name;
  char *val;
};

struct fset {
  struct field *f;
  size_t n, cap;
};

struct ocf_vec {
  FILE *fp;
  char *path;
  char *trigger;
  char *line;
  size_t linecap;
  int lineno;
  int held; /* the line in `line` must be processed again */
  int eof;
  int section;
  struct fset hdr; /* sticky: brackets and groups without the trigger */
  struct fset rec; /* the current record */
  struct fset grp; /* the group being read */
  int grp_line;
  int rec_line;
  int rec_section;
  char where[512];
};

const char *ocf_vec_dir(void) {
  const char *d = getenv("OCF_VECTORS_DIR");
  return (d != NULL && *d != '\0') ? d : DEFAULT_VECTORS_DIR;
}

void ocf_vec_require_dir(void) {
  struct stat st;
  const char *d = ocf_vec_dir();
  if (stat(d, &st) != 0 || !S_ISDIR(st.st_mode))
    fail_msg(
        "known-answer vectors not found at %s: install the Debian package "
        "python3-cryptography-vectors (`make deps` does it) or point OCF_VECTORS_DIR at them",
        d);
}

static void fset_clear(struct fset *s) {
  for (size_t i = 0; i < s->n; i++) {
    free(s->f[i].name);
    free(s->f[i].val);
  }
  s->n = 0;
}

static void fset_free(struct fset *s) {
  fset_clear(s);
  free(s->f);
  s->f = NULL;
  s->cap = 0;
}

static struct field *fset_find(const struct fset *s, const char *name) {
  for (size_t i = 0; i < s->n; i++)
    if (strcasecmp(s->f[i].name, name) == 0) return &s->f[i];
  return NULL;
}

/* fset_set takes ownership of name and val. */
static int fset_set(struct fset *s, char *name, char *val) {
  struct field *f = fset_find(s, name);
  if (f != NULL) {
    free(name);
    free(f->val);
    f->val = val;
    return 0;
  }
  if (s->n == s->cap) {
    size_t ncap = s->cap ? s->cap * 2 : 16;
    struct field *nf = realloc(s->f, ncap * sizeof(*nf));
    if (nf == NULL) {
      free(name);
      free(val);
      return ENOMEM;
    }
    s->f = nf;
    s->cap = ncap;
  }
  s->f[s->n].name = name;
  s->f[s->n].val = val;
  s->n++;
  return 0;
}

static char *dup_range(const char *p, size_t n) {
  char *s = malloc(n + 1);
  if (s == NULL) abort(); /* a test helper: out of memory is fatal */
  memcpy(s, p, n);
  s[n] = '\0';
  return s;
}

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  size_t n = strlen(s);
  while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
  return s;
}

/* split_assign splits "name = value" at the first '='; a line without one is
 * a bare flag with an empty value. */
static void split_assign(const char *s, char **name, char **val) {
  const char *eq = strchr(s, '=');
  if (eq == NULL) {
    *name = dup_range(s, strlen(s));
    *val = dup_range("", 0);
    return;
  }
  size_t nl = (size_t)(eq - s);
  while (nl > 0 && isspace((unsigned char)s[nl - 1])) nl--;
  const char *v = eq + 1;
  while (isspace((unsigned char)*v)) v++;
  size_t vl = strlen(v);
  while (vl > 0 && isspace((unsigned char)v[vl - 1])) vl--;
  *name = dup_range(s, nl);
  *val = dup_range(v, vl);
}

struct ocf_vec *ocf_vec_open(const char *rel, const char *trigger) {
  struct ocf_vec *v = calloc(1, sizeof(*v));
  if (v == NULL) return NULL;
  size_t n = strlen(ocf_vec_dir()) + strlen(rel) + 2;
  v->path = malloc(n);
  v->trigger = strdup(trigger);
  if (v->path == NULL || v->trigger == NULL) {
    ocf_vec_close(v);
    return NULL;
  }
  snprintf(v->path, n, "%s/%s", ocf_vec_dir(), rel);
  v->fp = fopen(v->path, "r");
  if (v->fp == NULL) {
    print_error("cannot open vector file %s: %s\n", v->path, strerror(errno));
    ocf_vec_close(v);
    return NULL;
  }
  v->section = -1;
  v->rec_section = -1;
  return v;
}

void ocf_vec_close(struct ocf_vec *v) {
  if (v == NULL) return;
  if (v->fp != NULL) fclose(v->fp);
  fset_free(&v->hdr);
  fset_free(&v->rec);
  fset_free(&v->grp);
  free(v->line);
  free(v->path);
  free(v->trigger);
  free(v);
}

/* end_group closes the group being read: 1 if it became the current record. */
static int end_group(struct ocf_vec *v) {
  if (v->grp.n == 0) return 0;
  if (fset_find(&v->grp, v->trigger) != NULL) {
    struct fset t = v->rec;
    v->rec = v->grp;
    v->grp = t;
    fset_clear(&v->grp);
    v->rec_line = v->grp_line;
    v->rec_section = v->section;
    return 1;
  }
  for (size_t i = 0; i < v->grp.n; i++) {
    fset_set(&v->hdr, v->grp.f[i].name, v->grp.f[i].val);
    v->grp.f[i].name = v->grp.f[i].val = NULL;
  }
  v->grp.n = 0;
  return 0;
}

static void parse_bracket(struct ocf_vec *v, char *s) {
  char *end = strchr(s, ']');
  if (end != NULL) *end = '\0';
  s = trim(s + 1);
  if (strcasecmp(s, "ENCRYPT") == 0) {
    v->section = 1;
    return;
  }
  if (strcasecmp(s, "DECRYPT") == 0) {
    v->section = 0;
    return;
  }
  if (strchr(s, '=') == NULL) return; /* e.g. "[SHA-1]": nothing to keep */
  char *save = NULL;
  for (char *tok = strtok_r(s, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
    char *name, *val;
    split_assign(trim(tok), &name, &val);
    fset_set(&v->hdr, name, val);
  }
}

int ocf_vec_next(struct ocf_vec *v) {
  for (;;) {
    if (!v->held) {
      if (v->eof || getline(&v->line, &v->linecap, v->fp) < 0) {
        v->eof = 1;
        return end_group(v);
      }
      v->lineno++;
    }
    v->held = 0;
    char *s = trim(v->line);
    if (*s == '\0') {
      if (end_group(v)) return 1;
      continue;
    }
    if (*s == '#') continue;
    if (*s == '[') {
      if (v->grp.n > 0) {
        v->held = 1;
        if (end_group(v)) return 1;
        continue;
      }
      parse_bracket(v, s);
      continue;
    }
    char *name, *val;
    split_assign(s, &name, &val);
    if (fset_find(&v->grp, name) != NULL) {
      free(name);
      free(val);
      v->held = 1;
      if (end_group(v)) return 1;
      continue;
    }
    if (v->grp.n == 0) v->grp_line = v->lineno;
    fset_set(&v->grp, name, val);
  }
}

const char *ocf_vec_str(const struct ocf_vec *v, const char *name) {
  const struct field *f = fset_find(&v->rec, name);
  if (f == NULL) f = fset_find(&v->hdr, name);
  return f != NULL ? f->val : NULL;
}

int ocf_vec_has(const struct ocf_vec *v, const char *name) { return ocf_vec_str(v, name) != NULL; }

long ocf_vec_long(const struct ocf_vec *v, const char *name, long def) {
  const char *s = ocf_vec_str(v, name);
  if (s == NULL || *s == '\0') return def;
  char *end;
  errno = 0;
  long x = strtol(s, &end, 10);
  if (errno != 0 || end == s) return def;
  return x;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = tolower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

int ocf_vec_bytes(const struct ocf_vec *v, const char *name, uint8_t **out, size_t *len) {
  const char *s = ocf_vec_str(v, name);
  *out = NULL;
  *len = 0;
  if (s == NULL) return ENOENT;
  size_t n = strlen(s);
  if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
    uint8_t *b = malloc(n - 1);
    if (b == NULL) return ENOMEM;
    memcpy(b, s + 1, n - 2);
    *out = b;
    *len = n - 2;
    return 0;
  }
  if (n % 2 != 0) return EINVAL;
  uint8_t *b = malloc(n / 2 + 1);
  if (b == NULL) return ENOMEM;
  for (size_t i = 0; i < n / 2; i++) {
    int hi = hexval((unsigned char)s[2 * i]), lo = hexval((unsigned char)s[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      free(b);
      return EINVAL;
    }
    b[i] = (uint8_t)(hi << 4 | lo);
  }
  *out = b;
  *len = n / 2;
  return 0;
}

int ocf_vec_section(const struct ocf_vec *v) { return v->rec_section; }

const char *ocf_vec_where(const struct ocf_vec *v) {
  const char *p = v->path;
  size_t dl = strlen(ocf_vec_dir());
  if (strncmp(p, ocf_vec_dir(), dl) == 0 && p[dl] == '/') p += dl + 1;
  const char *cnt = ocf_vec_str(v, "COUNT");
  snprintf(((struct ocf_vec *)v)->where, sizeof(v->where), "%s:%d%s%s", p, v->rec_line,
           cnt ? " COUNT=" : "", cnt ? cnt : "");
  return v->where;
}

/* --- bookkeeping ---------------------------------------------------------- */

void ocf_kat_fail(struct ocf_kat *k, const struct ocf_vec *v, const char *fmt, ...) {
  k->failed++;
  if (k->failed > MAX_PRINTED_FAILURES) return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  print_error("KAT FAIL %s [%s]: %s\n", k->alg, v != NULL ? ocf_vec_where(v) : "-", msg);
}

void ocf_kat_report(const struct ocf_kat *k, unsigned min_passed) {
  print_message("%s: %u vectors passed (%u skipped)%s%u failed%s%s\n", k->alg, k->passed,
                k->skipped, ", ", k->failed, k->note ? "; " : "", k->note ? k->note : "");
  if (k->failed != 0) fail_msg("%s: %u vectors failed (see above)", k->alg, k->failed);
  if (k->passed < min_passed)
    fail_msg(
        "%s: only %u vectors passed, expected at least %u: vector files missing or unreadable "
        "under %s?",
        k->alg, k->passed, min_passed, ocf_vec_dir());
}

const char *ocf_kat_hexdiff(const uint8_t *got, const uint8_t *want, size_t len) {
  static __thread char out[200];
  size_t i = 0;
  while (i < len && got[i] == want[i]) i++;
  if (i == len) return "equal";
  int n = snprintf(out, sizeof(out), "first difference at byte %zu of %zu: got ", i, len);
  for (size_t j = i; j < len && j < i + 8 && n < (int)sizeof(out) - 3; j++)
    n += snprintf(out + n, sizeof(out) - (size_t)n, "%02x", got[j]);
  n += snprintf(out + n, sizeof(out) - (size_t)n, " want ");
  for (size_t j = i; j < len && j < i + 8 && n < (int)sizeof(out) - 3; j++)
    n += snprintf(out + n, sizeof(out) - (size_t)n, "%02x", want[j]);
  return out;
}

/* --- framework ------------------------------------------------------------ */

int ocf_kat_session(ocf_sid_t *sid, enum ocf_alg alg, const uint8_t *key, size_t keylen,
                    size_t maclen, size_t ivlen) {
  struct ocf_sessparam sp;
  memset(&sp, 0, sizeof(sp));
  sp.alg = alg;
  sp.key = key;
  sp.keylen = keylen;
  sp.maclen = maclen;
  sp.ivlen = ivlen;
  return ocf_newsession(sid, &sp, 0);
}

struct kat_wait {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int done;
};

static void kat_wake(struct ocf_req *req) {
  struct kat_wait *w = req->opaque;
  pthread_mutex_lock(&w->lock);
  w->done = 1;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->lock);
}

/* run_async goes the way an asynchronous consumer does: ocf_dispatch without
 * OCF_REQ_INLINE, so the request crosses the worker queue and the callback
 * comes from a framework thread.  Resubmits on EAGAIN as ocf.h asks. */
static int run_async(struct ocf_req *req, struct kat_wait *w) {
  req->callback = kat_wake;
  req->opaque = w;
  for (int tries = 0; tries < 16; tries++) {
    w->done = 0;
    int err = ocf_dispatch(req);
    if (err != 0) return err;
    pthread_mutex_lock(&w->lock);
    while (!w->done) pthread_cond_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
    if (req->error != EAGAIN) return req->error;
  }
  return EAGAIN;
}

int ocf_kat_run(ocf_sid_t sid, const struct ocf_desc *d, uint8_t *buf, size_t len) {
  /* Alternate between ocf_run (which may run inline in this thread) and
   * the queued asynchronous path, so the vectors cover both. */
  static unsigned calls;
  struct kat_wait w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
  struct ocf_req req;
  memset(&req, 0, sizeof(req));
  req.sid = sid;
  req.buf = ocf_buf_contig(buf, len);
  req.ndesc = 1;
  req.desc[0] = *d;
  return calls++ % 2 ? run_async(&req, &w) : ocf_run(&req);
}

int ocf_kat_iv_ok(enum ocf_alg alg, size_t ivlen) {
  const struct ocf_alg_info *ai = ocf_alg_lookup(alg);
  if (ai == NULL) return 0;
  return ivlen == 0 || (ivlen >= ai->min_iv && ivlen <= ai->max_iv && ivlen <= OCF_MAX_IV);
}

int ocf_kat_mac_ok(enum ocf_alg alg, size_t maclen) {
  const struct ocf_alg_info *ai = ocf_alg_lookup(alg);
  if (ai == NULL) return 0;
  if (maclen == 0) return 1;
  if (maclen < ai->min_mac || maclen > ai->maclen) return 0;
  return ai->mac_step <= 1 || (maclen - ai->min_mac) % ai->mac_step == 0;
}

int ocf_kat_key_ok(enum ocf_alg alg, size_t keylen) { return ocf_alg_keylen_ok(alg, keylen); }

int ocf_kat_setup(void **state) {
  (void)state;
  int err = ocf_init(NULL);
  if (err != 0) {
    print_error("ocf_init: %s (%s)\n", ocf_strerror(err), ocf_errdetail());
    return -1;
  }
  return 0;
}

int ocf_kat_teardown(void **state) {
  (void)state;
  ocf_shutdown();
  return 0;
}
