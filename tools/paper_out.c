/* paper_out.c - what `ocf bench --figure/--table/--paper` (paper.c) writes:
 * the tables, JSON and CSV, the plots and the Markdown report. */
#define OCF_PAPER_INTERNAL
#include "paper.h"

#include <math.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"
#include "check.h"
#include "plot.h"

/* --- output ------------------------------------------------------------------- */

void pap_fmt(char *b, size_t n, double v, int prec) {
  if (isfinite(v))
    snprintf(b, n, "%.*f", prec, v);
  else
    snprintf(b, n, "-");
}

/* series_list collects the distinct series of exp in first-seen order. */
static int series_list(const struct results *res, const char *exp, const char **out, int max) {
  int n = 0;
  for (int i = 0; i < res->n; i++) {
    if (strcmp(res->v[i].exp, exp) != 0) continue;
    int seen = 0;
    for (int k = 0; k < n && !seen; k++) seen = strcmp(out[k], res->v[i].series) == 0;
    if (!seen && n < max) out[n++] = res->v[i].series;
  }
  return n;
}

static const struct point *find(const struct results *res, const char *exp, const char *series,
                                const char *alg, size_t size, int threads) {
  for (int i = 0; i < res->n; i++) {
    const struct point *p = &res->v[i];
    if (strcmp(p->exp, exp) == 0 && (!series || strcmp(p->series, series) == 0) &&
        (!alg || strcmp(p->alg, alg) == 0) && p->size == size &&
        (threads < 0 || p->threads == threads))
      return p;
  }
  return NULL;
}

/* print_fig1 writes one table per algorithm: sizes down, series across.
 * md: Markdown pipes. */
static void print_fig1(FILE *f, const struct results *res, int md) {
  const char *all[24];
  int nall = series_list(res, "fig1", all, 24);
  if (nall == 0) return;
  for (int a = 0; a < 5; a++) {
    /* only the series that served this algorithm */
    const char *ser[24];
    int ns = 0;
    for (int k = 0; k < nall; k++) {
      int has = 0;
      for (int i = 0; i < res->n && !has; i++)
        has = strcmp(res->v[i].exp, "fig1") == 0 && strcmp(res->v[i].series, all[k]) == 0 &&
              strcmp(res->v[i].alg, fig1_algs[a]) == 0;
      if (has) ser[ns++] = all[k];
    }
    if (ns == 0) continue;
    fprintf(f, md ? "\n**%s** (Mbit/s)\n\n| bytes |" : "\n%s, Mbit/s\n%7s", fig1_algs[a], "bytes");
    for (int s = 0; s < ns; s++) fprintf(f, md ? " %s |" : " %22.22s", ser[s]);
    fputc('\n', f);
    if (md) {
      fprintf(f, "|---:|");
      for (int s = 0; s < ns; s++) fprintf(f, "---:|");
      fputc('\n', f);
    }
    size_t sizes[] = {16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384};
    for (int si = 0; si < 11; si++) {
      if (!find(res, "fig1", NULL, fig1_algs[a], sizes[si], -1)) continue;
      fprintf(f, md ? "| %zu |" : "%7zu", sizes[si]);
      for (int s = 0; s < ns; s++) {
        const struct point *p = find(res, "fig1", ser[s], fig1_algs[a], sizes[si], -1);
        char b[32];
        pap_fmt(b, sizeof(b), p ? p->mbps : NAN, 1);
        fprintf(f, md ? " %s |" : " %22s", b);
      }
      fputc('\n', f);
    }
  }
}

