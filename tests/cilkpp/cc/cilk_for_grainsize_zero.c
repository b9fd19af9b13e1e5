/* #pragma cilk grainsize = 0, literal and computed at run time (argc - 1), in a function's first team and inside a spawning region: the default grainsize, as the specification says (OpenMP's grainsize must be positive; 0 had crashed). */
#include <stdio.h>
#include <cilk/cilk.h>
static void leaf(void) {}
int main(int argc, char **argv)
{
    (void)argv;
    int hits[100] = {0}, s = 0;
#pragma cilk grainsize = 0
    cilk_for (int i = 0; i < 100; i++) hits[i]++;
    int g = argc - 1;
#pragma cilk grainsize = g
    cilk_for (int i = 0; i < 100; i++) hits[i]++;
    cilk_spawn leaf();
#pragma cilk grainsize = g
    cilk_for (int i = 0; i < 100; i++) hits[i]++;
    cilk_sync;
    for (int i = 0; i < 100; i++) s += hits[i];
    printf("%d\n", s);
    return 0;
}
