/* Cilk shared memory with structures of pointers: a _Cilk_shared struct whose members point into
 * shared memory (both spellings of a shared pointer), built on the host, changed on the card by a
 * _Cilk_shared function, and read back on the host with no copy. */
#include <offload.h>
#include <stdio.h>

typedef struct {
    int n;
    double *_Cilk_shared values;
    _Cilk_shared char *name;
} series;

_Cilk_shared series s;
_Cilk_shared int calls = 0;

_Cilk_shared double mean(_Cilk_shared series *p)
{
    double t = 0;
    for (int i = 0; i < p->n; i++) t += p->values[i];
    calls++;
    return t / p->n;
}

_Cilk_shared void scale(_Cilk_shared series *p, double k)
{
    for (int i = 0; i < p->n; i++) p->values[i] *= k;
    p->name[0] = 'S';
    calls++;
}

int main(void)
{
    s.n = 10;
    s.values = (double *_Cilk_shared)_Offload_shared_malloc(s.n * sizeof(double));
    s.name = (_Cilk_shared char *)_Offload_shared_malloc(8);
    for (int i = 0; i < s.n; i++) s.values[i] = i + 1;
    s.name[0] = 's', s.name[1] = 'e', s.name[2] = 'r', s.name[3] = 0;
    double m = _Cilk_offload mean(&s);
    _Cilk_offload scale(&s, 2.0);
    double m2 = _Cilk_offload_to(0) mean(&s);
    printf("mean %g then %g, values[9] %g, name %s, calls %d\n", m, m2, s.values[9], (char *)s.name, calls);
    _Offload_shared_free(s.values);
    _Offload_shared_free((void *)s.name);
    return 0;
}
