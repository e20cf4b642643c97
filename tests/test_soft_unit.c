/* test_soft_unit.c - the software producer's corners: context reuse across
 * requests, truncated MACs, AEAD tag failures, buffers split through a block,
 * separate output buffers, compression limits, and one session shared by
 * many threads.  References are direct OpenSSL / zlib calls. */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
// clang-format off
#include <cmocka.h>
// clang-format on

#include <ocf/ocf.h>

static OSSL_LIB_CTX *ref_ctx; /* default + legacy, for the reference only */
static OSSL_PROVIDER *ref_prov[2];

static int setup(void **state) {
  (void)state;
  ref_ctx = OSSL_LIB_CTX_new();
  if (ref_ctx == NULL) return -1;
  ref_prov[0] = OSSL_PROVIDER_load(ref_ctx, "default");
  ref_prov[1] = OSSL_PROVIDER_load(ref_ctx, "legacy");
  if (ref_prov[0] == NULL || ref_prov[1] == NULL) return -1;
  return ocf_init(NULL);
}

static int teardown(void **state) {
  (void)state;
  ocf_shutdown();
  OSSL_PROVIDER_unload(ref_prov[1]);
  OSSL_PROVIDER_unload(ref_prov[0]);
  OSSL_LIB_CTX_free(ref_ctx);
  return 0;
}

static void rnd(void *p, size_t n) { assert_int_equal(RAND_bytes(p, (int)n), 1); }

static ocf_sid_t sess1(enum ocf_alg alg, const uint8_t *key, size_t keylen, size_t maclen) {
  struct ocf_sessparam p = {.alg = alg, .key = key, .keylen = keylen, .maclen = maclen};
  ocf_sid_t sid = 0;
  assert_int_equal(ocf_newsession(&sid, &p, OCF_SESS_SWONLY), 0);
  char name[32];
  assert_int_equal(ocf_session_driver(sid, name, sizeof(name)), 0);
  assert_string_equal(name, "soft");
  return sid;
}

/* Direct EVP reference: cipher name, key, iv, data (no padding). */
static void ref_cipher(const char *name, const uint8_t *key, size_t keylen, const uint8_t *iv,
                       int enc, const uint8_t *in, size_t len, uint8_t *out) {
  EVP_CIPHER *c = EVP_CIPHER_fetch(ref_ctx, name, NULL);
  EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
  int n1 = 0, n2 = 0;
  assert_non_null(c);
  assert_true(EVP_CipherInit_ex(x, c, NULL, NULL, NULL, enc));
  assert_true(EVP_CIPHER_CTX_set_key_length(x, (int)keylen));
  assert_true(EVP_CipherInit_ex(x, NULL, NULL, key, iv, enc));
  EVP_CIPHER_CTX_set_padding(x, 0);
  assert_true(EVP_CipherUpdate(x, out, &n1, in, (int)len));
  assert_true(EVP_CipherFinal_ex(x, out + n1, &n2));
  assert_int_equal((size_t)(n1 + n2), len);
  EVP_CIPHER_CTX_free(x);
  EVP_CIPHER_free(c);
}

static void ref_gcm(const uint8_t *key, const uint8_t *iv, const uint8_t *aad, size_t aadlen,
                    const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag) {
  EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
  int n;
  assert_true(EVP_EncryptInit_ex(x, EVP_aes_128_gcm(), NULL, key, iv));
  assert_true(EVP_EncryptUpdate(x, NULL, &n, aad, (int)aadlen));
  assert_true(EVP_EncryptUpdate(x, out, &n, in, (int)len));
  assert_true(EVP_EncryptFinal_ex(x, out + n, &n));
  assert_true(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, 16, tag) > 0);
  EVP_CIPHER_CTX_free(x);
}

/* AES-128-CBC through the producer, in place and into a separate buffer,
 * many requests on one session (pooled contexts must get a fresh IV). */
