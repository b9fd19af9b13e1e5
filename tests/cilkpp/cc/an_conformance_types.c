/* Array Notation conformance: a reduction has the element type (unsigned char wraps), a reduction in the right side is computed once before the assignment, sections of a call's result, a library call mapped over chars, the start evaluated once, nested gathers, implicit index of rank 1, if / else if chains on sections, long, short and double reductions. */
#include <stdio.h>
#include <ctype.h>
static int base[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
static int *get(int k) { return base + k; }
int main(void)
{
    unsigned char uc[300];
    uc[:] = 1;
    printf("%d\n", (int)__sec_reduce_add(uc[:]));
    printf("%d\n", (int)sizeof(__sec_reduce_add(uc[:])));
    int a[5] = {1, 2, 3, 4, 5};
    a[:] += __sec_reduce_add(a[:]);
    printf("%d %d\n", a[0], a[4]);
    printf("%d\n", __sec_reduce_add(get(2)[0:3]));
    char s[] = "hello";
    s[0:5] = toupper(s[0:5]);
    printf("%s\n", s);
    int i = 0, b[6] = {0};
    b[i++ : 3] = 7;
    printf("%d %d %d\n", i, b[0], b[3]);
    int idx[3] = {2, 0, 1}, g[3];
    g[:] = base[idx[idx[:]]];
    printf("%d %d %d\n", g[0], g[1], g[2]);
    int m[2][3];
    m[:][:] = __sec_implicit_index(1);
    printf("%d %d\n", m[1][2], __sec_reduce_add(m[:][:]));
    if (a[:] > 20) b[0:5] = 1; else if (a[:] > 17) b[0:5] = 2; else b[0:5] = 3;
    printf("%d %d %d %d %d\n", b[0], b[1], b[2], b[3], b[4]);
    long L[4] = {1L << 40, 2, 3, 4};
    printf("%ld\n", __sec_reduce_add(L[:]));
    short sh[4] = {-1, -2, 3, 4};
    printf("%d %d\n", __sec_reduce_min(sh[:]), (int)__sec_reduce_min_ind(sh[:]));
    double z[3] = {0, 0, 0};
    printf("%d %d %d %d\n", __sec_reduce_all_zero(z[:]), __sec_reduce_any_nonzero(z[:]), __sec_reduce_all_nonzero(a[:]), __sec_reduce_any_zero(a[:] - 16));
    return 0;
}
