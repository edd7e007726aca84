/* The training stream against an independent model of neurogym's Dataset (docs/tasks.md §4.4) built from single
 * trials, plus invariants: rule one-hot, no immediate task repeat, modality alternation, row
 * independence, determinism across thread counts, checkpoint round trip. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "stream/stream.h"
#include "util/err.h"

/* ---- reference model of one row (docs/tasks.md §4) ---- */
typedef struct {
    LmRng task, global, sched;
    int next;
    int parity[LM_MAX_BATTERY];
    LmTrial trial;
    int off;              /* steps of `trial` consumed */
} RefRow;

typedef struct {
    const LmBattery *b;
    unsigned fix;
    int B, T, cache_len, n_in, seq_start;
    long trials;
    LmTaskEnv env;
    RefRow *rows;
    float *cache_in;      /* [cache_len][B][n_in] */
    int32_t *cache_lab;
    uint8_t *cache_dec;
} Ref;

static void ref_trial(Ref *R, RefRow *r) {
    int pos = r->next, id = R->b->id[pos], m = -1;
    if (lm_task_def(id)->family != LM_FAM_DM) {
        if (R->fix & LM_FIX_Q17_SCHEDULE) m = (int)lm_rng_below(&r->sched, 2);
        else m = r->parity[pos], r->parity[pos] ^= 1;
    }
    lm_trial_generate(&R->env, id, m, &r->task, &r->global, &r->trial);
    r->trial.task = pos; /* remember the battery position for the rule column */
    r->off = 0;
    R->trials++;
    int n = R->b->n;
    if (R->fix & LM_FIX_Q17_SCHEDULE) r->next = (int)lm_rng_below(&r->sched, (uint32_t)n);
    else if (n > 1) {
        int k = (int)lm_rng_below(&r->sched, (uint32_t)(n - 1));
        r->next = k >= pos ? k + 1 : k;
    }
}

static void ref_fill(Ref *R) {
    for (int b = 0; b < R->B; b++) {
        RefRow *r = &R->rows[b];
        if (!(R->fix & LM_FIX_Q18_WINDOW)) r->off = r->trial.len;
        for (int pos = 0; pos < R->cache_len; pos++) {
            if (r->off >= r->trial.len) ref_trial(R, r);
            const LmTrial *t = &r->trial;
            float *dst = R->cache_in + ((size_t)pos * R->B + b) * R->n_in;
            for (int c = 0; c < R->n_in; c++)
                dst[c] = c < LM_OBS ? t->ob[r->off * LM_OBS + c] : (c - LM_OBS == t->task ? 1.0f : 0.0f);
            R->cache_lab[pos * R->B + b] = t->gt[r->off];
            const LmPeriod *d = &t->periods[lm_trial_period(t, "decision")];
            R->cache_dec[pos * R->B + b] = r->off >= d->start && r->off < d->end;
            r->off++;
        }
    }
    R->seq_start = 0;
}

static void ref_init(Ref *R, const LmBattery *b, int B, int T, uint64_t seed, unsigned fix) {
    memset(R, 0, sizeof *R);
    R->b = b, R->B = B, R->T = T, R->fix = fix, R->n_in = LM_OBS + b->n;
    double c = 1e5 / (R->n_in + 1) / B;
    R->cache_len = (int)((1 + floor(c / T)) * T);
    LmRng con = lm_rng_derive(seed, 0);
    lm_taskenv_init(&R->env, fix, &con);
    R->rows = calloc((size_t)B, sizeof(RefRow));
    for (int i = 0; i < B; i++) {
        RefRow *r = &R->rows[i];
        r->task = lm_rng_derive(seed, 1 + 3 * (uint64_t)i);
        r->global = lm_rng_derive(seed, 2 + 3 * (uint64_t)i);
        r->sched = lm_rng_derive(seed, 3 + 3 * (uint64_t)i);
        r->next = (int)lm_rng_below(&r->sched, (uint32_t)b->n);
        for (int p = 0; p < b->n; p++)
            if (lm_task_def(b->id[p])->family != LM_FAM_DM) {
                int bit = (int)lm_rng_below(&r->sched, 2);    /* drawn in both modes; used with Q23 */
                r->parity[p] = (fix & LM_FIX_Q23_FIRST_MODALITY) ? bit : 0;
            }
    }
    R->cache_in = malloc(sizeof(float) * (size_t)R->cache_len * B * R->n_in);
    R->cache_lab = malloc(sizeof(int32_t) * (size_t)R->cache_len * B);
    R->cache_dec = malloc((size_t)R->cache_len * B);
    ref_fill(R);
}

