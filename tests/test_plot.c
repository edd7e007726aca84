/* src/plot: every panel kind in PNG, SVG and PDF gives a real file of the right type and size (checked
 * from its magic bytes and, for PNG, the IHDR dimensions); bad paths fail with a message; odd input
 * (NaN, empty data, constant heat maps) is drawn without crashing; figures can be interleaved; PNG
 * output is reproducible; no temp files are left behind. */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "check.h"
#include "plot/plot.h"
#include "util/err.h"

static char tmpdir[256];

static long file_size(const char *p) {
    struct stat st;
    return stat(p, &st) ? -1 : (long)st.st_size;
}

static int read_head(const char *p, unsigned char *buf, size_t n) {
    FILE *f = fopen(p, "rb");
    if (!f) return 0;
    size_t r = fread(buf, 1, n, f);
    fclose(f);
    return r == n;
}

static int count_temps(void) {
    DIR *d = opendir(tmpdir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) n++;
    if (d) closedir(d);
    return n;
}

/* One figure with every kind of panel. */
static int draw_everything(const char *path, int w, int h) {
    LmFigure *f = lm_fig_new(path, w, h, 3, 2);
    if (!f) return -1;
    enum { N = 100 };
    double x[N], a[N], b[N];
    for (int i = 0; i < N; i++) {
        x[i] = i;
        a[i] = sin(i * 0.1);
        b[i] = i % 17 == 0 ? NAN : cos(i * 0.1) * 0.5; /* NaN gaps, including a lone point */
    }
    b[48] = NAN; /* b[49] stands alone */
    b[50] = NAN;
    b[52] = NAN;
    const double *ys[2] = {a, b};
    const char *labels[2] = {"sin #1", "cos/2"};
    lm_fig_panel(f, 0, 0, N, -1.2, 1.2, "Lines", "step", "value");
    lm_fig_lines(f, 2, N, x, ys, labels);
    lm_fig_points(f, 10, x, a, 2);
    lm_fig_hline(f, 0, -1);
    lm_fig_text(f, 5, 1.0, "note");

    float z[20 * 30];
    for (int i = 0; i < 20 * 30; i++) z[i] = (float)(i % 30) * 0.1f + (float)(i / 30);
    z[7] = NAN;
    lm_fig_panel(f, 1, 0, 30, 0, 20, "Heat map", "time", "unit");
    lm_fig_heatmap(f, z, 20, 30, 0, 0, 1, 0);
    double v[2] = {10, 20};
    const char *vl[2] = {"stim", "resp"};
    lm_fig_vlines(f, 2, v, vl);

    double vals[5] = {0.9, 0.5, NAN, 0.7, 0.2}, err[5] = {0.05, 0.1, 0.1, NAN, 0.02};
    const char *bl[5] = {"go", "dlyanti", NULL, "ctxdm1", "a_long_task_name"};
    int col[5] = {0, 1, 0, 1, -1};
    lm_fig_panel(f, 2, -0.5, 4.5, 0, 1, "Bars", NULL, "accuracy");
    lm_fig_bars(f, 5, vals, err, bl, col);

    float wgt[16 * 16];
    for (int i = 0; i < 256; i++) wgt[i] = (float)((i * 37 % 17) - 8) / 8.0f;
    lm_fig_panel(f, 3, 0, 16, 16, 0, "Weights", "pre", "post");
    lm_fig_equal_aspect(f);
    lm_fig_heatmap(f, wgt, 16, 16, 0, 0, 1, 1);

    double lx[4] = {10, 100, 1000, 0}, ly[4] = {0.2, 0.5, 0.8, 0.9};
    const double *lys[1] = {ly};
    lm_fig_panel_logx(f, 4, 1, 10000, 0, 1, "Log x", "trials", NULL);
    lm_fig_lines(f, 1, 4, lx, lys, NULL); /* x = 0 cannot be shown: a gap */

    lm_fig_panel(f, 5, 0, 1, 0, 1, NULL, NULL, NULL); /* empty panel with no labels */
    return lm_fig_close(f);
}

static void writes_each_format(void) {
    const char *ext[3] = {"png", "svg", "pdf"};
    for (int k = 0; k < 3; k++) {
        char p[512];
        snprintf(p, sizeof p, "%s/all.%s", tmpdir, ext[k]);
        CHECK(draw_everything(p, 1200, 700) == 0, "%s: %s", p, lm_err_msg());
        long n = file_size(p);
        CHECK(n > 10000, "%s is only %ld bytes", p, n);
        unsigned char head[32] = {0};
        CHECK(read_head(p, head, sizeof head));
        if (k == 0) {
            CHECK(memcmp(head, "\x89PNG\r\n\x1a\n", 8) == 0);
            CHECK(memcmp(head + 12, "IHDR", 4) == 0);
            uint32_t w = (uint32_t)head[16] << 24 | head[17] << 16 | head[18] << 8 | head[19];
            uint32_t h = (uint32_t)head[20] << 24 | head[21] << 16 | head[22] << 8 | head[23];
            CHECK(w == 1200 && h == 700, "PNG is %ux%u", w, h);
        } else if (k == 1) {
            CHECK(memcmp(head, "<?xml", 5) == 0 || memcmp(head, "<svg", 4) == 0);
        } else {
            CHECK(memcmp(head, "%PDF", 4) == 0);
        }
    }
    CHECK(count_temps() == 0);
}

