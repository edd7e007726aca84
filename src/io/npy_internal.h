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
/* What a .npy header says (the payload follows header_len bytes from the start). */
typedef struct {
    LmDtype dtype;
    int ndim;
    int64_t shape[LM_NPY_MAXDIM];
    size_t count;        /* elements */
    size_t itemsize;     /* bytes per element (4 * width for a '<U<width>' string) */
    long strwidth;
    size_t header_len;   /* magic + version + length field + dict */
    size_t payload;      /* count * itemsize */
} LmNpyHeader;
/* Headers longer than this are refused (numpy writes well under 1 KB). */
#define LM_NPY_HEADER_READ_MAX 65536
/* From the first bytes (>= 12, or all there are) of a .npy: the header's total length. -1 + why. */
int lm_npy_header_len(const unsigned char *buf, size_t len, size_t *total, char *why, size_t whylen);
/* Parse the header in buf[0, len) (len >= its total length); -1 with the reason in why. */
int lm_npy_parse_header(const unsigned char *buf, size_t len, LmNpyHeader *h, char *why, size_t whylen);
/* Fill out from a parsed header and its payload (malloc'd, h->payload bytes; ownership passes to out,
 * freed on failure). Strings are converted to UTF-8. */
int lm_npy_set_payload(const LmNpyHeader *h, void *payload, LmArray *out, char *why, size_t whylen);
/* Parse a .npy image; -1 with the reason (no file name) in why. out->name is left empty. */
int lm_npy_decode(const unsigned char *buf, size_t len, LmArray *out, char *why, size_t whylen);
/* Whole file into a malloc'd buffer; NULL + lm_err_set("<path>: <reason>"). */
unsigned char *lm_read_file(const char *path, size_t *len);
/* "<path>.tmp.<pid>" into buf; -1 if it does not fit. */
int lm_temp_name(char *buf, size_t cap, const char *path);
/* fsync the directory holding path so a rename survives a crash (best effort). */
void lm_fsync_parent(const char *path);

#endif
