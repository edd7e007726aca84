/* src/io: .npy headers byte-identical to numpy's, round trips of every dtype and rank, archives written
 * by numpy itself, corrupt and truncated input (must fail cleanly, never crash), atomic replacement
 * (a failed write leaves the old file and no temp files), mkdir -p, and JSON / JSON-lines files. */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>
#include "check.h"
#include "io/json.h"
#include "io/npz.h"
#include "util/err.h"
#include "util/rng.h"

/* Made by numpy 1.24: np.savez(f, a=np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5,
 * n=np.array([-1, 2**40]), s=np.array('héllo→'), m=np.array([True, False, True])) and
 * np.savez_compressed(f, w=np.linspace(-1, 1, 12).reshape(3, 4)). */
static const unsigned char numpy_npz[1025] = {
    80,75,3,4,20,0,0,0,0,0,0,0,33,0,11,192,176,118,152,0,
    0,0,152,0,0,0,5,0,20,0,97,46,110,112,121,1,0,16,0,152,
    0,0,0,0,0,0,0,152,0,0,0,0,0,0,0,147,78,85,77,80,
    89,1,0,118,0,123,39,100,101,115,99,114,39,58,32,39,60,102,52,39,
    44,32,39,102,111,114,116,114,97,110,95,111,114,100,101,114,39,58,32,70,
    97,108,115,101,44,32,39,115,104,97,112,101,39,58,32,40,50,44,32,51,
    41,44,32,125,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,
    32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,
    32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,
    32,32,10,0,0,0,0,0,0,0,63,0,0,128,63,0,0,192,63,0,
    0,0,64,0,0,32,64,80,75,3,4,20,0,0,0,0,0,0,0,33,
    0,237,141,253,147,144,0,0,0,144,0,0,0,5,0,20,0,110,46,110,
    112,121,1,0,16,0,144,0,0,0,0,0,0,0,144,0,0,0,0,0,
    0,0,147,78,85,77,80,89,1,0,118,0,123,39,100,101,115,99,114,39,
    58,32,39,60,105,56,39,44,32,39,102,111,114,116,114,97,110,95,111,114,
    100,101,114,39,58,32,70,97,108,115,101,44,32,39,115,104,97,112,101,39,
    58,32,40,50,44,41,44,32,125,32,32,32,32,32,32,32,32,32,32,32,
    32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,
    32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,
    32,32,32,32,32,32,32,32,32,10,255,255,255,255,255,255,255,255,0,0,
    0,0,0,1,0,0,80,75,3,4,20,0,0,0,0,0,0,0,33,0,
    223,204,59,63,152,0,0,0,152,0,0,0,5,0,20,0,115,46,110,112,
    121,1,0,16,0,152,0,0,0,0,0,0,0,152,0,0,0,0,0,0,
    0,147,78,85,77,80,89,1,0,118,0,123,39,100,101,115,99,114,39,58,
    32,39,60,85,54,39,44,32,39,102,111,114,116,114,97,110,95,111,114,100,
    101,114,39,58,32,70,97,108,115,101,44,32,39,115,104,97,112,101,39,58,
    32,40,41,44,32,125,32,32,32,32,32,32,32,32,32,32,32,32,32,32,
    32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,
    32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,
    32,32,32,32,32,32,32,32,10,104,0,0,0,233,0,0,0,108,0,0,
    0,108,0,0,0,111,0,0,0,146,33,0,0,80,75,3,4,20,0,0,
    0,0,0,0,0,33,0,22,147,140,187,131,0,0,0,131,0,0,0,5,
    0,20,0,109,46,110,112,121,1,0,16,0,131,0,0,0,0,0,0,0,
    131,0,0,0,0,0,0,0,147,78,85,77,80,89,1,0,118,0,123,39,
    100,101,115,99,114,39,58,32,39,124,98,49,39,44,32,39,102,111,114,116,
    114,97,110,95,111,114,100,101,114,39,58,32,70,97,108,115,101,44,32,39,
    115,104,97,112,101,39,58,32,40,51,44,41,44,32,125,32,32,32,32,32,
    32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,
    32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,
    32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,10,1,0,1,80,
    75,1,2,20,3,20,0,0,0,0,0,0,0,33,0,11,192,176,118,152,
    0,0,0,152,0,0,0,5,0,0,0,0,0,0,0,0,0,0,0,128,
    1,0,0,0,0,97,46,110,112,121,80,75,1,2,20,3,20,0,0,0,
    0,0,0,0,33,0,237,141,253,147,144,0,0,0,144,0,0,0,5,0,
    0,0,0,0,0,0,0,0,0,0,128,1,207,0,0,0,110,46,110,112,
    121,80,75,1,2,20,3,20,0,0,0,0,0,0,0,33,0,223,204,59,
    63,152,0,0,0,152,0,0,0,5,0,0,0,0,0,0,0,0,0,0,
    0,128,1,150,1,0,0,115,46,110,112,121,80,75,1,2,20,3,20,0,
    0,0,0,0,0,0,33,0,22,147,140,187,131,0,0,0,131,0,0,0,
    5,0,0,0,0,0,0,0,0,0,0,0,128,1,101,2,0,0,109,46,
    110,112,121,80,75,5,6,0,0,0,0,4,0,4,0,204,0,0,0,31,
    3,0,0,0,0,
};
static const unsigned char numpy_npz_deflated[254] = {
    80,75,3,4,20,0,0,0,8,0,0,0,33,0,230,32,49,138,126,0,
    0,0,224,0,0,0,5,0,20,0,119,46,110,112,121,1,0,16,0,224,
    0,0,0,0,0,0,0,126,0,0,0,0,0,0,0,155,236,23,234,27,
    16,201,200,80,198,80,173,158,146,90,156,92,164,110,165,160,110,147,102,161,
    174,163,160,158,150,95,84,82,148,152,23,159,95,148,146,10,18,119,75,204,
    41,78,5,138,23,103,36,22,164,2,249,26,198,58,10,38,154,58,10,181,
    10,100,3,46,6,48,248,176,95,111,215,139,69,221,122,175,246,199,150,92,
    116,21,143,125,178,95,2,204,184,187,31,204,45,185,184,223,1,68,186,110,
    135,209,246,80,113,123,168,58,251,56,136,62,123,3,136,57,246,80,115,237,
    1,80,75,1,2,20,3,20,0,0,0,8,0,0,0,33,0,230,32,49,
    138,126,0,0,0,224,0,0,0,5,0,0,0,0,0,0,0,0,0,0,
    0,128,1,0,0,0,0,119,46,110,112,121,80,75,5,6,0,0,0,0,
    1,0,1,0,51,0,0,0,181,0,0,0,0,0,
};

