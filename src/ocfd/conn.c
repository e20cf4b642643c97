/* conn.c - one client connection: messages in (reading, framing, handing
 * each to its handler), replies out, and the end of the connection.
 *
 * Per connection: a read buffer (at most one maximal message beyond what is
 * parsed), a write buffer, a session table, shared-memory regions and a count
 * of requests in flight.  Back-pressure: when a connection has too many
 * requests in flight or too many unread reply bytes, the loop stops reading
 * from it until that drains; memory per connection stays bounded.
 *
 * Ownership: a job (one request) holds a reference on its connection, its
 * session and its shared-memory region; a closed connection is freed only
 * when its last job has come back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ocfd/server.h"

/* --- connection plumbing -------------------------------------------------- */

void arm(struct client *c) {
  if (c->closed) return;
  struct epoll_event ev = {.events = (c->reading ? EPOLLIN : 0) | (c->writing ? EPOLLOUT : 0),
                           .data.ptr = c};
  if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0)
    ocfd_log(0, "epoll_ctl: %s", strerror(errno));
}

void mark_dirty(struct client *c) {
  if (c->dirty || c->closed) return;
  c->dirty = true;
  c->dirty_ns = now_ns();
  c->dnext = dirty_list;
  dirty_list = c;
}

/* out_room makes room for n more bytes of output and returns where. */
uint8_t *out_room(struct client *c, size_t n) {
  if (c->outoff > 0 && c->outoff == c->outlen) c->outoff = c->outlen = 0;
  if (c->outlen + n > c->outcap) {
    if (c->outoff > 0) {
      memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
      c->outlen -= c->outoff;
      c->outoff = 0;
    }
    if (c->outlen + n > c->outcap) {
      size_t cap = c->outcap ? c->outcap : 64 * 1024;
      while (cap < c->outlen + n) cap *= 2;
      uint8_t *p = realloc(c->out, cap);
      if (p == NULL) return NULL;
      c->out = p;
      c->outcap = cap;
    }
  }
  uint8_t *p = c->out + c->outlen;
  c->outlen += n;
  return p;
}

/* out_reserve is out_room for output that is to be sent in due course. */
uint8_t *out_reserve(struct client *c, size_t n) {
  uint8_t *p = out_room(c, n);
  if (p != NULL) mark_dirty(c);
  return p;
}

void reply(struct client *c, uint16_t cmd, uint16_t flags, uint32_t tag, int status,
           const void *body, size_t blen) {
  if (c->closed) return;
  uint8_t *p = out_reserve(c, OCFW_HDR_LEN + blen);
  if (p == NULL) return;
  c->urgent = true;
  ocfw_put_hdr(p, (uint32_t)(OCFW_HDR_LEN + blen), cmd, flags, tag, status);
  if (blen) memcpy(p + OCFW_HDR_LEN, body, blen);
}

/* client_close drops the socket at once; the memory waits for the jobs. */
void client_close(struct client *c, const char *why) {
  if (c->closed) return;
  ocfd_log(why ? 1 : 2, "client %llu (pid %d uid %d) closed%s%s", (unsigned long long)c->serial,
           (int)c->pid, (int)c->uid, why ? ": " : "", why ? why : "");
  c->closed = true;
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->fd = -1;
  for (int i = 0; i < c->nfds; i++) close(c->fds[i]);
  c->nfds = 0;
  for (int i = 0; i < c->nsess; i++) {
    struct sess *s = c->sess[i];
    if (s->inflight > 0)
      s->dead = true;
    else
      sess_release(s);
  }
  c->nsess = 0;
  for (int i = 0; i < c->nshm; i++) {
    if (c->shm[i]->refs > 0)
      c->shm[i]->dead = true;
    else
      shm_release(c->shm[i]);
  }
  c->nshm = 0;
  if (c->ring) {
    for (struct client **pp = &ring_list; *pp; pp = &(*pp)->rnext)
      if (*pp == c) {
        *pp = c->rnext;
        nring--;
        break;
      }
    st_shm_bytes -= c->ring_len;
    munmap(c->ring, c->ring_len);
    c->ring = NULL;
  }
  free(c->in);
  c->in = NULL;
  free(c->out);
  c->out = NULL;
  c->inlen = c->incap = c->outlen = c->outoff = c->outcap = 0;
  if (c->prev)
    c->prev->next = c->next;
  else
    clients = c->next;
  if (c->next) c->next->prev = c->prev;
  nclients--;
  if (c->inflight == 0 && !c->freeing) {
    c->freeing = true;
    c->fnext = free_list;
    free_list = c;
  }
}

