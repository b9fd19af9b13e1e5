/* C reducers of <cilk/reducer_min_max.h>: MAX_INDEX and MIN_INDEX with their _CALC macros (ties: the first index), MAX_CALC and MIN_CALC, a reducer passed by pointer with CILK_C_REDUCER_OPADD_TYPE, a reducer of the program's own with __cilkrts_hyperobject_noop_destroy. */
#include <stdio.h>
#include <cilk/cilk.h>
#include <cilk/reducer_opadd.h>
#include <cilk/reducer_min_max.h>
#include <cilk/reducer_opand.h>
#include <cilk/reducer_opor.h>

static void add_into(CILK_C_REDUCER_OPADD_TYPE(int) *r, int v) { REDUCER_VIEW(*r) += v; }
static void my_identity(void *k, void *v) { (void)k; *(long *)v = 0; }
static void my_reduce(void *k, void *l, void *r) { (void)k; *(long *)l += *(long *)r; }

int main(void)
{
    int a[100];
    for (int i = 0; i < 100; i++) a[i] = (i * 37) % 101;   /* a permutation-ish, max 100 at some i */
    a[60] = 100; a[80] = 100; a[10] = -5; a[90] = -5;
    CILK_C_REDUCER_MAX_INDEX(mx, int, -1000);
    CILK_C_REDUCER_MIN_INDEX(mn, int, 1000);
    CILK_C_REDUCER_MAX(m2, int, 0);
    CILK_C_REDUCER_MIN(m3, double, 1e9);
    CILK_C_REDUCER_OPADD(sum, int, 0);
    CILK_C_REGISTER_REDUCER(mx);
    CILK_C_REGISTER_REDUCER(mn);
    CILK_C_REGISTER_REDUCER(m2);
    CILK_C_REGISTER_REDUCER(m3);
    CILK_C_REGISTER_REDUCER(sum);
    cilk_for (int i = 0; i < 100; i++) {
        CILK_C_REDUCER_MAX_INDEX_CALC(mx, i, a[i]);
        CILK_C_REDUCER_MIN_INDEX_CALC(mn, i, a[i]);
        CILK_C_REDUCER_MAX_CALC(m2, a[i]);
        CILK_C_REDUCER_MIN_CALC(m3, a[i] * 0.5);
        add_into(&sum, 1);
    }
    CILK_C_UNREGISTER_REDUCER(mx);
    CILK_C_UNREGISTER_REDUCER(mn);
    CILK_C_UNREGISTER_REDUCER(m2);
    CILK_C_UNREGISTER_REDUCER(m3);
    CILK_C_UNREGISTER_REDUCER(sum);
    printf("max %d at %ld, min %d at %ld, max %d, min %g, n %d\n", REDUCER_VIEW(mx).value, (long)REDUCER_VIEW(mx).index,
           REDUCER_VIEW(mn).value, (long)REDUCER_VIEW(mn).index, REDUCER_VIEW(m2), REDUCER_VIEW(m3), REDUCER_VIEW(sum));
    CILK_C_DECLARE_REDUCER(long) own = CILK_C_INIT_REDUCER(long, my_reduce, my_identity, __cilkrts_hyperobject_noop_destroy, 5);
    CILK_C_REGISTER_REDUCER(own);
    cilk_for (int i = 0; i < 10; i++) REDUCER_VIEW(own) += i;
    CILK_C_UNREGISTER_REDUCER(own);
    printf("own %ld\n", REDUCER_VIEW(own));
    return 0;
}
