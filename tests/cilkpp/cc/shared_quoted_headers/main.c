/* A _Cilk_shared function in its own file, headers included inside offload_attribute(push,
 * _Cilk_shared), "offload.h" in quotes, Array Notation on shared memory, _Cilk_offload_to. */
#include <stdio.h>
#include "offload.h"
#include "sum.h"

int main(void)
{
    int n = 1000;
    _Cilk_shared myfloat *v = (_Cilk_shared myfloat *)_Offload_shared_aligned_malloc(n * sizeof(myfloat), 64);
    v[0:n] = 0.5;
    myfloat s = _Cilk_offload shared_sum(v, n);
    v[0:n / 2] = 1.0;
    myfloat t = _Cilk_offload_to(0) shared_sum(v, n);
    printf("sums %.1f %.1f after %d calls\n", s, t, shared_calls);
    _Offload_shared_aligned_free((void *)v);
    return 0;
}
