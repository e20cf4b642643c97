/* ocf_tool.h - the subcommands of the `ocf` command. */
#ifndef OCF_TOOLS_OCF_TOOL_H
#define OCF_TOOLS_OCF_TOOL_H

#include <stdio.h>

/* Each cmd_* gets argv[0] = its own name and returns the process exit code:
 * 0 success, 1 failure, 2 usage error. */
int cmd_bench(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_drivers(int argc, char **argv);
int cmd_stat(int argc, char **argv);

/* cmd_stat_ipsec is `ocf stat --ipsec` (stat_ipsec.c): a running
 * ocf-ipsecd's counters; cmd_bench_tunnel is `ocf bench --tunnel`
 * (bench_tunnel.c): the gateway between two network namespaces. */
int cmd_stat_ipsec(int argc, char **argv);
int cmd_bench_tunnel(int argc, char **argv);

void bench_usage(FILE *f);
/* bench_ipsec is `ocf bench --ipsec` (bench_ipsec.c). */
int bench_ipsec(int argc, char **argv);

#endif /* OCF_TOOLS_OCF_TOOL_H */
