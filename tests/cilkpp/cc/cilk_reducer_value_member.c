/* A reducer's .value after UNREGISTER (Intel's reducers had the member; programs read it), a wchar_t OPADD reducer, a MAX_INDEX reducer's value and index through .value. */
#include <stdio.h>
#include <cilk/cilk.h>
#include <cilk/reducer_opadd.h>
#include <cilk/reducer_max.h>
int main(void)
{
    CILK_C_REDUCER_OPADD(r, wchar_t, 0);
    CILK_C_REDUCER_MAX_INDEX(m, long, 0);
    CILK_C_REGISTER_REDUCER(r);
    CILK_C_REGISTER_REDUCER(m);
    cilk_for (int i = 0; i < 100; i++) { REDUCER_VIEW(r) += 2; CILK_C_REDUCER_MAX_INDEX_CALC(m, i, (long)((i * 7) % 31)); }
    CILK_C_UNREGISTER_REDUCER(r);
    CILK_C_UNREGISTER_REDUCER(m);
    printf("%d %ld %ld\n", (int)r.value, m.value.value, (long)m.value.index);
    return 0;
}
