/* Batteries: the named ones (yang20, modcog82, modcog126) and user lists of task names. */
#include <stdio.h>
#include <string.h>
#include "tasks/battery.h"
#include "util/err.h"

static void add(LmBattery *b, int id, const char *name) {
    b->id[b->n] = id;
    snprintf(b->name[b->n], sizeof b->name[0], "%s", name);
    b->n++;
}

static const char *const battery_names[3] = {"yang20", "modcog82", "modcog126"};

/* "unknown task 'x' (closest: a, b, c)"; a lone unknown word may also have meant a battery. */
static void unknown(const char *name, int with_batteries) {
    const char *sug[4];
    int ns = lm_task_suggest(name, sug, 4);
    if (with_batteries) {
        /* Put a battery name first when it is at least as close as the best task name. */
        for (int b = 0; b < 3; b++) {
            int db = lm_edit_distance(name, battery_names[b]);
            if (ns == 0 || db <= lm_edit_distance(name, sug[0])) {
                memmove(sug + 1, sug, sizeof(sug[0]) * 3);
                sug[0] = battery_names[b];
                if (ns < 4) ns++;
            }
        }
    }
    char list[160] = "";
    int used = 0;
    for (int i = 0; i < ns && used < (int)sizeof list; i++)
        used += snprintf(list + used, sizeof list - (size_t)used, "%s%s", i ? ", " : "", sug[i]);
    if (with_batteries)
        lm_err_set("unknown task or battery '%s' (closest: %s; batteries: yang20, modcog82, modcog126)", name,
                   list);
    else
        lm_err_set("unknown task '%s' (closest: %s)", name, list);
}

int lm_battery_parse(const char *spec, LmBattery *out) {
    memset(out, 0, sizeof *out);
    if (!spec || !*spec) {
        lm_err_set("empty battery (expected yang20, modcog82, modcog126 or task names separated by commas)");
        return -1;
    }
    snprintf(out->spec, sizeof out->spec, "%s", spec);
    int n = 0;
    if (!strcmp(spec, "yang20")) n = 20;
    else if (!strcmp(spec, "modcog82")) n = 82;
    else if (!strcmp(spec, "modcog126")) n = LM_N_CATALOGUE;
    if (n) {
        for (int i = 0; i < n; i++) add(out, i, lm_task_def(i)->name);
        return 0;
    }
    const int single = strchr(spec, ',') == NULL;
    const char *p = spec;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char tok[sizeof out->name[0]];
        if (len == 0) {
            lm_err_set("battery '%s': empty task name", spec);
            return -1;
        }
        if (len >= sizeof tok) {
            lm_err_set("unknown task '%.40s...' (name too long)", p);
            return -1;
        }
        memcpy(tok, p, len);
        tok[len] = '\0';
        int id = lm_task_lookup(tok);
        if (id < 0) {
            unknown(tok, single);
            return -1;
        }
        for (int k = 0; k < out->n; k++)
            if (!strcmp(out->name[k], tok)) {   /* one rule input per name: a repeat would be an untrained one */
                lm_err_set("battery '%.60s' names task '%s' twice", spec, tok);
                return -1;
            }
        if (out->n >= LM_MAX_BATTERY) {
            lm_err_set("battery: more than %d tasks", LM_MAX_BATTERY);
            return -1;
        }
        add(out, id, tok);
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

LmGroup lm_task_group(int id) {
    const LmTaskDef *d = lm_task_def(id);
    if (d->integ && d->seq) return LM_GROUP_INTSEQ;
    if (d->integ) return LM_GROUP_INT;
    if (d->seq) return LM_GROUP_SEQ;
    return LM_GROUP_BASE;
}

/* The one spelling of the task groups: keys in files (eval.json "groups", log records), labels on
 * screen and in figures. */
static const char *const group_keys[LM_N_GROUPS] = {"base", "int", "seq", "intseq"};
static const char *const group_labels[LM_N_GROUPS] = {"base", "int", "seq", "int+seq"};

const char *lm_group_name(LmGroup g) { return (unsigned)g < LM_N_GROUPS ? group_keys[g] : "?"; }
const char *lm_group_label(LmGroup g) { return (unsigned)g < LM_N_GROUPS ? group_labels[g] : "?"; }

int lm_group_parse(const char *name) {
    for (int g = 0; g < LM_N_GROUPS; g++)
        if (!strcmp(name, group_keys[g]) || !strcmp(name, group_labels[g])) return g;
    return -1;
}
