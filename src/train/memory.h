/* The memory a training run needs, computed from its configuration before anything large is allocated,
 * and the memory the process may use: `lmrnn train` refuses a run that does not fit before its first
 * step, `--dry-run` prints the estimate, and checkpoint readers bound a stored configuration with it
 * before building its network. The terms mirror the allocations of the model (lm_model_new, lm_work_new,
 * lm_adam_init), the trainer, the stream, evaluation and the checkpoint writer; docs/performance.md
 * compares the estimate with measured peak RSS. */
#ifndef LMRNN_TRAIN_MEMORY_H
#define LMRNN_TRAIN_MEMORY_H
#include <stdint.h>
#include <stdio.h>
#include "train/config.h"

/* Up to this N the training summary (analysis/summary.c) works on dense N x N matrices (covariance,
 * SVD); the estimate below counts them. Defined here, the lower layer, so both read one number. */
#define LM_SUMMARY_DENSE_MAX_N 1024

typedef struct {
    int64_t nnz, n_diag;      /* mask connections and distinct diagonals */
    const char *layout;       /* recurrent layout the model will take: "dense", "band" or "csr" */
    int64_t n_params;
    /* bytes */
    double process;           /* program, libraries, threads (measured constant) */
    double mask;              /* the mask (trainer's and model's copies) */
    double model;             /* parameters, gradients, sparse index structures */
    double adam;              /* the two moments */
    double work;              /* training window: activations T x B x N kept for BPTT, products, inputs */
    double stream;            /* the training stream's cache and the window's inputs and labels */
    double transient;         /* the largest of: initialisation, evaluation, checkpoint writing */
    const char *transient_what;
    double total;             /* peak: everything resident plus the largest transient */
} LmMemoryEstimate;

/* `loading`: the run also reads a checkpoint (resume, evaluation, plots). 0, or -1 + lm_err_set for a
 * configuration that cannot be sized (bad battery or mask). */
int lm_memory_estimate(const LmTrainConfig *cfg, int loading, LmMemoryEstimate *out);

/* Bytes this process may still use: the smallest of MemAvailable (/proc/meminfo), the address-space
 * limit RLIMIT_AS (less what is mapped already, plus what is resident, so it compares with an estimate
 * that counts the process) and the cgroup memory limit (less its current usage). `what` gets the name
 * of the binding limit. Returns a negative value when none is known. */
double lm_memory_available(char *what, size_t whatlen);

/* 0 if the run fits; -1 with lm_err_set("... needs X GB ... but only Y GB are available (LIMIT)"). */
int lm_memory_check(const LmTrainConfig *cfg, int loading);

/* The estimate as a small table (one term per line) followed by the available memory. */
void lm_memory_print(FILE *f, const LmTrainConfig *cfg, const LmMemoryEstimate *e);

#endif
