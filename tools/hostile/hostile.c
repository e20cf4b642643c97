/* hostile.c - attacks on ocfd and a well-behaved client beside them
 * (hostile.h).  The attackers speak the wire protocol themselves
 * (src/client/wire.h), as a hostile program would; the well-behaved client
 * uses libocfdev. */
#include "hostile.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ocf/ocfdev.h>

#include "../../src/client/wire.h"

static const char *const names[HOSTILE__MAX] = {
    "ring-stall", "linger-fd", "maps",    "maps-churn", "pk",
    "pk-leave",   "half-sent", "no-read", "sessions",   "connect"};

const char *hostile_name(enum hostile_attack a) {
  return a >= 0 && a < HOSTILE__MAX ? names[a] : "?";
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* --- the wire, by hand ------------------------------------------------------ */

static int h_connect(const char *sock) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* h_send writes one message (header + body), passing passfd (if >= 0). */
static int h_send(int fd, uint16_t cmd, uint16_t flags, uint32_t tag, const void *body, size_t blen,
                  int passfd) {
  uint8_t hdr[OCFW_HDR_LEN];
  ocfw_put_hdr(hdr, (uint32_t)(OCFW_HDR_LEN + blen), cmd, flags, tag, 0);
  struct iovec iov[2] = {{hdr, sizeof(hdr)}, {(void *)body, blen}};
  union {
    struct cmsghdr h;
    char b[CMSG_SPACE(sizeof(int))];
  } cm;
  struct msghdr mh = {.msg_iov = iov, .msg_iovlen = blen ? 2 : 1};
  if (passfd >= 0) {
    mh.msg_control = cm.b;
    mh.msg_controllen = sizeof(cm.b);
    struct cmsghdr *ch = CMSG_FIRSTHDR(&mh);
    ch->cmsg_level = SOL_SOCKET;
    ch->cmsg_type = SCM_RIGHTS;
    ch->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(ch), &passfd, sizeof(int));
  }
  size_t total = OCFW_HDR_LEN + blen, done = 0;
  while (done < total) {
    ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : EPIPE;
    done += (size_t)n;
    mh.msg_control = NULL;
    mh.msg_controllen = 0;
    while (mh.msg_iovlen > 0 && (size_t)n >= mh.msg_iov[0].iov_len) {
      n -= (ssize_t)mh.msg_iov[0].iov_len;
      mh.msg_iov++;
      mh.msg_iovlen--;
    }
    if (mh.msg_iovlen > 0) {
      mh.msg_iov[0].iov_base = (uint8_t *)mh.msg_iov[0].iov_base + n;
      mh.msg_iov[0].iov_len -= (size_t)n;
    }
  }
  return 0;
}

/* h_recv reads one message (its body up to cap bytes kept); 0, -1 at the
 * end of the connection, -2 after timeout_ms without a byte. */
static int h_recv(int fd, struct ocfw_hdr *h, void *body, size_t cap, int timeout_ms) {
  uint8_t hb[OCFW_HDR_LEN];
  for (size_t got = 0; got < sizeof(hb);) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) != 1) return -2;
    ssize_t n = read(fd, hb + got, sizeof(hb) - got);
    if (n <= 0) return -1;
    got += (size_t)n;
  }
  memcpy(h, hb, sizeof(*h));
  if (h->len < OCFW_HDR_LEN) return -1;
  for (size_t i = 0, blen = h->len - OCFW_HDR_LEN; i < blen;) {
    uint8_t tmp[4096];
    size_t want = blen - i < sizeof(tmp) ? blen - i : sizeof(tmp);
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) != 1) return -2;
    ssize_t n = read(fd, tmp, want);
    if (n <= 0) return -1;
    if (i < cap) memcpy((uint8_t *)body + i, tmp, (size_t)n < cap - i ? (size_t)n : cap - i);
    i += (size_t)n;
  }
  return 0;
}

/* h_call sends one control message and returns its reply's status (the
 * reply body in out[cap]); crypt completions that come first are counted in
 * *done. */
