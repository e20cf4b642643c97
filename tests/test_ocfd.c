/* test_ocfd.c - ocfd through libocfdev, and ocfd against bad clients.
 *
 * The native API: known answers (NIST CBC vectors), many requests in flight
 * and batches, shared-memory buffers processed in place.  Bad clients: broken
 * framing, malformed bodies, unknown commands, someone else's session, a
 * disconnect with requests in flight, a client that never reads, a thousand
 * clients at once.  Each gets an error or is disconnected, and the daemon
 * keeps serving a well-behaved client throughout; it must exit cleanly
 * (no leaks under ASan) at the end of every test. */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "../src/client/wire.h"
#include "../src/ocfd/follow.h"
#include "test_ocfd_util.h"
#include "vectors.h"

static struct ocfd_proc daemon_;

static int setup(void **state) {
  (void)state;
  return ocfd_start(&daemon_, NULL);
}

static int teardown(void **state) {
  (void)state;
  int rc = ocfd_stop(&daemon_);
  if (rc != 0) fprintf(stderr, "ocfd exited with status %d\n", rc);
  return rc;
}

static struct ocfdev *conn(void) {
  struct ocfdev *d = NULL;
  assert_int_equal(ocfdev_open(daemon_.sock, &d), 0);
  return d;
}

static uint32_t session(struct ocfdev *d, enum ocf_alg alg, const uint8_t *key, size_t klen) {
  struct ocf_sessparam p = {.alg = alg, .key = key, .keylen = klen};
  uint32_t ses = 0;
  assert_int_equal(ocfdev_newsession(d, &p, 0, &ses, NULL), 0);
  return ses;
}

static void fill(uint8_t *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(seed * 29 + i * 13 + (i >> 7));
}

/* healthy: a fresh client still gets correct AES-CBC through the daemon. */
static void healthy(void) {
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

/* --- the native API --------------------------------------------------------- */

static void t_kat_cbc(void **state) {
  (void)state;
  ocf_vec_require_dir();
  struct ocfdev *d = conn();
  struct ocf_vec *v = ocf_vec_open("ciphers/AES/CBC/CBCMMT128.rsp", "COUNT");
  assert_non_null(v);
  int n = 0;
  while (ocf_vec_next(v)) {
    uint8_t *key, *iv, *pt, *ct;
    size_t kl, il, pl, cl;
    assert_int_equal(ocf_vec_bytes(v, "KEY", &key, &kl), 0);
    assert_int_equal(ocf_vec_bytes(v, "IV", &iv, &il), 0);
    assert_int_equal(ocf_vec_bytes(v, "PLAINTEXT", &pt, &pl), 0);
    assert_int_equal(ocf_vec_bytes(v, "CIPHERTEXT", &ct, &cl), 0);
    int enc = ocf_vec_section(v) == 1;
    uint32_t ses = session(d, OCF_ALG_AES_CBC, key, kl);
    uint8_t *buf = malloc(pl);
    memcpy(buf, enc ? pt : ct, pl);
    struct ocfdev_op op = {.ses = ses, .ndesc = 1, .buf = buf, .len = pl};
    op.desc[0] = (struct ocf_desc){
        .alg = OCF_ALG_AES_CBC, .flags = (enc ? OCF_D_ENCRYPT : 0) | OCF_D_IV_EXPLICIT, .len = pl};
    memcpy(op.desc[0].iv, iv, il);
    assert_int_equal(ocfdev_crypt(d, &op), 0);
    assert_memory_equal(buf, enc ? ct : pt, pl);
    assert_int_equal(ocfdev_freesession(d, ses), 0);
    free(buf), free(key), free(iv), free(pt), free(ct);
    n++;
  }
  ocf_vec_close(v);
  assert_true(n >= 20);
  ocfdev_close(d);
}

/* Many requests in flight, submitted in batches; every result checked
 * against OpenSSL. */
static void t_async_batch(void **state) {
  (void)state;
  struct ocfdev *d = conn();
  uint8_t key[16];
  fill(key, 16, 1);
  uint32_t ses = session(d, OCF_ALG_AES_CTR, key, 16);
  enum { N = 2000, LEN = 200 };
  struct ocfdev_op *ops = calloc(N, sizeof(*ops));
  uint8_t(*bufs)[LEN] = malloc((size_t)N * LEN);
  struct ocfdev_op *ptrs[N];
  for (int i = 0; i < N; i++) {
    fill(bufs[i], LEN, (unsigned)i);
    ops[i] =
        (struct ocfdev_op){.ses = ses, .ndesc = 1, .buf = bufs[i], .len = LEN, .opaque = &ops[i]};
    ops[i].desc[0] = (struct ocf_desc){
        .alg = OCF_ALG_AES_CTR, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = LEN};
    ops[i].desc[0].iv[0] = (uint8_t)i;
    ops[i].desc[0].iv[1] = (uint8_t)(i >> 8);
    ptrs[i] = &ops[i];
  }
  int sent;
  assert_int_equal(ocfdev_submit_batch(d, ptrs, N, &sent), 0);
  assert_int_equal(sent, N);
  int got = 0;
  while (got < N) {
    struct ocfdev_op *done[128];
    int n;
    assert_int_equal(ocfdev_reap(d, done, 128, 10000, &n), 0);
    assert_true(n > 0);
    for (int k = 0; k < n; k++) {
      struct ocfdev_op *op = done[k];
      int i = (int)(op - ops);
      assert_int_equal(op->error, 0);
      uint8_t in[LEN], ref[LEN];
      int ol;
      fill(in, LEN, (unsigned)i);
      EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
      EVP_EncryptInit_ex(x, EVP_aes_128_ctr(), NULL, key, op->desc[0].iv);
      EVP_EncryptUpdate(x, ref, &ol, in, LEN);
      EVP_CIPHER_CTX_free(x);
      assert_memory_equal(bufs[i], ref, LEN);
    }
    got += n;
  }
  assert_int_equal(ocfdev_inflight(d), 0);
  int n;
  struct ocfdev_op *none[1];
  assert_int_equal(ocfdev_reap(d, none, 1, 0, &n), ENOENT);
  free(ops);
  free(bufs);
  ocfdev_close(d);
}

/* Shared memory: AES-128-GCM sealed in place, same bytes as OpenSSL; a
 * generated IV comes back in the descriptor. */
static void t_shm(void **state) {
  (void)state;
  struct ocfdev *d = conn();
  uint8_t key[16];
  fill(key, 16, 2);
  uint32_t ses = session(d, OCF_ALG_AES_GCM, key, 16);
  struct ocfdev_shm *m;
  assert_int_equal(ocfdev_shm_create(d, 1 << 20, &m), 0);
  uint8_t *base = ocfdev_shm_base(m);
  enum { LEN = 16384, AAD = 13 };
  for (int r = 0; r < 8; r++) {
    uint8_t *p = base + r * 65536;
    fill(p, AAD + LEN, (unsigned)r);
    uint8_t ref[LEN], tag[16], iv[12];
    struct ocfdev_op op = {
        .ses = ses, .ndesc = 1, .shm = m, .shm_off = (size_t)r * 65536, .len = AAD + LEN + 16};
    op.desc[0] = (struct ocf_desc){.alg = OCF_ALG_AES_GCM,
                                   .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT,
                                   .skip = AAD,
                                   .len = LEN,
                                   .inject = AAD + LEN,
                                   .aad_len = AAD};
    fill(iv, 12, 50 + r);
    memcpy(op.desc[0].iv, iv, 12);
    uint8_t plain[AAD + LEN];
    memcpy(plain, p, AAD + LEN);
    assert_int_equal(ocfdev_crypt(d, &op), 0);
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    int ol;
    EVP_EncryptInit_ex(x, EVP_aes_128_gcm(), NULL, key, iv);
    EVP_EncryptUpdate(x, NULL, &ol, plain, AAD);
    EVP_EncryptUpdate(x, ref, &ol, plain + AAD, LEN);
    EVP_EncryptFinal_ex(x, ref, &ol);
    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, 16, tag);
    EVP_CIPHER_CTX_free(x);
    assert_memory_equal(p + AAD, ref, LEN);
    assert_memory_equal(p + AAD + LEN, tag, 16);
    /* open it again in place; a flipped bit is EBADMSG */
    op.desc[0].flags = OCF_D_IV_EXPLICIT;
    assert_int_equal(ocfdev_crypt(d, &op), 0);
    assert_memory_equal(p, plain, AAD + LEN);
  }
  struct ocfdev_op op = {.ses = ses, .ndesc = 1, .shm = m, .shm_off = (1 << 20) - 10, .len = 11};
  op.desc[0] = (struct ocf_desc){.alg = OCF_ALG_AES_GCM, .flags = OCF_D_ENCRYPT};
  assert_int_equal(ocfdev_crypt(d, &op), ERANGE);
  /* generated IV: written into the buffer and returned */
  struct ocfdev_op g = {.ses = ses, .ndesc = 1, .shm = m, .len = 12 + 32 + 16};
  g.desc[0] = (struct ocf_desc){.alg = OCF_ALG_AES_GCM,
                                .flags = OCF_D_ENCRYPT,
                                .iv_off = 0,
                                .skip = 12,
                                .len = 32,
                                .inject = 44};
  assert_int_equal(ocfdev_crypt(d, &g), 0);
  assert_memory_equal(g.desc[0].iv, base, 12);
  assert_int_equal(ocfdev_shm_destroy(d, m), 0);
  ocfdev_close(d);
}

