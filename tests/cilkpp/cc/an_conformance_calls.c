/* Array Notation conformance: elemental mapping of calls, section if/else and ?:, __sec_implicit_index as an index, the same array on both sides, sections of pointers to pointers, __sec_reduce and __sec_reduce_mutating, reductions inside expressions, _ind of a row and of a column, sections of function results, 2-D reductions and 2-D copies. */
#include <stdio.h>
#include <stdlib.h>
static int sq(int x) { return x * x; }
static int add2(int x, int y) { return x + y; }
static int maxf(int x, int y) { return x > y ? x : y; }
static void accum(int *acc, int v) { *acc += v; }
static void mulm(double *acc, double v) { *acc *= v; }
static int *buf(void) { static int s[6] = {5, 1, 4, 2, 8, 3}; return s; }
static int sumsec(int *p, int n) { return __sec_reduce_add(p[0:n]); }
int main(void)
{
    int a[8], b[8], c[8], m[3][4];
    a[:] = __sec_implicit_index(0);
    b[:] = sq(a[:]);                              /* elemental mapping */
    c[:] = add2(a[:], b[:]);
    printf("%d %d\n", b[7], c[7]);
    c[:] = add2(a[:], 100);
    printf("%d\n", c[3]);
    /* if with else */
    if (a[:] % 2) c[:] = 1; else c[:] = -1;
    printf("%d %d %d\n", c[0], c[1], __sec_reduce_add(c[:]));
    if (a[:] > 4) { b[:] = 0; c[:] = 7; } else { b[:] = a[:]; }
    printf("%d %d %d %d\n", b[3], b[5], c[3], c[6]);
    /* ?: */
    c[:] = a[:] < 3 ? a[:] * 10 : -a[:];
    printf("%d %d\n", c[2], c[5]);
    /* implicit index as index */
    b[:] = a[7 - __sec_implicit_index(0)];
    printf("%d %d\n", b[0], b[7]);
    /* overlap: same array both sides, exact overlap ok */
    a[:] = a[:] * 2;
    printf("%d\n", a[7]);
    /* pointer to pointer sections */
    int **pp = malloc(3 * sizeof *pp);
    for (int i = 0; i < 3; i++) pp[i] = malloc(4 * sizeof **pp);
    pp[0:3][0:4] = __sec_implicit_index(0) + __sec_implicit_index(1);
    printf("%d %d\n", pp[2][3], __sec_reduce_add(pp[0:3][0:4]));
    for (int i = 0; i < 3; i++) free(pp[i]);
    free(pp);
    /* generic reduce and mutating */
    a[:] = __sec_implicit_index(0) + 1;
    printf("%d %d\n", __sec_reduce(0, a[:], add2), __sec_reduce(-100, a[:], maxf));
    int acc = 0;
    __sec_reduce_mutating(acc, a[:], accum);
    double dm = 1.0, dv[4] = {1, 2, 3, 4};
    __sec_reduce_mutating(dm, dv[:], mulm);
    printf("%d %g\n", acc, dm);
    /* reductions of expressions and inside expressions */
    int s = __sec_reduce_add(a[:] * a[:]) + 2 * __sec_reduce_max(a[0:3]);
    printf("%d\n", s);
    b[:] = a[:] - __sec_reduce_min(a[:]);
    printf("%d\n", b[7]);
    /* _ind on 2-D */
    m[:][:] = (__sec_implicit_index(0) * 4 + __sec_implicit_index(1)) % 5;
    printf("%d %d\n", (int)__sec_reduce_max_ind(m[1][:]), (int)__sec_reduce_min_ind(m[:][2]));
    /* sections of function results */
    printf("%d %d\n", __sec_reduce_add(buf()[0:6]), __sec_reduce_max(buf()[1:4]));
    printf("%d\n", sumsec(a, 5));
    /* 2-D reductions */
    printf("%d %d %d\n", __sec_reduce_add(m[:][:]), __sec_reduce_max(m[:][:]), __sec_reduce_any_zero(m[:][:]));
    m[0:2][0:2] = m[1:2][2:2];
    printf("%d %d %d %d\n", m[0][0], m[0][1], m[1][0], m[1][1]);
    return 0;
}
