/* Run figures on top of the generic PLplot primitives of src/plot. */
#include "report/figures.h"
#include <errno.h>
#include <math.h>
#include <plplot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "eval/eval.h"
#include "eval/metrics.h"
#include "io/json.h"
#include "io/npz.h"
#include "plot/plot.h"
#include "report/eval_report.h"
#include "report/run.h"
#include "util/err.h"

void lm_plot_options_default(LmPlotOptions *o) {
    memset(o, 0, sizeof *o);
}

/* ---------------------------------------------------------------- growable series */
typedef struct { int n, cap; double *v; } Series;
static void push(Series *s, double v) {
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->v = lm_realloc(s->v, (size_t)s->cap * sizeof(double));
    }
    s->v[s->n++] = v;
}
static void series_free(Series *s) { free(s->v); }

static double series_max(const Series *s) {
    double m = -INFINITY;
    for (int i = 0; i < s->n; i++) if (isfinite(s->v[i])) m = fmax(m, s->v[i]);
    return m;
}

/* ---------------------------------------------------------------- log.jsonl */
typedef struct {
    Series train_step, train_loss;         /* kind = train */
    Series eval_step, eval_mean, eval_loss; /* kind = eval */
    Series eval_group[4];
    char metric[32];
} RunLog;

static double jnum(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* Missing file: 0 with an empty log. Unparseable lines are reported, not skipped silently. */
static int read_log(const char *dir, RunLog *log) {
    memset(log, 0, sizeof *log);
    char path[1200];
    snprintf(path, sizeof path, "%s/log.jsonl", dir);
    FILE *f = fopen(path, "r");
    if (!f) return errno == ENOENT ? 0 : (lm_err_set("%s: %s", path, strerror(errno)), -1);
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rc = 0;
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        if (line[0] == '\n' || line[0] == '\0') continue;
        cJSON *r = cJSON_Parse(line);
        if (!r || !cJSON_IsObject(r)) {
            cJSON_Delete(r);
            /* A run killed mid-append may leave a partial last line: tolerate only that one. */
            if (!feof(f) && fgetc(f) != EOF) {
                lm_err_set("%s:%d: not a JSON object", path, lineno);
                rc = -1;
                break;
            }
            continue;
        }
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(r, "kind");
        double step = jnum(r, "step");
        if (cJSON_IsString(kind) && !strcmp(kind->valuestring, "train")) {
            push(&log->train_step, step);
            push(&log->train_loss, jnum(r, "loss"));
        } else if (cJSON_IsString(kind) && !strcmp(kind->valuestring, "eval")) {
            push(&log->eval_step, step);
            push(&log->eval_mean, jnum(r, "mean"));
            push(&log->eval_loss, jnum(r, "loss"));
            const cJSON *g = cJSON_GetObjectItemCaseSensitive(r, "groups");
            for (int k = 0; k < 4; k++) push(&log->eval_group[k], jnum(g, lm_group_keys[k]));
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(r, "metric");
            if (cJSON_IsString(m)) snprintf(log->metric, sizeof log->metric, "%s", m->valuestring);
        }
        cJSON_Delete(r);
    }
    free(line);
    fclose(f);
    return rc;
}

static void log_free(RunLog *log) {
    series_free(&log->train_step);
    series_free(&log->train_loss);
    series_free(&log->eval_step);
    series_free(&log->eval_mean);
    series_free(&log->eval_loss);
    for (int k = 0; k < 4; k++) series_free(&log->eval_group[k]);
}

/* ---------------------------------------------------------------- output files */
typedef struct {
    char plots[1200];
    const char *fmt[3];
    int n_fmt;
    int quiet;
    int written;
} Out;

static LmFigure *fig_open(Out *o, const char *name, int fi, int w, int h, int cols, int rows) {
    char path[1400];
    snprintf(path, sizeof path, "%s/%s.%s", o->plots, name, o->fmt[fi]);
    LmFigure *f = lm_fig_new(path, w, h, cols, rows);
    return f;
}

static int fig_close(Out *o, LmFigure *f, const char *name, int fi) {
    if (lm_fig_close(f) != 0) return -1;
    o->written++;
    if (!o->quiet) printf("wrote %s/%s.%s\n", o->plots, name, o->fmt[fi]);
    return 0;
}

