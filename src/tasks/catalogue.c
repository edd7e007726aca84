/* The 126-task catalogue: names, parameters, aliases and name suggestions (docs/tasks.md §3, §4.1).
 * The table is written out in full so that lookups need no initialisation (and no locking when
 * several threads generate trials). */
#include <stdio.h>
#include <string.h>
#include "tasks/tasks.h"

/* Parameters of the 20 base tasks; every other task is a base plus int/seq. */
#define P_GO .family = LM_FAM_GO
#define P_RTGO .family = LM_FAM_GO, .rt = 1
#define P_DLYGO .family = LM_FAM_GO, .dly = 1
#define P_ANTI .family = LM_FAM_GO, .anti = 1
#define P_RTANTI .family = LM_FAM_GO, .anti = 1, .rt = 1
#define P_DLYANTI .family = LM_FAM_GO, .anti = 1, .dly = 1
#define P_DM1 .family = LM_FAM_DM, .w_mod = {1, 1}, .stim_mod = {1, 0}
#define P_DM2 .family = LM_FAM_DM, .w_mod = {1, 1}, .stim_mod = {0, 1}
#define P_CTXDM1 .family = LM_FAM_DM, .w_mod = {1, 0}, .stim_mod = {1, 1}
#define P_CTXDM2 .family = LM_FAM_DM, .w_mod = {0, 1}, .stim_mod = {1, 1}
#define P_MULTIDM .family = LM_FAM_DM, .w_mod = {1, 1}, .stim_mod = {1, 1}
#define P_DLYDM1 P_DM1, .delaycomparison = 1
#define P_DLYDM2 P_DM2, .delaycomparison = 1
#define P_CTXDLYDM1 P_CTXDM1, .delaycomparison = 1
#define P_CTXDLYDM2 P_CTXDM2, .delaycomparison = 1
#define P_MULTIDLYDM P_MULTIDM, .delaycomparison = 1
#define P_DMS .family = LM_FAM_MATCH, .matchgo = 1
#define P_DNMS .family = LM_FAM_MATCH
#define P_DMC .family = LM_FAM_MATCH, .match_category = 1, .matchgo = 1
#define P_DNMC .family = LM_FAM_MATCH, .match_category = 1

enum { GO, RTGO, DLYGO, ANTI, RTANTI, DLYANTI, DM1, DM2, CTXDM1, CTXDM2, MULTIDM, DLYDM1, DLYDM2,
       CTXDLYDM1, CTXDLYDM2, MULTIDLYDM, DMS, DNMS, DMC, DNMC };

#define T(nm, B, i, s) {.name = nm, .base = B, .integ = i, .seq = s, P_##B}
/* The three modifier groups of the README list (20-41 int, 42-61 seqr, 62-81 seql) and the int x seq
 * block (82-125) for the 11 delay tasks. */
#define INT2(nm, B) T(nm "intr", B, 1, 0), T(nm "intl", B, -1, 0)
#define INTSEQ4(nm, B) T(nm "intrseqr", B, 1, 1), T(nm "intrseql", B, 1, -1), \
                       T(nm "intlseqr", B, -1, 1), T(nm "intlseql", B, -1, -1)
#define SEQ20(sfx, s)                                                                              \
    T("go" sfx, GO, 0, s), T("rtgo" sfx, RTGO, 0, s), T("dlygo" sfx, DLYGO, 0, s),                   \
    T("anti" sfx, ANTI, 0, s), T("rtanti" sfx, RTANTI, 0, s), T("dlyanti" sfx, DLYANTI, 0, s),       \
    T("dm1" sfx, DM1, 0, s), T("dm2" sfx, DM2, 0, s), T("ctxdm1" sfx, CTXDM1, 0, s),                 \
    T("ctxdm2" sfx, CTXDM2, 0, s), T("multidm" sfx, MULTIDM, 0, s), T("dlydm1" sfx, DLYDM1, 0, s),   \
    T("dlydm2" sfx, DLYDM2, 0, s), T("ctxdlydm1" sfx, CTXDLYDM1, 0, s),                             \
    T("ctxdlydm2" sfx, CTXDLYDM2, 0, s), T("multidlydm" sfx, MULTIDLYDM, 0, s),                     \
    T("dms" sfx, DMS, 0, s), T("dnms" sfx, DNMS, 0, s), T("dmc" sfx, DMC, 0, s),                     \
    T("dnmc" sfx, DNMC, 0, s)
