#include "experiment/runner.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "experiment/results.h"
#include "io/json.h"
#include "io/npz.h"
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
    long steps = cJSON_IsNumber(s) ? (long)s->valuedouble : -1;
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

typedef struct {
    pid_t pid;
    int run;
    LmRunState state;
    double started;
} Slot;

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
    char steps[32];
    snprintf(steps, sizeof steps, "%ld", r->steps);
    const char *argv[LM_EXP_MAX_ARGS + 16];
    int n = 0;
    argv[n++] = exe;
    argv[n++] = "train";
    if (state == LM_RUN_NEW) {
        for (int i = 0; i < r->n_args; i++) argv[n++] = r->args[i];
        argv[n++] = "--out";
        argv[n++] = run_dir;
    } else {
        argv[n++] = "--resume";
        argv[n++] = run_dir;
        argv[n++] = "--steps";
        argv[n++] = steps;
        argv[n++] = "--threads";
        argv[n++] = "1";
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
                      state == LM_RUN_NEW ? "start" : "resume", r->id,
                      r->steps);
    if (write(1, header, (size_t)hn) < 0) _exit(126);
    setenv("OMP_NUM_THREADS", "1", 1);
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    execv(exe, (char *const *)argv);
    dprintf(2, "lmrnn experiment: cannot execute %s: %s\n", exe, strerror(errno));
    _exit(127);
}

/* Remove what a run that never reached a checkpoint left behind, so it restarts cleanly. */
static void clear_partial(const char *run_dir) {
    static const char *files[] = {"config.json", "log.jsonl", "eval.json", "eval.csv"};
    char path[LM_EXP_PATH];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        lm_exp_path(path, run_dir, files[i]);
        unlink(path);
    }
}

