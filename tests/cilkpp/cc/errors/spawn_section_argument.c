// error: 7: array section in a spawned call
#include <cilk/cilk.h>
static void show(int x) { (void)x; }
int main(void)
{
    int a[4] = {1, 2, 3, 4};
    cilk_spawn show(a[:]);
    cilk_sync;
    return 0;
}
