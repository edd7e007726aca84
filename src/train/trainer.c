/* Training state and one optimiser step. */
#include "train/trainer.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lmrnn.h"   /* LMRNN_VERSION_STRING: the one version of the library, the program and config.json */
#include "train/dale.h"
#include "train/mask_file.h"
#include "train/search.h"
#include "train/sheet.h"
#include "util/err.h"

const double lm_train_thresholds[LM_N_THRESHOLDS] = {0.5, 0.8, 0.9};

uint64_t lm_train_subseed(uint64_t seed, uint64_t id) {
    LmRng r = lm_rng_derive(seed, id);
    return lm_rng_u64(&r);
}

int lm_train_mask_spec(const LmTrainConfig *c, LmMaskSpec *out) {
    LmMaskSpec s;
    memset(&s, 0, sizeof s);
    s.kind = c->mask;
    s.nx = c->grid_nx;
    s.ny = c->grid_ny;
    s.periodic = c->periodic;
    s.seed = lm_train_subseed(c->seed, LM_SEED_MASK);
    if (c->mask == LM_MASK_LOCAL2D || c->mask == LM_MASK_LOCAL1D) {
        if (c->density > 0) s.density = c->density; /* the nearest d is chosen by the mask builder */
        else s.d = c->d;
    } else if (c->mask == LM_MASK_RANDOM || c->mask == LM_MASK_RANDOM_DIAG) {
        if (c->match_density_of > 0) {
            /* The paper's control: a random mask as dense as the local2d mask it is compared with. */
            LmMaskSpec ls = s;
            ls.kind = LM_MASK_LOCAL2D;
            ls.d = c->match_density_of;
            int64_t nnz, nd;
            if (lm_mask_count(&ls, c->hidden, &nnz, &nd) != 0) {
                char msg[400];
                snprintf(msg, sizeof msg, "%s", lm_err_msg());
                lm_err_set("--match-density-of: %s", msg);
                return -1;
            }
            s.density = (double)nnz / ((double)c->hidden * c->hidden);
        } else {
            s.density = c->density;
        }
    } else if (c->mask == LM_MASK_FILE) {
        snprintf(s.file, sizeof s.file, "%s", c->mask_file);
    }
    *out = s;
    return 0;
}

int lm_train_build_mask(const LmTrainConfig *c, LmMask *out) {
    LmMaskSpec s;
    int rc = c->mask == LM_MASK_FILE ? lm_mask_file_read(c->mask_file, c->hidden, out)
             : lm_train_mask_spec(c, &s) != 0 ? -1 : lm_mask_build(&s, c->hidden, out);
    if (rc == 0 && out->nnz == 0) {   /* nothing recurrent would be trained */
        lm_err_set("the mask (%s) has no connections at all: refusing to train", out->desc);
        lm_mask_free(out);
        return -1;
    }
    return rc;
}

static double default_gain(LmRecInit init) { return init == LM_INIT_HALF_IDENTITY ? 0.5 : 1.0; }

