/* Ways old code named a buffer already on the card: nocopy(p) with no length, nocopy with
 * alloc_if(0) free_if(0), and freeing with in(p : length(0) alloc_if(0) free_if(1)). */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int n = 500;
    double *p = (double *)malloc(n * sizeof(double));
    for (int i = 0; i < n; i++) p[i] = i;
    #pragma offload_transfer target(mic:0) in(p : length(n) alloc_if(1) free_if(0))
    double s1 = 0, s2 = 0;
    #pragma offload target(mic:0) nocopy(p) inout(s1)
    {
        for (int i = 0; i < 500; i++) s1 += p[i];
        p[0] = 1000;
    }
    #pragma offload target(mic:0) nocopy(p : alloc_if(0) free_if(0)) inout(s2)
    s2 = p[0];
    #pragma offload_transfer target(mic:0) in(p : length(0) alloc_if(0) free_if(1))
    /* the buffer is gone: a new one may be made for the same address */
    #pragma offload target(mic:0) in(p : length(n) alloc_if(1) free_if(1)) inout(s2)
    s2 += p[1];
    printf("s1 %g s2 %g host p[0] %g\n", s1, s2, p[0]);
    free(p);
    return 0;
}
