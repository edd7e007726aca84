/* One network across MPI ranks (`mpirun -np K lmrnn-mpi train ... --distribute sheet`,
 * docs/performance.md "One network across ranks").
 *
 * The sheet is cut into K horizontal strips of whole sheet rows (diag and local1d masks: unit ranges),
 * one per rank; each rank trains its strip (model.h, LmStrip: its units' rows of W_in and W_rec, their
 * biases and readout columns, with the Adam moments) and, at every time step, exchanges only the halo
 * with the ranks that own it: the states h_t of the units its rows read (forward) and dL/ds_t of the
 * units whose rows read its units (backward). The readout's partial sums are added across ranks, so
 * the loss is the same on every rank; so is the global gradient norm for clipping. Every rank builds the
 * same trainer (same seed: the same stream, mask and initial network) and cuts its strip from it.
 *
 * Rank 0 runs the ordinary training loop (logs, evaluation, checkpoints in the single-process format);
 * the others follow its commands: take a step, send their strip for evaluation or a checkpoint, stop. */
#ifndef LMRNN_TRAIN_SHEET_H
#define LMRNN_TRAIN_SHEET_H
#include <stdio.h>
#include "train/trainer.h"

/* 0 if the sheet can be shared out over `ranks` (at most one rank per sheet row), else -1 + lm_err_set. */
int lm_sheet_check_ranks(const LmTrainConfig *cfg, int ranks);
/* Cut this rank's strip from t->model and t->adam (after a checkpoint was loaded, if any). 0 or -1. */
int lm_sheet_start(LmTrainer *t);
void lm_sheet_free(LmStrips *s);
/* The optimiser step on this rank's strip (the window is in t->x, t->labels, t->decision); rank 0
 * first tells the other ranks to take it. 0, or -1 with lm_err_set as lm_train_step. */
int lm_sheet_train_step(LmTrainer *t, LmStepStats *st);
/* Rank 0: t->model and t->adam from every strip (for evaluation and checkpoints). 0 or -1. */
int lm_sheet_sync(LmTrainer *t);
/* Rank 0, once at the end of a run (t may be NULL if it never started): the other ranks stop; after a
 * good run they report their traffic, printed to `report` and appended to the log `log_path`. */
void lm_sheet_end(LmTrainer *t, int ok, FILE *report, const char *log_path);
/* Ranks > 0: build the same trainer (and load the checkpoint when resuming), then follow rank 0 until
 * it ends the run. Returns the exit status; an error of this rank alone aborts every rank. */
int lm_sheet_follow(const LmTrainConfig *cfg, int resume);

#endif
