/* Array Notation conformance: a call mapped over a section as a statement (printf), chained section assignment, a rank-0 call evaluated once per statement, member sections of struct arrays and through pointers, rows and columns of 2-D arrays, a pointer to rows, reductions in if and while conditions and in assert, a parenthesised comma expression, struct section copies, unsigned and long lengths, float reductions of expressions. */
#include <stdio.h>
#include <assert.h>
typedef struct { int v[4]; double w; } S;
static int calls;
static int once(void) { return ++calls; }
static void show(int x) { printf("%d,", x); }
static int sum3(const int *p) { return p[0] + p[1] + p[2]; }
int main(void)
{
    int a[6] = {1, 2, 3, 4, 5, 6}, b[6], c[6];
    printf("print: "); printf("%d ", a[:]); printf("\n");
    show(a[0:3]); printf("\n");
    b[:] = c[:] = a[:] * 2;
    printf("%d %d\n", b[5], c[0]);
    b[:] = a[:] + once();
    printf("calls %d b0 %d\n", calls, b[0]);
    S s[3], t;
    s[:].w = 1.5;
    for (int i = 0; i < 3; i++) s[i].v[:] = i * 10 + __sec_implicit_index(0);
    t.v[:] = s[2].v[:];
    printf("%d %g %d\n", t.v[3], __sec_reduce_add(s[:].w), __sec_reduce_add(s[1].v[:]));
    S *ps = &s[1];
    ps->v[1:2] = 0;
    printf("%d %d %d\n", s[1].v[0], s[1].v[1], s[1].v[3]);
    int m[3][4];
    m[:][:] = 0;
    m[1][:] = 5;
    m[:][2] = 7;
    printf("%d %d %d\n", __sec_reduce_add(m[:][:]), m[1][2], m[0][2]);
    int (*pm)[4] = m;
    pm[0:2][0:4] = 1;
    printf("%d\n", __sec_reduce_add(m[:][:]));
    if (__sec_reduce_all_nonzero(a[:] > 0)) printf("all positive\n");
    int k = 0;
    while (__sec_reduce_any_nonzero(a[:] > k)) k++;
    printf("k %d\n", k);
    assert(__sec_reduce_add(a[0:3]) == 6);
    c[:] = (b[:], 15);
    printf("c %d\n", c[3]);
    printf("dot %d\n", __sec_reduce_add(m[:][:] * m[:][:]));
    S u[2];
    u[:] = s[0:2];
    printf("u %d %g\n", u[1].v[2], u[0].w);
    long n = 4; unsigned start = 1;
    c[start:n] = -a[0:n];
    printf("%d %d\n", c[1], c[4]);
    int x = sum3(&a[__sec_reduce_max_ind(a[:]) - 2]);
    printf("sum3 %d\n", x);
    float f[4] = {1, 2, 3, 4};
    double dd = __sec_reduce_add(f[:] * 0.5);
    printf("%g %d\n", dd, (int)__sec_reduce_max_ind(f[:] * -1));
    return 0;
}
