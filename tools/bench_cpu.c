/* bench_cpu.c - what `ocf bench` needs to compare paths per CPU rather than
 * per wall second: process CPU time, the CPU time of another process (a
 * private ocfd), and pinning every thread of this process to one CPU for the
 * same-core measurements. */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

double bench_cpu_seconds(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return 0;
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double bench_children_cpu_seconds(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_CHILDREN, &ru) != 0) return 0;
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

/* Per-thread schedstat gives nanoseconds on CPU; /proc/PID/stat only counts
 * clock ticks, too coarse for rounds of a few tens of milliseconds. */
double bench_pid_cpu_seconds(int pid) {
  char dir[64];
  snprintf(dir, sizeof(dir), "/proc/%d/task", pid);
  DIR *d = opendir(dir);
  if (d == NULL) return -1;
  double total = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char path[128];
    snprintf(path, sizeof(path), "%s/%.32s/schedstat", dir, e->d_name);
    FILE *f = fopen(path, "r");
    if (f == NULL) continue; /* the thread exited meanwhile */
    unsigned long long ns = 0;
    if (fscanf(f, "%llu", &ns) == 1) total += (double)ns * 1e-9;
    fclose(f);
  }
  closedir(d);
  return total;
}

int bench_affinity(cpu_set_t *set) {
  CPU_ZERO(set);
  return sched_getaffinity(0, sizeof(*set), set) == 0 ? 0 : errno;
}

int bench_pin_all(const cpu_set_t *set) {
  /* Threads started later (a round's consumer threads) inherit the
   * affinity of the thread that creates them, which is pinned here too. */
  DIR *d = opendir("/proc/self/task");
  if (d == NULL) return errno;
  int err = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    pid_t tid = (pid_t)atoi(e->d_name);
    /* ESRCH: the thread exited between readdir and here */
    if (sched_setaffinity(tid, sizeof(*set), set) != 0 && errno != ESRCH && err == 0) err = errno;
  }
  closedir(d);
  return err;
}

int bench_first_cpu(const cpu_set_t *set) {
  for (int c = 0; c < CPU_SETSIZE; c++)
    if (CPU_ISSET(c, set)) return c;
  return -1;
}

void bench_cpu_list(const cpu_set_t *set, char *buf, size_t len) {
  size_t k = 0;
  buf[0] = '\0';
  for (int c = 0; c < CPU_SETSIZE && k + 16 < len; c++) {
    if (!CPU_ISSET(c, set)) continue;
    int e = c;
    while (e + 1 < CPU_SETSIZE && CPU_ISSET(e + 1, set)) e++;
    k += (size_t)snprintf(buf + k, len - k, "%s%d", k ? "," : "", c);
    if (e > c) k += (size_t)snprintf(buf + k, len - k, "-%d", e);
    c = e;
  }
}
