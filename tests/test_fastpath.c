/* test_fastpath.c - the risks of running requests in the caller's thread:
 * callbacks that dispatch again (the stack stays bounded, nothing
 * deadlocks), sessions freed or migrated while another thread runs their
 * requests, batches that mix sessions, producers and errors, consumers that
 * dispatch from callbacks while their producer is removed, and the rule
 * that decides where a request runs, on constructed cases.  Every request
 * counts its callbacks: each must run exactly once per accepted dispatch. */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
// clang-format off
#include <cmocka.h>
// clang-format on

#include "testdrv.h"

static int scale(void) {
  const char *e = getenv("OCF_TEST_SCALE");
  int s = e ? atoi(e) : 1;
  return s > 0 ? s : 1;
}

static const uint8_t key16[16] = "fastpath-key-16b";

/* Producers a test attached: the teardown removes what a failed test left,
 * so that the next test does not find them. */
static struct testdrv *live[8];

static struct testdrv *attach(const struct testdrv_opts *o) {
  struct testdrv *t = testdrv_attach(o);
  assert_non_null(t);
  for (int i = 0; i < 8; i++)
    if (live[i] == NULL) {
      live[i] = t;
      return t;
    }
  fail();
  return NULL;
}

static void detach(struct testdrv *t) {
  for (int i = 0; i < 8; i++)
    if (live[i] == t) live[i] = NULL;
  testdrv_detach(t);
}

static ocf_sid_t new_sess(enum ocf_alg alg, unsigned flags) {
  struct ocf_sessparam p = {.alg = alg,
                            .key = alg == OCF_ALG_NULL ? NULL : key16,
                            .keylen = alg == OCF_ALG_NULL ? 0 : 16};
  ocf_sid_t sid = 0;
  assert_int_equal(ocf_newsession(&sid, &p, flags), 0);
  return sid;
}

static void ref_cbc(const uint8_t *iv, const uint8_t *in, uint8_t *out, size_t len) {
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int l1 = 0, l2 = 0;
  assert_true(EVP_CipherInit_ex(c, EVP_aes_128_cbc(), NULL, key16, iv, 1));
  EVP_CIPHER_CTX_set_padding(c, 0);
  assert_true(EVP_CipherUpdate(c, out, &l1, in, (int)len));
  assert_true(EVP_CipherFinal_ex(c, out + l1, &l2));
  EVP_CIPHER_CTX_free(c);
}

static void wait_until(atomic_int *v, int n) {
  for (int i = 0; i < 60000 && atomic_load(v) < n; i++) usleep(500);
  assert_int_equal(atomic_load(v), n);
}

/* free_when_idle: callbacks may still be returning on other threads */
static void free_when_idle(ocf_sid_t sid) {
  int rc;
  for (int i = 0; i < 20000 && (rc = ocf_freesession(sid)) == EBUSY; i++) usleep(100);
  assert_int_equal(rc, 0);
}

/* A thread allowed on one CPU only, or on all of them. */
static void run_on(void *(*fn)(void *), void *arg, int one_cpu) {
  pthread_attr_t a;
  pthread_attr_init(&a);
  if (one_cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    int c = sched_getcpu();
    CPU_SET(c >= 0 ? c : 0, &set);
    pthread_attr_setaffinity_np(&a, sizeof(set), &set);
  }
  pthread_t t;
  assert_int_equal(pthread_create(&t, &a, fn, arg), 0);
  pthread_join(t, NULL);
  pthread_attr_destroy(&a);
}

static int ncpus(void) {
  cpu_set_t set;
  CPU_ZERO(&set);
  return sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
}

/* --- a callback that dispatches again ---------------------------------------- */

struct chain {
  struct ocf_req req;
  uint8_t buf[64], out[64];
  int left; /* resubmissions still to do */
  atomic_int done;
  pthread_t owner;
  int on_owner;     /* callbacks that ran on the dispatching thread */
  uintptr_t lo, hi; /* stack addresses seen in the callbacks */
  int nested_left;  /* OCF_REQ_INLINE: resubmit nested */
};

static void chain_cb(struct ocf_req *r) {
  struct chain *c = r->opaque;
  volatile int here = 0;
  uintptr_t sp = (uintptr_t)&here;
  if (pthread_equal(pthread_self(), c->owner)) {
    c->on_owner++;
    if (c->lo == 0 || sp < c->lo) c->lo = sp;
    if (sp > c->hi) c->hi = sp;
  }
  assert_int_equal(r->error, 0);
  if (c->left > 0) {
    c->left--;
    atomic_fetch_add(&c->done, 1);
    assert_int_equal(ocf_dispatch(r), 0);
    return;
  }
  atomic_fetch_add(&c->done, 1);
}

