/*
 * test_ipsec_order.c - exactly once and in order, through several producers
 * that complete out of order and go away under traffic.
 *
 * 10^5 packets ($OCF_TEST_SCALE divides) from two sender threads over six
 * outbound SAs: three 3DES-SHA1 SAs that the framework puts on two modeled
 * Broadcom 5820 cards (hardware first), three AES-GCM SAs on the software
 * producers (the framework's workers and the dedicated-core "cpu" producer,
 * both completing out of order).  Requests do not run inline, so they
 * overtake each other.  One card is ejected and the cpu producer detached
 * while packets are in flight.  Every packet protected is opened again by
 * the inbound SAs and compared with what was sent.  Checked:
 *   - every packet completes exactly once on output and once on input;
 *   - every packet is delivered (IPSEC_OK), or dropped with a verdict that
 *     its SA counted; none is lost or delivered twice;
 *   - the packets of each SA reach done() in sequence-number order, with no
 *     number skipped.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
/* clang-format on */

#include <ocf/devices.h>
#include <ocf/ocf.h>

#include "ipsec_test.h"

#define NSA 6
#define NTHREADS 2
#define WINDOW 128 /* packets in flight per sender */

struct slot {
  struct ipsec_pkt p;
  uint8_t buf[512];
  uint32_t id; /* which packet */
  int sa;      /* which SA pair */
  size_t clen;
  uint8_t clear[256];
  struct sender *snd;
};

struct sender {
  pthread_t tid;
  int index;
  struct slot slots[WINDOW];
  pthread_mutex_t lock;
  pthread_cond_t cv;
  int free_slots[WINDOW]; /* [lock] */
  int nfree;              /* [lock] */
  uint32_t first, count;  /* ids [first, first + count) */
};

static struct ipsec_ctx *octx, *ictx;
static struct ipsec_sa *osa[NSA], *isa[NSA];
static _Atomic uint8_t *out_done, *in_done; /* per id: completions seen */
static _Atomic uint64_t ok_out, ok_in, drop_out, drop_in;
static pthread_mutex_t ord_lock[NSA];
static uint64_t last_seq[NSA]; /* [ord_lock] */
static _Atomic int order_bad, content_bad, concurrent;
static _Atomic int in_done_cb[NSA];
static _Atomic uint32_t sent_total;

static void slot_release(struct slot *s) {
  struct sender *sd = s->snd;
  pthread_mutex_lock(&sd->lock);
  sd->free_slots[sd->nfree++] = (int)(s - sd->slots);
  pthread_cond_signal(&sd->cv);
  pthread_mutex_unlock(&sd->lock);
}

static void in_cb(struct ipsec_pkt *p) {
  struct slot *s = p->user;
  atomic_fetch_add(&in_done[s->id], 1);
  if (p->verdict == IPSEC_OK) {
    atomic_fetch_add(&ok_in, 1);
    if (p->len != s->clen || memcmp(p->buf + p->off, s->clear, s->clen) != 0)
      atomic_fetch_add(&content_bad, 1);
  } else {
    atomic_fetch_add(&drop_in, 1);
  }
  slot_release(s);
}

static void out_cb(struct ipsec_pkt *p) {
  struct slot *s = p->user;
  atomic_fetch_add(&out_done[s->id], 1);
  /* done() calls for one SA come one at a time and in number order */
  if (atomic_fetch_add(&in_done_cb[s->sa], 1) != 0) atomic_fetch_add(&concurrent, 1);
  pthread_mutex_lock(&ord_lock[s->sa]);
  if (p->seq != last_seq[s->sa] + 1) atomic_fetch_add(&order_bad, 1);
  last_seq[s->sa] = p->seq;
  pthread_mutex_unlock(&ord_lock[s->sa]);
  atomic_fetch_sub(&in_done_cb[s->sa], 1);
  if (p->verdict != IPSEC_OK) {
    atomic_fetch_add(&drop_out, 1);
    atomic_fetch_add(&in_done[s->id], 1); /* nothing to open */
    slot_release(s);
    return;
  }
  atomic_fetch_add(&ok_out, 1);
  /* open it again: the same slot, the protected bytes as they are */
  size_t off = p->off, len = p->len;
  ipsec_pkt_init(p, s->buf, sizeof(s->buf), off, len, in_cb, s);
  if (ipsec_input(ictx, p) != 0) abort();
}

