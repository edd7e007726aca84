/* Figures through PLplot's cairo drivers. Each figure owns a PLplot stream (plmkstrm) and selects it
 * before every call, so figures may be interleaved; PLplot itself is not thread-safe.
 *
 * A panel is laid out lazily: lm_fig_panel only records its axes, and the viewport is fixed by the first
 * drawing call, so that a heat map can reserve room for its colour bar and bars for their rotated
 * labels. The frame, ticks, labels and legend are drawn when the panel is finished (next panel or
 * close), on top of the data. The file is written under a temp name and renamed on success. */
#include "plot/plot.h"
#include "io/npz.h"
#include "util/err.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <plplot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* cmap0 layout: 0 background, 1 text and frame, 2 grid, 3..12 series (matplotlib tab10), 13 mid grey */
enum { COL_BG = 0, COL_FG = 1, COL_GRID = 2, COL_SERIES = 3, N_SERIES_COL = 10, COL_REF = 13, N_COL0 = 14 };
static const int cmap0_rgb[N_COL0][3] = {
    {255, 255, 255}, {30, 30, 30},    {225, 225, 225}, {31, 119, 180}, {255, 127, 14},
    {44, 160, 44},   {214, 39, 40},   {148, 103, 189}, {140, 86, 75},  {227, 119, 194},
    {127, 127, 127}, {188, 189, 34},  {23, 190, 207},  {120, 120, 120},
};
/* matplotlib's viridis and RdBu_r sampled at 0, 0.1, ..., 1 (interpolated linearly in RGB) */
static const int viridis_rgb[11][3] = {{68, 1, 84},    {72, 36, 117},  {65, 68, 135},  {53, 95, 141},
                                       {42, 120, 142}, {33, 145, 140}, {34, 168, 132}, {68, 191, 112},
                                       {122, 209, 81}, {189, 223, 38}, {253, 231, 37}};
static const int rdbu_rgb[11][3] = {{5, 48, 97},     {32, 101, 171}, {67, 147, 195}, {144, 196, 221},
                                    {209, 229, 240}, {247, 246, 246}, {253, 219, 199}, {243, 164, 129},
                                    {214, 96, 77},   {177, 24, 43},  {103, 0, 31}};

#define MAX_LEGEND 32
#define MAX_SPANS 16
#define COLORBAR_MARGIN 9.0   /* character heights right of a heat map for its colour bar */

typedef struct {
    int active, committed, index, logx;
    double xmin, xmax, ymin, ymax;     /* world window (x already log10 for log axes) */
    char *title, *xlabel, *ylabel;
    double extra_right, extra_bottom;  /* mm reserved for a colour bar / rotated labels */
    double label_scale;                /* font scale of rotated bar labels */
    int bars, heatmap, vlabels;
    float *occ;                        /* sampled drawn positions, viewport units (legend placement) */
    int n_occ, cap_occ, occ_stride, occ_skip;
    int equal_aspect;
    double vx0, vx1, vy0, vy1;         /* committed viewport, normalised page coordinates */
    int n_legend;
    char *legend_text[MAX_LEGEND];
    int legend_colour[MAX_LEGEND];
    int legend_box[MAX_LEGEND];        /* entry drawn as a filled box (bars) rather than a line */
    int legend_outside;                /* legend to the right of the box, outside it */
    int n_spans;                       /* labelled x spans (lm_fig_spans), drawn at finish */
    double span[MAX_SPANS][2];
    char *span_label[MAX_SPANS];
    double vp_w_mm, vp_h_mm;           /* committed viewport size */
} Panel;

struct LmFigure {
    char *path;
    char tmp[PATH_MAX + 32];
    int strm;
    int ncols, nrows;
    double page_w_mm, page_h_mm, chr_mm;
    char *caption;                     /* one line at the bottom of the page (which run it shows) */
    Panel p;
};

static void use(LmFigure *f) { plsstrm(f->strm); }

static char *dup_or_null(const char *s) {
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) lm_die("out of memory");
    return d;
}

/* PLplot treats '#' as its escape character; show it literally. */
static char *escape_text(const char *s) {
    size_t n = 0;
    for (const char *p = s; *p; p++) n += *p == '#' ? 2 : 1;
    char *out = lm_malloc(n + 1);
    char *q = out;
    for (const char *p = s; *p; p++) {
        *q++ = *p;
        if (*p == '#') *q++ = '#';
    }
    *q = 0;
    return out;
}

static void text_mtex(const char *side, double disp, double pos, double just, const char *s) {
    char *e = escape_text(s);
    plmtex(side, disp, pos, just, e);
    free(e);
}

static void text_ptex(double x, double y, double dx, double dy, double just, const char *s) {
    char *e = escape_text(s);
    plptex(x, y, dx, dy, just, e);
    free(e);
}

static int series_colour(int k) {
    if (k < 0) return COL_REF;
    return COL_SERIES + k % N_SERIES_COL;
}

/* SVG: PLplot's own svg driver writes text as <text> elements (searchable, editable); cairo's SVG
 * surface can only write glyph outlines, but it embeds images as compact rasters, where the svg driver
 * writes one rectangle per heat-map cell (17 MB for a 256 x 256 mask). */
static const char *device_for(const char *path, int large_images) {
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash)) return NULL;
    if (!strcasecmp(dot, ".png")) return "pngcairo";
    if (!strcasecmp(dot, ".svg")) return large_images ? "svgcairo" : "svg";
    if (!strcasecmp(dot, ".pdf")) return "pdfcairo";
    return NULL;
}