static void bad_paths_fail(void) {
    char p[512];
    snprintf(p, sizeof p, "%s/fig.gif", tmpdir);
    CHECK(lm_fig_new(p, 400, 300, 1, 1) == NULL && strstr(lm_err_msg(), p) &&
          strstr(lm_err_msg(), "unknown figure type"), "%s", lm_err_msg());
    snprintf(p, sizeof p, "%s/noext", tmpdir);
    CHECK(lm_fig_new(p, 400, 300, 1, 1) == NULL && strstr(lm_err_msg(), p));
    snprintf(p, sizeof p, "%s/dir.png/fig", tmpdir);
    CHECK(lm_fig_new(p, 400, 300, 1, 1) == NULL);
    snprintf(p, sizeof p, "%s/missing/dir/fig.png", tmpdir);
    CHECK(lm_fig_new(p, 400, 300, 1, 1) == NULL && strstr(lm_err_msg(), p) &&
          strstr(lm_err_msg(), "No such file"), "%s", lm_err_msg());
    snprintf(p, sizeof p, "%s/ok.png", tmpdir);
    CHECK(lm_fig_new(p, 0, 300, 1, 1) == NULL && strstr(lm_err_msg(), "size"));
    CHECK(lm_fig_new(p, 400, 300, 0, 1) == NULL);
    CHECK(file_size(p) == -1);
    /* the target is a directory: drawing succeeds, publishing fails, the temp file is removed */
    snprintf(p, sizeof p, "%s/adir.png", tmpdir);
    mkdir(p, 0755);
    LmFigure *f = lm_fig_new(p, 300, 200, 1, 1);
    CHECK(f != NULL, "%s", lm_err_msg());
    if (f) {
        lm_fig_panel(f, 0, 0, 1, 0, 1, "t", "x", "y");
        CHECK(lm_fig_close(f) == -1 && strstr(lm_err_msg(), p), "%s", lm_err_msg());
    }
    CHECK(count_temps() == 0);
    /* upper-case extensions are fine */
    snprintf(p, sizeof p, "%s/upper.PNG", tmpdir);
    f = lm_fig_new(p, 300, 200, 1, 1);
    CHECK(f != NULL);
    if (f) CHECK(lm_fig_close(f) == 0 && file_size(p) > 100);
}

static void odd_input_is_harmless(void) {
    char p[512];
    snprintf(p, sizeof p, "%s/odd.png", tmpdir);
    LmFigure *f = lm_fig_new(p, 600, 400, 2, 2);
    CHECK(f != NULL);
    if (!f) return;
    double x[3] = {NAN, NAN, NAN}, y[3] = {NAN, 1, NAN};
    const double *ys[1] = {y};
    lm_fig_lines(f, 1, 3, x, ys, NULL); /* before any panel: ignored */
    lm_fig_panel(f, 0, 5, 5, 3, 3, NULL, NULL, NULL); /* degenerate ranges get widened */
    lm_fig_lines(f, 1, 3, x, ys, NULL);
    lm_fig_lines(f, 1, 0, x, ys, NULL);
    lm_fig_points(f, 0, x, y, 0);
    float flat[4] = {2, 2, 2, 2}, nan4[4] = {NAN, NAN, NAN, NAN};
    lm_fig_panel(f, 1, 0, 2, 0, 2, "flat", NULL, NULL);
    lm_fig_heatmap(f, flat, 2, 2, 0, 0, 1, 0);
    lm_fig_panel(f, 2, 0, 2, 0, 2, "nan", NULL, NULL);
    lm_fig_heatmap(f, nan4, 2, 2, 0, 0, 1, 1);
    lm_fig_panel(f, 3, 0, 2, 0, 2, "reversed z", NULL, NULL);
    lm_fig_heatmap(f, flat, 2, 2, 5, -5, 0, 1);
    lm_fig_vlines(f, 1, (double[]){0.5}, NULL);
    lm_fig_bars(f, 0, NULL, NULL, NULL, NULL);
    lm_fig_text(f, NAN, 0, "x");
    lm_fig_panel(f, 99, 0, 1, 0, 1, "out of range index", NULL, NULL);
    CHECK(lm_fig_close(f) == 0, "%s", lm_err_msg());
    CHECK(file_size(p) > 1000);
    /* a figure without any panel is still a valid (blank) image */
    snprintf(p, sizeof p, "%s/blank.svg", tmpdir);
    f = lm_fig_new(p, 300, 200, 1, 1);
    CHECK(f && lm_fig_close(f) == 0 && file_size(p) > 100);
}