/* ---------------------------------------------------------------- loss and performance curves */
static int fig_loss(Out *o, const RunLog *log, int fi) {
    const Series *xs = log->train_step.n ? &log->train_step : &log->eval_step;
    const Series *ys = log->train_step.n ? &log->train_loss : &log->eval_loss;
    int n = xs->n;
    double *ly = lm_malloc((size_t)(n ? n : 1) * sizeof(double));
    /* Cross-entropy spans decades (2.8 at chance to ~0.01): plot log10 with a running mean on top,
     * because single-window losses are noisy. */
    double *smooth = lm_malloc((size_t)(n ? n : 1) * sizeof(double));
    int win = n / 50 > 1 ? n / 50 : 1;
    double acc = 0;
    int cnt = 0;
    for (int i = 0; i < n; i++) {
        ly[i] = ys->v[i] > 0 ? log10(ys->v[i]) : NAN;
        if (isfinite(ly[i])) { acc += ly[i]; cnt++; }
        if (i >= win && isfinite(ly[i - win])) { acc -= ly[i - win]; cnt--; }
        smooth[i] = cnt ? acc / cnt : NAN;
    }
    double ymin = INFINITY, ymax = -INFINITY;
    for (int i = 0; i < n; i++) if (isfinite(ly[i])) { ymin = fmin(ymin, ly[i]); ymax = fmax(ymax, ly[i]); }
    if (!(ymin < ymax)) { ymin = (isfinite(ymin) ? ymin : 0) - 0.5; ymax = ymin + 1; }
    double pad = 0.05 * (ymax - ymin);
    double xmax = n ? xs->v[n - 1] : 1;
    LmFigure *f = fig_open(o, "loss", fi, 1000, 600, 1, 1);
    if (!f) { free(ly); free(smooth); return -1; }
    lm_fig_panel(f, 0, 0, xmax > 0 ? xmax : 1, ymin - pad, ymax + pad, "training loss",
                 "optimiser step", "log10 cross-entropy");
    const double *yy[2] = {ly, smooth};
    const char *labels[2] = {"per step", win > 1 ? "running mean" : NULL};
    lm_fig_lines(f, win > 1 ? 2 : 1, n, xs->v, yy, labels);
    free(ly);
    free(smooth);
    return fig_close(o, f, "loss", fi);
}

static int fig_perf(Out *o, const RunLog *log, int fi) {
    int n = log->eval_step.n;
    const double *ys[5];
    const char *labels[5];
    int ns = 0;
    ys[ns] = log->eval_mean.v;
    labels[ns++] = "mean";
    static const char *const gl[4] = {"base", "int", "seq", "int+seq"};
    for (int g = 0; g < 4; g++)
        if (isfinite(series_max(&log->eval_group[g]))) {
            ys[ns] = log->eval_group[g].v;
            labels[ns++] = gl[g];
        }
    if (ns == 2) ns = 1;   /* a single-group battery: the group curve is the mean */
    double xmax = n ? log->eval_step.v[n - 1] : 1;
    LmFigure *f = fig_open(o, "perf", fi, 1000, 600, 1, 1);
    if (!f) return -1;
    char title[96];
    snprintf(title, sizeof title, "held-out performance (%s)", log->metric[0] ? log->metric : "last_step");
    lm_fig_panel(f, 0, 0, xmax > 0 ? xmax : 1, 0, 1.02, title, "optimiser step", "mean performance");
    lm_fig_hline(f, 0.5, -1);   /* -1: the reference grey */
    lm_fig_hline(f, 0.8, -1);
    lm_fig_hline(f, 0.9, -1);
    lm_fig_lines(f, ns, n, log->eval_step.v, ys, labels);
    if (n <= 30) lm_fig_points(f, n, log->eval_step.v, log->eval_mean.v, 0);
    return fig_close(o, f, "perf", fi);
}

/* ---------------------------------------------------------------- per-task bars */
typedef struct {
    int n;
    char name[LM_MAX_BATTERY][32];
    int id[LM_MAX_BATTERY];
    double perf[LM_MAX_BATTERY], lo[LM_MAX_BATTERY], hi[LM_MAX_BATTERY];
    char metric[32];
    int trials;
    double mean;
} TaskTable;

