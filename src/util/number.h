/* Strict number parsing for options and text files: the whole text must be one number (no leading or
 * trailing spaces, no sign on an unsigned value), within an inclusive range. Errors name the option
 * (`what`, e.g. "--steps") and the offending text. */
#ifndef LMRNN_NUMBER_H
#define LMRNN_NUMBER_H
#include <stdint.h>

/* 0, or -1 with lm_err_set("what: 'text' is not an integer" / "... is out of range (...)"). */
int lm_parse_long(const char *what, const char *text, long min, long max, long *out);
int lm_parse_i64(const char *what, const char *text, int64_t min, int64_t max, int64_t *out);
int lm_parse_u64(const char *what, const char *text, uint64_t *out);
int lm_parse_double(const char *what, const char *text, double min, double max, double *out);

/* A number read from a file (JSON) as an integer in [min, max]: 0, or -1 (no message) when x is not
 * finite, not integral or out of range, where a C cast would be undefined behaviour or wrong. */
int lm_double_to_i64(double x, int64_t min, int64_t max, int64_t *out);
/* The same with a fallback: x converted, or `dflt` when it cannot be. */
long lm_double_to_long_or(double x, long min, long max, long dflt);

#endif
