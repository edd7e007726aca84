/* The analyses of `lmrnn analyze` from options to results (docs/analysis.md), shared by the command
 * line, which writes their files and figures, and the C API (lmrnn_model_fixed_points, ...), which
 * returns their arrays. Both read options through the one table below, so names, ranges, defaults and
 * messages are the same. Calls return LM_AN_OK, LM_AN_FAILED (failed work) or LM_AN_USAGE (a bad
 * option: unknown task or period, a period the task lacks, ...), with lm_err_set. */
#ifndef LMRNN_ANALYZE_H
#define LMRNN_ANALYZE_H
#include <stddef.h>
#include <stdint.h>
#include "analysis/analysis.h"
#include "eval/eval.h"
#include "util/options.h"

enum { LM_AN_OK = 0, LM_AN_FAILED = -1, LM_AN_USAGE = -2 };

/* Subcommands (bit flags: LmOption.user says which take an option). */
enum { LM_AN_STATES = 1, LM_AN_SUMMARY = 2, LM_AN_FIXEDPOINTS = 4, LM_AN_VARIANCE = 8, LM_AN_LESION = 16,
       LM_AN_AUTAPSE = 32, LM_AN_ALL = 63 };
typedef struct { const char *name; int bit; const char *what; } LmAnalysisInfo;
extern const LmAnalysisInfo lm_analyses[];
extern const int lm_n_analyses;
int lm_analysis_bit(const char *name);   /* 0 if not a subcommand */

typedef struct {
    const char *out, *tasks, *task, *period, *units, *clusters, *pairs, *method, *optimizer;
    int trials, inits, max_iters, threads, input_trial, kmin, kmax, restarts, patience;
    double noise, tol_q, tol_dq, tol_unique, lr, outlier, active, lr_decay, memory_tol;
    uint64_t seed;
    int have_seed, no_plot;
    const char *refine;     /* fixedpoints: newton (default, Levenberg-Marquardt polish) or none */
    int refine_iters;
} LmAnalyzeOptions;

#define LM_AN_MAX_OPTS 40
/* The options of one subcommand (`sub` a bit) as a table of its own, in buf (LM_AN_MAX_OPTS rows);
 * its command name ("analyze variance") in command. */
LmOptTable lm_analyze_table(int sub, LmOption *buf, char *command, size_t n);
void lm_analyze_defaults(LmAnalyzeOptions *o);   /* defaults of every subcommand; counts -1 = per subcommand */
/* The trial seed: --seed if given, else the network's (its run's held-out evaluation seed). */
uint64_t lm_analyze_seed(const LmNet *net, const LmAnalyzeOptions *o);

/* fixedpoints: the states of --trials trials of --task, the constant input u (the input at the first step
 * of --period in --input-trial or the first trial that has it) and the points found from --inits states
 * of that period. */
typedef struct {
    LmStates states;
    LmFixedPoints fp;
    int pos;               /* battery position of the task */
    int period;            /* lm_period_names index */
    int trial;             /* the trial u comes from */
    const float *u;        /* [n_in], into states.x */
} LmFpAnalysis;
/* The trial whose input at the period's start is u: `asked` (>= 0), or the first trial of s with a
 * non-empty period (delays can be 0 steps long). -1 + lm_err_set if there is none. */
int lm_fp_input_trial(const LmStates *s, int period, int asked, const char *task, const char *pname);
int lm_analyze_fixedpoints(const LmNet *net, const LmAnalyzeOptions *o, LmFpAnalysis *out);
void lm_fp_analysis_free(LmFpAnalysis *a);
/* Its outputs (keys of docs/analysis.md): arrays non-NULL gets them, npz_path/fig_path non-NULL are
 * written; the JSON summary returned (caller frees) or NULL + lm_err_set. */
cJSON *lm_fp_analysis_report(const LmFpAnalysis *a, const LmNet *net, LmArrays *arrays, const char *npz_path,
                             const char *fig_path);

/* variance: task variance of --tasks over --trials trials, active units and clusters. */
typedef struct {
    LmVariance v;
    int n_tasks, trials, N;
    LmClusterMethod method;
    const char *names[LM_MAX_BATTERY];   /* the analysed tasks' names (the battery's strings) */
    int32_t pairs[32][2];                /* FTV pairs, task indices */
    int n_pairs;
    int period;                          /* --period (lm_period_names index), -1: all */
    uint8_t has_period[LM_MAX_BATTERY];  /* the task has that period (always 1 for all) */
} LmVarAnalysis;
int lm_analyze_variance(const LmNet *net, const LmAnalyzeOptions *o, LmVarAnalysis *out);
void lm_var_analysis_free(LmVarAnalysis *a);

/* lesion: evaluate the intact network (base) and, for each group g < n_groups, the network with the
 * units u[k] of group[k] == g lesioned (lm_lesion_apply), `trials` trials per task of the battery;
 * delta [n_groups][n_tasks] and mean_change [n_groups] (may be NULL) in last_step performance. The
 * weights are restored after each group. */
int lm_analyze_lesion(const LmNet *net, const int *units, const int *group, int n_units, int n_groups, int trials,
                      LmEvalResult *base, double *delta, double *mean_change);
/* "3,17,40-45" into units (each < N, no repeats, at least one). 0 or -1 + lm_err_set. */
int lm_parse_unit_list(const char *spec, int N, int *units, int *n);

/* summary: --tasks over --trials (16) trials through lm_summary_of_net (any N; init may be NULL). */
int lm_analyze_summary_at(const LmNet *net, const LmAnalyzeOptions *o, const LmInitWeights *init,
                          const LmSheet *g, LmSummary *out, int *trials_per_task, int *n_tasks);

#endif