/* print_fig23: one row per series, modulus sizes across, then the targets. */
static void print_fig23(FILE *f, const struct results *res, const char *exp, int md) {
  const char *ser[48];
  int ns = series_list(res, exp, ser, 48);
  if (ns == 0) return;
  int fig2 = strcmp(exp, "fig2") == 0;
  static const int bits[] = {512, 768, 1024, 1536, 2048, 3072, 4096};
  int have[7], nh = 0;
  for (int b = 0; b < 7; b++)
    if (find(res, exp, NULL, NULL, (size_t)bits[b], -1)) have[nh++] = bits[b];
  if (md)
    fprintf(f, "\n| %s, operations/s |", fig2 ? "RSA sign" : "RSA verify (e = 65537)");
  else
    fprintf(f, "\n%s, operations/s\n%-34s", fig2 ? "RSA sign" : "RSA verify (e = 65537)",
            "series / modulus bits");
  for (int b = 0; b < nh; b++) fprintf(f, md ? " %d |" : " %9d", have[b]);
  fputc('\n', f);
  if (md) {
    fprintf(f, "|---|");
    for (int b = 0; b < nh; b++) fprintf(f, "---:|");
    fputc('\n', f);
  }
  for (int s = 0; s < ns; s++) {
    fprintf(f, md ? "| %s |" : "%-34.34s", ser[s]);
    for (int b = 0; b < nh; b++) {
      const struct point *p = find(res, exp, ser[s], NULL, (size_t)have[b], -1);
      char v[32];
      pap_fmt(v, sizeof(v), p ? p->ops_per_s : NAN, 0);
      fprintf(f, md ? " %s |" : " %9s", v);
    }
    fputc('\n', f);
  }
  if (!fig2) return;
  const char *br = md ? "\n" : "";
  const struct point *so = find(res, exp, "software (soft) CRT", NULL, 2048, 1);
  const struct point *os = find(res, exp, "OpenSSL direct", NULL, 2048, 1);
  if (so && os && isfinite(so->vs_direct)) {
    double pct = 100.0 * so->vs_direct;
    fprintf(f,
            "%sTarget: software RSA-2048 CRT signatures through the framework, one thread: "
            "%.0f/s against OpenSSL's own %.0f/s, median of %d alternating rounds in the same "
            "run: %.1f%%; >= 95%%: %s\n",
            br, so->ops_per_s, os->ops_per_s, ROUNDS_PK, pct, pct >= 95 ? "met" : "NOT met");
  }
  const struct point *bc = NULL;
  char want[64];
  snprintf(want, sizeof(want), "Broadcom 5820 CRT, %d in flight", PK_WINDOW);
  bc = find(res, exp, want, NULL, 1024, 1);
  if (bc && isfinite(bc->ops_per_s)) {
    double pct = 100.0 * bc->ops_per_s / 800;
    fprintf(f,
            "%sTarget: modeled Broadcom 5820, RSA-1024 CRT signatures, %d in flight: %.1f/s = "
            "%.1f%% of its rated 800/s (model peak %.1f/s, %s mode); within 5%%: %s\n",
            br, PK_WINDOW, bc->ops_per_s, pct, bc->peak_ops, bc->mode,
            fabs(pct - 100) <= 5 ? "met" : "NOT met");
  }
  const struct point *b1 = find(res, exp, "Broadcom 5820 CRT", NULL, 1024, 1);
  const struct point *bn = find(res, exp, "Broadcom 5820 no CRT", NULL, 1024, 1);
  if (b1 && bn)
    fprintf(f,
            "%sOne request at a time the same card gives %.0f/s with CRT and %.0f/s without "
            "(the paper: \"slightly over 100\", one blocked thread, no CRT).\n",
            br, b1->ops_per_s, bn->ops_per_s);
}

static void print_fig4(FILE *f, const struct results *res, int md) {
  const char *ser[8];
  int ns = series_list(res, "fig4", ser, 8);
  if (ns == 0) return;
  fprintf(f, md ? "\n| crypto threads |" : "\nhog elapsed time, seconds\n%8s", "threads");
  for (int s = 0; s < ns; s++) fprintf(f, md ? " %s |" : " %24.24s", ser[s]);
  fputc('\n', f);
  if (md) {
    fprintf(f, "|---:|");
    for (int s = 0; s < ns; s++) fprintf(f, "---:|");
    fputc('\n', f);
  }
  for (int t = 0; t <= 24; t++) {
    int any = 0;
    for (int i = 0; i < res->n; i++)
      any |= strcmp(res->v[i].exp, "fig4") == 0 && res->v[i].threads == t;
    if (!any) continue;
    fprintf(f, md ? "| %d |" : "%8d", t);
    for (int s = 0; s < ns; s++) {
      const struct point *p = NULL;
      for (int i = 0; i < res->n && !p; i++)
        if (strcmp(res->v[i].exp, "fig4") == 0 && strcmp(res->v[i].series, ser[s]) == 0 &&
            res->v[i].threads == t)
          p = &res->v[i];
      /* the idle baseline (0 threads) belongs to every series */
      if (p == NULL && t == 0)
        for (int i = 0; i < res->n && !p; i++)
          if (strcmp(res->v[i].exp, "fig4") == 0 && res->v[i].threads == 0) p = &res->v[i];
      char v[32];
      pap_fmt(v, sizeof(v), p ? p->hog_s : NAN, 3);
      fprintf(f, md ? " %s |" : " %24s", v);
    }
    fputc('\n', f);
  }
}

