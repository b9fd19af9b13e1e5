/* __MIC__ tested inside the offload block itself (Intel advised against it; programs did it),
 * and printf from the card, flushed in order with the host's. */
#include <stdio.h>

int main(void)
{
    int on_mic = -1;
    printf("host: before\n");
    #pragma offload target(mic) out(on_mic)
    {
#ifdef __MIC__
        on_mic = 1;
        printf("card: hello\n");
#else
        on_mic = 0;
        printf("host fallback: hello\n");
#endif
        fflush(0);
    }
    printf("host: after, on_mic %d\n", on_mic);
    return 0;
}
