/* Figures through PLplot (cairo drivers). A figure is one file, PNG, SVG or PDF chosen by the file
 * extension, holding a grid of panels. Written atomically on close. */
#ifndef LMRNN_PLOT_H
#define LMRNN_PLOT_H

typedef struct LmFigure LmFigure;

/* width/height in pixels (PNG) or the same aspect for SVG/PDF; panels laid out ncols x nrows.
 * NULL + lm_err_set() on unknown extension or unwritable path. */
LmFigure *lm_fig_new(const char *path, int width, int height, int ncols, int nrows);
/* The same for a figure dominated by large heat maps (e.g. N x N matrices): its SVG embeds the images
 * as rasters, at the price of text drawn as outlines (lm_fig_new's SVG has real text but one vector
 * rectangle per cell). PNG and PDF are the same either way. */
LmFigure *lm_fig_new_images(const char *path, int width, int height, int ncols, int nrows);
/* Start panel `index` (0-based, row-major). xmin..ymax give the axes; labels may be NULL. */
void lm_fig_panel(LmFigure *f, int index, double xmin, double xmax, double ymin, double ymax,
                  const char *title, const char *xlabel, const char *ylabel);
/* The same with a logarithmic x axis (xmin, xmax and all x data > 0; other x values are gaps). */
void lm_fig_panel_logx(LmFigure *f, int index, double xmin, double xmax, double ymin, double ymax,
                       const char *title, const char *xlabel, const char *ylabel);
/* Make the current panel's box keep equal units on both axes (square cells for a square matrix).
 * Call right after lm_fig_panel*, before drawing. */
void lm_fig_equal_aspect(LmFigure *f);
/* Colours: index k >= 0 is the k-th colour of a qualitative palette (matplotlib tab10, cycling after
 * 10); a negative index is the neutral grey used for reference lines. */
/* Several line series sharing x; series k drawn in colour k with labels[k] in a legend (labels may be
 * NULL). NaN values break the line; an isolated point is drawn as a dot. Legends collect over all
 * calls in a panel and go where they cover the least drawn data. */
void lm_fig_lines(LmFigure *f, int n_series, int n_points, const double *x, const double *const *ys,
                  const char *const *labels);
/* Scatter markers. */
void lm_fig_points(LmFigure *f, int n, const double *x, const double *y, int colour);
/* The same with open (unfilled) circles. */
void lm_fig_points_open(LmFigure *f, int n, const double *x, const double *y, int colour);
/* Heat map of z[r * cols + c] over the current panel's box (column c -> x, row r -> y); zmin == zmax
 * means auto range; a colour bar is drawn when `colorbar` is set. `diverging` selects a blue-white-red
 * map centred on 0 (for weights) instead of a sequential one. */
void lm_fig_heatmap(LmFigure *f, const float *z, int rows, int cols, double zmin, double zmax,
                    int colorbar, int diverging);
/* Vertical lines at x[i], optionally labelled at the top. */
void lm_fig_vlines(LmFigure *f, int n, const double *x, const char *const *labels);
/* Horizontal reference line. */
void lm_fig_hline(LmFigure *f, double y, int colour);
/* Vertical intervals [lo[i], hi[i]] at x[i] with caps of half-width `cap` (x units), e.g. asymmetric
 * confidence intervals over bars; non-finite intervals are skipped. */
void lm_fig_intervals(LmFigure *f, int n, const double *x, const double *lo, const double *hi, double cap);
/* Bars at positions 0..n-1 with values, optional error bars (err may be NULL), tick labels (may be
 * NULL, drawn rotated), and a colour index per bar (colour may be NULL). */
void lm_fig_bars(LmFigure *f, int n, const double *values, const double *err, const char *const *labels,
                 const int *colour);
/* A short horizontal mark over bar i at height y[i] (NaN: none), in colour `colour`; `label` (may be
 * NULL) names the marks in the legend. */
void lm_fig_bar_marks(LmFigure *f, int n, const double *y, int colour, const char *label);
/* Asymmetric error bars [lo[i], hi[i]] on bar i (e.g. binomial confidence intervals). */
void lm_fig_bar_intervals(LmFigure *f, int n, const double *lo, const double *hi);
/* Free text at data coordinates. */
void lm_fig_text(LmFigure *f, double x, double y, const char *text);
/* One line of small text at the bottom of the page, e.g. which run the figure shows. Call before the
 * first panel so the bottom row leaves room for it. */
void lm_fig_caption(LmFigure *f, const char *text);
/* Reserve in the current panel the right margin a heat map's colour bar takes, so panels stacked under
 * a heat map share its x axis. Call right after lm_fig_panel*, before drawing. */
void lm_fig_reserve_colorbar(LmFigure *f);
/* A legend entry drawn as a filled box in colour `colour` (for bars). */
void lm_fig_legend_box(LmFigure *f, int colour, const char *label);
/* Put the current panel's legend outside its box, on the right (entries must be added before the
 * first drawing call, which reserves the room). */
void lm_fig_legend_outside(LmFigure *f);
/* Labelled spans [start[i], end[i]) of the x axis (e.g. the periods of a trial): a dashed line at each
 * boundary and each label (labels may be NULL) centred over its span, above the box; empty spans get no
 * label. Drawn on top of the data when the panel is finished; call before drawing so the layout leaves
 * room for the labels. */
void lm_fig_spans(LmFigure *f, int n, const double *start, const double *end, const char *const *labels);
/* Finish the file. 0, or -1 with lm_err_set(). Frees the figure either way. */
int lm_fig_close(LmFigure *f);

#endif
