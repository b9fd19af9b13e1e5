/* The resident-buffer idiom of the time: macros for alloc_if/free_if, a loop of offloads reusing
 * card memory, and a final free. */
#include <stdio.h>
#include <stdlib.h>

#define ALLOC alloc_if(1)
#define FREE free_if(1)
#define RETAIN free_if(0)
#define REUSE alloc_if(0)

int main(void)
{
    int n = 256, iters = 5;
    double *x = (double *)malloc(n * sizeof(double));
    double *y = (double *)malloc(n * sizeof(double));
    for (int i = 0; i < n; i++) { x[i] = i; y[i] = 0; }
    #pragma offload_transfer target(mic:0) in(x : length(n) ALLOC RETAIN) nocopy(y : length(n) ALLOC RETAIN)
    for (int it = 0; it < iters; it++) {
        #pragma offload target(mic:0) nocopy(x : length(n) REUSE RETAIN) nocopy(y : length(n) REUSE RETAIN)
        {
            int i;
            #pragma omp parallel for
            for (i = 0; i < n; i++) y[i] += 2.0 * x[i];
        }
    }
    #pragma offload_transfer target(mic:0) out(y : length(n) REUSE FREE) nocopy(x : length(n) REUSE FREE)
    double s = 0;
    for (int i = 0; i < n; i++) s += y[i];
    printf("y[10] %g sum %g\n", y[10], s);
    free(x); free(y);
    return 0;
}