/* eval.json of this run, if it exists and covers tasks of the battery. */
static int table_from_json(const char *dir, TaskTable *t) {
    char path[1200];
    snprintf(path, sizeof path, "%s/eval.json", dir);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    fclose(f);
    cJSON *doc = lm_json_read(path);
    if (!doc) return -1;
    memset(t, 0, sizeof *t);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, "metric");
    snprintf(t->metric, sizeof t->metric, "%s", cJSON_IsString(m) ? m->valuestring : "?");
    t->trials = (int)jnum(doc, "trials_per_task");
    t->mean = jnum(doc, "mean");
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(doc, "tasks")) {
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(it, "name");
        int id = cJSON_IsString(nm) ? lm_task_lookup(nm->valuestring) : -1;
        if (id < 0 || t->n >= LM_MAX_BATTERY) {
            lm_err_set("%s: task entry %d has no known task name", path, t->n);
            cJSON_Delete(doc);
            return -1;
        }
        snprintf(t->name[t->n], sizeof t->name[0], "%s", nm->valuestring);
        t->id[t->n] = id;
        t->perf[t->n] = jnum(it, "perf");
        t->lo[t->n] = jnum(it, "ci_low");
        t->hi[t->n] = jnum(it, "ci_high");
        t->n++;
    }
    cJSON_Delete(doc);
    return t->n > 0;
}

static int table_compute(LmTrained *run, int trials, TaskTable *t) {
    LmEvalResult *r = lm_malloc(sizeof *r);
    int rc = lm_evaluate(run->model, run->env, run->battery, trials, run->eval_seed, NULL, r);
    if (rc == 0) {
        memset(t, 0, sizeof *t);
        t->n = run->battery->n;
        snprintf(t->metric, sizeof t->metric, "%s", lm_metric_name(LM_METRIC_LAST_STEP));
        t->trials = trials;
        t->mean = lm_eval_mean(r, LM_METRIC_LAST_STEP);
        for (int k = 0; k < t->n; k++) {
            snprintf(t->name[k], sizeof t->name[0], "%s", run->battery->name[k]);
            t->id[k] = run->battery->id[k];
            t->perf[k] = lm_eval_task_perf(r, k, LM_METRIC_LAST_STEP);
            lm_wilson_interval(r->correct[k][LM_METRIC_LAST_STEP], r->n_trials[k], &t->lo[k], &t->hi[k]);
        }
    }
    free(r);
    return rc;
}

/* Series colours (of src/plot's palette) of the groups base, int, seq, int+seq. */
static const int group_colour[4] = {0, 1, 2, 3};

