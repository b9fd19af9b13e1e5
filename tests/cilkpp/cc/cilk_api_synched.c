/* __cilkrts_synched() of <cilk/cilk_api.h>: 1 before a spawn and after the sync, in a function that never spawns too. */
#include <stdio.h>
#include <unistd.h>
#include <cilk/cilk.h>
#include <cilk/cilk_api.h>
static void slow(int *p) { usleep(20000); *p = 1; }
static int plain(void) { return __cilkrts_synched(); }
int main(void)
{
    int x = 0;
    printf("start %d\n", __cilkrts_synched());
    cilk_spawn slow(&x);
    int during = __cilkrts_synched();
    cilk_sync;
    printf("after %d x %d plain %d\n", __cilkrts_synched(), x, plain());
    (void)during;
    return 0;
}
