/* conv_gemm.c — the three GEMMs of a convolution layer over the im2col matrix, through BLAS.
 * Shapes (row-major): col (rows, kkc + 1), KB (kkc + 1, M): the kernel, then the bias as its last
 * row; Z and dZ (rows, M).
 *
 * Called outside a parallel region with split <= 1, a GEMM is one BLAS call on BLAS's threads
 * (gemm.c); inside one (a thread's own images, conv.cilk) BLAS is set to one thread by the caller.
 * With split > 1 (one image per update: a GEMM too small for BLAS's own split to pay) the rows or
 * the columns of the result, whichever are more, are cut into `split` ranges, each one
 * single-threaded BLAS call on its own thread: one fork and join per GEMM, and each element of the
 * result is computed by exactly one call, so a given split gives the same bits every time. A GEMM
 * of fewer than CONV_SPLIT_MACS multiply-adds stays whole: a fork and join costs microseconds on a
 * quiet machine (and a scheduler's time slice on a loaded one), and one core does 2^22 of them in
 * a few hundred (chaos-large's second and third convolutions split, its first and every layer of
 * chaos-small and chaos-medium do not).
 *
 * The backward's two GEMMs (kernel gradient, patch gradient) read the same patches and dZ and
 * write different buffers, so with split > 1 they run at once in one fork: half the threads on
 * the one, half on the other, each cut as above (with two threads: each GEMM whole on a thread of
 * its own). Measured on chaos-large's second and third convolutions at one image, 2 threads: the
 * pair 1.3-1.9x the two GEMMs one after the other (each split), which were no faster than whole:
 * a thin GEMM cut in two keeps the packing of its shared operand twice and halves the rest.
 *
 * What follows the patch gradient (col2im, conv.cilk) runs in the same fork, as items taken from a
 * shared counter: the patch gradient's threads start on them as soon as it is done, the kernel
 * gradient's join them when theirs is (waiting for the patch gradient if it is the later), so no
 * thread idles at a join between the GEMMs and col2im. Each item is one call whoever takes it. */
#include <omp.h>
#include <sched.h>
#include <stdatomic.h>

#include "blas.h"
#include "cnn.h"
#include "dnn.h"

#ifndef CONV_SPLIT_MACS
#define CONV_SPLIT_MACS (1 << 22)
#endif

/* One GEMM, C (m, n) = op(A) . op(B) + beta C, row-major, op given by ta and tb (A is (m, k) or
 * (k, m)): range `part` of `parts` of its rows or columns (whichever are more), one BLAS call. */
typedef struct {
    CBLAS_TRANSPOSE ta, tb;
    int64_t m, n, k, lda, ldb, ldc;
    const float *A, *B;
    float beta, *C;
} conv_gemm_op;

static void conv_gemm_part(const conv_gemm_op *g, int64_t part, int64_t parts)
{
    const int by_rows = g->m >= g->n;
    const int64_t len = by_rows ? g->m : g->n, a = len * part / parts, b = len * (part + 1) / parts;
    if (a == b) return;
    if (by_rows) /* rows a..b of C: rows of A, or columns of A^T */
        dnn_sgemm(CblasRowMajor, g->ta, g->tb, (int)(b - a), (int)g->n, (int)g->k, 1.0f,
                  g->A + (g->ta == CblasNoTrans ? a * g->lda : a), (int)g->lda, g->B, (int)g->ldb, g->beta,
                  g->C + a * g->ldc, (int)g->ldc);
    else /* columns a..b of C: columns of B, or rows of B^T */
        dnn_sgemm(CblasRowMajor, g->ta, g->tb, (int)g->m, (int)(b - a), (int)g->k, 1.0f, g->A, (int)g->lda,
                  g->B + (g->tb == CblasNoTrans ? a : a * g->ldb), (int)g->ldb, g->beta, g->C + a, (int)g->ldc);
}

/* Whether a GEMM is split over `split` threads (see the opening comment). */
static int conv_gemm_splits(const conv_gemm_op *g, int split)
{
    /* omp_get_level, not omp_in_parallel: a CHAOS worker may run in a team of one thread (an
     * inactive region), and a worker is one thread whatever its team's size. */
    return split > 1 && g->m * g->n * g->k >= CONV_SPLIT_MACS && omp_get_level() == 0;
}

