#include "experiment/drive.h"
#include <string.h>
#include <sys/stat.h>
#include "dist/dist.h"
#include "experiment/report.h"
#include "experiment/results.h"
#include "experiment/runner.h"
#include "io/lock.h"
#include "io/npz.h"
#include "util/err.h"

/* Name of the first option that differs between two runs (steps may grow); NULL if none. */
static const char *changed_option(const LmExpRun *a, const LmExpRun *b) {
    for (int k = 0; k < a->n_opts; k++) {
        if (!strcmp(a->opts[k].key, "steps")) continue;
        const char *v = lm_exp_run_option(b, a->opts[k].key);
        if (!v || strcmp(v, a->opts[k].value)) return a->opts[k].key;
    }
    for (int k = 0; k < b->n_opts; k++)
        if (strcmp(b->opts[k].key, "steps") && !lm_exp_run_option(a, b->opts[k].key)) return b->opts[k].key;
    return NULL;
}

int lm_exp_plan_reconcile(const LmExpPlan *old, const LmExpPlan *now, const char *dir, int force, FILE *log) {
    if (old->set.exp != now->set.exp || (now->set.exp != LM_EXP_SWEEP && old->set.scale != now->set.scale)) {
        if (old->set.exp == LM_EXP_SWEEP || now->set.exp == LM_EXP_SWEEP)
            lm_err_set("%s holds the %s %s; use another --out", dir, old->name,
                       old->set.exp == LM_EXP_SWEEP ? "sweep" : "experiment");
        else
            lm_err_set("%s holds the %s experiment at %s scale; use another --out for %s at %s scale", dir, old->name,
                       lm_scale_name(old->set.scale), now->name, lm_scale_name(now->set.scale));
        return -1;
    }
    int discarded = 0;
    for (int i = 0; i < old->n; i++)
        for (int j = 0; j < now->n; j++) {
            const LmExpRun *a = &old->runs[i], *b = &now->runs[j];
            if (strcmp(a->id, b->id)) continue;
            const char *key = changed_option(a, b);
            if (!key) continue;
            if (!force) {
                lm_err_set("%s: run %s was started with other training options (%s); use another --out, or --force "
                           "to discard such runs and start them afresh", dir, a->id, key);
                return -1;
            }
            char runs[LM_EXP_PATH], run_dir[LM_EXP_PATH];
            lm_exp_path(runs, dir, "runs");
            lm_exp_path(run_dir, runs, a->id);
            lm_exp_run_discard(run_dir);
            if (log) fprintf(log, "--force: run %s had other options (%s): discarded, starts afresh\n", a->id, key);
            discarded++;
        }
    (void)discarded;
    return 0;
}

void lm_exp_print_plan(const LmExpPlan *p, const char *dir, FILE *f) {
    if (p->set.exp == LM_EXP_SWEEP)
        fprintf(f, "# sweep %s: %d runs\n", p->name, p->n);
    else
        fprintf(f, "# %s experiment, %s scale: %d runs\n", p->name, lm_scale_name(p->set.scale), p->n);
    for (int i = 0; i < p->n; i++) {
        const LmExpRun *r = &p->runs[i];
        char flags[LM_EXP_MAX_OPTS][40];
        const char *argv[2 * LM_EXP_MAX_OPTS];
        int n = lm_exp_train_argv(r, flags, argv, 2 * LM_EXP_MAX_OPTS);
        fprintf(f, "%-4d %-40s lmrnn train", i, r->id);
        for (int a = 0; a < n; a++) fprintf(f, " %s", argv[a]);
        fprintf(f, " --out %s/runs/%s --quiet --no-plot\n", dir ? dir : "DIR", r->id);
    }
}

static int file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

/* Rank 0's part before running: reconcile with the directory's plan and save this one. */
static int prepare_dir(const LmExpPlan *plan, const char *dir, const LmDriveOptions *o) {
    char path[LM_EXP_PATH];
    lm_exp_path(path, dir, "plan.json");
    if (file_exists(path)) {
        LmExpPlan old;
        if (lm_exp_plan_load(path, &old) != 0) return -1;
        int rc = lm_exp_plan_reconcile(&old, plan, dir, o->force, o->quiet ? NULL : stdout);
        /* A Slurm array task leaves the plan as the emitting command wrote it (tasks run at once). */
        int same = old.n == plan->n;
        lm_exp_plan_free(&old);
        if (rc) return -1;
        if (o->one_run && same) return 0;
    }
    if (lm_mkdir_p(dir) != 0 || lm_exp_plan_save(plan, path) != 0) return -1;
    return 0;
}

static int drive_locked(const LmExpPlan *plan, const char *dir, const LmDriveOptions *o);

int lm_exp_drive(const LmExpPlan *plan, const char *dir, const LmDriveOptions *o) {
    if (o->one_run && lm_dist_size() > 1) {
        fprintf(stderr, "lmrnn: --index runs one run in one process; do not start it under mpirun\n");
        return 2;
    }
    /* One driver per experiment directory: a second one would start the same runs (each run's `train`
     * also locks its own run directory). A single --index run does not take it: a Slurm array runs many
     * of those side by side. */
    int lock = lm_dist_rank() == 0 && !o->one_run;
    if (lock && (lm_mkdir_p(dir) != 0 || lm_dir_lock(dir) != 0)) {
        fprintf(stderr, "lmrnn: %s\n", lm_err_msg());
        lm_exp_release_ranks();
        return 1;
    }
    int rc = drive_locked(plan, dir, o);
    if (lock) lm_dir_unlock(dir);
    return rc;
}

static int drive_locked(const LmExpPlan *plan, const char *dir, const LmDriveOptions *o) {
    int rank0 = lm_dist_rank() == 0;
    int jobs = o->jobs ? o->jobs : lm_dist_size() > 1 ? 1 : lm_exp_default_jobs();
    if (rank0 && prepare_dir(plan, dir, o) != 0) {
        fprintf(stderr, "lmrnn: %s\n", lm_err_msg());
        lm_exp_release_ranks();
        return 1;
    }
    LmRunnerOptions ro = {jobs, NULL, !o->quiet, o->one_run, o->index};
    int failed = lm_exp_execute(plan, dir, &ro);
    if (failed < 0) {
        fprintf(stderr, "lmrnn: %s\n", lm_err_msg());
        return 1;
    }
    if (!rank0) return 0;
    /* The report covers whatever finished, also when some runs failed; an array task leaves it to
     * `--report` after the array. */
    if (!o->one_run) {
        if (lm_exp_report(dir, o->quiet ? NULL : stdout) != 0) {
            fprintf(stderr, "lmrnn: %s\n", lm_err_msg());
            return 1;
        }
        char summary[LM_EXP_PATH], rep[LM_EXP_PATH];
        lm_exp_path(rep, dir, "report");
        lm_exp_path(summary, rep, "summary.md");
        printf("report: %s\n", summary);
    }
    if (failed > 0) {
        fprintf(stderr, "lmrnn: %d run%s failed (see above); re-run the same command to retry\n", failed,
                failed > 1 ? "s" : "");
        return 1;
    }
    return 0;
}
