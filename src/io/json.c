/* JSON documents and JSON-lines logs through cJSON. Documents are replaced atomically; log lines are
 * appended with a single write() and fsync'ed so that a crash loses at most the line being written. */
#include "io/json.h"
#include "io/npy_internal.h"
#include "util/err.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The document as text ending in a newline (pretty or one line); NULL + error naming `path` and `verb`. */
static char *json_text_line(const cJSON *doc, int pretty, const char *verb, const char *path, size_t *n) {
    char *text = pretty ? cJSON_Print(doc) : cJSON_PrintUnformatted(doc);
    if (!text) {
        lm_err_set("cannot %s %s: JSON serialisation failed", verb, path);
        return NULL;
    }
    *n = strlen(text);
    char *line = lm_malloc(*n + 2);
    memcpy(line, text, *n);
    line[(*n)++] = '\n';
    cJSON_free(text);
    return line;
}

int lm_json_write(const char *path, const cJSON *doc) {
    size_t n;
    char *buf = json_text_line(doc, 1, "write", path, &n);
    if (!buf) return -1;
    int rc = lm_write_file_atomic(path, buf, n);
    free(buf);
    return rc;
}

cJSON *lm_json_read(const char *path) {
    size_t len;
    unsigned char *raw = lm_read_file(path, &len);
    if (!raw) return NULL;
    char *text = lm_malloc(len + 1);
    memcpy(text, raw, len);
    text[len] = 0;
    free(raw);
    if (strlen(text) != len) {
        lm_err_set("%s: not a JSON text (contains a NUL byte)", path);
        free(text);
        return NULL;
    }
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithOpts(text, &end, 1);
    if (!doc) {
        const char *at = end ? end : cJSON_GetErrorPtr();
        if (!at || at < text || at > text + len) at = text + len;
        int line = 1, col = 1;
        for (const char *p = text; p < at; p++) {
            if (*p == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        lm_err_set("%s: %s at line %d, column %d", path,
                   len == 0 ? "empty file, expected JSON" : "JSON syntax error", line, col);
        free(text);
        return NULL;
    }
    free(text);
    return doc;
}

int lm_jsonl_append(const char *path, const cJSON *record) {
    size_t n;
    char *line = json_text_line(record, 0, "append to", path, &n);
    if (!line) return -1;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        lm_err_set("cannot append to %s: %s", path, strerror(errno));
        free(line);
        return -1;
    }
    size_t done = 0;
    int err = 0;
    while (done < n) {
        ssize_t w = write(fd, line + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            err = w < 0 ? errno : ENOSPC;
            break;
        }
        done += (size_t)w;
    }
    free(line);
    /* fsync is meaningless (EINVAL) on pipes and character devices; only report it for real failures */
    if (!err && fsync(fd) && errno != EINVAL && errno != EROFS) err = errno;
    if (close(fd) && !err) err = errno;
    if (err) {
        lm_err_set("cannot append to %s: %s", path, strerror(err));
        return -1;
    }
    return 0;
}

int lm_jsonl_foreach(const char *path, int (*fn)(const cJSON *record, void *ctx), void *ctx) {
    FILE *f = lm_fopen_regular(path, LM_READ_MAX);
    if (!f) return -1;
    size_t cap = 4096, len = 0;
    char *line = lm_malloc(cap);
    int c, stop = 0;
    while (!stop) {
        c = fgetc(f);
        if (c == EOF || c == '\n') {
            line[len] = '\0';
            if (len) {
                cJSON *rec = cJSON_Parse(line);
                if (cJSON_IsObject(rec)) stop = fn(rec, ctx);
                cJSON_Delete(rec);
            }
            len = 0;
            if (c == EOF) break;
            continue;
        }
        if (len + 1 >= cap) line = lm_realloc(line, cap *= 2);
        line[len++] = (char)c;
    }
    free(line);
    fclose(f);
    return 0;
}
