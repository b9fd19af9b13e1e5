/* More of Intel's C reducers: a file-scope reducer updated from spawned functions, OPMUL and
 * OPXOR, MIN on doubles, and CILK_C_REDUCER_OPADD on long with cilk_for. */
#include <stdio.h>
#include <cilk/cilk.h>
#include <cilk/reducer_opadd.h>
#include <cilk/reducer_opmul.h>
#include <cilk/reducer_opxor.h>
#include <cilk/reducer_min.h>

CILK_C_REDUCER_OPADD(count, long, 0);

static void visit(int lo, int hi)
{
    if (hi - lo <= 8) {
        for (int i = lo; i < hi; i++) REDUCER_VIEW(count) += i;
        return;
    }
    int mid = lo + (hi - lo) / 2;
    cilk_spawn visit(lo, mid);
    visit(mid, hi);
    cilk_sync;
}

int main(void)
{
    CILK_C_REGISTER_REDUCER(count);
    visit(0, 1000);
    printf("count %ld\n", REDUCER_VIEW(count));
    CILK_C_UNREGISTER_REDUCER(count);

    CILK_C_REDUCER_OPMUL(prod, double, 1.0);
    CILK_C_REDUCER_OPXOR(bits, unsigned, 0);
    CILK_C_REDUCER_MIN(low, double, 1e9);
    CILK_C_REGISTER_REDUCER(prod);
    CILK_C_REGISTER_REDUCER(bits);
    CILK_C_REGISTER_REDUCER(low);
    cilk_for (int i = 1; i <= 10; i++) {
        REDUCER_VIEW(prod) *= 2.0;
        REDUCER_VIEW(bits) ^= (unsigned)i;
        double v = (i - 4.5) * (i - 4.5);
        if (v < REDUCER_VIEW(low)) REDUCER_VIEW(low) = v;
    }
    CILK_C_UNREGISTER_REDUCER(prod);
    CILK_C_UNREGISTER_REDUCER(bits);
    CILK_C_UNREGISTER_REDUCER(low);
    printf("prod %g xor %u min %g\n", REDUCER_VIEW(prod), REDUCER_VIEW(bits), REDUCER_VIEW(low));
    return 0;
}