static char tmpdir[256];

static void path_in(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", tmpdir, name); }

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    *len = fread(b, 1, (size_t)n, f);
    fclose(f);
    return b;
}

static void spit(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, len, f);
    fclose(f);
}

/* Number of leftover "*.tmp.*" files in a directory. */
static int count_temps(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) n++;
    closedir(d);
    return n;
}

/* ------------------------------------------------------------ headers */

/* The exact header numpy 1.24 writes for `dict`: 10-byte prefix, dict, spaces, '\n', total 128. */
static void check_header(LmDtype dt, int ndim, const int64_t *shape, const void *data, size_t payload,
                         const char *dict) {
    char p[512];
    path_in(p, sizeof p, "h.npy");
    CHECK(lm_npy_write(p, dt, ndim, shape, data) == 0, "%s", lm_err_msg());
    size_t len = 0;
    unsigned char *b = slurp(p, &len);
    CHECK(b && len == 128 + payload, "len %zu", len);
    if (!b || len < 128) {
        free(b);
        return;
    }
    char want[128];
    memcpy(want, "\x93NUMPY\x01\x00\x76\x00", 10);
    memset(want + 10, ' ', 118);
    memcpy(want + 10, dict, strlen(dict));
    want[127] = '\n';
    CHECK(memcmp(b, want, 128) == 0, "header differs for %s: got '%.118s'", dict, (char *)b + 10);
    free(b);
}

