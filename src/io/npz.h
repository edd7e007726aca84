/* NumPy .npy / .npz I/O (npz = zip archive of .npy members, written and read through libzip) and
 * atomic file writing. Every writer goes to "<path>.tmp.<pid>" and renames over <path> only after the
 * data is complete and flushed, so an interrupted or failed write never damages an existing file. */
#ifndef LMRNN_NPZ_H
#define LMRNN_NPZ_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { LM_DT_F32 = 0, LM_DT_F64, LM_DT_I32, LM_DT_I64, LM_DT_U8, LM_DT_STR } LmDtype;
#define LM_NPY_MAXDIM 4

typedef struct {
    char name[64];          /* member name without ".npy" */
    LmDtype dtype;          /* LM_DT_STR: a 0-d numpy unicode string, data = UTF-8 bytes + NUL */
    int ndim;
    int64_t shape[LM_NPY_MAXDIM];
    void *data;             /* C order, native little-endian */
    size_t count;           /* number of elements (bytes for LM_DT_STR, without NUL) */
} LmArray;

size_t lm_dtype_size(LmDtype t);
const char *lm_dtype_name(LmDtype t);   /* "float32", ... */

/* ---- writing ---- */
typedef struct LmNpzWriter LmNpzWriter;
/* Start an archive that will replace `path` on successful close. NULL + lm_err_set() on failure
 * (e.g. directory missing or not writable). */
LmNpzWriter *lm_npz_create(const char *path);
/* Compress the members (deflate, as numpy.savez_compressed) instead of storing them: for data that
 * compresses well, e.g. index arrays. The reader handles both. */
void lm_npz_set_deflate(LmNpzWriter *w);
/* Add one array (data copied or referenced until close: the caller keeps it alive until close). */
int lm_npz_add(LmNpzWriter *w, const char *name, LmDtype dtype, int ndim, const int64_t *shape,
               const void *data);
/* A string member, stored as a 0-d numpy unicode array ('<U<n>'). */
int lm_npz_add_string(LmNpzWriter *w, const char *name, const char *text);
/* Finish: write, fsync, rename. Returns 0, or -1 with lm_err_set() (e.g. disk full); on failure the
 * previous file at `path` is untouched and the temp file removed. Frees the writer either way. */
int lm_npz_close(LmNpzWriter *w);
/* Abandon without touching `path`. */
void lm_npz_discard(LmNpzWriter *w);

/* ---- reading ---- */
typedef struct LmNpz LmNpz;
/* Open an archive and validate its directory and every member's .npy header. NULL + lm_err_set() naming
 * the file and the problem for a missing, non-regular, truncated or non-zip file, or a member that is not
 * a valid .npy of a supported dtype. Payloads are read on demand (lm_npz_find, _expect, _at), so they
 * cost memory only when used; a payload that turns out corrupt (CRC) is reported there. */
LmNpz *lm_npz_read(const char *path);
void lm_npz_free(LmNpz *z);
int lm_npz_count(const LmNpz *z);
/* Largest payload lm_npz_find / _expect / _at inflate. */
#define LM_NPZ_MEMBER_MAX ((size_t)1 << 32)
const LmArray *lm_npz_at(LmNpz *z, int i);   /* loaded; NULL with lm_err_set() */
/* Loaded array, or NULL with lm_err_set() (absent: "missing array 'x'", or unreadable). */
const LmArray *lm_npz_find(LmNpz *z, const char *name);
/* The same, refusing a payload of more than max_bytes before inflating it. */
const LmArray *lm_npz_find_max(LmNpz *z, const char *name, size_t max_bytes);
/* Name, dtype, ndim, shape and count from the member's header, without reading its payload (data may be
 * NULL; count is 0 for a string). NULL if absent. */
const LmArray *lm_npz_info(const LmNpz *z, const char *name);
/* Find `name` and check dtype, ndim and shape (entries < 0 in `shape` match anything) before reading its
 * payload. Returns the array, or NULL with lm_err_set("<file>: <name>: expected float32 [256, 256],
 * found ...") */
const LmArray *lm_npz_expect(LmNpz *z, const char *name, LmDtype dtype, int ndim, const int64_t *shape);

/* ---- single .npy files ---- */
int lm_npy_write(const char *path, LmDtype dtype, int ndim, const int64_t *shape, const void *data);
/* Read into a freshly allocated array (free with lm_array_free). 0 or -1 with lm_err_set(). */
int lm_npy_read(const char *path, LmArray *out);
/* The same for a file of at most max_bytes (a larger file is refused before it is read). */
int lm_npy_read_max(const char *path, size_t max_bytes, LmArray *out);
void lm_array_free(LmArray *a);

/* ---- plain files ---- */
/* Default cap on a file read whole (lm_read_file): config and log files are far smaller. */
#define LM_READ_MAX ((size_t)1 << 30)
/* Open for reading only a regular file of at most max_bytes (a FIFO, a device such as /dev/zero or a
 * directory is refused without blocking). fd (size in *size), or -1 with lm_err_set() naming path. */
int lm_open_regular(const char *path, size_t max_bytes, size_t *size);
/* The same as a stdio stream; NULL with lm_err_set(). */
FILE *lm_fopen_regular(const char *path, size_t max_bytes);
/* Whole regular file (at most max_bytes) into a malloc'd buffer; NULL + lm_err_set("...<path>..."). */
unsigned char *lm_read_file_max(const char *path, size_t max_bytes, size_t *len);
int lm_write_file_atomic(const char *path, const void *data, size_t n);
int lm_mkdir_p(const char *path);          /* mkdir -p; 0 or -1 with lm_err_set() */
/* Create (empty) the temp file `tmp` that will become `path`: a missing or read-only directory is
 * reported before any work is done. 0, or -1 with lm_err_set("cannot write <path>: <reason>"). */
int lm_probe_writable(const char *tmp, const char *path);

#endif