static void t_sessions(void **state) {
  (void)state;
  struct ocfdev *a = conn(), *b = conn();
  uint8_t key[16] = {0};
  uint32_t sa = session(a, OCF_ALG_AES_CBC, key, 16);
  struct ocfdev_sessinfo si;
  assert_int_equal(ocfdev_sessinfo(a, sa, &si), 0);
  assert_string_equal(si.driver, "soft");
  assert_int_equal(si.alg[0].block, 16);
  /* each connection lists its own sessions */
  uint32_t sa2 = session(a, OCF_ALG_AES_CBC, key, 16), sa3 = session(a, OCF_ALG_AES_CBC, key, 16);
  assert_int_equal(ocfdev_freesession(a, sa2), 0);
  uint32_t ids[4] = {0};
  int nids = -1;
  assert_int_equal(ocfdev_sessions(a, ids, 4, &nids), 0);
  assert_int_equal(nids, 2);
  assert_true((ids[0] == sa && ids[1] == sa3) || (ids[0] == sa3 && ids[1] == sa));
  assert_int_equal(ocfdev_sessions(a, ids, 1, &nids), 0); /* the count even past max */
  assert_int_equal(nids, 2);
  assert_int_equal(ocfdev_sessions(b, ids, 4, &nids), 0);
  assert_int_equal(nids, 0);
  assert_int_equal(ocfdev_sessions(a, NULL, 4, &nids), EINVAL);
  /* another handle on a's connection (as after exec) sees its sessions */
  struct ocfdev *a2 = NULL;
  assert_int_equal(ocfdev_adopt(dup(ocfdev_fd(a)), &a2), 0);
  assert_int_equal(ocfdev_sessions(a2, ids, 4, &nids), 0);
  assert_int_equal(nids, 2);
  assert_int_equal(ocfdev_sessinfo(a2, sa3, &si), 0);
  assert_int_equal(ocfdev_freesession(a2, sa3), 0);
  ocfdev_close(a2);
  int pfd[2];
  assert_int_equal(pipe(pfd), 0);
  assert_int_equal(ocfdev_adopt(pfd[0], &a2), ENOTSOCK);
  assert_int_equal(fcntl(pfd[0], F_GETFD), -1); /* adopted, so closed */
  close(pfd[1]);
  /* b cannot see or free a's session */
  assert_int_equal(ocfdev_sessinfo(b, sa, &si), ENOENT);
  assert_int_equal(ocfdev_freesession(b, sa), ENOENT);
  uint8_t buf[16] = {0};
  struct ocfdev_op op = {.ses = sa, .ndesc = 1, .buf = buf, .len = 16};
  op.desc[0] = (struct ocf_desc){
      .alg = OCF_ALG_AES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = 16};
  assert_int_equal(ocfdev_crypt(b, &op), ENOENT);
  assert_int_equal(ocfdev_crypt(a, &op), 0);
  /* bad parameters come back as the framework's errors */
  struct ocf_sessparam bad = {.alg = OCF_ALG_AES_CBC, .key = key, .keylen = 15};
  uint32_t x;
  assert_int_equal(ocfdev_newsession(a, &bad, 0, &x, NULL), EINVAL);
  bad.alg = (enum ocf_alg)77;
  assert_int_not_equal(ocfdev_newsession(a, &bad, 0, &x, NULL), 0);
  op.len = 15;
  op.desc[0].len = 15;
  assert_int_equal(ocfdev_crypt(a, &op), EINVAL);
  /* free with requests in flight: they still complete */
  struct ocfdev_op ops[100];
  uint8_t bufs[100][4096];
  for (int i = 0; i < 100; i++) {
    ops[i] = (struct ocfdev_op){.ses = sa, .ndesc = 1, .buf = bufs[i], .len = 4096};
    ops[i].desc[0] = (struct ocf_desc){
        .alg = OCF_ALG_AES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = 4096};
    assert_int_equal(ocfdev_submit(a, &ops[i]), 0);
  }
  assert_int_equal(ocfdev_freesession(a, sa), 0);
  int got = 0, n;
  struct ocfdev_op *done[100];
  while (got < 100 && ocfdev_reap(a, done, 100, 10000, &n) == 0) got += n;
  assert_int_equal(got, 100);
  uint32_t f;
  assert_int_equal(ocfdev_asymfeat(a, &f), 0);
  struct ocfdev_driver drv[8];
  assert_int_equal(ocfdev_drivers(a, drv, 8, &n), 0);
  assert_true(n >= 1);
  ocfdev_close(a);
  ocfdev_close(b);
}

static int raw(void);
static int rd(int fd, struct ocfw_hdr *h, uint8_t *body, size_t cap);
static void wr(int fd, uint32_t len, uint16_t cmd, uint16_t flags, uint32_t tag, const void *body,
               size_t blen);

/* The statistics message: the daemon's counters and its producers' lists,
 * and that both move with the traffic. */
static const struct ocfdev_producer *soft_of(const struct ocfdev_stats *s) {
  for (int i = 0; i < s->nprod; i++)
    if (strcmp(s->prod[i].st.name, "soft") == 0) return &s->prod[i];
  return NULL;
}

static void t_stats(void **state) {
  (void)state;
  struct ocfdev *d = conn(), *other = conn();
  struct ocfdev_stats *a = NULL, *b = NULL;
  assert_int_equal(ocfdev_stats(d, &a), 0);
  assert_true(a->clients >= 2);
  assert_true(a->accepted >= 3); /* setup's probe, d, other */
  assert_int_equal(a->sessions, 0);
  assert_int_equal(a->inflight, 0);
  assert_true(a->policy[0] != 0);
  const struct ocfdev_producer *sp = soft_of(a);
  assert_non_null(sp);
  assert_true(sp->st.flags & 0x2); /* OCF_DRV_SOFTWARE */
  int has_cbc = 0, has_gcm = 0;
  for (int k = 0; k < sp->nalg; k++) {
    has_cbc |= sp->alg[k] == OCF_ALG_AES_CBC;
    has_gcm |= sp->alg[k] == OCF_ALG_AES_GCM;
  }
  assert_true(has_cbc && has_gcm);
  assert_int_equal(sp->nfailed, 0);
  int has_modexp = 0;
  for (int k = 0; k < sp->nkop; k++) has_modexp |= sp->kop[k] == OCF_KOP_MOD_EXP;
  assert_true(has_modexp);

  /* traffic: 50 synchronous AES-CBC requests, 200 asynchronous ones of which
   * 10 fail (a length that is not a block multiple), a session on the other
   * connection and a shared-memory region */
  uint8_t key[16] = {0};
  uint32_t ses = session(d, OCF_ALG_AES_CBC, key, 16);
  (void)session(other, OCF_ALG_NULL, NULL, 0);
  struct ocfdev_shm *m;
  assert_int_equal(ocfdev_ring(d, 0), 0); /* exactly one region: no rings */
  assert_int_equal(ocfdev_shm_create(d, 1 << 16, &m), 0);
  static uint8_t bufs[200][1024];
  static struct ocfdev_op ops[200];
  for (int i = 0; i < 50; i++) {
    struct ocfdev_op op = {.ses = ses, .ndesc = 1, .buf = bufs[0], .len = 1024};
    op.desc[0] = (struct ocf_desc){
        .alg = OCF_ALG_AES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = 1024};
    assert_int_equal(ocfdev_crypt(d, &op), 0);
  }
  struct ocfdev_op *p[200];
  for (int i = 0; i < 200; i++) {
    size_t len = i < 10 ? 1000 : 1024;
    ops[i] = (struct ocfdev_op){.ses = ses, .ndesc = 1, .buf = bufs[i], .len = len};
    ops[i].desc[0] = (struct ocf_desc){
        .alg = OCF_ALG_AES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = len};
    p[i] = &ops[i];
  }
  int sent, got = 0, n, bad = 0;
  assert_int_equal(ocfdev_submit_batch(d, p, 200, &sent), 0);
  while (got < 200) {
    struct ocfdev_op *done[200];
    assert_int_equal(ocfdev_reap(d, done, 200, 10000, &n), 0);
    for (int k = 0; k < n; k++) bad += done[k]->error != 0;
    got += n;
  }
  assert_int_equal(bad, 10);
  assert_int_equal(ocfdev_stats(other, &b), 0);
  assert_int_equal(b->sessions, 2);
  assert_int_equal(b->inflight, 0);
  assert_int_equal(b->shm_bytes, 1 << 16);
  assert_true(b->served - a->served >= 250);
  assert_true(b->failed - a->failed >= 10);
  assert_true(b->uptime >= a->uptime);
  const struct ocfdev_producer *sa = soft_of(a), *sb = soft_of(b);
  assert_non_null(sb);
  assert_true(sb->st.requests - sa->st.requests >= 240);
  assert_true(sb->st.bytes - sa->st.bytes >= 240 * 1024);
  assert_true(sb->st.sessions >= 2);
  ocfdev_stats_free(a);
  ocfdev_stats_free(b);
  assert_int_equal(ocfdev_shm_destroy(d, m), 0);
  ocfdev_close(other);
  ocfdev_close(d);
  /* the other connection's session is gone with it */
  d = conn();
  for (int i = 0; i < 100; i++) { /* closing is asynchronous to us */
    assert_int_equal(ocfdev_stats(d, &a), 0);
    int done = a->sessions == 0 && a->shm_bytes == 0;
    ocfdev_stats_free(a);
    if (done) break;
    usleep(10000);
    assert_true(i < 99);
  }
  /* a body on a statistics request is malformed */
  int fd = raw();
  wr(fd, OCFW_HDR_LEN + 4, OCFW_STATS, 0, 3, "abcd", 4);
  struct ocfw_hdr h;
  uint8_t body[16];
  assert_int_equal(rd(fd, &h, body, sizeof(body)), 0);
  assert_int_equal(h.status, EBADMSG);
  close(fd);
  ocfdev_close(d);
}

