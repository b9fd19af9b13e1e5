/* Clause sections that do not start at 0 (in(p[10:20]), inout(p[50:10])) and alloc(p[a:n]):
 * the card sees p[a] where the host has it. */
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
    int n = 100;
    int *p = malloc(n * sizeof *p);
    for (int i = 0; i < n; i++) p[i] = i;
    long s = 0;
    #pragma offload target(mic) in(p[10:20]) inout(s)
    for (int i = 10; i < 30; i++) s += p[i];
    printf("section sum %ld\n", s);
    #pragma offload target(mic) inout(p[50:10])
    p[50:10] *= 2;
    printf("p[49] %d p[50] %d p[59] %d p[60] %d\n", p[49], p[50], p[59], p[60]);
    s = 0;
    #pragma offload target(mic) in(p[40:5] : alloc(p[40:20])) inout(s)
    s = __sec_reduce_add(p[40:5]);
    printf("alloc sum %ld\n", s);
    free(p);
    return 0;
}
