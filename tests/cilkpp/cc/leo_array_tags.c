/* Tags that are the arrays themselves (signal(in1), as Intel's double-buffering sample did),
 * TARGET_ATTRIBUTE from offload.h, _Offload_signaled polling. */
#include <offload.h>
#include <stdio.h>
#include <stdlib.h>

TARGET_ATTRIBUTE static int doubled(int v) { return 2 * v; }

int main(void)
{
    int n = 64;
    int *in1 = malloc(n * sizeof(int)), *out1 = malloc(n * sizeof(int));
    for (int i = 0; i < n; i++) in1[i] = i;
    #pragma offload_transfer target(mic:0) in(in1 : length(n) alloc_if(1) free_if(0)) signal(in1)
    #pragma offload target(mic:0) wait(in1) nocopy(in1 : length(n) alloc_if(0) free_if(1)) \
                                  out(out1 : length(n)) signal(out1)
    for (int i = 0; i < n; i++) out1[i] = doubled(in1[i]);
    while (!_Offload_signaled(0, out1)) ;
    #pragma offload_wait target(mic:0) wait(out1)
    printf("out1[63] %d\n", out1[63]);
    free(in1); free(out1);
    return 0;
}
