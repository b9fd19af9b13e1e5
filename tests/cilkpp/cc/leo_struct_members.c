/* Struct members and expressions in length(): s.n, p->n, a product of members, a pointer member
 * moved whole and by a section with computed bounds into itself, and a struct with no pointers
 * copied whole. */
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    int n;
    float *data;
} vec;

typedef struct {
    int rows, cols;
    double scale;
} shape;

int main(void)
{
    vec v;
    v.n = 50;
    v.data = (float *)malloc(v.n * sizeof(float));
    for (int i = 0; i < v.n; i++) v.data[i] = i;
    vec *pv = &v;
    shape sh = {3, 4, 0.5};
    double *m = (double *)malloc(2 * 3 * 4 * sizeof(double));
    for (int i = 0; i < 24; i++) m[i] = i;
    int off = 5, cnt = 10;
    float partial = 0;
    #pragma offload target(mic) inout(v.data : length(pv->n)) in(sh) inout(m : length(sh.rows * sh.cols * 2))
    {
        for (int i = 0; i < sh.rows * sh.cols * 2; i++) m[i] *= sh.scale;
        for (int i = 0; i < v.n; i++) v.data[i] += 1;
    }
    #pragma offload target(mic) in(v.data[off:cnt] : into(v.data[off:cnt])) out(partial)
    {
        for (int i = off; i < off + cnt; i++) partial += v.data[i];
    }
    printf("data[0]=%g data[49]=%g m[23]=%g partial=%g\n", v.data[0], v.data[49], m[23], partial);
    free(v.data);
    free(m);
    return 0;
}
