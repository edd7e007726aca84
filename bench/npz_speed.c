/* Checkpoint-sized .npz write and read throughput (stored members, temp file + fsync + rename):
 *   build/bench/npz_speed [DIR] [MB]        (default: /tmp, 5 MB) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "io/npz.h"
#include "util/err.h"
#include "util/rng.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    double mb = argc > 2 ? atof(argv[2]) : 5.0;
    int64_t n = (int64_t)(mb * 1024 * 1024 / 4 / 2);
    float *a = malloc(sizeof(float) * (size_t)n), *b = malloc(sizeof(float) * (size_t)n);
    LmRng r;
    lm_rng_seed(&r, 1);
    for (int64_t i = 0; i < n; i++) {
        a[i] = (float)lm_rng_normal(&r);
        b[i] = (float)lm_rng_normal(&r);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/npz_speed.npz", dir);
    const int reps = 10;
    double t0 = now();
    for (int k = 0; k < reps; k++) {
        LmNpzWriter *w = lm_npz_create(path);
        if (!w) lm_die("%s", lm_err_msg());
        lm_npz_add(w, "W_rec", LM_DT_F32, 1, &n, a);
        lm_npz_add(w, "adam_m", LM_DT_F32, 1, &n, b);
        lm_npz_add_string(w, "config", "{\"hidden\": 256}");
        if (lm_npz_close(w)) lm_die("%s", lm_err_msg());
    }
    double tw = (now() - t0) / reps;
    t0 = now();
    for (int k = 0; k < reps; k++) {
        LmNpz *z = lm_npz_read(path);
        if (!z) lm_die("%s", lm_err_msg());
        lm_npz_free(z);
    }
    double tr = (now() - t0) / reps;
    printf("%.1f MB checkpoint: write %.1f ms (%.0f MB/s, incl. fsync), read %.1f ms (%.0f MB/s)\n", mb,
           1e3 * tw, mb / tw, 1e3 * tr, mb / tr);
    remove(path);
    free(a);
    free(b);
    return 0;
}
