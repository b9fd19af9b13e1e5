/* Types a function declares for itself (an enum of indices, a typedef, a struct, a typedef of a
 * variable-length row) used by an offload block inside it: the outlined block and its frame
 * see them. */
#include <stdio.h>
static double stats(const double *v, int n)
{
    enum { MEAN, VAR, NSTAT };
    typedef double acc_t;
    struct pair { acc_t lo, hi; };
    typedef double vrow[n];
    acc_t out[NSTAT] = {0};
    struct pair p = {0, 0};
    #pragma offload target(mic) in(v : length(n)) out(out, p)
    {
        acc_t s = 0;
        for (int i = 0; i < n; i++) s += v[i];
        out[MEAN] = s / n;
        out[VAR] = 1;
        p.lo = v[0]; p.hi = v[n - 1];
    }
    return out[MEAN] + out[VAR] + p.lo + p.hi;
}
int main(void) { double v[4] = {1, 2, 3, 4}; printf("%g\n", stats(v, 4)); return 0; }
