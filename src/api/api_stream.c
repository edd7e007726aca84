/* The public C API: the training stream. A thin handle over LmStream that remembers its first state,
 * so it can be rewound, and checks the caller's buffers. */
#include <stdlib.h>
#include <string.h>
#include "api/api_internal.h"
#include "stream/stream.h"
#include "util/err.h"

/* Bounds of one window, as `lmrnn tasks batch` accepts them. */
#define MAX_BATCH 65536
#define MAX_WINDOW 10000000

struct lmrnn_stream {
    LmStream *s;
    uint8_t *start;         /* state right after construction (the first window not yet read) */
    size_t start_n;
    int T, B, n_in;
};

int lmrnn_stream_create(lmrnn_stream **out, const char *battery, int batch, int window, uint64_t seed,
                        const char *fix) {
    if (!out) return lm_api_arg("stream: NULL output handle");
    *out = NULL;
    if (batch < 1 || batch > MAX_BATCH) return lm_api_arg("stream: batch must be 1..%d (got %d)", MAX_BATCH, batch);
    if (window < 1 || window > MAX_WINDOW)
        return lm_api_arg("stream: window must be 1..%d (got %d)", MAX_WINDOW, window);
    if (!battery) return lm_api_arg("stream: NULL battery");
    unsigned fixbits = 0;
    if (fix && lm_fix_parse(fix, &fixbits) != 0) return LMRNN_ERR_ARG;
    LmBattery *b = lm_malloc(sizeof *b);
    if (lm_battery_parse(battery, b) != 0) {
        free(b);
        return LMRNN_ERR_ARG;
    }
    if ((double)batch * window * lm_battery_n_in(b) > 2e9) {
        free(b);
        return lm_api_arg("stream: a window of %d x %d x (33 + tasks) floats is too large", window, batch);
    }
    LmStream *s = lm_stream_new(b, batch, window, seed, fixbits);
    free(b);
    if (!s) return LMRNN_ERR_ARG;
    lmrnn_stream *h = lm_calloc(1, sizeof *h);
    h->s = s;
    h->T = window;
    h->B = batch;
    h->n_in = lm_stream_n_in(s);
    h->start_n = lm_stream_state_size(s);
    h->start = lm_malloc(h->start_n);
    lm_stream_save_state(s, h->start);
    *out = h;
    return lm_api_ok();
}

void lmrnn_stream_free(lmrnn_stream *h) {
    if (!h) return;
    lm_stream_free(h->s);
    free(h->start);
    free(h);
}

int lmrnn_stream_shape(const lmrnn_stream *h, int *window, int *batch, int *n_in) {
    if (!h) return lm_api_arg("stream: NULL handle");
    if (window) *window = h->T;
    if (batch) *batch = h->B;
    if (n_in) *n_in = h->n_in;
    return lm_api_ok();
}

int lmrnn_stream_next(lmrnn_stream *h, int count, float *inputs, size_t n_inputs, int32_t *labels,
                      size_t n_labels, uint8_t *decision, size_t n_decision) {
    if (!h) return lm_api_arg("stream: NULL handle");
    if (count < 1) return lm_api_arg("stream: count must be >= 1 (got %d)", count);
    if (!inputs || !labels) return lm_api_arg("stream: NULL inputs or labels buffer");
    const size_t per = (size_t)h->T * (size_t)h->B;
    int rc;
    if ((rc = lm_api_check_len("stream inputs", n_inputs, per * (size_t)h->n_in * (size_t)count, 0)) != LMRNN_OK ||
        (rc = lm_api_check_len("stream labels", n_labels, per * (size_t)count, 0)) != LMRNN_OK ||
        (decision && (rc = lm_api_check_len("stream decision", n_decision, per * (size_t)count, 0)) != LMRNN_OK))
        return rc;
    for (int c = 0; c < count; c++)
        lm_stream_next(h->s, inputs + (size_t)c * per * (size_t)h->n_in, labels + (size_t)c * per,
                       decision ? decision + (size_t)c * per : NULL);
    return lm_api_ok();
}

int lmrnn_stream_rewind(lmrnn_stream *h) {
    if (!h) return lm_api_arg("stream: NULL handle");
    LM_ASSERT(lm_stream_load_state(h->s, h->start, h->start_n) == 0);
    return lm_api_ok();
}

int64_t lmrnn_stream_trials(const lmrnn_stream *h) { return h ? lm_stream_trials(h->s) : -1; }

size_t lmrnn_stream_state_size(const lmrnn_stream *h) { return h ? h->start_n : 0; }

int lmrnn_stream_save_state(const lmrnn_stream *h, uint8_t *buf, size_t n) {
    if (!h || !buf) return lm_api_arg("stream state: NULL handle or buffer");
    int rc = lm_api_check_len("stream state", n, h->start_n, 0);
    if (rc != LMRNN_OK) return rc;
    lm_stream_save_state(h->s, buf);
    return lm_api_ok();
}

int lmrnn_stream_load_state(lmrnn_stream *h, const uint8_t *buf, size_t n) {
    if (!h || !buf) return lm_api_arg("stream state: NULL handle or buffer");
    if (lm_stream_load_state(h->s, buf, n) != 0) return LMRNN_ERR_ARG;
    return lm_api_ok();
}
