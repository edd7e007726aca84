/* One network across MPI ranks: strips, halo exchange, the split step and rank 0's commands
 * (train/sheet.h). */
#include "train/sheet.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dist/dist.h"
#include "io/json.h"
#include "train/checkpoint.h"
#include "train/memory.h"
#include "train/progress.h"
#include "util/err.h"

/* Rank 0's commands to the other ranks, one broadcast each. */
enum { CMD_STEP = 1, CMD_SYNC, CMD_END_OK, CMD_END_FAIL };
enum { TAG_PARAMS = 11, TAG_ADAM_M, TAG_ADAM_V };
/* Per-rank figures reported at the end. */
enum { ST_STEPS, ST_STEP_S, ST_COMM_S, ST_HALO_B, ST_REDUCE_B, ST_GATHER_B, ST_UNITS, ST_HALO_UNITS, ST_N };

typedef struct {
    int rank;
    int lo, hi;              /* global units exchanged with it (contiguous) */
} Span;

struct LmStrips {
    int rank, size;
    LmStrip strip;
    LmAdam adam;
    LmWork *work;
    int n_send, n_recv;      /* peers I send my units to / receive their units from */
    Span *send, *recv;
    int *peer;               /* the exchange's peer list: the union of send and recv ranks */
    int n_peer;
    float **sbuf, **rbuf;
    long *sn, *rn;           /* floats per peer and direction for the current window */
    int stale;               /* rank 0: t->model is older than the strips */
    double step_seconds, comm_seconds;   /* inside training steps */
    int64_t steps;
};

/* The units rank r of K owns: whole sheet rows for local2d (nx units each), else a unit range. */
static void owned_units(const LmTrainConfig *c, int K, int r, int *u0, int *u1) {
    int N = c->hidden, nx = 1;
    if (c->mask == LM_MASK_LOCAL2D) nx = c->grid_nx ? c->grid_nx : (int)lround(sqrt((double)N));
    int rows = N / nx;
    *u0 = (int)((int64_t)rows * r / K) * nx;
    *u1 = (int)((int64_t)rows * (r + 1) / K) * nx;
}

static int rows_of(const LmTrainConfig *c) {
    if (c->mask != LM_MASK_LOCAL2D) return c->hidden;
    int nx = c->grid_nx ? c->grid_nx : (int)lround(sqrt((double)c->hidden));
    return c->hidden / nx;
}

/* The spans every other rank and I exchange: what of my halo q owns, what of mine q's halo holds. */
static void plan_exchange(LmStrips *s, const LmTrainConfig *c, const LmMask *mask) {
    const LmStrip *st = &s->strip;
    s->send = lm_calloc((size_t)s->size, sizeof(Span));
    s->recv = lm_calloc((size_t)s->size, sizeof(Span));
    s->peer = lm_calloc((size_t)s->size, sizeof(int));
    for (int q = 0; q < s->size; q++) {
        if (q == s->rank) continue;
        int qu0, qu1, qe0, qe1;
        owned_units(c, s->size, q, &qu0, &qu1);
        lm_strip_extent(mask, qu0, qu1, &qe0, &qe1);
        int rlo = st->e0 > qu0 ? st->e0 : qu0, rhi = st->e1 < qu1 ? st->e1 : qu1;
        int slo = st->u0 > qe0 ? st->u0 : qe0, shi = st->u1 < qe1 ? st->u1 : qe1;
        if (rhi > rlo) s->recv[s->n_recv++] = (Span){q, rlo, rhi};
        if (shi > slo) s->send[s->n_send++] = (Span){q, slo, shi};
        if (rhi > rlo || shi > slo) s->peer[s->n_peer++] = q;
    }
    s->sbuf = lm_calloc((size_t)s->n_peer + 1, sizeof(float *));
    s->rbuf = lm_calloc((size_t)s->n_peer + 1, sizeof(float *));
    s->sn = lm_calloc((size_t)s->n_peer + 1, sizeof(long));
    s->rn = lm_calloc((size_t)s->n_peer + 1, sizeof(long));
    for (int k = 0; k < s->n_peer; k++) {
        long sl = 0, rl = 0;
        for (int j = 0; j < s->n_send; j++) sl += s->send[j].rank == s->peer[k] ? s->send[j].hi - s->send[j].lo : 0;
        for (int j = 0; j < s->n_recv; j++) rl += s->recv[j].rank == s->peer[k] ? s->recv[j].hi - s->recv[j].lo : 0;
        s->sbuf[k] = lm_malloc((size_t)(sl ? sl : 1) * c->batch * sizeof(float));
        s->rbuf[k] = lm_malloc((size_t)(rl ? rl : 1) * c->batch * sizeof(float));
        s->sn[k] = sl, s->rn[k] = rl;   /* per batch row until the exchange scales them */
    }
}