static void test_cbc_vs_evp(void **state) {
  (void)state;
  uint8_t key[16], iv[16], pt[256], ref[256], buf[256], out[256];
  rnd(key, 16);
  ocf_sid_t sid = sess1(OCF_ALG_AES_CBC, key, 16, 0);
  for (int round = 0; round < 20; round++) {
    size_t len = 16 * (size_t)(1 + round % 16);
    rnd(iv, 16);
    rnd(pt, len);
    ref_cipher("AES-128-CBC", key, 16, iv, 1, pt, len, ref);
    memcpy(buf, pt, len);
    struct ocf_req r = {.sid = sid, .buf = ocf_buf_contig(buf, len), .ndesc = 1};
    r.desc[0] = (struct ocf_desc){
        .alg = OCF_ALG_AES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = len};
    memcpy(r.desc[0].iv, iv, 16);
    assert_int_equal(ocf_run(&r), 0);
    assert_memory_equal(buf, ref, len);
    /* decrypt into a separate buffer: input untouched */
    memset(out, 0xee, sizeof(out));
    r.out = ocf_buf_contig(out, len);
    r.desc[0].flags = OCF_D_IV_EXPLICIT;
    assert_int_equal(ocf_run(&r), 0);
    assert_memory_equal(out, pt, len);
    assert_memory_equal(buf, ref, len);
    /* encrypt from out into buf: the cipher reads one buffer, writes another */
    memset(buf, 0, sizeof(buf));
    struct ocf_req e = {
        .sid = sid, .buf = ocf_buf_contig(out, len), .out = ocf_buf_contig(buf, len), .ndesc = 1};
    e.desc[0] = r.desc[0];
    e.desc[0].flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT;
    assert_int_equal(ocf_run(&e), 0);
    assert_memory_equal(buf, ref, len);
    assert_memory_equal(out, pt, len);
  }
  /* generated IV: written at iv_off and into desc->iv; data after it */
  uint8_t b2[16 + 64];
  rnd(pt, 64);
  memcpy(b2 + 16, pt, 64);
  struct ocf_req r = {.sid = sid, .buf = ocf_buf_contig(b2, sizeof(b2)), .ndesc = 1};
  r.desc[0] = (struct ocf_desc){
      .alg = OCF_ALG_AES_CBC, .flags = OCF_D_ENCRYPT, .skip = 16, .len = 64, .iv_off = 0};
  assert_int_equal(ocf_run(&r), 0);
  assert_memory_equal(b2, r.desc[0].iv, 16);
  ref_cipher("AES-128-CBC", key, 16, b2, 1, pt, 64, ref);
  assert_memory_equal(b2 + 16, ref, 64);
  r.desc[0].flags = OCF_D_IV_PRESENT; /* and back */
  assert_int_equal(ocf_run(&r), 0);
  assert_memory_equal(b2 + 16, pt, 64);
  assert_int_equal(ocf_freesession(sid), 0);
}

/* Legacy-provider ciphers and CTR with odd lengths back to back (the CTR
 * context must not carry keystream over from the previous request). */
static void test_legacy_and_ctr(void **state) {
  (void)state;
  static const struct {
    enum ocf_alg alg;
    const char *name;
    size_t keylen, ivlen, block;
  } cs[] = {
      {OCF_ALG_DES_CBC, "DES-CBC", 8, 8, 8},       {OCF_ALG_3DES_CBC, "DES-EDE3-CBC", 24, 8, 8},
      {OCF_ALG_BLOWFISH_CBC, "BF-CBC", 7, 8, 8},   {OCF_ALG_CAST5_CBC, "CAST5-CBC", 11, 8, 8},
      {OCF_ALG_AES_CTR, "AES-256-CTR", 32, 16, 1},
  };
  uint8_t key[32], iv[16], pt[200], ref[200], buf[200];
  for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
    rnd(key, cs[i].keylen);
    ocf_sid_t sid = sess1(cs[i].alg, key, cs[i].keylen, 0);
    for (size_t len = cs[i].block; len <= 200; len += cs[i].block == 1 ? 37 : 24) {
      rnd(iv, cs[i].ivlen);
      rnd(pt, len);
      ref_cipher(cs[i].name, key, cs[i].keylen, iv, 1, pt, len, ref);
      memcpy(buf, pt, len);
      struct ocf_req r = {.sid = sid, .buf = ocf_buf_contig(buf, len), .ndesc = 1};
      r.desc[0] = (struct ocf_desc){
          .alg = cs[i].alg, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = len};
      memcpy(r.desc[0].iv, iv, cs[i].ivlen);
      assert_int_equal(ocf_run(&r), 0);
      assert_memory_equal(buf, ref, len);
    }
    assert_int_equal(ocf_freesession(sid), 0);
  }
}

