/* GNU C that real offload-era code contains, in code the card runs: inline asm, attributes,
 * va_arg, typeof, statement expressions, __extension__, a #include of another .c file holding
 * Array Notation (translated like the rest). */
#include <stdarg.h>
#include <stdio.h>

#define MAX(a, b) ({ __typeof__(a) _a = (a); __typeof__(b) _b = (b); _a > _b ? _a : _b; })

#include "gnu_c_part.inc.c"

__attribute__((noinline)) static double sum_args(int n, ...)
{
    va_list ap;
    va_start(ap, n);
    double s = 0;
    for (int i = 0; i < n; i++) s += va_arg(ap, double);
    va_end(ap);
    return s;
}

static inline __attribute__((always_inline)) int twice(int x) { return 2 * x; }

int clamp_all(int *v, int n) __attribute__((noinline));
int clamp_all(int *v, int n)
{
    int hi = 0;
    for (int i = 0; i < n; i++) hi = MAX(hi, v[i]);
    return hi;
}

struct __attribute__((packed)) rec { char tag; int value; };

int main(void)
{
    int v[6] = {3, 9, 2, 7, 5, 1};
    int hi = 0;
    typeof(v[0]) first = v[0];
    double s = 0;
    __extension__ long long big = 1LL << 40;
    int aligned[8] __attribute__((aligned(64)));
    #pragma offload target(mic) in(v) out(hi, s, aligned)
    {
        __asm__ __volatile__("" ::: "memory");
        hi = clamp_all(v, 6);
        s = sum_args(3, 0.5, 1.25, 2.0);
        ramp(aligned, 8);
    }
    printf("hi %d twice %d sum %.2f big %lld packed %zu\n", hi, twice(hi), s, big, sizeof(struct rec));
    printf("ramp %d %d %d first %d\n", aligned[0], aligned[4], aligned[7], first);
    return 0;
}
