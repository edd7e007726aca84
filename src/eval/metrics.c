#include "eval/metrics.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "util/err.h"

static const char *const metric_names[LM_N_METRICS] = {
    "last_step", "first_response", "first_response_nogo", "strict_trial", "tolerant_last_step",
};

const char *lm_metric_name(LmMetric m) {
    return (m >= 0 && m < LM_N_METRICS) ? metric_names[m] : "?";
}

int lm_metric_parse(const char *s, LmMetric *out) {
    for (int m = 0; m < LM_N_METRICS; m++)
        if (!strcmp(s, metric_names[m])) {
            *out = (LmMetric)m;
            return 0;
        }
    lm_err_set("unknown metric '%s' (expected last_step, first_response, first_response_nogo, "
               "strict_trial or tolerant_last_step)", s);
    return -1;
}

int lm_argmax(const float *v, int n) {
    int best = 0;
    float bv = -INFINITY;
    int found = 0;
    for (int i = 0; i < n; i++) {
        if (isnan(v[i])) continue;
        if (!found || v[i] > bv) {
            bv = v[i];
            best = i;
            found = 1;
        }
    }
    return best;
}

int lm_ring_label_distance(int a, int b) {
    int d = abs(a - b) % 16;
    return d < 16 - d ? d : 16 - d;
}

static int last_step(const int32_t *pred, const int32_t *gt, int len) {
    return len > 0 && pred[len - 1] == gt[len - 1];
}

static int tolerant_last_step(const int32_t *pred, const int32_t *gt, int len) {
    if (len <= 0) return 0;
    int p = pred[len - 1], g = gt[len - 1];
    if (p == 0 || g == 0) return p == g;   /* fixate vs respond must agree exactly */
    return lm_ring_label_distance(p, g) <= 1;
}

/* neurogym step() (docs/model.md §5): actions outside the decision period are ignored; the first
 * non-fixate action in the decision period ends the trial and is correct iff it equals the label there;
 * a trial without any response times out with performance 0 — unless `nogo_ok` and the decision labels
 * are all 0, where not responding is the right answer (corrected Q19). */
static int first_response(const int32_t *pred, const int32_t *gt, int len, int dec_start, int dec_end,
                          int nogo_ok) {
    int all_zero = 1;
    if (dec_start >= 0) {
        if (dec_end > len) dec_end = len;
        for (int t = dec_start; t < dec_end; t++) {
            if (pred[t] != 0) return pred[t] == gt[t];
            if (gt[t] != 0) all_zero = 0;
        }
    }
    return nogo_ok && all_zero;
}

static int strict_trial(const int32_t *pred, const int32_t *gt, int len, int dec_start) {
    int onset = dec_start >= 0 ? dec_start : len;
    for (int t = LM_STRICT_SKIP_STEPS; t < onset && t < len; t++)
        if (pred[t] != 0) return 0;
    for (int t = onset; t < len; t++)
        if (pred[t] != gt[t]) return 0;
    return len > 0;
}

int lm_metric_correct(LmMetric metric, const int32_t *pred, const int32_t *gt, int len, int dec_start,
                      int dec_end) {
    switch (metric) {
    case LM_METRIC_LAST_STEP: return last_step(pred, gt, len);
    case LM_METRIC_FIRST_RESPONSE: return first_response(pred, gt, len, dec_start, dec_end, 0);
    case LM_METRIC_FIRST_RESPONSE_NOGO: return first_response(pred, gt, len, dec_start, dec_end, 1);
    case LM_METRIC_STRICT_TRIAL: return strict_trial(pred, gt, len, dec_start);
    case LM_METRIC_TOLERANT_LAST_STEP: return tolerant_last_step(pred, gt, len);
    default: LM_ASSERT(0 && "unknown metric");
    }
    return 0;
}

void lm_score_trial(const int32_t *pred, const int32_t *gt, int len, int dec_start, int dec_end,
                    int correct[LM_N_METRICS]) {
    for (int m = 0; m < LM_N_METRICS; m++)
        correct[m] = lm_metric_correct((LmMetric)m, pred, gt, len, dec_start, dec_end);
}
