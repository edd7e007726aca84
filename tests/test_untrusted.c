/* Untrusted files through the real binary (build/lmrnn-san): crafted checkpoints, configs and masks must
 * give a one-line error and a non-zero exit, never a crash, a hang or an unbounded allocation. The
 * checkpoints are edits of one a tiny run of the binary itself writes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>
#include "check.h"
#include "proc.h"
#include "io/npy_internal.h"
#include "io/npz.h"
#include "tasks/tasks.h"
#include "train/log.h"
#include "util/number.h"
#include "util/err.h"
#include "util/rng.h"

static char bin[1024], root[1024], tmp[256], run_dir[512], ckpt[600];

#define TINY "--battery", "go,dm1,dms", "--hidden", "16", "--d", "2", "--batch", "2", "--window", "40", \
             "--eval-every", "0", "--eval-trials", "4", "--checkpoint-every", "10", "--no-plot", "--quiet"

/* Run `lmrnn args...` (stdout, stderr to <tmp>/<tag>.out/.err); exit status or 128 + signal; the child's
 * peak resident memory in *maxrss_kb if given. `timeout` guards against a hang, which then fails. */
static int run_rss(const char *tag, char *const *args, long *maxrss_kb) {
    char *argv[64] = {"timeout", "-s", "KILL", "120", bin};
    int n = 5;
    for (int i = 0; args[i] && n < 63; i++) argv[n++] = args[i];
    argv[n] = NULL;
    return proc_wait(proc_spawn(tmp, tag, argv, 0), maxrss_kb);
}

static int run(const char *tag, char *const *args) { return run_rss(tag, args, NULL); }

static void read_text(const char *tag, const char *ext, char *buf, size_t n) { proc_read(tmp, tag, ext, buf, n); }

static void expect_error(const char *tag, char *const *args, int status, const char *want) {
    proc_check_error(tmp, tag, run(tag, args), status, want);
}

/* Copy checkpoint `src` to `dst` with member `name` replaced (or added). */
static void rewrite(const char *src, const char *dst, const char *name, LmDtype dt, int ndim,
                    const int64_t *shape, const void *data) {
    LmNpz *z = lm_npz_read(src);
    LM_ASSERT(z);
    LmNpzWriter *w = lm_npz_create(dst);
    LM_ASSERT(w);
    for (int i = 0; i < lm_npz_count(z); i++) {
        const LmArray *a = lm_npz_at(z, i);
        LM_ASSERT(a);
        if (!strcmp(a->name, name)) continue;
        if (a->dtype == LM_DT_STR) LM_ASSERT(lm_npz_add_string(w, a->name, a->data) == 0);
        else LM_ASSERT(lm_npz_add(w, a->name, a->dtype, a->ndim, a->shape, a->data) == 0);
    }
    if (dt == LM_DT_STR) LM_ASSERT(lm_npz_add_string(w, name, data) == 0);
    else LM_ASSERT(lm_npz_add(w, name, dt, ndim, shape, data) == 0);
    LM_ASSERT(lm_npz_close(w) == 0);
    lm_npz_free(z);
}

/* A copy of the tiny run's directory as <tmp>/<name>, its checkpoint path in `out`. */
static void copy_run(const char *name, char *out, size_t n) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/%s' && cp -r '%s' '%s/%s'", tmp, name, run_dir, tmp, name);
    LM_ASSERT(system(cmd) == 0);
    snprintf(out, n, "%s/%s/checkpoint.npz", tmp, name);
}

static uint8_t *stream_state(size_t *n) {
    LmNpz *z = lm_npz_read(ckpt);
    const LmArray *a = z ? lm_npz_find(z, "stream_state") : NULL;
    LM_ASSERT(a);
    uint8_t *s = malloc(a->count);
    memcpy(s, a->data, a->count);
    *n = a->count;
    lm_npz_free(z);
    return s;
}

/* Offset of row 0 in the stream state: the header (40 bytes: magic, version, seed, fix, batch, window,
 * cache_len, n_tasks, seq_start) then the battery's task ids. */
static size_t row0(const uint8_t *s) {
    int32_t n_tasks;
    memcpy(&n_tasks, s + 32, 4);
    LM_ASSERT(!memcmp(s, "TSML", 4) && n_tasks == 3);
    return 40 + 4 * (size_t)n_tasks;
}

static void resume_expect(const char *name, const uint8_t *state, size_t n, const char *want) {
    char dst[700];
    copy_run(name, dst, sizeof dst);
    rewrite(ckpt, dst, "stream_state", LM_DT_U8, 1, (int64_t[]){(int64_t)n}, state);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/%s", tmp, name);
    expect_error(name, (char *[]){"train", "--resume", dir, "--steps", "40", NULL}, 1, want);
}