static void chain_init(struct chain *c, ocf_sid_t sid, int n, unsigned flags) {
  memset(c, 0, sizeof(*c));
  c->req.sid = sid;
  c->req.flags = flags;
  c->req.buf = ocf_buf_contig(c->buf, 64);
  c->req.out = ocf_buf_contig(c->out, 64);
  c->req.ndesc = 1;
  c->req.desc[0] = (struct ocf_desc){.alg = OCF_ALG_NULL, .flags = OCF_D_ENCRYPT, .len = 64};
  c->req.callback = chain_cb;
  c->req.opaque = c;
  c->left = n - 1;
  c->owner = pthread_self();
}

struct chain_arg {
  ocf_sid_t sid;
  int n;
  unsigned flags;
  int done_at_return; /* completions when ocf_dispatch returned */
  struct chain c;
};

static void *chain_thread(void *arg) {
  struct chain_arg *a = arg;
  chain_init(&a->c, a->sid, a->n, a->flags);
  assert_int_equal(ocf_dispatch(&a->c.req), 0);
  a->done_at_return = atomic_load(&a->c.done);
  wait_until(&a->c.done, a->n);
  return NULL;
}

/* On one CPU every resubmission runs on the dispatching thread, after the
 * callback that made it returned: ocf_dispatch comes back when the chain is
 * over, and the stack did not grow with it. */
static void test_chain_in_caller(void **state) {
  (void)state;
  ocf_sid_t sid = new_sess(OCF_ALG_NULL, 0);
  static struct chain_arg a;
  memset(&a, 0, sizeof(a));
  a.sid = sid;
  a.n = 20000 / scale();
  run_on(chain_thread, &a, 1);
  assert_int_equal(a.done_at_return, a.n);
  assert_int_equal(a.c.on_owner, a.n);
  assert_true(a.c.hi - a.c.lo < 4096); /* the same frame every time */
  free_when_idle(sid);
}

/* OCF_REQ_INLINE resubmissions run nested, 8 deep at most; deeper ones go to
 * a worker, and all complete. */
static void test_chain_nested(void **state) {
  (void)state;
  ocf_sid_t sid = new_sess(OCF_ALG_NULL, 0);
  static struct chain_arg a;
  memset(&a, 0, sizeof(a));
  a.sid = sid;
  a.n = 2000 / scale();
  a.flags = OCF_REQ_INLINE;
  run_on(chain_thread, &a, 0);
  assert_int_equal(atomic_load(&a.c.done), a.n);
  assert_true(a.c.on_owner > 0);
  assert_true(a.c.hi - a.c.lo < 64 * 1024); /* bounded however long the chain */
  free_when_idle(sid);
}

/* --- where a request runs: the rule on constructed cases --------------------- */

struct where {
  struct ocf_req req;
  uint8_t *buf;
  pthread_t ran_on;
  atomic_int done;
};

static void where_cb(struct ocf_req *r) {
  struct where *w = r->opaque;
  w->ran_on = pthread_self();
  atomic_store(&w->done, r->error == 0 ? 1 : -1);
}

struct rule_arg {
  ocf_sid_t sid;
  size_t len;
  unsigned flags;
  int inline_run; /* the callback ran here before ocf_dispatch returned */
};

static void *rule_thread(void *arg) {
  struct rule_arg *a = arg;
  static struct where w;
  memset(&w, 0, sizeof(w));
  w.buf = calloc(1, a->len);
  uint8_t *out = calloc(1, a->len);
  w.req = (struct ocf_req){
      .sid = a->sid, .flags = a->flags, .ndesc = 1, .callback = where_cb, .opaque = &w};
  w.req.buf = ocf_buf_contig(w.buf, a->len);
  w.req.out = ocf_buf_contig(out, a->len);
  w.req.desc[0] = (struct ocf_desc){.alg = OCF_ALG_NULL, .flags = OCF_D_ENCRYPT, .len = a->len};
  assert_int_equal(ocf_dispatch(&w.req), 0);
  a->inline_run = atomic_load(&w.done) == 1 && pthread_equal(w.ran_on, pthread_self());
  wait_until(&w.done, 1);
  free(w.buf);
  free(out);
  return NULL;
}

/* A producer whose large requests take 10 ms: once the framework has
 * measured that, such a request goes to an idle worker when the caller may
 * run elsewhere, and stays in the caller's thread when it may not; a small
 * one stays; OCF_REQ_ASYNC always goes. */
