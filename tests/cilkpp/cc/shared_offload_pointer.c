/* _Cilk_offload through a pointer to a _Cilk_shared function, chosen at run time; a shared
 * function pointer global set on the host and called on the card. */
#include <offload.h>
#include <stdio.h>

typedef _Cilk_shared double (*kernel_fn)(_Cilk_shared double *, int);

_Cilk_shared double total(_Cilk_shared double *v, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    return s;
}

_Cilk_shared double largest(_Cilk_shared double *v, int n)
{
    double m = v[0];
    for (int i = 1; i < n; i++) if (v[i] > m) m = v[i];
    return m;
}

_Cilk_shared int (*_Cilk_shared chooser)(int);
_Cilk_shared int pick_even(int x) { return x % 2 == 0; }
_Cilk_shared int count_chosen(int n)
{
    int c = 0;
    for (int i = 0; i < n; i++) c += chooser(i);
    return c;
}

int main(void)
{
    int n = 8;
    _Cilk_shared double *v = (_Cilk_shared double *)_Offload_shared_malloc(n * sizeof(double));
    for (int i = 0; i < n; i++) v[i] = (i * 5) % 7;
    kernel_fn ops[2] = {total, largest};
    for (int k = 0; k < 2; k++) {
        kernel_fn f = ops[k];
        double r = _Cilk_offload f(v, n);
        printf("op %d: %g\n", k, r);
    }
    double r2 = _Cilk_offload ops[1](v, 3);
    chooser = pick_even;
    int c = _Cilk_offload count_chosen(10);
    printf("largest of 3: %g, chosen %d\n", r2, c);
    _Offload_shared_free(v);
    return 0;
}
