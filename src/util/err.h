/* Error handling. Library functions report failure by returning non-zero (or NULL) after recording a
 * one-line message with lm_err_set(); the command line prints it as "lmrnn: <message>" and exits 1.
 * Allocation failure and internal invariant violations abort with file and line (like llm.c's
 * mallocCheck): they are bugs or an exhausted machine, not user errors. */
#ifndef LMRNN_ERR_H
#define LMRNN_ERR_H
#include <stddef.h>

/* Record the current error (printf-style). Thread-local; later calls overwrite earlier ones. */
void lm_err_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The last recorded message ("" if none). */
const char *lm_err_msg(void);
/* Print "lmrnn: <message>" on stderr and exit(1). */
_Noreturn void lm_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Index of `s` in `names` (n of them), or -1 with the error "unknown <what> 's' (expected one of: ...)". */
int lm_name_lookup(const char *what, const char *s, const char *const *names, int n);

void *lm_malloc_check(size_t n, const char *file, int line);
void *lm_calloc_check(size_t count, size_t size, const char *file, int line);
void *lm_realloc_check(void *p, size_t n, const char *file, int line);
#define lm_malloc(n) lm_malloc_check((n), __FILE__, __LINE__)
#define lm_calloc(c, s) lm_calloc_check((c), (s), __FILE__, __LINE__)
#define lm_realloc(p, n) lm_realloc_check((p), (n), __FILE__, __LINE__)
/* Zeroed, 64-byte (cache line) aligned; release with free(). For buffers that threads write in
 * adjacent slices: slices split at multiples of 16 floats then never share a cache line. */
void *lm_calloc_lines_check(size_t n, const char *file, int line);
#define lm_calloc_lines(n) lm_calloc_lines_check((n), __FILE__, __LINE__)

/* Abort with file:line when an internal invariant does not hold (never for user input). */
#define LM_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond)) lm_assert_fail(#cond, __FILE__, __LINE__);                                    \
    } while (0)
_Noreturn void lm_assert_fail(const char *what, const char *file, int line);

#endif