/* The GEMMs g[0..count) at once, the threads shared among them in order (thread t of `split`
 * takes GEMM t * count / split, and its own range of it), each range one single-threaded BLAS
 * call. The ranges of each GEMM depend on split and count only: the same bits every time. */
static void conv_gemm_team(const conv_gemm_op *g, int count, int split)
{
    const int blas_threads = dnn_blas_set_threads(1); /* jobs of a BLAS split would wait on each other */
#pragma omp parallel for num_threads(split) schedule(static, 1)
    for (int t = 0; t < split; t++) {
        const int which = t * count / split;
        const int first = (which * split + count - 1) / count, last = ((which + 1) * split + count - 1) / count;
        conv_gemm_part(&g[which], t - first, last - first);
    }
    dnn_blas_set_threads(blas_threads);
}

/* Spins before a waiting thread yields its core (to the thread whose GEMM it waits for). Waiting
 * for the patch gradient alone, not at a barrier for both GEMMs: the patch gradient's threads start
 * col2im as soon as theirs is done. Measured against `#pragma omp barrier` in its place (chaos-large,
 * one image, 2 threads, three alternating runs, load 6.9): the second convolution's backward 238-266
 * µs against 276-307, the third's 165-182 against 181-201. */
#define CONV_GEMM_SPIN 4096

/* The backward's two GEMMs at once (as conv_gemm_team with count 2), then after(ctx, 0..items)
 * on every thread from a shared counter, started once g[1] (the patch gradient) is done. */
static void conv_gemm_team_then(const conv_gemm_op *g, int split, dnn_conv_item_fn after, const void *ctx,
                                int64_t items)
{
    const int blas_threads = dnn_blas_set_threads(1);
    const int first = (split + 1) / 2; /* thread t takes GEMM t * 2 / split, as conv_gemm_team */
    _Atomic int64_t pending = split - first, next = 0;
#pragma omp parallel num_threads(split)
    { /* a team smaller than asked for takes the ranges in turn: the patch gradient's still get done */
        for (int t = omp_get_thread_num(); t < split; t += omp_get_num_threads())
            if (t < first) {
                conv_gemm_part(&g[0], t, first);
            } else {
                conv_gemm_part(&g[1], t - first, split - first);
                atomic_fetch_sub(&pending, 1);
            }
        for (int spins = 0; atomic_load(&pending) != 0;)
            if (++spins >= CONV_GEMM_SPIN) sched_yield();
        for (int64_t i; (i = atomic_fetch_add(&next, 1)) < items;) after(ctx, i);
    }
    dnn_blas_set_threads(blas_threads);
}

/* One image's forward in one fork (dnnConvGemmForwardTeam): range t of `split` builds its patch
 * rows (patches), its GEMM range and its activation (done) on one thread. By rows, a thread's
 * patches are exactly the rows its GEMM reads; by columns every range reads every row, so the
 * patches are all built (each thread its share of them) before a barrier. */
static void conv_gemm_forward_team(const conv_gemm_op *g, int split, dnn_range_fn patches, dnn_block_fn done,
                                   const void *ctx)
{
    const int blas_threads = dnn_blas_set_threads(1);
    const int by_rows = g->m >= g->n;
#pragma omp parallel num_threads(split)
    {
        const int nth = omp_get_num_threads(), tid = omp_get_thread_num();
        if (!by_rows) {
            for (int t = tid; t < split; t += nth) patches(ctx, g->m * t / split, g->m * (t + 1) / split);
#pragma omp barrier
        }
        for (int t = tid; t < split; t += nth) {
            const int64_t len = by_rows ? g->m : g->n, a = len * t / split, b = len * (t + 1) / split;
            if (by_rows) patches(ctx, a, b);
            conv_gemm_part(g, t, split);
            if (by_rows)
                done(ctx, a, b, 0, g->n);
            else
                done(ctx, 0, g->m, a, b);
        }
    }
    dnn_blas_set_threads(blas_threads);
}

static void conv_gemm(const conv_gemm_op *g, int split)
{
    if (!conv_gemm_splits(g, split)) {
        conv_gemm_part(g, 0, 1);
        return;
    }
    const int64_t len = g->m >= g->n ? g->m : g->n;
    conv_gemm_team(g, 1, split > len ? (int)len : split);
}