void client_flush(struct client *c) {
  if (!c->closed) cq_publish(c);
  c->unsent = 0;
  c->urgent = false;
  while (!c->closed && out_pending(c) > 0) {
    ssize_t n = send(c->fd, c->out + c->outoff, out_pending(c), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c->outoff += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!c->writing) {
        c->writing = true;
        arm(c);
      }
      return;
    }
    client_close(c, n < 0 ? strerror(errno) : "short write");
    return;
  }
  if (c->closed) return;
  c->outoff = c->outlen = 0;
  if (c->outcap > (1u << 20)) { /* give back a burst's memory */
    free(c->out);
    c->out = NULL;
    c->outcap = 0;
  }
  if (c->writing) {
    c->writing = false;
    arm(c);
  }
}

/* fatal: one OCFW_ERROR message, then the end of the connection. */
void fatal(struct client *c, int err, const char *why) {
  reply(c, OCFW_ERROR, 0, 0, err, why, strlen(why) + 1);
  if (!c->closed) client_flush(c);
  client_close(c, why);
}

static void handle(struct client *c, const struct ocfw_hdr *h, const uint8_t *b, size_t n) {
  if (h->cmd != OCFW_CRYPT && npending) dispatch_pending(); /* keep order visible */
  if (h->status != 0 || (h->cmd != OCFW_CRYPT && h->flags != 0)) {
    reply(c, h->cmd, 0, h->tag, EINVAL, NULL, 0);
    return;
  }
  switch (h->cmd) {
    case OCFW_HELLO: {
      struct ocfw_hello hi;
      if (n != sizeof(hi)) {
        reply(c, h->cmd, 0, h->tag, EBADMSG, NULL, 0);
        break;
      }
      memcpy(&hi, b, sizeof(hi));
      if (hi.magic != OCFW_MAGIC || hi.version != OCFW_VERSION) {
        reply(c, h->cmd, 0, h->tag, EPROTONOSUPPORT, NULL, 0);
        break;
      }
      struct ocfw_hello_rep r = {OCFW_MAGIC,
                                 OCFW_VERSION,
                                 (uint32_t)cf->max_req,
                                 (uint32_t)cf->max_inflight,
                                 (uint32_t)cf->allow_soft,
                                 0};
      reply(c, h->cmd, 0, h->tag, 0, &r, sizeof(r));
      break;
    }
    case OCFW_NEWSESSION:
      do_newsession(c, h, b, n);
      break;
    case OCFW_FREESESSION:
      do_freesession(c, h, b, n);
      break;
    case OCFW_SESSINFO:
      do_sessinfo(c, h, b, n);
      break;
    case OCFW_CRYPT:
      do_crypt(c, h, b, n, 0);
      break;
    case OCFW_RING_REG:
      do_ring_reg(c, h, b, n);
      break;
    case OCFW_KICK: /* the loop looks at every ring on each round anyway */
      if (n) reply(c, h->cmd, 0, h->tag, EBADMSG, NULL, 0);
      break;
    case OCFW_KEY:
      do_key(c, h, b, n);
      break;
    case OCFW_ASYMFEAT: {
      uint32_t f = asymfeat();
      reply(c, h->cmd, 0, h->tag, n ? EBADMSG : 0, &f, n ? 0 : sizeof(f));
      break;
    }
    case OCFW_SHM_REG:
      do_shm_reg(c, h, b, n);
      break;
    case OCFW_SHM_UNREG:
      do_shm_unreg(c, h, b, n);
      break;
    case OCFW_DRIVERS:
      if (n)
        reply(c, h->cmd, 0, h->tag, EBADMSG, NULL, 0);
      else
        do_drivers(c, h);
      break;
    case OCFW_SESSLIST:
      do_sesslist(c, h, n);
      break;
    case OCFW_STATS:
      if (n)
        reply(c, h->cmd, 0, h->tag, EBADMSG, NULL, 0);
      else
        do_stats(c, h);
      break;
    default:
      reply(c, h->cmd, 0, h->tag, EBADRQC, NULL, 0);
      break;
  }
}

