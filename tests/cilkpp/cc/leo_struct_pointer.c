/* A struct reached through a pointer and its array member, each in its own clause
 * (in(m : length(1)) in(m->data : length(m->n))), as the COPY pattern of old ports did; the
 * card changes the data, and out() of the member brings it back. */
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    int n;
    float bias;
    float *data;
} layer;

int main(void)
{
    layer *m = (layer *)malloc(sizeof(layer));
    m->n = 40;
    m->bias = 0.5f;
    m->data = (float *)malloc(m->n * sizeof(float));
    for (int i = 0; i < m->n; i++) m->data[i] = i;
    float total = 0;
    #pragma offload target(mic) in(m : length(1)) inout(m->data : length(m->n)) out(total)
    {
        for (int i = 0; i < m->n; i++) {
            m->data[i] += m->bias;
            total += m->data[i];
        }
    }
    printf("data[39] %g total %g n %d\n", m->data[39], total, m->n);
    free(m->data);
    free(m);
    return 0;
}
