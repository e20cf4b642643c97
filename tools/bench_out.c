/* bench_out.c - what `ocf bench` prints: the table (per core first, the
 * multi-core speed-up labelled as such), the table of the daemon paths, and
 * the JSON, CSV and plot of the same rows. */
#include <errno.h>
#include <math.h>
#include <ocf/ocfdev.h>
#include <openssl/opensslv.h>
#include <stdlib.h>
#include <string.h>

#include "bench_main.h"
#include "plot.h"

static void fmt_num(char *buf, size_t len, double v, const char *fmt) {
  if (isfinite(v))
    snprintf(buf, len, fmt, v);
  else
    snprintf(buf, len, "-");
}

static const char *lat_fmt(double us) { return us < 100 ? "%.2f" : "%.1f"; }

/* ring_off: libocfdev was told to keep shared-memory requests on the socket. */
static int ring_off(void) {
  const char *v = getenv("OCFDEV_RING");
  return v != NULL && strcmp(v, "0") == 0;
}

void bench_print_table(FILE *f, const struct opts *o, const struct row *rows, int nrows) {
  int has_null = 0, has_chain = 0, has_deflate = 0, has_notes = 0;
  int same = bench_same_core_path(o), multi = o->ncpus > 1 && o->active[P_OCF];
  char cpus[128];
  bench_cpu_list(&o->all, cpus, sizeof(cpus));
  fprintf(f,
          "ocf bench: libocf %s, %s\n"
          "%d consumer thread%s x %d requests in flight (%s), %d framework worker%s;\n"
          "this process may use %d CPU%s (%s).  %.2f s per case and path, in %d alternating\n"
          "round%s (ratios: the median of the rounds' ratios).\n",
          OCF_VERSION, OPENSSL_VERSION_TEXT, o->p.threads, o->p.threads == 1 ? "" : "s",
          o->p.window, o->p.batch ? "ocf_dispatch_batch" : "ocf_dispatch from the callback",
          o->workers_eff, o->workers_eff == 1 ? "" : "s", o->ncpus, o->ncpus == 1 ? "" : "s", cpus,
          o->p.seconds, o->rounds, o->rounds == 1 ? "" : "s");
  if (o->p.batch) fprintf(f, "(batches of up to %d requests)\n", o->p.batch);
  if (same == P_OCF1)
    fprintf(f,
            "same core: every thread of this process (consumers and framework workers) pinned\n"
            "to CPU %d with sched_setaffinity, for the direct run and for the framework's\n"
            "same-core run; all cores: no pinning.\n",
            o->same_cpu);
  else if (same == P_OCF)
    fprintf(f, "same core: this process may only use CPU %s, so every path runs on it.\n", cpus);
  fputc('\n', f);

  char dtitle[64];
  if (same == P_OCF1)
    snprintf(dtitle, sizeof(dtitle), "direct (OpenSSL EVP, CPU %d)", o->same_cpu);
  else
    snprintf(dtitle, sizeof(dtitle), "direct (OpenSSL EVP)");
  char mtitle[64];
  snprintf(mtitle, sizeof(mtitle), "framework, all cores (%d CPUs)", o->ncpus);
  fprintf(f, "%-24s %6s %-8s | %-36s", "", "", "", dtitle);
  if (same >= 0) fprintf(f, " | %-27s", "framework, same core");
  if (multi) fprintf(f, " | %s", mtitle);
  fputc('\n', f);
  fprintf(f, "%-24s %6s %-8s | %9s %11s %7s %6s", "algorithm", "bytes", "producer", "Mbit/s",
          "req/s", "p50 us", "cpu_s");
  if (same >= 0) fprintf(f, " | %11s %6s %8s", "req/s", "cpu_s", "ocf/dir");
  if (multi)
    fprintf(f, " | %9s %11s %7s %7s %6s %8s %5s", "Mbit/s", "req/s", "p50 us", "p99 us", "cpu_s",
            "x direct", "eff");
  fputc('\n', f);
  for (int i = 0; i < nrows; i++) {
    const struct row *r = &rows[i];
    has_null |= r->c->first->kind == BK_NULL;
    has_chain |= r->c->second != NULL;
    has_deflate |= r->c->first->kind == BK_DEFLATE;
    const struct bench_result *d = &r->res[P_DIRECT];
    const char *prod = r->res[P_OCF].producer[0]    ? r->res[P_OCF].producer
                       : r->res[P_OCF1].producer[0] ? r->res[P_OCF1].producer
                                                    : "-";
    char a[32], b[32], c[32], e[32], g[32], h[32], k[32];
    fmt_num(a, sizeof(a), d->ok ? d->mbps : NAN, "%.1f");
    fmt_num(b, sizeof(b), d->ok ? d->ops_per_s : NAN, "%.0f");
    fmt_num(c, sizeof(c), d->ok ? d->p50_us : NAN, lat_fmt(d->p50_us));
    fmt_num(e, sizeof(e), d->ok ? d->cpu_s : NAN, "%.3f");
    fprintf(f, "%-24.24s %6zu %-8.8s | %9s %11s %7s %6s", r->c->name, r->size, prod, a, b, c, e);
    if (same >= 0) {
      const struct bench_result *s = &r->res[same];
      fmt_num(a, sizeof(a), s->ok ? s->ops_per_s : NAN, "%.0f");
      fmt_num(b, sizeof(b), s->ok ? bench_cpu_of(r, same) : NAN, "%.3f");
      fmt_num(c, sizeof(c), bench_ratio(r, same) * 100.0, "%.1f%%");
      fprintf(f, " | %11s %6s %8s", a, b, c);
    }
    if (multi) {
      const struct bench_result *m = &r->res[P_OCF];
      fmt_num(a, sizeof(a), m->ok ? m->mbps : NAN, "%.1f");
      fmt_num(b, sizeof(b), m->ok ? m->ops_per_s : NAN, "%.0f");
      fmt_num(c, sizeof(c), m->ok ? m->p50_us : NAN, lat_fmt(m->p50_us));
      fmt_num(e, sizeof(e), m->ok ? m->p99_us : NAN, lat_fmt(m->p99_us));
      fmt_num(g, sizeof(g), m->ok ? m->cpu_s : NAN, "%.3f");
      fmt_num(h, sizeof(h), bench_ratio(r, P_OCF) * 100.0, "%.1f%%");
      fmt_num(k, sizeof(k), bench_eff(r, o, P_OCF), "%.2f");
      fprintf(f, " | %9s %11s %7s %7s %6s %8s %5s", a, b, c, e, g, h, k);
    }
    if (r->note[0]) {
      fprintf(f, "  [%d]", i + 1);
      has_notes = 1;
    }
    fputc('\n', f);
  }
  fprintf(f,
          "\nMbit/s and req/s count payload bytes (the size column) over wall time, all threads.\n"
          "cpu_s: CPU seconds of this process, all threads (CLOCK_PROCESS_CPUTIME_ID), over "
          "the\nmeasured rounds of that path.\n");
  if (same >= 0)
    fprintf(f,
            "ocf/dir: the per-core ratio, framework req/s over direct req/s with both on the "
            "same CPU.\n");
  if (multi)
    fprintf(f,
            "x direct: a multi-core speed-up, the framework on all %d CPUs over ONE direct "
            "thread;\n"
            "eff: (framework requests per CPU second) / (direct requests per CPU second).\n",
            o->ncpus);
  fprintf(f,
          "Latency: framework = ocf_dispatch to callback, including queueing behind the window "
          "of %d;\n"
          "direct = one request's EVP calls (context prepared once, IV reset per request).\n",
          o->p.window);
  if (has_null)
    fprintf(f,
            "null: the direct path is a memcpy of the buffer; the framework's NULL copies into "
            "a separate output buffer.\n");
  if (has_chain)
    fprintf(f,
            "cipher+mac: encrypt-then-MAC in one framework request; direct = two EVP "
            "calls.\n");
  if (has_deflate) fprintf(f, "deflate: direct = zlib raw deflate, default level.\n");
  if (has_notes) {
    fputc('\n', f);
    for (int i = 0; i < nrows; i++)
      if (rows[i].note[0]) fprintf(f, "[%d] %s\n", i + 1, rows[i].note);
  }
}

