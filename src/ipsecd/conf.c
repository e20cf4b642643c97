/* conf.c - the configuration file of ocf-ipsecd (format: ocf-ipsecd(8)).
 *
 * A line-oriented format: "keyword value..." statements, "#" comments, SA
 * blocks "sa NAME { ... }" and one-line policies.  Everything is checked
 * here that can be checked without the library; apply.c then lets the
 * library judge the SA parameters (key lengths, combinations) and reports
 * its sentence with the line of the block.  Every error names the file, the
 * line and what is wrong, and nothing is applied from a file with an error. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipsecd/conf_int.h"

#define MAX_TOK 24
#define MAX_POL 1024
#define MAX_KEYS 1024

struct keyent {
  char name[GW_NAME_LEN];
  uint8_t key[IPSEC_MAX_KEY];
  size_t len;
};

struct keyfile {
  struct keyent *k;
  int n;
  bool loaded;
};

int cf_fail(struct pctx *pc, const char *fmt, ...) {
  int n = snprintf(pc->err, pc->errlen, "%s:%d: ", pc->path, pc->line);
  if (n < 0 || (size_t)n >= pc->errlen) return EINVAL;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(pc->err + n, pc->errlen - (size_t)n, fmt, ap);
  va_end(ap);
  return EINVAL;
}

/* --- small parsers ------------------------------------------------------------ */

int cf_parse_u64(const char *s, uint64_t max, uint64_t *out) {
  if (s == NULL || !isdigit((unsigned char)s[0])) return EINVAL;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno != 0 || *end != '\0' || v > max) return EINVAL;
  *out = v;
  return 0;
}

/* count with an optional suffix: k M G T, powers of 1000 (packets) or of
 * 1024 (bytes, binary = true) */
int cf_parse_count(const char *s, bool binary, uint64_t *out) {
  if (s == NULL || !isdigit((unsigned char)s[0])) return EINVAL;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0) return EINVAL;
  uint64_t mul = 1, base = binary ? 1024 : 1000;
  if (*end != '\0') {
    const char *units = "kmgt";
    const char *u = strchr(units, tolower((unsigned char)*end));
    if (u == NULL || end[1] != '\0') return EINVAL;
    for (long i = 0; i <= u - units; i++) mul *= base;
  }
  if (v > UINT64_MAX / mul) return EINVAL;
  *out = v * mul;
  return 0;
}

/* seconds with an optional s / m / h / d suffix */
int cf_parse_seconds(const char *s, uint64_t *out) {
  if (s == NULL || !isdigit((unsigned char)s[0])) return EINVAL;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0) return EINVAL;
  uint64_t mul = 1;
  if (*end != '\0') {
    if (end[1] != '\0') return EINVAL;
    switch (*end) {
      case 's':
        mul = 1;
        break;
      case 'm':
        mul = 60;
        break;
      case 'h':
        mul = 3600;
        break;
      case 'd':
        mul = 86400;
        break;
      default:
        return EINVAL;
    }
  }
  if (v > UINT64_MAX / mul) return EINVAL;
  *out = v * mul;
  return 0;
}

int cf_parse_bool(const char *s, bool *out) {
  if (s == NULL) return EINVAL;
  if (!strcmp(s, "on") || !strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "1"))
    *out = true;
  else if (!strcmp(s, "off") || !strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "0"))
    *out = false;
  else
    return EINVAL;
  return 0;
}

/* hexadecimal key, "0x" optional; returns the length or -1 */
int cf_parse_hex(const char *s, uint8_t *out, size_t max) {
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2;
  size_t n = strlen(s);
  if (n == 0 || n % 2 != 0 || n / 2 > max) return -1;
  for (size_t i = 0; i < n; i += 2) {
    if (!isxdigit((unsigned char)s[i]) || !isxdigit((unsigned char)s[i + 1])) return -1;
    char b[3] = {s[i], s[i + 1], 0};
    out[i / 2] = (uint8_t)strtoul(b, NULL, 16);
  }
  return (int)(n / 2);
}

