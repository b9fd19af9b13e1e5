/* SIMD loops as Intel's compiler also spelled them: #pragma simd before a cilk_for (a SIMD loop within the parallel loop), cilk_for _Simd, _Simd with _Reduction, _Simd alone. */
#include <stdio.h>
#include <cilk/cilk.h>
int main(void)
{
    int a[64], b[64];
    for (int i = 0; i < 64; i++) a[i] = i;
#pragma simd
    cilk_for (int i = 0; i < 64; ++i) b[i] = a[i] * 2;
    printf("%d\n", b[63]);
    cilk_for _Simd (int i = 0; i < 64; ++i) b[i] = a[i] * 3;
    printf("%d\n", b[63]);
    int s = 0;
    _Simd _Reduction(+:s) for (int i = 0; i < 64; i++) s += a[i];
    printf("%d\n", s);
    _Simd for (int i = 0; i < 64; i++) b[i] = 1;
    printf("%d\n", b[5]);
    return 0;
}
