/* A reducer declared in a loop, passed by pointer to a spawning recursion, read after UNREGISTER through REDUCER_VIEW and .value: both the merged result, whichever thread of main's team unregistered it. */
#include <stdio.h>
#include <cilk/cilk.h>
#include <cilk/reducer_opadd.h>
static void work(CILK_C_REDUCER_OPADD_TYPE(long) *r, int lo, int hi)
{
    if (hi - lo < 16) { for (int i = lo; i < hi; i++) REDUCER_VIEW(*r) += i; return; }
    cilk_spawn work(r, lo, (lo + hi) / 2);
    work(r, (lo + hi) / 2, hi);
}
int main(void)
{
    for (int round = 0; round < 3; round++) {
        CILK_C_REDUCER_OPADD(sum, long, round);
        CILK_C_REGISTER_REDUCER(sum);
        cilk_spawn work(&sum, 0, 1000);
        cilk_sync;
        CILK_C_UNREGISTER_REDUCER(sum);
        printf("round %d: view %ld value %ld\n", round, REDUCER_VIEW(sum), sum.value);
    }
    return 0;
}