int conf_parse_prefix(const char *s, struct gw_prefix *out) {
  memset(out, 0, sizeof(*out));
  if (strcmp(s, "any") == 0) return 0;
  char buf[128];
  if (strlen(s) >= sizeof(buf)) return EINVAL;
  strcpy(buf, s);
  char *slash = strchr(buf, '/');
  if (slash != NULL) *slash = '\0';
  if (ipsec_addr_parse(buf, &out->a) != 0) return EINVAL;
  unsigned max = out->a.family == AF_INET ? 32 : 128;
  out->plen = (uint8_t)max;
  if (slash != NULL) {
    uint64_t v;
    if (cf_parse_u64(slash + 1, max, &v) != 0) return ERANGE;
    out->plen = (uint8_t)v;
  }
  return 0;
}

int cf_parse_name(struct pctx *pc, const char *what, const char *s, char *out) {
  size_t n = strlen(s);
  if (n == 0 || n >= GW_NAME_LEN)
    return cf_fail(pc, "%s name '%s' must have 1..%d characters", what, s, GW_NAME_LEN - 1);
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
      return cf_fail(pc, "%s name '%s': only letters, digits, '-', '_' and '.' are allowed", what,
                     s);
  memcpy(out, s, n + 1);
  return 0;
}

int cf_want_args(struct pctx *pc, char **t, int n, int lo, int hi, const char *usage) {
  if (n - 1 < lo || n - 1 > hi) return cf_fail(pc, "'%s' takes %s", t[0], usage);
  return 0;
}

/* --- the key file ----------------------------------------------------------------- */

static int load_keys(struct pctx *pc, struct keyfile *kf) {
  const char *path = pc->c->keys;
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    pc->line = pc->keys_line;
    int e = errno;
    cf_fail(pc, "keys file %s: %s", path, strerror(e));
    return e;
  }
  struct stat st;
  if (fstat(fileno(f), &st) == 0) {
    if (st.st_mode & 077) {
      fclose(f);
      pc->line = pc->keys_line;
      return cf_fail(pc,
                     "keys file %s can be read or written by group or others (mode %04o); "
                     "keys must be private: chmod 600 %s",
                     path, (unsigned)(st.st_mode & 07777), path);
    }
    if (st.st_uid != 0 && st.st_uid != geteuid()) {
      fclose(f);
      pc->line = pc->keys_line;
      return cf_fail(pc, "keys file %s belongs to uid %u, neither root nor us", path,
                     (unsigned)st.st_uid);
    }
  }
  kf->k = calloc(MAX_KEYS, sizeof(*kf->k));
  if (kf->k == NULL) {
    fclose(f);
    return ENOMEM;
  }
  kf->loaded = true;
  char line[1024];
  int ln = 0, rc = 0;
  while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
    ln++;
    char *h = strchr(line, '#');
    if (h != NULL) *h = '\0';
    char *save = NULL, *name = strtok_r(line, " \t\r\n", &save);
    if (name == NULL) continue;
    char *hex = strtok_r(NULL, " \t\r\n", &save);
    char *extra = strtok_r(NULL, " \t\r\n", &save);
    if (hex == NULL || extra != NULL) {
      rc = EINVAL;
      snprintf(pc->err, pc->errlen, "%s:%d: expected 'NAME HEXKEY'", path, ln);
      break;
    }
    if (kf->n == MAX_KEYS) {
      rc = EINVAL;
      snprintf(pc->err, pc->errlen, "%s:%d: more than %d keys", path, ln, MAX_KEYS);
      break;
    }
    struct keyent *k = &kf->k[kf->n];
    if (strlen(name) >= sizeof(k->name)) {
      rc = EINVAL;
      snprintf(pc->err, pc->errlen, "%s:%d: key name '%s' longer than %d characters", path, ln,
               name, GW_NAME_LEN - 1);
      break;
    }
    for (int i = 0; i < kf->n; i++)
      if (strcmp(kf->k[i].name, name) == 0) {
        rc = EINVAL;
        snprintf(pc->err, pc->errlen, "%s:%d: key '%s' defined twice", path, ln, name);
      }
    if (rc != 0) break;
    int len = cf_parse_hex(hex, k->key, sizeof(k->key));
    if (len < 0) {
      rc = EINVAL;
      snprintf(pc->err, pc->errlen,
               "%s:%d: key '%s' is not an even number of hexadecimal digits of at most %d bytes",
               path, ln, name, IPSEC_MAX_KEY);
      break;
    }
    strcpy(k->name, name);
    k->len = (size_t)len;
    kf->n++;
  }
  explicit_bzero(line, sizeof(line));
  fclose(f);
  return rc;
}