/* The SIGSEGV of issue 9: a pending trial with a corrupt period count walked past its period table. */
static void corrupt_pending_trial_is_refused(void) {
    size_t n;
    uint8_t *s = stream_state(&n);
    size_t trial = row0(s) + 3 * sizeof(LmRng) + 3 * 4 + 8 + 3;
    int32_t bad = 1000000;
    memcpy(s + trial + offsetof(LmTrial, n_periods), &bad, 4);
    resume_expect("bad_periods", s, n, "period count");
    free(s);
    s = stream_state(&n);
    char *name = (char *)s + trial + offsetof(LmTrial, periods) + offsetof(LmPeriod, name);
    memset(name, 'x', sizeof(((LmPeriod *)0)->name));   /* no NUL */
    resume_expect("bad_period_name", s, n, "period name");
    free(s);
    s = stream_state(&n);
    int32_t label = 99;
    memcpy(s + trial + offsetof(LmTrial, gt), &label, 4);
    resume_expect("bad_label", s, n, "label out of range");
    free(s);
}

/* The endless loop of issue 9: all-zero xoshiro states never advance (lm_rng_below would spin). */
static void zero_generator_states_are_refused(void) {
    for (int k = 0; k < 3; k++) {
        size_t n;
        uint8_t *s = stream_state(&n);
        memset(s + row0(s) + (size_t)k * sizeof(LmRng), 0, sizeof(LmRng));
        char name[32];
        snprintf(name, sizeof name, "zero_rng%d", k);
        resume_expect(name, s, n, "all-zero state");
        free(s);
    }
    char dst[700], dir[600];
    copy_run("zero_noise", dst, sizeof dst);
    int64_t zero[4] = {0, 0, 0, 0};
    rewrite(ckpt, dst, "rng_noise", LM_DT_I64, 1, (int64_t[]){4}, zero);
    snprintf(dir, sizeof dir, "%s/zero_noise", tmp);
    expect_error("zero_noise", (char *[]){"train", "--resume", dir, "--steps", "40", NULL}, 1, "all-zero");
    /* the generator itself stays bounded on the impossible state */
    LmRng r = {{0, 0, 0, 0}};
    CHECK(lm_rng_below(&r, 3) < 3);
}

/* The stored config of `ckpt` with one option replaced textually. */
static char *stored_config_with(const char *from, const char *to) {
    LmNpz *z = lm_npz_read(ckpt);
    const LmArray *a = z ? lm_npz_find(z, "config") : NULL;
    LM_ASSERT(a);
    const char *at = strstr(a->data, from);
    LM_ASSERT(at);
    size_t n = strlen(a->data) + strlen(to) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s%s%s", (int)(at - (const char *)a->data), (const char *)a->data, to, at + strlen(from));
    lm_npz_free(z);
    return out;
}

/* A small checkpoint whose stored options multiply to terabytes, and one naming /dev/zero as its mask. */
static void stored_config_is_bounded(void) {
    char dst[700], dir[600];
    char *cfg = stored_config_with("\"hidden\":16", "\"hidden\":16384");
    const char *b = strstr(cfg, "\"batch\":2"), *w = strstr(cfg, "\"window\":40");
    LM_ASSERT(b && w && b < w);
    char *huge = malloc(strlen(cfg) + 64);
    sprintf(huge, "%.*s\"batch\":4096%.*s\"window\":100000%s", (int)(b - cfg), cfg, (int)(w - b - 9), b + 9, w + 11);
    copy_run("huge", dst, sizeof dst);
    rewrite(ckpt, dst, "config", LM_DT_STR, 0, NULL, huge);
    snprintf(dir, sizeof dir, "%s/huge", tmp);
    expect_error("huge_eval", (char *[]){"eval", dir, NULL}, 1, "GB");
    expect_error("huge_plot", (char *[]){"plot", dir, NULL}, 1, "GB");
    free(huge);
    free(cfg);
    /* the same product from flags */
    expect_error("huge_train", (char *[]){"train", "--out", dir, "--force", "--hidden", "16384", "--mask", "full",
                                          "--batch", "4096", "--window", "100000", "--quiet", NULL}, 1, "GB");

    cfg = stored_config_with("\"mask\":\"local2d\"", "\"mask\":\"file\"");
    char *at = strstr(cfg, "\"mask_file\":\"\"");
    LM_ASSERT(at);
    char *with_file = malloc(strlen(cfg) + 32);
    sprintf(with_file, "%.*s\"mask_file\":\"/dev/zero\"%s", (int)(at - cfg), cfg, at + 14);
    free(cfg);
    cfg = with_file;
    copy_run("devzero", dst, sizeof dst);
    rewrite(ckpt, dst, "config", LM_DT_STR, 0, NULL, cfg);
    snprintf(dir, sizeof dir, "%s/devzero", tmp);
    expect_error("devzero_eval", (char *[]){"eval", dir, NULL}, 1, "not a regular file");
    free(cfg);
}

