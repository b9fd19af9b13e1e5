/* An asynchronous offload that sends scalars back: out(sum) with signal(); the host works on
 * while the card sums, and sum holds the card's result after offload_wait. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int n = 10000;
    double *x = malloc(n * sizeof *x);
    for (int i = 0; i < n; i++) x[i] = 0.5 * i;
    double sum = -1;
    int count = 0;
    char done;
    #pragma offload target(mic:0) signal(&done) in(x : length(n)) out(sum) inout(count)
    {
        double s = 0;
        for (int i = 0; i < n; i++) s += x[i];
        sum = s;
        count += n;
    }
    double host = 0; /* the host's share meanwhile */
    for (int i = 0; i < 100; i++) host += i;
    #pragma offload_wait target(mic:0) wait(&done)
    printf("card sum %.1f count %d host %.1f\n", sum, count, host);
    free(x);
    return 0;
}