static void keyfile_free(struct keyfile *kf) {
  if (kf->k != NULL) {
    explicit_bzero(kf->k, MAX_KEYS * sizeof(*kf->k));
    free(kf->k);
  }
}

/* --- policies ------------------------------------------------------------------------- */

static int parse_ports(const char *s, uint16_t *lo, uint16_t *hi) {
  char buf[32];
  if (strlen(s) >= sizeof(buf)) return EINVAL;
  strcpy(buf, s);
  char *dash = strchr(buf, '-');
  if (dash != NULL) *dash = '\0';
  uint64_t a, b;
  if (cf_parse_u64(buf, 65535, &a) != 0) return EINVAL;
  b = a;
  if (dash != NULL && cf_parse_u64(dash + 1, 65535, &b) != 0) return EINVAL;
  if (b < a) return EINVAL;
  *lo = (uint16_t)a;
  *hi = (uint16_t)b;
  return 0;
}

static int parse_proto(const char *s, uint8_t *out) {
  static const struct {
    const char *n;
    uint8_t v;
  } names[] = {{"any", 0},    {"icmp", 1},    {"tcp", 6},    {"udp", 17},
               {"gre", 47},   {"esp", 50},    {"ah", 51},    {"ipv6-icmp", 58},
               {"icmp6", 58}, {"icmpv6", 58}, {"sctp", 132}, {"udplite", 136}};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (!strcmp(s, names[i].n)) {
      *out = names[i].v;
      return 0;
    }
  uint64_t v;
  if (cf_parse_u64(s, 255, &v) != 0) return EINVAL;
  *out = (uint8_t)v;
  return 0;
}

static int find_sa(const struct conf *c, const char *name) {
  for (int i = 0; i < c->nsa; i++)
    if (!strcmp(c->sa[i].name, name)) return i;
  return -1;
}

/* policy NAME out|in from PREFIX to PREFIX [proto P] [sport R] [dport R]
 *        protect SA[,SA...] | bypass | discard */