static conv_gemm_op conv_forward_op(float *Z, const float *col, const float *KB, int64_t rows, int64_t kkc1,
                                    int64_t M)
{
    return (conv_gemm_op){CblasNoTrans, CblasNoTrans, rows, M, kkc1, kkc1, M, M, col, KB, 0.0f, Z};
}

static conv_gemm_op conv_weight_grad_op(float *dKB, const float *col, const float *dZ, int64_t rows, int64_t kkc1,
                                        int64_t M, int accumulate)
{
    return (conv_gemm_op){CblasTrans, CblasNoTrans, kkc1, M, rows, kkc1, M, M, col, dZ, accumulate ? 1.0f : 0.0f, dKB};
}

static conv_gemm_op conv_col_grad_op(float *dcol, const float *dZ, const float *KB, int64_t rows, int64_t kkc,
                                     int64_t M)
{
    return (conv_gemm_op){CblasNoTrans, CblasTrans, rows, kkc, M, M, M, kkc + 1, dZ, KB, 0.0f, dcol};
}

/* Z = col . KB, col (rows, kkc1), KB (kkc1, M) */
void dnnConvGemmForward(float *Z, const float *col, const float *KB, int64_t rows, int64_t kkc1, int64_t M, int split)
{
    const conv_gemm_op g = conv_forward_op(Z, col, KB, rows, kkc1, M);
    conv_gemm(&g, split);
}

/* A forward split over the team with its patches and activation (see conv_gemm_forward_team) pays
 * from fewer multiply-adds than a GEMM split alone: the im2col and activation loops are shared too
 * (chaos-large's first convolution, 230,000: 14.6 -> 11.4 µs). Not from 2^16: chaos-small's second
 * (102,000) made its one image 15 % slower (bench_cnn --baseline, 2 threads, load 7: 23,364 against
 * 27,643 images/s), the fork and the patches' move to the other core costing more than they save. */
#ifndef CONV_TEAM_MACS
#define CONV_TEAM_MACS (1 << 17)
#endif

int dnnConvGemmForwardTeam(float *Z, const float *col, const float *KB, int64_t rows, int64_t kkc1, int64_t M,
                           int split, dnn_range_fn patches, dnn_block_fn done, const void *ctx)
{
    const conv_gemm_op g = conv_forward_op(Z, col, KB, rows, kkc1, M);
    const int64_t len = rows >= M ? rows : M;
    if (split <= 1 || rows * M * kkc1 < CONV_TEAM_MACS || omp_get_level() != 0) return 0;
    conv_gemm_forward_team(&g, split > len ? (int)len : split, patches, done, ctx);
    return 1;
}

/* dKB (+)= col^T . dZ: the slices of a part add in order into one gradient */
void dnnConvGemmWeightGrad(float *dKB, const float *col, const float *dZ, int64_t rows, int64_t kkc1, int64_t M,
                           int accumulate, int split)
{
    const conv_gemm_op g = conv_weight_grad_op(dKB, col, dZ, rows, kkc1, M, accumulate);
    conv_gemm(&g, split);
}

void dnnConvGemmBackward(float *dKB, float *dcol, const float *col, const float *dZ, const float *KB, int64_t rows,
                         int64_t kkc, int64_t M, int accumulate, int split)
{
    const conv_gemm_op g[2] = {conv_weight_grad_op(dKB, col, dZ, rows, kkc + 1, M, accumulate),
                               conv_col_grad_op(dcol, dZ, KB, rows, kkc, M)};
    if (dcol == col || !conv_gemm_splits(&g[0], split)) { /* one after the other: dcol may overwrite col */
        conv_gemm(&g[0], split);
        conv_gemm(&g[1], split);
        return;
    }
    conv_gemm_team(g, 2, split);
}

int dnnConvGemmBackwardThen(float *dKB, float *dcol, const float *col, const float *dZ, const float *KB, int64_t rows,
                            int64_t kkc, int64_t M, int accumulate, int split, dnn_conv_item_fn after, const void *ctx,
                            int64_t items)
{
    const conv_gemm_op g[2] = {conv_weight_grad_op(dKB, col, dZ, rows, kkc + 1, M, accumulate),
                               conv_col_grad_op(dcol, dZ, KB, rows, kkc, M)};
    if (dcol == col || !conv_gemm_splits(&g[0], split)) return 0;
    conv_gemm_team_then(g, split, after, ctx, items);
    return 1;
}
