/* plot.h - figures for `ocf bench --plot`: series of (x, y) points grouped in
 * panels, written as a gnuplot data file and script, drawn as SVG and PNG. */
#ifndef OCF_TOOLS_PLOT_H
#define OCF_TOOLS_PLOT_H

#include <stddef.h>

enum { PLOT_MAX_PTS = 32, PLOT_MAX_SERIES = 24, PLOT_MAX_PANELS = 6 };

struct plot_series {
  char title[64];
  int dashed; /* 1: drawn dashed (the paper's figures) */
  int ls;     /* line style 1..8; 0 = by position */
  int npts;
  double x[PLOT_MAX_PTS], y[PLOT_MAX_PTS];
};

struct plot_panel {
  char title[96];
  int nseries;
  struct plot_series s[PLOT_MAX_SERIES];
};

struct plot {
  char name[32]; /* file stem: DIR/name.{dat,gp,svg,png} */
  char title[160];
  char xlabel[64], ylabel[64];
  int logx, logy;
  char key[32]; /* gnuplot key position; "" = top left */
  int npanels;
  struct plot_panel p[PLOT_MAX_PANELS];
};

/* plot_series_get finds or adds the series title in panel (NULL when full). */
struct plot_series *plot_series_get(struct plot_panel *panel, const char *title);
/* plot_panel_get finds or adds the panel title (NULL when full). */
struct plot_panel *plot_panel_get(struct plot *pl, const char *title);
/* plot_add adds a point (ignored when not finite, or full). */
void plot_add(struct plot_series *s, double x, double y);

/* plot_draw writes DIR/name.dat and DIR/name.gp and runs gnuplot for the SVG
 * and PNG.  Returns 0, or an errno with msg set (e.g. no gnuplot). */
int plot_draw(const struct plot *pl, const char *dir, char *msg, size_t msglen);

/* plot_have_gnuplot tells whether gnuplot is on the PATH. */
int plot_have_gnuplot(void);

#endif /* OCF_TOOLS_PLOT_H */