static const Span *span_of(const Span *v, int n, int rank) {
    for (int j = 0; j < n; j++)
        if (v[j].rank == rank) return &v[j];
    return NULL;
}

static void die(void) {
    fprintf(stderr, "lmrnn: train: rank %d: %s\n", lm_dist_rank(), lm_err_msg());
    lm_dist_abort(1);
}

/* rows [B][n] (strip numbering from e0): my owned spans out, the halo spans in. */
static void exchange_rows(LmStrips *s, float *rows, int B, int n) {
    const int e0 = s->strip.e0;
    long sn[s->n_peer + 1], rn[s->n_peer + 1];
    for (int k = 0; k < s->n_peer; k++) {
        const Span *sp = span_of(s->send, s->n_send, s->peer[k]);
        long len = sp ? sp->hi - sp->lo : 0;
        for (int b = 0; sp && b < B; b++)
            memcpy(s->sbuf[k] + (size_t)b * len, rows + (size_t)b * n + (sp->lo - e0), (size_t)len * sizeof(float));
        sn[k] = len * B;
        rn[k] = s->rn[k] * B;
    }
    if (lm_dist_exchange(s->n_peer, s->peer, s->sbuf, sn, s->rbuf, rn) != 0) die();
    for (int k = 0; k < s->n_peer; k++) {
        const Span *sp = span_of(s->recv, s->n_recv, s->peer[k]);
        long len = sp ? sp->hi - sp->lo : 0;
        for (int b = 0; sp && b < B; b++)
            memcpy(rows + (size_t)b * n + (sp->lo - e0), s->rbuf[k] + (size_t)b * len, (size_t)len * sizeof(float));
    }
}

static void hook_forward(void *ctx, int t, float *h, int B, int n) { (void)t, exchange_rows(ctx, h, B, n); }
static void hook_backward(void *ctx, int t, float *d, int B, int n) { (void)t, exchange_rows(ctx, d, B, n); }
static void hook_logits(void *ctx, float *logits, int TB, int n_out) {
    (void)ctx;
    if (lm_dist_allreduce_sum_f32(logits, (long)TB * n_out) != 0) die();
}

int lm_sheet_check_ranks(const LmTrainConfig *c, int ranks) {
    if (ranks <= rows_of(c)) return 0;
    lm_err_set("--distribute sheet: %d ranks but the sheet has only %d %s to share out", ranks, rows_of(c),
               c->mask == LM_MASK_LOCAL2D ? "rows" : "units");
    return -1;
}

int lm_sheet_start(LmTrainer *t) {
    const LmTrainConfig *c = &t->cfg;
    LmStrips *s = lm_calloc(1, sizeof *s);
    s->rank = lm_dist_rank(), s->size = lm_dist_size();
    t->sheet = s;
    if (lm_sheet_check_ranks(c, s->size) != 0) return -1;
    int u0, u1;
    owned_units(c, s->size, s->rank, &u0, &u1);
    if (lm_strip_new(t->model, u0, u1, &s->strip) != 0) return -1;
    LmModel *m = s->strip.model;
    lm_strip_scatter(&s->strip, t->model, lm_model_params(t->model), lm_model_params(m));
    lm_adam_init(&s->adam, m, t->adam.lr);
    s->adam.t = t->adam.t;
    lm_strip_scatter(&s->strip, t->model, t->adam.m, s->adam.m);
    lm_strip_scatter(&s->strip, t->model, t->adam.v, s->adam.v);
    s->work = lm_work_new(m, c->window, c->batch);
    LmStepHooks hooks = {s, hook_forward, hook_backward, hook_logits};
    lm_work_set_hooks(s->work, &hooks);
    plan_exchange(s, c, lm_model_mask(t->model));
    return 0;
}

