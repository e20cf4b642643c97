/* test_ocfd.c - ocfd through libocfdev, and ocfd against bad clients.
 *
 * The native API: known answers (NIST CBC vectors), many requests in flight
 * and batches, shared-memory buffers processed in place.  Bad clients: broken
 * framing, malformed bodies, unknown commands, someone else's session, a
 * disconnect with requests in flight, a client that never reads, a thousand
 * clients at once.  Each gets an error or is disconnected, and the daemon
 * keeps serving a well-behaved client throughout; it must exit cleanly
 * (no leaks under ASan) at the end of every test.  The rings are tested in
 * test_ocfd_ring.c; what both use is in test_ocfd_client.h. */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "../src/client/wire.h"
#include "test_ocfd_client.h"
#include "vectors.h"

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

/* Many sessions on one connection, most of them freed in a scattered order
 * (the daemon finds sessions through a table by id, which a free must not
 * break for the others): every request reaches its own session (each has its
 * own key, so finding another one would give another ciphertext), a freed
 * one none, the list holds exactly the survivors, and new sessions taken
 * after the frees work too. */
#define MANY 3000
static void many_key(int i, uint8_t key[16]) {
  for (int k = 0; k < 16; k++) key[k] = (uint8_t)(i * 131 + k * 7 + (i >> 8));
}

static void many_check(struct ocfdev *a, uint32_t ses, int i, bool gone) {
  uint8_t key[16], buf[16] = {0}, want[16], iv[16] = {0};
  static const uint8_t zero[16];
  many_key(i, key);
  struct ocfdev_op op = {.ses = ses, .ndesc = 1, .buf = buf, .len = 16};
  op.desc[0] = (struct ocf_desc){
      .alg = OCF_ALG_AES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = 16};
  int rc = ocfdev_crypt(a, &op);
  if (gone) {
    assert_int_equal(rc, ENOENT);
    return;
  }
  assert_int_equal(rc, 0);
  EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
  int l = 0;
  assert_int_equal(EVP_EncryptInit_ex(x, EVP_aes_128_cbc(), NULL, key, iv), 1);
  EVP_CIPHER_CTX_set_padding(x, 0);
  assert_int_equal(EVP_EncryptUpdate(x, want, &l, zero, 16), 1);
  EVP_CIPHER_CTX_free(x);
  assert_memory_equal(buf, want, 16);
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static void t_many_sessions(void **state) {
  (void)state;
  struct ocfdev *a = conn();
  static uint32_t ids[MANY + 100], live[MANY], listed[MANY + 100];
  static bool gone[MANY + 100];
  uint8_t key[16];
  for (int i = 0; i < MANY; i++) {
    many_key(i, key);
    ids[i] = session(a, OCF_ALG_AES_CBC, key, 16);
    gone[i] = false;
  }
  int nlive = 0;
  for (int k = 0; k < MANY; k++) { /* 7919 is prime: a permutation of 0..MANY-1 */
    int i = (int)(((unsigned)k * 7919u) % MANY);
    if (i % 3 != 0) {
      assert_int_equal(ocfdev_freesession(a, ids[i]), 0);
      gone[i] = true;
    }
  }
  for (int i = MANY; i < MANY + 100; i++) { /* into the holes the frees left */
    many_key(i, key);
    ids[i] = session(a, OCF_ALG_AES_CBC, key, 16);
    gone[i] = false;
  }
  for (int i = 0; i < MANY + 100; i++) {
    many_check(a, ids[i], i, gone[i]);
    if (!gone[i] && i < MANY) live[nlive++] = ids[i];
  }
  for (int i = MANY; i < MANY + 100; i++) live[nlive++] = ids[i];
  int n = -1;
  assert_int_equal(ocfdev_sessions(a, listed, MANY + 100, &n), 0);
  assert_int_equal(n, nlive);
  qsort(live, (size_t)nlive, sizeof(*live), cmp_u32);
  qsort(listed, (size_t)n, sizeof(*listed), cmp_u32);
  assert_memory_equal(live, listed, (size_t)n * sizeof(*live));
  ocfdev_close(a);
}

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

/* --- bad clients ------------------------------------------------------------ */

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

/* run_ocfd runs the daemon binary with args (NULL-terminated) on a socket
 * of its own, stops it after a second if it is still running, and returns
 * its exit status (-1 if it had to be stopped); err gets its stderr. */
static int run_ocfd(char *err, size_t errlen, const char *const *args) {
  char bin[512], sock[108], errf[64] = "/tmp/ocfd-bad.XXXXXX";
  snprintf(bin, sizeof(bin), "%s/ocfd", ocfd_build_dir());
  snprintf(sock, sizeof(sock), "/tmp/ocfd-bad.%d.sock", (int)getpid());
  int efd = mkstemp(errf);
  assert_true(efd >= 0);
  const char *argv[16] = {bin, "-s", sock};
  int n = 3;
  for (int i = 0; args[i] != NULL && n < 15; i++) argv[n++] = args[i];
  argv[n] = NULL;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(efd, 2);
    execv(bin, (char *const *)argv);
    _exit(127);
  }
  int st = 0, waited = 0;
  while (waitpid(pid, &st, WNOHANG) == 0) {
    if (++waited == 100) { /* a second: it is serving */
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      st = -1;
      break;
    }
    usleep(10000);
  }
  ssize_t got = pread(efd, err, errlen - 1, 0);
  err[got > 0 ? got : 0] = '\0';
  close(efd);
  unlink(errf);
  unlink(sock);
  return st == -1 ? -1 : (WIFEXITED(st) ? WEXITSTATUS(st) : -2);
}