static LmFigure *fig_new(const char *path, int width, int height, int ncols, int nrows, int large_images) {
    const char *dev = device_for(path, large_images);
    if (!dev) {
        lm_err_set("%s: unknown figure type (use .png, .svg or .pdf)", path);
        return NULL;
    }
    if (width < 50 || height < 50 || width > 20000 || height > 20000 || ncols < 1 || nrows < 1 ||
        ncols > 50 || nrows > 50) {
        lm_err_set("%s: bad figure size %dx%d with %dx%d panels", path, width, height, ncols, nrows);
        return NULL;
    }
    LmFigure *f = lm_calloc(1, sizeof *f);
    int n = snprintf(f->tmp, sizeof f->tmp, "%s.tmp.%ld%s", path, (long)getpid(), strrchr(path, '.'));
    if (n < 0 || (size_t)n >= sizeof f->tmp) {
        lm_err_set("%s: path too long", path);
        free(f);
        return NULL;
    }
    /* PLplot exits the process when it cannot open its output, so check the path first. */
    if (lm_probe_writable(f->tmp, path)) {
        free(f);
        return NULL;
    }
    f->path = dup_or_null(path);
    f->ncols = ncols;
    f->nrows = nrows;
    plmkstrm(&f->strm);
    plsdev(dev);
    plsfnam(f->tmp);
    plspage(0, 0, width, height, 0, 0);
    int r[N_COL0], g[N_COL0], b[N_COL0];
    for (int i = 0; i < N_COL0; i++) {
        r[i] = cmap0_rgb[i][0];
        g[i] = cmap0_rgb[i][1];
        b[i] = cmap0_rgb[i][2];
    }
    plscmap0n(N_COL0);
    plscmap0(r, g, b, N_COL0);
    plinit();
    pladv(0);
    double x0, x1, y0, y1;
    plgspa(&x0, &x1, &y0, &y1);
    f->page_w_mm = x1 - x0;
    f->page_h_mm = y1 - y0;
    /* Text height follows the panel size, within limits that stay legible. */
    double cell_h = f->page_h_mm / nrows, cell_w = f->page_w_mm / ncols;
    double c = fmin(cell_h / 26.0, cell_w / 34.0);
    double scale_ref = fmin(f->page_h_mm, f->page_w_mm);
    c = fmax(c, scale_ref / 90.0);
    c = fmin(c, scale_ref / 35.0);
    f->chr_mm = c;
    plschr(c, 1.0);
    plsmaj(c * 0.45, 1.0);
    plsmin(c * 0.25, 1.0);
    plsxax(7, 0); /* plain numbers up to 7 digits rather than a separate "(x10^4)" factor */
    plsyax(6, 0);
    plcol0(COL_FG);
    return f;
}

LmFigure *lm_fig_new(const char *path, int width, int height, int ncols, int nrows) {
    return fig_new(path, width, height, ncols, nrows, 0);
}

LmFigure *lm_fig_new_images(const char *path, int width, int height, int ncols, int nrows) {
    return fig_new(path, width, height, ncols, nrows, 1);
}

static void panel_reset(Panel *p) {
    free(p->title);
    free(p->xlabel);
    free(p->ylabel);
    free(p->occ);
    for (int i = 0; i < p->n_legend; i++) free(p->legend_text[i]);
    for (int i = 0; i < p->n_spans; i++) free(p->span_label[i]);
    memset(p, 0, sizeof *p);
}

/* PLplot exports no string-width query: estimate from DejaVu Sans proportions (in character heights). */
static double text_width_mm(const char *s, double chr_mm) {
    double em = 0;
    for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
        if ((*q & 0xc0) == 0x80) continue; /* UTF-8 continuation byte */
        if (strchr("il.,:;'|!", *q)) em += 0.35;
        else if (strchr("fjrt() -", *q)) em += 0.5;
        else if (strchr("mwMW", *q)) em += 1.1;
        else if (*q >= 'A' && *q <= 'Z') em += 0.8;
        else em += 0.75;
    }
    return em * chr_mm;
}

/* Width of the current panel's legend box (the pllegend layout of draw_legend). */
static double legend_width_mm(const LmFigure *f) {
    const Panel *p = &f->p;
    const double ch = 0.85 * f->chr_mm;
    double longest = 0;
    for (int i = 0; i < p->n_legend; i++) longest = fmax(longest, text_width_mm(p->legend_text[i], ch));
    return 1.2 * (2 * 2.8 * f->chr_mm + longest + 3.4 * ch); /* pllegend's layout, with a margin */
}

