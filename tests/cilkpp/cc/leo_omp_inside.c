/* OpenMP inside offloaded regions: reduction, schedule(dynamic, n), collapse, a parallel
 * region with critical and atomic, omp_get_num_threads on the card, and nested loops. */
#include <stdio.h>
#include <omp.h>

int main(void)
{
    const int n = 1000;
    long sum = 0;
    double pi = 0.0;
    int hist[10] = {0};
    int threads_seen = 0, grid = 0;
    #pragma offload target(mic) inout(sum, pi, hist, threads_seen, grid)
    {
        #pragma omp parallel for reduction(+ : sum) schedule(dynamic, 16)
        for (int i = 1; i <= n; i++) sum += i;

        const int steps = 100000;
        double step = 1.0 / steps;
        #pragma omp parallel for reduction(+:pi)
        for (int i = 0; i < steps; i++) {
            double x = (i + 0.5) * step;
            pi += 4.0 / (1.0 + x * x);
        }
        pi *= step;

        #pragma omp parallel
        {
            #pragma omp single
            threads_seen = omp_get_num_threads() > 0;
            #pragma omp for
            for (int i = 0; i < n; i++) {
                #pragma omp atomic
                hist[i % 10]++;
            }
            #pragma omp critical
            {
                grid += 0;
            }
        }
        #pragma omp parallel for collapse(2) reduction(+:grid)
        for (int i = 0; i < 20; i++)
            for (int j = 0; j < 30; j++) grid += (i + j) % 2;
    }
    printf("sum %ld pi %.6f hist %d %d threads %d grid %d\n", sum, pi, hist[0], hist[9], threads_seen, grid);
    return 0;
}
