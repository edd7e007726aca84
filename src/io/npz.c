/* .npz archives through libzip: each array is a stored (uncompressed) "<name>.npy" member. Float
 * weights barely compress, and storing keeps checkpoint writes at disk speed.
 * Writing collects the members in memory and builds the whole archive at close under a temp name,
 * then fsyncs and renames it over the target, so a crash or a full disk never leaves a half archive. */
#include "io/npy_internal.h"
#include "util/err.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

typedef struct {
    char name[64];
    unsigned char *image; /* complete .npy bytes, handed to libzip at close */
    size_t len;
} Member;

struct LmNpzWriter {
    char *path;
    char tmp[PATH_MAX + 32];
    Member *members;
    int n, cap;
    char failed[512]; /* first error from an add, reported again by close */
};

LmNpzWriter *lm_npz_create(const char *path) {
    LmNpzWriter *w = lm_calloc(1, sizeof *w);
    if (lm_temp_name(w->tmp, sizeof w->tmp, path)) {
        free(w);
        return NULL;
    }
    if (lm_probe_writable(w->tmp, path)) {
        free(w);
        return NULL;
    }
    unlink(w->tmp);
    w->path = strdup(path);
    if (!w->path) lm_die("out of memory");
    return w;
}

static int valid_member_name(const char *name) {
    size_t n = strlen(name);
    return n > 0 && n < sizeof(((Member *)0)->name);
}

static int add_image(LmNpzWriter *w, const char *name, unsigned char *image, size_t len) {
    for (int i = 0; i < w->n; i++)
        if (!strcmp(w->members[i].name, name)) {
            free(image);
            lm_err_set("%s: array '%s' added twice", w->path, name);
            return -1;
        }
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 16;
        w->members = lm_realloc(w->members, (size_t)w->cap * sizeof *w->members);
    }
    Member *m = &w->members[w->n++];
    snprintf(m->name, sizeof m->name, "%s", name);
    m->image = image;
    m->len = len;
    return 0;
}

static int add_failed(LmNpzWriter *w, const char *name) {
    char msg[400];
    snprintf(msg, sizeof msg, "%s", lm_err_msg());
    lm_err_set("%s: %s: %s", w->path, name, msg);
    if (!w->failed[0]) snprintf(w->failed, sizeof w->failed, "%s", lm_err_msg());
    return -1;
}

int lm_npz_add(LmNpzWriter *w, const char *name, LmDtype dtype, int ndim, const int64_t *shape,
               const void *data) {
    if (!valid_member_name(name)) {
        lm_err_set("bad array name");
        return add_failed(w, name);
    }
    size_t len;
    unsigned char *img = lm_npy_encode(dtype, ndim, shape, data, &len);
    if (!img) return add_failed(w, name);
    if (add_image(w, name, img, len)) return add_failed(w, name);
    return 0;
}

int lm_npz_add_string(LmNpzWriter *w, const char *name, const char *text) {
    if (!valid_member_name(name)) {
        lm_err_set("bad array name");
        return add_failed(w, name);
    }
    size_t len;
    unsigned char *img = lm_npy_encode_string(text, &len);
    if (!img) return add_failed(w, name);
    if (add_image(w, name, img, len)) return add_failed(w, name);
    return 0;
}

static void writer_free(LmNpzWriter *w) {
    for (int i = 0; i < w->n; i++) free(w->members[i].image);
    free(w->members);
    free(w->path);
    free(w);
}

void lm_npz_discard(LmNpzWriter *w) {
    if (w) writer_free(w);
}