/* Fix the viewport and window of the current panel (first drawing call). */
static void commit(LmFigure *f) {
    Panel *p = &f->p;
    if (p->committed) return;
    p->committed = 1;
    int col = p->index % f->ncols, row = p->index / f->ncols;
    double c = f->chr_mm;
    /* right: room for half of the last x tick label, which is centred on the box edge */
    double left = 6.2 * c, right = 2.8 * c + p->extra_right, top = (p->title ? 3.2 : 1.2) * c,
           bottom = 3.8 * c + p->extra_bottom;
    if (p->vlabels) top += 0.9 * c;   /* labels over the box (periods) sit between box and title */
    if (f->caption && row == f->nrows - 1) bottom += 1.6 * c;
    if (p->legend_outside) right += legend_width_mm(f);
    if (!p->ylabel) left -= 1.6 * c;
    if (!p->xlabel) bottom -= 1.4 * c;
    double cw = 1.0 / f->ncols, ch = 1.0 / f->nrows;
    double x0 = col * cw + left / f->page_w_mm, x1 = (col + 1) * cw - right / f->page_w_mm;
    double y1 = 1.0 - row * ch - top / f->page_h_mm, y0 = 1.0 - (row + 1) * ch + bottom / f->page_h_mm;
    if (x1 - x0 < 0.02) x1 = x0 + 0.02;
    if (y1 - y0 < 0.02) y0 = y1 - 0.02;
    if (p->equal_aspect) {
        /* shrink the longer side so one world unit has the same length on both axes */
        double wmm = (x1 - x0) * f->page_w_mm, hmm = (y1 - y0) * f->page_h_mm;
        double ratio = fabs(p->ymax - p->ymin) / fabs(p->xmax - p->xmin);
        if (hmm / wmm > ratio) {
            double nh = wmm * ratio / f->page_h_mm, mid = 0.5 * (y0 + y1);
            y0 = mid - 0.5 * nh;
            y1 = mid + 0.5 * nh;
        } else {
            double nw = hmm / ratio / f->page_w_mm;
            x1 = x0 + nw; /* keep the left edge by the y label */
        }
    }
    p->vx0 = x0;
    p->vx1 = x1;
    p->vy0 = y0;
    p->vy1 = y1;
    plschr(c, 1.0);
    plvpor(x0, x1, y0, y1);
    p->vp_w_mm = (x1 - x0) * f->page_w_mm;
    p->vp_h_mm = (y1 - y0) * f->page_h_mm;
    plwind(p->xmin, p->xmax, p->ymin, p->ymax);
    if (!p->heatmap) {
        /* light grid under the data */
        plcol0(COL_GRID);
        plwidth(1.0);
        plbox(p->bars ? "" : (p->logx ? "gl" : "g"), 0, 0, "g", 0, 0);
    }
    plcol0(COL_FG);
}

static void draw_legend(LmFigure *f) {
    Panel *p = &f->p;
    if (!p->n_legend) return;
    int n = p->n_legend;
    int opt[MAX_LEGEND], tcol[MAX_LEGEND], lcol[MAX_LEGEND], lsty[MAX_LEGEND];
    double lw[MAX_LEGEND];
    int zeros[MAX_LEGEND] = {0};
    double ones[MAX_LEGEND];
    const char *text[MAX_LEGEND], *syms[MAX_LEGEND];
    char *esc[MAX_LEGEND];
    for (int i = 0; i < n; i++) {
        opt[i] = p->legend_box[i] ? PL_LEGEND_COLOR_BOX : PL_LEGEND_LINE;
        tcol[i] = COL_FG;
        lcol[i] = p->legend_colour[i];
        lsty[i] = 1;
        lw[i] = 2.5;
        ones[i] = 1.0;
        esc[i] = escape_text(p->legend_text[i]);
        text[i] = esc[i];
        syms[i] = "";
    }
    /* the spot whose legend-sized box covers the fewest drawn samples; corners first, then edge
     * centres, so ties go to TR, TL, BR, BL */
    plschr(f->chr_mm, 0.85);
    const double ch = 0.85 * f->chr_mm;
    double longest = 0;
    for (int i = 0; i < n; i++) longest = fmax(longest, text_width_mm(p->legend_text[i], ch));
    const double line_frac = 2.8 * f->chr_mm / p->vp_w_mm; /* line samples of fixed length */
    if (p->legend_outside) {
        double w, h;
        pllegend(&w, &h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
                 PL_POSITION_RIGHT | PL_POSITION_OUTSIDE | PL_POSITION_VIEWPORT,
                 0.8 * f->chr_mm / p->vp_w_mm, 0.0, line_frac, COL_BG, COL_GRID, 1, 0, 0, n, opt, 0.8, 1.0, 1.6,
                 0.0, tcol, text, lcol, zeros, ones, ones, lcol, lsty, lw, zeros, ones, zeros, syms);
        plschr(f->chr_mm, 1.0);
        for (int i = 0; i < n; i++) free(esc[i]);
        return;
    }
    double bw = 2 * line_frac + (longest + 3.4 * ch) / p->vp_w_mm; /* calibrated against pllegend */
    double bh = ((double)n * 1.6 + 0.6) * ch / p->vp_h_mm;
    /* candidates on a grid of positions with steps of at most half the legend size (column 0 = left,
     * row 0 = top); corners are tried first, so ties go to TR, TL, BR, BL */
    int GX = (int)fmin(41, fmax(7, ceil(2 * (0.96 - bw) / fmax(bw, 1e-3)) + 1));
    int GY = (int)fmin(41, fmax(7, ceil(2 * (0.94 - bh) / fmax(bh, 1e-3)) + 1));
    int (*cand)[2] = lm_malloc(sizeof(int[2]) * (size_t)(GX * GY)), nc = 0;
    const int corners[4][2] = {{GX - 1, 0}, {0, 0}, {GX - 1, GY - 1}, {0, GY - 1}};
    for (int k = 0; k < 4; k++) {
        cand[nc][0] = corners[k][0];
        cand[nc++][1] = corners[k][1];
    }
    for (int r = 0; r < GY; r++)
        for (int c = 0; c < GX; c++)
            if (!((c == 0 || c == GX - 1) && (r == 0 || r == GY - 1))) {
                cand[nc][0] = c;
                cand[nc++][1] = r;
            }
    double xstep = fmax(0.0, 0.96 - bw) / (GX - 1), ystep = fmax(0.0, 0.94 - bh) / (GY - 1);
    int best = 0, best_hits = INT_MAX;
    for (int k = 0; k < nc; k++) {
        double u0 = 0.02 + cand[k][0] * xstep;
        double v0 = 1 - (0.03 + cand[k][1] * ystep) - bh;
        int hits = 0;
        for (int i = 0; i < p->n_occ; i++) {
            double u = p->occ[2 * i], v = p->occ[2 * i + 1];
            hits += u >= u0 - 0.01 && u <= u0 + bw + 0.01 && v >= v0 - 0.01 && v <= v0 + bh + 0.01;
        }
        if (hits < best_hits) {
            best_hits = hits;
            best = k;
        }
    }
    /* the outermost column and row anchor on their own edge, so an estimate error cannot push the
     * legend out of the box */
    int cf = cand[best][0], rf = cand[best][1];
    free(cand);
    int hflag = cf == GX - 1 ? PL_POSITION_RIGHT : PL_POSITION_LEFT;
    int vflag = rf == GY - 1 ? PL_POSITION_BOTTOM : PL_POSITION_TOP;
    double xoff = cf == GX - 1 ? 0.02 : 0.02 + cf * xstep;
    double yoff = rf == GY - 1 ? 0.03 : 0.03 + rf * ystep;
    double w, h;
    pllegend(&w, &h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
             hflag | vflag | PL_POSITION_INSIDE | PL_POSITION_VIEWPORT, xoff, yoff, line_frac, COL_BG,
             COL_GRID, 1, 0, 0, n, opt, 0.8, 1.0, 1.6, 0.0, tcol, text, lcol, zeros, ones, ones, lcol,
             lsty, lw, zeros, ones, zeros, syms);
    plschr(f->chr_mm, 1.0);
    for (int i = 0; i < n; i++) free(esc[i]);
}

