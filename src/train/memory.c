/* Memory estimate of a training run (see memory.h). Each term follows the allocation it stands for;
 * pages that are allocated but never touched (calloc'd and left zero) are counted only where the code
 * touches them, because the estimate is compared with resident memory. */
#include "train/memory.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "dist/dist.h"
#include "tasks/battery.h"
#include "tasks/tasks.h"
#include "train/checkpoint.h"
#include "train/trainer.h"
#include "util/err.h"
#include "train/mask_file.h"

#define F 4.0              /* bytes of a float / int32 */
/* The program with its libraries, OpenMP and OpenBLAS threads, before any run-sized allocation:
 * measured peak RSS of `lmrnn train --hidden 16 --steps 1` is 12 MB. */
#define PROCESS_BYTES (12.0 * 1024 * 1024)
/* As src/eval/evaluate.c: trials evaluated together, windows of LM_TMAX steps, at most EVAL_FLOATS
 * floats per activation buffer. */
#define EVAL_CHUNK 512
#define EVAL_FLOATS (1 << 24)

typedef struct {
    double N, n_in, n_out, nnz, nd, n_rec, P;
    int dense, band;
} Shape;

/* lm_work_new(T, B) plus the largest sparse-input index of a window and backward's partial sums. */
static double work_bytes(const Shape *s, const LmTrainConfig *c, double T, double B) {
    double TB = T * B, N = s->N;
    double b = 3 * TB * N * F;                          /* pre, h, d: kept for BPTT */
    if (c->sigma_rec > 0) b += TB * N * F;              /* noise */
    b += 2 * TB * s->n_out * F + (N + 3 * B * N) * F;   /* logits, probs; bias, zeros, rec, carry */
    if (s->dense) b += N * N * F;                       /* W_rec^T */
    else if (s->band) b += 3 * s->nd * N * F + 2 * B * 3 * N * F;   /* band, band_t, gband; xpad (pad <= N) */
    else b += 2 * TB * N * F;                           /* h and ds transposed */
    b += (TB + 1) * F + TB * 8 + 2 * s->n_in * N * F;   /* x_ptr, rowloss, W_in^T and its gradient */
    b += 0.3 * TB * s->n_in * 1.25 * 2 * F;             /* X's non-zeros (index + value) */
    b += 2 * N * 8;                                     /* backward's per-thread bias sums (2 threads) */
    return b;
}

/* The named tensors of a checkpoint (W_rec dense only up to LM_CHECKPOINT_DENSE_MAX units) and W_rec's
 * CSR (values, indices, row pointers). */
static double named_tensor_bytes(const Shape *s) {
    double f = s->N * s->n_in + 2 * s->N + s->n_out * s->N + s->n_out;
    if (s->N <= LM_CHECKPOINT_DENSE_MAX) f += s->N * s->N;
    return f * F + (2 * s->nnz + s->N + 1) * F;
}

/* --distribute sheet over K ranks: the units of the largest strip with its halo (train/sheet.c: whole
 * sheet rows, the halo the rows within distance d on either side). */
static double strip_units(const LmTrainConfig *c, int K) {
    int nx = c->mask == LM_MASK_LOCAL2D ? (c->grid_nx ? c->grid_nx : (int)lround(sqrt((double)c->hidden))) : 1;
    int rows = c->hidden / nx, halo = c->mask == LM_MASK_DIAG ? 0 : (int)ceil(c->d) - 1;
    double units = (ceil((double)rows / K) + 2.0 * halo) * nx;
    return units < c->hidden ? units : c->hidden;
}

/* Each rank of a split network keeps the whole parameter block (its gradient and, except on rank 0,
 * its Adam moments stay untouched) and trains its strip: a model, Adam and work of strip size. */
static void split_over_ranks(const LmTrainConfig *c, const Shape *s, double structure, LmMemoryEstimate *e) {
    int K = lm_dist_size();
    if (!c->distribute || K < 2) return;
    Shape st = *s;
    double frac = strip_units(c, K) / s->N;
    st.N = strip_units(c, K), st.nnz = s->nnz * frac, st.n_rec = st.nnz;
    st.P = s->P * frac;
    e->model = s->P * F + structure + 2 * st.P * F + structure * frac;
    e->adam = 2 * s->P * F + 2 * st.P * F;
    e->work = work_bytes(&st, c, c->window, c->batch);
}

