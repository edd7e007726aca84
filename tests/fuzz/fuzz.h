/* Shared by the libFuzzer harnesses (docs/fuzzing.md): each reader takes a path, so the input is written
 * to a file of this process first. Every harness only asserts what the readers promise: no crash, no
 * undefined behaviour, no leak, and a one-line message whenever an input is refused. */
#ifndef LMRNN_FUZZ_H
#define LMRNN_FUZZ_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A directory of this process under /tmp, created once. */
static inline const char *fuzz_dir(void) {
    static char dir[64];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/lmrnn_fuzz.%ld", (long)getpid());
        mkdir(dir, 0700);
    }
    return dir;
}

/* Write the input to <fuzz_dir>/<name> and return that path. */
static inline const char *fuzz_file(const char *name, const uint8_t *data, size_t size) {
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", fuzz_dir(), name);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    return path;
}

/* A refused input must say why, on one line. */
static inline void fuzz_expect_message(void) {
    const char *m = lm_err_msg();
    if (!m[0] || strchr(m, '\n')) abort();
}

#endif
