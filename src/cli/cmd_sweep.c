/* lmrnn sweep PLAN: a user's plan of training runs (docs/sweeps.md) on the experiment runner — locally,
 * over MPI ranks (build/lmrnn-mpi under mpirun), or as a Slurm job array (--emit slurm, --index). */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli/commands.h"
#include "dist/dist.h"
#include "experiment/drive.h"
#include "experiment/report.h"
#include "experiment/results.h"
#include "experiment/sweep.h"
#include "io/npz.h"
#include "util/err.h"
#include "util/options.h"

static const char usage[] =
    "usage: lmrnn sweep PLAN.json --out DIR [options]\n"
    "       lmrnn sweep PLAN.json --report DIR\n"
    "       mpirun -np K build/lmrnn-mpi sweep PLAN.json --out DIR      (or: lmrnn sweep ... --mpi K)\n"
    "       lmrnn sweep PLAN.json --out DIR --emit slurm [--array-max M] [--sbatch-opts '...'] [--submit]\n"
    "\n"
    "Runs every combination of the plan's grid and zip axes for each seed as an independent `lmrnn train`\n"
    "run in DIR/runs/<id>/, J at a time, resumable, then writes DIR/report/ (summary.md, runs.csv, learning\n"
    "curves, a figure per axis). The plan format is described in docs/sweeps.md.\n"
    "\n"
    "options:\n"
    "  --out DIR          sweep directory (plan.json, runs/<id>/, report/); re-running resumes it\n"
    "  --steps N          optimiser steps of every run (larger N extends finished runs)\n"
    "  --seeds K          seeds 1..K per condition (overrides the plan's seeds; more seeds add runs)\n"
    "  --jobs J           training processes at a time (default: number of cores; 1 per rank under MPI)\n"
    "  --plan             print the runs (with their --index) and train commands, run nothing\n"
    "  --report DIR       only rebuild DIR/report from the runs present (same as --out DIR --report-only)\n"
    "  --report-only      with --out: only rebuild the report\n"
    "  --force            runs of DIR whose options changed are discarded and start afresh (default: refuse)\n"
    "  --index I          run only run I (0-based, as --plan lists them): one Slurm array task; no report\n"
    "  --mpi K            start `mpirun -np K lmrnn-mpi sweep ...` with the other options\n"
    "  --emit slurm       write DIR/sweep.sbatch, a job array with one task per run, and exit\n"
    "  --array-max M      with --emit: at most M array tasks running at once (#SBATCH --array=...%M)\n"
    "  --sbatch-opts S    with --emit: extra sbatch options, e.g. '--partition=cpu --time=02:00:00'\n"
    "  --submit           with --emit: submit the script with sbatch\n"
    "  --quiet            no per-run progress lines\n";

typedef struct {
    const char *plan, *out, *report, *emit, *sbatch_opts;
    int seeds, jobs, array_max, mpi, report_only, plan_only, quiet, force, submit;
    int64_t steps, index;
    int one_run;
} SweepArgs;

#define OPT(name, type, field, lo, hi, help) \
    {name, type, offsetof(SweepArgs, field), 0, lo, hi, 0, NULL, help, NULL, NULL, NULL, NULL, 0}
static const LmOption sweep_opts[] = {
    OPT("out", LM_OPT_STRING, out, 0, 0, "sweep directory"),
    OPT("report", LM_OPT_STRING, report, 0, 0, "only (re)write the report of this directory"),
    OPT("seeds", LM_OPT_INT, seeds, 1, 1024, "seeds 1..K per condition"),
    OPT("jobs", LM_OPT_INT, jobs, 1, 256, "training processes at a time"),
    OPT("steps", LM_OPT_INT64, steps, 1, 1000000000, "optimiser steps per run"),
    OPT("index", LM_OPT_INT64, index, 0, 100000000, "run only this run (0-based)"),
    OPT("mpi", LM_OPT_INT, mpi, 1, 100000, "start mpirun with this many ranks"),
    OPT("emit", LM_OPT_STRING, emit, 0, 0, "write a job script: slurm"),
    OPT("array_max", LM_OPT_INT, array_max, 1, 1000000, "at most M array tasks at once"),
    OPT("sbatch_opts", LM_OPT_STRING, sbatch_opts, 0, 0, "extra sbatch options"),
    OPT("submit", LM_OPT_BOOL, submit, 0, 0, "submit the script with sbatch"),
    OPT("plan", LM_OPT_BOOL, plan_only, 0, 0, "print the runs only"),
    OPT("report_only", LM_OPT_BOOL, report_only, 0, 0, "only (re)write the report"),
    OPT("force", LM_OPT_BOOL, force, 0, 0, "discard runs whose options changed"),
    OPT("quiet", LM_OPT_BOOL, quiet, 0, 0, "no per-run progress lines"),
};
static const LmOptTable sweep_table = {"sweep", sweep_opts, LM_OPTS_COUNT(sweep_opts)};

