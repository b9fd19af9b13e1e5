/* A Cilk Plus program built as serial C by including <cilk/cilk_stub.h> first, as Intel's
 * header allowed: same results, one worker. */
#include <cilk/cilk_stub.h>
#include <cilk/cilk.h>
#include <cilk/cilk_api.h>
#include <stdio.h>

static long range_sum(long lo, long hi) /* lo + ... + hi - 1, halves spawned */
{
    if (hi - lo < 8) {
        long s = 0;
        for (long i = lo; i < hi; i++) s += i;
        return s;
    }
    long mid = lo + (hi - lo) / 2;
    long left = cilk_spawn range_sum(lo, mid);
    long right = range_sum(mid, hi);
    cilk_sync;
    return left + right;
}

int main(void)
{
    int sq[10];
    cilk_for (int i = 0; i < 10; i++) sq[i] = i * i;
    printf("sum %ld sq[9] %d workers %d\n", range_sum(0, 1000), sq[9], __cilkrts_get_nworkers());
    return 0;
}