static int fig_tasks(Out *o, const TaskTable *t, int fi) {
    /* Order: family (go, dm, match), then group (base, int, seq, int+seq), then battery order. */
    int order[LM_MAX_BATTERY], n = 0;
    int fam_start[4] = {0, 0, 0, 0};
    for (int fam = 0; fam < 3; fam++) {
        fam_start[fam] = n;
        for (int g = 0; g < 4; g++)
            for (int k = 0; k < t->n; k++)
                if ((int)lm_task_def(t->id[k])->family == fam && (int)lm_task_group(t->id[k]) == g) order[n++] = k;
    }
    fam_start[3] = n;
    double vals[LM_MAX_BATTERY];
    const char *labels[LM_MAX_BATTERY];
    int colour[LM_MAX_BATTERY];
    for (int i = 0; i < n; i++) {
        int k = order[i];
        vals[i] = t->perf[k];
        labels[i] = t->name[k];
        colour[i] = group_colour[lm_task_group(t->id[k])];
    }
    int width = 300 + 24 * n;
    if (width < 1000) width = 1000;
    LmFigure *f = fig_open(o, "tasks", fi, width, 700, 1, 1);
    if (!f) return -1;
    char title[160];
    int present[4] = {0, 0, 0, 0}, n_groups = 0;
    for (int i = 0; i < n; i++) present[lm_task_group(t->id[order[i]])] = 1;
    for (int g = 0; g < 4; g++) n_groups += present[g];
    snprintf(title, sizeof title, "per-task performance (%s), mean %.3f", t->metric, t->mean);
    char ylabel[96];
    snprintf(ylabel, sizeof ylabel, "performance (%d trials, 95%% CI)", t->trials);
    /* Headroom above 1 for the family names and the group legend. */
    lm_fig_panel(f, 0, -0.7, n - 0.3, 0, n_groups > 1 ? 1.1 + 0.07 * n_groups : 1.1, title, NULL, ylabel);
    lm_fig_bars(f, n, vals, NULL, labels, colour);
    /* Wilson intervals are asymmetric, which lm_fig_bars' symmetric error bars cannot show: draw them
     * with PLplot directly, in the panel lm_fig_bars has just set up (its stream is the current one). */
    plcol0(1);
    plwidth(1.3);
    for (int i = 0; i < n; i++) {
        int k = order[i];
        if (!isfinite(t->lo[k]) || !isfinite(t->hi[k])) continue;
        PLFLT xv = i, lo = t->lo[k], hi = t->hi[k];
        PLFLT cx[2] = {i - 0.18, i + 0.18}, cl[2] = {lo, lo}, ch[2] = {hi, hi};
        PLFLT vx[2] = {xv, xv}, vy[2] = {lo, hi};
        plline(2, vx, vy);
        plline(2, cx, cl);
        plline(2, cx, ch);
    }
    plwidth(1.0);
    /* Legend of the group colours: empty series carry the labels (bars use series colours 0..3, and
     * a series' colour is its index among the panel's series, so absent groups get an unlabelled one). */
    if (n_groups > 1) {
        double nanv[1] = {NAN}, zero[1] = {0};
        const double *empty[4] = {nanv, nanv, nanv, nanv};
        static const char *const glab[4] = {"base", "int", "seq", "int+seq"};
        const char *lab[4];
        for (int g = 0; g < 4; g++) lab[g] = present[g] ? glab[g] : NULL;
        lm_fig_lines(f, 4, 1, zero, empty, lab);
    }
    /* Family separators and names. */
    double sep[3];
    const char *sep_lab[3];
    int ns = 0;
    static const char *const fam_name[3] = {"go family", "dm family", "match family"};
    for (int fam = 0; fam < 3; fam++)
        if (fam_start[fam + 1] > fam_start[fam]) {
            sep[ns] = fam_start[fam] - 0.5;
            sep_lab[ns++] = fam_name[fam];
        }
    lm_fig_vlines(f, ns, sep, sep_lab);
    return fig_close(o, f, "tasks", fi);
}

/* ---------------------------------------------------------------- mask and weights */
/* Matrices are drawn whole up to this many units; larger networks show their first FIG_MATRIX_MAX units
 * (rows and columns), and sheet images a window around the unit, so no figure is N x N. */
#define FIG_MATRIX_MAX 1024
#define FIG_SHEET_MAX 64

/* The top-left k x k block of W_rec (or of the mask: vals NULL) from the mask's CSR. */
static float *matrix_block(const LmMask *m, const float *vals, int k) {
    float *z = lm_calloc((size_t)k * k, sizeof(float));
    for (int i = 0; i < k; i++)
        for (int32_t p = m->row_ptr[i]; p < m->row_ptr[i + 1] && m->col_idx[p] < k; p++)
            z[(size_t)i * k + m->col_idx[p]] = vals ? vals[p] : 1.0f;
    return z;
}

/* The window of a sheet image around unit c: at most FIG_SHEET_MAX units per side, inside the sheet. */
static void sheet_window(int nx, int ny, int c, int *x0, int *y0, int *wx, int *wy) {
    *wx = nx < FIG_SHEET_MAX ? nx : FIG_SHEET_MAX;
    *wy = ny < FIG_SHEET_MAX ? ny : FIG_SHEET_MAX;
    *x0 = c % nx - *wx / 2, *y0 = c / nx - *wy / 2;
    *x0 = *x0 < 0 ? 0 : *x0 + *wx > nx ? nx - *wx : *x0;
    *y0 = *y0 < 0 ? 0 : *y0 + *wy > ny ? ny - *wy : *y0;
}

/* Row c of the mask (vals NULL: 1 per connection, +1 at c itself) or of W_rec as a sheet image of the
 * window; returns max |value|. */
