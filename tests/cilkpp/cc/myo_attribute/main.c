/* Cilk shared memory across files with #pragma offload_attribute(push, _Cilk_shared) in a
 * header and around the definitions: a shared struct pointer global, a function summed on the card. */
#include <stdio.h>
#include <offload.h>
#include "common.h"
int main(void)
{
    shared_vec = _Offload_shared_malloc(sizeof(vec_t));
    shared_vec->n = 100;
    shared_vec->v = _Offload_shared_malloc(100 * sizeof(double));
    for (int i = 0; i < 100; i++) shared_vec->v[i] = i * 0.5;
    double s = _Cilk_offload vsum();
    printf("sum %g\n", s);
    return 0;
}
