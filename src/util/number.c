#include "util/number.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include "util/err.h"

/* strtol & co. skip leading white space and accept "-1" for unsigned numbers (it wraps to the
 * maximum): both would turn a typo into a silently different value. */
static int starts_like_a_number(const char *text) { return text[0] != '\0' && !isspace((unsigned char)text[0]); }

int lm_parse_i64(const char *what, const char *text, int64_t min, int64_t max, int64_t *out) {
    char *end;
    errno = 0;
    long long v = starts_like_a_number(text) ? strtoll(text, &end, 10) : 0;
    if (!starts_like_a_number(text) || end == text || *end != '\0' || errno == ERANGE) {
        lm_err_set("%s: '%s' is not an integer", what, text);
        return -1;
    }
    if (v < min || v > max) {
        lm_err_set("%s: %lld is out of range (must be between %lld and %lld)", what, v, (long long)min,
                   (long long)max);
        return -1;
    }
    *out = (int64_t)v;
    return 0;
}

int lm_parse_long(const char *what, const char *text, long min, long max, long *out) {
    int64_t v;
    if (lm_parse_i64(what, text, min, max, &v) != 0) return -1;
    *out = (long)v;
    return 0;
}

int lm_parse_u64(const char *what, const char *text, uint64_t *out) {
    if (text[0] == '-' || text[0] == '+' || !starts_like_a_number(text)) {
        lm_err_set("%s: '%s' is not a non-negative integer", what, text);
        return -1;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (end == text || *end != '\0' || errno == ERANGE) {
        lm_err_set("%s: '%s' is not a non-negative integer", what, text);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

int lm_parse_double(const char *what, const char *text, double min, double max, double *out) {
    char *end;
    errno = 0;
    double v = starts_like_a_number(text) ? strtod(text, &end) : 0;
    if (!starts_like_a_number(text) || end == text || *end != '\0' || !isfinite(v)) {
        lm_err_set("%s: '%s' is not a finite number", what, text);
        return -1;
    }
    /* ERANGE also flags a subnormal result, which is a value like any other; only a result that
     * underflowed to zero lost the number. */
    if (errno == ERANGE && v == 0) {
        lm_err_set("%s: '%s' is too small to represent (it underflows to 0)", what, text);
        return -1;
    }
    if (v < min || v > max) {
        lm_err_set("%s: %g is out of range (must be between %g and %g)", what, v, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int lm_double_to_i64(double x, int64_t min, int64_t max, int64_t *out) {
    /* -2^63 and 2^63 are exact doubles; the cast is defined strictly between them */
    if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0) || x != floor(x)) return -1;
    int64_t v = (int64_t)x;
    if (v < min || v > max) return -1;
    *out = v;
    return 0;
}

long lm_double_to_long_or(double x, long min, long max, long dflt) {
    int64_t v;
    return lm_double_to_i64(x, min, max, &v) == 0 ? (long)v : dflt;
}
