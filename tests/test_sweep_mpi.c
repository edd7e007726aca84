/* Sweeps over MPI ranks (built only when mpicc is found): `mpirun -np 3 build/lmrnn-mpi sweep` on a
 * shared directory does every run exactly once, with results bit-identical to the same plan run in one
 * process; after a worker rank is killed, the same command resumes and completes the sweep, again with
 * identical results. */
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include "check.h"
#include "run_helpers.h"
#include "experiment/plan.h"

static char mpi_bin[PATH_MAX];

/* Every "loss" of the eval records in a run's log, as text: equal text = bit-identical training. */
static char *eval_losses(const char *run_dir) {
    char path[PATH_MAX];
    pathf(path, "%s/log.jsonl", run_dir);
    char *text = read_text(path);
    if (!text) return NULL;
    size_t cap = strlen(text) + 1, n = 0;
    char *out = calloc(cap, 1);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strstr(line, "\"kind\":\"eval\"")) continue;
        char *l = strstr(line, "\"loss\":");
        if (!l) continue;
        size_t k = strcspn(l, ",}");
        memcpy(out + n, l, k);
        n += k;
        out[n++] = ';';
    }
    free(text);
    return out;
}

/* mpirun -np K lmrnn-mpi sweep PLAN --out DIR [--quiet]; returns the pid (background) or the status. */
static pid_t start_mpirun(const char *log, int ranks, const char *plan, const char *dir) {
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
        setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
        setenv("OMPI_MCA_btl", "self,vader", 1);   /* one machine: shared memory only */
        char np[16];
        snprintf(np, sizeof np, "%d", ranks);
        execlp("mpirun", "mpirun", "--oversubscribe", "--allow-run-as-root", "-np", np, mpi_bin, "sweep", plan,
               "--out", dir, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int wait_status(pid_t pid) {
    int status;
    if (waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int run_mpirun(const char *log, int ranks, const char *plan, const char *dir) {
    return wait_status(start_mpirun(log, ranks, plan, dir));
}

/* The same plan in one process: the MPI build without mpirun. */
static int run_local(const char *log, const char *plan, const char *dir) {
    snprintf(lmrnn_bin, sizeof lmrnn_bin, "%s", mpi_bin);
    const char *args[] = {"sweep", plan, "--out", dir, "--jobs", "1", "--quiet", NULL};
    return run_lmrnn(log, args);
}

static int count_in(const char *path, const char *needle) {
    char *s = read_text(path);
    int n = 0;
    for (char *p = s; p && (p = strstr(p, needle)); p += strlen(needle)) n++;
    free(s);
    return n;
}

/* Runs of a plan directory: every one DONE, started afresh exactly once, and with the losses of `ref`. */
static void check_runs(const char *dir, const char *ref, int allow_resume) {
    LmExpPlan p;
    char path[PATH_MAX];
    pathf(path, "%s/plan.json", dir);
    CHECK(lm_exp_plan_load(path, &p) == 0);
    for (int i = 0; i < p.n; i++) {
        char rd[PATH_MAX], rr[PATH_MAX];
        pathf(rd, "%s/runs/%s", dir, p.runs[i].id);
        pathf(rr, "%s/runs/%s", ref, p.runs[i].id);
        pathf(path, "%s/DONE", rd);
        CHECK(exists(path), "%s not done", p.runs[i].id);
        pathf(path, "%s/stdout.log", rd);
        /* Without a kill every run starts once and never resumes (one rank per run). After a kill a run
         * that had no checkpoint yet starts again, which check_untouched covers. */
        if (!allow_resume) {
            CHECK(count_in(path, "### lmrnn experiment: start") == 1, "%s started %d times", p.runs[i].id,
                  count_in(path, "### lmrnn experiment: start"));
            CHECK(count_in(path, "resume run") == 0);
        }
        char *a = eval_losses(rd), *b = eval_losses(rr);
        CHECK(a && b && a[0] && !strcmp(a, b), "%s: %s vs %s", p.runs[i].id, a ? a : "-", b ? b : "-");
        free(a);
        free(b);
    }
    lm_exp_plan_free(&p);
}

static void test_mpi_sweep(void) {
    char plan[PATH_MAX], dir[PATH_MAX], ref[PATH_MAX], log[PATH_MAX];
    pathf(plan, "%s/plan.json", tmp_root);
    write_text(plan, "{\"name\": \"mpi\", \"base\": {\"battery\": \"yang20\", \"hidden\": 16, \"batch\": 2, \"window\": 50,"
                     " \"steps\": 30, \"eval_every\": 10, \"eval_trials\": 2, \"checkpoint_every\": 5},"
                     " \"grid\": {\"lr\": [0.001, 0.003, 0.01]}, \"zip\": {\"mask\": [\"diag\", \"full\"]}}");
    pathf(ref, "%s/local", tmp_root);
    pathf(log, "%s/local.log", tmp_root);
    CHECK(run_local(log, plan, ref) == 0);
    pathf(dir, "%s/mpi", tmp_root);
    pathf(log, "%s/mpi.log", tmp_root);
    int rc = run_mpirun(log, 3, plan, dir);
    CHECK(rc == 0, "mpirun exit %d", rc);
    if (rc) show_log(log);
    CHECK(file_has(log, "1 job + 2 MPI ranks") && file_has(log, "(rank 1)") && file_has(log, "(rank 2)"));
    CHECK(file_has(log, "6 runs done"));
    check_runs(dir, ref, 0);
    /* Again: nothing left to do. */
    CHECK(run_mpirun(log, 3, plan, dir) == 0 && file_has(log, "6 finished"));
}

/* The pid of the lmrnn-mpi process of MPI rank `rank` whose command line names `dir`; 0 if none. */
static pid_t rank_pid(int rank, const char *dir) {
    DIR *d = opendir("/proc");
    pid_t found = 0;
    struct dirent *e;
    char want[32];
    snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", rank);
    while (d && !found && (e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char path[PATH_MAX], buf[8192];
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        int ours = 0;
        for (size_t i = 0; i < n; i += strlen(buf + i) + 1) {
            buf[n] = '\0';
            if (!strcmp(buf + i, dir)) ours = 1;
        }
        if (!ours || !strstr(buf, "lmrnn-mpi")) continue;
        snprintf(path, sizeof path, "/proc/%s/environ", e->d_name);
        f = fopen(path, "rb");
        if (!f) continue;
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        for (size_t i = 0; i < n; i += strlen(buf + i) + 1) {
            buf[n] = '\0';
            if (!strcmp(buf + i, want)) found = (pid_t)atoi(e->d_name);
        }
    }
    if (d) closedir(d);
    return found;
}

static int count_done(const char *dir) {
    char path[PATH_MAX];
    pathf(path, "%s/runs", dir);
    DIR *d = opendir(path);
    int k = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[PATH_MAX];
        pathf(p, "%s/runs/%s/DONE", dir, e->d_name);
        k += exists(p);
    }
    if (d) closedir(d);
    return k;
}

static void test_kill_a_rank_and_resume(void) {
    char plan[PATH_MAX], dir[PATH_MAX], ref[PATH_MAX], log[PATH_MAX];
    pathf(plan, "%s/long.json", tmp_root);
    /* Runs long enough (a few hundred ms each) that the kill lands while ranks are working. */
    write_text(plan, "{\"name\": \"kill\", \"base\": {\"battery\": \"yang20\", \"hidden\": 16, \"batch\": 2, \"window\": 50,"
                     " \"steps\": 400, \"eval_every\": 100, \"eval_trials\": 2, \"checkpoint_every\": 20},"
                     " \"grid\": {\"lr\": [0.001, 0.003, 0.01]}, \"zip\": {\"mask\": [\"diag\", \"full\"]}}");
    pathf(ref, "%s/long-local", tmp_root);
    pathf(log, "%s/long-local.log", tmp_root);
    CHECK(run_local(log, plan, ref) == 0);
    pathf(dir, "%s/long-mpi", tmp_root);
    pathf(log, "%s/long-mpi.log", tmp_root);
    pid_t mpirun = start_mpirun(log, 3, plan, dir);
    /* Wait for rank 1 to be at work (its first run has a checkpoint), then kill it. */
    pid_t victim = 0;
    for (int tries = 0; tries < 1200 && !victim; tries++) {
        struct timespec nap = {0, 50000000};
        nanosleep(&nap, NULL);
        char ck[PATH_MAX];
        pathf(ck, "%s/runs/yang20-full-lr0.001-s1/checkpoint.npz", dir);
        if (exists(ck)) victim = rank_pid(1, dir);
    }
    CHECK(victim > 0, "rank 1 not found");
    if (victim > 0) kill(victim, SIGKILL);
    int rc = wait_status(mpirun);
    CHECK(rc != 0, "mpirun should report the killed rank (exit %d)", rc);
    int done_before = count_done(dir);
    CHECK(done_before < 6, "%d runs done before the restart", done_before);
    /* Runs finished before the kill are never run again: their logs stay as they were. */
    char ids[6][128];
    long sizes[6];
    int n_done = 0;
    LmExpPlan p;
    char path[PATH_MAX];
    pathf(path, "%s/plan.json", dir);
    CHECK(lm_exp_plan_load(path, &p) == 0 && p.n == 6);
    for (int i = 0; i < p.n && i < 6; i++) {
        pathf(path, "%s/runs/%s/DONE", dir, p.runs[i].id);
        if (!exists(path)) continue;
        pathf(path, "%s/runs/%s/stdout.log", dir, p.runs[i].id);
        struct stat st;
        snprintf(ids[n_done], sizeof ids[0], "%s", p.runs[i].id);
        sizes[n_done++] = stat(path, &st) == 0 ? (long)st.st_size : -1;
    }
    lm_exp_plan_free(&p);
    /* The same command again finishes the sweep; killed runs resume from their checkpoints. */
    rc = run_mpirun(log, 3, plan, dir);
    CHECK(rc == 0, "exit %d", rc);
    if (rc) show_log(log);
    CHECK(count_done(dir) == 6);
    check_runs(dir, ref, 1);
    for (int k = 0; k < n_done; k++) {
        struct stat st;
        pathf(path, "%s/runs/%s/stdout.log", dir, ids[k]);
        CHECK(stat(path, &st) == 0 && (long)st.st_size == sizes[k], "%s ran again", ids[k]);
    }
}

static void test_binary(void) {
    CHECK(access(mpi_bin, X_OK) == 0, "%s missing (make builds it when mpicc is found)", mpi_bin);
}

int main(int argc, char **argv) {
    char self[PATH_MAX];
    snprintf(self, sizeof self, "%s", argv[0]);
    snprintf(mpi_bin, sizeof mpi_bin, "%s/../lmrnn-mpi", dirname(self));
    char real[PATH_MAX];
    if (realpath(mpi_bin, real)) snprintf(mpi_bin, sizeof mpi_bin, "%s", real);
    snprintf(tmp_root, sizeof tmp_root, "/tmp/lmrnn-test-mpi-XXXXXX");
    if (!mkdtemp(tmp_root)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_binary);
    RUN(test_mpi_sweep);
    RUN(test_kill_a_rank_and_resume);
    if (getenv("LMRNN_TEST_KEEP"))
        printf("kept %s\n", tmp_root);
    else
        rm_rf(tmp_root);
    return CHECK_DONE();
}
