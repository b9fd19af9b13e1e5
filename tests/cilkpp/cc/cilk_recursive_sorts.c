/* Spawn-heavy programs as a conformance suite writes them: quicksort with no explicit sync (the implicit one at each function's end), merge sort, a binary tree of spawns counted by a file-scope reducer, 1000 spawns in a loop before one sync, nested cilk_for over a matrix product. */
#include <stdio.h>
#include <stdlib.h>
#include <cilk/cilk.h>
#include <cilk/reducer_opadd.h>
static void put1(int *p) { *p = 1; }
static void swap(int *a, int *b) { int t = *a; *a = *b; *b = t; }
static void qsort_cilk(int *lo, int *hi)
{
    if (hi - lo < 2) return;
    int pivot = *(hi - 1), *m = lo;
    for (int *p = lo; p < hi - 1; p++) if (*p < pivot) swap(p, m++);
    swap(m, hi - 1);
    cilk_spawn qsort_cilk(lo, m);
    qsort_cilk(m + 1, hi);
}
static void merge_sort(int *a, int *tmp, int n)
{
    if (n < 2) return;
    int h = n / 2;
    cilk_spawn merge_sort(a, tmp, h);
    merge_sort(a + h, tmp + h, n - h);
    cilk_sync;
    int i = 0, j = h, k = 0;
    while (i < h && j < n) tmp[k++] = a[i] <= a[j] ? a[i++] : a[j++];
    while (i < h) tmp[k++] = a[i++];
    while (j < n) tmp[k++] = a[j++];
    a[0:n] = tmp[0:n];
}
CILK_C_REDUCER_OPADD(total, long, 0);
static void count_tree(int depth)
{
    REDUCER_VIEW(total) += 1;
    if (depth == 0) return;
    cilk_spawn count_tree(depth - 1);
    cilk_spawn count_tree(depth - 1);
}
int main(void)
{
    enum { N = 100000 };
    int *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b), *t = malloc(N * sizeof *t);
    srand(1);
    for (int i = 0; i < N; i++) a[i] = b[i] = rand() % 1000;
    qsort_cilk(a, a + N);
    merge_sort(b, t, N);
    int ok = 1;
    for (int i = 1; i < N; i++) ok &= a[i - 1] <= a[i] && b[i - 1] <= b[i] && a[i] == b[i];
    printf("sorted %d\n", ok);
    CILK_C_REGISTER_REDUCER(total);
    count_tree(12);
    printf("nodes %ld\n", REDUCER_VIEW(total));
    CILK_C_UNREGISTER_REDUCER(total);
    long spawned = 0;
    int hits[1000] = {0};
    for (int i = 0; i < 1000; i++) cilk_spawn put1(&hits[i]);
    cilk_sync;
    for (int i = 0; i < 1000; i++) spawned += hits[i];
    printf("spawned %ld\n", spawned);
    double C[64][64], A[64][64], B[64][64];
    A[:][:] = 1.0; B[:][:] = 2.0;
    cilk_for (int i = 0; i < 64; i++)
        cilk_for (int j = 0; j < 64; j++) {
            double s = 0;
            for (int k = 0; k < 64; k++) s += A[i][k] * B[k][j];
            C[i][j] = s;
        }
    printf("C %g %g\n", C[0][0], __sec_reduce_add(C[:][:]));
    free(a); free(b); free(t);
    return 0;
}
