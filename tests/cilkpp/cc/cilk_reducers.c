/* Cilk reducers in C (<cilk/reducer_opadd.h>, <cilk/reducer_max.h>): updated in a cilk_for,
 * read after it, updated again and read after UNREGISTER. */
#include <stdio.h>
#include <cilk/cilk.h>
#include <cilk/reducer_opadd.h>
#include <cilk/reducer_max.h>

static void walk(int lo, int hi, int *data)
{
    if (hi - lo < 4) return;
    int mid = (lo + hi) / 2;
    cilk_spawn walk(lo, mid, data);
    walk(mid, hi, data);
    cilk_sync;
}

int main(void)
{
    CILK_C_REDUCER_OPADD(sum, int, 0);
    CILK_C_REDUCER_MAX(big, double, -1.0);
    CILK_C_REGISTER_REDUCER(sum);
    CILK_C_REGISTER_REDUCER(big);
    cilk_for (int i = 0; i < 1000; i++) {
        REDUCER_VIEW(sum) += i;
        if (i % 7 == 0 && i > REDUCER_VIEW(big)) REDUCER_VIEW(big) = i;
    }
    printf("sum %d max %g\n", REDUCER_VIEW(sum), REDUCER_VIEW(big));
    int data[64];
    walk(0, 64, data);
    REDUCER_VIEW(sum) += 1;
    CILK_C_UNREGISTER_REDUCER(sum);
    CILK_C_UNREGISTER_REDUCER(big);
    printf("after %d\n", REDUCER_VIEW(sum));
    return 0;
}
