/* Fixed and slow points of the network for a constant input (spec §2; Sussillo & Barak 2013, Golub &
 * Sussillo's FixedPointFinder): minimise q(h) = 1/2 |F(h) - h|^2 jointly over many initial states with
 * Adam, keep the unique points, drop distance outliers, and eigen-decompose the analytic Jacobian at
 * each point through LAPACK.
 *
 * Speed: q and its gradient for all active states are two single-precision matrix products per
 * iteration (S = H W^T, then G W), so 1024 states at N = 256 cost two 1024 x 256 x 256 sgemms; the
 * states themselves and Adam's moments are kept in double, and the reported q and Jacobians are
 * evaluated in double at the final points. */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "analysis/analysis.h"
#include "util/err.h"
#include "util/rng.h"

#include <time.h>
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

void lm_fp_options_default(LmFpOptions *o) {
    o->n_inits = 1024, o->noise = 0.5, o->seed = 0;
    o->lr = 1.0, o->adam_eps = 0.01, o->lr_decay = 0.95, o->patience = 5, o->max_iters = 5000;
    o->tol_q = 1e-12, o->tol_dq = 1e-20, o->tol_unique = 1e-3, o->outlier = 10;
    o->threads = 1;
    o->refine = 1, o->refine_iters = 20;
}

/* ---------------------------------------------------------------- the map, in double */
static double act(LmActivation a, double u) {
    switch (a) {
    case LM_ACT_RELU: return u > 0 ? u : 0.0;
    case LM_ACT_SOFTPLUS: return u > 0 ? u + log1p(exp(-u)) : log1p(exp(u));
    case LM_ACT_TANH: return tanh(u);
    }
    return 0;
}

static double dact(LmActivation a, double u) {
    switch (a) {
    case LM_ACT_RELU: return u > 0 ? 1.0 : 0.0;   /* the engine's convention at 0 */
    case LM_ACT_SOFTPLUS: return 1.0 / (1.0 + exp(-u));
    case LM_ACT_TANH: {
        double t = tanh(u);
        return 1.0 - t * t;
    }
    }
    return 0;
}

void lm_map_input(const LmModel *m, const float *u, double *c) {
    const LmModelConfig *cfg = lm_model_config(m);
    int N = cfg->n_hidden, n_in = cfg->n_in;
    float *Win = lm_malloc((size_t)N * n_in * sizeof(float)), *b1 = lm_malloc((size_t)N * sizeof(float));
    float *b2 = lm_malloc((size_t)N * sizeof(float));
    lm_model_export_tensor(m, 0, Win);
    lm_model_export_tensor(m, 1, b1);
    lm_model_export_tensor(m, 3, b2);
    for (int i = 0; i < N; i++) {
        double s = (double)b1[i] + b2[i];
        for (int j = 0; j < n_in; j++) s += (double)Win[(size_t)i * n_in + j] * u[j];
        c[i] = s;
    }
    free(Win), free(b1), free(b2);
}

/* s = W h + c (pre-activation sum of the recurrent and input terms). */
static void recurrent_sum(const LmMap *f, const double *h, double *s) {
    for (int i = 0; i < f->N; i++) {
        const float *w = f->W + (size_t)i * f->N;
        double acc = f->c[i];
        for (int j = 0; j < f->N; j++) acc += (double)w[j] * h[j];
        s[i] = acc;
    }
}

void lm_map_step(const LmMap *f, const double *h, double *out) {
    double a = f->alpha;
    recurrent_sum(f, h, out);
    for (int i = 0; i < f->N; i++)
        out[i] = f->rule == LM_RULE_YANG ? (1 - a) * h[i] + a * act(f->act, out[i])
                                         : act(f->act, (1 - a) * h[i] + a * out[i]);
}

double lm_map_q(const LmMap *f, const double *h) {
    double *F = lm_malloc((size_t)f->N * sizeof(double)), q = 0;
    lm_map_step(f, h, F);
    for (int i = 0; i < f->N; i++) q += (F[i] - h[i]) * (F[i] - h[i]);
    free(F);
    return 0.5 * q;
}

