/* into() both ways: in(a : into(b)) fills the card's b from the host's a, and
 * out(b : into(c)) brings the card's b back into the host's c; with array sections too. */
#include <stdio.h>

__attribute__((target(mic))) int card_buf[8];

int main(void)
{
    int a[8], c[8] = {0}, d[8] = {0};
    for (int i = 0; i < 8; i++) a[i] = i + 1;
    #pragma offload target(mic) in(a : into(card_buf))
    {
        for (int i = 0; i < 8; i++) card_buf[i] *= 3;
    }
    #pragma offload target(mic) out(card_buf : into(c))
    { }
    #pragma offload target(mic) out(card_buf[2:4] : into(d[0:4]))
    { }
    printf("c: %d %d %d  d: %d %d %d %d %d\n", c[0], c[3], c[7], d[0], d[1], d[3], d[4], d[7]);
    return 0;
}
