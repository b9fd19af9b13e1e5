/* Pragma spellings seen in old code: spaces everywhere, clauses on continuation lines with
 * comments between them, a restrict-qualified pointer, private() of a variable the block
 * captures, and a block that is a single OpenMP loop with firstprivate. */
#include <stdio.h>
#include <stdlib.h>

static void scale_into(const float *restrict in, float *restrict out, int n, float k)
{
    #pragma offload target ( mic : 0 ) \
        in ( in : length ( n ) )       /* the input */ \
        out( out: length( n ) )        /* the result */ \
        in ( k )
    #pragma omp parallel for firstprivate(k)
    for (int i = 0; i < n; i++) out[i] = in[i] * k;
}

int main(void)
{
    int n = 100;
    float *a = (float *)malloc(n * sizeof(float)), *b = (float *)malloc(n * sizeof(float));
    for (int i = 0; i < n; i++) a[i] = i;
    scale_into(a, b, n, 0.5f);
    double t = 0, acc = 0;
    #pragma offload target(mic) in(b:length(n)) inout(acc)
    {
        #pragma omp parallel for private(t) reduction(+:acc)
        for (int i = 0; i < n; i++) {
            t = b[i] * 2;
            acc += t;
        }
    }
    printf("b[99] %g acc %g\n", b[99], acc);
    free(a);
    free(b);
    return 0;
}
