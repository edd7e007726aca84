/* The training stream's saved state (checkpoint key stream_state) as raw bytes, resized to the state size
 * of the seed run's stream: lm_stream_load_state, then windows that refill the cache from the loaded
 * pending trials. */
#include "fuzz.h"
#include "fuzz_run.h"
#include "stream/stream.h"
#include "train/trainer.h"

static LmStream *stream;
static uint8_t *buf;
static size_t n_state;
static float *x;
static int32_t *labels;
static uint8_t *decision;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    LmTrainConfig c;
    fuzz_seed_config(&c);
    LmBattery b;
    if (lm_battery_parse(c.battery, &b) != 0) abort();
    stream = lm_stream_new(&b, c.batch, c.window, lm_train_subseed(c.seed, LM_SEED_STREAM), 0);
    if (!stream) abort();
    n_state = lm_stream_state_size(stream);
    buf = malloc(n_state);
    size_t tb = (size_t)c.batch * (size_t)c.window;
    x = malloc(tb * (size_t)lm_stream_n_in(stream) * sizeof(float));
    labels = malloc(tb * sizeof(int32_t));
    decision = malloc(tb);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    memset(buf, 0, n_state);
    memcpy(buf, data, size < n_state ? size : n_state);
    if (lm_stream_load_state(stream, buf, n_state) != 0) {
        fuzz_expect_message();
        return 0;
    }
    int windows = lm_stream_cache_len(stream) / lm_stream_window(stream) + 1;   /* at least one refill */
    for (int k = 0; k < windows; k++) lm_stream_next(stream, x, labels, decision);
    return 0;
}
