#include "experiment/runner.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "dist/dist.h"
#include "experiment/results.h"
#include "io/json.h"
#include "io/npz.h"
#include "train/config.h"
#include "util/number.h"
#include "util/err.h"

const char *lm_run_state_name(LmRunState s) {
    static const char *names[] = {"new", "resume", "extend", "done"};
    return names[s];
}

int lm_exp_default_jobs(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n >= 1 ? (int)n : 1;
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The step count a finished run was asked for, from its DONE marker; -1 if unreadable. */
static long done_steps(const char *marker) {
    cJSON *doc = lm_json_read(marker);
    if (!doc) return -1;
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(doc, "steps");
    long steps = cJSON_IsNumber(s) ? lm_double_to_long_or(s->valuedouble, 0, LONG_MAX, -1) : -1;
    cJSON_Delete(doc);
    return steps;
}

LmRunState lm_exp_run_state(const char *run_dir, long steps) {
    char path[LM_EXP_PATH];
    lm_exp_path(path, run_dir, "DONE");
    if (exists(path)) {
        long asked = done_steps(path);
        /* An unreadable marker is trusted as "done": never silently redo hours of work. */
        if (asked >= 0 && asked < steps) return LM_RUN_EXTEND;
        return LM_RUN_DONE;
    }
    char ev[LM_EXP_PATH];
    lm_exp_path(ev, run_dir, "eval.json");
    LmStopInfo stop;
    if (exists(ev) && lm_run_read_stop(run_dir, &stop) == 0 && lm_stop_is_final(&stop)) {
        /* The child finished but the driver did not get to write the marker. */
        long asked = !strcmp(stop.reason, "max_steps") ? stop.step : steps;
        if (asked < steps) return LM_RUN_EXTEND;
        lm_exp_mark_done(run_dir, asked, stop.wall);
        return LM_RUN_DONE;
    }
    lm_exp_path(path, run_dir, "checkpoint.npz");
    /* A checkpoint at the final step also resumes: train --resume then writes the missing stop record
     * and eval.json. */
    return exists(path) ? LM_RUN_RESUME : LM_RUN_NEW;
}

int lm_exp_mark_done(const char *run_dir, long steps, double wall_seconds) {
    char path[LM_EXP_PATH];
    lm_exp_path(path, run_dir, "DONE");
    char text[256];
    int n = snprintf(text, sizeof text, "{\"steps\": %ld, \"exit\": 0, \"child_wall\": %.3f, \"time\": %ld}\n",
                     steps, wall_seconds, (long)time(NULL));
    return lm_write_file_atomic(path, text, (size_t)n);
}

/* ---------------------------------------------------------------- children */

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) { interrupted = sig; }

int lm_exp_train_argv(const LmExpRun *r, char flags[][40], const char **argv, int max) {
    int n = 0;
    for (int i = 0; i < r->n_opts && n + 2 <= max; i++) {
        const LmExpOption *o = &r->opts[i];
        char *f = flags[i];
        snprintf(f, 40, "--%s", o->key);
        for (char *c = f + 2; *c; c++)
            if (*c == '_') *c = '-';
        if (lm_train_config_is_switch(o->key)) {
            if (!strcmp(o->value, "true") || !strcmp(o->value, "1") || !strcmp(o->value, "yes")) argv[n++] = f;
            continue;
        }
        argv[n++] = f;
        argv[n++] = o->value;
    }
    return n;
}

/* Last non-empty line of a text file, for failure reports. */
static void last_line(const char *path, char *out, size_t n) {
    out[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f) return;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        /* A progress display rewrites its line with \r: keep the last segment. */
        char *cr = strrchr(line, '\r');
        const char *text = cr ? cr + 1 : line;
        if (*text) {
            size_t k = strlen(text) < n - 1 ? strlen(text) : n - 1;
            memcpy(out, text, k);
            out[k] = '\0';
        }
    }
    fclose(f);
}

