/* The run log (log.jsonl, docs/run-directory.md): one JSON record per line, appended as training goes. */
#ifndef LMRNN_LOG_H
#define LMRNN_LOG_H
#include <stdint.h>
#include <string.h>

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

/* Keep only the records of <path> (JSON lines) whose "step" is <= step; lines that do not parse (a
 * record cut by a crash) are dropped. Rewritten atomically. A missing file is not an error. */
int lm_log_truncate(const char *path, int64_t step);

#endif
