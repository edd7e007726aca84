/* Child processes for the tests that run the real program: stdout and stderr captured in DIR/TAG.out and
 * DIR/TAG.err, the exit status (or 128 + signal) and peak resident memory, the captured text, and the
 * CLI's error contract (the expected status and one "lmrnn: ..." line naming the problem). */
#ifndef LMRNN_TEST_PROC_H
#define LMRNN_TEST_PROC_H
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

/* Starts argv (argv[0] a path, or a name looked up on PATH); as_limit > 0 caps the address space. */
static inline pid_t proc_spawn(const char *dir, const char *tag, char *const *argv, long as_limit) {
    char o[512], e[512];
    snprintf(o, sizeof o, "%s/%s.out", dir, tag);
    snprintf(e, sizeof e, "%s/%s.err", dir, tag);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int fo = open(o, O_WRONLY | O_CREAT | O_TRUNC, 0644), fe = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fo, 1);
        dup2(fe, 2);
        if (as_limit > 0) {
            struct rlimit rl = {(rlim_t)as_limit, (rlim_t)as_limit};
            setrlimit(RLIMIT_AS, &rl);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* Exit status, or 128 + signal; the child's peak resident memory in KiB if maxrss_kb is given. */
static inline int proc_wait(pid_t pid, long *maxrss_kb) {
    int st = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(pid, &st, 0, &ru) < 0 && errno == EINTR) {}
    if (maxrss_kb) *maxrss_kb = ru.ru_maxrss;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* DIR/TAG.EXT as text (empty if missing), cut to n - 1 bytes. */
static inline void proc_read(const char *dir, const char *tag, const char *ext, char *buf, size_t n) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s.%s", dir, tag, ext);
    FILE *f = fopen(p, "r");
    size_t k = f ? fread(buf, 1, n - 1, f) : 0;
    buf[k] = '\0';
    if (f) fclose(f);
}

/* The command that exited with rc failed with `status`, saying one line on stderr that contains `want`. */
static inline void proc_check_error(const char *dir, const char *tag, int rc, int status, const char *want) {
    char err[4096];
    proc_read(dir, tag, "err", err, sizeof err);
    int lines = 0;
    for (char *p = err; *p; p++) lines += *p == '\n';
    CHECK(rc == status, "%s: exit %d, expected %d (stderr: %s)", tag, rc, status, err);
    CHECK(lines == 1 && !strncmp(err, "lmrnn", 5), "%s: stderr is not one 'lmrnn: ...' line: %s", tag, err);
    CHECK(strstr(err, want) != NULL, "%s: '%s' does not mention '%s'", tag, err, want);
}
#endif
