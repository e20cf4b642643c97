/* test_ocfd_util.h - spawning ocfd for the tests: a private socket in a
 * mkdtemp directory, wait until it answers, SIGTERM at the end and require a
 * clean exit (under ASan a leak makes the exit status non-zero). */
#ifndef OCF_TESTS_OCFD_UTIL_H
#define OCF_TESTS_OCFD_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ocf/ocfdev.h>

struct ocfd_proc {
  pid_t pid;
  char dir[64];
  char sock[128];
};

static inline const char *ocfd_build_dir(void) {
  const char *b = getenv("OCF_BUILD_DIR");
  return b && *b ? b : ".";
}

/* ocfd_spawn runs build/ocfd on a fresh socket with extra arguments (a
 * NULL-terminated array), under RLIMIT_NOFILE nofile (0: inherited), its
 * standard error to the file logpath (NULL: inherited); returns 0 once a
 * client can connect. */
static inline int ocfd_spawn(struct ocfd_proc *p, long nofile, const char *logpath,
                             const char *const *extra) {
  const char *argv[32];
  int n = 0;
  char bin[512];
  snprintf(bin, sizeof(bin), "%s/ocfd", ocfd_build_dir());
  snprintf(p->dir, sizeof(p->dir), "/tmp/ocfdtest.XXXXXX");
  if (mkdtemp(p->dir) == NULL) return errno;
  snprintf(p->sock, sizeof(p->sock), "%s/s", p->dir);
  argv[n++] = bin;
  argv[n++] = "-s";
  argv[n++] = p->sock;
  for (int i = 0; extra && extra[i] && n < 30; i++) argv[n++] = extra[i];
  argv[n] = NULL;
  p->pid = fork();
  if (p->pid < 0) return errno;
  if (p->pid == 0) {
    if (nofile > 0) {
      struct rlimit rl = {(rlim_t)nofile, (rlim_t)nofile};
      if (setrlimit(RLIMIT_NOFILE, &rl) != 0) _exit(126);
    }
    if (logpath) {
      int lf = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (lf < 0 || dup2(lf, 2) < 0) _exit(126);
    }
    execv(bin, (char *const *)argv);
    _exit(127);
  }
  for (int i = 0; i < 1000; i++) {
    struct ocfdev *d;
    if (ocfdev_open(p->sock, &d) == 0) {
      ocfdev_close(d);
      return 0;
    }
    int st;
    if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
      p->pid = 0;
      return ECHILD;
    }
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  kill(p->pid, SIGKILL);
  waitpid(p->pid, NULL, 0);
  p->pid = 0;
  return ETIMEDOUT;
}

/* ocfd_start is ocfd_spawn with the extra arguments as a NULL-terminated
 * list, nothing else changed. */
static inline int ocfd_start(struct ocfd_proc *p, ...) {
  const char *extra[28];
  int n = 0;
  va_list ap;
  va_start(ap, p);
  const char *a;
  while ((a = va_arg(ap, const char *)) != NULL && n < 27) extra[n++] = a;
  va_end(ap);
  extra[n] = NULL;
  return ocfd_spawn(p, 0, NULL, extra);
}

/* ocfd_stop ends the daemon; returns its exit status (0 = clean), or -1. */
static inline int ocfd_stop(struct ocfd_proc *p) {
  int st = -1;
  if (p->pid > 0) {
    kill(p->pid, SIGTERM);
    int waited = 0;
    while (waitpid(p->pid, &st, WNOHANG) == 0) {
      struct timespec ts = {0, 10 * 1000 * 1000};
      nanosleep(&ts, NULL);
      if (++waited == 3000) { /* 30 s: it hangs */
        kill(p->pid, SIGKILL);
        waitpid(p->pid, &st, 0);
        st = -1;
        break;
      }
    }
    p->pid = 0;
  }
  unlink(p->sock);
  rmdir(p->dir);
  if (st == -1) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ocfd_preload_env: the environment of a child about to exec a /dev/crypto
 * program under the preload shim, against the daemon on sock (ASan, when
 * the shim has it, must not insist on being loaded first). */
static inline void ocfd_preload_env(const char *sock) {
  char pre[600], asan[600];
  snprintf(pre, sizeof(pre), "%s/libocfpreload.so", ocfd_build_dir());
  setenv("LD_PRELOAD", pre, 1);
  setenv("OCF_SOCKET", sock, 1);
  const char *ao = getenv("ASAN_OPTIONS");
  snprintf(asan, sizeof(asan), "%s%sverify_asan_link_order=0", ao ? ao : "", ao ? ":" : "");
  setenv("ASAN_OPTIONS", asan, 1);
}

#endif /* OCF_TESTS_OCFD_UTIL_H */