static void print_dev_path(FILE *f, const struct row *r, int k, int with_ratio) {
  const struct bench_result *res = &r->res[k];
  char a[32], b[32], c[32], d[32];
  fmt_num(a, sizeof(a), res->ok ? res->mbps : NAN, "%.1f");
  fmt_num(b, sizeof(b), res->ok ? res->ops_per_s : NAN, "%.0f");
  fmt_num(c, sizeof(c), bench_ratio(r, k) * 100.0, "%.1f%%");
  fmt_num(d, sizeof(d), res->ok ? bench_cpu_of(r, k) : NAN, "%.3f");
  if (with_ratio)
    fprintf(f, " | %9s %10s %6s %7s", a, b, d, c);
  else
    fprintf(f, " | %9s %10s %6s", a, b, d);
}

void bench_print_dev_table(FILE *f, const struct opts *o, const struct row *rows, int nrows) {
  fprintf(f,
          "\nthrough ocfd at %s%s: ocfd = one request at a time, data copied through the\n"
          "socket; ocfd-async = %d in flight, copied; ocfd-shm = %d in flight in shared memory\n"
          "(no copy), submitted through %s; %% = request rate relative to in-process (all\n"
          "cores).  cdev = a /dev/crypto program under LD_PRELOAD=libocfpreload.so, one\n"
          "CIOCCRYPT at a time (CIOCAUTHCRYPT for AEADs); %% = relative to direct OpenSSL.\n"
          "cpu_s: this process (and its cdev child)%s.\n\n",
          o->ocfd, o->priv_pid > 0 ? " (a private daemon for this run)" : "", o->p.window,
          o->p.window, ring_off() ? "the socket ($OCFDEV_RING=0)" : "rings",
          o->priv_pid > 0 ? " and the daemon" : " only (the daemon's is not known)");
  fprintf(f, "%-24s %6s | %-27s | %-27s | %-35s | %-35s | %-35s |\n", "", "", "     in-process",
          "   ocfd (sync)", "   ocfd-async (copy)", "   ocfd-shm (zero-copy)",
          "   cdev (CIOCCRYPT)");
  fprintf(f,
          "%-24s %6s | %9s %10s %6s | %9s %10s %6s | %9s %10s %6s %7s | %9s %10s %6s %7s | %9s "
          "%10s %6s %7s\n",
          "algorithm", "bytes", "Mbit/s", "req/s", "cpu_s", "Mbit/s", "req/s", "cpu_s", "Mbit/s",
          "req/s", "cpu_s", "%", "Mbit/s", "req/s", "cpu_s", "%", "Mbit/s", "req/s", "cpu_s", "%");
  for (int i = 0; i < nrows; i++) {
    const struct row *r = &rows[i];
    fprintf(f, "%-24.24s %6zu", r->c->name, r->size);
    print_dev_path(f, r, P_OCF, 0);
    print_dev_path(f, r, P_DEV_SYNC, 0);
    print_dev_path(f, r, P_DEV_ASYNC, 1);
    print_dev_path(f, r, P_DEV_SHM, 1);
    print_dev_path(f, r, P_DEV_CDEV, 1);
    if (r->note[0]) fprintf(f, "  [%d]", i + 1);
    fputc('\n', f);
  }
}

