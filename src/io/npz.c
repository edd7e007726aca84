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
    int deflate;      /* members compressed (lm_npz_set_deflate) instead of stored */
};

void lm_npz_set_deflate(LmNpzWriter *w) { w->deflate = 1; }

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
        zip_set_file_compression(z, (zip_uint64_t)idx, w->deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
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

/* ---------------------------------------------------------------- reading
 * Opening an archive reads its directory and every member's .npy header (a few hundred bytes each), so
 * a member that is not a valid array is reported at once; a member's payload is inflated only when it is
 * asked for, and only if its size agrees with its header, so a small archive cannot make us allocate
 * more than the members a caller actually uses. */

typedef struct {
    LmArray a;            /* metadata from the header; data once loaded */
    LmNpyHeader h;
    zip_uint64_t index;
    int loaded;
} Entry;

struct LmNpz {
    char *path;
    zip_t *za;
    off_t archive_size;
    Entry *e;
    int n;
};

void lm_npz_free(LmNpz *z) {
    if (!z) return;
    for (int i = 0; i < z->n; i++) lm_array_free(&z->e[i].a);
    free(z->e);
    if (z->za) zip_discard(z->za);
    free(z->path);
    free(z);
}

int lm_npz_count(const LmNpz *z) { return z->n; }

/* Exactly n bytes of an open member; -1 with the reason (a short member, a CRC error). */
static int read_exact(zip_file_t *f, void *buf, zip_uint64_t n, char *why, size_t whylen) {
    zip_uint64_t got = 0;
    while (got < n) {
        zip_int64_t r = zip_fread(f, (unsigned char *)buf + got, n - got);
        if (r < 0) {
            snprintf(why, whylen, "%s", zip_file_strerror(f));
            return -1;
        }
        if (r == 0) {
            snprintf(why, whylen, "member shorter than its recorded size");
            return -1;
        }
        got += (zip_uint64_t)r;
    }
    return 0;
}

/* The member's .npy header, checked against the member's recorded size. */
static int read_header(LmNpz *z, Entry *en, zip_uint64_t size, char *why, size_t whylen) {
    /* A corrupt directory can claim any size: refuse what no deflate stream of this archive could hold
     * (deflate expands at most ~1032:1). */
    if (size > (zip_uint64_t)z->archive_size * 1032u + 4096u || size > (zip_uint64_t)SIZE_MAX / 2) {
        snprintf(why, whylen, "implausible member size %llu", (unsigned long long)size);
        return -1;
    }
    zip_file_t *f = zip_fopen_index(z->za, en->index, 0);
    if (!f) {
        snprintf(why, whylen, "%s", zip_strerror(z->za));
        return -1;
    }
    unsigned char head[12];
    size_t first = size < sizeof head ? (size_t)size : sizeof head, total = 0;
    unsigned char *buf = NULL;
    int rc = -1;
    if (read_exact(f, head, first, why, whylen) || lm_npy_header_len(head, first, &total, why, whylen)) goto out;
    if (total > size) {
        snprintf(why, whylen, "truncated .npy header");
        goto out;
    }
    buf = lm_malloc(total);
    memcpy(buf, head, first);
    if (read_exact(f, buf + first, total - first, why, whylen) ||
        lm_npy_parse_header(buf, total, &en->h, why, whylen))
        goto out;
    if (size - total != en->h.payload) {
        snprintf(why, whylen, "payload is %llu bytes but shape and dtype need %zu",
                 (unsigned long long)(size - total), en->h.payload);
        goto out;
    }
    rc = 0;
out:
    free(buf);
    zip_fclose(f);
    return rc;
}

/* Inflate a member's payload (libzip checks its CRC when the stream reaches the end). */
static int load_entry(LmNpz *z, Entry *en) {
    char why[300];
    zip_file_t *f = zip_fopen_index(z->za, en->index, 0);
    if (!f) {
        lm_err_set("%s: %s.npy: %s", z->path, en->a.name, zip_strerror(z->za));
        return -1;
    }
    unsigned char skip[4096];
    size_t left = en->h.header_len;
    int rc = 0;
    while (rc == 0 && left) {
        size_t k = left < sizeof skip ? left : sizeof skip;
        rc = read_exact(f, skip, k, why, sizeof why);
        left -= k;
    }
    void *payload = malloc(en->h.payload ? en->h.payload : 1);
    if (!payload) snprintf(why, sizeof why, "out of memory for %zu bytes", en->h.payload);
    if (rc == 0 && payload) rc = read_exact(f, payload, en->h.payload, why, sizeof why);
    if (rc == 0 && payload) {
        unsigned char extra;
        zip_int64_t r = zip_fread(f, &extra, 1);
        if (r != 0) {
            snprintf(why, sizeof why, "%s", r < 0 ? zip_file_strerror(f) : "member longer than its recorded size");
            rc = -1;
        }
    }
    zip_fclose(f);
    if (rc || !payload) {
        free(payload);
        lm_err_set("%s: %s.npy: %s", z->path, en->a.name, why);
        return -1;
    }
    char name[sizeof en->a.name];
    memcpy(name, en->a.name, sizeof name);
    if (lm_npy_set_payload(&en->h, payload, &en->a, why, sizeof why)) {
        memcpy(en->a.name, name, sizeof name);
        lm_err_set("%s: %s.npy: %s", z->path, name, why);
        return -1;
    }
    memcpy(en->a.name, name, sizeof name);
    en->loaded = 1;
    return 0;
}

static Entry *find_entry(const LmNpz *z, const char *name) {
    for (int i = 0; i < z->n; i++)
        if (!strcmp(z->e[i].a.name, name)) return &z->e[i];
    return NULL;
}

static const LmArray *loaded(LmNpz *z, Entry *en, size_t max_bytes) {
    if (en->loaded) return &en->a;
    if (en->h.payload > max_bytes) {
        lm_err_set("%s: %s: %zu bytes, more than the %zu this array may have", z->path, en->a.name, en->h.payload,
                   max_bytes);
        return NULL;
    }
    return load_entry(z, en) ? NULL : &en->a;
}

const LmArray *lm_npz_at(LmNpz *z, int i) {
    return i >= 0 && i < z->n ? loaded(z, &z->e[i], LM_NPZ_MEMBER_MAX) : NULL;
}

const LmArray *lm_npz_find(LmNpz *z, const char *name) { return lm_npz_find_max(z, name, LM_NPZ_MEMBER_MAX); }

const LmArray *lm_npz_find_max(LmNpz *z, const char *name, size_t max_bytes) {
    Entry *en = find_entry(z, name);
    if (!en) {
        lm_err_set("%s: missing array '%s'", z->path, name);
        return NULL;
    }
    return loaded(z, en, max_bytes);
}

const LmArray *lm_npz_info(const LmNpz *z, const char *name) {
    Entry *en = find_entry(z, name);
    return en ? &en->a : NULL;
}

/* Directory entry i: name, header, duplicates. */
static int open_entry(LmNpz *z, zip_int64_t i) {
    zip_stat_t zs;
    zip_stat_init(&zs);
    if (zip_stat_index(z->za, (zip_uint64_t)i, 0, &zs) || !(zs.valid & ZIP_STAT_NAME) || !(zs.valid & ZIP_STAT_SIZE)) {
        lm_err_set("%s: member %lld: %s", z->path, (long long)i, zip_strerror(z->za));
        return -1;
    }
    Entry *en = &z->e[z->n];
    size_t nl = strlen(zs.name);
    if (nl < 5 || strcmp(zs.name + nl - 4, ".npy") || nl - 4 >= sizeof en->a.name) {
        lm_err_set("%s: member '%s' is not a .npy array", z->path, zs.name);
        return -1;
    }
    char why[300];
    en->index = (zip_uint64_t)i;
    if (read_header(z, en, zs.size, why, sizeof why)) {
        lm_err_set("%s: %s: %s", z->path, zs.name, why);
        return -1;
    }
    en->a.dtype = en->h.dtype;
    en->a.ndim = en->h.ndim;
    for (int d = 0; d < en->h.ndim; d++) en->a.shape[d] = en->h.shape[d];
    en->a.count = en->h.dtype == LM_DT_STR ? 0 : en->h.count;
    snprintf(en->a.name, sizeof en->a.name, "%.*s", (int)(nl - 4), zs.name);
    if (find_entry(z, en->a.name)) {
        lm_err_set("%s: array '%s' appears twice", z->path, en->a.name);
        return -1;
    }
    z->n++;
    return 0;
}

LmNpz *lm_npz_read(const char *path) {
    size_t size;
    int fd = lm_open_regular(path, (size_t)INT64_MAX, &size);
    if (fd < 0) return NULL;
    int zerr = 0;
    zip_t *za = zip_fdopen(fd, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
    if (!za) {
        close(fd);
        zip_error_t e;
        zip_error_init_with_code(&e, zerr);
        lm_err_set("cannot read %s: %s", path,
                   zerr == ZIP_ER_NOZIP ? "not a zip/npz archive" : zip_error_strerror(&e));
        zip_error_fini(&e);
        return NULL;
    }
    LmNpz *z = lm_calloc(1, sizeof *z);
    z->za = za;
    z->archive_size = (off_t)size;
    z->path = strdup(path);
    if (!z->path) lm_die("out of memory");
    zip_int64_t n = zip_get_num_entries(za, 0);
    /* A member's central-directory entry takes at least 46 bytes. */
    if (n < 0 || (uint64_t)n > size / 46 + 1) {
        lm_err_set("%s: bad number of members", path);
        goto fail;
    }
    z->e = lm_calloc((size_t)(n ? n : 1), sizeof *z->e);
    for (zip_int64_t i = 0; i < n; i++)
        if (open_entry(z, i)) goto fail;
    return z;
fail:
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

const LmArray *lm_npz_expect(LmNpz *z, const char *name, LmDtype dtype, int ndim, const int64_t *shape) {
    Entry *en = find_entry(z, name);
    if (!en) {
        lm_err_set("%s: missing array '%s'", z->path, name);
        return NULL;
    }
    const LmArray *a = &en->a;
    int ok = a->dtype == dtype && a->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++)
        if (shape && shape[i] >= 0 && shape[i] != a->shape[i]) ok = 0;
    if (ok) return loaded(z, en, LM_NPZ_MEMBER_MAX);
    char want[160], got[160];
    int64_t any[LM_NPY_MAXDIM] = {-1, -1, -1, -1};
    if (ndim > LM_NPY_MAXDIM || ndim < 0) ndim = 0; /* never index past the caller's shape */
    format_shape(want, sizeof want, ndim, shape ? shape : any);
    format_shape(got, sizeof got, a->ndim, a->shape);
    lm_err_set("%s: %s: expected %s %s, found %s %s", z->path, name, lm_dtype_name(dtype), want,
               lm_dtype_name(a->dtype), got);
    return NULL;
}
