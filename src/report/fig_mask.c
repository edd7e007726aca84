/* plots/mask: the connectivity mask, and for a mask on a sheet the inputs of its central unit. */
#include <stdio.h>
#include <stdlib.h>
#include "report/fig_common.h"
#include "util/err.h"

int lm_fig_mask(LmFigOut *o, const LmTrained *run, int fi) {
    const LmMask *m = lm_model_mask(run->model);
    int N = m->n, sheet = run->nx > 0;
    float *z = lm_malloc((size_t)N * N * sizeof(float));
    for (size_t i = 0; i < (size_t)N * N; i++) z[i] = m->m[i];
    LmFigure *f = lm_fig_out_open(o, "mask", fi, sheet ? 1400 : 700, 720, sheet ? 2 : 1, 1, N > 64);
    if (!f) {
        free(z);
        return -1;
    }
    char title[200];
    snprintf(title, sizeof title, "mask: %s", m->desc);
    lm_fig_panel(f, 0, 0, N, 0, N, title, "pre-synaptic unit j", "post-synaptic unit i");
    lm_fig_equal_aspect(f);
    lm_fig_heatmap(f, z, N, N, 0, 1, 0, 0);
    if (sheet) {
        int nx = run->nx, ny = run->ny;
        int c = (ny / 2) * nx + nx / 2; /* the central unit of the sheet */
        float *img = lm_malloc((size_t)N * sizeof(float));
        for (int j = 0; j < N; j++) img[j] = m->m[(size_t)c * N + j] + (j == c ? 1.0f : 0.0f);
        snprintf(title, sizeof title, "inputs of unit %d at (%d,%d) (yellow: itself)", c, c % nx, c / nx);
        lm_fig_panel(f, 1, 0, nx, 0, ny, title, "sheet x", "sheet y");
        lm_fig_equal_aspect(f);
        lm_fig_heatmap(f, img, ny, nx, 0, 2, 0, 0);
        free(img);
    }
    free(z);
    return lm_fig_out_close(o, f, "mask", fi);
}
