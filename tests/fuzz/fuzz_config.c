/* JSON run configurations (--config files, config.json, the checkpoint's stored config). */
#include "fuzz.h"
#include "io/json.h"
#include "train/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file("config.json", data, size);
    LmTrainConfig c;
    lm_train_config_default(&c);
    if (lm_train_config_load_file(&c, path) != 0) {
        fuzz_expect_message();
        return 0;
    }
    if (lm_train_config_validate(&c) != 0) {
        fuzz_expect_message();
        return 0;
    }
    cJSON *j = lm_train_config_to_json(&c);   /* what config.json would hold */
    LmTrainConfig back;
    lm_train_config_default(&back);
    if (lm_train_config_apply_json(&back, j, "round trip") != 0 || *lm_train_config_diff(&c, &back)) abort();
    cJSON_Delete(j);
    return 0;
}
