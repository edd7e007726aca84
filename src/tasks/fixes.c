/* The correction switches (docs/tasks.md §5). Faithful (0) is the default; each bit corrects exactly one
 * quirk. The `what` strings are the user documentation (README, `lmrnn tasks list --fixes`). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "tasks/tasks.h"
#include "util/err.h"

const LmFixInfo lm_fix_table[] = {
    {LM_FIX_Q1_LABEL_WRAP, "Q1", "label-wrap",
     "response labels are 1 + mod(k + shift, 16), so direction 15 is label 16 instead of 0 (fixate)"},
    {LM_FIX_Q3_DLY, "Q3", "dly",
     "go/anti and goseq*/antiseq* (no dly, no rt, no int) get a 0 ms delay; dly tasks keep 500 ms"},
    {LM_FIX_Q6_MATCH_DELAY, "Q6", "match-delay",
     "non-int match tasks draw their delay per trial as 100*floor(U(200,1200)/100) ms instead of once "
     "per task x modality at stream construction"},
    {LM_FIX_Q7_DM_INT_DELAY, "Q7", "dm-int-delay",
     "int DM tasks draw the delay per trial from {0,100,...,1100} ms and shift the response by "
     "I*D/100 ring steps, instead of a fixed 500 ms delay and a fixed 5-step shift"},
    {LM_FIX_Q8_INT_CONVENTION, "Q8", "int-convention",
     "int go tasks show the stimulus on the grid (as the non-int task) and respond at target + "
     "I*D/100 ring steps, like DM and match, instead of displacing the stimulus by I*D/100 radians"},
    {LM_FIX_Q9_TIES, "Q9", "dm-ties",
     "multi-modal DM trials whose weighted strengths tie exactly redraw the strengths, instead of "
     "picking the target by coin flip"},
    {LM_FIX_Q10_CATEGORY, "Q10", "category",
     "category tasks put a sample at index 8 in category 1 (index >= 8), like the test, instead of 0"},
    {LM_FIX_Q11_NONMATCH, "Q11", "nonmatch",
     "dms/dnms non-match tests are uniform over the 15 other directions instead of exactly opposite"},
    {LM_FIX_Q13_RT_FIXATION, "Q13", "rt-fixation",
     "rt tasks keep the fixation input on during the decision period (as Yang et al.), instead of "
     "switching it off at stimulus onset"},
    {LM_FIX_Q14_NOISE, "Q14", "noise",
     "input noise 0.1*N(0,1) on all 33 task columns during the stimulus-bearing periods of every "
     "family (go: stimulus, rt: decision; DM: stimulus/stim1/stim2; match: sample/test), instead of "
     "none for go and only the bound ring for match"},
    {LM_FIX_Q16_RT_SEQ, "Q16", "rt-seq",
     "rt seq tasks get a 1000 ms (10-step) decision period like every other seq task, instead of 500"},
    {LM_FIX_Q17_SCHEDULE, "Q17", "schedule",
     "stream: next task uniform over all tasks (repeats allowed) and modality drawn i.i.d. per trial, "
     "instead of never repeating a task and alternating each task's modality"},
    {LM_FIX_Q18_WINDOW, "Q18", "window",
     "stream: each row is one continuous trial stream and window w returns its steps [wT, (w+1)T), "
     "so cut trials continue in the next window and no chunk is skipped"},
    {LM_FIX_Q22_SEPARATION, "Q22", "dm-separation",
     "DM stimulus locations are at least 4 ring steps (90 degrees) apart, instead of merely distinct"},
    {LM_FIX_Q23_FIRST_MODALITY, "Q23", "first-modality",
     "stream: each go/match task starts each row on a random modality, instead of on modality 0 "
     "(where the reference's reset() leaves every task's modality alternation)"},
};
const int lm_fix_count = (int)(sizeof lm_fix_table / sizeof lm_fix_table[0]);

int lm_fix_parse(const char *spec, unsigned *out) {
    if (!spec) {
        lm_err_set("--fix: missing value");
        return -1;
    }
    unsigned mask = 0;
    const char *p = spec;
    if (!*p) {
        lm_err_set("--fix: empty value (expected all, none, or Q-ids/names such as Q1,label-wrap)");
        return -1;
    }
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char tok[64];
        if (n == 0 || n >= sizeof tok) {
            lm_err_set("--fix: bad entry in '%s'", spec);
            return -1;
        }
        memcpy(tok, p, n);
        tok[n] = '\0';
        if (!strcasecmp(tok, "all")) {
            mask |= LM_FIX_ALL;
        } else if (!strcasecmp(tok, "none")) {
            /* nothing */
        } else {
            int found = -1;
            for (int i = 0; i < lm_fix_count && found < 0; i++)
                if (!strcasecmp(tok, lm_fix_table[i].q) || !strcasecmp(tok, lm_fix_table[i].name)) found = i;
            if (found < 0) {
                char list[512];
                int used = 0;
                for (int i = 0; i < lm_fix_count && used < (int)sizeof list; i++)
                    used += snprintf(list + used, sizeof list - (size_t)used, "%s%s", i ? " " : "",
                                     lm_fix_table[i].name);
                lm_err_set("--fix: unknown correction '%s' (expected all, none, a Q-id or one of: %s)",
                           tok, list);
                return -1;
            }
            mask |= lm_fix_table[found].bit;
        }
        p += n;
        if (*p == ',') p++;
    }
    *out = mask;
    return 0;
}

void lm_fix_describe(unsigned fix, char *buf, int n) {
    if (n <= 0) return;
    buf[0] = '\0';
    if (fix == 0) {
        snprintf(buf, (size_t)n, "none");
        return;
    }
    if ((fix & LM_FIX_ALL) == LM_FIX_ALL) {
        snprintf(buf, (size_t)n, "all");
        return;
    }
    int used = 0;
    for (int i = 0; i < lm_fix_count && used < n; i++)
        if (fix & lm_fix_table[i].bit)
            used += snprintf(buf + used, (size_t)(n - used), "%s%s", used ? "," : "", lm_fix_table[i].q);
}
