/* bench_ipsec.c - `ocf bench --ipsec`: ESP encapsulation and decapsulation
 * in memory, through the framework (libocfipsec over libocf) and, as the
 * comparison, the same libocfipsec code with its crypto done by OpenSSL EVP
 * directly (IPSEC_CTX_DIRECT), per algorithm and packet size, on one
 * consumer thread.
 *
 * A packet is an IPv4 UDP datagram of the given size (the IP packet's
 * length), protected by an ESP tunnel SA from 192.0.2.1 to 192.0.2.2.  Each
 * packet is copied into its buffer before it is handed over (encapsulation
 * works in place, so a buffer must be refilled; decapsulation likewise
 * consumes a protected copy) - the same copy on both paths.  Decapsulation
 * opens packets made beforehand, with increasing sequence numbers, through
 * an SA with the default 64-packet replay window; the SA is made anew when
 * the pool runs out, so no packet is a replay.  IMIX is 7:4:1 of 64, 576
 * and 1500 bytes, interleaved.
 *
 * Rounds alternate the two paths (in reverse order every other round) and
 * the figures are medians over the rounds; CPU seconds are the process's
 * (getrusage), so work done by framework threads counts.  With --devices the
 * SAs go to modeled cards first (hardware is preferred), many packets are in
 * flight, and the row also gives the cards' modeled aggregate for the same
 * requests (ocf_sim_peak_mbps). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <ocf/devices.h>
#include <ocf/ipsec.h>
#include <ocf/ocf.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench.h"
#include "ocf_tool.h"
#include "plot.h"

struct ialg {
  const char *name;
  enum ipsec_enc enc;
  size_t eklen;
  enum ipsec_auth auth;
  size_t aklen;
  enum ocf_alg card_alg; /* what the cards' model is asked about */
};

static const struct ialg ialgs[] = {
    {"aes-128-gcm", IPSEC_ENC_AES_GCM_16, 20, IPSEC_AUTH_NONE, 0, OCF_ALG_AES_GCM},
    {"aes-256-gcm", IPSEC_ENC_AES_GCM_16, 36, IPSEC_AUTH_NONE, 0, OCF_ALG_AES_GCM},
    {"chacha20-poly1305", IPSEC_ENC_CHACHA20_POLY1305, 36, IPSEC_AUTH_NONE, 0,
     OCF_ALG_CHACHA20_POLY1305},
    {"aes-128-gmac", IPSEC_ENC_NULL_AUTH_AES_GMAC, 20, IPSEC_AUTH_NONE, 0, OCF_ALG_AES_GMAC},
    {"aes-128-cbc+hmac-sha1", IPSEC_ENC_AES_CBC, 16, IPSEC_AUTH_HMAC_SHA1_96, 20, OCF_ALG_AES_CBC},
    {"aes-128-cbc+hmac-sha2-256", IPSEC_ENC_AES_CBC, 16, IPSEC_AUTH_HMAC_SHA2_256_128, 32,
     OCF_ALG_AES_CBC},
    {"aes-128-ctr+hmac-sha2-256", IPSEC_ENC_AES_CTR, 20, IPSEC_AUTH_HMAC_SHA2_256_128, 32,
     OCF_ALG_AES_CTR},
    {"3des-cbc+hmac-sha1", IPSEC_ENC_3DES_CBC, 24, IPSEC_AUTH_HMAC_SHA1_96, 20, OCF_ALG_3DES_CBC},
    {"null+hmac-sha2-256", IPSEC_ENC_NULL, 0, IPSEC_AUTH_HMAC_SHA2_256_128, 32, OCF_ALG_NONE},
};
#define NIALGS (sizeof(ialgs) / sizeof(ialgs[0]))

static const char *const default_ialgs =
    "aes-128-gcm,aes-256-gcm,chacha20-poly1305,aes-128-cbc+hmac-sha2-256,3des-cbc+hmac-sha1";
static const char *const default_isizes = "64,512,1400,imix";

struct iopts {
  const char *algs, *sizes, *json, *plot, *devices;
  double seconds;
  int rounds, batch, window, workers, quiet;
  int sas;   /* outbound SAs the packets are spread over */
  int dirs;  /* 1 out, 2 in, 3 both */
  int paths; /* 1 ocf, 2 direct, 3 both */
  int plot_cpu; /* plot packets per CPU-second instead of per second */
};

/* one measurement */
struct meas {
  uint64_t pkts, bytes, req_bytes;
  double wall, cpu;
  double card_busy; /* modeled cards: mean engine busy fraction */
};

/* The modeled cards' engine time so far, summed, and how many there are. */
static uint64_t cards_busy(int *n) {
  struct ocf_sim_card_info c[32];
  int k = ocf_sim_cards(c, 32);
  uint64_t t = 0;
  if (k > 32) k = 32;
  for (int i = 0; i < k; i++) t += c[i].busy_ns;
  *n = k;
  return t;
}

