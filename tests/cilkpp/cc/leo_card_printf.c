/* printf on the card, as offloaded code did to show where it ran; the card's output reaches the
 * program's stdout in order with the host's. */
#include <stdio.h>

__attribute__((target(mic))) void hello(int k)
{
#ifdef __MIC__
    printf("hello from the card, k=%d\n", k);
#else
    printf("hello from the host, k=%d\n", k);
#endif
    fflush(0);
}

int main(void)
{
    printf("before\n");
    fflush(stdout);
    #pragma offload target(mic)
    hello(1);
    printf("between\n");
    fflush(stdout);
    #pragma offload target(mic)
    {
        hello(2);
    }
    printf("after\n");
    return 0;
}