static void print_table(FILE *f, const struct results *res, int which, int md) {
  const char *exp = which == 1 ? "table1" : "table2";
  if (!find(res, exp, NULL, NULL, 16, 1)) return;
  fprintf(
      f, md ? "\n| threads |" : "\nTable %d: 3DES Mbit/s, ours / paper's (%s)\n%7s", which,
      which == 1 ? "four Hifn 7751, PCI 64-bit/66 MHz" : "four Broadcom 5820, PCI 64-bit/66 MHz",
      "threads");
  if (md) {
    for (int s = 0; s < 6; s++) fprintf(f, " %zu B |", tab_sizes[s]);
    fprintf(f, "\n|---:|");
    for (int s = 0; s < 6; s++) fprintf(f, "---:|");
  } else {
    for (int s = 0; s < 6; s++) fprintf(f, " %15zu", tab_sizes[s]);
  }
  fputc('\n', f);
  for (int t = 0; t < 5; t++) {
    fprintf(f, md ? "| %d |" : "%7d", tab_threads[t]);
    for (int s = 0; s < 6; s++) {
      const struct point *p = find(res, exp, NULL, NULL, tab_sizes[s], tab_threads[t]);
      char a[32], b[32], cell[80];
      pap_fmt(a, sizeof(a), p ? p->mbps : NAN, 1);
      pap_fmt(b, sizeof(b), p ? p->paper : NAN, 1);
      snprintf(cell, sizeof(cell), "%s / %s", a, b);
      fprintf(f, md ? " %s |" : " %15s", cell);
    }
    fputc('\n', f);
  }
  /* the same cells as a share of the modeled aggregate peak */
  fprintf(f,
          md ? "\n*%% of the modeled aggregate peak* (last row: the peak, Mbit/s)\n\n| threads |"
             : "%% of the modeled aggregate peak\n%7s",
          "threads");
  if (md) {
    for (int s = 0; s < 6; s++) fprintf(f, " %zu B |", tab_sizes[s]);
    fprintf(f, "\n|---:|");
    for (int s = 0; s < 6; s++) fprintf(f, "---:|");
  } else {
    for (int s = 0; s < 6; s++) fprintf(f, " %15zu", tab_sizes[s]);
  }
  fputc('\n', f);
  for (int t = 0; t <= 5; t++) {
    if (t < 5)
      fprintf(f, md ? "| %d |" : "%7d", tab_threads[t]);
    else
      fprintf(f, md ? "| peak |" : "%7s", "peak");
    for (int s = 0; s < 6; s++) {
      const struct point *p = find(res, exp, NULL, NULL, tab_sizes[s], t < 5 ? tab_threads[t] : 1);
      char a[32];
      double v = p == NULL ? NAN : t < 5 ? 100.0 * p->mbps / p->peak_mbps : p->peak_mbps;
      pap_fmt(a, sizeof(a), v, 1);
      fprintf(f, md ? " %s |" : " %15s", a);
    }
    fputc('\n', f);
  }
  const struct point *u = find(res, exp, NULL, NULL, 16384, 32);
  if (u && isfinite(u->mbps) && u->peak_mbps > 0) {
    double pct = 100.0 * u->mbps / u->peak_mbps;
    fprintf(f,
            "%sUtilization at 16 KB, 32 threads: %.1f of %.1f Mbit/s = %.1f%% of the modeled "
            "peak (%s mode); target >= 95%% (paper: 96%%), aim 98%%: %s\n",
            md ? "\n" : "", u->mbps, u->peak_mbps, pct, u->mode[0] ? u->mode : "?",
            pct >= 98   ? "met, aim reached"
            : pct >= 95 ? "met"
                        : "NOT met");
  }
}

void pap_print_all(FILE *f, const struct run *R, int md) {
  print_fig1(f, &R->res, md);
  print_fig23(f, &R->res, "fig2", md);
  print_fig23(f, &R->res, "fig3", md);
  print_fig4(f, &R->res, md);
  print_table(f, &R->res, 1, md);
  print_table(f, &R->res, 2, md);
  pap_print_hetero(f, &R->res, md);
  pap_print_dedicated(f, &R->res, md);
}

