/* Declarations both sides need, in one offload_attribute block, as multi-file LEO codes did. */
#ifndef KERNELS_H
#define KERNELS_H

#pragma offload_attribute(push, target(mic))
#include <math.h>
typedef struct {
    int n;
    double lo, hi;
} grid_t;
extern grid_t grid;
extern double weights[8];
double integrate(double (*f)(double), const grid_t *g);
double bump(double x);
#pragma offload_attribute(pop)

extern _Cilk_shared int shared_calls;
_Cilk_shared double shared_norm(_Cilk_shared double *v, int n);

#endif
