/* Array Notation semantics from the Cilk Plus specification: a rank-0 call runs once per statement,
 * a parenthesised comma expression, max/min_ind on ties (the last), the generic reductions, a
 * reduction inside assert(), any statements under a section condition. */
#include <stdio.h>
#include <assert.h>
static int calls;
static int bump(int *d) { calls++; *d += 1; return 100; }
static int add2(int a, int b) { return a + b; }
static void maxm(int *acc, int v) { if (v > *acc) *acc = v; }
int main(void)
{
    int a[8], b[8], c[8];
    b[:] = __sec_implicit_index(0);
    int d = 2;
    a[:] = d * b[:] + bump(&d);
    printf("calls %d a[1] %d d %d\n", calls, a[1], d);
    c[:] = (b[:], 15);
    printf("c %d %d\n", c[0], c[7]);
    int t[6] = {1, 5, 5, 2, 0, 0};
    printf("max_ind %d min_ind %d\n", __sec_reduce_max_ind(t[:]), __sec_reduce_min_ind(t[:]));
    int s = __sec_reduce(0, b[:], add2);
    int m = -1;
    __sec_reduce_mutating(m, b[:], maxm);
    printf("sum %d max %d\n", s, m);
    assert(__sec_reduce_add(b[0:8]) == 28);
    if (b[:] > 3) {
        int k = b[:] * 2;
        c[:] = k;
    } else {
        c[:] = 0;
    }
    printf("c %d %d\n", c[2], c[5]);
    return 0;
}
