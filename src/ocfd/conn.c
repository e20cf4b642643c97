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

static void in_release(struct client *c);

/* out_reset empties c's output once all of it went out; public-key results
 * are wiped rather than left for the next replies to overwrite. */
static void out_reset(struct client *c) {
  if (c->out_secret) {
    explicit_bzero(c->out, c->outlen);
    c->out_secret = false;
  }
  c->outoff = c->outlen = 0;
}

/* out_room makes room for n more bytes of output and returns where. */
uint8_t *out_room(struct client *c, size_t n) {
  if (c->outoff > 0 && c->outoff == c->outlen) out_reset(c);
  if (c->outlen + n > c->outcap) {
    if (c->outoff > 0) {
      size_t keep = c->outlen - c->outoff;
      memmove(c->out, c->out + c->outoff, keep);
      if (c->out_secret) explicit_bzero(c->out + keep, c->outoff);
      c->outlen = keep;
      c->outoff = 0;
    }
    if (c->outlen + n > c->outcap) {
      /* doubling, but by 1 MB at most: the budget is charged for all of it */
      size_t cap = c->outcap ? c->outcap : 8 * 1024;
      while (cap < c->outlen + n) cap += cap < (1u << 20) ? cap : 1u << 20;
      uint8_t *p;
      if (c->out_secret) { /* realloc would leave a copy behind in the heap */
        if ((p = malloc(cap)) == NULL) return NULL;
        memcpy(p, c->out, c->outlen);
        explicit_bzero(c->out, c->outlen);
        free(c->out);
      } else if ((p = realloc(c->out, cap)) == NULL) {
        return NULL;
      }
      /* Replies were charged with their requests; this is that room. */
      budget_force(c, cap - c->outcap);
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
  if (p == NULL) {
    if (cmd != OCFW_ERROR) fatal(c, ENOMEM, "out of memory for a reply");
    return;
  }
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
  sched_drop(c); /* its requests not handed to the framework yet are dropped */
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->fd = -1;
  for (int i = 0; i < c->nfds; i++) close(c->fds[i]); /* memfds (fd_check) */
  fds_held -= 1 + c->nfds;
  c->nfds = 0;
  for (int i = 0; i < c->nsess; i++) {
    struct sess *s = c->sess[i];
    if (s->inflight > 0)
      s->dead = true;
    else
      sess_release(s);
  }
  c->nsess = 0;
  sess_forget_all(c);
  for (int i = 0; i < c->nshm; i++) {
    if (c->shm[i]->refs > 0)
      c->shm[i]->dead = true;
    else
      shm_release(c->shm[i]);
  }
  c->nshm = 0;
  ring_release(c);
  in_release(c);
  out_reset(c); /* unsent results go unsent, and are wiped */
  budget_give(c, c->outcap);
  free(c->out);
  c->out = NULL;
  c->outlen = c->outoff = c->outcap = 0;
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
  out_reset(c);
  if (c->outcap > (1u << 20)) { /* give back a burst's memory */
    budget_give(c, c->outcap);
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
    case OCFW_KICK: /* the rounds look at the rings; a parked one comes back to them */
      if (n)
        reply(c, h->cmd, 0, h->tag, EBADMSG, NULL, 0);
      else
        ring_unpark(c);
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
    case OCFW_CPHASH:
      do_cphash(c, h, b, n);
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
/* Reading.  Every client is read into one scratch buffer, where whole
 * messages are handled in place; a client's own buffer (c->in) holds only
 * what could not be handled yet: the start of an incomplete message, or
 * messages parse had to leave (the client is throttled, or a control message
 * waits for the requests in its ring).  While c->in holds a complete message
 * nothing more is read from c, and an incomplete one is read into c->in up
 * to its own end only, so whatever state a client is in, its buffer holds at
 * most one scratch buffer or one maximal message. */
static uint8_t scratch[READ_CHUNK];

/* in_head: the header of the message at the start of c->in, if whole. */
static bool in_head(const struct client *c, struct ocfw_hdr *h) {
  return ocfw_get_hdr(c->in, c->inlen, h) == 0;
}

/* in_stuck: c->in starts with a whole message that parse left there. */
static bool in_stuck(const struct client *c) {
  struct ocfw_hdr h;
  return in_head(c, &h) && c->inlen >= h.len;
}

/* in_release gives c->in back once empty.  It is wiped first: the last
 * message in it may have been a key (handlers wipe what they decode, but a
 * message can also leave as its connection ends). */
static void in_release(struct client *c) {
  if (c->in != NULL) explicit_bzero(c->in, c->inlen);
  budget_give(c, c->incap);
  free(c->in);
  c->in = NULL;
  c->inlen = c->incap = 0;
}

/* in_grow makes c->in hold at least cap bytes, charged to the memory
 * budget (force: whatever it says).  Not realloc: the bytes in it may be
 * the start of a key, and the old block must keep no copy. */
static bool in_grow(struct client *c, size_t cap, bool force) {
  if (c->incap >= cap) return true;
  if (force)
    budget_force(c, cap - c->incap);
  else if (!budget_take(c, cap - c->incap, "buffering a message"))
    return false;
  uint8_t *p = malloc(cap);
  if (p == NULL) {
    budget_give(c, cap - c->incap);
    return false;
  }
  if (c->inlen) memcpy(p, c->in, c->inlen);
  if (c->in != NULL) explicit_bzero(c->in, c->inlen);
  free(c->in);
  c->in = p;
  c->incap = cap;
  return true;
}

/* parse_buf handles the whole messages at the start of buf[len] while the
 * client may go on; returns how many bytes it consumed. */
static size_t parse_buf(struct client *c, uint8_t *buf, size_t len) {
  c->ring_wait = false;
  size_t pos = 0;
  while (!c->closed && len - pos >= OCFW_HDR_LEN) {
    struct ocfw_hdr h;
    ocfw_get_hdr(buf + pos, len - pos, &h);
    if (!ocfw_frame_ok(&h, max_msg)) {
      fatal(c, EMSGSIZE,
            h.len < OCFW_HDR_LEN ? "message shorter than its header"
                                 : "message longer than the daemon's limit");
      break;
    }
    if (len - pos < h.len) break;
    if (throttled(c)) break;
    if (c->ring && h.cmd != OCFW_CRYPT && h.cmd != OCFW_KICK &&
        ocfw_ring_ld(c->ring, OCFW_RING_SQ_TAIL) != c->sq_head) {
      c->ring_wait = true; /* rings_take parses again once the ring is empty */
      break;
    }
    handle(c, &h, buf + pos + OCFW_HDR_LEN, h.len - OCFW_HDR_LEN);
    pos += h.len;
  }
  if (npending) dispatch_pending();
  return pos;
}

/* want_read arms or disarms EPOLLIN: c is read while it is not throttled
 * and holds no message it could not handle. */
static void want_read(struct client *c) {
  if (!c->mem_wait && budget_heavy(c)) budget_wait(c);
  bool want = !throttled(c) && !in_stuck(c);
  if (want != c->reading) {
    c->reading = want;
    arm(c);
  }
}

bool parse(struct client *c) {
  /* Requests the client put in its ring before it sent what is on the
   * socket come first: a session freed on the socket must not vanish under
   * them. */
  if (!ring_take(c) && c->closed) return false;
  size_t pos = parse_buf(c, c->in, c->inlen);
  if (c->closed) return false;
  if (pos == c->inlen) {
    in_release(c);
  } else if (pos > 0) {
    size_t keep = c->inlen - pos;
    memmove(c->in, c->in + pos, keep);
    explicit_bzero(c->in + keep, pos); /* no stale copy of what moved */
    c->inlen = keep;
  }
  want_read(c);
  return true;
}

/* A message longer than one read that the memory budget cannot buffer ends
 * the connection: reading it only to drop it would let a client keep the
 * daemon (and a core) busy copying data that serves nobody. */
#define NO_ROOM "message too long for the memory left (--max-memory)"

/* stash keeps the len bytes parse could not handle in c->in (empty), with
 * room for the whole of an incomplete message at their start.  Whole
 * messages left there (the client is throttled, or waits for its ring) are
 * at most a scratch buffer and always kept; false when an incomplete
 * message is more than the budget allows. */
static bool stash(struct client *c, const uint8_t *p, size_t len) {
  struct ocfw_hdr h;
  size_t cap = len;
  bool force = true;
  if (ocfw_get_hdr(p, len, &h) != 0) {
    cap = OCFW_HDR_LEN;
  } else if (h.len > len) { /* framing was checked by parse_buf */
    cap = h.len;
    force = false;
  }
  if (!in_grow(c, cap, force)) return false;
  memcpy(c->in, p, len);
  c->inlen = len;
  return true;
}

/* in_room: where the next read goes.  With c->in empty, the scratch buffer;
 * otherwise the rest of the incomplete message at the start of c->in. */
static bool in_room(struct client *c, uint8_t **at, size_t *room) {
  if (c->inlen == 0) {
    *at = scratch;
    *room = sizeof(scratch);
    return true;
  }
  struct ocfw_hdr h;
  bool whole = in_head(c, &h);
  size_t end = whole ? h.len : OCFW_HDR_LEN;
  if (end <= c->inlen) return false; /* whole: parse left it there */
  if (!in_grow(c, end, !whole)) return false;
  *at = c->in + c->inlen;
  *room = end - c->inlen;
  return true;
}

bool client_midmsg(const struct client *c) { return c->inlen > 0 && !in_stuck(c); }

size_t client_read(struct client *c, size_t budget) {
  size_t got = 0;
  for (int round = 0; round < 8 && c->reading && !c->closed && got < budget; round++) {
    uint8_t *at;
    size_t room;
    if (!in_room(c, &at, &room)) {
      if (in_stuck(c))
        want_read(c);
      else
        fatal(c, ENOMEM, NO_ROOM);
      return got;
    }
    if (room > budget - got) room = budget - got;
    if (!fds_room(0)) { /* what this read passes might not fit */
      fds_wait(c);
      return got;
    }
    union {
      struct cmsghdr h;
      char buf[CMSG_SPACE(sizeof(int) * SCM_MAX_FD)];
    } cm;
    struct iovec iov = {at, room};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf)};
    ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return got;
    /* Passed descriptors: only memfds are kept; nothing else is even
     * closed here (fds.c). */
    bool bad_fds = n > 0 && (mh.msg_flags & MSG_CTRUNC) != 0, bad_type = false;
    /* (only when something was read: otherwise the buffer is not the
     * kernel's answer but what an earlier round left on the stack) */
    for (struct cmsghdr *ch = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL; ch; ch = CMSG_NXTHDR(&mh, ch)) {
      if (ch->cmsg_level != SOL_SOCKET || ch->cmsg_type != SCM_RIGHTS) continue;
      int cnt = (int)((ch->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      for (int i = 0; i < cnt; i++) {
        int fd;
        memcpy(&fd, CMSG_DATA(ch) + i * sizeof(int), sizeof(int));
        if (fd_check(fd) != 0) {
          fd_reject(fd);
          bad_type = true;
        } else if (c->nfds < MAX_FDS_QUEUED) {
          c->fds[c->nfds++] = fd;
          fds_held++;
        } else {
          close(fd); /* shared memory: closing it cannot block */
          bad_fds = true;
        }
      }
    }
    if (bad_type) {
      fatal(c, EBADF, "only sealed memfds may be passed");
      return got;
    }
    if (n <= 0) {
      client_close(c, n == 0 ? NULL : strerror(errno));
      return got;
    }
    last_in_ns = now_ns();
    got += (size_t)n;
    if (bad_fds) {
      fatal(c, EPROTO, "too many descriptors passed");
      return got;
    }
    if (at != scratch) {
      c->inlen += (size_t)n;
      if (!parse(c)) return got;
      continue; /* the rest of the socket goes to the scratch buffer */
    }
    if (!ring_take(c) && c->closed) return got;
    size_t pos = parse_buf(c, scratch, (size_t)n);
    if (c->closed) return got;
    if (pos < (size_t)n) {
      bool ok = stash(c, scratch + pos, (size_t)n - pos);
      explicit_bzero(scratch + pos, (size_t)n - pos);
      if (!ok) {
        fatal(c, ENOMEM, NO_ROOM);
        return got;
      }
    }
    want_read(c);
    if ((size_t)n < room) return got; /* drained the socket */
  }
  return got;
}

/* resume: a client throttled for its requests in flight or its unread
 * output reads again once both have drained (what it already sent is parsed
 * first; parse re-arms EPOLLIN). */
void resume(struct client *c) {
  if (!c->closed && !c->reading && !throttled(c)) parse(c);
}
