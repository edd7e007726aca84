/* Untrusted files through the real binary (build/lmrnn-san): crafted checkpoints, configs and masks must
 * give a one-line error and a non-zero exit, never a crash, a hang or an unbounded allocation. The
 * checkpoints are edits of one a tiny run of the binary itself writes. */
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
#include <unistd.h>
#include <zip.h>
#include "check.h"
#include "proc.h"
#include "io/npy_internal.h"
#include "io/npz.h"
#include "tasks/tasks.h"
#include "util/err.h"
#include "util/rng.h"

static char bin[1024], tmp[256], run_dir[512], ckpt[600];

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

int main(int argc, char **argv) {
    (void)argc;
    char self[1024];
    snprintf(self, sizeof self, "%s", argv[0]);
    snprintf(bin, sizeof bin, "%s/../lmrnn-san", dirname(self));
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
    }
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return CHECK_DONE();
}
