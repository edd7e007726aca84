/* The training loop over a run directory. Per step, in this order: train, log, evaluate (+ thresholds,
 * target), checkpoint. Nothing after the optimiser step draws from a training generator, so where the
 * run is checkpointed, logged or evaluated never changes the weights. */
#include "train/train.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "io/json.h"
#include "io/lock.h"
#include "io/npz.h"
#include "eval/table.h"
#include "train/checkpoint.h"
#include "train/memory.h"
#include "train/progress.h"
#include "train/search.h"
#include "train/sheet.h"
#include "util/err.h"

const char *lm_stop_reason_name(LmStopReason r) {
    switch (r) {
    case LM_STOP_MAX_STEPS: return "max_steps";
    case LM_STOP_TARGET: return "target";
    case LM_STOP_TIME_LIMIT: return "time_limit";
    case LM_STOP_SIGNAL: return "signal";
    case LM_STOP_NON_FINITE: return "non_finite";
    case LM_STOP_ABORTED: return "aborted";
    default: return "none";
    }
}

typedef struct {
    LmTrainer *t;
    const LmRunOptions *o;
    char log[LM_PATH_MAX + 16], ckpt[LM_PATH_MAX + 16], config[LM_PATH_MAX + 16];
    char *config_text;        /* config.json as stored in every checkpoint */
    double t0;                /* session start (monotonic) */
    double wall0;             /* training seconds before this session */
    LmProgress prog;
    double last_mean, last_min;
    int64_t last_eval_step, last_ckpt_step;
    int64_t mask_updates;     /* mask search: history entries already logged */
} Run;

static double wall_now(const Run *r) { return r->wall0 + (lm_now() - r->t0); }

static cJSON *num_or_null(double x) { return isfinite(x) ? cJSON_CreateNumber(x) : cJSON_CreateNull(); }

static cJSON *record(const Run *r, const char *kind) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", kind);
    cJSON_AddNumberToObject(o, "step", (double)r->t->step);
    cJSON_AddNumberToObject(o, "trials", (double)r->t->trials);
    cJSON_AddNumberToObject(o, "wall", wall_now(r));
    return o;
}

static int append(const Run *r, cJSON *rec) {
    int rc = lm_jsonl_append(r->log, rec);
    cJSON_Delete(rec);
    return rc;
}

static int save_checkpoint(Run *r) {
    if (r->t->sheet && lm_sheet_sync(r->t) != 0) return -1;
    r->t->wall = wall_now(r);
    if (r->t->search) {   /* the mask history first: a resume keeps the entries its checkpoint counts */
        char p[LM_PATH_MAX + 16];
        snprintf(p, sizeof p, "%s/masks.npz", r->t->cfg.out);
        if (lm_search_write_history(r->t, p) != 0) return -1;
    }
    if (lm_checkpoint_save(r->t, r->config_text, r->ckpt) != 0) return -1;
    r->last_ckpt_step = r->t->step;
    return 0;
}

/* The caller's summary of the network as a "summary" record (docs/run-directory.md). */
static int log_summary(Run *r) {
    if (!r->o->on_eval) return 0;
    cJSON *items = r->o->on_eval(r->o->on_eval_ctx, r->t);
    if (!items) return 0;
    cJSON *o = record(r, "summary");
    while (items->child) {
        cJSON *it = cJSON_DetachItemViaPointer(items, items->child);
        cJSON_AddItemToArray(o, it);   /* an object's item keeps its key (it->string) */
    }
    cJSON_Delete(items);
    return append(r, o);
}