static void test_rule(void **state) {
  (void)state;
  struct testdrv *t = attach(&(struct testdrv_opts){
      .name = "slowsync", .hardware = 1, .delay_us = 10000, .delay_from = 4096});
  ocf_sid_t sid = new_sess(OCF_ALG_NULL, OCF_SESS_HWONLY);
  /* the service times of 64 B and 4 KB are measured over the first requests */
  static uint8_t in[4096], out[4096];
  for (int i = 0; i < 40; i++) {
    size_t len = i % 2 ? 4096 : 64;
    struct ocf_req r = {.sid = sid, .ndesc = 1};
    r.buf = ocf_buf_contig(in, len);
    r.out = ocf_buf_contig(out, len);
    r.desc[0] = (struct ocf_desc){.alg = OCF_ALG_NULL, .flags = OCF_D_ENCRYPT, .len = len};
    assert_int_equal(ocf_run(&r), 0);
  }
  struct rule_arg a = {.sid = sid, .len = 4096};
  run_on(rule_thread, &a, 1);
  assert_true(a.inline_run); /* one CPU: spreading cannot pay */
  a = (struct rule_arg){.sid = sid, .len = 64};
  run_on(rule_thread, &a, 0);
  assert_true(a.inline_run); /* small */
  a = (struct rule_arg){.sid = sid, .len = 64, .flags = OCF_REQ_ASYNC};
  run_on(rule_thread, &a, 0);
  assert_false(a.inline_run);
  if (ncpus() > 1) {
    a = (struct rule_arg){.sid = sid, .len = 4096};
    run_on(rule_thread, &a, 0);
    assert_false(a.inline_run); /* large, workers idle, another CPU */
  }
  free_when_idle(sid);
  detach(t);
}

/* --- sessions freed or migrated under requests running inline --------------- */

struct runner {
  ocf_sid_t sid;
  int n, seen_eagain;
  atomic_int done, bad, started;
  unsigned char *calls; /* callbacks per request index */
  struct rreq {
    struct ocf_req req;
    struct runner *ru;
    int idx;
    uint8_t in[256], out[256];
  } r;
  int next;
};

static void runner_cb(struct ocf_req *req) {
  struct rreq *q = (struct rreq *)req;
  struct runner *ru = q->ru;
  if (req->error == EAGAIN) { /* migrated: req->sid is the new id */
    ru->seen_eagain++;
    if (ocf_dispatch(req) != 0) atomic_fetch_add(&ru->bad, 1);
    return;
  }
  if (req->error != 0 || memcmp(q->in, q->out, sizeof(q->in)) != 0) atomic_fetch_add(&ru->bad, 1);
  ru->calls[q->idx]++;
  if (++ru->next < ru->n) {
    q->idx = ru->next;
    RAND_bytes(q->in, sizeof(q->in));
    memset(q->out, 0, sizeof(q->out));
    if (ocf_dispatch(req) != 0) atomic_fetch_add(&ru->bad, 1);
  }
  /* the last touch: once done reaches n, the runner may be reused */
  atomic_fetch_add(&ru->done, 1);
}

static void runner_init(struct runner *ru, ocf_sid_t sid, int n) {
  memset(ru, 0, sizeof(*ru));
  ru->sid = sid;
  ru->n = n;
  ru->calls = calloc((size_t)n, 1);
  struct rreq *q = &ru->r;
  q->ru = ru;
  q->req.sid = sid;
  q->req.buf = ocf_buf_contig(q->in, sizeof(q->in));
  q->req.out = ocf_buf_contig(q->out, sizeof(q->out));
  q->req.ndesc = 1;
  q->req.desc[0] =
      (struct ocf_desc){.alg = OCF_ALG_NULL, .flags = OCF_D_ENCRYPT, .len = sizeof(q->in)};
  q->req.callback = runner_cb;
  RAND_bytes(q->in, sizeof(q->in));
}

static void *runner_thread(void *arg) {
  struct runner *ru = arg;
  atomic_store(&ru->started, 1);
  if (ocf_dispatch(&ru->r.req) != 0) atomic_fetch_add(&ru->bad, 1);
  wait_until(&ru->done, ru->n);
  return NULL;
}

static void runner_check(struct runner *ru) {
  assert_int_equal(atomic_load(&ru->bad), 0);
  for (int i = 0; i < ru->n; i++) assert_int_equal(ru->calls[i], 1);
  free(ru->calls);
}

/* ocf_freesession never succeeds while a request of the session is in
 * flight on another thread, on the software producer (fast; a request that
 * reached the producer after its session state was freed would be a
 * use-after-free for ASan) and on a slow synchronous one (which counts
 * process() calls on freed session states).  The runner stops when its
 * session is gone. */
struct freer {
  struct ocf_req req;
  uint8_t in[256], out[256];
  atomic_int done, stop, started;
  int n;
};

