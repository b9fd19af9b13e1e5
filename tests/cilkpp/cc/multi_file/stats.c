#include "stats.h"

__attribute__((target(mic))) void describe(const float *x, int n, double *out)
{
    double s = 0, lo = x[0], hi = x[0];
    for (int i = 0; i < n; i++) {
        s += x[i];
        if (x[i] < lo) lo = x[i];
        if (x[i] > hi) hi = x[i];
    }
    out[0] = s;
    out[1] = lo;
    out[2] = hi;
}
