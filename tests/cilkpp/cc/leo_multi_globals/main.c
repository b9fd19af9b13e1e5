#include <stdio.h>
#include "common.h"

int main(void)
{
    for (int i = 0; i < NX; i++) grid[i] = 0;
    grid[NX - 1] = 1.0;
    steps_done = 0;
    #pragma offload target(mic) inout(grid, steps_done)
    relax(200);
    #pragma offload target(mic) inout(grid, steps_done)
    relax(100);
    printf("steps %d grid[1] %.4f grid[16] %.4f\n", steps_done, grid[1], grid[16]);
    return 0;
}