static void draw_spans(LmFigure *f);

/* Frame, ticks, labels, title and legend of the current panel. */
static void finish_panel(LmFigure *f) {
    Panel *p = &f->p;
    if (!p->active) return;
    commit(f);
    draw_spans(f);
    double c = 1.0;
    plcol0(COL_FG);
    plwidth(1.0);
    plschr(f->chr_mm, 0.9);
    const char *xopt = p->bars ? "bc" : (p->logx ? "bcnstl" : "bcnst");
    plbox(xopt, 0, 0, "bcnstv", 0, 0);
    plschr(f->chr_mm, 1.0);
    if (p->xlabel) text_mtex("b", 2.6 + p->extra_bottom / f->chr_mm, 0.5, 0.5, p->xlabel);
    if (p->ylabel) text_mtex("l", 4.4, 0.5, 0.5, p->ylabel);
    if (p->title) {
        plschr(f->chr_mm, 1.1);
        text_mtex("t", p->vlabels ? 2.0 : 1.0, 0.5, 0.5, p->title);
        plschr(f->chr_mm, c);
    }
    draw_legend(f);
    panel_reset(p);
}

static void start_panel(LmFigure *f, int index, double xmin, double xmax, double ymin, double ymax,
                        const char *title, const char *xlabel, const char *ylabel, int logx) {
    use(f);
    finish_panel(f);
    Panel *p = &f->p;
    if (index < 0 || index >= f->ncols * f->nrows) index = 0;
    p->active = 1;
    p->index = index;
    p->logx = logx;
    if (logx) {
        xmin = xmin > 0 ? log10(xmin) : 0;
        xmax = xmax > 0 ? log10(xmax) : 1;
    }
    if (!(xmax != xmin) || !isfinite(xmin) || !isfinite(xmax)) {
        xmin = isfinite(xmin) ? xmin - 0.5 : 0;
        xmax = xmin + 1;
    }
    if (!(ymax != ymin) || !isfinite(ymin) || !isfinite(ymax)) {
        ymin = isfinite(ymin) ? ymin - 0.5 : 0;
        ymax = ymin + 1;
    }
    p->xmin = xmin;
    p->xmax = xmax;
    p->ymin = ymin;
    p->ymax = ymax;
    p->title = dup_or_null(title);
    p->xlabel = dup_or_null(xlabel);
    p->ylabel = dup_or_null(ylabel);
}

void lm_fig_panel(LmFigure *f, int index, double xmin, double xmax, double ymin, double ymax,
                  const char *title, const char *xlabel, const char *ylabel) {
    start_panel(f, index, xmin, xmax, ymin, ymax, title, xlabel, ylabel, 0);
}

void lm_fig_panel_logx(LmFigure *f, int index, double xmin, double xmax, double ymin, double ymax,
                       const char *title, const char *xlabel, const char *ylabel) {
    start_panel(f, index, xmin, xmax, ymin, ymax, title, xlabel, ylabel, 1);
}

/* Data x to world x (log10 on log axes; non-positive values become NaN gaps). */
static double wx(const Panel *p, double x) {
    if (!p->logx) return x;
    return x > 0 ? log10(x) : NAN;
}

/* Remember where something was drawn (viewport units), keeping at most ~8000 samples by thinning. */
static void note_point(Panel *p, double x, double y) {
    double u = (x - p->xmin) / (p->xmax - p->xmin), v = (y - p->ymin) / (p->ymax - p->ymin);
    if (!(u >= 0 && u <= 1 && v >= 0 && v <= 1)) return;
    if (p->occ_stride == 0) p->occ_stride = 1;
    if (++p->occ_skip < p->occ_stride) return;
    p->occ_skip = 0;
    if (p->n_occ == 8192) {
        for (int i = 0; i < 4096; i++) {
            p->occ[2 * i] = p->occ[4 * i];
            p->occ[2 * i + 1] = p->occ[4 * i + 1];
        }
        p->n_occ = 4096;
        p->occ_stride *= 2;
    }
    if (p->n_occ == p->cap_occ) {
        p->cap_occ = p->cap_occ ? 2 * p->cap_occ : 256;
        p->occ = lm_realloc(p->occ, (size_t)p->cap_occ * 2 * sizeof *p->occ);
    }
    p->occ[2 * p->n_occ] = (float)u;
    p->occ[2 * p->n_occ + 1] = (float)v;
    p->n_occ++;
}