struct irow {
  const struct ialg *a;
  size_t size; /* 0 = imix */
  int dir;     /* 0 out, 1 in */
  int path;    /* 0 ocf, 1 direct */
  double pps, mbps, cpu_s, pps_cpu, spread, card_mbps, card_model, card_busy;
  char producer[40];
  int ok;
  char msg[160];
};

static double cpu_now(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return NAN;
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* --- packets ------------------------------------------------------------------ */

#define HEAD 128
#define BUFSZ 2048
#define IMIX_N 12

static size_t imix_size(uint64_t i) {
  /* 7:4:1 of 64/576/1500, interleaved: s s m s s m s s m s s l */
  static const size_t pat[IMIX_N] = {64, 64, 576, 64, 64, 576, 64, 64, 576, 64, 576, 1500};
  return pat[i % IMIX_N];
}

static size_t build_udp(uint8_t *p, size_t size) {
  memset(p, 0, 28);
  p[0] = 0x45;
  p[2] = (uint8_t)(size >> 8);
  p[3] = (uint8_t)size;
  p[6] = 0x40;
  p[8] = 64;
  p[9] = 17;
  p[12] = 10;
  p[15] = 1;
  p[16] = 10;
  p[17] = 1;
  p[19] = 1;
  p[20] = 0x13;
  p[21] = 0x88;
  p[22] = 0x13;
  p[23] = 0x89;
  p[24] = (uint8_t)((size - 20) >> 8);
  p[25] = (uint8_t)(size - 20);
  for (size_t i = 28; i < size; i++) p[i] = (uint8_t)(i * 7);
  uint32_t s = 0;
  for (int i = 0; i < 20; i += 2) s += (uint32_t)(p[i] << 8 | p[i + 1]);
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  p[10] = (uint8_t)(~s >> 8);
  p[11] = (uint8_t)~s;
  return size;
}

/* --- the run ----------------------------------------------------------------------- */

struct slot {
  struct ipsec_pkt p;
  uint8_t *buf;
  struct run *run;
  int index;
};

struct run {
  struct ipsec_ctx *ctx;
  struct slot *slots;
  int nslots;
  _Atomic int free_top; /* a stack of free slot indices, pushed by done() */
  _Atomic int *free_next;
  _Atomic uint64_t done, bad, bytes, req_bytes;
  int bad_verdict;
  /* the sender sleeps when every slot is in flight (cards): a spinning
   * sender would take the CPU the cards' completion thread needs */
  _Atomic int waiting;
  pthread_mutex_t lock;
  pthread_cond_t cv;
};

static void push_free(struct run *r, int i) {
  int top = atomic_load_explicit(&r->free_top, memory_order_relaxed);
  do {
    atomic_store_explicit(&r->free_next[i], top, memory_order_relaxed);
  } while (!atomic_compare_exchange_weak_explicit(&r->free_top, &top, i, memory_order_release,
                                                  memory_order_relaxed));
}

/* Pops everything at once (no ABA: a single consumer takes all). */
static int pop_all(struct run *r) {
  return atomic_exchange_explicit(&r->free_top, -1, memory_order_acquire);
}

static void done_cb(struct ipsec_pkt *p) {
  struct slot *s = p->user;
  struct run *r = s->run;
  if (p->verdict != IPSEC_OK) {
    atomic_fetch_add_explicit(&r->bad, 1, memory_order_relaxed);
    r->bad_verdict = p->verdict;
  }
  atomic_fetch_add_explicit(&r->done, 1, memory_order_relaxed);
  push_free(r, s->index);
  if (atomic_load(&r->waiting)) {
    pthread_mutex_lock(&r->lock);
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->lock);
  }
}

struct pool { /* protected packets for decapsulation */
  uint8_t **pk;
  size_t *len;
  size_t n;
};

/* One SA of the algorithm in ctx (out or in), with a policy for out. */
/* SA k of the run; with several, SA k protects the packets to 10.1.k.0/24. */
static int add_sa(struct ipsec_ctx *ctx, const struct ialg *a, enum ipsec_dir dir, int k, int nsas,
                  const uint8_t *ek, const uint8_t *ak, struct ipsec_sa **sa, char *msg,
                  size_t msglen) {
  struct ipsec_sa_params p = {.proto = IPSEC_PROTO_ESP,
                              .dir = dir,
                              .mode = IPSEC_MODE_TUNNEL,
                              .spi = 0x10001 + (uint32_t)k,
                              .enc = a->enc,
                              .enc_key = a->eklen ? ek : NULL,
                              .enc_key_len = a->eklen,
                              .auth = a->auth,
                              .auth_key = a->aklen ? ak : NULL,
                              .auth_key_len = a->aklen,
                              .pmtu = 9000}; /* in memory: 1500-byte packets fit */
  ipsec_addr_parse("192.0.2.1", &p.src);
  ipsec_addr_parse("192.0.2.2", &p.dst);
  int rc = ipsec_sa_add(ctx, &p, sa, msg, msglen);
  if (rc != 0 || dir == IPSEC_DIR_IN) return rc;
  struct ipsec_policy_params pp = {.dir = IPSEC_DIR_OUT, .action = IPSEC_ACT_PROTECT, .nsa = 1};
  pp.sa[0] = *sa;
  if (nsas > 1) {
    ipsec_addr_parse("10.1.0.0", &pp.sel.dst);
    pp.sel.dst.a[2] = (uint8_t)k;
    pp.sel.dst_plen = 24;
  }
  return ipsec_policy_add(ctx, &pp, -1, NULL, msg, msglen);
}

