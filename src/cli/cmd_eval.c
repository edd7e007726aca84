/* lmrnn eval DIR|CKPT: per-task performance of a trained network on held-out trials. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/commands.h"
#include "eval/eval.h"
#include "io/lock.h"
#include "io/npz.h"
#include "eval/table.h"
#include "report/run.h"
#include "util/err.h"
#include "util/options.h"

#define EVAL_DEFAULT_TRIALS 200

static const char eval_usage[] =
    "usage: lmrnn eval DIR|CKPT [options]\n"
    "\n"
    "Evaluates a trained network (DIR/checkpoint.npz, or a checkpoint file) on held-out single trials,\n"
    "run from h = 0 and scored from the argmax over the 17 outputs; prints a per-task table with a 95%\n"
    "Wilson confidence interval and the means over the battery and the groups base/int/seq/intseq, and\n"
    "writes eval.json and eval.csv.\n"
    "\n"
    "options:\n"
    "  --battery B    tasks to evaluate (default: the training battery); a battery name or a comma-\n"
    "                 separated list, all of which must be in the training battery (each task keeps\n"
    "                 its training rule input)\n"
    "  --trials K     trials per task (default 200: a 95% CI half-width of at most 0.07)\n"
    "  --metric M     last_step (default), first_response, first_response_nogo, strict_trial,\n"
    "                 tolerant_last_step (docs/model.md §5; every metric is also stored in eval.json)\n"
    "  --seed S       trial seed (default: the run's held-out evaluation seed, the one used during\n"
    "                 training, derived from the run seed)\n"
    "  --noise        draw recurrent noise (sigma_rec of the run) during evaluation\n"
    "  --threads N    threads (default 1); results do not depend on it\n"
    "  --out DIR      where to write eval.json/eval.csv (default: the checkpoint's directory)\n"
    "  --overwrite    replace the run's own eval.json even when evaluating a task subset or another\n"
    "                 metric (without it such an evaluation is printed, not written, unless --out)\n"
    "\n"
    "Exit status 0, 1 for a bad run directory or checkpoint, 2 for bad options.\n";

/* Map every task of `sub` to its position in the training battery. */
static int map_subset(const LmBattery *train, const LmBattery *sub, int *pos) {
    for (int k = 0; k < sub->n; k++) {
        pos[k] = -1;
        for (int j = 0; j < train->n; j++)
            if (train->id[j] == sub->id[k]) {
                pos[k] = j;
                break;
            }
        if (pos[k] < 0) {
            lm_err_set("task '%s' is not in the training battery '%s' (the network has no rule input for it)",
                       sub->name[k], train->spec);
            return -1;
        }
    }
    return 0;
}

typedef struct {
    const char *battery, *out;
    int trials, threads, noise, overwrite;
    LmMetric metric;
    uint64_t seed;
} EvalOptions;

static int set_metric(void *obj, const char *v) { return lm_metric_parse(v, &((EvalOptions *)obj)->metric); }
static void fmt_metric(const void *obj, char *buf, size_t n) {
    snprintf(buf, n, "%s", lm_metric_name(((const EvalOptions *)obj)->metric));
}

#define OPT(name, type, field, lo, hi, def, help) \
    {name, type, offsetof(EvalOptions, field), 0, lo, hi, 0, def, help, NULL, NULL, NULL, NULL, 0}
static const LmOption eval_opts[] = {
    OPT("battery", LM_OPT_STRING, battery, 0, 0, NULL, "tasks to evaluate (default: the training battery)"),
    OPT("trials", LM_OPT_INT, trials, 1, 1000000, "200", "trials per task"),
    {"metric", LM_OPT_CUSTOM, 0, 0, 0, 0, 0, "last_step", "metric of the table", NULL, NULL, set_metric, fmt_metric, 0},
    OPT("seed", LM_OPT_UINT64, seed, 0, 0, NULL, "trial seed (default: the run's held-out evaluation seed)"),
    OPT("noise", LM_OPT_BOOL, noise, 0, 0, "false", "recurrent noise during evaluation"),
    OPT("threads", LM_OPT_INT, threads, 1, 1024, "1", "threads"),
    OPT("out", LM_OPT_STRING, out, 0, 0, NULL, "where to write eval.json/eval.csv"),
    OPT("overwrite", LM_OPT_BOOL, overwrite, 0, 0, "false", "replace the run's eval.json with a partial one"),
};
static const LmOptTable eval_table = {"eval", eval_opts, LM_OPTS_COUNT(eval_opts)};

