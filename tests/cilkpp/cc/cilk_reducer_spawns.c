/* A file-scope reducer updated by a tree of spawns and read after the sync in main. */
#include <stdio.h>
#include <cilk/cilk.h>
#include <cilk/reducer_opadd.h>

CILK_C_REDUCER_OPADD(total, long, 0);

static void count(int lo, int hi)
{
    if (hi - lo <= 8) {
        for (int i = lo; i < hi; i++) REDUCER_VIEW(total) += i;
        return;
    }
    int mid = (lo + hi) / 2;
    cilk_spawn count(lo, mid);
    count(mid, hi);
    cilk_sync;
}

int main(void)
{
    CILK_C_REGISTER_REDUCER(total);
    cilk_spawn count(0, 5000);
    cilk_spawn count(5000, 10000);
    cilk_sync;
    long t = REDUCER_VIEW(total);
    CILK_C_UNREGISTER_REDUCER(total);
    printf("total %ld\n", t);
    return 0;
}
