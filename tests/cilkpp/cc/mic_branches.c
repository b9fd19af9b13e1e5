/* An offload block whose two sides use different variables (#ifdef __MIC__): host and card
 * agree on what it carries, so each side reads its own variables right. */
#include <stdio.h>
#include <omp.h>
int main(void)
{
    int host_only = 7, card_only = 11, both = 1;
    int r = 0;
    #pragma offload target(mic) inout(r)
    {
#ifdef __MIC__
        r = both + card_only;
#else
        r = both + host_only;
#endif
    }
    printf("r %d\n", r);
    return 0;
}
