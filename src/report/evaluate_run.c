/* `lmrnn eval` as a library call (report/evaluate_run.h). */
#include "report/evaluate_run.h"
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "eval/table.h"
#include "io/npz.h"
#include "report/run.h"
#include "util/err.h"

static int set_metric(void *obj, const char *v) { return lm_metric_parse(v, &((LmEvalOptions *)obj)->metric); }
static void fmt_metric(const void *obj, char *buf, size_t n) {
    snprintf(buf, n, "%s", lm_metric_name(((const LmEvalOptions *)obj)->metric));
}

#define OPT(name, type, field, lo, hi, def, help) \
    {name, type, offsetof(LmEvalOptions, field), 0, lo, hi, 0, def, help, NULL, NULL, NULL, NULL, 0}
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

const LmOptTable *lm_eval_options_table(void) { return &eval_table; }

void lm_eval_options_default(LmEvalOptions *o) {
    memset(o, 0, sizeof *o);
    lm_opts_defaults(&eval_table, o);
}

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

/* Print (and write unless it would replace the run's own evaluation with a partial one) the table. */
static int report_table(const LmTrained *run, const LmEvalOptions *o, const LmBattery *sub, uint64_t seed,
                        const LmEvalResult *res, FILE *report) {
    if (report) lm_eval_print(report, res, sub, o->metric);
    cJSON *doc = lm_eval_json(res, sub, o->metric);
    cJSON_AddStringToObject(doc, "checkpoint", run->ckpt);
    cJSON_AddNumberToObject(doc, "step", (double)run->step);
    cJSON_AddNumberToObject(doc, "seed", (double)seed);
    cJSON_AddBoolToObject(doc, "noise", o->noise);
    const char *dir = o->out ? o->out : run->dir;
    /* The run's own eval.json describes the run (training battery, its metric): a partial or
     * differently scored evaluation replaces it only when asked. */
    const int partial = sub->n != run->battery->n || o->metric != run->trainer->cfg.eval_metric;
    int rc = 0;
    if (!o->out && partial && !o->overwrite) {
        if (report)
            fprintf(report, "not written: %s/eval.json keeps the run's own evaluation (this one is %s); give --out DIR "
                            "or --overwrite to write it\n", dir, sub->n != run->battery->n ? "a task subset" : "another metric");
    } else {
        rc = lm_eval_write_files(dir, doc);
        if (rc == 0 && report) fprintf(report, "wrote %s/eval.json and %s/eval.csv\n", dir, dir);
    }
    cJSON_Delete(doc);
    return rc;
}

int lm_eval_run(const char *path, const LmEvalOptions *o, FILE *report) {
    LmBattery *sub = lm_malloc(sizeof *sub);
    if (o->battery && lm_battery_parse(o->battery, sub) != 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s", lm_err_msg());
        lm_err_set("--battery: %s", msg);
        free(sub);
        return -2;
    }
    LmTrained run;
    if (lm_trained_load(path, &run) != 0) {
        free(sub);
        return -1;
    }
    int pos[LM_MAX_BATTERY], rc = 0;
    if (!o->battery) {
        *sub = *run.battery;
        for (int k = 0; k < sub->n; k++) pos[k] = k;
    } else if (map_subset(run.battery, sub, pos) != 0) {
        rc = -2;
    }
    if (rc == 0 && o->out && lm_mkdir_p(o->out) != 0) rc = -1;
    const uint64_t seed = o->have_seed ? o->seed : run.eval_seed;
    if (rc == 0 && o->noise && lm_model_config(run.model)->sigma_rec <= 0)
        fprintf(stderr, "lmrnn eval: note: --noise has no effect, the run has sigma_rec = 0\n");
    /* The noise generator of the evaluations during training (or one derived from --seed). */
    LmRng noise_rng = lm_rng_derive(o->have_seed ? seed : run.seed, LM_SEED_EVAL_NOISE);
    if (rc == 0 && report)
        fprintf(report, "checkpoint %s (step %lld), %d tasks, %d trials per task, metric %s, seed %llu%s\n", run.ckpt,
                (long long)run.step, sub->n, o->trials, lm_metric_name(o->metric), (unsigned long long)seed,
                o->noise ? ", with recurrent noise" : "");
    LmEvalResult *res = lm_malloc(sizeof *res);
    if (rc == 0)
        rc = lm_evaluate_subset(run.model, run.env, sub, pos, run.battery->n, o->trials, seed,
                                o->noise ? &noise_rng : NULL, res);
    if (rc == 0) rc = report_table(&run, o, sub, seed, res, report);
    free(res);
    free(sub);
    lm_trained_free(&run);
    return rc;
}
