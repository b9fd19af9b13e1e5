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
 * chaos-small and chaos-medium do not). */
#include <omp.h>

#include "blas.h"
#include "cnn.h"
#include "dnn.h"

#ifndef CONV_SPLIT_MACS
#define CONV_SPLIT_MACS (1 << 22)
#endif

/* C (m, n) = op(A) . op(B) + beta C, row-major, op given by ta and tb (A is (m, k) or (k, m)). */
static void conv_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k, const float *A,
                      int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc, int split)
{
    if (split <= 1 || m * n * k < CONV_SPLIT_MACS || omp_in_parallel()) {
        dnn_sgemm(CblasRowMajor, ta, tb, (int)m, (int)n, (int)k, 1.0f, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
        return;
    }
    const int by_rows = m >= n;
    const int64_t len = by_rows ? m : n;
    if (split > len) split = (int)len;
    const int blas_threads = dnn_blas_set_threads(1); /* jobs of a BLAS split would wait on each other */
#pragma omp parallel for num_threads(split) schedule(static, 1)
    for (int t = 0; t < split; t++) {
        const int64_t a = len * t / split, b = len * (t + 1) / split;
        if (by_rows) /* rows a..b of C: rows of A, or columns of A^T */
            dnn_sgemm(CblasRowMajor, ta, tb, (int)(b - a), (int)n, (int)k, 1.0f, A + (ta == CblasNoTrans ? a * lda : a),
                      (int)lda, B, (int)ldb, beta, C + a * ldc, (int)ldc);
        else /* columns a..b of C: columns of B, or rows of B^T */
            dnn_sgemm(CblasRowMajor, ta, tb, (int)m, (int)(b - a), (int)k, 1.0f, A, (int)lda,
                      B + (tb == CblasNoTrans ? a : a * ldb), (int)ldb, beta, C + a, (int)ldc);
    }
    dnn_blas_set_threads(blas_threads);
}

/* Z = col . KB, col (rows, kkc1), KB (kkc1, M) */
void dnnConvGemmForward(float *Z, const float *col, const float *KB, int64_t rows, int64_t kkc1, int64_t M, int split)
{
    conv_gemm(CblasNoTrans, CblasNoTrans, rows, M, kkc1, col, kkc1, KB, M, 0.0f, Z, M, split);
}

/* dKB (+)= col^T . dZ: the slices of a part add in order into one gradient */
void dnnConvGemmWeightGrad(float *dKB, const float *col, const float *dZ, int64_t rows, int64_t kkc1, int64_t M,
                           int accumulate, int split)
{
    conv_gemm(CblasTrans, CblasNoTrans, kkc1, M, rows, col, kkc1, dZ, M, accumulate ? 1.0f : 0.0f, dKB, M, split);
}

/* dcol[:, 0:kkc] = dZ . K^T (the kernel rows of KB, not the bias); dcol's rows are kkc + 1 long */
void dnnConvGemmColGrad(float *dcol, const float *dZ, const float *KB, int64_t rows, int64_t kkc, int64_t M,
                        int split)
{
    conv_gemm(CblasNoTrans, CblasTrans, rows, kkc, M, dZ, M, KB, M, 0.0f, dcol, kkc + 1, split);
}
