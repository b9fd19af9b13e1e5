/* The Cilk keywords through <cilk/cilk.h>: cilk_spawn of a void call and of a call with a
 * result, cilk_sync, cilk_for counting up, down, by 2, with != and unsigned, and a recursive
 * fib checked against the serial one. */
#include <stdio.h>
#include <cilk/cilk.h>

static int fib(int n)
{
    if (n < 2) return n;
    int x = cilk_spawn fib(n - 1);
    int y = fib(n - 2);
    cilk_sync;
    return x + y;
}

static int fib_serial(int n) { return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2); }

static void mark(int *p, int v) { *p = v; }

int main(void)
{
    int a[100] = {0}, b[100] = {0}, c[100] = {0}, d[100] = {0};
    cilk_for (int i = 0; i < 100; i++) a[i] = i;
    cilk_for (int i = 99; i >= 0; i--) b[i] = 2 * i;
    cilk_for (int i = 0; i < 100; i += 2) c[i] = 1;
    cilk_for (unsigned u = 0; u != 100; ++u) d[u] = (int)u % 3;
    int flag = 0;
    cilk_spawn mark(&flag, 5);
    cilk_sync;
    long sa = 0, sb = 0, sc = 0, sd = 0;
    for (int i = 0; i < 100; i++) sa += a[i], sb += b[i], sc += c[i], sd += d[i];
    printf("fib(20)=%d serial %d flag %d sums %ld %ld %ld %ld\n", fib(20), fib_serial(20), flag, sa, sb, sc, sd);
    return 0;
}