#define DELAY11(M)                                                                                 \
    M("dlygo", DLYGO), M("dlyanti", DLYANTI), M("dlydm1", DLYDM1), M("dlydm2", DLYDM2),             \
    M("ctxdlydm1", CTXDLYDM1), M("ctxdlydm2", CTXDLYDM2), M("multidlydm", MULTIDLYDM),             \
    M("dms", DMS), M("dnms", DNMS), M("dmc", DMC), M("dnmc", DNMC)

static const LmTaskDef catalogue[LM_N_CATALOGUE] = {
    SEQ20("", 0),      /* 0..19: Yang's 20 tasks */
    DELAY11(INT2),     /* 20..41 */
    SEQ20("seqr", 1),  /* 42..61 */
    SEQ20("seql", -1), /* 62..81 */
    DELAY11(INTSEQ4),  /* 82..125 */
};

/* The reference's `*intseq` constructors are int-r + seq-r. */
static const struct { const char *alias; int id; } aliases[] = {
    {"dlygointseq", 82},      {"dlyantiintseq", 86}, {"dlydm1intseq", 90},     {"dlydm2intseq", 94},
    {"ctxdlydm1intseq", 98},  {"ctxdlydm2intseq", 102}, {"multidlydmintseq", 106}, {"dmsintseq", 110},
    {"dnmsintseq", 114},      {"dmcintseq", 118},    {"dnmcintseq", 122},
};
#define N_ALIASES ((int)(sizeof aliases / sizeof aliases[0]))

const LmTaskDef *lm_task_def(int id) {
    if (id < 0 || id >= LM_N_CATALOGUE) return NULL;
    return &catalogue[id];
}

int lm_task_lookup(const char *name) {
    for (int i = 0; i < LM_N_CATALOGUE; i++)
        if (!strcmp(catalogue[i].name, name)) return i;
    for (int i = 0; i < N_ALIASES; i++)
        if (!strcmp(aliases[i].alias, name)) return aliases[i].id;
    return -1;
}

int lm_task_alias_count(void) { return N_ALIASES; }
const char *lm_task_alias(int i, int *id) {
    if (i < 0 || i >= N_ALIASES) return NULL;
    if (id) *id = aliases[i].id;
    return aliases[i].alias;
}

/* Levenshtein distance, capped inputs (names are short). */
int lm_edit_distance(const char *a, const char *b) {
    int na = (int)strlen(a), nb = (int)strlen(b);
    if (na > 63) na = 63;
    if (nb > 63) nb = 63;
    int prev[64], cur[64];
    for (int j = 0; j <= nb; j++) prev[j] = j;
    for (int i = 1; i <= na; i++) {
        cur[0] = i;
        for (int j = 1; j <= nb; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            int m = sub < del ? sub : del;
            cur[j] = m < ins ? m : ins;
        }
        memcpy(prev, cur, sizeof(int) * (size_t)(nb + 1));
    }
    return prev[nb];
}

int lm_task_suggest(const char *name, const char **out, int max) {
    /* Candidates: canonical names then aliases; stable selection of the `max` smallest distances. */
    enum { NC = LM_N_CATALOGUE + 16 };
    const char *cand[NC];
    int dist[NC], nc = 0;
    for (int i = 0; i < LM_N_CATALOGUE; i++) cand[nc++] = catalogue[i].name;
    for (int i = 0; i < N_ALIASES; i++) cand[nc++] = aliases[i].alias;
    for (int i = 0; i < nc; i++) dist[i] = lm_edit_distance(name, cand[i]);
    int n = 0;
    for (; n < max; n++) {
        int best = -1;
        for (int i = 0; i < nc; i++)
            if (dist[i] >= 0 && (best < 0 || dist[i] < dist[best])) best = i;
        if (best < 0) break;
        out[n] = cand[best];
        dist[best] = -1;
    }
    return n;
}

const char *lm_family_name(LmFamily f) {
    switch (f) {
    case LM_FAM_GO: return "go";
    case LM_FAM_DM: return "dm";
    case LM_FAM_MATCH: return "match";
    }
    return "?";
}

void lm_task_modifiers(int id, char *buf, int n) {
    const LmTaskDef *d = lm_task_def(id);
    buf[0] = '\0';
    if (!d || n <= 0) return;
    const char *parts[6];
    int np = 0;
    if (d->anti) parts[np++] = "anti";
    if (d->rt) parts[np++] = "rt";
    if (d->dly || d->delaycomparison) parts[np++] = "dly";
    if (d->integ) parts[np++] = d->integ > 0 ? "int-r" : "int-l";
    if (d->seq) parts[np++] = d->seq > 0 ? "seq-r" : "seq-l";
    int used = 0;
    for (int i = 0; i < np && used < n; i++)
        used += snprintf(buf + used, (size_t)(n - used), "%s%s", i ? "," : "", parts[i]);
}
