/* Taking a struct of arrays apart for the card (the explicit model's idiom): each member array
 * named with its length, the scalars sent alone, the result put back. */
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    int rows, cols;
    float *w;    /* (rows, cols) */
    float *bias; /* (rows) */
} layer_t;

static void forward(layer_t *L, const float *in, float *out)
{
    int rows = L->rows, cols = L->cols;
    float *w = L->w, *bias = L->bias;
    #pragma offload target(mic) in(w : length(rows * cols)) in(bias : length(rows)) \
                                in(in : length(cols)) out(out : length(rows))
    {
        for (int r = 0; r < rows; r++) {
            float s = bias[r];
            for (int c = 0; c < cols; c++) s += w[r * cols + c] * in[c];
            out[r] = s > 0 ? s : 0;
        }
    }
}

int main(void)
{
    layer_t L = {3, 4, malloc(12 * sizeof(float)), malloc(3 * sizeof(float))};
    for (int i = 0; i < 12; i++) L.w[i] = (float)(i % 5) - 1.0f;
    for (int i = 0; i < 3; i++) L.bias[i] = 0.5f * i;
    float in[4] = {1, 2, 3, 4}, out[3];
    forward(&L, in, out);
    printf("out %g %g %g\n", out[0], out[1], out[2]);
    free(L.w); free(L.bias);
    return 0;
}
