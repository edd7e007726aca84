/* The Mod-Cog / 20-Cog task catalogue and single-trial generators (docs/tasks.md).
 *
 * Catalogue order: ids 0..81 are the 82 tasks of the Mod_Cog README in README order (docs/tasks.md §4.1; ids 0..19
 * are Yang's 20 tasks), ids 82..125 the 44 int x seq combinations (for each of the 11 delay tasks in the
 * order dlygo, dlyanti, dlydm1, dlydm2, ctxdlydm1, ctxdlydm2, multidlydm, dms, dnms, dmc, dnmc:
 * <base>intrseqr, <base>intrseql, <base>intlseqr, <base>intlseql). The reference's 11 `*intseq` names
 * are aliases of <base>intrseqr.
 *
 * Observation layout per trial (before rule columns): column 0 fixation, 1..16 ring of modality 0,
 * 17..32 ring of modality 1. Labels: 0 = fixate, 1..16 = respond at ring direction 0..15. */
#ifndef LMRNN_TASKS_H
#define LMRNN_TASKS_H
#include <stdint.h>
#include "util/rng.h"

#define LM_OBS 33         /* task observation width (fixation + two 16-unit rings) */
#define LM_RING 16
#define LM_N_ACTIONS 17
#define LM_N_CATALOGUE 126
#define LM_TMAX 64        /* upper bound on any trial's length in steps, all corrections included */
#define LM_MAX_PERIODS 5
#define LM_DT_MS 100

typedef enum { LM_FAM_GO = 0, LM_FAM_DM = 1, LM_FAM_MATCH = 2 } LmFamily;

/* Corrections of the reference's quirks (docs/tasks.md §5). Default 0 = faithful. Each bit is independent. */
enum {
    LM_FIX_Q1_LABEL_WRAP = 1u << 0,    /* label = 1 + mod(k+shift,16) instead of mod(k+1+shift,16) */
    LM_FIX_Q3_DLY = 1u << 1,           /* go/anti (and their seq variants) without `dly` get delay 0 */
    LM_FIX_Q6_MATCH_DELAY = 1u << 2,   /* match delay drawn per trial, not once per instance */
    LM_FIX_Q7_DM_INT_DELAY = 1u << 3,  /* DM int: delay D drawn per trial, response shifted D/100 */
    LM_FIX_Q8_INT_CONVENTION = 1u << 4,/* go int: on-grid stimulus, response = stimulus + I*D/100 steps */
    LM_FIX_Q9_TIES = 1u << 5,          /* multi-modal DM: redraw strengths on an exact tie */
    LM_FIX_Q10_CATEGORY = 1u << 6,     /* sample category uses index >= 8 like the test */
    LM_FIX_Q11_NONMATCH = 1u << 7,     /* dms/dnms non-match test uniform over the other 15 directions */
    LM_FIX_Q13_RT_FIXATION = 1u << 8,  /* rt tasks keep fixation input on in decision (Yang) */
    LM_FIX_Q14_NOISE = 1u << 9,        /* uniform noise: 0.1 N(0,1) on all 33 columns in stimulus periods */
    LM_FIX_Q16_RT_SEQ = 1u << 10,      /* rt seq tasks get the 1000 ms decision of the other seq tasks */
    LM_FIX_Q17_SCHEDULE = 1u << 11,    /* i.i.d. next task and modality (repeats allowed) */
    LM_FIX_Q18_WINDOW = 1u << 12,      /* windows cut one continuous stream: no trial tail is lost */
    LM_FIX_Q22_SEPARATION = 1u << 13,  /* DM stimuli at least 90 degrees (4 ring steps) apart */
    LM_FIX_Q23_FIRST_MODALITY = 1u << 14, /* stream: each task's first modality per row drawn at random */
};
#define LM_FIX_ALL 0x7FFFu

typedef struct {
    unsigned bit;
    const char *q;        /* "Q1" */
    const char *name;     /* "label-wrap" */
    const char *what;     /* one line: what the correction changes */
} LmFixInfo;
extern const LmFixInfo lm_fix_table[];
extern const int lm_fix_count;
/* Parse "all", "none", or a comma-separated list of Q-ids or names into a mask. Returns 0 on success,
 * -1 with lm_err_set() naming the unknown entry. */
int lm_fix_parse(const char *spec, unsigned *out);
/* "none", "all", or the comma-separated Q-ids of the set bits ("Q1,Q9"). */
void lm_fix_describe(unsigned fix, char *buf, int n);

