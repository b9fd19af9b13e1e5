/* Declarations made shared wholesale with #pragma offload_attribute(push, _Cilk_shared): globals
 * and functions in the block are _Cilk_shared; an offload that reaches code with its own
 * offload (which runs in place, on the card). */
#include <offload.h>
#include <stdio.h>

#pragma offload_attribute(push, _Cilk_shared)
int hits[4];
double scale = 2.0;
static int twice(int x) { return 2 * x; }
static int thrice(int x) { return 3 * x; }
int apply(int which, int x)
{
    hits[which]++;
    return (int)((which ? thrice(x) : twice(x)) * scale);
}
#pragma offload_attribute(pop)

_Cilk_shared int nested(int x)
{
    int r = 0;
    #pragma offload target(mic) out(r)
    r = x + 1;
    return r;
}

int main(void)
{
    int a = _Cilk_offload apply(0, 5);
    scale = 1.0;
    int b = _Cilk_offload apply(1, 5);
    int c = _Cilk_offload nested(41);
    printf("a %d b %d hits %d %d nested %d\n", a, b, hits[0], hits[1], c);
    return 0;
}
