/* conf.c - ocfd's settings: defaults, "key = value" parsing (shared by the
 * configuration file and the long options), and the log function. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "ocfd/ocfd.h"

int ocfd_verbose;

void ocfd_log(int level, const char *fmt, ...) {
  if (level > ocfd_verbose) return;
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  fprintf(stderr, "ocfd: %s\n", line);
}

void ocfd_log_every(struct ocfd_ratelimit *rl, int level, const char *fmt, ...) {
  if (level > ocfd_verbose) return;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  if (rl->last_s != 0 && ts.tv_sec - rl->last_s < 1) {
    rl->dropped++;
    return;
  }
  rl->last_s = ts.tv_sec == 0 ? 1 : ts.tv_sec;
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  if (rl->dropped)
    fprintf(stderr, "ocfd: %s (%lu more not logged)\n", line, rl->dropped);
  else
    fprintf(stderr, "ocfd: %s\n", line);
  rl->dropped = 0;
}

void ocfd_conf_defaults(struct ocfd_conf *c) {
  memset(c, 0, sizeof(*c));
  snprintf(c->socket, sizeof(c->socket), "%s", OCFD_DEFAULT_SOCKET);
  c->allow_soft = 1;
  c->max_req = 16u << 20;
  c->max_inflight = 1024;
  c->max_inflight_bytes = 64u << 20;
  c->max_outq = 4u << 20;
  c->max_work_ms = 2000;
  c->max_clients = 4096;
  c->max_sessions = 4096;
  c->max_shm = 1u << 30;
  c->inline_max = 1024;
  c->assist_max = 256u << 10;
  c->poll_us = 100;
  c->follow = 1;
}

/* parse_size: digits and an optional K, M or G.  strtoull would take a
 * sign ("-1" as 2^64 - 1) and the shift could wrap ("16777216T" to 0, a
 * limit that lets nothing through): both are refused. */
static int parse_size(const char *s, size_t *out) {
  char *end;
  if (!isdigit((unsigned char)*s)) return EINVAL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s) return EINVAL;
  int shift = 0;
  if (*end == 'k' || *end == 'K')
    shift = 10, end++;
  else if (*end == 'm' || *end == 'M')
    shift = 20, end++;
  else if (*end == 'g' || *end == 'G')
    shift = 30, end++;
  if (*end != '\0' || v > (SIZE_MAX >> shift)) return EINVAL;
  *out = (size_t)v << shift;
  return 0;
}

static int parse_int(const char *s, int lo, int hi, int *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end != '\0' || v < lo || v > hi) return EINVAL;
  *out = (int)v;
  return 0;
}

static int parse_bool(const char *s, int *out) {
  if (!strcasecmp(s, "1") || !strcasecmp(s, "yes") || !strcasecmp(s, "true") ||
      !strcasecmp(s, "on"))
    *out = 1;
  else if (!strcasecmp(s, "0") || !strcasecmp(s, "no") || !strcasecmp(s, "false") ||
           !strcasecmp(s, "off"))
    *out = 0;
  else
    return EINVAL;
  return 0;
}

static int copy_str(char *dst, size_t cap, const char *s) {
  if (strlen(s) >= cap) return EINVAL;
  strcpy(dst, s);
  return 0;
}

static int parse_uids(struct ocfd_conf *c, const char *s) {
  char buf[512];
  if (copy_str(buf, sizeof(buf), s)) return EINVAL;
  c->nuids = 0;
  for (char *save = NULL, *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
    int v;
    if (c->nuids == OCFD_MAX_UIDS || parse_int(t, 0, INT_MAX, &v)) return EINVAL;
    c->uids[c->nuids++] = (uid_t)v;
  }
  return 0;
}

void ocfd_conf_host(struct ocfd_conf *c) {
  long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
  uint64_t ram = pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize : 4ull << 30;
  if (c->max_shm_total == 0) c->max_shm_total = (size_t)(ram / 4);
  if (c->max_memory == 0) c->max_memory = (size_t)(ram / 4);
  if (c->max_maps == 0) {
    /* the kernel's per-process limit, half of it: the rest is the
     * daemon's own (heap, libraries, thread stacks) */
    long mmc = 65530;
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    if (f != NULL) {
      if (fscanf(f, "%ld", &mmc) != 1 || mmc < 1024) mmc = 65530;
      fclose(f);
    }
    c->max_maps = (int)(mmc / 2 < (1 << 24) ? mmc / 2 : 1 << 24);
  }
}

