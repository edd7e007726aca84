/* The model's private layout, shared by the files of src/model (not part of the public interface). */
#ifndef LMRNN_MODEL_INTERNAL_H
#define LMRNN_MODEL_INTERNAL_H
#include "model/model.h"

struct LmModel {
    LmModelConfig cfg;
    LmMask mask;
    int sparse;              /* recurrent weights stored as CSR values over the mask's non-zeros */
    int64_t n_rec;           /* number of recurrent parameters: N*N dense, nnz sparse */
    /* Offsets into the parameter block:
     * [W_in N x n_in | b_in N | W_rec (N x N, or nnz CSR values) | b_rec N | W_out n_out x N | b_out n_out] */
    size_t off[LM_N_TENSORS + 1];
    size_t n_params;
    float *params, *grads;
    /* Sparse structure (sparse mode only). CSR rows are post-synaptic units i; the CSC view lists, for
     * each pre-synaptic unit j, the rows i and the position of W[i][j] in the CSR value array. */
    int32_t *row_ptr, *col_idx;          /* [N+1], [nnz] */
    int32_t *col_ptr, *csc_row, *csc_pos; /* [N+1], [nnz], [nnz] */
};

enum { T_W_IN = 0, T_B_IN, T_W_REC, T_B_REC, T_W_OUT, T_B_OUT };

static inline float *lm_p(LmModel *m, int tensor) { return m->params + m->off[tensor]; }
static inline const float *lm_cp(const LmModel *m, int tensor) { return m->params + m->off[tensor]; }
static inline float *lm_g(LmModel *m, int tensor) { return m->grads + m->off[tensor]; }

#endif