static void ref_next(Ref *R, float *in, int32_t *lab, uint8_t *dec) {
    int end = R->seq_start + R->T;
    if ((R->fix & LM_FIX_Q18_WINDOW) ? end > R->cache_len : end >= R->cache_len) ref_fill(R);
    size_t off = (size_t)R->seq_start * R->B, n = (size_t)R->T * R->B;
    memcpy(in, R->cache_in + off * R->n_in, sizeof(float) * n * R->n_in);
    memcpy(lab, R->cache_lab + off, sizeof(int32_t) * n);
    memcpy(dec, R->cache_dec + off, n);
    R->seq_start += R->T;
}

static void ref_free(Ref *R) {
    free(R->rows);
    free(R->cache_in);
    free(R->cache_lab);
    free(R->cache_dec);
}

typedef struct {
    float *in;
    int32_t *lab;
    uint8_t *dec;
} Win;
static Win win_new(int T, int B, int n_in) {
    Win w = {malloc(sizeof(float) * (size_t)T * B * n_in), malloc(sizeof(int32_t) * (size_t)T * B),
             malloc((size_t)T * B)};
    return w;
}
static void win_free(Win *w) {
    free(w->in);
    free(w->lab);
    free(w->dec);
}

static void matches_reference(const char *battery, int B, int T, unsigned fix, int windows, int expect_cache) {
    LmBattery b;
    CHECK(lm_battery_parse(battery, &b) == 0);
    LmStream *s = lm_stream_new(&b, B, T, 1234, fix);
    Ref *R = malloc(sizeof *R);
    ref_init(R, &b, B, T, 1234, fix);
    CHECK(lm_stream_cache_len(s) == R->cache_len);
    if (expect_cache) CHECK(lm_stream_cache_len(s) == expect_cache, "cache_len %d", lm_stream_cache_len(s));
    CHECK(lm_stream_n_in(s) == LM_OBS + b.n);
    Win a = win_new(T, B, R->n_in), e = win_new(T, B, R->n_in);
    for (int w = 0; w < windows; w++) {
        lm_stream_next(s, a.in, a.lab, a.dec);
        ref_next(R, e.in, e.lab, e.dec);
        size_t n = (size_t)T * B;
        int same = !memcmp(a.in, e.in, sizeof(float) * n * R->n_in) && !memcmp(a.lab, e.lab, sizeof(int32_t) * n) &&
                   !memcmp(a.dec, e.dec, n);
        CHECK(same, "%s B=%d T=%d fix %#x: window %d differs from the Dataset model", battery, B, T, fix, w);
        CHECK(lm_stream_trials(s) == R->trials, "trials %lld vs %ld", (long long)lm_stream_trials(s), R->trials);
        if (!same) break;
    }
    win_free(&a);
    win_free(&e);
    ref_free(R);
    free(R);
    lm_stream_free(s);
}

static void stream_is_the_dataset(void) {
    /* README case: cache_len == T (every call refills; the constructor's cache is never returned). */
    matches_reference("modcog82", 4, 350, 0, 6, 350);
    /* cache_len = 5 T: chunks 0..3 returned, chunk 4 never (the >= edge). */
    matches_reference("yang20", 4, 100, 0, 13, 500);
    matches_reference("yang20", 4, 100, LM_FIX_Q18_WINDOW, 13, 500);
    matches_reference("modcog82", 3, 350, LM_FIX_Q18_WINDOW | LM_FIX_Q17_SCHEDULE, 6, 0);
    matches_reference("go,dmsintseq,dm1", 2, 37, LM_FIX_ALL, 20, 0);
    matches_reference("dnmc", 2, 40, 0, 8, 0); /* a single task repeats (no other to choose) */
    matches_reference("modcog82", 4, 350, LM_FIX_Q23_FIRST_MODALITY, 6, 350);
}