/* Fork + exec `exe train ...` with stdout/stderr appended to run_dir/stdout.log. */
static pid_t spawn(const char *exe, const LmExpRun *r, const char *run_dir, LmRunState state) {
    char log[LM_EXP_PATH];
    lm_exp_path(log, run_dir, "stdout.log");
    char steps[32], flags[LM_EXP_MAX_OPTS][40];
    snprintf(steps, sizeof steps, "%ld", r->steps);
    const char *threads = lm_exp_run_option(r, "threads");
    const char *argv[2 * LM_EXP_MAX_OPTS + 16];
    int n = 0;
    argv[n++] = exe;
    argv[n++] = "train";
    if (state == LM_RUN_NEW) {
        n += lm_exp_train_argv(r, flags, argv + n, 2 * LM_EXP_MAX_OPTS);
        argv[n++] = "--out";
        argv[n++] = run_dir;
    } else {
        argv[n++] = "--resume";
        argv[n++] = run_dir;
        argv[n++] = "--steps";
        argv[n++] = steps;
        argv[n++] = "--threads";
        argv[n++] = threads ? threads : "1";
    }
    argv[n++] = "--quiet";
    argv[n++] = "--no-plot";
    argv[n] = NULL;

    pid_t parent = getpid();
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        lm_err_set("fork: %s", strerror(errno));
        return -1;
    }
    if (pid > 0) return pid;
    /* Child: own process group (a terminal ^C reaches only the driver, which forwards it once), and
     * SIGTERM when the driver dies, so no orphan keeps training behind a restarted driver. */
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) _exit(126);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    char header[256];
    int hn = snprintf(header, sizeof header, "### lmrnn experiment: %s run %s (%ld steps)\n",
                      state == LM_RUN_NEW ? "start" : "resume", r->id, r->steps);
    if (write(1, header, (size_t)hn) < 0) _exit(126);
    setenv("OMP_NUM_THREADS", threads ? threads : "1", 1);
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    execv(exe, (char *const *)argv);
    dprintf(2, "lmrnn experiment: cannot execute %s: %s\n", exe, strerror(errno));
    _exit(127);
}

static void unlink_in(const char *run_dir, const char *const *files, int n) {
    char path[LM_EXP_PATH];
    for (int i = 0; i < n; i++) {
        lm_exp_path(path, run_dir, files[i]);
        unlink(path);
    }
}

int lm_exp_run_discard(const char *run_dir) {
    static const char *const files[] = {"DONE", "checkpoint.npz", "config.json", "log.jsonl", "eval.json", "eval.csv",
                                        "stdout.log"};
    unlink_in(run_dir, files, 7);
    return 0;
}

/* Make the run directory ready for what the run's state asks. */
static int prepare_run(const char *run_dir, LmRunState state) {
    if (lm_mkdir_p(run_dir) != 0) return -1;
    /* A run that never reached a checkpoint restarts cleanly. */
    static const char *const partial[] = {"config.json", "log.jsonl", "eval.json", "eval.csv"};
    static const char *const stale[] = {"DONE", "eval.json", "eval.csv"};
    if (state == LM_RUN_NEW) unlink_in(run_dir, partial, 4);
    if (state == LM_RUN_EXTEND) unlink_in(run_dir, stale, 3);
    return 0;
}

/* ---------------------------------------------------------------- the driver */

/* Where a run executes: a child of this process (pid), or a remote MPI rank. */
typedef struct {
    pid_t pid;      /* local child; 0 = free */
    int rank;       /* remote rank; 0 = local slot */
    int busy;
    int run;
    double started;
} Slot;

typedef struct {
    const LmExpPlan *plan;
    const LmRunnerOptions *opt;
    const char *exe;
    char runs_dir[LM_EXP_PATH];
    LmRunState *state;
    int first, last;      /* runs [first, last) are this invocation's */
    int next, todo, finished, failed, running;
    double t0, run_time_sum;
    int run_time_n, parallel;
} Driver;

enum { TAG_WORK = 1, TAG_DONE = 2 };

