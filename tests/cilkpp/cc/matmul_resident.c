/* a matrix multiply offloaded the way the Intel samples did it */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include <offload.h>

#define ALLOC alloc_if(1)
#define FREE free_if(1)
#define RETAIN free_if(0)
#define REUSE alloc_if(0)

__attribute__((target(mic))) void mxm(int n, const double * restrict a, const double * restrict b, double * restrict c)
{
    int i, j, k;
#pragma omp parallel for private(j, k)
    for (i = 0; i < n; i++)
        for (k = 0; k < n; k++) {
            double aik = a[i * n + k];
            for (j = 0; j < n; j++)
                c[i * n + j] += aik * b[k * n + j];
        }
}

static void init(double *m, int n, double v)
{
    for (int i = 0; i < n * n; i++) m[i] = v * ((i % 7) - 3);
}

int main(int argc, char *argv[])
{
    int n = argc > 1 ? atoi(argv[1]) : 64;
    int size = n * n;
    double *a = (double *)_mm_malloc(size * sizeof(double), 64);
    double *b = (double *)malloc(size * sizeof(double));
    double *c = (double *)calloc(size, sizeof(double));
    init(a, n, 1.0);
    init(b, n, 0.5);
    int ndev = _Offload_number_of_devices();
    double t0 = omp_get_wtime();
#pragma offload_transfer target(mic:0) in(a, b : length(size) ALLOC RETAIN) nocopy(c : length(size) ALLOC RETAIN)
    for (int rep = 0; rep < 2; rep++) {
#pragma offload target(mic:0) nocopy(a, b, c : length(size) REUSE RETAIN)
        mxm(n, a, b, c);
    }
#pragma offload target(mic:0) out(c : length(size) REUSE FREE) nocopy(a, b : length(size) REUSE FREE)
    {
    }
    double t1 = omp_get_wtime();
    double check = 0;
    for (int i = 0; i < size; i++) check += c[i];
    printf("devices %d, checksum %.1f (%s)\n", ndev, check, t1 >= t0 ? "timed" : "?");
    _mm_free(a);
    free(b);
    free(c);
    return 0;
}
