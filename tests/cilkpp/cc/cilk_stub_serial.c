/* A Cilk Plus program built as serial C by including <cilk/cilk_stub.h> first, as Intel's
 * header allowed: same results, one worker. */
#include <cilk/cilk_stub.h>
#include <cilk/cilk.h>
#include <cilk/cilk_api.h>
#include <stdio.h>

static long fib(int n)
{
    if (n < 2) return n;
    long a = cilk_spawn fib(n - 1);
    long b = fib(n - 2);
    cilk_sync;
    return a + b;
}

int main(void)
{
    int sq[10];
    cilk_for (int i = 0; i < 10; i++) sq[i] = i * i;
    printf("fib(25) %ld sq[9] %d workers %d\n", fib(25), sq[9], __cilkrts_get_nworkers());
    return 0;
}