/* HMAC-SHA1-96 (truncated), verify good and bad, long key (> block). */
static void test_hmac_trunc(void **state) {
  (void)state;
  uint8_t key[100], data[300], full[EVP_MAX_MD_SIZE];
  unsigned fl = 0;
  for (size_t keylen = 20; keylen <= 100; keylen += 80) {
    rnd(key, keylen);
    rnd(data, 288);
    ocf_sid_t sid = sess1(OCF_ALG_HMAC_SHA1, key, keylen, 12);
    assert_non_null(HMAC(EVP_sha1(), key, (int)keylen, data, 288, full, &fl));
    struct ocf_req r = {.sid = sid, .buf = ocf_buf_contig(data, 300), .ndesc = 1};
    r.desc[0] = (struct ocf_desc){.alg = OCF_ALG_HMAC_SHA1, .len = 288, .inject = 288};
    assert_int_equal(ocf_run(&r), 0);
    assert_memory_equal(data + 288, full, 12);
    r.desc[0].flags = OCF_D_VERIFY;
    assert_int_equal(ocf_run(&r), 0);
    data[5] ^= 1;
    assert_int_equal(ocf_run(&r), EBADMSG);
    assert_int_equal(ocf_freesession(sid), 0);
  }
}

/* GCM encrypt, decrypt, bad tag -> EBADMSG with the plaintext wiped. */
static void test_gcm(void **state) {
  (void)state;
  uint8_t key[16], iv[12], b[20 + 100 + 16], pt[100], ref[100], tag[16];
  rnd(key, 16);
  rnd(iv, 12);
  rnd(b, sizeof(b));
  memcpy(pt, b + 20, 100);
  ref_gcm(key, iv, b, 20, pt, 100, ref, tag);
  ocf_sid_t sid = sess1(OCF_ALG_AES_GCM, key, 16, 0);
  struct ocf_req r = {.sid = sid, .buf = ocf_buf_contig(b, sizeof(b)), .ndesc = 1};
  r.desc[0] = (struct ocf_desc){.alg = OCF_ALG_AES_GCM,
                                .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT,
                                .skip = 20,
                                .len = 100,
                                .aad_skip = 0,
                                .aad_len = 20,
                                .inject = 120};
  memcpy(r.desc[0].iv, iv, 12);
  assert_int_equal(ocf_run(&r), 0);
  assert_memory_equal(b + 20, ref, 100);
  assert_memory_equal(b + 120, tag, 16);
  r.desc[0].flags = OCF_D_IV_EXPLICIT;
  assert_int_equal(ocf_run(&r), 0);
  assert_memory_equal(b + 20, pt, 100);
  /* re-encrypt, corrupt the tag, decrypt: EBADMSG and no plaintext left */
  r.desc[0].flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT;
  assert_int_equal(ocf_run(&r), 0);
  b[135] ^= 0x80;
  r.desc[0].flags = OCF_D_IV_EXPLICIT;
  assert_int_equal(ocf_run(&r), EBADMSG);
  static const uint8_t zero[100];
  assert_memory_equal(b + 20, zero, 100);
  assert_int_equal(ocf_freesession(sid), 0);
}

/* Split buffers: iovec with 1-byte and uneven pieces cutting through cipher
 * blocks (CBC, XTS), mbuf chain through the GCM tag and the AAD. */
