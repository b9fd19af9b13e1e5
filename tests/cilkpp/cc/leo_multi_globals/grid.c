#include "common.h"
#pragma offload_attribute(push, target(mic))
double grid[NX];
int steps_done;
void relax(int steps)
{
    double next[NX];
    for (int s = 0; s < steps; s++) {
        next[0] = grid[0];
        next[NX - 1] = grid[NX - 1];
        for (int i = 1; i < NX - 1; i++) next[i] = 0.5 * (grid[i - 1] + grid[i + 1]);
        for (int i = 0; i < NX; i++) grid[i] = next[i];
        steps_done++;
    }
}
#pragma offload_attribute(pop)
