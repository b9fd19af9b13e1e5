// dnn-cc: -mkl -openmp
/* MKL's cblas_sgemm inside an offload, with mkl_malloc'd matrices, as the MKL offload samples did. */
#include <stdio.h>
#include <mkl.h>

int main(void)
{
    int n = 4;
    float *A = (float *)mkl_malloc(n * n * sizeof(float), 64);
    float *B = (float *)mkl_malloc(n * n * sizeof(float), 64);
    float *C = (float *)mkl_malloc(n * n * sizeof(float), 64);
    for (int i = 0; i < n * n; i++) { A[i] = i; B[i] = (i % n == i / n); C[i] = 0; }
    float alpha = 2.0f, beta = 0.0f;
    #pragma offload target(mic) in(A, B : length(n * n)) inout(C : length(n * n)) in(alpha, beta, n)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, alpha, A, n, B, n, beta, C, n);
    printf("C[0] %g C[5] %g C[15] %g\n", C[0], C[5], C[15]);
    mkl_free(A); mkl_free(B); mkl_free(C);
    return 0;
}
