/* Shared between the .npy, .npz and plain-file code of src/io (not a public interface). */
#ifndef LMRNN_NPY_INTERNAL_H
#define LMRNN_NPY_INTERNAL_H
#include "io/npz.h"
#include <stddef.h>

/* Upper bound on a header this code writes (4 dims, 21-digit growth padding, 64-byte alignment). */
#define LM_NPY_HEADER_MAX 256

int lm_npy_check_args(LmDtype dtype, int ndim, const int64_t *shape, size_t *count);
/* A complete .npy image in a malloc'd buffer; NULL + lm_err_set() on bad arguments. */
unsigned char *lm_npy_encode(LmDtype dtype, int ndim, const int64_t *shape, const void *data,
                             size_t *len);
unsigned char *lm_npy_encode_string(const char *text, size_t *len);
/* Parse a .npy image; -1 with the reason (no file name) in why. out->name is left empty. */
int lm_npy_decode(const unsigned char *buf, size_t len, LmArray *out, char *why, size_t whylen);
/* Whole file into a malloc'd buffer; NULL + lm_err_set("<path>: <reason>"). */
unsigned char *lm_read_file(const char *path, size_t *len);
/* "<path>.tmp.<pid>" into buf; -1 if it does not fit. */
int lm_temp_name(char *buf, size_t cap, const char *path);
/* fsync the directory holding path so a rename survives a crash (best effort). */
void lm_fsync_parent(const char *path);

#endif
