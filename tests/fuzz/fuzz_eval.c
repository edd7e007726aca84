/* eval.json: its one reader (lm_eval_file_read), and the experiment reports' run reader over it (per-task
 * table, groups, means) beside an empty log. */
#include "fuzz.h"
#include "eval/table.h"
#include "experiment/results.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file("eval.json", data, size);
    fuzz_file("log.jsonl", NULL, 0);
    LmEvalFile e;
    if (lm_eval_file_read(path, &e) < 0) fuzz_expect_message();
    LmExpRun run;
    memset(&run, 0, sizeof run);
    LmExpRunResult r;
    if (lm_run_load(fuzz_dir(), &run, &r) != 0) fuzz_expect_message();
    lm_run_result_free(&r);
    return 0;
}