static void test_split_buffers(void **state) {
  (void)state;
  enum { N = 96 };
  uint8_t key[64], iv[16], flat[N + 16], ref[N + 16], tag[16];
  uint8_t store[N + 16];
  static const size_t cuts[][6] = {{1, 1, 1, 1, 1, 200},
                                   {7, 13, 5, 40, 3, 200},
                                   {15, 17, 31, 33, 200, 0},
                                   {95, 1, 200, 0, 0, 0}};
  for (int alg = 0; alg < 2; alg++) {
    size_t keylen = alg == 0 ? 16 : 32;
    enum ocf_alg a = alg == 0 ? OCF_ALG_AES_CBC : OCF_ALG_AES_XTS;
    rnd(key, keylen);
    ocf_sid_t sid = sess1(a, key, keylen, 0);
    for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
      struct iovec iov[8];
      int cnt = 0;
      size_t off = 0;
      rnd(flat, N);
      rnd(iv, 16);
      memcpy(store, flat, N);
      for (int k = 0; k < 6 && off < N && cuts[c][k] > 0; k++) {
        size_t l = cuts[c][k] < N - off ? cuts[c][k] : N - off;
        iov[cnt++] = (struct iovec){.iov_base = store + off, .iov_len = l};
        off += l;
      }
      ref_cipher(alg == 0 ? "AES-128-CBC" : "AES-128-XTS", key, keylen, iv, 1, flat, N, ref);
      struct ocf_req r = {.sid = sid, .buf = ocf_buf_iovec(iov, cnt), .ndesc = 1};
      r.desc[0] = (struct ocf_desc){
          .alg = a, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .skip = 0, .len = N};
      memcpy(r.desc[0].iv, iv, 16);
      assert_int_equal(ocf_run(&r), 0);
      assert_memory_equal(store, ref, N);
      r.desc[0].flags = OCF_D_IV_EXPLICIT;
      assert_int_equal(ocf_run(&r), 0);
      assert_memory_equal(store, flat, N);
    }
    assert_int_equal(ocf_freesession(sid), 0);
  }
  /* GCM over an mbuf chain of 3-byte links: AAD [0,16), payload [16,96),
   * tag [96,112), every region split. */
  rnd(key, 16);
  rnd(iv, 12);
  rnd(flat, N + 16);
  memcpy(store, flat, N + 16);
  ref_gcm(key, iv, flat, 16, flat + 16, N - 16, ref, tag);
  struct ocf_mbuf m[(N + 16) / 3 + 1];
  size_t nm = 0;
  for (size_t off = 0; off < N + 16; off += 3, nm++) {
    m[nm].data = store + off;
    m[nm].len = N + 16 - off < 3 ? N + 16 - off : 3;
    m[nm].next = NULL;
    if (nm > 0) m[nm - 1].next = &m[nm];
  }
  ocf_sid_t sid = sess1(OCF_ALG_AES_GCM, key, 16, 0);
  struct ocf_req r = {.sid = sid, .buf = ocf_buf_mbuf(&m[0]), .ndesc = 1};
  r.desc[0] = (struct ocf_desc){.alg = OCF_ALG_AES_GCM,
                                .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT,
                                .skip = 16,
                                .len = N - 16,
                                .aad_len = 16,
                                .inject = N};
  memcpy(r.desc[0].iv, iv, 12);
  assert_int_equal(ocf_run(&r), 0);
  assert_memory_equal(store + 16, ref, N - 16);
  assert_memory_equal(store + N, tag, 16);
  r.desc[0].flags = OCF_D_IV_EXPLICIT;
  assert_int_equal(ocf_run(&r), 0);
  assert_memory_equal(store, flat, N);
  assert_int_equal(ocf_freesession(sid), 0);
}

