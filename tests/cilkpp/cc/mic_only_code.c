/* Code that exists on one side only: a function defined just for the card (#ifdef __MIC__)
 * and called from an offload under the same test, a host-only function, and a global whose
 * initial value differs by side. */
#include <stdio.h>

#ifdef __MIC__
__attribute__((target(mic))) static int card_only(int x) { return x * 100; }
__attribute__((target(mic))) int side = 2;
#else
static int host_only(int x) { return x + 1; }
__attribute__((target(mic))) int side = 1;
#endif

/* the card's copy of side: read by a function (a global the block names itself would be copied
 * in from the host first, Intel's rule) */
__attribute__((target(mic))) static int side_here(void) { return side; }

int main(void)
{
    int r = 0, s = 0;
    #pragma offload target(mic) out(r, s)
    {
#ifdef __MIC__
        r = card_only(3);
#else
        r = host_only(3);
#endif
        s = side_here();
    }
    printf("r %d s %d host side %d\n", r, s, side);
    return 0;
}