/* pct_of_peak: the measured rate as a share of the point's peak (NAN if none). */
static double pct_of_peak(const struct point *p) {
  if (p->peak_mbps > 0 && isfinite(p->mbps)) return 100.0 * p->mbps / p->peak_mbps;
  if (p->peak_ops > 0 && isfinite(p->ops_per_s)) return 100.0 * p->ops_per_s / p->peak_ops;
  return NAN;
}

int pap_write_json(const char *path, const struct results *res) {
  FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
  if (f == NULL) {
    fprintf(stderr, "ocf bench: cannot write %s: %s\n", path, strerror(errno));
    return 1;
  }
  fputc('[', f);
  for (int i = 0; i < res->n; i++) {
    const struct point *p = &res->v[i];
    fprintf(f, "%s\n  {\"experiment\": \"%s\", \"series\": ", i ? "," : "", p->exp);
    json_str(f, p->series);
    fprintf(f, ", \"alg\": ");
    json_str(f, p->alg);
    fprintf(f, ", \"size\": %zu, \"path\": \"%s\", \"producer\": ", p->size, p->path);
    json_str(f, p->producer);
    fprintf(f, ", \"threads\": %d, \"mbps\": ", p->threads);
    json_num(f, p->mbps);
    fprintf(f, ", \"ops_per_s\": ");
    json_num(f, p->ops_per_s);
    fprintf(f, ", \"p50_us\": ");
    json_num(f, p->p50_us);
    fprintf(f, ", \"p99_us\": ");
    json_num(f, p->p99_us);
    fprintf(f, ", \"hog_s\": ");
    json_num(f, p->hog_s);
    fprintf(f, ", \"paper\": ");
    json_num(f, p->paper);
    fprintf(f, ", \"window\": %d, \"mode\": ", p->window);
    if (p->mode[0])
      json_str(f, p->mode);
    else
      fputs("null", f);
    fprintf(f, ", \"peak_mbps\": ");
    json_num(f, p->peak_mbps);
    fprintf(f, ", \"peak_ops_per_s\": ");
    json_num(f, p->peak_ops);
    fprintf(f, ", \"pct_of_peak\": ");
    json_num(f, pct_of_peak(p));
    fprintf(f, ", \"cpu_cores\": ");
    json_num(f, p->cpu_cores);
    fprintf(f, ", \"vs_direct\": ");
    json_num(f, p->vs_direct);
    fputc('}', f);
  }
  fputs(res->n ? "\n]\n" : "]\n", f);
  int bad = ferror(f);
  if (f != stdout) bad |= fclose(f) != 0;
  return bad;
}

static void csv_val(FILE *f, double v) {
  if (isfinite(v)) fprintf(f, "%.6g", v);
}

int pap_write_csv(const char *path, const struct results *res) {
  FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
  if (f == NULL) {
    fprintf(stderr, "ocf bench: cannot write %s: %s\n", path, strerror(errno));
    return 1;
  }
  fprintf(f,
          "experiment,series,alg,size,path,producer,threads,mbps,ops_per_s,p50_us,p99_us,"
          "hog_s,paper,window,mode,peak_mbps,peak_ops_per_s,pct_of_peak,cpu_cores,vs_direct\n");
  for (int i = 0; i < res->n; i++) {
    const struct point *p = &res->v[i];
    fprintf(f, "%s,\"%s\",%s,%zu,%s,\"%s\",%d,", p->exp, p->series, p->alg, p->size, p->path,
            p->producer, p->threads);
    double v[6] = {p->mbps, p->ops_per_s, p->p50_us, p->p99_us, p->hog_s, p->paper};
    for (int k = 0; k < 6; k++) {
      csv_val(f, v[k]);
      fputc(',', f);
    }
    fprintf(f, "%d,%s,", p->window, p->mode);
    double w[5] = {p->peak_mbps, p->peak_ops, pct_of_peak(p), p->cpu_cores, p->vs_direct};
    for (int k = 0; k < 5; k++) {
      csv_val(f, w[k]);
      fputc(k < 4 ? ',' : '\n', f);
    }
  }
  int bad = ferror(f);
  if (f != stdout) bad |= fclose(f) != 0;
  return bad;
}

/* --- plots -------------------------------------------------------------------- */

