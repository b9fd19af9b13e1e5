/* A target(mic) global pointer whose buffer lives on the card: allocated by offload_transfer,
 * filled and used by card functions that reach it through the global, freed at the end. */
#include <stdio.h>
#include <stdlib.h>

#define N 128
__attribute__((target(mic))) float *gbuf;
__attribute__((target(mic))) int gcount;

__attribute__((target(mic))) void fill(int n)
{
    for (int i = 0; i < n; i++) gbuf[i] = (float)i;
    gcount = n;
}

__attribute__((target(mic))) float total(void)
{
    float s = 0;
    for (int i = 0; i < gcount; i++) s += gbuf[i];
    return s;
}

int main(void)
{
    gbuf = (float *)malloc(N * sizeof(float));
    #pragma offload_transfer target(mic:0) nocopy(gbuf : length(N) alloc_if(1) free_if(0))
    #pragma offload target(mic:0) nocopy(gbuf : length(N) alloc_if(0) free_if(0))
    fill(N);
    float s = 0;
    #pragma offload target(mic:0) nocopy(gbuf : length(N) alloc_if(0) free_if(0)) out(s)
    s = total();
    #pragma offload target(mic:0) out(gbuf[0:4] : alloc_if(0) free_if(1))
    { }
    printf("sum %g first %g %g %g %g\n", s, gbuf[0], gbuf[1], gbuf[2], gbuf[3]);
    free(gbuf);
    return 0;
}