static int policy_stmt(struct pctx *pc, char **t, int n) {
  struct conf *c = pc->c;
  if (n < 8)
    return cf_fail(pc,
                   "expected 'policy NAME out|in from PREFIX to PREFIX [proto P] [sport N[-M]] "
                   "[dport N[-M]] protect SA[,SA...] | bypass | discard'");
  if (c->npol == MAX_POL) return cf_fail(pc, "more than %d policies", MAX_POL);
  struct conf_pol *po = &c->pol[c->npol];
  memset(po, 0, sizeof(*po));
  int rc = cf_parse_name(pc, "policy", t[1], po->name);
  if (rc != 0) return rc;
  for (int i = 0; i < c->npol; i++)
    if (!strcmp(c->pol[i].name, po->name))
      return cf_fail(pc, "policy '%s' defined twice (first at line %d)", po->name, c->pol[i].line);
  po->line = pc->line;
  struct ipsec_policy_params *p = &po->p;
  if (!strcmp(t[2], "out"))
    p->dir = IPSEC_DIR_OUT;
  else if (!strcmp(t[2], "in"))
    p->dir = IPSEC_DIR_IN;
  else
    return cf_fail(pc, "policy '%s': direction '%s' is neither out nor in", po->name, t[2]);
  if (strcmp(t[3], "from") != 0 || strcmp(t[5], "to") != 0)
    return cf_fail(pc, "policy '%s': expected 'from PREFIX to PREFIX' after the direction",
                   po->name);
  struct gw_prefix a, b;
  rc = conf_parse_prefix(t[4], &a);
  if (rc != 0)
    return cf_fail(pc, "policy '%s': '%s' is not a prefix (ADDRESS[/LENGTH] or any)%s", po->name,
                   t[4], rc == ERANGE ? ": prefix length too long for the family" : "");
  rc = conf_parse_prefix(t[6], &b);
  if (rc != 0)
    return cf_fail(pc, "policy '%s': '%s' is not a prefix (ADDRESS[/LENGTH] or any)%s", po->name,
                   t[6], rc == ERANGE ? ": prefix length too long for the family" : "");
  if (a.a.family != 0 && b.a.family != 0 && a.a.family != b.a.family)
    return cf_fail(pc, "policy '%s': source %s and destination %s are of different families",
                   po->name, t[4], t[6]);
  p->sel.src = a.a;
  p->sel.src_plen = a.plen;
  p->sel.dst = b.a;
  p->sel.dst_plen = b.plen;
  int i = 7;
  while (i < n) {
    if (!strcmp(t[i], "proto") && i + 1 < n) {
      if (parse_proto(t[i + 1], &p->sel.proto) != 0)
        return cf_fail(pc, "policy '%s': protocol '%s' unknown (a name like tcp, or 0..255)",
                       po->name, t[i + 1]);
      i += 2;
    } else if ((!strcmp(t[i], "sport") || !strcmp(t[i], "dport")) && i + 1 < n) {
      bool src = t[i][0] == 's';
      if (parse_ports(t[i + 1], src ? &p->sel.sport_lo : &p->sel.dport_lo,
                      src ? &p->sel.sport_hi : &p->sel.dport_hi) != 0)
        return cf_fail(pc, "policy '%s': %s '%s' is not a port or range (N or N-M, 0..65535)",
                       po->name, t[i], t[i + 1]);
      i += 2;
    } else {
      break;
    }
  }
  if ((p->sel.sport_hi || p->sel.dport_hi) && p->sel.proto == 0)
    return cf_fail(pc, "policy '%s': ports need a protocol (proto tcp, udp, sctp, icmp ...)",
                   po->name);
  if (i >= n)
    return cf_fail(pc, "policy '%s': no action (protect SA..., bypass or discard)", po->name);
  const char *act = t[i++];
  if (!strcmp(act, "bypass") || !strcmp(act, "discard")) {
    p->action = act[0] == 'b' ? IPSEC_ACT_BYPASS : IPSEC_ACT_DISCARD;
    if (i < n) return cf_fail(pc, "policy '%s': '%s' after %s", po->name, t[i], act);
  } else if (!strcmp(act, "protect")) {
    p->action = IPSEC_ACT_PROTECT;
    for (; i < n; i++) {
      char *save = NULL;
      for (char *s = strtok_r(t[i], ",", &save); s != NULL; s = strtok_r(NULL, ",", &save)) {
        int k = find_sa(c, s);
        if (k < 0)
          return cf_fail(pc, "policy '%s' names sa '%s', which is not defined above", po->name, s);
        if (c->sa[k].p.dir != p->dir)
          return cf_fail(pc, "policy '%s' is %s but sa '%s' is %s", po->name,
                         p->dir == IPSEC_DIR_OUT ? "outbound" : "inbound", s,
                         c->sa[k].p.dir == IPSEC_DIR_OUT ? "outbound" : "inbound");
        if (p->nsa == IPSEC_MAX_CHAIN)
          return cf_fail(pc, "policy '%s' applies more than %d SAs", po->name, IPSEC_MAX_CHAIN);
        for (int j = 0; j < p->nsa; j++)
          if (po->sa[j] == k) return cf_fail(pc, "policy '%s' names sa '%s' twice", po->name, s);
        po->sa[p->nsa++] = k;
      }
    }
    if (p->nsa == 0) return cf_fail(pc, "policy '%s': protect needs at least one sa", po->name);
  } else {
    return cf_fail(pc, "policy '%s': '%s' is not an action (protect, bypass or discard)", po->name,
                   act);
  }
  c->npol++;
  return 0;
}

/* --- global statements -------------------------------------------------------------------- */

static int copy_str(struct pctx *pc, char *dst, size_t size, const char *s, const char *what) {
  if (strlen(s) >= size) return cf_fail(pc, "%s longer than %zu characters", what, size - 1);
  strcpy(dst, s);
  return 0;
}

static const char *const global_keywords =
    "interface, mtu, link-mtu, address, route, listen, port, keys, devices, ocfd, cpu-producer, "
    "control, workers, queues, pool, offload, default-out, default-in, sa, policy";

