/* Offload pragmas written through macros, as portable code did: _Pragma("offload ...") in a
 * macro, an offload selected by #ifdef __INTEL_OFFLOAD, and clauses built from macros with
 * arguments. */
#include <stdio.h>

#ifdef __INTEL_OFFLOAD
#define OFFLOAD_IN(p, n) _Pragma("offload target(mic) in(p : length(n)) out(result)")
#else
#define OFFLOAD_IN(p, n)
#endif
#define IN_LEN(p, n) in(p : length(n))

int main(void)
{
    int n = 32;
    int *p = (int *)__builtin_malloc(n * sizeof(int));
    for (int i = 0; i < n; i++) p[i] = i;
    long result = 0;
    OFFLOAD_IN(p, n)
    {
        for (int i = 0; i < n; i++) result += p[i];
    }
    long r2 = 0;
    #pragma offload target(mic) IN_LEN(p, n) inout(r2)
    for (int i = 0; i < n; i++) r2 += 2 * p[i];
    printf("result %ld r2 %ld offload %s\n", result, r2,
#ifdef __INTEL_OFFLOAD
           "on"
#else
           "off"
#endif
    );
    __builtin_free(p);
    return 0;
}
