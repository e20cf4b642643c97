/* fuzz_server.c - stateful libFuzzer target for ocfd's per-client state
 * machine (src/ocfd): the daemon runs in this process, driven round by round
 * (ocfd_round), and the input is a program for up to four clients on real
 * connections: connect, hang up, raw messages with any command, flags and
 * body, sessions, copy-path and shared-memory requests on the ids the
 * daemon answered, regions and rings (sealed or not, any sizes), ring
 * submissions and positions, public-key requests, passed descriptors that
 * are not memfds, control messages, replies read or left unread.
 *
 * After each input every client hangs up and the daemon is run until it
 * has nothing left; then everything it counts must be back to zero
 * (clients, sessions, requests, mappings, memory charged, descriptors), or
 * the target aborts.  Crashes, leaks and undefined behaviour are the
 * sanitizers' to find. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fuzz_input.h"
#include "ocfd/server.h"

#define SLOTS 4
#define IDS 8

struct slot {
  int fd;
  uint32_t ses[IDS], shm[IDS];
  int nses, nshm;
  uint8_t *ring; /* the mapped rings, when registered */
  size_t ring_len;
  uint32_t sq, cq;
  uint64_t sq_tail;
  size_t inlen;
  uint8_t in[1 << 16]; /* replies read, not yet whole */
};

static struct slot slots[SLOTS];
static char sock[108];
static struct ocfd_conf conf;

static void rounds(int n) {
  for (int i = 0; i < n; i++) ocfd_round(0);
}

/* learn reads what the daemon sent s, keeping session and region ids. */
static void learn(struct slot *s) {
  if (s->fd < 0) return;
  for (;;) {
    ssize_t n = recv(s->fd, s->in + s->inlen, sizeof(s->in) - s->inlen, MSG_DONTWAIT);
    if (n <= 0) {
      if (n == 0) { /* the daemon ended the connection */
        close(s->fd);
        s->fd = -1;
      }
      break;
    }
    s->inlen += (size_t)n;
    size_t pos = 0;
    while (s->inlen - pos >= OCFW_HDR_LEN) {
      struct ocfw_hdr h;
      ocfw_get_hdr(s->in + pos, s->inlen - pos, &h);
      if (h.len < OCFW_HDR_LEN || h.len > sizeof(s->in)) { /* a reply too long to keep: drop all */
        pos = s->inlen;
        break;
      }
      if (s->inlen - pos < h.len) break;
      const uint8_t *b = s->in + pos + OCFW_HDR_LEN;
      if (h.status == 0 && h.cmd == OCFW_NEWSESSION && h.len >= OCFW_HDR_LEN + 4 && s->nses < IDS)
        memcpy(&s->ses[s->nses++], b, 4);
      if (h.status == 0 && h.cmd == OCFW_SHM_REG && h.len == OCFW_HDR_LEN + 4 && s->nshm < IDS)
        memcpy(&s->shm[s->nshm++], b, 4);
      pos += h.len;
    }
    memmove(s->in, s->in + pos, s->inlen - pos);
    s->inlen -= pos;
  }
}

static void hang_up(struct slot *s) {
  if (s->fd >= 0) close(s->fd);
  if (s->ring) munmap(s->ring, s->ring_len);
  memset(s, 0, offsetof(struct slot, in));
  s->fd = -1;
}

/* sendfd sends m[n] with descriptor fd (-1: none), as far as the socket
 * takes it without waiting. */