static int driver_init(Driver *d, const LmExpPlan *plan, const char *dir, const LmRunnerOptions *opt) {
    memset(d, 0, sizeof *d);
    d->plan = plan;
    d->opt = opt;
    d->exe = opt->exe ? opt->exe : "/proc/self/exe";
    lm_exp_path(d->runs_dir, dir, "runs");
    if (lm_mkdir_p(d->runs_dir) != 0) return -1;
    d->first = 0;
    d->last = plan->n;
    if (opt->one_run) {
        if (opt->index < 0 || opt->index >= plan->n) {
            lm_err_set("--index %d is out of range: the plan has runs 0..%d", opt->index, plan->n - 1);
            return -1;
        }
        d->first = opt->index;
        d->last = opt->index + 1;
    }
    d->state = lm_malloc(sizeof(LmRunState) * (size_t)(plan->n ? plan->n : 1));
    int counts[LM_N_RUN_STATES] = {0};
    char run_dir[LM_EXP_PATH];
    /* Only the scheduling rank looks at the run directories (ranks > 0 are told each run's state). */
    for (int i = d->first; i < d->last && lm_dist_rank() == 0; i++) {
        lm_exp_path(run_dir, d->runs_dir, plan->runs[i].id);
        d->state[i] = lm_exp_run_state(run_dir, plan->runs[i].steps);
        counts[d->state[i]]++;
    }
    d->next = d->first;
    d->todo = d->last - d->first - counts[LM_RUN_DONE];
    d->t0 = now_seconds();
    if (opt->verbose && lm_dist_rank() == 0) {
        printf("%s %s: %d runs: %d finished, %d to resume, %d to extend, %d to start", plan->set.exp == LM_EXP_SWEEP ?
               "sweep" : "experiment", plan->name, d->last - d->first, counts[LM_RUN_DONE], counts[LM_RUN_RESUME],
               counts[LM_RUN_EXTEND], counts[LM_RUN_NEW]);
        fflush(stdout);
    }
    return 0;
}

/* The next run to do, prepared; -1 when none is left; -2 on error. */
static int next_run(Driver *d) {
    while (d->next < d->last) {
        int i = d->next++;
        if (d->state[i] == LM_RUN_DONE) continue;
        char run_dir[LM_EXP_PATH];
        lm_exp_path(run_dir, d->runs_dir, d->plan->runs[i].id);
        return prepare_run(run_dir, d->state[i]) == 0 ? i : -2;
    }
    return -1;
}

static void announce(Driver *d, int i, int rank) {
    if (!d->opt->verbose) return;
    char where[32] = "";
    if (rank > 0) snprintf(where, sizeof where, " (rank %d)", rank);
    printf("[%d/%d] %-6s %s%s\n", d->finished + d->running, d->todo,
           d->state[i] == LM_RUN_NEW ? "start" : lm_run_state_name(d->state[i]), d->plan->runs[i].id, where);
    fflush(stdout);
}

