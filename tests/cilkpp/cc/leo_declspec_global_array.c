/* __declspec(target(mic)) globals: a static array kept on the card, initialised there, read back. */
#include <stdio.h>
#define N 16
__declspec(target(mic)) static float coeffs[N];
__declspec(target(mic)) static int ready;

__declspec(target(mic)) void init_coeffs(void)
{
    for (int i = 0; i < N; i++) coeffs[i] = 0.5f * i;
    ready = 1;
}

int main(void)
{
    #pragma offload target(mic) nocopy(coeffs)
    init_coeffs();
    float host_view[N];
    #pragma offload target(mic) out(coeffs) out(ready)
    { }
    for (int i = 0; i < N; i++) host_view[i] = coeffs[i];
    printf("ready %d coeffs[3] %g coeffs[15] %g\n", ready, host_view[3], host_view[15]);
    return 0;
}
