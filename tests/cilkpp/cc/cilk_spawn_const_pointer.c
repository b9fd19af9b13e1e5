/* Variables initialised by a spawn that are const (int), point to const (const char *), or are const pointers (const char *const). */
#include <stdio.h>
#include <cilk/cilk.h>
static const char *name(int k) { return k ? "yes" : "no"; }
static int sq(int x) { return x * x; }
int main(void)
{
    const char *p = cilk_spawn name(1);
    const int a = cilk_spawn sq(3);
    const char *const q = cilk_spawn name(0);
    cilk_sync;
    printf("%s %d %s\n", p, a, q);
    return 0;
}
