/* Shared by the files of the public C API (include/lmrnn.h): status helpers and the option setter.
 * The API is a thin layer over the library; it adds argument and buffer-size checks and turns the
 * library's lm_err_set() messages into status codes. */
#ifndef LMRNN_API_INTERNAL_H
#define LMRNN_API_INTERNAL_H
#define LMRNN_BUILDING_LIBRARY 1
#include <stddef.h>
#include "lmrnn.h"
#include "tasks/tasks.h"
#include "report/run.h"
#include "train/config.h"

/* Clear the message and return LMRNN_OK. */
int lm_api_ok(void);
/* Record a bad-argument message and return LMRNN_ERR_ARG. */
int lm_api_arg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* LMRNN_ERR_ARG naming the buffer unless n == need (or n >= need when at_least). */
int lm_api_check_len(const char *what, size_t n, size_t need, int at_least);
/* Defaults, then keys[i] = values[i] through the train options table. "out" defaults to "." for
 * callers that never write a run directory. LMRNN_OK or LMRNN_ERR_ARG. */
int lm_api_config(LmTrainConfig *c, const char *const *keys, const char *const *values, int n);

/* A model handle (api_model.c), shared with the analyses (api_analysis.c). */
struct lmrnn_model {
    LmTrained run;          /* run.trainer owns the network; battery, env and seeds come with it */
    struct LmWork *work;    /* forward buffers, grown on demand */
    int work_T, work_B;
};

/* A trial's description for the caller. */
void lm_api_trial_info(const LmTrial *t, lmrnn_trial_info *info);

#endif
