/* The classic pi example of offload courses: an OpenMP reduction on the card. */
#include <stdio.h>
#include <omp.h>

#define NSTEPS 1000000

int main(void)
{
    double pi = 0.0, step = 1.0 / NSTEPS;
    long i;
    #pragma offload target(mic) in(step) inout(pi)
    {
        #pragma omp parallel for reduction(+:pi) private(i)
        for (i = 0; i < NSTEPS; i++) {
            double x = (i + 0.5) * step;
            pi += 4.0 / (1.0 + x * x);
        }
    }
    pi *= step;
    printf("pi = %.6f\n", pi);
    return 0;
}
