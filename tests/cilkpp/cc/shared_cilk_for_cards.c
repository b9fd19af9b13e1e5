/* Every card at once from a _Cilk_for on the host: _Cilk_offload_to(i) in its body, each card
 * filling its own slice of a shared array. */
#include <offload.h>
#include <cilk/cilk.h>
#include <stdio.h>

#define N 400
_Cilk_shared double out[N];
_Cilk_shared int ran_on[8];

_Cilk_shared void slice(int part, int parts)
{
    int lo = part * N / parts, hi = (part + 1) * N / parts;
    for (int i = lo; i < hi; i++) out[i] = 2.0 * i;
    ran_on[part] = _Offload_get_device_number();
}

int main(void)
{
    int parts = 4;
    cilk_for (int p = 0; p < parts; p++)
        _Cilk_offload_to(p) slice(p, parts);
    double s = 0;
    for (int i = 0; i < N; i++) s += out[i];
    printf("sum %g, part 3 ran on %s\n", s, ran_on[3] >= 0 ? "a card" : "the host");
    return 0;
}