static void pool_done(struct ipsec_pkt *p) { (void)p; }

/* Makes n protected packets (sizes as the run will use them). */
static int make_pool(const struct ialg *a, size_t size, const uint8_t *ek, const uint8_t *ak,
                     size_t n, struct pool *pl, char *msg, size_t msglen) {
  struct ipsec_ctx *ctx;
  struct ipsec_ctx_opts o = {.flags = IPSEC_CTX_DIRECT};
  if (ipsec_ctx_new(&o, &ctx) != 0) return ENOMEM;
  struct ipsec_sa *sa;
  int rc = add_sa(ctx, a, IPSEC_DIR_OUT, 0, 1, ek, ak, &sa, msg, msglen);
  pl->pk = calloc(n, sizeof(*pl->pk));
  pl->len = calloc(n, sizeof(*pl->len));
  pl->n = n;
  uint8_t *buf = bench_alloc(BUFSZ);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    size_t sz = size ? size : imix_size(i);
    struct ipsec_pkt pk;
    build_udp(buf + HEAD, sz);
    /* a direct context completes before ipsec_output returns */
    ipsec_pkt_init(&pk, buf, BUFSZ, HEAD, sz, pool_done, NULL);
    if (ipsec_output(ctx, &pk) != 0 || pk.verdict != IPSEC_OK) {
      snprintf(msg, msglen, "cannot make packets to decapsulate (%s)",
               ipsec_verdict_name(pk.verdict));
      rc = EIO;
      break;
    }
    pl->pk[i] = malloc(pk.len);
    pl->len[i] = pk.len;
    memcpy(pl->pk[i], buf + pk.off, pk.len);
  }
  free(buf);
  ipsec_ctx_free(ctx);
  return rc;
}

static void free_pool(struct pool *pl) {
  for (size_t i = 0; i < pl->n; i++) free(pl->pk[i]);
  free(pl->pk);
  free(pl->len);
  memset(pl, 0, sizeof(*pl));
}

/* The ESP request's payload for a packet of sz bytes (cipher length). */
static size_t esp_req_len(const struct ialg *a, size_t sz) {
  size_t block = a->enc == IPSEC_ENC_AES_CBC ? 16 : a->enc == IPSEC_ENC_3DES_CBC ? 8 : 4;
  return (sz + 2 + block - 1) / block * block;
}

