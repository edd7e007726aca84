/* Helpers shared by the tests that drive the real lmrnn binary on temporary directories
 * (test_experiment, test_sweep): files, paths and running the program. Each test program sets
 * tmp_root and lmrnn_bin (lm_find_binary) in main. */
#ifndef LMRNN_TEST_RUN_HELPERS_H
#define LMRNN_TEST_RUN_HELPERS_H
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char tmp_root[PATH_MAX];
static char lmrnn_bin[PATH_MAX];

/* ---------------------------------------------------------------- helpers */
static inline int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw) { return remove(p); }
static inline void rm_rf(const char *p) { nftw(p, rm_cb, 16, FTW_DEPTH | FTW_PHYS); }

static inline void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return;
    }
    fputs(text, f);
    fclose(f);
}

static inline char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

static inline int file_has(const char *path, const char *needle) {
    char *s = read_text(path);
    int yes = s && strstr(s, needle) != NULL;
    free(s);
    return yes;
}

static inline int is_png(const char *path) {
    unsigned char m[8] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(m, 1, 8, f);
    fclose(f);
    static const unsigned char magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    return n == 8 && memcmp(m, magic, 8) == 0;
}

static inline int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

static inline struct timespec mtime(const char *p) {
    struct stat st;
    struct timespec zero = {0, 0};
    if (stat(p, &st) != 0) return zero;
    return st.st_mtim;
}
static inline int same_time(struct timespec a, struct timespec b) { return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec; }

static inline void pathf(char *out, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, PATH_MAX, fmt, ap);
    va_end(ap);
}

/* Run the lmrnn binary with args; stdout+stderr to `log`. Returns the exit status (-1 if it crashed). */
static inline int run_lmrnn(const char *log, const char *const *args) {
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        const char *argv[32];
        int n = 0;
        argv[n++] = lmrnn_bin;
        for (int i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
        argv[n] = NULL;
        execv(lmrnn_bin, (char *const *)argv);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static inline void show_log(const char *log) {
    char *s = read_text(log);
    if (s) fprintf(stderr, "---- %s\n%s----\n", log, s);
    free(s);
}

/* lmrnn_bin = build/lmrnn-san (else build/lmrnn) next to the test binary's directory. */
static inline void find_binary(const char *argv0) {
    char self[PATH_MAX];
    snprintf(self, sizeof self, "%s", argv0);
    char *bindir = dirname(self);
    static const char *cands[] = {"%s/../lmrnn-san", "%s/../lmrnn"};
    for (int i = 0; i < 2 && !lmrnn_bin[0]; i++) {
        char c[PATH_MAX];
        snprintf(c, sizeof c, cands[i], bindir);
        if (access(c, X_OK) == 0 && realpath(c, lmrnn_bin) == NULL) lmrnn_bin[0] = '\0';
    }
}

#endif
