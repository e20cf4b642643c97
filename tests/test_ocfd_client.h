/* test_ocfd_client.h - what the ocfd test programs share: one daemon per
 * test (setup / teardown), a connection, a session, fill patterns and a
 * health check.  Included by one test program each. */
#ifndef OCF_TESTS_OCFD_CLIENT_H
#define OCF_TESTS_OCFD_CLIENT_H

#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "../src/client/wire.h"
#include "test_ocfd_util.h"

static struct ocfd_proc daemon_;


static inline int setup(void **state) {
  (void)state;
  return ocfd_start(&daemon_, NULL);
}

static inline int teardown(void **state) {
  (void)state;
  int rc = ocfd_stop(&daemon_);
  if (rc != 0) fprintf(stderr, "ocfd exited with status %d\n", rc);
  return rc;
}

static inline struct ocfdev *conn(void) {
  struct ocfdev *d = NULL;
  assert_int_equal(ocfdev_open(daemon_.sock, &d), 0);
  return d;
}

static inline uint32_t session(struct ocfdev *d, enum ocf_alg alg, const uint8_t *key, size_t klen) {
  struct ocf_sessparam p = {.alg = alg, .key = key, .keylen = klen};
  uint32_t ses = 0;
  assert_int_equal(ocfdev_newsession(d, &p, 0, &ses, NULL), 0);
  return ses;
}

static inline void fill(uint8_t *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(seed * 29 + i * 13 + (i >> 7));
}

/* healthy: a fresh client still gets correct AES-CBC through the daemon. */
static inline void healthy(void) {
  struct ocfdev *d = conn();
  uint8_t key[16] = {0}, buf[16] = {0};
  uint32_t ses = session(d, OCF_ALG_AES_CBC, key, 16);
  struct ocfdev_op op = {.ses = ses, .ndesc = 1, .buf = buf, .len = 16};
  op.desc[0] = (struct ocf_desc){
      .alg = OCF_ALG_AES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = 16};
  assert_int_equal(ocfdev_crypt(d, &op), 0);
  /* AES-128(0^128) with a zero key: FIPS-197 style known value */
  static const uint8_t want[16] = {0x66, 0xe9, 0x4b, 0xd4, 0xef, 0x8a, 0x2c, 0x3b,
                                   0x88, 0x4c, 0xfa, 0x59, 0xca, 0x34, 0x2b, 0x2e};
  assert_memory_equal(buf, want, 16);
  ocfdev_close(d);
}

/* --- talking the wire protocol by hand ---------------------------------- */

/* raw: a plain socket to the daemon, no handshake. */
static inline int raw(void) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strcpy(sa.sun_path, daemon_.sock);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  return fd;
}

/* rd reads one message (header + up to cap body bytes) or returns -1 on EOF. */
static inline int rd(int fd, struct ocfw_hdr *h, uint8_t *body, size_t cap) {
  uint8_t hb[OCFW_HDR_LEN];
  size_t got = 0;
  while (got < sizeof(hb)) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 10000) != 1) return -2;
    ssize_t n = read(fd, hb + got, sizeof(hb) - got);
    if (n <= 0) return -1;
    got += (size_t)n;
  }
  memcpy(h, hb, sizeof(*h));
  size_t blen = h->len - OCFW_HDR_LEN;
  for (size_t i = 0; i < blen;) {
    uint8_t tmp[4096];
    size_t want = blen - i < sizeof(tmp) ? blen - i : sizeof(tmp);
    ssize_t n = read(fd, tmp, want);
    if (n <= 0) return -1;
    if (i < cap) memcpy(body + i, tmp, (size_t)n < cap - i ? (size_t)n : cap - i);
    i += (size_t)n;
  }
  return 0;
}

static inline void wr(int fd, uint32_t len, uint16_t cmd, uint16_t flags, uint32_t tag, const void *body,
               size_t blen) {
  uint8_t hb[OCFW_HDR_LEN];
  ocfw_put_hdr(hb, len, cmd, flags, tag, 0);
  assert_int_equal(write(fd, hb, sizeof(hb)), sizeof(hb));
  if (blen) assert_int_equal(write(fd, body, blen), (ssize_t)blen);
}

/* send_fd sends one message with a descriptor (-1: none); returns the reply
 * status.  The last reply's first four body bytes (a region id after
 * OCFW_SHM_REG) are left in last_u32. */
static uint32_t last_u32 __attribute__((unused));
static inline int send_fd(int fd, uint16_t cmd, const void *body, size_t blen, int passfd) {
  uint8_t msg[OCFW_HDR_LEN + 64];
  ocfw_put_hdr(msg, (uint32_t)(OCFW_HDR_LEN + blen), cmd, 0, 77, 0);
  memcpy(msg + OCFW_HDR_LEN, body, blen);
  union {
    struct cmsghdr h;
    char b[CMSG_SPACE(sizeof(int))];
  } cm;
  struct iovec iov = {msg, OCFW_HDR_LEN + blen};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
  if (passfd >= 0) {
    mh.msg_control = cm.b;
    mh.msg_controllen = sizeof(cm.b);
    struct cmsghdr *ch = CMSG_FIRSTHDR(&mh);
    ch->cmsg_level = SOL_SOCKET;
    ch->cmsg_type = SCM_RIGHTS;
    ch->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(ch), &passfd, sizeof(int));
  }
  assert_int_equal(sendmsg(fd, &mh, 0), (ssize_t)(OCFW_HDR_LEN + blen));
  struct ocfw_hdr h;
  uint8_t rb[64];
  assert_int_equal(rd(fd, &h, rb, sizeof(rb)), 0);
  memcpy(&last_u32, rb, sizeof(last_u32));
  return h.status;
}

static inline int sealed(size_t len, int seal) {
  int fd = memfd_create("t", MFD_ALLOW_SEALING);
  assert_true(fd >= 0);
  assert_int_equal(ftruncate(fd, (off_t)len), 0);
  if (seal) assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
  return fd;
}

#endif /* OCF_TESTS_OCFD_CLIENT_H */
