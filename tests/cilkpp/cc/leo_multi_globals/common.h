#ifndef COMMON_H
#define COMMON_H
#define NX 32
#pragma offload_attribute(push, target(mic))
extern double grid[NX];
extern int steps_done;
void relax(int steps);
#pragma offload_attribute(pop)
#endif
