/* vmath.h — element-wise math that gcc can vectorise without -ffast-math.
 *
 * glibc's expf has no SIMD variant unless fast-math is on, which would make the sigmoid and
 * tanh layers scalar. dnn_expf is the classic Cephes single-precision scheme (range reduction
 * by ln 2 split in two parts, degree-6 polynomial, scaling by 2^k through the exponent bits):
 * within ~2 ulp of expf over the clamped range. Built with -fno-trapping-math (results are
 * unchanged; only FP traps are assumed off) the clamps if-convert and the calling loops vectorise.
 */
#ifndef DNN_VMATH_H
#define DNN_VMATH_H

#include <math.h>
#include <stdint.h>

static inline __attribute__((always_inline)) float dnn_expf(float x)
{
    x = x < -87.3365447505531f ? -87.3365447505531f : x; /* fmaxf would not vectorise */
    x = x > 88.3762626647949f ? 88.3762626647949f : x;
    /* k = nearest integer to x / ln 2: adding and subtracting 1.5 * 2^23 rounds in the FPU's
     * default mode, with plain arithmetic. */
    float k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - k * 0.693359375f;  /* ln 2, high part (exact in float) */
    r = r - k * -2.12194440e-4f;     /* ln 2, low part */
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    /* 2^k through the exponent field (a union: GNU C allows the pun, and it vectorises) */
    union {
        int32_t i;
        float f;
    } scale = {.i = ((int32_t)k + 127) << 23};
    return p * scale.f;
}

static inline __attribute__((always_inline)) float dnn_sigmoidf(float x) { return 1.0f / (1.0f + dnn_expf(-x)); }

/* tanh(x) = sign(x) (1 - 2 / (exp(2|x|) + 1)): no overflow, and exact 0 at 0. */
static inline __attribute__((always_inline)) float dnn_tanhf(float x)
{
    float a = fabsf(x);
    float t = 1.0f - 2.0f / (dnn_expf(2.0f * a) + 1.0f);
    return copysignf(t, x);
}

#endif
