/* Several offloads at once from Cilk tasks: _Cilk_spawn _Cilk_offload f(i) into shared results,
 * a _Cilk_offload whose value is used, and _Cilk_offload of a void function as a statement. */
#include <offload.h>
#include <stdio.h>
#include <cilk/cilk.h>

#define PARTS 4
_Cilk_shared long partial[PARTS];
_Cilk_shared int *_Cilk_shared table;

_Cilk_shared void part_sum(int k)
{
    long s = 0;
    for (int i = k * 250; i < (k + 1) * 250; i++) s += table[i];
    partial[k] = s;
}

_Cilk_shared int square(int x) { return x * x; }

_Cilk_shared void fill(int n)
{
    for (int i = 0; i < n; i++) table[i] = i;
}

int main(void)
{
    table = (_Cilk_shared int *)_Offload_shared_malloc(1000 * sizeof(int));
    _Cilk_offload fill(1000);
    for (int k = 0; k < PARTS; k++) _Cilk_spawn _Cilk_offload part_sum(k);
    _Cilk_sync;
    long total = 0;
    for (int k = 0; k < PARTS; k++) total += partial[k];
    int sq = _Cilk_offload square(12);
    printf("total %ld, partial[3] %ld, square %d\n", total, partial[3], sq);
    _Offload_shared_free(table);
    return 0;
}