/* A segment counts along its length, so sparse lines still keep the legend off them. */
static void note_segment(Panel *p, double xa, double ya, double xb, double yb, double spacing) {
    double du = (xb - xa) / (p->xmax - p->xmin), dv = (yb - ya) / (p->ymax - p->ymin);
    int steps = (int)fmin(ceil(sqrt(du * du + dv * dv) / spacing), 200);
    for (int i = 1; i <= steps; i++) {
        double t = (double)i / steps;
        note_point(p, xa + t * (xb - xa), ya + t * (yb - ya));
    }
}

/* Draw text without clipping to the axes box: a page-wide viewport with the same world mapping. */
static void unclipped_begin(const Panel *p) {
    double sx = (p->xmax - p->xmin) / (p->vx1 - p->vx0), sy = (p->ymax - p->ymin) / (p->vy1 - p->vy0);
    plvpor(0, 1, 0, 1);
    plwind(p->xmin - p->vx0 * sx, p->xmax + (1 - p->vx1) * sx, p->ymin - p->vy0 * sy,
           p->ymax + (1 - p->vy1) * sy);
}

static void unclipped_end(const Panel *p) {
    plvpor(p->vx0, p->vx1, p->vy0, p->vy1);
    plwind(p->xmin, p->xmax, p->ymin, p->ymax);
}

void lm_fig_equal_aspect(LmFigure *f) {
    if (f && f->p.active && !f->p.committed) f->p.equal_aspect = 1;
}

static int panel_ready(LmFigure *f) {
    if (!f || !f->p.active) return 0;
    use(f);
    commit(f);
    return 1;
}

void lm_fig_lines(LmFigure *f, int n_series, int n_points, const double *x, const double *const *ys,
                  const char *const *labels) {
    if (!panel_ready(f) || n_points <= 0) return;
    Panel *p = &f->p;
    double *bx = lm_malloc((size_t)n_points * sizeof *bx), *by = lm_malloc((size_t)n_points * sizeof *by);
    for (int k = 0; k < n_series; k++) {
        /* series k is colour k in every call, so callers can match colours across calls and bars */
        int colour = series_colour(k);
        plcol0(colour);
        plwidth(2.0);
        int run = 0;
        for (int i = 0; i <= n_points; i++) {
            double xv = i < n_points ? wx(p, x[i]) : NAN, yv = i < n_points ? ys[k][i] : NAN;
            if (isfinite(xv) && isfinite(yv)) {
                bx[run] = xv;
                by[run] = yv;
                if (run) note_segment(p, bx[run - 1], by[run - 1], xv, yv, 0.015);
                else note_point(p, xv, yv);
                run++;
                continue;
            }
            if (run == 1) { /* an isolated point between gaps would be invisible as a line */
                plschr(f->chr_mm, 0.45);
                plstring(1, bx, by, "●");
                plschr(f->chr_mm, 1.0);
            } else if (run > 1) {
                plline(run, bx, by);
            }
            run = 0;
        }
        if (labels && labels[k] && p->n_legend < MAX_LEGEND) {
            p->legend_text[p->n_legend] = dup_or_null(labels[k]);
            p->legend_colour[p->n_legend] = colour;
            p->n_legend++;
        }
    }
    plwidth(1.0);
    plcol0(COL_FG);
    free(bx);
    free(by);
}

static void draw_markers(LmFigure *f, int n, const double *x, const double *y, int colour, const char *glyph);

void lm_fig_points(LmFigure *f, int n, const double *x, const double *y, int colour) {
    draw_markers(f, n, x, y, colour, "●");
}

void lm_fig_points_open(LmFigure *f, int n, const double *x, const double *y, int colour) {
    draw_markers(f, n, x, y, colour, "○");
}

static void draw_markers(LmFigure *f, int n, const double *x, const double *y, int colour, const char *glyph) {
    if (!panel_ready(f) || n <= 0) return;
    Panel *p = &f->p;
    plcol0(series_colour(colour));
    plschr(f->chr_mm, 0.8);
    for (int i = 0; i < n; i++) {
        double xv = wx(p, x[i]), yv = y[i];
        if (!isfinite(xv) || !isfinite(yv)) continue;
        note_point(p, xv, yv);
        plstring(1, &xv, &yv, glyph);
    }
    plschr(f->chr_mm, 1.0);
    plcol0(COL_FG);
}

static void set_cmap1(int diverging) {
    const int(*tab)[3] = diverging ? rdbu_rgb : viridis_rgb;
    double pos[11], r[11], g[11], b[11];
    for (int i = 0; i < 11; i++) {
        pos[i] = i / 10.0;
        r[i] = tab[i][0] / 255.0;
        g[i] = tab[i][1] / 255.0;
        b[i] = tab[i][2] / 255.0;
    }
    plscmap1n(256);
    plscmap1l(1, 11, pos, r, g, b, NULL);
}