/* 0, or the exit status of a usage error (message printed); *help for --help. */
static int parse_args(int argc, char **argv, SweepArgs *s, int *help) {
    memset(s, 0, sizeof *s);
    LmOptScan *scan = lm_malloc(sizeof *scan);
    int prc = lm_opts_parse(&sweep_table, s, argc - 1, argv + 1, 0, scan);
    s->one_run = lm_opts_given(scan, "index");
    *help = scan->help;
    free(scan);
    if (prc != 0) return lm_opts_fail("sweep", LM_EXIT_USAGE);
    if (*help) return 0;
    s->plan = argv[0];
    if (s->report) {
        s->out = s->report;
        s->report_only = 1;
    }
    const char *problem = NULL;
    if (!s->out && !s->plan_only) problem = "--out DIR (or --report DIR) is required";
    else if (s->out && strlen(s->out) > LM_EXP_MAX_DIR) problem = "directory name longer than 3000 characters";
    else if (s->emit && strcmp(s->emit, "slurm")) problem = "--emit: only 'slurm' is supported";
    else if (!s->emit && (s->array_max || s->sbatch_opts || s->submit))
        problem = "--array-max, --sbatch-opts and --submit only apply to --emit slurm";
    else if ((s->emit || s->mpi) && s->one_run) problem = "--index runs one run; it does not combine with --emit or --mpi";
    else if (s->sbatch_opts && strpbrk(s->sbatch_opts, "\n\r`$;&|<>'\"\\"))
        problem = "--sbatch-opts: no quotes, newlines or shell syntax";
    if (problem) {
        fprintf(stderr, "lmrnn: sweep: %s\n", problem);
        return LM_EXIT_USAGE;
    }
    return 0;
}

/* Is `name` an executable in $PATH? */
static int in_path(const char *name) {
    const char *path = getenv("PATH");
    if (!path) return 0;
    char buf[4096];
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, ":");
        snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, name);
        if (access(buf, X_OK) == 0) return 1;
        p += n + (p[n] == ':');
    }
    return 0;
}

/* The path of a program next to this one (build/lmrnn -> build/lmrnn-mpi). */
static int sibling(const char *name, char *out, size_t n) {
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) return -1;
    self[len] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash) return -1;
    *slash = '\0';
    return snprintf(out, n, "%s/%s", self, name) < (int)n ? 0 : -1;
}

/* --mpi K: exec mpirun with this command line minus --mpi K. Returns only on failure. */
static int exec_mpirun(int argc, char **argv, int ranks) {
    char mpi_exe[PATH_MAX + 16];
    if (sibling("lmrnn-mpi", mpi_exe, sizeof mpi_exe) != 0 || access(mpi_exe, X_OK) != 0) {
        fprintf(stderr, "lmrnn: sweep --mpi: no MPI build of lmrnn next to this one (%s); install Debian openmpi-bin "
                        "libopenmpi-dev and run make (MPI=auto builds it when mpicc is found)\n",
                lm_dist_built() ? "this is it, but run it under mpirun" : "build/lmrnn-mpi");
        return 1;
    }
    if (!in_path("mpirun")) {
        fprintf(stderr, "lmrnn: sweep --mpi: mpirun not found in PATH (Debian: apt-get install openmpi-bin)\n");
        return 1;
    }
    char np[32];
    snprintf(np, sizeof np, "%d", ranks);
    char **args = lm_calloc((size_t)argc + 8, sizeof(char *));
    int n = 0;
    args[n++] = "mpirun";
    args[n++] = "-np";
    args[n++] = np;
    args[n++] = mpi_exe;
    args[n++] = "sweep";
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--mpi")) {
            i++;
            continue;
        }
        if (!strncmp(argv[i], "--mpi=", 6)) continue;
        args[n++] = argv[i];
    }
    args[n] = NULL;
    fflush(stdout);
    execvp("mpirun", args);
    fprintf(stderr, "lmrnn: sweep --mpi: cannot run mpirun: %s\n", strerror(errno));
    free(args);
    return 1;
}

/* A path made absolute (array tasks run in another working directory). */
static void absolute(const char *path, char *out, size_t n) {
    char cwd[PATH_MAX];
    int len = path[0] == '/' || !getcwd(cwd, sizeof cwd) ? snprintf(out, n, "%s", path)
                                                        : snprintf(out, n, "%s/%s", cwd, path);
    if (len < 0 || (size_t)len >= n) snprintf(out, n, "%s", path);   /* too long: keep it relative */
}

