/* _Cilk_spawn of a function pointer member, of (*fp)(x), of functions returning structs (declaration and assignment), spawning inline recursion, syncs in nested scopes and switch, the implicit sync at a function's end, spawn into *p, spawn and sync inside a _Cilk_for body. */
#include <stdio.h>
#include <cilk/cilk.h>
typedef struct { int (*op)(int); int base; } Ops;
typedef struct { double v[3]; } Vec;
static int inc(int x) { return x + 1; }
static Vec mkv(double a) { Vec r = {{a, a + 1, a + 2}}; return r; }
static void fill(int *p, int n) { for (int i = 0; i < n; i++) p[i] = i; }
static inline int tsum(const int *p, int n)
{
    if (n < 4) { int s = 0; for (int i = 0; i < n; i++) s += p[i]; return s; }
    int a = cilk_spawn tsum(p, n / 2);
    int b = cilk_spawn tsum(p + n / 2, n - n / 2);
    cilk_sync;
    return a + b;
}
static int cond_sync(int k)
{
    int r = 0, q = 0;
    if (k > 0) {
        r = cilk_spawn inc(k);
        if (k > 1) {
            q = cilk_spawn inc(k + 1);
        }
        cilk_sync;
    }
    return r + q;
}
static void leaf(int *out, int i) { out[i] = i * i; }
static void noexplicit(int *out) { for (int i = 0; i < 10; i++) cilk_spawn leaf(out, i); }
int main(void)
{
    Ops o = {inc, 5};
    int r = cilk_spawn o.op(o.base);
    int (*fp)(int) = inc;
    int r2;
    r2 = cilk_spawn (*fp)(10);
    cilk_sync;
    printf("%d %d\n", r, r2);
    Vec v = cilk_spawn mkv(1.5);
    Vec w; w = cilk_spawn mkv(0);
    cilk_sync;
    printf("%g %g\n", v.v[2], w.v[1]);
    int arr[100];
    cilk_spawn fill(arr, 100);
    cilk_sync;
    printf("%d\n", tsum(arr, 100));
    int outs[10];
    noexplicit(outs);
    printf("%d %d\n", outs[3], outs[9]);
    int *pp = &arr[5];
    *pp = cilk_spawn inc(41);
    cilk_sync;
    printf("%d %d\n", arr[5], cond_sync(5));
    int res[8];
    cilk_for (int i = 0; i < 8; i++) {
        int a = cilk_spawn inc(i);
        int b = inc(i);
        cilk_sync;
        res[i] = a + b;
    }
    printf("%d %d\n", res[0], res[7]);
    return 0;
}
