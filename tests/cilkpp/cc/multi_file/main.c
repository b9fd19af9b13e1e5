/* An explicit-copy offload program in three files, built with `dnn-cc -o prog main.c stats.c`:
 * a target(mic) function defined in another file, a header with its prototype, a global with a
 * card copy that out() fills, and code that tests __MIC__ to see where it runs. */
#include <stdio.h>
#include <stdlib.h>
#include "stats.h"

#define N 1000

__attribute__((target(mic))) double moments[3]; /* sum, min, max: the card's copy comes back */

int main(void)
{
    float *x = malloc(N * sizeof *x);
    for (int i = 0; i < N; i++) x[i] = (float)((i * 37) % 101) - 50.0f;
    int on_card = -1;
    #pragma offload target(mic) in(x : length(N)) out(moments, on_card)
    {
#ifdef __MIC__
        on_card = 1;
#else
        on_card = 0;
#endif
        describe(x, N, moments);
    }
    printf("sum %.1f min %.1f max %.1f\n", moments[0], moments[1], moments[2]);
    printf("ran on the card: %s\n", on_card ? "yes" : "no");
    free(x);
    return 0;
}
