/* Scalars of asynchronous offloads read without offload_wait once _Offload_signaled() says the
 * offload is over (Intel's runtime had written them by then), and after waiting for a stream. */
#include <offload.h>
#include <stdio.h>

int main(void)
{
    long a = 0, b = 0;
    char ta;
    #pragma offload target(mic:0) signal(&ta) out(a)
    for (long i = 1; i <= 1000; i++) a += i;
    while (!_Offload_signaled(0, &ta)) ;
    printf("a %ld\n", a);
    _Offload_stream s = _Offload_stream_create(0, 1);
    char tb;
    #pragma offload target(mic:0) stream(s) signal(&tb) inout(b)
    b += 42;
    #pragma offload_wait stream(s)
    printf("b %ld\n", b);
    _Offload_stream_destroy(0, s);
    return 0;
}
