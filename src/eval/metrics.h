/* Per-trial scoring of the metrics of docs/model.md §5 from the network's argmax outputs.
 *
 * A trial is described by its predictions pred[t] = argmax over the 17 outputs at step t, its labels
 * gt[t] (0 = fixate, 1..16 = respond), its length and its decision period [dec_start, dec_end) (steps;
 * dec_start < 0 means the trial has no decision period, which no Mod-Cog task produces).
 *
 * tolerant_last_step: ring labels are compared cyclically over 1..16, i.e. labels a, b >= 1 match when
 * min(|a-b|, 16-|a-b|) <= 1 (one ring step = 22.5 deg, the discrete analogue of Yang's 36 deg). This is
 * the same ring in both label modes: corrected labels 1..16 are directions 0..15; faithful labels 1..15
 * are directions 0..14 and faithful direction 15 has label 0 (Q1), which is scored like any fixate
 * label (the network must fixate). Fixate (0) versus respond (>= 1) must always agree exactly.
 *
 * strict_trial: the network must output 0 at every step before the decision onset except the first
 * LM_STRICT_SKIP_STEPS steps (Yang's cost mask ignores the first 100 ms = one 100 ms step, since the
 * network has seen a single input there), and the label at every step from decision onset to the end. */
#ifndef LMRNN_METRICS_H
#define LMRNN_METRICS_H
#include <stdint.h>
#include "eval/eval.h"

#define LM_STRICT_SKIP_STEPS 1

/* Index of the largest of v[0..n-1]; the first one on ties; NaN entries never win (0 if all NaN). */
int lm_argmax(const float *v, int n);

/* Cyclic ring distance of two response labels in 1..16 (0..8). */
int lm_ring_label_distance(int a, int b);

/* 1 if the trial is correct under `metric`, else 0. */
int lm_metric_correct(LmMetric metric, const int32_t *pred, const int32_t *gt, int len, int dec_start,
                      int dec_end);
/* All metrics at once: correct[m] for every LmMetric m. */
void lm_score_trial(const int32_t *pred, const int32_t *gt, int len, int dec_start, int dec_end,
                    int correct[LM_N_METRICS]);

#endif