/* One timed round of one path; fills m. */
static int run_round(const struct iopts *o, const struct ialg *a, size_t size, int dir, int path,
                     const uint8_t *ek, const uint8_t *ak, const struct pool *pl, struct meas *m,
                     char *prod, size_t prodlen, char *msg, size_t msglen) {
  /* completions of asynchronous producers (cards) run done() where they
   * happen, without a hop to a return thread */
  struct ipsec_ctx_opts co = {.flags = path ? IPSEC_CTX_DIRECT : IPSEC_CTX_CBIMM};
  struct run r;
  memset(&r, 0, sizeof(r));
  pthread_mutex_init(&r.lock, NULL);
  pthread_cond_init(&r.cv, NULL);
  if (ipsec_ctx_new(&co, &r.ctx) != 0) return ENOMEM;
  struct ipsec_sa *sa = NULL;
  int nsas = dir ? 1 : o->sas;
  int rc = 0;
  for (int k = 0; k < nsas && rc == 0; k++)
    rc = add_sa(r.ctx, a, dir ? IPSEC_DIR_IN : IPSEC_DIR_OUT, k, nsas, ek, ak, &sa, msg, msglen);
  if (rc != 0) {
    ipsec_ctx_free(r.ctx);
    return rc;
  }
  struct ipsec_sa_info si;
  ipsec_sa_info(sa, &si);
  snprintf(prod, prodlen, "%s", si.producer);
  r.nslots = o->window;
  r.slots = calloc((size_t)r.nslots, sizeof(*r.slots));
  r.free_next = calloc((size_t)r.nslots, sizeof(*r.free_next));
  atomic_store(&r.free_top, -1);
  for (int i = 0; i < r.nslots; i++) {
    r.slots[i].buf = bench_alloc(BUFSZ);
    r.slots[i].run = &r;
    r.slots[i].index = i;
    push_free(&r, i);
  }
  uint8_t *clear[IMIX_N];
  for (int i = 0; i < IMIX_N; i++) {
    size_t sz = size ? size : imix_size((uint64_t)i);
    clear[i] = bench_alloc(sz);
    build_udp(clear[i], sz);
  }
  struct ipsec_pkt *batch[256];
  uint64_t issued = 0, bytes = 0, req_bytes = 0;
  size_t pool_i = 0;
  int ncards = 0;
  uint64_t busy0 = cards_busy(&ncards);
  double cpu0 = cpu_now();
  uint64_t t0 = bench_now_ns(), deadline = t0 + (uint64_t)(o->seconds * 1e9);
  uint64_t now = t0;
  int top = -1, spins = 0;
  while (now < deadline) {
    if (top < 0) top = pop_all(&r);
    if (top < 0) { /* all in flight: wait for completions */
      if (++spins > 64) {
        pthread_mutex_lock(&r.lock);
        atomic_store(&r.waiting, 1);
        if (atomic_load(&r.free_top) < 0) {
          struct timespec ts;
          clock_gettime(CLOCK_REALTIME, &ts);
          ts.tv_nsec += 1000000;
          if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
          }
          pthread_cond_timedwait(&r.cv, &r.lock, &ts);
        }
        atomic_store(&r.waiting, 0);
        pthread_mutex_unlock(&r.lock);
      }
      now = bench_now_ns();
      continue;
    }
    spins = 0;
    int n = 0;
    while (top >= 0 && n < o->batch) {
      struct slot *s = &r.slots[top];
      top = atomic_load_explicit(&r.free_next[top], memory_order_relaxed);
      const uint8_t *src;
      size_t len;
      if (dir == 0) {
        len = size ? size : imix_size(issued + (uint64_t)n);
        src = clear[size ? 0 : (issued + (uint64_t)n) % IMIX_N];
      } else {
        if (pool_i == pl->n) {
          /* the pool is used up: a fresh SA, whose window starts empty */
          ipsec_ctx_drain(r.ctx);
          ipsec_sa_del(r.ctx, sa);
          if (add_sa(r.ctx, a, IPSEC_DIR_IN, 0, 1, ek, ak, &sa, msg, msglen) != 0) abort();
          pool_i = 0;
        }
        src = pl->pk[pool_i];
        len = pl->len[pool_i];
        pool_i++;
      }
      memcpy(s->buf + HEAD, src, len);
      if (nsas > 1) {
        /* to SA k's prefix, round robin by runs of IMIX_N packets, so that
         * every SA (every card) gets the whole mix */
        uint8_t *ip = s->buf + HEAD;
        ip[18] = (uint8_t)((issued + (uint64_t)n) / IMIX_N % (uint64_t)nsas);
        ip[10] = ip[11] = 0;
        uint32_t sum = 0;
        for (int w = 0; w < 20; w += 2) sum += (uint32_t)(ip[w] << 8 | ip[w + 1]);
        while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
        ip[10] = (uint8_t)(~sum >> 8);
        ip[11] = (uint8_t)~sum;
      }
      ipsec_pkt_init(&s->p, s->buf, BUFSZ, HEAD, len, done_cb, s);
      size_t inner = dir == 0 ? len : (size ? size : imix_size(issued + (uint64_t)n));
      bytes += inner;
      req_bytes += esp_req_len(a, inner);
      batch[n++] = &s->p;
    }
    int k = dir ? ipsec_input_batch(r.ctx, batch, n) : ipsec_output_batch(r.ctx, batch, n);
    if (k != n) abort(); /* the arguments are right: cannot happen */
    issued += (uint64_t)n;
    now = bench_now_ns();
  }
  /* the ones still in flight finish, and count */
  ipsec_ctx_drain(r.ctx);
  uint64_t t1 = bench_now_ns();
  double cpu1 = cpu_now();
  m->pkts = issued;
  m->bytes = bytes;
  m->req_bytes = req_bytes;
  m->wall = (double)(t1 - t0) / 1e9;
  m->cpu = cpu1 - cpu0;
  if (ncards > 0) m->card_busy = (double)(cards_busy(&ncards) - busy0) / 1e9 / m->wall / ncards;
  if (atomic_load(&r.bad) > 0) {
    snprintf(msg, msglen, "%llu packets ended with %s", (unsigned long long)atomic_load(&r.bad),
             ipsec_verdict_name((enum ipsec_verdict)r.bad_verdict));
    rc = EIO;
  }
  ipsec_ctx_free(r.ctx);
  for (int i = 0; i < r.nslots; i++) free(r.slots[i].buf);
  for (int i = 0; i < IMIX_N; i++) free(clear[i]);
  free(r.slots);
  free(r.free_next);
  pthread_mutex_destroy(&r.lock);
  pthread_cond_destroy(&r.cv);
  return rc;
}