void lm_sheet_free(LmStrips *s) {
    if (!s) return;
    lm_work_free(s->work);
    lm_adam_free(&s->adam);
    lm_strip_free(&s->strip);
    for (int k = 0; k < s->n_peer; k++) free(s->sbuf[k]), free(s->rbuf[k]);
    free(s->sbuf), free(s->rbuf), free(s->sn), free(s->rn);
    free(s->send), free(s->recv), free(s->peer);
    free(s);
}

static int command(long cmd) { return lm_dist_bcast(&cmd, sizeof cmd, 0); }

int lm_sheet_train_step(LmTrainer *t, LmStepStats *st) {
    LmStrips *s = t->sheet;
    const LmTrainConfig *c = &t->cfg;
    if (s->rank == 0 && command(CMD_STEP) != 0) return -1;
    double t0 = lm_now();
    LmDistTraffic before;
    lm_dist_traffic(&before);
    LmModel *m = s->strip.model;
    lm_err_set("%s", "");   /* forward sets a message only for invalid labels */
    double l = lm_forward(m, s->work, t->x, t->labels, t->decision, &t->loss, c->window, c->batch, NULL);
    st->loss = l, st->grad_norm = NAN;
    if (!isfinite(l)) {   /* the same on every rank: the logits are summed before the loss */
        if (!lm_err_msg()[0]) lm_err_set("non-finite loss (%g)", l);
        return -1;
    }
    lm_backward(m, s->work, t->x, t->labels, t->decision, &t->loss, c->window, c->batch);
    lm_strip_clear_halo_grads(&s->strip);
    double sumsq = lm_strip_owned_sumsq(&s->strip, s->rank == 0);
    if (lm_dist_allreduce_sum_f64(&sumsq, 1) != 0) die();
    double norm = sqrt(sumsq);
    st->grad_norm = norm;
    if (!isfinite(norm)) {
        lm_err_set("non-finite gradient norm (%g) at loss %g", norm, l);
        return -1;
    }
    lm_clip_grads_to(m, norm, c->clip);
    lm_adam_step(&s->adam, m);
    s->stale = 1;
    LmDistTraffic after;
    lm_dist_traffic(&after);
    s->steps++;
    s->step_seconds += lm_now() - t0;
    s->comm_seconds += after.seconds - before.seconds;
    return 0;
}

/* params, Adam m, Adam v of my strip, packed. */
static float *pack_three(const LmStrips *s, size_t *count) {
    *count = lm_strip_owned_count(s->strip.model, s->strip.u0 - s->strip.e0, s->strip.u1 - s->strip.e0);
    float *buf = lm_malloc(3 * *count * sizeof(float));
    lm_strip_pack(&s->strip, lm_model_params(s->strip.model), buf);
    lm_strip_pack(&s->strip, s->adam.m, buf + *count);
    lm_strip_pack(&s->strip, s->adam.v, buf + 2 * *count);
    return buf;
}

int lm_sheet_sync(LmTrainer *t) {
    LmStrips *s = t->sheet;
    if (!s->stale) return 0;
    if (command(CMD_SYNC) != 0) return -1;
    size_t count;
    float *buf = pack_three(s, &count);
    int rc = 0;
    for (int q = 0; q < s->size && rc == 0; q++) {
        int u0, u1;
        owned_units(&t->cfg, s->size, q, &u0, &u1);
        size_t n = lm_strip_owned_count(t->model, u0, u1);
        if (q > 0) {
            free(buf);
            buf = lm_malloc(3 * n * sizeof(float));
            rc = lm_dist_recv_f32(q, TAG_PARAMS, buf, (long)(3 * n));
        }
        if (rc == 0) {
            lm_strip_unpack(t->model, u0, u1, buf, lm_model_params(t->model));
            lm_strip_unpack(t->model, u0, u1, buf + n, t->adam.m);
            lm_strip_unpack(t->model, u0, u1, buf + 2 * n, t->adam.v);
        }
    }
    free(buf);
    t->adam.t = s->adam.t;
    s->stale = rc != 0;
    return rc;
}