/* Evaluate, log the eval record and any first threshold crossings. */
static int evaluate(Run *r, LmEvalResult *res) {
    LmTrainer *t = r->t;
    const LmTrainConfig *c = &t->cfg;
    if (lm_trainer_evaluate(t, res) != 0) return -1;
    r->last_mean = lm_eval_mean(res, c->eval_metric);
    r->last_min = lm_eval_min(res, c->eval_metric);
    r->last_eval_step = t->step;
    cJSON *o = record(r, "eval");
    cJSON_AddItemToObject(o, "loss", t->loss_n ? cJSON_CreateNumber(t->loss_sum / (double)t->loss_n)
                                               : cJSON_CreateNull());
    cJSON_AddStringToObject(o, "metric", lm_metric_name(c->eval_metric));
    cJSON_AddItemToObject(o, "mean", num_or_null(r->last_mean));
    cJSON_AddItemToObject(o, "min", num_or_null(r->last_min));
    cJSON_AddNumberToObject(o, "trials_per_task", c->eval_trials);
    cJSON *perf = cJSON_AddObjectToObject(o, "perf");
    for (int k = 0; k < t->battery.n; k++)
        cJSON_AddItemToObject(perf, t->battery.name[k], num_or_null(lm_eval_task_perf(res, k, c->eval_metric)));
    cJSON *groups = cJSON_AddObjectToObject(o, "groups");
    for (int g = 0; g < 4; g++)
        cJSON_AddItemToObject(groups, lm_group_name(g),
                              num_or_null(lm_eval_group_mean(res, &t->battery, (LmGroup)g, c->eval_metric)));
    cJSON *means = cJSON_AddObjectToObject(o, "means");
    for (int m = 0; m < LM_N_METRICS; m++)
        cJSON_AddItemToObject(means, lm_metric_name((LmMetric)m), num_or_null(lm_eval_mean(res, (LmMetric)m)));
    t->loss_sum = 0;
    t->loss_n = 0;
    if (append(r, o) != 0) return -1;
    for (int i = 0; i < LM_N_THRESHOLDS; i++) {
        if (t->threshold[i][0] >= 0 || !(r->last_mean >= lm_train_thresholds[i])) continue;
        t->threshold[i][0] = t->step;
        t->threshold[i][1] = t->trials;
        cJSON *th = record(r, "threshold");
        cJSON_AddNumberToObject(th, "threshold", lm_train_thresholds[i]);
        if (append(r, th) != 0) return -1;
    }
    lm_progress_set_perf(&r->prog, r->last_mean);
    return log_summary(r);
}

static int target_reached(const Run *r) {
    const LmTrainConfig *c = &r->t->cfg;
    if (c->target_perf > 0 && r->last_mean >= c->target_perf) return 1;
    if (c->target_min > 0 && r->last_min >= c->target_min) return 1;
    return 0;
}

int lm_train_config_for_resume(const char *dir, LmTrainConfig *cfg) {
    char p[LM_PATH_MAX + 16];
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        lm_err_set("--resume %s: %s", dir, stat(dir, &st) != 0 ? strerror(errno) : "not a directory");
        return -1;
    }
    if (strlen(dir) >= sizeof cfg->out) {
        lm_err_set("--resume: path too long (at most %zu characters): %s", sizeof cfg->out - 1, dir);
        return -1;
    }
    snprintf(p, sizeof p, "%s/config.json", dir);
    if (access(p, F_OK) != 0) {
        lm_err_set("--resume %s: no config.json in this directory (not a run directory)", dir);
        return -1;
    }
    lm_train_config_default(cfg);
    if (lm_train_config_load_file(cfg, p) != 0) return -1;
    strcpy(cfg->out, dir);
    return 0;
}

static int exists(const char *p) { return access(p, F_OK) == 0; }

/* A fresh run: the directory must not hold another run unless --force. */
static int prepare_fresh_dir(Run *r) {
    const char *dir = r->t->cfg.out;
    if (lm_mkdir_p(dir) != 0) return -1;
    const char *names[] = {"config.json", "checkpoint.npz", "log.jsonl", "eval.json", "eval.csv", "masks.npz"};
    char p[LM_PATH_MAX + 16];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        if (!exists(p)) continue;
        if (!r->o->force) {
            lm_err_set("%s already holds a run (%s); continue it with `lmrnn train --resume %s` or start "
                       "over with --force", dir, names[i], dir);
            return -1;
        }
        if (unlink(p) != 0) {
            lm_err_set("%s: cannot remove: %s", p, strerror(errno));
            return -1;
        }
    }
    return 0;
}

