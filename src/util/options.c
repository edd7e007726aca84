/* Options tables: parsing, JSON, help and messages from one description of a command's options. */
#include "util/options.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "util/err.h"
#include "util/number.h"

/* "--sigma-rec" / "sigma_rec" / "sigma-rec" all name "sigma_rec". */
static int same_name(const char *key, const char *name) {
    while (*key == '-') key++;
    for (; *key && *name; key++, name++) {
        char a = *key == '-' ? '_' : *key, b = *name == '-' ? '_' : *name;
        if (a != b) return 0;
    }
    return *key == '\0' && *name == '\0';
}

void lm_opts_flag(const LmOption *o, char *buf, size_t n) {
    snprintf(buf, n, "--%s", o->name);
    for (char *p = buf + 2; *p; p++)
        if (*p == '_') *p = '-';
}

const LmOption *lm_opts_find(const LmOptTable *t, const char *key) {
    for (int i = 0; i < t->n; i++)
        if (same_name(key, t->opts[i].name)) return &t->opts[i];
    return NULL;
}

/* Prefix the current message with the flag unless it already starts with it (copied first:
 * lm_err_set reuses the buffer). */
static int fail_with_flag(const char *flag) {
    char msg[600];
    snprintf(msg, sizeof msg, "%s", lm_err_msg());
    if (strncmp(msg, flag, strlen(flag)) != 0) lm_err_set("%s: %s", flag, msg);
    return -1;
}

static int parse_bool(const char *v, int *out) {
    if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes")) *out = 1;
    else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no")) *out = 0;
    else {
        lm_err_set("'%s' is not true or false", v);
        return -1;
    }
    return 0;
}

static int enum_value(const LmOption *o, int index) { return o->values ? o->values[index] : index; }

static int parse_enum(const LmOption *o, const char *v, int *out) {
    int n = 0;
    for (; o->names[n]; n++)
        if (same_name(v, o->names[n]) && v[0] != '-') {
            *out = enum_value(o, n);
            return 0;
        }
    char list[200] = "";
    for (int i = 0; i < n; i++) {
        strncat(list, o->names[i], sizeof list - strlen(list) - 1);
        if (i + 1 < n) strncat(list, ", ", sizeof list - strlen(list) - 1);
    }
    lm_err_set("unknown value '%s' (expected one of: %s)", v, list);
    return -1;
}

static int positive_check(const LmOption *o, const char *flag, double v) {
    if ((o->flags & LM_OPT_POSITIVE) && !(v > 0)) {
        lm_err_set("%s: %g must be greater than 0", flag, v);
        return -1;
    }
    return 0;
}

int lm_opts_set_opt(const LmOption *o, void *obj, const char *value) {
    char flag[80];
    lm_opts_flag(o, flag, sizeof flag);
    void *field = (char *)obj + o->offset;
    int has_range = o->min != 0 || o->max != 0;
    switch (o->type) {
    case LM_OPT_STRING:
        if (o->size == 0) {
            *(const char **)field = value;
            return 0;
        }
        if (strlen(value) >= o->size) {
            lm_err_set("%s: value is too long (%zu characters, at most %zu)", flag, strlen(value), o->size - 1);
            return -1;
        }
        memcpy(field, value, strlen(value) + 1);
        return 0;
    case LM_OPT_INT: {
        int64_t v;
        int64_t lo = has_range ? (int64_t)o->min : -2147483647 - 1, hi = has_range ? (int64_t)o->max : 2147483647;
        if (lm_parse_i64(flag, value, lo, hi, &v) != 0 || positive_check(o, flag, (double)v) != 0) return -1;
        *(int *)field = (int)v;
        return 0;
    }
    case LM_OPT_INT64: {
        int64_t v;
        int64_t lo = has_range ? (int64_t)o->min : INT64_MIN, hi = has_range ? (int64_t)o->max : INT64_MAX;
        if (lm_parse_i64(flag, value, lo, hi, &v) != 0 || positive_check(o, flag, (double)v) != 0) return -1;
        *(int64_t *)field = v;
        return 0;
    }
    case LM_OPT_UINT64:
        return lm_parse_u64(flag, value, (uint64_t *)field);
    case LM_OPT_DOUBLE: {
        double v;
        double lo = has_range ? o->min : -HUGE_VAL, hi = has_range ? o->max : HUGE_VAL;
        if (lm_parse_double(flag, value, lo, hi, &v) != 0 || positive_check(o, flag, v) != 0) return -1;
        *(double *)field = v;
        return 0;
    }
    case LM_OPT_BOOL:
        if (parse_bool(value, (int *)field) != 0) return fail_with_flag(flag);
        return 0;
    case LM_OPT_ENUM:
        if (parse_enum(o, value, (int *)field) != 0) return fail_with_flag(flag);
        return 0;
    case LM_OPT_CUSTOM:
        if (o->parse(obj, value) != 0) return fail_with_flag(flag);
        return 0;
    }
    lm_err_set("%s: internal error (option type)", flag);
    return -1;
}