/* parse consumes whole messages from the read buffer while the client is not
 * throttled; returns false when the client was closed. */
bool parse(struct client *c) {
  /* Requests the client put in its ring before it sent what is on the
   * socket come first: a session freed on the socket must not vanish under
   * them. */
  if (!ring_take(c) && c->closed) return false;
  c->ring_wait = false;
  size_t pos = 0;
  while (!c->closed && c->inlen - pos >= OCFW_HDR_LEN) {
    struct ocfw_hdr h;
    ocfw_get_hdr(c->in + pos, c->inlen - pos, &h);
    if (!ocfw_frame_ok(&h, max_msg)) {
      fatal(c, EMSGSIZE,
            h.len < OCFW_HDR_LEN ? "message shorter than its header"
                                 : "message longer than the daemon's limit");
      break;
    }
    if (c->inlen - pos < h.len) break;
    if (throttled(c)) break;
    if (c->ring && h.cmd != OCFW_CRYPT && h.cmd != OCFW_KICK &&
        ocfw_ring_ld(c->ring, OCFW_RING_SQ_TAIL) != c->sq_head) {
      c->ring_wait = true; /* rings_take parses again once the ring is empty */
      break;
    }
    handle(c, &h, c->in + pos + OCFW_HDR_LEN, h.len - OCFW_HDR_LEN);
    pos += h.len;
  }
  if (npending) dispatch_pending();
  if (c->closed) return false;
  if (pos > 0) {
    memmove(c->in, c->in + pos, c->inlen - pos);
    c->inlen -= pos;
  }
  bool want = !throttled(c);
  if (want != c->reading) {
    c->reading = want;
    arm(c);
  }
  return true;
}

void client_read(struct client *c) {
  for (int round = 0; round < 8 && c->reading && !c->closed; round++) {
    /* Room for at least the message at the head of the buffer. */
    size_t need = READ_CHUNK;
    if (c->inlen >= OCFW_HDR_LEN) {
      struct ocfw_hdr h;
      ocfw_get_hdr(c->in, c->inlen, &h);
      if (ocfw_frame_ok(&h, max_msg) && h.len > need) need = h.len;
    }
    if (c->incap < need || c->incap - c->inlen < 4096) {
      size_t cap = c->incap < need ? need : c->incap;
      if (cap - c->inlen < 4096) cap = c->inlen + READ_CHUNK;
      uint8_t *p = realloc(c->in, cap);
      if (p == NULL) {
        fatal(c, ENOMEM, "out of memory");
        return;
      }
      c->in = p;
      c->incap = cap;
    }
    union {
      struct cmsghdr h;
      char buf[CMSG_SPACE(sizeof(int) * MAX_FDS_QUEUED)];
    } cm;
    struct iovec iov = {c->in + c->inlen, c->incap - c->inlen};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf)};
    ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    bool bad_fds = (mh.msg_flags & MSG_CTRUNC) != 0;
    for (struct cmsghdr *ch = CMSG_FIRSTHDR(&mh); n > 0 && ch; ch = CMSG_NXTHDR(&mh, ch)) {
      if (ch->cmsg_level != SOL_SOCKET || ch->cmsg_type != SCM_RIGHTS) continue;
      int cnt = (int)((ch->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      for (int i = 0; i < cnt; i++) {
        int fd;
        memcpy(&fd, CMSG_DATA(ch) + i * sizeof(int), sizeof(int));
        if (c->nfds < MAX_FDS_QUEUED)
          c->fds[c->nfds++] = fd;
        else {
          close(fd);
          bad_fds = true;
        }
      }
    }
    if (n <= 0) {
      client_close(c, n == 0 ? NULL : strerror(errno));
      return;
    }
    c->inlen += (size_t)n;
    last_in_ns = now_ns();
    if (bad_fds) {
      fatal(c, EPROTO, "too many descriptors passed");
      return;
    }
    if (!parse(c)) return;
    if ((size_t)n < iov.iov_len) return; /* drained the socket */
  }
}

/* resume: a client throttled for its requests in flight or its unread
 * output reads again once both have drained (what it already sent is parsed
 * first; parse re-arms EPOLLIN). */
void resume(struct client *c) {
  if (!c->closed && !c->reading && !throttled(c)) parse(c);
}
