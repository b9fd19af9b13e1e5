/* The length(0) idiom of old offload codes: a buffer sent once and kept, then named again with
 * length(0) alloc_if(0) free_if(0) so that nothing moves, and freed the same way at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REUSE alloc_if(0) free_if(0)

int main(void)
{
    int n = 500;
    double *coef = (double *)malloc(n * sizeof(double));
    double *out = (double *)malloc(n * sizeof(double));
    for (int i = 0; i < n; i++) coef[i] = 1.0 / (i + 1);
    #pragma offload_transfer target(mic:0) in(coef : length(n) alloc_if(1) free_if(0)) \
                                           nocopy(out : length(n) alloc_if(1) free_if(0))
    memset(coef, 0, n * sizeof(double)); /* the host's copy changes: the card keeps its own */
    double total = 0;
    for (int pass = 1; pass <= 3; pass++) {
        double s = 0;
        #pragma offload target(mic:0) in(coef : length(0) REUSE) nocopy(out : length(0) REUSE) in(pass) out(s)
        {
            for (int i = 0; i < n; i++) out[i] = coef[i] * pass;
            for (int i = 0; i < n; i++) s += out[i];
        }
        total += s;
    }
    #pragma offload target(mic:0) out(out : length(n) alloc_if(0) free_if(1)) nocopy(coef : length(0) alloc_if(0) free_if(1))
    { }
    printf("total %.6f out[1] %.3f\n", total, out[1]);
    free(coef); free(out);
    return 0;
}