void lm_map_jacobian(const LmMap *f, const double *h, double *J) {
    int N = f->N;
    double a = f->alpha, *s = lm_malloc((size_t)N * sizeof(double));
    recurrent_sum(f, h, s);
    for (int i = 0; i < N; i++) {
        const float *w = f->W + (size_t)i * N;
        double *row = J + (size_t)i * N;
        if (f->rule == LM_RULE_YANG) {        /* J = (1-a) I + a diag(act'(s)) W */
            double d = a * dact(f->act, s[i]);
            for (int j = 0; j < N; j++) row[j] = d * w[j];
            row[i] += 1 - a;
        } else {                              /* J = diag(act'(z)) ((1-a) I + a W), z = (1-a) h + a s */
            double d = dact(f->act, (1 - a) * h[i] + a * s[i]);
            for (int j = 0; j < N; j++) row[j] = d * a * w[j];
            row[i] += d * (1 - a);
        }
    }
    free(s);
}

/* ---------------------------------------------------------------- initial states */
int lm_fp_sample_inits(const LmStates *s, int period, const LmFpOptions *o, float *inits) {
    int64_t rows = 0;
    for (int k = 0; k < s->K; k++) {
        const int32_t *b = s->bounds + ((size_t)k * LM_N_PERIOD_NAMES + period) * 2;
        if (b[0] >= 0 && b[1] > b[0]) rows += (b[1] < s->len[k] ? b[1] : s->len[k]) - b[0];
    }
    if (rows <= 0) {
        lm_err_set("no trial has a non-empty '%s' period", lm_period_names[period]);
        return -1;
    }
    /* (trial, step) of every row, in trial order */
    int32_t *at = lm_malloc((size_t)rows * 2 * sizeof(int32_t));
    int64_t r = 0;
    for (int k = 0; k < s->K; k++) {
        const int32_t *b = s->bounds + ((size_t)k * LM_N_PERIOD_NAMES + period) * 2;
        if (b[0] < 0) continue;
        for (int t = b[0]; t < b[1] && t < s->len[k]; t++) at[2 * r] = k, at[2 * r + 1] = t, r++;
    }
    LmRng rng = lm_rng_derive(o->seed, 0x6670u);   /* "fp" */
    for (int n = 0; n < o->n_inits; n++) {
        int64_t pick = (int64_t)(lm_rng_uniform(&rng) * (double)rows);
        if (pick >= rows) pick = rows - 1;
        const float *h = s->h + ((size_t)at[2 * pick] * s->T + at[2 * pick + 1]) * s->N;
        for (int i = 0; i < s->N; i++) inits[(size_t)n * s->N + i] = (float)(h[i] + o->noise * lm_rng_normal(&rng));
    }
    free(at);
    return 0;
}

/* ---------------------------------------------------------------- joint optimisation */
typedef struct {
    int N, n;                 /* units, states */
    double *h, *m, *v;        /* [n][N] states and Adam moments */
    double *q, *q_prev;       /* [n] */
    int32_t *iters;           /* [n] */
    uint8_t *stop;            /* [n] 0 running, 1 q < tol_q, 2 |dq| < tol_dq lr, 3 max_iters */
    int *active;              /* indices of running states, compacted */
    float *H, *S, *G;         /* [n][N] work in float for the sgemms */
    float *cf;                /* [N] the input term c in float */
} Opt;

static inline float act_f(LmActivation a, float u) {
    switch (a) {
    case LM_ACT_RELU: return u > 0 ? u : 0.0f;
    case LM_ACT_SOFTPLUS: return u > 0 ? u + log1pf(expf(-u)) : log1pf(expf(u));
    case LM_ACT_TANH: return tanhf(u);
    }
    return 0;
}

static inline float dact_f(LmActivation a, float u) {
    switch (a) {
    case LM_ACT_RELU: return u > 0 ? 1.0f : 0.0f;
    case LM_ACT_SOFTPLUS: return 1.0f / (1.0f + expf(-u));
    case LM_ACT_TANH: {
        float t = tanhf(u);
        return 1.0f - t * t;
    }
    }
    return 0;
}