/* Structure checks that do not use the model: with Q18 each row is one continuous trial stream, so
 * trial boundaries are the ends of decision periods. */
typedef struct {
    int rule, modality, len;
} Seen;

static int row_trials(LmStream *s, int B, int T, int n_in, int windows, int row, Seen *out, int max) {
    Win w = win_new(T, B, n_in);
    int n = 0, cur_len = 0, cur_rule = -1, cur_mod = -1, prev_dec = 0, bad_onehot = 0;
    for (int k = 0; k < windows; k++) {
        lm_stream_next(s, w.in, w.lab, w.dec);
        for (int t = 0; t < T; t++) {
            const float *x = w.in + ((size_t)t * B + row) * n_in;
            uint8_t d = w.dec[t * B + row];
            if (prev_dec && !d) { /* a new trial starts here */
                if (n < max) out[n++] = (Seen){cur_rule, cur_mod, cur_len};
                cur_len = 0, cur_mod = -1;
            }
            int ones = 0, rule = -1;
            for (int c = LM_OBS; c < n_in; c++) {
                if (x[c] == 1.0f) ones++, rule = c - LM_OBS;
                else if (x[c] != 0.0f) bad_onehot++;
            }
            if (ones != 1) bad_onehot++;
            if (cur_len > 0 && rule != cur_rule) bad_onehot++; /* rule constant within a trial */
            cur_rule = rule;
            for (int c = 1; c < LM_OBS; c++)
                if (x[c] != 0.0f && cur_mod < 0) cur_mod = c <= 16 ? 0 : 1;
            cur_len++;
            prev_dec = d;
        }
    }
    CHECK(bad_onehot == 0, "rule one-hot violated %d times", bad_onehot);
    win_free(&w);
    return n;
}

static void scheduler_invariants(void) {
    LmBattery b;
    lm_battery_parse("modcog82", &b);
    enum { MAXT = 4000 };
    Seen *seen = malloc(sizeof(Seen) * MAXT);
    for (int q17 = 0; q17 < 2; q17++) {
        unsigned fix = LM_FIX_Q18_WINDOW | (q17 ? LM_FIX_Q17_SCHEDULE : 0);
        LmStream *s = lm_stream_new(&b, 3, 350, 99, fix);
        int repeats = 0, alt_bad = 0, alt_n = 0, total = 0;
        for (int row = 0; row < 3; row++) {
            lm_stream_free(s);
            s = lm_stream_new(&b, 3, 350, 99, fix);
            int n = row_trials(s, 3, 350, 115, 120, row, seen, MAXT);
            int last_mod[82];
            for (int i = 0; i < 82; i++) last_mod[i] = -1;
            for (int i = 1; i < n; i++) {
                repeats += seen[i].rule == seen[i - 1].rule;
                total++;
            }
            for (int i = 0; i < n; i++) {
                int r = seen[i].rule;
                if (lm_task_def(b.id[r])->family == LM_FAM_DM || seen[i].modality < 0) continue;
                if (last_mod[r] >= 0) alt_n++, alt_bad += seen[i].modality == last_mod[r];
                last_mod[r] = seen[i].modality;
            }
        }
        if (!q17) {
            CHECK(repeats == 0, "%d immediate repeats", repeats);
            CHECK(alt_bad == 0 && alt_n > 500, "alternation broken %d of %d", alt_bad, alt_n);
        } else {
            CHECK(repeats > 0 && fabs(repeats / (double)total - 1.0 / 82) < 0.01, "%d of %d", repeats, total);
            CHECK(fabs(alt_bad / (double)alt_n - 0.5) < 0.08, "i.i.d. modality: %d of %d", alt_bad, alt_n);
        }
        lm_stream_free(s);
    }
    free(seen);
}

/* Trials of every row of the next `windows` windows, in order: battery position and modality (first
 * non-zero ring column; -1 for none). A trial starts at step 0 of the first window and after each
 * decision period. Returns the count per row in n[]. */
