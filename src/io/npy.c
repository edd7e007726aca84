/* The .npy format (version 1.0; 2.0/3.0 accepted on read): magic, header dict, raw C-order payload.
 * Headers are built byte for byte as numpy 1.24 writes them (including the spare "growth" spaces), so
 * files are indistinguishable from numpy's own. Parsing never trusts the input: every length, shape
 * and size is checked before use, and failures come back as messages rather than crashes. */
#include "io/npy_internal.h"
#include "util/err.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "lmrnn's .npy code assumes a little-endian host"
#endif

size_t lm_dtype_size(LmDtype t) {
    switch (t) {
    case LM_DT_F32: return 4;
    case LM_DT_F64: return 8;
    case LM_DT_I32: return 4;
    case LM_DT_I64: return 8;
    case LM_DT_U8: return 1;
    case LM_DT_STR: return 1;
    }
    return 0;
}

const char *lm_dtype_name(LmDtype t) {
    switch (t) {
    case LM_DT_F32: return "float32";
    case LM_DT_F64: return "float64";
    case LM_DT_I32: return "int32";
    case LM_DT_I64: return "int64";
    case LM_DT_U8: return "uint8";
    case LM_DT_STR: return "str";
    }
    return "?";
}

static const char *dtype_descr(LmDtype t) {
    switch (t) {
    case LM_DT_F32: return "<f4";
    case LM_DT_F64: return "<f8";
    case LM_DT_I32: return "<i4";
    case LM_DT_I64: return "<i8";
    case LM_DT_U8: return "|u1";
    case LM_DT_STR: return NULL;
    }
    return NULL;
}

void lm_array_free(LmArray *a) {
    if (!a) return;
    free(a->data);
    a->data = NULL;
    a->count = 0;
}

/* ---------------------------------------------------------------- writing */

/* numpy: GROWTH_AXIS_MAX_DIGITS spaces minus the digits of shape[0], then pad so that
 * magic(6) + version(2) + len(2) + header is a multiple of 64, the last byte being '\n'. */
static size_t build_header(char *out, const char *descr, int ndim, const int64_t *shape) {
    char dict[512];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < ndim; i++)
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%s%lld", i ? ", " : "", (long long)shape[i]);
    n += snprintf(dict + n, sizeof dict - (size_t)n, "%s), }", ndim == 1 ? "," : "");
    if (ndim > 0) {
        char first[32];
        int digits = snprintf(first, sizeof first, "%lld", (long long)shape[0]);
        for (int i = digits; i < 21; i++) dict[n++] = ' ';
    }
    size_t hlen = (size_t)n + 1;
    size_t pad = 64 - ((10 + hlen) % 64);
    size_t total = hlen + pad; /* header length field */
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (char)(total & 0xff);
    out[9] = (char)(total >> 8);
    memcpy(out + 10, dict, (size_t)n);
    memset(out + 10 + n, ' ', pad);
    out[10 + total - 1] = '\n';
    return 10 + total;
}

/* UTF-8 -> code points; -1 on malformed input. out may be NULL to count. */
static long utf8_decode(const char *s, uint32_t *out) {
    const unsigned char *p = (const unsigned char *)s;
    long n = 0;
    while (*p) {
        uint32_t c;
        int extra;
        if (p[0] < 0x80) { c = p[0]; extra = 0; }
        else if ((p[0] & 0xe0) == 0xc0) { c = p[0] & 0x1f; extra = 1; }
        else if ((p[0] & 0xf0) == 0xe0) { c = p[0] & 0x0f; extra = 2; }
        else if ((p[0] & 0xf8) == 0xf0) { c = p[0] & 0x07; extra = 3; }
        else return -1;
        for (int k = 1; k <= extra; k++) {
            if ((p[k] & 0xc0) != 0x80) return -1;
            c = (c << 6) | (p[k] & 0x3f);
        }
        if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return -1;
        if (out) out[n] = c;
        n++;
        p += 1 + extra;
    }
    return n;
}