/* --config and --mask-file: /dev/zero, a FIFO (no writer: opening it must not block) and a directory. */
static void config_and_mask_files_must_be_regular(void) {
    char fifo[600], out[600];
    snprintf(fifo, sizeof fifo, "%s/fifo", tmp);
    snprintf(out, sizeof out, "%s/never", tmp);
    CHECK(mkfifo(fifo, 0644) == 0);
    const char *bad[] = {"/dev/zero", fifo, tmp};
    for (int i = 0; i < 3; i++) {
        char tag[32];
        snprintf(tag, sizeof tag, "cfg%d", i);
        expect_error(tag, (char *[]){"train", "--out", out, "--config", (char *)bad[i], NULL}, 2, "not a regular file");
        snprintf(tag, sizeof tag, "maskfile%d", i);
        expect_error(tag, (char *[]){"train", "--out", out, "--hidden", "16", "--mask", "file", "--mask-file",
                                     (char *)bad[i], "--quiet", NULL}, 1, "not a regular file");
    }
    size_t len;
    CHECK(lm_read_file_max(fifo, 100, &len) == NULL && strstr(lm_err_msg(), "not a regular file"));
    char big[600];
    snprintf(big, sizeof big, "%s/big.json", tmp);
    FILE *f = fopen(big, "w");
    fputs("{\"battery\": \"yang20\"}\n", f);
    fclose(f);
    CHECK(lm_read_file_max(big, 5, &len) == NULL && strstr(lm_err_msg(), "more than the 5"), "%s", lm_err_msg());
    unsigned char *ok = lm_read_file_max(big, 1000, &len);
    CHECK(ok && len == 22);
    free(ok);
}

/* A deflated member of `bytes` zeros (a valid uint8 .npy), produced as libzip reads it. */
typedef struct {
    unsigned char header[128];
    size_t header_len, total, at;
} ZeroSource;

static zip_int64_t zero_source(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd) {
    ZeroSource *z = ud;
    switch (cmd) {
    case ZIP_SOURCE_OPEN: z->at = 0; return 0;
    case ZIP_SOURCE_READ: {
        size_t n = z->total - z->at < len ? z->total - z->at : (size_t)len;
        for (size_t i = 0; i < n; i++) {
            size_t p = z->at + i;
            ((unsigned char *)data)[i] = p < z->header_len ? z->header[p] : 0;
        }
        z->at += n;
        return (zip_int64_t)n;
    }
    case ZIP_SOURCE_CLOSE:
    case ZIP_SOURCE_FREE: return 0;
    case ZIP_SOURCE_STAT: {
        zip_stat_t *st = data;
        zip_stat_init(st);
        st->size = z->total;
        st->valid |= ZIP_STAT_SIZE;
        return sizeof *st;
    }
    case ZIP_SOURCE_ERROR: return 2 * sizeof(int);
    case ZIP_SOURCE_SUPPORTS:
        return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT,
                                              ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE, -1);
    default: return -1;
    }
}

static void add_zero_member(const char *path, const char *name, size_t bytes) {
    static ZeroSource zs;
    char dict[100];
    snprintf(dict, sizeof dict, "{'descr': '|u1', 'fortran_order': False, 'shape': (%zu,), }", bytes);
    memcpy(zs.header, "\x93NUMPY\x01\x00\x76\x00", 10);
    memset(zs.header + 10, ' ', 118);
    memcpy(zs.header + 10, dict, strlen(dict));
    zs.header[127] = '\n';
    zs.header_len = 128;
    zs.total = 128 + bytes;
    int err = 0;
    zip_t *z = zip_open(path, 0, &err);
    LM_ASSERT(z);
    zip_source_t *src = zip_source_function(z, zero_source, &zs);
    zip_int64_t i = zip_file_add(z, name, src, 0);
    LM_ASSERT(i >= 0);
    zip_set_file_compression(z, (zip_uint64_t)i, ZIP_CM_DEFLATE, 1);
    LM_ASSERT(zip_close(z) == 0);
}