static void *sender_main(void *arg) {
  struct sender *sd = arg;
  struct ref_rng rng;
  ref_rng_seed(&rng, 1000 + (uint64_t)sd->index);
  for (uint32_t k = 0; k < sd->count; k++) {
    uint32_t id = sd->first + k;
    pthread_mutex_lock(&sd->lock);
    while (sd->nfree == 0) pthread_cond_wait(&sd->cv, &sd->lock);
    struct slot *s = &sd->slots[sd->free_slots[--sd->nfree]];
    pthread_mutex_unlock(&sd->lock);
    s->id = id;
    s->sa = (int)(id % NSA);
    s->snd = sd;
    /* SA i carries packets to 10.0.i.1, which its policy selects */
    char dst[32];
    snprintf(dst, sizeof(dst), "10.0.%d.1", s->sa);
    struct ipsec_addr d = it_addr(dst);
    size_t plen = 16 + ref_range(&rng, 0, 180);
    s->clen = it_build_ip(s->clear, sizeof(s->clear), 0, IPPROTO_UDP, 7, 9, plen, &rng, NULL, &d);
    memcpy(s->clear + 28, &id, 4); /* every packet different */
    ipsec_pkt_init(&s->p, s->buf, sizeof(s->buf), 128, s->clen, out_cb, s);
    memcpy(s->buf + 128, s->clear, s->clen);
    atomic_fetch_add(&sent_total, 1);
    if (ipsec_output(octx, &s->p) != 0) abort();
  }
  /* wait for all slots to come back */
  pthread_mutex_lock(&sd->lock);
  while (sd->nfree < WINDOW) pthread_cond_wait(&sd->cv, &sd->lock);
  pthread_mutex_unlock(&sd->lock);
  return NULL;
}

