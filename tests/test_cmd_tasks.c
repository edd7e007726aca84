/* `lmrnn tasks` end to end through lm_cmd_tasks: dump/batch files read back and compared with the
 * library, documented modality assignment, exit codes for bad input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "cli/commands.h"
#include "io/npz.h"
#include "stream/stream.h"
#include "tasks/battery.h"
#include "util/err.h"

static char dir[128];

static int run(const char *line) {
    char buf[1024], *argv[32];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s", line);
    for (char *tok = strtok(buf, " "); tok && argc < 32; tok = strtok(NULL, " ")) argv[argc++] = tok;
    fflush(stdout);
    return lm_cmd_tasks(argc, argv);
}

static void dump_round_trip(void) {
    char cmd[1200], path[512];
    snprintf(cmd, sizeof cmd, "dump --battery dmsintseq,multidm,rtgo --trials 7 --seed 5 --out %s/d", dir);
    CHECK(run(cmd) == 0);
    const char *names[3] = {"dmsintseq", "multidm", "rtgo"};
    const char *pnames[3] = {"fixation;sample;delay;test;decision", "fixation;stimulus;decision", "fixation;decision"};
    LmTaskEnv env;
    LmRng con = lm_rng_derive(5, 0);
    lm_taskenv_init(&env, 0, &con);
    static LmTrial t;
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s/d/%s.npz", dir, names[k]);
        LmNpz *z = lm_npz_read(path);
        CHECK(z != NULL, "%s", lm_err_msg());
        if (!z) continue;
        CHECK(lm_npz_count(z) == 6);
        const LmArray *ob = lm_npz_find(z, "ob"), *gt = lm_npz_find(z, "gt"), *len = lm_npz_find(z, "length"),
                      *mod = lm_npz_find(z, "modality"), *pn = lm_npz_find(z, "period_names"),
                      *pb = lm_npz_find(z, "period_bounds");
        CHECK(ob && gt && len && mod && pn && pb);
        if (!(ob && gt && len && mod && pn && pb)) {
            lm_npz_free(z);
            continue;
        }
        CHECK(ob->dtype == LM_DT_F32 && ob->ndim == 3 && ob->shape[0] == 7 && ob->shape[2] == 33);
        CHECK(gt->dtype == LM_DT_I32 && gt->ndim == 2 && gt->shape[1] == ob->shape[1]);
        CHECK(pn->dtype == LM_DT_STR && !strcmp((const char *)pn->data, pnames[k]), "%s", (const char *)pn->data);
        int P = (int)pb->shape[1], Tmax = (int)ob->shape[1], id = lm_task_lookup(names[k]);
        LmRng r = lm_rng_derive(5, 0x747269616C0000ULL + (uint64_t)id); /* documented in cmd_tasks.c */
        int maxlen = 0;
        for (int i = 0; i < 7; i++) {
            int m = lm_task_def(id)->family == LM_FAM_DM ? -1 : i % 2;
            lm_trial_generate(&env, id, m, &r, &r, &t);
            const int32_t *L = len->data, *M = mod->data, *B = pb->data, *G = gt->data;
            const float *O = ob->data;
            CHECK(L[i] == t.len && M[i] == m);
            CHECK(!memcmp(O + (size_t)i * Tmax * 33, t.ob, sizeof(float) * 33 * (size_t)t.len));
            CHECK(!memcmp(G + (size_t)i * Tmax, t.gt, sizeof(int32_t) * (size_t)t.len));
            for (int s = t.len; s < Tmax; s++) CHECK(G[i * Tmax + s] == 0 && O[(i * Tmax + s) * 33] == 0);
            for (int p = 0; p < P; p++)
                CHECK(B[(i * P + p) * 2] == t.periods[p].start && B[(i * P + p) * 2 + 1] == t.periods[p].end);
            if (t.len > maxlen) maxlen = t.len;
        }
        CHECK(maxlen == Tmax);
        lm_npz_free(z);
    }
}