/* --- rows, medians, output ------------------------------------------------------- */

static int cmp_d(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return a < b ? -1 : a > b;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof(*v), cmp_d);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static const char *size_name(size_t size, char *buf, size_t len) {
  if (size == 0)
    snprintf(buf, len, "imix");
  else
    snprintf(buf, len, "%zu", size);
  return buf;
}

/* Measures one (algorithm, size, direction) for the paths asked: rounds
 * alternate the paths, medians of each figure. */
static void measure(const struct iopts *o, const struct ialg *a, size_t size, int dir,
                    struct irow out[2]) {
  uint8_t ek[64], ak[64];
  RAND_bytes(ek, sizeof(ek));
  RAND_bytes(ak, sizeof(ak));
  struct pool pl = {0};
  char msg[160] = "";
  for (int p = 0; p < 2; p++) {
    memset(&out[p], 0, sizeof(out[p]));
    out[p].a = a;
    out[p].size = size;
    out[p].dir = dir;
    out[p].path = p;
  }
  if (dir == 1 && make_pool(a, size, ek, ak, 8192, &pl, msg, sizeof(msg)) != 0) {
    for (int p = 0; p < 2; p++) snprintf(out[p].msg, sizeof(out[p].msg), "%s", msg);
    free_pool(&pl);
    return;
  }
  double pps[2][16], cpu[2][16], ppc[2][16], mbps[2][16], card[2][16], busy[2][16];
  int n[2] = {0, 0};
  for (int round = 0; round < o->rounds; round++) {
    for (int k = 0; k < 2; k++) {
      int p = (round % 2) ? 1 - k : k;
      if (!(o->paths & (1 << p))) continue;
      struct meas m = {0};
      char prod[40] = "";
      msg[0] = 0;
      int rc = run_round(o, a, size, dir, p, ek, ak, &pl, &m, prod, sizeof(prod), msg, sizeof(msg));
      if (rc != 0) {
        snprintf(out[p].msg, sizeof(out[p].msg), "%s", msg[0] ? msg : strerror(rc));
        continue;
      }
      snprintf(out[p].producer, sizeof(out[p].producer), "%s", prod);
      int i = n[p]++;
      pps[p][i] = (double)m.pkts / m.wall;
      mbps[p][i] = (double)m.bytes * 8 / m.wall / 1e6;
      cpu[p][i] = m.cpu;
      ppc[p][i] = m.cpu > 0 ? (double)m.pkts / m.cpu : NAN;
      card[p][i] = (double)m.req_bytes * 8 / m.wall / 1e6;
      busy[p][i] = m.card_busy;
    }
  }
  for (int p = 0; p < 2; p++) {
    if (n[p] == 0) continue;
    double lo = pps[p][0], hi = pps[p][0];
    for (int i = 1; i < n[p]; i++) {
      if (pps[p][i] < lo) lo = pps[p][i];
      if (pps[p][i] > hi) hi = pps[p][i];
    }
    out[p].ok = 1;
    out[p].pps = median(pps[p], n[p]);
    out[p].spread = out[p].pps > 0 ? (hi - lo) / out[p].pps : 0;
    out[p].mbps = median(mbps[p], n[p]);
    out[p].cpu_s = median(cpu[p], n[p]);
    out[p].pps_cpu = median(ppc[p], n[p]);
    out[p].card_mbps = median(card[p], n[p]);
    out[p].card_busy = median(busy[p], n[p]);
    /* the cards' model for the same requests: time-weighted over the mix */
    if (a->card_alg != OCF_ALG_NONE && ocf_sim_mode() != NULL) {
      double bits = 0, ns = 0;
      for (int i = 0; i < (size ? 1 : IMIX_N); i++) {
        size_t req = esp_req_len(a, size ? size : imix_size((uint64_t)i));
        double peak = ocf_sim_peak_mbps(a->card_alg, req);
        if (peak <= 0) {
          bits = 0;
          break;
        }
        bits += (double)req * 8;
        ns += (double)req * 8 * 1000 / peak;
      }
      out[p].card_model = ns > 0 ? bits / ns * 1000 : 0;
    }
  }
  free_pool(&pl);
}