static void headers_match_numpy(void) {
    float f[12] = {0};
    double d[5] = {0};
    int32_t i4 = 7;
    int64_t i8[24] = {0};
    static uint8_t u1[1000000];
    check_header(LM_DT_F32, 2, (int64_t[]){3, 4}, f, 48,
                 "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }"
                 "                     ");
    check_header(LM_DT_F64, 1, (int64_t[]){5}, d, 40,
                 "{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }");
    check_header(LM_DT_I32, 0, NULL, &i4, 4, "{'descr': '<i4', 'fortran_order': False, 'shape': (), }");
    check_header(LM_DT_I64, 3, (int64_t[]){2, 3, 4}, i8, 192,
                 "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3, 4), }");
    check_header(LM_DT_U8, 1, (int64_t[]){1000000}, u1, 1000000,
                 "{'descr': '|u1', 'fortran_order': False, 'shape': (1000000,), }");
}

/* ------------------------------------------------------------ round trips */

static void fill(void *buf, LmDtype dt, size_t n) {
    for (size_t i = 0; i < n; i++) {
        switch (dt) {
        case LM_DT_F32: ((float *)buf)[i] = (float)i * -0.37f + 1e-3f; break;
        case LM_DT_F64: ((double *)buf)[i] = (double)i * 1.0e-7 - 3.25; break;
        case LM_DT_I32: ((int32_t *)buf)[i] = (int32_t)(i * 2654435761u); break;
        case LM_DT_I64: ((int64_t *)buf)[i] = (int64_t)i * -1000000000007LL; break;
        case LM_DT_U8: ((uint8_t *)buf)[i] = (uint8_t)(i * 37); break;
        default: break;
        }
    }
}

static void npy_round_trips(void) {
    LmDtype dts[] = {LM_DT_F32, LM_DT_F64, LM_DT_I32, LM_DT_I64, LM_DT_U8};
    struct { int ndim; int64_t shape[4]; } shapes[] = {{0, {0}}, {1, {5}}, {3, {2, 3, 4}}, {1, {0}},
                                                     {4, {2, 1, 3, 2}}};
    char p[512];
    path_in(p, sizeof p, "rt.npy");
    for (int t = 0; t < 5; t++)
        for (int s = 0; s < 5; s++) {
            size_t n = 1;
            for (int k = 0; k < shapes[s].ndim; k++) n *= (size_t)shapes[s].shape[k];
            size_t bytes = n * lm_dtype_size(dts[t]);
            void *buf = malloc(bytes + 1);
            fill(buf, dts[t], n);
            CHECK(lm_npy_write(p, dts[t], shapes[s].ndim, shapes[s].shape, buf) == 0, "%s", lm_err_msg());
            LmArray a;
            CHECK(lm_npy_read(p, &a) == 0, "%s", lm_err_msg());
            CHECK(a.dtype == dts[t] && a.ndim == shapes[s].ndim && a.count == n, "%s ndim %d",
                  lm_dtype_name(dts[t]), shapes[s].ndim);
            for (int k = 0; k < a.ndim; k++) CHECK(a.shape[k] == shapes[s].shape[k]);
            CHECK(bytes == 0 || memcmp(a.data, buf, bytes) == 0);
            CHECK(strcmp(a.name, "rt") == 0, "name '%s'", a.name);
            lm_array_free(&a);
            free(buf);
        }
    CHECK(count_temps(tmpdir) == 0);
}

static const char *unicode_text = "h\xc3\xa9llo \xe2\x86\x92 \xe6\xbc\xa2\xe5\xad\x97 \xf0\x9f\x99\x82";

static void write_sample_npz(const char *p) {
    float w[6] = {1, -2, 3.5f, 0, 1e-30f, -7};
    int64_t steps[2] = {-5, 1LL << 50};
    uint8_t mask[4] = {1, 0, 0, 1};
    double sc = 2.5;
    LmNpzWriter *wr = lm_npz_create(p);
    CHECK(wr != NULL, "%s", lm_err_msg());
    if (!wr) return;
    CHECK(lm_npz_add(wr, "W_rec", LM_DT_F32, 2, (int64_t[]){2, 3}, w) == 0);
    CHECK(lm_npz_add(wr, "steps", LM_DT_I64, 1, (int64_t[]){2}, steps) == 0);
    CHECK(lm_npz_add(wr, "mask", LM_DT_U8, 2, (int64_t[]){2, 2}, mask) == 0);
    CHECK(lm_npz_add(wr, "scale", LM_DT_F64, 0, NULL, &sc) == 0);
    CHECK(lm_npz_add_string(wr, "config", unicode_text) == 0);
    CHECK(lm_npz_add_string(wr, "empty", "") == 0);
    CHECK(lm_npz_close(wr) == 0, "%s", lm_err_msg());
}

