/* main.c - ocfd's command line and configuration file.
 *
 * Precedence: defaults < config file (-c) < $OCF_SOCKET (socket only) <
 * command-line options, so a unit file can pin what it needs. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

void ocfd_conf_defaults(struct ocfd_conf *c) {
  memset(c, 0, sizeof(*c));
  snprintf(c->socket, sizeof(c->socket), "%s", OCFD_DEFAULT_SOCKET);
  c->allow_soft = 1;
  c->max_req = 16u << 20;
  c->max_inflight = 1024;
  c->max_inflight_bytes = 64u << 20;
  c->max_outq = 4u << 20;
  c->max_clients = 4096;
  c->max_sessions = 4096;
  c->max_shm = 1u << 30;
  c->inline_max = 1024;
  c->assist_max = 256u << 10;
  c->poll_us = 100;
  c->follow = 1;
}

static int parse_size(const char *s, size_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s) return EINVAL;
  if (*end == 'k' || *end == 'K')
    v <<= 10, end++;
  else if (*end == 'm' || *end == 'M')
    v <<= 20, end++;
  else if (*end == 'g' || *end == 'G')
    v <<= 30, end++;
  if (*end != '\0') return EINVAL;
  *out = (size_t)v;
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
  else if (!strcmp(key, "max-inflight-bytes"))
    rc = parse_size(val, &c->max_inflight_bytes);
  else if (!strcmp(key, "max-outq"))
    rc = parse_size(val, &c->max_outq);
  else if (!strcmp(key, "max-clients"))
    rc = parse_int(val, 1, 1 << 20, &c->max_clients);
  else if (!strcmp(key, "max-sessions"))
    rc = parse_int(val, 1, 1 << 20, &c->max_sessions);
  else if (!strcmp(key, "max-shm"))
    rc = parse_size(val, &c->max_shm);
  else if (!strcmp(key, "inline-max"))
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

static void usage(FILE *f) {
  fprintf(f,
          "usage: ocfd [options]\n"
          "  -s, --socket PATH        listening socket (default $OCF_SOCKET or %s)\n"
          "  -c, --config FILE        read key = value settings (same names as the long options)\n"
          "  -d, --devices STRING     modeled producers, e.g. hifn7751*2 (default $OCF_DEVICES)\n"
          "  -w, --workers N          framework worker threads (0 = CPUs)\n"
          "      --policy NAME        balancing policy: sessions, capacity, size\n"
          "      --allow-soft BOOL    clients may be served by software (default yes); when no,\n"
          "                           sessions only software could serve fail with EINVAL\n"
          "      --no-soft            do not attach the software producer\n"
          "      --soft-pk-disabled   software producer refuses public-key requests\n"
          "      --max-request SIZE   longest request buffer (default 16M)\n"
          "      --max-inflight N     requests in flight per client (default 1024)\n"
          "      --max-outq SIZE      unread reply bytes per client before it is throttled (4M)\n"
          "      --max-clients N      simultaneous connections (default 4096)\n"
          "      --max-sessions N     sessions per connection (default 4096)\n"
          "      --max-shm SIZE       shared memory per connection (default 1G)\n"
          "      --inline-max SIZE    requests up to SIZE run on the event thread (default 1K)\n"
          "      --assist-max SIZE    between events the event thread runs queued requests up\n"
          "                           to SIZE itself (default 256K; 0 = never), and the\n"
          "                           framework starts one worker fewer than CPUs\n"
          "      --poll-us N          with clients on rings, the event thread polls them\n"
          "                           instead of sleeping for N us after their last activity\n"
          "                           (10 N while requests run; default 100; 0 = never)\n"
          "      --follow BOOL        the event thread moves to the CPU of a ring client it\n"
          "                           keeps waking on another one (default yes)\n"
          "      --group NAME         group owning the socket (mode 0660)\n"
          "      --allow-uids LIST    only these peer uids (plus root and ours) may connect\n"
          "  -v, --verbose            more logging (repeat)\n"
          "  -h, --help\n",
          OCFD_DEFAULT_SOCKET);
}

int main(int argc, char **argv) {
  struct ocfd_conf conf;
  ocfd_conf_defaults(&conf);
  static const struct option longopts[] = {{"socket", required_argument, NULL, 's'},
                                           {"config", required_argument, NULL, 'c'},
                                           {"devices", required_argument, NULL, 'd'},
                                           {"workers", required_argument, NULL, 'w'},
                                           {"verbose", no_argument, NULL, 'v'},
                                           {"help", no_argument, NULL, 'h'},
                                           {"policy", required_argument, NULL, 1},
                                           {"allow-soft", required_argument, NULL, 1},
                                           {"no-soft", no_argument, NULL, 2},
                                           {"soft-pk-disabled", no_argument, NULL, 2},
                                           {"max-request", required_argument, NULL, 1},
                                           {"max-inflight", required_argument, NULL, 1},
                                           {"max-inflight-bytes", required_argument, NULL, 1},
                                           {"max-outq", required_argument, NULL, 1},
                                           {"max-clients", required_argument, NULL, 1},
                                           {"max-sessions", required_argument, NULL, 1},
                                           {"max-shm", required_argument, NULL, 1},
                                           {"inline-max", required_argument, NULL, 1},
                                           {"assist-max", required_argument, NULL, 1},
                                           {"poll-us", required_argument, NULL, 1},
                                           {"follow", required_argument, NULL, 1},
                                           {"group", required_argument, NULL, 1},
                                           {"allow-uids", required_argument, NULL, 1},
                                           {NULL, 0, NULL, 0}};
  /* First pass: the config file, so options given on the line win. */
  for (int i = 1; i < argc; i++) {
    const char *path = NULL;
    if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc)
      path = argv[i + 1];
    else if (!strncmp(argv[i], "--config=", 9))
      path = argv[i] + 9;
    if (path && ocfd_conf_file(&conf, path) != 0) return 2;
  }
  const char *env = getenv("OCF_SOCKET");
  if (env != NULL && *env != '\0' && ocfd_conf_set(&conf, "socket", env) != 0) {
    fprintf(stderr, "ocfd: OCF_SOCKET is too long\n");
    return 2;
  }
  int opt, idx = 0, verbose = conf.verbose;
  while ((opt = getopt_long(argc, argv, "s:c:d:w:vh", longopts, &idx)) != -1) {
    int rc = 0;
    switch (opt) {
      case 's':
        rc = ocfd_conf_set(&conf, "socket", optarg);
        break;
      case 'c':
        break;
      case 'd':
        rc = ocfd_conf_set(&conf, "devices", optarg);
        break;
      case 'w':
        rc = ocfd_conf_set(&conf, "workers", optarg);
        break;
      case 'v':
        verbose++;
        break;
      case 'h':
        usage(stdout);
        return 0;
      case 1:
        rc = ocfd_conf_set(&conf, longopts[idx].name, optarg);
        break;
      case 2:
        rc = ocfd_conf_set(&conf, longopts[idx].name, "1");
        break;
      default:
        usage(stderr);
        return 2;
    }
    if (rc) {
      fprintf(stderr, "ocfd: bad value for option %s\n",
              opt == 1 ? longopts[idx].name : argv[optind - 1]);
      return 2;
    }
  }
  if (optind < argc) {
    usage(stderr);
    return 2;
  }
  conf.verbose = verbose;
  ocfd_verbose = verbose;
  return ocfd_serve(&conf);
}