void lm_fig_heatmap(LmFigure *f, const float *z, int rows, int cols, double zmin, double zmax,
                    int colorbar, int diverging) {
    if (!f || !f->p.active || rows <= 0 || cols <= 0) return;
    use(f);
    Panel *p = &f->p;
    if (!p->committed) {
        p->heatmap = 1;
        if (colorbar) p->extra_right = COLORBAR_MARGIN * f->chr_mm;
    }
    commit(f);
    if (zmin == zmax) {
        double lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < (size_t)rows * cols; i++)
            if (isfinite(z[i])) {
                lo = fmin(lo, z[i]);
                hi = fmax(hi, z[i]);
            }
        if (!isfinite(lo)) lo = 0, hi = 1;
        if (diverging) {
            double m = fmax(fabs(lo), fabs(hi));
            lo = -m;
            hi = m;
        }
        if (hi <= lo) {
            double d = lo == 0 ? 1 : fabs(lo) * 0.5;
            lo -= d;
            hi += d;
        }
        zmin = lo;
        zmax = hi;
    } else if (zmin > zmax) {
        double t = zmin;
        zmin = zmax;
        zmax = t;
    }
    set_cmap1(diverging);
    /* PLplot wants idata[x][y]; clamp to the colour range and hide NaN cells (outside zmin..zmax) */
    double **idata = lm_malloc((size_t)cols * sizeof *idata);
    double *cells = lm_malloc((size_t)rows * cols * sizeof *cells);
    int flip_x = p->xmin > p->xmax, flip_y = p->ymin > p->ymax;
    double hidden = zmax + (zmax - zmin) * 10 + 1;
    for (int c = 0; c < cols; c++) {
        idata[c] = cells + (size_t)c * rows;
        for (int r = 0; r < rows; r++) {
            int sr = flip_y ? rows - 1 - r : r, sc = flip_x ? cols - 1 - c : c;
            double v = z[(size_t)sr * cols + sc];
            idata[c][r] = isnan(v) ? hidden : fmin(fmax(v, zmin), zmax);
        }
    }
    double x0 = fmin(p->xmin, p->xmax), x1 = fmax(p->xmin, p->xmax);
    double y0 = fmin(p->ymin, p->ymax), y1 = fmax(p->ymin, p->ymax);
    /* Without a transform plimagefr puts cell corner i at x0 + i (x1 - x0) / (cols - 1) (it scales by
     * the number of points, not cells); shrink the range so corner i lands at x0 + i (x1 - x0) / cols
     * and the cols cells exactly fill the box. */
    double x1c = cols > 1 ? x0 + (x1 - x0) * (cols - 1) / cols : x1;
    double y1c = rows > 1 ? y0 + (y1 - y0) * (rows - 1) / rows : y1;
    plimagefr((const double *const *)idata, cols, rows, x0, x1c, y0, y1c, zmin, zmax, zmin, zmax, NULL,
              NULL);
    free(idata);
    free(cells);
    if (colorbar) {
        double w, h;
        int n_values = 2;
        double vals[2] = {zmin, zmax};
        const double *values[1] = {vals};
        const char *axis_opts[1] = {"bcvtm"};
        double ticks[1] = {0};
        int sub_ticks[1] = {0};
        plschr(f->chr_mm, 0.85);
        plcolorbar(&w, &h, PL_COLORBAR_GRADIENT, PL_POSITION_RIGHT | PL_POSITION_OUTSIDE | PL_POSITION_VIEWPORT,
                   1.2 * f->chr_mm / p->vp_w_mm, 0.0, 1.6 * f->chr_mm / p->vp_w_mm, 1.0, COL_BG, COL_FG, 1,
                   0, 0, 0, 0, 0, NULL, NULL, 1, axis_opts, ticks, sub_ticks, &n_values, values);
        plschr(f->chr_mm, 1.0);
    }
}

void lm_fig_vlines(LmFigure *f, int n, const double *x, const char *const *labels) {
    if (!panel_ready(f)) return;
    Panel *p = &f->p;
    plcol0(p->heatmap ? COL_BG : COL_REF);
    pllsty(2);
    plwidth(p->heatmap ? 1.5 : 1.2);
    for (int i = 0; i < n; i++) {
        double xv = wx(p, x[i]);
        if (!isfinite(xv)) continue;
        double xs[2] = {xv, xv}, ys[2] = {p->ymin, p->ymax};
        plline(2, xs, ys);
    }
    pllsty(1);
    plwidth(1.0);
    plcol0(COL_FG);
    if (!labels) return;
    plschr(f->chr_mm, 0.8);
    for (int i = 0; i < n; i++) {
        double xv = wx(p, x[i]);
        if (!labels[i] || !isfinite(xv)) continue;
        double u = (xv - p->xmin) / (p->xmax - p->xmin);
        if (u < -1e-9 || u > 1 + 1e-9) continue;
        /* on the side of the line with more room, so the label stays inside the panel */
        text_mtex("t", 0.6, u, u > 0.5 ? 1.0 : 0.0, labels[i]);
        p->vlabels = 1;
    }
    plschr(f->chr_mm, 1.0);
}

void lm_fig_hline(LmFigure *f, double y, int colour) {
    if (!panel_ready(f) || !isfinite(y)) return;
    Panel *p = &f->p;
    plcol0(series_colour(colour));
    pllsty(2);
    plwidth(1.2);
    double xs[2] = {p->xmin, p->xmax}, ys[2] = {y, y};
    plline(2, xs, ys);
    note_segment(p, p->xmin, y, p->xmax, y, 0.06); /* reference lines matter less */
    pllsty(1);
    plwidth(1.0);
    plcol0(COL_FG);
}