/* q and dq/dh for the active states (rows of H); gradients into G, q into q[]. */
static void q_and_grad(const LmMap *f, Opt *o, int A) {
    int N = o->N;
    float a = (float)f->alpha, leak = 1.0f - a;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, A, N, N, 1.0f, o->H, N, f->W, N, 0.0f, o->S, N);
    float *cf = o->cf;
    const LmActivation fn = f->act;
    const int yang = f->rule == LM_RULE_YANG;
    for (int r = 0; r < A; r++) {
        const float *h = o->H + (size_t)r * N;
        float *s = o->S + (size_t)r * N, *g = o->G + (size_t)r * N;
        double q = 0;
        if (fn == LM_ACT_RELU && !yang) {   /* the common case, written so that it vectorises */
            float qf = 0;
            #pragma omp simd reduction(+ : qf)
            for (int i = 0; i < N; i++) {
                float z = leak * h[i] + a * (s[i] + cf[i]);
                float on = z > 0 ? 1.0f : 0.0f;
                float res = on * z - h[i];
                qf += res * res;
                s[i] = res;
                g[i] = on * res;
            }
            o->q[o->active[r]] = 0.5 * (double)qf;
            continue;
        }
        for (int i = 0; i < N; i++) {
            float sum = s[i] + cf[i];
            float z = yang ? sum : leak * h[i] + a * sum;
            float F = yang ? leak * h[i] + a * act_f(fn, z) : act_f(fn, z);
            float res = F - h[i];
            q += (double)res * res;
            s[i] = res;                          /* keep r for the gradient */
            g[i] = dact_f(fn, z) * res;
        }
        o->q[o->active[r]] = 0.5 * q;
    }
    /* ngym: grad = (1-a) g + a W^T g - r; yang: grad = (1-a) r + a W^T g - r, with g = act'(z) r.
     * W^T g for every row is G W; it overwrites H (rebuilt from h before the next product). */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, A, N, N, 1.0f, o->G, N, f->W, N, 0.0f, o->H, N);
    for (int r = 0; r < A; r++) {
        float *wg = o->H + (size_t)r * N, *res = o->S + (size_t)r * N, *g = o->G + (size_t)r * N;
        for (int i = 0; i < N; i++)
            g[i] = f->rule == LM_RULE_YANG ? a * wg[i] - a * res[i] : leak * g[i] + a * wg[i] - res[i];
    }
}

/* Adam on the joint loss mean_k q_k, whose gradient with respect to state k is dq_k/dh_k / n. */
static void adam_update(Opt *o, int A, double lr, int t, double eps) {
    const double b1 = 0.9, b2 = 0.999, scale = 1.0 / o->n;
    double c1 = 1 - pow(b1, t), c2 = 1 - pow(b2, t);
    for (int r = 0; r < A; r++) {
        int k = o->active[r];
        double *h = o->h + (size_t)k * o->N, *m = o->m + (size_t)k * o->N, *v = o->v + (size_t)k * o->N;
        const float *g = o->G + (size_t)r * o->N;
        #pragma omp simd
        for (int i = 0; i < o->N; i++) {
            double gi = scale * g[i];
            m[i] = b1 * m[i] + (1 - b1) * gi;
            v[i] = b2 * v[i] + (1 - b2) * gi * gi;
            h[i] -= lr * (m[i] / c1) / (__builtin_sqrt(v[i] / c2) + eps);
        }
    }
}

static void optimise(const LmMap *f, const LmFpOptions *po, Opt *o, LmFixedPoints *out) {
    int N = o->N, A = o->n;
    double lr = po->lr, prev = INFINITY;
    int improved = 0, last_decrease = 0, it = 0;
    for (int k = 0; k < o->n; k++) o->active[k] = k;
    while (A > 0 && it < po->max_iters) {
        it++;
        for (int r = 0; r < A; r++) {
            const double *h = o->h + (size_t)o->active[r] * N;
            float *H = o->H + (size_t)r * N;
            for (int i = 0; i < N; i++) H[i] = (float)h[i];
        }
        q_and_grad(f, o, A);
        /* Per-state stopping on the q just measured (the state is left where q was evaluated). */
        int kept = 0;
        for (int r = 0; r < A; r++) {
            int k = o->active[r];
            o->iters[k] = it;
            if (o->q[k] < po->tol_q) o->stop[k] = 1;
            else if (it > 1 && fabs(o->q[k] - o->q_prev[k]) < po->tol_dq * lr) o->stop[k] = 2;
            o->q_prev[k] = o->q[k];
            if (o->stop[k]) continue;
            if (kept != r)
                memcpy(o->G + (size_t)kept * N, o->G + (size_t)r * N, (size_t)N * sizeof(float));
            o->active[kept++] = k;
        }
        A = kept;
        /* FixedPointFinder's adaptive rate on the joint loss (the mean q over all states): divided by
         * lr_decay after `patience` consecutive improvements, multiplied by it when the loss did not
         * improve, at most once per `patience` iterations. */
        double mean = 0;
        for (int k = 0; k < o->n; k++) mean += o->q[k];
        mean /= o->n;
        if (mean < prev) {
            if (++improved >= po->patience) lr /= po->lr_decay, improved = 0;
        } else {
            improved = 0;
            if (it - last_decrease >= po->patience) lr *= po->lr_decay, last_decrease = it;
        }
        prev = mean;
        adam_update(o, A, lr, it, po->adam_eps);
    }
    for (int r = 0; r < A; r++) o->stop[o->active[r]] = 3;
    out->iterations = it;
    out->final_lr = lr;
}

