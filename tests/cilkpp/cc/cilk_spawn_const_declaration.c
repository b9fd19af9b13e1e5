/* A const variable initialised by a spawn, beside another declarator of the same declaration. */
#include <stdio.h>
#include <cilk/cilk.h>
static int sq(int x) { return x * x; }
int main(void)
{
    const int a = cilk_spawn sq(5), b = 2;
    cilk_sync;
    printf("%d %d\n", a, b);
    return 0;
}
