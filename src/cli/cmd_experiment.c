/* lmrnn experiment NAME: the paper's experiments (docs/model.md §6) as grids of independent training runs,
 * run J at a time, resumable, with an aggregate report. See docs/experiments.md. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "cli/commands.h"
#include "experiment/plan.h"
#include "experiment/report.h"
#include "experiment/results.h"
#include "experiment/drive.h"
#include "experiment/runner.h"
#include "io/npz.h"
#include "util/err.h"
#include "util/number.h"
#include "util/options.h"

static const char usage[] =
    "usage: lmrnn experiment NAME --out DIR [options]\n"
    "       lmrnn experiment NAME --report DIR\n"
    "\n"
    "NAME:\n"
    "  autapse          diag vs local2d d=3 vs full on yang20 and modcog82 (claims C1, C2)\n"
    "  sparsity         local2d d in {1,2,3,4,5,6,8}, density-matched random masks, full, on modcog82 (C3, C4)\n"
    "  data-efficiency  best local2d d vs matched random vs full on finite pools of K trials (C3)\n"
    "  lottery          local2d d=3 and d=8 vs IMP ticket, SET, RigL, GraNet and random at d=3's density (C7)\n"
    "\n"
    "options:\n"
    "  --out DIR          experiment directory (plan.json, runs/<id>/, report/); re-running resumes it\n"
    "  --scale S          tiny | quick | paper (default quick; see docs/experiments.md)\n"
    "  --seeds K          seeds per condition (default: 1 at quick/tiny; paper: 3, autapse 5)\n"
    "  --jobs J           training processes at a time (default: number of cores)\n"
    "  --steps N          optimiser steps per run (overrides the scale; larger N extends finished runs)\n"
    "  --d D              data-efficiency: the LM-RNN's local2d d\n"
    "  --from DIR         data-efficiency: take the optimal d from a finished sparsity experiment\n"
    "  --pool K1,K2,...   data-efficiency: training-pool sizes in trials (default: the scale's)\n"
    "  --fix all|none     task corrections passed to every run (default none = faithful tasks)\n"
    "  --plan             print the runs and their train commands, run nothing\n"
    "  --force            runs of DIR whose options changed start afresh instead of being refused\n"
    "  --report-only      only (re)write DIR/report from the runs present\n"
    "  --report DIR       same as --out DIR --report-only\n"
    "  --quiet            no per-run progress lines\n";

static int file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

static int parse_pool(const char *text, LmExpSettings *s) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    s->n_pool = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (s->n_pool == 8) {
            lm_err_set("--pool: at most 8 sizes");
            return -1;
        }
        long k;
        if (lm_parse_long("--pool", tok, 1, 100000000, &k) != 0) return -1;
        s->pool_trials[s->n_pool++] = k;
    }
    if (!s->n_pool) {
        lm_err_set("--pool: no sizes given");
        return -1;
    }
    return 0;
}

typedef struct {
    LmExperiment exp;
    const char *out, *report, *scale, *from, *pool, *fix;
    int seeds, jobs, fix_all, report_only, plan_only, quiet, force;
    int64_t steps;
    double d;
} ExpArgs;

static int set_pool(void *obj, const char *v) {
    LmExpSettings check;
    if (parse_pool(v, &check) != 0) return -1;
    ((ExpArgs *)obj)->pool = v;
    return 0;
}
static void fmt_pool(const void *obj, char *buf, size_t n) {
    const char *p = ((const ExpArgs *)obj)->pool;
    snprintf(buf, n, "%s", p ? p : "");
}
static int set_scale(void *obj, const char *v) {
    LmExpScale scale;
    if (lm_scale_parse(v, &scale) != 0) return -1;
    ((ExpArgs *)obj)->scale = v;
    return 0;
}
static void fmt_scale(const void *obj, char *buf, size_t n) { snprintf(buf, n, "%s", ((const ExpArgs *)obj)->scale); }

static const char *const fix_names[] = {"none", "all", NULL};
#define OPT(name, type, field, lo, hi, def, help) \
    {name, type, offsetof(ExpArgs, field), 0, lo, hi, 0, def, help, NULL, NULL, NULL, NULL, 0}
static const LmOption exp_opts[] = {
    OPT("out", LM_OPT_STRING, out, 0, 0, NULL, "experiment directory"),
    OPT("report", LM_OPT_STRING, report, 0, 0, NULL, "only (re)write the report of this directory"),
    {"scale", LM_OPT_CUSTOM, 0, 0, 0, 0, 0, "quick", "tiny, quick or paper", NULL, NULL, set_scale, fmt_scale, 0},
    OPT("seeds", LM_OPT_INT, seeds, 1, 100, NULL, "seeds per condition"),
    OPT("jobs", LM_OPT_INT, jobs, 1, 256, NULL, "training processes at a time"),
    OPT("steps", LM_OPT_INT64, steps, 1, 1000000000, NULL, "optimiser steps per run"),
    OPT("d", LM_OPT_DOUBLE, d, 1, 64, NULL, "data-efficiency: local2d d"),
    OPT("from", LM_OPT_STRING, from, 0, 0, NULL, "data-efficiency: a finished sparsity experiment"),
    {"pool", LM_OPT_CUSTOM, 0, 0, 0, 0, 0, NULL, "data-efficiency: pool sizes", NULL, NULL, set_pool, fmt_pool, 0},
    {"fix", LM_OPT_ENUM, offsetof(ExpArgs, fix_all), 0, 0, 0, 0, NULL, "task corrections", fix_names, NULL,
     NULL, NULL, 0},
    OPT("plan", LM_OPT_BOOL, plan_only, 0, 0, "false", "print the runs only"),
    OPT("report_only", LM_OPT_BOOL, report_only, 0, 0, "false", "only (re)write the report"),
    OPT("force", LM_OPT_BOOL, force, 0, 0, "false", "discard runs whose options changed"),
    OPT("quiet", LM_OPT_BOOL, quiet, 0, 0, "false", "no per-run progress lines"),
};
static const LmOptTable exp_table = {"experiment", exp_opts, LM_OPTS_COUNT(exp_opts)};

/* 0, or the exit status of a usage error (message printed). Sets *help for --help. */
static int parse_args(int argc, char **argv, ExpArgs *e, int *help) {
    memset(e, 0, sizeof *e);
    if (lm_experiment_parse(argv[0], &e->exp) != 0) return lm_opts_fail("experiment", LM_EXIT_USAGE);
    LmOptScan *scan = lm_malloc(sizeof *scan);
    int prc = lm_opts_parse(&exp_table, e, argc - 1, argv + 1, 0, scan);
    int fix_given = lm_opts_given(scan, "fix");
    *help = scan->help;
    free(scan);
    if (prc != 0) return lm_opts_fail("experiment", LM_EXIT_USAGE);
    if (*help) return 0;
    e->fix = fix_given ? fix_names[e->fix_all] : NULL;
    if (e->report) {
        e->out = e->report;
        e->report_only = 1;
    }
    const char *problem = NULL;
    if (!e->out && !e->plan_only) problem = "--out DIR (or --report DIR) is required";
    else if (e->out && strlen(e->out) > LM_EXP_MAX_DIR) problem = "directory name longer than 3000 characters";
    else if ((e->d > 0 || e->from || e->pool) && e->exp != LM_EXP_DATA_EFFICIENCY)
        problem = "--d, --from and --pool only apply to data-efficiency";
    else if (e->d > 0 && e->from) problem = "give either --d or --from, not both";
    if (problem) {
        fprintf(stderr, "lmrnn: experiment: %s\n", problem);
        return LM_EXIT_USAGE;
    }
    return 0;
}

