/* Run-directory lock and stale temp-file cleanup (io/lock.h). */
#include "io/lock.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "util/err.h"

/* Locks this process holds, by directory identity (the same directory under two spellings is one). */
typedef struct {
    dev_t dev;
    ino_t ino;
    int fd, count;
} Held;

#define MAX_HELD 16
static Held held[MAX_HELD];
static int n_held;

static Held *find_held(const struct stat *st) {
    for (int i = 0; i < n_held; i++)
        if (held[i].dev == st->st_dev && held[i].ino == st->st_ino) return &held[i];
    return NULL;
}

static long holder_pid(int fd) {
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *end;
    long pid = strtol(buf, &end, 10);
    return end != buf && pid > 0 ? pid : -1;
}

static int open_lock_file(const char *dir, char *path, size_t cap) {
    int n = snprintf(path, cap, "%s/%s", dir, LM_LOCK_FILE);
    if (n < 0 || (size_t)n >= cap) {
        lm_err_set("path too long: %s", dir);
        return -2;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 && (errno == EROFS || errno == EACCES)) {
        fd = open(path, O_RDONLY | O_CLOEXEC);   /* a read-only directory: lock an existing file if any */
        if (fd < 0) return -1;                    /* none: nobody can write this directory */
    }
    if (fd < 0) {
        lm_err_set("cannot lock %s: %s", dir, strerror(errno));
        return -2;
    }
    return fd;
}

int lm_dir_lock(const char *dir) {
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        lm_err_set("cannot lock %s: %s", dir, stat(dir, &st) != 0 ? strerror(errno) : "not a directory");
        return -1;
    }
    Held *h = find_held(&st);
    if (h) {
        h->count++;
        return 0;
    }
    if (n_held == MAX_HELD) {
        lm_err_set("cannot lock %s: too many run directories open", dir);
        return -1;
    }
    char path[4200];
    int fd = open_lock_file(dir, path, sizeof path);
    if (fd == -2) return -1;
    if (fd >= 0) {
        while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            if (errno == EINTR) continue;
            int e = errno;
            long pid = holder_pid(fd);
            close(fd);
            if (e != EWOULDBLOCK) {
                lm_err_set("cannot lock %s: %s", dir, strerror(e));
                return -1;
            }
            if (pid > 0) lm_err_set("%s is in use by another lmrnn process (pid %ld)", dir, pid);
            else lm_err_set("%s is in use by another lmrnn process", dir);
            return -1;
        }
        char line[32];
        int n = snprintf(line, sizeof line, "%ld\n", (long)getpid());
        if (ftruncate(fd, 0) == 0 && pwrite(fd, line, (size_t)n, 0) != n) { /* the pid is informative only */ }
    }
    held[n_held++] = (Held){st.st_dev, st.st_ino, fd, 1};
    char plots[4200];
    lm_clean_temps(dir);
    snprintf(plots, sizeof plots, "%s/plots", dir);
    lm_clean_temps(plots);
    return 0;
}

void lm_dir_unlock(const char *dir) {
    struct stat st;
    if (stat(dir, &st) != 0) return;
    Held *h = find_held(&st);
    if (!h || --h->count > 0) return;
    if (h->fd >= 0) close(h->fd);   /* releases the flock */
    *h = held[--n_held];
}

/* "<name>.tmp.<pid>" or "<name>.tmp.<pid>.<suffix>" (libzip's own temp beside ours): the pid, else -1. */
static long temp_pid(const char *name) {
    const char *t = strstr(name, ".tmp.");
    for (; t; t = strstr(t + 1, ".tmp.")) {
        const char *p = t + 5;
        if (*p < '1' || *p > '9') continue;
        char *end;
        long pid = strtol(p, &end, 10);
        if (*end == 0 || *end == '.') return pid;
    }
    return -1;
}

int lm_clean_temps(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long pid = temp_pid(e->d_name);
        if (pid <= 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;   /* alive (or not ours to judge) */
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) && unlink(p) == 0) removed++;
    }
    closedir(d);
    return removed;
}
