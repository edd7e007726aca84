/* A battery: an ordered list of tasks. Position in the list = rule one-hot column (33 + position). */
#ifndef LMRNN_BATTERY_H
#define LMRNN_BATTERY_H
#include "tasks/tasks.h"

#define LM_MAX_BATTERY 256

typedef struct {
    int n;
    int id[LM_MAX_BATTERY];            /* catalogue ids */
    char name[LM_MAX_BATTERY][32];     /* names as given (aliases kept) */
    char spec[256];                    /* what the user typed, e.g. "modcog82" */
} LmBattery;

/* "yang20", "modcog82", "modcog126", or a comma-separated list of task names/aliases.
 * Returns 0, or -1 with lm_err_set() naming the unknown task/battery and the closest valid names. */
int lm_battery_parse(const char *spec, LmBattery *out);
static inline int lm_battery_n_in(const LmBattery *b) { return LM_OBS + b->n; }

/* Task group for reporting: 0 base, 1 int, 2 seq, 3 int+seq. */
typedef enum { LM_GROUP_BASE = 0, LM_GROUP_INT, LM_GROUP_SEQ, LM_GROUP_INTSEQ } LmGroup;
#define LM_N_GROUPS 4
LmGroup lm_task_group(int id);
/* Key of a group in files ("intseq"), its label on screen ("int+seq"), and the group of either (-1). */
const char *lm_group_name(LmGroup g);
const char *lm_group_label(LmGroup g);
int lm_group_parse(const char *name);

#endif
