/* Single trials to files (tasks/export.h): the trial figure of `lmrnn tasks show` and the .npz files of
 * `lmrnn tasks dump`. */
#include "tasks/export.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "io/npz.h"
#include "plot/plot.h"
#include "tasks/tasks.h"
#include "util/err.h"

int lm_task_figure(int id, const char *name, uint64_t seed, int modality, unsigned fix, const char *path) {
    const LmTaskDef *d = lm_task_def(id);
    LmTaskEnv *env = lm_malloc(sizeof *env);
    lm_trial_env(env, seed, fix);
    LmRng rng = lm_trial_rng(seed, id);
    LmTrial *t = lm_malloc(sizeof *t);
    /* Trial 0 of a dump is modality 0; for modality 1 show trial 1 (the dump's first modality-1 trial). */
    int skip = d->family != LM_FAM_DM && modality == 1;
    for (int i = 0; i <= skip; i++) lm_trial_generate(env, id, lm_trial_modality(id, i), &rng, &rng, t);

    /* Heat map: rows = the 33 input columns, columns = time steps. */
    const int T = t->len;
    float *z = lm_malloc(sizeof(float) * LM_OBS * (size_t)T);
    for (int c = 0; c < LM_OBS; c++)
        for (int s = 0; s < T; s++) z[c * T + s] = t->ob[s * LM_OBS + c];
    double xs[LM_MAX_PERIODS + 1], lx[LM_TMAX], ly[LM_TMAX];
    const char *pl[LM_MAX_PERIODS + 1];
    int nv = 0;
    for (int p = 0; p < t->n_periods; p++) {
        if (t->periods[p].end == t->periods[p].start) continue; /* empty int delay */
        xs[nv] = t->periods[p].start;
        pl[nv++] = t->periods[p].name;
    }
    for (int s = 0; s < T; s++) {
        lx[s] = s + 0.5;
        ly[s] = t->gt[s];
    }
    char title[256], fixs[96], mods[64];
    lm_fix_describe(fix, fixs, sizeof fixs);
    lm_task_modifiers(id, mods, sizeof mods);
    char tgt[32];
    if (t->target >= 0) snprintf(tgt, sizeof tgt, "target %d", t->target);
    else snprintf(tgt, sizeof tgt, "no-go");
    char mod[32];
    if (t->modality >= 0) snprintf(mod, sizeof mod, "modality %d", t->modality);
    else snprintf(mod, sizeof mod, "both rings");
    char modp[80] = "";
    if (mods[0]) snprintf(modp, sizeof modp, " (%s)", mods);
    snprintf(title, sizeof title, "%s: %s family%s, %s, %s", name, lm_family_name(d->family), modp, mod, tgt);
    char sub[200];
    snprintf(sub, sizeof sub, "labels (0 = fixate, k+1 = respond at k); seed %llu, fix %s",
             (unsigned long long)seed, fixs);
    int rc = 0;
    LmFigure *f = lm_fig_new(path, 1100, 800, 1, 2);
    if (!f) rc = -1;
    if (rc == 0) {
        lm_fig_panel(f, 0, 0, T, 0, LM_OBS, title, NULL, "input: 0 fix, 1-16 ring1, 17-32 ring2");
        lm_fig_heatmap(f, z, LM_OBS, T, 0, 0, 1, 0);
        lm_fig_hline(f, 1, 15);
        lm_fig_hline(f, 17, 15);
        lm_fig_vlines(f, nv, xs, pl);
        lm_fig_panel(f, 1, 0, T, -0.5, 16.5, sub, "time step (100 ms)", "label");
        const double *ys[1] = {ly};
        lm_fig_lines(f, 1, T, lx, ys, NULL);
        lm_fig_points(f, T, lx, ly, 0);
        lm_fig_vlines(f, nv, xs, NULL);
        rc = lm_fig_close(f);
    }
    free(z);
    free(t);
    free(env);
    return rc;
}

/* ---------------------------------------------------------------- dump */
static int dump_task(const char *dir, const char *name, int id, const LmTaskEnv *env, long K,
                     uint64_t seed, LmTrial *t) {
    LmRng rng = lm_trial_rng(seed, id);
    /* Generate twice: first pass sizes Tmax, second fills (cheaper than storing K trials). */
    LmRng first = rng;
    int tmax = 0, P = 0;
    for (long i = 0; i < K; i++) {
        lm_trial_generate(env, id, lm_trial_modality(id, (int)i), &first, &first, t);
        if (t->len > tmax) tmax = t->len;
        P = t->n_periods;
    }
    float *ob = lm_calloc((size_t)K * (size_t)tmax * LM_OBS, sizeof(float));
    int32_t *gt = lm_calloc((size_t)K * (size_t)tmax, sizeof(int32_t));
    int32_t *len = lm_calloc((size_t)K, sizeof(int32_t));
    int32_t *mod = lm_calloc((size_t)K, sizeof(int32_t));
    int32_t *bounds = lm_calloc((size_t)K * (size_t)P * 2, sizeof(int32_t));
    char names[128] = "";
    for (long i = 0; i < K; i++) {
        lm_trial_generate(env, id, lm_trial_modality(id, (int)i), &rng, &rng, t);
        memcpy(ob + (size_t)i * tmax * LM_OBS, t->ob, sizeof(float) * LM_OBS * (size_t)t->len);
        memcpy(gt + (size_t)i * tmax, t->gt, sizeof(int32_t) * (size_t)t->len);
        len[i] = t->len;
        mod[i] = t->modality;
        for (int p = 0; p < P; p++) {
            bounds[((size_t)i * P + p) * 2] = t->periods[p].start;
            bounds[((size_t)i * P + p) * 2 + 1] = t->periods[p].end;
        }
        if (i == 0)
            for (int p = 0, u = 0; p < P; p++)
                u += snprintf(names + u, sizeof names - (size_t)u, "%s%s", p ? ";" : "", t->periods[p].name);
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/%s.npz", dir, name);
    int rc = 0;
    LmNpzWriter *w = lm_npz_create(path);
    if (!w) rc = -1;
    if (rc == 0) {
        int64_t s_ob[3] = {K, tmax, LM_OBS}, s_gt[2] = {K, tmax}, s_k[1] = {K}, s_b[3] = {K, P, 2};
        if (lm_npz_add(w, "ob", LM_DT_F32, 3, s_ob, ob) || lm_npz_add(w, "gt", LM_DT_I32, 2, s_gt, gt) ||
            lm_npz_add(w, "length", LM_DT_I32, 1, s_k, len) || lm_npz_add(w, "modality", LM_DT_I32, 1, s_k, mod) ||
            lm_npz_add_string(w, "period_names", names) ||
            lm_npz_add(w, "period_bounds", LM_DT_I32, 3, s_b, bounds)) {
            lm_npz_discard(w);
            rc = -1;
        } else {
            rc = lm_npz_close(w);
        }
    }
    free(ob);
    free(gt);
    free(len);
    free(mod);
    free(bounds);
    return rc;
}

int lm_task_dump(const char *dir, const LmBattery *b, int trials, uint64_t seed, unsigned fix) {
    if (lm_mkdir_p(dir) != 0) return -1;
    LmTaskEnv *env = lm_malloc(sizeof *env);
    lm_trial_env(env, seed, fix);
    LmTrial *t = lm_malloc(sizeof *t);
    int rc = 0;
    for (int k = 0; k < b->n && rc == 0; k++) rc = dump_task(dir, b->name[k], b->id[k], env, trials, seed, t);
    free(t);
    free(env);
    return rc;
}
