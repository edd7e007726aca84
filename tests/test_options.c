/* The options table (src/util/options.h) and the strict number parsers (src/util/number.h): every form
 * of flag, every type, ranges, JSON round trips, help text and the messages. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "util/err.h"
#include "util/number.h"
#include "util/options.h"

typedef struct {
    char name[8];
    const char *ptr;
    int count, on, colour, pair_a, pair_b;
    int64_t big;
    uint64_t seed;
    double rate;
} Demo;

static const char *const colours[] = {"red", "dark_blue", "green", NULL};
static const int colour_values[] = {-1, 5, 7};

/* A custom option filling two members: "AxB". */
static int set_pair(void *obj, const char *v) {
    Demo *d = obj;
    char *end;
    long a = strtol(v, &end, 10);
    if (end == v || *end != 'x') {
        lm_err_set("'%s' is not AxB", v);
        return -1;
    }
    d->pair_a = (int)a;
    d->pair_b = atoi(end + 1);
    return 0;
}
static void fmt_pair(const void *obj, char *buf, size_t n) {
    const Demo *d = obj;
    snprintf(buf, n, "%dx%d", d->pair_a, d->pair_b);
}

#define O(name, type, field, size, lo, hi, flags, def) \
    {name, type, offsetof(Demo, field), size, lo, hi, flags, def, "help of " name, NULL, NULL, NULL, NULL, 0}
static const LmOption demo_opts[] = {
    O("name", LM_OPT_STRING, name, sizeof(((Demo *)0)->name), 0, 0, 0, "abc"),
    O("count", LM_OPT_INT, count, 0, 1, 10, 0, "3"),
    O("on", LM_OPT_BOOL, on, 0, 0, 0, 0, "false"),
    {"colour", LM_OPT_ENUM, offsetof(Demo, colour), 0, 0, 0, 0, "dark_blue", "a colour", colours, colour_values,
     NULL, NULL, 0},
    {"pair", LM_OPT_CUSTOM, 0, 0, 0, 0, 0, "2x3", "two numbers", NULL, NULL, set_pair, fmt_pair, 0},
    O("big_number", LM_OPT_INT64, big, 0, 0, 0, 0, "-5"),
    O("seed", LM_OPT_UINT64, seed, 0, 0, 0, 0, "18446744073709551615"),
    O("rate", LM_OPT_DOUBLE, rate, 0, 0, 1, LM_OPT_POSITIVE, "0.25"),
};
static const LmOptTable demo = {"demo", demo_opts, LM_OPTS_COUNT(demo_opts)};
static const LmOption ptr_opts[] = {O("ptr", LM_OPT_STRING, ptr, 0, 0, 0, 0, NULL)};
static const LmOptTable ptr_table = {"demo", ptr_opts, 1};

static void test_numbers_are_strict(void) {
    long l;
    int64_t i;
    uint64_t u;
    double d;
    CHECK(lm_parse_long("--x", "42", 0, 100, &l) == 0 && l == 42);
    CHECK(lm_parse_long("--x", " 42", 0, 100, &l) != 0, "leading space");
    CHECK(lm_parse_long("--x", "42 ", 0, 100, &l) != 0, "trailing space");
    CHECK(lm_parse_long("--x", "", 0, 100, &l) != 0);
    CHECK(lm_parse_long("--x", "101", 0, 100, &l) != 0 && strstr(lm_err_msg(), "between 0 and 100"));
    CHECK(lm_parse_i64("--x", "-9223372036854775808", INT64_MIN, INT64_MAX, &i) == 0 && i == INT64_MIN);
    CHECK(lm_parse_i64("--x", "9223372036854775808", INT64_MIN, INT64_MAX, &i) != 0, "overflow");
    CHECK(lm_parse_u64("--x", "18446744073709551615", &u) == 0 && u == UINT64_MAX);
    CHECK(lm_parse_u64("--x", "-1", &u) != 0);
    CHECK(lm_parse_u64("--x", " -1", &u) != 0, "a space before the sign must not wrap to 2^64-1");
    CHECK(lm_parse_u64("--x", "+1", &u) != 0);
    CHECK(lm_parse_u64("--x", "18446744073709551616", &u) != 0);
    CHECK(lm_parse_double("--x", "1e-3", 0, 1, &d) == 0 && d == 1e-3);
    CHECK(lm_parse_double("--x", " 1", 0, 1, &d) != 0);
    CHECK(lm_parse_double("--x", "nan", -1, 1, &d) != 0);
    CHECK(lm_parse_double("--x", "inf", -HUGE_VAL, HUGE_VAL, &d) != 0);
    CHECK(lm_parse_double("--x", "1.5x", 0, 10, &d) != 0 && strstr(lm_err_msg(), "'1.5x'"));
}

