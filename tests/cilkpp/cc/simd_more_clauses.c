/* #pragma simd reductions with *, min, && and ||, private with two vector lengths, linear on a pointer; elemental functions with linear(k:2), two uniform parameters, declared before their definition. */
#include <stdio.h>
__attribute__((vector(linear(k:2), uniform(base)))) int at(const int *base, int k) { return base[k]; }
__attribute__((vector(uniform(a, b)))) int clampi(int x, int a, int b) { return x < a ? a : x > b ? b : x; }
__attribute__((vector)) int proto_only(int x);
int main(void)
{
    int a[16], b[16], t;
    for (int i = 0; i < 16; i++) a[i] = i - 8;
    long p = 1; int mn = 100, all = 1, any = 0;
#pragma simd reduction(*:p) reduction(min:mn) reduction(&&:all) reduction(||:any)
    for (int i = 1; i < 6; i++) { p *= i; mn = a[i] < mn ? a[i] : mn; all = all && a[i] < 0; any = any || a[i] == -5; }
    printf("%ld %d %d %d\n", p, mn, all, any);
#pragma simd private(t) vectorlength(2, 4)
    for (int i = 0; i < 16; i++) { t = a[i] * 2; b[i] = t; }
    printf("%d\n", b[15]);
    int *q = a;
#pragma simd linear(q:1)
    for (int i = 0; i < 16; i++) { b[i] = *q; q++; }
    printf("%d\n", b[3]);
    b[0:8] = at(a, __sec_implicit_index(0) * 2);
    printf("%d %d\n", b[1], b[7]);
    b[:] = clampi(a[:], -2, 3);
    printf("%d %d %d\n", b[0], b[8], b[15]);
    printf("%d\n", proto_only(20));
    int s = 0;
#pragma simd reduction(+:s) vectorlengthfor(int)
    for (int i = 0; i < 16; i++) s += at(a, i / 2);
    printf("%d\n", s);
    return 0;
}
__attribute__((vector)) int proto_only(int x) { return x + 1; }
