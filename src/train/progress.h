/* The progress display of `lmrnn train`: one line rewritten in place (\r) on a terminal, or plain
 * lines about twenty times per run (and after every evaluation) when stderr is a file or a pipe. */
#ifndef LMRNN_PROGRESS_H
#define LMRNN_PROGRESS_H
#include <stdint.h>
#include <stdio.h>

typedef struct {
    FILE *f;               /* NULL: silent */
    int tty;
    int64_t total;         /* steps to reach */
    int64_t start_step;    /* step when this session started (for steps/s) */
    double t_start;        /* monotonic seconds at start */
    double last_draw;      /* monotonic seconds of the last redraw (tty) */
    int64_t every;         /* non-tty: a line every `every` steps */
    double loss_ema;       /* NaN until the first step */
    double perf;           /* mean performance at the last evaluation, NaN before */
    int open_line;         /* a \r line is on screen and needs a newline before other output */
} LmProgress;

double lm_now(void);   /* monotonic clock, seconds */
void lm_progress_init(LmProgress *p, FILE *f, int64_t start_step, int64_t total);
/* After each step: loss of that step; `eval_done` forces a line (non-tty) after an evaluation. */
void lm_progress_step(LmProgress *p, int64_t step, double loss, int eval_done);
void lm_progress_set_perf(LmProgress *p, double perf);
/* End the live line so other messages start on a fresh line. */
void lm_progress_break(LmProgress *p);

#endif
