/* buffer.c - contiguous, iovec and mbuf-chain buffers behind one interface. */
#include <errno.h>
#include <string.h>

#include "core/internal.h"

struct ocf_buf ocf_buf_contig(void *base, size_t len) {
  struct ocf_buf b = {.type = OCF_BUF_CONTIG};
  b.u.contig.base = base;
  b.u.contig.len = len;
  return b;
}

struct ocf_buf ocf_buf_iovec(struct iovec *iov, int cnt) {
  struct ocf_buf b = {.type = OCF_BUF_IOVEC};
  b.u.iovec.iov = iov;
  b.u.iovec.cnt = cnt;
  return b;
}

struct ocf_buf ocf_buf_mbuf(struct ocf_mbuf *m) {
  struct ocf_buf b = {.type = OCF_BUF_MBUF};
  b.u.mbuf = m;
  return b;
}

size_t ocf_buf_len(const struct ocf_buf *b) {
  size_t n = 0;
  if (b == NULL) return 0;
  switch (b->type) {
    case OCF_BUF_CONTIG:
      return b->u.contig.base ? b->u.contig.len : 0;
    case OCF_BUF_IOVEC:
      if (b->u.iovec.iov == NULL) return 0;
      for (int i = 0; i < b->u.iovec.cnt; i++) n += b->u.iovec.iov[i].iov_len;
      return n;
    case OCF_BUF_MBUF:
      /* Bounded walk: a cyclic chain from a confused caller must not hang us. */
      for (const struct ocf_mbuf *m = b->u.mbuf; m != NULL && n != (size_t)-1; m = m->next) n += m->len;
      return n;
    default:
      return 0;
  }
}

int ocf_buf_segment(const struct ocf_buf *b, size_t off, uint8_t **p, size_t *avail) {
  switch (b->type) {
    case OCF_BUF_CONTIG:
      if (off >= b->u.contig.len) return ERANGE;
      *p = b->u.contig.base + off;
      *avail = b->u.contig.len - off;
      return 0;
    case OCF_BUF_IOVEC:
      for (int i = 0; i < b->u.iovec.cnt; i++) {
        const struct iovec *v = &b->u.iovec.iov[i];
        if (off < v->iov_len) {
          *p = (uint8_t *)v->iov_base + off;
          *avail = v->iov_len - off;
          return 0;
        }
        off -= v->iov_len;
      }
      return ERANGE;
    case OCF_BUF_MBUF:
      for (const struct ocf_mbuf *m = b->u.mbuf; m != NULL; m = m->next) {
        if (off < m->len) {
          *p = m->data + off;
          *avail = m->len - off;
          return 0;
        }
        off -= m->len;
      }
      return ERANGE;
    default:
      return ERANGE;
  }
}

/* Walks [off, off+len) segment by segment; dir 0 copies buffer -> mem, 1 mem -> buffer. */
static int buf_copy(const struct ocf_buf *b, size_t off, uint8_t *mem, size_t len, int dir) {
  if (b == NULL || (len > 0 && mem == NULL)) return EINVAL;
  if (len == 0) return off <= ocf_buf_len(b) ? 0 : ERANGE;
  while (len > 0) {
    uint8_t *p;
    size_t avail;
    if (ocf_buf_segment(b, off, &p, &avail) != 0) return ERANGE;
    size_t n = avail < len ? avail : len;
    if (dir)
      memcpy(p, mem, n);
    else
      memcpy(mem, p, n);
    mem += n;
    off += n;
    len -= n;
  }
  return 0;
}

int ocf_buf_copyin(const struct ocf_buf *b, size_t off, const void *src, size_t len) {
  if (ocf_buf_len(b) < off || ocf_buf_len(b) - off < len) return ERANGE;
  return buf_copy(b, off, (uint8_t *)src, len, 1);
}

int ocf_buf_copyout(const struct ocf_buf *b, size_t off, void *dst, size_t len) {
  if (ocf_buf_len(b) < off || ocf_buf_len(b) - off < len) return ERANGE;
  return buf_copy(b, off, dst, len, 0);
}
