/* The run log (log.jsonl, docs/run-directory.md): one JSON record per line, appended as training goes. */
#ifndef LMRNN_LOG_H
#define LMRNN_LOG_H
#include <stdint.h>
#include <string.h>
#include "tasks/battery.h"

typedef struct {
    int found;          /* a "stop" record after the last "resume" record */
    char reason[16];
    long step;
    double wall;
} LmStopInfo;
/* The last stop record of a run log (log.jsonl). 0, or -1 when the file is missing. */
int lm_log_read_stop(const char *log_path, LmStopInfo *out);
/* The run stopped for good (any reason but a signal): nothing of it is left to resume. */
static inline int lm_stop_is_final(const LmStopInfo *s) { return s->found && strcmp(s->reason, "signal") != 0; }

/* One record of the run log as every reader sees it; what a kind does not have is -1 / NaN / "". */
typedef struct {
    char kind[16];              /* train, eval, threshold, resume, stop, ... */
    int64_t step, trials;
    double wall;
    double loss;                /* train: training loss; eval: held-out loss */
    double mean;                /* eval: mean performance over the battery */
    double group[LM_N_GROUPS];  /* eval: mean per task group (NaN where the battery has none) */
    double threshold;           /* threshold: the performance level reached */
    char metric[32];            /* eval */
    char reason[16];            /* stop */
    int restart;                /* mask: the update rewound the network (an IMP round), thresholds restart */
} LmLogRecord;

typedef struct {
    int n, missing;             /* missing: there was no log file (n = 0) */
    LmLogRecord *rec;
} LmRunLog;

/* The run log read by the one rule all its readers (train, plot, experiments) share: records in file
 * order; a line that is not a JSON object is an error unless it is the last line (a record cut by a
 * crash, dropped); a train or eval record whose step does not come after the previous record of its
 * kind replaces those (a resumed run repeats the steps after its checkpoint). A missing file is an
 * empty log. 0, or -1 with lm_err_set() naming the file and line. */
int lm_run_log_read(const char *path, LmRunLog *out);
void lm_run_log_free(LmRunLog *log);

/* Keep only the records of <path> (JSON lines) whose "step" is <= step; lines that do not parse (a
 * record cut by a crash) are dropped. Rewritten atomically. A missing file is not an error. */
int lm_log_truncate(const char *path, int64_t step);

#endif
