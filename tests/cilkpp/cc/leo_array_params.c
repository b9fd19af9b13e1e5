/* Array parameters with their sizes written out (double v[N], a 2-D m[R][C]) named in clauses
 * with lengths, as ported Fortran-style C did. */
#include <stdio.h>
#define N 8
#define R 3
#define C 4

static void scale(double v[N], int n, double k)
{
    #pragma offload target(mic) inout(v : length(n)) in(k)
    for (int i = 0; i < n; i++) v[i] *= k;
}

static double trace_like(double m[R][C])
{
    double t = 0;
    #pragma offload target(mic) in(m : length(R)) inout(t)
    for (int i = 0; i < R; i++) t += m[i][i];
    return t;
}

int main(void)
{
    double v[N], m[R][C];
    for (int i = 0; i < N; i++) v[i] = i;
    for (int i = 0; i < R; i++) for (int j = 0; j < C; j++) m[i][j] = 10 * i + j;
    scale(v, N, 0.5);
    printf("v[7] %g trace %g\n", v[7], trace_like(m));
    return 0;
}
