/* _Cilk_for bodies with continue, break out of an inner loop and switch; long long, size_t and unsigned char control variables; a global control variable; counting down from n - 1 with --i. */
#include <stdio.h>
#include <stddef.h>
#include <cilk/cilk.h>
static int g_i;
int main(void)
{
    int hits[40] = {0};
    cilk_for (int i = 0; i < 40; i++) {
        if (i % 3 == 0) continue;
        for (int j = 0; j < 100; j++) if (j == 2) break;
        switch (i % 5) { case 0: hits[i] = 5; break; default: hits[i] = 1; }
    }
    int s = 0; for (int i = 0; i < 40; i++) s += hits[i];
    printf("%d\n", s);
    long long total = 0;
    cilk_for (long long k = 1000000000000LL; k < 1000000000010LL; k++) __atomic_add_fetch(&total, k - 1000000000000LL, __ATOMIC_RELAXED);
    size_t cnt = 0;
    cilk_for (size_t z = 0; z < 33; z += 3) __atomic_add_fetch(&cnt, 1, __ATOMIC_RELAXED);
    unsigned char uc_hits = 0;
    cilk_for (unsigned char c = 250; c > 200; c -= 10) __atomic_add_fetch(&uc_hits, 1, __ATOMIC_RELAXED);
    cilk_for (g_i = 0; g_i < 5; g_i++) __atomic_add_fetch(&s, 1, __ATOMIC_RELAXED);
    int n = 7;
    cilk_for (int i = n - 1; i >= 0; --i) hits[i] = -1;
    printf("%lld %zu %d %d %d\n", total, cnt, uc_hits, s, hits[0] + hits[6] + hits[7]);
    return 0;
}
