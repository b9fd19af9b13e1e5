/* sgd_lines_check.c — dnn_sgd_lines (native/dnn/sgd_lines.c) against the dense step W += -lr G,
 * bit for bit, at every alignment of W within a line and lengths from 0 to past a few lines, with
 * zero lines, zeros of both signs, a NaN and gradients too small to move their weight planted; and
 * the lines it says it stored are exactly those whose bits changed. Then dnn_sgd_outer, the step
 * with G = e^T y formed line by line, against dnn_outer's G written out and stepped by the dense
 * formula, for row lengths that put rows at every alignment and share lines between rows, with
 * zero and negative-zero errors, a NaN input and an error too small to move its row planted. Built twice by
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
    /* the outer step: W (out, in) from every alignment, e (out), y (in) */
    static _Alignas(64) float e[40], y[MAXN], G2[40 * MAXN + 32], W2[40 * MAXN + 32], D2[40 * MAXN + 32];
    for (int skew = 0; skew < 16; skew += 5)
        for (int in = 1; in <= 70; in += in < 20 ? 1 : 7)
            for (int out = 1; out <= 40; out += 13) {
                const int n = out * in;
                for (int i = 0; i < n + 32; i++) W2[i] = draw();
                for (int j = 0; j < out; j++) e[j] = j % 4 == 0 ? 0.0f : draw();
                for (int i = 0; i < in; i++) y[i] = i % 5 == 0 ? 0.0f : draw();
                if (out > 1) e[1] = -0.0f;      /* -0 times y: -0 or +0 by y's sign */
                if (out > 2) e[2] = 1e-30f;     /* rounds away against every weight */
                if (in > 3) y[3] = NAN;         /* a NaN input: its column goes NaN where e is not zero */
                W2[skew] = -0.0f;               /* -0 under each of them */
                memcpy(D2, W2, sizeof(float) * (size_t)(n + 32));
                dnn_outer(G2, e, y, out, in);
                for (int i = 0; i < n; i++) D2[skew + i] = D2[skew + i] + -lr * G2[i];
                int64_t changed = 0;
                for (int line = 0; line < (n + 32) / 16; line++)
                    changed += memcmp(W2 + 16 * line, D2 + 16 * line, 64) != 0;
                for (int j = 0; j < out; j++)
                    for (int i = 0; i < in; i++)
                        if (memcmp(&G2[j * in + i], &(float){e[j] * y[i]}, sizeof(float)) != 0) {
                            printf("DIFF dnn_outer at (%d, %d)\n", j, i);
                            return 1;
                        }
                const int64_t stored = dnn_sgd_outer(W2 + skew, e, y, out, in, lr);
                if (memcmp(W2, D2, sizeof(float) * (size_t)(n + 32)) != 0 || stored != changed) {
                    printf("DIFF outer skew %d out %d in %d: stored %lld, changed %lld\n", skew, out, in,
                           (long long)stored, (long long)changed);
                    return 1;
                }
            }
    printf("ok\n");
    return 0;
}