static void all_row_trials(LmStream *s, int B, int T, int n_in, int windows, Seen out[][2000], int n[]) {
    Win w = win_new(T, B, n_in);
    int prev_dec[16] = {0};
    for (int r = 0; r < B; r++) n[r] = 0;
    for (int k = 0; k < windows; k++) {
        lm_stream_next(s, w.in, w.lab, w.dec);
        for (int t = 0; t < T; t++)
            for (int r = 0; r < B; r++) {
                const float *x = w.in + ((size_t)t * B + r) * n_in;
                uint8_t d = w.dec[t * B + r];
                if ((k == 0 && t == 0) || (prev_dec[r] && !d)) {
                    int rule = -1;
                    for (int c = LM_OBS; c < n_in; c++)
                        if (x[c] == 1.0f) rule = c - LM_OBS;
                    if (n[r] < 2000) out[r][n[r]++] = (Seen){rule, -1, 0};
                }
                Seen *cur = &out[r][n[r] - 1];
                for (int c = 1; c < LM_OBS && cur->modality < 0; c++)
                    if (x[c] != 0.0f) cur->modality = c <= 16 ? 0 : 1;
                prev_dec[r] = d;
            }
    }
    win_free(&w);
}

/* Q23 (docs/tasks.md §4.3): the reference's reset() leaves every go/match task's alternation on
 * modality 0, so the first trial of each such task in each row uses modality 0 (6183 of 6183 first
 * appearances measured on the reference); Q23 starts each task on a random modality instead. With Q18
 * every generated trial is returned, the constructor's fill included, so first appearances are visible. */
static void first_modality(void) {
    LmBattery b;
    lm_battery_parse("modcog82", &b);
    enum { ROWS = 4 };
    static Seen seen[ROWS][2000], seen2[ROWS][2000];
    int n[ROWS], n2[ROWS], first[2][2] = {{0, 0}, {0, 0}}; /* [q23][modality] */
    for (int q23 = 0; q23 < 2; q23++)
        for (uint64_t seed = 1; seed <= 5; seed++) {
            LmStream *s = lm_stream_new(&b, ROWS, 350, seed, LM_FIX_Q18_WINDOW | (q23 ? LM_FIX_Q23_FIRST_MODALITY : 0));
            all_row_trials(s, ROWS, 350, 115, 30, seen, n);
            for (int r = 0; r < ROWS; r++) {
                int done[82] = {0};
                for (int i = 0; i < n[r]; i++) {
                    int p = seen[r][i].rule;
                    if (lm_task_def(b.id[p])->family == LM_FAM_DM || done[p]) continue;
                    done[p] = 1;
                    if (seen[r][i].modality >= 0) first[q23][seen[r][i].modality]++;
                }
            }
            lm_stream_free(s);
        }
    CHECK(first[0][1] == 0 && first[0][0] > 700, "faithful: %d of %d first appearances on modality 0",
          first[0][0], first[0][0] + first[0][1]);
    int n23 = first[1][0] + first[1][1];
    CHECK(n23 > 700 && fabs(first[1][0] / (double)n23 - 0.5) < 0.07, "Q23: %d of %d on modality 0", first[1][0], n23);

    /* The README flow (cache_len == T): the constructor's fill is never returned but flips the tasks it
     * used. The same seed with Q18 returns that fill as its first window, so the modality of each task's
     * first trial in the first returned window is the parity of its uses in that fill. */
    int checked = 0, wrong = 0;
    for (uint64_t seed = 1; seed <= 5; seed++) {
        LmStream *s = lm_stream_new(&b, ROWS, 350, seed, 0), *q = lm_stream_new(&b, ROWS, 350, seed, LM_FIX_Q18_WINDOW);
        all_row_trials(q, ROWS, 350, 115, 1, seen2, n2);
        all_row_trials(s, ROWS, 350, 115, 1, seen, n);
        for (int r = 0; r < ROWS; r++) {
            int uses[82] = {0}, done[82] = {0};
            for (int i = 0; i < n2[r]; i++) uses[seen2[r][i].rule]++;
            for (int i = 0; i < n[r]; i++) {
                int p = seen[r][i].rule;
                if (lm_task_def(b.id[p])->family == LM_FAM_DM || done[p] || seen[r][i].modality < 0) continue;
                done[p] = 1;
                checked++;
                wrong += seen[r][i].modality != uses[p] % 2;
            }
        }
        lm_stream_free(s);
        lm_stream_free(q);
    }
    CHECK(checked > 100 && wrong == 0, "%d of %d first-window modalities not the fill's parity", wrong, checked);

    /* The switch changes the modalities and nothing else: the same tasks in the same order per row. */
    LmStream *a = lm_stream_new(&b, ROWS, 350, 3, LM_FIX_Q18_WINDOW);
    LmStream *c = lm_stream_new(&b, ROWS, 350, 3, LM_FIX_Q18_WINDOW | LM_FIX_Q23_FIRST_MODALITY);
    all_row_trials(a, ROWS, 350, 115, 10, seen, n);
    all_row_trials(c, ROWS, 350, 115, 10, seen2, n2);
    int same = 1, differ = 0;
    for (int r = 0; r < ROWS; r++)
        for (int i = 0; i < n[r] && i < n2[r]; i++) {
            same &= seen[r][i].rule == seen2[r][i].rule;
            differ += seen[r][i].modality != seen2[r][i].modality;
        }
    CHECK(same && differ > 0, "same task order %d, modalities differing %d", same, differ);
    lm_stream_free(a);
    lm_stream_free(c);
}

