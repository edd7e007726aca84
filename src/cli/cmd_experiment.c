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
    "  --report-only      only (re)write DIR/report from the runs present\n"
    "  --report DIR       same as --out DIR --report-only\n"
    "  --quiet            no per-run progress lines\n";

static int file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

/* The new plan may add seeds or steps to an existing one, nothing else: every run present in both must
 * have the same training options apart from --steps. */
static int plan_compatible(const LmExpPlan *old, const LmExpPlan *now, const char *dir) {
    if (old->set.exp != now->set.exp || old->set.scale != now->set.scale) {
        lm_err_set("%s holds the %s experiment at %s scale; use another --out for %s at %s scale", dir,
                   lm_experiment_name(old->set.exp), lm_scale_name(old->set.scale), lm_experiment_name(now->set.exp),
                   lm_scale_name(now->set.scale));
        return -1;
    }
    for (int i = 0; i < old->n; i++)
        for (int j = 0; j < now->n; j++) {
            const LmExpRun *a = &old->runs[i], *b = &now->runs[j];
            if (strcmp(a->id, b->id)) continue;
            int same = a->n_args == b->n_args;
            for (int k = 0; same && k < a->n_args; k++) {
                if (k > 0 && !strcmp(a->args[k - 1], "--steps")) continue;
                same = !strcmp(a->args[k], b->args[k]);
            }
            if (!same) {
                lm_err_set("%s: run %s was started with other training options; use another --out", dir, a->id);
                return -1;
            }
        }
    return 0;
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

static void print_plan(const LmExpPlan *p, const char *dir) {
    printf("# %s experiment, %s scale: %d runs\n", lm_experiment_name(p->set.exp), lm_scale_name(p->set.scale), p->n);
    for (int i = 0; i < p->n; i++) {
        const LmExpRun *r = &p->runs[i];
        printf("%-40s lmrnn train", r->id);
        for (int a = 0; a < r->n_args; a++) printf(" %s", r->args[a]);
        printf(" --out %s/runs/%s --quiet --no-plot\n", dir ? dir : "DIR", r->id);
    }
}

typedef struct {
    const char *out, *report, *scale, *from, *pool;
    int seeds, jobs, fix_all, report_only, plan, quiet;
    int64_t steps;
    double d;
} ExpCommand;

static int set_pool(void *obj, const char *v) {
    LmExpSettings check;
    if (parse_pool(v, &check) != 0) return -1;
    ((ExpCommand *)obj)->pool = v;
    return 0;
}
static void fmt_pool(const void *obj, char *buf, size_t n) {
    const char *p = ((const ExpCommand *)obj)->pool;
    snprintf(buf, n, "%s", p ? p : "");
}
static int set_scale(void *obj, const char *v) {
    LmExpScale scale;
    if (lm_scale_parse(v, &scale) != 0) return -1;
    ((ExpCommand *)obj)->scale = v;
    return 0;
}
static void fmt_scale(const void *obj, char *buf, size_t n) { snprintf(buf, n, "%s", ((const ExpCommand *)obj)->scale); }

static const char *const fix_names[] = {"none", "all", NULL};
#define OPT(name, type, field, lo, hi, def, help) \
    {name, type, offsetof(ExpCommand, field), 0, lo, hi, 0, def, help, NULL, NULL, NULL, NULL, 0}
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
    {"fix", LM_OPT_ENUM, offsetof(ExpCommand, fix_all), 0, 0, 0, 0, NULL, "task corrections", fix_names, NULL,
     NULL, NULL, 0},
    OPT("plan", LM_OPT_BOOL, plan, 0, 0, "false", "print the runs only"),
    OPT("report_only", LM_OPT_BOOL, report_only, 0, 0, "false", "only (re)write the report"),
    OPT("quiet", LM_OPT_BOOL, quiet, 0, 0, "false", "no per-run progress lines"),
};
static const LmOptTable exp_table = {"experiment", exp_opts, LM_OPTS_COUNT(exp_opts)};

