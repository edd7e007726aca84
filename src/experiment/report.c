/* The experiment report: the parts every experiment shares (condition table, runs.csv, the header) and
 * the entry point; experiment-specific tables and figures are in report_<experiment>.c. */
#include "experiment/report.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "experiment/report_internal.h"
#include "util/err.h"
#include "io/npz.h"


/* ---------------------------------------------------------------- per-run quantities */


double lm_rep_value(const LmExpRunResult *r, int q) {
    if (q == Q_FINAL) return r->final_mean;
    if (q == Q_AUC) return r->auc;
    if (q == Q_WALL) return r->has_log ? r->wall_done : NAN;
    if (q == Q_STEPS) return r->has_log ? (double)r->steps_done : NAN;
    if (q == Q_TRIALS) return r->has_log ? (double)r->trials_done : NAN;
    if (q >= Q_STEP_T && q < Q_TRIALS_T) return r->thr_step[q - Q_STEP_T] >= 0 ? (double)r->thr_step[q - Q_STEP_T] : NAN;
    if (q >= Q_TRIALS_T && q < Q_WALL_T)
        return r->thr_trials[q - Q_TRIALS_T] >= 0 ? (double)r->thr_trials[q - Q_TRIALS_T] : NAN;
    if (q >= Q_WALL_T && q < Q_GROUP) return r->thr_step[q - Q_WALL_T] >= 0 ? r->thr_wall[q - Q_WALL_T] : NAN;
    if (q >= Q_GROUP && q < Q_COUNT) return r->final_group[q - Q_GROUP];
    return NAN;
}

LmStat lm_rep_cstat(const LmExpResults *r, const LmCondition *c, int q) {
    double *v = lm_malloc(sizeof(double) * (size_t)(c->n ? c->n : 1));
    for (int i = 0; i < c->n; i++) v[i] = lm_rep_value(&r->res[c->idx[i]], q);
    LmStat s = lm_stat(v, c->n);
    free(v);
    return s;
}

void lm_stat_format(const LmStat *s, int of, int digits, char *out, size_t n) {
    if (s->n == 0) {
        snprintf(out, n, "—");
        return;
    }
    int len;
    if (s->n == 1)
        len = snprintf(out, n, "%.*f", digits, s->mean);
    else
        len = snprintf(out, n, "%.*f ± %.*f", digits, s->mean, digits, s->std);
    if (len > 0 && (size_t)len < n && s->n < of) snprintf(out + len, n - (size_t)len, " (%d/%d)", s->n, of);
}

const LmExpRun *lm_rep_crun(const LmExpResults *r, const LmCondition *c) { return &r->plan.runs[c->first]; }

int lm_rep_cond_done(const LmExpResults *r, const LmCondition *c) {
    int k = 0;
    for (int i = 0; i < c->n; i++) k += r->res[c->idx[i]].done;
    return k;
}



Curve lm_rep_mean_curve(const LmExpResults *r, const LmCondition *c, int group /* -1 = mean */) {
    Curve cv = {0, NULL, NULL};
    const LmExpRunResult *longest = NULL;
    for (int i = 0; i < c->n; i++) {
        const LmExpRunResult *rr = &r->res[c->idx[i]];
        if (!longest || rr->n_eval > longest->n_eval) longest = rr;
    }
    if (!longest || !longest->n_eval) return cv;
    cv.n = longest->n_eval;
    cv.x = lm_malloc(sizeof(double) * (size_t)cv.n);
    cv.y = lm_malloc(sizeof(double) * (size_t)cv.n);
    for (int k = 0; k < cv.n; k++) {
        cv.x[k] = (double)longest->step[k];
        double sum = 0;
        int cnt = 0;
        for (int i = 0; i < c->n; i++) {
            const LmExpRunResult *rr = &r->res[c->idx[i]];
            if (k < rr->n_eval && rr->step[k] == longest->step[k]) {
                double v = group < 0 ? rr->mean[k] : rr->group[k][group];
                if (isfinite(v)) {
                    sum += v;
                    cnt++;
                }
            }
        }
        cv.y[k] = cnt ? sum / cnt : NAN;
    }
    return cv;
}

void lm_rep_curve_free(Curve *c) {
    free(c->x);
    free(c->y);
}

/* ---------------------------------------------------------------- output */




/* One figure as PNG and SVG. */
int lm_rep_figure(Out *o, const char *name, int w, int h, int cols, int rows, DrawFn draw, const LmExpResults *r,
                  const void *ctx) {
    static const char *ext[2] = {"png", "svg"};
    for (int e = 0; e < 2; e++) {
        char file[128], path[LM_EXP_PATH];
        snprintf(file, sizeof file, "%s.%s", name, ext[e]);
        lm_exp_path(path, o->dir, file);
        LmFigure *f = lm_fig_new(path, w, h, cols, rows);
        if (!f) return -1;
        draw(f, r, ctx);
        if (lm_fig_close(f) != 0) return -1;
        if (o->list) fprintf(o->list, "wrote %s\n", path);
    }
    return 0;
}

double lm_rep_positive_or_nan(double v) { return v > 0 ? v : NAN; }

