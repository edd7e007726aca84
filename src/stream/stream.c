/* The training stream: neurogym's Dataset over a ScheduleEnvs battery (spec tasks.md §2.2-2.3, §3).
 *
 * Per row: a task generator (the env RNG), a "global" generator (the reference's process-wide numpy
 * RNG, Q5), a schedule generator, the next battery position and one modality parity bit per battery
 * position. The rows share only the construction-time task environment (Q6 delays), as the
 * reference's deep copies do.
 *
 * Cache: cache_len = int((1 + floor(c / T)) * T), c = 1e5 / (n_in + 1) / B. Each row's cache is filled
 * with whole trials from a trial boundary; the last one is cut and (faithful) its tail discarded.
 * A window is [seq_start, seq_start + T); the cache is refilled when seq_start + T >= cache_len (so
 * the last chunk is never returned, Q18). With LM_FIX_Q18_WINDOW the tail of the cut trial is kept and
 * continued at the next fill and the test becomes `>`, so each row is one continuous trial stream.
 *
 * The reference also calls reset() on every copy before seeding it; that only moves random state
 * (which is re-seeded anyway) and the scheduler phase, so instead every row starts from a uniformly
 * drawn next task and uniformly drawn modality parities. The constructor fills the cache once, as the
 * reference's does (with cache_len == T that fill is never returned). */
#include "stream/stream.h"
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "util/err.h"

typedef struct {
    LmRng task, global, sched;
    int32_t next;            /* battery position of the next trial */
    int32_t pend_pos;        /* battery position of `pending` */
    int32_t pend_off;        /* steps of `pending` already written to a cache */
    uint8_t parity[LM_MAX_BATTERY];
    LmTrial pending;         /* the most recent trial */
    float *ob;               /* [cache_len][LM_OBS] */
    int32_t *label;          /* [cache_len] */
    int16_t *rule;           /* [cache_len] battery position of the trial each step belongs to */
    uint8_t *dec;            /* [cache_len] 1 inside a decision period */
} Row;

struct LmStream {
    LmBattery battery;
    int batch, window, cache_len, n_in;
    uint64_t seed;
    unsigned fix;
    LmTaskEnv env;
    int seq_start;
    Row *rows;
};

/* Generator ids under the stream seed: 0 construction, then three per row. */
enum { RNG_CONSTRUCTION = 0, RNG_TASK = 1, RNG_GLOBAL = 2, RNG_SCHED = 3 };
static uint64_t row_rng_id(int b, int which) { return 1 + 3 * (uint64_t)b + (uint64_t)(which - 1); }

static void row_next_trial(const LmStream *s, Row *r) {
    const int pos = r->next, n = s->battery.n, id = s->battery.id[pos];
    int m = -1;
    if (lm_task_def(id)->family != LM_FAM_DM) {
        if (s->fix & LM_FIX_Q17_SCHEDULE) {
            m = (int)lm_rng_below(&r->sched, 2);
        } else {
            m = r->parity[pos];
            r->parity[pos] ^= 1;
        }
    }
    lm_trial_generate(&s->env, id, m, &r->task, &r->global, &r->pending);
    r->pend_pos = pos;
    r->pend_off = 0;
    /* RandomSchedule: uniform over the other tasks (a single task repeats without a draw). */
    if (s->fix & LM_FIX_Q17_SCHEDULE) {
        r->next = (int32_t)lm_rng_below(&r->sched, (uint32_t)n);
    } else if (n > 1) {
        int k = (int)lm_rng_below(&r->sched, (uint32_t)(n - 1));
        r->next = k >= pos ? k + 1 : k;
    }
}

