/* _Cilk_offload _Cilk_for over shared arrays, and _Cilk_spawn _Cilk_offload with _Cilk_sync. */
#include <offload.h>
#include <cilk/cilk.h>
#include <stdio.h>

#define N 100
_Cilk_shared float x[N], y[N];
_Cilk_shared int done[2];

_Cilk_shared void half(int which)
{
    for (int i = which * N / 2; i < (which + 1) * N / 2; i++) y[i] += 1;
    done[which] = 1;
}

int main(void)
{
    for (int i = 0; i < N; i++) x[i] = i;
    _Cilk_offload _Cilk_for (int i = 0; i < N; i++)
        y[i] = 2 * x[i];
    _Cilk_spawn _Cilk_offload half(0);
    _Cilk_spawn _Cilk_offload half(1);
    _Cilk_sync;
    float s = 0;
    for (int i = 0; i < N; i++) s += y[i];
    printf("sum %g done %d %d\n", s, done[0], done[1]);
    return 0;
}
