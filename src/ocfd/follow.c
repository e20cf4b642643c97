/* follow.c - moves the calling thread to a ring client's CPU (follow.h). */
#include <sched.h>

#include "ocfd/follow.h"

bool ocfd_follow_kick(struct ocfd_follow *f, uint32_t reported, uint64_t now_ns) {
  if (reported == 0 || reported > CPU_SETSIZE) return false;
  int to = ocfd_follow_decide(f, (int)reported - 1, sched_getcpu(), now_ns);
  if (to < 0) return false;
  cpu_set_t all, one;
  if (sched_getaffinity(0, sizeof(all), &all) != 0 || !CPU_ISSET(to, &all)) return false;
  CPU_ZERO(&one);
  CPU_SET(to, &one);
  /* Pinned for the moment of the move only: the scheduler stays free to
   * balance this thread against the others afterwards. */
  if (sched_setaffinity(0, sizeof(one), &one) != 0) return false;
  sched_setaffinity(0, sizeof(all), &all);
  return true;
}