static void row_fill(const LmStream *s, Row *r) {
    if (!(s->fix & LM_FIX_Q18_WINDOW)) r->pend_off = r->pending.len; /* drop the cut trial's tail */
    int pos = 0;
    while (pos < s->cache_len) {
        if (r->pend_off >= r->pending.len) row_next_trial(s, r);
        const LmTrial *t = &r->pending;
        int n = t->len - r->pend_off;
        if (n > s->cache_len - pos) n = s->cache_len - pos;
        int pd = lm_trial_period(t, "decision");
        int d0 = t->periods[pd].start, d1 = t->periods[pd].end;
        memcpy(r->ob + (size_t)pos * LM_OBS, t->ob + (size_t)r->pend_off * LM_OBS,
               sizeof(float) * LM_OBS * (size_t)n);
        for (int i = 0; i < n; i++) {
            int step = r->pend_off + i;
            r->label[pos + i] = t->gt[step];
            r->rule[pos + i] = (int16_t)r->pend_pos;
            r->dec[pos + i] = step >= d0 && step < d1;
        }
        pos += n;
        r->pend_off += n;
    }
}

static void fill_all(LmStream *s) {
    /* Rows own all their state, so the result does not depend on the number of threads. */
#pragma omp parallel for schedule(static) if (s->batch > 1)
    for (int b = 0; b < s->batch; b++) row_fill(s, &s->rows[b]);
    s->seq_start = 0;
}

LmStream *lm_stream_new(const LmBattery *battery, int batch, int window, uint64_t seed, unsigned fix) {
    if (!battery || battery->n <= 0) {
        lm_err_set("stream: empty battery");
        return NULL;
    }
    if (batch <= 0) {
        lm_err_set("stream: batch size must be positive (got %d)", batch);
        return NULL;
    }
    if (window <= 0) {
        lm_err_set("stream: window length must be positive (got %d)", window);
        return NULL;
    }
    LmStream *s = lm_calloc(1, sizeof *s);
    s->battery = *battery;
    s->batch = batch;
    s->window = window;
    s->seed = seed;
    s->fix = fix;
    s->n_in = lm_battery_n_in(battery);
    double c = 1e5 / (s->n_in + 1) / batch;
    s->cache_len = (int)((1 + floor(c / window)) * window);
    LmRng construction = lm_rng_derive(seed, RNG_CONSTRUCTION);
    lm_taskenv_init(&s->env, fix, &construction);
    s->rows = lm_calloc((size_t)batch, sizeof(Row));
    for (int b = 0; b < batch; b++) {
        Row *r = &s->rows[b];
        r->task = lm_rng_derive(seed, row_rng_id(b, RNG_TASK));
        r->global = lm_rng_derive(seed, row_rng_id(b, RNG_GLOBAL));
        r->sched = lm_rng_derive(seed, row_rng_id(b, RNG_SCHED));
        r->next = (int32_t)lm_rng_below(&r->sched, (uint32_t)battery->n);
        for (int p = 0; p < battery->n; p++)
            if (lm_task_def(battery->id[p])->family != LM_FAM_DM)
                r->parity[p] = (uint8_t)lm_rng_below(&r->sched, 2);
        size_t L = (size_t)s->cache_len;
        r->ob = lm_malloc(sizeof(float) * LM_OBS * L);
        r->label = lm_malloc(sizeof(int32_t) * L);
        r->rule = lm_malloc(sizeof(int16_t) * L);
        r->dec = lm_malloc(L);
    }
    fill_all(s);
    return s;
}

void lm_stream_free(LmStream *s) {
    if (!s) return;
    for (int b = 0; b < s->batch; b++) {
        free(s->rows[b].ob);
        free(s->rows[b].label);
        free(s->rows[b].rule);
        free(s->rows[b].dec);
    }
    free(s->rows);
    free(s);
}

int lm_stream_n_in(const LmStream *s) { return s->n_in; }
const LmTaskEnv *lm_stream_taskenv(const LmStream *s) { return &s->env; }
int lm_stream_cache_len(const LmStream *s) { return s->cache_len; }
int lm_stream_batch(const LmStream *s) { return s->batch; }
int lm_stream_window(const LmStream *s) { return s->window; }

