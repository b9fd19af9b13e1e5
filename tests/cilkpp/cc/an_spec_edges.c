/* Array Notation from the Cilk Plus specification: strides, 2-D sections, sections of a
 * pointer, the conditional operator on sections, math functions mapped over a section,
 * gather and scatter with a section index, every reduction, and assignment with a scalar. */
#include <stdio.h>
#include <math.h>

static int twice(int x) { return 2 * x; }
static int add(int a, int b) { return a + b; }

int main(void)
{
    int a[10], b[10], c[10] = {0}, idx[5] = {4, 3, 2, 1, 0};
    double m[3][4], v[4];
    a[:] = __sec_implicit_index(0);          /* 0..9 */
    b[0:10] = 10 - a[0:10];                  /* 10..1 */
    c[0:5:2] = a[1:5:2];                      /* c[0]=1, c[2]=3, ... */
    m[:][:] = __sec_implicit_index(0) * 10 + __sec_implicit_index(1);
    v[:] = sqrt((double)(a[0:4] * a[0:4]));
    int *p = &a[2];
    p[0:3] = twice(p[0:3]);                   /* a[2..4] = 4, 6, 8 */
    int g[5];
    g[:] = b[idx[:]];                         /* gather: b[4..0] */
    int s[5] = {0};
    s[idx[:]] = a[0:5];                       /* scatter: reversed */
    int sel[10];
    sel[:] = (a[:] > 5) ? a[:] : -1;
    printf("a: %d %d %d %d | c: %d %d %d %d\n", a[1], a[2], a[3], a[4], c[0], c[2], c[4], c[8]);
    printf("m[2][3]=%g m[1][0]=%g v[3]=%g\n", m[2][3], m[1][0], v[3]);
    printf("g: %d %d | s: %d %d | sel: %d %d\n", g[0], g[4], s[0], s[4], sel[5], sel[6]);
    printf("add %d mul %d max %d min %d max_ind %d min_ind %d\n", __sec_reduce_add(b[:]),
           __sec_reduce_mul(b[7:3]), __sec_reduce_max(a[:]), __sec_reduce_min(b[:]),
           (int)__sec_reduce_max_ind(b[:]), (int)__sec_reduce_min_ind(b[:]));
    printf("all_zero %d all_nonzero %d any_zero %d any_nonzero %d\n", __sec_reduce_all_zero(c[1:5:2]),
           __sec_reduce_all_nonzero(b[:]), __sec_reduce_any_zero(a[:]), __sec_reduce_any_nonzero(c[:]));
    printf("2-D sum %g, generic %d\n", __sec_reduce_add(m[:][:]), __sec_reduce(0, a[0:4], add));
    return 0;
}