/* --report DIR: rebuild the report of the experiment DIR holds. Exit status. */
static int report_only(const ExpArgs *e) {
    char plan_path[LM_EXP_PATH];
    lm_exp_path(plan_path, e->out, "plan.json");
    if (!file_exists(plan_path)) {
        fprintf(stderr, "lmrnn: %s: no plan.json (not an experiment directory)\n", e->out);
        return 1;
    }
    LmExpPlan old;
    if (lm_exp_plan_load(plan_path, &old) != 0) goto fail;
    LmExperiment was = old.set.exp;
    lm_exp_plan_free(&old);
    if (was != e->exp) {
        fprintf(stderr, "lmrnn: %s holds the %s experiment, not %s\n", e->out, lm_experiment_name(was),
                lm_experiment_name(e->exp));
        return 1;
    }
    if (lm_exp_report(e->out, e->quiet ? NULL : stdout) != 0) goto fail;
    return 0;
fail:
    fprintf(stderr, "lmrnn: %s\n", lm_err_msg());
    return 1;
}

/* The optimal d of a finished sparsity experiment; 0 after printing an error. */
static double d_from_sparsity(const char *from) {
    LmExpResults sp;
    if (lm_exp_results_load(from, &sp) != 0) {
        fprintf(stderr, "lmrnn: %s\n", lm_err_msg());
        return 0;
    }
    double d = 0;
    if (sp.plan.set.exp != LM_EXP_SPARSITY)
        fprintf(stderr, "lmrnn: --from %s: not a sparsity experiment (it holds %s)\n", from,
                lm_experiment_name(sp.plan.set.exp));
    else if ((d = lm_exp_best_d(&sp)) <= 0)
        fprintf(stderr, "lmrnn: --from %s: no local2d run has an evaluation yet\n", from);
    else
        printf("optimal d from %s (best learning-curve AUC): %g\n", from, d);
    lm_exp_results_free(&sp);
    return d;
}