void lm_stream_next(LmStream *s, float *inputs, int32_t *labels, uint8_t *decision) {
    const int T = s->window, B = s->batch, n_in = s->n_in;
    int seq_end = s->seq_start + T;
    int refill = (s->fix & LM_FIX_Q18_WINDOW) ? seq_end > s->cache_len : seq_end >= s->cache_len;
    if (refill) fill_all(s);
    const int start = s->seq_start;
#pragma omp parallel for schedule(static) if (B > 1)
    for (int b = 0; b < B; b++) {
        const Row *r = &s->rows[b];
        for (int t = 0; t < T; t++) {
            const int c = start + t;
            float *dst = inputs + ((size_t)t * B + b) * n_in;
            memcpy(dst, r->ob + (size_t)c * LM_OBS, sizeof(float) * LM_OBS);
            memset(dst + LM_OBS, 0, sizeof(float) * (size_t)(n_in - LM_OBS));
            dst[LM_OBS + r->rule[c]] = 1.0f;
            labels[(size_t)t * B + b] = r->label[c];
            if (decision) decision[(size_t)t * B + b] = r->dec[c];
        }
    }
    s->seq_start = start + T;
}

void lm_append_rule(const LmTrial *t, int pos, int n_tasks, float *out) {
    const int w = LM_OBS + n_tasks;
    for (int s = 0; s < t->len; s++) {
        float *dst = out + (size_t)s * w;
        memcpy(dst, t->ob + (size_t)s * LM_OBS, sizeof(float) * LM_OBS);
        memset(dst + LM_OBS, 0, sizeof(float) * (size_t)n_tasks);
        dst[LM_OBS + pos] = 1.0f;
    }
}

/* ---- checkpointable state ----
 * Layout: header (magic, version, configuration that must match), seq_start, then per row its
 * generators, scheduler state, pending trial and cache. Native byte order (checkpoints are
 * machine-local). */
#define STATE_MAGIC 0x4C4D5354u /* "LMST" */
#define STATE_VERSION 1u

typedef struct {
    uint32_t magic, version;
    uint64_t seed;
    uint32_t fix;
    int32_t batch, window, cache_len, n_tasks;
    int32_t seq_start;
} StateHeader;

static size_t row_cache_bytes(const LmStream *s) {
    return (size_t)s->cache_len * (sizeof(float) * LM_OBS + sizeof(int32_t) + sizeof(int16_t) + 1);
}
static size_t row_bytes(const LmStream *s) {
    return 3 * sizeof(LmRng) + 3 * sizeof(int32_t) + (size_t)s->battery.n + sizeof(LmTrial) +
           row_cache_bytes(s);
}

size_t lm_stream_state_size(const LmStream *s) {
    return sizeof(StateHeader) + sizeof(int32_t) * (size_t)s->battery.n + (size_t)s->batch * row_bytes(s);
}

#define PUT(p, src, n) (memcpy((p), (src), (n)), (p) += (n))
#define GET(dst, p, n) (memcpy((dst), (p), (n)), (p) += (n))

void lm_stream_save_state(const LmStream *s, uint8_t *buf) {
    StateHeader h;
    memset(&h, 0, sizeof h);
    h.magic = STATE_MAGIC;
    h.version = STATE_VERSION;
    h.seed = s->seed;
    h.fix = s->fix;
    h.batch = s->batch;
    h.window = s->window;
    h.cache_len = s->cache_len;
    h.n_tasks = s->battery.n;
    h.seq_start = s->seq_start;
    uint8_t *p = buf;
    PUT(p, &h, sizeof h);
    PUT(p, s->battery.id, sizeof(int32_t) * (size_t)s->battery.n);
    const size_t L = (size_t)s->cache_len;
    for (int b = 0; b < s->batch; b++) {
        const Row *r = &s->rows[b];
        PUT(p, &r->task, sizeof(LmRng));
        PUT(p, &r->global, sizeof(LmRng));
        PUT(p, &r->sched, sizeof(LmRng));
        PUT(p, &r->next, sizeof(int32_t));
        PUT(p, &r->pend_pos, sizeof(int32_t));
        PUT(p, &r->pend_off, sizeof(int32_t));
        PUT(p, r->parity, (size_t)s->battery.n);
        PUT(p, &r->pending, sizeof(LmTrial));
        PUT(p, r->ob, sizeof(float) * LM_OBS * L);
        PUT(p, r->label, sizeof(int32_t) * L);
        PUT(p, r->rule, sizeof(int16_t) * L);
        PUT(p, r->dec, L);
    }
}

