/* arr_vmath.h — log that gcc can vectorise without -ffast-math, beside dnn_expf (vmath.h).
 *
 * glibc's logf has no SIMD variant unless fast-math is on, which left the card's log 8x behind
 * NumPy's own SIMD log. arr_logf is the Cephes single-precision scheme: split x into mantissa
 * m in [sqrt(1/2), sqrt(2)) and exponent e through the bits, log(m) by a degree-8 polynomial in
 * m - 1, and e ln 2 in two parts; about 1 ulp. It is right only for positive normal finite x:
 * the caller sends zeros, negatives, subnormals, infinities and NaNs to libm's logf. */
#ifndef ARR_VMATH_H
#define ARR_VMATH_H

#include <stdint.h>

static inline __attribute__((always_inline)) float arr_logf(float x)
{
    union {
        float f;
        int32_t i;
    } u = {.f = x};
    int32_t e = ((u.i >> 23) & 0xff) - 126;     /* x = m 2^e with m in [0.5, 1) */
    u.i = (u.i & 0x007fffff) | 0x3f000000;
    float m = u.f;
    const int below = m < 0.707106781186547524f; /* keep m in [sqrt(1/2), sqrt(2)) */
    e -= below;
    m = below ? m + m - 1.0f : m - 1.0f;
    const float z = m * m;
    float p = 7.0376836292e-2f;
    p = p * m - 1.1514610310e-1f;
    p = p * m + 1.1676998740e-1f;
    p = p * m - 1.2420140846e-1f;
    p = p * m + 1.4249322787e-1f;
    p = p * m - 1.6668057665e-1f;
    p = p * m + 2.0000714765e-1f;
    p = p * m - 2.4999993993e-1f;
    p = p * m + 3.3333331174e-1f;
    float y = p * m * z;
    const float fe = (float)e;
    y = y + fe * -2.12194440e-4f; /* ln 2, low part */
    y = y - 0.5f * z;
    return m + y + fe * 0.693359375f; /* ln 2, high part (exact in float) */
}

#endif
