/* The experiment driver: run grids, plan files, reading run directories, statistics, the report, and
 * end to end on the real binary at tiny scale (two runs of a few steps): directory structure, aggregate
 * files, skipping finished runs, resuming an interrupted one, extending runs, and reporting a failure. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"
#include "experiment/plan.h"
#include "experiment/report.h"
#include "experiment/results.h"
#include "experiment/runner.h"
#include "experiment/structure.h"
#include "io/npz.h"
#include "util/err.h"

#include "run_helpers.h"

/* ---------------------------------------------------------------- pure parts */
static void test_stat(void) {
    double v[5] = {1, 2, NAN, 3, INFINITY};
    LmStat s = lm_stat(v, 5);
    CHECK(s.n == 3);
    CHECK_CLOSE(s.mean, 2.0, 1e-12);
    CHECK_CLOSE(s.std, 1.0, 1e-12);   /* sample std of 1,2,3 */
    CHECK(s.min == 1 && s.max == 3);
    LmStat e = lm_stat(v + 2, 1);
    CHECK(e.n == 0 && isnan(e.mean));
    LmStat one = lm_stat(v + 1, 1);
    CHECK(one.n == 1 && one.mean == 2 && one.std == 0);
    char buf[64];
    lm_stat_format(&s, 3, 2, buf, sizeof buf);
    CHECK(!strcmp(buf, "2.00 ± 1.00"), "got '%s'", buf);
    lm_stat_format(&s, 4, 1, buf, sizeof buf);
    CHECK(!strcmp(buf, "2.0 ± 1.0 (3/4)"), "got '%s'", buf);
    lm_stat_format(&e, 3, 2, buf, sizeof buf);
    CHECK(!strcmp(buf, "—"), "got '%s'", buf);
}

/* Does the run's option set hold option `key` (with `value`, unless NULL)? */
static int has_opt(const LmExpRun *r, const char *key, const char *value) {
    const char *v = lm_exp_run_option(r, key);
    return v && (!value || !strcmp(v, value));
}

static const LmExpRun *find_run(const LmExpPlan *p, const char *id) {
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->runs[i].id, id)) return &p->runs[i];
    return NULL;
}

