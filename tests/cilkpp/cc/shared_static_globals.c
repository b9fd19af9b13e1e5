/* _Cilk_shared static globals, arrays of structs, and a shared counter updated on the card. */
#include <offload.h>
#include <stdio.h>

typedef struct { int id; double mass; } particle;

static _Cilk_shared particle parts[8];
static _Cilk_shared int visits;
_Cilk_shared double total_mass;

static _Cilk_shared void weigh(int n)
{
    double m = 0;
    for (int i = 0; i < n; i++) { m += parts[i].mass; visits++; }
    total_mass = m;
}

int main(void)
{
    for (int i = 0; i < 8; i++) { parts[i].id = i; parts[i].mass = 1.5 * i; }
    _Cilk_offload weigh(8);
    _Cilk_offload weigh(4);
    printf("total %g visits %d\n", total_mass, visits);
    return 0;
}
