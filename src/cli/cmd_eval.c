/* lmrnn eval DIR|CKPT: per-task performance of a trained network on held-out trials. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/args.h"
#include "cli/commands.h"
#include "eval/eval.h"
#include "io/npz.h"
#include "report/eval_report.h"
#include "report/run.h"
#include "util/err.h"

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
    "  --out DIR      where to write eval.json/eval.csv (default: the checkpoint's directory)\n";

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

int lm_cmd_eval(int argc, char **argv) {
    const char *path = NULL, *battery = NULL, *out_dir = NULL, *v;
    long trials = EVAL_DEFAULT_TRIALS, threads = 1;
    LmMetric metric = LM_METRIC_LAST_STEP;
    uint64_t seed = 0;
    int have_seed = 0, noise = 0;
    LmArgs a = lm_args(argc, argv, 0);
    while (lm_args_more(&a)) {
        const char *arg = lm_args_peek(&a);
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            fputs(eval_usage, stdout);
            return 0;
        } else if (lm_arg_value(&a, "--battery", &v)) {
            battery = v;
        } else if (lm_arg_value(&a, "--trials", &v)) {
            if (!a.failed && lm_parse_long("--trials", v, 1, 1000000, &trials) != 0) goto fail;
        } else if (lm_arg_value(&a, "--metric", &v)) {
            if (!a.failed && lm_metric_parse(v, &metric) != 0) goto fail;
        } else if (lm_arg_value(&a, "--seed", &v)) {
            if (!a.failed && lm_parse_u64("--seed", v, &seed) != 0) goto fail;
            have_seed = 1;
        } else if (lm_arg_switch(&a, "--noise")) {
            noise = 1;
        } else if (lm_arg_value(&a, "--threads", &v)) {
            if (!a.failed && lm_parse_long("--threads", v, 1, 1024, &threads) != 0) goto fail;
        } else if (lm_arg_value(&a, "--out", &v)) {
            out_dir = v;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            fprintf(stderr, "lmrnn eval: unknown option '%s' (see lmrnn eval --help)\n", arg);
            return 2;
        } else if (!path) {
            path = arg;
            a.i++;
        } else {
            fprintf(stderr, "lmrnn eval: unexpected argument '%s' (one DIR or CKPT expected)\n", arg);
            return 2;
        }
    }
    if (a.failed) goto fail;
    if (!path) {
        fputs(eval_usage, stderr);
        return 2;
    }
    lm_set_threads((int)threads);

    LmTrained run;
    if (lm_trained_load(path, &run) != 0) goto fail;
    LmBattery sub = *run.battery;
    int pos[LM_MAX_BATTERY];
    for (int k = 0; k < sub.n; k++) pos[k] = k;
    int rc = 0;
    if (battery && (lm_battery_parse(battery, &sub) != 0 || map_subset(run.battery, &sub, pos) != 0)) rc = -1;
    if (rc == 0 && out_dir && lm_mkdir_p(out_dir) != 0) rc = -1;
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
        rc = lm_eval_write_files(dir, doc);
        cJSON_Delete(doc);
        if (rc == 0) printf("wrote %s/eval.json and %s/eval.csv\n", dir, dir);
    }
    free(res);
    lm_trained_free(&run);
    if (rc != 0) goto fail;
    return 0;
fail:
    fprintf(stderr, "lmrnn: %s\n", lm_err_msg());
    return 1;
}
