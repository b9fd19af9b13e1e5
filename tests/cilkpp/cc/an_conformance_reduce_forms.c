/* Array Notation conformance: __sec_reduce_mutating with the accumulator given as an lvalue and by address (GCC's form), __sec_reduce with an expression section, on a 2-D section, _ind of a row and of a column, _ind on ties (the last of equal extremes, the choice README states). */
#include <stdio.h>
static void mx(double *acc, double v) { if (*acc < v) *acc = v; }
static int add(int a, int b) { return a + b; }
int main(void)
{
    double x = -1, a[5] = {3, 9, 2, 7, 1}, b[5] = {1, 1, 2, 1, 1};
    __sec_reduce_mutating(&x, a[:] * b[:], mx);
    printf("%g\n", x);
    double y = 0;
    __sec_reduce_mutating(y, a[:], mx);
    printf("%g\n", y);
    int i[4] = {1, 2, 3, 4};
    int r = __sec_reduce(10, i[:] * 2, add) + __sec_reduce(0, i[1:2], add);
    printf("%d\n", r);
    int m[2][3] = {{1, 2, 3}, {4, 5, 6}};
    printf("%d\n", __sec_reduce(0, m[:][:], add));
    printf("%d %d\n", (int)__sec_reduce_max_ind(m[1][:]), (int)__sec_reduce_min_ind(m[:][1]));
    int t[6] = {3, 1, 3, 0, 0, 2};
    printf("ties max_ind %d min_ind %d\n", (int)__sec_reduce_max_ind(t[:]), (int)__sec_reduce_min_ind(t[:]));
    return 0;
}
