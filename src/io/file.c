/* Plain files: atomic replacement (write a sibling temp file, fsync, rename) and mkdir -p. The temp file
 * lives in the same directory as the target so that rename() is atomic on every POSIX file system. */
#include "io/npy_internal.h"
#include "io/npz.h"
#include "util/err.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int lm_temp_name(char *buf, size_t cap, const char *path) {
    int n = snprintf(buf, cap, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= cap) {
        lm_err_set("path too long: %s", path);
        return -1;
    }
    return 0;
}

int lm_path_join(char *out, size_t cap, const char *dir, const char *name) {
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap) {
        lm_err_set("path too long (at most %zu characters): %s/%s", cap - 1, dir, name);
        return -1;
    }
    return 0;
}

int lm_probe_writable(const char *tmp, const char *path) {
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        lm_err_set("cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

void lm_fsync_parent(const char *path) {
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static int write_all(int fd, const void *data, size_t n) {
    const char *p = data;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (w == 0) {
            errno = ENOSPC;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int lm_write_file_atomic(const char *path, const void *data, size_t n) {
    char tmp[PATH_MAX + 32];
    if (lm_temp_name(tmp, sizeof tmp, path)) return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        lm_err_set("cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    if (write_all(fd, data, n) || fsync(fd)) {
        int e = errno;
        close(fd);
        unlink(tmp);
        lm_err_set("cannot write %s: %s", path, strerror(e));
        return -1;
    }
    if (close(fd)) {
        int e = errno;
        unlink(tmp);
        lm_err_set("cannot write %s: %s", path, strerror(e));
        return -1;
    }
    if (rename(tmp, path)) {
        int e = errno;
        unlink(tmp);
        lm_err_set("cannot write %s: rename failed: %s", path, strerror(e));
        return -1;
    }
    lm_fsync_parent(path);
    return 0;
}

int lm_open_regular(const char *path, size_t max_bytes, size_t *size) {
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        lm_err_set("cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        lm_err_set("cannot read %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        lm_err_set("cannot read %s: not a regular file", path);
        close(fd);
        return -1;
    }
    if ((uint64_t)st.st_size > (uint64_t)max_bytes) {
        lm_err_set("cannot read %s: %lld bytes, more than the %zu this file may have", path,
                   (long long)st.st_size, max_bytes);
        close(fd);
        return -1;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    *size = (size_t)st.st_size;
    return fd;
}

FILE *lm_fopen_regular(const char *path, size_t max_bytes) {
    size_t size;
    int fd = lm_open_regular(path, max_bytes, &size);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        lm_err_set("cannot read %s: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

unsigned char *lm_read_file_max(const char *path, size_t max_bytes, size_t *len) {
    size_t size;
    int fd = lm_open_regular(path, max_bytes, &size);
    if (fd < 0) return NULL;
    /* Read to the end, never past the cap: the file may grow after fstat. */
    size_t cap = size + 1, n = 0;
    unsigned char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        lm_err_set("%s: out of memory for %zu bytes", path, cap);
        return NULL;
    }
    for (;;) {
        if (n == cap) {
            if (cap > max_bytes) {
                free(buf);
                close(fd);
                lm_err_set("cannot read %s: more than the %zu bytes this file may have", path, max_bytes);
                return NULL;
            }
            size_t ncap = cap * 2 > max_bytes + 1 ? max_bytes + 1 : cap * 2;
            unsigned char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                close(fd);
                lm_err_set("%s: out of memory", path);
                return NULL;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            lm_err_set("cannot read %s: %s", path, strerror(e));
            return NULL;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    if (n > max_bytes) {
        free(buf);
        lm_err_set("cannot read %s: more than the %zu bytes this file may have", path, max_bytes);
        return NULL;
    }
    *len = n;
    return buf;
}

unsigned char *lm_read_file(const char *path, size_t *len) { return lm_read_file_max(path, LM_READ_MAX, len); }

int lm_mkdir_p(const char *path) {
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf) {
        lm_err_set("cannot create directory '%s': %s", path, len ? "path too long" : "empty path");
        return -1;
    }
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != 0) continue;
        char saved = buf[i];
        buf[i] = 0;
        if (mkdir(buf, 0755) && errno != EEXIST) {
            lm_err_set("cannot create directory %s: %s", buf, strerror(errno));
            return -1;
        }
        struct stat st;
        if (stat(buf, &st) || !S_ISDIR(st.st_mode)) {
            lm_err_set("cannot create directory %s: exists and is not a directory", buf);
            return -1;
        }
        buf[i] = saved;
        while (buf[i] == '/' && buf[i + 1] == '/') i++;
    }
    return 0;
}
