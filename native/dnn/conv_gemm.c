/* conv_gemm.c — the three GEMMs of a convolution layer over the im2col matrix, through BLAS.
 * Like gemm.c, called from outside any parallel region so BLAS gets the card's threads.
 * Shapes (row-major): col (rows, kkc), K (kkc, M), Z and dZ (rows, M). */
#include "blas.h"
#include "cnn.h"

/* Z = col . K */
void dnnConvGemmForward(float *Z, const float *col, const float *K, int64_t rows, int64_t kkc, int64_t M)
{
    dnn_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)M, (int)kkc, 1.0f, col, (int)kkc, K,
              (int)M, 0.0f, Z, (int)M);
}

/* dK (+)= col^T . dZ: the bunch's slices add in order into one gradient */
void dnnConvGemmWeightGrad(float *dK, const float *col, const float *dZ, int64_t rows, int64_t kkc, int64_t M,
                           int accumulate)
{
    dnn_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)kkc, (int)M, (int)rows, 1.0f, col, (int)kkc, dZ,
              (int)M, accumulate ? 1.0f : 0.0f, dK, (int)M);
}

/* dcol = dZ . K^T */
void dnnConvGemmColGrad(float *dcol, const float *dZ, const float *K, int64_t rows, int64_t kkc, int64_t M)
{
    dnn_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)kkc, (int)M, 1.0f, dZ, (int)M, K, (int)M,
              0.0f, dcol, (int)kkc);
}