/* An npz bomb: a member that inflates to 768 MB from under 1 MB. Opening the archive and evaluating the
 * checkpoint must not inflate it (members are read on demand), and asking for it with a cap fails. */
static void npz_members_are_read_on_demand(void) {
    char dst[700], dir[600];
    copy_run("bomb", dst, sizeof dst);
    const size_t big = (size_t)768 << 20;
    add_zero_member(dst, "junk.npy", big);
    struct stat st;
    CHECK(stat(dst, &st) == 0 && st.st_size < (8 << 20), "bomb is %lld bytes", (long long)st.st_size);
    snprintf(dir, sizeof dir, "%s/bomb", tmp);
    long rss_kb = 0;
    int rc = run_rss("bomb_eval", (char *[]){"eval", dir, NULL}, &rss_kb);
    char err[2048];
    read_text("bomb_eval", "err", err, sizeof err);
    CHECK(rc == 0, "eval of a checkpoint with an unused huge member failed: %s", err);
    CHECK(rss_kb < (long)(big >> 10) / 2, "eval peaked at %ld MB", rss_kb >> 10);
    LmNpz *z = lm_npz_read(dst);
    CHECK(z != NULL);
    if (z) {
        const LmArray *info = lm_npz_info(z, "junk");
        CHECK(info && info->data == NULL && info->count == big);
        CHECK(lm_npz_find_max(z, "junk", 1 << 20) == NULL && strstr(lm_err_msg(), "more than"), "%s", lm_err_msg());
        CHECK(lm_npz_expect(z, "junk", LM_DT_U8, 1, (int64_t[]){10}) == NULL && strstr(lm_err_msg(), "expected"));
        CHECK(info->data == NULL, "a refused member was inflated");
        lm_npz_free(z);
    }
}

static int file_exists(const char *p) { return access(p, F_OK) == 0; }

/* The names in a directory (sorted, one per line) into buf. */
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static void list_dir(const char *dir, char *buf, size_t n) {
    char *names[128];
    int k = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL && k < 128)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) names[k++] = strdup(e->d_name);
    if (d) closedir(d);
    qsort(names, (size_t)k, sizeof names[0], cmp_str);
    size_t u = 0;
    buf[0] = '\0';
    for (int i = 0; i < k; i++) {
        if (u < n) u += (size_t)snprintf(buf + u, n - u, "%s\n", names[i]);
        free(names[i]);
    }
}

/* Wait (without a deadline that could fail the test on a slow machine, but never forever) for a file. */
static int wait_for(const char *p, pid_t child) {
    for (int i = 0; i < 60000; i++) {
        if (file_exists(p)) return 1;
        if (waitpid(child, NULL, WNOHANG) == child) return 0;
        usleep(10000);
    }
    return 0;
}

/* `lmrnn args...` started in the background (its pid is the one a lock names: no `timeout` wrapper). */
static pid_t spawn_quiet(const char *tag, char *const *args) {
    char *argv[64] = {bin};
    int n = 1;
    for (int i = 0; args[i] && n < 63; i++) argv[n++] = args[i];
    argv[n] = NULL;
    return proc_spawn(tmp, tag, argv, 0);
}

static int wait_exit(pid_t pid) { return proc_wait(pid, NULL); }

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* SIGTERM to `pid`; its exit status, and in *latency the seconds until it exited. */
static int stop_and_time(pid_t pid, double *latency) {
    double t0 = now_s();
    kill(pid, SIGTERM);
    int rc = wait_exit(pid);
    *latency = now_s() - t0;
    return rc;
}

/* A stop request is honoured within a second (the watchdog's grace is 0.9 s). Only a generous bound is
 * asserted, so that a loaded machine cannot fail the test; the measured value is printed. */
#define STOP_BOUND_S 10.0

/* Two writers of one run directory: the second (train --force, --resume, eval, plot) is refused with the
 * holder's pid; after the holder exits, the directory is free again. */