/* CCM with a truncated tag over a split buffer, and a bad tag. */
static void test_ccm_split(void **state) {
  (void)state;
  uint8_t key[16], iv[13], flat[80], store[80], ref[48], tag[8];
  int n;
  rnd(key, 16);
  rnd(iv, 13);
  rnd(flat, sizeof(flat));
  memcpy(store, flat, sizeof(flat));
  EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new(); /* AAD [0,24) payload [24,72) tag [72,80) */
  assert_true(EVP_EncryptInit_ex(x, EVP_aes_128_ccm(), NULL, NULL, NULL));
  assert_true(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, 13, NULL) > 0);
  assert_true(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, 8, NULL) > 0);
  assert_true(EVP_EncryptInit_ex(x, NULL, NULL, key, iv));
  assert_true(EVP_EncryptUpdate(x, NULL, &n, NULL, 48));
  assert_true(EVP_EncryptUpdate(x, NULL, &n, flat, 24));
  assert_true(EVP_EncryptUpdate(x, ref, &n, flat + 24, 48));
  assert_true(EVP_EncryptFinal_ex(x, ref, &n));
  assert_true(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, 8, tag) > 0);
  EVP_CIPHER_CTX_free(x);
  struct ocf_sessparam p = {
      .alg = OCF_ALG_AES_CCM, .key = key, .keylen = 16, .maclen = 8, .ivlen = 13};
  ocf_sid_t sid;
  assert_int_equal(ocf_newsession(&sid, &p, OCF_SESS_SWONLY), 0);
  struct iovec iov[3] = {{store, 10}, {store + 10, 50}, {store + 60, 20}};
  struct ocf_req r = {.sid = sid, .buf = ocf_buf_iovec(iov, 3), .ndesc = 1};
  r.desc[0] = (struct ocf_desc){.alg = OCF_ALG_AES_CCM,
                                .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT,
                                .skip = 24,
                                .len = 48,
                                .aad_len = 24,
                                .inject = 72};
  memcpy(r.desc[0].iv, iv, 13);
  for (int i = 0; i < 3; i++) { /* repeated: pooled CCM contexts reinit */
    memcpy(store, flat, sizeof(flat));
    r.desc[0].flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT;
    assert_int_equal(ocf_run(&r), 0);
    assert_memory_equal(store + 24, ref, 48);
    assert_memory_equal(store + 72, tag, 8);
    r.desc[0].flags = OCF_D_IV_EXPLICIT;
    assert_int_equal(ocf_run(&r), 0);
    assert_memory_equal(store, flat, 72);
  }
  memcpy(store + 24, ref, 48);
  store[73] ^= 1;
  assert_int_equal(ocf_run(&r), EBADMSG);
  assert_int_equal(ocf_freesession(sid), 0);
}

/* MAC-then-encrypt with the tag inside the encrypted range (TLS style), into
 * a separate output buffer: the input stays as it was. */
static void test_mte_separate_out(void **state) {
  (void)state;
  uint8_t ck[16], mk[32], iv[16], in[96], orig[96], out[96], flat[96], ref[96];
  unsigned fl;
  rnd(ck, 16);
  rnd(mk, 32);
  rnd(iv, 16);
  rnd(in, sizeof(in));
  memcpy(orig, in, sizeof(in));
  /* data [0,64) MAC'd; tag at [64,84); cipher over [0,96) */
  memcpy(flat, in, 96);
  assert_non_null(HMAC(EVP_sha256(), mk, 32, flat, 64, ref, &fl));
  memcpy(flat + 64, ref, 20);
  ref_cipher("AES-128-CBC", ck, 16, iv, 1, flat, 96, ref);
  struct ocf_sessparam pm = {.alg = OCF_ALG_HMAC_SHA2_256, .key = mk, .keylen = 32, .maclen = 20};
  struct ocf_sessparam pc = {.alg = OCF_ALG_AES_CBC, .key = ck, .keylen = 16, .next = &pm};
  ocf_sid_t sid;
  assert_int_equal(ocf_newsession(&sid, &pc, OCF_SESS_SWONLY), 0);
  memset(out, 0, sizeof(out));
  struct ocf_req r = {.sid = sid,
                      .buf = ocf_buf_contig(in, sizeof(in)),
                      .out = ocf_buf_contig(out, sizeof(out)),
                      .ndesc = 2};
  r.desc[0] = (struct ocf_desc){.alg = OCF_ALG_HMAC_SHA2_256, .len = 64, .inject = 64};
  r.desc[1] = (struct ocf_desc){
      .alg = OCF_ALG_AES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = 96};
  memcpy(r.desc[1].iv, iv, 16);
  assert_int_equal(ocf_run(&r), 0);
  assert_memory_equal(out, ref, 96);
  assert_memory_equal(in, orig, 96);
  /* and the reverse, in place on out: decrypt then verify */
  struct ocf_req d = {.sid = sid, .buf = ocf_buf_contig(out, sizeof(out)), .ndesc = 2};
  d.desc[0] = (struct ocf_desc){.alg = OCF_ALG_AES_CBC, .flags = OCF_D_IV_EXPLICIT, .len = 96};
  memcpy(d.desc[0].iv, iv, 16);
  d.desc[1] = (struct ocf_desc){
      .alg = OCF_ALG_HMAC_SHA2_256, .flags = OCF_D_VERIFY, .len = 64, .inject = 64};
  assert_int_equal(ocf_run(&d), 0);
  assert_memory_equal(out, flat, 96);
  assert_int_equal(ocf_freesession(sid), 0);
}