static void freer_cb(struct ocf_req *req) {
  struct freer *f = req->opaque;
  assert_int_equal(req->error, 0);
  assert_memory_equal(f->in, f->out, sizeof(f->in));
  if (atomic_fetch_add(&f->done, 1) + 1 >= f->n) {
    atomic_store(&f->stop, 1);
    return;
  }
  memset(f->out, 0, sizeof(f->out));
  int rc = ocf_dispatch(req);
  if (rc != 0) {
    assert_int_equal(rc, ENOENT); /* freed meanwhile: the end */
    atomic_store(&f->stop, 1);
  }
}

static void *freer_thread(void *arg) {
  struct freer *f = arg;
  atomic_store(&f->started, 1);
  int rc = ocf_dispatch(&f->req);
  if (rc != 0) {
    assert_int_equal(rc, ENOENT);
    atomic_store(&f->stop, 1);
  }
  while (!atomic_load(&f->stop)) usleep(100);
  return NULL;
}

/* nrun threads run requests on one session while this one frees it */
static void free_race(int slow, int nrun) {
  struct testdrv *t = NULL;
  unsigned flags = 0;
  if (slow) {
    t = attach(&(struct testdrv_opts){.name = "slow200", .hardware = 1, .delay_us = 200});
    flags = OCF_SESS_HWONLY;
  }
  enum { MAXRUN = 3 };
  static struct freer f[MAXRUN];
  ocf_sid_t sid = new_sess(OCF_ALG_NULL, flags);
  pthread_t th[MAXRUN];
  if (slow) testdrv_gate(t, 1);
  for (int i = 0; i < nrun; i++) {
    memset(&f[i], 0, sizeof(f[i]));
    f[i].n = (slow ? 2000 : 200000) / scale() / nrun;
    RAND_bytes(f[i].in, sizeof(f[i].in));
    f[i].req = (struct ocf_req){.sid = sid, .ndesc = 1, .callback = freer_cb, .opaque = &f[i]};
    f[i].req.buf = ocf_buf_contig(f[i].in, sizeof(f[i].in));
    f[i].req.out = ocf_buf_contig(f[i].out, sizeof(f[i].out));
    f[i].req.desc[0] = (struct ocf_desc){.alg = OCF_ALG_NULL, .flags = OCF_D_ENCRYPT, .len = 256};
    assert_int_equal(pthread_create(&th[i], NULL, freer_thread, &f[i]), 0);
    while (!atomic_load(&f[i].started)) sched_yield();
  }
  if (slow) {
    /* a request inside the producer, admitted by another thread */
    for (int i = 0; i < 20000 && testdrv_gated(t) == 0; i++) usleep(100);
    assert_true(testdrv_gated(t) >= 1);
    assert_int_equal(ocf_freesession(sid), EBUSY);
    testdrv_gate(t, 0);
  }
  int rc;
  while ((rc = ocf_freesession(sid)) == EBUSY) {
  }
  assert_int_equal(rc, 0);
  for (int i = 0; i < nrun; i++) pthread_join(th[i], NULL);
  if (t) {
    assert_int_equal(testdrv_zombies(t), 0);
    detach(t);
  }
}

static void test_free_while_inline(void **state) {
  (void)state;
  free_race(0, 1);
  free_race(1, 1);
  free_race(0, 3); /* several threads' pins on one session */
  free_race(1, 3);
}

/* The producer goes (or withdraws the algorithm) while another thread runs
 * a session's requests on it: the request inside completes, the next ones
 * come back with EAGAIN and a new id, run on the software producer, and each
 * completes exactly once with the right output. */
static void migrate_race(int whole) {
  struct testdrv *t =
      testdrv_attach(&(struct testdrv_opts){.name = "goingaway", .hardware = 1, .delay_us = 100});
  static struct runner ru;
  runner_init(&ru, new_sess(OCF_ALG_NULL, 0), 400 / scale());
  assert_int_equal(OCF_SID_DRIVER(ru.sid), testdrv_hid(t));
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, runner_thread, &ru), 0);
  while (atomic_load(&ru.done) < ru.n / 4) usleep(200);
  if (whole)
    assert_int_equal(ocf_unregister_all(testdrv_hid(t)), 0);
  else
    assert_int_equal(ocf_unregister(testdrv_hid(t), OCF_ALG_NULL), 0);
  pthread_join(th, NULL);
  runner_check(&ru);
  assert_true(ru.seen_eagain >= 1);
  char name[32];
  assert_int_equal(ocf_session_driver(ru.r.req.sid, name, sizeof(name)), 0);
  assert_string_equal(name, "soft");
  free_when_idle(ru.r.req.sid);
  detach(t);
}

static void test_migrate_while_inline(void **state) {
  (void)state;
  migrate_race(1);
  migrate_race(0);
}

/* --- a batch that mixes sessions, producers and errors ----------------------- */

