/* Named arrays in memory (io/arrays.h). */
#include "io/arrays.h"
#include <stdlib.h>
#include <string.h>
#include "util/err.h"

struct LmArrays {
    LmArray *items;
    int n, cap;
};

LmArrays *lm_arrays_new(void) { return lm_calloc(1, sizeof(LmArrays)); }

void lm_arrays_free(LmArrays *a) {
    if (!a) return;
    for (int i = 0; i < a->n; i++) free(a->items[i].data);
    free(a->items);
    free(a);
}

/* The slot for `name`: the existing one (its data freed) or a new one at the end. */
static LmArray *slot(LmArrays *a, const char *name) {
    for (int i = 0; i < a->n; i++)
        if (!strcmp(a->items[i].name, name)) {
            free(a->items[i].data);
            return &a->items[i];
        }
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 16;
        a->items = lm_realloc(a->items, (size_t)a->cap * sizeof *a->items);
    }
    LmArray *s = &a->items[a->n++];
    memset(s, 0, sizeof *s);
    LM_ASSERT(strlen(name) < sizeof s->name);
    snprintf(s->name, sizeof s->name, "%s", name);
    return s;
}

void lm_arrays_add(LmArrays *a, const char *name, LmDtype dtype, int ndim, const int64_t *shape, const void *data) {
    LM_ASSERT(dtype != LM_DT_STR && ndim >= 0 && ndim <= LM_NPY_MAXDIM);
    size_t count = 1;
    for (int d = 0; d < ndim; d++) {
        LM_ASSERT(shape[d] >= 0);
        count *= (size_t)shape[d];
    }
    LmArray *s = slot(a, name);
    s->dtype = dtype;
    s->ndim = ndim;
    for (int d = 0; d < ndim; d++) s->shape[d] = shape[d];
    s->count = count;
    const size_t bytes = count * lm_dtype_size(dtype);
    s->data = lm_malloc(bytes ? bytes : 1);
    if (bytes) memcpy(s->data, data, bytes);
}

void lm_arrays_add_string(LmArrays *a, const char *name, const char *text) {
    LmArray *s = slot(a, name);
    s->dtype = LM_DT_STR;
    s->ndim = 0;
    s->count = strlen(text);
    s->data = lm_malloc(s->count + 1);
    memcpy(s->data, text, s->count + 1);
}

void lm_arrays_add_double(LmArrays *a, const char *name, double x) { lm_arrays_add(a, name, LM_DT_F64, 0, NULL, &x); }

void lm_arrays_add_int(LmArrays *a, const char *name, int32_t x) { lm_arrays_add(a, name, LM_DT_I32, 0, NULL, &x); }

int lm_arrays_count(const LmArrays *a) { return a->n; }

const LmArray *lm_arrays_at(const LmArrays *a, int i) { return i >= 0 && i < a->n ? &a->items[i] : NULL; }

const LmArray *lm_arrays_find(const LmArrays *a, const char *name) {
    for (int i = 0; i < a->n; i++)
        if (!strcmp(a->items[i].name, name)) return &a->items[i];
    return NULL;
}

int lm_arrays_write_npz(const LmArrays *a, const char *path) {
    LmNpzWriter *w = lm_npz_create(path);
    if (!w) return -1;
    int rc = 0;
    for (int i = 0; i < a->n && rc == 0; i++) {
        const LmArray *x = &a->items[i];
        rc = x->dtype == LM_DT_STR ? lm_npz_add_string(w, x->name, x->data)
                                   : lm_npz_add(w, x->name, x->dtype, x->ndim, x->shape, x->data);
    }
    if (rc) {
        lm_npz_discard(w);
        return -1;
    }
    return lm_npz_close(w);
}
