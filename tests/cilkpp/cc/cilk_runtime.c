/* The Cilk keywords under <cilk/cilk.h>'s names and the Cilk runtime API of <cilk/cilk_api.h>:
 * workers set with __cilkrts_set_param, spawned void and value calls, cilk_for with a grainsize,
 * #pragma simd with a reduction. */
#include <cilk/cilk.h>
#include <cilk/cilk_api.h>
#include <stdio.h>

static int hits[64];

static void mark(int i) { hits[i] = 1; }

static long count(int lo, int hi)
{
    if (hi - lo <= 4) {
        long s = 0;
        for (int i = lo; i < hi; i++) s += i;
        return s;
    }
    int mid = (lo + hi) / 2;
    long a = cilk_spawn count(lo, mid);
    long b = count(mid, hi);
    cilk_sync;
    return a + b;
}

int main(void)
{
    if (__cilkrts_set_param("nworkers", "2") != 0) return 1;
    printf("workers %d\n", __cilkrts_get_nworkers());
    printf("bad parameter refused: %d\n", __cilkrts_set_param("no-such", "1") != 0);
    for (int i = 0; i < 64; i++) cilk_spawn mark(i);
    cilk_sync;
    int marked = 0;
    for (int i = 0; i < 64; i++) marked += hits[i];
    printf("marked %d, count %ld\n", marked, count(0, 1000));
    int in_range = 1;
    #pragma cilk grainsize = 8
    cilk_for (int i = 0; i < 64; i++) {
        int w = __cilkrts_get_worker_number();
        if (w < 0 || w >= __cilkrts_get_nworkers()) in_range = 0;
        hits[i] = 2 * i;
    }
    double s = 0;
    #pragma simd reduction(+ : s) vectorlength(4)
    for (int i = 0; i < 64; i++) s += hits[i];
    printf("worker numbers in range %d, sum %g\n", in_range, s);
    return 0;
}
