/* Mask files (--mask file --mask-file M.npy): read and validated here, in the training layer, so that
 * the model (src/model/mask.c) only builds masks and never reads files. */
#ifndef LMRNN_TRAIN_MASK_FILE_H
#define LMRNN_TRAIN_MASK_FILE_H
#include "model/model.h"
#include "train/config.h"

/* A 0/1 [n][n] matrix from a .npy file (float, integer or uint8/bool data, every value exactly 0 or 1)
 * as a mask described "file <path>". 0, or -1 with lm_err_set() naming the file and the problem. */
int lm_mask_file_read(const char *path, int n, LmMask *out);

/* The connection count and number of distinct diagonals of the configuration's mask, without building
 * it where the mask module can count (a file mask is read). 0 or -1 with lm_err_set(). */
int lm_train_mask_count(const LmTrainConfig *c, int64_t *nnz, int64_t *n_diag);

#endif