/* ---------------------------------------------------------------- learning curves */


static int selected(const LmExpRun *run, const CurveSel *s) {
    if (s->battery && strcmp(run->battery, s->battery)) return 0;
    if (s->pool >= 0 && run->pool_trials != s->pool) return 0;
    if (s->mask && strcmp(run->mask, s->mask) && !(s->also_mask && !strcmp(run->mask, s->also_mask))) return 0;
    return 1;
}

void lm_rep_curve_panel(LmFigure *f, int panel, const LmExpResults *r, const CurveSel *s) {
    int nc = 0;
    Curve *cv = lm_calloc((size_t)(r->n_cond ? r->n_cond : 1), sizeof(Curve));
    const char **labels = lm_calloc((size_t)(r->n_cond ? r->n_cond : 1), sizeof(char *));
    char (*lab)[160] = lm_calloc((size_t)(r->n_cond ? r->n_cond : 1), sizeof *lab);
    double xmax = 1;
    for (int c = 0; c < r->n_cond; c++) {
        const LmExpRun *run = lm_rep_crun(r, &r->cond[c]);
        if (!selected(run, s)) continue;
        Curve k = lm_rep_mean_curve(r, &r->cond[c], s->group);
        if (!k.n) continue;
        cv[nc] = k;
        if (run->pool_trials > 0)
            snprintf(lab[nc], sizeof lab[nc], "K = %ld trials", run->pool_trials);   /* the title names the mask */
        else
            snprintf(lab[nc], sizeof lab[nc], "%s", run->label);
        labels[nc] = lab[nc];
        if (k.x[k.n - 1] > xmax) xmax = k.x[k.n - 1];
        nc++;
    }
    lm_fig_panel(f, panel, 0, xmax, 0, 1, s->title, "optimiser steps",
                 s->group < 0 ? "mean held-out perf" : "group perf");
    if (nc == 0) lm_fig_text(f, 0.4 * xmax, 0.5, "no runs");
    /* lm_fig_lines shares x across series: draw each condition on its own x grid. */
    for (int k = 0; k < nc; k++) {
        /* Series k keeps colour k and its legend entry by padding the others with NaN. */
        const double **ys = lm_calloc((size_t)nc, sizeof(double *));
        double *nan = lm_malloc(sizeof(double) * (size_t)cv[k].n);
        for (int i = 0; i < cv[k].n; i++) nan[i] = NAN;
        for (int j = 0; j < nc; j++) ys[j] = j == k ? cv[k].y : nan;
        lm_fig_lines(f, nc, cv[k].n, cv[k].x, ys, k == 0 ? labels : NULL);
        free(nan);
        free(ys);
    }
    for (int k = 0; k < nc; k++) lm_rep_curve_free(&cv[k]);
    free(cv);
    free(labels);
    free(lab);
}

/* ---------------------------------------------------------------- common tables */
static void condition_table(FILE *md, const LmExpResults *r) {
    char buf[64];
    fprintf(md, "## All conditions\n\nMean ± std over seeds; a threshold column shows (n/N) when only n of the N "
                "seeds reached it (the mean is then over those n). AUC = mean held-out performance over the "
                "training run (area under the learning curve / its length).\n\n"
                "| battery | condition | density | K trials | runs done | final perf | AUC | steps to 0.5 | steps to "
                "0.8 | steps to 0.9 | trials to 0.8 | wall s to 0.8 | steps | wall s |\n"
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int c = 0; c < r->n_cond; c++) {
        const LmCondition *cd = &r->cond[c];
        const LmExpRun *run = lm_rep_crun(r, cd);
        fprintf(md, "| %s | %s | %.4f | ", run->battery, run->label, run->density);
        if (run->pool_trials > 0)
            fprintf(md, "%ld |", run->pool_trials);
        else
            fprintf(md, "∞ |");
        fprintf(md, " %d/%d |", lm_rep_cond_done(r, cd), cd->n);
        static const int qs[] = {Q_FINAL, Q_AUC, Q_STEP_T, Q_STEP_T + 1, Q_STEP_T + 2, Q_TRIALS_T + 1, Q_WALL_T + 1,
                                 Q_STEPS, Q_WALL};
        static const int dg[] = {3, 3, 0, 0, 0, 0, 0, 0, 0};
        for (size_t q = 0; q < sizeof qs / sizeof qs[0]; q++) {
            LmStat s = lm_rep_cstat(r, cd, qs[q]);
            lm_stat_format(&s, cd->n, dg[q], buf, sizeof buf);
            fprintf(md, " %s |", buf);
        }
        fputc('\n', md);
    }
}