/* A run's process ended with `status` after `wall` seconds: mark it done, or report the failure. */
static void finish_run(Driver *d, int i, int status, double wall) {
    const LmExpRun *r = &d->plan->runs[i];
    char run_dir[LM_EXP_PATH], ev[LM_EXP_PATH];
    lm_exp_path(run_dir, d->runs_dir, r->id);
    lm_exp_path(ev, run_dir, "eval.json");
    d->finished++;
    /* A child stopped by a signal also exits 0 (after its checkpoint) and may leave the eval.json of
     * its last evaluation: only a final stop record that is not "signal" means the run is complete. */
    LmStopInfo stop;
    int exited0 = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    int complete = lm_run_read_stop(run_dir, &stop) == 0 && lm_stop_is_final(&stop);
    if (exited0 && exists(ev) && complete) {
        lm_exp_mark_done(run_dir, r->steps, wall);
        d->run_time_sum += wall;
        d->run_time_n++;
        if (d->opt->verbose) {
            int left = d->todo - d->finished;
            double eta = d->run_time_sum / d->run_time_n * ((left + d->parallel - 1) / d->parallel);
            printf("[%d/%d] done   %s in %.0f s: mean perf %.3f; %d left, ETA %.0f min\n", d->finished, d->todo, r->id,
                   wall, lm_run_read_eval_mean(run_dir), left, eta / 60);
            fflush(stdout);
        }
        return;
    }
    if (interrupted) {
        if (d->opt->verbose) printf("[%d/%d] stopped %s (checkpointed; resumes on restart)\n", d->finished, d->todo, r->id);
        return;
    }
    d->failed++;
    char why[64], log[LM_EXP_PATH], last[512];
    if (WIFEXITED(status))
        snprintf(why, sizeof why, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(why, sizeof why, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(why, sizeof why, "status %d", status);
    if (exited0) snprintf(why, sizeof why, complete ? "no eval.json" : "stopped early, by a signal");
    lm_exp_path(log, run_dir, "stdout.log");
    last_line(log, last, sizeof last);
    fprintf(stderr, "lmrnn experiment: run %s failed (%s): %s\n  log: %s\n", r->id, why, last[0] ? last : "(empty log)",
            log);
    fflush(stderr);
}

static void nap(void) {
    struct timespec t = {0, 50000000};
    nanosleep(&t, NULL);
}

/* Start runs on free slots (local children, or remote ranks through a TAG_WORK message). 0 or -1. */
static int fill_slots(Driver *d, Slot *slots, int n_slots) {
    for (int s = 0; s < n_slots && !interrupted; s++) {
        if (slots[s].busy) continue;
        int i = next_run(d);
        if (i == -1) return 0;
        if (i < 0) return -1;
        const LmExpRun *r = &d->plan->runs[i];
        if (slots[s].rank > 0) {
            long msg[2] = {i, d->state[i]};
            if (lm_dist_send(slots[s].rank, TAG_WORK, msg, 2) != 0) return -1;
        } else {
            char run_dir[LM_EXP_PATH];
            lm_exp_path(run_dir, d->runs_dir, r->id);
            pid_t pid = spawn(d->exe, r, run_dir, d->state[i]);
            if (pid < 0) return -1;
            slots[s].pid = pid;
        }
        slots[s].busy = 1;
        slots[s].run = i;
        slots[s].started = now_seconds();
        d->running++;
        announce(d, i, slots[s].rank);
    }
    return 0;
}

/* Collect one finished run if any: 1 if one finished, 0 if none, -1 on error. */
static int reap(Driver *d, Slot *slots, int n_slots) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno != EINTR && errno != ECHILD) {
        lm_err_set("waitpid: %s", strerror(errno));
        return -1;
    }
    for (int s = 0; pid > 0 && s < n_slots; s++)
        if (slots[s].busy && slots[s].rank == 0 && slots[s].pid == pid) {
            slots[s].busy = 0;
            slots[s].pid = 0;
            d->running--;
            finish_run(d, slots[s].run, status, now_seconds() - slots[s].started);
            return 1;
        }
    long msg[3];
    int src;
    int got = lm_dist_poll(-1, TAG_DONE, msg, 3, &src);
    if (got < 0) return -1;
    for (int s = 0; got && s < n_slots; s++)
        if (slots[s].busy && slots[s].rank == src && slots[s].run == (int)msg[0]) {
            slots[s].busy = 0;
            d->running--;
            finish_run(d, (int)msg[0], (int)msg[1], 1e-3 * (double)msg[2]);
            return 1;
        }
    return 0;
}

static void stop_local_children(Slot *slots, int n_slots) {
    for (int s = 0; s < n_slots; s++)
        if (slots[s].busy && slots[s].rank == 0) kill(slots[s].pid, SIGTERM);
    for (int s = 0; s < n_slots; s++)
        if (slots[s].busy && slots[s].rank == 0) waitpid(slots[s].pid, NULL, 0);
}