static double unit_image(const LmMask *m, const float *vals, int nx, int c, int x0, int y0, int wx, int wy,
                         float *img) {
    memset(img, 0, (size_t)wx * wy * sizeof(float));
    double amax = 0;
    for (int32_t p = m->row_ptr[c]; p < m->row_ptr[c + 1]; p++) {
        int j = m->col_idx[p], x = j % nx - x0, y = j / nx - y0;
        if (x < 0 || x >= wx || y < 0 || y >= wy) continue;
        float v = vals ? vals[p] : 1.0f + (j == c);
        img[(size_t)y * wx + x] = v;
        amax = fmax(amax, fabs(v));
    }
    return amax;
}

static void matrix_title(char *buf, size_t n, const char *what, int N, int k) {
    if (k == N) snprintf(buf, n, "%s", what);
    else snprintf(buf, n, "%s (units 0-%d of %d)", what, k - 1, N);
}

static int fig_mask(Out *o, const LmTrained *run, int fi) {
    const LmMask *m = lm_model_mask(run->model);
    int N = m->n, sheet = run->nx > 0, k = N < FIG_MATRIX_MAX ? N : FIG_MATRIX_MAX;
    float *z = matrix_block(m, NULL, k);
    LmFigure *f = fig_open(o, "mask", fi, sheet ? 1400 : 700, 700, sheet ? 2 : 1, 1);
    if (!f) { free(z); return -1; }
    char title[240], what[190];
    snprintf(what, sizeof what, "mask: %.150s", m->desc);
    matrix_title(title, sizeof title, what, N, k);
    lm_fig_panel(f, 0, 0, k, 0, k, title, "pre-synaptic unit j", "post-synaptic unit i");
    lm_fig_equal_aspect(f);
    lm_fig_heatmap(f, z, k, k, 0, 1, 0, 0);
    if (sheet) {
        int nx = run->nx, ny = run->ny;
        int c = (ny / 2) * nx + nx / 2;   /* the central unit of the sheet */
        int x0, y0, wx, wy;
        sheet_window(nx, ny, c, &x0, &y0, &wx, &wy);
        float *img = lm_malloc((size_t)wx * wy * sizeof(float));
        unit_image(m, NULL, nx, c, x0, y0, wx, wy, img);
        snprintf(title, sizeof title, "inputs of unit %d at (%d,%d) (yellow: itself)", c, c % nx, c / nx);
        lm_fig_panel(f, 1, x0, x0 + wx, y0, y0 + wy, title, "sheet x", "sheet y");
        lm_fig_equal_aspect(f);
        lm_fig_heatmap(f, img, wy, wx, 0, 2, 0, 0);
        free(img);
    }
    free(z);
    return fig_close(o, f, "mask", fi);
}

