/* The Windows spellings Intel's compiler also took on Linux: __declspec(target(mic)) on globals
 * and functions, __declspec(align(64)), and a function declared for the card before its
 * definition. */
#include <stdio.h>
#include <stdint.h>

__declspec(target(mic)) int counter = 7;
__declspec(target(mic)) __declspec(align(64)) float weights[16];
__declspec(target(mic)) float dot(const float *a, const float *b, int n);

/* what the card's copy holds: a global a block names itself is copied in and out with it (Intel's
 * rule), one a called function reaches is the card's own */
__declspec(target(mic)) int card_counter(void) { return counter; }

__declspec(target(mic)) void fill(int k)
{
    for (int i = 0; i < 16; i++) weights[i] = (float)(i * k);
    counter++;
}

int main(void)
{
    float v[16], r = 0;
    for (int i = 0; i < 16; i++) v[i] = 1.0f;
    int aligned = 0;
    #pragma offload target(mic) in(v) out(r, aligned) in(counter)
    {
        fill(2);
        r = dot(weights, v, 16);
        aligned = ((uintptr_t)weights % 64) == 0;
    }
    int c = 0;
    #pragma offload target(mic) out(c)
    c = card_counter();
    printf("dot %g aligned %d card counter %d host counter %d\n", r, aligned, c, counter);
    return 0;
}

__declspec(target(mic)) float dot(const float *a, const float *b, int n)
{
    float s = 0;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}
