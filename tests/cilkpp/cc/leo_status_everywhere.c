/* mandatory + status() on every pragma, offload_wait included; a target(mic) global scalar set by
 * offload_transfer in(); global buffers allocated once with nocopy(a, b : length(n) alloc_if(1)
 * free_if(0)) and reused by name; if() on an offload_transfer that signals. */
#include <offload.h>
#include <stdio.h>
#include <stdlib.h>

#pragma offload_attribute(push, target(mic))
int count = 1000;
static float *in_a, *out_a;
_Offload_status st = OFFLOAD_STATUS_INITIALIZER;
#pragma offload_attribute(pop)

static int failures;
static void check(_Offload_status s, int where)
{
    if (s.result != OFFLOAD_SUCCESS && failures++ == 0) printf("offload %d failed: %d\n", where, s.result);
}

__attribute__((target(mic))) void square(float *x, float *y)
{
    #pragma omp parallel for num_threads(2)
    for (int i = 0; i < count; i++) y[i] = x[i] * x[i];
}

int main(void)
{
    count = 64;
    in_a = malloc(count * sizeof(float));
    out_a = calloc(count, sizeof(float));
    for (int i = 0; i < count; i++) in_a[i] = i * 0.5f;
    OFFLOAD_STATUS_INIT(st);
    #pragma offload_transfer target(mic:0) mandatory status(st) in(count) \
        nocopy(in_a, out_a : length(count) alloc_if(1) free_if(0))
    check(st, 1);
    for (int round = 0; round < 3; round++) {
        OFFLOAD_STATUS_INIT(st);
        #pragma offload_transfer target(mic:0) mandatory status(st) if(round != 2) \
            in(in_a : length(count) alloc_if(0) free_if(0)) signal(in_a)
        check(st, 2);
        if (round == 2) continue;
        OFFLOAD_STATUS_INIT(st);
        #pragma offload target(mic:0) mandatory status(st) nocopy(in_a) nocopy(out_a) wait(in_a)
        square(in_a, out_a);
        check(st, 3);
        OFFLOAD_STATUS_INIT(st);
        #pragma offload_transfer target(mic:0) mandatory status(st) \
            out(out_a : length(count) alloc_if(0) free_if(0)) signal(out_a)
        OFFLOAD_STATUS_INIT(st);
        #pragma offload_wait target(mic:0) mandatory status(st) wait(out_a)
        check(st, 4);
        for (int i = 0; i < count; i++) in_a[i] += 1;
    }
    #pragma offload_transfer target(mic:0) nocopy(in_a, out_a : length(count) alloc_if(0) free_if(1))
    printf("out[0] %g out[63] %g failures %d\n", out_a[0], out_a[63], failures);
    free(in_a); free(out_a);
    return 0;
}