void lm_fig_intervals(LmFigure *f, int n, const double *x, const double *lo, const double *hi, double cap) {
    if (!panel_ready(f)) return;
    plcol0(COL_FG);
    plwidth(1.3);
    for (int i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(lo[i]) || !isfinite(hi[i])) continue;
        PLFLT vx[2] = {x[i], x[i]}, vy[2] = {lo[i], hi[i]};
        PLFLT cx[2] = {x[i] - cap, x[i] + cap}, cl[2] = {lo[i], lo[i]}, ch[2] = {hi[i], hi[i]};
        plline(2, vx, vy);
        plline(2, cx, cl);
        plline(2, cx, ch);
    }
    plwidth(1.0);
}

void lm_fig_bars(LmFigure *f, int n, const double *values, const double *err, const char *const *labels,
                 const int *colour) {
    if (!f || !f->p.active || n <= 0) return;
    use(f);
    Panel *p = &f->p;
    if (!p->committed) {
        p->bars = 1;
        if (labels) {
            /* Rotated labels sit one bar apart, i.e. 0.7 bar widths apart across their baselines:
             * shrink the font when bars are narrow so neighbours do not overlap. */
            double cell_w = f->page_w_mm / f->ncols - 8.0 * f->chr_mm;
            double spacing = cell_w / fabs(p->xmax - p->xmin);
            p->label_scale = fmin(0.8, fmax(0.35, 0.45 * spacing / f->chr_mm));
            double longest = 0;
            for (int i = 0; i < n; i++)
                if (labels[i]) longest = fmax(longest, text_width_mm(labels[i], p->label_scale * f->chr_mm));
            double cell_h = f->page_h_mm / f->nrows;
            p->extra_bottom = fmin(0.72 * longest + 0.5 * f->chr_mm, 0.4 * cell_h);
        }
    }
    commit(f);
    double base = fmin(fmax(0.0, fmin(p->ymin, p->ymax)), fmax(p->ymin, p->ymax));
    for (int i = 0; i < n; i++) {
        if (!isfinite(values[i])) continue;
        double xs[4] = {i - 0.38, i + 0.38, i + 0.38, i - 0.38};
        double ys[4] = {base, base, values[i], values[i]};
        plcol0(series_colour(colour ? colour[i] : 0));
        plfill(4, xs, ys);
        for (int k = -2; k <= 2; k++) note_segment(p, i + 0.17 * k, base, i + 0.17 * k, values[i], 0.015);
    }
    if (err) {
        plcol0(COL_FG);
        plwidth(1.5);
        plsmin(0, 0.0);
        for (int i = 0; i < n; i++) {
            if (!isfinite(values[i]) || !isfinite(err[i])) continue;
            double xv = i, lo = values[i] - err[i], hi = values[i] + err[i];
            plerry(1, &xv, &lo, &hi);
            double cx[2] = {i - 0.15, i + 0.15}, cy[2] = {lo, lo};
            plline(2, cx, cy);
            cy[0] = cy[1] = hi;
            plline(2, cx, cy);
        }
        plsmin(f->chr_mm * 0.25, 1.0);
        plwidth(1.0);
    }
    plcol0(COL_FG);
    if (labels) {
        /* direction vector giving 45 degrees on the page whatever the axis scales */
        double dx = (p->xmax - p->xmin) / p->vp_w_mm, dy = (p->ymax - p->ymin) / p->vp_h_mm;
        double y = fmin(p->ymin, p->ymax) - 0.6 * f->chr_mm * fabs(dy);
        plschr(f->chr_mm, p->label_scale > 0 ? p->label_scale : 0.8);
        unclipped_begin(p);
        for (int i = 0; i < n; i++) {
            if (!labels[i]) continue;
            double xv = i + 0.2 * f->chr_mm * dx;
            if (xv < fmin(p->xmin, p->xmax) || xv > fmax(p->xmin, p->xmax) + 0.5) continue;
            text_ptex(xv, y, dx, p->ymin < p->ymax ? dy : -dy, 1.0, labels[i]);
        }
        unclipped_end(p);
        plschr(f->chr_mm, 1.0);
    }
}

void lm_fig_text(LmFigure *f, double x, double y, const char *text) {
    if (!panel_ready(f) || !text) return;
    double xv = wx(&f->p, x);
    if (!isfinite(xv) || !isfinite(y)) return;
    plschr(f->chr_mm, 0.85);
    plcol0(COL_FG);
    text_ptex(xv, y, 1, 0, 0.0, text);
    Panel *p = &f->p;
    double len = text_width_mm(text, 0.85 * f->chr_mm) / p->vp_w_mm * (p->xmax - p->xmin);
    double half = 0.5 * f->chr_mm / p->vp_h_mm * (p->ymax - p->ymin);
    note_segment(p, xv, y - half, xv + len, y - half, 0.004); /* never hide text */
    note_segment(p, xv, y + half, xv + len, y + half, 0.004);
    plschr(f->chr_mm, 1.0);
}

int lm_fig_close(LmFigure *f) {
    if (!f) return -1;
    use(f);
    finish_panel(f);
    if (f->caption) {
        plvpor(0, 1, 0, 1);
        plwind(0, f->page_w_mm, 0, f->page_h_mm);
        plschr(f->chr_mm, 0.75);
        plcol0(COL_REF);
        text_ptex(0.8 * f->chr_mm, 0.7 * f->chr_mm, 1, 0, 0.0, f->caption);
        plcol0(COL_FG);
    }
    plend1();
    /* back to PLplot's static stream 0: selecting a freed stream number would allocate a new one */
    plsstrm(0);
    int rc = 0;
    FILE *chk = fopen(f->tmp, "rb");
    long size = -1;
    if (chk) {
        fseek(chk, 0, SEEK_END);
        size = ftell(chk);
        fclose(chk);
    }
    if (size <= 0) {
        lm_err_set("cannot write %s: the plotting library produced no output", f->path);
        rc = -1;
    } else {
        int fd = open(f->tmp, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fsync(fd)) {
            lm_err_set("cannot write %s: %s", f->path, strerror(errno));
            rc = -1;
        }
        if (fd >= 0) close(fd);
        if (!rc && rename(f->tmp, f->path)) {
            lm_err_set("cannot write %s: rename failed: %s", f->path, strerror(errno));
            rc = -1;
        }
    }
    if (rc) unlink(f->tmp);
    panel_reset(&f->p);
    free(f->caption);
    free(f->path);
    free(f);
    return rc;
}