struct breq {
  struct ocf_req req;
  uint8_t buf[64], want[64], out[64];
  atomic_int calls;
  int err;
};

static void breq_cb(struct ocf_req *r) {
  struct breq *b = r->opaque;
  b->err = r->error;
  atomic_fetch_add(&b->calls, 1);
}

static void breq_init(struct breq *b, ocf_sid_t sid, enum ocf_alg alg, size_t len) {
  memset(b, 0, sizeof(*b));
  RAND_bytes(b->buf, sizeof(b->buf));
  uint8_t iv[16];
  RAND_bytes(iv, 16);
  b->req.sid = sid;
  b->req.buf = ocf_buf_contig(b->buf, 64);
  b->req.ndesc = 1;
  b->req.callback = breq_cb;
  b->req.opaque = b;
  if (alg == OCF_ALG_AES_CBC) {
    b->req.desc[0] =
        (struct ocf_desc){.alg = alg, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = len};
    memcpy(b->req.desc[0].iv, iv, 16);
    if (len % 16 == 0) ref_cbc(iv, b->buf, b->want, len);
    memcpy(b->want + len, b->buf + len, 64 - len);
  } else {
    b->req.out = ocf_buf_contig(b->out, 64);
    b->req.desc[0] = (struct ocf_desc){.alg = alg, .flags = OCF_D_ENCRYPT, .len = len};
    memcpy(b->want, b->buf, 64);
  }
}

static void test_batch_mixed(void **state) {
  (void)state;
  struct testdrv *acard =
      attach(&(struct testdrv_opts){.name = "acard", .hardware = 1, .async = 1});
  struct testdrv *scard = attach(&(struct testdrv_opts){.name = "scard", .hardware = 1});
  ocf_sid_t soft_cbc = new_sess(OCF_ALG_AES_CBC, OCF_SESS_SWONLY);
  ocf_sid_t soft_null = new_sess(OCF_ALG_NULL, OCF_SESS_SWONLY);
  ocf_sid_t hw[4];
  for (int i = 0; i < 4; i++) hw[i] = new_sess(OCF_ALG_AES_CBC, 0);
  /* the balancing spreads them: two on each card */
  int on_a = 0;
  for (int i = 0; i < 4; i++) on_a += OCF_SID_DRIVER(hw[i]) == testdrv_hid(acard);
  assert_int_equal(on_a, 2);
  /* a session whose producer no longer has its algorithm: completes EAGAIN */
  ocf_sid_t stale = new_sess(OCF_ALG_NULL, OCF_SESS_HWONLY);
  assert_int_equal(ocf_unregister(OCF_SID_DRIVER(stale), OCF_ALG_NULL), 0);

  enum { N = 12, BAD = 9 };
  static struct breq b[N];
  const ocf_sid_t sids[N] = {soft_cbc, hw[0],     soft_null, stale,    hw[2], hw[3],
                             soft_cbc, soft_null, hw[0],     soft_cbc, hw[2], soft_null};
  for (int i = 0; i < N; i++) {
    enum ocf_alg alg = sids[i] == soft_null || sids[i] == stale ? OCF_ALG_NULL : OCF_ALG_AES_CBC;
    breq_init(&b[i], sids[i], alg, i == BAD ? 33 : 64); /* 33: not a whole block */
  }
  struct ocf_req *p[N];
  for (int i = 0; i < N; i++) p[i] = &b[i].req;
  int err = 0;
  assert_int_equal(ocf_dispatch_batch(p, N, &err), BAD);
  assert_int_equal(err, EINVAL);
  for (int i = 0; i < BAD; i++) wait_until(&b[i].calls, 1);
  usleep(20000);
  for (int i = 0; i < N; i++) assert_int_equal(atomic_load(&b[i].calls), i < BAD ? 1 : 0);
  for (int i = 0; i < BAD; i++) {
    if (sids[i] == stale) {
      assert_int_equal(b[i].err, EAGAIN);
      assert_int_not_equal(b[i].req.sid, stale);
      continue;
    }
    assert_int_equal(b[i].err, 0);
    assert_memory_equal(b[i].req.out.type != OCF_BUF_NONE ? b[i].out : b[i].buf, b[i].want, 64);
  }
  /* the ones after the refusal were left alone: they go through now */
  b[BAD].req.desc[0].len = 64;
  ref_cbc(b[BAD].req.desc[0].iv, b[BAD].buf, b[BAD].want, 64);
  ocf_sid_t moved = b[3].req.sid;
  p[0] = &b[BAD].req;
  p[1] = &b[10].req;
  p[2] = NULL;
  p[3] = &b[11].req;
  assert_int_equal(ocf_dispatch_batch(p, 4, &err), 2);
  assert_int_equal(err, EINVAL);
  b[11].req.sid = 0x7777777700000001ULL; /* no such session */
  assert_int_equal(ocf_dispatch_batch(&p[3], 1, &err), 0);
  assert_int_equal(err, ENOENT);
  wait_until(&b[BAD].calls, 1);
  wait_until(&b[10].calls, 1);
  assert_int_equal(b[BAD].err, 0);
  assert_memory_equal(b[BAD].buf, b[BAD].want, 64);
  assert_int_equal(b[10].err, 0);
  assert_memory_equal(b[10].buf, b[10].want, 64);
  assert_int_equal(atomic_load(&b[11].calls), 0);

  ocf_sid_t all[] = {soft_cbc, soft_null, hw[0], hw[1], hw[2], hw[3], moved};
  for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) free_when_idle(all[i]);
  detach(acard);
  detach(scard);
}