static void npz_round_trip_and_expect(void) {
    char p[512];
    path_in(p, sizeof p, "ckpt.npz");
    write_sample_npz(p);
    LmNpz *z = lm_npz_read(p);
    CHECK(z != NULL, "%s", lm_err_msg());
    if (!z) return;
    CHECK(lm_npz_count(z) == 6);
    const LmArray *a = lm_npz_expect(z, "W_rec", LM_DT_F32, 2, (int64_t[]){2, 3});
    CHECK(a && ((float *)a->data)[2] == 3.5f && ((float *)a->data)[4] == 1e-30f);
    a = lm_npz_expect(z, "steps", LM_DT_I64, 1, (int64_t[]){-1});
    CHECK(a && ((int64_t *)a->data)[1] == (1LL << 50));
    a = lm_npz_expect(z, "mask", LM_DT_U8, 2, NULL);
    CHECK(a && a->count == 4 && ((uint8_t *)a->data)[3] == 1);
    a = lm_npz_expect(z, "scale", LM_DT_F64, 0, NULL);
    CHECK(a && *(double *)a->data == 2.5);
    a = lm_npz_find(z, "config");
    CHECK(a && a->dtype == LM_DT_STR && strcmp(a->data, unicode_text) == 0 &&
          a->count == strlen(unicode_text));
    a = lm_npz_find(z, "empty");
    CHECK(a && a->dtype == LM_DT_STR && a->count == 0 && ((char *)a->data)[0] == 0);
    CHECK(lm_npz_find(z, "nope") == NULL);
    char want[700];
    CHECK(lm_npz_expect(z, "W_rec", LM_DT_F32, 2, (int64_t[]){256, 256}) == NULL);
    snprintf(want, sizeof want, "%s: W_rec: expected float32 [256, 256], found float32 [2, 3]", p);
    CHECK(strcmp(lm_err_msg(), want) == 0, "got '%s'", lm_err_msg());
    CHECK(lm_npz_expect(z, "steps", LM_DT_I32, 1, NULL) == NULL);
    snprintf(want, sizeof want, "%s: steps: expected int32 [*], found int64 [2]", p);
    CHECK(strcmp(lm_err_msg(), want) == 0, "got '%s'", lm_err_msg());
    CHECK(lm_npz_expect(z, "W_in", LM_DT_F32, 2, NULL) == NULL);
    snprintf(want, sizeof want, "%s: missing array 'W_in'", p);
    CHECK(strcmp(lm_err_msg(), want) == 0, "got '%s'", lm_err_msg());
    lm_npz_free(z);
    CHECK(count_temps(tmpdir) == 0);
}

static void reads_archives_written_by_numpy(void) {
    char p[512];
    path_in(p, sizeof p, "numpy.npz");
    spit(p, numpy_npz, sizeof numpy_npz);
    LmNpz *z = lm_npz_read(p);
    CHECK(z != NULL, "%s", lm_err_msg());
    if (z) {
        const LmArray *a = lm_npz_expect(z, "a", LM_DT_F32, 2, (int64_t[]){2, 3});
        CHECK(a && ((float *)a->data)[5] == 2.5f);
        a = lm_npz_expect(z, "n", LM_DT_I64, 1, (int64_t[]){2});
        CHECK(a && ((int64_t *)a->data)[0] == -1 && ((int64_t *)a->data)[1] == (1LL << 40));
        a = lm_npz_find(z, "s");
        CHECK(a && a->dtype == LM_DT_STR && strcmp(a->data, "h\xc3\xa9llo\xe2\x86\x92") == 0);
        a = lm_npz_expect(z, "m", LM_DT_U8, 1, (int64_t[]){3}); /* bool read as uint8 */
        CHECK(a && ((uint8_t *)a->data)[0] == 1 && ((uint8_t *)a->data)[1] == 0);
        lm_npz_free(z);
    }
    path_in(p, sizeof p, "numpy_z.npz");
    spit(p, numpy_npz_deflated, sizeof numpy_npz_deflated);
    z = lm_npz_read(p);
    CHECK(z != NULL, "%s", lm_err_msg());
    if (z) {
        const LmArray *a = lm_npz_expect(z, "w", LM_DT_F64, 2, (int64_t[]){3, 4});
        CHECK(a && ((double *)a->data)[0] == -1.0 && ((double *)a->data)[11] == 1.0);
        if (a) CHECK_CLOSE(((double *)a->data)[5], -1.0 + 10.0 / 11.0, 1e-15);
        lm_npz_free(z);
    }
}