int lm_stream_load_state(LmStream *s, const uint8_t *buf, size_t n) {
    if (n != lm_stream_state_size(s)) {
        lm_err_set("stream state: %zu bytes, expected %zu for this configuration", n, lm_stream_state_size(s));
        return -1;
    }
    StateHeader h;
    const uint8_t *p = buf;
    GET(&h, p, sizeof h);
    if (h.magic != STATE_MAGIC || h.version != STATE_VERSION) {
        lm_err_set("stream state: not a stream state (bad magic or version)");
        return -1;
    }
    if (h.seed != s->seed || h.fix != s->fix || h.batch != s->batch || h.window != s->window ||
        h.cache_len != s->cache_len || h.n_tasks != s->battery.n) {
        lm_err_set("stream state: saved for seed %llu fix %#x batch %d window %d tasks %d, but this stream "
                   "has seed %llu fix %#x batch %d window %d tasks %d",
                   (unsigned long long)h.seed, h.fix, h.batch, h.window, h.n_tasks,
                   (unsigned long long)s->seed, s->fix, s->batch, s->window, s->battery.n);
        return -1;
    }
    if (memcmp(p, s->battery.id, sizeof(int32_t) * (size_t)s->battery.n) != 0) {
        lm_err_set("stream state: saved for a different battery");
        return -1;
    }
    p += sizeof(int32_t) * (size_t)s->battery.n;
    if (h.seq_start < 0 || h.seq_start > s->cache_len) {
        lm_err_set("stream state: corrupt read position %d", h.seq_start);
        return -1;
    }
    /* Validate every row before touching the stream, so a bad buffer leaves it unchanged. */
    const size_t L = (size_t)s->cache_len;
    const uint8_t *rows = p;
    for (int b = 0; b < s->batch; b++, p += row_bytes(s)) {
        int32_t v[3], len;
        memcpy(v, p + 3 * sizeof(LmRng), sizeof v);
        const uint8_t *trial = p + 3 * sizeof(LmRng) + sizeof v + (size_t)s->battery.n;
        memcpy(&len, trial + offsetof(LmTrial, len), sizeof len);
        int ok = v[0] >= 0 && v[0] < s->battery.n && v[1] >= 0 && v[1] < s->battery.n && len >= 0 &&
                 len <= LM_TMAX && v[2] >= 0 && v[2] <= len;
        const uint8_t *rule = trial + sizeof(LmTrial) + (sizeof(float) * LM_OBS + sizeof(int32_t)) * L;
        for (size_t i = 0; ok && i < L; i++) {
            int16_t q;
            memcpy(&q, rule + i * sizeof q, sizeof q);
            ok = q >= 0 && q < s->battery.n;
        }
        if (!ok) {
            lm_err_set("stream state: corrupt row %d", b);
            return -1;
        }
    }
    p = rows;
    for (int b = 0; b < s->batch; b++) {
        Row *r = &s->rows[b];
        GET(&r->task, p, sizeof(LmRng));
        GET(&r->global, p, sizeof(LmRng));
        GET(&r->sched, p, sizeof(LmRng));
        GET(&r->next, p, sizeof(int32_t));
        GET(&r->pend_pos, p, sizeof(int32_t));
        GET(&r->pend_off, p, sizeof(int32_t));
        GET(r->parity, p, (size_t)s->battery.n);
        GET(&r->pending, p, sizeof(LmTrial));
        GET(r->ob, p, sizeof(float) * LM_OBS * L);
        GET(r->label, p, sizeof(int32_t) * L);
        GET(r->rule, p, sizeof(int16_t) * L);
        GET(r->dec, p, L);
    }
    s->seq_start = h.seq_start;
    return 0;
}