static int fig_weights(Out *o, const LmTrained *run, int fi) {
    const LmMask *m = lm_model_mask(run->model);
    int N = m->n, sheet = run->nx > 0, k = N < FIG_MATRIX_MAX ? N : FIG_MATRIX_MAX;
    float *vals = lm_malloc((size_t)(m->nnz ? m->nnz : 1) * sizeof(float));
    lm_model_export_rec_values(run->model, vals);
    double amax = 0;
    for (int64_t p = 0; p < m->nnz; p++) amax = fmax(amax, fabs(vals[p]));
    if (amax == 0) amax = 1;
    float *w = matrix_block(m, vals, k);
    LmFigure *f = fig_open(o, "weights", fi, sheet ? 1650 : 700, sheet ? 1000 : 650, sheet ? 3 : 1, sheet ? 2 : 1);
    if (!f) { free(w); free(vals); return -1; }
    char title[200], what[100];
    snprintf(what, sizeof what, "W_rec at step %lld", (long long)run->step);
    if (lm_model_ei(run->model)) {   /* Dale's law: a column's sign is its presynaptic unit's E/I type */
        int ne = 0;
        for (int j = 0; j < N; j++) ne += lm_model_ei(run->model)[j] > 0;
        snprintf(what, sizeof what, "W_rec at step %lld, Dale: %d E (columns > 0), %d I (< 0)",
                 (long long)run->step, ne, N - ne);
    }
    matrix_title(title, sizeof title, what, N, k);
    lm_fig_panel(f, 0, 0, k, 0, k, title, "pre-synaptic unit j", "post-synaptic unit i");
    lm_fig_equal_aspect(f);
    lm_fig_heatmap(f, w, k, k, -amax, amax, 1, 1);
    if (sheet) {
        int nx = run->nx, ny = run->ny;
        /* Mean |w| over existing connections as a function of sheet distance (self = distance 0). */
        int nb = (int)ceil(sqrt((double)nx * nx + ny * ny)) + 1;
        double *sum = lm_calloc((size_t)nb, sizeof(double)), *cnt = lm_calloc((size_t)nb, sizeof(double));
        for (int i = 0; i < N; i++)
            for (int32_t p = m->row_ptr[i]; p < m->row_ptr[i + 1]; p++) {
                int j = m->col_idx[p];
                double dx = i % nx - j % nx, dy = i / nx - j / nx;
                int b = (int)lround(sqrt(dx * dx + dy * dy));
                sum[b] += fabs(vals[p]);
                cnt[b] += 1;
            }
        double *xs = lm_malloc((size_t)nb * sizeof(double)), *ys = lm_malloc((size_t)nb * sizeof(double));
        int nn = 0;
        double ymax = 0;
        for (int b = 0; b < nb; b++)
            if (cnt[b] > 0) {
                xs[nn] = b;
                ys[nn] = sum[b] / cnt[b];
                ymax = fmax(ymax, ys[nn]);
                nn++;
            }
        lm_fig_panel(f, 1, -0.2, nn ? xs[nn - 1] + 0.2 : 1, 0, ymax > 0 ? 1.1 * ymax : 1,
                     "mean |w| vs sheet distance", "distance (rounded; 0 = self)", "mean |w_ij| over the mask");
        const double *yy[1] = {ys};
        lm_fig_lines(f, 1, nn, xs, yy, NULL);
        lm_fig_points(f, nn, xs, ys, 0);
        free(sum); free(cnt); free(xs); free(ys);
        /* Incoming weights of four units as sheet images: centre, a corner, an edge, off-centre. */
        int units[4] = {(ny / 2) * nx + nx / 2, 0, (ny / 2) * nx, (ny / 4) * nx + 3 * nx / 4};
        for (int u = 0; u < 4; u++) {
            int c = units[u], x0, y0, wx, wy;
            sheet_window(nx, ny, c, &x0, &y0, &wx, &wy);
            float *img = lm_malloc((size_t)wx * wy * sizeof(float));
            double umax = unit_image(m, vals, nx, c, x0, y0, wx, wy, img);
            if (umax == 0) umax = 1;
            snprintf(title, sizeof title, "weights into unit %d at (%d,%d)", c, c % nx, c / nx);
            lm_fig_panel(f, 2 + u, x0, x0 + wx, y0, y0 + wy, title, "sheet x", "sheet y");
            lm_fig_equal_aspect(f);
            lm_fig_heatmap(f, img, wy, wx, -umax, umax, 1, 1);
            free(img);
        }
    }
    free(w);
    free(vals);
    return fig_close(o, f, "weights", fi);
}