/* ocfw_dec_stats refuses replies whose records do not fill the body. */
static void t_stats_decoder(void **state) {
  (void)state;
  uint8_t buf[sizeof(struct ocfw_stats) + sizeof(struct ocfw_dstat) + 2 * sizeof(struct ocfw_lim)];
  memset(buf, 0, sizeof(buf));
  struct ocfw_stats hd = {.ndrv = 1};
  struct ocfw_dstat ds = {.hid = 1, .nalg = 1, .nkop = 1};
  memcpy(buf, &hd, sizeof(hd));
  memcpy(buf + sizeof(hd), &ds, sizeof(ds));
  struct ocfw_stats out;
  assert_int_equal(ocfw_dec_stats(buf, sizeof(buf), &out), 0);
  assert_int_equal(ocfw_dec_stats(buf, sizeof(buf) - 1, &out), EBADMSG);
  assert_int_equal(ocfw_dec_stats(buf, sizeof(hd) - 1, &out), EBADMSG);
  ds.nalg = 2; /* claims more limits than there are */
  memcpy(buf + sizeof(hd), &ds, sizeof(ds));
  assert_int_equal(ocfw_dec_stats(buf, sizeof(buf), &out), EBADMSG);
  ds.nalg = OCF_ALG__MAX + 1;
  memcpy(buf + sizeof(hd), &ds, sizeof(ds));
  assert_int_equal(ocfw_dec_stats(buf, sizeof(buf), &out), EINVAL);
  ds.nalg = 0; /* fewer: bytes left over */
  memcpy(buf + sizeof(hd), &ds, sizeof(ds));
  assert_int_equal(ocfw_dec_stats(buf, sizeof(buf), &out), EBADMSG);
  hd.ndrv = 0xffffffffu;
  memcpy(buf, &hd, sizeof(hd));
  assert_int_not_equal(ocfw_dec_stats(buf, sizeof(buf), &out), 0);
}

/* --- the rings ---------------------------------------------------------------- */

/* gcm_ref seals p[len] with key/iv (no AAD) into out[len] + tag[16]. */
static void gcm_ref(const uint8_t *key, const uint8_t *iv, const uint8_t *p, int len, uint8_t *out,
                    uint8_t *tag) {
  EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
  int ol;
  assert_int_equal(EVP_EncryptInit_ex(x, EVP_aes_128_gcm(), NULL, key, iv), 1);
  assert_int_equal(EVP_EncryptUpdate(x, out, &ol, p, len), 1);
  assert_int_equal(EVP_EncryptFinal_ex(x, out + ol, &ol), 1);
  assert_int_equal(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, 16, tag), 1);
  EVP_CIPHER_CTX_free(x);
}

/* Shared-memory requests through the rings: many in flight, half of them
 * with IVs the daemon generates and returns, each checked against OpenSSL;
 * a session freed right after its requests were put in the ring still
 * serves them; an error comes back through the ring; a caller that waits
 * with poll() on ocfdev_fd() is woken; the rings and the socket agree. */
/* cpu_ticks: utime + stime of process pid, in clock ticks (-1 on error). */
static long cpu_ticks(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL) return -1;
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')'); /* the command name may hold spaces */
  unsigned long ut = 0, st = 0;
  if (p == NULL ||
      sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
    return -1;
  return (long)(ut + st);
}

static void t_ring(void **state) {
  (void)state;
  struct ocfdev *d = conn();
  uint8_t key[16];
  fill(key, 16, 9);
  uint32_t ses = session(d, OCF_ALG_AES_GCM, key, 16);
  struct ocfdev_stats *st0, *st1;
  assert_int_equal(ocfdev_stats(d, &st0), 0);
  enum { N = 600, LEN = 1024, STRIDE = 12 + LEN + 16 + 4 };
  struct ocfdev_shm *m;
  assert_int_equal(ocfdev_shm_create(d, (size_t)N * STRIDE, &m), 0);
  assert_int_equal(ocfdev_stats(d, &st1), 0);
  /* the rings were registered with the region: more than it was mapped */
  assert_true(st1->shm_bytes - st0->shm_bytes > (uint64_t)N * STRIDE);
  ocfdev_stats_free(st0);
  ocfdev_stats_free(st1);
  uint8_t *base = ocfdev_shm_base(m);
  static uint8_t plain[N][LEN];
  static struct ocfdev_op ops[N];
  struct ocfdev_op *p[N];
  for (int i = 0; i < N; i++) {
    uint8_t *b = base + (size_t)i * STRIDE;
    fill(plain[i], LEN, (unsigned)i);
    memcpy(b + 12, plain[i], LEN);
    ops[i] = (struct ocfdev_op){
        .ses = ses, .ndesc = 1, .shm = m, .shm_off = (size_t)i * STRIDE, .len = 12 + LEN + 16};
    ops[i].desc[0] = (struct ocf_desc){.alg = OCF_ALG_AES_GCM,
                                       .flags = OCF_D_ENCRYPT,
                                       .iv_off = 0,
                                       .skip = 12,
                                       .len = LEN,
                                       .inject = 12 + LEN};
    if (i % 2) { /* explicit IV; the others are generated */
      ops[i].desc[0].flags |= OCF_D_IV_EXPLICIT;
      fill(ops[i].desc[0].iv, 12, 1000u + (unsigned)i);
    }
    p[i] = &ops[i];
  }
  int sent, n, got = 0;
  assert_int_equal(ocfdev_submit_batch(d, p, N, &sent), 0);
  assert_int_equal(sent, N);
  while (got < N) { /* the way an event loop waits: poll, then reap without waiting */
    struct pollfd pf = {ocfdev_fd(d), POLLIN, 0};
    struct ocfdev_op *done[N];
    assert_int_equal(ocfdev_reap(d, done, N, 0, &n), 0);
    if (n == 0) {
      assert_int_equal(poll(&pf, 1, 10000), 1);
      continue;
    }
    for (int k = 0; k < n; k++) {
      struct ocfdev_op *op = done[k];
      assert_int_equal(op->error, 0);
      int i = (int)(op - ops);
      uint8_t *b = base + (size_t)i * STRIDE, ct[LEN], tag[16];
      if (i % 2 == 0) assert_memory_equal(op->desc[0].iv, b, 12); /* generated, returned */
      gcm_ref(key, op->desc[0].iv, plain[i], LEN, ct, tag);
      assert_memory_equal(b + 12, ct, LEN);
      assert_memory_equal(b + 12 + LEN, tag, 16);
    }
    got += n;
  }
  /* freed on the socket right behind its requests in the ring */
  uint32_t ses2 = session(d, OCF_ALG_AES_GCM, key, 16);
  for (int i = 0; i < 100; i++) {
    ops[i].ses = ses2;
    ops[i].desc[0].flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT;
  }
  assert_int_equal(ocfdev_submit_batch(d, p, 100, &sent), 0);
  assert_int_equal(ocfdev_freesession(d, ses2), 0);
  for (got = 0; got < 100; got += n) {
    struct ocfdev_op *done[100];
    assert_int_equal(ocfdev_reap(d, done, 100, 10000, &n), 0);
    for (int k = 0; k < n; k++) assert_int_equal(done[k]->error, 0);
  }
  /* errors travel back the same way */
  ops[0].ses = ses2; /* freed */
  assert_int_equal(ocfdev_crypt(d, &ops[0]), ENOENT);
  ops[0].ses = ses;
  ops[0].desc[0].flags = 0x4000; /* no such flag */
  assert_int_equal(ocfdev_crypt(d, &ops[0]), EINVAL);
  /* the same request through the rings and through the socket */
  ops[0].desc[0].flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT;
  uint8_t *b0 = base, first[12 + LEN + 16];
  memcpy(b0 + 12, plain[0], LEN);
  assert_int_equal(ocfdev_crypt(d, &ops[0]), 0);
  memcpy(first, b0, sizeof(first));
  memcpy(b0 + 12, plain[0], LEN);
  assert_int_equal(ocfdev_ring(d, 0), 0);
  assert_int_equal(ocfdev_crypt(d, &ops[0]), 0);
  assert_memory_equal(b0, first, sizeof(first));
  assert_int_equal(ocfdev_ring(d, 1), 0);
  /* Idle with a ring client connected, the daemon sleeps: it polls the
   * rings only while requests run and briefly after replies go out. */
  usleep(50000);
  long c0 = cpu_ticks(daemon_.pid);
  usleep(500000);
  long c1 = cpu_ticks(daemon_.pid);
  assert_true(c0 >= 0 && c1 - c0 < 15); /* under 30% of 0.5 s, at 100 ticks a second */
  /* Nor does one long request keep it polling: while a worker runs 8 MB of
   * 3DES, the daemon uses about one CPU, not two. */
  uint8_t k3[24];
  fill(k3, 24, 10);
  uint32_t s3 = session(d, OCF_ALG_3DES_CBC, k3, 24);
  struct ocfdev_shm *big;
  enum { BIG = 8 << 20 };
  assert_int_equal(ocfdev_shm_create(d, 8 + BIG, &big), 0);
  struct ocfdev_op lop = {.ses = s3, .ndesc = 1, .shm = big, .len = 8 + BIG};
  lop.desc[0] = (struct ocf_desc){
      .alg = OCF_ALG_3DES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .skip = 8, .len = BIG};
  struct timespec w0, w1;
  clock_gettime(CLOCK_MONOTONIC, &w0);
  c0 = cpu_ticks(daemon_.pid);
  assert_int_equal(ocfdev_crypt(d, &lop), 0);
  c1 = cpu_ticks(daemon_.pid);
  clock_gettime(CLOCK_MONOTONIC, &w1);
  double wall = (double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) / 1e9;
  assert_true(wall > 0.05); /* long enough to tell */
  assert_true((double)(c1 - c0) / 100.0 < 1.5 * wall + 0.03);
  assert_int_equal(ocfdev_shm_destroy(d, big), 0);
  struct ocfdev *other = conn(); /* not its region */
  assert_int_equal(ocfdev_shm_destroy(other, m), EINVAL);
  ocfdev_close(other);
  assert_int_equal(ocfdev_shm_destroy(d, m), 0);
  ocfdev_close(d);
}