int lm_npz_close(LmNpzWriter *w) {
    if (!w) return -1;
    if (w->failed[0]) {
        lm_err_set("%s", w->failed);
        writer_free(w);
        return -1;
    }
    char why[300] = "";
    int zerr = 0;
    zip_t *z = zip_open(w->tmp, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    if (!z) {
        zip_error_t e;
        zip_error_init_with_code(&e, zerr);
        snprintf(why, sizeof why, "%s", zip_error_strerror(&e));
        zip_error_fini(&e);
        goto fail;
    }
    for (int i = 0; i < w->n; i++) {
        Member *m = &w->members[i];
        zip_source_t *src = zip_source_buffer(z, m->image, m->len, 0);
        char fname[80];
        snprintf(fname, sizeof fname, "%s.npy", m->name);
        zip_int64_t idx = src ? zip_file_add(z, fname, src, ZIP_FL_ENC_UTF_8) : -1;
        if (idx < 0) {
            if (src) zip_source_free(src);
            snprintf(why, sizeof why, "%s", zip_strerror(z));
            zip_discard(z);
            goto fail;
        }
        zip_set_file_compression(z, (zip_uint64_t)idx, ZIP_CM_STORE, 0);
    }
    if (zip_close(z)) {
        snprintf(why, sizeof why, "%s", zip_strerror(z));
        zip_discard(z);
        goto fail;
    }
    /* libzip has written and renamed its own temp file into w->tmp; make it durable, then publish. */
    int fd = open(w->tmp, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd)) {
        snprintf(why, sizeof why, "%s", strerror(errno));
        if (fd >= 0) close(fd);
        goto fail;
    }
    close(fd);
    if (rename(w->tmp, w->path)) {
        snprintf(why, sizeof why, "rename failed: %s", strerror(errno));
        goto fail;
    }
    lm_fsync_parent(w->path);
    writer_free(w);
    return 0;
fail:
    unlink(w->tmp);
    lm_err_set("cannot write %s: %s", w->path, why);
    writer_free(w);
    return -1;
}

/* ---------------------------------------------------------------- reading */

struct LmNpz {
    char *path;
    LmArray *arrays;
    int n;
};

void lm_npz_free(LmNpz *z) {
    if (!z) return;
    for (int i = 0; i < z->n; i++) lm_array_free(&z->arrays[i]);
    free(z->arrays);
    free(z->path);
    free(z);
}

int lm_npz_count(const LmNpz *z) { return z->n; }
const LmArray *lm_npz_at(const LmNpz *z, int i) { return i >= 0 && i < z->n ? &z->arrays[i] : NULL; }

const LmArray *lm_npz_find(const LmNpz *z, const char *name) {
    for (int i = 0; i < z->n; i++)
        if (!strcmp(z->arrays[i].name, name)) return &z->arrays[i];
    return NULL;
}

/* Reads one member fully, letting libzip verify its CRC (checked when the stream reaches its end). */
static unsigned char *read_member(zip_t *za, zip_uint64_t i, zip_uint64_t size, off_t archive_size,
                                  char *why, size_t whylen) {
    /* A corrupt directory can claim any size: refuse what no deflate stream of this archive could hold
     * (deflate expands at most ~1032:1) rather than attempt a huge allocation. */
    if (size > (zip_uint64_t)archive_size * 1032u + 4096u || size > (zip_uint64_t)SIZE_MAX / 2) {
        snprintf(why, whylen, "implausible member size %llu", (unsigned long long)size);
        return NULL;
    }
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf) {
        snprintf(why, whylen, "out of memory for %llu bytes", (unsigned long long)size);
        return NULL;
    }
    zip_file_t *f = zip_fopen_index(za, i, 0);
    if (!f) {
        snprintf(why, whylen, "%s", zip_strerror(za));
        free(buf);
        return NULL;
    }
    zip_uint64_t got = 0;
    while (got < size) {
        zip_int64_t r = zip_fread(f, buf + got, size - got);
        if (r < 0) {
            snprintf(why, whylen, "%s", zip_file_strerror(f));
            goto fail;
        }
        if (r == 0) {
            snprintf(why, whylen, "member shorter than its recorded size");
            goto fail;
        }
        got += (zip_uint64_t)r;
    }
    unsigned char extra;
    zip_int64_t r = zip_fread(f, &extra, 1);
    if (r != 0) {
        snprintf(why, whylen, "%s", r < 0 ? zip_file_strerror(f) : "member longer than its recorded size");
        goto fail;
    }
    zip_fclose(f);
    return buf;
fail:
    zip_fclose(f);
    free(buf);
    return NULL;
}

