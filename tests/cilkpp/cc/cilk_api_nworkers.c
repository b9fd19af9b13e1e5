/* __cilkrts_set_param("nworkers", "3") in a main that spawns: __cilkrts_get_nworkers() reports 3, worker numbers stay below it. */
#include <stdio.h>
#include <cilk/cilk.h>
#include <cilk/cilk_api.h>
static void f(void) {}
int main(void)
{
    __cilkrts_set_param("nworkers", "3");
    printf("n %d\n", __cilkrts_get_nworkers());
    int seen[8] = {0};
    cilk_for (int i = 0; i < 3000; i++) seen[__cilkrts_get_worker_number()] = 1;
    printf("workers used <= 3: %d\n", seen[3] + seen[4] == 0);
    cilk_spawn f();
    cilk_sync;
    return 0;
}