static void test_defaults_and_every_type(void) {
    Demo d;
    memset(&d, 0, sizeof d);
    lm_opts_defaults(&demo, &d);
    CHECK(!strcmp(d.name, "abc") && d.count == 3 && !d.on && d.colour == 5 && d.pair_a == 2 && d.pair_b == 3);
    CHECK(d.big == -5 && d.seed == UINT64_MAX && d.rate == 0.25);
    CHECK(lm_opts_set(&demo, &d, "--colour", "red") == 0 && d.colour == -1);
    CHECK(lm_opts_set(&demo, &d, "colour", "dark-blue") == 0 && d.colour == 5, "'-' and '_' are the same");
    CHECK(lm_opts_set(&demo, &d, "colour", "blue") != 0);
    CHECK(strstr(lm_err_msg(), "--colour: ") == lm_err_msg() && strstr(lm_err_msg(), "red, dark_blue, green"),
          "%s", lm_err_msg());
    CHECK(lm_opts_set(&demo, &d, "big-number", "123456789012") == 0 && d.big == 123456789012LL);
    CHECK(lm_opts_set(&demo, &d, "big_number", "1.5") != 0);
    CHECK(lm_opts_set(&demo, &d, "count", "11") != 0 && strstr(lm_err_msg(), "--count"));
    CHECK(d.count == 3, "a refused value leaves the option as it was");
    CHECK(lm_opts_set(&demo, &d, "rate", "0") != 0 && strstr(lm_err_msg(), "greater than 0"));
    CHECK(lm_opts_set(&demo, &d, "name", "abcdefgh") != 0 && strstr(lm_err_msg(), "too long"));
    CHECK(lm_opts_set(&demo, &d, "name", "abcdefg") == 0 && !strcmp(d.name, "abcdefg"));
    CHECK(lm_opts_set(&demo, &d, "on", "yes") == 0 && d.on == 1);
    CHECK(lm_opts_set(&demo, &d, "on", "maybe") != 0 && strstr(lm_err_msg(), "--on: "));
    CHECK(lm_opts_set(&demo, &d, "pair", "7y") != 0 && !strcmp(lm_err_msg(), "--pair: '7y' is not AxB"),
          "%s", lm_err_msg());
    CHECK(lm_opts_set(&demo, &d, "nosuch", "1") != 0 && strstr(lm_err_msg(), "unknown option 'nosuch'"));
}

static void test_command_lines(void) {
    Demo d;
    memset(&d, 0, sizeof d);
    LmOptScan s;
    char *argv[] = {"pos1", "--count", "7", "--rate=0.5", "--on", "--pair=4x5", "--seed", "9", "pos2", NULL};
    CHECK(lm_opts_parse(&demo, &d, 9, argv, 2, &s) == 0, "%s", lm_err_msg());
    CHECK(d.count == 7 && d.rate == 0.5 && d.on == 1 && d.pair_a == 4 && d.pair_b == 5 && d.seed == 9);
    CHECK(s.n_pos == 2 && !strcmp(s.pos[0], "pos1") && !strcmp(s.pos[1], "pos2") && !s.help);
    CHECK(lm_opts_given(&s, "rate") && lm_opts_given(&s, "--pair") && !lm_opts_given(&s, "name"));
    CHECK(lm_opts_parse(&demo, &d, 2, (char *[]){"--on=false", "--count=-1"}, 0, &s) != 0);
    CHECK(!strcmp(lm_err_msg(), "--count: -1 is out of range (must be between 1 and 10)"), "%s", lm_err_msg());
    CHECK(lm_opts_parse(&demo, &d, 1, (char *[]){"--count"}, 0, &s) != 0 && strstr(lm_err_msg(), "needs a value"));
    CHECK(lm_opts_parse(&demo, &d, 1, (char *[]){"--cuont"}, 0, &s) != 0);
    CHECK(strstr(lm_err_msg(), "unknown option '--cuont'") && strstr(lm_err_msg(), "lmrnn demo --help"));
    CHECK(lm_opts_parse(&demo, &d, 1, (char *[]){"-x"}, 0, &s) != 0, "a single-dash word is not positional");
    CHECK(lm_opts_parse(&demo, &d, 2, (char *[]){"a", "b"}, 1, &s) != 0 && strstr(lm_err_msg(), "'b'"));
    CHECK(lm_opts_parse(&demo, &d, 2, (char *[]){"--count", "-1"}, 0, &s) != 0, "a value may start with '-'");
    CHECK(lm_opts_parse(&demo, &d, 2, (char *[]){"-h", "--count=2"}, 0, &s) == 0 && s.help && d.count == 2);
    /* Two tables: each option goes to its own struct; the later of two values wins. */
    Demo p = {0};
    const LmOptTable *both[2] = {&ptr_table, &demo};
    char *argv2[] = {"--ptr", "hello", "--count", "4", "--count", "5"};
    CHECK(lm_opts_scan(both, 2, 6, argv2, 0, &s) == 0);
    lm_opts_defaults(&demo, &d);
    CHECK(lm_opts_apply(&ptr_table, &p, &s) == 0 && lm_opts_apply(&demo, &d, &s) == 0);
    CHECK(p.ptr == argv2[1] && p.count == 0 && d.count == 5 && d.ptr == NULL);
}

