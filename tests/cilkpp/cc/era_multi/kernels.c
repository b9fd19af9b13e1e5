/* The card-side code: functions and globals declared for the card in kernels.h, defined here
 * without repeating the attribute, and a _Cilk_shared function with its shared counter. */
#include "kernels.h"

grid_t grid = {1000, 0.0, 1.0};
double weights[8];

double bump(double x) { return 4.0 / (1.0 + x * x); }

double integrate(double (*f)(double), const grid_t *g)
{
    double h = (g->hi - g->lo) / g->n, s = 0;
    #pragma omp parallel for reduction(+ : s)
    for (int i = 0; i < g->n; i++) s += f(g->lo + (i + 0.5) * h);
    return s * h;
}

_Cilk_shared int shared_calls;

_Cilk_shared double shared_norm(_Cilk_shared double *v, int n)
{
    shared_calls++;
    return sqrt(__sec_reduce_add(v[0:n] * v[0:n]));
}