/* --- dispatching from callbacks while the producer is removed ---------------- */

struct unreg_arg {
  struct runner ru;
  uint32_t hid;
  int from_cb; /* the callback itself removes the producer, once */
  atomic_int removed;
};

static void unreg_cb(struct ocf_req *req) {
  struct rreq *q = (struct rreq *)req;
  struct unreg_arg *u = (struct unreg_arg *)q->ru;
  if (u->from_cb && req->error == 0 && q->ru->next == q->ru->n / 3 &&
      !atomic_exchange(&u->removed, 1))
    assert_int_equal(ocf_unregister_all(u->hid), 0);
  runner_cb(req);
}

static void unreg_race(int from_cb) {
  struct testdrv *t =
      attach(&(struct testdrv_opts){.name = "ejected", .hardware = 1, .delay_us = 50});
  enum { NT = 3 };
  static struct unreg_arg u[NT];
  pthread_t th[NT];
  for (int i = 0; i < NT; i++) {
    memset(&u[i], 0, sizeof(u[i]));
    runner_init(&u[i].ru, new_sess(OCF_ALG_NULL, 0), 600 / scale());
    assert_int_equal(OCF_SID_DRIVER(u[i].ru.sid), testdrv_hid(t));
    u[i].hid = testdrv_hid(t);
    u[i].from_cb = from_cb && i == 0;
    u[i].ru.r.req.callback = unreg_cb;
  }
  for (int i = 0; i < NT; i++)
    assert_int_equal(pthread_create(&th[i], NULL, runner_thread, &u[i].ru), 0);
  if (!from_cb) {
    while (atomic_load(&u[0].ru.done) < u[0].ru.n / 3) usleep(200);
    assert_int_equal(ocf_unregister_all(testdrv_hid(t)), 0);
  }
  for (int i = 0; i < NT; i++) {
    pthread_join(th[i], NULL);
    runner_check(&u[i].ru);
    free_when_idle(u[i].ru.r.req.sid);
  }
  if (from_cb) assert_int_equal(atomic_load(&u[0].removed), 1);
  detach(t); /* already gone: ENOENT inside, then freed */
}

static void test_unregister_while_dispatching(void **state) {
  (void)state;
  unreg_race(0);
  unreg_race(1);
}

/* --- public-key and symmetric work share the workers by cost ---------------- */

static atomic_int kdone;
static int kdone_at_sym = -1;

static void flood_kcb(struct ocf_kreq *k) {
  assert_int_equal(k->error, 0);
  atomic_fetch_add(&kdone, 1);
}

static void big_cb(struct ocf_req *r) {
  struct where *w = r->opaque;
  kdone_at_sym = atomic_load(&kdone);
  atomic_store(&w->done, r->error == 0 ? 1 : -1);
}

/* Twenty slow modular exponentiations (50 ms each) are queued, then one
 * large AES request for the workers: it runs when the next worker is free,
 * not after the whole flood (public-key requests used to go first). */