/* Cross-check with numpy itself when the machine has it (the header bytes are checked regardless). */
static void numpy_reads_our_archives(void) {
    if (system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
        printf("     (numpy not available: live cross-check not run; headers verified above)\n");
        CHECK(1);
        return;
    }
    char p[512], cmd[2048];
    path_in(p, sizeof p, "for_numpy.npz");
    write_sample_npz(p);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import numpy as np, sys\n"
             "z = np.load('%s')\n"
             "ok = z['W_rec'].dtype == np.float32 and z['W_rec'].shape == (2, 3) and z['W_rec'][1, 0] == 0\n"
             "ok = ok and z['W_rec'][0, 2] == np.float32(3.5) and z['steps'][1] == 2**50\n"
             "ok = ok and z['mask'].dtype == np.uint8 and z['scale'].shape == () and z['scale'] == 2.5\n"
             "ok = ok and str(z['config']) == 'h\\u00e9llo \\u2192 \\u6f22\\u5b57 \\U0001f642'\n"
             "ok = ok and str(z['empty']) == '' and sorted(z.files) == "
             "sorted(['W_rec','steps','mask','scale','config','empty'])\n"
             "sys.exit(0 if ok else 3)\"",
             p);
    CHECK(system(cmd) == 0, "numpy disagrees with %s", p);
}

/* ------------------------------------------------------------ corrupt input */

static void make_zip(const char *path, const char *member, const void *data, size_t len) {
    int err;
    unlink(path);
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    zip_source_t *s = zip_source_buffer(z, data, len, 0);
    zip_file_add(z, member, s, 0);
    zip_close(z);
}

/* A .npy image with the given dict and payload size, numpy-style padding. */
static size_t npy_image(unsigned char *out, const char *dict, size_t payload) {
    size_t total = 128;
    memcpy(out, "\x93NUMPY\x01\x00\x76\x00", 10);
    memset(out + 10, ' ', 118);
    memcpy(out + 10, dict, strlen(dict));
    out[127] = '\n';
    memset(out + total, 0x3f, payload);
    return total + payload;
}

static void expect_read_error(const char *path, const char *fragment) {
    LmNpz *z = lm_npz_read(path);
    CHECK(z == NULL, "read of %s should fail (%s)", path, fragment);
    lm_npz_free(z);
    const char *m = lm_err_msg();
    CHECK(strstr(m, path) && strstr(m, fragment) && !strchr(m, '\n'), "message '%s' lacks '%s'", m,
          fragment);
}

