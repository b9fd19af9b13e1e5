/* __sec_reduce_mul of doubles multiplies in element order (the rule dnn.cilkpp chooses: a
 * reordered product rounds, overflows and underflows differently); of integers it is vectorised.
 * In order, 1e200 * 1e200 overflows before the small factors can bring it back. */
#include <stdio.h>

int main(void)
{
    double d[8] = {1e200, 1e200, 1e-200, 1e-200, 1, 1, 1, 1};
    double e[8] = {1e200, 1e-200, 1e200, 1e-200, 2, 2, 2, 2};
    long k[10];
    k[:] = __sec_implicit_index(0) + 1;
    printf("%g %g %ld\n", __sec_reduce_mul(d[:]), __sec_reduce_mul(e[:]), __sec_reduce_mul(k[:]));
    return 0;
}
