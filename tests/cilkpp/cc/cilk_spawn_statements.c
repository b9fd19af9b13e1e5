/* _Cilk_spawn as the body of if / else and of a for loop without braces, in switch cases, as the right operand of += and *=, of printf, assigned to a double. */
#include <stdio.h>
#include <cilk/cilk.h>
static int sq(int x) { return x * x; }
static void put(int *p, int v) { *p = v; }
static int cases(int k)
{
    int r = 0;
    switch (k) {
    case 1: r = cilk_spawn sq(3); break;
    default: r = cilk_spawn sq(4); break;
    }
    cilk_sync;
    return r;
}
int main(void)
{
    int a[4] = {0}, x = 10, y = 1;
    if (x > 5) cilk_spawn put(&a[0], 7); else cilk_spawn put(&a[0], 8);
    for (int i = 1; i < 4; i++) cilk_spawn put(&a[i], i * 100);
    cilk_sync;
    printf("%d %d %d\n", a[0], a[1], a[3]);
    x += cilk_spawn sq(5);
    y *= cilk_spawn sq(3);
    cilk_sync;
    printf("%d %d\n", x, y);
    printf("%d %d\n", cases(1), cases(2));
    cilk_spawn printf("spawned printf %d\n", 42);
    cilk_sync;
    double d;
    d = cilk_spawn sq(7);
    cilk_sync;
    printf("%g\n", d);
    return 0;
}