/* ---------------------------------------------------------------- second-order polish */
/* Levenberg-Marquardt on q(h) = 1/2 |r|^2, r = F(h) - h, with the analytic Jacobian A = J - I: the step
 * solves (A^T A + mu I) d = -A^T r (LAPACK dposv on the Cholesky factor), accepted when q decreases,
 * mu adapted by Nielsen's rule. Near an isolated fixed point it is Newton's method (quadratic
 * convergence); along a continuum of fixed points (J with eigenvalue 1, A singular) mu keeps the step
 * short instead of throwing the point along the manifold. Stops after refine_iters iterations or when
 * q no longer decreases by 1e-4 relative (round-off reached, or a slow point: a local minimum of q
 * above 0). Returns the iterations; q in *q_out. */
typedef struct { double *A, *M, *Mc, *r, *g, *d, *hn, *Fn; } RefineWork;

static double half_sq(const double *F, const double *h, int N) {
    double q = 0;
    for (int i = 0; i < N; i++) q += (F[i] - h[i]) * (F[i] - h[i]);
    return 0.5 * q;
}

static int refine_one(const LmMap *f, double *h, const LmFpOptions *po, RefineWork *w, double *q_out) {
    const int N = f->N;
    lm_map_step(f, h, w->Fn);
    double q = half_sq(w->Fn, h, N), mu = -1, nu = 2;
    int it = 0;
    while (it < po->refine_iters && q > 0) {   /* past tol_q too: Newton's last steps are cheap and pin h */
        it++;
        for (int i = 0; i < N; i++) w->r[i] = w->Fn[i] - h[i];
        lm_map_jacobian(f, h, w->A);
        for (int i = 0; i < N; i++) w->A[(size_t)i * N + i] -= 1.0;
        cblas_dgemv(CblasRowMajor, CblasTrans, N, N, 1.0, w->A, N, w->r, 1, 0.0, w->g, 1);   /* g = A^T r */
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, N, N, 1.0, w->A, N, 0.0, w->M, N);   /* M = A^T A */
        if (mu < 0) {
            double dmax = 0;
            for (int i = 0; i < N; i++) dmax = fmax(dmax, w->M[(size_t)i * N + i]);
            mu = 1e-6 * (dmax > 0 ? dmax : 1);
        }
        int accepted = 0;
        for (int tries = 0; tries < 20 && !accepted; tries++) {
            memcpy(w->Mc, w->M, (size_t)N * N * sizeof(double));
            for (int i = 0; i < N; i++) w->Mc[(size_t)i * N + i] += mu, w->d[i] = -w->g[i];
            if (LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', N, 1, w->Mc, N, w->d, 1) != 0) {
                mu *= nu, nu *= 2;
                continue;
            }
            for (int i = 0; i < N; i++) w->hn[i] = h[i] + w->d[i];
            lm_map_step(f, w->hn, w->Fn);
            double qn = half_sq(w->Fn, w->hn, N), pred = 0;
            for (int i = 0; i < N; i++) pred += w->d[i] * (mu * w->d[i] - w->g[i]);
            pred *= 0.5;   /* the decrease the local quadratic model promises */
            if (qn < q && pred > 0) {
                double rho = (q - qn) / pred, c = 2 * rho - 1;
                mu *= fmax(1.0 / 3, 1 - c * c * c), nu = 2;
                memcpy(h, w->hn, (size_t)N * sizeof(double));
                accepted = qn < (1 - 1e-4) * q ? 1 : 2;   /* 2: too little progress to go on */
                q = qn;
            } else {
                mu *= nu, nu *= 2;
            }
        }
        if (accepted != 1) break;   /* no real decrease at any damping: a local minimum of q (a slow point) */
    }
    *q_out = q;
    return it;
}

/* ---------------------------------------------------------------- selection */
static const double *sort_q;
static int by_q(const void *a, const void *b) {
    double x = sort_q[*(const int *)a], y = sort_q[*(const int *)b];
    return x < y ? -1 : x > y ? 1 : (*(const int *)a - *(const int *)b);
}

static double dist(const double *a, const double *b, int N) {
    double d = 0;
    for (int i = 0; i < N; i++) d += (a[i] - b[i]) * (a[i] - b[i]);
    return sqrt(d);
}