/* --emit slurm: DIR/sweep.sbatch. Exit status. */
static int emit_slurm(const SweepArgs *s, const LmExpPlan *plan) {
    char exe[PATH_MAX], plan_abs[LM_EXP_PATH], dir_abs[LM_EXP_PATH], logs[LM_EXP_PATH], path[LM_EXP_PATH];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) {
        fprintf(stderr, "lmrnn: cannot find this program's path\n");
        return 1;
    }
    exe[len] = '\0';
    absolute(s->plan, plan_abs, sizeof plan_abs);
    absolute(s->out, dir_abs, sizeof dir_abs);
    lm_exp_path(logs, dir_abs, "slurm");
    if (lm_mkdir_p(logs) != 0) goto fail;
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    if (!f) goto fail;
    fprintf(f, "#!/bin/bash\n# lmrnn sweep %s: %d runs as a Slurm job array, one run per task (docs/sweeps.md).\n"
               "# Submit: sbatch %s/sweep.sbatch   Afterwards: %s sweep %s --report %s\n",
            plan->name, plan->n, dir_abs, exe, plan_abs, dir_abs);
    fprintf(f, "#SBATCH --job-name=lmrnn-%s\n#SBATCH --array=0-%d", plan->name, plan->n - 1);
    if (s->array_max) fprintf(f, "%%%d", s->array_max);
    fprintf(f, "\n#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=1\n#SBATCH --output=%s/%%A_%%a.out\n", logs);
    if (s->sbatch_opts) {
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", s->sbatch_opts);
        for (char *tok = strtok(buf, " \t"); tok; tok = strtok(NULL, " \t")) fprintf(f, "#SBATCH %s\n", tok);
    }
    fprintf(f, "exec '%s' sweep '%s' --out '%s' --index \"$SLURM_ARRAY_TASK_ID\" --quiet", exe, plan_abs, dir_abs);
    if (s->steps) fprintf(f, " --steps %lld", (long long)s->steps);
    if (s->seeds) fprintf(f, " --seeds %d", s->seeds);
    if (s->force) fprintf(f, " --force");
    fprintf(f, "\n");
    fclose(f);
    lm_exp_path(path, dir_abs, "sweep.sbatch");
    int rc = lm_write_file_atomic(path, text, n);
    free(text);
    if (rc || chmod(path, 0755) != 0) goto fail;
    printf("wrote %s (%d array tasks)\n", path, plan->n);
    if (!s->submit) {
        printf("submit with: sbatch %s\nthen report with: %s sweep %s --report %s\n", path, exe, plan_abs, dir_abs);
        return 0;
    }
    if (!in_path("sbatch")) {
        fprintf(stderr, "lmrnn: sweep --submit: sbatch not found in PATH (is this a Slurm login node?)\n");
        return 1;
    }
    char cmd[LM_EXP_PATH + 32];
    snprintf(cmd, sizeof cmd, "sbatch '%s'", path);
    fflush(stdout);
    return system(cmd) == 0 ? 0 : 1;
fail:
    fprintf(stderr, "lmrnn: %s\n", lm_err_msg());
    return 1;
}

/* Save the plan in DIR before emitting, so array tasks and the report agree on the run indices. */
static int save_for_emit(const SweepArgs *s, const LmExpPlan *plan) {
    char path[LM_EXP_PATH];
    lm_exp_path(path, s->out, "plan.json");
    struct stat st;
    if (stat(path, &st) == 0) {
        LmExpPlan old;
        if (lm_exp_plan_load(path, &old) != 0) return -1;
        int rc = lm_exp_plan_reconcile(&old, plan, s->out, s->force, stdout);
        lm_exp_plan_free(&old);
        if (rc) return -1;
    }
    return lm_mkdir_p(s->out) == 0 && lm_exp_plan_save(plan, path) == 0 ? 0 : -1;
}

static int report_only(const SweepArgs *s) {
    if (lm_exp_report(s->out, s->quiet ? NULL : stdout) != 0) {
        fprintf(stderr, "lmrnn: %s\n", lm_err_msg());
        return 1;
    }
    return 0;
}

int lm_cmd_sweep(int argc, char **argv) {
    if (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc < 1 || argv[0][0] == '-') {
        fputs(usage, stderr);
        return 2;
    }
    SweepArgs s;
    int help = 0, rc = parse_args(argc, argv, &s, &help);
    if (rc) return rc;
    if (help) {
        fputs(usage, stdout);
        return LM_EXIT_OK;
    }
    if (s.mpi) return exec_mpirun(argc, argv, s.mpi);
    if (s.report_only) return report_only(&s);
    if (lm_dist_init(&argc, &argv) != 0) {
        fprintf(stderr, "lmrnn: %s\n", lm_err_msg());
        return 1;
    }
    LmSweepOverrides ov = {s.seeds, (long)s.steps};
    LmExpPlan plan;
    if (lm_sweep_load(s.plan, &ov, &plan) != 0) {
        fprintf(stderr, "lmrnn: %s\n", lm_err_msg());
        lm_dist_finalize();
        return 2;
    }
    if (s.plan_only) {
        if (lm_dist_rank() == 0) lm_exp_print_plan(&plan, s.out, stdout);
        rc = 0;
    } else if (s.emit) {
        if (save_for_emit(&s, &plan) != 0) {
            fprintf(stderr, "lmrnn: %s\n", lm_err_msg());
            rc = 1;
        } else
            rc = emit_slurm(&s, &plan);
    } else {
        LmDriveOptions o = {s.jobs, s.quiet, s.force, s.one_run, (int)s.index};
        rc = lm_exp_drive(&plan, s.out, &o);
    }
    lm_exp_plan_free(&plan);
    lm_dist_finalize();
    return rc;
}
