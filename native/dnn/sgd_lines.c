/* sgd_lines.c — plain SGD's step, W += -lr G, over n floats from W, each 64-byte line of W stored
 * only when the step changes one of its bits (train.cilk's sgd says why: a line left alone stays in
 * the other cores' caches, where the CHAOS workers share the weights).
 *
 * Per line: the new values are computed, their bits compared with the old, and the line written
 * only if they differ, so the result is the dense step's bit for bit (the same product and sum, no
 * contraction: -ffp-contract=off). The lines are W's by address: the first and the last may hold
 * floats of the tensor next door (a convolution's kernel and bias share one), which are neither read
 * nor written. With AVX-512 a line is one register, its part in the tensor a mask: a load, a
 * multiply, an add, one compare, one store when it is not zero. The same in Array Notation cost
 * about three times the instructions (gcc reduces a compare's lanes through shuffles): one worker's
 * update of a chaos-medium image took 11 µs against 6.5 for the dense step, and this 7 µs. The plain
 * C below is the fallback for builds without AVX-512.
 *
 * dnn_sgd_outer is the same step for one image's full layer, whose gradient is the outer product
 * G[j][i] = e[j] y[i]: each line's gradient is formed from e and y as the line is stepped, with the
 * product dnn_outer writes (the same bits as the gradient written out, then stepped), so the
 * (out, in) gradient is never written to memory and read back. */
#include <stdint.h>
#include <string.h>

#include "dnn.h"

void dnn_outer(float *restrict G, const float *restrict e, const float *restrict y, int64_t out, int64_t in)
{
    for (int64_t j = 0; j < out; j++)
        for (int64_t i = 0; i < in; i++) G[j * in + i] = e[j] * y[i];
}

#ifdef __AVX512F__
#include <immintrin.h>

/* p + o floats, o possibly negative (the line before a tensor's first float), as an address: C
 * leaves pointer arithmetic outside an array undefined. */
static inline float *at(const float *p, int64_t o) { return (float *)((uintptr_t)p + (intptr_t)o * (intptr_t)sizeof(float)); }

/* The floats of the line at o .. o + 15 (of a tensor's [0, n)) that belong to the tensor. */
static inline __mmask16 line_mask(int64_t o, int64_t n)
{
    const int64_t lo = o < 0 ? -o : 0, hi = n - o < DNN_LINE_FLOATS ? n - o : DNN_LINE_FLOATS;
    return (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

/* One line: w's lanes `in` += step x g, stored only if a bit changes. Returns whether it stored. */
static inline int line_step(float *w, __mmask16 in, __m512 step, __m512 g)
{
    const __m512 old = _mm512_maskz_load_ps(in, w);
    const __m512 now = _mm512_add_ps(old, _mm512_mul_ps(step, g));
    if (!_mm512_mask_cmpneq_epi32_mask(in, _mm512_castps_si512(now), _mm512_castps_si512(old))) return 0;
    _mm512_mask_store_ps(w, in, now);
    return 1;
}

int64_t dnn_sgd_lines(float *restrict W, const float *restrict G, int64_t n, float lr)
{
    const __m512 step = _mm512_set1_ps(-lr);
    int64_t stored = 0;
    /* line k holds the tensor's floats o .. o + 15 (o = 16 k - skew), those in [0, n) */
    for (int64_t o = -DNN_LINE_SKEW(W); o < n; o += DNN_LINE_FLOATS) {
        const __mmask16 in = line_mask(o, n);
        stored += line_step(at(W, o), in, step, _mm512_maskz_loadu_ps(in, at(G, o)));
    }
    return stored;
}

int64_t dnn_sgd_outer(float *restrict W, const float *restrict e, const float *restrict y, int64_t out, int64_t in,
                      float lr)
{
    const __m512 step = _mm512_set1_ps(-lr);
    int64_t stored = 0;
    const float *last = NULL; /* a line two rows share is counted once */
    for (int64_t j = 0; j < out; j++) {
        float *row = W + j * in;
        const __m512 ej = _mm512_set1_ps(e[j]);
        for (int64_t o = -DNN_LINE_SKEW(row); o < in; o += DNN_LINE_FLOATS) {
            const __mmask16 lanes = line_mask(o, in);
            float *w = at(row, o);
            if (line_step(w, lanes, step, _mm512_mul_ps(ej, _mm512_maskz_loadu_ps(lanes, at(y, o))))) {
                stored += w != last;
                last = w;
            }
        }
    }
    return stored;
}
#else
/* One line's floats a .. b - 1 of W: += -lr g (g indexed from a), stored only if a bit changes. */
static int line_step(float *W, const float *g, int64_t a, int64_t b, float lr)
{
    float now[DNN_LINE_FLOATS];
    for (int64_t i = a; i < b; i++) now[i - a] = W[i] + -lr * g[i - a];
    if (memcmp(now, W + a, sizeof(float) * (size_t)(b - a)) == 0) return 0;
    memcpy(W + a, now, sizeof(float) * (size_t)(b - a));
    return 1;
}

/* The end of the line that starts at float a of a tensor of n floats from W. */
static int64_t line_end(const float *W, int64_t a, int64_t n)
{
    const int64_t b = a + DNN_LINE_FLOATS - DNN_LINE_SKEW(W + a);
    return b < n ? b : n;
}

int64_t dnn_sgd_lines(float *restrict W, const float *restrict G, int64_t n, float lr)
{
    int64_t stored = 0;
    for (int64_t a = 0, b; a < n; a = b) {
        b = line_end(W, a, n);
        stored += line_step(W, G + a, a, b, lr);
    }
    return stored;
}

int64_t dnn_sgd_outer(float *restrict W, const float *restrict e, const float *restrict y, int64_t out, int64_t in,
                      float lr)
{
    int64_t stored = 0;
    const float *last = NULL; /* a line two rows share is counted once */
    for (int64_t j = 0; j < out; j++) {
        float *row = W + j * in;
        for (int64_t a = 0, b; a < in; a = b) {
            b = line_end(row, a, in);
            float g[DNN_LINE_FLOATS];
            for (int64_t i = a; i < b; i++) g[i - a] = e[j] * y[i];
            const float *line = row + a - DNN_LINE_SKEW(row + a);
            if (line_step(row, g, a, b, lr)) {
                stored += line != last;
                last = line;
            }
        }
    }
    return stored;
}
#endif
