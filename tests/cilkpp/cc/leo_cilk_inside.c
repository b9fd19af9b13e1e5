/* Cilk inside an explicit offload: a C reducer declared in the block and a cilk_for on the card. */
#include <stdio.h>
#include <cilk/cilk.h>
#include <cilk/reducer_opadd.h>
int main(void)
{
    int n = 1000;
    long total = 0;
    float *v = (float *)__builtin_malloc(n * sizeof(float));
    for (int i = 0; i < n; i++) v[i] = i;
    #pragma offload target(mic) in(v : length(n)) out(total)
    {
        CILK_C_REDUCER_OPADD(sum, long, 0);
        CILK_C_REGISTER_REDUCER(sum);
        cilk_for (int i = 0; i < n; i++) REDUCER_VIEW(sum) += (long)v[i];
        CILK_C_UNREGISTER_REDUCER(sum);
        total = REDUCER_VIEW(sum);
    }
    printf("%ld\n", total);
    return 0;
}
