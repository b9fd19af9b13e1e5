/* Functions that spawn, of every shape: returning a struct (with an early return, which syncs first), returning a function pointer, with a VLA parameter, an old-style (K&R) definition, called through a pointer, returning from inside a loop with a spawn outstanding; main with argc / argv. */
#include <stdio.h>
#include <string.h>
#include <cilk/cilk.h>
typedef struct { int lo, hi; char name[8]; } Range;
static int id(int x) { return x; }
static Range split_range(int lo, int hi)
{
    Range r;
    if (hi - lo < 2) { r.lo = lo; r.hi = hi; strcpy(r.name, "leaf"); return r; }
    int a = cilk_spawn id(lo);
    int b = id(hi);
    if (lo > hi) { strcpy(r.name, "bad"); return r; }   /* early return syncs first */
    cilk_sync;
    r.lo = a; r.hi = b; strcpy(r.name, "node");
    return r;
}
static int (*pick(int k))(int) { int z = cilk_spawn id(k); cilk_sync; return z ? id : NULL; }
static long vsum(int n, int a[n])
{
    if (n <= 4) { long s = 0; for (int i = 0; i < n; i++) s += a[i]; return s; }
    long x = cilk_spawn vsum(n / 2, a);
    long y = vsum(n - n / 2, a + n / 2);
    cilk_sync;
    return x + y;
}
static int kr(a, b) int a; int b; { int r = cilk_spawn id(a); cilk_sync; return r + b; }
static int via_ptr(int (*f)(int, int[]), int n, int *a) { return f(n, a); }
static int wrap_sum(int n, int a[]) { return (int)vsum(n, a); }
static void early(int k, int *out)
{
    for (int i = 0; i < 4; i++) {
        cilk_spawn id(i);
        if (i == k) { *out = i; return; }
        cilk_sync;
    }
    *out = -1;
}
int main(int argc, char **argv)
{
    (void)argv;
    Range r = split_range(3, 9);
    Range l = split_range(1, 2);
    printf("%s %d %d %s\n", r.name, r.lo, r.hi, l.name);
    printf("%d\n", pick(5)(7));
    int v[100];
    for (int i = 0; i < 100; i++) v[i] = i;
    printf("%ld %d\n", vsum(100, v), via_ptr(wrap_sum, 10, v));
    printf("%d\n", kr(4, 5));
    int o1, o2;
    early(2, &o1); early(9, &o2);
    printf("%d %d %d\n", o1, o2, argc);
    return 0;
}
