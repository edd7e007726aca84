#include "util/err.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static _Thread_local char err_buf[1024];

/* Messages quote text from files and the command line (names, keys, values): a control character there
 * is written as an escape (\n, \t, \xHH), so that an error is always one line. */
static void copy_escaped(char *dst, size_t cap, const char *src) {
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)src; *p && n + 1 < cap; p++) {
        char esc[5] = {(char)*p, 0};
        if (*p == '\n') memcpy(esc, "\\n", 3);
        else if (*p == '\t') memcpy(esc, "\\t", 3);
        else if (*p == '\r') memcpy(esc, "\\r", 3);
        else if (*p < 0x20 || *p == 0x7f) snprintf(esc, sizeof esc, "\\x%02x", *p);
        size_t k = strlen(esc);
        if (n + k + 1 > cap) break;
        memcpy(dst + n, esc, k);
        n += k;
    }
    dst[n] = '\0';
}

void lm_err_set(const char *fmt, ...) {
    char raw[sizeof err_buf];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    copy_escaped(err_buf, sizeof err_buf, raw);
}

const char *lm_err_msg(void) { return err_buf; }

void lm_die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("lmrnn: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

void lm_assert_fail(const char *what, const char *file, int line) {
    fprintf(stderr, "lmrnn: internal error: %s failed at %s:%d\n", what, file, line);
    abort();
}

int lm_name_lookup(const char *what, const char *s, const char *const *names, int n) {
    for (int i = 0; s && i < n; i++)
        if (strcmp(s, names[i]) == 0) return i;
    char list[160] = "";
    for (int i = 0; i < n; i++) {
        strncat(list, names[i], sizeof list - strlen(list) - 1);
        if (i + 1 < n) strncat(list, ", ", sizeof list - strlen(list) - 1);
    }
    lm_err_set("unknown %s '%s' (expected one of: %s)", what, s ? s : "(null)", list);
    return -1;
}

void *lm_malloc_check(size_t n, const char *file, int line) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "lmrnn: out of memory allocating %zu bytes at %s:%d\n", n, file, line);
        exit(1);
    }
    return p;
}

void *lm_calloc_check(size_t count, size_t size, const char *file, int line) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "lmrnn: out of memory allocating %zu x %zu bytes at %s:%d\n", count, size, file,
                line);
        exit(1);
    }
    return p;
}

/* From this size on, buffers are aligned to 2 MB and asked for transparent huge pages (Linux; used when
 * the system's setting is "madvise" or "always"). The [T][B][N] arrays of a wide network are walked in
 * rows 4 N bytes apart, one 4 KB page after another: with 2 MB pages the band gradient at N = 262 144 takes
 * 550 ms instead of 640 (docs/performance.md, "Huge pages"). */
#define HUGE_PAGE_MIN (8u << 20)
#define HUGE_PAGE (2u << 20)

void *lm_calloc_lines_check(size_t n, const char *file, int line) {
    void *p = NULL;
    size_t bytes = (n + 63) / 64 * 64, align = bytes >= HUGE_PAGE_MIN ? HUGE_PAGE : 64;
    if (posix_memalign(&p, align, bytes ? bytes : 64) != 0) {
        fprintf(stderr, "lmrnn: out of memory allocating %zu bytes at %s:%d\n", n, file, line);
        exit(1);
    }
#ifdef MADV_HUGEPAGE
    if (align == HUGE_PAGE) madvise(p, (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE, MADV_HUGEPAGE);   /* a hint */
#endif
    memset(p, 0, bytes ? bytes : 64);
    return p;
}

void *lm_realloc_check(void *p, size_t n, const char *file, int line) {
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "lmrnn: out of memory reallocating %zu bytes at %s:%d\n", n, file, line);
        exit(1);
    }
    return q;
}
