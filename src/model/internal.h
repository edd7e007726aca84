/* The model's private layout, shared by the files of src/model (not part of the public interface). */
#ifndef LMRNN_MODEL_INTERNAL_H
#define LMRNN_MODEL_INTERNAL_H
#include "model/model.h"

struct LmModel {
    LmModelConfig cfg;
    LmMask mask;
    uint8_t *dense_mask;     /* dense path below full density only: the mask as [N][N] bytes for re-masking */
    int sparse;              /* recurrent weights stored as CSR values over the mask's non-zeros */
    int64_t n_rec;           /* number of recurrent parameters: N*N dense, nnz sparse */
    /* Offsets into the parameter block:
     * [W_in N x n_in | b_in N | W_rec (N x N, or nnz CSR values) | b_rec N | W_out n_out x N | b_out n_out] */
    size_t off[LM_N_TENSORS + 1];
    size_t n_params;
    float *params, *grads;
    /* Sparse structure (sparse mode only). CSR rows are post-synaptic units i (the mask's own arrays);
     * the CSC view lists, for each pre-synaptic unit j, the rows i and the position of W[i][j] in the CSR
     * value array. */
    int32_t *row_ptr, *col_idx;          /* [N+1], [nnz] */
    int32_t *col_ptr, *csc_row, *csc_pos; /* [N+1], [nnz], [nnz] */
    /* Banded masks (local2d, local1d, diag: few distinct offsets j - i) also get a diagonal layout for the
     * kernels, built from the CSR values at every forward: diagonal d has offset dia_off[d]; the value at
     * CSR position p sits at band[dia_pos[p]] (= d*N + i) and, for the transpose, at band_t[dia_tpos[p]]
     * (= d*N + j, offset -dia_off[d]). pad = max |offset|. */
    int dia, n_diag, pad;
    int32_t *dia_off, *dia_noff, *dia_pos, *dia_tpos;
    /* Dale's law (dale.c): the sign of each presynaptic unit, NULL without; readout_exc: W_out reads
     * excitatory units only (inhibitory columns held at 0). */
    int8_t *ei;
    int readout_exc;
};

/* Dale's law around the optimiser step (dale.c): W_rec (effective, D-signed) -> W~ = |W_rec| before the
 * step, and after it the step's W~ folded back to W~ >= 0 (with its first moment) and re-signed. */
void lm_dale_to_free(LmModel *m);
void lm_dale_to_effective(LmModel *m, float *adam_m);
/* Row i of the balanced initial W_rec (dense [N], before masking) drawn from rng, rows in order. */
void lm_dale_init_rec_row(const LmModel *m, LmRng *rng, int i, float *row);

/* Banded layout when the band holds at most this many times the mask's non-zeros (the extra entries are
 * zeros that cost vector lanes, not correctness). */
#define LM_DIA_MAX_FILL 4

enum { T_W_IN = 0, T_B_IN, T_W_REC, T_B_REC, T_W_OUT, T_B_OUT };

static inline float *lm_p(LmModel *m, int tensor) { return m->params + m->off[tensor]; }
static inline const float *lm_cp(const LmModel *m, int tensor) { return m->params + m->off[tensor]; }
static inline float *lm_g(LmModel *m, int tensor) { return m->grads + m->off[tensor]; }

#endif
