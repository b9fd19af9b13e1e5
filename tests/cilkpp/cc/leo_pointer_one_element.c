/* A pointer in in/out/inout without length(): Intel moved one element (a pointer to a scalar). */
#include <stdio.h>
#include <stdlib.h>

static void accumulate(const double *x, int n, double *sum, int *count)
{
    #pragma offload target(mic) in(x : length(n)) out(sum) inout(count)
    {
        double s = 0;
        for (int i = 0; i < n; i++) s += x[i];
        *sum = s;
        *count += n;
    }
}

int main(void)
{
    double data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    double total = -1;
    int seen = 10;
    accumulate(data, 8, &total, &seen);
    double *p = malloc(sizeof *p);
    *p = 2.5;
    #pragma offload target(mic) inout(p)
    *p *= 4;
    printf("sum %g count %d p %g\n", total, seen, *p);
    free(p);
    return 0;
}
