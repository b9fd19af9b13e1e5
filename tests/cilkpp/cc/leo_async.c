/* Asynchronous offload: offload_transfer with signal, computation while data crosses, an offload
 * that waits for the transfer, another that signals and is polled with _Offload_signaled, and
 * offload_wait. Tags are the addresses of host variables, as Intel's samples used them. */
#include <offload.h>
#include <stdio.h>
#include <stdlib.h>

#define SIZE 4096

__declspec(target(mic)) static double total;

int main(void)
{
    double *in1 = (double *)_mm_malloc(SIZE * sizeof(double), 64);
    double *in2 = (double *)_mm_malloc(SIZE * sizeof(double), 64);
    double *out = (double *)_mm_malloc(SIZE * sizeof(double), 64);
    char sig1, sig2;
    int tag3;
    for (int i = 0; i < SIZE; i++) in1[i] = i, in2[i] = 2 * i, out[i] = 0;

    #pragma offload_transfer target(mic:0) in(in1 : length(SIZE) alloc_if(1) free_if(0)) signal(&sig1)
    #pragma offload_transfer target(mic:0) in(in2 : length(SIZE) alloc_if(1) free_if(0)) \
                                           nocopy(out : length(SIZE) alloc_if(1) free_if(0)) signal(&sig2)

    double host_part = 0;
    for (int i = 0; i < 100; i++) host_part += i; /* the host works meanwhile */

    #pragma offload target(mic:0) wait(&sig1, &sig2) nocopy(in1, in2 : length(SIZE) alloc_if(0) free_if(0)) \
                                  nocopy(out : length(SIZE) alloc_if(0) free_if(0)) signal(&tag3)
    {
        for (int i = 0; i < SIZE; i++) out[i] = in1[i] + in2[i];
    }
    long polls = 0;
    while (!_Offload_signaled(0, &tag3)) polls++;
    printf("polled: %s\n", polls >= 0 ? "yes" : "no");
    #pragma offload_wait target(mic:0) wait(&tag3)

    #pragma offload target(mic:0) out(out : length(SIZE) alloc_if(0) free_if(1)) \
                                  nocopy(in1, in2 : length(SIZE) alloc_if(0) free_if(1)) out(total)
    {
        total = 0;
        for (int i = 0; i < SIZE; i++) total += out[i];
    }
    printf("host part %g, out[7]=%g out[4095]=%g total=%g\n", host_part, out[7], out[SIZE - 1], total);
    _mm_free(in1);
    _mm_free(in2);
    _mm_free(out);
    return 0;
}