static void test_grids(void) {
    /* Densities of local2d on the open 16x16 sheet (docs/model.md §2): d=2 3.23 %, 3 8.36 %, 4 14.23 %, 5 20.68 %. */
    CHECK_CLOSE(lm_exp_local2d_density(256, 2), 0.0323, 5e-5);
    CHECK_CLOSE(lm_exp_local2d_density(256, 3), 0.0836, 5e-5);
    CHECK_CLOSE(lm_exp_local2d_density(256, 4), 0.1423, 5e-5);
    CHECK_CLOSE(lm_exp_local2d_density(256, 5), 0.2068, 5e-5);
    CHECK_CLOSE(lm_exp_local2d_density(256, 1), 1.0 / 256, 1e-12);   /* strict <: self only */

    LmExpSettings s;
    LmExpPlan p;
    lm_exp_settings_default(LM_EXP_SPARSITY, LM_SCALE_QUICK, &s);
    s.seeds = 2;
    CHECK(lm_exp_plan_build(&s, &p) == 0);
    CHECK(p.n == 2 * (7 + 7 + 1), "n = %d", p.n);   /* 7 local2d, 7 matched random, full; x seeds */
    for (int i = 0; i < p.n; i++) {
        for (int j = 0; j < i; j++) CHECK(strcmp(p.runs[i].id, p.runs[j].id) != 0, "duplicate id %s", p.runs[i].id);
        CHECK(!strcmp(p.runs[i].battery, "modcog82"));
        CHECK(has_opt(&p.runs[i], "threads", "1"));
        CHECK(has_opt(&p.runs[i], "battery", "modcog82"));
        CHECK(has_opt(&p.runs[i], "window", "350"));
    }
    const LmExpRun *l3 = find_run(&p, "modcog82-local2d-d3-s2"), *r3 = find_run(&p, "modcog82-random-d3-s2");
    const LmExpRun *full = find_run(&p, "modcog82-full-s1");
    CHECK(l3 && r3 && full);
    if (l3 && r3 && full) {
        CHECK(r3->density == l3->density);   /* density-matched control */
        CHECK(has_opt(l3, "mask", "local2d") && has_opt(l3, "d", "3"));
        CHECK(has_opt(r3, "mask", "random") && has_opt(r3, "match_density_of", "3") && !has_opt(r3, "d", NULL));
        CHECK(r3->density > 0.08 && r3->density < 0.09, "%g", r3->density);
        CHECK(full->density == 1 && !has_opt(full, "d", NULL) && !has_opt(full, "density", NULL));
        CHECK(has_opt(l3, "seed", "2"));
    }
    lm_exp_plan_free(&p);

    lm_exp_settings_default(LM_EXP_AUTAPSE, LM_SCALE_PAPER, &s);
    CHECK(s.seeds >= 3);
    CHECK(lm_exp_plan_build(&s, &p) == 0);
    CHECK(p.n == 6 * s.seeds, "n = %d", p.n);
    const LmExpRun *dy = find_run(&p, "yang20-diag-s1");
    CHECK(dy && has_opt(dy, "mask", "diag") && has_opt(dy, "window", "100"));
    CHECK(find_run(&p, "modcog82-local2d-d3-s3") != NULL);
    lm_exp_plan_free(&p);

    /* lottery: two local masks, four searches and random, all but d = 8 at d = 3's density */
    lm_exp_settings_default(LM_EXP_LOTTERY, LM_SCALE_QUICK, &s);
    CHECK(s.seeds == 3 && s.steps == 6000);
    CHECK(lm_exp_plan_build(&s, &p) == 0);
    CHECK(p.n == 9 * 3, "n = %d", p.n);
    const char *searches[] = {"imp", "set", "rigl", "granet"};
    for (int k = 0; k < 4; k++) {
        char id[64];
        snprintf(id, sizeof id, "modcog82-%s-d3-s2", searches[k]);
        const LmExpRun *r = find_run(&p, id);
        CHECK(r && has_opt(r, "mask", "full") && has_opt(r, "prune", searches[k]) &&
                  has_opt(r, "prune_density_of", "3") && r->density == lm_exp_local2d_density(256, 3),
              "%s", id);
        if (r) CHECK(!strcmp(r->prune, searches[k]));
    }
    const LmExpRun *rl = find_run(&p, "modcog82-random-d3-s1"), *l8 = find_run(&p, "modcog82-local2d-d8-s3");
    CHECK(rl && has_opt(rl, "match_density_of", "3") && !has_opt(rl, "density", NULL));
    CHECK(l8 && has_opt(l8, "d", "8") && !has_opt(l8, "prune", NULL) && !has_opt(l8, "dale", NULL));
    const LmExpRun *rd = find_run(&p, "modcog82-random_diag-d3-s2"), *ld = find_run(&p, "modcog82-local2d-d3-dale-s1");
    CHECK(rd && has_opt(rd, "mask", "random_diag") && has_opt(rd, "match_density_of", "3"));
    CHECK(ld && has_opt(ld, "dale", "true") && has_opt(ld, "d", "3") && !strcmp(ld->label, "local2d d=3 Dale"),
          "%s", ld ? ld->label : "no Dale run");
    lm_exp_plan_free(&p);

    /* data-efficiency needs a d; pools grow with K, and K/batches is a plausible trials-per-batch. */
    lm_exp_settings_default(LM_EXP_DATA_EFFICIENCY, LM_SCALE_QUICK, &s);
    CHECK(lm_exp_plan_build(&s, &p) == -1);
    s.best_d = 4;
    CHECK(lm_exp_plan_build(&s, &p) == 0);
    CHECK(p.n == 3 * s.n_pool * s.seeds);
    CHECK(s.pool_trials[s.n_pool - 1] >= 10 * s.pool_trials[0]);   /* at least a decade */
    long prev = 0;
    for (int k = 0; k < s.n_pool; k++) {
        char id[64];
        snprintf(id, sizeof id, "modcog82-local2d-d4-K%ld-s1", s.pool_trials[k]);
        const LmExpRun *r = find_run(&p, id);
        CHECK(r != NULL, "%s", id);
        if (!r) continue;
        CHECK(r->pool_batches > prev);
        prev = r->pool_batches;
        double per_batch = (double)r->pool_trials / r->pool_batches;
        /* 4 rows x 350 steps of trials that last 1-6 s (10-60 steps). */
        CHECK(per_batch > 4 * 350 / 64.0 && per_batch < 4 * 350 / 8.0, "trials per batch %g", per_batch);
        char kb[32];
        snprintf(kb, sizeof kb, "%ld", r->pool_batches);
        CHECK(has_opt(r, "train_pool", kb));
    }
    lm_exp_plan_free(&p);
}

