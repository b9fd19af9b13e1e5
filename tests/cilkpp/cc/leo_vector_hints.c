/* The vectorisation hints of the time inside an offloaded loop: restrict, __assume_aligned,
 * #pragma ivdep / vector aligned / simd, _mm_malloc'd aligned buffers, align() in clauses. */
#include <stdio.h>
#include <immintrin.h>

__attribute__((target(mic))) void saxpy(int n, float a, float *restrict x, float *restrict y)
{
    __assume_aligned(x, 64);
    __assume_aligned(y, 64);
#pragma ivdep
#pragma vector aligned
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

int main(void)
{
    int n = 1024;
    float *x = (float *)_mm_malloc(n * sizeof(float), 64);
    float *y = (float *)_mm_malloc(n * sizeof(float), 64);
    for (int i = 0; i < n; i++) { x[i] = 1.0f; y[i] = (float)i; }
    #pragma offload target(mic) in(x : length(n) align(64)) inout(y : length(n) align(64))
    {
        saxpy(n, 3.0f, x, y);
#pragma simd
        for (int i = 0; i < n; i++) y[i] *= 0.5f;
    }
    printf("y[0] %g y[1023] %g\n", y[0], y[1023]);
    _mm_free(x);
    _mm_free(y);
    return 0;
}