static int h_call(int fd, uint16_t cmd, const void *body, size_t blen, int passfd, void *out,
                  size_t cap, uint64_t *done) {
  if (h_send(fd, cmd, 0, 0x7000, body, blen, passfd) != 0) return HOSTILE_ENDED | EPIPE;
  for (;;) {
    struct ocfw_hdr h;
    int rc = h_recv(fd, &h, out, cap, 10000);
    if (rc != 0) return HOSTILE_ENDED | (rc == -2 ? ETIMEDOUT : ECONNRESET);
    if (h.cmd == OCFW_ERROR) return HOSTILE_ENDED | h.status;
    if (h.cmd == OCFW_CRYPT || h.cmd == OCFW_KEY || h.cmd == OCFW_KICK) {
      if (done && h.cmd != OCFW_KICK) (*done)++;
      continue;
    }
    return h.status;
  }
}

static int h_hello(int fd) {
  struct ocfw_hello hi = {OCFW_MAGIC, OCFW_VERSION};
  struct ocfw_hello_rep r;
  return h_call(fd, OCFW_HELLO, &hi, sizeof(hi), -1, &r, sizeof(r), NULL);
}

/* h_session opens a session of one algorithm on fd; 0 and *ses, or the
 * daemon's error. */
static int h_session(int fd, enum ocf_alg alg, const uint8_t *key, uint32_t klen, uint32_t *ses) {
  uint8_t b[sizeof(struct ocfw_newsess) + sizeof(struct ocfw_param) + 64];
  struct ocfw_newsess ns = {0, 1};
  struct ocfw_param p = {.alg = (uint32_t)alg, .keylen = klen};
  memcpy(b, &ns, sizeof(ns));
  memcpy(b + sizeof(ns), &p, sizeof(p));
  if (klen) memcpy(b + sizeof(ns) + sizeof(p), key, klen);
  struct ocfw_sessinfo si;
  int rc = h_call(fd, OCFW_NEWSESSION, b, sizeof(ns) + sizeof(p) + klen, -1, &si, sizeof(si), NULL);
  if (rc == 0) *ses = si.ses;
  return rc;
}

