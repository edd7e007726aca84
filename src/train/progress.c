/* Live progress line. */
#include "train/progress.h"
#include <math.h>
#include <time.h>
#include <unistd.h>

double lm_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void lm_progress_init(LmProgress *p, FILE *f, int64_t start_step, int64_t total) {
    p->f = f;
    p->tty = f && isatty(fileno(f));
    p->total = total;
    p->start_step = start_step;
    p->t_start = lm_now();
    p->last_draw = 0;
    p->every = total / 20 > 1 ? total / 20 : 1;
    p->loss_ema = NAN;
    p->perf = NAN;
    p->open_line = 0;
}

void lm_progress_set_perf(LmProgress *p, double perf) { p->perf = perf; }

static void fmt_time(char *buf, size_t n, double s) {
    if (!isfinite(s) || s < 0) {
        snprintf(buf, n, "--:--");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    else snprintf(buf, n, "%02ld:%02ld", t / 60, t % 60);
}

void lm_progress_step(LmProgress *p, int64_t step, double loss, int eval_done) {
    if (isfinite(loss)) p->loss_ema = isnan(p->loss_ema) ? loss : 0.98 * p->loss_ema + 0.02 * loss;
    if (!p->f) return;
    double now = lm_now();
    int last = step >= p->total;
    if (p->tty) {
        if (!last && !eval_done && now - p->last_draw < 0.2) return;
    } else if (!last && !eval_done && step % p->every != 0) {
        return;
    }
    p->last_draw = now;
    double el = now - p->t_start;
    double rate = el > 0 ? (double)(step - p->start_step) / el : 0;
    char eta[32], perf[16];
    fmt_time(eta, sizeof eta, rate > 0 ? (double)(p->total - step) / rate : NAN);
    if (isnan(p->perf)) snprintf(perf, sizeof perf, "-");
    else snprintf(perf, sizeof perf, "%.3f", p->perf);
    fprintf(p->f, "%sstep %lld/%lld  loss %.4f  perf %s  %.1f steps/s  ETA %s%s", p->tty ? "\r" : "",
            (long long)step, (long long)p->total, p->loss_ema, perf, rate, eta, p->tty ? "\033[K" : "\n");
    p->open_line = p->tty;
    fflush(p->f);
}

void lm_progress_break(LmProgress *p) {
    if (p->f && p->open_line) {
        fputc('\n', p->f);
        p->open_line = 0;
    }
}