/* ---------------------------------------------------------------- example trials */
static int fig_trial(Out *o, LmTrained *run, int pos, int fi) {
    int task = run->battery->id[pos];
    LmTrial tr;
    lm_eval_trial(run->env, task, pos, 0, run->eval_seed, &tr);
    const int n_in = LM_OBS + run->battery->n, T = tr.len;
    float *x = lm_calloc((size_t)T * n_in, sizeof(float));
    for (int t = 0; t < T; t++) {
        memcpy(x + (size_t)t * n_in, tr.ob + (size_t)t * LM_OBS, LM_OBS * sizeof(float));
        x[(size_t)t * n_in + LM_OBS + pos] = 1.0f;
    }
    LmWork *w = lm_work_new(run->model, T, 1);
    if (!w) { free(x); return -1; }
    lm_forward(run->model, w, x, NULL, NULL, NULL, T, 1, NULL);
    const float *lg = lm_work_logits(w);   /* [T][1][17] */
    /* Images are [rows = channel][cols = time]. Inputs: 33 task columns + this task's rule column. */
    const int rin = LM_OBS + 1;
    float *zin = lm_malloc((size_t)rin * T * sizeof(float));
    float *zout = lm_malloc((size_t)LM_N_ACTIONS * T * sizeof(float));
    double *ts = lm_malloc((size_t)T * sizeof(double)), *lab = lm_malloc((size_t)T * sizeof(double)),
           *arg = lm_malloc((size_t)T * sizeof(double));
    double zmin = 0, zmax = 0;
    for (int t = 0; t < T; t++) {
        for (int r = 0; r < LM_OBS; r++) {
            float v = tr.ob[(size_t)t * LM_OBS + r];
            zin[(size_t)r * T + t] = v;
            zmin = fmin(zmin, v);
            zmax = fmax(zmax, v);
        }
        zin[(size_t)LM_OBS * T + t] = 1.0f;
        const float *l = lg + (size_t)t * LM_N_ACTIONS;
        double mx = -INFINITY, s = 0;
        for (int k = 0; k < LM_N_ACTIONS; k++) mx = fmax(mx, l[k]);
        for (int k = 0; k < LM_N_ACTIONS; k++) s += exp(l[k] - mx);
        for (int k = 0; k < LM_N_ACTIONS; k++) zout[(size_t)k * T + t] = (float)(exp(l[k] - mx) / s);
        ts[t] = t + 0.5;
        lab[t] = tr.gt[t];
        arg[t] = lm_argmax(l, LM_N_ACTIONS);
    }
    lm_work_free(w);
    free(x);
    char title[200], mods[64], name[64];
    lm_task_modifiers(task, mods, sizeof mods);
    snprintf(name, sizeof name, "trial_%s", run->battery->name[pos]);
    LmFigure *f = fig_open(o, name, fi, 1100, 1150, 1, 3);
    int rc = f ? 0 : -1;
    if (f) {
        double starts[LM_MAX_PERIODS];
        const char *pn[LM_MAX_PERIODS];
        for (int p = 0; p < tr.n_periods; p++) {
            starts[p] = tr.periods[p].start;
            pn[p] = tr.periods[p].name;
        }
        char modality[32] = "";
        if (tr.modality >= 0) snprintf(modality, sizeof modality, ", modality %d", tr.modality + 1);
        snprintf(title, sizeof title, "%s (%s%s%s%s): inputs; rows 1-16 ring 1, 17-32 ring 2, 33 rule",
                 run->battery->name[pos], lm_family_name(lm_task_def(task)->family), mods[0] ? ", " : "", mods,
                 modality);
        lm_fig_panel(f, 0, 0, T, 0, rin, title, "step (100 ms)", "input");
        lm_fig_heatmap(f, zin, rin, T, zmin, zmax > zmin ? zmax : zmin + 1, 1, 0);
        lm_fig_vlines(f, tr.n_periods, starts, pn);
        lm_fig_panel(f, 1, 0, T, 0, LM_N_ACTIONS, "network softmax output (row 0 = fixate, k = direction k-1)",
                     "step (100 ms)", "output");
        lm_fig_heatmap(f, zout, LM_N_ACTIONS, T, 0, 1, 1, 0);
        lm_fig_vlines(f, tr.n_periods, starts, NULL);
        lm_fig_panel(f, 2, 0, T, -0.5, 16.5, "label (target) and network argmax", "step (100 ms)", "action");
        /* The label as a line, the argmax as dots on top (a second line would hide the first where
         * they agree); the all-NaN series only puts the dots' colour into the legend. */
        /* Labels are per step: drawn as a staircase over each step's [t, t+1). */
        double *sx = lm_malloc((size_t)2 * T * sizeof(double)), *sy = lm_malloc((size_t)2 * T * sizeof(double));
        double *none = lm_malloc((size_t)2 * T * sizeof(double));
        for (int t = 0; t < T; t++) {
            sx[2 * t] = t;
            sx[2 * t + 1] = t + 1;
            sy[2 * t] = sy[2 * t + 1] = lab[t];
            none[2 * t] = none[2 * t + 1] = NAN;
        }
        const double *yy[2] = {sy, none};
        const char *ll[2] = {"label", "network argmax"};
        lm_fig_lines(f, 2, 2 * T, sx, yy, ll);
        lm_fig_points(f, T, ts, arg, 1);
        free(none);
        free(sx);
        free(sy);
        lm_fig_vlines(f, tr.n_periods, starts, NULL);
        rc = fig_close(o, f, name, fi);
    }
    free(zin); free(zout); free(ts); free(lab); free(arg);
    return rc;
}