static void corrupt_inputs_fail_cleanly(void) {
    char p[512];
    unsigned char img[512];
    path_in(p, sizeof p, "absent.npz");
    expect_read_error(p, "No such file");
    path_in(p, sizeof p, "text.npz");
    spit(p, "hello, not a zip\n", 17);
    expect_read_error(p, "not a zip");
    spit(p, "", 0);
    expect_read_error(p, p);
    path_in(p, sizeof p, "member.npz");
    make_zip(p, "notes.txt", "hi", 2);
    expect_read_error(p, "member 'notes.txt' is not a .npy array");
    make_zip(p, "x.npy", "PK\x03\x04 not numpy at all", 21);
    expect_read_error(p, "x.npy: not a .npy file (bad magic)");
    size_t n = npy_image(img, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 16);
    make_zip(p, "x.npy", img, n);
    expect_read_error(p, "x.npy: unsupported dtype '<c8'");
    n = npy_image(img, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16);
    make_zip(p, "x.npy", img, n);
    expect_read_error(p, "fortran_order");
    n = npy_image(img, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8);
    make_zip(p, "x.npy", img, n);
    expect_read_error(p, "big-endian");
    n = npy_image(img, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", 44);
    make_zip(p, "x.npy", img, n);
    expect_read_error(p, "x.npy: payload is 44 bytes but shape and dtype need 48");
    n = npy_image(img, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1), }", 4);
    make_zip(p, "x.npy", img, n);
    expect_read_error(p, "more than 4 dimensions");
    n = npy_image(img, "{'descr': '<f4' 'fortran_order': False, 'shape': (3, 4), }", 48);
    make_zip(p, "x.npy", img, n);
    expect_read_error(p, "malformed .npy header");
    n = npy_image(img, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }", 4);
    make_zip(p, "x.npy", img, n);
    expect_read_error(p, "x.npy");
    /* a lone .npy with the same problems */
    path_in(p, sizeof p, "bad.npy");
    n = npy_image(img, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", 44);
    spit(p, img, n);
    LmArray a;
    CHECK(lm_npy_read(p, &a) == -1 && strstr(lm_err_msg(), p) && strstr(lm_err_msg(), "payload"));
    spit(p, img, 20);
    CHECK(lm_npy_read(p, &a) == -1 && strstr(lm_err_msg(), "truncated"), "%s", lm_err_msg());
    path_in(p, sizeof p, "absent.npy");
    CHECK(lm_npy_read(p, &a) == -1 && strstr(lm_err_msg(), p));
}

/* Every truncation and many random byte flips of valid archives (stored and deflated): each read must
 * either fail with a message or return arrays whose sizes agree with their shapes. */
static void fuzz_one(const char *p, const unsigned char *good, size_t len, LmRng *rng, int flips) {
    unsigned char *b = malloc(len);
    int ok = 0, failed = 0;
    for (size_t cut = 0; cut < len; cut++) {
        spit(p, good, cut);
        LmNpz *z = lm_npz_read(p);
        if (z) ok++;
        else failed += lm_err_msg()[0] != 0;
        lm_npz_free(z);
    }
    CHECK(failed > 0);
    for (int t = 0; t < flips; t++) {
        memcpy(b, good, len);
        int nflip = 1 + (int)lm_rng_below(rng, 3);
        for (int k = 0; k < nflip; k++) b[lm_rng_below(rng, (uint32_t)len)] ^= (uint8_t)(1 + lm_rng_below(rng, 255));
        spit(p, b, len);
        lm_err_set("%s", "");
        LmNpz *z = lm_npz_read(p);
        if (z) {
            ok++;
            for (int i = 0; i < lm_npz_count(z); i++) {
                const LmArray *a = lm_npz_at(z, i);   /* payloads are read here: a CRC error fails here */
                if (!a) {
                    CHECK(lm_err_msg()[0] != 0 && !strchr(lm_err_msg(), '\n'));
                    continue;
                }
                size_t c = 1;
                for (int d = 0; d < a->ndim; d++) c *= (size_t)a->shape[d];
                CHECK(a->dtype == LM_DT_STR || c == a->count);
            }
        } else {
            CHECK(lm_err_msg()[0] != 0);
        }
        lm_npz_free(z);
    }
    CHECK(ok > 0);
    free(b);
}

static void fuzzed_archives_never_crash(void) {
    char good[512], p[512];
    path_in(good, sizeof good, "fuzz_src.npz");
    path_in(p, sizeof p, "fuzz.npz");
    write_sample_npz(good);
    size_t len;
    unsigned char *g = slurp(good, &len);
    LmRng rng;
    lm_rng_seed(&rng, 1234);
    fuzz_one(p, g, len, &rng, 1500);
    free(g);
    fuzz_one(p, numpy_npz_deflated, sizeof numpy_npz_deflated, &rng, 1500);
}

/* ------------------------------------------------------------ atomic writes */

static void failed_writes_leave_old_files(void) {
    char p[512], dir[512], q[600];
    /* missing directory */
    snprintf(p, sizeof p, "%s/no/such/dir/x.npz", tmpdir);
    CHECK(lm_npz_create(p) == NULL && strstr(lm_err_msg(), p) && strstr(lm_err_msg(), "No such file"),
          "%s", lm_err_msg());
    float v[3] = {1, 2, 3};
    snprintf(p, sizeof p, "%s/no/such/dir/x.npy", tmpdir);
    CHECK(lm_npy_write(p, LM_DT_F32, 1, (int64_t[]){3}, v) == -1 && strstr(lm_err_msg(), p));
    CHECK(lm_write_file_atomic(p, "x", 1) == -1 && strstr(lm_err_msg(), p));
    /* a path under a regular file */
    path_in(p, sizeof p, "plainfile");
    spit(p, "x", 1);
    snprintf(q, sizeof q, "%s/sub.npz", p);
    CHECK(lm_npz_create(q) == NULL && strstr(lm_err_msg(), q));

    /* the target is a directory: everything is written, the final rename fails, the temp must go */
    path_in(dir, sizeof dir, "adir.npz");
    mkdir(dir, 0755);
    snprintf(q, sizeof q, "%s/inner", dir);
    spit(q, "keep", 4);
    LmNpzWriter *w = lm_npz_create(dir);
    CHECK(w != NULL);
    if (w) {
        lm_npz_add(w, "v", LM_DT_F32, 1, (int64_t[]){3}, v);
        CHECK(lm_npz_close(w) == -1 && strstr(lm_err_msg(), dir), "%s", lm_err_msg());
    }
    CHECK(lm_write_file_atomic(dir, "abc", 3) == -1 && strstr(lm_err_msg(), "rename"));
    CHECK(count_temps(tmpdir) == 0, "temp files left behind");

    /* disk full, simulated with a file-size limit: the old archive must survive untouched */
    path_in(p, sizeof p, "keep.npz");
    write_sample_npz(p);
    size_t oldlen;
    unsigned char *old = slurp(p, &oldlen);
    struct rlimit saved, small;
    getrlimit(RLIMIT_FSIZE, &saved);
    small = saved;
    small.rlim_cur = 64 * 1024;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
    size_t big = 256 * 1024;
    float *data = calloc(big, sizeof *data);
    w = lm_npz_create(p);
    CHECK(w != NULL);
    if (w) {
        CHECK(lm_npz_add(w, "big", LM_DT_F32, 1, (int64_t[]){(int64_t)big}, data) == 0);
        CHECK(lm_npz_close(w) == -1 && strstr(lm_err_msg(), p), "%s", lm_err_msg());
    }
    CHECK(lm_npy_write(p, LM_DT_F32, 1, (int64_t[]){(int64_t)big}, data) == -1 &&
          strstr(lm_err_msg(), p), "%s", lm_err_msg());
    setrlimit(RLIMIT_FSIZE, &saved);
    signal(SIGXFSZ, prev);
    free(data);
    size_t nowlen;
    unsigned char *now = slurp(p, &nowlen);
    CHECK(now && nowlen == oldlen && memcmp(now, old, oldlen) == 0, "old archive changed");
    free(old);
    free(now);
    CHECK(count_temps(tmpdir) == 0, "temp files left behind");
    LmNpz *z = lm_npz_read(p);
    CHECK(z && lm_npz_find(z, "W_rec"));
    lm_npz_free(z);

    /* a bad add poisons the archive: close fails and the old file stays */
    w = lm_npz_create(p);
    CHECK(lm_npz_add(w, "bad", LM_DT_F32, 5, (int64_t[]){1, 1, 1, 1, 1}, v) == -1);
    CHECK(lm_npz_add(w, "W_rec", LM_DT_F32, 1, (int64_t[]){3}, v) == 0);
    CHECK(lm_npz_add(w, "W_rec", LM_DT_F32, 1, (int64_t[]){3}, v) == -1 && strstr(lm_err_msg(), "twice"));
    CHECK(lm_npz_close(w) == -1 && strstr(lm_err_msg(), "rank"), "%s", lm_err_msg());
    z = lm_npz_read(p);
    CHECK(z && lm_npz_count(z) == 6);
    lm_npz_free(z);
    /* discard leaves the file alone too */
    w = lm_npz_create(p);
    lm_npz_add(w, "v", LM_DT_F32, 1, (int64_t[]){3}, v);
    lm_npz_discard(w);
    z = lm_npz_read(p);
    CHECK(z && lm_npz_count(z) == 6);
    lm_npz_free(z);
    /* a successful replacement really replaces */
    CHECK(lm_write_file_atomic(p, "new", 3) == 0);
    now = slurp(p, &nowlen);
    CHECK(now && nowlen == 3 && memcmp(now, "new", 3) == 0);
    free(now);
    CHECK(count_temps(tmpdir) == 0);
}

static void mkdir_p_works(void) {
    char p[512];
    path_in(p, sizeof p, "a/b//c/d/");
    CHECK(lm_mkdir_p(p) == 0, "%s", lm_err_msg());
    struct stat st;
    path_in(p, sizeof p, "a/b/c/d");
    CHECK(stat(p, &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(lm_mkdir_p(p) == 0);
    path_in(p, sizeof p, "plainfile2");
    spit(p, "x", 1);
    path_in(p, sizeof p, "plainfile2/sub");
    CHECK(lm_mkdir_p(p) == -1 && strstr(lm_err_msg(), "plainfile2"), "%s", lm_err_msg());
    CHECK(lm_mkdir_p("") == -1);
}

/* ------------------------------------------------------------ JSON */

static void json_files(void) {
    char p[512];
    path_in(p, sizeof p, "cfg.json");
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddNumberToObject(doc, "lr", 0.001);
    cJSON_AddStringToObject(doc, "mask", "local2d");
    cJSON *arr = cJSON_AddArrayToObject(doc, "sizes");
    for (int i = 0; i < 3; i++) cJSON_AddItemToArray(arr, cJSON_CreateNumber(16 << i));
    CHECK(lm_json_write(p, doc) == 0, "%s", lm_err_msg());
    cJSON *back = lm_json_read(p);
    CHECK(back && cJSON_Compare(doc, back, 1));
    CHECK(back && cJSON_GetObjectItem(back, "lr")->valuedouble == 0.001);
    cJSON_Delete(back);
    CHECK(count_temps(tmpdir) == 0);

    path_in(p, sizeof p, "bad.json");
    spit(p, "{\n  \"a\": 1,\n  \"b\": ]\n}\n", 23);
    CHECK(lm_json_read(p) == NULL);
    CHECK(strstr(lm_err_msg(), p) && strstr(lm_err_msg(), "line 3, column 8"), "%s", lm_err_msg());
    spit(p, "{\"a\": 1} trailing", 17);
    CHECK(lm_json_read(p) == NULL && strstr(lm_err_msg(), "line 1"), "%s", lm_err_msg());
    spit(p, "", 0);
    CHECK(lm_json_read(p) == NULL && strstr(lm_err_msg(), "empty"), "%s", lm_err_msg());
    path_in(p, sizeof p, "missing.json");
    CHECK(lm_json_read(p) == NULL && strstr(lm_err_msg(), p), "%s", lm_err_msg());
    snprintf(p, sizeof p, "%s/nodir/cfg.json", tmpdir);
    CHECK(lm_json_write(p, doc) == -1 && strstr(lm_err_msg(), p));

    /* JSON lines */
    path_in(p, sizeof p, "log.jsonl");
    for (int i = 0; i < 3; i++) {
        cJSON_ReplaceItemInObject(doc, "lr", cJSON_CreateNumber(i));
        CHECK(lm_jsonl_append(p, doc) == 0, "%s", lm_err_msg());
    }
    size_t len;
    unsigned char *b = slurp(p, &len);
    b[len] = 0;
    CHECK(len > 0 && b[len - 1] == '\n', "log must end with a newline");
    int lines = 0;
    char *save = NULL;
    for (char *line = strtok_r((char *)b, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cJSON *r = cJSON_Parse(line);
        CHECK(r && cJSON_GetObjectItem(r, "lr")->valueint == lines);
        cJSON_Delete(r);
        lines++;
    }
    CHECK(lines == 3, "%d lines", lines);
    free(b);
    CHECK(lm_jsonl_append("/dev/full", doc) == -1 && strstr(lm_err_msg(), "/dev/full") &&
          strstr(lm_err_msg(), "space"), "%s", lm_err_msg());
    snprintf(p, sizeof p, "%s/nodir/log.jsonl", tmpdir);
    CHECK(lm_jsonl_append(p, doc) == -1 && strstr(lm_err_msg(), p));
    cJSON_Delete(doc);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lmrnn_test_io.XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    RUN(headers_match_numpy);
    RUN(npy_round_trips);
    RUN(npz_round_trip_and_expect);
    RUN(reads_archives_written_by_numpy);
    RUN(numpy_reads_our_archives);
    RUN(corrupt_inputs_fail_cleanly);
    RUN(fuzzed_archives_never_crash);
    RUN(failed_writes_leave_old_files);
    RUN(mkdir_p_works);
    RUN(json_files);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", tmpdir);
    return CHECK_DONE();
}
