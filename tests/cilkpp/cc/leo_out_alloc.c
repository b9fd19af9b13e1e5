/* alloc() with out(): the card buffer is shaped by alloc(p[a:n]) and only part of it comes back;
 * nocopy with alloc() keeps a scratch array on the card. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int n = 100;
    int *p = (int *)calloc(n, sizeof(int));
    /* the card holds p[0:100]; only p[10:20] comes back */
    #pragma offload target(mic) out(p[10:20] : alloc(p[0:100]))
    {
        for (int i = 0; i < 100; i++) p[i] = i * i;
    }
    int *scratch = (int *)malloc(n * sizeof(int));
    int s = 0;
    #pragma offload target(mic) nocopy(scratch : alloc(scratch[0:n]) alloc_if(1) free_if(1)) out(s)
    {
        for (int i = 0; i < n; i++) scratch[i] = i;
        for (int i = 0; i < n; i++) s += scratch[i];
    }
    printf("p[9]=%d p[10]=%d p[29]=%d p[30]=%d s=%d\n", p[9], p[10], p[29], p[30], s);
    free(p);
    free(scratch);
    return 0;
}