static void second_writer_is_refused(void) {
    char dir[600], ck[700], want[64];
    snprintf(dir, sizeof dir, "%s/locked", tmp);
    snprintf(ck, sizeof ck, "%s/checkpoint.npz", dir);
    pid_t a = spawn_quiet("lock_a", (char *[]){"train", "--out", dir, TINY, "--steps", "100000000", NULL});
    CHECK(wait_for(ck, a), "the first writer never wrote a checkpoint");
    snprintf(want, sizeof want, "in use by another lmrnn process (pid %ld)", (long)a);
    expect_error("lock_train", (char *[]){"train", "--out", dir, TINY, "--steps", "50", NULL}, 1, want);
    expect_error("lock_force", (char *[]){"train", "--out", dir, TINY, "--steps", "50", "--force", NULL}, 1, want);
    char cfg[700];
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    CHECK(file_exists(ck) && file_exists(cfg), "the refused --force removed the holder's files");
    expect_error("lock_resume", (char *[]){"train", "--resume", dir, NULL}, 1, want);
    expect_error("lock_eval", (char *[]){"eval", dir, NULL}, 1, want);
    expect_error("lock_plot", (char *[]){"plot", dir, NULL}, 1, want);
    /* the experiment driver locks its directory too (here one a training run holds) */
    expect_error("lock_experiment", (char *[]){"experiment", "autapse", "--scale", "tiny", "--out", dir, "--quiet", NULL},
                 1, want);
    kill(a, SIGTERM);
    CHECK(wait_exit(a) == 0, "the holder did not stop cleanly on SIGTERM");
    int rc = run("lock_after", (char *[]){"eval", dir, NULL});
    CHECK(rc == 0, "eval after the holder exited: %d", rc);
}

/* A kill during an atomic write leaves "<file>.tmp.<pid>[.<ext>]": removed when the directory is next
 * opened by a writer, unless its process still runs. */
static void stale_temps_are_removed(void) {
    char dir[700], p[800];
    copy_run("temps", p, sizeof p);
    snprintf(dir, sizeof dir, "%s/temps", tmp);
    pid_t dead = fork();
    if (dead == 0) _exit(0);
    wait_exit(dead);
    const char *names[] = {"checkpoint.npz.tmp.%ld", "checkpoint.npz.tmp.%ld.Xy12Ab", "plots/loss.png.tmp.%ld.png",
                           "eval.json.tmp.%ld"};
    char paths[4][900];
    snprintf(p, sizeof p, "%s/plots", dir);
    mkdir(p, 0755);
    for (int i = 0; i < 4; i++) {
        char name[100];
        snprintf(name, sizeof name, names[i], i == 3 ? (long)getpid() : (long)dead);
        snprintf(paths[i], sizeof paths[i], "%s/%s", dir, name);
        FILE *f = fopen(paths[i], "w");
        fputs("partial", f);
        fclose(f);
    }
    int rc = run("temps_eval", (char *[]){"eval", dir, NULL});
    CHECK(rc == 0);
    for (int i = 0; i < 3; i++) CHECK(!file_exists(paths[i]), "%s was left", paths[i]);
    CHECK(file_exists(paths[3]), "the temp file of a live process was removed");
}

/* Start `lmrnn argv` as `name`, wait until `marker` exists, `after_us` more, then SIGTERM it: its exit
 * status, its pid, the seconds it took to exit, and its stderr. */
static int start_then_stop(const char *name, char **argv, const char *marker, useconds_t after_us, pid_t *pid,
                           double *latency, char *err, size_t n) {
    pid_t a = *pid = spawn_quiet(name, argv);
    CHECK(wait_for(marker, a), "%s: %s never appeared", name, marker);
    usleep(after_us);
    int rc = stop_and_time(a, latency);
    read_text(name, "err", err, n);
    return rc;
}

/* SIGTERM in the middle of a step that takes longer than a second: the step is abandoned, the checkpoint
 * of the step before stays intact and resumable, nothing half-written is left. */
static void stop_request_abandons_a_long_step(void) {
    char dir[600], ck[700];
    snprintf(dir, sizeof dir, "%s/slow", tmp);
    snprintf(ck, sizeof ck, "%s/checkpoint.npz", dir);
    /* a step of several seconds (dense N = 1024, T = 200, B = 8: ~5 s under the sanitizers on a Zen 5
     * core; N = 640, T = 100 took ~1 s there, so the step could end inside the 0.9 s grace and the test
     * failed); 0.3 s after the first checkpoint: past its directory fsync, into the second step */
    double latency;
    char err[2048];
    pid_t a;
    int rc = start_then_stop("slow", (char *[]){"train", "--out", dir, "--battery", "go", "--hidden", "1024", "--mask",
                                               "full", "--batch", "8", "--window", "200", "--steps", "3",
                                               "--eval-every", "0", "--eval-trials", "1", "--checkpoint-every", "1",
                                               "--quiet", "--no-plot", NULL},
                             ck, 300000, &a, &latency, err, sizeof err);
    printf("     stop during a step: exited %.2f s after SIGTERM\n", latency);
    CHECK(rc == 0 && strstr(err, "abandoned"), "exit %d, stderr: %s", rc, err);
    CHECK(latency < STOP_BOUND_S, "exited %.1f s after SIGTERM", latency);
    LmNpz *z = lm_npz_read(ck);
    const LmArray *st = z ? lm_npz_find(z, "step") : NULL;
    CHECK(st && *(const int64_t *)st->data == 1, "the checkpoint is not the first step's");
    lm_npz_free(z);
    rc = run("slow_resume", (char *[]){"train", "--resume", dir, "--steps", "1", NULL});
    CHECK(rc == 0, "resume after the abandoned step: %d", rc);
    char p[800];
    snprintf(p, sizeof p, "%s/checkpoint.npz.tmp.%ld", dir, (long)a);
    CHECK(!file_exists(p));
}

