/* Cilk keywords as the specification allows them: spawned variadic calls and calls through
 * pointers, a sync with nothing spawned, _Cilk_for over pointers, downwards, with !=, with a
 * grainsize given by a macro, nested; arguments evaluated once, before the spawn. */
#include <stdio.h>
#include <stdarg.h>
#include <cilk/cilk.h>
#define GRAIN 2
static int sum_va(int n, ...) { va_list ap; va_start(ap, n); int s = 0; for (int i = 0; i < n; i++) s += va_arg(ap, int); va_end(ap); return s; }
static int fib(int n) { if (n < 2) return n; int x = cilk_spawn fib(n - 1); int y = fib(n - 2); return x + y; }
static void nothing(void) { cilk_sync; }
static int sq(int x) { return x * x; }
int arr[100];
int main(void)
{
    printf("__cilk %d\n", __cilk);
    int r = cilk_spawn sum_va(3, 1, 2, 3);
    cilk_sync;
    printf("va %d fib %d\n", r, fib(20));
    nothing();
    char buf[10];
    cilk_for (char *p = buf; p < buf + 10; p++) *p = 'a';
    int i;
    cilk_for (i = 99; i >= 0; i -= 1) arr[i] = i;
    unsigned u;
    cilk_for (u = 0; u != 100; u++) arr[u] += 1;
    #pragma cilk grainsize = GRAIN
    cilk_for (int k = 0; k < 100; k += 2) arr[k] = 0;
    cilk_for (int a = 0; a < 10; a++)
        cilk_for (int b = 0; b < 10; b++) arr[a * 10 + b] += 1;
    int s = 0;
    for (int k = 0; k < 100; k++) s += arr[k];
    printf("buf %c%c s %d\n", buf[0], buf[9], s);
    int j = 0;
    int vals[4];
    cilk_spawn sum_va(1, vals[j++] = 5);
    cilk_sync;
    printf("j %d\n", j);
    int (*fp)(int) = sq;
    int a = cilk_spawn (*fp)(5);
    int b = cilk_spawn fp(6);
    cilk_sync;
    printf("through pointers %d %d\n", a, b);
    return 0;
}
