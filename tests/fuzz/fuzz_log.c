/* log.jsonl: the shared record reader (lm_run_log_read: figures, experiment reports), the stop record
 * reader (train --resume, the experiment driver), the run-result reader of experiment reports (steps,
 * trials, evaluations, thresholds, AUC) and the truncation on resume. */
#include "fuzz.h"
#include "experiment/results.h"
#include "train/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file("log.jsonl", data, size);
    LmRunLog log;
    if (lm_run_log_read(path, &log) != 0) fuzz_expect_message();
    else lm_run_log_free(&log);
    LmStopInfo s;
    lm_log_read_stop(path, &s);
    LmExpRun run;
    memset(&run, 0, sizeof run);
    LmExpRunResult r;
    if (lm_run_load(fuzz_dir(), &run, &r) != 0) fuzz_expect_message();
    lm_run_result_free(&r);
    if (lm_log_truncate(path, size % 1000) != 0) fuzz_expect_message();
    return 0;
}
