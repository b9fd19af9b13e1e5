/* A table of _Cilk_shared function pointers called on the card. */
#include <offload.h>
#include <stdio.h>

typedef _Cilk_shared double (*op_fn)(double, double);
_Cilk_shared double add(double a, double b) { return a + b; }
_Cilk_shared double mul(double a, double b) { return a * b; }
_Cilk_shared double sub(double a, double b) { return a - b; }

_Cilk_shared op_fn table[3];
_Cilk_shared double results[3];

_Cilk_shared void apply_all(double x, double y)
{
    for (int i = 0; i < 3; i++) results[i] = table[i](x, y);
}

int main(void)
{
    table[0] = add;
    table[1] = mul;
    table[2] = sub;
    _Cilk_offload apply_all(6, 3);
    printf("%g %g %g\n", results[0], results[1], results[2]);
    return 0;
}