int lm_cmd_eval(int argc, char **argv) {
    EvalOptions eo = {0};
    LmOptScan *scan = lm_malloc(sizeof *scan);
    int rc = lm_opts_parse(&eval_table, &eo, argc, argv, 1, scan);
    const char *path = scan->n_pos ? scan->pos[0] : NULL;
    int help = scan->help, have_seed = lm_opts_given(scan, "seed");
    free(scan);
    if (rc != 0) return lm_opts_fail("eval", LM_EXIT_USAGE);
    if (help) {
        fputs(eval_usage, stdout);
        return LM_EXIT_OK;
    }
    if (!path) {
        fputs(eval_usage, stderr);
        return LM_EXIT_USAGE;
    }
    const char *battery = eo.battery, *out_dir = eo.out;
    long trials = eo.trials;
    LmMetric metric = eo.metric;
    uint64_t seed = eo.seed;
    int noise = eo.noise, threads = eo.threads;
    LmBattery check;
    if (battery && lm_battery_parse(battery, &check) != 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s", lm_err_msg());
        lm_err_set("--battery: %s", msg);
        return lm_opts_fail("eval", LM_EXIT_USAGE);
    }
    lm_set_threads((int)threads);
    lm_opts_warn_threads("eval", threads);

    LmTrained run;
    if (lm_trained_load(path, &run) != 0) goto fail;
    LmBattery sub = *run.battery;
    int pos[LM_MAX_BATTERY];
    for (int k = 0; k < sub.n; k++) pos[k] = k;
    rc = 0;
    if (battery && (lm_battery_parse(battery, &sub) != 0 || map_subset(run.battery, &sub, pos) != 0)) {
        lm_trained_free(&run);
        return lm_opts_fail("eval", LM_EXIT_USAGE);
    }
    if (out_dir && lm_mkdir_p(out_dir) != 0) rc = -1;
    const char *lock_dir = out_dir ? out_dir : run.dir;
    if (rc == 0 && lm_dir_lock(lock_dir) != 0) rc = -1;
    if (rc != 0) {
        lm_trained_free(&run);
        goto fail;
    }
    if (!have_seed) seed = run.eval_seed;
    const LmModelConfig *mc = lm_model_config(run.model);
    if (noise && mc->sigma_rec <= 0)
        fprintf(stderr, "lmrnn eval: note: --noise has no effect, the run has sigma_rec = 0\n");
    /* The noise generator of the evaluations during training (or one derived from --seed). */
    LmRng noise_rng = lm_rng_derive(have_seed ? seed : run.seed, LM_SEED_EVAL_NOISE);

    printf("checkpoint %s (step %lld), %d tasks, %ld trials per task, metric %s, seed %llu%s\n", run.ckpt,
           (long long)run.step, sub.n, trials, lm_metric_name(metric), (unsigned long long)seed,
           noise ? ", with recurrent noise" : "");
    LmEvalResult *res = lm_malloc(sizeof *res);
    rc = lm_evaluate_subset(run.model, run.env, &sub, pos, run.battery->n, (int)trials, seed,
                            noise ? &noise_rng : NULL, res);
    if (rc == 0) {
        lm_eval_print(stdout, res, &sub, metric);
        cJSON *doc = lm_eval_json(res, &sub, metric);
        cJSON_AddStringToObject(doc, "checkpoint", run.ckpt);
        cJSON_AddNumberToObject(doc, "step", (double)run.step);
        cJSON_AddNumberToObject(doc, "seed", (double)seed);
        cJSON_AddBoolToObject(doc, "noise", noise);
        const char *dir = out_dir ? out_dir : run.dir;
        /* The run's own eval.json describes the run (training battery, its metric): a partial or
         * differently scored evaluation replaces it only when asked. */
        int partial = sub.n != run.battery->n || metric != run.trainer->cfg.eval_metric;
        if (!out_dir && partial && !eo.overwrite) {
            printf("not written: %s/eval.json keeps the run's own evaluation (this one is %s); give --out DIR "
                   "or --overwrite to write it\n", dir, sub.n != run.battery->n ? "a task subset" : "another metric");
        } else {
            rc = lm_eval_write_files(dir, doc);
            if (rc == 0) printf("wrote %s/eval.json and %s/eval.csv\n", dir, dir);
        }
        cJSON_Delete(doc);
    }
    free(res);
    lm_dir_unlock(lock_dir);
    lm_trained_free(&run);
    if (rc != 0) goto fail;
    return 0;
fail:
    return lm_opts_fail("eval", LM_EXIT_FAILED);
}