int pap_draw(struct run *R, struct plot *pl) {
  char msg[300];
  int any = 0;
  for (int i = 0; i < pl->npanels; i++)
    for (int k = 0; k < pl->p[i].nseries; k++)
      any |= pl->p[i].s[k].npts > 0 && !pl->p[i].s[k].dashed; /* dashed: the paper's */
  if (!any) return 0;
  if (plot_draw(pl, R->plotdir, msg, sizeof(msg)) != 0) {
    fprintf(stderr, "ocf bench: --plot: %s\n", msg);
    return 1;
  }
  if (!R->po->quiet) fprintf(stderr, "ocf bench: drew %s/%s.svg and .png\n", R->plotdir, pl->name);
  return 0;
}

/* short_label: a figure 2-3 series for a legend, without its window and with
 * short producer names, so the key leaves room for the plot. */
static void short_label(char *out, size_t n, const char *series) {
  static const char *const from[] = {"software (soft)", "Broadcom ", "Hifn ", "OpenSSL direct"};
  static const char *const to[] = {"soft", "bcm", "hifn", "OpenSSL"};
  char tmp[64];
  snprintf(tmp, sizeof(tmp), "%.*s", (int)strcspn(series, ","), series);
  out[0] = 0;
  for (const char *p = tmp; *p;) {
    size_t k = 0;
    while (k < 4 && strncmp(p, from[k], strlen(from[k])) != 0) k++;
    size_t l = strlen(out);
    if (k < 4) {
      snprintf(out + l, n - l, "%s", to[k]);
      p += strlen(from[k]);
    } else if (l + 1 < n) {
      out[l] = *p++;
      out[l + 1] = 0;
    } else {
      break;
    }
  }
}

