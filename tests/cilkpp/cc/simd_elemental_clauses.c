/* Elemental functions (__attribute__((vector)) and __declspec(vector)) with uniform, linear, vectorlength, mask, nomask and processor clauses, called on sections, scalars and in _Cilk_for; #pragma simd with reduction, vectorlength, vectorlengthfor, assert, noassert, linear, firstprivate and lastprivate. */
#include <stdio.h>
#include <cilk/cilk.h>
__attribute__((vector)) float saxpy1(float a, float x, float y) { return a * x + y; }
__attribute__((vector(uniform(a), linear(i:1)))) int idx_add(int *a, int i) { return a[i] + i; }
__attribute__((vector(vectorlength(4), nomask))) double half(double x) { return x / 2; }
__attribute__((vector(mask))) int neg(int x) { return -x; }
__attribute__((vector(processor(core_2nd_gen_avx), uniform(s)))) int scale(int x, int s) { return x * s; }
__attribute__((vector(linear(p), uniform(n)))) int deref(int *p, int n) { return *p * n; }
__declspec(vector(uniform(k))) int addk(int x, int k) { return x + k; }
__attribute__((vector)) __attribute__((noinline)) int dbl(int x) { return 2 * x; }
int main(void)
{
    float x[8], y[8];
    int a[8], b[8];
    double d[8];
    x[:] = __sec_implicit_index(0);
    y[:] = 1.0f;
    y[:] = saxpy1(2.0f, x[:], y[:]);
    printf("%g %g\n", y[0], y[7]);
    a[:] = __sec_implicit_index(0) * 10;
    for (int i = 0; i < 8; i++) b[i] = idx_add(a, i);
    printf("%d %d\n", b[1], b[7]);
    b[:] = idx_add(a, __sec_implicit_index(0));
    printf("%d\n", b[7]);
    d[:] = half((double)a[:]);
    printf("%g\n", d[7]);
    if (a[:] > 30) b[:] = neg(a[:]); else b[:] = 0;
    printf("%d %d\n", b[3], b[4]);
    b[:] = scale(a[:], 3);
    printf("%d\n", b[2]);
    printf("%d\n", deref(&a[3], 2));
    b[:] = addk(a[:], 5) + dbl(a[:]);
    printf("%d\n", b[1]);
    int s = 0;
#pragma simd reduction(+:s)
    for (int i = 0; i < 8; i++) s += a[i];
    printf("%d\n", s);
    float f = 0;
#pragma simd vectorlength(4) reduction(+:f)
    for (int i = 0; i < 8; i++) f += x[i];
    printf("%g\n", f);
#pragma simd vectorlengthfor(float) assert
    for (int i = 0; i < 8; i++) x[i] *= 2;
    printf("%g\n", x[7]);
    int j = 0;
#pragma simd linear(j:2) firstprivate(s) lastprivate(f)
    for (int i = 0; i < 8; i++) { a[i] = j; j += 2; }
    printf("%d\n", a[7]);
    _Cilk_for (int i = 0; i < 8; i++) b[i] = dbl(i);
    printf("%d\n", b[5]);
#pragma simd noassert
    for (int i = 0; i < 8; i++) b[i] = 1;
#pragma simd reduction(max:s)
    for (int i = 0; i < 8; i++) s = s > a[i] ? s : a[i];
    printf("%d\n", s);
    return 0;
}