/* An IMP round's restart record: thresholds count from the rewound ticket on (docs/lottery.md). */
static void test_thresholds_restart_after_imp_rounds(void) {
    char p[400];
    /* a planted log: 0.5 crossed at step 10 by round 1, the restart at 20, the ticket's crossing at 40 */
    char dir[300];
    snprintf(dir, sizeof dir, "/tmp/lmrnn_planted_%d", (int)getpid());
    LM_ASSERT(lm_mkdir_p(dir) == 0);
    snprintf(p, sizeof p, "%s/log.jsonl", dir);
    FILE *f = fopen(p, "w");
    fputs("{\"kind\":\"eval\",\"step\":10,\"trials\":5,\"wall\":1,\"mean\":0.6}\n"
          "{\"kind\":\"threshold\",\"step\":10,\"trials\":5,\"wall\":1,\"threshold\":0.5}\n"
          "{\"kind\":\"mask\",\"step\":20,\"trials\":9,\"wall\":2,\"nnz\":10,\"restart\":true}\n"
          "{\"kind\":\"eval\",\"step\":40,\"trials\":20,\"wall\":4,\"mean\":0.55}\n"
          "{\"kind\":\"threshold\",\"step\":40,\"trials\":20,\"wall\":4,\"threshold\":0.5}\n", f);
    fclose(f);
    LmExpRun run;
    memset(&run, 0, sizeof run);
    LmExpRunResult res;
    CHECK(lm_run_load(dir, &run, &res) == 0, "%s", lm_err_msg());
    CHECK(res.thr_step[0] == 40 && res.thr_trials[0] == 20, "threshold 0.5 at step %ld", res.thr_step[0]);
    lm_run_result_free(&res);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

/* A planted checkpoint on the 2x2 sheet (units 0 (0,0), 1 (1,0), 2 (0,1), 3 (1,1)): W_rec as CSR with
 * 0->0 (-1), 0->3 (2), 1->2 (0.5), 3->3 (3); distances 0, sqrt 2, sqrt 2, 0. The same as dense `mask` +
 * `W_rec` gives the same structure; a CSR index past the matrix is refused. */
static int write_structure_ckpt(const char *dir, int csr, int bad) {
    char p[400];
    snprintf(p, sizeof p, "%s/checkpoint.npz", dir);
    LmNpzWriter *w = lm_npz_create(p);
    if (!w) return -1;
    float data[4] = {-1, 2, 0.5f, 3}, dense[16] = {0};
    int32_t idx[4] = {0, 3, 2, bad ? 7 : 3}, ptr[5] = {0, 2, 3, 3, 4};
    uint8_t mask[16] = {0};
    int64_t n4 = 4, n5 = 5, nn[2] = {4, 4};
    for (int i = 0, q = 0; i < 4; i++)
        for (; q < ptr[i + 1]; q++)
            if (idx[q] < 4) dense[i * 4 + idx[q]] = data[q], mask[i * 4 + idx[q]] = 1;
    int rc = 0;
    if (csr) {
        rc |= lm_npz_add(w, "W_rec_data", LM_DT_F32, 1, &n4, data);
        rc |= lm_npz_add(w, "W_rec_indices", LM_DT_I32, 1, &n4, idx);
        rc |= lm_npz_add(w, "W_rec_indptr", LM_DT_I32, 1, &n5, ptr);
    } else {
        rc |= lm_npz_add(w, "W_rec", LM_DT_F32, 2, nn, dense);
        rc |= lm_npz_add(w, "mask", LM_DT_U8, 2, nn, mask);
    }
    return lm_npz_close(w) | rc;
}

static void test_mask_structure_from_checkpoints(void) {
    char dir[300];
    snprintf(dir, sizeof dir, "/tmp/lmrnn_structure_%d", (int)getpid());
    LM_ASSERT(lm_mkdir_p(dir) == 0);
    for (int csr = 0; csr < 2; csr++) {
        LM_ASSERT(write_structure_ckpt(dir, csr, 0) == 0);
        LmMaskStructure st;
        CHECK(lm_run_structure(dir, 1.0, 1.5, &st) == 0, "%s", lm_err_msg());
        CHECK(fabs(st.within_near - 0.5) < 1e-12 && fabs(st.within_far - 1.0) < 1e-12, "%s: within %g %g",
              csr ? "csr" : "dense", st.within_near, st.within_far);
        CHECK(fabs(st.diag - 0.5) < 1e-12 && fabs(st.density - 0.25) < 1e-12, "diag %g density %g", st.diag, st.density);
        CHECK(fabs(st.wdist[0] - 2.0) < 1e-6 && fabs(st.wdist[1] - 1.25) < 1e-6 && isnan(st.wdist[2]),
              "|w| by distance %g %g %g", st.wdist[0], st.wdist[1], st.wdist[2]);
    }
    LM_ASSERT(write_structure_ckpt(dir, 1, 1) == 0);
    LmMaskStructure st;
    CHECK(lm_run_structure(dir, 1.0, 1.5, &st) != 0 && strstr(lm_err_msg(), "CSR"), "bad column: %s", lm_err_msg());
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

static void test_plan_roundtrip(void) {
    LmExpSettings s;
    lm_exp_settings_default(LM_EXP_DATA_EFFICIENCY, LM_SCALE_TINY, &s);
    s.fix_all = 1;
    LmExpPlan p, q;
    CHECK(lm_exp_plan_build(&s, &p) == 0);
    char path[PATH_MAX];
    pathf(path, "%s/%s", tmp_root, "plan.json");
    CHECK(lm_exp_plan_save(&p, path) == 0);
    CHECK(lm_exp_plan_load(path, &q) == 0);
    CHECK(q.n == p.n && q.set.exp == s.exp && q.set.scale == s.scale && q.set.fix_all == 1);
    CHECK(q.set.steps == s.steps && q.set.hidden == s.hidden && q.set.n_pool == s.n_pool);
    for (int i = 0; i < p.n && i < q.n; i++) {
        CHECK(!strcmp(p.runs[i].id, q.runs[i].id));
        CHECK(p.runs[i].density == q.runs[i].density && p.runs[i].pool_batches == q.runs[i].pool_batches);
        CHECK(p.runs[i].n_opts == q.runs[i].n_opts);
        for (int a = 0; a < p.runs[i].n_opts; a++)
            CHECK(!strcmp(p.runs[i].opts[a].key, q.runs[i].opts[a].key) &&
                  !strcmp(p.runs[i].opts[a].value, q.runs[i].opts[a].value));
        CHECK(has_opt(&q.runs[i], "fix", "all"));
    }
    lm_exp_plan_free(&q);
    lm_exp_plan_free(&p);
    /* A plan whose run id would leave DIR/runs/ is refused. */
    write_text(path, "{\"experiment\":\"sparsity\",\"scale\":\"tiny\",\"name\":\"sparsity\",\"settings\":{\"seeds\":1,\"hidden\":16,"
                     "\"batch\":2,\"steps\":6,\"eval_every\":3,\"eval_trials\":2,\"checkpoint_every\":2,\"best_d\":0},"
                     "\"runs\":[{\"id\":\"../evil\",\"condition\":\"full\",\"label\":\"full\",\"battery\":\"yang20\","
                     "\"mask\":\"full\",\"d\":0,\"density\":1,\"pool_trials\":0,\"pool_batches\":0,\"seed\":1,"
                     "\"steps\":6,\"window\":50,\"options\":{}}]}");
    CHECK(lm_exp_plan_load(path, &q) == -1);
    CHECK(strstr(lm_err_msg(), "malformed") != NULL, "%s", lm_err_msg());
    write_text(path, "{\"experiment\":\"nope\"}");
    CHECK(lm_exp_plan_load(path, &q) == -1);
    unlink(path);
}

/* A synthetic sparsity experiment (two conditions x two seeds) with hand-written logs. */
static void make_run(const char *dir, const char *id, const double *curve, int n, double final, int done) {
    char rd[PATH_MAX], p[PATH_MAX];
    pathf(rd, "%s/runs/%s", dir, id);
    lm_mkdir_p(rd);
    pathf(p, "%s/%s", rd, "log.jsonl");
    FILE *f = fopen(p, "w");
    int reached[3] = {0, 0, 0};
    for (int i = 0; i < n; i++) {
        long step = 100L * i;
        fprintf(f, "{\"kind\":\"train\",\"step\":%ld,\"trials\":%ld,\"wall\":%g,\"loss\":1.0,\"grad_norm\":1}\n",
                step, 10 * step, 0.5 * step);
        fprintf(f, "{\"kind\":\"eval\",\"step\":%ld,\"trials\":%ld,\"wall\":%g,\"loss\":1.0,\"mean\":%g,"
                   "\"groups\":{\"base\":%g,\"int\":null}}\n", step, 10 * step, 0.5 * step, curve[i], curve[i]);
        for (int k = 0; k < 3; k++)
            if (!reached[k] && curve[i] >= lm_thresholds[k]) {
                reached[k] = 1;
                fprintf(f, "{\"kind\":\"threshold\",\"step\":%ld,\"trials\":%ld,\"wall\":%g,\"threshold\":%g}\n", step,
                        10 * step, 0.5 * step, lm_thresholds[k]);
            }
    }
    fprintf(f, "{\"kind\":\"stop\",\"step\":%ld,\"trials\":%ld,\"wall\":%g,\"reason\":\"max_steps\"}\n", 100L * (n - 1),
            1000L * (n - 1), 50.0 * (n - 1));
    fprintf(f, "{\"kind\":\"eval\",\"step\":99");   /* a line cut by a crash is ignored */
    fclose(f);
    pathf(p, "%s/%s", rd, "eval.json");
    f = fopen(p, "w");
    fprintf(f, "{\"metric\":\"last_step\",\"mean\":%g,\"tasks\":[{\"name\":\"go\",\"group\":\"base\",\"perf\":%g},"
               "{\"name\":\"dlygointr\",\"group\":\"int\",\"perf\":%g},{\"name\":\"goseqr\",\"perf\":%g}]}\n",
            final, final + 0.1, final - 0.1, final);
    fclose(f);
    if (done) {
        pathf(p, "%s/%s", rd, "DONE");
        write_text(p, "{\"steps\": 300}\n");
    }
}

static void test_results_and_report(void) {
    char dir[PATH_MAX], p[PATH_MAX];
    pathf(dir, "%s/%s", tmp_root, "synthetic");
    lm_mkdir_p(dir);
    LmExpSettings s;
    lm_exp_settings_default(LM_EXP_SPARSITY, LM_SCALE_TINY, &s);
    s.seeds = 2;
    LmExpPlan plan;
    CHECK(lm_exp_plan_build(&s, &plan) == 0);
    CHECK(plan.n == 4);   /* local2d d=2 and matched random, 2 seeds */
    pathf(p, "%s/%s", dir, "plan.json");
    CHECK(lm_exp_plan_save(&plan, p) == 0);
    double a[4] = {0.1, 0.6, 0.85, 0.95}, b[4] = {0.1, 0.4, 0.6, 0.7}, c[4] = {0.0, 0.2, 0.3, 0.5};
    make_run(dir, "yang20-local2d-d2-s1", a, 4, 0.9, 1);
    make_run(dir, "yang20-local2d-d2-s2", b, 4, 0.7, 1);
    make_run(dir, "yang20-random-d2-s1", c, 4, 0.5, 1);
    /* yang20-random-d2-s2 never ran */

    LmExpResults r;
    CHECK(lm_exp_results_load(dir, &r) == 0);
    CHECK(r.n_cond == 2 && r.cond[0].n == 2 && r.cond[1].n == 2);
    const LmExpRunResult *r0 = &r.res[0];
    CHECK(r0->done && r0->has_log && r0->has_eval && r0->n_eval == 4);
    CHECK(r0->thr_step[0] == 100 && r0->thr_step[1] == 200 && r0->thr_step[2] == 300);
    CHECK(r0->thr_trials[1] == 2000 && r0->thr_wall[1] == 100);
    CHECK(r.res[1].thr_step[0] == 200 && r.res[1].thr_step[1] == -1);
    /* AUC: trapezoid of (0.1, .6, .85, .95) over unit steps / 3 */
    CHECK_CLOSE(r0->auc, (0.35 + 0.725 + 0.9) / 3, 1e-12);
    CHECK_CLOSE(r0->final_mean, 0.9, 1e-12);
    CHECK_CLOSE(r0->final_group[0], 1.0, 1e-12);
    CHECK_CLOSE(r0->final_group[1], 0.8, 1e-12);
    CHECK_CLOSE(r0->final_group[2], 0.9, 1e-12);   /* group from the task catalogue */
    CHECK(isnan(r0->final_group[3]));
    CHECK(isnan(r0->group[0][1]) && r0->group[2][0] == 0.85);
    CHECK(r0->steps_done == 300 && r0->trials_done == 3000);
    CHECK(!r.res[3].done && !r.res[3].has_log && isnan(r.res[3].final_mean));
    double fm[4];
    for (int i = 0; i < 4; i++) fm[i] = r.res[i].final_mean;
    LmStat st = lm_cond_stat(&r.cond[0], fm);
    CHECK(st.n == 2);
    CHECK_CLOSE(st.mean, 0.8, 1e-12);
    CHECK(lm_exp_best_d(&r) == 2);
    lm_exp_results_free(&r);

    LmStopInfo stop;
    pathf(p, "%s/%s", dir, "runs/yang20-local2d-d2-s1");
    CHECK(lm_run_read_stop(p, &stop) == 0 && stop.found && !strcmp(stop.reason, "max_steps") && stop.step == 300);
    CHECK(lm_exp_run_state(p, 300) == LM_RUN_DONE);
    CHECK(lm_exp_run_state(p, 600) == LM_RUN_EXTEND);
    pathf(p, "%s/%s", dir, "runs/yang20-random-d2-s1");
    CHECK(lm_exp_run_state(p, 300) == LM_RUN_DONE);   /* finished, marker missing: marker written */
    pathf(p, "%s/%s", dir, "runs/yang20-random-d2-s1/DONE");
    CHECK(exists(p));
    pathf(p, "%s/%s", dir, "runs/yang20-random-d2-s2");
    CHECK(lm_exp_run_state(p, 300) == LM_RUN_NEW);
    lm_mkdir_p(p);
    pathf(p, "%s/%s", dir, "runs/yang20-random-d2-s2/checkpoint.npz");
    write_text(p, "x");
    pathf(p, "%s/%s", dir, "runs/yang20-random-d2-s2");
    CHECK(lm_exp_run_state(p, 300) == LM_RUN_RESUME);

    CHECK(lm_exp_report(dir, NULL) == 0, "%s", lm_err_msg());
    pathf(p, "%s/%s", dir, "report/summary.md");
    char *md = read_text(p);
    CHECK(md != NULL);
    if (md) {
        CHECK(strstr(md, "# Experiment `sparsity` (tiny scale)") != NULL);
        CHECK(strstr(md, "**d = 2**") != NULL);
        CHECK(strstr(md, "| 0.800 ± 0.141 |") != NULL, "mean ± sample std of 0.9, 0.7");
        CHECK(strstr(md, "| 0.500 (1/2) |") != NULL, "random: one seed of two");
        CHECK(strstr(md, "| 200 (1/2) |") != NULL, "steps to 0.8 reached by one seed");
        CHECK(strstr(md, "**Incomplete:** 1 runs") != NULL);
    }
    free(md);
    pathf(p, "%s/%s", dir, "report/runs.csv");
    CHECK(file_has(p, "yang20-local2d-d2-s1,local2d-d2,yang20,local2d,2,"));
    CHECK(file_has(p, ",0.9,1,0.8,0.9,,"), "final, base, int, seq, (no int+seq)");
    pathf(p, "%s/%s", dir, "report/sparsity.png");
    CHECK(is_png(p));
    pathf(p, "%s/%s", dir, "report/learning_curves.png");
    CHECK(is_png(p));
    pathf(p, "%s/%s", dir, "report/sparsity.svg");
    CHECK(file_has(p, "<svg"));
    lm_exp_plan_free(&plan);
}

/* ---------------------------------------------------------------- end to end */
static void test_end_to_end(void) {
    CHECK(lmrnn_bin[0] && access(lmrnn_bin, X_OK) == 0, "lmrnn binary not found (make build/lmrnn-san)");
    if (!lmrnn_bin[0]) return;
    char dir[PATH_MAX], log[PATH_MAX], p[PATH_MAX], q[PATH_MAX];
    pathf(dir, "%s/%s", tmp_root, "autapse");
    pathf(log, "%s/%s", tmp_root, "driver.log");
    const char *args[] = {"experiment", "autapse", "--scale", "tiny", "--out", dir, "--jobs", "2", NULL};
    int rc = run_lmrnn(log, args);
    CHECK(rc == 0, "exit %d", rc);
    if (rc) show_log(log);
    CHECK(file_has(log, "2 runs: 0 finished, 0 to resume, 0 to extend, 2 to start"));
    static const char *ids[2] = {"yang20-diag-s1", "yang20-full-s1"};
    static const char *files[] = {"config.json", "log.jsonl", "eval.json", "checkpoint.npz", "DONE", "stdout.log"};
    struct timespec ck[2];
    for (int i = 0; i < 2; i++)
        for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
            pathf(p, "%s/runs/%s/%s", dir, ids[i], files[k]);
            CHECK(exists(p), "%s", p);
            if (k == 3) ck[i] = mtime(p);
        }
    pathf(p, "%s/runs/%s/log.jsonl", dir, ids[0]);
    CHECK(file_has(p, "\"stop\""));
    pathf(p, "%s/plan.json", dir);
    CHECK(exists(p));
    static const char *report[] = {"summary.md", "runs.csv", "autapse_groups.svg", "learning_curves.svg"};
    for (size_t k = 0; k < 4; k++) {
        pathf(p, "%s/report/%s", dir, report[k]);
        CHECK(exists(p), "%s", p);
    }
    pathf(p, "%s/report/autapse_groups.png", dir);
    CHECK(is_png(p));
    pathf(p, "%s/report/learning_curves.png", dir);
    CHECK(is_png(p));
    pathf(p, "%s/report/summary.md", dir);
    CHECK(file_has(p, "| yang20 | diag | 1/1 |") && file_has(p, "| yang20 | full | 1/1 |"));
    CHECK(file_has(p, "## Per-task performance on yang20") && file_has(p, "| dlydm1 | base |"));

    /* Second invocation: nothing to do, nothing touched. */
    rc = run_lmrnn(log, args);
    CHECK(rc == 0, "exit %d", rc);
    CHECK(file_has(log, "2 runs: 2 finished, 0 to resume, 0 to extend, 0 to start"));
    for (int i = 0; i < 2; i++) {
        pathf(p, "%s/runs/%s/checkpoint.npz", dir, ids[i]);
        CHECK(same_time(mtime(p), ck[i]), "%s rewritten", p);
    }

    /* Interrupted run: no DONE, no eval.json, log cut before the stop record, checkpoint kept. */
    pathf(p, "%s/runs/%s/DONE", dir, ids[0]);
    unlink(p);
    pathf(p, "%s/runs/%s/eval.json", dir, ids[0]);
    unlink(p);
    pathf(p, "%s/runs/%s/log.jsonl", dir, ids[0]);
    char *text = read_text(p);
    char *stop = text ? strstr(text, "{\"kind\":\"stop\"") : NULL;
    CHECK(stop != NULL);
    if (stop) {
        *stop = '\0';
        write_text(p, text);
    }
    free(text);
    rc = run_lmrnn(log, args);
    CHECK(rc == 0, "exit %d", rc);
    if (rc) show_log(log);
    /* Its checkpoint already holds every step: the resume only writes the stop record and eval.json. */
    CHECK(file_has(log, "2 runs: 1 finished, 1 to resume, 0 to extend, 0 to start"));
    pathf(p, "%s/runs/%s/stdout.log", dir, ids[0]);
    CHECK(file_has(p, "### lmrnn experiment: resume run yang20-diag-s1"));
    {
        pathf(p, "%s/runs/%s", dir, ids[0]);
        LmStopInfo st;
        CHECK(lm_run_read_stop(p, &st) == 0 && st.found && !strcmp(st.reason, "max_steps"));
    }
    pathf(p, "%s/runs/%s/DONE", dir, ids[0]);
    CHECK(exists(p));
    pathf(p, "%s/runs/%s/eval.json", dir, ids[0]);
    CHECK(exists(p));
    pathf(p, "%s/runs/%s/checkpoint.npz", dir, ids[1]);
    CHECK(same_time(mtime(p), ck[1]), "the finished run was touched");

    /* More steps extend both finished runs through --resume. */
    const char *more[] = {"experiment", "autapse", "--scale", "tiny", "--out", dir, "--steps", "8", "--quiet", NULL};
    rc = run_lmrnn(log, more);
    CHECK(rc == 0, "exit %d", rc);
    if (rc) show_log(log);
    for (int i = 0; i < 2; i++) {
        pathf(p, "%s/runs/%s", dir, ids[i]);
        LmStopInfo st;
        CHECK(lm_run_read_stop(p, &st) == 0 && st.found && st.step == 8, "%s stopped at %ld", ids[i], st.step);
        CHECK(lm_exp_run_state(p, 8) == LM_RUN_DONE);
    }
    pathf(p, "%s/plan.json", dir);
    CHECK(file_has(p, "\"steps\":\t8"));

    /* A run that cannot resume (corrupt checkpoint) is reported; the driver exits non-zero. */
    pathf(p, "%s/runs/%s/DONE", dir, ids[1]);
    unlink(p);
    pathf(p, "%s/runs/%s/eval.json", dir, ids[1]);
    unlink(p);
    pathf(p, "%s/runs/%s/log.jsonl", dir, ids[1]);
    write_text(p, "");
    pathf(p, "%s/runs/%s/checkpoint.npz", dir, ids[1]);
    write_text(p, "not a zip file");
    rc = run_lmrnn(log, more);
    CHECK(rc == 1, "exit %d", rc);
    CHECK(file_has(log, "run yang20-full-s1 failed (exit status 1): lmrnn:"), "failure line");
    pathf(q, "%s/report/summary.md", dir);
    CHECK(exists(q));   /* the report is still written */

    /* Wrong experiment / scale on an existing directory; bad flags. */
    const char *other[] = {"experiment", "autapse", "--scale", "quick", "--out", dir, NULL};
    CHECK(run_lmrnn(log, other) == 1 && file_has(log, "holds the autapse experiment at tiny scale"));
    const char *rep[] = {"experiment", "sparsity", "--report", dir, NULL};
    CHECK(run_lmrnn(log, rep) == 1 && file_has(log, "holds the autapse experiment, not sparsity"));
    const char *bad[] = {"experiment", "autapse", "--out", dir, "--jobs", "0", NULL};
    CHECK(run_lmrnn(log, bad) == 2 && file_has(log, "--jobs"));
    const char *badname[] = {"experiment", "autapses", "--out", dir, NULL};
    CHECK(run_lmrnn(log, badname) == 2 && file_has(log, "unknown experiment 'autapses'"));
    const char *plan[] = {"experiment", "sparsity", "--scale", "paper", "--plan", NULL};
    CHECK(run_lmrnn(log, plan) == 0 && file_has(log, "modcog82-random-d8-s3") && file_has(log, "--mask random --match-density-of 8"));
}

/* SIGTERM to the driver mid-run: the children checkpoint and stop, the driver exits non-zero, and the
 * next invocation resumes both runs from their checkpoints to the end. */
static void test_interrupt_and_resume(void) {
    if (!lmrnn_bin[0]) return;
    char dir[PATH_MAX], log[PATH_MAX], p[PATH_MAX];
    pathf(dir, "%s/%s", tmp_root, "interrupt");
    pathf(log, "%s/%s", tmp_root, "interrupt.log");
    const char *args[] = {"experiment", "autapse", "--scale", "tiny", "--out", dir, "--jobs", "2", "--steps", "200",
                          NULL};
    static const char *ids[2] = {"yang20-diag-s1", "yang20-full-s1"};
    pid_t pid = fork();
    if (pid == 0) _exit(run_lmrnn(log, args));
    /* Wait until both runs have a checkpoint (at most ~60 s under the sanitizers). */
    int ready = 0;
    for (int tries = 0; tries < 600 && !ready; tries++) {
        usleep(100000);
        ready = 1;
        for (int i = 0; i < 2; i++) {
            pathf(p, "%s/runs/%s/checkpoint.npz", dir, ids[i]);
            ready &= exists(p);
        }
    }
    CHECK(ready, "no checkpoints appeared");
    /* The driver is the grandchild (run_lmrnn forks): signal it through its process group-less pid file. */
    int status = 0;
    if (ready) {
        /* run_lmrnn's child is the lmrnn driver; it is the only child of `pid`. Find it via /proc. */
        char path[64], buf[64];
        snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
        FILE *f = fopen(path, "r");
        int driver = 0;
        if (f) {
            if (fgets(buf, sizeof buf, f)) driver = atoi(buf);
            fclose(f);
        }
        CHECK(driver > 0, "driver pid not found");
        if (driver > 0) kill(driver, SIGTERM);
    }
    waitpid(pid, &status, 0);
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    CHECK(rc == 1, "exit %d", rc);
    CHECK(file_has(log, "interrupted by signal 15"));
    if (rc != 1) show_log(log);
    for (int i = 0; i < 2; i++) {
        pathf(p, "%s/runs/%s/DONE", dir, ids[i]);
        CHECK(!exists(p), "%s finished before the signal", ids[i]);
        pathf(p, "%s/runs/%s", dir, ids[i]);
        CHECK(lm_exp_run_state(p, 200) == LM_RUN_RESUME);
    }
    rc = run_lmrnn(log, args);
    CHECK(rc == 0, "exit %d", rc);
    if (rc) show_log(log);
    CHECK(file_has(log, "2 runs: 0 finished, 2 to resume, 0 to extend, 0 to start"));
    for (int i = 0; i < 2; i++) {
        pathf(p, "%s/runs/%s", dir, ids[i]);
        LmStopInfo st;
        CHECK(lm_run_read_stop(p, &st) == 0 && st.found && st.step == 200 && !strcmp(st.reason, "max_steps"));
        CHECK(lm_exp_run_state(p, 200) == LM_RUN_DONE);
        pathf(p, "%s/runs/%s/log.jsonl", dir, ids[i]);
        CHECK(file_has(p, "\"kind\":\"resume\""));
        pathf(p, "%s/runs/%s/stdout.log", dir, ids[i]);
        CHECK(file_has(p, "### lmrnn experiment: resume run"));
    }
}

int main(int argc, char **argv) {
    find_binary(argv[0]);
    snprintf(tmp_root, sizeof tmp_root, "/tmp/lmrnn-test-experiment-XXXXXX");
    if (!mkdtemp(tmp_root)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_stat);
    RUN(test_grids);
    RUN(test_plan_roundtrip);
    RUN(test_thresholds_restart_after_imp_rounds);
    RUN(test_mask_structure_from_checkpoints);
    RUN(test_results_and_report);
    RUN(test_end_to_end);
    RUN(test_interrupt_and_resume);
    /* LMRNN_TEST_KEEP=1 keeps the directories for looking at the figures. */
    if (getenv("LMRNN_TEST_KEEP"))
        printf("kept %s\n", tmp_root);
    else
        rm_rf(tmp_root);
    return CHECK_DONE();
}