static void write_json(FILE *f, struct irow *rows, int nrows, const struct iopts *o) {
  fprintf(f, "[\n");
  int first = 1;
  for (int i = 0; i < nrows; i++) {
    struct irow *r = &rows[i];
    if (!r->ok && r->msg[0] == 0) continue;
    char sz[24];
    fprintf(f, "%s  {\"alg\": ", first ? "" : ",\n");
    first = 0;
    json_str(f, r->a->name);
    fprintf(f, ", \"size\": ");
    if (r->size)
      fprintf(f, "%zu", r->size);
    else
      json_str(f, size_name(0, sz, sizeof(sz)));
    fprintf(f, ", \"path\": \"%s\", \"dir\": \"%s\", \"pps\": ", r->path ? "direct" : "ocf",
            r->dir ? "in" : "out");
    json_num(f, r->ok ? r->pps : NAN);
    fprintf(f, ", \"mbps\": ");
    json_num(f, r->ok ? r->mbps : NAN);
    fprintf(f, ", \"cpu_s\": ");
    json_num(f, r->ok ? r->cpu_s : NAN);
    fprintf(f, ", \"pkts_per_cpu_s\": ");
    json_num(f, r->ok ? r->pps_cpu : NAN);
    fprintf(f, ", \"spread\": ");
    json_num(f, r->ok ? r->spread : NAN);
    fprintf(f, ", \"seconds\": ");
    json_num(f, o->seconds);
    fprintf(f, ", \"rounds\": %d, \"producer\": ", o->rounds);
    json_str(f, r->producer);
    if (r->card_model > 0) {
      fprintf(f, ", \"esp_payload_mbps\": ");
      json_num(f, r->card_mbps);
      fprintf(f, ", \"cards_model_mbps\": ");
      json_num(f, r->card_model);
      fprintf(f, ", \"cards_busy\": ");
      json_num(f, r->card_busy);
    }
    if (!r->ok) {
      fprintf(f, ", \"error\": ");
      json_str(f, r->msg);
    }
    fprintf(f, "}");
  }
  fprintf(f, "\n]\n");
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: ocf bench --ipsec [options]\n"
          "\n"
          "ESP tunnel encapsulation (out) and decapsulation (in) of IPv4 packets in memory,\n"
          "through the framework (libocfipsec over libocf: path ocf) and through the same\n"
          "libocfipsec code calling OpenSSL EVP directly (path direct), on one consumer\n"
          "thread; rounds alternate the paths, figures are medians.\n"
          "\n"
          "  --alg A,B,...     algorithms (default %s); all:\n"
          "                    ",
          default_ialgs);
  for (size_t i = 0; i < NIALGS; i++)
    fprintf(f, "%s%s", ialgs[i].name, i + 1 < NIALGS ? ", " : "\n");
  fprintf(f,
          "  --sizes N,...     IP packet sizes in bytes, or imix (7:4:1 of 64/576/1500);\n"
          "                    default %s\n"
          "  --dir out|in|both (default both)\n"
          "  --only ocf|direct one path\n"
          "  --seconds S       per round and path (default 1)\n"
          "  --rounds N        (default 3)\n"
          "  --batch N         packets per ipsec_output_batch / ipsec_input_batch (default 32)\n"
          "  --window N        packets in flight at most (default 256)\n"
          "  --sas N           encapsulation: spread the packets over N SAs (round robin;\n"
          "                    each SA is one session, so N cards can share the work)\n"
          "  --workers N       framework worker threads\n"
          "  --devices SPEC    modeled cards (e.g. bcm5820*4@pci64:mode=timing): the SAs go\n"
          "                    to them, and rows give the cards' modeled aggregate beside\n"
          "                    the ESP payload rate reached (timing mode computes nothing,\n"
          "                    so only out makes sense)\n"
          "  --json FILE       one row per measurement ('-' = stdout)\n"
          "  --plot DIR        packets/s by size: DIR/ipsec.svg and .png\n"
          "  --plot-y pps|cpu  plot packets per second (default) or per CPU-second (the\n"
          "                    figure that holds up on a shared machine)\n"
          "  -q, --quiet       no table\n",
          default_isizes);
}