static void test_pk_flood_shares(void **state) {
  (void)state;
  struct testdrv *t = attach(
      &(struct testdrv_opts){.name = "slowpk", .hardware = 1, .with_kops = 1, .kdelay_us = 50000});
  enum { NK = 20 };
  static struct ocf_kreq k[NK];
  static uint8_t base[NK][8], ex[8] = {3}, mod[8] = {0xfb, 0xff, 0xff, 0x7f}, res[NK][8];
  atomic_store(&kdone, 0);
  kdone_at_sym = -1;
  for (int i = 0; i < NK; i++) {
    base[i][0] = (uint8_t)(i + 2);
    k[i] =
        (struct ocf_kreq){.op = OCF_KOP_MOD_EXP, .iparams = 3, .oparams = 1, .callback = flood_kcb};
    k[i].param[0] = (struct ocf_kparam){base[i], 64};
    k[i].param[1] = (struct ocf_kparam){ex, 64};
    k[i].param[2] = (struct ocf_kparam){mod, 64};
    k[i].param[3] = (struct ocf_kparam){res[i], 64};
    assert_int_equal(ocf_kdispatch(&k[i]), 0);
  }
  ocf_sid_t sid = new_sess(OCF_ALG_AES_CBC, OCF_SESS_SWONLY);
  enum { LEN = 1 << 20 };
  uint8_t *buf = calloc(1, LEN);
  static struct where w;
  memset(&w, 0, sizeof(w));
  w.req = (struct ocf_req){
      .sid = sid, .flags = OCF_REQ_ASYNC, .ndesc = 1, .callback = big_cb, .opaque = &w};
  w.req.buf = ocf_buf_contig(buf, LEN);
  w.req.desc[0] = (struct ocf_desc){
      .alg = OCF_ALG_AES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = LEN};
  assert_int_equal(ocf_dispatch(&w.req), 0);
  wait_until(&w.done, 1);
  wait_until(&kdone, NK);
  /* at most what the workers had started, and one more each */
  assert_true(kdone_at_sym >= 0 && kdone_at_sym < NK / 2);
  for (int i = 0; i < NK; i++) assert_int_equal(k[i].hid, testdrv_hid(t));
  free(buf);
  free_when_idle(sid);
  detach(t);
}

/* --- a busy worker's own resubmissions do not starve others' requests ------- */

static atomic_int loop_stop, loop_active, loop_runs;

/* long enough that a worker holding them all shares them with an idle one */
struct looper {
  struct ocf_req req;
  uint8_t buf[16384];
};

/* the threads the loops ran on */
static _Atomic(pthread_t) loop_thr[8];
static atomic_int loop_nthr;

static void loop_seen(void) {
  pthread_t me = pthread_self();
  int n = atomic_load(&loop_nthr);
  for (int i = 0; i < n; i++)
    if (pthread_equal(atomic_load(&loop_thr[i]), me)) return;
  if (n < 8 && atomic_compare_exchange_strong(&loop_nthr, &n, n + 1)) atomic_store(&loop_thr[n], me);
}

static void loop_cb(struct ocf_req *r) {
  assert_int_equal(r->error, 0);
  atomic_fetch_add(&loop_runs, 1);
  loop_seen();
  if (atomic_load(&loop_stop)) {
    atomic_fetch_sub(&loop_active, 1);
    return;
  }
  r->flags = 0; /* resubmitted from a worker's callback: stays on that worker */
  if (ocf_dispatch(r) != 0) atomic_fetch_sub(&loop_active, 1);
}

static void victim_cb(struct ocf_req *r) {
  struct where *w = r->opaque;
  atomic_store(&w->done, r->error == 0 ? 1 : -1);
}

/* Requests whose callbacks resubmit them forever keep every worker busy;
 * another consumer's request queued meanwhile still runs, and the loops go
 * on around it. */
/* start_loops puts NLOOP self-resubmitting requests on sid and waits until
 * they run on every worker (one per CPU). */
enum { NLOOP = 16 };
static struct looper lp[NLOOP];

static void start_loops(ocf_sid_t sid) {
  struct ocf_req *loops[NLOOP];
  atomic_store(&loop_stop, 0);
  atomic_store(&loop_active, NLOOP);
  atomic_store(&loop_runs, 0);
  atomic_store(&loop_nthr, 0);
  for (int i = 0; i < NLOOP; i++) {
    lp[i].req = (struct ocf_req){.sid = sid, .flags = OCF_REQ_ASYNC, .ndesc = 1, .callback = loop_cb};
    lp[i].req.buf = ocf_buf_contig(lp[i].buf, sizeof(lp[i].buf));
    lp[i].req.desc[0] = (struct ocf_desc){
        .alg = OCF_ALG_AES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = sizeof(lp[i].buf)};
    loops[i] = &lp[i].req;
  }
  /* one batch: every worker is woken and takes its share */
  int err = 0;
  assert_int_equal(ocf_dispatch_batch(loops, NLOOP, &err), NLOOP);
  assert_int_equal(err, 0);
  int nw = ncpus() < 8 ? ncpus() : 8;
  for (int i = 0; i < 100000 && atomic_load(&loop_nthr) < nw; i++) usleep(100);
  assert_true(atomic_load(&loop_nthr) >= nw);
}