static size_t utf8_encode(uint32_t c, char *out) {
    if (c < 0x80) { out[0] = (char)c; return 1; }
    if (c < 0x800) { out[0] = (char)(0xc0 | (c >> 6)); out[1] = (char)(0x80 | (c & 0x3f)); return 2; }
    if (c < 0x10000) {
        out[0] = (char)(0xe0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        out[2] = (char)(0x80 | (c & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
    out[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

int lm_npy_check_args(LmDtype dtype, int ndim, const int64_t *shape, size_t *count) {
    if (!dtype_descr(dtype)) {
        lm_err_set("unsupported dtype %d for a numeric array", (int)dtype);
        return -1;
    }
    if (ndim < 0 || ndim > LM_NPY_MAXDIM) {
        lm_err_set("array rank %d outside 0..%d", ndim, LM_NPY_MAXDIM);
        return -1;
    }
    size_t c = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) {
            lm_err_set("negative array dimension %lld", (long long)shape[i]);
            return -1;
        }
        if (shape[i] && c > SIZE_MAX / 16 / (size_t)shape[i]) {
            lm_err_set("array too large");
            return -1;
        }
        c *= (size_t)shape[i];
    }
    *count = c;
    return 0;
}

unsigned char *lm_npy_encode(LmDtype dtype, int ndim, const int64_t *shape, const void *data,
                             size_t *len) {
    size_t count;
    if (lm_npy_check_args(dtype, ndim, shape, &count)) return NULL;
    size_t bytes = count * lm_dtype_size(dtype);
    unsigned char *buf = malloc(LM_NPY_HEADER_MAX + bytes);
    if (!buf) {
        lm_err_set("out of memory for a %zu-byte array", bytes);
        return NULL;
    }
    size_t h = build_header((char *)buf, dtype_descr(dtype), ndim, shape);
    if (bytes) memcpy(buf + h, data, bytes);
    *len = h + bytes;
    return buf;
}

unsigned char *lm_npy_encode_string(const char *text, size_t *len) {
    long n = utf8_decode(text, NULL);
    if (n < 0) {
        lm_err_set("string is not valid UTF-8");
        return NULL;
    }
    /* numpy stores '' as '<U1' holding one NUL code point */
    long width = n ? n : 1;
    char descr[32];
    snprintf(descr, sizeof descr, "<U%ld", width);
    unsigned char *buf = malloc(LM_NPY_HEADER_MAX + 4 * (size_t)width);
    if (!buf) {
        lm_err_set("out of memory for a string");
        return NULL;
    }
    size_t h = build_header((char *)buf, descr, 0, NULL);
    uint32_t *cp = calloc((size_t)width, sizeof *cp);
    if (!cp) {
        free(buf);
        lm_err_set("out of memory for a string");
        return NULL;
    }
    utf8_decode(text, cp);
    memcpy(buf + h, cp, 4 * (size_t)width); /* host is little-endian: UTF-32LE */
    free(cp);
    *len = h + 4 * (size_t)width;
    return buf;
}

int lm_npy_write(const char *path, LmDtype dtype, int ndim, const int64_t *shape, const void *data) {
    size_t len;
    unsigned char *buf = lm_npy_encode(dtype, ndim, shape, data, &len);
    if (!buf) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", lm_err_msg());
        lm_err_set("%s: %s", path, msg);
        return -1;
    }
    int rc = lm_write_file_atomic(path, buf, len);
    free(buf);
    return rc;
}

/* ---------------------------------------------------------------- reading */

typedef struct {
    const char *p, *end;
} Cursor;

static void skip_ws(Cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int eat(Cursor *c, char ch) {
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A quoted Python string literal without escapes (all that numpy headers contain). */
static int parse_str(Cursor *c, char *out, size_t cap) {
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return -1;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || n + 1 >= cap) return -1;
        out[n++] = *c->p++;
    }
    if (c->p >= c->end) return -1;
    c->p++;
    out[n] = 0;
    return 0;
}

static int parse_shape(Cursor *c, int *ndim, int64_t *shape) {
    if (!eat(c, '(')) return -1;
    int n = 0;
    for (;;) {
        if (eat(c, ')')) break;
        skip_ws(c);
        if (c->p >= c->end || *c->p < '0' || *c->p > '9') return -1;
        int64_t v = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            if (v > (INT64_MAX - 9) / 10) return -1;
            v = v * 10 + (*c->p++ - '0');
        }
        if (c->p < c->end && *c->p == 'L') c->p++; /* Python 2 long literal */
        if (n >= LM_NPY_MAXDIM) return -2;
        shape[n++] = v;
        if (eat(c, ',')) continue;
        if (eat(c, ')')) break;
        return -1;
    }
    *ndim = n;
    return 0;
}

/* "descr" -> dtype (and the width of a '<U<n>' string); -1 with the reason. */
static int parse_descr(const char *descr, LmNpyHeader *h, char *why, size_t whylen) {
    static const struct { const char *descr; LmDtype dt; } known[] = {
        {"<f4", LM_DT_F32}, {"<f8", LM_DT_F64}, {"<i4", LM_DT_I32}, {"<i8", LM_DT_I64},
        {"|u1", LM_DT_U8},  {"<u1", LM_DT_U8},  {"|b1", LM_DT_U8},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(descr, known[i].descr)) {
            h->dtype = known[i].dt;
            h->itemsize = lm_dtype_size(known[i].dt);
            return 0;
        }
    if (descr[0] == '<' && descr[1] == 'U') {
        char *e;
        errno = 0;
        long w = strtol(descr + 2, &e, 10);
        if (descr[2] >= '0' && descr[2] <= '9' && !*e && !errno && w >= 0 && w <= (1L << 28)) {
            h->dtype = LM_DT_STR;
            h->strwidth = w;
            h->itemsize = 4 * (size_t)w;
            return 0;
        }
    } else if (descr[0] == '>' && descr[1] && strcmp(descr + 1, "u1") && strcmp(descr + 1, "i1")) {
        snprintf(why, whylen, "big-endian dtype '%s' is not supported", descr);
        return -1;
    }
    snprintf(why, whylen, "unsupported dtype '%s'", descr);
    return -1;
}

typedef struct {
    char descr[32];
    int have_descr, have_order, have_shape, fortran;
} HeaderKeys;

/* One "key: value" entry of the header dict. 0, -1 malformed, -2 with a specific reason in why. */
static int parse_entry(Cursor *c, HeaderKeys *k, LmNpyHeader *h, char *why, size_t whylen) {
    char key[32];
    if (parse_str(c, key, sizeof key) || !eat(c, ':')) return -1;
    if (!strcmp(key, "descr")) {
        if (parse_str(c, k->descr, sizeof k->descr)) {
            snprintf(why, whylen, "unsupported dtype (structured or too long)");
            return -2;
        }
        k->have_descr = 1;
    } else if (!strcmp(key, "fortran_order")) {
        skip_ws(c);
        if (c->end - c->p >= 4 && !memcmp(c->p, "True", 4)) { k->fortran = 1; c->p += 4; }
        else if (c->end - c->p >= 5 && !memcmp(c->p, "False", 5)) { k->fortran = 0; c->p += 5; }
        else return -1;
        k->have_order = 1;
    } else if (!strcmp(key, "shape")) {
        int r = parse_shape(c, &h->ndim, h->shape);
        if (r == -2) {
            snprintf(why, whylen, "more than %d dimensions", LM_NPY_MAXDIM);
            return -2;
        }
        if (r) return -1;
        k->have_shape = 1;
    } else {
        return -1;
    }
    return 0;
}

/* The header dict {'descr': ..., 'fortran_order': ..., 'shape': (...), } */
static int parse_dict(Cursor *c, LmNpyHeader *h, char *why, size_t whylen) {
    HeaderKeys k;
    memset(&k, 0, sizeof k);
    int r = eat(c, '{') ? 0 : -1;
    while (r == 0 && !eat(c, '}')) {
        r = parse_entry(c, &k, h, why, whylen);
        if (r == 0 && !eat(c, ',')) r = eat(c, '}') ? 1 : -1;
    }
    if (r == -2) return -1;
    if (r == -1 || !k.have_descr || !k.have_order || !k.have_shape) {
        snprintf(why, whylen, "malformed .npy header");
        return -1;
    }
    if (k.fortran) {
        snprintf(why, whylen, "fortran_order arrays are not supported");
        return -1;
    }
    return parse_descr(k.descr, h, why, whylen);
}

/* Element count and payload bytes of the parsed shape, refusing sizes that overflow. */
static int header_sizes(LmNpyHeader *h, char *why, size_t whylen) {
    size_t count = 1;
    for (int i = 0; i < h->ndim; i++) {
        if (h->shape[i] && count > (SIZE_MAX / 16) / (size_t)h->shape[i]) {
            snprintf(why, whylen, "shape too large");
            return -1;
        }
        count *= (size_t)h->shape[i];
    }
    if (h->itemsize && count > SIZE_MAX / 16 / h->itemsize) {
        snprintf(why, whylen, "shape too large");
        return -1;
    }
    if (h->dtype == LM_DT_STR && count != 1) {
        snprintf(why, whylen, "only single (0-d) strings are supported");
        return -1;
    }
    h->count = count;
    h->payload = count * h->itemsize;
    return 0;
}

int lm_npy_header_len(const unsigned char *buf, size_t len, size_t *total, char *why, size_t whylen) {
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0) {
        snprintf(why, whylen, len < 10 && len >= 6 && !memcmp(buf, "\x93NUMPY", 6) ? "truncated .npy header"
                                                                                  : "not a .npy file (bad magic)");
        return -1;
    }
    int major = buf[6];
    size_t hlen, hstart;
    if (major == 1) {
        hlen = (size_t)buf[8] | ((size_t)buf[9] << 8);
        hstart = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12) {
            snprintf(why, whylen, "truncated .npy header");
            return -1;
        }
        hlen = (size_t)buf[8] | ((size_t)buf[9] << 8) | ((size_t)buf[10] << 16) | ((size_t)buf[11] << 24);
        hstart = 12;
    } else {
        snprintf(why, whylen, "unsupported .npy format version %d.%d", major, buf[7]);
        return -1;
    }
    if (hlen > LM_NPY_HEADER_READ_MAX) {
        snprintf(why, whylen, ".npy header of %zu bytes is implausibly long", hlen);
        return -1;
    }
    *total = hstart + hlen;
    return 0;
}

