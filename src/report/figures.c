/* `lmrnn plot`: which figures a run gets, in which formats. Each figure is drawn by its own file
 * (fig_loss.c, fig_perf.c, fig_tasks.c, fig_mask.c, fig_weights.c, fig_trial.c) through src/plot. */
#include "report/figures.h"
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "io/npz.h"
#include "report/fig_common.h"
#include "report/run.h"
#include "util/err.h"

/* A comma list of png, svg and pdf (checked when the option is set, so that a typo is a usage error). */
static int check_formats(const char *v) {
    if (!*v) {
        lm_err_set("no format given (png, svg, pdf)");
        return -1;
    }
    for (const char *p = v; *p;) {
        size_t n = strcspn(p, ",");
        if (!((n == 3 && (!strncmp(p, "png", 3) || !strncmp(p, "svg", 3) || !strncmp(p, "pdf", 3))))) {
            lm_err_set("unknown format '%.*s' (expected png, svg or pdf)", (int)n, p);
            return -1;
        }
        p += n + (p[n] == ',');
    }
    return 0;
}
static int set_formats(void *obj, const char *v) {
    if (check_formats(v) != 0) return -1;
    ((LmPlotOptions *)obj)->formats = v;
    return 0;
}
static void fmt_formats(const void *obj, char *buf, size_t n) {
    const char *f = ((const LmPlotOptions *)obj)->formats;
    snprintf(buf, n, "%s", f ? f : "png,svg");
}
static int set_tasks(void *obj, const char *v) {
    LmBattery b;
    if (lm_battery_parse(v, &b) != 0) return -1;
    ((LmPlotOptions *)obj)->tasks = v;
    return 0;
}
static void fmt_tasks(const void *obj, char *buf, size_t n) {
    const char *t = ((const LmPlotOptions *)obj)->tasks;
    snprintf(buf, n, "%s", t ? t : "");
}

#define OPT(name, type, field, lo, hi, def, help) \
    {name, type, offsetof(LmPlotOptions, field), 0, lo, hi, 0, def, help, NULL, NULL, NULL, NULL, 0}
static const LmOption plot_opts[] = {
    {"tasks", LM_OPT_CUSTOM, 0, 0, 0, 0, 0, NULL, "tasks for trial_* figures", NULL, NULL, set_tasks, fmt_tasks, 0},
    {"format", LM_OPT_CUSTOM, 0, 0, 0, 0, 0, "png,svg", "output formats", NULL, NULL, set_formats, fmt_formats, 0},
    OPT("eval_trials", LM_OPT_INT, eval_trials, 1, 1000000, "100", "trials per task when eval.json is missing"),
    OPT("threads", LM_OPT_INT, threads, 1, 1024, "1", "threads"),
};
static const LmOptTable plot_table = {"plot", plot_opts, LM_OPTS_COUNT(plot_opts)};

const LmOptTable *lm_plot_options_table(void) { return &plot_table; }

void lm_plot_options_default(LmPlotOptions *o) {
    memset(o, 0, sizeof *o);
    lm_opts_defaults(&plot_table, o);
}

/* Default trial figures: one go, one dm, one match base task, the first int and the first seq task. */
static int default_trial_tasks(const LmBattery *b, int *pos) {
    int n = 0;
    for (int fam = 0; fam < 3; fam++)
        for (int k = 0; k < b->n; k++)
            if ((int)lm_task_def(b->id[k])->family == fam && lm_task_group(b->id[k]) == LM_GROUP_BASE) {
                pos[n++] = k;
                break;
            }
    for (int g = LM_GROUP_INT; g <= LM_GROUP_SEQ; g++)
        for (int k = 0; k < b->n; k++)
            if (lm_task_group(b->id[k]) == (LmGroup)g) {
                pos[n++] = k;
                break;
            }
    return n;
}

static int chosen_trial_tasks(const LmBattery *train, const char *spec, int *pos) {
    LmBattery sub;
    if (lm_battery_parse(spec, &sub) != 0) return -1;
    for (int k = 0; k < sub.n; k++) {
        pos[k] = -1;
        for (int j = 0; j < train->n; j++)
            if (train->id[j] == sub.id[k]) { pos[k] = j; break; }
        if (pos[k] < 0) {
            lm_err_set("--tasks: '%s' is not in the training battery '%s'", sub.name[k], train->spec);
            return -1;
        }
    }
    return sub.n;
}

static int parse_formats(const char *spec, LmFigOut *o) {
    static const char *const known[3] = {"png", "svg", "pdf"};
    o->n_fmt = 0;
    const char *p = spec;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        int found = -1;
        for (int k = 0; k < 3; k++)
            if (strlen(known[k]) == len && !strncmp(p, known[k], len)) found = k;
        if (found < 0) {
            lm_err_set("--format: unknown format '%.*s' (expected png, svg, pdf)", (int)len, p);
            return -1;
        }
        int dup = 0;
        for (int k = 0; k < o->n_fmt; k++) dup |= o->fmt[k] == known[found];
        if (!dup) o->fmt[o->n_fmt++] = known[found];
        p += len;
        if (*p == ',') p++;
    }
    if (!o->n_fmt) {
        lm_err_set("--format: no format given");
        return -1;
    }
    return 0;
}

int lm_plot_run(const char *dir, const LmPlotOptions *opt) {
    LmPlotOptions def;
    if (!opt) {
        lm_plot_options_default(&def);
        opt = &def;
    }
    LmFigOut o;
    memset(&o, 0, sizeof o);
    o.quiet = opt->quiet;
    if (parse_formats(opt->formats ? opt->formats : "png,svg", &o) != 0) return -1;

    LmTrained run;
    if (lm_trained_load(dir, &run) != 0) return -1;
    lm_fig_out_caption(&o, &run);
    int pos[LM_MAX_BATTERY];
    int n_trial_figs = opt->tasks ? chosen_trial_tasks(run.battery, opt->tasks, pos) : default_trial_tasks(run.battery, pos);
    LmCurves log;
    LmTaskTable *table = NULL;
    int rc = n_trial_figs < 0 ? -1 : 0;
    if (rc == 0) rc = lm_fig_curves_read(run.dir, &log);
    else memset(&log, 0, sizeof log);
    if (rc == 0) {
        snprintf(o.plots, sizeof o.plots, "%s/plots", run.dir);
        rc = lm_mkdir_p(o.plots);
    }
    if (rc == 0) {
        table = lm_task_table_load(&run, opt->eval_trials > 0 ? opt->eval_trials : 100);
        if (!table) rc = -1;
    }
    if (rc == 0 && !log.train_step.n && !log.eval_step.n)
        fprintf(stderr, "lmrnn plot: note: %s has no log.jsonl records, skipping loss.* and perf.*\n", run.dir);
    for (int fi = 0; rc == 0 && fi < o.n_fmt; fi++) {
        if (log.train_step.n || log.eval_step.n) rc = lm_fig_loss(&o, &log, fi);
        if (rc == 0 && log.eval_step.n) rc = lm_fig_perf(&o, &log, fi);
        if (rc == 0) rc = lm_fig_tasks(&o, table, fi);
        if (rc == 0) rc = lm_fig_mask(&o, &run, fi);
        if (rc == 0) rc = lm_fig_weights(&o, &run, fi);
        for (int k = 0; rc == 0 && k < n_trial_figs; k++) rc = lm_fig_trial(&o, &run, pos[k], fi);
    }
    lm_task_table_free(table);
    lm_fig_curves_free(&log);
    lm_trained_free(&run);
    return rc;
}