/* h_sealed: a memfd of len bytes sealed as the daemon wants it. */
static int h_sealed(size_t len) {
  int fd = memfd_create("hostile", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return -1;
  if (ftruncate(fd, (off_t)len) != 0 ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* h_region registers a sealed memfd of len bytes; 0 and *id, or the error. */
static int h_region(int fd, size_t len, uint32_t *id, uint64_t *done) {
  int mfd = h_sealed(len);
  if (mfd < 0) return errno;
  uint64_t sz = len;
  int rc = h_call(fd, OCFW_SHM_REG, &sz, sizeof(sz), mfd, id, sizeof(*id), done);
  close(mfd);
  return rc;
}

/* crypt_msg builds a one-descriptor OCFW_CRYPT body (no data) in b. */
static size_t crypt_msg(uint8_t *b, uint32_t ses, enum ocf_alg alg, uint32_t len, uint32_t shm,
                        uint32_t enc) {
  struct ocfw_crypt c = {.ses = ses, .ndesc = 1, .datalen = len, .shm = shm};
  struct ocfw_desc d = {.alg = (uint32_t)alg, .flags = enc, .len = len};
  memcpy(b, &c, sizeof(c));
  memcpy(b + sizeof(c), &d, sizeof(d));
  return sizeof(c) + sizeof(d);
}

/* hold: the attacker keeps what it has (connections, regions) until killed. */
static _Noreturn void hold(void) {
  for (;;) pause();
}

static void refused(struct hostile_report *rep, int err) {
  uint64_t k = rep->refused++;
  if (k < 8) rep->errs[k] = (uint64_t)err;
}

/* --- the attacks ------------------------------------------------------------- */

/* ring_stall: see HOSTILE_RING_STALL. */
static int ring_stall(const char *sock, const struct hostile_opts *o, struct hostile_report *rep) {
  int fd = h_connect(sock);
  uint32_t ses, shm;
  if (fd < 0 || h_hello(fd) != 0 || h_session(fd, OCF_ALG_NULL, NULL, 0, &ses) != 0 ||
      h_region(fd, 4096, &shm, NULL) != 0)
    return EPROTO;
  const uint32_t sq = 65536, cq = OCFW_RING_MIN;
  size_t len = OCFW_RING_HDR + sq + cq;
  int rfd = h_sealed(len);
  uint8_t *reg = rfd < 0 ? MAP_FAILED : mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, rfd, 0);
  struct ocfw_ring_reg rr = {sq, cq};
  if (reg == MAP_FAILED || h_call(fd, OCFW_RING_REG, &rr, sizeof(rr), rfd, NULL, 0, NULL) != 0)
    return EPROTO;
  close(rfd);
  /* More requests than the completion ring can answer: some stay. */
  uint64_t tail = 0;
  uint8_t m[OCFW_HDR_LEN + sizeof(struct ocfw_crypt) + sizeof(struct ocfw_desc)];
  for (int i = 0; i < 300; i++) {
    ocfw_put_hdr(m, sizeof(m), OCFW_CRYPT, OCFW_F_SHM | OCFW_F_WANTIV, (uint32_t)i, 0);
    crypt_msg(m + OCFW_HDR_LEN, ses, OCF_ALG_NULL, 16, shm, OCF_D_ENCRYPT);
    long at = ocfw_ring_room(reg + OCFW_RING_HDR, sq, &tail, 0, sizeof(m));
    if (at < 0) break;
    memcpy(reg + OCFW_RING_HDR + at, m, sizeof(m));
    tail += sizeof(m);
  }
  ocfw_ring_st(reg, OCFW_RING_SQ_TAIL, tail);
  uint8_t kick[OCFW_HDR_LEN];
  ocfw_put_hdr(kick, OCFW_HDR_LEN, OCFW_KICK, 0, 0, 0);
  if (send(fd, kick, sizeof(kick), MSG_NOSIGNAL) != sizeof(kick)) return EPIPE;
  uint64_t head = 0;
  for (int i = 0; i < 100; i++) { /* until the daemon stops taking */
    nap_ms(20);
    uint64_t h = ocfw_ring_ld(reg, OCFW_RING_SQ_HEAD);
    if (h == head && h > 0) break;
    head = h;
  }
  if (head == 0 || head >= tail) return EAGAIN; /* nothing held back: no attack */
  /* A control message, held back behind the ring, then a stream. */
  uint8_t st[OCFW_HDR_LEN];
  ocfw_put_hdr(st, OCFW_HDR_LEN, OCFW_STATS, 0, 1, 0);
  if (send(fd, st, sizeof(st), MSG_NOSIGNAL) != sizeof(st)) return EPIPE;
  rep->ready = 1;
  static uint8_t buf[1 << 16];
  for (size_t i = 0; i + OCFW_HDR_LEN <= sizeof(buf); i += OCFW_HDR_LEN)
    ocfw_put_hdr(buf + i, OCFW_HDR_LEN, OCFW_KICK, 0, 0, 0);
  uint64_t limit = o->limit ? o->limit : (1ull << 30);
  double last = now_s();
  while (rep->sent < limit && now_s() - last < 2.0) {
    ssize_t n = send(fd, buf, sizeof(buf), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      rep->sent += (uint64_t)n;
      last = now_s();
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
      break;
    } else {
      struct pollfd p = {fd, POLLOUT, 0};
      poll(&p, 1, 100);
    }
  }
  rep->done = 1;
  hold();
}

/* linger_fd: see HOSTILE_LINGER_FD.  Each round passes one socket with
 * unsent data on a fresh connection; the peers stay open, unread, so that a
 * close of the socket would wait out its linger. */
static int linger_fd(const char *sock, const struct hostile_opts *o, struct hostile_report *rep) {
  int lis = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof(sa);
  if (lis < 0 || bind(lis, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lis, 64) != 0 ||
      getsockname(lis, (struct sockaddr *)&sa, &sl) != 0)
    return errno;
  int peers[64], npeer = 0;
  int rounds = o->conns > 0 ? o->conns : 1 << 30;
  for (int r = 0; r < rounds; r++) {
    int fd = h_connect(sock);
    if (fd < 0) return errno;
    int pass = -1, pp[2] = {-1, -1};
    if (r % 2 == 1) { /* every other round, a pipe: no memfd either */
      if (pipe(pp) != 0) return errno;
      pass = pp[0];
    } else {
      int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), small = 4096;
      if (s < 0) return errno;
      setsockopt(s, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
      if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) return errno;
      int p = accept(lis, NULL, NULL);
      if (p < 0) return errno;
      setsockopt(p, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
      if (npeer == 64) close(peers[--npeer]);
      peers[npeer++] = p;
      static uint8_t junk[65536];
      while (send(s, junk, sizeof(junk), MSG_DONTWAIT | MSG_NOSIGNAL) > 0) {
      }
      struct linger lg = {1, o->linger_s > 0 ? o->linger_s : 10};
      setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
      pass = s;
    }
    /* The descriptor goes with the message's first byte, our copy is
     * closed, and only then does the rest of the message follow: whoever
     * closes the daemon's copy holds the last reference, and would wait out
     * the linger. */
    uint8_t m[OCFW_HDR_LEN + 8];
    uint64_t sz = 4096;
    ocfw_put_hdr(m, sizeof(m), OCFW_SHM_REG, 0, 1, 0);
    memcpy(m + OCFW_HDR_LEN, &sz, sizeof(sz));
    union {
      struct cmsghdr h;
      char b[CMSG_SPACE(sizeof(int))];
    } cm;
    struct iovec iov = {m, 1};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b, .msg_controllen = sizeof(cm.b)};
    struct cmsghdr *ch = CMSG_FIRSTHDR(&mh);
    ch->cmsg_level = SOL_SOCKET;
    ch->cmsg_type = SCM_RIGHTS;
    ch->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(ch), &pass, sizeof(int));
    if (sendmsg(fd, &mh, MSG_NOSIGNAL) != 1) return EPIPE;
    close(pass);
    if (pp[1] >= 0) close(pp[1]);
    nap_ms(5);
    (void)!send(fd, m + 1, sizeof(m) - 1, MSG_NOSIGNAL);
    struct ocfw_hdr h;
    int rc = h_recv(fd, &h, NULL, 0, 60000);
    if (rc != 0)
      refused(rep, HOSTILE_ENDED | (rc == -2 ? ETIMEDOUT : ECONNRESET));
    else if (h.cmd == OCFW_ERROR)
      refused(rep, HOSTILE_ENDED | h.status);
    else if (h.status != 0)
      refused(rep, h.status);
    else
      rep->ok++;
    close(fd);
    rep->ready = 1;
  }
  rep->done = 1;
  hold();
}

