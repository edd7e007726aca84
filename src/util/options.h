/* Options tables (in the style of Redis's config.c): one row per option — name, type, where it lives in
 * the command's options struct, range, default, help — drives everything a command does with options:
 * parsing flags ("--name value", "--name=value", switches), JSON objects (config files, plans),
 * writing them back as JSON, --help text, and the error messages, which all start with
 * "lmrnn: <command>: --name: ...". A command then only says what its options mean.
 *
 * Names are written with underscores ("sigma_rec"); on the command line they are spelled with dashes
 * ("--sigma-rec"), and wherever a name is looked up '-' and '_' are interchangeable.
 *
 * Exit status of every command (documented once, in the README):
 *   0 ok, 1 failed work (bad run directory, I/O, a failed training), 2 bad usage (bad option or value). */
#ifndef LMRNN_OPTIONS_H
#define LMRNN_OPTIONS_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cjson/cJSON.h>

enum { LM_EXIT_OK = 0, LM_EXIT_FAILED = 1, LM_EXIT_USAGE = 2 };

typedef enum {
    LM_OPT_STRING, /* char[size] (copied, length checked) or, with size 0, a const char * (points into
                    * the parsed text: argv only, not settable from JSON) */
    LM_OPT_INT,    /* int, range [min, max] (0, 0 = any int) */
    LM_OPT_INT64,  /* int64_t, range [min, max] (0, 0 = any) */
    LM_OPT_UINT64, /* uint64_t, no sign allowed */
    LM_OPT_DOUBLE, /* double, finite, range [min, max] (0, 0 = any finite) */
    LM_OPT_BOOL,   /* int 0/1; a switch on the command line; true/false, 1/0, yes/no as text */
    LM_OPT_ENUM,   /* an int-sized enum; `names` NULL-terminated, value = index or values[index] */
    LM_OPT_CUSTOM  /* `parse` and `format` given by the table's owner */
} LmOptType;

/* Option flags. */
#define LM_OPT_POSITIVE 1u /* numbers: must also be > 0 */

/* Custom options get the whole options struct (a value may fill several members). parse: 0, or -1
 * with lm_err_set() (the module prefixes the flag name). format: the value as text, as parse reads it. */
typedef int (*LmOptParse)(void *obj, const char *text);
typedef void (*LmOptFormat)(const void *obj, char *buf, size_t n);

typedef struct {
    const char *name;         /* underscore spelling */
    LmOptType type;
    size_t offset;            /* offsetof(struct, member); unused by CUSTOM */
    size_t size;              /* STRING: capacity of the char array (0 = const char *) */
    double min, max;          /* numbers: inclusive range */
    unsigned flags;           /* LM_OPT_POSITIVE */
    const char *def;          /* default as text, applied by lm_opts_defaults; NULL = left as is */
    const char *help;         /* one line for --help */
    const char *const *names; /* ENUM: accepted names, NULL-terminated */
    const int *values;        /* ENUM: value of each name (NULL = its index) */
    LmOptParse parse;         /* CUSTOM */
    LmOptFormat format;       /* CUSTOM */
    unsigned user;            /* free for the table's owner (e.g. train: does not change the weights) */
} LmOption;

typedef struct {
    const char *command;      /* "train", "tasks dump": the prefix of every message */
    const LmOption *opts;
    int n;
} LmOptTable;

#define LM_OPTS_COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The result of scanning a command line: the options in the order given, the positional arguments,
 * and whether --help / -h was asked for. Values point into argv. */
#define LM_OPTS_MAX_ARGS 256
#define LM_OPTS_MAX_POS 8
typedef struct {
    struct {
        const LmOptTable *table;
        const LmOption *opt;
        const char *value;
    } args[LM_OPTS_MAX_ARGS];
    int n;
    const char *pos[LM_OPTS_MAX_POS];
    int n_pos;
    int help;
} LmOptScan;

/* The option called `key` (leading dashes, '-' or '_' inside), or NULL. */
const LmOption *lm_opts_find(const LmOptTable *t, const char *key);
/* "--sigma-rec" for the option "sigma_rec". */
void lm_opts_flag(const LmOption *o, char *buf, size_t n);
/* Set every option that has a default. */
void lm_opts_defaults(const LmOptTable *t, void *obj);
/* Set one option from text. 0, or -1 with lm_err_set("--name: ...") (also for an unknown key). */
int lm_opts_set(const LmOptTable *t, void *obj, const char *key, const char *value);
/* Set one option directly. */
int lm_opts_set_opt(const LmOption *o, void *obj, const char *value);

/* Split argv into options of any of the tables (the first table that has a name wins), positional
 * arguments (at most max_pos, each not starting with '-') and --help. Nothing is set yet. 0, or -1 with
 * lm_err_set() for an unknown option, a missing value, or one positional argument too many. */
int lm_opts_scan(const LmOptTable *const *tables, int n_tables, int argc, char **argv, int max_pos,
                 LmOptScan *s);
/* Apply the scanned options of table t to obj, in the order given. 0 or -1 with lm_err_set(). */
int lm_opts_apply(const LmOptTable *t, void *obj, const LmOptScan *s);
/* 1 if the option `name` of any table was given on the command line. */
int lm_opts_given(const LmOptScan *s, const char *name);
/* Defaults, then scan and apply a command line that has only the options of t. 0 or -1. */
int lm_opts_parse(const LmOptTable *t, void *obj, int argc, char **argv, int max_pos, LmOptScan *s);

/* Apply every member of a JSON object (numbers, strings, booleans; null sets a string or custom option
 * to ""). Keys listed in `ignore` (NULL-terminated, may be NULL) are skipped. `what` names the source in
 * messages. 0 or -1 with lm_err_set("what: --name: ..."). */
int lm_opts_apply_json(const LmOptTable *t, void *obj, const cJSON *json, const char *what,
                       const char *const *ignore);
/* Every option as a JSON member (underscore keys, in table order). Caller frees. */
cJSON *lm_opts_to_json(const LmOptTable *t, const void *obj);
/* The value of one option as text (what lm_opts_set reads back to the same value). */
void lm_opts_format(const LmOption *o, const void *obj, char *buf, size_t n);
/* 1 if option o has the same value in a and b. */
int lm_opts_equal(const LmOption *o, const void *a, const void *b);

/* "  --name VALUE   default   help" for every option. */
void lm_opts_print_help(FILE *f, const LmOptTable *t);

/* Print "lmrnn: <command>: <last error>" on stderr and return `status` (LM_EXIT_FAILED or
 * LM_EXIT_USAGE), so that a command ends with `return lm_opts_fail("eval", LM_EXIT_USAGE);`. */
int lm_opts_fail(const char *command, int status);

#endif