int lm_exp_execute(const LmExpPlan *plan, const char *dir, const LmRunnerOptions *opt) {
    const char *exe = opt->exe ? opt->exe : "/proc/self/exe";
    int jobs = opt->jobs > 0 ? opt->jobs : 1;
    char runs_dir[LM_EXP_PATH];
    lm_exp_path(runs_dir, dir, "runs");
    if (lm_mkdir_p(runs_dir) != 0) return -1;

    int n = plan->n;
    LmRunState *state = lm_malloc(sizeof(LmRunState) * (size_t)(n ? n : 1));
    int counts[LM_N_RUN_STATES] = {0};
    char run_dir[LM_EXP_PATH];
    for (int i = 0; i < n; i++) {
        lm_exp_path(run_dir, runs_dir, plan->runs[i].id);
        state[i] = lm_exp_run_state(run_dir, plan->runs[i].steps);
        counts[state[i]]++;
    }
    int todo = n - counts[LM_RUN_DONE];
    if (opt->verbose) {
        printf("experiment %s (%s scale): %d runs: %d finished, %d to resume, %d to extend, %d to start",
               lm_experiment_name(plan->set.exp), lm_scale_name(plan->set.scale), n, counts[LM_RUN_DONE],
               counts[LM_RUN_RESUME], counts[LM_RUN_EXTEND], counts[LM_RUN_NEW]);
        printf("; %d job%s\n", jobs, jobs > 1 ? "s" : "");
        fflush(stdout);
    }

    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;   /* no SA_RESTART: waitpid returns EINTR */
    sigemptyset(&sa.sa_mask);
    interrupted = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    Slot *slots = lm_calloc((size_t)jobs, sizeof(Slot));
    int running = 0, next = 0, finished = 0, failed = 0, rc = 0, forwarded = 0;
    double t0 = now_seconds(), run_time_sum = 0;
    int run_time_n = 0;
    for (;;) {
        while (!interrupted && running < jobs && next < n) {
            int i = next++;
            if (state[i] == LM_RUN_DONE) continue;
            const LmExpRun *r = &plan->runs[i];
            lm_exp_path(run_dir, runs_dir, r->id);
            if (lm_mkdir_p(run_dir) != 0) {
                rc = -1;
                break;
            }
            if (state[i] == LM_RUN_NEW) clear_partial(run_dir);
            if (state[i] == LM_RUN_EXTEND) {
                static const char *stale[] = {"DONE", "eval.json", "eval.csv"};
                char path[LM_EXP_PATH];
                for (int k = 0; k < 3; k++) {
                    lm_exp_path(path, run_dir, stale[k]);
                    unlink(path);
                }
            }
            pid_t pid = spawn(exe, r, run_dir, state[i]);
            if (pid < 0) {
                rc = -1;
                break;
            }
            int s = 0;
            while (slots[s].pid) s++;
            slots[s] = (Slot){pid, i, state[i], now_seconds()};
            running++;
            if (opt->verbose) {
                printf("[%d/%d] %-6s %s\n", finished + running, todo,
                       state[i] == LM_RUN_NEW ? "start" : lm_run_state_name(state[i]), r->id);
                fflush(stdout);
            }
        }
        if (running == 0) break;
        /* Poll rather than block, so a signal that arrives between two checks is still forwarded
         * within 0.1 s (a blocking waitpid could miss it and wait for the children to finish). */
        if (interrupted && !forwarded) {
            for (int s = 0; s < jobs; s++)
                if (slots[s].pid) kill(slots[s].pid, SIGTERM);
            forwarded = 1;
        }
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid == 0 || (pid < 0 && errno == EINTR)) {
            struct timespec nap = {0, 100000000};
            nanosleep(&nap, NULL);
            continue;
        }
        if (pid < 0) {
            lm_err_set("waitpid: %s", strerror(errno));
            rc = -1;
            break;
        }
        int s = 0;
        while (s < jobs && slots[s].pid != pid) s++;
        if (s == jobs) continue;   /* not ours */
        Slot done = slots[s];
        slots[s].pid = 0;
        running--;
        finished++;
        const LmExpRun *r = &plan->runs[done.run];
        lm_exp_path(run_dir, runs_dir, r->id);
        double wall = now_seconds() - done.started;
        char ev[LM_EXP_PATH];
        lm_exp_path(ev, run_dir, "eval.json");
        /* A child stopped by a signal also exits 0 (after its checkpoint) and may leave the eval.json of
         * its last evaluation: only a final stop record that is not "signal" means the run is complete. */
        LmStopInfo stop;
        int exited0 = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        int complete = lm_run_read_stop(run_dir, &stop) == 0 && lm_stop_is_final(&stop);
        int ok = exited0 && exists(ev) && complete;
        if (ok) {
            lm_exp_mark_done(run_dir, r->steps, wall);
            run_time_sum += wall;
            run_time_n++;
            if (opt->verbose) {
                double perf = lm_run_read_eval_mean(run_dir);
                int left = todo - finished;
                double eta = run_time_n ? run_time_sum / run_time_n * ((left + jobs - 1) / jobs) : 0;
                printf("[%d/%d] done   %s in %.0f s: mean perf %.3f; %d left, ETA %.0f min\n", finished, todo,
                       r->id, wall, perf, left, eta / 60);
                fflush(stdout);
            }
        } else if (interrupted) {
            if (opt->verbose) printf("[%d/%d] stopped %s (checkpointed; resumes on restart)\n", finished, todo, r->id);
        } else {
            failed++;
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
            fprintf(stderr, "lmrnn experiment: run %s failed (%s): %s\n  log: %s\n", r->id, why,
                    last[0] ? last : "(empty log)", log);
            fflush(stderr);
        }
    }
    /* On a driver error, stop the children cleanly too. */
    if (running) {
        for (int s = 0; s < jobs; s++)
            if (slots[s].pid) kill(slots[s].pid, SIGTERM);
        for (int s = 0; s < jobs; s++)
            if (slots[s].pid) waitpid(slots[s].pid, NULL, 0);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    free(slots);
    free(state);
    if (opt->verbose && rc == 0 && !interrupted)
        printf("experiment %s: %d runs done in %.1f min, %d failed\n", lm_experiment_name(plan->set.exp), finished,
               (now_seconds() - t0) / 60, failed);
    if (interrupted) {
        lm_err_set("interrupted by signal %d; finished runs are kept, the others resume on restart",
                   (int)interrupted);
        return -1;
    }
    return rc ? -1 : failed;
}
