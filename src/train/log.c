#include "train/log.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "io/npz.h"
#include "io/json.h"
#include "util/err.h"

int lm_log_truncate(const char *path, int64_t step) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) return 0;
        lm_err_set("%s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    char *out = lm_malloc(cap);
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, f)) > 0) {
        if (line[len - 1] != '\n') break; /* a record cut by a crash: drop it */
        cJSON *o = cJSON_Parse(line);
        const cJSON *s = o ? cJSON_GetObjectItemCaseSensitive(o, "step") : NULL;
        int keep = cJSON_IsNumber(s) && s->valuedouble <= (double)step;
        cJSON_Delete(o);
        if (!keep) continue;
        if (n + (size_t)len > cap) {
            while (n + (size_t)len > cap) cap *= 2;
            out = lm_realloc(out, cap);
        }
        memcpy(out + n, line, (size_t)len);
        n += (size_t)len;
    }
    int err = ferror(f);
    free(line);
    fclose(f);
    int rc = err ? (lm_err_set("%s: read error", path), -1) : lm_write_file_atomic(path, out, n);
    free(out);
    return rc;
}

static int stop_cb(const cJSON *rec, void *ctx) {
    LmStopInfo *s = ctx;
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(rec, "kind");
    const char *k = cJSON_IsString(kind) ? kind->valuestring : "";
    if (!strcmp(k, "resume")) s->found = 0;
    if (!strcmp(k, "stop")) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(rec, "reason");
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(rec, "step");
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(rec, "wall");
        s->found = 1;
        snprintf(s->reason, sizeof s->reason, "%s", cJSON_IsString(r) ? r->valuestring : "?");
        s->step = cJSON_IsNumber(st) ? (long)st->valuedouble : -1;
        s->wall = cJSON_IsNumber(w) ? w->valuedouble : NAN;
    }
    return 0;
}

int lm_log_read_stop(const char *log_path, LmStopInfo *out) {
    memset(out, 0, sizeof *out);
    return lm_jsonl_foreach(log_path, stop_cb, out);
}

static double num_or(const cJSON *o, const char *k, double def) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

static void str_of(const cJSON *o, const char *k, char *buf, size_t n) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    snprintf(buf, n, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

static void record_of(const cJSON *o, LmLogRecord *r) {
    memset(r, 0, sizeof *r);
    str_of(o, "kind", r->kind, sizeof r->kind);
    double step = num_or(o, "step", -1), trials = num_or(o, "trials", -1);
    r->step = step >= 0 && step < 9e18 ? (int64_t)step : -1;
    r->trials = trials >= 0 && trials < 9e18 ? (int64_t)trials : -1;
    r->wall = num_or(o, "wall", NAN);
    r->loss = num_or(o, "loss", NAN);
    r->mean = num_or(o, "mean", NAN);
    r->threshold = num_or(o, "threshold", NAN);
    for (int g = 0; g < LM_N_GROUPS; g++) r->group[g] = NAN;
    const cJSON *groups = cJSON_GetObjectItemCaseSensitive(o, "groups"), *g;
    if (cJSON_IsObject(groups))
        cJSON_ArrayForEach(g, groups) {
            int k = g->string ? lm_group_parse(g->string) : -1;
            if (k >= 0 && cJSON_IsNumber(g)) r->group[k] = g->valuedouble;
        }
    str_of(o, "metric", r->metric, sizeof r->metric);
    str_of(o, "reason", r->reason, sizeof r->reason);
    r->restart = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "restart"));
}

/* A train or eval record repeating steps: drop the earlier records of its kind at or after its step. */
static void replace_repeated(LmRunLog *l, const LmLogRecord *r) {
    if (strcmp(r->kind, "train") && strcmp(r->kind, "eval")) return;
    int keep = l->n;
    for (int i = l->n - 1; i >= 0; i--) {
        if (strcmp(l->rec[i].kind, r->kind)) continue;
        if (l->rec[i].step < r->step) break;
        keep = i;
    }
    if (keep == l->n) return;
    int w = keep;
    for (int i = keep; i < l->n; i++)
        if (strcmp(l->rec[i].kind, r->kind) || l->rec[i].step < r->step) l->rec[w++] = l->rec[i];
    l->n = w;
}

int lm_run_log_read(const char *path, LmRunLog *out) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) {
            out->missing = 1;
            return 0;
        }
        lm_err_set("%s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t lcap = 0;
    int cap = 0, lineno = 0, bad_line = 0, rc = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, f)) > 0) {
        lineno++;
        if (line[0] == '\n') continue;
        if (bad_line) break;   /* the unparseable line was not the last one */
        cJSON *o = cJSON_Parse(line);
        if (!cJSON_IsObject(o)) {
            cJSON_Delete(o);
            bad_line = lineno;
            continue;
        }
        LmLogRecord r;
        record_of(o, &r);
        cJSON_Delete(o);
        replace_repeated(out, &r);
        if (out->n == cap) {
            cap = cap ? 2 * cap : 256;
            out->rec = lm_realloc(out->rec, sizeof *out->rec * (size_t)cap);
        }
        out->rec[out->n++] = r;
    }
    if (ferror(f)) {
        lm_err_set("%s: read error", path);
        rc = -1;
    } else if (bad_line && len > 0) {
        lm_err_set("%s:%d: not a JSON object (only a last line cut by a crash is skipped)", path, bad_line);
        rc = -1;
    }
    free(line);
    fclose(f);
    if (rc != 0) lm_run_log_free(out);
    return rc;
}

void lm_run_log_free(LmRunLog *log) {
    free(log->rec);
    log->rec = NULL;
    log->n = 0;
}
