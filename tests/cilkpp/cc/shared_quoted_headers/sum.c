#pragma offload_attribute(push, _Cilk_shared)
#include <stdio.h>
#include <stdlib.h>
#include <omp.h>
#include "offload.h"
#include "sum.h"
#pragma offload_attribute(pop)

_Cilk_shared int shared_calls;

_Cilk_shared myfloat shared_sum(_Cilk_shared myfloat *v, int n)
{
    myfloat s = 0;
    int i;
#ifndef __MIC__
    if (_Offload_number_of_devices() > 0) {
        printf("expected to run on the card\n");
        exit(1);
    }
#endif
    #pragma omp parallel for private(i) reduction(+:s)
    for (i = 0; i < n; i++) s += v[i];
    shared_calls++;
    return s;
}
