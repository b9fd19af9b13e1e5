/* Array Notation where real code used it: inside an offloaded block, on struct members
 * (s.v[0:n], p->v[:]), a dot product __sec_reduce_add(a[:] * b[:]), a void function mapped
 * over a section, __sec_reduce_mutating, and a pointer to rows with a 2-D section. */
#include <stdio.h>

#define N 8
typedef struct {
    float v[N];
    int tag;
} rec;

static int hits;
static void touch(int x) { hits += x; }
static void keep_max(int *acc, int x) { if (x > *acc) *acc = x; }

int main(void)
{
    float a[N], b[N], dot = 0;
    a[:] = __sec_implicit_index(0) + 1;
    b[:] = 2;
    #pragma offload target(mic) in(a, b) out(dot)
    {
        dot = __sec_reduce_add(a[:] * b[:]);
    }
    rec r, *pr = &r;
    r.v[0:N] = a[0:N];
    pr->v[:] += 10;
    int ix[5] = {3, 1, 4, 1, 5};
    touch(ix[:]);
    int best = 0;
    __sec_reduce_mutating(best, ix[:], keep_max);
    double m[4][3];
    double (*rows)[3] = m;
    rows[0:4][0:3] = __sec_implicit_index(0) - __sec_implicit_index(1);
    printf("dot %g r.v[7] %g hits %d best %d m[3][0] %g m[0][2] %g\n", dot, r.v[7], hits, best, m[3][0], m[0][2]);
    return 0;
}
