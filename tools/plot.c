/* plot.c - gnuplot output of `ocf bench --plot DIR`.  The data go into one
 * file, one gnuplot "index" block per series, so that the script stays
 * readable and can be edited and re-run by hand. */
#include "plot.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct plot_series *plot_series_get(struct plot_panel *panel, const char *title) {
  for (int i = 0; i < panel->nseries; i++)
    if (strcmp(panel->s[i].title, title) == 0) return &panel->s[i];
  if (panel->nseries == PLOT_MAX_SERIES) return NULL;
  struct plot_series *s = &panel->s[panel->nseries++];
  memset(s, 0, sizeof(*s));
  snprintf(s->title, sizeof(s->title), "%s", title);
  return s;
}

struct plot_panel *plot_panel_get(struct plot *pl, const char *title) {
  for (int i = 0; i < pl->npanels; i++)
    if (strcmp(pl->p[i].title, title) == 0) return &pl->p[i];
  if (pl->npanels == PLOT_MAX_PANELS) return NULL;
  struct plot_panel *p = &pl->p[pl->npanels++];
  memset(p, 0, sizeof(*p));
  snprintf(p->title, sizeof(p->title), "%s", title);
  return p;
}

void plot_add(struct plot_series *s, double x, double y) {
  if (s == NULL || !isfinite(x) || !isfinite(y) || s->npts == PLOT_MAX_PTS) return;
  s->x[s->npts] = x;
  s->y[s->npts] = y;
  s->npts++;
}

int plot_have_gnuplot(void) { return system("command -v gnuplot >/dev/null 2>&1") == 0; }

/* gp_str writes s as a gnuplot double-quoted string. */
static void gp_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

static void write_panels(FILE *f, const struct plot *pl, const char *datname) {
  int block = 0;
  if (pl->npanels > 1) {
    int cols = pl->npanels <= 2 ? pl->npanels : pl->npanels <= 4 ? 2 : 3;
    int rows = (pl->npanels + cols - 1) / cols;
    fprintf(f, "set multiplot layout %d,%d title ", rows, cols);
    gp_str(f, pl->title);
    fprintf(f, " font \",14\"\n");
  } else {
    fprintf(f, "set title ");
    gp_str(f, pl->title);
    fputc('\n', f);
  }
  for (int i = 0; i < pl->npanels; i++) {
    const struct plot_panel *p = &pl->p[i];
    if (pl->npanels > 1) {
      fprintf(f, "set title ");
      gp_str(f, p->title);
      fputc('\n', f);
    }
    int any = 0;
    for (int k = 0; k < p->nseries; k++) any |= p->s[k].npts > 0;
    if (!any) {
      /* an empty panel still takes its place in the layout */
      fprintf(f,
              "set label 1 \"no data\" at graph 0.5,0.5 center\nplot NaN notitle\nunset label 1\n");
      continue;
    }
    fprintf(f, "plot ");
    int first = 1;
    for (int k = 0; k < p->nseries; k++) {
      const struct plot_series *s = &p->s[k];
      if (s->npts == 0) {
        continue;
      }
      fprintf(f, "%s\\\n  \"%s\" index %d using 1:2 with linespoints ls %d%s title ",
              first ? "" : ", ", datname, block + k, s->ls ? s->ls : k % 8 + 1,
              s->dashed ? " dt 2" : "");
      gp_str(f, s->title);
      first = 0;
    }
    fputc('\n', f);
    block += p->nseries;
  }
  if (pl->npanels > 1) fprintf(f, "unset multiplot\n");
}