/* DEFLATE round trip at an offset, and ENOSPC leaving the buffer alone. */
static void test_deflate(void **state) {
  (void)state;
  enum { N = 4000 };
  uint8_t *b = malloc(8 + N), *orig = malloc(N), *rnd_data = malloc(N);
  assert_non_null(b);
  assert_non_null(orig);
  assert_non_null(rnd_data);
  for (size_t i = 0; i < N; i++) orig[i] = (uint8_t)("abcabcabd"[i % 9] + (i / 500));
  memcpy(b + 8, orig, N);
  struct ocf_sessparam p = {.alg = OCF_ALG_DEFLATE, .level = 9};
  ocf_sid_t sid;
  assert_int_equal(ocf_newsession(&sid, &p, OCF_SESS_SWONLY), 0);
  struct ocf_req r = {.sid = sid, .buf = ocf_buf_contig(b, 8 + N), .ndesc = 1};
  r.desc[0] =
      (struct ocf_desc){.alg = OCF_ALG_DEFLATE, .flags = OCF_D_ENCRYPT, .skip = 8, .len = N};
  assert_int_equal(ocf_run(&r), 0);
  size_t clen = r.olen;
  assert_true(clen > 0 && clen < N / 4);
  /* zlib agrees it is raw deflate of the input */
  uint8_t *chk = malloc(N);
  z_stream z = {0};
  assert_int_equal(inflateInit2(&z, -15), Z_OK);
  z.next_in = b + 8;
  z.avail_in = (uInt)clen;
  z.next_out = chk;
  z.avail_out = N;
  assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
  assert_int_equal(z.total_out, N);
  assert_memory_equal(chk, orig, N);
  inflateEnd(&z);
  free(chk);
  uint8_t *comp = malloc(clen);
  assert_non_null(comp);
  memcpy(comp, b + 8, clen);
  r.desc[0] = (struct ocf_desc){.alg = OCF_ALG_DEFLATE, .skip = 8, .len = clen};
  assert_int_equal(ocf_run(&r), 0);
  assert_int_equal(r.olen, N);
  assert_memory_equal(b + 8, orig, N);
  /* output exactly filling a split buffer (the end-of-stream code comes after
   * the last byte of room), then one byte short of room */
  for (size_t room = N; room >= N - 1; room--) {
    memset(b, 0, 8 + N);
    memcpy(b + 8, comp, clen);
    /* the compressed data's last byte sits alone in the last segment */
    struct iovec iov[3] = {{b, 5}, {b + 5, 3 + clen - 1}, {b + 7 + clen, 1 + room - clen}};
    struct ocf_req q = {.sid = sid, .buf = ocf_buf_iovec(iov, 3), .ndesc = 1};
    q.desc[0] = (struct ocf_desc){.alg = OCF_ALG_DEFLATE, .skip = 8, .len = clen};
    if (room == N) {
      assert_int_equal(ocf_run(&q), 0);
      assert_int_equal(q.olen, N);
      assert_memory_equal(b + 8, orig, N);
    } else {
      assert_int_equal(ocf_run(&q), ENOSPC);
      assert_memory_equal(b + 8, comp, clen);
    }
  }
  free(comp);
  /* incompressible data into a buffer with no room to grow */
  rnd(rnd_data, N);
  memcpy(b + 8, rnd_data, N);
  r.desc[0] =
      (struct ocf_desc){.alg = OCF_ALG_DEFLATE, .flags = OCF_D_ENCRYPT, .skip = 8, .len = N};
  assert_int_equal(ocf_run(&r), ENOSPC);
  assert_memory_equal(b + 8, rnd_data, N);
  /* garbage does not decompress */
  r.desc[0] = (struct ocf_desc){.alg = OCF_ALG_DEFLATE, .skip = 8, .len = 100};
  memset(b + 8, 0xff, 100);
  assert_int_not_equal(ocf_run(&r), 0);
  assert_int_equal(ocf_freesession(sid), 0);
  free(b);
  free(orig);
  free(rnd_data);
}

