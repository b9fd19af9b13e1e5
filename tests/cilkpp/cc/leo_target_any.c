/* target(mic:-1): let the runtime pick a card (Intel: any card, or the host when none);
 * target(mic:i) over every card in a loop. */
#include <offload.h>
#include <stdio.h>

int main(void)
{
    int n = _Offload_number_of_devices();
    int total = 0;
    #pragma offload target(mic:-1) inout(total)
    total += 100;
    for (int i = 0; i < (n > 0 ? n : 1); i++) {
        int part = 0;
        #pragma offload target(mic:i) out(part)
        part = i + 1;
        total += part;
    }
    printf("total %d\n", total);
    return 0;
}
