/* The public C API: status, version, threads, batteries, tasks and single trials. */
#include "api/api_internal.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/model.h"
#include "tasks/battery.h"
#include "tasks/tasks.h"
#include "util/err.h"

/* The most trials one lmrnn_trial call generates before the one it returns (as `tasks dump`). */
#define MAX_TRIAL_INDEX 10000000

int lm_api_ok(void) {
    lm_err_set("%s", "");
    return LMRNN_OK;
}

int lm_api_arg(const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lm_err_set("%s", msg);
    return LMRNN_ERR_ARG;
}

int lm_api_check_len(const char *what, size_t n, size_t need, int at_least) {
    if (n == need || (at_least && n > need)) return LMRNN_OK;
    return lm_api_arg("%s: buffer of %zu elements, need %s%zu", what, n, at_least ? "at least " : "", need);
}

int lm_api_config(LmTrainConfig *c, const char *const *keys, const char *const *values, int n) {
    lm_train_config_default(c);
    snprintf(c->out, sizeof c->out, ".");
    if (n < 0) return lm_api_arg("negative option count %d", n);
    if (n > 0 && (!keys || !values)) return lm_api_arg("options: keys and values must not be NULL");
    for (int i = 0; i < n; i++) {
        if (!keys[i] || !values[i]) return lm_api_arg("option %d: NULL key or value", i);
        if (lm_train_config_set(c, keys[i], values[i]) != 0) return LMRNN_ERR_ARG;
    }
    return LMRNN_OK;
}

const char *lmrnn_last_error(void) { return lm_err_msg(); }

const char *lmrnn_version(int *major, int *minor, int *patch) {
    if (major) *major = LMRNN_VERSION_MAJOR;
    if (minor) *minor = LMRNN_VERSION_MINOR;
    if (patch) *patch = LMRNN_VERSION_PATCH;
    return LMRNN_VERSION_STRING;
}

int lmrnn_set_threads(int n) {
    if (n < 1 || n > 1024) return lm_api_arg("threads must be 1..1024 (got %d)", n);
    lm_set_threads(n);
    return lm_api_ok();
}

const char *lmrnn_blas_core(const char **better) {
    if (better) *better = lm_blas_better_core();
    return lm_blas_core();
}

/* ---------------------------------------------------------------- batteries and tasks */
static const char *const named_batteries[] = {"yang20", "modcog82", "modcog126"};

int lmrnn_battery_count(void) { return (int)(sizeof named_batteries / sizeof named_batteries[0]); }

const char *lmrnn_battery_name(int i) { return i >= 0 && i < lmrnn_battery_count() ? named_batteries[i] : NULL; }

static int parse_battery(const char *spec, LmBattery *b) {
    if (!spec) return lm_api_arg("battery: NULL name");
    return lm_battery_parse(spec, b) == 0 ? LMRNN_OK : LMRNN_ERR_ARG;
}

static int parse_fix(const char *fix, unsigned *out) {
    *out = 0;
    if (!fix) return LMRNN_OK;
    return lm_fix_parse(fix, out) == 0 ? LMRNN_OK : LMRNN_ERR_ARG;
}

int lmrnn_battery_size(const char *battery, int *n_tasks) {
    LmBattery *b = lm_malloc(sizeof *b);
    int rc = parse_battery(battery, b);
    if (rc == LMRNN_OK && n_tasks) *n_tasks = b->n;
    free(b);
    return rc == LMRNN_OK ? lm_api_ok() : rc;
}

int lmrnn_battery_task(const char *battery, int pos, const char *fix, lmrnn_task_info *out) {
    if (!out) return lm_api_arg("battery task: NULL output");
    unsigned fixbits;
    int rc = parse_fix(fix, &fixbits);
    if (rc != LMRNN_OK) return rc;
    LmBattery *b = lm_malloc(sizeof *b);
    rc = parse_battery(battery, b);
    if (rc == LMRNN_OK && (pos < 0 || pos >= b->n))
        rc = lm_api_arg("battery '%s' has %d tasks; no task at position %d", battery, b->n, pos);
    if (rc == LMRNN_OK) {
        const int id = b->id[pos];
        memset(out, 0, sizeof *out);
        snprintf(out->name, sizeof out->name, "%s", b->name[pos]);
        snprintf(out->canonical, sizeof out->canonical, "%s", lm_task_def(id)->name);
        out->id = id;
        snprintf(out->family, sizeof out->family, "%s", lm_family_name(lm_task_def(id)->family));
        snprintf(out->group, sizeof out->group, "%s", lm_group_name(lm_task_group(id)));
        lm_task_modifiers(id, out->modifiers, sizeof out->modifiers);
        lm_task_layout(id, fixbits, out->layout, sizeof out->layout);
    }
    free(b);
    return rc == LMRNN_OK ? lm_api_ok() : rc;
}

int lmrnn_fix_parse(const char *fix, unsigned *out) {
    if (!fix || !out) return lm_api_arg("fix: NULL argument");
    return parse_fix(fix, out) == LMRNN_OK ? lm_api_ok() : LMRNN_ERR_ARG;
}

/* ---------------------------------------------------------------- single trials */
void lm_api_trial_info(const LmTrial *t, lmrnn_trial_info *info) {
    memset(info, 0, sizeof *info);
    info->id = t->task;
    info->modality = t->modality;
    info->len = t->len;
    info->target = t->target;
    info->n_periods = t->n_periods;
    for (int p = 0; p < t->n_periods && p < LMRNN_MAX_PERIODS; p++) {
        snprintf(info->period_name[p], sizeof info->period_name[p], "%s", t->periods[p].name);
        info->period_start[p] = t->periods[p].start;
        info->period_end[p] = t->periods[p].end;
    }
}

int lmrnn_trial(const char *task, uint64_t seed, int index, const char *fix, float *ob, size_t n_ob,
                int32_t *gt, size_t n_gt, lmrnn_trial_info *info) {
    if (index < 0 || index > MAX_TRIAL_INDEX) return lm_api_arg("trial index must be 0..%d (got %d)", MAX_TRIAL_INDEX, index);
    int rc;
    if (ob && (rc = lm_api_check_len("trial observations", n_ob, (size_t)LM_TMAX * LM_OBS, 0)) != LMRNN_OK) return rc;
    if (gt && (rc = lm_api_check_len("trial labels", n_gt, LM_TMAX, 0)) != LMRNN_OK) return rc;
    unsigned fixbits;
    if ((rc = parse_fix(fix, &fixbits)) != LMRNN_OK) return rc;
    LmBattery *b = lm_malloc(sizeof *b);
    rc = parse_battery(task, b);
    if (rc == LMRNN_OK && b->n != 1) rc = lm_api_arg("trial: expected one task name, got '%s'", task);
    if (rc != LMRNN_OK) {
        free(b);
        return rc;
    }
    const int id = b->id[0];
    free(b);
    LmTaskEnv *env = lm_malloc(sizeof *env);
    LmTrial *t = lm_malloc(sizeof *t);
    lm_trial_env(env, seed, fixbits);
    LmRng rng = lm_trial_rng(seed, id);
    for (int i = 0; i <= index; i++) lm_trial_generate(env, id, lm_trial_modality(id, i), &rng, &rng, t);
    if (ob) memcpy(ob, t->ob, sizeof t->ob);
    if (gt) memcpy(gt, t->gt, sizeof t->gt);
    if (info) lm_api_trial_info(t, info);
    free(t);
    free(env);
    return lm_api_ok();
}