int pap_plots(struct run *R) {
  int bad = 0;
  struct plot *pl = calloc(1, sizeof(*pl));
  if (pl == NULL) abort();
  const struct results *res = &R->res;
  /* figure 1: one panel per algorithm */
  snprintf(pl->name, sizeof(pl->name), "fig1");
  snprintf(pl->title, sizeof(pl->title),
           "Figure 1: throughput vs request size (one consumer thread)");
  snprintf(pl->xlabel, sizeof(pl->xlabel), "request size (bytes)");
  snprintf(pl->ylabel, sizeof(pl->ylabel), "Mbit/s");
  pl->logx = pl->logy = 1;
  snprintf(pl->key, sizeof(pl->key), "bottom right");
  for (int a = 0; a < 5; a++) plot_panel_get(pl, fig1_algs[a]);
  /* one colour per producer: blocking solid, 64 in flight dashed */
  char prods[8][64];
  int nprods = 0;
  for (int i = 0; i < res->n; i++) {
    const struct point *p = &res->v[i];
    if (strcmp(p->exp, "fig1") != 0) continue;
    struct plot_panel *pp = plot_panel_get(pl, p->alg);
    struct plot_series *s = pp ? plot_series_get(pp, p->series) : NULL;
    if (s == NULL) continue;
    char prod[64];
    snprintf(prod, sizeof(prod), "%.*s", (int)strcspn(p->series, ","), p->series);
    int k = 0;
    while (k < nprods && strcmp(prods[k], prod) != 0) k++;
    if (k == nprods && nprods < 8) snprintf(prods[nprods++], sizeof(prods[0]), "%s", prod);
    s->ls = strcmp(p->path, "direct") == 0 ? 8 : k % 7 + 1;
    s->dashed = strstr(p->series, "in flight") != NULL;
    plot_add(s, (double)p->size, p->mbps);
  }
  bad |= pap_draw(R, pl);
  /* figures 2 and 3: one panel for one request at a time, one for many */
  for (int k = 2; k <= 3; k++) {
    memset(pl, 0, sizeof(*pl));
    snprintf(pl->name, sizeof(pl->name), "fig%d", k);
    snprintf(pl->title, sizeof(pl->title), "Figure %d: RSA %s per second", k,
             k == 2 ? "signatures" : "verifications (e = 65537)");
    snprintf(pl->xlabel, sizeof(pl->xlabel), "modulus (bits)");
    snprintf(pl->ylabel, sizeof(pl->ylabel), "operations/s");
    pl->logx = pl->logy = 1;
    snprintf(pl->key, sizeof(pl->key), "outside right top");
    char one[64], many[64];
    snprintf(one, sizeof(one), "one request at a time (1 thread)");
    snprintf(many, sizeof(many), "%d in flight (OpenSSL: one thread per core)", PK_WINDOW);
    struct plot_panel *p1 = plot_panel_get(pl, one), *pm = plot_panel_get(pl, many);
    char exp[8];
    snprintf(exp, sizeof(exp), "fig%d", k);
    /* one colour per producer, CRT solid, no CRT dashed */
    char prods[12][32];
    int nprods = 0;
    for (int i = 0; i < res->n; i++) {
      const struct point *p = &res->v[i];
      if (strcmp(p->exp, exp) != 0) continue;
      int manyp = p->window > 1 || p->threads > 1;
      /* legend: the series without its window; colour: the producer */
      char title[64], prod[32];
      short_label(title, sizeof(title), p->series);
      snprintf(prod, sizeof(prod), "%.31s", title);
      char *cut = strstr(prod, " no CRT");
      if (cut == NULL) cut = strstr(prod, " CRT");
      if (cut) *cut = 0;
      int c = 0;
      while (c < nprods && strcmp(prods[c], prod) != 0) c++;
      if (c == nprods && nprods < 12) snprintf(prods[nprods++], sizeof(prods[0]), "%s", prod);
      struct plot_series *ps = plot_series_get(manyp ? pm : p1, title);
      if (ps == NULL) continue;
      ps->ls = strncmp(prod, "OpenSSL", 7) == 0 ? 8 : c % 7 + 1;
      ps->dashed = strstr(p->series, "no CRT") != NULL;
      plot_add(ps, (double)p->size, p->ops_per_s);
    }
    if (k == 2) {
      struct plot_series *s = plot_series_get(p1, "paper: bcm5820 no CRT");
      if (s) s->dashed = 1;
      plot_add(s, 1024, 100);
      s = plot_series_get(pm, "rated: bcm5820");
      if (s) s->dashed = 1;
      plot_add(s, 1024, 800);
    }
    bad |= pap_draw(R, pl);
  }
  /* figure 4 */
  memset(pl, 0, sizeof(*pl));
  snprintf(pl->name, sizeof(pl->name), "fig4");
  snprintf(pl->title, sizeof(pl->title),
           "Figure 4: CPU-bound process elapsed time while threads do crypto");
  snprintf(pl->xlabel, sizeof(pl->xlabel), "crypto threads");
  snprintf(pl->ylabel, sizeof(pl->ylabel), "hog elapsed time (s)");
  struct plot_panel *pp = plot_panel_get(pl, "");
  double base = NAN;
  for (int i = 0; i < res->n; i++)
    if (strcmp(res->v[i].exp, "fig4") == 0 && res->v[i].threads == 0) base = res->v[i].hog_s;
  for (int i = 0; i < res->n; i++) {
    const struct point *p = &res->v[i];
    if (strcmp(p->exp, "fig4") != 0 || p->threads == 0) continue;
    struct plot_series *s = plot_series_get(pp, p->series);
    if (s && s->npts == 0 && isfinite(base)) plot_add(s, 0, base);
    plot_add(s, p->threads, p->hog_s);
  }
  bad |= pap_draw(R, pl);
  /* tables 1 and 2: one line per thread count, ours solid, the paper's dashed */
  for (int k = 1; k <= 2; k++) {
    memset(pl, 0, sizeof(*pl));
    snprintf(pl->name, sizeof(pl->name), "table%d", k);
    snprintf(pl->title, sizeof(pl->title), "Table %d: 3DES over four %s cards (dashed: the paper)",
             k, k == 1 ? "Hifn 7751" : "Broadcom 5820");
    snprintf(pl->xlabel, sizeof(pl->xlabel), "request size (bytes)");
    snprintf(pl->ylabel, sizeof(pl->ylabel), "Mbit/s");
    pl->logx = 1;
    pp = plot_panel_get(pl, "");
    char exp[8];
    snprintf(exp, sizeof(exp), "table%d", k);
    for (int t = 0; t < 5; t++) {
      char title[64];
      snprintf(title, sizeof(title), "%d thread%s", tab_threads[t], tab_threads[t] == 1 ? "" : "s");
      struct plot_series *s = plot_series_get(pp, title);
      snprintf(title, sizeof(title), "paper, %d thread%s", tab_threads[t],
               tab_threads[t] == 1 ? "" : "s");
      struct plot_series *ps = plot_series_get(pp, title);
      if (ps) ps->dashed = 1;
      if (s) s->ls = t + 1;
      if (ps) ps->ls = t + 1;
      for (int si = 0; si < 6; si++) {
        const struct point *p = find(res, exp, NULL, NULL, tab_sizes[si], tab_threads[t]);
        if (p) plot_add(s, (double)tab_sizes[si], p->mbps);
        if (p) plot_add(ps, (double)tab_sizes[si], p->paper);
      }
    }
    bad |= pap_draw(R, pl);
  }
  free(pl);
  return bad;
}