/* maps: see HOSTILE_MAPS. */
static int maps(const char *sock, const struct hostile_opts *o, struct hostile_report *rep) {
  int conns = o->conns > 0 ? o->conns : 256;
  for (int c = 0; c < conns; c++) {
    int fd = h_connect(sock);
    if (fd < 0) {
      refused(rep, errno);
      break;
    }
    for (int i = 0; i < 80; i++) {
      uint32_t id;
      int rc = h_region(fd, 4096, &id, NULL);
      if (rc != 0) {
        refused(rep, rc);
        break;
      }
      rep->ok++;
    }
    rep->ready = 1; /* the descriptor stays open: the regions stay mapped */
  }
  rep->done = 1;
  hold();
}

/* maps_churn: see HOSTILE_MAPS_CHURN.  1 MB regions, each with an AES-CBC
 * request over all of it, unregistered at once; when a registration is
 * refused, one completion is awaited. */
static int maps_churn(const char *sock, const struct hostile_opts *o, struct hostile_report *rep) {
  int fd = h_connect(sock);
  uint32_t ses;
  uint8_t key[16] = {1};
  if (fd < 0 || h_hello(fd) != 0 || h_session(fd, OCF_ALG_AES_CBC, key, 16, &ses) != 0)
    return EPROTO;
  int rounds = o->conns > 0 ? o->conns : 300;
  uint64_t done = 0, sent = 0;
  for (int r = 0; r < rounds; r++) {
    uint32_t id;
    int rc = h_region(fd, 1 << 20, &id, &done);
    if (rc & HOSTILE_ENDED) return ECONNRESET;
    if (rc != 0) {
      refused(rep, rc);
      struct ocfw_hdr h;
      while (done < sent && h_recv(fd, &h, NULL, 0, 10000) == 0)
        if (h.cmd == OCFW_CRYPT) {
          done++;
          break;
        }
      continue;
    }
    rep->ok++;
    uint8_t b[sizeof(struct ocfw_crypt) + sizeof(struct ocfw_desc)];
    crypt_msg(b, ses, OCF_ALG_AES_CBC, 1 << 20, id, OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT);
    if (h_send(fd, OCFW_CRYPT, OCFW_F_SHM, (uint32_t)r, b, sizeof(b), -1) != 0) return EPIPE;
    sent++;
    rc = h_call(fd, OCFW_SHM_UNREG, &id, sizeof(id), -1, NULL, 0, &done);
    if (rc & HOSTILE_ENDED) return ECONNRESET;
    rep->ready = 1;
  }
  rep->done = 1;
  hold();
}