typedef struct {
    const char *name;     /* canonical name, e.g. "dmsintrseql" */
    LmFamily family;
    int base;             /* id (0..19) of the base task this one modifies */
    int anti, rt, dly;    /* go-family flags (dly has no effect unless LM_FIX_Q3_DLY) */
    int integ;            /* -1, 0, +1 */
    int seq;              /* -1, 0, +1 */
    /* DM family */
    int delaycomparison;  /* dlydm */
    double w_mod[2];
    int stim_mod[2];
    /* match family */
    int match_category;   /* 0: match to sample, 1: match to category */
    int matchgo;          /* 1: respond on match, 0: respond on non-match */
} LmTaskDef;

/* The whole catalogue, LM_N_CATALOGUE entries, in catalogue order. */
const LmTaskDef *lm_task_def(int id);
/* Canonical name or alias -> id; -1 if unknown. */
int lm_task_lookup(const char *name);
/* Write the up to `max` closest valid names (edit distance) into out; returns how many. */
int lm_task_suggest(const char *name, const char **out, int max);
/* Levenshtein distance (used for "did you mean" suggestions). */
int lm_edit_distance(const char *a, const char *b);
/* Human-readable modifier list ("anti,rt", "int-r,seq-l", "" for none) and family name. */
const char *lm_family_name(LmFamily f);
void lm_task_modifiers(int id, char *buf, int n);
/* The reference's `*intseq` names: alias i -> its name and (in *id) the catalogue id; NULL past the end. */
int lm_task_alias_count(void);
const char *lm_task_alias(int i, int *id);
/* Period layout in steps under the corrections `fix`, e.g. "fixation 5 | stimulus 5 | delay 0-11 |
 * decision 5" (ranges where the length varies from trial to trial or instance to instance). */
void lm_task_layout(int id, unsigned fix, char *buf, int n);

typedef struct {
    char name[12];        /* "fixation", "stimulus", "delay", "decision", "stim1", "stim2", "sample", "test" */
    int start, end;       /* steps, end exclusive */
} LmPeriod;

typedef struct {
    int task;             /* catalogue id */
    int modality;         /* 0/1 for go and match tasks; -1 for DM tasks (both rings) */
    int len;              /* steps */
    int n_periods;
    LmPeriod periods[LM_MAX_PERIODS];
    float ob[LM_TMAX * LM_OBS];   /* row-major [len][LM_OBS]; rows >= len are zero */
    int32_t gt[LM_TMAX];          /* labels 0..16; entries >= len are zero */
    /* What the trial was built from, for tests and plots. */
    int target;           /* response direction index before the label mapping, -1 on no-go trials */
    int delay_ms;         /* delay period length (ms) */
    int is_match;         /* match family: 1 match, 0 non-match; -1 otherwise */
    int loc[2];           /* DM: stimulus 1 and 2 directions; match: sample and test; go: g and -1 */
    double strength[2][2];/* DM: [ring][stimulus 1/2] strengths, 0 for a ring without stimuli */
} LmTrial;

/* Construction-time state shared by every row of a stream (what the reference fixes when it builds
 * the environments, before deep-copying them per row): the per-instance match delays of Q6. */
typedef struct {
    unsigned fix;
    int match_delay_ms[LM_N_CATALOGUE][2];  /* per task x modality; only match-family entries used */
    double grid_bump[LM_RING][LM_RING];     /* 0.8 exp(-d^2/2) at unit k for a stimulus on unit i */
} LmTaskEnv;

/* Draw the construction-time state from `construction` (the reference's global RNG at build time). */
void lm_taskenv_init(LmTaskEnv *env, unsigned fix, LmRng *construction);

/* Generate one trial of catalogue task `task` bound to `modality` (0/1; ignored for DM tasks).
 * `task_rng` is the trial-level generator (the reference's env.rng); `global_rng` stands in for the
 * reference's process-global numpy RNG (int delays, Q5); they may be the same generator. */
void lm_trial_generate(const LmTaskEnv *env, int task, int modality, LmRng *task_rng,
                       LmRng *global_rng, LmTrial *out);

/* Index of the period named `name` in the trial, -1 if absent. */
int lm_trial_period(const LmTrial *t, const char *name);

/* Single trials outside a stream (`lmrnn tasks show/dump`, the C API's lmrnn_trial): task `id` draws
 * from its own generator lm_trial_rng(seed, id), used as both task and global RNG; trial i is bound to
 * lm_trial_modality(id, i) (i % 2 for go/match tasks, -1 for DM tasks, like the stream's alternation);
 * lm_trial_env draws the per-instance match delays (Q6) exactly as a stream with the same seed does. */
void lm_trial_env(LmTaskEnv *env, uint64_t seed, unsigned fix);
LmRng lm_trial_rng(uint64_t seed, int id);
int lm_trial_modality(int id, int i);

#endif