/* thread_cpu_s: CPU time of the calling thread, in seconds. */
static double thread_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* wait_cpu_ms runs op synchronously on d and returns the CPU time the
 * calling thread spent, in milliseconds. */
static double wait_cpu_ms(struct ocfdev *d, struct ocfdev_op *op) {
  double c0 = thread_cpu_s();
  assert_int_equal(ocfdev_crypt(d, op), 0);
  return (thread_cpu_s() - c0) * 1e3;
}

/* A synchronous wait polls before it sleeps ($OCFDEV_SPIN_US), so short
 * requests mostly complete without the client going to sleep; a reply that
 * takes longer than the limit makes the next waits sleep at once, so long
 * requests do not burn the client's CPU.  And the daemon, which polls its
 * sockets too after traffic, sleeps again once the traffic stops.
 *
 * Only what holds on a loaded machine is asserted: that the spin engages
 * (a wait for a request much longer than a 40 ms spin burns CPU, 2 ms at
 * least, a twentieth of the spin's time, which no sleeping wait does) and
 * disengages (the waits right after it burn less).  How many short waits the spin saves
 * depends on the machine's load: ocfd-hostile prints it (sleeps per request,
 * docs/bench/hostile.md). */
static void t_sync_spin(void **state) {
  (void)state;
  uint8_t k3[24];
  fill(k3, 24, 3);
  enum { BIG = 12 << 20 }; /* 3DES: about 0.1 s, or more */
  struct ocfdev *d[2];
  struct ocfdev_op lop[2];
  for (int k = 0; k < 2; k++) {
    setenv("OCFDEV_SPIN_US", k ? "40000" : "0", 1);
    d[k] = conn();
    uint32_t s3 = session(d[k], OCF_ALG_3DES_CBC, k3, 24);
    struct ocfdev_shm *m;
    assert_int_equal(ocfdev_shm_create(d[k], 8 + BIG, &m), 0); /* no copy to cost CPU */
    lop[k] = (struct ocfdev_op){.ses = s3, .ndesc = 1, .shm = m, .len = 8 + BIG};
    lop[k].desc[0] = (struct ocf_desc){
        .alg = OCF_ALG_3DES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .skip = 8, .len = BIG};
  }
  unsetenv("OCFDEV_SPIN_US");
  double off = wait_cpu_ms(d[0], &lop[0]); /* never spins */
  double first = wait_cpu_ms(d[1], &lop[1]);
  double next = 0;
  for (int i = 0; i < 3; i++) next += wait_cpu_ms(d[1], &lop[1]) / 3;
  print_message(
      "CPU of a wait for 12 MB of 3DES: %.2f ms without the spin, %.2f ms with a "
      "40 ms spin, %.2f ms in the waits after it\n",
      off, first, next);
  assert_true(off < 2.0);
  assert_true(first >= 2.0); /* engaged */
  assert_true(next < 2.0);   /* and off again after a long reply */
  ocfdev_close(d[0]);
  /* The daemon goes back to sleep (under 30% of 0.5 s, at 100 ticks a
   * second; a second look if a busy machine delayed its going idle). */
  long used = 100;
  for (int attempt = 0; attempt < 2 && used >= 15; attempt++) {
    usleep(50000);
    long t0 = cpu_ticks(daemon_.pid);
    usleep(500000);
    long t1 = cpu_ticks(daemon_.pid);
    assert_true(t0 >= 0 && t1 >= t0);
    used = t1 - t0;
  }
  assert_true(used < 15);
  ocfdev_close(d[1]);
}

/* The event thread's move decision: only after a run of kicks to one other
 * CPU, never for unknown CPUs, and at most once per FOLLOW_GAP_NS. */
static void t_follow_decide(void **state) {
  (void)state;
  struct ocfd_follow f = {.cpu = -1};
  uint64_t t = 1000000000ull;
  for (int i = 0; i < 100; i++) assert_int_equal(ocfd_follow_decide(&f, 1, 1, t), -1);
  for (int i = 0; i < 100; i++) assert_int_equal(ocfd_follow_decide(&f, -1, 0, t), -1);
  for (int i = 0; i < 100; i++) assert_int_equal(ocfd_follow_decide(&f, 1, -1, t), -1);
  for (int i = 1; i < FOLLOW_RUN; i++) assert_int_equal(ocfd_follow_decide(&f, 1, 0, t), -1);
  assert_int_equal(ocfd_follow_decide(&f, 1, 0, t), 1);
  assert_int_equal(f.moves, 1);
  /* a kick on our own CPU ends the run; so does one to a third CPU */
  t += FOLLOW_GAP_NS;
  for (int i = 1; i < FOLLOW_RUN; i++) assert_int_equal(ocfd_follow_decide(&f, 0, 1, t), -1);
  assert_int_equal(ocfd_follow_decide(&f, 1, 1, t), -1);
  for (int i = 1; i < FOLLOW_RUN; i++) assert_int_equal(ocfd_follow_decide(&f, 0, 1, t), -1);
  assert_int_equal(ocfd_follow_decide(&f, 2, 1, t), -1);
  for (int i = 1; i < FOLLOW_RUN; i++) assert_int_equal(ocfd_follow_decide(&f, 0, 1, t), -1);
  assert_int_equal(ocfd_follow_decide(&f, 0, 1, t), 0);
  /* too soon after that move: the run is spent without one */
  t += FOLLOW_GAP_NS / 2;
  for (int i = 0; i < 3 * FOLLOW_RUN; i++) assert_int_equal(ocfd_follow_decide(&f, 1, 0, t), -1);
  t += FOLLOW_GAP_NS;
  for (int i = 1; i < FOLLOW_RUN; i++) assert_int_equal(ocfd_follow_decide(&f, 1, 0, t), -1);
  assert_int_equal(ocfd_follow_decide(&f, 1, 0, t), 1);
  assert_int_equal(f.moves, 3);
}

/* last_cpu: the CPU task tid of process pid last ran on (-1 on error). */
static int last_cpu(pid_t pid, pid_t tid) {
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
  FILE *f = fopen(path, "r");
  if (f == NULL) return -1;
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  if (p == NULL) return -1;
  int field = 2; /* p + 2 is field 3, the state */
  for (p += 2; *p && field < 38; p++)
    if (*p == ' ') field++;
  return *p ? atoi(p) : -1;
}

/* A ring client the daemon keeps waking on another CPU brings the event
 * thread (the daemon's main thread) over to its own CPU.  The daemon's log
 * (-vv, to a file) says when it moves; on a loaded machine the scheduler
 * may have put the thread there first, which the samples of where the
 * thread runs then show instead. */
