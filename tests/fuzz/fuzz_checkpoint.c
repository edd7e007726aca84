/* checkpoint.npz of the seed run (tests/fuzz/make_seeds.sh): the shape check a reader does before
 * building a trainer, the weights-only and the full loader, and one training step from what was loaded
 * (the stream's pending trials and generators are used there). */
#include "fuzz.h"
#include "fuzz_run.h"
#include "train/checkpoint.h"

static LmTrainer *trainer;
static LmTrainConfig cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_seed_config(&cfg);
    trainer = lm_trainer_new(&cfg);
    if (!trainer) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file("checkpoint.npz", data, size);
    if (lm_checkpoint_check_shapes(path, &cfg, 1) != 0) fuzz_expect_message();
    if (lm_checkpoint_load_weights(trainer, path) != 0) fuzz_expect_message();
    if (lm_checkpoint_load(trainer, path) != 0) {
        fuzz_expect_message();
        return 0;
    }
    LmStepStats st;
    lm_trainer_step(trainer, &st);
    return 0;
}
