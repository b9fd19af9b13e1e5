/* vmath.h — element-wise math that gcc can vectorise without -ffast-math.
 *
 * glibc's expf has no SIMD variant unless fast-math is on, which would make the sigmoid and
 * tanh layers scalar. dnn_expf is the classic Cephes single-precision scheme (range reduction
 * by ln 2 split in two parts, degree-6 polynomial, scaling by 2^k through the exponent bits):
 * within ~2 ulp of expf over the clamped range, and only arithmetic, so `omp simd` vectorises it.
 */
#ifndef DNN_VMATH_H
#define DNN_VMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#pragma omp declare simd notinbranch
static inline float dnn_expf(float x)
{
    x = x > 88.3762626647949f ? 88.3762626647949f : x;
    x = x < -87.3365447505531f ? -87.3365447505531f : x;
    float k = floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - k * 0.693359375f;  /* ln 2, high part (exact in float) */
    r = r - k * -2.12194440e-4f;     /* ln 2, low part */
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)k + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

#pragma omp declare simd notinbranch
static inline float dnn_sigmoidf(float x) { return 1.0f / (1.0f + dnn_expf(-x)); }

/* tanh(x) = sign(x) (1 - 2 / (exp(2|x|) + 1)): no overflow, and exact 0 at 0. */
#pragma omp declare simd notinbranch
static inline float dnn_tanhf(float x)
{
    float a = fabsf(x);
    float t = 1.0f - 2.0f / (dnn_expf(2.0f * a) + 1.0f);
    return x < 0 ? -t : t;
}

#endif
