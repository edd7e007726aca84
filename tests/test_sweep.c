/* User-defined sweeps: expansion of plan documents (grid x zip x seeds, null = unset, overrides),
 * errors that name the plan key, and the real binary on a tiny plan: every run done, report with a
 * figure per axis, resume/extend, refusal of changed runs unless --force, --index (every index runs its
 * run; out of range is an error), --emit slurm, and the clear errors for missing MPI / mpirun / sbatch. */
#define _GNU_SOURCE
#include "check.h"
#include "run_helpers.h"
#include "experiment/plan.h"
#include "experiment/results.h"
#include "experiment/sweep.h"
#include "io/json.h"
#include "util/err.h"

static const char *tiny_base =
    "\"base\": {\"battery\": \"yang20\", \"hidden\": 16, \"batch\": 2, \"window\": 50, \"steps\": 6, "
    "\"eval_every\": 3, \"eval_trials\": 2, \"checkpoint_every\": 2}";

/* Expand a plan given as JSON text; 0/-1 as lm_sweep_expand. */
static int expand_text(const char *text, const LmSweepOverrides *ov, LmExpPlan *p) {
    cJSON *doc = cJSON_Parse(text);
    if (!doc) return -2;
    int rc = lm_sweep_expand(doc, "plan.json", ov, p);
    cJSON_Delete(doc);
    return rc;
}

static void test_expand(void) {
    char text[2048];
    snprintf(text, sizeof text,
             "{\"name\": \"t\", %s, \"grid\": {\"lr\": [0.001, 0.003], \"sigma-rec\": [0, 0.05, 0.1]},"
             " \"zip\": {\"mask\": [\"local2d\", \"random\", \"full\"], \"d\": [2, null, null],"
             " \"match_density_of\": [null, 2, null]}, \"seeds\": [3, 7]}", tiny_base);
    LmExpPlan p;
    CHECK(expand_text(text, NULL, &p) == 0, "%s", lm_err_msg());
    CHECK(p.n == 2 * 3 * 3 * 2, "n = %d", p.n);
    CHECK(p.n_axes == 3 && !strcmp(p.axes[0].name, "lr") && !strcmp(p.axes[1].name, "sigma_rec"));
    CHECK(!strcmp(p.axes[2].name, "mask+d+match_density_of") && p.axes[2].n_keys == 3);
    CHECK(p.measures == LM_MEASURE_DEFAULT && p.set.exp == LM_EXP_SWEEP && p.set.seeds == 2);
    /* Order: first axis outermost, seeds innermost; the zip group moves its keys together. */
    const LmExpRun *r0 = &p.runs[0], *r1 = &p.runs[1], *r2 = &p.runs[2], *r3 = &p.runs[3];
    CHECK(r0->seed == 3 && r1->seed == 7 && !strcmp(lm_exp_run_option(r1, "seed"), "7"));
    CHECK(!strcmp(lm_exp_run_option(r0, "lr"), "0.001") && !strcmp(lm_exp_run_option(r0, "sigma_rec"), "0"));
    CHECK(!strcmp(lm_exp_run_option(r0, "mask"), "local2d") && !strcmp(lm_exp_run_option(r0, "d"), "2"));
    CHECK(lm_exp_run_option(r0, "match_density_of") == NULL);
    CHECK(!strcmp(lm_exp_run_option(r2, "mask"), "random") && lm_exp_run_option(r2, "d") == NULL &&
          !strcmp(lm_exp_run_option(r2, "match_density_of"), "2"));
    CHECK(r2->density == r0->density && r0->density > 0 && r0->density < 1);   /* matched control */
    CHECK(!strcmp(r0->id, "yang20-local2d-d2-lr0.001-sigma_rec0-s3"), "%s", r0->id);
    CHECK(!strcmp(r3->id, "yang20-random-d2-lr0.001-sigma_rec0-s7"), "%s", r3->id);
    const LmExpRun *last = &p.runs[p.n - 1];
    CHECK(!strcmp(lm_exp_run_option(last, "lr"), "0.003") && !strcmp(lm_exp_run_option(last, "sigma_rec"), "0.1"));
    CHECK(!strcmp(last->mask, "full") && last->density == 1);
    CHECK(!strcmp(lm_exp_run_option(last, "hidden"), "16") && last->steps == 6 && last->window == 50);
    /* the lr value appears in the label of its condition */
    CHECK(strstr(last->label, "lr=0.003") != NULL, "%s", last->label);
    char v[64];
    lm_exp_axis_value(&p.axes[2], r2, v, sizeof v);
    CHECK(!strcmp(v, "random, -, 2"), "%s", v);
    for (int i = 0; i < p.n; i++)
        for (int j = 0; j < i; j++) CHECK(strcmp(p.runs[i].id, p.runs[j].id) != 0);
    lm_exp_plan_free(&p);

    /* Overrides: --seeds K gives seeds 1..K, --steps N every run's steps. */
    LmSweepOverrides ov = {3, 40};
    CHECK(expand_text(text, &ov, &p) == 0);
    CHECK(p.n == 2 * 3 * 3 * 3 && p.runs[2].seed == 3 && p.runs[0].steps == 40);
    CHECK(!strcmp(lm_exp_run_option(&p.runs[0], "steps"), "40"));
    lm_exp_plan_free(&p);

    /* No axes at all: one condition; measures parsed. */
    snprintf(text, sizeof text, "{%s, \"measures\": [\"final\", \"steps_to_0.9\", \"groups\"]}", tiny_base);
    CHECK(expand_text(text, NULL, &p) == 0, "%s", lm_err_msg());
    CHECK(p.n == 1 && p.n_axes == 0 && p.runs[0].seed == 1);
    CHECK(p.measures == (LM_MEASURE_FINAL | (LM_MEASURE_STEPS << 2) | LM_MEASURE_GROUPS));
    lm_exp_plan_free(&p);

    /* pool_trials becomes train_pool batches. */
    snprintf(text, sizeof text, "{%s, \"grid\": {\"pool_trials\": [10, 1000]}}", tiny_base);
    CHECK(expand_text(text, NULL, &p) == 0, "%s", lm_err_msg());
    CHECK(p.n == 2 && p.runs[0].pool_trials == 10 && p.runs[1].pool_batches > p.runs[0].pool_batches);
    CHECK(lm_exp_run_option(&p.runs[0], "pool_trials") == NULL && lm_exp_run_option(&p.runs[1], "train_pool"));
    CHECK(strstr(p.runs[1].id, "-K1000-") != NULL, "%s", p.runs[1].id);
    lm_exp_plan_free(&p);
}

