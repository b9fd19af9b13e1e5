/* LEO clauses and their semantics (Intel's offload pragmas): optional, mandatory with status(),
 * if(), offload_transfer/offload_wait with signal/wait, data kept on the card (alloc_if/free_if,
 * nocopy), into(), align(), globals declared inside offload_attribute(push, target(mic)) whose
 * card copy in()/out() move data into and out of, and an OpenMP loop right after the pragma. */
#include <offload.h>
#include <stdio.h>
#include <stdlib.h>

#pragma offload_attribute(push, target(mic))
int scale = 1;
double table[4];
static double weigh(double v) { return v * scale; }
#pragma offload_attribute(pop)

#define ALLOC alloc_if(1) free_if(0)
#define REUSE alloc_if(0) free_if(0)
#define FREE alloc_if(0) free_if(1)

int main(void)
{
    /* a global's card copy: in() sets it, later offloads see it, out() reads it back */
    scale = 3;
    #pragma offload target(mic) in(scale)
    { }
    scale = 100; /* the host's copy only */
    table[0] = 1;
    #pragma offload target(mic) in(table)
    table[1:3] = weigh(table[0]) + __sec_implicit_index(0);
    double back[4];
    #pragma offload target(mic) out(table)
    { }
    back[:] = table[:];
    printf("table %g %g %g %g, host scale %d\n", back[0], back[1], back[2], back[3], scale);

    /* if(0): the block runs on the host */
    int where = -1;
    #pragma offload target(mic) if(0) out(where)
    where = _Offload_get_device_number();
    printf("if(0) ran on %d\n", where);

    /* optional: the same program with or without a card */
    int sum = 0;
    #pragma offload target(mic) optional inout(sum)
    #pragma omp parallel for reduction(+ : sum)
    for (int i = 1; i <= 100; i++) sum += i;
    printf("omp loop sum %d\n", sum);

    /* data kept on the card between offloads, moved ahead with offload_transfer */
    int n = 1000;
    float *v = malloc(n * sizeof *v), *w = malloc(n * sizeof *w);
    for (int i = 0; i < n; i++) v[i] = 1.0f;
    char sig;
    #pragma offload_transfer target(mic : 0) in(v : length(n) ALLOC align(64)) signal(&sig)
    #pragma offload_wait target(mic : 0) wait(&sig)
    for (int round = 0; round < 3; round++) {
        #pragma offload target(mic : 0) nocopy(v : length(n) REUSE)
        v[0:n] *= 2;
    }
    #pragma offload target(mic : 0) out(v : length(n) FREE) in(n)
    { }
    printf("kept on the card: v[0] %g v[999] %g\n", v[0], v[n - 1]);

    /* into(): host v arrives in the card's buffer of w */
    #pragma offload target(mic : 0) in(v[0:n] : into(w[0:n]) ALLOC)
    w[0:n] += 1;
    #pragma offload target(mic : 0) out(w : length(n) FREE)
    { }
    printf("into: w[5] %g\n", w[5]);
    free(v);
    free(w);
    return 0;
}
