/* `#pragma simd reduction(...)` written before a cilk_for: the reduction is the parallel loop's,
   so the threads' partial sums meet once (no race on s), in a team and inside a spawned task. */
#include <stdio.h>
#include <cilk/cilk.h>

static long sum_to(long n)
{
    long s = 0;
    #pragma simd reduction(+:s)
    cilk_for (long i = 0; i < n; i++)
        s += i;
    return s;
}

static double nested(int rows, int cols)
{
    double total = 0;
    #pragma simd reduction(+:total)
    cilk_for (int r = 0; r < rows; r++) {
        double row = 0;
        #pragma simd reduction(+:row)
        cilk_for (int c = 0; c < cols; c++)
            row += 0.5;
        total += row;
    }
    return total;
}

int main(void)
{
    long a = cilk_spawn sum_to(200000);
    long b = sum_to(300000);
    cilk_sync;
    long p = 1, m = 0;
    #pragma simd reduction(*:p) reduction(max:m)
    cilk_for (int i = 1; i <= 20; i++) {
        p *= (i % 3 == 0) ? 2 : 1;
        m = i * 7 % 50 > m ? i * 7 % 50 : m;
    }
    printf("%ld %ld\n", a, b);
    printf("%.1f\n", nested(300, 400));
    printf("%ld %ld\n", p, m);
    return 0;
}