/* Rank 0 (or the only process): `jobs` local slots plus one slot per other rank. */
static int schedule(Driver *d) {
    int ranks = lm_dist_size(), jobs = d->opt->jobs > 0 ? d->opt->jobs : 1;
    int n_slots = jobs + ranks - 1;
    Slot *slots = lm_calloc((size_t)n_slots, sizeof(Slot));
    for (int s = jobs; s < n_slots; s++) slots[s].rank = s - jobs + 1;
    d->parallel = n_slots;
    if (d->opt->verbose) {
        printf("; %d job%s", jobs, jobs > 1 ? "s" : "");
        if (ranks > 1) printf(" + %d MPI rank%s", ranks - 1, ranks > 2 ? "s" : "");
        printf("\n");
        fflush(stdout);
    }
    int rc = 0, forwarded = 0;
    for (;;) {
        if (fill_slots(d, slots, n_slots) != 0) {
            rc = -1;
            break;
        }
        if (d->running == 0) break;
        if (interrupted && !forwarded) {
            /* Poll rather than block, so a signal is forwarded within 0.05 s. Remote ranks get their
             * own signal from mpirun. */
            for (int s = 0; s < n_slots; s++)
                if (slots[s].busy && slots[s].rank == 0) kill(slots[s].pid, SIGTERM);
            forwarded = 1;
        }
        int got = reap(d, slots, n_slots);
        if (got < 0) {
            rc = -1;
            break;
        }
        if (!got) nap();
    }
    if (rc) stop_local_children(slots, n_slots);
    lm_exp_release_ranks();
    free(slots);
    return rc;
}

/* Ranks > 0: run what rank 0 hands out, one at a time, until it says stop. */
static int work(Driver *d) {
    for (;;) {
        long msg[2];
        int got = lm_dist_poll(0, TAG_WORK, msg, 2, NULL);
        if (got < 0) return -1;
        if (!got) {
            nap();
            continue;
        }
        if (msg[0] < 0) return 0;
        int i = (int)msg[0];
        if (i >= d->plan->n) {
            lm_err_set("rank 0 sent run %d of a %d-run plan (ranks read different plans?)", i, d->plan->n);
            return -1;
        }
        const LmExpRun *r = &d->plan->runs[i];
        char run_dir[LM_EXP_PATH];
        lm_exp_path(run_dir, d->runs_dir, r->id);
        double t = now_seconds();
        pid_t pid = spawn(d->exe, r, run_dir, (LmRunState)msg[1]);
        if (pid < 0) return -1;
        int status = 0, forwarded = 0;
        while (waitpid(pid, &status, WNOHANG) == 0) {
            if (interrupted && !forwarded) {
                kill(pid, SIGTERM);
                forwarded = 1;
            }
            nap();
        }
        long done[3] = {i, status, (long)(1e3 * (now_seconds() - t))};
        if (lm_dist_send(0, TAG_DONE, done, 3) != 0) return -1;
    }
}

void lm_exp_release_ranks(void) {
    long stop[2] = {-1, 0};
    if (lm_dist_rank() == 0)
        for (int r = 1; r < lm_dist_size(); r++) lm_dist_send(r, TAG_WORK, stop, 2);
}

int lm_exp_execute(const LmExpPlan *plan, const char *dir, const LmRunnerOptions *opt) {
    Driver d;
    if (driver_init(&d, plan, dir, opt) != 0) {
        free(d.state);
        return -1;
    }

    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;   /* no SA_RESTART: waitpid returns EINTR */
    sigemptyset(&sa.sa_mask);
    interrupted = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    int rc = lm_dist_rank() == 0 ? schedule(&d) : work(&d);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    free(d.state);
    if (opt->verbose && rc == 0 && !interrupted && lm_dist_rank() == 0)
        printf("%s: %d runs done in %.1f min, %d failed\n", plan->name, d.finished, (now_seconds() - d.t0) / 60,
               d.failed);
    if (interrupted) {
        lm_err_set("interrupted by signal %d; finished runs are kept, the others resume on restart", (int)interrupted);
        return -1;
    }
    return rc ? -1 : d.failed;
}