static void t_exactly_once(void **state) {
  (void)state;
  struct ocf_init_opts io = {.workers = 2};
  assert_int_equal(ocf_init(&io), 0);
  char err[200];
  /* exact mode: the cards compute, so their packets open again */
  assert_int_equal(ocf_sim_attach("bcm5820*2@pci64:mode=exact", err, sizeof(err)), 0);
  uint32_t cpu_hid;
  assert_int_equal(ocf_cpu_attach(2, 0, &cpu_hid), 0);
  struct ipsec_ctx_opts co = {.flags = IPSEC_CTX_NO_INLINE};
  assert_int_equal(ipsec_ctx_new(&co, &octx), 0);
  assert_int_equal(ipsec_ctx_new(&co, &ictx), 0);
  struct ref_rng rng;
  ref_rng_seed(&rng, 42);
  /* all outbound SAs first, so that the balancing spreads them over the two
   * cards and the two software producers; then the inbound ones */
  static uint8_t ek[NSA][64], ak[NSA][64];
  struct ipsec_sa_params p[NSA];
  for (int i = 0; i < NSA; i++) {
    p[i] = (struct ipsec_sa_params){
        .proto = IPSEC_PROTO_ESP,
        .dir = IPSEC_DIR_OUT,
        .mode = IPSEC_MODE_TUNNEL,
        .spi = 0x7000 + (uint32_t)i,
        .enc = i < 3 ? IPSEC_ENC_3DES_CBC : IPSEC_ENC_AES_GCM_16,
        .auth = i < 3 ? IPSEC_AUTH_HMAC_SHA1_96 : IPSEC_AUTH_NONE,
        .src = it_addr("192.0.2.1"),
        .dst = it_addr("192.0.2.2"),
        .replay_window = 4096,
    };
    it_keys(&p[i], ek[i], ak[i], &rng);
    assert_int_equal(ipsec_sa_add(octx, &p[i], &osa[i], err, sizeof(err)), 0);
    struct ipsec_policy_params pp = {.dir = IPSEC_DIR_OUT, .action = IPSEC_ACT_PROTECT, .nsa = 1};
    pp.sel.dst = it_addr("10.0.0.0");
    pp.sel.dst.a[2] = (uint8_t)i;
    pp.sel.dst_plen = 24;
    pp.sa[0] = osa[i];
    assert_int_equal(ipsec_policy_add(octx, &pp, -1, NULL, err, sizeof(err)), 0);
    pthread_mutex_init(&ord_lock[i], NULL);
  }
  for (int i = 0; i < NSA; i++) {
    p[i].dir = IPSEC_DIR_IN;
    assert_int_equal(ipsec_sa_add(ictx, &p[i], &isa[i], err, sizeof(err)), 0);
  }
  struct ipsec_sa_info si;
  char victim[32];
  ipsec_sa_info(osa[0], &si);
  snprintf(victim, sizeof(victim), "%s", si.producer);

  uint32_t total = 100000 / (uint32_t)ref_scale();
  out_done = calloc(total, 1);
  in_done = calloc(total, 1);
  static struct sender sd[NTHREADS];
  for (int t = 0; t < NTHREADS; t++) {
    sd[t].index = t;
    sd[t].first = total / NTHREADS * (uint32_t)t;
    sd[t].count = t == NTHREADS - 1 ? total - sd[t].first : total / NTHREADS;
    pthread_mutex_init(&sd[t].lock, NULL);
    pthread_cond_init(&sd[t].cv, NULL);
    sd[t].nfree = WINDOW;
    for (int k = 0; k < WINDOW; k++) sd[t].free_slots[k] = k;
    assert_int_equal(pthread_create(&sd[t].tid, NULL, sender_main, &sd[t]), 0);
  }
  /* take producers away under traffic: a card at a third, the cpu
   * producer at two thirds */
  while (atomic_load(&sent_total) < total / 3) {
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  printf("# ejecting %s after %u packets\n", victim, (unsigned)sent_total);
  assert_int_equal(ocf_sim_detach(victim), 0);
  while (atomic_load(&sent_total) < total * 2 / 3) {
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  printf("# detaching the cpu producer after %u packets\n", (unsigned)sent_total);
  ocf_cpu_detach(cpu_hid);
  for (int t = 0; t < NTHREADS; t++) pthread_join(sd[t].tid, NULL);
  ipsec_ctx_drain(octx);
  ipsec_ctx_drain(ictx);

  /* exactly once, on both sides */
  uint32_t lost_out = 0, twice_out = 0, lost_in = 0, twice_in = 0;
  for (uint32_t id = 0; id < total; id++) {
    lost_out += out_done[id] == 0;
    twice_out += out_done[id] > 1;
    lost_in += in_done[id] == 0;
    twice_in += in_done[id] > 1;
  }
  uint64_t resub = 0, held = 0, sa_drops = 0, sa_ok = 0;
  for (int i = 0; i < NSA; i++) {
    ipsec_sa_info(osa[i], &si);
    printf("# SA %d: now on %s, resubmitted %llu, held %llu\n", i, si.producer,
           (unsigned long long)si.resubmits, (unsigned long long)si.reorder_held);
    resub += si.resubmits;
    held += si.reorder_held;
    sa_ok += si.c.packets;
    for (int v = 0; v < IPSEC_VERDICT__MAX; v++) sa_drops += si.c.drops[v];
  }
  printf(
      "# %u packets: out ok %llu dropped %llu, in ok %llu dropped %llu; resubmitted after "
      "migration %llu, completed early and held for order %llu\n",
      total, (unsigned long long)ok_out, (unsigned long long)drop_out, (unsigned long long)ok_in,
      (unsigned long long)drop_in, (unsigned long long)resub, (unsigned long long)held);
  assert_int_equal(lost_out, 0);
  assert_int_equal(twice_out, 0);
  assert_int_equal(lost_in, 0);
  assert_int_equal(twice_in, 0);
  assert_int_equal(ok_out + drop_out, total);
  /* every drop has its verdict counted on its SA */
  assert_int_equal(sa_drops, drop_out);
  assert_int_equal(sa_ok, ok_out);
  assert_int_equal(order_bad, 0);
  assert_int_equal(concurrent, 0);
  assert_int_equal(content_bad, 0);
  /* nothing is lost when producers go away: all of them went through */
  assert_int_equal(drop_out, 0);
  assert_int_equal(ok_in, ok_out);
  ipsec_sa_info(osa[0], &si); /* it was on the card that went away */
  assert_true(si.resubmits >= 1);
  for (int i = 0; i < NSA; i++) {
    ipsec_sa_info(osa[i], &si);
    assert_int_equal(si.seq, last_seq[i]);
  }
  ipsec_ctx_free(octx);
  ipsec_ctx_free(ictx);
  free(out_done);
  free(in_done);
  ocf_sim_detach("all");
  ocf_shutdown();
}

/* --- a producer that loses a request after scribbling over it ---------------
 * driver.h: a request completed with OCF_ELOST may have been partly written;
 * the consumer must resubmit from its own copy of the input.  This hardware
 * producer computes with the test reference (ref_apply), and at one chosen
 * request overwrites the data with junk and reports it lost.  The framework
 * then detaches it and the sessions move to the software producer; the
 * packet must still come out right. */

struct lossy {
  uint32_t hid;
  _Atomic unsigned count;
  unsigned lose_at;
  _Atomic int lost;
};

static int lossy_newsession(void *softc, void **dsess, const struct ocf_sessparam *chain) {
  (void)chain;
  *dsess = softc;
  return 0;
}

static void lossy_freesession(void *softc, void *dsess) {
  (void)softc;
  (void)dsess;
}

static int lossy_process(void *softc, void *dsess, struct ocf_req *req) {
  (void)dsess;
  struct lossy *l = softc;
  if (req->buf.type != OCF_BUF_CONTIG || req->out.type != OCF_BUF_NONE) {
    req->error = EINVAL;
    ocf_done(req);
    return 0;
  }
  uint8_t *b = req->buf.u.contig.base;
  size_t n = req->buf.u.contig.len;
  if (atomic_fetch_add(&l->count, 1) == l->lose_at) {
    memset(b + req->desc[0].skip, 0xa5, req->desc[0].len);
    atomic_store(&l->lost, 1);
    req->error = OCF_ELOST;
    ocf_done(req);
    return 0;
  }
  static const uint8_t none[OCF_MAX_DESC][OCF_MAX_IV];
  size_t olen = 0;
  req->error = ref_apply(ocf_req_params(req), b, n, req->desc, req->ndesc, none, &olen);
  ocf_done(req);
  return 0;
}

static const struct ocf_driver_ops lossy_ops = {
    .newsession = lossy_newsession,
    .freesession = lossy_freesession,
    .process = lossy_process,
};

static _Atomic int lossy_left;
static _Atomic int lossy_bad;

static void lossy_in_cb(struct ipsec_pkt *p) {
  struct slot *s = p->user;
  if (p->verdict != IPSEC_OK || p->len != s->clen || memcmp(p->buf + p->off, s->clear, s->clen))
    atomic_fetch_add(&lossy_bad, 1);
  atomic_fetch_sub(&lossy_left, 1);
}

static void lossy_out_cb(struct ipsec_pkt *p) {
  struct slot *s = p->user;
  if (p->verdict != IPSEC_OK) {
    atomic_fetch_add(&lossy_bad, 1);
    atomic_fetch_sub(&lossy_left, 1);
    return;
  }
  ipsec_pkt_init(p, s->buf, sizeof(s->buf), p->off, p->len, lossy_in_cb, s);
  if (ipsec_input(ictx, p) != 0) abort();
}

static void lossy_run(int lose_inbound) {
  struct ocf_init_opts io = {.workers = 2};
  assert_int_equal(ocf_init(&io), 0);
  assert_int_equal(ref_init(), 0);
  static struct lossy l;
  atomic_store(&l.count, 0);
  atomic_store(&l.lost, 0);
  l.lose_at = ~0u; /* not during the registration self-test */
  assert_int_equal(ocf_get_driverid("lossy", OCF_DRV_HARDWARE, &lossy_ops, &l, &l.hid), 0);
  assert_int_equal(ocf_register(l.hid, OCF_ALG_AES_GCM, 0, OCF_ALGF_NONE), 0);
  /* the self-test went through it: lose the 40th request from now */
  l.lose_at = atomic_load(&l.count) + 40;
  assert_int_equal(ipsec_ctx_new(NULL, &octx), 0);
  assert_int_equal(ipsec_ctx_new(NULL, &ictx), 0);
  struct ref_rng rng;
  ref_rng_seed(&rng, 7);
  uint8_t ek[64], ak[64];
  struct ipsec_sa_params p = {.proto = IPSEC_PROTO_ESP,
                              .mode = IPSEC_MODE_TUNNEL,
                              .spi = 0x7100,
                              .enc = IPSEC_ENC_AES_GCM_16,
                              .src = it_addr("192.0.2.1"),
                              .dst = it_addr("192.0.2.2")};
  it_keys(&p, ek, ak, &rng);
  /* the lossy producer (hardware: preferred) takes the direction under test,
   * soft the other; HWONLY would keep the session from moving on */
  p.dir = IPSEC_DIR_OUT;
  p.ocf_flags = lose_inbound ? OCF_SESS_SWONLY : 0;
  assert_int_equal(ipsec_sa_add(octx, &p, &osa[0], NULL, 0), 0);
  p.dir = IPSEC_DIR_IN;
  p.ocf_flags = lose_inbound ? 0 : OCF_SESS_SWONLY;
  assert_int_equal(ipsec_sa_add(ictx, &p, &isa[0], NULL, 0), 0);
  struct ipsec_policy_params pp = {.dir = IPSEC_DIR_OUT, .action = IPSEC_ACT_PROTECT, .nsa = 1};
  pp.sa[0] = osa[0];
  assert_int_equal(ipsec_policy_add(octx, &pp, -1, NULL, NULL, 0), 0);
  enum { N = 100 };
  static struct slot slots[N];
  atomic_store(&lossy_left, N);
  atomic_store(&lossy_bad, 0);
  for (int i = 0; i < N; i++) {
    struct slot *s = &slots[i];
    s->clen = it_build_ip(s->clear, sizeof(s->clear), 0, IPPROTO_UDP, 1, 2, 100, &rng, NULL, NULL);
    ipsec_pkt_init(&s->p, s->buf, sizeof(s->buf), 128, s->clen, lossy_out_cb, s);
    memcpy(s->buf + 128, s->clear, s->clen);
    assert_int_equal(ipsec_output(octx, &s->p), 0);
  }
  while (atomic_load(&lossy_left) > 0) {
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  assert_true(atomic_load(&l.lost));
  assert_int_equal(atomic_load(&lossy_bad), 0);
  struct ipsec_sa_info si;
  ipsec_sa_info(lose_inbound ? isa[0] : osa[0], &si);
  assert_true(si.resubmits >= 1);
  assert_string_equal(si.producer, "soft");
  ipsec_ctx_free(octx);
  ipsec_ctx_free(ictx);
  ocf_unregister_all(l.hid);
  ocf_shutdown();
}

static void t_lossy_producer(void **state) {
  (void)state;
  lossy_run(0);
  lossy_run(1);
}

/* --- tables changing under traffic ---------------------------------------------
 * Senders protect and open packets while another thread adds, replaces and
 * deletes policies and SAs.  Lookups never wait for the writer and nothing
 * is freed under them (ASan, TSan); every packet completes with a verdict. */

static _Atomic int churn_stop;
static _Atomic uint64_t churn_done, churn_ok, churn_other;
static struct ipsec_ctx *cout, *cin;

static void churn_done_cb(struct ipsec_pkt *p) {
  if (p->verdict == IPSEC_OK)
    atomic_fetch_add(&churn_ok, 1);
  else
    atomic_fetch_add(&churn_other, 1);
  atomic_fetch_add(&churn_done, 1);
  atomic_store((_Atomic int *)p->user, 1); /* this sender's packet is back */
}

static void *churn_sender(void *arg) {
  (void)arg;
  struct ref_rng rng;
  ref_rng_seed(&rng, 99);
  static _Thread_local struct ipsec_pkt pk;
  static _Thread_local uint8_t buf[512];
  static _Thread_local _Atomic int back;
  uint64_t n = 0;
  while (!atomic_load(&churn_stop)) {
    uint8_t clear[128];
    size_t len = it_build_ip(clear, sizeof(clear), 0, IPPROTO_UDP, 1, 2, 40, &rng, NULL, NULL);
    memcpy(buf + 128, clear, len);
    ipsec_pkt_init(&pk, buf, sizeof(buf), 128, len, churn_done_cb, (void *)&back);
    atomic_store(&back, 0);
    if (ipsec_output(cout, &pk) != 0) abort();
    while (!atomic_load(&back)) sched_yield(); /* the other sender may deliver it */
    if (pk.verdict == IPSEC_OK) {              /* and open it again */
      ipsec_pkt_init(&pk, buf, sizeof(buf), pk.off, pk.len, churn_done_cb, (void *)&back);
      atomic_store(&back, 0);
      if (ipsec_input(cin, &pk) != 0) abort();
      while (!atomic_load(&back)) sched_yield();
    }
    n++;
  }
  return (void *)(uintptr_t)n;
}

static void t_churn(void **state) {
  (void)state;
  struct ocf_init_opts io = {.workers = 2};
  assert_int_equal(ocf_init(&io), 0);
  assert_int_equal(ipsec_ctx_new(NULL, &cout), 0);
  assert_int_equal(ipsec_ctx_new(NULL, &cin), 0);
  pthread_t tid[2];
  for (int i = 0; i < 2; i++)
    assert_int_equal(pthread_create(&tid[i], NULL, churn_sender, NULL), 0);
  struct ref_rng rng;
  ref_rng_seed(&rng, 5);
  uint8_t ek[64], ak[64];
  int rounds = 300 / ref_scale();
  struct ipsec_sa *osa_prev = NULL, *isa_prev = NULL;
  struct ipsec_policy *opol = NULL, *ipol = NULL;
  for (int r = 0; r < rounds; r++) {
    struct ipsec_sa_params p = {.proto = IPSEC_PROTO_ESP,
                                .mode = IPSEC_MODE_TRANSPORT,
                                .spi = 0x9000 + (uint32_t)r,
                                .enc = IPSEC_ENC_AES_GCM_16};
    it_keys(&p, ek, ak, &rng);
    struct ipsec_sa *o, *i;
    assert_int_equal(it_sa_pair(cout, cin, &p, &o, &i, 1), 0);
    struct ipsec_policy_params pp = {.dir = IPSEC_DIR_OUT, .action = IPSEC_ACT_PROTECT, .nsa = 1};
    pp.sa[0] = o;
    if (opol == NULL)
      assert_int_equal(ipsec_policy_add(cout, &pp, -1, &opol, NULL, 0), 0);
    else
      assert_int_equal(ipsec_policy_replace(cout, opol, &pp, &opol, NULL, 0), 0);
    pp.dir = IPSEC_DIR_IN;
    pp.sa[0] = i;
    if (r % 2 == 0) { /* sometimes the inbound policy goes away for a while */
      if (ipol != NULL) assert_int_equal(ipsec_policy_del(cin, ipol), 0);
      ipol = NULL;
    } else {
      assert_int_equal(ipsec_policy_add(cin, &pp, -1, &ipol, NULL, 0), 0);
    }
    /* the previous pair: no policy names it now */
    if (osa_prev != NULL) assert_int_equal(ipsec_sa_del(cout, osa_prev), 0);
    if (isa_prev != NULL && (ipol == NULL || r % 2 == 1)) {
      if (ipsec_sa_del(cin, isa_prev) != 0) abort();
    }
    osa_prev = o;
    isa_prev = i;
    sched_yield();
  }
  atomic_store(&churn_stop, 1);
  uint64_t sent = 0;
  for (int i = 0; i < 2; i++) {
    void *n;
    pthread_join(tid[i], &n);
    sent += (uint64_t)(uintptr_t)n;
  }
  printf("# %llu packets sent while the tables changed %d times: %llu ok, %llu other verdicts\n",
         (unsigned long long)sent, rounds, (unsigned long long)churn_ok,
         (unsigned long long)churn_other);
  assert_true(churn_done >= sent);
  ipsec_ctx_free(cout);
  ipsec_ctx_free(cin);
  ocf_shutdown();
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(t_exactly_once),
                                     cmocka_unit_test(t_lossy_producer), cmocka_unit_test(t_churn)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
