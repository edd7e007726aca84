/* .npz archives (lm_npz_read: zip directory, member headers; lm_npz_at: payloads on demand). */
#include "fuzz.h"
#include "io/npz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file("in.npz", data, size);
    LmNpz *z = lm_npz_read(path);
    if (!z) {
        fuzz_expect_message();
        return 0;
    }
    for (int i = 0; i < lm_npz_count(z); i++) {
        const LmArray *a = lm_npz_at(z, i);
        if (!a) fuzz_expect_message();
    }
    lm_npz_free(z);
    return 0;
}
