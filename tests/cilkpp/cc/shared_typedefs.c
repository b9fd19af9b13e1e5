/* _Cilk_shared in typedefs: a shared struct type and a pointer-to-shared type, used for a
 * structure of pointers built with _Offload_shared_malloc and walked on the card. */
#include <offload.h>
#include <stdio.h>

typedef struct { int n; double *data; } vec_t;
typedef _Cilk_shared vec_t svec_t;
typedef _Cilk_shared double *sdptr;

_Cilk_shared double norm1(svec_t *v)
{
    double s = 0;
    for (int i = 0; i < v->n; i++) s += v->data[i] < 0 ? -v->data[i] : v->data[i];
    return s;
}

int main(void)
{
    svec_t *v = (svec_t *)_Offload_shared_malloc(sizeof(svec_t));
    v->n = 6;
    sdptr d = (sdptr)_Offload_shared_malloc(6 * sizeof(double));
    for (int i = 0; i < 6; i++) d[i] = (i % 2 ? -1.0 : 1.0) * i;
    v->data = (double *)d;
    printf("norm1 %g\n", _Cilk_offload norm1(v));
    _Offload_shared_free((void *)d);
    _Offload_shared_free((void *)v);
    return 0;
}