static void t_follow(void **state) {
  (void)state;
  char logp[] = "/tmp/ocfdlog.XXXXXX"; /* mkstemp template */
  int lf = mkstemp(logp), saved = dup(2);
  assert_true(lf >= 0 && saved >= 0);
  dup2(lf, 2); /* the daemon inherits it as its stderr */
  struct ocfd_proc dp;
  int rc = ocfd_start(&dp, "-vv", NULL);
  dup2(saved, 2);
  close(saved);
  close(lf);
  assert_int_equal(rc, 0);
  cpu_set_t mine;
  assert_int_equal(sched_getaffinity(0, sizeof(mine), &mine), 0);
  int loop0 = last_cpu(dp.pid, dp.pid), to = -1;
  for (int c = 0; c < CPU_SETSIZE && to < 0; c++)
    if (c != loop0 && CPU_ISSET(c, &mine)) to = c;
  if (loop0 < 0 || to < 0) {
    assert_int_equal(ocfd_stop(&dp), 0);
    unlink(logp);
    skip(); /* one CPU: nowhere to move */
    return;
  }
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(to, &one);
  assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
  struct ocfdev *d = NULL;
  assert_int_equal(ocfdev_open(dp.sock, &d), 0);
  uint8_t key[16];
  fill(key, 16, 5);
  uint32_t ses = session(d, OCF_ALG_AES_GCM, key, 16);
  enum { LEN = 64 << 10 }; /* long enough to be waited for, and not run inline */
  struct ocfdev_shm *m;
  assert_int_equal(ocfdev_shm_create(d, 12 + LEN + 16, &m), 0);
  struct ocfdev_op op = {.ses = ses, .ndesc = 1, .shm = m, .len = 12 + LEN + 16};
  op.desc[0] = (struct ocf_desc){
      .alg = OCF_ALG_AES_GCM, .flags = OCF_D_ENCRYPT, .skip = 12, .len = LEN, .inject = 12 + LEN};
  /* One request at a time: the client sleeps for each completion.  Then
   * samples of where the event thread runs, between requests. */
  int on = 0, samples = 0;
  for (int attempt = 0; attempt < 3 && (samples == 0 || on < samples * 9 / 10); attempt++) {
    struct timespec t0, t;
    on = samples = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; samples < 200; i++) {
      assert_int_equal(ocfdev_crypt(d, &op), 0);
      clock_gettime(CLOCK_MONOTONIC, &t);
      double el = (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
      if (el > 10) break;
      if (el > 0.2 && i % 8 == 0) {
        samples++;
        on += last_cpu(dp.pid, dp.pid) == to;
      }
    }
    print_message("event thread on the client's CPU in %d of %d samples\n", on, samples);
  }
  ocfdev_close(d);
  assert_int_equal(sched_setaffinity(0, sizeof(mine), &mine), 0);
  assert_int_equal(ocfd_stop(&dp), 0);
  char want[64], line[512];
  snprintf(want, sizeof(want), "event thread moved to CPU %d,", to);
  bool moved = false;
  FILE *f = fopen(logp, "r");
  assert_non_null(f);
  while (!moved && fgets(line, sizeof(line), f) != NULL) moved = strstr(line, want) != NULL;
  fclose(f);
  unlink(logp);
  assert_int_equal(samples, 200);
  assert_true(moved || on >= samples * 9 / 10);
}

/* A client that drives the rings by hand: region and session set up on the
 * raw socket, then requests only through the ring. */
struct rawring {
  int fd;
  uint8_t *reg;
  size_t len;
  uint32_t sq, cq;
  uint64_t sq_tail, cq_head;
  uint32_t ses, shm;
};

/* send_fd sends one message with a descriptor (-1: none); returns the reply
 * status.  The last reply's first four body bytes (a region id after
 * OCFW_SHM_REG) are left in last_u32. */
static uint32_t last_u32;
static int send_fd(int fd, uint16_t cmd, const void *body, size_t blen, int passfd) {
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

static int sealed(size_t len, int seal) {
  int fd = memfd_create("t", MFD_ALLOW_SEALING);
  assert_true(fd >= 0);
  assert_int_equal(ftruncate(fd, (off_t)len), 0);
  if (seal) assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
  return fd;
}

static void rawring_open(struct rawring *r, uint32_t sq, uint32_t cq) {
  memset(r, 0, sizeof(*r));
  r->fd = raw();
  struct ocfw_hello hi = {OCFW_MAGIC, OCFW_VERSION};
  assert_int_equal(send_fd(r->fd, OCFW_HELLO, &hi, sizeof(hi), -1), 0);
  uint8_t ns[sizeof(struct ocfw_newsess) + sizeof(struct ocfw_param)] = {0};
  struct ocfw_newsess n = {0, 1};
  struct ocfw_param pa = {.alg = OCF_ALG_NULL};
  memcpy(ns, &n, sizeof(n));
  memcpy(ns + sizeof(n), &pa, sizeof(pa));
  wr(r->fd, OCFW_HDR_LEN + sizeof(ns), OCFW_NEWSESSION, 0, 5, ns, sizeof(ns));
  struct ocfw_hdr h;
  struct ocfw_sessinfo si;
  assert_int_equal(rd(r->fd, &h, (uint8_t *)&si, sizeof(si)), 0);
  assert_int_equal(h.status, 0);
  r->ses = si.ses;
  int mfd = sealed(4096, 1);
  uint64_t sz = 4096;
  assert_int_equal(send_fd(r->fd, OCFW_SHM_REG, &sz, sizeof(sz), mfd), 0);
  close(mfd);
  r->shm = last_u32;
  r->sq = sq;
  r->cq = cq;
  r->len = OCFW_RING_HDR + sq + cq;
  int rfd = sealed(r->len, 1);
  r->reg = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_SHARED, rfd, 0);
  assert_true(r->reg != MAP_FAILED);
  struct ocfw_ring_reg rr = {sq, cq};
  assert_int_equal(send_fd(r->fd, OCFW_RING_REG, &rr, sizeof(rr), rfd), 0);
  /* only one pair per connection */
  assert_int_equal(send_fd(r->fd, OCFW_RING_REG, &rr, sizeof(rr), rfd), EEXIST);
  close(rfd);
}

static void rawring_close(struct rawring *r) {
  munmap(r->reg, r->len);
  close(r->fd);
}

/* rawring_put writes one NULL request over 16 bytes of the region, asking
 * for its IV back (the reply is then 88 bytes). */
static void rawring_put(struct rawring *r, uint32_t tag, uint16_t flags) {
  uint8_t m[OCFW_HDR_LEN + sizeof(struct ocfw_crypt) + sizeof(struct ocfw_desc)] = {0};
  ocfw_put_hdr(m, sizeof(m), OCFW_CRYPT, flags, tag, 0);
  struct ocfw_crypt c = {.ses = r->ses, .ndesc = 1, .datalen = 16, .shm = r->shm};
  struct ocfw_desc dd = {.alg = OCF_ALG_NULL, .flags = OCF_D_ENCRYPT, .len = 16};
  memcpy(m + OCFW_HDR_LEN, &c, sizeof(c));
  memcpy(m + OCFW_HDR_LEN + sizeof(c), &dd, sizeof(dd));
  uint64_t head = ocfw_ring_ld(r->reg, OCFW_RING_SQ_HEAD);
  long at = ocfw_ring_room(r->reg + OCFW_RING_HDR, r->sq, &r->sq_tail, head, sizeof(m));
  assert_true(at >= 0);
  memcpy(r->reg + OCFW_RING_HDR + at, m, sizeof(m));
  r->sq_tail += sizeof(m);
}

/* kick: OCFW_KICK, which may find the connection already ended by the
 * daemon (after a broken ring): no SIGPIPE, no check. */
static void kick(int fd) {
  uint8_t hb[OCFW_HDR_LEN];
  ocfw_put_hdr(hb, OCFW_HDR_LEN, OCFW_KICK, 0, 0, 0);
  (void)!send(fd, hb, sizeof(hb), MSG_NOSIGNAL);
}

static void rawring_publish(struct rawring *r) {
  ocfw_ring_st(r->reg, OCFW_RING_SQ_TAIL, r->sq_tail);
  if (ocfw_ring_disarm(r->reg, OCFW_RING_SQ_ARMED)) kick(r->fd);
}

/* rawring_reap reads what the completion ring holds (checking each reply)
 * and returns how many. */
static int rawring_reap(struct rawring *r, int *errors) {
  uint8_t *cq = r->reg + OCFW_RING_HDR + r->sq;
  uint64_t tail = ocfw_ring_ld(r->reg, OCFW_RING_CQ_TAIL);
  int n = 0;
  struct ocfw_hdr h;
  long at;
  while ((at = ocfw_ring_next(cq, r->cq, &r->cq_head, tail, OCFW_RING_CQE_MAX, &h)) >= 0) {
    assert_int_equal(h.cmd, OCFW_CRYPT);
    if (h.status)
      (*errors)++;
    else
      assert_int_equal(h.len, OCFW_HDR_LEN + sizeof(struct ocfw_crypt_rep) + OCF_MAX_IV);
    r->cq_head += h.len;
    n++;
  }
  assert_int_equal(at, -1);
  ocfw_ring_st(r->reg, OCFW_RING_CQ_HEAD, r->cq_head);
  if (ocfw_ring_disarm(r->reg, OCFW_RING_SQ_ARMED)) kick(r->fd);
  return n;
}

/* expect_error: the daemon ends the connection with one OCFW_ERROR. */
static void expect_error(int fd) {
  struct ocfw_hdr h;
  uint8_t body[256];
  int rc;
  while ((rc = rd(fd, &h, body, sizeof(body))) == 0 && h.cmd == OCFW_KICK) {
  }
  assert_int_equal(rc, 0);
  assert_int_equal(h.cmd, OCFW_ERROR);
  assert_int_equal(h.status, EPROTO);
  assert_int_equal(rd(fd, &h, body, sizeof(body)), -1);
}

