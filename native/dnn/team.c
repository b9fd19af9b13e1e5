/* team.c — the small steps of a one-image call shared by the card's threads.
 *
 * A one-image call (bunch 1) runs with one OpenMP thread (offloaded.cilk), so its _Cilk_for loops
 * (poolings, activations, im2col) run on one core while the other waits for the next split GEMM.
 * A loop given to dnn_team instead runs in one parallel region of `threads` threads, each taking
 * one contiguous range of the items: one fork and join per call, measured at under a microsecond
 * on a quiet machine, against steps of 5 to 40 µs at chaos-large's one image. Each item's result
 * must not depend on which thread computes it (element-wise steps, or each output written by one
 * item): then any team size gives the same bits as one thread.
 *
 * Inside a parallel region (a CHAOS worker, or a part of a bunch) or with one thread, the items
 * run here, in order, with no fork. */
#include <omp.h>

#include "cnn.h"

int dnn_team_size(int threads, int64_t items)
{
    /* omp_get_level, not omp_in_parallel: a CHAOS worker may run in a team of one thread */
    if (threads <= 1 || items < 2 || omp_get_level() != 0) return 1;
    return items < threads ? (int)items : threads;
}

void dnn_team(int threads, int64_t items, dnn_range_fn fn, const void *ctx)
{
    const int team = dnn_team_size(threads, items);
    if (team == 1) {
        fn(ctx, 0, items);
        return;
    }
#pragma omp parallel num_threads(team)
    { /* a smaller team than asked for still covers every item */
        const int64_t t = omp_get_thread_num(), n = omp_get_num_threads();
        fn(ctx, items * t / n, items * (t + 1) / n);
    }
}
