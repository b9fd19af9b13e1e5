/* Microsoft-style __declspec(align(64)) and (noinline), and elemental functions
 * (__attribute__((vector)), __declspec(vector(...))) called on sections. */
#include <stdio.h>
#include <stdint.h>
__declspec(align(64)) static float buf[16];
__declspec(noinline) static int twice(int x) { return 2 * x; }
__attribute__((vector)) static float scale(float x) { return 3 * x; }
__declspec(vector(uniform(k))) static float addk(float x, float k) { return x + k; }
int main(void)
{
    float a[8], b[8];
    a[:] = __sec_implicit_index(0);
    b[:] = scale(a[:]);
    b[:] = addk(b[:], 1);
    printf("%d %d %g %g\n", (int)((uintptr_t)buf % 64), twice(4), b[2], b[7]);
    return 0;
}