static void batch_round_trip(void) {
    char cmd[1200], path[512];
    snprintf(path, sizeof path, "%s/b.npz", dir);
    snprintf(cmd, sizeof cmd, "batch --battery yang20 --batch 3 --window 60 --seed 4 --count 2 --fix Q1,Q18 --out %s", path);
    CHECK(run(cmd) == 0);
    LmNpz *z = lm_npz_read(path);
    CHECK(z != NULL);
    if (!z) return;
    int64_t si[4] = {2, 60, 3, 53}, sl[3] = {2, 60, 3};
    const LmArray *in = lm_npz_expect(z, "inputs", LM_DT_F32, 4, si), *lab = lm_npz_expect(z, "labels", LM_DT_I32, 3, sl);
    CHECK(in && lab, "%s", lm_err_msg());
    LmBattery b;
    lm_battery_parse("yang20", &b);
    LmStream *s = lm_stream_new(&b, 3, 60, 4, LM_FIX_Q1_LABEL_WRAP | LM_FIX_Q18_WINDOW);
    float *x = malloc(sizeof(float) * 60 * 3 * 53);
    int32_t *y = malloc(sizeof(int32_t) * 60 * 3);
    for (int c = 0; c < 2 && in && lab; c++) {
        lm_stream_next(s, x, y, NULL);
        CHECK(!memcmp((const float *)in->data + c * 60 * 3 * 53, x, sizeof(float) * 60 * 3 * 53));
        CHECK(!memcmp((const int32_t *)lab->data + c * 60 * 3, y, sizeof(int32_t) * 60 * 3));
    }
    free(x);
    free(y);
    lm_stream_free(s);
    lm_npz_free(z);
    /* Without --count: [T, B, n_in] */
    snprintf(cmd, sizeof cmd, "batch --battery modcog82 --batch 4 --window 350 --seed 1 --out %s", path);
    CHECK(run(cmd) == 0);
    z = lm_npz_read(path);
    int64_t s3[3] = {350, 4, 115}, s2[2] = {350, 4};
    CHECK(z && lm_npz_expect(z, "inputs", LM_DT_F32, 3, s3) && lm_npz_expect(z, "labels", LM_DT_I32, 2, s2));
    lm_npz_free(z);
}

static void bad_input_exit_codes(void) {
    char cmd[1200];
    CHECK(run("list") == 0);
    CHECK(run("list --fixes") == 0);
    CHECK(run("list --battery yang20 --fix all") == 0);
    CHECK(run("list --battery nosuch") == 2);
    CHECK(run("list --fix Q99") == 2);
    snprintf(cmd, sizeof cmd, "dump --battery go --trials 0 --seed 1 --out %s/x", dir);
    CHECK(run(cmd) == 2);
    snprintf(cmd, sizeof cmd, "dump --battery go --trials 2x --seed 1 --out %s/x", dir);
    CHECK(run(cmd) == 2);
    snprintf(cmd, sizeof cmd, "dump --battery gox --trials 2 --seed 1 --out %s/x", dir);
    CHECK(run(cmd) == 2);
    snprintf(cmd, sizeof cmd, "dump --battery go --trials 2 --seed -1 --out %s/x", dir);
    CHECK(run(cmd) == 2);
    CHECK(run("dump --battery go --trials 2 --seed 1") == 2);
    CHECK(run("batch --battery go --batch 2 --window 5 --seed 1 --out /nonexistent-dir/x.npz") == 1);
    CHECK(run("batch --battery go --batch 0 --window 5 --seed 1 --out x.npz") == 2);
    CHECK(run("batch --battery go --batch 2 --window 5 --seed 1 --out") == 2);
    CHECK(run("show") == 2);
    CHECK(run("show nosuchtask") == 2);
    CHECK(run("show go --modality 2") == 2);
    CHECK(run("frobnicate") == 2);
    CHECK(run("--help") == 0);
}

static void show_writes_a_figure(void) {
    char cmd[1200], path[512];
    snprintf(path, sizeof path, "%s/go.png", dir);
    snprintf(cmd, sizeof cmd, "show dlyantiintl --seed 2 --fix all --out %s", path);
    CHECK(run(cmd) == 0);
    FILE *f = fopen(path, "rb");
    unsigned char sig[8] = {0};
    CHECK(f && fread(sig, 1, 8, f) == 8 && sig[1] == 'P' && sig[2] == 'N' && sig[3] == 'G');
    if (f) fclose(f);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/lmrnn_test_cmd_tasks_%d", (int)getpid());
    CHECK(lm_mkdir_p(dir) == 0);
    RUN(dump_round_trip);
    RUN(batch_round_trip);
    RUN(bad_input_exit_codes);
    RUN(show_writes_a_figure);
    char rm[600];
    snprintf(rm, sizeof rm, "rm -rf %s", dir);
    CHECK(system(rm) == 0);
    return CHECK_DONE();
}