/* SIGTERM during a long evaluation (cheap steps, thousands of evaluation trials): exit 0 within the bound,
 * the run resumes. */
static void stop_request_abandons_a_long_evaluation(void) {
    char dir[600], cfg[700];
    snprintf(dir, sizeof dir, "%s/sloweval", tmp);
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    /* the first step takes milliseconds: 0.5 s after config.json is inside its evaluation */
    double latency;
    char err[2048];
    pid_t a;
    int rc = start_then_stop("sloweval", (char *[]){"train", "--out", dir, "--battery", "go,dm1", "--hidden", "64",
                                                   "--batch", "2", "--window", "40", "--steps", "2", "--eval-every",
                                                   "1", "--eval-trials", "100000", "--checkpoint-every", "1",
                                                   "--quiet", "--no-plot", NULL},
                             cfg, 500000, &a, &latency, err, sizeof err);
    printf("     stop during an evaluation: exited %.2f s after SIGTERM (%s)\n", latency,
           strstr(err, "abandoned") ? "abandoned" : "finished it");
    CHECK(rc == 0, "exit %d, stderr: %s", rc, err);
    CHECK(latency < STOP_BOUND_S, "exited %.1f s after SIGTERM", latency);
    rc = run("sloweval_resume", (char *[]){"train", "--resume", dir, "--eval-trials", "2", NULL});
    CHECK(rc == 0, "resume after the abandoned evaluation: %d", rc);
}

/* Resuming a finished run changes nothing and works in a read-only directory: log.jsonl is not rewritten
 * (same inode, size and mtime) and no file appears. Root writes anywhere, so as root the resume runs
 * without capabilities (setpriv), where the directory's mode binds it like any user. */
static void finished_resume_leaves_the_log_alone(void) {
    char dir[700], p[800], log[800], ls_before[4096], ls_after[4096];
    copy_run("finished", p, sizeof p);
    snprintf(dir, sizeof dir, "%s/finished", tmp);
    snprintf(log, sizeof log, "%s/log.jsonl", dir);
    struct stat before, after;
    CHECK(stat(log, &before) == 0);
    list_dir(dir, ls_before, sizeof ls_before);
    CHECK(chmod(dir, 0555) == 0);
    char *as_user[] = {"setpriv", "--bounding-set=-all", "--inh-caps=-all", bin, "train", "--resume", dir, NULL};
    char *plain[] = {bin, "train", "--resume", dir, NULL};
    int rc = proc_wait(proc_spawn(tmp, "finished_resume", geteuid() == 0 ? as_user : plain, 0), NULL);
    char err[2048];
    read_text("finished_resume", "err", err, sizeof err);
    CHECK(rc == 0, "resume of a finished run in a read-only directory: exit %d: %s", rc, err);
    if (geteuid() == 0) {   /* the directory really is read-only for that process */
        char probe[900];
        snprintf(probe, sizeof probe, "%s/probe", dir);
        char *touch[] = {"setpriv", "--bounding-set=-all", "--inh-caps=-all", "touch", probe, NULL};
        CHECK(proc_wait(proc_spawn(tmp, "finished_probe", touch, 0), NULL) != 0 && !file_exists(probe),
              "setpriv did not make the directory read-only");
    }
    CHECK(chmod(dir, 0755) == 0);
    CHECK(stat(log, &after) == 0 && after.st_ino == before.st_ino && after.st_size == before.st_size &&
              after.st_mtim.tv_sec == before.st_mtim.tv_sec && after.st_mtim.tv_nsec == before.st_mtim.tv_nsec,
          "log.jsonl was rewritten");
    list_dir(dir, ls_after, sizeof ls_after);
    CHECK(!strcmp(ls_before, ls_after), "files changed: before %s, after %s", ls_before, ls_after);
}

/* A relative --mask-file is stored as an absolute path with the mask's checksum: resume works from another
 * directory, and a changed mask file is refused. */
