/* Pointer members in clauses: in(v.data : length(v.n)) with the struct in(v), and
 * inout(p->data[0:8]) with the struct in(p[0:1]); the host keeps its own pointers. */
#include <stdio.h>
#include <stdlib.h>
typedef struct { int n; float *data; } vec;
int main(void)
{
    vec v = {8, malloc(8 * sizeof(float))};
    for (int i = 0; i < v.n; i++) v.data[i] = i;
    float sum = 0;
    #pragma offload target(mic) in(v) in(v.data : length(v.n)) inout(sum)
    for (int i = 0; i < v.n; i++) sum += v.data[i];
    vec *p = &v;
    #pragma offload target(mic) in(p[0:1]) inout(p->data[0:8])
    for (int i = 0; i < p->n; i++) p->data[i] *= 10;
    printf("sum %g data[7] %g same pointer %d\n", sum, v.data[7], p->data == v.data);
    free(v.data);
    return 0;
}