static void test_worker_loops_share(void **state) {
  (void)state;
  ocf_sid_t sid = new_sess(OCF_ALG_AES_CBC, OCF_SESS_SWONLY);
  start_loops(sid);
  static struct where w;
  static uint8_t vbuf[1024];
  memset(&w, 0, sizeof(w));
  w.req = (struct ocf_req){
      .sid = sid, .flags = OCF_REQ_ASYNC, .ndesc = 1, .callback = victim_cb, .opaque = &w};
  w.req.buf = ocf_buf_contig(vbuf, sizeof(vbuf));
  w.req.desc[0] = (struct ocf_desc){
      .alg = OCF_ALG_AES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = sizeof(vbuf)};
  int before = atomic_load(&loop_runs);
  assert_int_equal(ocf_dispatch(&w.req), 0);
  for (int i = 0; i < 100000 && atomic_load(&w.done) == 0; i++) usleep(100); /* 10 s at most */
  int after = atomic_load(&loop_runs), vdone = atomic_load(&w.done);
  atomic_store(&loop_stop, 1);
  for (int i = 0; i < 100000 && atomic_load(&loop_active) > 0; i++) usleep(100);
  assert_int_equal(atomic_load(&loop_active), 0);
  assert_int_equal(vdone, 1); /* before the loops stopped */
  assert_int_equal(atomic_load(&w.done), 1);
  assert_true(after > before); /* the loops were still going */
  free_when_idle(sid);
}

/* With every worker busy, a consumer whose callback keeps resubmitting its
 * request does not keep its thread: once timed busy it queues the request
 * behind the workers' and ocf_dispatch returns while the chain goes on. */
static atomic_int self_runs, self_done;
enum { SELF_MAX = 2000000 };

static void self_cb(struct ocf_req *r) {
  assert_int_equal(r->error, 0);
  int n = atomic_fetch_add(&self_runs, 1) + 1;
  if (n >= SELF_MAX || atomic_load(&loop_stop)) {
    atomic_store(&self_done, 1);
    return;
  }
  if (ocf_dispatch(r) != 0) atomic_store(&self_done, 1);
}

static void test_consumer_yields_to_busy_workers(void **state) {
  (void)state;
  if (ncpus() < 2) skip();
  ocf_sid_t sid = new_sess(OCF_ALG_AES_CBC, OCF_SESS_SWONLY);
  start_loops(sid);
  static struct ocf_req self;
  static uint8_t sbuf[64];
  atomic_store(&self_runs, 0);
  atomic_store(&self_done, 0);
  self = (struct ocf_req){.sid = sid, .ndesc = 1, .callback = self_cb};
  self.buf = ocf_buf_contig(sbuf, sizeof(sbuf));
  self.desc[0] = (struct ocf_desc){
      .alg = OCF_ALG_AES_CBC, .flags = OCF_D_ENCRYPT | OCF_D_IV_EXPLICIT, .len = sizeof(sbuf)};
  assert_int_equal(ocf_dispatch(&self), 0); /* runs here first, then lets go */
  int at_return = atomic_load(&self_done);
  /* the chain goes on without this thread */
  int runs0 = atomic_load(&self_runs);
  for (int i = 0; i < 100000 && atomic_load(&self_runs) == runs0 && !atomic_load(&self_done); i++)
    usleep(100);
  int moved_on = atomic_load(&self_runs) > runs0;
  atomic_store(&loop_stop, 1);
  for (int i = 0; i < 100000 && (atomic_load(&loop_active) > 0 || !atomic_load(&self_done)); i++)
    usleep(100);
  assert_int_equal(atomic_load(&loop_active), 0);
  assert_int_equal(atomic_load(&self_done), 1);
  assert_int_equal(at_return, 0); /* ocf_dispatch returned before the chain ended */
  assert_true(moved_on);
  free_when_idle(sid);
}

static int setup(void **state) {
  (void)state;
  /* public-key requests go to the test producers only */
  struct ocf_init_opts o = {.soft_pk_disabled = 1};
  return ocf_init(&o);
}

static int teardown(void **state) {
  (void)state;
  ocf_shutdown();
  return 0;
}

static int after_test(void **state) {
  (void)state;
  for (int i = 0; i < 8; i++)
    if (live[i] != NULL) {
      testdrv_gate(live[i], 0);
      detach(live[i]);
    }
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_chain_in_caller, after_test),
      cmocka_unit_test_teardown(test_chain_nested, after_test),
      cmocka_unit_test_teardown(test_rule, after_test),
      cmocka_unit_test_teardown(test_free_while_inline, after_test),
      cmocka_unit_test_teardown(test_migrate_while_inline, after_test),
      cmocka_unit_test_teardown(test_batch_mixed, after_test),
      cmocka_unit_test_teardown(test_unregister_while_dispatching, after_test),
      cmocka_unit_test_teardown(test_pk_flood_shares, after_test),
      cmocka_unit_test_teardown(test_worker_loops_share, after_test),
      cmocka_unit_test_teardown(test_consumer_yields_to_busy_workers, after_test),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
