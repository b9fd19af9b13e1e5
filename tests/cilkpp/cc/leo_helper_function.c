/* Offloads inside helper functions, as real codes were organised: pointer parameters with
 * length(n) and align(64), an if() deciding per call, a static local, an enum and a
 * typedef, Array Notation and OpenMP sections and tasks inside the block, argv read on the
 * card, and math functions without -lm. */
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <omp.h>
#include <string.h>

static int use_card = 1;
enum { MEAN, VAR, NSTAT };
typedef double acc_t;

static void saxpy(float a, const float *x, float *y, int n)
{
    #pragma offload target(mic) if(use_card && n > 100) in(x : length(n) align(64)) inout(y : length(n) align(64))
    {
        y[0:n] = a * x[0:n] + y[0:n];
    }
}

static double stats(const double *v, int n, double *spread)
{
    static int calls = 0;
    acc_t out[NSTAT] = {0};
    #pragma offload target(mic) in(v : length(n)) out(out) inout(calls)
    {
        calls++;
        #pragma omp parallel sections
        {
            #pragma omp section
            out[MEAN] = __sec_reduce_add(v[0:n]) / n;
            #pragma omp section
            {
                double m = __sec_reduce_add(v[0:n]) / n;
                out[VAR] = __sec_reduce_add((v[0:n] - m) * (v[0:n] - m)) / n;
            }
        }
    }
    *spread = sqrt(out[VAR]);
    return out[MEAN] + 1000 * (calls - 1);
}

static long tasks_sum(int n)
{
    long s = 0;
    #pragma offload target(mic) inout(s)
    {
        #pragma omp parallel
        #pragma omp single
        for (int i = 0; i < n; i++) {
            #pragma omp task shared(s)
            {
                #pragma omp atomic
                s += i;
            }
        }
    }
    return s;
}

int main(int argc, char **argv)
{
    int n = 200;
    float *x = (float *)malloc(n * sizeof(float)), *y = (float *)malloc(n * sizeof(float));
    for (int i = 0; i < n; i++) x[i] = i, y[i] = 1;
    saxpy(2.0f, x, y, n);
    saxpy(1.0f, x, y, 50); /* if() false: on the host */
    double v[6] = {2, 4, 4, 4, 5, 5}, spread;
    double mean = stats(v, 6, &spread);
    double mean2 = stats(v, 6, &spread);
    int namelen = 0;
    char *name = argv[0];
    #pragma offload target(mic) in(name : length(strlen(name) + 1)) out(namelen)
    namelen = (int)strlen(name) > 0 && argc == 1;
    printf("y[0] %g y[49] %g y[199] %g mean %g %g spread %.4f tasks %ld argv ok %d\n", y[0], y[49], y[199], mean,
           mean2, spread, tasks_sum(100), namelen);
    free(x);
    free(y);
    return 0;
}
