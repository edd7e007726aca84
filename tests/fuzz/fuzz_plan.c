/* An experiment's plan.json (lm_exp_plan_load): settings, runs, their training arguments. */
#include "fuzz.h"
#include "experiment/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file("plan.json", data, size);
    LmExpPlan p;
    if (lm_exp_plan_load(path, &p) != 0) {
        fuzz_expect_message();
        return 0;
    }
    lm_exp_plan_free(&p);
    return 0;
}