LmTrainer *lm_trainer_new(const LmTrainConfig *cfg) {
    LmTrainer *t = lm_calloc(1, sizeof *t);
    t->cfg = *cfg;
    for (int i = 0; i < LM_N_THRESHOLDS; i++) t->threshold[i][0] = t->threshold[i][1] = -1;
    if (lm_battery_parse(cfg->battery, &t->battery) != 0 || lm_fix_parse(cfg->fix, &t->fix) != 0) goto fail;
    if (lm_train_build_mask(cfg, &t->mask) != 0) goto fail;
    t->stream_seed = lm_train_subseed(cfg->seed, LM_SEED_STREAM);
    t->eval_seed = lm_train_subseed(cfg->seed, LM_SEED_EVAL);
    t->mask_seed = lm_train_subseed(cfg->seed, LM_SEED_MASK);
    t->noise = lm_rng_derive(cfg->seed, LM_SEED_NOISE);
    t->stream = lm_stream_new(&t->battery, cfg->batch, cfg->window, t->stream_seed, t->fix);
    if (!t->stream) goto fail;
    /* Trials are counted as the stream counts them (generated into its cache, the constructor's fill
     * included); stepping adds the stream's increments, so a replayed pool counts on every pass. */
    t->trials = lm_stream_trials(t->stream);

    int n_in = lm_stream_n_in(t->stream);
    LmModelConfig mc;
    lm_model_config_default(&mc, n_in, cfg->hidden, LM_N_ACTIONS);
    mc.rule = cfg->rule;
    mc.act = cfg->act;
    mc.alpha = cfg->alpha;
    mc.sigma_rec = cfg->sigma_rec;
    mc.rec_init = cfg->init;
    mc.rec_gain = cfg->init_gain > 0 ? cfg->init_gain : default_gain(cfg->init);
    mc.path = cfg->path;
    t->model = lm_model_new(&mc, &t->mask);
    if (!t->model) goto fail;
    if (cfg->dale) {   /* before the init: Dale's law draws the balanced W_rec */
        int8_t *ei = lm_malloc((size_t)cfg->hidden);
        int rc = lm_train_build_ei(cfg, lm_train_subseed(cfg->seed, LM_SEED_EI), ei);
        if (rc == 0) rc = lm_model_set_dale(t->model, ei, cfg->dale_readout_exc);
        free(ei);
        if (rc != 0) goto fail;
    }
    LmRng init = lm_rng_derive(cfg->seed, LM_SEED_INIT);
    lm_model_init(t->model, &init);
    lm_adam_init(&t->adam, t->model, cfg->lr);
    /* split over ranks, each trains its strip with its own work buffers (lm_sheet_start) */
    if (!cfg->distribute) t->work = lm_work_new(t->model, cfg->window, cfg->batch);
    if (cfg->prune != LM_PRUNE_NONE && lm_search_start(t) != 0) goto fail;
    t->loss.decision_only = cfg->decision_loss;
    t->loss.fix_weight = cfg->fix_weight;

    size_t tb = (size_t)cfg->window * (size_t)cfg->batch;
    t->x = lm_malloc(tb * (size_t)n_in * sizeof(float));
    t->labels = lm_malloc(tb * sizeof(int32_t));
    t->decision = lm_malloc(tb);

    if (cfg->train_pool > 0) {
        /* The pool is the stream's first K windows, replayed from the saved start state: no memory
         * beyond one stream state, and batch k and k+K are identical by construction. */
        size_t n = lm_stream_state_size(t->stream);
        t->pool_start = lm_malloc(n);
        lm_stream_save_state(t->stream, t->pool_start);
        for (int64_t k = 0; k < cfg->train_pool; k++) lm_stream_next(t->stream, t->x, t->labels, t->decision);
        t->pool_trials = lm_stream_trials(t->stream);
        if (lm_stream_load_state(t->stream, t->pool_start, n) != 0) goto fail;
    }
    return t;
fail:
    lm_trainer_free(t);
    return NULL;
}

void lm_trainer_free(LmTrainer *t) {
    if (!t) return;
    if (t->work) lm_work_free(t->work);
    lm_sheet_free(t->sheet);
    lm_search_free(t->search);
    if (t->model) {
        lm_adam_free(&t->adam);
        lm_model_free(t->model);
    }
    if (t->stream) lm_stream_free(t->stream);
    lm_mask_free(&t->mask);
    free(t->pool_start);
    free(t->x);
    free(t->labels);
    free(t->decision);
    free(t);
}

int lm_trainer_step(LmTrainer *t, LmStepStats *st) {
    const LmTrainConfig *c = &t->cfg;
    if (t->pool_start && t->step > 0 && t->step % c->train_pool == 0)
        lm_stream_load_state(t->stream, t->pool_start, lm_stream_state_size(t->stream));
    lm_search_before_step(t);   /* mask search: IMP rounds (no-op without --prune) */
    int64_t before = lm_stream_trials(t->stream);
    lm_stream_next(t->stream, t->x, t->labels, t->decision);
    t->trials += lm_stream_trials(t->stream) - before;
    LmStepStats s = {0, 0};
    if (t->sheet ? lm_sheet_train_step(t, &s) != 0
                 : lm_train_step(t->model, &t->adam, t->work, t->x, t->labels, t->decision, &t->loss, c->window,
                                 c->batch, c->clip, &t->noise, &s) != 0) {
        char msg[400];
        snprintf(msg, sizeof msg, "%s", lm_err_msg());
        lm_err_set("non-finite training at step %lld: %s", (long long)(t->step + 1), msg);
        if (st) *st = s;
        return -1;
    }
    t->step++;
    lm_search_after_step(t);    /* mask search: SET, RigL, GraNet updates */
    t->loss_sum += s.loss;
    t->loss_n++;
    if (st) *st = s;
    return 0;
}