static unsigned char *slurp(const char *p, long *n) {
    *n = file_size(p);
    if (*n <= 0) return NULL;
    unsigned char *b = malloc((size_t)*n);
    if (!read_head(p, b, (size_t)*n)) {
        free(b);
        return NULL;
    }
    return b;
}

static void interleaved_and_reproducible(void) {
    char p1[512], p2[512], p3[512];
    snprintf(p1, sizeof p1, "%s/one.png", tmpdir);
    snprintf(p2, sizeof p2, "%s/two.png", tmpdir);
    snprintf(p3, sizeof p3, "%s/three.png", tmpdir);
    LmFigure *a = lm_fig_new(p1, 400, 300, 1, 1), *b = lm_fig_new(p2, 500, 300, 1, 1);
    CHECK(a && b);
    if (!a || !b) return;
    double x[3] = {0, 1, 2}, y[3] = {0, 1, 0};
    const double *ys[1] = {y};
    lm_fig_panel(a, 0, 0, 2, 0, 1, "a", NULL, NULL);
    lm_fig_panel(b, 0, 0, 2, 0, 1, "b", NULL, NULL);
    lm_fig_lines(a, 1, 3, x, ys, NULL);
    lm_fig_lines(b, 1, 3, x, ys, NULL);
    CHECK(lm_fig_close(b) == 0);
    CHECK(lm_fig_close(a) == 0);
    unsigned char h[24];
    CHECK(read_head(p1, h, 24) && h[19] == (400 & 0xff) && h[18] == (400 >> 8), "one.png width");
    CHECK(read_head(p2, h, 24) && h[19] == (500 & 0xff) && h[18] == (500 >> 8), "two.png width");
    /* the same drawing twice gives the same bytes */
    a = lm_fig_new(p3, 400, 300, 1, 1);
    lm_fig_panel(a, 0, 0, 2, 0, 1, "a", NULL, NULL);
    lm_fig_lines(a, 1, 3, x, ys, NULL);
    CHECK(lm_fig_close(a) == 0);
    long n1, n3;
    unsigned char *b1 = slurp(p1, &n1), *b3 = slurp(p3, &n3);
    CHECK(b1 && b3 && n1 == n3 && memcmp(b1, b3, (size_t)n1) == 0, "PNG output differs between runs");
    free(b1);
    free(b3);
}

/* PLplot's svg driver spells colours as #RRGGBB and writes text as <text> elements: check the palette,
 * the white page and that the labels are real text. */
static void svg_colours_follow_palette(void) {
    char p[512];
    snprintf(p, sizeof p, "%s/colours.svg", tmpdir);
    LmFigure *f = lm_fig_new(p, 400, 300, 1, 1);
    CHECK(f != NULL);
    if (!f) return;
    double x[3] = {0, 1, 2}, y0[3] = {0, 1, 0}, y1[3] = {1, 0, 1};
    const double *one[1] = {y0}, *other[1] = {y1};
    lm_fig_panel(f, 0, 0, 2, 0, 1, "title text", "x", "y");
    /* two calls of one series each: both are series 0, hence both tab10 blue */
    lm_fig_lines(f, 1, 3, x, one, NULL);
    lm_fig_lines(f, 1, 3, x, other, NULL);
    CHECK(lm_fig_close(f) == 0);
    long n;
    unsigned char *b = slurp(p, &n);
    CHECK(b != NULL);
    if (!b) return;
    char *text = malloc((size_t)n + 1);
    memcpy(text, b, (size_t)n);
    text[n] = 0;
    free(b);
    CHECK(strstr(text, "fill=\"#FFFFFF\""), "no white background");
    CHECK(strstr(text, "stroke=\"#1F77B4\""), "no tab10 blue (31,119,180)");
    CHECK(!strstr(text, "#FF7F0E"), "tab10 orange used for a series 0");
    CHECK(!strstr(text, "fill=\"#000000\""), "PLplot's black default background leaked in");
    /* the svg driver writes each character as an XML character reference: "t" is &#x74; */
    char want[128] = "";
    for (const char *c = "title"; *c; c++) snprintf(want + strlen(want), sizeof want - strlen(want), "&#x%x;", *c);
    CHECK(strstr(text, "<text") && strstr(text, want), "title not written as SVG text (%s)", want);
    free(text);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lmrnn_test_plot.XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    RUN(writes_each_format);
    RUN(bad_paths_fail);
    RUN(odd_input_is_harmless);
    RUN(interleaved_and_reproducible);
    RUN(svg_colours_follow_palette);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", tmpdir);
    return CHECK_DONE();
}
