/* main.c - the `ocf` command: subcommand dispatch and top-level help. */
#include <ocf/ocf.h>
#include <stdio.h>
#include <string.h>

#include "ocf_tool.h"

static const struct {
  const char *name;
  int (*fn)(int, char **);
  const char *help;
} cmds[] = {
    {"bench", cmd_bench, "framework vs direct OpenSSL throughput and latency"},
    {"check", cmd_check, "check every producer's algorithms against OpenSSL and known answers"},
    {"drivers", cmd_drivers, "list producers, their flags, algorithms and limits"},
    {"stat", cmd_stat, "per-producer counters; --ipsec: a running ocf-ipsecd's SAs"},
};

static void usage(FILE *f) {
  fprintf(f,
          "usage: ocf <command> [options]\n"
          "       ocf <command> --help\n"
          "\n"
          "commands:\n");
  for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
    fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].help);
  fprintf(f,
          "\n"
          "  -h, --help     this text\n"
          "  --version      print the libocf version\n"
          "\n"
          "The commands run an in-process instance of the framework (libocf %s).\n",
          OCF_VERSION);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
    if (strcmp(cmd, "help") == 0 && argc > 2) {
      char *sub[] = {argv[2], "--help", NULL};
      for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(argv[2], cmds[i].name) == 0) return cmds[i].fn(2, sub);
    }
    usage(stdout);
    return 0;
  }
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
    printf("ocf %s\n", OCF_VERSION);
    return 0;
  }
  /* the gateway's views live in their own files (stat_ipsec.c, bench_tunnel.c) */
  for (int i = 2; i < argc; i++) {
    if (strcmp(cmd, "stat") == 0 && strcmp(argv[i], "--ipsec") == 0)
      return cmd_stat_ipsec(argc - 1, argv + 1);
    if (strcmp(cmd, "bench") == 0 && strcmp(argv[i], "--tunnel") == 0)
      return cmd_bench_tunnel(argc - 1, argv + 1);
  }
  for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
    if (strcmp(cmd, cmds[i].name) == 0) return cmds[i].fn(argc - 1, argv + 1);
  fprintf(stderr, "ocf: unknown command '%s'\n\n", cmd);
  usage(stderr);
  return 2;
}