int plot_draw(const struct plot *pl, const char *dir, char *msg, size_t msglen) {
  char dat[1024], gp[1024];
  if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
    snprintf(msg, msglen, "cannot create %s: %s", dir, strerror(errno));
    return errno;
  }
  snprintf(dat, sizeof(dat), "%s/%s.dat", dir, pl->name);
  snprintf(gp, sizeof(gp), "%s/%s.gp", dir, pl->name);
  FILE *f = fopen(dat, "w");
  if (f == NULL) {
    snprintf(msg, msglen, "cannot write %s: %s", dat, strerror(errno));
    return errno;
  }
  /* every series is one block, even an empty one, so indexes stay fixed */
  for (int i = 0; i < pl->npanels; i++)
    for (int k = 0; k < pl->p[i].nseries; k++) {
      const struct plot_series *s = &pl->p[i].s[k];
      fprintf(f, "# %s / %s\n", pl->p[i].title, s->title);
      for (int j = 0; j < s->npts; j++) fprintf(f, "%.6g %.6g\n", s->x[j], s->y[j]);
      if (s->npts == 0) fprintf(f, "NaN NaN\n");
      fprintf(f, "\n\n");
    }
  fclose(f);
  f = fopen(gp, "w");
  if (f == NULL) {
    snprintf(msg, msglen, "cannot write %s: %s", gp, strerror(errno));
    return errno;
  }
  int wide = pl->npanels > 1;
  int w = wide ? (pl->npanels <= 2 ? 1400 : pl->npanels <= 4 ? 1300 : 1800) : 900;
  int h = wide ? (pl->npanels <= 3 ? 560 : 1000) : 600;
  if (pl->npanels == 2) h = 560;
  fprintf(f,
          "# drawn by `ocf bench --plot`; run `gnuplot %s.gp` in this directory to redraw\n"
          "set datafile missing \"NaN\"\n"
          "set grid\n"
          "set key %s font \",9\" box opaque\n"
          "set style line 1 lc rgb \"#1f77b4\" lw 2 pt 7\n"
          "set style line 2 lc rgb \"#d62728\" lw 2 pt 5\n"
          "set style line 3 lc rgb \"#2ca02c\" lw 2 pt 9\n"
          "set style line 4 lc rgb \"#9467bd\" lw 2 pt 11\n"
          "set style line 5 lc rgb \"#ff7f0e\" lw 2 pt 13\n"
          "set style line 6 lc rgb \"#8c564b\" lw 2 pt 3\n"
          "set style line 7 lc rgb \"#e377c2\" lw 2 pt 1\n"
          "set style line 8 lc rgb \"#17becf\" lw 2 pt 2\n"
          "set xlabel ",
          pl->name, pl->key[0] ? pl->key : "top left");
  gp_str(f, pl->xlabel);
  fprintf(f, "\nset ylabel ");
  gp_str(f, pl->ylabel);
  fputc('\n', f);
  if (pl->logx) fprintf(f, "set logscale x 2\n");
  if (pl->logy) fprintf(f, "set logscale y 10\n");
  if (!pl->logy) fprintf(f, "set yrange [0:*]\n");
  char datname[96];
  snprintf(datname, sizeof(datname), "%s.dat", pl->name);
  fprintf(f, "set terminal svg size %d,%d dynamic font \"sans,11\" background \"white\"\n", w, h);
  fprintf(f, "set output \"%s.svg\"\n", pl->name);
  write_panels(f, pl, datname);
  fprintf(f, "set terminal pngcairo size %d,%d font \"sans,10\" background \"white\"\n", w, h);
  fprintf(f, "set output \"%s.png\"\n", pl->name);
  write_panels(f, pl, datname);
  fprintf(f, "set output\n");
  fclose(f);
  if (!plot_have_gnuplot()) {
    snprintf(msg, msglen, "gnuplot not found (install gnuplot-nox: `make deps`); wrote %s and %s",
             dat, gp);
    return ENOENT;
  }
  char cmd[2200];
  snprintf(cmd, sizeof(cmd), "cd '%s' && gnuplot '%s.gp' 2>'%s.log'", dir, pl->name, pl->name);
  int rc = system(cmd);
  if (rc != 0) {
    snprintf(msg, msglen, "gnuplot failed on %s (see %s/%s.log)", gp, dir, pl->name);
    return EIO;
  }
  char log[1100];
  snprintf(log, sizeof(log), "%s/%s.log", dir, pl->name);
  struct stat sb;
  if (stat(log, &sb) == 0 && sb.st_size == 0) unlink(log);
  return 0;
}