static int global_stmt(struct pctx *pc, char **t, int n) {
  struct conf *c = pc->c;
  const char *k = t[0];
  uint64_t v;
  int rc;
  if (!strcmp(k, "sa")) return cf_sa_open(pc, t, n);
  if (!strcmp(k, "policy")) return policy_stmt(pc, t, n);
  if (!strcmp(k, "interface")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "a name")) != 0) return rc;
    if (strlen(t[1]) >= IFNAMSIZ || strchr(t[1], '/') || strchr(t[1], ' '))
      return cf_fail(pc, "interface: '%s' is not a valid interface name (at most %d characters)",
                     t[1], IFNAMSIZ - 1);
    strcpy(c->ifname, t[1]);
  } else if (!strcmp(k, "mtu") || !strcmp(k, "link-mtu")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "bytes")) != 0) return rc;
    if (cf_parse_u64(t[1], 65535, &v) != 0 || v < 576)
      return cf_fail(pc, "%s: '%s' is not 576..65535", k, t[1]);
    if (k[0] == 'm')
      c->mtu = (uint32_t)v;
    else
      c->link_mtu = (uint32_t)v;
  } else if (!strcmp(k, "address") || !strcmp(k, "route")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "ADDRESS/LENGTH")) != 0) return rc;
    bool addr = k[0] == 'a';
    int *cnt = addr ? &c->naddr : &c->nroute;
    if (*cnt == GW_MAX_ADDRS) return cf_fail(pc, "more than %d '%s' lines", GW_MAX_ADDRS, k);
    struct gw_prefix *pf = addr ? &c->addr[*cnt] : &c->route[*cnt];
    rc = conf_parse_prefix(t[1], pf);
    if (rc != 0 || pf->a.family == 0)
      return cf_fail(pc, "%s: '%s' is not ADDRESS/LENGTH%s", k, t[1],
                     rc == ERANGE ? " (prefix length too long for the family)" : "");
    for (int i = 0; addr && pf->a.family == AF_INET && i < *cnt; i++)
      if (c->addr[i].a.family == AF_INET)
        return cf_fail(pc,
                       "address: one IPv4 address per interface (already %s at an earlier line; "
                       "add 'route' lines for more prefixes)",
                       "given");
    (*cnt)++;
  } else if (!strcmp(k, "listen")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "a local address")) != 0) return rc;
    struct ipsec_addr a;
    if (ipsec_addr_parse(t[1], &a) != 0)
      return cf_fail(pc, "listen: '%s' is not an IPv4 or IPv6 address", t[1]);
    for (int i = 0; i < c->nlisten; i++)
      if (c->listen[i].family == a.family)
        return cf_fail(pc, "listen: one address per family (%s given twice)",
                       a.family == AF_INET ? "IPv4" : "IPv6");
    c->listen[c->nlisten++] = a;
  } else if (!strcmp(k, "port")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "a UDP port")) != 0) return rc;
    if (cf_parse_u64(t[1], 65535, &v) != 0 || v == 0)
      return cf_fail(pc, "port: '%s' is not 1..65535", t[1]);
    c->port = (uint16_t)v;
  } else if (!strcmp(k, "keys")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "a file name")) != 0) return rc;
    if ((rc = copy_str(pc, c->keys, sizeof(c->keys), t[1], "keys file name")) != 0) return rc;
    pc->keys_line = pc->line;
  } else if (!strcmp(k, "ocfd")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "the daemon's socket path")) != 0) return rc;
    return copy_str(pc, c->ocfd, sizeof(c->ocfd), t[1], "ocfd socket path");
  } else if (!strcmp(k, "devices")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "a device string")) != 0) return rc;
    return copy_str(pc, c->devices, sizeof(c->devices), t[1], "device string");
  } else if (!strcmp(k, "control")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "a socket path")) != 0) return rc;
    return copy_str(pc, c->control, sizeof(c->control), t[1], "control socket path");
  } else if (!strcmp(k, "cpu-producer") || !strcmp(k, "workers") || !strcmp(k, "queues") ||
             !strcmp(k, "pool")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "a number")) != 0) return rc;
    uint64_t max = k[0] == 'q' ? GW_MAX_QUEUES : k[0] == 'p' ? 65536 : 64;
    uint64_t min = k[0] == 'c' ? 0 : k[0] == 'p' ? 2 * GW_BATCH : 1;
    if (cf_parse_u64(t[1], max, &v) != 0 || v < min)
      return cf_fail(pc, "%s: '%s' is not %llu..%llu", k, t[1], (unsigned long long)min,
                     (unsigned long long)max);
    if (k[0] == 'c')
      c->cpu_threads = (int)v;
    else if (k[0] == 'w')
      c->workers = (int)v;
    else if (k[0] == 'q')
      c->queues = (int)v;
    else
      c->pool = (int)v;
  } else if (!strcmp(k, "offload")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "on or off")) != 0) return rc;
    bool b;
    if (cf_parse_bool(t[1], &b) != 0)
      return cf_fail(pc, "offload: '%s' is neither on nor off", t[1]);
    c->offload = b;
  } else if (!strcmp(k, "default-out") || !strcmp(k, "default-in")) {
    if ((rc = cf_want_args(pc, t, n, 1, 1, "discard or bypass")) != 0) return rc;
    enum ipsec_action a;
    if (!strcmp(t[1], "discard"))
      a = IPSEC_ACT_DISCARD;
    else if (!strcmp(t[1], "bypass"))
      a = IPSEC_ACT_BYPASS;
    else
      return cf_fail(pc, "%s: '%s' is neither discard nor bypass", k, t[1]);
    if (k[8] == 'o')
      c->out_default = a;
    else
      c->in_default = a;
  } else if (!strcmp(k, "}")) {
    return cf_fail(pc, "'}' without an open sa block");
  } else {
    return cf_fail(pc, "unknown keyword '%s' (one of: %s)", k, global_keywords);
  }
  return 0;
}

