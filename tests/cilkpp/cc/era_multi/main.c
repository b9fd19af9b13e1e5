/* The host side: offloads that call functions of kernels.c through a function pointer, move a
 * global struct's card copy, and a _Cilk_offload on shared data. Built without -lm: libm comes
 * with the program, as it did with icc. */
#include <offload.h>
#include <stdio.h>
#include "kernels.h"

int main(void)
{
    double pi = 0;
    grid.n = 2000;
    #pragma offload target(mic) in(grid) out(pi)
    pi = integrate(bump, &grid);
    #pragma offload target(mic) out(weights)
    {
        for (int i = 0; i < 8; i++) weights[i] = sqrt((double)i);
    }
    _Cilk_shared double *v = (_Cilk_shared double *)_Offload_shared_malloc(4 * sizeof(double));
    v[0] = 3, v[1] = 4, v[2] = 0, v[3] = 12;
    double norm = _Cilk_offload shared_norm(v, 4);
    printf("pi %.6f weights[4] %g norm %g calls %d\n", pi, weights[4], norm, shared_calls);
    _Offload_shared_free(v);
    return 0;
}
