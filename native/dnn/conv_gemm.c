/* conv_gemm.c — the three GEMMs of a convolution layer over the im2col matrix, through BLAS.
 * Like gemm.c, called from outside any parallel region so BLAS gets the card's threads.
 * Shapes (row-major): col (rows, kkc + 1), KB (kkc + 1, M): the kernel, then the bias as its last
 * row; Z and dZ (rows, M). */
#include "blas.h"
#include "cnn.h"

/* Z = col . KB, col (rows, kkc1), KB (kkc1, M) */
void dnnConvGemmForward(float *Z, const float *col, const float *KB, int64_t rows, int64_t kkc1, int64_t M)
{
    dnn_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)M, (int)kkc1, 1.0f, col, (int)kkc1, KB,
              (int)M, 0.0f, Z, (int)M);
}

/* dKB (+)= col^T . dZ: the bunch's slices add in order into one gradient */
void dnnConvGemmWeightGrad(float *dKB, const float *col, const float *dZ, int64_t rows, int64_t kkc1, int64_t M,
                           int accumulate)
{
    dnn_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)kkc1, (int)M, (int)rows, 1.0f, col, (int)kkc1, dZ,
              (int)M, accumulate ? 1.0f : 0.0f, dKB, (int)M);
}

/* dcol[:, 0:kkc] = dZ . K^T (the kernel rows of KB, not the bias); dcol's rows are kkc + 1 long */
void dnnConvGemmColGrad(float *dcol, const float *dZ, const float *KB, int64_t rows, int64_t kkc, int64_t M)
{
    dnn_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)kkc, (int)M, 1.0f, dZ, (int)M, KB, (int)M,
              0.0f, dcol, (int)kkc + 1);
}