int lm_cmd_experiment(int argc, char **argv) {
    if (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
        fputs(usage, stdout);
        return LM_EXIT_OK;
    }
    if (argc < 1 || argv[0][0] == '-') {
        fputs(usage, stderr);
        return LM_EXIT_USAGE;
    }
    LmExperiment exp;
    if (lm_experiment_parse(argv[0], &exp) != 0) return lm_opts_fail("experiment", LM_EXIT_USAGE);
    ExpCommand ec = {0};
    LmOptScan *scan = lm_malloc(sizeof *scan);
    int prc = lm_opts_parse(&exp_table, &ec, argc - 1, argv + 1, 0, scan);
    int help = scan->help, fix_given = lm_opts_given(scan, "fix");
    free(scan);
    if (prc != 0) return lm_opts_fail("experiment", LM_EXIT_USAGE);
    if (help) {
        fputs(usage, stdout);
        return LM_EXIT_OK;
    }
    const char *out = ec.report ? ec.report : ec.out, *scale_s = ec.scale, *from = ec.from, *pool = ec.pool;
    const char *fix = fix_given ? fix_names[ec.fix_all] : NULL;
    long seeds = ec.seeds, jobs = ec.jobs, steps = (long)ec.steps;
    double d = ec.d;
    int report_only = ec.report_only || ec.report, plan_only = ec.plan, quiet = ec.quiet;
    if (!out && !plan_only) {
        fprintf(stderr, "lmrnn: experiment: --out DIR (or --report DIR) is required\n");
        return 2;
    }
    if (out && strlen(out) > LM_EXP_MAX_DIR) {
        fprintf(stderr, "lmrnn: experiment: directory name longer than %d characters\n", LM_EXP_MAX_DIR);
        return 2;
    }
    if ((d > 0 || from || pool) && exp != LM_EXP_DATA_EFFICIENCY) {
        fprintf(stderr, "lmrnn: experiment: --d, --from and --pool only apply to data-efficiency\n");
        return 2;
    }
    if (d > 0 && from) {
        fprintf(stderr, "lmrnn: experiment: give either --d or --from, not both\n");
        return 2;
    }

    char plan_path[LM_EXP_PATH];
    if (out) lm_exp_path(plan_path, out, "plan.json");
    if (report_only) {
        if (!file_exists(plan_path)) {
            fprintf(stderr, "lmrnn: %s: no plan.json (not an experiment directory)\n", out);
            return 1;
        }
        LmExpPlan old;
        if (lm_exp_plan_load(plan_path, &old) != 0) goto fail;
        LmExperiment was = old.set.exp;
        lm_exp_plan_free(&old);
        if (was != exp) {
            fprintf(stderr, "lmrnn: %s holds the %s experiment, not %s\n", out, lm_experiment_name(was),
                    lm_experiment_name(exp));
            return 1;
        }
        if (lm_exp_report(out, quiet ? NULL : stdout) != 0) goto fail;
        return 0;
    }

    LmExpScale scale;
    if (lm_scale_parse(scale_s, &scale) != 0) goto bad;
    LmExpSettings set;
    lm_exp_settings_default(exp, scale, &set);

    /* Continue an existing experiment with its own seeds / steps / d unless told otherwise. */
    LmExpPlan old = {0};
    int have_old = out && file_exists(plan_path);
    if (have_old && lm_exp_plan_load(plan_path, &old) != 0) goto fail;
    if (have_old && old.set.exp == exp && old.set.scale == scale) {
        if (!seeds) seeds = old.set.seeds;
        if (!steps) steps = old.set.steps;
        if (exp == LM_EXP_DATA_EFFICIENCY && !d && !from) d = old.set.best_d;
        if (exp == LM_EXP_DATA_EFFICIENCY && !pool) {
            set.n_pool = old.set.n_pool;
            memcpy(set.pool_trials, old.set.pool_trials, sizeof set.pool_trials);
        }
        if (!fix) set.fix_all = old.set.fix_all;
    }
    if (seeds) set.seeds = (int)seeds;
    if (steps) set.steps = steps;
    if (fix) set.fix_all = !strcmp(fix, "all");
    if (pool && parse_pool(pool, &set) != 0) {
        lm_exp_plan_free(&old);
        goto bad;
    }
    if (exp == LM_EXP_DATA_EFFICIENCY) {
        if (from) {
            LmExpResults sp;
            if (lm_exp_results_load(from, &sp) != 0) {
                lm_exp_plan_free(&old);
                goto fail;
            }
            if (sp.plan.set.exp != LM_EXP_SPARSITY) {
                fprintf(stderr, "lmrnn: --from %s: not a sparsity experiment (it holds %s)\n", from,
                        lm_experiment_name(sp.plan.set.exp));
                lm_exp_results_free(&sp);
                lm_exp_plan_free(&old);
                return 1;
            }
            d = lm_exp_best_d(&sp);
            lm_exp_results_free(&sp);
            if (d <= 0) {
                fprintf(stderr, "lmrnn: --from %s: no local2d run has an evaluation yet\n", from);
                lm_exp_plan_free(&old);
                return 1;
            }
            printf("optimal d from %s (best learning-curve AUC): %g\n", from, d);
        }
        if (d > 0) set.best_d = d;
        if (set.best_d <= 0) {
            set.best_d = 3;
            printf("no --d or --from given: using the paper's default local2d d = 3\n");
        }
    }

    LmExpPlan plan;
    if (lm_exp_plan_build(&set, &plan) != 0) {
        lm_exp_plan_free(&old);
        goto fail;
    }
    if (plan_only) {
        print_plan(&plan, out);
        lm_exp_plan_free(&plan);
        lm_exp_plan_free(&old);
        return 0;
    }
    if (have_old && plan_compatible(&old, &plan, out) != 0) {
        lm_exp_plan_free(&plan);
        lm_exp_plan_free(&old);
        goto fail;
    }
    lm_exp_plan_free(&old);
    if (lm_mkdir_p(out) != 0 || lm_exp_plan_save(&plan, plan_path) != 0) {
        lm_exp_plan_free(&plan);
        goto fail;
    }
    LmRunnerOptions ro = {jobs ? (int)jobs : lm_exp_default_jobs(), NULL, !quiet};
    int failed = lm_exp_execute(&plan, out, &ro);
    lm_exp_plan_free(&plan);
    if (failed < 0) goto fail;
    /* The report covers whatever finished, also when some runs failed. */
    if (lm_exp_report(out, quiet ? NULL : stdout) != 0) goto fail;
    char summary[LM_EXP_PATH], rep[LM_EXP_PATH];
    lm_exp_path(rep, out, "report");
    lm_exp_path(summary, rep, "summary.md");
    printf("report: %s\n", summary);
    if (failed > 0) {
        fprintf(stderr, "lmrnn: experiment: %d run%s failed (see above); re-run the same command to retry\n", failed,
                failed > 1 ? "s" : "");
        return 1;
    }
    return 0;
bad:
    fprintf(stderr, "lmrnn: %s\n", lm_err_msg());
    return 2;
fail:
    fprintf(stderr, "lmrnn: %s\n", lm_err_msg());
    return 1;
}