static int send_strip(const LmStrips *s) {
    size_t count;
    float *buf = pack_three(s, &count);
    int rc = lm_dist_send_f32(0, TAG_PARAMS, buf, (long)(3 * count));
    free(buf);
    return rc;
}

/* Every rank's figures, in one sum over the ranks (each fills its own slot). */
static double *gather_figures(const LmStrips *s) {
    double *all = lm_calloc((size_t)s->size * ST_N, sizeof(double));
    LmDistTraffic tr;
    lm_dist_traffic(&tr);
    double *me = all + (size_t)s->rank * ST_N;
    me[ST_STEPS] = (double)s->steps, me[ST_STEP_S] = s->step_seconds, me[ST_COMM_S] = s->comm_seconds;
    me[ST_HALO_B] = tr.p2p_bytes, me[ST_REDUCE_B] = tr.coll_bytes, me[ST_GATHER_B] = tr.gather_bytes;
    me[ST_UNITS] = s->strip.u1 - s->strip.u0;
    me[ST_HALO_UNITS] = (s->strip.e1 - s->strip.e0) - (s->strip.u1 - s->strip.u0);
    if (lm_dist_allreduce_sum_f64(all, (long)s->size * ST_N) != 0) die();
    return all;
}

static void report_figures(const double *all, int size, FILE *f, const char *log_path) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", "distribute");
    cJSON_AddNumberToObject(o, "ranks", size);
    const char *names[ST_N] = {"steps", "step_seconds", "comm_seconds", "halo_bytes", "reduce_bytes",
                               "gather_bytes", "units", "halo_units"};
    for (int k = 0; k < ST_N; k++) {
        cJSON *a = cJSON_AddArrayToObject(o, names[k]);
        for (int q = 0; q < size; q++) cJSON_AddItemToArray(a, cJSON_CreateNumber(all[(size_t)q * ST_N + k]));
    }
    if (log_path) lm_jsonl_append(log_path, o);
    cJSON_Delete(o);
    if (!f) return;
    fprintf(f, "distributed over %d ranks; per training step (this session):\n", size);
    fprintf(f, "  rank  units  halo units  halo KB sent  reductions KB  comm ms  step ms\n");
    for (int q = 0; q < size; q++) {
        const double *v = all + (size_t)q * ST_N;
        double steps = v[ST_STEPS] > 0 ? v[ST_STEPS] : 1;
        fprintf(f, "  %4d %6.0f %11.0f %13.1f %14.1f %8.2f %8.2f\n", q, v[ST_UNITS], v[ST_HALO_UNITS],
                v[ST_HALO_B] / steps / 1024, v[ST_REDUCE_B] / steps / 1024, 1e3 * v[ST_COMM_S] / steps,
                1e3 * v[ST_STEP_S] / steps);
    }
}

void lm_sheet_end(LmTrainer *t, int ok, FILE *report, const char *log_path) {
    LmStrips *s = t ? t->sheet : NULL;
    ok = ok && s;
    command(ok ? CMD_END_OK : CMD_END_FAIL);
    if (!ok) return;
    double *all = gather_figures(s);
    report_figures(all, s->size, report, log_path);
    free(all);
}

int lm_sheet_follow(const LmTrainConfig *cfg, int resume) {
    lm_set_threads(1);
    if (lm_memory_check(cfg, resume) != 0) die();
    LmTrainer *t = lm_trainer_new(cfg);
    if (!t) die();
    char ckpt[LM_PATH_MAX + 32];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.npz", cfg->out);
    if (resume && access(ckpt, F_OK) == 0 && lm_checkpoint_load(t, ckpt) != 0) die();
    if (lm_sheet_start(t) != 0) die();
    int status = 1;
    for (;;) {
        long cmd = 0;
        if (lm_dist_bcast(&cmd, sizeof cmd, 0) != 0) die();
        if (cmd == CMD_STEP) {
            LmStepStats st;
            lm_trainer_step(t, &st);   /* a failure is rank 0's too: it ends the run */
        } else if (cmd == CMD_SYNC) {
            if (send_strip(t->sheet) != 0) die();
        } else {
            if (cmd == CMD_END_OK) free(gather_figures(t->sheet));
            status = cmd == CMD_END_OK ? 0 : 1;
            break;
        }
    }
    lm_trainer_free(t);
    return status;
}
