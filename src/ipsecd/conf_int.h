/* conf_int.h - what the two halves of the configuration parser (conf.c:
 * the file, global statements, policies, the key file; conf_sa.c: SA
 * blocks) share.  Private to src/ipsecd. */
#ifndef OCF_IPSECD_CONF_INT_H
#define OCF_IPSECD_CONF_INT_H

#include "ipsecd/ipsecd.h"

#define MAX_SA 1024

/* pending "@name" key references, resolved once the key file is known */
struct keyref {
  int sa;
  bool auth;
  int line;
  char name[GW_NAME_LEN];
};

struct pctx {
  struct conf *c;
  const char *path;
  int line;
  char *err;
  size_t errlen;
  struct conf_sa *cur; /* inside an sa block */
  bool inline_keys;    /* a key was written in the file itself */
  int inline_line;
  struct keyref *refs;
  int nrefs;
  int keys_line;
};

/* cf_fail writes "FILE:LINE: " and the message into pc->err; returns EINVAL */
int cf_fail(struct pctx *pc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* small parsers; each returns 0 or EINVAL (ERANGE where said) */
int cf_parse_u64(const char *s, uint64_t max, uint64_t *out);
int cf_parse_count(const char *s, bool binary, uint64_t *out);
int cf_parse_seconds(const char *s, uint64_t *out);
int cf_parse_bool(const char *s, bool *out);
int cf_parse_hex(const char *s, uint8_t *out, size_t max); /* the length, or -1 */
int cf_parse_name(struct pctx *pc, const char *what, const char *s, char *out);
int cf_want_args(struct pctx *pc, char **t, int n, int lo, int hi, const char *usage);

/* SA blocks (conf_sa.c): "sa NAME {", a statement inside, "}" */
int cf_sa_open(struct pctx *pc, char **t, int n);
int cf_sa_stmt(struct pctx *pc, char **t, int n);
int cf_sa_close(struct pctx *pc);

#endif /* OCF_IPSECD_CONF_INT_H */