static FILE *open_out(const char *path) {
  if (strcmp(path, "-") == 0) return stdout;
  FILE *f = fopen(path, "w");
  if (f == NULL) fprintf(stderr, "ocf bench: cannot write %s: %s\n", path, strerror(errno));
  return f;
}

static int close_out(FILE *f, const char *path) {
  int bad_write = ferror(f);
  if (f == stdout)
    bad_write |= fflush(f) != 0;
  else
    bad_write |= fclose(f) != 0;
  if (bad_write) fprintf(stderr, "ocf bench: error writing %s\n", path);
  return bad_write;
}

static int is_dev(int k) { return k >= P_DEV_SYNC; }

/* how many CPUs path k could run on */
static int cpus_of(const struct opts *o, int k) {
  if (k == P_OCF1 || (k == P_DIRECT && o->active[P_OCF1])) return 1;
  if (k == P_DIRECT) return o->p.threads < o->ncpus ? o->p.threads : o->ncpus;
  return o->ncpus;
}

static void json_obj(FILE *f, const struct row *r, int k, const struct opts *o, int *first) {
  const struct bench_result *res = &r->res[k];
  fprintf(f, "%s\n  {\"alg\": ", *first ? "" : ",");
  *first = 0;
  json_str(f, r->c->name);
  fprintf(f, ", \"size\": %zu, \"path\": \"%s\", \"producer\": ", r->size, bench_paths[k].name);
  json_str(f, res->producer);
  fprintf(f, ", \"threads\": %d, \"mbps\": ", o->p.threads);
  json_num(f, res->mbps);
  fprintf(f, ", \"ops_per_s\": ");
  json_num(f, res->ops_per_s);
  fprintf(f, ", \"p50_us\": ");
  json_num(f, res->p50_us);
  fprintf(f, ", \"p99_us\": ");
  json_num(f, res->p99_us);
  if (k == P_OCF || k == P_OCF1) {
    fprintf(f, ", \"ratio\": ");
    json_num(f, bench_ratio(r, k));
    fprintf(f, ", \"window\": %d, \"batch\": %d", o->p.window, o->p.batch);
  }
  if (is_dev(k)) {
    /* relative to the in-process framework path of the same run; the
     * cryptodev program relative to the direct path */
    fprintf(f, k == P_DEV_CDEV ? ", \"ratio_direct\": " : ", \"ratio_inproc\": ");
    json_num(f, bench_ratio(r, k));
    fprintf(f,
            ", \"window\": %d, \"socket\": ", k == P_DEV_SYNC || k == P_DEV_CDEV ? 1 : o->p.window);
    json_str(f, o->ocfd);
    /* the daemon's share of cpu_s (null: not known, a daemon not ours) */
    fprintf(f, ", \"daemon_cpu_s\": ");
    json_num(f, r->daemon_cpu[k] >= 0 ? r->daemon_cpu[k] : NAN);
  }
  fprintf(f, ", \"seconds\": ");
  json_num(f, res->elapsed);
  fprintf(f, ", \"ops\": %llu, \"verified\": %s", (unsigned long long)res->ops,
          r->verified > 0 ? "true" : "false");
  fprintf(f, ", \"cpu_s\": ");
  json_num(f, bench_cpu_of(r, k));
  fprintf(f, ", \"eff_ratio\": ");
  json_num(f, bench_eff(r, o, k));
  fprintf(f, ", \"cpus\": %d}", cpus_of(o, k));
}