static void sendfd(struct slot *s, const void *m, size_t n, int fd) {
  if (s->fd < 0) return;
  struct iovec iov = {(void *)m, n};
  union {
    struct cmsghdr h;
    char b[CMSG_SPACE(sizeof(int))];
  } cm;
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
  if (fd >= 0) {
    mh.msg_control = cm.b;
    mh.msg_controllen = sizeof(cm.b);
    struct cmsghdr *ch = CMSG_FIRSTHDR(&mh);
    ch->cmsg_level = SOL_SOCKET;
    ch->cmsg_type = SCM_RIGHTS;
    ch->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(ch), &fd, sizeof(int));
  }
  (void)!sendmsg(s->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void msg(struct slot *s, uint16_t cmd, uint16_t flags, const void *body, size_t blen,
                int fd) {
  uint8_t m[OCFW_HDR_LEN + 8192];
  if (blen > sizeof(m) - OCFW_HDR_LEN) blen = sizeof(m) - OCFW_HDR_LEN;
  ocfw_put_hdr(m, (uint32_t)(OCFW_HDR_LEN + blen), cmd, flags, 7, 0);
  if (blen) memcpy(m + OCFW_HDR_LEN, body, blen);
  sendfd(s, m, OCFW_HDR_LEN + blen, fd);
}

static int memfd(size_t len, int seal) {
  int fd = memfd_create("fz", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return -1;
  if (ftruncate(fd, (off_t)len) != 0) {
    close(fd);
    return -1;
  }
  if (seal) fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
  return fd;
}

static uint32_t pick(const uint32_t *ids, int n, struct in *in) {
  uint8_t k = u8(in);
  if (n == 0 || k >= 200) return u32(in); /* anything */
  return ids[k % n];
}

static const struct {
  enum ocf_alg alg;
  uint32_t klen;
} algs[] = {{OCF_ALG_NULL, 0},     {OCF_ALG_AES_CBC, 16},       {OCF_ALG_AES_GCM, 16},
            {OCF_ALG_AES_CTR, 16}, {OCF_ALG_HMAC_SHA2_256, 32}, {OCF_ALG_SHA2_256, 0},
            {OCF_ALG_3DES_CBC, 24}};

/* crypt_body builds an OCFW_CRYPT body: one descriptor over len bytes. */
static size_t crypt_body(uint8_t *b, struct slot *s, struct in *in, uint32_t len, uint32_t shm,
                         uint64_t off) {
  struct ocfw_crypt c = {
      .ses = pick(s->ses, s->nses, in), .ndesc = 1, .datalen = len, .shm = shm, .shm_off = off};
  struct ocfw_desc d = {.alg = algs[u8(in) % (sizeof(algs) / sizeof(algs[0]))].alg,
                        .flags = u8(in) & 0xf,
                        .len = len & ~15u};
  memcpy(b, &c, sizeof(c));
  memcpy(b + sizeof(c), &d, sizeof(d));
  return sizeof(c) + sizeof(d);
}

static void step(struct in *in) {
  uint8_t op = u8(in);
  struct slot *s = &slots[u8(in) % SLOTS];
  switch (op % 16) {
    case 0: { /* connect */
      if (s->fd >= 0) break;
      struct sockaddr_un sa = {.sun_family = AF_UNIX};
      memcpy(sa.sun_path, sock, sizeof(sa.sun_path));
      int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        fd = -1;
      }
      s->fd = fd;
      break;
    }
    case 1:
      hang_up(s);
      break;
    case 2: { /* any message */
      uint8_t b[512];
      uint16_t cmd = u8(in) % (OCFW__MAX + 2), flags = u8(in) & 7;
      size_t n = u8(in) * 2;
      for (size_t i = 0; i < n; i++) b[i] = u8(in);
      msg(s, cmd, flags, b, n, -1);
      break;
    }
    case 3: { /* raw bytes: framing errors, messages in pieces */
      uint8_t b[256];
      size_t n = u8(in);
      for (size_t i = 0; i < n; i++) b[i] = u8(in);
      sendfd(s, b, n, -1);
      break;
    }
    case 4: { /* a session */
      uint8_t b[sizeof(struct ocfw_newsess) + sizeof(struct ocfw_param) + 64] = {0};
      int a = u8(in) % (int)(sizeof(algs) / sizeof(algs[0]));
      struct ocfw_newsess ns = {u8(in) & 3, 1};
      struct ocfw_param p = {.alg = (uint32_t)algs[a].alg, .keylen = algs[a].klen};
      memcpy(b, &ns, sizeof(ns));
      memcpy(b + sizeof(ns), &p, sizeof(p));
      msg(s, OCFW_NEWSESSION, 0, b, sizeof(ns) + sizeof(p) + algs[a].klen, -1);
      break;
    }
    case 5: { /* a copy-path request */
      uint8_t b[sizeof(struct ocfw_crypt) + sizeof(struct ocfw_desc) + 4096] = {0};
      uint32_t len = u8(in) * 16u;
      size_t n = crypt_body(b, s, in, len, 0, 0);
      msg(s, OCFW_CRYPT, u8(in) & (OCFW_F_WANTIV | OCFW_F_NODATA), b, n + len, -1);
      break;
    }
    case 6: { /* a shared-memory request */
      uint8_t b[sizeof(struct ocfw_crypt) + sizeof(struct ocfw_desc)];
      uint32_t len = u8(in) * 64u;
      size_t n = crypt_body(b, s, in, len, pick(s->shm, s->nshm, in), u8(in) * 64u);
      msg(s, OCFW_CRYPT, OCFW_F_SHM | (u8(in) & OCFW_F_WANTIV), b, n, -1);
      break;
    }
    case 7: { /* a region */
      uint64_t size = (uint64_t)(u8(in) + 1) * 4096;
      uint8_t how = u8(in);
      int fd = (how & 3) == 3 ? -1 : memfd((how & 4) ? size / 2 : size, how & 1);
      msg(s, OCFW_SHM_REG, 0, &size, sizeof(size), fd);
      if (fd >= 0) close(fd);
      break;
    }
    case 8: { /* unregister */
      uint32_t id = pick(s->shm, s->nshm, in);
      msg(s, OCFW_SHM_UNREG, 0, &id, sizeof(id), -1);
      break;
    }
    case 9: { /* rings */
      if (s->ring) break;
      uint32_t sq = OCFW_RING_MIN << (u8(in) % 3), cq = OCFW_RING_MIN << (u8(in) % 3);
      size_t len = OCFW_RING_HDR + sq + cq;
      int fd = memfd(len, u8(in) % 4 != 0);
      if (fd < 0) break;
      uint8_t *r = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      if (r != MAP_FAILED) {
        s->ring = r;
        s->ring_len = len;
        s->sq = sq;
        s->cq = cq;
        s->sq_tail = 0;
      }
      struct ocfw_ring_reg rr = {sq, cq};
      msg(s, OCFW_RING_REG, 0, &rr, sizeof(rr), fd);
      close(fd);
      break;
    }
    case 10: { /* ring submissions, positions, kicks */
      if (s->ring == NULL) break;
      int k = u8(in) % 8;
      for (int i = 0; i < k; i++) {
        uint8_t m[OCFW_HDR_LEN + sizeof(struct ocfw_crypt) + sizeof(struct ocfw_desc)];
        size_t n = crypt_body(m + OCFW_HDR_LEN, s, in, u8(in) * 16u, pick(s->shm, s->nshm, in), 0);
        ocfw_put_hdr(m, (uint32_t)(OCFW_HDR_LEN + n), OCFW_CRYPT,
                     OCFW_F_SHM | (u8(in) & OCFW_F_WANTIV), (uint32_t)i, 0);
        uint64_t head = ocfw_ring_ld(s->ring, OCFW_RING_SQ_HEAD);
        long at = ocfw_ring_room(s->ring + OCFW_RING_HDR, s->sq, &s->sq_tail, head, sizeof(m));
        if (at < 0) break;
        memcpy(s->ring + OCFW_RING_HDR + at, m, sizeof(m));
        s->sq_tail += sizeof(m);
      }
      uint8_t how = u8(in);
      uint64_t tail = s->sq_tail + ((how & 0xf0) == 0xf0 ? u32(in) : 0); /* sometimes a lie */
      ocfw_ring_st(s->ring, OCFW_RING_SQ_TAIL, tail);
      if (how & 1) { /* read the completions (or say so) */
        uint64_t t = ocfw_ring_ld(s->ring, OCFW_RING_CQ_TAIL);
        ocfw_ring_st(s->ring, OCFW_RING_CQ_HEAD, (how & 2) ? t + u8(in) : t);
      }
      if (how & 4) ocfw_ring_arm(s->ring, OCFW_RING_CQ_ARMED);
      msg(s, OCFW_KICK, 0, NULL, 0, -1);
      break;
    }
    case 11: { /* a small public-key request */
      uint8_t b[sizeof(struct ocfw_key) + 4 * sizeof(struct ocfw_kparam) + 3 * 8];
      struct ocfw_key k = {u8(in) % 6, 3, 1};
      memcpy(b, &k, sizeof(k));
      size_t off = sizeof(k);
      for (int i = 0; i < 4; i++, off += sizeof(struct ocfw_kparam)) {
        struct ocfw_kparam p = {64, 8};
        memcpy(b + off, &p, sizeof(p));
      }
      for (int i = 0; i < 24; i++) b[off + i] = u8(in);
      b[off + 16] |= 1; /* an odd modulus, most of the time */
      msg(s, OCFW_KEY, 0, b, sizeof(b), -1);
      break;
    }
    case 12: { /* a descriptor that is no memfd */
      int p[2];
      if (pipe(p) != 0) break;
      uint64_t size = 4096;
      msg(s, OCFW_SHM_REG, 0, &size, sizeof(size), p[0]);
      close(p[0]);
      close(p[1]);
      break;
    }
    case 13: { /* control messages */
      static const uint16_t ctl[] = {OCFW_STATS, OCFW_DRIVERS, OCFW_SESSLIST, OCFW_ASYMFEAT};
      msg(s, ctl[u8(in) % 4], 0, NULL, 0, -1);
      break;
    }
    case 14: { /* free or describe a session */
      uint32_t id = pick(s->ses, s->nses, in);
      msg(s, (u8(in) & 1) ? OCFW_FREESESSION : OCFW_SESSINFO, 0, &id, sizeof(id), -1);
      break;
    }
    case 15:
      learn(s);
      break;
  }
  rounds(1 + u8(in) % 3);
}

/* settle runs the daemon until it holds nothing (bounded). */
static bool settle(void) {
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    ocfd_round(5);
    if (nclients == 0 && st_inflight == 0 && free_list == NULL) return true;
    clock_gettime(CLOCK_MONOTONIC, &t);
    if (t.tv_sec - t0.tv_sec > 10) return false;
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  char dir[] = "/tmp/ocfd-fuzz.XXXXXX";
  if (mkdtemp(dir) == NULL) abort();
  snprintf(sock, sizeof(sock), "%s/s", dir);
  ocfd_conf_defaults(&conf);
  snprintf(conf.socket, sizeof(conf.socket), "%s", sock);
  conf.workers = 1;
  conf.max_clients = SLOTS;
  conf.max_sessions = 6;
  conf.max_req = 8192;
  conf.max_inflight = 16;
  conf.max_outq = 64 << 10;
  conf.max_shm = 1 << 20;
  conf.max_maps = 12;
  conf.max_shm_total = 2 << 20;
  conf.max_memory = 2 << 20;
  conf.poll_us = 0;
  conf.follow = 0;
  ocfd_verbose = 0;
  if (ocfd_start(&conf) != 0) abort();
  for (int i = 0; i < SLOTS; i++) slots[i].fd = -1;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct in in = {data, size};
  while (in.n > 0) step(&in);
  for (int i = 0; i < SLOTS; i++) {
    learn(&slots[i]);
    hang_up(&slots[i]);
  }
  if (!settle()) {
    fprintf(stderr, "fuzz_server: the daemon did not settle: %d clients, %llu requests\n", nclients,
            (unsigned long long)st_inflight);
    for (struct client *c = clients; c != NULL; c = c->next)
      fprintf(stderr,
              "  client %llu: reading %d writing %d closed %d inlen %zu mem_wait %d "
              "fd_wait %d throttled %d inflight %d out %zu ring %d ring_wait %d\n",
              (unsigned long long)c->serial, c->reading, c->writing, c->closed, c->inlen,
              c->mem_wait, c->fd_wait, throttled(c), c->inflight, out_pending(c), c->ring != NULL,
              c->ring_wait);
    abort();
  }
  /* everything counted is back */
  if (st_sessions || st_shm_bytes || st_maps || mem_used || fds_held) {
    fprintf(stderr,
            "fuzz_server: left over: %llu sessions, %llu shm bytes, %llu maps, %zu bytes "
            "charged, %d descriptors\n",
            (unsigned long long)st_sessions, (unsigned long long)st_shm_bytes,
            (unsigned long long)st_maps, mem_used, fds_held);
    abort();
  }
  return 0;
}