static int write_runs_csv(const char *path, const LmExpResults *r) {
    size_t cap = 1 << 16, len = 0;
    char *text = lm_malloc(cap);
#define EMIT(...)                                                                                  \
    do {                                                                                           \
        int n_ = snprintf(text + len, cap - len, __VA_ARGS__);                                     \
        if ((size_t)n_ >= cap - len) {                                                             \
            cap = 2 * cap + (size_t)n_;                                                            \
            text = lm_realloc(text, cap);                                                          \
            n_ = snprintf(text + len, cap - len, __VA_ARGS__);                                     \
        }                                                                                          \
        len += (size_t)n_;                                                                         \
    } while (0)
    EMIT("id,condition,battery,mask,d,density,pool_trials,pool_batches,seed,done,steps,trials,wall,final_mean,"
         "base,int,seq,intseq,auc,steps_to_0.5,steps_to_0.8,steps_to_0.9,trials_to_0.5,trials_to_0.8,"
         "trials_to_0.9,wall_to_0.5,wall_to_0.8,wall_to_0.9\n");
    for (int i = 0; i < r->plan.n; i++) {
        const LmExpRun *run = &r->plan.runs[i];
        const LmExpRunResult *rr = &r->res[i];
        EMIT("%s,%s,%s,%s,%g,%.6g,%ld,%ld,%llu,%d", run->id, run->cond, run->battery, run->mask, run->d,
             run->density, run->pool_trials, run->pool_batches, (unsigned long long)run->seed, rr->done);
        static const int qs[] = {Q_STEPS, Q_TRIALS, Q_WALL, Q_FINAL, Q_GROUP, Q_GROUP + 1, Q_GROUP + 2, Q_GROUP + 3,
                                 Q_AUC, Q_STEP_T, Q_STEP_T + 1, Q_STEP_T + 2, Q_TRIALS_T, Q_TRIALS_T + 1,
                                 Q_TRIALS_T + 2, Q_WALL_T, Q_WALL_T + 1, Q_WALL_T + 2};
        for (size_t q = 0; q < sizeof qs / sizeof qs[0]; q++) {
            double v = lm_rep_value(rr, qs[q]);
            if (isfinite(v))
                EMIT(",%.6g", v);
            else
                EMIT(",");
        }
        EMIT("\n");
    }
#undef EMIT
    int rc = lm_write_file_atomic(path, text, len);
    free(text);
    return rc;
}

/* ---------------------------------------------------------------- entry point */
int lm_exp_report(const char *dir, FILE *list) {
    LmExpResults r;
    if (lm_exp_results_load(dir, &r) != 0) return -1;
    Out o;
    o.list = list;
    o.exp_dir = dir;
    lm_exp_path(o.dir, dir, "report");
    int rc = lm_mkdir_p(o.dir);
    const LmExpSettings *set = &r.plan.set;

    /* summary.md is built in memory and written atomically. */
    char *md_text = NULL;
    size_t md_len = 0;
    FILE *md = open_memstream(&md_text, &md_len);
    if (!md) {
        lm_err_set("out of memory building summary.md");
        lm_exp_results_free(&r);
        return -1;
    }
    int n_done = 0, n_eval = 0;
    for (int i = 0; i < r.plan.n; i++) {
        n_done += r.res[i].done;
        n_eval += r.res[i].has_eval;
    }
    if (set->exp == LM_EXP_SWEEP)
        fprintf(md, "# Sweep `%s`\n\n", r.plan.name);
    else
        fprintf(md, "# Experiment `%s` (%s scale)\n\n", lm_experiment_name(set->exp), lm_scale_name(set->scale));
    fprintf(md, "%d runs in %d conditions; %d finished, %d with a final evaluation. Every run: N = %d hidden units, "
                "batch %d, %ld optimiser steps, held-out evaluation every %d steps on %d trials per task "
                "(`last_step` metric), %d seed%s per condition%s.\n\n",
            r.plan.n, r.n_cond, n_done, n_eval, set->hidden, set->batch, set->steps, set->eval_every,
            set->eval_trials, set->seeds, set->seeds == 1 ? "" : "s", set->fix_all ? ", task corrections `--fix all`" : "");
    if (n_done < r.plan.n)
        fprintf(md, "**Incomplete:** %d runs have not finished; their columns use whatever they logged so far.\n\n",
                r.plan.n - n_done);
    fprintf(md, "Per-run numbers: `runs.csv`. Run directories: `../runs/<id>/`.\n\n");

    if (!rc) {
        if (set->exp == LM_EXP_AUTAPSE) rc = lm_report_autapse(md, &o, &r);
        if (set->exp == LM_EXP_SPARSITY) rc = lm_report_sparsity(md, &o, &r);
        if (set->exp == LM_EXP_DATA_EFFICIENCY) rc = lm_report_data_efficiency(md, &o, &r);
        if (set->exp == LM_EXP_LOTTERY) rc = lm_report_lottery(md, &o, &r);
        if (set->exp == LM_EXP_SWEEP) rc = lm_report_sweep(md, &o, &r);
    }
    condition_table(md, &r);
    fclose(md);
    if (!rc) {
        char path[LM_EXP_PATH];
        lm_exp_path(path, o.dir, "summary.md");
        rc = lm_write_file_atomic(path, md_text, md_len);
        if (!rc && list) fprintf(list, "wrote %s\n", path);
        lm_exp_path(path, o.dir, "runs.csv");
        if (!rc) rc = write_runs_csv(path, &r);
        if (!rc && list) fprintf(list, "wrote %s\n", path);
    }
    free(md_text);
    lm_exp_results_free(&r);
    return rc ? -1 : 0;
}
