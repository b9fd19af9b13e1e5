/* Offload streams (Intel compiler 15): two streams on card 0, offloads ordered in each. */
#include <offload.h>
#include <stdio.h>
#include <stdlib.h>

#define N 1000
int main(void)
{
    float *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    for (int i = 0; i < N; i++) a[i] = i, b[i] = 2 * i;
    _Offload_stream s1 = _Offload_stream_create(0, 2);
    _Offload_stream s2 = _Offload_stream_create(0, 2);
    char t1, t2;
    #pragma offload target(mic:0) stream(s1) signal(&t1) inout(a : length(N))
    for (int i = 0; i < N; i++) a[i] += 1;
    #pragma offload target(mic:0) stream(s2) signal(&t2) inout(b : length(N))
    for (int i = 0; i < N; i++) b[i] *= 2;
    #pragma offload_wait stream(s1) wait(&t1)
    while (!_Offload_stream_completed(0, s2)) ;
    #pragma offload target(mic:0) stream(s1) inout(a : length(N))
    for (int i = 0; i < N; i++) a[i] *= 3;
    #pragma offload_wait stream(s1)
    printf("a[10] %g b[10] %g all done %d\n", a[10], b[10], _Offload_device_streams_completed(0));
    _Offload_stream_destroy(0, s1);
    _Offload_stream_destroy(0, s2);
    free(a); free(b);
    return 0;
}
