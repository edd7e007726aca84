/* Command-line parsing shared by the subcommands: "--name value" and "--name=value" options, and
 * strict number parsing whose errors name the flag and the offending text. */
#ifndef LMRNN_ARGS_H
#define LMRNN_ARGS_H
#include <stdint.h>

typedef struct {
    int argc;
    char **argv;
    int i;              /* index of the argument being looked at */
    int failed;         /* set when an option lacked its value (message in lm_err_msg()) */
} LmArgs;

static inline LmArgs lm_args(int argc, char **argv, int first) {
    LmArgs a = {argc, argv, first, 0};
    return a;
}
static inline int lm_args_more(const LmArgs *a) { return a->i < a->argc && !a->failed; }
static inline const char *lm_args_peek(const LmArgs *a) { return a->argv[a->i]; }

/* If the current argument is --name or --name=VALUE: set *value, advance past it, return 1.
 * A missing value sets a->failed and lm_err_set("--name needs a value"), returning 1. Otherwise 0. */
int lm_arg_value(LmArgs *a, const char *name, const char **value);
/* If the current argument is the switch --name: advance, return 1. Otherwise 0. */
int lm_arg_switch(LmArgs *a, const char *name);

/* Strict parsers: the whole text must be a number within [min, max]. 0, or -1 with
 * lm_err_set("--flag: 'text' is not an integer" / "... must be between min and max"). */
int lm_parse_long(const char *flag, const char *text, long min, long max, long *out);
int lm_parse_u64(const char *flag, const char *text, uint64_t *out);
int lm_parse_double(const char *flag, const char *text, double min, double max, double *out);

#endif
