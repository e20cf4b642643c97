/* drivers.c - `ocf drivers` and `ocf stat`: what the in-process framework
 * instance has registered, and its per-producer counters. */
#include <ocf/driver.h>
#include <ocf/ocf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocf_tool.h"

/* common_args accepts only --help; anything else is a usage error. */
static int common_args(int argc, char **argv, const char *usage, int *done) {
  *done = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      fputs(usage, stdout);
      *done = 1;
      return 0;
    }
    fprintf(stderr, "ocf %s: unknown argument '%s'\n\n%s", argv[0], argv[i], usage);
    return 2;
  }
  return 0;
}

static int start(const char *cmd) {
  int e = ocf_init(NULL);
  if (e != 0) fprintf(stderr, "ocf %s: ocf_init: %s (%s)\n", cmd, ocf_strerror(e), ocf_errdetail());
  return e;
}

/* snapshot returns a malloc'ed array of all producers' counters. */
static struct ocf_driver_stat *snapshot(int *n) {
  struct ocf_driver_stat *st = NULL;
  int cap = 16;
  for (;;) {
    st = realloc(st, (size_t)cap * sizeof(*st));
    if (st == NULL) abort();
    *n = ocf_driver_stats(st, cap);
    if (*n <= cap) return st;
    cap = *n;
  }
}

static void flag_names(unsigned flags, int detached, char *buf, size_t len) {
  snprintf(buf, len, "%s%s%s%s", flags & OCF_DRV_HARDWARE ? "hardware," : "",
           flags & OCF_DRV_SOFTWARE ? "software," : "", flags & OCF_DRV_SYNC ? "sync," : "",
           detached ? "detached," : "");
  size_t l = strlen(buf);
  if (l)
    buf[l - 1] = 0;
  else
    snprintf(buf, len, "-");
}

int cmd_drivers(int argc, char **argv) {
  static const char usage[] =
      "usage: ocf drivers\n"
      "\n"
      "Lists the producers of an in-process framework instance: id, flags, active\n"
      "sessions, and each registered algorithm with its maximum operation length.\n";
  int done, rc = common_args(argc, argv, usage, &done);
  if (rc || done) return rc;
  if (start("drivers") != 0) return 1;
  int n;
  struct ocf_driver_stat *st = snapshot(&n);
  printf("%-20s %5s  %-24s %8s\n", "producer", "hid", "flags", "sessions");
  for (int i = 0; i < n; i++) {
    char flags[64];
    flag_names(st[i].flags, st[i].detached, flags, sizeof(flags));
    printf("%-20s %5u  %-24s %8llu\n", st[i].name, st[i].hid, flags,
           (unsigned long long)st[i].sessions);
    enum ocf_alg algs[OCF_ALG__MAX];
    size_t maxlen[OCF_ALG__MAX];
    int count = 0, e = ocf_driver_algs(st[i].hid, algs, maxlen, OCF_ALG__MAX, &count);
    if (e != 0) {
      printf("  (algorithms unavailable: %s)\n", ocf_strerror(e));
      rc = 1;
      continue;
    }
    if (count > OCF_ALG__MAX) count = OCF_ALG__MAX;
    printf("  %d algorithm%s:\n", count, count == 1 ? "" : "s");
    int col = 0;
    for (int k = 0; k < count; k++) {
      const struct ocf_alg_info *ai = ocf_alg_lookup(algs[k]);
      char item[96];
      if (maxlen[k])
        snprintf(item, sizeof(item), "%s (max %zu B)", ai ? ai->name : "?", maxlen[k]);
      else
        snprintf(item, sizeof(item), "%s", ai ? ai->name : "?");
      int w = (int)strlen(item) + 2;
      if (col > 0 && col + w > 96) {
        putchar('\n');
        col = 0;
      }
      printf("%s%s%s", col == 0 ? "    " : "", item, k + 1 < count ? ", " : "\n");
      col += w + (col == 0 ? 4 : 0);
    }
    if (count > 0 && maxlen[0] == 0) {
      int all_unlimited = 1;
      for (int k = 0; k < count; k++) all_unlimited &= maxlen[k] == 0;
      if (all_unlimited) printf("    (no operation length limit)\n");
    }
  }
  if (n == 0) printf("(no producers)\n");
  free(st);
  ocf_shutdown();
  return rc;
}

int cmd_stat(int argc, char **argv) {
  static const char usage[] =
      "usage: ocf stat\n"
      "\n"
      "Prints a snapshot of each producer's counters in an in-process framework\n"
      "instance: active sessions, completed requests (symmetric and public-key),\n"
      "payload bytes, errors, sessions migrated away, requests queued or in process.\n";
  int done, rc = common_args(argc, argv, usage, &done);
  if (rc || done) return rc;
  if (start("stat") != 0) return 1;
  int n;
  struct ocf_driver_stat *st = snapshot(&n);
  printf("%5s %-16s %-18s %9s %12s %10s %14s %8s %10s %8s\n", "hid", "producer", "flags",
         "sessions", "requests", "krequests", "bytes", "errors", "migrations", "queued");
  for (int i = 0; i < n; i++) {
    char flags[64];
    flag_names(st[i].flags, st[i].detached, flags, sizeof(flags));
    printf("%5u %-16s %-18s %9llu %12llu %10llu %14llu %8llu %10llu %8llu\n", st[i].hid, st[i].name,
           flags, (unsigned long long)st[i].sessions, (unsigned long long)st[i].requests,
           (unsigned long long)st[i].krequests, (unsigned long long)st[i].bytes,
           (unsigned long long)st[i].errors, (unsigned long long)st[i].migrations,
           (unsigned long long)st[i].queued);
  }
  if (n == 0) printf("(no producers)\n");
  free(st);
  ocf_shutdown();
  return 0;
}