int ocfd_conf_set(struct ocfd_conf *c, const char *key, const char *val) {
  int rc = EINVAL, v;
  if (!strcmp(key, "socket"))
    rc = copy_str(c->socket, sizeof(c->socket), val);
  else if (!strcmp(key, "group"))
    rc = copy_str(c->group, sizeof(c->group), val);
  else if (!strcmp(key, "devices"))
    rc = copy_str(c->devices, sizeof(c->devices), val);
  else if (!strcmp(key, "policy"))
    rc = copy_str(c->policy, sizeof(c->policy), val);
  else if (!strcmp(key, "workers"))
    rc = parse_int(val, 0, 256, &c->workers);
  else if (!strcmp(key, "allow-soft"))
    rc = parse_bool(val, &c->allow_soft);
  else if (!strcmp(key, "no-soft"))
    rc = parse_bool(val, &c->no_soft);
  else if (!strcmp(key, "soft-pk-disabled"))
    rc = parse_bool(val, &c->soft_pk_disabled);
  else if (!strcmp(key, "max-request")) {
    rc = parse_size(val, &c->max_req);
    if (!rc && (c->max_req < 64 || c->max_req > (1u << 30))) rc = EINVAL;
  } else if (!strcmp(key, "max-inflight"))
    rc = parse_int(val, 1, 1 << 20, &c->max_inflight);
  /* 0 for either of these would throttle every client for good: the
   * daemon would accept connections and never read them */
  else if (!strcmp(key, "max-inflight-bytes")) {
    rc = parse_size(val, &c->max_inflight_bytes);
    if (!rc && c->max_inflight_bytes == 0) rc = EINVAL;
  } else if (!strcmp(key, "max-outq")) {
    rc = parse_size(val, &c->max_outq);
    if (!rc && c->max_outq == 0) rc = EINVAL;
  } else if (!strcmp(key, "max-work"))
    rc = parse_int(val, 1, 3600000, &c->max_work_ms);
  else if (!strcmp(key, "max-clients"))
    rc = parse_int(val, 1, 1 << 20, &c->max_clients);
  else if (!strcmp(key, "max-sessions"))
    rc = parse_int(val, 1, 1 << 20, &c->max_sessions);
  else if (!strcmp(key, "max-shm"))
    rc = parse_size(val, &c->max_shm);
  else if (!strcmp(key, "max-maps"))
    rc = parse_int(val, 1, 1 << 24, &c->max_maps);
  else if (!strcmp(key, "max-shm-total"))
    rc = parse_size(val, &c->max_shm_total);
  else if (!strcmp(key, "max-memory")) {
    rc = parse_size(val, &c->max_memory);
    if (!rc && c->max_memory < (1u << 20)) rc = EINVAL;
  } else if (!strcmp(key, "inline-max"))
    rc = parse_size(val, &c->inline_max);
  else if (!strcmp(key, "assist-max"))
    rc = parse_size(val, &c->assist_max);
  else if (!strcmp(key, "poll-us"))
    rc = parse_int(val, 0, 1000000, &c->poll_us);
  else if (!strcmp(key, "follow"))
    rc = parse_bool(val, &c->follow);
  else if (!strcmp(key, "verbose")) {
    rc = parse_int(val, 0, 3, &v);
    if (!rc) c->verbose = v;
  } else if (!strcmp(key, "allow-uids"))
    rc = parse_uids(c, val);
  return rc;
}

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  char *e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
  return s;
}

int ocfd_conf_file(struct ocfd_conf *c, const char *path) {
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    fprintf(stderr, "ocfd: %s: %s\n", path, strerror(errno));
    return errno;
  }
  char line[1024];
  int lineno = 0, rc = 0;
  while (fgets(line, sizeof(line), f) != NULL) {
    lineno++;
    /* the rest of a longer line would be read as a line of its own */
    if (strchr(line, '\n') == NULL && !feof(f)) {
      fprintf(stderr, "ocfd: %s:%d: line longer than %zu characters\n", path, lineno,
              sizeof(line) - 2);
      rc = EINVAL;
      break;
    }
    char *h = strchr(line, '#');
    if (h) *h = '\0';
    char *s = trim(line);
    if (*s == '\0') continue;
    char *eq = strchr(s, '=');
    if (eq == NULL) {
      fprintf(stderr, "ocfd: %s:%d: expected key = value\n", path, lineno);
      rc = EINVAL;
      break;
    }
    *eq = '\0';
    char *k = trim(s), *v = trim(eq + 1);
    if (ocfd_conf_set(c, k, v) != 0) {
      fprintf(stderr, "ocfd: %s:%d: bad setting '%s = %s'\n", path, lineno, k, v);
      rc = EINVAL;
      break;
    }
  }
  fclose(f);
  return rc;
}
