/* Globals the offload block names itself, with no clause: Intel copied them to the card before
 * the block and back after it (only what a called function reaches needs in/out). */
#include <stdio.h>

#define SIZE 100
#pragma offload_attribute(push, target(mic))
static double a[SIZE], b[SIZE], sum[SIZE];
static int calls;
#pragma offload_attribute(pop)
__attribute__((target(mic))) double scale = 2.0;

int main(void)
{
    for (int i = 0; i < SIZE; i++) { a[i] = i; b[i] = 1; }
    scale = 3.0;
    #pragma offload target(mic) optional
    {
        for (int i = 0; i < SIZE; i++) sum[i] = scale * a[i] + b[i];
        calls++;
    }
    #pragma offload target(mic) optional
    calls++;
    printf("sum[0] %g sum[99] %g calls %d\n", sum[0], sum[99], calls);
    return 0;
}