int lm_npy_parse_header(const unsigned char *buf, size_t len, LmNpyHeader *h, char *why, size_t whylen) {
    memset(h, 0, sizeof *h);
    size_t total;
    if (lm_npy_header_len(buf, len, &total, why, whylen)) return -1;
    if (total > len) {
        snprintf(why, whylen, "truncated .npy header");
        return -1;
    }
    size_t hstart = buf[6] == 1 ? 10 : 12;
    Cursor c = {(const char *)buf + hstart, (const char *)buf + total};
    if (parse_dict(&c, h, why, whylen) || header_sizes(h, why, whylen)) return -1;
    h->header_len = total;
    return 0;
}

/* UTF-32LE code points (numpy pads with NUL, which ends the string) -> a malloc'd UTF-8 string. */
static char *utf32_to_utf8(const unsigned char *data, long width, size_t *n_out, char *why, size_t whylen) {
    char *s = malloc(4 * (size_t)width + 1);
    if (!s) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    size_t n = 0;
    for (long i = 0; i < width; i++) {
        const unsigned char *q = data + 4 * i;
        uint32_t cp = (uint32_t)q[0] | ((uint32_t)q[1] << 8) | ((uint32_t)q[2] << 16) | ((uint32_t)q[3] << 24);
        if (cp == 0) break;
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            free(s);
            snprintf(why, whylen, "invalid code point in string");
            return NULL;
        }
        n += utf8_encode(cp, s + n);
    }
    s[n] = 0;
    *n_out = n;
    return s;
}

