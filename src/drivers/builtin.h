/* builtin.h - the producers built into libocf.  ocf_init (src/core/init.c)
 * walks ocf_builtins[] and attaches each entry; ocf_shutdown detaches them in
 * the reverse order.  The core names no producer: a new built-in producer is
 * a folder under src/drivers/ whose entry points use driver.h, and one line
 * in builtin.c. */
#ifndef OCF_DRIVERS_BUILTIN_H
#define OCF_DRIVERS_BUILTIN_H

#include <ocf/ocf.h>
#include <stddef.h>

/* ocf_builtin - one built-in producer.
 * attach: called by ocf_init once the framework runs; attaches the producer
 *   if opts (and the environment) ask for it.  Returns 0 (attached, or not
 *   wanted) or an errno, with a sentence in msg[msglen]; ocf_init then fails
 *   and shuts down what it started.  *state (NULL on entry) is given back to
 *   detach.
 * detach: called by ocf_shutdown for every entry whose attach was called,
 *   even when it attached nothing (a producer may have been attached later,
 *   e.g. modeled cards through ocf_sim_attach), before the framework
 *   removes the producers that are left. */
struct ocf_builtin {
  const char *name;
  int (*attach)(const struct ocf_init_opts *opts, void **state, char *msg, size_t msglen);
  void (*detach)(void *state);
};

/* ocf_builtins - the table, ended by an entry whose name is NULL. */
extern const struct ocf_builtin ocf_builtins[];

#endif /* OCF_DRIVERS_BUILTIN_H */