/* A 16384-bit modular exponentiation: an odd modulus with its top bit set,
 * a base below it, a full-length exponent. */
#define PK_BYTES 2048u
static size_t pk_msg(uint8_t *b) {
  struct ocfw_key k = {OCF_KOP_MOD_EXP, 3, 1};
  memcpy(b, &k, sizeof(k));
  size_t off = sizeof(k);
  for (int i = 0; i < 4; i++, off += sizeof(struct ocfw_kparam)) {
    struct ocfw_kparam p = {PK_BYTES * 8, PK_BYTES};
    memcpy(b + off, &p, sizeof(p));
  }
  for (int i = 0; i < 3; i++, off += PK_BYTES) {
    uint8_t *v = b + off; /* little-endian */
    for (unsigned j = 0; j < PK_BYTES; j++) v[j] = (uint8_t)(j * 131 + i * 7 + 3);
    if (i == 2) v[0] |= 1, v[PK_BYTES - 1] = 0xff; /* modulus: odd, full length */
    if (i == 0) v[PK_BYTES - 1] = 0x7f;            /* base below it */
    if (i == 1) v[PK_BYTES - 1] |= 0x80;           /* exponent: full length */
  }
  return off;
}

/* pk: see HOSTILE_PK and HOSTILE_PK_LEAVE.  The requests are sent as fast
 * as the daemon reads them (rep->sent counts them); the staying attacker
 * then sends one more for each answer. */
