/* Two-dimensional arrays in clauses: a variable-length array parameter (double a[n][n]) and a
 * pointer to rows (double (*p)[N]), with Array Notation over both dimensions on the card. */
#include <stdio.h>
#define N 4
static void scale(int n, double a[n][n], double f)
{
    #pragma offload target(mic) inout(a : length(n))
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) a[i][j] *= f;
}
int main(void)
{
    double m[N][N];
    m[:][:] = __sec_implicit_index(0) + 10 * __sec_implicit_index(1);
    scale(N, m, 2.0);
    double (*p)[N] = m;
    double t = 0;
    #pragma offload target(mic) in(p : length(N)) inout(t)
    t = __sec_reduce_add(p[0:N][0:N]);
    printf("%g %g %g\n", m[1][2], m[3][3], t);
    return 0;
}
