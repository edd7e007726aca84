/* Report of the autapse experiment (C1, C2): task-group tables and bars per battery. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "experiment/report_internal.h"
#include "util/err.h"

/* ---------------------------------------------------------------- autapse */
static const char *autapse_bats[2] = {"yang20", "modcog82"};

static void draw_autapse_curves(LmFigure *f, const LmExpResults *r, const void *ctx) {
    for (int b = 0; b < 2; b++) {
        char title[64];
        snprintf(title, sizeof title, "%s: learning curves (mean over seeds)", autapse_bats[b]);
        CurveSel s = {autapse_bats[b], NULL, NULL, -1, -1, title};
        lm_rep_curve_panel(f, b, r, &s);
    }
}

/* Group bars: for each battery, the groups it has x masks, value = mean over seeds, error = std. */
static void draw_autapse_groups(LmFigure *f, const LmExpResults *r, const void *ctx) {
    for (int b = 0; b < 2; b++) {
        double val[64], err[64];
        int col[64];
        char lab[64][160];
        const char *labels[64];
        int n = 0;
        for (int g = 0; g < LM_N_GROUPS; g++)
            for (int c = 0; c < r->n_cond && n < 64; c++) {
                const LmExpRun *run = lm_rep_crun(r, &r->cond[c]);
                if (strcmp(run->battery, autapse_bats[b])) continue;
                LmStat s = lm_rep_cstat(r, &r->cond[c], Q_GROUP + g);
                if (!s.n) continue;
                val[n] = s.mean;
                err[n] = s.n > 1 ? s.std : 0;
                col[n] = !strcmp(run->mask, "diag") ? 0 : !strcmp(run->mask, "local2d") ? 1 : 2;
                snprintf(lab[n], sizeof lab[n], "%s: %s", lm_group_label(g), run->label);
                labels[n] = lab[n];
                n++;
            }
        char title[96];
        snprintf(title, sizeof title, "%s: final perf by task group (bars: mean, whiskers: std over seeds)",
                 autapse_bats[b]);
        lm_fig_panel(f, b, -0.7, n > 0 ? n - 0.3 : 1, 0, 1.05, title, NULL, "held-out perf");
        if (n)
            lm_fig_bars(f, n, val, err, labels, col);
        else
            lm_fig_text(f, 0, 0.5, "no runs");
    }
}

static void autapse_tables(FILE *md, const LmExpResults *r) {
    fprintf(md, "## Task-group performance (C1, C2)\n\n"
                "Final held-out `last_step` performance, mean over the tasks of each group, then mean ± std over "
                "seeds.\n\n| battery | mask | runs done | mean | base | int | seq | int+seq |\n|---|---|---|---|---|---|---|---|\n");
    char buf[64];
    for (int c = 0; c < r->n_cond; c++) {
        const LmCondition *cd = &r->cond[c];
        const LmExpRun *run = lm_rep_crun(r, cd);
        fprintf(md, "| %s | %s | %d/%d |", run->battery, run->label, lm_rep_cond_done(r, cd), cd->n);
        LmStat s = lm_rep_cstat(r, cd, Q_FINAL);
        lm_stat_format(&s, cd->n, 3, buf, sizeof buf);
        fprintf(md, " %s |", buf);
        for (int g = 0; g < LM_N_GROUPS; g++) {
            s = lm_rep_cstat(r, cd, Q_GROUP + g);
            lm_stat_format(&s, cd->n, 3, buf, sizeof buf);
            fprintf(md, " %s |", buf);
        }
        fputc('\n', md);
    }
    /* Per-task tables, one per battery: tasks in eval.json order, one column per mask. */
    for (int b = 0; b < 2; b++) {
        int cols[16], nc = 0;
        for (int c = 0; c < r->n_cond && nc < 16; c++)
            if (!strcmp(lm_rep_crun(r, &r->cond[c])->battery, autapse_bats[b])) cols[nc++] = c;
        const LmExpRunResult *ref = NULL;
        for (int k = 0; k < nc && !ref; k++)
            for (int i = 0; i < r->cond[cols[k]].n; i++)
                if (r->res[r->cond[cols[k]].idx[i]].n_tasks) {
                    ref = &r->res[r->cond[cols[k]].idx[i]];
                    break;
                }
        if (!ref) continue;
        fprintf(md, "\n## Per-task performance on %s\n\nMean ± std over seeds of the final held-out performance.\n\n"
                    "| task | group |", autapse_bats[b]);
        for (int k = 0; k < nc; k++) fprintf(md, " %s |", lm_rep_crun(r, &r->cond[cols[k]])->label);
        fprintf(md, "\n|---|---|");
        for (int k = 0; k < nc; k++) fprintf(md, "---|");
        fputc('\n', md);
        for (int t = 0; t < ref->n_tasks; t++) {
            int g = ref->task_group[t];
            fprintf(md, "| %s | %s |", ref->task[t], g >= 0 ? lm_group_label(g) : "?");
            for (int k = 0; k < nc; k++) {
                const LmCondition *cd = &r->cond[cols[k]];
                double v[64];
                int n = 0;
                for (int i = 0; i < cd->n && n < 64; i++) {
                    const LmExpRunResult *rr = &r->res[cd->idx[i]];
                    v[n++] = t < rr->n_tasks && !strcmp(rr->task[t], ref->task[t]) ? rr->task_perf[t] : NAN;
                }
                LmStat s = lm_stat(v, n);
                lm_stat_format(&s, cd->n, 2, buf, sizeof buf);
                fprintf(md, " %s |", buf);
            }
            fputc('\n', md);
        }
    }
}

int lm_report_autapse(FILE *md, Out *o, const LmExpResults *r) {
    autapse_tables(md, r);
    fputc('\n', md);
    int rc = lm_rep_figure(o, "autapse_groups", 1400, 1000, 1, 2, draw_autapse_groups, r, NULL);
    if (!rc) rc = lm_rep_figure(o, "learning_curves", 1400, 600, 2, 1, draw_autapse_curves, r, NULL);
    fprintf(md, "Figures: `autapse_groups.png` (group bars), `learning_curves.png`.\n\n");
    return rc;
}