static void mask_file_is_stored_absolute(void) {
    char dir[600], mask[600], cwd[1024];
    snprintf(dir, sizeof dir, "%s/maskrun", tmp);
    snprintf(mask, sizeof mask, "%s/m.npy", tmp);
    uint8_t m[16 * 16];
    for (int i = 0; i < 16 * 16; i++) m[i] = (i % 17) == 0 || (i % 5) == 0;
    CHECK(lm_npy_write(mask, LM_DT_U8, 2, (int64_t[]){16, 16}, m) == 0);
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(tmp) == 0);
    int rc = run("mask_rel", (char *[]){"train", "--out", dir, "--battery", "go,dm1,dms", "--hidden", "16", "--mask",
                                        "file", "--mask-file", "m.npy", "--batch", "2", "--window", "40", "--steps",
                                        "10", "--eval-every", "0", "--eval-trials", "4", "--quiet", "--no-plot", NULL});
    CHECK(chdir("/") == 0);
    CHECK(rc == 0, "training with a relative mask file: %d", rc);
    char cfgp[700];
    snprintf(cfgp, sizeof cfgp, "%s/config.json", dir);
    FILE *f = fopen(cfgp, "r");
    char text[8192] = "";
    if (f) {
        size_t k = fread(text, 1, sizeof text - 1, f);
        text[k] = 0;
        fclose(f);
    }
    char want[700];
    snprintf(want, sizeof want, "\"mask_file\":\t\"%s\"", mask);
    CHECK(strstr(text, want) && strstr(text, "\"mask_checksum\""), "config.json: %s", text);
    rc = run("mask_resume", (char *[]){"train", "--resume", dir, "--steps", "20", NULL});
    CHECK(rc == 0, "resume from another directory: %d", rc);
    m[1] = !m[1];
    CHECK(lm_npy_write(mask, LM_DT_U8, 2, (int64_t[]){16, 16}, m) == 0);
    char ckp[700];
    snprintf(ckp, sizeof ckp, "%s/checkpoint.npz", dir);
    unlink(ckp);   /* no checkpoint yet: only the checksum can tell */
    expect_error("mask_changed", (char *[]){"train", "--resume", dir, "--steps", "30", NULL}, 1, "was the mask file changed");
    CHECK(chdir(cwd) == 0);
}

/* Integers are parsed strictly, subnormal numbers are numbers, over-long paths are errors. */
static void numbers_and_paths_are_strict(void) {
    char out[600];
    snprintf(out, sizeof out, "%s/never", tmp);
    expect_error("seed_space", (char *[]){"train", "--out", out, "--seed", " -1", NULL}, 2, "' -1'");
    expect_error("steps_space", (char *[]){"train", "--out", out, "--steps", " 5", NULL}, 2, "' 5'");
    expect_error("lr_underflow", (char *[]){"train", "--out", out, "--lr", "1e-400", NULL}, 2, "too small");
    int rc = run("lr_subnormal", (char *[]){"train", "--out", out, "--lr", "1e-310", "--dry-run", NULL});
    char err[1024];
    read_text("lr_subnormal", "err", err, sizeof err);
    CHECK(rc == 0, "a subnormal lr: exit %d: %s", rc, err);
    /* a run directory whose path does not fit the program's buffers (but is a real directory) */
    char deep[2100];
    int n = snprintf(deep, sizeof deep, "%s", tmp);
    while (n < 1500) n += snprintf(deep + n, sizeof deep - (size_t)n, "/%s", "dddddddddddddddddddddddddddddddddddddddd");
    CHECK(lm_mkdir_p(deep) == 0);
    expect_error("long_eval", (char *[]){"eval", deep, NULL}, 1, "path too long");
    expect_error("long_resume", (char *[]){"train", "--resume", deep, NULL}, 1, "path too long");
}

/* The npz harness's finding: a member whose .npy header (version 1) declares fewer bytes than its fixed
 * prefix overflowed the header buffer. Both inputs are refused with a one-line message. */
static void npz_header_shorter_than_its_prefix(void) {
    const char *names[] = {"npy_header_shorter_than_prefix.npz", "fuzzer_header_shorter_than_prefix.npz"};
    for (int i = 0; i < 2; i++) {
        char p[1200];
        snprintf(p, sizeof p, "%s/tests/data/fuzz/npz/%s", root, names[i]);
        CHECK(file_exists(p), "%s is missing", p);
        LmNpz *z = lm_npz_read(p);
        CHECK(z == NULL && lm_err_msg()[0] && !strchr(lm_err_msg(), '\n'), "%s: %s", names[i], lm_err_msg());
        if (i == 0) CHECK(strstr(lm_err_msg(), "too short"), "%s", lm_err_msg());
        lm_npz_free(z);
    }
}