static int parse(int argc, char **argv, struct iopts *o) {
  *o = (struct iopts){.algs = default_ialgs,
                      .sizes = default_isizes,
                      .seconds = 1,
                      .rounds = 3,
                      .batch = 32,
                      .window = 256,
                      .sas = 1,
                      .dirs = 3,
                      .paths = 3};
  enum {
    O_IPSEC = 300,
    O_ALG,
    O_SIZES,
    O_DIR,
    O_ONLY,
    O_SEC,
    O_ROUNDS,
    O_BATCH,
    O_WIN,
    O_WORK,
    O_DEV,
    O_JSON,
    O_PLOT,
    O_PLOTY,
    O_SAS
  };
  static const struct option lo[] = {{"ipsec", no_argument, NULL, O_IPSEC},
                                     {"alg", required_argument, NULL, O_ALG},
                                     {"algs", required_argument, NULL, O_ALG},
                                     {"sizes", required_argument, NULL, O_SIZES},
                                     {"dir", required_argument, NULL, O_DIR},
                                     {"only", required_argument, NULL, O_ONLY},
                                     {"seconds", required_argument, NULL, O_SEC},
                                     {"rounds", required_argument, NULL, O_ROUNDS},
                                     {"batch", required_argument, NULL, O_BATCH},
                                     {"window", required_argument, NULL, O_WIN},
                                     {"sas", required_argument, NULL, O_SAS},
                                     {"workers", required_argument, NULL, O_WORK},
                                     {"devices", required_argument, NULL, O_DEV},
                                     {"json", required_argument, NULL, O_JSON},
                                     {"plot", required_argument, NULL, O_PLOT},
                                     {"plot-y", required_argument, NULL, O_PLOTY},
                                     {"quiet", no_argument, NULL, 'q'},
                                     {"help", no_argument, NULL, 'h'},
                                     {NULL, 0, NULL, 0}};
  optind = 1;
  int c;
  char *end;
  while ((c = getopt_long(argc, argv, "qh", lo, NULL)) != -1) {
    switch (c) {
      case O_IPSEC:
        break;
      case O_ALG:
        o->algs = optarg;
        break;
      case O_SIZES:
        o->sizes = optarg;
        break;
      case O_DIR:
        o->dirs = !strcmp(optarg, "out")    ? 1
                  : !strcmp(optarg, "in")   ? 2
                  : !strcmp(optarg, "both") ? 3
                                            : 0;
        if (!o->dirs) {
          fprintf(stderr, "ocf bench --ipsec: --dir out, in or both, not '%s'\n", optarg);
          return 2;
        }
        break;
      case O_ONLY:
        o->paths = !strcmp(optarg, "ocf") ? 1 : !strcmp(optarg, "direct") ? 2 : 0;
        if (!o->paths) {
          fprintf(stderr, "ocf bench --ipsec: --only ocf or direct, not '%s'\n", optarg);
          return 2;
        }
        break;
      case O_SEC:
        o->seconds = strtod(optarg, &end);
        if (*end || !(o->seconds > 0 && o->seconds <= 3600)) {
          fprintf(stderr, "ocf bench --ipsec: --seconds: a number in (0, 3600], not '%s'\n",
                  optarg);
          return 2;
        }
        break;
      case O_ROUNDS:
      case O_BATCH:
      case O_WIN:
      case O_SAS:
      case O_WORK: {
        long v = strtol(optarg, &end, 10);
        long hi = c == O_ROUNDS ? 16 : c == O_BATCH ? 256 : c == O_WIN ? 65536 : 256;
        if (c == O_SAS) hi = 64;
        if (*end || v < 1 || v > hi) {
          fprintf(stderr, "ocf bench --ipsec: %s: an integer in 1..%ld, not '%s'\n",
                  argv[optind - 1], hi, optarg);
          return 2;
        }
        if (c == O_ROUNDS) o->rounds = (int)v;
        if (c == O_BATCH) o->batch = (int)v;
        if (c == O_WIN) o->window = (int)v;
        if (c == O_SAS) o->sas = (int)v;
        if (c == O_WORK) o->workers = (int)v;
        break;
      }
      case O_DEV:
        o->devices = optarg;
        break;
      case O_JSON:
        o->json = optarg;
        break;
      case O_PLOT:
        o->plot = optarg;
        break;
      case O_PLOTY:
        if (strcmp(optarg, "pps") != 0 && strcmp(optarg, "cpu") != 0) {
          fprintf(stderr, "ocf bench --ipsec: --plot-y: pps or cpu\n");
          return 2;
        }
        o->plot_cpu = strcmp(optarg, "cpu") == 0;
        break;
      case 'q':
        o->quiet = 1;
        break;
      case 'h':
        usage(stdout);
        return -1;
      default:
        usage(stderr);
        return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "ocf bench --ipsec: unexpected argument '%s'\n", argv[optind]);
    return 2;
  }
  if (o->batch > o->window) o->batch = o->window;
  return 0;
}