int lm_memory_estimate(const LmTrainConfig *c, int loading, LmMemoryEstimate *e) {
    memset(e, 0, sizeof *e);
    LmBattery bat;
    if (lm_battery_parse(c->battery, &bat) != 0) return -1;
    int64_t nnz, nd;
    if (lm_train_mask_count(c, &nnz, &nd) != 0) return -1;
    Shape s = {.N = c->hidden, .n_in = lm_battery_n_in(&bat), .n_out = LM_N_ACTIONS, .nnz = (double)nnz,
               .nd = (double)nd};
    e->nnz = nnz, e->n_diag = nd;
    e->layout = lm_model_layout_for(c->path, c->hidden, nnz, nd);
    s.dense = !strcmp(e->layout, "dense");
    s.band = !strcmp(e->layout, "band");
    double N = s.N, T = c->window, B = c->batch, TB = T * B;
    s.n_rec = s.dense ? N * N : s.nnz;
    s.P = N * s.n_in + 2 * N + s.n_rec + s.n_out * N + s.n_out;
    e->n_params = (int64_t)s.P;

    e->process = PROCESS_BYTES;
    double mask_one = (N + 1 + s.nnz) * F;               /* CSR */
    e->mask = 2 * mask_one;                              /* the trainer's and the model's copy */
    double structure = s.dense ? (s.nnz < N * N ? N * N : 0)   /* dense re-masking bytes */
                               : ((N + 1) + 2 * s.nnz) * F + (s.band ? 2 * s.nnz * F : 0);
    e->model = 2 * s.P * F + structure;                  /* parameters and gradients */
    e->adam = 2 * s.P * F;
    e->work = work_bytes(&s, c, T, B);
    double L = (1 + floor(1e5 / (s.n_in + 1) / B / T)) * T;   /* stream cache length (lm_stream_new) */
    e->stream = B * L * (LM_OBS * F + F + 2 + 1) + TB * (s.n_in * F + F + 1);

    /* Transients, one at a time. Initialisation: randortho's orthogonal N x N matrix in double. */
    double init = c->init == LM_INIT_RANDORTHO ? N * N * 8 : N * F;
    double chunk = c->eval_trials < EVAL_CHUNK ? c->eval_trials : EVAL_CHUNK;
    chunk = fmin(chunk, fmax(1, floor(EVAL_FLOATS / (LM_TMAX * N))));
    double eval = work_bytes(&s, c, LM_TMAX, chunk) + chunk * sizeof(LmTrial) + LM_TMAX * chunk * s.n_in * F;
    /* Checkpoint writing: the named tensors exported, then every member encoded once more. */
    double dense_mask = N <= LM_CHECKPOINT_DENSE_MAX ? N * N : 0;
    double named = named_tensor_bytes(&s), file = named + dense_mask + 3 * s.P * F;
    double save = named + dense_mask + file;
    /* Reading a checkpoint (resume, plots): the whole archive plus a scratch model that checks it. */
    double load = file + e->model + mask_one + 2 * dense_mask;
    /* The training summary after each evaluation (report/ hook, docs/analysis.md): up to its dense size
     * (LM_SUMMARY_DENSE_MAX_N) the covariance and the SVD input in
     * double, the covariance's float copy and LAPACK's workspace (about 20 N^2 bytes, measured at N = 1024),
     * beside the hidden states it collects with an evaluation's buffers. */
    double summary = N <= LM_SUMMARY_DENSE_MAX_N ? eval + 20 * N * N : 0;   /* it runs the network as an evaluation does */
    e->transient = init, e->transient_what = "initialisation";
    if (summary > e->transient) e->transient = summary, e->transient_what = "training summary";
    if (eval > e->transient) e->transient = eval, e->transient_what = "evaluation";
    if (save > e->transient) e->transient = save, e->transient_what = "checkpoint writing";
    if (loading && load > e->transient) e->transient = load, e->transient_what = "checkpoint reading";
    split_over_ranks(c, &s, structure, e);
    e->total = e->process + e->mask + e->model + e->adam + e->work + e->stream + e->transient;
    return 0;
}

/* A "Key:   123 kB" line of a /proc file, in bytes; -1 if absent. */
static double proc_kb(const char *path, const char *key) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[256];
    double v = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, kl) && line[kl] == ':') {
            v = strtod(line + kl + 1, NULL) * 1024;
            break;
        }
    fclose(f);
    return v;
}