/* The plan must be refused with a message containing `key`. */
static void refused(const char *body, const char *key) {
    char text[2048];
    snprintf(text, sizeof text, "{%s, %s}", tiny_base, body);
    LmExpPlan p;
    int rc = expand_text(text, NULL, &p);
    CHECK(rc == -1, "accepted: %s", body);
    if (rc == 0) lm_exp_plan_free(&p);
    CHECK(strstr(lm_err_msg(), key) != NULL, "'%s' not in: %s", key, lm_err_msg());
    CHECK(!strncmp(lm_err_msg(), "plan.json: ", 11), "%s", lm_err_msg());
}

static void test_errors_name_the_key(void) {
    refused("\"grid\": {\"bogus\": [1, 2]}", "grid.bogus");
    refused("\"grid\": {\"lr\": [0.001, -1]}", "grid.lr[1]");
    refused("\"grid\": {\"mask\": [\"full\", \"moebius\"]}", "grid.mask[1]");
    refused("\"grid\": {\"lr\": []}", "grid.lr");
    refused("\"grid\": {\"lr\": 0.1}", "grid.lr");
    refused("\"zip\": {\"mask\": [\"local2d\", \"full\"], \"d\": [2]}", "zip.d");
    refused("\"zip\": [{\"lr\": [0.1]}, {\"act\": [\"relu\", \"sigmoid\"]}]", "zip[1].act[1]");
    refused("\"grid\": {\"seed\": [1, 2]}", "grid.seed");
    refused("\"grid\": {\"out\": [\"x\"]}", "grid.out");
    refused("\"grid\": {\"lr\": [0.1]}, \"zip\": {\"lr\": [0.2]}", "'lr' is on two axes");
    refused("\"seeds\": 0", "seeds");
    refused("\"measures\": [\"speed\"]", "measures[0]");
    refused("\"gird\": {}", "unknown plan key 'gird'");
    refused("\"grid\": {\"lr\": [{\"a\": 1}]}", "grid.lr[0]");
    /* Cross-option checks name the condition: a random mask without a density. */
    refused("\"grid\": {\"mask\": [\"local2d\", \"random\"]}", "condition mask=random");
    /* A base value is checked alone too. */
    char text[256];
    snprintf(text, sizeof text, "{\"base\": {\"hidden\": 0}}");
    LmExpPlan p;
    CHECK(expand_text(text, NULL, &p) == -1 && strstr(lm_err_msg(), "base.hidden"), "%s", lm_err_msg());
}

/* ---------------------------------------------------------------- the real binary */

static const char *plan_path_of(char *out, const char *name, const char *body) {
    char text[2048];
    snprintf(text, sizeof text, "{\"name\": \"%s\", %s, %s}", name, tiny_base, body);
    pathf(out, "%s/%s.json", tmp_root, name);
    write_text(out, text);
    return out;
}