int lm_npy_set_payload(const LmNpyHeader *h, void *payload, LmArray *out, char *why, size_t whylen) {
    memset(out, 0, sizeof *out);
    if (h->dtype == LM_DT_STR) {
        size_t n;
        char *s = utf32_to_utf8(payload, h->strwidth, &n, why, whylen);
        free(payload);
        if (!s) return -1;
        out->dtype = LM_DT_STR;
        out->data = s;
        out->count = n;
        return 0;
    }
    out->dtype = h->dtype;
    out->ndim = h->ndim;
    for (int i = 0; i < h->ndim; i++) out->shape[i] = h->shape[i];
    out->data = payload;
    out->count = h->count;
    return 0;
}

/* Decodes one .npy image. On failure returns -1 and writes a reason (without file name) to why. */
int lm_npy_decode(const unsigned char *buf, size_t len, LmArray *out, char *why, size_t whylen) {
    memset(out, 0, sizeof *out);
    LmNpyHeader h;
    if (lm_npy_parse_header(buf, len, &h, why, whylen)) return -1;
    if (len - h.header_len != h.payload) {
        snprintf(why, whylen, "payload is %zu bytes but shape and dtype need %zu", len - h.header_len, h.payload);
        return -1;
    }
    void *d = malloc(h.payload ? h.payload : 1);
    if (!d) {
        snprintf(why, whylen, "out of memory for %zu bytes", h.payload);
        return -1;
    }
    if (h.payload) memcpy(d, buf + h.header_len, h.payload);
    return lm_npy_set_payload(&h, d, out, why, whylen);
}

int lm_npy_read(const char *path, LmArray *out) { return lm_npy_read_max(path, LM_READ_MAX, out); }

int lm_npy_read_max(const char *path, size_t max_bytes, LmArray *out) {
    memset(out, 0, sizeof *out);
    size_t len;
    unsigned char *buf = lm_read_file_max(path, max_bytes, &len);
    if (!buf) return -1;
    char why[256];
    int rc = lm_npy_decode(buf, len, out, why, sizeof why);
    free(buf);
    if (rc) {
        lm_err_set("%s: %s", path, why);
        return -1;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(out->name, sizeof out->name, "%s", base);
    size_t bl = strlen(out->name);
    if (bl > 4 && !strcmp(out->name + bl - 4, ".npy")) out->name[bl - 4] = 0;
    return 0;
}
