/* Vector code as Intel's compiler took it: elemental functions (__attribute__((vector)) with
 * uniform and linear, __declspec(vector)) called on sections and in loops, and #pragma simd
 * with reduction, vectorlength, private and linear clauses. */
#include <stdio.h>

__attribute__((vector(uniform(scale), linear(i : 1)))) float scaled(float *x, int i, float scale)
{
    return x[i] * scale;
}

__declspec(vector) float mad(float a, float b, float c) { return a * b + c; }

__attribute__((vector)) int clampi(int v) { return v < 0 ? 0 : v > 9 ? 9 : v; }

int main(void)
{
    float x[64], y[64], z[64];
    int k[16];
    for (int i = 0; i < 64; i++) x[i] = i * 0.5f, y[i] = 1.0f;
    z[:] = mad(x[:], 2.0f, y[:]);
    k[:] = clampi(__sec_implicit_index(0) - 3);
    float s = 0;
    #pragma simd reduction(+ : s)
    for (int i = 0; i < 64; i++) s += scaled(x, i, 2.0f);
    float t;
    int j = 0;
    #pragma simd vectorlength(8) private(t) linear(j : 2)
    for (int i = 0; i < 32; i++) {
        t = x[j];
        y[i] = t;
        j += 2;
    }
    #pragma simd
    for (int i = 0; i < 64; i++) x[i] = x[i] + 1;
    #pragma simd assert
    for (int i = 0; i < 16; i++) k[i] += 1;
    printf("z[63]=%g k: %d %d %d s=%g y[31]=%g x[0]=%g\n", z[63], k[0], k[5], k[15], s, y[31], x[0]);
    return 0;
}
