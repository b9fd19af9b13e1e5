/* A Cilk shared-memory program in two files: the _Cilk_shared globals are defined in a file
 * without main and declared in a header included with quotes; offloads as statements, spawned
 * to several targets, over a _Cilk_for; a shared global in an OpenMP reduction clause. */
#include <stdio.h>
#include "counters.h"

int main(void)
{
    hits = 5;
    _Cilk_offload add_hits(3);
    printf("hits %d\n", hits);

    _Cilk_shared int *r = (_Cilk_shared int *)_Offload_shared_malloc(4 * sizeof(int));
    for (int i = 0; i < 4; i++)
        _Cilk_spawn _Cilk_offload_to(i) fill(r, i);
    _Cilk_sync;
    printf("r %d %d %d %d\n", r[0], r[1], r[2], r[3]);

    _Cilk_offload _Cilk_for (int i = 0; i < 4; i++)
        r[i] *= 2;
    printf("r %d %d %d %d\n", r[0], r[1], r[2], r[3]);

    area = 0;
    #pragma omp parallel for reduction(+:area)
    for (int i = 0; i < 1000; i++) {
        double x = (i + 0.5) / 1000;
        area += 4.0 / (1 + x * x);
    }
    printf("pi %.6f\n", area / 1000);
    _Offload_shared_free(r);
    return 0;
}
