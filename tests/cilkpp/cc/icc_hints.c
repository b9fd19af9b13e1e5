/* icc-only hints in offload-era loops (__assume_aligned, __assume, #pragma ivdep, #pragma
 * vector aligned) are accepted; _mm_malloc without an include; omp parallel for simd offloaded. */
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
    float *a = _mm_malloc(64 * sizeof(float), 64);
    __assume_aligned(a, 64);
    #pragma ivdep
    #pragma vector aligned
    for (int i = 0; i < 64; i++) a[i] = i;
    __assume(a != 0);
    float s = 0;
    #pragma offload target(mic) in(a : length(64)) inout(s)
    {
        __assume_aligned(a, 64);
        #pragma omp parallel for simd reduction(+:s)
        for (int i = 0; i < 64; i++) s += a[i];
    }
    printf("%g\n", s);
    _mm_free(a);
    return 0;
}
