/* Several host threads offloading at once (one OpenMP thread per card number), each to its own
 * slice of the data. */
#include <offload.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#define N 4000
int main(void)
{
    float *a = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++) a[i] = 1.0f;
    double parts[4] = {0};
    #pragma omp parallel for num_threads(2)
    for (int t = 0; t < 4; t++) {
        float *slice = a + t * (N / 4);
        int len = N / 4;
        double s = 0;
        #pragma offload target(mic:t) in(slice : length(len)) out(s)
        for (int i = 0; i < len; i++) s += slice[i] * (t + 1);
        parts[t] = s;
    }
    printf("%g %g %g %g\n", parts[0], parts[1], parts[2], parts[3]);
    free(a);
    return 0;
}