/* Settings that would leave a daemon accepting clients and never serving
 * them (an output or in-flight limit of 0; a size whose unit makes it wrap
 * to 0; a negative size, which strtoull reads as 2^64 - 1), and a
 * configuration line longer than the reader's buffer, whose rest would be
 * read as a line of its own: each is refused at start-up, exit status 2,
 * with the setting (or the line) named.  Before this check `--max-outq 0`
 * and `--max-outq 17179869184G` started a daemon on which a client waited
 * for ever. */
static void t_bad_settings(void **state) {
  (void)state;
  static const char *const bad[][3] = {
      {"--max-outq", "0", "max-outq"},
      {"--max-outq", "17179869184G", "max-outq"},
      {"--max-outq", "-1", "max-outq"},
      {"--max-inflight-bytes", "0", "max-inflight-bytes"},
      {"--max-shm", "+1M", "max-shm"},
      {"--max-inflight-bytes", "18014398509481984K", "max-inflight-bytes"},
  };
  char err[512];
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    const char *args[] = {bad[i][0], bad[i][1], NULL};
    int rc = run_ocfd(err, sizeof(err), args);
    if (rc != 2 || strstr(err, bad[i][2]) == NULL)
      fail_msg("%s %s: exit %d, \"%s\"", bad[i][0], bad[i][1], rc, err);
  }
  /* the same settings in range start a daemon (stopped by run_ocfd) */
  const char *good[] = {"--max-outq", "1", "--max-inflight-bytes", "64K", NULL};
  assert_int_equal(run_ocfd(err, sizeof(err), good), -1);
  char conf[64] = "/tmp/ocfd-bad-conf.XXXXXX";
  int fd = mkstemp(conf);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  fprintf(f, "workers = 1\n# %01100d\nmax-outq = 4M\n", 0);
  fclose(f);
  const char *withconf[] = {"-c", conf, NULL};
  int rc = run_ocfd(err, sizeof(err), withconf);
  unlink(conf);
  if (rc != 2 || strstr(err, ":2: line longer than") == NULL)
    fail_msg("an over-long configuration line: exit %d, \"%s\"", rc, err);
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
      cmocka_unit_test_setup_teardown(t_many_sessions, setup, teardown),
      cmocka_unit_test_setup_teardown(t_stats, setup, teardown),
      cmocka_unit_test(t_stats_decoder),
      cmocka_unit_test_setup_teardown(t_bad_frames, setup, teardown),
      cmocka_unit_test_setup_teardown(t_bad_shm, setup, teardown),
      cmocka_unit_test_setup_teardown(t_disconnect_inflight, setup, teardown),
      cmocka_unit_test_setup_teardown(t_never_reads, setup, teardown),
      cmocka_unit_test_setup_teardown(t_thousand, setup, teardown),
      cmocka_unit_test_setup_teardown(t_limits, setup, teardown),
      cmocka_unit_test_setup_teardown(t_outq_resume, setup, teardown),
      cmocka_unit_test(t_bad_settings),
      cmocka_unit_test_setup_teardown(t_busy_neighbour, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