/* --- the report ---------------------------------------------------------------- */

static void machine(FILE *f) {
  char model[256] = "unknown", line[512];
  FILE *c = fopen("/proc/cpuinfo", "r");
  while (c && fgets(line, sizeof(line), c))
    if (strncmp(line, "model name", 10) == 0) {
      char *p = strchr(line, ':');
      if (p) {
        p += 2;
        p[strcspn(p, "\n")] = 0;
        snprintf(model, sizeof(model), "%s", p);
      }
      break;
    }
  if (c) fclose(c);
  long mem_kb = 0;
  FILE *m = fopen("/proc/meminfo", "r");
  while (m && fgets(line, sizeof(line), m))
    if (sscanf(line, "MemTotal: %ld kB", &mem_kb) == 1) break;
  if (m) fclose(m);
  struct utsname u;
  uname(&u);
  fprintf(f,
          "| | |\n|---|---|\n| CPU | %s |\n| cores online | %ld |\n| memory | %.1f GiB |\n"
          "| kernel | %s %s %s |\n| OpenSSL | %s |\n| libocf | %s |\n",
          model, sysconf(_SC_NPROCESSORS_ONLN), (double)mem_kb / 1048576.0, u.sysname, u.release,
          u.machine, OpenSSL_version(OPENSSL_VERSION), OCF_VERSION);
}

