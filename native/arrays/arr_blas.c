/* arr_blas.c — the float matrix products of dnn.arrays, through OpenBLAS (the same library
 * NumPy uses). Plain C because cblas.h lives in the OpenBLAS wheel, out of the Cilk Plus
 * translator's sight; arr_linalg.cilk calls this. */
#include "arr.h"
#include "blas.h"

/* z (M, N) = a (M, K) . b (K, N) in float32 (dt ARR_F32) or float64; returns 0 for another dtype */
int arr_gemm(int64_t dt, void *z, const void *a, const void *b, int M, int K, int N)
{
    if (dt == ARR_F32)
        dnn_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, b, N, 0.0f, z, N);
    else if (dt == ARR_F64)
        scipy_cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0, a, K, b, N, 0.0, z, N);
    else
        return 0;
    return 1;
}