/* A number in a one-line file (cgroup limits); -1 if absent or "max". */
static double file_number(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char buf[64] = "";
    if (!fgets(buf, sizeof buf, f)) buf[0] = '\0';
    fclose(f);
    char *end;
    double v = strtod(buf, &end);
    return end == buf ? -1 : v;
}

/* The memory cgroup's limit less its usage (v2, then v1); -1 when there is no limit. */
static double cgroup_headroom(void) {
    FILE *f = fopen("/proc/self/cgroup", "r");
    char line[1024], dir[1200];
    double limit = -1, used = -1;
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (!strncmp(line, "0::", 3)) {
            snprintf(dir, sizeof dir, "/sys/fs/cgroup%s/memory.max", line + 3);
            limit = file_number(dir);
            snprintf(dir, sizeof dir, "/sys/fs/cgroup%s/memory.current", line + 3);
            used = file_number(dir);
        }
    }
    if (f) fclose(f);
    if (limit < 0) {
        limit = file_number("/sys/fs/cgroup/memory/memory.limit_in_bytes");
        used = file_number("/sys/fs/cgroup/memory/memory.usage_in_bytes");
        if (limit > 1e18) limit = -1;   /* v1 says "no limit" with a huge number */
    }
    if (limit < 0 || used < 0) return -1;
    return limit - used;
}

double lm_memory_available(char *what, size_t whatlen) {
    double best = -1, rss = proc_kb("/proc/self/status", "VmRSS");
    const char *name = "unknown";
    double avail = proc_kb("/proc/meminfo", "MemAvailable");
    if (avail >= 0) best = avail + (rss > 0 ? rss : 0), name = "MemAvailable";
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        double mapped = proc_kb("/proc/self/status", "VmSize");
        double as = (double)rl.rlim_cur - (mapped > 0 ? mapped : 0) + (rss > 0 ? rss : 0);
        if (best < 0 || as < best) best = as, name = "address-space limit RLIMIT_AS";
    }
    double cg = cgroup_headroom();
    if (cg >= 0) {
        cg += rss > 0 ? rss : 0;
        if (best < 0 || cg < best) best = cg, name = "cgroup memory limit";
    }
    if (what) snprintf(what, whatlen, "%s", name);
    return best;
}

static const char *human(double b, char *buf, size_t n) {
    if (b >= 1024.0 * 1024 * 1024) snprintf(buf, n, "%.2f GB", b / (1024.0 * 1024 * 1024));
    else snprintf(buf, n, "%.1f MB", b / (1024.0 * 1024));
    return buf;
}

int lm_memory_check(const LmTrainConfig *c, int loading) {
    LmMemoryEstimate e;
    if (lm_memory_estimate(c, loading, &e) != 0) return -1;
    char what[64], need[32], have[32], act[32];
    double avail = lm_memory_available(what, sizeof what);
    if (avail < 0 || e.total <= avail) return 0;
    lm_err_set("this run needs about %s (activations for T x B x N = %d x %d x %d: %s) but only %s is "
               "available (%s); use a smaller --hidden, --window or --batch (lmrnn train --dry-run shows the "
               "estimate)", human(e.total, need, sizeof need), c->window, c->batch, c->hidden,
               human(3.0 * c->window * c->batch * c->hidden * F, act, sizeof act), human(avail, have, sizeof have),
               what);
    return -1;
}

void lm_memory_print(FILE *f, const LmTrainConfig *c, const LmMemoryEstimate *e) {
    char b[32], what[64];
    fprintf(f, "memory estimate: N %d (%s layout, %lld connections, %lld parameters), T %d, B %d\n", c->hidden,
            e->layout, (long long)e->nnz, (long long)e->n_params, c->window, c->batch);
    const struct { const char *name; double v; } rows[] = {
        {"process", e->process}, {"mask", e->mask}, {"model", e->model}, {"adam", e->adam},
        {"work", e->work},       {"stream", e->stream}, {"transient", e->transient}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        fprintf(f, "  %-10s %12s%s%s\n", rows[i].name, human(rows[i].v, b, sizeof b),
                i + 1 == sizeof rows / sizeof rows[0] ? "  largest of init/eval/checkpoint: " : "",
                i + 1 == sizeof rows / sizeof rows[0] ? e->transient_what : "");
    fprintf(f, "  %-10s %12s\n", "peak", human(e->total, b, sizeof b));
    double avail = lm_memory_available(what, sizeof what);
    if (avail >= 0) fprintf(f, "available: %s (%s)\n", human(avail, b, sizeof b), what);
    else fprintf(f, "available: unknown\n");
}
