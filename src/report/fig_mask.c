/* plots/mask: the connectivity mask (its first LM_FIG_MATRIX_MAX units), and for a mask on a sheet the
 * inputs of its central unit. */
#include <stdio.h>
#include <stdlib.h>
#include "report/fig_common.h"
#include "util/err.h"

int lm_fig_mask(LmFigOut *o, const LmTrained *run, int fi) {
    const LmMask *m = lm_model_mask(run->model);
    int N = m->n, sheet = run->nx > 0, k = N < LM_FIG_MATRIX_MAX ? N : LM_FIG_MATRIX_MAX;
    float *z = lm_fig_matrix_block(m, NULL, k, 0.0f, 0);
    LmFigure *f = lm_fig_out_open(o, "mask", fi, sheet ? 1400 : 700, 720, sheet ? 2 : 1, 1, k > 64);
    if (!f) {
        free(z);
        return -1;
    }
    char title[240], what[190];
    snprintf(what, sizeof what, "mask: %.150s", m->desc);
    lm_fig_matrix_title(title, sizeof title, what, N, k);
    lm_fig_panel(f, 0, 0, k, 0, k, title, "pre-synaptic unit j", "post-synaptic unit i");
    lm_fig_equal_aspect(f);
    lm_fig_heatmap(f, z, k, k, 0, 1, 0, 0);
    if (sheet) {
        int nx = run->nx, ny = run->ny, c = (ny / 2) * nx + nx / 2; /* the central unit of the sheet */
        int x0, y0, wx, wy;
        lm_fig_sheet_window(nx, ny, c, &x0, &y0, &wx, &wy);
        float *img = lm_calloc((size_t)wx * wy, sizeof(float));
        for (int32_t p = m->row_ptr[c]; p < m->row_ptr[c + 1]; p++) {
            int j = m->col_idx[p], x = j % nx - x0, y = j / nx - y0;
            if (x >= 0 && x < wx && y >= 0 && y < wy) img[(size_t)y * wx + x] = 1.0f + (j == c);
        }
        snprintf(title, sizeof title, "inputs of unit %d at (%d,%d) (yellow: itself)", c, c % nx, c / nx);
        lm_fig_panel(f, 1, x0, x0 + wx, y0, y0 + wy, title, "sheet x", "sheet y");
        lm_fig_equal_aspect(f);
        lm_fig_heatmap(f, img, wy, wx, 0, 2, 0, 0);
        free(img);
    }
    free(z);
    return lm_fig_out_close(o, f, "mask", fi);
}