/* rawring_wait reaps until want completions came, sleeping on kicks. */
static int rawring_wait(struct rawring *r, int want, int *errors) {
  int got = 0;
  for (int spins = 0; got < want && spins < 4000; spins++) {
    int k = rawring_reap(r, errors);
    got += k;
    if (k == 0) { /* ask for a kick, look once more, then wait for it */
      ocfw_ring_arm(r->reg, OCFW_RING_CQ_ARMED);
      if (ocfw_ring_ld(r->reg, OCFW_RING_CQ_TAIL) != r->cq_head) continue;
      struct pollfd pf = {r->fd, POLLIN, 0};
      assert_int_equal(poll(&pf, 1, 10000), 1);
      struct ocfw_hdr h;
      uint8_t body[16];
      assert_int_equal(rd(r->fd, &h, body, sizeof(body)), 0);
      assert_int_equal(h.cmd, OCFW_KICK);
    }
  }
  return got;
}

/* A small completion ring holds back a client that does not read it: the
 * daemon takes requests only while their replies fit, and everything
 * completes once the client reads.  Registering rings wrongly is refused;
 * breaking them ends the connection and nothing else. */
static void t_ring_raw(void **state) {
  (void)state;
  struct rawring r;
  rawring_open(&r, 65536, OCFW_RING_MIN);
  enum { N = 400 };
  for (int i = 0; i < N; i++) rawring_put(&r, (uint32_t)i, OCFW_F_SHM | OCFW_F_WANTIV);
  rawring_put(&r, N, 0); /* not a shared-memory request: refused through the ring */
  rawring_publish(&r);
  /* without reading, at most a completion ring's worth is answered */
  usleep(200000);
  uint64_t taken = ocfw_ring_ld(r.reg, OCFW_RING_SQ_HEAD);
  assert_true(taken > 0 && taken < r.sq_tail);
  assert_true(ocfw_ring_ld(r.reg, OCFW_RING_CQ_TAIL) <= OCFW_RING_MIN);
  int errors = 0, got = rawring_wait(&r, N + 1, &errors);
  assert_int_equal(got, N + 1);
  assert_int_equal(errors, 1);
  /* another round wraps the submission ring (padding at its end) */
  uint64_t before = r.sq_tail;
  for (int i = 0; i < 200; i++) rawring_put(&r, (uint32_t)(1000 + i), OCFW_F_SHM | OCFW_F_WANTIV);
  assert_true(r.sq_tail / r.sq > before / r.sq);
  rawring_publish(&r);
  errors = 0;
  assert_int_equal(rawring_wait(&r, 200, &errors), 200);
  assert_int_equal(errors, 0);
  /* a tail beyond the ring */
  ocfw_ring_st(r.reg, OCFW_RING_SQ_TAIL, r.sq_tail + 2 * r.sq);
  kick(r.fd);
  expect_error(r.fd);
  rawring_close(&r);

  /* a message whose length is impossible */
  rawring_open(&r, OCFW_RING_MIN, OCFW_RING_MIN);
  ocfw_put_hdr(r.reg + OCFW_RING_HDR, 12, OCFW_CRYPT, OCFW_F_SHM, 1, 0);
  r.sq_tail = 16;
  rawring_publish(&r);
  kick(r.fd);
  expect_error(r.fd);
  rawring_close(&r);
  /* something other than a request */
  rawring_open(&r, OCFW_RING_MIN, OCFW_RING_MIN);
  ocfw_put_hdr(r.reg + OCFW_RING_HDR, 16, OCFW_HELLO, 0, 1, 0);
  r.sq_tail = 16;
  rawring_publish(&r);
  kick(r.fd);
  expect_error(r.fd);
  rawring_close(&r);
  /* completions read that were never published */
  rawring_open(&r, OCFW_RING_MIN, OCFW_RING_MIN);
  ocfw_ring_st(r.reg, OCFW_RING_CQ_HEAD, 4096);
  rawring_put(&r, 1, OCFW_F_SHM);
  rawring_publish(&r);
  kick(r.fd);
  expect_error(r.fd);
  rawring_close(&r);

  /* registrations that are refused, the connection going on */
  int fd = raw();
  struct ocfw_ring_reg bad[] = {{3000, 4096}, {4096, 1u << 30}, {0, 0}};
  int mfd = sealed(OCFW_RING_HDR + 8192, 1);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(send_fd(fd, OCFW_RING_REG, &bad[i], sizeof(bad[i]), mfd), EINVAL);
  struct ocfw_ring_reg ok = {4096, 4096};
  assert_int_equal(send_fd(fd, OCFW_RING_REG, &ok, sizeof(ok), -1), EBADF);
  int ufd = sealed(OCFW_RING_HDR + 8192, 0);
  assert_int_equal(send_fd(fd, OCFW_RING_REG, &ok, sizeof(ok), ufd), EPERM);
  struct ocfw_ring_reg big = {8192, 8192}; /* more than the file holds */
  assert_int_equal(send_fd(fd, OCFW_RING_REG, &big, sizeof(big), mfd), EINVAL);
  assert_int_equal(send_fd(fd, OCFW_RING_REG, &ok, sizeof(ok), mfd), 0);
  close(mfd), close(ufd), close(fd);
  healthy();
}

/* --- bad clients ------------------------------------------------------------ */

static int raw(void) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strcpy(sa.sun_path, daemon_.sock);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  return fd;
}