/* Unique points (greedy in ascending q), then distance outliers; returns the kept indices. */
static int select_points(const Opt *o, const float *inits, const LmFpOptions *po, const int *cand, int n_cand,
                         int *keep, LmFixedPoints *out) {
    int N = o->N, n = o->n;
    int *order = lm_malloc((size_t)(n_cand ? n_cand : 1) * sizeof(int));
    memcpy(order, cand, (size_t)n_cand * sizeof(int));
    sort_q = o->q;
    qsort(order, (size_t)n_cand, sizeof(int), by_q);
    int K = 0;
    for (int r = 0; r < n_cand; r++) {
        const double *h = o->h + (size_t)order[r] * N;
        int dup = 0;
        for (int j = 0; j < K && !dup; j++) dup = dist(h, o->h + (size_t)keep[j] * N, N) <= po->tol_unique;
        if (dup) out->n_duplicates++;
        else keep[K++] = order[r];
    }
    free(order);
    if (po->outlier > 0) {
        double *c = lm_calloc((size_t)N, sizeof(double)), *p = lm_malloc((size_t)N * sizeof(double)), md = 0;
        for (int k = 0; k < n; k++)
            for (int i = 0; i < N; i++) c[i] += inits[(size_t)k * N + i] / (double)n;
        for (int k = 0; k < n; k++) {
            for (int i = 0; i < N; i++) p[i] = inits[(size_t)k * N + i];
            md += dist(p, c, N) / n;
        }
        int kept = 0;
        for (int j = 0; j < K; j++) {
            if (dist(o->h + (size_t)keep[j] * N, c, N) > po->outlier * md) out->n_outliers++;
            else keep[kept++] = keep[j];
        }
        K = kept;
        free(c), free(p);
    }
    return K;
}

static double points_pr(const double *pts, int K, int N) {
    if (K < 2) return 0;
    float *X = lm_malloc((size_t)K * N * sizeof(float));
    for (size_t k = 0; k < (size_t)K * N; k++) X[k] = (float)pts[k];
    double *mean = lm_malloc((size_t)N * sizeof(double)), *cov = lm_malloc((size_t)N * N * sizeof(double));
    double *w = lm_malloc((size_t)N * sizeof(double)), pr = 0;
    lm_covariance(X, K, N, mean, cov);
    if (lm_sym_eigvals(N, cov, w) == 0) pr = lm_participation_ratio(w, N);
    free(X), free(mean), free(cov), free(w);
    return pr;
}

