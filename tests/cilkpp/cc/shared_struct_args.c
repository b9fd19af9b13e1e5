/* Structs and unions passed by value to _Cilk_offload functions, and a struct returned: each
   argument is a bitwise copy (the callee's changes stay its own), as with any C call. */
#include <stdio.h>
#include <string.h>

typedef struct { int a; double b; char name[8]; } Record;
struct pair { long x, y; };
typedef union { float f; unsigned u; } Bits;
struct big { double v[64]; int n; };

_Cilk_shared int bump(Record r)
{
    r.a += 100;               /* the caller's copy stays 1 */
    return r.a + (int)r.b + r.name[0];
}

_Cilk_shared long mix(struct pair p, int k, Bits u) { return p.x * k + p.y + (long)u.u; }

_Cilk_shared struct pair swap(struct pair p)
{
    struct pair q = {p.y, p.x};
    return q;
}

_Cilk_shared double total(const struct big b, double scale)
{
    double s = 0;
    for (int i = 0; i < b.n; i++) s += b.v[i];
    return s * scale;
}

int main(void)
{
    Record r = {1, 2.5, "A"};
    struct pair p = {3, 4};
    Bits u;
    u.u = 7;
    struct big b;
    memset(&b, 0, sizeof b);
    b.n = 64;
    for (int i = 0; i < 64; i++) b.v[i] = i;
    int got = _Cilk_offload bump(r);
    long m = _Cilk_offload mix(p, 10, u);
    struct pair q = _Cilk_offload swap(p);
    double t = _Cilk_offload total(b, 0.5);
    printf("bump %d, caller's a %d\n", got, r.a);
    printf("mix %ld\n", m);
    printf("swap %ld %ld\n", q.x, q.y);
    printf("total %.1f\n", t);
    return 0;
}
