/* sgd_lines_check.c — dnn_sgd_lines (native/dnn/sgd_lines.c) against the dense step W += -lr G,
 * bit for bit, at every alignment of W within a line and lengths from 0 to past a few lines, with
 * zero lines, zeros of both signs, a NaN and gradients too small to move their weight planted; and
 * the lines it says it stored are exactly those whose bits changed. Built twice by
 * tests/test_sgd_lines.py: with AVX-512 (the masked lanes) and without (the plain C). Prints
 * "ok" and exits 0, or names the first difference and exits 1. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnn.h"

#define MAXN 300

static uint64_t state = 88172645463325252ull;
static float draw(void) /* uniform in [-0.5, 0.5) */
{
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    return (float)(state >> 40) / 16777216.0f - 0.5f;
}

int main(void)
{
    const float lr = 0.01f;
    static _Alignas(64) float W[MAXN + 32], G[MAXN + 32], D[MAXN + 32];
    for (int skew = 0; skew < 16; skew++)
        for (int n = 0; n <= MAXN; n += n < 40 ? 1 : 37) {
            for (int i = 0; i < MAXN + 32; i++) {
                W[i] = draw();
                G[i] = (i / 16) % 3 == 0 ? 0.0f : draw(); /* every third line of G zero */
            }
            W[skew] = -0.0f, G[skew] = -0.0f;        /* -0 + (+0): becomes +0 */
            W[skew + 1] = -0.0f, G[skew + 1] = 0.0f; /* -0 + (-0): stays -0 */
            W[skew + 2] = NAN, G[skew + 2] = 0.0f;
            G[skew + 20] = 1e-30f;                   /* rounds away */
            memcpy(D, W, sizeof W);
            for (int i = skew; i < skew + n; i++) D[i] = D[i] + -lr * G[i];
            int64_t changed = 0;
            for (int line = 0; line < (MAXN + 32) / 16; line++)
                changed += memcmp(W + 16 * line, D + 16 * line, 64) != 0;
            const int64_t stored = dnn_sgd_lines(W + skew, G + skew, n, lr);
            if (memcmp(W, D, sizeof W) != 0 || stored != changed) {
                printf("DIFF skew %d n %d: stored %lld, changed %lld\n", skew, n, (long long)stored, (long long)changed);
                return 1;
            }
        }
    printf("ok\n");
    return 0;
}