static void rows_independent_and_threads_irrelevant(void) {
    LmBattery b;
    lm_battery_parse("modcog82", &b);
    /* With Q18 a row's stream does not depend on the batch size (cache_len differs, rows don't). */
    LmStream *s2 = lm_stream_new(&b, 2, 50, 5, LM_FIX_Q18_WINDOW), *s5 = lm_stream_new(&b, 5, 50, 5, LM_FIX_Q18_WINDOW);
    CHECK(lm_stream_cache_len(s2) != lm_stream_cache_len(s5));
    Win a = win_new(50, 2, 115), c = win_new(50, 5, 115);
    int same = 1, rows_differ = 0;
    for (int k = 0; k < 30; k++) {
        lm_stream_next(s2, a.in, a.lab, a.dec);
        lm_stream_next(s5, c.in, c.lab, c.dec);
        for (int t = 0; t < 50; t++)
            for (int r = 0; r < 2; r++) {
                same &= !memcmp(a.in + ((size_t)t * 2 + r) * 115, c.in + ((size_t)t * 5 + r) * 115, 115 * sizeof(float));
                same &= a.lab[t * 2 + r] == c.lab[t * 5 + r];
            }
        rows_differ += memcmp(c.in, c.in + 115, 115 * sizeof(float)) != 0;
    }
    CHECK(same && rows_differ > 20);
    win_free(&a);
    win_free(&c);
    lm_stream_free(s2);
    lm_stream_free(s5);

    /* Same seed, 1 vs 2 threads: identical bytes. */
    for (unsigned fix = 0; fix <= LM_FIX_ALL; fix += LM_FIX_ALL) {
        Win w1 = win_new(350, 8, 115), w2 = win_new(350, 8, 115);
        omp_set_num_threads(1);
        LmStream *x = lm_stream_new(&b, 8, 350, 77, fix);
        omp_set_num_threads(2);
        LmStream *y = lm_stream_new(&b, 8, 350, 77, fix);
        int eq = 1;
        for (int k = 0; k < 4; k++) {
            omp_set_num_threads(1);
            lm_stream_next(x, w1.in, w1.lab, w1.dec);
            omp_set_num_threads(2);
            lm_stream_next(y, w2.in, w2.lab, w2.dec);
            eq &= !memcmp(w1.in, w2.in, sizeof(float) * 350 * 8 * 115) && !memcmp(w1.lab, w2.lab, 4 * 350 * 8);
        }
        CHECK(eq, "fix %#x", fix);
        lm_stream_free(x);
        lm_stream_free(y);
        win_free(&w1);
        win_free(&w2);
    }
}