/* One session, many threads at once, each checking its own results. */
struct thr {
  ocf_sid_t sid;
  const uint8_t *key;
  int cbc; /* AES-128-CBC session, else GCM */
  int failures;
};

static void *thr_main(void *arg) {
  struct thr *t = arg;
  uint8_t iv[12], pt[512], b[512 + 16], ref[512], tag[16];
  for (int i = 0; i < 300; i++) {
    size_t len = 1 + (size_t)(i * 37) % 512;
    RAND_bytes(iv, 12);
    RAND_bytes(pt, (int)len);
    memcpy(b, pt, len);
    if (t->cbc) {
      uint8_t civ[16] = {0};
      memcpy(civ, iv, 12);
      len = (len + 15) & ~(size_t)15;
      if (len > 512) len = 512;
      ref_cipher("AES-128-CBC", t->key, 16, civ, 1, pt, len, ref);
      memcpy(b, pt, len);
      struct ocf_req r = {.sid = t->sid, .buf = ocf_buf_contig(b, len), .ndesc = 1};
      r.desc[0] = (struct ocf_desc){
          .alg = OCF_ALG_AES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = len};
      memcpy(r.desc[0].iv, civ, 16);
      if (ocf_run(&r) != 0 || memcmp(b, ref, len) != 0) t->failures++;
      r.desc[0].flags = OCF_D_IV_EXPLICIT;
      if (ocf_run(&r) != 0 || memcmp(b, pt, len) != 0) t->failures++;
      continue;
    }
    ref_gcm(t->key, iv, NULL, 0, pt, len, ref, tag);
    struct ocf_req r = {.sid = t->sid, .buf = ocf_buf_contig(b, len + 16), .ndesc = 1};
    r.desc[0] = (struct ocf_desc){.alg = OCF_ALG_AES_GCM,
                                  .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT,
                                  .len = len,
                                  .inject = len};
    memcpy(r.desc[0].iv, iv, 12);
    if (ocf_run(&r) != 0 || memcmp(b, ref, len) != 0 || memcmp(b + len, tag, 16) != 0)
      t->failures++;
    r.desc[0].flags = OCF_D_IV_EXPLICIT;
    if (ocf_run(&r) != 0 || memcmp(b, pt, len) != 0) t->failures++;
  }
  return NULL;
}

static void test_threads_one_session(void **state) {
  (void)state;
  enum { T = 8 };
  uint8_t key[16];
  rnd(key, 16);
  ocf_sid_t sid = sess1(OCF_ALG_AES_GCM, key, 16, 0);
  ocf_sid_t csid = sess1(OCF_ALG_AES_CBC, key, 16, 0);
  pthread_t th[T];
  struct thr t[T];
  for (int i = 0; i < T; i++) {
    t[i] = (struct thr){.sid = i % 2 ? csid : sid, .key = key, .cbc = i % 2};
    assert_int_equal(pthread_create(&th[i], NULL, thr_main, &t[i]), 0);
  }
  for (int i = 0; i < T; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(t[i].failures, 0);
  }
  assert_int_equal(ocf_freesession(sid), 0);
  assert_int_equal(ocf_freesession(csid), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cbc_vs_evp),          cmocka_unit_test(test_legacy_and_ctr),
      cmocka_unit_test(test_hmac_trunc),          cmocka_unit_test(test_gcm),
      cmocka_unit_test(test_split_buffers),       cmocka_unit_test(test_ccm_split),
      cmocka_unit_test(test_mte_separate_out),    cmocka_unit_test(test_deflate),
      cmocka_unit_test(test_threads_one_session),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