void lm_fig_caption(LmFigure *f, const char *text) {
    if (!f || !text) return;
    free(f->caption);
    f->caption = dup_or_null(text);
}

void lm_fig_reserve_colorbar(LmFigure *f) {
    if (f && f->p.active && !f->p.committed) f->p.extra_right = COLORBAR_MARGIN * f->chr_mm;
}

void lm_fig_legend_box(LmFigure *f, int colour, const char *label) {
    if (!f || !f->p.active || !label || f->p.n_legend >= MAX_LEGEND) return;
    Panel *p = &f->p;
    p->legend_text[p->n_legend] = dup_or_null(label);
    p->legend_colour[p->n_legend] = series_colour(colour);
    p->legend_box[p->n_legend] = 1;
    p->n_legend++;
}

void lm_fig_legend_outside(LmFigure *f) {
    if (f && f->p.active && !f->p.committed) f->p.legend_outside = 1;
}

void lm_fig_spans(LmFigure *f, int n, const double *start, const double *end, const char *const *labels) {
    if (!f || !f->p.active) return;
    Panel *p = &f->p;
    for (int i = 0; i < n && p->n_spans < MAX_SPANS; i++, p->n_spans++) {
        p->span[p->n_spans][0] = start[i];
        p->span[p->n_spans][1] = end[i];
        p->span_label[p->n_spans] = labels && labels[i] ? dup_or_null(labels[i]) : NULL;
        if (labels && labels[i] && !p->committed) p->vlabels = 1; /* reserve the label row */
    }
}

/* The spans of lm_fig_spans, drawn when the panel is finished (on top of the data). */
static void draw_spans(LmFigure *f) {
    Panel *p = &f->p;
    if (!p->n_spans) return;
    double lo = fmin(p->xmin, p->xmax), hi = fmax(p->xmin, p->xmax);
    /* a boundary line at each span start and at the last end, except on the frame itself */
    double xs[MAX_SPANS + 1];
    int nl = 0;
    for (int i = 0; i <= p->n_spans; i++) {
        double x = i < p->n_spans ? p->span[i][0] : p->span[p->n_spans - 1][1];
        if (isfinite(x) && x > lo + 1e-9 && x < hi - 1e-9) xs[nl++] = x;
    }
    int vlabels = p->vlabels;
    lm_fig_vlines(f, nl, xs, NULL);
    p->vlabels = vlabels;
    plcol0(COL_FG);
    for (int i = 0; i < p->n_spans; i++) {
        double a = fmax(p->span[i][0], lo), b = fmin(p->span[i][1], hi);
        if (!p->span_label[i] || !(b > a)) continue;
        /* centred over its span, shrunk (down to a legible minimum) to fit the span's width */
        double span_mm = (b - a) / (hi - lo) * p->vp_w_mm;
        double scale = fmin(0.8, 0.95 * span_mm / fmax(text_width_mm(p->span_label[i], f->chr_mm), 1e-6));
        plschr(f->chr_mm, fmax(scale, 0.5));
        text_mtex("t", 0.7, (0.5 * (a + b) - p->xmin) / (p->xmax - p->xmin), 0.5, p->span_label[i]);
    }
    plschr(f->chr_mm, 1.0);
}

/* Bars are centred on 0..n-1 and 0.76 wide (lm_fig_bars). */
void lm_fig_bar_marks(LmFigure *f, int n, const double *y, int colour, const char *label) {
    if (!panel_ready(f) || n <= 0) return;
    Panel *p = &f->p;
    plcol0(series_colour(colour));
    plwidth(2.5);
    for (int i = 0; i < n; i++) {
        if (!isfinite(y[i])) continue;
        double xs[2] = {i - 0.45, i + 0.45}, ys[2] = {y[i], y[i]};
        plline(2, xs, ys);
        note_segment(p, xs[0], y[i], xs[1], y[i], 0.015);
    }
    plwidth(1.0);
    plcol0(COL_FG);
    if (label && p->n_legend < MAX_LEGEND) {
        p->legend_text[p->n_legend] = dup_or_null(label);
        p->legend_colour[p->n_legend] = series_colour(colour);
        p->legend_box[p->n_legend] = 0;
        p->n_legend++;
    }
}

void lm_fig_bar_intervals(LmFigure *f, int n, const double *lo, const double *hi) {
    if (!panel_ready(f) || n <= 0) return;
    plcol0(COL_FG);
    plwidth(1.3);
    for (int i = 0; i < n; i++) {
        if (!isfinite(lo[i]) || !isfinite(hi[i])) continue;
        double vx[2] = {i, i}, vy[2] = {lo[i], hi[i]}, cx[2] = {i - 0.18, i + 0.18};
        double cl[2] = {lo[i], lo[i]}, chh[2] = {hi[i], hi[i]};
        plline(2, vx, vy);
        plline(2, cx, cl);
        plline(2, cx, chh);
    }
    plwidth(1.0);
}