static int count_done(const char *dir) {
    LmExpPlan p;
    char path[PATH_MAX];
    pathf(path, "%s/plan.json", dir);
    if (lm_exp_plan_load(path, &p) != 0) return -1;
    int n = 0;
    for (int i = 0; i < p.n; i++) {
        pathf(path, "%s/runs/%s/DONE", dir, p.runs[i].id);
        n += exists(path);
    }
    lm_exp_plan_free(&p);
    return n;
}

static void test_sweep_command(void) {
    char plan[PATH_MAX], dir[PATH_MAX], log[PATH_MAX], p[PATH_MAX];
    plan_path_of(plan, "cmd", "\"grid\": {\"lr\": [0.001, 0.01]}, \"zip\": {\"mask\": [\"diag\", \"full\"]}");
    pathf(dir, "%s/sweep", tmp_root);
    pathf(log, "%s/sweep.log", tmp_root);
    const char *run[] = {"sweep", plan, "--out", dir, "--jobs", "2", NULL};
    int rc = run_lmrnn(log, run);
    CHECK(rc == 0, "exit %d", rc);
    if (rc) show_log(log);
    CHECK(count_done(dir) == 4);
    pathf(p, "%s/report/summary.md", dir);
    CHECK(file_has(p, "# Sweep `cmd`") && file_has(p, "| lr | mask |") && file_has(p, "diag-lr0.01"));
    pathf(p, "%s/report/axis_lr.png", dir);
    CHECK(is_png(p));
    pathf(p, "%s/report/axis_mask.png", dir);
    CHECK(is_png(p));
    pathf(p, "%s/report/learning_curves.png", dir);
    CHECK(is_png(p));
    pathf(p, "%s/runs/yang20-full-lr0.01-s1/config.json", dir);
    CHECK(file_has(p, "\"lr\":\t0.01") || file_has(p, "\"lr\": 0.01"), "lr not in %s", p);

    /* Again: nothing to do; with --seeds 2: four more runs; the first four untouched. */
    pathf(p, "%s/runs/yang20-diag-lr0.001-s1/DONE", dir);
    struct timespec t0 = mtime(p);
    CHECK(run_lmrnn(log, run) == 0 && file_has(log, "4 finished") && file_has(log, "0 to start"));
    const char *more[] = {"sweep", plan, "--out", dir, "--seeds", "2", "--quiet", NULL};
    CHECK(run_lmrnn(log, more) == 0);
    CHECK(count_done(dir) == 8 && same_time(t0, mtime(p)));
    /* --steps 8 extends every finished run. */
    const char *longer[] = {"sweep", plan, "--out", dir, "--seeds", "2", "--steps", "8", "--quiet", NULL};
    CHECK(run_lmrnn(log, longer) == 0);
    LmStopInfo st;
    pathf(p, "%s/runs/yang20-full-lr0.01-s2", dir);
    CHECK(lm_run_read_stop(p, &st) == 0 && st.step == 8);

    /* The same ids with other options: refused (exit 1, names the run and option) unless --force. */
    char plan2[PATH_MAX];
    plan_path_of(plan2, "cmd", "\"grid\": {\"lr\": [0.001, 0.01]}, \"zip\": {\"mask\": [\"diag\", \"full\"]}, "
                               "\"measures\": [\"final\"], \"seeds\": 2");
    /* same ids and options: accepted (measures differ only in the report) */
    const char *same[] = {"sweep", plan2, "--out", dir, "--steps", "8", "--quiet", NULL};
    CHECK(run_lmrnn(log, same) == 0);
    char text[1024];
    snprintf(text, sizeof text, "{\"name\": \"cmd\", \"base\": {\"battery\": \"yang20\", \"hidden\": 16, \"batch\": 2, "
                                "\"window\": 50, \"steps\": 8, \"eval_every\": 3, \"eval_trials\": 2, "
                                "\"checkpoint_every\": 2, \"clip\": 0.5}, \"grid\": {\"lr\": [0.01]}, "
                                "\"zip\": {\"mask\": [\"full\"]}}");
    write_text(plan2, text);
    const char *changed[] = {"sweep", plan2, "--out", dir, "--quiet", NULL};
    CHECK(run_lmrnn(log, changed) == 1 && file_has(log, "yang20-full-lr0.01-s1") && file_has(log, "clip") &&
          file_has(log, "--force"));
    const char *forced[] = {"sweep", plan2, "--out", dir, "--quiet", "--force", NULL};
    CHECK(run_lmrnn(log, forced) == 0);
    pathf(p, "%s/runs/yang20-full-lr0.01-s1/config.json", dir);
    CHECK(file_has(p, "0.5"));
    pathf(p, "%s/runs/yang20-full-lr0.01-s1/stdout.log", dir);
    CHECK(!file_has(p, "resume"), "a discarded run starts afresh");

    /* --report DIR rebuilds the report only. */
    const char *rep[] = {"sweep", plan2, "--report", dir, NULL};
    CHECK(run_lmrnn(log, rep) == 0 && file_has(log, "summary.md"));
}

