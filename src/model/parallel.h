/* Running one function on a team of OpenMP threads that synchronise with a spinning barrier.
 *
 * Why not `#pragma omp barrier`: the recurrence needs one barrier per time step (700 per training step
 * at T = 350), and libgomp enters the kernel (futex) at every barrier even in a team of one thread; on a
 * virtual machine that system call alone cost ~5 us, several milliseconds per training step. With one
 * thread no region is opened at all. */
#ifndef LMRNN_MODEL_PARALLEL_H
#define LMRNN_MODEL_PARALLEL_H
#include <sched.h>
#include <stdatomic.h>
#include <omp.h>

typedef struct {
    _Atomic int count;
    _Atomic int gen;
    int nth;
} LmBarrier;

static inline void lm_barrier_wait(LmBarrier *b) {
    if (b->nth <= 1) return;
    int gen = atomic_load_explicit(&b->gen, memory_order_acquire);
    if (atomic_fetch_add_explicit(&b->count, 1, memory_order_acq_rel) == b->nth - 1) {
        atomic_store_explicit(&b->count, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&b->gen, 1, memory_order_release);
        return;
    }
    for (long spins = 0; atomic_load_explicit(&b->gen, memory_order_acquire) == gen; spins++) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
        if (spins > 20000) sched_yield();   /* oversubscribed machine: let the late thread run */
    }
}

/* Call fn(ctx, tid, nth, barrier) on every thread of a team of omp_get_max_threads() threads (1 inside
 * an enclosing parallel region). If OpenMP grants fewer threads than asked, thread 0 does all the work. */
static inline void lm_parallel(void (*fn)(void *ctx, int tid, int nth, LmBarrier *bar), void *ctx) {
    int nth = omp_in_parallel() ? 1 : omp_get_max_threads();
    LmBarrier bar;
    atomic_init(&bar.count, 0);
    atomic_init(&bar.gen, 0);
    bar.nth = nth;
    if (nth <= 1) {
        fn(ctx, 0, 1, &bar);
        return;
    }
#pragma omp parallel num_threads(nth)
    {
        if (omp_get_num_threads() == nth) {
            fn(ctx, omp_get_thread_num(), nth, &bar);
        } else if (omp_get_thread_num() == 0) {
            LmBarrier one = {0, 0, 1};
            fn(ctx, 0, 1, &one);
        }
    }
}

#endif
