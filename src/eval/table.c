#include "eval/table.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "io/json.h"
#include "io/npz.h"
#include "util/err.h"


/* NaN (a group absent from the battery) becomes null: JSON has no NaN. */
static void add_number(cJSON *o, const char *key, double v) {
    if (isfinite(v)) cJSON_AddNumberToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

cJSON *lm_eval_json(const LmEvalResult *r, const LmBattery *b, LmMetric metric) {
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "metric", lm_metric_name(metric));
    add_number(doc, "mean", lm_eval_mean(r, metric));
    add_number(doc, "min", lm_eval_min(r, metric));
    int tpt = r->n_tasks ? r->n_trials[0] : 0;
    cJSON_AddNumberToObject(doc, "trials_per_task", tpt);
    cJSON_AddStringToObject(doc, "battery", b->spec);
    cJSON *groups = cJSON_AddObjectToObject(doc, "groups");
    for (int g = 0; g < 4; g++) add_number(groups, lm_group_name(g), lm_eval_group_mean(r, b, (LmGroup)g, metric));
    cJSON *metrics = cJSON_AddObjectToObject(doc, "metrics");
    for (int m = 0; m < LM_N_METRICS; m++) add_number(metrics, lm_metric_name((LmMetric)m), lm_eval_mean(r, (LmMetric)m));
    cJSON *tasks = cJSON_AddArrayToObject(doc, "tasks");
    for (int k = 0; k < r->n_tasks; k++) {
        cJSON *t = cJSON_CreateObject();
        const LmTaskDef *def = lm_task_def(b->id[k]);
        char mods[64];
        lm_task_modifiers(b->id[k], mods, sizeof mods);
        cJSON_AddStringToObject(t, "name", b->name[k]);
        cJSON_AddStringToObject(t, "family", lm_family_name(def->family));
        cJSON_AddStringToObject(t, "group", lm_group_name(lm_task_group(b->id[k])));
        cJSON_AddStringToObject(t, "modifiers", mods);
        cJSON_AddNumberToObject(t, "n", r->n_trials[k]);
        cJSON_AddNumberToObject(t, "correct", r->correct[k][metric]);
        double lo, hi;
        lm_wilson_interval(r->correct[k][metric], r->n_trials[k], &lo, &hi);
        add_number(t, "perf", lm_eval_task_perf(r, k, metric));
        cJSON_AddNumberToObject(t, "ci_low", lo);
        cJSON_AddNumberToObject(t, "ci_high", hi);
        cJSON *all = cJSON_AddObjectToObject(t, "all");
        for (int m = 0; m < LM_N_METRICS; m++) add_number(all, lm_metric_name((LmMetric)m), lm_eval_task_perf(r, k, (LmMetric)m));
        cJSON_AddItemToArray(tasks, t);
    }
    return doc;
}

static const char *str_of(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}
static double num_of(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

int lm_eval_write_files(const char *dir, const cJSON *doc) {
    char path[4200];
    if (lm_path_join(path, sizeof path, dir, "eval.json") != 0 || lm_json_write(path, doc) != 0) return -1;
    /* CSV: one row per task, then the battery mean as a row named "mean". */
    size_t cap = 4096, n = 0;
    char *csv = lm_malloc(cap);
    n += (size_t)snprintf(csv, cap, "task,family,group,modifiers,n,correct,perf,ci_low,ci_high\n");
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(doc, "tasks")) {
        char line[512];
        int len = snprintf(line, sizeof line, "%s,%s,%s,\"%s\",%.0f,%.0f,%.6f,%.6f,%.6f\n", str_of(t, "name"),
                           str_of(t, "family"), str_of(t, "group"), str_of(t, "modifiers"), num_of(t, "n"),
                           num_of(t, "correct"), num_of(t, "perf"), num_of(t, "ci_low"), num_of(t, "ci_high"));
        if (n + (size_t)len + 1 > cap) {
            cap = 2 * (n + (size_t)len + 1);
            csv = lm_realloc(csv, cap);
        }
        memcpy(csv + n, line, (size_t)len + 1);
        n += (size_t)len;
    }
    int rc = lm_path_join(path, sizeof path, dir, "eval.csv") != 0 ? -1 : lm_write_file_atomic(path, csv, n);
    free(csv);
    return rc;
}

void lm_eval_print(FILE *f, const LmEvalResult *r, const LmBattery *b, LmMetric metric) {
    fprintf(f, "%-18s %-6s %-7s %6s %7s %6s  %s\n", "task", "family", "group", "trials", "correct", "perf",
            "95% CI");
    for (int k = 0; k < r->n_tasks; k++) {
        double lo, hi;
        lm_wilson_interval(r->correct[k][metric], r->n_trials[k], &lo, &hi);
        fprintf(f, "%-18s %-6s %-7s %6d %7d %6.3f  [%.3f, %.3f]\n", b->name[k],
                lm_family_name(lm_task_def(b->id[k])->family), lm_group_name(lm_task_group(b->id[k])),
                r->n_trials[k], r->correct[k][metric], lm_eval_task_perf(r, k, metric), lo, hi);
    }
    fprintf(f, "\nmetric %s, %d tasks: mean %.3f, min %.3f\n", lm_metric_name(metric), r->n_tasks,
            lm_eval_mean(r, metric), lm_eval_min(r, metric));
    fprintf(f, "group means:");
    for (int g = 0; g < 4; g++) {
        double v = lm_eval_group_mean(r, b, (LmGroup)g, metric);
        if (isfinite(v)) fprintf(f, "  %s %.3f", lm_group_name(g), v);
        else fprintf(f, "  %s -", lm_group_name(g));
    }
    fputc('\n', f);
}

static double number_or_nan(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

int lm_eval_file_read(const char *path, LmEvalFile *out) {
    memset(out, 0, sizeof *out);
    if (access(path, F_OK) != 0 && errno == ENOENT) return 1;
    cJSON *doc = lm_json_read(path);
    if (!doc) return -1;
    int rc = 0;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, "metric");
    snprintf(out->metric, sizeof out->metric, "%s", cJSON_IsString(m) ? m->valuestring : "?");
    double trials = number_or_nan(doc, "trials_per_task");
    out->trials = trials >= 0 && trials < 1e9 ? (int)trials : 0;
    out->mean = number_or_nan(doc, "mean");
    const cJSON *tasks = cJSON_GetObjectItemCaseSensitive(doc, "tasks"), *it;
    if (!cJSON_IsArray(tasks)) {
        lm_err_set("%s: no \"tasks\" array (not an evaluation table)", path);
        rc = -1;
    } else {
        cJSON_ArrayForEach(it, tasks) {
            const cJSON *nm = cJSON_GetObjectItemCaseSensitive(it, "name");
            int id = cJSON_IsString(nm) ? lm_task_lookup(nm->valuestring) : -1;
            if (id < 0 || out->n >= LM_MAX_BATTERY) {
                lm_err_set("%s: task entry %d has no known task name", path, out->n);
                rc = -1;
                break;
            }
            int k = out->n++;
            snprintf(out->task[k].name, sizeof out->task[k].name, "%s", nm->valuestring);
            out->task[k].id = id;
            out->task[k].group = (int)lm_task_group(id);
            out->task[k].perf = number_or_nan(it, "perf");
            out->task[k].ci_low = number_or_nan(it, "ci_low");
            out->task[k].ci_high = number_or_nan(it, "ci_high");
        }
    }
    cJSON_Delete(doc);
    return rc;
}