int pap_report(struct run *R, const char *path, const char *imgrel) {
  FILE *f = fopen(path, "w");
  if (f == NULL) {
    fprintf(stderr, "ocf bench: cannot write %s: %s\n", path, strerror(errno));
    return 1;
  }
  time_t now = time(NULL);
  char when[64];
  strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", gmtime(&now));
  fprintf(
      f,
      "# The paper's evaluation, reproduced\n\n"
      "Written by `ocf bench --paper%s` on %s. The paper is *The Design of the OpenBSD "
      "Cryptographic Framework* (Keromytis, Wright, de Raadt; USENIX 2003), section 5; "
      "its testbed was a 1.4 GHz Pentium III running the framework in the kernel. Here the "
      "framework runs in one process, and the crypto cards are models (`src/drivers/sim`, "
      "in *timing* mode: they move the data and keep the time of the card, PCI bus and "
      "interrupts, but do not compute), so the card figures are only as right as the models.\n\n"
      "## Machine\n\n",
      R->po->full ? " --full" : "", when);
  machine(f);
  fprintf(f, "\nEach measurement ran %.2f s.\n", R->secs);

  fprintf(f,
          "\n## Figure 1: throughput vs request size\n\n"
          "`ocf bench --figure 1`. One consumer thread; *blocking* waits for each request "
          "(`ocf_run`) as the paper's "
          "/dev/crypto process did, *64 in flight* keeps a window of asynchronous requests. The "
          "paper reports "
          "for its NULL algorithm about 420 Mbit/s at 1024 bytes and about 600 Mbit/s at "
          "8192 bytes, software DES close to NULL for small requests and 3DES at half of it, "
          "and hardware cards slower than software for small requests but ahead for large "
          "ones.\n\n![Figure 1](%sfig1.png)\n",
          imgrel);
  print_fig1(f, &R->res, 1);
  fprintf(f,
          "\n## Figures 2 and 3: RSA signatures and verifications per second\n\n"
          "`ocf bench --figure 2` and `--figure 3`. Each producer alone (the framework is "
          "restarted with one card model, or with the software producer only), with one request "
          "at a time (one thread blocking in `ocf_krun`, as the paper's test) and with %d "
          "asynchronous requests in flight (`ocf_kdispatch`; the rate counts from the first "
          "completion to the last). Signatures with CRT use MOD_EXP_CRT; *no CRT* is MOD_EXP "
          "with the full private exponent, as the paper's engine did (one reason it gives for "
          "seeing slightly over 100 RSA-1024 signatures/s on the Broadcom 5820 where the vendor "
          "claims 800). Verifications are MOD_EXP with e = 65537. *OpenSSL RSA* is OpenSSL's own "
          "raw RSA (`EVP_PKEY_sign` / `EVP_PKEY_verify_recover` without padding: CRT, blinding "
          "and its fault check included), measured in the same run, one thread in rounds "
          "alternating with the software producer's, and one thread per core. The paper found "
          "software signing faster than the cards, and the Hifn 6500 and 7814 much slower than "
          "software.\n\n"
          "![Figure 2](%sfig2.png)\n",
          PK_WINDOW, imgrel);
  print_fig23(f, &R->res, "fig2", 1);
  fprintf(f, "\n![Figure 3](%sfig3.png)\n", imgrel);
  print_fig23(f, &R->res, "fig3", 1);
  fprintf(f,
          "\n## Figure 4: system-wide effect\n\n"
          "`ocf bench --figure 4`. A separate CPU-bound process (a fixed number of function calls, "
          "each an integer "
          "multiply) runs while N threads of this process do crypto: DES and 3DES on 1 KB "
          "requests, DSA-1024 signatures. The paper saw the hog's time grow with the threads in "
          "software and stay constant with the crypto offloaded.\n\n![Figure 4](%sfig4.png)\n",
          imgrel);
  print_fig4(f, &R->res, 1);
  fprintf(f,
          "\n## Tables 1 and 2: load balancing over four cards\n\n"
          "`ocf bench --table 1` and `--table 2`. 3DES encryption, each thread blocking on its "
          "request; cells are *ours / the paper's* Mbit/s, and below, ours as a share of the "
          "modeled aggregate peak (`ocf_sim_peak_mbps`: each card's engine, setup plus "
          "size / rate, limited by the shared bus). The paper's text gives Table 2's rows for 1 "
          "and 32 threads only.\n\n"
          "**Table 1**: four Hifn 7751 on a 64-bit/66 MHz PCI bus\n\n![Table 1](%stable1.png)\n",
          imgrel);
  print_table(f, &R->res, 1, 1);
  fprintf(
      f,
      "\n**Table 2**: four Broadcom 5820 on a 64-bit/66 MHz PCI bus\n\n![Table 2](%stable2.png)\n",
      imgrel);
  print_table(f, &R->res, 2, 1);
  fprintf(
      f,
      "\n## Beyond the paper: a heterogeneous set and two balancing policies\n\n"
      "`ocf bench --experiment hetero`. One Broadcom 5820 (PCI 64-bit) and two Hifn 7751 "
      "(sharing a 32-bit PCI bus) modeled in timing mode, the software producer and the "
      "dedicated-core producer (`cpu`, one worker per core), 3DES on 16 KB requests, "
      "eight consumer threads with 16 requests in flight each. Every producer is measured "
      "alone first, in a framework instance of its own, then soft and cpu together, then the whole "
      "set under the paper's `sessions` policy and under `capacity` (each request to the "
      "producer expected to finish it first; sessions replicated). Indented rows show "
      "where the bytes went. Soft and cpu run on the same cores of this host, so the "
      "summed capacity counts them together, not each alone.\n");
  pap_print_hetero(f, &R->res, 1);
  fprintf(f,
          "\n## Beyond the paper: dedicated cores\n\n"
          "`ocf bench --experiment dedicated`. The paper's section 6.4 idea: one consumer "
          "thread hands AES-128-GCM 16 KB requests to the `cpu` producer, whose worker "
          "threads (one per core) do the crypto, against the software producer run inline "
          "in the consumer's thread (`OCF_REQ_INLINE`) or through the framework's workers "
          "with `ocf_run`, and direct OpenSSL. *CPU cores busy* is the process's CPU time "
          "over the wall time.\n");
  pap_print_dedicated(f, &R->res, 1);
  if (R->nnotes) {
    fprintf(f, "\n## Notes\n\n");
    for (int i = 0; i < R->nnotes; i++) fprintf(f, "- %s\n", R->notes[i]);
  }
  fprintf(f, "\nRaw data: `results.json` and `results.csv` next to this file.\n");
  int bad = ferror(f);
  bad |= fclose(f) != 0;
  return bad;
}

