/* bench.h - shared between the parts of `ocf bench`: the algorithm table, a
 * case, run parameters, results, and the latency sampler. */
#ifndef OCF_TOOLS_BENCH_H
#define OCF_TOOLS_BENCH_H

#include <ocf/ocf.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* How the direct path reproduces an algorithm and how a request is laid out. */
enum bench_kind {
  BK_NULL,   /* framework: NULL cipher; direct: memcpy */
  BK_CIPHER, /* EVP cipher, no padding, explicit IV */
  BK_AEAD,   /* EVP AEAD, tag appended after the data */
  BK_CCM,    /* like AEAD but CCM needs the length up front */
  BK_HMAC,   /* EVP_MAC "HMAC" */
  BK_HASH,   /* EVP digest */
  BK_GMAC,   /* AES-GCM with the data as AAD only */
  BK_DEFLATE /* zlib raw deflate into a separate buffer */
};

struct bench_alg {
  const char *name; /* bench name, e.g. "aes-128-cbc" */
  enum ocf_alg alg;
  enum bench_kind kind;
  size_t keylen;
  const char *evp; /* EVP cipher or digest name for the direct path */
};

/* bench_case - one algorithm or cipher+MAC chain with its keys and IVs; the
 * same keys and IVs serve both paths. */
struct bench_case {
  char name[64];
  const struct bench_alg *first;  /* cipher, AEAD, NULL, deflate, or a lone MAC */
  const struct bench_alg *second; /* the MAC of a cipher+MAC chain, else NULL */
  size_t taglen;                  /* bytes written after the data (tag / MAC) */
  uint8_t key1[64], key2[64];
  uint8_t iv1[16], iv2[16];
};

struct bench_params {
  double seconds;
  int threads;
  int window;
  int batch;            /* 0: ocf_dispatch from the callback; N: ocf_dispatch_batch of <= N */
  int direct_bufs;      /* buffers the direct path cycles through per thread */
  const char *producer; /* NULL: whatever the framework picks */
  unsigned sess_flags;  /* OCF_SESS_* derived from the producer */
};

struct bench_result {
  int ok;        /* 1: measured */
  int skipped;   /* 1: not applicable (msg says why) */
  char msg[200]; /* failure or skip reason */
  char producer[64];
  uint64_t ops;
  uint64_t eagain; /* migrations seen (resubmitted) */
  double elapsed;  /* seconds */
  double cpu_s;    /* CPU seconds the process (all threads) used over the measured rounds */
  double mbps, ops_per_s, p50_us, p99_us;
};

/* Latency sampler: keeps up to cap samples (reservoir sampling beyond that).
 * Adds from the owning thread and concurrent adds from other threads keep
 * separate reservoirs, so that the owner pays no atomic operation. */
struct sampler {
  uint64_t *v;
  size_t cap;
  uint64_t *vmt; /* the reservoir of concurrent adds */
  size_t capmt;
  _Atomic uint64_t n; /* samples offered (concurrent adds use this) */
  uint64_t ln;        /* samples offered (single-thread adds use this) */
  uint64_t next_skip; /* Algorithm L state for single-thread adds */
  double w;
  uint64_t rng;
};

#define BENCH_SAMPLE_CAP (256u * 1024u)

/* util.c */
uint64_t bench_now_ns(void);
int sampler_init(struct sampler *s, size_t cap);
void sampler_free(struct sampler *s);
void sampler_add_mt(struct sampler *s, uint64_t ns); /* from many threads */
void sampler_add(struct sampler *s, uint64_t ns);    /* one thread only */
uint64_t sampler_count(const struct sampler *s);
/* sampler_percentiles merges n samplers, weighting each by offered/kept, and
 * writes the p50 and p99 in microseconds. */
void sampler_percentiles(struct sampler *const *s, int n, double *p50_us, double *p99_us);
void *bench_alloc(size_t len); /* 64-byte aligned, zeroed; abort on failure */

/* bench_cpu.c */
double bench_cpu_seconds(void);          /* this process, all threads */
double bench_pid_cpu_seconds(int pid);   /* another process, all threads; < 0 if unknown */
double bench_children_cpu_seconds(void); /* children of this process that were waited for */
int bench_affinity(cpu_set_t *set);      /* the calling thread's allowed CPUs */
int bench_pin_all(const cpu_set_t *set); /* every thread of this process */
int bench_first_cpu(const cpu_set_t *set);
void bench_cpu_list(const cpu_set_t *set, char *buf, size_t len); /* "0-3,6" */

/* bench_algs.c */
extern const struct bench_alg bench_algs[];
extern const size_t bench_nalgs;
extern const char *const bench_chain_examples[];
const struct bench_alg *bench_alg_find(const char *name);
/* bench_case_init parses "alg" or "cipher+mac" and draws keys/IVs.
 * Returns 0 or EINVAL with msg set. */
int bench_case_init(struct bench_case *c, const char *name, char *msg, size_t msglen);
void bench_case_wipe(struct bench_case *c);
/* bench_case_size_ok tells whether size is a legal data length for the case. */
int bench_case_size_ok(const struct bench_case *c, size_t size);
/* bench_case_fill makes the payload for size bytes (compressible for deflate). */
void bench_case_fill(const struct bench_case *c, uint8_t *data, size_t size);

/* bench_direct.c */
struct bench_direct; /* opaque per-thread OpenSSL state */
int bench_direct_new(struct bench_direct **d, const struct bench_case *c, size_t size, char *msg,
                     size_t msglen);
/* bench_direct_op processes one request: buf (size + taglen bytes) is
 * transformed in place, data is the pristine payload (NULL and deflate read
 * it; their output goes to out). */
int bench_direct_op(struct bench_direct *d, uint8_t *buf, const uint8_t *data, uint8_t *out);
void bench_direct_free(struct bench_direct *d);
size_t bench_out_len(size_t size); /* separate output room for deflate/NULL */
/* bench_run_direct and bench_run_ocf run one timed round of p->seconds with
 * p->threads threads: they add to r->ops, r->elapsed, r->cpu_s and
 * r->eagain, and add each thread's latency samples to samp[thread].  cpu_s
 * is the process's CPU time from the moment the threads start measuring
 * until the last of them has stopped.  bench_finish_result turns the sums
 * into rates and percentiles. */
int bench_run_direct(const struct bench_case *c, size_t size, const uint8_t *data,
                     const struct bench_params *p, struct sampler *samp, struct bench_result *r);
int bench_direct_load_providers(char *msg, size_t msglen);
void bench_direct_unload_providers(void);

/* bench_ocf.c */
/* bench_ocf_verify runs one request through the framework and one directly on
 * the same data and compares the outputs.  Returns 0 when they agree. */
int bench_ocf_verify(const struct bench_case *c, size_t size, const uint8_t *data,
                     const struct bench_params *p, char *msg, size_t msglen);
int bench_run_ocf(const struct bench_case *c, size_t size, const uint8_t *data,
                  const struct bench_params *p, struct sampler *samp, struct bench_result *r);
void bench_finish_result(struct bench_result *r, size_t size, struct sampler *samp, int n);

/* json.c */
#include <stdio.h>
void json_str(FILE *f, const char *s);
void json_num(FILE *f, double v); /* finite numbers as is, else null */

#endif /* OCF_TOOLS_BENCH_H */
