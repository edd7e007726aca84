#include "cli/args.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "util/err.h"

int lm_arg_value(LmArgs *a, const char *name, const char **value) {
    const char *arg = a->argv[a->i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0) return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        a->i++;
        return 1;
    }
    if (arg[n] != '\0') return 0;
    if (a->i + 1 >= a->argc) {
        lm_err_set("%s needs a value", name);
        a->failed = 1;
        a->i++;
        return 1;
    }
    *value = a->argv[a->i + 1];
    a->i += 2;
    return 1;
}

int lm_arg_switch(LmArgs *a, const char *name) {
    if (strcmp(a->argv[a->i], name) != 0) return 0;
    a->i++;
    return 1;
}

int lm_parse_long(const char *flag, const char *text, long min, long max, long *out) {
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno == ERANGE) {
        lm_err_set("%s: '%s' is not an integer", flag, text);
        return -1;
    }
    if (v < min || v > max) {
        lm_err_set("%s: %ld is out of range (must be between %ld and %ld)", flag, v, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int lm_parse_u64(const char *flag, const char *text, uint64_t *out) {
    char *end;
    errno = 0;
    if (text[0] == '-') {
        lm_err_set("%s: '%s' must be a non-negative integer", flag, text);
        return -1;
    }
    unsigned long long v = strtoull(text, &end, 10);
    if (end == text || *end != '\0' || errno == ERANGE) {
        lm_err_set("%s: '%s' is not a non-negative integer", flag, text);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

int lm_parse_double(const char *flag, const char *text, double min, double max, double *out) {
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v)) {
        lm_err_set("%s: '%s' is not a finite number", flag, text);
        return -1;
    }
    if (v < min || v > max) {
        lm_err_set("%s: %g is out of range (must be between %g and %g)", flag, v, min, max);
        return -1;
    }
    *out = v;
    return 0;
}
