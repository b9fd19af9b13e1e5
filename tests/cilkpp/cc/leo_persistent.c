/* Buffers kept on the card between offloads with Intel's usual macros: allocated once
 * (alloc_if(1) free_if(0)), reused with nocopy and with in() of new data (alloc_if(0)), and
 * freed at the end (free_if(1)). */
#include <stdio.h>
#include <stdlib.h>

#define ALLOC alloc_if(1)
#define FREE free_if(1)
#define RETAIN free_if(0)
#define REUSE alloc_if(0)

int main(void)
{
    const int n = 256;
    float *x = (float *)malloc(n * sizeof(float));
    float *acc = (float *)malloc(n * sizeof(float));
    for (int i = 0; i < n; i++) x[i] = (float)i, acc[i] = 0.0f;

    /* allocate and fill both on the card */
    #pragma offload target(mic:0) in(x : length(n) ALLOC RETAIN) in(acc : length(n) ALLOC RETAIN)
    { }

    for (int round = 1; round <= 3; round++) {
        for (int i = 0; i < n; i++) x[i] = (float)(i * round);
        /* new x crosses, acc stays where it is */
        #pragma offload target(mic:0) in(x : length(n) REUSE RETAIN) nocopy(acc : length(n) REUSE RETAIN)
        {
            for (int i = 0; i < n; i++) acc[i] += x[i];
        }
    }
    acc[0] = -1.0f; /* the host's copy only: the card's is untouched */
    #pragma offload target(mic:0) nocopy(x : length(n) REUSE FREE) out(acc : length(n) REUSE FREE)
    { }
    double s = 0;
    for (int i = 0; i < n; i++) s += acc[i];
    printf("acc[0]=%g acc[10]=%g acc[255]=%g sum=%g\n", acc[0], acc[10], acc[255], s);
    free(x);
    free(acc);
    return 0;
}
