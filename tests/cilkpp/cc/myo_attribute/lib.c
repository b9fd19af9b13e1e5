#include "common.h"
#pragma offload_attribute(push, _Cilk_shared)
vec_t *shared_vec;
double vsum(void)
{
    double s = 0;
    for (int i = 0; i < shared_vec->n; i++) s += shared_vec->v[i];
    return s;
}
#pragma offload_attribute(pop)