/* --- the file --------------------------------------------------------------------------------- */

/* Splits a line into tokens; '{' and '}' are tokens of their own. */
static int tokenize(char *line, char **t, char *store, size_t storelen) {
  int n = 0;
  size_t used = 0;
  for (char *p = line; *p;) {
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
    if (*p == '\0' || *p == '#') break;
    if (n == MAX_TOK) return -1;
    char *start = store + used;
    if (*p == '{' || *p == '}') {
      if (used + 2 > storelen) return -1;
      store[used++] = *p++;
      store[used++] = '\0';
    } else {
      while (*p && !strchr(" \t\r\n{}#", *p)) {
        if (used + 2 > storelen) return -1;
        store[used++] = *p++;
      }
      store[used++] = '\0';
    }
    t[n++] = start;
  }
  return n;
}

static void defaults(struct conf *c, const char *path) {
  snprintf(c->path, sizeof(c->path), "%s", path);
  strcpy(c->ifname, "ipsec0");
  c->link_mtu = 1500;
  c->port = GW_DEFAULT_PORT;
  c->workers = 1;
  c->queues = 1;
  c->pool = 1024;
  c->offload = 1;
  c->out_default = IPSEC_ACT_DISCARD;
  c->in_default = IPSEC_ACT_DISCARD;
}

static int finish(struct pctx *pc, struct keyfile *kf) {
  struct conf *c = pc->c;
  if (pc->nrefs > 0) {
    if (c->keys[0] == '\0') {
      pc->line = pc->refs[0].line;
      return cf_fail(pc, "key @%s: no 'keys FILE' statement names a keys file", pc->refs[0].name);
    }
    int rc = load_keys(pc, kf);
    if (rc != 0) return rc;
    for (int i = 0; i < pc->nrefs; i++) {
      struct keyref *r = &pc->refs[i];
      const struct keyent *k = NULL;
      for (int j = 0; j < kf->n && k == NULL; j++)
        if (!strcmp(kf->k[j].name, r->name)) k = &kf->k[j];
      if (k == NULL) {
        pc->line = r->line;
        return cf_fail(pc, "key @%s is not in the keys file %s", r->name, c->keys);
      }
      struct conf_sa *s = &c->sa[r->sa];
      memcpy(r->auth ? s->auth_key : s->enc_key, k->key, k->len);
      if (r->auth)
        s->p.auth_key_len = k->len;
      else
        s->p.enc_key_len = k->len;
    }
  }
  for (int i = 0; i < c->nsa; i++) {
    struct conf_sa *s = &c->sa[i];
    s->p.name = s->name;
    s->p.enc_key = s->enc_key;
    s->p.auth_key = s->auth_key;
    if (s->p.pmtu == 0) s->p.pmtu = c->link_mtu;
    if (s->encap == GW_ENCAP_UDP) {
      s->p.flags |= IPSEC_SA_UDP_ENCAP;
      if (s->p.encap_dport == 0) s->p.encap_dport = GW_DEFAULT_PORT;
      s->p.encap_sport = c->port;
      if (s->p.dir == IPSEC_DIR_IN) { /* the peer's port is its source */
        uint16_t x = s->p.encap_sport;
        s->p.encap_sport = s->p.encap_dport;
        s->p.encap_dport = x;
      }
    }
  }
  if (pc->inline_keys) {
    struct stat st;
    if (stat(pc->path, &st) == 0 && (st.st_mode & 004))
      gw_log(1,
             "%s:%d: keys written in a file everyone can read; move them to a keys file "
             "(keys FILE, mode 600) or chmod o-r %s",
             pc->path, pc->inline_line, pc->path);
  }
  return 0;
}

