/* C reducers on every operation and several type names: a file-scope OPADD on double set through REDUCER_VIEW before the parallel work and updated by cilk_for loops in a spawned and a called function; OPAND on uint, OPOR on ulong, OPXOR on char, OPMUL on longlong, MAX_CALC on short. */
#include <stdio.h>
#include <cilk/cilk.h>
#include <cilk/reducer_opadd.h>
#include <cilk/reducer_opmul.h>
#include <cilk/reducer_opand.h>
#include <cilk/reducer_opor.h>
#include <cilk/reducer_opxor.h>
#include <cilk/reducer_max.h>
CILK_C_REDUCER_OPADD(fsum, double, 0.0);
static void part(int lo, int hi)
{
    cilk_for (int i = lo; i < hi; i++) REDUCER_VIEW(fsum) += 0.5;
}
int main(void)
{
    CILK_C_REGISTER_REDUCER(fsum);
    REDUCER_VIEW(fsum) = 10.0;
    cilk_spawn part(0, 100);
    part(100, 300);
    cilk_sync;
    printf("fsum %g\n", REDUCER_VIEW(fsum));
    CILK_C_UNREGISTER_REDUCER(fsum);
    CILK_C_REDUCER_OPAND(band, uint, ~0u);
    CILK_C_REDUCER_OPOR(bor, ulong, 0);
    CILK_C_REDUCER_OPXOR(bx, char, 0);
    CILK_C_REDUCER_OPMUL(pm, longlong, 1);
    CILK_C_REDUCER_MAX(mx, short, -100);
    CILK_C_REGISTER_REDUCER(band); CILK_C_REGISTER_REDUCER(bor); CILK_C_REGISTER_REDUCER(bx);
    CILK_C_REGISTER_REDUCER(pm); CILK_C_REGISTER_REDUCER(mx);
    cilk_for (int i = 0; i < 20; i++) {
        REDUCER_VIEW(band) &= ~(1u << i);
        REDUCER_VIEW(bor) |= 1ul << (i * 2);
        REDUCER_VIEW(bx) ^= (char)(i & 7);
        if (i < 15) REDUCER_VIEW(pm) *= 2;
        CILK_C_REDUCER_MAX_CALC(mx, (short)(i * 3 - 10));
    }
    CILK_C_UNREGISTER_REDUCER(band); CILK_C_UNREGISTER_REDUCER(bor); CILK_C_UNREGISTER_REDUCER(bx);
    CILK_C_UNREGISTER_REDUCER(pm); CILK_C_UNREGISTER_REDUCER(mx);
    printf("%x %lx %d %lld %d\n", REDUCER_VIEW(band), REDUCER_VIEW(bor), REDUCER_VIEW(bx), REDUCER_VIEW(pm), REDUCER_VIEW(mx));
    return 0;
}
