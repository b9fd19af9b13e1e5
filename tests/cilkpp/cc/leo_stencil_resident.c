/* A 2-D heat stencil in the style of the training codes of the time: two grids resident on the
 * card for all iterations, pointer swapping inside one offload, a result checked against the
 * host's own run of the same loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

#define NX 40
#define NY 30
#define ITERS 50
#define IDX(i, j) ((i) * NY + (j))

__attribute__((target(mic))) void sweep(const float *restrict in, float *restrict out)
{
    #pragma omp parallel for collapse(2)
    for (int i = 1; i < NX - 1; i++)
        for (int j = 1; j < NY - 1; j++)
            out[IDX(i, j)] = 0.25f * (in[IDX(i - 1, j)] + in[IDX(i + 1, j)] + in[IDX(i, j - 1)] + in[IDX(i, j + 1)]);
}

int main(void)
{
    size_t bytes = NX * NY * sizeof(float);
    float *a = malloc(bytes), *b = malloc(bytes), *ref_a = malloc(bytes), *ref_b = malloc(bytes);
    memset(a, 0, bytes);
    for (int j = 0; j < NY; j++) a[IDX(0, j)] = 100.0f;
    memcpy(b, a, bytes);
    memcpy(ref_a, a, bytes);
    memcpy(ref_b, a, bytes);
    #pragma offload target(mic:0) inout(a, b : length(NX * NY))
    {
        float *src = a, *dst = b;
        for (int it = 0; it < ITERS; it++) {
            sweep(src, dst);
            float *t = src; src = dst; dst = t;
        }
    }
    float *src = ref_a, *dst = ref_b;
    for (int it = 0; it < ITERS; it++) {
        sweep(src, dst);
        float *t = src; src = dst; dst = t;
    }
    int same = memcmp(a, ref_a, bytes) == 0 && memcmp(b, ref_b, bytes) == 0;
    printf("centre %.4f edge %.4f, matches the host run: %s\n", a[IDX(NX / 2, NY / 2)], a[IDX(1, NY / 2)],
           same ? "yes" : "no");
    free(a); free(b); free(ref_a); free(ref_b);
    return 0;
}