static int pk(const char *sock, bool leave, struct hostile_report *rep) {
  int fd = h_connect(sock);
  if (fd < 0 || h_hello(fd) != 0) return EPROTO;
  static uint8_t b[sizeof(struct ocfw_key) + 4 * sizeof(struct ocfw_kparam) + 3 * PK_BYTES];
  size_t n = pk_msg(b);
  rep->ready = 1;
  if (leave) {
    /* as many of thirty as go in within 300 ms, then gone */
    struct timeval tv = {0, 300000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    for (int i = 0; i < 30 && h_send(fd, OCFW_KEY, 0, (uint32_t)i, b, n, -1) == 0; i++) rep->sent++;
    nap_ms(200);
    close(fd);
    rep->done = 1;
    hold();
  }
  for (int i = 0; i < 16; i++) {
    if (h_send(fd, OCFW_KEY, 0, (uint32_t)i, b, n, -1) != 0) return EPIPE;
    rep->sent++;
  }
  rep->done = 1;
  for (;;) { /* one more for each that comes back */
    struct ocfw_hdr h;
    int rc = h_recv(fd, &h, NULL, 0, 60000);
    if (rc == -1) return ECONNRESET;
    if (rc == 0 && h.cmd == OCFW_KEY) {
      if (h.status) refused(rep, h.status);
      rep->ok++;
      if (h_send(fd, OCFW_KEY, 0, 1, b, n, -1) != 0) return EPIPE;
      rep->sent++;
    }
  }
}

/* half_sent: see HOSTILE_HALF_SENT. */
static int half_sent(const char *sock, const struct hostile_opts *o, struct hostile_report *rep) {
  int conns = o->conns > 0 ? o->conns : 64;
  size_t max = o->max_req ? o->max_req : 16u << 20;
  size_t body = sizeof(struct ocfw_crypt) + sizeof(struct ocfw_desc) + max;
  static uint8_t junk[1 << 16];
  for (int c = 0; c < conns; c++) {
    int fd = h_connect(sock);
    uint32_t ses;
    if (fd < 0 || h_hello(fd) != 0 || h_session(fd, OCF_ALG_NULL, NULL, 0, &ses) != 0) {
      refused(rep, fd < 0 ? errno : EPROTO);
      if (fd >= 0) close(fd);
      continue;
    }
    uint8_t m[OCFW_HDR_LEN + sizeof(struct ocfw_crypt) + sizeof(struct ocfw_desc)];
    ocfw_put_hdr(m, (uint32_t)(OCFW_HDR_LEN + body), OCFW_CRYPT, 0, 1, 0);
    crypt_msg(m + OCFW_HDR_LEN, ses, OCF_ALG_NULL, (uint32_t)max, 0, OCF_D_ENCRYPT);
    if (send(fd, m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m)) continue;
    size_t want = max - max / 16, sent = 0;
    double t0 = now_s();
    while (sent < want && now_s() - t0 < 5) {
      size_t k = want - sent < sizeof(junk) ? want - sent : sizeof(junk);
      ssize_t n = send(fd, junk, k, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        sent += (size_t)n;
        rep->sent += (uint64_t)n;
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        break;
      } else {
        struct pollfd p = {fd, POLLOUT | POLLIN, 0};
        poll(&p, 1, 50);
        if (p.revents & (POLLIN | POLLHUP)) break; /* answered (refused) or gone */
      }
    }
    if (sent >= want)
      rep->ok++;
    else
      refused(rep, EAGAIN);
    rep->ready = 1;
  }
  rep->done = 1;
  hold();
}

/* no_read: see HOSTILE_NO_READ.  All connections are opened first, then
 * fed together until none of them takes more for 0.3 s. */
static int no_read(const char *sock, const struct hostile_opts *o, struct hostile_report *rep) {
  int conns = o->conns > 0 ? o->conns : 40;
  enum { LEN = 65536 };
  size_t ml = OCFW_HDR_LEN + sizeof(struct ocfw_crypt) + sizeof(struct ocfw_desc) + LEN;
  uint8_t *m = calloc(1, ml);
  int *fds = calloc((size_t)conns, sizeof(int));
  size_t *at = calloc((size_t)conns, sizeof(size_t));
  if (m == NULL || fds == NULL || at == NULL) return ENOMEM;
  int n = 0;
  uint32_t ses = 0;
  for (int c = 0; c < conns; c++) {
    int fd = h_connect(sock);
    if (fd < 0 || h_hello(fd) != 0 || h_session(fd, OCF_ALG_NULL, NULL, 0, &ses) != 0) {
      refused(rep, fd < 0 ? errno : EPROTO);
      if (fd >= 0) close(fd);
      continue;
    }
    fds[n++] = fd;
  }
  /* the daemon gives every connection's first session its own random id:
   * each connection sends with its own */
  uint32_t *sess = calloc((size_t)n + 1, sizeof(uint32_t));
  if (sess == NULL) return ENOMEM;
  for (int c = 0; c < n; c++) {
    uint8_t b[4 + 16];
    if (h_call(fds[c], OCFW_SESSLIST, NULL, 0, -1, b, sizeof(b), NULL) != 0) return EPROTO;
    memcpy(&sess[c], b + 4, 4);
  }
  rep->ok = (uint64_t)n;
  rep->ready = 1;
  double last = now_s();
  while (now_s() - last < 0.3) {
    bool moved = false;
    for (int c = 0; c < n; c++) {
      size_t off = at[c] % ml;
      if (off == 0) {
        ocfw_put_hdr(m, (uint32_t)ml, OCFW_CRYPT, 0, 1, 0);
        crypt_msg(m + OCFW_HDR_LEN, sess[c], OCF_ALG_NULL, LEN, 0, OCF_D_ENCRYPT);
      }
      ssize_t k = send(fds[c], m + off, ml - off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (k > 0) {
        at[c] += (size_t)k;
        rep->sent += (uint64_t)k;
        moved = true;
      }
    }
    if (moved)
      last = now_s();
    else
      nap_ms(10);
  }
  free(m);
  free(at);
  free(sess);
  free(fds);
  rep->done = 1;
  hold();
}

/* sessions: see HOSTILE_SESSIONS.  AES-128-CBC sessions, up to 8,192 a
 * connection. */
static int sessions(const char *sock, const struct hostile_opts *o, struct hostile_report *rep) {
  int conns = o->conns > 0 ? o->conns : 8;
  uint8_t key[16] = {7};
  for (int c = 0; c < conns; c++) {
    int fd = h_connect(sock);
    if (fd < 0 || h_hello(fd) != 0) {
      refused(rep, fd < 0 ? errno : EPROTO);
      if (fd >= 0) close(fd);
      continue;
    }
    for (int i = 0; i < 8192; i++) {
      uint32_t ses;
      int rc = h_session(fd, OCF_ALG_AES_CBC, key, 16, &ses);
      if (rc != 0) {
        refused(rep, rc);
        break;
      }
      rep->ok++;
    }
    rep->ready = 1;
  }
  rep->done = 1;
  hold();
}

/* connect_all: see HOSTILE_CONNECT.  Connections are made and held without
 * a word: each one the daemon has not accepted yet keeps its listening
 * socket readable. */
static int connect_all(const char *sock, const struct hostile_opts *o, struct hostile_report *rep) {
  int conns = o->conns > 0 ? o->conns : 100000;
  for (int c = 0; c < conns; c++) {
    int fd = h_connect(sock);
    if (fd < 0) {
      refused(rep, errno);
      if (errno == EMFILE || errno == ENFILE) break;
      continue;
    }
    rep->ok++;
    rep->ready = 1;
  }
  rep->done = 1;
  hold();
}

/* --- running them ------------------------------------------------------------ */

struct hostile_report *hostile_report_new(void) {
  void *p = mmap(NULL, sizeof(struct hostile_report), PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

void hostile_report_free(struct hostile_report *r) {
  if (r) munmap(r, sizeof(*r));
}

pid_t hostile_start(const char *sock, enum hostile_attack a, const struct hostile_opts *o,
                    struct hostile_report *rep) {
  memset((void *)rep, 0, sizeof(*rep));
  pid_t pid = fork();
  if (pid != 0) return pid;
  signal(SIGPIPE, SIG_IGN);
  int rc;
  switch (a) {
    case HOSTILE_RING_STALL:
      rc = ring_stall(sock, o, rep);
      break;
    case HOSTILE_LINGER_FD:
      rc = linger_fd(sock, o, rep);
      break;
    case HOSTILE_MAPS:
      rc = maps(sock, o, rep);
      break;
    case HOSTILE_MAPS_CHURN:
      rc = maps_churn(sock, o, rep);
      break;
    case HOSTILE_PK:
    case HOSTILE_PK_LEAVE:
      rc = pk(sock, a == HOSTILE_PK_LEAVE, rep);
      break;
    case HOSTILE_HALF_SENT:
      rc = half_sent(sock, o, rep);
      break;
    case HOSTILE_NO_READ:
      rc = no_read(sock, o, rep);
      break;
    case HOSTILE_SESSIONS:
      rc = sessions(sock, o, rep);
      break;
    case HOSTILE_CONNECT:
      rc = connect_all(sock, o, rep);
      break;
    default:
      rc = EINVAL;
  }
  rep->fail = rc ? rc : EIO;
  hold();
}

void hostile_stop(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGKILL);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
  }
}

int hostile_wait(struct hostile_report *rep, int which, double timeout_s) {
  double t0 = now_s();
  while (now_s() - t0 < timeout_s) {
    if (rep->fail) return rep->fail;
    if (which == 0 ? rep->ready : rep->done) return 0;
    nap_ms(5);
  }
  return ETIMEDOUT;
}

/* --- the well-behaved client ------------------------------------------------- */

struct gcm1k {
  struct ocfdev *d;
  struct ocfdev_op op;
  uint8_t buf[1024 + 16];
};

static int gcm1k_open(const char *sock, struct gcm1k *g) {
  memset(g, 0, sizeof(*g));
  int rc = ocfdev_open(sock, &g->d);
  if (rc) return rc;
  static const uint8_t key[16] = {0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
                                  0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c};
  struct ocf_sessparam p = {.alg = OCF_ALG_AES_GCM, .key = key, .keylen = 16};
  uint32_t ses;
  if ((rc = ocfdev_newsession(g->d, &p, 0, &ses, NULL)) != 0) {
    ocfdev_close(g->d);
    return rc;
  }
  g->op = (struct ocfdev_op){.ses = ses, .ndesc = 1, .buf = g->buf, .len = sizeof(g->buf)};
  g->op.desc[0] = (struct ocf_desc){.alg = OCF_ALG_AES_GCM,
                                    .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT,
                                    .len = 1024,
                                    .inject = 1024};
  return 0;
}

static int gcm1k_run(struct gcm1k *g, uint32_t i) {
  memcpy(g->op.desc[0].iv, &i, sizeof(i)); /* a fresh nonce each time */
  return ocfdev_crypt(g->d, &g->op);
}

double hostile_probe(const char *sock, double timeout_s) {
  int pfd[2];
  if (pipe(pfd) != 0) return -1;
  double t0 = now_s();
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    close(pfd[0]);
    struct gcm1k g;
    int rc = gcm1k_open(sock, &g);
    if (rc == 0) rc = gcm1k_run(&g, 1);
    if (rc == 0) ocfdev_close(g.d);
    (void)!write(pfd[1], &rc, sizeof(rc));
    _exit(0);
  }
  close(pfd[1]);
  struct pollfd p = {pfd[0], POLLIN, 0};
  int rc = -1;
  int left = (int)(timeout_s * 1000);
  if (poll(&p, 1, left) != 1 || read(pfd[0], &rc, sizeof(rc)) != sizeof(rc)) rc = -1;
  double el = now_s() - t0;
  close(pfd[0]);
  hostile_stop(pid);
  return rc == 0 ? el : -1;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

struct hostile_client {
  struct gcm1k g;
};

int hostile_client_open(const char *sock, struct hostile_client **out) {
  struct hostile_client *cl = calloc(1, sizeof(*cl));
  if (cl == NULL) return ENOMEM;
  int rc = gcm1k_open(sock, &cl->g);
  if (rc) {
    free(cl);
    return rc;
  }
  *out = cl;
  return 0;
}

void hostile_client_close(struct hostile_client *cl) {
  if (cl == NULL) return;
  ocfdev_close(cl->g.d);
  free(cl);
}

int hostile_client_measure(struct hostile_client *cl, double seconds, struct hostile_lat *r) {
  memset(r, 0, sizeof(*r));
  size_t cap = 1 << 20;
  double *lat = malloc(cap * sizeof(double));
  if (lat == NULL) return ENOMEM;
  struct rusage u0, u1;
  getrusage(RUSAGE_THREAD, &u0);
  double t0 = now_s(), t = t0;
  while (t - t0 < seconds && (size_t)r->n < cap) {
    double a = now_s();
    int rc = gcm1k_run(&cl->g, (uint32_t)r->n);
    t = now_s();
    if (rc) {
      r->errors++;
      if (rc == ECONNRESET || rc == EPIPE) break;
      continue;
    }
    lat[r->n++] = (t - a) * 1e6;
  }
  getrusage(RUSAGE_THREAD, &u1);
  r->rate = (double)r->n / (t - t0);
  if (r->n > 0) {
    qsort(lat, (size_t)r->n, sizeof(double), cmp_d);
    r->p50_us = lat[r->n / 2];
    r->p99_us = lat[(size_t)((double)r->n * 0.99)];
    r->max_us = lat[r->n - 1];
    r->sleeps = (double)(u1.ru_nvcsw - u0.ru_nvcsw) / (double)r->n;
  }
  free(lat);
  return 0;
}

int hostile_measure(const char *sock, double seconds, struct hostile_lat *r) {
  struct hostile_client *cl;
  int rc = hostile_client_open(sock, &cl);
  if (rc) return rc;
  rc = hostile_client_measure(cl, seconds, r);
  hostile_client_close(cl);
  return rc;
}

/* --- /proc ----------------------------------------------------------------------- */

long hostile_rss_kb(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  long kb = -1;
  while (f && fgets(line, sizeof(line), f))
    if (sscanf(line, "VmRSS: %ld", &kb) == 1) break;
  if (f) fclose(f);
  return kb;
}

long hostile_maps(pid_t pid) {
  char path[64], line[512];
  snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL) return -1;
  long n = 0;
  while (fgets(line, sizeof(line), f))
    if (strchr(line, '\n')) n++;
  fclose(f);
  return n;
}

long hostile_memfd_maps(pid_t pid) {
  char path[64], line[512];
  snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL) return -1;
  long n = 0;
  while (fgets(line, sizeof(line), f))
    if (strstr(line, "/memfd:") != NULL) n++;
  fclose(f);
  return n;
}

long hostile_cpu_ticks(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL) return -1;
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  unsigned long ut = 0, st = 0;
  if (p == NULL ||
      sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
    return -1;
  return (long)(ut + st);
}

long hostile_nfds(pid_t pid) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
  DIR *d = opendir(path);
  if (d == NULL) return -1;
  long n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}