int lm_trainer_evaluate(LmTrainer *t, LmEvalResult *out) {
    if (t->sheet && lm_sheet_sync(t) != 0) return -1;
    LmRng noise = lm_rng_derive(t->cfg.seed, LM_SEED_EVAL_NOISE);
    return lm_evaluate(t->model, lm_stream_taskenv(t->stream), &t->battery, t->cfg.eval_trials, t->eval_seed,
                       t->cfg.eval_noise ? &noise : NULL, out);
}

static cJSON *u64_json(uint64_t v) {
    char s[32];
    snprintf(s, sizeof s, "%llu", (unsigned long long)v);
    return cJSON_CreateString(s);
}

void lm_mask_checksum(const LmMask *m, char out[17]) {
    /* FNV-1a over the CSR structure (row pointers, then column indices): it identifies the 0/1 matrix */
    uint64_t h = 0xcbf29ce484222325ULL;
    const uint8_t *p = (const uint8_t *)m->row_ptr;
    for (size_t i = 0; i < ((size_t)m->n + 1) * sizeof(int32_t); i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    p = (const uint8_t *)m->col_idx;
    for (size_t i = 0; i < (size_t)m->nnz * sizeof(int32_t); i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

cJSON *lm_trainer_derived_json(const LmTrainer *t) {
    const LmModelConfig *mc = lm_model_config(t->model);
    cJSON *d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "n_tasks", t->battery.n);
    cJSON_AddNumberToObject(d, "n_in", mc->n_in);
    cJSON_AddNumberToObject(d, "n_out", mc->n_out);
    cJSON *names = cJSON_AddArrayToObject(d, "tasks");
    for (int i = 0; i < t->battery.n; i++) cJSON_AddItemToArray(names, cJSON_CreateString(t->battery.name[i]));
    cJSON_AddNumberToObject(d, "fix_bits", t->fix);
    cJSON_AddStringToObject(d, "mask_desc", t->mask.desc);
    char sum[17];
    lm_mask_checksum(&t->mask, sum);
    cJSON_AddStringToObject(d, "mask_checksum", sum);
    cJSON_AddNumberToObject(d, "mask_density", t->mask.density);
    cJSON_AddNumberToObject(d, "mask_nnz", (double)t->mask.nnz);
    cJSON_AddNumberToObject(d, "mask_param", t->mask.param);
    cJSON_AddStringToObject(d, "recurrent_path", lm_model_is_sparse(t->model) ? "sparse" : "dense");
    cJSON_AddNumberToObject(d, "init_gain", mc->rec_gain);
    cJSON_AddNumberToObject(d, "n_params", (double)lm_model_n_params(t->model));
    if (lm_model_ei(t->model)) {
        int n_exc = 0;
        for (int j = 0; j < mc->n_hidden; j++) n_exc += lm_model_ei(t->model)[j] > 0;
        cJSON_AddNumberToObject(d, "n_excitatory", n_exc);
    }
    cJSON_AddNumberToObject(d, "cache_len", lm_stream_cache_len(t->stream));
    if (t->pool_start) cJSON_AddNumberToObject(d, "pool_trials", (double)t->pool_trials);
    cJSON *seeds = cJSON_AddObjectToObject(d, "seeds");
    cJSON_AddItemToObject(seeds, "stream", u64_json(t->stream_seed));
    cJSON_AddItemToObject(seeds, "eval", u64_json(t->eval_seed));
    cJSON_AddItemToObject(seeds, "mask", u64_json(t->mask_seed));
    cJSON_AddStringToObject(d, "optimizer", "adam betas=(0.9,0.999) eps=1e-8");
    cJSON_AddStringToObject(d, "blas_core", lm_blas_core());
    return d;
}

cJSON *lm_trainer_config_doc(const LmTrainer *t) {
    cJSON *doc = lm_train_config_to_json(&t->cfg);
    cJSON_AddItemToObject(doc, "derived", lm_trainer_derived_json(t));
    /* docs/model.md tags these defaults [inferred]: nothing public fixes them for the paper. */
    const char *inferred[] = {"steps", "eval_metric", "eval_trials", "eval_every", "train_pool"};
    cJSON *inf = cJSON_AddArrayToObject(doc, "inferred");
    for (size_t i = 0; i < sizeof inferred / sizeof inferred[0]; i++)
        cJSON_AddItemToArray(inf, cJSON_CreateString(inferred[i]));
    cJSON_AddStringToObject(doc, "version", LMRNN_VERSION_STRING);
    return doc;
}