int bench_write_json(const char *path, const struct row *rows, int nrows, const struct opts *o) {
  FILE *f = open_out(path);
  if (f == NULL) return 1;
  int first = 1;
  fputc('[', f);
  for (int i = 0; i < nrows; i++)
    for (int k = 0; k < NPATH; k++)
      if (rows[i].res[k].ok) json_obj(f, &rows[i], k, o, &first);
  fputs(first ? "]\n" : "\n]\n", f);
  return close_out(f, path);
}

static void csv_num(FILE *f, double v) {
  if (isfinite(v)) fprintf(f, "%.6g", v);
}

int bench_write_csv(const char *path, const struct row *rows, int nrows, const struct opts *o) {
  FILE *f = open_out(path);
  if (f == NULL) return 1;
  fprintf(f,
          "alg,size,path,producer,threads,mbps,ops_per_s,p50_us,p99_us,ratio,seconds,window,"
          "batch,ops,cpu_s,eff_ratio,cpus\n");
  for (int i = 0; i < nrows; i++) {
    const struct row *r = &rows[i];
    for (int k = 0; k < NPATH; k++) {
      const struct bench_result *res = &r->res[k];
      if (!res->ok) continue;
      fprintf(f, "%s,%zu,%s,%s,%d,", r->c->name, r->size, bench_paths[k].name, res->producer,
              o->p.threads);
      csv_num(f, res->mbps);
      fputc(',', f);
      fprintf(f, "%.0f,", res->ops_per_s);
      csv_num(f, res->p50_us);
      fputc(',', f);
      csv_num(f, res->p99_us);
      fputc(',', f);
      if (k != P_DIRECT) csv_num(f, bench_ratio(r, k));
      fputc(',', f);
      csv_num(f, res->elapsed);
      int window = k == P_DIRECT ? 0 : k == P_DEV_SYNC || k == P_DEV_CDEV ? 1 : o->p.window;
      int batch = k == P_OCF || k == P_OCF1 ? o->p.batch : 0;
      fprintf(f, ",%d,%d,%llu,", window, batch, (unsigned long long)res->ops);
      csv_num(f, bench_cpu_of(r, k));
      fputc(',', f);
      csv_num(f, bench_eff(r, o, k));
      fprintf(f, ",%d\n", cpus_of(o, k));
    }
  }
  return close_out(f, path);
}

int bench_plot_rows(const char *dir, const struct row *rows, int nrows, const struct opts *o) {
  struct plot *pl = calloc(1, sizeof(*pl));
  if (pl == NULL) abort();
  snprintf(pl->name, sizeof(pl->name), "bench");
  snprintf(pl->title, sizeof(pl->title), "ocf bench: %d thread%s, %d in flight", o->p.threads,
           o->p.threads == 1 ? "" : "s", o->p.window);
  snprintf(pl->xlabel, sizeof(pl->xlabel), "request size (bytes)");
  snprintf(pl->ylabel, sizeof(pl->ylabel), "Mbit/s");
  pl->logx = pl->logy = 1;
  struct plot_panel *pp = plot_panel_get(pl, "");
  for (int i = 0; i < nrows; i++)
    for (int k = 0; k < NPATH; k++) {
      if (!rows[i].res[k].ok) continue;
      char t[96];
      snprintf(t, sizeof(t), "%.40s, %s", rows[i].c->name, bench_paths[k].title);
      struct plot_series *s = plot_series_get(pp, t);
      if (s && k == P_DIRECT) s->dashed = 1;
      if (s) plot_add(s, (double)rows[i].size, rows[i].res[k].mbps);
    }
  char msg[300];
  int rc = plot_draw(pl, dir, msg, sizeof(msg));
  if (rc != 0)
    fprintf(stderr, "ocf bench: --plot: %s\n", msg);
  else if (!o->quiet)
    fprintf(stderr, "ocf bench: drew %s/bench.svg and %s/bench.png\n", dir, dir);
  free(pl);
  return rc != 0;
}
