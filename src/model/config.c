/* Names of the model's options and their defaults (docs/model.md §1, §3). */
#include <string.h>
#include "model/model.h"
#include "util/err.h"

void lm_model_config_default(LmModelConfig *c, int n_in, int n_hidden, int n_out) {
    memset(c, 0, sizeof *c);
    c->n_in = n_in;
    c->n_hidden = n_hidden;
    c->n_out = n_out;
    c->rule = LM_RULE_NGYM;
    c->act = LM_ACT_RELU;
    c->alpha = 1.0;
    c->sigma_rec = 0.0;
    c->rec_init = LM_INIT_HALF_IDENTITY;
    c->rec_gain = 0.5;
    c->path = LM_PATH_AUTO;
}

static const char *const rule_names[] = {"ngym", "yang"};
static const char *const act_names[] = {"relu", "softplus", "tanh"};
static const char *const init_names[] = {"half_identity", "randortho", "gaussian", "gaussian_fanin",
                                         "randortho_fanin"};
static const char *const mask_names[] = {"full", "local2d", "local1d", "random", "diag", "file", "random_diag"};

int lm_rule_parse(const char *s, LmUpdateRule *out) {
    int i = lm_name_lookup("update rule", s, rule_names, 2);
    if (i < 0) return -1;
    *out = (LmUpdateRule)i;
    return 0;
}

int lm_act_parse(const char *s, LmActivation *out) {
    int i = lm_name_lookup("activation", s, act_names, 3);
    if (i < 0) return -1;
    *out = (LmActivation)i;
    return 0;
}

int lm_init_parse(const char *s, LmRecInit *out) {
    /* "identity" is accepted as a short alias of the default 0.5 I (scaled by rec_gain). */
    if (s && strcmp(s, "identity") == 0) {
        *out = LM_INIT_HALF_IDENTITY;
        return 0;
    }
    int i = lm_name_lookup("recurrent init", s, init_names, 5);
    if (i < 0) return -1;
    *out = (LmRecInit)i;
    return 0;
}

int lm_mask_kind_parse(const char *s, LmMaskKind *out) {
    int i = lm_name_lookup("mask kind", s, mask_names, 7);
    if (i < 0) return -1;
    *out = (LmMaskKind)i;
    return 0;
}

const char *lm_rule_name(LmUpdateRule r) { return (unsigned)r < 2 ? rule_names[r] : "?"; }
const char *lm_act_name(LmActivation a) { return (unsigned)a < 3 ? act_names[a] : "?"; }
const char *lm_init_name(LmRecInit i) { return (unsigned)i < 5 ? init_names[i] : "?"; }
const char *lm_mask_kind_name(LmMaskKind k) { return (unsigned)k < 7 ? mask_names[k] : "?"; }