int conf_load(const char *path, struct conf **out, char *err, size_t errlen) {
  *out = NULL;
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    int e = errno;
    snprintf(err, errlen, "%s: %s", path, strerror(e));
    return e;
  }
  struct conf *c = calloc(1, sizeof(*c));
  if (c != NULL) {
    c->sa = calloc(MAX_SA, sizeof(*c->sa));
    c->pol = calloc(MAX_POL, sizeof(*c->pol));
  }
  if (c == NULL || c->sa == NULL || c->pol == NULL) {
    fclose(f);
    conf_free(c);
    snprintf(err, errlen, "%s: out of memory", path);
    return ENOMEM;
  }
  defaults(c, path);
  struct pctx pc = {.c = c, .path = path, .err = err, .errlen = errlen};
  struct keyfile kf = {0};
  char line[4096], store[4096];
  char *t[MAX_TOK];
  int rc = 0;
  while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
    pc.line++;
    if (strchr(line, '\n') == NULL && !feof(f)) {
      rc = cf_fail(&pc, "line longer than %zu characters", sizeof(line) - 2);
      break;
    }
    int n = tokenize(line, t, store, sizeof(store));
    if (n < 0) {
      rc = cf_fail(&pc, "more than %d words on one line", MAX_TOK);
      break;
    }
    if (n == 0) continue;
    if (pc.cur != NULL) {
      if (!strcmp(t[0], "}")) {
        rc = n == 1 ? cf_sa_close(&pc) : cf_fail(&pc, "'}' must stand alone on its line");
      } else if (!strcmp(t[0], "sa") || !strcmp(t[0], "policy")) {
        rc = cf_fail(&pc, "'%s' inside sa '%s' (missing '}' after line %d?)", t[0], pc.cur->name,
                     pc.cur->line);
      } else {
        for (int i = 1; i < n; i++)
          if (!strcmp(t[i], "{") || !strcmp(t[i], "}"))
            rc = cf_fail(&pc, "'%s' in the middle of a statement", t[i]);
        if (rc == 0) rc = cf_sa_stmt(&pc, t, n);
      }
    } else {
      rc = global_stmt(&pc, t, n);
    }
  }
  explicit_bzero(line, sizeof(line));
  explicit_bzero(store, sizeof(store));
  if (rc == 0 && ferror(f)) rc = cf_fail(&pc, "read error");
  fclose(f);
  if (rc == 0 && pc.cur != NULL) {
    pc.line = pc.cur->line;
    rc = cf_fail(&pc, "sa '%s' is not closed with '}'", pc.cur->name);
  }
  if (rc == 0 && c->nsa == 0 && c->npol == 0) {
    pc.line = 0;
    snprintf(err, errlen, "%s: no sa and no policy: nothing to do", path);
    rc = EINVAL;
  }
  if (rc == 0) rc = finish(&pc, &kf);
  keyfile_free(&kf);
  free(pc.refs);
  if (rc != 0) {
    conf_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

void conf_free(struct conf *c) {
  if (c == NULL) return;
  if (c->sa != NULL) {
    explicit_bzero(c->sa, MAX_SA * sizeof(*c->sa));
    free(c->sa);
  }
  free(c->pol);
  free(c);
}