/* rd reads one message (header + up to cap body bytes) or returns -1 on EOF. */
static int rd(int fd, struct ocfw_hdr *h, uint8_t *body, size_t cap) {
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

static void wr(int fd, uint32_t len, uint16_t cmd, uint16_t flags, uint32_t tag, const void *body,
               size_t blen) {
  uint8_t hb[OCFW_HDR_LEN];
  ocfw_put_hdr(hb, len, cmd, flags, tag, 0);
  assert_int_equal(write(fd, hb, sizeof(hb)), sizeof(hb));
  if (blen) assert_int_equal(write(fd, body, blen), (ssize_t)blen);
}

static void t_bad_frames(void **state) {
  (void)state;
  struct ocfw_hdr h;
  uint8_t body[256];
  /* shorter than a header */
  int fd = raw();
  wr(fd, 3, OCFW_HELLO, 0, 1, NULL, 0);
  assert_int_equal(rd(fd, &h, body, sizeof(body)), 0);
  assert_int_equal(h.cmd, OCFW_ERROR);
  assert_int_equal(h.status, EMSGSIZE);
  assert_int_equal(rd(fd, &h, body, sizeof(body)), -1); /* disconnected */
  close(fd);
  /* longer than the limit */
  fd = raw();
  wr(fd, 0x7fffffff, OCFW_CRYPT, 0, 1, NULL, 0);
  assert_int_equal(rd(fd, &h, body, sizeof(body)), 0);
  assert_int_equal(h.cmd, OCFW_ERROR);
  assert_int_equal(rd(fd, &h, body, sizeof(body)), -1);
  close(fd);
  /* truncated: half a message, then gone */
  fd = raw();
  wr(fd, 200, OCFW_CRYPT, 0, 1, "abc", 3);
  close(fd);
  /* unknown command and malformed bodies: an error each, connection goes on */
  fd = raw();
  wr(fd, OCFW_HDR_LEN, 999, 0, 7, NULL, 0);
  assert_int_equal(rd(fd, &h, body, sizeof(body)), 0);
  assert_int_equal(h.tag, 7);
  assert_int_equal(h.status, EBADRQC);
  struct ocfw_newsess ns = {0, 0};
  wr(fd, OCFW_HDR_LEN + sizeof(ns), OCFW_NEWSESSION, 0, 8, &ns, sizeof(ns));
  assert_int_equal(rd(fd, &h, body, sizeof(body)), 0);
  assert_int_equal(h.status, EINVAL);
  struct ocfw_crypt c = {.ses = 1, .ndesc = 5, .datalen = 0};
  wr(fd, OCFW_HDR_LEN + sizeof(c), OCFW_CRYPT, 0, 9, &c, sizeof(c));
  assert_int_equal(rd(fd, &h, body, sizeof(body)), 0);
  assert_int_equal(h.status, EINVAL);
  uint8_t m[sizeof(c) + sizeof(struct ocfw_desc) + 4] = {0};
  c.ndesc = 1;
  c.datalen = 100; /* says 100, carries 4 */
  memcpy(m, &c, sizeof(c));
  wr(fd, OCFW_HDR_LEN + sizeof(m), OCFW_CRYPT, 0, 10, m, sizeof(m));
  assert_int_equal(rd(fd, &h, body, sizeof(body)), 0);
  assert_int_equal(h.status, EBADMSG);
  c.datalen = 4; /* a session that is not ours */
  memcpy(m, &c, sizeof(c));
  wr(fd, OCFW_HDR_LEN + sizeof(m), OCFW_CRYPT, 0, 11, m, sizeof(m));
  assert_int_equal(rd(fd, &h, body, sizeof(body)), 0);
  assert_int_equal(h.status, ENOENT);
  wr(fd, OCFW_HDR_LEN + 2, OCFW_FREESESSION, 0, 12, "xy", 2);
  assert_int_equal(rd(fd, &h, body, sizeof(body)), 0);
  assert_int_equal(h.status, EBADMSG);
  wr(fd, OCFW_HDR_LEN, OCFW_SHM_REG, 0, 13, NULL, 0); /* no size, no descriptor */
  assert_int_equal(rd(fd, &h, body, sizeof(body)), 0);
  assert_int_not_equal(h.status, 0);
  struct ocfw_hello hi = {0x1234, 1};
  wr(fd, OCFW_HDR_LEN + sizeof(hi), OCFW_HELLO, 0, 14, &hi, sizeof(hi));
  assert_int_equal(rd(fd, &h, body, sizeof(body)), 0);
  assert_int_equal(h.status, EPROTONOSUPPORT);
  close(fd);
  healthy();
}

/* A region must be a sealed memfd: an unsealed one is refused; passing
 * anything else (a pipe) ends the connection with EBADF. */
static void t_bad_shm(void **state) {
  (void)state;
  int fd = raw();
  int pfd[2];
  assert_int_equal(pipe(pfd), 0);
  int mfd = sealed(4096, 0);
  uint64_t sz = 4096;
  assert_int_equal(send_fd(fd, OCFW_SHM_REG, &sz, sizeof(sz), mfd), EPERM);
  assert_int_equal(send_fd(fd, OCFW_SHM_REG, &sz, sizeof(sz), pfd[0]), EBADF); /* OCFW_ERROR */
  struct ocfw_hdr h;
  uint8_t body[64];
  assert_int_equal(rd(fd, &h, body, sizeof(body)), -1);
  close(pfd[0]), close(pfd[1]), close(mfd);
  close(fd);
  healthy();
}

/* A client that leaves with many requests in flight. */
static void t_disconnect_inflight(void **state) {
  (void)state;
  for (int round = 0; round < 5; round++) {
    struct ocfdev *d = conn();
    uint8_t key[16] = {0};
    uint32_t ses = session(d, OCF_ALG_AES_CBC, key, 16);
    enum { N = 300 };
    static uint8_t bufs[N][8192];
    static struct ocfdev_op ops[N];
    struct ocfdev_op *p[N];
    for (int i = 0; i < N; i++) {
      ops[i] = (struct ocfdev_op){.ses = ses, .ndesc = 1, .buf = bufs[i], .len = 8192};
      ops[i].desc[0] = (struct ocf_desc){
          .alg = OCF_ALG_AES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = 8192};
      p[i] = &ops[i];
    }
    int sent;
    assert_int_equal(ocfdev_submit_batch(d, p, N, &sent), 0);
    ocfdev_close(d);
  }
  /* the same through the rings: the daemon unmaps them under requests in flight */
  for (int round = 0; round < 5; round++) {
    struct ocfdev *d = conn();
    uint8_t key[16] = {0};
    uint32_t ses = session(d, OCF_ALG_AES_CBC, key, 16);
    enum { N = 300, LEN = 8192 };
    struct ocfdev_shm *m;
    assert_int_equal(ocfdev_shm_create(d, (size_t)N * LEN, &m), 0);
    static struct ocfdev_op ops[N];
    struct ocfdev_op *p[N];
    for (int i = 0; i < N; i++) {
      ops[i] = (struct ocfdev_op){
          .ses = ses, .ndesc = 1, .shm = m, .shm_off = (size_t)i * LEN, .len = LEN};
      ops[i].desc[0] = (struct ocf_desc){
          .alg = OCF_ALG_AES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = LEN};
      p[i] = &ops[i];
    }
    int sent;
    assert_int_equal(ocfdev_submit_batch(d, p, N, &sent), 0);
    ocfdev_close(d); /* takes the region along */
  }
  healthy();
}

static long daemon_rss_kb(void) {
  char path[64], line[256];
  snprintf(path, sizeof(path), "/proc/%d/status", (int)daemon_.pid);
  FILE *f = fopen(path, "r");
  long kb = -1;
  while (f && fgets(line, sizeof(line), f))
    if (sscanf(line, "VmRSS: %ld", &kb) == 1) break;
  if (f) fclose(f);
  return kb;
}

/* A client that sends and never reads: the daemon stops reading it once its
 * replies pile up; its memory stays bounded and others are served. */
static void t_never_reads(void **state) {
  (void)state;
  struct ocfdev *d = conn(); /* for the session only */
  int fd = raw();
  struct ocfw_hello hi = {OCFW_MAGIC, OCFW_VERSION};
  wr(fd, OCFW_HDR_LEN + sizeof(hi), OCFW_HELLO, 0, 1, &hi, sizeof(hi));
  uint8_t nsb[sizeof(struct ocfw_newsess) + sizeof(struct ocfw_param)];
  struct ocfw_newsess ns = {0, 1};
  struct ocfw_param pp = {.alg = OCF_ALG_NULL};
  memcpy(nsb, &ns, sizeof(ns));
  memcpy(nsb + sizeof(ns), &pp, sizeof(pp));
  wr(fd, OCFW_HDR_LEN + sizeof(nsb), OCFW_NEWSESSION, 0, 2, nsb, sizeof(nsb));
  struct ocfw_hdr h;
  uint8_t body[sizeof(struct ocfw_sessinfo)];
  assert_int_equal(rd(fd, &h, body, sizeof(body)), 0); /* hello */
  assert_int_equal(rd(fd, &h, body, sizeof(body)), 0);
  assert_int_equal(h.status, 0);
  struct ocfw_sessinfo si;
  memcpy(&si, body, sizeof(si));
  long before = daemon_rss_kb();
  /* 64 KB requests, non-blocking, until the socket stays full */
  enum { LEN = 65536 };
  size_t msglen = OCFW_HDR_LEN + sizeof(struct ocfw_crypt) + sizeof(struct ocfw_desc) + LEN;
  uint8_t *msg = calloc(1, msglen);
  struct ocfw_crypt c = {.ses = si.ses, .ndesc = 1, .datalen = LEN};
  struct ocfw_desc dd = {.alg = OCF_ALG_NULL, .flags = OCF_D_ENCRYPT, .len = LEN};
  ocfw_put_hdr(msg, (uint32_t)msglen, OCFW_CRYPT, 0, 3, 0);
  memcpy(msg + OCFW_HDR_LEN, &c, sizeof(c));
  memcpy(msg + OCFW_HDR_LEN + sizeof(c), &dd, sizeof(dd));
  size_t total = 0;
  int stalls = 0;
  while (stalls < 20 && total < (size_t)2 << 30) {
    ssize_t n = send(fd, msg + total % msglen, msglen - total % msglen, MSG_DONTWAIT);
    if (n > 0) {
      total += (size_t)n;
      stalls = 0;
    } else {
      stalls++;
      usleep(20000);
    }
  }
  long after = daemon_rss_kb();
  fprintf(stderr, "never-reads: sent %zu MB; daemon RSS %ld -> %ld KB\n", total >> 20, before,
          after);
  assert_true(total < (size_t)2 << 30); /* it did stop reading us */
  assert_true(after - before < 200 * 1024);
  healthy(); /* others are served meanwhile */
  close(fd);
  free(msg);
  ocfdev_close(d);
  healthy();
}

/* A thousand clients at once, each with a session and a request. */
static void t_thousand(void **state) {
  (void)state;
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < 2200 && rl.rlim_max >= 2200) {
    rl.rlim_cur = 2200;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  getrlimit(RLIMIT_NOFILE, &rl);
  int n = rl.rlim_cur >= 1100 ? 1000 : (int)rl.rlim_cur - 100;
  struct ocfdev **d = calloc((size_t)n, sizeof(*d));
  uint32_t *ses = calloc((size_t)n, sizeof(*ses));
  uint8_t key[16] = {0};
  for (int i = 0; i < n; i++) {
    assert_int_equal(ocfdev_open(daemon_.sock, &d[i]), 0);
    ses[i] = session(d[i], OCF_ALG_AES_CBC, key, 16);
  }
  static uint8_t bufs[1000][16];
  static struct ocfdev_op ops[1000];
  for (int i = 0; i < n; i++) {
    memset(bufs[i], 0, 16);
    ops[i] = (struct ocfdev_op){.ses = ses[i], .ndesc = 1, .buf = bufs[i], .len = 16};
    ops[i].desc[0] = (struct ocf_desc){
        .alg = OCF_ALG_AES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = 16};
    assert_int_equal(ocfdev_submit(d[i], &ops[i]), 0);
  }
  for (int i = 0; i < n; i++) {
    struct ocfdev_op *done;
    int k;
    assert_int_equal(ocfdev_reap(d[i], &done, 1, 10000, &k), 0);
    assert_int_equal(k, 1);
    assert_int_equal(done->error, 0);
    assert_int_equal(bufs[i][0], 0x66);
  }
  for (int i = 0; i < n; i++) ocfdev_close(d[i]);
  free(d);
  free(ses);
  healthy();
}

/* A client whose replies outgrow --max-outq while it still has requests to
 * send: the daemon stops reading it until the replies drain, and must start
 * again once they have (a stall here once left both sides waiting). */
static void t_outq_resume(void **state) {
  (void)state;
  struct ocfd_proc saved = daemon_;
  assert_int_equal(ocfd_start(&daemon_, "--max-outq", "64K", NULL), 0);
  alarm(120); /* a stall kills the test instead of hanging it */
  struct ocfdev *d = conn();
  uint32_t ses = session(d, OCF_ALG_NULL, NULL, 0);
  enum { N = 256, LEN = 16384 };
  uint8_t *bufs = malloc((size_t)N * LEN);
  static struct ocfdev_op ops[N];
  struct ocfdev_op *ptr[N], *done[N];
  assert_non_null(bufs);
  for (int round = 0; round < 4; round++) {
    for (int i = 0; i < N; i++) {
      fill(bufs + (size_t)i * LEN, LEN, (unsigned)(round * N + i));
      ops[i] =
          (struct ocfdev_op){.ses = ses, .ndesc = 1, .buf = bufs + (size_t)i * LEN, .len = LEN};
      ops[i].desc[0] = (struct ocf_desc){.alg = OCF_ALG_NULL, .flags = OCF_D_ENCRYPT, .len = LEN};
      ptr[i] = &ops[i];
    }
    int sent = 0;
    assert_int_equal(ocfdev_submit_batch(d, ptr, N, &sent), 0);
    assert_int_equal(sent, N);
    int got = 0;
    while (got < N) {
      int k = 0;
      assert_int_equal(ocfdev_reap(d, done, N, 10000, &k), 0);
      assert_true(k > 0);
      for (int i = 0; i < k; i++) assert_int_equal(done[i]->error, 0);
      got += k;
    }
    uint8_t want[LEN];
    for (int i = 0; i < N; i += 37) {
      fill(want, LEN, (unsigned)(round * N + i));
      assert_memory_equal(bufs + (size_t)i * LEN, want, LEN);
    }
  }
  alarm(0);
  free(bufs);
  ocfdev_close(d);
  assert_int_equal(ocfd_stop(&daemon_), 0);
  daemon_ = saved;
}

/* A busy neighbour: one client keeps 64 requests of 64 KB in flight (they
 * queue in the framework, where the event thread helps run them) while
 * another does small and large synchronous requests.  Every one of the
 * second client's requests completes, correctly, and so do the first's. */
static atomic_int neighbour_stop;
static atomic_long neighbour_done, neighbour_errors;

static void *neighbour(void *arg) {
  (void)arg;
  struct ocfdev *d = NULL;
  if (ocfdev_open(daemon_.sock, &d) != 0) {
    atomic_fetch_add(&neighbour_errors, 1);
    return NULL;
  }
  uint8_t key[16];
  fill(key, 16, 9);
  struct ocf_sessparam p = {.alg = OCF_ALG_AES_CBC, .key = key, .keylen = 16};
  uint32_t ses = 0;
  enum { W = 64, LEN = 65536 };
  uint8_t *mem = malloc((size_t)W * LEN);
  static struct ocfdev_op ops[W];
  struct ocfdev_op *ptr[W], *done[W];
  if (mem == NULL || ocfdev_newsession(d, &p, 0, &ses, NULL) != 0) {
    atomic_fetch_add(&neighbour_errors, 1);
    free(mem);
    ocfdev_close(d);
    return NULL;
  }
  memset(mem, 0x33, (size_t)W * LEN);
  for (int i = 0; i < W; i++) {
    ops[i] = (struct ocfdev_op){.ses = ses, .ndesc = 1, .buf = mem + (size_t)i * LEN, .len = LEN};
    ops[i].desc[0] = (struct ocf_desc){
        .alg = OCF_ALG_AES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = LEN};
    ptr[i] = &ops[i];
  }
  int sent = 0, inflight;
  if (ocfdev_submit_batch(d, ptr, W, &sent) != 0) atomic_fetch_add(&neighbour_errors, 1);
  inflight = sent;
  while (inflight > 0) {
    int k = 0;
    if (ocfdev_reap(d, done, W, 10000, &k) != 0 || k == 0) {
      atomic_fetch_add(&neighbour_errors, 1);
      break;
    }
    inflight -= k;
    for (int i = 0; i < k; i++)
      if (done[i]->error) atomic_fetch_add(&neighbour_errors, 1);
    atomic_fetch_add(&neighbour_done, k);
    if (!atomic_load(&neighbour_stop)) {
      if (ocfdev_submit_batch(d, done, k, &sent) != 0) atomic_fetch_add(&neighbour_errors, 1);
      inflight += sent;
    }
  }
  free(mem);
  ocfdev_close(d);
  return NULL;
}

static void t_busy_neighbour(void **state) {
  (void)state;
  alarm(120);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, neighbour, NULL), 0);
  while (atomic_load(&neighbour_done) < 64) usleep(1000);
  struct ocfdev *d = conn();
  uint8_t key[16], iv[16];
  fill(key, 16, 10);
  fill(iv, 16, 11);
  uint32_t ses = session(d, OCF_ALG_AES_CBC, key, 16);
  static uint8_t buf[65536], in[65536], ref[65536];
  for (int i = 0; i < 300; i++) {
    size_t len = i % 10 == 9 ? 65536 : 16 * (size_t)(1 + i % 8);
    fill(in, len, (unsigned)i);
    memcpy(buf, in, len);
    struct ocfdev_op op = {.ses = ses, .ndesc = 1, .buf = buf, .len = len};
    op.desc[0] = (struct ocf_desc){
        .alg = OCF_ALG_AES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = len};
    memcpy(op.desc[0].iv, iv, 16);
    assert_int_equal(ocfdev_crypt(d, &op), 0);
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    int ol;
    EVP_EncryptInit_ex(x, EVP_aes_128_cbc(), NULL, key, iv);
    EVP_CIPHER_CTX_set_padding(x, 0);
    EVP_EncryptUpdate(x, ref, &ol, in, (int)len);
    EVP_CIPHER_CTX_free(x);
    assert_memory_equal(buf, ref, len);
  }
  ocfdev_close(d);
  atomic_store(&neighbour_stop, 1);
  pthread_join(th, NULL);
  alarm(0);
  fprintf(stderr, "busy neighbour: %ld requests of 64 KB meanwhile, %ld errors\n",
          (long)atomic_load(&neighbour_done), (long)atomic_load(&neighbour_errors));
  assert_int_equal(atomic_load(&neighbour_errors), 0);
  assert_true(atomic_load(&neighbour_done) >= 64);
}

