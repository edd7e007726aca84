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