static void test_index_and_slurm(void) {
    char plan[PATH_MAX], dir[PATH_MAX], log[PATH_MAX], p[PATH_MAX];
    plan_path_of(plan, "arr", "\"zip\": {\"mask\": [\"diag\", \"full\", \"local2d\"], \"d\": [null, null, 2]}");
    pathf(dir, "%s/array", tmp_root);
    pathf(log, "%s/array.log", tmp_root);
    const char *emit[] = {"sweep", plan, "--out", dir, "--emit", "slurm", "--array-max", "2", "--sbatch-opts",
                          "--partition=cpu --time=00:10:00", NULL};
    CHECK(run_lmrnn(log, emit) == 0);
    pathf(p, "%s/sweep.sbatch", dir);
    CHECK(file_has(p, "#SBATCH --array=0-2%2") && file_has(p, "#SBATCH --partition=cpu") &&
          file_has(p, "#SBATCH --time=00:10:00") && file_has(p, "--index \"$SLURM_ARRAY_TASK_ID\""));
    CHECK(access(p, X_OK) == 0);
    CHECK(count_done(dir) == 0);   /* emitting runs nothing */
    /* Every index runs exactly its run (in reverse order, as an array may). */
    const char *ids[3] = {"yang20-diag-s1", "yang20-full-s1", "yang20-local2d-d2-s1"};
    for (int i = 2; i >= 0; i--) {
        char idx[16];
        snprintf(idx, sizeof idx, "%d", i);
        const char *one[] = {"sweep", plan, "--out", dir, "--index", idx, "--quiet", NULL};
        CHECK(run_lmrnn(log, one) == 0, "index %d", i);
        CHECK(count_done(dir) == 3 - i, "index %d: %d done", i, count_done(dir));
        pathf(p, "%s/runs/%s/DONE", dir, ids[i]);
        CHECK(exists(p), "%s", ids[i]);
    }
    pathf(p, "%s/report", dir);
    CHECK(!exists(p));   /* array tasks leave the report to --report */
    const char *oob[] = {"sweep", plan, "--out", dir, "--index", "3", NULL};
    CHECK(run_lmrnn(log, oob) == 1 && file_has(log, "out of range") && file_has(log, "0..2"));
    const char *rep[] = {"sweep", plan, "--report", dir, NULL};
    CHECK(run_lmrnn(log, rep) == 0);
    /* --submit without sbatch, --mpi without an MPI build or mpirun: clear errors. */
    const char *submit[] = {"sweep", plan, "--out", dir, "--emit", "slurm", "--submit", NULL};
    setenv("PATH", "/nonexistent", 1);
    int rc = run_lmrnn(log, submit);
    CHECK(rc == 1 && file_has(log, "sbatch not found"), "exit %d", rc);
    const char *mpi[] = {"sweep", plan, "--out", dir, "--mpi", "2", NULL};
    rc = run_lmrnn(log, mpi);
    CHECK(rc == 1 && (file_has(log, "mpirun not found") || file_has(log, "no MPI build")), "exit %d", rc);
    /* The build without MPI, started as one of several MPI ranks, refuses instead of running it all. */
    setenv("OMPI_COMM_WORLD_SIZE", "3", 1);
    const char *ranked[] = {"sweep", plan, "--out", dir, NULL};
    rc = run_lmrnn(log, ranked);
    unsetenv("OMPI_COMM_WORLD_SIZE");
    setenv("PATH", "/usr/local/bin:/usr/bin:/bin", 1);
    CHECK(rc == 1 && file_has(log, "built without MPI") && file_has(log, "lmrnn-mpi"), "exit %d", rc);
    /* bad usage: exit 2 */
    const char *bad[] = {"sweep", plan, "--out", dir, "--emit", "pbs", NULL};
    CHECK(run_lmrnn(log, bad) == 2);
    pathf(p, "%s/missing.json", tmp_root);
    const char *missing[] = {"sweep", p, "--out", dir, NULL};
    CHECK(run_lmrnn(log, missing) == 2 && file_has(log, "missing.json"));
}

int main(int argc, char **argv) {
    find_binary(argv[0]);
    snprintf(tmp_root, sizeof tmp_root, "/tmp/lmrnn-test-sweep-XXXXXX");
    if (!mkdtemp(tmp_root)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_expand);
    RUN(test_errors_name_the_key);
    RUN(test_sweep_command);
    RUN(test_index_and_slurm);
    if (getenv("LMRNN_TEST_KEEP"))
        printf("kept %s\n", tmp_root);
    else
        rm_rf(tmp_root);
    return CHECK_DONE();
}