/* The daemon's limits: max request size. */
static void t_limits(void **state) {
  (void)state;
  struct ocfd_proc saved = daemon_;
  assert_int_equal(ocfd_start(&daemon_, "--max-request", "4096", NULL), 0);
  struct ocfdev *d = conn();
  assert_int_equal(ocfdev_max_request(d), 4096);
  uint32_t ses = session(d, OCF_ALG_NULL, NULL, 0);
  static uint8_t buf[8192];
  struct ocfdev_op op = {.ses = ses, .ndesc = 1, .buf = buf, .len = 4096};
  op.desc[0] = (struct ocf_desc){.alg = OCF_ALG_NULL, .flags = OCF_D_ENCRYPT, .len = 4096};
  assert_int_equal(ocfdev_crypt(d, &op), 0);
  op.len = op.desc[0].len = 4097;
  assert_int_equal(ocfdev_crypt(d, &op), EMSGSIZE);
  ocfdev_close(d);
  assert_int_equal(ocfd_stop(&daemon_), 0);
  /* allow-soft off: sessions only software could serve are EINVAL */
  assert_int_equal(ocfd_start(&daemon_, "--allow-soft", "no", NULL), 0);
  d = conn();
  assert_int_equal(ocfdev_allow_soft(d), 0);
  struct ocf_sessparam p = {.alg = OCF_ALG_AES_CBC, .key = buf, .keylen = 16};
  uint32_t x;
  assert_int_equal(ocfdev_newsession(d, &p, 0, &x, NULL), EINVAL);
  ocfdev_close(d);
  assert_int_equal(ocfd_stop(&daemon_), 0);
  daemon_ = saved;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(t_kat_cbc, setup, teardown),
      cmocka_unit_test_setup_teardown(t_async_batch, setup, teardown),
      cmocka_unit_test_setup_teardown(t_shm, setup, teardown),
      cmocka_unit_test_setup_teardown(t_sessions, setup, teardown),
      cmocka_unit_test_setup_teardown(t_stats, setup, teardown),
      cmocka_unit_test(t_stats_decoder),
      cmocka_unit_test_setup_teardown(t_bad_frames, setup, teardown),
      cmocka_unit_test_setup_teardown(t_bad_shm, setup, teardown),
      cmocka_unit_test_setup_teardown(t_disconnect_inflight, setup, teardown),
      cmocka_unit_test_setup_teardown(t_never_reads, setup, teardown),
      cmocka_unit_test_setup_teardown(t_thousand, setup, teardown),
      cmocka_unit_test_setup_teardown(t_limits, setup, teardown),
      cmocka_unit_test_setup_teardown(t_outq_resume, setup, teardown),
      cmocka_unit_test_setup_teardown(t_busy_neighbour, setup, teardown),
      cmocka_unit_test_setup_teardown(t_ring, setup, teardown),
      cmocka_unit_test_setup_teardown(t_ring_raw, setup, teardown),
      cmocka_unit_test_setup_teardown(t_sync_spin, setup, teardown),
      cmocka_unit_test(t_follow_decide),
      cmocka_unit_test(t_follow),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
