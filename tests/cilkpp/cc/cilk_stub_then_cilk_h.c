/* <cilk/cilk_stub.h> before <cilk/cilk.h>: the program is serial C (cilk_for runs in order, one worker), without redefinition warnings. */
#include <stdio.h>
#include <cilk/cilk_stub.h>
#include <cilk/cilk.h>
#include <cilk/cilk_api.h>
static int fib(int n) { if (n < 2) return n; int a = cilk_spawn fib(n - 1); int b = fib(n - 2); cilk_sync; return a + b; }
int main(void)
{
    int order[8], k = 0;
    cilk_for (int i = 0; i < 8; i++) order[k++] = i;
    printf("%d %d %d %d\n", fib(20), order[0], order[7], __cilkrts_get_nworkers());
    int x[4]; x[:] = 2; printf("%d\n", __sec_reduce_add(x[:]));
    return 0;
}