static int write_config(Run *r) {
    cJSON *doc = lm_trainer_config_doc(r->t);
    r->config_text = cJSON_PrintUnformatted(doc);
    int rc = lm_json_write(r->config, doc);
    cJSON_Delete(doc);
    return rc;
}

/* init.npz: the weights at step 0 (the six named tensors), kept for the weight change from
 * initialisation that `lmrnn analyze summary` reports. Written once, when a run starts afresh. */
static int write_initial_weights(Run *r) {
    char path[LM_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/init.npz", r->t->cfg.out);
    LmNpzWriter *w = lm_npz_create(path);
    if (!w) return -1;
    float *data[LM_N_TENSORS] = {NULL};
    int rc = 0;
    const LmMask *m = lm_model_mask(r->t->model);
    for (int i = 0; i < LM_N_TENSORS; i++) {
        LmTensorInfo ti = lm_model_tensor_info(r->t->model, i);
        if (!strcmp(ti.name, "W_rec") && m->n > LM_CHECKPOINT_DENSE_MAX) continue;   /* CSR below */
        size_t n = (size_t)ti.shape[0] * (ti.ndim > 1 ? ti.shape[1] : 1);
        data[i] = lm_malloc(n * sizeof(float));
        lm_model_export_tensor(r->t->model, i, data[i]);
        rc |= lm_npz_add(w, ti.name, LM_DT_F32, ti.ndim, ti.shape, data[i]);
    }
    /* W_rec over its step-0 mask at any N (as in checkpoint.npz) */
    int64_t nnz = m->row_ptr[m->n], sh_nnz[1] = {nnz}, sh_ptr[1] = {m->n + 1};
    float *vals = lm_malloc((size_t)(nnz ? nnz : 1) * sizeof(float));
    lm_model_export_rec_values(r->t->model, vals);
    rc |= lm_npz_add(w, "W_rec_data", LM_DT_F32, 1, sh_nnz, vals);
    rc |= lm_npz_add(w, "W_rec_indices", LM_DT_I32, 1, sh_nnz, m->col_idx);
    rc |= lm_npz_add(w, "W_rec_indptr", LM_DT_I32, 1, sh_ptr, m->row_ptr);
    if (rc) lm_npz_discard(w);
    else rc = lm_npz_close(w);
    for (int i = 0; i < LM_N_TENSORS; i++) free(data[i]);
    free(vals);
    return rc;
}

static int write_eval_files(Run *r, const LmEvalResult *res) {
    cJSON *doc = lm_eval_json(res, &r->t->battery, r->t->cfg.eval_metric);
    cJSON_AddNumberToObject(doc, "step", (double)r->t->step);
    cJSON_AddNumberToObject(doc, "trials_seen", (double)r->t->trials);
    int rc = lm_eval_write_files(r->t->cfg.out, doc);
    cJSON_Delete(doc);
    return rc;
}

static void summary(const Run *r, LmStopReason why, const LmEvalResult *res) {
    FILE *f = r->o->report;
    if (!f) return;
    const LmTrainer *t = r->t;
    if (why == LM_STOP_SIGNAL) {
        fprintf(f, "interrupted at step %lld; checkpoint saved; resume with: lmrnn train --resume %s\n",
                (long long)t->step, t->cfg.out);
        return;
    }
    if (res) lm_eval_print(f, res, &t->battery, t->cfg.eval_metric);
    fprintf(f, "stopped at step %lld (%s), %lld trials, %.1f s; mean %s %.4f, min %.4f\n", (long long)t->step,
            lm_stop_reason_name(why), (long long)t->trials, wall_now(r), lm_metric_name(t->cfg.eval_metric),
            r->last_mean, r->last_min);
    for (int i = 0; i < LM_N_THRESHOLDS; i++) {
        if (t->threshold[i][0] >= 0)
            fprintf(f, "  mean >= %.1f first at step %lld (%lld trials)\n", lm_train_thresholds[i],
                    (long long)t->threshold[i][0], (long long)t->threshold[i][1]);
        else fprintf(f, "  mean >= %.1f not reached\n", lm_train_thresholds[i]);
    }
    fprintf(f, "run directory: %s\n", t->cfg.out);
}

static int loop(Run *r, LmStopReason *why) {
    LmTrainer *t = r->t;
    const LmTrainConfig *c = &t->cfg;
    LmEvalResult res;
    int have_res = 0;
    *why = LM_STOP_NONE;
    while (t->step < c->steps) {
        if (r->o->stop && *r->o->stop) {
            *why = LM_STOP_SIGNAL;
            break;
        }
        if (c->time_limit > 0 && lm_now() - r->t0 >= c->time_limit) {
            *why = LM_STOP_TIME_LIMIT;
            break;
        }
        LmStepStats st = {0, 0};
        if (lm_trainer_step(t, &st) != 0) {
            char msg[400];
            long long s = (long long)(t->step + 1);
            /* fabs: print "nan", never "-nan" */
            if (!isfinite(st.loss))
                snprintf(msg, sizeof msg, "non-finite loss at step %lld (loss=%g)", s, fabs(st.loss));
            else if (!isfinite(st.grad_norm))
                snprintf(msg, sizeof msg, "non-finite gradient norm at step %lld (grad_norm=%g)", s,
                         fabs(st.grad_norm));
            else snprintf(msg, sizeof msg, "%s", lm_err_msg());
            cJSON *o = record(r, "stop");
            cJSON_AddStringToObject(o, "reason", "non_finite");
            cJSON_AddStringToObject(o, "error", msg);
            lm_jsonl_append(r->log, o);
            cJSON_Delete(o);
            lm_progress_break(&r->prog);
            *why = LM_STOP_NON_FINITE;
            if (r->last_ckpt_step >= 0)
                lm_err_set("%s; the last good checkpoint (step %lld) is kept", msg, (long long)r->last_ckpt_step);
            else lm_err_set("%s; no checkpoint had been written yet", msg);
            return -1;
        }
        if (lm_search_updates(t) != r->mask_updates) {   /* a mask search changed the mask */
            r->mask_updates = lm_search_updates(t);
            cJSON *o = record(r, "mask");
            cJSON_AddNumberToObject(o, "nnz", (double)t->mask.nnz);
            cJSON_AddBoolToObject(o, "restart", lm_search_restarts(t));   /* IMP: thresholds restart */
            if (append(r, o) != 0) return -1;
        }
        if (c->log_every && t->step % c->log_every == 0) {
            cJSON *o = record(r, "train");
            cJSON_AddNumberToObject(o, "loss", st.loss);
            cJSON_AddNumberToObject(o, "grad_norm", st.grad_norm);
            if (append(r, o) != 0) return -1;
        }
        int evald = 0;
        if (c->eval_every && t->step % c->eval_every == 0) {
            if (evaluate(r, &res) != 0) return -1;
            have_res = evald = 1;
        }
        if (c->checkpoint_every && t->step % c->checkpoint_every == 0 && save_checkpoint(r) != 0) return -1;
        lm_progress_step(&r->prog, t->step, st.loss, evald);
        if (r->o->abort_after && t->step >= r->o->abort_after) {
            *why = LM_STOP_ABORTED;
            return 0;
        }
        if (evald && target_reached(r)) {
            *why = LM_STOP_TARGET;
            break;
        }
    }
    if (*why == LM_STOP_NONE) *why = LM_STOP_MAX_STEPS;
    lm_progress_break(&r->prog);
    /* A signal asks for a quick exit: no final evaluation, just the state. */
    if (*why != LM_STOP_SIGNAL && r->last_eval_step != t->step) {
        if (evaluate(r, &res) != 0) return -1;
        have_res = 1;
    }
    if (r->last_ckpt_step != t->step && save_checkpoint(r) != 0) return -1;
    cJSON *o = record(r, "stop");
    cJSON_AddStringToObject(o, "reason", lm_stop_reason_name(*why));
    if (append(r, o) != 0) return -1;
    if (have_res && write_eval_files(r, &res) != 0) return -1;
    summary(r, *why, have_res ? &res : NULL);
    return 0;
}

/* Resumed at the final step: the previous session may have been killed between its last checkpoint
 * and its stop record / eval.json. Write whatever of those is missing; the held-out evaluation does
 * not depend on the training stream, so it is the one that session would have written. */
static int finish_completed(Run *r) {
    LmTrainer *t = r->t;
    FILE *f = r->o->report;
    LmStopInfo stop;
    int stopped = lm_log_read_stop(r->log, &stop) == 0 && lm_stop_is_final(&stop);
    char eval_json[LM_PATH_MAX + 16];
    snprintf(eval_json, sizeof eval_json, "%s/eval.json", t->cfg.out);
    if (stopped && exists(eval_json)) {
        if (f)
            fprintf(f, "%s: already at step %lld of %lld; give --steps N (total) to train further\n", t->cfg.out,
                    (long long)t->step, (long long)t->cfg.steps);
        return 0;
    }
    LmEvalResult res;
    if (lm_trainer_evaluate(t, &res) != 0) return -1;
    r->last_mean = lm_eval_mean(&res, t->cfg.eval_metric);
    r->last_min = lm_eval_min(&res, t->cfg.eval_metric);
    if (!stopped) {
        cJSON *o = record(r, "stop");
        cJSON_AddStringToObject(o, "reason", lm_stop_reason_name(LM_STOP_MAX_STEPS));
        if (append(r, o) != 0) return -1;
    }
    if (write_eval_files(r, &res) != 0) return -1;
    summary(r, LM_STOP_MAX_STEPS, &res);
    return 0;
}

/* A fresh run stores its mask file as an absolute path, so the run resumes from any directory. */
static int absolute_mask_file(LmTrainConfig *c) {
    if (!c->mask_file[0] || c->mask_file[0] == '/') return 0;
    char *abs = realpath(c->mask_file, NULL);
    if (!abs) {
        lm_err_set("--mask-file %s: %s", c->mask_file, strerror(errno));
        return -1;
    }
    int fits = strlen(abs) < sizeof c->mask_file;
    if (fits) strcpy(c->mask_file, abs);
    else lm_err_set("--mask-file: absolute path too long (at most %zu characters): %s", sizeof c->mask_file - 1, abs);
    free(abs);
    return fits ? 0 : -1;
}

/* Resuming: the mask the configuration builds now is the one config.json recorded at the start (a mask
 * file may have been changed since; a run without a checkpoint yet has no other check). */
static int same_mask_as_recorded(const Run *r) {
    if (!exists(r->config)) return 0;
    cJSON *doc = lm_json_read(r->config);
    if (!doc) return -1;
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(doc, "derived");
    const cJSON *sum = cJSON_GetObjectItemCaseSensitive(d, "mask_checksum");
    char now[17];
    lm_mask_checksum(&r->t->mask, now);
    int ok = !cJSON_IsString(sum) || !strcmp(sum->valuestring, now);   /* older runs have none */
    if (!ok)
        lm_err_set("%s: the mask (%s) is not the one the run started with (checksum %s, now %s): was the mask "
                   "file changed?", r->config, r->t->mask.desc, sum->valuestring, now);
    cJSON_Delete(doc);
    return ok ? 0 : -1;
}

int lm_train_run(const LmTrainConfig *cfg_in, const LmRunOptions *o, LmRunResult *out) {
    LmRunResult dummy;
    if (!out) out = &dummy;
    memset(out, 0, sizeof *out);
    out->mean = out->min = NAN;
    LmTrainConfig resolved = *cfg_in;
    const LmTrainConfig *cfg = &resolved;
    if (lm_train_config_validate(cfg) != 0 || (!o->resume && absolute_mask_file(&resolved) != 0) ||
        lm_memory_check(cfg, o->resume) != 0) {
        if (cfg->distribute) lm_sheet_end(NULL, 0, NULL, NULL);   /* the other ranks wait for rank 0 */
        return -1;
    }
    lm_set_threads(cfg->threads);
    Run r;
    memset(&r, 0, sizeof r);
    r.o = o;
    r.last_mean = r.last_min = NAN;
    r.last_eval_step = r.last_ckpt_step = -1;
    if (lm_path_join(r.log, sizeof r.log, cfg->out, "log.jsonl") != 0 ||
        lm_path_join(r.ckpt, sizeof r.ckpt, cfg->out, "checkpoint.npz") != 0 ||
        lm_path_join(r.config, sizeof r.config, cfg->out, "config.json") != 0)
        r.t = NULL;
    else
        r.t = lm_trainer_new(cfg);
    if (!r.t) {
        if (cfg->distribute) lm_sheet_end(NULL, 0, NULL, NULL);
        return -1;
    }
    LmTrainer *t = r.t;
    int rc = -1, locked = 0;
    LmStopReason why = LM_STOP_NONE;
    /* One writer per run directory, from before anything in it is read for resuming or removed. */
    if (!o->resume && lm_mkdir_p(cfg->out) != 0) goto done;
    if (lm_dir_lock(cfg->out) != 0) goto done;
    locked = 1;
    if (o->resume) {
        if (same_mask_as_recorded(&r) != 0) goto done;
        if (exists(r.ckpt)) {
            if (lm_checkpoint_load(t, r.ckpt) != 0) goto done;
            if (t->search) {
                char p[LM_PATH_MAX + 16];
                snprintf(p, sizeof p, "%s/masks.npz", t->cfg.out);
                if (lm_search_load_history(t, p) != 0) goto done;
            }
            r.last_ckpt_step = t->step;
        } else if (o->report) {
            fprintf(o->report, "%s: no checkpoint yet; starting from step 0\n", cfg->out);
        }
        /* Records after the checkpoint belong to the lost part of the run: drop them. */
        if (lm_log_truncate(r.log, t->step) != 0) goto done;
    } else if (prepare_fresh_dir(&r) != 0) {
        goto done;
    }
    if (cfg->distribute && lm_sheet_start(t) != 0) goto done;   /* after the checkpoint: cut from it */
    r.wall0 = t->wall;
    r.t0 = lm_now();
    if (o->resume && t->step >= cfg->steps) {
        why = LM_STOP_MAX_STEPS;
        rc = finish_completed(&r);
        goto done;
    }
    if (write_config(&r) != 0) goto done;
    if (!o->resume && t->step == 0 && (write_initial_weights(&r) != 0 || log_summary(&r) != 0)) goto done;
    if (o->resume) {
        cJSON *rec = record(&r, "resume");
        cJSON_AddNumberToObject(rec, "threads", cfg->threads);
        if (append(&r, rec) != 0) goto done;
    }
    lm_progress_init(&r.prog, cfg->quiet ? NULL : o->progress, t->step, cfg->steps);
    r.mask_updates = lm_search_updates(t);   /* logged from here on */
    rc = loop(&r, &why);
done:
    if (cfg->distribute) lm_sheet_end(t, rc == 0, o->report, r.log);
    out->reason = why;
    out->step = t->step;
    out->trials = t->trials;
    out->wall = r.t0 > 0 ? wall_now(&r) : t->wall;
    out->mean = r.last_mean;
    out->min = r.last_min;
    memcpy(out->threshold, t->threshold, sizeof out->threshold);
    free(r.config_text);
    if (locked) lm_dir_unlock(cfg->out);
    lm_trainer_free(t);
    return rc;
}