int lm_opts_set(const LmOptTable *t, void *obj, const char *key, const char *value) {
    const LmOption *o = lm_opts_find(t, key);
    if (!o) {
        lm_err_set("unknown option '%s'", key);
        return -1;
    }
    return lm_opts_set_opt(o, obj, value);
}

void lm_opts_defaults(const LmOptTable *t, void *obj) {
    for (int i = 0; i < t->n; i++)
        if (t->opts[i].def && lm_opts_set_opt(&t->opts[i], obj, t->opts[i].def) != 0)
            lm_die("internal error: default of %s: %s", t->opts[i].name, lm_err_msg());
}

/* ------------------------------------------------------------------ command lines */

static const LmOption *find_in(const LmOptTable *const *tables, int n_tables, const char *key,
                               const LmOptTable **which) {
    for (int k = 0; k < n_tables; k++) {
        const LmOption *o = lm_opts_find(tables[k], key);
        if (o) {
            *which = tables[k];
            return o;
        }
    }
    return NULL;
}

int lm_opts_scan(const LmOptTable *const *tables, int n_tables, int argc, char **argv, int max_pos,
                 LmOptScan *s) {
    memset(s, 0, sizeof *s);
    const char *see = n_tables > 0 ? tables[0]->command : "";
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            s->help = 1;
            continue;
        }
        if (arg[0] != '-' || arg[1] == '\0') {
            if (s->n_pos >= max_pos) {
                lm_err_set("unexpected argument '%s' (see lmrnn %s --help)", arg, see);
                return -1;
            }
            s->pos[s->n_pos++] = arg;
            continue;
        }
        char name[80];
        const char *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        if (len >= sizeof name) len = sizeof name - 1;
        memcpy(name, arg, len);
        name[len] = '\0';
        const LmOptTable *t = NULL;
        const LmOption *o = strncmp(name, "--", 2) == 0 ? find_in(tables, n_tables, name, &t) : NULL;
        if (!o) {
            lm_err_set("unknown option '%s' (see lmrnn %s --help)", name, see);
            return -1;
        }
        const char *value;
        if (eq) value = eq + 1;
        else if (o->type == LM_OPT_BOOL) value = "true";
        else if (i + 1 < argc) value = argv[++i];
        else {
            lm_err_set("%s needs a value", name);
            return -1;
        }
        if (s->n >= LM_OPTS_MAX_ARGS) {
            lm_err_set("too many options");
            return -1;
        }
        s->args[s->n].table = t;
        s->args[s->n].opt = o;
        s->args[s->n++].value = value;
    }
    return 0;
}

int lm_opts_apply(const LmOptTable *t, void *obj, const LmOptScan *s) {
    for (int i = 0; i < s->n; i++)
        if (s->args[i].table == t && lm_opts_set_opt(s->args[i].opt, obj, s->args[i].value) != 0) return -1;
    return 0;
}

int lm_opts_given(const LmOptScan *s, const char *name) {
    for (int i = 0; i < s->n; i++)
        if (same_name(name, s->args[i].opt->name)) return 1;
    return 0;
}

int lm_opts_parse(const LmOptTable *t, void *obj, int argc, char **argv, int max_pos, LmOptScan *s) {
    lm_opts_defaults(t, obj);
    if (lm_opts_scan(&t, 1, argc, argv, max_pos, s) != 0) return -1;
    return lm_opts_apply(t, obj, s);
}

/* ------------------------------------------------------------------ JSON */

int lm_opts_apply_json(const LmOptTable *t, void *obj, const cJSON *json, const char *what,
                       const char *const *ignore) {
    if (!cJSON_IsObject(json)) {
        lm_err_set("%s: expected a JSON object of options", what);
        return -1;
    }
    for (const cJSON *it = json->child; it; it = it->next) {
        const char *k = it->string;
        int skip = 0;
        for (int i = 0; ignore && ignore[i]; i++) skip |= !strcmp(k, ignore[i]);
        if (skip) continue;
        const LmOption *o = lm_opts_find(t, k);
        if (!o) {
            lm_err_set("%s: unknown option '%s'", what, k);
            return -1;
        }
        char text[64];
        const char *v;
        if (o->type == LM_OPT_STRING && o->size == 0) {
            lm_err_set("%s: option '%s' cannot be set from a file", what, k);
            return -1;
        }
        if (cJSON_IsString(it)) {
            v = it->valuestring;
        } else if (cJSON_IsBool(it)) {
            v = cJSON_IsTrue(it) ? "true" : "false";
        } else if (cJSON_IsNumber(it)) {
            double x = it->valuedouble;
            /* Integral values are written without an exponent so that integer options parse. */
            if (x == floor(x) && fabs(x) < 1e15) snprintf(text, sizeof text, "%.0f", x);
            else snprintf(text, sizeof text, "%.17g", x);
            v = text;
        } else if (cJSON_IsNull(it) && (o->type == LM_OPT_STRING || o->type == LM_OPT_CUSTOM)) {
            v = "";
        } else {
            lm_err_set("%s: option '%s' must be a number, string or boolean", what, k);
            return -1;
        }
        if (lm_opts_set_opt(o, obj, v) != 0) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", lm_err_msg());
            lm_err_set("%s: %s", what, msg);
            return -1;
        }
    }
    return 0;
}

