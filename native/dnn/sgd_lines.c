/* sgd_lines.c — plain SGD's step (W += -lr G) over whole 64-byte lines of W, each line stored only
 * when the step changes one of its bits (train.cilk's sgd says why: a line left alone stays in the
 * other cores' caches, where the CHAOS workers share the weights).
 *
 * Per line: the new values are computed, their bits compared with the old, and the line written
 * only if they differ, so the result is the dense step's bit for bit (the same product and sum, no
 * contraction: -ffp-contract=off). With AVX-512 a line is one register: a load, a multiply-add
 * pair, one compare into a mask, one store when it is not zero. The same in Array Notation costs
 * about three times the instructions (gcc reduces the compare's lanes through shuffles), which
 * took 6.5 to 11 µs per chaos-medium image on one worker; the plain C below is that fallback for
 * builds without AVX-512. */
#include <stdint.h>
#include <string.h>

#include "dnn.h"

#ifdef __AVX512F__
#include <immintrin.h>

int64_t dnn_sgd_lines(float *restrict W, const float *restrict G, int64_t lines, float lr)
{
    const __m512 step = _mm512_set1_ps(-lr);
    int64_t stored = 0;
    for (int64_t i = 0; i < lines; i++) {
        const __m512 w = _mm512_load_ps(W + 16 * i);
        const __m512 n = _mm512_add_ps(w, _mm512_mul_ps(step, _mm512_loadu_ps(G + 16 * i)));
        if (_mm512_cmpneq_epi32_mask(_mm512_castps_si512(n), _mm512_castps_si512(w))) {
            _mm512_store_ps(W + 16 * i, n);
            stored++;
        }
    }
    return stored;
}
#else
int64_t dnn_sgd_lines(float *restrict W, const float *restrict G, int64_t lines, float lr)
{
    int64_t stored = 0;
    for (int64_t i = 0; i < lines; i++) {
        float *restrict w = W + 16 * i;
        const float *restrict g = G + 16 * i;
        float n[16];
        for (int j = 0; j < 16; j++) n[j] = w[j] + -lr * g[j];
        if (memcmp(n, w, sizeof n) != 0) {
            memcpy(w, n, sizeof n);
            stored++;
        }
    }
    return stored;
}
#endif
