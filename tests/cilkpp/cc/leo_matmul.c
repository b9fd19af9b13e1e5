/* The classic first offload program: C = A * B on the card, A and B in, C out, OpenMP inside
 * with collapse(2), checked against the same product on the host. */
#include <stdio.h>
#include <stdlib.h>
#include <omp.h>

#define N 48

__attribute__((target(mic))) void matmul(const double *a, const double *b, double *c, int n)
{
    #pragma omp parallel for collapse(2) schedule(static)
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0.0;
            for (int k = 0; k < n; k++) s += a[i * n + k] * b[k * n + j];
            c[i * n + j] = s;
        }
}

int main(int argc, char **argv)
{
    int n = argc > 5 ? atoi(argv[1]) : N;
    double *a = (double *)malloc(sizeof(double) * n * n);
    double *b = (double *)malloc(sizeof(double) * n * n);
    double *c = (double *)calloc(n * n, sizeof(double));
    double *ref = (double *)calloc(n * n, sizeof(double));
    for (int i = 0; i < n * n; i++) {
        a[i] = (i % 7) - 3;
        b[i] = (i % 5) * 0.5;
    }
    #pragma offload target(mic) in(a, b : length(n * n)) out(c : length(n * n))
    matmul(a, b, c, n);
    matmul(a, b, ref, n);
    int bad = 0;
    double trace = 0;
    for (int i = 0; i < n * n; i++) bad += c[i] != ref[i];
    for (int i = 0; i < n; i++) trace += c[i * n + i];
    printf("n=%d mismatches=%d trace=%.1f c[5]=%.2f\n", n, bad, trace, c[5]);
    free(a); free(b); free(c); free(ref);
    return 0;
}