int lm_fp_find(const LmMap *f, const float *inits, const LmFpOptions *po, LmFixedPoints *out) {
    memset(out, 0, sizeof *out);
    int N = f->N, n = po->n_inits;
    if (n < 1 || po->max_iters < 1 || po->patience < 1 || !(po->lr > 0) || !(po->lr_decay > 0 && po->lr_decay <= 1)) {
        lm_err_set("fixed points: inits, max-iters, patience and lr must be positive and lr-decay in (0, 1]");
        return -1;
    }
    Opt o;
    memset(&o, 0, sizeof o);
    o.N = N, o.n = n;
    o.cf = lm_malloc((size_t)N * sizeof(float));
    for (int i = 0; i < N; i++) o.cf[i] = (float)f->c[i];
    size_t nN = (size_t)n * N;
    o.h = lm_malloc(nN * sizeof(double)), o.m = lm_calloc(nN, sizeof(double)), o.v = lm_calloc(nN, sizeof(double));
    o.q = lm_calloc((size_t)n, sizeof(double)), o.q_prev = lm_calloc((size_t)n, sizeof(double));
    o.iters = lm_calloc((size_t)n, sizeof(int32_t)), o.stop = lm_calloc((size_t)n, 1);
    o.active = lm_malloc((size_t)n * sizeof(int));
    o.H = lm_malloc(nN * sizeof(float)), o.S = lm_malloc(nN * sizeof(float)), o.G = lm_malloc(nN * sizeof(float));
    for (size_t k = 0; k < nN; k++) o.h[k] = inits[k];

    openblas_set_num_threads(1);   /* as the model's kernels: one OpenBLAS thread, deterministic sums */
    double t0 = now();
    optimise(f, po, &o, out);
    for (int k = 0; k < n; k++) {
        o.q[k] = lm_map_q(f, o.h + (size_t)k * N);   /* in double, at the final state */
        out->n_stopped_q += o.stop[k] == 1, out->n_stopped_dq += o.stop[k] == 2, out->n_max_iters += o.stop[k] == 3;
    }
    int *keep = lm_malloc((size_t)n * sizeof(int)), *cand = lm_malloc((size_t)n * sizeof(int));
    for (int k = 0; k < n; k++) cand[k] = k;
    int K = select_points(&o, inits, po, cand, n, keep, out);
    out->seconds_opt = now() - t0;
    out->refine = po->refine;
    if (po->refine && K > 0) {   /* polish the kept points, then select again: polished points may merge */
        t0 = now();
        int refined = 0;
        #pragma omp parallel num_threads(po->threads) reduction(+ : refined)
        {
            RefineWork w;
            size_t NN = (size_t)N * N;
            w.A = lm_malloc(NN * sizeof(double)), w.M = lm_malloc(NN * sizeof(double)), w.Mc = lm_malloc(NN * sizeof(double));
            w.r = lm_malloc((size_t)N * 5 * sizeof(double));
            w.g = w.r + N, w.d = w.g + N, w.hn = w.d + N, w.Fn = w.hn + N;
            #pragma omp for schedule(dynamic)
            for (int j = 0; j < K; j++) {
                int k = keep[j];
                if (o.q[k] < po->tol_q) continue;
                o.iters[k] += refine_one(f, o.h + (size_t)k * N, po, &w, &o.q[k]);
                o.q[k] = lm_map_q(f, o.h + (size_t)k * N);
                refined++;
            }
            free(w.A), free(w.M), free(w.Mc), free(w.r);
        }
        out->n_refined = refined;
        memcpy(cand, keep, (size_t)K * sizeof(int));
        int dup0 = out->n_duplicates, out0 = out->n_outliers;
        K = select_points(&o, inits, po, cand, K, keep, out);
        out->n_refine_merged = out->n_duplicates - dup0, out->n_refine_outliers = out->n_outliers - out0;
        for (int j = 0; j < K; j++) out->n_converged += o.q[keep[j]] < po->tol_q;
        out->seconds_refine = now() - t0;
    } else {
        for (int j = 0; j < K; j++) out->n_converged += o.q[keep[j]] < po->tol_q;
    }
    free(cand);

    out->N = N, out->K = K, out->n_inits = n;
    out->points = lm_malloc((size_t)(K ? K : 1) * N * sizeof(double));
    out->q = lm_malloc((size_t)(K ? K : 1) * sizeof(double));
    out->iters = lm_malloc((size_t)(K ? K : 1) * sizeof(int32_t));
    out->stable = lm_malloc((size_t)(K ? K : 1));
    out->eig_re = lm_malloc((size_t)(K ? K : 1) * N * sizeof(double));
    out->eig_im = lm_malloc((size_t)(K ? K : 1) * N * sizeof(double));
    out->inits = lm_malloc(nN * sizeof(float));
    memcpy(out->inits, inits, nN * sizeof(float));
    for (int j = 0; j < K; j++) {
        memcpy(out->points + (size_t)j * N, o.h + (size_t)keep[j] * N, (size_t)N * sizeof(double));
        out->q[j] = o.q[keep[j]];
        out->iters[j] = o.iters[keep[j]];
    }
    t0 = now();
    int failed = 0;
    #pragma omp parallel for schedule(dynamic) num_threads(po->threads) reduction(| : failed)
    for (int j = 0; j < K; j++) {
        double *J = lm_malloc((size_t)N * N * sizeof(double));
        lm_map_jacobian(f, out->points + (size_t)j * N, J);
        failed |= lm_eigvals(N, J, out->eig_re + (size_t)j * N, out->eig_im + (size_t)j * N) != 0;
        out->stable[j] = hypot(out->eig_re[(size_t)j * N], out->eig_im[(size_t)j * N]) < 1.0;
        free(J);
    }
    out->seconds_eig = now() - t0;
    out->slow_pr = points_pr(out->points, K, N);
    free(keep);
    free(o.h), free(o.m), free(o.v), free(o.q), free(o.q_prev), free(o.iters), free(o.stop), free(o.active);
    free(o.H), free(o.S), free(o.G), free(o.cf);
    if (failed) {
        lm_fp_free(out);
        lm_err_set("fixed points: an eigen-decomposition failed (LAPACK dgeev)");
        return -1;
    }
    return 0;
}

void lm_fp_free(LmFixedPoints *fp) {
    free(fp->points), free(fp->q), free(fp->eig_re), free(fp->eig_im), free(fp->stable), free(fp->iters);
    free(fp->inits);
    memset(fp, 0, sizeof *fp);
}