static void test_json_round_trip(void) {
    Demo a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    lm_opts_defaults(&demo, &a);
    lm_opts_set(&demo, &a, "colour", "green");
    lm_opts_set(&demo, &a, "rate", "0.1");
    lm_opts_set(&demo, &a, "big_number", "-12");
    cJSON *j = lm_opts_to_json(&demo, &a);
    CHECK(cJSON_IsString(cJSON_GetObjectItem(j, "seed")), "2^64-1 is kept exact as text");
    CHECK(cJSON_IsString(cJSON_GetObjectItem(j, "pair")) && cJSON_IsBool(cJSON_GetObjectItem(j, "on")));
    CHECK(lm_opts_apply_json(&demo, &b, j, "x.json", NULL) == 0, "%s", lm_err_msg());
    for (int i = 0; i < demo.n; i++) CHECK(lm_opts_equal(&demo_opts[i], &a, &b), "%s", demo_opts[i].name);
    cJSON_Delete(j);
    j = cJSON_Parse("{\"count\": 12, \"version\": \"0\"}");
    static const char *const ignore[] = {"version", NULL};
    CHECK(lm_opts_apply_json(&demo, &b, j, "x.json", ignore) != 0);
    CHECK(!strncmp(lm_err_msg(), "x.json: --count: ", 17), "%s", lm_err_msg());
    cJSON_Delete(j);
    j = cJSON_Parse("{\"colour\": [1]}");
    CHECK(lm_opts_apply_json(&demo, &b, j, "x.json", NULL) != 0 && strstr(lm_err_msg(), "colour"));
    cJSON_Delete(j);
    j = cJSON_Parse("{\"ptr\": \"dangling\"}");
    CHECK(lm_opts_apply_json(&ptr_table, &b, j, "x.json", NULL) != 0, "a pointer option would outlive the JSON");
    cJSON_Delete(j);
    j = cJSON_Parse("[1]");
    CHECK(lm_opts_apply_json(&demo, &b, j, "x.json", NULL) != 0);
    cJSON_Delete(j);
}

static void test_help_and_messages(void) {
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    lm_opts_print_help(f, &demo);
    fclose(f);
    CHECK(strstr(buf, "--big-number") && strstr(buf, "help of big_number"), "%s", buf);
    CHECK(strstr(buf, "--colour") && strstr(buf, "dark_blue"));
    CHECK(strstr(buf, "--on                 off"), "switches show on/off: %s", buf);
    int lines = 0;
    for (char *p = buf; *p; p++) lines += *p == '\n';
    CHECK(lines == demo.n);
    free(buf);
    lm_err_set("--count: bad");
    CHECK(lm_opts_fail("demo", LM_EXIT_USAGE) == 2 && LM_EXIT_FAILED == 1 && LM_EXIT_OK == 0);
}

int main(void) {
    RUN(test_numbers_are_strict);
    RUN(test_defaults_and_every_type);
    RUN(test_command_lines);
    RUN(test_json_round_trip);
    RUN(test_help_and_messages);
    return CHECK_DONE();
}
