/* Named arrays in memory: what an .npz holds, before (or instead of) writing it. The analyses build
 * their results as one of these, so that `lmrnn analyze` writes exactly the arrays the C API returns
 * (lmrnn_result) and the keys are documented once (docs/analysis.md). */
#ifndef LMRNN_ARRAYS_H
#define LMRNN_ARRAYS_H
#include <stddef.h>
#include <stdint.h>
#include "io/npz.h"

typedef struct LmArrays LmArrays;

LmArrays *lm_arrays_new(void);
void lm_arrays_free(LmArrays *a);   /* NULL is fine */
/* Add a copy of data (C order; shape has ndim entries, ndim 0 = a scalar). A name added twice replaces
 * the earlier array. */
void lm_arrays_add(LmArrays *a, const char *name, LmDtype dtype, int ndim, const int64_t *shape, const void *data);
void lm_arrays_add_string(LmArrays *a, const char *name, const char *text);
void lm_arrays_add_double(LmArrays *a, const char *name, double x);   /* float64 scalar */
void lm_arrays_add_int(LmArrays *a, const char *name, int32_t x);     /* int32 scalar */
int lm_arrays_count(const LmArrays *a);
const LmArray *lm_arrays_at(const LmArrays *a, int i);          /* NULL outside 0..count-1 */
const LmArray *lm_arrays_find(const LmArrays *a, const char *name);   /* NULL if absent */
/* Every array into an .npz at path, in the order added (atomic). 0 or -1 + lm_err_set. */
int lm_arrays_write_npz(const LmArrays *a, const char *path);

#endif