/* Text a message quotes from a file (a key, a value) is escaped: a newline in a config.json key or value
 * still gives one line (the fuzz_config finding, tests/data/fuzz/config/). */
static void messages_are_one_line(void) {
    char key[600], value[600], out[600];
    snprintf(key, sizeof key, "%s/newline_key.json", tmp);
    snprintf(value, sizeof value, "%s/newline_value.json", tmp);
    snprintf(out, sizeof out, "%s/never", tmp);
    FILE *f = fopen(key, "w");
    fputs("{\"battery\": \"yang20\", \"steps\": 100, \"}\\ned\": 7}\n", f);
    fclose(f);
    f = fopen(value, "w");
    fputs("{\"battery\": \"yang\\n20\", \"steps\": 100}\n", f);
    fclose(f);
    expect_error("nl_key", (char *[]){"train", "--config", key, "--out", out, "--dry-run", NULL}, 2,
                 "unknown option '}\\ned'");
    expect_error("nl_value", (char *[]){"train", "--config", value, "--out", out, "--dry-run", NULL}, 2,
                 "'yang\\n20'");
}

/* Numbers read from files become integers only when they are integers in range. */
static void numbers_from_files_are_checked(void) {
    int64_t v = 7;
    CHECK(lm_double_to_i64(9223372036854775808.0, INT64_MIN, INT64_MAX, &v) == -1 && v == 7);
    CHECK(lm_double_to_i64(-9223372036854775808.0, INT64_MIN, INT64_MAX, &v) == 0 && v == INT64_MIN);
    CHECK(lm_double_to_i64(NAN, 0, 10, &v) == -1 && lm_double_to_i64(INFINITY, 0, 10, &v) == -1);
    CHECK(lm_double_to_i64(2.5, 0, 10, &v) == -1 && lm_double_to_i64(11, 0, 10, &v) == -1);
    CHECK(lm_double_to_i64(1e300, 0, INT64_MAX, &v) == -1 && lm_double_to_i64(3, 0, 10, &v) == 0 && v == 3);
    CHECK(lm_double_to_long_or(-1e300, 0, 10, -1) == -1);
    char log[600];
    snprintf(log, sizeof log, "%s/huge.jsonl", tmp);
    FILE *f = fopen(log, "w");
    fputs("{\"kind\":\"stop\",\"step\":1e300,\"wall\":1,\"reason\":\"max_steps\"}\n", f);
    fclose(f);
    LmStopInfo s;
    CHECK(lm_log_read_stop(log, &s) == 0 && s.found && s.step == -1);
}

int main(int argc, char **argv) {
    (void)argc;
    char self[1024];
    snprintf(self, sizeof self, "%s", argv[0]);
    char rel[1100];
    snprintf(rel, sizeof rel, "%s/../lmrnn-san", dirname(self));
    if (!realpath(rel, bin)) return 1;   /* absolute: one test changes directory */
    snprintf(self, sizeof self, "%s", bin);
    snprintf(root, sizeof root, "%s", dirname(dirname(self)));   /* the repository: BIN is ROOT/build/lmrnn-san */
    snprintf(tmp, sizeof tmp, "/tmp/lmrnn_untrusted_XXXXXX");
    if (!mkdtemp(tmp)) return 1;
    snprintf(run_dir, sizeof run_dir, "%s/run", tmp);
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.npz", run_dir);
    int rc = run("make_run", (char *[]){"train", "--out", run_dir, TINY, "--steps", "20", NULL});
    CHECK(rc == 0, "the tiny run failed (exit %d)", rc);
    if (rc == 0) {
        RUN(corrupt_pending_trial_is_refused);
        RUN(zero_generator_states_are_refused);
        RUN(stored_config_is_bounded);
        RUN(config_and_mask_files_must_be_regular);
        RUN(npz_members_are_read_on_demand);
        RUN(second_writer_is_refused);
        RUN(stale_temps_are_removed);
        RUN(stop_request_abandons_a_long_step);
        RUN(stop_request_abandons_a_long_evaluation);
        RUN(finished_resume_leaves_the_log_alone);
        RUN(mask_file_is_stored_absolute);
        RUN(numbers_and_paths_are_strict);
        RUN(numbers_from_files_are_checked);
        RUN(messages_are_one_line);
        RUN(npz_header_shorter_than_its_prefix);
    }
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return CHECK_DONE();
}
