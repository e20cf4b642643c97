/* bench_cdev.h - the cryptodev path of `ocf bench` (bench_cdev.c). */
#ifndef OCF_TOOLS_BENCH_CDEV_H
#define OCF_TOOLS_BENCH_CDEV_H

#include "bench.h"

/* bench_cdev_run runs one timed round of about seconds of synchronous
 * CIOCCRYPT (CIOCAUTHCRYPT for AEADs) requests of size bytes on case c, in a
 * child process under LD_PRELOAD=libocfpreload.so talking to the daemon at
 * sock; it adds to r->ops and r->elapsed, and to lat_w[0] / lat_w[1] the p50
 * and p99 latencies weighted by the requests.  ENOTSUP (r->skipped set) for a
 * case cryptodev has no ids for; other errors with r->msg set. */
int bench_cdev_run(const char *sock, const struct bench_case *c, size_t size, double seconds,
                   struct bench_result *r, double *lat_w);

/* bench_cdev_child is that child: `ocf bench --cdev-child FD CIPHER MAC KEY
 * MACKEY IV SIZE SECONDS` (argv[0] is "--cdev-child"), run by bench_cdev_run
 * only; it writes its report into FD.  Returns the exit status. */
int bench_cdev_child(int argc, char **argv);

#endif /* OCF_TOOLS_BENCH_CDEV_H */
