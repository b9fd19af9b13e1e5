// dnn-cc: --cards 2
/* What is private to a card stays on that card when there are several: a global's card copy set
 * to 10 on card 0 and 20 on card 1, and a buffer kept on each card (alloc_if/free_if) filled
 * with different data, are read back from each card; mic:2 is card 0 again; the OpenMP threads
 * asked for one card. */
#include <offload.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#pragma offload_attribute(push, target(mic))
int scale = 1;
static int get_scale(void) { return scale; }
#pragma offload_attribute(pop)

#define ALLOC alloc_if(1) free_if(0)
#define REUSE alloc_if(0) free_if(0)
#define FREE alloc_if(0) free_if(1)

int main(void)
{
    scale = 10;
    #pragma offload target(mic : 0) in(scale)
    { }
    scale = 20;
    #pragma offload target(mic : 1) in(scale)
    { }
    scale = 0;
    int s0 = -1, s1 = -1, s2 = -1;
    #pragma offload target(mic : 0) out(s0)
    s0 = get_scale();
    #pragma offload target(mic : 1) out(s1)
    s1 = get_scale();
    #pragma offload target(mic : 2) out(s2)
    s2 = get_scale();
    printf("card copies of scale: %d %d, mic:2 %d, host %d\n", s0, s1, s2, scale);

    int n = 1000;
    float *v = malloc(n * sizeof *v);
    for (int i = 0; i < n; i++) v[i] = 1;
    #pragma offload_transfer target(mic : 0) in(v : length(n) ALLOC)
    for (int i = 0; i < n; i++) v[i] = 2;
    #pragma offload_transfer target(mic : 1) in(v : length(n) ALLOC)
    for (int i = 0; i < n; i++) v[i] = 3;
    double sum[2];
    int dev[2];
    for (int c = 0; c < 2; c++) {
        double s = 0;
        int d = -2;
        #pragma offload target(mic : c) nocopy(v : length(n) REUSE) out(s, d)
        {
            for (int i = 0; i < n; i++) s += v[i];
            d = _Offload_get_device_number();
        }
        sum[c] = s;
        dev[c] = d;
    }
    printf("kept buffers: card %d sums %g, card %d sums %g, host copy v[0] %g\n", dev[0], sum[0], dev[1], sum[1], v[0]);
    #pragma offload target(mic : 1) out(v : length(n) FREE)
    { }
    printf("card 1's buffer back on the host: v[0] %g\n", v[0]);
    #pragma offload target(mic : 0) nocopy(v : length(n) FREE)
    { }
    free(v);

    /* omp_set_num_threads_target names one card: card 1 runs with 3 threads, card 0 as it was */
    omp_set_num_threads_target(TARGET_MIC, 1, 3);
    int nt[2];
    for (int c = 0; c < 2; c++) {
        int t = 0;
        #pragma offload target(mic : c) out(t)
        #pragma omp parallel
        #pragma omp master
        t = omp_get_num_threads();
        nt[c] = t;
    }
    printf("threads: card 0 %d, card 1 %d (asked %d)\n", nt[0], nt[1], omp_get_max_threads_target(TARGET_MIC, 1));
    return 0;
}
