/* The public C API: training a run from key/value options, as `lmrnn train` does, but silent (no
 * progress line, no summary, no plots) and without signal handlers (the caller owns the process). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "api/api_internal.h"
#include "train/train.h"
#include "util/err.h"

typedef struct {
    const char *resume;     /* run directory to continue, or NULL */
    const char *config;     /* JSON file of options, or NULL */
    int force;
} Session;

static const char *bare(const char *key) {
    while (*key == '-') key++;
    return key;
}

/* Options of the session rather than of the run: resume DIR, config FILE, force true|false.
 * Returns 1 when `key` is one of them (then *rc may carry a bad-value error), else 0. */
static int session_option(const char *key, const char *value, Session *s, int *rc) {
    key = bare(key);
    if (!strcmp(key, "resume")) s->resume = value;
    else if (!strcmp(key, "config")) s->config = value;
    else if (!strcmp(key, "force")) {
        if (!strcmp(value, "true") || !strcmp(value, "1")) s->force = 1;
        else if (!strcmp(value, "false") || !strcmp(value, "0")) s->force = 0;
        else *rc = lm_api_arg("option 'force': expected true or false, got '%s'", value);
    } else return 0;
    return 1;
}

/* The configuration: the resumed run's (only schedule options may change, as `lmrnn train --resume`
 * allows), or defaults + config file + options. */
static int build_config(LmTrainConfig *c, const char *const *keys, const char *const *values, int n,
                        Session *s) {
    int rc = LMRNN_OK;
    memset(s, 0, sizeof *s);
    for (int i = 0; i < n && rc == LMRNN_OK; i++)
        if (!keys[i] || !values[i]) rc = lm_api_arg("option %d: NULL key or value", i);
        else session_option(keys[i], values[i], s, &rc);
    if (rc != LMRNN_OK) return rc;
    if (s->resume && s->config) return lm_api_arg("config cannot be combined with resume (the run has its config)");
    lm_train_config_default(c);
    if (s->resume && lm_train_config_for_resume(s->resume, c) != 0) return LMRNN_ERR_FAILED;
    if (s->config && lm_train_config_load_file(c, s->config) != 0) return LMRNN_ERR_ARG;
    for (int i = 0; i < n; i++) {
        Session ignored;
        int dummy = 0;
        memset(&ignored, 0, sizeof ignored);
        if (session_option(keys[i], values[i], &ignored, &dummy)) continue;
        if (s->resume && (!lm_train_config_is_schedule(keys[i]) || !strcmp(bare(keys[i]), "out")))
            return lm_api_arg("%s cannot be changed when resuming (it would change the training)", bare(keys[i]));
        if (lm_train_config_set(c, keys[i], values[i]) != 0) return LMRNN_ERR_ARG;
    }
    return lm_train_config_validate(c) == 0 ? LMRNN_OK : LMRNN_ERR_ARG;
}

int lmrnn_train(const char *const *keys, const char *const *values, int n, lmrnn_train_result *res) {
    if (n < 0) return lm_api_arg("negative option count %d", n);
    if (n > 0 && (!keys || !values)) return lm_api_arg("options: keys and values must not be NULL");
    if (res) {
        memset(res, 0, sizeof *res);
        res->mean = res->min = NAN;
    }
    LmTrainConfig *c = lm_malloc(sizeof *c);
    Session s;
    int rc = build_config(c, keys, values, n, &s);
    if (rc != LMRNN_OK) {
        free(c);
        return rc;
    }
    LmRunOptions opts;
    memset(&opts, 0, sizeof opts);
    opts.resume = s.resume != NULL;
    opts.force = s.force;
    LmRunResult r;
    memset(&r, 0, sizeof r);
    rc = lm_train_run(c, &opts, &r) == 0 ? LMRNN_OK : LMRNN_ERR_FAILED;
    free(c);
    if (res) {
        snprintf(res->reason, sizeof res->reason, "%s", lm_stop_reason_name(r.reason));
        res->step = r.step;
        res->trials = r.trials;
        res->wall = r.wall;
        res->mean = r.mean;
        res->min = r.min;
    }
    return rc == LMRNN_OK ? lm_api_ok() : rc;
}
