/* ocfdev_shm.c - libocfdev's shared memory: regions a client's requests
 * point into, and the pair of rings requests travel through (wire.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "client/ocfdev_int.h"

/* sealed_memfd makes a memfd of size bytes that can neither shrink nor grow
 * (the daemon refuses anything else) and maps it; returns 0 or an errno. */
static int sealed_memfd(size_t size, int *fd_out, void **base_out) {
  int fd = memfd_create("ocfdev", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return errno;
  int rc = 0;
  void *base = MAP_FAILED;
  if (ftruncate(fd, (off_t)size) != 0 ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
    rc = errno;
  if (rc == 0) {
    base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) rc = errno;
  }
  if (rc != 0) {
    close(fd);
    return rc;
  }
  *fd_out = fd;
  *base_out = base;
  return 0;
}

/* ring_setup registers a pair of rings with the daemon. */
static int ring_setup(struct ocfdev *d) {
  size_t len = OCFW_RING_HDR + RING_SQ + RING_CQ;
  int fd;
  void *base;
  int rc = sealed_memfd(len, &fd, &base);
  if (rc) return rc;
  struct ocfw_ring_reg rr = {RING_SQ, RING_CQ};
  rc = ocfdev_ctl(d, OCFW_RING_REG, &rr, sizeof(rr), NULL, 0, fd);
  close(fd);
  if (rc) {
    munmap(base, len);
    return rc;
  }
  d->ring = base;
  d->ring_len = len;
  d->sq_size = RING_SQ;
  d->cq_size = RING_CQ;
  d->sq_tail = d->cq_head = 0;
  return 0;
}

int ocfdev_ring(struct ocfdev *d, int on) {
  if (d == NULL) return EINVAL;
  if (!on) {
    d->ring_mode = -1;
    return 0;
  }
  if (d->ring == NULL) {
    int rc = ring_setup(d);
    if (rc) return rc;
  }
  d->ring_mode = 1;
  return 0;
}

int ocfdev_shm_create(struct ocfdev *d, size_t size, struct ocfdev_shm **out) {
  if (d == NULL || out == NULL || size == 0) return EINVAL;
  *out = NULL;
  /* The first region brings the rings, unless they were turned off; a
   * daemon without them (or short of memory for them) means the socket. */
  if (d->ring_mode == 0) {
    int rc = ring_setup(d);
    if (d->dead) return d->dead;
    d->ring_mode = rc == 0 ? 1 : -1;
  }
  int fd;
  void *base;
  int rc = sealed_memfd(size, &fd, &base);
  if (rc) return rc;
  struct ocfdev_shm *m = calloc(1, sizeof(*m));
  if (m == NULL) rc = ENOMEM;
  if (rc == 0) {
    uint64_t sz = size;
    rc = ocfdev_ctl(d, OCFW_SHM_REG, &sz, sizeof(sz), NULL, 0, fd);
    if (rc == 0 && d->ctl_len != sizeof(uint32_t)) rc = EPROTO;
  }
  close(fd);
  if (rc != 0) {
    munmap(base, size);
    free(m);
    return rc;
  }
  memcpy(&m->id, d->ctl_body, sizeof(m->id));
  m->base = base;
  m->size = size;
  m->next = d->shms;
  d->shms = m;
  *out = m;
  return 0;
}

void *ocfdev_shm_base(const struct ocfdev_shm *m) { return m->base; }
size_t ocfdev_shm_size(const struct ocfdev_shm *m) { return m->size; }

int ocfdev_shm_destroy(struct ocfdev *d, struct ocfdev_shm *m) {
  if (m == NULL) return 0;
  struct ocfdev_shm **pp = &d->shms;
  while (*pp != NULL && *pp != m) pp = &(*pp)->next;
  if (*pp == NULL) return EINVAL; /* not a region of this connection */
  *pp = m->next;
  int rc = d->dead ? 0 : ocfdev_ctl(d, OCFW_SHM_UNREG, &m->id, sizeof(m->id), NULL, 0, -1);
  munmap(m->base, m->size);
  free(m);
  return rc;
}
