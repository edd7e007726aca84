/* Minimal test harness. Each test binary defines test functions and calls them through RUN() in main;
 * a test passes when none of its CHECKs failed. CHECK_DONE() prints "N passed, N failed" and returns
 * the exit status. tests/run.sh adds the counts of all binaries into the suite's final line. */
#ifndef LMRNN_CHECK_H
#define LMRNN_CHECK_H
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

static int check_failures_in_test;
static int check_tests_passed, check_tests_failed;

/* Prints the optional explanation of a failed CHECK (no format attribute: it may be empty). */
static inline void check_explain(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            check_failures_in_test++;                                                              \
            fprintf(stderr, "  FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                       \
            check_explain("" __VA_ARGS__);                                                         \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

/* |a - b| <= tol * max(1, |a|, |b|) */
#define CHECK_CLOSE(a, b, tol)                                                                     \
    do {                                                                                           \
        double ca_ = (double)(a), cb_ = (double)(b);                                               \
        double sc_ = fmax(1.0, fmax(fabs(ca_), fabs(cb_)));                                        \
        CHECK(fabs(ca_ - cb_) <= (tol) * sc_, "%s = %.9g, %s = %.9g", #a, ca_, #b, cb_);            \
    } while (0)

#define RUN(fn)                                                                                    \
    do {                                                                                           \
        check_failures_in_test = 0;                                                                \
        fn();                                                                                      \
        if (check_failures_in_test) {                                                              \
            check_tests_failed++;                                                                  \
            fprintf(stderr, "FAIL %s\n", #fn);                                                     \
        } else {                                                                                   \
            check_tests_passed++;                                                                  \
            printf("ok   %s\n", #fn);                                                              \
        }                                                                                          \
        fflush(stdout);                                                                            \
    } while (0)

#define CHECK_DONE()                                                                               \
    (printf("%d passed, %d failed\n", check_tests_passed, check_tests_failed),                     \
     check_tests_failed ? 1 : 0)

#endif