/* Default trial figures: one go, one dm, one match base task, the first int and the first seq task. */
static int default_trial_tasks(const LmBattery *b, int *pos) {
    int n = 0;
    for (int fam = 0; fam < 3; fam++)
        for (int k = 0; k < b->n; k++)
            if ((int)lm_task_def(b->id[k])->family == fam && lm_task_group(b->id[k]) == LM_GROUP_BASE) {
                pos[n++] = k;
                break;
            }
    for (int g = LM_GROUP_INT; g <= LM_GROUP_SEQ; g++)
        for (int k = 0; k < b->n; k++)
            if (lm_task_group(b->id[k]) == (LmGroup)g) {
                pos[n++] = k;
                break;
            }
    return n;
}

static int chosen_trial_tasks(const LmBattery *train, const char *spec, int *pos) {
    LmBattery sub;
    if (lm_battery_parse(spec, &sub) != 0) return -1;
    for (int k = 0; k < sub.n; k++) {
        pos[k] = -1;
        for (int j = 0; j < train->n; j++)
            if (train->id[j] == sub.id[k]) { pos[k] = j; break; }
        if (pos[k] < 0) {
            lm_err_set("--tasks: '%s' is not in the training battery '%s'", sub.name[k], train->spec);
            return -1;
        }
    }
    return sub.n;
}

static int parse_formats(const char *spec, Out *o) {
    static const char *const known[3] = {"png", "svg", "pdf"};
    o->n_fmt = 0;
    const char *p = spec;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        int found = -1;
        for (int k = 0; k < 3; k++)
            if (strlen(known[k]) == len && !strncmp(p, known[k], len)) found = k;
        if (found < 0) {
            lm_err_set("--format: unknown format '%.*s' (expected png, svg, pdf)", (int)len, p);
            return -1;
        }
        int dup = 0;
        for (int k = 0; k < o->n_fmt; k++) dup |= o->fmt[k] == known[found];
        if (!dup) o->fmt[o->n_fmt++] = known[found];
        p += len;
        if (*p == ',') p++;
    }
    if (!o->n_fmt) {
        lm_err_set("--format: no format given");
        return -1;
    }
    return 0;
}

int lm_plot_run(const char *dir, const LmPlotOptions *opt) {
    LmPlotOptions def;
    if (!opt) {
        lm_plot_options_default(&def);
        opt = &def;
    }
    Out o;
    memset(&o, 0, sizeof o);
    o.quiet = opt->quiet;
    if (parse_formats(opt->formats ? opt->formats : "png,svg", &o) != 0) return -1;

    LmTrained run;
    if (lm_trained_load(dir, &run) != 0) return -1;
    int pos[LM_MAX_BATTERY], n_trials_fig;
    n_trials_fig = opt->tasks ? chosen_trial_tasks(run.battery, opt->tasks, pos) : default_trial_tasks(run.battery, pos);
    RunLog log;
    TaskTable *table = lm_malloc(sizeof *table);
    int rc = n_trials_fig < 0 ? -1 : 0;
    if (rc == 0) rc = read_log(run.dir, &log);
    else memset(&log, 0, sizeof log);
    if (rc == 0) {
        snprintf(o.plots, sizeof o.plots, "%s/plots", run.dir);
        rc = lm_mkdir_p(o.plots);
    }
    if (rc == 0) {
        int have = table_from_json(run.dir, table);
        if (have < 0) rc = -1;
        else if (have == 0) rc = table_compute(&run, opt->eval_trials > 0 ? opt->eval_trials : 100, table);
    }
    if (rc == 0 && !log.train_step.n && !log.eval_step.n)
        fprintf(stderr, "lmrnn plot: note: %s has no log.jsonl records, skipping loss.* and perf.*\n", run.dir);
    for (int fi = 0; rc == 0 && fi < o.n_fmt; fi++) {
        if (log.train_step.n || log.eval_step.n) rc = fig_loss(&o, &log, fi);
        if (rc == 0 && log.eval_step.n) rc = fig_perf(&o, &log, fi);
        if (rc == 0) rc = fig_tasks(&o, table, fi);
        if (rc == 0) rc = fig_mask(&o, &run, fi);
        if (rc == 0) rc = fig_weights(&o, &run, fi);
        for (int k = 0; rc == 0 && k < n_trials_fig; k++) rc = fig_trial(&o, &run, pos[k], fi);
    }
    free(table);
    log_free(&log);
    lm_trained_free(&run);
    return rc;
}