int bench_ipsec(int argc, char **argv) {
  struct iopts o;
  int rc = parse(argc, argv, &o);
  if (rc) return rc < 0 ? 0 : rc;
  /* the lists */
  const struct ialg *algs[NIALGS * 4];
  int na = 0;
  char *al = strdup(o.algs);
  for (char *t = strtok(al, ","); t != NULL; t = strtok(NULL, ",")) {
    const struct ialg *a = NULL;
    for (size_t i = 0; i < NIALGS; i++)
      if (!strcmp(ialgs[i].name, t)) a = &ialgs[i];
    if (a == NULL || na == (int)(NIALGS * 4)) {
      fprintf(stderr, "ocf bench --ipsec: unknown algorithm '%s' (see --help)\n", t);
      free(al);
      return 2;
    }
    algs[na++] = a;
  }
  free(al);
  size_t sizes[32];
  int ns = 0;
  char *sl = strdup(o.sizes);
  for (char *t = strtok(sl, ","); t != NULL; t = strtok(NULL, ",")) {
    char *end;
    long v = !strcmp(t, "imix") ? 0 : strtol(t, &end, 10);
    if (ns == 32 || (strcmp(t, "imix") && (*end || v < 28 || v > 1500))) {
      fprintf(stderr, "ocf bench --ipsec: sizes are 28..1500 or imix, not '%s'\n", t);
      free(sl);
      return 2;
    }
    sizes[ns++] = (size_t)v;
  }
  free(sl);
  struct ocf_init_opts io = {.workers = o.workers, .devices = o.devices};
  if ((rc = ocf_init(&io)) != 0) {
    fprintf(stderr, "ocf bench --ipsec: ocf_init: %s (%s)\n", ocf_strerror(rc), ocf_errdetail());
    return 1;
  }
  int nrows = na * ns * 2 * 2;
  struct irow *rows = calloc((size_t)nrows, sizeof(*rows));
  int k = 0;
  if (!o.quiet)
    printf("%-26s %5s %3s %-12s %10s %9s %8s %12s %7s %-12s %10s\n", "algorithm", "size", "dir",
           "path", "pkts/s", "Mbit/s", "cpu s", "pkts/cpu-s", "spread", "producer", "ocf/direct");
  for (int ai = 0; ai < na; ai++) {
    for (int si = 0; si < ns; si++) {
      for (int dir = 0; dir < 2; dir++) {
        if (!(o.dirs & (1 << dir))) continue;
        struct irow *r = &rows[k];
        measure(&o, algs[ai], sizes[si], dir, r);
        k += 2;
        for (int p = 0; p < 2 && !o.quiet; p++) {
          char sz[24];
          if (!(o.paths & (1 << p))) continue;
          if (!r[p].ok) {
            printf("%-26s %5s %3s %-12s failed: %s\n", algs[ai]->name,
                   size_name(sizes[si], sz, sizeof(sz)), dir ? "in" : "out", p ? "direct" : "ocf",
                   r[p].msg);
            continue;
          }
          printf("%-26s %5s %3s %-12s %10.0f %9.1f %8.2f %12.0f %6.1f%% %-12s", algs[ai]->name,
                 size_name(sizes[si], sz, sizeof(sz)), dir ? "in" : "out", p ? "direct" : "ocf",
                 r[p].pps, r[p].mbps, r[p].cpu_s, r[p].pps_cpu, r[p].spread * 100, r[p].producer);
          if (p == 1 && r[0].ok && r[1].pps_cpu > 0)
            printf(" %9.1f%%", r[0].pps_cpu / r[1].pps_cpu * 100);
          if (p == 0 && r[p].card_model > 0)
            printf(
                " ESP payload %.0f of the cards' modeled %.0f Mbit/s (%.1f%%), engines busy "
                "%.0f%%",
                r[p].card_mbps, r[p].card_model, r[p].card_mbps / r[p].card_model * 100,
                r[p].card_busy * 100);
          printf("\n");
        }
        fflush(stdout);
      }
    }
  }
  if (!o.quiet)
    printf(
        "# ocf/direct: packets per CPU-second through the framework over the direct path's\n"
        "# (CPU seconds of the whole process, framework threads included)\n");
  if (o.json) {
    FILE *f = strcmp(o.json, "-") ? fopen(o.json, "w") : stdout;
    if (f == NULL) {
      fprintf(stderr, "ocf bench --ipsec: %s: %s\n", o.json, strerror(errno));
    } else {
      write_json(f, rows, k, &o);
      if (f != stdout) fclose(f);
    }
  }
  if (o.plot) {
    static struct plot pl;
    memset(&pl, 0, sizeof(pl));
    snprintf(pl.name, sizeof(pl.name), "ipsec");
    snprintf(pl.title, sizeof(pl.title), "ESP tunnel in memory, one consumer thread");
    snprintf(pl.xlabel, sizeof(pl.xlabel), "IP packet bytes");
    snprintf(pl.ylabel, sizeof(pl.ylabel), "%s",
             o.plot_cpu ? "packets per CPU-second" : "packets/s");
    snprintf(pl.key, sizeof(pl.key), "outside bottom center");
    pl.logy = 1;
    for (int i = 0; i < k; i++) {
      struct irow *r = &rows[i];
      if (!r->ok || r->size == 0) continue;
      struct plot_panel *pn =
          plot_panel_get(&pl, r->dir ? "decapsulation (in)" : "encapsulation (out)");
      char t[80];
      snprintf(t, sizeof(t), "%s %s", r->a->name, r->path ? "direct" : "ocf");
      struct plot_series *s = pn ? plot_series_get(pn, t) : NULL;
      if (s == NULL) continue;
      /* a colour per algorithm, dashed for the direct path */
      s->ls = (int)(r->a - ialgs) % 8 + 1;
      s->dashed = r->path;
      plot_add(s, (double)r->size, o.plot_cpu ? r->pps_cpu : r->pps);
    }
    char msg[200];
    if (plot_draw(&pl, o.plot, msg, sizeof(msg)) != 0)
      fprintf(stderr, "ocf bench --ipsec: plot: %s\n", msg);
  }
  free(rows);
  ocf_shutdown();
  return 0;
}
