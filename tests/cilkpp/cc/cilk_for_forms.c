/* _Cilk_for forms the specification allows: a pointer control variable, long and size_t
 * counters, a step of -3, a bound computed once, #pragma cilk grainsize, spawns into array
 * elements, and the implicit sync at the end of a spawning function. */
#include <stdio.h>
#include <stddef.h>
#include <cilk/cilk.h>
#include <cilk/cilk_api.h>

static int square(int x) { return x * x; }

static int spawner(int *out, int n)
{
    for (int i = 0; i < n; i++) out[i] = cilk_spawn square(i);
    return n; /* implicit sync before the return */
}

static int calls;
static int bound(void) { return ++calls, 50; }

int main(void)
{
    char buf[64];
    cilk_for (char *p = buf; p < buf + 64; p++) *p = (char)(p - buf);
    long big[40];
    cilk_for (long i = 0; i < 40L; i++) big[i] = i * 1000000000L;
    size_t z[10];
    cilk_for (size_t k = 0; k < 10; ++k) z[k] = k * 2;
    int down[30] = {0};
    cilk_for (int i = 29; i >= 0; i -= 3) down[i] = 1;
    int once[50];
    cilk_for (int i = 0; i < bound(); i++) once[i] = i;
    int g[100];
    #pragma cilk grainsize = 8
    cilk_for (int i = 0; i < 100; i++) g[i] = 100 - i;
    int sq[10];
    spawner(sq, 10);
    int ones = 0;
    for (int i = 0; i < 30; i++) ones += down[i];
    printf("buf[63] %d big[39] %ld z[9] %zu ones %d once[49] %d calls %d g[0] %d sq[9] %d workers>0 %d\n", buf[63],
           big[39], z[9], ones, once[49], calls, g[0], sq[9], __cilkrts_get_nworkers() > 0);
    return 0;
}