static void checkpoint_round_trip(void) {
    LmBattery b;
    lm_battery_parse("yang20", &b);
    for (int q18 = 0; q18 < 2; q18++) {
        unsigned fix = q18 ? LM_FIX_ALL : 0;
        LmStream *s = lm_stream_new(&b, 3, 100, 8, fix);
        Win w = win_new(100, 3, 53), v = win_new(100, 3, 53);
        for (int k = 0; k < 3; k++) lm_stream_next(s, w.in, w.lab, w.dec);
        size_t n = lm_stream_state_size(s);
        uint8_t *buf = malloc(n);
        lm_stream_save_state(s, buf);
        LmStream *t = lm_stream_new(&b, 3, 100, 8, fix);
        lm_stream_next(t, v.in, v.lab, v.dec); /* move it away from the saved point first */
        CHECK(lm_stream_load_state(t, buf, n) == 0);
        int eq = 1;
        for (int k = 0; k < 7; k++) {
            lm_stream_next(s, w.in, w.lab, w.dec);
            lm_stream_next(t, v.in, v.lab, v.dec);
            eq &= !memcmp(w.in, v.in, sizeof(float) * 300 * 53) && !memcmp(w.lab, v.lab, 4 * 300) &&
                  !memcmp(w.dec, v.dec, 300);
        }
        CHECK(eq);
        /* Saved state is reproducible byte for byte. */
        uint8_t *buf2 = malloc(n);
        lm_stream_save_state(s, buf2);
        lm_stream_save_state(t, buf);
        CHECK(!memcmp(buf, buf2, n));
        /* Wrong configuration, wrong size, corrupt contents: refused, stream unchanged. */
        LmStream *u = lm_stream_new(&b, 3, 100, 9, fix);
        CHECK(lm_stream_load_state(u, buf, n) == -1 && strstr(lm_err_msg(), "seed"));
        CHECK(lm_stream_load_state(t, buf, n - 1) == -1);
        buf[sizeof(uint32_t)] ^= 0xFF; /* version */
        CHECK(lm_stream_load_state(t, buf, n) == -1);
        buf[sizeof(uint32_t)] ^= 0xFF;
        size_t L = (size_t)lm_stream_cache_len(t); /* a row ends with rule int16 [L], decision u8 [L] */
        memset(buf + n - L - 100, 0x7F, 100);
        CHECK(lm_stream_load_state(t, buf, n) == -1 && strstr(lm_err_msg(), "corrupt"));
        lm_stream_next(s, w.in, w.lab, w.dec);
        lm_stream_next(t, v.in, v.lab, v.dec);
        CHECK(!memcmp(w.in, v.in, sizeof(float) * 300 * 53));
        free(buf);
        free(buf2);
        lm_stream_free(s);
        lm_stream_free(t);
        lm_stream_free(u);
        win_free(&w);
        win_free(&v);
    }
}

static void bad_arguments(void) {
    LmBattery b;
    lm_battery_parse("yang20", &b);
    CHECK(lm_stream_new(&b, 0, 10, 1, 0) == NULL && strstr(lm_err_msg(), "batch"));
    CHECK(lm_stream_new(&b, 2, 0, 1, 0) == NULL && strstr(lm_err_msg(), "window"));
    /* Rule columns and labels: labels in 0..16, decision flags only where labels may be non-zero. */
    LmStream *s = lm_stream_new(&b, 4, 100, 3, LM_FIX_Q1_LABEL_WRAP);
    Win w = win_new(100, 4, 53);
    int ok = 1, sixteen = 0;
    for (int k = 0; k < 20; k++) {
        lm_stream_next(s, w.in, w.lab, w.dec);
        for (int i = 0; i < 400; i++) {
            ok &= w.lab[i] >= 0 && w.lab[i] <= 16 && (w.dec[i] || w.lab[i] == 0);
            sixteen += w.lab[i] == 16;
        }
    }
    CHECK(ok && sixteen > 0);
    win_free(&w);
    lm_stream_free(s);
}

int main(void) {
    RUN(stream_is_the_dataset);
    RUN(scheduler_invariants);
    RUN(first_modality);
    RUN(rows_independent_and_threads_irrelevant);
    RUN(checkpoint_round_trip);
    RUN(bad_arguments);
    return CHECK_DONE();
}
