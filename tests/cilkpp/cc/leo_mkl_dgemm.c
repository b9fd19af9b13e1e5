// dnn-cc: -mkl
/* The offload sample everyone ran first: MKL's cblas_dgemm inside an offload, matrices
 * allocated with mkl_malloc, checked against a plain triple loop; and cblas_ddot / daxpy on the
 * host. */
#include <stdio.h>
#include <mkl.h>

int main(void)
{
    const MKL_INT n = 64;
    double *a = (double *)mkl_malloc(n * n * sizeof(double), 64);
    double *b = (double *)mkl_malloc(n * n * sizeof(double), 64);
    double *c = (double *)mkl_malloc(n * n * sizeof(double), 64);
    for (int i = 0; i < n * n; i++) a[i] = (i % 9) - 4, b[i] = (i % 4) * 0.25, c[i] = 1.0;
    double alpha = 1.0, beta = 2.0;
    #pragma offload target(mic) in(a, b : length(n * n)) inout(c : length(n * n))
    {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, alpha, a, n, b, n, beta, c, n);
    }
    int bad = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 2.0;
            for (int k = 0; k < n; k++) s += a[i * n + k] * b[k * n + j];
            bad += s != c[i * n + j];
        }
    double x[4] = {1, 2, 3, 4}, y[4] = {1, 1, 1, 1};
    cblas_daxpy(4, 2.0, x, 1, y, 1);
    printf("dgemm mismatches %d, c[0] %g, dot %g, y[3] %g\n", bad, c[0], cblas_ddot(4, x, 1, x, 1), y[3]);
    mkl_free(a);
    mkl_free(b);
    mkl_free(c);
    return 0;
}