/* The experiment's settings: the scale's, then an existing directory's seeds / steps / d / pools /
 * fix (it is continued, not restarted), then the command line. 0, 1 (failed work) or 2 (usage). */
static int settings(const ExpArgs *e, LmExpSettings *set) {
    LmExpScale scale;
    if (lm_scale_parse(e->scale, &scale) != 0) {
        fprintf(stderr, "lmrnn: %s\n", lm_err_msg());
        return 2;
    }
    lm_exp_settings_default(e->exp, scale, set);
    char plan_path[LM_EXP_PATH];
    if (e->out) lm_exp_path(plan_path, e->out, "plan.json");
    LmExpPlan old = {0};
    if (e->out && file_exists(plan_path)) {
        if (lm_exp_plan_load(plan_path, &old) != 0) {
            fprintf(stderr, "lmrnn: %s\n", lm_err_msg());
            return 1;
        }
        if (old.set.exp == e->exp && old.set.scale == scale) {
            set->seeds = old.set.seeds;
            set->steps = old.set.steps;
            set->best_d = old.set.best_d;
            set->n_pool = old.set.n_pool;
            memcpy(set->pool_trials, old.set.pool_trials, sizeof set->pool_trials);
            set->fix_all = old.set.fix_all;
        }
        lm_exp_plan_free(&old);
    }
    if (e->seeds) set->seeds = (int)e->seeds;
    if (e->steps) set->steps = (long)e->steps;
    if (e->fix) set->fix_all = !strcmp(e->fix, "all");
    if (e->pool && parse_pool(e->pool, set) != 0) {
        fprintf(stderr, "lmrnn: %s\n", lm_err_msg());
        return 2;
    }
    if (e->exp != LM_EXP_DATA_EFFICIENCY) return 0;
    if (e->from && (set->best_d = d_from_sparsity(e->from)) <= 0) return 1;
    if (e->d > 0) set->best_d = e->d;
    if (set->best_d <= 0) {
        set->best_d = 3;
        printf("no --d or --from given: using the paper's default local2d d = 3\n");
    }
    return 0;
}

int lm_cmd_experiment(int argc, char **argv) {
    if (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
        fputs(usage, stdout);
        return LM_EXIT_OK;
    }
    if (argc < 1 || argv[0][0] == '-') {
        fputs(usage, stderr);
        return LM_EXIT_USAGE;
    }
    ExpArgs e;
    int help = 0, rc = parse_args(argc, argv, &e, &help);
    if (rc) return rc;
    if (help) {
        fputs(usage, stdout);
        return LM_EXIT_OK;
    }
    if (e.report_only) return report_only(&e);
    LmExpSettings set;
    if ((rc = settings(&e, &set)) != 0) return rc;
    LmExpPlan plan;
    if (lm_exp_plan_build(&set, &plan) != 0) {
        fprintf(stderr, "lmrnn: %s\n", lm_err_msg());
        return 1;
    }
    if (e.plan_only) {
        lm_exp_print_plan(&plan, e.out, stdout);
        lm_exp_plan_free(&plan);
        return 0;
    }
    LmDriveOptions o = {(int)e.jobs, e.quiet, e.force, 0, 0};
    rc = lm_exp_drive(&plan, e.out, &o);
    lm_exp_plan_free(&plan);
    return rc;
}
