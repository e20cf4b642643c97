/* util.c - clock, aligned buffers and the latency sampler of `ocf bench`. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

uint64_t bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void *bench_alloc(size_t len) {
  void *p = NULL;
  size_t rounded = (len + 63) & ~(size_t)63;
  if (rounded == 0) rounded = 64;
  if (posix_memalign(&p, 64, rounded) != 0) {
    fprintf(stderr, "ocf: out of memory (%zu bytes)\n", len);
    abort();
  }
  memset(p, 0, rounded);
  return p;
}

static uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

/* uniform in (0, 1], never 0 so that log() stays finite */
static double unit_rand(uint64_t *state) {
  *state = mix64(*state + 0x9e3779b97f4a7c15ull);
  return ((double)(*state >> 11) + 1.0) * (1.0 / 9007199254740992.0);
}

int sampler_init(struct sampler *s, size_t cap) {
  memset(s, 0, sizeof(*s));
  s->v = calloc(cap, sizeof(*s->v));
  if (s->v == NULL) return 12; /* ENOMEM */
  s->cap = cap;
  s->capmt = cap / 4 ? cap / 4 : 1;
  s->vmt = calloc(s->capmt, sizeof(*s->vmt));
  if (s->vmt == NULL) {
    free(s->v);
    s->v = NULL;
    return 12; /* ENOMEM */
  }
  atomic_init(&s->n, 0);
  s->rng = (uint64_t)(uintptr_t)s ^ bench_now_ns();
  return 0;
}

void sampler_free(struct sampler *s) {
  free(s->v);
  free(s->vmt);
  s->v = s->vmt = NULL;
}

/* Reservoir sampling (Algorithm R) whose random draw is a hash of the sample
 * index, so concurrent callbacks share no generator state. */
void sampler_add_mt(struct sampler *s, uint64_t ns) {
  uint64_t i = atomic_fetch_add_explicit(&s->n, 1, memory_order_relaxed);
  uint64_t j = i;
  if (i >= s->capmt) {
    j = mix64(i ^ (uint64_t)(uintptr_t)s) % (i + 1);
    if (j >= s->capmt) return;
  }
  __atomic_store_n(&s->vmt[j], ns, __ATOMIC_RELAXED);
}

/* Algorithm L: after the reservoir is full, jump straight to the next sample
 * to keep, so the direct path's hot loop pays one compare per sample. */
void sampler_add(struct sampler *s, uint64_t ns) {
  uint64_t i = s->ln++;
  if (i < s->cap) {
    s->v[i] = ns;
    if (i + 1 == s->cap) {
      s->w = exp(log(unit_rand(&s->rng)) / (double)s->cap);
      s->next_skip = s->cap + (uint64_t)floor(log(unit_rand(&s->rng)) / log1p(-s->w));
    }
    return;
  }
  if (i != s->next_skip) return;
  s->v[mix64(s->rng++) % s->cap] = ns;
  s->w *= exp(log(unit_rand(&s->rng)) / (double)s->cap);
  s->next_skip += (uint64_t)floor(log(unit_rand(&s->rng)) / log1p(-s->w)) + 1;
}

uint64_t sampler_count(const struct sampler *s) {
  return s->ln + atomic_load_explicit(&((struct sampler *)s)->n, memory_order_relaxed);
}

struct wsample {
  uint64_t v;
  double w;
};

static int cmp_wsample(const void *a, const void *b) {
  uint64_t x = ((const struct wsample *)a)->v, y = ((const struct wsample *)b)->v;
  return (x > y) - (x < y);
}

/* The reservoirs of a sampler: its own adds and the concurrent ones. */
static void reservoir(const struct sampler *s, int k, const uint64_t **v, uint64_t *offered,
                      size_t *kept) {
  uint64_t c = k ? atomic_load_explicit(&((struct sampler *)s)->n, memory_order_relaxed) : s->ln;
  size_t cap = k ? s->capmt : s->cap;
  *v = k ? s->vmt : s->v;
  *offered = c;
  *kept = c < cap ? (size_t)c : cap;
}

void sampler_percentiles(struct sampler *const *s, int n, double *p50_us, double *p99_us) {
  size_t total = 0;
  for (int i = 0; i < n; i++)
    for (int k = 0; k < 2; k++) {
      const uint64_t *v;
      uint64_t c;
      size_t kept;
      reservoir(s[i], k, &v, &c, &kept);
      total += kept;
    }
  *p50_us = *p99_us = NAN;
  if (total == 0) return;
  struct wsample *all = malloc(total * sizeof(*all));
  if (all == NULL) return;
  size_t k = 0;
  double wsum = 0;
  for (int i = 0; i < n; i++)
    for (int r = 0; r < 2; r++) {
      const uint64_t *v;
      uint64_t c;
      size_t kept;
      reservoir(s[i], r, &v, &c, &kept);
      /* a reservoir that overflowed stands for more requests per sample */
      double w = kept ? (double)c / (double)kept : 0;
      for (size_t j = 0; j < kept; j++) all[k++] = (struct wsample){v[j], w};
      wsum += w * (double)kept;
    }
  qsort(all, total, sizeof(*all), cmp_wsample);
  double q50 = 0.50 * wsum, q99 = 0.99 * wsum, acc = 0;
  int have50 = 0;
  for (size_t j = 0; j < total; j++) {
    acc += all[j].w;
    if (!have50 && acc >= q50) {
      *p50_us = (double)all[j].v / 1000.0;
      have50 = 1;
    }
    if (acc >= q99) {
      *p99_us = (double)all[j].v / 1000.0;
      break;
    }
  }
  if (isnan(*p99_us)) *p99_us = (double)all[total - 1].v / 1000.0;
  free(all);
}

void bench_finish_result(struct bench_result *r, size_t size, struct sampler *samp, int n) {
  if (!(r->elapsed > 0)) return;
  struct sampler **sp = calloc((size_t)n, sizeof(*sp));
  if (sp == NULL) abort();
  for (int i = 0; i < n; i++) sp[i] = &samp[i];
  r->ops_per_s = (double)r->ops / r->elapsed;
  r->mbps = r->ops_per_s * (double)size * 8.0 / 1e6;
  sampler_percentiles(sp, n, &r->p50_us, &r->p99_us);
  r->ok = 1;
  free(sp);
}