LmNpz *lm_npz_read(const char *path) {
    struct stat st;
    if (stat(path, &st)) {
        lm_err_set("cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        lm_err_set("cannot read %s: not a regular file", path);
        return NULL;
    }
    int zerr = 0;
    zip_t *za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
    if (!za) {
        zip_error_t e;
        zip_error_init_with_code(&e, zerr);
        lm_err_set("cannot read %s: %s", path,
                   zerr == ZIP_ER_NOZIP ? "not a zip/npz archive" : zip_error_strerror(&e));
        zip_error_fini(&e);
        return NULL;
    }
    LmNpz *z = lm_calloc(1, sizeof *z);
    z->path = strdup(path);
    if (!z->path) lm_die("out of memory");
    zip_int64_t n = zip_get_num_entries(za, 0);
    if (n < 0 || n > 1000000) {
        lm_err_set("%s: bad number of members", path);
        goto fail;
    }
    z->arrays = lm_calloc((size_t)(n ? n : 1), sizeof *z->arrays);
    for (zip_int64_t i = 0; i < n; i++) {
        zip_stat_t zs;
        zip_stat_init(&zs);
        if (zip_stat_index(za, (zip_uint64_t)i, 0, &zs) || !(zs.valid & ZIP_STAT_NAME) ||
            !(zs.valid & ZIP_STAT_SIZE)) {
            lm_err_set("%s: member %lld: %s", path, (long long)i, zip_strerror(za));
            goto fail;
        }
        size_t nl = strlen(zs.name);
        if (nl < 5 || strcmp(zs.name + nl - 4, ".npy") || nl - 4 >= sizeof z->arrays[0].name) {
            lm_err_set("%s: member '%s' is not a .npy array", path, zs.name);
            goto fail;
        }
        char why[300];
        unsigned char *buf = read_member(za, (zip_uint64_t)i, zs.size, st.st_size, why, sizeof why);
        if (!buf) {
            lm_err_set("%s: %s: %s", path, zs.name, why);
            goto fail;
        }
        LmArray *a = &z->arrays[z->n];
        int rc = lm_npy_decode(buf, (size_t)zs.size, a, why, sizeof why);
        free(buf);
        if (rc) {
            lm_err_set("%s: %s: %s", path, zs.name, why);
            goto fail;
        }
        snprintf(a->name, sizeof a->name, "%.*s", (int)(nl - 4), zs.name);
        z->n++;
        for (int k = 0; k < z->n - 1; k++)
            if (!strcmp(z->arrays[k].name, a->name)) {
                lm_err_set("%s: array '%s' appears twice", path, a->name);
                goto fail;
            }
    }
    zip_discard(za);
    return z;
fail:
    zip_discard(za);
    lm_npz_free(z);
    return NULL;
}

static void format_shape(char *out, size_t cap, int ndim, const int64_t *shape) {
    size_t n = (size_t)snprintf(out, cap, "[");
    for (int i = 0; i < ndim && n < cap; i++) {
        if (shape[i] < 0) n += (size_t)snprintf(out + n, cap - n, "%s*", i ? ", " : "");
        else n += (size_t)snprintf(out + n, cap - n, "%s%lld", i ? ", " : "", (long long)shape[i]);
    }
    if (n < cap) snprintf(out + n, cap - n, "]");
}

const LmArray *lm_npz_expect(const LmNpz *z, const char *name, LmDtype dtype, int ndim,
                             const int64_t *shape) {
    const LmArray *a = lm_npz_find(z, name);
    if (!a) {
        lm_err_set("%s: missing array '%s'", z->path, name);
        return NULL;
    }
    int ok = a->dtype == dtype && a->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++)
        if (shape && shape[i] >= 0 && shape[i] != a->shape[i]) ok = 0;
    if (ok) return a;
    char want[160], got[160];
    int64_t any[LM_NPY_MAXDIM] = {-1, -1, -1, -1};
    if (ndim > LM_NPY_MAXDIM || ndim < 0) ndim = 0; /* never index past the caller's shape */
    format_shape(want, sizeof want, ndim, shape ? shape : any);
    format_shape(got, sizeof got, a->ndim, a->shape);
    lm_err_set("%s: %s: expected %s %s, found %s %s", z->path, name, lm_dtype_name(dtype), want,
               lm_dtype_name(a->dtype), got);
    return NULL;
}
