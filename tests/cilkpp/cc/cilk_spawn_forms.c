/* Spawns as the specification allows them: a struct result, arguments evaluated in the parent
 * before the spawn (i++), a call through a function pointer, spawns inside a _Cilk_for, and
 * _Cilk_for nested in _Cilk_for, with an OPADD reducer over all of it. */
#include <stdio.h>
#include <cilk/cilk.h>
#include <cilk/reducer_opadd.h>

typedef struct { long sum; int count; } tally;

static tally count_to(int n)
{
    tally t = {0, 0};
    for (int i = 1; i <= n; i++) t.sum += i, t.count++;
    return t;
}

static int seen[8];
static void record(int i) { seen[i] = i + 1; }
static int add1(int x) { return x + 1; }

CILK_C_REDUCER_OPADD(total, long, 0);

static void leaf(int i, int j) { REDUCER_VIEW(total) += i * 10 + j; }

int main(void)
{
    tally t = cilk_spawn count_to(100);
    int i = 0;
    cilk_spawn record(i++);
    cilk_spawn record(i++);
    int (*fp)(int) = add1;
    int r = cilk_spawn (*fp)(41);
    cilk_sync;
    CILK_C_REGISTER_REDUCER(total);
    cilk_for (int a = 0; a < 4; a++) {
        cilk_for (int b = 0; b < 5; b++) leaf(a, b);
        cilk_spawn leaf(a, 100);
    }
    long tot = REDUCER_VIEW(total);
    CILK_C_UNREGISTER_REDUCER(total);
    printf("sum %ld count %d seen %d %d i %d r %d total %ld\n", t.sum, t.count, seen[0], seen[1], i, r, tot);
    return 0;
}