void lm_opts_format(const LmOption *o, const void *obj, char *buf, size_t n) {
    const void *f = (const char *)obj + o->offset;
    switch (o->type) {
    case LM_OPT_STRING: {
        const char *s = o->size ? (const char *)f : *(const char *const *)f;
        snprintf(buf, n, "%s", s ? s : "");
        return;
    }
    case LM_OPT_INT: snprintf(buf, n, "%d", *(const int *)f); return;
    case LM_OPT_INT64: snprintf(buf, n, "%lld", (long long)*(const int64_t *)f); return;
    case LM_OPT_UINT64: snprintf(buf, n, "%llu", (unsigned long long)*(const uint64_t *)f); return;
    case LM_OPT_DOUBLE: snprintf(buf, n, "%.17g", *(const double *)f); return;
    case LM_OPT_BOOL: snprintf(buf, n, "%s", *(const int *)f ? "true" : "false"); return;
    case LM_OPT_ENUM: {
        int v = *(const int *)f;
        for (int i = 0; o->names[i]; i++)
            if (enum_value(o, i) == v) {
                snprintf(buf, n, "%s", o->names[i]);
                return;
            }
        snprintf(buf, n, "?");
        return;
    }
    case LM_OPT_CUSTOM: o->format(obj, buf, n); return;
    }
}

cJSON *lm_opts_to_json(const LmOptTable *t, const void *obj) {
    cJSON *j = cJSON_CreateObject();
    for (int i = 0; i < t->n; i++) {
        const LmOption *o = &t->opts[i];
        const void *f = (const char *)obj + o->offset;
        char text[600];
        switch (o->type) {
        case LM_OPT_INT: cJSON_AddNumberToObject(j, o->name, *(const int *)f); break;
        case LM_OPT_INT64: cJSON_AddNumberToObject(j, o->name, (double)*(const int64_t *)f); break;
        case LM_OPT_UINT64: {
            uint64_t v = *(const uint64_t *)f;
            if (v <= (1ull << 53)) {
                cJSON_AddNumberToObject(j, o->name, (double)v);
            } else { /* beyond a double's integers: keep it exact as text */
                lm_opts_format(o, obj, text, sizeof text);
                cJSON_AddStringToObject(j, o->name, text);
            }
            break;
        }
        case LM_OPT_DOUBLE: cJSON_AddNumberToObject(j, o->name, *(const double *)f); break;
        case LM_OPT_BOOL: cJSON_AddBoolToObject(j, o->name, *(const int *)f); break;
        default:
            lm_opts_format(o, obj, text, sizeof text);
            cJSON_AddStringToObject(j, o->name, text);
            break;
        }
    }
    return j;
}

int lm_opts_equal(const LmOption *o, const void *a, const void *b) {
    const char *fa = (const char *)a + o->offset, *fb = (const char *)b + o->offset;
    switch (o->type) {
    case LM_OPT_INT64: return *(const int64_t *)fa == *(const int64_t *)fb;
    case LM_OPT_UINT64: return *(const uint64_t *)fa == *(const uint64_t *)fb;
    case LM_OPT_DOUBLE: return *(const double *)fa == *(const double *)fb;
    case LM_OPT_INT:
    case LM_OPT_BOOL:
    case LM_OPT_ENUM: return *(const int *)fa == *(const int *)fb;
    default: {
        char ta[600], tb[600];
        lm_opts_format(o, a, ta, sizeof ta);
        lm_opts_format(o, b, tb, sizeof tb);
        return strcmp(ta, tb) == 0;
    }
    }
}

/* ------------------------------------------------------------------ help and messages */

void lm_opts_print_help(FILE *f, const LmOptTable *t) {
    for (int i = 0; i < t->n; i++) {
        const LmOption *o = &t->opts[i];
        char flag[64], dv[64];
        lm_opts_flag(o, flag, sizeof flag);
        const char *def = o->def && o->def[0] ? o->def : "-";
        if (o->type == LM_OPT_BOOL) def = o->def && !strcmp(o->def, "true") ? "on" : "off";
        snprintf(dv, sizeof dv, "%s", def);
        fprintf(f, "  %-20s %-10s %s\n", flag, dv, o->help);
    }
}

int lm_opts_fail(const char *command, int status) {
    fprintf(stderr, "lmrnn: %s: %s\n", command, lm_err_msg());
    return status;
}
